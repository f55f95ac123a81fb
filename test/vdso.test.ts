// The vDSO image (src/loader/vdso.ts): a well-formed ELF shared object whose
// symbols resolve the two ways real C libraries and runtimes look them up
// (the dynamic section's DT_HASH with symbol versions: glibc, musl, Go; the
// section headers' .dynsym: dietlibc), whose functions are real syscalls,
// mapped in every process and named by AT_SYSINFO_EHDR.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHES } from '../src/arch/index.ts';
import { ET_DYN, PT_DYNAMIC, PT_LOAD, parseElf } from '../src/loader/elf.ts';
import { buildVdso, elfHash, vdsoVersion } from '../src/loader/vdso.ts';
import { AT, decodeAuxv } from '../src/loader/image.ts';
import { createKernel } from '../src/index.ts';
import { mapsText } from '../src/kernel/procfs.ts';
import { debianBin } from './helpers/e2e.ts';

const u16 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint16(at, true);
const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const u64 = (b: Uint8Array, at: number): number => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true));
const cstr = (b: Uint8Array, at: number): string => Buffer.from(b.subarray(at, b.indexOf(0, at))).toString('latin1');

/** The dynamic section's tags, as musl's __vdsosym and Go's vdsoInitFromSysinfoEhdr read them. */
function dynamicTags(img: Uint8Array): Map<number, number> {
  const elf = parseElf(img);
  const dyn = elf.segments.find((s) => s.type === PT_DYNAMIC)!;
  const tags = new Map<number, number>();
  for (let at = dyn.offset; ; at += 16) {
    const tag = u64(img, at);
    if (tag === 0) return tags;
    tags.set(tag, u64(img, at + 8));
  }
}

/** Look a name up through DT_HASH, checking its version through DT_VERSYM and DT_VERDEF (musl's __vdsosym). */
function lookupByHash(img: Uint8Array, name: string, version: string): number | null {
  const t = dynamicTags(img);
  const [hash, strtab, symtab, versym, verdef] = [t.get(4)!, t.get(5)!, t.get(6)!, t.get(0x6ffffff0)!, t.get(0x6ffffffc)!];
  const nbucket = u32(img, hash);
  const chain = (i: number): number => u32(img, hash + 8 + 4 * nbucket + 4 * i);
  for (let i = u32(img, hash + 8 + 4 * (elfHash(name) % nbucket)); i !== 0; i = chain(i)) {
    const sym = symtab + 24 * i;
    if (cstr(img, strtab + u32(img, sym)) !== name) continue;
    const ndx = u16(img, versym + 2 * i) & 0x7fff;
    for (let vd = verdef; ; vd += u32(img, vd + 16)) {
      if (u16(img, vd + 4) === ndx) {
        const aux = vd + u32(img, vd + 12);
        if (u32(img, vd + 8) !== elfHash(version) || cstr(img, strtab + u32(img, aux)) !== version) return null;
        return u64(img, sym + 8);
      }
      if (u32(img, vd + 16) === 0) return null;
    }
  }
  return null;
}

/** Look a name up through the section headers, as dietlibc's vdso lookup does: the first allocated STRTAB, then SHT_DYNSYM. */
function lookupBySections(img: Uint8Array, name: string): number | null {
  const shoff = u64(img, 0x28);
  const shentsize = u16(img, 0x3a);
  const shnum = u16(img, 0x3c);
  const sh = (i: number): number => shoff + i * shentsize;
  let strtab = -1;
  for (let i = 0; i < shnum && strtab < 0; i++) if (u32(img, sh(i) + 4) === 3 && u64(img, sh(i) + 8) & 2) strtab = u64(img, sh(i) + 24);
  for (let i = 0; i < shnum; i++) {
    if (u32(img, sh(i) + 4) !== 11) continue;
    for (let s = u64(img, sh(i) + 24); s < u64(img, sh(i) + 24) + u64(img, sh(i) + 32); s += 24) {
      if (cstr(img, strtab + u32(img, s)) !== name) continue;
      const sec = sh(u16(img, s + 6));
      return u64(img, sec + 24) + u64(img, s + 8) - u64(img, sec + 16);
    }
  }
  return null;
}

