// Signals: generation (kill, faults, SIGCHLD, SIGPIPE), and delivery when a
// task is about to run: the default action (terminate, core, ignore, stop),
// or a handler, for which a Linux rt_sigframe is pushed on the guest stack
// (see signal(7) and sigaction(2)).
import {
  pushSignalFrame,
  restoreSignalFrame,
  SA_NODEFER,
  SA_RESETHAND,
  SA_RESTART,
  SA_RESTORER,
  SI_KERNEL,
  type SigInfo,
} from '../arch/sigframe.ts';

export type { SigInfo };
import { PROT_EXEC, PROT_READ } from './memory.ts';
import type { CpuFault } from '../arch/cpu.ts';
import type { Kernel } from './kernel.ts';
import { LinuxError } from './errors.ts';
import type { Process } from './process.ts';
import type { Task } from './task.ts';
import { partialResult } from './wait.ts';

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGKILL = 9;
export const SIGSEGV = 11;
export const SIGPIPE = 13;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const NSIG = 64;
export const SIGRTMIN = 32;

const SIG_DFL = 0n;
const SIG_IGN = 1n;



type DefaultAction = 'term' | 'core' | 'ignore' | 'stop' | 'cont';

/** Default actions from signal(7). */
export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case 3: case 4: case 5: case 6: case 7: case 8: case 11: case 24: case 25: case 31:
      return 'core';
    case 17: case 23: case 28:
      return 'ignore';
    case 18:
      return 'cont';
    case 19: case 20: case 21: case 22:
      return 'stop';
    default:
      return 'term';
  }
}

/** Calls that are never restarted after a handler, whatever SA_RESTART says (signal(7)). */
const NEVER_RESTARTED = new Set([
  'nanosleep', 'clock_nanosleep', 'pause', 'rt_sigsuspend', 'rt_sigtimedwait', 'poll', 'ppoll', 'select',
  'pselect6', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'io_getevents', 'semop', 'semtimedop', 'msgrcv', 'msgsnd',
]);

/** Waits that a handler never interrupts: the call carries on afterwards. */
const ALWAYS_RESUMED = new Set(['vfork', 'clone', 'clone3']);

const bit = (sig: number): bigint => 1n << BigInt(sig - 1);

/** SIGKILL and SIGSTOP: never blocked, caught or read (see sigprocmask(2), signalfd(2)). */
export const UNBLOCKABLE = bit(SIGKILL) | bit(SIGSTOP);

/**
 * A set of pending signals with their siginfo: one per process (signals
 * sent to the whole thread group) and one per thread (tkill, tgkill, faults).
 * Standard signals do not queue: a second one while pending merges with the
 * first. Real-time signals (32 and up) queue, each with its own siginfo.
 */
export class PendingSignals {
  /** Bit sig-1 set while `sig` is pending. */
  mask = 0n;
  private readonly infos = new Map<number, SigInfo[]>();

  add(info: SigInfo): void {
    const queue = this.infos.get(info.signo) ?? [];
    if (info.signo >= SIGRTMIN || queue.length === 0) queue.push(info);
    this.infos.set(info.signo, queue);
    this.mask |= bit(info.signo);
  }

  /** Replace whatever is pending for this signal (a fault's siginfo wins over a kill's). */
  set(info: SigInfo): void {
    this.infos.set(info.signo, [info]);
    this.mask |= bit(info.signo);
  }

  /** Take one instance of `sig`; the pending bit clears with the last one. */
  take(sig: number): SigInfo {
    const queue = this.infos.get(sig);
    const info = queue?.shift() ?? { signo: sig, code: SI_KERNEL };
    if (!queue || queue.length === 0) this.discard(sig);
    return info;
  }

  /** The first queued siginfo of `sig`, left in place. */
  peek(sig: number): SigInfo | undefined {
    return this.infos.get(sig)?.[0];
  }

  discard(sig: number): void {
    this.infos.delete(sig);
    this.mask &= ~bit(sig);
  }

  /** Drop every pending instance of the signals in `set`. */
  discardSet(set: bigint): void {
    for (let s = 1; s <= NSIG; s++) if (set & bit(s)) this.discard(s);
  }
}

export class SignalState {
  constructor(private readonly kernel: Kernel) {}

  /** Would this signal be discarded on arrival (ignored and not blocked)? */
  private ignored(p: Process, sig: number): boolean {
    if (sig === SIGKILL || sig === SIGSTOP) return false;
    const handler = p.sigactions.get(sig)?.handler ?? SIG_DFL;
    if (handler === SIG_IGN) return true;
    return handler === SIG_DFL && defaultAction(sig) === 'ignore';
  }

