// The exact pc of an arm64 memory fault. Unicorn stops a faulting
// translation block with the registers as they were just before the
// faulting instruction but the pc at the start of the block. Linux reports
// the instruction itself (and runtimes depend on it: Go turns a nil
// dereference into a panic by "calling" sigpanic from that pc). arm64
// instructions are 4 bytes, so the faulting one is found by walking forward
// from the block's start to the first load or store whose address, computed
// from the current registers, is the fault address.
//
// Encodings from the Arm ARM, "Loads and Stores" (C4.1.66 onwards).

/** The registers the search needs: x0..x30 and sp. */
export interface A64Registers {
  x(n: number): bigint;
  sp: bigint;
}

export type AccessKind = 'read' | 'write';

/** How far to look (a translation block holds at most 512 instructions; faults come early). */
const MAX_SCAN = 256;
const MASK64 = (1n << 64n) - 1n;

/**
 * The pc of the first instruction at or after `blockPc` that accesses
 * `faultAddr` with this kind of access, or `blockPc` when none is found
 * before a branch ends the block.
 */
export function exactFaultPc(
  blockPc: number,
  fetch: (pc: number) => number | null,
  regs: A64Registers,
  faultAddr: number,
  kind: AccessKind,
): number {
  const fault = BigInt(faultAddr);
  for (let i = 0; i < MAX_SCAN; i++) {
    const pc = blockPc + 4 * i;
    const insn = fetch(pc);
    if (insn === null) break;
    const access = decodeAccess(insn >>> 0, regs);
    if (access && access.kind === kind && fault >= access.addr && fault < access.addr + BigInt(access.span)) return pc;
    if (isBranch(insn >>> 0)) break;
  }
  return blockPc;
}

interface Access {
  addr: bigint;
  /** Bytes from addr that the access may touch (pairs and vectors touch more). */
  span: number;
  kind: AccessKind;
}

