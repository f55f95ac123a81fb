// The host layer's contract (see index.ts): the HostAccess interface both
// layers implement, the error they throw, and the observer tests hook.
import * as os from 'node:os';
import type { StatInfo } from '../kernel/vfs/types.ts';

/** An open O_PATH descriptor (handles) or an absolute host path (paths). Opaque outside this layer. */
export type HostHandle = number | string;

/** What lstat(2) says of a host object: the kernel's StatInfo, with the host's 64-bit device and inode numbers. */
export type HostStat = Omit<StatInfo, 'dev' | 'ino'> & { dev: bigint; ino: bigint };

/** A directory entry as the host lists it ("." and ".." left out). */
export interface HostDirEntry {
  /** The name's bytes, exactly (it may not be UTF-8). */
  name: Buffer;
  ino: bigint;
  /** DT_* (see getdents(2)); DT_UNKNOWN (0) when the host's filesystem does not say. */
  type: number;
}

export interface HostStatFs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/**
 * Host file access. `dir` is always a directory handle and `name` one
 * component of it (never "", ".", ".." or containing "/"), except where ''
 * is allowed: then the call is about the handle's own object. No call
 * follows a symlink in its last component. Errors are HostErrors.
 */
export interface HostAccess {
  readonly kind: 'handles' | 'paths';
  /** Why this kind was chosen (for --version style reports and tests). */
  readonly why: string;
  /** A handle can come to name another object (a path): the user must re-check identity before each use. */
  readonly handlesMayMove: boolean;
  /** The exposed directory itself, following symlinks in `hostPath` (the user gave it, once, at mount time). */
  openRoot(hostPath: string): HostHandle;
  /** A handle on `name` in `dir`, not following it if it is a symlink. */
  openHandle(dir: HostHandle, name: string): HostHandle;
  closeHandle(h: HostHandle): void;
  /** lstat of `name` in `dir` ('' : the handle's own object); null when there is no such name. */
  statAt(dir: HostHandle, name: string): HostStat | null;
  /** fstat of an fd openAt returned. */
  statFd(fd: number): HostStat;
  readlinkAt(dir: HostHandle, name: string): Buffer;
  /** Entries in the host's own order (getdents order, as native `ls -f` shows them). */
  readdir(dir: HostHandle): HostDirEntry[];
  /**
   * open(2) of `name` in `dir` ('' : the handle's own object) with the host's
   * O_* `flags` (node:fs's constants); O_NOFOLLOW is implied. Returns a real
   * fd, for node:fs's fd calls (read, write, fstat, ftruncate, fchmod, fsync, close).
   */
  openAt(dir: HostHandle, name: string, flags: number, mode?: number): number;
  mkdirAt(dir: HostHandle, name: string, mode: number): void;
  symlinkAt(target: string, dir: HostHandle, name: string): void;
  /** A new name `toName` in `toDir` for the handle's own object (a symlink stays a symlink). */
  link(h: HostHandle, toDir: HostHandle, toName: string): void;
  /** unlink(2), or rmdir(2) with `dir` true. */
  unlinkAt(dir: HostHandle, name: string, isDir: boolean): void;
  /** rename(2); with noReplace, EEXIST rather than replace (where the host can say so atomically). */
  renameAt(fromDir: HostHandle, fromName: string, toDir: HostHandle, toName: string, noReplace: boolean): void;
  /** chmod(2) of the handle's own object (never a symlink's target). */
  chmod(h: HostHandle, mode: number): void;
  /** utimensat(2) of the handle's own object (a symlink's own times); null leaves a time as it is. */
  utimes(h: HostHandle, atimeNs: bigint | null, mtimeNs: bigint | null): void;
  statfs(h: HostHandle): HostStatFs;
}

/** A failed host call, shaped as node:fs errors are (`code` is the errno name), so fromHostError maps both. */
export class HostError extends Error {
  constructor(
    readonly code: string,
    readonly syscall: string,
  ) {
    super(`${code}: ${syscall}`);
  }
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** A HostError for host errno `errno`. */
export function hostError(errno: number, syscall: string): HostError {
  return new HostError(ERRNO_NAMES.get(errno) ?? 'EIO', syscall);
}

// ---- observing host calls (tests) ------------------------------------------------

/** One host call about `name` in directory `dir` ('' : the handle's own object). */
export interface HostCall {
  op: string;
  dir: HostHandle;
  name: string;
}

let observer: ((call: HostCall) => void) | null = null;

/**
 * Have `fn` told of every host call before it is made (null: stop). Tests
 * use it to check that no call lands outside a mount (test/helpers/host-watch.ts).
 */
export function observeHostCalls(fn: ((call: HostCall) => void) | null): void {
  observer = fn;
}

/** Called by the layers before each call. */
export function observe(op: string, dir: HostHandle, name: string): void {
  observer?.({ op, dir, name });
}
