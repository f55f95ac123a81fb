// A host directory exposed to the guest, through the host layer (src/host/):
// O_PATH descriptors and *at calls on Linux, checked paths elsewhere.
//
// Confinement: a HostNode is what its host object IS (device and inode
// number, the directory it was found in and its name there), never a path.
// The mount's root directory is opened once, at mount time; every other
// object is reached by one plain name in a directory reached the same way,
// with no host symlink ever followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW): the
// Vfs reads link text with readlink and resolves it in the GUEST namespace.
// A node that holds a handle keeps reaching its object through it, wherever
// the object has been renamed to and whatever was put where it was. A node
// whose handle was closed (see Handles) is reached again from its parent's
// by name, and is then checked to be the same device and inode (ESTALE when
// it is not). So no host file outside the mount is reached through a name
// the guest swapped, renamed or linked, whatever it does between two calls.
//
// Open file descriptions pin their node (Node.pin, called by fdtable.ts): a
// directory fd, an O_PATH fd and an open file keep their handle for as long
// as they are open, so they follow their object across renames, as on Linux.
//
// Ownership is emulated, never applied to the host. As in a user namespace
// that maps one id, files the invoking host user owns show as owned by the
// guest's uid (and its host group as the guest's gid), so `--uid 0` sees the
// user's files as root's, like fakeroot; a host file owned by the guest's
// uid itself (another host user) shows as 65534, the overflow id, so the two
// never look alike; other ids show as they are. chown, and creations by a
// guest whose ids differ from that mapping, are recorded in a table kept per
// HostFs and keyed by the host's dev and inode, so hard links share it. The
// table also keeps permission bits the host would not take (a chmod the host
// refuses with EPERM, or set-id bits it silently drops): stat shows the
// guest's bits, the host file keeps its own. The table lives as long as the
// HostFs (one run); nothing is written to the host for it.
//
// Special files: Node has no call to make a FIFO, socket or device node on
// the host, so those the guest makes with mknod(2) live in this HostFs only
// (HostSpecialNode), keyed by the host directory's dev and inode and the
// name: lookup, readdir, stat, unlink, rename and link see them, the host
// never does, and they are gone when the run ends. FIFOs the host made stay
// host files (they open as host streams).
//
// Names: the guest's are byte strings (one char per byte); the host's are
// Unicode. A guest name maps to the host name whose UTF-8 bytes it is; names
// that are not valid UTF-8 do not exist here (a host entry whose name is not
// UTF-8 is left out of readdir, since no guest name can reach it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostIsatty as isatty } from '../../host/libc.ts';
import { hostAccess, type HostAccess, type HostHandle, type HostStat } from '../../host/index.ts';
import { LinuxError, fail, fromHostError } from '../errors.ts';
import { DirectoryFile, defaultClock } from './memfs.ts';
import { KEEP_ID, modeAfterChown } from './permission.ts';
import type { DirEntry, FileSystem, Node, OpenFile, OpenIntent, Owner, StatInfo } from './types.ts';
import { DT_UNKNOWN, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, dtypeOfMode } from './types.ts';

export interface HostFsOptions {
  hostRoot: string;
  dev: number;
  readOnly?: boolean;
  /** The guest's uid and gid that the host user's own ids show as (default: the same ids, no mapping). */
  guestUid?: number;
  guestGid?: number;
  /** The host user's ids (default: this process's; 0 on Windows, which reports no owners). */
  hostUid?: number;
  hostGid?: number;
  /** The host layer (default: this host's, src/host/index.ts); tests pass another. */
  access?: HostAccess;
  /** How many handles of unpinned nodes stay open (default HANDLE_CACHE_SIZE). */
  handleCacheSize?: number;
}

/** What a guest changed of a host inode's metadata, kept here instead of on the host. */
interface EmulatedMeta {
  uid?: number;
  gid?: number;
  /** Permission bits (07777) the host could not be made to hold. */
  perm?: number;
}

/** What an id nobody is mapped to shows as (/proc/sys/kernel/overflowuid). */
const OVERFLOW_ID = 65534;

/** Handles of unpinned nodes kept open per HostFs (the directories of recent path walks). */
export const HANDLE_CACHE_SIZE = 64;

const IS_WINDOWS = process.platform === 'win32';
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;
const NAME_MAX = 255;
const SYMLINK_MAX = 4095;

export class HostNode implements Node {
  /** An open handle on the object, or null: reached again from the parent's when needed (see HostFs.handleOf). */
  handle: HostHandle | null = null;
  /** Open file descriptions holding this node; while any does, its handle stays open. */
  pins = 0;

  constructor(
    readonly fs: HostFs,
    /** The directory it was found in (null for the mount's root); updated when this node is renamed. */
    public parent: HostNode | null,
    /** Its host name there. */
    public hostName: string,
    /** S_IFMT bits (an inode's type never changes). */
    readonly fileType: number,
    /** What the object is: checked whenever it is reached again by name. */
    readonly hostDev: bigint,
    readonly hostIno: bigint,
  ) {}

  pin(): void {
    this.fs.pin(this);
  }

