// An in-memory filesystem: the guest's rootfs, a private /tmp (tmpfs), and
// the base of devfs. Every node lives in this process; nothing here touches
// the host.
//
// Names are guest byte strings (one char per byte, as Memory.readCString
// decodes them); MemFs stores them as given.
//
// With a budget (the run's --memory-limit), every inode and every byte of
// file data is charged to it, as a tmpfs mounted with size= counts its
// pages: past it, creating a node or growing a file fails with ENOSPC. A
// node gives its memory back when no name and no open file holds it.
import { fail } from '../errors.ts';
import { allocateBytes, type MemoryBudget } from '../memory.ts';
import { KEEP_ID, modeAfterChown } from './permission.ts';
import type { DirEntry, FileSystem, Node, OpenFile, OpenIntent, Owner, StatInfo } from './types.ts';
import { S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, dtypeOfMode } from './types.ts';

export interface MemFsOptions {
  /** Shown in /proc/self/mounts; "tmpfs" unless given. */
  type?: string;
  dev: number;
  readOnly?: boolean;
  /** Clock for timestamps, nanoseconds since the epoch. */
  now?: () => bigint;
  /** Owner of the root and of nodes made without an explicit owner (set-up code). */
  uid?: number;
  gid?: number;
  /** Mode of the root directory: 01777 for a tmpfs (as Linux mounts one), 0755 otherwise. */
  rootMode?: number;
  /**
   * Opens FIFOs and device nodes made with mknod(2) that have no built-in
   * opener. Without it they give ENXIO, as Linux does for a device with no driver.
   */
  openSpecial?: (node: MemNode, intent: OpenIntent) => OpenFile;
  /** The run's memory, which every inode and data byte is charged to. */
  budget?: MemoryBudget | null;
  /**
   * What a write past the budget gets: ENOSPC, as a tmpfs mounted with
   * size= says (the default), or ENOMEM, as memfds (whose internal mount
   * has no size) get from the memory cgroup.
   */
  full?: 'ENOSPC' | 'ENOMEM';
}

/** Opens a device node (see MemFs.addCharDevice). */
export type DeviceOpener = (node: MemNode, intent: OpenIntent) => OpenFile;

const NAME_MAX = 255;
const SYMLINK_MAX = 4095;
/** Files grow in one Uint8Array; past this size writes give EFBIG. */
export const MEMFS_MAX_FILE_SIZE = 2 ** 31 - 1;
/**
 * What an inode costs the budget besides its data: the node, its directory
 * entry and name, its times (an estimate of the JavaScript objects), so
 * that a guest making millions of empty files meets the limit too.
 */
