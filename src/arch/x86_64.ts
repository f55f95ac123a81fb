// The x86-64 ABI: syscall number in rax, arguments in rdi, rsi, rdx, r10, r8,
// r9, result in rax (see syscall(2), "Architecture calling conventions").
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
  syscallInsnSize: 2,
  encodeStat: encodeStatX86_64,
  statSize: X86_64_STAT_SIZE,
};
