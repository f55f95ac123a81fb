import { errno } from './helpers/errno.ts';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OverlayFs, OverlayNode, UPPER_INO_BASE } from '../src/kernel/vfs/overlayfs.ts';
import {
  DT_DIR,
  DT_LNK,
  DT_REG,
  HostFs,
  MemFs,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  Vfs,
  type FileSystem,
  type Node,
  type OpenFile,
  type OpenIntent,
} from '../src/kernel/vfs/index.ts';

const READ: OpenIntent = { read: true, write: false, append: false, truncate: false, nonblock: false };
const RDWR: OpenIntent = { ...READ, write: true };
const WRITE: OpenIntent = { ...READ, read: false, write: true };
const TRUNC: OpenIntent = { ...WRITE, truncate: true };
const NO_FLAGS = { noReplace: false, exchange: false };

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

function readAll(f: OpenFile): string {
  const chunks: Buffer[] = [];
  const buf = new Uint8Array(5);
  for (let pos = 0; ; ) {
    const n = f.read(buf, pos);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  return Buffer.concat(chunks).toString();
}

function readNode(fsys: FileSystem, node: Node): string {
  const f = fsys.open(node, READ);
  try {
    return readAll(f);
  } finally {
    f.close();
  }
}

/** Every entry of a host tree: type, mode, size, inode, link count, mtime, ctime, content hash, link text. */
function hashTree(root: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs, { bigint: true });
    h.update(`${rel}\0${st.mode}\0${st.size}\0${st.ino}\0${st.nlink}\0${st.uid}:${st.gid}\0${st.mtimeNs}\0${st.ctimeNs}\0`);
    if (st.isSymbolicLink()) h.update(fs.readlinkSync(abs));
    else if (st.isFile()) h.update(fs.readFileSync(abs));
    else if (st.isDirectory()) for (const name of fs.readdirSync(abs).sort()) walk(path.join(rel, name));
    h.update('\n');
  };
  walk('.');
  return h.digest('hex');
}

function makeHostTree(dir: string): void {
  fs.writeFileSync(path.join(dir, 'a.txt'), 'alpha');
  fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(300_000, 7));
  fs.mkdirSync(path.join(dir, 'dir'));
  fs.writeFileSync(path.join(dir, 'dir', 'x'), 'x-data');
  fs.writeFileSync(path.join(dir, 'dir', 'y'), 'y-data');
  fs.mkdirSync(path.join(dir, 'dir', 'sub'));
  fs.writeFileSync(path.join(dir, 'dir', 'sub', 'z'), 'z-data');
  fs.symlinkSync('a.txt', path.join(dir, 'link'));
  fs.mkdirSync(path.join(dir, 'empty'));
  fs.writeFileSync(path.join(dir, 'exec.sh'), '#!/bin/sh\n');
  fs.chmodSync(path.join(dir, 'exec.sh'), 0o755);
  fs.writeFileSync(path.join(dir, 'hard1'), 'shared');
  fs.linkSync(path.join(dir, 'hard1'), path.join(dir, 'hard2'));
}

let hostDir: string;
let lower: HostFs;
let ov: OverlayFs;
let vfs: Vfs;

function at(p: string, follow = false) {
  return vfs.resolve(p, { base: '/', follow });
}
function node(p: string): OverlayNode {
  return at(p).node as OverlayNode;
}
/** Directory node and last name of a path. */
function parent(p: string): { dir: OverlayNode; name: string } {
  const r = vfs.resolveParent(p, '/');
  return { dir: r.dir as OverlayNode, name: r.name };
}
function read(p: string): string {
  return readNode(ov, node(p));
}
function write(p: string, data: string, intent: OpenIntent = TRUNC): void {
  let n: Node;
  try {
    n = node(p);
  } catch {
    const { dir, name } = parent(p);
    n = ov.create(dir, name, 0o644);
  }
  const f = ov.open(n, intent);
  f.write(bytes(data), 0);
  f.close();
}
function names(p: string): string[] {
  return ov.readdir(node(p)).map((e) => e.name).sort();
}
function exists(p: string): boolean {
  return errno(() => at(p)) === undefined;
}

beforeEach(() => {
  hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-overlay-'));
  makeHostTree(hostDir);
  lower = new HostFs({ hostRoot: hostDir, dev: 0x801 });
  ov = new OverlayFs({ lower, dev: 0x900, uid: 1000, gid: 1000 });
  vfs = new Vfs(ov, 'overlay');
});

afterEach(() => {
  fs.rmSync(hostDir, { recursive: true, force: true });
});

