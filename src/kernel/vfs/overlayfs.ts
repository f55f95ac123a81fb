// A copy-on-write overlay (Linux's overlayfs, see
// Documentation/filesystems/overlayfs.rst): a read-only LOWER filesystem (a
// HostFs over a root directory, say) under a writable in-memory UPPER layer.
//
//   - Reads come from the lower layer until a file is modified.
//   - Modifying a lower node first "copies it up": the node (and every parent
//     directory it needs) is recreated in the upper MemFs with the lower
//     node's mode, owner and times. Opening for write copies the data (not
//     with O_TRUNC); chmod, chown and utimes copy metadata only and leave the
//     data in the lower file until it is written ("metacopy").
//   - Removing a name that exists in the lower layer records a whiteout in
//     the upper directory, so the lower entry stays hidden.
//   - A directory made where a whiteout was is "opaque": the lower directory
//     of that name is not merged into it.
//   - Every copied-up node remembers its origin in the lower layer. A copied-up
//     directory merges with its origin wherever it is, so renaming a lower
//     directory works (Linux's redirect_dir) instead of giving EXDEV.
//
// Nothing here ever calls a mutating method of the lower filesystem: the
// lower layer is only looked up, stat'ed, listed, read and readlink'ed.
//
// Inode numbers: a node that came from the lower layer keeps the lower
// inode number, before and after copy-up; a node made in the overlay gets
// UPPER_INO_BASE + its upper inode number. (Two hard links of one lower file
// become separate files when one of them is copied up, as in overlayfs
// without the "index" feature.)
import { LinuxError, fail } from '../errors.ts';
import { DirectoryFile, MEMFS_MAX_FILE_SIZE, MemFs, type MemNode } from './memfs.ts';
import type { MemoryBudget } from '../memory.ts';
import type { DirEntry, FileSystem, Node, OpenFile, OpenIntent, Owner, StatInfo } from './types.ts';
import { DT_DIR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, dtypeOfMode } from './types.ts';

export interface OverlayFsOptions {
  /** The layer underneath; never written. */
  lower: FileSystem;
  /** st_dev of every node of the overlay. */
  dev: number;
  /** Clock for timestamps of the upper layer, nanoseconds since the epoch. */
  now?: () => bigint;
  /** Owner of nodes created in the overlay. */
  uid?: number;
  gid?: number;
  /** Opens FIFOs and device nodes the guest makes with mknod(2) (see MemFsOptions.openSpecial). */
  openSpecial?: (node: MemNode, intent: OpenIntent) => OpenFile;
  /** The run's memory, which the upper layer's copies and new files are charged to (see MemFsOptions). */
  budget?: MemoryBudget | null;
  /**
   * Refuse every change with EROFS (a read-only --root): the overlay then
   * only holds the mount points set-up code makes with ensureDir.
   */
  readOnly?: boolean;
}

export interface OverlayDiff {
  /** Paths (relative to the overlay root, no leading "/") that the lower layer does not have. */
  created: string[];
  /** Paths in both whose type, mode, owner, size, mtime, link text or data differ. */
  changed: string[];
  /** Paths of the lower layer no longer visible. */
  deleted: string[];
}

/** statfs f_type of overlayfs. */
export const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
/** Inode numbers of nodes made in the overlay start here (above any plausible lower inode). */
export const UPPER_INO_BASE = 2 ** 52;

const READ: OpenIntent = { read: true, write: false, append: false, truncate: false, nonblock: false };
const COPY_CHUNK = 1 << 20;

/** Overlay bookkeeping for an upper node (Linux keeps it in trusted.overlay.* xattrs). */
interface UpperMeta {
  /** The lower node this one was copied up from (a directory merges with it). */
  origin?: { node: Node; path: string; ino: number };
  /** A directory that hides everything of the lower layer beneath its name. */
  opaque: boolean;
  /** Names removed from this directory whose lower entries must stay hidden. */
  whiteouts: Set<string>;
  /** A regular file whose metadata was copied up but whose data is still the origin's. */
  metacopy: boolean;
}

