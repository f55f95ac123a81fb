// Signal bookkeeping: rt_sigaction, rt_sigprocmask, sigaltstack. Delivery
// (frames, handlers running) comes with the processes and signals work; for
// now the kernel records what the guest asks so libc start-up works.
import { fail } from '../src/kernel/errors.ts';
import { family, type SyscallContext } from './types.ts';

const SIGKILL = 9;
const SIGSTOP = 19;
const NSIG = 64;
/** Signals that can never be blocked (see sigprocmask(2)). */
const UNBLOCKABLE = (1n << BigInt(SIGKILL - 1)) | (1n << BigInt(SIGSTOP - 1));

/** struct kernel_sigaction: handler, flags, restorer, mask (8 bytes each on 64-bit). */
function rtSigaction(ctx: SyscallContext, sig: number, act: number, oldact: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  if (sig < 1 || sig > NSIG) fail('EINVAL');
  if (act && (sig === SIGKILL || sig === SIGSTOP)) fail('EINVAL');
  const current = ctx.proc.sigactions.get(sig) ?? { handler: 0n, flags: 0n, restorer: 0n, mask: 0n };
  const next = act
    ? {
        handler: ctx.mem.readBigU64(act),
        flags: ctx.mem.readBigU64(act + 8),
        restorer: ctx.mem.readBigU64(act + 16),
        mask: ctx.mem.readBigU64(act + 24),
      }
    : null;
  if (oldact) {
    ctx.mem.writeU64(oldact, current.handler);
    ctx.mem.writeU64(oldact + 8, current.flags);
    ctx.mem.writeU64(oldact + 16, current.restorer);
    ctx.mem.writeU64(oldact + 24, current.mask);
  }
  if (next) ctx.proc.sigactions.set(sig, next);
  return 0;
}

function rtSigprocmask(ctx: SyscallContext, how: number, set: number, oldset: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  const c = ctx.arch.c;
  const value = set ? ctx.mem.readBigU64(set) : null;
  if (value !== null && how !== c.SIG_BLOCK && how !== c.SIG_UNBLOCK && how !== c.SIG_SETMASK) fail('EINVAL');
  if (oldset) ctx.mem.writeU64(oldset, ctx.proc.sigmask);
  if (value !== null) {
    const mask = ctx.proc.sigmask;
    const next = how === c.SIG_BLOCK ? mask | value : how === c.SIG_UNBLOCK ? mask & ~value : value;
    ctx.proc.sigmask = next & ~UNBLOCKABLE;
    actOnUnblocked(ctx);
  }
  return 0;
}

/** stack_t: ss_sp (8), ss_flags (4 + 4 padding), ss_size (8). */
function sigaltstack(ctx: SyscallContext, ss: number, oldss: number): number {
  const SS_ONSTACK = 1;
  const SS_DISABLE = 2;
  const SS_AUTODISARM = 1 << 31;
  const next = ss ? { sp: ctx.mem.readU64(ss), flags: ctx.mem.readI32(ss + 8), size: ctx.mem.readU64(ss + 16) } : null;
  if (next) {
    if (next.flags & ~(SS_DISABLE | SS_AUTODISARM | SS_ONSTACK)) fail('EINVAL');
    if (!(next.flags & SS_DISABLE) && next.size < ctx.arch.c.MINSIGSTKSZ) fail('ENOMEM');
  }
  if (oldss) {
    const cur = ctx.proc.altstack;
    ctx.mem.writeU64(oldss, cur.sp);
    ctx.mem.writeU32(oldss + 8, cur.flags);
    ctx.mem.writeU32(oldss + 12, 0);
    ctx.mem.writeU64(oldss + 16, cur.size);
  }
  if (next) ctx.proc.altstack = next.flags & SS_DISABLE ? { sp: 0, flags: SS_DISABLE, size: 0 } : { ...next, flags: next.flags & ~SS_ONSTACK };
  return 0;
}

