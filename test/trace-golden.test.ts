// Golden traces: the real strace against tslinux's trace of the same guest.
//
// Each x86-64 guest runs natively under `strace -f -o FILE` and under
// `tslinux run -f -a 40 -o FILE`, each in a fresh empty directory (some
// cases add -y, and send stdout to a file so that -y has one to name).
// Both traces are normalised (pids, addresses, times, the inode/device/time
// fields of stat structs, alignment padding, strace's "<unfinished ...>" /
// "<... resumed>" halves joined) and each process's and thread's lines are
// compared in turn, so that the order in which two tasks happened to run
// does not matter. Every remaining difference must be listed, with its
// reason, in test/fixtures/strace/known-differences.json; an unlisted
// difference fails, and so does a listed one that no longer occurs. The -c
// tables are compared for layout (header, rules, column positions), not
// numbers.
//
// The sigtrace cases (guest-binaries/src/sigtrace.c) cover signals and
// calls that do not return: "--- SIGxxx {...} ---" lines, "+++ exited with
// N +++" and "+++ killed by SIGxxx +++" per process and thread,
// rt_sigreturn, an interrupted call ("= ? ERESTARTNOHAND"), a call whose
// thread died ("= ?"), and a seccomp filter's TRAP, ERRNO and KILL_PROCESS
// (installed by the guest natively; given to tslinux with --policy). Their
// aarch64 build is traced too, and its signal lines must have the shape of
// the x86-64 ones.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { optionalCommand } from './helpers/tools.ts';
import { CLI, ROOT, canRunNative, guestPath, makeTempDir, removeTempDir, runCli, type GuestArch } from './helpers/e2e.ts';

interface GoldenCase {
  /** What known-differences.json's "programs" name. */
  name: string;
  program: string;
  args?: string[];
  /** Options for both tracers besides -f -o FILE. */
  traceArgs?: string[];
  /** tslinux only: a --policy file in test/fixtures/strace, standing for the seccomp filter the guest installs natively. */
  policy?: string;
  /** Lines left out of both traces: calls a guest repeats a number of times that depends on scheduling. */
  ignore?: RegExp;
  /** stdout goes to a file in the run's directory (what -y names for fd 1); otherwise a pipe. */
  stdoutToFile?: boolean;
}

