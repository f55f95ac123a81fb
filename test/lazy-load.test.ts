// `tslinux run` without tracing, report, crash-report, policy or explain
// options must not load that code: Node compiles every module a start-up
// imports statically, and these would cost a plain run several milliseconds
// (issue 15). The check reads the bundles the global setup built into dist/
// (scripts/build.mjs): which source modules are in the files that
// dist/cli.js imports statically, following esbuild's `// src/x.ts` markers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/e2e.ts';

const DIST = path.join(ROOT, 'dist');

/** The relative specifiers a bundle imports, statically (import/export ... from) or on demand (import()). */
function importsOf(file: string): { static: string[]; dynamic: string[] } {
  const text = fs.readFileSync(path.join(DIST, file), 'utf8');
  const resolve = (spec: string): string => path.posix.join(path.posix.dirname(file), spec);
  return {
    static: [...text.matchAll(/^(?:import|export)\b[^;]*?(?:from\s*)?"(\.[^"]+)";/gm)].map((m) => resolve(m[1]!)),
    dynamic: [...text.matchAll(/\bimport\("(\.[^"]+)"\)/g)].map((m) => resolve(m[1]!)),
  };
}

/** Every bundle file loaded with `file`, before any of its code runs. */
function staticClosure(file: string): Set<string> {
  const seen = new Set<string>([file]);
  const queue = [file];
  while (queue.length) for (const f of importsOf(queue.pop()!).static) if (!seen.has(f)) queue.push(f), seen.add(f);
  return seen;
}

/** The source modules bundled into these files. */
function sourcesIn(files: Iterable<string>): Set<string> {
  const sources = new Set<string>();
  for (const f of files) for (const m of fs.readFileSync(path.join(DIST, f), 'utf8').matchAll(/^\/\/ ((?:src|syscalls)\/\S+\.ts)$/gm)) sources.add(m[1]!);
  return sources;
}

const ON_DEMAND = [
  'src/trace/session.ts',
  'src/trace/strace.ts',
  'src/trace/decode.ts',
  'src/trace/report.ts',
  'src/trace/report-template.ts',
  'src/trace/crash-report.ts',
  'src/policy/setup.ts',
  'src/policy/policy.ts',
  'src/policy/profile.ts',
  'src/explain.ts',
];

describe('the CLI bundle (dist/cli.js)', () => {
  it('a plain run loads the kernel and the syscall handlers, and none of the code only an option needs', () => {
    const startup = sourcesIn(staticClosure('cli.js'));
    for (const needed of ['src/cli.ts', 'src/kernel/kernel.ts', 'src/cpu/engine.ts', 'syscalls/file.ts']) expect(startup).toContain(needed);
    expect(ON_DEMAND.filter((m) => startup.has(m))).toEqual([]);
  });

  it('the options that need it import that code on demand', () => {
    const onDemand = new Set<string>();
    for (const f of importsOf('cli.js').dynamic) for (const g of staticClosure(f)) onDemand.add(g);
    const sources = sourcesIn(onDemand);
    expect(ON_DEMAND.filter((m) => !sources.has(m))).toEqual([]);
  });
});
