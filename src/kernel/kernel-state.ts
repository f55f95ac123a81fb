// The kernel's state: one guest world's processes and tasks, their CPU
// engines (each charged to the run's memory budget), the dispatchers, and
// blocking and waking. The layers above it add fork and exit
// (fork-exit.ts), exec (exec.ts), the syscall trap (trap.ts), the scheduler
// (scheduler.ts), and stdio and host I/O (kernel.ts, the Kernel itself).
import * as os from 'node:os';
import { ARCHES, type Arch } from '../arch/index.ts';
import type { CpuFault, GuestEngine } from '../arch/cpu.ts';
import type { Executable } from '../loader/binfmt.ts';
import { launchInView, launchProgram, openProgram } from '../loader/launch.ts';
import type { HostFileFs } from './vfs/hostfile.ts';
import type { SyscallContext } from './syscall-decl.ts';
import { HostClock, VirtualClock, type Clock } from './clock.ts';
import { SeededEntropy, hostEntropy, type Entropy } from './entropy.ts';
import { Dispatcher, buildTable, type CrashHook, type SyscallGate, type SyscallObserver } from './dispatch.ts';
import { KernelBug, LinuxError, errnoMessage } from './errors.ts';
import { FutexTable } from './futex.ts';
import { AddressSpace, MemoryBudget, type Mapping } from './memory.ts';
import { EngineShelf, type EngineShelfStats } from './engine-shelf.ts';
import { defaultMemoryBudget } from './host-memory.ts';
import { Process } from './process.ts';
import { SignalState, type SigInfo } from './signals.ts';
import { CaptureOutputFile } from './stdio.ts';
import { HostStreams } from './host-streams.ts';
import type { HostNet, NetPolicy } from './host-socket.ts';
import { hostSockets } from '../host/sockets.ts';
import { Terminal } from './terminal.ts';
import { buildFilesystem, type Overlays } from './namespace.ts';
import { Task } from './task.ts';
import type { Vfs } from './vfs/vfs.ts';
import { LaunchError, toGuestPath, type KernelOptions } from './kernel-options.ts';
import type { StagedExec } from './exec.ts';
import type { Kernel } from './kernel.ts';

/** The first guest process's pid; its parent is the emulated init. */
const FIRST_PID = 1000;
export const INIT_PID = 1;
/**
 * Guest tasks alive at once by default (--max-tasks). Each process has its
 * own CPU engine (measured: a fork bomb's processes cost about 3 MB of host
 * memory each, besides their own memory), so the limit keeps a fork bomb to
 * a few hundred MB and a few seconds.
 */
const DEFAULT_MAX_TASKS = 256;


/**
 * The state every layer of the Kernel shares, and what it is built from
 * (the constructor): see kernel.ts for the whole.
 */
