// The CPU backend: one Unicorn engine per guest address space.
//
// Everything that knows Unicorn or the FFI lives in src/cpu/. Above this file
// the kernel sees plain operations: map host memory into the guest, change
// protections, read and write registers in batches, run until a syscall hook
// asks to stop, and faults translated into Linux signals.
import koffi, { type LibraryHandle, type TypeObject } from './koffi.ts';
import { loadUnicorn } from './unicorn-lib.ts';
import { BlockStop, type SliceLimit } from './block-stop.ts';
import { CodeBuffer } from './code-buffer.ts';
import * as UC from './unicorn-constants.ts';

export type { SliceLimit } from './block-stop.ts';

// The port's types (src/arch/cpu.ts), re-exported for the engine's users.
import { FAULT_SIGNALS, type CpuArch, type CpuFault, type FaultSignalName, type RunLimits, type RunResult } from '../arch/cpu.ts';
export { FAULT_SIGNALS, type CpuArch, type CpuFault, type FaultSignalName, type RunLimits, type RunResult };

/** PROT_* bits as Linux and Unicorn both define them (READ=1, WRITE=2, EXEC=4). */
export type Prot = number;

type Pointer = bigint;

interface UnicornApi {
  open: (arch: number, mode: number, out: Pointer[]) => number;
  close: (uc: Pointer) => number;
  strerror: (err: number) => string;
  ctl: (uc: Pointer, control: number, ...args: unknown[]) => number;
  memMapPtr: (uc: Pointer, addr: bigint, size: number, perms: number, ptr: bigint) => number;
  memUnmap: (uc: Pointer, addr: bigint, size: number) => number;
  memProtect: (uc: Pointer, addr: bigint, size: number, perms: number) => number;
  regReadBatch: (uc: Pointer, ids: Int32Array, vals: BigUint64Array, count: number) => number;
  regWriteBatch: (uc: Pointer, ids: Int32Array, vals: BigUint64Array, count: number) => number;
  regRead: (uc: Pointer, id: number, value: Uint8Array) => number;
  regWrite: (uc: Pointer, id: number, value: Uint8Array) => number;
  hookAdd: (uc: Pointer, out: Pointer[], type: number, cb: Pointer, user: Pointer | null, begin: bigint, end: bigint, ...extra: unknown[]) => number;
  query: (uc: Pointer, type: number, out: (number | bigint)[]) => number;
  emuStart: (uc: Pointer, begin: bigint, until: bigint, timeout: bigint, count: number) => number;
  emuStop: (uc: Pointer) => number;
  contextAlloc: (uc: Pointer, out: Pointer[]) => number;
  contextSave: (uc: Pointer, ctx: Pointer) => number;
  contextRestore: (uc: Pointer, ctx: Pointer) => number;
  contextFree: (ctx: Pointer) => number;
  memRegions: (uc: Pointer, regions: Pointer[], count: number[]) => number;
  free: (mem: Pointer) => number;
  regionType: TypeObject;
  protos: { syscall: TypeObject; intr: TypeObject; memInvalid: TypeObject; code: TypeObject };
}

let api: UnicornApi | undefined;

function unicornApi(): UnicornApi {
  if (api) return api;
  const { lib } = loadUnicorn();
  api = {
    open: lib.func('int uc_open(int arch, int mode, _Out_ void **uc)'),
    close: lib.func('int uc_close(void *uc)'),
    strerror: lib.func('const char *uc_strerror(int err)'),
    ctl: lib.func('int uc_ctl(void *uc, int control, ...)'),
    memMapPtr: lib.func('int uc_mem_map_ptr(void *uc, uint64_t addr, size_t size, uint32_t perms, void *ptr)'),
    memUnmap: lib.func('int uc_mem_unmap(void *uc, uint64_t addr, size_t size)'),
    memProtect: lib.func('int uc_mem_protect(void *uc, uint64_t addr, size_t size, uint32_t perms)'),
    regReadBatch: lib.func('int uc_reg_read_batch(void *uc, void *regs, void *vals, int count)'),
    regWriteBatch: lib.func('int uc_reg_write_batch(void *uc, void *regs, void *vals, int count)'),
    regRead: lib.func('int uc_reg_read(void *uc, int regid, void *value)'),
    regWrite: lib.func('int uc_reg_write(void *uc, int regid, void *value)'),
    hookAdd: lib.func(
      'int uc_hook_add(void *uc, _Out_ void **hh, int type, void *callback, void *user, uint64_t begin, uint64_t end, ...)',
    ),
    query: lib.func('int uc_query(void *uc, int type, _Out_ size_t *result)'),
    emuStart: lib.func('int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)'),
    emuStop: lib.func('int uc_emu_stop(void *uc)'),
    contextAlloc: lib.func('int uc_context_alloc(void *uc, _Out_ void **context)'),
    contextSave: lib.func('int uc_context_save(void *uc, void *context)'),
    contextRestore: lib.func('int uc_context_restore(void *uc, void *context)'),
    contextFree: lib.func('int uc_context_free(void *context)'),
    memRegions: lib.func('int uc_mem_regions(void *uc, _Out_ void **regions, _Out_ uint32_t *count)'),
    free: lib.func('int uc_free(void *mem)'),
    // struct uc_mem_region: `end` is the region's last byte, not one past it.
    regionType: koffi.struct('TslMemRegion', { begin: 'uint64_t', end: 'uint64_t', perms: 'uint32_t' }),
    protos: {
      syscall: koffi.proto('void TslSyscallHook(void *uc, void *user)'),
      intr: koffi.proto('void TslIntrHook(void *uc, uint32_t intno, void *user)'),
      memInvalid: koffi.proto(
        'bool TslMemInvalidHook(void *uc, int type, uint64_t address, int size, int64_t value, void *user)',
      ),
      code: koffi.proto('void TslCodeHook(void *uc, uint64_t address, uint32_t size, void *user)'),
    },
  };
  return api;
}