/** Signals whose default action is to be ignored (see signal(7)); the rest terminate (or stop). */
const IGNORED_BY_DEFAULT = new Set([17 /* SIGCHLD */, 18 /* SIGCONT */, 23 /* SIGURG */, 28 /* SIGWINCH */]);
const STOP_SIGNALS = new Set([19, 20, 21, 22]);
/** Default action "core": SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS. */
const CORE_SIGNALS = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);
const SIG_IGN = 1n;

/**
 * Send a signal to ourselves. Until delivery to handlers lands, only the
 * default actions run: terminate (with a core flag when RLIMIT_CORE allows),
 * or ignore. A blocked signal, or one with a handler installed, stays
 * pending and is not delivered yet.
 */
function sendToSelf(ctx: SyscallContext, sig: number): number {
  if (sig < 0 || sig > NSIG) fail('EINVAL');
  if (sig === 0) return 0;
  const p = ctx.proc;
  const action = p.sigactions.get(sig);
  const bit = 1n << BigInt(sig - 1);
  if (sig !== SIGKILL && (p.sigmask & bit || (action && action.handler !== 0n))) {
    if (!(action?.handler === SIG_IGN)) p.sigpending |= bit;
    return 0;
  }
  if (action?.handler === SIG_IGN && sig !== SIGKILL) return 0;
  if (IGNORED_BY_DEFAULT.has(sig) || STOP_SIGNALS.has(sig)) return 0; // stopping needs job control (a later issue)
  p.killBySignal(sig, CORE_SIGNALS.has(sig) && p.rlimits.get(4)!.cur > 0n);
  return 0;
}

/** A pending signal that becomes unblocked takes its default action now (handlers: a later issue). */
function actOnUnblocked(ctx: SyscallContext): void {
  const p = ctx.proc;
  const ready = p.sigpending & ~p.sigmask;
  for (let sig = 1; sig <= NSIG && ready; sig++) {
    const bit = 1n << BigInt(sig - 1);
    if (!(ready & bit)) continue;
    const action = p.sigactions.get(sig);
    if (action && action.handler !== 0n) continue;
    p.sigpending &= ~bit;
    sendToSelf(ctx, sig);
    if (p.exited) return;
  }
}

/** kill(2): our pid, 0 (our group), -1 (everyone we may signal) or -pgid reach only us now. */
function kill(ctx: SyscallContext, pid: number, sig: number): number {
  const p = ctx.proc;
  if (pid === p.pid || pid === 0 || pid === -1 || pid === -p.pgid) return sendToSelf(ctx, sig);
  fail('ESRCH');
}

function tgkill(ctx: SyscallContext, tgid: number, tid: number, sig: number): number {
  if (tgid <= 0 || tid <= 0) fail('EINVAL');
  if (tgid !== ctx.proc.pid || tid !== ctx.proc.tid) fail('ESRCH');
  return sendToSelf(ctx, sig);
}

function tkill(ctx: SyscallContext, tid: number, sig: number): number {
  if (tid <= 0) fail('EINVAL');
  if (tid !== ctx.proc.tid) fail('ESRCH');
  return sendToSelf(ctx, sig);
}

export const signalFamily = family('signal', [
  {
    name: 'rt_sigaction',
    args: { signum: 'signal', act: 'struct_sigaction_in', oldact: 'struct_sigaction_out', sigsetsize: 'size' },
    handler: rtSigaction,
    note: 'bookkeeping only; handlers are not delivered yet',
  },
  {
    name: 'rt_sigprocmask',
    args: { how: 'sigprocmask_how', set: 'sigset_in', oldset: 'sigset_out', sigsetsize: 'size' },
    handler: rtSigprocmask,
  },
  { name: 'sigaltstack', args: { ss: 'ptr', old_ss: 'ptr' }, handler: sigaltstack },
  { name: 'kill', args: { pid: 'int', sig: 'signal' }, handler: kill, note: 'to itself only; default actions, no handler delivery yet' },
  { name: 'tkill', args: { tid: 'int', sig: 'signal' }, handler: tkill, note: 'to itself only' },
  { name: 'tgkill', args: { tgid: 'int', tid: 'int', sig: 'signal' }, handler: tgkill, note: 'to itself only' },
]);
