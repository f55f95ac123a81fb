// The arm64 rt_sigframe (arch/arm64/kernel/signal.c,
// arch/arm64/include/uapi/asm/{sigcontext,ucontext}.h):
//
//   struct rt_sigframe {                          offset  size
//     struct siginfo info;                         0       128
//     struct ucontext uc {                         128     4560
//       unsigned long uc_flags;                    +0          0
//       struct ucontext *uc_link;                  +8          NULL
//       stack_t uc_stack;                          +16     24
//       sigset_t uc_sigmask;                       +40     8   (+120 unused: glibc's 1024-bit sigset_t)
//       struct sigcontext uc_mcontext {            +176    4384 (16-byte aligned)
//         u64 fault_address;                       +0
//         u64 regs[31];                            +8
//         u64 sp, pc, pstate;                      +256, +264, +272
//         u8 __reserved[4096];                     +288    records: fpsimd_context (magic 0x46508001,
//       }                                                  size 528: fpsr, fpcr, vregs[32]), [esr_context],
//     };                                                   then a null terminator record
//   };                                                     4688
//   struct frame_record { u64 fp, lr; }            4688    16  the interrupted x29/x30, which x29 points at
//
// The frame record sits 16-byte aligned just below the stack top (sp, or
// the top of the alternate stack) and the frame right under it; sp at
// handler entry is the frame. tslinux's CPU (a Cortex-A72) has no SVE or
// SME, so fpsimd is the only state record, as on such hardware.
import { REGISTERS, type GuestCpu } from './cpu.ts';
import { fail } from '../kernel/errors.ts';
import type { AddressSpace } from '../kernel/memory.ts';
import {
  SA_RESTORER,
  SA_SIGINFO,
  autoDisarms,
  checkWritable,
  chooseSignalStack,
  decodeStackT,
  encodeSigInfoInto,
  encodeStackT,
  readFrame,
  sanitizeMask,
  sigreturnTrampoline,
  toAddress,
  type RestoredContext,
  type SignalDelivery,
  type SignalFrame,
} from './sigframe.ts';

/** Byte offsets of the arm64 frame, for the kernel, debuggers and tests. */
export const AARCH64_SIGFRAME = Object.freeze({
  size: 4688,
  info: 0,
  uc: 128,
  /** Offsets inside struct ucontext. */
  ucFlags: 0,
  ucLink: 8,
  ucStack: 16,
  ucSigmask: 40,
  ucMcontext: 176,
  /** Offsets inside struct sigcontext. */
  scFaultAddress: 0,
  scRegs: 8,
  scSp: 256,
  scPc: 264,
  scPstate: 272,
  scReserved: 288,
  reservedSize: 4096,
  /** struct frame_record {fp, lr}, right after the frame. */
  frameRecord: 4688,
  frameRecordSize: 16,
});

/** Record magics in __reserved. */
export const FPSIMD_MAGIC = 0x4650_8001;
export const ESR_MAGIC = 0x4553_5201;
/** sizeof(struct fpsimd_context): head (8), fpsr, fpcr, then vregs[32] from offset 16. */
export const FPSIMD_CONTEXT_SIZE = 528;
const ESR_CONTEXT_SIZE = 16;

/** x0..x30 in regs[] order, then sp, pc and the flags (the CPU port's frame registers). */
const GREGS = REGISTERS.aarch64.frameGregs;
const G_SP = 31;
const G_PC = 32;
const G_NZCV = 33;

/** NZCV, the only pstate bits EL0 code owns. */
const PSTATE_NZCV = 0xf000_0000n;
/** valid_native_regs(): EL0t (mode 0), AArch64 (bit 4 clear), DAIF (bits 6-9) clear. */
const PSTATE_MUST_BE_ZERO = 0x3dfn;

const roundDown16 = (n: number): number => Math.floor(n / 16) * 16;
const scratch16 = new Uint8Array(16);

