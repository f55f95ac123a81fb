// Content of the /proc system files, in the formats Linux 6.1 prints them:
// cpuinfo (arch/x86/kernel/cpu/proc.c, arch/arm64/kernel/cpuinfo.c),
// meminfo (fs/proc/meminfo.c), loadavg, version, filesystems,
// /proc/sys/kernel/*, and the per-process limits (fs/proc/base.c,
// proc_pid_limits) and fdinfo/<fd> (fs/proc/fd.c, seq_show).
//
// Pure functions of their inputs, so procfs.ts builds them from live state
// and tests can check them without a kernel.
import type { CpuArch } from '../arch/cpu.ts';
import { RLIM_INFINITY, type Rlimit } from './process.ts';

export const KERNEL_RELEASE = '6.1.0-tslinux';
/** uname -v. */
export const KERNEL_VERSION = '#1 SMP PREEMPT_DYNAMIC tslinux';
/** /proc/sys/kernel/pid_max as systemd-era distributions set it. */
export const PID_MAX = 4194304;

/** AT_HWCAP and AT_HWCAP2 in an auxv. */
export const AT_HWCAP = 16;
export const AT_HWCAP2 = 26;

// ---- /proc/cpuinfo ----------------------------------------------------------------

/** x86 capability names of CPUID.1:EDX, bit by bit (arch/x86/include/asm/cpufeatures.h; "" = not shown). */
const X86_EDX_FLAGS = [
  'fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', '', 'sep', 'mtrr', 'pge', 'mca', 'cmov',
  'pat', 'pse36', 'pn', 'clflush', '', 'dts', 'acpi', 'mmx', 'fxsr', 'sse', 'sse2', 'ss', 'ht', 'tm', 'ia64', 'pbe',
];

/** arm64 hwcap_str (arch/arm64/kernel/cpuinfo.c): AT_HWCAP bits 0-31, then AT_HWCAP2 bits 0-22. */
const ARM64_HWCAP = [
  'fp', 'asimd', 'evtstrm', 'aes', 'pmull', 'sha1', 'sha2', 'crc32', 'atomics', 'fphp', 'asimdhp', 'cpuid', 'asimdrdm', 'jscvt', 'fcma', 'lrcpc',
  'dcpop', 'sha3', 'sm3', 'sm4', 'asimddp', 'sha512', 'sve', 'asimdfhm', 'dit', 'uscat', 'ilrcpc', 'flagm', 'ssbs', 'sb', 'paca', 'pacg',
];
const ARM64_HWCAP2 = [
  'dcpodp', 'sve2', 'sveaes', 'svepmull', 'svebitperm', 'svesha3', 'svesm4', 'flagm2', 'frint', 'svei8mm', 'svef32mm', 'svef64mm',
  'svebf16', 'i8mm', 'bf16', 'dgh', 'rng', 'bti', 'mte', 'ecv', 'afp', 'rpres', 'mte3',
];

/** Names of the set bits of `value`, in bit order. */
function bitNames(value: number, names: readonly string[]): string[] {
  const out: string[] = [];
  names.forEach((name, bit) => {
    if (name && Math.floor(value / 2 ** bit) % 2 === 1) out.push(name);
  });
  return out;
}

/** The feature words /proc/cpuinfo shows for an AT_HWCAP (and AT_HWCAP2) value. */
export function cpuFeatures(arch: CpuArch, hwcap: number, hwcap2 = 0): string[] {
  if (arch === 'aarch64') return [...bitNames(hwcap, ARM64_HWCAP), ...bitNames(hwcap2, ARM64_HWCAP2)];
  // AT_HWCAP on x86 is only CPUID.1:EDX. Every x86-64 CPU also has these
  // (CPUID 0x80000001:EDX, capability word 1, printed after word 0).
  return [...bitNames(hwcap, X86_EDX_FLAGS), 'syscall', 'nx', 'lm'];
}

