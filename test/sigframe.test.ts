// Signal frames on a real CPU: build Linux's rt_sigframe, enter the handler,
// come back with rt_sigreturn, on x86-64 and arm64.
import { afterEach, describe, expect, it } from 'vitest';
import { ARCHES } from '../src/arch/index.ts';
import {
  SA_ONSTACK,
  SA_RESTORER,
  SA_SIGINFO,
  SI_KERNEL,
  SI_QUEUE,
  SI_TIMER,
  SI_TKILL,
  SI_USER,
  SS_AUTODISARM,
  SS_DISABLE,
  decodeSigInfo,
  encodeSigInfo,
  pushSignalFrame,
  restoreSignalFrame,
  sigInfoLayout,
  sigreturnTrampoline,
  type AltStack,
  type SignalDelivery,
  type SignalFrame,
} from '../src/arch/sigframe.ts';
import { AARCH64_SIGFRAME, ESR_MAGIC, FPSIMD_CONTEXT_SIZE, FPSIMD_MAGIC } from '../src/arch/sigframe-aarch64.ts';
import { FIX_EFLAGS, FXSAVE, X86_64_GREG_ORDER, X86_64_SIGFRAME } from '../src/arch/sigframe-x86_64.ts';
import { CpuEngine, type CpuArch } from '../src/cpu/engine.ts';
import { UnicornGuest } from '../src/cpu/guest-engine.ts';
import * as UC from '../src/cpu/unicorn-constants.ts';
import { LinuxError } from '../src/kernel/errors.ts';
import { AddressSpace, PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/kernel/memory.ts';

// ---- the guest world --------------------------------------------------------------------

const CODE = 0x10000;
const DATA = 0x40000;
const TRAMPOLINE_PAGE = 0x50000;
const STACK_BASE = 0x100000;
const STACK_SIZE = 0x10000;
const STACK_TOP = STACK_BASE + STACK_SIZE;
const ALT_BASE = 0x200000;
const ALT_SIZE = 0x4000;
const RW = PROT_READ | PROT_WRITE;
const RX = PROT_READ | PROT_EXEC;

const HANDLER = CODE + 0x100;
const RESTORER = CODE + 0x200;
const SIGUSR1 = 10;
const SIGSEGV = 11;
const BLOCKED = (1n << 1n) | (1n << 14n) | (1n << 40n); // SIGINT, SIGALRM, a real-time signal

interface World {
  /** The engine itself, for setting up and checking registers. */
  cpu: CpuEngine;
  /** The same engine through the CPU port, as the signal frames see it. */
  guest: UnicornGuest;
  mem: AddressSpace;
  /** The syscall hook the current test installs. */
  hook: () => void;
}

const engines: CpuEngine[] = [];
afterEach(() => {
  while (engines.length) engines.pop()!.close();
});

function world(arch: CpuArch): World {
  const w = {} as World;
  w.hook = () => {};
  w.guest = new UnicornGuest(arch, { onSyscall: () => w.hook(), onUnmapped: () => false });
  w.cpu = w.guest.engine;
  engines.push(w.cpu);
  w.mem = new AddressSpace(ARCHES[arch].layout, w.cpu);
  w.mem.map(CODE, 0x1000, RX);
  w.mem.map(DATA, 0x1000, RW);
  w.mem.map(TRAMPOLINE_PAGE, 0x1000, RX);
  w.mem.map(STACK_BASE, STACK_SIZE, RW, { name: '[stack]' });
  w.mem.map(ALT_BASE, ALT_SIZE, RW);
  return w;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pattern = (seed: number, len = 16): Uint8Array => Uint8Array.from({ length: len }, (_, k) => (seed * 16 + k * 7 + 1) & 0xff);

function view(w: World, addr: number, len: number): DataView {
  const b = w.mem.read(addr, len);
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function expectLinuxError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(LinuxError);
  expect((caught as LinuxError).code).toBe(code);
}

// ---- per-arch register kits ----------------------------------------------------------------

interface Kit {
  arch: CpuArch;
  /** Give every register the frame holds a distinctive value. */
  setKnown(cpu: CpuEngine, sp: number, pc: number): void;
  /** Every register the frame holds, as strings for deep comparison. */
  snapshot(cpu: CpuEngine): Record<string, string>;
  /** Overwrite all of them with other values. */
  clobber(cpu: CpuEngine): void;
  get(cpu: CpuEngine, name: string): bigint;
  set(cpu: CpuEngine, name: string, value: bigint): void;
  /** Where rt_sigreturn expects the stack pointer once the handler returned. */
  spAtSigreturn(f: SignalFrame): number;
  syscallNr: { getpid: number; rt_sigreturn: number };
  nrReg: string;
  retReg: string;
  /** hook pc -> the pc after the syscall instruction */
  nextPc(hookPc: number): number;
}

// x86-64 -----------------------------------------------------------------------------

const X86_IDS: Record<string, number> = {
  r8: UC.UC_X86_REG_R8, r9: UC.UC_X86_REG_R9, r10: UC.UC_X86_REG_R10, r11: UC.UC_X86_REG_R11,
  r12: UC.UC_X86_REG_R12, r13: UC.UC_X86_REG_R13, r14: UC.UC_X86_REG_R14, r15: UC.UC_X86_REG_R15,
  rdi: UC.UC_X86_REG_RDI, rsi: UC.UC_X86_REG_RSI, rbp: UC.UC_X86_REG_RBP, rbx: UC.UC_X86_REG_RBX,
  rdx: UC.UC_X86_REG_RDX, rax: UC.UC_X86_REG_RAX, rcx: UC.UC_X86_REG_RCX, rsp: UC.UC_X86_REG_RSP,
  rip: UC.UC_X86_REG_RIP, eflags: UC.UC_X86_REG_RFLAGS,
  fcw: UC.UC_X86_REG_FPCW, fsw: UC.UC_X86_REG_FPSW, ftag: UC.UC_X86_REG_FPTAG, mxcsr: UC.UC_X86_REG_MXCSR,
  fop: UC.UC_X86_REG_FOP, fip: UC.UC_X86_REG_FIP, fdp: UC.UC_X86_REG_FDP,
};
const X86_WIDTH: Record<string, bigint> = { fcw: 0xffffn, fsw: 0xffffn, ftag: 0xffffn, mxcsr: 0xffff_ffffn, fop: 0xffffn };
/** CF PF ZF SF DF OF and the always-one bit 1. */
const X86_KNOWN_FLAGS = 0x1n | 0x2n | 0x4n | 0x40n | 0x80n | 0x400n | 0x800n;
const EFLAGS_DF = 0x400n;

function x86Get(cpu: CpuEngine, name: string): bigint {
  const b = cpu.registers([X86_IDS[name]!]);
  b.values[0] = 0n;
  b.read();
  return b.values[0]! & (X86_WIDTH[name] ?? 0xffff_ffff_ffff_ffffn);
}

function x86Set(cpu: CpuEngine, name: string, value: bigint): void {
  const b = cpu.registers([X86_IDS[name]!]);
  b.values[0] = value;
  b.write();
}

/** ST(i) holds 10 bytes; pad them into a 16-byte buffer. */
function st(seed: number): Uint8Array {
  const b = new Uint8Array(16);
  b.set(pattern(seed, 10));
  b[9] = 0x40; // a sane exponent sign/top byte
  return b;
}

const x86: Kit = {
  arch: 'x86_64',
  setKnown(cpu, sp, pc) {
    X86_64_GREG_ORDER.forEach((name, i) => x86Set(cpu, name, 0x8000_0000_0000_0000n | (0x0101_0101_0101n * BigInt(i + 1))));
    x86Set(cpu, 'rsp', BigInt(sp));
    x86Set(cpu, 'rip', BigInt(pc));
    x86Set(cpu, 'eflags', X86_KNOWN_FLAGS);
    x86Set(cpu, 'fcw', 0x27fn);
    x86Set(cpu, 'fsw', 0x2821n); // TOP = 5, PE and IE
    for (let i = 0; i < 8; i++) cpu.writeRaw(UC.UC_X86_REG_ST0 + i, st(i + 1));
    x86Set(cpu, 'ftag', 0x0fffn); // physical 6 and 7 in use
    x86Set(cpu, 'mxcsr', 0x1fa0n); // default | PE flag
    x86Set(cpu, 'fop', 0x123n);
    x86Set(cpu, 'fip', 0x401234n);
    x86Set(cpu, 'fdp', 0x7ffe1000n);
    for (let i = 0; i < 16; i++) cpu.writeRaw(UC.UC_X86_REG_XMM0 + i, pattern(i + 1));
  },
  snapshot(cpu) {
    const s: Record<string, string> = {};
    for (const name of Object.keys(X86_IDS)) s[name] = x86Get(cpu, name).toString(16);
    // fxsave keeps only "empty or not" per register.
    const tags = Number(x86Get(cpu, 'ftag'));
    s.ftag = Array.from({ length: 8 }, (_, i) => (((tags >> (2 * i)) & 3) === 3 ? 'e' : 'v')).join('');
    for (let i = 0; i < 8; i++) {
      const b = new Uint8Array(16);
      cpu.readRaw(UC.UC_X86_REG_ST0 + i, b);
      s[`st${i}`] = hex(b.subarray(0, 10));
    }
    for (let i = 0; i < 16; i++) {
      const b = new Uint8Array(16);
      cpu.readRaw(UC.UC_X86_REG_XMM0 + i, b);
      s[`xmm${i}`] = hex(b);
    }
    return s;
  },
  clobber(cpu) {
    for (const name of X86_64_GREG_ORDER) if (name !== 'eflags') x86Set(cpu, name, 0xdead_beef_0000_0000n | BigInt(name.length));
    x86Set(cpu, 'eflags', 0x2n);
    x86Set(cpu, 'fcw', 0x37fn);
    x86Set(cpu, 'fsw', 0n);
    x86Set(cpu, 'ftag', 0xffffn);
    x86Set(cpu, 'mxcsr', 0x1f80n);
    x86Set(cpu, 'fop', 0n);
    x86Set(cpu, 'fip', 0n);
    x86Set(cpu, 'fdp', 0n);
    for (let i = 0; i < 8; i++) cpu.writeRaw(UC.UC_X86_REG_ST0 + i, new Uint8Array(16).fill(0x33));
    for (let i = 0; i < 16; i++) cpu.writeRaw(UC.UC_X86_REG_XMM0 + i, new Uint8Array(16).fill(0xee));
  },
  get: x86Get,
  set: x86Set,
  spAtSigreturn: (f) => f.sp + 8, // the handler's ret popped pretcode
  syscallNr: { getpid: 39, rt_sigreturn: 15 },
  nrReg: 'rax',
  retReg: 'rax',
  nextPc: (pc) => pc + 2, // Unicorn reports the syscall instruction itself
};

// arm64 --------------------------------------------------------------------------------

const A64_IDS: Record<string, number> = {
  sp: UC.UC_ARM64_REG_SP, pc: UC.UC_ARM64_REG_PC, nzcv: UC.UC_ARM64_REG_NZCV,
  fpsr: UC.UC_ARM64_REG_FPSR, fpcr: UC.UC_ARM64_REG_FPCR,
};
for (let i = 0; i <= 30; i++) A64_IDS[`x${i}`] = i === 29 ? UC.UC_ARM64_REG_X29 : i === 30 ? UC.UC_ARM64_REG_X30 : UC.UC_ARM64_REG_X0 + i;
const A64_WIDTH: Record<string, bigint> = { nzcv: 0xffff_ffffn, fpsr: 0xffff_ffffn, fpcr: 0xffff_ffffn };

function a64Get(cpu: CpuEngine, name: string): bigint {
  const b = cpu.registers([A64_IDS[name]!]);
  b.values[0] = 0n;
  b.read();
  return b.values[0]! & (A64_WIDTH[name] ?? 0xffff_ffff_ffff_ffffn);
}

function a64Set(cpu: CpuEngine, name: string, value: bigint): void {
  const b = cpu.registers([A64_IDS[name]!]);
  b.values[0] = value;
  b.write();
}

const a64: Kit = {
  arch: 'aarch64',
  setKnown(cpu, sp, pc) {
    for (let i = 0; i <= 30; i++) a64Set(cpu, `x${i}`, 0xa5a5_0000_0000_0000n | (0x0001_0001_0001n * BigInt(i + 1)));
    a64Set(cpu, 'sp', BigInt(sp));
    a64Set(cpu, 'pc', BigInt(pc));
    a64Set(cpu, 'nzcv', 0x9000_0000n); // N and V
    a64Set(cpu, 'fpsr', 0x8000_009fn);
    a64Set(cpu, 'fpcr', 0x03c0_0000n);
    for (let i = 0; i < 32; i++) cpu.writeRaw(UC.UC_ARM64_REG_Q0 + i, pattern(i + 1));
  },
  snapshot(cpu) {
    const s: Record<string, string> = {};
    for (const name of Object.keys(A64_IDS)) s[name] = a64Get(cpu, name).toString(16);
    for (let i = 0; i < 32; i++) {
      const b = new Uint8Array(16);
      cpu.readRaw(UC.UC_ARM64_REG_Q0 + i, b);
      s[`q${i}`] = hex(b);
    }
    return s;
  },
  clobber(cpu) {
    for (let i = 0; i <= 30; i++) a64Set(cpu, `x${i}`, 0xdead_beef_0000_0000n | BigInt(i));
    a64Set(cpu, 'pc', 0xdead_0000n);
    a64Set(cpu, 'nzcv', 0x4000_0000n);
    a64Set(cpu, 'fpsr', 0n);
    a64Set(cpu, 'fpcr', 0n);
    for (let i = 0; i < 32; i++) cpu.writeRaw(UC.UC_ARM64_REG_Q0 + i, new Uint8Array(16).fill(0xee));
  },
  get: a64Get,
  set: a64Set,
  spAtSigreturn: (f) => f.sp,
  syscallNr: { getpid: 172, rt_sigreturn: 139 },
  nrReg: 'x8',
  retReg: 'x0',
  nextPc: (pc) => pc, // the svc has completed: pc is past it
};

const KITS: Record<CpuArch, Kit> = { x86_64: x86, aarch64: a64 };

function delivery(over: Partial<SignalDelivery> = {}): SignalDelivery {
  return {
    sig: SIGUSR1,
    info: { signo: SIGUSR1, code: SI_TKILL, pid: 4242, uid: 1000 },
    handler: HANDLER,
    flags: SA_SIGINFO | SA_RESTORER,
    restorer: RESTORER,
    blockedMask: BLOCKED,
    altStack: null,
    ...over,
  };
}

/** The interrupted stack pointer used by most tests: deliberately not 16-byte aligned on x86. */
const spFor = (arch: CpuArch): number => (arch === 'x86_64' ? STACK_TOP - 0x238 : STACK_TOP - 0x240);

// ---- x86-64 layout ---------------------------------------------------------------------------

describe('x86-64 rt_sigframe', () => {
  const L = X86_64_SIGFRAME;

  it('saves the context where Linux does and enters the handler like a call', () => {
    const w = world('x86_64');
    const sp = spFor('x86_64');
    x86.setKnown(w.cpu, sp, CODE + 2);
    const before = x86.snapshot(w.cpu);
    const f = pushSignalFrame('x86_64', w.guest, w.mem, delivery({ fault: { addr: 0xbad000, trapno: 14, err: 6 } }));

    // Handler entry.
    expect(x86Get(w.cpu, 'rip')).toBe(BigInt(HANDLER));
    const rsp = Number(x86Get(w.cpu, 'rsp'));
    expect(rsp).toBe(f.sp);
    expect(rsp % 16).toBe(8);
    expect(rsp + L.size).toBeLessThanOrEqual(sp - 128); // below the red zone
    expect(x86Get(w.cpu, 'rdi')).toBe(BigInt(SIGUSR1));
    expect(x86Get(w.cpu, 'rsi')).toBe(BigInt(rsp + L.info));
    expect(x86Get(w.cpu, 'rdx')).toBe(BigInt(rsp + L.uc));
    expect(x86Get(w.cpu, 'rax')).toBe(0n);
    expect(f).toMatchObject({ info: rsp + L.info, uc: rsp + L.uc, onAltStack: false, disarmAltStack: false });
    expect(x86Get(w.cpu, 'eflags') & EFLAGS_DF).toBe(0n); // cleared for the handler
    // Untouched registers keep their values.
    expect(x86Get(w.cpu, 'rbx').toString(16)).toBe(before.rbx);
    expect(x86Get(w.cpu, 'r15').toString(16)).toBe(before.r15);
    // fpu__clear_user_states: the handler starts with a clean FPU.
    expect(x86Get(w.cpu, 'mxcsr')).toBe(0x1f80n);
    expect(x86Get(w.cpu, 'fcw')).toBe(0x37fn);
    const xmm = new Uint8Array(16);
    w.cpu.readRaw(UC.UC_X86_REG_XMM0 + 5, xmm);
    expect(hex(xmm)).toBe('00'.repeat(16));

    // The frame.
    const v = view(w, rsp, L.size);
    expect(v.getBigUint64(L.pretcode, true)).toBe(BigInt(RESTORER));
    expect(v.getBigUint64(L.uc + L.ucFlags, true)).toBe(6n); // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
    expect(v.getBigUint64(L.uc + L.ucLink, true)).toBe(0n);
    expect(v.getBigUint64(L.uc + L.ucStack, true)).toBe(0n);
    expect(v.getInt32(L.uc + L.ucStack + 8, true)).toBe(SS_DISABLE);
    expect(v.getBigUint64(L.uc + L.ucSigmask, true)).toBe(BLOCKED);
    const sc = L.uc + L.ucMcontext;
    X86_64_GREG_ORDER.forEach((name, i) => {
      expect(v.getBigUint64(sc + 8 * i, true).toString(16), name).toBe(before[name]);
    });
    // glibc's REG_RIP (16) and REG_RSP (15) of mcontext_t.gregs
    expect(v.getBigUint64(sc + 8 * 16, true)).toBe(BigInt(CODE + 2));
    expect(v.getBigUint64(sc + 8 * 15, true)).toBe(BigInt(sp));
    expect(v.getUint16(sc + L.scCs, true)).toBe(0x33);
    expect(v.getUint16(sc + L.scSs, true)).toBe(0x2b);
    expect(v.getBigUint64(sc + L.scErr, true)).toBe(6n);
    expect(v.getBigUint64(sc + L.scTrapno, true)).toBe(14n);
    expect(v.getBigUint64(sc + L.scOldmask, true)).toBe(BLOCKED);
    expect(v.getBigUint64(sc + L.scCr2, true)).toBe(0xbad000n);

    // siginfo at &info
    const info = view(w, f.info, 128);
    expect(info.getInt32(0, true)).toBe(SIGUSR1);
    expect(info.getInt32(4, true)).toBe(0);
    expect(info.getInt32(8, true)).toBe(SI_TKILL);
    expect(info.getInt32(16, true)).toBe(4242);
    expect(info.getUint32(20, true)).toBe(1000);

    // The fxsave image, 64-byte aligned, between the frame and the red zone.
    const fp = Number(v.getBigUint64(sc + L.scFpstate, true));
    expect(fp % 64).toBe(0);
    expect(fp).toBeGreaterThanOrEqual(rsp + L.size);
    expect(fp + 512).toBeLessThanOrEqual(sp - 128);
    const fx = view(w, fp, 512);
    expect(fx.getUint16(FXSAVE.fcw, true)).toBe(0x27f);
    expect(fx.getUint16(FXSAVE.fsw, true)).toBe(0x2821);
    expect(fx.getUint8(FXSAVE.ftw)).toBe(0xc0); // physical 6 and 7 valid
    expect(fx.getUint16(FXSAVE.fop, true)).toBe(0x123);
    expect(fx.getBigUint64(FXSAVE.fip, true)).toBe(0x401234n);
    expect(fx.getUint32(FXSAVE.mxcsr, true)).toBe(0x1fa0);
    expect(fx.getUint32(FXSAVE.mxcsrMask, true)).toBe(0xffff);
    const fxBytes = new Uint8Array(fx.buffer, fx.byteOffset, 512);
    for (let i = 0; i < 16; i++) expect(hex(fxBytes.subarray(FXSAVE.xmm + 16 * i, FXSAVE.xmm + 16 * i + 16)), `xmm${i}`).toBe(before[`xmm${i}`]);
    for (let i = 0; i < 8; i++) expect(hex(fxBytes.subarray(FXSAVE.st + 16 * i, FXSAVE.st + 16 * i + 10)), `st${i}`).toBe(before[`st${i}`]);
  });

  it('restores only the user-changeable eflags (FIX_EFLAGS)', () => {
    const w = world('x86_64');
    x86.setKnown(w.cpu, spFor('x86_64'), CODE);
    const f = pushSignalFrame('x86_64', w.guest, w.mem, delivery());
    const flagsAt = f.uc + L.ucMcontext + L.scEflags;
    // The handler sets every flag bit in the saved context, IF/IOPL/NT/VM included.
    w.mem.writeU64(flagsAt, 0xffff_ffffn);
    x86Set(w.cpu, 'rsp', BigInt(f.sp + 8));
    const current = x86Get(w.cpu, 'eflags');
    restoreSignalFrame('x86_64', w.guest, w.mem);
    const now = x86Get(w.cpu, 'eflags');
    expect(now & FIX_EFLAGS).toBe(FIX_EFLAGS & 0xffff_ffffn);
    expect(now & ~FIX_EFLAGS & ~0x2n & 0x3fffffn).toBe(current & ~FIX_EFLAGS & ~0x2n & 0x3fffffn);
  });

  it('requires SA_RESTORER, as Linux does on x86-64', () => {
    const w = world('x86_64');
    x86.setKnown(w.cpu, spFor('x86_64'), CODE);
    const before = x86.snapshot(w.cpu);
    expectLinuxError(() => pushSignalFrame('x86_64', w.guest, w.mem, delivery({ flags: SA_SIGINFO })), 'EFAULT');
    expect(x86.snapshot(w.cpu)).toEqual(before);
  });

  it('starts the FPU afresh when fpstate is NULL, and rejects a bad fpstate', () => {
    const w = world('x86_64');
    x86.setKnown(w.cpu, spFor('x86_64'), CODE);
    let f = pushSignalFrame('x86_64', w.guest, w.mem, delivery());
    const fpAt = f.uc + L.ucMcontext + L.scFpstate;
    const fp = w.mem.readU64(fpAt);

    // Reserved MXCSR bits: fxrstor would fault, so sigreturn fails and nothing changes.
    w.mem.writeU32(fp + FXSAVE.mxcsr, 0x1_1f80);
    x86Set(w.cpu, 'rsp', BigInt(f.sp + 8));
    let before = x86.snapshot(w.cpu);
    expectLinuxError(() => restoreSignalFrame('x86_64', w.guest, w.mem), 'EINVAL');
    expect(x86.snapshot(w.cpu)).toEqual(before);

    // Misaligned fpstate.
    w.mem.writeU64(fpAt, fp + 8);
    expectLinuxError(() => restoreSignalFrame('x86_64', w.guest, w.mem), 'EINVAL');
    // Unreadable fpstate.
    w.mem.writeU64(fpAt, 0x7000_0000);
    expectLinuxError(() => restoreSignalFrame('x86_64', w.guest, w.mem), 'EFAULT');
    expect(x86.snapshot(w.cpu)).toEqual(before);

    // NULL: init state.
    x86.setKnown(w.cpu, spFor('x86_64'), CODE);
    f = pushSignalFrame('x86_64', w.guest, w.mem, delivery());
    w.mem.writeU64(f.uc + L.ucMcontext + L.scFpstate, 0);
    x86Set(w.cpu, 'rsp', BigInt(f.sp + 8));
    x86Set(w.cpu, 'mxcsr', 0x1fa0n);
    w.cpu.writeRaw(UC.UC_X86_REG_XMM0 + 3, pattern(9));
    restoreSignalFrame('x86_64', w.guest, w.mem);
    before = x86.snapshot(w.cpu);
    expect(before.mxcsr).toBe('1f80');
    expect(before.fcw).toBe('37f');
    expect(before.xmm3).toBe('00'.repeat(16));
    expect(before.rip).toBe(CODE.toString(16));
  });

  it('refuses to overflow the alternate stack', () => {
    const w = world('x86_64');
    x86.setKnown(w.cpu, spFor('x86_64'), CODE);
    const small: AltStack = { sp: ALT_BASE, size: 0x300, flags: 0 };
    expectLinuxError(
      () => pushSignalFrame('x86_64', w.guest, w.mem, delivery({ flags: SA_SIGINFO | SA_RESTORER | SA_ONSTACK, altStack: small })),
      'EFAULT',
    );
  });
});

// ---- arm64 layout ---------------------------------------------------------------------------------

describe('arm64 rt_sigframe', () => {
  const L = AARCH64_SIGFRAME;

  it('saves the context where Linux does and enters the handler', () => {
    const w = world('aarch64');
    const sp = STACK_TOP - 0x248; // not 16-byte aligned: the frame still is
    a64.setKnown(w.cpu, sp, CODE + 4);
    const before = a64.snapshot(w.cpu);
    const f = pushSignalFrame('aarch64', w.guest, w.mem, delivery({ fault: { addr: 0xbad000, esr: 0x9200_0046n } }));

    // Handler entry.
    expect(a64Get(w.cpu, 'pc')).toBe(BigInt(HANDLER));
    const fsp = Number(a64Get(w.cpu, 'sp'));
    expect(fsp).toBe(f.sp);
    expect(fsp % 16).toBe(0);
    const record = fsp + L.size;
    expect(record).toBe(Math.floor((sp - 16) / 16) * 16);
    expect(a64Get(w.cpu, 'x0')).toBe(BigInt(SIGUSR1));
    expect(a64Get(w.cpu, 'x1')).toBe(BigInt(fsp + L.info));
    expect(a64Get(w.cpu, 'x2')).toBe(BigInt(fsp + L.uc));
    expect(a64Get(w.cpu, 'x29')).toBe(BigInt(record));
    expect(a64Get(w.cpu, 'x30')).toBe(BigInt(RESTORER));
    expect(f).toMatchObject({ info: fsp, uc: fsp + 128, onAltStack: false, disarmAltStack: false });
    expect(a64Get(w.cpu, 'x3').toString(16)).toBe(before.x3);
    // arm64 leaves the FP/SIMD registers to the handler as they were.
    const q = new Uint8Array(16);
    w.cpu.readRaw(UC.UC_ARM64_REG_Q0 + 7, q);
    expect(hex(q)).toBe(before.q7);

    // The frame record: the interrupted fp and lr.
    const rec = view(w, record, 16);
    expect(rec.getBigUint64(0, true).toString(16)).toBe(before.x29);
    expect(rec.getBigUint64(8, true).toString(16)).toBe(before.x30);

    const v = view(w, fsp, L.size);
    // siginfo
    expect(v.getInt32(L.info, true)).toBe(SIGUSR1);
    expect(v.getInt32(L.info + 8, true)).toBe(SI_TKILL);
    expect(v.getInt32(L.info + 16, true)).toBe(4242);
    expect(v.getUint32(L.info + 20, true)).toBe(1000);
    // ucontext
    const uc = L.uc;
    expect(v.getBigUint64(uc + L.ucFlags, true)).toBe(0n);
    expect(v.getBigUint64(uc + L.ucLink, true)).toBe(0n);
    expect(v.getInt32(uc + L.ucStack + 8, true)).toBe(SS_DISABLE);
    expect(v.getBigUint64(uc + L.ucSigmask, true)).toBe(BLOCKED);
    const sc = uc + L.ucMcontext;
    expect((fsp + sc) % 16).toBe(0);
    expect(v.getBigUint64(sc + L.scFaultAddress, true)).toBe(0xbad000n);
    for (let i = 0; i <= 30; i++) expect(v.getBigUint64(sc + L.scRegs + 8 * i, true).toString(16), `x${i}`).toBe(before[`x${i}`]);
    expect(v.getBigUint64(sc + L.scSp, true)).toBe(BigInt(sp));
    expect(v.getBigUint64(sc + L.scPc, true)).toBe(BigInt(CODE + 4));
    expect(v.getBigUint64(sc + L.scPstate, true)).toBe(0x9000_0000n);
    // __reserved: fpsimd_context, esr_context, terminator
    const r0 = sc + L.scReserved;
    expect(v.getUint32(r0, true)).toBe(FPSIMD_MAGIC);
    expect(v.getUint32(r0 + 4, true)).toBe(FPSIMD_CONTEXT_SIZE);
    expect(v.getUint32(r0 + 8, true)).toBe(0x8000_009f);
    expect(v.getUint32(r0 + 12, true)).toBe(0x03c0_0000);
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    for (let i = 0; i < 32; i++) expect(hex(bytes.subarray(r0 + 16 + 16 * i, r0 + 32 + 16 * i)), `v${i}`).toBe(before[`q${i}`]);
    const r1 = r0 + 528;
    expect(v.getUint32(r1, true)).toBe(ESR_MAGIC);
    expect(v.getUint32(r1 + 4, true)).toBe(16);
    expect(v.getBigUint64(r1 + 8, true)).toBe(0x9200_0046n);
    expect(v.getUint32(r1 + 16, true)).toBe(0);
    expect(v.getUint32(r1 + 20, true)).toBe(0);

    // The ESR record is skipped on the way back.
    a64.clobber(w.cpu);
    a64Set(w.cpu, 'sp', BigInt(fsp));
    restoreSignalFrame('aarch64', w.guest, w.mem);
    expect(a64.snapshot(w.cpu)).toEqual(before);
  });

  it('without SA_SIGINFO leaves x1 and x2 alone', () => {
    const w = world('aarch64');
    a64.setKnown(w.cpu, spFor('aarch64'), CODE);
    const x1 = a64Get(w.cpu, 'x1');
    pushSignalFrame('aarch64', w.guest, w.mem, delivery({ flags: SA_RESTORER }));
    expect(a64Get(w.cpu, 'x1')).toBe(x1);
    expect(a64Get(w.cpu, 'x0')).toBe(BigInt(SIGUSR1));
  });

  it('returns through the sigreturn trampoline when there is no SA_RESTORER', () => {
    const w = world('aarch64');
    a64.setKnown(w.cpu, spFor('aarch64'), CODE);
    const before = a64.snapshot(w.cpu);
    expectLinuxError(() => pushSignalFrame('aarch64', w.guest, w.mem, delivery({ flags: SA_SIGINFO })), 'EFAULT');
    expect(a64.snapshot(w.cpu)).toEqual(before);
    const tramp = TRAMPOLINE_PAGE + 0x40;
    pushSignalFrame('aarch64', w.guest, w.mem, delivery({ flags: SA_SIGINFO, sigreturnTrampoline: tramp }));
    expect(a64Get(w.cpu, 'x30')).toBe(BigInt(tramp));
    expect(hex(w.mem.read(tramp, 8))).toBe(hex(sigreturnTrampoline('aarch64')));
    expect(hex(sigreturnTrampoline('aarch64'))).toBe('681180d2010000d4'); // mov x8, #139; svc #0
  });

  it('only restores NZCV of pstate and rejects a privileged pstate', () => {
    const w = world('aarch64');
    a64.setKnown(w.cpu, spFor('aarch64'), CODE);
    const f = pushSignalFrame('aarch64', w.guest, w.mem, delivery());
    const pstateAt = f.uc + L.ucMcontext + L.scPstate;
    w.mem.writeU64(pstateAt, 0x6000_0000n | (1n << 12n)); // Z, C and SSBS
    restoreSignalFrame('aarch64', w.guest, w.mem);
    expect(a64Get(w.cpu, 'nzcv')).toBe(0x6000_0000n);

    a64.setKnown(w.cpu, spFor('aarch64'), CODE);
    const g = pushSignalFrame('aarch64', w.guest, w.mem, delivery());
    for (const bad of [0x5n /* EL1h */, 0x10n /* AArch32 */, 0x80n /* IRQs masked */]) {
      w.mem.writeU64(g.uc + L.ucMcontext + L.scPstate, bad);
      const before = a64.snapshot(w.cpu);
      expectLinuxError(() => restoreSignalFrame('aarch64', w.guest, w.mem), 'EINVAL');
      expect(a64.snapshot(w.cpu)).toEqual(before);
    }
  });

  it('validates the __reserved records and sp on rt_sigreturn', () => {
    const w = world('aarch64');
    a64.setKnown(w.cpu, spFor('aarch64'), CODE);
    const f = pushSignalFrame('aarch64', w.guest, w.mem, delivery());
    const res = f.uc + L.ucMcontext + L.scReserved;
    const original = w.mem.read(res, 544);
    const before = a64.snapshot(w.cpu);
    const corrupt: [string, () => void][] = [
      ['bad fpsimd magic', () => w.mem.writeU32(res, 0x1234)],
      ['SVE record on a CPU without SVE', () => w.mem.writeU32(res, 0x5356_4501)],
      ['fpsimd size wrong', () => w.mem.writeU32(res + 4, 512)],
      ['record overruns __reserved', () => w.mem.writeU32(res + 4, 8192)],
      ['terminator with a size', () => w.mem.writeU32(res + 528 + 4, 16)],
      ['no terminator', () => w.mem.write(res + 528, new Uint8Array(4096 - 528).fill(0x41))],
      ['two fpsimd records', () => w.mem.write(res + 528, w.mem.read(res, 528))],
    ];
    for (const [what, damage] of corrupt) {
      w.mem.write(res, original);
      w.mem.write(res + 528, new Uint8Array(4096 - 528));
      damage();
      let err: unknown;
      try {
        restoreSignalFrame('aarch64', w.guest, w.mem);
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(LinuxError);
      expect(a64.snapshot(w.cpu), what).toEqual(before);
    }
    a64Set(w.cpu, 'sp', BigInt(f.sp + 8));
    expectLinuxError(() => restoreSignalFrame('aarch64', w.guest, w.mem), 'EINVAL');
  });
});

// ---- both arches ------------------------------------------------------------------------------------

describe.each(['x86_64', 'aarch64'] as const)('%s signal frames', (arch) => {
  const kit = KITS[arch];

  it('restores every register after the handler clobbered them all', () => {
    const w = world(arch);
    kit.setKnown(w.cpu, spFor(arch), CODE + 0x20);
    const before = kit.snapshot(w.cpu);
    const f = pushSignalFrame(arch, w.guest, w.mem, delivery());
    kit.clobber(w.cpu);
    kit.set(w.cpu, arch === 'x86_64' ? 'rsp' : 'sp', BigInt(kit.spAtSigreturn(f)));
    const { mask, altStack } = restoreSignalFrame(arch, w.guest, w.mem);
    expect(kit.snapshot(w.cpu)).toEqual(before);
    expect(mask).toBe(BLOCKED);
    expect(altStack).toEqual({ sp: 0, size: 0, flags: SS_DISABLE });
  });

  it('takes changes the handler made to the saved context', () => {
    const w = world(arch);
    kit.setKnown(w.cpu, spFor(arch), CODE);
    const f = pushSignalFrame(arch, w.guest, w.mem, delivery());
    if (arch === 'x86_64') {
      const sc = f.uc + X86_64_SIGFRAME.ucMcontext;
      w.mem.writeU64(sc + 8 * 11, 0x1234n); // rbx
      w.mem.writeU64(sc + 8 * 16, CODE + 0x80); // rip: resume elsewhere
      w.mem.writeU64(f.uc + X86_64_SIGFRAME.ucSigmask, 1n << 5n);
    } else {
      const sc = f.uc + AARCH64_SIGFRAME.ucMcontext;
      w.mem.writeU64(sc + AARCH64_SIGFRAME.scRegs + 8 * 19, 0x1234n);
      w.mem.writeU64(sc + AARCH64_SIGFRAME.scPc, CODE + 0x80);
      w.mem.writeU64(f.uc + AARCH64_SIGFRAME.ucSigmask, 1n << 5n);
    }
    kit.set(w.cpu, arch === 'x86_64' ? 'rsp' : 'sp', BigInt(kit.spAtSigreturn(f)));
    const { mask } = restoreSignalFrame(arch, w.guest, w.mem);
    expect(kit.get(w.cpu, arch === 'x86_64' ? 'rbx' : 'x19')).toBe(0x1234n);
    expect(kit.get(w.cpu, arch === 'x86_64' ? 'rip' : 'pc')).toBe(BigInt(CODE + 0x80));
    expect(mask).toBe(1n << 5n);
  });

  it('never hands back SIGKILL or SIGSTOP as blocked', () => {
    const w = world(arch);
    kit.setKnown(w.cpu, spFor(arch), CODE);
    const all = (1n << 64n) - 1n;
    const f = pushSignalFrame(arch, w.guest, w.mem, delivery({ blockedMask: all }));
    kit.set(w.cpu, arch === 'x86_64' ? 'rsp' : 'sp', BigInt(kit.spAtSigreturn(f)));
    const { mask } = restoreSignalFrame(arch, w.guest, w.mem);
    expect(mask).toBe(all & ~(1n << 8n) & ~(1n << 18n));
  });

  it('fails with EFAULT, registers untouched, when the stack is unmapped or read-only', () => {
    const w = world(arch);
    for (const sp of [0x7000_0000, STACK_BASE + 0x100 /* frame would run below the mapping */]) {
      kit.setKnown(w.cpu, sp, CODE);
      const before = kit.snapshot(w.cpu);
      expectLinuxError(() => pushSignalFrame(arch, w.guest, w.mem, delivery()), 'EFAULT');
      expect(kit.snapshot(w.cpu)).toEqual(before);
    }
    w.mem.protect(STACK_BASE, STACK_SIZE, PROT_READ);
    kit.setKnown(w.cpu, spFor(arch), CODE);
    const before = kit.snapshot(w.cpu);
    expectLinuxError(() => pushSignalFrame(arch, w.guest, w.mem, delivery()), 'EFAULT');
    expect(kit.snapshot(w.cpu)).toEqual(before);
    // rt_sigreturn with the stack pointer in unmapped memory
    kit.set(w.cpu, arch === 'x86_64' ? 'rsp' : 'sp', 0x7000_0000n);
    const again = kit.snapshot(w.cpu);
    expectLinuxError(() => restoreSignalFrame(arch, w.guest, w.mem), 'EFAULT');
    expect(kit.snapshot(w.cpu)).toEqual(again);
  });

  it('uses the alternate stack only with SA_ONSTACK, and not twice', () => {
    const w = world(arch);
    const alt: AltStack = { sp: ALT_BASE, size: ALT_SIZE, flags: 0 };
    const spName = arch === 'x86_64' ? 'rsp' : 'sp';
    const inAlt = (a: number): boolean => a >= ALT_BASE && a < ALT_BASE + ALT_SIZE;

    // Configured but the action lacks SA_ONSTACK: normal stack, uc_stack still records it.
    kit.setKnown(w.cpu, spFor(arch), CODE);
    let f = pushSignalFrame(arch, w.guest, w.mem, delivery({ altStack: alt }));
    expect(inAlt(f.sp)).toBe(false);
    expect(f.onAltStack).toBe(false);
    const ucStack = f.uc + (arch === 'x86_64' ? X86_64_SIGFRAME.ucStack : AARCH64_SIGFRAME.ucStack);
    let st = view(w, ucStack, 24);
    expect(Number(st.getBigUint64(0, true))).toBe(ALT_BASE);
    expect(st.getInt32(8, true)).toBe(0);
    expect(Number(st.getBigUint64(16, true))).toBe(ALT_SIZE);

    // SA_ONSTACK: the frame goes at the top of the alternate stack (no red zone there).
    kit.setKnown(w.cpu, spFor(arch), CODE);
    const onstack = SA_SIGINFO | SA_RESTORER | SA_ONSTACK;
    f = pushSignalFrame(arch, w.guest, w.mem, delivery({ flags: onstack, altStack: alt }));
    expect(inAlt(f.sp)).toBe(true);
    expect(f.onAltStack).toBe(true);
    expect(Number(kit.get(w.cpu, spName))).toBe(f.sp);
    if (arch === 'x86_64') {
      const fp = w.mem.readU64(f.uc + X86_64_SIGFRAME.ucMcontext + X86_64_SIGFRAME.scFpstate);
      expect(fp).toBe(ALT_BASE + ALT_SIZE - 512);
      expect(f.sp % 16).toBe(8);
    } else {
      expect(f.sp + AARCH64_SIGFRAME.size).toBe(ALT_BASE + ALT_SIZE - 16);
    }
    const outer = f;

    // A second signal while on the alternate stack nests below the current sp.
    const nestedSp = outer.sp - 0x40;
    kit.set(w.cpu, spName, BigInt(nestedSp));
    f = pushSignalFrame(arch, w.guest, w.mem, delivery({ flags: onstack, altStack: alt }));
    expect(inAlt(f.sp)).toBe(true);
    expect(f.onAltStack).toBe(true);
    expect(f.sp).toBeLessThan(nestedSp - (arch === 'x86_64' ? 128 : 0));

    // Disabled: the normal stack even with SA_ONSTACK.
    kit.setKnown(w.cpu, spFor(arch), CODE);
    f = pushSignalFrame(arch, w.guest, w.mem, delivery({ flags: onstack, altStack: { sp: 0, size: 0, flags: SS_DISABLE } }));
    expect(inAlt(f.sp)).toBe(false);

    // SS_AUTODISARM: the kernel is told to disarm; uc_stack keeps the flag for sigreturn.
    kit.setKnown(w.cpu, spFor(arch), CODE);
    const auto: AltStack = { sp: ALT_BASE, size: ALT_SIZE, flags: SS_AUTODISARM };
    f = pushSignalFrame(arch, w.guest, w.mem, delivery({ flags: onstack, altStack: auto }));
    expect(inAlt(f.sp)).toBe(true);
    expect(f.disarmAltStack).toBe(true);
    st = view(w, f.uc + (arch === 'x86_64' ? X86_64_SIGFRAME.ucStack : AARCH64_SIGFRAME.ucStack), 24);
    expect(st.getUint32(8, true)).toBe(SS_AUTODISARM);
    kit.set(w.cpu, spName, BigInt(kit.spAtSigreturn(f)));
    expect(restoreSignalFrame(arch, w.guest, w.mem).altStack).toEqual(auto);
  });

  it('runs a guest handler that returns through rt_sigreturn (end to end)', () => {
    const w = world(arch);
    const code = Buffer.from(arch === 'x86_64' ? X86_GUEST : A64_GUEST, 'hex');
    w.mem.poke(CODE, code);
    const end = CODE + (arch === 'x86_64' ? 0x23 : 0x1c);
    const sp = arch === 'x86_64' ? STACK_TOP - 0x108 : STACK_TOP - 0x100;
    kit.setKnown(w.cpu, sp, CODE);
    kit.set(w.cpu, kit.nrReg, BigInt(kit.syscallNr.getpid));
    // aarch64 goes through the trampoline (glibc's way), x86-64 through sa_restorer (required there).
    const tramp = TRAMPOLINE_PAGE + 0x100;
    const d = delivery(arch === 'x86_64' ? {} : { flags: SA_SIGINFO, sigreturnTrampoline: tramp });

    type Phase = 'start' | 'in-handler' | 'returned';
    let phase = 'start' as Phase;
    let resume = CODE;
    let interrupted: Record<string, string> = {};
    let frame: SignalFrame | null = null;
    let mask = -1n;
    const problems: string[] = [];
    w.hook = () => {
      try {
        const nr = Number(kit.get(w.cpu, kit.nrReg));
        if (phase === 'start' && nr === kit.syscallNr.getpid) {
          // The syscall completes (result in rax/x0), then a signal arrives before returning to user space.
          kit.set(w.cpu, kit.retReg, 1234n);
          kit.set(w.cpu, arch === 'x86_64' ? 'rip' : 'pc', BigInt(kit.nextPc(w.cpu.pc())));
          interrupted = kit.snapshot(w.cpu);
          frame = pushSignalFrame(arch, w.guest, w.mem, d);
          phase = 'in-handler';
        } else if (phase === 'in-handler' && nr === kit.syscallNr.rt_sigreturn) {
          mask = restoreSignalFrame(arch, w.guest, w.mem).mask;
          phase = 'returned';
        } else {
          problems.push(`unexpected syscall ${nr} in phase ${phase}`);
        }
      } catch (e) {
        problems.push(String(e));
      }
      resume = w.cpu.pc();
      w.cpu.stop();
    };
    for (let guard = 0; phase !== 'returned' && guard < 5; guard++) {
      const r = w.cpu.runUntil(resume, end);
      expect(r, JSON.stringify(r)).toEqual({ kind: 'stopped' });
    }
    expect(problems).toEqual([]);
    expect(phase).toBe('returned');
    expect(mask).toBe(BLOCKED);
    const f = frame!;

    // What the handler saw (it stored it at DATA).
    const seen = view(w, DATA, 0x80);
    expect(seen.getBigUint64(0, true)).toBe(BigInt(SIGUSR1)); // first argument
    expect(Number(seen.getBigUint64(8, true))).toBe(f.info); // &info
    expect(Number(seen.getBigUint64(16, true))).toBe(f.uc); // &uc
    expect(Number(seen.getBigUint64(24, true))).toBe(f.sp); // sp at entry
    if (arch === 'x86_64') {
      expect(f.sp % 16).toBe(8);
      expect(seen.getBigUint64(0x20, true)).toBe(BigInt(SIGUSR1)); // info->si_signo
      expect(seen.getBigUint64(0x28, true)).toBe(BigInt(CODE + 2)); // uc->uc_mcontext.rip
      expect(Number(seen.getBigUint64(0x30, true)) % 64).toBe(0); // uc->uc_mcontext.fpstate
      expect(seen.getUint32(0x38, true)).toBe(0x1f80); // the handler's MXCSR
      expect(hex(w.mem.read(DATA + 0x40, 16))).toBe('00'.repeat(16)); // its xmm1
    } else {
      expect(f.sp % 16).toBe(0);
      expect(seen.getBigUint64(0x20, true)).toBe(BigInt(SIGUSR1)); // info->si_signo
      expect(seen.getBigUint64(0x28, true)).toBe(BigInt(CODE + 4)); // uc->uc_mcontext.pc
      expect(Number(seen.getBigUint64(0x30, true))).toBe(f.sp + AARCH64_SIGFRAME.size); // x29: the frame record
      expect(seen.getBigUint64(0x38, true)).toBe(BigInt(tramp)); // x30
      expect(hex(w.mem.read(DATA + 0x40, 16))).toBe(interrupted.q1); // SIMD state kept for the handler
    }

    // Back where it was interrupted, with every register as it was, except the
    // one the handler changed in uc_mcontext (r14 / x20). The pc to resume at
    // is the one read in the hook: on x86-64 Unicorn still adds the syscall's
    // length to rip once the hook returns, which is why a kernel stops in the
    // hook and restarts from the pc it read there.
    const after = kit.snapshot(w.cpu);
    const pcName = arch === 'x86_64' ? 'rip' : 'pc';
    expect(resume.toString(16)).toBe(interrupted[pcName]);
    const changed = arch === 'x86_64' ? 'r14' : 'x20';
    expect(after[changed]).toBe('777');
    expect({ ...after, [changed]: '', [pcName]: '' }).toEqual({ ...interrupted, [changed]: '', [pcName]: '' });

    // And it goes on running from there.
    const r = w.cpu.runUntil(resume, end);
    expect(r).toEqual({ kind: 'stopped' });
    expect(w.cpu.pc()).toBe(end);
    const out = view(w, DATA + 0x100, 0x28);
    expect(out.getBigUint64(0, true)).toBe(1234n); // the syscall result survived the handler
    expect(out.getBigUint64(8, true).toString(16)).toBe(interrupted[arch === 'x86_64' ? 'rbx' : 'x19']);
    expect(hex(w.mem.read(DATA + 0x110, 16))).toBe(interrupted[arch === 'x86_64' ? 'xmm1' : 'q1']);
    const flags = out.getBigUint64(0x20, true);
    if (arch === 'x86_64') expect(flags & 0xcd5n).toBe(X86_KNOWN_FLAGS & 0xcd5n); // CF PF ZF SF DF OF, DF set by the handler undone
    else expect(flags).toBe(0x9000_0000n); // the handler's cmp set Z and C; N and V are back
  });
});

// ---- siginfo_t --------------------------------------------------------------------------------------

describe('siginfo_t', () => {
  it('encodes each layout at the offsets of include/uapi/asm-generic/siginfo.h', () => {
    const kill = new DataView(encodeSigInfo({ signo: 15, code: SI_USER, pid: 77, uid: 1000 }).buffer);
    expect([kill.getInt32(0, true), kill.getInt32(4, true), kill.getInt32(8, true), kill.getInt32(16, true), kill.getUint32(20, true)]).toEqual([
      15, 0, 0, 77, 1000,
    ]);
    const fault = new DataView(encodeSigInfo({ signo: SIGSEGV, code: 2, addr: 0x7fff_dead_b000 }).buffer);
    expect(fault.getBigUint64(16, true)).toBe(0x7fff_dead_b000n);
    const chld = new DataView(encodeSigInfo({ signo: 17, code: 1, pid: 9, uid: 0, status: 3, utime: 5, stime: 6 }).buffer);
    expect([chld.getInt32(24, true), Number(chld.getBigInt64(32, true)), Number(chld.getBigInt64(40, true))]).toEqual([3, 5, 6]);
    const rt = new DataView(encodeSigInfo({ signo: 40, code: SI_QUEUE, pid: 1, uid: 2, value: 0xdead_beef_cafen }).buffer);
    expect(rt.getBigUint64(24, true)).toBe(0xdead_beef_cafen);
    const neg = new DataView(encodeSigInfo({ signo: 5, code: SI_KERNEL, errno: -1 }).buffer);
    expect([neg.getInt32(4, true), neg.getInt32(8, true)]).toEqual([-1, 0x80]);
    expect(() => encodeSigInfo({ signo: 11, code: 1, pid: 3, addr: 0x1000 })).toThrow(/overlap/);
  });

  it('decodes by the layout si_code selects', () => {
    expect(sigInfoLayout(SIGSEGV, 1)).toBe('fault');
    expect(sigInfoLayout(SIGSEGV, SI_KERNEL)).toBe('kill');
    expect(sigInfoLayout(17, 1)).toBe('chld');
    expect(sigInfoLayout(14, SI_TIMER)).toBe('timer');
    expect(sigInfoLayout(10, SI_QUEUE)).toBe('rt');
    expect(sigInfoLayout(10, SI_TKILL)).toBe('rt');
    expect(sigInfoLayout(10, SI_USER)).toBe('kill');
    expect(decodeSigInfo(encodeSigInfo({ signo: 7, code: 2, addr: 0x4000 }))).toEqual({ signo: 7, errno: 0, code: 2, addr: 0x4000 });
    expect(decodeSigInfo(encodeSigInfo({ signo: 17, code: 1, pid: 9, uid: 5, status: 3, utime: 5, stime: 6 }))).toEqual({
      signo: 17, errno: 0, code: 1, pid: 9, uid: 5, status: 3, utime: 5n, stime: 6n,
    });
    expect(decodeSigInfo(encodeSigInfo({ signo: 10, code: SI_USER, pid: 4, uid: 6 }))).toEqual({ signo: 10, errno: 0, code: 0, pid: 4, uid: 6 });
  });
});

// ---- guest code ---------------------------------------------------------------------------------------
//
// x86-64, at CODE (assembled with GNU as, Intel syntax):
//   0x000 syscall                          ; rax = 39 (getpid): the hook delivers SIGUSR1 here
//   0x002 mov [0x40100], rax               ; after: record what the interrupted code sees
//         mov [0x40108], rbx
//         movdqu [0x40110], xmm1
//         pushfq ; pop qword [0x40120]
//   0x023 nop                              ; end
//   0x100 handler:
//         mov [0x40000], rdi ; mov [0x40008], rsi ; mov [0x40010], rdx ; mov [0x40018], rsp
//         mov eax, [rsi] ; mov [0x40020], rax           ; info->si_signo
//         mov rax, [rdx+40+128] ; mov [0x40028], rax    ; uc->uc_mcontext.rip
//         mov rax, [rdx+40+184] ; mov [0x40030], rax    ; uc->uc_mcontext.fpstate
//         stmxcsr [0x40038] ; movdqu [0x40040], xmm1
//         mov qword [rdx+40+48], 0x777                  ; uc->uc_mcontext.r14 = 0x777
//         mov rbx, -1 ; mov rcx, -1 ; mov r12, -1 ; pcmpeqd xmm1, xmm1 ; pcmpeqd xmm15, xmm15 ; std
//         ret                                           ; to pretcode = sa_restorer
//   0x200 restorer: mov eax, 15 ; syscall               ; rt_sigreturn
const X86_GUEST = [
  '0f05488904250001040048891c2508010400f30f7f0c25100104009c8f04252001040090',
  '00'.repeat(0x100 - 0x24),
  '48893c25000004004889342508000400488914251000040048892425180004008b064889042520000400',
  '488b82a80000004889042528000400488b82e000000048890425300004000fae1c2538000400',
  'f30f7f0c254000040048c742587707000048c7c3ffffffff48c7c1ffffffff49c7c4ffffffff',
  '660f76c966450f76fffdc3',
  '00'.repeat(0x200 - 0x181),
  'b80f0000000f05',
].join('');

// arm64, at CODE (assembled with GNU as):
//   0x000 svc #0                           ; x8 = 172 (getpid): the hook delivers SIGUSR1 here
//   0x004 mov x9, #0x40000 ; str x0, [x9, #0x100] ; str x19, [x9, #0x108] ; str q1, [x9, #0x110]
//         mrs x10, nzcv ; str x10, [x9, #0x120]
//   0x01c nop                              ; end
//   0x100 handler:
//         mov x9, #0x40000 ; str x0, [x9] ; str x1, [x9, #8] ; str x2, [x9, #16]
//         mov x10, sp ; str x10, [x9, #24]
//         ldr w10, [x1] ; str x10, [x9, #32]            ; info->si_signo
//         ldr x10, [x2, #440] ; str x10, [x9, #40]      ; uc->uc_mcontext.pc
//         str x29, [x9, #48] ; str x30, [x9, #56] ; str q1, [x9, #64]
//         mov x10, #0x777 ; str x10, [x2, #344]         ; uc->uc_mcontext.regs[20] = 0x777
//         mov x19, #-1 ; mov x1, #-1 ; movi v1.2d, #-1 ; movi v31.2d, #-1 ; cmp x19, x19
//         ret                                           ; to x30: the trampoline or sa_restorer
//   0x200 restorer: mov x8, #139 ; svc #0
const A64_GUEST = [
  '010000d48900a0d2208100f9338500f92145803d0a423bd52a9100f91f2003d5',
  '00'.repeat(0x100 - 0x20),
  '8900a0d2200100f9210500f9220900f9ea0300912a0d00f92a0040b92a1100f94adc40f92a1500f9',
  '3d1900f93e1d00f92111803deaee80d24aac00f91300809201008092e1e7076fffe7076f7f0213ebc0035fd6',
  '00'.repeat(0x200 - 0x154),
  '681180d2010000d4',
].join('');
