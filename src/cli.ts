// The command line: `tslinux run [options] <binary> [args...]` and
// `tslinux syscalls`. A thin layer over the library API (src/launch.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createPlainKernel } from './launch.ts';
import { KernelBug } from './kernel/errors.ts';
import { LaunchError } from './kernel/kernel.ts';
import { UnicornUnavailableError, loadUnicorn } from './launch.ts';
import type { MountSpec } from './kernel/namespace.ts';
import { supportEntries, supportTable } from './support.ts';
import type { ExitInfo } from './kernel/kernel.ts';
import {
  TraceOptionError,
  applyQualifier,
  defaultTraceConfig,
  finishTraceConfig,
  parseColumns,
  parseCount,
  parseSortBy,
  type TraceConfig,
} from './trace/options.ts';
import { FdWriter } from './trace/output.ts';
import { allSyscallNames } from './trace/filter.ts';
import type { Kernel } from './kernel/kernel.ts';
import { chainGates, combineObservers } from './kernel/dispatch.ts';
import { InjectionGate } from './trace/inject.ts';
import { PolicyError } from './policy/error.ts';
import { parseNetRule } from './policy/net-allow.ts';
import { OutputFile, writeOutput } from './host/output.ts';
import { packageRoot } from './package-root.ts';
// Tracing, reports, crash reports, policies and explain are imported where an
// option asks for them (await import): a plain run starts without them.
import type { TraceSession } from './trace/session.ts';
import type { ReportCollector } from './trace/report.ts';
import type { CrashReporter } from './trace/crash-report.ts';
import type { ProfileRecorder } from './policy/index.ts';
import type { PolicyGates } from './policy/setup.ts';

