// Watching what the kernel does to the host while fuzzed syscalls run:
//
// - every node:fs call that names a host path is recorded (fs functions are
//   wrapped and syncBuiltinESMExports() makes the kernel's `import * as fs`
//   see the wrappers), so a read outside the temp mount is caught even when
//   it changes nothing;
// - so is every call of the host layer (src/host/), through its observer: a
//   call about a name in a directory handle is recorded as where that
//   directory really is now (/proc/self/fd/N) joined with the name;
// - a sentinel tree outside the mount (and host symlinks inside the mount
//   that point at it) is snapshotted before and after: any file created,
//   removed or changed there shows up as a difference.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { observeHostCalls, type HostCall } from '../../src/host/index.ts';

const require = createRequire(import.meta.url);
const mutableFs = require('node:fs') as Record<string, unknown>;
/** Unwrapped, for reading where a host handle is without recording it. */
const readlinkRaw = fs.readlinkSync;

/** fs functions whose first one or two arguments are host paths. */
const ONE_PATH = [
  'accessSync', 'appendFileSync', 'chmodSync', 'chownSync', 'existsSync', 'lchownSync', 'lstatSync', 'lutimesSync',
  'mkdirSync', 'mkdtempSync', 'openSync', 'opendirSync', 'readdirSync', 'readFileSync', 'readlinkSync', 'realpathSync',
  'rmdirSync', 'rmSync', 'statSync', 'statfsSync', 'truncateSync', 'unlinkSync', 'utimesSync', 'writeFileSync',
] as const;
const TWO_PATHS = ['copyFileSync', 'cpSync', 'linkSync', 'renameSync'] as const;
/** These do not follow a final symlink, so the path itself is what they touch. */
const NO_FOLLOW = new Set(['lstatSync', 'lchownSync', 'lutimesSync', 'readlinkSync', 'unlinkSync', 'rmdirSync', 'rmSync', 'renameSync', 'linkSync']);

export interface HostAccess {
  op: string;
  path: string;
}

/** Records every host path the wrapped fs functions are given, while active. */
export class HostWatch {
  readonly accesses: HostAccess[] = [];
  private originals = new Map<string, unknown>();

  start(): void {
    if (this.originals.size > 0) return;
    const wrap = (name: string, pathArgs: number): void => {
      const orig = mutableFs[name];
      if (typeof orig !== 'function') return;
      this.originals.set(name, orig);
      const accesses = this.accesses;
      mutableFs[name] = function (this: unknown, ...args: unknown[]) {
        for (let i = 0; i < pathArgs; i++) {
          const p = args[i];
          if (typeof p === 'string' || Buffer.isBuffer(p)) accesses.push({ op: name, path: p.toString() });
        }
        return (orig as (...a: unknown[]) => unknown).apply(this, args);
      };
    };
    for (const name of ONE_PATH) wrap(name, 1);
    for (const name of TWO_PATHS) wrap(name, 2);
    // symlinkSync(target, path): the target is only text; the link path is what is touched.
    const origSymlink = mutableFs.symlinkSync as (...a: unknown[]) => unknown;
    this.originals.set('symlinkSync', origSymlink);
    mutableFs.symlinkSync = (...args: unknown[]) => {
      this.accesses.push({ op: 'symlinkSync', path: String(args[1]) });
      return origSymlink(...args);
    };
    syncBuiltinESMExports();
    observeHostCalls((c) => this.accesses.push({ op: `host.${c.op}`, path: whereHostCallLands(c) }));
  }

  stop(): void {
    observeHostCalls(null);
    for (const [name, orig] of this.originals) mutableFs[name] = orig;
    this.originals.clear();
    syncBuiltinESMExports();
  }

  /** Accesses outside `root` (a real path): for following calls, where the path really leads. */
  outside(root: string): HostAccess[] {
    const bad: HostAccess[] = [];
    for (const a of this.accesses) {
      if (isOwnCodeRead(a)) continue;
      // No call of the host layer follows a symlink in its last component.
      const follows = !NO_FOLLOW.has(a.op) && a.op !== 'symlinkSync' && !a.op.startsWith('host.');
      if (!isInside(root, a.path, follows)) bad.push(a);
    }
    return bad;
  }

  clear(): void {
    this.accesses.length = 0;
  }
}

/** The host path a host-layer call acts on: its directory handle's real place now, and the name. */
function whereHostCallLands(c: HostCall): string {
  const dir = typeof c.dir === 'number' ? readlinkRaw(`/proc/self/fd/${c.dir}`).replace(/ \(deleted\)$/, '') : c.dir;
  return c.name === '' ? dir : path.join(dir, c.name);
}

const REPO = path.resolve(import.meta.dirname, '..', '..');
const READS = new Set(['existsSync', 'readFileSync', 'statSync', 'lstatSync', 'accessSync', 'realpathSync']);

/**
 * A read of tslinux's own code (a module, its source map, package.json):
 * what Jazzer's instrumentor does when a module is first loaded during a
 * fuzz run. The guest's calls never name these files.
 */
function isOwnCodeRead(a: HostAccess): boolean {
  const abs = path.resolve(a.path);
  return READS.has(a.op) && within(REPO, abs) && /\.(ts|js|mjs|cjs|json|map)$/.test(abs);
}

function isInside(root: string, p: string, follows: boolean): boolean {
  const abs = path.resolve(p);
  if (!within(root, abs)) return false;
  if (!follows) return within(root, realParent(abs));
  try {
    return within(root, fs.realpathSync.native(abs));
  } catch {
    return within(root, realParent(abs)); // does not exist (yet, or any more)
  }
}

function realParent(abs: string): string {
  try {
    return path.join(fs.realpathSync.native(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}

function within(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

/** A fingerprint of every entry under `dir`: type, mode, size, mtime, ctime, and a hash of file contents. */
export function snapshotTree(dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (p: string, rel: string): void => {
    if (skip(rel)) return;
    const st = fs.lstatSync(p, { bigint: true });
    let what = `${st.mode.toString(8)} ${st.size} ${st.mtimeNs} ${st.ctimeNs} ${st.uid}:${st.gid}`;
    if (st.isFile()) what += ' ' + hashFile(p);
    if (st.isSymbolicLink()) what += ' -> ' + fs.readlinkSync(p);
    out.set(rel, what);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name), path.posix.join(rel, name));
  };
  visit(dir, '.');
  return out;
}

/** SHA-256 of a file read in chunks (a file past 2 GiB cannot be read whole). */
function hashFile(p: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(p, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** What changed between two snapshots, one line per entry ('' when nothing did). */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): string {
  const lines: string[] = [];
  for (const [k, v] of before) {
    const w = after.get(k);
    if (w === undefined) lines.push(`removed ${k}`);
    else if (w !== v) lines.push(`changed ${k}: ${v} => ${w}`);
  }
  for (const k of after.keys()) if (!before.has(k)) lines.push(`created ${k}`);
  return lines.join('\n');
}