function bits(v: number, hi: number, lo: number): number {
  return (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

function signExtend(v: number, width: number): bigint {
  const shift = 32 - width;
  return BigInt((v << shift) >> shift);
}

/** Rn as a base register: 31 is sp. */
function base(regs: A64Registers, n: number): bigint {
  return n === 31 ? regs.sp : regs.x(n);
}

/** Rm as an index: 31 is xzr. */
function index(regs: A64Registers, n: number): bigint {
  return n === 31 ? 0n : regs.x(n);
}

function at(addr: bigint): bigint {
  return addr & MASK64;
}

/** The address and direction of a load or store, or null for anything else. */
export function decodeAccess(insn: number, regs: A64Registers): Access | null {
  const op0 = bits(insn, 29, 27);
  const size = bits(insn, 31, 30);
  // Load/store register: size 111 V 0x opc ...
  if (op0 === 0b111 && bits(insn, 25, 24) === 0b01) return unsignedOffset(insn, regs, size);
  if (op0 === 0b111 && bits(insn, 25, 24) === 0b00) return registerForms(insn, regs, size);
  // Load/store pair: opc 101 V 0 idx L imm7 Rt2 Rn Rt
  if (op0 === 0b101 && bits(insn, 25, 25) === 0) return pair(insn, regs);
  // Exclusives and acquire/release (LDXR, STXR, LDAR, STLR, LDAXP...): size 001000 ...
  if (bits(insn, 29, 24) === 0b001000) {
    const load = bits(insn, 22, 22) === 1;
    return { addr: base(regs, bits(insn, 9, 5)), span: 16, kind: load ? 'read' : 'write' };
  }
  // SIMD load/store multiple or single structures (LD1..LD4, ST1..ST4): 0 Q 0011 00x L ...
  if (bits(insn, 31, 31) === 0 && (bits(insn, 29, 24) === 0b001100 || bits(insn, 29, 24) === 0b001101)) {
    const load = bits(insn, 22, 22) === 1;
    return { addr: base(regs, bits(insn, 9, 5)), span: 64, kind: load ? 'read' : 'write' };
  }
  return null;
}

/** LDR/STR (immediate, unsigned offset): imm12 scaled by the access size. */
function unsignedOffset(insn: number, regs: A64Registers, size: number): Access | null {
  const vector = bits(insn, 26, 26) === 1;
  const opc = bits(insn, 23, 22);
  const scale = vector && opc >= 2 ? 4 : size;
  const addr = at(base(regs, bits(insn, 9, 5)) + (BigInt(bits(insn, 21, 10)) << BigInt(scale)));
  return withKind(addr, 1 << scale, opc, vector, size);
}

/** Unscaled, pre-/post-indexed, unprivileged (imm9) and register-offset forms; LSE atomics. */
function registerForms(insn: number, regs: A64Registers, size: number): Access | null {
  const vector = bits(insn, 26, 26) === 1;
  const opc = bits(insn, 23, 22);
  const rn = base(regs, bits(insn, 9, 5));
  const span = vector && opc >= 2 ? 16 : 1 << size;
  if (bits(insn, 21, 21) === 0) {
    const mode = bits(insn, 11, 10);
    const imm = signExtend(bits(insn, 20, 12), 9);
    // Post-index (01) accesses the unmodified base; the others add the offset first.
    const addr = mode === 0b01 ? rn : at(rn + imm);
    return withKind(addr, span, opc, vector, size);
  }
  if (bits(insn, 11, 10) === 0b10) {
    const option = bits(insn, 15, 13);
    const shift = bits(insn, 12, 12) ? (vector && opc >= 2 ? 4 : size) : 0;
    const offset = extendRegister(index(regs, bits(insn, 20, 16)), option) << BigInt(shift);
    return withKind(at(rn + offset), span, opc, vector, size);
  }
  if (bits(insn, 11, 10) === 0b00 && !vector) {
    // LSE atomic memory operations (LDADD, SWP, ...) read and write at Rn.
    return { addr: rn, span, kind: 'write' };
  }
  return null;
}

/** LDP/STP in all forms: imm7 scaled by the element size; two elements. */
function pair(insn: number, regs: A64Registers): Access | null {
  const vector = bits(insn, 26, 26) === 1;
  const opc = bits(insn, 31, 30);
  const scale = vector ? 2 + opc : opc === 0b00 ? 2 : 3; // LDPSW (01) loads words
  const mode = bits(insn, 24, 23);
  const rn = base(regs, bits(insn, 9, 5));
  const offset = signExtend(bits(insn, 21, 15), 7) << BigInt(scale);
  const addr = mode === 0b01 ? rn : at(rn + offset);
  return { addr, span: 2 << scale, kind: bits(insn, 22, 22) === 1 ? 'read' : 'write' };
}

/** opc: 00 store, 01 load, 1x load-signed (or, for vectors, 128-bit and PRFM for size 3 opc 10). */
function withKind(addr: bigint, span: number, opc: number, vector: boolean, size: number): Access | null {
  if (!vector && size === 3 && opc === 0b10) return null; // PRFM: a hint, never faults
  const load = vector ? (opc & 1) === 1 : opc !== 0;
  return { addr, span, kind: load ? 'read' : 'write' };
}

/** The extended register of the register-offset forms (UXTW, LSL/UXTX, SXTW, SXTX). */
function extendRegister(v: bigint, option: number): bigint {
  switch (option) {
    case 0b010:
      return v & 0xffff_ffffn;
    case 0b110:
      return BigInt.asIntN(32, v);
    default:
      return v;
  }
}

/** Branches end a block: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR/BLR/RET, SVC and other exceptions. */
function isBranch(insn: number): boolean {
  return (
    (insn & 0x7c00_0000) === 0x1400_0000 || // B, BL
    (insn & 0x7e00_0000) === 0x3400_0000 || // CBZ, CBNZ
    (insn & 0x7e00_0000) === 0x3600_0000 || // TBZ, TBNZ
    (insn & 0xff00_0010) >>> 0 === 0x5400_0000 || // B.cond
    (insn & 0xfe00_0000) >>> 0 === 0xd600_0000 || // BR, BLR, RET
    (insn & 0xff00_0000) >>> 0 === 0xd400_0000 // SVC, HVC, BRK...
  );
}