/** A node of the merged view: a lower node, an upper node, or both (copied up). */
export class OverlayNode implements Node {
  /** The upper copy, once there is one. */
  upper: MemNode | null;
  /** The directory this node was last looked up in (for copy-up), and its name there. */
  parent: OverlayNode | null;
  name: string;
  /** Its name is gone (unlinked, rmdir'ed, replaced); it may still be open. */
  removed = false;
  private cachedType = 0;
  /** @internal cached inode number */
  ino?: number;

  constructor(
    readonly fs: OverlayFs,
    parent: OverlayNode | null,
    name: string,
    /** The lower node (for a copied-up node: its origin). */
    readonly lower: Node | null,
    /** Path of `lower` inside the lower filesystem ("" for its root). */
    readonly lowerPath: string | null,
    upper: MemNode | null,
  ) {
    this.parent = parent;
    this.name = name;
    this.upper = upper;
  }

  get fileType(): number {
    if (this.upper) return this.upper.fileType;
    if (!this.cachedType) this.cachedType = this.lower!.fileType || this.fs.lower.stat(this.lower!).mode & S_IFMT;
    return this.cachedType;
  }
}

export class OverlayFs implements FileSystem {
  readonly type = 'overlay';
  readonly readOnly: boolean;
  readonly dev: number;
  readonly lower: FileSystem;
  /** The upper layer: every change lives here. */
  readonly upper: MemFs;
  private readonly meta = new WeakMap<MemNode, UpperMeta>();
  private readonly byUpper = new WeakMap<MemNode, OverlayNode>();
  /** Lower-only nodes by lower path, so everyone holding one sees its copy-up. */
  private readonly byLowerPath = new Map<string, WeakRef<OverlayNode>>();
  private pruneAt = 1024;
  /** Upper directories made by set-up code (mount points), left out of diff(). */
  private readonly hidden = new WeakSet<MemNode>();
  private readonly rootNode: OverlayNode;
  private orphans = 0;

  constructor(opts: OverlayFsOptions) {
    this.dev = opts.dev;
    this.readOnly = opts.readOnly ?? false;
    this.lower = opts.lower;
    this.upper = new MemFs({ type: 'overlay', dev: opts.dev, now: opts.now, uid: opts.uid, gid: opts.gid, openSpecial: opts.openSpecial, budget: opts.budget });
    const lowerRoot = this.lower.root();
    const st = this.lower.stat(lowerRoot);
    const u = this.upper.root();
    this.copyAttrs(u, st);
    this.meta.set(u, { origin: { node: lowerRoot, path: '', ino: st.ino }, opaque: false, whiteouts: new Set(), metacopy: false });
    this.rootNode = new OverlayNode(this, null, '', lowerRoot, '', u);
    this.rootNode.ino = st.ino;
    this.byUpper.set(u, this.rootNode);
  }

  root(): OverlayNode {
    return this.rootNode;
  }

  // ---- lookups -----------------------------------------------------------------

  lookup(dir: Node, name: string): OverlayNode {
    const d = this.dirOf(dir);
    if (name === '.' || name === '..') fail('EINVAL', 'the Vfs resolves "." and ".."');
    if (d.upper) {
      const u = d.upper.entries!.get(name);
      if (u) return this.nodeForUpper(u, d, name);
      if (this.metaOf(d.upper).whiteouts.has(name)) fail('ENOENT');
    }
    const ld = this.mergedLower(d);
    if (!ld) fail('ENOENT');
    const ln = this.lower.lookup(ld.node, name);
    const lp = joinRel(ld.path, name);
    const cached = this.byLowerPath.get(lp)?.deref();
    if (cached && !cached.upper && !cached.removed) {
      cached.parent = d;
      cached.name = name;
      return cached;
    }
    const n = new OverlayNode(this, d, name, ln, lp, null);
    this.byLowerPath.set(lp, new WeakRef(n));
    if (this.byLowerPath.size >= this.pruneAt) this.prune();
    return n;
  }

  stat(node: Node): StatInfo {
    const n = this.own(node);
    if (!n.upper) {
      const st = this.lower.stat(n.lower!);
      n.ino = st.ino;
      return { ...st, dev: this.dev };
    }
    const st = this.upper.stat(n.upper);
    const m = this.metaOf(n.upper);
    if (m.metacopy && n.lower) {
      const ls = this.lower.stat(n.lower);
      st.size = ls.size;
      st.blocks = ls.blocks;
    }
    // Linux reports 1 for a merged directory: its subdirectory count is unknown.
    if (n.upper.isDir && this.mergedLower(n)) st.nlink = 1;
    return { ...st, dev: this.dev, ino: this.inoOf(n) };
  }

