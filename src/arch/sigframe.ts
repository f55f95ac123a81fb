// Signal frames: what Linux writes on the user stack when it runs a signal
// handler, and reads back at rt_sigreturn (arch/x86/kernel/signal_64.c,
// arch/arm64/kernel/signal.c). The layouts are Linux's own, byte for byte,
// so libc code and handlers that read siginfo_t and ucontext_t work.
//
// The kernel decides *whether* and *which* signal to deliver, and what mask
// to block while the handler runs; this module only moves the interrupted
// user context between the CPU and the guest stack:
//
//   pushSignalFrame    save the context in an rt_sigframe (on the alternate
//                      signal stack when asked) and enter the handler
//   restoreSignalFrame rt_sigreturn: registers back from the frame at the
//                      stack pointer; returns the saved mask and alt stack
//
// Shared here: the public types, siginfo_t and stack_t encoding, and the
// sigaltstack rules; the per-arch layouts live in sigframe-<arch>.ts.
import type { CpuArch, GuestCpu } from './cpu.ts';
import { fail } from '../kernel/errors.ts';
import type { AddressSpace } from '../kernel/memory.ts';
import { pushFrameAarch64, restoreFrameAarch64 } from './sigframe-aarch64.ts';
import { pushFrameX86_64, restoreFrameX86_64 } from './sigframe-x86_64.ts';

// ---- constants (the same on x86-64 and arm64) -----------------------------------

/** sa_flags (include/uapi/asm-generic/signal-defs.h, arch/x86/include/uapi/asm/signal.h). */
export const SA_SIGINFO = 0x0000_0004;
export const SA_RESTORER = 0x0400_0000;
export const SA_ONSTACK = 0x0800_0000;
export const SA_RESTART = 0x1000_0000;
export const SA_NODEFER = 0x4000_0000;
export const SA_RESETHAND = 0x8000_0000;

/** stack_t.ss_flags */
export const SS_ONSTACK = 1;
export const SS_DISABLE = 2;
export const SS_AUTODISARM = 0x8000_0000;

/** si_code values that select the siginfo layout (include/uapi/asm-generic/siginfo.h). */
export const SI_USER = 0;
export const SI_KERNEL = 0x80;
export const SI_QUEUE = -1;
export const SI_TIMER = -2;
export const SI_MESGQ = -3;
export const SI_ASYNCIO = -4;
export const SI_SIGIO = -5;
export const SI_TKILL = -6;

export const SIGINFO_SIZE = 128;
export const STACK_T_SIZE = 24;

const SIGKILL_BIT = 1n << 8n;
const SIGSTOP_BIT = 1n << 18n;

// ---- types ----------------------------------------------------------------------------

/**
 * siginfo_t. signo, errno and code are always present; the rest is a union
 * whose members share offsets (pid/tid/addr/band/callAddr all live at 16),
 * so give only the fields of the layout that si_code implies.
 */
export interface SigInfo {
  signo: number;
  code: number;
  errno?: number;
  /** _kill, _rt, _sigchld: the sender's pid and real uid. */
  pid?: number;
  uid?: number;
  /** _timer: the POSIX timer id and overrun count. */
  tid?: number;
  overrun?: number;
  /** _rt, _timer: the sigval (si_int in the low 32 bits, si_ptr all 64). */
  value?: number | bigint;
  /** _sigchld: exit code or signal number, and the child's user and system time in clock ticks. */
  status?: number;
  utime?: number | bigint;
  stime?: number | bigint;
  /** _sigfault: the faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP). */
  addr?: number | bigint;
  /** _sigfault, BUS_MCEERR_*: the least significant bit of the reported address. */
  addrLsb?: number;
  /** _sigpoll */
  band?: number | bigint;
  fd?: number;
  /** _sigsys (seccomp) */
  callAddr?: number | bigint;
  syscall?: number;
  arch?: number;
}

/** The task's alternate signal stack, as sigaltstack(2) set it. */
export interface AltStack {
  sp: number;
  size: number;
  /** 0, SS_DISABLE, or SS_AUTODISARM as given to sigaltstack(2). */
  flags: number;
}

/** Fault details Linux keeps in the thread and copies into the sigcontext. */
export interface FaultContext {
  /** x86 cr2 / arm64 fault_address: the faulting data address (a bigint above 2^53). */
  addr: number | bigint;
  /** x86: the exception vector (14 for a page fault, 13 #GP, 6 #UD, 0 #DE...). */
  trapno?: number;
  /** x86: the exception error code (page faults: 4 user | 2 write | 1 present | 16 fetch). */
  err?: number;
  /** arm64: ESR_EL1; when given an esr_context record is added, as Linux does for faults. */
  esr?: number | bigint;
}

