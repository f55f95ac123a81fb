// Memory: brk, mmap, munmap, mprotect, mremap, madvise (see mmap(2),
// mremap(2), brk(2)). The address space itself is src/kernel/memory.ts.
import { fail } from '../src/kernel/errors.ts';
import { PAGE_SIZE, PROT_WRITE, allocateBytes, pageUp, type FileSource } from '../src/kernel/memory.ts';
import type { OpenFileDescription } from '../src/kernel/fdtable.ts';
import { family, type SyscallContext } from './types.ts';

const PROT_GROWSDOWN = 0x01000000;
const PROT_GROWSUP = 0x02000000;
/** READ|WRITE|EXEC, PROT_SEM (accepted and ignored, as arch_validate_prot does), GROWSDOWN, GROWSUP. */
const PROT_KNOWN = 0x7 | 0x8 | PROT_GROWSDOWN | PROT_GROWSUP;
/** x86-64 only: place the mapping in the first 2 GiB (Linux uses [1 GiB, 2 GiB)). */
const MAP_32BIT = 0x40;

function checkAligned(addr: number): void {
  if (addr % PAGE_SIZE !== 0) fail('EINVAL');
}

function mmap(ctx: SyscallContext, addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number {
  const c = ctx.arch.c;
  const mapType = flags & c.MAP_TYPE;
  const anonymous = (flags & c.MAP_ANONYMOUS) !== 0;
  if (offset % PAGE_SIZE !== 0 || offset < 0) fail('EINVAL');
  // Then a file mapping looks its fd up (EBADF); O_PATH descriptors are not usable here.
  const ofd = anonymous ? null : ctx.fds.get(fd);
  if (ofd && ofd.access === 'path') fail('EBADF');
  if (length === 0) fail('EINVAL');
  if (pageUp(length) > ctx.arch.layout.taskSize) fail('ENOMEM');
  // MAP_TYPE must say exactly one of MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE.
  if (mapType !== c.MAP_SHARED && mapType !== c.MAP_PRIVATE && mapType !== c.MAP_SHARED_VALIDATE) fail('EINVAL');
  const fixed = (flags & (c.MAP_FIXED | c.MAP_FIXED_NOREPLACE)) !== 0;
  let file = null;
  if (ofd) {
    if (!ofd.canRead) fail('EACCES');
    if (mapType !== c.MAP_PRIVATE && prot & PROT_WRITE && !ofd.canWrite) fail('EACCES');
    // Directories, pipes, terminals and other streams have no mmap (see mmap(2), ENODEV).
    if (ofd.isDirectory || !ofd.io().seekable) fail('ENODEV');
    file = ofd;
  }
  let start: number;
  if (fixed) {
    checkAligned(addr);
    if (addr + pageUp(length) > ctx.arch.layout.taskSize) fail('ENOMEM');
    if (addr < ctx.arch.layout.mmapMin) fail('EPERM');
    if (flags & c.MAP_FIXED_NOREPLACE && !ctx.mem.isFree(addr, addr + pageUp(length))) fail('EEXIST');
    start = addr;
  } else if (flags & MAP_32BIT && ctx.arch.name === 'x86_64') {
    start = ctx.mem.findFree(length, addr, { low: 0x4000_0000, high: 0x8000_0000 });
  } else {
    start = ctx.mem.findFree(length, addr);
  }
  const name = file ? file.path : '';
  const id = file ? file.fs.stat(file.node) : null;
  const shared = mapType !== c.MAP_PRIVATE;
  const size = file ? file.io().size() : 0;
  // Whole pages past the end of the file are not backed by it: touching
  // them is SIGBUS (see mmap(2), "SIGBUS"). They get no file contents and no
  // access; the kernel turns the CPU's fault there into SIGBUS.
  const eofEnd = file ? start + pageUp(Math.max(0, size - offset)) : Infinity;
  const end = start + pageUp(length);
  ctx.mem.map(start, length, prot & 7, {
    name,
    shared,
    offset: file ? offset : 0,
    dev: id?.dev,
    ino: id?.ino,
    // A private mapping is copied from the file when first touched, a shared one now (memory.ts).
    source: file ? fileSource(file) : undefined,
    // A shared mapping of a file opened read-only may never become writable (mprotect(2), EACCES).
    mayWrite: !(file && shared && !file.canWrite),
  });
  if (eofEnd < end) {
    ctx.mem.protect(eofEnd, end - eofEnd, 0);
    ctx.proc.beyondEof.push({ start: eofEnd, end, name });
  }
  return start;
}

/**
 * The open file a mapping reads from (and a shared one writes back to):
 * held open while any piece of a mapping uses it, as mmap(2) keeps a
 * reference to the file (closing the fd does not unmap); the last munmap
 * (or exit) lets it go.
 */
function fileSource(ofd: OpenFileDescription): FileSource {
  const file = ofd.io();
  let pieces = 0;
  return {
    read: (into, offset) => file.read(into, offset),
    write: (data, offset) => file.write(data, offset),
    size: () => file.size(),
    hold: () => {
      if (pieces++ === 0) ofd.retain();
    },
    drop: () => {
      if (--pieces === 0) ofd.release();
    },
  };
}

function munmap(ctx: SyscallContext, addr: number, length: number): number {
  checkAligned(addr);
  if (length === 0 || addr + length > ctx.arch.layout.taskSize) fail('EINVAL');
  ctx.mem.unmap(addr, length);
  return 0;
}

function mprotect(ctx: SyscallContext, addr: number, length: number, prot: number): number {
  checkAligned(addr);
  if (prot & ~PROT_KNOWN || (prot & PROT_GROWSDOWN && prot & PROT_GROWSUP)) fail('EINVAL');
  if (length === 0) return 0;
  ctx.mem.protect(addr, length, prot & 7);
  return 0;
}

/**
 * mremap(2): shrink in place, grow in place when the pages after are free,
 * else move with MREMAP_MAYMOVE; MREMAP_FIXED moves to a given address and
 * MREMAP_DONTUNMAP leaves the old range mapped (and, for private memory, empty).
 */
function mremap(ctx: SyscallContext, oldAddr: number, oldSize: number, newSize: number, flags: number, newAddr: number): number {
  const c = ctx.arch.c;
  const layout = ctx.arch.layout;
  if (flags & ~(c.MREMAP_MAYMOVE | c.MREMAP_FIXED | c.MREMAP_DONTUNMAP)) fail('EINVAL');
  if (flags & c.MREMAP_FIXED && !(flags & c.MREMAP_MAYMOVE)) fail('EINVAL');
  // MREMAP_DONTUNMAP moves without resizing, and only together with MREMAP_MAYMOVE.
  if (flags & c.MREMAP_DONTUNMAP && (!(flags & c.MREMAP_MAYMOVE) || oldSize !== newSize)) fail('EINVAL');
  checkAligned(oldAddr);
  const oldLen = pageUp(oldSize);
  const newLen = pageUp(newSize);
  if (newLen === 0) fail('EINVAL');
  const m = ctx.mem.mappingAt(oldAddr);
  if (!m) fail('EFAULT');
  // old_size 0 asks for a second mapping of the same pages, which only a
  // shared mapping can give (see mremap(2), BUGS); private ones are EINVAL.
  if (oldLen === 0) fail('EINVAL', m.shared ? 'duplicating a shared mapping is not supported' : undefined);
  if (!ctx.mem.isFullyMapped(oldAddr, oldAddr + oldLen)) fail('EFAULT');
  const keepOld = (flags & c.MREMAP_DONTUNMAP) !== 0;
  if (flags & c.MREMAP_FIXED) {
    checkAligned(newAddr);
    if (newLen > layout.taskSize || newAddr > layout.taskSize - newLen) fail('EINVAL');
    // The old and new ranges may not overlap.
    if (oldAddr + oldLen > newAddr && newAddr + newLen > oldAddr) fail('EINVAL');
    if (newAddr < layout.mmapMin) fail('EPERM');
    return moveMapping(ctx, oldAddr, oldLen, newLen, newAddr, keepOld);
  }
  if (keepOld) return moveMapping(ctx, oldAddr, oldLen, newLen, ctx.mem.findFree(newLen), true);
  if (newLen <= oldLen) {
    if (newLen < oldLen) ctx.mem.unmap(oldAddr + newLen, oldLen - newLen);
    return oldAddr;
  }
  if (ctx.mem.isFree(oldAddr + oldLen, oldAddr + newLen)) {
    const offset = m.offset + (oldAddr - m.start) + oldLen;
    // A file mapping grows with the file's next pages (a private one, when first touched).
    const file = { dev: m.dev, ino: m.ino, source: m.source && !m.shared ? m.source : undefined };
    ctx.mem.map(oldAddr + oldLen, newLen - oldLen, m.prot, { name: m.name, shared: m.shared, mayWrite: m.mayWrite, offset, ...file });
    return oldAddr;
  }
  if (!(flags & c.MREMAP_MAYMOVE)) fail('ENOMEM');
  return moveMapping(ctx, oldAddr, oldLen, newLen, ctx.mem.findFree(newLen), false);
}

/** A copy of [addr, addr+len) whatever its protection; null when none of it has host memory. */
function snapshot(ctx: SyscallContext, addr: number, len: number): Uint8Array | null {
  const out = allocateBytes(len);
  let any = false;
  let cursor = addr;
  while (cursor < addr + len) {
    const m = ctx.mem.mappingAt(cursor)!;
    const to = Math.min(addr + len, m.end);
    if (m.bytes) {
      out.set(m.bytes.subarray(cursor - m.start, to - m.start), cursor - addr);
      any = true;
    }
    cursor = to;
  }
  return any ? out : null;
}

/**
 * Move [oldAddr, oldAddr+oldLen) to newAddr with size newLen, keeping the
 * contents (whatever the protection). If the new mapping cannot be made,
 * the old one is put back and the error returned.
 */
function moveMapping(ctx: SyscallContext, oldAddr: number, oldLen: number, newLen: number, newAddr: number, keepOld: boolean): number {
  ctx.mem.materialize(oldAddr, oldAddr + oldLen);
  const m = ctx.mem.mappingAt(oldAddr)!;
  const props = { name: m.name, shared: m.shared, mayWrite: m.mayWrite, offset: m.offset + (oldAddr - m.start) };
  const saved = snapshot(ctx, oldAddr, oldLen);
  const backed = saved !== null;
  if (keepOld) {
    const moved = ctx.mem.map(newAddr, newLen, m.prot, { ...props, backed });
    if (saved) moved.bytes!.set(saved.subarray(0, Math.min(oldLen, newLen)));
    // What stays behind is empty for private memory (it refaults as zeros),
    // and the same pages for shared memory.
    if (!m.shared) zeroPrivate(ctx, oldAddr, oldAddr + oldLen);
    return newAddr;
  }
  ctx.mem.unmap(oldAddr, oldLen);
  let moved;
  try {
    moved = ctx.mem.map(newAddr, newLen, m.prot, { ...props, backed });
  } catch (e) {
    const back = ctx.mem.map(oldAddr, oldLen, m.prot, { ...props, backed });
    if (saved) back.bytes!.set(saved);
    throw e;
  }
  if (saved) moved.bytes!.set(saved.subarray(0, Math.min(oldLen, newLen)));
  return newAddr;
}

function brk(ctx: SyscallContext, addr: number): number {
  return ctx.mem.brk(addr);
}

const MADV_FREE = 8;
const MADV_REMOVE = 9;
/** The advice values Linux 6.1 knows: 0-4 and 8-25 (MADV_NORMAL ... MADV_COLLAPSE). */
function knownAdvice(advice: number): boolean {
  return (advice >= 0 && advice <= 4) || (advice >= 8 && advice <= 25);
}

/** A mapping of a file (its name is the file's path), as opposed to anonymous memory, [heap] or [stack]. */
function fileBacked(name: string): boolean {
  return name.startsWith('/');
}

/**
 * madvise(2): advice only, except what changes contents: MADV_DONTNEED on
 * private memory reads back as zeros, or as the file now holds it for a
 * private file mapping; MADV_REMOVE punches out shared memory.
 */
function madvise(ctx: SyscallContext, addr: number, length: number, advice: number): number {
  const c = ctx.arch.c;
  if (!knownAdvice(advice)) fail('EINVAL');
  checkAligned(addr);
  if (length === 0) return 0;
  const end = addr + pageUp(length);
  if (!ctx.mem.isFullyMapped(addr, end)) fail('ENOMEM');
  const covered = mappingsIn(ctx, addr, end);
  switch (advice) {
    case c.MADV_DONTNEED:
    case c.MADV_DONTNEED_LOCKED:
      ctx.mem.dropPrivatePages(addr, end);
      break;
    case MADV_FREE:
      // Only private anonymous memory can be freed lazily; its contents may stay until reused.
      if (covered.some((m) => m.shared || fileBacked(m.name))) fail('EINVAL');
      break;
    case MADV_REMOVE:
      if (covered.some((m) => !m.shared && !fileBacked(m.name))) fail('EINVAL');
      if (covered.some((m) => !m.shared || !(m.prot & PROT_WRITE))) fail('EACCES');
      for (const m of covered) m.bytes?.fill(0, Math.max(addr, m.start) - m.start, Math.min(end, m.end) - m.start);
      break;
  }
  return 0;
}

/**
 * msync(2): the pages the guest changed in shared file mappings go to the
 * file now, for MS_ASYNC as for MS_SYNC (tslinux has no later moment);
 * private mappings have nothing to write back.
 */
function msync(ctx: SyscallContext, addr: number, length: number, flags: number): number {
  const MS_ASYNC = 1;
  const MS_INVALIDATE = 2;
  const MS_SYNC = 4;
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) fail('EINVAL');
  checkAligned(addr);
  if (flags & MS_ASYNC && flags & MS_SYNC) fail('EINVAL');
  if (length === 0) return 0;
  if (!ctx.mem.isFullyMapped(addr, addr + pageUp(length))) fail('ENOMEM');
  ctx.mem.writeBack(addr, addr + pageUp(length));
  return 0;
}

