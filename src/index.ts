// The library API: load a static Linux binary with argv, env, mounts and
// stdio, run it, and get its exit status and captured output. The tests go
// through here; the CLI goes through launch.ts (this API minus tracing,
// reports and policies, which it loads only when an option asks).
import { Kernel, LaunchError, type ExitInfo, type KernelOptions } from './kernel/kernel.ts';
import { UnicornUnavailableError, loadUnicorn, plainKernelOptions } from './launch.ts';
import type { MountSpec } from './kernel/namespace.ts';
import { StraceTracer } from './trace/strace.ts';
import { plainCpuBackend } from './arch/plain-cpu.ts';
import { KernelBug, LinuxError } from './kernel/errors.ts';
import { chainGates, combineObservers } from './kernel/dispatch.ts';
import { SyscallHooks, type SyscallCall, type SyscallOutcome, type SyscallOverride, type SyscallWatch } from './kernel/hooks.ts';
import { ReportCollector } from './trace/report.ts';
import { PolicyError, ProfileRecorder, parseProfile, parseProfileText, type Profile } from './policy/index.ts';
import { OutputFile } from './host/output.ts';
import { buildPolicyGates, saveRecordedProfile } from './policy/setup.ts';

export interface RunOptions {
  /** Arguments after argv[0]. */
  args?: string[];
  /** argv[0] as the guest sees it (default: the program path). */
  argv0?: string;
  /** The environment: an object or KEY=VALUE strings (default: empty). */
  env?: Record<string, string> | string[];
  /** Guest working directory (default: the host's cwd, which is mounted read-write at the same path). */
  cwd?: string;
  mounts?: MountSpec[];
  /** Mount the host's cwd (default: true unless `cwd` is given). */
  mountCwd?: boolean;
  /** A host directory as the guest's root filesystem. */
  root?: string;
  /** Every host mount read-only. */
  readOnly?: boolean;
  /** Copy-on-write over host mounts: the guest's writes stay in memory (see kernel.overlayDiff()). */
  overlay?: boolean;
  /** Guest paths that get their own in-memory filesystem. */
  tmpfs?: string[];
  /** Most processes alive at once (fork fails with EAGAIN beyond). */
  maxTasks?: number;
  /**
   * The network (README, "Networking"): 'none' (default) gives the guest an
   * in-kernel loopback only, and any other address is ENETUNREACH; 'host'
   * makes its AF_INET/AF_INET6 sockets the host's own (Linux hosts), with
   * the host's /etc/resolv.conf and /etc/hosts.
   */
  net?: 'none' | 'host';
  /**
   * With net 'host': the endpoints allowed, as --net-allow SPECs (`tcp:443`,
   * `udp:53`, `tcp:1024-65535`, `inet6:*`); connect, bind or sendto outside
   * them fail with EACCES. Omitted or empty: everything.
   */
  netAllow?: string[];
  /** Per-process limit on memory backing guest mappings, in bytes. */
  memoryLimit?: number;
  /**
   * The run's memory budget in bytes, the CLI's --memory-limit: guest memory,
   * tmpfs and memfd files, pipes and 36 MiB per process's CPU (default: half
   * of what the host can give, at most 4 GiB). Past it: ENOSPC or ENOMEM.
   */
  totalMemoryLimit?: number;
  /** Kill the guest (SIGKILL) after this many milliseconds; the result says timedOut. */
  timeoutMs?: number;
  /**
   * Reproducible runs: clocks start at 2000-01-01T00:00:00Z (CLOCK_MONOTONIC
   * at 100 s) and advance 1 µs per syscall, jumping to the next deadline when
   * every task sleeps; getrandom, AT_RANDOM and /dev/urandom come from `seed`;
   * tasks switch every 4096 syscalls. The same program and input give the
   * same output and trace.
   */
  deterministic?: boolean;
  /** The deterministic run's random seed (default 0). */
  seed?: number | bigint;
  /** A host fd, or bytes to read (default: empty input). */
  stdin?: number | Uint8Array | string;
  /** A host fd, or 'capture' (default) to collect the bytes in the result. */
  stdout?: number | 'capture';
  stderr?: number | 'capture';
  /** Bytes kept per captured stream (default 64 MiB). */
  maxOutput?: number;
  /** strace-style lines, one call per line. */
  trace?: (line: string) => void;
  /** -s: how many bytes of strings the trace shows (default 32). */
  traceStringSize?: number;
  /**
   * Watch or replace syscalls: `new SyscallHooks().onSyscall('openat', {before, after}).override('getuid', () => 0)`.
   * They answer before the kernel's handlers, after any policy: a call the
   * policy refuses never reaches them (their `after` still sees it, with its note).
   */
  hooks?: SyscallHooks;
  /**
   * An HTML report of the run (process tree, calls, timeline, errors, files):
   * a file path, which run() and runSync() write when the guest is done, or a
   * ReportCollector to render yourself (collector.html(), collector.write(file)).
   */
  report?: string | ReportCollector;
  /**
   * A seccomp policy checked at every syscall entry, before `hooks` and the handler:
   * a Docker/OCI profile parsed or as JSON (an object, or text starting with
   * "{"), or the path of a profile file. An invalid profile throws
   * PolicyError naming the JSON path of the first error.
   */
  policy?: Profile | object | string;
  /** Only these syscalls are allowed, the rest fail with EPERM (with `policy`: allowed whatever it says). */
  allow?: string[];
  /** These syscalls fail with EPERM. */
  deny?: string[];
  /**
   * Learn a least-privilege profile: a ProfileRecorder that collects the
   * calls (recorder.toJSON()), or a file path that run() and runSync()
   * write when the guest is done, merged with the profile already there.
   */
  recordProfile?: string | ProfileRecorder;
  uid?: number;
  gid?: number;
  /** Warn on stderr about unimplemented syscalls (default false in the library, true in the CLI). */
  warnUnimplemented?: boolean;
  warn?: (line: string) => void;
}

