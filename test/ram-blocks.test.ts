// Unicorn 2.1.1 can give a new memory region RAM offsets that overlap an
// older region's (src/cpu/engine.ts, alignRamBlocks), and translated code is
// found and thrown away by RAM offset: unmapping the new region then threw
// away code translated from the old one, and a reused engine translated its
// kept text again at every exec. The engine now maps and unmaps a page
// before anything else, so every offset is aligned and none overlaps.
//
// Seen from outside, a block that survives is one whose translation is still
// used after its bytes changed behind Unicorn's back (the host buffer written
// directly, as no guest store would: a store invalidates the block). So:
// run a block, rewrite it in host memory, map and unmap an unrelated region
// laid out to overlap it in RAM offsets, run it again. The old result means
// the translation survived the unmap; the new one, that the unmap threw it
// away. Without alignRamBlocks the second run gives the new result.
import { describe, expect, it } from 'vitest';
import { keepEngines } from './helpers/engines.ts';
import type { CpuArch } from '../src/cpu/engine.ts';
import * as UC from '../src/cpu/unicorn-constants.ts';

const PAGE = 0x1000;
/**
 * A one-page region, a 1 MiB code region right after it in RAM offsets,
 * then two pages. Unmapping the first of those lets Unicorn search for gaps,
 * and the smallest it found began at the one-page region's end rounded up
 * to 64 target pages, inside the code region (the second page bounds that
 * gap; without it the gap after the last block is chosen): RAM offset
 * 0x40000 on x86-64, 0x10000 on arm64, whose target pages are 1 KiB at the
 * least (TARGET_PAGE_BITS_VARY).
 */
const SMALL = 0x40_0000;
const CODE = 0x40_1000;
const CODE_BYTES = 0x10_0000;
const AFTER = 0x60_0000;
const BOUND = 0x61_0000;
/** Where in CODE that RAM offset falls (CODE begins at RAM offset PAGE). */
const PROBE_OFFSET: Record<CpuArch, number> = { x86_64: 0x40000 - PAGE, aarch64: 0x10000 - PAGE };
const LATER = 0x70_0000;

/** `mov eax, n` / `movz w0, #n`, then a syscall. */
function setAndStop(arch: CpuArch, n: number): number[] {
  if (arch === 'x86_64') return [0xb8, n, 0, 0, 0, 0x0f, 0x05];
  const movz = 0x52800000 | (n << 5);
  const svc = 0xd4000001;
  return [movz, svc].flatMap((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]);
}

const engines = keepEngines();

describe.each(['x86_64', 'aarch64'] as const)('translated code and unrelated unmaps (%s)', (arch) => {
  it('a block translated from one region survives mapping and unmapping another', () => {
    const cpu = engines.engine(arch, (c) => c.stop());
    const code = new Uint8Array(CODE_BYTES);
    const pc = CODE + PROBE_OFFSET[arch];
    code.set(setAndStop(arch, 1), PROBE_OFFSET[arch]);
    engines.map(cpu, SMALL, new Uint8Array(PAGE), 1);
    engines.map(cpu, CODE, code, 5);
    engines.map(cpu, AFTER, new Uint8Array(PAGE), 3);
    engines.map(cpu, BOUND, new Uint8Array(PAGE), 3);
    const result = cpu.registers([arch === 'x86_64' ? UC.UC_X86_REG_RAX : UC.UC_ARM64_REG_X0]);
    const run = (): number => {
      expect(cpu.runUntil(pc, pc + 0x100).kind).toBe('stopped');
      result.read();
      return result.number(0);
    };
    expect(run()).toBe(1);
    // Behind Unicorn's back: only a retranslation sees this.
    code.set(setAndStop(arch, 2), PROBE_OFFSET[arch]);
    cpu.unmap(AFTER, PAGE);
    engines.map(cpu, LATER, new Uint8Array(PAGE), 5);
    cpu.unmap(LATER, PAGE);
    expect(run()).toBe(1);
  });
});
