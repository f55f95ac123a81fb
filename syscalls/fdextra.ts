// More fd calls: copy_file_range and memfd_create (see copy_file_range(2),
// memfd_create(2)).
import { LinuxError, fail } from '../src/kernel/errors.ts';
import { OpenFileDescription } from '../src/kernel/fdtable.ts';
import type { KernelServices } from '../src/kernel/services.ts';
import { MemFs } from '../src/kernel/vfs/memfs.ts';
import { S_IFMT, S_IFREG } from '../src/kernel/vfs/types.ts';
import { ioFd } from './file.ts';
import { statOf } from './fs.ts';
import { family, type SyscallContext } from './types.ts';

const MAX_RW_COUNT = 0x7fff_f000;

// ---- copy_file_range ----------------------------------------------------------


function isRegular(ofd: OpenFileDescription): boolean {
  return (statOf(ofd).mode & S_IFMT) === S_IFREG;
}

/**
 * copy_file_range(2), in Linux's order (fs/read_write.c): EINVAL for flags,
 * EBADF for the fds, EFAULT for the offset pointers, then
 * generic_file_rw_checks (EISDIR, EINVAL for non-regular files, EBADF for
 * the access modes and an O_APPEND output), EINVAL for negative offsets; the
 * copy is shortened to the end of the input, and then the same file with
 * overlapping ranges is EINVAL. Offsets pointed to are updated and the
 * files' own offsets left alone; otherwise the files' offsets advance.
 */
function copyFileRange(ctx: SyscallContext, fdIn: number, offInPtr: number, fdOut: number, offOutPtr: number, len: number, flags: number): number {
  if (flags !== 0) fail('EINVAL');
  const input = ioFd(ctx, fdIn);
  const output = ioFd(ctx, fdOut);
  let posIn = offInPtr ? ctx.mem.readI64(offInPtr) : input.offset;
  let posOut = offOutPtr ? ctx.mem.readI64(offOutPtr) : output.offset;
  if (input.isDirectory || output.isDirectory) fail('EISDIR');
  if (!isRegular(input) || !isRegular(output)) fail('EINVAL');
  if (!input.canRead || !output.canWrite) fail('EBADF');
  if (output.statusFlags & ctx.arch.c.O_APPEND) fail('EBADF');
  if (posIn < 0 || posOut < 0) fail('EINVAL');
  const inIo = input.io();
  const outIo = output.io();
  const sizeIn = inIo.size();
  let count = Math.min(len, MAX_RW_COUNT);
  count = posIn >= sizeIn ? 0 : Math.min(count, sizeIn - posIn);
  const a = statOf(input);
  const b = statOf(output);
  if (a.dev === b.dev && a.ino === b.ino && posOut + count > posIn && posOut < posIn + count) fail('EINVAL');
  if (output.fs.readOnly) fail('EROFS');
  const chunk = new Uint8Array(Math.min(count, 1 << 16));
  let total = 0;
  try {
    while (total < count) {
      const n = inIo.read(chunk.subarray(0, Math.min(chunk.length, count - total)), posIn);
      if (n <= 0) break;
      let written = 0;
      while (written < n) written += outIo.write(chunk.subarray(written, n), posOut + written);
      posIn += n;
      posOut += n;
      total += n;
    }
  } catch (e) {
    // A short copy reports what was copied (EFBIG, ENOSPC past the first byte).
    if (!(e instanceof LinuxError) || total === 0) throw e;
  }
  if (offInPtr) ctx.mem.writeU64(offInPtr, posIn);
  else input.offset = posIn;
  if (offOutPtr) ctx.mem.writeU64(offOutPtr, posOut);
  else output.offset = posOut;
  return total;
}

// ---- memfd_create ---------------------------------------------------------------

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_HUGETLB = 0x4;
const MFD_NOEXEC_SEAL = 0x8;
const MFD_EXEC = 0x10;
/** NAME_MAX minus the "memfd:" prefix (mm/memfd.c). */
const MFD_NAME_MAX_LEN = 249;
const SHM_DEV = 0x1e;
/**
 * Each run's internal tmpfs for memfds (Linux's shm_mnt), never mounted
 * anywhere; its files count against the run's memory, and a write past it
 * is ENOMEM, as the memory cgroup gives a memfd.
 */
const shmOf = new WeakMap<KernelServices, MemFs>();
let memfdSerial = 0;

function shmFs(kernel: KernelServices): MemFs {
  let shm = shmOf.get(kernel);
  if (!shm) shmOf.set(kernel, (shm = new MemFs({ type: 'tmpfs', dev: SHM_DEV, budget: kernel.memoryBudget, full: 'ENOMEM' })));
  return shm;
}

/**
 * memfd_create(2): an anonymous regular file in memory, open read-write,
 * whose /proc/self/fd link reads "/memfd:NAME (deleted)". MFD_HUGETLB is
 * EINVAL (no hugetlbfs), as are unknown flags and MFD_EXEC with
 * MFD_NOEXEC_SEAL; names past 249 bytes are EINVAL.
 */
function memfdCreate(ctx: SyscallContext, namePtr: number, flags: number): number {
  if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)) fail('EINVAL');
  if (flags & MFD_HUGETLB) fail('EINVAL');
  if (flags & MFD_EXEC && flags & MFD_NOEXEC_SEAL) fail('EINVAL');
  let name: string;
  try {
    name = ctx.mem.readCString(namePtr, MFD_NAME_MAX_LEN + 1);
  } catch (e) {
    if (e instanceof LinuxError && e.code === 'ENAMETOOLONG') fail('EINVAL');
    throw e;
  }
  const shm = shmFs(ctx.kernel);
  const root = shm.root();
  const slot = `memfd${++memfdSerial}`;
  // Owned by the caller (its fsuid/fsgid on Linux; tslinux uses the effective ids).
  const node = shm.create(root, slot, 0o777, { uid: ctx.proc.creds.euid, gid: ctx.proc.creds.egid });
  const file = shm.open(node, { read: true, write: true, append: false, truncate: false, nonblock: false });
  // Unlinked at once: the open file keeps the node, and closing the last fd frees it.
  shm.unlink(root, slot);
  // Linux's memfd inode keeps a link count of 1 although no directory holds it;
  // it lives while an fd keeps its file open.
  node.nlink = 1;
  node.anonymous = true;
  const c = ctx.arch.c;
  const ofd = new OpenFileDescription(file, node, shm, `/memfd:${name} (deleted)`, 'rw', c.O_LARGEFILE, false);
  try {
    return ctx.fds.install(ofd, (flags & MFD_CLOEXEC) !== 0);
  } catch (e) {
    file.close();
    throw e;
  }
}

export const fdextraFamily = family('fdextra', [
  {
    name: 'copy_file_range',
    summary: 'Copies a range of one file into another without passing the data through user space.',
    args: { fd_in: 'fd', off_in: 'ptr', fd_out: 'fd', off_out: 'ptr', len: 'copy_size', flags: 'uint' },
    ret: 'size',
    handler: copyFileRange,
    note: 'regular files, through the open files; EINVAL for overlapping ranges of one file',
  },
  {
    name: 'memfd_create',
    summary: 'Creates an anonymous file that lives in memory and returns a descriptor for it.',
    args: { name: 'path', flags: 'uint' },
    ret: 'fd',
    handler: memfdCreate,
    note: 'MFD_CLOEXEC, MFD_ALLOW_SEALING (no seals), MFD_EXEC/MFD_NOEXEC_SEAL accepted; MFD_HUGETLB EINVAL',
  },
]);