export class CpuError extends Error {}

/** An `until` address execution never reaches: 2^64 - 1 (misaligned on arm64, non-canonical on x86-64). */
const NEVER_REACHED = -1;
const NEVER_REACHED_BIG = 0xffff_ffff_ffff_ffffn;

/**
 * Hooks are registered with koffi once for the whole process (koffi has a
 * limited number of callback slots) and forward to the engine that is
 * running: only one engine runs at a time, inside its own uc_emu_start.
 */
let runningEngine: CpuEngine | undefined;
let callbacks: { memInvalid: bigint; syscall: bigint; interrupt: bigint; code: bigint } | undefined;

function sharedCallbacks(): NonNullable<typeof callbacks> {
  if (callbacks) return callbacks;
  const { protos } = unicornApi();
  callbacks = {
    memInvalid: koffi.register((_uc: Pointer, type: number, address: bigint | number) => {
      // true: memory was mapped there and Unicorn retries; false: it stops with the matching UC_ERR_*.
      return runningEngine?.onMemInvalid(type, address) ?? false;
    }, koffi.pointer(protos.memInvalid)),
    syscall: koffi.register(() => runningEngine?.onSyscall(), koffi.pointer(protos.syscall)),
    interrupt: koffi.register((_uc: Pointer, intno: number) => runningEngine?.onInterrupt(intno), koffi.pointer(protos.intr)),
    code: koffi.register((_uc: Pointer, address: bigint, size: number) => runningEngine?.onCode(address, size), koffi.pointer(protos.code)),
  };
  return callbacks;
}

/**
 * A fixed set of registers read or written with one FFI call. The values live
 * in native memory that `words` views, so reading the syscall arguments costs
 * one call and no allocation.
 */
export class RegisterBatch {
  /** Little-endian 32-bit halves: register i is words[2i] (low) and words[2i+1] (high). */
  readonly words: Uint32Array;
  readonly values: BigUint64Array;
  private readonly ids: Int32Array;
  private readonly slots: BigUint64Array;
  /** The native memory behind `words`, freed with the engine. */
  readonly storage: bigint;

  constructor(
    private readonly engine: CpuEngine,
    regIds: readonly number[],
  ) {
    this.ids = Int32Array.from(regIds);
    const storage = koffi.alloc('uint64_t', regIds.length) as bigint;
    this.storage = storage;
    const view = koffi.view(storage, 8 * regIds.length);
    this.words = new Uint32Array(view);
    this.values = new BigUint64Array(view);
    this.slots = BigUint64Array.from(regIds, (_, i) => storage + BigInt(8 * i));
  }

  read(): Uint32Array {
    this.engine.check(unicornApi().regReadBatch(this.engine.handle, this.ids, this.slots, this.ids.length), 'reg_read_batch');
    return this.words;
  }

  write(): void {
    this.engine.check(unicornApi().regWriteBatch(this.engine.handle, this.ids, this.slots, this.ids.length), 'reg_write_batch');
  }

  /** Register i as a JS number; exact below 2^53, which covers user-space pointers and sizes. */
  number(i: number): number {
    return this.words[2 * i + 1]! * 0x1_0000_0000 + this.words[2 * i]!;
  }