  unpin(): void {
    this.fs.unpin(this);
  }
}

/** Inode numbers of special files live above any folded host inode number's usual range. */
const SPECIAL_INO_BASE = 2 ** 52;

/** A FIFO, socket or device node the guest made in a host directory: kept here, never on the host (see the header). */
export class HostSpecialNode extends HostNode {
  nlink = 1;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  readonly birthtimeNs: bigint;
  constructor(
    fs: HostFs,
    parent: HostNode,
    name: string,
    /** S_IFMT and permission bits. */
    public mode: number,
    readonly rdev: number,
    public uid: number,
    public gid: number,
    readonly ino: number,
  ) {
    super(fs, parent, name, mode & S_IFMT, -1n, -1n);
    this.atimeNs = this.mtimeNs = this.ctimeNs = this.birthtimeNs = defaultClock();
  }

  statAt(dev: number): StatInfo {
    return {
      dev,
      ino: this.ino,
      mode: this.mode,
      nlink: this.nlink,
      uid: this.uid,
      gid: this.gid,
      rdev: this.rdev,
      size: 0,
      blksize: 4096,
      blocks: 0,
      atimeNs: this.atimeNs,
      mtimeNs: this.mtimeNs,
      ctimeNs: this.ctimeNs,
      birthtimeNs: this.birthtimeNs,
    };
  }
}

/**
 * The open handles of one HostFs's nodes. Pinned nodes (the root, nodes of
 * open file descriptions) keep theirs; the others are kept in least recently
 * used order, at most `capacity` of them once trimmed: a path walk makes many
 * nodes that are garbage right after, and a run is synchronous, so nothing
 * (not a FinalizationRegistry) would close theirs otherwise. trim() is the
 * only place that closes a handle of a live node, and HostFs calls it at the
 * start of each operation: no handle an operation is using is closed (and
 * its number reused) before the operation ends.
 */
class Handles {
  /** Unpinned nodes holding a handle, least recently used first. */
  private readonly lru = new Map<HostNode, true>();
  /** Nodes holding a handle, by the directory they were found in and their name there (a lookup's cache). */
  private readonly byName = new Map<string, HostNode>();
  private readonly holders = new Set<HostNode>();
  /** Every handle open now; the finalizer's (it must not reach the HostFs, so it holds no node). */
  readonly open = new Set<HostHandle>();

  constructor(
    private readonly host: HostAccess,
    private readonly capacity: number,
  ) {}

  add(n: HostNode, h: HostHandle): void {
    n.handle = h;
    this.open.add(h);
    this.holders.add(n);
    if (n.parent) this.byName.set(nameKey(n.parent, n.hostName), n);
    if (n.pins === 0) this.lru.set(n, true);
  }

  touch(n: HostNode): void {
    if (this.lru.delete(n)) this.lru.set(n, true);
  }

  /** The node holding a handle that was found as `name` in directory `dir`. */
  known(dir: HostNode, name: string): HostNode | undefined {
    return this.byName.get(nameKey(dir, name));
  }

  pinned(n: HostNode): void {
    this.lru.delete(n);
  }

  unpinned(n: HostNode): void {
    if (n.handle !== null) this.lru.set(n, true);
  }

  /** `n` was renamed to `name` in `dir`: it is found there now (a path handle names what was there before). */
  moved(n: HostNode, dir: HostNode, name: string): void {
    if (this.host.handlesMayMove) this.close(n);
    this.unname(n);
    n.parent = dir;
    n.hostName = name;
    if (n.handle !== null) this.byName.set(nameKey(dir, name), n);
  }

  /** What was found as `name` in `dir` is gone: an unpinned node's handle is closed now (it would keep the inode alive). */
  removed(dir: HostNode, name: string): void {
    const n = this.known(dir, name);
    if (!n) return;
    if (n.pins === 0) this.close(n);
    else this.unname(n);
  }

  trim(capacity = this.capacity): void {
    for (const n of this.lru.keys()) {
      if (this.lru.size <= capacity) break;
      this.close(n);
    }
  }

  closeAll(): void {
    for (const n of this.holders) this.close(n);
  }

  close(n: HostNode): void {
    const h = n.handle;
    if (h === null) return;
    this.lru.delete(n);
    this.unname(n);
    this.holders.delete(n);
    this.open.delete(h);
    n.handle = null;
    this.host.closeHandle(h);
  }

  private unname(n: HostNode): void {
    if (!n.parent) return;
    const key = nameKey(n.parent, n.hostName);
    if (this.byName.get(key) === n) this.byName.delete(key);
  }
}

function nameKey(dir: HostNode, name: string): string {
  return `${dir.hostDev}:${dir.hostIno}/${name}`;
}

/** Closes the handles of a HostFs nobody disposed (a test's, a library user's) once it is garbage. */
const finalizer = new FinalizationRegistry<{ host: HostAccess; open: Set<HostHandle> }>(({ host, open }) => {
  for (const h of open) host.closeHandle(h);
});

