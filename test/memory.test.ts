// AddressSpace (src/kernel/memory.ts) on its own, without a CPU: mappings,
// splitting, free-range search, guest memory access and its faults, brk, and
// the committed-memory accounting behind --memory-limit. One test uses a
// fake MemoryBackend to check what reaches the CPU.
import { errno } from './helpers/errno.ts';
import { describe, expect, it } from 'vitest';
import {
  AddressSpace,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  pageDown,
  pageUp,
  type AddressSpaceLayout,
  type MemoryBackend,
} from '../src/kernel/memory.ts';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const LAYOUT: AddressSpaceLayout = { mmapMin: 0x10000, mmapBase: 0x1000_0000, taskSize: 0x2000_0000 };

function space(memoryLimit?: number): AddressSpace {
  return new AddressSpace(LAYOUT, null, memoryLimit);
}

/** [start, end, prot] of every mapping, for compact comparisons. */
function layout(as: AddressSpace): [number, number, number][] {
  return as.mappings().map((m) => [m.start, m.end, m.prot]);
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('page arithmetic', () => {
  it('pageUp and pageDown round to 4096', () => {
    expect(pageUp(0)).toBe(0);
    expect(pageUp(1)).toBe(P);
    expect(pageUp(P)).toBe(P);
    expect(pageUp(P + 1)).toBe(2 * P);
    expect(pageDown(P - 1)).toBe(0);
    expect(pageDown(3 * P + 5)).toBe(3 * P);
  });
});

describe('map', () => {
  it('creates a zeroed, page-rounded mapping with its properties', () => {
    const as = space();
    const m = as.map(0x100000, 100, RW, { name: '/work/f', shared: true, offset: 8192 });
    expect(m).toMatchObject({ start: 0x100000, end: 0x101000, prot: RW, name: '/work/f', shared: true, offset: 8192 });
    expect(m.bytes?.length).toBe(P);
    expect(m.bytes?.every((b) => b === 0)).toBe(true);
    expect(as.mappingAt(0x100fff)).toBe(m);
    expect(as.mappingAt(0x101000)).toBeUndefined();
    expect(as.committed).toBe(P);
  });

  it('keeps mappings sorted by address', () => {
    const as = space();
    as.map(0x300000, P, RW);
    as.map(0x100000, P, RW);
    as.map(0x200000, P, RW);
    expect(as.mappings().map((m) => m.start)).toEqual([0x100000, 0x200000, 0x300000]);
  });

  it('EINVAL for an unaligned start, a non-positive length or an end past user space', () => {
    const as = space();
    expect(errno(() => as.map(0x100001, P, RW))).toBe('EINVAL');
    expect(errno(() => as.map(0x100000, 0, RW))).toBe('EINVAL');
    expect(errno(() => as.map(0x100000, -P, RW))).toBe('EINVAL');
    expect(errno(() => as.map(LAYOUT.taskSize - P, 2 * P, RW))).toBe('EINVAL');
    expect(as.mappings()).toHaveLength(0);
  });

  it('replaces what was there (MAP_FIXED semantics), splitting the old mapping', () => {
    const as = space();
    as.map(0x100000, 4 * P, RW);
    as.write(0x100000, bytes('keep'));
    as.write(0x101000, bytes('gone'));
    as.map(0x101000, 2 * P, PROT_READ);
    expect(layout(as)).toEqual([
      [0x100000, 0x101000, RW],
      [0x101000, 0x103000, PROT_READ],
      [0x103000, 0x104000, RW],
    ]);
    expect(as.read(0x100000, 4)).toEqual(bytes('keep'));
    expect(as.read(0x101000, 4)).toEqual(new Uint8Array(4));
    expect(as.committed).toBe(4 * P);
  });

  it('a PROT_NONE mapping is a reservation without host memory, unless backed', () => {
    const as = space();
    const r = as.map(0x100000, 16 * P, PROT_NONE);
    expect(r.bytes).toBeNull();
    expect(as.committed).toBe(0);
    const b = as.map(0x200000, P, PROT_NONE, { backed: true });
    expect(b.bytes?.length).toBe(P);
    expect(as.committed).toBe(P);
  });
});

describe('unmap', () => {
  it('removes whole mappings and trims partly covered ones', () => {
    const as = space();
    as.map(0x100000, 2 * P, RW);
    as.map(0x102000, 2 * P, PROT_READ);
    as.unmap(0x101000, 2 * P);
    expect(layout(as)).toEqual([
      [0x100000, 0x101000, RW],
      [0x103000, 0x104000, PROT_READ],
    ]);
    expect(as.committed).toBe(2 * P);
  });

  it('a hole in the middle splits a mapping in two that keep their bytes and file offsets', () => {
    const as = space();
    as.map(0x100000, 3 * P, RW, { name: '/f', offset: 0x10000 });
    as.write(0x100000, bytes('A'));
    as.write(0x102000, bytes('C'));
    as.unmap(0x101000, P);
    const [a, c] = as.mappings();
    expect([a!.start, a!.end, c!.start, c!.end]).toEqual([0x100000, 0x101000, 0x102000, 0x103000]);
    expect(a!.offset).toBe(0x10000);
    expect(c!.offset).toBe(0x12000);
    expect(c!.name).toBe('/f');
    expect(as.read(0x100000, 1)).toEqual(bytes('A'));
    expect(as.read(0x102000, 1)).toEqual(bytes('C'));
    expect(errno(() => as.read(0x101000, 1))).toBe('EFAULT');
    expect(as.committed).toBe(2 * P);
  });

  it('rounds the length up to whole pages, and an unmapped range is no error', () => {
    const as = space();
    as.map(0x100000, 2 * P, RW);
    as.unmap(0x100000, 1);
    expect(layout(as)).toEqual([[0x101000, 0x102000, RW]]);
    as.unmap(0x500000, P);
    expect(as.mappings()).toHaveLength(1);
  });

  it('clear drops everything', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x200000, P, PROT_NONE);
    as.clear();
    expect(as.mappings()).toHaveLength(0);
    expect(as.committed).toBe(0);
  });
});

