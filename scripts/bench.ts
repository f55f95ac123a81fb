// `npm run bench`: tslinux against qemu-user and the host CPU, in one run.
//
//   startup: tslinux run hello  `node bin/tslinux.js run hello` as a subprocess: what a user waits for,
//                               Node's start-up included (the built dist/: rebuilt first if a source is
//                               newer); beside it `node -e 0`, with the spread of every contender and
//                               their peak RSS (GNU time's %M, when /usr/bin/time is installed)
//   hello start-up (in-process) runSync(hello) in this process: the emulator's own start-up
//   getuid x1M                  getuid_loop 1000000: one million raw getuid syscalls
//   getuid ns/call              (getuid x1M - hello) / 1e6, each measured the same way
//   sieve                       20 MB .bss array, 3 passes: CPU- and memory-bound
//   sieve, pre-emption off/on   the sieve through the CLI with the engine's block stop disabled
//                               (TSLINUX_NO_BLOCK_STOP=1: no slices, no TLB flushes) and enabled:
//                               what pre-emption and the flushes it allows cost and gain
//   sha256sum NN MB             Debian's static busybox over a deterministic file
//   gzip NN MB                  Debian's static busybox `gzip -c` of deterministic text (about 4:1)
//   shell spawn x500            busybox sh running a loop of 500 `true` processes (fork + exec + wait);
//                               beside it the same with engine reuse off (TSLINUX_NO_ENGINE_SHELF=1:
//                               every process on a new CPU engine, see src/kernel/engine-shelf.ts)
//   pipe NN MB through cat      busybox sh: `cat FILE | cat | wc -c` over the deterministic file
//   fork+exec+wait x1000        the forkexec C guest: 1000 children, each exec'ed and reaped; also
//                               with engine reuse off
//   futex ping-pong x100k       the futex_pingpong C guest: two threads hand a turn back and forth
//                               through one futex word; also shown as round trips per second
//   go spawn x10000             the Go guest (gocheck spawn 10000): 10,000 goroutines
//   go sieve                    the Go guest (gocheck sieve N): CPU-bound, primes below 10 million
//   tcp stream NN MB (--net host)  busybox sh: `nc -l` receives a deterministic file from `nc` over
//                               127.0.0.1, both ends host sockets under tslinux (native only: the
//                               script execs busybox again, see below)
//   go tcpecho xN (--net host)  the Go guest (gocheck tcpecho N): N client goroutines each connect
//                               and echo 20 lines through a server goroutine, over the host's
//                               sockets; beside it the same under --net none (the in-kernel loopback)
//   python3 -c pass (dynamic)   Debian 12's dynamically linked python3 from the root
//                               scripts/fetch-rootfs.sh builds (ld.so, a dozen libraries, the
//                               interpreter's start-up): tslinux run --root against qemu -L ROOT
//                               and a native chroot (as root, x86-64)
//
// The process benchmarks compare with native only: under qemu-user the
// children a guest execs need binfmt_misc (and an x86-64 qemu's children
// would run natively), so a qemu column would not measure the same thing.
//
// qemu runs as qemu-x86_64 / qemu-aarch64 when installed, native only when
// the guest arch is the host's. The workloads run in-process under tslinux
// (runSync, output captured); --cli runs them through the CLI as well.
// Every run's output is checked, so a fast wrong answer is reported as such.
// The engines take turns run by run, so a change in the host's load hits
// them alike; the table shows medians, the JSON every run.
//
// usage: tsx scripts/bench.ts [--quick] [--only NAME[,NAME]] [--arch x86_64|aarch64]
//                             [--runs N] [--cli] [--json FILE]
//   NAME: startup, startup-cli, startup-inproc, getuid, sieve, preempt-cost, sha256sum, gzip, spawn,
//         pipe, forkexec, futex, go-spawn, go-sieve, net-stream, net-connects, python
//
// The Go guest is built by scripts/build-go-guests.sh (Debian's golang-go) into .cache/go.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadUnicorn, runSync, type RunOptions } from '../src/index.ts';

type Arch = 'x86_64' | 'aarch64';
type Engine = 'native' | 'qemu' | 'tslinux';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'bin', 'tslinux.js');
const BENCH_NAMES = [
  'startup-cli',
  'startup-inproc',
  'getuid',
  'sieve',
  'preempt-cost',
  'sha256sum',
  'gzip',
  'spawn',
  'pipe',
  'forkexec',
  'futex',
  'go-spawn',
  'go-sieve',
  'net-stream',
  'net-connects',
  'python',
] as const;
type BenchName = (typeof BENCH_NAMES)[number];

// ---- options ---------------------------------------------------------------------------------

interface Options {
  quick: boolean;
  only: Set<BenchName>;
  arches: Arch[];
  runs: number | null;
  cli: boolean;
  json: string | null;
}

