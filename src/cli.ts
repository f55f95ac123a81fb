// The command line: `tslinux run [options] <binary> [args...]` and
// `tslinux syscalls`. A thin layer over the library API.
import * as fs from 'node:fs';
import { createKernel, KernelBug, LaunchError, UnicornUnavailableError } from './index.ts';
import type { MountSpec } from './kernel/namespace.ts';
import { StraceTracer } from './trace/strace.ts';
import { supportTable } from './support.ts';
import type { SyscallGate } from './kernel/dispatch.ts';
import { PolicyError, ProfileRecorder, parseProfileText } from './policy/index.ts';
import { PolicyGate, RecordingGate } from './policy/gate.ts';

export const RUN_HELP = `usage: tslinux run [options] <binary> [args...]

Run a static Linux ELF binary (x86-64 or aarch64) on this host.

options:
  --trace               log every syscall, strace style, to stderr
  -o FILE               write the trace to FILE instead (implies --trace)
  -s N                  show at most N bytes of each string in the trace (default 32)
  --env K=V             set an environment variable (repeatable)
  --clear-env           start from an empty environment instead of the host's
  --mount HOST:GUEST[:ro]
                        make host directory HOST visible at guest path GUEST
                        (read-only with :ro); repeatable
  --cwd DIR             the guest's working directory (a guest path); without it the
                        host's current directory is mounted at its own path and used
  --uid N, --gid N      the guest's user and group ids (default: the host's)
  --policy FILE         enforce a Docker/OCI seccomp profile (JSON) on every syscall
  --allow NAME,...      allow only these syscalls (others fail with EPERM)
  --deny NAME,...       make these syscalls fail with EPERM
  --record-profile FILE write the minimal seccomp profile that allows exactly the
                        syscalls this run made (merged into FILE if it exists)
  --no-warn             do not warn about unimplemented syscalls
  -h, --help            show this help

The exit code is the guest's exit status, or 128+signal when it is killed.
The guest sees the host's stdin, stdout and stderr, the current directory,
a private /tmp, a synthetic /dev and /proc/self; nothing else of the host.`;

const TOP_HELP = `usage: tslinux <command> [...]

commands:
  run [options] <binary> [args...]   run a static Linux binary (see tslinux run --help)
  syscalls [--arch x86_64|aarch64]   print the supported-syscall table (markdown)
  help                               show this help`;

export interface ParsedRun {
  program: string;
  args: string[];
  trace: boolean;
  traceFile: string | null;
  strSize: number;
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
  recordProfile: string | null;
}

export class UsageError extends Error {}

function parseMount(spec: string): MountSpec {
  const parts = spec.split(':');
  const readOnly = parts.length >= 3 && parts[parts.length - 1] === 'ro';
  if (readOnly) parts.pop();
  if (parts.length !== 2 || !parts[0] || !parts[1]?.startsWith('/')) {
    throw new UsageError(`--mount wants HOST:GUEST[:ro] with an absolute GUEST path, got "${spec}"`);
  }
  return { host: parts[0], guest: parts[1], readOnly };
}

function parseId(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw new UsageError(`${flag} wants a number, got "${v}"`);
  return n;
}

export function parseRunArgs(argv: string[]): ParsedRun | 'help' {
  const r: ParsedRun = {
    program: '',
    args: [],
    trace: false,
    traceFile: null,
    strSize: 32,
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
    recordProfile: null,
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
      case '--trace':
        r.trace = true;
        break;
      case '-o':
        r.traceFile = value(a);
        r.trace = true;
        break;
      case '-s': {
        const n = Number(value(a));
        if (!Number.isInteger(n) || n < 0) throw new UsageError('-s wants a non-negative number');
        r.strSize = n;
        break;
      }
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
      case '--policy':
        r.policy = value(a);
        break;
      case '--allow':
        r.allow.push(...splitNames(value(a)));
        break;
      case '--deny':
        r.deny.push(...splitNames(value(a)));
        break;
      case '--record-profile':
        r.recordProfile = value(a);
        break;
      default:
        throw new UsageError(`unknown option ${a} (see tslinux run --help)`);
    }
  }
  const program = argv[i];
  if (!program) throw new UsageError('missing <binary> (see tslinux run --help)');
  r.program = program;
  r.args = argv.slice(i + 1);
  return r;
}

function splitNames(list: string): string[] {
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--allow and --deny want NAME[,NAME...]');
  return names;
}