const CASES: GoldenCase[] = [
  ...['hello', 'fileio', 'stat', 'dirents', 'errors', 'mmap'].map((name) => ({ name, program: name })),
  { name: 'fileio -y', program: 'fileio', traceArgs: ['-y'], stdoutToFile: true },
  // Where a child's SIGCHLD and the parent's wait4 fall among the parent's calls depends on scheduling.
  { name: 'sockets', program: 'sockets', ignore: /^P0 (--- SIGCHLD |wait4\()/ },
  { name: 'sockets inet', program: 'sockets', args: ['inet'], ignore: /^P0 (--- SIGCHLD |wait4\()/ },
  { name: 'sigtrace deliver', program: 'sigtrace', args: ['deliver'], traceArgs: ['-y'], stdoutToFile: true },
  { name: 'sigtrace children', program: 'sigtrace', args: ['children'] },
  { name: 'sigtrace stop', program: 'sigtrace', args: ['stop'] },
  { name: 'sigtrace timer', program: 'sigtrace', args: ['timer'] },
  { name: 'sigtrace threads', program: 'sigtrace', args: ['threads'], ignore: /^P\d+ (sched_yield\(|futex\(0xADDR, FUTEX_CMP_REQUEUE,|tgkill\(P0, P1, 0\))/ },
  { name: 'sigtrace seccomp', program: 'sigtrace', args: ['seccomp'], policy: 'sigtrace-policy.json' },
];

const SIGTRACE_MODES = CASES.filter((c) => c.program === 'sigtrace');

const hasStrace = optionalCommand('strace', 'apt-get install strace') !== null;
const skipReason = !hasStrace
  ? ' (skipped: `which strace` failed, so there is no strace to compare with)'
  : !canRunNative
    ? ' (skipped: the guests are x86-64 and this host cannot run them natively)'
    : '';

interface KnownDifference {
  /** Cases it applies to, or ["*"]. */
  programs: string[];
  /** A regex the normalised strace line matches, or null: the line exists only in tslinux's trace. */
  strace: string | null;
  /** A regex the normalised tslinux line matches, or null: the line exists only in strace's trace. */
  tslinux: string | null;
  reason: string;
}

const KNOWN: KnownDifference[] = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'strace', 'known-differences.json'), 'utf8'),
).differences;

// ---- normalisation -------------------------------------------------------------------------------

const UNFINISHED = ' <unfinished ...>';

/**
 * strace -f splits a call another task's line interrupted into
 * "read(3,  <unfinished ...>" and later "<... read resumed>"..."= 1"; the
 * two halves are joined into the line strace prints when nothing comes
 * between them. Each line is [pid, text].
 */
function joinResumed(lines: [string, string][]): [string, string][] {
  const open = new Map<string, number>();
  const out: ([string, string] | null)[] = [...lines];
  lines.forEach(([pid, text], i) => {
    const resumed = /^<\.\.\. \S+ resumed>(.*)$/.exec(text);
    const at = open.get(pid);
    if (resumed && at !== undefined) {
      out[at] = [pid, out[at]![1] + resumed[1]];
      out[i] = null;
      open.delete(pid);
    } else if (text.endsWith(UNFINISHED)) {
      out[i] = [pid, text.slice(0, -UNFINISHED.length)];
      open.set(pid, i);
    }
  });
  return out.filter((l): l is [string, string] => l !== null);
}

/**
 * One trace as comparable lines, each task's in turn: its pid becomes
 * P0, P1... in the order the tasks first appear (and so do pids as
 * arguments, results and siginfo fields), addresses 0xADDR, -T times
 * <TIME>, stat's inode/device/time fields and a child's CPU times ?, the
 * run's directory $DIR, pipe inodes N, and one space before the result's
 * " = " (strace pads to column 40; the pid prefixes and addresses differ
 * in width).
 */
export function normalise(text: string, dir = '', ignore?: RegExp): string[] {
  const raw = text.split('\n').filter((l) => l !== '');
  const split = raw.map((l): [string, string] => {
    const m = /^(\d+) +(.*)$/.exec(l);
    return m ? [m[1]!, m[2]!] : ['', l];
  });
  const order: string[] = [];
  for (const [pid] of split) if (pid && !order.includes(pid)) order.push(pid);
  const name = (pid: string): string | undefined => (order.includes(pid) ? `P${order.indexOf(pid)}` : undefined);
  const pidsAt = (s: string, re: RegExp): string => s.replace(re, (all, head: string, n: string) => (name(n) ? head + name(n) : all));
  const lines = joinResumed(split).map(([pid, body]) => {
    let s = body;
    if (dir) s = s.split(dir).join('$DIR');
    s = s.replace(/0x[0-9a-f]+/g, '0xADDR');
    s = s.replace(/<\d+\.\d+>/g, '<TIME>');
    s = s.replace(/pipe:\[\d+\]/g, 'pipe:[N]');
    // Ephemeral ports (ip_local_port_range) are random on Linux, sequential in tslinux.
    s = s.replace(/htons\((3[2-9]\d{3}|[45]\d{4}|60\d{3})\)/g, 'htons(EPHEMERAL)');
    // The sockets guest names its abstract socket after its pid.
    s = s.replace(/tslinux-sockets-\d+/g, 'tslinux-sockets-PID');
    s = s.replace(/\b(st_ino|st_dev|st_nlink|st_blksize|st_blocks|stx_ino|stx_dev_major|stx_dev_minor|stx_blocks|stx_blksize)=[^,}]+/g, '$1=?');
    s = s.replace(/\b(st_atime|st_mtime|st_ctime|stx_atime|stx_btime|stx_ctime|stx_mtime)=(\{[^}]*\}|[^,}]+)/g, '$1=?');
    s = s.replace(/\b(st_atime_nsec|st_mtime_nsec|st_ctime_nsec)=\d+/g, '$1=?');
    s = s.replace(/\b(si_utime|si_stime)=\d+/g, '$1=?');
    // Pids: as results (fork, getpid, wait4...), in siginfo, and as the first arguments of the calls that take one.
    s = pidsAt(s, /(= )(\d+)$/);
    s = pidsAt(s, /(\b(?:si_pid|pid)=)(\d+)/g);
    s = pidsAt(s, /(\b(?:kill|tkill|tgkill|wait4|rt_sigqueueinfo|rt_tgsigqueueinfo)\()(\d+)/);
    s = pidsAt(s, /(\btgkill\(P\d+, )(\d+)/);
    s = pidsAt(s, /(parent_tid=\[)(\d+)/);
    // The padding before the result.
    s = s.replace(/ += ((?:(?! = ).)*)$/, ' = $1');
    return `${name(pid) ?? 'P?'} ${s}`;
  });
  const kept = ignore ? lines.filter((l) => !ignore.test(l)) : lines;
  // Each task's lines together, tasks in the order they first appeared.
  return [...kept].sort((a, b) => Number(a.slice(1, a.indexOf(' '))) - Number(b.slice(1, b.indexOf(' '))));
}

/** Hunks of a line diff (longest common subsequence): each pairs strace-only lines with tslinux-only lines. */
function diffHunks(a: string[], b: string[]): { strace: string[]; tslinux: string[] }[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const hunks: { strace: string[]; tslinux: string[] }[] = [];
  let cur: { strace: string[]; tslinux: string[] } | null = null;
  let i = 0;
  let j = 0;
  const open = (): { strace: string[]; tslinux: string[] } => (cur ??= { strace: [], tslinux: [] });
  const close = (): void => {
    if (cur) hunks.push(cur);
    cur = null;
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      close();
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) open().tslinux.push(b[j++]!);
    else open().strace.push(a[i++]!);
  }
  close();
  return hunks;
}

