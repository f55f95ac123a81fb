// A host directory exposed to the guest, through node:fs synchronous calls
// only (so it works on Linux, macOS and Windows hosts).
//
// Confinement: a HostNode's host path is hostRoot joined with names the Vfs
// looked up one at a time. lookup uses lstat and never follows a host
// symlink; the Vfs reads link text with readlink and resolves it in the GUEST
// namespace. So no host path is ever built from a symlink target or from
// "..", and every path built is also checked to lie inside hostRoot. (A host
// process racing to swap a directory for a symlink between two calls is not
// defended against, beyond O_NOFOLLOW on the final component at open.)
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
import { isatty } from 'node:tty';
import { LinuxError, fail, fromHostError } from '../errors.ts';
import { DirectoryFile, defaultClock } from './memfs.ts';
import { KEEP_ID, modeAfterChown } from './permission.ts';
import type { DirEntry, FileSystem, Node, OpenFile, OpenIntent, Owner, StatInfo } from './types.ts';
import { S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, dtypeOfMode } from './types.ts';

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

const IS_WINDOWS = process.platform === 'win32';
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;
const NAME_MAX = 255;
const SYMLINK_MAX = 4095;

export class HostNode implements Node {
  constructor(
    readonly fs: HostFs,
    /** Host path relative to hostRoot ("" for the root), made only of looked-up names. */
    readonly relPath: string,
    /** Absolute host path (hostRoot joined with relPath). */
    readonly hostPath: string,
    /** S_IFMT bits seen by lstat at lookup. */
    readonly fileType: number,
  ) {}
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
    relPath: string,
    hostPath: string,
    /** S_IFMT and permission bits. */
    public mode: number,
    readonly rdev: number,
    public uid: number,
    public gid: number,
    readonly ino: number,
  ) {
    super(fs, relPath, hostPath, mode & S_IFMT);
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
 * A host directory's names in the order the host's getdents gives them (hash
 * order on ext4), as native Linux shows them to the guest: tar, cpio, find and
 * ls -f keep that order. fs.readdirSync would sort them (libuv's scandir);
 * fs.opendirSync reads them as they come, without "." and "..".
 */
function namesInHostOrder(hostPath: string): Buffer[] {
  // latin1 keeps every byte of a name (the types do not offer 'buffer' here).
  const dir = fs.opendirSync(hostPath, { encoding: 'latin1' });
  try {
    const names: Buffer[] = [];
    for (let e = dir.readSync(); e; e = dir.readSync()) names.push(Buffer.from(e.name, 'latin1'));
    return names;
  } finally {
    dir.closeSync();
  }
}

export class HostFs implements FileSystem {
  readonly type = 'hostfs';
  readonly dev: number;
  readonly readOnly: boolean;
  /** The real (symlink-free) absolute host path of the exposed directory. */
  readonly hostRoot: string;
  private readonly rootNode: HostNode;
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
    // realpath so the containment check compares real paths (macOS /tmp is a symlink).
    this.hostRoot = fs.realpathSync(path.resolve(opts.hostRoot));
    if (!fs.statSync(this.hostRoot).isDirectory()) throw new Error(`hostfs: ${this.hostRoot} is not a directory`);
    this.rootNode = new HostNode(this, '', this.hostRoot, S_IFDIR);
  }

  root(): HostNode {
    return this.rootNode;
  }

  // ---- lookups -------------------------------------------------------------

  lookup(dir: Node, name: string): HostNode {
    const d = this.dirOf(dir);
    const special = this.specialsIn(d)?.get(name);
    if (special) return special;
    const hostName = this.existingName(name);
    const child = this.childNode(d, hostName);
    const st = host(() => fs.lstatSync(child.hostPath, { throwIfNoEntry: false }));
    if (!st) fail('ENOENT');
    return new HostNode(this, child.relPath, child.hostPath, st.mode & S_IFMT);
  }

  stat(node: Node): StatInfo {
    const n = this.own(node);
    if (n instanceof HostSpecialNode) return n.statAt(this.dev);
    const st = this.lstat(n);
    const size = Number(st.size);
    const blksize = Number(st.blksize) || 4096;
    const mode = Number(st.mode);
    const e = this.emulated.get(inodeKey(st));
    return {
      dev: this.dev,
      ino: foldIno(st.ino),
      mode: e?.perm === undefined ? mode : (mode & S_IFMT) | e.perm,
      nlink: Number(st.nlink),
      uid: e?.uid ?? mapId(IS_WINDOWS ? 0 : Number(st.uid), this.hostIds.uid, this.guestIds.uid),
      gid: e?.gid ?? mapId(IS_WINDOWS ? 0 : Number(st.gid), this.hostIds.gid, this.guestIds.gid),
      rdev: Number(st.rdev),
      size,
      blksize,
      // Windows reports no block count: estimate it from the size.
      blocks: IS_WINDOWS ? Math.ceil(size / 4096) * 8 : Number(st.blocks),
      atimeNs: st.atimeNs,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      birthtimeNs: st.birthtimeNs,
    };
  }

  readlink(node: Node): string {
    const n = this.own(node);
    if (n instanceof HostSpecialNode) fail('EINVAL');
    const bytes = host(() => fs.readlinkSync(n.hostPath, { encoding: 'buffer' }));
    // Node on Windows stores link text with backslashes; the guest wrote slashes
    // (guest names cannot contain a backslash there, see existingName).
    const text = bytes.toString('latin1');
    return IS_WINDOWS ? text.replaceAll('\\', '/') : text;
  }

  readdir(dir: Node): DirEntry[] {
    const d = this.dirOf(dir);
    const names = host(() => namesInHostOrder(d.hostPath));
    const out: DirEntry[] = [];
    for (const raw of names) {
      const hostName = raw.toString('utf8');
      if (!Buffer.from(hostName, 'utf8').equals(raw)) continue; // not UTF-8: unreachable by name
      const guestName = raw.toString('latin1');
      if (!this.validName(guestName)) continue;
      const st = host(() => fs.lstatSync(this.childNode(d, hostName).hostPath, { bigint: true, throwIfNoEntry: false }));
      if (!st) continue; // removed meanwhile
      out.push({ name: guestName, ino: foldIno(st.ino), type: dtypeOfMode(Number(st.mode)) });
    }
    for (const [name, n] of this.specialsIn(d) ?? []) out.push({ name, ino: n.ino, type: dtypeOfMode(n.mode) });
    return out;
  }

  statfs() {
    const s = host(() => fs.statfsSync(this.hostRoot));
    return {
      type: s.type,
      bsize: s.bsize,
      blocks: s.blocks,
      bfree: s.bfree,
      bavail: s.bavail,
      files: s.files,
      ffree: s.ffree,
      namelen: NAME_MAX,
    };
  }

  // ---- open ------------------------------------------------------------------

  open(node: Node, intent: OpenIntent): OpenFile {
    const n = this.own(node);
    // FIFOs of ours are opened by the kernel (fifo.ts); no driver backs a device node.
    if (n instanceof HostSpecialNode) fail('ENXIO');
    const type = Number(this.lstat(n).mode) & S_IFMT;
    const wantsWrite = intent.write || intent.truncate;
    if (type === S_IFDIR) {
      if (wantsWrite) fail('EISDIR');
      return new DirectoryFile(n);
    }
    if (type === S_IFLNK) fail('ELOOP');
    // As Linux: a read-only mount refuses writes to files, not to devices.
    if (wantsWrite && type === S_IFREG) this.checkWritable();
    let flags = intent.write ? (intent.read ? fs.constants.O_RDWR : fs.constants.O_WRONLY) : fs.constants.O_RDONLY;
    // open(2): O_TRUNC only affects regular files. Linux truncates even with
    // O_RDONLY; other hosts may refuse that combination, so do it separately.
    if (intent.truncate && type === S_IFREG) {
      if (intent.write) flags |= fs.constants.O_TRUNC;
      else this.truncateHostFile(n, 0);
    }
    // A blocking open of a host FIFO would freeze the whole emulator.
    if (intent.nonblock || type === S_IFIFO) flags |= O_NONBLOCK;
    // O_APPEND is not passed: the fd layer positions appends at size(), and
    // a host O_APPEND would make Linux's pwrite ignore the position.
    const fd = host(() => fs.openSync(n.hostPath, flags | O_NOFOLLOW));
    return new HostFile(n, fd, type === S_IFREG);
  }

  // ---- creation ----------------------------------------------------------------

  create(dir: Node, name: string, mode: number, owner?: Owner): HostNode {
    const p = this.newChild(dir, name);
    const fd = host(() => fs.openSync(p.hostPath, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | O_NOFOLLOW, mode & 0o777));
    host(() => fs.closeSync(fd));
    const n = new HostNode(this, p.relPath, p.hostPath, S_IFREG);
    this.setExactMode(n, mode);
    this.recordOwner(n, owner);
    return n;
  }

  mkdir(dir: Node, name: string, mode: number, owner?: Owner): HostNode {
    const p = this.newChild(dir, name);
    host(() => fs.mkdirSync(p.hostPath, { mode: mode & 0o777 }));
    const n = new HostNode(this, p.relPath, p.hostPath, S_IFDIR);
    this.setExactMode(n, mode);
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
    const d = this.dirOf(dir);
    const p = this.newChild(d, name);
    const ids = owner ?? this.guestIds;
    const n = new HostSpecialNode(this, p.relPath, p.hostPath, type | (mode & 0o7777), rdev, ids.uid, ids.gid, this.nextSpecialIno++);
    this.specialsIn(d, true)!.set(name, n);
    return n;
  }

  symlink(dir: Node, name: string, target: string, owner?: Owner): HostNode {
    // symlink(2): an empty target is ENOENT; at most PATH_MAX-1 bytes.
    if (target === '') fail('ENOENT');
    if (target.length > SYMLINK_MAX) fail('ENAMETOOLONG');
    const hostTarget = toHostName(target);
    if (hostTarget === null) fail('EINVAL', 'hostfs: link text must be UTF-8');
    const p = this.newChild(dir, name);
    // Type 'file' on Windows stops Node from stat-ing the target on the host.
    host(() => fs.symlinkSync(hostTarget, p.hostPath, IS_WINDOWS ? 'file' : undefined));
    const n = new HostNode(this, p.relPath, p.hostPath, S_IFLNK);
    this.recordOwner(n, owner);
    return n;
  }

  link(target: Node, dir: Node, name: string): void {
    const t = this.own(target);
    const p = this.newChild(dir, name);
    if (t.fileType === S_IFDIR) fail('EPERM'); // link(2)
    if (t instanceof HostSpecialNode) {
      this.specialsIn(this.dirOf(dir), true)!.set(name, t);
      t.nlink++;
      t.ctimeNs = defaultClock();
      return;
    }
    host(() => fs.linkSync(t.hostPath, p.hostPath));
  }

  // ---- removal ----------------------------------------------------------------

  unlink(dir: Node, name: string): void {
    this.checkWritable();
    const n = this.lookup(dir, name);
    if (n instanceof HostSpecialNode) return this.dropSpecial(this.own(dir), name, n);
    // unlink(2): EISDIR for a directory (macOS would say EPERM).
    if (n.fileType === S_IFDIR) fail('EISDIR');
    const last = this.lastNameOf(n);
    host(() => fs.unlinkSync(n.hostPath));
    this.forget(last);
  }

  rmdir(dir: Node, name: string): void {
    this.checkWritable();
    const n = this.lookup(dir, name);
    if (n.fileType !== S_IFDIR) fail('ENOTDIR');
    const key = inodeKey(this.lstat(n));
    // The host sees it empty, but special files of ours are still in it.
    if (this.specials.get(key)?.size) fail('ENOTEMPTY');
    try {
      fs.rmdirSync(n.hostPath);
    } catch (e) {
      // rmdir(2) allows EEXIST for a non-empty directory; Linux says ENOTEMPTY.
      const err = fromHostError(e);
      throw err.code === 'EEXIST' ? new LinuxError('ENOTEMPTY') : err;
    }
    this.forget(key);
  }

  rename(fromDir: Node, fromName: string, toDir: Node, toName: string, flags: { noReplace: boolean; exchange: boolean }): void {
    if (flags.noReplace && flags.exchange) fail('EINVAL');
    this.checkWritable();
    const moving = this.lookup(fromDir, fromName);
    const dst = this.dirOf(toDir);
    const target = this.childNode(dst, this.newName(toName));
    // renameat2(2): filesystems without RENAME_EXCHANGE give EINVAL; node:fs has no way to do it.
    if (flags.exchange) fail('EINVAL', 'hostfs: RENAME_EXCHANGE is not supported');
    const replacedSpecial = this.specialsIn(dst)?.get(toName);
    if (replacedSpecial === moving) return; // two names of one inode
    if (replacedSpecial) {
      if (flags.noReplace) fail('EEXIST');
      if (moving.fileType === S_IFDIR) fail('ENOTDIR');
      this.dropSpecial(dst, toName, replacedSpecial);
    }
    if (moving instanceof HostSpecialNode) return this.moveSpecial(this.dirOf(fromDir), fromName, moving, dst, toName, target, flags.noReplace);
    const replaced = host(() => fs.lstatSync(target.hostPath, { bigint: true, throwIfNoEntry: false }));
    if (replaced && flags.noReplace) fail('EEXIST');
    if (replaced) {
      const src = this.lstat(moving);
      // rename(2): two names of one inode: do nothing. Except a change of case
      // on a case-insensitive host (macOS, Windows), where both names are one entry.
      const sameInode = src.ino === replaced.ino && src.dev === replaced.dev;
      const caseChange = moving.hostPath.toLowerCase() === target.hostPath.toLowerCase() && moving.hostPath !== target.hostPath;
      if (sameInode) {
        if (caseChange) host(() => fs.renameSync(moving.hostPath, target.hostPath));
        return;
      }
      this.checkReplaceable(moving, target, Number(replaced.mode) & S_IFMT);
    }
    // rename(2): EINVAL when a directory would move into its own subtree.
    if (moving.fileType === S_IFDIR && isInside(moving.hostPath, target.hostPath)) fail('EINVAL');
    // Windows cannot rename over a directory; Linux replaces an empty one.
    if (IS_WINDOWS && replaced?.isDirectory()) host(() => fs.rmdirSync(target.hostPath));
    host(() => fs.renameSync(moving.hostPath, target.hostPath));
    if (replaced && (replaced.isDirectory() || replaced.nlink <= 1n)) this.forget(inodeKey(replaced));
  }

  private checkReplaceable(moving: HostNode, target: HostNode, targetType: number): void {
    const movingDir = moving.fileType === S_IFDIR;
    if (movingDir && targetType !== S_IFDIR) fail('ENOTDIR');
    if (!movingDir && targetType === S_IFDIR) fail('EISDIR');
    if (targetType === S_IFDIR && host(() => fs.readdirSync(target.hostPath)).length > 0) fail('ENOTEMPTY');
  }

  // ---- attributes --------------------------------------------------------------

  truncate(node: Node, length: number): void {
    const n = this.own(node);
    if (n instanceof HostSpecialNode) fail('EINVAL');
    const type = Number(this.lstat(n).mode) & S_IFMT;
    if (type === S_IFDIR) fail('EISDIR');
    if (type !== S_IFREG) fail('EINVAL');
    if (!Number.isInteger(length) || length < 0) fail('EINVAL');
    this.checkWritable();
    this.truncateHostFile(n, length);
  }

  /** Through an fd opened with O_NOFOLLOW: truncateSync(path) would follow a symlink. */
  private truncateHostFile(n: HostNode, length: number): void {
    const fd = host(() => fs.openSync(n.hostPath, fs.constants.O_WRONLY | O_NOFOLLOW));
    try {
      host(() => fs.ftruncateSync(fd, length));
    } finally {
      fs.closeSync(fd);
    }
  }

  chmod(node: Node, mode: number): void {
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
    const n = this.own(node);
    this.checkWritable();
    if (n instanceof HostSpecialNode) {
      if (uid !== -1 && uid !== KEEP_ID) n.uid = uid;
      if (gid !== -1 && gid !== KEEP_ID) n.gid = gid;
      n.mode = modeAfterChown(n.mode);
      n.ctimeNs = defaultClock();
      return;
    }
    const before = this.stat(n);
    const e = this.entryFor(n);
    if (uid !== -1 && uid !== KEEP_ID) e.uid = uid;
    if (gid !== -1 && gid !== KEEP_ID) e.gid = gid;
    const mode = modeAfterChown(before.mode);
    if (mode !== before.mode) this.setPerm(n, mode & 0o7777);
  }

  utimes(node: Node, atimeNs: bigint | null, mtimeNs: bigint | null): void {
    const n = this.own(node);
    this.checkWritable();
    if (n instanceof HostSpecialNode) {
      if (atimeNs !== null) n.atimeNs = atimeNs;
      if (mtimeNs !== null) n.mtimeNs = mtimeNs;
      n.ctimeNs = defaultClock();
      return;
    }
    const st = atimeNs === null || mtimeNs === null ? this.lstat(n) : undefined;
    const seconds = (ns: bigint) => Number(ns) / 1e9;
    host(() => fs.lutimesSync(n.hostPath, seconds(atimeNs ?? st!.atimeNs), seconds(mtimeNs ?? st!.mtimeNs)));
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

  private lstat(n: HostNode): fs.BigIntStats {
    return host(() => fs.lstatSync(n.hostPath, { bigint: true }));
  }

  /** The emulated entry of a node's inode, made empty if it has none. */
  private entryFor(n: HostNode): EmulatedMeta {
    const key = inodeKey(this.lstat(n));
    let e = this.emulated.get(key);
    if (!e) this.emulated.set(key, (e = {}));
    return e;
  }

  /** A new node's owner, recorded when it is not what the host's own ids show as. */
  private recordOwner(n: HostNode, owner: Owner | undefined): void {
    if (!owner) return;
    const st = this.stat(n);
    if (st.uid === owner.uid && st.gid === owner.gid) return;
    Object.assign(this.entryFor(n), { uid: owner.uid, gid: owner.gid });
  }

  /**
   * chmod on the host; bits the host refuses (EPERM: not the host user's
   * file) or drops (set-id bits) are kept in the table instead.
   */
  private setPerm(n: HostNode, perm: number): void {
    try {
      fs.chmodSync(n.hostPath, perm);
    } catch (e) {
      if (fromHostError(e).code !== 'EPERM') throw fromHostError(e);
    }
    const st = this.lstat(n);
    if ((Number(st.mode) & 0o7777) !== perm && !IS_WINDOWS) this.entryFor(n).perm = perm;
    else delete this.emulated.get(inodeKey(st))?.perm;
  }

  /** The inode key of a node about to lose a name, if that is its last one (else null). */
  private lastNameOf(n: HostNode): string | null {
    const st = this.lstat(n);
    return st.nlink <= 1n ? inodeKey(st) : null;
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

  /** A node for `hostName` in `dir`, after checking its path stays under hostRoot. */
  private childNode(dir: HostNode, hostName: string): HostNode {
    const hostPath = path.join(dir.hostPath, hostName);
    if (path.dirname(hostPath) !== dir.hostPath || !isInside(this.hostRoot, hostPath)) {
      throw new Error(`hostfs: refusing host path outside the root: ${hostPath}`);
    }
    return new HostNode(this, path.relative(this.hostRoot, hostPath), hostPath, 0);
  }

  /**
   * The place for a new entry: EEXIST if taken, then EROFS (Linux's
   * filename_create reports an existing name before a read-only mount).
   */
  private newChild(dir: Node, name: string): HostNode {
    const d = this.dirOf(dir);
    const p = this.childNode(d, this.newName(name));
    if (this.specialsIn(d)?.has(name) || host(() => fs.lstatSync(p.hostPath, { throwIfNoEntry: false }))) fail('EEXIST');
    this.checkWritable();
    return p;
  }

  /** The special files of host directory `d` (made empty with `make`); none without a lookup while there are none at all. */
  private specialsIn(d: HostNode, make = false): Map<string, HostSpecialNode> | undefined {
    if (this.specials.size === 0 && !make) return undefined;
    const key = inodeKey(this.lstat(d));
    let names = this.specials.get(key);
    if (!names && make) this.specials.set(key, (names = new Map()));
    return names;
  }

  private dropSpecial(d: HostNode, name: string, n: HostSpecialNode): void {
    const key = inodeKey(this.lstat(d));
    const names = this.specials.get(key);
    names?.delete(name);
    if (names?.size === 0) this.specials.delete(key);
    n.nlink--;
    n.ctimeNs = defaultClock();
  }

  /** rename(2) of a special file: its entry moves; a host file under the new name is replaced (a directory is EISDIR). */
  private moveSpecial(src: HostNode, fromName: string, n: HostSpecialNode, dst: HostNode, toName: string, target: HostNode, noReplace: boolean): void {
    const replaced = host(() => fs.lstatSync(target.hostPath, { bigint: true, throwIfNoEntry: false }));
    if (replaced) {
      if (noReplace) fail('EEXIST');
      if (replaced.isDirectory()) fail('EISDIR');
      const key = replaced.nlink <= 1n ? inodeKey(replaced) : null;
      host(() => fs.unlinkSync(target.hostPath));
      this.forget(key);
    }
    this.dropSpecial(src, fromName, n);
    n.nlink++;
    this.specialsIn(dst, true)!.set(toName, n);
  }

  /** The host umask must not change the guest's mode (the guest already applied its own). */
  private setExactMode(n: HostNode, mode: number): void {
    if (!IS_WINDOWS) this.setPerm(n, mode & 0o7777);
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

/** Run a node:fs call, turning host errors into Linux errors. */
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

/** Whether host path `p` is `root` or below it. */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  if (rel === '') return true;
  return rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel);
}

/** The emulated table's key: the host's device and inode, shared by every hard link. */
function inodeKey(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}`;
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