describe('OverlayFs: reading through', () => {
  it('shows the lower tree as it is', () => {
    expect(names('/')).toEqual(['a.txt', 'big.bin', 'dir', 'empty', 'exec.sh', 'hard1', 'hard2', 'link']);
    expect(read('/a.txt')).toBe('alpha');
    expect(read('/dir/sub/z')).toBe('z-data');
    expect(ov.readlink(node('/link'))).toBe('a.txt');
    expect(readNode(ov, at('/link', true).node)).toBe('alpha');
    const st = ov.stat(node('/exec.sh'));
    const host = fs.lstatSync(path.join(hostDir, 'exec.sh'));
    expect(st.mode).toBe(S_IFREG | 0o755);
    expect(st.size).toBe(host.size);
    expect(st.dev).toBe(0x900);
    expect(st.ino).toBe(lower.stat(lower.lookup(lower.root(), 'exec.sh')).ino);
    expect(ov.stat(node('/dir')).mode & S_IFMT).toBe(S_IFDIR);
    const types = Object.fromEntries(ov.readdir(ov.root()).map((e) => [e.name, e.type]));
    expect(types).toMatchObject({ 'a.txt': DT_REG, dir: DT_DIR, link: DT_LNK });
    expect(ov.type).toBe('overlay');
    expect(ov.readOnly).toBe(false);
  });

  it('gives the usual lookup errors', () => {
    expect(errno(() => at('/nope'))).toBe('ENOENT');
    expect(errno(() => ov.lookup(node('/a.txt'), 'x'))).toBe('ENOTDIR');
    expect(errno(() => ov.open(node('/dir'), RDWR))).toBe('EISDIR');
    expect(errno(() => ov.open(node('/link'), READ))).toBe('ELOOP');
    expect(errno(() => ov.readlink(node('/a.txt')))).toBe('EINVAL');
  });

  it('returns one node per name, so every holder sees a copy-up', () => {
    expect(node('/a.txt')).toBe(node('/a.txt'));
    expect(node('/dir/sub')).toBe(node('/dir/sub'));
  });
});

