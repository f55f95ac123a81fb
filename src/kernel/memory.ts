// A process's address space: the list of mappings (what /proc/self/maps
// shows) and typed access to guest memory for the kernel.
//
// Every accessible mapping is backed by host memory (an ArrayBuffer) that is
// also mapped into the CPU with uc_mem_map_ptr, so the kernel reads and writes
// guest memory directly, with no FFI call per access. A PROT_NONE reservation
// gets no host memory until it is made accessible: Go reserves gigabytes that
// way and touches little of it.
//
// File mappings are copies of the file's bytes in host memory (a host mmap
// of the file would give tslinux itself a SIGBUS when the file shrinks under
// it). A private one is copied when first touched, by the CPU (its fault
// brings the copy in: AddressSpace.fault) or by the kernel: until then it
// costs no host memory, so ld.so's reservation of a whole library, which its
// segment mappings then replace, and the parts of a file never read cost
// nothing. The copy is MAP_PRIVATE's: later writes to the file are not seen
// in it (POSIX leaves that unspecified; Linux shows them until a page is
// written). A MAP_SHARED mapping is copied at once, with a second copy of
// what the file held, so msync, munmap, exec and exit write the pages the
// guest changed back to the file (and only those).
import { LinuxError, fail } from './errors.ts';
import type { ErrnoName } from './errno-table.ts';

export const PAGE_SIZE = 4096;
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export function pageDown(n: number): number {
  return n - (n % PAGE_SIZE);
}
export function pageUp(n: number): number {
  const r = n % PAGE_SIZE;
  return r === 0 ? n : n + PAGE_SIZE - r;
}

/** The CPU side of the address space (the engine's mappings); absent for a bare address space (unit tests). */
export interface MemoryBackend {
  mapHost(addr: number, bytes: Uint8Array, prot: number): void;
  unmap(addr: number, size: number): void;
  /** `was`: the range's protection until now (one mapping's, so one value). */
  protect(addr: number, size: number, prot: number, was?: number): void;
}

export interface Mapping {
  start: number;
  end: number;
  prot: number;
  /** True for MAP_SHARED mappings (shown as 's' in /proc/self/maps). */
  shared: boolean;
  /**
   * Whether mprotect may add PROT_WRITE (Linux's VM_MAYWRITE): false for a
   * shared mapping of a file opened without write access.
   */
  mayWrite: boolean;
  /** What /proc/self/maps names it: a path, [heap], [stack], or '' for anonymous. */
  name: string;
  /** File offset of `start`, for file-backed mappings. */
  offset: number;
  /** The mapped file's st_dev and inode (0 for anonymous memory), as /proc/self/maps shows them. */
  dev: number;
  ino: number;
  /** Host memory for exactly [start, end), or null while the range is a PROT_NONE reservation or a file mapping not yet touched. */
  bytes: Uint8Array | null;
  /** The mapped file (null for anonymous memory): where a private mapping's pages come from, where a shared one's go. */
  source: FileSource | null;
  /** A writable shared file mapping: the file's bytes as last read or written back, to find the pages the guest changed. */
  pristine: Uint8Array | null;
  /**
   * The process stack (Linux's VM_GROWSDOWN): an access in the free range
   * below it, within RLIMIT_STACK, extends it (see AddressSpace.growStack).
   */
  growsDown: boolean;
  /**
   * Set while `bytes` are a private mapping's pages that another mapping
   * (in a forked process, usually) holds too: copy-on-write at the level
   * of the mapping. Only mappings without PROT_WRITE are shared so: the CPU
   * cannot write them, and the kernel makes its own copy (own()) before
   * anything writes them or makes them writable.
   */
  cow: CowShare | null;
  /**
   * What the loader put in these pages, while nothing can have changed them
   * since: set only on a segment mapped without PROT_WRITE, and dropped by
   * anything that could change it (a split or an mprotect makes new
   * mappings without it; a private copy or MADV_DONTNEED clears it). See
   * LoadedContent.
   */
  loaded: LoadedContent | null;
}

/**
 * What a loaded ELF segment's pages hold, exactly: zeros, with
 * image[fileStart, fileEnd) at byte `at` of the mapping. Two processes that
 * load the same image (the same bytes object, from the loader's cache of
 * executables) at the same place have pages alike to the byte, so a process
 * can be handed the pages of one that is gone, still mapped in its recycled
 * CPU engine together with the code translated from them (engine-shelf.ts).
 */
export interface LoadedContent {
  image: Uint8Array;
  fileStart: number;
  fileEnd: number;
  at: number;
}

/**
 * Whether two loaded segments' pages are alike: the same file bytes at the
 * same place. The images are compared by their bytes unless they are the
 * same object (the loader's cache hands out one per file): a program on a
 * writable mount is read afresh at each exec. A memcmp of the segment, a
 * tenth of a millisecond for busybox's 1.5 MB of code.
 */
export function sameContent(a: LoadedContent, b: LoadedContent): boolean {
  if (a.fileStart !== b.fileStart || a.fileEnd !== b.fileEnd || a.at !== b.at) return false;
  return a.image === b.image || sameBytes(a.image, b.image, a.fileStart, a.fileEnd);
}

/** Two loaded mappings with the same place, protection and contents: one's pages can stand for the other's. */
function sameLoadedMapping(a: Mapping, b: Mapping): boolean {
  return a.loaded !== null && b.loaded !== null && a.start === b.start && a.end === b.end && a.prot === b.prot && sameContent(a.loaded, b.loaded);
}

