// Calls that name files by path: open, the stat family, access, readlink,
// getcwd, chdir, mkdir, mknod, unlink, rmdir and rename, in their *at forms
// and the x86-64 legacy forms (see openat(2), stat(2), statx(2), access(2),
// readlink(2), getcwd(2), chdir(2), mkdir(2), mknod(2), unlink(2), rename(2)).
import { LinuxError, fail } from '../src/kernel/errors.ts';
import { OpenFileDescription, type AccessMode } from '../src/kernel/fdtable.ts';
import { fifoOf, isHostFifo, pipeEndFor } from '../src/kernel/fifo.ts';
import { PipeNode } from '../src/kernel/pipe.ts';
import { StreamNode } from '../src/kernel/stdio.ts';
import { DirectoryFile } from '../src/kernel/vfs/memfs.ts';
import {
  MAY_EXEC,
  MAY_READ,
  MAY_WRITE,
  checkCreate,
  checkDelete,
  checkPermission,
  checkUtimes,
  chmodMode,
  chownOwner,
  identityOf,
  modeAfterChown,
  newDirMode,
  ownerOfNew,
  type Identity,
} from '../src/kernel/vfs/permission.ts';
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  type FileSystem,
  type Node,
  type StatInfo,
} from '../src/kernel/vfs/types.ts';
import { joinPath, type MayLookup, type ParentOp, type ResolvedParent } from '../src/kernel/vfs/vfs.ts';
import { family, type SyscallContext } from './types.ts';

const PATH_MAX = 4096;
const AT_FDCWD = -100;

export interface Place {
  node: Node;
  fs: FileSystem;
  path: string;
}

/** Read a path argument: EFAULT for a bad pointer, ENAMETOOLONG past PATH_MAX, ENOENT when empty. */
export function readPath(ctx: SyscallContext, ptr: number, allowEmpty = false): string {
  const p = ctx.mem.readCString(ptr, PATH_MAX);
  if (p === '' && !allowEmpty) fail('ENOENT');
  return p;
}

/**
 * The directory a relative path starts from: the cwd for AT_FDCWD, else the
 * directory the fd refers to. That is its node, not its path, so a dirfd
 * keeps naming its directory after a rename, as an inode reference does (a
 * host directory through the handle its description pins, see hostfs.ts).
 */
export function baseDir(ctx: SyscallContext, dirfd: number, path: string): string | Place {
  if (path.startsWith('/') || dirfd === AT_FDCWD) return ctx.proc.cwd;
  const ofd = ctx.fds.get(dirfd);
  if (!ofd.isDirectory) fail('ENOTDIR');
  return { node: ofd.node, fs: ofd.fs, path: ofd.path };
}

export function resolveAt(ctx: SyscallContext, dirfd: number, path: string, follow: boolean): Place {
  return ctx.kernel.vfs.resolve(path, { base: baseDir(ctx, dirfd, path), follow, mayLookup: searchCheck(ctx) });
}

/**
 * The search (x) permission check for each directory a path walks through,
 * or nothing for root, who may search any directory (CAP_DAC_READ_SEARCH).
 */
export function searchCheck(ctx: SyscallContext): MayLookup | undefined {
  const who = caller(ctx);
  if (who.uid === 0) return undefined;
  return (dir) => checkPermission(statOf(dir), who, MAY_EXEC);
}

/** An *at() call's target: the path, or with AT_EMPTY_PATH and "" the dirfd itself. */
function targetAt(ctx: SyscallContext, dirfd: number, pathPtr: number, flags: number): Place {
  const c = ctx.arch.c;
  const path = readPath(ctx, pathPtr, (flags & c.AT_EMPTY_PATH) !== 0);
  if (path === '') {
    if (dirfd === AT_FDCWD) return resolveAt(ctx, dirfd, '.', true);
    const ofd = ctx.fds.get(dirfd);
    return { node: ofd.node, fs: ofd.fs, path: ofd.path };
  }
  return resolveAt(ctx, dirfd, path, (flags & c.AT_SYMLINK_NOFOLLOW) === 0);
}

/** stat of a place; streams and pipes describe themselves, being in no filesystem. */
export function statOf(place: { node: Node; fs: FileSystem }): StatInfo {
  const n = place.node as Node & { info?: () => StatInfo };
  if (typeof n.info === 'function') return n.info();
  return place.fs.stat(place.node);
}

/** The calling process's ids for permission checks (permission.ts). */
function caller(ctx: SyscallContext): Identity {
  return identityOf(ctx.proc);
}

/** The directory of a ResolvedParent as a place. */
function dirPlace(p: { dir: Node; fs: FileSystem; dirPath: string }): Place {
  return { node: p.dir, fs: p.fs, path: p.dirPath };
}

function isDir(place: Place): boolean {
  return (statOf(place).mode & S_IFMT) === S_IFDIR;
}

/** A pipe or stdio stream: a node in no filesystem (its `fs` is only where it was made). */
function isStream(place: { node: Node }): boolean {
  return typeof (place.node as Node & { info?: unknown }).info === 'function';
}

/**
 * A guest string back to the bytes the guest sees. Paths and link text are
 * byte strings (one char per byte, as readCString decodes them), so they go
 * out as latin1; a string with chars past U+00FF cannot be one (a Unicode
 * host path used as a mount point) and goes out as UTF-8.
 */
function guestBytes(s: string): Buffer {
  return Buffer.from(s, /[^\u0000-\u00ff]/.test(s) ? 'utf8' : 'latin1');
}

// ---- open --------------------------------------------------------------------

function accessOf(ctx: SyscallContext, flags: number): AccessMode {
  const c = ctx.arch.c;
  if (flags & c.O_PATH) return 'path';
  switch (flags & c.O_ACCMODE) {
    case c.O_RDONLY:
      return 'r';
    case c.O_WRONLY:
      return 'w';
    default:
      return 'rw';
  }
}

/**
 * Find or create the file an open(2) names, following O_CREAT/O_EXCL/O_NOFOLLOW
 * rules. `created`: made by this call (its own mode does not limit this open).
 */