describe('OverlayFs: copy-up', () => {
  it('copies a file up when it is opened for writing, leaving the host file alone', () => {
    const n = node('/a.txt');
    const inoBefore = ov.stat(n).ino;
    expect(ov.isCopiedUp(n)).toBe(false);
    const f = ov.open(n, RDWR);
    expect(ov.isCopiedUp(n)).toBe(true);
    expect(readAll(f)).toBe('alpha'); // the data came up
    f.write(bytes('ALPHA!'), 0);
    f.close();
    expect(read('/a.txt')).toBe('ALPHA!');
    expect(fs.readFileSync(path.join(hostDir, 'a.txt'), 'utf8')).toBe('alpha');
    expect(ov.stat(n).ino).toBe(inoBefore);
    expect(ov.stat(n).size).toBe(6);
    expect(ov.stat(n).mode).toBe(S_IFREG | (fs.lstatSync(path.join(hostDir, 'a.txt')).mode & 0o7777));
  });

  it('does not copy the data when opened with O_TRUNC', () => {
    const n = node('/big.bin');
    const f = ov.open(n, TRUNC);
    expect(f.size()).toBe(0);
    f.write(bytes('small'), 0);
    f.close();
    expect(read('/big.bin')).toBe('small');
    expect(fs.statSync(path.join(hostDir, 'big.bin')).size).toBe(300_000);
  });

  it('keeps the lower attributes on copy-up', () => {
    const before = ov.stat(node('/exec.sh'));
    write('/exec.sh', '#!/bin/sh\n', RDWR); // same bytes
    const after = ov.stat(node('/exec.sh'));
    expect(after.mode).toBe(before.mode);
    expect(after.uid).toBe(before.uid);
    expect(after.gid).toBe(before.gid);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeNs).toBeGreaterThanOrEqual(before.mtimeNs);
  });

  it('moves a read-only fd opened before the copy-up to the new data', () => {
    const reader = ov.open(node('/a.txt'), READ);
    expect(readAll(reader)).toBe('alpha');
    write('/a.txt', 'changed');
    expect(readAll(reader)).toBe('changed');
    expect(reader.size()).toBe(7);
    reader.close();
  });

  it('copies the parent directories up for a change deep in the tree', () => {
    write('/dir/sub/z', 'Z!');
    expect(ov.isCopiedUp(node('/dir'))).toBe(true);
    expect(ov.isCopiedUp(node('/dir/sub'))).toBe(true);
    expect(ov.isCopiedUp(node('/dir/x'))).toBe(false);
    expect(names('/dir')).toEqual(['sub', 'x', 'y']);
    expect(read('/dir/x')).toBe('x-data');
    expect(read('/dir/sub/z')).toBe('Z!');
    // Copying up keeps each parent's own inode number and mode.
    expect(ov.stat(node('/dir')).ino).toBe(lower.stat(lower.lookup(lower.root(), 'dir')).ino);
  });

  it('reports a merged directory with nlink 1', () => {
    write('/dir/new', 'n');
    expect(ov.stat(node('/dir')).nlink).toBe(1);
  });

  it('chmod, chown and utimes copy metadata only; the data is read from below until written', () => {
    const n = node('/big.bin');
    ov.chmod(n, 0o600);
    expect(ov.isCopiedUp(n)).toBe(true);
    expect(ov.upper.lookup(ov.upper.root(), 'big.bin').size).toBe(0); // metacopy
    const st = ov.stat(n);
    expect(st.mode).toBe(S_IFREG | 0o600);
    expect(st.size).toBe(300_000);
    const buf = new Uint8Array(10);
    const f = ov.open(n, READ);
    expect(f.read(buf, 299_995)).toBe(5);
    expect([...buf.subarray(0, 5)]).toEqual([7, 7, 7, 7, 7]);
    f.close();
    ov.chown(n, 1234, 5678);
    expect(ov.stat(n).uid).toBe(1234);
    expect(ov.stat(n).gid).toBe(5678);
    ov.utimes(n, 1_000_000_000n, 2_000_000_000n);
    expect(ov.stat(n).mtimeNs).toBe(2_000_000_000n);
    expect(ov.stat(n).atimeNs).toBe(1_000_000_000n);
    // Now a write: the data comes up, the attributes stay.
    const w = ov.open(n, WRITE);
    w.write(bytes('AB'), 0);
    w.close();
    const bytesNow = Buffer.alloc(4);
    const r = ov.open(n, READ);
    r.read(bytesNow, 0);
    r.close();
    expect([...bytesNow]).toEqual([0x41, 0x42, 7, 7]);
    expect(ov.stat(n).size).toBe(300_000);
    expect(ov.stat(n).mode).toBe(S_IFREG | 0o600);
    expect(ov.stat(n).uid).toBe(1234);
  });

  it('refuses chmod on a symlink, as Linux does', () => {
    expect(errno(() => ov.chmod(node('/link'), 0o700))).toBe('EOPNOTSUPP');
  });

  it('chmod and chown a lower directory', () => {
    ov.chmod(node('/dir'), 0o700);
    ov.chown(node('/dir'), 1, 2);
    const st = ov.stat(node('/dir'));
    expect(st.mode).toBe(S_IFDIR | 0o700);
    expect([st.uid, st.gid]).toEqual([1, 2]);
    expect(names('/dir')).toEqual(['sub', 'x', 'y']);
  });

  it('truncates, growing and shrinking, copying only what is needed', () => {
    ov.truncate(node('/dir/x'), 2);
    expect(read('/dir/x')).toBe('x-');
    ov.truncate(node('/dir/x'), 4);
    expect([...Buffer.from(read('/dir/x'))]).toEqual([0x78, 0x2d, 0, 0]);
    ov.truncate(node('/dir/y'), 0);
    expect(read('/dir/y')).toBe('');
    expect(errno(() => ov.truncate(node('/dir'), 0))).toBe('EISDIR');
    expect(errno(() => ov.truncate(node('/link'), 0))).toBe('EINVAL');
    expect(errno(() => ov.truncate(node('/a.txt'), -1))).toBe('EINVAL');
  });
});

