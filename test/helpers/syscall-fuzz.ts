// The syscall fuzzing world: a headless kernel with a small guest memory and
// a temp host mount, arguments made from each declaration's argument kinds,
// and the invariants every call must keep. The property tests
// (test/property-syscalls.test.ts), the long run (scripts/fuzz.ts) and the
// Jazzer target (test/fuzz-corpus/jazzer-target.ts) all drive this.
//
// An argument is described by an ArgSpec {cls, n, raw}: `cls` picks a class
// of value for the argument's kind (an open fd, a closed one, a huge one; a
// valid pointer, NULL, unmapped, straddling a mapping's end, in the top
// half...), `n` picks within the class and seeds any contents written to
// guest memory, `raw` is the whole 64-bit register for the "raw" classes.
// The same spec always resolves to the same value in the same world state, so
// a sequence of CallSpecs replays exactly (fast-check shrinks them, Jazzer
// decodes them from bytes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { ARCHES } from '../../src/arch/index.ts';
import { archFlags, type ArchFlags } from '../../src/kernel/syscall-flags.ts';
import { KINDS, RETURN_KINDS, argLayout, knownValues, type ArgKind, type Fuzz, type FuzzDraw, type PointerContents } from '../../src/kernel/syscall-kinds.ts';
import { LinuxError } from '../../src/kernel/errors.ts';
import { ALL_SYSCALLS } from '../../syscalls/index.ts';
import type { SyscallDecl } from '../../syscalls/types.ts';
import { Headless, type ArchName } from './headless.ts';
import { HostWatch, diffTrees, snapshotTree } from './host-watch.ts';

export interface ArgSpec {
  /** Which class of value (0..15); what the classes are depends on the argument's kind. */
  cls: number;
  /** Chooses within the class and seeds guest-memory contents (u32). */
  n: number;
  /** The whole register, for the raw classes. */
  raw: bigint;
}

export interface CallSpec {
  name: string;
  args: ArgSpec[];
}

/** Calls whose result depends on the clock, excluded from the same-sequence-same-results check. */
export const NONDETERMINISTIC = new Set(['time', 'times']);

export const FUZZ_MEMORY_LIMIT = 32 << 20;
const PAGE = 4096;
/** Per-call argument data: strings, structs, iovecs (reset before each call). */
export const ARENA = 0x3000_0000;
export const ARENA_SIZE = 64 << 10;
const ARENA_END = ARENA + ARENA_SIZE;
/** Where the CPU's stack pointer is for each call (16-aligned, half way into the arena). */
const SIGRETURN_SP = ARENA + ARENA_SIZE / 2;
/** Never mapped: the page right after the arena. */
const GUARD = ARENA_END;
const RO_PAGE = 0x3004_0000;
const NONE_PAGE = 0x3005_0000;
const TWO64 = 1n << 64n;

/** Declared syscalls that exist on `arch`. */
export function declaredOn(arch: ArchName): SyscallDecl[] {
  const numbers = ARCHES[arch].syscallNumbers;
  return ALL_SYSCALLS.filter((d) => numbers[d.name] !== undefined);
}

/**
 * The syscalls the fuzz world calls: every one the arch declares. The
 * headless kernel's processes have plain in-memory CPUs (src/arch/plain-cpu.ts),
 * so fork, clone, execve and rt_sigreturn run as they do over Unicorn; a
 * call that ends the process (exit, rt_sigreturn with a bad frame) leaves
 * the world `dead`, and the callers start a fresh one.
 */
export function fuzzableSyscalls(arch: ArchName): SyscallDecl[] {
  return declaredOn(arch);
}

// ---- a small deterministic PRNG for contents ----------------------------------------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

// ---- the world ------------------------------------------------------------------------

export interface FuzzWorldOptions {
  /** Leave /proc paths out of the path pool (their contents change between runs). */
  deterministicPaths?: boolean;
  /**
   * The rename/symlink/fd world (swapSequenceArb): a directory and a file to
   * swap for symlinks, and a path pool of their names, their new names and
   * names the outside tree also has.
   */
  swaps?: boolean;
}

/** What the sentinel's files hold: never to be seen in guest memory. */
export const FUZZ_CANARY = 'outside the mount: canary 9d3c41';

export class FuzzFailure extends Error {}

/** What one call did, for replays and determinism checks. */
export interface CallResult {
  call: string;
  ret: number;
}

export class FuzzWorld {
  readonly h: Headless;
  readonly arch: ArchName;
  readonly sentinel: string;
  private readonly watch = new HostWatch();
  private readonly hostRootReal: string;
  private before: Map<string, string>;
  private next = 0;
  private readonly paths: string[];
  calls = 0;