  /**
   * A process-directed signal (kill, SIGCHLD, SIGPIPE...): pending for the
   * whole thread group, taken by whichever thread does not block it (see
   * signal(7), "Signal mask and pending signals").
   */
  send(p: Process, info: SigInfo): void {
    if (!this.arrive(p, info, p.liveTasks()[0])) return;
    p.sharedPending.add(info);
    p.signalEvents.notify();
    const target = this.threadFor(p, info.signo);
    if (target) this.kernel.interrupt(target);
  }

  /** A thread-directed signal (tkill, tgkill, pthread_kill). */
  sendToThread(task: Task, info: SigInfo): void {
    const p = task.process;
    if (task.state === 'dead' || !this.arrive(p, info, task)) return;
    task.pending.add(info);
    p.signalEvents.notify();
    if (info.signo === SIGKILL || !(task.sigmask & bit(info.signo))) this.kernel.interrupt(task);
  }

  /**
   * What arrival does before the signal is queued: stop and continue
   * signals cancel each other's pending instances, and SIGCONT (and
   * SIGKILL) resume a stopped process when sent, whatever its disposition
   * (see signal(7), "Stopping and continuing"). False when the signal is
   * discarded at once: ignored, and not blocked by the receiving thread
   * (a blocked signal is kept, as the handler may change before it is
   * unblocked; see sigaction(2)).
   */
  private arrive(p: Process, info: SigInfo, receiver: Task | undefined): boolean {
    const sig = info.signo;
    if (p.exited || sig < 1 || sig > NSIG) return false;
    if (defaultAction(sig) === 'stop') {
      this.discardEverywhere(p, bit(SIGCONT));
    } else if (sig === SIGCONT || sig === SIGKILL) {
      this.discardEverywhere(p, bit(SIGSTOP) | bit(20) | bit(21) | bit(22));
      if (p.stopped) this.resume(p, sig === SIGCONT);
    }
    const blocked = receiver !== undefined && (receiver.sigmask & bit(sig)) !== 0n;
    if (blocked || !this.ignored(p, sig)) return true;
    // Discarded: a tracer still shows it (strace does, as ptrace queues ignored signals).
    if (receiver) this.kernel.observeSignal(receiver, info, true);
    return false;
  }

  /** Remove pending instances of `set` from the process and every thread. */
  discardEverywhere(p: Process, set: bigint): void {
    p.sharedPending.discardSet(set);
    for (const t of p.liveTasks()) t.pending.discardSet(set);
  }

  /** The thread to wake for a process-directed signal: the main thread if it takes it, else any that does. */
  private threadFor(p: Process, sig: number): Task | null {
    const live = p.liveTasks();
    if (sig === SIGKILL) return live[0] ?? null;
    return live.find((t) => !(t.sigmask & bit(sig))) ?? null;
  }

  /** Signals `task` could take now: its own and its process's, less what it blocks. */
  deliverable(task: Task): bigint {
    const pending = task.pending.mask | task.process.sharedPending.mask;
    return pending & ~(task.sigmask & ~UNBLOCKABLE);
  }

  /**
   * A synchronous fault. Linux's force_sig: a blocked or ignored fault
   * signal cannot be held off, so the task dies of it; a handler runs.
   */
  sendFault(task: Task, fault: CpuFault): void {
    const sig = { SIGSEGV: 11, SIGBUS: 7, SIGILL: 4, SIGFPE: 8, SIGTRAP: 5 }[fault.signal];
    this.force(task, { signo: sig, code: fault.code, addr: fault.addr });
  }

  /**
   * Linux's force_sig_info: a signal for `task` that cannot be held off
   * (faults, seccomp's SIGSYS). Blocked or ignored, it is unblocked and reset
   * to SIG_DFL, so the task dies of it; a handler runs.
   */
  force(task: Task, info: SigInfo): void {
    const p = task.process;
    const sig = info.signo;
    const action = p.sigactions.get(sig);
    if (task.sigmask & bit(sig) || !action || action.handler <= SIG_IGN) {
      p.sigactions.delete(sig);
      task.sigmask &= ~bit(sig);
    }
    task.pending.set(info);
  }