function openTarget(ctx: SyscallContext, dirfd: number, path: string, flags: number, mode: number): Place & { created?: boolean } {
  const c = ctx.arch.c;
  const base = baseDir(ctx, dirfd, path);
  const vfs = ctx.kernel.vfs;
  const nofollow = (flags & c.O_NOFOLLOW) !== 0;
  const mayLookup = searchCheck(ctx);
  if (!(flags & c.O_CREAT)) return vfs.resolve(path, { base, follow: !nofollow, mayLookup });
  // O_CREAT|O_EXCL never follows a final symlink: any existing name is EEXIST (see open(2), O_EXCL).
  const exclusive = (flags & c.O_EXCL) !== 0;
  if (path.endsWith('/')) {
    // open(2): O_CREAT on a path ending in "/" is EISDIR, once the directories before it resolve.
    vfs.resolveParent(path, base, undefined, mayLookup);
    fail('EISDIR');
  }
  const lookup = vfs.resolveForCreate(path, { base, follow: !exclusive && !nofollow, mayLookup });
  if (lookup.found) {
    if (exclusive) fail('EEXIST');
    return lookup.found;
  }
  const parent = lookup.missing;
  if (parent.trailingSlash) fail('EISDIR');
  const owner = newOwner(ctx, parent);
  const node = parent.fs.create(parent.dir, parent.name, mode & ~ctx.proc.umask & 0o7777, owner);
  return { node, fs: parent.fs, path: joinPath(parent.dirPath, parent.name), created: true };
}

/** may_create() on the directory of a new name; the owner the new node gets. EACCES, or EROFS first. */
function newOwner(ctx: SyscallContext, parent: { dir: Node; fs: FileSystem; dirPath: string }) {
  const dirSt = statOf(dirPlace(parent));
  const who = caller(ctx);
  // A read-only mount answers EROFS before the directory's permissions are
  // looked at (mnt_want_write comes first): leave that to the filesystem.
  if (!parent.fs.readOnly) checkCreate(dirSt, who);
  return ownerOfNew(dirSt, who);
}

/** may_open(): the file's own read and write bits, for everything that is not a pipe or stream. */
function checkOpen(ctx: SyscallContext, place: Place, access: AccessMode, truncate: boolean): void {
  if (isStream(place)) return;
  const mask = (access !== 'w' ? MAY_READ : 0) | (access !== 'r' || truncate ? MAY_WRITE : 0);
  const st = statOf(place);
  // sb_permission(): writing a file on a read-only mount is EROFS, before the mode is looked at.
  if (mask & MAY_WRITE && place.fs.readOnly && (st.mode & S_IFMT) === S_IFREG) fail('EROFS');
  checkPermission(st, caller(ctx), mask);
}

/**
 * open(2) O_TMPFILE: an unnamed regular file in the directory `path` names,
 * on filesystems that can make one (tmpfs); EOPNOTSUPP elsewhere. Without
 * O_EXCL, linkat(fd, "", AT_EMPTY_PATH) or linkat of /proc/self/fd/N may
 * name it later.
 */
function openTmpfile(ctx: SyscallContext, dirfd: number, path: string, flags: number, mode: number, access: AccessMode): number {
  const c = ctx.arch.c;
  if (access !== 'w' && access !== 'rw') fail('EINVAL');
  const dir = ctx.kernel.vfs.resolve(path, { base: baseDir(ctx, dirfd, path), follow: true, mustBeDir: true, mayLookup: searchCheck(ctx) });
  if (!dir.fs.tmpfile) fail('EOPNOTSUPP', `O_TMPFILE is not supported on ${dir.fs.type}`);
  const owner = newOwner(ctx, { dir: dir.node, fs: dir.fs, dirPath: dir.path });
  const linkable = (flags & c.O_EXCL) === 0;
  const node = dir.fs.tmpfile(dir.node, mode & ~ctx.proc.umask & 0o7777, owner, linkable);
  const st = dir.fs.stat(node);
  // Linux names it "/dir/#<ino> (deleted)" in /proc/self/fd.
  const place = { node, fs: dir.fs, path: `${joinPath(dir.path, `#${st.ino}`)} (deleted)` };
  const file = dir.fs.open(node, { read: access === 'rw', write: true, append: (flags & c.O_APPEND) !== 0, truncate: false, nonblock: false });
  return install(ctx, place, file, access, flags & ~c.O_TMPFILE, (flags & c.O_CLOEXEC) !== 0, false);
}

export function openFile(ctx: SyscallContext, dirfd: number, pathPtr: number, flags: number, mode: number): number {
  const c = ctx.arch.c;
  const path = readPath(ctx, pathPtr);
  const access = accessOf(ctx, flags);
  // open(2): O_TMPFILE needs O_WRONLY or O_RDWR (EINVAL).
  if ((flags & c.O_TMPFILE) === c.O_TMPFILE) return openTmpfile(ctx, dirfd, path, flags, mode, access);
  const cloexec = (flags & c.O_CLOEXEC) !== 0;
  const place = openTarget(ctx, dirfd, path, flags, mode);
  const st = statOf(place);
  const type = st.mode & S_IFMT;
  const directory = type === S_IFDIR;
  // Linux checks O_DIRECTORY before refusing a final symlink (do_open, then may_open).
  if (flags & c.O_DIRECTORY && !directory) fail('ENOTDIR');
  if (type === S_IFLNK) {
    if (access === 'path') return install(ctx, place, null, 'path', flags, cloexec, false);
    fail('ELOOP'); // O_NOFOLLOW on a symlink
  }
  if (access === 'path') return install(ctx, place, null, 'path', flags, cloexec, directory);
  // O_TRUNC asks for write access (build_open_flags), so a directory refuses it too.
  const truncate = (flags & c.O_TRUNC) !== 0;
  if (directory) {
    if (access !== 'r' || flags & c.O_CREAT || truncate) fail('EISDIR');
    checkOpen(ctx, place, 'r', false);
    return install(ctx, place, new DirectoryFile(place.node), 'r', flags, cloexec, true);
  }
  // A file this open created is not held to its own (maybe read-only) mode.
  if (!place.created) checkOpen(ctx, place, access, truncate && type === S_IFREG);
  if (place.node instanceof StreamNode && place.node.file) {
    return install(ctx, place, place.node.file, access, flags, cloexec, false);
  }
  if (place.node instanceof PipeNode) {
    // A pipe reached through /proc/self/fd/N: a new end of the same pipe (O_RDWR gets both).
    return install(ctx, place, pipeEndFor(place.node, access), access, flags, cloexec, false);
  }
  if (type === S_IFIFO && !isHostFifo(place.node)) {
    // A named pipe of ours: may wait for the other side (see fifo.ts).
    const fifo = fifoOf(place.fs, st.ino, { uid: st.uid, gid: st.gid }, ctx.kernel.memoryBudget);
    return install(ctx, place, fifo.open(access, (flags & c.O_NONBLOCK) !== 0, ctx.task), access, flags, cloexec, false);
  }
  // O_TRUNC empties regular files only, even with O_RDONLY (see open(2)); the
  // filesystem does it in open, which also checks for a read-only mount.
  const file = place.fs.open(place.node, {
    read: access !== 'w',
    write: access !== 'r',
    append: (flags & c.O_APPEND) !== 0,
    truncate: truncate && type === S_IFREG,
    nonblock: (flags & c.O_NONBLOCK) !== 0,
  });
  return install(ctx, place, file, access, flags, cloexec, false);
}

function install(
  ctx: SyscallContext,
  place: Place,
  file: ConstructorParameters<typeof OpenFileDescription>[0],
  access: AccessMode,
  flags: number,
  cloexec: boolean,
  directory: boolean,
): number {
  const c = ctx.arch.c;
  // The kernel forces O_LARGEFILE on 64-bit, and F_GETFL shows it. O_PATH
  // keeps only the lookup flags (build_open_how: O_PATH_FLAGS), no O_LARGEFILE.
  const status =
    access === 'path'
      ? flags & (c.O_DIRECTORY | c.O_NOFOLLOW)
      : (flags & (c.O_APPEND | c.O_NONBLOCK | c.O_SYNC | c.O_DSYNC | c.O_DIRECT | c.O_NOATIME | c.FASYNC | c.O_DIRECTORY | c.O_NOFOLLOW)) |
        c.O_LARGEFILE;
  const ofd = new OpenFileDescription(file, place.node, place.fs, place.path, access, status, directory);
  try {
    return ctx.fds.install(ofd, cloexec);
  } catch (e) {
    file?.close();
    throw e;
  }
}

// ---- stat ----------------------------------------------------------------------

function writeStat(ctx: SyscallContext, addr: number, st: StatInfo): number {
  ctx.mem.write(addr, ctx.arch.encodeStat(st));
  return 0;
}

function fstat(ctx: SyscallContext, fd: number, statbuf: number): number {
  const ofd = ctx.fds.get(fd);
  return writeStat(ctx, statbuf, statOf(ofd));
}

function newfstatat(ctx: SyscallContext, dirfd: number, pathPtr: number, statbuf: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~(c.AT_SYMLINK_NOFOLLOW | c.AT_EMPTY_PATH | c.AT_NO_AUTOMOUNT)) fail('EINVAL');
  return writeStat(ctx, statbuf, statOf(targetAt(ctx, dirfd, pathPtr, flags)));
}