function matches(pattern: string | null, line: string | null): boolean {
  if (pattern === null || line === null) return pattern === line;
  return new RegExp(pattern).test(line);
}

const used = new Set<number>();

/** The differences no known-differences.json entry explains. */
function unexplained(program: string, strace: string[], tslinux: string[]): string[] {
  const problems: string[] = [];
  for (const h of diffHunks(strace, tslinux)) {
    for (let k = 0; k < Math.max(h.strace.length, h.tslinux.length); k++) {
      const s = h.strace[k] ?? null;
      const t = h.tslinux[k] ?? null;
      const at = KNOWN.findIndex(
        (d) => (d.programs.includes('*') || d.programs.includes(program)) && matches(d.strace, s) && matches(d.tslinux, t),
      );
      if (at >= 0) used.add(at);
      else problems.push(`strace:  ${s ?? '(no line)'}\ntslinux: ${t ?? '(no line)'}`);
    }
  }
  return problems;
}

// ---- runs -------------------------------------------------------------------------------------------

interface Run {
  trace: string;
  /** The run's directory, which -y paths and stdout's file are below. */
  dir: string;
}

/** Run a command in a fresh directory (`dir/w`, empty), its trace written to `dir/trace`; the directory is removed after. */
async function traced(c: GoldenCase, command: (trace: string) => string[], what: string): Promise<Run> {
  const dir = makeTempDir();
  try {
    const trace = path.join(dir, 'trace');
    const work = path.join(dir, 'w');
    fs.mkdirSync(work);
    const stdout = c.stdoutToFile ? fs.openSync(path.join(dir, 'stdout.txt'), 'w') : 'pipe';
    const [cmd, ...args] = command(trace);
    const child = spawn(cmd!, args, { cwd: work, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, stdio: ['ignore', stdout, 'pipe'] });
    if (typeof stdout === 'number') fs.closeSync(stdout);
    const err: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.stdout?.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`${what} ${c.name} failed (${code}): ${Buffer.concat(err).toString()}`);
    return { trace: fs.readFileSync(trace, 'utf8'), dir };
  } finally {
    removeTempDir(dir);
  }
}

