// The initial process image (src/loader/image.ts) of real guest binaries,
// built through createKernel and inspected before anything runs: the
// PT_LOAD mappings, the program break, the stack and what is on it (argc,
// argv, envp, auxv) as Linux's fs/binfmt_elf.c lays it out.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeadlessKernel, createKernel } from '../src/index.ts';
import type { Kernel } from '../src/kernel/kernel.ts';
import { PF_R, PF_W, PF_X, parseElf, type ElfImage, type ElfSegment } from '../src/loader/elf.ts';
import { AT, decodeAuxv, loadImage } from '../src/loader/image.ts';
import { ARCHES } from '../src/arch/index.ts';
import { RLIM_INFINITY } from '../src/kernel/process.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = 4096;
const pageDown = (n: number): number => n - (n % PAGE);
const pageUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

const UID = 4321;
const GID = 8765;
const ARGS = ['first', 'two words', ''];
const ENV = { LANG: 'C', TSL_X: 'é ünïcode' };

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function prot(seg: ElfSegment): number {
  return (seg.flags & PF_R ? 1 : 0) | (seg.flags & PF_W ? 2 : 0) | (seg.flags & PF_X ? 4 : 0);
}

interface StackImage {
  sp: number;
  argc: number;
  argv: string[];
  argvPtrs: number[];
  envp: string[];
  envPtrs: number[];
  /** The auxv pairs in order, AT_NULL included. */
  auxPairs: [number, number][];
  aux: Map<number, number>;
}

/** Walk the initial stack the way a libc start-up does. */
function readStack(k: Kernel): StackImage {
  const sp = k.cpu.sp();
  const mem = k.proc.mem;
  let at = sp;
  const next = (): number => {
    const v = mem.readU64(at);
    at += 8;
    return v;
  };
  const argc = next();
  const argvPtrs: number[] = [];
  for (let i = 0; i < argc; i++) argvPtrs.push(next());
  expect(next()).toBe(0); // argv[argc]
  const envPtrs: number[] = [];
  for (let p = next(); p !== 0; p = next()) envPtrs.push(p);
  const auxPairs: [number, number][] = [];
  for (;;) {
    const key = next();
    const value = next();
    auxPairs.push([key, value]);
    if (key === AT.NULL) break;
    if (auxPairs.length > 100) throw new Error('auxv does not end');
  }
  const str = (p: number): string => Buffer.from(mem.readCStringBytes(p)).toString('utf8');
  return {
    sp,
    argc,
    argv: argvPtrs.map(str),
    argvPtrs,
    envp: envPtrs.map(str),
    envPtrs,
    auxPairs,
    aux: new Map(auxPairs.slice(0, -1)),
  };
}

interface Case {
  name: string;
  arch: 'x86_64' | 'aarch64';
  /** Resolved in beforeAll (a built static-PIE lives in a temp dir). */
  path: () => string;
  pie: boolean;
  skip: boolean;
}

let tmp = '';
const built: Record<string, string> = {};

/**
 * Debian's musl-gcc specs know nothing of -static-pie (they link Scrt1.o
 * against libc.so with an interpreter), so spell the static-PIE link out:
 * musl's self-relocating rcrt1.o, -static -pie and no dynamic linker.
 */
function buildMuslStaticPie(out: string): void {
  const lib = '/usr/lib/x86_64-linux-musl';
  const gccFile = (f: string): string => execFileSync('musl-gcc', [`-print-file-name=${f}`]).toString().trim();
  execFileSync('musl-gcc', [
    '-O2', '-fPIE', '-static-pie', '-nostartfiles', '-Wl,-static,-pie,--no-dynamic-linker,-z,text',
    `${lib}/rcrt1.o`, `${lib}/crti.o`, gccFile('crtbeginS.o'),
    join(root, 'guest-binaries', 'src', 'hello.c'),
    gccFile('crtendS.o'), `${lib}/crtn.o`,
    '-o', out,
  ]);
}

const haveMuslPie = which('musl-gcc') && existsSync('/usr/lib/x86_64-linux-musl/rcrt1.o');
const haveGlibcArmPie = which('aarch64-linux-gnu-gcc');