export const RUN_HELP = `usage: tslinux run [options] <binary> [args...]

Run a Linux ELF binary (x86-64 or aarch64) on this host: a static one, or a
dynamically linked one from a Linux root (--root).

options:
  --env K=V             set an environment variable (repeatable)
  --clear-env           start from an empty environment instead of the host's
  --mount HOST:GUEST[:ro|:rw]
                        make host directory HOST visible at guest path GUEST
                        (read-only with :ro; :rw, the default, read-write); repeatable
  --cwd DIR             the guest's working directory (a guest path); without it the
                        host's current directory is mounted at its own path and used
  --uid N, --gid N      the guest's user and group ids (default: the host's); the host
                        user's files show as theirs (--uid 0: fakeroot-style root),
                        and chown is emulated, never applied to the host
  --policy FILE         enforce a Docker/OCI seccomp profile (JSON) on every syscall
  --allow NAME,...      allow only these syscalls (others fail with EPERM)
  --deny NAME,...       make these syscalls fail with EPERM
  --net none|host       the guest's network: none (default) is an in-kernel loopback
                        only; host makes its IPv4/IPv6 sockets the host's own (Linux),
                        with the host's /etc/resolv.conf and /etc/hosts
  --net-allow PROTO:PORTS
                        with --net host, allow only these endpoints (repeatable;
                        PROTO tcp, udp, inet, inet6 or *; PORTS N, LOW-HIGH or *);
                        connect, bind or sendto elsewhere fail with EACCES
  --root DIR[:rw]       host directory DIR is the guest's "/" (read-only; :rw writable):
                        <binary> and dynamic loaders are found in it, as after chroot
                        (a name without a slash in the guest's PATH, as chroot(1) does);
                        /proc, /dev, /sys, /tmp, the current directory (unless --no-cwd)
                        and each --mount are mounted over it
  --no-cwd              do not mount the host's current directory
  --ro                  make every host mount read-only
  --overlay             copy-on-write over every host mount: the guest's writes
                        stay in memory and the host is never changed
  --diff                with --overlay: print what the guest created (A), changed
                        (M) and deleted (D) when it exits
  --tmpfs PATH          an in-memory filesystem at guest path PATH (repeatable)
  --timeout SECONDS     kill the guest after SECONDS (exit 137, one line on stderr)
  --max-tasks N         at most N guest processes at once (fork fails with EAGAIN)
  --memory-limit SIZE   the run's memory (K, M, G suffixes): guest memory, tmpfs and
                        memfd files, pipes and 36M per process's CPU; past it ENOSPC
                        or ENOMEM (default: half the host's free memory, at most 4G)
  --deterministic       reproducible runs: virtual clocks from 2000-01-01 that move
                        1 us per syscall (sleeps jump ahead), seeded random bytes,
                        task switches every 4096 syscalls
  --seed N              the deterministic run's random seed (default 0; implies
                        --deterministic)
  --record-profile FILE write the minimal seccomp profile that allows exactly the
                        syscalls this run made (merged into FILE if it exists)
  --crash-report FILE   when the guest dies of an uncaught signal (or tslinux of a
                        bug), write JSON to FILE: signal, si_code, fault address,
                        registers, memory map, the last 50 syscalls, binary, build id
  --report FILE.html    write an HTML report of the run: process tree, calls and
                        time per syscall, a timeline per task, errors, files touched
  --inject SET:error=ERRNO[:when=EXPR], --inject SET:retval=N[:when=EXPR]
                        make calls in SET fail with ERRNO (or return N) without
                        running them, as strace's -e inject= (which also traces);
                        when=FIRST[..LAST][+[STEP]] picks calls, counted per task
  --no-warn             do not warn about unimplemented syscalls
  -h, --help            show this help
  -V, --version         print tslinux's, Unicorn's and Node.js's versions

tracing (strace's options; any of them turns the trace on):
  --trace               log every syscall, strace style, to stderr
  --trace=SET           ... only the calls in SET (as -e trace=SET)
  -o FILE, --output=FILE
                        write the trace to FILE instead of stderr
  -f, --follow-forks    trace child processes too (default: only the first process)
  -ff, --output-separately
                        with -o FILE: one file per process, FILE.<pid>
  -e trace=SET          trace only these calls: NAME,NAME,... classes %file %desc
                        %process %network (%net) %signal %ipc %memory %creds %clock
                        %stat %lstat %fstat %%stat %statfs %fstatfs %%statfs %pure,
                        /REGEX, all, none; a leading ! negates (-e NAME is -e trace=NAME)
  -e inject=SPEC, -e fault=SET[:error=ERRNO][:when=EXPR]
                        tamper with calls as --inject does (fault: ENOSYS by default)
  -e status=SET, --status=SET
                        show only calls that ended so: successful, failed, unfinished
  -z, --successful-only show only calls that succeeded (status=successful)
  -Z, --failed-only     show only calls that failed (status=failed)
  -s N, --string-limit=N
                        show at most N bytes of each string (default 32)
  -a COLUMN, --columns=COLUMN
                        align results at COLUMN (strace's default is 40; default: no padding)
  -y, --decode-fds      print the path behind each fd: read(3</tmp/a.txt>, ...)
  -t, -tt, -ttt         prefix lines with the time of day, with microseconds,
                        or as seconds since the epoch
  -T, --syscall-times   show the time spent in each call
  -c, --summary-only    count calls, errors and time; print only the table at the end
  -C, --summary         print the trace and the table
  -S SORTBY, --summary-sort-by=SORTBY
                        sort the table by time (default), calls, errors, name,
                        min-time, max-time, avg-time, or nothing
  -U COLUMNS, --summary-columns=COLUMNS
                        the table's columns: time-percent, total-time, min-time,
                        max-time, avg-time, calls, errors, name
  -w, --summary-wall-clock
                        count wall-clock time in the table
  --trace-format=FORMAT text (default) or json: one JSON object per line

The exit code is the guest's exit status, or 128+signal when it is killed
(with one line on stderr, except for SIGINT and SIGPIPE, as a shell prints
them); 127 when the binary (or a #! script's interpreter) is missing, 126
when it cannot be executed, 2 for a wrong option.
The guest sees the host's stdin, stdout and stderr, the current directory,
the binary itself (read-only, at its own path), a private /tmp, a synthetic
/dev and /proc/self; nothing else of the host. A #! script runs through its
interpreter, and a dynamically linked program through its loader (PT_INTERP),
which must be in that view (--root, --mount).`;

const TOP_HELP = `usage: tslinux <command> [...]

commands:
  run [options] <binary> [args...]   run a Linux binary (see tslinux run --help)
  syscalls [--arch x86_64|aarch64] [--json]
                                     print the supported-syscall table (markdown), or every
                                     syscall number with its status as JSON
  explain NAME                       what a syscall is: numbers, arguments, support, handler
  help                               show this help
  --version                          print tslinux's, Unicorn's and Node.js's versions`;