describe('OverlayFs: names', () => {
  it('creates files, directories and symlinks in lower directories', () => {
    const { dir } = parent('/dir/sub/new');
    const f = ov.create(dir, 'new', 0o640);
    expect(ov.stat(f).mode).toBe(S_IFREG | 0o640);
    expect(ov.stat(f).uid).toBe(1000);
    expect(ov.stat(f).ino).toBeGreaterThanOrEqual(UPPER_INO_BASE);
    write('/dir/sub/new', 'hello');
    expect(read('/dir/sub/new')).toBe('hello');
    ov.mkdir(node('/dir'), 'd2', 0o700);
    ov.symlink(node('/dir/d2'), 'l', '../sub/new');
    expect(readNode(ov, at('/dir/d2/l', true).node)).toBe('hello');
    expect(names('/dir')).toEqual(['d2', 'sub', 'x', 'y']);
    expect(names('/dir/sub')).toEqual(['new', 'z']);
    expect(errno(() => ov.create(node('/dir'), 'x', 0o644))).toBe('EEXIST');
    expect(errno(() => ov.mkdir(node('/'), 'dir', 0o755))).toBe('EEXIST');
    expect(errno(() => ov.symlink(node('/'), 'link', 'x'))).toBe('EEXIST');
    expect(errno(() => ov.create(node('/dir'), 'a/b', 0o644))).toBe('EINVAL');
    expect(errno(() => ov.create(node('/dir'), 'n'.repeat(256), 0o644))).toBe('ENAMETOOLONG');
    expect(errno(() => ov.symlink(node('/'), 'e', ''))).toBe('ENOENT');
  });

  it('makes device nodes with mknod', () => {
    const d = ov.mknod(ov.root(), 'null', S_IFCHR | 0o666, 0x103);
    expect(ov.stat(d).mode).toBe(S_IFCHR | 0o666);
    expect(ov.stat(d).rdev).toBe(0x103);
  });

  it('unlinks a lower file with a whiteout', () => {
    const n = node('/dir/x');
    ov.unlink(node('/dir'), 'x');
    expect(exists('/dir/x')).toBe(false);
    expect(names('/dir')).toEqual(['sub', 'y']);
    expect(ov.isWhiteout(node('/dir'), 'x')).toBe(true);
    expect(n.removed).toBe(true);
    expect(errno(() => ov.unlink(node('/dir'), 'x'))).toBe('ENOENT');
    expect(errno(() => ov.unlink(ov.root(), 'dir'))).toBe('EISDIR');
    // A new file of that name has nothing of the old one.
    write('/dir/x', 'new x');
    expect(read('/dir/x')).toBe('new x');
    expect(ov.isWhiteout(node('/dir'), 'x')).toBe(false);
    expect(ov.stat(node('/dir/x')).ino).toBeGreaterThanOrEqual(UPPER_INO_BASE);
    // Removing it again puts the whiteout back.
    ov.unlink(node('/dir'), 'x');
    expect(exists('/dir/x')).toBe(false);
    expect(ov.isWhiteout(node('/dir'), 'x')).toBe(true);
  });

  it('unlinks a file made in the overlay without a whiteout', () => {
    write('/fresh', 'f');
    ov.unlink(ov.root(), 'fresh');
    expect(exists('/fresh')).toBe(false);
    expect(ov.isWhiteout(ov.root(), 'fresh')).toBe(false);
  });

  it('keeps an unlinked lower file readable through an open fd', () => {
    const f = ov.open(node('/dir/y'), READ);
    ov.unlink(node('/dir'), 'y');
    expect(readAll(f)).toBe('y-data');
    f.close();
  });

  it('can still change an unlinked lower file through its node', () => {
    const n = node('/dir/y');
    ov.unlink(node('/dir'), 'y');
    ov.chmod(n, 0o600);
    expect(ov.stat(n).mode).toBe(S_IFREG | 0o600);
    expect(names('/')).not.toContain('.tslinux-orphan-1');
    expect(errno(() => ov.link(n, ov.root(), 'back'))).toBe('ENOENT');
  });

  it('rmdir of a lower directory: ENOTEMPTY until its lower entries are whited out', () => {
    expect(errno(() => ov.rmdir(ov.root(), 'dir'))).toBe('ENOTEMPTY');
    expect(errno(() => ov.rmdir(ov.root(), 'a.txt'))).toBe('ENOTDIR');
    ov.unlink(node('/dir/sub'), 'z');
    ov.rmdir(node('/dir'), 'sub');
    ov.unlink(node('/dir'), 'x');
    expect(errno(() => ov.rmdir(ov.root(), 'dir'))).toBe('ENOTEMPTY');
    ov.unlink(node('/dir'), 'y');
    expect(names('/dir')).toEqual([]);
    ov.rmdir(ov.root(), 'dir');
    expect(exists('/dir')).toBe(false);
    expect(ov.isWhiteout(ov.root(), 'dir')).toBe(true);
    // An empty lower directory goes at once.
    ov.rmdir(ov.root(), 'empty');
    expect(exists('/empty')).toBe(false);
  });

  it('a directory made over a whiteout is opaque: nothing of the lower one shows', () => {
    for (const n of ['x', 'y']) ov.unlink(node('/dir'), n);
    ov.unlink(node('/dir/sub'), 'z');
    ov.rmdir(node('/dir'), 'sub');
    ov.rmdir(ov.root(), 'dir');
    const d = ov.mkdir(ov.root(), 'dir', 0o755);
    expect(ov.isOpaque(d)).toBe(true);
    expect(names('/dir')).toEqual([]);
    expect(exists('/dir/x')).toBe(false);
    expect(exists('/dir/sub')).toBe(false);
    write('/dir/x', 'mine');
    expect(names('/dir')).toEqual(['x']);
    expect(ov.stat(d).nlink).toBe(2); // not merged
    // A fresh directory where nothing was below is not opaque.
    expect(ov.isOpaque(ov.mkdir(ov.root(), 'other', 0o755))).toBe(false);
    // rmdir of a directory made in the overlay leaves no whiteout unless something is below.
    ov.rmdir(ov.root(), 'other');
    expect(ov.isWhiteout(ov.root(), 'other')).toBe(false);
  });

  it('refuses new entries in a removed lower directory', () => {
    const e = node('/empty');
    ov.rmdir(ov.root(), 'empty');
    expect(errno(() => ov.create(e, 'x', 0o644))).toBe('ENOENT');
  });

  it('renames a lower file: whiteout at the old name, data and inode at the new', () => {
    const ino = ov.stat(node('/dir/x')).ino;
    ov.rename(node('/dir'), 'x', ov.root(), 'moved', NO_FLAGS);
    expect(exists('/dir/x')).toBe(false);
    expect(read('/moved')).toBe('x-data');
    expect(ov.stat(node('/moved')).ino).toBe(ino);
    expect(ov.isWhiteout(node('/dir'), 'x')).toBe(true);
    // And back again: the name shows the file, not the whiteout.
    ov.rename(ov.root(), 'moved', node('/dir'), 'x', NO_FLAGS);
    expect(read('/dir/x')).toBe('x-data');
    expect(ov.isWhiteout(node('/dir'), 'x')).toBe(false);
  });

  it('renames over an existing name', () => {
    ov.rename(node('/dir'), 'x', node('/dir'), 'y', NO_FLAGS);
    expect(names('/dir')).toEqual(['sub', 'y']);
    expect(read('/dir/y')).toBe('x-data');
    expect(errno(() => ov.rename(ov.root(), 'a.txt', ov.root(), 'exec.sh', { noReplace: true, exchange: false }))).toBe('EEXIST');
    expect(errno(() => ov.rename(ov.root(), 'a.txt', ov.root(), 'dir', NO_FLAGS))).toBe('EISDIR');
    expect(errno(() => ov.rename(ov.root(), 'dir', ov.root(), 'a.txt', NO_FLAGS))).toBe('ENOTDIR');
    expect(errno(() => ov.rename(ov.root(), 'empty', ov.root(), 'dir', NO_FLAGS))).toBe('ENOTEMPTY');
    expect(errno(() => ov.rename(ov.root(), 'dir', node('/dir/sub'), 'in', NO_FLAGS))).toBe('EINVAL');
    expect(errno(() => ov.rename(ov.root(), 'nope', ov.root(), 'x', NO_FLAGS))).toBe('ENOENT');
    // Two names of one file: nothing happens.
    ov.rename(ov.root(), 'hard1', ov.root(), 'hard1', NO_FLAGS);
    expect(read('/hard1')).toBe('shared');
    // An empty lower directory can be replaced by a directory.
    ov.rename(node('/dir'), 'sub', ov.root(), 'empty', NO_FLAGS);
    expect(names('/empty')).toEqual(['z']);
  });

  it('renames a lower directory, which keeps showing its lower entries (redirect)', () => {
    const sub = node('/dir/sub');
    ov.rename(node('/dir'), 'sub', ov.root(), 'subm', NO_FLAGS);
    expect(exists('/dir/sub')).toBe(false);
    expect(names('/subm')).toEqual(['z']);
    expect(read('/subm/z')).toBe('z-data');
    expect(node('/subm')).toBe(sub);
    write('/subm/z', 'Z');
    write('/subm/new', 'N');
    expect(names('/subm')).toEqual(['new', 'z']);
    // Renaming the whole tree keeps working, and so does a second move.
    ov.rename(ov.root(), 'dir', ov.root(), 'dir2', NO_FLAGS);
    ov.rename(ov.root(), 'subm', node('/dir2'), 'back', NO_FLAGS);
    expect(names('/dir2')).toEqual(['back', 'x', 'y']);
    expect(read('/dir2/back/z')).toBe('Z');
    expect(read('/dir2/x')).toBe('x-data');
    expect(names('/')).not.toContain('dir');
    // Deleting inside a moved directory whites out the name there.
    ov.unlink(node('/dir2'), 'y');
    expect(names('/dir2')).toEqual(['back', 'x']);
  });

  it('a node held before a rename of its directory copies up in the right place', () => {
    const z = node('/dir/sub/z');
    ov.rename(node('/dir'), 'sub', ov.root(), 'subm', NO_FLAGS);
    const f = ov.open(z, RDWR);
    f.write(bytes('ZZ'), 0);
    f.close();
    expect(read('/subm/z')).toBe('ZZdata');
    expect(exists('/dir/sub')).toBe(false);
  });

  it('exchanges two names (RENAME_EXCHANGE)', () => {
    ov.rename(node('/dir'), 'x', node('/dir'), 'sub', { noReplace: false, exchange: true });
    expect(read('/dir/sub')).toBe('x-data');
    expect(names('/dir/x')).toEqual(['z']);
    expect(errno(() => ov.rename(ov.root(), 'a.txt', ov.root(), 'nope', { noReplace: false, exchange: true }))).toBe('ENOENT');
    expect(errno(() => ov.rename(ov.root(), 'a.txt', ov.root(), 'b', { noReplace: true, exchange: true }))).toBe('EINVAL');
  });

  it('hard-links a lower file: one inode under two names', () => {
    ov.link(node('/a.txt'), node('/dir'), 'a-link');
    const a = node('/a.txt');
    const b = node('/dir/a-link');
    expect(a).toBe(b);
    expect(ov.stat(b).nlink).toBe(2);
    expect(read('/dir/a-link')).toBe('alpha');
    write('/dir/a-link', 'via link');
    expect(read('/a.txt')).toBe('via link');
    expect(errno(() => ov.link(node('/dir'), ov.root(), 'dl'))).toBe('EPERM');
    expect(errno(() => ov.link(a, ov.root(), 'exec.sh'))).toBe('EEXIST');
    ov.unlink(ov.root(), 'a.txt');
    expect(ov.stat(b).nlink).toBe(1);
    expect(read('/dir/a-link')).toBe('via link');
  });

  it('keeps inode numbers stable across copy-up, in stat and readdir alike', () => {
    const before = Object.fromEntries(ov.readdir(node('/dir')).map((e) => [e.name, e.ino]));
    write('/dir/x', 'new');
    ov.chmod(node('/dir/y'), 0o600);
    const after = Object.fromEntries(ov.readdir(node('/dir')).map((e) => [e.name, e.ino]));
    expect(after).toEqual(before);
    expect(ov.stat(node('/dir/x')).ino).toBe(before.x);
    // New files get their own numbers, which readdir agrees with.
    write('/dir/n', 'n');
    const n = ov.readdir(node('/dir')).find((e) => e.name === 'n')!;
    expect(n.ino).toBe(ov.stat(node('/dir/n')).ino);
    expect(Object.values(before)).not.toContain(n.ino);
  });

  it('lists lower entries in their order, then new ones', () => {
    const entries = ov.readdir(node('/dir'));
    const order = entries.map((e) => e.name);
    write('/dir/aaa', '1');
    write(`/dir/${entries.find((e) => e.type === DT_REG)!.name}`, 'changed');
    ov.chmod(node('/dir/sub'), 0o700);
    expect(ov.readdir(node('/dir')).map((e) => e.name)).toEqual([...order, 'aaa']);
  });

  it('makes mount points that diff() leaves out', () => {
    const p = ov.ensureDir(ov.root(), 'proc');
    expect(ov.stat(p).mode & S_IFMT).toBe(S_IFDIR);
    expect(ov.ensureDir(ov.root(), 'proc')).toBe(p);
    expect(ov.ensureDir(ov.root(), 'dir')).toBe(node('/dir'));
    expect(errno(() => ov.ensureDir(ov.root(), 'a.txt'))).toBe('ENOTDIR');
    expect(ov.diff()).toEqual({ created: [], changed: [], deleted: [] });
  });

  it('reports statfs as overlayfs', () => {
    expect(ov.statfs().type).toBe(0x794c7630);
  });
});