export function pushFrameAarch64(cpu: GuestCpu, mem: AddressSpace, d: SignalDelivery): SignalFrame {
  const L = AARCH64_SIGFRAME;
  const g = cpu.readFrameGregs();
  const sp = toAddress(g[G_SP]!);

  // get_sigframe(): sigsp(), the frame record, then the frame below it.
  const { top, entering, nested } = chooseSignalStack(sp, sp, d);
  const record = roundDown16(top - L.frameRecordSize);
  const frame = roundDown16(record) - L.size;
  checkWritable(mem, frame, top - frame);

  // setup_return(): the handler returns to sa_restorer or the vdso's trampoline.
  let lr: number;
  if ((d.flags & SA_RESTORER) !== 0) lr = d.restorer;
  else if (d.sigreturnTrampoline) lr = d.sigreturnTrampoline;
  else fail('EFAULT', 'arm64 signal delivery without SA_RESTORER needs a sigreturn trampoline');

  const buf = new Uint8Array(L.size + L.frameRecordSize);
  const v = new DataView(buf.buffer);
  encodeSigInfoInto(v, L.info, d.info);
  const uc = L.uc;
  v.setBigUint64(uc + L.ucFlags, 0n, true);
  v.setBigUint64(uc + L.ucLink, 0n, true);
  encodeStackT(v, uc + L.ucStack, d.altStack);
  v.setBigUint64(uc + L.ucSigmask, BigInt.asUintN(64, d.blockedMask), true);
  const sc = uc + L.ucMcontext;
  v.setBigUint64(sc + L.scFaultAddress, BigInt(d.fault?.addr ?? 0), true);
  for (let i = 0; i < 31; i++) v.setBigUint64(sc + L.scRegs + 8 * i, g[i]!, true);
  v.setBigUint64(sc + L.scSp, g[G_SP]!, true);
  v.setBigUint64(sc + L.scPc, g[G_PC]!, true);
  v.setBigUint64(sc + L.scPstate, g[G_NZCV]! & PSTATE_NZCV, true);

  // __reserved: fpsimd_context, esr_context for faults, then the terminator (zeros).
  let rec = sc + L.scReserved;
  v.setUint32(rec, FPSIMD_MAGIC, true);
  v.setUint32(rec + 4, FPSIMD_CONTEXT_SIZE, true);
  const f = cpu.readFrameFpregs(); // fpsr, fpcr
  v.setUint32(rec + 8, Number(f[0]! & 0xffff_ffffn), true);
  v.setUint32(rec + 12, Number(f[1]! & 0xffff_ffffn), true);
  for (let i = 0; i < 32; i++) {
    cpu.readVector('q', i, scratch16);
    buf.set(scratch16, rec + 16 + 16 * i);
  }
  rec += FPSIMD_CONTEXT_SIZE;
  if (d.fault?.esr !== undefined) {
    v.setUint32(rec, ESR_MAGIC, true);
    v.setUint32(rec + 4, ESR_CONTEXT_SIZE, true);
    v.setBigUint64(rec + 8, BigInt.asUintN(64, BigInt(d.fault.esr)), true);
    rec += ESR_CONTEXT_SIZE;
  }

  // The frame record: the interrupted fp and lr, so unwinders can walk through the handler.
  v.setBigUint64(L.frameRecord, g[29]!, true);
  v.setBigUint64(L.frameRecord + 8, g[30]!, true);

  if (!(d.flags & SA_RESTORER)) mem.poke(lr, sigreturnTrampoline('aarch64'));
  mem.write(frame, buf);

  g[0] = BigInt(d.sig);
  if ((d.flags & SA_SIGINFO) !== 0) {
    g[1] = BigInt(frame + L.info);
    g[2] = BigInt(frame + L.uc);
  }
  g[29] = BigInt(record);
  g[30] = BigInt.asUintN(64, BigInt(lr));
  g[G_SP] = BigInt(frame);
  g[G_PC] = BigInt.asUintN(64, BigInt(d.handler));
  cpu.writeFrameGregs(g);
  return { sp: frame, info: frame + L.info, uc: frame + L.uc, onAltStack: entering || nested, disarmAltStack: autoDisarms(d) };
}

