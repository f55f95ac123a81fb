// Host guards for hostile guests (guest-binaries/src/hostile.c): tslinux
// runs them as a subprocess that cannot take the host down whatever the
// guest does, so a limit of tslinux that fails shows as a failed test, not
// as a dead machine. Two kinds:
//   - a memory cgroup (v1 or v2, made below this process's own, which we
//     may do as root): the host's kernel stops tslinux at the limit;
//   - prlimit --as: a bounded address space.
// Either way tslinux runs as nobody (when we are root) with at most 64 host
// threads (prlimit --nproc). The outcome says whether the host's OOM killer
// acted inside the cgroup.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeTempDir, removeTempDir } from './e2e.ts';

export interface GuardedOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** OOM kills the host counted inside the memory cgroup (0 under prlimit). */
  oomKills: number;
}

export interface HostGuard {
  /** One line for test titles and skips. */
  readonly describe: string;
  /** `tslinux run [args]` in a fresh scratch directory (the guest's cwd) under this guard. */
  runCli(args: string[]): Promise<GuardedOutcome>;
}

const asRoot = process.getuid?.() === 0;
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/** Run `argv` in a scratch directory nobody may write, with `prefix` in front; resolves when it exits. */
function spawnGuarded(argv: string[], before?: () => void, after?: () => number): Promise<GuardedOutcome> {
  const dir = makeTempDir();
  fs.chmodSync(dir, 0o777); // nobody's working directory
  before?.();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      removeTempDir(dir);
      const oomKills = after?.() ?? 0;
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), oomKills });
    });
  });
}

/** The tslinux command line behind `guard`: nobody, 64 threads, then node. */
function cliArgv(extraLimits: string[], args: string[]): string[] {
  return [...(asRoot ? NOBODY : []), 'prlimit', '--nproc=64', ...extraLimits, '--', process.execPath, CLI, 'run', ...args];
}

/** prlimit --as=`bytes` (plus nobody and --nproc). Always available on Linux with util-linux. */
export function addressSpaceGuard(bytes: number): HostGuard {
  return {
    describe: `prlimit --as=${(bytes / 2 ** 30).toFixed(1)}G`,
    runCli: (args) => spawnGuarded(cliArgv([`--as=${bytes}`], args)),
  };
}

/**
 * A memory cgroup of `bytes` below this process's own (cgroup v1's memory
 * hierarchy or v2), or why there is none: not root, no memory controller,
 * or the host refuses to make one.
 */
export function memoryCgroupGuard(bytes: number): HostGuard | string {
  if (!asRoot) return 'a memory cgroup needs root';
  const base = ownMemoryCgroup();
  if (!base) return 'no memory cgroup controller in /proc/self/cgroup';
  const v2 = !base.includes('/sys/fs/cgroup/memory');
  let n = 0;
  const make = (): string => {
    const dir = path.join(base, `tslinux-guard-${process.pid}-${n++}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(bytes));
    if (v2 && fs.existsSync(path.join(dir, 'memory.swap.max'))) fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0');
    return dir;
  };
  // Try once now, so that a host that refuses says so here.
  try {
    fs.rmdirSync(make());
  } catch (e) {
    return `cannot make a memory cgroup under ${base}: ${(e as Error).message}`;
  }
  return {
    describe: `a memory cgroup of ${Math.round(bytes / 2 ** 20)} MiB`,
    runCli: (args) => {
      const dir = make();
      // The shell enters the cgroup, then becomes tslinux (exec keeps the cgroup).
      const argv = ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...cliArgv([], args)];
      return spawnGuarded(argv, undefined, () => {
        const kills = oomKills(dir, v2);
        fs.rmdirSync(dir);
        return kills;
      });
    },
  };
}

/** This process's memory cgroup directory (v1 memory hierarchy, or the v2 one), if any. */
function ownMemoryCgroup(): string | null {
  let lines: string[];
  try {
    lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return null;
  }
  for (const line of lines) {
    const [, controllers, rel] = line.split(':');
    if (rel === undefined) continue;
    if (controllers!.split(',').includes('memory') && fs.existsSync('/sys/fs/cgroup/memory')) return path.join('/sys/fs/cgroup/memory', rel);
  }
  for (const line of lines) {
    const [id, controllers, rel] = line.split(':');
    if (id === '0' && controllers === '' && rel !== undefined && fs.existsSync(path.join('/sys/fs/cgroup', rel, 'memory.max'))) return path.join('/sys/fs/cgroup', rel);
  }
  return null;
}

/** OOM kills in the cgroup: v2's memory.events oom_kill, v1's memory.oom_control oom_kill. */
function oomKills(dir: string, v2: boolean): number {
  try {
    const text = fs.readFileSync(path.join(dir, v2 ? 'memory.events' : 'memory.oom_control'), 'utf8');
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The address space a tslinux run needs before its guest takes any memory
 * (Node reserves about 10 GiB for WebAssembly alone, and tsx uses it):
 * VmSize of `tslinux run` once its guest (busybox sh) has said it is
 * running, measured once per test file.
 */
let baseline: Promise<number> | null = null;
export function tslinuxAddressSpace(busybox: string): Promise<number> {
  baseline ??= new Promise((resolve, reject) => {
    const dir = makeTempDir();
    const child = spawn(process.execPath, [CLI, 'run', busybox, 'sh', '-c', 'echo ready; read x'], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
    let size = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (size || !b.toString().includes('ready')) return;
      size = Number(/^VmSize:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) * 1024;
      child.stdin.end('\n');
    });
    child.on('error', reject);
    child.on('close', () => {
      removeTempDir(dir);
      if (size) resolve(size);
      else reject(new Error("could not measure tslinux's address space"));
    });
  });
  return baseline;
}