/** The gate in front of the handlers: a profile and/or --allow/--deny, and the recorder. */
function buildGate(p: ParsedRun): { gate: SyscallGate | null; recorder: ProfileRecorder | null } {
  let gate: SyscallGate | null = null;
  if (p.policy || p.allow.length || p.deny.length) {
    let profile;
    if (p.policy) {
      let text: string;
      try {
        text = fs.readFileSync(p.policy, 'utf8');
      } catch (e) {
        throw new UsageError(`--policy ${p.policy}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      try {
        profile = parseProfileText(text);
      } catch (e) {
        if (e instanceof PolicyError) throw new UsageError(`--policy ${p.policy}: ${e.message}`);
        throw e;
      }
    }
    gate = new PolicyGate({ profile, allow: p.allow, deny: p.deny }, (line) => fs.writeSync(2, line + '\n'));
  }
  const recorder = p.recordProfile ? new ProfileRecorder() : null;
  if (recorder) gate = new RecordingGate(recorder, gate);
  return { gate, recorder };
}

function saveProfile(file: string, recorder: ProfileRecorder): void {
  let existing;
  if (fs.existsSync(file)) {
    try {
      existing = parseProfileText(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`--record-profile ${file}: ${(e as Error).message}`);
    }
  }
  fs.writeFileSync(file, recorder.toJSON(existing));
}

function buildEnv(p: ParsedRun): string[] {
  const env = new Map<string, string>();
  if (!p.clearEnv) for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.set(k, v);
  for (const [k, v] of p.env) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

function runCommand(argv: string[]): number {
  const parsed = parseRunArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(RUN_HELP + '\n');
    return 0;
  }
  const { gate, recorder } = buildGate(parsed);
  let traceFd: number | null = null;
  let write: ((line: string) => void) | undefined;
  if (parsed.traceFile) {
    try {
      traceFd = fs.openSync(parsed.traceFile, 'w');
    } catch (e) {
      throw new LaunchError(`-o ${parsed.traceFile}: ${(e as Error).message}`);
    }
    const fd = traceFd;
    write = (line) => fs.writeSync(fd, line + '\n');
  } else if (parsed.trace) {
    write = (line) => fs.writeSync(2, line + '\n');
  }
  try {
    const kernel = createKernel(parsed.program, {
      args: parsed.args,
      env: buildEnv(parsed),
      cwd: parsed.cwd,
      mounts: parsed.mounts,
      stdin: 0,
      stdout: 1,
      stderr: 2,
      uid: parsed.uid,
      gid: parsed.gid,
      warnUnimplemented: parsed.warn,
      warn: (line) => fs.writeSync(2, line + '\n'),
    });
    if (write) kernel.setObserver(new StraceTracer({ write, strSize: parsed.strSize }));
    if (gate) kernel.setGate(gate);
    const result = kernel.run();
    if (recorder && parsed.recordProfile) saveProfile(parsed.recordProfile, recorder);
    if (result.signal) {
      const f = result.fault;
      const where = f ? ` (${f.reason}) at pc 0x${f.pc.toString(16)}, fault address 0x${f.addr.toString(16)}` : '';
      write?.(`+++ killed by ${result.signal} +++`);
      fs.writeSync(2, `tslinux: ${parsed.program}: killed by ${result.signal}${where}\n`);
    } else {
      write?.(`+++ exited with ${result.exitCode} +++`);
    }
    return result.exitCode;
  } finally {
    if (traceFd !== null) fs.closeSync(traceFd);
  }
}

function syscallsCommand(argv: string[]): number {
  const i = argv.indexOf('--arch');
  const arch = i >= 0 ? argv[i + 1] : undefined;
  if (arch !== undefined && arch !== 'x86_64' && arch !== 'aarch64') throw new UsageError('--arch is x86_64 or aarch64');
  process.stdout.write(supportTable(arch));
  return 0;
}

/** Returns the process exit code; prints one line for every expected failure. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return runCommand(rest);
      case 'syscalls':
        return syscallsCommand(rest);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        process.stdout.write(TOP_HELP + '\n');
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}" (try tslinux run <binary>)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tslinux: ${e.message}\n`);
      return 2;
    }
    if (e instanceof UnicornUnavailableError) {
      process.stderr.write(`tslinux: ${e.message}\n`);
      return 1;
    }
    if (e instanceof LaunchError) {
      process.stderr.write(`tslinux: ${e.message}\n`);
      return /no such file/.test(e.message) ? 127 : 126;
    }
    if (e instanceof KernelBug) {
      process.stderr.write(`tslinux: ${e.message}\n`);
      return 70;
    }
    throw e;
  }
}