  constructor(arch: ArchName, readonly opts: FuzzWorldOptions = {}) {
    this.arch = arch;
    this.h = new Headless(arch, { memoryLimit: FUZZ_MEMORY_LIMIT, scratchSize: PAGE, maxOutput: 64 << 10, stdin: 'fuzz input\n' });
    this.sentinel = this.h.outsidePath('sentinel');
    this.buildHostTree();
    if (opts.swaps) this.buildSwapTree();
    this.hostRootReal = fs.realpathSync(this.h.root);
    this.paths = opts.swaps ? this.swapPool() : this.pathPool();
    this.restoreMemory();
    this.openStartingFds();
    this.before = this.snapshotOutside();
  }

  /**
   * The world cannot go on: its process is gone (exit, a bad rt_sigreturn
   * frame), or its memory can no longer be put back (a setrlimit(RLIMIT_AS)
   * the calls made). The callers start a fresh one.
   */
  get dead(): boolean {
    return this.h.proc.exited || this.spent;
  }
  private spent = false;

  // -- set-up --

  private buildHostTree(): void {
    const h = this.h;
    fs.mkdirSync(path.join(this.sentinel, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(this.sentinel, 'secret.txt'), FUZZ_CANARY + '\n');
    fs.writeFileSync(path.join(this.sentinel, 'sub', 'inner.txt'), FUZZ_CANARY + ' (sub)\n');
    fs.symlinkSync(h.root, path.join(this.sentinel, 'back-in'));
    h.writeHost('file.txt', 'hello, fuzzer\n'.repeat(8));
    h.writeHost('empty', '');
    h.writeHost('dir/inner.txt', 'inner\n');
    fs.mkdirSync(h.hostPath('dir/sub'));
    h.writeHost('ro.txt', 'read only\n', 0o444);
    fs.mkdirSync(h.hostPath('noperm'));
    h.writeHost('noperm/x', 'x');
    fs.chmodSync(h.hostPath('noperm'), 0);
    const link = (target: string, name: string): void => fs.symlinkSync(target, h.hostPath(name));
    link('file.txt', 'link-file');
    link('loop-b', 'loop-a');
    link('loop-a', 'loop-b');
    link('self', 'self');
    link('nowhere', 'dangling');
    link('../sentinel/secret.txt', 'rel-out');
    link(path.join(this.sentinel, 'secret.txt'), 'abs-out');
    link(this.sentinel, 'dir-out');
    link('/', 'root-link');
  }

  private pathPool(): string[] {
    const pool = [
      'file.txt', 'empty', 'dir', 'dir/', 'dir/sub', 'dir/inner.txt', 'ro.txt', 'noperm', 'noperm/x',
      'link-file', 'loop-a', 'loop-a/x', 'self', 'dangling', 'rel-out', 'abs-out', 'dir-out', 'dir-out/secret.txt',
      'root-link', 'root-link/work/file.txt', '.', '..', '', '/', '//work///file.txt', '/work', '/work/../..',
      '../sentinel/secret.txt', '../../../../../../etc/passwd', '/etc/passwd', '/etc', 'file.txt/', 'file.txt/.',
      'new', 'new2', 'dir/new', 'newdir/', 'dir/sub/new', '/tmp', '/tmp/t', '/tmp/t/u', '/dev/null', '/dev/full',
      '/dev/tty', '/dev/fd/0', this.sentinel, path.join(this.sentinel, 'secret.txt'),
    ];
    if (!this.opts.deterministicPaths) pool.push('/proc/self/fd/3', '/proc/self/exe', '/proc/self/maps', '/proc/self/cwd', '/proc/self/root', '/proc/1000/fd', '/proc/self/fd', '/proc/stat');
    return pool;
  }

  /**
   * For the swap sequences: `sw` (a directory with the names the sentinel
   * has) and `swf` (a file), which the calls rename, replace with symlinks
   * (to the sentinel, to /, to ..) and reach again through fds they hold.
   */
  private buildSwapTree(): void {
    const h = this.h;
    h.writeHost('sw/secret.txt', 'inside sw\n');
    h.writeHost('sw/sub/inner.txt', 'inside sw/sub\n');
    h.writeHost('swf', 'inside swf\n');
  }

  /** The swap world's path pool: SWAP_POOL, then the sentinel's own paths. */
  private swapPool(): string[] {
    const s = this.sentinel;
    return [...SWAP_POOL, s, path.join(s, 'secret.txt'), path.join(s, 'sub')];
  }

  /** Whether the sentinel's text is anywhere in guest memory (it was read, one way or another). */
  canaryInMemory(): boolean {
    const needle = Buffer.from(FUZZ_CANARY);
    return this.h.mem.mappings().some((m) => m.bytes && Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength).includes(needle));
  }

  private openStartingFds(): void {
    const h = this.h;
    const c = h.c;
    this.restoreMemory();
    this.next = 0;
    const open = (p: string, flags: number): void => {
      h.call('openat', c.AT_FDCWD, this.cstr(p), flags, 0o644);
      this.next = 0;
    };
    open('file.txt', c.O_RDWR);
    open('dir', c.O_RDONLY | c.O_DIRECTORY);
    open('/dev/null', c.O_RDWR);
    open('/tmp/scratch', c.O_RDWR | c.O_CREAT);
    h.call('pipe2', ARENA, 0);
    h.call('memfd_create', this.cstr('fuzz'), 0);
    this.next = 0;
  }