  setNumber(i: number, value: number): void {
    this.words[2 * i] = value >>> 0;
    this.words[2 * i + 1] = Math.floor(value / 0x1_0000_0000) >>> 0;
  }
}

const MEM_FAULTS: Record<number, { signal: FaultSignalName; code: number; reason: string; access: 'read' | 'write' | 'fetch' }> = {
  [UC.UC_MEM_READ_UNMAPPED]: { signal: 'SIGSEGV', code: 1, reason: 'read from unmapped address', access: 'read' },
  [UC.UC_MEM_WRITE_UNMAPPED]: { signal: 'SIGSEGV', code: 1, reason: 'write to unmapped address', access: 'write' },
  [UC.UC_MEM_FETCH_UNMAPPED]: { signal: 'SIGSEGV', code: 1, reason: 'execute at unmapped address', access: 'fetch' },
  [UC.UC_MEM_READ_PROT]: { signal: 'SIGSEGV', code: 2, reason: 'read from protected address', access: 'read' },
  [UC.UC_MEM_WRITE_PROT]: { signal: 'SIGSEGV', code: 2, reason: 'write to protected address', access: 'write' },
  [UC.UC_MEM_FETCH_PROT]: { signal: 'SIGSEGV', code: 2, reason: 'execute at non-executable address', access: 'fetch' },
};

export interface EngineOptions {
  /** Called on every `syscall` (x86-64) or `svc #0` (aarch64) instruction. */
  onSyscall: () => void;
  /**
   * Let runs be pre-empted at block boundaries (RunLimits.slice), where the
   * host supports it (see block-stop.ts). It costs a native call per block.
   */
  preemptible?: boolean;
  /**
   * An access to an unmapped address: true when the kernel has just mapped
   * memory there (a file mapping copied in on first touch), and the access
   * is retried; false makes it a fault.
   */
  onUnmapped?: (addr: number) => boolean;
}

/**
 * A faulting address from Unicorn's memory hook as Linux reports it:
 * unsigned (arm64's arrives sign-extended), exact (a bigint above 2^53,
 * where a number would round: x86-64's vsyscall page 0xffffffffff600000 and
 * the rest of the kernel half), and on x86-64 canonical again: Unicorn keeps
 * only the low 52 bits (the physical address width), so an upper-half
 * address, whose bits 47-51 are all set, gets its top 12 bits back.
 */
function faultAddress(arch: CpuArch, raw: bigint | number): number | bigint {
  // koffi hands over a uint64_t as a number when it fits, a bigint otherwise.
  let a = BigInt.asUintN(64, BigInt(raw));
  if (arch === 'x86_64' && a >> 47n === 0x1fn) a |= 0xfff0_0000_0000_0000n;
  return a <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a) : a;
}

/**
 * Each engine's translated-code buffer (see the constructor): 32 MiB, what
 * QEMU's user mode used by default for years. Measured: gojq and cindex (Go)
 * fill 6-8 MiB of it, bash 4 MiB. The run's memory budget counts it whole.
 */
export const TCG_BUFFER_BYTES = 32 << 20;

/** A page below mmap_min_addr that no guest mapping can hold (see alignRamBlocks). */
const RAM_ALIGN_SCRATCH = 0x1000;

/** Past this much translated code an engine's buffer is flushed between runs (code-buffer.ts): the last quarter is the margin a run may use. */
const CODE_FLUSH_AT = 24 << 20;
/** How often, at most, the code buffer is looked at (mincore over 8192 pages: about 20 us). */
const CODE_CHECK_MS = 2;

export class CpuEngine {
  readonly handle: Pointer;
  private lastMemFault: { type: number; address: number | bigint } | undefined;
  private pendingFault: CpuFault | undefined;
  private readonly pcBatch: RegisterBatch;
  private closed = false;
  /** Stops runs at block boundaries; null: this engine cannot be pre-empted (see block-stop.ts). */
  private readonly blockStop: BlockStop | null;
  /** Unicorn stopped itself during this run (protect() took exec away from the running code). */
  private stoppedByUnicorn = false;
  /** A hook called stop() during this run. */
  private stopRequested = false;
  /** The CPU state right after the engine was made, before any code ran: what recycle() puts back. */
  private pristine: CpuContext | null = null;
  /** The translated-code buffer, watched so that it is flushed between runs, never full inside one (code-buffer.ts); null: not watched. */
  private readonly code: CodeBuffer | null;
  /** performance.now() of the last look at the code buffer. */
  private codeCheckedAt = 0;
  /** How many times keepCodeRoom() flushed the translated code (for tests). */
  codeFlushes = 0;

  readonly onSyscall: () => void;
  private readonly onUnmapped: ((addr: number) => boolean) | undefined;

