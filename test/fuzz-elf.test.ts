// ELF loader fuzzing (fast-check): mutations of real guest binaries' ELF
// header and program headers, covering truncation, phnum 0 and 65535,
// overlapping segments, huge p_memsz, entry points outside every mapping and
// misaligned offsets. Each mutant must launch, or fail with one line of
// error (LaunchError), or die of SIGSEGV at its first instruction; never a
// host exception or a hang. `npm run fuzz` runs many more (scripts/fuzz.ts).
import fc from 'fast-check';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { elfMutationArb, launchMutated, mutantDir, mutateElf, type ElfMutation } from './helpers/elf-fuzz.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const root = join(import.meta.dirname, '..');
const dir = mutantDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(['x86_64', 'aarch64'])('ELF loader fuzzing (%s)', (arch) => {
  const original = fs.readFileSync(join(root, 'guest-binaries', arch, 'hello_asm'));
  const launch = (...m: ElfMutation[]) => launchMutated(mutateElf(original, m), dir);
  const oneLineError = (...m: ElfMutation[]): string => {
    const o = launch(...m);
    expect(o.kind).toBe('launch-error');
    return o.kind === 'launch-error' ? o.message : '';
  };

  it('the unmutated binary loads', () => {
    expect(launch().kind).toBe('loaded');
  });

  it('each named malformation gives one line of error', () => {
    expect(oneLineError({ op: 'truncate', at: 0 })).toMatch(/not an ELF file/);
    expect(oneLineError({ op: 'truncate', at: 40 })).toMatch(/truncated ELF header/);
    expect(oneLineError({ op: 'truncate', at: 100 })).toMatch(/outside the file/);
    expect(oneLineError({ op: 'phnum', value: 0 })).toMatch(/no program headers/);
    expect(oneLineError({ op: 'phnum', value: 65535 })).toMatch(/too many program headers/);
    // Program header 1 made a PT_LOAD (aarch64's is PT_GNU_STACK) at the addresses of header 0.
    const secondLoad: ElfMutation[] = [{ op: 'phdr', index: 1, field: 'type', value: 1n }, { op: 'phdr', index: 1, field: 'memsz', value: 0x100n }];
    expect(oneLineError(...secondLoad, { op: 'overlap', index: 1, other: 0 })).toMatch(/overlap/);
    expect(oneLineError({ op: 'phdr', index: 0, field: 'memsz', value: 1n << 62n })).toMatch(/too large|beyond|overlap/);
    expect(oneLineError({ op: 'phdr', index: 0, field: 'offset', value: 1n })).toMatch(/congruent|outside the file/);
    expect(oneLineError({ op: 'entry', value: 0xdead_0000n })).toMatch(/entry point/);
    expect(oneLineError({ op: 'entry', value: 1n << 63n })).toMatch(/entry point/);
  });

  it('random mutations launch, fail with one line, or die of SIGSEGV: never a host exception', () => {
    fc.assert(
      fc.property(fc.array(elfMutationArb, { minLength: 1, maxLength: 4 }), (mutations) => {
        launchMutated(mutateElf(original, mutations), dir);
      }),
      { numRuns: 150, seed: SEED },
    );
  });
});
