// End-to-end helpers: run one Linux binary three ways with the same argv,
// environment, stdin and a fresh temporary working directory each time:
//   - under tslinux through the library API (runSync),
//   - natively (x86_64 binaries, when the host is x86-64 Linux),
//   - under qemu-aarch64 (aarch64 binaries, when qemu-aarch64 is on PATH),
// and return stdout, stderr, the exit code and the files the run left in its
// directory. Every temporary directory is removed before the helper returns.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSync, type RunOptions } from '../../src/index.ts';
import type { CpuFault } from '../../src/cpu/engine.ts';
import { optionalTool, which } from './tools.ts';

export type GuestArch = 'x86_64' | 'aarch64';
export const ARCHES: readonly GuestArch[] = ['x86_64', 'aarch64'];

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const GUESTS = path.join(ROOT, 'guest-binaries');
export const DEBIAN_BIN = path.join(ROOT, '.cache', 'debian', 'bin');

/** The environment every run gets (tslinux, native and qemu alike), unless a case gives its own. */
export const FIXED_ENV: Readonly<Record<string, string>> = { PATH: '/usr/bin:/bin', LANG: 'C', TSL_A: '1' };

export function guestPath(arch: GuestArch, name: string): string {
  return path.join(GUESTS, arch, name);
}

export function debianBin(arch: GuestArch, name: 'busybox' | 'bash' | 'mksh' | 'mksh-static'): string {
  return path.join(DEBIAN_BIN, arch, name);
}

/** Whether this host can run x86-64 Linux binaries directly. */
export const canRunNative = process.platform === 'linux' && process.arch === 'x64';

/** The Go test guest for an arch (built by scripts/build-go-guests.sh from guest-binaries/src/go). */
export function goGuest(arch: GuestArch): string {
  return path.join(ROOT, '.cache', 'go', arch, 'gocheck');
}

/** Whether the Go test guests are built (an optional tool: Go). Call it where a test file is collected. */
export function haveGoGuests(): boolean {
  return optionalTool('the Go test guests', ARCHES.every((a) => fs.existsSync(goGuest(a))), 'apt-get install golang-go, then npm run fixtures');
}

/** qemu-aarch64 (user mode) from the host's PATH, or null. */
export const QEMU = which('qemu-aarch64');
/**
 * Whether qemu-aarch64 works here, not just exists: it must run the aarch64
 * hello guest and print what it prints, or it is no reference at all.
 */
export const hasQemu =
  QEMU !== null && spawnSync(QEMU, [guestPath('aarch64', 'hello')], { encoding: 'utf8', timeout: 60_000 }).stdout === 'hello, world\n';

/** A tree of what a run left in its directory: relative path → content; directories end in "/" and map to "". */
export type Files = Record<string, string>;

export interface Outcome {
  /** Output as latin1 text, with the working directory's path replaced by "$DIR". */
  stdout: string;
  stderr: string;
  exitCode: number;
  /** The working directory's contents after the run (the program itself left out when it was copied in). */
  files: Files;
  /** Permission bits of everything in `files`, as octal strings ("644", "755"; symlinks left out). */
  modes: Record<string, string>;
}

export interface TslOutcome extends Outcome {
  /** Raw result fields of the library API. */
  signal: string | null;
  fault: CpuFault | null;
}

export interface RunSpec {
  arch: GuestArch;
  /** Host path of the binary. */
  program: string;
  args?: string[];
  /** argv[0]; default: the program path, or "./<name>" with `copyIn`. */
  argv0?: string;
  /** Default FIXED_ENV. */
  env?: Record<string, string>;
  stdin?: string | Buffer;
  /** Copy the binary into the working directory and run it as ./<name> (like check.sh does). */
  copyIn?: boolean;
  /** Create input files: called with the fresh working directory before the run. */
  setup?: (dir: string) => void;
  /** Mount the working directory read-only for tslinux (native runs are unaffected). */
  readOnly?: boolean;
  /** More library options for the tslinux run (a policy, limits); native runs are unaffected. */
  options?: Omit<RunOptions, 'args' | 'argv0' | 'env' | 'cwd' | 'mountCwd' | 'mounts' | 'stdin' | 'stdout' | 'stderr'>;
}

