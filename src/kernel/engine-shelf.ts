// Engines of processes that are gone, kept for the run's next process of the
// same program, with that program's code still translated.
//
// Every process has its own CPU engine, and a new engine starts with no
// translated code: a profile of 300 `busybox true` from a busybox shell put
// 45% of each spawn in Unicorn translating the same start-up code again (and
// the shell's own code between fork and exec, in each fork's new engine).
// Unicorn keeps translated blocks by the physical page they came from, and
// drops them when their memory region is unmapped. So an engine whose
// process is gone is recycled (GuestEngine.recycle): every region unmapped
// except its program's untouched loaded segments (Mapping.loaded: no
// PROT_WRITE since the loader filled them), its CPU state put back to what a
// new engine has. The next exec or fork that maps the same segments (the
// same image bytes, from the loader's cache of executables, at the same
// place) takes the engine and the segments' pages as they are
// (AddressSpace.offerResident), and finds their code translated.
//
// What a process can learn from it: nothing. The pages hold what the loader
// would write (the same bytes of the same file); every other region, with
// the code translated from it, is gone; the registers are a new engine's;
// and engines never leave the run (each kernel has its own shelf).
import type { GuestEngine } from '../arch/cpu.ts';
import type { AddressSpace, Mapping, MemoryBudget } from './memory.ts';
import { letGo } from './memory.ts';

/** How many engines wait at most: a shell and the programs it runs, or a few processes of a pipeline. */
const SHELF_ENGINES = 4;

interface Shelved {
  arch: string;
  engine: GuestEngine;
  /** The loaded segments the engine still maps (their pages and holds). */
  segments: Mapping[];
}

/** What the shelf did in a run (Kernel.engineShelfStats, for tests). */
export interface EngineShelfStats {
  /** Engines shelved when their process exited or exec'ed. */
  parked: number;
  /** Engines an exec or fork took from the shelf instead of making one. */
  taken: number;
}

export class EngineShelf {
  private readonly shelved: Shelved[] = [];
  readonly stats: EngineShelfStats = { parked: 0, taken: 0 };

  constructor(
    private readonly budget: MemoryBudget,
    /** What one engine takes from the budget (KernelOptions.cpu.engineBytes): a shelved engine keeps its share. */
    private readonly engineBytes: number,
  ) {}

  /**
   * Keep `engine`, whose process is gone and whose address space `space`
   * is about to be released, if it can be recycled and maps any untouched
   * loaded segment. False: the caller closes it as before.
   */
  park(arch: string, engine: GuestEngine, space: AddressSpace): boolean {
    if (!engine.recycle || !space.hasLoadedSegments()) return false;
    // Only into room the run has: shelving never reclaims (MemoryBudget.reclaim is this shelf's clear()).
    if (this.budget.available < this.engineBytes) return false;
    const segments = space.detachLoaded();
    const kept = engine.recycle(segments);
    if (kept === null) {
      letGo(segments);
      return false;
    }
    const stays = segments.filter((m) => kept.some((k) => k.start === m.start && k.end === m.end));
    letGo(segments.filter((m) => !stays.includes(m)));
    if (stays.length === 0) {
      engine.close();
      return true;
    }
    this.budget.charge(this.engineBytes, 'ENOMEM');
    this.shelved.push({ arch, engine, segments: stays });
    this.stats.parked++;
    while (this.shelved.length > SHELF_ENGINES) this.discard(this.shelved.shift()!);
    return true;
  }

  /**
   * The shelved engine of `arch` that holds the most of the segments
   * `wanted` accepts, taken off the shelf with them (its budget share goes
   * to the caller's process); null when none holds any.
   */
  take(arch: string, wanted: (m: Mapping) => boolean): { engine: GuestEngine; segments: Mapping[] } | null {
    let best: Shelved | null = null;
    let bestCount = 0;
    for (const s of this.shelved) {
      if (s.arch !== arch) continue;
      const count = s.segments.filter(wanted).length;
      if (count > bestCount) [best, bestCount] = [s, count];
    }
    if (!best) return null;
    this.shelved.splice(this.shelved.indexOf(best), 1);
    this.stats.taken++;
    return { engine: best.engine, segments: best.segments };
  }

  /** Host memory the shelved segments hold (the run's budget counts it). */
  committedBytes(): number {
    let n = 0;
    for (const s of this.shelved) for (const m of s.segments) n += m.end - m.start;
    return n;
  }

  /** Close every shelved engine (the run's end, or memory is short). */
  clear(): void {
    while (this.shelved.length > 0) this.discard(this.shelved.pop()!);
  }

  private discard(s: Shelved): void {
    s.engine.close();
    letGo(s.segments);
    this.budget.release(this.engineBytes);
  }
}
