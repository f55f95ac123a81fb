// Unicorn behind the CPU port (src/arch/cpu.ts): the ABI's registers by
// name mapped to Unicorn's register ids, read and written in batches (one
// FFI call each), the trap's pc adjustment, the entry state and the HWCAPs
// read from the emulated CPU itself.
import { REGISTERS, type CpuArch, type CpuBackend, type CpuFault, type EngineHooks, type GuestContext, type GuestEngine, type GuestMappings, type RunLimits, type RunResult, type SyscallRegisters, type VectorBank } from '../arch/cpu.ts';
import { hwcapsFromIdRegisters } from '../arch/hwcaps.ts';
import { CpuEngine, TCG_BUFFER_BYTES, type RegisterBatch } from './engine.ts';
import { exactFaultPc } from './fault-pc.ts';
import * as UC from './unicorn-constants.ts';

const X = (n: number): number => (n === 29 ? UC.UC_ARM64_REG_X29 : n === 30 ? UC.UC_ARM64_REG_X30 : UC.UC_ARM64_REG_X0 + n);

/** Unicorn's id of each register REGISTERS names. */
const IDS: Record<CpuArch, Readonly<Record<string, number>>> = {
  x86_64: {
    rax: UC.UC_X86_REG_RAX, rbx: UC.UC_X86_REG_RBX, rcx: UC.UC_X86_REG_RCX, rdx: UC.UC_X86_REG_RDX,
    rsi: UC.UC_X86_REG_RSI, rdi: UC.UC_X86_REG_RDI, rbp: UC.UC_X86_REG_RBP, rsp: UC.UC_X86_REG_RSP,
    r8: UC.UC_X86_REG_R8, r9: UC.UC_X86_REG_R9, r10: UC.UC_X86_REG_R10, r11: UC.UC_X86_REG_R11,
    r12: UC.UC_X86_REG_R12, r13: UC.UC_X86_REG_R13, r14: UC.UC_X86_REG_R14, r15: UC.UC_X86_REG_R15,
    rip: UC.UC_X86_REG_RIP, rflags: UC.UC_X86_REG_RFLAGS, fs_base: UC.UC_X86_REG_FS_BASE, gs_base: UC.UC_X86_REG_GS_BASE,
    fpcw: UC.UC_X86_REG_FPCW, fpsw: UC.UC_X86_REG_FPSW, fptag: UC.UC_X86_REG_FPTAG, mxcsr: UC.UC_X86_REG_MXCSR,
    fop: UC.UC_X86_REG_FOP, fip: UC.UC_X86_REG_FIP, fdp: UC.UC_X86_REG_FDP,
  },
  aarch64: {
    ...Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`x${i}`, X(i)])),
    sp: UC.UC_ARM64_REG_SP, pc: UC.UC_ARM64_REG_PC, nzcv: UC.UC_ARM64_REG_NZCV, tpidr_el0: UC.UC_ARM64_REG_TPIDR_EL0,
    fpsr: UC.UC_ARM64_REG_FPSR, fpcr: UC.UC_ARM64_REG_FPCR,
  },
};

/** The first register of each vector bank (the banks are consecutive ids). */
const VECTOR_BASE: Record<VectorBank, number> = { st: UC.UC_X86_REG_ST0, xmm: UC.UC_X86_REG_XMM0, q: UC.UC_ARM64_REG_Q0 };

/** The general registers a crash report shows, in the order of the arch's manuals. */
const REPORTED: Record<CpuArch, readonly string[]> = {
  x86_64: ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags', 'fs_base'],
  aarch64: [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'nzcv', 'tpidr_el0'],
};

/**
 * What each process's CPU engine takes from the run's memory budget: its
 * translated-code buffer, which fills with the code the process runs (a
 * guest that makes code can fill it), and about 3 MiB of its own (measured:
 * 50 fresh engines took 146 MiB x86-64, 164 MiB aarch64).
 */
const ENGINE_BUDGET_BYTES = TCG_BUFFER_BYTES + (4 << 20);

const CR4_OSFXSR = 1 << 9;
const CR4_OSXMMEXCPT = 1 << 10;

export class UnicornGuest implements GuestEngine {
  readonly engine: CpuEngine;
  private readonly ids: Readonly<Record<string, number>>;
  private readonly abi;
  /** nr, six arguments, then the pc. */
  private readonly syscallBatch: RegisterBatch;
  private readonly retBatch: RegisterBatch;
  private readonly gregs: RegisterBatch;
  private readonly fpregs: RegisterBatch;

