// The guest's single namespace: filesystems joined by mounts, and path
// resolution as path_resolution(7) describes it.
//
// Paths are guest byte strings (one char per byte, as Memory.readCString
// decodes them), so a string's length is its length in bytes.
//
// The Vfs is where "..", symlinks and mount boundaries are handled, all in
// the guest namespace: a FileSystem is only ever asked to look up one plain
// name in one of its own directories. That is what keeps a HostFs confined to
// its host directory: ".." at a mount's root leaves for the covering
// filesystem, and a symlink's text is resolved from the guest root or from the
// link's guest directory, never by the host.
import { LinuxError, fail } from '../errors.ts';
import { MemFs } from './memfs.ts';
import type { FileSystem, Node } from './types.ts';
import { S_IFDIR, S_IFLNK, S_IFMT } from './types.ts';

/** Longest path, including its NUL (path_resolution(7), limits.h). */
export const PATH_MAX = 4096;
/** Longest single component, in bytes. */
export const NAME_MAX = 255;
/** Symlinks followed in one resolution before ELOOP (path_resolution(7)). */
export const MAXSYMLINKS = 40;

/** A place in the guest namespace. `path` is canonical: absolute, no ".", "..", symlinks or repeated slashes. */
export interface Resolved {
  node: Node;
  fs: FileSystem;
  path: string;
}

/**
 * Where a name is to be created or removed. The name itself is not resolved
 * (so it may be a symlink, or absent). Besides ordinary names it can be "."
 * or ".." (the path ended with one) or "/" (the path was only slashes); see
 * Vfs.resolveParent for what each call should make of those.
 */
export interface ResolvedParent {
  dir: Node;
  fs: FileSystem;
  /** Canonical guest path of `dir`. */
  dirPath: string;
  name: string;
  /** The path ended with "/" after the name (path_resolution(7): the name must be a directory). */
  trailingSlash: boolean;
}

export interface MountInfo {
  /** Canonical guest path of the mount point. */
  path: string;
  fs: FileSystem;
  /** First field of /proc/self/mounts ("tmpfs", a host path, ...). */
  source: string;
  /** Fourth field of /proc/self/mounts ("rw", "ro,nosuid", ...). */
  options: string;
}

export interface ResolveOptions {
  /**
   * Where relative paths start: the canonical guest path of a directory (the
   * cwd, a directory fd's path), or an already resolved place, which saves
   * walking that path again.
   */
  base: string | Resolved;
  /** Follow a symlink in the final component (false for lstat, O_NOFOLLOW, ...). */
  follow: boolean;
  /** The result must be a directory (O_DIRECTORY, chdir): ENOTDIR otherwise. */
  mustBeDir?: boolean;
  /** Called with each directory a name is looked up in (search permission, see MayLookup). */
  mayLookup?: MayLookup;
}

/**
 * may_lookup(): throws (EACCES) when the caller may not search `dir`. The
 * Vfs knows no credentials; the syscall layer passes this in. A relative
 * walk's starting directory (the cwd, a dirfd) is not re-checked from the
 * root: the caller already holds it.
 */
export type MayLookup = (dir: Resolved) => void;

/**
 * The call resolveParent works for, so it can give that call's errors for
 * special final names and trailing slashes (see Vfs.resolveParent).
 * "create" covers every call that makes a new non-directory name: mknod,
 * symlink's and link's new path (not open(O_CREAT), see resolveForCreate).
 */
export type ParentOp = 'create' | 'mkdir' | 'unlink' | 'rmdir' | 'rename' | 'renameNoReplace';

/** What open(O_CREAT) needs: the file, or where to create it. */
export type CreateLookup = { found: Resolved; missing?: undefined } | { missing: ResolvedParent; found?: undefined };

/** rename(2) and link(2) give EXDEV unless both places are in one filesystem. */
export function sameFs(a: { fs: FileSystem }, b: { fs: FileSystem }): boolean {
  return a.fs === b.fs;
}

