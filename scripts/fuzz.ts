// npm run fuzz: the long version of the three fuzzing layers.
//
//   1. property fuzzing of every declared syscall (test/helpers/syscall-fuzz.ts)
//      for --calls calls or --seconds seconds per arch, in worlds that live for
//      --world-calls calls; prints calls/second, total calls, and the heap
//      before and after (with --expose-gc, which `npm run fuzz` passes);
//   2. coverage-guided fuzzing with Jazzer.js over test/fuzz-corpus/syscalls
//      (-runs=--jazzer-runs; on Debian 12 under Debian 13's C runtime, see test/helpers/jazzer.ts);
//   3. ELF loader fuzzing: --elf-runs mutants of each guest binary.
//
//   npm run fuzz -- --calls 1000000 --arch x86_64 --seed 7
//   npm run fuzz -- --seconds 60 --only props
//   npm run fuzz -- --write-corpus        (re-create the seed corpus)
//
// Exit status 1 when any layer found a broken invariant; each finding is
// printed with the call (or mutation) that shows it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { ElfFuzzFailure, elfMutationArb, launchMutated, mutantDir, mutateElf } from '../test/helpers/elf-fuzz.ts';
import { CORPUS_DIR, JAZZER_TARGET, jazzerArgs, jazzerLauncher, type JazzerLauncher } from '../test/helpers/jazzer.ts';
import { FuzzFailure, FuzzWorld, anyCallArb, encodeCalls, fuzzableSyscalls, showCall, type CallSpec } from '../test/helpers/syscall-fuzz.ts';
import type { ArchName } from '../test/helpers/headless.ts';

const root = join(import.meta.dirname, '..');
const { values: opt } = parseArgs({
  options: {
    calls: { type: 'string', default: '200000' },
    seconds: { type: 'string' },
    'world-calls': { type: 'string', default: '50000' },
    arch: { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    only: { type: 'string' },
    'jazzer-runs': { type: 'string', default: '2000' },
    'elf-runs': { type: 'string', default: '3000' },
    'write-corpus': { type: 'boolean', default: false },
  },
});
const seed = Number(opt.seed);
const arches: ArchName[] = opt.arch ? [opt.arch as ArchName] : ['x86_64', 'aarch64'];
const layers = new Set((opt.only ?? 'props,jazzer,elf').split(','));
let findings = 0;

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external + m.arrayBuffers) / 2 ** 20;
}

// ---- 1. property fuzzing ------------------------------------------------------------------

