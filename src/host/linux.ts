// Host access by handle on Linux (see index.ts): glibc's *at calls, through
// koffi, on O_PATH descriptors. Needs glibc >= 2.30 (statx 2.28, renameat2
// 2.28, getdents64 2.30) and /proc (for calls on a descriptor's own object).
//
// What each call relies on (man pages of Linux 6.x):
//   - openat(dir, name, O_PATH|O_NOFOLLOW): a descriptor naming the object
//     itself; a symlink is opened as the link, never followed (open(2), O_PATH).
//   - statx(dir, name, AT_SYMLINK_NOFOLLOW) and statx(fd, "", AT_EMPTY_PATH):
//     never follow (statx(2)); the layout of struct statx is the same on
//     every arch.
//   - readlinkat(fd, "") reads the link an O_PATH descriptor holds (since 2.6.39).
//   - /proc/self/fd/N is a "magic link": the path walk jumps to the open
//     object itself and stops there, even when that object is a symlink
//     (proc(5)). So open, chmod, utimensat and linkat(AT_SYMLINK_FOLLOW) of
//     it act on exactly what the descriptor holds, wherever it has been
//     renamed to; glibc's own fchmodat(AT_SYMLINK_NOFOLLOW) works this way.
//   - unlinkat, renameat2, mkdirat, symlinkat act on a name in a directory
//     descriptor; they never follow the last component.
//
// O_PATH, O_CLOEXEC and the AT_* values are the same on x86-64 and arm64
// (asm-generic); O_NOFOLLOW and O_DIRECTORY differ between the two, so
// those come from node:fs. struct statfs is laid out as on every 64-bit
// generic arch; other host arches fall back to checked paths.
import * as fs from 'node:fs';
import koffi from 'koffi';
import { hostError, observe, type HostAccess, type HostDirEntry, type HostHandle, type HostStat, type HostStatFs } from './access.ts';

const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW;
const O_DIRECTORY = fs.constants.O_DIRECTORY;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_REMOVEDIR = 0x200;
const AT_SYMLINK_FOLLOW = 0x400;
const AT_EMPTY_PATH = 0x1000;
const RENAME_NOREPLACE = 1;
const UTIME_OMIT = (1 << 30) - 2;
/** STATX_BASIC_STATS | STATX_BTIME */
const STATX_MASK = 0xfff;
const ENOENT = 2;
const EINVAL = 22;

type Fn = (...args: unknown[]) => number;

interface Libc {
  openat: Fn;
  close: Fn;
  statx: Fn;
  readlinkat: Fn;
  unlinkat: Fn;
  renameat2: Fn;
  mkdirat: Fn;
  symlinkat: Fn;
  linkat: Fn;
  chmod: Fn;
  utimensat: Fn;
  getdents64: Fn;
  fstatfs: Fn;
}

function bindLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  const f = (proto: string): Fn => lib.func(proto) as Fn;
  return {
    // openat is variadic in C; passing the mode as a fourth fixed argument is
    // the same call on the x86-64 and arm64 Linux ABIs.
    openat: f('int openat(int dirfd, const char *path, int flags, uint32_t mode)'),
    close: f('int close(int fd)'),
    statx: f('int statx(int dirfd, const char *path, int flags, uint32_t mask, void *buf)'),
    readlinkat: f('long readlinkat(int dirfd, const char *path, void *buf, size_t size)'),
    unlinkat: f('int unlinkat(int dirfd, const char *path, int flags)'),
    renameat2: f('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, uint32_t flags)'),
    mkdirat: f('int mkdirat(int dirfd, const char *path, uint32_t mode)'),
    symlinkat: f('int symlinkat(const char *target, int dirfd, const char *path)'),
    linkat: f('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)'),
    chmod: f('int chmod(const char *path, uint32_t mode)'),
    utimensat: f('int utimensat(int dirfd, const char *path, void *times, int flags)'),
    getdents64: f('long getdents64(int fd, void *buf, size_t size)'),
    fstatfs: f('int fstatfs(int fd, void *buf)'),
  };
}

