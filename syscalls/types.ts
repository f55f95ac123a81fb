// How a syscall is declared (SyscallDecl) and what its handler sees
// (SyscallContext). The kernel owns the interface (src/kernel/syscall-decl.ts,
// with the argument kinds in src/kernel/syscall-kinds.ts); the families here
// implement it, and this module re-exports it for them.
export * from '../src/kernel/syscall-decl.ts';