export const INODE_BYTES = 1024;
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export function defaultClock(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** An inode of a MemFs. One class for every type; the unused fields stay empty. */
export class MemNode implements Node {
  nlink: number;
  uid: number;
  gid: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  readonly birthtimeNs: bigint;
  rdev = 0;
  /** Regular file bytes; only [0, size) is meaningful, the rest stays zero. */
  data: Uint8Array = EMPTY;
  size = 0;
  /** Synthetic content made at each open (addFile with a function). */
  generator?: () => Uint8Array;
  /** Directory entries in insertion order (readdir's stable order). */
  entries?: Map<string, MemNode>;
  /** For directories: the directory holding this one (the root holds itself). */
  parent?: MemNode;
  target?: string;
  opener?: DeviceOpener;
  /** An O_TMPFILE file opened without O_EXCL: linkat may give it a name although nlink is 0. */
  linkable = false;
  /** Open files of this node (MemFile): it lives while one does, named or not. */
  opens = 0;
  /** A file in no directory that still shows one link (a memfd): it lives while it is open. */
  anonymous = false;
  /** Its memory went back to the budget (it is named and open nowhere). */
  released = false;

  constructor(
    readonly fs: MemFs,
    readonly ino: number,
    public mode: number,
    now: bigint,
  ) {
    this.uid = fs.uid;
    this.gid = fs.gid;
    this.atimeNs = this.mtimeNs = this.ctimeNs = this.birthtimeNs = now;
    this.nlink = this.isDir ? 2 : 1;
    if (this.isDir) this.entries = new Map();
  }

  get fileType(): number {
    return this.mode & S_IFMT;
  }
  get isDir(): boolean {
    return this.fileType === S_IFDIR;
  }
  get isRegular(): boolean {
    return this.fileType === S_IFREG;
  }
  get isSymlink(): boolean {
    return this.fileType === S_IFLNK;
  }
}

const EMPTY = new Uint8Array(0);

export class MemFs implements FileSystem {
  readonly type: string;
  readonly dev: number;
  readonly readOnly: boolean;
  readonly uid: number;
  readonly gid: number;
  readonly now: () => bigint;
  private nextIno = 1;
  private readonly rootNode: MemNode;
  private readonly openSpecial?: (node: MemNode, intent: OpenIntent) => OpenFile;
  private readonly budget: MemoryBudget | null;
  private readonly full: 'ENOSPC' | 'ENOMEM';

  constructor(opts: MemFsOptions) {
    this.budget = opts.budget ?? null;
    this.full = opts.full ?? 'ENOSPC';
    this.type = opts.type ?? 'tmpfs';
    this.dev = opts.dev;
    this.readOnly = opts.readOnly ?? false;
    this.now = opts.now ?? defaultClock;
    this.uid = opts.uid ?? 0;
    this.gid = opts.gid ?? 0;
    this.openSpecial = opts.openSpecial;
    this.rootNode = this.newNode(S_IFDIR | (opts.rootMode ?? (this.type === 'tmpfs' ? 0o1777 : 0o755)));
    this.rootNode.parent = this.rootNode;
  }

  root(): MemNode {
    return this.rootNode;
  }

  // ---- lookups -----------------------------------------------------------

  lookup(dir: Node, name: string): MemNode {
    const d = this.dirOf(dir);
    if (name === '.' || name === '..') fail('EINVAL', 'the Vfs resolves "." and ".."');
    const child = d.entries!.get(name);
    if (!child) fail('ENOENT');
    return child;
  }

  stat(node: Node): StatInfo {
    const n = this.own(node);
    const size = this.sizeOf(n);
    return {
      dev: this.dev,
      ino: n.ino,
      mode: n.mode,
      nlink: n.nlink,
      uid: n.uid,
      gid: n.gid,
      rdev: n.rdev,
      size,
      blksize: 4096,
      // 512-byte units, allocated in whole pages as tmpfs does.
      blocks: Math.ceil(size / 4096) * 8,
      atimeNs: n.atimeNs,
      mtimeNs: n.mtimeNs,
      ctimeNs: n.ctimeNs,
      birthtimeNs: n.birthtimeNs,
    };
  }

  readlink(node: Node): string {
    const n = this.own(node);
    if (!n.isSymlink) fail('EINVAL');
    return n.target!;
  }

  readdir(dir: Node): DirEntry[] {
    const d = this.dirOf(dir);
    return [...d.entries!].map(([name, n]) => ({ name, ino: n.ino, type: dtypeOfMode(n.mode) }));
  }

  statfs() {
    // The run's memory is the size (df shows the budget and what is left of it); 4 GiB without one.
    const blocks = this.budget ? Math.floor(this.budget.limit / 4096) : 1 << 20;
    const free = this.budget ? Math.max(0, Math.floor((this.budget.limit - this.budget.used) / 4096)) : blocks;
    return {
      type: this.type === 'tmpfs' || this.type === 'devtmpfs' ? TMPFS_MAGIC : RAMFS_MAGIC,
      bsize: 4096,
      blocks,
      bfree: free,
      bavail: free,
      files: 1 << 20,
      ffree: (1 << 20) - this.nextIno,
      namelen: NAME_MAX,
    };
  }

  // ---- open ----------------------------------------------------------------

  open(node: Node, intent: OpenIntent): OpenFile {
    const n = this.own(node);
    const wantsWrite = intent.write || intent.truncate;
    switch (n.fileType) {
      case S_IFDIR:
        // open(2): EISDIR when a directory is opened for writing.
        if (wantsWrite) fail('EISDIR');
        return new DirectoryFile(n);
      case S_IFLNK:
        // Only reached with O_NOFOLLOW semantics; open(2) says ELOOP.
        fail('ELOOP');
      case S_IFREG:
        // Read-only filesystems refuse writes to files, not to devices
        // (Linux inode_permission checks EROFS for regular files/dirs/links only).
        if (wantsWrite) this.checkWritable();
        return this.openRegular(n, intent);
      default:
        if (n.opener) return n.opener(n, intent);
        if (this.openSpecial) return this.openSpecial(n, intent);
        fail('ENXIO', n.fileType === S_IFIFO ? 'FIFOs on memfs need openSpecial' : 'no driver for this device');
    }
  }

  private openRegular(n: MemNode, intent: OpenIntent): OpenFile {
    if (n.generator && (intent.write || intent.truncate)) this.materialize(n);
    if (intent.truncate) this.resize(n, 0);
    return new MemFile(n, n.generator ? n.generator() : undefined);
  }

  // ---- creation ------------------------------------------------------------

  create(dir: Node, name: string, mode: number, owner?: Owner): MemNode {
    return this.insertNew(dir, name, S_IFREG | (mode & 0o7777), owner);
  }

  mkdir(dir: Node, name: string, mode: number, owner?: Owner): MemNode {
    return this.insertNew(dir, name, S_IFDIR | (mode & 0o7777), owner);
  }

  mknod(dir: Node, name: string, mode: number, rdev: number, owner?: Owner): MemNode {
    const type = mode & S_IFMT;
    if (type === S_IFDIR || type === S_IFLNK) fail('EINVAL');
    const n = this.insertNew(dir, name, (type || S_IFREG) | (mode & 0o7777), owner);
    if (type !== S_IFREG && type !== 0) n.rdev = rdev;
    return n;
  }

  symlink(dir: Node, name: string, target: string, owner?: Owner): MemNode {
    // symlink(2): an empty target is ENOENT; targets are at most PATH_MAX-1 bytes.
    if (target === '') fail('ENOENT');
    if (target.length > SYMLINK_MAX) fail('ENAMETOOLONG');
    const n = this.insertNew(dir, name, S_IFLNK | 0o777, owner);
    n.target = target;
    n.size = target.length;
    return n;
  }

  /** O_TMPFILE: a regular file in no directory (nlink 0) until linkat names it, if `linkable`. */
  tmpfile(dir: Node, mode: number, owner: Owner, linkable: boolean): MemNode {
    const d = this.dirOf(dir);
    if (d.nlink === 0) fail('ENOENT');
    this.checkWritable();
    const n = this.newNode(S_IFREG | (mode & 0o7777), owner);
    n.nlink = 0;
    n.linkable = linkable;
    return n;
  }

  link(target: Node, dir: Node, name: string): void {
    const t = this.own(target);
    const d = this.dirOf(dir);
    this.checkNewName(d, name);
    // link(2): EPERM for directories; a file already unlinked (nlink 0) cannot
    // regain a name, unless it is an O_TMPFILE file made without O_EXCL (open(2)).
    if (t.isDir) fail('EPERM');
    if (t.nlink === 0 && !t.linkable) fail('ENOENT');
    d.entries!.set(name, t);
    t.nlink++;
    t.linkable = false;
    const now = this.now();
    t.ctimeNs = now;
    this.touchDir(d, now);
  }

  // ---- removal ---------------------------------------------------------------

  unlink(dir: Node, name: string): void {
    this.checkWritable();
    const d = this.dirOf(dir);
    const n = this.lookup(d, name);
    // unlink(2): EISDIR for a directory (Linux; POSIX allows EPERM).
    if (n.isDir) fail('EISDIR');
    this.detach(d, name, n);
  }

  rmdir(dir: Node, name: string): void {
    this.checkWritable();
    const d = this.dirOf(dir);
    const n = this.lookup(d, name);
    if (!n.isDir) fail('ENOTDIR');
    if (n.entries!.size > 0) fail('ENOTEMPTY');
    this.detach(d, name, n);
  }

  // ---- rename ------------------------------------------------------------------

  rename(fromDir: Node, fromName: string, toDir: Node, toName: string, flags: { noReplace: boolean; exchange: boolean }): void {
    // renameat2(2): the two flags together are EINVAL.
    if (flags.noReplace && flags.exchange) fail('EINVAL');
    this.checkWritable();
    const src = this.dirOf(fromDir);
    const dst = this.dirOf(toDir);
    const moving = this.lookup(src, fromName);
    const replaced = dst.entries!.get(toName);
    if (dst.nlink === 0) fail('ENOENT');
    checkName(toName);
    if (flags.exchange) return this.exchange(src, fromName, moving, dst, toName, replaced);
    if (replaced && flags.noReplace) fail('EEXIST');
    // rename(2): if both names are links to the same inode, do nothing.
    if (replaced === moving) return;
    if (replaced) checkReplaceable(moving, replaced);
    // rename(2): EINVAL when a directory would move into its own subtree.
    if (moving.isDir && isAncestor(moving, dst)) fail('EINVAL');
    if (replaced) this.detach(dst, toName, replaced);
    src.entries!.delete(fromName);
    dst.entries!.set(toName, moving);
    this.reparent(moving, src, dst);
    const now = this.now();
    moving.ctimeNs = now;
    this.touchDir(src, now);
    this.touchDir(dst, now);
  }

  /** RENAME_EXCHANGE: both must exist; swap the two names atomically. */
  private exchange(src: MemNode, fromName: string, a: MemNode, dst: MemNode, toName: string, b: MemNode | undefined): void {
    if (!b) fail('ENOENT');
    if (a === b) return;
    // Neither may end up inside itself.
    if ((a.isDir && isAncestor(a, dst)) || (b.isDir && isAncestor(b, src))) fail('EINVAL');
    src.entries!.set(fromName, b);
    dst.entries!.set(toName, a);
    this.reparent(a, src, dst);
    this.reparent(b, dst, src);
    const now = this.now();
    a.ctimeNs = b.ctimeNs = now;
    this.touchDir(src, now);
    this.touchDir(dst, now);
  }

  /** Keep ".." (parent) and the parents' link counts right when a directory moves. */
  private reparent(n: MemNode, from: MemNode, to: MemNode): void {
    if (!n.isDir || from === to) return;
    n.parent = to;
    from.nlink--;
    to.nlink++;
  }

  // ---- attributes ----------------------------------------------------------------

  truncate(node: Node, length: number): void {
    const n = this.own(node);
    if (n.isDir) fail('EISDIR');
    if (!n.isRegular) fail('EINVAL');
    if (!Number.isInteger(length) || length < 0) fail('EINVAL');
    if (length > MEMFS_MAX_FILE_SIZE) fail('EFBIG');
    this.checkWritable();
    if (n.generator) this.materialize(n);
    this.resize(n, length);
  }

  chmod(node: Node, mode: number): void {
    const n = this.own(node);
    this.checkWritable();
    n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
    n.ctimeNs = this.now();
  }

  /** -1 (or 0xffffffff) leaves that id unchanged, as chown(2) does. */
  chown(node: Node, uid: number, gid: number): void {
    const n = this.own(node);
    this.checkWritable();
    if (uid !== -1 && uid !== KEEP_ID) n.uid = uid;
    if (gid !== -1 && gid !== KEEP_ID) n.gid = gid;
    n.mode = modeAfterChown(n.mode);
    n.ctimeNs = this.now();
  }

  utimes(node: Node, atimeNs: bigint | null, mtimeNs: bigint | null): void {
    const n = this.own(node);
    this.checkWritable();
    if (atimeNs !== null) n.atimeNs = atimeNs;
    if (mtimeNs !== null) n.mtimeNs = mtimeNs;
    n.ctimeNs = this.now();
  }

  // ---- set-up helpers (ignore readOnly: they build the tree before the guest runs) ----

  /** Add or replace a regular file at `path` (relative to this fs's root), making parents. */
  addFile(path: string, content: string | Uint8Array | (() => Uint8Array), mode = 0o644): MemNode {
    const { dir, name } = this.setupParent(path);
    let n = dir.entries!.get(name);
    if (!n || !n.isRegular) {
      if (n) this.detach(dir, name, n);
      n = this.attach(dir, name, this.newNode(S_IFREG | (mode & 0o7777)));
    }
    n.mode = S_IFREG | (mode & 0o7777);
    n.generator = undefined;
    if (typeof content === 'function') {
      n.generator = content;
      this.replaceData(n, 0, 0);
      n.size = 0;
    } else {
      // Text from the host is Unicode: store it as UTF-8, as a host file would hold it.
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      this.replaceData(n, bytes.length, 0).set(bytes);
      n.size = bytes.length;
    }
    return n;
  }

  /** Make `path` and its parents as directories (existing directories are kept). */
  addDir(path: string, mode = 0o755): MemNode {
    let dir = this.rootNode;
    for (const name of splitSetupPath(path)) dir = this.ensureDir(dir, name, mode);
    return dir;
  }

  addSymlink(path: string, target: string): MemNode {
    const { dir, name } = this.setupParent(path);
    const old = dir.entries!.get(name);
    if (old) this.detach(dir, name, old);
    const n = this.attach(dir, name, this.newNode(S_IFLNK | 0o777));
    n.target = target;
    n.size = target.length;
    return n;
  }

  /** A character device whose opens go to `opener`; rdev as stat reports it. */
  addCharDevice(path: string, rdev: number, opener: DeviceOpener, mode = 0o666): MemNode {
    const { dir, name } = this.setupParent(path);
    const old = dir.entries!.get(name);
    if (old) this.detach(dir, name, old);
    const n = this.attach(dir, name, this.newNode(S_IFCHR | (mode & 0o7777)));
    n.rdev = rdev;
    n.opener = opener;
    return n;
  }

  /**
   * The directory `name` in `dir`, made if missing (even on a read-only fs:
   * the Vfs uses it to make mount points, as an initramfs would ship them).
   */
  ensureDir(dir: Node, name: string, mode = 0o755): MemNode {
    const d = this.dirOf(dir);
    checkName(name);
    const existing = d.entries!.get(name);
    if (existing) {
      if (!existing.isDir) fail('ENOTDIR');
      return existing;
    }
    return this.attach(d, name, this.newNode(S_IFDIR | (mode & 0o7777)));
  }

  // ---- internals ---------------------------------------------------------------

  private newNode(mode: number, owner?: Owner): MemNode {
    this.budget?.charge(INODE_BYTES, this.full);
    const n = new MemNode(this, this.nextIno++, mode, this.now());
    if (owner) {
      n.uid = owner.uid;
      n.gid = owner.gid;
    }
    return n;
  }

  private own(node: Node): MemNode {
    if (!(node instanceof MemNode) || node.fs !== this) throw new Error('memfs: node from another filesystem');
    return node;
  }

  /** A live directory of this fs: ENOTDIR otherwise. */
  private dirOf(node: Node): MemNode {
    const n = this.own(node);
    if (!n.isDir) fail('ENOTDIR');
    return n;
  }

  private checkWritable(): void {
    if (this.readOnly) fail('EROFS');
  }

  /** Checks shared by every call that adds a name (see mkdir(2), open(2) O_CREAT). */
  private checkNewName(d: MemNode, name: string): void {
    checkName(name);
    // A directory already removed (still someone's cwd) takes no new entries.
    if (d.nlink === 0) fail('ENOENT');
    // EEXIST comes before EROFS, as Linux's filename_create orders them.
    if (d.entries!.has(name)) fail('EEXIST');
    this.checkWritable();
  }

  private insertNew(dir: Node, name: string, mode: number, owner?: Owner): MemNode {
    const d = this.dirOf(dir);
    this.checkNewName(d, name);
    return this.attach(d, name, this.newNode(mode, owner));
  }

  private attach(d: MemNode, name: string, n: MemNode): MemNode {
    d.entries!.set(name, n);
    if (n.isDir) {
      n.parent = d;
      d.nlink++;
    }
    this.touchDir(d, n.ctimeNs);
    return n;
  }

  /** Drop one name of `n`; a directory loses both its links ("name" and "."). */
  private detach(d: MemNode, name: string, n: MemNode): void {
    d.entries!.delete(name);
    const now = this.now();
    if (n.isDir) {
      n.nlink = 0;
      d.nlink--;
    } else {
      n.nlink--;
    }
    n.ctimeNs = now;
    this.touchDir(d, now);
    this.releaseIfUnused(n);
  }

  /**
   * A node that no name and no open file holds any more gives its inode and
   * data back to the budget (a memfd: when its last open file closes).
   */
  releaseIfUnused(n: MemNode): void {
    if (n.opens > 0 || (n.nlink > 0 && !n.anonymous) || n.released) return;
    n.released = true;
    this.replaceData(n, 0, 0);
    this.budget?.release(INODE_BYTES);
  }

  /**
   * Room for `length` bytes in a regular file's data, charged to the budget
   * (ENOSPC past it, as a full tmpfs says, or the fs's `full`). The capacity
   * doubles, so a file written in small pieces is copied O(log n) times;
   * near the limit it takes what is left at once.
   */
  growData(n: MemNode, length: number): void {
    let capacity = Math.min(MEMFS_MAX_FILE_SIZE, Math.max(length, n.data.length * 2, 64));
    if (this.budget) capacity = Math.max(length, Math.min(capacity, n.data.length + this.budget.available));
    this.replaceData(n, capacity, n.size);
  }

  /**
   * Give `n` a fresh zeroed data buffer of `capacity` bytes that keeps its
   * first `keep` bytes, charging (`full`) or releasing the difference; an
   * allocation the host refuses is ENOMEM, with nothing changed.
   */
  replaceData(n: MemNode, capacity: number, keep: number): Uint8Array {
    const delta = capacity - n.data.length;
    if (delta > 0) this.budget?.charge(delta, this.full);
    let bytes: Uint8Array = EMPTY;
    try {
      if (capacity > 0) bytes = allocateBytes(capacity);
    } catch (e) {
      if (delta > 0) this.budget?.release(delta);
      throw e;
    }
    if (keep > 0) bytes.set(n.data.subarray(0, Math.min(keep, capacity)));
    if (delta < 0) this.budget?.release(-delta);
    n.data = bytes;
    return bytes;
  }

  private touchDir(d: MemNode, now: bigint): void {
    d.mtimeNs = d.ctimeNs = now;
  }

  private sizeOf(n: MemNode): number {
    if (n.generator) return n.generator().length;
    return n.isRegular || n.isSymlink ? n.size : n.isDir ? 4096 : 0;
  }

  /** A synthetic file is about to be changed: freeze its content into plain bytes. */
  private materialize(n: MemNode): void {
    const bytes = n.generator!();
    this.replaceData(n, bytes.length, 0).set(bytes);
    n.generator = undefined;
    n.size = bytes.length;
  }

  /** Set the size, keeping bytes past the end zero (so later growth reads zeros). */
  private resize(n: MemNode, length: number): void {
    // Growing allocates real memory (there are no sparse files here), so a
    // truncate past the budget is ENOSPC where Linux's tmpfs would say yes.
    if (length === 0) this.replaceData(n, 0, 0);
    else if (length < n.size) n.data.fill(0, length, n.size);
    else if (length > n.data.length) this.growData(n, length);
    n.size = length;
    n.mtimeNs = n.ctimeNs = this.now();
  }

  private setupParent(path: string): { dir: MemNode; name: string } {
    const names = splitSetupPath(path);
    const name = names.pop();
    if (name === undefined) throw new Error(`memfs: no file name in ${JSON.stringify(path)}`);
    let dir = this.rootNode;
    for (const n of names) dir = this.ensureDir(dir, n);
    return { dir, name };
  }
}

/** Names the guest can give to a new entry (the Vfs already split on '/'). */
function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) fail('EINVAL');
  if (name.length > NAME_MAX) fail('ENAMETOOLONG');
}