export class Vfs {
  /** In mount order (for /proc/self/mounts); the root is first. */
  private readonly table: MountInfo[] = [];
  private readonly byPath = new Map<string, MountInfo>();

  constructor(root: FileSystem, source = root.type, options = defaultOptions(root)) {
    this.addMount({ path: '/', fs: root, source, options });
  }

  // ---- mounts ----------------------------------------------------------------

  /**
   * Mount `fs` at `guestPath` (absolute; symlinks in it are followed, as
   * mount(8) does). A missing mount point is made when the filesystem
   * underneath is a MemFs; a mount already there is replaced. A filesystem
   * whose root is a file (a single-file bind mount, hostfile.ts) goes on a
   * file: a missing one is made empty, its directories as for any mount.
   */
  mount(guestPath: string, fs: FileSystem, source: string = fs.type, options: string = defaultOptions(fs)): void {
    if (!guestPath.startsWith('/')) throw new Error(`vfs: mount point must be absolute: ${guestPath}`);
    const path = this.makeMountPoint(guestPath, typeOf({ node: fs.root(), fs, path: '/' }) === S_IFDIR);
    this.addMount({ path, fs, source, options });
  }

  /** Remove the mount at `guestPath`: EINVAL if none, EBUSY for "/" or a mount with mounts below it. */
  umount(guestPath: string): void {
    const at = this.resolve(guestPath, { base: '/', follow: true });
    const m = this.byPath.get(at.path);
    if (!m || at.node !== m.fs.root()) fail('EINVAL');
    if (at.path === '/' || this.table.some((o) => o.path.startsWith(at.path + '/'))) fail('EBUSY');
    this.table.splice(this.table.indexOf(m), 1);
    this.byPath.delete(at.path);
  }

  /** The run is over: every mounted filesystem lets go of what it holds of the host and can take again. */
  release(): void {
    for (const m of this.table) m.fs.release?.();
  }

  mounts(): MountInfo[] {
    return this.table.map((m) => ({ ...m }));
  }

  /** Whether a canonical guest path is a mount point (rmdir and rename of one give EBUSY). */
  isMountPoint(path: string): boolean {
    return this.byPath.has(path);
  }

  sameFs(a: { fs: FileSystem }, b: { fs: FileSystem }): boolean {
    return sameFs(a, b);
  }

  /** The guest root. */
  root(): Resolved {
    const m = this.byPath.get('/')!;
    return { node: m.fs.root(), fs: m.fs, path: '/' };
  }

  // ---- resolution --------------------------------------------------------------

  /**
   * Resolve a whole path. Errors as path_resolution(7): ENOENT (missing
   * component, empty path), ENOTDIR (a non-directory before "/" or with
   * mustBeDir or a trailing slash), ELOOP (more than 40 symlinks),
   * ENAMETOOLONG (component over 255 bytes, path of 4096 bytes or more).
   */
  resolve(path: string, opts: ResolveOptions): Resolved {
    const p = parsePath(path);
    const walk = this.startWalk(p.absolute, opts.base);
    const result = walk.run(p.names, { follow: opts.follow, trailingSlash: p.trailingSlash, mustBeDir: !!opts.mustBeDir, allowMissing: false, mayLookup: opts.mayLookup });
    return result.found!;
  }

  /**
   * open(O_CREAT): the existing file (following a final symlink when
   * `follow`, even a dangling one, whose target is then what is missing), or
   * the directory and name to create. Only a missing LAST component counts
   * as missing; others give ENOENT. Callers still apply open(2)'s rules: a
   * path ending in "/" with O_CREAT is EISDIR; O_EXCL means follow=false and
   * EEXIST for anything found, symlink or not.
   */
  resolveForCreate(path: string, opts: { base: string | Resolved; follow: boolean; mayLookup?: MayLookup }): CreateLookup {
    const p = parsePath(path);
    const walk = this.startWalk(p.absolute, opts.base);
    return walk.run(p.names, { follow: opts.follow, trailingSlash: p.trailingSlash, mustBeDir: false, allowMissing: true, mayLookup: opts.mayLookup });
  }