const CASES: Case[] = [
  { name: 'x86_64 hello (musl, ET_EXEC)', arch: 'x86_64', path: () => join(root, 'guest-binaries/x86_64/hello'), pie: false, skip: false },
  { name: 'aarch64 hello (glibc, ET_EXEC)', arch: 'aarch64', path: () => join(root, 'guest-binaries/aarch64/hello'), pie: false, skip: false },
  { name: 'x86_64 hello static-PIE (musl-gcc)', arch: 'x86_64', path: () => built['x86_64-pie']!, pie: true, skip: !haveMuslPie },
  {
    name: 'aarch64 hello static-PIE (aarch64-linux-gnu-gcc)',
    arch: 'aarch64',
    path: () => built['aarch64-pie']!,
    pie: true,
    skip: !haveGlibcArmPie,
  },
];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tslinux-loader-'));
  if (haveMuslPie) {
    built['x86_64-pie'] = join(tmp, 'hello-pie-x86_64');
    buildMuslStaticPie(built['x86_64-pie']);
  }
  if (haveGlibcArmPie) {
    built['aarch64-pie'] = join(tmp, 'hello-pie-aarch64');
    execFileSync('aarch64-linux-gnu-gcc', ['-O2', '-static-pie', join(root, 'guest-binaries/src/hello.c'), '-o', built['aarch64-pie']]);
  }
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.each(CASES)('initial image: $name', (c) => {
  let k: Kernel;
  let elf: ElfImage;
  let bytes: Uint8Array;
  let bias: number;
  let stack: StackImage;
  let argv0: string;

  beforeAll(() => {
    if (c.skip) return;
    bytes = readFileSync(c.path());
    elf = parseElf(bytes);
    argv0 = c.path();
    k = createKernel(argv0, { args: ARGS, env: ENV, uid: UID, gid: GID });
    bias = c.pie ? k.arch.layout.pieBase - pageDown(elf.minVaddr) : 0;
    stack = readStack(k);
  });

  afterAll(() => {
    k?.cpu?.close();
  });

  it.skipIf(c.skip)('is the expected kind of ELF for this arch', () => {
    expect(elf.arch).toBe(c.arch);
    expect(k.arch.name).toBe(c.arch);
    expect(elf.type).toBe(c.pie ? 'dyn' : 'exec');
    expect(elf.interp).toBeNull();
  });

  it.skipIf(c.skip)('maps every PT_LOAD with its permissions and file contents', () => {
    const mem = k.proc.mem;
    const exeMaps = mem.mappings().filter((m) => m.name === k.proc.exePath);
    expect(exeMaps.length).toBeGreaterThanOrEqual(1);
    // Pages two segments share get both permissions; every other page exactly its segment's.
    const owners = new Map<number, number[]>();
    elf.loads.forEach((seg, i) => {
      for (let p = pageDown(seg.vaddr + bias); p < pageUp(seg.vaddr + bias + seg.memsz); p += PAGE) {
        owners.set(p, [...(owners.get(p) ?? []), i]);
      }
    });
    for (const [page, segs] of owners) {
      const m = mem.mappingAt(page);
      expect(m, `page 0x${page.toString(16)} mapped`).toBeDefined();
      // As Linux maps them: the pages holding file bytes are the file's; .bss beyond them is anonymous.
      const fromFile = segs.some((i) => elf.loads[i]!.filesz > 0 && page < pageUp(elf.loads[i]!.vaddr + bias + elf.loads[i]!.filesz));
      expect(m!.name, `name of page 0x${page.toString(16)}`).toBe(fromFile ? k.proc.exePath : '');
      const want = segs.reduce((acc, i) => acc | prot(elf.loads[i]!), 0);
      expect(m!.prot, `prot of page 0x${page.toString(16)}`).toBe(want);
    }
    // Nothing of the executable is mapped outside its segments.
    for (const m of exeMaps) {
      for (let p = m.start; p < m.end; p += PAGE) expect(owners.has(p), `stray page 0x${p.toString(16)}`).toBe(true);
    }
    for (const seg of elf.loads) {
      const addr = seg.vaddr + bias;
      expect(Buffer.from(mem.read(addr, seg.filesz)).equals(Buffer.from(bytes.subarray(seg.offset, seg.offset + seg.filesz)))).toBe(true);
      if (seg.memsz > seg.filesz) {
        const bss = mem.read(addr + seg.filesz, seg.memsz - seg.filesz);
        expect(bss.every((b) => b === 0)).toBe(true);
      }
    }
    // The text is executable and not writable; the data segment is writable and not executable.
    expect(elf.loads.some((s) => prot(s) === 5)).toBe(true);
    expect(elf.loads.some((s) => prot(s) === 3)).toBe(true);
  });

  it.skipIf(c.skip)(c.pie ? 'loads the static-PIE at the arch pieBase' : 'loads the ET_EXEC at its link address', () => {
    const first = elf.loads[0]!;
    const lowest = Math.min(...k.proc.mem.mappings().filter((m) => m.name === k.proc.exePath).map((m) => m.start));
    if (c.pie) {
      expect(pageDown(first.vaddr)).toBe(0);
      expect(lowest).toBe(k.arch.layout.pieBase);
      expect(bias).toBe(k.arch.layout.pieBase);
    } else {
      expect(lowest).toBe(pageDown(first.vaddr));
    }
    expect(k.cpu.pc()).toBe(elf.entry + bias);
  });

  it.skipIf(c.skip)('starts the break page-aligned right after the highest segment', () => {
    const mem = k.proc.mem;
    const top = Math.max(...elf.loads.map((s) => pageUp(s.vaddr + bias + s.memsz)));
    expect(mem.brkStart).toBe(top);
    expect(mem.brkStart % PAGE).toBe(0);
    expect(mem.brkCurrent).toBe(mem.brkStart);
    expect(mem.mappingAt(mem.brkStart)).toBeUndefined();
    // The break grows into [heap] from there.
    expect(mem.brk(mem.brkStart + 10)).toBe(mem.brkStart + 10);
    expect(mem.mappingAt(mem.brkStart)!.name).toBe('[heap]');
    mem.brk(mem.brkStart);
    expect(mem.mappingAt(mem.brkStart)).toBeUndefined();
  });

  it.skipIf(c.skip)('maps the stack as [stack], read-write, ending at stackTop', () => {
    const m = k.proc.mem.mappingAt(stack.sp)!;
    expect(m).toBeDefined();
    expect(m.name).toBe('[stack]');
    expect(m.prot).toBe(3); // PT_GNU_STACK is RW
    expect(m.end).toBe(k.arch.layout.stackTop);
    expect(k.proc.mem.mappings().filter((x) => x.name === '[stack]')).toHaveLength(1);
  });

  it.skipIf(c.skip)('has a 16-byte aligned sp holding argc, argv and envp', () => {
    expect(stack.sp % 16).toBe(0);
    expect(stack.argc).toBe(1 + ARGS.length);
    expect(stack.argv).toEqual([argv0, ...ARGS]);
    expect(stack.envp).toEqual(Object.entries(ENV).map(([key, v]) => `${key}=${v}`));
    // The strings live on the stack above the pointer tables.
    const m = k.proc.mem.mappingAt(stack.sp)!;
    for (const p of [...stack.argvPtrs, ...stack.envPtrs]) {
      expect(p).toBeGreaterThan(stack.sp);
      expect(p).toBeLessThan(m.end);
    }
  });

  it.skipIf(c.skip)('lays the argv and envp strings out as one ascending block, like copy_strings', () => {
    const strs = [...stack.argv, ...stack.envp];
    const ptrs = [...stack.argvPtrs, ...stack.envPtrs];
    for (let i = 0; i + 1 < ptrs.length; i++) {
      expect(ptrs[i + 1], `string ${i + 1} follows string ${i}`).toBe(ptrs[i]! + Buffer.byteLength(strs[i]!) + 1);
    }
    // AT_EXECFN is above the block, AT_PLATFORM and AT_RANDOM below it.
    const end = ptrs.at(-1)! + Buffer.byteLength(strs.at(-1)!) + 1;
    expect(stack.aux.get(AT.EXECFN)!).toBeGreaterThanOrEqual(end);
    expect(stack.aux.get(AT.PLATFORM)!).toBeLessThan(ptrs[0]!);
    expect(stack.aux.get(AT.RANDOM)! + 16).toBeLessThanOrEqual(stack.aux.get(AT.PLATFORM)!);
  });

  it.skipIf(c.skip)('leaves the registers Linux zeroes zero at the entry point', () => {
    expect(k.cpu.register(c.arch === 'x86_64' ? 'rdx' : 'x0')).toBe(0);
  });

  it.skipIf(c.skip)('ends the auxv with AT_NULL and lists each key once', () => {
    const keys = stack.auxPairs.map(([key]) => key);
    expect(keys.at(-1)).toBe(AT.NULL);
    expect(stack.auxPairs.at(-1)).toEqual([AT.NULL, 0]);
    expect(keys.filter((key) => key === AT.NULL)).toHaveLength(1);
    expect(new Set(keys).size).toBe(keys.length);
    // The copy the process keeps (for /proc/self/auxv) is the same vector.
    expect(decodeAuxv(k.proc.auxv)).toEqual(stack.aux);
  });

  it.skipIf(c.skip)('has the ELF facts in the auxv', () => {
    const a = stack.aux;
    expect(a.get(AT.PHENT)).toBe(56);
    expect(a.get(AT.PHNUM)).toBe(elf.phnum);
    expect(a.get(AT.PAGESZ)).toBe(4096);
    expect(a.get(AT.BASE)).toBe(0);
    expect(a.get(AT.ENTRY)).toBe(elf.entry + bias);
    // AT_PHDR points at the program headers as they are in the file.
    const phdr = a.get(AT.PHDR)!;
    expect(phdr).toBeGreaterThan(0);
    const table = k.proc.mem.read(phdr, elf.phnum * 56);
    expect(Buffer.from(table).equals(Buffer.from(bytes.subarray(elf.phoff, elf.phoff + elf.phnum * 56)))).toBe(true);
  });

  it.skipIf(c.skip)('has the credentials, AT_SECURE=0 and AT_CLKTCK=100', () => {
    const a = stack.aux;
    expect(a.get(AT.UID)).toBe(UID);
    expect(a.get(AT.EUID)).toBe(UID);
    expect(a.get(AT.GID)).toBe(GID);
    expect(a.get(AT.EGID)).toBe(GID);
    expect(a.get(AT.SECURE)).toBe(0);
    expect(a.get(AT.CLKTCK)).toBe(100);
  });

  it.skipIf(c.skip)('points AT_RANDOM at 16 readable bytes on the stack', () => {
    const r = stack.aux.get(AT.RANDOM)!;
    const m = k.proc.mem.mappingAt(r)!;
    expect(m.name).toBe('[stack]');
    expect(r).toBeGreaterThan(stack.sp);
    expect(r + 16).toBeLessThanOrEqual(m.end);
    expect(k.proc.mem.read(r, 16)).toHaveLength(16);
  });

  it.skipIf(c.skip)('reports the hwcaps of the emulated CPU', () => {
    const a = stack.aux;
    const hwcap = a.get(AT.HWCAP)!;
    expect(a.has(AT.HWCAP2)).toBe(true);
    if (c.arch === 'x86_64') {
      expect(hwcap & 1).toBe(1); // FPU
      expect((hwcap >>> 25) & 1).toBe(1); // SSE
    } else {
      expect(hwcap & 1).toBe(1); // FP
      expect((hwcap >>> 1) & 1).toBe(1); // ASIMD
    }
  });

  it.skipIf(c.skip)('has AT_PLATFORM and AT_EXECFN strings', () => {
    const mem = k.proc.mem;
    expect(mem.readCString(stack.aux.get(AT.PLATFORM)!)).toBe(c.arch);
    expect(mem.readCString(stack.aux.get(AT.EXECFN)!)).toBe(argv0);
  });
});