describe('OverlayFs: diff', () => {
  it('is empty when nothing changed, even after reads and a copy-up without changes', () => {
    read('/dir/sub/z');
    ov.readdir(node('/dir'));
    ov.open(node('/big.bin'), RDWR).close(); // copied up, never written
    ov.utimes(node('/a.txt'), null, null); // touches ctime only
    ov.chmod(node('/exec.sh'), 0o755); // same mode
    expect(ov.diff()).toEqual({ created: [], changed: [], deleted: [] });
  });

  it('lists what the guest created, changed and deleted', () => {
    write('/a.txt', 'ALPHA');
    write('/new.txt', 'new');
    ov.unlink(node('/dir'), 'x');
    ov.mkdir(ov.root(), 'newdir', 0o755);
    write('/newdir/f', 'f');
    ov.rename(node('/dir'), 'sub', ov.root(), 'subm', NO_FLAGS);
    ov.chmod(node('/exec.sh'), 0o700);
    ov.rmdir(ov.root(), 'empty');
    ov.symlink(ov.root(), 'l2', 'a.txt');
    ov.unlink(ov.root(), 'link');
    ov.symlink(ov.root(), 'link', 'exec.sh'); // same name, new text
    expect(ov.diff()).toEqual({
      created: ['l2', 'new.txt', 'newdir', 'newdir/f', 'subm', 'subm/z'],
      changed: ['a.txt', 'exec.sh', 'link'],
      deleted: ['dir/sub', 'dir/sub/z', 'dir/x', 'empty'],
    });
  });

  it('reports a change of type, and a deleted tree in full', () => {
    ov.unlink(ov.root(), 'a.txt');
    ov.mkdir(ov.root(), 'a.txt', 0o755);
    write('/a.txt/inside', 'i');
    for (const n of ['x', 'y']) ov.unlink(node('/dir'), n);
    ov.unlink(node('/dir/sub'), 'z');
    ov.rmdir(node('/dir'), 'sub');
    ov.rmdir(ov.root(), 'dir');
    expect(ov.diff()).toEqual({
      created: ['a.txt/inside'],
      changed: ['a.txt'],
      deleted: ['dir', 'dir/sub', 'dir/sub/z', 'dir/x', 'dir/y'],
    });
  });

  it('sees a same-size rewrite with the old mtime as a change', () => {
    const n = node('/dir/x');
    const mtime = ov.stat(n).mtimeNs;
    write('/dir/x', 'X-DATA', RDWR);
    ov.utimes(n, null, mtime);
    expect(ov.diff().changed).toEqual(['dir/x']);
  });
});

