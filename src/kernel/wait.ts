// Blocking without blocking the host: a syscall that must wait throws
// WouldBlock naming what it waits for. The dispatcher then leaves the
// guest's registers alone and rewinds the task to its syscall instruction;
// when one of the waitables fires (or the deadline passes), the scheduler
// runs the task again and the syscall is simply made again. Handlers keep
// what must survive the retry (a sleep's deadline) in task.syscallState.

/** Something tasks can wait on: a pipe becoming readable, a child exiting, ... */
export class Waitable {
  private readonly waiters = new Set<() => void>();
  /**
   * Counts notifications, waiters or not: an edge-triggered epoll entry
   * compares it with what it saw when it last reported (see epoll.ts).
   */
  generation = 0;
  /**
   * For a waitable that fires at a known moment (a timerfd's next expiry, on
   * the CLOCK_MONOTONIC scale): a wait on it lasts until then at the latest,
   * and whoever looks after that moment makes it fire.
   */
  deadlineNs: bigint | null = null;

  /** Register a one-shot wake-up; returns a function that cancels it. */
  subscribe(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /** Wake everyone waiting (they re-check their condition when they run). */
  notify(): void {
    this.generation++;
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
  /** Absolute CLOCK_MONOTONIC deadline in ns: the call's timeout or the earliest timed waitable's, whichever comes first. */
  readonly deadlineNs: bigint | null;

  constructor(
    /** Any of these firing makes the task runnable again. */
    readonly on: readonly Waitable[],
    /** Absolute CLOCK_MONOTONIC deadline in ns, if the wait times out. */
    deadlineNs: bigint | null = null,
  ) {
    let earliest = deadlineNs;
    for (const w of on) if (w.deadlineNs !== null && (earliest === null || w.deadlineNs < earliest)) earliest = w.deadlineNs;
    this.deadlineNs = earliest;
  }
}

/**
 * A plain sleep (nanosleep and friends): nothing but time wakes it. The
 * scheduler parks the task like any wait; a headless kernel, which has no
 * scheduler, waits it out in place (Kernel.invokeAs), so the handler is the
 * same either way.
 */
export class Sleep extends WouldBlock {
  constructor(deadlineNs: bigint) {
    super([], deadlineNs);
  }
}

/**
 * The retry state (task.syscallState) of a call that did part of its work
 * before it had to wait: a blocking write to a full pipe. Made again, it
 * goes on from `done`; interrupted by a signal handler, it returns `done`
 * instead of failing with EINTR or restarting (pipe(7): the count written
 * so far; see signals.ts).
 */
export class Progress {
  done = 0;
}

/** The count an interrupted call returns instead of EINTR: the work its retry state says was done (0: none). */
export function partialResult(syscallState: unknown): number {
  return syscallState instanceof Progress ? syscallState.done : 0;
}

/** Thrown by handlers of calls that do not return to the caller's code (exit, execve). */
export class NoReturn {
  constructor(readonly reason: 'exit' | 'exec' | 'sigreturn') {}
}
