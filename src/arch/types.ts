// What differs between the guest architectures, behind one interface: which
// registers carry a syscall, the address-space layout, struct layouts, the
// TLS register and the CPU features reported in AT_HWCAP.
import type { CpuArch, CpuEngine } from '../cpu/engine.ts';
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
  /** Unicorn register ids read in one batch at every syscall: the number, then the six arguments. */
  readonly syscallRegs: readonly number[];
  /** Where the result goes (rax / x0). */
  readonly returnReg: number;
  readonly pcReg: number;
  readonly spReg: number;
  /** The thread pointer (fs base / tpidr_el0) that CLONE_SETTLS and arch_prctl set. */
  readonly tlsReg: number;
  /** Registers at the ELF entry point: Linux leaves the general registers zero (static glibc reads rdx as an atexit function). */
  prepareEntry(cpu: CpuEngine, entry: number, sp: number): void;
  /** AT_HWCAP and AT_HWCAP2, true to what the emulated CPU supports. */
  hwcaps(cpu: CpuEngine): { hwcap: number; hwcap2: number };
  /** struct stat as this arch's fstat/newfstatat write it. */
  encodeStat(st: StatInfo): Uint8Array;
  readonly statSize: number;
}