describe('OverlayFs: the lower layer is never written', () => {
  function workout(): void {
    write('/a.txt', 'rewritten');
    write('/dir/sub/z', 'appended', { ...RDWR, append: true });
    ov.truncate(node('/big.bin'), 10);
    ov.chmod(node('/exec.sh'), 0o600);
    ov.chown(node('/dir/y'), 0, 0);
    ov.utimes(node('/dir'), 5n, 6n);
    ov.unlink(node('/dir'), 'x');
    ov.rename(node('/dir'), 'sub', ov.root(), 'subm', NO_FLAGS);
    ov.rename(ov.root(), 'hard1', ov.root(), 'hard2', NO_FLAGS);
    ov.rename(ov.root(), 'subm', ov.root(), 'empty', NO_FLAGS);
    ov.mkdir(node('/dir'), 'made', 0o700);
    write('/dir/made/file', 'data');
    ov.symlink(node('/dir/made'), 'sl', '/a.txt');
    ov.link(node('/exec.sh'), node('/dir/made'), 'hl');
    ov.mknod(node('/dir'), 'dev', S_IFCHR | 0o600, 0x105);
    ov.unlink(ov.root(), 'link');
    ov.unlink(node('/dir'), 'y');
    ov.unlink(node('/empty'), 'z');
    ov.rmdir(ov.root(), 'empty');
    expect(errno(() => ov.rmdir(ov.root(), 'dir'))).toBe('ENOTEMPTY');
  }

  it('leaves a writable HostFs byte for byte unchanged', () => {
    const before = hashTree(hostDir);
    workout();
    expect(hashTree(hostDir)).toBe(before);
    // The overlay itself did change.
    expect(read('/a.txt')).toBe('rewritten');
    expect(read('/dir/made/file')).toBe('data');
    expect(exists('/empty')).toBe(false);
    expect(ov.diff().deleted).toContain('hard1');
  });

  it('works over a read-only HostFs', () => {
    lower = new HostFs({ hostRoot: hostDir, dev: 0x802, readOnly: true });
    ov = new OverlayFs({ lower, dev: 0x901 });
    vfs = new Vfs(ov, 'overlay');
    const before = hashTree(hostDir);
    workout();
    expect(hashTree(hostDir)).toBe(before);
    expect(read('/dir/made/hl')).toBe('#!/bin/sh\n');
    expect(ov.stat(node('/dir/made/sl')).mode & S_IFMT).toBe(S_IFLNK);
  });

  it('never calls a mutating method of the lower filesystem', () => {
    const mutators = ['create', 'mkdir', 'mknod', 'symlink', 'link', 'unlink', 'rmdir', 'rename', 'truncate', 'chmod', 'chown', 'utimes'] as const;
    const spy = lower as unknown as Record<string, unknown>;
    for (const m of mutators) spy[m] = () => {
      throw new Error(`lower.${m} called`);
    };
    const realOpen = lower.open.bind(lower);
    spy.open = (n: Node, intent: OpenIntent) => {
      if (intent.write || intent.truncate) throw new Error('lower opened for writing');
      return realOpen(n, intent);
    };
    workout();
  });

  it('also stacks over a MemFs', () => {
    const m = new MemFs({ dev: 3 });
    m.addFile('etc/conf', 'k=v\n');
    m.addDir('var/empty');
    const o = new OverlayFs({ lower: m, dev: 4 });
    const etc = o.lookup(o.root(), 'etc');
    const f = o.open(o.lookup(etc, 'conf'), RDWR);
    f.write(bytes('K'), 0);
    f.close();
    expect(readNode(m, m.lookup(m.lookup(m.root(), 'etc'), 'conf'))).toBe('k=v\n');
    expect(readNode(o, o.lookup(etc, 'conf'))).toBe('K=v\n');
    o.rmdir(o.lookup(o.root(), 'var'), 'empty');
    expect(o.diff()).toEqual({ created: [], changed: ['etc/conf'], deleted: ['var/empty'] });
  });
});

