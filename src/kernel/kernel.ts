// The kernel: one guest world. It builds the filesystem view, loads the
// first executable into a process, and schedules the guest's tasks, each
// process on its own CPU engine, answering their syscalls until the first
// process exits (like a container's init: the rest go with it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARCHES, type Arch } from '../arch/index.ts';
import { CpuEngine, FAULT_SIGNALS, TCG_BUFFER_BYTES, type CpuFault, type RegisterBatch, type RunLimits, type RunResult } from '../cpu/engine.ts';
import { ElfError } from '../loader/elf.ts';
import { loadImage } from '../loader/image.ts';
import { mappedFileId, type Executable, type Interpreter } from '../loader/binfmt.ts';
import { launchInView, launchProgram, openProgram } from '../loader/launch.ts';
import type { HostFileFs } from './vfs/hostfile.ts';
import { ALL_SYSCALLS } from '../../syscalls/index.ts';
import type { SyscallContext } from '../../syscalls/types.ts';
import { HostClock, VirtualClock, type Clock } from './clock.ts';
import type { CrashHook } from '../trace/crash-report.ts';
import { SeededEntropy, hostEntropy, type Entropy } from './entropy.ts';
import { Dispatcher, SYSCALL_BLOCKED, SYSCALL_NORETURN, buildTable, callEntry, type SyscallGate, type SyscallObserver } from './dispatch.ts';
import { KernelBug, LinuxError, errnoMessage } from './errors.ts';
import { OpenFileDescription } from './fdtable.ts';
import { exactFaultPc } from '../cpu/fault-pc.ts';
import { FutexTable } from './futex.ts';
import { AddressSpace, MemoryBudget } from './memory.ts';
import { defaultMemoryBudget } from './host-memory.ts';
import { Process } from './process.ts';
import { SignalState, type SigInfo } from './signals.ts';
import { BufferInputFile, CaptureOutputFile, HostStreamFile, StreamNode, hostFdMayBlock, hostFdStat, stdioMode, withHostOffset } from './stdio.ts';
import { HostStreams, type HostStream } from './host-streams.ts';
import { Terminal } from './terminal.ts';
import { buildFilesystem, type MountSpec, type Overlays } from './namespace.ts';
import { Task } from './task.ts';
import type { Vfs } from './vfs/vfs.ts';
import type { FileSystem, Node, OpenFile } from './vfs/types.ts';

export type StdioSpec = number | 'capture' | Uint8Array;

export interface KernelOptions {
  /** Host path of the static ELF executable; omit (with `arch`) for a headless kernel without a CPU. */
  program?: string;
  /** For a headless kernel: which arch's ABI the handlers follow. */
  arch?: 'x86_64' | 'aarch64';
  /** Per-process memory limit in bytes (host memory backing guest mappings). */
  memoryLimit?: number;
  /**
   * The run's memory budget in bytes (--memory-limit): guest memory of every
   * process, tmpfs and memfd contents, pipe buffers and CPU engines together
   * (default: half of what the host can give, at most 4 GiB; see
   * host-memory.ts).
   */
  totalMemoryLimit?: number;
  /** argv as the guest sees it; argv[0] defaults to the program path. */
  argv: string[];
  /** KEY=VALUE strings. */
  env: string[];
  /** Guest working directory (default: the host's cwd, mounted at the same path). */
  cwd?: string;
  mounts?: MountSpec[];
  /** Mount the host's current directory read-write at its own path (default true). */
  mountCwd?: boolean;
  /** A host directory as the guest's root filesystem. */
  root?: string;
  /** Every host mount read-only. */
  readOnly?: boolean;
  /** Copy-on-write over every host mount (writes stay in memory; see Kernel.overlayDiff). */
  overlay?: boolean;
  /** Guest paths with their own in-memory filesystem. */
  tmpfs?: string[];
  stdin?: StdioSpec;
  stdout?: StdioSpec;
  stderr?: StdioSpec;
  /** Bytes kept per captured stream. */
  maxOutput?: number;
  /** Called with each chunk written to a captured stream. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
  observer?: SyscallObserver | null;
  /** Consulted before every handler (a seccomp-style policy, a profile recorder). */
  gate?: SyscallGate | null;
  uid?: number;
  gid?: number;
  hostname?: string;
  /** Warn on stderr the first time each unimplemented syscall is called. */
  warnUnimplemented?: boolean;
  warn?: (line: string) => void;
  /** Most processes alive at once (fork gives EAGAIN beyond it). */
  maxTasks?: number;
  /**
   * Wall-clock limit for the whole run, in milliseconds: the guest is killed
   * with SIGKILL when it passes. Checked between slices (a loop without
   * syscalls is pre-empted too), or by the CPU watchdog where engines cannot
   * be pre-empted (see Kernel.runLimits).
   */
  timeoutMs?: number;
  /**
   * Reproducible runs: virtual clocks that start at a fixed epoch and move
   * with the guest's syscalls, random bytes from `seed`, and slices counted
   * in syscalls and translated blocks instead of time.
   */
  deterministic?: boolean;
  /** The --deterministic random seed (default 0). */
  seed?: number | bigint;
  /** A task's time slice in milliseconds (default 10; see SLICE_MS). */
  sliceMs?: number;
}

