// Building the initial process image as Linux's load_elf_binary does: map
// each PT_LOAD of the program with its permissions, the dynamic loader its
// PT_INTERP names (if any), the vDSO, set the program break, map the stack
// and lay out argc, argv, envp and the auxiliary vector as the SysV ABI and
// fs/binfmt_elf.c create_elf_tables do.
import { LinuxError } from '../kernel/errors.ts';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, pageDown, pageUp } from '../kernel/memory.ts';
import { RLIM_INFINITY, type Process } from '../kernel/process.ts';
import { ElfError, PF_R, PF_W, PF_X, PT_PHDR, parseElf, type ElfImage, type ElfSegment } from './elf.ts';
import { buildVdso, type VdsoImage } from './vdso.ts';

/** Auxiliary vector keys (include/uapi/linux/auxvec.h). */
export const AT = {
  NULL: 0,
  PHDR: 3,
  PHENT: 4,
  PHNUM: 5,
  PAGESZ: 6,
  BASE: 7,
  FLAGS: 8,
  ENTRY: 9,
  UID: 11,
  EUID: 12,
  GID: 13,
  EGID: 14,
  PLATFORM: 15,
  HWCAP: 16,
  CLKTCK: 17,
  SECURE: 23,
  RANDOM: 25,
  HWCAP2: 26,
  EXECFN: 31,
  SYSINFO_EHDR: 33,
  MINSIGSTKSZ: 51,
} as const;

/**
 * What the stack is mapped with at exec besides the pages holding the
 * arguments: 128 KiB, Linux's stack_expand (fs/exec.c setup_arg_pages).
 * From there it grows on faults below it, up to RLIMIT_STACK
 * (AddressSpace.growStack), as on Linux, instead of being mapped whole: a
 * fork copies, and an exec allocates, only what the stack has used.
 */
const STACK_EXPAND = 128 << 10;

/**
 * The stack mapping's size at exec: the argument pages (strings, pointers
 * and auxv, a generous bound) plus STACK_EXPAND, but no more than
 * RLIMIT_STACK allows, as setup_arg_pages sizes it.
 */
function initialStackSize(proc: Process, req: ImageRequest): number {
  const strings = [req.execfn, ...req.argv, ...req.envp].reduce((n, s) => n + Buffer.byteLength(s, 'utf8') + 1, 0);
  const args = pageUp(strings + 8 * (req.argv.length + req.envp.length + 3) + 1024);
  const limit = proc.rlimits.get(3)!.cur; // RLIMIT_STACK
  const room = limit === RLIM_INFINITY ? Infinity : pageDown(Number(limit));
  return Math.max(args, Math.min(args + STACK_EXPAND, room));
}

export interface LoadedImage {
  elf: ElfImage;
  /** Where the CPU starts: the dynamic loader's entry, or the program's for a static one. */
  entry: number;
  sp: number;
  /** Load bias: 0 for ET_EXEC, where the PIE was placed otherwise. */
  bias: number;
  /** Where the dynamic loader was placed (AT_BASE); 0 without one. */
  interpBase: number;
  auxv: Uint8Array;
  /** Where the vDSO's ELF header is (AT_SYSINFO_EHDR). */
  vdso: number;
}

/** What /proc/self/maps shows for a file's mappings: its path, device and inode. */
export interface MappedFileId {
  name: string;
  dev: number;
  ino: number;
}

export interface ImageRequest {
  bytes: Uint8Array;
  argv: string[];
  envp: string[];
  /** AT_EXECFN: the path as given to execve (or the command line). */
  execfn: string;
  random16: Uint8Array;
  /** The program's file, for its mappings' names (default: the process's exePath, no device or inode). */
  file?: MappedFileId;
  /** The PT_INTERP loader's bytes and file, which binfmt.ts found and checked; required when the program names one. */
  interp?: { bytes: Uint8Array; file: MappedFileId } | null;
}

function segmentProt(seg: ElfSegment): number {
  return (seg.flags & PF_R ? PROT_READ : 0) | (seg.flags & PF_W ? PROT_WRITE : 0) | (seg.flags & PF_X ? PROT_EXEC : 0);
}

