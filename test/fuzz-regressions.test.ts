// Bugs the syscall fuzzers found (test/property-syscalls.test.ts,
// scripts/fuzz.ts, the Jazzer target), each pinned by the smallest call that
// showed it, on both arches.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launchMutated, mutantDir, mutateElf } from './helpers/elf-fuzz.ts';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';
import { runInFreshWorld } from './helpers/syscall-fuzz.ts';

describe.each(ARCH_NAMES)('fuzz regressions (%s)', (arch) => {
  let t: Headless;
  afterEach(() => t?.cleanup());

  // lseek returned offsets past 2^53 rounded to the nearest double (2^63 - 1
  // came back as 2^63, a negative number to the guest). Past tslinux's
  // largest exact offset lseek is EINVAL, as past s_maxbytes in Linux.
  it('lseek past the largest exact offset is EINVAL, not a rounded value', () => {
    t = headless(arch);
    t.writeHost('f', 'data');
    const fd = t.open('f', t.c.O_RDWR);
    expect(t.call('lseek', fd, 0x7fff_ffff_ffff_ffffn, 0 /* SEEK_SET */)).toBe(t.errno('EINVAL'));
    expect(t.call('lseek', fd, 1n << 62n, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('lseek', fd, 2 ** 53 - 1, 0)).toBe(2 ** 53 - 1);
    expect(t.call('lseek', fd, 1, 1 /* SEEK_CUR */)).toBe(t.errno('EINVAL'));
    // The failed seeks left the offset where it was.
    expect(t.call('lseek', fd, 0, 1)).toBe(2 ** 53 - 1);
    const dir = t.open('.', t.c.O_RDONLY | t.c.O_DIRECTORY);
    expect(t.call('lseek', dir, 1n << 62n, 0)).toBe(t.errno('EINVAL'));
  });

  // utimes and utimensat on a stream (stdin here, or a pipe) passed its node
  // to the filesystem it was made in, which threw "node from another filesystem".
  it('utimes and utimensat on stdin or a pipe succeed and change nothing', () => {
    t = headless(arch);
    if (t.has('utimes')) expect(t.call('utimes', t.str('/dev/fd/0'), 0)).toBe(0);
    expect(t.call('utimensat', t.c.AT_FDCWD, t.str('/dev/stdin'), 0, 0)).toBe(0);
    const [r] = t.pipe();
    expect(t.call('utimensat', r, 0, 0, 0)).toBe(0);
  });

  // Path resolution asked the filesystem a stream was made in for the type of
  // /dev/fd/0 (stdin) when the path had to be a directory (O_DIRECTORY,
  // O_TMPFILE, a trailing slash), and it threw "node from another filesystem".
  it('a stream reached through /dev/fd or /proc/self/fd is not a directory: ENOTDIR', () => {
    t = headless(arch);
    const c = t.c;
    for (const p of ['/dev/fd/0', '/dev/stdin', '/proc/self/fd/0']) {
      expect(t.open(p, c.O_RDONLY | c.O_DIRECTORY)).toBe(t.errno('ENOTDIR'));
      expect(t.open(p, c.O_TMPFILE | c.O_RDWR)).toBe(t.errno('ENOTDIR'));
    }
    expect(t.open('/dev/fd/0/', c.O_RDONLY)).toBe(t.errno('ENOTDIR'));
    expect(t.open('/dev/fd/0', c.O_RDONLY)).toBeGreaterThanOrEqual(3);
  });

  // alarm after a setitimer of 2^63 - 1 seconds returned the seconds left as
  // an inexact number past 2^53 (not a value, not an errno). Linux saturates
  // the timer at KTIME_MAX ns and alarm's unsigned int result wraps.
  it('alarm after a huge setitimer returns the seconds left as an unsigned int', () => {
    t = headless(arch);
    const itv = t.buf(32);
    t.mem.writeU64(itv + 16, 0x7fff_ffff_ffff_ffffn); // it_value.tv_sec
    expect(t.call('setitimer', 0 /* ITIMER_REAL */, itv, 0)).toBe(0);
    // KTIME_MAX ns is 9223372036.85... s: getitimer shows the whole seconds, alarm rounds to the nearest.
    const cur = t.buf(32);
    expect(t.call('getitimer', 0, cur)).toBe(0);
    expect(Number(t.u64(cur + 16))).toBeLessThanOrEqual(9_223_372_036);
    if (t.has('alarm')) {
      const r = t.call('alarm', 0);
      const expected = 9_223_372_037 % 2 ** 32;
      expect(r).toBeGreaterThanOrEqual(expected - 1);
      expect(r).toBeLessThanOrEqual(expected);
    }
  });

  // A PT_LOAD at 0x1000 loaded (below mmap_min_addr), and on x86-64 the CPUID
  // probe, which borrows that page, then failed inside Unicorn (UC_ERR_MAP):
  // a host exception. Linux refuses such a mapping; here it is a launch error.
  it('a PT_LOAD below mmap_min_addr is one line of launch error', () => {
    const dir = mutantDir();
    try {
      const original = fs.readFileSync(join(import.meta.dirname, '..', 'guest-binaries', arch, 'hello_asm'));
      for (const vaddr of [0x1000n, 0n]) {
        const outcome = launchMutated(mutateElf(original, [{ op: 'phdr', index: 0, field: 'vaddr', value: vaddr }]), dir);
        expect(outcome).toMatchObject({ kind: 'launch-error', message: expect.stringMatching(/below mmap_min_addr|entry point/) });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A PT_LOAD with p_flags 0 was mapped PROT_NONE without host memory, so
  // copying its file bytes in threw EFAULT out of the kernel's constructor (a
  // host exception instead of a launch). It is now a backed PROT_NONE mapping.
  it('a PT_LOAD with no permissions loads (its bytes kept, not a host exception)', () => {
    const dir = mutantDir();
    try {
      const original = fs.readFileSync(join(import.meta.dirname, '..', 'guest-binaries', arch, 'hello_asm'));
      const outcome = launchMutated(mutateElf(original, [{ op: 'phdr', index: 0, field: 'flags', value: 0n }]), dir);
      // x86-64's first PT_LOAD holds only the headers: the image loads. aarch64's only one holds the
      // entry point too, which is then in no executable segment: one line of error.
      if (arch === 'x86_64') expect(outcome).toEqual({ kind: 'loaded' });
      else expect(outcome).toMatchObject({ kind: 'launch-error', message: expect.stringMatching(/entry point .* not inside an executable PT_LOAD/) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Found by Jazzer (aarch64): a pwrite64 at offset 2.8 GB left a sparse
  // file that size in the temp mount, and the harness's host snapshot, which
  // hashed every file under the temp directory including the mount, could not
  // read it whole (a harness bug: it now stays out of the mount and hashes in
  // chunks). The call itself is fine: a hole, then the bytes.
  it('a write far past the end of a host file leaves a sparse file and the harness copes', () => {
    const pwrite = { name: 'pwrite64', args: [
      { cls: 0, n: 2225743653, raw: 2225743653n },
      { cls: 0, n: 3530009721, raw: 9487055575659605489n },
      { cls: 2, n: 1408791574, raw: 1408791574n },
      { cls: 6, n: 2844452160, raw: 2844452160n },
    ] };
    const [result] = runInFreshWorld(arch, [pwrite]);
    expect(result).toBeDefined();
  });
});
