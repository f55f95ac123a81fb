// futex(2): the fast user-space lock's slow path. WAIT blocks while the
// word still holds the expected value; WAKE, REQUEUE and WAKE_OP release
// waiters. Queues live in src/kernel/futex.ts.
import { fail } from '../src/kernel/errors.ts';
import { BITSET_ANY, type FutexWaiter } from '../src/kernel/futex.ts';
import { WouldBlock } from '../src/kernel/wait.ts';
import { deadlineAfter } from './poll.ts';
import { readTimespec } from './time.ts';
import { family, type SyscallContext } from './types.ts';

const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
const FUTEX_FD = 2;
const FUTEX_REQUEUE = 3;
const FUTEX_CMP_REQUEUE = 4;
const FUTEX_WAKE_OP = 5;
const FUTEX_WAIT_BITSET = 9;
const FUTEX_WAKE_BITSET = 10;
const FUTEX_PRIVATE_FLAG = 128;
const FUTEX_CLOCK_REALTIME = 256;
const INT_MAX = 0x7fff_ffff;

interface WaitState {
  waiter: FutexWaiter;
  /** CLOCK_MONOTONIC deadline in ns, or null to wait forever. */
  deadline: bigint | null;
}

/**
 * futex(uaddr, op, val, timeout|val2, uaddr2, val3). The fourth argument is
 * a timespec pointer for the waits and a count (val2) for the requeues.
 */
function futex(ctx: SyscallContext, uaddr: number, op: number, val: number, timeout: number, uaddr2: number, val3: number): number {
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  // FUTEX_CLOCK_REALTIME only means something to the waits (see futex(2), "ENOSYS").
  if (op & FUTEX_CLOCK_REALTIME && cmd !== FUTEX_WAIT && cmd !== FUTEX_WAIT_BITSET) fail('ENOSYS');
  const val2 = Number(BigInt.asIntN(32, BigInt(timeout)));
  switch (cmd) {
    case FUTEX_WAIT:
      return futexWait(ctx, uaddr, val, () => deadlineAfter(ctx, timeout), BITSET_ANY);
    case FUTEX_WAIT_BITSET:
      return futexWait(ctx, uaddr, val, () => absoluteDeadline(ctx, timeout, (op & FUTEX_CLOCK_REALTIME) !== 0), val3 >>> 0);
    case FUTEX_WAKE:
      return futexWake(ctx, uaddr, val, BITSET_ANY);
    case FUTEX_WAKE_BITSET:
      return futexWake(ctx, uaddr, val, val3 >>> 0);
    case FUTEX_REQUEUE:
      return futexRequeue(ctx, uaddr, val, uaddr2, val2, null);
    case FUTEX_CMP_REQUEUE:
      return futexRequeue(ctx, uaddr, val, uaddr2, val2, val3 >>> 0);
    case FUTEX_WAKE_OP:
      return futexWakeOp(ctx, uaddr, val, uaddr2, val2, val3 >>> 0);
    case FUTEX_FD:
      fail('EINVAL'); // removed in Linux 2.6.26
    default:
      // The priority-inheritance operations (LOCK_PI, UNLOCK_PI, TRYLOCK_PI,
      // WAIT_REQUEUE_PI, CMP_REQUEUE_PI, LOCK_PI2) are not implemented.
      fail('ENOSYS');
  }
}

function checkAligned(uaddr: number): void {
  if (uaddr % 4 !== 0) fail('EINVAL');
}

/**
 * FUTEX_WAIT and FUTEX_WAIT_BITSET: EAGAIN unless *uaddr == val (read at
 * once, the check and the queueing being one step), then sleep until woken
 * (0), the deadline passes (ETIMEDOUT), or a handler interrupts (EINTR).
 */
function futexWait(ctx: SyscallContext, uaddr: number, val: number, deadline: () => bigint | null, bitset: number): number {
  const table = ctx.kernel.futexes;
  const state = ctx.task.syscallState as WaitState | undefined;
  if (state) {
    if (state.waiter.woken) return 0;
    if (state.deadline !== null && ctx.kernel.monotonicNs() >= state.deadline) {
      table.remove(state.waiter);
      fail('ETIMEDOUT');
    }
    if (state.waiter.queued) throw new WouldBlock([state.waiter.wake], state.deadline);
    // Dropped from the queue while a handler ran (SA_RESTART): the call starts over.
  }
  checkAligned(uaddr);
  if (bitset === 0) fail('EINVAL');
  const limit = state ? state.deadline : deadline();
  if ((ctx.mem.readU32(uaddr) >>> 0) !== val >>> 0) fail('EAGAIN');
  if (limit !== null && ctx.kernel.monotonicNs() >= limit) fail('ETIMEDOUT');
  const waiter = table.enqueue(ctx.task, ctx.mem, uaddr, bitset);
  ctx.task.syscallState = { waiter, deadline: limit } satisfies WaitState;
  throw new WouldBlock([waiter.wake], limit);
}

