// Event descriptors (syscalls/events.ts): epoll, eventfd and timerfd through
// a headless kernel, on both arches. A call that would block returns -EAGAIN
// in a headless kernel, so "blocks" and "EAGAIN" read the same here; the
// end-to-end guest (guest-binaries/src/events.c) covers real blocking.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EpollInstance } from '../src/kernel/epoll.ts';
import { TimerFd } from '../src/kernel/timerfd.ts';
import { WouldBlock, type Waitable } from '../src/kernel/wait.ts';
import { formatArg } from '../src/trace/decode.ts';
import type { SyscallContext } from '../syscalls/types.ts';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

const EPOLLIN = 0x1;
const EPOLLOUT = 0x4;
const EPOLLERR = 0x8;
const EPOLLHUP = 0x10;
const EPOLLEXCLUSIVE = 1 << 28;
const EPOLLONESHOT = 1 << 30;
const EPOLLET = 2 ** 31;
const ADD = 1;
const DEL = 2;
const MOD = 3;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const EFD_SEMAPHORE = 1;
const TFD_TIMER_ABSTIME = 1;
const TFD_TIMER_CANCEL_ON_SET = 2;
const NS = 1_000_000_000n;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

describe.each(ARCH_NAMES)('event descriptors on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { hostDir: false });
  });
  afterEach(() => t.cleanup());

  // struct epoll_event: packed 12 bytes on x86-64, 16 (data at 8) on aarch64.
  const EVENT_SIZE = arch === 'x86_64' ? 12 : 16;
  const DATA_AT = arch === 'x86_64' ? 4 : 8;

  const epollEvent = (events: number, data: bigint): number => {
    const a = t.buf(EVENT_SIZE);
    t.mem.writeU32(a, events >>> 0);
    t.mem.writeU64(a + DATA_AT, data);
    return a;
  };
  const decodeEvents = (a: number, n: number): { events: number; data: bigint }[] =>
    Array.from({ length: n }, (_, i) => ({ events: t.u32(a + i * EVENT_SIZE), data: t.u64(a + i * EVENT_SIZE + DATA_AT) }));
  const epoll = (): number => t.call('epoll_create1', 0);
  const ctl = (ep: number, op: number, fd: number, events: number, data = BigInt(fd)): number => t.call('epoll_ctl', ep, op, fd, epollEvent(events, data));
  /** epoll_pwait with a zero timeout: the events ready now. */
  const waitNow = (ep: number, max = 8): { events: number; data: bigint }[] | number => {
    const out = t.buf(EVENT_SIZE * max);
    const n = t.call('epoll_pwait', ep, out, max, 0, 0, 8);
    return n < 0 ? n : decodeEvents(out, n);
  };
  const u64 = (v: bigint): number => {
    const a = t.buf(8);
    t.mem.writeU64(a, v);
    return a;
  };
  const readU64 = (fd: number): bigint | number => {
    const a = t.buf(8);
    const n = t.call('read', fd, a, 8);
    return n === 8 ? t.u64(a) : n;
  };
  /** poll(2)'s revents for one fd, with a zero timeout (ppoll: poll is x86-64 only). */
  const pollOne = (fd: number, events: number): number => {
    const fds = t.buf(8);
    t.mem.writeU32(fds, fd);
    t.mem.writeU32(fds + 4, events);
    const ts = t.buf(16);
    expect(t.call('ppoll', fds, 1, ts, 0, 8)).toBeGreaterThanOrEqual(0);
    return t.u16(fds + 6);
  };
  const itimerspec = (intervalNs: bigint, valueNs: bigint): number => {
    const a = t.buf(32);
    t.mem.writeU64(a, intervalNs / NS);
    t.mem.writeU64(a + 8, intervalNs % NS);
    t.mem.writeU64(a + 16, valueNs / NS);
    t.mem.writeU64(a + 24, valueNs % NS);
    return a;
  };
  const decodeItimerspec = (a: number): { intervalNs: bigint; valueNs: bigint } => ({
    intervalNs: t.u64(a) * NS + t.u64(a + 8),
    valueNs: t.u64(a + 16) * NS + t.u64(a + 24),
  });
  const monotonicNs = (): bigint => {
    const ts = t.buf(16);
    expect(t.call('clock_gettime', t.c.CLOCK_MONOTONIC, ts)).toBe(0);
    return t.u64(ts) * NS + t.u64(ts + 8);
  };
  const fileOf = (fd: number): unknown => t.proc.fds.get(fd).file;

  describe('epoll_create1 / epoll_create', () => {
    it('makes an anon-inode fd, close-on-exec with EPOLL_CLOEXEC', () => {
      const ep = epoll();
      expect(ep).toBeGreaterThanOrEqual(0);
      expect(t.call('fcntl', ep, t.c.F_GETFD, 0)).toBe(0);
      const ep2 = t.call('epoll_create1', t.c.O_CLOEXEC);
      expect(t.call('fcntl', ep2, t.c.F_GETFD, 0)).toBe(1);
      const link = t.buf(64);
      const n = t.call('readlinkat', t.c.AT_FDCWD, t.str(`/proc/self/fd/${ep}`), link, 64);
      expect(t.text(link, n)).toBe('anon_inode:[eventpoll]');
    });

    it('EINVAL for unknown flags', () => {
      expect(t.call('epoll_create1', 1)).toBe(t.errno('EINVAL'));
    });

    it.runIf(arch === 'x86_64')('epoll_create: EINVAL for a size below 1, an epoll otherwise', () => {
      expect(t.call('epoll_create', 0)).toBe(t.errno('EINVAL'));
      expect(t.call('epoll_create', -5)).toBe(t.errno('EINVAL'));
      const ep = t.call('epoll_create', 1);
      expect(ep).toBeGreaterThanOrEqual(0);
      expect(fileOf(ep)).toBeInstanceOf(EpollInstance);
    });

    it('read and write on an epoll fd are EINVAL', () => {
      const ep = epoll();
      expect(t.call('read', ep, t.buf(8), 8)).toBe(t.errno('EINVAL'));
      expect(t.call('write', ep, t.buf(8), 8)).toBe(t.errno('EINVAL'));
    });
  });

  describe('epoll_ctl errors', () => {
    it('EBADF for either fd not open', () => {
      const ep = epoll();
      const [r] = t.pipe();
      expect(ctl(99, ADD, r, EPOLLIN)).toBe(t.errno('EBADF'));
      expect(ctl(ep, ADD, 99, EPOLLIN)).toBe(t.errno('EBADF'));
    });

    it('EPERM for a file that cannot be polled (/dev/null, a directory)', () => {
      const ep = epoll();
      const dn = t.call('openat', t.c.AT_FDCWD, t.str('/dev/null'), t.c.O_RDWR, 0);
      const dir = t.call('openat', t.c.AT_FDCWD, t.str('/'), t.c.O_RDONLY | t.c.O_DIRECTORY, 0);
      expect(ctl(ep, ADD, dn, EPOLLIN)).toBe(t.errno('EPERM'));
      expect(ctl(ep, ADD, dir, EPOLLIN)).toBe(t.errno('EPERM'));
    });

    it('EINVAL when epfd is not an epoll, is the target itself, or the op is unknown', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      expect(ctl(r, ADD, w, EPOLLOUT)).toBe(t.errno('EINVAL'));
      expect(ctl(ep, ADD, ep, EPOLLIN)).toBe(t.errno('EINVAL'));
      expect(ctl(ep, 7, r, EPOLLIN)).toBe(t.errno('EINVAL'));
    });

    it('EEXIST adding twice; ENOENT modifying or deleting what is not there', () => {
      const ep = epoll();
      const [r] = t.pipe();
      expect(ctl(ep, MOD, r, EPOLLIN)).toBe(t.errno('ENOENT'));
      expect(t.call('epoll_ctl', ep, DEL, r, 0)).toBe(t.errno('ENOENT'));
      expect(ctl(ep, ADD, r, EPOLLIN)).toBe(0);
      expect(ctl(ep, ADD, r, EPOLLIN)).toBe(t.errno('EEXIST'));
      // DEL takes a NULL event.
      expect(t.call('epoll_ctl', ep, DEL, r, 0)).toBe(0);
      expect(t.call('epoll_ctl', ep, DEL, r, 0)).toBe(t.errno('ENOENT'));
    });

    it('EFAULT for an unreadable event, before the fds are looked at', () => {
      const ep = epoll();
      const [r] = t.pipe();
      expect(t.call('epoll_ctl', ep, ADD, r, t.unmapped)).toBe(t.errno('EFAULT'));
      expect(t.call('epoll_ctl', 99, ADD, r, 0)).toBe(t.errno('EFAULT'));
    });

    it('ELOOP for epolls watching each other', () => {
      const a = epoll();
      const b = epoll();
      expect(ctl(a, ADD, b, EPOLLIN)).toBe(0);
      expect(ctl(b, ADD, a, EPOLLIN)).toBe(t.errno('ELOOP'));
    });

    it('ELOOP past five nested epolls', () => {
      const chain = Array.from({ length: 6 }, () => epoll());
      for (let i = 0; i < 4; i++) expect(ctl(chain[i]!, ADD, chain[i + 1]!, EPOLLIN)).toBe(0);
      expect(ctl(chain[4]!, ADD, chain[5]!, EPOLLIN)).toBe(t.errno('ELOOP'));
    });

    it('EPOLLEXCLUSIVE: EINVAL with EPOLLONESHOT, on an epoll target, in MOD, and MOD of such an interest', () => {
      const ep = epoll();
      const inner = epoll();
      const [r] = t.pipe();
      expect(ctl(ep, ADD, r, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT)).toBe(t.errno('EINVAL'));
      expect(ctl(ep, ADD, inner, EPOLLIN | EPOLLEXCLUSIVE)).toBe(t.errno('EINVAL'));
      expect(ctl(ep, ADD, r, EPOLLIN | EPOLLEXCLUSIVE)).toBe(0);
      expect(ctl(ep, MOD, r, EPOLLIN)).toBe(t.errno('EINVAL'));
      expect(ctl(ep, MOD, r, EPOLLIN | EPOLLEXCLUSIVE)).toBe(t.errno('EINVAL'));
    });
  });

  describe('epoll waits', () => {
    it('level-triggered: a readable pipe is reported on every wait, with its data', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      expect(ctl(ep, ADD, r, EPOLLIN, 0x1234_5678_9abc_def0n)).toBe(0);
      expect(waitNow(ep)).toEqual([]);
      t.write(w, 'x');
      expect(waitNow(ep)).toEqual([{ events: EPOLLIN, data: 0x1234_5678_9abc_def0n }]);
      expect(waitNow(ep)).toEqual([{ events: EPOLLIN, data: 0x1234_5678_9abc_def0n }]);
      t.readFd(r);
      expect(waitNow(ep)).toEqual([]);
    });

    it('edge-triggered: reported once per write, not again while the data sits unread', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      expect(ctl(ep, ADD, r, EPOLLIN | EPOLLET)).toBe(0);
      t.write(w, 'a');
      expect(waitNow(ep)).toEqual([{ events: EPOLLIN, data: BigInt(r) }]);
      expect(waitNow(ep)).toEqual([]);
      t.write(w, 'b');
      expect(waitNow(ep)).toEqual([{ events: EPOLLIN, data: BigInt(r) }]);
      expect(waitNow(ep)).toEqual([]);
    });

    it('edge-triggered: a ready file is reported once after ADD and after MOD', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      t.write(w, 'a');
      expect(ctl(ep, ADD, r, EPOLLIN | EPOLLET)).toBe(0);
      expect(waitNow(ep)).toHaveLength(1);
      expect(waitNow(ep)).toEqual([]);
      expect(ctl(ep, MOD, r, EPOLLIN | EPOLLET, 7n)).toBe(0);
      expect(waitNow(ep)).toEqual([{ events: EPOLLIN, data: 7n }]);
    });

    it('EPOLLONESHOT: reported once, then silent (even for new data) until MOD re-arms it', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      expect(ctl(ep, ADD, r, EPOLLIN | EPOLLONESHOT)).toBe(0);
      t.write(w, 'a');
      expect(waitNow(ep)).toHaveLength(1);
      t.write(w, 'b');
      expect(waitNow(ep)).toEqual([]);
      expect(ctl(ep, MOD, r, EPOLLIN | EPOLLONESHOT)).toBe(0);
      expect(waitNow(ep)).toHaveLength(1);
    });

    it('EPOLLHUP and EPOLLERR come unasked: a read end without writers, a write end without readers', () => {
      const ep = epoll();
      const [r1, w1] = t.pipe();
      const [r2, w2] = t.pipe();
      expect(ctl(ep, ADD, r1, 0)).toBe(0);
      expect(ctl(ep, ADD, w2, 0)).toBe(0);
      expect(waitNow(ep)).toEqual([]);
      t.call('close', w1);
      t.call('close', r2);
      expect(waitNow(ep)).toEqual([
        { events: EPOLLHUP, data: BigInt(r1) },
        { events: EPOLLERR, data: BigInt(w2) },
      ]);
    });

    it('a write end reports EPOLLOUT while there is room', () => {
      const ep = epoll();
      const [, w] = t.pipe();
      expect(ctl(ep, ADD, w, EPOLLOUT)).toBe(0);
      expect(waitNow(ep)).toEqual([{ events: EPOLLOUT, data: BigInt(w) }]);
    });

    it('maxevents limits the count, and the next wait starts with the others', () => {
      const ep = epoll();
      const pipes = [t.pipe(), t.pipe(), t.pipe()];
      for (const [r, w] of pipes) {
        expect(ctl(ep, ADD, r, EPOLLIN)).toBe(0);
        t.write(w, 'x');
      }
      const first = waitNow(ep, 2) as { data: bigint }[];
      const second = waitNow(ep, 2) as { data: bigint }[];
      expect(first.map((e) => e.data)).toEqual([BigInt(pipes[0]![0]), BigInt(pipes[1]![0])]);
      expect(second[0]!.data).toBe(BigInt(pipes[2]![0]));
    });

    it('forgets a description once no fd refers to it, but not while a dup does (epoll(7) Q6)', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      t.write(w, 'x');
      expect(ctl(ep, ADD, r, EPOLLIN)).toBe(0);
      const dup = t.call('dup', r);
      t.call('close', r);
      expect(waitNow(ep)).toHaveLength(1);
      t.call('close', dup);
      expect(waitNow(ep)).toEqual([]);
    });

    it('EINVAL for maxevents below 1 or beyond INT_MAX / sizeof(struct epoll_event), before the fd', () => {
      const ep = epoll();
      const out = t.buf(64);
      expect(t.call('epoll_pwait', ep, out, 0, 0, 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('epoll_pwait', ep, out, -1, 0, 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('epoll_pwait', 99, out, Math.floor(0x7fffffff / EVENT_SIZE) + 1, 0, 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('epoll_pwait', 99, out, 1, 0, 0, 8)).toBe(t.errno('EBADF'));
      const [r] = t.pipe();
      expect(t.call('epoll_pwait', r, out, 1, 0, 0, 8)).toBe(t.errno('EINVAL'));
    });

    it('EFAULT when the events cannot be written, and the events stay to be reported', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      expect(ctl(ep, ADD, r, EPOLLIN | EPOLLONESHOT)).toBe(0);
      t.write(w, 'x');
      expect(t.call('epoll_pwait', ep, t.unmapped, 1, 0, 0, 8)).toBe(t.errno('EFAULT'));
      expect(waitNow(ep)).toHaveLength(1);
    });

    it('writes packed events at this arch stride', () => {
      const ep = epoll();
      const [r1, w1] = t.pipe();
      const [r2, w2] = t.pipe();
      ctl(ep, ADD, r1, EPOLLIN, 0x11n);
      ctl(ep, ADD, r2, EPOLLIN, 0x22n);
      t.write(w1, 'x');
      t.write(w2, 'x');
      const out = t.buf(64, 0xff);
      expect(t.call('epoll_pwait', ep, out, 2, 0, 0, 8)).toBe(2);
      expect(t.u64(out + EVENT_SIZE + DATA_AT)).toBe(0x22n);
      // Past the two events nothing is touched.
      expect(t.read(out + 2 * EVENT_SIZE, 4)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    });

    it('blocks with nothing ready and no timeout (EAGAIN headless)', () => {
      const ep = epoll();
      const out = t.buf(EVENT_SIZE);
      expect(t.call('epoll_pwait', ep, out, 1, -1, 0, 8)).toBe(-11);
    });

    it('epoll_pwait: EINVAL for a sigset size other than 8, EFAULT for an unreadable mask', () => {
      const ep = epoll();
      const out = t.buf(EVENT_SIZE);
      expect(t.call('epoll_pwait', ep, out, 1, 0, t.buf(8), 4)).toBe(t.errno('EINVAL'));
      expect(t.call('epoll_pwait', ep, out, 1, 0, t.unmapped, 8)).toBe(t.errno('EFAULT'));
      expect(t.call('epoll_pwait', ep, out, 1, 0, 0, 4)).toBe(0); // no mask: its size is not looked at
    });

    it('epoll_pwait2: a timespec timeout, EINVAL when invalid, EFAULT when unreadable', () => {
      const ep = epoll();
      const out = t.buf(EVENT_SIZE);
      const zero = t.buf(16);
      const bad = t.buf(16);
      t.mem.writeU64(bad + 8, NS);
      expect(t.call('epoll_pwait2', ep, out, 1, zero, 0, 8)).toBe(0);
      expect(t.call('epoll_pwait2', ep, out, 1, bad, 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('epoll_pwait2', ep, out, 1, t.unmapped, 0, 8)).toBe(t.errno('EFAULT'));
    });

    it.runIf(arch === 'x86_64')('epoll_wait: a zero timeout returns 0, a ready pipe its event', () => {
      const ep = epoll();
      const [r, w] = t.pipe();
      ctl(ep, ADD, r, EPOLLIN);
      const out = t.buf(EVENT_SIZE * 4);
      expect(t.call('epoll_wait', ep, out, 4, 0)).toBe(0);
      t.write(w, 'x');
      expect(t.call('epoll_wait', ep, out, 4, 0)).toBe(1);
      expect(decodeEvents(out, 1)).toEqual([{ events: EPOLLIN, data: BigInt(r) }]);
    });

    it('an epoll is readable (to poll and to another epoll) when a wait on it would report', () => {
      const outer = epoll();
      const inner = epoll();
      const [r, w] = t.pipe();
      ctl(inner, ADD, r, EPOLLIN);
      ctl(outer, ADD, inner, EPOLLIN);
      expect(pollOne(inner, POLLIN)).toBe(0);
      expect(waitNow(outer)).toEqual([]);
      t.write(w, 'x');
      expect(pollOne(inner, POLLIN)).toBe(POLLIN);
      expect(waitNow(outer)).toEqual([{ events: EPOLLIN, data: BigInt(inner) }]);
    });

    it('a blocked wait wakes on the watched files and on a change to the interest list', () => {
      const ep = epoll();
      const [r] = t.pipe();
      ctl(ep, ADD, r, EPOLLIN);
      const waits: Waitable[] = [];
      (fileOf(ep) as EpollInstance).ready(8, waits);
      const pipe = t.proc.fds.get(r).node as unknown as { pipe: { readable: Waitable } };
      expect(waits).toContain(pipe.pipe.readable);
    });
  });

  describe('eventfd', () => {
    it('a read takes the whole count, then EAGAIN (O_NONBLOCK) until a write adds to it', () => {
      const fd = t.call('eventfd2', 3, t.c.O_NONBLOCK);
      expect(readU64(fd)).toBe(3n);
      expect(readU64(fd)).toBe(t.errno('EAGAIN'));
      expect(t.call('write', fd, u64(5n), 8)).toBe(8);
      expect(t.call('write', fd, u64(2n), 8)).toBe(8);
      expect(readU64(fd)).toBe(7n);
    });

    it('EFD_SEMAPHORE: each read takes 1', () => {
      const fd = t.call('eventfd2', 2, EFD_SEMAPHORE | t.c.O_NONBLOCK);
      expect(readU64(fd)).toBe(1n);
      expect(readU64(fd)).toBe(1n);
      expect(readU64(fd)).toBe(t.errno('EAGAIN'));
    });

    it('a blocking read of 0 waits (EAGAIN headless); a read past 8 bytes moves 8', () => {
      const fd = t.call('eventfd2', 0, 0);
      expect(readU64(fd)).toBe(-11);
      t.call('write', fd, u64(1n), 8);
      expect(t.call('read', fd, t.buf(16), 16)).toBe(8);
    });

    it('EINVAL for buffers under 8 bytes, for writing 2^64-1, and for unknown flags', () => {
      const fd = t.call('eventfd2', 1, 0);
      expect(t.call('read', fd, t.buf(8), 7)).toBe(t.errno('EINVAL'));
      expect(t.call('write', fd, u64(1n), 4)).toBe(t.errno('EINVAL'));
      expect(t.call('write', fd, u64(U64_MAX), 8)).toBe(t.errno('EINVAL'));
      expect(t.call('eventfd2', 0, 0x10)).toBe(t.errno('EINVAL'));
    });

    it('a write that would pass 0xfffffffffffffffe waits (EAGAIN with O_NONBLOCK)', () => {
      const fd = t.call('eventfd2', 0, t.c.O_NONBLOCK);
      expect(t.call('write', fd, u64(U64_MAX - 1n), 8)).toBe(8);
      expect(t.call('write', fd, u64(1n), 8)).toBe(t.errno('EAGAIN'));
      expect(t.call('write', fd, u64(0n), 8)).toBe(8);
      expect(pollOne(fd, POLLIN | POLLOUT)).toBe(POLLIN);
      expect(readU64(fd)).toBe(U64_MAX - 1n);
      expect(pollOne(fd, POLLIN | POLLOUT)).toBe(POLLOUT);
    });

    it('EFAULT for an unwritable read buffer, and the count stays', () => {
      const fd = t.call('eventfd2', 4, 0);
      expect(t.call('read', fd, t.unmapped, 8)).toBe(t.errno('EFAULT'));
      expect(readU64(fd)).toBe(4n);
    });

    it('EFD_CLOEXEC, and the fd is an anon inode with mode 0600', () => {
      const fd = t.call('eventfd2', 0, t.c.O_CLOEXEC);
      expect(t.call('fcntl', fd, t.c.F_GETFD, 0)).toBe(1);
      expect(t.call('fcntl', fd, t.c.F_GETFL, 0) & 3).toBe(t.c.O_RDWR);
      const st = t.buf(256);
      expect(t.call('fstat', fd, st)).toBe(0);
      expect(t.decodeStat(st).mode).toBe(0o600);
    });

    it.runIf(arch === 'x86_64')('eventfd takes no flags', () => {
      const fd = t.call('eventfd', 9);
      expect(readU64(fd)).toBe(9n);
      expect(t.call('fcntl', fd, t.c.F_GETFL, 0) & t.c.O_NONBLOCK).toBe(0);
    });

    it('inside epoll: edge-triggered EPOLLIN fires on writes, not on reads that leave a count', () => {
      const ep = epoll();
      const fd = t.call('eventfd2', 0, EFD_SEMAPHORE | t.c.O_NONBLOCK);
      ctl(ep, ADD, fd, EPOLLIN | EPOLLET);
      expect(waitNow(ep)).toEqual([]);
      t.call('write', fd, u64(2n), 8);
      expect(waitNow(ep)).toEqual([{ events: EPOLLIN, data: BigInt(fd) }]);
      expect(readU64(fd)).toBe(1n);
      expect(waitNow(ep)).toEqual([]);
    });
  });

  describe('timerfd', () => {
    it('EINVAL for unknown clocks and flags; realtime, monotonic and boottime work', () => {
      expect(t.call('timerfd_create', t.c.CLOCK_PROCESS_CPUTIME_ID, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('timerfd_create', 77, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('timerfd_create', t.c.CLOCK_MONOTONIC, 0x10)).toBe(t.errno('EINVAL'));
      for (const clock of [t.c.CLOCK_REALTIME, t.c.CLOCK_MONOTONIC, t.c.CLOCK_BOOTTIME]) {
        expect(t.call('timerfd_create', clock, t.c.O_CLOEXEC | t.c.O_NONBLOCK)).toBeGreaterThanOrEqual(0);
      }
    });

    it('a disarmed timer: gettime is all zero, a read would wait', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_MONOTONIC, t.c.O_NONBLOCK);
      const cur = t.buf(32, 0xff);
      expect(t.call('timerfd_gettime', fd, cur)).toBe(0);
      expect(decodeItimerspec(cur)).toEqual({ intervalNs: 0n, valueNs: 0n });
      expect(readU64(fd)).toBe(t.errno('EAGAIN'));
      expect(pollOne(fd, POLLIN)).toBe(0);
    });

    it('an absolute expiry in the past counts every interval since, then moves to the next one', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_MONOTONIC, t.c.O_NONBLOCK);
      // First expiry at 1 ns after boot, then every microsecond: as many ticks as microseconds have passed.
      const periods = (now: bigint): bigint => 1n + (now - 1n) / 1000n;
      const before = monotonicNs();
      expect(t.call('timerfd_settime', fd, TFD_TIMER_ABSTIME, itimerspec(1000n, 1n), 0)).toBe(0);
      expect(pollOne(fd, POLLIN)).toBe(POLLIN);
      const ticks = readU64(fd) as bigint;
      const after = monotonicNs();
      expect(ticks).toBeGreaterThanOrEqual(periods(before));
      expect(ticks).toBeLessThanOrEqual(periods(after));
      const cur = t.buf(32);
      t.call('timerfd_gettime', fd, cur);
      const got = decodeItimerspec(cur);
      expect(got.intervalNs).toBe(1000n);
      expect(got.valueNs).toBeGreaterThan(0n);
      expect(got.valueNs).toBeLessThanOrEqual(1000n);
    });

    it('a relative one-shot far ahead: not readable, gettime counts down from it, settime returns the old value', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_BOOTTIME, t.c.O_NONBLOCK);
      expect(t.call('timerfd_settime', fd, 0, itimerspec(0n, 100n * NS), 0)).toBe(0);
      expect(readU64(fd)).toBe(t.errno('EAGAIN'));
      const old = t.buf(32);
      expect(t.call('timerfd_settime', fd, 0, itimerspec(2n * NS, 0n), old)).toBe(0);
      const prev = decodeItimerspec(old);
      expect(prev.intervalNs).toBe(0n);
      expect(prev.valueNs).toBeGreaterThan(90n * NS);
      expect(prev.valueNs).toBeLessThanOrEqual(100n * NS);
      // Disarmed by the zero value; the interval is kept, as Linux shows it.
      const cur = t.buf(32);
      t.call('timerfd_gettime', fd, cur);
      expect(decodeItimerspec(cur)).toEqual({ intervalNs: 2n * NS, valueNs: 0n });
    });

    it('CLOCK_REALTIME absolute time in the past fires once; a one-shot then reads as disarmed', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_REALTIME, t.c.O_NONBLOCK);
      const longAgo = BigInt(Date.now() - 60_000) * 1_000_000n;
      expect(t.call('timerfd_settime', fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, itimerspec(0n, longAgo), 0)).toBe(0);
      expect(readU64(fd)).toBe(1n);
      expect(readU64(fd)).toBe(t.errno('EAGAIN'));
      const cur = t.buf(32, 0xff);
      t.call('timerfd_gettime', fd, cur);
      expect(decodeItimerspec(cur)).toEqual({ intervalNs: 0n, valueNs: 0n });
    });

    it('a read waits until the next expiry: the wait carries it as its deadline, in epoll too', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_MONOTONIC, 0);
      t.call('timerfd_settime', fd, 0, itimerspec(0n, 50n * NS), 0);
      const timer = fileOf(fd) as TimerFd;
      const expiry = timer.expired.deadlineNs!;
      expect(expiry).toBeGreaterThan(monotonicNs());
      let thrown: unknown;
      try {
        timer.read(new Uint8Array(8));
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(WouldBlock);
      expect((thrown as WouldBlock).deadlineNs).toBe(expiry);
      const ep = epoll();
      ctl(ep, ADD, fd, EPOLLIN);
      const waits: Waitable[] = [];
      expect((fileOf(ep) as EpollInstance).ready(1, waits)).toEqual([]);
      expect(new WouldBlock(waits, expiry + NS).deadlineNs).toBe(expiry);
    });

    it('settime wakes tasks already waiting, so that they wait for the new expiry', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_MONOTONIC, 0);
      const timer = fileOf(fd) as TimerFd;
      let woken = 0;
      timer.expired.subscribe(() => woken++);
      expect(t.call('timerfd_settime', fd, 0, itimerspec(0n, 50n * NS), 0)).toBe(0);
      expect(woken).toBe(1);
    });

    it('settime errors: EFAULT, EINVAL for flags and bad timespecs, EBADF, EINVAL for a non-timerfd', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_MONOTONIC, 0);
      const good = itimerspec(0n, NS);
      const badNsec = t.buf(32);
      t.mem.writeU64(badNsec + 24, NS);
      expect(t.call('timerfd_settime', fd, 0, t.unmapped, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('timerfd_settime', 99, 0, t.unmapped, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('timerfd_settime', fd, 4, good, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('timerfd_settime', fd, 0, badNsec, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('timerfd_settime', 99, 0, good, 0)).toBe(t.errno('EBADF'));
      const efd = t.call('eventfd2', 0, 0);
      expect(t.call('timerfd_settime', efd, 0, good, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('timerfd_gettime', efd, t.buf(32))).toBe(t.errno('EINVAL'));
      expect(t.call('timerfd_gettime', 99, t.buf(32))).toBe(t.errno('EBADF'));
      expect(t.call('timerfd_gettime', fd, t.unmapped)).toBe(t.errno('EFAULT'));
    });

    it('reads under 8 bytes and writes are EINVAL', () => {
      const fd = t.call('timerfd_create', t.c.CLOCK_MONOTONIC, 0);
      expect(t.call('read', fd, t.buf(8), 4)).toBe(t.errno('EINVAL'));
      expect(t.call('write', fd, u64(1n), 8)).toBe(t.errno('EINVAL'));
    });
  });

  describe('strace decoding', () => {
    const ctx = (): SyscallContext => ({ kernel: t.k, proc: t.proc, fds: t.proc.fds, task: {} as never, cpu: t.proc.cpu, mem: t.mem, arch: t.k.arch });
    const opts = (syscall: string, ret = 0) => ({ strSize: 32, ret, syscall });

    it('prints epoll_ctl ops and struct epoll_event as strace does', () => {
      const ev = epollEvent(EPOLLIN | EPOLLET | EPOLLONESHOT, 0x1_0000_0002n);
      expect(formatArg('epoll_ctl_op', ADD, ctx(), opts('epoll_ctl'))).toBe('EPOLL_CTL_ADD');
      expect(formatArg('struct_epoll_event_in', ev, ctx(), opts('epoll_ctl'))).toBe(
        '{events=EPOLLIN|EPOLLONESHOT|EPOLLET, data={u32=2, u64=4294967298}}',
      );
      expect(formatArg('struct_epoll_event_in', 0, ctx(), opts('epoll_ctl'))).toBe('NULL');
    });

    it('prints the events epoll_wait returned, [] for none, the address on failure', () => {
      const out = t.buf(EVENT_SIZE * 2);
      t.mem.writeU32(out, EPOLLIN);
      t.mem.writeU64(out + DATA_AT, 3n);
      t.mem.writeU32(out + EVENT_SIZE, EPOLLHUP | EPOLLERR);
      t.mem.writeU64(out + EVENT_SIZE + DATA_AT, 4n);
      expect(formatArg('epoll_events_out', out, ctx(), opts('epoll_pwait', 2))).toBe(
        '[{events=EPOLLIN, data={u32=3, u64=3}}, {events=EPOLLERR|EPOLLHUP, data={u32=4, u64=4}}]',
      );
      expect(formatArg('epoll_events_out', out, ctx(), opts('epoll_pwait', 0))).toBe('[]');
      expect(formatArg('epoll_events_out', out, ctx(), opts('epoll_pwait', -14))).toBe(`0x${out.toString(16)}`);
    });

    it('prints the flag words under their own names and struct itimerspec', () => {
      const c = t.c;
      expect(formatArg('epoll_create_flags', c.O_CLOEXEC, ctx(), opts('epoll_create1'))).toBe('EPOLL_CLOEXEC');
      expect(formatArg('eventfd_flags', c.O_CLOEXEC | c.O_NONBLOCK | EFD_SEMAPHORE, ctx(), opts('eventfd2'))).toBe(
        'EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK',
      );
      expect(formatArg('timerfd_flags', c.O_NONBLOCK, ctx(), opts('timerfd_create'))).toBe('TFD_NONBLOCK');
      expect(formatArg('timerfd_settime_flags', TFD_TIMER_ABSTIME, ctx(), opts('timerfd_settime'))).toBe('TFD_TIMER_ABSTIME');
      expect(formatArg('struct_itimerspec_in', itimerspec(NS / 100n, 2n * NS), ctx(), opts('timerfd_settime'))).toBe(
        '{it_interval={tv_sec=0, tv_nsec=10000000}, it_value={tv_sec=2, tv_nsec=0}}',
      );
    });
  });
});
