// The CPU port: what the kernel, the handlers, the signal frames and the
// loader may ask of a guest CPU, in the ABI's own terms (registers by role
// and by the names in the arch manuals), never an engine's register ids.
//
// Two implementations: Unicorn's (src/cpu/guest-engine.ts), which runs
// guest code, and a plain in-memory one (plain-cpu.ts), which holds
// registers in arrays and runs nothing: the headless kernel, the tests and
// the fuzzer use it, so fork, clone, execve and rt_sigreturn work the same
// without an engine. Nothing here imports anything outside src/arch/.
//
//   GuestCpu     the register file (syscall trap, return value, pc, sp,
//                TLS, the signal frame's registers, entry state, HWCAPs)
//   GuestEngine  a GuestCpu that also runs code and holds memory mappings
//                (the scheduler's and the address space's view)
//   CpuBackend   makes engines (the entry point chooses one)

export type CpuArch = 'x86_64' | 'aarch64';

/** Linux signal numbers for the synchronous faults the CPU can raise (same on both arches). */
export const FAULT_SIGNALS = { SIGILL: 4, SIGTRAP: 5, SIGBUS: 7, SIGFPE: 8, SIGSEGV: 11 } as const;
export type FaultSignalName = keyof typeof FAULT_SIGNALS;

/** A synchronous CPU fault, already expressed the way Linux reports it in siginfo. */
export interface CpuFault {
  signal: FaultSignalName;
  /** si_code: SEGV_MAPERR=1, SEGV_ACCERR=2, ILL_ILLOPC=1 (arm64 undefined), ILL_ILLOPN=2 (x86 #UD), FPE_INTDIV=1, BUS_ADRALN=1, TRAP_BRKPT=1 */
  code: number;
  /**
   * si_addr: the faulting data address, or the pc for instruction faults;
   * a bigint above 2^53 (kernel-half addresses), where a number would lose bits.
   */
  addr: number | bigint;
  pc: number;
  /** Human-readable cause, e.g. "write to unmapped address". */
  reason: string;
  /** For memory faults: what the access was. */
  access?: 'read' | 'write' | 'fetch';
}

/** How long a run may go on before the engine stops it at a block boundary. */
export type SliceLimit =
  /** Milliseconds of monotonic (wall) time while the run goes on (see src/cpu/block-stop.ts, SLICE_CLOCK). */
  | { ms: number }
  /** A count of blocks run (at least 1): the same stopping points every time (--deterministic). */
  | { blocks: number };

/**
 * How a run ended:
 * - 'stopped': a hook called stop() (it knows where to resume), or nobody
 *   did: the pc reached runUntil's `until`, or x86 `hlt`;
 * - 'preempted': the slice ran out and the engine stopped at the start of a
 *   block, before its first instruction (see src/cpu/block-stop.ts), or
 *   Unicorn stopped itself after a hook (see protect()): either way the pc
 *   is exactly where to go on;
 * - 'timeout': the watchdog (Unicorn's own run timeout) stopped it, possibly
 *   in the middle of a block: the state is only good for killing the task;
 * - 'fault': a CPU exception other than a syscall.
 */
export type RunResult = { kind: 'stopped' } | { kind: 'preempted' } | { kind: 'timeout' } | { kind: 'fault'; fault: CpuFault };

export interface RunLimits {
  /** When to pre-empt the run exactly (needs a preemptible engine; null: never). */
  slice?: SliceLimit | null;
  /**
   * The engine's own run timeout, in microseconds (0: none). Its stop can
   * land in the middle of a block (see src/cpu/block-stop.ts), so a run it
   * ends must not be resumed: for killing only.
   */
  watchdogUs?: number;
}

// ---- the ABI's registers, by name -------------------------------------------------------------

/**
 * Each arch's registers by role, named as in its manuals. `frameGregs` and
 * `frameFpregs` are the registers a signal frame saves, in the order of the
 * arch's sigcontext (x86-64's struct sigcontext r8..rip, eflags; arm64's
 * regs[31], sp, pc, pstate) and of its FP control words; `vectors` the
 * 16-byte vector registers it saves (x86-64's x87 stack, 10 bytes used, and
 * XMM; arm64's V/Q).
 */
export const REGISTERS = {
  x86_64: {
    syscall: ['rax', 'rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'],
    ret: 'rax',
    pc: 'rip',
    sp: 'rsp',
    tls: 'fs_base',
    /** Size of `syscall` (0f 05): the call returns past it. */
    syscallInsnSize: 2,
    frameGregs: ['r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rdi', 'rsi', 'rbp', 'rbx', 'rdx', 'rax', 'rcx', 'rsp', 'rip', 'rflags'],
    frameFpregs: ['fpcw', 'fpsw', 'fptag', 'mxcsr', 'fop', 'fip', 'fdp'],
    vectors: { st: 8, xmm: 16 },
    /** Registers besides the frame's that the ABI names (arch_prctl's bases). */
    others: ['fs_base', 'gs_base'],
  },
  aarch64: {
    syscall: ['x8', 'x0', 'x1', 'x2', 'x3', 'x4', 'x5'],
    ret: 'x0',
    pc: 'pc',
    sp: 'sp',
    tls: 'tpidr_el0',
    /** Size of `svc #0`. */
    syscallInsnSize: 4,
    frameGregs: [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'nzcv'],
    frameFpregs: ['fpsr', 'fpcr'],
    vectors: { q: 32 },
    others: ['tpidr_el0'],
  },
} as const satisfies Record<CpuArch, unknown>;

