import { errno } from './helpers/errno.ts';
import { PlainCpu } from '../src/arch/plain-cpu.ts';
import { beforeEach, describe, expect, it } from 'vitest';
import { ARCHES } from '../src/arch/index.ts';
import { OpenFileDescription } from '../src/kernel/fdtable.ts';
import { PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from '../src/kernel/memory.ts';
import { Process, RLIM_INFINITY } from '../src/kernel/process.ts';
import { ProcFs, mapsText, mountIdOf, type ProcSource } from '../src/kernel/procfs.ts';
import * as sysinfo from '../src/kernel/sysinfo-files.ts';
import { MemFs, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, Vfs, type OpenIntent } from '../src/kernel/vfs/index.ts';

const READ: OpenIntent = { read: true, write: false, append: false, truncate: false, nonblock: false };

/** An auxv image: little-endian u64 pairs, ending with AT_NULL. */
function auxv(pairs: [number, number][]): Uint8Array {
  const all = [...pairs, [0, 0]];
  const out = new Uint8Array(all.length * 16);
  const v = new DataView(out.buffer);
  all.forEach(([k, val], i) => {
    v.setBigUint64(i * 16, BigInt(k!), true);
    v.setBigUint64(i * 16 + 8, BigInt(val!), true);
  });
  return out;
}

/** CPUID.1:EDX of Unicorn's qemu64 model. */
const QEMU64_EDX = 0x078bfbff;
/** fp asimd aes pmull sha1 sha2 crc32 cpuid */
const A72_HWCAP = 0b1000_1111_1011;

let p: Process;
let vfs: Vfs;
let tmp: MemFs;
let src: ProcSource;

function procFor(proc: Process): ProcSource {
  return { processes: () => [proc], current: () => proc, vfs: () => vfs, hostname: 'testhost', bootNs: () => 12_345_000_000n };
}

function makeVfs(source: () => ProcSource): void {
  const rootfs = new MemFs({ type: 'rootfs', dev: 1 });
  rootfs.addFile('bin/prog', 'ELF...');
  vfs = new Vfs(rootfs);
  vfs.mount('/proc', new ProcFs(4, { ...source(), vfs: () => vfs }), 'proc', 'nosuid,nodev,noexec');
  tmp = new MemFs({ type: 'tmpfs', dev: 0x2a });
  vfs.mount('/tmp', tmp, 'tmpfs', 'nosuid,nodev');
}

function cat(path: string): string {
  const r = vfs.resolve(path, { base: '/', follow: true });
  const f = r.fs.open(r.node, READ);
  const chunks: Buffer[] = [];
  const buf = new Uint8Array(100);
  for (let pos = 0; ; ) {
    const n = f.read(buf, pos);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  f.close();
  return Buffer.concat(chunks).toString('latin1');
}

function ls(path: string): string[] {
  const r = vfs.resolve(path, { base: '/', follow: true });
  return r.fs.readdir(r.node).map((e) => e.name);
}

beforeEach(() => {
  p = new Process(42, 1, ARCHES.x86_64, new PlainCpu('x86_64'), { cwd: '/tmp', uid: 1000, gid: 1000 });
  p.argv = ['prog', '-x', 'a b'];
  p.envp = ['HOME=/home/user', 'LANG=C'];
  p.exePath = '/bin/prog';
  p.comm = 'prog';
  p.auxv = auxv([[16, QEMU64_EDX], [6, 4096], [26, 0]]);
  p.mem.map(0x400000, 0x2000, PROT_READ | PROT_EXEC, { name: '/bin/prog', offset: 0 });
  p.mem.map(0x402000, 0x1000, PROT_READ | PROT_WRITE, { name: '/bin/prog', offset: 0x2000 });
  p.mem.map(0x403000, 0x3000, PROT_READ | PROT_WRITE, { name: '[heap]' });
  p.mem.map(0x7f0000000000, 0x1000, PROT_NONE);
  p.mem.map(0x7f0000001000, 0x4000, PROT_READ | PROT_WRITE, { shared: true });
  p.mem.map(0x7ffffffde000, 0x21000, PROT_READ | PROT_WRITE, { name: '[stack]' });
  src = procFor(p);
  makeVfs(() => src);
});

describe('/proc/<pid>', () => {
  it('/proc/self is a link to the current pid', () => {
    const self = vfs.resolve('/proc/self', { base: '/', follow: false });
    expect(self.fs.stat(self.node).mode & S_IFMT).toBe(S_IFLNK);
    expect(self.fs.readlink(self.node)).toBe('42');
    expect(vfs.resolve('/proc/self', { base: '/', follow: true }).path).toBe('/proc/42');
    expect(ls('/proc')).toContain('42');
    expect(cat('/proc/self/comm')).toBe('prog\n');
  });

  it('lists the per-process files', () => {
    expect(ls('/proc/self')).toEqual(expect.arrayContaining(['exe', 'cwd', 'cmdline', 'maps', 'status', 'limits', 'fd', 'fdinfo']));
    const exe = vfs.resolve('/proc/self/exe', { base: '/', follow: false });
    expect(exe.fs.readlink(exe.node)).toBe('/bin/prog');
    expect(cat('/proc/self/exe')).toBe('ELF...');
    expect(vfs.resolve('/proc/self/cwd', { base: '/', follow: true }).path).toBe('/tmp');
  });

  it('cmdline and environ are NUL-separated and NUL-terminated', () => {
    expect(cat('/proc/self/cmdline')).toBe('prog\0-x\0a b\0');
    expect(cat('/proc/42/environ')).toBe('HOME=/home/user\0LANG=C\0');
  });

  it('maps has one line per mapping, true to the address space', () => {
    const text = cat('/proc/self/maps');
    expect(text).toBe(mapsText(p));
    const lines = text.trimEnd().split('\n');
    const maps = p.mem.mappings();
    expect(lines).toHaveLength(maps.length);
    lines.forEach((line, i) => {
      const m = maps[i]!;
      const match = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]{8}) 00:00 0\s*(.*)$/.exec(line);
      expect(match, line).not.toBeNull();
      const [, start, end, perms, offset, name] = match!;
      expect(parseInt(start!, 16)).toBe(m.start);
      expect(parseInt(end!, 16)).toBe(m.end);
      const want = (m.prot & PROT_READ ? 'r' : '-') + (m.prot & PROT_WRITE ? 'w' : '-') + (m.prot & PROT_EXEC ? 'x' : '-') + (m.shared ? 's' : 'p');
      expect(perms).toBe(want);
      expect(parseInt(offset!, 16)).toBe(m.name.startsWith('/') ? m.offset : 0);
      expect(name).toBe(m.name);
    });
    expect(lines[0]).toMatch(/^00400000-00402000 r-xp 00000000 00:00 0 +\/bin\/prog$/);
    expect(lines[1]).toMatch(/^00402000-00403000 rw-p 00002000 00:00 0 +\/bin\/prog$/);
    expect(lines[2]).toMatch(/ +\[heap\]$/);
    expect(lines[3]).toBe('7f0000000000-7f0000001000 ---p 00000000 00:00 0');
    expect(lines[4]).toBe('7f0000001000-7f0000005000 rw-s 00000000 00:00 0');
    expect(lines[5]!.indexOf('[stack]')).toBe(73);
  });

  it('status has the fields tools read', () => {
    p.umask = 0o027;
    const status = cat('/proc/self/status');
    const fields = Object.fromEntries(status.trimEnd().split('\n').map((l) => l.split(':\t') as [string, string]));
    expect(fields).toMatchObject({
      Name: 'prog',
      Umask: '0027',
      State: 'R (running)',
      Tgid: '42',
      Pid: '42',
      PPid: '1',
      Uid: '1000\t1000\t1000\t1000',
      Gid: '1000\t1000\t1000\t1000',
      Threads: '1',
    });
    const vmSize = p.mem.mappings().reduce((s, m) => s + m.end - m.start, 0) / 1024;
    expect(fields.VmSize).toBe(`${vmSize} kB`);
    expect(status.endsWith('\n')).toBe(true);
  });

  it('loginuid and sessionid say "no login session" as Linux does outside one, without a newline', () => {
    // glibc's getlogin reads loginuid: (uid_t)-1 makes it fail with ENXIO, as natively (busybox logname).
    expect(cat('/proc/self/loginuid')).toBe('4294967295');
    expect(cat(`/proc/${p.pid}/sessionid`)).toBe('4294967295');
  });

  it('limits is the kernel table, from the live rlimits', () => {
    p.rlimits.set(7, { cur: 256n, max: 4096n });
    p.rlimits.set(4, { cur: RLIM_INFINITY, max: RLIM_INFINITY });
    expect(cat('/proc/self/limits')).toBe(
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
        'Max cpu time              unlimited            unlimited            seconds   \n' +
        'Max file size             unlimited            unlimited            bytes     \n' +
        'Max data size             unlimited            unlimited            bytes     \n' +
        'Max stack size            8388608              unlimited            bytes     \n' +
        'Max core file size        unlimited            unlimited            bytes     \n' +
        'Max resident set          unlimited            unlimited            bytes     \n' +
        'Max processes             4096                 4096                 processes \n' +
        'Max open files            256                  4096                 files     \n' +
        'Max locked memory         8388608              8388608              bytes     \n' +
        'Max address space         unlimited            unlimited            bytes     \n' +
        'Max file locks            unlimited            unlimited            locks     \n' +
        'Max pending signals       4096                 4096                 signals   \n' +
        'Max msgqueue size         819200               819200               bytes     \n' +
        'Max nice priority         0                    0                    \n' +
        'Max realtime priority     0                    0                    \n' +
        'Max realtime timeout      unlimited            unlimited            us        \n',
    );
  });

  it('fd and fdinfo list the open fds; fdinfo shows pos, octal flags, mnt_id and ino', () => {
    const c = p.arch.c;
    const node = tmp.addFile('data', 'hello world');
    const ofd = new OpenFileDescription(tmp.open(node, READ), node, tmp, '/tmp/data', 'rw', c.O_APPEND | c.O_LARGEFILE, false);
    ofd.offset = 5;
    const fd = p.fds.install(ofd, true);
    const root = vfs.root();
    const rofd = new OpenFileDescription(null, root.node, root.fs, '/', 'r', c.O_LARGEFILE | c.O_DIRECTORY, true);
    const fd2 = p.fds.install(rofd, false);
    expect(ls('/proc/self/fd')).toEqual([String(fd), String(fd2)]);
    expect(ls('/proc/self/fdinfo')).toEqual([String(fd), String(fd2)]);
    const link = vfs.resolve(`/proc/self/fd/${fd}`, { base: '/', follow: false });
    expect(link.fs.readlink(link.node)).toBe('/tmp/data');
    expect(cat(`/proc/self/fd/${fd}`)).toBe('hello world');
    const tmpId = mountIdOf(vfs, tmp);
    expect(tmpId).toBe(3); // "/", "/proc", "/tmp"
    expect(cat(`/proc/self/fdinfo/${fd}`)).toBe(`pos:\t5\nflags:\t02102002\nmnt_id:\t${tmpId}\nino:\t${tmp.stat(node).ino}\n`);
    // x86-64: O_DIRECTORY 0200000, O_LARGEFILE 0100000, O_RDONLY.
    expect(cat(`/proc/self/fdinfo/${fd2}`)).toBe(`pos:\t0\nflags:\t0300000\nmnt_id:\t1\nino:\t1\n`);
    p.fds.close(fd);
    expect(ls('/proc/self/fdinfo')).toEqual([String(fd2)]);
    expect(errno(() => vfs.resolve(`/proc/self/fdinfo/${fd}`, { base: '/', follow: true }))).toBe('ENOENT');
    const st = vfs.resolve('/proc/self/fdinfo', { base: '/', follow: true });
    expect(st.fs.stat(st.node).mode).toBe(S_IFDIR | 0o500);
  });

  it('is read-only', () => {
    const r = vfs.resolve('/proc/self/limits', { base: '/', follow: true });
    expect(errno(() => r.fs.open(r.node, READ).write(new Uint8Array(1), 0))).toBe('EACCES');
    expect(errno(() => r.fs.create(vfs.resolve('/proc', { base: '/', follow: true }).node, 'x', 0o644))).toBe('EACCES');
  });
});