export function restoreFrameAarch64(cpu: GuestCpu, mem: AddressSpace): RestoredContext {
  const L = AARCH64_SIGFRAME;
  const frame = toAddress(cpu.readFrameGregs()[G_SP]!);
  if (frame % 16 !== 0) fail('EINVAL', 'rt_sigreturn: misaligned sp');
  const v = readFrame(mem, frame, L.size);
  const sc = L.uc + L.ucMcontext;

  const g = new BigUint64Array(GREGS.length);
  for (let i = 0; i < 31; i++) g[i] = v.getBigUint64(sc + L.scRegs + 8 * i, true);
  g[G_SP] = v.getBigUint64(sc + L.scSp, true);
  g[G_PC] = v.getBigUint64(sc + L.scPc, true);
  const pstate = v.getBigUint64(sc + L.scPstate, true);
  if ((pstate & PSTATE_MUST_BE_ZERO) !== 0n) fail('EINVAL', 'rt_sigreturn: pstate is not a valid EL0 state');
  g[G_NZCV] = pstate & PSTATE_NZCV;

  const fpsimd = sc + L.scReserved + findFpsimd(v, sc + L.scReserved, L.reservedSize);
  const mask = v.getBigUint64(L.uc + L.ucSigmask, true);
  const altStack = decodeStackT(v, L.uc + L.ucStack);

  // Everything validated: now change the CPU.
  cpu.writeFrameGregs(g);
  cpu.writeFrameFpregs(BigUint64Array.of(BigInt(v.getUint32(fpsimd + 8, true)), BigInt(v.getUint32(fpsimd + 12, true))));
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  for (let i = 0; i < 32; i++) {
    scratch16.set(bytes.subarray(fpsimd + 16 + 16 * i, fpsimd + 32 + 16 * i));
    cpu.writeVector('q', i, scratch16);
  }
  return { mask: sanitizeMask(mask), altStack };
}

/**
 * parse_user_sigframe(): walk the records in __reserved up to the null
 * terminator; the fpsimd record must be there exactly once. Returns its
 * offset inside __reserved. ESR records are skipped; any other record is
 * state this CPU does not have (SVE, SME, extra_context) and is rejected.
 */
function findFpsimd(v: DataView, base: number, limit: number): number {
  let offset = 0;
  let fpsimd = -1;
  for (;;) {
    if (limit - offset < 8 || offset % 16 !== 0) fail('EINVAL', 'rt_sigframe: bad record list');
    const magic = v.getUint32(base + offset, true);
    const size = v.getUint32(base + offset + 4, true);
    if (limit - offset < size) fail('EINVAL', 'rt_sigframe: record overruns __reserved');
    if (magic === 0) {
      if (size !== 0) fail('EINVAL', 'rt_sigframe: bad terminator');
      break;
    }
    if (magic === FPSIMD_MAGIC) {
      if (fpsimd >= 0) fail('EINVAL', 'rt_sigframe: two fpsimd records');
      fpsimd = offset;
    } else if (magic !== ESR_MAGIC) {
      fail('EINVAL', `rt_sigframe: unsupported record 0x${magic.toString(16)}`);
    }
    if (size < 8) fail('EINVAL', 'rt_sigframe: record too small');
    offset += size;
  }
  if (fpsimd < 0) fail('EINVAL', 'rt_sigframe: no fpsimd record');
  if (v.getUint32(base + fpsimd + 4, true) !== FPSIMD_CONTEXT_SIZE) fail('EINVAL', 'rt_sigframe: bad fpsimd record size');
  return fpsimd;
}