  /**
   * Resolve all but the last component, for calls that create or remove a
   * name. Empty path: ENOENT. A name over 255 bytes: ENAMETOOLONG.
   *
   * Without `op`, special names come back as they are and the caller gives
   * the error. With `op`, this gives Linux's errors (fs/namei.c), so a
   * returned name is always an ordinary one:
   *   name ".", ".." or "/":  create, mkdir: EEXIST; unlink: EISDIR;
   *                           rmdir: EINVAL for ".", ENOTEMPTY for "..", EBUSY for "/";
   *                           rename: EBUSY; renameNoReplace (the new path with RENAME_NOREPLACE): EEXIST.
   *   trailing slash:         create: EEXIST if the name exists, else ENOENT;
   *                           unlink: ENOENT, EISDIR for a directory, else ENOTDIR;
   *                           mkdir, rmdir: allowed (the fs checks the type);
   *                           rename: allowed here; the caller gives ENOTDIR when the
   *                           source is not a directory and either path has one.
   *   a mount point:          unlink, rmdir, rename: EBUSY.
   */
  resolveParent(path: string, base: string | Resolved, op?: ParentOp, mayLookup?: MayLookup): ResolvedParent {
    const p = parsePath(path);
    const name = p.names.length > 0 ? p.names[p.names.length - 1]! : '/';
    const walk = this.startWalk(p.absolute, base);
    const dir = walk.run(p.names.slice(0, -1), { follow: true, trailingSlash: false, mustBeDir: true, allowMissing: false, mayLookup }).found!;
    // The last name is looked up (or made) in `dir` too.
    mayLookup?.(dir);
    const parent: ResolvedParent = { dir: dir.node, fs: dir.fs, dirPath: dir.path, name, trailingSlash: p.trailingSlash };
    if (!isSpecialName(name) && name.length > NAME_MAX) fail('ENAMETOOLONG');
    if (op) this.checkParentOp(parent, op);
    return parent;
  }

  private checkParentOp(parent: ResolvedParent, op: ParentOp): void {
    const { name } = parent;
    if (isSpecialName(name)) fail(specialNameError(op, name));
    const childPath = joinPath(parent.dirPath, name);
    // vfs_unlink, vfs_rmdir, vfs_rename: a mount point (a file's too) is busy.
    if ((op === 'unlink' || op === 'rmdir' || op === 'rename' || op === 'renameNoReplace') && this.isMountPoint(childPath)) fail('EBUSY');
    if (!parent.trailingSlash) return;
    if (op === 'create') {
      // Linux filename_create: a trailing slash on a non-directory's name.
      this.childOrNull(parent) ? fail('EEXIST') : fail('ENOENT');
    }
    if (op === 'unlink') {
      const child = this.childOrNull(parent);
      if (!child) fail('ENOENT');
      fail(typeOf(child) === S_IFDIR ? 'EISDIR' : 'ENOTDIR');
    }
  }

  private childOrNull(parent: ResolvedParent): Resolved | null {
    try {
      return this.child({ node: parent.dir, fs: parent.fs, path: parent.dirPath }, parent.name);
    } catch (e) {
      if (e instanceof LinuxError && e.code === 'ENOENT') return null;
      throw e;
    }
  }

  // ---- internals used by Walk ---------------------------------------------------

  /** One step down: the mounted root if `name` is a mount point, else the fs's entry. */
  child(dir: Resolved, name: string): Resolved {
    const path = joinPath(dir.path, name);
    const m = this.byPath.get(path);
    if (m) return { node: m.fs.root(), fs: m.fs, path };
    return { node: dir.fs.lookup(dir.node, name), fs: dir.fs, path };
  }

  /** The chain of places from the root to a canonical path (for ".." above a known place). */
  stackTo(path: string): Resolved[] {
    if (!path.startsWith('/')) fail('ENOENT', `not a path in the namespace: ${path}`);
    const walk = new Walk(this, [this.root()]);
    walk.run(parsePath(path).names, { follow: true, trailingSlash: false, mustBeDir: true, allowMissing: false });
    return walk.stack;
  }