export interface SignalDelivery {
  sig: number;
  info: SigInfo;
  /** sa_handler / sa_sigaction. */
  handler: number;
  /** sa_flags (SA_*). */
  flags: number;
  /** sa_restorer, used when SA_RESTORER is set (x86-64 requires it, as Linux does). */
  restorer: number;
  /** Saved in uc_sigmask: the blocked mask *before* delivery, which rt_sigreturn reinstates. */
  blockedMask: bigint;
  /**
   * The task's alternate signal stack whenever one is configured (pass it
   * even without SA_ONSTACK: it is saved in uc_stack either way), or null.
   * The frame goes on it only with SA_ONSTACK, as sigaltstack(2) says.
   */
  altStack: AltStack | null;
  /**
   * arm64 only: where the kernel's sigreturn trampoline is (Linux's vdso
   * __kernel_rt_sigreturn), used as the return address when SA_RESTORER is
   * not set (glibc relies on it). pushSignalFrame writes the trampoline
   * (`mov x8, #139; svc #0`, see sigreturnTrampoline) there with poke, so
   * it may be any mapped, executable place the kernel reserves for it.
   */
  sigreturnTrampoline?: number;
  /** For synchronous faults: what goes into cr2/trapno/err or fault_address/ESR. */
  fault?: FaultContext;
}

/** Where pushSignalFrame put things; the registers already point the CPU at the handler. */
export interface SignalFrame {
  /** The stack pointer at handler entry. */
  sp: number;
  /** &frame->info and &frame->uc. */
  info: number;
  uc: number;
  /** The frame went on the alternate signal stack (whether or not the task was already on it). */
  onAltStack: boolean;
  /**
   * SS_AUTODISARM was set: as Linux does, the kernel must now disable the
   * alternate stack (the frame saved it; rt_sigreturn brings it back).
   */
  disarmAltStack: boolean;
}

/** What rt_sigreturn hands back to the kernel once the registers are restored. */
export interface RestoredContext {
  /** uc_sigmask, minus SIGKILL and SIGSTOP: the mask to reinstate. */
  mask: bigint;
  /**
   * uc_stack as the frame holds it: apply it like sigaltstack(2) would
   * (Linux's restore_altstack; errors other than EFAULT are ignored, e.g.
   * EPERM while still on the stack).
   */
  altStack: AltStack;
}

// ---- the entry points ----------------------------------------------------------------

/**
 * Deliver a signal to a handler: save the interrupted context (the CPU's
 * registers now, with the pc where execution must resume) in an rt_sigframe
 * on the guest stack, then set the registers for the handler.
 *
 * Throws LinuxError('EFAULT') when the frame cannot be written (stack
 * unmapped or not writable, alternate stack overflow, x86-64 without
 * SA_RESTORER); no register has changed then, and the kernel kills the task
 * with SIGSEGV, as Linux's force_sigsegv does.
 */
export function pushSignalFrame(arch: CpuArch, cpu: GuestCpu, mem: AddressSpace, d: SignalDelivery): SignalFrame {
  if (!Number.isInteger(d.sig) || d.sig < 1 || d.sig > 64) throw new RangeError(`bad signal number ${d.sig}`);
  switch (arch) {
    case 'x86_64':
      return pushFrameX86_64(cpu, mem, d);
    case 'aarch64':
      return pushFrameAarch64(cpu, mem, d);
  }
}

/**
 * rt_sigreturn: find the frame where the handler's return left the stack
 * pointer (x86-64: rsp - 8, the restorer having popped pretcode; arm64: sp),
 * validate it, and restore every register it holds. Throws LinuxError
 * (EFAULT: unreadable; EINVAL: malformed) without touching any register when
 * the frame is bad; Linux then kills the task with SIGSEGV.
 *
 * The syscall's return path must not write the return register afterwards:
 * rax/x0 are part of the restored context.
 */
export function restoreSignalFrame(arch: CpuArch, cpu: GuestCpu, mem: AddressSpace): RestoredContext {
  switch (arch) {
    case 'x86_64':
      return restoreFrameX86_64(cpu, mem);
    case 'aarch64':
      return restoreFrameAarch64(cpu, mem);
  }
}

/**
 * The code of Linux's sigreturn trampoline: arm64's vdso
 * __kernel_rt_sigreturn (`mov x8, #139; svc #0`), or on x86-64 what libc's
 * __restore_rt is (`mov eax, 15; syscall`).
 */
export function sigreturnTrampoline(arch: CpuArch): Uint8Array {
  return arch === 'x86_64'
    ? Uint8Array.of(0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05)
    : Uint8Array.of(0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4);
}

// ---- sigaltstack rules (include/linux/sched/signal.h) ----------------------------------