  constructor(
    readonly arch: CpuArch,
    options: EngineOptions,
  ) {
    this.onSyscall = options.onSyscall;
    this.onUnmapped = options.onUnmapped;
    const uc = unicornApi();
    const out: Pointer[] = [0n];
    const [ucArch, ucMode] = arch === 'x86_64' ? [UC.UC_ARCH_X86, UC.UC_MODE_64] : [UC.UC_ARCH_ARM64, UC.UC_MODE_ARM];
    this.check(uc.open(ucArch, ucMode, out), 'uc_open');
    this.handle = out[0]!;
    if (arch === 'aarch64') {
      // A Cortex-A72 (ARMv8.0-A): no SVE, so every feature we advertise in
      // AT_HWCAP is one Unicorn emulates completely.
      this.check(uc.ctl(this.handle, UC.UC_CTL_CPU_MODEL_WRITE, 'int', UC.UC_CPU_ARM64_A72), 'set cpu model');
    }
    // Unicorn reserves 1 GiB for translated code per engine by default, and
    // every guest process has an engine: a fork bomb's 256 would reserve
    // 256 GiB, and under an address-space limit the reservation fails with
    // exit(1) inside Unicorn. A guest's hot code fits in far less (a full
    // buffer is flushed and refilled).
    this.check(uc.ctl(this.handle, UC.UC_CTL_TCG_BUFFER_SIZE_WRITE, 'uint32_t', TCG_BUFFER_BYTES), 'tcg buffer size');
    this.pcBatch = this.registers([arch === 'x86_64' ? UC.UC_X86_REG_RIP : UC.UC_ARM64_REG_PC]);
    this.installHooks();
    // The first hook initialised the engine: its code buffer exists now.
    this.code = CodeBuffer.find(TCG_BUFFER_BYTES);
    this.alignRamBlocks();
    // Before any code is translated: only blocks translated with the hook carry the call.
    this.blockStop = options.preemptible ? BlockStop.get() : null;
    if (this.blockStop) {
      const hh: Pointer[] = [0n];
      this.check(uc.hookAdd(this.handle, hh, UC.UC_HOOK_BLOCK, this.blockStop.callback, this.blockStop.userData, 1n, 0n), 'hook block');
    }
  }

  /**
   * Map a page and unmap it, before any real mapping, so that every region
   * this engine ever maps gets an aligned RAM offset. Unicorn 2.1.1 places
   * RAM blocks end to end, unaligned, until the first block is freed
   * (find_ram_offset_last, qemu/exec.c), and from then on searches for gaps
   * after each block's end rounded up to 64 target pages (find_ram_offset:
   * 256 KiB on x86-64, 64 KiB on arm64), never looking at a block that
   * begins inside that rounding: a new block then overlaps an old one in
   * RAM offsets. Translated code is found and thrown away by RAM offset, so
   * unmapping the new region threw away the old region's code. Measured on
   * x86-64 busybox, whose first segment is a single page: the kept text of
   * a reused engine lost about 200 blocks at every exec (strcmp, the
   * shell's own code) and translated them again, and shell spawn x500 took
   * 1.92 s against aarch64's 1.03 s. Once a block has been freed, every
   * offset is aligned and none can overlap (test/ram-blocks.test.ts).
   */
  private alignRamBlocks(): void {
    const page = new Uint8Array(4096);
    this.mapHost(RAM_ALIGN_SCRATCH, page, 1);
    this.unmap(RAM_ALIGN_SCRATCH, page.byteLength);
  }

  /** Save the state recycle() restores; the caller sets up the registers every process starts with first. */
  savePristineState(): void {
    this.pristine ??= this.newContext();
    this.pristine.save();
  }

  /**
   * Make this engine, whose process is gone, ready for another process:
   * every memory region Unicorn holds is unmapped except those in `keep`
   * (exactly one region each; a range that is not is unmapped too), the CPU
   * state is the pristine one savePristineState() took, and the soft TLB is
   * empty. Translated code survives only in the kept regions: unmapping a
   * region throws away the blocks translated from it (memory_unmap in
   * qemu/softmmu/memory.c calls uc_invalidate_tb), and the blocks' lookup
   * goes by the physical page, which only a kept region still has.
   * Returns the ranges kept, or null when the engine cannot be reused (a
   * step() code hook slows all its code; no pristine state; a code buffer
   * not watched, which a long-lived engine would fill: code-buffer.ts).
   */
  recycle(keep: readonly { start: number; end: number }[]): { start: number; end: number }[] | null {
    if (this.closed || this.codeHookInstalled || !this.pristine || !this.code || runningEngine === this) return null;
    const kept: { start: number; end: number }[] = [];
    for (const r of this.regions()) {
      if (keep.some((k) => k.start === r.start && k.end === r.end)) kept.push(r);
      else this.unmap(r.start, r.end - r.start);
    }
    this.pristine.restoreInto();
    this.flushTlb();
    this.lastMemFault = undefined;
    this.pendingFault = undefined;
    this.stoppedByUnicorn = false;
    this.stopRequested = false;
    this.steppedInsn = null;
    return kept;
  }

