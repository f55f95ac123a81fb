// /sys: the read-only files programs read at start (Go's huge page size,
// glibc's online CPU list), as contents, as a filesystem, and as a guest
// sees them through the syscalls.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSync } from '../src/index.ts';
import { LinuxError } from '../src/kernel/errors.ts';
import { HPAGE_PMD_SIZE, cpuList, sysfsFiles } from '../src/kernel/sysinfo-files.ts';
import { SysFs } from '../src/kernel/vfs/sysfs.ts';
import { S_IFDIR, S_IFREG, Vfs, type OpenIntent } from '../src/kernel/vfs/index.ts';
import { ARCHES, debianBin, goGuest, haveGoGuests } from './helpers/e2e.ts';

const READ: OpenIntent = { read: true, write: false, append: false, truncate: false, nonblock: false };

function errno(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LinuxError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('sysfs contents', () => {
  it('writes CPU lists the way sysfs does', () => {
    expect(cpuList(1)).toBe('0');
    expect(cpuList(4)).toBe('0-3');
  });

  it('has the huge page size and the CPU files, each one line', () => {
    const files = sysfsFiles(2);
    expect(files['kernel/mm/transparent_hugepage/hpage_pmd_size']).toBe('2097152\n');
    expect(HPAGE_PMD_SIZE).toBe(2097152);
    expect(files['kernel/mm/transparent_hugepage/enabled']).toBe('always [madvise] never\n');
    expect(files['devices/system/cpu/online']).toBe('0-1\n');
    expect(files['devices/system/cpu/possible']).toBe('0-1\n');
    expect(files['devices/system/cpu/present']).toBe('0-1\n');
  });
});

describe('SysFs', () => {
  const sys = new SysFs({ dev: 0x15, ncpu: 1, now: () => 0n });
  const vfs = new Vfs(sys, 'sysfs');
  const at = (p: string) => vfs.resolve(p, { base: '/', follow: true });
  const cat = (p: string): string => {
    const r = at(p);
    const f = r.fs.open(r.node, READ);
    const buf = new Uint8Array(64);
    return Buffer.from(buf.subarray(0, f.read(buf, 0))).toString();
  };

  it('reads its files, read-only for everyone', () => {
    expect(cat('/kernel/mm/transparent_hugepage/hpage_pmd_size')).toBe('2097152\n');
    expect(cat('/devices/system/cpu/online')).toBe('0\n');
    const st = sys.stat(at('/devices/system/cpu/online').node);
    expect(st.mode).toBe(S_IFREG | 0o444);
    expect(st.dev).toBe(0x15);
    expect(sys.stat(at('/devices/system/cpu/cpu0').node).mode & S_IFDIR).toBe(S_IFDIR);
  });

  it('refuses writes and new names with EROFS, and a missing file is ENOENT', () => {
    const online = at('/devices/system/cpu/online').node;
    expect(errno(() => sys.open(online, { ...READ, write: true }))).toBe('EROFS');
    expect(errno(() => sys.mkdir(sys.root(), 'x', 0o755))).toBe('EROFS');
    expect(errno(() => sys.create(sys.root(), 'x', 0o644))).toBe('EROFS');
    expect(errno(() => at('/kernel/mm/nothing'))).toBe('ENOENT');
  });

  it('statfs says sysfs (SYSFS_MAGIC) with no blocks or inodes', () => {
    expect(sys.statfs()).toMatchObject({ type: 0x62656572, blocks: 0, files: 0, namelen: 255 });
  });
});

describe.each(ARCHES)('/sys in a guest (%s)', (arch) => {
  const busybox = debianBin(arch, 'busybox');
  const bb = (...args: string[]) => {
    const r = runSync(busybox, { args, env: { PATH: '/bin' }, mountCwd: false, stdout: 'capture', stderr: 'capture' });
    return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exitCode };
  };

  it('is mounted read-only as sysfs with the files', () => {
    const files = ['/sys/kernel/mm/transparent_hugepage/hpage_pmd_size', '/sys/devices/system/cpu/online'];
    expect(bb('cat', ...files)).toEqual({ out: '2097152\n0\n', err: '', code: 0 });
    expect(bb('grep', ' /sys ', '/proc/mounts').out).toBe('sysfs /sys sysfs ro,nosuid,nodev,noexec 0 0\n');
    expect(bb('stat', '-f', '-c', '%T', '/sys').out).toBe('sysfs\n');
    expect(bb('sh', '-c', 'echo 1 >/sys/devices/system/cpu/online')).toEqual({
      out: '',
      err: "sh: can't create /sys/devices/system/cpu/online: Read-only file system\n",
      code: 1,
    });
  });

  it("lists the CPUs sched_getaffinity reports (nproc counts those)", () => {
    const ncpu = Number(bb('nproc').out);
    expect(ncpu).toBeGreaterThan(0);
    expect(bb('cat', '/sys/devices/system/cpu/online').out).toBe(`${cpuList(ncpu)}\n`);
    expect(bb('ls', '/sys/devices/system/cpu').out.split('\n').filter((n) => /^cpu\d+$/.test(n))).toHaveLength(ncpu);
  });

  it.runIf(haveGoGuests())("is where Go's runtime finds the huge page size", () => {
    const lines: string[] = [];
    const gocheck = goGuest(arch);
    const r = runSync(gocheck, { args: ['goroutines'], mountCwd: false, stdout: 'capture', stderr: 'capture', trace: (l) => lines.push(l) });
    expect(r.exitCode).toBe(0);
    const open = lines.find((l) => l.includes('hpage_pmd_size'));
    expect(open).toMatch(/^openat\(AT_FDCWD, "\/sys\/kernel\/mm\/transparent_hugepage\/hpage_pmd_size", O_RDONLY\) = \d+$/);
    expect(lines).toContain('read(3, "2097152\\n", 20) = 8');
  });
});