  /** Put back the arena, the read-only page and the PROT_NONE page if a fuzzed call moved them; keep the guard unmapped. */
  restoreMemory(): void {
    const mem = this.h.mem;
    const ensure = (start: number, size: number, prot: number): void => {
      const m = mem.mappingAt(start);
      if (!m || m.start !== start || m.end !== start + size || m.prot !== prot || (prot !== 0 && !m.bytes)) mem.map(start, size, prot, { name: '[fuzz]', backed: prot !== 0 });
    };
    ensure(ARENA, ARENA_SIZE, 3);
    if (mem.mappingAt(GUARD)) mem.unmap(GUARD, PAGE);
    ensure(RO_PAGE, PAGE, 3);
    mem.write(RO_PAGE, Buffer.from('file.txt\0'));
    mem.protect(RO_PAGE, PAGE, 1);
    ensure(NONE_PAGE, PAGE, 0);
  }

  /** The host tree around the mount, without going into the mount (a fuzzed call may leave a huge sparse file there). */
  private snapshotOutside(): Map<string, string> {
    return snapshotTree(this.h.base, (rel) => rel === 'root');
  }

  // -- arena --

  private alloc(n: number): number {
    const size = Math.min(Math.max(n, 1), ARENA_SIZE);
    if (this.next + size > ARENA_SIZE) this.next = 0;
    const at = ARENA + this.next;
    this.next = (this.next + size + 15) & ~15;
    return at;
  }

  private put(bytes: Uint8Array): number {
    const at = this.alloc(bytes.length);
    this.h.mem.write(at, bytes.subarray(0, ARENA_END - at));
    return at;
  }

  private cstr(s: string | Uint8Array): number {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
    const out = new Uint8Array(b.length + 1);
    out.set(b);
    return this.put(out);
  }

  // -- resolving arguments --

  /** The register value for `spec` as an argument of `kind`: what the kind's `fuzz` says to draw (src/kernel/syscall-kinds.ts). */
  resolve(kind: ArgKind, spec: ArgSpec): bigint {
    const fuzz = KINDS[kind].fuzz;
    const draw = FuzzWorld.DRAWS[fuzz.draw] as (w: FuzzWorld, spec: ArgSpec, fuzz: Fuzz, kind: ArgKind) => bigint;
    return draw(this, spec, fuzz, kind);
  }

  /** How each kind of draw turns a spec into a register. */
  private static readonly DRAWS: { readonly [D in FuzzDraw]: (w: FuzzWorld, spec: ArgSpec, fuzz: Extract<Fuzz, { draw: D }>, kind: ArgKind) => bigint } = {
    fd: (w, spec) => w.fd(spec, false),
    dirfd: (w, spec) => w.fd(spec, true),
    path: (w, spec) => w.path(spec),
    iovec: (w, spec) => w.iovec(spec),
    pointer: (w, spec, fuzz) => w.pointerTo(spec, fuzz.to),
    size: (w, spec, fuzz) => {
      const v = w.size(spec);
      // A cap keeps the drawn count small while keeping its low bits.
      return fuzz.cap !== undefined && v > BigInt(fuzz.cap) ? BigInt(fuzz.cap) + (v & 0xfffn) : v;
    },
    hex: (w, spec) => (spec.cls >= 12 ? w.pointer({ ...spec, cls: 0 }, () => w.words(spec.n, 16)) : w.size(spec)),
    s64: (w, spec) => w.s64(spec),
    s32: (w, spec, _, kind) => w.s32(kind, spec),
    u32: (w, spec, _, kind) => w.u32(kind, spec),
  };

  /** Whether the fuzzer knows how to draw what `kind` asks for (test/syscall-kinds.test.ts). */
  static drawsFor(kind: ArgKind): boolean {
    const fuzz = KINDS[kind].fuzz;
    return Object.hasOwn(FuzzWorld.DRAWS, fuzz.draw) && (fuzz.draw !== 'pointer' || Object.hasOwn(FuzzWorld.CONTENTS, fuzz.to));
  }

  /** What a drawn pointer's memory holds, for each kind of contents. */
  private static readonly CONTENTS: { readonly [P in PointerContents]: (w: FuzzWorld, n: number) => Uint8Array } = {
    words: (w, n) => w.words(n, 64),
    timespec: (w, n) => w.timespec(n),
    sleep: (w, n) => w.timespec(n),
    buffer: () => new Uint8Array(512).fill(0xa5),
  };

  /** A pointer of class spec.cls to memory holding `contents` (a sleep is bounded wherever the pointer points). */
  private pointerTo(spec: ArgSpec, contents: PointerContents): bigint {
    const p = this.pointer(spec, () => FuzzWorld.CONTENTS[contents](this, spec.n));
    if (contents === 'sleep') this.boundSleep(p);
    return p;
  }

