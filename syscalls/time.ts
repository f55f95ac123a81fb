// Clocks and sleeps (see clock_gettime(2), nanosleep(2)). Sleeping blocks
// the whole emulator for now; the scheduler (processes issue) will park only
// the sleeping task.
import { fail } from '../src/kernel/errors.ts';
import { family, type SyscallContext } from './types.ts';

const NS = 1_000_000_000n;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function realtimeNs(): bigint {
  // Date.now() has millisecond resolution; add the sub-millisecond part of the monotonic clock.
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

function clockNs(ctx: SyscallContext, clock: number): bigint {
  const c = ctx.arch.c;
  switch (clock) {
    case c.CLOCK_REALTIME:
    case c.CLOCK_REALTIME_COARSE:
    case c.CLOCK_TAI:
      return realtimeNs();
    case c.CLOCK_MONOTONIC:
    case c.CLOCK_MONOTONIC_RAW:
    case c.CLOCK_MONOTONIC_COARSE:
    case c.CLOCK_BOOTTIME:
      return ctx.kernel.monotonicNs();
    case c.CLOCK_PROCESS_CPUTIME_ID:
    case c.CLOCK_THREAD_CPUTIME_ID: {
      const u = process.cpuUsage();
      return BigInt(u.user + u.system) * 1000n;
    }
    default:
      fail('EINVAL');
  }
}

function writeTimespec(ctx: SyscallContext, addr: number, ns: bigint): void {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, ns / NS, true);
  v.setBigInt64(8, ns % NS, true);
  ctx.mem.write(addr, b);
}

/** A struct timespec from the guest; EINVAL when tv_nsec is outside [0, 1e9) or tv_sec < 0. */
function readTimespec(ctx: SyscallContext, addr: number): bigint {
  const sec = BigInt(ctx.mem.readI64(addr));
  const nsec = BigInt(ctx.mem.readI64(addr + 8));
  if (nsec < 0n || nsec >= NS || sec < 0n) fail('EINVAL');
  return sec * NS + nsec;
}

function sleepNs(ns: bigint): void {
  let remaining = Number(ns / 1_000_000n);
  while (remaining > 0) {
    const step = Math.min(remaining, 1000);
    Atomics.wait(sleeper, 0, 0, step);
    remaining -= step;
  }
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
  const ns = realtimeNs();
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
  const secs = Number(realtimeNs() / NS);
  if (tloc) ctx.mem.writeU64(tloc, secs);
  return secs;
}

function nanosleep(ctx: SyscallContext, req: number, rem: number): number {
  sleepNs(readTimespec(ctx, req));
  if (rem) writeTimespec(ctx, rem, 0n);
  return 0;
}

function clockNanosleep(ctx: SyscallContext, clock: number, flags: number, req: number, rem: number): number {
  const target = readTimespec(ctx, req);
  const now = clockNs(ctx, clock);
  const TIMER_ABSTIME = 1;
  sleepNs(flags & TIMER_ABSTIME ? (target > now ? target - now : 0n) : target);
  if (rem && !(flags & TIMER_ABSTIME)) writeTimespec(ctx, rem, 0n);
  return 0;
}

export const timeFamily = family('time', [
  { name: 'clock_gettime', args: { clockid: 'clockid', tp: 'struct_timespec_out' }, handler: clockGettime },
  { name: 'clock_getres', args: { clockid: 'clockid', res: 'struct_timespec_out' }, handler: clockGetres },
  { name: 'gettimeofday', args: { tv: 'ptr', tz: 'ptr' }, handler: gettimeofday },
  { name: 'time', args: { tloc: 'ptr' }, handler: time },
  { name: 'nanosleep', args: { req: 'struct_timespec_in', rem: 'struct_timespec_out' }, handler: nanosleep },
  {
    name: 'clock_nanosleep',
    args: { clockid: 'clockid', flags: 'int', request: 'struct_timespec_in', remain: 'struct_timespec_out' },
    handler: clockNanosleep,
  },
]);
