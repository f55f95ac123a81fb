// The vDSO: the small shared object Linux maps into every process and names
// in the auxiliary vector (AT_SYSINFO_EHDR; see vdso(7)). C libraries look
// their fast clock functions up in it by name, and some cannot start without
// one: dietlibc on x86-64 takes the legacy vsyscall page at
// 0xffffffffff600000 as the vDSO's ELF header when AT_SYSINFO_EHDR is
// missing, and faults reading it.
//
// This one is a real ELF image, built here byte by byte: one PT_LOAD, a
// PT_DYNAMIC with DT_HASH, DT_SYMTAB, DT_STRTAB and symbol versions (what
// glibc's setup_vdso, musl's __vdsosym and Go's vdso_linux.go read), and
// section headers with .dynsym and .dynstr (what dietlibc's lookup walks).
// It exports the symbols Linux's vdso.lds.S exports for the arch, at the
// version Linux gives them; each function simply makes the real syscall,
// so the kernel (and the trace, and --deterministic) still sees every call.
// The image is linked at address 0, as Linux's is: readers add the load
// address to every vaddr in it.
import type { Arch } from '../arch/types.ts';
import { EM_AARCH64, EM_X86_64, ET_DYN, PF_R, PF_X, PT_DYNAMIC, PT_LOAD } from './elf.ts';

/** The exported functions: name → the syscall it makes. `alias` adds a weak plain name as x86-64 Linux does (time, gettimeofday...). */
interface VdsoFunction {
  name: string;
  syscall: string;
  alias?: string;
}

/** arch/x86/entry/vdso/vdso.lds.S: version LINUX_2.6. */
const X86_64_FUNCTIONS: VdsoFunction[] = [
  { name: '__vdso_clock_gettime', syscall: 'clock_gettime', alias: 'clock_gettime' },
  { name: '__vdso_gettimeofday', syscall: 'gettimeofday', alias: 'gettimeofday' },
  { name: '__vdso_time', syscall: 'time', alias: 'time' },
  { name: '__vdso_getcpu', syscall: 'getcpu', alias: 'getcpu' },
  { name: '__vdso_clock_getres', syscall: 'clock_getres', alias: 'clock_getres' },
];

/** arch/arm64/kernel/vdso/vdso.lds.S: version LINUX_2.6.39. */
const AARCH64_FUNCTIONS: VdsoFunction[] = [
  { name: '__kernel_rt_sigreturn', syscall: 'rt_sigreturn' },
  { name: '__kernel_gettimeofday', syscall: 'gettimeofday' },
  { name: '__kernel_clock_gettime', syscall: 'clock_gettime' },
  { name: '__kernel_clock_getres', syscall: 'clock_getres' },
];

export const VDSO_SONAME = 'linux-vdso.so.1';

/** The symbol version each arch's vDSO defines. */
export function vdsoVersion(arch: Arch['name']): string {
  return arch === 'x86_64' ? 'LINUX_2.6' : 'LINUX_2.6.39';
}

export interface VdsoImage {
  /** The whole image, to be mapped read+execute at a page boundary. */
  bytes: Uint8Array;
  /** Each exported name's offset from the load address. */
  symbols: Map<string, number>;
}

/** A syscall and a return, the function body for one vDSO entry. */
function syscallStub(arch: Arch, nr: number): Uint8Array {
  if (arch.name === 'x86_64') {
    // mov eax, nr; syscall; ret (the arguments are already in rdi, rsi, rdx)
    return Uint8Array.of(0xb8, nr & 0xff, (nr >> 8) & 0xff, 0, 0, 0x0f, 0x05, 0xc3);
  }
  // mov x8, #nr; svc #0; ret (arguments already in x0..x2)
  const words = [0xd2800008 | (nr << 5), 0xd4000001, 0xd65f03c0];
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
  return out;
}

/** The SysV ELF hash (the System V ABI, "Hash Table"), as DT_HASH and vd_hash use it. */
export function elfHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) {
    h = ((h << 4) + name.charCodeAt(i)) >>> 0;
    const g = (h & 0xf0000000) >>> 0;
    h = (h ^ (g >>> 24)) & ~g;
  }
  return h >>> 0;
}

/** A growing little-endian byte buffer with alignment. */
class Writer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  align(n: number): number {
    this.length = Math.ceil(this.length / n) * n;
    return this.length;
  }
  private room(n: number): number {
    const at = this.length;
    this.length += n;
    if (this.length > this.buf.length) throw new Error('vdso: image larger than one page');
    return at;
  }
  u8(v: number): void {
    this.view.setUint8(this.room(1), v);
  }
  u16(v: number): void {
    this.view.setUint16(this.room(2), v, true);
  }
  u32(v: number): void {
    this.view.setUint32(this.room(4), v >>> 0, true);
  }
  u64(v: number): void {
    this.view.setBigUint64(this.room(8), BigInt(v), true);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.room(b.length));
  }
  /** Overwrite a u64 already written (offsets known only later). */
  patchU64(at: number, v: number): void {
    this.view.setBigUint64(at, BigInt(v), true);
  }
  patchU16(at: number, v: number): void {
    this.view.setUint16(at, v, true);
  }
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, true);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A string table: "\0" first, each name once. */
class StringTable {
  private parts: string[] = [''];
  private offsets = new Map<string, number>([['', 0]]);
  private size = 1;

  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const at = this.size;
    this.offsets.set(s, at);
    this.parts.push(s);
    this.size += s.length + 1;
    return at;
  }
  bytes(): Uint8Array {
    return Buffer.from(this.parts.join('\0') + '\0', 'latin1');
  }
}