export interface ParsedRun {
  program: string;
  args: string[];
  /** The strace options (see parseTraceArg). */
  trace: TraceConfig;
  env: Map<string, string>;
  clearEnv: boolean;
  mounts: MountSpec[];
  cwd: string | undefined;
  uid: number | undefined;
  gid: number | undefined;
  warn: boolean;
  policy: string | null;
  allow: string[];
  deny: string[];
  net: 'none' | 'host';
  netAllow: string[];
  recordProfile: string | null;
  /** --report FILE.html */
  report: string | null;
  root: string | undefined;
  noCwd: boolean;
  readOnly: boolean;
  overlay: boolean;
  diff: boolean;
  tmpfs: string[];
  timeoutSec: number | undefined;
  maxTasks: number | undefined;
  memoryLimit: number | undefined;
  deterministic: boolean;
  seed: bigint;
  /** --crash-report FILE */
  crashReport: string | null;
}

export class UsageError extends Error {}

function parseMount(spec: string): MountSpec {
  const parts = spec.split(':');
  const mode = parts.length >= 3 ? parts[parts.length - 1] : undefined;
  if (mode === 'ro' || mode === 'rw') parts.pop();
  if (parts.length !== 2 || !parts[0] || !parts[1]?.startsWith('/')) {
    throw new UsageError(`--mount wants HOST:GUEST[:ro|:rw] with an absolute GUEST path, got "${spec}"`);
  }
  return { host: parts[0], guest: parts[1], readOnly: mode === 'ro' };
}

function parseId(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw new UsageError(`${flag} wants a number, got "${v}"`);
  return n;
}

export function parseRunArgs(argv: string[]): ParsedRun | 'help' | 'version' {
  const r: ParsedRun = {
    program: '',
    args: [],
    trace: defaultTraceConfig(),
    env: new Map(),
    clearEnv: false,
    mounts: [],
    cwd: undefined,
    uid: undefined,
    gid: undefined,
    warn: true,
    policy: null,
    allow: [],
    deny: [],
    net: 'none',
    netAllow: [],
    recordProfile: null,
    report: null,
    root: undefined,
    noCwd: false,
    readOnly: false,
    overlay: false,
    diff: false,
    tmpfs: [],
    timeoutSec: undefined,
    maxTasks: undefined,
    memoryLimit: undefined,
    deterministic: false,
    seed: 0n,
    crashReport: null,
  };
  let i = 0;
  const value = (flag: string): string => {
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    switch (a) {
      case '-h':
      case '--help':
        return 'help';
      case '-V':
      case '--version':
        return 'version';
      case '--env': {
        const kv = value(a);
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`--env wants K=V, got "${kv}"`);
        r.env.set(kv.slice(0, eq), kv.slice(eq + 1));
        break;
      }
      case '--clear-env':
        r.clearEnv = true;
        break;
      case '--mount':
        r.mounts.push(parseMount(value(a)));
        break;
      case '--cwd':
        r.cwd = value(a);
        if (!r.cwd.startsWith('/')) throw new UsageError('--cwd wants an absolute guest path');
        break;
      case '--uid':
        r.uid = parseId(a, value(a));
        break;
      case '--gid':
        r.gid = parseId(a, value(a));
        break;
      case '--no-warn':
        r.warn = false;
        break;
      case '--root':
        r.root = value(a);
        break;
      case '--no-cwd':
        r.noCwd = true;
        break;
      case '--ro':
        r.readOnly = true;
        break;
      case '--overlay':
        r.overlay = true;
        break;
      case '--diff':
        r.diff = true;
        break;
      case '--tmpfs': {
        const t = value(a);
        if (!t.startsWith('/')) throw new UsageError('--tmpfs wants an absolute guest path');
        r.tmpfs.push(t);
        break;
      }
      case '--timeout': {
        const n = Number(value(a));
        if (!(n > 0)) throw new UsageError('--timeout wants a positive number of seconds');
        r.timeoutSec = n;
        break;
      }
      case '--max-tasks': {
        const n = Number(value(a));
        if (!Number.isInteger(n) || n < 1) throw new UsageError('--max-tasks wants a positive whole number');
        r.maxTasks = n;
        break;
      }
      case '--memory-limit':
        r.memoryLimit = parseSize(a, value(a));
        break;
      case '--deterministic':
        r.deterministic = true;
        break;
      case '--seed': {
        const v = value(a);
        if (!/^\d+$/.test(v) || BigInt(v) >= 1n << 64n) throw new UsageError(`--seed wants a whole number below 2^64, got "${v}"`);
        r.seed = BigInt(v);
        r.deterministic = true;
        break;
      }
      case '--policy':
        r.policy = value(a);
        break;
      case '--allow':
        r.allow.push(...splitNames(a, value(a)));
        break;
      case '--deny':
        r.deny.push(...splitNames(a, value(a)));
        break;
      case '--net': {
        const v = value(a);
        if (v !== 'none' && v !== 'host') throw new UsageError(`--net wants none or host, got "${v}"`);
        r.net = v;
        break;
      }
      case '--net-allow': {
        const spec = value(a);
        try {
          parseNetRule(spec);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        r.netAllow.push(spec);
        break;
      }
      case '--record-profile':
        r.recordProfile = value(a);
        break;
      case '--report':
        r.report = value(a);
        break;
      case '--crash-report':
        r.crashReport = value(a);
        break;
      default: {
        const next = parseTraceArg(argv, i, r.trace);
        if (next < 0) throw new UsageError(`unknown option ${a} (see tslinux run --help)`);
        i = next;
      }
    }
  }
  const program = argv[i];
  if (!program) throw new UsageError('missing <binary> (see tslinux run --help)');
  r.program = program;
  r.args = argv.slice(i + 1);
  try {
    finishTraceConfig(r.trace);
  } catch (e) {
    if (e instanceof TraceOptionError) throw new UsageError(e.message);
    throw e;
  }
  return r;
}