  private startWalk(absolute: boolean, base: string | Resolved): Walk {
    if (absolute) return new Walk(this, [this.root()]);
    if (typeof base !== 'string') return new Walk(this, [base]);
    if (!base.startsWith('/')) throw new Error(`vfs: base must be an absolute guest path: ${base}`);
    return new Walk(this, this.stackTo(base));
  }

  private addMount(m: MountInfo): void {
    const old = this.byPath.get(m.path);
    // Replacing keeps the old entry's place, so parents stay listed before children.
    if (old) this.table[this.table.indexOf(old)] = m;
    else this.table.push(m);
    this.byPath.set(m.path, m);
  }

  /**
   * Resolve a mount point, making missing directories (and, for a file
   * mount, the missing file) in MemFs and overlay filesystems.
   */
  private makeMountPoint(guestPath: string, isDir: boolean): string {
    let here = this.root();
    const names = parsePath(guestPath).names;
    names.forEach((name, i) => {
      const step = this.resolveForCreate(name, { base: here, follow: true });
      if (step.found) {
        here = step.found;
        return;
      }
      const { dir, fs, dirPath, name: missing } = step.missing;
      // In-memory and overlay filesystems can make the missing directory; a host directory is left alone.
      const maker = fs as FileSystem & { ensureDir?: (dir: Node, name: string) => Node };
      if (!(fs instanceof MemFs) && typeof maker.ensureDir !== 'function') fail('ENOENT', `mount point ${guestPath} does not exist`);
      const node = isDir || i < names.length - 1 ? maker.ensureDir!(dir, missing) : fs.create(dir, missing, 0o444);
      here = { node, fs, path: joinPath(dirPath, missing) };
    });
    // mount(2): a directory goes on a directory and a file on a file.
    if ((typeOf(here) === S_IFDIR) !== isDir) fail('ENOTDIR', `mount point ${guestPath} is ${isDir ? 'not ' : ''}a directory`);
    return here.path;
  }
}

interface WalkRule {
  /** Follow a symlink that is the final component. */
  follow: boolean;
  /** The path ended with "/": the final component is followed and must be a directory. */
  trailingSlash: boolean;
  mustBeDir: boolean;
  /** A missing final component is an answer (resolveForCreate), not ENOENT. */
  allowMissing: boolean;
  mayLookup?: MayLookup;
}

/**
 * One resolution in progress. `stack` is the chain of places from the
 * starting point to the current one, so ".." is a pop; its bottom is the root
 * unless the walk started from (or jumped to) a place whose parents were not
 * walked, in which case ".." there walks to the parent path from the root.
 */
class Walk {
  private links = 0;

  constructor(
    private readonly vfs: Vfs,
    public stack: Resolved[],
  ) {}

  private get here(): Resolved {
    return this.stack[this.stack.length - 1]!;
  }

  run(names: string[], rule: WalkRule): CreateLookup {
    const pending = [...names].reverse();
    let trailingSlash = rule.trailingSlash;
    while (pending.length > 0) {
      const name = pending.pop()!;
      const last = pending.length === 0;
      // Every component is looked up in the one before it, which must be a
      // directory the caller may search ("." and ".." too, as link_path_walk does).
      if (typeOf(this.here) !== S_IFDIR) fail('ENOTDIR');
      rule.mayLookup?.(this.here);
      if (name === '.') continue;
      if (name === '..') {
        this.up();
        continue;
      }
      if (name.length > NAME_MAX) fail('ENAMETOOLONG');
      const next = this.step(name, last && rule.allowMissing);
      if (!next) return { missing: { dir: this.here.node, fs: this.here.fs, dirPath: this.here.path, name, trailingSlash } };
      // path_resolution(7): symlinks are followed except a final one without
      // follow; a trailing slash forces following (and a directory).
      if (isLink(next) && (!last || rule.follow || trailingSlash)) {
        const body = this.followLink(next);
        // A final link whose text ends in "/" puts that slash at the end of the path.
        if (last && body.trailingSlash) trailingSlash = true;
        for (let i = body.names.length - 1; i >= 0; i--) pending.push(body.names[i]!);
        continue;
      }
      this.stack.push(next);
    }
    if ((rule.mustBeDir || trailingSlash) && typeOf(this.here) !== S_IFDIR) fail('ENOTDIR');
    return { found: this.here };
  }

