// Waiting for signals: pause, rt_sigsuspend, rt_sigpending, rt_sigtimedwait,
// signalfd and signalfd4, and sending with data: rt_sigqueueinfo,
// rt_tgsigqueueinfo (see pause(2), sigsuspend(2), sigpending(2),
// sigtimedwait(2), signalfd(2), rt_sigqueueinfo(2)).
import { encodeSigInfo } from '../src/arch/sigframe.ts';
import { fail } from '../src/kernel/errors.ts';
import type { Process } from '../src/kernel/process.ts';
import { NSIG, UNBLOCKABLE, lowestSignal, type SigInfo } from '../src/kernel/signals.ts';
import { openAnonInode } from '../src/kernel/anon-inode.ts';
import { SignalFd } from '../src/kernel/signalfd.ts';
import { WouldBlock } from '../src/kernel/wait.ts';
import { ioFd } from './file.ts';
import { deadlineAfter } from './poll.ts';
import { family, type SyscallContext } from './types.ts';


/**
 * pause(2): sleep until a signal runs a handler or ends the process. Ignored
 * signals do not end the wait: the call is simply made again. When a
 * handler runs, the kernel makes the call fail with EINTR.
 */
function pause(ctx: SyscallContext): number {
  throw new WouldBlock([ctx.proc.signalEvents]);
}

/** rt_sigsuspend(2): wait with a temporary mask; the caller's mask comes back when the handler returns. */
function rtSigsuspend(ctx: SyscallContext, maskPtr: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  const task = ctx.task;
  if (task.savedSigmask === null) {
    const mask = ctx.mem.readBigU64(maskPtr);
    task.savedSigmask = task.sigmask;
    task.sigmask = mask & ~UNBLOCKABLE;
  }
  throw new WouldBlock([ctx.proc.signalEvents]);
}

function rtSigpending(ctx: SyscallContext, setPtr: number, sigsetsize: number): number {
  if (sigsetsize > 8) fail('EINVAL');
  // Pending and blocked: what is pending but unblocked is being delivered.
  const pending = (ctx.task.pending.mask | ctx.proc.sharedPending.mask) & ctx.task.sigmask;
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, pending, true);
  ctx.mem.write(setPtr, out.subarray(0, sigsetsize));
  return 0;
}

/**
 * rt_sigtimedwait(2): take a pending signal from `set` without running its
 * handler; EAGAIN when the timeout passes first (or at once for a zero
 * timeout). A handled signal outside `set` interrupts the wait (EINTR).
 */
function rtSigtimedwait(ctx: SyscallContext, setPtr: number, infoPtr: number, timeoutPtr: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  const set = ctx.mem.readBigU64(setPtr) & ~UNBLOCKABLE;
  const p = ctx.proc;
  const ready = (ctx.task.pending.mask | p.sharedPending.mask) & set;
  if (ready) {
    const sig = lowestSignal(ready);
    const info = ctx.kernel.signals.dequeue(ctx.task, sig);
    if (infoPtr) ctx.mem.write(infoPtr, encodeSigInfo(info));
    return sig;
  }
  const state = ctx.task.syscallState as { deadline: bigint | null } | undefined;
  let deadline = state?.deadline ?? null;
  if (!state) {
    deadline = deadlineAfter(ctx, timeoutPtr);
    ctx.task.syscallState = { deadline };
  }
  if (deadline !== null && ctx.kernel.monotonicNs() >= deadline) fail('EAGAIN');
  throw new WouldBlock([p.signalEvents], deadline);
}

/** The siginfo a guest passes to rt_sigqueueinfo: code, and the sigval for SI_QUEUE. */
function readQueuedInfo(ctx: SyscallContext, target: Process, sig: number, infoPtr: number): SigInfo {
  const raw = ctx.mem.read(infoPtr, 128);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const code = v.getInt32(8, true);
  // Only the kernel may send with si_code >= 0 or SI_TKILL, except to oneself (see rt_sigqueueinfo(2), EPERM).
  if ((code >= 0 || code === -6) && target !== ctx.proc) fail('EPERM');
  return { signo: sig, code, pid: v.getInt32(16, true), uid: v.getUint32(20, true), value: v.getBigUint64(24, true) };
}

function findProcess(ctx: SyscallContext, pid: number): Process {
  const p = ctx.kernel.processes.get(pid);
  if (!p || p.exited) fail('ESRCH');
  return p;
}