function makeDir(): string {
  // realpath: /tmp may be a symlink on some hosts, and the guest should see the same path as the host.
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-e2e-')));
}

/** Everything below `dir`, as relative path → content. */
export function snapshot(dir: string, skip: string[] = []): Files {
  return snapshotWithModes(dir, skip).files;
}

function snapshotWithModes(dir: string, skip: string[] = []): { files: Files; modes: Record<string, string> } {
  const files: Files = {};
  const modes: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip.includes(r)) continue;
      const st = fs.lstatSync(path.join(dir, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        files[r + '/'] = '';
        modes[r + '/'] = mode;
        walk(r);
      } else if (st.isSymbolicLink()) files[r] = `-> ${fs.readlinkSync(path.join(dir, r))}`;
      else {
        files[r] = fs.readFileSync(path.join(dir, r), 'latin1');
        modes[r] = mode;
      }
    }
  };
  walk('');
  return { files, modes };
}

/** Make a directory tree writable again, so a read-only test directory can be removed. */
function makeWritable(dir: string): void {
  try {
    fs.chmodSync(dir, 0o755);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) makeWritable(path.join(dir, e.name));
  } catch {
    /* best effort */
  }
}

function withDir<T extends Outcome>(spec: RunSpec, body: (dir: string, program: string, argv0: string) => Omit<T, 'files' | 'modes'>): T {
  const dir = makeDir();
  try {
    let program = spec.program;
    let argv0 = spec.argv0 ?? program;
    const name = path.basename(program);
    if (spec.copyIn) {
      program = path.join(dir, name);
      fs.copyFileSync(spec.program, program);
      fs.chmodSync(program, 0o755);
      argv0 = spec.argv0 ?? `./${name}`;
    }
    spec.setup?.(dir);
    const result = body(dir, program, argv0);
    // Each run has its own directory: show it as "$DIR" so that outputs of different runs compare.
    const norm = (s: string): string => s.split(dir).join('$DIR');
    const after = snapshotWithModes(dir, spec.copyIn ? [name] : []);
    return { ...result, stdout: norm(result.stdout), stderr: norm(result.stderr), ...after } as T;
  } finally {
    makeWritable(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** (a) Run under tslinux with the library API; the working directory is mounted at its own path and nothing else of the host. */
export function runTslinux(spec: RunSpec): TslOutcome {
  return withDir<TslOutcome>(spec, (dir, program, argv0) => {
    const r = runSync(program, {
      args: spec.args ?? [],
      argv0,
      env: { ...(spec.env ?? FIXED_ENV) },
      cwd: dir,
      mountCwd: false,
      mounts: [{ host: dir, guest: dir, readOnly: spec.readOnly ?? false }],
      stdin: spec.stdin ?? '',
      stdout: 'capture',
      stderr: 'capture',
      ...spec.options,
    });
    return {
      stdout: r.stdout.toString('latin1'),
      stderr: r.stderr.toString('latin1'),
      exitCode: r.exitCode,
      signal: r.signal,
      fault: r.fault,
    };
  });
}

function spawnOutcome(cmd: string, args: string[], argv0: string | undefined, spec: RunSpec, dir: string): Omit<Outcome, 'files' | 'modes'> {
  // stdin is a regular file, not the socket pair spawnSync would use: bash treats a socket on stdin as
  // "run by sshd" and reads ~/.bashrc. The file lives in its own temporary directory, not in `dir`.
  const inDir = makeDir();
  try {
    const inPath = path.join(inDir, 'stdin');
    fs.writeFileSync(inPath, spec.stdin ?? '');
    const inFd = fs.openSync(inPath, 'r');
    let r;
    // The guest's umask under tslinux is 022; give the native/qemu run the same whatever the host's is.
    const umask = process.umask(0o022);
    try {
      r = spawnSync(cmd, args, {
        cwd: dir,
        env: { ...(spec.env ?? FIXED_ENV) },
        argv0,
        stdio: [inFd, 'pipe', 'pipe'],
        maxBuffer: 64 << 20,
        timeout: 60_000,
      });
    } finally {
      process.umask(umask);
      fs.closeSync(inFd);
    }
    if (r.error) throw r.error;
    // Death by signal N shows as 128+N, as in the shell (and in tslinux's exitCode).
    const exitCode = r.status ?? 128 + (os.constants.signals[r.signal as keyof typeof os.constants.signals] ?? 0);
    return { stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1'), exitCode };
  } finally {
    fs.rmSync(inDir, { recursive: true, force: true });
  }
}

/** (b) Run an x86-64 binary natively. */
export function runNative(spec: RunSpec): Outcome {
  if (spec.arch !== 'x86_64') throw new Error('runNative: only x86_64 binaries run natively');
  return withDir<Outcome>(spec, (dir, program, argv0) =>
    // With copyIn, exec ./name from the directory (as check.sh does), so that AT_EXECFN is "./name" too.
    spawnOutcome(spec.copyIn ? `./${path.basename(program)}` : program, spec.args ?? [], argv0, spec, dir),
  );
}

/** (c) Run an aarch64 binary under qemu-aarch64 (user mode). */
export function runQemu(spec: RunSpec): Outcome {
  if (spec.arch !== 'aarch64') throw new Error('runQemu: only aarch64 binaries run under qemu-aarch64');
  return withDir<Outcome>(spec, (dir, program, argv0) => {
    // With copyIn, run it as ./name so that the guest's AT_EXECFN is the same as under tslinux.
    const target = spec.copyIn ? `./${path.basename(program)}` : program;
    return spawnOutcome(QEMU!, ['-0', argv0, target, ...(spec.args ?? [])], undefined, spec, dir);
  });
}

/**
 * Whether a reference run (native or qemu) is possible for this arch on this
 * host; a missing one is an optional tool (a skip line, or a failure under
 * TSLINUX_REQUIRE_ALL=1).
 */
export function hasReference(arch: GuestArch): boolean {
  return arch === 'x86_64'
    ? optionalTool('an x86-64 Linux host (the native reference)', canRunNative)
    : optionalTool('qemu-aarch64 (the aarch64 reference)', hasQemu, 'apt-get install qemu-user');
}

/** The reference run: native for x86_64, qemu-aarch64 for aarch64; null when this host can't do it. */
export function runReference(spec: RunSpec): Outcome | null {
  if (!hasReference(spec.arch)) return null;
  return spec.arch === 'x86_64' ? runNative(spec) : runQemu(spec);
}

/** All the runs this host can do: tslinux always, native for x86_64, qemu-aarch64 for aarch64 (null when not possible). */
export function runAll(spec: RunSpec): { tslinux: TslOutcome; native: Outcome | null; qemu: Outcome | null } {
  return {
    tslinux: runTslinux(spec),
    native: spec.arch === 'x86_64' && canRunNative ? runNative(spec) : null,
    qemu: spec.arch === 'aarch64' && hasQemu ? runQemu(spec) : null,
  };
}

/** The fields to compare between tslinux and a reference run. */
export function visible(o: Outcome): Outcome {
  return { stdout: o.stdout, stderr: o.stderr, exitCode: o.exitCode, files: o.files, modes: o.modes };
}

export const CLI = path.join(ROOT, 'bin', 'tslinux.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `node bin/tslinux.js <args>` as a subprocess (asynchronously, so several can run at once). */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? { ...FIXED_ENV },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? 128 + (os.constants.signals[signal as keyof typeof os.constants.signals] ?? 0),
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('latin1'),
      }),
    );
    child.stdin.end(opts.input ?? '');
  });
}

/** A fresh temporary directory for a test that manages files itself; remove it with removeTempDir. */
export function makeTempDir(): string {
  return makeDir();
}

/** Run `body` with a fresh temporary directory, removed afterwards. */
export async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeDir();
  try {
    return await body(dir);
  } finally {
    removeTempDir(dir);
  }
}

export function removeTempDir(dir: string): void {
  makeWritable(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}