/** Whether `image` holds, in [fileStart, fileEnd), the bytes `c` loaded from there. */
export function holdsContent(image: Uint8Array, c: LoadedContent): boolean {
  return image === c.image || (image.length >= c.fileEnd && sameBytes(image, c.image, c.fileStart, c.fileEnd));
}

function sameBytes(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  if (a.length < to || b.length < to) return false;
  return Buffer.from(a.buffer, a.byteOffset + from, to - from).equals(Buffer.from(b.buffer, b.byteOffset + from, to - from));
}

/** The holders of one private mapping's pages shared after fork (Mapping.cow). */
export interface CowShare {
  /** How many mappings (pieces of one after a split included) hold the pages. */
  users: number;
}

/** The open file behind a file mapping (it stays open while mapped, as mmap(2) holds a reference to it). */
export interface FileSource {
  /** Read into `into` from file offset `offset`: bytes read, 0 at the end of the file. */
  read(into: Uint8Array, offset: number): number;
  /** Write `data` at file offset `offset` (MAP_SHARED write-back). */
  write(data: Uint8Array, offset: number): number;
  /** The file's size now. */
  size(): number;
  /** One more mapping piece uses the file (a mapping, or a part of one after a split): it stays open. */
  hold(): void;
  /** A piece that used it is gone; with the last one the file is let go, as munmap drops mmap's reference. */
  drop(): void;
}

/** How AddressSpace.map makes a mapping (see there). */
export interface MapOptions {
  name?: string;
  shared?: boolean;
  offset?: number;
  dev?: number;
  ino?: number;
  backed?: boolean;
  pages?: Uint8Array;
  mayWrite?: boolean;
  /** The mapped file: a private mapping is filled from it when first touched; a shared one at once (see the file comment). */
  source?: FileSource;
  /** For a shared mapping with `pages`: the pristine copy that goes with them (fork). */
  pristine?: Uint8Array | null;
  /** A stack that grows down on faults below it (Mapping.growsDown). */
  growsDown?: boolean;
  /**
   * The pages' contents, from the loader: written into fresh pages (not
   * with `pages`, which hold them already), or pages the engine still holds
   * with the same contents are taken (offerResident). Kept as
   * Mapping.loaded for a mapping without PROT_WRITE.
   */
  contents?: LoadedContent | null;
  /** With `pages`: they are another private mapping's, shared copy-on-write (Mapping.cow). */
  cow?: CowShare;
}

export interface AddressSpaceLayout {
  /** Lowest address mmap may hand out. */
  mmapMin: number;
  /** Top-down mmap allocations start below this. */
  mmapBase: number;
  /** One past the highest user address. */
  taskSize: number;
}

/**
 * Most mappings with host memory one address space may hold: mmap, mprotect
 * and munmap fail with ENOMEM beyond it, as at Linux's vm.max_map_count
 * (see mmap(2), mprotect(2)). Unicorn keeps each such mapping as a memory
 * region, and past about 4096 sections in its physical map it aborts the
 * whole host process (qemu/exec.c phys_section_add; measured: an aarch64
 * guest's 1 MiB malloc loop took tslinux down at about 1200 mappings).
 */
export const MAX_HOST_MAPPINGS = 1000;

/** RLIMIT_STACK's default soft limit, 8 MiB (what an address space obeys until its process says otherwise). */
export const DEFAULT_STACK_LIMIT = 8 << 20;

/**
 * Linux's stack_guard_gap: 256 pages kept free below a stack, which it
 * never grows into (mm/mmap.c), so a stack overflow faults instead of
 * running into the mapping below.
 */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;

/** Largest single host allocation; beyond it mmap says ENOMEM rather than crashing Node. */
const MAX_HOST_CHUNK = 2 ** 32;

/**
 * The memory of a whole run (--memory-limit): all the host memory the
 * guest makes tslinux hold. Guest memory is what the address spaces have
 * committed (the kernel sums them: `guestMemory`); everything else takes
 * its share with charge() and gives it back with release() when it goes:
 * tmpfs, /tmp and memfd contents and inodes (vfs/memfs.ts), pipe buffers
 * (pipe.ts), each process's CPU engine (kernel.ts). Socket buffers are to
 * be charged here too. Past the limit a charge fails with the errno Linux
 * gives there (ENOSPC for tmpfs, ENOMEM or ENFILE elsewhere) and nothing
 * is taken.
 */
export class MemoryBudget {
  /** Bytes charged besides guest memory. */
  private charged = 0;

  constructor(
    readonly limit: number,
    private readonly guestMemory: () => number = () => 0,
  ) {}

  /** Bytes in use now: guest memory plus everything charged. */
  get used(): number {
    return this.guestMemory() + this.charged;
  }

  /** Bytes charged besides guest memory (tests check that they all come back). */
  get held(): number {
    return this.charged;
  }

  /** Bytes left before the limit. */
  get available(): number {
    return Math.max(0, this.limit - this.used);
  }

  /**
   * What the run holds only to go faster and can give back at once (the
   * shelved engines, engine-shelf.ts): given back before anything is
   * refused for want of memory.
   */
  reclaim: (() => void) | null = null;
  private reclaiming = false;

  /** Would `extra` more bytes of host memory, in any process, pass the run's limit (after reclaim)? */
  wouldExceed(extra: number): boolean {
    if (this.used + extra <= this.limit) return false;
    if (!this.reclaim || this.reclaiming) return true;
    this.reclaiming = true;
    try {
      this.reclaim();
    } finally {
      this.reclaiming = false;
    }
    return this.used + extra > this.limit;
  }