describe('/proc system files', () => {
  it('cpuinfo on x86-64 shows the CPUID.1:EDX flags of AT_HWCAP', () => {
    const text = cat('/proc/cpuinfo');
    expect(text).toMatch(/^processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 15\nmodel\t\t: 107\nmodel name\t: QEMU Virtual CPU version 2\.5\+\n/);
    const flags = /^flags\t\t: (.*)$/m.exec(text)![1]!.split(' ');
    expect(flags).toEqual([
      'fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', 'sep', 'mtrr', 'pge', 'mca', 'cmov',
      'pat', 'pse36', 'clflush', 'mmx', 'fxsr', 'sse', 'sse2', 'syscall', 'nx', 'lm',
    ]);
    expect(text.endsWith('power management:\n\n')).toBe(true);
    expect(text.match(/^processor/gm)).toHaveLength(1);
  });

  it('cpuinfo on aarch64 shows the features of AT_HWCAP and the CPU id', () => {
    const a = new Process(7, 1, ARCHES.aarch64, new PlainCpu('aarch64'), { cwd: '/', uid: 0, gid: 0 });
    a.auxv = auxv([[16, A72_HWCAP], [26, 0]]);
    src = { ...procFor(a), ncpu: 2 };
    makeVfs(() => src);
    const text = cat('/proc/cpuinfo');
    const cpu0 =
      'processor\t: 0\n' +
      'BogoMIPS\t: 100.00\n' +
      'Features\t: fp asimd aes pmull sha1 sha2 crc32 cpuid\n' +
      'CPU implementer\t: 0x41\n' +
      'CPU architecture: 8\n' +
      'CPU variant\t: 0x0\n' +
      'CPU part\t: 0xd08\n' +
      'CPU revision\t: 3\n\n';
    expect(text).toBe(cpu0 + cpu0.replace('processor\t: 0', 'processor\t: 1'));
    expect(sysinfo.cpuFeatures('aarch64', 0b11, 0b10)).toEqual(['fp', 'asimd', 'sve2']);
  });

  it('reads AT_HWCAP from the auxv', () => {
    expect(sysinfo.hwcapFromAuxv(auxv([[6, 4096], [16, 0xabc], [26, 3]]))).toEqual({ hwcap: 0xabc, hwcap2: 3 });
    expect(sysinfo.hwcapFromAuxv(new Uint8Array(0))).toEqual({ hwcap: 0, hwcap2: 0 });
  });

  it('meminfo uses the kernel layout, in kB', () => {
    const text = cat('/proc/meminfo');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('MemTotal:        8388608 kB');
    const used = p.mem.committed / 1024;
    expect(lines[1]).toBe(`MemFree:        ${String(8388608 - used).padStart(8)} kB`);
    expect(lines[2]).toMatch(/^MemAvailable: +\d+ kB$/);
    expect(lines.map((l) => l.split(':')[0])).toEqual(expect.arrayContaining(['Buffers', 'Cached', 'SwapTotal', 'SwapFree', 'Shmem', 'Hugepagesize']));
    expect(text).toContain('\nSwapTotal:             0 kB\n');
    expect(text).toContain('\nHardwareCorrupted:     0 kB\n');
    expect(text).toContain('\nHugePages_Total:       0\n');
    for (const l of lines) expect(l).toMatch(/^[A-Za-z_()]+: +\d+( kB)?$/);
    expect(sysinfo.meminfo({ totalBytes: 4096 * 1024, usedBytes: 1024 * 1024, cachedBytes: 2048 })).toMatch(/^MemTotal:           4096 kB\nMemFree:            3070 kB\nMemAvailable:       3072 kB\nBuffers:               0 kB\nCached:                2 kB\n/);
  });

  it('loadavg, version, filesystems, uptime', () => {
    expect(cat('/proc/loadavg')).toBe('0.00 0.00 0.00 1/1 42\n');
    expect(sysinfo.loadavg([1.5, 0.25, 0], 1, 3, 9)).toBe('1.50 0.25 0.00 1/3 9\n');
    expect(cat('/proc/version')).toMatch(/^Linux version 6\.1\.0-tslinux \(tslinux@tslinux\) \(.*\) #1 SMP PREEMPT_DYNAMIC tslinux\n$/);
    const fsTypes = cat('/proc/filesystems');
    expect(fsTypes).toContain('nodev\tproc\n');
    expect(fsTypes).toContain('nodev\ttmpfs\n');
    expect(fsTypes).toContain('nodev\toverlay\n');
    expect(sysinfo.filesystems(['ext4'], ['ext4'])).toBe('\text4\n');
    expect(cat('/proc/uptime')).toBe('12.35 12.35\n');
  });

  it('/proc/sys/kernel', () => {
    expect(ls('/proc/sys/kernel').sort()).toEqual(['hostname', 'osrelease', 'ostype', 'pid_max', 'version']);
    expect(cat('/proc/sys/kernel/hostname')).toBe('testhost\n');
    expect(cat('/proc/sys/kernel/ostype')).toBe('Linux\n');
    expect(cat('/proc/sys/kernel/osrelease')).toBe('6.1.0-tslinux\n');
    expect(cat('/proc/sys/kernel/pid_max')).toBe('4194304\n');
  });

  it('lists the system files in /proc and gives them regular-file stats', () => {
    expect(ls('/proc')).toEqual(expect.arrayContaining(['cpuinfo', 'meminfo', 'loadavg', 'version', 'filesystems', 'uptime', 'mounts', 'sys', 'self']));
    const r = vfs.resolve('/proc/cpuinfo', { base: '/', follow: true });
    const st = r.fs.stat(r.node);
    expect(st.mode).toBe(S_IFREG | 0o444);
    expect(st.uid).toBe(1000);
    // Same inode on every lookup.
    expect(r.fs.stat(vfs.resolve('/proc/cpuinfo', { base: '/', follow: true }).node).ino).toBe(st.ino);
  });

  it('mounts lists the namespace', () => {
    expect(cat('/proc/mounts')).toBe('rootfs / rootfs rw 0 0\nproc /proc proc ro,nosuid,nodev,noexec 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n');
  });
});