function stat(ctx: SyscallContext, pathPtr: number, statbuf: number): number {
  return writeStat(ctx, statbuf, statOf(resolveAt(ctx, AT_FDCWD, readPath(ctx, pathPtr), true)));
}

function lstat(ctx: SyscallContext, pathPtr: number, statbuf: number): number {
  return writeStat(ctx, statbuf, statOf(resolveAt(ctx, AT_FDCWD, readPath(ctx, pathPtr), false)));
}

const STATX_BASIC_STATS = 0x7ff;
const STATX_BTIME = 0x800;

/** struct statx (include/uapi/linux/stat.h): 256 bytes, the same on every arch. */
function encodeStatx(st: StatInfo): Uint8Array {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  v.setUint32(0, STATX_BASIC_STATS | STATX_BTIME, true); // stx_mask: what we filled
  v.setUint32(4, st.blksize, true);
  v.setBigUint64(8, 0n, true); // stx_attributes
  v.setUint32(16, st.nlink, true);
  v.setUint32(20, st.uid, true);
  v.setUint32(24, st.gid, true);
  v.setUint16(28, st.mode, true);
  v.setBigUint64(32, BigInt(st.ino), true);
  v.setBigUint64(40, BigInt(st.size), true);
  v.setBigUint64(48, BigInt(st.blocks), true);
  v.setBigUint64(56, 0n, true); // stx_attributes_mask
  const ts = (at: number, ns: bigint): void => {
    v.setBigInt64(at, ns / 1_000_000_000n, true);
    v.setUint32(at + 8, Number(ns % 1_000_000_000n), true);
  };
  ts(64, st.atimeNs);
  ts(80, st.birthtimeNs);
  ts(96, st.ctimeNs);
  ts(112, st.mtimeNs);
  const major = (d: number): number => ((d >>> 8) & 0xfff) | ((d >>> 32) & ~0xfff);
  const minor = (d: number): number => (d & 0xff) | ((d >>> 12) & ~0xff);
  v.setUint32(128, major(st.rdev), true);
  v.setUint32(132, minor(st.rdev), true);
  v.setUint32(136, major(st.dev), true);
  v.setUint32(140, minor(st.dev), true);
  return b;
}

function statx(ctx: SyscallContext, dirfd: number, pathPtr: number, flags: number, mask: number, statxbuf: number): number {
  const c = ctx.arch.c;
  const known = c.AT_SYMLINK_NOFOLLOW | c.AT_EMPTY_PATH | c.AT_NO_AUTOMOUNT | c.AT_STATX_SYNC_TYPE;
  if (flags & ~known || (flags & c.AT_STATX_SYNC_TYPE) === c.AT_STATX_SYNC_TYPE) fail('EINVAL');
  if (mask & 0x8000_0000) fail('EINVAL'); // STATX__RESERVED (see statx(2))
  const st = statOf(targetAt(ctx, dirfd, pathPtr, flags));
  ctx.mem.write(statxbuf, encodeStatx(st));
  return 0;
}

// ---- access, readlink, cwd ---------------------------------------------------------

const W_OK = 2;

/**
 * Permission check as access(2) does it, with the real (or, with AT_EACCESS,
 * effective) ids, by the rules open and exec use (permission.ts).
 */
function checkAccess(ctx: SyscallContext, place: Place, mode: number, effective: boolean): void {
  const st = statOf(place);
  // access(2): W_OK on a read-only mount is EROFS, for files, directories and links only.
  const fileLike = [S_IFREG, S_IFDIR, S_IFLNK].includes(st.mode & S_IFMT);
  if (mode & W_OK && place.fs.readOnly && fileLike && !isStream(place)) fail('EROFS');
  if (mode === 0) return;
  checkPermission(st, identityOf(ctx.proc, !effective), mode);
}

