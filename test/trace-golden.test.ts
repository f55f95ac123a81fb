// Golden traces: the real strace against tslinux's trace of the same guest.
//
// Each x86-64 guest runs natively under `strace -f -o FILE` and under
// `tslinux run -f -a 40 -o FILE`, each in a fresh empty directory. Both
// traces are normalised (pids, addresses, times, the inode/device/time
// fields of stat structs, alignment padding) and compared line by line.
// Every remaining difference must be listed, with its reason, in
// test/fixtures/strace/known-differences.json; an unlisted difference fails,
// and so does a listed one that no longer occurs. The -c tables are compared
// for layout (header, rules, column positions), not numbers.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, canRunNative, guestPath, makeTempDir, removeTempDir, runCli } from './helpers/e2e.ts';

const PROGRAMS = ['hello', 'fileio', 'stat', 'dirents', 'errors', 'mmap'] as const;

const hasStrace = spawnSync('which', ['strace'], { stdio: 'ignore' }).status === 0;
const skipReason = !hasStrace
  ? ' (skipped: `which strace` failed, so there is no strace to compare with)'
  : !canRunNative
    ? ' (skipped: the guests are x86-64 and this host cannot run them natively)'
    : '';

interface KnownDifference {
  /** Programs it applies to, or ["*"]. */
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

/**
 * One trace as comparable lines: "PID " for the pid prefix (and for pids
 * as results: set_tid_address, getpid...), 0xADDR for addresses, <TIME>
 * for -T times, stat's inode/device/time fields as ?, and one space
 * before the result's " = " (strace pads to column 40; the pid prefixes
 * and addresses differ in width).
 */
export function normalise(text: string): string[] {
  const lines = text.split('\n').filter((l) => l !== '');
  const pids = new Set<string>();
  for (const l of lines) {
    const m = /^(\d+) /.exec(l);
    if (m) pids.add(m[1]!);
  }
  return lines.map((l) => {
    let s = l.replace(/^\d+ +/, 'PID ');
    s = s.replace(/0x[0-9a-f]+/g, '0xADDR');
    s = s.replace(/<\d+\.\d+>/g, '<TIME>');
    s = s.replace(/\b(st_ino|st_dev|st_nlink|st_blksize|st_blocks|stx_ino|stx_dev_major|stx_dev_minor|stx_blocks|stx_blksize)=[^,}]+/g, '$1=?');
    s = s.replace(/\b(st_atime|st_mtime|st_ctime|stx_atime|stx_btime|stx_ctime|stx_mtime)=(\{[^}]*\}|[^,}]+)/g, '$1=?');
    s = s.replace(/\b(st_atime_nsec|st_mtime_nsec|st_ctime_nsec)=\d+/g, '$1=?');
    // The result: "= <pid>" and the padding before " = ".
    s = s.replace(/= (\d+)$/, (all, n: string) => (pids.has(n) ? '= PID' : all));
    s = s.replace(/ += ((?:(?! = ).)*)$/, ' = $1');
    s = s.replace(/\b(si_pid|pid)=(\d+)/g, (all, k: string, n: string) => (pids.has(n) ? `${k}=PID` : all));
    return s;
  });
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

function runStrace(program: string, straceArgs: string[]): string {
  const dir = makeTempDir();
  try {
    const out = path.join(dir, 'strace.out');
    const work = path.join(dir, 'w');
    fs.mkdirSync(work);
    const r = spawnSync('strace', [...straceArgs, '-o', out, guestPath('x86_64', program)], {
      cwd: work,
      env: { PATH: '/usr/bin:/bin', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (r.status !== 0) throw new Error(`strace ${program} failed (${r.status}): ${r.stderr.toString()}`);
    return fs.readFileSync(out, 'utf8');
  } finally {
    removeTempDir(dir);
  }
}

async function runTslinux(program: string, traceArgs: string[]): Promise<string> {
  const dir = makeTempDir();
  try {
    const out = path.join(dir, 'tslinux.out');
    const work = path.join(dir, 'w');
    fs.mkdirSync(work);
    const r = await runCli(['run', ...traceArgs, '-o', out, guestPath('x86_64', program)], { cwd: work, env: { PATH: '/usr/bin:/bin', LANG: 'C' } });
    if (r.code !== 0) throw new Error(`tslinux ${program} failed (${r.code}): ${r.stderr}`);
    return fs.readFileSync(out, 'utf8');
  } finally {
    removeTempDir(dir);
  }
}

// ---- the tests ----------------------------------------------------------------------------------------

describe.skipIf(skipReason !== '')(`golden traces against strace${skipReason}`, () => {
  const tslinuxTraces = new Map<string, Promise<string>>();
  const tslinuxTables = new Map<string, Promise<string>>();
  const compared = new Set<string>();
  beforeAll(() => {
    // The CLI runs start together (each pays Node's start-up); the tests await them in turn.
    const start = (p: Promise<string>): Promise<string> => {
      p.catch(() => {}); // reported where it is awaited
      return p;
    };
    for (const p of PROGRAMS) {
      tslinuxTraces.set(p, start(runTslinux(p, ['-f', '-a', '40'])));
      tslinuxTables.set(p, start(runTslinux(p, ['-c'])));
    }
  });

  for (const program of PROGRAMS) {
    it(`${program}: every difference from strace -f is known`, async () => {
      const strace = normalise(runStrace(program, ['-f']));
      const ours = normalise(await tslinuxTraces.get(program)!);
      expect(ours.length).toBeGreaterThan(3);
      const problems = unexplained(program, strace, ours);
      expect(problems, `unexplained differences for ${program}:\n${problems.join('\n\n')}`).toEqual([]);
      compared.add(program);
    });
  }

  for (const program of ['fileio', 'errors'] as const) {
    it(`${program}: the -c table has strace's layout`, async () => {
      const theirs = runStrace(program, ['-c']).split('\n').filter(Boolean);
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

  it('every listed known difference still occurs', ({ skip }) => {
    if (compared.size !== PROGRAMS.length) skip('a program failed its comparison above');
    // Listed differences that no program showed are stale: fixed, or mis-described.
    const stale = KNOWN.filter((_, i) => !used.has(i)).map((d) => d.reason);
    expect(stale, 'known differences that did not occur').toEqual([]);
  });
});
