// What differs between the guest architectures, behind one interface: the
// syscall numbers, the address-space layout and struct layouts. Which
// registers carry a syscall, the TLS register and the CPU features are the
// CPU port's (cpu.ts).
import type { CpuArch } from './cpu.ts';
import type { AddressSpaceLayout } from '../kernel/memory.ts';
import type { StatInfo } from '../kernel/vfs/types.ts';
import type { ArchConstants } from './generated-constants.ts';

export type { ArchConstants };

export interface ArchLayout extends AddressSpaceLayout {
  /** One past the top of the initial stack. */
  stackTop: number;
  /** Where a static-PIE (ET_DYN) executable is loaded (Linux's ELF_ET_DYN_BASE, unrandomised). */
  pieBase: number;
}

export interface Arch {
  readonly name: CpuArch;
  readonly elfMachine: number;
  /** AT_PLATFORM and uname -m. */
  readonly platform: string;
  readonly syscallNames: Readonly<Record<number, string>>;
  readonly syscallNumbers: Readonly<Record<string, number>>;
  readonly c: ArchConstants;
  readonly layout: ArchLayout;
  /** Bytes of the syscall instruction (`syscall` 2, `svc #0` 4): a call returns past it. Registers are the CPU port's (cpu.ts REGISTERS). */
  readonly syscallInsnSize: number;
  /** struct stat as this arch's fstat/newfstatat write it. */
  encodeStat(st: StatInfo): Uint8Array;
  readonly statSize: number;
}