  /** Look `name` up in the current directory; null for ENOENT when that is allowed. */
  private step(name: string, missingOk: boolean): Resolved | null {
    try {
      return this.vfs.child(this.here, name);
    } catch (e) {
      if (missingOk && e instanceof LinuxError && e.code === 'ENOENT') return null;
      throw e;
    }
  }

  /** "..": the root's parent is the root; a mount root's is the mount point's parent. */
  private up(): void {
    if (this.stack.length > 1) {
      this.stack.pop();
      return;
    }
    const here = this.here;
    if (here.path === '/') return;
    this.stack = this.vfs.stackTo(parentPath(here.path));
  }

  /** Move to where a symlink points; returns the link text's components still to walk. */
  private followLink(link: Resolved): { names: string[]; trailingSlash: boolean } {
    if (++this.links > MAXSYMLINKS) fail('ELOOP');
    if (link.node.jump) {
      // A magic link (/proc/self/fd/N): go straight there (Linux nd_jump_link).
      this.stack = [link.node.jump()];
      return { names: [], trailingSlash: false };
    }
    const text = link.fs.readlink(link.node);
    if (text === '') fail('ENOENT');
    const p = parsePath(text);
    // Absolute text starts again at the GUEST root; relative text at the
    // link's directory, which is the current place (the link was not pushed).
    if (p.absolute) this.stack = [this.vfs.root()];
    return { names: p.names, trailingSlash: p.trailingSlash };
  }
}

interface ParsedPath {
  absolute: boolean;
  /** Components, empty ones (from repeated slashes) removed. */
  names: string[];
  trailingSlash: boolean;
}

function parsePath(path: string): ParsedPath {
  if (path === '') fail('ENOENT');
  if (path.length >= PATH_MAX) fail('ENAMETOOLONG');
  const names = path.split('/').filter((c) => c !== '');
  return { absolute: path.startsWith('/'), names, trailingSlash: path.endsWith('/') && names.length > 0 };
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function isSpecialName(name: string): boolean {
  return name === '.' || name === '..' || name === '/';
}

/** fs/namei.c: what each call says when the last component is ".", ".." or the root. */
function specialNameError(op: ParentOp, name: string): 'EEXIST' | 'EISDIR' | 'EINVAL' | 'ENOTEMPTY' | 'EBUSY' {
  switch (op) {
    case 'create':
    case 'mkdir':
    case 'renameNoReplace':
      return 'EEXIST';
    case 'unlink':
      return 'EISDIR';
    case 'rename':
      return 'EBUSY';
    case 'rmdir':
      return name === '.' ? 'EINVAL' : name === '..' ? 'ENOTEMPTY' : 'EBUSY';
  }
}

/** S_IFMT bits of a place, without a stat when the node knows its type. */
function typeOf(r: Resolved): number {
  if (r.node.fileType) return r.node.fileType;
  // A stream reached through /dev/fd/N or /proc/self/fd/N (stdio, a pipe) describes
  // itself; the filesystem it was made in does not know it.
  const info = (r.node as { info?: () => { mode: number } }).info;
  return (typeof info === 'function' ? info() : r.fs.stat(r.node)).mode & S_IFMT;
}

function isLink(r: Resolved): boolean {
  return r.node.jump !== undefined || typeOf(r) === S_IFLNK;
}

function defaultOptions(fs: FileSystem): string {
  return fs.readOnly ? 'ro' : 'rw';
}
