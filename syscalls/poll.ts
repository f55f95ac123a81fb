// Waiting for file descriptors: poll and ppoll (see poll(2)). Readiness
// comes from what each open file is: pipes know their data and their other
// end; host ttys and pipes are asked through the host reader; files and
// devices are always ready.
import { fail } from '../src/kernel/errors.ts';
import { PipeEnd, PipeNode, PIPE_BUF } from '../src/kernel/pipe.ts';
import { HostStreamFile } from '../src/kernel/stdio.ts';
import { WouldBlock, type Waitable } from '../src/kernel/wait.ts';
import { family, type SyscallContext } from './types.ts';

const POLLIN = 0x1;
const POLLPRI = 0x2;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
const POLLRDNORM = 0x40;
const POLLWRNORM = 0x100;
const NS = 1_000_000_000n;
const UNBLOCKABLE = (1n << 8n) | (1n << 18n);

/** What an fd would report now, and what to wait on if nothing it asks for is ready. */
function readiness(ctx: SyscallContext, fd: number, events: number, waits: Waitable[]): number {
  if (fd < 0) return 0; // negative fds are skipped (see poll(2))
  if (!ctx.fds.has(fd)) return POLLNVAL;
  const ofd = ctx.fds.get(fd);
  const file = ofd.file;
  const wantIn = events & (POLLIN | POLLRDNORM);
  const wantOut = events & (POLLOUT | POLLWRNORM);
  if (ofd.node instanceof PipeNode && file instanceof PipeEnd) {
    const pipe = ofd.node.pipe;
    if (file.end === 'read') {
      let r = pipe.available > 0 ? wantIn : 0;
      if (pipe.writers === 0) r |= POLLHUP;
      if (!r) waits.push(pipe.readable);
      return r;
    }
    if (pipe.readers === 0) return POLLERR;
    const r = pipe.capacity - pipe.available >= PIPE_BUF ? wantOut : 0;
    if (!r) waits.push(pipe.writable);
    return r;
  }
  if (file instanceof HostStreamFile && file.pollInput && ofd.canRead) {
    let r = wantOut && ofd.canWrite ? wantOut : 0;
    if (wantIn) {
      if (file.pollInput.probe()) r |= wantIn;
      else waits.push(file.pollInput.ready);
    }
    return r;
  }
  return (wantIn ? wantIn : 0) | (wantOut ? wantOut : 0);
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
    const revents = readiness(ctx, fd, events | POLLERR | POLLHUP, waits) & (events | POLLERR | POLLHUP | POLLNVAL);
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

/** ppoll(2): a timespec timeout (NULL: none) and a signal mask held while waiting. */
function ppoll(ctx: SyscallContext, fdsPtr: number, nfds: number, tmo: number, sigmaskPtr: number, sigsetsize: number): number {
  const deadlineOf = (): bigint | null => {
    if (!tmo) return null;
    const sec = BigInt(ctx.mem.readI64(tmo));
    const nsec = BigInt(ctx.mem.readI64(tmo + 8));
    if (sec < 0n || nsec < 0n || nsec >= NS) fail('EINVAL');
    return ctx.kernel.monotonicNs() + sec * NS + nsec;
  };
  if (sigmaskPtr && ctx.task.savedSigmask === null) {
    if (sigsetsize !== 8) fail('EINVAL');
    const mask = ctx.mem.readBigU64(sigmaskPtr);
    ctx.task.savedSigmask = ctx.proc.sigmask;
    ctx.proc.sigmask = mask & ~UNBLOCKABLE;
  }
  try {
    const n = doPoll(ctx, fdsPtr, nfds, deadlineOf);
    restoreMask(ctx);
    return n;
  } catch (e) {
    // While it waits the temporary mask stays; a handler that interrupts the wait restores it.
    if (!(e instanceof WouldBlock)) restoreMask(ctx);
    throw e;
  }
}

function restoreMask(ctx: SyscallContext): void {
  if (ctx.task.savedSigmask !== null) {
    ctx.proc.sigmask = ctx.task.savedSigmask;
    ctx.task.savedSigmask = null;
  }
}

export const pollFamily = family('poll', [
  { name: 'poll', args: { fds: 'ptr', nfds: 'uint', timeout: 'int' }, handler: poll },
  {
    name: 'ppoll',
    args: { fds: 'ptr', nfds: 'uint', tmo_p: 'struct_timespec_in', sigmask: 'sigset_in', sigsetsize: 'size' },
    handler: ppoll,
  },
]);
