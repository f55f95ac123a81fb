// Bugs the syscall fuzzers found (test/property-syscalls.test.ts,
// scripts/fuzz.ts, the Jazzer target), each pinned by the smallest call that
// showed it, on both arches.
import { afterEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

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
});
