// `tslinux run` without tracing, report, crash-report, policy or explain
// options must not load that code (issue 15: start-up). dist/cli.cjs, the
// bundle scripts/build.mjs makes (and the global setup brings up to date),
// holds each module that is imported on demand in a function named after
// its path (esbuild's lazy module wrapper: `"src/trace/session.ts"() {...}`),
// run at its first import. V8's coverage of a real `node bin/tslinux.js`
// run says which of those functions ran: which modules were evaluated.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, guestPath, makeTempDir, removeTempDir } from './helpers/e2e.ts';

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

let tmp: string;
beforeAll(() => {
  tmp = makeTempDir();
});
afterAll(() => removeTempDir(tmp));

/** The source modules a CLI run evaluated lazily (with the exit status and output, to see that it ran). */
function lazyModulesRun(args: string[]): { modules: string[]; status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(tmp, 'cov-'));
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, env: { ...process.env, NODE_V8_COVERAGE: dir }, encoding: 'utf8' });
  const modules = new Set<string>();
  for (const f of fs.readdirSync(dir)) {
    const { result } = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as {
      result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
    };
    for (const script of result.filter((s) => s.url.endsWith('/dist/cli.cjs'))) {
      for (const fn of script.functions) if (/^(src|syscalls)\/\S+\.ts$/.test(fn.functionName) && fn.ranges[0]!.count > 0) modules.add(fn.functionName);
    }
  }
  return { modules: [...modules], status: r.status, stderr: r.stderr };
}

describe('the CLI bundle (dist/cli.cjs)', () => {
  it('holds each on-demand module in its own lazy wrapper', () => {
    const bundle = fs.readFileSync(path.join(ROOT, 'dist', 'cli.cjs'), 'utf8');
    const wrapped = new Set([...bundle.matchAll(/=\s*__esm\(\{\s*"([^"]+)"\(\)/g)].map((m) => m[1]));
    expect(ON_DEMAND.filter((m) => !wrapped.has(m))).toEqual([]);
  });

  it('a plain run evaluates the kernel and none of the code only an option needs', () => {
    const run = lazyModulesRun(['run', guestPath('x86_64', 'hello')]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.modules).toContain('src/kernel/kernel.ts');
    expect(ON_DEMAND.filter((m) => run.modules.includes(m))).toEqual([]);
  });

  it('the options that need that code load it', () => {
    const policy = path.join(tmp, 'allow-all.json');
    fs.writeFileSync(policy, '{"defaultAction": "SCMP_ACT_ALLOW"}');
    const run = lazyModulesRun([
      'run',
      '-o', path.join(tmp, 'trace.txt'),
      '--report', path.join(tmp, 'report.html'),
      '--crash-report', path.join(tmp, 'crash.json'),
      '--policy', policy,
      guestPath('x86_64', 'hello'),
    ]);
    expect(run.status, run.stderr).toBe(0);
    const explain = lazyModulesRun(['explain', 'getuid']);
    expect(explain.status, explain.stderr).toBe(0);
    const loaded = new Set([...run.modules, ...explain.modules]);
    expect(ON_DEMAND.filter((m) => !loaded.has(m))).toEqual([]);
  });
});
