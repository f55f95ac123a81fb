import { errno } from './helpers/errno.ts';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LinuxError } from '../src/kernel/errors.ts';
import {
  DT_DIR,
  DT_LNK,
  DT_REG,
  DevFs,
  HostFs,
  MemFs,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  Vfs,
  makedev,
  sameFs,
  type FileSystem,
  type Node,
  type OpenFile,
  type OpenIntent,
  type Resolved,
} from '../src/kernel/vfs/index.ts';

const READ: OpenIntent = { read: true, write: false, append: false, truncate: false, nonblock: false };
const RDWR: OpenIntent = { ...READ, write: true };
const WRITE: OpenIntent = { ...READ, read: false, write: true };
const TRUNC: OpenIntent = { ...RDWR, truncate: true };
const NO_FLAGS = { noReplace: false, exchange: false };

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const text = (b: Uint8Array) => Buffer.from(b).toString();

/** Whole content of an open file, read from position 0. */
function readAll(f: OpenFile): string {
  const chunks: Buffer[] = [];
  const buf = new Uint8Array(7); // small on purpose: exercises positions
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

function readPath(vfs: Vfs, p: string, base = '/'): string {
  const r = vfs.resolve(p, { base, follow: true });
  return readNode(r.fs, r.node);
}

function fakeClock() {
  let t = 1_000_000_000n;
  return () => (t += 1000n);
}

// ---------------------------------------------------------------------------

describe('MemFs', () => {
  let m: MemFs;
  beforeEach(() => {
    m = new MemFs({ dev: 7, now: fakeClock(), uid: 1000, gid: 100 });
  });

  it('creates, writes, reads and stats a regular file', () => {
    const f = m.create(m.root(), 'a', 0o640);
    const st = m.stat(f);
    expect(st.mode).toBe(S_IFREG | 0o640);
    expect(st.dev).toBe(7);
    expect(st.uid).toBe(1000);
    expect(st.gid).toBe(100);
    expect(st.nlink).toBe(1);
    const of = m.open(f, RDWR);
    expect(of.write(bytes('hello'), 0)).toBe(5);
    expect(of.write(bytes('!'), 10)).toBe(1); // a hole reads as zeros
    expect(of.size()).toBe(11);
    const buf = new Uint8Array(20);
    expect(of.read(buf, 0)).toBe(11);
    expect([...buf.subarray(5, 10)]).toEqual([0, 0, 0, 0, 0]);
    expect(of.read(buf, 11)).toBe(0);
    expect(m.stat(f).size).toBe(11);
    expect(m.stat(f).mtimeNs).toBeGreaterThan(st.mtimeNs);
  });

  it('gives each node its own inode number and keeps the root at 1', () => {
    const a = m.create(m.root(), 'a', 0o644);
    const b = m.mkdir(m.root(), 'b', 0o755);
    const inos = [m.stat(m.root()).ino, m.stat(a).ino, m.stat(b).ino];
    expect(inos[0]).toBe(1);
    expect(new Set(inos).size).toBe(3);
    expect(m.readdir(m.root())).toEqual([
      { name: 'a', ino: inos[1], type: DT_REG },
      { name: 'b', ino: inos[2], type: DT_DIR },
    ]);
  });

  it('truncates, shrinking and growing with zeros', () => {
    const f = m.create(m.root(), 'f', 0o644);
    const of = m.open(f, RDWR);
    of.write(bytes('abcdef'), 0);
    m.truncate(f, 2);
    m.truncate(f, 4);
    expect([...Buffer.from(readAll(of))]).toEqual([0x61, 0x62, 0, 0]);
    expect(m.open(f, TRUNC).size()).toBe(0);
    expect(errno(() => m.truncate(f, -1))).toBe('EINVAL');
    expect(errno(() => m.truncate(m.root(), 0))).toBe('EISDIR');
  });

  it('counts directory links (2 + subdirectories)', () => {
    const d = m.mkdir(m.root(), 'd', 0o755);
    expect(m.stat(m.root()).nlink).toBe(3);
    m.mkdir(d, 'x', 0o755);
    m.create(d, 'file', 0o644);
    expect(m.stat(d).nlink).toBe(3);
    m.rmdir(d, 'x');
    expect(m.stat(d).nlink).toBe(2);
  });

  it('hard links share the inode and nlink', () => {
    const f = m.create(m.root(), 'f', 0o644);
    m.link(f, m.root(), 'g');
    expect(m.stat(f).nlink).toBe(2);
    expect(m.lookup(m.root(), 'g')).toBe(f);
    m.open(f, WRITE).write(bytes('shared'), 0);
    expect(readNode(m, m.lookup(m.root(), 'g'))).toBe('shared');
    m.unlink(m.root(), 'f');
    expect(m.stat(f).nlink).toBe(1);
    expect(errno(() => m.link(m.root(), m.root(), 'rootlink'))).toBe('EPERM');
    m.unlink(m.root(), 'g');
    expect(m.stat(f).nlink).toBe(0);
    expect(errno(() => m.link(f, m.root(), 'back'))).toBe('ENOENT');
  });

  it('keeps an unlinked open file readable', () => {
    const f = m.create(m.root(), 'f', 0o644);
    const of = m.open(f, RDWR);
    of.write(bytes('still here'), 0);
    m.unlink(m.root(), 'f');
    expect(readAll(of)).toBe('still here');
  });

  it('symlinks store their text', () => {
    const l = m.symlink(m.root(), 'l', '../x/y');
    expect(m.readlink(l)).toBe('../x/y');
    expect(m.stat(l).mode).toBe(S_IFLNK | 0o777);
    expect(m.stat(l).size).toBe(6);
    expect(m.readdir(m.root())[0]!.type).toBe(DT_LNK);
    expect(errno(() => m.readlink(m.root()))).toBe('EINVAL');
    expect(errno(() => m.symlink(m.root(), 'e', ''))).toBe('ENOENT');
    expect(errno(() => m.open(l, READ))).toBe('ELOOP');
  });

  it('gives the errors of each call', () => {
    const d = m.mkdir(m.root(), 'd', 0o755);
    const f = m.create(d, 'f', 0o644);
    expect(errno(() => m.lookup(m.root(), 'nope'))).toBe('ENOENT');
    expect(errno(() => m.lookup(f, 'x'))).toBe('ENOTDIR');
    expect(errno(() => m.create(d, 'f', 0o644))).toBe('EEXIST');
    expect(errno(() => m.mkdir(d, 'f', 0o755))).toBe('EEXIST');
    expect(errno(() => m.symlink(d, 'f', 'x'))).toBe('EEXIST');
    expect(errno(() => m.create(f, 'x', 0o644))).toBe('ENOTDIR');
    expect(errno(() => m.unlink(m.root(), 'd'))).toBe('EISDIR');
    expect(errno(() => m.unlink(d, 'nope'))).toBe('ENOENT');
    expect(errno(() => m.rmdir(m.root(), 'd'))).toBe('ENOTEMPTY');
    expect(errno(() => m.rmdir(d, 'f'))).toBe('ENOTDIR');
    expect(errno(() => m.open(d, RDWR))).toBe('EISDIR');
    expect(errno(() => m.open(d, READ).read(new Uint8Array(1), 0))).toBe('EISDIR');
    expect(errno(() => m.create(d, 'x'.repeat(256), 0o644))).toBe('ENAMETOOLONG');
    expect(errno(() => m.create(d, 'x'.repeat(255), 0o644))).toBeUndefined();
  });

  it('refuses entries in a removed directory', () => {
    const d = m.mkdir(m.root(), 'd', 0o755);
    m.rmdir(m.root(), 'd');
    expect(m.stat(d).nlink).toBe(0);
    expect(errno(() => m.create(d, 'x', 0o644))).toBe('ENOENT');
  });

  it('changes mode, owner and times', () => {
    const f = m.create(m.root(), 'f', 0o6755);
    m.chmod(f, 0o600);
    expect(m.stat(f).mode).toBe(S_IFREG | 0o600);
    m.chmod(f, 0o6750);
    m.chown(f, 5, -1);
    expect(m.stat(f).uid).toBe(5);
    expect(m.stat(f).gid).toBe(100);
    expect(m.stat(f).mode & 0o7777).toBe(0o750); // set-id bits cleared by chown
    m.utimes(f, 123n, null);
    const st = m.stat(f);
    expect(st.atimeNs).toBe(123n);
    m.utimes(f, null, 456n);
    expect(m.stat(f).atimeNs).toBe(123n);
    expect(m.stat(f).mtimeNs).toBe(456n);
  });

  describe('rename', () => {
    it('moves and replaces files', () => {
      const a = m.create(m.root(), 'a', 0o644);
      const b = m.create(m.root(), 'b', 0o644);
      m.rename(m.root(), 'a', m.root(), 'b', NO_FLAGS);
      expect(m.lookup(m.root(), 'b')).toBe(a);
      expect(errno(() => m.lookup(m.root(), 'a'))).toBe('ENOENT');
      expect(m.stat(b).nlink).toBe(0);
    });

    it('does nothing for two links of one file', () => {
      const a = m.create(m.root(), 'a', 0o644);
      m.link(a, m.root(), 'b');
      m.rename(m.root(), 'a', m.root(), 'b', NO_FLAGS);
      expect(m.lookup(m.root(), 'a')).toBe(a);
      expect(m.stat(a).nlink).toBe(2);
    });

    it('moves directories, fixing link counts', () => {
      const d1 = m.mkdir(m.root(), 'd1', 0o755);
      const d2 = m.mkdir(m.root(), 'd2', 0o755);
      const sub = m.mkdir(d1, 'sub', 0o755);
      m.rename(d1, 'sub', d2, 'moved', NO_FLAGS);
      expect(m.lookup(d2, 'moved')).toBe(sub);
      expect(m.stat(d1).nlink).toBe(2);
      expect(m.stat(d2).nlink).toBe(3);
    });

    it('gives rename(2) errors', () => {
      const d = m.mkdir(m.root(), 'd', 0o755);
      const e = m.mkdir(m.root(), 'e', 0o755);
      m.mkdir(d, 'sub', 0o755);
      m.create(e, 'f', 0o644);
      m.create(m.root(), 'file', 0o644);
      expect(errno(() => m.rename(m.root(), 'nope', m.root(), 'x', NO_FLAGS))).toBe('ENOENT');
      expect(errno(() => m.rename(m.root(), 'd', m.root(), 'file', NO_FLAGS))).toBe('ENOTDIR');
      expect(errno(() => m.rename(m.root(), 'file', m.root(), 'd', NO_FLAGS))).toBe('EISDIR');
      expect(errno(() => m.rename(m.root(), 'd', m.root(), 'e', NO_FLAGS))).toBe('ENOTEMPTY');
      expect(errno(() => m.rename(m.root(), 'd', d, 'inside', NO_FLAGS))).toBe('EINVAL');
      expect(errno(() => m.rename(m.root(), 'd', m.lookup(d, 'sub'), 'deeper', NO_FLAGS))).toBe('EINVAL');
      expect(errno(() => m.rename(m.root(), 'file', e, 'f', { noReplace: true, exchange: false }))).toBe('EEXIST');
      expect(errno(() => m.rename(m.root(), 'file', e, 'f', { noReplace: true, exchange: true }))).toBe('EINVAL');
      expect(errno(() => m.rename(m.root(), 'file', e, 'g', { noReplace: false, exchange: true }))).toBe('ENOENT');
    });

    it('replaces an empty directory', () => {
      const d = m.mkdir(m.root(), 'd', 0o755);
      m.mkdir(m.root(), 'empty', 0o755);
      m.rename(m.root(), 'd', m.root(), 'empty', NO_FLAGS);
      expect(m.lookup(m.root(), 'empty')).toBe(d);
      expect(m.stat(m.root()).nlink).toBe(3);
    });

    it('exchanges two names', () => {
      const d = m.mkdir(m.root(), 'd', 0o755);
      const f = m.create(m.root(), 'f', 0o644);
      const other = m.mkdir(m.root(), 'other', 0o755);
      m.rename(m.root(), 'd', other, 'x', NO_FLAGS);
      m.create(other, 'placeholder', 0o644);
      m.rename(other, 'x', m.root(), 'f', { noReplace: false, exchange: true });
      expect(m.lookup(m.root(), 'f')).toBe(d);
      expect(m.lookup(other, 'x')).toBe(f);
      expect(m.stat(other).nlink).toBe(2);
      expect(m.stat(m.root()).nlink).toBe(4);
    });
  });

  it('is read-only when asked, with EROFS for every change', () => {
    const ro = new MemFs({ dev: 1, readOnly: true });
    const f = ro.addFile('etc/passwd', 'root:x:0:0::/root:/bin/sh\n');
    const etc = ro.lookup(ro.root(), 'etc');
    ro.addSymlink('etc/l', 'passwd');
    expect(readNode(ro, f)).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(errno(() => ro.create(etc, 'new', 0o644))).toBe('EROFS');
    expect(errno(() => ro.create(etc, 'passwd', 0o644))).toBe('EEXIST'); // EEXIST first, as Linux
    expect(errno(() => ro.mkdir(etc, 'd', 0o755))).toBe('EROFS');
    expect(errno(() => ro.symlink(etc, 's', 'x'))).toBe('EROFS');
    expect(errno(() => ro.link(f, etc, 'h'))).toBe('EROFS');
    expect(errno(() => ro.unlink(etc, 'passwd'))).toBe('EROFS');
    expect(errno(() => ro.rmdir(ro.root(), 'etc'))).toBe('EROFS');
    expect(errno(() => ro.rename(etc, 'passwd', etc, 'p2', NO_FLAGS))).toBe('EROFS');
    expect(errno(() => ro.truncate(f, 0))).toBe('EROFS');
    expect(errno(() => ro.chmod(f, 0o600))).toBe('EROFS');
    expect(errno(() => ro.chown(f, 1, 1))).toBe('EROFS');
    expect(errno(() => ro.utimes(f, 1n, 1n))).toBe('EROFS');
    expect(errno(() => ro.open(f, WRITE))).toBe('EROFS');
    expect(errno(() => ro.open(f, { ...READ, truncate: true }))).toBe('EROFS');
    expect(readNode(ro, f)).toBe('root:x:0:0::/root:/bin/sh\n');
  });

  it('adds synthetic files, directories and symlinks', () => {
    let calls = 0;
    m.addFile('proc-like/counter', () => bytes(`call ${++calls}\n`));
    m.addFile('a/b/c.txt', 'text', 0o600);
    m.addDir('x/y');
    m.addSymlink('x/y/link', '/a/b/c.txt');
    const a = m.lookup(m.root(), 'a');
    const c = m.lookup(m.lookup(a, 'b'), 'c.txt');
    expect(m.stat(c).mode).toBe(S_IFREG | 0o600);
    expect(readNode(m, c)).toBe('text');
    const counter = m.lookup(m.lookup(m.root(), 'proc-like'), 'counter');
    expect(readNode(m, counter)).toMatch(/^call \d+\n$/);
    const before = calls;
    expect(readNode(m, counter)).toBe(`call ${before + 1}\n`);
    // Writing freezes the content into a plain file.
    const w = m.open(counter, RDWR);
    w.write(bytes('X'), 0);
    expect(readNode(m, counter)).toBe(`Xall ${before + 2}\n`);
    expect(m.readlink(m.lookup(m.lookup(m.lookup(m.root(), 'x'), 'y'), 'link'))).toBe('/a/b/c.txt');
    m.addFile('a/b/c.txt', new Uint8Array([1, 2, 3]));
    expect(m.stat(c).size).toBe(3);
  });

  it('opens mknod devices through openSpecial, else ENXIO', () => {
    const dev = m.mknod(m.root(), 'dev', S_IFCHR | 0o600, makedev(4, 1));
    expect(m.stat(dev).rdev).toBe(makedev(4, 1));
    expect(errno(() => m.open(dev, READ))).toBe('ENXIO');
    const opened: Node[] = [];
    const m2 = new MemFs({
      dev: 3,
      openSpecial: (node) => {
        opened.push(node);
        return { node, seekable: false, read: () => 0, write: (b) => b.length, size: () => 0, close: () => {} };
      },
    });
    const d2 = m2.mknod(m2.root(), 'd', S_IFCHR | 0o600, 0);
    m2.open(d2, READ);
    expect(opened).toEqual([d2]);
  });
});

// ---------------------------------------------------------------------------

describe('DevFs', () => {
  const seen: number[] = [];
  const dev = new DevFs({
    dev: 5,
    random: (buf) => {
      seen.push(buf.length);
      buf.fill(0xab);
    },
  });
  const open = (name: string, intent = RDWR) => dev.open(dev.lookup(dev.root(), name), intent);

  it('has Linux device numbers and modes', () => {
    const expected: [string, number, number][] = [
      ['null', 1, 3],
      ['zero', 1, 5],
      ['full', 1, 7],
      ['random', 1, 8],
      ['urandom', 1, 9],
      ['tty', 5, 0],
    ];
    for (const [name, maj, min] of expected) {
      const st = dev.stat(dev.lookup(dev.root(), name));
      expect(st.mode, name).toBe(0o20666);
      expect(st.rdev, name).toBe(makedev(maj, min));
    }
    expect(makedev(1, 3)).toBe(0x103);
    expect(dev.type).toBe('devtmpfs');
  });

  it('null reads EOF and swallows writes', () => {
    const f = open('null');
    expect(f.read(new Uint8Array(10), 0)).toBe(0);
    expect(f.write(new Uint8Array(10), 0)).toBe(10);
    expect(f.seekable).toBe(true);
    expect(f.size()).toBe(0);
  });

  it('zero reads zeros; full reads zeros and writes ENOSPC', () => {
    const buf = new Uint8Array(8).fill(9);
    expect(open('zero').read(buf, 100)).toBe(8);
    expect([...buf]).toEqual(new Array(8).fill(0));
    expect(open('zero').write(buf, 0)).toBe(8);
    buf.fill(9);
    expect(open('full').read(buf, 0)).toBe(8);
    expect([...buf]).toEqual(new Array(8).fill(0));
    expect(errno(() => open('full').write(buf, 0))).toBe('ENOSPC');
  });

  it('random and urandom read from the byte source', () => {
    const buf = new Uint8Array(16);
    expect(open('urandom', READ).read(buf, 0)).toBe(16);
    expect(buf.every((b) => b === 0xab)).toBe(true);
    expect(open('random', READ).read(new Uint8Array(4), 0)).toBe(4);
    expect(seen).toEqual([16, 4]);
    expect(open('random').seekable).toBe(false);
    expect(open('random').write(new Uint8Array(3), 0)).toBe(3);
  });

  it('default random source fills with crypto bytes', () => {
    const d = new DevFs({ dev: 9 });
    const buf = new Uint8Array(64);
    d.open(d.lookup(d.root(), 'urandom'), READ).read(buf, 0);
    expect(buf.some((b) => b !== 0)).toBe(true);
  });

  it('tty opens the controlling terminal or gives ENXIO', () => {
    expect(errno(() => open('tty'))).toBe('ENXIO');
    const term: OpenFile = { node: dev.root(), seekable: false, isTty: true, read: () => 0, write: (b) => b.length, size: () => 0, close: () => {} };
    const withTty = new DevFs({ dev: 6, tty: () => term });
    expect(withTty.open(withTty.lookup(withTty.root(), 'tty'), RDWR)).toBe(term);
  });

  it('has std* and fd symlinks into /proc/self/fd', () => {
    const link = (n: string) => dev.readlink(dev.lookup(dev.root(), n));
    expect(link('fd')).toBe('/proc/self/fd');
    expect(link('stdin')).toBe('/proc/self/fd/0');
    expect(link('stdout')).toBe('/proc/self/fd/1');
    expect(link('stderr')).toBe('/proc/self/fd/2');
  });
});

// ---------------------------------------------------------------------------

describe('HostFs', () => {
  let tmp: string;
  let rootDir: string;
  let h: HostFs;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-vfs-'));
    rootDir = path.join(tmp, 'root');
    fs.mkdirSync(rootDir);
    h = new HostFs({ hostRoot: rootDir, dev: 42 });
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('creates, writes and reads files through OpenFile', () => {
    const f = h.create(h.root(), 'hello.txt', 0o640);
    const of = h.open(f, RDWR);
    expect(of.write(bytes('hello world'), 0)).toBe(11);
    expect(of.write(bytes('W'), 6)).toBe(1);
    expect(of.size()).toBe(11);
    expect(readAll(of)).toBe('hello World');
    of.close();
    of.close(); // idempotent
    expect(fs.readFileSync(path.join(rootDir, 'hello.txt'), 'utf8')).toBe('hello World');
    const st = h.stat(h.lookup(h.root(), 'hello.txt'));
    expect(st.size).toBe(11);
    expect(st.dev).toBe(42);
    expect(st.mode & S_IFMT).toBe(S_IFREG);
    if (process.platform !== 'win32') expect(st.mode & 0o777).toBe(0o640);
    expect(st.nlink).toBe(1);
    expect(st.ino).toBe(Number(fs.statSync(path.join(rootDir, 'hello.txt'), { bigint: true }).ino));
    expect(st.mtimeNs).toBeGreaterThan(0n);
    expect(errno(() => of.read(new Uint8Array(1), 0))).toBe('EBADF');
  });

  it('truncates on open and with truncate()', () => {
    fs.writeFileSync(path.join(rootDir, 'f'), 'abcdef');
    const f = h.lookup(h.root(), 'f');
    h.truncate(f, 3);
    expect(fs.readFileSync(path.join(rootDir, 'f'), 'utf8')).toBe('abc');
    h.open(f, TRUNC).close();
    expect(fs.statSync(path.join(rootDir, 'f')).size).toBe(0);
    fs.writeFileSync(path.join(rootDir, 'f'), 'abc');
    h.open(f, { ...READ, truncate: true }).close(); // O_RDONLY|O_TRUNC truncates on Linux
    expect(fs.statSync(path.join(rootDir, 'f')).size).toBe(0);
    expect(errno(() => h.truncate(h.root(), 0))).toBe('EISDIR');
  });

  it('makes and removes directories, renames, unlinks', () => {
    const d = h.mkdir(h.root(), 'd', 0o755);
    expect(h.stat(d).mode & S_IFMT).toBe(S_IFDIR);
    h.create(d, 'f', 0o644);
    expect(errno(() => h.rmdir(h.root(), 'd'))).toBe('ENOTEMPTY');
    expect(errno(() => h.unlink(h.root(), 'd'))).toBe('EISDIR');
    expect(errno(() => h.rmdir(d, 'f'))).toBe('ENOTDIR');
    h.rename(d, 'f', h.root(), 'g', NO_FLAGS);
    expect(fs.existsSync(path.join(rootDir, 'g'))).toBe(true);
    expect(fs.existsSync(path.join(rootDir, 'd', 'f'))).toBe(false);
    h.create(h.root(), 'h', 0o644);
    expect(errno(() => h.rename(h.root(), 'g', h.root(), 'h', { noReplace: true, exchange: false }))).toBe('EEXIST');
    expect(errno(() => h.rename(h.root(), 'g', h.root(), 'h', { noReplace: false, exchange: true }))).toBe('EINVAL');
    expect(errno(() => h.rename(h.root(), 'g', h.root(), 'd', NO_FLAGS))).toBe('EISDIR');
    expect(errno(() => h.rename(h.root(), 'd', d, 'inside', NO_FLAGS))).toBe('EINVAL');
    h.rename(h.root(), 'g', h.root(), 'h', NO_FLAGS);
    expect(fs.readdirSync(rootDir).sort()).toEqual(['d', 'h']);
    h.unlink(h.root(), 'h');
    h.rmdir(h.root(), 'd');
    expect(fs.readdirSync(rootDir)).toEqual([]);
    expect(errno(() => h.unlink(h.root(), 'h'))).toBe('ENOENT');
    expect(errno(() => h.mkdir(h.root(), 'x'.repeat(256), 0o755))).toBe('ENAMETOOLONG');
  });

  it('lists directories with types and inode numbers', () => {
    fs.mkdirSync(path.join(rootDir, 'sub'));
    fs.writeFileSync(path.join(rootDir, 'file'), 'x');
    const entries = h.readdir(h.root()).sort((a, b) => a.name.localeCompare(b.name));
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['file', DT_REG],
      ['sub', DT_DIR],
    ]);
    expect(entries[0]!.ino).toBe(h.stat(h.lookup(h.root(), 'file')).ino);
    expect(h.readdir(h.root())).toEqual(h.readdir(h.root())); // stable
  });

  it("lists names in the host's own order (as native getdents does), not sorted", () => {
    // 40 names: an unsorted host order (ext4's hash order, tmpfs's newest-first) is all but certain.
    const names = Array.from({ length: 40 }, (_, i) => `n${String(i).padStart(2, '0')}`);
    for (const n of names) fs.writeFileSync(path.join(rootDir, n), '');
    const dir = fs.opendirSync(rootDir);
    const hostOrder: string[] = [];
    for (let e = dir.readSync(); e; e = dir.readSync()) hostOrder.push(e.name);
    dir.closeSync();
    expect(hostOrder).not.toEqual(names); // the host does not list them sorted: the check below means something
    expect(h.readdir(h.root()).map((e) => e.name)).toEqual(hostOrder);
  });

  it('maps guest byte-string names to UTF-8 host names', () => {
    const guestName = Buffer.from('café', 'utf8').toString('latin1');
    h.create(h.root(), guestName, 0o644);
    expect(fs.readdirSync(rootDir)).toEqual(['café']);
    expect(h.readdir(h.root()).map((e) => e.name)).toEqual([guestName]);
    expect(errno(() => h.create(h.root(), '\xff', 0o644))).toBe('EINVAL'); // not UTF-8
    expect(errno(() => h.lookup(h.root(), '\xff'))).toBe('ENOENT');
  });

  it('refuses "." and ".." lookups', () => {
    expect(errno(() => h.lookup(h.root(), '..'))).toBe('EINVAL');
    expect(errno(() => h.lookup(h.root(), '.'))).toBe('EINVAL');
  });

  it.skipIf(process.platform === 'win32')('hard links and symlinks', () => {
    const f = h.create(h.root(), 'f', 0o644);
    h.link(f, h.root(), 'g');
    expect(h.stat(f).nlink).toBe(2);
    expect(errno(() => h.link(h.root(), h.root(), 'rootlink'))).toBe('EPERM');
    const l = h.symlink(h.root(), 'l', '/etc/passwd');
    expect(h.stat(l).mode & S_IFMT).toBe(S_IFLNK);
    expect(h.readlink(l)).toBe('/etc/passwd');
    expect(fs.readlinkSync(path.join(rootDir, 'l'))).toBe('/etc/passwd');
    expect(errno(() => h.readlink(f))).toBe('EINVAL');
    expect(errno(() => h.open(l, READ))).toBe('ELOOP');
    expect(h.readdir(h.root()).find((e) => e.name === 'l')!.type).toBe(DT_LNK);
  });

  it('read-only: EROFS for every change and the host tree is unchanged', () => {
    fs.writeFileSync(path.join(rootDir, 'f'), 'keep');
    fs.mkdirSync(path.join(rootDir, 'd'));
    const snapshot = () => JSON.stringify(fs.readdirSync(rootDir, { recursive: true }).sort()) + fs.readFileSync(path.join(rootDir, 'f'), 'utf8');
    const before = snapshot();
    const ro = new HostFs({ hostRoot: rootDir, dev: 43, readOnly: true });
    const f = ro.lookup(ro.root(), 'f');
    expect(errno(() => ro.create(ro.root(), 'new', 0o644))).toBe('EROFS');
    expect(errno(() => ro.mkdir(ro.root(), 'nd', 0o755))).toBe('EROFS');
    expect(errno(() => ro.symlink(ro.root(), 'nl', 'x'))).toBe('EROFS');
    expect(errno(() => ro.link(f, ro.root(), 'nh'))).toBe('EROFS');
    expect(errno(() => ro.unlink(ro.root(), 'f'))).toBe('EROFS');
    expect(errno(() => ro.rmdir(ro.root(), 'd'))).toBe('EROFS');
    expect(errno(() => ro.rename(ro.root(), 'f', ro.root(), 'g', NO_FLAGS))).toBe('EROFS');
    expect(errno(() => ro.open(f, WRITE))).toBe('EROFS');
    expect(errno(() => ro.open(f, RDWR))).toBe('EROFS');
    expect(errno(() => ro.open(f, { ...READ, truncate: true }))).toBe('EROFS');
    expect(errno(() => ro.truncate(f, 0))).toBe('EROFS');
    expect(errno(() => ro.chmod(f, 0o600))).toBe('EROFS');
    expect(errno(() => ro.chown(f, 0, 0))).toBe('EROFS');
    expect(errno(() => ro.utimes(f, 0n, 0n))).toBe('EROFS');
    expect(readNode(ro, f)).toBe('keep');
    expect(snapshot()).toBe(before);
  });
});