  /**
   * Throw away the code translated from the executable regions in
   * [start, end), before exec is taken from them. Unicorn 2.1.1 does not:
   * uc_mem_protect keeps a region's translated blocks when it removes
   * PROT_EXEC, and uc_mem_unmap's invalidation (uc_invalidate_tb,
   * qemu/accel/tcg/translate-all.c) finds the blocks' physical pages through
   * an instruction-fetch TLB fill, which fails on a page that is not
   * executable, so it silently drops nothing. The blocks then outlive their
   * region, and when a later region gets the same physical (ram) address and
   * code runs at the same virtual address, the lookup finds them: stale code,
   * or a crash of the host process while chaining blocks (seen with recycled
   * engines, engine-shelf.ts, whose processes map the same places again).
   * Per region, as uc_invalidate_tb maps only the range's first address.
   */
  private dropTranslatedCode(start: number, end: number): void {
    for (const r of this.regions()) {
      if (!(r.perms & 4) || r.end <= start || r.start >= end) continue;
      const from = BigInt(Math.max(start, r.start));
      const to = BigInt(Math.min(end, r.end));
      this.check(unicornApi().ctl(this.handle, UC.UC_CTL_TB_REMOVE_CACHE_WRITE, 'uint64_t', from, 'uint64_t', to), 'tb remove cache');
    }
  }

  /** The memory regions Unicorn holds, [start, end) each, with their UC_PROT_* (uc_mem_regions). */
  regions(): { start: number; end: number; perms: number }[] {
    const api = unicornApi();
    const out: Pointer[] = [0n];
    const count = [0];
    this.check(api.memRegions(this.handle, out, count), 'mem_regions');
    if (count[0] === 0) return [];
    try {
      const list = koffi.decode(out[0]!, koffi.array(api.regionType, count[0]!)) as { begin: number | bigint; end: number | bigint; perms: number }[];
      return list.map((r) => ({ start: Number(r.begin), end: Number(r.end) + 1, perms: r.perms }));
    } finally {
      api.free(out[0]!);
    }
  }

  /** Whether the translated-code buffer is watched (code-buffer.ts: Linux). */
  get watchesCode(): boolean {
    return this.code !== null;
  }

  /** Whether runs can be pre-empted exactly (RunLimits.slice). */
  get preemptible(): boolean {
    return this.blockStop !== null;
  }

  private installHooks(): void {
    const uc = unicornApi();
    const { memInvalid, syscall, interrupt } = sharedCallbacks();
    const hh: Pointer[] = [0n];
    this.check(uc.hookAdd(this.handle, hh, UC.UC_HOOK_MEM_INVALID, memInvalid, null, 1n, 0n), 'hook mem invalid');
    if (this.arch === 'x86_64') {
      this.check(uc.hookAdd(this.handle, hh, UC.UC_HOOK_INSN, syscall, null, 1n, 0n, 'int', UC.UC_X86_INS_SYSCALL), 'hook syscall');
    }
    this.check(uc.hookAdd(this.handle, hh, UC.UC_HOOK_INTR, interrupt, null, 1n, 0n), 'hook interrupts');
  }

  /** Called from the shared hooks while this engine is the running one; true when the access may be retried. */
  onMemInvalid(type: number, address: bigint | number): boolean {
    const addr = faultAddress(this.arch, address);
    const unmapped = type === UC.UC_MEM_READ_UNMAPPED || type === UC.UC_MEM_WRITE_UNMAPPED || type === UC.UC_MEM_FETCH_UNMAPPED;
    if (unmapped && typeof addr === 'number' && this.onUnmapped?.(addr)) return true;
    this.lastMemFault = { type, address: addr };
    return false;
  }

  /** For step(): the instruction the code hook saw last. */
  private steppedInsn: { address: number; size: number } | null = null;

  onCode(address: bigint, size: number): void {
    this.steppedInsn = { address: Number(address), size };
  }

  private codeHookInstalled = false;