/** Parse and load an executable (and its dynamic loader) into a fresh process; the caller then points the CPU at `entry` with `sp`. */
export function loadImage(proc: Process, req: ImageRequest): LoadedImage {
  const elf = parseElf(req.bytes);
  const arch = proc.arch;
  if (elf.arch !== arch.name) throw new ElfError('machine', `binary is ${elf.arch}, process is ${arch.name}`);
  if (elf.interp !== null && !req.interp) throw new ElfError('malformed', `needs interpreter ${elf.interp}, which was not loaded`);
  // A PIE (ET_DYN with an interpreter) goes at ELF_ET_DYN_BASE (2/3 of
  // TASK_SIZE, unrandomised), as load_elf_binary places it. An ET_DYN without
  // one (a static-pie, or ld.so run as the program) goes there too, where
  // Linux puts it in the mmap region and, when it randomises, moves its brk
  // to ELF_ET_DYN_BASE: here the image and its brk stay together, and the
  // programs ld.so then maps go top-down in the mmap region, away from it.
  const bias = elf.type === 'dyn' ? arch.layout.pieBase - pageDown(elf.minVaddr) : 0;
  const file = req.file ?? { name: proc.exePath, dev: 0, ino: 0 };
  mapSegments(proc, elf, req.bytes, bias, file);
  proc.mem.setBrkStart(pageUp(elf.maxVaddr + bias));
  const stackProt = PROT_READ | PROT_WRITE | (elf.stackExecutable ? PROT_EXEC : 0);
  const stack = initialStackSize(proc, req);
  proc.mem.map(arch.layout.stackTop - stack, stack, stackProt, { name: '[stack]', growsDown: true });
  // The loader next, then the vDSO, each top-down below the mmap base, in
  // load_elf_binary's order (load_elf_interp, then ARCH_SETUP_ADDITIONAL_PAGES).
  const interp = req.interp ? loadInterpreter(proc, req.interp.bytes, req.interp.file) : null;
  const vdso = mapVdso(proc);
  const { sp, auxv } = buildStack(proc, elf, bias, req, vdso, interp?.base ?? 0);
  return { elf, entry: interp ? interp.entry : elf.entry + bias, sp, bias, interpBase: interp?.base ?? 0, auxv, vdso };
}

/**
 * The dynamic loader, as load_elf_interp maps it: an ET_DYN loader (every
 * real one) goes where mmap without a hint would put its whole extent (the
 * top of the mmap area), an ET_EXEC one at its own addresses. Returns its
 * load address (AT_BASE) and entry point.
 */
function loadInterpreter(proc: Process, bytes: Uint8Array, file: MappedFileId): { base: number; entry: number } {
  const elf = parseElf(bytes);
  if (elf.arch !== proc.arch.name) throw new ElfError('machine', `interpreter ${file.name} is ${elf.arch}, process is ${proc.arch.name}`);
  let bias = 0;
  if (elf.type === 'dyn') {
    const start = mapOrFail(() => proc.mem.findFree(elf.maxVaddr - elf.minVaddr), elf.minVaddr, elf.maxVaddr - elf.minVaddr);
    bias = start - elf.minVaddr;
  }
  mapSegments(proc, elf, bytes, bias, file);
  return { base: bias, entry: elf.entry + bias };
}

/** Each arch's vDSO image, built once. */
const vdsoImages = new Map<string, VdsoImage>();

/**
 * Map the vDSO (vdso.ts) read+execute at the top of the mmap area, as
 * arm64 Linux places it, and return its address. On arm64 its
 * __kernel_rt_sigreturn is also where signal handlers without SA_RESTORER
 * return to, as on Linux (arch/arm64/kernel/signal.c setup_return).
 */
function mapVdso(proc: Process): number {
  const arch = proc.arch;
  let image = vdsoImages.get(arch.name);
  if (!image) vdsoImages.set(arch.name, (image = buildVdso(arch)));
  const size = pageUp(image.bytes.length);
  const at = proc.mem.findFree(size);
  proc.mem.map(at, size, PROT_READ | PROT_EXEC, { name: '[vdso]' });
  proc.mem.poke(at, image.bytes);
  const sigreturn = image.symbols.get('__kernel_rt_sigreturn');
  if (sigreturn !== undefined) proc.sigreturnPage = at + sigreturn;
  return at;
}