  /** Take `bytes` from the run's memory; `errno` (nothing taken) when that would pass the limit. */
  charge(bytes: number, errno: ErrnoName): void {
    if (bytes > 0 && this.wouldExceed(bytes)) fail(errno, "the run's memory limit (--memory-limit) is reached");
    this.charged += bytes;
  }

  /** Give back what a charge took. */
  release(bytes: number): void {
    this.charged -= bytes;
  }
}

/**
 * `size` zeroed bytes of host memory, or `errno` (ENOMEM unless told) when
 * the host has not got them: Node throws a RangeError ("Array buffer
 * allocation failed") then, which must reach the guest as an errno and
 * never take tslinux down.
 */
export function allocateBytes(size: number, errno: ErrnoName = 'ENOMEM'): Uint8Array {
  try {
    return new Uint8Array(size);
  } catch (e) {
    if (isAllocationFailure(e)) fail(errno, `cannot allocate ${size} bytes of host memory`);
    throw e;
  }
}

/** The RangeErrors of a host allocation that failed or was too large (new ArrayBuffer, typed arrays, Buffer.alloc). */
export function isAllocationFailure(e: unknown): boolean {
  return e instanceof RangeError && /allocation failed|Invalid typed array length|Invalid array buffer length|Array buffer allocation/i.test(e.message);
}

export class AddressSpace {
  /** Sorted by start, non-overlapping. */
  private maps: Mapping[] = [];
  private lastHit: Mapping | undefined;
  brkStart = 0;
  brkCurrent = 0;
  /** Total bytes of host memory backing this space, for --memory-limit. */
  committed = 0;
  /** The run's total, checked besides this space's own memoryLimit (null: none). */
  budget: MemoryBudget | null = null;
  /** RLIMIT_AS: the most bytes of address space, of any protection, the mappings may cover (setrlimit(2)). */
  addressSpaceLimit = Infinity;

  constructor(
    readonly layout: AddressSpaceLayout,
    private readonly cpu: MemoryBackend | null,
    readonly memoryLimit = Infinity,
  ) {}

  mappings(): readonly Mapping[] {
    return this.maps;
  }

  // ---- creating and removing mappings --------------------------------------

  /**
   * Create a mapping at a page-aligned `start`, replacing whatever was there
   * (the MAP_FIXED semantics; callers pick a free range first otherwise).
   * `backed` gives a PROT_NONE mapping (or a private file mapping) host memory
   * at once (for contents that must survive until a later mprotect: loaded
   * segments, mremap moves, fork's copies).
   * `pages` maps host memory another address space already uses (shared
   * between processes: MAP_SHARED mappings after fork, a vfork child's loan).
   */
  map(
    start: number,
    length: number,
    prot: number,
    opts: MapOptions = {},
  ): Mapping {
    const end = start + pageUp(length);
    if (start % PAGE_SIZE !== 0 || length <= 0 || end > this.layout.taskSize) fail('EINVAL');
    // RLIMIT_AS counts what the space would cover afterwards, checked before anything changes.
    if (this.addressSpaceLimit !== Infinity && this.mappedBytes() - this.coveredBytes(start, end) + (end - start) > this.addressSpaceLimit) fail('ENOMEM');
    this.unmap(start, end - start);
    const m: Mapping = {
      start,
      end,
      prot,
      shared: opts.shared ?? false,
      mayWrite: opts.mayWrite ?? true,
      name: opts.name ?? '',
      offset: opts.offset ?? 0,
      dev: opts.dev ?? 0,
      ino: opts.ino ?? 0,
      bytes: null,
      source: opts.source ?? null,
      pristine: opts.pristine ?? null,
      growsDown: opts.growsDown ?? false,
      cow: opts.pages ? (opts.cow ?? null) : null,
      loaded: opts.contents && !(prot & PROT_WRITE) ? opts.contents : null,
    };
    const resident = m.loaded ? this.takeResident(m) : undefined;
    if (resident) {
      // Its pages and the holds on them (file, copy-on-write share) pass to m as they are.
      m.bytes = resident.bytes;
      m.cow = resident.cow;
      this.committed += end - start;
      this.insert(m);
      return m;
    }
    this.evictResident(start, end);
    if (opts.pages) this.adoptPages(m, opts.pages);
    else if (m.source && !m.shared && !opts.backed) this.reserveLazy(m);
    else if (prot !== PROT_NONE || opts.backed || m.source) this.backWithHostMemory(m);
    if (m.source && m.shared && !opts.pages) this.fillShared(m);
    if (opts.contents && !opts.pages) fillContents(m, opts.contents);
    hold(m);
    this.insert(m);
    return m;
  }

  // ---- pages a recycled engine still holds ---------------------------------------

  /**
   * Loaded segments still mapped in this space's CPU engine, left by the
   * engine's previous process (engine-shelf.ts): map() takes one whose place,
   * protection and contents are the new mapping's, instead of new pages.
   */
  private resident: Mapping[] = [];

  /** The engine comes with these mappings' pages still mapped (see `resident`). */
  offerResident(mappings: readonly Mapping[]): void {
    this.resident = [...mappings];
  }

  /** Once the image is in (or the fork's copy made): unmap what map() did not take, and let it go. */
  releaseResident(): void {
    for (const r of this.resident) this.dropResident(r);
    this.resident = [];
  }