/** One host object to chmod and then stat: an fd just opened, or a node's handle. */
interface PermTarget {
  chmod(perm: number): void;
  stat(): HostStat;
}

export class HostFs implements FileSystem {
  readonly type = 'hostfs';
  readonly dev: number;
  readonly readOnly: boolean;
  /** The exposed directory's host path, as given: shown in /proc/self/mounts, never used to reach it again. */
  readonly hostRoot: string;
  /** How this host is reached (src/host/). */
  readonly host: HostAccess;
  private readonly handles: Handles;
  private readonly rootNode: HostNode;
  private disposed = false;
  /** Emulated metadata by host "dev:ino". */
  private readonly emulated = new Map<string, EmulatedMeta>();
  private readonly hostIds: Owner;
  private readonly guestIds: Owner;
  /** Special files by host directory "dev:ino", then by guest name. */
  private readonly specials = new Map<string, Map<string, HostSpecialNode>>();
  private nextSpecialIno = SPECIAL_INO_BASE;

  constructor(opts: HostFsOptions) {
    this.dev = opts.dev;
    this.readOnly = opts.readOnly ?? false;
    this.hostIds = {
      uid: opts.hostUid ?? (IS_WINDOWS ? 0 : (process.getuid?.() ?? 0)),
      gid: opts.hostGid ?? (IS_WINDOWS ? 0 : (process.getgid?.() ?? 0)),
    };
    this.guestIds = { uid: opts.guestUid ?? this.hostIds.uid, gid: opts.guestGid ?? this.hostIds.gid };
    this.host = opts.access ?? hostAccess();
    this.hostRoot = path.resolve(opts.hostRoot);
    this.handles = new Handles(this.host, opts.handleCacheSize ?? HANDLE_CACHE_SIZE);
    // The one time a host path is used: the user named this directory.
    const root = this.host.openRoot(this.hostRoot);
    const st = this.host.statAt(root, '');
    if (!st || (st.mode & S_IFMT) !== S_IFDIR) {
      this.host.closeHandle(root);
      throw new Error(`hostfs: ${this.hostRoot} is not a directory`);
    }
    this.rootNode = new HostNode(this, null, '', S_IFDIR, st.dev, st.ino);
    this.rootNode.pins = 1; // for good
    this.handles.add(this.rootNode, root);
    finalizer.register(this, { host: this.host, open: this.handles.open }, this);
  }

  root(): HostNode {
    return this.rootNode;
  }

  /** Close the handles of nodes nobody pins (the run is over); they are reopened from the root's if asked for. */
  release(): void {
    this.handles.trim(0);
  }

  /** Close every host handle, the root's too. Later calls give EIO; open files keep their own fds. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.handles.closeAll();
    finalizer.unregister(this);
  }

  /** Host handles open now (the root's and pinned nodes' included): for tests of the bound. */
  get openHandles(): number {
    return this.handles.open.size;
  }

  // ---- pins (fdtable.ts) ------------------------------------------------------

  /** An open file description holds `n`: it keeps a handle on its object from now until unpin. */
  pin(n: HostNode): void {
    if (n instanceof HostSpecialNode || n.pins++ > 0) return;
    this.handles.pinned(n);
    try {
      this.handleOf(n);
    } catch {
      // Gone already: calls through the description will say ENOENT or ESTALE.
    }
  }

  unpin(n: HostNode): void {
    if (n instanceof HostSpecialNode || n.pins === 0) return;
    if (--n.pins === 0) this.handles.unpinned(n);
  }

  // ---- lookups -------------------------------------------------------------

  lookup(dir: Node, name: string): HostNode {
    this.handles.trim();
    return this.child(this.dirOf(dir), name);
  }

  stat(node: Node): StatInfo {
    this.handles.trim();
    return this.guestStat(this.own(node));
  }

  readlink(node: Node): string {
    this.handles.trim();
    const n = this.own(node);
    if (n.fileType !== S_IFLNK || n instanceof HostSpecialNode) fail('EINVAL');
    // By name, the text a host process raced in could be read instead: it is only text, resolved in the guest's namespace.
    const [dir, name] = this.placeOf(n);
    return host(() => this.host.readlinkAt(dir, name)).toString('latin1');
  }

  readdir(dir: Node): DirEntry[] {
    this.handles.trim();
    const d = this.dirOf(dir);
    const dirHandle = this.handleOf(d);
    const out: DirEntry[] = [];
    for (const e of host(() => this.host.readdir(dirHandle))) {
      const hostName = e.name.toString('utf8');
      if (!Buffer.from(hostName, 'utf8').equals(e.name)) continue; // not UTF-8: unreachable by name
      const guestName = e.name.toString('latin1');
      if (!this.validName(guestName)) continue;
      let type = e.type;
      if (type === DT_UNKNOWN) {
        const st = host(() => this.host.statAt(dirHandle, hostName));
        if (!st) continue; // removed meanwhile
        type = dtypeOfMode(st.mode);
      }
      out.push({ name: guestName, ino: foldIno(e.ino), type });
    }
    for (const [name, n] of this.specialsIn(d) ?? []) out.push({ name, ino: n.ino, type: dtypeOfMode(n.mode) });
    return out;
  }

