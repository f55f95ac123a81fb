// Files with no inode of their own: eventfd, timerfd and epoll live on
// Linux's anon_inode filesystem. fstat shows one shared inode, mode 0600
// with no file type bits; /proc/self/fd shows "anon_inode:[eventfd]".
import { OpenFileDescription } from './fdtable.ts';
import { StreamNode } from './stdio.ts';
import type { FileSystem, Node, OpenFile, StatInfo } from './vfs/types.ts';

/** st_dev and st_ino of the anon_inode filesystem's one inode (0:15 and 1 on a typical boot). */
const ANON_DEV = 0xf;
const ANON_INO = 1;

/** The stat of a file on one of the kernel's pseudo filesystems (pipefs, anon_inodefs): empty, its times now. */
export function pseudoStat(dev: number, ino: number, mode: number, uid: number, gid: number): StatInfo {
  const now = BigInt(Date.now()) * 1_000_000n;
  return { dev, ino, mode, nlink: 1, uid, gid, rdev: 0, size: 0, blksize: 4096, blocks: 0, atimeNs: now, mtimeNs: now, ctimeNs: now, birthtimeNs: now };
}

/** Owned by root: the inode is made once at boot. */
const anonInodeStat = (): StatInfo => pseudoStat(ANON_DEV, ANON_INO, 0o600, 0, 0);

/**
 * A new open file description for an anon-inode file made by `make`, open
 * for reading and writing (as anon_inode_getfd opens them) with `statusFlags`
 * (O_NONBLOCK, in the arch's bits) besides the access mode `O_RDWR`.
 */
export function openAnonInode(fs: FileSystem, name: string, make: (node: Node) => OpenFile, O_RDWR: number, statusFlags: number): OpenFileDescription {
  const node = new StreamNode(fs, anonInodeStat, `anon_inode:[${name}]`);
  const file = make(node);
  node.file = file;
  return new OpenFileDescription(file, node, fs, node.label, 'rw', O_RDWR | statusFlags, false);
}
