// Waiting on fd_set bitmaps: select (x86-64) and pselect6 (see select(2)).
// Readiness is poll's: a read-set bit is POLLIN|POLLHUP|POLLERR (Linux's
// POLLIN_SET), a write-set bit POLLOUT|POLLERR (POLLOUT_SET), an except-set
// bit POLLPRI (POLLEX_SET) — fs/select.c.
import { fail } from '../src/kernel/errors.ts';
import { WouldBlock, type Waitable } from '../src/kernel/wait.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, deadlineAfter, fdReadiness, holdingMask } from './poll.ts';
import { family, type SyscallContext } from './types.ts';

const NS = 1_000_000_000n;

interface Ready {
  read: boolean;
  write: boolean;
  except: boolean;
}

/**
 * What an open fd reports, as select sees poll's answer: readable for
 * POLLIN or POLLHUP (end of file), writable for POLLOUT or POLLERR (a pipe
 * without readers: write gives EPIPE at once); except is never reported.
 */
function readiness(ctx: SyscallContext, fd: number, wantR: boolean, wantW: boolean, waits: Waitable[]): Ready {
  const events = (wantR ? POLLIN : 0) | (wantW ? POLLOUT : 0) | POLLERR | POLLHUP;
  const revents = fdReadiness(ctx, fd, events, waits);
  return { read: (revents & (POLLIN | POLLHUP)) !== 0, write: (revents & (POLLOUT | POLLERR)) !== 0, except: false };
}

interface SelectState {
  deadline: bigint | null;
}

function readSet(ctx: SyscallContext, ptr: number, words: number): BigUint64Array | null {
  if (!ptr) return null;
  const raw = ctx.mem.read(ptr, words * 8);
  const out = new BigUint64Array(words);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < words; i++) out[i] = v.getBigUint64(i * 8, true);
  return out;
}

function writeSet(ctx: SyscallContext, ptr: number, set: BigUint64Array): void {
  const out = new Uint8Array(set.length * 8);
  const v = new DataView(out.buffer);
  for (let i = 0; i < set.length; i++) v.setBigUint64(i * 8, set[i]!, true);
  ctx.mem.write(ptr, out);
}

const bit = (set: BigUint64Array | null, fd: number): boolean => !!set && ((set[fd >> 6]! >> BigInt(fd & 63)) & 1n) === 1n;
const setBit = (set: BigUint64Array, fd: number): void => {
  set[fd >> 6] = set[fd >> 6]! | (1n << BigInt(fd & 63));
};

/** The common body: returns the count of set bits written back, or throws WouldBlock. */
function doSelect(ctx: SyscallContext, nfds: number, rp: number, wp: number, ep: number, deadlineOf: () => bigint | null): number {
  // select(2): EINVAL "nfds is negative or exceeds the RLIMIT_NOFILE resource limit".
  if (nfds < 0 || nfds > ctx.fds.limit) fail('EINVAL');
  const words = Math.ceil(nfds / 64);
  const rin = readSet(ctx, rp, words);
  const win = readSet(ctx, wp, words);
  const ein = readSet(ctx, ep, words);
  // The deadline is fixed at the first attempt and kept across retries.
  const state = (ctx.task.syscallState as SelectState | undefined) ?? { deadline: deadlineOf() };
  ctx.task.syscallState = state;
  const rout = new BigUint64Array(words);
  const wout = new BigUint64Array(words);
  const eout = new BigUint64Array(words);
  const waits: Waitable[] = [];
  let count = 0;
  for (let fd = 0; fd < nfds; fd++) {
    const wr = bit(rin, fd);
    const ww = bit(win, fd);
    const we = bit(ein, fd);
    if (!wr && !ww && !we) continue;
    // EBADF: "An invalid file descriptor was given in one of the sets."
    if (!ctx.fds.has(fd)) fail('EBADF');
    const r = readiness(ctx, fd, wr, ww, waits);
    if (wr && r.read) {
      setBit(rout, fd);
      count++;
    }
    if (ww && r.write) {
      setBit(wout, fd);
      count++;
    }
    if (we && r.except) {
      setBit(eout, fd);
      count++;
    }
  }
  if (count > 0 || (state.deadline !== null && ctx.kernel.monotonicNs() >= state.deadline)) {
    // On success (timeouts included) every given set is rewritten, cleared when nothing is ready.
    if (rin) writeSet(ctx, rp, rout);
    if (win) writeSet(ctx, wp, wout);
    if (ein) writeSet(ctx, ep, eout);
    return count;
  }
  throw new WouldBlock([...waits, ctx.proc.signalEvents], state.deadline);
}

