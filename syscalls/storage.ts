// Calls about a file's storage rather than its bytes: truncate and
// ftruncate, fallocate, the sync family, statfs and fstatfs, fadvise64,
// flock and close_range (see truncate(2), fallocate(2), fsync(2), sync(2),
// statfs(2), posix_fadvise(2), flock(2), close_range(2)).
import { fail } from '../src/kernel/errors.ts';
import type { OpenFileDescription } from '../src/kernel/fdtable.ts';
import { Waitable, WouldBlock } from '../src/kernel/wait.ts';
import { S_IFBLK, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, type FileSystem, type Node } from '../src/kernel/vfs/types.ts';
import { readPath, resolveAt, statOf, type Place } from './fs.ts';
import { family, type SyscallContext } from './types.ts';

const AT_FDCWD = -100;
const W_OK = 2;

/** An fd as fdget() finds it: O_PATH descriptors are EBADF for everything here but fstatfs. */
function fdget(ctx: SyscallContext, fd: number): OpenFileDescription {
  const ofd = ctx.fds.get(fd);
  if (ofd.access === 'path') fail('EBADF');
  return ofd;
}

function typeOf(place: { node: Node; fs: FileSystem }): number {
  return statOf(place).mode & S_IFMT;
}

/** Write permission on a file, as inode_permission(MAY_WRITE) checks it with the effective ids. */
function checkWritePermission(ctx: SyscallContext, place: Place): void {
  const st = statOf(place);
  const { euid, egid } = ctx.proc.creds;
  if (euid === 0) return;
  const shift = st.uid === euid ? 6 : st.gid === egid ? 3 : 0;
  if (((st.mode >> shift) & W_OK) === 0) fail('EACCES');
}

// ---- truncate ------------------------------------------------------------------

/**
 * truncate(2) (vfs_truncate): EINVAL for a negative length before the path is
 * looked at; then EISDIR for a directory, EINVAL for anything not regular,
 * EROFS on a read-only mount and EACCES without write permission.
 */
function truncate(ctx: SyscallContext, pathPtr: number, length: number): number {
  if (length < 0) fail('EINVAL');
  const place = resolveAt(ctx, AT_FDCWD, readPath(ctx, pathPtr), true);
  const type = typeOf(place);
  if (type === S_IFDIR) fail('EISDIR');
  if (type !== S_IFREG) fail('EINVAL');
  if (place.fs.readOnly) fail('EROFS');
  checkWritePermission(ctx, place);
  if (length > Number.MAX_SAFE_INTEGER) fail('EFBIG');
  place.fs.truncate(place.node, length);
  return 0;
}

/**
 * ftruncate(2) (do_ftruncate): EINVAL for a negative length, EBADF for a bad
 * fd, and EINVAL — not EBADF — when the fd is not a regular file or is not
 * open for writing ("EBADF or EINVAL: fd is not open for writing"; Linux
 * returns EINVAL).
 */
function ftruncate(ctx: SyscallContext, fd: number, length: number): number {
  if (length < 0) fail('EINVAL');
  const ofd = fdget(ctx, fd);
  if (ofd.isDirectory || typeOf(ofd) !== S_IFREG || !ofd.canWrite) fail('EINVAL');
  if (ofd.fs.readOnly) fail('EROFS');
  if (length > Number.MAX_SAFE_INTEGER) fail('EFBIG');
  if (ofd.file?.truncate) ofd.file.truncate(length);
  else ofd.fs.truncate(ofd.node, length);
  return 0;
}

// ---- fallocate ------------------------------------------------------------------

const FALLOC_FL_KEEP_SIZE = 0x01;

/**
 * fallocate(2) (vfs_fallocate), in the kernel's order: EINVAL for offset < 0
 * or len <= 0; EOPNOTSUPP for modes beyond KEEP_SIZE (punch, collapse, zero,
 * insert, unshare: no filesystem here can do them); EBADF unless open for
 * writing; ESPIPE for a pipe; EISDIR for a directory; ENODEV for anything
 * not regular; EFBIG past the largest file. Mode 0 grows the file to
 * offset+len when that is beyond its size; KEEP_SIZE only reserves blocks,
 * which nothing here has, so it succeeds and changes nothing.
 */