export interface ExitInfo {
  /** Shell-style exit code: the status, or 128 + signal. */
  exitCode: number;
  /** The run was stopped by its timeout (and killed with SIGKILL). */
  timedOut: boolean;
  /** The raw wait(2) status. */
  status: number;
  signal: string | null;
  fault: CpuFault | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** The run cannot start: one line for the user, and the exit status a shell would give (127 missing, 126 not executable, 2 a bad option). */
export class LaunchError extends Error {
  constructor(
    message: string,
    readonly exitStatus = 126,
  ) {
    super(message);
  }
}

/** The first guest process's pid; its parent is the emulated init. */
const FIRST_PID = 1000;
const INIT_PID = 1;
/**
 * A task's time slice. It ends at a syscall once it is over (sliceOver),
 * or, for code that makes none, at the first block boundary after it (the
 * engine's block stop, see src/cpu/block-stop.ts and runSlice).
 */
const SLICE_MS = 10;
/** The watchdog fires this long after the run's deadline (see watchdogUs). */
const WATCHDOG_MARGIN_MS = 5;
/** How often (in syscalls) the hook looks at the clock for the end of the slice. */
const SLICE_CHECK_EVERY = 64;
/** A --deterministic run's slice, counted in syscalls (a multiple of SLICE_CHECK_EVERY), not milliseconds. */
const DETERMINISTIC_SLICE_SYSCALLS = 4096;
/**
 * A --deterministic run's slice for code between syscalls, counted in
 * translated blocks entered (a few milliseconds): the same stopping points
 * every run, where a clock would differ.
 */
const DETERMINISTIC_SLICE_BLOCKS = 1 << 20;
/**
 * How far a --deterministic run's virtual clock moves when such a slice
 * ends: time passes for code that makes no syscall too, so a thread that
 * sleeps wakes up while another spins (about what a 1 GHz machine would do).
 */
const DETERMINISTIC_SLICE_NS = 1_000_000n;
/**
 * Guest tasks alive at once by default (--max-tasks). Each process has its
 * own CPU engine (measured: a fork bomb's processes cost about 3 MB of host
 * memory each, besides their own memory), so the limit keeps a fork bomb to
 * a few hundred MB and a few seconds.
 */
const DEFAULT_MAX_TASKS = 256;

/**
 * What each process's CPU engine takes from the run's memory budget: its
 * translated-code buffer, which fills with the code the process runs (a
 * guest that makes code can fill it), and about 3 MiB of its own (measured:
 * 50 fresh engines took 146 MiB x86-64, 164 MiB aarch64).
 */
const ENGINE_BUDGET_BYTES = TCG_BUFFER_BYTES + (4 << 20);

interface EngineRegs {
  /** nr, six arguments, then the pc. */
  regs: RegisterBatch;
  ret: RegisterBatch;
}

/** An execve that passed every check and waits for its engine to stop before replacing the image. */
export interface StagedExec {
  bytes: Uint8Array;
  arch: Arch;
  argv: string[];
  envp: string[];
  exePath: string;
  /** The file itself, for /proc/self/exe (held, not looked up again by name). */
  exeFile?: { node: Node; fs: FileSystem; path: string };
  execfn: string;
  /** The PT_INTERP loader binfmt.ts found, for a dynamically linked program. */
  interp?: Interpreter | null;
  /** The thread that called execve (it becomes the only one). */
  caller?: Task;
}

export class Kernel {
  readonly arch: Arch;
  readonly vfs: Vfs;
  /** The program's single-file mount (launch.ts), whose host fd is closed when the run ends. */
  private programFs: HostFileFs | null = null;
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
  private readonly tasks = new Map<number, Task>();
  private readonly runQueue: Task[] = [];
  private current: Task | null = null;
  private nextPid = FIRST_PID;
  private readonly dispatchers = new Map<string, Dispatcher>();
  private observer: SyscallObserver | null;
  private gate: SyscallGate | null;
  private readonly engineRegs = new WeakMap<CpuEngine, EngineRegs>();
  private readonly captured: { stdout?: CaptureOutputFile; stderr?: CaptureOutputFile } = {};
  private bug: KernelBug | null = null;
  private readonly warned = new Set<string>();
  private readonly warn: (line: string) => void;
  private readonly headlessTask: Task;
  /** Engines of exited or exec'ed processes, closed once no hook of theirs is running. */
  private readonly retiredEngines: CpuEngine[] = [];
  /** Address spaces of exited or exec'ed processes, freed with the engines (which may still point into them). */
  private readonly retiredSpaces: AddressSpace[] = [];
  /** The run's one memory budget: every address space checks it, files, pipes and engines charge it. */
  readonly memoryBudget: MemoryBudget;
  /** Set by a handler that needs the scheduler before the task goes on (fork, a signal for itself). */
  private rescheduleRequested = false;
  readonly stagedExecs = new Map<Process, StagedExec>();
  /** Futex wait queues (threads' locks and joins). */
  readonly futexes = new FutexTable();
  /** Told of a fatal signal or a kernel bug while the registers are still on the engine (--crash-report). */
  crashHook: CrashHook | null = null;
  readonly maxTasks: number;
  private firstFault: CpuFault | null = null;

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
    this.memoryBudget = new MemoryBudget(options.totalMemoryLimit ?? defaultMemoryBudget(), () => this.committedMemory());
    if (options.timeoutMs) this.deadlineAt = performance.now() + options.timeoutMs;
    this.signals = new SignalState(this);
    // Under --root without the host's directory, the guest starts at "/", as chroot(1) leaves it.
    const cwd = options.cwd ?? (options.root !== undefined && options.mountCwd === false ? '/' : toGuestPath(process.cwd()));
    this.vfs = buildFilesystem(
      this,
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
    const exe = program ? launchProgram(view, program, argv) : options.program !== undefined ? launchInView(view, options.program, argv) : null;
    this.arch = exe ? exe.arch : ARCHES[options.arch!];
    const cpu = exe ? this.firstEngine() : null;
    this.proc = this.newProcess(null, this.arch, cpu, { cwd, uid: ids.uid, gid: ids.gid, memoryLimit: options.memoryLimit });
    this.headlessTask = this.tasks.get(this.proc.pid)!;
    this.setupStdio();
    if (exe) this.load(this.proc, exe);
  }

  // ---- processes and tasks -----------------------------------------------------

  /** The first process's engine: a budget too small for even that is one clear line. */
  private firstEngine(): CpuEngine {
    try {
      return this.newEngine(this.arch);
    } catch (e) {
      if (!(e instanceof LinuxError)) throw e;
      const mib = (n: number): string => `${Math.floor(n / 2 ** 20)} MiB`;
      throw new LaunchError(`the memory limit (${mib(this.memoryBudget.limit)}) is below what one process needs (${mib(ENGINE_BUDGET_BYTES)} for its CPU); raise --memory-limit`);
    }
  }

  /** A CPU engine, charged to the run's memory budget (ENOMEM past it) until it is retired. */
  private newEngine(arch: Arch): CpuEngine {
    this.memoryBudget.charge(ENGINE_BUDGET_BYTES, 'ENOMEM');
    try {
      return this.createEngine(arch);
    } catch (e) {
      this.memoryBudget.release(ENGINE_BUDGET_BYTES);
      throw e;
    }
  }

  /** A CPU engine with its syscall hook and register batches (its budget share is the caller's business). */
  private createEngine(arch: Arch): CpuEngine {
    const engine: CpuEngine = new CpuEngine(arch.name, {
      onSyscall: () => this.onSyscall(engine),
      preemptible: true,
      // A private file mapping is copied in when first touched (memory.ts).
      onUnmapped: (addr) => this.current?.process.mem.fault(addr) ?? false,
    });
    this.engineRegs.set(engine, {
      regs: engine.registers([...arch.syscallRegs, arch.pcReg]),
      ret: engine.registers([arch.returnReg]),
    });
    return engine;
  }

