// A task is what the scheduler runs: one thread of a process, with the pc it
// resumes at and, while it waits, what it waits for. Processes have one task
// each for now; threads (CLONE_THREAD) will add tasks that share a process's
// address space, each with its own saved register context.
import type { Arch } from '../arch/types.ts';
import type { SyscallContext } from '../../syscalls/types.ts';
import type { Kernel } from './kernel.ts';
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
  /** The signal that interrupted the current blocking call, if any (for EINTR / SA_RESTART). */
  interruptedBy = 0;
  /** The syscall the task is blocked in (restart rules depend on it). */
  blockedSyscall = '';
  /** The retry state of calls interrupted by handlers, one per frame, back in place at rt_sigreturn. */
  interruptedStates: unknown[] = [];
  /** rt_sigsuspend's caller mask, to go into the handler's frame instead of the temporary one. */
  savedSigmask: bigint | null = null;
  /** The engine stopped inside this task's syscall hook, which already set `pc`. */
  stoppedInHook = false;

  constructor(
    readonly kernel: Kernel,
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
}