  private takeResident(m: Mapping): Mapping | undefined {
    const i = this.resident.findIndex((r) => sameLoadedMapping(r, m));
    return i < 0 ? undefined : this.resident.splice(i, 1)[0];
  }

  /** Resident pages in [start, end) that a new mapping there does not take go first: the engine holds one region per address. */
  private evictResident(start: number, end: number): void {
    if (this.resident.length === 0) return;
    for (const r of this.resident.filter((r) => r.start < end && r.end > start)) {
      this.resident.splice(this.resident.indexOf(r), 1);
      this.dropResident(r);
    }
  }

  private dropResident(r: Mapping): void {
    this.cpu?.unmap(r.start, r.end - r.start);
    drop(r);
  }

  /** Whether this space maps a loaded segment with `m`'s place, protection and contents (a shelved engine's, for a fork). */
  holdsLoaded(m: Mapping): boolean {
    return this.maps.some((x) => sameLoadedMapping(x, m));
  }

  hasLoadedSegments(): boolean {
    return this.maps.some((m) => m.loaded && m.bytes);
  }

  /**
   * Take this space's untouched loaded segments out of it, pages and holds
   * included, for its engine's next process (a process that is gone; the
   * engine still maps them). The rest is release()d as usual.
   */
  detachLoaded(): Mapping[] {
    const taken = this.maps.filter((m) => m.loaded && m.bytes);
    if (taken.length === 0) return taken;
    this.maps = this.maps.filter((m) => !taken.includes(m));
    for (const m of taken) this.committed -= m.end - m.start;
    this.lastHit = undefined;
    return taken;
  }

  /**
   * A private file mapping waits for its first touch (fault, or the
   * kernel's access) to be copied in; the limits are checked now, so a
   * mapping the run has no room for is ENOMEM at mmap time.
   */
  private reserveLazy(m: Mapping): void {
    const size = m.end - m.start;
    if (size > MAX_HOST_CHUNK || this.wouldExceed(size) || this.hostMappings() >= MAX_HOST_MAPPINGS) fail('ENOMEM');
  }

  /** A shared file mapping: the file's bytes now, and a pristine copy when the guest may write them back. */
  private fillShared(m: Mapping): void {
    readFile(m.source!, m.bytes!, m.offset);
    if (m.mayWrite) m.pristine = m.bytes!.slice();
  }

  /**
   * The CPU touched `addr`, which no host memory backs: when it is in a
   * private file mapping not yet copied, copy it in (and map it into the
   * CPU); when it is just below the stack, grow the stack over it. Either
   * way the access can be retried. False otherwise (a real fault), or when
   * the run has no memory left for it (the access then faults).
   */
  fault(addr: number): boolean {
    const m = this.find(addr);
    if (!m) return this.growStack(addr) !== undefined;
    if (m.bytes || !m.source) return false;
    try {
      this.fillLazy(m);
      return true;
    } catch (e) {
      if (e instanceof LinuxError) return false;
      throw e;
    }
  }

  /**
   * RLIMIT_STACK's soft limit now, in bytes (Infinity: unlimited): how
   * large the stack may grow (the process keeps it current; see
   * Process.applyAddressSpaceLimit).
   */
  stackLimit: () => number = () => DEFAULT_STACK_LIMIT;

  /**
   * An access at `addr`, below the stack and unmapped: extend the stack
   * down over it, as Linux's fault handler does (mm/mmap.c
   * expand_downwards, acct_stack_growth): only while the stack stays within
   * RLIMIT_STACK and `stack_guard_gap` above the mapping below it, so a
   * runaway recursion ends in SIGSEGV. The stack is mapped small at exec
   * (src/loader/image.ts) and grows here, in steps of at least its size so
   * far: each step is another region in the CPU, and few steps are needed.
   * Returns the new piece, or undefined when `addr` is no stack growth.
   */
  private growStack(addr: number): Mapping | undefined {
    if (!Number.isSafeInteger(addr) || addr < this.layout.mmapMin) return undefined;
    let i = 0;
    while (i < this.maps.length && this.maps[i]!.start <= addr) i++;
    const above = this.maps[i];
    if (!above?.growsDown) return undefined;
    let top = above.end;
    for (let j = i + 1; j < this.maps.length && this.maps[j]!.growsDown && this.maps[j]!.start === top; j++) top = this.maps[j]!.end;
    const want = pageDown(addr);
    const limit = this.stackLimit();
    if (top - want > limit) return undefined;
    const below = this.maps[i - 1];
    const lowest = Math.max(this.layout.mmapMin, below ? below.end + STACK_GUARD_GAP : 0, limit === Infinity ? 0 : top - pageDown(limit));
    if (want < lowest) return undefined;
    const start = Math.max(lowest, Math.min(want, above.start - (top - above.start)));
    try {
      return this.map(start, above.start - start, above.prot, { name: above.name, growsDown: true });
    } catch (e) {
      if (e instanceof LinuxError) return undefined;
      throw e;
    }
  }

  /** The mapping at `addr`, the stack grown over it first when it lies just below (a user access). */
  private findOrGrow(addr: number): Mapping | undefined {
    return this.find(addr) ?? this.growStack(addr);
  }

  /** Copy in the not yet touched file mappings of [start, end) (before a move or a loan of their pages). */
  materialize(start: number, end: number): void {
    for (const m of this.maps) if (m.start < end && m.end > start && !m.bytes && m.source) this.fillLazy(m);
  }

  private fillLazy(m: Mapping): void {
    this.backWithHostMemory(m);
    readFile(m.source!, m.bytes!, m.offset);
  }

