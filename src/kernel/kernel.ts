// The kernel: one guest program's world. It builds the filesystem view,
// loads the executable into a process, runs the CPU and answers its
// syscalls until the process exits or dies of a signal.
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARCHES, type Arch } from '../arch/index.ts';
import { CpuEngine, FAULT_SIGNALS, type CpuFault, type RegisterBatch } from '../cpu/engine.ts';
import { ElfError, parseElf } from '../loader/elf.ts';
import { loadImage } from '../loader/image.ts';
import { ALL_SYSCALLS } from '../../syscalls/index.ts';
import type { SyscallContext } from '../../syscalls/types.ts';
import { Dispatcher, buildTable, type SyscallObserver } from './dispatch.ts';
import { KernelBug } from './errors.ts';
import { OpenFileDescription } from './fdtable.ts';
import { Process } from './process.ts';
import { BufferInputFile, CaptureOutputFile, HostStreamFile, StreamNode, hostFdStat } from './stdio.ts';
import { buildFilesystem, type MountSpec } from './namespace.ts';
import type { Vfs } from './vfs/vfs.ts';
import type { FileSystem, OpenFile } from './vfs/types.ts';

export type StdioSpec = number | 'capture' | Uint8Array;

export interface KernelOptions {
  /** Host path of the static ELF executable; omit (with `arch`) for a headless kernel without a CPU. */
  program?: string;
  /** For a headless kernel: which arch's ABI the handlers follow. */
  arch?: 'x86_64' | 'aarch64';
  /** Per-process memory limit in bytes (host memory backing guest mappings). */
  memoryLimit?: number;
  /** argv as the guest sees it; argv[0] defaults to the program path. */
  argv: string[];
  /** KEY=VALUE strings. */
  env: string[];
  /** Guest working directory (default: the host's cwd, mounted at the same path). */
  cwd?: string;
  mounts?: MountSpec[];
  /** Mount the host's current directory read-write at its own path (default true). */
  mountCwd?: boolean;
  stdin?: StdioSpec;
  stdout?: StdioSpec;
  stderr?: StdioSpec;
  /** Bytes kept per captured stream. */
  maxOutput?: number;
  /** Called with each chunk written to a captured stream. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
  observer?: SyscallObserver | null;
  uid?: number;
  gid?: number;
  hostname?: string;
  /** Warn on stderr the first time each unimplemented syscall is called. */
  warnUnimplemented?: boolean;
  warn?: (line: string) => void;
}

export interface ExitInfo {
  /** Shell-style exit code: the status, or 128 + signal. */
  exitCode: number;
  /** The raw wait(2) status. */
  status: number;
  signal: string | null;
  fault: CpuFault | null;
  stdout: Buffer;
  stderr: Buffer;
}

export class LaunchError extends Error {}

export class Kernel {
  readonly arch: Arch;
  readonly vfs: Vfs;
  readonly proc: Process;
  readonly cpu: CpuEngine | null;
  readonly startedAt = Date.now();
  readonly bootNs = process.hrtime.bigint();
  readonly hostname: string;
  private readonly dispatcher: Dispatcher;
  private readonly ctx: SyscallContext;
  private readonly captured: { stdout?: CaptureOutputFile; stderr?: CaptureOutputFile } = {};
  private bug: KernelBug | null = null;
  private readonly warned = new Set<number>();
  private readonly warn: (line: string) => void;