function fallocate(ctx: SyscallContext, fd: number, mode: number, offset: number, len: number): number {
  if (offset < 0 || len <= 0) fail('EINVAL');
  if (mode & ~FALLOC_FL_KEEP_SIZE) fail('EOPNOTSUPP');
  const ofd = fdget(ctx, fd);
  if (!ofd.canWrite) fail('EBADF');
  const type = typeOf(ofd);
  if (type === S_IFIFO) fail('ESPIPE');
  if (type === S_IFDIR) fail('EISDIR');
  if (type !== S_IFREG && type !== S_IFBLK) fail('ENODEV');
  const end = offset + len;
  if (end > Number.MAX_SAFE_INTEGER) fail('EFBIG');
  if (ofd.fs.readOnly) fail('EROFS');
  if (mode === 0 && end > statOf(ofd).size) ofd.fs.truncate(ofd.node, end);
  return 0;
}

// ---- the sync family ---------------------------------------------------------------

/**
 * fsync(2)/fdatasync(2): EBADF for a bad fd (O_PATH included), EINVAL for a
 * special file that cannot be synchronized (pipe, FIFO, socket, tty: no
 * ->fsync); regular files and directories are flushed.
 */
function fsync(ctx: SyscallContext, fd: number): number {
  const ofd = fdget(ctx, fd);
  const type = typeOf(ofd);
  if (type !== S_IFREG && type !== S_IFDIR) fail('EINVAL');
  ofd.file?.sync?.();
  return 0;
}

function syncfs(ctx: SyscallContext, fd: number): number {
  fdget(ctx, fd);
  return 0;
}

// ---- statfs ----------------------------------------------------------------------

/** f_type magics (linux/magic.h) for filesystems that do not say. */
const MAGIC: Record<string, number> = {
  tmpfs: 0x01021994,
  devtmpfs: 0x01021994,
  proc: 0x9fa0,
  sysfs: 0x62656572,
  devpts: 0x1cd1,
  overlay: 0x794c7630,
  hostfs: 0xef53,
};
const PIPEFS_MAGIC = 0x50495045;
const SOCKFS_MAGIC = 0x534f434b;
const DEVPTS_MAGIC = 0x1cd1;
/** statfs f_flags (see statfs(2)): ST_VALID is always set (calculate_f_flags). */
const ST_RDONLY = 0x0001;
const ST_VALID = 0x0020;
export const STATFS_SIZE = 120;

/**
 * struct statfs for 64-bit arches (asm-generic/statfs.h; x86-64 uses it
 * too): seven 64-bit words f_type..f_ffree at 0..55, f_fsid (two i32) at 56,
 * f_namelen at 64, f_frsize at 72, f_flags at 80, f_spare[4] at 88 — 120 bytes.
 */
function encodeStatfs(place: { node: Node; fs: FileSystem }): Uint8Array {
  const out = new Uint8Array(STATFS_SIZE);
  const v = new DataView(out.buffer);
  const type = typeOf(place);
  const stream = typeof (place.node as Node & { info?: unknown }).info === 'function';
  let s = stream ? undefined : place.fs.statfs?.();
  if (!s) {
    const pseudo = stream || place.fs.type === 'proc' || place.fs.type === 'sysfs';
    const magic = type === S_IFIFO ? PIPEFS_MAGIC : type === S_IFSOCK ? SOCKFS_MAGIC : stream ? DEVPTS_MAGIC : (MAGIC[place.fs.type] ?? 0x01021994);
    s = pseudo
      ? { type: magic, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255 }
      : { type: magic, bsize: 4096, blocks: 1 << 24, bfree: 1 << 23, bavail: 1 << 23, files: 1 << 20, ffree: 1 << 19, namelen: 255 };
  }
  const words = [s.type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree];
  words.forEach((w, i) => v.setBigInt64(i * 8, BigInt(Math.max(0, Math.trunc(w))), true));
  const dev = stream ? 0 : place.fs.dev;
  v.setInt32(56, dev | 0, true);
  v.setInt32(60, Math.floor(dev / 2 ** 32) | 0, true);
  v.setBigInt64(64, BigInt(s.namelen || 255), true);
  v.setBigInt64(72, BigInt(s.bsize || 4096), true);
  v.setBigInt64(80, BigInt(ST_VALID | (!stream && place.fs.readOnly ? ST_RDONLY : 0)), true);
  return out;
}

