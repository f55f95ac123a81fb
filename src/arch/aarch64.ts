// The aarch64 ABI: syscall number in x8, arguments in x0-x5, result in x0
// (see syscall(2), "Architecture calling conventions").
import type { CpuEngine } from '../cpu/engine.ts';
import * as UC from '../cpu/unicorn-constants.ts';
import { SYSCALL_NAMES, SYSCALL_NUMBERS } from '../../syscalls/table/aarch64.ts';
import { AARCH64_CONSTANTS } from './generated-constants.ts';
import { GENERIC_STAT_SIZE, encodeStatGeneric } from './stat.ts';
import type { Arch } from './types.ts';

/** 48-bit virtual addresses (CONFIG_ARM64_VA_BITS_48). */
const TASK_SIZE = 0x1_0000_0000_0000;

const X = (n: number): number => (n === 29 ? UC.UC_ARM64_REG_X29 : n === 30 ? UC.UC_ARM64_REG_X30 : UC.UC_ARM64_REG_X0 + n);

export const aarch64: Arch = {
  name: 'aarch64',
  elfMachine: 183,
  platform: 'aarch64',
  syscallNames: SYSCALL_NAMES,
  syscallNumbers: SYSCALL_NUMBERS,
  c: AARCH64_CONSTANTS,
  layout: {
    mmapMin: 0x10000,
    taskSize: TASK_SIZE,
    stackTop: TASK_SIZE - 0x1000,
    mmapBase: TASK_SIZE - 0x1000 - 0x1000_0000,
    pieBase: 0xaaaa_aaaa_a000,
  },
  syscallRegs: [X(8), X(0), X(1), X(2), X(3), X(4), X(5)],
  returnReg: X(0),
  pcReg: UC.UC_ARM64_REG_PC,
  spReg: UC.UC_ARM64_REG_SP,
  tlsReg: UC.UC_ARM64_REG_TPIDR_EL0,
  prepareEntry(cpu: CpuEngine, entry: number, sp: number): void {
    const regs = cpu.registers([UC.UC_ARM64_REG_PC, UC.UC_ARM64_REG_SP, X(0)]);
    regs.setNumber(0, entry);
    regs.setNumber(1, sp);
    regs.setNumber(2, 0); // x0: the rtld_fini pointer; none for a static program
    regs.write();
  },
  hwcaps(cpu: CpuEngine) {
    return hwcapsFromIdRegisters(readIdRegister(cpu, ID_AA64ISAR0_EL1), readIdRegister(cpu, ID_AA64PFR0_EL1));
  },
  encodeStat: encodeStatGeneric,
  statSize: GENERIC_STAT_SIZE,
};

export const aarch64Reg = X;

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

const field = (reg: bigint, shift: number): number => Number((reg >> BigInt(shift)) & 0xfn);

/**
 * Linux's mapping from ID register fields to HWCAP bits
 * (arch/arm64/kernel/cpufeature.c, arm64_elf_hwcaps; bit numbers from
 * uapi/asm/hwcap.h). Only the ARMv8.0-8.2 features are listed; the CPU
 * model (Cortex-A72) has none of the later ones.
 */
export function hwcapsFromIdRegisters(isar0: bigint, pfr0: bigint): { hwcap: number; hwcap2: number } {
  let hwcap = 0;
  const set = (bit: number, on: boolean): void => {
    if (on) hwcap |= 2 ** bit;
  };
  const fp = field(pfr0, 16);
  const asimd = field(pfr0, 20);
  set(0, fp !== 0xf); // FP
  set(1, asimd !== 0xf); // ASIMD
  set(9, fp === 1); // FPHP
  set(10, asimd === 1); // ASIMDHP
  const aes = field(isar0, 4);
  set(3, aes >= 1); // AES
  set(4, aes >= 2); // PMULL
  set(5, field(isar0, 8) >= 1); // SHA1
  set(6, field(isar0, 12) >= 1); // SHA2
  set(21, field(isar0, 12) >= 2); // SHA512
  set(7, field(isar0, 16) >= 1); // CRC32
  set(8, field(isar0, 20) >= 2); // ATOMICS (LSE)
  set(12, field(isar0, 28) >= 1); // ASIMDRDM
  set(17, field(isar0, 32) >= 1); // SHA3
  set(18, field(isar0, 36) >= 1); // SM3
  set(19, field(isar0, 40) >= 1); // SM4
  set(20, field(isar0, 44) >= 1); // ASIMDDP
  set(23, field(isar0, 48) >= 1); // ASIMDFHM
  // CPUID: Linux emulates MRS of the ID registers for EL0; Unicorn executes them directly.
  set(11, true);
  return { hwcap: hwcap >>> 0, hwcap2: 0 };
}
