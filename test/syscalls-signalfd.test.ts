// signalfd and signalfd4: pending signals of a set read as 128-byte
// struct signalfd_siginfo records (see signalfd(2)).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

const SIGUSR1 = 10;
const SIGUSR2 = 12;
const SIGTERM = 15;
const SI_USER = 0;
const SI_TKILL = -6;
const POLLIN = 1;
const bit = (sig: number): bigint => 1n << BigInt(sig - 1);

for (const arch of ARCH_NAMES) {
  describe(`signalfd (${arch})`, () => {
    let t: Headless;
    beforeEach(() => {
      t = headless(arch, { hostDir: false });
    });
    afterEach(() => t.cleanup());

    const sigset = (...sigs: number[]): number => {
      const p = t.buf(8);
      t.mem.writeU64(p, sigs.reduce((m, s) => m | bit(s), 0n));
      return p;
    };
    const block = (...sigs: number[]) => expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, sigset(...sigs), 0, 8)).toBe(0);
    const nonblockingFd = (...sigs: number[]): number => {
      const fd = t.call('signalfd4', -1, sigset(...sigs), 8, t.c.O_NONBLOCK | t.c.O_CLOEXEC);
      expect(fd).toBeGreaterThanOrEqual(3);
      return fd;
    };
    /** Read records: [signo, code, pid] of each. */
    const readRecords = (fd: number, size = 128 * 4): number[][] | number => {
      const buf = t.buf(size);
      const n = t.call('read', fd, buf, size);
      if (n < 0) return n;
      const out: number[][] = [];
      for (let off = 0; off < n; off += 128) out.push([t.mem.readU32(buf + off), t.mem.readI32(buf + off + 8), t.mem.readU32(buf + off + 12)]);
      return out;
    };

    it('reads a pending signal of its set as a record, taking it off the pending set', () => {
      block(SIGUSR1);
      const fd = nonblockingFd(SIGUSR1);
      expect(t.call('kill', t.proc.pid, SIGUSR1)).toBe(0);
      expect(readRecords(fd)).toEqual([[SIGUSR1, SI_USER, t.proc.pid]]);
      expect(readRecords(fd)).toBe(t.errno('EAGAIN'));
      const pending = t.buf(8);
      expect(t.call('rt_sigpending', pending, 8)).toBe(0);
      expect(t.mem.readBigU64(pending)).toBe(0n);
    });

    it('several signals in one read, lowest first; signals outside the set stay pending', () => {
      block(SIGUSR1, SIGUSR2, SIGTERM);
      const fd = nonblockingFd(SIGUSR1, SIGUSR2);
      t.call('kill', t.proc.pid, SIGUSR2);
      t.call('tgkill', t.proc.pid, t.k.currentTask.tid, SIGUSR1);
      t.call('kill', t.proc.pid, SIGTERM);
      expect(readRecords(fd)).toEqual([
        [SIGUSR1, SI_TKILL, t.proc.pid],
        [SIGUSR2, SI_USER, t.proc.pid],
      ]);
      const pending = t.buf(8);
      t.call('rt_sigpending', pending, 8);
      expect(t.mem.readBigU64(pending)).toBe(bit(SIGTERM));
    });

    it('a buffer for one record gets one; smaller than a record is EINVAL', () => {
      block(SIGUSR1, SIGUSR2);
      const fd = nonblockingFd(SIGUSR1, SIGUSR2);
      t.call('kill', t.proc.pid, SIGUSR1);
      t.call('kill', t.proc.pid, SIGUSR2);
      expect(readRecords(fd, 127)).toBe(t.errno('EINVAL'));
      expect(readRecords(fd, 200)).toEqual([[SIGUSR1, SI_USER, t.proc.pid]]);
      expect(readRecords(fd, 128)).toEqual([[SIGUSR2, SI_USER, t.proc.pid]]);
    });

    it('poll reports POLLIN while a signal of the set is pending', () => {
      block(SIGUSR1);
      const fd = nonblockingFd(SIGUSR1);
      const pfd = t.buf(8);
      t.mem.writeU32(pfd, fd);
      t.mem.writeU32(pfd + 4, POLLIN);
      const ts = t.buf(16);
      expect(t.call('ppoll', pfd, 1, ts, 0, 8)).toBe(0);
      t.call('kill', t.proc.pid, SIGUSR1);
      expect(t.call('ppoll', pfd, 1, ts, 0, 8)).toBe(1);
      expect(t.mem.readU32(pfd + 4) >>> 16).toBe(POLLIN);
    });

    it('signalfd4 on an existing signalfd changes its set and returns the same fd', () => {
      block(SIGUSR1, SIGUSR2);
      const fd = nonblockingFd(SIGUSR1);
      expect(t.call('signalfd4', fd, sigset(SIGUSR2), 8, 0)).toBe(fd);
      t.call('kill', t.proc.pid, SIGUSR1);
      t.call('kill', t.proc.pid, SIGUSR2);
      expect(readRecords(fd)).toEqual([[SIGUSR2, SI_USER, t.proc.pid]]);
    });

    it('errors: EINVAL for a sigset size other than 8, unknown flags or a non-signalfd fd; EBADF; EFAULT', () => {
      expect(t.call('signalfd4', -1, sigset(SIGUSR1), 4, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('signalfd4', -1, sigset(SIGUSR1), 8, 1)).toBe(t.errno('EINVAL'));
      expect(t.call('signalfd4', 1, sigset(SIGUSR1), 8, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('signalfd4', 99, sigset(SIGUSR1), 8, 0)).toBe(t.errno('EBADF'));
      expect(t.call('signalfd4', -1, t.unmapped, 8, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('signalfd4', -1, 0, 8, 0)).toBe(t.errno('EFAULT'));
      const fd = nonblockingFd(SIGUSR1);
      expect(t.call('write', fd, t.buf(128), 128)).toBe(t.errno('EINVAL'));
    });

    if (arch === 'x86_64') {
      it('signalfd (x86-64) is signalfd4 without flags: a blocking fd', () => {
        block(SIGUSR1);
        const fd = t.call('signalfd', -1, sigset(SIGUSR1), 8);
        expect(fd).toBeGreaterThanOrEqual(3);
        const flags = t.call('fcntl', fd, t.c.F_GETFL, 0);
        expect(flags & t.c.O_NONBLOCK).toBe(0);
        t.call('kill', t.proc.pid, SIGUSR1);
        expect(readRecords(fd)).toEqual([[SIGUSR1, SI_USER, t.proc.pid]]);
      });
    }
  });
}