/** Short strace flags that take no value and may be grouped (-fT, -ttt). */
const TRACE_FLAGS = 'fcCTtwyzZ';
/** Short strace options that take a value (-o FILE, -s64, -e trace=open). */
const TRACE_VALUE_OPTIONS = 'oseSUa';

/**
 * One strace-style option at argv[i] (its value may be the next word):
 * applies it to `t` and returns the index of the last word used, or -1
 * when argv[i] is not a tracing option. Short flags group as with getopt
 * (-ff, -tt, -fTy, -s64).
 */
export function parseTraceArg(argv: string[], i: number, t: TraceConfig): number {
  const a = argv[i]!;
  let at = i;
  const next = (flag: string): string => {
    const v = argv[++at];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  try {
    if (/^-[a-zA-Z]/.test(a) && !a.startsWith('--')) {
      // getopt-style: flags, then possibly one option whose value is the rest or the next word.
      for (let k = 1; k < a.length; k++) {
        const c = a[k]!;
        if (TRACE_FLAGS.includes(c)) {
          applyTraceFlag(c, t);
          continue;
        }
        if (!TRACE_VALUE_OPTIONS.includes(c)) return -1;
        const v = k + 1 < a.length ? a.slice(k + 1) : next(`-${c}`);
        applyTraceOption(`-${c}`, v, t);
        break;
      }
      t.enabled = true;
      return at;
    }
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = name === a ? undefined : a.slice(eq + 1);
    const val = (): string => inline ?? next(name);
    switch (name) {
      case '--trace':
        if (inline !== undefined) applyQualifier(t, `trace=${inline}`);
        break;
      case '--output':
        t.output = val();
        break;
      case '--follow-forks':
        t.followForks = true;
        break;
      case '--output-separately':
        t.outputSeparately = true;
        break;
      case '--status':
        applyQualifier(t, `status=${val()}`);
        break;
      case '--successful-only':
        applyTraceFlag('z', t);
        break;
      case '--failed-only':
        applyTraceFlag('Z', t);
        break;
      case '--string-limit':
        t.strSize = parseCount(name, val());
        break;
      case '--columns':
        t.align = parseCount(name, val());
        break;
      case '--decode-fds':
        applyQualifier(t, `decode-fds=${inline ?? 'path'}`);
        break;
      case '--syscall-times':
        t.syscallTimes = true;
        break;
      case '--summary-only':
        t.summary = 'only';
        break;
      case '--summary':
        t.summary = 'also';
        break;
      case '--summary-sort-by':
        t.sortBy = parseSortBy(val());
        break;
      case '--summary-columns':
        t.columns = parseColumns(val());
        break;
      case '--summary-wall-clock':
        t.wallClock = true;
        break;
      case '--inject':
        // -e inject= without turning the trace on.
        applyQualifier(t, `inject=${val()}`);
        return at;
      case '--trace-format': {
        const f = val();
        if (f !== 'text' && f !== 'json') throw new UsageError(`--trace-format is text or json, got "${f}"`);
        t.format = f;
        break;
      }
      default:
        return -1;
    }
    t.enabled = true;
    return at;
  } catch (e) {
    if (!(e instanceof TraceOptionError)) throw e;
    // strace's own words, after the option they are about: "-e trace=nosuch: invalid system call 'nosuch'".
    throw new UsageError(e.message.startsWith('-') ? e.message : `${argv.slice(i, at + 1).join(' ')}: ${e.message}`);
  }
}

/** A short strace flag without a value; repeated ones count (-ff, -tt, -ttt). */
function applyTraceFlag(c: string, t: TraceConfig): void {
  switch (c) {
    case 'f':
      if (t.followForks) t.outputSeparately = true;
      t.followForks = true;
      break;
    case 'c':
      t.summary = 'only';
      break;
    case 'C':
      t.summary = 'also';
      break;
    case 'T':
      t.syscallTimes = true;
      break;
    case 't':
      t.timestamps = t.timestamps === false ? 't' : t.timestamps === 't' ? 'tt' : 'ttt';
      break;
    case 'w':
      t.wallClock = true;
      break;
    case 'y':
      t.decodeFds = true;
      break;
    case 'z':
      applyQualifier(t, 'status=successful');
      break;
    case 'Z':
      applyQualifier(t, 'status=failed');
      break;
  }
}

/** A short strace option with its value. */
function applyTraceOption(flag: string, v: string, t: TraceConfig): void {
  switch (flag) {
    case '-o':
      t.output = v;
      break;
    case '-s':
      t.strSize = parseCount(flag, v);
      break;
    case '-e':
      applyQualifier(t, v);
      break;
    case '-S':
      t.sortBy = parseSortBy(v);
      break;
    case '-U':
      t.columns = parseColumns(v);
      break;
    case '-a':
      t.align = parseCount(flag, v);
      break;
  }
}

/** The tracer the options ask for (null when there is none). */
async function startTracing(t: TraceConfig, kernel: Kernel): Promise<TraceSession | null> {
  if (!t.enabled) return null;
  const { TraceSession } = await import('./trace/session.ts');
  try {
    return new TraceSession(kernel, t);
  } catch (e) {
    throw new LaunchError(`-o ${t.output}: ${(e as Error).message}`);
  }
}

/** "512M", "2G", "65536" as bytes. */
function parseSize(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(v.trim());
  if (!m) throw new UsageError(`${flag} wants a size like 512M or 2G, got "${v}"`);
  const scale = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.floor(Number(m[1]) * scale);
}

/** A --allow/--deny list: syscall names of either arch (strace's "invalid system call" otherwise). */
function splitNames(flag: string, list: string): string[] {
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`${flag} wants NAME[,NAME...]`);
  const known = allSyscallNames();
  const unknown = names.find((n) => !known.has(n));
  if (unknown !== undefined) throw new UsageError(`${flag}: invalid system call '${unknown}'`);
  return names;
}