/**
 * Map each PT_LOAD. Two segments may share a page at their boundary (the
 * linker packs them when the file offsets allow): that page is mapped once,
 * with the union of both permissions, as Linux's consecutive mmaps leave it
 * (the later one wins; we are more lenient and keep both). As elf_map and
 * the bss set-up leave it, the pages holding file bytes are a mapping of the
 * file (named, with its offset) and the rest of the segment (.bss beyond
 * them) is anonymous memory.
 */
function mapSegments(proc: Process, elf: ElfImage, bytes: Uint8Array, bias: number, file: MappedFileId): void {
  let mappedEnd = 0;
  let lastProt = 0;
  for (const seg of elf.loads) {
    const start = pageDown(seg.vaddr + bias);
    const end = pageUp(seg.vaddr + bias + seg.memsz);
    // Linux refuses mappings below vm.mmap_min_addr (EPERM, execve fails); the
    // page at 0x1000 is also where x86-64's CPUID probe runs.
    if (start < proc.mem.layout.mmapMin && end > start) {
      throw new ElfError('malformed', `PT_LOAD at 0x${seg.vaddr.toString(16)} lies below mmap_min_addr (0x${proc.mem.layout.mmapMin.toString(16)})`);
    }
    const prot = segmentProt(seg);
    const from = Math.max(start, mappedEnd);
    if (from > start) proc.mem.protect(start, from - start, lastProt | prot);
    const fileEnd = Math.max(from, Math.min(end, pageUp(seg.vaddr + bias + seg.filesz)));
    const fileOffset = seg.offset + (from - (seg.vaddr + bias));
    // backed: a segment without permissions (p_flags 0) still holds its file bytes, as a PROT_NONE file mapping does.
    // When the segment's bytes all fall in its own file mapping (no page
    // shared with the previous segment), the mapping is made with them
    // (MapOptions.contents): an untouched read-only segment is then known by
    // its contents, and an engine recycled from an earlier process of the
    // same program may already hold it (kernel/engine-shelf.ts).
    const whole = from === start && fileEnd > from && seg.filesz > 0;
    const contents = whole ? { image: bytes, fileStart: seg.offset, fileEnd: seg.offset + seg.filesz, at: seg.vaddr + bias - from } : null;
    if (fileEnd > from && seg.filesz > 0) {
      mapOrFail(() => proc.mem.map(from, fileEnd - from, prot, { name: file.name, dev: file.dev, ino: file.ino, offset: fileOffset, backed: true, contents }), seg.vaddr, seg.memsz);
    }
    const anonFrom = seg.filesz > 0 ? fileEnd : from;
    if (end > anonFrom) mapOrFail(() => proc.mem.map(anonFrom, end - anonFrom, prot, { backed: true }), seg.vaddr, seg.memsz);
    // Otherwise the kernel writes the file bytes; PROT_WRITE does not apply to it.
    if (!contents) proc.mem.poke(seg.vaddr + bias, bytes.subarray(seg.offset, seg.offset + seg.filesz));
    mappedEnd = Math.max(mappedEnd, end);
    lastProt = prot;
  }
}

/** A segment the address space cannot hold (ENOMEM past the memory limit, say) is a launch error, not a host exception. */
function mapOrFail<T>(map: () => T, vaddr: number, memsz: number): T {
  try {
    return map();
  } catch (e) {
    if (!(e instanceof LinuxError)) throw e;
    throw new ElfError('malformed', `PT_LOAD at 0x${vaddr.toString(16)} (size 0x${memsz.toString(16)}) cannot be mapped: ${e.code}`);
  }
}

function phdrAddress(elf: ElfImage, bias: number): number {
  const phdr = elf.segments.find((s) => s.type === PT_PHDR);
  if (phdr) return phdr.vaddr + bias;
  const holder = elf.loads.find((s) => elf.phoff >= s.offset && elf.phoff < s.offset + s.filesz);
  return holder ? holder.vaddr + bias + (elf.phoff - holder.offset) : 0;
}