// ---------------------------------------------------------------------------

describe('Vfs resolution', () => {
  let root: MemFs;
  let tmpfs: MemFs;
  let vfs: Vfs;
  beforeEach(() => {
    root = new MemFs({ type: 'rootfs', dev: 1 });
    root.addFile('etc/hostname', 'box\n');
    root.addFile('home/user/notes.txt', 'notes');
    root.addSymlink('home/user/rel', '../user/notes.txt');
    root.addSymlink('home/user/abs', '/etc/hostname');
    root.addSymlink('home/user/dirlink', '/etc');
    root.addSymlink('home/user/dirslash', '/etc/');
    root.addSymlink('home/user/fileslash', '/etc/hostname/');
    root.addSymlink('home/user/dangling', '/nowhere/x');
    root.addSymlink('home/user/dangling2', 'newfile');
    root.addSymlink('loop1', 'loop2');
    root.addSymlink('loop2', 'loop1');
    vfs = new Vfs(root);
    tmpfs = new MemFs({ dev: 2 });
    tmpfs.addFile('intmp', 'tmp file');
    vfs.mount('/tmp', tmpfs, 'tmpfs', 'rw,nosuid');
  });
  const at = (p: string, base = '/', follow = true) => vfs.resolve(p, { base, follow });

  it('resolves absolute and relative paths to canonical paths', () => {
    expect(at('/etc/hostname').path).toBe('/etc/hostname');
    expect(at('//etc///hostname').path).toBe('/etc/hostname');
    expect(at('notes.txt', '/home/user').path).toBe('/home/user/notes.txt');
    expect(at('./user/./notes.txt', '/home').path).toBe('/home/user/notes.txt');
    expect(at('.', '/home').path).toBe('/home');
    expect(readPath(vfs, 'notes.txt', '/home/user')).toBe('notes');
  });

  it('accepts a Resolved base', () => {
    const home = at('/home');
    expect(vfs.resolve('user/notes.txt', { base: home, follow: true }).path).toBe('/home/user/notes.txt');
    expect(vfs.resolve('../etc', { base: home, follow: true }).path).toBe('/etc');
  });

  it('handles ".." including at the root', () => {
    expect(at('/home/user/..').path).toBe('/home');
    expect(at('..', '/home/user').path).toBe('/home');
    expect(at('/..').path).toBe('/');
    expect(at('/../../..').path).toBe('/');
    expect(at('../../../../etc/hostname', '/home/user').path).toBe('/etc/hostname');
    expect(at('/home/user/../../etc').path).toBe('/etc');
  });

  it('crosses mounts both ways', () => {
    const t = at('/tmp');
    expect(t.fs).toBe(tmpfs);
    expect(t.node).toBe(tmpfs.root());
    expect(readPath(vfs, '/tmp/intmp')).toBe('tmp file');
    const up = at('/tmp/..');
    expect(up.fs).toBe(root);
    expect(up.path).toBe('/');
    expect(at('../etc', '/tmp').path).toBe('/etc');
    expect(at('../etc', '/tmp').fs).toBe(root);
    expect(vfs.isMountPoint('/tmp')).toBe(true);
    expect(sameFs(at('/tmp/intmp'), at('/etc'))).toBe(false);
    expect(vfs.sameFs(at('/tmp/intmp'), at('/tmp'))).toBe(true);
  });

  it('lists mounts in order and replaces a mount', () => {
    expect(vfs.mounts().map((m) => [m.path, m.source, m.options])).toEqual([
      ['/', 'rootfs', 'rw'],
      ['/tmp', 'tmpfs', 'rw,nosuid'],
    ]);
    const other = new MemFs({ dev: 3 });
    vfs.mount('/tmp', other);
    expect(vfs.mounts().map((m) => m.fs)).toEqual([root, other]);
    expect(at('/tmp').fs).toBe(other);
  });

  it('makes missing mount points in a MemFs and nests mounts', () => {
    const a = new MemFs({ dev: 10 });
    const b = new MemFs({ dev: 11 });
    b.addFile('deep', 'deep');
    vfs.mount('/mnt/a', a);
    vfs.mount('/mnt/a/b', b);
    expect(root.stat(root.lookup(root.root(), 'mnt')).mode & S_IFMT).toBe(S_IFDIR);
    expect(readPath(vfs, '/mnt/a/b/deep')).toBe('deep');
    expect(at('/mnt/a/b/../..').path).toBe('/mnt');
    expect(at('/mnt/a/b/../..').fs).toBe(root);
    expect(errno(() => vfs.mount('/etc/hostname', a))).toBe('ENOTDIR');
    expect(errno(() => vfs.umount('/mnt/a'))).toBe('EBUSY');
    vfs.umount('/mnt/a/b');
    expect(errno(() => vfs.umount('/mnt/a/b'))).toBe('EINVAL');
    expect(at('/mnt/a/b/..').fs).toBe(a);
  });

  it('follows symlinks in the guest namespace', () => {
    expect(at('/home/user/rel').path).toBe('/home/user/notes.txt');
    expect(at('/home/user/abs').path).toBe('/etc/hostname');
    expect(at('/home/user/dirlink/hostname').path).toBe('/etc/hostname');
    // ".." after a symlinked directory goes up from the link's TARGET.
    expect(at('/home/user/dirlink/..').path).toBe('/');
    const noFollow = at('/home/user/abs', '/', false);
    expect(noFollow.path).toBe('/home/user/abs');
    expect(root.stat(noFollow.node).mode & S_IFMT).toBe(S_IFLNK);
    // Intermediate links are followed even with follow=false.
    expect(at('/home/user/dirlink/hostname', '/', false).path).toBe('/etc/hostname');
    expect(errno(() => at('/home/user/dangling'))).toBe('ENOENT');
    expect(at('/home/user/dangling', '/', false).path).toBe('/home/user/dangling');
  });

  it('gives ELOOP after 40 symlinks', () => {
    expect(errno(() => at('/loop1'))).toBe('ELOOP');
    expect(at('/loop1', '/', false).path).toBe('/loop1');
    const chain = new MemFs({ dev: 20 });
    for (let i = 0; i < 41; i++) chain.addSymlink(`l${i}`, `l${i + 1}`);
    chain.addFile('l41', 'end');
    const v = new Vfs(chain);
    expect(errno(() => v.resolve('/l0', { base: '/', follow: true }))).toBe('ELOOP'); // 41 links
    expect(v.resolve('/l1', { base: '/', follow: true }).path).toBe('/l41'); // exactly 40
  });

  it('gives ENOTDIR for a non-directory in the middle, with mustBeDir, and with a trailing slash', () => {
    expect(errno(() => at('/etc/hostname/x'))).toBe('ENOTDIR');
    expect(errno(() => at('/etc/hostname/.'))).toBe('ENOTDIR');
    expect(errno(() => at('/etc/hostname/..'))).toBe('ENOTDIR');
    expect(errno(() => vfs.resolve('/etc/hostname', { base: '/', follow: true, mustBeDir: true }))).toBe('ENOTDIR');
    expect(errno(() => at('/etc/hostname/'))).toBe('ENOTDIR');
    expect(errno(() => at('x', '/etc/hostname'))).toBe('ENOTDIR');
    expect(at('/etc/').path).toBe('/etc');
  });

  it('treats trailing slashes as path_resolution(7) says', () => {
    // A trailing slash follows a final symlink even with follow=false.
    expect(at('/home/user/dirlink/', '/', false).path).toBe('/etc');
    expect(errno(() => at('/home/user/abs/', '/', false))).toBe('ENOTDIR');
    // A final symlink whose text ends in "/" must lead to a directory.
    expect(at('/home/user/dirslash').path).toBe('/etc');
    expect(errno(() => at('/home/user/fileslash'))).toBe('ENOTDIR');
  });

  it('gives ENAMETOOLONG and ENOENT for bad paths', () => {
    expect(errno(() => at('/' + 'a'.repeat(256)))).toBe('ENAMETOOLONG');
    expect(errno(() => at('/' + 'a'.repeat(255)))).toBe('ENOENT');
    const long = '/' + 'a/'.repeat(2047) + 'b'; // 4096 bytes
    expect(long.length).toBe(4096);
    expect(errno(() => at(long))).toBe('ENAMETOOLONG');
    expect(errno(() => at(long.slice(1)))).toBe('ENOENT'); // 4095 bytes: resolved, then missing
    expect(errno(() => at(''))).toBe('ENOENT');
    expect(errno(() => at('/nope/x'))).toBe('ENOENT');
  });

  describe('resolveParent', () => {
    it('returns the directory and the unresolved last name', () => {
      const p = vfs.resolveParent('/home/user/abs', '/');
      expect(p.dirPath).toBe('/home/user');
      expect(p.name).toBe('abs');
      expect(p.trailingSlash).toBe(false);
      expect(vfs.resolveParent('newfile', '/tmp').fs).toBe(tmpfs);
      expect(vfs.resolveParent('/home/user/dirlink/new', '/').dirPath).toBe('/etc');
      expect(vfs.resolveParent('/x/', '/').trailingSlash).toBe(true);
      expect(vfs.resolveParent('/', '/').name).toBe('/');
      expect(vfs.resolveParent('/home/..', '/').name).toBe('..');
    });

    it('gives path errors', () => {
      expect(errno(() => vfs.resolveParent('', '/'))).toBe('ENOENT');
      expect(errno(() => vfs.resolveParent('/nope/x', '/'))).toBe('ENOENT');
      expect(errno(() => vfs.resolveParent('/etc/hostname/x', '/'))).toBe('ENOTDIR');
      expect(errno(() => vfs.resolveParent('/' + 'n'.repeat(256), '/'))).toBe('ENAMETOOLONG');
    });

    it('gives each call its errors for ".", ".." and "/"', () => {
      const op = (p: string, o: Parameters<Vfs['resolveParent']>[2]) => errno(() => vfs.resolveParent(p, '/home', o));
      expect(op('.', 'mkdir')).toBe('EEXIST');
      expect(op('..', 'create')).toBe('EEXIST');
      expect(op('/', 'mkdir')).toBe('EEXIST');
      expect(op('.', 'unlink')).toBe('EISDIR');
      expect(op('.', 'rmdir')).toBe('EINVAL');
      expect(op('user/..', 'rmdir')).toBe('ENOTEMPTY');
      expect(op('/', 'rmdir')).toBe('EBUSY');
      expect(op('.', 'rename')).toBe('EBUSY');
      expect(op('..', 'renameNoReplace')).toBe('EEXIST');
      expect(op('/tmp', 'rmdir')).toBe('EBUSY');
      expect(op('/tmp', 'rename')).toBe('EBUSY');
    });

    it('gives each call its errors for a trailing slash', () => {
      const op = (p: string, o: Parameters<Vfs['resolveParent']>[2]) => errno(() => vfs.resolveParent(p, '/', o));
      expect(op('/etc/new/', 'mkdir')).toBeUndefined();
      expect(op('/etc/new/', 'create')).toBe('ENOENT');
      expect(op('/etc/hostname/', 'create')).toBe('EEXIST');
      expect(op('/etc/new/', 'unlink')).toBe('ENOENT');
      expect(op('/home/user/', 'unlink')).toBe('EISDIR');
      expect(op('/etc/hostname/', 'unlink')).toBe('ENOTDIR');
      expect(op('/home/user/dirlink/', 'unlink')).toBe('ENOTDIR'); // the link itself is not a directory
      expect(op('/home/user/', 'rmdir')).toBeUndefined();
    });
  });

  describe('resolveForCreate', () => {
    it('finds existing files or names the one to create', () => {
      expect(vfs.resolveForCreate('/etc/hostname', { base: '/', follow: true }).found?.path).toBe('/etc/hostname');
      const m = vfs.resolveForCreate('new', { base: '/tmp', follow: true }).missing!;
      expect([m.dirPath, m.name, m.fs]).toEqual(['/tmp', 'new', tmpfs]);
      expect(errno(() => vfs.resolveForCreate('/nope/new', { base: '/', follow: true }))).toBe('ENOENT');
    });

    it('creates through a dangling symlink only when following', () => {
      const m = vfs.resolveForCreate('/home/user/dangling2', { base: '/', follow: true }).missing!;
      expect([m.dirPath, m.name]).toEqual(['/home/user', 'newfile']);
      expect(vfs.resolveForCreate('/home/user/dangling2', { base: '/', follow: false }).found?.path).toBe('/home/user/dangling2');
      expect(errno(() => vfs.resolveForCreate('/home/user/dangling', { base: '/', follow: true }))).toBe('ENOENT');
    });
  });

  it('follows magic links by jumping', () => {
    const target = at('/home/user');
    let jumps = 0;
    const magic: Node & { jump(): Resolved } = {
      fs: root,
      fileType: S_IFLNK,
      jump: () => (jumps++, target),
    };
    // A tiny fs whose root holds one magic link "cwd".
    const procRoot: Node = { fs: undefined as unknown as FileSystem, fileType: S_IFDIR };
    const proc = {
      ...root,
      type: 'proc',
      readOnly: true,
      dev: 99,
      root: () => procRoot,
      lookup: (_d: Node, name: string) => (name === 'cwd' ? magic : (() => { throw new LinuxError('ENOENT'); })()),
      stat: () => ({ mode: S_IFDIR }) as ReturnType<FileSystem['stat']>,
      readlink: () => '/home/user',
    } as unknown as FileSystem;
    vfs.mount('/proc', proc);
    expect(at('/proc/cwd').path).toBe('/home/user');
    expect(at('/proc/cwd/notes.txt').path).toBe('/home/user/notes.txt');
    expect(at('/proc/cwd/..').path).toBe('/home');
    expect(at('/proc/cwd/../..').path).toBe('/');
    expect(at('/proc/cwd', '/', false).node).toBe(magic);
    expect(jumps).toBe(4);
  });
});

