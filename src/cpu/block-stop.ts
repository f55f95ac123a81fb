// Stopping a running engine safely: at the start of a translated block,
// never inside one.
//
// Why not uc_emu_stop from a timer (or uc_emu_start's own timeout)? Read in
// Unicorn 2.1.1, the version we run (tag debian/2.1.1-1 of the Unicorn
// repository):
//
// - uc_emu_stop (uc.c:1130) sets stop_request and calls cpu_exit
//   (uc_priv.h:515, qemu/hw/core/cpu.c:58), which makes icount_decr
//   negative. Translated code tests that word at the entry of every block
//   (gen_tb_start, qemu/include/exec/gen-icount.h:33-45) and, a Unicorn
//   addition, after every guest load and store as well: check_exit_request
//   (qemu/tcg/tcg-op.c:2853), called from tcg_gen_qemu_ld/st_i32/i64
//   (tcg-op.c:2920, 2955, 3012, 3058). Both branch to one exit,
//   exit_tb(tb, TB_EXIT_REQUESTED) (gen-icount.h:58-59).
// - On that exit cpu_tb_exec (qemu/accel/tcg/cpu-exec.c:72-95) assumes the
//   block never started and sets the pc to the block's first instruction
//   (synchronize_from_tb). After a mid-block exit that is wrong: the
//   instructions before the load or store, and the access itself, have run,
//   and resuming at that pc runs them again. (The quit_request gate there
//   only matters when a hook wrote the pc.)
// - Measured: a loop `add qword [rbx], 1; add rcx, 1; jmp loop` stopped by
//   200 us run timeouts and resumed at the pc Unicorn reports ended with
//   [rbx] != rcx after 4 of the first 17 stops. The previous note in the
//   kernel (stale pc of chained blocks) had the symptom right and the cause
//   wrong. Unicorn 2.1.4 fixed this by restoring the pc from the host code
//   position (a helper call after every memory access), which is why it is
//   several times slower.
// - The timeout itself also costs: uc_emu_start creates and joins a thread
//   per run (uc.c:1097-1120) that polls with usleep(2) (uc.c:889-910); once
//   here a run's stop was lost and the guest spun on with no timer left.
//
// What is exact: a stop requested *on the engine's own thread* at the very
// start of a block. A UC_HOOK_BLOCK hook is emitted before gen_tb_start
// (qemu/accel/tcg/translator.c:76-85), so if its callback calls
// uc_emu_stop, the entry check that follows exits before the block's first
// instruction, and synchronize_from_tb's pc (the block's start) is exactly
// where to resume. With one block hook Unicorn compiles a direct call to
// the callback into every block (qemu/include/tcg/tcg-op.h:50-62); a
// JavaScript callback per block would cost several times the run, so the
// callback is a few bytes of native code (below) that counts blocks down
// and, every CHECK_EVERY blocks, reads the monotonic clock and compares
// it with the slice's deadline. No other thread touches the engine, so a
// stop can never reach an engine that has been closed.
//
// The other stops a run can meet, and why they do not mix this up: a
// hook's own uc_emu_stop (a syscall that blocks, exits or execs) takes
// precedence over a block stop in the same run (CpuEngine.runUntil), since
// the hook knows where to resume; no stop can land inside a hook, as the
// stub only runs at block entry on the engine's thread; nothing calls
// uc_emu_stop between runs (and uc_emu_start clears stop_request anyway,
// uc.c:1063), so no stale stop reaches the next run; uc_mem_protect's own
// stop when exec is taken from the running page is seen by
// CpuEngine.protect; a fault's error code wins over all of them.
//
// The per-block call is the price: measured, about 20% of CPU-bound guest
// code (busybox sha256sum and gzip, a checksum loop); on the 20 MB sieve the
// TLB flushes that slices allow gain more (see CpuEngine.flushTlb). A
// Unicorn with an entry-only stop request would not need the hook.
//
// Linux x86-64 hosts only for now (the stub is x86-64 System V code, the
// executable page comes from mmap/mprotect, the symbols from glibc's
// dlsym); elsewhere BlockStop.get() is null and the kernel pre-empts at
// syscalls only.
import koffi from 'koffi';
import { glibc } from './glibc.ts';
import { loadUnicorn } from './unicorn-lib.ts';

/** How long a run may go on before the stub stops it at a block boundary (the port's type). */
export type { SliceLimit } from '../arch/cpu.ts';
import type { SliceLimit } from '../arch/cpu.ts';

/**
 * How many blocks go by between two clock reads: 10 us to a few ms.
 */