describe('protect', () => {
  it('splits a mapping into up to three parts sharing host memory', () => {
    const as = space();
    const m = as.map(0x100000, 3 * P, RW);
    as.write(0x101000, bytes('mid'));
    as.protect(0x101000, P, PROT_READ);
    expect(layout(as)).toEqual([
      [0x100000, 0x101000, RW],
      [0x101000, 0x102000, PROT_READ],
      [0x102000, 0x103000, RW],
    ]);
    expect(as.read(0x101000, 3)).toEqual(bytes('mid'));
    // The parts are views of the same host memory.
    expect(as.mappingAt(0x101000)!.bytes!.buffer).toBe(m.bytes!.buffer);
    expect(as.committed).toBe(3 * P);
  });

  it('covers several mappings at once', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x101000, P, PROT_READ | PROT_EXEC);
    as.protect(0x100000, 2 * P, PROT_NONE);
    expect(layout(as)).toEqual([
      [0x100000, 0x101000, PROT_NONE],
      [0x101000, 0x102000, PROT_NONE],
    ]);
  });

  it('ENOMEM when any page of the range is unmapped, changing nothing', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x102000, P, RW);
    expect(errno(() => as.protect(0x100000, 3 * P, PROT_READ))).toBe('ENOMEM');
    expect(layout(as)).toEqual([
      [0x100000, 0x101000, RW],
      [0x102000, 0x103000, RW],
    ]);
  });

  it('PROT_NONE keeps the contents for a later mprotect back', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.write(0x100000, bytes('data'));
    as.protect(0x100000, P, PROT_NONE);
    expect(errno(() => as.read(0x100000, 4))).toBe('EFAULT');
    as.protect(0x100000, P, PROT_READ);
    expect(as.read(0x100000, 4)).toEqual(bytes('data'));
  });

  it('making a reservation accessible gives it zeroed host memory', () => {
    const as = space();
    as.map(0x100000, 4 * P, PROT_NONE);
    as.protect(0x101000, P, RW);
    expect(as.committed).toBe(P);
    expect(as.read(0x101000, 8)).toEqual(new Uint8Array(8));
    expect(as.mappingAt(0x100000)!.bytes).toBeNull();
    expect(as.mappingAt(0x102000)!.bytes).toBeNull();
  });
});