  constructor(readonly options: KernelOptions) {
    const bytes = options.program !== undefined ? readProgram(options.program) : null;
    let archName: 'x86_64' | 'aarch64';
    if (bytes) {
      try {
        archName = parseElf(bytes).arch;
      } catch (e) {
        if (e instanceof ElfError) throw new LaunchError(`${options.program}: ${e.message}`);
        throw e;
      }
    } else {
      if (!options.arch) throw new LaunchError('a kernel needs a program or an arch');
      archName = options.arch;
    }
    this.arch = ARCHES[archName];
    this.warn = options.warn ?? ((line) => process.stderr.write(line + '\n'));
    this.hostname = options.hostname ?? 'tslinux';
    const cwd = options.cwd ?? toGuestPath(process.cwd());
    this.vfs = buildFilesystem(this, {
      cwd,
      mountCwd: options.mountCwd ?? options.cwd === undefined,
      hostCwd: process.cwd(),
      mounts: options.mounts ?? [],
    });
    this.cpu = bytes ? new CpuEngine(this.arch.name, { onSyscall: () => this.onSyscall() }) : null;
    this.proc = new Process(1000, 999, this.arch, this.cpu, {
      cwd,
      uid: options.uid ?? hostId('uid'),
      gid: options.gid ?? hostId('gid'),
      memoryLimit: options.memoryLimit,
    });
    this.ctx = { kernel: this, proc: this.proc, mem: this.proc.mem, fds: this.proc.fds, arch: this.arch };
    this.dispatcher = new Dispatcher(buildTable(this.arch, ALL_SYSCALLS), this.arch, options.observer ?? null);
    this.setupStdio();
    if (this.cpu && bytes) {
      this.regs = this.cpu.registers(this.arch.syscallRegs);
      this.ret = this.cpu.registers([this.arch.returnReg]);
      this.load(this.cpu, bytes, options.program!);
    }
  }

  private regs: RegisterBatch | undefined;
  private ret: RegisterBatch | undefined;

  /** The context handlers see; with a headless kernel, tests call handlers through `invoke`. */
  get context(): SyscallContext {
    return this.ctx;
  }

  /**
   * Call a syscall by name with raw argument values, without a CPU: the
   * result is >= 0 or -errno, exactly what the guest would see in rax/x0.
   */
  invoke(name: string, args: readonly (number | bigint)[] = []): number {
    const nr = this.arch.syscallNumbers[name];
    if (nr === undefined) throw new Error(`${name} is not a syscall on ${this.arch.name}`);
    const words = new Uint32Array(14);
    const all = [BigInt(nr), ...args.map((a) => BigInt.asUintN(64, BigInt(a)))];
    all.forEach((v, i) => {
      words[2 * i] = Number(v & 0xffffffffn);
      words[2 * i + 1] = Number(v >> 32n);
    });
    return this.dispatcher.dispatch(this.ctx, { words } as RegisterBatch);
  }

  private load(cpu: CpuEngine, bytes: Uint8Array, program: string): void {
    const p = this.proc;
    const argv = this.options.argv.length > 0 ? this.options.argv : [program];
    p.argv = argv;
    p.envp = this.options.env;
    p.exePath = toGuestPath(path.resolve(program));
    p.comm = path.basename(argv[0]!).slice(0, 15);
    const random16 = new Uint8Array(16);
    randomFillSync(random16);
    try {
      const image = loadImage(p, { bytes, argv, envp: this.options.env, execfn: argv[0]!, random16 });
      p.auxv = image.auxv;
      this.entry = image.entry;
      this.arch.prepareEntry(cpu, image.entry, image.sp);
    } catch (e) {
      if (e instanceof ElfError) throw new LaunchError(`${program}: ${e.message}`);
      throw e;
    }
  }

  private entry = 0;

  private setupStdio(): void {
    const names = ['stdin', 'stdout', 'stderr'] as const;
    names.forEach((name, fd) => {
      const spec = this.options[name] ?? fd;
      const fsys = this.vfs.mounts()[0]!.fs;
      const node = new StreamNode(fsys, () => hostFdStat(typeof spec === 'number' ? spec : -1, 0), name);
      let file: OpenFile;
      if (typeof spec === 'number') file = new HostStreamFile(node, spec);
      else if (spec === 'capture') {
        const cap = new CaptureOutputFile(node, this.options.maxOutput, (chunk) => this.options.onOutput?.(name as 'stdout' | 'stderr', chunk));
        this.captured[name as 'stdout' | 'stderr'] = cap;
        file = cap;
      } else file = new BufferInputFile(node, spec);
      node.file = file;
      const access = fd === 0 ? 'r' : 'w';
      const flags = fd === 0 ? this.arch.c.O_RDONLY : this.arch.c.O_WRONLY;
      const ofd = new OpenFileDescription(file, node, fsys, `/dev/${name}`, access, flags, false);
      this.proc.fds.installAt(fd, ofd);
    });
  }