export type VectorBank = 'st' | 'xmm' | 'q';

/** The trapped syscall's registers: the number and six arguments as little-endian 32-bit halves (register i is words[2i], words[2i+1]). */
export interface SyscallRegisters {
  readonly words: Uint32Array;
}

/**
 * The register file of one guest CPU (one process; threads take turns on
 * it through contexts). Values are 64-bit; `number` accessors are exact
 * below 2^53, which covers user-space pointers and sizes.
 */
export interface GuestCpu {
  readonly arch: CpuArch;

  // ---- the syscall ABI
  /** Read the trapped syscall's number and arguments (one batch; the object is reused). */
  readSyscall(): SyscallRegisters;
  /** The address of the syscall instruction that trapped (after readSyscall): engines report the pc before or after it. */
  trapPc(): number;
  /** Write a syscall's result (>= 0, or -errno as a 64-bit two's complement value) into the return register. */
  setReturnValue(value: number): void;
  /** The return register as a signed 64-bit value (what rt_sigreturn restored). */
  returnValue(): number;

  // ---- pc, sp, TLS and named registers
  pc(): number;
  setPc(pc: number): void;
  sp(): number;
  setSp(sp: number): void;
  /** The thread pointer (x86-64 fs base, arm64 tpidr_el0): what CLONE_SETTLS sets. */
  setTls(tls: number): void;
  /** A register REGISTERS names (frame registers and `others`), as a number. */
  register(name: string): number;
  setRegister(name: string, value: number): void;
  /** Every general register and the TLS base, by name, for crash reports. */
  namedRegisters(): Record<string, bigint>;

  // ---- the signal frame's register set
  /** The frame's general registers (REGISTERS[arch].frameGregs order); a fresh copy. */
  readFrameGregs(): BigUint64Array;
  writeFrameGregs(values: BigUint64Array): void;
  /** The frame's FP control registers (frameFpregs order); a fresh copy, narrow ones zero-extended. */
  readFrameFpregs(): BigUint64Array;
  writeFrameFpregs(values: BigUint64Array): void;
  /** Vector register `i` of `bank` (16 bytes; x87 registers use 10). */
  readVector(bank: VectorBank, i: number, out: Uint8Array): void;
  writeVector(bank: VectorBank, i: number, value: Uint8Array): void;

  // ---- a new image
  /** The registers at an ELF entry point: pc and sp, everything else as Linux leaves it (zero). */
  enterAt(entry: number, sp: number): void;
  /** AT_HWCAP and AT_HWCAP2, true to what this CPU supports. */
  hwcaps(): { hwcap: number; hwcap2: number };
}

/** One thread's saved registers while another thread of the process holds the CPU. */
export interface GuestContext {
  /** Take the CPU's current state. */
  save(): void;
  /** Put this state back on the CPU. */
  restoreInto(): void;
  free(): void;
}

/** Where a process's memory lives, for the probe that finds a fault's exact pc. */
export interface GuestMappings {
  mappings(): readonly { start: number; end: number; bytes: Uint8Array | null; prot: number }[];
  mappingAt(addr: number): { start: number; end: number; bytes: Uint8Array | null; prot: number } | undefined;
}

/** A GuestCpu that runs code: the scheduler's and the address space's view of one process's engine. */
export interface GuestEngine extends GuestCpu {
  /** Whether runs can be pre-empted exactly (RunLimits.slice). */
  readonly preemptible: boolean;
  /** Run from `pc` until a hook calls stop(), the CPU faults, or a limit ends the run. */
  run(pc: number, limits?: RunLimits): RunResult;
  /** From a hook: end the run after this hook returns. */
  stop(): void;
  /** Empty the soft TLB (at a pause, where it is cheap). */
  flushTlb(): void;
  mapHost(addr: number, bytes: Uint8Array, prot: number): void;
  unmap(addr: number, size: number): void;
  /** Change a range's protection; `was`, when known, is the one it had (the engine can skip work for code never there). */
  protect(addr: number, size: number, prot: number, was?: number): void;
  /** Storage for one whole CPU state (a thread's registers while another runs). */
  newContext(): GuestContext;
  /** Copy the whole CPU state into `target` (fork). */
  copyStateTo(target: GuestEngine): void;
  /** A memory fault's exact pc, when the engine reports the block's (null: the fault's own is right). */
  exactFaultPc(fault: CpuFault, mem: GuestMappings): number | null;
  /**
   * Ready this engine, whose process is gone, for another process: all
   * memory unmapped but the ranges in `keep` (with the code translated from
   * them), the CPU state as when the engine was made. Returns the ranges
   * kept, or null when this engine cannot be reused. Absent: never reused.
   */
  recycle?(keep: readonly { start: number; end: number }[]): { start: number; end: number }[] | null;
  close(): void;
}

/** What an engine calls back into the kernel. */
export interface EngineHooks {
  /** At every syscall instruction. */
  onSyscall(): void;
  /** An access to an unmapped address: true when the kernel has just mapped memory there (retry). */
  onUnmapped(addr: number): boolean;
}

/** Makes the engines of a run: Unicorn's, or the plain in-memory one (plain-cpu.ts). */
export interface CpuBackend {
  /** Host memory one engine takes from the run's memory budget. */
  readonly engineBytes: number;
  /** Whether its engines run code (a plain backend's only hold registers: a headless kernel). */
  readonly runsCode: boolean;
  create(arch: CpuArch, hooks: EngineHooks): GuestEngine;
}
