// The x86-64 rt_sigframe (arch/x86/kernel/signal_64.c, signal.c and
// arch/x86/include/uapi/asm/sigcontext.h):
//
//   struct rt_sigframe {                      offset  size
//     char *pretcode;                          0       8   = sa_restorer
//     struct ucontext uc {                     8       304
//       unsigned long uc_flags;                +0          UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
//       struct ucontext *uc_link;              +8          NULL
//       stack_t uc_stack;                      +16     24
//       struct sigcontext uc_mcontext;         +40     256 r8..r15 rdi rsi rbp rbx rdx rax rcx rsp rip
//                                                          eflags, cs gs fs ss, err trapno oldmask cr2,
//                                                          fpstate (pointer), reserved[8]
//       sigset_t uc_sigmask;                   +296    8
//     };
//     struct siginfo info;                     312     128
//   };                                                 440
//
// below the 128-byte red zone (or at the top of the alternate stack), with
// the FPU state in fxsave format (512 bytes, 64-byte aligned) above it and
// the frame aligned so that rsp at handler entry is 8 (mod 16), as after a
// call. tslinux's CPU has no XSAVE, so the FPU state is the legacy fxsave
// image with no xstate extension (uc_flags lacks UC_FP_XSTATE), as Linux
// writes on such a CPU.
import { REGISTERS, type GuestCpu } from './cpu.ts';
import { fail } from '../kernel/errors.ts';
import type { AddressSpace } from '../kernel/memory.ts';
import {
  SA_RESTORER,
  autoDisarms,
  checkWritable,
  chooseSignalStack,
  decodeStackT,
  encodeSigInfoInto,
  encodeStackT,
  readFrame,
  sanitizeMask,
  toAddress,
  withinSigStack,
  type RestoredContext,
  type SignalDelivery,
  type SignalFrame,
} from './sigframe.ts';

/** Byte offsets of the x86-64 frame, for the kernel, debuggers and tests. */
export const X86_64_SIGFRAME = Object.freeze({
  size: 440,
  pretcode: 0,
  uc: 8,
  info: 312,
  /** Offsets inside struct ucontext. */
  ucFlags: 0,
  ucLink: 8,
  ucStack: 16,
  ucMcontext: 40,
  ucSigmask: 296,
  /** Offsets inside struct sigcontext: general registers in GREG_ORDER, 8 bytes each, from 0. */
  scEflags: 136,
  scCs: 144,
  scGs: 146,
  scFs: 148,
  scSs: 150,
  scErr: 152,
  scTrapno: 160,
  scOldmask: 168,
  scCr2: 176,
  scFpstate: 184,
  redZone: 128,
  fpstateSize: 512,
});

/** struct sigcontext's register order (also glibc's REG_R8..REG_EFL of mcontext_t.gregs). */
export const X86_64_GREG_ORDER = [
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rdi', 'rsi', 'rbp', 'rbx', 'rdx', 'rax', 'rcx', 'rsp', 'rip', 'eflags',
] as const;

/** Offsets inside the fxsave image (Intel SDM, FXSAVE; 64-bit format). */
export const FXSAVE = Object.freeze({
  fcw: 0,
  fsw: 2,
  /** Abridged tag: bit i set when physical register i is not empty. */
  ftw: 4,
  fop: 6,
  fip: 8,
  fdp: 16,
  mxcsr: 24,
  mxcsrMask: 28,
  /** ST0..ST7 (relative to TOP), 16 bytes apart, 10 used. */
  st: 32,
  /** XMM0..XMM15, 16 bytes each. */
  xmm: 160,
  swReserved: 464,
  size: 512,
});

/** struct sigcontext's r8..rip, eflags: the CPU port's frame registers, in this order. */
const GREGS = REGISTERS.x86_64.frameGregs;
const G_RDI = 8;
const G_RSI = 9;
const G_RDX = 12;
const G_RAX = 13;
const G_RSP = 15;
const G_RIP = 16;
const G_EFLAGS = 17;

/** fpcw, fpsw, fptag, mxcsr, fop, fip, fdp (REGISTERS.x86_64.frameFpregs). */
const FPREGS = REGISTERS.x86_64.frameFpregs;
const F_FCW = 0;
const F_FSW = 1;
const F_FTAG = 2;
const F_MXCSR = 3;
const F_FOP = 4;
const F_FIP = 5;
const F_FDP = 6;

/** uc_flags Linux sets on a CPU without XSAVE, for a 64-bit task. */
const UC_SIGCONTEXT_SS = 0x2;
const UC_STRICT_RESTORE_SS = 0x4;
/** __USER_CS and __USER_DS, what a 64-bit task's cs and ss hold. */
const USER_CS = 0x33;
const USER_DS = 0x2b;