/** on_sig_stack(): is `sp` on the alternate stack? Never, with SS_AUTODISARM. */
export function onSigStack(sp: number, alt: AltStack | null): boolean {
  if (!alt || alt.size === 0 || (alt.flags & SS_DISABLE) !== 0) return false;
  if ((alt.flags & SS_AUTODISARM) !== 0) return false;
  return sp > alt.sp && sp - alt.sp <= alt.size;
}

/** The strict form (__on_sig_stack) used to detect an overflowing frame. */
export function withinSigStack(sp: number, alt: AltStack): boolean {
  return sp > alt.sp && sp - alt.sp <= alt.size;
}

/** sas_ss_flags(): SS_DISABLE without a stack, SS_ONSTACK when `sp` is on it, else 0. */
export function sasSsFlags(sp: number, alt: AltStack | null): number {
  if (!alt || alt.size === 0 || (alt.flags & SS_DISABLE) !== 0) return SS_DISABLE;
  return onSigStack(sp, alt) ? SS_ONSTACK : 0;
}

/**
 * Where the frame goes: the top of the alternate stack with SA_ONSTACK when
 * the task is not on it already (sigsp()), else `sp` (already lowered by the
 * red zone on x86-64). `nested` says the task was on the alternate stack.
 */
export function chooseSignalStack(
  sp: number,
  interruptedSp: number,
  d: SignalDelivery,
): { top: number; entering: boolean; nested: boolean } {
  const alt = d.altStack;
  const nested = onSigStack(interruptedSp, alt);
  if ((d.flags & SA_ONSTACK) !== 0 && alt && sasSsFlags(sp, alt) === 0) {
    return { top: alt.sp + alt.size, entering: true, nested };
  }
  return { top: sp, entering: false, nested };
}

// ---- stack_t and the mask ----------------------------------------------------------------

/** __save_altstack(): ss_sp, ss_flags and ss_size as the task holds them. */
export function encodeStackT(view: DataView, at: number, alt: AltStack | null): void {
  const sp = alt && !(alt.flags & SS_DISABLE) ? alt.sp : 0;
  const size = alt && !(alt.flags & SS_DISABLE) ? alt.size : 0;
  const flags = alt ? alt.flags : SS_DISABLE;
  view.setBigUint64(at, BigInt(sp), true);
  view.setInt32(at + 8, flags | 0, true);
  view.setUint32(at + 12, 0, true);
  view.setBigUint64(at + 16, BigInt(size), true);
}

export function decodeStackT(view: DataView, at: number): AltStack {
  return {
    sp: Number(view.getBigUint64(at, true)),
    flags: view.getUint32(at + 8, true),
    size: Number(view.getBigUint64(at + 16, true)),
  };
}

/** set_current_blocked(): SIGKILL and SIGSTOP can never be blocked. */
export function sanitizeMask(mask: bigint): bigint {
  return BigInt.asUintN(64, mask) & ~(SIGKILL_BIT | SIGSTOP_BIT);
}

/** Whether a frame built for `d` would want the alt stack disarmed (SS_AUTODISARM). */
export function autoDisarms(d: SignalDelivery): boolean {
  return !!d.altStack && (d.altStack.flags & SS_AUTODISARM) !== 0 && (d.altStack.flags & SS_DISABLE) === 0;
}

// ---- siginfo_t -----------------------------------------------------------------------------

type Width = 4 | 8;
const SIGINFO_FIELDS: readonly { key: keyof SigInfo; at: number; width: Width }[] = [
  { key: 'pid', at: 16, width: 4 },
  { key: 'uid', at: 20, width: 4 },
  { key: 'tid', at: 16, width: 4 },
  { key: 'overrun', at: 20, width: 4 },
  { key: 'value', at: 24, width: 8 },
  { key: 'status', at: 24, width: 4 },
  { key: 'utime', at: 32, width: 8 },
  { key: 'stime', at: 40, width: 8 },
  { key: 'addr', at: 16, width: 8 },
  { key: 'addrLsb', at: 24, width: 4 },
  { key: 'band', at: 16, width: 8 },
  { key: 'fd', at: 24, width: 4 },
  { key: 'callAddr', at: 16, width: 8 },
  { key: 'syscall', at: 24, width: 4 },
  { key: 'arch', at: 28, width: 4 },
];

/**
 * The 128-byte siginfo_t (64-bit layout, identical on x86-64 and arm64):
 * si_signo, si_errno, si_code, then the union at offset 16. Unused bytes
 * are zero, as Linux's clear_siginfo leaves them. Fields that would overlap
 * (say pid and addr) are a caller bug and throw.
 */
export function encodeSigInfo(info: SigInfo): Uint8Array {
  const out = new Uint8Array(SIGINFO_SIZE);
  encodeSigInfoInto(new DataView(out.buffer), 0, info);
  return out;
}