  constructor(
    readonly arch: CpuArch,
    hooks: EngineHooks,
  ) {
    this.engine = new CpuEngine(arch, { onSyscall: () => hooks.onSyscall(), preemptible: true, onUnmapped: (addr) => hooks.onUnmapped(addr) });
    this.ids = IDS[arch];
    this.abi = REGISTERS[arch];
    this.syscallBatch = this.engine.registers([...this.abi.syscall, this.abi.pc].map((n) => this.id(n)));
    this.retBatch = this.engine.registers([this.id(this.abi.ret)]);
    this.gregs = this.engine.registers(this.abi.frameGregs.map((n) => this.id(n)));
    this.fpregs = this.engine.registers(this.abi.frameFpregs.map((n) => this.id(n)));
    this.engine.savePristineState();
  }

  private id(name: string): number {
    const id = this.ids[name];
    if (id === undefined) throw new Error(`${this.arch} has no register ${name}`);
    return id;
  }

  // ---- the syscall ABI

  readSyscall(): SyscallRegisters {
    this.syscallBatch.read();
    return this.syscallBatch;
  }

  /** x86-64's syscall hook sees the pc of the instruction; arm64's interrupt hook the pc after `svc`. */
  trapPc(): number {
    const hookPc = this.syscallBatch.number(7);
    return this.arch === 'x86_64' ? hookPc : hookPc - 4;
  }

  setReturnValue(value: number): void {
    const out = this.retBatch;
    if (value >= 0) out.setNumber(0, value);
    else {
      // -errno as a 64-bit two's complement value: the high word is all ones.
      out.words[0] = value >>> 0;
      out.words[1] = 0xffffffff;
    }
    out.write();
  }

  returnValue(): number {
    const words = this.retBatch.read();
    return (words[1]! | 0) * 2 ** 32 + words[0]!;
  }

  // ---- named registers

  pc(): number {
    return this.engine.pc();
  }
  setPc(pc: number): void {
    this.engine.writeRegister(this.id(this.abi.pc), pc);
  }
  sp(): number {
    return this.engine.readRegister(this.id(this.abi.sp));
  }
  setSp(sp: number): void {
    this.engine.writeRegister(this.id(this.abi.sp), sp);
  }
  setTls(tls: number): void {
    this.engine.writeRegister(this.id(this.abi.tls), tls);
  }
  register(name: string): number {
    return this.engine.readRegister(this.id(name));
  }
  setRegister(name: string, value: number): void {
    this.engine.writeRegister(this.id(name), value);
  }

  namedRegisters(): Record<string, bigint> {
    const names = REPORTED[this.arch];
    const batch = this.engine.registers(names.map((n) => this.id(n)));
    batch.read();
    return Object.fromEntries(names.map((n, i) => [n, batch.values[i]!]));
  }

  // ---- the signal frame's registers

  readFrameGregs(): BigUint64Array {
    this.gregs.values.fill(0n);
    this.gregs.read();
    return BigUint64Array.from(this.gregs.values);
  }
  writeFrameGregs(values: BigUint64Array): void {
    this.gregs.values.set(values);
    this.gregs.write();
  }
  readFrameFpregs(): BigUint64Array {
    this.fpregs.values.fill(0n); // narrow registers only fill their low bytes
    this.fpregs.read();
    return BigUint64Array.from(this.fpregs.values);
  }
  writeFrameFpregs(values: BigUint64Array): void {
    this.fpregs.values.set(values);
    this.fpregs.write();
  }
  readVector(bank: VectorBank, i: number, out: Uint8Array): void {
    this.engine.readRaw(VECTOR_BASE[bank] + i, out);
  }
  writeVector(bank: VectorBank, i: number, value: Uint8Array): void {
    this.engine.writeRaw(VECTOR_BASE[bank] + i, value);
  }

  // ---- a new image

  /** Registers at the ELF entry point: Linux leaves the general registers zero (static glibc reads rdx as an atexit function). */
  enterAt(entry: number, sp: number): void {
    if (this.arch === 'x86_64') {
      const regs = this.engine.registers([UC.UC_X86_REG_RIP, UC.UC_X86_REG_RSP, UC.UC_X86_REG_RDX, UC.UC_X86_REG_RAX, UC.UC_X86_REG_CR4]);
      regs.setNumber(0, entry);
      regs.setNumber(1, sp);
      regs.setNumber(2, 0);
      regs.setNumber(3, 0);
      // CR4.OSFXSR and OSXMMEXCPT, as Linux sets them: Unicorn's 64-bit mode
      // enables SSE without them, and its fxsave/fxrstor then skip the XMM
      // registers (QEMU's do_fxsave), so ld.so's lazy-binding trampoline
      // (_dl_runtime_resolve_fxsave) lost a float argument of every first call
      // through the PLT (log(10) came back 0 in a dynamic program).
      regs.setNumber(4, CR4_OSFXSR | CR4_OSXMMEXCPT);
      regs.write();
    } else {
      const regs = this.engine.registers([UC.UC_ARM64_REG_PC, UC.UC_ARM64_REG_SP, X(0)]);
      regs.setNumber(0, entry);
      regs.setNumber(1, sp);
      regs.setNumber(2, 0); // x0: the rtld_fini pointer; none for a static program
      regs.write();
    }
  }