/**
 * /proc/cpuinfo for `ncpu` identical CPUs: Unicorn's models, qemu64 on x86-64
 * and Cortex-A72 on aarch64 (MIDR 0x410fd083), with the features of `hwcap`.
 */
export function cpuinfo(arch: CpuArch, hwcap: number, ncpu = 1, hwcap2 = 0): string {
  const features = cpuFeatures(arch, hwcap, hwcap2).join(' ');
  const out: string[] = [];
  for (let i = 0; i < ncpu; i++) {
    if (arch === 'aarch64') {
      out.push(
        `processor\t: ${i}\n` +
          'BogoMIPS\t: 100.00\n' +
          `Features\t: ${features}\n` +
          'CPU implementer\t: 0x41\n' +
          'CPU architecture: 8\n' +
          'CPU variant\t: 0x0\n' +
          'CPU part\t: 0xd08\n' +
          'CPU revision\t: 3\n\n',
      );
      continue;
    }
    const tsc = Math.floor(hwcap / 2 ** 4) % 2 === 1;
    out.push(
      `processor\t: ${i}\n` +
        'vendor_id\t: AuthenticAMD\n' +
        'cpu family\t: 15\n' +
        'model\t\t: 107\n' +
        'model name\t: QEMU Virtual CPU version 2.5+\n' +
        'stepping\t: 1\n' +
        (tsc ? 'cpu MHz\t\t: 2000.000\n' : '') +
        'cache size\t: 512 KB\n' +
        'physical id\t: 0\n' +
        `siblings\t: ${ncpu}\n` +
        `core id\t\t: ${i}\n` +
        `cpu cores\t: ${ncpu}\n` +
        `apicid\t\t: ${i}\n` +
        `initial apicid\t: ${i}\n` +
        'fpu\t\t: yes\n' +
        'fpu_exception\t: yes\n' +
        'cpuid level\t: 13\n' +
        'wp\t\t: yes\n' +
        `flags\t\t: ${features}\n` +
        'bugs\t\t:\n' +
        'bogomips\t: 4000.00\n' +
        'clflush size\t: 64\n' +
        'cache_alignment\t: 64\n' +
        'address sizes\t: 40 bits physical, 48 bits virtual\n' +
        'power management:\n\n',
    );
  }
  return out.join('');
}

/** AT_HWCAP and AT_HWCAP2 from a process's auxv bytes (pairs of little-endian u64); 0 when absent. */
export function hwcapFromAuxv(auxv: Uint8Array): { hwcap: number; hwcap2: number } {
  const v = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  let hwcap = 0;
  let hwcap2 = 0;
  for (let i = 0; i + 16 <= auxv.byteLength; i += 16) {
    const key = v.getBigUint64(i, true);
    const value = Number(v.getBigUint64(i + 8, true));
    if (key === 0n) break;
    if (key === BigInt(AT_HWCAP)) hwcap = value;
    if (key === BigInt(AT_HWCAP2)) hwcap2 = value;
  }
  return { hwcap, hwcap2 };
}

// ---- /proc/meminfo ------------------------------------------------------------------

export interface MemInfoInput {
  totalBytes: number;
  /** Bytes in use (the guests' committed memory). */
  usedBytes: number;
  /** Page cache, e.g. the bytes held by in-memory filesystems; counted as used too. */
  cachedBytes?: number;
  swapTotalBytes?: number;
  swapFreeBytes?: number;
}

/**
 * /proc/meminfo: every field of Linux 6.1 (x86-64 and arm64 defconfig) in
 * its "Name:   %8lu kB" layout; the ones tslinux has no notion of are 0.
 */