function fuzzProps(arch: ArchName): void {
  const decls = fuzzableSyscalls(arch);
  const maxCalls = Number(opt.calls);
  const deadline = opt.seconds ? performance.now() + Number(opt.seconds) * 1000 : Infinity;
  const worldCalls = Number(opt['world-calls']);
  const seen = new Set<string>();
  let world = new FuzzWorld(arch);
  let total = 0;
  let batch = 0;
  const recycle = (): void => {
    try {
      world.checkHost();
    } catch (e) {
      report(`${arch}: ${(e as Error).message}`);
    }
    world.dispose();
    world = new FuzzWorld(arch);
  };
  // Warm up (module caches, JIT) before the first heap reading.
  for (const call of fc.sample(anyCallArb(decls), { numRuns: 2000, seed: seed - 1 })) {
    if (world.dead) recycle();
    runOne(world, call, seen);
  }
  const heapBefore = heapMiB();
  const started = performance.now();
  while (total < maxCalls && performance.now() < deadline) {
    for (const call of fc.sample(anyCallArb(decls), { numRuns: 1000, seed: seed + batch++ })) {
      if (world.dead || world.calls >= worldCalls) recycle();
      runOne(world, call, seen);
      total++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  recycle();
  world.dispose();
  const heapAfter = heapMiB();
  console.log(
    `props ${arch}: ${total} calls over ${decls.length} syscalls in ${seconds.toFixed(1)} s = ${Math.round(total / seconds)} calls/s; ` +
      `heap ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MiB${(globalThis as { gc?: unknown }).gc ? '' : ' (no --expose-gc: readings include garbage)'}; ${seen.size} distinct findings`,
  );
}

function runOne(world: FuzzWorld, call: CallSpec, seen: Set<string>): void {
  try {
    world.run(call);
  } catch (e) {
    if (!(e instanceof FuzzFailure)) throw e;
    const key = `${call.name}: ${e.message.split('\n').find((l) => /Error|returned/.test(l))?.slice(0, 160) ?? e.message.slice(0, 160)}`;
    if (seen.has(key)) return;
    seen.add(key);
    report(`${world.arch}: ${e.message.split('\n').slice(0, 6).join('\n')}\n  call: ${showCall(call)}`);
  }
}

function report(text: string): void {
  findings++;
  console.log(`FINDING ${text}`);
}

// ---- 2. Jazzer ------------------------------------------------------------------------------

function fuzzJazzer(arch: ArchName): void {
  let launcher: JazzerLauncher;
  try {
    launcher = jazzerLauncher();
  } catch (e) {
    report(`jazzer ${arch}: ${(e as Error).message}`);
    return;
  }
  const artifacts = fs.mkdtempSync(join(root, 'node_modules', '.jazzer-'));
  // libFuzzer adds what it finds to the corpus directory: a copy, so the committed seeds stay as they are.
  const corpus = join(artifacts, 'corpus');
  fs.cpSync(join(root, CORPUS_DIR), corpus, { recursive: true });
  const flags = [`-runs=${opt['jazzer-runs']}`, `-seed=${seed}`, `-artifact_prefix=${artifacts}/`];
  const r = spawnSync(launcher.command, jazzerArgs(launcher, JAZZER_TARGET, corpus, flags), {
    cwd: root,
    env: { ...process.env, TSLINUX_FUZZ_ARCH: arch },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = (r.stderr + r.stdout).trim().split('\n').slice(-3).join('\n');
  if (r.status !== 0) report(`jazzer ${arch}: exit ${r.status}; artifacts in ${artifacts}\n${tail}`);
  else console.log(`jazzer ${arch}: ${opt['jazzer-runs']} runs, no finding\n${tail}`);
}

// ---- 3. ELF loader ----------------------------------------------------------------------------

function fuzzElf(arch: ArchName): void {
  const dir = mutantDir();
  try {
    for (const binary of ['hello_asm', 'hello']) {
      const file = join(root, 'guest-binaries', arch, binary);
      if (!fs.existsSync(file)) continue;
      const original = fs.readFileSync(file);
      const counts: Record<string, number> = {};
      const started = performance.now();
      const runs = Number(opt['elf-runs']);
      for (const mutations of fc.sample(fc.array(elfMutationArb, { minLength: 1, maxLength: 4 }), { numRuns: runs, seed })) {
        try {
          const o = launchMutated(mutateElf(original, mutations), dir);
          counts[o.kind] = (counts[o.kind] ?? 0) + 1;
        } catch (e) {
          if (!(e instanceof ElfFuzzFailure)) throw e;
          report(`elf ${arch}/${binary}: ${e.message.split('\n').slice(0, 4).join('\n')}\n  mutations: ${JSON.stringify(mutations, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
        }
      }
      const s = (performance.now() - started) / 1000;
      console.log(`elf ${arch}/${binary}: ${runs} mutants in ${s.toFixed(1)} s (${Math.round(runs / s)}/s): ${JSON.stringify(counts)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the seed corpus ----------------------------------------------------------------------------

/** Seeds for Jazzer: short typical sequences, then fast-check samples (x86-64 indices; any bytes decode). */
function writeCorpus(): void {
  const decls = fuzzableSyscalls('x86_64');
  const dir = join(root, CORPUS_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const valid = { cls: 0, n: 0, raw: 0n };
  const pathN = (n: number) => ({ cls: 0, n, raw: BigInt(n) });
  const typical: CallSpec[][] = [
    [{ name: 'openat', args: [{ cls: 10, n: 0, raw: 0n }, pathN(0), { cls: 9, n: 2, raw: 2n }, { cls: 7, n: 0o644, raw: 0o644n }] }, { name: 'read', args: [valid, valid, { cls: 2, n: 0, raw: 0n }] }],
    [{ name: 'mmap', args: [{ cls: 1, n: 0, raw: 0n }, { cls: 2, n: 0, raw: 0n }, { cls: 9, n: 1, raw: 1n }, { cls: 9, n: 0, raw: 0n }, { cls: 8, n: 0, raw: 0n }, { cls: 0, n: 0, raw: 0n }] }],
    [{ name: 'pipe2', args: [valid, { cls: 0, n: 0, raw: 0n }] }, { name: 'write', args: [valid, valid, { cls: 1, n: 5, raw: 5n }] }],
  ];
  const sampled = fc.sample(fc.array(anyCallArb(decls), { minLength: 1, maxLength: 12 }), { numRuns: 21, seed: 1 });
  [...typical, ...sampled].forEach((calls, i) => fs.writeFileSync(join(dir, `seed-${String(i).padStart(2, '0')}`), encodeCalls(calls, decls)));
  console.log(`wrote ${typical.length + sampled.length} seeds to ${CORPUS_DIR}`);
}

if (opt['write-corpus']) {
  writeCorpus();
} else {
  console.log(`fuzz seed ${seed} (--seed ${seed} replays this run)`);
  for (const arch of arches) {
    if (layers.has('props')) fuzzProps(arch);
    if (layers.has('jazzer')) fuzzJazzer(arch);
    if (layers.has('elf')) fuzzElf(arch);
  }
  console.log(findings === 0 ? 'no findings' : `${findings} findings`);
  process.exitCode = findings === 0 ? 0 : 1;
}
