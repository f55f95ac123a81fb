// What a run is given (KernelOptions) and what it gives back (ExitInfo),
// and the one error that stops it before it starts (LaunchError).
import * as path from 'node:path';
import type { CpuBackend, CpuFault } from '../arch/cpu.ts';
import type { SyscallGate, SyscallObserver } from './dispatch.ts';
import type { MountSpec } from './namespace.ts';
import type { SyscallDecl } from './syscall-decl.ts';
import type { NetPolicy } from './host-socket.ts';

export type StdioSpec = number | 'capture' | Uint8Array;

export interface KernelOptions {
  /**
   * The syscall declarations the kernel dispatches to (ALL_SYSCALLS from
   * syscalls/): the entry point hands them in, so the kernel owns the
   * interface and never imports its implementations.
   */
  syscalls: readonly SyscallDecl[];
  /**
   * What makes the processes' CPUs: Unicorn's engines (src/cpu/, chosen by
   * the entry point, launch.ts), or plain in-memory ones for a headless
   * kernel (src/arch/plain-cpu.ts). The kernel never builds an engine itself.
   */
  cpu: CpuBackend;
  /** Host path of the static ELF executable; omit (with `arch`) for a headless kernel, which runs no code. */
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
  /**
   * The network the guest sees. 'none' (the default): AF_INET and AF_INET6
   * on an in-kernel loopback only (inet.ts). 'host': they are the host's
   * own sockets (host-socket.ts; Linux hosts only).
   */
  net?: 'none' | 'host';
  /** Under net 'host': which protocols and ports the guest may use (src/policy/net-allow.ts builds it from --net-allow). */
  netPolicy?: NetPolicy | null;
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


/** A host path as a POSIX guest path (Windows drive paths become /c/...). */
export function toGuestPath(hostPath: string): string {
  if (path.sep === '/') return hostPath;
  const parsed = path.win32.parse(hostPath);
  const drive = parsed.root.replace(/[:\\]/g, '').toLowerCase();
  return '/' + [drive, ...hostPath.slice(parsed.root.length).split('\\')].filter(Boolean).join('/');
}