/** The mappings covering [start, end), which must be fully mapped. */
function mappingsIn(ctx: SyscallContext, start: number, end: number) {
  return ctx.mem.mappings().filter((m) => m.start < end && m.end > start);
}

/** Zero the private (not MAP_SHARED) pages of [start, end). */
function zeroPrivate(ctx: SyscallContext, start: number, end: number): void {
  ctx.mem.ownPages(start, end);
  for (const m of mappingsIn(ctx, start, end)) {
    if (!m.shared) m.bytes?.fill(0, Math.max(start, m.start) - m.start, Math.min(end, m.end) - m.start);
  }
}

export const mmFamily = family('mm', [
  {
    name: 'brk',
    summary: 'Moves the end of the data segment (the program break); returns the new break, or the current one when the request cannot be met.',
    args: { addr: 'ptr' },
    ret: 'addr',
    handler: brk,
  },
  {
    name: 'mmap',
    summary: 'Maps anonymous memory or a file into the address space with the given protection and sharing, and returns the address of the mapping.',
    args: { addr: 'ptr', length: 'size', prot: 'prot', flags: 'map_flags', fd: 'fd', offset: 'mmap_offset' },
    ret: 'addr',
    handler: mmap,
    note: 'private file mappings copied in at first touch; MAP_SHARED ones copied, changed pages written back at msync, munmap, exec and exit (a write(2) to the file is not seen in an existing mapping)',
  },
  {
    name: 'munmap',
    summary: 'Removes the mappings in an address range; later access there faults.',
    args: { addr: 'ptr', length: 'size' },
    handler: munmap,
  },
  {
    name: 'mprotect',
    summary: 'Changes the protection (read, write, execute) of the pages in an address range.',
    args: { addr: 'ptr', length: 'size', prot: 'prot' },
    handler: mprotect,
  },
  {
    name: 'mremap',
    summary: 'Grows or shrinks a mapping, moving it when MREMAP_MAYMOVE allows; returns its (possibly new) address.',
    args: { old_address: 'ptr', old_size: 'size', new_size: 'size', flags: 'mremap_flags', new_address: 'ptr' },
    ret: 'addr',
    handler: mremap,
  },
  {
    name: 'msync',
    summary: 'Flushes changes made to a shared file mapping back to the file; ENOMEM when the range is not mapped.',
    args: { addr: 'ptr', length: 'size', flags: 'msync_flags' },
    handler: msync,
    note: 'writes changed shared pages back at once (MS_ASYNC too)',
  },
  {
    name: 'madvise',
    summary: 'Gives the kernel advice about how a range of memory will be used (MADV_DONTNEED discards private pages).',
    args: { addr: 'ptr', length: 'size', advice: 'madvise_advice' },
    handler: madvise,
  },
]);