  statfs() {
    this.handles.trim();
    const s = host(() => this.host.statfs(this.handleOf(this.rootNode)));
    return { ...s, namelen: NAME_MAX };
  }

  // ---- open ------------------------------------------------------------------

  open(node: Node, intent: OpenIntent): OpenFile {
    this.handles.trim();
    const n = this.own(node);
    // FIFOs of ours are opened by the kernel (fifo.ts); no driver backs a device node.
    if (n instanceof HostSpecialNode) fail('ENXIO');
    const type = n.fileType;
    const wantsWrite = intent.write || intent.truncate;
    if (type === S_IFDIR) {
      if (wantsWrite) fail('EISDIR');
      this.handleOf(n); // still there
      return new DirectoryFile(n);
    }
    if (type === S_IFLNK) fail('ELOOP');
    // As Linux: a read-only mount refuses writes to files, not to devices.
    if (wantsWrite && type === S_IFREG) this.checkWritable();
    let flags = intent.write ? (intent.read ? fs.constants.O_RDWR : fs.constants.O_WRONLY) : fs.constants.O_RDONLY;
    // A blocking open of a host FIFO would freeze the whole emulator.
    if (intent.nonblock || type === S_IFIFO) flags |= O_NONBLOCK;
    // O_APPEND is not passed: the fd layer positions appends at size(), and
    // a host O_APPEND would make Linux's pwrite ignore the position.
    const fd = this.openHost(n, flags);
    // open(2): O_TRUNC only affects regular files, even with O_RDONLY. It is
    // done once the fd is known to be n's (openHost), never by the host's open.
    try {
      if (intent.truncate && type === S_IFREG) {
        if (intent.write) fs.ftruncateSync(fd, 0);
        else this.truncateHostFile(n, 0);
      }
    } catch (e) {
      fs.closeSync(fd);
      throw fromHostError(e);
    }
    return new HostFile(n, fd, type === S_IFREG);
  }

  // ---- creation ----------------------------------------------------------------

  create(dir: Node, name: string, mode: number, owner?: Owner): HostNode {
    this.handles.trim();
    const { d, hostName } = this.newChild(dir, name);
    const dirHandle = this.handleOf(d);
    const fd = host(() => this.host.openAt(dirHandle, hostName, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, mode & 0o777));
    try {
      const n = this.nodeFor(d, hostName, this.host.statFd(fd));
      // The host umask must not change the guest's mode (the guest already applied its own).
      if (!IS_WINDOWS) this.setPerm(n, mode & 0o7777, { chmod: (perm) => fs.fchmodSync(fd, perm), stat: () => this.host.statFd(fd) });
      this.recordOwner(n, owner);
      return n;
    } finally {
      fs.closeSync(fd);
    }
  }

  mkdir(dir: Node, name: string, mode: number, owner?: Owner): HostNode {
    this.handles.trim();
    const { d, hostName } = this.newChild(dir, name);
    const dirHandle = this.handleOf(d);
    host(() => this.host.mkdirAt(dirHandle, hostName, mode & 0o777));
    const n = this.made(d, hostName);
    if (!IS_WINDOWS) this.setPerm(n, mode & 0o7777);
    this.recordOwner(n, owner);
    return n;
  }

  /**
   * mknod(2): a regular file on the host; a FIFO, socket or device node in
   * this HostFs only (see the header).
   */
  mknod(dir: Node, name: string, mode: number, rdev: number, owner?: Owner): HostNode {
    const type = mode & S_IFMT;
    if (type === S_IFREG || type === 0) return this.create(dir, name, mode, owner);
    if (type === S_IFDIR || type === S_IFLNK) fail('EINVAL');
    this.handles.trim();
    const { d } = this.newChild(dir, name);
    const ids = owner ?? this.guestIds;
    const n = new HostSpecialNode(this, d, name, type | (mode & 0o7777), rdev, ids.uid, ids.gid, this.nextSpecialIno++);
    this.specialsIn(d, true)!.set(name, n);
    return n;
  }

  symlink(dir: Node, name: string, target: string, owner?: Owner): HostNode {
    // symlink(2): an empty target is ENOENT; at most PATH_MAX-1 bytes.
    if (target === '') fail('ENOENT');
    if (target.length > SYMLINK_MAX) fail('ENAMETOOLONG');
    const hostTarget = toHostName(target);
    if (hostTarget === null) fail('EINVAL', 'hostfs: link text must be UTF-8');
    this.handles.trim();
    const { d, hostName } = this.newChild(dir, name);
    const dirHandle = this.handleOf(d);
    host(() => this.host.symlinkAt(hostTarget, dirHandle, hostName));
    const n = this.made(d, hostName);
    this.recordOwner(n, owner);
    return n;
  }