export abstract class KernelState {
  readonly arch: Arch;
  readonly vfs: Vfs;
  /** The program's single-file mount (launch.ts), whose host fd is closed when the run ends. */
  protected programFs: HostFileFs | null = null;
  /** The first process (tests and the library look at it). */
  readonly proc: Process;
  readonly startedAt = Date.now();
  /** Every clock the guest reads (the host's, or a virtual one for --deterministic). */
  readonly clock: Clock;
  /** Where getrandom, AT_RANDOM and /dev/urandom get their bytes. */
  readonly entropy: Entropy;
  readonly hostname: string;
  readonly processes = new Map<number, Process>();
  readonly signals: SignalState;
  /** The copy-on-write layers of an --overlay run, by guest mount path. */
  readonly overlays: Overlays = { list: [] };
  protected readonly tasks = new Map<number, Task>();
  protected readonly runQueue: Task[] = [];
  protected current: Task | null = null;
  protected nextPid = FIRST_PID;
  protected readonly dispatchers = new Map<string, Dispatcher>();
  protected observer: SyscallObserver | null;
  protected gate: SyscallGate | null;
  protected readonly captured: { stdout?: CaptureOutputFile; stderr?: CaptureOutputFile } = {};
  protected bug: KernelBug | null = null;
  protected readonly warned = new Set<string>();
  protected readonly warn: (line: string) => void;
  protected readonly headlessTask: Task;
  /** Engines of exited or exec'ed processes, closed once no hook of theirs is running. */
  protected readonly retiredEngines: GuestEngine[] = [];
  /** Address spaces of exited or exec'ed processes, freed with the engines (which may still point into them). */
  protected readonly retiredSpaces: AddressSpace[] = [];
  /** Which retired engine's process had which address space: the shelf keeps the engine with that space's program. */
  protected readonly retiredSpaceOf = new Map<GuestEngine, AddressSpace>();
  /** Engines of processes that are gone, kept for the next exec or fork of their program (engine-shelf.ts); null: none are kept. */
  protected readonly shelf: EngineShelf | null;
  /** The run's one memory budget: every address space checks it, files, pipes and engines charge it. */
  readonly memoryBudget: MemoryBudget;
  /** Set by a handler that needs the scheduler before the task goes on (fork, a signal for itself). */
  protected rescheduleRequested = false;
  readonly stagedExecs = new Map<Process, StagedExec>();
  /** Futex wait queues (threads' locks and joins). */
  readonly futexes = new FutexTable();
  /** Told of a fatal signal or a kernel bug while the registers are still on the engine (--crash-report). */
  crashHook: CrashHook | null = null;
  readonly maxTasks: number;
  protected firstFault: CpuFault | null = null;
  /** The run's deadline (--timeout), in performance.now() milliseconds. */
  protected deadlineAt = Infinity;
  /** The host terminal as the guest sees it: termios and the foreground process group (host Ctrl-C goes there). */
  readonly terminal = new Terminal();
  /** The host streams of the guest's stdio and /dev/tty, which the scheduler polls for the tasks waiting on them. */
  protected readonly hostStreams = new HostStreams();
  /** --net host: the guest's inet sockets are the host's (null: --net none, loopback inside the kernel). */
  readonly hostNet: HostNet | null;

  private hostNetwork(policy: NetPolicy | null): HostNet {
    const sockets = hostSockets();
    if (!sockets) throw new LaunchError('--net host needs a Linux host', 2);
    return { sockets, policy, watch: (p) => this.hostStreams.watch(p) };
  }