describe('isFree, isFullyMapped and findFree', () => {
  it('isFree: nothing mapped in the range, within [mmapMin, taskSize)', () => {
    const as = space();
    as.map(0x100000, P, RW);
    expect(as.isFree(0x101000, 0x102000)).toBe(true);
    expect(as.isFree(0x0ff000, 0x100000)).toBe(true);
    expect(as.isFree(0x0ff000, 0x100001)).toBe(false);
    expect(as.isFree(0x8000, 0x9000)).toBe(false); // below mmapMin
    expect(as.isFree(LAYOUT.taskSize - P, LAYOUT.taskSize + P)).toBe(false);
  });

  it('isFullyMapped: adjacent mappings count as one range; an empty range is mapped', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x101000, P, PROT_NONE);
    expect(as.isFullyMapped(0x100000, 0x102000)).toBe(true);
    expect(as.isFullyMapped(0x100000, 0x103000)).toBe(false);
    expect(as.isFullyMapped(0x0ff000, 0x101000)).toBe(false);
    expect(as.isFullyMapped(0x500000, 0x500000)).toBe(true);
  });

  it('findFree allocates top-down from mmapBase', () => {
    const as = space();
    const a = as.findFree(2 * P);
    expect(a).toBe(LAYOUT.mmapBase - 2 * P);
    as.map(a, 2 * P, RW);
    const b = as.findFree(P);
    expect(b).toBe(a - P);
  });

  it('findFree fills the highest gap that is big enough', () => {
    const as = space();
    const top = LAYOUT.mmapBase;
    as.map(top - P, P, RW);
    as.map(top - 3 * P, P, RW); // a one-page gap at top - 2P
    expect(as.findFree(P)).toBe(top - 2 * P);
    expect(as.findFree(2 * P)).toBe(top - 5 * P);
  });

  it('findFree honours a free hint (rounded down to a page) and ignores a taken one', () => {
    const as = space();
    expect(as.findFree(P, 0x400123)).toBe(0x400000);
    as.map(0x400000, P, RW);
    expect(as.findFree(P, 0x400000)).toBe(LAYOUT.mmapBase - P);
    expect(as.findFree(P, 0x8000)).toBe(LAYOUT.mmapBase - P); // below mmapMin
  });

  it('findFree within a range, and ENOMEM when nothing fits', () => {
    const as = space();
    expect(as.findFree(P, 0, { low: 0x40000, high: 0x80000 })).toBe(0x7f000);
    expect(errno(() => as.findFree(0x50000, 0, { low: 0x40000, high: 0x80000 }))).toBe('ENOMEM');
    expect(errno(() => as.findFree(LAYOUT.mmapBase))).toBe('ENOMEM');
  });
});

