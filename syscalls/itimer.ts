// The real-time interval timer: alarm, setitimer and getitimer (see
// alarm(2), setitimer(2)). ITIMER_REAL counts wall time and sends SIGALRM;
// the kernel's scheduler fires it. ITIMER_VIRTUAL and ITIMER_PROF (CPU-time
// timers) are kept but never fire: tslinux does not account guest CPU time
// per process yet.
import { fail } from '../src/kernel/errors.ts';
import { family, type SyscallContext } from './types.ts';

const ITIMER_REAL = 0;
const ITIMER_VIRTUAL = 1;
const ITIMER_PROF = 2;
const US = 1000n;
const S = 1_000_000_000n;
/** The largest kernel time, in nanoseconds (include/linux/ktime.h). */
const KTIME_MAX = (1n << 63n) - 1n;

interface ItimerValue {
  intervalNs: bigint;
  valueNs: bigint;
}

function current(ctx: SyscallContext): ItimerValue {
  const t = ctx.proc.itimerReal;
  if (!t) return { intervalNs: 0n, valueNs: 0n };
  const left = t.deadlineNs - ctx.kernel.monotonicNs();
  return { intervalNs: t.intervalNs, valueNs: left > 0n ? left : 1000n };
}

function arm(ctx: SyscallContext, v: ItimerValue): void {
  ctx.proc.itimerReal = v.valueNs > 0n ? { deadlineNs: ctx.kernel.monotonicNs() + v.valueNs, intervalNs: v.intervalNs } : null;
}

/** struct itimerval: it_interval then it_value, each a struct timeval (sec, usec). */
function readItimerval(ctx: SyscallContext, addr: number): ItimerValue {
  const b = ctx.mem.read(addr, 32);
  const v = new DataView(b.buffer, b.byteOffset, 32);
  const tv = (at: number): bigint => {
    const sec = v.getBigInt64(at, true);
    const usec = v.getBigInt64(at + 8, true);
    if (sec < 0n || usec < 0n || usec >= 1_000_000n) fail('EINVAL');
    return sec * S + usec * US;
  };
  // Linux converts with timeval_to_ktime, which saturates at KTIME_MAX.
  const saturate = (ns: bigint): bigint => (ns > KTIME_MAX ? KTIME_MAX : ns);
  return { intervalNs: saturate(tv(0)), valueNs: saturate(tv(16)) };
}

function writeItimerval(ctx: SyscallContext, addr: number, val: ItimerValue): void {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  const put = (at: number, ns: bigint): void => {
    // Round up to whole microseconds so a running timer never reads as 0 (disarmed).
    const us = (ns + US - 1n) / US;
    v.setBigInt64(at, us / 1_000_000n, true);
    v.setBigInt64(at + 8, us % 1_000_000n, true);
  };
  put(0, val.intervalNs);
  put(16, val.valueNs);
  ctx.mem.write(addr, b);
}

const otherTimers = new WeakMap<object, Map<number, ItimerValue>>();

function cpuTimers(ctx: SyscallContext): Map<number, ItimerValue> {
  let m = otherTimers.get(ctx.proc);
  if (!m) otherTimers.set(ctx.proc, (m = new Map()));
  return m;
}

function setitimer(ctx: SyscallContext, which: number, newPtr: number, oldPtr: number): number {
  if (which !== ITIMER_REAL && which !== ITIMER_VIRTUAL && which !== ITIMER_PROF) fail('EINVAL');
  const next = newPtr ? readItimerval(ctx, newPtr) : { intervalNs: 0n, valueNs: 0n };
  const old = which === ITIMER_REAL ? current(ctx) : (cpuTimers(ctx).get(which) ?? { intervalNs: 0n, valueNs: 0n });
  if (oldPtr) writeItimerval(ctx, oldPtr, old);
  if (which === ITIMER_REAL) arm(ctx, next);
  else cpuTimers(ctx).set(which, next);
  return 0;
}

function getitimer(ctx: SyscallContext, which: number, curPtr: number): number {
  if (which !== ITIMER_REAL && which !== ITIMER_VIRTUAL && which !== ITIMER_PROF) fail('EINVAL');
  writeItimerval(ctx, curPtr, which === ITIMER_REAL ? current(ctx) : (cpuTimers(ctx).get(which) ?? { intervalNs: 0n, valueNs: 0n }));
  return 0;
}

/** alarm(2): returns the seconds left on the previous alarm, rounded to the nearest (at least 1 when one was set). */
function alarm(ctx: SyscallContext, seconds: number): number {
  const old = current(ctx);
  arm(ctx, { intervalNs: 0n, valueNs: BigInt(seconds >>> 0) * S });
  if (old.valueNs === 0n) return 0;
  // alarm_setitimer returns an unsigned int: a longer timer set by setitimer wraps, as there.
  const secs = Number(BigInt.asUintN(32, (old.valueNs + S / 2n) / S));
  return Math.max(1, secs);
}

export const itimerFamily = family('itimer', [
  {
    name: 'alarm',
    summary: 'Arranges for SIGALRM to be sent after the given number of seconds (0 cancels) and returns the seconds left on the previous alarm.',
    args: { seconds: 'uint' },
    handler: alarm,
  },
  {
    name: 'setitimer',
    summary: 'Arms or disarms an interval timer (ITIMER_REAL counts wall time and sends SIGALRM; the others count CPU time) and returns the previous setting.',
    args: { which: 'itimer_which', new_value: 'struct_itimerval_in', old_value: 'struct_itimerval_out' },
    handler: setitimer,
    note: 'ITIMER_REAL fires; the CPU-time timers are kept but never fire',
  },
  {
    name: 'getitimer',
    summary: 'Reads the time left on an interval timer and its reload interval.',
    args: { which: 'itimer_which', curr_value: 'struct_itimerval_out' },
    handler: getitimer,
  },
]);
