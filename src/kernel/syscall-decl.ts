// How a syscall is declared: once, with its name, its argument kinds, its
// handler and what else is particular to it (SyscallMeta: its summary, a
// per-arch register order, what a signal leaves in it). The dispatcher
// converts raw registers by kind, the tracer decodes by kind, the fuzzer
// draws by kind, and the support table and `tslinux explain` come from the
// declarations.
//
// The kernel owns this interface: the declarations (syscalls/) implement
// it, and the entry point hands their table to the kernel
// (KernelOptions.syscalls), so src/kernel/ never imports syscalls/.
import type { Arch } from '../arch/types.ts';
import type { GuestCpu } from '../arch/cpu.ts';
import type { FdTable } from './fdtable.ts';
import type { KernelServices } from './services.ts';
import type { AddressSpace } from './memory.ts';
import type { Process } from './process.ts';
import type { Task } from './task.ts';
import { KINDS, type ArgKind, type ReturnKind, type SyscallMeta, type Width } from './syscall-kinds.ts';

export { KINDS, RETURN_KINDS, type ArgKind, type ReturnKind, type SyscallMeta } from './syscall-kinds.ts';

/** Each kind's register width (signed or unsigned, 32 or 64 bits). */
export const ARG_KINDS = Object.fromEntries(Object.entries(KINDS).map(([k, d]) => [k, d.width])) as { readonly [K in ArgKind]: Width };

/** What a handler sees: its task's process, memory, fds and the kernel around it. */
export interface SyscallContext {
  /** The kernel services a handler may use (src/kernel/services.ts). */
  readonly kernel: KernelServices;
  readonly proc: Process;
  readonly mem: AddressSpace;
  readonly fds: FdTable;
  readonly arch: Arch;
  /** The calling task (thread): its pc, blocking state and per-call retry state. */
  readonly task: Task;
  /**
   * The calling thread's registers, through the CPU port (src/arch/cpu.ts):
   * Unicorn's, or a plain in-memory one for a headless kernel; a handler
   * behaves the same over either.
   */
  readonly cpu: GuestCpu;
}

export type Handler = (ctx: SyscallContext, ...args: number[]) => number;

export interface SyscallDecl extends SyscallMeta {
  name: string;
  /** Argument names and kinds, in the order the handler takes them: register order, unless argOrder gives an arch its own. */
  args: Readonly<Record<string, ArgKind>>;
  ret?: ReturnKind;
  /** Returns the result (>= 0) or throws LinuxError. */
  handler: Handler;
  /** Shown in the support table. */
  note?: string;
}

/** The family a module declares (file, fs, mm, process, signal, time, ids, misc). */
export interface SyscallFamily {
  family: string;
  syscalls: SyscallDecl[];
}

export function family(name: string, syscalls: SyscallDecl[]): SyscallFamily {
  return { family: name, syscalls };
}