  link(target: Node, dir: Node, name: string): void {
    this.handles.trim();
    const t = this.own(target);
    const { d, hostName } = this.newChild(dir, name);
    if (t.fileType === S_IFDIR) fail('EPERM'); // link(2)
    if (t instanceof HostSpecialNode) {
      this.specialsIn(d, true)!.set(name, t);
      t.nlink++;
      t.ctimeNs = defaultClock();
      return;
    }
    // The object itself, through its handle: a name swapped meanwhile is not followed.
    const object = this.handleOf(t);
    host(() => this.host.link(object, this.handleOf(d), hostName));
  }

  // ---- removal ----------------------------------------------------------------

  unlink(dir: Node, name: string): void {
    this.handles.trim();
    this.checkWritable();
    const d = this.dirOf(dir);
    const n = this.child(d, name);
    if (n instanceof HostSpecialNode) return this.dropSpecial(d, name, n);
    // unlink(2): EISDIR for a directory (macOS would say EPERM).
    if (n.fileType === S_IFDIR) fail('EISDIR');
    const last = this.lastNameOf(n);
    host(() => this.host.unlinkAt(this.handleOf(d), n.hostName, false));
    this.handles.removed(d, n.hostName);
    this.forget(last);
  }

  rmdir(dir: Node, name: string): void {
    this.handles.trim();
    this.checkWritable();
    const d = this.dirOf(dir);
    const n = this.child(d, name);
    if (n.fileType !== S_IFDIR) fail('ENOTDIR');
    // The host sees it empty, but special files of ours are still in it.
    if (this.specials.get(keyOf(n))?.size) fail('ENOTEMPTY');
    try {
      this.host.unlinkAt(this.handleOf(d), n.hostName, true);
    } catch (e) {
      // rmdir(2) allows EEXIST for a non-empty directory; Linux says ENOTEMPTY.
      const err = fromHostError(e);
      throw err.code === 'EEXIST' ? new LinuxError('ENOTEMPTY') : err;
    }
    this.handles.removed(d, n.hostName);
    this.forget(keyOf(n));
  }

  rename(fromDir: Node, fromName: string, toDir: Node, toName: string, flags: { noReplace: boolean; exchange: boolean }): void {
    if (flags.noReplace && flags.exchange) fail('EINVAL');
    this.handles.trim();
    this.checkWritable();
    const src = this.dirOf(fromDir);
    const moving = this.child(src, fromName);
    const dst = this.dirOf(toDir);
    const toHost = this.newName(toName);
    // renameat2(2): filesystems without RENAME_EXCHANGE give EINVAL; node:fs has no way to do it.
    if (flags.exchange) fail('EINVAL', 'hostfs: RENAME_EXCHANGE is not supported');
    const replacedSpecial = this.specialsIn(dst)?.get(toName);
    if (replacedSpecial === moving) return; // two names of one inode
    if (replacedSpecial) {
      if (flags.noReplace) fail('EEXIST');
      if (moving.fileType === S_IFDIR) fail('ENOTDIR');
      this.dropSpecial(dst, toName, replacedSpecial);
    }
    if (moving instanceof HostSpecialNode) return this.moveSpecial(src, fromName, moving, dst, toName, toHost, flags.noReplace);
    const dstHandle = this.handleOf(dst);
    const replaced = host(() => this.host.statAt(dstHandle, toHost));
    if (replaced && flags.noReplace) fail('EEXIST');
    if (replaced) {
      // rename(2): two names of one inode: do nothing. Except a change of case
      // on a case-insensitive host (macOS, Windows), where both names are one entry.
      if (replaced.dev === moving.hostDev && replaced.ino === moving.hostIno) {
        const caseChange = keyOf(src) === keyOf(dst) && moving.hostName !== toHost && moving.hostName.toLowerCase() === toHost.toLowerCase();
        if (caseChange) host(() => this.host.renameAt(this.handleOf(src), moving.hostName, dstHandle, toHost, false));
        return;
      }
      this.checkReplaceable(moving, this.nodeFor(dst, toHost, replaced));
    }
    // rename(2) gives EINVAL itself when a directory would move into its own subtree.
    host(() => this.host.renameAt(this.handleOf(src), moving.hostName, dstHandle, toHost, flags.noReplace));
    this.handles.removed(dst, toHost);
    this.handles.moved(moving, dst, toHost);
    if (replaced && ((replaced.mode & S_IFMT) === S_IFDIR || replaced.nlink <= 1)) this.forget(inodeKey(replaced));
  }

  private checkReplaceable(moving: HostNode, target: HostNode): void {
    const movingDir = moving.fileType === S_IFDIR;
    const targetDir = target.fileType === S_IFDIR;
    if (movingDir && !targetDir) fail('ENOTDIR');
    if (!movingDir && targetDir) fail('EISDIR');
    if (targetDir && host(() => this.host.readdir(this.handleOf(target))).length > 0) fail('ENOTEMPTY');
  }

  // ---- attributes --------------------------------------------------------------

  truncate(node: Node, length: number): void {
    this.handles.trim();
    const n = this.own(node);
    if (n instanceof HostSpecialNode) fail('EINVAL');
    this.guestStat(n); // ENOENT or ESTALE before the type's errors
    if (n.fileType === S_IFDIR) fail('EISDIR');
    if (n.fileType !== S_IFREG) fail('EINVAL');
    if (!Number.isInteger(length) || length < 0) fail('EINVAL');
    this.checkWritable();
    this.truncateHostFile(n, length);
  }

