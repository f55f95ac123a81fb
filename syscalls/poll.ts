// Waiting for file descriptors: poll and ppoll (see poll(2)). Readiness
// comes from what each open file is (src/kernel/readiness.ts): pipes know
// their data and their other end, host ttys and pipes are asked through the
// host reader, eventfds, timerfds and epolls answer for themselves, and
// files and devices are always ready.
import { fail } from '../src/kernel/errors.ts';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, readiness } from '../src/kernel/readiness.ts';
import { UNBLOCKABLE } from '../src/kernel/signals.ts';
import { WouldBlock, type Waitable } from '../src/kernel/wait.ts';
import { readTimespec } from './time.ts';
import { family, type SyscallContext } from './types.ts';

export { POLLERR, POLLHUP, POLLIN, POLLOUT };

/**
 * What an fd would report now (POLL* bits), pushing what to wait on for
 * that to change. poll, ppoll, select and pselect6 all ask here.
 */
export function fdReadiness(ctx: SyscallContext, fd: number, events: number, waits: Waitable[]): number {
  if (fd < 0) return 0; // negative fds are skipped (see poll(2))
  if (!ctx.fds.has(fd)) return POLLNVAL;
  return readiness(ctx.fds.get(fd), events, waits);
}

interface PollState {
  deadline: bigint | null;
}

function doPoll(ctx: SyscallContext, fdsPtr: number, nfds: number, deadlineOf: () => bigint | null): number {
  if (nfds < 0 || nfds > ctx.fds.limit) fail('EINVAL');
  const raw = ctx.mem.read(fdsPtr, nfds * 8);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const waits: Waitable[] = [];
  let ready = 0;
  const out = new Uint8Array(raw);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < nfds; i++) {
    const fd = v.getInt32(i * 8, true);
    const events = v.getInt16(i * 8 + 4, true);
    // POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not.
    const revents = fdReadiness(ctx, fd, events | POLLERR | POLLHUP, waits) & (events | POLLERR | POLLHUP | POLLNVAL);
    ov.setInt16(i * 8 + 6, revents, true);
    if (revents) ready++;
  }
  const state = (ctx.task.syscallState as PollState | undefined) ?? { deadline: deadlineOf() };
  ctx.task.syscallState = state;
  if (ready > 0 || (state.deadline !== null && ctx.kernel.monotonicNs() >= state.deadline)) {
    if (nfds > 0) ctx.mem.write(fdsPtr, out);
    return ready;
  }
  throw new WouldBlock([...waits, ctx.proc.signalEvents], state.deadline);
}

/** poll(2), x86-64 only: a timeout in milliseconds, negative for none. */
function poll(ctx: SyscallContext, fdsPtr: number, nfds: number, timeoutMs: number): number {
  return doPoll(ctx, fdsPtr, nfds, () => (timeoutMs < 0 ? null : ctx.kernel.monotonicNs() + BigInt(timeoutMs) * 1_000_000n));
}

/** A relative timespec timeout (NULL: none) as an absolute CLOCK_MONOTONIC deadline. */
export function deadlineAfter(ctx: SyscallContext, timespecPtr: number): bigint | null {
  return timespecPtr ? ctx.kernel.monotonicNs() + readTimespec(ctx, timespecPtr) : null;
}

/**
 * Run a wait with a temporary signal mask (ppoll, pselect6): `readMask`
 * gives it on the first attempt (null: keep the current mask). The caller's
 * mask comes back when the call completes or fails; while it waits the
 * temporary one stays, and a handler that interrupts the wait puts the
 * caller's mask in its frame and restores it (see task.savedSigmask).
 */
export function holdingMask<T>(ctx: SyscallContext, readMask: () => bigint | null, wait: () => T): T {
  if (ctx.task.savedSigmask === null) {
    const mask = readMask();
    if (mask !== null) {
      ctx.task.savedSigmask = ctx.task.sigmask;
      ctx.task.sigmask = mask & ~UNBLOCKABLE;
    }
  }
  try {
    const n = wait();
    restoreMask(ctx);
    return n;
  } catch (e) {
    if (!(e instanceof WouldBlock)) restoreMask(ctx);
    throw e;
  }
}

function restoreMask(ctx: SyscallContext): void {
  if (ctx.task.savedSigmask !== null) {
    ctx.task.sigmask = ctx.task.savedSigmask;
    ctx.task.savedSigmask = null;
  }
}

/** ppoll(2): a timespec timeout (NULL: none) and a signal mask held while waiting. */
function ppoll(ctx: SyscallContext, fdsPtr: number, nfds: number, tmo: number, sigmaskPtr: number, sigsetsize: number): number {
  const readMask = (): bigint | null => {
    if (!sigmaskPtr) return null;
    if (sigsetsize !== 8) fail('EINVAL');
    return ctx.mem.readBigU64(sigmaskPtr);
  };
  return holdingMask(ctx, readMask, () => doPoll(ctx, fdsPtr, nfds, () => deadlineAfter(ctx, tmo)));
}

export const pollFamily = family('poll', [
  {
    name: 'poll',
    summary: 'Waits, up to a timeout in milliseconds, until one of a set of descriptors is ready for the requested events, and reports which.',
    args: { fds: 'ptr', nfds: 'uint', timeout: 'int' },
    // With a timeout the call restarts with the time left (do_restart_poll); without one, only when no handler ran.
    interrupted: ([, , timeout]) => ((timeout ?? -1) >= 0 ? 'restart_restartblock' : 'restartnohand'),
    handler: poll,
  },
  {
    name: 'ppoll',
    summary: 'poll with a timespec timeout and a signal mask installed for the duration of the wait.',
    args: { fds: 'ptr', nfds: 'uint', tmo_p: 'struct_timespec_in', sigmask: 'sigset_in', sigsetsize: 'size' },
    interrupted: 'restartnohand',
    handler: ppoll,
  },
]);