  private newProcess(
    parent: Process | null,
    arch: Arch,
    cpu: CpuEngine | null,
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
    const task = new Task(this, pid, p);
    p.threads.push(task);
    p.loadedThread = task;
    this.tasks.set(pid, task);
    return p;
  }

  /** Pids and tids share one number space, as on Linux. */
  private allocatePid(): number {
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

  get cpu(): CpuEngine | null {
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

  private dispatcherFor(arch: Arch): Dispatcher {
    let d = this.dispatchers.get(arch.name);
    if (!d) {
      d = new Dispatcher(buildTable(arch, ALL_SYSCALLS), arch, this.observer, () => this.clock.traceNs(), this.gate);
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

  // ---- images -------------------------------------------------------------------

  /** The first image, from the program launch.ts resolved. */
  private load(p: Process, exe: Executable): void {
    try {
      this.installImage(p, { bytes: exe.bytes, arch: exe.arch, argv: exe.argv, envp: this.options.env, exePath: exe.file.path, exeFile: exe.file, execfn: exe.execfn, interp: exe.interp });
    } catch (e) {
      if (e instanceof ElfError) throw new LaunchError(`${exe.execfn}: ${e.message}`);
      throw e;
    }
  }

  /** Map a new image into `p` (whose engine and address space are fresh) and point its task at the entry. */
  private installImage(p: Process, img: StagedExec): void {
    p.argv = img.argv;
    p.envp = img.envp;
    p.exePath = img.exePath;
    p.exeFile = img.exeFile ?? null;
    p.comm = path.posix.basename(img.exePath).slice(0, 15);
    const random16 = new Uint8Array(16);
    this.entropy.fill(random16);
    const image = loadImage(p, {
      bytes: img.bytes,
      argv: img.argv,
      envp: img.envp,
      execfn: img.execfn,
      random16,
      file: img.exeFile ? mappedFileId(img.exeFile) : undefined,
      interp: img.interp ? { bytes: img.interp.bytes, file: mappedFileId(img.interp.file) } : null,
    });
    p.auxv = image.auxv;
    img.arch.prepareEntry(p.cpu!, image.entry, image.sp);
    this.taskOf(p).pc = image.entry;
  }

  /**
   * The second half of execve, after the old image's engine has stopped:
   * a fresh engine and address space, the new image, close-on-exec fds,
   * handlers reset to SIG_DFL (ignored signals stay ignored; see execve(2)).
   */
  private completeExec(p: Process, img: StagedExec): void {
    // The new engine takes over the old one's share of the budget: past the
    // point of no return there is nothing to fail.
    if (p.cpu) this.retiredEngines.push(p.cpu);
    this.retiredSpaces.push(p.mem);
    p.arch = img.arch;
    p.cpu = this.createEngine(img.arch);
    p.mem = new AddressSpace(img.arch.layout, p.cpu, p.mem.memoryLimit);
    p.applyAddressSpaceLimit();
    p.mem.budget = this.memoryBudget;
    p.fds.closeOnExec();
    for (const [sig, action] of p.sigactions) {
      if (action.handler > 1n) p.sigactions.set(sig, { handler: 0n, flags: 0n, restorer: 0n, mask: 0n });
    }
    const task = this.onlyThreadLeft(p, img.caller);
    task.altstack = { sp: 0, flags: 2, size: 0 };
    task.clearChildTid = 0;
    task.robustList = { head: 0, len: 0 };
    task.context?.free();
    task.context = null;
    p.loadedThread = task;
    p.sigreturnPage = 0;
    try {
      this.installImage(p, img);
    } catch (e) {
      // Past the point of no return, a failure kills the process (as Linux sends SIGSEGV).
      if (!(e instanceof LinuxError) && !(e instanceof ElfError)) throw e;
      p.killBySignal(11, false);
    }
    const parentWaiting = p.vforkDone;
    if (parentWaiting) {
      p.vforkDone = null;
      parentWaiting.notify();
    }
  }

  // ---- fork --------------------------------------------------------------------

  /**
   * A copy of the calling process (fork, vfork, clone without
   * CLONE_THREAD): its memory copied (or, with `lendMemory`, its pages
   * shared: vfork and CLONE_VM), its fds sharing the same open file
   * descriptions, its registers copied, returning 0 in the child.
   * `resumePc` is where both continue: right after the syscall instruction.
   */
  forkProcess(parentTask: Task, resumePc: number, lendMemory = false): Process {
    const parent = parentTask.process;
    if (this.liveProcesses().length >= this.maxTasks) throw new LinuxError('EAGAIN', 'too many tasks');
    const cpu = parent.cpu ? this.newEngine(parent.arch) : null;
    const child = this.newProcess(parent, parent.arch, cpu, {
      cwd: parent.cwd,
      uid: parent.creds.uid,
      gid: parent.creds.gid,
      memoryLimit: parent.mem.memoryLimit,
    });
    child.creds = { ...parent.creds };
    child.groups = [...parent.groups];
    child.umask = parent.umask;
    child.rlimits = new Map([...parent.rlimits].map(([k, v]) => [k, { ...v }]));
    child.applyAddressSpaceLimit();
    child.sigactions = new Map([...parent.sigactions].map(([k, v]) => [k, { ...v }]));
    const task = this.taskOf(child);
    task.sigmask = parentTask.sigmask;
    task.altstack = { ...parentTask.altstack };
    child.pgid = parent.pgid;
    child.sid = parent.sid;
    child.argv = parent.argv;
    child.envp = parent.envp;
    child.exePath = parent.exePath;
    child.exeFile = parent.exeFile;
    child.auxv = parent.auxv;
    child.comm = parent.comm;
    child.sigreturnPage = parent.sigreturnPage;
    child.beyondEof = [...parent.beyondEof];
    child.fds = parent.fds.clone();
    try {
      parent.mem.copyTo(child.mem, lendMemory);
    } catch (e) {
      // No memory for the child's copy: fork fails (ENOMEM) and the child never was.
      this.discardUnborn(child);
      throw e;
    }
    if (parent.cpu && cpu) {
      parent.cpu.copyCpuStateTo(cpu);
      const regs = this.engineRegs.get(cpu)!.ret;
      regs.setNumber(0, 0); // fork returns 0 in the child
      regs.write();
    }
    task.pc = resumePc;
    this.makeReady(task);
    this.requestReschedule();
    return child;
  }

  /** A child fork could not finish: its fds, engine and memory go, and no one hears of it. */
  private discardUnborn(child: Process): void {
    child.fds.closeAll();
    if (child.cpu) this.retireEngine(child.cpu);
    this.retiredSpaces.push(child.mem);
    child.parent?.children.delete(child);
    this.processes.delete(child.pid);
    for (const t of child.threads) this.tasks.delete(t.tid);
  }

  // ---- threads -------------------------------------------------------------------

  /**
   * A new thread in the caller's process (clone with CLONE_THREAD): the
   * caller's registers, returning 0, on stack `sp` with TLS `tls` when
   * given. The caller's state is on the engine (it is running); the new
   * thread's is kept in its own context until it is scheduled.
   */
  newThread(parentTask: Task, resumePc: number, opts: { sp: number; tls: number | null }): Task {
    const p = parentTask.process;
    if (this.liveTaskCount() >= this.maxTasks) throw new LinuxError('EAGAIN', 'too many tasks');
    const tid = this.allocatePid();
    const task = new Task(this, tid, p);
    task.sigmask = parentTask.sigmask;
    task.pc = resumePc;
    p.threads.push(task);
    this.tasks.set(tid, task);
    const cpu = p.cpu;
    if (cpu) {
      const callerState = (parentTask.context ??= cpu.newContext());
      callerState.save();
      const regs = this.engineRegs.get(cpu)!.ret;
      regs.setNumber(0, 0); // clone returns 0 in the new thread
      regs.write();
      if (opts.sp) cpu.writeRegister(p.arch.spReg, opts.sp);
      if (opts.tls !== null) cpu.writeRegister(p.arch.tlsReg, opts.tls);
      task.context = cpu.newContext();
      task.context.save();
      callerState.restoreInto();
    }
    this.makeReady(task);
    return task;
  }

  /** Tasks alive in the whole guest (the --max-tasks limit counts threads too). */
  private liveTaskCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.state !== 'dead') n++;
    return n;
  }

  /**
   * Put `task`'s registers on its process's engine, saving those of the
   * thread that was there (threads share one engine; see CpuContext).
   */
  private switchTo(task: Task): void {
    const p = task.process;
    const loaded = p.loadedThread;
    if (loaded === task || !p.cpu) return;
    if (loaded && loaded.state !== 'dead') {
      loaded.context ??= p.cpu.newContext();
      loaded.context.save();
    }
    task.context?.restoreInto();
    p.loadedThread = task;
  }

  /**
   * exit(2) of one thread. The last thread out ends the process with its
   * status; otherwise the thread goes alone: its clear_child_tid word is
   * zeroed and futex-woken (what pthread_join waits on; see
   * set_tid_address(2)) and its robust futexes are released.
   */
  exitThread(task: Task, code: number): void {
    const p = task.process;
    if (p.liveTasks().length <= 1) {
      p.exit(code);
      return;
    }
    this.releaseThread(task);
    task.exitStatus = (code & 0xff) << 8;
  }

  /** A thread leaves: its waits are dropped, its futex duties done, its registers freed. */
  private releaseThread(task: Task): void {
    const p = task.process;
    task.state = 'dead';
    this.cancelWaits(task);
    this.futexes.threadExited(task);
    if (p.loadedThread === task) p.loadedThread = null;
    task.context?.free();
    task.context = null;
    // The main thread stays listed (a zombie leader) until the process ends; others go at once.
    if (task !== p.threads[0]) {
      p.threads.splice(p.threads.indexOf(task), 1);
      this.tasks.delete(task.tid);
    }
  }

  /** execve(2) in a threaded process: every other thread ends, and the caller becomes the main thread. */
  private onlyThreadLeft(p: Process, execCaller: Task | undefined): Task {
    const caller = execCaller && execCaller.state !== 'dead' ? execCaller : this.taskOf(p);
    for (const t of [...p.threads]) {
      if (t === caller) continue;
      if (t.state !== 'dead') this.releaseThread(t);
      const i = p.threads.indexOf(t);
      if (i >= 0) p.threads.splice(i, 1);
      this.tasks.delete(t.tid);
    }
    return caller;
  }

  // ---- exit and wait -------------------------------------------------------------

  private onProcessExit(p: Process): void {
    for (const t of p.liveTasks()) {
      t.exitStatus = p.exitStatus;
      this.releaseThread(t);
    }
    p.fds.closeAll();
    if (p.cpu) this.retireEngine(p.cpu);
    // A zombie keeps no memory (its /proc/<pid>/maps is empty, as on Linux).
    this.retiredSpaces.push(p.mem);
    // Orphans go to the emulated init, which reaps them when they exit.
    for (const child of p.children) {
      child.parent = null;
      child.ppid = INIT_PID;
      if (child.exited) this.reap(child);
    }
    p.children.clear();
    const waiting = p.vforkDone;
    if (waiting) {
      p.vforkDone = null;
      waiting.notify();
    }
    const parent = p.parent;
    if (parent && !parent.exited) {
      parent.childEvents.notify();
      if (p.exitSignal) this.signals.send(parent, { signo: p.exitSignal, code: childCode(p.exitStatus!), pid: p.pid, uid: p.creds.uid, status: childStatusValue(p.exitStatus!) });
    } else if (p !== this.proc) {
      this.reap(p);
    }
  }

  /** Remove a zombie for good (wait4 by its parent, or the emulated init). */
  reap(p: Process): void {
    if (p.reaped) return;
    p.reaped = true;
    p.parent?.children.delete(p);
    if (p !== this.proc) this.processes.delete(p.pid);
    for (const t of p.threads) this.tasks.delete(t.tid);
  }

  // ---- blocking and waking -----------------------------------------------------------

  makeReady(task: Task): void {
    if (task.state === 'dead' || task.state === 'stopped') return;
    this.cancelWaits(task);
    if (task.state === 'ready' && this.runQueue.includes(task)) return;
    task.state = 'ready';
    if (task !== this.current) this.runQueue.push(task);
  }

  private cancelWaits(task: Task): void {
    for (const cancel of task.cancelWait) cancel();
    task.cancelWait = [];
  }

  private block(task: Task): void {
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

  // ---- the syscall path -------------------------------------------------------------

  /** Called from the CPU hook at every syscall instruction. Never throws into the FFI. */
  private onSyscall(engine: CpuEngine): void {
    const task = this.current;
    const { regs } = this.engineRegs.get(engine)!;
    try {
      if (!task || task.process.cpu !== engine) throw new Error('syscall from an engine that is not running a task');
      regs.read();
      const hookPc = regs.number(7);
      const outcome = this.makeSyscall(task, regs, task.arch.name === 'x86_64' ? hookPc : hookPc - 4);
      if (outcome !== 'done' || this.rescheduleRequested || this.sliceOver()) this.stopInHook(task, engine);
    } catch (e) {
      this.bug = e instanceof KernelBug ? e : new KernelBug(`kernel bug: ${(e as Error)?.stack ?? String(e)}`, e);
      engine.stop();
    }
  }

  /**
   * Make the call whose registers are in `regs` for `task`, whose syscall
   * instruction is at `insnPc`: 'done' with the result in the return
   * register and task.pc after the instruction; 'blocked' with task.pc back
   * on the instruction; 'stopped' when the call does not return (exit,
   * execve; rt_sigreturn set task.pc and any interrupted call's state itself).
   */
  private makeSyscall(task: Task, regs: RegisterBatch, insnPc: number): 'done' | 'blocked' | 'stopped' {
    task.pc = insnPc + (task.arch.name === 'x86_64' ? 2 : 4);
    this.clock.tick();
    const ret = this.dispatcherFor(task.arch).dispatch(task, regs);
    if (ret === SYSCALL_BLOCKED) {
      task.pc = insnPc;
      this.block(task);
      return 'blocked';
    }
    if (ret === SYSCALL_NORETURN || task.process.exited || task.state === 'dead' || this.stagedExecs.has(task.process)) return 'stopped';
    this.completeSyscall(task);
    if (ret === -38 /* ENOSYS */) this.noteUnimplemented(task, regs);
    this.setReturnValue(task, ret);
    return 'done';
  }

  /** A call returned to the guest: its wait and retry state go. */
  private completeSyscall(task: Task): void {
    task.blockedOn = null;
    task.syscallState = undefined;
    task.syscallEntry = null;
    task.interruptedBy = 0;
  }

  private syscallsThisSlice = 0;
  private sliceEndsAt = 0;
  private get sliceMs(): number {
    return this.options.sliceMs ?? SLICE_MS;
  }
  private deadlineAt = Infinity;
  private timedOut = false;

  /** Past the run's timeout: kill everything (the scheduler loop then ends). */
  private checkTimeout(): boolean {
    if (this.timedOut) return true;
    if (performance.now() < this.deadlineAt) return false;
    this.timedOut = true;
    for (const p of this.processes.values()) if (!p.exited) p.killBySignal(9, false);
    return true;
  }

  /** The slice is used up and someone else should run (or the event loop needs a turn). */
  private sliceOver(): boolean {
    if (++this.syscallsThisSlice % SLICE_CHECK_EVERY !== 0) return false;
    if (this.checkTimeout()) return true;
    if (this.clock.virtual ? this.syscallsThisSlice < DETERMINISTIC_SLICE_SYSCALLS : performance.now() < this.sliceEndsAt) return false;
    return this.asyncMode || this.runQueue.some((t) => t.state === 'ready') || this.hasTimedWaiters() || this.hostStreams.awaited;
  }

  /**
   * How the engine's next run may end besides a syscall: at the end of the
   * slice, at a block boundary, where the pc is exact (src/cpu/block-stop.ts).
   * A --deterministic run counts blocks instead of reading a clock. On a host
   * where the engine cannot be pre-empted, a loop without syscalls keeps the
   * CPU, and only the watchdog ends it when --timeout passes.
   */
  private runLimits(cpu: CpuEngine): RunLimits {
    if (!cpu.preemptible) return { watchdogUs: this.watchdogUs() };
    return { slice: this.clock.virtual ? { blocks: DETERMINISTIC_SLICE_BLOCKS } : { ms: this.sliceMs } };
  }

  /**
   * The CPU watchdog, in µs (0: none), for engines that cannot be pre-empted:
   * a task that makes no syscall is stopped when the run's --timeout passes.
   * It only ever kills: Unicorn's run timeout (uc_emu_stop from its own
   * thread) can stop in the middle of a block with the pc of the block's
   * start (see src/cpu/block-stop.ts), so the task must not go on.
   */
  private watchdogUs(): number {
    if (this.deadlineAt === Infinity) return 0;
    // A little past the deadline, so that checkTimeout sees it passed.
    return Math.ceil((Math.max(0, this.deadlineAt - performance.now()) + WATCHDOG_MARGIN_MS) * 1000);
  }

  /**
   * A task woken from a blocking call makes the call again here, from the
   * registers it blocked with, and not by running its syscall instruction
   * again: a sleeping call never leaves the kernel on Linux, so whatever the
   * guest's memory holds at the call's pc by now (another thread may have
   * mapped new code there) is not what is retried, and the retry is the
   * very call the gate let in. 'run' when the call completed and the task
   * goes on from the instruction after it; 'blocked' when it waits again;
   * 'stopped' when it does not return (the task exited or execs).
   */
  private retryBlockedCall(task: Task, engine: CpuEngine): 'run' | 'blocked' | 'stopped' {
    const { regs } = this.engineRegs.get(engine)!;
    regs.read();
    const outcome = this.makeSyscall(task, regs, task.pc);
    if (outcome === 'blocked') return 'blocked';
    // A call that does not return, or one that wants the scheduler first (a
    // signal it raised for its own task, a fork): the task goes on next slice.
    if (outcome === 'stopped' || this.rescheduleRequested || this.sliceOver()) {
      task.stoppedInHook = true;
      return 'stopped';
    }
    return 'run';
  }

  /** Stop the engine from inside a syscall hook; task.pc already says where to resume. */
  private stopInHook(task: Task, engine: CpuEngine): void {
    task.stoppedInHook = true;
    engine.stop();
  }

  /** Write a syscall result into a task's return register (EINTR for an interrupted call). */
  setReturnValue(task: Task, value: number): void {
    const out = this.engineRegs.get(task.process.cpu!)!.ret;
    if (value >= 0) out.setNumber(0, value);
    else {
      // -errno as a 64-bit two's complement value: the high word is all ones.
      out.words[0] = value >>> 0;
      out.words[1] = 0xffffffff;
    }
    out.write();
  }

  /** Set the pc register of a task's engine (before a signal frame saves it). */
  setPc(task: Task, pc: number): void {
    task.process.cpu!.writeRegister(task.arch.pcReg, pc);
  }

  /**
   * Call a syscall by name with raw argument values, without a CPU: the
   * result is >= 0 or -errno, exactly what the guest would see in rax/x0.
   * A call that would block returns -EAGAIN here.
   */
  invoke(name: string, args: readonly (number | bigint)[] = []): number {
    return this.invokeAs(this.headlessTask, name, args);
  }

  /**
   * invoke() as another task (a thread made with newThread). A call that
   * blocked stays the task's blocked call: invoking the same syscall again
   * is its retry (with the arguments given now, which tests may change),
   * as the scheduler retries it; any other call abandons it (see
   * dispatch.ts). Every call passes the gate, with the arguments given.
   */
  invokeAs(task: Task, name: string, args: readonly (number | bigint)[] = []): number {
    const nr = task.arch.syscallNumbers[name];
    if (nr === undefined) throw new Error(`${name} is not a syscall on ${task.arch.name}`);
    const words = new Uint32Array(16);
    const all = [BigInt(nr), ...args.map((a) => BigInt.asUintN(64, BigInt(a)))];
    all.forEach((v, i) => {
      words[2 * i] = Number(v & 0xffffffffn);
      words[2 * i + 1] = Number(v >> 32n);
    });
    if (task.blockedOn && task.blockedSyscall === name) task.syscallEntry = callEntry(words, task.pc);
    this.clock.tick();
    const r = this.dispatcherFor(task.arch).dispatch(task, { words } as RegisterBatch);
    if (r === SYSCALL_BLOCKED) return -11;
    this.completeSyscall(task);
    return r === SYSCALL_NORETURN ? 0 : r;
  }

  private noteUnimplemented(task: Task, regs: RegisterBatch): void {
    const words = regs.words;
    const nr = words[1] === 0 ? words[0]! : -1;
    const name = task.arch.syscallNames[nr];
    const key = `${task.arch.name}:${nr}`;
    if (!this.options.warnUnimplemented || this.warned.has(key)) return;
    this.warned.add(key);
    if (name && ALL_SYSCALLS_BY_NAME.has(name)) return; // implemented, and it said ENOSYS on purpose
    this.warn(`tslinux: unimplemented syscall ${name ?? 'unknown'} (${task.arch.name} #${nr}) returned ENOSYS`);
  }

  // ---- the scheduler --------------------------------------------------------------------

  /** Run the guest to completion: until the first process exits. */
  run(): ExitInfo {
    if (!this.proc.cpu) throw new Error('a headless kernel has no program to run');
    this.makeReady(this.taskOf(this.proc));
    try {
      while (!this.proc.exited) {
        const task = this.nextReady();
        if (!task) {
          if (!this.idle()) break;
          continue;
        }
        this.runScheduled(task);
      }
    } finally {
      this.shutdown();
    }
    return this.exitInfo();
  }

  private runScheduled(task: Task): void {
    try {
      this.runSlice(task);
    } catch (e) {
      this.bug = e instanceof KernelBug ? e : new KernelBug(`kernel bug while scheduling pid ${task.process.pid}: ${(e as Error)?.stack ?? String(e)}`, e);
    }
    if (this.bug) this.crashHook?.kernelBug(task, this.bug);
    this.closeRetiredEngines();
    if (this.bug) throw this.bug;
  }

  private exitInfo(): ExitInfo {
    const status = this.proc.exitStatus ?? 0;
    const signo = status & 0x7f;
    return {
      exitCode: signo ? 128 + signo : (status >> 8) & 0xff,
      status,
      signal: signo ? signalName(signo) : null,
      fault: signo ? this.firstFault : null,
      timedOut: this.timedOut,
      stdout: this.captured.stdout?.text() ?? Buffer.alloc(0),
      stderr: this.captured.stderr?.text() ?? Buffer.alloc(0),
    };
  }

  private nextReady(): Task | null {
    if (this.checkTimeout()) return null;
    this.hostStreams.poll(0);
    this.fireTimers();
    this.wakeExpired();
    while (this.runQueue.length > 0) {
      const t = this.runQueue.shift()!;
      if (t.state === 'ready') return t;
    }
    return null;
  }

  /** ITIMER_REAL timers that are due send SIGALRM (and re-arm when periodic). */
  private fireTimers(): void {
    const now = this.monotonicNs();
    for (const p of this.processes.values()) {
      const t = p.itimerReal;
      if (!t || p.exited || t.deadlineNs > now) continue;
      p.itimerReal = t.intervalNs > 0n ? { deadlineNs: t.deadlineNs + t.intervalNs * (1n + (now - t.deadlineNs) / t.intervalNs), intervalNs: t.intervalNs } : null;
      this.signals.send(p, { signo: 14 /* SIGALRM */, code: 0x80 /* SI_KERNEL */ });
    }
  }

  /** The earliest moment something timed happens: a sleeper's deadline or a process timer. */
  private earliestDeadline(): bigint | null {
    let earliest: bigint | null = null;
    for (const t of this.tasks.values()) {
      const d = t.blockedOn?.deadlineNs;
      if (t.state === 'blocked' && d !== null && d !== undefined && (earliest === null || d < earliest)) earliest = d;
    }
    for (const p of this.processes.values()) {
      const d = p.itimerReal?.deadlineNs;
      if (d !== undefined && !p.exited && (earliest === null || d < earliest)) earliest = d;
    }
    return earliest;
  }

  /** Tasks whose timed wait has passed its deadline become ready. */
  private wakeExpired(): void {
    const now = this.monotonicNs();
    for (const t of this.tasks.values()) {
      const d = t.blockedOn?.deadlineNs;
      if (t.state === 'blocked' && d !== null && d !== undefined && d <= now) this.makeReady(t);
    }
  }

  /**
   * Nothing is ready: sleep until the earliest deadline. With no deadline
   * either, every task waits on another forever: report the deadlock and
   * stop, rather than hang.
   */
  private idle(): boolean {
    const plan = this.idlePlan();
    if (!plan) return false;
    if (plan.host) this.hostStreams.poll(plan.ms);
    else if (plan.ms > 0) Atomics.wait(idleSleeper, 0, 0, plan.ms);
    return true;
  }

  /**
   * How long to sleep when nothing is ready: until the earliest timed wait,
   * and/or until a host stream a task waits on moves (the idle scheduler
   * polls it). Neither: every task waits on another forever, so report the
   * deadlock and stop rather than hang.
   */
  private idlePlan(): { ms: number; host: boolean } | null {
    if (this.checkTimeout()) return null;
    const plan = this.idlePlanInner();
    if (plan && (plan.ms > 0 || plan.host)) this.observer?.onIdle?.();
    // Never sleep past the run's timeout.
    if (plan && this.deadlineAt !== Infinity) plan.ms = Math.min(plan.ms, Math.max(1, Math.ceil(this.deadlineAt - performance.now())));
    return plan;
  }

  private idlePlanInner(): { ms: number; host: boolean } | null {
    const earliest = this.earliestDeadline();
    const host = this.hostStreams.awaited;
    if (earliest === null && !host) {
      this.warn('tslinux: every guest task is blocked and nothing can wake them (deadlock); stopping');
      this.proc.killBySignal(9, false);
      return null;
    }
    if (earliest === null) return { ms: 1000, host };
    // Virtual time does not pass while the guest waits: it jumps to the deadline (host input comes when it comes).
    if (this.clock.skipTo(earliest)) return { ms: 0, host };
    const ns = earliest - this.monotonicNs();
    const ms = ns <= 0n ? 0 : Math.max(1, Number(ns / 1_000_000n));
    return { ms, host };
  }

  /**
   * run(), for callers that keep Node's event loop alive (the CLI): idle
   * waits and long CPU stretches yield to the event loop, so host signals
   * (Ctrl-C) reach the guest through hostSignal().
   */
  async runAsync(): Promise<ExitInfo> {
    if (!this.proc.cpu) throw new Error('a headless kernel has no program to run');
    this.asyncMode = true;
    this.makeReady(this.taskOf(this.proc));
    let lastYield = Date.now();
    try {
      while (!this.proc.exited) {
        const task = this.nextReady();
        if (!task) {
          const plan = this.idlePlan();
          if (!plan) break;
          if (plan.host) {
            // poll(2) on the host streams holds up the event loop: in short turns, so host signals get through.
            this.hostStreams.poll(Math.min(plan.ms, HOST_POLL_TURN_MS));
            await new Promise((r) => setImmediate(r));
          } else {
            // A host signal (hostSignal) ends the wait early.
            const woken = new Promise<void>((r) => (this.wakeIdle = r));
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([new Promise((r) => (timer = setTimeout(r, plan.ms))), woken]);
            clearTimeout(timer);
            this.wakeIdle = null;
          }
          lastYield = Date.now();
          continue;
        }
        this.runScheduled(task);
        if (Date.now() - lastYield > 50) {
          await new Promise((r) => setImmediate(r));
          lastYield = Date.now();
        }
      }
    } finally {
      this.shutdown();
    }
    return this.exitInfo();
  }

  /** Set in runAsync: slices end at syscalls every so often so the event loop gets turns. */
  private asyncMode = false;
  /** Resolves runAsync's idle wait (set while it waits). */
  private wakeIdle: (() => void) | null = null;

  /** The host terminal as the guest sees it: termios and the foreground process group (host Ctrl-C goes there). */
  readonly terminal = new Terminal();

  /**
   * A signal the host sent to tslinux (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT):
   * it goes to the guest's foreground process group, as the terminal would
   * send it (see termios(3), ISIG).
   */
  hostSignal(signo: number): void {
    const group = this.terminal.foregroundPgrp || this.proc.pgid;
    let sent = false;
    for (const p of this.liveProcesses()) {
      if (!p.exited && p.pgid === group) {
        this.signals.send(p, { signo, code: 0x80 /* SI_KERNEL */ });
        sent = true;
      }
    }
    if (!sent) this.signals.send(this.proc, { signo, code: 0x80 });
    this.wakeIdle?.();
  }

  private runSlice(task: Task): void {
    const p = task.process;
    this.current = task;
    this.rescheduleRequested = false;
    try {
      this.switchTo(task);
      this.signals.deliver(task);
      if (p.exited || task.state !== 'ready') return;
      const cpu = p.cpu!;
      task.stoppedInHook = false;
      this.syscallsThisSlice = 0;
      this.sliceEndsAt = performance.now() + this.sliceMs;
      const resumed = task.blockedOn ? this.retryBlockedCall(task, cpu) : 'run';
      if (resumed === 'blocked') return;
      const r: RunResult = resumed === 'run' ? cpu.run(task.pc, this.runLimits(cpu)) : { kind: 'stopped' };
      if (this.bug || p.exited) return;
      const staged = this.stagedExecs.get(p);
      if (staged) {
        this.stagedExecs.delete(p);
        this.completeExec(p, staged);
        if (!p.exited) this.runQueue.push(task);
        return;
      }
      let fault = r.kind === 'fault' ? r.fault : null;
      if (r.kind === 'timeout') {
        // Only the run's --timeout arms the watchdog, and the guest dies of it (see watchdogUs).
        this.checkTimeout();
        return;
      }
      if (r.kind === 'preempted') this.preempted(task, cpu);
      else if (!fault && !task.stoppedInHook && !p.exited) fault = this.unexpectedStop(task, cpu.pc());
      if (fault) fault = this.exactFault(p, task, fault);
      if (fault) fault = beyondEofFault(p, fault);
      if (fault) {
        this.firstFault ??= fault;
        task.pc = fault.pc;
        this.signals.sendFault(task, fault);
      }
      if (task.state === 'ready') this.runQueue.push(task);
    } finally {
      this.current = null;
    }
  }

  /**
   * The slice ended between two blocks: the task goes on from the engine's
   * pc, after the others (runSlice queues it last). The pause is also the
   * safe point to empty the soft TLB, which QEMU only resizes at a flush
   * (see CpuEngine.flushTlb): measured, that makes the 20 MB sieve 2x faster.
   */
  private preempted(task: Task, cpu: CpuEngine): void {
    task.pc = cpu.pc();
    cpu.flushTlb();
    this.preemptionCount++;
    if (this.clock.virtual) this.clock.skipTo(this.clock.monotonicNs() + DETERMINISTIC_SLICE_NS);
  }

  private preemptionCount = 0;

  /** How many times a task's slice ended between two blocks (tests look at it). */
  get preemptions(): number {
    return this.preemptionCount;
  }

  /** A memory fault with the faulting instruction's own pc (see src/cpu/fault-pc.ts). */
  private exactFault(p: Process, task: Task, fault: CpuFault): CpuFault {
    const pc = p.cpu ? exactFaultPc(p.cpu, fault, p.mem) : null;
    if (pc === null || pc === fault.pc) return fault;
    this.setPc(task, pc);
    return { ...fault, pc };
  }

  /**
   * The CPU stopped though no hook asked it to: on x86-64 that is `hlt`,
   * which Unicorn treats as the end of emulation. In user mode Linux gives a
   * general protection fault: SIGSEGV with si_code SI_KERNEL.
   */
  private unexpectedStop(task: Task, pc: number): CpuFault {
    let at = pc;
    try {
      if (task.arch.name === 'x86_64' && task.process.mem.read(pc - 1, 1)[0] === 0xf4) at = pc - 1;
    } catch {
      // pc - 1 unmapped: report pc itself
    }
    return { signal: 'SIGSEGV', code: 0x80, addr: 0, pc: at, reason: 'privileged instruction (hlt) or unexpected CPU stop' };
  }

  private hasTimedWaiters(): boolean {
    return this.earliestDeadline() !== null;
  }

  /**
   * The engine of a process that is gone: closed once no hook of its is
   * running (closeRetiredEngines, at the end of the scheduler step); its
   * share of the budget is free now.
   */
  private retireEngine(engine: CpuEngine): void {
    this.retiredEngines.push(engine);
    this.memoryBudget.release(ENGINE_BUDGET_BYTES);
  }

  private closeRetiredEngines(): void {
    while (this.retiredEngines.length > 0) this.retiredEngines.pop()!.close();
    while (this.retiredSpaces.length > 0) this.retiredSpaces.pop()!.release();
  }

  /** Host memory backing all guest processes' mappings now. */
  private committedMemory(): number {
    let total = 0;
    for (const p of this.processes.values()) total += p.mem.committed;
    return total;
  }

  /** The run is over: every remaining process goes (the first process was their init). */
  private shutdown(): void {
    for (const p of this.processes.values()) {
      if (!p.exited) p.killBySignal(9, false);
    }
    this.closeRetiredEngines();
    for (const p of this.processes.values()) if (p.cpu) p.cpu.close();
    this.hostStreams.close();
    this.programFs?.release();
    this.terminal.restore();
    this.vfs.release();
  }

  // ---- stdio -------------------------------------------------------------------------------

  private setupStdio(): void {
    const names = ['stdin', 'stdout', 'stderr'] as const;
    names.forEach((name, fd) => {
      const spec = this.options[name] ?? fd;
      const fsys = this.vfs.mounts()[0]!.fs;
      const node = new StreamNode(fsys, () => hostFdStat(typeof spec === 'number' ? spec : -1, 0), name);
      let file: OpenFile;
      if (typeof spec === 'number') file = new HostStreamFile(node, spec, this.hostStreamFor(spec));
      else if (spec === 'capture') {
        const cap = new CaptureOutputFile(
          node,
          this.options.maxOutput,
          (chunk) => this.options.onOutput?.(name as 'stdout' | 'stderr', chunk),
          () => this.signals.send(this.currentTask.process, { signo: 25 /* SIGXFSZ */, code: 0x80 /* SI_KERNEL */ }),
        );
        this.captured[name as 'stdout' | 'stderr'] = cap;
        file = cap;
      } else file = new BufferInputFile(node, spec);
      node.file = file;
      const { access, statusFlags } = stdioMode(fd, typeof spec === 'number' ? spec : null, this.arch.c);
      const ofd = withHostOffset(new OpenFileDescription(file, node, fsys, `/dev/${name}`, access, statusFlags, false), file);
      this.proc.fds.installAt(fd, ofd);
    });
  }

  /** The host streams of the guest's stdio and /dev/tty, which the scheduler polls for the tasks waiting on them. */
  private readonly hostStreams = new HostStreams();

  /** The stream of a host fd whose transfers may wait (a tty, pipe, FIFO or socket), or null for files and /dev/null. */
  hostStreamFor(hostFd: number): HostStream | null {
    return hostFdMayBlock(hostFd) ? this.hostStreams.for(hostFd) : null;
  }

  /** The nanoseconds since boot, for CLOCK_MONOTONIC and friends. */
  monotonicNs(): bigint {
    return this.clock.monotonicNs();
  }

  /** The tracer's timestamp at boot (JSON traces count start_ns from it). */
  get bootNs(): bigint {
    return this.clock.traceBaseNs;
  }

  /** A filesystem for the rootfs, for nodes that live nowhere else. */
  rootFs(): FileSystem {
    return this.vfs.mounts()[0]!.fs;
  }

  /** What the guest created, changed and deleted under --overlay, as guest paths. */
  overlayDiff(): { created: string[]; changed: string[]; deleted: string[] } {
    const out = { created: [] as string[], changed: [] as string[], deleted: [] as string[] };
    for (const { path: at, fs: ov } of this.overlays.list) {
      const d = ov.diff();
      const abs = (rel: string): string => (at === '/' ? `/${rel}` : `${at}/${rel}`);
      out.created.push(...d.created.map(abs));
      out.changed.push(...d.changed.map(abs));
      out.deleted.push(...d.deleted.map(abs));
    }
    return out;
  }

  /** Raise a signal for a process (kill(2) and the kernel's own signals). */
  sendSignal(p: Process, info: SigInfo): void {
    this.signals.send(p, info);
  }
}

const idleSleeper = new Int32Array(new SharedArrayBuffer(4));
/** In runAsync, the longest poll(2) of host streams before the event loop gets a turn (host signals wait that long at most). */
const HOST_POLL_TURN_MS = 50;

const ALL_SYSCALLS_BY_NAME = new Set(ALL_SYSCALLS.map((d) => d.name));

/** A fault in the part of a file mapping past the file's end is SIGBUS with BUS_ADRERR. */
function beyondEofFault(p: Process, fault: CpuFault): CpuFault {
  const addr = fault.addr;
  if (fault.signal !== 'SIGSEGV' || typeof addr !== 'number') return fault;
  const hit = p.beyondEof.find((r) => addr >= r.start && addr < r.end && p.mem.mappingAt(addr)?.name === r.name);
  return hit ? { ...fault, signal: 'SIGBUS', code: 2, reason: 'access beyond the end of a mapped file' } : fault;
}

/** SIGCHLD's si_code for a child's new state (CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3). */
function childCode(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return 1;
  return status & 0x80 ? 3 : 2;
}

function childStatusValue(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : sig;
}

export function signalName(signo: number): string {
  const names: Record<number, string> = {
    1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
    9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
    16: 'SIGSTKFLT', 17: 'SIGCHLD', 18: 'SIGCONT', 19: 'SIGSTOP', 20: 'SIGTSTP', 21: 'SIGTTIN', 22: 'SIGTTOU',
    23: 'SIGURG', 24: 'SIGXCPU', 25: 'SIGXFSZ', 26: 'SIGVTALRM', 27: 'SIGPROF', 28: 'SIGWINCH', 29: 'SIGIO',
    30: 'SIGPWR', 31: 'SIGSYS',
  };
  return names[signo] ?? (signo >= 32 && signo <= 64 ? `SIGRT${signo - 32}` : `signal ${signo}`);
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

/** A host path as a POSIX guest path (Windows drive paths become /c/...). */
export function toGuestPath(hostPath: string): string {
  if (path.sep === '/') return hostPath;
  const parsed = path.win32.parse(hostPath);
  const drive = parsed.root.replace(/[:\\]/g, '').toLowerCase();
  return '/' + [drive, ...hostPath.slice(parsed.root.length).split('\\')].filter(Boolean).join('/');
}

export { FAULT_SIGNALS };
