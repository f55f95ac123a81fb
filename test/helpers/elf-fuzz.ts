// ELF loader fuzzing: mutations of a real guest binary's ELF header and
// program headers, and the outcome each must have. A mutated binary either
// fails to launch with one line of error (LaunchError), or loads; one that
// loads with its entry point outside every executable mapping must die of
// SIGSEGV at its first instruction. Never a host exception, never a hang.
// Used by test/fuzz-elf.test.ts (bounded) and scripts/fuzz.ts (long).
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createKernel, LaunchError } from '../../src/index.ts';
import type { Kernel } from '../../src/kernel/kernel.ts';
import { PROT_EXEC } from '../../src/kernel/memory.ts';

const EHDR = { entry: 24, phoff: 32, phentsize: 54, phnum: 56 };
const PHDR_SIZE = 56;
const P = { type: 0, flags: 4, offset: 8, vaddr: 16, paddr: 24, filesz: 32, memsz: 40, align: 48 };

/** One change to the binary; applied in order. */
export type ElfMutation =
  | { op: 'truncate'; at: number }
  | { op: 'phnum'; value: number }
  | { op: 'phoff'; value: bigint }
  | { op: 'entry'; value: bigint }
  | { op: 'phdr'; index: number; field: keyof typeof P; value: bigint }
  | { op: 'overlap'; index: number; other: number }
  | { op: 'byte'; at: number; value: number };

const U64_EDGES = [0n, 1n, 0xfffn, 0x1000n, 0x1001n, 1n << 32n, 1n << 40n, 1n << 47n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - 4096n, 0x7fff_ffff_f000n];

const u64Arb = fc.oneof(fc.constantFrom(...U64_EDGES), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: 0x1000_0000n }));

export const elfMutationArb: fc.Arbitrary<ElfMutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat({ max: 20000 }) }),
  fc.record({ op: fc.constant('phnum' as const), value: fc.oneof(fc.constantFrom(0, 1, 2, 73, 1170, 1171, 65535), fc.nat({ max: 65535 })) }),
  fc.record({ op: fc.constant('phoff' as const), value: u64Arb }),
  fc.record({ op: fc.constant('entry' as const), value: u64Arb }),
  fc.record({
    op: fc.constant('phdr' as const),
    index: fc.nat({ max: 8 }),
    field: fc.constantFrom(...(Object.keys(P) as (keyof typeof P)[])),
    value: fc.oneof(u64Arb, fc.constantFrom(1n, 3n, 7n, 0x6474e551n)),
  }),
  fc.record({ op: fc.constant('overlap' as const), index: fc.nat({ max: 8 }), other: fc.nat({ max: 8 }) }),
  fc.record({ op: fc.constant('byte' as const), at: fc.nat({ max: 511 }), value: fc.nat({ max: 255 }) }),
);

/** The binary with `mutations` applied (program header fields of entries past the table are ignored). */
export function mutateElf(original: Uint8Array, mutations: readonly ElfMutation[]): Uint8Array {
  let b = Buffer.from(original);
  const phoff = (): number => Number(b.readBigUInt64LE(EHDR.phoff));
  const phnum = (): number => b.readUInt16LE(EHDR.phnum);
  const phdrAt = (i: number): number | null => {
    if (b.length < 64 || phnum() === 0) return null;
    const at = phoff() + (i % phnum()) * PHDR_SIZE;
    return at + PHDR_SIZE <= b.length ? at : null;
  };
  for (const m of mutations) {
    if (m.op === 'truncate') {
      b = b.subarray(0, m.at % (b.length + 1));
      continue;
    }
    if (b.length < 64) continue;
    switch (m.op) {
      case 'phnum':
        b.writeUInt16LE(m.value, EHDR.phnum);
        break;
      case 'phoff':
        b.writeBigUInt64LE(m.value, EHDR.phoff);
        break;
      case 'entry':
        b.writeBigUInt64LE(m.value, EHDR.entry);
        break;
      case 'phdr': {
        const at = phdrAt(m.index);
        if (at === null) break;
        if (m.field === 'type' || m.field === 'flags') b.writeUInt32LE(Number(m.value & 0xffffffffn), at + P[m.field]);
        else b.writeBigUInt64LE(m.value, at + P[m.field]);
        break;
      }
      case 'overlap': {
        // Segment `index` takes the addresses of segment `other`.
        const at = phdrAt(m.index);
        const other = phdrAt(m.other);
        if (at === null || other === null) break;
        b.writeBigUInt64LE(b.readBigUInt64LE(other + P.vaddr), at + P.vaddr);
        break;
      }
      case 'byte':
        if (m.at < b.length) b[m.at] = m.value;
        break;
    }
  }
  return b;
}

export type ElfOutcome = { kind: 'launch-error'; message: string } | { kind: 'loaded' } | { kind: 'sigsegv' };

export class ElfFuzzFailure extends Error {}

/**
 * Launch `bytes` (written to a temp file) and check the outcome. A loaded
 * image is run only when its entry point lies outside every executable
 * mapping (it must die of SIGSEGV at once); otherwise its code could do
 * anything, so it is not run.
 */
export function launchMutated(bytes: Uint8Array, dir: string): ElfOutcome {
  const file = path.join(dir, 'mutant');
  fs.writeFileSync(file, bytes, { mode: 0o755 });
  let k: Kernel;
  try {
    k = createKernel(file, { mountCwd: false, cwd: '/', stdout: 'capture', stderr: 'capture' });
  } catch (e) {
    if (e instanceof LaunchError) {
      if (e.message.includes('\n') || e.message.length === 0) throw new ElfFuzzFailure(`launch error is not one line: ${JSON.stringify(e.message)}`);
      return { kind: 'launch-error', message: e.message };
    }
    throw new ElfFuzzFailure(`host exception while loading: ${(e as Error)?.stack ?? String(e)}`);
  }
  const entry = k.taskOf(k.proc).pc;
  const m = k.proc.mem.mappingAt(entry);
  if (m && m.prot & PROT_EXEC) {
    k.cpu?.close();
    return { kind: 'loaded' };
  }
  let result;
  try {
    result = k.run();
  } catch (e) {
    throw new ElfFuzzFailure(`host exception while running an entry outside every mapping: ${(e as Error)?.stack ?? String(e)}`);
  }
  if (result.signal !== 'SIGSEGV') throw new ElfFuzzFailure(`entry 0x${entry.toString(16)} outside every executable mapping ended with ${result.signal ?? `exit ${result.exitCode}`}, not SIGSEGV`);
  return { kind: 'sigsegv' };
}

/** A temp directory for mutants; remove it with fs.rmSync(dir, { recursive: true }). */
export function mutantDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-elf-fuzz-'));
}