  /** Host memory of `m`, copying a lazy file mapping in first; null for a reservation. */
  private backing(m: Mapping): Uint8Array | null {
    if (!m.bytes && m.source) this.fillLazy(m);
    return m.bytes;
  }

  /** Bytes of address space the mappings cover (VmSize). */
  mappedBytes(): number {
    let n = 0;
    for (const m of this.maps) n += m.end - m.start;
    return n;
  }

  /** Bytes of [start, end) that mappings cover. */
  private coveredBytes(start: number, end: number): number {
    let n = 0;
    for (const m of this.maps) if (m.start < end && m.end > start) n += Math.min(m.end, end) - Math.max(m.start, start);
    return n;
  }

  private adoptPages(m: Mapping, pages: Uint8Array): void {
    if (pages.byteLength !== m.end - m.start) throw new Error('adoptPages: size mismatch');
    m.bytes = pages;
    this.committed += pages.byteLength;
    this.cpu?.mapHost(m.start, pages, m.prot);
  }

  private backWithHostMemory(m: Mapping): void {
    const size = m.end - m.start;
    if (size > MAX_HOST_CHUNK || this.wouldExceed(size) || this.hostMappings() >= MAX_HOST_MAPPINGS) fail('ENOMEM');
    const bytes = allocateBytes(size);
    m.bytes = bytes;
    this.committed += size;
    this.cpu?.mapHost(m.start, bytes, m.prot);
  }

  private insert(m: Mapping): void {
    let i = this.maps.length;
    while (i > 0 && this.maps[i - 1]!.start > m.start) i--;
    this.maps.splice(i, 0, m);
  }

  /** Remove [start, start+length): whole mappings go, partly covered ones are trimmed or split. */
  unmap(start: number, length: number): void {
    const end = start + pageUp(length);
    this.checkSplits(start, end, false, false);
    this.writeBack(start, end);
    this.lastHit = undefined;
    const kept: Mapping[] = [];
    for (const m of this.maps) {
      if (m.end <= start || m.start >= end) {
        kept.push(m);
        continue;
      }
      const cutStart = Math.max(m.start, start);
      const cutEnd = Math.min(m.end, end);
      if (m.bytes) {
        this.cpu?.unmap(cutStart, cutEnd - cutStart);
        this.committed -= cutEnd - cutStart;
      }
      if (m.start < cutStart) kept.push(this.slice(m, m.start, cutStart));
      if (cutEnd < m.end) kept.push(this.slice(m, cutEnd, m.end));
      drop(m);
    }
    this.maps = kept;
  }

  /** The part [from, to) of `m` as its own mapping, sharing the host memory. */
  private slice(m: Mapping, from: number, to: number): Mapping {
    hold(m);
    return {
      ...m,
      start: from,
      end: to,
      offset: m.offset + (from - m.start),
      bytes: m.bytes ? m.bytes.subarray(from - m.start, to - m.start) : null,
      pristine: m.pristine ? m.pristine.subarray(from - m.start, to - m.start) : null,
      loaded: null,
    };
  }

  /**
   * Drop every mapping and its host memory without telling the engine: for
   * a process that is gone, once its engine is closed.
   */
  release(): void {
    this.writeBack(0, this.layout.taskSize);
    for (const m of this.maps) drop(m);
    this.maps = [];
    this.lastHit = undefined;
    this.committed = 0;
  }

  /** How many mappings have host memory (each is a region in the engine). */
  private hostMappings(): number {
    let n = 0;
    for (const m of this.maps) if (m.bytes || m.source) n++;
    return n;
  }

  /**
   * ENOMEM when changing [start, end) would split mappings with host memory
   * (or back a reservation) past MAX_HOST_MAPPINGS; `backing` says whether
   * reservations in the range get host memory.
   */
  private checkSplits(start: number, end: number, backing: boolean, keepMiddle: boolean): void {
    let added = 0;
    for (const m of this.maps) {
      if (m.end <= start || m.start >= end) continue;
      const outer = (m.start < start ? 1 : 0) + (end < m.end ? 1 : 0);
      if (m.bytes || m.source) added += outer + (keepMiddle ? 1 : 0) - 1;
      else if (backing) added += 1;
    }
    if (added > 0 && this.hostMappings() + added > MAX_HOST_MAPPINGS) fail('ENOMEM');
  }

  /** Would `extra` more bytes of host memory pass this process's limit or the run's? */
  private wouldExceed(extra: number): boolean {
    return this.committed + extra > this.memoryLimit || (this.budget?.wouldExceed(extra) ?? false);
  }

