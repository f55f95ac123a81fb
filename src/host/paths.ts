// Host access by checked paths (see index.ts): node:fs's path calls, for
// hosts without the handle layer (Windows, macOS, other arches or libcs).
//
// A handle is an absolute host path. A name is joined to its directory only
// after checking it is one plain component, and no call follows a symlink
// in the last component (lstat, readlink, O_NOFOLLOW, unlink, rename,
// lutimes). A path can come to name another object later, which is why
// handlesMayMove is true: the host mount checks a directory's device and
// inode number again before each use.
//
// Left to the host: chmod follows a symlink where there is no lchmod (the
// caller never asks it of a symlink, after checking the type); link(2) of a
// symlink follows it on macOS.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError, observe, type HostAccess, type HostDirEntry, type HostHandle, type HostStat, type HostStatFs } from './access.ts';

const IS_WINDOWS = process.platform === 'win32';
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
/** d_type values (getdents(2)). */
const DT = { fifo: 1, chr: 2, dir: 4, blk: 6, reg: 8, lnk: 10, sock: 12 } as const;

function pathOf(h: HostHandle): string {
  if (typeof h !== 'string') throw new TypeError(`host handle is not a path: ${h}`);
  return h;
}

/** `name` in directory `dir` ('' : the directory itself), refusing anything but one plain component. */
function join(dir: HostHandle, name: string): string {
  const d = pathOf(dir);
  if (name === '') return d;
  const p = path.join(d, name);
  if (path.dirname(p) !== d || path.basename(p) !== name) throw new Error(`host paths: not one component of ${d}: ${name}`);
  return p;
}

function toHostStat(st: fs.BigIntStats): HostStat {
  const size = Number(st.size);
  return {
    dev: st.dev,
    ino: st.ino,
    mode: Number(st.mode),
    nlink: Number(st.nlink),
    // Windows reports no owners (and no block count: estimated from the size).
    uid: IS_WINDOWS ? 0 : Number(st.uid),
    gid: IS_WINDOWS ? 0 : Number(st.gid),
    rdev: Number(st.rdev),
    size,
    blksize: Number(st.blksize) || 4096,
    blocks: IS_WINDOWS ? Math.ceil(size / 4096) * 8 : Number(st.blocks),
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    birthtimeNs: st.birthtimeNs,
  };
}

function dtypeOf(st: fs.BigIntStats): number {
  if (st.isDirectory()) return DT.dir;
  if (st.isSymbolicLink()) return DT.lnk;
  if (st.isFIFO()) return DT.fifo;
  if (st.isCharacterDevice()) return DT.chr;
  if (st.isBlockDevice()) return DT.blk;
  if (st.isSocket()) return DT.sock;
  return DT.reg;
}

const seconds = (ns: bigint): number => Number(ns) / 1e9;

class CheckedPaths implements HostAccess {
  readonly kind = 'paths';
  readonly handlesMayMove = true;

  constructor(readonly why: string) {}

  openRoot(hostPath: string): string {
    observe('openRoot', hostPath, '');
    // The real path, so a later containment check compares real paths (macOS /tmp is a symlink).
    const real = fs.realpathSync(path.resolve(hostPath));
    if (!fs.statSync(real).isDirectory()) throw new HostError('ENOTDIR', 'open');
    return real;
  }

  openHandle(dir: HostHandle, name: string): string {
    observe('openHandle', dir, name);
    const p = join(dir, name);
    fs.lstatSync(p); // ENOENT, ENOTDIR
    return p;
  }

  closeHandle(): void {}

  statAt(dir: HostHandle, name: string): HostStat | null {
    observe('statAt', dir, name);
    const st = fs.lstatSync(join(dir, name), { bigint: true, throwIfNoEntry: false });
    return st ? toHostStat(st) : null;
  }

  statFd(fd: number): HostStat {
    return toHostStat(fs.fstatSync(fd, { bigint: true }));
  }

