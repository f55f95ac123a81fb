// The arm64 fault-pc search: from the block start Unicorn reports to the
// load or store that really faulted (src/arch/aarch64-fault-pc.ts).
import { describe, expect, it } from 'vitest';
import { decodeAccess, exactFaultPc, type A64Registers } from '../src/arch/aarch64-fault-pc.ts';

const NOP = 0xd503201f;
const B_NEXT = 0x14000001;
const LDR_X2_X0 = 0xf9400002; // ldr x2, [x0]
const STR_X1_X3_PRE16 = 0xf8010c61; // str x1, [x3, #16]!
const LDP_X4_X5_SP_32 = 0xa94217e4; // ldp x4, x5, [sp, #32]
const LDR_W1_X2_X3_LSL2 = 0xb8637841; // ldr w1, [x2, x3, lsl #2]
const STR_X0_X1_POST8 = 0xf8008420; // str x0, [x1], #8
const PRFM_X0 = 0xf9800000; // prfm pldl1keep, [x0]

function regs(values: Record<number, bigint>, sp = 0x7fff_0000n): A64Registers {
  return { x: (n) => values[n] ?? 0n, sp };
}

function at(code: number[], base = 0x40_0000) {
  return (pc: number): number | null => {
    const i = (pc - base) / 4;
    return i >= 0 && i < code.length ? code[i]! : null;
  };
}

describe('arm64 load/store decoding', () => {
  it('computes the address and direction of the common addressing forms', () => {
    const r = regs({ 0: 0x10n, 1: 0x5000n, 2: 0x1000n, 3: 0x20n });
    expect(decodeAccess(LDR_X2_X0, r)).toEqual({ addr: 0x10n, span: 8, kind: 'read' });
    expect(decodeAccess(STR_X1_X3_PRE16, r)).toEqual({ addr: 0x30n, span: 8, kind: 'write' });
    expect(decodeAccess(LDP_X4_X5_SP_32, r)).toEqual({ addr: 0x7fff_0020n, span: 16, kind: 'read' });
    expect(decodeAccess(LDR_W1_X2_X3_LSL2, r)).toEqual({ addr: 0x1080n, span: 4, kind: 'read' });
    // Post-index: the access is at the base before the update.
    expect(decodeAccess(STR_X0_X1_POST8, r)).toEqual({ addr: 0x5000n, span: 8, kind: 'write' });
  });

  it('ignores what is not an access: NOP, branches, prefetch hints', () => {
    const r = regs({});
    expect(decodeAccess(NOP, r)).toBeNull();
    expect(decodeAccess(B_NEXT, r)).toBeNull();
    expect(decodeAccess(PRFM_X0, r)).toBeNull();
  });
});

describe('exactFaultPc', () => {
  const base = 0x40_0000;

  it('walks past NOPs and other accesses to the one at the fault address', () => {
    const code = [NOP, LDR_W1_X2_X3_LSL2, NOP, LDR_X2_X0, NOP];
    const r = regs({ 0: 0x10n, 2: 0x1000n, 3: 0x20n });
    expect(exactFaultPc(base, at(code), r, 0x10, 'read')).toBe(base + 12);
  });

  it('matches the direction: a load from the address that a later store faults on is skipped', () => {
    const LDR_X1_X0 = 0xf9400001; // ldr x1, [x0]
    const STR_X1_X0 = 0xf9000001; // str x1, [x0]
    const code = [LDR_X1_X0, NOP, STR_X1_X0];
    const r = regs({ 0: 0x9000n });
    expect(exactFaultPc(base, at(code), r, 0x9000, 'write')).toBe(base + 8);
    expect(exactFaultPc(base, at(code), r, 0x9000, 'read')).toBe(base);
  });

  it('a fault inside a pair access (its second register) still matches', () => {
    expect(exactFaultPc(base, at([LDP_X4_X5_SP_32]), regs({}, 0x1000n), 0x1028, 'read')).toBe(base);
  });

  it('stops at the first branch and falls back to the block start', () => {
    const code = [NOP, B_NEXT, LDR_X2_X0];
    expect(exactFaultPc(base, at(code), regs({ 0: 0x10n }), 0x10, 'read')).toBe(base);
  });

  it('falls back to the block start when the code cannot be read', () => {
    expect(exactFaultPc(base, () => null, regs({}), 0x10, 'read')).toBe(base);
  });
});