/**
 * The initial stack, from the top down: the AT_EXECFN string, the envp and
 * argv strings, AT_PLATFORM, the 16 AT_RANDOM bytes; then, 16-byte aligned,
 * argc, argv[], NULL, envp[], NULL, auxv pairs ending with AT_NULL
 * (see the System V AMD64 ABI 3.4.1 and Linux fs/binfmt_elf.c create_elf_tables).
 */
function buildStack(proc: Process, elf: ElfImage, bias: number, req: ImageRequest, vdso: number, interpBase: number): { sp: number; auxv: Uint8Array } {
  const mem = proc.mem;
  const arch = proc.arch;
  let top = arch.layout.stackTop - 8;
  const pushString = (s: string): number => {
    const bytes = Buffer.from(s, 'utf8');
    top -= bytes.length + 1;
    mem.pokeCString(top, bytes);
    return top;
  };
  const execfn = pushString(req.execfn);
  // The argv and envp strings as one block, argv[0] lowest and envp after
  // argv, as fs/exec.c copy_strings leaves them: programs that rewrite
  // their title in place (setproctitle) count on that layout.
  const strings = [...req.argv, ...req.envp].map((s) => Buffer.from(s, 'utf8'));
  top -= strings.reduce((n, b) => n + b.length + 1, 0);
  let cursor = top;
  const ptrs = strings.map((b) => {
    const at = cursor;
    cursor += mem.pokeCString(at, b);
    return at;
  });
  const argPtrs = ptrs.slice(0, req.argv.length);
  const envPtrs = ptrs.slice(req.argv.length);
  const platform = pushString(arch.platform);
  top = alignDown16(top) - 16;
  const random = top;
  mem.poke(random, req.random16);

  const { hwcap, hwcap2 } = proc.cpu.hwcaps();
  const c = proc.creds;
  // In create_elf_tables' order: ARCH_DLINFO (the vDSO) first.
  const auxPairs: [number, number][] = [
    [AT.SYSINFO_EHDR, vdso],
    [AT.HWCAP, hwcap],
    [AT.PAGESZ, PAGE_SIZE],
    [AT.CLKTCK, 100],
    [AT.PHDR, phdrAddress(elf, bias)],
    [AT.PHENT, elf.phentsize],
    [AT.PHNUM, elf.phnum],
    [AT.BASE, interpBase],
    [AT.FLAGS, 0],
    [AT.ENTRY, elf.entry + bias],
    [AT.UID, c.uid],
    [AT.EUID, c.euid],
    [AT.GID, c.gid],
    [AT.EGID, c.egid],
    [AT.SECURE, 0],
    [AT.RANDOM, random],
    [AT.HWCAP2, hwcap2],
    [AT.EXECFN, execfn],
    [AT.PLATFORM, platform],
  ];
  if (arch.name === 'aarch64') auxPairs.push([AT.MINSIGSTKSZ, arch.c.MINSIGSTKSZ]);
  auxPairs.push([AT.NULL, 0]);

  const words = [req.argv.length, ...argPtrs, 0, ...envPtrs, 0, ...auxPairs.flat()];
  const sp = alignDown16(top - words.length * 8);
  const table = new Uint8Array(words.length * 8);
  const view = new DataView(table.buffer);
  words.forEach((w, i) => view.setBigUint64(i * 8, BigInt(w), true));
  mem.poke(sp, table);
  const auxv = table.slice((req.argv.length + req.envp.length + 3) * 8);
  return { sp, auxv };
}

function alignDown16(n: number): number {
  return n - (n % 16);
}

/** Used by tests: the auxv as key/value pairs. */
export function decodeAuxv(auxv: Uint8Array): Map<number, number> {
  const v = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  const out = new Map<number, number>();
  for (let i = 0; i + 16 <= auxv.byteLength; i += 16) {
    const key = Number(v.getBigUint64(i, true));
    if (key === AT.NULL) break;
    out.set(key, Number(v.getBigUint64(i + 8, true)));
  }
  return out;
}