describe('reading and writing guest memory', () => {
  it('read and write within one mapping', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.write(0x100010, bytes('hello'));
    expect(as.read(0x100010, 5)).toEqual(bytes('hello'));
    // read returns a copy, not a view.
    const r = as.read(0x100010, 5);
    r[0] = 0;
    expect(as.read(0x100010, 1)).toEqual(bytes('h'));
  });

  it('across two adjacent mappings', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x101000, P, RW);
    const data = bytes('0123456789');
    as.write(0x101000 - 4, data);
    expect(as.read(0x101000 - 4, 10)).toEqual(data);
    expect(as.mappingAt(0x101000)!.bytes!.subarray(0, 6)).toEqual(bytes('456789'));
    expect(as.view(0x101000 - 4, 10, PROT_READ)).toBeNull(); // spans mappings: no single view
  });

  it('EFAULT on a hole, on PROT_NONE, and for the missing permission', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x102000, P, RW); // hole at 0x101000
    expect(errno(() => as.read(0x100ffc, 8))).toBe('EFAULT');
    expect(errno(() => as.write(0x100ffc, new Uint8Array(8)))).toBe('EFAULT');
    expect(errno(() => as.read(0x50000, 1))).toBe('EFAULT');
    as.map(0x200000, P, PROT_NONE);
    expect(errno(() => as.read(0x200000, 1))).toBe('EFAULT');
    as.map(0x300000, P, PROT_READ);
    expect(errno(() => as.write(0x300000, bytes('x')))).toBe('EFAULT');
    expect(as.read(0x300000, 1)).toEqual(new Uint8Array(1));
    expect(errno(() => as.read(-1, 1))).toBe('EFAULT');
    expect(errno(() => as.read(2 ** 60, 1))).toBe('EFAULT');
  });

  it('a write across into a read-only mapping writes nothing', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x101000, P, PROT_READ);
    expect(errno(() => as.write(0x100ffe, bytes('abcd')))).toBe('EFAULT');
    expect(as.read(0x100ffe, 2)).toEqual(new Uint8Array(2));
  });

  it('a zero-length access never faults', () => {
    const as = space();
    expect(as.read(0x50000, 0)).toEqual(new Uint8Array(0));
    as.write(0x50000, new Uint8Array(0));
  });

  it('typed reads and writes are little-endian', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.writeU32(0x100000, 0xdeadbeef);
    expect(as.readU32(0x100000)).toBe(0xdeadbeef);
    expect(as.readI32(0x100000)).toBe(0xdeadbeef | 0);
    expect(as.read(0x100000, 4)).toEqual(new Uint8Array([0xef, 0xbe, 0xad, 0xde]));
    as.writeU64(0x100008, 0x1234_5678_9abcn);
    expect(as.readU64(0x100008)).toBe(0x1234_5678_9abc);
    as.writeU64(0x100010, -2);
    expect(as.readBigU64(0x100010)).toBe(0xffff_ffff_ffff_fffen);
    expect(as.readI64(0x100010)).toBe(-2);
  });

  it('poke ignores PROT_WRITE (and PROT_NONE with memory) but not holes', () => {
    const as = space();
    as.map(0x100000, P, PROT_READ);
    as.poke(0x100000, bytes('ro'));
    expect(as.read(0x100000, 2)).toEqual(bytes('ro'));
    as.map(0x101000, P, PROT_READ);
    as.poke(0x100fff, bytes('xy')); // across two mappings
    expect(as.read(0x100fff, 2)).toEqual(bytes('xy'));
    expect(errno(() => as.poke(0x102000, bytes('z')))).toBe('EFAULT');
    as.map(0x200000, P, PROT_NONE);
    expect(errno(() => as.poke(0x200000, bytes('z')))).toBe('EFAULT'); // a reservation has no memory
    expect(as.pokeCString(0x100100, 'abc')).toBe(4);
    expect(as.readCString(0x100100)).toBe('abc');
  });
});

describe('readCString', () => {
  it('reads up to the NUL, also across mappings', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.map(0x101000, P, PROT_READ);
    as.poke(0x100ffd, bytes('abcdef\0'));
    expect(as.readCString(0x100ffd)).toBe('abcdef');
    expect(as.readCString(0x101000)).toBe('def');
  });

  it('ENAMETOOLONG without a NUL within max bytes; a NUL at max-1 is fine', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.write(0x100000, new Uint8Array(10).fill(0x61));
    expect(errno(() => as.readCString(0x100000, 10))).toBe('ENAMETOOLONG');
    expect(as.readCString(0x100000, 11)).toBe('a'.repeat(10));
    as.write(0x100000, bytes('a'.repeat(4095) + '\0'));
    expect(as.readCString(0x100000).length).toBe(4095);
  });

  it('EFAULT for NULL, a hole, PROT_NONE, or a string running into unmapped memory', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.write(0x100000, new Uint8Array(P).fill(0x61));
    expect(errno(() => as.readCString(0))).toBe('EFAULT');
    expect(errno(() => as.readCString(0x50000))).toBe('EFAULT');
    expect(errno(() => as.readCString(0x100ff0))).toBe('EFAULT');
    as.map(0x200000, P, PROT_NONE, { backed: true });
    expect(errno(() => as.readCString(0x200000))).toBe('EFAULT');
  });

  it('keeps bytes as latin1 (readCStringBytes gives them raw)', () => {
    const as = space();
    as.map(0x100000, P, RW);
    as.write(0x100000, new Uint8Array([0xc3, 0xa9, 0xff, 0]));
    expect(as.readCStringBytes(0x100000)).toEqual(new Uint8Array([0xc3, 0xa9, 0xff]));
    expect(as.readCString(0x100000)).toBe('\u00c3\u00a9\u00ff');
  });
});