  private fd(spec: ArgSpec, dirfd: boolean): bigint {
    const open = this.h.proc.fds.list();
    const n = spec.n;
    // The swap world's class for "the fd opened last" (the subject, or what was opened through it).
    if (this.opts.swaps && spec.cls === SWAP_NEWEST_FD && open.length > 0) return BigInt(open[open.length - 1]!);
    switch (spec.cls) {
      case 6: {
        let fd = 3 + (n % 16);
        while (open.includes(fd)) fd++;
        return BigInt(fd);
      }
      case 7:
        return BigInt(pick([0x7fffffff, 1 << 20, 65535, 1024, 4096, 0x8000_0000], n));
      case 8:
        return u64(pick([-1, -100, -2147483648, -9, -101], n));
      case 9:
        return BigInt(n % 3);
      case 10:
        return dirfd ? u64(-100) : u64(-1);
      case 11:
        return spec.raw;
      default:
        return open.length > 0 ? BigInt(pick(open, n)) : 0n;
    }
  }

  private path(spec: ArgSpec): bigint {
    const n = spec.n;
    // The swap world's class for names relative to a dirfd that the sentinel has too.
    if (this.opts.swaps && spec.cls === SWAP_RELATIVE_PATH) return this.addr(this.cstr(pick(SWAP_RELATIVE, n)));
    switch (spec.cls) {
      case 10: {
        const long = [
          'x'.repeat(4096 + (n % 64)),
          'd/'.repeat(2100),
          'x'.repeat(256),
          '../'.repeat(1400) + 'file.txt',
          'dir/' + 'y'.repeat(4090),
          'x'.repeat(4095),
          'x'.repeat(4094),
        ];
        return this.addr(this.cstr(pick(long, n)));
      }
      case 11: {
        // No terminator: the bytes run into the unmapped guard page.
        const len = 1 + (n % 300);
        const at = ARENA_END - len;
        this.h.mem.write(at, new Uint8Array(len).fill(0x61));
        return BigInt(at);
      }
      case 12:
        return 0n;
      case 13:
        return BigInt(GUARD + (n % PAGE));
      case 14:
        return topHalf(n);
      case 15: {
        const r = prng(n);
        const bytes = new Uint8Array(n % 40).map(() => pick([0x2f, 0x2e, 0x61, 0xff, 0xc3, 0x01, 0x20, 0x2e], Math.floor(r() * 8)));
        return this.addr(this.cstr(bytes));
      }
      default:
        return this.addr(this.cstr(pick(this.paths, n)));
    }
  }

  private addr(a: number): bigint {
    return BigInt(a);
  }

  /** A pointer of class spec.cls; valid pointers point at `contents()` in the arena. */
  private pointer(spec: ArgSpec, contents: () => Uint8Array): bigint {
    const n = spec.n;
    switch (spec.cls) {
      case 1:
        return 0n;
      case 2:
        return BigInt(GUARD + (n % PAGE));
      case 3:
        return BigInt(ARENA_END - 1 - (n % 16));
      case 4:
        return topHalf(n);
      case 5:
        return BigInt(RO_PAGE + (n % 64));
      case 6:
        return BigInt(NONE_PAGE + (n % 64));
      case 7:
        return BigInt(this.put(contents()) + 1 + (n % 7));
      case 8:
        return BigInt(n % 0x10000);
      case 9:
        return spec.raw;
      default:
        return BigInt(this.put(contents()));
    }
  }

  /** Guest words for an input struct: a mix of small numbers, fds, -1, arena pointers and noise. */
  private words(seed: number, count: number): Uint8Array {
    const r = prng(seed);
    const b = new Uint8Array(count * 8);
    const v = new DataView(b.buffer);
    const fds = this.h.proc.fds.list();
    for (let i = 0; i < count; i++) {
      const choice = Math.floor(r() * 10);
      const word =
        choice === 0 ? 0n
        : choice === 1 ? 1n
        : choice === 2 ? TWO64 - 1n
        : choice === 3 ? BigInt(Math.floor(r() * 64))
        : choice === 4 ? BigInt(fds.length ? pick(fds, Math.floor(r() * 1e6)) : 0) | (BigInt(Math.floor(r() * 8)) << 32n)
        : choice === 5 ? BigInt(ARENA + Math.floor(r() * 256) * 16)
        : choice === 6 ? BigInt(Math.floor(r() * 2 ** 32)) | (BigInt(Math.floor(r() * 2 ** 32)) << 32n)
        : choice === 7 ? 4096n
        : choice === 8 ? 1n << BigInt(Math.floor(r() * 64))
        : BigInt(Math.floor(r() * 2 ** 31));
      v.setBigUint64(i * 8, word, true);
    }
    return b;
  }