  /**
   * Run exactly one instruction at `pc` and say how long it was and which
   * memory access, if any, faulted. A probe for finding a fault's exact pc
   * (see src/cpu/fault-pc.ts): the engine's code hook reports each
   * instruction's size (it slows every instruction, so only probe engines
   * get it).
   */
  step(pc: number): { size: number | null; fault: { access: 'read' | 'write' | 'fetch'; addr: number | bigint; mapped: boolean } | null } {
    if (!this.codeHookInstalled) {
      const hh: Pointer[] = [0n];
      this.check(unicornApi().hookAdd(this.handle, hh, UC.UC_HOOK_CODE, sharedCallbacks().code, null, 1n, 0n), 'hook code');
      this.codeHookInstalled = true;
    }
    this.steppedInsn = null;
    this.lastMemFault = undefined;
    this.blockStop?.arm(null);
    const previous = runningEngine;
    runningEngine = this;
    try {
      unicornApi().emuStart(this.handle, BigInt(pc), NEVER_REACHED_BIG, 0n, 1);
    } finally {
      runningEngine = previous;
    }
    const insn = this.steppedInsn as { address: number; size: number } | null;
    const size = insn?.address === pc ? insn.size : null;
    const mem = this.lastMemFault as { type: number; address: number | bigint } | undefined;
    const info = mem ? MEM_FAULTS[mem.type] : undefined;
    // SEGV_ACCERR (2): the page is mapped but forbids the access.
    return { size, fault: mem && info ? { access: info.access, addr: mem.address, mapped: info.code === 2 } : null };
  }

  onInterrupt(intno: number): void {
    if (this.arch === 'aarch64' && intno === UC.ARM64_EXCP_SWI) this.onSyscall();
    else this.raiseInterruptFault(intno);
  }

  /** CPU exceptions other than syscalls: turn them into the signal Linux would send. */
  private raiseInterruptFault(intno: number): void {
    const pc = this.pc();
    let fault: CpuFault;
    if (this.arch === 'x86_64') {
      switch (intno) {
        case 0: fault = { signal: 'SIGFPE', code: 1, addr: pc, pc, reason: 'integer divide error' }; break;
        case 1: fault = { signal: 'SIGTRAP', code: 1, addr: pc, pc, reason: 'debug trap' }; break;
        // int3: Linux's do_int3_user sends a plain SIGTRAP (si_code SI_KERNEL, no address).
        case 3: fault = { signal: 'SIGTRAP', code: 128, addr: 0, pc, reason: 'breakpoint' }; break;
        case 4: fault = { signal: 'SIGSEGV', code: 128, addr: 0, pc, reason: 'overflow trap' }; break;
        case 6: fault = { signal: 'SIGILL', code: 2, addr: pc, pc, reason: 'invalid opcode' }; break;
        case 17: fault = { signal: 'SIGBUS', code: 1, addr: pc, pc, reason: 'alignment check' }; break;
        default: fault = { signal: 'SIGSEGV', code: 128, addr: 0, pc, reason: `CPU exception ${intno}` };
      }
    } else {
      switch (intno) {
        case UC.ARM64_EXCP_UDEF: fault = { signal: 'SIGILL', code: 1, addr: pc, pc, reason: 'undefined instruction' }; break;
        case UC.ARM64_EXCP_BKPT: fault = { signal: 'SIGTRAP', code: 1, addr: pc, pc, reason: 'breakpoint' }; break;
        default: fault = { signal: 'SIGILL', code: 1, addr: pc, pc, reason: `CPU exception ${intno}` };
      }
    }
    this.pendingFault = fault;
    this.stop();
  }

  check(err: number, what: string): void {
    if (err !== 0) throw new CpuError(`unicorn ${what}: ${unicornApi().strerror(err)} (${err})`);
  }

  /** Map `bytes` (host memory the kernel keeps a reference to) at guest `addr`. */
  mapHost(addr: number, bytes: Uint8Array, prot: Prot): void {
    this.check(
      unicornApi().memMapPtr(this.handle, BigInt(addr), bytes.byteLength, prot & 7, koffi.address(bytes)),
      `mem_map_ptr 0x${addr.toString(16)}+0x${bytes.byteLength.toString(16)}`,
    );
  }

  unmap(addr: number, size: number): void {
    this.check(unicornApi().memUnmap(this.handle, BigInt(addr), size), `mem_unmap 0x${addr.toString(16)}`);
  }