  readlink(node: Node): string {
    const n = this.own(node);
    return n.upper ? this.upper.readlink(n.upper) : this.lower.readlink(n.lower!);
  }

  readdir(dir: Node): DirEntry[] {
    const d = this.dirOf(dir);
    if (!d.upper) return this.lower.readdir(d.lower!);
    const u = d.upper;
    const { whiteouts } = this.metaOf(u);
    const ld = this.mergedLower(d);
    const out: DirEntry[] = [];
    const shown = new Set<string>();
    // Lower order first (a name keeps its place when it is copied up), then new names.
    if (ld) {
      for (const e of this.lower.readdir(ld.node)) {
        if (whiteouts.has(e.name)) continue;
        const un = u.entries!.get(e.name);
        if (un) {
          out.push(this.upperEntry(e.name, un));
          shown.add(e.name);
        } else {
          out.push(e);
        }
      }
    }
    for (const [name, un] of u.entries!) if (!shown.has(name)) out.push(this.upperEntry(name, un));
    return out;
  }

  statfs() {
    const s = this.lower.statfs?.() ?? this.upper.statfs();
    return { ...s, type: OVERLAYFS_SUPER_MAGIC };
  }

  release(): void {
    this.lower.release?.();
  }

  // ---- open ----------------------------------------------------------------------

  open(node: Node, intent: OpenIntent): OpenFile {
    const n = this.own(node);
    const type = n.fileType;
    const wantsWrite = intent.write || intent.truncate;
    if (wantsWrite && type === S_IFREG) this.checkWritable();
    if (type === S_IFDIR) {
      if (wantsWrite) fail('EISDIR');
      return new DirectoryFile(n);
    }
    if (type === S_IFLNK) fail('ELOOP');
    if (type === S_IFREG) {
      if (wantsWrite) {
        const u = this.copyUp(n, intent.truncate ? 'nodata' : 'data');
        return new OverlayFile(n, this.upper.open(u, intent), true);
      }
      if (n.upper && !this.metaOf(n.upper).metacopy) return new OverlayFile(n, this.upper.open(n.upper, intent), true);
      return new OverlayFile(n, this.lower.open(n.lower!, intent), false);
    }
    // FIFOs, sockets and devices: opened where they are (no copy-up), as overlayfs does.
    if (n.upper) return new OverlayFile(n, this.upper.open(n.upper, intent), true);
    return new OverlayFile(n, this.lower.open(n.lower!, intent), false);
  }

  // ---- creation --------------------------------------------------------------------

  create(dir: Node, name: string, mode: number, owner?: Owner): OverlayNode {
    this.checkWritable();
    const d = this.dirOf(dir);
    this.checkAbsent(d, name);
    const pu = this.copyUpDir(d);
    const u = this.upper.create(pu, name, mode, owner);
    this.metaOf(pu).whiteouts.delete(name);
    return this.adopt(u, d, name);
  }

  mkdir(dir: Node, name: string, mode: number, owner?: Owner): OverlayNode {
    this.checkWritable();
    return this.makeDir(dir, name, mode, owner);
  }

  private makeDir(dir: Node, name: string, mode: number, owner?: Owner): OverlayNode {
    const d = this.dirOf(dir);
    this.checkAbsent(d, name);
    const pu = this.copyUpDir(d);
    const u = this.upper.mkdir(pu, name, mode, owner);
    const wm = this.metaOf(pu);
    // Made over a whiteout: the lower directory of that name stays hidden.
    if (wm.whiteouts.delete(name)) this.metaOf(u).opaque = true;
    return this.adopt(u, d, name);
  }

  mknod(dir: Node, name: string, mode: number, rdev: number, owner?: Owner): OverlayNode {
    this.checkWritable();
    const d = this.dirOf(dir);
    this.checkAbsent(d, name);
    const pu = this.copyUpDir(d);
    const u = this.upper.mknod(pu, name, mode, rdev, owner);
    this.metaOf(pu).whiteouts.delete(name);
    return this.adopt(u, d, name);
  }