describe('brk', () => {
  const START = 0x60_0000;

  it('grows with zeroed [heap] pages and shrinks back', () => {
    const as = space();
    as.setBrkStart(START);
    expect(as.brk(0)).toBe(START);
    expect(as.brk(START + 100)).toBe(START + 100);
    expect(layout(as)).toEqual([[START, START + P, RW]]);
    expect(as.mappingAt(START)!.name).toBe('[heap]');
    as.write(START + 50, bytes('x'));
    expect(as.brk(START + 3 * P + 1)).toBe(START + 3 * P + 1);
    expect(as.mappings().reduce((n, m) => n + (m.end - m.start), 0)).toBe(4 * P);
    expect(as.read(START + 50, 1)).toEqual(bytes('x'));
    expect(as.brk(START + P)).toBe(START + P);
    expect(as.isFullyMapped(START, START + P)).toBe(true);
    expect(as.isFree(START + P, START + 4 * P)).toBe(true);
    // Pages given back and taken again come back zeroed.
    expect(as.brk(START + 2 * P)).toBe(START + 2 * P);
    expect(as.read(START + P, 8)).toEqual(new Uint8Array(8));
    expect(as.brk(START)).toBe(START);
    expect(as.mappings()).toHaveLength(0);
  });

  it('below the start returns the current break instead of failing', () => {
    const as = space();
    as.setBrkStart(START);
    as.brk(START + P);
    expect(as.brk(START - P)).toBe(START + P);
    expect(as.brk(1)).toBe(START + P);
  });

  it('returns the old break when the pages are taken or the limit is reached', () => {
    const as = space(4 * P);
    as.setBrkStart(START);
    as.map(START + 2 * P, P, RW);
    expect(as.brk(START + 3 * P)).toBe(START);
    expect(as.brk(START + 2 * P)).toBe(START + 2 * P);
    as.unmap(START + 2 * P, P);
    expect(as.brk(START + 16 * P)).toBe(START + 2 * P);
    expect(as.brk(LAYOUT.taskSize + P)).toBe(START + 2 * P);
  });
});

describe('committed memory and the memory limit', () => {
  it('counts host memory of accessible mappings only', () => {
    const as = space();
    as.map(0x100000, 4 * P, RW);
    as.map(0x200000, 8 * P, PROT_NONE);
    expect(as.committed).toBe(4 * P);
    as.protect(0x200000, 2 * P, PROT_READ);
    expect(as.committed).toBe(6 * P);
    as.unmap(0x100000, P);
    expect(as.committed).toBe(5 * P);
    as.unmap(0x200000, 8 * P);
    expect(as.committed).toBe(3 * P);
  });

  it('ENOMEM beyond the limit; freeing memory makes room again', () => {
    const as = space(4 * P);
    as.map(0x100000, 3 * P, RW);
    expect(errno(() => as.map(0x200000, 2 * P, RW))).toBe('ENOMEM');
    expect(as.mappingAt(0x200000)).toBeUndefined();
    as.map(0x200000, P, RW);
    expect(as.committed).toBe(4 * P);
    // Replacing a mapping in place frees its memory first.
    as.map(0x100000, 3 * P, PROT_READ);
    as.unmap(0x100000, 3 * P);
    as.map(0x300000, 3 * P, RW);
    expect(as.committed).toBe(4 * P);
  });

  it('a reservation costs nothing until mprotect, which fails whole with ENOMEM', () => {
    const as = space(4 * P);
    as.map(0x100000, 64 * P, PROT_NONE);
    as.map(0x200000, 2 * P, RW);
    as.map(0x202000, P, PROT_NONE);
    as.map(0x203000, 2 * P, PROT_NONE);
    // 3 pages would be needed, 2 are left: nothing changes.
    expect(errno(() => as.protect(0x202000, 3 * P, RW))).toBe('ENOMEM');
    expect(as.committed).toBe(2 * P);
    expect(as.mappingAt(0x202000)!.bytes).toBeNull();
    expect(as.mappingAt(0x202000)!.prot).toBe(PROT_NONE);
    as.protect(0x203000, 2 * P, RW);
    expect(as.committed).toBe(4 * P);
  });
});

