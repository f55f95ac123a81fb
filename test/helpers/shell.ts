// Shell-script end-to-end helpers: run a script with Debian's static busybox
// sh (or bash) under tslinux and on a reference, with the same file layout.
//
// Layout (the same for every run, so scripts behave the same everywhere):
//   $ROOT/bin/<applet>  symlinks to the host path of busybox (and bin/bash to bash);
//   $ROOT/w             the working directory;
//   PATH=$ROOT/bin, LANG=C, nothing else in the environment.
// Under tslinux $ROOT and the directory holding busybox/bash are mounted at
// their own host paths, so the symlinks resolve in the guest exactly as on the
// host. Each tslinux run is a `node bin/tslinux.js run ...` child process with
// a hard timeout: a hanging guest must not block the test worker.
//
// References: x86_64 runs natively. aarch64 runs the aarch64 busybox directly
// through binfmt_misc (qemu-aarch64 registered with the P flag), which also
// covers the processes the script execs; without binfmt_misc the aarch64
// tslinux output is compared with the x86_64 native output instead.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, canRunNative, debianBin, type GuestArch } from './e2e.ts';

export const APPLETS = [
  'sh', 'ash', 'cat', 'sort', 'head', 'tail', 'seq', 'wc', 'echo', 'true', 'false', 'tr', 'ls', 'yes', 'grep',
  'sleep', 'kill', 'timeout', 'find', 'xargs', 'sed', 'printf', 'test', '[', 'expr', 'env', 'mkdir', 'rm',
  'touch', 'cut', 'uniq', 'md5sum', 'dd', 'basename', 'dirname', 'pwd', 'id',
] as const;

/** busybox sh, bash, or Debian's mksh: its dietlibc build (mksh) or its klibc build (mksh-static). */
export type Shell = 'sh' | 'bash' | 'mksh' | 'mksh-static';

/** Whether aarch64 binaries (and what they exec) run on this host through binfmt_misc. */
export const hasBinfmtAarch64: boolean = (() => {
  if (!canRunNative) return false;
  for (const name of ['qemu-aarch64', 'aarch64-binfmt-P']) {
    try {
      const s = fs.readFileSync(`/proc/sys/fs/binfmt_misc/${name}`, 'utf8');
      const interp = /^interpreter (.*)$/m.exec(s)?.[1];
      if (s.startsWith('enabled') && interp && fs.existsSync(interp)) return true;
    } catch {
      /* not registered under this name */
    }
  }
  return false;
})();

/** How the reference for an arch is made, or null when this host has none. */
export function referenceArch(arch: GuestArch): GuestArch | null {
  if (!canRunNative) return null;
  if (arch === 'x86_64') return 'x86_64';
  // No binfmt_misc: the x86_64 native run of the same script is the reference (the outputs must agree).
  return hasBinfmtAarch64 ? 'aarch64' : 'x86_64';
}

/** A run that has not ended after this long hangs: it is killed and its case fails (a guard against hangs, not a speed check). */
const HANG_GUARD_MS = 60_000;

export interface ShellRun {
  shell?: Shell;
  script: string;
  /** Extra arguments after the script ($0, $1...). */
  args?: string[];
  stdin?: string;
  /** Create files in the working directory before the run. */
  setup?: (dir: string) => void;
  /** Hang guard for the whole run (default HANG_GUARD_MS); never a speed check. */
  timeoutMs?: number;
  /** More `tslinux run` options for the tslinux run (a policy, say); the reference ignores them. */
  tslinuxArgs?: string[];
}

export interface ShellOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Wall-clock time of the run, including (for tslinux) the CLI's start-up. */
  ms: number;
  /** Whether the hard timeout killed the run. */
  timedOut: boolean;
}

function realTemp(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-sh-')));
}

/** The bin directory, working directory and stdin file of one run. */
function layout(arch: GuestArch, stdin: string): { root: string; bin: string; work: string; stdinPath: string } {
  const root = realTemp();
  const bin = path.join(root, 'bin');
  const work = path.join(root, 'w');
  fs.mkdirSync(bin);
  fs.mkdirSync(work);
  const bb = debianBin(arch, 'busybox');
  for (const a of APPLETS) fs.symlinkSync(bb, path.join(bin, a));
  fs.symlinkSync(debianBin(arch, 'bash'), path.join(bin, 'bash'));
  // stdin is a regular file: bash treats a socket on stdin as "run by sshd".
  const stdinPath = path.join(root, 'stdin');
  fs.writeFileSync(stdinPath, stdin);
  return { root, bin, work, stdinPath };
}

