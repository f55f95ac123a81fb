// A guest process (a thread group): its address space, fds, filesystem
// context, credentials, limits, signal actions and process-wide pending
// signals. Its threads are Tasks (task.ts), which keep what is per thread:
// registers, signal mask, alternate stack, thread-directed signals.
import type { Arch } from '../arch/types.ts';
import type { GuestEngine } from '../arch/cpu.ts';
import { AddressSpace } from './memory.ts';
import { FdTable } from './fdtable.ts';
import { PendingSignals } from './signals.ts';
import type { Task } from './task.ts';
import { Waitable } from './wait.ts';
import type { FileSystem, Node } from './vfs/types.ts';

export interface Credentials {
  uid: number;
  euid: number;
  suid: number;
  gid: number;
  egid: number;
  sgid: number;
}

export interface Rlimit {
  cur: bigint;
  max: bigint;
}

export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** Linux's defaults for a fresh login shell, per getrlimit(2) resource numbers. */
export function defaultRlimits(): Map<number, Rlimit> {
  const inf = { cur: RLIM_INFINITY, max: RLIM_INFINITY };
  return new Map<number, Rlimit>([
    [0, { ...inf }], // CPU
    [1, { ...inf }], // FSIZE
    [2, { ...inf }], // DATA
    [3, { cur: 8n << 20n, max: RLIM_INFINITY }], // STACK: 8 MiB
    [4, { cur: 0n, max: RLIM_INFINITY }], // CORE
    [5, { ...inf }], // RSS
    [6, { cur: 4096n, max: 4096n }], // NPROC
    [7, { cur: 1024n, max: 4096n }], // NOFILE
    [8, { cur: 8n << 20n, max: 8n << 20n }], // MEMLOCK
    [9, { ...inf }], // AS
    [10, { ...inf }], // LOCKS
    [11, { cur: 4096n, max: 4096n }], // SIGPENDING
    [12, { cur: 819200n, max: 819200n }], // MSGQUEUE
    [13, { cur: 0n, max: 0n }], // NICE
    [14, { cur: 0n, max: 0n }], // RTPRIO
    [15, { ...inf }], // RTTIME
  ]);
}

/** rt_sigaction bookkeeping; delivery arrives with the signals work. */
export interface SigAction {
  handler: bigint;
  flags: bigint;
  restorer: bigint;
  mask: bigint;
}

export class Process {
  mem: AddressSpace;
  fds: FdTable;
  cwd: string;
  umask = 0o022;
  creds: Credentials;
  /** Supplementary group ids (getgroups): the primary group, like a fresh login. */
  groups: number[] = [];
  rlimits = defaultRlimits();
  sigactions = new Map<number, SigAction>();
  /** Signals sent to the whole thread group and not yet taken by a thread. */
  readonly sharedPending = new PendingSignals();
  /** The threads (tasks) of this process, the main thread first; dead ones leave the list. */
  readonly threads: Task[] = [];
  /** The thread whose registers the engine holds (threads share one engine; see Kernel.switchTo). */
  loadedThread: Task | null = null;
  /** Notified whenever a signal is sent to this process (pause, sigsuspend and sigtimedwait wait on it). */
  readonly signalEvents = new Waitable();
  /** ITIMER_REAL (alarm, setitimer): when it fires next (monotonic ns) and its interval (0: one-shot). */
  itimerReal: { deadlineNs: bigint; intervalNs: bigint } | null = null;
  /** Pages of file mappings past the end of their file: a fault there is SIGBUS, not SIGSEGV. */
  beyondEof: { start: number; end: number; name: string }[] = [];
  /** Stopped by a stop signal (job control) until SIGCONT. */
  stopped = false;
  /** A state change not yet reported to wait4/waitid: the stop signal, or 'continued'. */
  waitReport: number | 'continued' | null = null;
  /** arm64: where signal handlers without SA_RESTORER return (the vDSO's __kernel_rt_sigreturn). */
  sigreturnPage = 0;
  /** The signal the parent gets when this process dies (clone's low byte; SIGCHLD for fork). */
  exitSignal = 17;
  /** Set while a vfork parent waits for this child to exec or exit. */
  vforkDone: Waitable | null = null;
  /** Set by exit/exit_group or a fatal signal: the wait status, as wait(2) encodes it. */
  exitStatus: number | null = null;
  /** Image facts for /proc/self and the trace. */
  argv: string[] = [];
  envp: string[] = [];
  exePath = '';
  /** The executable itself (Linux's mm->exe_file): /proc/self/exe opens it even if its path no longer leads there. */
  exeFile: { node: Node; fs: FileSystem; path: string } | null = null;
  auxv: Uint8Array = new Uint8Array(0);
  comm = '';
  /** Process group and session: inherited from the (emulated) parent that started us. */
  pgid: number;
  sid: number;
  pdeathsig = 0;
  dumpable = 1;
  noNewPrivs = false;
  /** The parent, or null for the first process (whose parent is the emulated init). */
  parent: Process | null = null;
  readonly children = new Set<Process>();
  /** Notified when a child exits, stops or continues (wait4 waits on it). */
  readonly childEvents = new Waitable();
  /** Reaped by its parent (or the emulated init): gone from the process table. */
  reaped = false;
  /** The kernel's reaction to exit and fatal signals (tearing down, SIGCHLD, waking waiters). */
  onExit: ((p: Process) => void) | null = null;
  /** Accumulated CPU time of reaped children, for times(2) and getrusage. */
  childCpuNs = 0n;
  readonly startNs = process.hrtime.bigint();

  constructor(
    readonly pid: number,
    public ppid: number,
    public arch: Arch,
    public cpu: GuestEngine,
    opts: { cwd: string; uid: number; gid: number; memoryLimit?: number },
  ) {
    this.pgid = ppid;
    this.sid = ppid;
    this.mem = new AddressSpace(arch.layout, cpu, opts.memoryLimit);
    this.fds = new FdTable(Number(this.rlimits.get(7)!.cur));
    this.cwd = opts.cwd;
    this.groups = [opts.gid];
    this.creds = { uid: opts.uid, euid: opts.uid, suid: opts.uid, gid: opts.gid, egid: opts.gid, sgid: opts.gid };
  }

  /** Make the address space obey RLIMIT_AS (after setrlimit, fork and exec). */
  applyAddressSpaceLimit(): void {
    const as = this.rlimits.get(9)!.cur; // RLIMIT_AS
    this.mem.addressSpaceLimit = as === RLIM_INFINITY ? Infinity : Number(as);
  }

  /** Threads that have not exited, the main thread first. */
  liveTasks(): Task[] {
    return this.threads.filter((t) => t.state !== 'dead');
  }

  /** The main thread's signal mask (what /proc/<pid>/status shows). */
  get mainSigmask(): bigint {
    return this.threads[0]?.sigmask ?? 0n;
  }

  get exited(): boolean {
    return this.exitStatus !== null;
  }

  /** exit(2)/exit_group(2): status is (code & 0xff) << 8 as wait(2) reports it. */
  exit(code: number): void {
    this.terminate((code & 0xff) << 8);
  }

  /** Killed by a signal: the low 7 bits carry it, 0x80 says a core was (would have been) dumped. */
  killBySignal(signo: number, core: boolean): void {
    this.terminate((signo & 0x7f) | (core ? 0x80 : 0));
  }

  private terminate(status: number): void {
    if (this.exitStatus !== null) return;
    this.exitStatus = status;
    this.cpu?.stop();
    this.onExit?.(this);
  }
}
