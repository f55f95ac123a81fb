// Memory: brk, mmap, munmap, mprotect, mremap, madvise (see mmap(2),
// mremap(2), brk(2)). The address space itself is src/kernel/memory.ts.
import { fail } from '../src/kernel/errors.ts';
import { PAGE_SIZE, PROT_WRITE, pageUp } from '../src/kernel/memory.ts';
import { family, type SyscallContext } from './types.ts';

const PROT_KNOWN = 0x7 | 0x01000000 | 0x02000000; // READ|WRITE|EXEC, GROWSDOWN, GROWSUP

function checkAligned(addr: number): void {
  if (addr % PAGE_SIZE !== 0) fail('EINVAL');
}

function mmap(ctx: SyscallContext, addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number {
  const c = ctx.arch.c;
  const mapType = flags & 0x3; // MAP_SHARED, MAP_PRIVATE or MAP_SHARED_VALIDATE
  if (length === 0 || mapType === 0 || offset % PAGE_SIZE !== 0 || offset < 0) fail('EINVAL');
  if (pageUp(length) > ctx.arch.layout.taskSize) fail('ENOMEM');
  const anonymous = (flags & c.MAP_ANONYMOUS) !== 0;
  const fixed = (flags & (c.MAP_FIXED | c.MAP_FIXED_NOREPLACE)) !== 0;
  let file = null;
  if (!anonymous) {
    const ofd = ctx.fds.get(fd);
    if (ofd.isDirectory) fail('ENODEV');
    if (!ofd.canRead) fail('EACCES');
    // A shared writable mapping of a file would need write-back to the file:
    // not supported yet, and better refused than silently lost.
    if (mapType !== c.MAP_PRIVATE && prot & PROT_WRITE) {
      if (!ofd.canWrite) fail('EACCES');
      fail('ENODEV', 'MAP_SHARED writable file mappings are not supported yet');
    }
    file = ofd;
  }
  let start: number;
  if (fixed) {
    checkAligned(addr);
    if (flags & c.MAP_FIXED_NOREPLACE && !ctx.mem.isFree(addr, addr + pageUp(length))) fail('EEXIST');
    if (addr < ctx.arch.layout.mmapMin) fail('EPERM');
    start = addr;
  } else {
    start = ctx.mem.findFree(length, addr);
  }
  const name = file ? file.path : '';
  const m = ctx.mem.map(start, length, prot & 7, { name, shared: mapType !== c.MAP_PRIVATE, offset: file ? offset : 0 });
  if (file && m.bytes) {
    // A private file mapping is a copy of the file's bytes (MAP_PRIVATE is copy-on-write;
    // later writes to the file are not seen, which POSIX leaves unspecified).
    const io = file.io();
    const want = Math.min(length, Math.max(0, io.size() - offset));
    let done = 0;
    while (done < want) {
      const n = io.read(m.bytes.subarray(done, want), offset + done);
      if (n <= 0) break;
      done += n;
    }
  }
  return start;
}

function munmap(ctx: SyscallContext, addr: number, length: number): number {
  checkAligned(addr);
  if (length === 0 || addr + length > ctx.arch.layout.taskSize) fail('EINVAL');
  ctx.mem.unmap(addr, length);
  return 0;
}

function mprotect(ctx: SyscallContext, addr: number, length: number, prot: number): number {
  checkAligned(addr);
  if (prot & ~PROT_KNOWN) fail('EINVAL');
  if (length === 0) return 0;
  ctx.mem.protect(addr, length, prot & 7);
  return 0;
}

/** mremap(2): shrink in place, grow in place when the pages after are free, else move with MREMAP_MAYMOVE. */
function mremap(ctx: SyscallContext, oldAddr: number, oldSize: number, newSize: number, flags: number, newAddr: number): number {
  const c = ctx.arch.c;
  checkAligned(oldAddr);
  if (flags & ~(c.MREMAP_MAYMOVE | c.MREMAP_FIXED | c.MREMAP_DONTUNMAP)) fail('EINVAL');
  if (flags & c.MREMAP_FIXED && !(flags & c.MREMAP_MAYMOVE)) fail('EINVAL');
  if (newSize === 0) fail('EINVAL');
  const oldLen = pageUp(oldSize);
  const newLen = pageUp(newSize);
  const m = ctx.mem.mappingAt(oldAddr);
  if (!m || !ctx.mem.isFullyMapped(oldAddr, oldAddr + oldLen)) fail('EFAULT');
  if (flags & c.MREMAP_FIXED) return moveMapping(ctx, oldAddr, oldLen, newLen, newAddr);
  if (newLen <= oldLen) {
    if (newLen < oldLen) ctx.mem.unmap(oldAddr + newLen, oldLen - newLen);
    return oldAddr;
  }
  if (ctx.mem.isFree(oldAddr + oldLen, oldAddr + newLen)) {
    ctx.mem.map(oldAddr + oldLen, newLen - oldLen, m.prot, { name: m.name, shared: m.shared, offset: m.offset + oldLen });
    return oldAddr;
  }
  if (!(flags & c.MREMAP_MAYMOVE)) fail('ENOMEM');
  return moveMapping(ctx, oldAddr, oldLen, newLen, ctx.mem.findFree(newLen));
}

function moveMapping(ctx: SyscallContext, oldAddr: number, oldLen: number, newLen: number, newAddr: number): number {
  checkAligned(newAddr);
  const m = ctx.mem.mappingAt(oldAddr)!;
  const keep = Math.min(oldLen, newLen);
  const saved = m.bytes ? ctx.mem.read(oldAddr, keep) : null;
  ctx.mem.unmap(oldAddr, oldLen);
  ctx.mem.map(newAddr, newLen, m.prot, { name: m.name, shared: m.shared, offset: m.offset });
  if (saved) ctx.mem.poke(newAddr, saved);
  return newAddr;
}

function brk(ctx: SyscallContext, addr: number): number {
  return ctx.mem.brk(addr);
}

/** madvise(2): advice only; MADV_DONTNEED on private anonymous memory must read back as zeros. */
function madvise(ctx: SyscallContext, addr: number, length: number, advice: number): number {
  checkAligned(addr);
  const c = ctx.arch.c;
  if (length === 0) return 0;
  if (!ctx.mem.isFullyMapped(addr, addr + pageUp(length))) fail('ENOMEM');
  // Private pages given up with MADV_DONTNEED come back zero-filled (file
  // pages would be re-read from the file; we zero those too, as anonymous).
  if (advice === c.MADV_DONTNEED && !ctx.mem.mappingAt(addr)!.shared) zeroRange(ctx, addr, pageUp(length));
  return 0;
}

/** msync(2): memory is the only copy of private mappings, so there is nothing to write back. */
function msync(ctx: SyscallContext, addr: number, length: number, flags: number): number {
  const MS_ASYNC = 1;
  const MS_INVALIDATE = 2;
  const MS_SYNC = 4;
  checkAligned(addr);
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) || (flags & MS_ASYNC && flags & MS_SYNC)) fail('EINVAL');
  if (!ctx.mem.isFullyMapped(addr, addr + pageUp(length))) fail('ENOMEM');
  return 0;
}