/** rename(2): what may replace what. */
function checkReplaceable(moving: MemNode, replaced: MemNode): void {
  if (moving.isDir && !replaced.isDir) fail('ENOTDIR');
  if (!moving.isDir && replaced.isDir) fail('EISDIR');
  if (replaced.isDir && replaced.entries!.size > 0) fail('ENOTEMPTY');
}

/** Whether directory `a` is `b` or one of b's ancestors. */
function isAncestor(a: MemNode, b: MemNode): boolean {
  for (let d = b; ; d = d.parent!) {
    if (d === a) return true;
    if (d.parent === d || !d.parent) return false;
  }
}

function splitSetupPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** An open regular file of a MemFs; positions come from the fd layer. */
export class MemFile implements OpenFile {
  readonly seekable = true;
  private closed = false;
  constructor(
    readonly node: MemNode,
    /** Content fixed at open, for synthetic files. */
    private readonly snapshot?: Uint8Array,
  ) {
    node.opens++;
  }

  read(buf: Uint8Array, position: number): number {
    checkPosition(position);
    const bytes = this.snapshot ?? this.node.data;
    const end = this.snapshot ? this.snapshot.length : this.node.size;
    if (position >= end) return 0;
    const n = Math.min(buf.length, end - position);
    buf.set(bytes.subarray(position, position + n));
    return n;
  }

  write(buf: Uint8Array, position: number): number {
    checkPosition(position);
    const n = this.node;
    if (this.snapshot) fail('EBADF');
    if (buf.length === 0) return 0;
    const end = position + buf.length;
    if (end > MEMFS_MAX_FILE_SIZE) fail('EFBIG');
    if (end > n.data.length) n.fs.growData(n, end);
    n.data.set(buf, position);
    if (end > n.size) n.size = end;
    n.mtimeNs = n.ctimeNs = n.fs.now();
    return buf.length;
  }

  size(): number {
    return this.snapshot ? this.snapshot.length : this.node.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.node.opens--;
    this.node.fs.releaseIfUnused(this.node);
  }
}

function checkPosition(position: number): void {
  if (!Number.isInteger(position) || position < 0) fail('EINVAL');
}

/**
 * An open directory (for getdents, fchdir, fstat). read(2) on it is EISDIR;
 * the fd layer lists entries through FileSystem.readdir.
 */
export class DirectoryFile implements OpenFile {
  readonly seekable = true;
  constructor(readonly node: Node) {}
  read(): number {
    fail('EISDIR');
  }
  write(): number {
    fail('EBADF');
  }
  size(): number {
    return 0;
  }
  close(): void {}
}