/** A file error (ENOENT...) or an invalid profile as one usage line: "--policy FILE: $.syscalls[3].action: ...". */
function fileOrProfileError(flag: string, file: string, e: unknown): never {
  if (e instanceof PolicyError || (e as NodeJS.ErrnoException).code) {
    throw new UsageError(`${flag} ${file}: ${e instanceof PolicyError ? e.message : (e as NodeJS.ErrnoException).code}`);
  }
  throw e;
}

/** The gate in front of the handlers: a profile and/or --allow/--deny, and the recorder. */
async function buildGate(p: ParsedRun): Promise<PolicyGates> {
  // No policy option: no gate, and the policy code stays unloaded.
  if (p.policy === null && !p.allow.length && !p.deny.length && p.recordProfile === null) return { gate: null, recorder: null };
  const { buildPolicyGates } = await import('./policy/setup.ts');
  try {
    return buildPolicyGates({
      policy: p.policy ?? undefined,
      allow: p.allow,
      deny: p.deny,
      recordProfile: p.recordProfile ?? undefined,
      log: (line) => writeErr(line + '\n'),
    });
  } catch (e) {
    fileOrProfileError('--policy', p.policy ?? '', e);
  }
}

function writeReport(file: OutputFile, report: ReportCollector): void {
  try {
    report.write(file);
  } catch (e) {
    throw new UsageError(`--report ${file.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function saveProfile(file: OutputFile, recorder: ProfileRecorder): Promise<void> {
  const { saveRecordedProfile } = await import('./policy/setup.ts');
  try {
    saveRecordedProfile(file, recorder);
  } catch (e) {
    fileOrProfileError('--record-profile', file.path, e);
  }
}

/** The files written after the run, fixed before the guest runs (it could swap their paths meanwhile: see src/host/output.ts). */
function reserveOutputs(p: ParsedRun): { report?: OutputFile; crash?: OutputFile; profile?: OutputFile } {
  const reserve = (option: string, file: string | null): OutputFile | undefined => {
    if (file === null) return undefined;
    try {
      return OutputFile.reserve(file);
    } catch (e) {
      throw new UsageError(`${option} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  return { report: reserve('--report', p.report), crash: reserve('--crash-report', p.crashReport), profile: reserve('--record-profile', p.recordProfile) };
}

/**
 * Run with Ctrl-C, SIGTERM, SIGHUP and SIGQUIT sent to tslinux passed on to
 * the guest's foreground process group, as a terminal would deliver them.
 */
async function runForwardingSignals(kernel: Kernel): Promise<ExitInfo> {
  const forwarded: [NodeJS.Signals, number][] = [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
    ['SIGQUIT', 3],
  ];
  const handlers = forwarded.map(([name, signo]) => {
    const h = (): void => kernel.hostSignal(signo);
    process.on(name, h);
    return [name, h] as const;
  });
  try {
    return await kernel.runAsync();
  } finally {
    for (const [name, h] of handlers) process.off(name, h);
  }
}

function buildEnv(p: ParsedRun): string[] {
  const env = new Map<string, string>();
  if (!p.clearEnv) for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.set(k, v);
  for (const [k, v] of p.env) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * Signals whose death a shell reports with no line (bash's jobs.c: SIGINT,
 * the user's own Ctrl-C, and SIGPIPE, a reader that went away, as in `| head`).
 */
const QUIET_SIGNALS = new Set(['SIGINT', 'SIGPIPE']);

async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseRunArgs(argv);
  if (parsed === 'help') {
    writeOut(RUN_HELP + '\n');
    return 0;
  }
  if (parsed === 'version') return versionCommand();
  const { gate, recorder } = await buildGate(parsed);
  let tracing: TraceSession | null = null;
  const outputs = reserveOutputs(parsed);
  try {
    const kernel = createPlainKernel(parsed.program, {
      args: parsed.args,
      env: buildEnv(parsed),
      cwd: parsed.cwd,
      mounts: parsed.mounts,
      mountCwd: parsed.noCwd ? false : parsed.cwd === undefined || undefined,
      root: parsed.root,
      readOnly: parsed.readOnly,
      overlay: parsed.overlay,
      tmpfs: parsed.tmpfs,
      timeoutMs: parsed.timeoutSec !== undefined ? parsed.timeoutSec * 1000 : undefined,
      maxTasks: parsed.maxTasks,
      net: parsed.net,
      netAllow: parsed.netAllow,
      // --memory-limit is the run's one budget (the library's totalMemoryLimit).
      totalMemoryLimit: parsed.memoryLimit,
      deterministic: parsed.deterministic,
      seed: parsed.seed,
      stdin: 0,
      stdout: 1,
      stderr: 2,
      uid: parsed.uid,
      gid: parsed.gid,
      warnUnimplemented: parsed.warn,
      warn: (line) => writeErr(line + '\n'),
    });
    tracing = await startTracing(parsed.trace, kernel);
    const report = parsed.report ? new (await import('./trace/report.ts')).ReportCollector() : null;
    // Without --crash-report a bug in tslinux still gets a report (reportInternalError), without the guest's state.
    const crash = parsed.crashReport ? new (await import('./trace/crash-report.ts')).CrashReporter(kernel) : null;
    kernel.crashHook = crash;
    kernel.setObserver(combineObservers(tracing, report, crash));
    // The policy (and --record-profile's recorder) sees every call; injections tamper with what it lets through.
    const injections = parsed.trace.inject.length ? new InjectionGate(parsed.trace.inject) : null;
    kernel.setGate(chainGates(gate, injections));
    let result: ExitInfo;
    try {
      result = await runForwardingSignals(kernel);
    } catch (e) {
      if (!(e instanceof KernelBug) || isBrokenPipe(e)) throw e;
      // One line; the stack trace is in the report.
      return reportInternalError(e, outputs.crash ?? crashReportPath(), parsed.crashReport ?? undefined, argv, crash);
    }
    if (recorder && outputs.profile) await saveProfile(outputs.profile, recorder);
    if (report && outputs.report) writeReport(outputs.report, report);
    // The trace's "+++ exited with N +++" and the -c table.
    tracing?.finish();
    tracing?.close();
    if (parsed.diff) printDiff(kernel.overlayDiff());
    if (result.timedOut) {
      writeErr(`tslinux: ${parsed.program}: timed out after ${parsed.timeoutSec} s, killed\n`);
      return 137;
    }
    if (result.signal) {
      const f = result.fault;
      const where = f ? ` (${f.reason}) at pc 0x${f.pc.toString(16)}, fault address 0x${f.addr.toString(16)}` : '';
      const written = crash && outputs.crash ? crash.write(outputs.crash, f) : null;
      const reported = written ? `; crash report: ${parsed.crashReport}` : '';
      if (written || !QUIET_SIGNALS.has(result.signal)) writeErr(`tslinux: ${parsed.program}: killed by ${result.signal}${where}${reported}\n`);
    }
    return result.exitCode;
  } finally {
    tracing?.close();
    for (const o of Object.values(outputs)) o?.close();
  }
}

/** Where a crash report goes when no --crash-report was given: a new file in the temporary directory. */
function crashReportPath(): string {
  return path.join(os.tmpdir(), `tslinux-crash-${process.pid}-${Date.now()}.json`);
}

/** The exit status for a bug in tslinux itself (sysexits.h EX_SOFTWARE). */
const EXIT_INTERNAL = 70;

/** `tslinux --version`: one line each for tslinux, the Unicorn library it would use, and Node.js (as strace -V and qemu --version name theirs). */
function versionCommand(): number {
  let unicorn: string;
  try {
    const u = loadUnicorn();
    unicorn = `Unicorn ${u.version.major}.${u.version.minor}.${u.version.patch} (${u.path})`;
  } catch (e) {
    if (!(e instanceof UnicornUnavailableError)) throw e;
    unicorn = `Unicorn: not usable: ${e.message}`;
  }
  writeOut(`tslinux ${packageVersion()}\n${unicorn}\nNode.js ${process.version}\n`);
  return 0;
}

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

// ---- the command line's own output ------------------------------------------------------

/** Set when a write of the CLI's own found its reader gone (EPIPE): the process then ends as if by SIGPIPE. */
let brokenPipe = false;

/** A write to a pipe whose reader has gone, directly or inside a kernel bug (a trace line to a closed stderr). */
function isBrokenPipe(e: unknown): boolean {
  if (e instanceof BrokenPipe || (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return true;
  return e instanceof KernelBug && isBrokenPipe(e.cause);
}

class BrokenPipe extends Error {}

/** Write all of `text` to a host fd (retrying a full non-blocking pipe); EPIPE ends the command as SIGPIPE would. */
function writeTo(fd: number, text: string): void {
  try {
    new FdWriter(fd, false, false).write(text);
  } catch (e) {
    if (isBrokenPipe(e)) throw new BrokenPipe();
    throw e;
  }
}

function writeOut(text: string): void {
  writeTo(1, text);
}

function writeErr(text: string): void {
  writeTo(2, text);
}

function printDiff(d: { created: string[]; changed: string[]; deleted: string[] }): void {
  const lines = [...d.created.map((p) => `A ${p}`), ...d.changed.map((p) => `M ${p}`), ...d.deleted.map((p) => `D ${p}`)];
  if (lines.length) writeErr(lines.join('\n') + '\n');
}

function syscallsCommand(argv: string[]): number {
  let arch: 'x86_64' | 'aarch64' | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a === '--arch') {
      const v = argv[++i];
      if (v !== 'x86_64' && v !== 'aarch64') throw new UsageError('--arch is x86_64 or aarch64');
      arch = v;
    } else throw new UsageError(`syscalls: unknown option ${a} (tslinux syscalls [--arch x86_64|aarch64] [--json])`);
  }
  if (json) {
    const arches: ('x86_64' | 'aarch64')[] = arch ? [arch] : ['x86_64', 'aarch64'];
    const out = Object.fromEntries(arches.map((a) => [a, supportEntries(a)]));
    writeOut(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  writeOut(supportTable(arch));
  return 0;
}

/**
 * Returns the process exit code; prints one line for every expected
 * failure. A bug of tslinux's own goes into a crash report, named on that
 * line, not onto the user's terminal.
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'syscalls':
        return syscallsCommand(rest);
      case 'explain':
        return (await import('./explain.ts')).explainCommand(rest);
      case '-V':
      case '--version':
      case 'version':
        return versionCommand();
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        writeOut(TOP_HELP + '\n');
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}" (try tslinux run <binary>)`);
    }
  } catch (e) {
    return failure(e, argv);
  }
}

/** The exit status for what `main` caught, after its one line on stderr. */
function failure(e: unknown, argv: string[]): number {
  if (e instanceof BrokenPipe || isBrokenPipe(e)) {
    brokenPipe = true;
    return EXIT_SIGPIPE;
  }
  try {
    if (e instanceof UsageError) return say(`tslinux: ${e.message}\n`, 2);
    if (e instanceof UnicornUnavailableError) return say(`tslinux: ${e.message}\n`, 1);
    if (e instanceof LaunchError) return say(`tslinux: ${e.message}\n`, e.exitStatus);
    return reportInternalError(e, crashReportPath(), undefined, argv, null);
  } catch (again) {
    if (!(again instanceof BrokenPipe)) throw again;
    brokenPipe = true;
    return EXIT_SIGPIPE;
  }
}

/**
 * A bug in tslinux: the report (the guest's state when the kernel's crash
 * hook saw it, else the error's stack with the command line and versions)
 * goes to `file`, and stderr gets one line naming it.
 */
function reportInternalError(e: unknown, file: string | OutputFile, shown: string | undefined, argv: string[], crash: CrashReporter | null): number {
  if (!crash?.write(file)) {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    writeOutput(file, JSON.stringify({ kind: 'internal-error', error, argv, versions: { tslinux: packageVersion(), node: process.version } }, null, 2) + '\n');
  }
  const first = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return say(`tslinux: internal error: ${first} (crash report: ${shown ?? file})\n`, EXIT_INTERNAL);
}

function say(line: string, status: number): number {
  writeErr(line);
  return status;
}

/** 128 + SIGPIPE, what a shell shows for a command killed by SIGPIPE. */
const EXIT_SIGPIPE = 141;

/**
 * End the process with `status` (bin/tslinux.js). After a broken pipe the
 * CLI dies of SIGPIPE itself, as a native tool under `| head` does: Node
 * ignores SIGPIPE, and adding then removing a listener puts back the
 * default action (libuv restores SIG_DFL), so raising it ends the process
 * with that signal. Where that does not work (Windows), it exits 141.
 */
export function exitWith(status: number): void {
  // A write through process.stdout (explain's output) reports EPIPE as an event.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      dieOfSigpipe();
    });
  }
  if (brokenPipe) dieOfSigpipe();
  process.exitCode = status;
}

function dieOfSigpipe(): void {
  if (process.platform !== 'win32') {
    const nothing = (): void => {};
    process.on('SIGPIPE', nothing);
    process.off('SIGPIPE', nothing);
    process.kill(process.pid, 'SIGPIPE');
  }
  process.exit(EXIT_SIGPIPE);
}