  /**
   * mprotect(2): every page in the range must be mapped, else ENOMEM;
   * PROT_WRITE on a mapping that may not be written (a shared mapping of a
   * file opened read-only) is EACCES.
   */
  protect(start: number, length: number, prot: number): void {
    const end = start + pageUp(length);
    if (!this.isFullyMapped(start, end)) fail('ENOMEM');
    if (prot & PROT_WRITE && this.maps.some((m) => m.start < end && m.end > start && !m.mayWrite)) fail('EACCES');
    // Reservations made accessible get host memory: check the limit for all of
    // them first, so a failure changes nothing.
    if (prot !== PROT_NONE) {
      let needed = 0;
      for (const m of this.maps) {
        if (!m.bytes && !m.source && m.start < end && m.end > start) needed += Math.min(m.end, end) - Math.max(m.start, start);
      }
      if (this.wouldExceed(needed)) fail('ENOMEM');
    }
    this.checkSplits(start, end, prot !== PROT_NONE, true);
    this.lastHit = undefined;
    const result: Mapping[] = [];
    for (const m of this.maps) {
      if (m.end <= start || m.start >= end) {
        result.push(m);
        continue;
      }
      const from = Math.max(m.start, start);
      const to = Math.min(m.end, end);
      if (m.start < from) result.push(this.slice(m, m.start, from));
      const middle = this.slice(m, from, to);
      middle.prot = prot;
      result.push(middle);
      if (to < m.end) result.push(this.slice(m, to, m.end));
      drop(m);
      // Pages shared since a fork become this process's own before they can be written.
      if (middle.cow && prot & PROT_WRITE) this.own(middle);
      if (middle.bytes) this.cpu?.protect(from, to - from, prot, m.prot);
      else if (prot !== PROT_NONE && !middle.source) this.backWithHostMemory(middle);
    }
    this.maps = result;
  }

  isFullyMapped(start: number, end: number): boolean {
    if (end <= start) return true;
    let cursor = start;
    for (const m of this.maps) {
      if (m.end <= cursor) continue;
      if (m.start > cursor) return false;
      cursor = m.end;
      if (cursor >= end) return true;
    }
    return cursor >= end;
  }

  isFree(start: number, end: number): boolean {
    if (start < this.layout.mmapMin || end > this.layout.taskSize) return false;
    return !this.maps.some((m) => m.start < end && m.end > start);
  }

  /**
   * Find a free range for mmap without MAP_FIXED: the hint if free, else
   * top-down from mmapBase like Linux (or within `range`, for MAP_32BIT).
   */
  findFree(length: number, hint = 0, range: { low: number; high: number } = { low: this.layout.mmapMin, high: this.layout.mmapBase }): number {
    const size = pageUp(length);
    if (hint) {
      const start = pageDown(hint);
      if (this.isFree(start, start + size)) return start;
    }
    let top = range.high;
    for (let i = this.maps.length - 1; i >= 0; i--) {
      const m = this.maps[i]!;
      if (m.start >= top) continue;
      if (m.end <= top - size) break;
      top = m.start;
    }
    if (top - size < Math.max(range.low, this.layout.mmapMin)) fail('ENOMEM');
    return top - size;
  }

  // ---- brk ------------------------------------------------------------------

  setBrkStart(addr: number): void {
    this.brkStart = this.brkCurrent = addr;
  }

  /** brk(2): returns the new break, or the old one when the request cannot be met (Linux never fails brk with an errno). */
  brk(requested: number): number {
    if (requested < this.brkStart) return this.brkCurrent;
    const oldTop = pageUp(this.brkCurrent);
    const newTop = pageUp(requested);
    try {
      if (newTop > oldTop) {
        if (!this.isFree(oldTop, newTop)) return this.brkCurrent;
        this.map(oldTop, newTop - oldTop, PROT_READ | PROT_WRITE, { name: '[heap]' });
      } else if (newTop < oldTop) {
        this.unmap(newTop, oldTop - newTop);
      }
    } catch (e) {
      if (e instanceof LinuxError) return this.brkCurrent;
      throw e;
    }
    this.brkCurrent = requested;
    return requested;
  }

  // ---- access for the kernel ------------------------------------------------