const CHECK_EVERY = 4096;
/**
 * The slice's clock: CLOCK_MONOTONIC, which glibc reads in the vDSO without
 * entering the kernel. It was the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), which no vDSO serves: a system call at every
 * check. Measured on a 2-vCPU KVM guest (kvm-clock), those calls were about
 * 10% of the 20 MB sieve (the profile: 10% of samples in the kernel, 2% in
 * the vDSO's fallback), whose blocks are a loop iteration each; with
 * CLOCK_MONOTONIC the sieve took 1.08 s of CPU against 1.22 s on x86-64 and
 * 1.37 against 1.51 s on aarch64 (the lower of two clusters of five runs).
 * A slice is now time on the wall while the task runs: on a host too busy to
 * give tslinux its CPU, a task's slice can end having run less, and the next
 * task's turn comes sooner; no task waits longer for it.
 */
const SLICE_CLOCK = 1; // CLOCK_MONOTONIC

/**
 * The control block the stub reads and writes (shared with the native code
 * through a SharedArrayBuffer, whose memory never moves). Int32 indices:
 */
const FIRED = 1; // byte 4: the stub stopped the engine
const BLOCKS_LEFT = 2; // byte 8: blocks until the next clock read (or, untimed, until the stop)
const TIMED = 3; // byte 12: 1 = read the clock, 0 = stop when BLOCKS_LEFT runs out
const DEADLINE = 2; // byte 16 (int64 index): clock value to stop at; 0 = set it at the first read
const RELOAD = 6; // byte 24: CHECK_EVERY
const CLOCK_ID = 7; // byte 28: which clock
// bytes 32-47: struct timespec for clock_gettime
const CLOCK_GETTIME_SLOT = 6; // byte 48 (int64 index)
const UC_EMU_STOP_SLOT = 7; // byte 56
const SLICE_NS = 8; // byte 64 (int64 index): the slice's length on that clock
const CONTROL_BYTES = 72;

/**
 * void stub(uc_engine *uc, uint64_t pc, uint32_t size, void *control):
 * the block hook's callback (System V: rdi, rsi, edx, rcx). Assembled with
 * `as` (Intel syntax); kept as bytes so no compiler is needed at run time.
 */
// prettier-ignore
const STUB_X86_64 = Uint8Array.from([
  0xff, 0x49, 0x08,                         //       dec  dword ptr [rcx+8]        ; BLOCKS_LEFT
  0x74, 0x01,                               //       je   check
  0xc3,                                     //       ret
  0x83, 0x79, 0x0c, 0x00,                   // check: cmp dword ptr [rcx+12], 0  ; TIMED?
  0x74, 0x43,                               //       je   stop                   ; untimed: the count ran out
  0x8b, 0x41, 0x18,                         //       mov  eax, dword ptr [rcx+24]
  0x89, 0x41, 0x08,                         //       mov  dword ptr [rcx+8], eax  ; BLOCKS_LEFT = CHECK_EVERY
  0x57,                                     //       push rdi
  0x51,                                     //       push rcx
  0x48, 0x83, 0xec, 0x08,                   //       sub  rsp, 8                  ; 16-byte aligned call
  0x8b, 0x79, 0x1c,                         //       mov  edi, dword ptr [rcx+28] ; CLOCK_ID
  0x48, 0x8d, 0x71, 0x20,                   //       lea  rsi, [rcx+32]           ; struct timespec
  0xff, 0x51, 0x30,                         //       call qword ptr [rcx+48]      ; clock_gettime
  0x48, 0x83, 0xc4, 0x08,                   //       add  rsp, 8
  0x59,                                     //       pop  rcx
  0x5f,                                     //       pop  rdi
  0x48, 0x8b, 0x41, 0x20,                   //       mov  rax, qword ptr [rcx+32] ; tv_sec
  0x48, 0x69, 0xc0, 0x00, 0xca, 0x9a, 0x3b, //       imul rax, rax, 1000000000
  0x48, 0x03, 0x41, 0x28,                   //       add  rax, qword ptr [rcx+40] ; + tv_nsec
  0x48, 0x8b, 0x51, 0x10,                   //       mov  rdx, qword ptr [rcx+16] ; DEADLINE
  0x48, 0x85, 0xd2,                         //       test rdx, rdx
  0x75, 0x09,                               //       jne  compare
  0x48, 0x03, 0x41, 0x40,                   //       add  rax, qword ptr [rcx+64] ; first read: now + SLICE_NS
  0x48, 0x89, 0x41, 0x10,                   //       mov  qword ptr [rcx+16], rax
  0xc3,                                     //       ret
  0x48, 0x39, 0xd0,                         // compare: cmp rax, rdx
  0x7d, 0x01,                               //       jge  stop
  0xc3,                                     //       ret
  0xc7, 0x41, 0x04, 0x01, 0x00, 0x00, 0x00, // stop: mov dword ptr [rcx+4], 1   ; FIRED
  0xff, 0x61, 0x38,                         //       jmp  qword ptr [rcx+56]      ; uc_emu_stop(uc), rdi = uc
]);