const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_HASH = 5;
const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERSYM = 0x6fffffff;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const DT = { NULL: 0, HASH: 4, STRTAB: 5, SYMTAB: 6, STRSZ: 10, SYMENT: 11, SONAME: 14, VERSYM: 0x6ffffff0, VERDEF: 0x6ffffffc, VERDEFNUM: 0x6ffffffd };
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STT_FUNC = 2;
const VER_FLG_BASE = 1;
const SYM_SIZE = 24;

/** Build the arch's vDSO image (the same bytes every time: it depends on nothing else). */
export function buildVdso(arch: Arch): VdsoImage {
  const functions = arch.name === 'x86_64' ? X86_64_FUNCTIONS : AARCH64_FUNCTIONS;
  const version = vdsoVersion(arch.name);
  const dynstr = new StringTable();
  const soname = dynstr.add(VDSO_SONAME);
  const versionName = dynstr.add(version);
  // Dynamic symbols: index 0 is the null symbol; then each function, and its weak alias.
  const syms: { name: string; nameOff: number; fn: number; bind: number }[] = [];
  functions.forEach((f, i) => {
    syms.push({ name: f.name, nameOff: dynstr.add(f.name), fn: i, bind: STB_GLOBAL });
    if (f.alias) syms.push({ name: f.alias, nameOff: dynstr.add(f.alias), fn: i, bind: STB_WEAK });
  });
  const nsyms = syms.length + 1;
  const strBytes = dynstr.bytes();

  const w = new Writer();
  const PHNUM = 2;
  // ---- ELF header (patched at the end with the section header offset) ----
  w.bytes(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  w.u16(ET_DYN);
  w.u16(arch.name === 'x86_64' ? EM_X86_64 : EM_AARCH64);
  w.u32(1);
  w.u64(0); // e_entry
  w.u64(64); // e_phoff
  const shoffAt = w.length;
  w.u64(0); // e_shoff
  w.u32(0); // e_flags
  w.u16(64);
  w.u16(56);
  w.u16(PHNUM);
  w.u16(64);
  const shnumAt = w.length;
  w.u16(0);
  w.u16(0); // e_shstrndx, patched
  // ---- program headers, patched once the layout is known ----
  const phdrAt = w.length;
  w.bytes(new Uint8Array(56 * PHNUM));

  // ---- .hash: nbucket, nchain, buckets, chains ----
  const hashOff = w.align(8);
  const nbucket = Math.max(1, syms.length);
  const buckets = new Array<number>(nbucket).fill(0);
  const chains = new Array<number>(nsyms).fill(0);
  syms.forEach((s, i) => {
    const idx = i + 1;
    const b = elfHash(s.name) % nbucket;
    // Prepend to the bucket's chain.
    chains[idx] = buckets[b]!;
    buckets[b] = idx;
  });
  w.u32(nbucket);
  w.u32(nsyms);
  buckets.forEach((b) => w.u32(b));
  chains.forEach((c) => w.u32(c));
  const hashSize = w.length - hashOff;

  // ---- .dynsym (values patched once .text is placed) ----
  const dynsymOff = w.align(8);
  w.bytes(new Uint8Array(SYM_SIZE * nsyms));
  // ---- .dynstr ----
  const dynstrOff = w.length;
  w.bytes(strBytes);
  // ---- .gnu.version: every exported symbol has version index 2 ----
  const versymOff = w.align(2);
  w.u16(0);
  for (let i = 1; i < nsyms; i++) w.u16(2);
  // ---- .gnu.version_d: the base (soname, index 1) and the version (index 2) ----
  const verdefOff = w.align(4);
  const verdef = (flags: number, ndx: number, name: string, nameOff: number, last: boolean): void => {
    w.u16(1); // vd_version
    w.u16(flags);
    w.u16(ndx);
    w.u16(1); // vd_cnt
    w.u32(elfHash(name));
    w.u32(20); // vd_aux: the Verdaux right after this Verdef
    w.u32(last ? 0 : 28); // vd_next
    w.u32(nameOff); // vda_name
    w.u32(0); // vda_next
  };
  verdef(VER_FLG_BASE, 1, VDSO_SONAME, soname, false);
  verdef(0, 2, version, versionName, true);
  const verdefSize = w.length - verdefOff;
  // ---- .dynamic ----
  const dynamicOff = w.align(8);
  const dyn: [number, number][] = [
    [DT.HASH, hashOff],
    [DT.STRTAB, dynstrOff],
    [DT.SYMTAB, dynsymOff],
    [DT.STRSZ, strBytes.length],
    [DT.SYMENT, SYM_SIZE],
    [DT.SONAME, soname],
    [DT.VERSYM, versymOff],
    [DT.VERDEF, verdefOff],
    [DT.VERDEFNUM, 2],
    [DT.NULL, 0],
  ];
  for (const [tag, val] of dyn) {
    w.u64(tag);
    w.u64(val);
  }
  const dynamicSize = w.length - dynamicOff;
  // ---- .text ----
  const textOff = w.align(16);
  const fnAt: number[] = [];
  const fnSize: number[] = [];
  for (const f of functions) {
    w.align(16);
    const nr = arch.syscallNumbers[f.syscall];
    if (nr === undefined) throw new Error(`vdso: no ${f.syscall} syscall on ${arch.name}`);
    const code = syscallStub(arch, nr);
    fnAt.push(w.length);
    fnSize.push(code.length);
    w.bytes(code);
  }
  const textSize = w.length - textOff;
  const loadSize = w.length;

  // ---- section names and headers (not loaded by readers, but mapped with the rest) ----
  const shstr = new StringTable();
  const sections = [
    { name: '', type: 0, flags: 0, off: 0, size: 0, link: 0, info: 0, align: 0, entsize: 0 },
    { name: '.hash', type: SHT_HASH, flags: SHF_ALLOC, off: hashOff, size: hashSize, link: 2, info: 0, align: 8, entsize: 4 },
    { name: '.dynsym', type: SHT_DYNSYM, flags: SHF_ALLOC, off: dynsymOff, size: SYM_SIZE * nsyms, link: 3, info: 1, align: 8, entsize: SYM_SIZE },
    { name: '.dynstr', type: SHT_STRTAB, flags: SHF_ALLOC, off: dynstrOff, size: strBytes.length, link: 0, info: 0, align: 1, entsize: 0 },
    { name: '.gnu.version', type: SHT_GNU_VERSYM, flags: SHF_ALLOC, off: versymOff, size: 2 * nsyms, link: 2, info: 0, align: 2, entsize: 2 },
    { name: '.gnu.version_d', type: SHT_GNU_VERDEF, flags: SHF_ALLOC, off: verdefOff, size: verdefSize, link: 3, info: 2, align: 4, entsize: 0 },
    { name: '.dynamic', type: SHT_DYNAMIC, flags: SHF_ALLOC | 1 /* SHF_WRITE, as linkers mark it */, off: dynamicOff, size: dynamicSize, link: 3, info: 0, align: 8, entsize: 16 },
    { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, off: textOff, size: textSize, link: 0, info: 0, align: 16, entsize: 0 },
    { name: '.shstrtab', type: SHT_STRTAB, flags: 0, off: 0, size: 0, link: 0, info: 0, align: 1, entsize: 0 },
  ];
  const TEXT = 7;
  const SHSTRTAB = sections.length - 1;
  const nameOffs = sections.map((s) => shstr.add(s.name));
  const shstrBytes = shstr.bytes();
  sections[SHSTRTAB]!.off = w.length;
  sections[SHSTRTAB]!.size = shstrBytes.length;
  w.bytes(shstrBytes);
  const shoff = w.align(8);
  sections.forEach((s, i) => {
    w.u32(nameOffs[i]!);
    w.u32(s.type);
    w.u64(s.flags);
    w.u64(s.flags & SHF_ALLOC ? s.off : 0); // sh_addr: linked at 0, so the vaddr is the offset
    w.u64(s.off);
    w.u64(s.size);
    w.u32(s.link);
    w.u32(s.info);
    w.u64(s.align);
    w.u64(s.entsize);
  });
  w.patchU64(shoffAt, shoff);
  w.patchU16(shnumAt, sections.length);
  w.patchU16(shnumAt + 2, SHSTRTAB);

  // The symbols, now that .text is placed.
  const symbols = new Map<string, number>();
  syms.forEach((s, i) => {
    const at = dynsymOff + SYM_SIZE * (i + 1);
    w.patchU32(at, s.nameOff);
    const info = (s.bind << 4) | STT_FUNC;
    // st_info and st_other, then st_shndx
    w.patchU16(at + 4, info);
    w.patchU16(at + 6, TEXT);
    w.patchU64(at + 8, fnAt[s.fn]!);
    w.patchU64(at + 16, fnSize[s.fn]!);
    symbols.set(s.name, fnAt[s.fn]!);
  });
  // PT_LOAD over the whole image (read + execute), PT_DYNAMIC over .dynamic.
  const phdr = (i: number, type: number, flags: number, off: number, size: number, align: number): void => {
    const at = phdrAt + 56 * i;
    w.patchU32(at, type);
    w.patchU32(at + 4, flags);
    w.patchU64(at + 8, off);
    w.patchU64(at + 16, off);
    w.patchU64(at + 24, off);
    w.patchU64(at + 32, size);
    w.patchU64(at + 40, size);
    w.patchU64(at + 48, align);
  };
  phdr(0, PT_LOAD, PF_R | PF_X, 0, Math.max(loadSize, w.length), 4096);
  phdr(1, PT_DYNAMIC, PF_R, dynamicOff, dynamicSize, 8);
  return { bytes: w.done(), symbols };
}