  symlink(dir: Node, name: string, target: string, owner?: Owner): OverlayNode {
    this.checkWritable();
    const d = this.dirOf(dir);
    if (target === '') fail('ENOENT');
    this.checkAbsent(d, name);
    const pu = this.copyUpDir(d);
    const u = this.upper.symlink(pu, name, target, owner);
    this.metaOf(pu).whiteouts.delete(name);
    return this.adopt(u, d, name);
  }

  link(target: Node, dir: Node, name: string): void {
    this.checkWritable();
    const t = this.own(target);
    const d = this.dirOf(dir);
    this.checkAbsent(d, name);
    // link(2): EPERM for directories; a file with no names left cannot get one back.
    if (t.fileType === S_IFDIR) fail('EPERM');
    if (t.removed && (!t.upper || t.upper.nlink === 0)) fail('ENOENT');
    const u = this.copyUp(t, 'meta');
    const pu = this.copyUpDir(d);
    this.upper.link(u, pu, name);
    this.metaOf(pu).whiteouts.delete(name);
  }

  // ---- removal ---------------------------------------------------------------------

  unlink(dir: Node, name: string): void {
    this.checkWritable();
    const d = this.dirOf(dir);
    const n = this.lookup(d, name);
    if (n.fileType === S_IFDIR) fail('EISDIR');
    const pu = this.copyUpDir(d);
    this.removeName(d, pu, name, n);
    if (!n.upper || n.upper.nlink === 0) n.removed = true;
  }

  rmdir(dir: Node, name: string): void {
    this.checkWritable();
    const d = this.dirOf(dir);
    const n = this.lookup(d, name);
    if (n.fileType !== S_IFDIR) fail('ENOTDIR');
    if (this.readdir(n).length > 0) fail('ENOTEMPTY');
    const pu = this.copyUpDir(d);
    this.removeName(d, pu, name, n);
    n.removed = true;
  }

  /** Drop `name` (node `n`) from directory `d` (upper `pu`), leaving a whiteout if the lower layer has it. */
  private removeName(d: OverlayNode, pu: MemNode, name: string, n: OverlayNode): void {
    if (n.upper && pu.entries!.get(name) === n.upper) {
      if (n.upper.isDir) this.upper.rmdir(pu, name);
      else this.upper.unlink(pu, name);
    } else {
      pu.mtimeNs = pu.ctimeNs = this.upper.now();
    }
    if (this.lowerHas(d, name)) this.metaOf(pu).whiteouts.add(name);
  }

  // ---- rename ------------------------------------------------------------------------

  rename(fromDir: Node, fromName: string, toDir: Node, toName: string, flags: { noReplace: boolean; exchange: boolean }): void {
    this.checkWritable();
    if (flags.noReplace && flags.exchange) fail('EINVAL');
    const src = this.dirOf(fromDir);
    const dst = this.dirOf(toDir);
    const moving = this.lookup(src, fromName);
    const replaced = this.lookupOrNull(dst, toName);
    if (dst.removed) fail('ENOENT');
    checkName(toName);
    if (flags.exchange) {
      if (!replaced) fail('ENOENT');
      if (replaced === moving) return;
      if ((moving.fileType === S_IFDIR && isAncestor(moving, dst)) || (replaced.fileType === S_IFDIR && isAncestor(replaced, src))) fail('EINVAL');
      this.copyUp(moving, 'meta');
      this.copyUp(replaced, 'meta');
      const pa = this.copyUpDir(src);
      const pb = this.copyUpDir(dst);
      this.upper.rename(pa, fromName, pb, toName, flags);
      [moving.parent, moving.name, replaced.parent, replaced.name] = [dst, toName, src, fromName];
      return;
    }
    if (replaced && flags.noReplace) fail('EEXIST');
    // rename(2): two names of one file: nothing to do.
    if (replaced === moving) return;
    const movingDir = moving.fileType === S_IFDIR;
    if (replaced) {
      const replacedDir = replaced.fileType === S_IFDIR;
      if (movingDir && !replacedDir) fail('ENOTDIR');
      if (!movingDir && replacedDir) fail('EISDIR');
      if (replacedDir && this.readdir(replaced).length > 0) fail('ENOTEMPTY');
    }
    if (movingDir && isAncestor(moving, dst)) fail('EINVAL');
    // A moved directory takes its origin along, so it keeps merging with it (redirect_dir).
    this.copyUp(moving, 'meta');
    const pa = this.copyUpDir(src);
    const pb = this.copyUpDir(dst);
    this.upper.rename(pa, fromName, pb, toName, { noReplace: false, exchange: false });
    this.metaOf(pb).whiteouts.delete(toName);
    if (this.lowerHas(src, fromName)) this.metaOf(pa).whiteouts.add(fromName);
    if (replaced && (!replaced.upper || replaced.upper.nlink === 0)) replaced.removed = true;
    moving.parent = dst;
    moving.name = toName;
  }