function faccessat2(ctx: SyscallContext, dirfd: number, pathPtr: number, mode: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~(c.AT_EACCESS | c.AT_SYMLINK_NOFOLLOW | c.AT_EMPTY_PATH)) fail('EINVAL');
  // A bad mode is EINVAL before the path is looked at (do_faccessat).
  if (mode & ~7) fail('EINVAL');
  checkAccess(ctx, targetAt(ctx, dirfd, pathPtr, flags), mode, (flags & c.AT_EACCESS) !== 0);
  return 0;
}

function readlinkat(ctx: SyscallContext, dirfd: number, pathPtr: number, buf: number, bufsiz: number): number {
  if ((bufsiz | 0) <= 0) fail('EINVAL');
  const path = readPath(ctx, pathPtr, true);
  let place: Place;
  if (path === '') {
    // An empty path reads the link the dirfd itself refers to (an O_PATH|O_NOFOLLOW
    // fd); any other fd, or the cwd, is ENOENT there (Linux: not EINVAL).
    if (dirfd === AT_FDCWD) fail('ENOENT');
    const ofd = ctx.fds.get(dirfd);
    place = { node: ofd.node, fs: ofd.fs, path: ofd.path };
    if (isStream(place) || (statOf(place).mode & S_IFMT) !== S_IFLNK) fail('ENOENT');
  } else {
    place = resolveAt(ctx, dirfd, path, false);
  }
  if ((statOf(place).mode & S_IFMT) !== S_IFLNK) fail('EINVAL');
  const target = guestBytes(place.fs.readlink(place.node));
  const n = Math.min(target.length, bufsiz);
  ctx.mem.write(buf, target.subarray(0, n));
  return n;
}

/**
 * The raw getcwd syscall returns the length including the NUL (see getcwd(2), NOTES);
 * ENOENT, before ERANGE, when the working directory has been unlinked.
 */
function getcwd(ctx: SyscallContext, buf: number, size: number): number {
  if (!cwdExists(ctx)) fail('ENOENT');
  const cwd = guestBytes(ctx.proc.cwd + '\0');
  if (size < cwd.length) fail('ERANGE');
  ctx.mem.write(buf, cwd);
  return cwd.length;
}

/**
 * Whether a directory is still at the working directory's path. The cwd is
 * kept as a path, so one removed (rmdir, or renamed away) shows as no
 * directory there; getcwd needs no search permission on the way (hence no mayLookup).
 */
function cwdExists(ctx: SyscallContext): boolean {
  try {
    return isDir(ctx.kernel.vfs.resolve(ctx.proc.cwd, { base: '/', follow: true }));
  } catch (e) {
    if (e instanceof LinuxError) return false;
    throw e;
  }
}

/** chdir(2): a directory the caller may search (EACCES). */
function changeDir(ctx: SyscallContext, place: Place): number {
  if (!isDir(place)) fail('ENOTDIR');
  checkPermission(statOf(place), caller(ctx), MAY_EXEC);
  ctx.proc.cwd = place.path;
  return 0;
}

function chdir(ctx: SyscallContext, pathPtr: number): number {
  return changeDir(ctx, resolveAt(ctx, AT_FDCWD, readPath(ctx, pathPtr), true));
}

function fchdir(ctx: SyscallContext, fd: number): number {
  const ofd = ctx.fds.get(fd);
  return changeDir(ctx, { node: ofd.node, fs: ofd.fs, path: ofd.path });
}

// ---- creating, removing, renaming -----------------------------------------------------

function parentAt(ctx: SyscallContext, dirfd: number, pathPtr: number, op: ParentOp) {
  const path = readPath(ctx, pathPtr);
  return ctx.kernel.vfs.resolveParent(path, baseDir(ctx, dirfd, path), op, searchCheck(ctx));
}

/** mkdir(2): the mode gives the permission bits and the sticky bit only (S_IRWXUGO | S_ISVTX), less the umask. */
function mkdirat(ctx: SyscallContext, dirfd: number, pathPtr: number, mode: number): number {
  const p = parentAt(ctx, dirfd, pathPtr, 'mkdir');
  if (childExists(ctx, p)) fail('EEXIST'); // filename_create: an existing name before permissions
  const owner = newOwner(ctx, p);
  p.fs.mkdir(p.dir, p.name, newDirMode(statOf(dirPlace(p)), mode & ~ctx.proc.umask & 0o1777), owner);
  return 0;
}

/** The file types mknod(2) makes (0 is a regular file); S_IFDIR is EPERM, anything else EINVAL (may_mknod). */
const MKNOD_TYPES = new Set([0, S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK]);

/**
 * mknod(2): a regular file, FIFO or socket for anyone; a character or block
 * device only with CAP_MKNOD (euid 0 here), except the 0:0 character device
 * overlayfs uses as a whiteout. No driver backs a device node or socket
 * node made this way: opening one is ENXIO. `dev` is the 32-bit encoding
 * stat reports back in st_rdev.
 */
function mknodat(ctx: SyscallContext, dirfd: number, pathPtr: number, mode: number, dev: number): number {
  const type = mode & S_IFMT;
  if (type === S_IFDIR) fail('EPERM');
  if (!MKNOD_TYPES.has(type)) fail('EINVAL');
  const p = parentAt(ctx, dirfd, pathPtr, 'create');
  // Linux's order: the name taken (EEXIST), a read-only mount (EROFS), the directory's permissions (EACCES), then CAP_MKNOD.
  if (childExists(ctx, p)) fail('EEXIST');
  if (p.fs.readOnly) fail('EROFS');
  const owner = newOwner(ctx, p);
  const device = type === S_IFCHR || type === S_IFBLK;
  const whiteout = type === S_IFCHR && dev === 0;
  if (device && !whiteout && ctx.proc.creds.euid !== 0) fail('EPERM');
  if (!p.fs.mknod) fail('EPERM', `mknod is not supported on ${p.fs.type}`);
  p.fs.mknod(p.dir, p.name, (type || S_IFREG) | (mode & ~ctx.proc.umask & 0o7777), dev >>> 0, owner);
  return 0;
}

