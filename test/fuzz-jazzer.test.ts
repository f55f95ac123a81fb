// The coverage-guided layer: the decoder that turns Jazzer's bytes into
// syscalls, the committed seed corpus replayed through the fuzz target, and a
// fixed-iteration Jazzer.js smoke run (on Debian 12 under Debian 13's C
// runtime, which its prebuilt addon needs: see test/helpers/jazzer.ts).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TEST_ALL, longRun } from './helpers/tools.ts';
import { fuzz } from './helpers/jazzer-target.ts';
import { CORPUS_DIR, JAZZER_TARGET, jazzerArgs, jazzerLauncher } from './helpers/jazzer.ts';
import { anyCallArb, decodeCalls, encodeCalls, fuzzableSyscalls } from './helpers/syscall-fuzz.ts';

const root = join(import.meta.dirname, '..');
const decls = fuzzableSyscalls('x86_64');

describe('Jazzer layer', () => {
  it('decodeCalls reads back what encodeCalls wrote', () => {
    fc.assert(
      fc.property(fc.array(anyCallArb(decls), { maxLength: 8 }), (calls) => {
        expect(decodeCalls(encodeCalls(calls, decls), decls)).toEqual(calls);
      }),
      { numRuns: 100, seed: 1 },
    );
  });

  it('any bytes decode to calls of fuzzable syscalls, ending where the input does', () => {
    expect(decodeCalls(new Uint8Array(0), decls)).toEqual([]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const c of decodeCalls(bytes, decls)) expect(decls.some((d) => d.name === c.name)).toBe(true);
      }),
      { numRuns: 100, seed: 1 },
    );
  });

  it('the committed seed corpus runs through the fuzz target with no finding', () => {
    const seeds = fs.readdirSync(join(root, CORPUS_DIR));
    expect(seeds.length).toBeGreaterThan(10);
    for (const name of seeds) fuzz(fs.readFileSync(join(root, CORPUS_DIR, name)));
  });

  it('random byte inputs run through the fuzz target with no finding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), (bytes) => {
        fuzz(Buffer.from(bytes));
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  // A minute of fuzzing: npm run test:all (npm test replays the seed corpus and random inputs above).
  it.runIf(TEST_ALL)(longRun('Jazzer.js smoke run: a fixed number of coverage-guided runs from the seed corpus, no finding'), () => {
    const launcher = jazzerLauncher();
    const corpus = fs.mkdtempSync(join(root, 'node_modules', '.jazzer-corpus-'));
    try {
      fs.cpSync(join(root, CORPUS_DIR), corpus, { recursive: true });
      const flags = ['-runs=300', '-seed=1', `-artifact_prefix=${corpus}/`];
      const r = spawnSync(launcher.command, jazzerArgs(launcher, JAZZER_TARGET, corpus, flags), { cwd: root, encoding: 'utf8', timeout: 240_000 });
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      // libFuzzer's own report: it ran the runs and found coverage.
      expect(r.stderr).toMatch(/Done 300 runs/);
      expect(r.stderr).toMatch(/INITED cov: \d+/);
    } finally {
      fs.rmSync(corpus, { recursive: true, force: true });
    }
  }, 300_000);
});
