// The virtual filesystem's contracts. A FileSystem stores nodes (inodes);
// the Vfs (vfs.ts) joins filesystems into one guest namespace through mounts
// and resolves guest paths; an OpenFile is what an fd refers to (Linux's
// "open file description", see open(2)).
//
// Guest paths are POSIX strings. Host paths never leave the filesystem that
// maps them (hostfs.ts), so nothing above this layer can name a host file.
import type { Waitable } from '../wait.ts';

/** File type bits of st_mode (see inode(7)). */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** d_type values for getdents64 (see getdents(2)). */
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;

export function dtypeOfMode(mode: number): number {
  return (mode & S_IFMT) >> 12;
}

/** What stat(2) and statx(2) report; times in nanoseconds since the epoch. */
export interface StatInfo {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
}

export interface DirEntry {
  name: string;
  ino: number;
  /** DT_* */
  type: number;
}

/** An inode in some filesystem. Filesystems extend it with their own fields. */
export interface Node {
  readonly fs: FileSystem;
  /**
   * S_IFMT bits, when the filesystem knows them without a stat (an inode's
   * type never changes). Lets the Vfs walk paths without a stat per component.
   */
  readonly fileType?: number;
  /**
   * A "magic link" (/proc/self/fd/N, /proc/self/cwd): following it moves the
   * walk straight to the returned place instead of reading link text (Linux's
   * nd_jump_link). The Vfs calls it wherever it would follow a symlink.
   */
  jump?(): { node: Node; fs: FileSystem; path: string };
  /**
   * An open file description holds this node from now until unpin
   * (fdtable.ts). A host node keeps its host handle open meanwhile, so the
   * description follows its object across renames (see hostfs.ts).
   */
  pin?(): void;
  unpin?(): void;
}

/** Who owns a node: the ids stat reports. */
export interface Owner {
  uid: number;
  gid: number;
}

/** Flags the VFS passes to FileSystem.open (already decoded from the arch's O_* bits). */
export interface OpenIntent {
  read: boolean;
  write: boolean;
  append: boolean;
  truncate: boolean;
  nonblock: boolean;
}

export interface FileSystem {
  /** Shown in /proc/self/mounts, e.g. "hostfs", "tmpfs", "devtmpfs", "proc". */
  readonly type: string;
  readonly readOnly: boolean;
  /** st_dev for every node of this filesystem. */
  readonly dev: number;
  root(): Node;
  /** ENOENT if absent, ENOTDIR if dir is not a directory. Never follows symlinks. */
  lookup(dir: Node, name: string): Node;
  stat(node: Node): StatInfo;
  /** EINVAL if not a symlink. */
  readlink(node: Node): string;
  /** Entries other than "." and "..", in a stable order. */
  readdir(dir: Node): DirEntry[];
  open(node: Node, intent: OpenIntent): OpenFile;
  /**
   * Create a regular file (EEXIST if present). `owner` is the creating
   * process's (permission.ts ownerOfNew); without it the filesystem's default.
   */
  create(dir: Node, name: string, mode: number, owner?: Owner): Node;
  mkdir(dir: Node, name: string, mode: number, owner?: Owner): Node;
  mknod?(dir: Node, name: string, mode: number, rdev: number, owner?: Owner): Node;
  symlink(dir: Node, name: string, target: string, owner?: Owner): Node;
  /**
   * open(2) O_TMPFILE: a regular file with no name in `dir`. `linkable`
   * (no O_EXCL) lets linkat give it one. Filesystems without it: EOPNOTSUPP.
   */
  tmpfile?(dir: Node, mode: number, owner: Owner, linkable: boolean): Node;
  link(target: Node, dir: Node, name: string): void;
  /** Remove a non-directory (EISDIR for a directory). */
  unlink(dir: Node, name: string): void;
  /** Remove an empty directory (ENOTEMPTY, ENOTDIR). */
  rmdir(dir: Node, name: string): void;
  /** rename(2) within this filesystem; the Vfs returns EXDEV across filesystems. */
  rename(fromDir: Node, fromName: string, toDir: Node, toName: string, flags: { noReplace: boolean; exchange: boolean }): void;
  truncate(node: Node, length: number): void;
  chmod(node: Node, mode: number): void;
  /**
   * Set the owner ((uid_t)-1 leaves an id as it is) and, for a non-directory,
   * drop S_ISUID, and S_ISGID when group-executable, as chown(2) says. Who
   * may do it is the caller's business (permission.ts); never the host's.
   */
  chown(node: Node, uid: number, gid: number): void;
  /** null leaves that time unchanged. */
  utimes(node: Node, atimeNs: bigint | null, mtimeNs: bigint | null): void;
  statfs?(): { type: number; bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number; namelen: number };
  /**
   * The run is over: let go of what the filesystem holds of the host and can
   * take again when asked (hostfs: every handle but its root's, which it
   * keeps for a later look such as --diff).
   */
  release?(): void;
}

/**
 * An open file description. Positioned I/O takes an explicit position; the
 * fd layer keeps the shared offset and passes it in (so pread/pwrite and
 * read/write share one code path). Streams (ttys, pipes, /dev/zero) ignore
 * `position`.
 */
export interface OpenFile {
  readonly node: Node;
  /** False for ttys, pipes and character devices: lseek gives ESPIPE. */
  readonly seekable: boolean;
  read(buf: Uint8Array, position: number): number;
  write(buf: Uint8Array, position: number): number;
  /** Current size, for lseek(SEEK_END) and O_APPEND. */
  size(): number;
  close(): void;
  /** Host fd if this file is a host terminal or host stream (for isatty/TCGETS/TIOCGWINSZ). */
  hostFd?: number;
  /** For ttys: window size, if the host knows it. */
  isTty?: boolean;
  sync?(): void;
  /** ftruncate(2) through this open file (its write access counts, not the file's mode); without it, FileSystem.truncate. */
  truncate?(length: number): void;
  /**
   * For poll, select and epoll (readiness.ts): the POLL* bits that hold now
   * among `events` (POLLERR and POLLHUP unasked), pushing the Waitables that
   * fire when that may change. Without it a file is always ready and an
   * epoll refuses it (EPERM), as a regular file.
   */
  poll?(events: number, waits: Waitable[]): number;
}
