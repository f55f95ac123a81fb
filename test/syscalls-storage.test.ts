// The storage calls of syscalls/storage.ts (truncate, fallocate, the sync
// family, statfs, fadvise64, flock, close_range) through a headless kernel on
// both arches, over the host directory mounted at /work. Expectations follow
// the man pages and, where they are vague, what Linux 6.x does.
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

type ErrnoName = Parameters<Headless['errno']>[0];

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const CLOSE_RANGE_UNSHARE = 2;
const CLOSE_RANGE_CLOEXEC = 4;
const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;
const ST_RDONLY = 1;
const ST_VALID = 0x20;

describe.each(ARCH_NAMES)('storage syscalls on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch);
  });
  afterEach(() => t.cleanup());

  const E = (name: ErrnoName) => t.errno(name);
  const size = (rel: string) => fs.statSync(t.hostPath(rel)).size;
  const openRW = (p: string) => t.open(p, t.c.O_CREAT | t.c.O_RDWR);

  describe('truncate', () => {
    it('shrinks and grows a file by path', () => {
      t.writeHost('a.txt', 'hello world');
      expect(t.call('truncate', t.str('a.txt'), 5)).toBe(0);
      expect(t.readHost('a.txt')).toBe('hello');
      expect(t.call('truncate', t.str('/work/a.txt'), 100)).toBe(0);
      expect(size('a.txt')).toBe(100);
    });
    it('gives EINVAL, EISDIR, ENOENT, ENOTDIR, EFAULT', () => {
      t.writeHost('a.txt', 'x');
      fs.mkdirSync(t.hostPath('d'));
      expect(t.call('truncate', t.str('a.txt'), -1)).toBe(E('EINVAL'));
      expect(t.call('truncate', t.str('d'), 0)).toBe(E('EISDIR'));
      expect(t.call('truncate', t.str('missing'), 0)).toBe(E('ENOENT'));
      expect(t.call('truncate', t.str('a.txt/x'), 0)).toBe(E('ENOTDIR'));
      expect(t.call('truncate', t.str(''), 0)).toBe(E('ENOENT'));
      expect(t.call('truncate', t.unmapped, 0)).toBe(E('EFAULT'));
    });
    it('gives EINVAL for a non-regular file and EACCES without write permission', () => {
      const [r] = t.pipe();
      expect(t.call('truncate', t.str(`/proc/self/fd/${r}`), 0)).toBe(E('EINVAL'));
      t.writeHost('ro.txt', 'abc', 0o444);
      t.proc.creds.euid = 12345;
      t.proc.creds.egid = 12345;
      expect(t.call('truncate', t.str('ro.txt'), 0)).toBe(E('EACCES'));
    });
  });

  describe('ftruncate', () => {
    it('resizes a file open for writing', () => {
      const fd = openRW('f');
      expect(t.write(fd, 'abcdef')).toBe(6);
      expect(t.call('ftruncate', fd, 2)).toBe(0);
      expect(t.readHost('f')).toBe('ab');
      expect(t.call('ftruncate', fd, 4096)).toBe(0);
      expect(size('f')).toBe(4096);
    });
    it('gives EINVAL for a negative length, a read-only fd, a directory or a pipe', () => {
      const fd = openRW('f');
      expect(t.call('ftruncate', fd, -1)).toBe(E('EINVAL'));
      const ro = t.open('f', t.c.O_RDONLY);
      expect(t.call('ftruncate', ro, 0)).toBe(E('EINVAL'));
      const dir = t.open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('ftruncate', dir, 0)).toBe(E('EINVAL'));
      const [, w] = t.pipe();
      expect(t.call('ftruncate', w, 0)).toBe(E('EINVAL'));
    });
    it('gives EBADF for a bad or O_PATH fd', () => {
      expect(t.call('ftruncate', 999, 0)).toBe(E('EBADF'));
      expect(t.call('ftruncate', -1, 0)).toBe(E('EBADF'));
      openRW('f');
      expect(t.call('ftruncate', t.open('f', t.c.O_PATH), 0)).toBe(E('EBADF'));
    });
  });

  describe('read-only filesystems', () => {
    let r: Headless;
    beforeEach(() => {
      r = headless(arch, { readOnly: true });
      r.writeHost('a.txt', 'hello');
    });
    afterEach(() => r.cleanup());
    it('truncate gives EROFS and statfs reports ST_RDONLY', () => {
      expect(r.call('truncate', r.str('a.txt'), 0)).toBe(r.errno('EROFS'));
      expect(r.readHost('a.txt')).toBe('hello');
      const buf = r.buf(120);
      expect(r.call('statfs', r.str('a.txt'), buf)).toBe(0);
      expect(Number(r.u64(buf + 80)) & ST_RDONLY).toBe(ST_RDONLY);
    });
  });

  describe('fallocate', () => {
    it('mode 0 extends a file and never shrinks it', () => {
      const fd = openRW('f');
      t.write(fd, 'abc');
      expect(t.call('fallocate', fd, 0, 0, 1000)).toBe(0);
      expect(size('f')).toBe(1000);
      expect(t.call('fallocate', fd, 0, 10, 10)).toBe(0);
      expect(size('f')).toBe(1000);
      expect(t.readHost('f').slice(0, 3)).toBe('abc');
    });
    it('KEEP_SIZE leaves the size alone', () => {
      const fd = openRW('f');
      expect(t.call('fallocate', fd, FALLOC_FL_KEEP_SIZE, 0, 4096)).toBe(0);
      expect(size('f')).toBe(0);
    });
    it('gives EINVAL, EOPNOTSUPP, EBADF, ESPIPE, EISDIR', () => {
      const fd = openRW('f');
      expect(t.call('fallocate', fd, 0, 0, 0)).toBe(E('EINVAL'));
      expect(t.call('fallocate', fd, 0, -1, 10)).toBe(E('EINVAL'));
      expect(t.call('fallocate', fd, 0, 0, -5)).toBe(E('EINVAL'));
      expect(t.call('fallocate', fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10)).toBe(E('EOPNOTSUPP'));
      expect(t.call('fallocate', 999, 0, 0, 10)).toBe(E('EBADF'));
      expect(t.call('fallocate', t.open('f', t.c.O_RDONLY), 0, 0, 10)).toBe(E('EBADF'));
      const [r, w] = t.pipe();
      expect(t.call('fallocate', r, 0, 0, 10)).toBe(E('EBADF'));
      expect(t.call('fallocate', w, 0, 0, 10)).toBe(E('ESPIPE'));
    });
  });

  describe('fsync, fdatasync, sync, syncfs', () => {
    it('succeed on files and directories', () => {
      const fd = openRW('f');
      t.write(fd, 'data');
      const dir = t.open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      for (const name of ['fsync', 'fdatasync']) {
        expect(t.call(name, fd)).toBe(0);
        expect(t.call(name, t.open('f', t.c.O_RDONLY))).toBe(0);
        expect(t.call(name, dir)).toBe(0);
      }
      expect(t.readHost('f')).toBe('data');
      expect(t.call('sync')).toBe(0);
      expect(t.call('syncfs', fd)).toBe(0);
    });
    it('give EBADF for bad fds and EINVAL for pipes', () => {
      const [r, w] = t.pipe();
      for (const name of ['fsync', 'fdatasync']) {
        expect(t.call(name, 999)).toBe(E('EBADF'));
        expect(t.call(name, r)).toBe(E('EINVAL'));
        expect(t.call(name, w)).toBe(E('EINVAL'));
      }
      expect(t.call('syncfs', 999)).toBe(E('EBADF'));
      expect(t.call('syncfs', -1)).toBe(E('EBADF'));
    });
  });

  describe('statfs, fstatfs', () => {
    it('fill a 120-byte struct statfs', () => {
      t.writeHost('a.txt', 'x');
      const buf = t.buf(128, 0xaa);
      expect(t.call('statfs', t.str('a.txt'), buf)).toBe(0);
      const bsize = Number(t.u64(buf + 8));
      expect(bsize).toBeGreaterThan(0);
      expect(Number(t.u64(buf + 64))).toBeGreaterThan(0); // f_namelen
      expect(Number(t.u64(buf + 72))).toBeGreaterThan(0); // f_frsize
      const flags = Number(t.u64(buf + 80));
      expect(flags & ST_VALID).toBe(ST_VALID);
      expect(flags & ST_RDONLY).toBe(0);
      expect(t.u64(buf + 88)).toBe(0n); // f_spare
      expect(t.u64(buf + 112)).toBe(0n);
      expect(t.u32(buf + 120)).toBe(0xaaaaaaaa); // nothing past the struct
      const buf2 = t.buf(120);
      const fd = t.open('a.txt');
      expect(t.call('fstatfs', fd, buf2)).toBe(0);
      // The same filesystem, field by field, except the free counts (f_bfree, f_bavail at 24 and 32, f_ffree
      // at 48): a snapshot of a host filesystem that other processes write to between the two calls.
      const FREE = new Set([24, 32, 48]);
      const fields = (b: number) => Array.from({ length: 15 }, (_, i) => (FREE.has(i * 8) ? 'free' : t.u64(b + i * 8)));
      expect(fields(buf2)).toEqual(fields(buf));
      for (const at of FREE) expect(t.u64(buf2 + at)).toBeLessThanOrEqual(t.u64(buf2 + (at === 48 ? 40 : 16)));
      // fstatfs accepts O_PATH descriptors (fdget_raw).
      expect(t.call('fstatfs', t.open('a.txt', t.c.O_PATH), buf2)).toBe(0);
    });
    it('reports proc and pipes by their magic', () => {
      const buf = t.buf(120);
      if (t.call('statfs', t.str('/proc'), buf) === 0) expect(Number(t.u64(buf))).toBe(0x9fa0);
      const [r] = t.pipe();
      expect(t.call('fstatfs', r, buf)).toBe(0);
      expect(Number(t.u64(buf))).toBe(0x50495045);
    });
    it('give ENOENT, EBADF, EFAULT', () => {
      const buf = t.buf(120);
      expect(t.call('statfs', t.str('missing'), buf)).toBe(E('ENOENT'));
      expect(t.call('statfs', t.unmapped, buf)).toBe(E('EFAULT'));
      expect(t.call('statfs', t.str('.'), t.unmapped)).toBe(E('EFAULT'));
      expect(t.call('statfs', t.str('.'), t.tail(100))).toBe(E('EFAULT'));
      expect(t.call('fstatfs', 999, buf)).toBe(E('EBADF'));
      const fd = t.open('.', t.c.O_RDONLY);
      expect(t.call('fstatfs', fd, t.unmapped)).toBe(E('EFAULT'));
    });
  });

  describe('fadvise64', () => {
    it('accepts advice 0..5 and refuses the rest', () => {
      const fd = openRW('f');
      for (let a = 0; a <= 5; a++) expect(t.call('fadvise64', fd, 0, 0, a)).toBe(0);
      expect(t.call('fadvise64', fd, 0, 0, 6)).toBe(E('EINVAL'));
      expect(t.call('fadvise64', fd, 0, 0, -1)).toBe(E('EINVAL'));
      expect(t.call('fadvise64', fd, 0, -1, 0)).toBe(E('EINVAL'));
    });
    it('gives EBADF and ESPIPE', () => {
      expect(t.call('fadvise64', 999, 0, 0, 0)).toBe(E('EBADF'));
      const [r] = t.pipe();
      expect(t.call('fadvise64', r, 0, 0, 0)).toBe(E('ESPIPE'));
    });
  });

  describe('flock', () => {
    it('shares LOCK_SH and excludes LOCK_EX between descriptions', () => {
      t.writeHost('l', '');
      const a = t.open('l');
      const b = t.open('l');
      expect(t.call('flock', a, LOCK_SH)).toBe(0);
      expect(t.call('flock', b, LOCK_SH | LOCK_NB)).toBe(0);
      expect(t.call('flock', b, LOCK_EX | LOCK_NB)).toBe(E('EWOULDBLOCK'));
      expect(t.call('flock', a, LOCK_UN)).toBe(0);
      expect(t.call('flock', b, LOCK_EX | LOCK_NB)).toBe(0);
      expect(t.call('flock', a, LOCK_SH | LOCK_NB)).toBe(E('EAGAIN'));
      // A dup shares the description, and so the lock.
      const d = t.call('dup', b);
      expect(t.call('flock', d, LOCK_EX | LOCK_NB)).toBe(0);
      // The lock goes when the last fd of the description closes.
      expect(t.call('close', b)).toBe(0);
      expect(t.call('flock', a, LOCK_EX | LOCK_NB)).toBe(E('EWOULDBLOCK'));
      expect(t.call('close', d)).toBe(0);
      expect(t.call('flock', a, LOCK_EX | LOCK_NB)).toBe(0);
    });
    it('blocks a LOCK_EX without LOCK_NB until the holder unlocks', () => {
      t.writeHost('l', '');
      const a = t.open('l');
      const b = t.open('l');
      expect(t.call('flock', a, LOCK_EX)).toBe(0);
      expect(t.call('flock', b, LOCK_EX)).toBe(-11); // blocked (the headless kernel reports -EAGAIN)
      expect(t.call('flock', a, LOCK_UN)).toBe(0);
      expect(t.call('flock', b, LOCK_EX)).toBe(0);
      expect(t.call('flock', b, LOCK_UN)).toBe(0);
      expect(t.call('flock', b, LOCK_UN)).toBe(0); // unlocking nothing is fine
    });
    it('gives EBADF and EINVAL', () => {
      t.writeHost('l', '');
      const a = t.open('l');
      expect(t.call('flock', 999, LOCK_SH)).toBe(E('EBADF'));
      expect(t.call('flock', t.open('l', t.c.O_PATH), LOCK_SH)).toBe(E('EBADF'));
      expect(t.call('flock', a, 0)).toBe(E('EINVAL'));
      expect(t.call('flock', a, LOCK_NB)).toBe(E('EINVAL'));
      expect(t.call('flock', a, LOCK_SH | LOCK_EX)).toBe(E('EINVAL'));
      expect(t.call('flock', a, 3 << 8)).toBe(E('EINVAL'));
    });
  });

  describe('close_range', () => {
    it('closes a range of fds', () => {
      const fds = [openRW('a'), openRW('b'), openRW('c'), openRW('d')];
      expect(t.call('close_range', fds[1]!, fds[2]!, 0)).toBe(0);
      expect(t.call('fsync', fds[0]!)).toBe(0);
      expect(t.call('fsync', fds[1]!)).toBe(E('EBADF'));
      expect(t.call('fsync', fds[2]!)).toBe(E('EBADF'));
      expect(t.call('fsync', fds[3]!)).toBe(0);
      expect(t.call('close_range', fds[3]!, 0xffffffff, CLOSE_RANGE_UNSHARE)).toBe(0);
      expect(t.call('fsync', fds[3]!)).toBe(E('EBADF'));
      expect(t.call('close_range', 500, 600, 0)).toBe(0); // nothing open there
    });
    it('marks close-on-exec with CLOSE_RANGE_CLOEXEC', () => {
      const a = openRW('a');
      const b = openRW('b');
      expect(t.call('close_range', a, b, CLOSE_RANGE_CLOEXEC)).toBe(0);
      expect(t.proc.fds.isCloexec(a)).toBe(true);
      expect(t.proc.fds.isCloexec(b)).toBe(true);
      expect(t.proc.fds.isCloexec(0)).toBe(false);
      expect(t.call('fsync', a)).toBe(0);
    });
    it('gives EINVAL for first > last or unknown flags', () => {
      expect(t.call('close_range', 5, 4, 0)).toBe(E('EINVAL'));
      expect(t.call('close_range', 0, 10, 1)).toBe(E('EINVAL'));
      expect(t.call('close_range', 0, 10, 8)).toBe(E('EINVAL'));
    });
  });
});