  // ---- attributes ------------------------------------------------------------------------

  truncate(node: Node, length: number): void {
    this.checkWritable();
    const n = this.own(node);
    const type = n.fileType;
    if (type === S_IFDIR) fail('EISDIR');
    if (type !== S_IFREG) fail('EINVAL');
    if (!Number.isInteger(length) || length < 0) fail('EINVAL');
    if (length > MEMFS_MAX_FILE_SIZE) fail('EFBIG');
    const u = this.copyUp(n, length === 0 ? 'nodata' : 'data');
    this.upper.truncate(u, length);
  }

  chmod(node: Node, mode: number): void {
    this.checkWritable();
    const n = this.own(node);
    // fchmodat(2): symlinks have no mode of their own on Linux.
    if (n.fileType === S_IFLNK) fail('EOPNOTSUPP');
    this.upper.chmod(this.copyUp(n, 'meta'), mode);
  }

  chown(node: Node, uid: number, gid: number): void {
    this.checkWritable();
    const n = this.own(node);
    this.upper.chown(this.copyUp(n, 'meta'), uid, gid);
  }

  utimes(node: Node, atimeNs: bigint | null, mtimeNs: bigint | null): void {
    this.checkWritable();
    const n = this.own(node);
    this.upper.utimes(this.copyUp(n, 'meta'), atimeNs, mtimeNs);
  }

  // ---- set-up and reporting -------------------------------------------------------------------

  /**
   * The directory `name` in `dir`, made in the upper layer if missing (for
   * mount points made before the guest runs; diff() leaves these out).
   */
  ensureDir(dir: Node, name: string, mode = 0o755): OverlayNode {
    const d = this.dirOf(dir);
    const existing = this.lookupOrNull(d, name);
    if (existing) {
      if (existing.fileType !== S_IFDIR) fail('ENOTDIR');
      return existing;
    }
    const n = this.makeDir(d, name, mode);
    this.hidden.add(n.upper!);
    return n;
  }

  /** EROFS for a read-only overlay (see OverlayFsOptions.readOnly). */
  private checkWritable(): void {
    if (this.readOnly) fail('EROFS');
  }

  /** Whether the merged directory `dir` hides `name` of the lower layer with a whiteout. */
  isWhiteout(dir: Node, name: string): boolean {
    const d = this.dirOf(dir);
    return !!d.upper && this.metaOf(d.upper).whiteouts.has(name);
  }

  /** Whether `dir` is an opaque directory (made over a whiteout: no lower entries show through). */
  isOpaque(dir: Node): boolean {
    const d = this.dirOf(dir);
    return !!d.upper && this.metaOf(d.upper).opaque;
  }

  /** Whether `node` has been copied up (or made) in the upper layer. */
  isCopiedUp(node: Node): boolean {
    return this.own(node).upper !== null;
  }

  /**
   * What the overlay changed relative to the lower layer, compared path by
   * path (a rename shows as a deletion and a creation). Directories count as
   * changed only when their own mode or owner changed; the contents of a
   * created or deleted directory are listed too. Sorted; no leading "/".
   */
  diff(): OverlayDiff {
    const out: OverlayDiff = { created: [], changed: [], deleted: [] };
    this.diffDir(this.rootNode, '', this.lower.root(), out);
    return { created: out.created.sort(), changed: out.changed.sort(), deleted: out.deleted.sort() };
  }

