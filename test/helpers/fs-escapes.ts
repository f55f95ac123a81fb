// Issue 12's filesystem escapes at the syscall level, through a headless
// kernel (both arches): a guest opens a directory or a file, renames it,
// puts a symlink to the host (or to /) where it was, and then works through
// the old fd: dirfd-relative calls, fchmod, futimens, ftruncate, fsync,
// fchown, fstat, getdents, /proc/self/fd/N. Everything must land on the
// renamed object inside the mount; the canary tree next to the mount must be
// byte for byte, mode for mode and time for time what it was, and the
// canary's text must never reach guest memory.
//
// Shared by test/escape-fs.test.ts (this host's layer) and
// test/hostfs-paths.test.ts (the checked-path fallback, forced).
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, Headless } from './headless.ts';
import { diffTrees, snapshotTree } from './host-watch.ts';

export const CANARY = 'CANARY-hostfs-7c1e-outside-the-view';

/** Whether the canary's bytes are anywhere in the guest's memory. */
export function canaryInMemory(t: Headless): boolean {
  const needle = Buffer.from(CANARY);
  return t.mem.mappings().some((m) => m.bytes && Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength).includes(needle));
}

export function describeSwapEscapes(label: string): void {
  describe.each(ARCH_NAMES)(`${label}: an fd outlives a rename and a symlink put in its place (%s)`, (arch) => {
    let t: Headless;
    let before: Map<string, string>;
    const outsideOnly = (rel: string): boolean => rel === 'root';

    beforeEach(() => {
      t = new Headless(arch);
      fs.writeFileSync(t.outsidePath('secret.txt'), CANARY + '\n');
      fs.writeFileSync(t.outsidePath('victim'), CANARY + ' victim\n', { mode: 0o640 });
      fs.mkdirSync(t.outsidePath('odir'));
      fs.writeFileSync(t.outsidePath('odir/inner'), CANARY + ' inner\n');
      before = snapshotTree(t.base, outsideOnly);
    });
    afterEach(() => t.cleanup());

    /** The canary tree is as it was, and the guest never read the canary. */
    function expectNothingOutsideTouched(): void {
      expect(diffTrees(before, snapshotTree(t.base, outsideOnly))).toBe('');
      expect(canaryInMemory(t)).toBe(false);
    }

    it('a directory fd keeps naming the renamed directory, never the symlink in its place', () => {
      const c = t.c;
      expect(t.call('mkdirat', c.AT_FDCWD, t.str('d'), 0o755)).toBe(0);
      t.writeHost('d/inside.txt', 'inside\n');
      const dfd = t.open('d', c.O_RDONLY | c.O_DIRECTORY);
      const pfd = t.open('d', c.O_PATH | c.O_DIRECTORY);
      expect(t.call('renameat', c.AT_FDCWD, t.str('d'), c.AT_FDCWD, t.str('d2'))).toBe(0);
      // A host-path symlink (what the old hostfs let the host follow) and one to /.
      expect(t.call('symlinkat', t.str(t.base), c.AT_FDCWD, t.str('d'))).toBe(0);
      for (const fd of [dfd, pfd]) {
        const at = (p: string): number => t.str(p);
        expect(t.call('openat', fd, at('secret.txt'), c.O_RDONLY, 0)).toBe(t.errno('ENOENT'));
        expect(t.call('openat', fd, at('odir/inner'), c.O_RDONLY, 0)).toBe(t.errno('ENOENT'));
        expect(t.call('unlinkat', fd, at('victim'), 0)).toBe(t.errno('ENOENT'));
        expect(t.call('renameat', fd, at('victim'), fd, at('v2'))).toBe(t.errno('ENOENT'));
        expect(t.call('linkat', fd, at('secret.txt'), c.AT_FDCWD, at('stolen'), 0)).toBe(t.errno('ENOENT'));
        expect(t.call('fchmodat', fd, at('victim'), 0o4777, 0)).toBe(t.errno('ENOENT'));
        expect(t.call('utimensat', fd, at('victim'), 0, 0)).toBe(t.errno('ENOENT'));
        expect(t.call('newfstatat', fd, at('secret.txt'), t.buf(256), 0)).toBe(t.errno('ENOENT'));
        expect(t.call('readlinkat', fd, at('odir'), t.buf(64), 64)).toBe(t.errno('ENOENT'));
        // What it does reach is the renamed directory's.
        const f = t.call('openat', fd, at('inside.txt'), c.O_RDONLY, 0);
        expect(t.readFd(f)).toBe('inside\n');
      }
      // Creations land in d2.
      const made = t.call('openat', dfd, t.str('planted'), c.O_WRONLY | c.O_CREAT | c.O_EXCL, 0o644);
      expect(made).toBeGreaterThanOrEqual(0);
      expect(t.call('mkdirat', pfd, t.str('sub'), 0o755)).toBe(0);
      expect(t.call('symlinkat', t.str('/'), dfd, t.str('up'))).toBe(0);
      expect(fs.readdirSync(t.hostPath('d2')).sort()).toEqual(['inside.txt', 'planted', 'sub', 'up']);
      // getdents lists d2; /proc/self/fd/N leads there too.
      const dents = t.buf(4096);
      const n = t.call('getdents64', dfd, dents, 4096);
      expect(t.decodeDirents(dents, n).map((e) => e.name).filter((e) => !e.startsWith('.')).sort()).toEqual(['inside.txt', 'planted', 'sub', 'up']);
      expect(t.readFd(t.open(`/proc/self/fd/${dfd}/inside.txt`))).toBe('inside\n');
      expect(t.open(`/proc/self/fd/${dfd}/secret.txt`)).toBe(t.errno('ENOENT'));
      expect(t.open(`/proc/self/fd/${pfd}/../secret.txt`)).toBe(t.errno('ENOENT'));
      expectNothingOutsideTouched();
    });

    it('an open file keeps naming the renamed file: fchmod, futimens, ftruncate, fsync, fchown and fstat never reach the symlink target', () => {
      const c = t.c;
      const fd = t.open('f', c.O_RDWR | c.O_CREAT, 0o644);
      expect(t.write(fd, 'inside data\n')).toBe(12);
      const pathFd = t.open('f', c.O_PATH);
      expect(t.call('renameat', c.AT_FDCWD, t.str('f'), c.AT_FDCWD, t.str('f2'))).toBe(0);
      expect(t.call('symlinkat', t.str(t.outsidePath('victim')), c.AT_FDCWD, t.str('f'))).toBe(0);
      const victim = fs.statSync(t.outsidePath('victim'));
      expect(t.call('fchmod', fd, 0o4777)).toBe(0);
      expect(t.call('ftruncate', fd, 6)).toBe(0);
      expect(t.call('fsync', fd)).toBe(0);
      const times = t.buf(32);
      t.mem.writeU64(times, 1_000_000);
      t.mem.writeU64(times + 16, 2_000_000);
      expect(t.call('utimensat', fd, 0, times, 0)).toBe(0); // futimens
      expect(t.call('fchownat', pathFd, t.str(''), 4242, 4242, c.AT_EMPTY_PATH)).toBe(0);
      expect(t.call('fchmodat', c.AT_FDCWD, t.str(`/proc/self/fd/${pathFd}`), 0o600, 0)).toBe(0);
      // All of it happened to f2.
      const st = fs.statSync(t.hostPath('f2'));
      expect([st.mode & 0o7777, st.size, st.mtimeMs]).toEqual([0o600, 6, 2_000_000_000]);
      expect(t.readHost('f2')).toBe('inside');
      const sb = t.buf(256);
      expect(t.call('fstat', fd, sb)).toBe(0);
      expect(t.decodeStat(sb).ino).toBe(BigInt(st.ino));
      // Reopening through /proc/self/fd/N reaches f2 as well.
      const again = t.open(`/proc/self/fd/${fd}`, c.O_RDWR);
      expect(t.readFd(again)).toBe('inside');
      // The name itself is the guest's symlink: resolved in the guest's namespace, where that host path does not exist.
      expect(t.call('fchmodat', c.AT_FDCWD, t.str('f'), 0o4777, 0)).toBe(t.errno('ENOENT'));
      expect(t.open('f', c.O_RDWR | c.O_TRUNC)).toBe(t.errno('ENOENT'));
      const after = fs.statSync(t.outsidePath('victim'));
      expect([after.mode, after.size, after.mtimeMs]).toEqual([victim.mode, victim.size, victim.mtimeMs]);
      expectNothingOutsideTouched();
    });

    it('a directory swapped between the calls of a path walk is never left through', () => {
      const c = t.c;
      // a/odir mirrors the outside odir: through the host's base, odir/inner is the canary.
      t.writeHost('a/odir/inner', 'in\n');
      const bfd = t.open('a/odir', c.O_RDONLY | c.O_DIRECTORY);
      // Swap the parent of an open directory for a symlink to the host's base, then walk down, up and across.
      expect(t.call('renameat', c.AT_FDCWD, t.str('a'), c.AT_FDCWD, t.str('a2'))).toBe(0);
      expect(t.call('symlinkat', t.str(t.base), c.AT_FDCWD, t.str('a'))).toBe(0);
      expect(t.open('a/secret.txt')).toBe(t.errno('ENOENT'));
      expect(t.call('openat', bfd, t.str('../secret.txt'), c.O_RDONLY, 0)).toBe(t.errno('ENOENT'));
      expect(t.call('openat', bfd, t.str('../../secret.txt'), c.O_RDONLY, 0)).toBe(t.errno('ENOENT'));
      expect(t.readFd(t.call('openat', bfd, t.str('inner'), c.O_RDONLY, 0))).toBe('in\n');
      // A hard link of an outside file cannot be made from any name the guest has.
      expect(t.call('linkat', c.AT_FDCWD, t.str('a/victim'), c.AT_FDCWD, t.str('h'), c.AT_SYMLINK_FOLLOW)).toBe(t.errno('ENOENT'));
      // Renaming the swapped name moves the guest's own symlink, never what it points at.
      expect(t.call('renameat', c.AT_FDCWD, t.str('a'), c.AT_FDCWD, t.str('a3'))).toBe(0);
      expect(fs.readlinkSync(t.hostPath('a3'))).toBe(t.base);
      expectNothingOutsideTouched();
    });
  });
}