  constructor(readonly options: KernelOptions) {
    if (options.program === undefined && !options.arch) throw new LaunchError('a kernel needs a program or an arch');
    const ids = { uid: options.uid ?? hostId('uid'), gid: options.gid ?? hostId('gid') };
    // Under --root the program is a guest path (launchInView); otherwise a host file, opened once here.
    const program = options.program !== undefined && options.root === undefined ? openProgram(options.program, { host: { uid: hostId('uid'), gid: hostId('gid') }, guest: ids }) : null;
    this.clock = options.deterministic ? new VirtualClock() : new HostClock();
    this.entropy = options.deterministic ? new SeededEntropy(options.seed ?? 0) : hostEntropy;
    this.warn = options.warn ?? ((line) => process.stderr.write(line + '\n'));
    this.hostname = options.hostname ?? 'tslinux';
    this.observer = options.observer ?? null;
    this.gate = options.gate ?? null;
    this.maxTasks = options.maxTasks ?? DEFAULT_MAX_TASKS;
    this.hostNet = options.net === 'host' ? this.hostNetwork(options.netPolicy ?? null) : null;
    this.memoryBudget = new MemoryBudget(options.totalMemoryLimit ?? defaultMemoryBudget(), () => this.committedMemory());
    // TSLINUX_NO_ENGINE_SHELF=1: every process gets a new engine (for `npm run bench` to measure the shelf).
    this.shelf = options.cpu.runsCode && process.env.TSLINUX_NO_ENGINE_SHELF !== '1' ? new EngineShelf(this.memoryBudget, options.cpu.engineBytes) : null;
    if (this.shelf) this.memoryBudget.reclaim = () => this.shelf!.clear();
    if (options.timeoutMs) this.deadlineAt = performance.now() + options.timeoutMs;
    this.signals = new SignalState(this.self);
    // Under --root without the host's directory, the guest starts at "/", as chroot(1) leaves it.
    const cwd = options.cwd ?? (options.root !== undefined && options.mountCwd === false ? '/' : toGuestPath(process.cwd()));
    this.vfs = buildFilesystem(
      this.self,
      {
        cwd,
        mountCwd: options.mountCwd ?? options.cwd === undefined,
        hostCwd: process.cwd(),
        mounts: options.mounts ?? [],
        root: options.root,
        readOnly: options.readOnly,
        overlay: options.overlay,
        tmpfs: options.tmpfs,
      },
      this.overlays,
    );
    if (program) this.programFs = program.fs;
    if (options.cwd !== undefined && options.program !== undefined) checkGuestCwd(this.vfs, cwd);
    // The program is exec'ed as the guest's execve would (x bit, #! scripts, PT_INTERP); that decides the arch.
    const view = { vfs: this.vfs, cwd, who: { uid: ids.uid, gid: ids.gid, groups: [ids.gid] } };
    const argv = this.options.argv.length > 0 ? this.options.argv : [options.program ?? ''];
    const exe = program ? launchProgram(view, program, argv) : options.program !== undefined ? launchInView(view, options.program, argv, guestPath(options.env)) : null;
    this.arch = exe ? exe.arch : ARCHES[options.arch!];
    const cpu = this.firstEngine();
    this.proc = this.newProcess(null, this.arch, cpu, { cwd, uid: ids.uid, gid: ids.gid, memoryLimit: options.memoryLimit });
    this.headlessTask = this.tasks.get(this.proc.pid)!;
    this.setupStdio();
    if (exe) this.load(this.proc, exe);
  }

  /** The nanoseconds since boot, for CLOCK_MONOTONIC and friends. */
  monotonicNs(): bigint {
    return this.clock.monotonicNs();
  }

  /** This object as the whole Kernel (the one concrete class of the chain, kernel.ts), for the parts that hold the kernel. */
  protected get self(): Kernel {
    return this as unknown as Kernel;
  }

  // Implemented by the layers above (fork-exit.ts, exec.ts, trap.ts, kernel.ts).
  protected abstract onProcessExit(p: Process): void;
  protected abstract load(p: Process, exe: Executable): void;
  protected abstract onSyscall(engine: GuestEngine): void;
  protected abstract setupStdio(): void;

  // ---- processes and tasks -----------------------------------------------------

  /** The first process's engine: a budget too small for even that is one clear line. */
  protected firstEngine(): GuestEngine {
    try {
      return this.newEngine(this.arch);
    } catch (e) {
      if (!(e instanceof LinuxError)) throw e;
      const mib = (n: number): string => `${Math.floor(n / 2 ** 20)} MiB`;
      throw new LaunchError(`the memory limit (${mib(this.memoryBudget.limit)}) is below what one process needs (${mib(this.options.cpu.engineBytes)} for its CPU); raise --memory-limit`);
    }
  }

  /** A CPU engine, charged to the run's memory budget (ENOMEM past it) until it is retired. */
  protected newEngine(arch: Arch): GuestEngine {
    this.memoryBudget.charge(this.options.cpu.engineBytes, 'ENOMEM');
    try {
      return this.createEngine(arch);
    } catch (e) {
      this.memoryBudget.release(this.options.cpu.engineBytes);
      throw e;
    }
  }