  private timespec(n: number): Uint8Array {
    const pairs: [bigint, bigint][] = [
      [0n, 0n], [0n, 1n], [1n, 0n], [0n, 999_999_999n], [0n, 1_000_000_000n], [TWO64 - 1n, 0n], [0n, TWO64 - 1n],
      [1n << 62n, 0n], [(1n << 63n) - 1n, 999_999_999n], [1n << 63n, 0n], [BigInt(n % 100), BigInt(n % 1_000_000_000)],
    ];
    const [sec, nsec] = pick(pairs, n);
    const b = new Uint8Array(32);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, sec, true);
    v.setBigUint64(8, nsec, true);
    v.setBigUint64(16, sec, true); // a second timespec (utimensat, itimerspec)
    v.setBigUint64(24, nsec, true);
    return b;
  }

  private iovec(spec: ArgSpec): bigint {
    const n = spec.n;
    if (spec.cls >= 8 && spec.cls <= 12) return this.pointer({ ...spec, cls: [1, 2, 3, 4, 9][spec.cls - 8]! }, () => new Uint8Array(0));
    const r = prng(n);
    const count = 1 + (n % 4);
    const b = new Uint8Array(count * 16);
    const v = new DataView(b.buffer);
    for (let i = 0; i < count; i++) {
      const base = this.pointer({ cls: Math.floor(r() * 16), n: Math.floor(r() * 2 ** 32), raw: 0n }, () => new Uint8Array(256).fill(0x62));
      const len = pick([0n, 16n, 256n, 4096n, TWO64 - 1n, 1n << 63n, 0x7ffff000n, 100000n], Math.floor(r() * 8));
      v.setBigUint64(i * 16, base, true);
      v.setBigUint64(i * 16 + 8, len, true);
    }
    return BigInt(this.put(b));
  }

  private size(spec: ArgSpec): bigint {
    const n = spec.n;
    switch (spec.cls) {
      case 0:
        return 0n;
      case 1:
        return BigInt(1 + (n % 64));
      case 2:
        return 4096n;
      case 3:
        return TWO64 - 1n;
      case 4:
        return TWO64 - 4096n;
      case 5:
        return 1n << 63n;
      case 6:
        return 1n << 32n;
      case 7:
        return 1n << 31n;
      case 8:
        return spec.raw;
      case 9:
        return 0x7ffff000n;
      case 10:
        return BigInt(n % 65536);
      case 11:
        return 1n << 47n;
      case 12:
        return 8n; // sizeof(sigset_t): what rt_sig* calls insist on
      case 13:
        return 16n;
      default:
        return BigInt(n % 512);
    }
  }

  private s64(spec: ArgSpec): bigint {
    const n = spec.n;
    switch (spec.cls) {
      case 0:
        return 0n;
      case 1:
        return TWO64 - 1n;
      case 2:
        return BigInt(n % 8192);
      case 3:
        return 1n << 62n;
      case 4:
        return 1n << 63n; // INT64_MIN
      case 5:
        return (1n << 63n) - 1n;
      case 6:
        return spec.raw;
      case 7:
        return TWO64 - 4096n;
      case 8:
        return BigInt((n % 64) * 4096);
      default:
        return BigInt(n % 100);
    }
  }

  private s32(kind: ArgKind, spec: ArgSpec): bigint {
    const n = spec.n;
    const highJunk = (v: number): bigint => u64(v) | (spec.raw & 0xffff_ffff_0000_0000n);
    switch (spec.cls) {
      case 0:
        return 0n;
      case 1:
        return 1n;
      case 2:
        return u64(-1);
      case 3:
        return BigInt(n % 64);
      case 4:
        return u64(-2147483648);
      case 5:
        return 0x7fffffffn;
      case 6:
        return spec.raw;
      case 7:
        return highJunk(n % 16); // a small value with garbage in the upper half of the register
      case 8:
        return u64((n % 200) - 100);
      default: {
        const pool = this.constants(kind);
        return pool.length > 0 ? u64(pick(pool, n)) : BigInt(n % 32);
      }
    }
  }

  private u32(kind: ArgKind, spec: ArgSpec): bigint {
    const n = spec.n;
    const pool = this.constants(kind);
    const r = prng(n);
    const some = (): number => (pool.length > 0 ? pick(pool, Math.floor(r() * 1e9)) : Math.floor(r() * 16));
    switch (spec.cls) {
      case 0:
        return 0n;
      case 1:
        return BigInt(some() >>> 0);
      case 2:
        return BigInt((some() | some() | some()) >>> 0);
      case 3:
        return BigInt((some() | (1 << (n % 32))) >>> 0); // an unknown bit, most likely
      case 4:
        return 0xffffffffn;
      case 5:
        return spec.raw;
      case 6:
        return BigInt(n & 0xfff);
      case 7:
        return BigInt(n % 0o10000);
      case 8:
        return BigInt(n >>> 0);
      case 9:
      case 10:
      case 11: {
        const typical = this.typical(kind);
        return BigInt((typical.length > 0 ? pick(typical, n) : some()) >>> 0);
      }
      case 12:
        return BigInt(some() >>> 0);
      default:
        return BigInt((some() | some()) >>> 0);
    }
  }

  /** Combinations real programs pass, so calls get past their flag checks into the code behind (the kind's `fuzz.typical`). */
  private typical(kind: ArgKind): readonly number[] {
    const fuzz = KINDS[kind].fuzz;
    return 'typical' in fuzz && fuzz.typical ? fuzz.typical(this.flags) : [];
  }

  /** The arch's flag and value tables. */
  private get flags(): ArchFlags {
    return archFlags(ARCHES[this.arch]);
  }
  private constantCache = new Map<ArgKind, readonly number[]>();
  /** Real values for a kind on this arch: its known values and flag bits (O_* for open flags, MAP_* for mmap flags...). */
  private constants(kind: ArgKind): readonly number[] {
    let pool = this.constantCache.get(kind);
    if (!pool) {
      pool = knownValues(kind, this.flags);
      this.constantCache.set(kind, pool);
    }
    return pool;
  }

  // -- running --

  /** The register values for a call, in argument order. */
  argsFor(decl: SyscallDecl, call: CallSpec): bigint[] {
    const kinds = argLayout(decl, this.arch).kinds;
    return kinds.map((kind, i) => this.resolve(kind, call.args[i] ?? { cls: 0, n: 0, raw: 0n }));
  }

  /**
   * A headless kernel sleeps in place (Kernel.invokeAs), so a fuzzed
   * nanosleep of 2^62 ns would stall the fuzzer for good: a valid request
   * (of a `sleep` kind) longer than 2 ms is shortened to 0.1 ms in guest
   * memory, wherever the drawn pointer points. Invalid requests (negative,
   * nsec out of range) are left as they are.
   */
  private boundSleep(at: bigint): void {
    const addr = Number(at);
    const mem = this.h.mem;
    const m = mem.mappingAt(addr);
    if (!Number.isSafeInteger(addr) || !m || !m.bytes || addr + 16 > m.end) return;
    const b = Buffer.from(m.bytes.buffer, m.bytes.byteOffset + (addr - m.start), 16);
    const sec = b.readBigInt64LE(0);
    const nsec = b.readBigInt64LE(8);
    if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n || sec * 1_000_000_000n + nsec <= 2_000_000n) return;
    b.writeBigInt64LE(0n, 0);
    b.writeBigInt64LE(100_000n, 8);
  }

  /**
   * Make one call and check the per-call invariants: only a LinuxError may
   * escape the handler (the dispatcher turns anything else into a KernelBug),
   * and the result is a value >= 0 or -errno in [-4095, -1].
   */
  run(call: CallSpec): number {
    const decl = DECLS.get(call.name);
    if (!decl) throw new Error(`fuzz: no syscall ${call.name}`);
    this.restoreMemory();
    this.next = 0;
    const values = this.argsFor(decl, call);
    this.calls++;
    // rt_sigreturn reads its frame at the stack pointer: point it into the arena the arguments fill.
    this.h.proc.cpu.setSp(SIGRETURN_SP);
    let ret: number;
    this.watch.start();
    try {
      ret = this.h.k.invoke(call.name, values);
    } catch (e) {
      throw new FuzzFailure(`${describe(call.name, values)} threw: ${(e as Error)?.stack ?? String(e)}`);
    } finally {
      this.watch.stop();
    }
    // Children a call made (fork, clone) never run here: they die at once
    // (a zombie keeps no memory, and wait4 still finds it), so their copies
    // of the world's memory do not pile up over its calls.
    for (const p of this.h.k.liveProcesses()) if (p !== this.h.proc && !p.exited) p.killBySignal(9, false);
    if (!this.h.proc.exited) {
      try {
        this.restoreMemory();
      } catch (e) {
        if (!(e instanceof LinuxError)) throw e;
        this.spent = true;
      }
    }
    if (!Number.isSafeInteger(ret) || ret < -4095) throw new FuzzFailure(`${describe(call.name, values)} returned ${ret}: neither a value nor -errno`);
    return ret;
  }

  /** Run calls until one fails an invariant or the process is gone; the results, in order. */
  runAll(calls: readonly CallSpec[]): CallResult[] {
    const out: CallResult[] = [];
    for (const call of calls) {
      if (this.dead) break;
      out.push({ call: call.name, ret: this.run(call) });
    }
    return out;
  }

  /** The host-side invariants: nothing outside the temp mount was touched, read, created or changed. */
  checkHost(): void {
    const outside = this.watch.outside(this.hostRootReal);
    if (outside.length > 0) throw new FuzzFailure(`host paths outside the mount were accessed: ${outside.slice(0, 5).map((a) => `${a.op}(${a.path})`).join(', ')}`);
    const diff = diffTrees(this.before, this.snapshotOutside());
    if (diff) throw new FuzzFailure(`the host tree outside the mount changed:\n${diff}`);
    if (this.canaryInMemory()) throw new FuzzFailure('the text of a file outside the mount is in guest memory');
    this.watch.clear();
  }

  dispose(): void {
    this.watch.stop();
    this.h.cleanup();
  }
}

