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

/**
 * The sa_flags bits Linux keeps (UAPI_SA_FLAGS: SA_NOCLDSTOP, SA_NOCLDWAIT,
 * SA_SIGINFO, SA_EXPOSE_TAGBITS, SA_RESTORER, SA_ONSTACK, SA_RESTART,
 * SA_NODEFER, SA_RESETHAND; the same on x86-64 and aarch64). Unknown bits
 * read back as clear, which is how programs detect flag support.
 */
const UAPI_SA_FLAGS = 0xdc00_0807n;
const SIG_DFL = 0n;
const SIG_IGN = 1n;

/** struct kernel_sigaction: handler, flags, restorer, mask (8 bytes each on 64-bit). */
function rtSigaction(ctx: SyscallContext, sig: number, act: number, oldact: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  const next = act
    ? {
        handler: ctx.mem.readBigU64(act),
        flags: ctx.mem.readBigU64(act + 8) & UAPI_SA_FLAGS,
        restorer: ctx.mem.readBigU64(act + 16),
        // SIGKILL and SIGSTOP cannot be blocked, not even while a handler runs.
        mask: ctx.mem.readBigU64(act + 24) & ~UNBLOCKABLE,
      }
    : null;
  if (sig < 1 || sig > NSIG) fail('EINVAL');
  if (act && (sig === SIGKILL || sig === SIGSTOP)) fail('EINVAL');
  const p = ctx.proc;
  const current = p.sigactions.get(sig) ?? { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
  if (next) {
    p.sigactions.set(sig, next);
    // A pending signal whose action becomes "ignore" is discarded (POSIX; see sigaction(2)).
    if (ignoredBy(sig, next.handler)) p.sigpending &= ~bitOf(sig);
  }
  if (oldact) {
    const out = new Uint8Array(32);
    const v = new DataView(out.buffer);
    v.setBigUint64(0, current.handler, true);
    v.setBigUint64(8, current.flags, true);
    v.setBigUint64(16, current.restorer, true);
    v.setBigUint64(24, current.mask, true);
    ctx.mem.write(oldact, out);
  }
  return 0;
}

/** rt_sigprocmask(2): the new mask takes effect before the old one is written back (EFAULT then still changed it). */
function rtSigprocmask(ctx: SyscallContext, how: number, set: number, oldset: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  const c = ctx.arch.c;
  const old = ctx.proc.sigmask;
  if (set) {
    const value = ctx.mem.readBigU64(set);
    let next: bigint;
    if (how === c.SIG_BLOCK) next = old | value;
    else if (how === c.SIG_UNBLOCK) next = old & ~value;
    else if (how === c.SIG_SETMASK) next = value;
    else fail('EINVAL');
    ctx.proc.sigmask = next & ~UNBLOCKABLE;
    actOnUnblocked(ctx);
  }
  if (oldset) ctx.mem.writeU64(oldset, old);
  return 0;
}

/** stack_t: ss_sp (8), ss_flags (4 + 4 padding), ss_size (8). */
function sigaltstack(ctx: SyscallContext, ss: number, oldss: number): number {
  const SS_ONSTACK = 1;
  const SS_DISABLE = 2;
  const SS_AUTODISARM = 1 << 31;
  const next = ss ? { sp: ctx.mem.readU64(ss), flags: ctx.mem.readI32(ss + 8), size: ctx.mem.readU64(ss + 16) } : null;
  const old = ctx.proc.altstack;
  if (next) {
    // Besides SS_AUTODISARM, the mode is exactly one of 0, SS_ONSTACK or SS_DISABLE.
    const mode = next.flags & ~SS_AUTODISARM;
    if (mode !== 0 && mode !== SS_ONSTACK && mode !== SS_DISABLE) fail('EINVAL');
    if (mode === SS_DISABLE) ctx.proc.altstack = { sp: 0, flags: next.flags, size: 0 };
    else {
      if (next.size < ctx.arch.c.MINSIGSTKSZ) fail('ENOMEM');
      // SS_ONSTACK on input means the same as 0; on output it says "running on it".
      ctx.proc.altstack = { ...next, flags: next.flags & ~SS_ONSTACK };
    }
  }
  if (oldss) {
    const out = new Uint8Array(24);
    const v = new DataView(out.buffer);
    v.setBigUint64(0, BigInt(old.sp), true);
    v.setInt32(8, old.flags, true);
    v.setBigUint64(16, BigInt(old.size), true);
    ctx.mem.write(oldss, out);
  }
  return 0;
}

/** Signals whose default action is to be ignored (see signal(7)); the rest terminate (or stop). */
const IGNORED_BY_DEFAULT = new Set([17 /* SIGCHLD */, 18 /* SIGCONT */, 23 /* SIGURG */, 28 /* SIGWINCH */]);
const STOP_SIGNALS = new Set([19, 20, 21, 22]);
/** Default action "core": SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS. */
const CORE_SIGNALS = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);

function bitOf(sig: number): bigint {
  return 1n << BigInt(sig - 1);
}

/** Whether a signal with this handler is dropped on arrival (SIG_IGN, or SIG_DFL whose default is to ignore). */
function ignoredBy(sig: number, handler: bigint): boolean {
  return handler === SIG_IGN || (handler === SIG_DFL && IGNORED_BY_DEFAULT.has(sig));
}

/**
 * Send a signal to ourselves. Until delivery to handlers lands, only the
 * default actions run: terminate (with a core flag when RLIMIT_CORE allows),
 * or ignore. A blocked signal stays pending, even an ignored one (it may be
 * handled by the time it is unblocked); one with a handler installed stays
 * pending too, as handlers are not delivered yet.
 */
function sendToSelf(ctx: SyscallContext, sig: number): number {
  if (sig < 0 || sig > NSIG) fail('EINVAL');
  if (sig === 0) return 0;
  const p = ctx.proc;
  const handler = p.sigactions.get(sig)?.handler ?? SIG_DFL;
  const bit = bitOf(sig);
  // SIGKILL and SIGSTOP are never in the mask and never have a handler.
  if (p.sigmask & bit) {
    p.sigpending |= bit;
    return 0;
  }
  if (ignoredBy(sig, handler)) return 0;
  if (handler !== SIG_DFL) {
    p.sigpending |= bit;
    return 0;
  }
  if (STOP_SIGNALS.has(sig)) return 0; // stopping needs job control (a later issue)
  p.killBySignal(sig, CORE_SIGNALS.has(sig) && p.rlimits.get(4)!.cur > 0n);
  return 0;
}

/**
 * Pending signals that become unblocked: ignored ones are dropped, default
 * actions run now; those with a handler wait for handler delivery (a later issue).
 */
function actOnUnblocked(ctx: SyscallContext): void {
  const p = ctx.proc;
  const ready = p.sigpending & ~p.sigmask;
  for (let sig = 1; sig <= NSIG && ready; sig++) {
    const bit = bitOf(sig);
    if (!(ready & bit)) continue;
    const handler = p.sigactions.get(sig)?.handler ?? SIG_DFL;
    if (handler !== SIG_DFL && handler !== SIG_IGN) continue;
    p.sigpending &= ~bit;
    sendToSelf(ctx, sig);
    if (p.exited) return;
  }
}

/**
 * kill(2): our pid, 0 (our group) or -pgid reach only us now. -1 means every
 * process we may signal except ourselves and init: there is none (ESRCH).
 */
function kill(ctx: SyscallContext, pid: number, sig: number): number {
  const p = ctx.proc;
  if (pid === p.pid || pid === 0 || pid === -p.pgid) return sendToSelf(ctx, sig);
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