/** The guest natively under strace; no core files (a guest dies of SIGSEGV), as tslinux's default RLIMIT_CORE. */
function runStrace(c: GoldenCase): Promise<Run> {
  const guest = guestPath('x86_64', c.program);
  const straceArgs = ['-f', ...(c.traceArgs ?? [])];
  return traced(c, (out) => ['sh', '-c', 'ulimit -c 0; exec strace "$@"', 'sh', ...straceArgs, '-o', out, guest, ...(c.args ?? [])], 'strace');
}

function runTslinux(c: GoldenCase, arch: GuestArch = 'x86_64'): Promise<Run> {
  const policy = c.policy ? ['--policy', path.join(ROOT, 'test', 'fixtures', 'strace', c.policy)] : [];
  const args = ['run', '-f', '-a', '40', ...(c.traceArgs ?? []), ...policy];
  return traced(c, (out) => [process.execPath, CLI, ...args, '-o', out, guestPath(arch, c.program), ...(c.args ?? [])], 'tslinux');
}

/** The -c table of a run (strace's on its own, without -f). */
async function summaryTable(program: string, tracer: 'strace' | 'tslinux'): Promise<string> {
  const dir = makeTempDir();
  try {
    const out = path.join(dir, 'table');
    const work = path.join(dir, 'w');
    fs.mkdirSync(work);
    const env = { PATH: '/usr/bin:/bin', LANG: 'C' };
    if (tracer === 'strace') {
      const r = spawnSync('strace', ['-c', '-o', out, guestPath('x86_64', program)], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`strace -c ${program} failed (${r.status}): ${r.stderr.toString()}`);
    } else {
      const r = await runCli(['run', '-c', '-o', out, guestPath('x86_64', program)], { cwd: work, env });
      if (r.code !== 0) throw new Error(`tslinux -c ${program} failed (${r.code}): ${r.stderr}`);
    }
    return fs.readFileSync(out, 'utf8');
  } finally {
    removeTempDir(dir);
  }
}

/**
 * Start a run soon and await it later (its failure is reported where it is
 * awaited). At most RUNS_AT_ONCE run together: each is a Node process,
 * and the first tests should not wait for all of them.
 */
const RUNS_AT_ONCE = 4;
let running = 0;
const queue: (() => void)[] = [];
function started<T>(run: () => Promise<T>): Promise<T> {
  const p = new Promise<void>((go) => (running < RUNS_AT_ONCE ? (running++, go()) : queue.push(go)))
    .then(run)
    .finally(() => {
      const next = queue.shift();
      if (next) next();
      else running--;
    });
  p.catch(() => {});
  return p;
}

// ---- the tests ----------------------------------------------------------------------------------------