/** may_delete() for `name` in the directory of `p`, if that name exists (else the filesystem gives ENOENT). */
function checkRemovable(ctx: SyscallContext, p: { dir: Node; fs: FileSystem; dirPath: string; name: string }): void {
  if (p.fs.readOnly) return; // EROFS comes first, from the filesystem
  const dir = dirPlace(p);
  let victim: Place;
  try {
    victim = ctx.kernel.vfs.child(dir, p.name);
  } catch {
    return;
  }
  checkDelete(statOf(dir), statOf(victim), caller(ctx));
}

function unlinkat(ctx: SyscallContext, dirfd: number, pathPtr: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~c.AT_REMOVEDIR) fail('EINVAL');
  if (flags & c.AT_REMOVEDIR) {
    const p = parentAt(ctx, dirfd, pathPtr, 'rmdir');
    checkRemovable(ctx, p);
    p.fs.rmdir(p.dir, p.name);
  } else {
    const p = parentAt(ctx, dirfd, pathPtr, 'unlink');
    checkRemovable(ctx, p);
    p.fs.unlink(p.dir, p.name);
  }
  return 0;
}

const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const RENAME_WHITEOUT = 4;

function renameat2(ctx: SyscallContext, olddirfd: number, oldPtr: number, newdirfd: number, newPtr: number, flags: number): number {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) fail('EINVAL');
  if (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE) fail('EINVAL');
  if (flags & RENAME_WHITEOUT) fail('EINVAL', 'RENAME_WHITEOUT needs an overlay filesystem');
  const from = parentAt(ctx, olddirfd, oldPtr, 'rename');
  const to = parentAt(ctx, newdirfd, newPtr, flags & RENAME_NOREPLACE ? 'renameNoReplace' : 'rename');
  const vfs = ctx.kernel.vfs;
  if (from.trailingSlash || to.trailingSlash) {
    // A trailing slash is only allowed when the source is a directory (see rename(2), ENOTDIR).
    const source = vfs.child({ node: from.dir, fs: from.fs, path: from.dirPath }, from.name);
    if (!isDir(source)) fail('ENOTDIR');
  }
  if (!vfs.sameFs(from, to)) fail('EXDEV');
  checkRenamable(ctx, from, to);
  from.fs.rename(from.dir, from.name, to.dir, to.name, {
    noReplace: (flags & RENAME_NOREPLACE) !== 0,
    exchange: (flags & RENAME_EXCHANGE) !== 0,
  });
  return 0;
}

/**
 * rename(2)'s permissions (vfs_rename): the source's name may be deleted, the
 * target's name created (or deleted, when it replaces one); a directory that
 * changes parent needs write permission on itself, for its "..".
 */
function checkRenamable(ctx: SyscallContext, from: ResolvedParent, to: ResolvedParent): void {
  const vfs = ctx.kernel.vfs;
  if (from.fs.readOnly) return; // the filesystem gives EROFS
  const source = vfs.child(dirPlace(from), from.name);
  checkRemovable(ctx, from);
  if (childExists(ctx, to)) checkRemovable(ctx, to);
  else checkCreate(statOf(dirPlace(to)), caller(ctx));
  if (isDir(source) && from.dirPath !== to.dirPath) checkPermission(statOf(source), caller(ctx), MAY_WRITE);
}

/** symlink(2): the target is stored as given, never resolved; an empty target is ENOENT. */
function symlinkat(ctx: SyscallContext, targetPtr: number, newdirfd: number, linkPtr: number): number {
  const target = readPath(ctx, targetPtr);
  const p = parentAt(ctx, newdirfd, linkPtr, 'create');
  if (childExists(ctx, p)) fail('EEXIST');
  p.fs.symlink(p.dir, p.name, target, newOwner(ctx, p));
  return 0;
}

/** link(2): hard links stay within one filesystem (EXDEV) and never name directories (EPERM). */
function linkat(ctx: SyscallContext, olddirfd: number, oldPtr: number, newdirfd: number, newPtr: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~(c.AT_SYMLINK_FOLLOW | c.AT_EMPTY_PATH)) fail('EINVAL');
  const source = targetAt(ctx, olddirfd, oldPtr, (flags & c.AT_EMPTY_PATH) | (flags & c.AT_SYMLINK_FOLLOW ? 0 : c.AT_SYMLINK_NOFOLLOW));
  const p = parentAt(ctx, newdirfd, newPtr, 'create');
  // Linux's order: the new name taken (EEXIST), other mounts (EXDEV; a pipe is on none of ours), then directories (EPERM).
  if (isDir(source) && childExists(ctx, p)) fail('EEXIST');
  if (isStream(source) || !ctx.kernel.vfs.sameFs(source, p)) fail('EXDEV');
  if (isDir(source)) fail('EPERM');
  if (!childExists(ctx, p)) newOwner(ctx, p);
  p.fs.link(source.node, p.dir, p.name);
  return 0;
}

function childExists(ctx: SyscallContext, p: { dir: Node; fs: FileSystem; dirPath: string; name: string }): boolean {
  try {
    ctx.kernel.vfs.child({ node: p.dir, fs: p.fs, path: p.dirPath }, p.name);
    return true;
  } catch {
    return false;
  }
}

/**
 * chmod(2): only the permission and set-id bits change; EROFS on a read-only
 * mount, EPERM unless the caller owns the file or is root. A pipe or stdio
 * stream belongs to no filesystem here: nothing to change.
 */
function chmodPlace(ctx: SyscallContext, place: Place, mode: number): number {
  if (isStream(place)) return 0;
  if (place.fs.readOnly) fail('EROFS');
  place.fs.chmod(place.node, chmodMode(statOf(place), caller(ctx), mode));
  return 0;
}

/**
 * chown(2): EROFS on a read-only mount, then EPERM unless permission.ts
 * allows it. The filesystem records the owner (a host file's owner is
 * emulated, never changed on the host) and drops set-id bits as chown(2)
 * says; S_ISGID also goes when the caller is not in the file's group.
 */
function chownPlace(ctx: SyscallContext, place: Place, uid: number, gid: number): number {
  if (isStream(place)) return 0;
  if (place.fs.readOnly) fail('EROFS');
  const before = statOf(place);
  const who = caller(ctx);
  chownOwner(before, who, uid, gid);
  place.fs.chown(place.node, uid, gid);
  const want = modeAfterChown(before.mode, { who, gid: before.gid });
  if ((statOf(place).mode & 0o7777) !== (want & 0o7777)) place.fs.chmod(place.node, want & 0o7777);
  return 0;
}