describe('OverlayFs under the syscall layer', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    it(`${arch}: open, write, rename, unlink, mkdir, symlink, link, chmod and getdents through the Vfs`, async () => {
      const { headless } = await import('./helpers/headless.ts');
      const t = headless(arch, { hostDir: false, uid: 0, gid: 0 });
      try {
        const c = t.c;
        const o = new OverlayFs({ lower, dev: 0x999 });
        t.k.vfs.mount('/ov', o, 'overlay');
        const before = hashTree(hostDir);
        const at = (p: string) => t.str(p);

        const fd = t.open('/ov/a.txt', c.O_RDWR);
        expect(fd).toBeGreaterThanOrEqual(0);
        expect(t.readFd(fd)).toBe('alpha');
        expect(t.call('pwrite64', fd, t.bytes('ALPHA'), 5, 0)).toBe(5);
        expect(t.call('close', fd)).toBe(0);
        const w = t.open('/ov/dir/new', c.O_CREAT | c.O_WRONLY | c.O_TRUNC, 0o600);
        expect(t.write(w, 'made')).toBe(4);
        t.call('close', w);
        const tr = t.open('/ov/big.bin', c.O_WRONLY | c.O_TRUNC);
        t.call('close', tr);
        expect(t.call('renameat2', c.AT_FDCWD, at('/ov/dir/x'), c.AT_FDCWD, at('/ov/x-moved'), 0)).toBe(0);
        expect(t.call('renameat2', c.AT_FDCWD, at('/ov/dir/sub'), c.AT_FDCWD, at('/ov/sub2'), 0)).toBe(0);
        expect(t.call('unlinkat', c.AT_FDCWD, at('/ov/dir/y'), 0)).toBe(0);
        expect(t.call('unlinkat', c.AT_FDCWD, at('/ov/empty'), c.AT_REMOVEDIR)).toBe(0);
        expect(t.call('mkdirat', c.AT_FDCWD, at('/ov/empty'), 0o700)).toBe(0);
        expect(t.call('symlinkat', at('x-moved'), c.AT_FDCWD, at('/ov/sl'))).toBe(0);
        expect(t.call('linkat', c.AT_FDCWD, at('/ov/exec.sh'), c.AT_FDCWD, at('/ov/dir/exec2'), 0)).toBe(0);
        expect(t.call('fchmodat', c.AT_FDCWD, at('/ov/exec.sh'), 0o700, 0)).toBe(0);
        expect(t.call('unlinkat', c.AT_FDCWD, at('/ov/dir'), c.AT_REMOVEDIR)).toBe(t.errno('ENOTEMPTY'));

        const r = t.open('/ov/sl', c.O_RDONLY);
        expect(t.readFd(r)).toBe('x-data');
        t.call('close', r);
        const st = t.stat('/ov/exec.sh');
        expect(typeof st === 'object' && st.mode & 0o7777).toBe(0o700);
        expect(typeof st === 'object' && st.nlink).toBe(2);

        const d = t.open('/ov/dir', c.O_RDONLY | c.O_DIRECTORY);
        const buf = t.buf(4096);
        const n = t.call('getdents64', d, buf, 4096);
        const entries = t.decodeDirents(buf, n).map((e) => e.name).filter((e) => e !== '.' && e !== '..');
        expect(entries.sort()).toEqual(['exec2', 'new']);
        t.call('close', d);

        expect(hashTree(hostDir)).toBe(before);
        expect(o.diff()).toEqual({
          created: ['dir/exec2', 'dir/new', 'sl', 'sub2', 'sub2/z', 'x-moved'],
          changed: ['a.txt', 'big.bin', 'empty', 'exec.sh'],
          deleted: ['dir/sub', 'dir/sub/z', 'dir/x', 'dir/y'],
        });
      } finally {
        t.cleanup();
      }
    });
  }
});