function shellArgv(arch: GuestArch, run: ShellRun): { program: string; args: string[] } {
  const extra = run.args ?? [];
  const shell = run.shell ?? 'sh';
  if (shell !== 'sh') return { program: debianBin(arch, shell), args: ['-c', run.script, ...extra] };
  return { program: debianBin(arch, 'busybox'), args: ['sh', '-c', run.script, ...extra] };
}

// At most this many runs at once (guests are CPU-bound; more would only skew the timing checks).
const LIMIT = Math.max(2, Math.min(4, os.cpus().length));
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(f: () => Promise<T>): Promise<T> {
  while (running >= LIMIT) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnTimed(cmd: string, args: string[], cwd: string, env: Record<string, string>, stdinPath: string, timeoutMs: number): Promise<ShellOutcome> {
  return limited(() => spawnNow(cmd, args, cwd, env, stdinPath, timeoutMs));
}

function spawnNow(cmd: string, args: string[], cwd: string, env: Record<string, string>, stdinPath: string, timeoutMs: number): Promise<ShellOutcome> {
  return new Promise((resolve, reject) => {
    const inFd = fs.openSync(stdinPath, 'r');
    const start = Date.now();
    const child = spawn(cmd, args, { cwd, env, stdio: [inFd, 'pipe', 'pipe'], detached: true });
    fs.closeSync(inFd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: the CLI, or a native shell and whatever it started.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('latin1'),
        exitCode: code ?? 128 + (os.constants.signals[signal as keyof typeof os.constants.signals] ?? 0),
        ms: Date.now() - start,
        timedOut,
      });
    });
  });
}

/** Replace the run's temporary root with "$DIR" and the binaries' directory with "$BIN". */
function normalize(o: ShellOutcome, root: string, arch: GuestArch): ShellOutcome {
  const binDir = path.dirname(debianBin(arch, 'busybox'));
  const n = (s: string): string => s.split(root).join('$DIR').split(binDir).join('$BIN');
  return { ...o, stdout: n(o.stdout), stderr: n(o.stderr) };
}

async function inLayout(arch: GuestArch, run: ShellRun, body: (l: ReturnType<typeof layout>) => Promise<ShellOutcome>): Promise<ShellOutcome> {
  const l = layout(arch, run.stdin ?? '');
  try {
    run.setup?.(l.work);
    return normalize(await body(l), l.root, arch);
  } finally {
    fs.rmSync(l.root, { recursive: true, force: true });
  }
}

/** Run a shell script under tslinux (the CLI in a child process, with a hard timeout). */
export function runShellTslinux(arch: GuestArch, run: ShellRun): Promise<ShellOutcome> {
  return inLayout(arch, run, (l) => {
    const { program, args } = shellArgv(arch, run);
    const binDir = path.dirname(program);
    const cli = [
      CLI, 'run', '--no-warn', '--clear-env', '--env', `PATH=${l.bin}`, '--env', 'LANG=C',
      '--mount', `${l.root}:${l.root}`, '--mount', `${binDir}:${binDir}:ro`, '--cwd', l.work,
      ...(run.tslinuxArgs ?? []), program, ...args,
    ];
    return spawnTimed(process.execPath, cli, l.work, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, l.stdinPath, run.timeoutMs ?? HANG_GUARD_MS);
  });
}

/** Run the same script natively on the reference arch (see referenceArch); null when this host has no reference. */
export function runShellReference(arch: GuestArch, run: ShellRun): Promise<ShellOutcome> | null {
  const ref = referenceArch(arch);
  if (!ref) return null;
  return inLayout(ref, run, (l) => {
    const { program, args } = shellArgv(ref, run);
    return spawnTimed(program, args, l.work, { PATH: l.bin, LANG: 'C' }, l.stdinPath, run.timeoutMs ?? HANG_GUARD_MS);
  });
}