function fchownat(ctx: SyscallContext, dirfd: number, pathPtr: number, uid: number, gid: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~(c.AT_SYMLINK_NOFOLLOW | c.AT_EMPTY_PATH)) fail('EINVAL');
  return chownPlace(ctx, targetAt(ctx, dirfd, pathPtr, flags), uid, gid);
}

function fchown(ctx: SyscallContext, fd: number, uid: number, gid: number): number {
  const ofd = ctx.fds.get(fd);
  if (ofd.access === 'path') fail('EBADF');
  return chownPlace(ctx, { node: ofd.node, fs: ofd.fs, path: ofd.path }, uid, gid);
}

function fchmodat(ctx: SyscallContext, dirfd: number, pathPtr: number, mode: number, flags: number): number {
  const c = ctx.arch.c;
  // Linux does not support changing a symlink's own mode (see fchmodat(2), AT_SYMLINK_NOFOLLOW).
  if (flags & c.AT_SYMLINK_NOFOLLOW) fail('EOPNOTSUPP');
  if (flags & ~c.AT_EMPTY_PATH) fail('EINVAL');
  return chmodPlace(ctx, targetAt(ctx, dirfd, pathPtr, flags), mode);
}

function fchmod(ctx: SyscallContext, fd: number, mode: number): number {
  const ofd = ctx.fds.get(fd);
  if (ofd.access === 'path') fail('EBADF');
  return chmodPlace(ctx, { node: ofd.node, fs: ofd.fs, path: ofd.path }, mode);
}

const UTIME_NOW = 0x3fff_ffff;
const UTIME_OMIT = 0x3fff_fffe;

/** One timespec of utimensat: a time, UTIME_NOW (now) or UTIME_OMIT (null: leave it). */
function readUtime(ctx: SyscallContext, addr: number, now: bigint): bigint | null {
  const sec = BigInt(ctx.mem.readI64(addr));
  const nsec = ctx.mem.readI64(addr + 8);
  if (nsec === UTIME_OMIT) return null;
  if (nsec === UTIME_NOW) return now;
  if (nsec < 0 || nsec >= 1_000_000_000) fail('EINVAL');
  return sec * 1_000_000_000n + BigInt(nsec);
}

/**
 * utimensat(2): set access and modification times; NULL times means now for
 * both. A NULL path with a dirfd is futimens (the fd's file itself).
 */
function utimensat(ctx: SyscallContext, dirfd: number, pathPtr: number, timesPtr: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~(c.AT_SYMLINK_NOFOLLOW | c.AT_EMPTY_PATH)) fail('EINVAL');
  const now = ctx.kernel.clock.realtimeNs();
  const atime = timesPtr ? readUtime(ctx, timesPtr, now) : now;
  const mtime = timesPtr ? readUtime(ctx, timesPtr + 16, now) : now;
  let place: Place;
  if (pathPtr === 0) {
    if (dirfd === AT_FDCWD) fail('EFAULT');
    const ofd = ctx.fds.get(dirfd);
    place = { node: ofd.node, fs: ofd.fs, path: ofd.path };
  } else {
    place = targetAt(ctx, dirfd, pathPtr, flags);
  }
  if (atime === null && mtime === null) return 0;
  if (place.fs.readOnly) fail('EROFS');
  const nsecs = timesPtr ? [ctx.mem.readI64(timesPtr + 8), ctx.mem.readI64(timesPtr + 24)] : [UTIME_NOW, UTIME_NOW];
  const explicit = nsecs.some((n) => n !== UTIME_NOW && n !== UTIME_OMIT);
  // Only "both now" (or NULL) and explicit times are checked; now plus omit is not (vfs_utimes).
  if (explicit || nsecs.every((n) => n === UTIME_NOW)) checkUtimesOf(ctx, place, explicit);
  // A pipe or stdio stream belongs to no filesystem here: no times to keep (as chmodPlace).
  if (!isStream(place)) place.fs.utimes(place.node, atime, mtime);
  return 0;
}

function checkUtimesOf(ctx: SyscallContext, place: Place, explicit: boolean): void {
  if (!isStream(place)) checkUtimes(statOf(place), caller(ctx), explicit);
}

/** utimes(2), x86-64 only: struct timeval pairs (microseconds), NULL for now. */
function utimes(ctx: SyscallContext, pathPtr: number, timesPtr: number): number {
  const place = resolveAt(ctx, AT_FDCWD, readPath(ctx, pathPtr), true);
  const now = ctx.kernel.clock.realtimeNs();
  const tv = (at: number): bigint => {
    const usec = ctx.mem.readI64(at + 8);
    if (usec < 0 || usec >= 1_000_000) fail('EINVAL');
    return BigInt(ctx.mem.readI64(at)) * 1_000_000_000n + BigInt(usec) * 1000n;
  };
  if (place.fs.readOnly) fail('EROFS');
  checkUtimesOf(ctx, place, timesPtr !== 0);
  if (!isStream(place)) place.fs.utimes(place.node, timesPtr ? tv(timesPtr) : now, timesPtr ? tv(timesPtr + 16) : now);
  return 0;
}

function umask(ctx: SyscallContext, mask: number): number {
  const old = ctx.proc.umask;
  ctx.proc.umask = mask & 0o777;
  return old;
}

const cwdFd = AT_FDCWD;

// ---- socket nodes (bind and connect of AF_UNIX path names, see unix(7)) -------------------------

/**
 * bind(2) of an AF_UNIX socket to `path`: its S_IFSOCK node, made as
 * mknod makes one (0777 less the umask, unix_bind_bsd), EADDRINUSE when the
 * name is taken. Returns where the node is and its inode number.
 */
export function makeSocketNode(ctx: SyscallContext, path: string): { fs: FileSystem; ino: number } {
  const p = ctx.kernel.vfs.resolveParent(path, baseDir(ctx, AT_FDCWD, path), 'create', searchCheck(ctx));
  if (childExists(ctx, p)) fail('EADDRINUSE');
  if (p.fs.readOnly) fail('EROFS');
  const owner = newOwner(ctx, p);
  if (!p.fs.mknod) fail('EPERM', `sockets cannot be bound on ${p.fs.type}`);
  const node = p.fs.mknod(p.dir, p.name, S_IFSOCK | (0o777 & ~ctx.proc.umask), 0, owner);
  return { fs: p.fs, ino: p.fs.stat(node).ino };
}