  readlinkAt(dir: HostHandle, name: string): Buffer {
    observe('readlinkAt', dir, name);
    const text = fs.readlinkSync(join(dir, name), { encoding: 'buffer' });
    // Node on Windows stores link text with backslashes; the guest wrote slashes
    // (guest names cannot contain a backslash there, see HostFs.validName).
    return IS_WINDOWS ? Buffer.from(text.toString('latin1').replaceAll('\\', '/'), 'latin1') : text;
  }

  readdir(dir: HostHandle): HostDirEntry[] {
    observe('readdir', dir, '');
    const d = pathOf(dir);
    // fs.opendirSync reads names as they come (readdirSync would sort them);
    // latin1 keeps every byte of a name (the types do not offer 'buffer' here).
    const handle = fs.opendirSync(d, { encoding: 'latin1' });
    const names: Buffer[] = [];
    try {
      for (let e = handle.readSync(); e; e = handle.readSync()) names.push(Buffer.from(e.name, 'latin1'));
    } finally {
      handle.closeSync();
    }
    const out: HostDirEntry[] = [];
    for (const name of names) {
      const st = fs.lstatSync(path.join(d, name.toString('utf8')), { bigint: true, throwIfNoEntry: false });
      if (st) out.push({ name, ino: st.ino, type: dtypeOf(st) }); // else removed meanwhile
    }
    return out;
  }

  openAt(dir: HostHandle, name: string, flags: number, mode?: number): number {
    observe('openAt', dir, name);
    return fs.openSync(join(dir, name), flags | O_NOFOLLOW, mode);
  }

  mkdirAt(dir: HostHandle, name: string, mode: number): void {
    observe('mkdirAt', dir, name);
    fs.mkdirSync(join(dir, name), { mode });
  }

  symlinkAt(target: string, dir: HostHandle, name: string): void {
    observe('symlinkAt', dir, name);
    // Type 'file' on Windows stops Node from stat-ing the target on the host.
    fs.symlinkSync(target, join(dir, name), IS_WINDOWS ? 'file' : undefined);
  }

  link(h: HostHandle, toDir: HostHandle, toName: string): void {
    observe('link', h, '');
    observe('link', toDir, toName);
    fs.linkSync(pathOf(h), join(toDir, toName));
  }

  unlinkAt(dir: HostHandle, name: string, isDir: boolean): void {
    observe('unlinkAt', dir, name);
    if (isDir) fs.rmdirSync(join(dir, name));
    else fs.unlinkSync(join(dir, name));
  }

  renameAt(fromDir: HostHandle, fromName: string, toDir: HostHandle, toName: string): void {
    observe('renameAt', fromDir, fromName);
    observe('renameAt', toDir, toName);
    const from = join(fromDir, fromName);
    const to = join(toDir, toName);
    // rename(2): EINVAL when a directory would move into its own subtree (Windows would say otherwise).
    const rel = path.relative(from, to);
    if (rel !== '' && rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel) && fs.lstatSync(from).isDirectory()) throw new HostError('EINVAL', 'rename');
    // Windows cannot rename over a directory; Linux replaces an empty one.
    if (IS_WINDOWS && fs.lstatSync(to, { throwIfNoEntry: false })?.isDirectory()) fs.rmdirSync(to);
    fs.renameSync(from, to);
  }

  chmod(h: HostHandle, mode: number): void {
    observe('chmod', h, '');
    fs.chmodSync(pathOf(h), mode);
  }

  utimes(h: HostHandle, atimeNs: bigint | null, mtimeNs: bigint | null): void {
    observe('utimes', h, '');
    const p = pathOf(h);
    const st = atimeNs === null || mtimeNs === null ? fs.lstatSync(p, { bigint: true }) : undefined;
    fs.lutimesSync(p, seconds(atimeNs ?? st!.atimeNs), seconds(mtimeNs ?? st!.mtimeNs));
  }

  statfs(h: HostHandle): HostStatFs {
    observe('statfs', h, '');
    return fs.statfsSync(pathOf(h));
  }
}

export function checkedPaths(why: string): HostAccess {
  return new CheckedPaths(why);
}
