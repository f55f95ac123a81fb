// Emulated ownership and permissions, through the syscall layer of a
// headless kernel on both arches: chown, fchown, fchownat and lchown (kept in
// the emulated metadata, never applied to the host), the host-user mapping
// of HostFs, the DAC checks of vfs/permission.ts for a non-root guest
// (open, create, remove, rename, search, chmod, utimensat, access), and
// O_TMPFILE on tmpfs. Expectations follow chown(2), open(2), path_resolution(7).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostFs } from '../src/kernel/vfs/hostfs.ts';
import { ARCH_NAMES, headless, type DecodedStat, type Headless } from './helpers/headless.ts';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const R_OK = 4;
const W_OK = 2;
const X_OK = 1;
/** (uid_t)-1: leave the id as it is. */
const KEEP = 0xffff_ffff;
/** Ids of nobody on the host: files given to them are "someone else's". */
const OTHER = 4242;
const ME = 12345;
const MY_GROUP = 12345;
const EXTRA_GROUP = 777;
const UTIME_NOW = 0x3fff_ffff;
const UTIME_OMIT = 0x3fff_fffe;

type ErrnoName = Parameters<Headless['errno']>[0];

describe.each(ARCH_NAMES)('ownership and permissions on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { uid: 0, gid: 0 });
  });
  afterEach(() => t.cleanup());

  const E = (name: ErrnoName) => t.errno(name);
  const x86 = arch === 'x86_64';
  const AT = () => t.c.AT_FDCWD;
  const st = (p: string, flags = 0): DecodedStat => {
    const r = t.stat(p, flags);
    if (typeof r === 'number') throw new Error(`stat ${p} gave ${r}`);
    return r;
  };
  const chown = (p: string, uid: number, gid: number, flags = 0) => t.call('fchownat', AT(), t.str(p), uid, gid, flags);
  const chmod = (p: string, mode: number) => t.call('fchmodat', AT(), t.str(p), mode);
  const mkdir = (p: string, mode = 0o755) => t.call('mkdirat', AT(), t.str(p), mode);
  const touch = (p: string, mode = 0o644) => {
    const fd = t.open(p, t.c.O_CREAT | t.c.O_WRONLY, mode);
    if (fd < 0) throw new Error(`create ${p} gave ${fd}`);
    t.call('close', fd);
  };
  /** Drop root: become ME, in MY_GROUP and EXTRA_GROUP, through the set*id calls. */
  const becomeUser = () => {
    const groups = t.bytes(new Uint8Array(new Uint32Array([MY_GROUP, EXTRA_GROUP]).buffer));
    expect(t.call('setgroups', 2, groups)).toBe(0);
    expect(t.call('setresgid', MY_GROUP, MY_GROUP, MY_GROUP)).toBe(0);
    expect(t.call('setresuid', ME, ME, ME)).toBe(0);
  };

  describe('chown, fchown, fchownat, lchown', () => {
    it('record the owner in the emulated metadata; the host file keeps its owner', () => {
      const hostFile = t.writeHost('f', 'data');
      const before = fs.statSync(hostFile);
      expect(chown('f', 123, 456)).toBe(0);
      expect(st('f')).toMatchObject({ uid: 123, gid: 456 });
      const after = fs.statSync(hostFile);
      expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
      if (x86) {
        expect(t.call('chown', t.str('f'), 7, 8)).toBe(0);
        expect(st('f')).toMatchObject({ uid: 7, gid: 8 });
      }
    });

    it('(uid_t)-1 leaves an id unchanged; hard links share the owner', () => {
      t.writeHost('f');
      fs.linkSync(t.hostPath('f'), t.hostPath('g'));
      expect(chown('f', 10, 20)).toBe(0);
      expect(chown('f', KEEP, 30)).toBe(0);
      expect(st('f')).toMatchObject({ uid: 10, gid: 30 });
      expect(chown('g', 11, KEEP)).toBe(0);
      expect(st('f')).toMatchObject({ uid: 11, gid: 30 });
      expect(st('g')).toMatchObject({ uid: 11, gid: 30 });
    });

    it('fchown changes the open file; an O_PATH fd or a bad fd is EBADF', () => {
      for (const where of ['/work/f', '/tmp/f']) {
        touch(where);
        const fd = t.open(where, t.c.O_RDONLY);
        expect(t.call('fchown', fd, 5, 6)).toBe(0);
        expect(st(where)).toMatchObject({ uid: 5, gid: 6 });
        const pfd = t.open(where, t.c.O_PATH);
        expect(t.call('fchown', pfd, 1, 1)).toBe(E('EBADF'));
      }
      expect(t.call('fchown', 999, 1, 1)).toBe(E('EBADF'));
    });

    it('AT_SYMLINK_NOFOLLOW (and lchown) change the link itself; without it the target', () => {
      touch('target');
      expect(t.call('symlinkat', t.str('target'), AT(), t.str('link'))).toBe(0);
      expect(chown('link', 50, 51, t.c.AT_SYMLINK_NOFOLLOW)).toBe(0);
      expect(st('link', t.c.AT_SYMLINK_NOFOLLOW)).toMatchObject({ uid: 50, gid: 51 });
      expect(st('target')).toMatchObject({ uid: 0, gid: 0 });
      expect(chown('link', 60, 61)).toBe(0);
      expect(st('target')).toMatchObject({ uid: 60, gid: 61 });
      expect(st('link', t.c.AT_SYMLINK_NOFOLLOW)).toMatchObject({ uid: 50, gid: 51 });
      if (x86) {
        expect(t.call('lchown', t.str('link'), 70, 71)).toBe(0);
        expect(st('link', t.c.AT_SYMLINK_NOFOLLOW)).toMatchObject({ uid: 70, gid: 71 });
        expect(st('target')).toMatchObject({ uid: 60, gid: 61 });
      }
    });

    it('AT_EMPTY_PATH changes the dirfd itself', () => {
      touch('/tmp/e');
      const fd = t.open('/tmp/e', t.c.O_RDONLY);
      expect(t.call('fchownat', fd, t.str(''), 9, 9, t.c.AT_EMPTY_PATH)).toBe(0);
      expect(st('/tmp/e')).toMatchObject({ uid: 9, gid: 9 });
      expect(t.call('fchownat', fd, t.str(''), 9, 9, 0)).toBe(E('ENOENT'));
    });

    it.each(['/work', '/tmp'])('in %s: clears S_ISUID, and S_ISGID when group-executable; a directory keeps both', (where) => {
      touch(`${where}/s`);
      expect(chmod(`${where}/s`, 0o6755)).toBe(0);
      expect(chown(`${where}/s`, 1, 1)).toBe(0);
      expect(st(`${where}/s`).mode & 0o7777).toBe(0o0755);
      expect(chmod(`${where}/s`, 0o6745)).toBe(0); // S_ISGID without group-exec stays (mandatory-locking marker)
      expect(chown(`${where}/s`, KEEP, KEEP)).toBe(0);
      expect(st(`${where}/s`).mode & 0o7777).toBe(0o2745);
      expect(mkdir(`${where}/d`)).toBe(0);
      expect(chmod(`${where}/d`, 0o2755)).toBe(0);
      expect(chown(`${where}/d`, 2, 2)).toBe(0);
      expect(st(`${where}/d`).mode & 0o7777).toBe(0o2755);
    });

    it('EPERM: only root changes the owner; the owner may change the group to one of its own groups', () => {
      touch('/tmp/mine');
      touch('/tmp/theirs');
      expect(chown('/tmp/mine', ME, MY_GROUP)).toBe(0);
      expect(chown('/tmp/theirs', OTHER, OTHER)).toBe(0);
      becomeUser();
      expect(chown('/tmp/mine', OTHER, KEEP)).toBe(E('EPERM'));
      expect(chown('/tmp/mine', ME, KEEP)).toBe(0); // "changing" it to itself is fine for the owner
      expect(chown('/tmp/mine', KEEP, EXTRA_GROUP)).toBe(0);
      expect(st('/tmp/mine')).toMatchObject({ uid: ME, gid: EXTRA_GROUP });
      expect(chown('/tmp/mine', KEEP, OTHER)).toBe(E('EPERM'));
      expect(chown('/tmp/theirs', KEEP, MY_GROUP)).toBe(E('EPERM'));
      expect(chown('/tmp/theirs', OTHER, KEEP)).toBe(E('EPERM'));
      expect(t.call('fchown', t.open('/tmp/theirs', t.c.O_RDONLY), KEEP, MY_GROUP)).toBe(E('EPERM'));
    });

    it('S_ISGID without group-exec goes when the caller is not in the file group', () => {
      touch('/tmp/g', 0o644);
      expect(chown('/tmp/g', ME, OTHER)).toBe(0);
      expect(chmod('/tmp/g', 0o2644)).toBe(0);
      becomeUser();
      expect(chown('/tmp/g', KEEP, MY_GROUP)).toBe(0);
      expect(st('/tmp/g').mode & 0o7777).toBe(0o0644);
    });

    it('EROFS on a read-only mount, before EPERM', () => {
      const ro = headless(arch, { uid: ME, gid: MY_GROUP, readOnly: true });
      try {
        ro.writeHost('f');
        expect(ro.call('fchownat', ro.c.AT_FDCWD, ro.str('f'), 0, 0, 0)).toBe(ro.errno('EROFS'));
        expect(ro.call('fchown', ro.open('f', ro.c.O_RDONLY), 0, 0)).toBe(ro.errno('EROFS'));
      } finally {
        ro.cleanup();
      }
    });

    it('ENOENT, ENOTDIR, ELOOP, EINVAL and EFAULT', () => {
      t.writeHost('file');
      fs.symlinkSync('loop', t.hostPath('loop'));
      expect(chown('missing', 1, 1)).toBe(E('ENOENT'));
      expect(chown('file/x', 1, 1)).toBe(E('ENOTDIR'));
      expect(chown('loop', 1, 1)).toBe(E('ELOOP'));
      expect(chown('file', 1, 1, 0x1)).toBe(E('EINVAL'));
      expect(t.call('fchownat', AT(), t.unmapped, 1, 1, 0)).toBe(E('EFAULT'));
      expect(t.call('fchownat', 999, t.str('x'), 1, 1, 0)).toBe(E('EBADF'));
      if (x86) {
        expect(t.call('chown', t.unmapped, 1, 1)).toBe(E('EFAULT'));
        expect(t.call('lchown', t.unmapped, 1, 1)).toBe(E('EFAULT'));
        expect(t.call('lchown', t.str('missing'), 1, 1)).toBe(E('ENOENT'));
      } else {
        expect(t.has('chown')).toBe(false);
        expect(t.has('lchown')).toBe(false);
      }
    });
  });

  describe('what a non-root guest may do', () => {
    it('files it creates in /tmp and on a host mount belong to its euid and egid; a setgid directory gives its group', () => {
      expect(chown('/work', ME, MY_GROUP)).toBe(0); // the mount's root (0700 on the host) is given to the user
      becomeUser();
      touch('/tmp/new');
      expect(st('/tmp/new')).toMatchObject({ uid: ME, gid: MY_GROUP });
      expect(mkdir('/tmp/sg', 0o775)).toBe(0);
      expect(t.call('fchownat', AT(), t.str('/tmp/sg'), KEEP, EXTRA_GROUP, 0)).toBe(0);
      expect(chmod('/tmp/sg', 0o2775)).toBe(0);
      touch('/tmp/sg/f');
      expect(st('/tmp/sg/f')).toMatchObject({ uid: ME, gid: EXTRA_GROUP });
      expect(mkdir('/tmp/sg/d')).toBe(0);
      expect(st('/tmp/sg/d').mode & S_ISGID).toBe(S_ISGID);
      touch('/work/h');
      expect(st('/work/h')).toMatchObject({ uid: ME, gid: MY_GROUP });
    });

    it('open checks the read and write bits against the emulated owner; a file it creates is not held to its mode', () => {
      for (const [name, mode] of [['ro', 0o444], ['wo', 0o222], ['none', 0o000], ['theirs', 0o640]] as const) {
        touch(`/tmp/${name}`, mode);
        expect(chmod(`/tmp/${name}`, mode)).toBe(0);
      }
      expect(chown('/tmp/theirs', OTHER, MY_GROUP)).toBe(0);
      expect(chown('/tmp/ro', ME, KEEP)).toBe(0);
      expect(chown('/tmp/wo', ME, KEEP)).toBe(0);
      expect(chown('/tmp/none', ME, KEEP)).toBe(0);
      becomeUser();
      const c = t.c;
      expect(t.open('/tmp/ro', c.O_RDONLY)).toBeGreaterThanOrEqual(0);
      expect(t.open('/tmp/ro', c.O_WRONLY)).toBe(E('EACCES'));
      expect(t.open('/tmp/ro', c.O_RDONLY | c.O_TRUNC)).toBe(E('EACCES'));
      expect(t.open('/tmp/wo', c.O_RDONLY)).toBe(E('EACCES'));
      expect(t.open('/tmp/wo', c.O_WRONLY)).toBeGreaterThanOrEqual(0);
      expect(t.open('/tmp/none', c.O_RDONLY)).toBe(E('EACCES'));
      expect(t.open('/tmp/none', c.O_PATH)).toBeGreaterThanOrEqual(0); // O_PATH opens nothing
      // Group bits for a member (r--), never the others' bits.
      expect(t.open('/tmp/theirs', c.O_RDONLY)).toBeGreaterThanOrEqual(0);
      expect(t.open('/tmp/theirs', c.O_RDWR)).toBe(E('EACCES'));
      expect(t.open('/tmp/made', c.O_CREAT | c.O_RDWR, 0o444)).toBeGreaterThanOrEqual(0);
      expect(t.open('/tmp/made', c.O_RDWR)).toBe(E('EACCES'));
      expect(t.call('faccessat', AT(), t.str('/tmp/ro'), W_OK)).toBe(E('EACCES'));
      expect(t.call('faccessat', AT(), t.str('/tmp/theirs'), R_OK)).toBe(0);
    });

    it('creating, removing and renaming need write and search permission on the directory', () => {
      expect(mkdir('/tmp/locked', 0o555)).toBe(0);
      touch('/tmp/locked/f');
      expect(chmod('/tmp/locked', 0o555)).toBe(0);
      expect(mkdir('/tmp/open', 0o777)).toBe(0);
      expect(chmod('/tmp/open', 0o777)).toBe(0);
      becomeUser();
      const c = t.c;
      expect(t.open('/tmp/locked/new', c.O_CREAT | c.O_WRONLY)).toBe(E('EACCES'));
      expect(t.open('/tmp/locked/f', c.O_CREAT | c.O_RDONLY)).toBeGreaterThanOrEqual(0); // exists: no create
      expect(mkdir('/tmp/locked/d')).toBe(E('EACCES'));
      expect(mkdir('/tmp/locked/f')).toBe(E('EEXIST')); // an existing name first
      expect(t.call('symlinkat', t.str('x'), AT(), t.str('/tmp/locked/l'))).toBe(E('EACCES'));
      expect(t.call('unlinkat', AT(), t.str('/tmp/locked/f'), 0)).toBe(E('EACCES'));
      expect(t.call('renameat', AT(), t.str('/tmp/locked/f'), AT(), t.str('/tmp/open/f'))).toBe(E('EACCES'));
      touch('/tmp/open/mine');
      expect(t.call('renameat', AT(), t.str('/tmp/open/mine'), AT(), t.str('/tmp/locked/mine'))).toBe(E('EACCES'));
      expect(t.call('linkat', AT(), t.str('/tmp/open/mine'), AT(), t.str('/tmp/locked/hard'), 0)).toBe(E('EACCES'));
      expect(t.call('renameat', AT(), t.str('/tmp/open/mine'), AT(), t.str('/tmp/open/moved'))).toBe(0);
      expect(t.call('unlinkat', AT(), t.str('/tmp/open/moved'), 0)).toBe(0);
    });

    it('in a sticky directory only the owner of the file or of the directory removes it (EPERM)', () => {
      touch('/tmp/root-file');
      becomeUser();
      expect(st('/tmp').mode & 0o7777).toBe(0o1777);
      expect(t.call('unlinkat', AT(), t.str('/tmp/root-file'), 0)).toBe(E('EPERM'));
      expect(t.call('renameat', AT(), t.str('/tmp/root-file'), AT(), t.str('/tmp/x'))).toBe(E('EPERM'));
      touch('/tmp/mine');
      expect(t.call('unlinkat', AT(), t.str('/tmp/mine'), 0)).toBe(0);
    });

    it('every directory on the path needs search permission; chdir too', () => {
      expect(mkdir('/tmp/d', 0o700)).toBe(0);
      touch('/tmp/d/f');
      expect(chmod('/tmp/d/f', 0o666)).toBe(0);
      expect(chown('/tmp/d', ME, MY_GROUP)).toBe(0);
      expect(chmod('/tmp/d', 0o600)).toBe(0); // the owner keeps r and w, loses x
      becomeUser();
      expect(t.stat('/tmp/d/f')).toBe(E('EACCES'));
      expect(t.open('/tmp/d/f', t.c.O_RDONLY)).toBe(E('EACCES'));
      expect(t.open('/tmp/d/new', t.c.O_CREAT | t.c.O_WRONLY)).toBe(E('EACCES'));
      expect(t.call('unlinkat', AT(), t.str('/tmp/d/f'), 0)).toBe(E('EACCES'));
      expect(t.call('faccessat', AT(), t.str('/tmp/d/f'), R_OK)).toBe(E('EACCES'));
      expect(t.call('chdir', t.str('/tmp/d'))).toBe(E('EACCES'));
      expect(t.stat('/tmp/d')).not.toBeTypeOf('number'); // the directory itself is still visible
      expect(chmod('/tmp/d', 0o700)).toBe(0);
      expect(t.stat('/tmp/d/f')).not.toBeTypeOf('number');
      expect(t.call('chdir', t.str('/tmp/d'))).toBe(0);
    });

    it('chmod: EPERM for a file of someone else; S_ISGID dropped outside the file group', () => {
      touch('/tmp/theirs');
      expect(chown('/tmp/theirs', OTHER, OTHER)).toBe(0);
      touch('/tmp/mine');
      expect(chown('/tmp/mine', ME, OTHER)).toBe(0);
      becomeUser();
      expect(chmod('/tmp/theirs', 0o777)).toBe(E('EPERM'));
      expect(t.call('fchmod', t.open('/tmp/theirs', t.c.O_RDONLY), 0o777)).toBe(E('EPERM'));
      expect(chmod('/tmp/mine', 0o2755)).toBe(0);
      expect(st('/tmp/mine').mode & 0o7777).toBe(0o755);
      expect(chmod('/tmp/mine', S_ISUID | 0o700)).toBe(0);
      expect(st('/tmp/mine').mode & 0o7777).toBe(0o4700);
    });

    it('utimensat: now needs ownership or write permission (EACCES); explicit times need ownership (EPERM)', () => {
      touch('/tmp/writable');
      expect(chmod('/tmp/writable', 0o666)).toBe(0);
      touch('/tmp/readonly');
      becomeUser();
      const times = (a: number, m: number) => {
        const b = t.buf(32);
        t.mem.write(b, new Uint8Array(new BigInt64Array([0n, BigInt(a), 0n, BigInt(m)]).buffer));
        return b;
      };
      const utimens = (p: string, tp: number) => t.call('utimensat', AT(), t.str(p), tp, 0);
      expect(utimens('/tmp/writable', 0)).toBe(0);
      expect(utimens('/tmp/writable', times(UTIME_NOW, UTIME_NOW))).toBe(0);
      expect(utimens('/tmp/writable', times(5, 5))).toBe(E('EPERM'));
      expect(utimens('/tmp/readonly', 0)).toBe(E('EACCES'));
      expect(utimens('/tmp/readonly', times(UTIME_NOW, UTIME_OMIT))).toBe(0); // not checked (vfs_utimes)
      touch('/tmp/mine');
      expect(utimens('/tmp/mine', times(5, 5))).toBe(0);
    });

    it('root reads and writes anything, but executes only with some x bit', () => {
      touch('/tmp/locked', 0o000);
      expect(chmod('/tmp/locked', 0o000)).toBe(0);
      expect(chown('/tmp/locked', OTHER, OTHER)).toBe(0);
      expect(t.open('/tmp/locked', t.c.O_RDWR)).toBeGreaterThanOrEqual(0);
      expect(t.call('faccessat', AT(), t.str('/tmp/locked'), R_OK | W_OK)).toBe(0);
      expect(t.call('faccessat', AT(), t.str('/tmp/locked'), X_OK)).toBe(E('EACCES'));
      expect(chmod('/tmp/locked', 0o001)).toBe(0);
      expect(t.call('faccessat', AT(), t.str('/tmp/locked'), X_OK)).toBe(0);
    });
  });

  describe('O_TMPFILE', () => {
    const O_TMPFILE = () => t.c.O_TMPFILE;

    it('makes an unnamed file on tmpfs that linkat(AT_EMPTY_PATH) can name', () => {
      const fd = t.open('/tmp', O_TMPFILE() | t.c.O_RDWR, 0o640);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(t.write(fd, 'hidden')).toBe(6);
      const sb = t.buf(t.k.arch.statSize);
      expect(t.call('fstat', fd, sb)).toBe(0);
      const s = t.decodeStat(sb);
      expect(s.mode).toBe(S_IFREG | 0o640);
      expect(s.nlink).toBe(0);
      expect(s.size).toBe(6);
      const link = t.buf(256);
      const n = t.call('readlinkat', AT(), t.str(`/proc/self/fd/${fd}`), link, 256);
      expect(t.text(link, n)).toBe(`/tmp/#${s.ino} (deleted)`);
      expect(t.call('linkat', fd, t.str(''), AT(), t.str('/tmp/named'), t.c.AT_EMPTY_PATH)).toBe(0);
      expect(st('/tmp/named')).toMatchObject({ nlink: 1, size: 6, ino: s.ino });
      const rfd = t.open('/tmp/named', t.c.O_RDONLY);
      expect(t.readFd(rfd)).toBe('hidden');
    });

    it('linkat through /proc/self/fd/N with AT_SYMLINK_FOLLOW names it too; O_EXCL forbids a name', () => {
      const fd = t.open('/tmp', O_TMPFILE() | t.c.O_WRONLY, 0o600);
      expect(t.call('linkat', AT(), t.str(`/proc/self/fd/${fd}`), AT(), t.str('/tmp/via-proc'), t.c.AT_SYMLINK_FOLLOW)).toBe(0);
      expect(st('/tmp/via-proc').mode & S_IFMT).toBe(S_IFREG);
      const excl = t.open('/tmp', O_TMPFILE() | t.c.O_WRONLY | t.c.O_EXCL, 0o600);
      expect(excl).toBeGreaterThanOrEqual(0);
      expect(t.call('linkat', excl, t.str(''), AT(), t.str('/tmp/never'), t.c.AT_EMPTY_PATH)).toBe(E('ENOENT'));
    });

    it('the file belongs to the caller and is not listed', () => {
      becomeUser();
      const fd = t.open('/tmp', O_TMPFILE() | t.c.O_RDWR, 0o600);
      const sb = t.buf(t.k.arch.statSize);
      expect(t.call('fstat', fd, sb)).toBe(0);
      expect(t.decodeStat(sb)).toMatchObject({ uid: ME, gid: MY_GROUP });
      const dfd = t.open('/tmp', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const d = t.buf(4096);
      const len = t.call('getdents64', dfd, d, 4096);
      expect(t.decodeDirents(d, len).map((e) => e.name).sort()).toEqual(['.', '..']);
    });

    it('EOPNOTSUPP on a host mount; ENOTDIR, ENOENT, EINVAL, EACCES and EFAULT', () => {
      t.writeHost('file');
      const c = t.c;
      expect(t.open('/work', O_TMPFILE() | c.O_RDWR)).toBe(E('EOPNOTSUPP'));
      expect(t.open('/work/file', O_TMPFILE() | c.O_RDWR)).toBe(E('ENOTDIR'));
      expect(t.open('/tmp/missing', O_TMPFILE() | c.O_RDWR)).toBe(E('ENOENT'));
      expect(t.open('/tmp', O_TMPFILE() | c.O_RDONLY)).toBe(E('EINVAL'));
      expect(t.call('openat', AT(), t.unmapped, O_TMPFILE() | c.O_RDWR, 0o600)).toBe(E('EFAULT'));
      expect(mkdir('/tmp/ro', 0o555)).toBe(0);
      expect(chmod('/tmp/ro', 0o555)).toBe(0);
      becomeUser();
      expect(t.open('/tmp/ro', O_TMPFILE() | c.O_RDWR)).toBe(E('EACCES'));
    });
  });
});