  /** Deliver what is pending and unblocked before `task` runs again. */
  deliver(task: Task): void {
    const p = task.process;
    for (let guard = 0; guard < NSIG && !p.exited; guard++) {
      const ready = this.deliverable(task);
      if (ready === 0n) return;
      const sig = ready & bit(SIGKILL) ? SIGKILL : lowestSignal(ready);
      const info = this.dequeue(task, sig);
      // A tracer's "--- SIGxxx ---" line; SIGKILL is never seen by a tracer (ptrace(2)).
      if (sig !== SIGKILL) this.kernel.observeSignal(task, info);
      const action = p.sigactions.get(sig);
      const handler = sig === SIGKILL || sig === SIGSTOP ? SIG_DFL : (action?.handler ?? SIG_DFL);
      if (handler === SIG_IGN) continue;
      if (handler === SIG_DFL) {
        const what = defaultAction(sig);
        if (what === 'term' || what === 'core') {
          // A fatal signal ends the whole thread group, whichever thread took it.
          this.kernel.crashHook?.fatalSignal(task, info);
          p.killBySignal(sig, what === 'core' && p.rlimits.get(4)!.cur > 0n);
          return;
        }
        if (what === 'stop') {
          this.stop(p, sig);
          return;
        }
        continue; // ignored, or SIGCONT (which did its work when sent)
      }
      this.runHandler(task, sig, info, action!);
      return; // one frame at a time: the next signal is delivered when the task runs again
    }
  }

  /** Take one pending instance of `sig` for `task`: its own first, then its process's. */
  dequeue(task: Task, sig: number): SigInfo {
    if (task.pending.mask & bit(sig)) return task.pending.take(sig);
    return task.process.sharedPending.take(sig);
  }

  /** A stop signal's default action: every thread of the process stops; its parent hears of it. */
  private stop(p: Process, sig: number): void {
    p.stopped = true;
    p.waitReport = sig;
    for (const t of p.liveTasks()) t.state = 'stopped';
    this.notifyParent(p, 5 /* CLD_STOPPED */, sig);
  }

  private resume(p: Process, report: boolean): void {
    p.stopped = false;
    for (const t of p.liveTasks()) {
      if (t.state !== 'stopped') continue;
      // Back to its wait (if it had one): the call is made again and re-checks.
      t.state = 'blocked';
      this.kernel.makeReady(t);
    }
    if (report) {
      p.waitReport = 'continued';
      this.notifyParent(p, 6 /* CLD_CONTINUED */, SIGCONT);
    }
  }

  /** SIGCHLD for a stop or continue, unless the parent asked for none (SA_NOCLDSTOP). */
  private notifyParent(p: Process, code: number, status: number): void {
    const parent = p.parent;
    if (!parent || parent.exited) return;
    parent.childEvents.notify();
    const SA_NOCLDSTOP = 1n;
    if ((parent.sigactions.get(SIGCHLD)?.flags ?? 0n) & SA_NOCLDSTOP) return;
    this.send(parent, { signo: SIGCHLD, code, pid: p.pid, uid: p.creds.uid, status });
  }

