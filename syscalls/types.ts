// How a syscall is declared: once, with its name, its argument kinds and its
// handler. The dispatcher converts raw registers by kind, the tracer decodes
// by kind, and the support table is generated from the declarations.
import type { Arch } from '../src/arch/types.ts';
import type { FdTable } from '../src/kernel/fdtable.ts';
import type { Kernel } from '../src/kernel/kernel.ts';
import type { AddressSpace } from '../src/kernel/memory.ts';
import type { Process } from '../src/kernel/process.ts';
import type { Task } from '../src/kernel/task.ts';

/**
 * Argument kinds. The kind fixes how the raw 64-bit register is read
 * (signed 32-bit, unsigned 32-bit, signed 64-bit or unsigned 64-bit) and how
 * the tracer shows it.
 */
export const ARG_KINDS = {
  // signed 32-bit
  int: 's32',
  fd: 's32',
  /** The fd number a call puts a file at (dup2, dup3); whatever it held before is closed. */
  newfd: 's32',
  dirfd: 's32',
  signal: 's32',
  whence: 's32',
  fcntl_cmd: 's32',
  clockid: 's32',
  rlimit_resource: 's32',
  arch_prctl_code: 's32',
  madvise_advice: 's32',
  sigprocmask_how: 's32',
  which: 's32',
  // unsigned 32-bit flag words and modes
  uint: 'u32',
  open_flags: 'u32',
  at_flags: 'u32',
  mode: 'u32',
  access_mode: 'u32',
  prot: 'u32',
  map_flags: 'u32',
  mremap_flags: 'u32',
  rename_flags: 'u32',
  statx_mask: 'u32',
  getrandom_flags: 'u32',
  futex_op: 's32',
  ioctl_request: 'u32',
  // 64-bit
  long: 's64',
  off: 's64',
  ulong: 'u64',
  hex: 'u64',
  size: 'u64',
  ptr: 'u64',
  /** A NUL-terminated path the guest passes in. */
  path: 'u64',
  /** Bytes the guest passes in; their length is the next argument. */
  inbuf: 'u64',
  /** Bytes the kernel fills; their length is the return value. */
  outbuf: 'u64',
  /** A NUL-terminated string the kernel writes (getcwd, readlink: length is the return value). */
  outstr: 'u64',
  iovec_in: 'u64',
  iovec_out: 'u64',
  struct_stat_out: 'u64',
  struct_statx_out: 'u64',
  struct_timespec_in: 'u64',
  struct_timespec_out: 'u64',
  struct_utsname_out: 'u64',
  struct_rlimit_in: 'u64',
  struct_rlimit_out: 'u64',
  sigset_in: 'u64',
  sigset_out: 'u64',
  struct_sigaction_in: 'u64',
  struct_sigaction_out: 'u64',
  /** A siginfo_t the guest passes in (rt_sigqueueinfo). */
  struct_siginfo_in: 'u64',
  struct_itimerval_in: 'u64',
  struct_itimerval_out: 'u64',
  // event descriptors (epoll, eventfd, timerfd)
  epoll_create_flags: 'u32',
  epoll_ctl_op: 's32',
  eventfd_flags: 'u32',
  timerfd_settime_flags: 'u32',
  /** struct epoll_event the guest passes in (epoll_ctl). */
  struct_epoll_event_in: 'u64',
  /** The struct epoll_event array epoll_wait fills; its length is the return value. */
  epoll_events_out: 'u64',
  struct_itimerspec_in: 'u64',
  struct_itimerspec_out: 'u64',
} as const;

export type ArgKind = keyof typeof ARG_KINDS;

/**
 * What the return value is, for the tracer: addresses print in hex;
 * `noreturn` calls end their thread; `sigreturn` restores the registers of
 * a signal frame, so the "result" is the restored return register (and the
 * tracer shows the frame's mask, as strace does).
 */
export type ReturnKind = 'int' | 'fd' | 'size' | 'addr' | 'noreturn' | 'sigreturn';

/** What a handler sees: its task's process, memory, fds and the kernel around it. */
export interface SyscallContext {
  readonly kernel: Kernel;
  readonly proc: Process;
  readonly mem: AddressSpace;
  readonly fds: FdTable;
  readonly arch: Arch;
  /** The calling task (thread): its pc, blocking state and per-call retry state. */
  readonly task: Task;
}

export type Handler = (ctx: SyscallContext, ...args: number[]) => number;

export interface SyscallDecl {
  name: string;
  /** Argument names and kinds, in register order. */
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