  /** A CPU engine from the run's backend (KernelOptions.cpu) with its syscall hook (its budget share is the caller's business). */
  protected createEngine(arch: Arch): GuestEngine {
    const engine: GuestEngine = this.options.cpu.create(arch.name, {
      onSyscall: () => this.onSyscall(engine),
      // A private file mapping is copied in when first touched (memory.ts).
      onUnmapped: (addr) => this.current?.process.mem.fault(addr) ?? false,
    });
    return engine;
  }

  protected newProcess(
    parent: Process | null,
    arch: Arch,
    cpu: GuestEngine,
    opts: { cwd: string; uid: number; gid: number; memoryLimit?: number },
  ): Process {
    const pid = this.allocatePid();
    const p = new Process(pid, parent ? parent.pid : INIT_PID, arch, cpu, opts);
    p.mem.budget = this.memoryBudget;
    if (parent) {
      p.parent = parent;
      parent.children.add(p);
    }
    p.onExit = (proc) => this.onProcessExit(proc);
    this.processes.set(pid, p);
    const task = new Task(this.self, pid, p);
    p.threads.push(task);
    p.loadedThread = task;
    this.tasks.set(pid, task);
    return p;
  }

  /** Pids and tids share one number space, as on Linux. */
  protected allocatePid(): number {
    while (this.processes.has(this.nextPid) || this.tasks.has(this.nextPid)) this.nextPid++;
    return this.nextPid++;
  }

  /** The main thread of a process (the first one; after an exec from another thread, that one). */
  taskOf(p: Process): Task {
    return p.threads[0]!;
  }

  /** The thread with this id, if it has not exited. */
  liveTask(tid: number): Task | undefined {
    const t = this.tasks.get(tid);
    return t && t.state !== 'dead' && !t.process.exited ? t : undefined;
  }

  /** The running task, or for a headless kernel its only one. */
  get currentTask(): Task {
    return this.current ?? this.headlessTask;
  }

  get cpu(): GuestEngine {
    return this.proc.cpu;
  }

  /** Live (not reaped) processes, for /proc. */
  liveProcesses(): Process[] {
    return [...this.processes.values()].filter((p) => !p.reaped);
  }

  /** The context handlers see; with a headless kernel, tests call handlers through `invoke`. */
  get context(): SyscallContext {
    return this.headlessTask;
  }

  protected dispatcherFor(arch: Arch): Dispatcher {
    let d = this.dispatchers.get(arch.name);
    if (!d) {
      d = new Dispatcher(buildTable(arch, this.options.syscalls), arch, this.observer, () => this.clock.traceNs(), this.gate);
      this.dispatchers.set(arch.name, d);
    }
    return d;
  }

  /** Attach a tracer (or any observer) before run(). */
  setObserver(observer: SyscallObserver | null): void {
    this.observer = observer;
    for (const d of this.dispatchers.values()) d.observer = observer;
  }

  /**
   * Tell the observer (a tracer) that `task` takes a signal, or that one
   * sent to it was discarded at once (see SyscallObserver.onSignal).
   */
  observeSignal(task: Task, info: SigInfo, discarded = false): void {
    this.observer?.onSignal?.(task, info, discarded);
  }

  /** Put a policy or recorder in front of every handler, before run(). */
  setGate(gate: SyscallGate | null): void {
    this.gate = gate;
    for (const d of this.dispatchers.values()) d.gate = gate;
  }

  /** Ask the scheduler to look at things before the current task continues (after fork, or a signal to itself). */
  requestReschedule(): void {
    this.rescheduleRequested = true;
  }

  // ---- blocking and waking -----------------------------------------------------------

  makeReady(task: Task): void {
    if (task.state === 'dead' || task.state === 'stopped') return;
    this.cancelWaits(task);
    if (task.state === 'ready' && this.runQueue.includes(task)) return;
    task.state = 'ready';
    if (task !== this.current) this.runQueue.push(task);
  }

  protected cancelWaits(task: Task): void {
    for (const cancel of task.cancelWait) cancel();
    task.cancelWait = [];
  }