function usage(msg?: string): never {
  if (msg) console.error(`bench: ${msg}`);
  console.error(
    'usage: tsx scripts/bench.ts [--quick] [--only NAME[,NAME]] [--arch x86_64|aarch64] [--runs N] [--cli] [--json FILE]\n' +
      `  NAME: startup, ${BENCH_NAMES.join(', ')}`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, only: new Set(BENCH_NAMES), arches: ['x86_64', 'aarch64'], runs: null, cli: false, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => argv[++i] ?? usage(`${a} needs a value`);
    switch (a) {
      case '--quick':
        o.quick = true;
        break;
      case '--only': {
        const names = new Set<BenchName>();
        for (const n of value().split(',')) {
          if (n === 'startup') names.add('startup-cli').add('startup-inproc');
          else if ((BENCH_NAMES as readonly string[]).includes(n)) names.add(n as BenchName);
          else usage(`unknown benchmark "${n}"`);
        }
        o.only = names;
        break;
      }
      case '--arch': {
        const v = value();
        if (v !== 'x86_64' && v !== 'aarch64') usage(`unknown arch "${v}"`);
        o.arches = [v];
        break;
      }
      case '--runs': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) usage('--runs wants a positive integer');
        o.runs = n;
        break;
      }
      case '--cli':
        o.cli = true;
        break;
      case '--json':
        o.json = value();
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  return o;
}

// ---- measuring -------------------------------------------------------------------------------

/** One measured quantity for one engine: every run's value and the median. */
interface Measurement {
  median: number;
  runs: number[];
  /** Set when a run failed or printed the wrong thing; no timing is reported then. */
  error?: string;
}

interface Row {
  benchmark: string;
  arch: Arch;
  /** 's' for wall times in seconds, 'ns' for per-call costs, '/s' for rates (more is faster). */
  unit: Unit;
  native: Measurement | null;
  qemu: Measurement | null;
  tslinux: Measurement | null;
  /** The start-up row's baseline: `node -e 0`. */
  node?: Measurement | null;
  /** The start-up row: peak resident set size of each contender, in MB (median of a few untimed runs). */
  peakRssMB?: Partial<Record<Engine | 'node', number | null>>;
  notes?: string[];
}

type Unit = 's' | 'ns' | '/s';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function measurement(runs: number[]): Measurement {
  return { median: median(runs), runs };
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Collect garbage between in-process runs so one run's guest memory does not bill the next. */
const gc: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
})();

class CheckFailed extends Error {}

/** What a run must print (text, a pattern, or a check of the bytes) and exit with. */
interface Expect {
  stdout: string | RegExp | ((bytes: Buffer) => boolean);
  exitCode?: number;
}

function verify(what: string, exitCode: number | null, stdoutBytes: Buffer, stderr: string, want: Expect): void {
  const stdout = stdoutBytes.toString();
  const matches =
    typeof want.stdout === 'string' ? stdout === want.stdout : want.stdout instanceof RegExp ? want.stdout.test(stdout) : want.stdout(stdoutBytes);
  if (exitCode !== (want.exitCode ?? 0) || !matches) {
    const tail = (s: string): string => JSON.stringify(s.length > 300 ? '…' + s.slice(-300) : s);
    throw new CheckFailed(`${what}: exit ${exitCode}, stdout ${tail(stdout)}, stderr ${tail(stderr)}`);
  }
}