/** Run `calls` in a fresh world, check the host side, and throw FuzzFailure on any broken invariant. */
export function runInFreshWorld(arch: ArchName, calls: readonly CallSpec[], opts?: FuzzWorldOptions): CallResult[] {
  const world = new FuzzWorld(arch, opts);
  try {
    const results = world.runAll(calls);
    world.checkHost();
    return results;
  } finally {
    world.dispose();
  }
}

const DECLS = new Map(ALL_SYSCALLS.map((d) => [d.name, d]));

function u64(v: number): bigint {
  return BigInt.asUintN(64, BigInt(v));
}

function topHalf(n: number): bigint {
  return pick([0xffff_8000_0000_0000n, 1n << 63n, 0xffff_ffff_ffff_f000n, 0x0000_8000_0000_0000n, 1n << 53n], n) + BigInt((n >>> 3) % 4096);
}

export function describe(name: string, values: readonly bigint[]): string {
  return `${name}(${values.map((v) => '0x' + v.toString(16)).join(', ')})`;
}

/** A call as source text, for a regression test or a report. */
export function showCall(call: CallSpec): string {
  return `{ name: '${call.name}', args: [${call.args.map((a) => `{ cls: ${a.cls}, n: ${a.n}, raw: ${a.raw}n }`).join(', ')}] }`;
}

