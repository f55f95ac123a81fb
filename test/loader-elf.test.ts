import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseElf,
  ElfError,
  type ElfImage,
  type ElfErrorKind,
  PT_LOAD,
  PT_INTERP,
  PT_PHDR,
  PT_GNU_STACK,
  PT_TLS,
  PT_NOTE,
  PF_X,
  PF_W,
  PF_R,
  EM_X86_64,
  EM_AARCH64,
  MAX_PHNUM,
} from '../src/loader/elf.ts';

// ---------------------------------------------------------------------------------------------------------------
// Tiny ELF64 writer
// ---------------------------------------------------------------------------------------------------------------

type U64 = number | bigint;

interface Ph {
  type: number;
  flags?: number;
  offset?: U64;
  vaddr?: U64;
  paddr?: U64;
  filesz?: U64;
  memsz?: U64;
  align?: U64;
}

interface Opts {
  cls?: number;
  data?: number;
  machine?: number;
  type?: number;
  entry?: U64;
  phoff?: U64;
  phentsize?: number;
  phnum?: number; // defaults to phdrs.length
  phdrs: Ph[];
  blobs?: { offset: number; bytes: Uint8Array }[];
  size?: number; // defaults to the end of the furthest thing written
}

function buildElf(o: Opts): Buffer {
  const phoff = o.phoff ?? 64;
  let size = 64;
  if (typeof phoff === 'number') size = Math.max(size, phoff + o.phdrs.length * 56);
  // the file covers the header, the program header table, blobs and PT_LOAD file contents (only sane ones, so
  // tests can point things past the end of the file)
  for (const p of o.phdrs) {
    if (p.type !== PT_LOAD || !p.filesz) continue;
    const end = Number(p.offset ?? 0) + Number(p.filesz);
    if (end < 1 << 20) size = Math.max(size, end);
  }
  for (const b of o.blobs ?? []) size = Math.max(size, b.offset + b.bytes.length);
  const writeSize = size;
  size = o.size ?? size;
  const buf = Buffer.alloc(Math.max(size, writeSize));
  buf.set([0x7f, 0x45, 0x4c, 0x46], 0);
  buf[4] = o.cls ?? 2;
  buf[5] = o.data ?? 1;
  buf[6] = 1; // EV_CURRENT
  buf.writeUInt16LE(o.type ?? 2, 16);
  buf.writeUInt16LE(o.machine ?? EM_X86_64, 18);
  buf.writeUInt32LE(1, 20);
  buf.writeBigUInt64LE(BigInt(o.entry ?? 0), 24);
  buf.writeBigUInt64LE(BigInt(phoff), 32);
  buf.writeUInt16LE(64, 52);
  buf.writeUInt16LE(o.phentsize ?? 56, 54);
  buf.writeUInt16LE(o.phnum ?? o.phdrs.length, 56);
  if (typeof phoff === 'number') {
    o.phdrs.forEach((p, i) => {
      const b = phoff + i * 56;
      if (b + 56 > buf.length) return;
      buf.writeUInt32LE(p.type >>> 0, b);
      buf.writeUInt32LE(p.flags ?? 0, b + 4);
      buf.writeBigUInt64LE(BigInt(p.offset ?? 0), b + 8);
      buf.writeBigUInt64LE(BigInt(p.vaddr ?? 0), b + 16);
      buf.writeBigUInt64LE(BigInt(p.paddr ?? p.vaddr ?? 0), b + 24);
      buf.writeBigUInt64LE(BigInt(p.filesz ?? 0), b + 32);
      buf.writeBigUInt64LE(BigInt(p.memsz ?? 0), b + 40);
      buf.writeBigUInt64LE(BigInt(p.align ?? 0), b + 48);
    });
  }
  for (const b of o.blobs ?? []) buf.set(b.bytes, b.offset);
  return buf.subarray(0, size);
}

/** One note entry: desc at alignUp(12 + namesz, align), entry size alignUp(descOff + descsz, align). */
function note(type: number, name: string, desc: Uint8Array, align = 4): Uint8Array {
  const nameBytes = Buffer.from(name + '\0', 'latin1');
  const up = (n: number) => Math.ceil(n / align) * align;
  const descOff = up(12 + nameBytes.length);
  const out = Buffer.alloc(up(descOff + desc.length));
  out.writeUInt32LE(nameBytes.length, 0);
  out.writeUInt32LE(desc.length, 4);
  out.writeUInt32LE(type, 8);
  out.set(nameBytes, 12);
  out.set(desc, descOff);
  return out;
}