// ---------------------------------------------------------------------------

describe('Vfs confinement of a HostFs', () => {
  const SENTINEL = 'SENTINEL: outside the host root';
  let tmp: string;
  let hostRoot: string;
  let sentinel: string;
  let vfs: Vfs;
  beforeEach(() => {
    // tmp/sentinel sits next to (outside) tmp/a/b/root, the exposed directory.
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-escape-')));
    hostRoot = path.join(tmp, 'a', 'b', 'root');
    fs.mkdirSync(hostRoot, { recursive: true });
    sentinel = path.join(tmp, 'sentinel');
    fs.writeFileSync(sentinel, SENTINEL);
    fs.writeFileSync(path.join(tmp, 'a', 'sentinel'), SENTINEL);
    fs.writeFileSync(path.join(tmp, 'a', 'b', 'sentinel'), SENTINEL);
    fs.writeFileSync(path.join(hostRoot, 'inside'), 'inside');
    const rootfs = new MemFs({ type: 'rootfs', dev: 1 });
    rootfs.addFile('sentinel', 'guest sentinel'); // a guest-namespace file of the same name
    vfs = new Vfs(rootfs);
    vfs.mount('/host', new HostFs({ hostRoot, dev: 50 }), hostRoot);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Resolve and read; the content must never be the sentinel's. */
  function attempt(p: string, base = '/host'): string | undefined {
    let content: string | undefined;
    const code = errno(() => {
      content = readPath(vfs, p, base);
    });
    expect(content, `${p} reached the host sentinel`).not.toBe(SENTINEL);
    return content ?? code;
  }

  const hostSymlink = (name: string, target: string) => fs.symlinkSync(target, path.join(hostRoot, name));

  it('reads files inside the root', () => {
    expect(attempt('/host/inside')).toBe('inside');
    expect(attempt('inside')).toBe('inside');
  });

  it('".." cannot leave through the guest root or the mount root', () => {
    expect(attempt('../sentinel')).toBe('guest sentinel');
    expect(attempt('../../sentinel')).toBe('guest sentinel');
    expect(attempt('/../../sentinel')).toBe('guest sentinel');
    expect(attempt('/host/../../../sentinel')).toBe('guest sentinel');
    expect(attempt('/host/../host/../../b/sentinel')).toBe('ENOENT');
    expect(vfs.resolve('/host/..', { base: '/', follow: true }).path).toBe('/');
  });

  it.skipIf(process.platform === 'win32')('symlinks are resolved in the guest namespace', () => {
    hostSymlink('abs', sentinel); // absolute host path: means nothing in the guest
    hostSymlink('rel', '../../../../sentinel');
    hostSymlink('rel2', '../sentinel');
    hostSymlink('parentdir', '..');
    hostSymlink('hop1', 'hop2');
    hostSymlink('hop2', 'hop3');
    hostSymlink('hop3', '../../sentinel');
    hostSymlink('absdir', tmp);
    fs.mkdirSync(path.join(hostRoot, 'deep', 'er'), { recursive: true });
    fs.symlinkSync('../../../sentinel', path.join(hostRoot, 'deep', 'er', 'up'));
    expect(attempt('/host/abs')).toBe('ENOENT'); // tmp/... does not exist in the guest
    expect(attempt('/host/rel')).toBe('guest sentinel');
    expect(attempt('/host/rel2')).toBe('guest sentinel');
    expect(attempt('/host/parentdir/sentinel')).toBe('guest sentinel');
    expect(attempt('/host/hop1')).toBe('guest sentinel');
    expect(attempt('/host/absdir/sentinel')).toBe('ENOENT');
    expect(attempt('/host/deep/er/up')).toBe('guest sentinel');
    expect(attempt('deep/er/up')).toBe('guest sentinel');
    expect(attempt('/host/deep/er/../../rel')).toBe('guest sentinel');
  });

  it.skipIf(process.platform === 'win32')('an absolute host path that also exists in the guest stays in the guest', () => {
    // Mirror the host path of the sentinel inside the guest namespace.
    const guestRoot = new MemFs({ dev: 60 });
    guestRoot.addFile(sentinel.slice(1), 'guest copy');
    const v = new Vfs(guestRoot);
    v.mount('/host', new HostFs({ hostRoot, dev: 61 }));
    hostSymlink('abs', sentinel);
    expect(readPath(v, '/host/abs')).toBe('guest copy');
  });

  it.skipIf(process.platform === 'win32')('a HostFs as the guest root cannot be left either', () => {
    const v = new Vfs(new HostFs({ hostRoot, dev: 70 }));
    hostSymlink('rel', '../../../../sentinel');
    hostSymlink('abs', sentinel);
    for (const p of ['/../sentinel', '../../sentinel', '/rel', '/abs', '/../../../' + path.relative('/', sentinel)]) {
      let content: string | undefined;
      const code = errno(() => (content = readPath(v, p)));
      expect(code, p).toBe('ENOENT');
      expect(content).toBeUndefined();
    }
    expect(readPath(v, '/../inside')).toBe('inside');
  });

  it('nothing the Vfs hands a HostFs leaves its root', () => {
    const h = vfs.resolve('/host', { base: '/', follow: true }).fs as HostFs;
    expect(errno(() => h.lookup(h.root(), '..'))).toBe('EINVAL');
    expect(errno(() => h.lookup(h.root(), '../sentinel'))).toBe('ENOENT');
    expect(errno(() => h.create(h.root(), '../escaped', 0o644))).toBe('EINVAL');
    expect(fs.existsSync(path.join(tmp, 'a', 'b', 'escaped'))).toBe(false);
    // Creating through a symlink that points outside is resolved in the guest
    // namespace, where that host directory does not exist.
    if (process.platform !== 'win32') {
      hostSymlink('out', path.join(tmp, 'created-outside'));
      expect(errno(() => vfs.resolveForCreate('/host/out', { base: '/', follow: true }))).toBe('ENOENT');
      hostSymlink('out2', '../created-outside');
      const c = vfs.resolveForCreate('/host/out2', { base: '/', follow: true });
      expect([c.missing?.dirPath, c.missing?.name, c.missing?.fs === h]).toEqual(['/', 'created-outside', false]);
    }
  });
});
