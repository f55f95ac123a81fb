// Optional host tools the tests use (qemu-aarch64, Go, Chromium, strace,
// python3, the cross compilers, prlimit...). A test that needs one that is
// missing skips, saying so in one line that names the tool and how to get
// it; with TSLINUX_REQUIRE_ALL=1 (.ci/run sets it) the same test fails
// instead, so CI runs everything or goes red.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Set by .ci/run: a missing optional tool fails the tests that need it. */
export const REQUIRE_ALL = process.env.TSLINUX_REQUIRE_ALL === '1';

/** The full path of an executable on the host's PATH, or null. */
export function which(cmd: string): string | null {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(d || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * `npm run test:all`: the long runs too (the Jazzer.js smoke run, every
 * case on both arches where npm test samples the second). npm test leaves
 * them out to stay fast; this is not a missing tool, so nothing fails.
 */
export const TEST_ALL = process.env.TSLINUX_TEST_ALL === '1';

/** A title for a long run that npm test leaves to npm run test:all. */
export function longRun(title: string): string {
  return TEST_ALL ? title : `${title} [npm run test:all]`;
}

/** How many of a long list of end-to-end cases the second arch runs in npm test: every SAMPLE_STRIDE-th. */
export const SAMPLE_STRIDE = 3;

/**
 * Whether `arch` runs every case in this run: x86-64 always; aarch64 under
 * npm run test:all. In npm test aarch64 runs a sample of the long case
 * lists (inSample) and leaves the few heavy cases whose subject is
 * arch-independent kernel code (the memory budget, the mapping limit, the
 * deterministic schedule) to test:all: the cases exercise the same kernel
 * code on both arches, and what is aarch64's own (syscall numbers, the
 * register ABI, signal frames, the guest binaries) shows in any of them.
 */
export function allCasesOn(arch: string): boolean {
  return arch === 'x86_64' || TEST_ALL;
}

/** Whether the `i`-th case of a long list runs on `arch`: every case, or every SAMPLE_STRIDE-th. */
export function inSample(arch: string, i: number): boolean {
  return allCasesOn(arch) || i % SAMPLE_STRIDE === 0;
}

/** The cases of a long list an arch runs (see inSample). */
export function sampled<T>(arch: string, cases: readonly T[]): readonly T[] {
  return cases.filter((_, i) => inSample(arch, i));
}

/** A heavy case's title, saying when npm test leaves it to npm run test:all (see allCasesOn). */
export function heavyTitle(arch: string, title: string): string {
  return allCasesOn(arch) ? title : `${title} [npm run test:all]`;
}

/** A describe title saying when its cases are a sample. */
export function sampledTitle(arch: string, title: string): string {
  return allCasesOn(arch) ? title : `${title} [every ${SAMPLE_STRIDE}rd case; all with npm run test:all]`;
}

const said = new Set<string>();

/** The one line a missing tool gets: "skipped: needs qemu-aarch64 (apt-get install qemu-user)". */
export function needsLine(tool: string, howToGet: string): string {
  return `skipped: needs ${tool}${howToGet ? ` (${howToGet})` : ''}`;
}

/**
 * Whether an optional tool is available. When it is not: under
 * TSLINUX_REQUIRE_ALL=1 this throws (at collection, the file fails; inside a
 * test, that test fails); otherwise it prints the skip line once per test
 * file and returns false, for the caller's skipIf/runIf.
 */
export function optionalTool(tool: string, available: boolean, howToGet = ''): boolean {
  if (available) return true;
  const line = needsLine(tool, howToGet);
  if (REQUIRE_ALL) throw new Error(`TSLINUX_REQUIRE_ALL=1 and a test ${line.replace(/^skipped: /, '')}`);
  if (!said.has(line)) {
    said.add(line);
    console.warn(line);
  }
  return false;
}

/** optionalTool for a command on the PATH; its path, or null. */
export function optionalCommand(cmd: string, howToGet: string): string | null {
  const p = which(cmd);
  optionalTool(cmd, p !== null, howToGet);
  return p;
}
