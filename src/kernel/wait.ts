// Blocking without blocking the host: a syscall that must wait throws
// WouldBlock naming what it waits for. The dispatcher then leaves the
// guest's registers alone and rewinds the task to its syscall instruction;
// when one of the waitables fires (or the deadline passes), the scheduler
// runs the task again and the syscall is simply made again. Handlers keep
// what must survive the retry (a sleep's deadline) in task.syscallState.

/** Something tasks can wait on: a pipe becoming readable, a child exiting, ... */
export class Waitable {
  private readonly waiters = new Set<() => void>();

  /** Register a one-shot wake-up; returns a function that cancels it. */
  subscribe(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /** Wake everyone waiting (they re-check their condition when they run). */
  notify(): void {
    if (this.waiters.size === 0) return;
    const all = [...this.waiters];
    this.waiters.clear();
    for (const wake of all) wake();
  }

  get waiting(): number {
    return this.waiters.size;
  }
}

export class WouldBlock {
  constructor(
    /** Any of these firing makes the task runnable again. */
    readonly on: readonly Waitable[],
    /** Absolute CLOCK_MONOTONIC deadline in ns, if the wait times out. */
    readonly deadlineNs: bigint | null = null,
    /** Host fds whose readability also wakes the task (stdin). */
    readonly hostFds: readonly number[] = [],
  ) {}
}

/** Thrown by handlers of calls that do not return to the caller's code (exit, execve). */
export class NoReturn {
  constructor(readonly reason: 'exit' | 'exec' | 'sigreturn') {}
}