function statfs(ctx: SyscallContext, pathPtr: number, buf: number): number {
  const place = resolveAt(ctx, AT_FDCWD, readPath(ctx, pathPtr), true);
  ctx.mem.write(buf, encodeStatfs(place));
  return 0;
}

/** fstatfs(2) uses fdget_raw: an O_PATH descriptor is fine here. */
function fstatfs(ctx: SyscallContext, fd: number, buf: number): number {
  const ofd = ctx.fds.get(fd);
  ctx.mem.write(buf, encodeStatfs(ofd));
  return 0;
}

// ---- fadvise64 -----------------------------------------------------------------------

/** POSIX_FADV_NORMAL..POSIX_FADV_NOREUSE are 0..5 on both arches. */
const FADV_MAX = 5;

/**
 * posix_fadvise(2) (ksys_fadvise64_64, generic_fadvise): EBADF, ESPIPE for a
 * pipe or FIFO, EINVAL for a negative len or an unknown advice. The advice is
 * only a hint; nothing here caches pages, so it changes nothing.
 */
function fadvise64(ctx: SyscallContext, fd: number, _offset: number, len: number, advice: number): number {
  const ofd = fdget(ctx, fd);
  if (typeOf(ofd) === S_IFIFO) fail('ESPIPE');
  if (len < 0 || advice < 0 || advice > FADV_MAX) fail('EINVAL');
  return 0;
}

// ---- flock -------------------------------------------------------------------------------

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const LOCK_MAND = 32;
/** How often a blocked flock re-checks for holders that went away by close (there is no close hook). */
const FLOCK_RECHECK_NS = 20_000_000n;

interface FileLocks {
  holders: Map<OpenFileDescription, 'sh' | 'ex'>;
  changed: Waitable;
}

/**
 * flock locks belong to open file descriptions and all guest processes share
 * this kernel, so one table serves them all. It is keyed by device and inode
 * (a filesystem may hand out a fresh Node object per lookup), and a holder
 * whose description has no fds left is dropped lazily (flock(2): the lock
 * goes when all duplicate descriptors are closed).
 */
const LOCKS = new WeakMap<FileSystem, Map<number, FileLocks>>();

function locksOf(ofd: OpenFileDescription): FileLocks {
  let byIno = LOCKS.get(ofd.fs);
  if (!byIno) LOCKS.set(ofd.fs, (byIno = new Map()));
  const ino = statOf(ofd).ino;
  let l = byIno.get(ino);
  if (!l) byIno.set(ino, (l = { holders: new Map(), changed: new Waitable() }));
  for (const holder of l.holders.keys()) if (!isOpen(holder)) l.holders.delete(holder);
  return l;
}

/** Whether a description is still referenced by some fd (OpenFileDescription keeps the count private). */
function isOpen(ofd: OpenFileDescription): boolean {
  return (ofd as unknown as { refs: number }).refs > 0;
}

function flock(ctx: SyscallContext, fd: number, op: number): number {
  const ofd = fdget(ctx, fd);
  const nonblock = (op & LOCK_NB) !== 0;
  const cmd = op & ~LOCK_NB;
  // Since Linux 5.15 LOCK_MAND is ignored with a warning and the call succeeds.
  if (cmd & LOCK_MAND) return 0;
  if (cmd !== LOCK_SH && cmd !== LOCK_EX && cmd !== LOCK_UN) fail('EINVAL');
  const locks = locksOf(ofd);
  const mine = locks.holders.get(ofd);
  if (cmd === LOCK_UN) {
    if (mine) {
      locks.holders.delete(ofd);
      locks.changed.notify();
    }
    return 0;
  }
  const want = cmd === LOCK_EX ? 'ex' : 'sh';
  if (mine === want) return 0;
  // Converting a lock is not atomic (flock(2)): the old lock goes first, and
  // stays gone if the new one would block.
  if (mine) {
    locks.holders.delete(ofd);
    locks.changed.notify();
  }
  let conflict = false;
  for (const [holder, kind] of locks.holders) if (holder !== ofd && (want === 'ex' || kind === 'ex')) conflict = true;
  if (conflict) {
    if (nonblock) fail('EWOULDBLOCK');
    throw new WouldBlock([locks.changed], ctx.kernel.monotonicNs() + FLOCK_RECHECK_NS);
  }
  locks.holders.set(ofd, want);
  return 0;
}