export function meminfo(input: MemInfoInput): string {
  const kb = (bytes: number): number => Math.max(0, Math.floor(bytes / 1024));
  const total = kb(input.totalBytes);
  const used = Math.min(total, kb(input.usedBytes));
  const cached = Math.min(total - used, kb(input.cachedBytes ?? 0));
  const free = total - used - cached;
  const swapTotal = kb(input.swapTotalBytes ?? 0);
  const swapFree = Math.min(swapTotal, kb(input.swapFreeBytes ?? swapTotal));
  // show_val_kb: a 16-column label, then %8lu; HardwareCorrupted has its own "%5lu".
  const line = (name: string, value: number): string =>
    name === 'HardwareCorrupted' ? `${name}: ${String(value).padStart(5)} kB\n` : `${`${name}:`.padEnd(16)}${String(value).padStart(8)} kB\n`;
  const fields: [string, number][] = [
    ['MemTotal', total],
    ['MemFree', free],
    ['MemAvailable', free + cached],
    ['Buffers', 0],
    ['Cached', cached],
    ['SwapCached', 0],
    ['Active', used],
    ['Inactive', cached],
    ['Active(anon)', used],
    ['Inactive(anon)', 0],
    ['Active(file)', 0],
    ['Inactive(file)', cached],
    ['Unevictable', 0],
    ['Mlocked', 0],
    ['SwapTotal', swapTotal],
    ['SwapFree', swapFree],
    ['Zswap', 0],
    ['Zswapped', 0],
    ['Dirty', 0],
    ['Writeback', 0],
    ['AnonPages', used],
    ['Mapped', 0],
    ['Shmem', 0],
    ['KReclaimable', 0],
    ['Slab', 0],
    ['SReclaimable', 0],
    ['SUnreclaim', 0],
    ['KernelStack', 0],
    ['PageTables', 0],
    ['SecPageTables', 0],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', Math.floor(total / 2) + swapTotal],
    ['Committed_AS', used],
    ['VmallocTotal', 34359738367],
    ['VmallocUsed', 0],
    ['VmallocChunk', 0],
    ['Percpu', 0],
    ['HardwareCorrupted', 0],
    ['AnonHugePages', 0],
    ['ShmemHugePages', 0],
    ['ShmemPmdMapped', 0],
    ['FileHugePages', 0],
    ['FilePmdMapped', 0],
  ];
  return (
    fields.map(([n, v]) => line(n, v)).join('') +
    'HugePages_Total:       0\n' +
    'HugePages_Free:        0\n' +
    'HugePages_Rsvd:        0\n' +
    'HugePages_Surp:        0\n' +
    line('Hugepagesize', 2048) +
    line('Hugetlb', 0)
  );
}

// ---- /proc/loadavg, /proc/version, /proc/filesystems, /proc/sys/kernel -------------------

/** "%lu.%02lu %lu.%02lu %lu.%02lu running/total lastpid" (fs/proc/loadavg.c). */
export function loadavg(loads: readonly [number, number, number], running: number, total: number, lastPid: number): string {
  return `${loads.map((l) => Math.max(0, l).toFixed(2)).join(' ')} ${running}/${total} ${lastPid}\n`;
}

export function version(): string {
  return `Linux version ${KERNEL_RELEASE} (tslinux@tslinux) (TypeScript on Node.js) ${KERNEL_VERSION}\n`;
}

/** The filesystem types tslinux has, each "nodev" (none needs a block device). */
export const TSLINUX_FILESYSTEMS = ['rootfs', 'tmpfs', 'devtmpfs', 'proc', 'sysfs', 'hostfs', 'overlay'];

/** /proc/filesystems: "nodev\t<type>" or "\t<type>" per line. */
export function filesystems(types: readonly string[] = TSLINUX_FILESYSTEMS, blockBacked: readonly string[] = []): string {
  return types.map((t) => `${blockBacked.includes(t) ? '' : 'nodev'}\t${t}\n`).join('');
}

/** The files of /proc/sys/kernel tslinux provides, each a line. */
export function sysKernel(hostname: string): Record<string, string> {
  return {
    hostname: `${hostname}\n`,
    ostype: 'Linux\n',
    osrelease: `${KERNEL_RELEASE}\n`,
    version: `${KERNEL_VERSION}\n`,
    pid_max: `${PID_MAX}\n`,
  };
}

