// arm64's AT_HWCAP from the CPU's ID registers, as Linux computes it: pure
// ABI knowledge, which the Unicorn engine (src/cpu/guest-engine.ts) applies
// to the registers it reads.
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