// ---- fast-check arbitraries -------------------------------------------------------------

export const argSpecArb: fc.Arbitrary<ArgSpec> = fc.record({
  cls: fc.nat({ max: 15 }),
  n: fc.nat({ max: 0xffff_ffff }),
  raw: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
});

// ---- rename, symlink and fd interleavings ------------------------------------------------

/**
 * The swap world's paths (FuzzWorldOptions.swaps): the subjects and their
 * new names, then where a symlink put in a subject's place may lead. The
 * world appends the sentinel's absolute paths.
 */
const SWAP_POOL = ['sw', 'sw2', 'swf', 'swf2', '/', '..', '../sentinel', 'dir-out', 'root-link', '.', 'sw/sub', '/proc/self/fd/9/..', '/work/sw'];
/** Names a dirfd-relative call uses: the sentinel has them too, so a dirfd that leaked there would reach its files. */
const SWAP_RELATIVE = ['secret.txt', 'sub', 'sub/inner.txt', 'new', '.', '..', 'sub/../secret.txt', ''];
/** Argument classes with a meaning of their own in the swap world: the newest open fd; a SWAP_RELATIVE name. */
const SWAP_NEWEST_FD = 12;
const SWAP_RELATIVE_PATH = 1;

/**
 * What follows a swap: calls through the fds, dirfd-relative or on the fd
 * itself (fchmod, futimens, ftruncate, getdents, read, write), more renames
 * and symlinks, and opens through what is open.
 */
const SWAP_CALLS = [
  'openat', 'openat', 'openat', 'renameat', 'renameat2', 'symlinkat', 'unlinkat', 'mkdirat', 'linkat', 'fchmodat', 'fchmod',
  'utimensat', 'ftruncate', 'fsync', 'fchownat', 'newfstatat', 'statx', 'readlinkat', 'getdents64', 'fchdir', 'read',
  'pread64', 'write', 'dup', 'faccessat',
];

/** Argument classes that keep a call on the subject: its fd, names the sentinel has, typical flags, valid buffers. */
const SWAP_CLASSES: Partial<Record<ArgKind, readonly number[]>> = {
  fd: [SWAP_NEWEST_FD, SWAP_NEWEST_FD, 0],
  dirfd: [SWAP_NEWEST_FD, SWAP_NEWEST_FD, 10, 0],
  path: [SWAP_RELATIVE_PATH, SWAP_RELATIVE_PATH, 0],
  open_flags: [9, 10, 11],
  at_flags: [0, 9, 10, 11],
  rename_flags: [0, 1],
  mode: [7],
  size: [2, 14],
  off: [2, 9],
  uint: [0, 3],
  statx_mask: [1, 4],
  struct_timespec_in: [0, 1],
};

function swapCallArb(decl: SyscallDecl): fc.Arbitrary<CallSpec> {
  const args = Object.values(decl.args).map((kind) =>
    fc.record({ cls: fc.constantFrom(...(SWAP_CLASSES[kind] ?? [0])), n: fc.nat({ max: 0xffff_ffff }), raw: fc.constant(0n) }),
  );
  return fc.tuple(...args).map((a) => ({ name: decl.name, args: a }));
}

const arg = (cls: number, n = 0): ArgSpec => ({ cls, n, raw: BigInt(n) });
const AT_FDCWD_ARG = arg(10);
const poolArg = (p: string): ArgSpec => arg(0, SWAP_POOL.indexOf(p));