function zeroRange(ctx: SyscallContext, addr: number, length: number): void {
  let cursor = addr;
  while (cursor < addr + length) {
    const m = ctx.mem.mappingAt(cursor)!;
    const to = Math.min(addr + length, m.end);
    m.bytes?.fill(0, cursor - m.start, to - m.start);
    cursor = to;
  }
}

export const mmFamily = family('mm', [
  { name: 'brk', args: { addr: 'ptr' }, ret: 'addr', handler: brk },
  {
    name: 'mmap',
    args: { addr: 'ptr', length: 'size', prot: 'prot', flags: 'map_flags', fd: 'fd', offset: 'off' },
    ret: 'addr',
    handler: mmap,
    note: 'anonymous and private file mappings; shared writable file mappings give ENODEV',
  },
  { name: 'munmap', args: { addr: 'ptr', length: 'size' }, handler: munmap },
  { name: 'mprotect', args: { addr: 'ptr', length: 'size', prot: 'prot' }, handler: mprotect },
  {
    name: 'mremap',
    args: { old_address: 'ptr', old_size: 'size', new_size: 'size', flags: 'mremap_flags', new_address: 'ptr' },
    ret: 'addr',
    handler: mremap,
  },
  { name: 'msync', args: { addr: 'ptr', length: 'size', flags: 'hex' }, handler: msync },
  { name: 'madvise', args: { addr: 'ptr', length: 'size', advice: 'madvise_advice' }, handler: madvise },
]);