const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const RTLD_LAZY = 0x1;
const RTLD_NOLOAD = 0x4;
/** A slice that never ends (2^62 ns, so that now + it cannot overflow). */
const NEVER_NS = 1n << 62n;

export class BlockStop {
  /** The stub's address, the block hook's callback. */
  readonly callback: bigint;
  /** The control block's address, the block hook's user data. */
  readonly userData: bigint;
  private readonly control: Int32Array;
  private readonly control64: BigInt64Array;

  private constructor(code: bigint, clockGettime: bigint, emuStop: bigint) {
    this.callback = code;
    const shared = new SharedArrayBuffer(CONTROL_BYTES);
    this.control = new Int32Array(shared);
    this.control64 = new BigInt64Array(shared);
    this.userData = koffi.address(this.control);
    this.control64[CLOCK_GETTIME_SLOT] = clockGettime;
    this.control64[UC_EMU_STOP_SLOT] = emuStop;
    this.control[RELOAD] = CHECK_EVERY;
    this.control[CLOCK_ID] = SLICE_CLOCK;
    this.control64[SLICE_NS] = NEVER_NS;
  }

  /** The slice length last armed, so arm() converts it only when it changes. */
  private armedMs = -1;

  /** Before uc_emu_start: when the stub should stop this run (null: never). */
  arm(limit: SliceLimit | null): void {
    const c = this.control;
    c[FIRED] = 0;
    if (limit && 'blocks' in limit) {
      c[TIMED] = 0;
      // The stub stops on entering the block that takes the count to 0: one
      // more than `blocks`, so that a run always gets through at least one.
      c[BLOCKS_LEFT] = Math.max(1, Math.min(limit.blocks, 0x7ffffffe)) + 1;
      return;
    }
    c[TIMED] = 1;
    c[BLOCKS_LEFT] = CHECK_EVERY;
    this.control64[DEADLINE] = 0n;
    const ms = limit ? limit.ms : Infinity;
    if (ms !== this.armedMs) {
      this.armedMs = ms;
      this.control64[SLICE_NS] = ms === Infinity ? NEVER_NS : BigInt(Math.round(ms * 1e6));
    }
  }

  /** After uc_emu_start: whether the stub stopped the run (at a block's start). */
  fired(): boolean {
    return this.control[FIRED] !== 0;
  }

  private static instance: BlockStop | null | undefined;

  /** The stopper for this thread, or null when this host cannot run it (see the top of this file). */
  static get(): BlockStop | null {
    if (BlockStop.instance === undefined) BlockStop.instance = BlockStop.create();
    return BlockStop.instance;
  }

  private static create(): BlockStop | null {
    if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.TSLINUX_NO_BLOCK_STOP) return null;
    const libc = glibc();
    if (!libc) return null; // not glibc: keep to syscall pre-emption
    const dlopen = libc.func('void *dlopen(const char *file, int mode)');
    const dlsym = libc.func('void *dlsym(void *handle, const char *name)');
    const mmap = libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)');
    const mprotect = libc.func('int mprotect(void *addr, size_t len, int prot)');
    const unicorn = dlopen(loadUnicorn().path, RTLD_LAZY | RTLD_NOLOAD);
    const emuStop = unicorn ? dlsym(unicorn, 'uc_emu_stop') : null;
    const clockGettime = dlsym(null, 'clock_gettime');
    if (!emuStop || !clockGettime) return null;
    // One page, written while writable, then made read+execute (never both).
    const page = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const pageAddress = koffi.address(page);
    if (pageAddress === -1n || pageAddress === 0xffff_ffff_ffff_ffffn) return null;
    new Uint8Array(koffi.view(page, STUB_X86_64.length)).set(STUB_X86_64);
    if (mprotect(page, 4096, PROT_READ | PROT_EXEC) !== 0) return null;
    return new BlockStop(pageAddress, koffi.address(clockGettime), koffi.address(emuStop));
  }
}