/**
 * connect(2) or sendto(2) to an AF_UNIX path: the socket node it names
 * (ECONNREFUSED when it is not a socket, EACCES without write permission
 * on it, as unix_find_bsd checks).
 */
export function findSocketNode(ctx: SyscallContext, path: string): { fs: FileSystem; ino: number } {
  const place = resolveAt(ctx, AT_FDCWD, path, true);
  const st = statOf(place);
  if ((st.mode & S_IFMT) !== S_IFSOCK) fail('ECONNREFUSED');
  checkPermission(st, caller(ctx), MAY_WRITE);
  return { fs: place.fs, ino: st.ino };
}

export const fsFamily = family('fs', [
  {
    name: 'openat',
    summary: 'Opens (and with O_CREAT creates) the file at pathname, relative to dirfd when the path is relative, and returns a new descriptor.',
    args: { dirfd: 'dirfd', pathname: 'path', flags: 'open_flags', mode: 'mode' },
    ret: 'fd',
    handler: openFile,
    note: 'O_TMPFILE on tmpfs only; EOPNOTSUPP on host and overlay mounts',
  },
  {
    name: 'open',
    summary: 'Opens (and with O_CREAT creates) the file at pathname, relative to the working directory, and returns a new descriptor.',
    args: { pathname: 'path', flags: 'open_flags', mode: 'mode' },
    ret: 'fd',
    handler: (ctx: SyscallContext, p: number, flags: number, mode: number) => openFile(ctx, cwdFd, p, flags, mode),
  },
  {
    // creat(2) (x86-64 only): open(pathname, O_CREAT|O_WRONLY|O_TRUNC, mode).
    name: 'creat',
    summary: 'Creates a file or truncates it, open for writing: open with O_CREAT|O_WRONLY|O_TRUNC.',
    args: { pathname: 'path', mode: 'mode' },
    ret: 'fd',
    handler: (ctx: SyscallContext, p: number, mode: number) => {
      const c = ctx.arch.c;
      return openFile(ctx, cwdFd, p, c.O_CREAT | c.O_WRONLY | c.O_TRUNC, mode);
    },
  },
  {
    name: 'fstat',
    summary: 'Fills a struct stat with the type, mode, size, owner, times and more of an open file.',
    args: { fd: 'fd', statbuf: 'struct_stat_out' },
    handler: fstat,
  },
  {
    name: 'newfstatat',
    summary: 'stat relative to a directory descriptor, with flags such as AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (fstatat in libc).',
    args: { dirfd: 'dirfd', pathname: 'path', statbuf: 'struct_stat_out', flags: 'at_flags' },
    handler: newfstatat,
  },
  {
    name: 'stat',
    summary: 'Fills a struct stat for the file at pathname, following symbolic links.',
    args: { pathname: 'path', statbuf: 'struct_stat_out' },
    handler: stat,
  },
  {
    name: 'lstat',
    summary: 'Like stat, but describes a symbolic link itself rather than its target.',
    args: { pathname: 'path', statbuf: 'struct_stat_out' },
    handler: lstat,
  },
  {
    name: 'statx',
    summary: 'An extensible stat: returns the fields the mask asks for (and what the filesystem has) in a struct statx, relative to a directory descriptor.',
    args: { dirfd: 'dirfd', pathname: 'path', flags: 'statx_flags', mask: 'statx_mask', statxbuf: 'struct_statx_out' },
    handler: statx,
  },
  {
    name: 'faccessat',
    summary: 'Checks whether the calling process may read, write or execute a file (or whether it exists, F_OK), using the real user and group ids.',
    args: { dirfd: 'dirfd', pathname: 'path', mode: 'access_mode' },
    handler: (ctx: SyscallContext, dirfd: number, p: number, mode: number) => faccessat2(ctx, dirfd, p, mode, 0),
  },
  {
    name: 'faccessat2',
    summary: 'faccessat with flags: AT_EACCESS checks with the effective ids, AT_SYMLINK_NOFOLLOW does not follow a final link.',
    args: { dirfd: 'dirfd', pathname: 'path', mode: 'access_mode', flags: 'faccessat_flags' },
    handler: faccessat2,
  },
  {
    name: 'access',
    summary: 'Checks whether the calling process may read, write or execute the file at pathname, using the real ids.',
    args: { pathname: 'path', mode: 'access_mode' },
    handler: (ctx: SyscallContext, p: number, mode: number) => faccessat2(ctx, cwdFd, p, mode, 0),
  },
  {
    name: 'readlinkat',
    summary: 'Reads the target of a symbolic link into buf, without a terminating NUL, relative to a directory descriptor.',
    args: { dirfd: 'dirfd', pathname: 'path', buf: 'outstr', bufsiz: 'size' },
    ret: 'size',
    handler: readlinkat,
  },
  {
    name: 'readlink',
    summary: 'Reads the target of a symbolic link into buf, without a terminating NUL; returns its length.',
    args: { pathname: 'path', buf: 'outstr', bufsiz: 'size' },
    ret: 'size',
    handler: (ctx: SyscallContext, p: number, buf: number, size: number) => readlinkat(ctx, cwdFd, p, buf, size),
  },
  {
    name: 'getcwd',
    summary: 'Copies the absolute path of the working directory, NUL-terminated, into buf; ERANGE when it does not fit.',
    args: { buf: 'outstr', size: 'size' },
    ret: 'size',
    handler: getcwd,
  },
  {
    name: 'chdir',
    summary: "Changes the process's working directory.",
    args: { path: 'path' },
    handler: chdir,
  },
  {
    name: 'fchdir',
    summary: "Changes the process's working directory to the directory open on a descriptor.",
    args: { fd: 'fd' },
    handler: fchdir,
  },
  {
    name: 'mkdirat',
    summary: 'Creates a directory, relative to a directory descriptor, with mode masked by the umask.',
    args: { dirfd: 'dirfd', pathname: 'path', mode: 'mode' },
    handler: mkdirat,
  },
  {
    name: 'mkdir',
    summary: 'Creates a directory with mode masked by the umask.',
    args: { pathname: 'path', mode: 'mode' },
    handler: (ctx: SyscallContext, p: number, mode: number) => mkdirat(ctx, cwdFd, p, mode),
  },
  {
    name: 'mknodat',
    summary: 'mknod relative to a directory descriptor.',
    args: { dirfd: 'dirfd', pathname: 'path', mode: 'mode', dev: 'uint' },
    handler: mknodat,
    note: 'device and socket nodes open as ENXIO (no drivers); FIFOs on host mounts live in memory only',
  },
  {
    name: 'mknod',
    summary: 'Creates a filesystem node: a regular file, a device special file, a FIFO or a socket.',
    args: { pathname: 'path', mode: 'mode', dev: 'uint' },
    handler: (ctx: SyscallContext, p: number, mode: number, dev: number) => mknodat(ctx, cwdFd, p, mode, dev),
  },
  {
    name: 'unlinkat',
    summary: 'Removes a name from a directory (or, with AT_REMOVEDIR, an empty directory), relative to a directory descriptor.',
    args: { dirfd: 'dirfd', pathname: 'path', flags: 'at_flags' },
    handler: unlinkat,
  },
  {
    name: 'unlink',
    summary: 'Removes a name from the filesystem; the file goes once no name and no open descriptor refer to it.',
    args: { pathname: 'path' },
    handler: (ctx: SyscallContext, p: number) => unlinkat(ctx, cwdFd, p, 0),
  },
  {
    name: 'rmdir',
    summary: 'Removes an empty directory.',
    args: { pathname: 'path' },
    handler: (ctx: SyscallContext, p: number) => unlinkat(ctx, cwdFd, p, ctx.arch.c.AT_REMOVEDIR),
  },
  {
    name: 'symlinkat',
    summary: 'Creates a symbolic link containing target at linkpath, relative to a directory descriptor.',
    args: { target: 'path', newdirfd: 'dirfd', linkpath: 'path' },
    handler: symlinkat,
  },
  {
    name: 'symlink',
    summary: 'Creates a symbolic link named linkpath that contains the text target.',
    args: { target: 'path', linkpath: 'path' },
    handler: (ctx: SyscallContext, t: number, l: number) => symlinkat(ctx, t, cwdFd, l),
  },
  {
    name: 'linkat',
    summary: 'Creates a new name (hard link) for an existing file, both paths relative to directory descriptors.',
    args: { olddirfd: 'dirfd', oldpath: 'path', newdirfd: 'dirfd', newpath: 'path', flags: 'at_flags' },
    handler: linkat,
  },
  {
    name: 'link',
    summary: 'Creates a new name (hard link) for an existing file.',
    args: { oldpath: 'path', newpath: 'path' },
    handler: (ctx: SyscallContext, a: number, b: number) => linkat(ctx, cwdFd, a, cwdFd, b, 0),
  },
  {
    name: 'umask',
    summary: "Sets the process's file mode creation mask and returns the previous one; the call cannot fail.",
    args: { mask: 'mode' },
    ret: 'mode',
    handler: umask,
  },
  {
    name: 'utimensat',
    summary: "Sets a file's access and modification times with nanosecond precision (or to now), relative to a directory descriptor.",
    args: { dirfd: 'dirfd', pathname: 'path', times: 'ptr', flags: 'at_flags' },
    handler: utimensat,
  },
  {
    name: 'utimes',
    summary: "Sets a file's access and modification times with microsecond precision.",
    args: { filename: 'path', times: 'ptr' },
    handler: utimes,
  },
  {
    name: 'fchmodat',
    summary: 'Changes the permission bits of a file, relative to a directory descriptor.',
    args: { dirfd: 'dirfd', pathname: 'path', mode: 'mode' },
    handler: (ctx: SyscallContext, d: number, p: number, m: number) => fchmodat(ctx, d, p, m, 0),
  },
  {
    name: 'chmod',
    summary: 'Changes the permission bits of the file at pathname.',
    args: { pathname: 'path', mode: 'mode' },
    handler: (ctx: SyscallContext, p: number, m: number) => fchmodat(ctx, cwdFd, p, m, 0),
  },
  {
    name: 'fchmod',
    summary: 'Changes the permission bits of an open file.',
    args: { fd: 'fd', mode: 'mode' },
    handler: fchmod,
  },
  {
    name: 'fchownat',
    summary: 'Changes the owner and group of a file relative to a directory descriptor.',
    args: { dirfd: 'dirfd', pathname: 'path', owner: 'uint', group: 'uint', flags: 'at_flags' },
    handler: fchownat,
    note: 'owners are emulated: a host file keeps its owner on the host',
  },
  {
    name: 'chown',
    summary: 'Changes the owner and group of the file at pathname, following symbolic links.',
    args: { pathname: 'path', owner: 'uint', group: 'uint' },
    handler: (ctx: SyscallContext, p: number, u: number, g: number) => fchownat(ctx, cwdFd, p, u, g, 0),
  },
  {
    name: 'lchown',
    summary: 'Changes the owner and group of a symbolic link itself.',
    args: { pathname: 'path', owner: 'uint', group: 'uint' },
    handler: (ctx: SyscallContext, p: number, u: number, g: number) => fchownat(ctx, cwdFd, p, u, g, ctx.arch.c.AT_SYMLINK_NOFOLLOW),
  },
  {
    name: 'fchown',
    summary: 'Changes the owner and group of an open file.',
    args: { fd: 'fd', owner: 'uint', group: 'uint' },
    handler: fchown,
  },
  {
    name: 'renameat2',
    summary: 'Renames a file, both paths relative to directory descriptors; RENAME_NOREPLACE refuses to overwrite, RENAME_EXCHANGE swaps the two.',
    args: { olddirfd: 'dirfd', oldpath: 'path', newdirfd: 'dirfd', newpath: 'path', flags: 'rename_flags' },
    handler: renameat2,
    note: 'RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT gives EINVAL',
  },
  {
    name: 'renameat',
    summary: 'Renames a file, replacing the target atomically, with both paths relative to directory descriptors.',
    args: { olddirfd: 'dirfd', oldpath: 'path', newdirfd: 'dirfd', newpath: 'path' },
    handler: (ctx: SyscallContext, a: number, b: number, c: number, d: number) => renameat2(ctx, a, b, c, d, 0),
  },
  {
    name: 'rename',
    summary: 'Renames a file, atomically replacing an existing target.',
    args: { oldpath: 'path', newpath: 'path' },
    handler: (ctx: SyscallContext, a: number, b: number) => renameat2(ctx, cwdFd, a, cwdFd, b, 0),
  },
]);
