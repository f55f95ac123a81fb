// ELF64 header + program header parser for the tslinux loader.
// Not the npm package `elfinfo` (sole release 0.4.0-beta): it has .d.ts types and raw p_* fields, but open() is always
// async (Promise), bad magic is only a warning, only e_phoff (not the table end) is checked against the file size,
// p_vaddr comes back as bigint|number and other u64s are converted with a 1e51 "safe" limit (silent precision loss past
// 2^53); no PT_INTERP string or stack/TLS/build-id semantics; it also parses sections/symbols and ships @types/node@14
// as a runtime dependency. The loader needs only the ELF header and program headers, so our own strict parser wins.
//
// Everything here is synchronous, works on any Uint8Array (Buffer included, any byteOffset) and throws nothing but
// ElfError (whose message is a single line meant to be printed as `tslinux: <path>: <message>`).

export type ElfArch = 'x86_64' | 'aarch64';

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

export const ET_EXEC = 2;
export const ET_DYN = 3;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
export const PT_GNU_PROPERTY = 0x6474e553;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export const NT_GNU_BUILD_ID = 3;

/** Page size assumed for congruence checks and the min/max extent (both supported arches use 4 KiB here). */
export const ELF_PAGE_SIZE = 4096;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/**
 * Linux (fs/binfmt_elf.c load_elf_phdrs) refuses program header tables larger than 65536 bytes (and, on 4 KiB-page
 * kernels, larger than one page, i.e. 73 entries). We use the page-size independent hard cap, 65536 / 56 = 1170
 * entries: generous for any real binary, and it rejects PN_XNUM (0xffff, extended numbering) which Linux does not
 * support for executables either.
 */
export const MAX_PHNUM = Math.floor(65536 / PHDR_SIZE);
/** PATH_MAX; Linux rejects a PT_INTERP larger than this or smaller than 2 bytes. */
const MAX_INTERP = 4096;

/** Exclusive upper bound of the user address space we accept for segment ends (TASK_SIZE-ish, 4-level paging / 48-bit VA). */
const USER_VA_LIMIT: Record<ElfArch, number> = {
  x86_64: 2 ** 47,
  aarch64: 2 ** 48,
};

const MACHINE_NAMES: Record<number, string> = {
  2: 'sparc',
  3: 'i386',
  8: 'mips',
  18: 'sparc32plus',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  40: 'arm',
  42: 'superh',
  43: 'sparcv9',
  50: 'ia64',
  62: 'x86-64',
  183: 'aarch64',
  243: 'riscv',
  247: 'bpf',
  258: 'loongarch',
};

export type ElfErrorKind = 'not-elf' | 'class' | 'endian' | 'machine' | 'type' | 'malformed';

export class ElfError extends Error {
  override name = 'ElfError';
  /** Machine-readable reason; the message is the human-readable one-liner. */
  readonly kind: ElfErrorKind;