const BUILD_ID = Buffer.from('0123456789abcdef00112233445566778899aabb', 'hex');
const NOTES = Buffer.concat([
  note(1, 'GNU', new Uint8Array(16)), // NT_GNU_ABI_TAG first, so the walker has to skip it
  note(3, 'GNU', BUILD_ID),
]);

/** A typical static binary: R (headers+notes), RX (text), RW (data+bss) loads, TLS, notes, GNU_STACK RW. */
function staticImage(machine = EM_X86_64, pie = false): Opts {
  const base = pie ? 0 : 0x400000;
  return {
    machine,
    type: pie ? 3 : 2,
    entry: base + 0x1010,
    phdrs: [
      { type: PT_PHDR, flags: PF_R, offset: 64, vaddr: base + 64, filesz: 6 * 56, memsz: 6 * 56, align: 8 },
      // deliberately out of vaddr order: parseElf must sort `loads`
      { type: PT_LOAD, flags: PF_R | PF_W, offset: 0x2000, vaddr: base + 0x3000, filesz: 0x100, memsz: 0x2000, align: 0x1000 },
      { type: PT_LOAD, flags: PF_R, offset: 0, vaddr: base, filesz: 0x1000, memsz: 0x1000, align: 0x1000 },
      { type: PT_LOAD, flags: PF_R | PF_X, offset: 0x1000, vaddr: base + 0x1000, filesz: 0x1000, memsz: 0x1000, align: 0x1000 },
      { type: PT_TLS, flags: PF_R, offset: 0x2000, vaddr: base + 0x3000, filesz: 0x10, memsz: 0x30, align: 8 },
      { type: PT_NOTE, flags: PF_R, offset: 0x200, vaddr: base + 0x200, filesz: NOTES.length, memsz: NOTES.length, align: 4 },
      { type: PT_GNU_STACK, flags: PF_R | PF_W, align: 16 },
    ],
    blobs: [{ offset: 0x200, bytes: NOTES }],
  };
}

function withInterp(o: Opts, interp: string): Opts {
  const s = Buffer.from(interp + '\0');
  o.phdrs.splice(1, 0, { type: PT_INTERP, flags: PF_R, offset: 0x300, vaddr: Number(o.entry) - 0x1010 + 0x300, filesz: s.length, memsz: s.length, align: 1 });
  o.blobs = [...(o.blobs ?? []), { offset: 0x300, bytes: s }];
  return o;
}

function load(o: Opts, vaddr: number): Ph {
  const p = o.phdrs.find((x) => x.type === PT_LOAD && Number(x.vaddr) === vaddr);
  if (!p) throw new Error(`test bug: no load at ${vaddr.toString(16)}`);
  return p;
}