  hwcaps(): { hwcap: number; hwcap2: number } {
    if (this.arch === 'x86_64') {
      // AT_HWCAP on x86 is CPUID.1:EDX of the CPU the program runs on. Ask the
      // emulated CPU itself. AT_HWCAP2 only reports FSGSBASE (bit 1) when the
      // kernel enables it for user space; tslinux does not, so it is 0.
      const { edx } = cpuid(this.engine, 1);
      return { hwcap: edx, hwcap2: 0 };
    }
    return hwcapsFromIdRegisters(readIdRegister(this.engine, ID_AA64ISAR0_EL1), readIdRegister(this.engine, ID_AA64PFR0_EL1));
  }

  // ---- running

  get preemptible(): boolean {
    return this.engine.preemptible;
  }
  run(pc: number, limits?: RunLimits): RunResult {
    return this.engine.run(pc, limits);
  }
  stop(): void {
    this.engine.stop();
  }
  flushTlb(): void {
    this.engine.flushTlb();
  }
  mapHost(addr: number, bytes: Uint8Array, prot: number): void {
    this.engine.mapHost(addr, bytes, prot);
  }
  unmap(addr: number, size: number): void {
    this.engine.unmap(addr, size);
  }
  protect(addr: number, size: number, prot: number, was?: number): void {
    this.engine.protect(addr, size, prot, was);
  }
  newContext(): GuestContext {
    const ctx = this.engine.newContext();
    return { save: () => ctx.save(), restoreInto: () => ctx.restoreInto(), free: () => ctx.free() };
  }
  copyStateTo(target: GuestEngine): void {
    if (!(target instanceof UnicornGuest)) throw new Error('copyStateTo: not a Unicorn engine');
    this.engine.copyCpuStateTo(target.engine);
  }
  exactFaultPc(fault: CpuFault, mem: GuestMappings): number | null {
    return exactFaultPc(this.engine, fault, mem);
  }
  recycle(keep: readonly { start: number; end: number }[]): { start: number; end: number }[] | null {
    return this.engine.recycle(keep);
  }
  close(): void {
    this.engine.close();
  }
}

/** Unicorn engines, each charged ENGINE_BUDGET_BYTES. */
export const unicornBackend: CpuBackend = {
  engineBytes: ENGINE_BUDGET_BYTES,
  runsCode: true,
  create: (arch, hooks) => new UnicornGuest(arch, hooks),
};

/** Execute one `cpuid` instruction on the emulated CPU, in a scratch page below mmap_min_addr. */
export function cpuid(cpu: CpuEngine, leaf: number): { eax: number; ebx: number; ecx: number; edx: number } {
  const scratch = 0x1000;
  const page = new Uint8Array(4096);
  page.set([0x0f, 0xa2]); // cpuid
  cpu.mapHost(scratch, page, 5);
  try {
    const regs = cpu.registers([UC.UC_X86_REG_RAX, UC.UC_X86_REG_RBX, UC.UC_X86_REG_RCX, UC.UC_X86_REG_RDX]);
    regs.setNumber(0, leaf);
    regs.setNumber(2, 0);
    regs.write();
    cpu.runUntil(scratch, scratch + 2);
    regs.read();
    return { eax: regs.words[0]!, ebx: regs.words[2]!, ecx: regs.words[4]!, edx: regs.words[6]! };
  } finally {
    cpu.unmap(scratch, 4096);
  }
}

interface SysReg { op0: number; op1: number; crn: number; crm: number; op2: number }
const ID_AA64PFR0_EL1: SysReg = { op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 };
const ID_AA64ISAR0_EL1: SysReg = { op0: 3, op1: 0, crn: 0, crm: 6, op2: 0 };

/** Read a system register through Unicorn's uc_arm64_cp_reg {crn, crm, op0, op1, op2; u64 val}. */
function readIdRegister(cpu: CpuEngine, r: SysReg): bigint {
  const buf = new Uint8Array(32);
  const v = new DataView(buf.buffer);
  v.setUint32(0, r.crn, true);
  v.setUint32(4, r.crm, true);
  v.setUint32(8, r.op0, true);
  v.setUint32(12, r.op1, true);
  v.setUint32(16, r.op2, true);
  cpu.readRaw(UC.UC_ARM64_REG_CP_REG, buf);
  return v.getBigUint64(24, true);
}