  private diffDir(d: OverlayNode, rel: string, ld: Node | null, out: OverlayDiff): void {
    // A directory never copied up, at its own lower path, is unchanged all the way down.
    if (!d.upper && ld && d.lowerPath === rel) return;
    const merged = this.readdir(d);
    const lowerEntries = ld ? this.lower.readdir(ld) : [];
    const lowerNames = new Set(lowerEntries.map((e) => e.name));
    const mergedNames = new Set<string>();
    for (const e of merged) {
      mergedNames.add(e.name);
      const child = this.lookup(d, e.name);
      if (child.upper && this.hidden.has(child.upper)) continue;
      const p = joinRel(rel, e.name);
      const lc = lowerNames.has(e.name) ? this.lowerLookupOrNull(ld!, e.name) : null;
      if (!lc) {
        out.created.push(p);
        if (child.fileType === S_IFDIR) this.diffDir(child, p, null, out);
        continue;
      }
      const ct = child.fileType;
      const lt = lc.fileType || this.lower.stat(lc).mode & S_IFMT;
      if (ct !== lt) {
        out.changed.push(p);
        if (lt === S_IFDIR) this.listLower(lc, p, out.deleted);
        if (ct === S_IFDIR) this.diffDir(child, p, null, out);
        continue;
      }
      if (this.differs(child, lc, p)) out.changed.push(p);
      if (ct === S_IFDIR) this.diffDir(child, p, lc, out);
    }
    for (const e of lowerEntries) {
      if (mergedNames.has(e.name)) continue;
      const p = joinRel(rel, e.name);
      out.deleted.push(p);
      if (e.type === DT_DIR) {
        const lc = this.lowerLookupOrNull(ld!, e.name);
        if (lc) this.listLower(lc, p, out.deleted);
      }
    }
  }

  /** Whether overlay node `n` at `p` differs from lower node `l` of the same type at `p`. */
  private differs(n: OverlayNode, l: Node, p: string): boolean {
    if (!n.upper && n.lowerPath === p) return false;
    const a = this.stat(n);
    const b = this.lower.stat(l);
    if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true;
    const type = a.mode & S_IFMT;
    if (type === S_IFDIR) return false;
    if (a.size !== b.size || a.mtimeNs !== b.mtimeNs || a.rdev !== b.rdev) return true;
    if (type === S_IFLNK) return this.readlink(n) !== this.lower.readlink(l);
    if (type !== S_IFREG) return false;
    // Same size and mtime: compare bytes unless the data is still that very lower file.
    if (n.upper && this.metaOf(n.upper).metacopy && n.lowerPath === p) return false;
    try {
      const mine = n.upper && !this.metaOf(n.upper).metacopy ? n.upper.data.subarray(0, n.upper.size) : readAll(this.lower, n.lower!);
      return !Buffer.from(mine).equals(Buffer.from(readAll(this.lower, l)));
    } catch (e) {
      // A lower file the host will not let us read: report it rather than fail the whole diff.
      if (e instanceof LinuxError) return true;
      throw e;
    }
  }

  private listLower(dir: Node, rel: string, into: string[]): void {
    let entries: DirEntry[];
    try {
      entries = this.lower.readdir(dir);
    } catch (e) {
      if (e instanceof LinuxError) return; // unreadable on the host: only its own name is listed
      throw e;
    }
    for (const e of entries) {
      const p = joinRel(rel, e.name);
      into.push(p);
      if (e.type === DT_DIR) {
        const c = this.lowerLookupOrNull(dir, e.name);
        if (c) this.listLower(c, p, into);
      }
    }
  }

  // ---- copy-up -------------------------------------------------------------------------------