  /**
   * uc_mem_protect. `was`, when the caller knows it, is the range's
   * protection until now: code is only ever translated from executable
   * pages, so without PROT_EXEC in it there is none to drop, and the walk
   * over Unicorn's regions (about 0.1 ms at 200 regions, half of an
   * mprotect) is skipped.
   */
  protect(addr: number, size: number, prot: Prot, was?: Prot): void {
    if (!(prot & 4) && (was === undefined || was & 4)) this.dropTranslatedCode(addr, addr + size);
    // uc_mem_protect stops the run itself when it takes exec away from the
    // page being run (uc.c:1671-1677 in 2.1.1), without a hook asking.
    if (runningEngine === this && !(prot & 4)) {
      const pc = this.pc();
      if (pc >= addr && pc < addr + size) this.stoppedByUnicorn = true;
    }
    this.check(unicornApi().memProtect(this.handle, BigInt(addr), size, prot & 7), `mem_protect 0x${addr.toString(16)}`);
  }

  private readonly batches = new Map<string, RegisterBatch>();

  /**
   * The batch for these registers, made once per engine and reused (its
   * values live in native memory): callers set or read its values and
   * write or read it at once, never holding values across other calls.
   */
  registers(regIds: readonly number[]): RegisterBatch {
    const key = regIds.join(',');
    let batch = this.batches.get(key);
    if (!batch) {
      batch = new RegisterBatch(this, regIds);
      this.batches.set(key, batch);
    }
    return batch;
  }

  /** Read one register of up to 64 bytes (vector registers, CP registers) into `out`. */
  readRaw(regId: number, out: Uint8Array): void {
    this.check(unicornApi().regRead(this.handle, regId, out), `reg_read ${regId}`);
  }

  writeRaw(regId: number, value: Uint8Array): void {
    this.check(unicornApi().regWrite(this.handle, regId, value), `reg_write ${regId}`);
  }

  pc(): number {
    this.pcBatch.read();
    return this.pcBatch.number(0);
  }

  /** One 64-bit register as a number (exact below 2^53: pointers, sizes). */
  readRegister(regId: number): number {
    const r = this.registers([regId]);
    r.read();
    return r.number(0);
  }

  writeRegister(regId: number, value: number): void {
    const r = this.registers([regId]);
    r.setNumber(0, value);
    r.write();
  }

  /**
   * Run from `pc` until a hook calls stop(), the CPU faults, or a limit
   * ends the run. Unicorn reports a bad memory access as an error code; the
   * invalid-memory hook has already recorded which address and kind, so the
   * fault can name both.
   */
  run(pc: number, limits: RunLimits = {}): RunResult {
    // Unicorn stops (without an error) when execution reaches `until`; 0 would
    // make a jump to address 0 look like a clean stop instead of a fault, so
    // use an address no instruction can start at.
    return this.runUntil(pc, NEVER_REACHED, limits);
  }

  /** Run from `pc` until the pc reaches `until` (0: no such address), a stop, a fault or a limit. */
  runUntil(pc: number, until: number, limits: RunLimits = {}): RunResult {
    this.keepCodeRoom();
    this.pendingFault = undefined;
    this.lastMemFault = undefined;
    this.stoppedByUnicorn = false;
    this.stopRequested = false;
    const watchdogUs = limits.watchdogUs ?? 0;
    this.blockStop?.arm(limits.slice ?? null);
    const previous = runningEngine;
    runningEngine = this;
    let err: number;
    try {
      err = unicornApi().emuStart(this.handle, BigInt(pc), until === NEVER_REACHED ? NEVER_REACHED_BIG : BigInt(until), BigInt(watchdogUs), 0);
    } finally {
      runningEngine = previous;
    }
    if (this.pendingFault) return { kind: 'fault', fault: this.pendingFault };
    if (err !== 0) return { kind: 'fault', fault: this.faultFromError(err) };
    // Several stops can coincide (the block stop fires at the block after a
    // hook's stop). The watchdog's comes first: its run is to be ended. A
    // hook's stop comes before the block stop, because the hook knows where
    // to resume (a blocked syscall is retried from its own instruction,
    // while the engine's pc is past it). Unicorn's own stop in protect()
    // happens inside a syscall hook that then returns normally: its pc (not
    // synchronized, since uc_mem_protect sets quit_request) is the syscall's
    // continuation, exact like the block stop's.
    if (watchdogUs > 0 && this.stoppedByTimeout()) return { kind: 'timeout' };
    if (this.stopRequested) return { kind: 'stopped' };
    if (this.stoppedByUnicorn || this.blockStop?.fired()) return { kind: 'preempted' };
    return { kind: 'stopped' }; // `until` reached, or x86 `hlt`
  }

