// The host layer (src/host/) on its own, and the handle bookkeeping of a
// HostFs: a handle names its object across a rename, a symlink put where it
// was is never followed, a node whose handle was closed is reached again by
// name and checked, and the number of open host fds stays bounded however
// many paths a guest walks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostAccess, HostHandle } from '../src/host/index.ts';
import { linuxHandles } from '../src/host/linux.ts';
import { HANDLE_CACHE_SIZE, HostFs, type HostNode } from '../src/kernel/vfs/hostfs.ts';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../src/kernel/vfs/types.ts';
import { Vfs } from '../src/kernel/vfs/vfs.ts';
import { MemFs } from '../src/kernel/vfs/memfs.ts';
import { errno } from './helpers/errno.ts';

/** The errno name a host-layer call throws (HostError.code), or undefined. */
function hostErrno(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return undefined;
}

let tmp: string;
let inside: string;
let outside: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-handles-')));
  inside = path.join(tmp, 'inside');
  outside = path.join(tmp, 'outside');
  fs.mkdirSync(inside);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'outside\n', { mode: 0o640 });
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const layer = linuxHandles();
const O_RDONLY = fs.constants.O_RDONLY;

describe.skipIf(typeof layer === 'string')(`the Linux handle layer${typeof layer === 'string' ? ` (skipped: ${layer})` : ''}`, () => {
  const host = layer as HostAccess;
  const opened: HostHandle[] = [];
  const open = (h: HostHandle): HostHandle => (opened.push(h), h);
  afterEach(() => opened.splice(0).forEach((h) => host.closeHandle(h)));

  it('a directory handle names the directory across a rename; the symlink put in its place is never followed', () => {
    fs.mkdirSync(path.join(inside, 'd'));
    fs.writeFileSync(path.join(inside, 'd', 'in'), 'in\n');
    const root = open(host.openRoot(inside));
    const d = open(host.openHandle(root, 'd'));
    fs.renameSync(path.join(inside, 'd'), path.join(inside, 'd2'));
    fs.symlinkSync(outside, path.join(inside, 'd'));
    expect(host.statAt(d, '')!.ino).toBe(fs.statSync(path.join(inside, 'd2'), { bigint: true }).ino);
    expect(host.readdir(d).map((e) => e.name.toString())).toEqual(['in']);
    expect(host.statAt(d, 'secret')).toBeNull();
    // The swapped name is the symlink itself, as a handle, a stat and a link text.
    const link = open(host.openHandle(root, 'd'));
    expect(host.statAt(link, '')!.mode & S_IFMT).toBe(S_IFLNK);
    expect(host.statAt(root, 'd')!.mode & S_IFMT).toBe(S_IFLNK);
    expect(host.readlinkAt(link, '').toString()).toBe(outside);
    expect(hostErrno(() => host.openAt(root, 'd', O_RDONLY))).toBe('ELOOP');
    expect(hostErrno(() => host.openHandle(link, 'secret'))).toBe('ENOTDIR');
    // Calls in the held directory land in d2.
    host.mkdirAt(d, 'made', 0o755);
    host.symlinkAt('/', d, 'up');
    fs.closeSync(host.openAt(d, 'new', fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
    host.renameAt(d, 'new', d, 'renamed', true);
    host.unlinkAt(d, 'made', true);
    expect(fs.readdirSync(path.join(inside, 'd2')).sort()).toEqual(['in', 'renamed', 'up']);
    expect(fs.readdirSync(outside)).toEqual(['secret']);
  });

  it("a file handle's own calls (open, chmod, utimes, link) reach the renamed file, never the symlink's target", () => {
    fs.writeFileSync(path.join(inside, 'f'), 'inside\n');
    const root = open(host.openRoot(inside));
    const f = open(host.openHandle(root, 'f'));
    fs.renameSync(path.join(inside, 'f'), path.join(inside, 'f2'));
    fs.symlinkSync(path.join(outside, 'secret'), path.join(inside, 'f'));
    const before = fs.statSync(path.join(outside, 'secret'), { bigint: true });
    const fd = host.openAt(f, '', fs.constants.O_WRONLY);
    fs.writeSync(fd, 'IN');
    fs.closeSync(fd);
    host.chmod(f, 0o4755);
    host.utimes(f, null, 1_000_000_000_123n);
    host.link(f, root, 'hard');
    const f2 = fs.statSync(path.join(inside, 'f2'), { bigint: true });
    expect([f2.mode & 0o7777n, f2.mtimeNs]).toEqual([0o4755n, 1_000_000_000_123n]);
    expect(fs.readFileSync(path.join(inside, 'f2'), 'utf8')).toBe('INside\n');
    expect(fs.statSync(path.join(inside, 'hard'), { bigint: true }).ino).toBe(f2.ino);
    // utimes of a symlink's handle sets the link's own times.
    const l = open(host.openHandle(root, 'f'));
    host.utimes(l, 5_000_000_000n, 6_000_000_000n);
    expect(fs.lstatSync(path.join(inside, 'f'), { bigint: true }).mtimeNs).toBe(6_000_000_000n);
    expect(hostErrno(() => host.chmod(l, 0o777))).toBe('EOPNOTSUPP');
    expect(hostErrno(() => host.openAt(l, '', O_RDONLY))).toBe('ELOOP');
    const after = fs.statSync(path.join(outside, 'secret'), { bigint: true });
    expect([after.mode, after.mtimeNs, after.ctimeNs]).toEqual([before.mode, before.mtimeNs, before.ctimeNs]);
  });
});

/** A HostFs over `inside` mounted at /h of an in-memory root. */
function mounted(opts: { handleCacheSize?: number } = {}): { vfs: Vfs; h: HostFs } {
  const h = new HostFs({ hostRoot: inside, dev: 77, ...opts });
  const vfs = new Vfs(new MemFs({ type: 'rootfs', dev: 1 }));
  vfs.mount('/h', h, inside);
  return { vfs, h };
}

const hostFds = (): number => fs.readdirSync('/proc/self/fd').length;

describe('HostFs handles', () => {
  let h: HostFs | undefined;
  afterEach(() => h?.dispose());

  it('a node whose handle was closed is reached again by name, and checked to be the same object', () => {
    fs.mkdirSync(path.join(inside, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(inside, 'a', 'b', 'file'), 'in\n');
    fs.mkdirSync(path.join(outside, 'b'));
    fs.writeFileSync(path.join(outside, 'b', 'file'), 'outside\n');
    for (let i = 0; i < 20; i++) fs.mkdirSync(path.join(inside, `x${i}`));
    const m = mounted({ handleCacheSize: 4 });
    h = m.h;
    const file = m.vfs.resolve('/h/a/b/file', { base: '/', follow: true }).node as HostNode;
    const b = file.parent!;
    expect(b.handle).not.toBeNull();
    // Walking other directories closes b's handle (it is the least recently used).
    const walkOthers = (): void => {
      for (let i = 0; i < 20; i++) m.h.readdir(m.vfs.resolve(`/h/x${i}`, { base: '/', follow: true }).node);
      m.h.stat(m.h.root()); // the next operation trims
    };
    walkOthers();
    expect(b.handle).toBeNull();
    expect(m.h.stat(file).size).toBe(3); // reached again from the root's handle
    // The host swaps a/b for a symlink to the outside b, which has a file of the same name.
    fs.renameSync(path.join(inside, 'a', 'b'), path.join(inside, 'a', 'b2'));
    fs.symlinkSync(path.join(outside, 'b'), path.join(inside, 'a', 'b'));
    walkOthers();
    expect(errno(() => m.h.stat(file))).toBe('ESTALE');
    expect(errno(() => m.h.readdir(b))).toBe('ESTALE');
    expect(errno(() => m.h.open(file, { read: true, write: false, append: false, truncate: false, nonblock: false }))).toBe('ESTALE');
    expect(errno(() => m.h.chmod(file, 0o777))).toBe('ESTALE');
    expect(fs.statSync(path.join(outside, 'b', 'file')).mode & 0o777).toBe(0o644);
  });

  it('a pinned directory (an open directory fd) follows its directory across renames (checked paths: ESTALE)', () => {
    fs.mkdirSync(path.join(inside, 'd'));
    fs.writeFileSync(path.join(inside, 'd', 'in'), '');
    const m = mounted({ handleCacheSize: 2 });
    h = m.h;
    const d = m.vfs.resolve('/h/d', { base: '/', follow: true }).node as HostNode;
    d.pin();
    fs.renameSync(path.join(inside, 'd'), path.join(inside, 'd2'));
    fs.symlinkSync(outside, path.join(inside, 'd'));
    for (let i = 0; i < 10; i++) m.h.stat(m.vfs.resolve('/h', { base: '/', follow: true }).node);
    if (m.h.host.handlesMayMove) {
      // A path cannot follow a rename it was not told of; what it names now is another object.
      expect(errno(() => m.h.readdir(d))).toBe('ESTALE');
      return;
    }
    expect(m.h.readdir(d).map((e) => e.name)).toEqual(['in']);
    expect(m.h.stat(m.h.lookup(d, 'in')).mode & S_IFMT).toBe(S_IFREG);
    expect(errno(() => m.h.lookup(d, 'secret'))).toBe('ENOENT');
    d.unpin();
  });

  it('open host fds stay bounded after walking 10,000 paths', () => {
    for (let i = 0; i < 100; i++) {
      const dir = path.join(inside, `d${i}`, 'sub');
      fs.mkdirSync(dir, { recursive: true });
      for (let j = 0; j < 10; j++) fs.writeFileSync(path.join(dir, `f${j}`), '');
    }
    const m = mounted();
    h = m.h;
    const fdsBefore = hostFds();
    let files = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) {
        for (let j = 0; j < 10; j++) {
          const r = m.vfs.resolve(`/h/d${i}/sub/f${j}`, { base: '/', follow: true });
          if ((m.h.stat(r.node).mode & S_IFMT) === S_IFREG) files++;
        }
      }
    }
    expect(files).toBe(10_000);
    m.h.stat(m.h.root()); // the next operation trims
    // The root's handle and at most HANDLE_CACHE_SIZE others (on a host whose handles are paths, no fds at all).
    expect(m.h.openHandles).toBeLessThanOrEqual(HANDLE_CACHE_SIZE + 1);
    expect(hostFds() - fdsBefore).toBeLessThanOrEqual(HANDLE_CACHE_SIZE);
    // Pinned nodes keep theirs; the end of a run closes every other one.
    const pinned = [0, 1, 2].map((i) => m.vfs.resolve(`/h/d${i}`, { base: '/', follow: true }).node as HostNode);
    pinned.forEach((n) => n.pin());
    m.h.release();
    expect(m.h.openHandles).toBe(4);
    pinned.forEach((n) => n.unpin());
    m.h.release();
    expect(m.h.openHandles).toBe(1);
    m.h.dispose();
    expect(m.h.openHandles).toBe(0);
    expect(hostFds()).toBeLessThanOrEqual(fdsBefore - (m.h.host.kind === 'handles' ? 1 : 0));
    expect(errno(() => m.h.stat(m.h.root()))).toBe('EIO');
    expect((m.h.root().fileType ?? 0) & S_IFDIR).toBe(S_IFDIR);
  });
});