const EFLAGS = { CF: 0x1, PF: 0x4, AF: 0x10, ZF: 0x40, SF: 0x80, TF: 0x100, DF: 0x400, OF: 0x800, RF: 0x1_0000, AC: 0x4_0000 };
/** The flags user code may change through sigreturn (FIX_EFLAGS in signal.c). */
export const FIX_EFLAGS = BigInt(
  EFLAGS.AC | EFLAGS.OF | EFLAGS.DF | EFLAGS.TF | EFLAGS.SF | EFLAGS.ZF | EFLAGS.AF | EFLAGS.PF | EFLAGS.CF | EFLAGS.RF,
);
/** Cleared on handler entry: DF per the ABI, RF and TF (handle_signal). */
const ENTRY_CLEARED_EFLAGS = BigInt(EFLAGS.DF | EFLAGS.RF | EFLAGS.TF);

/** The FPU state a handler starts with (Linux's init_fpstate after fpu__clear_user_states). */
const FCW_INIT = 0x37f;
const MXCSR_INIT = 0x1f80;
/** What fxrstor accepts in MXCSR (the mask fxsave reports as MXCSR_MASK). */
const MXCSR_MASK = 0xffff;

const roundDown = (n: number, to: number): number => Math.floor(n / to) * to;

export function pushFrameX86_64(cpu: GuestCpu, mem: AddressSpace, d: SignalDelivery): SignalFrame {
  // "x86-64 should always use SA_RESTORER": without it Linux fails the frame.
  if ((d.flags & SA_RESTORER) === 0) fail('EFAULT', 'x86-64 signal delivery without SA_RESTORER');
  const L = X86_64_SIGFRAME;
  const g = cpu.readFrameGregs();
  const rsp = toAddress(g[G_RSP]!);

  // get_sigframe(): red zone, maybe the alternate stack, the FPU area, then the frame.
  const { top, entering, nested } = chooseSignalStack(rsp - L.redZone, rsp, d);
  const fpstate = roundDown(top - L.fpstateSize, 64);
  const frame = roundDown(fpstate - L.size, 16) - 8;
  if ((entering || nested) && !withinSigStack(frame, d.altStack!)) fail('EFAULT', 'signal frame overflows the alternate stack');
  checkWritable(mem, fpstate, L.fpstateSize);
  checkWritable(mem, frame, L.size);

  const fx = saveFpu(cpu);

  const buf = new Uint8Array(L.size);
  const v = new DataView(buf.buffer);
  v.setBigUint64(L.pretcode, BigInt(d.restorer), true);
  const uc = L.uc;
  v.setBigUint64(uc + L.ucFlags, BigInt(UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS), true);
  v.setBigUint64(uc + L.ucLink, 0n, true);
  encodeStackT(v, uc + L.ucStack, d.altStack);
  const sc = uc + L.ucMcontext;
  for (let i = 0; i < GREGS.length; i++) v.setBigUint64(sc + 8 * i, g[i]!, true);
  v.setUint16(sc + L.scCs, USER_CS, true);
  v.setUint16(sc + L.scGs, 0, true);
  v.setUint16(sc + L.scFs, 0, true);
  v.setUint16(sc + L.scSs, USER_DS, true);
  v.setBigUint64(sc + L.scErr, BigInt(d.fault?.err ?? 0), true);
  v.setBigUint64(sc + L.scTrapno, BigInt(d.fault?.trapno ?? 0), true);
  v.setBigUint64(sc + L.scOldmask, BigInt.asUintN(64, d.blockedMask), true);
  v.setBigUint64(sc + L.scCr2, BigInt(d.fault?.addr ?? 0), true);
  v.setBigUint64(sc + L.scFpstate, BigInt(fpstate), true);
  v.setBigUint64(uc + L.ucSigmask, BigInt.asUintN(64, d.blockedMask), true);
  encodeSigInfoInto(v, L.info, d.info);

  mem.write(fpstate, fx);
  mem.write(frame, buf);

  // The handler: handler(sig, &info, &uc) called from pretcode; rax = 0 for varargs callers.
  g[G_RDI] = BigInt(d.sig);
  g[G_RSI] = BigInt(frame + L.info);
  g[G_RDX] = BigInt(frame + L.uc);
  g[G_RAX] = 0n;
  g[G_RSP] = BigInt(frame);
  g[G_RIP] = BigInt.asUintN(64, BigInt(d.handler));
  g[G_EFLAGS] = g[G_EFLAGS]! & ~ENTRY_CLEARED_EFLAGS;
  cpu.writeFrameGregs(g);
  // fpu__clear_user_states(): the handler starts with a clean FPU.
  resetFpu(cpu);

  return { sp: frame, info: frame + L.info, uc: frame + L.uc, onAltStack: entering || nested, disarmAltStack: autoDisarms(d) };
}