  /**
   * Between runs, at most every CODE_CHECK_MS: when the translated code
   * fills more than CODE_FLUSH_AT of its buffer, flush it now, before
   * Unicorn flushes it inside a run and crashes (code-buffer.ts).
   */
  private keepCodeRoom(): void {
    if (!this.code || runningEngine === this) return;
    const now = performance.now();
    if (now - this.codeCheckedAt < CODE_CHECK_MS) return;
    this.codeCheckedAt = now;
    if (this.code.residentBytes() <= CODE_FLUSH_AT) return;
    this.check(unicornApi().ctl(this.handle, UC.UC_CTL_TB_FLUSH_WRITE), 'tb flush');
    this.code.releaseFlushed();
    this.codeFlushes++;
  }

  /**
   * Empty the soft TLB. QEMU sizes its TLB only when it is flushed (it
   * doubles while more than 70% of the entries were used since the last
   * flush, see tlb_mmu_resize_locked), and nothing else flushes it during a
   * run, so without this a program with a large working set stays at 256
   * entries and spends much of its time refilling them.
   */
  flushTlb(): void {
    this.check(unicornApi().ctl(this.handle, UC.UC_CTL_TLB_FLUSH_WRITE), 'tlb flush');
  }

  /** UC_QUERY_TIMEOUT: whether the last run ended because its timeout passed. */
  private stoppedByTimeout(): boolean {
    const out: (number | bigint)[] = [0];
    this.check(unicornApi().query(this.handle, UC.UC_QUERY_TIMEOUT, out), 'query timeout');
    return Number(out[0]) !== 0;
  }

  private faultFromError(err: number): CpuFault {
    const pc = this.pc();
    const mem = this.lastMemFault;
    if (mem && MEM_FAULTS[mem.type]) {
      const { signal, code, reason, access } = MEM_FAULTS[mem.type]!;
      return { signal, code, addr: mem.address, pc, reason, access };
    }
    switch (err) {
      case UC.UC_ERR_INSN_INVALID:
        // Linux reports #UD as ILL_ILLOPN (2) on x86-64 (exc_invalid_op) and an
        // undefined instruction as ILL_ILLOPC (1) on arm64 (do_undefinstr).
        return { signal: 'SIGILL', code: this.arch === 'x86_64' ? 2 : 1, addr: pc, pc, reason: 'invalid instruction' };
      case UC.UC_ERR_READ_UNALIGNED:
      case UC.UC_ERR_WRITE_UNALIGNED:
      case UC.UC_ERR_FETCH_UNALIGNED:
        return { signal: 'SIGBUS', code: 1, addr: pc, pc, reason: 'unaligned access' };
      default:
        return { signal: 'SIGSEGV', code: 128, addr: 0, pc, reason: `CPU error: ${unicornApi().strerror(err)}` };
    }
  }

  /** From a hook: end the run after this hook returns. */
  stop(): void {
    this.stopRequested = true;
    unicornApi().emuStop(this.handle);
  }

  /**
   * Copy this engine's whole CPU state (all registers, FP/SIMD, TLS bases)
   * into `target`, an engine of the same arch: fork gives the child the
   * parent's registers this way.
   */
  copyCpuStateTo(target: CpuEngine): void {
    if (target.arch !== this.arch) throw new CpuError('copyCpuStateTo: different arches');
    const ctx = this.newContext();
    try {
      ctx.save();
      ctx.restoreInto(target);
    } finally {
      ctx.free();
    }
  }

  /** Storage for one whole CPU state of this engine (a thread's registers while another runs). */
  newContext(): CpuContext {
    const out: Pointer[] = [0n];
    this.check(unicornApi().contextAlloc(this.handle, out), 'context_alloc');
    return new CpuContext(this, out[0]!);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pristine?.free();
    this.code?.forget();
    unicornApi().close(this.handle);
    for (const batch of this.batches.values()) koffi.free(batch.storage);
    this.batches.clear();
  }
}

/**
 * One saved CPU state (uc_context): every register, FP/SIMD state and the
 * TLS base. Threads of a process share one engine; the scheduler saves the
 * running thread's state here and restores the next one's (a few KiB copied,
 * far cheaper than an engine per thread, which would also have to mirror
 * every mmap).
 */
export class CpuContext {
  private freed = false;
  constructor(
    readonly engine: CpuEngine,
    private readonly ptr: Pointer,
  ) {}

  /** Take the engine's current state. */
  save(): void {
    this.engine.check(unicornApi().contextSave(this.engine.handle, this.ptr), 'context_save');
  }

  /** Put this state into `target` (this context's own engine by default). */
  restoreInto(target: CpuEngine = this.engine): void {
    this.engine.check(unicornApi().contextRestore(target.handle, this.ptr), 'context_restore');
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    unicornApi().contextFree(this.ptr);
  }
}