describe('HostFs: the host user seen as the guest, as in a user namespace', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-owner-'));
    fs.writeFileSync(path.join(dir, 'f'), 'x');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const hostOwner = () => fs.statSync(path.join(dir, 'f'));

  it("the host user's files show as owned by the guest's uid and gid", () => {
    const h = hostOwner();
    const hfs = new HostFs({ hostRoot: dir, dev: 9, hostUid: h.uid, hostGid: h.gid, guestUid: 0, guestGid: 0 });
    expect(hfs.stat(hfs.lookup(hfs.root(), 'f'))).toMatchObject({ uid: 0, gid: 0 });
  });

  it("a file owned by the guest's uid on the host (someone else there) shows as the overflow id", () => {
    const h = hostOwner();
    const hfs = new HostFs({ hostRoot: dir, dev: 9, hostUid: h.uid + 1, hostGid: h.gid + 1, guestUid: h.uid, guestGid: h.gid });
    expect(hfs.stat(hfs.lookup(hfs.root(), 'f'))).toMatchObject({ uid: 65534, gid: 65534 });
  });

  it('without guest ids nothing is mapped; chown never reaches the host', () => {
    const h = hostOwner();
    const hfs = new HostFs({ hostRoot: dir, dev: 9 });
    const f = hfs.lookup(hfs.root(), 'f');
    expect(hfs.stat(f)).toMatchObject({ uid: h.uid, gid: h.gid });
    hfs.chown(f, 1, 2);
    expect(hfs.stat(f)).toMatchObject({ uid: 1, gid: 2 });
    expect(hostOwner()).toMatchObject({ uid: h.uid, gid: h.gid });
    // A new HostFs (a new run) sees the host's owner again.
    const again = new HostFs({ hostRoot: dir, dev: 9 });
    expect(again.stat(again.lookup(again.root(), 'f'))).toMatchObject({ uid: h.uid, gid: h.gid });
  });

  it('an inode removed and its number reused starts with no emulated owner', () => {
    const hfs = new HostFs({ hostRoot: dir, dev: 9 });
    hfs.chown(hfs.lookup(hfs.root(), 'f'), 1, 2);
    hfs.unlink(hfs.root(), 'f');
    const g = hfs.create(hfs.root(), 'g', 0o644);
    const h = fs.statSync(path.join(dir, 'g'));
    expect(hfs.stat(g)).toMatchObject({ uid: h.uid, gid: h.gid });
  });

  it('symlinks have their own emulated owner', () => {
    fs.symlinkSync('f', path.join(dir, 'l'));
    const hfs = new HostFs({ hostRoot: dir, dev: 9 });
    const l = hfs.lookup(hfs.root(), 'l');
    hfs.chown(l, 3, 4);
    expect(hfs.stat(l)).toMatchObject({ uid: 3, gid: 4, mode: expect.any(Number) });
    expect(hfs.stat(l).mode & S_IFMT).toBe(S_IFLNK);
    expect(hfs.stat(hfs.lookup(hfs.root(), 'f')).uid).toBe(fs.statSync(path.join(dir, 'f')).uid);
  });
});