/** FUTEX_WAIT_BITSET's timeout: an absolute time on CLOCK_MONOTONIC, or CLOCK_REALTIME with that flag. */
function absoluteDeadline(ctx: SyscallContext, timeout: number, realtime: boolean): bigint | null {
  if (!timeout) return null;
  const at = readTimespec(ctx, timeout);
  return realtime ? ctx.kernel.monotonicNs() + (at - ctx.kernel.clock.realtimeNs()) : at;
}

function futexWake(ctx: SyscallContext, uaddr: number, n: number, bitset: number): number {
  checkAligned(uaddr);
  if (bitset === 0) fail('EINVAL');
  return ctx.kernel.futexes.wake(ctx.mem, uaddr, wakeCount(n), bitset);
}

/** val is an int: negative counts (INT_MAX and up as unsigned) mean "all". */
function wakeCount(n: number): number {
  return n < 0 || n > INT_MAX ? INT_MAX : n;
}

/** FUTEX_REQUEUE, and FUTEX_CMP_REQUEUE which first checks *uaddr == val3 (EAGAIN otherwise). */
function futexRequeue(ctx: SyscallContext, uaddr: number, nWake: number, uaddr2: number, nMove: number, expected: number | null): number {
  checkAligned(uaddr);
  checkAligned(uaddr2);
  if (nWake < 0 || nMove < 0) fail('EINVAL');
  if (expected !== null && ctx.mem.readU32(uaddr) >>> 0 !== expected) fail('EAGAIN');
  if (uaddr === uaddr2) return ctx.kernel.futexes.wake(ctx.mem, uaddr, nWake); // nothing to move
  return ctx.kernel.futexes.requeue(ctx.mem, uaddr, nWake, uaddr2, nMove);
}

/**
 * FUTEX_WAKE_OP: *uaddr2 = oldval OP oparg, wake `n` on uaddr, and if
 * (oldval CMP cmparg) also wake `n2` on uaddr2. val3 encodes
 * op:4 cmp:4 oparg:12 cmparg:12 (see futex(2)).
 */
function futexWakeOp(ctx: SyscallContext, uaddr: number, n: number, uaddr2: number, n2: number, encoded: number): number {
  checkAligned(uaddr);
  checkAligned(uaddr2);
  const op = (encoded >>> 28) & 0xf;
  const cmp = (encoded >>> 24) & 0xf;
  let oparg = signExtend12((encoded >>> 12) & 0xfff);
  const cmparg = signExtend12(encoded & 0xfff);
  const FUTEX_OP_OPARG_SHIFT = 8;
  if (op & FUTEX_OP_OPARG_SHIFT) {
    if (oparg < 0 || oparg > 31) fail('EINVAL');
    oparg = 1 << oparg;
  }
  const old = ctx.mem.readU32(uaddr2) | 0;
  ctx.mem.writeU32(uaddr2, applyOp(op & 7, old, oparg) >>> 0);
  const table = ctx.kernel.futexes;
  let woken = table.wake(ctx.mem, uaddr, wakeCount(n));
  if (compare(cmp, old, cmparg)) woken += table.wake(ctx.mem, uaddr2, wakeCount(n2));
  return woken;
}

function signExtend12(v: number): number {
  return (v << 20) >> 20;
}

/** FUTEX_OP_SET, ADD, OR, ANDN, XOR. */
function applyOp(op: number, old: number, arg: number): number {
  switch (op) {
    case 0: return arg;
    case 1: return (old + arg) | 0;
    case 2: return old | arg;
    case 3: return old & ~arg;
    case 4: return old ^ arg;
    default: fail('ENOSYS');
  }
}

/** FUTEX_OP_CMP_EQ, NE, LT, LE, GT, GE (signed comparisons). */
function compare(cmp: number, old: number, arg: number): boolean {
  switch (cmp) {
    case 0: return old === arg;
    case 1: return old !== arg;
    case 2: return old < arg;
    case 3: return old <= arg;
    case 4: return old > arg;
    case 5: return old >= arg;
    default: fail('ENOSYS');
  }
}

/** A FUTEX_WAIT or FUTEX_WAIT_BITSET with a timeout (what a signal makes -ERESTART_RESTARTBLOCK). */
function isTimedWait(op: number, timeout: number): boolean {
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  return (cmd === FUTEX_WAIT || cmd === FUTEX_WAIT_BITSET) && timeout !== 0;
}

export const futexFamily = family('futex', [
  {
    name: 'futex',
    summary: 'Fast user-space locking: waits while a 32-bit word has an expected value (FUTEX_WAIT) or wakes waiters on it (FUTEX_WAKE), among other operations.',
    args: { uaddr: 'ptr', futex_op: 'futex_op', val: 'int', timeout: 'ptr', uaddr2: 'ptr', val3: 'hex' },
    // A wait with a timeout restarts with the time left, so only when no handler ran (futex_wait).
    interrupted: ([, op, , timeout]) => (isTimedWait(op ?? 0, timeout ?? 0) ? 'restart_restartblock' : 'restartsys'),
    handler: futex,
    note: 'no priority-inheritance ops (ENOSYS); FUTEX_SHARED keyed like private (no shared memory between processes)',
  },
]);