describe.skipIf(skipReason !== '')(`golden traces against strace${skipReason}`, () => {
  const tslinuxTraces = new Map<string, Promise<Run>>();
  const tslinuxTables = new Map<string, Promise<string>>();
  const aarch64Traces = new Map<string, Promise<Run>>();
  const compared = new Set<string>();
  beforeAll(() => {
    // The CLI runs start together (each pays Node's start-up); the tests await them in turn.
    for (const c of CASES) tslinuxTraces.set(c.name, started(() => runTslinux(c)));
    for (const p of ['fileio', 'errors']) tslinuxTables.set(p, started(() => summaryTable(p, 'tslinux')));
    for (const c of SIGTRACE_MODES) aarch64Traces.set(c.name, started(() => runTslinux(c, 'aarch64')));
  });

  for (const c of CASES) {
    it(`${c.name}: every difference from strace -f is known`, async () => {
      const theirs = await runStrace(c);
      const mine = await tslinuxTraces.get(c.name)!;
      const strace = normalise(theirs.trace, theirs.dir, c.ignore);
      const ours = normalise(mine.trace, mine.dir, c.ignore);
      expect(ours.length).toBeGreaterThan(3);
      const problems = unexplained(c.name, strace, ours);
      expect(problems, `unexplained differences for ${c.name}:\n${problems.join('\n\n')}`).toEqual([]);
      compared.add(c.name);
    });
  }

  for (const program of ['fileio', 'errors'] as const) {
    it(`${program}: the -c table has strace's layout`, async () => {
      const theirs = (await summaryTable(program, 'strace')).split('\n').filter(Boolean);
      const ours = (await tslinuxTables.get(program)!).split('\n').filter(Boolean);
      // Header and rules are the same text (the widths depend only on the names and number sizes here).
      expect(ours[0]).toBe(theirs[0]);
      expect(ours[1]).toBe(theirs[1]);
      expect(ours[ours.length - 2]).toBe(theirs[theirs.length - 2]);
      // Every row keeps to the columns the rule draws: separators are spaces, numbers right-aligned.
      const rule = theirs[1]!;
      const seps = [...rule].flatMap((c, i) => (c === ' ' ? [i] : []));
      const cell = /^(?: {0,5}\d{1,3}\.\d\d) (?: *\d+\.\d{6}) (?: *\d+) (?: *\d+) (?: *\d*) (\S+)$/;
      for (const table of [theirs, ours]) {
        for (const row of [...table.slice(2, -2), table[table.length - 1]!]) {
          for (const s of seps) expect(row[s], `column separator at ${s} in "${row}"`).toBe(' ');
          expect(row).toMatch(cell);
          expect(row.slice(0, seps[0])).toMatch(/^ *\d+\.\d\d$/);
        }
      }
      // The same calls are counted, but for the initial execve (strace only: tslinux loads the program itself).
      const names = (t: string[]): string[] => t.slice(2, -2).map((r) => cell.exec(r)![1]!).sort();
      expect(names(ours)).toEqual(names(theirs).filter((n) => n !== 'execve'));
      expect(ours[ours.length - 1]).toMatch(/ total$/);
    });
  }

  /**
   * The lines about signals and ends: "---" and "+++" lines, rt_sigreturn,
   * calls that did not return or were interrupted, and the calls the policy
   * answers. What differs between the arches by design is made equal: si_arch,
   * and the register a trapped umask leaves (checked on its own below).
   */
  const signalShape = (lines: string[]): string[] =>
    lines
      .filter((l) => /^P\d+ (---|\+\+\+|rt_sigreturn\(|umask\(|getpgid\(|getppid\()|= \?|ERESTART/.test(l))
      .map((l) => l.replace(/AUDIT_ARCH_(X86_64|AARCH64)/, 'AUDIT_ARCH').replace(/^(P\d+ (?:umask\(022\)|getppid\(\))) = \d+$/, '$1 = REG'));

  for (const c of SIGTRACE_MODES) {
    it(`${c.name}: the aarch64 build's signal lines have the x86-64 shape`, async () => {
      const x86 = await tslinuxTraces.get(c.name)!;
      const arm = await aarch64Traces.get(c.name)!;
      const x = normalise(x86.trace, x86.dir, c.ignore);
      const a = normalise(arm.trace, arm.dir, c.ignore);
      expect(signalShape(x).length).toBeGreaterThan(2);
      if (c.args?.[0] === 'seccomp') {
        // seccomp(2) rolls the registers back when it traps or kills a call: x86-64's rax holds
        // the syscall number (umask 95 = 0137, getppid 110), arm64's x0 the first argument (022, 0);
        // rt_sigreturn restores that value.
        expect(x).toEqual(expect.arrayContaining(['P0 umask(022) = 0137', 'P0 rt_sigreturn({mask=[]}) = 95', 'P1 getppid() = 110']));
        expect(a).toEqual(expect.arrayContaining(['P0 umask(022) = 022', 'P0 rt_sigreturn({mask=[]}) = 18', 'P1 getppid() = 0']));
        const rolledBack = (l: string[]): string[] => signalShape(l).map((s) => s.replace(/^(P0 rt_sigreturn\(\{mask=\[\]\}\)) = (95|18)$/, '$1 = REG'));
        expect(rolledBack(a)).toEqual(rolledBack(x));
        return;
      }
      expect(signalShape(a)).toEqual(signalShape(x));
    });
  }

  it('every listed known difference still occurs', ({ skip }) => {
    if (compared.size !== CASES.length) skip('a case failed its comparison above');
    // Listed differences that no program showed are stale: fixed, or mis-described.
    const stale = KNOWN.filter((_, i) => !used.has(i)).map((d) => d.reason);
    expect(stale, 'known differences that did not occur').toEqual([]);
  });
});
