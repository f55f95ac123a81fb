// Clocks and sleeps (see clock_gettime(2), nanosleep(2)). A sleeping task
// waits in the scheduler until its deadline, so other tasks go on running;
// a headless kernel (no scheduler) waits the sleep out in place (Kernel.invokeAs).
import { fail } from '../src/kernel/errors.ts';
import { Sleep } from '../src/kernel/wait.ts';
import { family, type SyscallContext } from './types.ts';

const NS = 1_000_000_000n;

export function realtimeNs(): bigint {
  // Date.now() has millisecond resolution; add the sub-millisecond part of the monotonic clock.
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

/**
 * A CPU-time clock id made from a pid or tid (clock_getcpuclockid(3),
 * pthread_getcpuclockid(3)): ~id << 3 | per-thread bit (4) | type (0 PROF,
 * 1 VIRT, 2 SCHED; 3 marks an fd-based clock). Only ourselves (0 or our
 * pid/tid) exist; anything else is EINVAL, as for a process that is gone.
 */
function cpuClockNs(ctx: SyscallContext, clock: number): bigint {
  const type = clock & 3;
  if (type === 3) fail('EINVAL'); // fd-based (dynamic) clocks: no posix clock devices here
  const id = ~(clock >> 3);
  const perThread = (clock & 4) !== 0;
  if (id !== 0 && id !== (perThread ? ctx.task.tid : ctx.proc.pid)) fail('EINVAL');
  return ctx.kernel.clock.cpuNs();
}

/** The time on a clock id (EINVAL for ids that are not clocks). */
export function clockNs(ctx: SyscallContext, clock: number): bigint {
  const c = ctx.arch.c;
  if (clock < 0) return cpuClockNs(ctx, clock);
  switch (clock) {
    case c.CLOCK_REALTIME:
    case c.CLOCK_REALTIME_COARSE:
    case c.CLOCK_TAI:
      return ctx.kernel.clock.realtimeNs();
    case c.CLOCK_MONOTONIC:
    case c.CLOCK_MONOTONIC_RAW:
    case c.CLOCK_MONOTONIC_COARSE:
    case c.CLOCK_BOOTTIME:
      return ctx.kernel.monotonicNs();
    case c.CLOCK_PROCESS_CPUTIME_ID:
    case c.CLOCK_THREAD_CPUTIME_ID:
      return ctx.kernel.clock.cpuNs();
    default:
      fail('EINVAL');
  }
}

export function writeTimespec(ctx: SyscallContext, addr: number, ns: bigint): void {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, ns / NS, true);
  v.setBigInt64(8, ns % NS, true);
  ctx.mem.write(addr, b);
}

/** A struct timespec from the guest; EINVAL when tv_nsec is outside [0, 1e9) or tv_sec < 0. */
export function readTimespec(ctx: SyscallContext, addr: number): bigint {
  const sec = BigInt(ctx.mem.readI64(addr));
  const nsec = BigInt(ctx.mem.readI64(addr + 8));
  if (nsec < 0n || nsec >= NS || sec < 0n) fail('EINVAL');
  return sec * NS + nsec;
}

function clockGettime(ctx: SyscallContext, clock: number, tp: number): number {
  const ns = clockNs(ctx, clock);
  if (tp) writeTimespec(ctx, tp, ns);
  else fail('EFAULT');
  return 0;
}

function clockGetres(ctx: SyscallContext, clock: number, res: number): number {
  clockNs(ctx, clock);
  if (res) writeTimespec(ctx, res, 1n);
  return 0;
}

function gettimeofday(ctx: SyscallContext, tv: number, tz: number): number {
  const ns = ctx.kernel.clock.realtimeNs();
  if (tv) {
    ctx.mem.writeU64(tv, ns / NS);
    ctx.mem.writeU64(tv + 8, (ns % NS) / 1000n);
  }
  if (tz) {
    ctx.mem.writeU32(tz, 0);
    ctx.mem.writeU32(tz + 4, 0);
  }
  return 0;
}

function time(ctx: SyscallContext, tloc: number): number {
  const secs = Number(ctx.kernel.clock.realtimeNs() / NS);
  if (tloc) ctx.mem.writeU64(tloc, secs);
  return secs;
}

/**
 * Sleep `ns` nanoseconds from the first attempt of this call: the deadline
 * (on the monotonic clock) survives the scheduler's retries in
 * task.syscallState; until it passes, the task is parked (Sleep: a headless
 * kernel waits it out in place instead).
 */