  /** Called from the CPU hook at every syscall instruction. Never throws into the FFI. */
  private onSyscall(): void {
    const regs = this.regs!;
    const out = this.ret!;
    try {
      regs.read();
      const ret = this.dispatcher.dispatch(this.ctx, regs);
      if (ret === -38 /* ENOSYS */) this.noteUnimplemented();
      if (ret >= 0) out.setNumber(0, ret);
      else {
        // -errno as a 64-bit two's complement value: the high word is all ones.
        out.words[0] = ret >>> 0;
        out.words[1] = 0xffffffff;
      }
      out.write();
    } catch (e) {
      this.bug = e instanceof KernelBug ? e : new KernelBug(`kernel bug: ${(e as Error)?.stack ?? String(e)}`, e);
      this.cpu?.stop();
    }
  }

  private noteUnimplemented(): void {
    const words = this.regs!.words;
    const nr = words[1] === 0 ? words[0]! : -1;
    if (!this.options.warnUnimplemented || this.warned.has(nr)) return;
    this.warned.add(nr);
    const name = this.arch.syscallNames[nr];
    if (name && ALL_SYSCALLS_BY_NAME.has(name)) return; // implemented, and it said ENOSYS on purpose
    this.warn(`tslinux: unimplemented syscall ${name ?? 'unknown'} (${this.arch.name} #${nr}) returned ENOSYS`);
  }

  /** Run the guest to completion. */
  run(): ExitInfo {
    const cpu = this.cpu;
    if (!cpu) throw new Error('a headless kernel has no program to run');
    let pc = this.entry;
    let fault: CpuFault | null = null;
    while (!this.proc.exited) {
      const r = cpu.run(pc);
      if (this.bug) break;
      if (r.kind === 'fault') {
        fault = r.fault;
        // No handlers are delivered yet: a synchronous fault kills with its
        // signal. Its default action is "core", but RLIMIT_CORE is 0, so no
        // core is dumped and the status has no 0x80 bit (see core(5)).
        this.proc.killBySignal(FAULT_SIGNALS[r.fault.signal], this.proc.rlimits.get(4)!.cur > 0n);
        break;
      }
      pc = cpu.pc();
    }
    this.proc.fds.closeAll();
    cpu.close();
    if (this.bug) throw this.bug;
    const status = this.proc.exitStatus ?? 0;
    const signo = status & 0x7f;
    return {
      exitCode: signo ? 128 + signo : (status >> 8) & 0xff,
      status,
      signal: signo ? signalName(signo) : null,
      fault,
      stdout: this.captured.stdout?.text() ?? Buffer.alloc(0),
      stderr: this.captured.stderr?.text() ?? Buffer.alloc(0),
    };
  }

  /** Attach a tracer (or any observer) before run(). */
  setObserver(observer: SyscallObserver | null): void {
    this.dispatcher.observer = observer;
  }

  /** The nanoseconds since boot, for CLOCK_MONOTONIC and friends. */
  monotonicNs(): bigint {
    return process.hrtime.bigint() - this.bootNs;
  }

  /** A filesystem for the rootfs, for nodes that live nowhere else. */
  rootFs(): FileSystem {
    return this.vfs.mounts()[0]!.fs;
  }
}

const ALL_SYSCALLS_BY_NAME = new Set(ALL_SYSCALLS.map((d) => d.name));

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

function readProgram(program: string): Uint8Array {
  try {
    const st = fs.statSync(program);
    if (st.isDirectory()) throw new LaunchError(`${program}: is a directory`);
    return fs.readFileSync(program);
  } catch (e) {
    if (e instanceof LaunchError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LaunchError(`${program}: no such file`);
    if (code === 'EACCES') throw new LaunchError(`${program}: permission denied`);
    throw new LaunchError(`${program}: cannot read: ${(e as Error).message}`);
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