  constructor(kind: ElfErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface ElfSegment {
  type: number;
  flags: number; // PF_R=4 PF_W=2 PF_X=1
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  arch: ElfArch;
  machine: number;
  type: 'exec' | 'dyn';
  /** e_entry as linked (for 'dyn' images it is relative to the load bias). */
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  /** All program headers, in file order. */
  segments: ElfSegment[];
  /** PT_LOAD only, sorted by vaddr, non-overlapping. */
  loads: ElfSegment[];
  /** The PT_INTERP path (the dynamic loader, e.g. /lib64/ld-linux-x86-64.so.2), as bytes in a latin1 string; null for a static binary. */
  interp: string | null;
  /**
   * Whether the main thread stack must be executable, following Linux >= 5.8 (commits "x86/elf: Disable automatic
   * READ_IMPLIES_EXEC on 64-bit" and "arm64, elf: Disable automatic READ_IMPLIES_EXEC for 64-bit address spaces"):
   * for 64-bit x86-64 and aarch64 processes the stack is executable only when PT_GNU_STACK is present with PF_X
   * ("exec-stack"); a missing PT_GNU_STACK means "exec-none" on both arches. Kernels before 5.8 instead turned on
   * READ_IMPLIES_EXEC for binaries lacking PT_GNU_STACK (everything readable became executable, stack included);
   * callers that want that legacy behaviour can use `hasGnuStack`.
   */
  stackExecutable: boolean;
  /** True when a PT_GNU_STACK header exists (see stackExecutable). */
  hasGnuStack: boolean;
  tlsSegment: ElfSegment | null;
  /** Lowercase hex of the NT_GNU_BUILD_ID note descriptor, if any PT_NOTE carries one. */
  buildId: string | null;
  /**
   * Link-time address of the program headers in memory (for AT_PHDR), computed like Linux does: the PT_LOAD whose
   * file range contains e_phoff..e_phoff+phnum*56, i.e. vaddr + (e_phoff - p_offset); falls back to PT_PHDR's vaddr.
   * null when the headers are not mapped.
   */
  phdrVaddr: number | null;
  /** Page-rounded-down lowest PT_LOAD vaddr. */
  minVaddr: number;
  /** Page-rounded-up end (exclusive) of the highest PT_LOAD. */
  maxVaddr: number;
}

function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}

function malformed(what: string): ElfError {
  return new ElfError('malformed', `malformed ELF: ${what}`);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Converts a u64 field; values that do not fit a JS number exactly are malformed. */
function toSafe(v: bigint, what: string): number {
  if (v > MAX_SAFE) throw malformed(`${what} ${hex(v)} is too large`);
  return Number(v);
}

function segName(type: number): string {
  switch (type) {
    case PT_LOAD: return 'PT_LOAD';
    case PT_INTERP: return 'PT_INTERP';
    case PT_NOTE: return 'PT_NOTE';
    case PT_TLS: return 'PT_TLS';
    case PT_PHDR: return 'PT_PHDR';
    case PT_DYNAMIC: return 'PT_DYNAMIC';
    case PT_GNU_STACK: return 'PT_GNU_STACK';
    case PT_GNU_RELRO: return 'PT_GNU_RELRO';
    case PT_GNU_EH_FRAME: return 'PT_GNU_EH_FRAME';
    case PT_GNU_PROPERTY: return 'PT_GNU_PROPERTY';
    default: return `segment type ${hex(type)}`;
  }
}

function rangeStr(start: number, end: number): string {
  return `${hex(start)}-${hex(end)}`;
}

/**
 * Parses and validates an x86-64 or aarch64 ELF64 executable (ET_EXEC or ET_DYN: a PIE, a static-pie, or a dynamic
 * loader run as a program), static or with a PT_INTERP.
 * Validation order: magic, class, endianness, (header length), machine, type, program headers, interpreter, loads.
 */
export function parseElf(bytes: Uint8Array): ElfImage {
  try {
    return parseElfUnchecked(bytes);
  } catch (e) {
    if (e instanceof ElfError) throw e;
    // Defensive: every bound is checked before reading, so this should be unreachable.
    const detail = e instanceof Error ? e.message : String(e);
    throw malformed(`unexpected parse failure (${detail.split('\n')[0]})`);
  }
}

function parseElfUnchecked(bytes: Uint8Array): ElfImage {
  const size = bytes.byteLength;

  // --- e_ident ---
  if (size < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not-elf', 'not an ELF file');
  }
  const eiClass = bytes[4];
  if (eiClass === 1) throw new ElfError('class', '32-bit ELF is not supported (only 64-bit x86-64 and aarch64)');
  if (eiClass !== 2) throw malformed(`invalid ELF class ${eiClass}`);
  const eiData = bytes[5];
  if (eiData === 2) throw new ElfError('endian', 'big-endian ELF is not supported');
  if (eiData !== 1) throw malformed(`invalid data encoding ${eiData}`);
  if (size < EHDR_SIZE) throw malformed(`truncated ELF header (${size} bytes, need ${EHDR_SIZE})`);

  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);

  // --- e_machine ---
  const machine = u16(18);
  let arch: ElfArch;
  if (machine === EM_X86_64) arch = 'x86_64';
  else if (machine === EM_AARCH64) arch = 'aarch64';
  else throw new ElfError('machine', `unsupported machine ${MACHINE_NAMES[machine] ?? machine} (only x86-64 and aarch64)`);

  // --- e_type ---
  const eType = u16(16);
  if (eType !== ET_EXEC && eType !== ET_DYN) {
    throw new ElfError('type', `not an executable (ELF type ${eType})`);
  }

  const entryBig = u64(24);
  const phoffBig = u64(32);
  const phentsize = u16(54);
  const phnum = u16(56);

  // --- program header table ---
  if (phentsize !== PHDR_SIZE) throw malformed(`program header entry size is ${phentsize} (expected ${PHDR_SIZE})`);
  if (phnum === 0) throw malformed('no program headers');
  if (phnum > MAX_PHNUM) throw malformed(`too many program headers (${phnum}, at most ${MAX_PHNUM})`);
  const tableEnd = phoffBig + BigInt(phnum * PHDR_SIZE);
  if (tableEnd > BigInt(size)) {
    throw malformed(`program header table (offset ${hex(phoffBig)}, ${phnum} entries) lies outside the file (${size} bytes)`);
  }
  const phoff = Number(phoffBig); // < size, so exact
  const entry = toSafe(entryBig, 'entry point');

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const b = phoff + i * PHDR_SIZE;
    const type = u32(b);
    const name = `program header ${i} (${segName(type)})`;
    segments.push({
      type,
      flags: u32(b + 4),
      offset: toSafe(u64(b + 8), `${name} p_offset`),
      vaddr: toSafe(u64(b + 16), `${name} p_vaddr`),
      filesz: toSafe(u64(b + 32), `${name} p_filesz`),
      memsz: toSafe(u64(b + 40), `${name} p_memsz`),
      align: toSafe(u64(b + 48), `${name} p_align`),
    });
  }

