// mknodat/mknod and named pipes on a headless kernel, on both arches: the
// node types and errnos of mknod(2), FIFOs on tmpfs and on host mounts (kept
// in memory there, invisible to the host), and the open semantics of
// fifo(7): a reader waits for a writer and a writer for a reader unless
// O_NONBLOCK (ENXIO for a writer with no reader), O_RDWR never waits. A
// second task is made with kernel.newThread; its blocked call returns -11
// and is retried by calling it again, as the scheduler would.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../src/kernel/task.ts';
import { DT_FIFO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../src/kernel/vfs/types.ts';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

const POLLIN = 0x1;
const POLLHUP = 0x10;
const BLOCKED = -11; // what invokeAs reports for a call that would block
const USER = 1000;

/** makedev(major, minor) in the 32-bit encoding mknod takes and stat gives back. */
const makedev = (major: number, minor: number) => ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);

describe.each(ARCH_NAMES)('mknodat on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { uid: 0, gid: 0 });
    t.call('umask', 0o022);
  });
  afterEach(() => t.cleanup());

  const mknod = (p: string, mode: number, dev = 0) => t.call('mknodat', t.c.AT_FDCWD, t.str(p), mode, dev);
  const modeOf = (p: string) => {
    const st = t.stat(p, t.c.AT_SYMLINK_NOFOLLOW);
    if (typeof st === 'number') throw new Error(`stat ${p} gave ${st}`);
    return st.mode;
  };
  const rdevOf = (p: string) => {
    const buf = t.buf(256);
    expect(t.call('newfstatat', t.c.AT_FDCWD, t.str(p), buf, 0)).toBe(0);
    return Number(t.u64(buf + (arch === 'x86_64' ? 40 : 32)));
  };
  const names = (dir: string) => {
    const fd = t.open(dir, t.c.O_RDONLY | t.c.O_DIRECTORY);
    const buf = t.buf(8192);
    const n = t.call('getdents64', fd, buf, 8192);
    t.call('close', fd);
    return t.decodeDirents(buf, n).filter((d) => d.name !== '.' && d.name !== '..');
  };

  it('makes a FIFO on tmpfs with the umask applied and the caller as owner', () => {
    expect(mknod('/tmp/p', S_IFIFO | 0o666)).toBe(0);
    expect(modeOf('/tmp/p')).toBe(S_IFIFO | 0o644);
    expect(names('/tmp').find((d) => d.name === 'p')?.type).toBe(DT_FIFO);
    expect(mknod('/tmp/p', S_IFIFO | 0o600)).toBe(t.errno('EEXIST'));
  });

  it('makes a FIFO in a host directory in memory only: stat, readdir, rename, link and unlink see it, the host does not', () => {
    expect(t.call('mkdirat', t.c.AT_FDCWD, t.str('d'), 0o755)).toBe(0);
    expect(mknod('d/p', S_IFIFO | 0o640)).toBe(0);
    expect(modeOf('d/p')).toBe(S_IFIFO | 0o640);
    expect(t.existsHost('d/p')).toBe(false);
    expect(names('d')).toEqual([expect.objectContaining({ name: 'p', type: DT_FIFO })]);
    // The name is taken for every kind of creation.
    expect(mknod('d/p', S_IFIFO | 0o600)).toBe(t.errno('EEXIST'));
    expect(t.open('d/p', t.c.O_CREAT | t.c.O_EXCL | t.c.O_WRONLY)).toBe(t.errno('EEXIST'));
    expect(t.call('mkdirat', t.c.AT_FDCWD, t.str('d/p'), 0o755)).toBe(t.errno('EEXIST'));
    // The host sees an empty directory; rmdir must not.
    expect(t.call('unlinkat', t.c.AT_FDCWD, t.str('d'), t.c.AT_REMOVEDIR)).toBe(t.errno('ENOTEMPTY'));
    // A chmod is kept on the node.
    expect(t.call('fchmodat', t.c.AT_FDCWD, t.str('d/p'), 0o600)).toBe(0);
    expect(modeOf('d/p')).toBe(S_IFIFO | 0o600);
    // rename over a host file replaces it; the FIFO keeps its inode.
    t.writeHost('d/file', 'x');
    const ino = (t.stat('d/p') as { ino: bigint }).ino;
    expect(t.call('renameat', t.c.AT_FDCWD, t.str('d/p'), t.c.AT_FDCWD, t.str('d/file'))).toBe(0);
    expect(t.existsHost('d/file')).toBe(false);
    expect(t.stat('d/p')).toBe(t.errno('ENOENT'));
    expect((t.stat('d/file') as { ino: bigint }).ino).toBe(ino);
    // A hard link is a second name of one node.
    expect(t.call('linkat', t.c.AT_FDCWD, t.str('d/file'), t.c.AT_FDCWD, t.str('q'), 0)).toBe(0);
    expect((t.stat('q') as { nlink: number }).nlink).toBe(2);
    expect(t.call('unlinkat', t.c.AT_FDCWD, t.str('d/file'), 0)).toBe(0);
    expect((t.stat('q') as { nlink: number }).nlink).toBe(1);
    expect(names('d')).toEqual([]);
    expect(t.call('unlinkat', t.c.AT_FDCWD, t.str('d'), t.c.AT_REMOVEDIR)).toBe(0);
    expect(t.call('unlinkat', t.c.AT_FDCWD, t.str('q'), 0)).toBe(0);
    expect(t.stat('q')).toBe(t.errno('ENOENT'));
  });

  it('type 0 and S_IFREG make a regular file (on the host, for a host mount)', () => {
    expect(mknod('a', 0o666)).toBe(0);
    expect(mknod('b', S_IFREG | 0o600)).toBe(0);
    expect(modeOf('a')).toBe(S_IFREG | 0o644);
    expect(modeOf('b')).toBe(S_IFREG | 0o600);
    expect(t.existsHost('a') && t.existsHost('b')).toBe(true);
  });

  it('S_IFDIR is EPERM and a type that is none is EINVAL, before the path is looked at', () => {
    expect(mknod('/nonexistent/x', S_IFDIR | 0o755)).toBe(t.errno('EPERM'));
    expect(mknod('/nonexistent/x', S_IFLNK | 0o777)).toBe(t.errno('EINVAL'));
    expect(mknod('/nonexistent/x', 0o170000 | 0o644)).toBe(t.errno('EINVAL'));
    expect(mknod('/nonexistent/x', 0o030000 | 0o644)).toBe(t.errno('EINVAL'));
  });

  it('root makes device nodes that keep their rdev and open as ENXIO; socket nodes too', () => {
    expect(mknod('/tmp/null', S_IFCHR | 0o666, makedev(1, 3))).toBe(0);
    expect(modeOf('/tmp/null')).toBe(S_IFCHR | 0o644);
    expect(rdevOf('/tmp/null')).toBe(makedev(1, 3));
    expect(t.open('/tmp/null', t.c.O_RDONLY)).toBe(t.errno('ENXIO'));
    expect(mknod('blk', S_IFBLK | 0o600, makedev(8, 300))).toBe(0);
    expect(rdevOf('blk')).toBe(makedev(8, 300));
    expect(t.existsHost('blk')).toBe(false);
    expect(t.open('blk', t.c.O_RDWR)).toBe(t.errno('ENXIO'));
    expect(mknod('sock', S_IFSOCK | 0o755)).toBe(0);
    expect(modeOf('sock') & S_IFMT).toBe(S_IFSOCK);
    expect(t.open('sock', t.c.O_RDONLY)).toBe(t.errno('ENXIO'));
  });

  it('ENOENT, ENOTDIR, EFAULT and ENAMETOOLONG for bad paths', () => {
    expect(mknod('missing/p', S_IFIFO | 0o644)).toBe(t.errno('ENOENT'));
    expect(mknod('', S_IFIFO | 0o644)).toBe(t.errno('ENOENT'));
    t.writeHost('file', '');
    expect(mknod('file/p', S_IFIFO | 0o644)).toBe(t.errno('ENOTDIR'));
    expect(t.call('mknodat', t.c.AT_FDCWD, t.unmapped, S_IFIFO | 0o644, 0)).toBe(t.errno('EFAULT'));
    expect(mknod('x'.repeat(300), S_IFIFO | 0o644)).toBe(t.errno('ENAMETOOLONG'));
    // A dirfd that is not a directory.
    const fd = t.open('file', t.c.O_RDONLY);
    expect(t.call('mknodat', fd, t.str('p'), S_IFIFO | 0o644, 0)).toBe(t.errno('ENOTDIR'));
    expect(t.call('mknodat', 999, t.str('p'), S_IFIFO | 0o644, 0)).toBe(t.errno('EBADF'));
  });

  it('mknod (x86-64 only) is mknodat at the cwd', () => {
    if (!t.has('mknod')) {
      expect(arch).toBe('aarch64');
      return;
    }
    expect(t.call('mknod', t.str('p'), S_IFIFO | 0o600, 0)).toBe(0);
    expect(modeOf('p')).toBe(S_IFIFO | 0o600);
  });
});