// ---- close_range ----------------------------------------------------------------------------

const CLOSE_RANGE_UNSHARE = 2;
const CLOSE_RANGE_CLOEXEC = 4;

/**
 * close_range(2): EINVAL for unknown flags or first > last; closes (or with
 * CLOSE_RANGE_CLOEXEC marks close-on-exec) every open fd in [first, last].
 * CLOSE_RANGE_UNSHARE is accepted: each process has its own fd table here.
 */
function closeRange(ctx: SyscallContext, first: number, last: number, flags: number): number {
  if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) fail('EINVAL');
  if (first > last) fail('EINVAL');
  for (const fd of ctx.fds.list()) {
    if (fd < first || fd > last) continue;
    if (flags & CLOSE_RANGE_CLOEXEC) ctx.fds.setCloexec(fd, true);
    else ctx.fds.close(fd);
  }
  return 0;
}

export const storageFamily = family('storage', [
  {
    name: 'truncate',
    summary: 'Sets the size of the file at pathname, cutting it or extending it with zeros.',
    args: { path: 'path', length: 'off' },
    handler: truncate,
  },
  {
    name: 'ftruncate',
    summary: 'Sets the size of an open file, cutting it or extending it with zeros.',
    args: { fd: 'fd', length: 'off' },
    handler: ftruncate,
  },
  {
    name: 'fallocate',
    summary: 'Allocates (or deallocates, or zeroes) disk space for a range of an open file.',
    args: { fd: 'fd', mode: 'int', offset: 'off', len: 'off' },
    handler: fallocate,
    note: 'mode 0 and KEEP_SIZE; other modes EOPNOTSUPP',
  },
  {
    name: 'fsync',
    summary: "Flushes a file's data and metadata to its storage device.",
    args: { fd: 'fd' },
    handler: fsync,
  },
  {
    name: 'fdatasync',
    summary: "Flushes a file's data (and the metadata needed to read it) to its storage device.",
    args: { fd: 'fd' },
    handler: fsync,
  },
  {
    name: 'sync',
    summary: 'Flushes all filesystem buffers to their devices.',
    args: {},
    handler: () => 0,
  },
  {
    name: 'syncfs',
    summary: 'Flushes the buffers of the filesystem holding an open file.',
    args: { fd: 'fd' },
    handler: syncfs,
  },
  {
    name: 'statfs',
    summary: 'Fills a struct statfs with the type, block counts and limits of the filesystem holding a path.',
    args: { path: 'path', buf: 'ptr' },
    handler: statfs,
  },
  {
    name: 'fstatfs',
    summary: 'Fills a struct statfs for the filesystem holding an open file.',
    args: { fd: 'fd', buf: 'ptr' },
    handler: fstatfs,
  },
  {
    name: 'fadvise64',
    summary: 'Tells the kernel how a range of an open file will be accessed (sequentially, randomly, not again...).',
    args: { fd: 'fd', offset: 'off', len: 'off', advice: 'int' },
    handler: fadvise64,
    note: 'advice accepted and ignored',
  },
  {
    name: 'flock',
    summary: 'Takes or releases an advisory whole-file lock (shared or exclusive) on an open file.',
    args: { fd: 'fd', op: 'int' },
    handler: flock,
    note: 'shared between all guest processes',
  },
  {
    name: 'close_range',
    summary: 'Closes (or marks close-on-exec) every descriptor in a range.',
    args: { first: 'uint', last: 'uint', flags: 'uint' },
    handler: closeRange,
  },
]);