export type RunResult = ExitInfo;

/** The kernel options every kind of run shares, from the library's RunOptions. */
function kernelOptions(opts: Omit<RunOptions, 'args' | 'argv0'>): Omit<KernelOptions, 'argv'> {
  return {
    ...plainKernelOptions(opts),
    observer: combineObservers(
      opts.trace ? new StraceTracer({ write: opts.trace, strSize: opts.traceStringSize }) : null,
      opts.report instanceof ReportCollector ? opts.report : null,
    ),
    // The policy first: like seccomp, it sees every entry before anything answers for the call.
    gate: chainGates(
      buildPolicyGates({
        policy: opts.policy,
        allow: opts.allow,
        deny: opts.deny,
        recordProfile: opts.recordProfile,
        // SCMP_ACT_LOG's lines (Linux writes them to the audit log).
        log: opts.warn ?? ((line) => process.stderr.write(`${line}\n`)),
      }).gate,
      opts.hooks,
    ),
  };
}

/** Build the kernel for one run without starting it (tests use this to look inside). */
export function createKernel(program: string, opts: RunOptions = {}): Kernel {
  if (typeof opts.report === 'string') {
    throw new TypeError('createKernel: report wants a ReportCollector (a file path works with run() and runSync())');
  }
  if (typeof opts.recordProfile === 'string') {
    throw new TypeError('createKernel: recordProfile wants a ProfileRecorder (a file path works with run() and runSync())');
  }
  return new Kernel({ ...kernelOptions(opts), program, argv: [opts.argv0 ?? program, ...(opts.args ?? [])] });
}

/**
 * A kernel with no engine and no program, for calling handlers directly
 * (unit tests, fuzzing): `k.invoke('openat', [...])` returns what the guest
 * would get. Its processes' CPUs are plain in-memory register files
 * (src/arch/plain-cpu.ts), so fork, clone, execve and rt_sigreturn work. Allocate guest memory with `k.proc.mem.map(...)`. The host's
 * cwd is not mounted unless asked for.
 */
export function createHeadlessKernel(arch: 'x86_64' | 'aarch64', opts: Omit<RunOptions, 'args' | 'argv0'> = {}): Kernel {
  return new Kernel({ ...kernelOptions(opts), cpu: plainCpuBackend, arch, argv: ['headless'], mountCwd: opts.mountCwd ?? false });
}

/** Run a static Linux binary to completion. */
export function runSync(program: string, opts: RunOptions = {}): RunResult {
  // File outputs (report, recordProfile) are collected in memory and written when the guest is done.
  const report = typeof opts.report === 'string' ? new ReportCollector() : undefined;
  const recorder = typeof opts.recordProfile === 'string' ? new ProfileRecorder() : undefined;
  // Where they go is fixed before the guest runs: it could swap those paths meanwhile (src/host/output.ts).
  const reportFile = typeof opts.report === 'string' ? OutputFile.reserve(opts.report) : undefined;
  const profileFile = typeof opts.recordProfile === 'string' ? OutputFile.reserve(opts.recordProfile) : undefined;
  try {
    const result = createKernel(program, { ...opts, report: report ?? opts.report, recordProfile: recorder ?? opts.recordProfile }).run();
    if (report && reportFile) report.write(reportFile);
    if (recorder && profileFile) saveRecordedProfile(profileFile, recorder);
    return result;
  } finally {
    reportFile?.close();
    profileFile?.close();
  }
}

export async function run(program: string, opts: RunOptions = {}): Promise<RunResult> {
  return runSync(program, opts);
}

export { Kernel, KernelBug, LaunchError, LinuxError, PolicyError, ProfileRecorder, ReportCollector, SyscallHooks, UnicornUnavailableError, loadUnicorn, parseProfile, parseProfileText };
export type { Profile, MountSpec, ExitInfo, SyscallCall, SyscallOutcome, SyscallOverride, SyscallWatch };