  private find(addr: number): Mapping | undefined {
    const hit = this.lastHit;
    if (hit && addr >= hit.start && addr < hit.end) return hit;
    let lo = 0;
    let hi = this.maps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = this.maps[mid]!;
      if (addr < m.start) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else return (this.lastHit = m);
    }
    return undefined;
  }

  mappingAt(addr: number): Mapping | undefined {
    return this.find(addr);
  }

  /**
   * The mapping a user access at `addr` (a syscall's buffer) reaches: as
   * mappingAt, but an address just below the stack grows it first, as the
   * kernel's own copies to user memory do on Linux.
   */
  accessAt(addr: number): Mapping | undefined {
    return this.findOrGrow(addr);
  }

  /**
   * A live view of guest memory [addr, addr+len), usable only when the range
   * lies in one mapping (the common case); null when it spans mappings.
   * Throws EFAULT when any part is unmapped or lacks the needed permission.
   */
  view(addr: number, len: number, needed: number): Uint8Array | null {
    if (len === 0) return new Uint8Array(0);
    if (!Number.isSafeInteger(addr) || addr < 0 || !Number.isSafeInteger(len) || len < 0) fail('EFAULT');
    const m = this.findOrGrow(addr);
    const bytes = m && (m.prot & needed) === needed ? this.backing(m) : null;
    if (!m || !bytes) fail('EFAULT');
    if (addr + len <= m.end) return (needed & PROT_WRITE && m.cow ? this.own(m)! : bytes).subarray(addr - m.start, addr - m.start + len);
    this.checkRange(addr, len, needed);
    return null;
  }

  private checkRange(addr: number, len: number, needed: number): void {
    let cursor = addr;
    const end = addr + len;
    while (cursor < end) {
      const m = this.findOrGrow(cursor);
      if (!m || (m.prot & needed) !== needed || !this.backing(m)) fail('EFAULT');
      cursor = m.end;
    }
  }

  /** Copy guest memory out (EFAULT on any unreadable byte). */
  read(addr: number, len: number): Uint8Array {
    const v = this.view(addr, len, PROT_READ);
    if (v) return v.slice();
    const out = new Uint8Array(len);
    this.forEachChunk(addr, len, (chunk, at) => out.set(chunk, at));
    return out;
  }

  /** Copy into guest memory (EFAULT on any unwritable byte, nothing written then). */
  write(addr: number, data: Uint8Array): void {
    const v = this.view(addr, data.length, PROT_WRITE);
    if (v) {
      v.set(data);
      return;
    }
    this.forEachChunk(addr, data.length, (chunk, at) => chunk.set(data.subarray(at, at + chunk.length)), true);
  }

  /** Visit [addr, addr+len) as per-mapping views; the range was checked already. */
  private forEachChunk(addr: number, len: number, fn: (chunk: Uint8Array, at: number) => void, writing = false): void {
    let cursor = addr;
    const end = addr + len;
    while (cursor < end) {
      const m = this.find(cursor)!;
      const to = Math.min(end, m.end);
      if (writing && m.cow) this.own(m);
      fn(m.bytes!.subarray(cursor - m.start, to - m.start), cursor - addr);
      cursor = to;
    }
  }

  /**
   * The kernel's own writes ignore PROT_WRITE (the loader fills read-only
   * segments, the signal code writes frames the guest may not). EFAULT only
   * when unmapped.
   */
  poke(addr: number, data: Uint8Array): void {
    this.checkRange(addr, data.length, PROT_NONE);
    this.forEachChunk(addr, data.length, (chunk, at) => chunk.set(data.subarray(at, at + chunk.length)), true);
  }

  private scratch = new DataView(new ArrayBuffer(8));

  readU32(addr: number): number {
    const b = this.read(addr, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  readI32(addr: number): number {
    return this.readU32(addr) | 0;
  }
  /** 64-bit value as a number: exact below 2^53 (pointers, sizes). */
  readU64(addr: number): number {
    const b = this.read(addr, 8);
    const lo = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    const hi = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    return hi * 0x1_0000_0000 + lo;
  }
  readI64(addr: number): number {
    const b = this.read(addr, 8);
    return Number(new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true));
  }
  readBigU64(addr: number): bigint {
    const b = this.read(addr, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }
  writeU32(addr: number, v: number): void {
    this.scratch.setUint32(0, v >>> 0, true);
    this.write(addr, new Uint8Array(this.scratch.buffer, 0, 4));
  }
  writeU64(addr: number, v: number | bigint): void {
    this.scratch.setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
    this.write(addr, new Uint8Array(this.scratch.buffer, 0, 8));
  }

  /**
   * A NUL-terminated string. ENAMETOOLONG when no NUL is found within `max`
   * bytes (PATH_MAX for paths, see path_resolution(7)); EFAULT if it runs off
   * readable memory first.
   */
  readCString(addr: number, max = 4096): string {
    const bytes = this.readCStringBytes(addr, max);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  }

  readCStringBytes(addr: number, max = 4096): Uint8Array {
    if (addr === 0) fail('EFAULT');
    let cursor = addr;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < max) {
      const m = this.findOrGrow(cursor);
      const bytes = m && (m.prot & PROT_READ) !== 0 ? this.backing(m) : null;
      if (!m || !bytes) fail('EFAULT');
      const avail = bytes.subarray(cursor - m.start, Math.min(m.end - m.start, cursor - m.start + (max - total)));
      const nul = avail.indexOf(0);
      if (nul >= 0) {
        parts.push(avail.subarray(0, nul));
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      }
      parts.push(avail);
      total += avail.length;
      cursor += avail.length;
    }
    fail('ENAMETOOLONG');
  }

  /** Write a string plus its NUL terminator (the kernel's own stack set-up). */
  pokeCString(addr: number, s: string | Uint8Array): number {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    const out = new Uint8Array(bytes.length + 1);
    out.set(bytes);
    this.poke(addr, out);
    return out.length;
  }

  // ---- file mappings: write-back and re-reading ---------------------------------

  /**
   * Write the pages of [start, end) the guest changed in writable shared
   * file mappings back to the file (msync, and before munmap, exec and
   * exit): each page that differs from the pristine copy, within the file's
   * size (a mapping never extends its file), as the page cache would.
   */
  writeBack(start: number, end: number): void {
    for (const m of this.maps) {
      if (!m.pristine || !m.bytes || m.end <= start || m.start >= end) continue;
      const from = Math.max(start, m.start) - m.start;
      const to = Math.min(end, m.end) - m.start;
      const fileEnd = m.source!.size() - m.offset;
      for (let page = from; page < to && page < fileEnd; page += PAGE_SIZE) {
        const pageEnd = Math.min(to, page + PAGE_SIZE, fileEnd);
        const now = m.bytes.subarray(page, pageEnd);
        if (Buffer.from(now.buffer, now.byteOffset, now.length).equals(m.pristine.subarray(page, pageEnd))) continue;
        m.source!.write(now, m.offset + page);
        m.pristine.set(now, page);
      }
    }
  }

  /**
   * MADV_DONTNEED on the private pages of [start, end): anonymous memory
   * reads back as zeros, a private file mapping as the file holds it now
   * (madvise(2)); shared pages keep their contents.
   */
  dropPrivatePages(start: number, end: number): void {
    for (const m of this.maps) {
      if (m.shared || !m.bytes || m.end <= start || m.start >= end) continue;
      this.own(m);
      const pages = m.bytes!.subarray(Math.max(start, m.start) - m.start, Math.min(end, m.end) - m.start);
      pages.fill(0);
      if (m.source) readFile(m.source, pages, m.offset + (Math.max(start, m.start) - m.start));
    }
  }

  /**
   * Give `to` every mapping of this space (fork): same addresses and
   * permissions. MAP_SHARED mappings, and all of them when `lend` (a vfork
   * child borrowing its parent's memory until it execs or exits; see
   * vfork(2)), map the very same host pages. Private ones: a file mapping
   * not yet touched stays so, from the same file; one without PROT_WRITE
   * shares its pages copy-on-write (Mapping.cow: program text and
   * read-only data, most of what a fork used to copy, are never copied
   * unless made writable); a writable one is copied, its touched pages
   * only.
   */
  copyTo(to: AddressSpace, lend: boolean): void {
    if (lend) this.materialize(0, this.layout.taskSize);
    for (const m of this.maps) {
      // A vfork child's loan keeps a share the parent's pages are already in.
      const cow = m.bytes && !m.shared && !(m.prot & PROT_WRITE) ? (m.cow ??= { users: 1 }) : undefined;
      const pages = m.bytes && (lend || m.shared || cow) ? m.bytes : undefined;
      const opts = { name: m.name, shared: m.shared, mayWrite: m.mayWrite, offset: m.offset, dev: m.dev, ino: m.ino, source: m.source ?? undefined, growsDown: m.growsDown, contents: m.loaded };
      const copy = to.map(m.start, m.end - m.start, m.prot, { ...opts, pages, cow, pristine: pages ? m.pristine : null, backed: m.bytes !== null });
      if (m.bytes && copy.bytes && !pages) copyTouchedPages(m.bytes, copy.bytes);
    }
    to.brkStart = this.brkStart;
    to.brkCurrent = this.brkCurrent;
  }

  /**
   * Make `m`'s pages its own before the kernel writes them or they become
   * writable: while other mappings share them since a fork (Mapping.cow),
   * copy them and map the copy into the CPU in their place; the last
   * holder just keeps them. Returns the pages.
   */
  private own(m: Mapping): Uint8Array | null {
    // Whoever asks is about to write the pages.
    m.loaded = null;
    const share = m.cow;
    if (!share || !m.bytes) return m.bytes;
    m.cow = null;
    share.users--;
    if (share.users === 0) return m.bytes;
    const copy = allocateBytes(m.end - m.start);
    copy.set(m.bytes);
    m.bytes = copy;
    this.lastHit = undefined;
    this.cpu?.unmap(m.start, m.end - m.start);
    this.cpu?.mapHost(m.start, copy, m.prot);
    return copy;
  }

  /** Make the private pages of [start, end) this space's own (Mapping.cow) before the kernel writes them whatever their protection. */
  ownPages(start: number, end: number): void {
    for (const m of this.maps) if (m.cow && m.start < end && m.end > start) this.own(m);
  }

  /** Drop every mapping (execve, exit). */
  clear(): void {
    for (const m of [...this.maps]) this.unmap(m.start, m.end - m.start);
    this.maps = [];
    this.lastHit = undefined;
  }
}

