// What a syscall handler may ask of the kernel (ctx.kernel): time, the
// filesystem view, processes and signals, and the few lifecycle operations
// a handler starts (fork, clone, exit, reaping, exec). The Kernel class
// (kernel.ts and its layers) implements it; handlers never reach the
// scheduler, the engines or the trap (kernel-state.ts and friends), so
// those can change without touching syscalls/.
import type { Clock } from './clock.ts';
import type { Entropy } from './entropy.ts';
import type { StagedExec } from './exec.ts';
import type { FutexTable } from './futex.ts';
import type { HostNet } from './host-socket.ts';
import type { MemoryBudget } from './memory.ts';
import type { Process } from './process.ts';
import type { SignalState, SigInfo } from './signals.ts';
import type { Task } from './task.ts';
import type { Terminal } from './terminal.ts';
import type { FileSystem } from './vfs/types.ts';
import type { Vfs } from './vfs/vfs.ts';

export interface KernelServices {
  // ---- time, randomness, names
  /** Every clock the guest reads (the host's, or a virtual one for --deterministic). */
  readonly clock: Clock;
  /** The nanoseconds since boot, for CLOCK_MONOTONIC and friends (clock.monotonicNs()). */
  monotonicNs(): bigint;
  /** Where getrandom, AT_RANDOM and /dev/urandom get their bytes. */
  readonly entropy: Entropy;
  readonly hostname: string;

  // ---- the world the guest sees
  readonly vfs: Vfs;
  /** A filesystem for the rootfs, for nodes that live nowhere else (pipes, anonymous inodes). */
  rootFs(): FileSystem;
  /** The run's memory budget: tmpfs, memfd, pipe buffers charge it. */
  readonly memoryBudget: MemoryBudget;
  /** The host terminal as the guest sees it (termios, the foreground process group). */
  readonly terminal: Terminal;
  /** Futex wait queues. */
  readonly futexes: FutexTable;
  /** --net host: the host's sockets, the policy, the scheduler's watch list (null: --net none). */
  readonly hostNet: HostNet | null;

  // ---- processes, threads and signals
  /** The first process (the run ends when it exits). */
  readonly proc: Process;
  /** Every process by pid, zombies included until reaped. */
  readonly processes: ReadonlyMap<number, Process>;
  /** Live (not reaped) processes. */
  liveProcesses(): Process[];
  /** The thread with this id, if it has not exited. */
  liveTask(tid: number): Task | undefined;
  /** The running task, for file operations that act for their caller (a signalfd read has no ctx). */
  readonly currentTask: Task;
  /** The main thread of a process. */
  taskOf(p: Process): Task;
  readonly signals: SignalState;
  /** Raise a signal for a process (kill(2) and the kernel's own signals). */
  sendSignal(p: Process, info: SigInfo): void;
  /** Wake a blocked task so a signal can interrupt its call. */
  interrupt(task: Task): void;
  /** Let the scheduler look at things before the calling task goes on (sched_yield, a signal to itself). */
  requestReschedule(): void;

  // ---- lifecycle operations a handler starts
  /** A copy of the caller's process (fork, vfork, clone without CLONE_THREAD); `resumePc` is where both continue. */
  forkProcess(parentTask: Task, resumePc: number, lendMemory?: boolean): Process;
  /** A new thread in the caller's process (clone with CLONE_THREAD). */
  newThread(parentTask: Task, resumePc: number, opts: { sp: number; tls: number | null }): Task;
  /** exit(2) of one thread (the last one ends the process). */
  exitThread(task: Task, code: number): void;
  /** Remove a zombie for good (wait4). */
  reap(p: Process): void;
  /** An execve that passed every check: the image is replaced once the caller's engine has stopped. */
  stageExec(p: Process, img: StagedExec): void;
}