function sleepFor(ctx: SyscallContext, ns: () => bigint, rem = 0): void {
  const state = ctx.task.syscallState as { sleepUntil: bigint } | undefined;
  const now = ctx.kernel.monotonicNs();
  const deadline = state?.sleepUntil ?? now + ns();
  if (now >= deadline) return;
  // Interrupted by a handler: the time left goes to `rem` (nanosleep(2), EINTR); an unwritable rem is ignored.
  const onEintr = rem ? () => writeRemaining(ctx, rem, deadline) : undefined;
  ctx.task.syscallState = { sleepUntil: deadline, onEintr };
  throw new Sleep(deadline);
}

function writeRemaining(ctx: SyscallContext, rem: number, deadline: bigint): void {
  const left = deadline - ctx.kernel.monotonicNs();
  try {
    writeTimespec(ctx, rem, left > 0n ? left : 0n);
  } catch {
    // EFAULT cannot be reported on top of EINTR; Linux also just fails the copy.
  }
}

/** nanosleep(2): with `rem`, an interrupted sleep leaves the time it had left there. */
function nanosleep(ctx: SyscallContext, req: number, rem: number): number {
  sleepFor(ctx, () => readTimespec(ctx, req), rem);
  return 0;
}

/**
 * clock_nanosleep(2): the clock must support sleeping (EINVAL for unknown
 * ids, EOPNOTSUPP for the raw, coarse and thread CPU-time clocks). Sleeping on
 * the process CPU clock waits wall time, the guest being idle meanwhile.
 */
function clockNanosleep(ctx: SyscallContext, clock: number, flags: number, req: number, rem: number): number {
  const c = ctx.arch.c;
  const TIMER_ABSTIME = 1;
  const now = clockNs(ctx, clock);
  if (clock === c.CLOCK_MONOTONIC_RAW || clock === c.CLOCK_MONOTONIC_COARSE || clock === c.CLOCK_REALTIME_COARSE) fail('EOPNOTSUPP');
  if (clock === c.CLOCK_THREAD_CPUTIME_ID) fail('EOPNOTSUPP');
  if (clock < 0 && clock & 4) fail('EINVAL'); // a thread's CPU clock (posix_cpu_nsleep refuses it)
  // An absolute time on any clock becomes a duration from now, and so a monotonic deadline.
  sleepFor(ctx, () => {
    const target = readTimespec(ctx, req);
    return flags & TIMER_ABSTIME ? (target > now ? target - now : 0n) : target;
  }, flags & TIMER_ABSTIME ? 0 : rem); // an absolute sleep has nothing to report (clock_nanosleep(2))
  return 0;
}

/** clock_nanosleep's flag for an absolute time (linux/time.h). */
const TIMER_ABSTIME_FLAG = 1;

export const timeFamily = family('time', [
  {
    name: 'clock_gettime',
    summary: 'Reads a clock (CLOCK_REALTIME, CLOCK_MONOTONIC, CPU-time clocks...) into a struct timespec.',
    args: { clockid: 'clockid', tp: 'struct_timespec_out' },
    handler: clockGettime,
  },
  {
    name: 'clock_getres',
    summary: 'Reads the resolution of a clock.',
    args: { clockid: 'clockid', res: 'struct_timespec_out' },
    handler: clockGetres,
  },
  {
    name: 'gettimeofday',
    summary: 'Reads the wall-clock time as seconds and microseconds since the epoch.',
    args: { tv: 'ptr', tz: 'ptr' },
    handler: gettimeofday,
  },
  {
    name: 'time',
    summary: 'Returns the wall-clock time in seconds since the epoch (and stores it at tloc if not NULL).',
    args: { tloc: 'ptr' },
    handler: time,
  },
  {
    name: 'nanosleep',
    summary: 'Sleeps for a relative time; when a signal interrupts it, returns EINTR and the time left.',
    args: { req: 'sleep_timespec_in', rem: 'remaining_timespec_out' },
    interrupted: 'restart_restartblock',
    handler: nanosleep,
  },
  {
    name: 'clock_nanosleep',
    summary: 'Sleeps against a given clock, for a relative time or until an absolute time (TIMER_ABSTIME).',
    args: { clockid: 'clockid', flags: 'int', request: 'sleep_timespec_in', remain: 'remaining_timespec_out' },
    // An absolute sleep is restarted as it is; a relative one with the time left (hrtimer_nanosleep).
    interrupted: ([, flags]) => ((flags ?? 0) & TIMER_ABSTIME_FLAG ? 'restartnohand' : 'restart_restartblock'),
    handler: clockNanosleep,
    note: 'as nanosleep; CPU-time clocks sleep wall time',
  },
]);
