// The aarch64 ABI: syscall number in x8, arguments in x0-x5, result in x0
// (see syscall(2), "Architecture calling conventions").
import { SYSCALL_NAMES, SYSCALL_NUMBERS } from '../../syscalls/table/aarch64.ts';
import { AARCH64_CONSTANTS } from './generated-constants.ts';
import { GENERIC_STAT_SIZE, encodeStatGeneric } from './stat.ts';
import type { Arch } from './types.ts';

/** 48-bit virtual addresses (CONFIG_ARM64_VA_BITS_48). */
const TASK_SIZE = 0x1_0000_0000_0000;

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
  syscallInsnSize: 4,
  encodeStat: encodeStatGeneric,
  statSize: GENERIC_STAT_SIZE,
};

// Linux's HWCAP mapping (the Unicorn engine applies it to the ID registers it reads).
export { hwcapsFromIdRegisters } from './hwcaps.ts';