export function encodeSigInfoInto(view: DataView, base: number, info: SigInfo): void {
  view.setInt32(base + 0, info.signo | 0, true);
  view.setInt32(base + 4, (info.errno ?? 0) | 0, true);
  view.setInt32(base + 8, info.code | 0, true);
  const owner: (keyof SigInfo | undefined)[] = [];
  for (const f of SIGINFO_FIELDS) {
    const v = info[f.key];
    if (v === undefined) continue;
    for (let b = f.at; b < f.at + f.width; b++) {
      if (owner[b] !== undefined) throw new TypeError(`siginfo fields ${String(owner[b])} and ${f.key} overlap`);
      owner[b] = f.key;
    }
    const n = BigInt.asUintN(64, BigInt(v as number | bigint));
    if (f.width === 4) view.setUint32(base + f.at, Number(n & 0xffff_ffffn), true);
    else view.setBigUint64(base + f.at, n, true);
  }
}

export type SigInfoLayout = 'kill' | 'timer' | 'rt' | 'chld' | 'fault' | 'poll' | 'sys';

/** Linux's siginfo_layout(): which union member si_signo and si_code select. */
export function sigInfoLayout(signo: number, code: number): SigInfoLayout {
  if (code > SI_USER && code < SI_KERNEL) {
    // Kernel-generated codes, meaningful per signal up to its NSIG* limit.
    const limits: Record<number, [number, SigInfoLayout]> = {
      4: [11, 'fault'], // SIGILL
      5: [6, 'fault'], // SIGTRAP
      7: [5, 'fault'], // SIGBUS
      8: [15, 'fault'], // SIGFPE
      11: [10, 'fault'], // SIGSEGV
      17: [6, 'chld'], // SIGCHLD
      29: [6, 'poll'], // SIGPOLL
      31: [2, 'sys'], // SIGSYS
    };
    const entry = limits[signo];
    if (entry && code <= entry[0]) return entry[1];
    if (code <= 6) return 'poll';
    return 'kill';
  }
  if (code === SI_TIMER) return 'timer';
  if (code === SI_SIGIO) return 'poll';
  if (code < 0) return 'rt';
  return 'kill';
}

/** Read a siginfo_t back (rt_sigqueueinfo, tests), with the fields its layout defines. */
export function decodeSigInfo(bytes: Uint8Array): SigInfo {
  if (bytes.length < SIGINFO_SIZE) throw new RangeError('siginfo_t is 128 bytes');
  const v = new DataView(bytes.buffer, bytes.byteOffset, SIGINFO_SIZE);
  const info: SigInfo = { signo: v.getInt32(0, true), errno: v.getInt32(4, true), code: v.getInt32(8, true) };
  const u32 = (at: number): number => v.getUint32(at, true);
  const i32 = (at: number): number => v.getInt32(at, true);
  const u64 = (at: number): bigint => v.getBigUint64(at, true);
  switch (sigInfoLayout(info.signo, info.code)) {
    case 'kill':
      return { ...info, pid: i32(16), uid: u32(20) };
    case 'timer':
      return { ...info, tid: i32(16), overrun: i32(20), value: u64(24) };
    case 'rt':
      return { ...info, pid: i32(16), uid: u32(20), value: u64(24) };
    case 'chld':
      return { ...info, pid: i32(16), uid: u32(20), status: i32(24), utime: u64(32), stime: u64(40) };
    case 'fault': {
      const out: SigInfo = { ...info, addr: Number(u64(16)) };
      // BUS_MCEERR_AR / BUS_MCEERR_AO carry si_addr_lsb.
      if (info.signo === 7 && (info.code === 4 || info.code === 5)) out.addrLsb = v.getInt16(24, true);
      return out;
    }
    case 'poll':
      return { ...info, band: v.getBigInt64(16, true), fd: i32(24) };
    case 'sys':
      return { ...info, callAddr: Number(u64(16)), syscall: i32(24), arch: u32(28) };
  }
}

// ---- small helpers for the arch files ---------------------------------------------------------

/** Throw EFAULT unless [addr, addr+len) is writable user memory (Linux's access_ok + copy_to_user). */
export function checkWritable(mem: AddressSpace, addr: number, len: number): void {
  if (!Number.isSafeInteger(addr) || addr <= 0 || addr + len > mem.layout.taskSize) fail('EFAULT', 'signal frame outside user space');
  mem.view(addr, len, 2 /* PROT_WRITE */);
}

/** Read a frame for rt_sigreturn: EFAULT when any of it is unreadable. */
export function readFrame(mem: AddressSpace, addr: number, len: number): DataView {
  if (!Number.isSafeInteger(addr) || addr <= 0 || addr + len > mem.layout.taskSize) fail('EFAULT', 'signal frame outside user space');
  const bytes = mem.read(addr, len);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A register value (bigint) as a JS address: exact for user-space pointers. */
export function toAddress(v: bigint): number {
  return Number(BigInt.asUintN(64, v));
}