/** The path that reaches what descriptor `fd` holds (see the header). */
function magicLink(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

function fdOf(h: HostHandle): number {
  if (typeof h !== 'number') throw new TypeError(`host handle is not a descriptor: ${String(h)}`);
  return h;
}

// Scratch buffers: every call is synchronous, and results are decoded before the next.
const statxBuf = Buffer.alloc(256);
const linkBuf = Buffer.alloc(4096);
const direntBuf = Buffer.alloc(64 << 10);
const statfsBuf = Buffer.alloc(120);
const timesBuf = Buffer.alloc(32);

class LinuxHandles implements HostAccess {
  readonly kind = 'handles';
  readonly why = 'Linux: O_PATH descriptors and *at calls';
  readonly handlesMayMove = false;

  constructor(private readonly c: Libc) {}

  /** The result, or a HostError with the call's errno. */
  private check(r: number, syscall: string): number {
    if (r < 0) throw hostError(koffi.errno(), syscall);
    return r;
  }

  openRoot(hostPath: string): number {
    observe('openRoot', hostPath, '');
    return this.check(this.c.openat(AT_FDCWD, hostPath, O_PATH | O_DIRECTORY | O_CLOEXEC, 0), 'openat');
  }

  openHandle(dir: HostHandle, name: string): number {
    observe('openHandle', dir, name);
    return this.check(this.c.openat(fdOf(dir), name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0), 'openat');
  }

  closeHandle(h: HostHandle): void {
    this.c.close(fdOf(h));
  }

  statAt(dir: HostHandle, name: string): HostStat | null {
    observe('statAt', dir, name);
    const r = this.c.statx(fdOf(dir), name, AT_SYMLINK_NOFOLLOW | (name === '' ? AT_EMPTY_PATH : 0), STATX_MASK, statxBuf);
    if (r < 0) {
      const errno = koffi.errno();
      if (errno === ENOENT) return null;
      throw hostError(errno, 'statx');
    }
    return decodeStatx(statxBuf);
  }

  statFd(fd: number): HostStat {
    this.check(this.c.statx(fd, '', AT_EMPTY_PATH, STATX_MASK, statxBuf), 'statx');
    return decodeStatx(statxBuf);
  }

  readlinkAt(dir: HostHandle, name: string): Buffer {
    observe('readlinkAt', dir, name);
    const n = this.check(this.c.readlinkat(fdOf(dir), name, linkBuf, linkBuf.length), 'readlinkat');
    return Buffer.from(linkBuf.subarray(0, n));
  }

  readdir(dir: HostHandle): HostDirEntry[] {
    observe('readdir', dir, '');
    const fd = this.check(this.c.openat(fdOf(dir), '.', fs.constants.O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), 'openat');
    try {
      const out: HostDirEntry[] = [];
      for (let n; (n = this.check(this.c.getdents64(fd, direntBuf, direntBuf.length), 'getdents64')) > 0; ) parseDirents(direntBuf, n, out);
      return out;
    } finally {
      this.c.close(fd);
    }
  }

  openAt(dir: HostHandle, name: string, flags: number, mode = 0): number {
    observe('openAt', dir, name);
    // O_NOFOLLOW on the magic link itself would be ELOOP; what it leads to is never followed further.
    if (name === '') return this.check(this.c.openat(AT_FDCWD, magicLink(fdOf(dir)), flags | O_CLOEXEC, mode), 'open');
    return this.check(this.c.openat(fdOf(dir), name, flags | O_NOFOLLOW | O_CLOEXEC, mode), 'openat');
  }

  mkdirAt(dir: HostHandle, name: string, mode: number): void {
    observe('mkdirAt', dir, name);
    this.check(this.c.mkdirat(fdOf(dir), name, mode), 'mkdirat');
  }

  symlinkAt(target: string, dir: HostHandle, name: string): void {
    observe('symlinkAt', dir, name);
    this.check(this.c.symlinkat(target, fdOf(dir), name), 'symlinkat');
  }

  link(h: HostHandle, toDir: HostHandle, toName: string): void {
    observe('link', h, '');
    observe('link', toDir, toName);
    this.check(this.c.linkat(AT_FDCWD, magicLink(fdOf(h)), fdOf(toDir), toName, AT_SYMLINK_FOLLOW), 'linkat');
  }

  unlinkAt(dir: HostHandle, name: string, isDir: boolean): void {
    observe('unlinkAt', dir, name);
    this.check(this.c.unlinkat(fdOf(dir), name, isDir ? AT_REMOVEDIR : 0), 'unlinkat');
  }

  renameAt(fromDir: HostHandle, fromName: string, toDir: HostHandle, toName: string, noReplace: boolean): void {
    observe('renameAt', fromDir, fromName);
    observe('renameAt', toDir, toName);
    const rename = (flags: number): number => this.c.renameat2(fdOf(fromDir), fromName, fdOf(toDir), toName, flags);
    if (rename(noReplace ? RENAME_NOREPLACE : 0) >= 0) return;
    const errno = koffi.errno();
    // A filesystem without RENAME_NOREPLACE says EINVAL; the caller checked the name was free.
    if (noReplace && errno === EINVAL) return void this.check(rename(0), 'renameat2');
    throw hostError(errno, 'renameat2');
  }

  chmod(h: HostHandle, mode: number): void {
    observe('chmod', h, '');
    this.check(this.c.chmod(magicLink(fdOf(h)), mode), 'chmod');
  }

  utimes(h: HostHandle, atimeNs: bigint | null, mtimeNs: bigint | null): void {
    observe('utimes', h, '');
    putTimespec(timesBuf, 0, atimeNs);
    putTimespec(timesBuf, 16, mtimeNs);
    this.check(this.c.utimensat(AT_FDCWD, magicLink(fdOf(h)), timesBuf, 0), 'utimensat');
  }

  statfs(h: HostHandle): HostStatFs {
    observe('statfs', h, '');
    this.check(this.c.fstatfs(fdOf(h), statfsBuf), 'fstatfs');
    const field = (i: number): number => Number(statfsBuf.readBigUInt64LE(i * 8));
    return { type: field(0), bsize: field(1), blocks: field(2), bfree: field(3), bavail: field(4), files: field(5), ffree: field(6) };
  }
}

/** glibc's makedev(3): how node:fs (libuv) reports st_dev and st_rdev from statx's major and minor. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** struct statx (linux/stat.h), the same on every arch. */
function decodeStatx(b: Buffer): HostStat {
  const time = (at: number): bigint => b.readBigInt64LE(at) * 1_000_000_000n + BigInt(b.readUInt32LE(at + 8));
  return {
    dev: makedev(b.readUInt32LE(136), b.readUInt32LE(140)),
    ino: b.readBigUInt64LE(32),
    mode: b.readUInt16LE(28),
    nlink: b.readUInt32LE(16),
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    rdev: Number(makedev(b.readUInt32LE(128), b.readUInt32LE(132))),
    size: Number(b.readBigUInt64LE(40)),
    blksize: b.readUInt32LE(4),
    blocks: Number(b.readBigUInt64LE(48)),
    atimeNs: time(64),
    birthtimeNs: time(80),
    ctimeNs: time(96),
    mtimeNs: time(112),
  };
}

/** struct linux_dirent64 records (getdents64(2)): ino, off, reclen, type, NUL-terminated name. */
function parseDirents(b: Buffer, length: number, out: HostDirEntry[]): void {
  for (let at = 0; at < length; ) {
    const reclen = b.readUInt16LE(at + 16);
    const nameStart = at + 19;
    const name = Buffer.from(b.subarray(nameStart, b.indexOf(0, nameStart)));
    const isDotOrDotDot = name.length <= 2 && name.every((c) => c === 0x2e);
    if (!isDotOrDotDot) out.push({ name, ino: b.readBigUInt64LE(at), type: b[at + 18]! });
    at += reclen;
  }
}

/** A struct timespec for utimensat(2); null is UTIME_OMIT. */
function putTimespec(b: Buffer, at: number, ns: bigint | null): void {
  if (ns === null) {
    b.writeBigInt64LE(0n, at);
    b.writeBigInt64LE(BigInt(UTIME_OMIT), at + 8);
    return;
  }
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  b.writeBigInt64LE(sec, at);
  b.writeBigInt64LE(nsec, at + 8);
}

/**
 * The handle layer, or why this host cannot have it: not Linux, another
 * arch, no glibc with these calls, or no /proc/self/fd leading to the open
 * object itself.
 */
export function linuxHandles(): HostAccess | string {
  if (process.platform !== 'linux') return `${process.platform} host: no O_PATH handles`;
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `no handle layer for ${process.arch} hosts (its struct layouts are checked for x64 and arm64 only)`;
  let c: Libc;
  try {
    c = bindLibc();
  } catch (e) {
    return `glibc's *at calls could not be loaded (${(e as Error).message})`;
  }
  const layer = new LinuxHandles(c);
  try {
    const root = layer.openRoot('/');
    try {
      const held = layer.statAt(root, '')!;
      const viaProc = fs.statSync(magicLink(root), { bigint: true });
      if (held.ino !== viaProc.ino || held.dev !== viaProc.dev) return '/proc/self/fd does not lead to the open object';
    } finally {
      layer.closeHandle(root);
    }
  } catch (e) {
    return `/proc/self/fd is not usable (${(e as Error).message})`;
  }
  return layer;
}