describe.each(ARCH_NAMES)('mknodat permissions on %s', (arch) => {
  it('a user gets EPERM for devices, EACCES in a directory it may not write, and owns its FIFOs', () => {
    const t = headless(arch, { uid: USER, gid: USER });
    try {
      const mknod = (p: string, mode: number, dev = 0) => t.call('mknodat', t.c.AT_FDCWD, t.str(p), mode, dev);
      expect(mknod('/tmp/dev', S_IFCHR | 0o600, makedev(1, 3))).toBe(t.errno('EPERM'));
      expect(mknod('/tmp/dev', S_IFBLK | 0o600, makedev(8, 0))).toBe(t.errno('EPERM'));
      // The 0:0 character device is a whiteout, which needs no CAP_MKNOD.
      expect(mknod('/tmp/whiteout', S_IFCHR, 0)).toBe(0);
      expect(mknod('/tmp/p', S_IFIFO | 0o600)).toBe(0);
      const st = t.stat('/tmp/p');
      expect(st).toMatchObject({ uid: USER, gid: USER, mode: S_IFIFO | 0o600 });
      expect(t.call('mkdirat', t.c.AT_FDCWD, t.str('/tmp/ro'), 0o555)).toBe(0);
      expect(mknod('/tmp/ro/p', S_IFIFO | 0o600)).toBe(t.errno('EACCES'));
      // EEXIST comes before EACCES.
      expect(mknod('/tmp', S_IFIFO | 0o600)).toBe(t.errno('EEXIST'));
    } finally {
      t.cleanup();
    }
  });

  it('EROFS on a read-only mount, before EPERM and EACCES', () => {
    const t = headless(arch, { uid: USER, gid: USER, readOnly: true });
    try {
      expect(t.call('mknodat', t.c.AT_FDCWD, t.str('p'), S_IFIFO | 0o600, 0)).toBe(t.errno('EROFS'));
      expect(t.call('mknodat', t.c.AT_FDCWD, t.str('c'), S_IFCHR | 0o600, makedev(1, 3))).toBe(t.errno('EROFS'));
    } finally {
      t.cleanup();
    }
  });
});