  /** Through an fd opened on n's own object (truncate(path) would follow a symlink). */
  private truncateHostFile(n: HostNode, length: number): void {
    const fd = this.openHost(n, fs.constants.O_WRONLY);
    try {
      host(() => fs.ftruncateSync(fd, length));
    } finally {
      fs.closeSync(fd);
    }
  }

  chmod(node: Node, mode: number): void {
    this.handles.trim();
    const n = this.own(node);
    this.checkWritable();
    // fchmodat(2): symlinks have no mode of their own on Linux.
    if (n.fileType === S_IFLNK) fail('EOPNOTSUPP');
    if (n instanceof HostSpecialNode) {
      n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
      n.ctimeNs = defaultClock();
      return;
    }
    this.setPerm(n, mode & 0o7777);
  }

  /** Recorded in the emulated table only: the host file keeps its owner. */
  chown(node: Node, uid: number, gid: number): void {
    this.handles.trim();
    const n = this.own(node);
    this.checkWritable();
    if (n instanceof HostSpecialNode) {
      if (uid !== -1 && uid !== KEEP_ID) n.uid = uid;
      if (gid !== -1 && gid !== KEEP_ID) n.gid = gid;
      n.mode = modeAfterChown(n.mode);
      n.ctimeNs = defaultClock();
      return;
    }
    const before = this.guestStat(n);
    const e = this.entryFor(n);
    if (uid !== -1 && uid !== KEEP_ID) e.uid = uid;
    if (gid !== -1 && gid !== KEEP_ID) e.gid = gid;
    const mode = modeAfterChown(before.mode);
    if (mode !== before.mode) this.setPerm(n, mode & 0o7777);
  }

  utimes(node: Node, atimeNs: bigint | null, mtimeNs: bigint | null): void {
    this.handles.trim();
    const n = this.own(node);
    this.checkWritable();
    if (n instanceof HostSpecialNode) {
      if (atimeNs !== null) n.atimeNs = atimeNs;
      if (mtimeNs !== null) n.mtimeNs = mtimeNs;
      n.ctimeNs = defaultClock();
      return;
    }
    const object = this.handleOf(n);
    host(() => this.host.utimes(object, atimeNs, mtimeNs));
  }

  // ---- handles ----------------------------------------------------------------------

  /**
   * n's handle: the one it holds, or one reached again from its parent's by
   * its name, never following a symlink, and checked to be n's object
   * (ESTALE when the name now holds another). On a host whose handles are
   * paths, a held handle is checked again too.
   */
  private handleOf(n: HostNode): HostHandle {
    if (n.handle !== null && this.stillHolds(n)) {
      this.handles.touch(n);
      return n.handle;
    }
    if (this.disposed || !n.parent) fail('EIO', 'hostfs: the mount is gone');
    const dir = this.handleOf(n.parent);
    const h = host(() => this.host.openHandle(dir, n.hostName));
    try {
      this.verify(n, host(() => this.host.statAt(h, '')));
    } catch (e) {
      this.host.closeHandle(h);
      throw e;
    }
    this.handles.add(n, h);
    return h;
  }

  /**
   * Whether n's handle still reaches n's object: always, for a descriptor;
   * for a path, if it names the same device and inode now (else the path is
   * dropped, and n is reached again by name from its parent's).
   */
  private stillHolds(n: HostNode): boolean {
    if (!this.host.handlesMayMove) return true;
    const st = host(() => this.host.statAt(n.handle!, ''));
    if (st && st.dev === n.hostDev && st.ino === n.hostIno) return true;
    if (!n.parent) this.verify(n, st); // the root: nothing to reach it from
    this.handles.close(n);
    return false;
  }

  /** Where n is reached: its own handle when it holds one (it may have been renamed since), else its name in its parent. */
  private placeOf(n: HostNode): [dir: HostHandle, name: string] {
    if (n.handle !== null || !n.parent) return [this.handleOf(n), ''];
    return [this.handleOf(n.parent), n.hostName];
  }

  /** `st` (what a handle or name reaches now) as n's: ENOENT if nothing, ESTALE if another object. */
  private verify(n: HostNode, st: HostStat | null): HostStat {
    if (!st) fail('ENOENT');
    if (st.dev !== n.hostDev || st.ino !== n.hostIno) fail('ESTALE');
    return st;
  }