function expectElfError(bytes: Uint8Array, message: string, kind?: ElfErrorKind): ElfError {
  let caught: unknown;
  try {
    parseElf(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected parseElf to throw "${message}"`).toBeInstanceOf(ElfError);
  const err = caught as ElfError;
  expect(err.message).toBe(message);
  expect(err.message).not.toContain('\n');
  if (kind) expect(err.kind).toBe(kind);
  return err;
}

const MALFORMED = (what: string) => `malformed ELF: ${what}`;

// ---------------------------------------------------------------------------------------------------------------

describe('parseElf: valid static images', () => {
  it('parses a static ET_EXEC x86-64 image', () => {
    const img = parseElf(buildElf(staticImage()));
    expect(img.arch).toBe('x86_64');
    expect(img.machine).toBe(EM_X86_64);
    expect(img.type).toBe('exec');
    expect(img.entry).toBe(0x401010);
    expect(img.phoff).toBe(64);
    expect(img.phentsize).toBe(56);
    expect(img.phnum).toBe(7);
    expect(img.segments).toHaveLength(7);
    expect(img.segments.map((s) => s.type)).toEqual([PT_PHDR, PT_LOAD, PT_LOAD, PT_LOAD, PT_TLS, PT_NOTE, PT_GNU_STACK]);
    expect(img.loads.map((s) => s.vaddr)).toEqual([0x400000, 0x401000, 0x403000]);
    expect(img.loads[1]).toEqual({ type: PT_LOAD, flags: PF_R | PF_X, offset: 0x1000, vaddr: 0x401000, filesz: 0x1000, memsz: 0x1000, align: 0x1000 });
    expect(img.interp).toBeNull();
    expect(img.minVaddr).toBe(0x400000);
    expect(img.maxVaddr).toBe(0x405000);
    expect(img.phdrVaddr).toBe(0x400040);
    expect(img.stackExecutable).toBe(false);
    expect(img.hasGnuStack).toBe(true);
    expect(img.tlsSegment).toEqual({ type: PT_TLS, flags: PF_R, offset: 0x2000, vaddr: 0x403000, filesz: 0x10, memsz: 0x30, align: 8 });
    expect(img.buildId).toBe('0123456789abcdef00112233445566778899aabb');
  });

  it('parses a static ET_EXEC aarch64 image', () => {
    const img = parseElf(buildElf(staticImage(EM_AARCH64)));
    expect(img.arch).toBe('aarch64');
    expect(img.machine).toBe(EM_AARCH64);
    expect(img.type).toBe('exec');
    expect(img.entry).toBe(0x401010);
    expect(img.loads).toHaveLength(3);
    expect(img.buildId).toBe('0123456789abcdef00112233445566778899aabb');
  });

  it.each([
    ['x86_64', EM_X86_64],
    ['aarch64', EM_AARCH64],
  ] as const)('parses a static-pie ET_DYN %s image (addresses relative to the load bias)', (arch, machine) => {
    const img = parseElf(buildElf(staticImage(machine, true)));
    expect(img.arch).toBe(arch);
    expect(img.type).toBe('dyn');
    expect(img.entry).toBe(0x1010);
    expect(img.loads.map((s) => s.vaddr)).toEqual([0, 0x1000, 0x3000]);
    expect(img.minVaddr).toBe(0);
    expect(img.maxVaddr).toBe(0x5000);
    expect(img.phdrVaddr).toBe(64);
    expect(img.tlsSegment?.vaddr).toBe(0x3000);
  });

  it('accepts a Uint8Array view with a non-zero byteOffset', () => {
    const inner = buildElf(staticImage());
    const outer = new Uint8Array(inner.length + 13);
    outer.set(inner, 13);
    const img = parseElf(outer.subarray(13));
    expect(img.entry).toBe(0x401010);
    expect(img.buildId).toBe('0123456789abcdef00112233445566778899aabb');
  });

  it('accepts a bss-only PT_LOAD whose p_offset lies past the end of the file', () => {
    const o = staticImage();
    o.phdrs.push({ type: PT_LOAD, flags: PF_R | PF_W, offset: 0x100000, vaddr: 0x500000, filesz: 0, memsz: 0x3000, align: 0x1000 });
    const img = parseElf(buildElf(o));
    expect(img.loads.map((s) => s.vaddr)).toEqual([0x400000, 0x401000, 0x403000, 0x500000]);
    expect(img.maxVaddr).toBe(0x503000);
  });

  it('does not require page congruence when p_align < 4096', () => {
    const o = staticImage();
    const rw = load(o, 0x403000);
    rw.vaddr = 0x403008;
    rw.align = 8;
    o.phdrs.find((p) => p.type === PT_TLS)!.vaddr = 0x403008;
    expect(parseElf(buildElf(o)).loads[2].vaddr).toBe(0x403008);
  });

  it('allows segments that share a page as long as their byte ranges are disjoint', () => {
    const o = staticImage();
    load(o, 0x400000).memsz = 0x800; // ends mid-page
    load(o, 0x400000).filesz = 0x800;
    const text = load(o, 0x401000);
    text.vaddr = 0x400800; // same page as the first load
    text.offset = 0x800;
    text.filesz = 0x1800;
    text.memsz = 0x1800;
    o.entry = 0x401010;
    const img = parseElf(buildElf(o));
    expect(img.loads.map((s) => [s.vaddr, s.memsz])).toEqual([[0x400000, 0x800], [0x400800, 0x1800], [0x403000, 0x2000]]);
  });

  it('reports null TLS and null build id when absent', () => {
    const o = staticImage();
    o.phdrs = o.phdrs.filter((p) => p.type !== PT_TLS && p.type !== PT_NOTE);
    const img = parseElf(buildElf(o));
    expect(img.tlsSegment).toBeNull();
    expect(img.buildId).toBeNull();
  });

  it('ignores a truncated note instead of failing', () => {
    const o = staticImage();
    o.phdrs.find((p) => p.type === PT_NOTE)!.filesz = NOTES.length - 4; // cuts into the build-id descriptor
    expect(parseElf(buildElf(o)).buildId).toBeNull();
  });

  it('finds the build id in an 8-aligned PT_NOTE too', () => {
    const o = staticImage();
    // a 12-byte-desc note first: with 8-byte alignment the next note starts at 32, not 28
    const notes = Buffer.concat([
      note(5, 'GNU', new Uint8Array(12), 8),
      note(3, 'GNU', Buffer.from('aabbccdd', 'hex'), 8),
    ]);
    expect(notes.length).toBe(32 + 24);
    o.blobs = [{ offset: 0x200, bytes: notes }];
    const n = o.phdrs.find((p) => p.type === PT_NOTE)!;
    n.filesz = notes.length;
    n.align = 8;
    expect(parseElf(buildElf(o)).buildId).toBe('aabbccdd');
    n.align = 4; // read with the wrong alignment the second note is garbage
    expect(parseElf(buildElf(o)).buildId).not.toBe('aabbccdd');
  });

  it('computes phdrVaddr from PT_PHDR when the headers are not inside a PT_LOAD file range', () => {
    const o = staticImage();
    const first = load(o, 0x400000);
    first.filesz = 0x10; // headers at 64.. no longer covered by a PT_LOAD's file contents
    const img = parseElf(buildElf(o));
    expect(img.phdrVaddr).toBe(0x400040);
  });
});

describe('parseElf: PT_GNU_STACK semantics (Linux >= 5.8, 64-bit)', () => {
  for (const [arch, machine] of [['x86_64', EM_X86_64], ['aarch64', EM_AARCH64]] as const) {
    it(`${arch}: RWX PT_GNU_STACK -> executable stack`, () => {
      const o = staticImage(machine);
      o.phdrs.find((p) => p.type === PT_GNU_STACK)!.flags = PF_R | PF_W | PF_X;
      const img = parseElf(buildElf(o));
      expect(img.stackExecutable).toBe(true);
      expect(img.hasGnuStack).toBe(true);
    });
    it(`${arch}: RW PT_GNU_STACK -> non-executable stack`, () => {
      const img = parseElf(buildElf(staticImage(machine)));
      expect(img.stackExecutable).toBe(false);
      expect(img.hasGnuStack).toBe(true);
    });
    it(`${arch}: missing PT_GNU_STACK -> non-executable stack (exec-none), hasGnuStack=false`, () => {
      const o = staticImage(machine);
      o.phdrs = o.phdrs.filter((p) => p.type !== PT_GNU_STACK);
      const img = parseElf(buildElf(o));
      expect(img.stackExecutable).toBe(false);
      expect(img.hasGnuStack).toBe(false);
    });
  }
  it('the last PT_GNU_STACK wins (as in fs/binfmt_elf.c)', () => {
    const o = staticImage();
    o.phdrs.push({ type: PT_GNU_STACK, flags: PF_R | PF_W | PF_X });
    expect(parseElf(buildElf(o)).stackExecutable).toBe(true);
  });
});

describe('parseElf: identification errors', () => {
  it('rejects non-ELF data', () => {
    expectElfError(new Uint8Array(0), 'not an ELF file', 'not-elf');
    expectElfError(Buffer.from('#!/bin/sh\necho hello world\n'), 'not an ELF file', 'not-elf');
    expectElfError(Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00', 'latin1'), 'not an ELF file');
    // right magic but shorter than e_ident
    expectElfError(buildElf(staticImage()).subarray(0, 15), 'not an ELF file', 'not-elf');
  });

  it('rejects 32-bit ELF (even when only e_ident is present)', () => {
    const msg = '32-bit ELF is not supported (only 64-bit x86-64 and aarch64)';
    expectElfError(buildElf({ ...staticImage(), cls: 1, machine: 3 }), msg, 'class');
    expectElfError(buildElf({ ...staticImage(), cls: 1 }).subarray(0, 16), msg, 'class');
  });

  it('rejects an invalid class byte', () => {
    expectElfError(buildElf({ ...staticImage(), cls: 0 }), MALFORMED('invalid ELF class 0'), 'malformed');
    expectElfError(buildElf({ ...staticImage(), cls: 7 }), MALFORMED('invalid ELF class 7'));
  });

  it('rejects big-endian ELF', () => {
    expectElfError(buildElf({ ...staticImage(), data: 2 }), 'big-endian ELF is not supported', 'endian');
  });

  it('rejects an invalid data-encoding byte', () => {
    expectElfError(buildElf({ ...staticImage(), data: 0 }), MALFORMED('invalid data encoding 0'));
  });

  it('rejects a truncated ELF header', () => {
    const b = buildElf(staticImage());
    expectElfError(b.subarray(0, 16), MALFORMED('truncated ELF header (16 bytes, need 64)'), 'malformed');
    expectElfError(b.subarray(0, 40), MALFORMED('truncated ELF header (40 bytes, need 64)'));
    expectElfError(b.subarray(0, 63), MALFORMED('truncated ELF header (63 bytes, need 64)'));
  });

  it.each([
    [3, 'i386'],
    [40, 'arm'],
    [243, 'riscv'],
    [21, 'ppc64'],
    [22, 's390'],
    [8, 'mips'],
    [12345, '12345'],
    [0, '0'],
  ])('rejects e_machine %i as "%s"', (machine, name) => {
    expectElfError(buildElf({ ...staticImage(), machine }), `unsupported machine ${name} (only x86-64 and aarch64)`, 'machine');
  });

  it.each([0, 1, 4, 0xfe00])('rejects e_type %i', (type) => {
    expectElfError(buildElf({ ...staticImage(), type }), `not an executable (ELF type ${type})`, 'type');
  });

  it('checks in the documented order: class before endianness before machine before type', () => {
    expectElfError(buildElf({ ...staticImage(), cls: 1, data: 2, machine: 3, type: 1 }), '32-bit ELF is not supported (only 64-bit x86-64 and aarch64)');
    expectElfError(buildElf({ ...staticImage(), data: 2, machine: 3, type: 1 }), 'big-endian ELF is not supported');
    expectElfError(buildElf({ ...staticImage(), machine: 40, type: 1 }), 'unsupported machine arm (only x86-64 and aarch64)');
    expectElfError(buildElf({ ...staticImage(), type: 1, phentsize: 3 }), 'not an executable (ELF type 1)');
  });
});

describe('parseElf: program header table errors', () => {
  it('rejects e_phentsize != 56', () => {
    expectElfError(buildElf({ ...staticImage(), phentsize: 32 }), MALFORMED('program header entry size is 32 (expected 56)'), 'malformed');
    expectElfError(buildElf({ ...staticImage(), phentsize: 64 }), MALFORMED('program header entry size is 64 (expected 56)'));
  });

  it('rejects e_phnum == 0', () => {
    expectElfError(buildElf({ ...staticImage(), phnum: 0 }), MALFORMED('no program headers'));
  });

  it(`rejects e_phnum > ${MAX_PHNUM} (Linux caps the table at 64 KiB) including PN_XNUM`, () => {
    expect(MAX_PHNUM).toBe(1170);
    expectElfError(buildElf({ ...staticImage(), phnum: MAX_PHNUM + 1 }), MALFORMED(`too many program headers (1171, at most 1170)`));
    expectElfError(buildElf({ ...staticImage(), phnum: 0xffff }), MALFORMED(`too many program headers (65535, at most 1170)`));
  });

  it('rejects a program header table that lies outside the file', () => {
    const o = staticImage();
    expectElfError(buildElf({ ...o, phnum: 200 }), MALFORMED(`program header table (offset 0x40, 200 entries) lies outside the file (${buildElf(o).length} bytes)`));
    expectElfError(buildElf({ ...o, phoff: 0x1_0000_0000n }), MALFORMED(`program header table (offset 0x100000000, 7 entries) lies outside the file (${buildElf(o).length} bytes)`));
    expectElfError(buildElf({ ...o, phoff: 0xffff_ffff_ffff_fff0n }), MALFORMED(`program header table (offset 0xfffffffffffffff0, 7 entries) lies outside the file (${buildElf(o).length} bytes)`));
    // table ends one byte after the end of the file
    const b = buildElf({ ...o, phdrs: o.phdrs, blobs: [] , size: 64 + 7 * 56 - 1 });
    expectElfError(b, MALFORMED(`program header table (offset 0x40, 7 entries) lies outside the file (${64 + 7 * 56 - 1} bytes)`));
  });

  it('rejects 64-bit fields that do not fit a JS number exactly', () => {
    const o = staticImage();
    load(o, 0x401000).memsz = 2n ** 60n;
    expectElfError(buildElf(o), MALFORMED('program header 3 (PT_LOAD) p_memsz 0x1000000000000000 is too large'));
    const o2 = staticImage();
    o2.phdrs.find((p) => p.type === PT_GNU_STACK)!.offset = 2n ** 53n;
    expectElfError(buildElf(o2), MALFORMED('program header 6 (PT_GNU_STACK) p_offset 0x20000000000000 is too large'));
    expectElfError(buildElf({ ...staticImage(), entry: 0xffff_ffff_ffff_f000n }), MALFORMED('entry point 0xfffffffffffff000 is too large'));
    // exactly MAX_SAFE_INTEGER converts fine and is then caught by the address-space check
    const o3 = staticImage();
    load(o3, 0x401000).memsz = BigInt(Number.MAX_SAFE_INTEGER);
    expectElfError(buildElf(o3), MALFORMED('PT_LOAD at 0x401000 (size 0x1fffffffffffff) extends beyond the 47-bit x86-64 user address space'));
  });
});

describe('parseElf: dynamically linked binaries', () => {
  it('reads the PT_INTERP path of an x86-64 PIE', () => {
    const img = parseElf(buildElf(withInterp(staticImage(EM_X86_64, true), '/lib64/ld-linux-x86-64.so.2')));
    expect(img.interp).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(img.type).toBe('dyn');
  });

  it('reads the PT_INTERP path of an aarch64 ET_EXEC binary', () => {
    expect(parseElf(buildElf(withInterp(staticImage(EM_AARCH64), '/lib/ld-linux-aarch64.so.1'))).interp).toBe('/lib/ld-linux-aarch64.so.1');
  });

  it('checks the PT_LOADs of a dynamic binary as of a static one', () => {
    const o = withInterp(staticImage(), '/lib/ld-musl-x86_64.so.1');
    load(o, 0x401000).memsz = 0x10000; // overlapping loads
    expect(() => parseElf(buildElf(o))).toThrow(/^malformed ELF: PT_LOAD segments overlap/);
    expectElfError(buildElf({ ...o, phentsize: 40 }), MALFORMED('program header entry size is 40 (expected 56)'));
  });

  it('rejects malformed PT_INTERP segments', () => {
    const o1 = withInterp(staticImage(), '/lib64/ld-linux-x86-64.so.2');
    o1.phdrs[1].offset = 0x10_0000;
    expectElfError(buildElf(o1), MALFORMED(`PT_INTERP 0x100000-0x10001c lies outside the file (${buildElf(o1).length} bytes)`));

    const o2 = withInterp(staticImage(), '/lib64/ld-linux-x86-64.so.2');
    o2.phdrs[1].filesz = 27; // drops the NUL
    expectElfError(buildElf(o2), MALFORMED('PT_INTERP is not NUL-terminated'));

    const o3 = withInterp(staticImage(), '/');
    o3.phdrs[1].filesz = 1;
    expectElfError(buildElf(o3), MALFORMED('PT_INTERP has bad size 1'));
  });

  it('keeps the interpreter path as bytes, control characters included (it names a file; messages are the caller\'s)', () => {
    expect(parseElf(buildElf(withInterp(staticImage(), '/evil\npath'))).interp).toBe('/evil\npath');
  });
});

describe('parseElf: PT_LOAD errors', () => {
  it('rejects p_filesz > p_memsz', () => {
    const o = staticImage();
    load(o, 0x403000).filesz = 0x3000;
    expectElfError(buildElf(o), MALFORMED('PT_LOAD at 0x403000 has p_filesz 0x3000 > p_memsz 0x2000'));
  });

  it('rejects p_offset + p_filesz beyond the end of the file', () => {
    const o = staticImage();
    const b = buildElf(o);
    expectElfError(b.subarray(0, 0x2080), MALFORMED('PT_LOAD at 0x403000 file range 0x2000-0x2100 lies outside the file (8320 bytes)'));
    const o2 = staticImage();
    load(o2, 0x403000).offset = 0xffff_f000;
    load(o2, 0x403000).vaddr = 0x403000;
    expectElfError(buildElf(o2), MALFORMED(`PT_LOAD at 0x403000 file range 0xfffff000-0xfffff100 lies outside the file (${buildElf(o2).length} bytes)`));
  });

  it('rejects p_offset and p_vaddr that are not congruent modulo 4096 when p_align >= 4096', () => {
    const o = staticImage();
    load(o, 0x403000).offset = 0x1f00;
    expectElfError(buildElf(o), MALFORMED('PT_LOAD at 0x403000 has p_offset 0x1f00 and p_vaddr not congruent modulo the page size'));
    const o2 = staticImage(EM_AARCH64);
    const s = load(o2, 0x403000);
    s.align = 0x10000;
    s.vaddr = 0x413008;
    expectElfError(buildElf(o2), MALFORMED('PT_LOAD at 0x413008 has p_offset 0x2000 and p_vaddr not congruent modulo the page size'));
  });

  it('rejects segments that end beyond 2^47 on x86-64 but accepts them below 2^48 on aarch64', () => {
    const mk = (machine: number) => {
      const o = staticImage(machine);
      o.phdrs.push({ type: PT_LOAD, flags: PF_R | PF_W, offset: 0, vaddr: 0x7fff_ffff_f000, filesz: 0, memsz: 0x2000, align: 0x1000 });
      return buildElf(o);
    };
    expectElfError(mk(EM_X86_64), MALFORMED('PT_LOAD at 0x7ffffffff000 (size 0x2000) extends beyond the 47-bit x86-64 user address space'));
    expect(parseElf(mk(EM_AARCH64)).maxVaddr).toBe(0x8000_0000_1000);

    const o = staticImage(EM_AARCH64);
    o.phdrs.push({ type: PT_LOAD, flags: PF_R, offset: 0, vaddr: 0xffff_ffff_f000, filesz: 0, memsz: 0x1001, align: 0x1000 });
    expectElfError(buildElf(o), MALFORMED('PT_LOAD at 0xfffffffff000 (size 0x1001) extends beyond the 48-bit aarch64 user address space'));

    // exactly touching the limit is fine
    const o2 = staticImage();
    o2.phdrs.push({ type: PT_LOAD, flags: PF_R, offset: 0, vaddr: 0x7fff_ffff_f000, filesz: 0, memsz: 0x1000, align: 0x1000 });
    expect(parseElf(buildElf(o2)).maxVaddr).toBe(2 ** 47);
  });

  it('rejects a vaddr that is itself beyond the user address space (kernel-half addresses)', () => {
    const o = staticImage();
    o.phdrs.push({ type: PT_LOAD, flags: PF_R, offset: 0, vaddr: 0x1f_ffff_ffff_f000, filesz: 0, memsz: 0x1000, align: 0x1000 });
    expectElfError(buildElf(o), MALFORMED('PT_LOAD at 0x1ffffffffff000 (size 0x1000) extends beyond the 47-bit x86-64 user address space'));
  });

  it('rejects overlapping PT_LOAD segments', () => {
    const o = staticImage();
    load(o, 0x401000).memsz = 0x2001; // runs one byte into the data segment
    expectElfError(buildElf(o), MALFORMED('PT_LOAD segments overlap (0x401000-0x403001 and 0x403000-0x405000)'));
    const o2 = staticImage();
    o2.phdrs.push({ ...load(o2, 0x401000) }); // exact duplicate
    expectElfError(buildElf(o2), MALFORMED('PT_LOAD segments overlap (0x401000-0x402000 and 0x401000-0x402000)'));
    const o3 = staticImage(EM_X86_64, true);
    o3.phdrs.push({ type: PT_LOAD, flags: PF_R, offset: 0, vaddr: 0x3800, filesz: 0, memsz: 0x100, align: 8 }); // nested
    expectElfError(buildElf(o3), MALFORMED('PT_LOAD segments overlap (0x3000-0x5000 and 0x3800-0x3900)'));
  });

  it('rejects an image without PT_LOAD', () => {
    const o = staticImage();
    o.phdrs = o.phdrs.filter((p) => p.type !== PT_LOAD);
    expectElfError(buildElf(o), MALFORMED('no PT_LOAD segments'));
  });

  it('rejects an entry point outside every PT_LOAD', () => {
    expectElfError(buildElf({ ...staticImage(), entry: 0x600000 }), MALFORMED('entry point 0x600000 is not inside an executable PT_LOAD segment'));
    expectElfError(buildElf({ ...staticImage(), entry: 0x402000 }), MALFORMED('entry point 0x402000 is not inside an executable PT_LOAD segment'));
  });

  it('rejects an entry point inside a non-executable PT_LOAD', () => {
    expectElfError(buildElf({ ...staticImage(), entry: 0x400100 }), MALFORMED('entry point 0x400100 is not inside an executable PT_LOAD segment'));
    expectElfError(buildElf({ ...staticImage(EM_AARCH64), entry: 0x403010 }), MALFORMED('entry point 0x403010 is not inside an executable PT_LOAD segment'));
  });

  it('checks the ET_DYN entry point relative to the (unbiased) segments', () => {
    expect(parseElf(buildElf({ ...staticImage(EM_X86_64, true), entry: 0x1fff })).entry).toBe(0x1fff);
    expectElfError(buildElf({ ...staticImage(EM_X86_64, true), entry: 0x2000 }), MALFORMED('entry point 0x2000 is not inside an executable PT_LOAD segment'));
    expectElfError(buildElf({ ...staticImage(EM_X86_64, true), entry: 0x401010 }), MALFORMED('entry point 0x401010 is not inside an executable PT_LOAD segment'));
    expectElfError(buildElf({ ...staticImage(EM_AARCH64, true), entry: 0 }), MALFORMED('entry point is 0 (a shared library rather than a static-pie executable?)'));
  });

  it('rejects malformed PT_TLS', () => {
    const o = staticImage();
    o.phdrs.find((p) => p.type === PT_TLS)!.filesz = 0x40;
    expectElfError(buildElf(o), MALFORMED('PT_TLS has p_filesz 0x40 > p_memsz 0x30'));
    const o2 = staticImage();
    o2.phdrs.push({ type: PT_TLS, flags: PF_R, offset: 0x2000, vaddr: 0x403000, filesz: 0, memsz: 8, align: 8 });
    expectElfError(buildElf(o2), MALFORMED('more than one PT_TLS segment'));
    const o3 = staticImage();
    o3.phdrs.find((p) => p.type === PT_TLS)!.offset = 0x9000;
    expectElfError(buildElf(o3), MALFORMED('PT_TLS file range 0x9000-0x9010 lies outside the file (8448 bytes)'));
  });
});

describe('parseElf: robustness', () => {
  // Deterministic xorshift PRNG so failures are reproducible.
  function rng(seed: number) {
    let x = seed >>> 0 || 1;
    return () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x / 2 ** 32;
    };
  }

  it('throws only ElfError for every truncation of a valid image', () => {
    const full = buildElf(staticImage());
    for (let n = 0; n < full.length; n += n < 600 ? 1 : 97) {
      try {
        parseElf(full.subarray(0, n));
      } catch (e) {
        expect(e, `truncated to ${n}`).toBeInstanceOf(ElfError);
      }
    }
  });

  it('throws only ElfError (with one-line messages) for randomly corrupted headers', () => {
    const rand = rng(0xc0ffee);
    const bases = [buildElf(staticImage()), buildElf(staticImage(EM_AARCH64, true)), buildElf(withInterp(staticImage(), '/lib/ld.so'))];
    let ok = 0;
    let failed = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const b = Buffer.from(bases[iter % bases.length]);
      const flips = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < flips; k++) {
        // concentrate on the ELF header + program headers + notes, where parsing happens
        const pos = Math.floor(rand() * 0x280);
        b[pos] = rand() < 0.3 ? 0xff : Math.floor(rand() * 256);
      }
      try {
        const img: ElfImage = parseElf(b);
        expect(img.loads.length).toBeGreaterThan(0);
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(ElfError);
        expect((e as ElfError).message).not.toContain('\n');
        failed++;
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
  });

  it('ElfError is an Error subclass with a name and kind', () => {
    const err = expectElfError(new Uint8Array(4), 'not an ELF file');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ElfError');
    expect(err.kind).toBe('not-elf');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Real binaries (optional: only where present on this machine)
// ---------------------------------------------------------------------------------------------------------------

function isElfFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    const head = readFileSync(path).subarray(0, 4);
    return head.length === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  } catch {
    return false;
  }
}

function listElfs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((f) => join(dir, f)).filter(isElfFile);
}

describe('parseElf: real binaries', () => {
  it.skipIf(!existsSync('/bin/ls'))('/bin/ls (dynamically linked) names its interpreter', () => {
    const img = parseElf(readFileSync('/bin/ls'));
    if (process.arch === 'x64') expect(img.interp).toBe('/lib64/ld-linux-x86-64.so.2');
    else expect(img.interp).toMatch(/^\/\S+$/);
  });

  it.skipIf(!existsSync('/bin/busybox'))('/bin/busybox (static) parses', () => {
    const bytes = readFileSync('/bin/busybox');
    const img: ElfImage = parseElf(bytes);
    expect(img.arch).toBe(process.arch === 'arm64' ? 'aarch64' : 'x86_64');
    expect(['exec', 'dyn']).toContain(img.type);
    expect(img.loads.length).toBeGreaterThan(0);
    expect(img.loads.some((s) => (s.flags & PF_X) !== 0)).toBe(true);
    expect(img.minVaddr).toBeLessThanOrEqual(img.entry);
    expect(img.entry).toBeLessThan(img.maxVaddr);
    expect(img.buildId === null || /^[0-9a-f]+$/.test(img.buildId)).toBe(true);
    expect(img.phdrVaddr).not.toBeNull();
  });

  for (const arch of ['x86_64', 'aarch64'] as const) {
    const dir = join(fileURLToPath(new URL('..', import.meta.url)), 'guest-binaries', arch);
    it.skipIf(listElfs(dir).length === 0)(`static binaries under guest-binaries/${arch} parse`, () => {
      let parsed = 0;
      for (const file of listElfs(dir)) {
        const bytes = readFileSync(file);
        const img = parseElf(bytes);
        expect(img.arch, file).toBe(arch);
        expect(img.loads.length, file).toBeGreaterThan(0);
        parsed++;
      }
      expect(parsed).toBeGreaterThan(0);
    });
  }
});