/** One more mapping (or piece of one) holds `m`'s file and, after a fork, its shared pages. */
function hold(m: Mapping): void {
  m.source?.hold();
  if (m.cow) m.cow.users++;
}

/** Mappings taken out of their space (AddressSpace.detachLoaded) are gone: their file and shared pages are let go. */
export function letGo(mappings: readonly Mapping[]): void {
  for (const m of mappings) drop(m);
}

/** A mapping (or piece) that held them is gone. */
function drop(m: Mapping): void {
  m.source?.drop();
  if (m.cow) m.cow.users--;
}

/** Fill `into` from the file at `offset`, as far as the file goes (the rest stays zero). */
function readFile(source: FileSource, into: Uint8Array, offset: number): void {
  let done = 0;
  while (done < into.length) {
    const n = source.read(into.subarray(done), offset + done);
    if (n <= 0) break;
    done += n;
  }
}

/** Write a loaded segment's bytes into its fresh (zero) pages. */
function fillContents(m: Mapping, c: LoadedContent): void {
  const part = c.image.subarray(c.fileStart, c.fileEnd);
  if (!m.bytes || c.at < 0 || c.at + part.length > m.bytes.length) throw new Error('fillContents: the contents do not fit the mapping');
  m.bytes.set(part, c.at);
}

/**
 * Copy `from` into the fresh, zero-filled `to` page by page, skipping pages
 * that are all zeros: they are zero in `to` already, and leaving them
 * untouched keeps them out of the host's resident memory (a fork would
 * otherwise make every child pay for its parent's whole 8 MiB stack).
 */
function copyTouchedPages(from: Uint8Array, to: Uint8Array): void {
  // Zero tests are memcmp against a zero chunk (Buffer.equals), a whole
  // chunk at a time first: most of a stack or heap reservation is untouched.
  const src = Buffer.from(from.buffer, from.byteOffset, from.byteLength);
  for (let chunk = 0; chunk < src.length; chunk += ZERO_CHUNK.length) {
    const end = Math.min(src.length, chunk + ZERO_CHUNK.length);
    if (src.subarray(chunk, end).equals(ZERO_CHUNK.subarray(0, end - chunk))) continue;
    for (let page = chunk; page < end; page += PAGE_SIZE) {
      const pageEnd = Math.min(end, page + PAGE_SIZE);
      if (!src.subarray(page, pageEnd).equals(ZERO_CHUNK.subarray(0, pageEnd - page))) to.set(from.subarray(page, pageEnd), page);
    }
  }
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);