  protected block(task: Task): void {
    const why = task.blockedOn!;
    task.state = 'blocked';
    task.cancelWait = why.on.map((w) => w.subscribe(() => this.makeReady(task)));
    // A signal that is already pending and deliverable interrupts the wait at once.
    if (this.signals.deliverable(task)) this.makeReady(task);
  }

  /** Wake a blocked task so a signal can interrupt its call (see signal(7), "Interruption of system calls"). */
  interrupt(task: Task): void {
    if (task.state === 'blocked') this.makeReady(task);
    if (task === this.current) this.requestReschedule();
  }

  // ---- engines ------------------------------------------------------------------------

  /**
   * The engine of a process that is gone: closed once no hook of its is
   * running (closeRetiredEngines, at the end of the scheduler step); its
   * share of the budget is free now.
   */
  protected retireEngine(engine: GuestEngine): void {
    this.retiredEngines.push(engine);
    this.memoryBudget.release(this.options.cpu.engineBytes);
  }

  /**
   * An engine whose process is gone (exit) or has a new image (exec), with
   * the address space it ran: shelved for the next process of the same
   * program when it can be (engine-shelf.ts), else closed, at the end of the
   * scheduler step like any retired engine. Its budget share is released
   * (exit) or taken over by the exec's new engine; a shelved engine takes a
   * share of its own.
   */
  protected retireProcessEngine(engine: GuestEngine, space: AddressSpace, releaseShare: boolean): void {
    if (releaseShare) this.retireEngine(engine);
    else this.retiredEngines.push(engine);
    this.retiredSpaces.push(space);
    this.retiredSpaceOf.set(engine, space);
  }

  /** How many engines the run shelved and reused (null: the shelf is off: a plain CPU, or TSLINUX_NO_ENGINE_SHELF=1). */
  engineShelfStats(): EngineShelfStats | null {
    return this.shelf ? { ...this.shelf.stats } : null;
  }

  /**
   * A shelved engine for a process about to map these loaded segments (an
   * exec's image, a fork's copy of its parent), with the segments' pages it
   * still maps; null when none holds any. Its budget share becomes the
   * process's.
   */
  protected shelvedEngine(arch: Arch, wanted: (m: Mapping) => boolean): { engine: GuestEngine; segments: Mapping[] } | null {
    return this.shelf?.take(arch.name, wanted) ?? null;
  }

  protected closeRetiredEngines(): void {
    while (this.retiredEngines.length > 0) {
      const engine = this.retiredEngines.pop()!;
      const space = this.retiredSpaceOf.get(engine);
      if (space && this.shelf?.park(engine.arch, engine, space)) continue;
      engine.close();
    }
    this.retiredSpaceOf.clear();
    while (this.retiredSpaces.length > 0) this.retiredSpaces.pop()!.release();
  }

  /** Host memory backing all guest processes' mappings now. */
  protected committedMemory(): number {
    let total = this.shelf?.committedBytes() ?? 0;
    for (const p of this.processes.values()) total += p.mem.committed;
    return total;
  }

}

/** An explicit working directory must be a directory in the guest's view (as chdir(2) would need). */
function checkGuestCwd(vfs: Vfs, cwd: string): void {
  try {
    vfs.resolve(cwd, { base: '/', follow: true, mustBeDir: true });
  } catch (e) {
    if (!(e instanceof LinuxError)) throw e;
    throw new LaunchError(`--cwd ${cwd}: ${errnoMessage(e.errno)} (in the guest's view)`, 2);
  }
}

function hostId(which: 'uid' | 'gid'): number {
  try {
    const info = os.userInfo();
    return which === 'uid' ? Math.max(info.uid, 0) : Math.max(info.gid, 0);
  } catch {
    return 1000;
  }
}

/** The guest environment's PATH, as getenv(3) finds it (the first PATH= entry); undefined without one. */
function guestPath(env: readonly string[]): string | undefined {
  return env.find((e) => e.startsWith('PATH='))?.slice(5);
}