  const inFile = (s: ElfSegment) => s.offset <= size && s.filesz <= size - s.offset;

  // --- interpreter (PT_INTERP: the dynamic loader to run first) ---
  let interp: string | null = null;
  const interpSeg = segments.find((s) => s.type === PT_INTERP); // Linux honours the first one
  if (interpSeg) {
    if (!inFile(interpSeg)) throw malformed(`PT_INTERP ${rangeStr(interpSeg.offset, interpSeg.offset + interpSeg.filesz)} lies outside the file (${size} bytes)`);
    if (interpSeg.filesz < 2 || interpSeg.filesz > MAX_INTERP) throw malformed(`PT_INTERP has bad size ${interpSeg.filesz}`);
    const raw = bytes.subarray(interpSeg.offset, interpSeg.offset + interpSeg.filesz);
    // load_elf_binary: the last byte must be the NUL; the path is what comes before the first NUL.
    if (raw[raw.length - 1] !== 0) throw malformed('PT_INTERP is not NUL-terminated');
    // Paths are byte strings: latin1 keeps every byte as one char, as the VFS reads guest paths.
    interp = Buffer.from(raw.subarray(0, raw.indexOf(0))).toString('latin1');
    if (interp === '') throw malformed('PT_INTERP is empty');
  }

  // --- PT_LOAD segments ---
  const limit = USER_VA_LIMIT[arch];
  const loads = segments.filter((s) => s.type === PT_LOAD);
  if (loads.length === 0) throw malformed('no PT_LOAD segments');
  for (const s of loads) {
    const where = `PT_LOAD at ${hex(s.vaddr)}`;
    if (s.filesz > s.memsz) throw malformed(`${where} has p_filesz ${hex(s.filesz)} > p_memsz ${hex(s.memsz)}`);
    // A segment with no file contents (pure .bss) reads nothing, so its p_offset is not checked against the file.
    if (s.filesz > 0 && !inFile(s)) {
      throw malformed(`${where} file range ${rangeStr(s.offset, s.offset + s.filesz)} lies outside the file (${size} bytes)`);
    }
    if (s.align >= ELF_PAGE_SIZE && s.offset % ELF_PAGE_SIZE !== s.vaddr % ELF_PAGE_SIZE) {
      throw malformed(`${where} has p_offset ${hex(s.offset)} and p_vaddr not congruent modulo the page size`);
    }
    // Both terms are < 2^53; if either exceeds the limit the (possibly rounded) sum does too, so this is exact enough.
    if (s.vaddr >= limit || s.memsz > limit - s.vaddr) {
      throw malformed(`${where} (size ${hex(s.memsz)}) extends beyond the ${Math.log2(limit)}-bit ${arch === 'x86_64' ? 'x86-64' : 'aarch64'} user address space`);
    }
  }
  loads.sort((a, b) => a.vaddr - b.vaddr);
  let prev: ElfSegment | null = null;
  for (const s of loads) {
    if (s.memsz === 0) continue;
    if (prev && s.vaddr < prev.vaddr + prev.memsz) {
      throw malformed(`PT_LOAD segments overlap (${rangeStr(prev.vaddr, prev.vaddr + prev.memsz)} and ${rangeStr(s.vaddr, s.vaddr + s.memsz)})`);
    }
    prev = s;
  }