describe.each(ARCH_NAMES)('FIFO open and I/O on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { uid: 0, gid: 0 });
  });
  afterEach(() => t.cleanup());

  const thread = (): Task => t.k.newThread(t.k.currentTask, 0, { sp: 0, tls: null });
  const openAs = (task: Task, p: string, flags: number) => t.k.invokeAs(task, 'openat', [t.c.AT_FDCWD, t.str(p), flags, 0]);
  const mkfifo = (p: string) => expect(t.call('mknodat', t.c.AT_FDCWD, t.str(p), S_IFIFO | 0o644, 0)).toBe(0);

  // Each case on tmpfs and on the host mount (where the FIFO is emulated).
  for (const where of ['/tmp/fifo', '/work/fifo']) {
    describe(where, () => {
      beforeEach(() => mkfifo(where));

      it('a reader waits for a writer; the writer opens at once and its data wait in the pipe', () => {
        const reader = thread();
        expect(openAs(reader, where, t.c.O_RDONLY)).toBe(BLOCKED);
        expect(openAs(reader, where, t.c.O_RDONLY)).toBe(BLOCKED); // retried: still no writer
        const w = t.open(where, t.c.O_WRONLY);
        expect(w).toBeGreaterThanOrEqual(0);
        expect(t.write(w, 'through')).toBe(7);
        expect(t.call('close', w)).toBe(0);
        // The writer came (and went): the reader's open completes, and the data are there.
        const r = openAs(reader, where, t.c.O_RDONLY);
        expect(r).toBeGreaterThanOrEqual(0);
        expect(t.readFd(r)).toBe('through');
        expect(t.readFd(r)).toBe(''); // no writers: end of file
        t.call('close', r);
      });

      it('a writer waits for a reader; a reader arriving meanwhile does not wait', () => {
        const writer = thread();
        expect(openAs(writer, where, t.c.O_WRONLY)).toBe(BLOCKED);
        const r = t.open(where, t.c.O_RDONLY);
        expect(r).toBeGreaterThanOrEqual(0);
        const w = openAs(writer, where, t.c.O_WRONLY);
        expect(w).toBeGreaterThanOrEqual(0);
        expect(t.write(w, 'hi')).toBe(2);
        expect(t.readFd(r)).toBe('hi');
        // A read of the empty pipe with a writer still there would wait.
        expect(t.call('read', r, t.buf(4), 4)).toBe(BLOCKED);
      });

      it('O_NONBLOCK: a reader opens at once (reading EOF), a writer without reader is ENXIO', () => {
        expect(t.open(where, t.c.O_WRONLY | t.c.O_NONBLOCK)).toBe(t.errno('ENXIO'));
        const r = t.open(where, t.c.O_RDONLY | t.c.O_NONBLOCK);
        expect(r).toBeGreaterThanOrEqual(0);
        expect(t.readFd(r)).toBe('');
        const w = t.open(where, t.c.O_WRONLY | t.c.O_NONBLOCK);
        expect(w).toBeGreaterThanOrEqual(0);
        expect(t.write(w, 'x')).toBe(1);
        expect(t.readFd(r)).toBe('x');
        expect(t.call('read', r, t.buf(4), 4)).toBe(t.errno('EAGAIN'));
      });

      it('O_RDWR never waits, and the pipe goes (with its data) when the last end closes', () => {
        const fd = t.open(where, t.c.O_RDWR);
        expect(fd).toBeGreaterThanOrEqual(0);
        expect(t.write(fd, 'abc')).toBe(3);
        expect(t.readFd(fd, 2)).toBe('ab');
        // fstat shows the FIFO's inode; the fd is a pipe for fcntl.
        const st = t.buf(256);
        expect(t.call('fstat', fd, st)).toBe(0);
        expect(t.decodeStat(st).mode).toBe(S_IFIFO | 0o644);
        expect(t.call('fcntl', fd, t.c.F_GETPIPE_SZ, 0)).toBe(65536);
        expect(t.call('lseek', fd, 0, 0)).toBe(t.errno('ESPIPE'));
        t.call('close', fd);
        const again = t.open(where, t.c.O_RDWR | t.c.O_NONBLOCK);
        expect(t.call('read', again, t.buf(4), 4)).toBe(t.errno('EAGAIN'));
      });

      it('one writer releases every waiting reader; a reader coming after it closed waits again', () => {
        const [a, b, late] = [thread(), thread(), thread()];
        expect(openAs(a, where, t.c.O_RDONLY)).toBe(BLOCKED);
        expect(openAs(b, where, t.c.O_RDONLY)).toBe(BLOCKED);
        const w = t.open(where, t.c.O_WRONLY);
        t.call('close', w);
        expect(openAs(a, where, t.c.O_RDONLY)).toBeGreaterThanOrEqual(0);
        expect(openAs(b, where, t.c.O_RDONLY)).toBeGreaterThanOrEqual(0);
        expect(openAs(late, where, t.c.O_RDONLY)).toBe(BLOCKED);
      });
    });
  }

  it('a non-blocking reader sees no POLLHUP until a writer has come and gone', () => {
    mkfifo('/tmp/f');
    const r = t.open('/tmp/f', t.c.O_RDONLY | t.c.O_NONBLOCK);
    const pollfd = t.buf(8);
    const zero = t.buf(16); // a timespec of 0: ppoll returns at once
    const revents = () => {
      t.mem.writeU32(pollfd, r);
      t.mem.writeU32(pollfd + 4, POLLIN);
      const n = t.call('ppoll', pollfd, 1, zero, 0, 8);
      expect(n).toBeGreaterThanOrEqual(0);
      return t.u16(pollfd + 6);
    };
    expect(revents()).toBe(0);
    const w = t.open('/tmp/f', t.c.O_WRONLY | t.c.O_NONBLOCK);
    expect(revents()).toBe(0);
    t.write(w, 'x');
    expect(revents()).toBe(POLLIN);
    t.call('close', w);
    expect(revents()).toBe(POLLIN | POLLHUP);
    expect(t.readFd(r)).toBe('x');
    expect(revents()).toBe(POLLHUP);
  });

  it('a waiting reader dropped by another call leaves no reader behind', () => {
    mkfifo('/tmp/f');
    const reader = thread();
    expect(openAs(reader, '/tmp/f', t.c.O_RDONLY)).toBe(BLOCKED);
    expect(t.k.invokeAs(reader, 'getpid', [])).toBeGreaterThan(0);
    expect(t.open('/tmp/f', t.c.O_WRONLY | t.c.O_NONBLOCK)).toBe(t.errno('ENXIO'));
  });

  it('checks the FIFO mode like any file', () => {
    expect(t.call('mknodat', t.c.AT_FDCWD, t.str('/tmp/f'), S_IFIFO | 0o600, 0)).toBe(0);
    expect(t.call('fchownat', t.c.AT_FDCWD, t.str('/tmp/f'), USER + 1, USER + 1, 0)).toBe(0);
    const setres = (name: string) => expect(t.call(name, USER, USER, USER)).toBe(0);
    setres('setresgid');
    setres('setresuid');
    expect(t.open('/tmp/f', t.c.O_RDONLY | t.c.O_NONBLOCK)).toBe(t.errno('EACCES'));
  });

  it('a FIFO the host made still opens as a host stream', () => {
    const hostFifo = path.join(t.root, 'hostfifo');
    try {
      execFileSync('mkfifo', [hostFifo]);
    } catch {
      return; // no mkfifo on this host
    }
    expect(fs.statSync(hostFifo).isFIFO()).toBe(true);
    const fd = t.open('hostfifo', t.c.O_RDWR);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(t.write(fd, 'host')).toBe(4);
    expect(t.readFd(fd)).toBe('host');
    // fstat goes to the host: no pipe of ours behind it.
    expect(t.call('fcntl', fd, t.c.F_GETPIPE_SZ, 0)).toBe(t.errno('EBADF'));
  });
});