  private runHandler(task: Task, sig: number, info: SigInfo, action: { handler: bigint; flags: bigint; restorer: bigint; mask: bigint }): void {
    const p = task.process;
    const cpu = p.cpu!;
    const flags = Number(action.flags & 0xffff_ffffn);
    // A call interrupted while blocked either restarts after the handler or
    // fails with EINTR. Whatever retry state the task holds (a restarted
    // call's, or a vfork wait's) waits in the frame stack until rt_sigreturn,
    // so the handler's own syscalls cannot clear it.
    const resume = { state: task.syscallState, entry: task.syscallEntry };
    if (task.blockedOn) {
      // A vfork parent's wait is not interruptible: the call resumes after the
      // handler and still returns the child's pid.
      const keep = ALWAYS_RESUMED.has(task.blockedSyscall);
      // A call that already did part of its work (a pipe write) returns that count instead.
      const partial = partialResult(task.syscallState);
      const restart = !partial && (keep || ((flags & SA_RESTART) !== 0 && !NEVER_RESTARTED.has(task.blockedSyscall)));
      if (!restart) {
        // A call that reports something when interrupted (nanosleep's remaining time) says so in its retry state.
        (task.syscallState as { onEintr?: () => void } | undefined)?.onEintr?.();
        this.kernel.setReturnValue(task, partial || -4 /* EINTR */);
        task.pc += task.arch.syscallInsnSize;
        resume.state = undefined;
      }
      task.blockedOn = null;
    }
    task.syscallState = undefined;
    this.kernel.setPc(task, task.pc);
    const alt = task.altstack.flags & 2 /* SS_DISABLE */ ? null : { ...task.altstack };
    try {
      const frame = pushSignalFrame(task.arch.name, cpu, p.mem, {
        sig,
        info,
        handler: Number(action.handler),
        flags,
        restorer: Number(action.restorer),
        // After rt_sigsuspend the frame keeps the caller's own mask, not the temporary one.
        blockedMask: task.savedSigmask ?? task.sigmask,
        altStack: alt,
        sigreturnTrampoline: task.arch.name === 'aarch64' && !(flags & SA_RESTORER) ? this.trampolinePage(p) : undefined,
        fault: info.addr !== undefined && info.code > 0 ? { addr: info.addr } : undefined,
      });
      if (frame.disarmAltStack) task.altstack = { sp: 0, flags: 2, size: 0 };
      task.interruptedStates.push(resume);
    } catch (e) {
      if (!(e instanceof LinuxError)) throw e;
      // No room for the frame: Linux kills with SIGSEGV (force_sigsegv).
      this.kernel.observeSignal(task, { signo: SIGSEGV, code: SI_KERNEL });
      this.kernel.crashHook?.fatalSignal(task, { signo: SIGSEGV, code: SI_KERNEL });
      p.killBySignal(SIGSEGV, false);
      return;
    }
    task.pc = cpu.pc();
    if (task.savedSigmask !== null) {
      task.sigmask = task.savedSigmask;
      task.savedSigmask = null;
    }
    let mask = task.sigmask | action.mask;
    if (!(flags & SA_NODEFER)) mask |= bit(sig);
    task.sigmask = mask & ~UNBLOCKABLE;
    if (flags & SA_RESETHAND) p.sigactions.delete(sig);
  }

  /**
   * arm64 handlers return through the vdso's sigreturn trampoline when libc
   * gives no SA_RESTORER: the loader sets sigreturnPage to the vDSO's
   * __kernel_rt_sigreturn (loader/vdso.ts); a page is mapped for it only
   * when there is none.
   */
  private trampolinePage(p: Process): number {
    if (p.sigreturnPage) return p.sigreturnPage;
    const at = p.mem.findFree(4096);
    p.mem.map(at, 4096, PROT_READ | PROT_EXEC, { name: '[vdso]' });
    p.sigreturnPage = at;
    return at;
  }

  /**
   * rt_sigreturn: registers, mask and alternate stack back from the frame at
   * the stack pointer. A frame that cannot be read or is malformed changes
   * nothing and forces SIGSEGV, as Linux's badframe paths do (x86-64
   * signal_fault: force_sig(SIGSEGV), si_code SI_KERNEL; arm64
   * arm64_notify_segfault: SEGV_MAPERR or SEGV_ACCERR at the stack
   * pointer); returns false then, and the call returns 0 with the signal
   * taken on the way out.
   */
  sigreturn(task: Task): boolean {
    const p = task.process;
    let restored: ReturnType<typeof restoreSignalFrame>;
    try {
      restored = restoreSignalFrame(task.arch.name, p.cpu!, p.mem);
    } catch (e) {
      if (!(e instanceof LinuxError)) throw e;
      this.force(task, badFrameSignal(task));
      this.kernel.interrupt(task);
      return false;
    }
    task.sigmask = restored.mask & ~UNBLOCKABLE;
    const onIt = task.altstack.flags & 1;
    if (!onIt) task.altstack = { ...restored.altStack };
    task.pc = p.cpu!.pc();
    const resumed = task.interruptedStates.pop();
    task.syscallState = resumed?.state;
    task.syscallEntry = resumed?.entry ?? null;
    return true;
  }
}

/** The SIGSEGV of a bad rt_sigreturn frame (see Signals.sigreturn). */
function badFrameSignal(task: Task): SigInfo {
  if (task.arch.name === 'x86_64') return { signo: SIGSEGV, code: SI_KERNEL };
  const sp = task.process.cpu!.sp();
  const SEGV_MAPERR = 1;
  const SEGV_ACCERR = 2;
  return { signo: SIGSEGV, code: task.process.mem.mappingAt(sp) ? SEGV_ACCERR : SEGV_MAPERR, addr: sp };
}

/** The lowest-numbered signal in a set (0 for none): the one delivered or taken first. */
export function lowestSignal(set: bigint): number {
  for (let s = 1; s <= NSIG; s++) if (set & bit(s)) return s;
  return 0;
}