describe('with a CPU backend', () => {
  type Call = [op: string, addr: number, size: number, prot?: number];

  function recording(): { cpu: MemoryBackend; calls: Call[] } {
    const calls: Call[] = [];
    const cpu: MemoryBackend = {
      mapHost: (addr, bytes, prot) => void calls.push(['map', addr, bytes.length, prot]),
      unmap: (addr, size) => void calls.push(['unmap', addr, size]),
      protect: (addr, size, prot) => void calls.push(['protect', addr, size, prot]),
    };
    return { cpu, calls };
  }

  it('map, protect and unmap reach the CPU with the right ranges', () => {
    const { cpu, calls } = recording();
    const as = new AddressSpace(LAYOUT, cpu);
    as.map(0x100000, 3 * P, RW);
    expect(calls).toEqual([['map', 0x100000, 3 * P, RW]]);
    calls.length = 0;

    as.protect(0x101000, P, PROT_READ);
    expect(calls).toEqual([['protect', 0x101000, P, PROT_READ]]);
    calls.length = 0;

    as.unmap(0x100000, 2 * P);
    expect(calls).toEqual([
      ['unmap', 0x100000, P],
      ['unmap', 0x101000, P],
    ]);
    calls.length = 0;

    // Replacing: the old range leaves the CPU first.
    as.map(0x102000, P, PROT_READ | PROT_EXEC);
    expect(calls).toEqual([
      ['unmap', 0x102000, P],
      ['map', 0x102000, P, PROT_READ | PROT_EXEC],
    ]);
  });

  it('the CPU maps the very host memory the kernel reads and writes', () => {
    let mapped: Uint8Array | null = null;
    const cpu: MemoryBackend = { mapHost: (_a, b) => void (mapped = b), unmap: () => {}, protect: () => {} };
    const as = new AddressSpace(LAYOUT, cpu);
    as.map(0x100000, P, RW);
    mapped!.set(bytes('cpu'), 8);
    expect(as.read(0x100008, 3)).toEqual(bytes('cpu'));
    as.write(0x100010, bytes('kern'));
    expect(Buffer.from(mapped!.subarray(0x10, 0x14)).toString()).toBe('kern');
  });

  it('a reservation reaches the CPU only when it becomes accessible', () => {
    const { cpu, calls } = recording();
    const as = new AddressSpace(LAYOUT, cpu);
    as.map(0x100000, 4 * P, PROT_NONE);
    expect(calls).toEqual([]);
    as.protect(0x101000, 2 * P, RW);
    expect(calls).toEqual([['map', 0x101000, 2 * P, RW]]);
    calls.length = 0;
    as.protect(0x101000, P, PROT_NONE);
    expect(calls).toEqual([['protect', 0x101000, P, PROT_NONE]]);
    calls.length = 0;
    as.unmap(0x100000, 4 * P);
    // Only the parts with host memory were ever in the CPU.
    expect(calls).toEqual([
      ['unmap', 0x101000, P],
      ['unmap', 0x102000, P],
    ]);
  });

  it('an allocation refused by the limit never reaches the CPU', () => {
    const { cpu, calls } = recording();
    const as = new AddressSpace(LAYOUT, cpu, P);
    expect(errno(() => as.map(0x100000, 2 * P, RW))).toBe('ENOMEM');
    expect(calls).toEqual([]);
  });
});