  /**
   * The upper node of `n`, copying it (and its parents) up first. 'data'
   * copies a regular file's bytes; 'nodata' does not (it is about to be
   * truncated to 0); 'meta' leaves them in the lower file until needed.
   */
  private copyUp(n: OverlayNode, want: 'meta' | 'data' | 'nodata'): MemNode {
    if (n.upper) {
      const m = this.metaOf(n.upper);
      if (m.metacopy && want !== 'meta') {
        if (want === 'data') this.fillData(n.upper, n.lower!);
        m.metacopy = false;
      }
      return n.upper;
    }
    const ln = n.lower!;
    const st = this.lower.stat(ln);
    const type = st.mode & S_IFMT;
    let pu: MemNode;
    let name: string;
    const orphan = n.removed;
    if (orphan) {
      // Still open but its name is gone: copy it up under a temporary name, then drop that name.
      if (type === S_IFDIR) fail('ENOENT');
      pu = this.upper.root();
      do name = `.tslinux-orphan-${++this.orphans}`;
      while (pu.entries!.has(name));
    } else {
      pu = this.copyUpDir(n.parent!);
      name = n.name;
    }
    const parentTimes = { m: pu.mtimeNs, c: pu.ctimeNs };
    let u: MemNode;
    let metacopy = false;
    switch (type) {
      case S_IFDIR:
        u = this.upper.mkdir(pu, name, st.mode);
        break;
      case S_IFREG:
        u = this.upper.create(pu, name, st.mode);
        if (want === 'data') this.fillData(u, ln);
        else if (want === 'meta') metacopy = st.size > 0;
        break;
      case S_IFLNK:
        u = this.upper.symlink(pu, name, this.lower.readlink(ln));
        break;
      default:
        u = this.upper.mknod(pu, name, st.mode, st.rdev);
    }
    this.copyAttrs(u, st);
    this.meta.set(u, { origin: { node: ln, path: n.lowerPath!, ino: st.ino }, opaque: false, whiteouts: new Set(), metacopy });
    if (orphan) this.upper.unlink(pu, name);
    // As overlayfs: copying up does not change the parent's times.
    pu.mtimeNs = parentTimes.m;
    pu.ctimeNs = parentTimes.c;
    n.upper = u;
    n.ino = st.ino;
    this.byUpper.set(u, n);
    return u;
  }

  private copyUpDir(d: OverlayNode): MemNode {
    if (d.upper) return d.upper;
    if (d.removed) fail('ENOENT');
    return this.copyUp(d, 'meta');
  }

  /** Copy a lower file's bytes into its upper node, keeping the upper node's times. */
  private fillData(u: MemNode, ln: Node): void {
    const f = this.lower.open(ln, READ);
    try {
      const size = f.size();
      if (size > MEMFS_MAX_FILE_SIZE) fail('EFBIG');
      const data = this.upper.replaceData(u, size, 0);
      let pos = 0;
      while (pos < size) {
        const k = f.read(data.subarray(pos, Math.min(size, pos + COPY_CHUNK)), pos);
        if (k === 0) break;
        pos += k;
      }
      u.size = pos;
    } finally {
      f.close();
    }
  }

  private copyAttrs(u: MemNode, st: StatInfo): void {
    u.mode = (u.mode & S_IFMT) | (st.mode & 0o7777);
    u.uid = st.uid;
    u.gid = st.gid;
    u.atimeNs = st.atimeNs;
    u.mtimeNs = st.mtimeNs;
    u.ctimeNs = st.ctimeNs;
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** @internal Whether an upper regular file still reads its data from the lower layer. */
  isMetacopy(u: MemNode): boolean {
    return this.meta.get(u)?.metacopy ?? false;
  }

  private metaOf(u: MemNode): UpperMeta {
    let m = this.meta.get(u);
    if (!m) {
      m = { opaque: false, whiteouts: new Set(), metacopy: false };
      this.meta.set(u, m);
    }
    return m;
  }

  /** The lower directory merged into `d`, with its lower path; null for none (new, opaque). */
  private mergedLower(d: OverlayNode): { node: Node; path: string } | null {
    if (d.upper) {
      const m = this.metaOf(d.upper);
      if (m.opaque || !m.origin || !d.upper.isDir) return null;
      return m.origin;
    }
    return d.lower ? { node: d.lower, path: d.lowerPath! } : null;
  }

  private lowerHas(d: OverlayNode, name: string): boolean {
    const ld = this.mergedLower(d);
    return ld !== null && this.lowerLookupOrNull(ld.node, name) !== null;
  }

  private lowerLookupOrNull(dir: Node, name: string): Node | null {
    try {
      return this.lower.lookup(dir, name);
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) return null;
      throw e;
    }
  }

  private lookupOrNull(d: OverlayNode, name: string): OverlayNode | null {
    try {
      return this.lookup(d, name);
    } catch (e) {
      if (isCode(e, 'ENOENT')) return null;
      throw e;
    }
  }