// ---- /sys -----------------------------------------------------------------------------

/** PMD_SIZE with 4 KiB pages, on x86-64 and arm64 alike: the size of a transparent huge page. */
export const HPAGE_PMD_SIZE = 2 * 2 ** 20;

/**
 * A CPU list as sysfs prints one (Documentation/ABI/stable/sysfs-devices-system-cpu):
 * ranges of CPU numbers, "0" for one CPU, "0-3" for four.
 */
export function cpuList(ncpu: number): string {
  return ncpu === 1 ? '0' : `0-${ncpu - 1}`;
}

/**
 * The files of tslinux's /sys, by path below /sys. What runtimes read at
 * start: Go reads the huge page size (runtime/os_linux.go, osinit), glibc's
 * get_nprocs reads devices/system/cpu/online.
 */
export function sysfsFiles(ncpu: number): Record<string, string> {
  const cpus = `${cpuList(ncpu)}\n`;
  return {
    'kernel/mm/transparent_hugepage/hpage_pmd_size': `${HPAGE_PMD_SIZE}\n`,
    // The choice in brackets is the one in force (Documentation/admin-guide/mm/transhuge.rst).
    'kernel/mm/transparent_hugepage/enabled': 'always [madvise] never\n',
    'devices/system/cpu/online': cpus,
    'devices/system/cpu/possible': cpus,
    'devices/system/cpu/present': cpus,
  };
}

// ---- /proc/<pid>/limits -----------------------------------------------------------------

/** fs/proc/base.c lnames[], indexed by RLIMIT_* (the same numbers on x86-64 and arm64). */
const LIMIT_NAMES: [string, string | null][] = [
  ['Max cpu time', 'seconds'],
  ['Max file size', 'bytes'],
  ['Max data size', 'bytes'],
  ['Max stack size', 'bytes'],
  ['Max core file size', 'bytes'],
  ['Max resident set', 'bytes'],
  ['Max processes', 'processes'],
  ['Max open files', 'files'],
  ['Max locked memory', 'bytes'],
  ['Max address space', 'bytes'],
  ['Max file locks', 'locks'],
  ['Max pending signals', 'signals'],
  ['Max msgqueue size', 'bytes'],
  ['Max nice priority', null],
  ['Max realtime priority', null],
  ['Max realtime timeout', 'us'],
];

/** /proc/<pid>/limits, byte for byte as proc_pid_limits prints it. */
export function limitsTable(rlimits: ReadonlyMap<number, Rlimit>): string {
  const value = (v: bigint): string => (v === RLIM_INFINITY ? 'unlimited' : v.toString());
  let out = 'Limit                     Soft Limit           Hard Limit           Units     \n';
  LIMIT_NAMES.forEach(([name, unit], i) => {
    const r = rlimits.get(i) ?? { cur: RLIM_INFINITY, max: RLIM_INFINITY };
    out += `${name.padEnd(25)} ${value(r.cur).padEnd(20)} ${value(r.max).padEnd(20)} `;
    out += unit ? `${unit.padEnd(10)}\n` : '\n';
  });
  return out;
}

// ---- /proc/<pid>/fdinfo/<fd> ---------------------------------------------------------------

export interface FdInfoInput {
  pos: number;
  /** The file's f_flags: access mode, status flags and O_CLOEXEC, in the arch's bits. */
  flags: number;
  mntId: number;
  ino: number;
}

/** "pos:\t%lli\nflags:\t0%o\nmnt_id:\t%i\nino:\t%lu\n" (fs/proc/fd.c). */
export function fdinfo(f: FdInfoInput): string {
  return `pos:\t${f.pos}\nflags:\t0${f.flags.toString(8)}\nmnt_id:\t${f.mntId}\nino:\t${f.ino}\n`;
}