describe('fork (copyTo)', () => {
  const R = PROT_READ;
  /** A parent with read-only text, writable data, a MAP_SHARED page and an untouched heap page. */
  function parent(): AddressSpace {
    const as = space();
    as.map(0x100000, 2 * P, R | PROT_EXEC);
    as.poke(0x100000, bytes('text'));
    as.poke(0x101000, bytes('more text'));
    as.map(0x200000, 2 * P, RW);
    as.write(0x200000, bytes('data'));
    as.map(0x300000, P, RW, { shared: true });
    as.write(0x300000, bytes('shared'));
    return as;
  }
  const str = (as: AddressSpace, addr: number, n: number) => Buffer.from(as.read(addr, n)).toString('latin1');

  it('the child sees its parent as it was, and neither sees the other\'s later writes, touched pages or not', () => {
    const p = parent();
    const c = space();
    p.copyTo(c, false);
    expect(str(c, 0x200000, 4)).toBe('data');
    p.write(0x200000, bytes('PARENT'));
    c.write(0x200000, bytes('child!'));
    p.write(0x201000, bytes('p-new')); // a page neither had touched
    c.write(0x201000, bytes('c-new'));
    expect(str(p, 0x200000, 6)).toBe('PARENT');
    expect(str(c, 0x200000, 6)).toBe('child!');
    expect(str(p, 0x201000, 5)).toBe('p-new');
    expect(str(c, 0x201000, 5)).toBe('c-new');
  });

  it('read-only pages are shared, not copied, until one side writes them; then that side gets its own', () => {
    const p = parent();
    const c = space();
    p.copyTo(c, false);
    const text = (as: AddressSpace) => as.mappings().find((m) => m.start === 0x100000)!;
    expect(text(c).bytes).toBe(text(p).bytes);
    // The child makes a page writable and writes it: the parent keeps its text.
    c.protect(0x101000, P, RW);
    c.write(0x101000, bytes('CHILD'));
    expect(str(p, 0x101000, 9)).toBe('more text');
    expect(str(c, 0x100000, 4)).toBe('text'); // the rest of the child's mapping still reads the same
    // The kernel's own write into the parent's read-only page (as the loader's) stays the parent's.
    p.poke(0x100000, bytes('TEXT'));
    expect(str(c, 0x100000, 4)).toBe('text');
    expect(str(p, 0x100000, 4)).toBe('TEXT');
    // A grandchild forked from the child shares what the child still shares.
    const g = space();
    c.copyTo(g, false);
    expect(str(g, 0x100000, 4)).toBe('text');
    expect(str(g, 0x101000, 5)).toBe('CHILD');
  });

  it('the last holder of shared pages writes them in place', () => {
    const p = parent();
    const c = space();
    p.copyTo(c, false);
    const before = p.mappings().find((m) => m.start === 0x100000)!.bytes;
    c.clear(); // the child execs or exits
    p.protect(0x100000, 2 * P, RW);
    p.write(0x100000, bytes('mine'));
    expect(p.mappings().find((m) => m.start === 0x100000)!.bytes!.buffer).toBe(before!.buffer);
  });

  it('MAP_SHARED anonymous memory stays shared both ways', () => {
    const p = parent();
    const c = space();
    p.copyTo(c, false);
    c.write(0x300000, bytes('from-c'));
    expect(str(p, 0x300000, 6)).toBe('from-c');
    p.write(0x300004, bytes('-p'));
    expect(str(c, 0x300000, 6)).toBe('from-p');
  });

  it('a shared page the child replaces reaches its CPU as its own copy', () => {
    const calls: string[] = [];
    const cpuPages = new Map<number, Uint8Array>();
    const cpu: MemoryBackend = {
      mapHost: (a, b, prot) => void (cpuPages.set(a, b), calls.push(`map ${a.toString(16)} ${prot}`)),
      unmap: (a) => void (cpuPages.delete(a), calls.push(`unmap ${a.toString(16)}`)),
      protect: (a, _s, prot) => void calls.push(`protect ${a.toString(16)} ${prot}`),
    };
    const p = parent();
    const c = new AddressSpace(LAYOUT, cpu);
    p.copyTo(c, false);
    expect(cpuPages.get(0x100000)).toBe(p.mappings()[0]!.bytes);
    calls.length = 0;
    c.protect(0x100000, 2 * P, RW);
    expect(calls).toEqual(['unmap 100000', `map 100000 ${RW}`, `protect 100000 ${RW}`]);
    expect(cpuPages.get(0x100000)).not.toBe(p.mappings()[0]!.bytes);
    expect(cpuPages.get(0x100000)).toBe(c.mappings()[0]!.bytes);
  });
});