  /** A real fd on n's object (for node:fs's fd calls), checked to be n's before anything is done through it. */
  private openHost(n: HostNode, flags: number): number {
    const [dir, name] = this.placeOf(n);
    const fd = host(() => this.host.openAt(dir, name, flags));
    try {
      this.verify(n, this.host.statFd(fd));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return fd;
  }

  // ---- internals ------------------------------------------------------------------

  private own(node: Node): HostNode {
    if (!(node instanceof HostNode) || node.fs !== this) throw new Error('hostfs: node from another filesystem');
    return node;
  }

  private dirOf(node: Node): HostNode {
    const n = this.own(node);
    if (n.fileType !== S_IFDIR) fail('ENOTDIR');
    return n;
  }

  /** `name` in directory d: ENOENT if absent. */
  private child(d: HostNode, name: string): HostNode {
    const special = this.specialsIn(d)?.get(name);
    if (special) return special;
    return this.made(d, this.existingName(name));
  }

  /** The host entry `hostName` in d (what a call just made, or found): ENOENT if absent. */
  private made(d: HostNode, hostName: string): HostNode {
    const dirHandle = this.handleOf(d);
    const st = host(() => this.host.statAt(dirHandle, hostName));
    if (!st) fail('ENOENT');
    return this.nodeFor(d, hostName, st);
  }

  /** The node for object `st` found as `hostName` in d: the one already holding a handle on it, or a new one. */
  private nodeFor(d: HostNode, hostName: string, st: HostStat): HostNode {
    const known = this.handles.known(d, hostName);
    if (known && known.hostDev === st.dev && known.hostIno === st.ino) return known;
    return new HostNode(this, d, hostName, st.mode & S_IFMT, st.dev, st.ino);
  }

  /** stat as the guest sees it: emulated owner and permission bits, ids mapped. */
  private guestStat(n: HostNode): StatInfo {
    if (n instanceof HostSpecialNode) return n.statAt(this.dev);
    const [dir, name] = this.placeOf(n);
    const st = this.verify(n, host(() => this.host.statAt(dir, name)));
    const e = this.emulated.get(keyOf(n));
    return {
      dev: this.dev,
      ino: foldIno(st.ino),
      mode: e?.perm === undefined ? st.mode : (st.mode & S_IFMT) | e.perm,
      nlink: st.nlink,
      uid: e?.uid ?? mapId(st.uid, this.hostIds.uid, this.guestIds.uid),
      gid: e?.gid ?? mapId(st.gid, this.hostIds.gid, this.guestIds.gid),
      rdev: st.rdev,
      size: st.size,
      blksize: st.blksize,
      blocks: st.blocks,
      atimeNs: st.atimeNs,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      birthtimeNs: st.birthtimeNs,
    };
  }

  /** The emulated entry of a node's inode, made empty if it has none. */
  private entryFor(n: HostNode): EmulatedMeta {
    const key = keyOf(n);
    let e = this.emulated.get(key);
    if (!e) this.emulated.set(key, (e = {}));
    return e;
  }

  /** A new node's owner, recorded when it is not what the host's own ids show as. */
  private recordOwner(n: HostNode, owner: Owner | undefined): void {
    if (!owner) return;
    const st = this.guestStat(n);
    if (st.uid === owner.uid && st.gid === owner.gid) return;
    Object.assign(this.entryFor(n), { uid: owner.uid, gid: owner.gid });
  }

  /**
   * chmod on the host, through `target` (default: n's own handle); bits the
   * host refuses (EPERM: not the host user's file) or drops (set-id bits)
   * are kept in the table instead.
   */
  private setPerm(n: HostNode, perm: number, target: PermTarget = this.permTarget(n)): void {
    try {
      target.chmod(perm);
    } catch (e) {
      if (fromHostError(e).code !== 'EPERM') throw fromHostError(e);
    }
    const st = target.stat();
    if ((st.mode & 0o7777) !== perm && !IS_WINDOWS) this.entryFor(n).perm = perm;
    else delete this.emulated.get(keyOf(n))?.perm;
  }

  private permTarget(n: HostNode): PermTarget {
    const object = this.handleOf(n);
    return { chmod: (perm) => this.host.chmod(object, perm), stat: () => this.verify(n, host(() => this.host.statAt(object, ''))) };
  }

  /** The inode key of a node about to lose a name, if that is its last one (else null). */
  private lastNameOf(n: HostNode): string | null {
    return this.guestStat(n).nlink <= 1 ? keyOf(n) : null;
  }

  /** Drop the entry of an inode that is gone, so a new file reusing the number starts clean. */
  private forget(key: string | null): void {
    if (key !== null) this.emulated.delete(key);
  }

  private checkWritable(): void {
    if (this.readOnly) fail('EROFS');
  }

  /**
   * Names the guest may use. The Vfs never passes '/', '.', '..' or ''; they
   * are refused anyway, as are '\' and ':' on Windows, where the host would
   * read them as separators or drive/stream markers.
   */
  private validName(name: string): boolean {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return false;
    return !(IS_WINDOWS && /[\\:]/.test(name));
  }

  /** The host name of an entry to look up; ENOENT when no host entry can have it. */
  private existingName(name: string): string {
    if (name === '.' || name === '..') fail('EINVAL', 'hostfs: the Vfs resolves "." and ".."');
    const hostName = this.validName(name) ? toHostName(name) : null;
    if (hostName === null) fail('ENOENT');
    return hostName;
  }

  /** The host name of an entry to create; EINVAL when the host cannot store it. */
  private newName(name: string): string {
    if (name.length > NAME_MAX) fail('ENAMETOOLONG');
    const hostName = this.validName(name) ? toHostName(name) : null;
    if (hostName === null) fail('EINVAL');
    return hostName;
  }

  /**
   * The directory and host name for a new entry: EEXIST if taken, then EROFS
   * (Linux's filename_create reports an existing name before a read-only mount).
   */
  private newChild(dir: Node, name: string): { d: HostNode; hostName: string } {
    const d = this.dirOf(dir);
    const hostName = this.newName(name);
    const dirHandle = this.handleOf(d);
    if (this.specialsIn(d)?.has(name) || host(() => this.host.statAt(dirHandle, hostName))) fail('EEXIST');
    this.checkWritable();
    return { d, hostName };
  }

  /** The special files of host directory `d` (made empty with `make`); none without a lookup while there are none at all. */
  private specialsIn(d: HostNode, make = false): Map<string, HostSpecialNode> | undefined {
    if (this.specials.size === 0 && !make) return undefined;
    const key = keyOf(d);
    let names = this.specials.get(key);
    if (!names && make) this.specials.set(key, (names = new Map()));
    return names;
  }

  private dropSpecial(d: HostNode, name: string, n: HostSpecialNode): void {
    const key = keyOf(d);
    const names = this.specials.get(key);
    names?.delete(name);
    if (names?.size === 0) this.specials.delete(key);
    n.nlink--;
    n.ctimeNs = defaultClock();
  }

  /** rename(2) of a special file: its entry moves; a host file under the new name is replaced (a directory is EISDIR). */
  private moveSpecial(src: HostNode, fromName: string, n: HostSpecialNode, dst: HostNode, toName: string, toHost: string, noReplace: boolean): void {
    const dstHandle = this.handleOf(dst);
    const replaced = host(() => this.host.statAt(dstHandle, toHost));
    if (replaced) {
      if (noReplace) fail('EEXIST');
      if ((replaced.mode & S_IFMT) === S_IFDIR) fail('EISDIR');
      const key = replaced.nlink <= 1 ? inodeKey(replaced) : null;
      host(() => this.host.unlinkAt(dstHandle, toHost, false));
      this.handles.removed(dst, toHost);
      this.forget(key);
    }
    this.dropSpecial(src, fromName, n);
    n.nlink++;
    this.specialsIn(dst, true)!.set(toName, n);
  }
}

/** An open host file; the host fd stays open until close. */
class HostFile implements OpenFile {
  readonly hostFd?: number;
  readonly isTty?: boolean;
  private fd: number;