describe('the stack follows RLIMIT_STACK', () => {
  const hello = readFileSync(join(root, 'guest-binaries', 'x86_64', 'hello'));
  /** The [stack] mapping's size after loading hello into a process with this RLIMIT_STACK soft limit. */
  const stackFor = (limit: bigint): number => {
    const k = createHeadlessKernel('x86_64');
    const p = k.proc;
    p.rlimits.set(3, { cur: limit, max: limit });
    loadImage(p, { bytes: hello, argv: ['hello'], envp: [], execfn: 'hello', random16: new Uint8Array(16) });
    const m = p.mem.mappings().find((x) => x.name === '[stack]')!;
    expect(m.end).toBe(ARCHES.x86_64.layout.stackTop);
    return m.end - m.start;
  };

  it('maps exactly the soft limit, page-rounded', () => {
    expect(stackFor(1n << 20n)).toBe(1 << 20);
    expect(stackFor(3_000_000n)).toBe(3_002_368);
  });

  it('8 MiB when unlimited; never below 128 KiB or above 1 GiB', () => {
    expect(stackFor(RLIM_INFINITY)).toBe(8 << 20);
    expect(stackFor(4096n)).toBe(128 << 10);
    expect(stackFor(1n << 40n)).toBe(1 << 30);
  });
});