const hasReadelf = spawnSync('readelf', ['--version']).status === 0;

describe.each([
  { arch: 'x86_64' as const, names: ['__vdso_clock_gettime', '__vdso_gettimeofday', '__vdso_time', '__vdso_getcpu', '__vdso_clock_getres'] },
  { arch: 'aarch64' as const, names: ['__kernel_clock_gettime', '__kernel_gettimeofday', '__kernel_clock_getres', '__kernel_rt_sigreturn'] },
])('the $arch vDSO', ({ arch, names }) => {
  const a = ARCHES[arch];
  const { bytes, symbols } = buildVdso(a);
  const version = vdsoVersion(arch);

  it('parses as a shared object for its machine, one read+execute PT_LOAD from offset 0 and a PT_DYNAMIC', () => {
    const elf = parseElf(bytes);
    expect(elf.arch).toBe(arch);
    expect(elf.type === 'dyn' || u16(bytes, 16) === ET_DYN).toBe(true);
    const loads = elf.segments.filter((s) => s.type === PT_LOAD);
    expect(loads).toHaveLength(1);
    expect(loads[0]).toMatchObject({ offset: 0, vaddr: 0, flags: 5 });
    expect(loads[0]!.filesz).toBe(bytes.length);
    expect(bytes.length).toBeLessThanOrEqual(4096);
  });

  it.each(names)('%s resolves the same through DT_HASH with its version and through the section headers', (name) => {
    const byHash = lookupByHash(bytes, name, version);
    expect(byHash).toBe(symbols.get(name));
    expect(lookupBySections(bytes, name)).toBe(byHash);
    expect(lookupByHash(bytes, name, 'LINUX_9.9')).toBeNull();
  });

  it('each function is the syscall of its name and a return', () => {
    const nr = (n: string): number => a.syscallNumbers[n]!;
    const at = symbols.get(names.find((n) => n.endsWith('clock_gettime'))!)!;
    if (arch === 'x86_64') {
      expect([...bytes.subarray(at, at + 8)]).toEqual([0xb8, nr('clock_gettime'), 0, 0, 0, 0x0f, 0x05, 0xc3]);
    } else {
      expect([u32(bytes, at), u32(bytes, at + 4), u32(bytes, at + 8)]).toEqual([(0xd2800008 | (nr('clock_gettime') << 5)) >>> 0, 0xd4000001, 0xd65f03c0]);
    }
  });

  it.skipIf(!hasReadelf)('readelf (binutils) reads it without a warning: its symbols at their version, the soname, the hash table', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-vdso-'));
    try {
      const file = path.join(dir, 'vdso.so');
      fs.writeFileSync(file, bytes);
      const r = spawnSync('readelf', ['-W', '--dyn-syms', '-d', '-V', '-S', '-l', file], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      for (const n of names) expect(r.stdout).toMatch(new RegExp(`FUNC +GLOBAL +DEFAULT +\\d+ ${n}@@${version.replace(/\./g, '\\.')}$`, 'm'));
      expect(r.stdout).toContain('Library soname: [linux-vdso.so.1]');
      expect(r.stdout).toMatch(/\.hash +HASH/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is mapped read+execute as [vdso] in a new process, at AT_SYSINFO_EHDR', () => {
    const k = createKernel(debianBin(arch, 'busybox'), { args: ['true'] });
    const ehdr = decodeAuxv(k.proc.auxv).get(AT.SYSINFO_EHDR)!;
    expect(ehdr).toBeGreaterThan(0);
    expect(k.proc.mem.read(ehdr, bytes.length)).toEqual(bytes);
    expect(mapsText(k.proc)).toMatch(new RegExp(`^${ehdr.toString(16)}-\\w+ r-xp .*\\[vdso\\]$`, 'm'));
  });
});
