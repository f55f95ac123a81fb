// The x86-64 ABI: syscall number in rax, arguments in rdi, rsi, rdx, r10, r8,
// r9, result in rax (see syscall(2), "Architecture calling conventions").
import type { CpuEngine } from '../cpu/engine.ts';
import * as UC from '../cpu/unicorn-constants.ts';
import { SYSCALL_NAMES, SYSCALL_NUMBERS } from '../../syscalls/table/x86_64.ts';
import { X86_64_CONSTANTS } from './generated-constants.ts';
import { X86_64_STAT_SIZE, encodeStatX86_64 } from './stat.ts';
import type { Arch } from './types.ts';

/** 47-bit user space: TASK_SIZE is 0x7ffffffff000 on x86-64. */
const TASK_SIZE = 0x7fff_ffff_f000;

export const x86_64: Arch = {
  name: 'x86_64',
  elfMachine: 62,
  platform: 'x86_64',
  syscallNames: SYSCALL_NAMES,
  syscallNumbers: SYSCALL_NUMBERS,
  c: X86_64_CONSTANTS,
  layout: {
    mmapMin: 0x10000,
    taskSize: TASK_SIZE,
    stackTop: TASK_SIZE,
    // Leave 256 MiB below the stack for it to grow, like Linux's mmap_base gap.
    mmapBase: TASK_SIZE - 0x1000_0000,
    pieBase: 0x5555_5555_4000,
  },
  syscallRegs: [
    UC.UC_X86_REG_RAX,
    UC.UC_X86_REG_RDI,
    UC.UC_X86_REG_RSI,
    UC.UC_X86_REG_RDX,
    UC.UC_X86_REG_R10,
    UC.UC_X86_REG_R8,
    UC.UC_X86_REG_R9,
  ],
  returnReg: UC.UC_X86_REG_RAX,
  pcReg: UC.UC_X86_REG_RIP,
  spReg: UC.UC_X86_REG_RSP,
  tlsReg: UC.UC_X86_REG_FS_BASE,
  prepareEntry(cpu: CpuEngine, entry: number, sp: number): void {
    const regs = cpu.registers([UC.UC_X86_REG_RIP, UC.UC_X86_REG_RSP, UC.UC_X86_REG_RDX, UC.UC_X86_REG_RAX, UC.UC_X86_REG_CR4]);
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
  },
  hwcaps(cpu: CpuEngine) {
    // AT_HWCAP on x86 is CPUID.1:EDX of the CPU the program runs on. Ask the
    // emulated CPU itself. AT_HWCAP2 only reports FSGSBASE (bit 1) when the
    // kernel enables it for user space; tslinux does not, so it is 0.
    const { edx } = cpuid(cpu, 1);
    return { hwcap: edx, hwcap2: 0 };
  },
  encodeStat: encodeStatX86_64,
  statSize: X86_64_STAT_SIZE,
};

const CR4_OSFXSR = 1 << 9;
const CR4_OSXMMEXCPT = 1 << 10;

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
