// The fd-based calls of syscalls/file.ts through the syscall layer of a
// headless kernel, on both arches: every result is what the guest would see
// (>= 0 or -errno). Expectations follow the man pages and, where they are
// vague, what Linux 6.x does natively.
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';
import { OpenFileDescription } from '../src/kernel/fdtable.ts';
import { HostStreamFile, withHostOffset } from '../src/kernel/stdio.ts';
import type { OpenFile } from '../src/kernel/vfs/types.ts';

const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;
const FD_CLOEXEC = 1;
const S_IFMT = 0o170000;
const S_IFIFO = 0o010000;

describe.each(ARCH_NAMES)('file syscalls on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch);
  });
  afterEach(() => t.cleanup());

  const E = (name: Parameters<Headless['errno']>[0]) => t.errno(name);
  /** fds that are never valid: closed, negative, huge. */
  const badFds = () => [42, -1, -100, 0x7fff_ffff, 1 << 20];
  const open = (p: string, flags = 0, mode = 0o644) => t.open(p, flags, mode);
  const file = (name: string, content = '') => {
    t.writeHost(name, content);
    return name;
  };
  const fileContent = (name: string) => t.readHost(name);
  const getfl = (fd: number) => t.call('fcntl', fd, t.c.F_GETFL, 0);
  const getfd = (fd: number) => t.call('fcntl', fd, t.c.F_GETFD, 0);
  const tell = (fd: number) => t.call('lseek', fd, 0, SEEK_CUR);

  // ---- read / write -------------------------------------------------------------

  describe('read and write', () => {
    it('writes, then reads back through another fd, advancing the offset', () => {
      const w = open('a.txt', t.c.O_CREAT | t.c.O_WRONLY | t.c.O_TRUNC);
      expect(w).toBe(3);
      expect(t.write(w, 'hello ')).toBe(6);
      expect(t.write(w, 'world')).toBe(5);
      expect(tell(w)).toBe(11);
      expect(fileContent('a.txt')).toBe('hello world');
      const r = open('a.txt');
      const buf = t.buf(4);
      expect(t.call('read', r, buf, 4)).toBe(4);
      expect(t.text(buf, 4)).toBe('hell');
      expect(tell(r)).toBe(4);
      expect(t.readFd(r)).toBe('o world');
    });

    it('gives a short count at EOF, then 0', () => {
      const fd = open(file('a.txt', 'hello'));
      const buf = t.buf(100);
      expect(t.call('read', fd, buf, 100)).toBe(5);
      expect(t.text(buf, 5)).toBe('hello');
      expect(t.call('read', fd, buf, 100)).toBe(0);
      expect(t.call('read', fd, buf, 100)).toBe(0);
    });

    it('reads and writes 0 bytes as 0 without touching the offset', () => {
      const fd = open(file('a.txt', 'hello'), t.c.O_RDWR);
      expect(t.call('read', fd, t.buf(1), 0)).toBe(0);
      expect(t.call('write', fd, t.buf(1), 0)).toBe(0);
      expect(tell(fd)).toBe(0);
      // A zero count never touches the buffer, so even NULL is fine.
      expect(t.call('read', fd, 0, 0)).toBe(0);
      expect(t.call('write', fd, 0, 0)).toBe(0);
    });

    it('O_APPEND writes at the end whatever the offset, and leaves the offset there', () => {
      const fd = open(file('log', 'abc'), t.c.O_WRONLY | t.c.O_APPEND);
      expect(t.call('lseek', fd, 0, SEEK_SET)).toBe(0);
      expect(t.write(fd, 'de')).toBe(2);
      expect(tell(fd)).toBe(5);
      // Another writer extends the file meanwhile: the next append still goes to the end.
      const other = open('log', t.c.O_WRONLY);
      t.call('lseek', other, 0, SEEK_END);
      t.write(other, 'XY');
      expect(t.write(fd, 'f')).toBe(1);
      expect(fileContent('log')).toBe('abcdeXYf');
    });

    it('shares the offset between dup()ed fds, not between separate opens', () => {
      const a = open(file('a.txt', '0123456789'));
      const b = t.call('dup', a);
      const c = open('a.txt');
      expect(t.readFd(a, 3)).toBe('012');
      expect(t.readFd(b, 3)).toBe('345');
      expect(tell(a)).toBe(6);
      expect(t.readFd(c, 2)).toBe('01');
      expect(t.call('lseek', b, 1, SEEK_SET)).toBe(1);
      expect(t.readFd(a, 2)).toBe('12');
      const d = t.call('fcntl', a, t.c.F_DUPFD, 0);
      expect(t.readFd(d, 2)).toBe('34');
      expect(tell(b)).toBe(5);
    });

    it('EBADF for closed, negative and huge fds', () => {
      const buf = t.buf(8);
      for (const fd of badFds()) {
        expect(t.call('read', fd, buf, 8)).toBe(E('EBADF'));
        expect(t.call('write', fd, buf, 8)).toBe(E('EBADF'));
      }
      const fd = open(file('a.txt', 'x'));
      t.call('close', fd);
      expect(t.call('read', fd, buf, 8)).toBe(E('EBADF'));
    });

    it('EBADF for the wrong access mode', () => {
      file('a.txt', 'data');
      const ro = open('a.txt', t.c.O_RDONLY);
      const wo = open('a.txt', t.c.O_WRONLY);
      const buf = t.bytes('xxxx');
      expect(t.call('write', ro, buf, 4)).toBe(E('EBADF'));
      expect(t.call('read', wo, buf, 4)).toBe(E('EBADF'));
      expect(fileContent('a.txt')).toBe('data');
      const [pr, pw] = t.pipe();
      expect(t.call('write', pr, buf, 1)).toBe(E('EBADF'));
      expect(t.call('read', pw, buf, 1)).toBe(E('EBADF'));
    });

    it('EBADF for an O_PATH fd, even on a directory', () => {
      const buf = t.buf(8);
      const fp = open(file('a.txt', 'data'), t.c.O_PATH);
      expect(fp).toBeGreaterThanOrEqual(0);
      expect(t.call('read', fp, buf, 4)).toBe(E('EBADF'));
      expect(t.call('write', fp, buf, 4)).toBe(E('EBADF'));
      const dp = open('.', t.c.O_PATH);
      expect(t.call('read', dp, buf, 4)).toBe(E('EBADF'));
    });

    it('EISDIR reading a directory', () => {
      fs.mkdirSync(t.hostPath('d'));
      const fd = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('read', fd, t.buf(16), 16)).toBe(E('EISDIR'));
      // The fd is checked before the buffer, as on Linux.
      expect(t.call('read', fd, 0, 16)).toBe(E('EISDIR'));
      const tmp = t.call('openat', t.c.AT_FDCWD, t.str('/tmp'), t.c.O_RDONLY, 0);
      expect(t.call('read', tmp, t.buf(16), 16)).toBe(E('EISDIR'));
    });

    it('EFAULT for NULL, unmapped and read-only buffers', () => {
      const fd = open(file('a.txt', 'hello'), t.c.O_RDWR);
      expect(t.call('read', fd, 0, 5)).toBe(E('EFAULT'));
      expect(t.call('read', fd, t.unmapped, 5)).toBe(E('EFAULT'));
      expect(t.call('write', fd, 0, 5)).toBe(E('EFAULT'));
      expect(t.call('write', fd, t.unmapped, 5)).toBe(E('EFAULT'));
      // A read-only page can be written from, not read into.
      const ro = 0x2000_0000;
      t.mem.map(ro, 4096, 1 /* PROT_READ */);
      expect(t.call('read', fd, ro, 5)).toBe(E('EFAULT'));
      expect(tell(fd)).toBe(0);
      expect(t.call('write', fd, ro, 3)).toBe(3);
      expect(fileContent('a.txt')).toBe('\0\0\0lo');
    });

    it('gives a short count when the buffer runs off the end of a mapping', () => {
      const fd = open(file('a.txt', 'hello world'), t.c.O_RDWR);
      const edge = t.tail(3);
      expect(t.call('read', fd, edge, 10)).toBe(3);
      expect(t.text(edge, 3)).toBe('hel');
      expect(tell(fd)).toBe(3);
      const src = t.tail(4, 'WXYZ');
      expect(t.call('write', fd, src, 100)).toBe(4);
      expect(fileContent('a.txt')).toBe('helWXYZorld');
      expect(tell(fd)).toBe(7);
    });

    it('works on the in-memory /tmp as on the host directory', () => {
      const fd = open('/tmp/m.txt', t.c.O_CREAT | t.c.O_RDWR);
      expect(t.write(fd, 'in memory')).toBe(9);
      expect(t.call('lseek', fd, 3, SEEK_SET)).toBe(3);
      expect(t.readFd(fd)).toBe('memory');
      expect(t.readFd(fd)).toBe('');
      expect(fs.existsSync(t.hostPath('m.txt'))).toBe(false);
    });

    it('pipes: data flows from the write end to the read end; EOF once writers are gone; EPIPE with no readers', () => {
      const [r, w] = t.pipe();
      expect(t.write(w, 'through the pipe')).toBe(16);
      expect(t.readFd(r, 7)).toBe('through');
      expect(t.readFd(r)).toBe(' the pipe');
      t.call('close', w);
      expect(t.call('read', r, t.buf(4), 4)).toBe(0);
      const [r2, w2] = t.pipe();
      t.call('close', r2);
      expect(t.write(w2, 'x')).toBe(E('EPIPE'));
    });
  });

  // ---- pread64 / pwrite64 -----------------------------------------------------------

  describe('pread64 and pwrite64', () => {
    it('read and write at an offset without moving the file offset', () => {
      const fd = open(file('a.txt', 'abcdefgh'), t.c.O_RDWR);
      t.call('lseek', fd, 2, SEEK_SET);
      const buf = t.buf(8);
      expect(t.call('pread64', fd, buf, 3, 4)).toBe(3);
      expect(t.text(buf, 3)).toBe('efg');
      expect(t.call('pwrite64', fd, t.bytes('XY'), 2, 6)).toBe(2);
      expect(fileContent('a.txt')).toBe('abcdefXY');
      expect(tell(fd)).toBe(2);
    });

    it('pread64 at or past EOF gives 0; a short count before it', () => {
      const fd = open(file('a.txt', 'abc'));
      const buf = t.buf(8);
      expect(t.call('pread64', fd, buf, 8, 1)).toBe(2);
      expect(t.call('pread64', fd, buf, 8, 3)).toBe(0);
      expect(t.call('pread64', fd, buf, 8, 1000)).toBe(0);
    });

    it('pwrite64 past EOF leaves a hole of zeros', () => {
      const fd = open(file('a.txt', 'abc'), t.c.O_WRONLY);
      expect(t.call('pwrite64', fd, t.bytes('Z'), 1, 6)).toBe(1);
      expect(fileContent('a.txt')).toBe('abc\0\0\0Z');
    });

    it('pwrite64 on an O_APPEND fd appends, as Linux does (see pwrite(2), BUGS)', () => {
      const fd = open(file('a.txt', 'abc'), t.c.O_WRONLY | t.c.O_APPEND);
      expect(t.call('pwrite64', fd, t.bytes('XY'), 2, 0)).toBe(2);
      expect(fileContent('a.txt')).toBe('abcXY');
      expect(tell(fd)).toBe(0);
    });

    it('EINVAL for a negative offset, checked before the fd', () => {
      const fd = open(file('a.txt', 'abc'), t.c.O_RDWR);
      const buf = t.buf(4);
      expect(t.call('pread64', fd, buf, 1, -1)).toBe(E('EINVAL'));
      expect(t.call('pwrite64', fd, buf, 1, -1)).toBe(E('EINVAL'));
      expect(t.call('pread64', 42, buf, 1, -1)).toBe(E('EINVAL'));
      const [r] = t.pipe();
      expect(t.call('pread64', r, buf, 1, -1)).toBe(E('EINVAL'));
    });

    it('ESPIPE on a pipe', () => {
      const [r, w] = t.pipe();
      const buf = t.bytes('abc');
      expect(t.call('pwrite64', w, buf, 3, 0)).toBe(E('ESPIPE'));
      t.write(w, 'abc');
      expect(t.call('pread64', r, buf, 3, 0)).toBe(E('ESPIPE'));
    });

    it('EISDIR on a directory, EBADF for bad fds and access modes, EFAULT for bad buffers', () => {
      const buf = t.buf(8);
      const dir = open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('pread64', dir, buf, 8, 0)).toBe(E('EISDIR'));
      for (const fd of badFds()) {
        expect(t.call('pread64', fd, buf, 8, 0)).toBe(E('EBADF'));
        expect(t.call('pwrite64', fd, buf, 8, 0)).toBe(E('EBADF'));
      }
      file('a.txt', 'abc');
      const ro = open('a.txt');
      const wo = open('a.txt', t.c.O_WRONLY);
      expect(t.call('pwrite64', ro, buf, 1, 0)).toBe(E('EBADF'));
      expect(t.call('pread64', wo, buf, 1, 0)).toBe(E('EBADF'));
      expect(t.call('pread64', ro, 0, 3, 0)).toBe(E('EFAULT'));
      expect(t.call('pwrite64', wo, t.unmapped, 3, 0)).toBe(E('EFAULT'));
      expect(t.call('pread64', ro, t.tail(2), 3, 0)).toBe(2);
    });
  });

  // ---- readv / writev / preadv / pwritev ------------------------------------------------

  describe('vectored I/O', () => {
    it('writev gathers and readv scatters, skipping empty iovecs', () => {
      const fd = open('v.txt', t.c.O_CREAT | t.c.O_RDWR);
      const iov = t.iovec([
        [t.bytes('one '), 4],
        [t.bytes('unused'), 0],
        [t.bytes('two '), 4],
        [t.bytes('three'), 5],
      ]);
      expect(t.call('writev', fd, iov, 4)).toBe(13);
      expect(fileContent('v.txt')).toBe('one two three');
      expect(tell(fd)).toBe(13);
      t.call('lseek', fd, 0, SEEK_SET);
      const a = t.buf(3);
      const b = t.buf(100);
      expect(t.call('readv', fd, t.iovec([[a, 3], [t.buf(1), 0], [b, 100]]), 3)).toBe(13);
      expect(t.text(a, 3)).toBe('one');
      expect(t.text(b, 10)).toBe(' two three');
      expect(t.call('readv', fd, t.iovec([[a, 3]]), 1)).toBe(0);
    });

    it('iovcnt 0 gives 0 (even with a NULL array); 1024 iovecs are allowed, 1025 and negative counts are EINVAL', () => {
      const fd = open('v.txt', t.c.O_CREAT | t.c.O_RDWR);
      expect(t.call('writev', fd, 0, 0)).toBe(0);
      expect(t.call('readv', fd, 0, 0)).toBe(0);
      const byte = t.bytes('x');
      const many = t.iovec(Array.from({ length: 1024 }, () => [byte, 1] as const));
      expect(t.call('writev', fd, many, 1024)).toBe(1024);
      const more = t.iovec(Array.from({ length: 1025 }, () => [byte, 1] as const));
      expect(t.call('writev', fd, more, 1025)).toBe(E('EINVAL'));
      expect(t.call('readv', fd, more, 1025)).toBe(E('EINVAL'));
      expect(t.call('readv', fd, more, -1)).toBe(E('EINVAL'));
      expect(t.call('pwritev', fd, more, 1025, 0)).toBe(E('EINVAL'));
      expect(t.call('preadv', fd, more, 1025, 0)).toBe(E('EINVAL'));
      expect(fs.statSync(t.hostPath('v.txt')).size).toBe(1024);
    });

    it('EINVAL for an iov_len that is negative as ssize_t', () => {
      const fd = open(file('v.txt', 'abc'), t.c.O_RDWR);
      const iov = t.iovec([[t.buf(4), 0]]);
      t.mem.writeU64(iov + 8, 1n << 63n);
      expect(t.call('readv', fd, iov, 1)).toBe(E('EINVAL'));
      expect(t.call('writev', fd, iov, 1)).toBe(E('EINVAL'));
    });

    it('EFAULT for a bad iovec array or a bad first buffer; a short count when a later buffer is bad', () => {
      const fd = open(file('v.txt', 'abcdefghij'), t.c.O_RDWR);
      expect(t.call('readv', fd, 0, 1)).toBe(E('EFAULT'));
      expect(t.call('writev', fd, t.unmapped, 2)).toBe(E('EFAULT'));
      expect(t.call('readv', fd, t.iovec([[t.unmapped, 4]]), 1)).toBe(E('EFAULT'));
      expect(t.call('writev', fd, t.iovec([[0, 4]]), 1)).toBe(E('EFAULT'));
      expect(tell(fd)).toBe(0);
      const a = t.buf(4);
      expect(t.call('readv', fd, t.iovec([[a, 4], [t.unmapped, 4]]), 2)).toBe(4);
      expect(t.text(a, 4)).toBe('abcd');
      expect(tell(fd)).toBe(4);
      // The buffer that runs off its mapping ends the transfer early.
      expect(t.call('readv', fd, t.iovec([[t.tail(2), 4], [a, 4]]), 2)).toBe(2);
      expect(tell(fd)).toBe(6);
      expect(t.call('writev', fd, t.iovec([[t.bytes('XY'), 2], [t.unmapped, 4]]), 2)).toBe(2);
      expect(fileContent('v.txt')).toBe('abcdefXYij');
    });

    it('preadv and pwritev use the offset given and leave the file offset alone', () => {
      const fd = open(file('v.txt', '0123456789'), t.c.O_RDWR);
      const a = t.buf(2);
      const b = t.buf(3);
      expect(t.call('preadv', fd, t.iovec([[a, 2], [b, 3]]), 2, 4)).toBe(5);
      expect(t.text(a, 2) + t.text(b, 3)).toBe('45678');
      expect(t.call('pwritev', fd, t.iovec([[t.bytes('ab'), 2], [t.bytes('c'), 1]]), 2, 1)).toBe(3);
      expect(fileContent('v.txt')).toBe('0abc456789');
      expect(tell(fd)).toBe(0);
      expect(t.call('preadv', fd, t.iovec([[a, 2]]), 1, 100)).toBe(0);
    });

    it('ESPIPE on pipes, EINVAL for negative offsets, EISDIR on directories, EBADF for bad fds and modes', () => {
      const [r, w] = t.pipe();
      const iov = t.iovec([[t.bytes('abc'), 3]]);
      expect(t.call('writev', w, iov, 1)).toBe(3);
      expect(t.call('pwritev', w, iov, 1, 0)).toBe(E('ESPIPE'));
      expect(t.call('preadv', r, iov, 1, 0)).toBe(E('ESPIPE'));
      expect(t.call('readv', r, t.iovec([[t.buf(8), 8]]), 1)).toBe(3);
      const fd = open(file('v.txt', 'abc'), t.c.O_RDWR);
      expect(t.call('preadv', fd, iov, 1, -1)).toBe(E('EINVAL'));
      expect(t.call('pwritev', fd, iov, 1, -5)).toBe(E('EINVAL'));
      const dir = open('.', t.c.O_RDONLY);
      expect(t.call('readv', dir, iov, 1)).toBe(E('EISDIR'));
      for (const bad of badFds()) {
        expect(t.call('readv', bad, iov, 1)).toBe(E('EBADF'));
        expect(t.call('writev', bad, iov, 1)).toBe(E('EBADF'));
        expect(t.call('preadv', bad, iov, 1, 0)).toBe(E('EBADF'));
        expect(t.call('pwritev', bad, iov, 1, 0)).toBe(E('EBADF'));
      }
      expect(t.call('writev', r, iov, 1)).toBe(E('EBADF'));
      expect(t.call('readv', w, iov, 1)).toBe(E('EBADF'));
    });

    it('writev on O_APPEND appends each piece', () => {
      const fd = open(file('v.txt', 'start'), t.c.O_WRONLY | t.c.O_APPEND);
      t.call('lseek', fd, 0, SEEK_SET);
      expect(t.call('writev', fd, t.iovec([[t.bytes('-a'), 2], [t.bytes('-b'), 2]]), 2)).toBe(4);
      expect(fileContent('v.txt')).toBe('start-a-b');
    });
  });

  // ---- lseek -----------------------------------------------------------------------

  describe('lseek', () => {
    it('SEEK_SET, SEEK_CUR and SEEK_END return the new offset; past EOF is allowed', () => {
      const fd = open(file('a.txt', '0123456789'), t.c.O_RDWR);
      expect(t.call('lseek', fd, 4, SEEK_SET)).toBe(4);
      expect(t.call('lseek', fd, 2, SEEK_CUR)).toBe(6);
      expect(t.call('lseek', fd, -3, SEEK_CUR)).toBe(3);
      expect(t.call('lseek', fd, 0, SEEK_END)).toBe(10);
      expect(t.call('lseek', fd, -2, SEEK_END)).toBe(8);
      expect(t.readFd(fd)).toBe('89');
      expect(t.call('lseek', fd, 5, SEEK_END)).toBe(15);
      expect(t.write(fd, 'X')).toBe(1);
      expect(fileContent('a.txt')).toBe('0123456789\0\0\0\0\0X');
    });

    it('EINVAL for a negative result, leaving the offset', () => {
      const fd = open(file('a.txt', '0123456789'));
      t.call('lseek', fd, 3, SEEK_SET);
      expect(t.call('lseek', fd, -1, SEEK_SET)).toBe(E('EINVAL'));
      expect(t.call('lseek', fd, -4, SEEK_CUR)).toBe(E('EINVAL'));
      expect(t.call('lseek', fd, -11, SEEK_END)).toBe(E('EINVAL'));
      expect(tell(fd)).toBe(3);
    });

    it('SEEK_DATA and SEEK_HOLE: data up to EOF, the hole at EOF, ENXIO at or past EOF and for negative offsets', () => {
      const fd = open(file('a.txt', '0123456789'));
      expect(t.call('lseek', fd, 0, SEEK_DATA)).toBe(0);
      expect(t.call('lseek', fd, 4, SEEK_DATA)).toBe(4);
      expect(t.call('lseek', fd, 0, SEEK_HOLE)).toBe(10);
      expect(t.call('lseek', fd, 9, SEEK_HOLE)).toBe(10);
      expect(t.call('lseek', fd, 10, SEEK_DATA)).toBe(E('ENXIO'));
      expect(t.call('lseek', fd, 10, SEEK_HOLE)).toBe(E('ENXIO'));
      expect(t.call('lseek', fd, 50, SEEK_DATA)).toBe(E('ENXIO'));
      expect(t.call('lseek', fd, -1, SEEK_DATA)).toBe(E('ENXIO'));
      expect(t.call('lseek', fd, -1, SEEK_HOLE)).toBe(E('ENXIO'));
      const empty = open(file('empty', ''));
      expect(t.call('lseek', empty, 0, SEEK_DATA)).toBe(E('ENXIO'));
    });

    it('EINVAL for an unknown whence', () => {
      const fd = open(file('a.txt', 'abc'));
      expect(t.call('lseek', fd, 0, 5)).toBe(E('EINVAL'));
      expect(t.call('lseek', fd, 0, -1)).toBe(E('EINVAL'));
      expect(t.call('lseek', fd, 0, 0x7fffffff)).toBe(E('EINVAL'));
    });

    it('ESPIPE on a pipe; EBADF for bad fds and O_PATH fds', () => {
      const [r, w] = t.pipe();
      expect(t.call('lseek', r, 0, SEEK_CUR)).toBe(E('ESPIPE'));
      expect(t.call('lseek', w, 0, SEEK_SET)).toBe(E('ESPIPE'));
      for (const fd of badFds()) expect(t.call('lseek', fd, 0, SEEK_SET)).toBe(E('EBADF'));
      expect(t.call('lseek', 42, 0, 5)).toBe(E('EBADF'));
      const fp = open(file('a.txt', 'abc'), t.c.O_PATH);
      expect(t.call('lseek', fp, 0, SEEK_SET)).toBe(E('EBADF'));
      const dp = open('.', t.c.O_PATH | t.c.O_DIRECTORY);
      expect(t.call('lseek', dp, 0, SEEK_SET)).toBe(E('EBADF'));
    });

    it('directories: SEEK_CUR tells the position, SEEK_SET moves it, others are EINVAL', () => {
      for (const n of ['a', 'b', 'c']) file(n);
      const dir = open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('lseek', dir, 0, SEEK_CUR)).toBe(0);
      const buf = t.buf(4096);
      const ents = t.decodeDirents(buf, t.call('getdents64', dir, buf, 4096));
      const all = ents.map((d) => d.name);
      expect(all).toHaveLength(5);
      expect(t.call('lseek', dir, 0, SEEK_CUR)).toBe(Number(ents[4]!.off));
      // d_off of the second entry is where the third starts: seekdir(telldir()) goes back there.
      const off = Number(ents[1]!.off);
      expect(t.call('lseek', dir, off, SEEK_SET)).toBe(off);
      expect(t.call('lseek', dir, 0, SEEK_CUR)).toBe(off);
      const rest = t.decodeDirents(buf, t.call('getdents64', dir, buf, 4096)).map((d) => d.name);
      expect(rest).toEqual(all.slice(2));
      expect(t.call('lseek', dir, -1, SEEK_SET)).toBe(E('EINVAL'));
      expect(t.call('lseek', dir, -100, SEEK_CUR)).toBe(E('EINVAL'));
      expect(t.call('lseek', dir, 0, 7)).toBe(E('EINVAL'));
    });
  });

  // ---- close --------------------------------------------------------------------------

  describe('close', () => {
    it('closes; the fd number is reused lowest-first; a second close is EBADF', () => {
      file('a.txt', 'abc');
      const a = open('a.txt');
      const b = open('a.txt');
      expect([a, b]).toEqual([3, 4]);
      expect(t.call('close', a)).toBe(0);
      expect(t.call('close', a)).toBe(E('EBADF'));
      expect(t.call('fcntl', a, t.c.F_GETFD, 0)).toBe(E('EBADF'));
      expect(open('a.txt')).toBe(3);
    });

    it('EBADF for negative and huge fds', () => {
      for (const fd of badFds()) expect(t.call('close', fd)).toBe(E('EBADF'));
    });

    it('closing one of two dup()ed fds leaves the other working', () => {
      const a = open(file('a.txt', 'abc'));
      const b = t.call('dup', a);
      expect(t.call('close', a)).toBe(0);
      expect(t.readFd(b)).toBe('abc');
    });

    it('closes the standard streams like any fd', () => {
      expect(t.call('close', 0)).toBe(0);
      expect(open(file('a.txt', 'x'))).toBe(0);
    });
  });

  // ---- dup, dup2, dup3 -------------------------------------------------------------------------

  describe('dup, dup2, dup3', () => {
    it('dup returns the lowest free fd, sharing status flags but not close-on-exec', () => {
      const a = open(file('a.txt', 'abc'), t.c.O_RDONLY | t.c.O_CLOEXEC);
      t.call('close', 1);
      const b = t.call('dup', a);
      expect(b).toBe(1);
      expect(getfd(a)).toBe(FD_CLOEXEC);
      expect(getfd(b)).toBe(0);
      t.call('fcntl', a, t.c.F_SETFL, t.c.O_NONBLOCK);
      expect(getfl(b) & t.c.O_NONBLOCK).toBe(t.c.O_NONBLOCK);
    });

    it('dup: EBADF for bad fds; EMFILE when the table is full', () => {
      for (const fd of badFds()) expect(t.call('dup', fd)).toBe(E('EBADF'));
      const fd = open(file('a.txt'));
      let last = fd;
      for (;;) {
        const r = t.call('dup', fd);
        if (r < 0) {
          expect(r).toBe(E('EMFILE'));
          break;
        }
        last = r;
      }
      expect(last).toBe(1023);
      expect(open('a.txt')).toBe(E('EMFILE'));
      t.call('close', 500);
      expect(t.call('dup', fd)).toBe(500);
    });

    it.skipIf(arch !== 'x86_64')('dup2 puts the fd where asked, closing what was there, and clears close-on-exec', () => {
      const a = open(file('a.txt', 'aaa'));
      const b = open(file('b.txt', 'bbb'), t.c.O_RDONLY | t.c.O_CLOEXEC);
      expect(t.call('dup2', a, b)).toBe(b);
      expect(getfd(b)).toBe(0);
      expect(t.readFd(b)).toBe('aaa');
      expect(t.call('dup2', a, 100)).toBe(100);
      expect(tell(100)).toBe(3);
    });

    it.skipIf(arch !== 'x86_64')('dup2 to itself returns the fd if open, EBADF if not; EBADF for bad fds', () => {
      const a = open(file('a.txt', 'abc'), t.c.O_RDONLY | t.c.O_CLOEXEC);
      expect(t.call('dup2', a, a)).toBe(a);
      expect(getfd(a)).toBe(FD_CLOEXEC);
      expect(t.call('dup2', 42, 42)).toBe(E('EBADF'));
      expect(t.call('dup2', 42, 43)).toBe(E('EBADF'));
      expect(t.call('dup2', a, -1)).toBe(E('EBADF'));
      expect(t.call('dup2', a, 1 << 20)).toBe(E('EBADF'));
      expect(t.call('dup2', a, 1024)).toBe(E('EBADF'));
    });

    it.skipIf(arch === 'x86_64')('dup2 is not a syscall here', () => {
      expect(t.has('dup2')).toBe(false);
      expect(() => t.call('dup2', 0, 1)).toThrow(/not a syscall/);
    });

    it('dup3 with O_CLOEXEC sets close-on-exec on the new fd; without it clears it', () => {
      const a = open(file('a.txt', 'abc'));
      expect(t.call('dup3', a, 10, t.c.O_CLOEXEC)).toBe(10);
      expect(getfd(10)).toBe(FD_CLOEXEC);
      expect(getfd(a)).toBe(0);
      expect(t.call('dup3', a, 10, 0)).toBe(10);
      expect(getfd(10)).toBe(0);
      expect(t.readFd(10)).toBe('abc');
      expect(tell(a)).toBe(3);
    });

    it('dup3: EINVAL for the same fd (open or not) and for flags other than O_CLOEXEC; EBADF for bad fds', () => {
      const a = open(file('a.txt', 'abc'));
      expect(t.call('dup3', a, a, 0)).toBe(E('EINVAL'));
      expect(t.call('dup3', 42, 42, 0)).toBe(E('EINVAL'));
      expect(t.call('dup3', a, 10, t.c.O_NONBLOCK)).toBe(E('EINVAL'));
      expect(t.call('dup3', a, 10, 1)).toBe(E('EINVAL'));
      expect(t.call('dup3', 42, 10, 0)).toBe(E('EBADF'));
      expect(t.call('dup3', -1, 10, 0)).toBe(E('EBADF'));
      expect(t.call('dup3', a, -1, 0)).toBe(E('EBADF'));
      expect(t.call('dup3', a, 1 << 20, 0)).toBe(E('EBADF'));
      expect(t.call('fcntl', 10, t.c.F_GETFD, 0)).toBe(E('EBADF'));
    });
  });

  // ---- fcntl ------------------------------------------------------------------------

  describe('fcntl', () => {
    it('F_DUPFD gives the lowest free fd at or above the minimum', () => {
      const a = open(file('a.txt', 'abc'));
      expect(t.call('fcntl', a, t.c.F_DUPFD, 10)).toBe(10);
      expect(t.call('fcntl', a, t.c.F_DUPFD, 10)).toBe(11);
      expect(t.call('fcntl', a, t.c.F_DUPFD, 0)).toBe(4);
      expect(t.call('fcntl', a, t.c.F_DUPFD, 1023)).toBe(1023);
      expect(t.call('fcntl', a, t.c.F_DUPFD, 1023)).toBe(E('EMFILE'));
      expect(getfd(10)).toBe(0);
    });

    it('F_DUPFD: EINVAL for a negative minimum or one past the fd limit', () => {
      const a = open(file('a.txt', 'abc'));
      expect(t.call('fcntl', a, t.c.F_DUPFD, -1)).toBe(E('EINVAL'));
      expect(t.call('fcntl', a, t.c.F_DUPFD, 1024)).toBe(E('EINVAL'));
      expect(t.call('fcntl', a, t.c.F_DUPFD, 1 << 20)).toBe(E('EINVAL'));
      expect(t.call('fcntl', a, t.c.F_DUPFD_CLOEXEC, -1)).toBe(E('EINVAL'));
      // An int the C library zero-extended rather than sign-extended: still -1 as unsigned int.
      expect(t.call('fcntl', a, t.c.F_DUPFD, 0xffff_ffff)).toBe(E('EINVAL'));
    });

    it('F_DUPFD_CLOEXEC sets close-on-exec on the copy only', () => {
      const a = open(file('a.txt', 'abc'));
      const b = t.call('fcntl', a, t.c.F_DUPFD_CLOEXEC, 5);
      expect(b).toBe(5);
      expect(getfd(b)).toBe(FD_CLOEXEC);
      expect(getfd(a)).toBe(0);
    });

    it('F_GETFD and F_SETFD: only FD_CLOEXEC is kept', () => {
      const a = open(file('a.txt', 'abc'));
      const b = open('a.txt', t.c.O_RDONLY | t.c.O_CLOEXEC);
      expect(getfd(a)).toBe(0);
      expect(getfd(b)).toBe(FD_CLOEXEC);
      expect(t.call('fcntl', a, t.c.F_SETFD, FD_CLOEXEC)).toBe(0);
      expect(getfd(a)).toBe(FD_CLOEXEC);
      expect(t.call('fcntl', a, t.c.F_SETFD, 0)).toBe(0);
      expect(getfd(a)).toBe(0);
      expect(t.call('fcntl', a, t.c.F_SETFD, 0xfe)).toBe(0);
      expect(getfd(a)).toBe(0);
    });

    it('F_GETFL shows the access mode, O_LARGEFILE and the status flags, not the creation flags or O_CLOEXEC', () => {
      const c = t.c;
      file('a.txt', 'abc');
      expect(getfl(open('a.txt'))).toBe(c.O_RDONLY | c.O_LARGEFILE);
      expect(getfl(open('a.txt', c.O_WRONLY | c.O_APPEND))).toBe(c.O_WRONLY | c.O_APPEND | c.O_LARGEFILE);
      expect(getfl(open('a.txt', c.O_RDWR | c.O_NONBLOCK | c.O_CLOEXEC))).toBe(c.O_RDWR | c.O_NONBLOCK | c.O_LARGEFILE);
      expect(getfl(open('b.txt', c.O_RDWR | c.O_CREAT | c.O_EXCL | c.O_TRUNC | c.O_NOCTTY))).toBe(c.O_RDWR | c.O_LARGEFILE);
      expect(getfl(open('.', c.O_RDONLY | c.O_DIRECTORY))).toBe(c.O_DIRECTORY | c.O_LARGEFILE);
      expect(getfl(open('a.txt', c.O_RDONLY | c.O_LARGEFILE))).toBe(c.O_LARGEFILE);
    });

    it('F_GETFL of an O_PATH fd shows O_PATH and the lookup flags only', () => {
      const c = t.c;
      file('a.txt', 'abc');
      expect(getfl(open('a.txt', c.O_PATH | c.O_APPEND))).toBe(c.O_PATH);
      expect(getfl(open('a.txt', c.O_PATH | c.O_NOFOLLOW))).toBe(c.O_PATH | c.O_NOFOLLOW);
      expect(getfl(open('.', c.O_PATH | c.O_DIRECTORY))).toBe(c.O_PATH | c.O_DIRECTORY);
    });

    it('F_SETFL changes O_APPEND and O_NONBLOCK, never the access mode or creation flags', () => {
      const c = t.c;
      const fd = open(file('a.txt', 'abc'), c.O_RDONLY);
      expect(t.call('fcntl', fd, c.F_SETFL, c.O_RDWR | c.O_APPEND | c.O_NONBLOCK | c.O_TRUNC | c.O_CREAT | c.O_CLOEXEC)).toBe(0);
      expect(getfl(fd)).toBe(c.O_RDONLY | c.O_APPEND | c.O_NONBLOCK | c.O_LARGEFILE);
      expect(getfd(fd)).toBe(0);
      expect(t.call('write', fd, t.bytes('x'), 1)).toBe(E('EBADF'));
      expect(fileContent('a.txt')).toBe('abc');
      expect(t.call('fcntl', fd, c.F_SETFL, 0)).toBe(0);
      expect(getfl(fd)).toBe(c.O_RDONLY | c.O_LARGEFILE);
    });

    it('F_SETFL O_APPEND makes later writes append', () => {
      const c = t.c;
      const fd = open(file('a.txt', 'abc'), c.O_WRONLY);
      t.call('fcntl', fd, c.F_SETFL, c.O_APPEND);
      expect(t.write(fd, 'd')).toBe(1);
      t.call('fcntl', fd, c.F_SETFL, 0);
      t.call('lseek', fd, 0, SEEK_SET);
      expect(t.write(fd, 'X')).toBe(1);
      expect(fileContent('a.txt')).toBe('Xbcd');
    });

    it('EINVAL for an unknown command; EBADF for bad fds', () => {
      const fd = open(file('a.txt', 'abc'));
      expect(t.call('fcntl', fd, 9999, 0)).toBe(E('EINVAL'));
      expect(t.call('fcntl', fd, -1, 0)).toBe(E('EINVAL'));
      for (const bad of badFds()) {
        expect(t.call('fcntl', bad, t.c.F_GETFD, 0)).toBe(E('EBADF'));
        expect(t.call('fcntl', bad, t.c.F_GETFL, 0)).toBe(E('EBADF'));
        expect(t.call('fcntl', bad, t.c.F_DUPFD, 0)).toBe(E('EBADF'));
      }
    });

    it('O_PATH fds allow only F_DUPFD*, F_GETFD, F_SETFD and F_GETFL (EBADF for the rest)', () => {
      const fp = open(file('a.txt', 'abc'), t.c.O_PATH);
      expect(t.call('fcntl', fp, t.c.F_DUPFD, 0)).toBeGreaterThan(fp);
      expect(t.call('fcntl', fp, t.c.F_SETFD, FD_CLOEXEC)).toBe(0);
      expect(getfd(fp)).toBe(FD_CLOEXEC);
      expect(t.call('fcntl', fp, t.c.F_SETFL, t.c.O_APPEND)).toBe(E('EBADF'));
      expect(t.call('fcntl', fp, 9999, 0)).toBe(E('EBADF'));
    });
  });

  // ---- ioctl ---------------------------------------------------------------------------

  describe('ioctl', () => {
    it('ENOTTY for terminal requests on files, pipes, directories and captured stdio', () => {
      const c = t.c;
      const fd = open(file('a.txt', 'abc'));
      const [r, w] = t.pipe();
      const dir = open('.', c.O_RDONLY);
      const buf = t.buf(64);
      for (const f of [fd, r, w, dir, 0, 1, 2]) {
        expect(t.call('ioctl', f, c.TCGETS, buf)).toBe(E('ENOTTY'));
        expect(t.call('ioctl', f, c.TIOCGWINSZ, buf)).toBe(E('ENOTTY'));
        expect(t.call('ioctl', f, c.TCSETS, buf)).toBe(E('ENOTTY'));
      }
      expect(t.call('ioctl', fd, 0x12345678, buf)).toBe(E('ENOTTY'));
    });

    it('FIOCLEX and FIONCLEX set and clear close-on-exec', () => {
      const fd = open(file('a.txt', 'abc'));
      expect(t.call('ioctl', fd, t.c.FIOCLEX, 0)).toBe(0);
      expect(getfd(fd)).toBe(FD_CLOEXEC);
      expect(t.call('ioctl', fd, t.c.FIONCLEX, 0)).toBe(0);
      expect(getfd(fd)).toBe(0);
    });

    it('FIONBIO sets and clears O_NONBLOCK from the int it points to', () => {
      const [r] = t.pipe();
      const one = t.buf(4);
      t.mem.writeU32(one, 1);
      expect(t.call('ioctl', r, t.c.FIONBIO, one)).toBe(0);
      expect(getfl(r) & t.c.O_NONBLOCK).toBe(t.c.O_NONBLOCK);
      expect(t.call('ioctl', r, t.c.FIONBIO, t.buf(4))).toBe(0);
      expect(getfl(r) & t.c.O_NONBLOCK).toBe(0);
      expect(t.call('ioctl', r, t.c.FIONBIO, 0)).toBe(E('EFAULT'));
    });

    it('FIONREAD tells the bytes left in a file or waiting in a pipe', () => {
      const fd = open(file('a.txt', 'abcdef'));
      const n = t.buf(4);
      expect(t.call('ioctl', fd, t.c.FIONREAD, n)).toBe(0);
      expect(t.u32(n)).toBe(6);
      t.call('lseek', fd, 4, SEEK_SET);
      t.call('ioctl', fd, t.c.FIONREAD, n);
      expect(t.u32(n)).toBe(2);
      const [r, w] = t.pipe();
      t.write(w, 'xyz');
      expect(t.call('ioctl', r, t.c.FIONREAD, n)).toBe(0);
      expect(t.u32(n)).toBe(3);
      expect(t.call('ioctl', r, t.c.FIONREAD, t.unmapped)).toBe(E('EFAULT'));
    });

    /** An fd on a terminal-like file: what ioctl's tty requests look for (a host tty says isTty). */
    const fakeTty = (): number => {
      const stdin = t.proc.fds.get(0);
      const file: OpenFile = { node: stdin.node, seekable: false, isTty: true, read: () => 0, write: (b) => b.length, size: () => 0, close: () => {} };
      return t.proc.fds.install(new OpenFileDescription(file, stdin.node, stdin.fs, '/dev/tty', 'rw', t.c.O_RDWR, false));
    };

    it('ttys: TIOCSWINSZ sets the size TIOCGWINSZ reports; TCSBRK, TCXONC, TCFLSH succeed; TIOCGSID is the session', () => {
      const tty = fakeTty();
      const v = [40, 132, 800, 600];
      const ws = t.bytes(new Uint8Array(new Uint16Array(v).buffer));
      expect(t.call('ioctl', tty, t.c.TIOCSWINSZ, ws)).toBe(0);
      const back = t.buf(8);
      expect(t.call('ioctl', tty, t.c.TIOCGWINSZ, back)).toBe(0);
      expect([...new Uint16Array(t.read(back, 8).slice().buffer)]).toEqual(v);
      expect(t.call('ioctl', tty, t.c.TCSBRK, 1)).toBe(0);
      expect(t.call('ioctl', tty, t.c.TCXONC, 1)).toBe(0);
      expect(t.call('ioctl', tty, t.c.TCFLSH, 2)).toBe(0);
      expect(t.call('ioctl', tty, t.c.TCFLSH, 3)).toBe(E('EINVAL'));
      const sid = t.buf(4);
      expect(t.call('ioctl', tty, t.c.TIOCGSID, sid)).toBe(0);
      expect(t.u32(sid)).toBe(t.proc.sid);
      expect(t.call('ioctl', tty, t.c.TIOCSWINSZ, t.unmapped)).toBe(E('EFAULT'));
      const fd = open(file('a.txt', 'abc'));
      for (const req of [t.c.TIOCSWINSZ, t.c.TCSBRK, t.c.TCFLSH, t.c.TIOCGSID]) expect(t.call('ioctl', fd, req, ws)).toBe(E('ENOTTY'));
    });

    it('a host regular file as stdin: FIONREAD is what is left of it, and reads move the host description\'s own offset', () => {
      const stdin = t.proc.fds.get(0);
      const hostFile = fs.openSync(t.writeHost('in.txt', 'abc'), 'r');
      try {
        const file = new HostStreamFile(stdin.node, hostFile, null);
        const fd = t.proc.fds.install(withHostOffset(new OpenFileDescription(file, stdin.node, stdin.fs, '/dev/stdin', 'r', t.c.O_RDONLY, false), file));
        const n = t.buf(4);
        expect(t.call('ioctl', fd, t.c.FIONREAD, n)).toBe(0);
        expect(t.u32(n)).toBe(3);
        expect(t.call('read', fd, t.buf(1), 1)).toBe(1);
        expect(t.call('ioctl', fd, t.c.FIONREAD, n)).toBe(0);
        expect(t.u32(n)).toBe(2);
        // The host's next reader of the description goes on from there.
        const rest = Buffer.alloc(8);
        expect(rest.subarray(0, fs.readSync(hostFile, rest, 0, 8, null)).toString()).toBe('bc');
        expect(t.call('lseek', fd, 0, 0 /* SEEK_SET */)).toBe(0);
        expect(t.call('read', fd, t.buf(8), 8)).toBe(3);
      } finally {
        fs.closeSync(hostFile);
      }
    });

    it('EBADF for bad fds and O_PATH fds', () => {
      for (const fd of badFds()) {
        expect(t.call('ioctl', fd, t.c.TCGETS, t.buf(64))).toBe(E('EBADF'));
        expect(t.call('ioctl', fd, t.c.FIOCLEX, 0)).toBe(E('EBADF'));
      }
      const fp = open(file('a.txt'), t.c.O_PATH);
      expect(t.call('ioctl', fp, t.c.FIOCLEX, 0)).toBe(E('EBADF'));
    });
  });

  // ---- getdents64 --------------------------------------------------------------------------

  describe('getdents64', () => {
    const listAll = (fd: number, chunk = 4096) => {
      const buf = t.buf(chunk);
      const out: ReturnType<Headless['decodeDirents']> = [];
      for (let i = 0; i < 10_000; i++) {
        const n = t.call('getdents64', fd, buf, chunk);
        if (n < 0) throw new Error(`getdents64 gave ${n}`);
        if (n === 0) return out;
        out.push(...t.decodeDirents(buf, n));
      }
      throw new Error('getdents64 never ended');
    };

    it.each(['/work', '/tmp'])('lists every name in %s with . and .., d_type and aligned records', (where) => {
      const c = t.c;
      const at = (n: string) => `${where}/${n}`;
      t.call('close', open(at('file'), c.O_CREAT | c.O_WRONLY));
      expect(t.call('mkdirat', c.AT_FDCWD, t.str(at('sub')), 0o755)).toBe(0);
      expect(t.call('symlinkat', t.str('file'), c.AT_FDCWD, t.str(at('link')))).toBe(0);
      const fd = open(where, c.O_RDONLY | c.O_DIRECTORY);
      const ents = listAll(fd);
      const byName = new Map(ents.map((e) => [e.name, e]));
      expect([...byName.keys()].sort()).toEqual(['.', '..', 'file', 'link', 'sub']);
      expect(ents).toHaveLength(5);
      expect(byName.get('.')!.type).toBe(DT_DIR);
      expect(byName.get('..')!.type).toBe(DT_DIR);
      expect(byName.get('file')!.type).toBe(DT_REG);
      expect(byName.get('sub')!.type).toBe(DT_DIR);
      expect(byName.get('link')!.type).toBe(DT_LNK);
      for (const e of ents) {
        expect(e.reclen % 8).toBe(0);
        expect(e.reclen).toBeGreaterThanOrEqual(19 + e.name.length + 1);
      }
      // d_off values increase and each is the position after its entry.
      const offs = ents.map((e) => Number(e.off));
      expect([...offs].sort((a, b) => a - b)).toEqual(offs);
      const st = t.stat(at('sub'));
      expect(typeof st === 'number' ? st : st.ino).toBe(byName.get('sub')!.ino);
      const self = t.stat(where);
      expect(typeof self === 'number' ? self : self.ino).toBe(byName.get('.')!.ino);
    });

    it('continues across calls with a small buffer and ends with 0', () => {
      const names = Array.from({ length: 60 }, (_, i) => `entry-${String(i).padStart(3, '0')}`);
      for (const n of names) file(n);
      const fd = open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const ents = listAll(fd, 64); // room for two records at most
      expect(ents.map((e) => e.name).sort()).toEqual(['.', '..', ...names].sort());
      const buf = t.buf(64);
      expect(t.call('getdents64', fd, buf, 64)).toBe(0);
      expect(t.call('getdents64', fd, buf, 64)).toBe(0);
    });

    it('EINVAL when the buffer cannot hold the next entry (count 0 too); the entry is not lost', () => {
      file('a-rather-long-file-name-to-need-a-big-record');
      const fd = open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const buf = t.buf(4096);
      expect(t.call('getdents64', fd, buf, 0)).toBe(E('EINVAL'));
      expect(t.call('getdents64', fd, buf, 10)).toBe(E('EINVAL'));
      expect(t.call('getdents64', fd, buf, 23)).toBe(E('EINVAL'));
      expect(t.call('getdents64', fd, buf, 24)).toBe(24); // "." alone: 19 + 2 rounded to 24
      expect(t.decodeDirents(buf, 24)[0]!.name).toBe('.');
      expect(t.call('getdents64', fd, buf, 40)).toBe(24);
      expect(t.call('getdents64', fd, buf, 40)).toBe(E('EINVAL'));
      const n = t.call('getdents64', fd, buf, 4096);
      expect(t.decodeDirents(buf, n).map((e) => e.name)).toEqual(['a-rather-long-file-name-to-need-a-big-record']);
    });

    it('lseek(dir, 0, SEEK_SET) rewinds, and the new listing sees new names', () => {
      file('one');
      const fd = open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(listAll(fd).map((e) => e.name).sort()).toEqual(['.', '..', 'one']);
      file('two');
      expect(t.call('lseek', fd, 0, SEEK_SET)).toBe(0);
      expect(listAll(fd).map((e) => e.name).sort()).toEqual(['.', '..', 'one', 'two']);
    });

    it('ENOTDIR on a file or pipe, EBADF for bad and O_PATH fds', () => {
      const buf = t.buf(4096);
      const fd = open(file('a.txt', 'abc'));
      expect(t.call('getdents64', fd, buf, 4096)).toBe(E('ENOTDIR'));
      const [r] = t.pipe();
      expect(t.call('getdents64', r, buf, 4096)).toBe(E('ENOTDIR'));
      for (const bad of badFds()) expect(t.call('getdents64', bad, buf, 4096)).toBe(E('EBADF'));
      const dp = open('.', t.c.O_PATH | t.c.O_DIRECTORY);
      expect(t.call('getdents64', dp, buf, 4096)).toBe(E('EBADF'));
    });

    it('EFAULT for a bad buffer, without losing the entries', () => {
      file('x');
      const fd = open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(t.call('getdents64', fd, 0, 4096)).toBe(E('EFAULT'));
      expect(t.call('getdents64', fd, t.unmapped, 4096)).toBe(E('EFAULT'));
      expect(listAll(fd).map((e) => e.name).sort()).toEqual(['.', '..', 'x']);
    });

    it('gives names as the bytes the host stores (UTF-8 names are not encoded twice)', () => {
      const name = 'café-ü';
      file(name, 'x');
      const fd = open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const bytes = Buffer.from(name, 'utf8');
      const ent = listAll(fd).find((e) => e.name.length === bytes.length && e.name.startsWith('caf'));
      expect(ent).toBeDefined();
      expect(Buffer.from(ent!.name, 'latin1')).toEqual(bytes);
      expect(ent!.reclen).toBe((19 + bytes.length + 1 + 7) & ~7);
      expect(t.readFd(open(name))).toBe('x');
      // The same in memory.
      t.call('close', open('/tmp/' + name, t.c.O_CREAT | t.c.O_WRONLY));
      const tmp = listAll(open('/tmp', t.c.O_RDONLY | t.c.O_DIRECTORY)).map((e) => Buffer.from(e.name, 'latin1'));
      expect(tmp).toContainEqual(bytes);
    });

    it('lists a directory opened through a dirfd-relative path and through /proc', () => {
      fs.mkdirSync(t.hostPath('d/e'), { recursive: true });
      fs.writeFileSync(t.hostPath('d/e/f'), '');
      const d = open('d', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const e = t.call('openat', d, t.str('e'), t.c.O_RDONLY | t.c.O_DIRECTORY, 0);
      expect(listAll(e).map((x) => x.name).sort()).toEqual(['.', '..', 'f']);
      const pfd = open('/proc/self/fd', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const fds = listAll(pfd).map((x) => x.name).filter((n) => n !== '.' && n !== '..');
      expect(fds).toEqual(expect.arrayContaining(['0', '1', '2', String(d), String(e), String(pfd)]));
    });
  });

  // ---- pipes through the file calls ------------------------------------------------------------

  it('fstat-like facts of a pipe through fcntl and the fd calls', () => {
    const [r, w] = t.pipe(t.c.O_NONBLOCK);
    expect(getfl(r)).toBe(t.c.O_RDONLY | t.c.O_NONBLOCK);
    expect(getfl(w)).toBe(t.c.O_WRONLY | t.c.O_NONBLOCK);
    const sb = t.buf(256);
    expect(t.call('fstat', r, sb)).toBe(0);
    expect(t.decodeStat(sb).mode & S_IFMT).toBe(S_IFIFO);
  });
});
