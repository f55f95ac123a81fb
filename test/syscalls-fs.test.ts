// The path-based calls of syscalls/fs.ts through the syscall layer of a
// headless kernel, on both arches, over the host directory mounted at /work
// (HostFs) and the in-memory /tmp (MemFs). Expectations follow the man pages
// and, where they are vague, what Linux 6.x does natively. The last part
// checks that no path a guest can write reaches outside the mounted directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type DecodedStat, type Headless } from './helpers/headless.ts';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const R_OK = 4;
const W_OK = 2;
const X_OK = 1;
const F_OK = 0;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const RENAME_WHITEOUT = 4;
const STATX_BASIC_STATS = 0x7ff;
/** A uid and gid no host file belongs to, so only the "other" permission bits apply. */
const STRANGER = 12345;

type ErrnoName = Parameters<Headless['errno']>[0];

describe.each(ARCH_NAMES)('fs syscalls on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch);
  });
  afterEach(() => t.cleanup());

  const E = (name: ErrnoName) => t.errno(name);
  const x86 = arch === 'x86_64';
  const AT = () => t.c.AT_FDCWD;
  const open = (p: string, flags = 0, mode = 0o644) => t.open(p, flags, mode);
  const openat = (dirfd: number, p: string, flags = 0, mode = 0o644) => t.call('openat', dirfd, t.str(p), flags, mode);
  const file = (name: string, content = '', mode?: number) => {
    t.writeHost(name, content, mode);
    return name;
  };
  const dir = (name: string) => {
    fs.mkdirSync(t.hostPath(name), { recursive: true });
    return name;
  };
  const hostLink = (name: string, target: string) => fs.symlinkSync(target, t.hostPath(name));
  const st = (p: string, flags = 0): DecodedStat => {
    const r = t.stat(p, flags);
    if (typeof r === 'number') throw new Error(`stat ${p} gave ${r}`);
    return r;
  };
  const lst = (p: string) => st(p, t.c.AT_SYMLINK_NOFOLLOW);
  const statErr = (p: string, flags = 0) => {
    const r = t.stat(p, flags);
    return typeof r === 'number' ? r : 0;
  };
  const fstat = (fd: number): DecodedStat => {
    const sb = t.buf(256);
    const r = t.call('fstat', fd, sb);
    if (r !== 0) throw new Error(`fstat ${fd} gave ${r}`);
    return t.decodeStat(sb);
  };
  const readlink = (p: string, size = 256) => {
    const buf = t.buf(size);
    const n = t.call('readlinkat', AT(), t.str(p), buf, size);
    return n < 0 ? n : t.text(buf, n);
  };
  const getcwd = () => {
    const buf = t.buf(4096);
    const n = t.call('getcwd', buf, 4096);
    return n < 0 ? n : t.cstr(buf);
  };
  const type = (s: DecodedStat) => s.mode & S_IFMT;
  const perms = (s: DecodedStat) => s.mode & 0o7777;
  const mkdir = (p: string, mode = 0o755) => t.call('mkdirat', AT(), t.str(p), mode);
  const unlink = (p: string, flags = 0) => t.call('unlinkat', AT(), t.str(p), flags);
  const rename = (a: string, b: string, flags = 0) => t.call('renameat2', AT(), t.str(a), AT(), t.str(b), flags);
  const symlink = (target: string, p: string) => t.call('symlinkat', t.str(target), AT(), t.str(p));
  const link = (a: string, b: string, flags = 0) => t.call('linkat', AT(), t.str(a), AT(), t.str(b), flags);
  const access = (p: string, mode: number, flags = 0) => t.call('faccessat2', AT(), t.str(p), mode, flags);
  const chmod = (p: string, mode: number) => t.call('fchmodat', AT(), t.str(p), mode);
  const readAll = (p: string) => {
    const fd = open(p);
    if (fd < 0) return fd;
    const s = t.readFd(fd);
    t.call('close', fd);
    return s;
  };

  // ---- openat ----------------------------------------------------------------------------

  describe('openat', () => {
    it.each(['/work', '/tmp'])('O_CREAT in %s makes a regular file with mode & ~umask', (where) => {
      const c = t.c;
      const fd = open(`${where}/new`, c.O_CREAT | c.O_WRONLY, 0o666);
      expect(fd).toBeGreaterThanOrEqual(3);
      expect(type(fstat(fd))).toBe(S_IFREG);
      expect(perms(fstat(fd))).toBe(0o644);
      expect(t.call('umask', 0o077)).toBe(0o022);
      t.call('close', open(`${where}/private`, c.O_CREAT | c.O_WRONLY, 0o666));
      expect(perms(st(`${where}/private`))).toBe(0o600);
      t.call('umask', 0);
      t.call('close', open(`${where}/open`, c.O_CREAT | c.O_WRONLY, 0o777));
      expect(perms(st(`${where}/open`))).toBe(0o777);
      if (where === '/work') expect(fs.statSync(t.hostPath('open')).mode & 0o777).toBe(0o777);
    });

    it('O_CREAT on an existing file opens it as it is', () => {
      const c = t.c;
      file('a.txt', 'keep', 0o600);
      const fd = open('a.txt', c.O_CREAT | c.O_RDWR, 0o777);
      expect(t.readFd(fd)).toBe('keep');
      expect(perms(st('a.txt'))).toBe(0o600);
    });

    it('O_CREAT|O_EXCL: EEXIST for a file, a directory, a symlink and a dangling symlink (whose target is not made)', () => {
      const c = t.c;
      file('a.txt');
      dir('d');
      hostLink('good', 'a.txt');
      hostLink('dangling', 'nowhere');
      for (const p of ['a.txt', 'd', 'good', 'dangling']) expect(open(p, c.O_CREAT | c.O_EXCL | c.O_WRONLY)).toBe(E('EEXIST'));
      expect(fs.existsSync(t.hostPath('nowhere'))).toBe(false);
      expect(open('fresh', c.O_CREAT | c.O_EXCL | c.O_WRONLY)).toBeGreaterThanOrEqual(0);
      expect(open('fresh', c.O_CREAT | c.O_EXCL | c.O_WRONLY)).toBe(E('EEXIST'));
    });

    it('O_CREAT through a dangling symlink creates its target', () => {
      hostLink('dangling', 'target.txt');
      const fd = open('dangling', t.c.O_CREAT | t.c.O_WRONLY);
      expect(fd).toBeGreaterThanOrEqual(0);
      t.write(fd, 'via link');
      expect(t.readHost('target.txt')).toBe('via link');
    });

    it('O_TRUNC empties a regular file (even opened read-only, as Linux does)', () => {
      const c = t.c;
      file('a.txt', 'content');
      expect(open('a.txt', c.O_WRONLY | c.O_TRUNC)).toBeGreaterThanOrEqual(0);
      expect(t.readHost('a.txt')).toBe('');
      file('b.txt', 'content');
      expect(open('b.txt', c.O_RDONLY | c.O_TRUNC)).toBeGreaterThanOrEqual(0);
      expect(t.readHost('b.txt')).toBe('');
      const m = open('/tmp/m', c.O_CREAT | c.O_WRONLY);
      t.write(m, 'in memory');
      expect(open('/tmp/m', c.O_RDWR | c.O_TRUNC)).toBeGreaterThanOrEqual(0);
      expect(st('/tmp/m').size).toBe(0);
    });

    it('O_TRUNC is ignored on devices: > /dev/null works', () => {
      const fd = open('/dev/null', t.c.O_WRONLY | t.c.O_CREAT | t.c.O_TRUNC);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(t.write(fd, 'gone')).toBe(4);
      expect(type(fstat(fd))).toBe(S_IFCHR);
    });

    it('O_DIRECTORY: ENOTDIR for a file or a symlink not followed; fine for a directory or a link to one', () => {
      const c = t.c;
      file('a.txt');
      dir('d');
      hostLink('ld', 'd');
      expect(open('a.txt', c.O_RDONLY | c.O_DIRECTORY)).toBe(E('ENOTDIR'));
      expect(open('d', c.O_RDONLY | c.O_DIRECTORY)).toBeGreaterThanOrEqual(0);
      expect(open('ld', c.O_RDONLY | c.O_DIRECTORY)).toBeGreaterThanOrEqual(0);
      expect(open('ld', c.O_RDONLY | c.O_DIRECTORY | c.O_NOFOLLOW)).toBe(E('ENOTDIR'));
      expect(open('a.txt/', c.O_RDONLY)).toBe(E('ENOTDIR'));
      expect(open('d/', c.O_RDONLY)).toBeGreaterThanOrEqual(0);
    });

    it('O_NOFOLLOW: ELOOP for a final symlink; links earlier in the path are still followed', () => {
      const c = t.c;
      file('d/a.txt', 'hi');
      hostLink('ld', 'd');
      hostLink('la', 'd/a.txt');
      expect(open('la', c.O_RDONLY | c.O_NOFOLLOW)).toBe(E('ELOOP'));
      expect(open('la', c.O_WRONLY | c.O_CREAT | c.O_NOFOLLOW)).toBe(E('ELOOP'));
      const fd = open('ld/a.txt', c.O_RDONLY | c.O_NOFOLLOW);
      expect(t.readFd(fd)).toBe('hi');
    });

    it('ELOOP for a symlink loop', () => {
      hostLink('l1', 'l2');
      hostLink('l2', 'l1');
      expect(open('l1')).toBe(E('ELOOP'));
      expect(open('l1', t.c.O_CREAT | t.c.O_WRONLY)).toBe(E('ELOOP'));
      expect(open('l1/x')).toBe(E('ELOOP'));
    });

    it('O_PATH: an fd that locates but does not do I/O; with O_NOFOLLOW it can name the symlink itself', () => {
      const c = t.c;
      file('a.txt', 'data', 0o000);
      hostLink('la', 'a.txt');
      const fd = open('a.txt', c.O_PATH);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(t.call('read', fd, t.buf(4), 4)).toBe(E('EBADF'));
      expect(type(fstat(fd))).toBe(S_IFREG);
      expect(t.call('fcntl', fd, c.F_GETFL, 0)).toBe(c.O_PATH);
      const lfd = open('la', c.O_PATH | c.O_NOFOLLOW);
      expect(type(fstat(lfd))).toBe(S_IFLNK);
      const lbuf = t.buf(16);
      expect(t.call('readlinkat', lfd, t.str(''), lbuf, 16)).toBe(5);
      expect(t.text(lbuf, 5)).toBe('a.txt');
      // O_PATH ignores the access mode: even O_WRONLY on a directory.
      expect(open('.', c.O_PATH | c.O_WRONLY)).toBeGreaterThanOrEqual(0);
    });

    it('O_TMPFILE: EOPNOTSUPP on a host mount, EINVAL without write access', () => {
      const c = t.c;
      expect(open('.', c.O_TMPFILE | c.O_RDWR, 0o600)).toBe(E('EOPNOTSUPP'));
      expect(open('.', c.O_TMPFILE | c.O_RDONLY, 0o600)).toBe(E('EINVAL'));
      expect(open('/tmp', c.O_TMPFILE | c.O_RDONLY, 0o600)).toBe(E('EINVAL'));
    });

    it('EISDIR when a directory is opened for writing, with O_CREAT or O_TRUNC, or when O_CREAT names a path ending in /', () => {
      const c = t.c;
      dir('d');
      expect(open('d', c.O_WRONLY)).toBe(E('EISDIR'));
      expect(open('d', c.O_RDWR)).toBe(E('EISDIR'));
      expect(open('d', c.O_RDONLY | c.O_CREAT)).toBe(E('EISDIR'));
      expect(open('d', c.O_RDONLY | c.O_TRUNC)).toBe(E('EISDIR'));
      expect(open('/tmp', c.O_WRONLY)).toBe(E('EISDIR'));
      expect(open('new/', c.O_CREAT | c.O_WRONLY)).toBe(E('EISDIR'));
      expect(open('d/', c.O_CREAT | c.O_RDONLY)).toBe(E('EISDIR'));
      file('a.txt');
      expect(open('a.txt/', c.O_CREAT | c.O_RDONLY)).toBe(E('EISDIR'));
      expect(open('missing/x/', c.O_CREAT | c.O_RDONLY)).toBe(E('ENOENT'));
      expect(fs.existsSync(t.hostPath('new'))).toBe(false);
    });

    it('relative paths start at the dirfd; absolute paths ignore it', () => {
      const c = t.c;
      file('d/e/a.txt', 'in e');
      const d = open('d', c.O_RDONLY | c.O_DIRECTORY);
      expect(t.readFd(openat(d, 'e/a.txt'))).toBe('in e');
      const e = openat(d, 'e', c.O_PATH);
      expect(t.readFd(openat(e, 'a.txt'))).toBe('in e');
      expect(t.readFd(openat(e, '../e/./a.txt'))).toBe('in e');
      const made = openat(e, 'b.txt', c.O_CREAT | c.O_WRONLY);
      expect(made).toBeGreaterThanOrEqual(0);
      expect(fs.existsSync(t.hostPath('d/e/b.txt'))).toBe(true);
      const fileFd = open('d/e/a.txt');
      expect(t.readFd(openat(fileFd, '/work/d/e/a.txt'))).toBe('in e');
      expect(t.readFd(openat(12345, '/work/d/e/a.txt'))).toBe('in e');
      expect(t.readFd(openat(AT(), 'd/e/a.txt'))).toBe('in e');
    });

    it('a dirfd keeps naming its directory after a rename or removal (in-memory /tmp)', () => {
      const c = t.c;
      expect(mkdir('/tmp/d')).toBe(0);
      const f = open('/tmp/d/x', c.O_CREAT | c.O_WRONLY);
      t.write(f, 'X');
      const d = open('/tmp/d', c.O_RDONLY | c.O_DIRECTORY);
      expect(rename('/tmp/d', '/tmp/e')).toBe(0);
      expect(t.readFd(openat(d, 'x'))).toBe('X');
      expect(openat(d, 'y', c.O_CREAT | c.O_WRONLY)).toBeGreaterThanOrEqual(0);
      expect(type(st('/tmp/e/y'))).toBe(S_IFREG);
      // Removed, then a new directory made at the old name: the dirfd does not reach the new one.
      expect(mkdir('/tmp/d')).toBe(0);
      t.call('close', open('/tmp/d/x', c.O_CREAT | c.O_WRONLY));
      expect(unlink('/tmp/e/x')).toBe(0);
      expect(unlink('/tmp/e/y')).toBe(0);
      expect(unlink('/tmp/e', c.AT_REMOVEDIR)).toBe(0);
      expect(openat(d, 'x')).toBe(E('ENOENT'));
      expect(openat(d, 'z', c.O_CREAT | c.O_WRONLY)).toBe(E('ENOENT'));
      expect(t.call('mkdirat', d, t.str('sub'), 0o755)).toBe(E('ENOENT'));
    });

    it('ENOTDIR for a relative path from a file dirfd; EBADF from a bad dirfd', () => {
      const fd = open(file('a.txt'));
      expect(openat(fd, 'x')).toBe(E('ENOTDIR'));
      expect(openat(fd, 'x', t.c.O_CREAT | t.c.O_WRONLY)).toBe(E('ENOTDIR'));
      expect(openat(42, 'a.txt')).toBe(E('EBADF'));
      expect(openat(-1, 'a.txt')).toBe(E('EBADF'));
      expect(openat(1 << 20, 'a.txt')).toBe(E('EBADF'));
      // An empty path is ENOENT whatever the dirfd.
      expect(openat(fd, '')).toBe(E('ENOENT'));
    });

    it('ENOENT for an empty path, a missing file, or O_CREAT under a missing directory; ENOTDIR through a file', () => {
      const c = t.c;
      file('a.txt');
      expect(open('')).toBe(E('ENOENT'));
      expect(open('', c.O_CREAT | c.O_WRONLY)).toBe(E('ENOENT'));
      expect(open('missing')).toBe(E('ENOENT'));
      expect(open('missing/new', c.O_CREAT | c.O_WRONLY)).toBe(E('ENOENT'));
      expect(open('a.txt/x')).toBe(E('ENOTDIR'));
      expect(open('a.txt/x', c.O_CREAT | c.O_WRONLY)).toBe(E('ENOTDIR'));
    });

    it('ENAMETOOLONG for a component over 255 bytes or a path of 4096 bytes', () => {
      const c = t.c;
      expect(open('x'.repeat(256), c.O_CREAT | c.O_WRONLY)).toBe(E('ENAMETOOLONG'));
      expect(open('x'.repeat(256))).toBe(E('ENAMETOOLONG'));
      expect(open('x'.repeat(255), c.O_CREAT | c.O_WRONLY)).toBeGreaterThanOrEqual(0);
      expect(open('./'.repeat(2048))).toBe(E('ENAMETOOLONG'));
      expect(open('./'.repeat(2047) + '.')).toBeGreaterThanOrEqual(0);
      // No NUL within PATH_MAX bytes.
      const noNul = t.bytes('a'.repeat(5000));
      expect(t.call('openat', AT(), noNul, 0, 0)).toBe(E('ENAMETOOLONG'));
    });

    it('EFAULT for a NULL or unmapped path, or one running off its mapping', () => {
      expect(t.call('openat', AT(), 0, 0, 0)).toBe(E('EFAULT'));
      expect(t.call('openat', AT(), t.unmapped, 0, 0)).toBe(E('EFAULT'));
      expect(t.call('openat', AT(), t.tail(3, 'abc'), 0, 0)).toBe(E('EFAULT'));
    });

    it('EROFS writing or creating on a read-only mount', () => {
      const ro = headless(arch, { readOnly: true });
      try {
        ro.writeHost('a.txt', 'x');
        const c = ro.c;
        expect(ro.open('a.txt', c.O_WRONLY)).toBe(ro.errno('EROFS'));
        expect(ro.open('a.txt', c.O_RDONLY | c.O_TRUNC)).toBe(ro.errno('EROFS'));
        expect(ro.open('b.txt', c.O_CREAT | c.O_WRONLY)).toBe(ro.errno('EROFS'));
        expect(ro.open('a.txt', c.O_CREAT | c.O_EXCL | c.O_WRONLY)).toBe(ro.errno('EEXIST'));
        expect(ro.open('a.txt', c.O_RDONLY)).toBeGreaterThanOrEqual(0);
        expect(ro.readHost('a.txt')).toBe('x');
      } finally {
        ro.cleanup();
      }
    });

    it('gives the lowest free fd, and O_CLOEXEC marks it', () => {
      const c = t.c;
      file('a.txt');
      expect(open('a.txt')).toBe(3);
      expect(open('a.txt', c.O_RDONLY | c.O_CLOEXEC)).toBe(4);
      expect(t.call('fcntl', 4, c.F_GETFD, 0)).toBe(1);
      t.call('close', 3);
      expect(open('a.txt')).toBe(3);
    });

    it('reaches a pipe through /proc/self/fd, both ends', () => {
      const c = t.c;
      const [r, w] = t.pipe();
      const w2 = open(`/proc/self/fd/${w}`, c.O_WRONLY);
      expect(w2).toBeGreaterThanOrEqual(0);
      expect(t.write(w2, 'via proc')).toBe(8);
      const r2 = open(`/proc/self/fd/${r}`, c.O_RDONLY);
      expect(t.readFd(r2, 3)).toBe('via');
      expect(t.readFd(r, 100)).toBe(' proc');
      expect(type(fstat(r2))).toBe(S_IFIFO);
      // EOF comes only once every write end is closed, the reopened one included.
      t.call('close', w);
      expect(t.call('read', r, t.buf(4), 4)).not.toBe(0);
      t.call('close', w2);
      expect(t.call('read', r, t.buf(4), 4)).toBe(0);
    });

    it('reopens a file through /proc/self/fd with its own offset', () => {
      const a = open(file('a.txt', 'abcdef'));
      t.readFd(a, 2);
      const b = open(`/proc/self/fd/${a}`);
      expect(t.readFd(b, 2)).toBe('ab');
      expect(t.readFd(a, 2)).toBe('cd');
    });

    it.skipIf(!x86)('open (x86-64 only) is openat(AT_FDCWD, ...)', () => {
      const c = t.c;
      const fd = t.call('open', t.str('new'), c.O_CREAT | c.O_WRONLY, 0o666);
      expect(fd).toBe(3);
      expect(perms(fstat(fd))).toBe(0o644);
      expect(t.call('open', t.str('missing'), 0, 0)).toBe(E('ENOENT'));
      expect(t.call('open', t.str('new'), c.O_CREAT | c.O_EXCL | c.O_WRONLY, 0)).toBe(E('EEXIST'));
      expect(t.call('open', 0, 0, 0)).toBe(E('EFAULT'));
      expect(t.call('open', t.str(''), 0, 0)).toBe(E('ENOENT'));
      expect(t.call('open', t.str('.'), c.O_WRONLY, 0)).toBe(E('EISDIR'));
    });

    it.skipIf(!x86)('creat (x86-64 only) creates or truncates a file, open for writing only', () => {
      const fd = t.call('creat', t.str('new'), 0o640);
      expect(fd).toBe(3);
      expect(perms(fstat(fd))).toBe(0o640);
      expect(t.call('write', fd, t.str('abc'), 3)).toBe(3);
      expect(t.call('read', fd, t.str('xyz'), 3)).toBe(E('EBADF')); // O_WRONLY
      file('old.txt', 'old content');
      const old = t.call('creat', t.str('old.txt'), 0o600);
      expect(old).toBe(4);
      expect(fs.readFileSync(t.hostPath('old.txt'), 'utf8')).toBe(''); // O_TRUNC
      expect(perms(fstat(old))).toBe(0o644); // an existing file keeps its mode
      expect(t.call('creat', t.str('no/such/dir'), 0o644)).toBe(E('ENOENT'));
      expect(t.call('creat', t.str('.'), 0o644)).toBe(E('EISDIR'));
      expect(t.call('creat', 0, 0o644)).toBe(E('EFAULT'));
    });

    it.skipIf(x86)('the legacy path calls do not exist on aarch64', () => {
      for (const name of ['open', 'stat', 'lstat', 'access', 'readlink', 'mkdir', 'unlink', 'rmdir', 'rename', 'symlink', 'link', 'chmod', 'dup2', 'pipe']) {
        expect(t.has(name), name).toBe(false);
      }
    });
  });

  // ---- the stat family ----------------------------------------------------------------------

  describe('fstat, newfstatat, stat, lstat', () => {
    it('fills struct stat in this arch layout, and only its size', () => {
      file('a.txt', 'twelve bytes', 0o640);
      const fd = open('a.txt');
      const size = x86 ? 144 : 128;
      expect(t.k.arch.statSize).toBe(size);
      const sb = t.buf(size + 16, 0xaa);
      expect(t.call('fstat', fd, sb)).toBe(0);
      const raw = t.read(sb, size + 16);
      expect([...raw.subarray(size)]).toEqual(new Array(16).fill(0xaa));
      const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const host = fs.statSync(t.hostPath('a.txt'));
      expect(v.getUint32(x86 ? 24 : 16, true)).toBe(S_IFREG | 0o640);
      expect(Number(v.getBigInt64(48, true))).toBe(12);
      const nlink = x86 ? Number(v.getBigUint64(16, true)) : v.getUint32(20, true);
      expect(nlink).toBe(1);
      expect(v.getUint32(x86 ? 28 : 24, true)).toBe(host.uid);
      expect(Number(v.getBigInt64(88, true))).toBe(Math.floor(host.mtimeMs / 1000));
    });

    it('reports directories, symlinks, pipes and devices', () => {
      dir('d');
      hostLink('l', 'd');
      expect(type(st('d'))).toBe(S_IFDIR);
      expect(type(st('l'))).toBe(S_IFDIR);
      expect(type(lst('l'))).toBe(S_IFLNK);
      expect(lst('l').size).toBe(1);
      const [r] = t.pipe();
      expect(type(fstat(r))).toBe(S_IFIFO);
      expect(type(st('/dev/null'))).toBe(S_IFCHR);
      expect(type(st('/tmp'))).toBe(S_IFDIR);
      expect(type(fstat(0))).not.toBe(0);
    });

    it('AT_EMPTY_PATH stats the dirfd itself (or the cwd for AT_FDCWD); an empty path without it is ENOENT', () => {
      const c = t.c;
      const fd = open(file('a.txt', 'abc'));
      const sb = t.buf(256);
      expect(t.call('newfstatat', fd, t.str(''), sb, c.AT_EMPTY_PATH)).toBe(0);
      expect(t.decodeStat(sb).size).toBe(3);
      expect(t.call('newfstatat', AT(), t.str(''), sb, c.AT_EMPTY_PATH)).toBe(0);
      expect(type(t.decodeStat(sb))).toBe(S_IFDIR);
      expect(t.decodeStat(sb).ino).toBe(st('/work').ino);
      expect(t.call('newfstatat', fd, t.str(''), sb, 0)).toBe(E('ENOENT'));
      expect(t.call('newfstatat', 42, t.str(''), sb, c.AT_EMPTY_PATH)).toBe(E('EBADF'));
      // A symlink opened O_PATH|O_NOFOLLOW is stat'ed as the link.
      hostLink('l', 'a.txt');
      const lfd = open('l', c.O_PATH | c.O_NOFOLLOW);
      expect(t.call('newfstatat', lfd, t.str(''), sb, c.AT_EMPTY_PATH)).toBe(0);
      expect(type(t.decodeStat(sb))).toBe(S_IFLNK);
    });

    it('relative to a dirfd; ENOTDIR from a file dirfd, EBADF from a bad one', () => {
      file('d/a.txt', 'abc');
      const d = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const sb = t.buf(256);
      expect(t.call('newfstatat', d, t.str('a.txt'), sb, 0)).toBe(0);
      expect(t.decodeStat(sb).size).toBe(3);
      const f = openat(d, 'a.txt');
      expect(t.call('newfstatat', f, t.str('x'), sb, 0)).toBe(E('ENOTDIR'));
      expect(t.call('newfstatat', 42, t.str('x'), sb, 0)).toBe(E('EBADF'));
    });

    it('EINVAL for unknown flags; ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG from the path; EFAULT for bad pointers', () => {
      file('a.txt');
      hostLink('l1', 'l2');
      hostLink('l2', 'l1');
      const sb = t.buf(256);
      expect(t.call('newfstatat', AT(), t.str('a.txt'), sb, 1)).toBe(E('EINVAL'));
      expect(t.call('newfstatat', AT(), t.str('a.txt'), sb, t.c.AT_REMOVEDIR)).toBe(E('EINVAL'));
      expect(statErr('missing')).toBe(E('ENOENT'));
      expect(statErr('')).toBe(E('ENOENT'));
      expect(statErr('a.txt/x')).toBe(E('ENOTDIR'));
      expect(statErr('l1')).toBe(E('ELOOP'));
      expect(type(lst('l1'))).toBe(S_IFLNK);
      expect(statErr('y'.repeat(256))).toBe(E('ENAMETOOLONG'));
      expect(t.call('newfstatat', AT(), 0, sb, 0)).toBe(E('EFAULT'));
      expect(t.call('newfstatat', AT(), t.str('a.txt'), 0, 0)).toBe(E('EFAULT'));
      expect(t.call('newfstatat', AT(), t.str('a.txt'), t.unmapped, 0)).toBe(E('EFAULT'));
      expect(t.call('newfstatat', AT(), t.str('a.txt'), t.tail(16), 0)).toBe(E('EFAULT'));
    });

    it('fstat: EBADF for bad fds, EFAULT for a bad buffer; works on O_PATH fds', () => {
      for (const fd of [42, -1, 1 << 20]) expect(t.call('fstat', fd, t.buf(256))).toBe(E('EBADF'));
      const fd = open(file('a.txt'));
      expect(t.call('fstat', fd, 0)).toBe(E('EFAULT'));
      expect(t.call('fstat', fd, t.unmapped)).toBe(E('EFAULT'));
      expect(t.call('fstat', open('a.txt', t.c.O_PATH), t.buf(256))).toBe(0);
    });

    it.skipIf(!x86)('stat follows symlinks, lstat does not (x86-64 only)', () => {
      file('a.txt', 'abcd');
      hostLink('l', 'a.txt');
      const sb = t.buf(144);
      expect(t.call('stat', t.str('l'), sb)).toBe(0);
      expect(t.decodeStat(sb).mode).toBe(S_IFREG | 0o644);
      expect(t.decodeStat(sb).size).toBe(4);
      expect(t.call('lstat', t.str('l'), sb)).toBe(0);
      expect(type(t.decodeStat(sb))).toBe(S_IFLNK);
      expect(t.call('stat', t.str('missing'), sb)).toBe(E('ENOENT'));
      expect(t.call('lstat', t.str(''), sb)).toBe(E('ENOENT'));
      expect(t.call('stat', 0, sb)).toBe(E('EFAULT'));
      expect(t.call('lstat', t.str('a.txt'), t.unmapped)).toBe(E('EFAULT'));
    });
  });

  describe('statx', () => {
    const statx = (dirfd: number, p: string, flags = 0, mask = STATX_BASIC_STATS) => {
      const buf = t.buf(256);
      const r = t.call('statx', dirfd, t.str(p), flags, mask, buf);
      return r < 0 ? r : t.decodeStatx(buf);
    };

    it('reports mode, size, nlink and ino in the common layout', () => {
      file('a.txt', 'hello', 0o604);
      const sx = statx(AT(), 'a.txt');
      if (typeof sx === 'number') throw new Error(String(sx));
      expect(sx.mode).toBe(S_IFREG | 0o604);
      expect(sx.size).toBe(5);
      expect(sx.nlink).toBe(1);
      expect(sx.mask & STATX_BASIC_STATS).toBe(STATX_BASIC_STATS);
      expect(sx.ino).toBe(st('a.txt').ino);
      expect(sx.uid).toBe(st('a.txt').uid);
    });

    it('AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH', () => {
      const c = t.c;
      dir('d');
      hostLink('l', 'd');
      const followed = statx(AT(), 'l');
      const link = statx(AT(), 'l', c.AT_SYMLINK_NOFOLLOW);
      if (typeof followed === 'number' || typeof link === 'number') throw new Error('statx failed');
      expect(followed.mode & S_IFMT).toBe(S_IFDIR);
      expect(link.mode & S_IFMT).toBe(S_IFLNK);
      expect(link.size).toBe(1);
      const fd = open('d', c.O_RDONLY | c.O_DIRECTORY);
      const self = statx(fd, '', c.AT_EMPTY_PATH);
      if (typeof self === 'number') throw new Error(String(self));
      expect(self.ino).toBe(followed.ino);
      expect(statx(fd, '')).toBe(E('ENOENT'));
    });

    it('EINVAL for unknown flags, both sync types or the reserved mask bit; ENOENT, EBADF, ENOTDIR, EFAULT', () => {
      const c = t.c;
      file('a.txt');
      expect(statx(AT(), 'a.txt', 1)).toBe(E('EINVAL'));
      expect(statx(AT(), 'a.txt', c.AT_STATX_FORCE_SYNC | c.AT_STATX_DONT_SYNC)).toBe(E('EINVAL'));
      expect(statx(AT(), 'a.txt', c.AT_STATX_FORCE_SYNC)).not.toBeTypeOf('number');
      expect(statx(AT(), 'a.txt', c.AT_STATX_DONT_SYNC)).not.toBeTypeOf('number');
      expect(statx(AT(), 'a.txt', 0, 0x8000_0000)).toBe(E('EINVAL'));
      expect(statx(AT(), 'a.txt', 0, 0)).not.toBeTypeOf('number');
      expect(statx(AT(), 'missing')).toBe(E('ENOENT'));
      expect(statx(42, 'a.txt')).toBe(E('EBADF'));
      expect(statx(open('a.txt'), 'x')).toBe(E('ENOTDIR'));
      expect(t.call('statx', AT(), t.str('a.txt'), 0, STATX_BASIC_STATS, 0)).toBe(E('EFAULT'));
      expect(t.call('statx', AT(), 0, 0, STATX_BASIC_STATS, t.buf(256))).toBe(E('EFAULT'));
    });
  });

  // ---- access ---------------------------------------------------------------------------------

  describe('faccessat, faccessat2, access', () => {
    it('F_OK for existing names; ENOENT, ENOTDIR otherwise', () => {
      file('a.txt');
      hostLink('dangling', 'nowhere');
      expect(access('a.txt', F_OK)).toBe(0);
      expect(access('.', F_OK)).toBe(0);
      expect(access('missing', F_OK)).toBe(E('ENOENT'));
      expect(access('a.txt/x', F_OK)).toBe(E('ENOTDIR'));
      expect(access('dangling', F_OK)).toBe(E('ENOENT'));
      expect(access('dangling', F_OK, t.c.AT_SYMLINK_NOFOLLOW)).toBe(0);
      expect(t.call('faccessat', AT(), t.str('a.txt'), F_OK)).toBe(0);
      expect(t.call('faccessat', AT(), t.str('missing'), F_OK)).toBe(E('ENOENT'));
    });

    /** A root guest gives its files to `owner` (emulated chown), then becomes `as`. */
    const strangerTo = (u: ReturnType<typeof headless>, names: string[], owner: { uid: number; gid: number }, as: { uid: number; gid: number }) => {
      for (const n of names) expect(u.call('fchownat', u.c.AT_FDCWD, u.str(n), owner.uid, owner.gid, 0)).toBe(0);
      Object.assign(u.proc.creds, { uid: as.uid, euid: as.uid, suid: as.uid, gid: as.gid, egid: as.gid, sgid: as.gid });
      u.proc.groups = [as.gid];
    };

    it('checks the "other" bits for a user who neither owns the file nor is in its group', () => {
      const u = headless(arch, { uid: 0, gid: 0 });
      try {
        const acc = (p: string, m: number) => u.call('faccessat', u.c.AT_FDCWD, u.str(p), m);
        u.writeHost('r', '', 0o004);
        u.writeHost('w', '', 0o002);
        u.writeHost('x', '', 0o001);
        u.writeHost('none', '', 0o770);
        u.writeHost('all', '', 0o007);
        strangerTo(u, ['r', 'w', 'x', 'none', 'all'], { uid: 4242, gid: 4242 }, { uid: STRANGER, gid: STRANGER });
        expect(acc('r', R_OK)).toBe(0);
        expect(acc('r', W_OK)).toBe(u.errno('EACCES'));
        expect(acc('r', X_OK)).toBe(u.errno('EACCES'));
        expect(acc('w', W_OK)).toBe(0);
        expect(acc('w', R_OK | W_OK)).toBe(u.errno('EACCES'));
        expect(acc('x', X_OK)).toBe(0);
        expect(acc('none', R_OK)).toBe(u.errno('EACCES'));
        expect(acc('none', F_OK)).toBe(0);
        expect(acc('all', R_OK | W_OK | X_OK)).toBe(0);
        // chmod changes the answer (as root on the host: this user may not chmod it).
        fs.chmodSync(u.hostPath('none'), 0o774);
        expect(acc('none', R_OK)).toBe(0);
      } finally {
        u.cleanup();
      }
    });

    it('checks the group bits for a member of the file group', () => {
      const gid = 777;
      const u = headless(arch, { uid: 0, gid: 0 });
      try {
        u.writeHost('g', '', 0o040);
        u.writeHost('o', '', 0o004);
        strangerTo(u, ['g', 'o'], { uid: 4242, gid }, { uid: STRANGER, gid });
        const acc = (p: string, m: number) => u.call('faccessat', u.c.AT_FDCWD, u.str(p), m);
        expect(acc('g', R_OK)).toBe(0);
        expect(acc('o', R_OK)).toBe(u.errno('EACCES'));
      } finally {
        u.cleanup();
      }
    });

    it('root (uid 0) passes every check except X_OK on a file with no x bit', () => {
      const r = headless(arch, { uid: 0, gid: 0 });
      try {
        const acc = (p: string, m: number) => r.call('faccessat', r.c.AT_FDCWD, r.str(p), m);
        r.writeHost('none', '', 0o000);
        r.writeHost('ux', '', 0o100);
        fs.mkdirSync(r.hostPath('d'), { mode: 0o000 });
        fs.chmodSync(r.hostPath('d'), 0o000);
        expect(acc('none', R_OK | W_OK)).toBe(0);
        expect(acc('none', X_OK)).toBe(r.errno('EACCES'));
        expect(acc('ux', X_OK)).toBe(0);
        expect(acc('d', R_OK | W_OK | X_OK)).toBe(0);
      } finally {
        r.cleanup();
      }
    });

    it('EINVAL for a bad mode (before looking at the path) or bad flags', () => {
      file('a.txt');
      expect(access('a.txt', 8)).toBe(E('EINVAL'));
      expect(access('a.txt', 0xffffffff)).toBe(E('EINVAL'));
      expect(access('missing', 8)).toBe(E('EINVAL'));
      expect(t.call('faccessat', AT(), t.str('missing'), 0x10)).toBe(E('EINVAL'));
      expect(access('a.txt', F_OK, 1)).toBe(E('EINVAL'));
      expect(access('a.txt', F_OK, t.c.AT_REMOVEDIR | t.c.AT_SYMLINK_FOLLOW)).toBe(E('EINVAL'));
      expect(access('a.txt', R_OK, t.c.AT_EACCESS)).toBe(0);
    });

    it('AT_EMPTY_PATH checks the dirfd itself; EBADF, EFAULT', () => {
      const fd = open(file('a.txt'));
      expect(t.call('faccessat2', fd, t.str(''), R_OK, t.c.AT_EMPTY_PATH)).toBe(0);
      expect(t.call('faccessat2', fd, t.str(''), R_OK, 0)).toBe(E('ENOENT'));
      expect(t.call('faccessat2', 42, t.str('a.txt'), R_OK, 0)).toBe(E('EBADF'));
      expect(t.call('faccessat2', AT(), 0, R_OK, 0)).toBe(E('EFAULT'));
      expect(t.call('faccessat2', AT(), t.unmapped, R_OK, 0)).toBe(E('EFAULT'));
    });

    it('EROFS for W_OK on a read-only mount', () => {
      const ro = headless(arch, { readOnly: true });
      try {
        ro.writeHost('a.txt', '', 0o666);
        expect(ro.call('faccessat', ro.c.AT_FDCWD, ro.str('a.txt'), W_OK)).toBe(ro.errno('EROFS'));
        expect(ro.call('faccessat', ro.c.AT_FDCWD, ro.str('a.txt'), R_OK)).toBe(0);
      } finally {
        ro.cleanup();
      }
    });

    it.skipIf(!x86)('access (x86-64 only)', () => {
      file('a.txt');
      expect(t.call('access', t.str('a.txt'), R_OK)).toBe(0);
      expect(t.call('access', t.str('missing'), F_OK)).toBe(E('ENOENT'));
      expect(t.call('access', t.str('a.txt'), 8)).toBe(E('EINVAL'));
      expect(t.call('access', 0, F_OK)).toBe(E('EFAULT'));
    });
  });

  // ---- readlink ---------------------------------------------------------------------------------

  describe('readlinkat, readlink', () => {
    it('returns the link text without a NUL, truncated to bufsiz', () => {
      hostLink('l', 'some/target');
      const buf = t.buf(32, 0x55);
      expect(t.call('readlinkat', AT(), t.str('l'), buf, 32)).toBe(11);
      expect(t.text(buf, 11)).toBe('some/target');
      expect(t.read(buf + 11, 1)[0]).toBe(0x55);
      const small = t.buf(8, 0x55);
      expect(t.call('readlinkat', AT(), t.str('l'), small, 4)).toBe(4);
      expect(t.text(small, 5)).toBe('some\x55');
      expect(readlink('/proc/self/cwd')).toBe('/work');
    });

    it('EINVAL for a non-link or bufsiz <= 0 (as an int); ENOENT for a missing name', () => {
      file('a.txt');
      hostLink('l', 'a.txt');
      const buf = t.buf(16);
      expect(readlink('a.txt')).toBe(E('EINVAL'));
      expect(readlink('.')).toBe(E('EINVAL'));
      expect(t.call('readlinkat', AT(), t.str('l'), buf, 0)).toBe(E('EINVAL'));
      expect(t.call('readlinkat', AT(), t.str('l'), buf, -1)).toBe(E('EINVAL'));
      expect(t.call('readlinkat', AT(), t.str('l'), buf, 2 ** 32)).toBe(E('EINVAL'));
      expect(readlink('missing')).toBe(E('ENOENT'));
      expect(readlink('a.txt/x')).toBe(E('ENOTDIR'));
    });

    it('an empty path reads the link an O_PATH|O_NOFOLLOW dirfd names; ENOENT for any other fd or AT_FDCWD', () => {
      const c = t.c;
      file('a.txt');
      hostLink('l', 'a.txt');
      const buf = t.buf(16);
      expect(t.call('readlinkat', open('l', c.O_PATH | c.O_NOFOLLOW), t.str(''), buf, 16)).toBe(5);
      expect(t.call('readlinkat', open('a.txt'), t.str(''), buf, 16)).toBe(E('ENOENT'));
      expect(t.call('readlinkat', open('.', c.O_RDONLY), t.str(''), buf, 16)).toBe(E('ENOENT'));
      expect(t.call('readlinkat', AT(), t.str(''), buf, 16)).toBe(E('ENOENT'));
      expect(t.call('readlinkat', 42, t.str(''), buf, 16)).toBe(E('EBADF'));
    });

    it('returns non-ASCII link text as the bytes stored (host and guest links, /work and /tmp)', () => {
      const target = 'naïve/café';
      const bytes = Buffer.from(target, 'utf8');
      hostLink('host-made', target);
      const guestTarget = t.str(target);
      expect(t.call('symlinkat', guestTarget, AT(), t.str('guest-made'))).toBe(0);
      expect(t.call('symlinkat', guestTarget, AT(), t.str('/tmp/mem-made'))).toBe(0);
      expect(fs.readlinkSync(t.hostPath('guest-made'))).toBe(target);
      for (const p of ['host-made', 'guest-made', '/tmp/mem-made']) {
        const buf = t.buf(64);
        expect(t.call('readlinkat', AT(), t.str(p), buf, 64), p).toBe(bytes.length);
        expect(Buffer.from(t.read(buf, bytes.length))).toEqual(bytes);
        expect(lst(p).size, p).toBe(bytes.length);
      }
    });

    it('relative to a dirfd; EFAULT for bad pointers', () => {
      dir('d');
      hostLink('d/l', '../x');
      const d = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const buf = t.buf(16);
      expect(t.call('readlinkat', d, t.str('l'), buf, 16)).toBe(4);
      expect(t.call('readlinkat', d, t.str('l'), 0, 16)).toBe(E('EFAULT'));
      expect(t.call('readlinkat', d, 0, buf, 16)).toBe(E('EFAULT'));
    });

    it.skipIf(!x86)('readlink (x86-64 only)', () => {
      hostLink('l', 'target');
      const buf = t.buf(16);
      expect(t.call('readlink', t.str('l'), buf, 16)).toBe(6);
      expect(t.text(buf, 6)).toBe('target');
      expect(t.call('readlink', t.str('l'), buf, 0)).toBe(E('EINVAL'));
      expect(t.call('readlink', t.str('.'), buf, 16)).toBe(E('EINVAL'));
      expect(t.call('readlink', t.str(''), buf, 16)).toBe(E('ENOENT'));
    });
  });

  // ---- getcwd, chdir, fchdir -------------------------------------------------------------------

  describe('getcwd, chdir, fchdir', () => {
    it('getcwd returns the length including the NUL', () => {
      const buf = t.buf(64);
      expect(t.call('getcwd', buf, 64)).toBe(6);
      expect(t.text(buf, 6)).toBe('/work\0');
    });

    it('ERANGE when the buffer is too small (by one, or 0); EFAULT for a bad buffer', () => {
      const buf = t.buf(64);
      expect(t.call('getcwd', buf, 5)).toBe(E('ERANGE'));
      expect(t.call('getcwd', buf, 0)).toBe(E('ERANGE'));
      expect(t.call('getcwd', buf, 6)).toBe(6);
      expect(t.call('getcwd', 0, 64)).toBe(E('EFAULT'));
      expect(t.call('getcwd', t.tail(3), 64)).toBe(E('EFAULT'));
    });

    it('ENOENT (before ERANGE) once the working directory is removed, and the path again when it is back', () => {
      dir('gone');
      expect(t.call('chdir', t.str('gone'))).toBe(0);
      expect(t.call('unlinkat', AT(), t.str('/work/gone'), t.c.AT_REMOVEDIR)).toBe(0);
      const buf = t.buf(64);
      expect(t.call('getcwd', buf, 64)).toBe(E('ENOENT'));
      expect(t.call('getcwd', buf, 1)).toBe(E('ENOENT'));
      file('gone', 'now a file');
      expect(t.call('getcwd', buf, 64)).toBe(E('ENOENT')); // not a directory there either
      expect(t.call('chdir', t.str('/work'))).toBe(0);
      expect(getcwd()).toBe('/work');
    });

    it('chdir changes where relative paths start; getcwd shows the canonical path', () => {
      file('d/e/a.txt', 'deep');
      hostLink('le', 'd/e');
      expect(t.call('chdir', t.str('d'))).toBe(0);
      expect(getcwd()).toBe('/work/d');
      expect(readAll('e/a.txt')).toBe('deep');
      expect(t.call('chdir', t.str('..'))).toBe(0);
      expect(getcwd()).toBe('/work');
      expect(t.call('chdir', t.str('le'))).toBe(0);
      expect(getcwd()).toBe('/work/d/e');
      expect(readAll('a.txt')).toBe('deep');
      expect(t.call('chdir', t.str('/tmp'))).toBe(0);
      t.call('close', open('made-in-tmp', t.c.O_CREAT | t.c.O_WRONLY));
      expect(type(st('/tmp/made-in-tmp'))).toBe(S_IFREG);
      expect(t.call('chdir', t.str('/'))).toBe(0);
      expect(getcwd()).toBe('/');
      expect(t.call('chdir', t.str('..'))).toBe(0);
      expect(getcwd()).toBe('/');
    });

    it('getcwd gives a non-ASCII directory name as the bytes the guest used', () => {
      const name = Buffer.from('répertoire', 'utf8');
      expect(t.call('mkdirat', AT(), t.str(name), 0o755)).toBe(0);
      expect(fs.existsSync(t.hostPath('répertoire'))).toBe(true);
      expect(t.call('chdir', t.str(name))).toBe(0);
      const buf = t.buf(64);
      const n = t.call('getcwd', buf, 64);
      expect(n).toBe('/work/'.length + name.length + 1);
      expect(Buffer.from(t.read(buf, n))).toEqual(Buffer.concat([Buffer.from('/work/'), name, Buffer.from([0])]));
      expect(t.call('getcwd', buf, n - 1)).toBe(E('ERANGE'));
    });

    it('chdir: ENOTDIR, ENOENT, EFAULT', () => {
      file('a.txt');
      hostLink('dangling', 'nowhere');
      expect(t.call('chdir', t.str('a.txt'))).toBe(E('ENOTDIR'));
      expect(t.call('chdir', t.str('missing'))).toBe(E('ENOENT'));
      expect(t.call('chdir', t.str('dangling'))).toBe(E('ENOENT'));
      expect(t.call('chdir', t.str(''))).toBe(E('ENOENT'));
      expect(t.call('chdir', 0)).toBe(E('EFAULT'));
      expect(getcwd()).toBe('/work');
    });

    it('fchdir to a directory fd (O_PATH too); ENOTDIR for a file or pipe, EBADF for bad fds', () => {
      const c = t.c;
      dir('d/e');
      expect(t.call('fchdir', open('d', c.O_RDONLY | c.O_DIRECTORY))).toBe(0);
      expect(getcwd()).toBe('/work/d');
      expect(t.call('fchdir', open('e', c.O_PATH))).toBe(0);
      expect(getcwd()).toBe('/work/d/e');
      expect(t.call('fchdir', open(`/work/${file('a.txt')}`))).toBe(E('ENOTDIR'));
      const [r] = t.pipe();
      expect(t.call('fchdir', r)).toBe(E('ENOTDIR'));
      for (const fd of [42, -1, 1 << 20]) expect(t.call('fchdir', fd)).toBe(E('EBADF'));
    });
  });

  // ---- mkdir ----------------------------------------------------------------------------------

  describe('mkdirat, mkdir', () => {
    it.each(['/work', '/tmp'])('mkdirat in %s applies the umask; setuid and setgid never come from the mode', (where) => {
      expect(mkdir(`${where}/d`, 0o777)).toBe(0);
      expect(st(`${where}/d`).mode).toBe(S_IFDIR | 0o755);
      expect(st(`${where}/d`).nlink).toBe(2);
      t.call('umask', 0o077);
      expect(mkdir(`${where}/p`, 0o777)).toBe(0);
      expect(perms(st(`${where}/p`))).toBe(0o700);
      t.call('umask', 0o022);
      expect(mkdir(`${where}/s`, 0o7777)).toBe(0);
      expect(perms(st(`${where}/s`))).toBe(0o1755);
      expect(mkdir(`${where}/trailing/`, 0o755)).toBe(0);
      expect(type(st(`${where}/trailing`))).toBe(S_IFDIR);
    });

    it('EEXIST for any existing name, a dangling symlink or "."; ENOENT, ENOTDIR for the parent', () => {
      file('a.txt');
      dir('d');
      hostLink('dangling', 'nowhere');
      for (const p of ['a.txt', 'd', 'dangling', '.', '..', '/', 'd/.', 'a.txt/']) expect(mkdir(p), p).toBe(E('EEXIST'));
      expect(fs.existsSync(t.hostPath('nowhere'))).toBe(false);
      expect(mkdir('missing/x')).toBe(E('ENOENT'));
      expect(mkdir('a.txt/x')).toBe(E('ENOTDIR'));
      expect(mkdir('')).toBe(E('ENOENT'));
      expect(mkdir('z'.repeat(256))).toBe(E('ENAMETOOLONG'));
      expect(mkdir('/proc/x')).toBeLessThan(0);
    });

    it('relative to a dirfd; ENOTDIR from a file dirfd; EBADF, EFAULT', () => {
      dir('d');
      const d = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('mkdirat', d, t.str('sub'), 0o700)).toBe(0);
      expect(fs.statSync(t.hostPath('d/sub')).isDirectory()).toBe(true);
      expect(t.call('mkdirat', open(file('a.txt')), t.str('sub'), 0o700)).toBe(E('ENOTDIR'));
      expect(t.call('mkdirat', 42, t.str('sub'), 0o700)).toBe(E('EBADF'));
      expect(t.call('mkdirat', AT(), 0, 0o700)).toBe(E('EFAULT'));
    });

    it('EROFS on a read-only mount', () => {
      const ro = headless(arch, { readOnly: true });
      try {
        expect(ro.call('mkdirat', ro.c.AT_FDCWD, ro.str('d'), 0o755)).toBe(ro.errno('EROFS'));
        expect(ro.call('mkdirat', ro.c.AT_FDCWD, ro.str('.'), 0o755)).toBe(ro.errno('EEXIST'));
      } finally {
        ro.cleanup();
      }
    });

    it.skipIf(!x86)('mkdir (x86-64 only)', () => {
      expect(t.call('mkdir', t.str('d'), 0o777)).toBe(0);
      expect(perms(st('d'))).toBe(0o755);
      expect(t.call('mkdir', t.str('d'), 0o777)).toBe(E('EEXIST'));
      expect(t.call('mkdir', t.str('x/y'), 0o777)).toBe(E('ENOENT'));
    });
  });

  // ---- unlink, rmdir -----------------------------------------------------------------------------

  describe('unlinkat, unlink, rmdir', () => {
    it.each(['/work', '/tmp'])('unlinkat removes a file in %s; an open fd still reads it', (where) => {
      const c = t.c;
      const fd = open(`${where}/a.txt`, c.O_CREAT | c.O_RDWR);
      t.write(fd, 'still here');
      expect(unlink(`${where}/a.txt`)).toBe(0);
      expect(statErr(`${where}/a.txt`)).toBe(E('ENOENT'));
      t.call('lseek', fd, 0, 0);
      expect(t.readFd(fd)).toBe('still here');
      expect(unlink(`${where}/a.txt`)).toBe(E('ENOENT'));
    });

    it('unlinks a symlink, not its target', () => {
      file('a.txt', 'x');
      hostLink('l', 'a.txt');
      expect(unlink('l')).toBe(0);
      expect(fs.existsSync(t.hostPath('a.txt'))).toBe(true);
      expect(statErr('l', t.c.AT_SYMLINK_NOFOLLOW)).toBe(E('ENOENT'));
    });

    it('flags 0: EISDIR for directories (and "."), ENOTDIR for "file/"; bad flags EINVAL', () => {
      file('a.txt');
      dir('d');
      expect(unlink('d')).toBe(E('EISDIR'));
      expect(unlink('d/')).toBe(E('EISDIR'));
      expect(unlink('.')).toBe(E('EISDIR'));
      expect(t.call('mkdirat', AT(), t.str('/tmp/dd'), 0o755)).toBe(0);
      expect(unlink('/tmp/dd')).toBe(E('EISDIR'));
      expect(unlink('a.txt/')).toBe(E('ENOTDIR'));
      expect(unlink('a.txt', 1)).toBe(E('EINVAL'));
      expect(unlink('a.txt', t.c.AT_REMOVEDIR | 1)).toBe(E('EINVAL'));
      expect(unlink('')).toBe(E('ENOENT'));
      expect(unlink('missing/x')).toBe(E('ENOENT'));
      expect(unlink('a.txt/x')).toBe(E('ENOTDIR'));
      expect(t.call('unlinkat', AT(), 0, 0)).toBe(E('EFAULT'));
      expect(fs.existsSync(t.hostPath('a.txt'))).toBe(true);
    });

    it.each(['/work', '/tmp'])('AT_REMOVEDIR removes an empty directory in %s', (where) => {
      const R = t.c.AT_REMOVEDIR;
      expect(mkdir(`${where}/d`)).toBe(0);
      t.call('close', open(`${where}/d/f`, t.c.O_CREAT | t.c.O_WRONLY));
      expect(unlink(`${where}/d`, R)).toBe(E('ENOTEMPTY'));
      expect(unlink(`${where}/d/f`, R)).toBe(E('ENOTDIR'));
      expect(unlink(`${where}/d/f`)).toBe(0);
      expect(unlink(`${where}/d/`, R)).toBe(0);
      expect(statErr(`${where}/d`)).toBe(E('ENOENT'));
      expect(unlink(`${where}/d`, R)).toBe(E('ENOENT'));
    });

    it('AT_REMOVEDIR: EINVAL for ".", ENOTEMPTY for "..", ENOTDIR for a symlink to a directory, EBUSY for mount points', () => {
      const R = t.c.AT_REMOVEDIR;
      dir('d');
      hostLink('ld', 'd');
      expect(unlink('d/.', R)).toBe(E('EINVAL'));
      expect(unlink('.', R)).toBe(E('EINVAL'));
      expect(unlink('d/..', R)).toBe(E('ENOTEMPTY'));
      expect(unlink('ld', R)).toBe(E('ENOTDIR'));
      expect(unlink('ld/', R)).toBe(E('ENOTDIR'));
      expect(unlink('/tmp', R)).toBe(E('EBUSY'));
      expect(unlink('/work', R)).toBe(E('EBUSY'));
      expect(unlink('/', R)).toBe(E('EBUSY'));
      expect(unlink('/proc', R)).toBe(E('EBUSY'));
      expect(fs.existsSync(t.hostPath('d'))).toBe(true);
    });

    it('relative to a dirfd; ENOTDIR from a file dirfd; EBADF', () => {
      file('d/a.txt');
      const d = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('unlinkat', d, t.str('a.txt'), 0)).toBe(0);
      expect(fs.existsSync(t.hostPath('d/a.txt'))).toBe(false);
      expect(t.call('unlinkat', open(file('b.txt')), t.str('x'), 0)).toBe(E('ENOTDIR'));
      expect(t.call('unlinkat', 42, t.str('x'), 0)).toBe(E('EBADF'));
    });

    it('EROFS on a read-only mount', () => {
      const ro = headless(arch, { readOnly: true });
      try {
        ro.writeHost('a.txt');
        fs.mkdirSync(ro.hostPath('d'));
        expect(ro.call('unlinkat', ro.c.AT_FDCWD, ro.str('a.txt'), 0)).toBe(ro.errno('EROFS'));
        expect(ro.call('unlinkat', ro.c.AT_FDCWD, ro.str('d'), ro.c.AT_REMOVEDIR)).toBe(ro.errno('EROFS'));
        expect(fs.existsSync(ro.hostPath('a.txt'))).toBe(true);
      } finally {
        ro.cleanup();
      }
    });

    it.skipIf(!x86)('unlink and rmdir (x86-64 only)', () => {
      file('a.txt');
      dir('d');
      expect(t.call('unlink', t.str('d'))).toBe(E('EISDIR'));
      expect(t.call('rmdir', t.str('a.txt'))).toBe(E('ENOTDIR'));
      expect(t.call('rmdir', t.str('/tmp'))).toBe(E('EBUSY'));
      expect(t.call('rmdir', t.str('.'))).toBe(E('EINVAL'));
      expect(t.call('unlink', t.str('a.txt'))).toBe(0);
      expect(t.call('rmdir', t.str('d'))).toBe(0);
      expect(fs.readdirSync(t.hostPath())).toEqual([]);
    });
  });

  // ---- rename ------------------------------------------------------------------------------------

  describe('renameat2, renameat, rename', () => {
    it.each(['/work', '/tmp'])('renames and replaces files and directories in %s', (where) => {
      const c = t.c;
      const w = (p: string) => `${where}/${p}`;
      const mk = (p: string, s: string) => {
        const fd = open(w(p), c.O_CREAT | c.O_WRONLY | c.O_TRUNC);
        t.write(fd, s);
        t.call('close', fd);
      };
      mk('a', 'A');
      mk('b', 'B');
      expect(rename(w('a'), w('c'))).toBe(0);
      expect(statErr(w('a'))).toBe(E('ENOENT'));
      expect(readAll(w('c'))).toBe('A');
      expect(rename(w('c'), w('b'))).toBe(0);
      expect(readAll(w('b'))).toBe('A');
      expect(mkdir(w('d1'))).toBe(0);
      expect(mkdir(w('d2'))).toBe(0);
      mk('d1/inner', 'I');
      expect(rename(w('d1'), w('d2'))).toBe(0); // replaces an empty directory
      expect(readAll(w('d2/inner'))).toBe('I');
      expect(rename(w('b'), w('d2/moved'))).toBe(0);
      expect(readAll(w('d2/moved'))).toBe('A');
      expect(rename(w('d2/'), w('d3/'))).toBe(0);
      expect(type(st(w('d3')))).toBe(S_IFDIR);
    });

    it.each(['/work', '/tmp'])('errors in %s: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL (into itself), EBUSY for . and ..', (where) => {
      const c = t.c;
      const w = (p: string) => `${where}/${p}`;
      t.call('close', open(w('f'), c.O_CREAT | c.O_WRONLY));
      mkdir(w('d'));
      mkdir(w('full'));
      t.call('close', open(w('full/x'), c.O_CREAT | c.O_WRONLY));
      expect(rename(w('missing'), w('x'))).toBe(E('ENOENT'));
      expect(rename(w('f'), w('missing/x'))).toBe(E('ENOENT'));
      expect(rename(w('d'), w('f'))).toBe(E('ENOTDIR'));
      expect(rename(w('f'), w('d'))).toBe(E('EISDIR'));
      expect(rename(w('d'), w('full'))).toBe(E('ENOTEMPTY'));
      expect(rename(w('d'), w('d/sub'))).toBe(E('EINVAL'));
      expect(rename(w('f/'), w('g'))).toBe(E('ENOTDIR'));
      expect(rename(w('f'), w('g/'))).toBe(E('ENOTDIR'));
      expect(rename(w('.'), w('x'))).toBe(E('EBUSY'));
      expect(rename(w('f'), w('..'))).toBe(E('EBUSY'));
      expect(rename(w('f'), w('..'), RENAME_NOREPLACE)).toBe(E('EEXIST'));
      expect(rename('', w('x'))).toBe(E('ENOENT'));
      expect(type(st(w('f')))).toBe(S_IFREG);
    });

    it('renaming a file onto another name of itself does nothing', () => {
      file('a.txt', 'same');
      expect(link('a.txt', 'b.txt')).toBe(0);
      expect(rename('a.txt', 'b.txt')).toBe(0);
      expect(t.readHost('a.txt')).toBe('same');
      expect(t.readHost('b.txt')).toBe('same');
    });

    it('RENAME_NOREPLACE: EEXIST when the new name exists (a dangling symlink too)', () => {
      file('a.txt', 'A');
      file('b.txt', 'B');
      hostLink('dangling', 'nowhere');
      expect(rename('a.txt', 'b.txt', RENAME_NOREPLACE)).toBe(E('EEXIST'));
      expect(rename('a.txt', 'dangling', RENAME_NOREPLACE)).toBe(E('EEXIST'));
      expect(t.readHost('b.txt')).toBe('B');
      expect(rename('a.txt', 'c.txt', RENAME_NOREPLACE)).toBe(0);
      expect(t.readHost('c.txt')).toBe('A');
    });

    it('RENAME_EXCHANGE swaps two names on the in-memory /tmp; ENOENT if one is missing', () => {
      const c = t.c;
      const mk = (p: string, s: string) => {
        const fd = open(p, c.O_CREAT | c.O_WRONLY);
        t.write(fd, s);
        t.call('close', fd);
      };
      mk('/tmp/a', 'A');
      mk('/tmp/b', 'B');
      mkdir('/tmp/d');
      expect(rename('/tmp/a', '/tmp/b', RENAME_EXCHANGE)).toBe(0);
      expect(readAll('/tmp/a')).toBe('B');
      expect(readAll('/tmp/b')).toBe('A');
      expect(rename('/tmp/a', '/tmp/d', RENAME_EXCHANGE)).toBe(0);
      expect(type(st('/tmp/a'))).toBe(S_IFDIR);
      expect(readAll('/tmp/d')).toBe('B');
      expect(rename('/tmp/a', '/tmp/missing', RENAME_EXCHANGE)).toBe(E('ENOENT'));
    });

    it('RENAME_EXCHANGE is EINVAL on the host directory (not supported there)', () => {
      file('a', 'A');
      file('b', 'B');
      expect(rename('a', 'b', RENAME_EXCHANGE)).toBe(E('EINVAL'));
      expect(t.readHost('a')).toBe('A');
    });

    it('EINVAL for both flags, RENAME_WHITEOUT or unknown flags', () => {
      file('a', 'A');
      expect(rename('a', 'b', RENAME_NOREPLACE | RENAME_EXCHANGE)).toBe(E('EINVAL'));
      expect(rename('a', 'b', RENAME_WHITEOUT)).toBe(E('EINVAL'));
      expect(rename('a', 'b', RENAME_WHITEOUT | RENAME_EXCHANGE)).toBe(E('EINVAL'));
      expect(rename('a', 'b', 8)).toBe(E('EINVAL'));
      expect(rename('a', 'b', 0x8000_0000)).toBe(E('EINVAL'));
      expect(t.readHost('a')).toBe('A');
    });

    it('EXDEV between /tmp and /work, either way; EBUSY for mount points', () => {
      file('a', 'A');
      t.call('close', open('/tmp/t', t.c.O_CREAT | t.c.O_WRONLY));
      expect(rename('a', '/tmp/a')).toBe(E('EXDEV'));
      expect(rename('/tmp/t', 'moved')).toBe(E('EXDEV'));
      expect(rename('/tmp/t', '/work/moved', RENAME_NOREPLACE)).toBe(E('EXDEV'));
      expect(rename('/tmp', '/tmp2')).toBe(E('EBUSY'));
      expect(rename('/work', '/elsewhere')).toBe(E('EBUSY'));
      expect(rename('/etc', '/tmp')).toBe(E('EBUSY'));
      expect(t.readHost('a')).toBe('A');
    });

    it('relative to dirfds; EBADF and EFAULT', () => {
      file('d/a', 'A');
      dir('e');
      const d = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const e = open('e', t.c.O_PATH);
      expect(t.call('renameat2', d, t.str('a'), e, t.str('b'), 0)).toBe(0);
      expect(t.readHost('e/b')).toBe('A');
      expect(t.call('renameat2', 42, t.str('b'), e, t.str('c'), 0)).toBe(E('EBADF'));
      expect(t.call('renameat2', e, t.str('b'), 42, t.str('c'), 0)).toBe(E('EBADF'));
      expect(t.call('renameat2', e, 0, e, t.str('c'), 0)).toBe(E('EFAULT'));
      expect(t.call('renameat2', e, t.str('b'), e, t.unmapped, 0)).toBe(E('EFAULT'));
    });

    it('renameat (where it exists) is renameat2 with no flags', () => {
      file('a', 'A');
      if (!t.has('renameat')) {
        expect(arch).toBe('aarch64');
        return;
      }
      expect(t.call('renameat', AT(), t.str('a'), AT(), t.str('b'))).toBe(0);
      expect(t.readHost('b')).toBe('A');
      expect(t.call('renameat', AT(), t.str('a'), AT(), t.str('b'))).toBe(E('ENOENT'));
    });

    it.skipIf(!x86)('rename (x86-64 only)', () => {
      file('a', 'A');
      expect(t.call('rename', t.str('a'), t.str('b'))).toBe(0);
      expect(t.readHost('b')).toBe('A');
      expect(t.call('rename', t.str('b'), t.str('/tmp/b'))).toBe(E('EXDEV'));
      expect(t.call('rename', t.str('missing'), t.str('c'))).toBe(E('ENOENT'));
    });
  });

  // ---- symlink, link ---------------------------------------------------------------------------

  describe('symlinkat, linkat, symlink, link', () => {
    it.each(['/work', '/tmp'])('symlinkat in %s stores the text as given; it resolves from the link directory', (where) => {
      const c = t.c;
      expect(mkdir(`${where}/d`)).toBe(0);
      const fd = open(`${where}/d/target`, c.O_CREAT | c.O_WRONLY);
      t.write(fd, 'T');
      expect(symlink('target', `${where}/d/rel`)).toBe(0);
      expect(symlink(`${where}/d/target`, `${where}/abs`)).toBe(0);
      expect(symlink('does/not/exist', `${where}/dangling`)).toBe(0);
      expect(readlink(`${where}/d/rel`)).toBe('target');
      expect(readAll(`${where}/d/rel`)).toBe('T');
      expect(readAll(`${where}/abs`)).toBe('T');
      expect(readAll(`${where}/dangling`)).toBe(E('ENOENT'));
      expect(type(lst(`${where}/dangling`))).toBe(S_IFLNK);
      expect(lst(`${where}/dangling`).size).toBe(14);
    });

    it('symlinkat: EEXIST, ENOENT (empty target, missing parent), ENOTDIR, EFAULT, EBADF; relative to a dirfd', () => {
      file('a.txt');
      hostLink('dangling', 'nowhere');
      expect(symlink('x', 'a.txt')).toBe(E('EEXIST'));
      expect(symlink('x', 'dangling')).toBe(E('EEXIST'));
      expect(symlink('x', 'a.txt/')).toBe(E('EEXIST'));
      expect(symlink('x', 'new/')).toBe(E('ENOENT'));
      expect(symlink('', 'l')).toBe(E('ENOENT'));
      expect(symlink('x', '')).toBe(E('ENOENT'));
      expect(symlink('x', 'missing/l')).toBe(E('ENOENT'));
      expect(symlink('x', 'a.txt/l')).toBe(E('ENOTDIR'));
      expect(t.call('symlinkat', 0, AT(), t.str('l'))).toBe(E('EFAULT'));
      expect(t.call('symlinkat', t.str('x'), AT(), 0)).toBe(E('EFAULT'));
      expect(t.call('symlinkat', t.str('x'), 42, t.str('l'))).toBe(E('EBADF'));
      dir('d');
      const d = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('symlinkat', t.str('../a.txt'), d, t.str('l'))).toBe(0);
      expect(fs.readlinkSync(t.hostPath('d/l'))).toBe('../a.txt');
      expect(t.call('symlinkat', t.str('x'), open('a.txt'), t.str('l'))).toBe(E('ENOTDIR'));
    });

    it.each(['/work', '/tmp'])('linkat in %s makes a second name of one inode: nlink 2, same ino, shared data', (where) => {
      const c = t.c;
      const fd = open(`${where}/a`, c.O_CREAT | c.O_RDWR);
      t.write(fd, 'one');
      expect(link(`${where}/a`, `${where}/b`)).toBe(0);
      expect(st(`${where}/a`).nlink).toBe(2);
      expect(fstat(fd).nlink).toBe(2);
      expect(st(`${where}/b`).ino).toBe(st(`${where}/a`).ino);
      t.write(fd, '+two');
      expect(readAll(`${where}/b`)).toBe('one+two');
      expect(unlink(`${where}/a`)).toBe(0);
      expect(st(`${where}/b`).nlink).toBe(1);
      expect(readAll(`${where}/b`)).toBe('one+two');
    });

    it('linkat links a symlink itself, or its target with AT_SYMLINK_FOLLOW', () => {
      const c = t.c;
      file('a.txt', 'A');
      hostLink('l', 'a.txt');
      hostLink('dangling', 'nowhere');
      expect(link('l', 'l2')).toBe(0);
      expect(type(lst('l2'))).toBe(S_IFLNK);
      expect(link('l', 'hard', c.AT_SYMLINK_FOLLOW)).toBe(0);
      expect(type(lst('hard'))).toBe(S_IFREG);
      expect(st('a.txt').nlink).toBe(2);
      expect(link('dangling', 'd2', c.AT_SYMLINK_FOLLOW)).toBe(E('ENOENT'));
      expect(link('dangling', 'd3')).toBe(0);
    });

    it('linkat: EXDEV across filesystems, EPERM for directories, EEXIST, ENOENT, EINVAL for bad flags', () => {
      const c = t.c;
      file('a.txt', 'A');
      file('b.txt', 'B');
      dir('d');
      t.call('close', open('/tmp/t', c.O_CREAT | c.O_WRONLY));
      expect(link('a.txt', '/tmp/a')).toBe(E('EXDEV'));
      expect(link('/tmp/t', 'from-tmp')).toBe(E('EXDEV'));
      expect(link('d', 'd2')).toBe(E('EPERM'));
      expect(mkdir('/tmp/dd')).toBe(0);
      expect(link('/tmp/dd', '/tmp/dd2')).toBe(E('EPERM'));
      expect(link('d', 'b.txt')).toBe(E('EEXIST'));
      expect(link('a.txt', 'b.txt')).toBe(E('EEXIST'));
      expect(link('missing', 'x')).toBe(E('ENOENT'));
      expect(link('a.txt', 'missing/x')).toBe(E('ENOENT'));
      expect(link('a.txt', 'x', 1)).toBe(E('EINVAL'));
      expect(link('a.txt', 'x', c.AT_SYMLINK_NOFOLLOW)).toBe(E('EINVAL'));
      expect(link('', 'x')).toBe(E('ENOENT'));
      expect(t.readHost('b.txt')).toBe('B');
    });

    it('linkat with AT_EMPTY_PATH links what an fd names; a pipe has no filesystem to link into (EXDEV)', () => {
      const c = t.c;
      const fd = open(file('a.txt', 'A'));
      expect(t.call('linkat', fd, t.str(''), AT(), t.str('b.txt'), c.AT_EMPTY_PATH)).toBe(0);
      expect(t.readHost('b.txt')).toBe('A');
      expect(t.call('linkat', fd, t.str(''), AT(), t.str('c.txt'), 0)).toBe(E('ENOENT'));
      const [r] = t.pipe();
      expect(t.call('linkat', r, t.str(''), AT(), t.str('p'), c.AT_EMPTY_PATH)).toBe(E('EXDEV'));
      expect(t.call('linkat', r, t.str(''), AT(), t.str('/p'), c.AT_EMPTY_PATH)).toBe(E('EXDEV'));
      expect(t.call('linkat', r, t.str(''), AT(), t.str('/tmp/p'), c.AT_EMPTY_PATH)).toBe(E('EXDEV'));
    });

    it('linkat: EBADF, ENOTDIR and EFAULT', () => {
      file('a.txt');
      const f = open('a.txt');
      expect(t.call('linkat', 42, t.str('a.txt'), AT(), t.str('b'), 0)).toBe(E('EBADF'));
      expect(t.call('linkat', AT(), t.str('a.txt'), 42, t.str('b'), 0)).toBe(E('EBADF'));
      expect(t.call('linkat', f, t.str('x'), AT(), t.str('b'), 0)).toBe(E('ENOTDIR'));
      expect(t.call('linkat', AT(), 0, AT(), t.str('b'), 0)).toBe(E('EFAULT'));
      expect(t.call('linkat', AT(), t.str('a.txt'), AT(), 0, 0)).toBe(E('EFAULT'));
    });

    it.skipIf(!x86)('symlink and link (x86-64 only)', () => {
      file('a.txt', 'A');
      expect(t.call('symlink', t.str('a.txt'), t.str('l'))).toBe(0);
      expect(t.call('link', t.str('l'), t.str('h'))).toBe(0);
      expect(type(lst('h'))).toBe(S_IFLNK);
      expect(t.call('link', t.str('a.txt'), t.str('/tmp/x'))).toBe(E('EXDEV'));
      expect(t.call('symlink', t.str('x'), t.str('a.txt'))).toBe(E('EEXIST'));
    });
  });

  // ---- chmod, umask ----------------------------------------------------------------------------------

  describe('fchmodat, chmod, fchmod, umask', () => {
    it.each(['/work', '/tmp'])('fchmodat in %s changes the permission and set-id bits only', (where) => {
      const c = t.c;
      t.call('close', open(`${where}/a`, c.O_CREAT | c.O_WRONLY, 0o644));
      expect(chmod(`${where}/a`, 0o600)).toBe(0);
      expect(st(`${where}/a`).mode).toBe(S_IFREG | 0o600);
      expect(chmod(`${where}/a`, S_IFDIR | 0o4755)).toBe(0);
      expect(st(`${where}/a`).mode).toBe(S_IFREG | 0o4755);
      if (where === '/work') expect(fs.statSync(t.hostPath('a')).mode & 0o7777).toBe(0o4755);
      expect(mkdir(`${where}/d`)).toBe(0);
      expect(chmod(`${where}/d`, 0o1777)).toBe(0);
      expect(st(`${where}/d`).mode).toBe(S_IFDIR | 0o1777);
    });

    it('follows symlinks; ENOENT, ENOTDIR, EFAULT, EBADF', () => {
      file('a.txt', '', 0o644);
      hostLink('l', 'a.txt');
      hostLink('dangling', 'nowhere');
      expect(chmod('l', 0o700)).toBe(0);
      expect(perms(st('a.txt'))).toBe(0o700);
      expect(type(lst('l'))).toBe(S_IFLNK);
      expect(chmod('dangling', 0o700)).toBe(E('ENOENT'));
      expect(chmod('missing', 0o700)).toBe(E('ENOENT'));
      expect(chmod('', 0o700)).toBe(E('ENOENT'));
      expect(chmod('a.txt/x', 0o700)).toBe(E('ENOTDIR'));
      expect(t.call('fchmodat', AT(), 0, 0o700)).toBe(E('EFAULT'));
      expect(t.call('fchmodat', 42, t.str('a.txt'), 0o700)).toBe(E('EBADF'));
      dir('d');
      expect(t.call('fchmodat', open('d', t.c.O_PATH), t.str('../a.txt'), 0o640)).toBe(0);
      expect(perms(st('a.txt'))).toBe(0o640);
    });

    it('EROFS on a read-only mount', () => {
      const ro = headless(arch, { readOnly: true });
      try {
        ro.writeHost('a.txt', '', 0o644);
        expect(ro.call('fchmodat', ro.c.AT_FDCWD, ro.str('a.txt'), 0o600)).toBe(ro.errno('EROFS'));
        expect(ro.call('fchmod', ro.open('a.txt'), 0o600)).toBe(ro.errno('EROFS'));
        expect(fs.statSync(ro.hostPath('a.txt')).mode & 0o777).toBe(0o644);
      } finally {
        ro.cleanup();
      }
    });

    it('fchmod changes an open file; EBADF for bad and O_PATH fds; a pipe accepts it', () => {
      const fd = open(file('a.txt', '', 0o644));
      expect(t.call('fchmod', fd, 0o444)).toBe(0);
      expect(fs.statSync(t.hostPath('a.txt')).mode & 0o777).toBe(0o444);
      expect(t.call('fchmod', 42, 0o644)).toBe(E('EBADF'));
      expect(t.call('fchmod', -1, 0o644)).toBe(E('EBADF'));
      expect(t.call('fchmod', open('a.txt', t.c.O_PATH), 0o644)).toBe(E('EBADF'));
      const [r] = t.pipe();
      expect(t.call('fchmod', r, 0o600)).toBe(0);
    });

    it.skipIf(!x86)('chmod (x86-64 only)', () => {
      file('a.txt', '', 0o644);
      expect(t.call('chmod', t.str('a.txt'), 0o600)).toBe(0);
      expect(perms(st('a.txt'))).toBe(0o600);
      expect(t.call('chmod', t.str('missing'), 0o600)).toBe(E('ENOENT'));
    });

    it('umask returns the previous mask and keeps only the permission bits', () => {
      expect(t.call('umask', 0o027)).toBe(0o022);
      expect(t.call('umask', 0o7777)).toBe(0o027);
      expect(t.call('umask', 0)).toBe(0o777);
      expect(t.call('umask', 0o022)).toBe(0);
    });
  });

  // ---- the sandbox ------------------------------------------------------------------------------------

  describe('confinement to the mounted directory', () => {
    const SECRET = 'TOP SECRET: outside the mount';

    /** Every file under `dir` with its content and mode, skipping `skip`. */
    function snapshot(dir: string, skip: string): Map<string, string> {
      const out = new Map<string, string>();
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (p === skip) continue;
          const s = fs.lstatSync(p);
          const content = e.isFile() ? fs.readFileSync(p, 'latin1') : e.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : '';
          out.set(p, `${s.mode.toString(8)} ${s.size} ${s.mtimeMs} ${content}`);
          if (e.isDirectory()) walk(p);
        }
      };
      walk(dir);
      return out;
    }

    it('no path, symlink, magic link or hard link reaches a file next to the mounted directory', () => {
      const c = t.c;
      const sentinel = t.outsidePath('sentinel');
      fs.writeFileSync(sentinel, SECRET);
      fs.mkdirSync(t.outsidePath('sibling'));
      fs.writeFileSync(t.outsidePath('sibling/inner'), SECRET);
      const before = snapshot(t.base, t.root);
      const hostRel = path.relative('/', sentinel); // the host path without its leading slash
      const up = '../'.repeat(30);

      // Links planted on the host (as a hostile archive would leave them) and by the guest.
      hostLink('host-abs', sentinel);
      hostLink('host-rel', '../sentinel');
      hostLink('host-deep', up + hostRel);
      hostLink('host-dir', t.base);
      hostLink('host-dir-rel', '..');
      fs.mkdirSync(t.hostPath('sub/deeper'), { recursive: true });
      hostLink('sub/deeper/climb', '../../../sentinel');
      expect(symlink(sentinel, 'guest-abs')).toBe(0);
      expect(symlink('../sentinel', 'guest-rel')).toBe(0);
      expect(symlink(up + hostRel, 'guest-deep')).toBe(0);
      expect(symlink('/proc/self/root' + sentinel, 'guest-proc')).toBe(0);
      const workFd = open('/work', c.O_RDONLY | c.O_DIRECTORY);

      const attempts = [
        '../sentinel',
        '/../sentinel',
        '/work/../sentinel',
        '/work/../../sentinel',
        up + 'sentinel',
        sentinel,
        '/' + up + hostRel,
        `${path.basename(t.base)}/sentinel`,
        '../sibling/inner',
        'host-abs',
        'host-rel',
        'host-deep',
        'host-dir/sentinel',
        'host-dir-rel/sentinel',
        'host-dir-rel/../sentinel',
        'sub/deeper/climb',
        'guest-abs',
        'guest-rel',
        'guest-deep',
        'guest-proc',
        '/proc/self/root' + sentinel,
        '/proc/self/root/../sentinel',
        '/proc/self/root/work/../sentinel',
        '/proc/self/cwd/../sentinel',
        `/proc/self/fd/${workFd}/../sentinel`,
        '/dev/fd/../../sentinel',
      ];
      const leaks: string[] = [];
      for (const p of attempts) {
        const fd = open(p);
        if (fd >= 0) {
          const got = t.readFd(fd);
          if (got.includes('SECRET')) leaks.push(p);
          t.call('close', fd);
        }
        const sx = t.stat(p);
        if (typeof sx !== 'number' && sx.size === SECRET.length) leaks.push(`stat ${p}`);
        const rel = openat(workFd, p);
        if (rel >= 0 && t.readFd(rel).includes('SECRET')) leaks.push(`openat(workFd) ${p}`);
      }
      expect(leaks).toEqual([]);
      // The control: the same reads do see a secret that is inside the mount.
      file('inside', SECRET);
      expect(readAll('inside')).toBe(SECRET);
      expect(readAll('/proc/self/cwd/inside')).toBe(SECRET);
      expect(readAll('/proc/self/root/work/sub/../inside')).toBe(SECRET);

      // Hard links and renames cannot pull the sentinel in, nor removals reach it.
      const outside = ['../sentinel', sentinel, 'host-dir/sentinel', '/proc/self/cwd/../sentinel', '/proc/self/root' + sentinel];
      for (const [i, p] of [...outside, 'host-abs', 'host-rel', 'host-deep', 'guest-proc'].entries()) {
        const r = link(p, `stolen-${i}`, c.AT_SYMLINK_FOLLOW);
        if (r === 0) expect(readAll(`stolen-${i}`)).not.toContain('SECRET');
        chmod(p, 0o777);
      }
      for (const p of outside) {
        expect(rename(p, 'moved-in'), p).toBeLessThan(0);
        expect(unlink(p), p).toBeLessThan(0);
      }
      // Renaming or removing a planted link moves or removes the link, never its target.
      expect(rename('host-abs', 'renamed-link')).toBe(0);
      expect(unlink('host-rel')).toBe(0);
      // Writes aimed outside land in the guest's own in-memory root, never on
      // the host. That root is root's (0755): write there as root, whoever runs the tests.
      t.proc.creds.euid = 0;
      const w = open('../sentinel', c.O_CREAT | c.O_WRONLY | c.O_TRUNC);
      expect(w).toBeGreaterThanOrEqual(0);
      t.write(w, 'overwritten?');
      expect(readAll('/sentinel')).toBe('overwritten?');
      expect(t.call('chdir', t.str('..'))).toBe(0);
      expect(getcwd()).toBe('/');
      expect(readAll('sentinel')).toBe('overwritten?');
      expect(mkdir('/work/../sibling')).toBe(0);

      // Listing the parent of /work shows the guest root, not the host directory around the mount.
      const parent = open('/work/..', c.O_RDONLY | c.O_DIRECTORY);
      const buf = t.buf(8192);
      const names = t.decodeDirents(buf, t.call('getdents64', parent, buf, 8192)).map((e) => e.name);
      expect(names).toContain('work');
      expect(names).toContain('proc');
      expect(names).not.toContain(path.basename(t.root));

      expect(fs.readFileSync(sentinel, 'utf8')).toBe(SECRET);
      expect(snapshot(t.base, t.root)).toEqual(before);
    });
  });
});