interface Command {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Wall time of one subprocess run, from spawn to exit. */
function timeProcess(c: Command, want: Expect): number {
  const t0 = now();
  const r = spawnSync(c.cmd, c.args, {
    cwd: c.cwd,
    env: c.env ?? { LANG: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 27,
  });
  const t = now() - t0;
  if (r.error) throw new CheckFailed(`${c.cmd}: ${r.error.message}`);
  const code = r.status ?? (r.signal ? 128 + (os.constants.signals[r.signal] ?? 0) : null);
  verify([c.cmd, ...c.args].join(' '), code, r.stdout, r.stderr.toString(), want);
  return t;
}

/** The 25th and 75th percentiles of a measurement's runs. */
function quartiles(m: Measurement): [number, number] {
  const s = [...m.runs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.round((s.length - 1) * q)]!;
  return [at(0.25), at(0.75)];
}

/** "130.2 ms (p25-p75 121.0-140.9)" */
function fmtSpread(m: Measurement | null | undefined): string {
  if (!m) return 'not run';
  if (m.error) return 'FAIL';
  const [lo, hi] = quartiles(m).map((v) => fmtValue(measurement([v]), 's'));
  return `${fmtValue(m, 's')} (p25-p75 ${lo}-${hi})`;
}

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * Peak RSS of a command in MB: the median of `runs` untimed runs under GNU
 * time (its %M, from wait4's ru_maxrss), or null without /usr/bin/time.
 */
function peakRssMB(c: Command, runs = 3): number | null {
  if (!GNU_TIME) return null;
  const kb: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(GNU_TIME, ['-f', '%M', c.cmd, ...c.args], { cwd: c.cwd, env: c.env ?? { LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const last = r.stderr.toString().trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !/^\d+$/.test(last)) return null;
    kb.push(Number(last));
  }
  return median(kb) / 1024;
}

/** Wall time of one runSync in this process (kernel creation, load, run, teardown). */
function timeInProcess(program: string, opts: RunOptions, want: Expect): number {
  gc();
  const t0 = now();
  let r: ReturnType<typeof runSync>;
  try {
    r = runSync(program, { stdout: 'capture', stderr: 'capture', ...opts });
  } catch (e) {
    // A launch error or kernel bug fails this contender, not the whole benchmark.
    throw new CheckFailed(`runSync ${program}: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
  }
  const t = now() - t0;
  verify(`runSync ${program}`, r.exitCode, r.stdout, r.stderr.toString(), want);
  return t;
}

type Contender = 'native' | 'qemu' | 'tslinux' | 'cli' | 'node';
type Runner = () => number;

/**
 * Time every contender `runs` times, taking turns (native, qemu, tslinux,
 * native, ...) so a change in the host's load during the benchmark hits
 * them all alike. `warm` contenders run once first, untimed; that first
 * time is returned too. A contender whose output is wrong is not run again.
 */
function measure(
  runs: number,
  contenders: Partial<Record<Contender, Runner>>,
  warm: Contender[] = [],
): { results: Partial<Record<Contender, Measurement>>; first: Partial<Record<Contender, number>> } {
  const active = Object.entries(contenders) as [Contender, Runner][];
  const times = new Map<Contender, number[]>(active.map(([c]) => [c, []]));
  const errors = new Map<Contender, string>();
  const first: Partial<Record<Contender, number>> = {};
  const once = (c: Contender, fn: Runner): number | null => {
    if (errors.has(c)) return null;
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof CheckFailed)) throw e;
      errors.set(c, e.message);
      return null;
    }
  };
  for (const [c, fn] of active) {
    if (!warm.includes(c)) continue;
    const t = once(c, fn);
    if (t !== null) first[c] = t;
  }
  for (let i = 0; i < runs; i++) {
    for (const [c, fn] of active) {
      const t = once(c, fn);
      if (t !== null) times.get(c)!.push(t);
    }
  }
  const results: Partial<Record<Contender, Measurement>> = {};
  for (const [c] of active) {
    const err = errors.get(c);
    results[c] = err ? { median: NaN, runs: [], error: err } : measurement(times.get(c)!);
  }
  return { results, first };
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

const HOST_ARCH: Arch | null = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : null;

/** A guest workload, runnable by all three engines. */
interface Workload {
  program: string;
  args: string[];
  /** Host directory the guest works in (mounted read-only at /bench for tslinux). */
  dir?: string;
  want: Expect;
}

interface Engines {
  arch: Arch;
  qemu: string | null;
  native: boolean;
}

function nativeCommand(w: Workload): Command {
  return { cmd: w.program, args: w.args, cwd: w.dir };
}

function qemuCommand(e: Engines, w: Workload): Command {
  return { cmd: e.qemu!, args: [w.program, ...w.args], cwd: w.dir };
}

function cliCommand(w: Workload): Command {
  const mount = w.dir ? ['--mount', `${w.dir}:/bench:ro`, '--cwd', '/bench'] : [];
  return {
    cmd: process.execPath,
    args: [CLI, 'run', '--clear-env', '--env', 'LANG=C', '--no-warn', ...mount, w.program, ...w.args],
    env: process.env,
  };
}

function inProcessOptions(w: Workload): RunOptions {
  return {
    args: w.args,
    env: { LANG: 'C' },
    ...(w.dir ? { mounts: [{ host: w.dir, guest: '/bench', readOnly: true }], cwd: '/bench' } : {}),
  };
}

/** The runners for one workload: native and qemu when they apply, tslinux in-process, and the CLI if asked. */
/** Run `fn` with every process of its kernels on a new CPU engine (TSLINUX_NO_ENGINE_SHELF, read when a kernel is made). */
function withoutEngineShelf<T>(fn: () => T): T {
  const before = process.env.TSLINUX_NO_ENGINE_SHELF;
  process.env.TSLINUX_NO_ENGINE_SHELF = '1';
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.TSLINUX_NO_ENGINE_SHELF;
    else process.env.TSLINUX_NO_ENGINE_SHELF = before;
  }
}

function contenders(e: Engines, w: Workload, cli: boolean, inProcess = true): Partial<Record<Contender, Runner>> {
  const c: Partial<Record<Contender, Runner>> = {};
  if (e.native) c.native = () => timeProcess(nativeCommand(w), w.want);
  if (e.qemu) c.qemu = () => timeProcess(qemuCommand(e, w), w.want);
  if (inProcess) c.tslinux = () => timeInProcess(w.program, inProcessOptions(w), w.want);
  if (cli) c.cli = () => timeProcess(cliCommand(w), w.want);
  return c;
}

// ---- the workloads ---------------------------------------------------------------------------

const GETUID_CALLS = 1_000_000;

/** Deterministic pseudo-random bytes (xorshift32), so every run hashes the same file. */
function deterministicBytes(size: number): Buffer {
  const buf = Buffer.alloc(size);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, size >>> 2);
  let x = 0x2545f491;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return buf;
}

/** Deterministic text (words picked by xorshift32, in lines): compresses about 4:1, like real text. */
function deterministicText(size: number): Buffer {
  const words = 'the of and a to in is you that it he was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know'.split(' ');
  const buf = Buffer.alloc(size);
  let x = 0x2545f491;
  let at = 0;
  let column = 0;
  while (at < size) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const word = words[(x >>> 0) % words.length]!;
    const sep = column > 60 ? '\n' : ' ';
    column = sep === '\n' ? 0 : column + word.length + 1;
    at += buf.write(word + sep, at, 'latin1');
  }
  return buf;
}

/** n events in a measured wall time, as events per second (every run, and the median's). */
function perSecond(n: number, m: Measurement | undefined): Measurement | null {
  if (!m) return null;
  if (m.error) return { median: NaN, runs: [], error: m.error };
  return { median: n / m.median, runs: m.runs.map((t) => n / t) };
}

function fmtValue(m: Measurement | null, unit: Unit): string {
  if (!m) return '—';
  if (m.error) return 'FAIL';
  const v = m.median;
  if (unit === '/s') return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M/s` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k/s` : `${v.toFixed(0)}/s`;
  if (unit === 'ns') return v >= 10_000 ? `${(v / 1000).toFixed(1)} µs` : `${v.toFixed(0)} ns`;
  if (v < 0.001) return `${(v * 1e6).toFixed(0)} µs`;
  if (v < 1) return `${(v * 1000).toFixed(1)} ms`;
  return `${v.toFixed(2)} s`;
}

/** How many times longer a takes than b: for a rate, b's rate over a's. */
function ratio(a: Measurement | null, b: Measurement | null, unit: Unit = 's'): number | null {
  if (!a || !b || a.error || b.error || !(a.median > 0) || !(b.median > 0)) return null;
  return unit === '/s' ? b.median / a.median : a.median / b.median;
}

function fmtRatio(r: number | null): string {
  if (r === null) return '—';
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(2)}x`;
}

function printTable(rows: Row[]): void {
  const header = ['benchmark', 'arch', 'native', 'qemu', 'tslinux', 'tslinux/qemu', 'tslinux/native'];
  const body = rows.map((r) => [
    r.benchmark,
    r.arch,
    fmtValue(r.native, r.unit),
    fmtValue(r.qemu, r.unit),
    fmtValue(r.tslinux, r.unit),
    fmtRatio(ratio(r.tslinux, r.qemu, r.unit)),
    fmtRatio(ratio(r.tslinux, r.native, r.unit)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    '| ' + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
  for (const b of body) console.log(line(b));
}

/**
 * The CLI start-up row: `node -e 0` beside it, every contender's spread, and
 * peak RSS, against issue 15's targets (within 80 ms of `node -e 0`, at most
 * 100 MB).
 */
function startupRow(e: Engines, hello: Workload, nodeAlone: Command, r: Row, node: Measurement | undefined): Row {
  r.node = node ?? null;
  r.peakRssMB = {
    tslinux: peakRssMB(cliCommand(hello)),
    node: peakRssMB(nodeAlone),
    qemu: e.qemu ? peakRssMB(qemuCommand(e, hello)) : null,
    native: e.native ? peakRssMB(nativeCommand(hello)) : null,
  };
  const mb = (v: number | null | undefined): string => (v == null ? '—' : `${v.toFixed(1)} MB`);
  r.notes = [
    `tslinux ${fmtSpread(r.tslinux)}, node -e 0 ${fmtSpread(r.node)}, qemu ${fmtSpread(r.qemu)}, native ${fmtSpread(r.native)}`,
  ];
  if (r.tslinux && r.node && !r.tslinux.error && !r.node.error) {
    r.notes.push(`tslinux - node -e 0: ${fmtValue(measurement([r.tslinux.median - r.node.median]), 's')} (target: at most 80 ms)`);
  }
  if (process.env.NODE_EXTRA_CA_CERTS) {
    r.notes.push('NODE_EXTRA_CA_CERTS is set: every Node process (tslinux and node -e 0) reads those certificates at start (40 ms of CPU on the 2-core EPYC)');
  }
  r.notes.push(
    GNU_TIME
      ? `peak RSS: tslinux ${mb(r.peakRssMB.tslinux)} (target: at most 100 MB), node -e 0 ${mb(r.peakRssMB.node)}, ` +
          `qemu ${mb(r.peakRssMB.qemu)}, native ${mb(r.peakRssMB.native)}`
      : 'peak RSS: not measured (needs GNU time: apt-get install time)',
  );
  return r;
}

// ---- main ------------------------------------------------------------------------------------

/**
 * `python3 -c pass` from the root scripts/fetch-rootfs.sh builds: ld.so
 * maps and relocates python3.11's libraries (dozens of mmaps and mprotects),
 * then the interpreter starts and imports its site module. tslinux runs it
 * in-process with --root; qemu as qemu-ARCH -L ROOT (which applies the root
 * to the loader and library paths); native in a chroot of the root (root
 * only). A note instead of a row when the root is missing.
 */
function pythonStartup(e: Engines, runs: number, progress: (s: string) => void): Row | string {
  const rootfs = join(root, '.cache', 'rootfs', e.arch);
  if (!existsSync(join(rootfs, '.tslinux-rootfs'))) return `no Debian root in .cache/rootfs/${e.arch} (scripts/fetch-rootfs.sh): no python3 row`;
  const python = '/usr/bin/python3.11';
  const want: Expect = { stdout: 'ok\n' };
  const args = ['-c', 'print("ok")'];
  const c: Partial<Record<Contender, Runner>> = {};
  const canChroot = e.native && process.getuid?.() === 0 && existsSync('/usr/sbin/chroot');
  if (canChroot) c.native = () => timeProcess({ cmd: '/usr/sbin/chroot', args: [rootfs, python, ...args] }, want);
  if (e.qemu) c.qemu = () => timeProcess({ cmd: e.qemu!, args: ['-L', rootfs, join(rootfs, python), ...args] }, want);
  c.tslinux = () => timeInProcess(python, { root: rootfs, mountCwd: false, args, env: { LANG: 'C' } }, want);
  progress(`${e.arch}: python3 -c pass (dynamic)`);
  const { results } = measure(runs, c, ['native', 'qemu', 'tslinux']);
  return {
    benchmark: 'python3 -c pass (dynamic)',
    arch: e.arch,
    unit: 's',
    native: results.native ?? null,
    qemu: results.qemu ?? null,
    tslinux: results.tslinux ?? null,
    notes: ['Debian 12 python3.11 from --root; qemu with -L ROOT; native in a chroot'],
  };
}

function main(): number {
  const opts = parseArgs(process.argv.slice(2));
  const startupRuns = opts.runs ?? (opts.quick ? 3 : 10);
  const workRuns = opts.runs ?? (opts.quick ? 1 : 5);
  const shaSize = (opts.quick ? 8 : 64) << 20;
  const rows: Row[] = [];
  const notes: string[] = [];
  const unicorn = loadUnicorn();
  if (opts.cli || opts.only.has('startup-cli')) {
    // The CLI runs dist/: bring it up to date first, or the start-up row would time tsx.
    const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--js', '--if-stale'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (built.status !== 0) throw new Error('scripts/build.mjs --js failed: the CLI would not run the current sources');
  }
  const loadBefore = os.loadavg();
  if (loadBefore[0]! > 0.5) {
    process.stderr.write(`bench: the host is busy (load average ${loadBefore[0]!.toFixed(2)}); timings will be noisy\n`);
  }
  const progress = (s: string): void => {
    process.stderr.write(`bench: ${s}\n`);
  };

  if (opts.only.has('go-spawn') || opts.only.has('go-sieve')) {
    // Builds the Go guest for both arches, or does nothing when it is up to date.
    const r = spawnSync('sh', [join(root, 'scripts', 'build-go-guests.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) notes.push('scripts/build-go-guests.sh failed: the Go benchmarks use whatever is in .cache/go');
  }

  const tmp = mkdtempSync(join(os.tmpdir(), 'tslinux-bench-'));
  try {
    let shaFile: { dir: string; name: string; digest: string } | null = null;
    if (opts.only.has('sha256sum')) {
      const bytes = deterministicBytes(shaSize);
      writeFileSync(join(tmp, 'data.bin'), bytes);
      shaFile = { dir: tmp, name: 'data.bin', digest: createHash('sha256').update(bytes).digest('hex') };
    }
    let gzFile: { dir: string; name: string; bytes: Buffer } | null = null;
    if (opts.only.has('gzip')) {
      const bytes = deterministicText(shaSize);
      writeFileSync(join(tmp, 'text.txt'), bytes);
      gzFile = { dir: tmp, name: 'text.txt', bytes };
    }

    for (const arch of opts.arches) {
      const qemuName = `qemu-${arch}`;
      const e: Engines = { arch, qemu: which(qemuName), native: HOST_ARCH === arch };
      if (!e.qemu) notes.push(`${qemuName} not found: no qemu column for ${arch}`);
      const guest = (name: string): string => join(root, 'guest-binaries', arch, name);
      const row = (benchmark: string, r: Partial<Record<Contender, Measurement>>, tslinux: Contender = 'tslinux'): Row => ({
        benchmark,
        arch,
        unit: 's',
        native: r.native ?? null,
        qemu: r.qemu ?? null,
        tslinux: r[tslinux] ?? null,
      });

      // -- start-up (also the baseline for the per-syscall cost)
      const hello: Workload = { program: guest('hello'), args: [], want: { stdout: 'hello, world\n' } };
      let helloRuns: Partial<Record<Contender, Measurement>> = {};
      const wantInProcess = opts.only.has('startup-inproc') || opts.only.has('getuid');
      if (opts.only.has('startup-cli') || wantInProcess) {
        progress(`${arch}: hello start-up`);
        const c = contenders(e, hello, opts.only.has('startup-cli'), wantInProcess);
        // The CLI's environment: what Node reads at start (NODE_OPTIONS, NODE_EXTRA_CA_CERTS) costs both alike.
        const nodeAlone: Command = { cmd: process.execPath, args: ['-e', '0'], env: process.env };
        if (opts.only.has('startup-cli')) c.node = () => timeProcess(nodeAlone, { stdout: '' });
        // Everyone runs once untimed first: the page cache, V8's JIT.
        const m = measure(startupRuns, c, ['native', 'qemu', 'tslinux', 'cli', 'node']);
        helloRuns = m.results;
        if (opts.only.has('startup-cli')) rows.push(startupRow(e, hello, nodeAlone, row('startup: tslinux run hello', m.results, 'cli'), m.results.node));
        if (opts.only.has('startup-inproc')) {
          const r = row('hello start-up (in-process)', m.results);
          if (m.first.tslinux !== undefined) {
            r.notes = [`first in-process run for this arch (cold JIT, Unicorn set-up): ${fmtValue(measurement([m.first.tslinux]), 's')}`];
          }
          rows.push(r);
        }
      }

      // -- syscall-bound
      if (opts.only.has('getuid')) {
        const loop: Workload = {
          program: guest('getuid_loop'),
          args: [String(GETUID_CALLS)],
          want: { stdout: `getuid calls: ${GETUID_CALLS}\nall equal: yes\n` },
        };
        progress(`${arch}: getuid_loop ${GETUID_CALLS}`);
        const { results } = measure(workRuns, contenders(e, loop, opts.cli));
        const name = `getuid x${GETUID_CALLS / 1e6}M`;
        rows.push(row(name, results));
        if (opts.cli) rows.push(row(`${name} (cli)`, results, 'cli'));
        const perCall = (total: Measurement | undefined, base: Measurement | undefined): Measurement | null => {
          if (!total || !base) return null;
          if (total.error || base.error) return { median: NaN, runs: [], error: total.error ?? base.error };
          return { median: ((total.median - base.median) / GETUID_CALLS) * 1e9, runs: [] };
        };
        rows.push({
          benchmark: 'getuid ns/call',
          arch,
          unit: 'ns',
          native: perCall(results.native, helloRuns.native),
          qemu: perCall(results.qemu, helloRuns.qemu),
          tslinux: perCall(results.tslinux, helloRuns.tslinux),
          notes: [`(${name} - hello) / ${GETUID_CALLS}, both timed the same way`],
        });
      }

      // -- CPU- and memory-bound
      if (opts.only.has('sieve')) {
        const passes = [1, 2, 3].map((i) => `pass ${i}: 1270607 primes below 20000000\n`).join('');
        const sieve: Workload = { program: guest('sieve'), args: [], want: { stdout: passes } };
        progress(`${arch}: sieve`);
        const { results } = measure(workRuns, contenders(e, sieve, opts.cli));
        rows.push(row('sieve', results));
        if (opts.cli) rows.push(row('sieve (cli)', results, 'cli'));
      }
      if (opts.only.has('preempt-cost')) {
        // The same CLI run with the block stop (a native call per translated
        // block; slices; a TLB flush per slice) and without (TSLINUX_NO_BLOCK_STOP).
        const passes = [1, 2, 3].map((i) => `pass ${i}: 1270607 primes below 20000000\n`).join('');
        const sieve: Workload = { program: guest('sieve'), args: [], want: { stdout: passes } };
        const off = cliCommand(sieve);
        off.env = { ...process.env, TSLINUX_NO_BLOCK_STOP: '1' };
        progress(`${arch}: sieve through the CLI, pre-emption on and off`);
        const c = contenders(e, sieve, false, false);
        c.tslinux = () => timeProcess(off, sieve.want);
        c.cli = () => timeProcess(cliCommand(sieve), sieve.want);
        const m = measure(workRuns, c);
        rows.push(row('sieve, pre-emption off (cli)', m.results));
        rows.push(row('sieve, pre-emption on (cli)', m.results, 'cli'));
      }

      // -- processes: a shell loop, a pipe, fork+exec+wait
      const busyboxPath = join(root, '.cache', 'debian', 'bin', arch, 'busybox');
      if ((opts.only.has('spawn') || opts.only.has('pipe') || opts.only.has('net-stream')) && existsSync(busyboxPath)) {
        // A directory with busybox and applet links next to it, the same for the guest (/bench) and natively.
        const dir = mkdtempSync(join(tmp, `sh-${arch}-`));
        copyFileSync(busyboxPath, join(dir, 'busybox'));
        chmodSync(join(dir, 'busybox'), 0o755);
        for (const applet of ['sh', 'true', 'cat', 'wc', 'nc', 'mkfifo', 'rm']) symlinkSync('busybox', join(dir, applet));
        const noQemu: Engines = { ...e, qemu: null };
        const shell = (script: string, want: Expect): Workload => ({ program: join(dir, 'busybox'), args: ['sh', '-c', script], dir, want });
        const inGuest = (w: Workload): Workload => ({ ...w, args: w.args.map((a) => a.replaceAll(dir, '/bench')) });
        const run = (label: string, w: Workload, extra: RunOptions = {}, shelfOff = false): void => {
          progress(`${arch}: ${label}`);
          const c = contenders(noQemu, w, opts.cli && !shelfOff);
          const g = inGuest(w);
          c.tslinux = () => timeInProcess(g.program, { ...inProcessOptions(g), ...extra }, g.want);
          // Beside it, the same with every process on a new engine (in the cli column's place).
          if (shelfOff) c.cli = () => withoutEngineShelf(() => timeInProcess(g.program, { ...inProcessOptions(g), ...extra }, g.want));
          const { results } = measure(workRuns, c);
          rows.push(row(label, results));
          if (shelfOff) rows.push(row(`${label}, engine reuse off`, results, 'cli'));
        };
        if (opts.only.has('spawn')) {
          run('shell spawn x500', shell(`i=0; while [ $i -lt 500 ]; do ${dir}/true; i=$((i+1)); done; echo $i`, { stdout: '500\n' }), {}, true);
        }
        if (opts.only.has('pipe')) {
          const size = (opts.quick ? 8 : 200) << 20;
          writeFileSync(join(dir, 'pipe.bin'), deterministicBytes(size));
          run(`pipe ${size >> 20} MB through cat`, shell(`${dir}/cat ${dir}/pipe.bin | ${dir}/cat | ${dir}/wc -c`, { stdout: new RegExp(`^\\s*${size}\\n$`) }));
        }
        if (opts.only.has('net-stream')) {
          const size = (opts.quick ? 8 : 32) << 20;
          writeFileSync(join(dir, 'stream.bin'), deterministicBytes(size));
          // The receiver's stdin is a FIFO held open (busybox nc half-closes when its stdin ends);
          // the sender tries until the receiver listens. A port per arch, never two runs at once, below
          // the ephemeral range (32768-60999): a sender's own port can never be it, so it cannot connect to itself.
          const port = arch === 'x86_64' ? 20211 : 20212;
          const ctl = `/tmp/tslinux-bench-ctl-${arch}`;
          const script = [
            `${dir}/rm -f ${ctl}; ${dir}/mkfifo ${ctl}`,
            `${dir}/nc -l -p ${port} < ${ctl} | ${dir}/wc -c &`,
            `exec 3> ${ctl}`,
            `until ${dir}/nc 127.0.0.1 ${port} < ${dir}/stream.bin 2>/dev/null; do :; done`,
            `wait; exec 3>&-; ${dir}/rm ${ctl}`,
          ].join('\n');
          run(`tcp stream ${size >> 20} MB (--net host)`, shell(script, { stdout: new RegExp(`^\\s*${size}\\n$`) }), { net: 'host' });
        }
      }
      if (opts.only.has('forkexec')) {
        const dir = mkdtempSync(join(tmp, `fe-${arch}-`));
        copyFileSync(guest('forkexec'), join(dir, 'forkexec'));
        chmodSync(join(dir, 'forkexec'), 0o755);
        const n = opts.quick ? 100 : 1000;
        const w: Workload = { program: join(dir, 'forkexec'), args: [String(n)], dir, want: { stdout: new RegExp(`exec loop: ${n} of ${n} children`) } };
        progress(`${arch}: fork+exec+wait x${n}`);
        const c = contenders({ ...e, qemu: null }, w, false);
        // forkexec writes scratch files, so its directory is mounted writable.
        const inProcess = (): number =>
          timeInProcess(w.program, { ...inProcessOptions(w), mounts: [{ host: dir, guest: '/bench' }], argv0: '/bench/forkexec' }, w.want);
        c.tslinux = inProcess;
        c.cli = () => withoutEngineShelf(inProcess);
        const { results } = measure(workRuns, c);
        rows.push(row(`fork+exec+wait x${n}`, results));
        rows.push(row(`fork+exec+wait x${n}, engine reuse off`, results, 'cli'));
      }

      // -- a dynamically linked program from a Debian root
      if (opts.only.has('python')) {
        const r = pythonStartup(e, workRuns, progress);
        if (typeof r === 'string') notes.push(r);
        else rows.push(r);
      }

      // -- threads: a futex ping-pong; Go: many goroutines, a CPU-bound sieve
      if (opts.only.has('futex')) {
        const n = opts.quick ? 20_000 : 100_000;
        const w: Workload = {
          program: guest('futex_pingpong'),
          args: [String(n)],
          want: { stdout: `round trips: ${n}\npings: ${n} pongs: ${n} final turn: ping\n` },
        };
        progress(`${arch}: futex ping-pong x${n}`);
        const { results } = measure(workRuns, contenders(e, w, opts.cli));
        rows.push(row(`futex ping-pong x${n / 1000}k`, results));
        rows.push({
          benchmark: 'futex round trips/s',
          arch,
          unit: '/s',
          native: perSecond(n, results.native),
          qemu: perSecond(n, results.qemu),
          tslinux: perSecond(n, results.tslinux),
          notes: [`${n} round trips / wall time, start-up included`],
        });
      }
      const gocheck = join(root, '.cache', 'go', arch, 'gocheck');
      const goCase = (only: BenchName, label: string, args: string[], stdout: string): void => {
        if (!opts.only.has(only)) return;
        if (!existsSync(gocheck)) {
          notes.push(`${gocheck} missing (scripts/build-go-guests.sh needs Debian's golang-go): no ${label} for ${arch}`);
          return;
        }
        progress(`${arch}: ${label}`);
        const w: Workload = { program: gocheck, args, want: { stdout } };
        const { results } = measure(workRuns, contenders(e, w, opts.cli));
        rows.push(row(label, results));
        if (opts.cli) rows.push(row(`${label} (cli)`, results, 'cli'));
      };
      goCase('go-spawn', 'go spawn x10000', ['spawn', '10000'], 'goroutines: 10000 sum: 49995000\n');
      goCase('go-sieve', 'go sieve 10M', ['sieve', '10000000'], 'primes below 10000000 : 664579\n');
      if (opts.only.has('net-connects') && existsSync(gocheck)) {
        const n = opts.quick ? 50 : 200;
        const want = { stdout: new RegExp(`^${n} clients echoed \\d+ bytes\\n$`) };
        const w: Workload = { program: gocheck, args: ['tcpecho', String(n)], want };
        for (const net of ['host', 'none'] as const) {
          const label = `go tcpecho x${n} (--net ${net})`;
          progress(`${arch}: ${label}`);
          const c = contenders(e, w, false);
          c.tslinux = () => timeInProcess(w.program, { ...inProcessOptions(w), net }, w.want);
          rows.push(row(label, measure(workRuns, c).results));
        }
      }

      // -- busybox sha256sum
      if (shaFile) {
        const busybox = join(root, '.cache', 'debian', 'bin', arch, 'busybox');
        if (!existsSync(busybox)) {
          notes.push(`${busybox} missing (npm run fetch:debian-bins): no sha256sum for ${arch}`);
        } else {
          const w: Workload = {
            program: busybox,
            args: ['sha256sum', shaFile.name],
            dir: shaFile.dir,
            want: { stdout: `${shaFile.digest}  ${shaFile.name}\n` },
          };
          progress(`${arch}: busybox sha256sum ${shaSize >> 20} MB`);
          const { results } = measure(workRuns, contenders(e, w, opts.cli));
          const name = `sha256sum ${shaSize >> 20} MB`;
          rows.push(row(name, results));
          if (opts.cli) rows.push(row(`${name} (cli)`, results, 'cli'));
        }
      }

      // -- busybox gzip
      if (gzFile) {
        const busybox = join(root, '.cache', 'debian', 'bin', arch, 'busybox');
        if (!existsSync(busybox)) {
          notes.push(`${busybox} missing (npm run fetch:debian-bins): no gzip for ${arch}`);
        } else {
          const input = gzFile.bytes;
          const w: Workload = {
            program: busybox,
            args: ['gzip', '-c', gzFile.name],
            dir: gzFile.dir,
            want: { stdout: (out) => gunzipSync(out).equals(input) },
          };
          progress(`${arch}: busybox gzip ${shaSize >> 20} MB`);
          const { results } = measure(workRuns, contenders(e, w, opts.cli));
          const name = `gzip ${shaSize >> 20} MB`;
          rows.push(row(name, results));
          if (opts.cli) rows.push(row(`${name} (cli)`, results, 'cli'));
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  console.log();
  printTable(rows);
  console.log();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Medians of ${startupRuns} start-up / ${workRuns} workload runs. Host: ${cpu}, ${os.cpus().length} CPUs, ${process.platform}-${process.arch}, ` +
      `Node ${process.version}, Unicorn ${unicorn.version.major}.${unicorn.version.minor}.${unicorn.version.patch}.`,
  );
  const loadAfter = os.loadavg();
  console.log(`Load average (1 min) at start ${loadBefore[0]!.toFixed(2)}, at end ${loadAfter[0]!.toFixed(2)}.`);
  console.log('native and qemu are whole processes (spawn to exit). tslinux: workloads in-process (runSync), start-up both ways.');
  console.log('The ratio columns say how many times longer tslinux takes (for a rate: how many times fewer per second).');
  for (const r of rows) for (const n of r.notes ?? []) console.log(`${r.benchmark} (${r.arch}): ${n}`);
  for (const n of notes) console.log(n);
  const failures = rows.flatMap((r) =>
    (['native', 'qemu', 'tslinux'] as Engine[]).flatMap((eng) => (r[eng]?.error ? [`${r.benchmark} ${r.arch} ${eng}: ${r[eng]!.error}`] : [])),
  );
  for (const f of failures) console.log(`FAIL ${f}`);

  if (opts.json) {
    const report = {
      date: new Date().toISOString(),
      quick: opts.quick,
      runs: { startup: startupRuns, workload: workRuns },
      host: {
        cpu,
        cpus: os.cpus().length,
        platform: process.platform,
        arch: process.arch,
        node: process.version,
        loadavg: { start: loadBefore, end: loadAfter },
      },
      unicorn: { path: unicorn.path, version: unicorn.version },
      results: rows.map((r) => ({
        ...r,
        ratios: { tslinuxOverQemu: ratio(r.tslinux, r.qemu, r.unit), tslinuxOverNative: ratio(r.tslinux, r.native, r.unit) },
      })),
      notes,
    };
    writeFileSync(opts.json, JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
    console.log(`results written to ${opts.json}`);
  }
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = main();
