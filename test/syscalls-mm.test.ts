// The memory syscalls (syscalls/mm.ts) through a headless kernel on both
// arches: brk, mmap, munmap, mprotect, mremap, madvise, msync, and the
// per-process memory limit. Results are what the guest would see: an
// address or 0, or -errno.
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from '../src/kernel/memory.ts';
import { ARCH_NAMES, headless, SCRATCH_BASE, type Headless } from './helpers/headless.ts';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const PROT_SEM = 0x8;
const PROT_GROWSDOWN = 0x0100_0000;
const PROT_GROWSUP = 0x0200_0000;
const MAP_32BIT = 0x40;
const MADV_NORMAL = 0;
const MADV_WILLNEED = 3;
const MADV_FREE = 8;
const MADV_REMOVE = 9;
const MS_ASYNC = 1;
const MS_INVALIDATE = 2;
const MS_SYNC = 4;

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe.each(ARCH_NAMES)('memory syscalls on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch);
  });
  afterEach(() => t.cleanup());

  /** mmap of anonymous private memory; returns the address (or -errno). */
  const anon = (length: number, prot = RW, extraFlags = 0, addr = 0): number =>
    t.call('mmap', addr, length, prot, t.c.MAP_PRIVATE | t.c.MAP_ANONYMOUS | extraFlags, -1, 0);

  /** The mappings other than the helper's scratch region, as [start, end, prot]. */
  const maps = (from = 0, to = Number.MAX_SAFE_INTEGER): [number, number, number][] =>
    t.mem
      .mappings()
      .filter((m) => m.start !== SCRATCH_BASE && m.start < to && m.end > from)
      .map((m) => [m.start, m.end, m.prot]);

  /** Three adjacent free pages' worth of address, for tests that place things with MAP_FIXED. */
  const FIXED = 0x4000_0000;

  describe('brk', () => {
    const START = 0x80_0000;
    beforeEach(() => t.mem.setBrkStart(START));

    it('brk(0) returns the current break', () => {
      expect(t.call('brk', 0)).toBe(START);
    });

    it('grows with zeroed, writable [heap] pages', () => {
      expect(t.call('brk', START + 2 * P + 10)).toBe(START + 2 * P + 10);
      expect(t.call('brk', 0)).toBe(START + 2 * P + 10);
      expect(maps(START, START + 16 * P)).toEqual([[START, START + 3 * P, RW]]);
      expect(t.mem.mappingAt(START)!.name).toBe('[heap]');
      expect(t.read(START, 3 * P).every((b) => b === 0)).toBe(true);
      t.mem.write(START + 2 * P, bytes('heap'));
      expect(t.read(START + 2 * P, 4)).toEqual(bytes('heap'));
    });

    it('shrinks, unmapping the pages above the new break', () => {
      t.call('brk', START + 4 * P);
      expect(t.call('brk', START + P)).toBe(START + P);
      expect(maps(START, START + 16 * P)).toEqual([[START, START + P, RW]]);
      expect(t.call('read', 0, START + 2 * P, 1)).toBe(t.errno('EFAULT'));
    });

    it('below the start of the heap returns the old break instead of failing', () => {
      t.call('brk', START + P);
      expect(t.call('brk', START - P)).toBe(START + P);
      expect(t.call('brk', 1)).toBe(START + P);
      expect(maps(START, START + 16 * P)).toEqual([[START, START + P, RW]]);
    });

    it('returns the old break when the pages above are taken', () => {
      expect(anon(P, RW, t.c.MAP_FIXED, START + 4 * P)).toBe(START + 4 * P);
      expect(t.call('brk', START + 8 * P)).toBe(START);
      expect(t.call('brk', START + 4 * P)).toBe(START + 4 * P);
    });
  });

  describe('mmap', () => {
    it('anonymous memory: page-aligned, zeroed, top-down', () => {
      const a = anon(8192);
      expect(a).toBeGreaterThan(0);
      expect(a % P).toBe(0);
      expect(t.read(a, 8192).every((b) => b === 0)).toBe(true);
      t.mem.write(a, bytes('x'));
      const b = anon(100);
      expect(b).toBe(a - P); // right below, length rounded up to a page
      expect(maps(b, a + 2 * P)).toEqual([
        [b, b + P, RW],
        [a, a + 2 * P, RW],
      ]);
      const m = t.mem.mappingAt(a)!;
      expect(m.name).toBe('');
      expect(m.shared).toBe(false);
    });

    it('anonymous mappings ignore fd; MAP_SHARED|MAP_ANONYMOUS is marked shared', () => {
      expect(t.call('mmap', 0, P, RW, t.c.MAP_PRIVATE | t.c.MAP_ANONYMOUS, 1234, 0)).toBeGreaterThan(0);
      const s = t.call('mmap', 0, P, RW, t.c.MAP_SHARED | t.c.MAP_ANONYMOUS, -1, 0);
      expect(t.mem.mappingAt(s)!.shared).toBe(true);
    });

    it('a free hint is honoured (rounded down to a page); a taken one is not', () => {
      expect(anon(P, RW, 0, FIXED + 123)).toBe(FIXED);
      const other = anon(P, RW, 0, FIXED);
      expect(other).not.toBe(FIXED);
      expect(other).toBeGreaterThan(0);
    });

    it('PROT_NONE reserves address space without memory', () => {
      const a = anon(1 << 30, PROT_NONE);
      expect(a).toBeGreaterThan(0);
      expect(t.mem.committed).toBe(4 << 20); // just the scratch region
      expect(t.call('read', 0, a, 1)).toBe(t.errno('EFAULT'));
    });

    it('MAP_FIXED replaces part of an existing mapping', () => {
      expect(anon(3 * P, RW, t.c.MAP_FIXED, FIXED)).toBe(FIXED);
      t.mem.write(FIXED, bytes('one'));
      t.mem.write(FIXED + P, bytes('two'));
      t.mem.write(FIXED + 2 * P, bytes('six'));
      expect(anon(P, PROT_READ, t.c.MAP_FIXED, FIXED + P)).toBe(FIXED + P);
      expect(maps(FIXED, FIXED + 3 * P)).toEqual([
        [FIXED, FIXED + P, RW],
        [FIXED + P, FIXED + 2 * P, PROT_READ],
        [FIXED + 2 * P, FIXED + 3 * P, RW],
      ]);
      expect(t.read(FIXED, 3)).toEqual(bytes('one'));
      expect(t.read(FIXED + P, 3)).toEqual(new Uint8Array(3));
      expect(t.read(FIXED + 2 * P, 3)).toEqual(bytes('six'));
    });

    it('MAP_FIXED_NOREPLACE: EEXIST over a mapping, fine on free space', () => {
      expect(anon(P, RW, t.c.MAP_FIXED, FIXED + P)).toBe(FIXED + P);
      expect(anon(2 * P, RW, t.c.MAP_FIXED_NOREPLACE, FIXED)).toBe(t.errno('EEXIST'));
      expect(maps(FIXED, FIXED + 3 * P)).toEqual([[FIXED + P, FIXED + 2 * P, RW]]);
      expect(anon(P, RW, t.c.MAP_FIXED_NOREPLACE, FIXED)).toBe(FIXED);
    });

    it('EINVAL: length 0, no MAP_PRIVATE/MAP_SHARED, bad MAP_TYPE bits, unaligned offset or fixed address', () => {
      const { MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE } = t.c;
      expect(t.call('mmap', 0, 0, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mmap', 0, P, RW, MAP_ANONYMOUS, -1, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mmap', 0, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | 0x4, -1, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mmap', 0, P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 100)).toBe(t.errno('EINVAL'));
      expect(t.call('mmap', FIXED + 1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mmap', FIXED + 1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)).toBe(t.errno('EINVAL'));
    });

    it('ENOMEM for more than user space, or a fixed range running past its end', () => {
      const top = t.k.arch.layout.taskSize;
      expect(anon(top + P)).toBe(t.errno('ENOMEM'));
      expect(t.call('mmap', 0, -1, RW, t.c.MAP_PRIVATE | t.c.MAP_ANONYMOUS, -1, 0)).toBe(t.errno('ENOMEM'));
      expect(anon(2 * P, RW, t.c.MAP_FIXED, top - P)).toBe(t.errno('ENOMEM'));
    });

    it('EPERM for a fixed address below mmap_min_addr', () => {
      expect(anon(P, RW, t.c.MAP_FIXED, 0)).toBe(t.errno('EPERM'));
      expect(anon(P, RW, t.c.MAP_FIXED, 0x1000)).toBe(t.errno('EPERM'));
    });

    it('a private file mapping holds the file contents, zero to the end of the last page, nothing past it', () => {
      const content = Buffer.alloc(P + 100);
      content.write('first page', 0);
      content.write('second page', P);
      t.writeHost('data.bin', content);
      const fd = t.open('data.bin', t.c.O_RDONLY);
      expect(fd).toBeGreaterThanOrEqual(0);
      const a = t.call('mmap', 0, 3 * P, PROT_READ, t.c.MAP_PRIVATE, fd, 0);
      expect(a).toBeGreaterThan(0);
      expect(t.text(a, 10)).toBe('first page');
      expect(t.text(a + P, 11)).toBe('second page');
      expect(t.read(a + P + 100, P - 100).every((b) => b === 0)).toBe(true);
      // Whole pages past the end of the file are not backed: the guest gets SIGBUS there
      // (see mmap(2)), and the kernel's own copies fail.
      expect(() => t.read(a + 2 * P, 1)).toThrow();
      const m = t.mem.mappingAt(a)!;
      expect(m.name).toBe('/work/data.bin');
      expect(m.offset).toBe(0);
      // With an offset: the mapping starts at that page of the file.
      const b = t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, fd, P);
      expect(t.text(b, 11)).toBe('second page');
      expect(t.mem.mappingAt(b)!.offset).toBe(P);
      // An offset past the end of the file maps, but touching it is SIGBUS.
      const c = t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, fd, 4 * P);
      expect(c).toBeGreaterThan(0);
      expect(() => t.read(c, 1)).toThrow();
    });

    it('writing to a private file mapping leaves the file alone', () => {
      t.writeHost('f.txt', 'original');
      const fd = t.open('f.txt', t.c.O_RDWR);
      const a = t.call('mmap', 0, P, RW, t.c.MAP_PRIVATE, fd, 0);
      t.mem.write(a, bytes('CHANGED!'));
      expect(t.text(a, 8)).toBe('CHANGED!');
      expect(t.readHost('f.txt')).toBe('original');
    });

    it('a PROT_NONE file mapping shows the file once made readable', () => {
      t.writeHost('f.txt', 'hidden');
      const fd = t.open('f.txt', t.c.O_RDONLY);
      const a = t.call('mmap', 0, P, PROT_NONE, t.c.MAP_PRIVATE, fd, 0);
      expect(t.call('mprotect', a, P, PROT_READ)).toBe(0);
      expect(t.text(a, 6)).toBe('hidden');
    });

    it('MAP_SHARED read-only file mappings work; writable ones on a read-only fd are EACCES', () => {
      t.writeHost('f.txt', 'shared');
      const fd = t.open('f.txt', t.c.O_RDONLY);
      const a = t.call('mmap', 0, P, PROT_READ, t.c.MAP_SHARED, fd, 0);
      expect(t.text(a, 6)).toBe('shared');
      expect(t.mem.mappingAt(a)!.shared).toBe(true);
      expect(t.call('mmap', 0, P, RW, t.c.MAP_SHARED, fd, 0)).toBe(t.errno('EACCES'));
      // Nor can mprotect make it writable later (mprotect(2), EACCES), not even part of
      // a range; a private mapping of the same fd can (its writes are its own).
      expect(t.call('mprotect', a, P, RW)).toBe(t.errno('EACCES'));
      expect(t.call('mprotect', a, P, PROT_READ | PROT_EXEC)).toBe(0);
      expect(t.mem.mappingAt(a)!.prot).toBe(PROT_READ | PROT_EXEC);
      const priv = t.call('mmap', a + P, P, PROT_READ, t.c.MAP_PRIVATE | t.c.MAP_FIXED, fd, 0);
      expect(t.call('mprotect', a, 2 * P, RW)).toBe(t.errno('EACCES'));
      expect(t.call('mprotect', priv, P, RW)).toBe(0);
      // It stays so when the mapping moves.
      const moved = t.call('mremap', a, P, P, t.c.MREMAP_MAYMOVE | t.c.MREMAP_FIXED, a + 8 * P);
      expect(t.call('mprotect', moved, P, RW)).toBe(t.errno('EACCES'));
    });

    it('MAP_SHARED writable: changed pages reach the file at msync and munmap, only those, never past its end', () => {
      t.writeHost('s.bin', Buffer.alloc(2 * P + 10, 0x61));
      const fd = t.open('s.bin', t.c.O_RDWR);
      const a = t.call('mmap', 0, 3 * P, RW, t.c.MAP_SHARED, fd, 0);
      expect(a).toBeGreaterThan(0);
      t.mem.write(a + 1, bytes('ONE'));
      // A write(2) to another page meanwhile is not undone by the write-back (only changed pages go).
      t.writeHost('s.bin', Buffer.concat([Buffer.from('a'), Buffer.alloc(P - 1, 0x61), Buffer.from('host'), Buffer.alloc(P + 6, 0x61)]));
      expect(t.call('msync', a, P, MS_SYNC)).toBe(0);
      expect(t.readHost('s.bin').slice(0, 5)).toBe('aONEa');
      expect(t.readHost('s.bin').slice(P, P + 4)).toBe('host');
      // The last page holds the file's tail: what is written past the end stays in memory.
      t.mem.write(a + 2 * P + 8, bytes('END+MORE'));
      expect(t.call('munmap', a, 3 * P)).toBe(0);
      const after = t.readHost('s.bin');
      expect(after.length).toBe(2 * P + 10);
      expect(after.slice(2 * P + 8)).toBe('EN');
    });

    it('MAP_SHARED: mappings of one file agree after msync; MS_ASYNC writes too', () => {
      t.writeHost('s.txt', 'shared file');
      const fd = t.open('s.txt', t.c.O_RDWR);
      const a = t.call('mmap', 0, P, RW, t.c.MAP_SHARED, fd, 0);
      t.mem.write(a, bytes('SHARED'));
      expect(t.call('msync', a, P, MS_ASYNC)).toBe(0);
      expect(t.readHost('s.txt')).toBe('SHARED file');
      const b = t.call('mmap', 0, P, PROT_READ, t.c.MAP_SHARED, fd, 0);
      expect(t.text(b, 11)).toBe('SHARED file');
    });

    it('a private file mapping is copied when first touched: host writes before that are seen, after it are not', () => {
      t.writeHost('p.txt', 'version 1');
      const fd = t.open('p.txt', t.c.O_RDONLY);
      const a = t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, fd, 0);
      expect(t.mem.mappingAt(a)!.bytes).toBeNull();
      t.writeHost('p.txt', 'version 2');
      expect(t.text(a, 9)).toBe('version 2');
      t.writeHost('p.txt', 'version 3');
      expect(t.text(a, 9)).toBe('version 2');
    });

    it('a private file mapping outlives its fd; MADV_DONTNEED reads the file again', () => {
      t.writeHost('p.txt', 'from file');
      const fd = t.open('p.txt', t.c.O_RDWR);
      const a = t.call('mmap', 0, P, RW, t.c.MAP_PRIVATE, fd, 0);
      expect(t.call('close', fd)).toBe(0);
      t.mem.write(a, bytes('FROM'));
      expect(t.text(a, 9)).toBe('FROM file');
      expect(t.call('madvise', a, P, t.c.MADV_DONTNEED)).toBe(0);
      expect(t.text(a, 9)).toBe('from file');
    });

    it('MAP_FIXED file mappings over a file reservation (what ld.so does), mprotect of a part', () => {
      const content = Buffer.alloc(3 * P);
      for (let i = 0; i < 3; i++) content.write(`segment ${i}`, i * P);
      t.writeHost('lib.so', content);
      const fd = t.open('lib.so', t.c.O_RDONLY);
      const base = t.call('mmap', 0, 4 * P, PROT_READ, t.c.MAP_PRIVATE, fd, 0);
      expect(t.call('mmap', base + P, P, PROT_READ | PROT_EXEC, t.c.MAP_PRIVATE | t.c.MAP_FIXED, fd, P)).toBe(base + P);
      expect(t.call('mmap', base + 2 * P, P, RW, t.c.MAP_PRIVATE | t.c.MAP_FIXED, fd, 2 * P)).toBe(base + 2 * P);
      expect(t.call('mprotect', base + 2 * P, P, PROT_READ)).toBe(0);
      expect([0, 1, 2].map((i) => t.text(base + i * P, 9))).toEqual(['segment 0', 'segment 1', 'segment 2']);
      expect(maps(base, base + 4 * P).map(([s, e, p]) => [s - base, e - base, p])).toEqual([
        [0, P, PROT_READ],
        [P, 2 * P, PROT_READ | PROT_EXEC],
        [2 * P, 3 * P, PROT_READ],
        [3 * P, 4 * P, PROT_NONE],
      ]);
      expect(t.mem.mappings().filter((m) => m.start >= base && m.start < base + 3 * P).map((m) => m.offset)).toEqual([0, P, 2 * P]);
    });

    it.runIf(existsSync('/proc/self/fd'))('a file mapping holds its file while mapped, and only then: open, mmap, close, munmap x500 leave no host fd open', () => {
      t.writeHost('f.txt', 'x');
      const hostFds = (): number => readdirSync('/proc/self/fd').length;
      const before = hostFds();
      for (let i = 0; i < 500; i++) {
        const fd = t.open('f.txt', t.c.O_RDONLY);
        const a = t.call('mmap', 0, 2 * P, PROT_READ, t.c.MAP_PRIVATE, fd, 0);
        expect(t.call('close', fd)).toBe(0);
        expect(t.call('mprotect', a, P, PROT_NONE)).toBe(0); // a split: two pieces hold the file
        expect(hostFds()).toBeGreaterThan(before - 1);
        expect(t.call('munmap', a, 2 * P)).toBe(0);
      }
      expect(hostFds()).toBeLessThanOrEqual(before + 1);
    });

    it('EBADF for a bad fd or an O_PATH fd', () => {
      expect(t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, 99, 0)).toBe(t.errno('EBADF'));
      expect(t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, -1, 0)).toBe(t.errno('EBADF'));
      t.writeHost('f.txt', 'x');
      const fd = t.open('f.txt', t.c.O_PATH);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, fd, 0)).toBe(t.errno('EBADF'));
    });

    it('EACCES for a write-only fd, even for MAP_PRIVATE', () => {
      t.writeHost('f.txt', 'x');
      const fd = t.open('f.txt', t.c.O_WRONLY);
      expect(t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, fd, 0)).toBe(t.errno('EACCES'));
      expect(t.call('mmap', 0, P, PROT_READ, t.c.MAP_SHARED, fd, 0)).toBe(t.errno('EACCES'));
    });

    it('ENODEV for a directory and for a pipe', () => {
      const dir = t.open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
      expect(dir).toBeGreaterThanOrEqual(0);
      expect(t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, dir, 0)).toBe(t.errno('ENODEV'));
      const [r] = t.pipe();
      expect(t.call('mmap', 0, P, PROT_READ, t.c.MAP_PRIVATE, r, 0)).toBe(t.errno('ENODEV'));
    });

    it('MAP_32BIT places the mapping below 2 GiB on x86-64', () => {
      const a = anon(P, RW, MAP_32BIT);
      expect(a).toBeGreaterThan(0);
      if (arch === 'x86_64') {
        expect(a).toBeGreaterThanOrEqual(0x4000_0000);
        expect(a + P).toBeLessThanOrEqual(0x8000_0000);
      }
    });
  });

  describe('munmap', () => {
    beforeEach(() => {
      expect(anon(4 * P, RW, t.c.MAP_FIXED, FIXED)).toBe(FIXED);
    });

    it('removes the start or the end of a mapping', () => {
      expect(t.call('munmap', FIXED, P)).toBe(0);
      expect(t.call('munmap', FIXED + 3 * P, P)).toBe(0);
      expect(maps(FIXED, FIXED + 4 * P)).toEqual([[FIXED + P, FIXED + 3 * P, RW]]);
      expect(t.call('read', 0, FIXED, 1)).toBe(t.errno('EFAULT'));
    });

    it('a hole in the middle splits the mapping in two', () => {
      t.mem.write(FIXED, bytes('lo'));
      t.mem.write(FIXED + 3 * P, bytes('hi'));
      expect(t.call('munmap', FIXED + P, 2 * P)).toBe(0);
      expect(maps(FIXED, FIXED + 4 * P)).toEqual([
        [FIXED, FIXED + P, RW],
        [FIXED + 3 * P, FIXED + 4 * P, RW],
      ]);
      expect(t.read(FIXED, 2)).toEqual(bytes('lo'));
      expect(t.read(FIXED + 3 * P, 2)).toEqual(bytes('hi'));
    });

    it('rounds the length up; an unmapped range is no error', () => {
      expect(t.call('munmap', FIXED, 1)).toBe(0);
      expect(maps(FIXED, FIXED + 4 * P)).toEqual([[FIXED + P, FIXED + 4 * P, RW]]);
      expect(t.call('munmap', FIXED - 16 * P, 4 * P)).toBe(0);
    });

    it('EINVAL for an unaligned address, length 0, or a range past user space', () => {
      expect(t.call('munmap', FIXED + 1, P)).toBe(t.errno('EINVAL'));
      expect(t.call('munmap', FIXED, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('munmap', t.k.arch.layout.taskSize - P, 2 * P)).toBe(t.errno('EINVAL'));
      expect(maps(FIXED, FIXED + 4 * P)).toEqual([[FIXED, FIXED + 4 * P, RW]]);
    });
  });

  describe('mprotect', () => {
    beforeEach(() => {
      expect(anon(3 * P, RW, t.c.MAP_FIXED, FIXED)).toBe(FIXED);
    });

    it('changes the protection of part of a mapping, splitting it', () => {
      expect(t.call('mprotect', FIXED + P, P, PROT_READ | PROT_EXEC)).toBe(0);
      expect(maps(FIXED, FIXED + 3 * P)).toEqual([
        [FIXED, FIXED + P, RW],
        [FIXED + P, FIXED + 2 * P, PROT_READ | PROT_EXEC],
        [FIXED + 2 * P, FIXED + 3 * P, RW],
      ]);
    });

    it('ENOMEM when part of the range is not mapped', () => {
      expect(t.call('mprotect', FIXED, 4 * P, PROT_READ)).toBe(t.errno('ENOMEM'));
      expect(t.call('mprotect', FIXED - P, P, PROT_READ)).toBe(t.errno('ENOMEM'));
      expect(maps(FIXED, FIXED + 3 * P)).toEqual([[FIXED, FIXED + 3 * P, RW]]);
    });

    it('EINVAL for an unaligned address or unknown bits; length 0 is a no-op', () => {
      expect(t.call('mprotect', FIXED + 8, P, PROT_READ)).toBe(t.errno('EINVAL'));
      expect(t.call('mprotect', FIXED, P, 0x10)).toBe(t.errno('EINVAL'));
      expect(t.call('mprotect', FIXED, P, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP)).toBe(t.errno('EINVAL'));
      expect(t.call('mprotect', FIXED - 64 * P, 0, PROT_READ)).toBe(0);
      // PROT_SEM is accepted (and means nothing here).
      expect(t.call('mprotect', FIXED, P, PROT_READ | PROT_SEM)).toBe(0);
      expect(t.mem.mappingAt(FIXED)!.prot).toBe(PROT_READ);
    });

    it('the kernel honours it: write() from a read-only buffer works, read() into it is EFAULT', () => {
      t.mem.write(FIXED, bytes('payload'));
      expect(t.call('mprotect', FIXED, P, PROT_READ)).toBe(0);
      const fd = t.open('out.txt', t.c.O_CREAT | t.c.O_RDWR);
      expect(t.call('write', fd, FIXED, 7)).toBe(7);
      expect(t.readHost('out.txt')).toBe('payload');
      expect(t.call('lseek', fd, 0, 0)).toBe(0);
      expect(t.call('read', fd, FIXED, 7)).toBe(t.errno('EFAULT'));
      // Writable again: the read goes through.
      expect(t.call('mprotect', FIXED, P, RW)).toBe(0);
      expect(t.call('read', fd, FIXED + 8, 7)).toBe(7);
      expect(t.text(FIXED + 8, 7)).toBe('payload');
    });

    it('PROT_NONE: neither direction; the contents survive', () => {
      t.mem.write(FIXED, bytes('kept'));
      expect(t.call('mprotect', FIXED, P, PROT_NONE)).toBe(0);
      const fd = t.open('out.txt', t.c.O_CREAT | t.c.O_RDWR);
      expect(t.call('write', fd, FIXED, 4)).toBe(t.errno('EFAULT'));
      expect(t.call('mprotect', FIXED, P, PROT_READ)).toBe(0);
      expect(t.text(FIXED, 4)).toBe('kept');
    });
  });

  describe('mremap', () => {
    const { MREMAP_MAYMOVE: MAYMOVE, MREMAP_FIXED: MFIXED, MREMAP_DONTUNMAP: DONTUNMAP } = { MREMAP_MAYMOVE: 1, MREMAP_FIXED: 2, MREMAP_DONTUNMAP: 4 };

    beforeEach(() => {
      expect(anon(2 * P, RW, t.c.MAP_FIXED, FIXED)).toBe(FIXED);
      t.mem.write(FIXED, bytes('start'));
      t.mem.write(FIXED + P, bytes('second'));
    });

    it('uses the arch constants it is declared with', () => {
      expect([t.c.MREMAP_MAYMOVE, t.c.MREMAP_FIXED, t.c.MREMAP_DONTUNMAP]).toEqual([MAYMOVE, MFIXED, DONTUNMAP]);
    });

    it('shrinks in place', () => {
      expect(t.call('mremap', FIXED, 2 * P, P, 0, 0)).toBe(FIXED);
      expect(maps(FIXED, FIXED + 2 * P)).toEqual([[FIXED, FIXED + P, RW]]);
      expect(t.text(FIXED, 5)).toBe('start');
    });

    it('grows in place when the pages after are free', () => {
      expect(t.call('mremap', FIXED, 2 * P, 4 * P, 0, 0)).toBe(FIXED);
      expect(t.mem.isFullyMapped(FIXED, FIXED + 4 * P)).toBe(true);
      expect(t.text(FIXED + P, 6)).toBe('second');
      expect(t.read(FIXED + 2 * P, 2 * P).every((b) => b === 0)).toBe(true);
      t.mem.write(FIXED + 4 * P - 1, bytes('z'));
    });

    it('ENOMEM without MREMAP_MAYMOVE when the pages after are taken', () => {
      expect(anon(P, PROT_READ, t.c.MAP_FIXED, FIXED + 2 * P)).toBe(FIXED + 2 * P);
      expect(t.call('mremap', FIXED, 2 * P, 3 * P, 0, 0)).toBe(t.errno('ENOMEM'));
      expect(maps(FIXED, FIXED + 2 * P)).toEqual([[FIXED, FIXED + 2 * P, RW]]);
    });

    it('MREMAP_MAYMOVE moves the mapping, keeping its contents and protection', () => {
      expect(anon(P, PROT_READ, t.c.MAP_FIXED, FIXED + 2 * P)).toBe(FIXED + 2 * P);
      const to = t.call('mremap', FIXED, 2 * P, 3 * P, MAYMOVE, 0);
      expect(to).toBeGreaterThan(0);
      expect(to).not.toBe(FIXED);
      expect(t.text(to, 5)).toBe('start');
      expect(t.text(to + P, 6)).toBe('second');
      expect(t.read(to + 2 * P, P).every((b) => b === 0)).toBe(true);
      expect(t.mem.mappingAt(to)!.prot).toBe(RW);
      expect(t.mem.isFree(FIXED, FIXED + 2 * P)).toBe(true);
    });

    it('a move keeps the contents of memory that is not readable', () => {
      expect(t.call('mprotect', FIXED, 2 * P, PROT_NONE)).toBe(0);
      expect(anon(P, PROT_READ, t.c.MAP_FIXED, FIXED + 2 * P)).toBe(FIXED + 2 * P);
      const to = t.call('mremap', FIXED, 2 * P, 3 * P, MAYMOVE, 0);
      expect(to).toBeGreaterThan(0);
      expect(t.call('mprotect', to, 3 * P, PROT_READ)).toBe(0);
      expect(t.text(to + P, 6)).toBe('second');
    });

    it('MREMAP_FIXED moves to the given address, replacing what was there', () => {
      const dest = FIXED + 16 * P;
      expect(anon(P, PROT_READ, t.c.MAP_FIXED, dest)).toBe(dest);
      expect(t.call('mremap', FIXED, 2 * P, 2 * P, MAYMOVE | MFIXED, dest)).toBe(dest);
      expect(t.text(dest + P, 6)).toBe('second');
      expect(t.mem.mappingAt(dest)!.prot).toBe(RW);
      expect(t.mem.isFree(FIXED, FIXED + 2 * P)).toBe(true);
    });

    it('MREMAP_DONTUNMAP moves the contents and leaves the old range mapped and empty', () => {
      const to = t.call('mremap', FIXED, 2 * P, 2 * P, MAYMOVE | DONTUNMAP, 0);
      expect(to).toBeGreaterThan(0);
      expect(to).not.toBe(FIXED);
      expect(t.text(to, 5)).toBe('start');
      expect(t.mem.isFullyMapped(FIXED, FIXED + 2 * P)).toBe(true);
      expect(t.read(FIXED, 2 * P).every((b) => b === 0)).toBe(true);
    });

    it('EINVAL: unknown flags, FIXED or DONTUNMAP without MAYMOVE, DONTUNMAP resizing, size 0, unaligned, overlap', () => {
      expect(t.call('mremap', FIXED, P, P, 8, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mremap', FIXED, P, P, MFIXED, FIXED + 16 * P)).toBe(t.errno('EINVAL'));
      expect(t.call('mremap', FIXED, P, P, DONTUNMAP, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mremap', FIXED, P, 2 * P, MAYMOVE | DONTUNMAP, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mremap', FIXED, P, 0, MAYMOVE, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('mremap', FIXED + 1, P, P, 0, 0)).toBe(t.errno('EINVAL'));
      // old_size 0 would duplicate the mapping, which a private mapping cannot do.
      expect(t.call('mremap', FIXED, 0, P, MAYMOVE, 0)).toBe(t.errno('EINVAL'));
      // MREMAP_FIXED onto an overlapping or unaligned range.
      expect(t.call('mremap', FIXED, 2 * P, 2 * P, MAYMOVE | MFIXED, FIXED + P)).toBe(t.errno('EINVAL'));
      expect(t.call('mremap', FIXED, 2 * P, 2 * P, MAYMOVE | MFIXED, FIXED + 16 * P + 1)).toBe(t.errno('EINVAL'));
      expect(maps(FIXED, FIXED + 2 * P)).toEqual([[FIXED, FIXED + 2 * P, RW]]);
    });

    it('EFAULT when the old range is not (fully) mapped', () => {
      expect(t.call('mremap', FIXED - 8 * P, P, 2 * P, MAYMOVE, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('mremap', FIXED, 3 * P, 4 * P, MAYMOVE, 0)).toBe(t.errno('EFAULT'));
    });
  });

  describe('madvise', () => {
    it('MADV_DONTNEED zeroes private anonymous pages, not shared ones', () => {
      const priv = anon(2 * P);
      t.mem.write(priv, bytes('private'));
      t.mem.write(priv + P, bytes('other page'));
      expect(t.call('madvise', priv, P, t.c.MADV_DONTNEED)).toBe(0);
      expect(t.read(priv, 7)).toEqual(new Uint8Array(7));
      expect(t.text(priv + P, 10)).toBe('other page');
      const shared = t.call('mmap', 0, P, RW, t.c.MAP_SHARED | t.c.MAP_ANONYMOUS, -1, 0);
      t.mem.write(shared, bytes('shared'));
      expect(t.call('madvise', shared, P, t.c.MADV_DONTNEED)).toBe(0);
      expect(t.text(shared, 6)).toBe('shared');
    });

    it('harmless advice changes nothing', () => {
      const a = anon(P);
      t.mem.write(a, bytes('stay'));
      for (const advice of [MADV_NORMAL, 1, 2, MADV_WILLNEED, MADV_FREE]) expect(t.call('madvise', a, P, advice)).toBe(0);
      expect(t.text(a, 4)).toBe('stay');
    });

    it('MADV_FREE only on private anonymous memory; MADV_REMOVE only on shared writable memory', () => {
      const shared = t.call('mmap', 0, P, RW, t.c.MAP_SHARED | t.c.MAP_ANONYMOUS, -1, 0);
      const priv = anon(P);
      expect(t.call('madvise', shared, P, MADV_FREE)).toBe(t.errno('EINVAL'));
      expect(t.call('madvise', priv, P, MADV_REMOVE)).toBe(t.errno('EINVAL'));
      t.mem.write(shared, bytes('gone'));
      expect(t.call('madvise', shared, P, MADV_REMOVE)).toBe(0);
      expect(t.read(shared, 4)).toEqual(new Uint8Array(4));
    });

    it('EINVAL for unknown advice or an unaligned address; ENOMEM for unmapped pages; length 0 is fine', () => {
      const a = anon(P);
      expect(t.call('madvise', a, P, 999)).toBe(t.errno('EINVAL'));
      expect(t.call('madvise', a, P, 7)).toBe(t.errno('EINVAL'));
      expect(t.call('madvise', a + 1, P, MADV_NORMAL)).toBe(t.errno('EINVAL'));
      expect(t.call('madvise', a, 2 * P, MADV_NORMAL)).toBe(t.errno('ENOMEM'));
      expect(t.call('madvise', FIXED, P, t.c.MADV_DONTNEED)).toBe(t.errno('ENOMEM'));
      expect(t.call('madvise', FIXED, 0, MADV_NORMAL)).toBe(0);
    });
  });

  describe('msync', () => {
    it('succeeds on mapped memory and for length 0', () => {
      const a = anon(2 * P);
      expect(t.call('msync', a, 2 * P, MS_SYNC)).toBe(0);
      expect(t.call('msync', a, 10, MS_ASYNC | MS_INVALIDATE)).toBe(0);
      expect(t.call('msync', FIXED, 0, MS_SYNC)).toBe(0);
    });

    it('EINVAL for unknown flags, MS_ASYNC|MS_SYNC, or an unaligned address', () => {
      const a = anon(P);
      expect(t.call('msync', a, P, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('msync', a, P, MS_ASYNC | MS_SYNC)).toBe(t.errno('EINVAL'));
      expect(t.call('msync', a + 1, P, MS_SYNC)).toBe(t.errno('EINVAL'));
    });

    it('ENOMEM when part of the range is unmapped', () => {
      const a = anon(P);
      expect(t.call('msync', a, 2 * P, MS_SYNC)).toBe(t.errno('ENOMEM'));
      expect(t.call('msync', FIXED, P, MS_SYNC)).toBe(t.errno('ENOMEM'));
    });
  });
});

describe.each(ARCH_NAMES)('the memory limit on %s', (arch) => {
  const LIMIT = 1 << 20;
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { memoryLimit: LIMIT, scratchSize: 64 << 10, hostDir: false });
  });
  afterEach(() => t.cleanup());

  const anon = (length: number, prot = RW): number => t.call('mmap', 0, length, prot, t.c.MAP_PRIVATE | t.c.MAP_ANONYMOUS, -1, 0);

  it('mmap beyond the limit is ENOMEM; within it works', () => {
    expect(anon(LIMIT)).toBe(t.errno('ENOMEM'));
    const a = anon(512 << 10);
    expect(a).toBeGreaterThan(0);
    expect(anon(512 << 10)).toBe(t.errno('ENOMEM'));
    expect(t.call('munmap', a, 512 << 10)).toBe(0);
    expect(anon(512 << 10)).toBeGreaterThan(0);
  });

  it('reserving PROT_NONE space is free; making it accessible counts', () => {
    const r = anon(1 << 30, PROT_NONE);
    expect(r).toBeGreaterThan(0);
    expect(t.call('mprotect', r, LIMIT, RW)).toBe(t.errno('ENOMEM'));
    expect(t.call('mprotect', r, 256 << 10, RW)).toBe(0);
    expect(t.mem.mappingAt(r + (256 << 10))!.prot).toBe(PROT_NONE);
  });

  it('growing with mremap beyond the limit fails and keeps the mapping, in place or moving', () => {
    const a = anon(P);
    t.mem.write(a, bytes('mine'));
    expect(t.call('mremap', a, P, 2 * LIMIT, 0, 0)).toBe(t.errno('ENOMEM'));
    expect(t.text(a, 4)).toBe('mine');
    // With the pages after taken, MREMAP_MAYMOVE would move it: the move fails, the old mapping stays.
    expect(t.call('mmap', a + P, P, PROT_READ, t.c.MAP_PRIVATE | t.c.MAP_ANONYMOUS | t.c.MAP_FIXED, -1, 0)).toBe(a + P);
    expect(t.call('mremap', a, P, LIMIT, t.c.MREMAP_MAYMOVE, 0)).toBe(t.errno('ENOMEM'));
    expect(t.text(a, 4)).toBe('mine');
    expect(t.mem.mappingAt(a)!.prot).toBe(RW);
    expect(t.mem.committed).toBe((64 << 10) + 2 * P);
  });

  it('brk beyond the limit returns the old break', () => {
    t.mem.setBrkStart(0x80_0000);
    expect(t.call('brk', 0x80_0000 + 2 * LIMIT)).toBe(0x80_0000);
    expect(t.call('brk', 0x80_0000 + P)).toBe(0x80_0000 + P);
  });
});