  // --- entry point: must be inside an executable PT_LOAD (for ET_DYN both are relative to the load bias) ---
  const entrySeg = loads.find((s) => (s.flags & PF_X) !== 0 && entry >= s.vaddr && entry - s.vaddr < s.memsz);
  if (!entrySeg) {
    if (eType === ET_DYN && entry === 0) {
      throw malformed('entry point is 0 (a shared library rather than a static-pie executable?)');
    }
    throw malformed(`entry point ${hex(entry)} is not inside an executable PT_LOAD segment`);
  }

  // --- PT_TLS ---
  const tlsSegs = segments.filter((s) => s.type === PT_TLS);
  if (tlsSegs.length > 1) throw malformed('more than one PT_TLS segment');
  const tlsSegment = tlsSegs[0] ?? null;
  if (tlsSegment) {
    if (tlsSegment.filesz > tlsSegment.memsz) throw malformed(`PT_TLS has p_filesz ${hex(tlsSegment.filesz)} > p_memsz ${hex(tlsSegment.memsz)}`);
    if (tlsSegment.filesz > 0 && !inFile(tlsSegment)) {
      throw malformed(`PT_TLS file range ${rangeStr(tlsSegment.offset, tlsSegment.offset + tlsSegment.filesz)} lies outside the file (${size} bytes)`);
    }
  }

  // --- PT_GNU_STACK (Linux uses the last one it sees) ---
  let gnuStack: ElfSegment | null = null;
  for (const s of segments) if (s.type === PT_GNU_STACK) gnuStack = s;
  const stackExecutable = gnuStack !== null && (gnuStack.flags & PF_X) !== 0;

  // --- build id (notes are advisory: malformed notes are skipped, never fatal) ---
  let buildId: string | null = null;
  for (const s of segments) {
    if (s.type !== PT_NOTE || buildId !== null) continue;
    if (!inFile(s)) continue;
    buildId = findBuildId(dv, s.offset, s.filesz, s.align === 8 ? 8 : 4);
  }

  // --- AT_PHDR ---
  let phdrVaddr: number | null = null;
  const tableLen = phnum * PHDR_SIZE;
  for (const s of loads) {
    if (phoff >= s.offset && phoff + tableLen <= s.offset + s.filesz) {
      phdrVaddr = s.vaddr + (phoff - s.offset);
      break;
    }
  }
  if (phdrVaddr === null) {
    const ph = segments.find((s) => s.type === PT_PHDR);
    if (ph) phdrVaddr = ph.vaddr;
  }

  const first = loads[0];
  let end = 0;
  for (const s of loads) end = Math.max(end, s.vaddr + s.memsz);
  const minVaddr = first.vaddr - (first.vaddr % ELF_PAGE_SIZE);
  const maxVaddr = Math.ceil(end / ELF_PAGE_SIZE) * ELF_PAGE_SIZE;

  return {
    arch,
    machine,
    type: eType === ET_EXEC ? 'exec' : 'dyn',
    entry,
    phoff,
    phentsize,
    phnum,
    segments,
    loads,
    interp,
    stackExecutable,
    hasGnuStack: gnuStack !== null,
    tlsSegment,
    buildId,
    phdrVaddr,
    minVaddr,
    maxVaddr,
  };
}

/**
 * Walks an ELF note area. Each entry is Elf64_Nhdr {namesz, descsz, type} followed by the name and the descriptor;
 * as in binutils (ELF_NOTE_DESC_OFFSET / ELF_NOTE_NEXT_OFFSET) the descriptor starts at alignUp(12 + namesz, align)
 * from the note start and the next note at alignUp(descOffset + descsz, align), with align = 4 or 8 (p_align).
 */
function findBuildId(dv: DataView, offset: number, length: number, align: number): string | null {
  const up = (n: number) => Math.ceil(n / align) * align;
  let p = offset;
  const end = offset + length;
  while (end - p >= 12) {
    const namesz = dv.getUint32(p, true);
    const descsz = dv.getUint32(p + 4, true);
    const type = dv.getUint32(p + 8, true);
    const descStart = p + up(12 + namesz);
    if (descStart + descsz > end) return null; // truncated note: give up quietly
    if (
      type === NT_GNU_BUILD_ID && namesz === 4 && descsz > 0 &&
      dv.getUint8(p + 12) === 0x47 && dv.getUint8(p + 13) === 0x4e &&
      dv.getUint8(p + 14) === 0x55 && dv.getUint8(p + 15) === 0
    ) {
      let out = '';
      for (let i = 0; i < descsz; i++) out += dv.getUint8(descStart + i).toString(16).padStart(2, '0');
      return out;
    }
    p = up(descStart - offset + descsz) + offset; // always advances by >= 12
  }
  return null;
}
