// Signal calls: rt_sigaction keeps the process's signal actions;
// rt_sigprocmask and sigaltstack the calling thread's mask and stack; kill, tkill and tgkill queue signals. Delivery
// (default actions, handler frames) happens before a task runs again, in
// src/kernel/signals.ts.
import { fail } from '../src/kernel/errors.ts';
import { UNBLOCKABLE } from '../src/kernel/signals.ts';
import type { Process } from '../src/kernel/process.ts';
import type { Task } from '../src/kernel/task.ts';
import { family, type SyscallContext } from './types.ts';

const SIGKILL = 9;
const SIGSTOP = 19;
const NSIG = 64;

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
    if (ignoredBy(sig, next.handler)) ctx.kernel.signals.discardEverywhere(p, bitOf(sig));
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
  const old = ctx.task.sigmask;
  if (set) {
    const value = ctx.mem.readBigU64(set);
    let next: bigint;
    if (how === c.SIG_BLOCK) next = old | value;
    else if (how === c.SIG_UNBLOCK) next = old & ~value;
    else if (how === c.SIG_SETMASK) next = value;
    else fail('EINVAL');
    ctx.task.sigmask = next & ~UNBLOCKABLE;
    deliverUnblocked(ctx);
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
  const old = ctx.task.altstack;
  // Running on the alternate stack: it reads back with SS_ONSTACK and cannot be changed (EPERM).
  const sp = currentSp(ctx);
  const onIt = !(old.flags & SS_DISABLE) && old.size > 0 && sp !== null && sp > old.sp && sp <= old.sp + old.size;
  if (next && onIt) fail('EPERM');
  if (next) {
    // Besides SS_AUTODISARM, the mode is exactly one of 0, SS_ONSTACK or SS_DISABLE.
    const mode = next.flags & ~SS_AUTODISARM;
    if (mode !== 0 && mode !== SS_ONSTACK && mode !== SS_DISABLE) fail('EINVAL');
    if (mode === SS_DISABLE) ctx.task.altstack = { sp: 0, flags: next.flags, size: 0 };
    else {
      if (next.size < ctx.arch.c.MINSIGSTKSZ) fail('ENOMEM');
      // SS_ONSTACK on input means the same as 0; on output it says "running on it".
      ctx.task.altstack = { ...next, flags: next.flags & ~SS_ONSTACK };
    }
  }
  if (oldss) {
    const out = new Uint8Array(24);
    const v = new DataView(out.buffer);
    v.setBigUint64(0, BigInt(old.sp), true);
    v.setInt32(8, onIt ? (old.flags & ~SS_DISABLE) | SS_ONSTACK : old.flags, true);
    v.setBigUint64(16, BigInt(old.size), true);
    ctx.mem.write(oldss, out);
  }
  return 0;
}

/** The caller's stack pointer. */
function currentSp(ctx: SyscallContext): number {
  return ctx.cpu.sp();
}

/** Signals whose default action is to be ignored (see signal(7)). */
const IGNORED_BY_DEFAULT = new Set([17 /* SIGCHLD */, 18 /* SIGCONT */, 23 /* SIGURG */, 28 /* SIGWINCH */]);
/** si_code of kill(2) and of tkill(2)/tgkill(2). */
const SI_USER = 0;
const SI_TKILL = -6;
/** The emulated init: the first process's parent. It is no entry of the process table. */
const INIT_PID = 1;

function bitOf(sig: number): bigint {
  return 1n << BigInt(sig - 1);
}

/** Whether a signal with this handler is dropped on arrival (SIG_IGN, or SIG_DFL whose default is to ignore). */
function ignoredBy(sig: number, handler: bigint): boolean {
  return handler === SIG_IGN || (handler === SIG_DFL && IGNORED_BY_DEFAULT.has(sig));
}

/**
 * Pending signals that a mask change unblocked are delivered before the
 * task returns to its code (the scheduler runs delivery; see src/kernel/signals.ts).
 */
function deliverUnblocked(ctx: SyscallContext): void {
  if (ctx.kernel.signals.deliverable(ctx.task)) ctx.kernel.interrupt(ctx.task);
}

/** The processes that exist for kill(2): not yet reaped (a zombie can be signalled, to no effect). */
function liveProcesses(ctx: SyscallContext): Process[] {
  return ctx.kernel.liveProcesses();
}