/**
 * The swap itself: open `subject` (a directory, read-only or O_PATH; or a
 * file, read-write or O_PATH), rename it, and put a symlink to `target` in
 * its place. open_flags class 9 picks from the typical flags: 3 is
 * O_RDONLY|O_DIRECTORY, 4 O_PATH, 9 O_NONBLOCK|O_RDWR.
 */
function swap(subject: 'sw' | 'swf', flagsIndex: number, rename: 'renameat' | 'renameat2', target: string): CallSpec[] {
  const moved = `${subject}2`;
  const renameArgs = [AT_FDCWD_ARG, poolArg(subject), AT_FDCWD_ARG, poolArg(moved)];
  return [
    { name: 'openat', args: [AT_FDCWD_ARG, poolArg(subject), arg(9, flagsIndex), arg(7, 0o644)] },
    { name: rename, args: rename === 'renameat2' ? [...renameArgs, arg(0)] : renameArgs },
    { name: 'symlinkat', args: [poolArg(target), AT_FDCWD_ARG, poolArg(subject)] },
  ];
}

const swapArb: fc.Arbitrary<CallSpec[]> = fc
  .tuple(
    fc.constantFrom(['sw', 3], ['sw', 4], ['swf', 9], ['swf', 4]) as fc.Arbitrary<['sw' | 'swf', number]>,
    fc.constantFrom('renameat' as const, 'renameat2' as const),
    fc.constantFrom('/', '..', '../sentinel', 'dir-out', 'root-link'),
  )
  .map(([[subject, flags], rename, target]) => swap(subject, flags, rename, target));

/**
 * Sequences for a world made with { swaps: true }: one or two swaps, each
 * followed by calls through the fds (SWAP_CALLS declared on `arch`).
 */
export function swapSequenceArb(arch: ArchName, maxFollowUps: number): fc.Arbitrary<CallSpec[]> {
  const on = new Set(declaredOn(arch).map((d) => d.name));
  const followUp = fc.oneof(...SWAP_CALLS.filter((n) => on.has(n)).map((n) => swapCallArb(DECLS.get(n)!)));
  const round = fc.tuple(swapArb, fc.array(followUp, { minLength: 1, maxLength: maxFollowUps })).map(([s, f]) => [...s, ...f]);
  return fc.array(round, { minLength: 1, maxLength: 2 }).map((rounds) => rounds.flat());
}

/** Arguments for one declared syscall: one ArgSpec per declared argument. */
export function callArb(decl: SyscallDecl): fc.Arbitrary<CallSpec> {
  const count = Object.keys(decl.args).length;
  return fc.array(argSpecArb, { minLength: count, maxLength: count }).map((args) => ({ name: decl.name, args }));
}

/** A call to any of `decls`. */
export function anyCallArb(decls: readonly SyscallDecl[]): fc.Arbitrary<CallSpec> {
  return fc.constantFrom(...decls).chain(callArb);
}

// ---- bytes -> calls (the Jazzer decoder) ------------------------------------------------

/**
 * Decode a byte stream into calls for `syscalls`: one byte picks the
 * syscall, then per argument one byte for the class (high bit: a raw
 * 64-bit register follows) and four bytes for n. Short input ends the list.
 */
export function decodeCalls(data: Uint8Array, syscalls: readonly SyscallDecl[], maxCalls = 64): CallSpec[] {
  const calls: CallSpec[] = [];
  let at = 0;
  const byte = (): number | null => (at < data.length ? data[at++]! : null);
  const u32 = (): number => {
    let v = 0;
    for (let i = 0; i < 4; i++) v = (v | ((byte() ?? 0) << (8 * i))) >>> 0;
    return v;
  };
  while (calls.length < maxCalls) {
    const which = byte();
    if (which === null) break;
    const decl = syscalls[which % syscalls.length]!;
    const args: ArgSpec[] = [];
    for (let i = 0; i < Object.keys(decl.args).length; i++) {
      const c = byte() ?? 0;
      const n = u32();
      const raw = c & 0x80 ? BigInt(u32()) | (BigInt(u32()) << 32n) : BigInt(n);
      args.push({ cls: c & 15, n, raw });
    }
    calls.push({ name: decl.name, args });
  }
  return calls;
}

/** The inverse of decodeCalls, for writing seed corpus files. */
export function encodeCalls(calls: readonly CallSpec[], syscalls: readonly SyscallDecl[]): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number): void => {
    for (let i = 0; i < 4; i++) out.push((v >>> (8 * i)) & 0xff);
  };
  for (const call of calls) {
    const index = syscalls.findIndex((d) => d.name === call.name);
    if (index < 0 || index > 255) throw new Error(`encodeCalls: ${call.name} has no one-byte index`);
    out.push(index);
    for (const a of call.args) {
      const raw = a.raw !== BigInt(a.n);
      out.push((a.cls & 15) | (raw ? 0x80 : 0));
      u32(a.n);
      if (raw) {
        u32(Number(a.raw & 0xffffffffn));
        u32(Number(a.raw >> 32n));
      }
    }
  }
  return Uint8Array.from(out);
}