export function restoreFrameX86_64(cpu: GuestCpu, mem: AddressSpace): RestoredContext {
  const L = X86_64_SIGFRAME;
  const current = cpu.readFrameGregs();
  // The restorer's `ret`-less entry: the handler's ret popped pretcode.
  const frame = toAddress(current[G_RSP]!) - 8;
  const v = readFrame(mem, frame, L.size);
  const sc = L.uc + L.ucMcontext;

  const g = new BigUint64Array(GREGS.length);
  for (let i = 0; i < G_EFLAGS; i++) g[i] = v.getBigUint64(sc + 8 * i, true);
  const savedFlags = v.getBigUint64(sc + 8 * G_EFLAGS, true);
  g[G_EFLAGS] = (current[G_EFLAGS]! & ~FIX_EFLAGS) | (savedFlags & FIX_EFLAGS) | 0x2n;

  // fpu__restore_sig(): NULL means "start clean"; otherwise an fxsave image fxrstor accepts.
  const fpstate = toAddress(v.getBigUint64(sc + L.scFpstate, true));
  let fx: Uint8Array | null = null;
  if (fpstate !== 0) {
    if (fpstate % 16 !== 0) fail('EINVAL', 'rt_sigreturn: misaligned fpstate');
    const f = readFrame(mem, fpstate, FXSAVE.size);
    if ((f.getUint32(FXSAVE.mxcsr, true) & ~MXCSR_MASK) !== 0) fail('EINVAL', 'rt_sigreturn: reserved MXCSR bits set');
    fx = new Uint8Array(f.buffer, f.byteOffset, FXSAVE.size);
  }
  const mask = v.getBigUint64(L.uc + L.ucSigmask, true);
  const altStack = decodeStackT(v, L.uc + L.ucStack);

  // Everything validated: now change the CPU.
  cpu.writeFrameGregs(g);
  if (fx) restoreFpu(cpu, fx);
  else resetFpu(cpu);
  return { mask: sanitizeMask(mask), altStack };
}

// ---- the FPU as an fxsave image -------------------------------------------------------------

const scratch16 = new Uint8Array(16);

function saveFpu(cpu: GuestCpu): Uint8Array {
  const fx = new Uint8Array(FXSAVE.size);
  const v = new DataView(fx.buffer);
  const f = cpu.readFrameFpregs();
  const tags = Number(f[F_FTAG]! & 0xffffn);
  let abridged = 0;
  for (let i = 0; i < 8; i++) if (((tags >> (2 * i)) & 3) !== 3) abridged |= 1 << i;
  v.setUint16(FXSAVE.fcw, Number(f[F_FCW]! & 0xffffn), true);
  v.setUint16(FXSAVE.fsw, Number(f[F_FSW]! & 0xffffn), true);
  v.setUint8(FXSAVE.ftw, abridged);
  v.setUint16(FXSAVE.fop, Number(f[F_FOP]! & 0x7ffn), true);
  v.setBigUint64(FXSAVE.fip, f[F_FIP]!, true);
  v.setBigUint64(FXSAVE.fdp, f[F_FDP]!, true);
  v.setUint32(FXSAVE.mxcsr, Number(f[F_MXCSR]! & 0xffff_ffffn), true);
  v.setUint32(FXSAVE.mxcsrMask, MXCSR_MASK, true);
  for (let i = 0; i < 8; i++) {
    scratch16.fill(0);
    cpu.readVector('st', i, scratch16);
    fx.set(scratch16.subarray(0, 10), FXSAVE.st + 16 * i);
  }
  for (let i = 0; i < 16; i++) {
    cpu.readVector('xmm', i, scratch16);
    fx.set(scratch16, FXSAVE.xmm + 16 * i);
  }
  return fx;
}

function restoreFpu(cpu: GuestCpu, fx: Uint8Array): void {
  const v = new DataView(fx.buffer, fx.byteOffset, fx.byteLength);
  const abridged = v.getUint8(FXSAVE.ftw);
  let tags = 0;
  for (let i = 0; i < 8; i++) if (!(abridged & (1 << i))) tags |= 3 << (2 * i);
  const f = new BigUint64Array(FPREGS.length);
  f[F_FCW] = BigInt(v.getUint16(FXSAVE.fcw, true));
  f[F_FSW] = BigInt(v.getUint16(FXSAVE.fsw, true)); // sets TOP before ST0..7 are written
  f[F_FTAG] = BigInt(tags);
  f[F_MXCSR] = BigInt(v.getUint32(FXSAVE.mxcsr, true));
  f[F_FOP] = BigInt(v.getUint16(FXSAVE.fop, true) & 0x7ff);
  f[F_FIP] = v.getBigUint64(FXSAVE.fip, true);
  f[F_FDP] = v.getBigUint64(FXSAVE.fdp, true);
  cpu.writeFrameFpregs(f);
  for (let i = 0; i < 8; i++) {
    scratch16.fill(0);
    scratch16.set(fx.subarray(FXSAVE.st + 16 * i, FXSAVE.st + 16 * i + 10));
    cpu.writeVector('st', i, scratch16);
  }
  for (let i = 0; i < 16; i++) {
    scratch16.set(fx.subarray(FXSAVE.xmm + 16 * i, FXSAVE.xmm + 16 * i + 16));
    cpu.writeVector('xmm', i, scratch16);
  }
}

function resetFpu(cpu: GuestCpu): void {
  const fx = new Uint8Array(FXSAVE.size);
  const v = new DataView(fx.buffer);
  v.setUint16(FXSAVE.fcw, FCW_INIT, true);
  v.setUint32(FXSAVE.mxcsr, MXCSR_INIT, true);
  restoreFpu(cpu, fx);
}
