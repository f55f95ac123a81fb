// An engine's translated-code buffer, kept from ever filling during a run.
//
// Unicorn 2.1.1 crashes the host process when its translated-code buffer
// fills in the middle of a run. Measured with a 30-line C program against
// the library tslinux fetches: straight-line guest code chained block to
// block through an 8 MiB buffer dies with SIGSEGV in
// tb_set_jmp_target_x86_64 as soon as the buffer is full, on both guest
// arches. The full buffer is flushed inside the run (tb_gen_code ->
// tb_flush, qemu/accel/tcg/translate-all.c), which zeroes the buffer and
// with it every TranslationBlock; cpu_exec then chains a block it ran
// before the flush to one translated after it, writing through the zeroed
// block's code pointer (upstream issues 1923 and 2048, open). The same
// program flushing the buffer itself between runs (uc_ctl
// UC_CTL_TB_FLUSH, when no block is in flight) runs to the end.
//
// So the buffer is watched from outside: its pages come into the process as
// Unicorn writes code into them (QEMU madvises the buffer MADV_HUGEPAGE, so
// in 2 MiB steps), and mincore(2) says how many are in. Past FLUSH_AT the
// engine's code is flushed at the next pause between runs, and the pages the
// flush zeroed are given back with MADV_DONTNEED (they read as zeros again,
// which is what the flush left there), so the count starts over. The first
// page, which holds the prologue every block returns through, is kept.
//
// Limit: the check runs between runs, and a run lasts a slice (a few
// milliseconds of CPU) or less; translation writes at most about 200 MB/s
// here (measured: 16 MB of guest code became about 160-250 MB of host code
// in 2 s), so the 8 MiB left above FLUSH_AT last a slice many times over.
// A guest that made each of the 4096 blocks between two clock reads a new,
// huge one could still outrun it.
//
// Linux only (/proc/self/maps, mincore and madvise through glibc);
// elsewhere CodeBuffer.find() is null and engines run as before.
import { readFileSync } from 'node:fs';
import { glibc } from './glibc.ts';

const PAGE = 4096;
const MADV_DONTNEED = 4;

interface Libc {
  mincore: (addr: bigint, length: number, vec: Uint8Array) => number;
  madvise: (addr: bigint, length: number, advice: number) => number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  const lib = glibc();
  libc = lib && {
    mincore: lib.func('int mincore(uintptr_t addr, size_t length, _Out_ uint8_t *vec)') as Libc['mincore'],
    madvise: lib.func('int madvise(uintptr_t addr, size_t length, int advice)') as Libc['madvise'],
  };
  return libc;
}

/** Start addresses of the buffers live engines own, so that a new engine finds its own. */
const owned = new Set<bigint>();

export class CodeBuffer {
  private readonly vec: Uint8Array;

  private constructor(
    private readonly libc: Libc,
    readonly start: bigint,
    readonly length: number,
  ) {
    this.vec = new Uint8Array(Math.ceil(length / PAGE));
  }

  /**
   * The buffer of the engine made last: the read-write-execute mapping of
   * `bytes` less the guard page (tcg_region_init makes the last page
   * PROT_NONE) that no live engine owns. Null off Linux or when there is
   * none such (a Unicorn that lays its buffer out otherwise).
   */
  static find(bytes: number): CodeBuffer | null {
    const c = loadLibc();
    if (!c) return null;
    let maps: string;
    try {
      maps = readFileSync('/proc/self/maps', 'latin1');
    } catch {
      return null;
    }
    const found: bigint[] = [];
    for (const line of maps.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rwxp /.exec(line);
      if (!m) continue;
      const start = BigInt(`0x${m[1]}`);
      const end = BigInt(`0x${m[2]}`);
      if (end - start === BigInt(bytes - PAGE) && !owned.has(start)) found.push(start);
    }
    if (found.length !== 1) return null;
    owned.add(found[0]!);
    return new CodeBuffer(c, found[0]!, bytes - PAGE);
  }

  /** Bytes of the buffer in memory now: the code written since the last flush, in huge-page steps. */
  residentBytes(): number {
    if (this.libc.mincore(this.start, this.length, this.vec) !== 0) return 0;
    let pages = 0;
    for (const v of this.vec) pages += v & 1;
    return pages * PAGE;
  }

  /** After a flush: give back the pages it zeroed, all but the prologue's. */
  releaseFlushed(): void {
    this.libc.madvise(this.start + BigInt(PAGE), this.length - PAGE, MADV_DONTNEED);
  }

  /** The engine is closed (Unicorn unmaps the buffer). */
  forget(): void {
    owned.delete(this.start);
  }
}
