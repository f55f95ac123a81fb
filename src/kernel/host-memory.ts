// How much memory the host can give this run, for the default memory budget
// (--memory-limit). Node's os.freemem() is the host's available memory
// (MemAvailable on Linux); a memory cgroup (v1 or v2) around tslinux and an
// RLIMIT_AS on it can leave less, and exceeding either ends the whole
// process (the OOM killer, or allocation failures in native code that no
// JavaScript can catch), so the smallest of the three counts. The cgroup and
// RLIMIT_AS parts read Linux's /proc and /sys/fs/cgroup; elsewhere they find
// nothing and os.freemem() alone decides.
import * as fs from 'node:fs';
import * as os from 'node:os';

/** The default budget is half of what the host can give, at most this much. */
export const DEFAULT_MEMORY_CAP = 4 * 2 ** 30;

/**
 * The run's default memory budget: half of the host's headroom (what it can
 * still give: available memory, the room left in any memory cgroup around
 * tslinux, the address space left under RLIMIT_AS), at most 4 GiB. The
 * other half is for Node itself and tslinux's own structures.
 */
export function defaultMemoryBudget(): number {
  return Math.min(DEFAULT_MEMORY_CAP, Math.floor(hostMemoryHeadroom() / 2));
}

/** What the host can still give this process, in bytes (read at most once a second: kernels are made by the thousand in tests). */
export function hostMemoryHeadroom(): number {
  const now = performance.now();
  if (!lastHeadroom || now - lastHeadroom.at > 1000) lastHeadroom = { at: now, bytes: Math.min(os.freemem(), cgroupHeadroom(), addressSpaceHeadroom()) };
  return lastHeadroom.bytes;
}

let lastHeadroom: { at: number; bytes: number } | null = null;

/**
 * The room left in the memory cgroups that hold this process: for each
 * level from its own cgroup up, limit minus usage (cgroup v2's memory.max
 * and memory.current; v1's memory.limit_in_bytes and memory.usage_in_bytes),
 * the smallest. Infinity without a limit or outside Linux.
 */
export function cgroupHeadroom(): number {
  let room = Infinity;
  for (const dir of cgroupDirs()) {
    const v2 = readNumber(`${dir}/memory.max`);
    const limit = v2 ?? readNumber(`${dir}/memory.limit_in_bytes`);
    if (limit === null || limit >= 2 ** 62) continue;
    const usage = readNumber(`${dir}/${v2 !== null ? 'memory.current' : 'memory.usage_in_bytes'}`) ?? 0;
    room = Math.min(room, Math.max(0, limit - usage));
  }
  return room;
}

/** This process's memory cgroup directories, its own first, then each parent (see cgroups(7), /proc/pid/cgroup). */
function cgroupDirs(): string[] {
  let lines: string[];
  try {
    lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const line of lines) {
    const [, controllers, rel] = line.split(':');
    if (rel === undefined) continue;
    // v2: "0::/path" under /sys/fs/cgroup; v1: "N:memory:/path" under /sys/fs/cgroup/memory.
    const base = controllers === '' ? '/sys/fs/cgroup' : controllers!.split(',').includes('memory') ? '/sys/fs/cgroup/memory' : null;
    if (!base) continue;
    for (let p = rel; ; p = p.slice(0, p.lastIndexOf('/'))) {
      dirs.push(`${base}${p === '/' ? '' : p}`);
      if (p === '/' || p === '') break;
    }
  }
  return dirs;
}

/** Address space left under RLIMIT_AS (Max address space in /proc/self/limits, less VmSize); Infinity without one. */
export function addressSpaceHeadroom(): number {
  try {
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max address space\s+(\S+)/m.exec(limits);
    if (!m || m[1] === 'unlimited') return Infinity;
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const vm = /^VmSize:\s+(\d+) kB/m.exec(status);
    return Math.max(0, Number(m[1]) - (vm ? Number(vm[1]) * 1024 : 0));
  } catch {
    return Infinity;
  }
}

function readNumber(file: string): number | null {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (text === 'max') return Infinity;
    const n = Number(text);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}