/** select(2), x86-64: struct timeval timeout (NULL: forever); Linux writes the time left back into it. */
function select(ctx: SyscallContext, nfds: number, rp: number, wp: number, ep: number, tvp: number): number {
  const deadlineOf = (): bigint | null => {
    if (!tvp) return null;
    const sec = BigInt(ctx.mem.readI64(tvp));
    const usec = BigInt(ctx.mem.readI64(tvp + 8));
    if (sec < 0n || usec < 0n) fail('EINVAL');
    // Linux normalises microseconds past a second (poll_select_set_timeout takes usec * 1000 as ns and normalises).
    return ctx.kernel.monotonicNs() + sec * NS + usec * 1000n;
  };
  const n = doSelect(ctx, nfds, rp, wp, ep, deadlineOf);
  const state = ctx.task.syscallState as SelectState | undefined;
  if (tvp && state && state.deadline !== null) {
    // poll_select_finish: the remaining time, zero once the deadline has passed.
    let left = state.deadline - ctx.kernel.monotonicNs();
    if (left < 0n) left = 0n;
    const out = new Uint8Array(16);
    const v = new DataView(out.buffer);
    v.setBigInt64(0, left / NS, true);
    v.setBigInt64(8, (left % NS) / 1000n, true);
    ctx.mem.write(tvp, out);
  }
  return n;
}

/**
 * pselect6: timespec timeout (not modified, as glibc's pselect promises) and
 * a sixth argument pointing at { const sigset_t *ss; size_t ss_len } (see
 * select(2), "C library/kernel differences").
 */
function pselect6(ctx: SyscallContext, nfds: number, rp: number, wp: number, ep: number, tsp: number, sigArg: number): number {
  const readMask = (): bigint | null => {
    if (!sigArg) return null;
    const ss = Number(ctx.mem.readBigU64(sigArg));
    const ssLen = Number(ctx.mem.readBigU64(sigArg + 8));
    if (!ss) return null;
    if (ssLen !== 8) fail('EINVAL');
    return ctx.mem.readBigU64(ss);
  };
  return holdingMask(ctx, readMask, () => doSelect(ctx, nfds, rp, wp, ep, () => deadlineAfter(ctx, tsp)));
}

export const selectFamily = family('select', [
  {
    name: 'select',
    summary: 'Waits, up to a timeout, until descriptors in the read, write or exception sets are ready; rewrites the sets to the ready ones.',
    args: { nfds: 'int', readfds: 'ptr', writefds: 'ptr', exceptfds: 'ptr', timeout: 'ptr' },
    interrupted: 'restartnohand',
    handler: select,
    note: 'pipes, host ttys; files always ready; exceptfds never set; remaining time written back',
  },
  {
    name: 'pselect6',
    summary: 'select with a timespec timeout and a signal mask installed for the duration of the wait.',
    args: { nfds: 'int', readfds: 'ptr', writefds: 'ptr', exceptfds: 'ptr', timeout: 'struct_timespec_in', sigmask: 'ptr' },
    interrupted: 'restartnohand',
    handler: pselect6,
    note: 'as select; timespec timeout; { sigset, size } mask held while waiting',
  },
]);