function rtSigqueueinfo(ctx: SyscallContext, tgid: number, sig: number, infoPtr: number): number {
  if (sig < 0 || sig > NSIG) fail('EINVAL');
  const target = findProcess(ctx, tgid);
  const info = readQueuedInfo(ctx, target, sig, infoPtr);
  if (sig !== 0) ctx.kernel.sendSignal(target, info);
  return 0;
}

/** rt_tgsigqueueinfo(2): like rt_sigqueueinfo, to one thread of the group. */
function rtTgsigqueueinfo(ctx: SyscallContext, tgid: number, tid: number, sig: number, infoPtr: number): number {
  if (tgid <= 0 || tid <= 0) fail('EINVAL');
  if (sig < 0 || sig > NSIG) fail('EINVAL');
  const task = ctx.kernel.liveTask(tid);
  if (!task || task.process.pid !== tgid) fail('ESRCH');
  const info = readQueuedInfo(ctx, task.process, sig, infoPtr);
  if (sig !== 0) ctx.kernel.signals.sendToThread(task, info);
  return 0;
}

/**
 * signalfd4(2): fd -1 makes a signalfd for the set; an existing signalfd
 * gets the new set (EINVAL for any other fd). SFD_NONBLOCK and SFD_CLOEXEC
 * are O_NONBLOCK and O_CLOEXEC.
 */
function signalfd4(ctx: SyscallContext, fd: number, maskPtr: number, sizemask: number, flags: number): number {
  const c = ctx.arch.c;
  if (sizemask !== 8) fail('EINVAL');
  if (flags & ~(c.O_NONBLOCK | c.O_CLOEXEC)) fail('EINVAL');
  const mask = ctx.mem.readBigU64(maskPtr);
  if (fd !== -1) {
    const file = ioFd(ctx, fd).file;
    if (!(file instanceof SignalFd)) fail('EINVAL');
    file.mask = mask & ~UNBLOCKABLE;
    return fd;
  }
  const ofd = openAnonInode(ctx.kernel.rootFs(), 'signalfd', (node) => new SignalFd(node, mask, ctx.kernel), c.O_RDWR, flags & c.O_NONBLOCK);
  return ctx.fds.install(ofd, (flags & c.O_CLOEXEC) !== 0);
}

export const sigwaitFamily = family('sigwait', [
  {
    name: 'pause',
    summary: 'Sleeps until a signal arrives whose action is to run a handler or end the process; returns -1 with EINTR after a handler ran.',
    args: {},
    interrupted: 'restartnohand',
    handler: pause,
  },
  {
    name: 'rt_sigsuspend',
    summary: 'Replaces the blocked signal mask with the given one and sleeps until a signal is delivered; the old mask comes back when it returns (always EINTR).',
    args: { mask: 'sigset_in', sigsetsize: 'size' },
    interrupted: 'restartnohand',
    handler: rtSigsuspend,
  },
  {
    name: 'rt_sigpending',
    summary: 'Stores the set of signals that are pending for the caller (raised while blocked).',
    args: { set: 'sigset_out', sigsetsize: 'size' },
    handler: rtSigpending,
  },
  {
    name: 'rt_sigtimedwait',
    summary: 'Waits, up to an optional timeout, for one of a set of (blocked) signals to be pending, takes it off the pending set and returns its number, with its siginfo.',
    args: { set: 'sigset_in', info: 'ptr', timeout: 'struct_timespec_in', sigsetsize: 'size' },
    interrupted: 'eintr', // do_sigtimedwait
    handler: rtSigtimedwait,
  },
  {
    name: 'rt_sigqueueinfo',
    summary: 'Sends a signal with caller-supplied siginfo data to a process (what sigqueue uses).',
    args: { tgid: 'int', sig: 'signal', info: 'struct_siginfo_in' },
    handler: rtSigqueueinfo,
  },
  {
    name: 'rt_tgsigqueueinfo',
    summary: 'Sends a signal with caller-supplied siginfo data to one thread of a thread group.',
    args: { tgid: 'int', tid: 'int', sig: 'signal', info: 'struct_siginfo_in' },
    handler: rtTgsigqueueinfo,
  },
  {
    name: 'signalfd4',
    summary: 'Creates (or changes) a descriptor from which pending signals of a set can be read as records.',
    args: { fd: 'fd', mask: 'sigset_in', sizemask: 'size', flags: 'fd_flags' },
    handler: signalfd4,
  },
  {
    name: 'signalfd',
    summary: 'signalfd4 without flags.',
    args: { fd: 'fd', mask: 'sigset_in', sizemask: 'size' },
    handler: (ctx: SyscallContext, fd: number, mask: number, size: number) => signalfd4(ctx, fd, mask, size, 0),
  },
]);