  constructor(
    readonly node: HostNode,
    fd: number,
    readonly seekable: boolean,
  ) {
    this.fd = fd;
    // Streams (a host tty or device) expose their fd for isatty/ioctl pass-through.
    if (!seekable) {
      this.hostFd = fd;
      this.isTty = node.fileType === S_IFCHR && isatty(fd);
    }
  }

  read(buf: Uint8Array, position: number): number {
    return host(() => fs.readSync(this.liveFd(), buf, 0, buf.length, this.seekable ? position : null));
  }

  write(buf: Uint8Array, position: number): number {
    return host(() => fs.writeSync(this.liveFd(), buf, 0, buf.length, this.seekable ? position : null));
  }

  size(): number {
    return host(() => fs.fstatSync(this.liveFd()).size);
  }

  /** ftruncate(2) through this open fd: its write access is what counts, not the file's mode now. */
  truncate(length: number): void {
    host(() => fs.ftruncateSync(this.liveFd(), length));
  }

  sync(): void {
    host(() => fs.fsyncSync(this.liveFd()));
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    host(() => fs.closeSync(fd));
  }

  private liveFd(): number {
    if (this.fd < 0) fail('EBADF');
    return this.fd;
  }
}

/** Run a host call, turning host errors into Linux errors. */
function host<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromHostError(e);
  }
}

/** Guest byte string -> host Unicode name, or null when the bytes are not UTF-8. */
function toHostName(name: string): string | null {
  const bytes = Buffer.from(name, 'latin1');
  const hostName = bytes.toString('utf8');
  // latin1 encoding drops chars above U+00FF, so compare both ways.
  if (bytes.toString('latin1') !== name || !Buffer.from(hostName, 'utf8').equals(bytes)) return null;
  return hostName;
}

/** The emulated table's key: the host's device and inode, shared by every hard link. */
function inodeKey(st: { dev: bigint; ino: bigint }): string {
  return `${st.dev}:${st.ino}`;
}

function keyOf(n: HostNode): string {
  return `${n.hostDev}:${n.hostIno}`;
}

/** A host id as the guest sees it (see the header): the host user's becomes the guest's. */
function mapId(hostId: number, hostUser: number, guestUser: number): number {
  if (hostId === hostUser) return guestUser;
  return hostId === guestUser ? OVERFLOW_ID : hostId;
}

/** Host inode numbers are 64-bit; keep them unique-ish within 53 bits. */
function foldIno(ino: bigint): number {
  return Number(BigInt.asUintN(53, ino ^ (ino >> 53n)));
}
