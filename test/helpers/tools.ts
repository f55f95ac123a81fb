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