  /** For calls that add a name: EEXIST if taken; ENOENT in a removed directory. */
  private checkAbsent(d: OverlayNode, name: string): void {
    checkName(name);
    if (d.removed) fail('ENOENT');
    if (this.lookupOrNull(d, name)) fail('EEXIST');
  }

  private nodeForUpper(u: MemNode, parent: OverlayNode, name: string): OverlayNode {
    let n = this.byUpper.get(u);
    if (!n) {
      const origin = this.metaOf(u).origin;
      n = new OverlayNode(this, parent, name, origin?.node ?? null, origin?.path ?? null, u);
      this.byUpper.set(u, n);
    }
    n.parent = parent;
    n.name = name;
    return n;
  }

  private adopt(u: MemNode, parent: OverlayNode, name: string): OverlayNode {
    const n = new OverlayNode(this, parent, name, null, null, u);
    this.byUpper.set(u, n);
    return n;
  }

  private upperEntry(name: string, u: MemNode): DirEntry {
    return { name, ino: this.upperIno(u), type: dtypeOfMode(u.mode) };
  }

  private upperIno(u: MemNode): number {
    return this.meta.get(u)?.origin?.ino ?? UPPER_INO_BASE + u.ino;
  }

  private inoOf(n: OverlayNode): number {
    if (n.ino === undefined) n.ino = n.upper ? this.upperIno(n.upper) : this.lower.stat(n.lower!).ino;
    return n.ino;
  }

  private prune(): void {
    for (const [k, ref] of this.byLowerPath) if (!ref.deref()) this.byLowerPath.delete(k);
    this.pruneAt = Math.max(1024, this.byLowerPath.size * 2);
  }

  private own(node: Node): OverlayNode {
    if (!(node instanceof OverlayNode) || node.fs !== this) throw new Error('overlayfs: node from another filesystem');
    return node;
  }

  private dirOf(node: Node): OverlayNode {
    const n = this.own(node);
    if (n.fileType !== S_IFDIR) fail('ENOTDIR');
    return n;
  }
}

/**
 * An open file of the overlay. A read-only open of a lower file moves to the
 * upper copy once the file is copied up, so every fd sees the same data
 * (as overlayfs does since Linux 4.19).
 */
class OverlayFile implements OpenFile {
  constructor(
    readonly node: OverlayNode,
    private inner: OpenFile,
    private onUpper: boolean,
  ) {}

  get seekable(): boolean {
    return this.inner.seekable;
  }
  get hostFd(): number | undefined {
    return this.inner.hostFd;
  }
  get isTty(): boolean | undefined {
    return this.inner.isTty;
  }

  read(buf: Uint8Array, position: number): number {
    this.follow();
    return this.inner.read(buf, position);
  }

  write(buf: Uint8Array, position: number): number {
    return this.inner.write(buf, position);
  }

  size(): number {
    this.follow();
    return this.inner.size();
  }

  sync(): void {
    this.inner.sync?.();
  }

  close(): void {
    this.inner.close();
  }

  private follow(): void {
    const u = this.node.upper;
    if (this.onUpper || !u || !u.isRegular || this.node.fs.isMetacopy(u)) return;
    const next = this.node.fs.upper.open(u, READ);
    this.inner.close();
    this.inner = next;
    this.onUpper = true;
  }
}

function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function isCode(e: unknown, code: string): boolean {
  return e instanceof LinuxError && e.code === code;
}

/** Names a guest can give to a new entry (as MemFs checks them). */
function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) fail('EINVAL');
  if (name.length > 255) fail('ENAMETOOLONG');
}

/** Whether directory `a` is `b` or one of b's ancestors. */
function isAncestor(a: OverlayNode, b: OverlayNode): boolean {
  for (let d: OverlayNode | null = b; d; d = d.parent) if (d === a) return true;
  return false;
}

function readAll(fsys: FileSystem, node: Node): Uint8Array {
  const f = fsys.open(node, READ);
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(COPY_CHUNK);
    for (let pos = 0; ; ) {
      const k = f.read(buf, pos);
      if (k === 0) break;
      chunks.push(buf.slice(0, k));
      pos += k;
    }
    return Buffer.concat(chunks);
  } finally {
    f.close();
  }
}
