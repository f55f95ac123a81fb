// Property tests over every declared syscall (fast-check): arguments come
// from each declaration's argument kinds (see test/helpers/syscall-fuzz.ts),
// the calls run against a headless kernel with a small guest memory and a
// temp host mount, and every call must keep the invariants:
//   - only a LinuxError escapes a handler (anything else is a KernelBug);
//   - every result is a value >= 0 or -errno in [-4095, -1];
//   - no host file outside the temp mount is read, created or changed, and
//     no outside file's text reaches guest memory;
//   - the same sequence gives the same results (clock readings aside).
// Besides random calls of every kind, sequences that interleave renames,
// symlinks and fd calls (open a directory, rename it, put a symlink in its
// place, then dirfd-relative calls; the same with a file and fchmod,
// futimens, ftruncate) attack the host mount's handles (issue 12).
// A bounded number of runs here; `npm run fuzz` runs the long version
// (scripts/fuzz.ts). FUZZ_SEED=N picks another fast-check seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARCH_NAMES } from './helpers/headless.ts';
import { FuzzWorld, NONDETERMINISTIC, anyCallArb, callArb, declaredOn, fuzzableSyscalls, runInFreshWorld, swapSequenceArb, type CallSpec } from './helpers/syscall-fuzz.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const RUNS_PER_SYSCALL = 40;
const SEQUENCES = 30;
const SEQUENCE_LENGTH = 24;
const SWAP_SEQUENCES = 30;
const SWAP_FOLLOW_UPS = 20;

describe.each(ARCH_NAMES)('syscall properties (%s)', (arch) => {
  it('every declared syscall is fuzzed, fork, clone, execve, rt_sigreturn and exit included (no skip list)', () => {
    const declared = declaredOn(arch).map((d) => d.name);
    const fuzzed = fuzzableSyscalls(arch).map((d) => d.name);
    expect([...fuzzed].sort()).toEqual([...declared].sort());
    for (const name of ['fork', 'clone', 'execve', 'rt_sigreturn', 'exit_group']) expect(fuzzed).toContain(name === 'fork' && arch === 'aarch64' ? 'clone' : name);
    expect(fuzzed.length).toBeGreaterThan(100);
  });

  it('each syscall keeps the invariants for arguments of every declared kind', () => {
    let world = new FuzzWorld(arch);
    try {
      for (const decl of fuzzableSyscalls(arch)) {
        if (world.dead || world.calls > 400) {
          world.checkHost();
          world.dispose();
          world = new FuzzWorld(arch);
        }
        fc.assert(
          fc.property(callArb(decl), (call) => {
            // A call that ended the process (exit, a bad rt_sigreturn frame): go on in a fresh world.
            if (world.dead) {
              world.checkHost();
              world.dispose();
              world = new FuzzWorld(arch);
            }
            world.run(call);
          }),
          { numRuns: RUNS_PER_SYSCALL, seed: SEED },
        );
      }
      world.checkHost();
    } finally {
      world.dispose();
    }
  });

  it('random sequences keep the invariants and leave the host outside the mount alone', () => {
    const decls = fuzzableSyscalls(arch);
    fc.assert(
      fc.property(fc.array(anyCallArb(decls), { minLength: 1, maxLength: SEQUENCE_LENGTH }), (calls) => {
        runInFreshWorld(arch, calls);
      }),
      { numRuns: SEQUENCES, seed: SEED },
    );
  });

  it('renames, symlinks and fd calls interleaved never reach outside the mount', () => {
    fc.assert(
      fc.property(swapSequenceArb(arch, SWAP_FOLLOW_UPS), (calls) => {
        runInFreshWorld(arch, calls, { swaps: true });
      }),
      { numRuns: SWAP_SEQUENCES, seed: SEED },
    );
  });

  it('the same sequence gives the same results in two fresh worlds', () => {
    const decls = fuzzableSyscalls(arch);
    const runIn = (calls: readonly CallSpec[]): string[] =>
      runInFreshWorld(arch, calls, { deterministicPaths: true }).map((r) => `${r.call} = ${NONDETERMINISTIC.has(r.call) ? '(clock)' : r.ret}`);
    fc.assert(
      fc.property(fc.array(anyCallArb(decls), { minLength: 1, maxLength: SEQUENCE_LENGTH }), (calls) => {
        expect(runIn(calls)).toEqual(runIn(calls));
      }),
      { numRuns: 12, seed: SEED },
    );
  });
});