/** Queue `sig` for each target (signal 0 only checks that they exist). */
function send(ctx: SyscallContext, targets: Process[], sig: number, code: number): number {
  if (targets.length === 0) fail('ESRCH');
  if (sig < 0 || sig > NSIG) fail('EINVAL');
  if (sig === 0) return 0;
  const me = ctx.proc;
  for (const p of targets) ctx.kernel.sendSignal(p, { signo: sig, code, pid: me.pid, uid: me.creds.uid });
  return 0;
}

/**
 * kill(2): pid > 0 is that process; 0 is our process group; -1 is every
 * process but ourselves and init; < -1 is the process group -pid.
 */
function kill(ctx: SyscallContext, pid: number, sig: number): number {
  const me = ctx.proc;
  if (pid === INIT_PID) {
    // The emulated init exists, but only root may signal it, and it ignores
    // every signal it has no handler for.
    if (sig < 0 || sig > NSIG) fail('EINVAL');
    if (me.creds.euid !== 0) fail('EPERM');
    return 0;
  }
  let targets: Process[];
  if (pid > 0) targets = liveProcesses(ctx).filter((p) => p.pid === pid);
  else if (pid === 0) targets = liveProcesses(ctx).filter((p) => p.pgid === me.pgid);
  else if (pid === -1) targets = liveProcesses(ctx).filter((p) => p !== me && p.pid !== INIT_PID);
  else targets = liveProcesses(ctx).filter((p) => p.pgid === -pid);
  return send(ctx, targets, sig, SI_USER);
}

/** Queue `sig` for one thread (signal 0 only checks that it exists). */
function sendToThread(ctx: SyscallContext, target: Task | undefined, sig: number): number {
  if (!target) fail('ESRCH');
  if (sig < 0 || sig > NSIG) fail('EINVAL');
  if (sig === 0) return 0;
  const me = ctx.proc;
  ctx.kernel.signals.sendToThread(target, { signo: sig, code: SI_TKILL, pid: me.pid, uid: me.creds.uid });
  return 0;
}

/** tgkill(2): the thread `tid` of thread group `tgid`. */
function tgkill(ctx: SyscallContext, tgid: number, tid: number, sig: number): number {
  if (tgid <= 0 || tid <= 0) fail('EINVAL');
  const target = ctx.kernel.liveTask(tid);
  return sendToThread(ctx, target?.process.pid === tgid ? target : undefined, sig);
}

/** tkill(2): the thread `tid`. */
function tkill(ctx: SyscallContext, tid: number, sig: number): number {
  if (tid <= 0) fail('EINVAL');
  return sendToThread(ctx, ctx.kernel.liveTask(tid), sig);
}

export const signalFamily = family('signal', [
  {
    name: 'rt_sigaction',
    summary: 'Reads and/or sets the action for a signal: its handler, the signals blocked while it runs, and flags such as SA_RESTART.',
    args: { signum: 'signal', act: 'struct_sigaction_in', oldact: 'struct_sigaction_out', sigsetsize: 'size' },
    handler: rtSigaction,
  },
  {
    name: 'rt_sigprocmask',
    summary: "Reads and/or changes the calling thread's blocked signal mask (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK).",
    args: { how: 'sigprocmask_how', set: 'sigset_in', oldset: 'sigset_out', sigsetsize: 'size' },
    handler: rtSigprocmask,
  },
  {
    name: 'sigaltstack',
    summary: 'Sets and/or reads the alternate stack that signal handlers with SA_ONSTACK run on.',
    args: { ss: 'ptr', old_ss: 'ptr' },
    handler: sigaltstack,
  },
  {
    name: 'kill',
    summary: 'Sends a signal to a process, a process group, or every process the caller may signal.',
    args: { pid: 'int', sig: 'signal' },
    handler: kill,
    note: 'no permission checks (every guest process has the same ids)',
  },
  {
    name: 'tkill',
    summary: 'Sends a signal to one thread (obsolete; see tgkill).',
    args: { tid: 'int', sig: 'signal' },
    handler: tkill,
  },
  {
    name: 'tgkill',
    summary: 'Sends a signal to one thread of a given thread group.',
    args: { tgid: 'int', tid: 'int', sig: 'signal' },
    handler: tgkill,
  },
]);
