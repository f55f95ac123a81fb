// A task is what the scheduler runs: one thread of a process, with the pc it
// resumes at and, while it waits, what it waits for. Threads of a process
// (clone with CLONE_THREAD) share its address space and engine; each keeps
// its own registers (saved in `context` while another thread runs), signal
// mask, alternate signal stack and thread-directed pending signals.
import type { Arch } from '../arch/types.ts';
import type { GuestContext, GuestCpu } from '../arch/cpu.ts';
import { PendingSignals } from './signals.ts';
import type { SyscallContext } from './syscall-decl.ts';
import type { KernelServices } from './services.ts';
import type { Process } from './process.ts';
import type { WouldBlock } from './wait.ts';

/** 'stopped': by SIGSTOP and friends, until SIGCONT (job control). */
export type TaskState = 'ready' | 'blocked' | 'stopped' | 'dead';

export class Task implements SyscallContext {
  state: TaskState = 'ready';
  /** Where the task resumes. While blocked: its syscall instruction, so the call is made again. */
  pc = 0;
  /** Why it is blocked, and how to stop listening once it runs again. */
  blockedOn: WouldBlock | null = null;
  cancelWait: (() => void)[] = [];
  /** State a blocking syscall keeps across its retries (a sleep's deadline); cleared when the call completes. */
  syscallState: unknown = undefined;
  /** The call that blockedOn and syscallState belong to (dispatch.ts callEntry): no other call inherits them. */
  syscallEntry: Uint32Array | null = null;
  /** The signal that interrupted the current blocking call, if any (for EINTR / SA_RESTART). */
  interruptedBy = 0;
  /** The syscall the task is blocked in (restart rules depend on it). */
  blockedSyscall = '';
  /** The retry state of calls interrupted by handlers (and the call it belongs to), one per frame, back in place at rt_sigreturn. */
  interruptedStates: { state: unknown; entry: Uint32Array | null }[] = [];
  /** rt_sigsuspend's caller mask, to go into the handler's frame instead of the temporary one. */
  savedSigmask: bigint | null = null;
  /** The engine stopped inside this task's syscall hook, which already set `pc`. */
  stoppedInHook = false;
  /** Blocked signals (rt_sigprocmask is per thread). */
  sigmask = 0n;
  /** Signals sent to this thread only (tgkill, faults). */
  readonly pending = new PendingSignals();
  /** sigaltstack(2) state (per thread). */
  altstack = { sp: 0, flags: 2 /* SS_DISABLE */, size: 0 };
  /** set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken when the thread exits. */
  clearChildTid = 0;
  /** set_robust_list(2): the head of the thread's list of held robust futexes. */
  robustList = { head: 0, len: 0 };
  /** This thread's registers while another thread of the process holds the engine. */
  context: GuestContext | null = null;
  /** exit(2) of this thread alone: the wait status it left (the process may go on). */
  exitStatus: number | null = null;

  constructor(
    /** The kernel as a handler sees it (ctx.kernel). */
    readonly kernel: KernelServices,
    readonly tid: number,
    public process: Process,
  ) {}

  // The SyscallContext view handlers use: always the task's current process state
  // (execve swaps the address space and arch underneath).
  get proc(): Process {
    return this.process;
  }
  get mem() {
    return this.process.mem;
  }
  get fds() {
    return this.process.fds;
  }
  get arch(): Arch {
    return this.process.arch;
  }
  get task(): Task {
    return this;
  }
  get cpu(): GuestCpu {
    return this.process.cpu;
  }
}
