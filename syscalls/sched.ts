// Scheduling and resource-accounting calls: one emulated CPU, one policy in
// practice (SCHED_OTHER), nice values, rusage/times, personality, membarrier,
// and the memory-locking calls (every page is always resident here).
import { fail } from '../src/kernel/errors.ts';
import { PAGE_SIZE } from '../src/kernel/memory.ts';
import type { Process } from '../src/kernel/process.ts';
import { family, type SyscallContext } from './types.ts';

const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const SCHED_RR = 2;
const SCHED_BATCH = 3;
const SCHED_IDLE = 5;
const SCHED_RESET_ON_FORK = 0x4000_0000;

const PRIO_PROCESS = 0;
const PRIO_PGRP = 1;
const PRIO_USER = 2;
const RLIMIT_NICE = 13;

const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;
const RUSAGE_THREAD = 1;

/** USER_HZ: the unit of times(2). */
const CLK_TCK = 100n;

/** The kernel's cpumask size: one long, enough for our single CPU. */
const CPUMASK_SIZE = 8;

/** Per-process state this module keeps without touching Process. */
const niceOf = new WeakMap<Process, number>();
const policyOf = new WeakMap<Process, { policy: number; priority: number }>();
const personaOf = new WeakMap<Process, number>();
const membarrierRegs = new WeakMap<Process, number>();

const nice = (p: Process): number => niceOf.get(p) ?? 0;

/** A process that exists (not reaped), by pid; 0 is the caller. ESRCH otherwise. */
function lookup(ctx: SyscallContext, pid: number): Process {
  if (pid === 0) return ctx.proc;
  const p = ctx.kernel.processes.get(pid);
  if (!p || p.reaped) fail('ESRCH');
  return p;
}

/**
 * The check sched_setaffinity/sched_setscheduler make on another process
 * (check_same_owner): our euid is its uid or euid, or we are root.
 */
function mayControl(ctx: SyscallContext, target: Process): boolean {
  const me = ctx.proc.creds;
  return target === ctx.proc || me.euid === 0 || me.euid === target.creds.uid || me.euid === target.creds.euid;
}

function schedYield(ctx: SyscallContext): number {
  ctx.kernel.requestReschedule();
  return 0;
}

/**
 * sched_getaffinity(2) NOTES: the raw call wants len*8 >= nr_cpu_ids and len
 * a multiple of sizeof(long), else EINVAL; it copies min(len, cpumask size)
 * bytes and returns that count (glibc zeroes the rest of the caller's set).
 */
function schedGetaffinity(ctx: SyscallContext, pid: number, len: number, mask: number): number {
  if (len * 8 < 1 || len % 8 !== 0) fail('EINVAL');
  lookup(ctx, pid);
  const n = Math.min(len, CPUMASK_SIZE);
  const out = new Uint8Array(n);
  out[0] = 1; // CPU 0
  ctx.mem.write(mask, out);
  return n;
}

/**
 * sched_setaffinity(2): a shorter mask is zero-extended, a longer one cut to
 * the kernel's size; the result is intersected with the CPUs that exist and
 * an empty intersection is EINVAL.
 */
function schedSetaffinity(ctx: SyscallContext, pid: number, len: number, mask: number): number {
  const n = Math.min(len, CPUMASK_SIZE);
  const bytes = n > 0 ? ctx.mem.read(mask, n) : new Uint8Array(0);
  const target = lookup(ctx, pid);
  if (!mayControl(ctx, target)) fail('EPERM');
  if (n === 0 || (bytes[0]! & 1) === 0) fail('EINVAL');
  return 0;
}

function validPriority(policy: number, priority: number): boolean {
  if (policy === SCHED_FIFO || policy === SCHED_RR) return priority >= 1 && priority <= 99;
  return priority === 0;
}

function knownPolicy(policy: number): boolean {
  return [SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE].includes(policy);
}

function schedGetscheduler(ctx: SyscallContext, pid: number): number {
  if (pid < 0) fail('EINVAL');
  return policyOf.get(lookup(ctx, pid))?.policy ?? SCHED_OTHER;
}

function schedGetparam(ctx: SyscallContext, pid: number, param: number): number {
  if (!param || pid < 0) fail('EINVAL');
  const p = lookup(ctx, pid);
  ctx.mem.writeU32(param, policyOf.get(p)?.priority ?? 0);
  return 0;
}

/**
 * sched_setscheduler(2): real-time policies need CAP_SYS_NICE (or a
 * non-zero RLIMIT_RTPRIO, which is 0 here); only root gets them. The policy
 * is recorded for sched_getscheduler, though every task runs alike.
 */
function setScheduler(ctx: SyscallContext, pid: number, policy: number | null, param: number): number {
  if (!param || pid < 0) fail('EINVAL');
  const priority = ctx.mem.readI32(param);
  const target = lookup(ctx, pid);
  const current = policyOf.get(target) ?? { policy: SCHED_OTHER, priority: 0 };
  const pol = policy === null ? current.policy : policy & ~SCHED_RESET_ON_FORK;
  if (policy !== null && (policy < 0 || !knownPolicy(pol))) fail('EINVAL');
  if (!validPriority(pol, priority)) fail('EINVAL');
  const root = ctx.proc.creds.euid === 0;
  if (!mayControl(ctx, target)) fail('EPERM');
  const realtime = pol === SCHED_FIFO || pol === SCHED_RR;
  const rtprio = Number(target.rlimits.get(14)?.cur ?? 0n); // RLIMIT_RTPRIO
  if (realtime && !root && priority > rtprio) fail('EPERM');
  policyOf.set(target, { policy: pol, priority });
  return 0;
}

function schedPriorityMax(_ctx: SyscallContext, policy: number): number {
  if (policy === SCHED_FIFO || policy === SCHED_RR) return 99;
  if (knownPolicy(policy)) return 0;
  fail('EINVAL');
}

function schedPriorityMin(_ctx: SyscallContext, policy: number): number {
  if (policy === SCHED_FIFO || policy === SCHED_RR) return 1;
  if (knownPolicy(policy)) return 0;
  fail('EINVAL');
}

/** The processes getpriority/setpriority address (who 0: ourselves, our group, our real uid). */
function prioTargets(ctx: SyscallContext, which: number, who: number): Process[] {
  const live = ctx.kernel.liveProcesses().filter((p) => !p.exited || p === ctx.proc);
  switch (which) {
    case PRIO_PROCESS: {
      if (who === 0) return [ctx.proc];
      const p = ctx.kernel.processes.get(who);
      return p && !p.reaped ? [p] : [];
    }
    case PRIO_PGRP: {
      const pgid = who === 0 ? ctx.proc.pgid : who;
      return live.filter((p) => p.pgid === pgid);
    }
    case PRIO_USER: {
      const uid = who === 0 ? ctx.proc.creds.uid : who >>> 0;
      return live.filter((p) => p.creds.uid === uid);
    }
    default:
      fail('EINVAL');
  }
}

/**
 * getpriority(2) NOTES: the raw syscall returns 20 - nice (1..40), so that
 * no success value is negative; glibc converts it back.
 */
function getpriority(ctx: SyscallContext, which: number, who: number): number {
  const targets = prioTargets(ctx, which, who);
  if (targets.length === 0) fail('ESRCH');
  return Math.max(...targets.map((p) => 20 - nice(p)));
}

/**
 * setpriority(2): the value is clamped to -20..19. Each target must belong
 * to us (its uid or euid is our euid) else EPERM; lowering its nice value
 * needs CAP_SYS_NICE or a RLIMIT_NICE that allows it (20 - nice <= limit),
 * else EACCES. Like the kernel, the last error seen wins.
 */
function setpriority(ctx: SyscallContext, which: number, who: number, value: number): number {
  const targets = prioTargets(ctx, which, who);
  if (targets.length === 0) fail('ESRCH');
  const niceval = Math.min(19, Math.max(-20, value));
  const me = ctx.proc.creds;
  const root = me.euid === 0;
  let error: 'EPERM' | 'EACCES' | null = null;
  for (const p of targets) {
    if (!root && p.creds.uid !== me.euid && p.creds.euid !== me.euid) {
      error = 'EPERM';
      continue;
    }
    const limit = Number(p.rlimits.get(RLIMIT_NICE)?.cur ?? 0n);
    if (niceval < nice(p) && !root && 20 - niceval > limit) {
      error = 'EACCES';
      continue;
    }
    niceOf.set(p, niceval);
  }
  if (error) fail(error);
  return 0;
}

// ---- I/O priorities ------------------------------------------------------------------------
// ioprio_set(2)/ioprio_get(2): a class (bits 13-15) and a level (bits 0-2), recorded per
// process and not acted on (there is no I/O scheduler here); like nice, not inherited on fork.

const IOPRIO_WHO_PROCESS = 1;
const IOPRIO_WHO_USER = 3;
const IOPRIO_CLASS_NONE = 0;
const IOPRIO_CLASS_RT = 1;
const IOPRIO_CLASS_BE = 2;
const IOPRIO_CLASS_IDLE = 3;
const ioprioClass = (ioprio: number): number => (ioprio >>> 13) & 7;
/** What a valueless priority counts as when several are compared: best-effort, normal level (4). */
const IOPRIO_BE_NORM_VALUE = (IOPRIO_CLASS_BE << 13) | 4;
const ioprioOf = new WeakMap<Process, number>();

/** The targets as getpriority's (process, group, user, 0 for our own), numbered from 1 here; EINVAL for others. */
function ioprioTargets(ctx: SyscallContext, which: number, who: number): Process[] {
  if (which < IOPRIO_WHO_PROCESS || which > IOPRIO_WHO_USER) fail('EINVAL');
  return prioTargets(ctx, which - IOPRIO_WHO_PROCESS, who);
}

/**
 * ioprio_check_cap: RT needs CAP_SYS_NICE (root here); NONE takes no level; classes past IDLE are
 * EINVAL. The level is the low 3 bits (0-7, always valid); the bits above it are hints, kept as given.
 */
function checkIoprio(ctx: SyscallContext, ioprio: number): void {
  switch (ioprioClass(ioprio)) {
    case IOPRIO_CLASS_RT:
      if (ctx.proc.creds.euid !== 0) fail('EPERM');
      return;
    case IOPRIO_CLASS_BE:
    case IOPRIO_CLASS_IDLE:
      return;
    case IOPRIO_CLASS_NONE:
      if ((ioprio & 7) !== 0) fail('EINVAL');
      return;
    default:
      fail('EINVAL');
  }
}

/** ioprio_set(2): each target must be ours (its uid is our uid or euid) unless we are root, else EPERM. */
function ioprioSet(ctx: SyscallContext, which: number, who: number, ioprio: number): number {
  checkIoprio(ctx, ioprio);
  const targets = ioprioTargets(ctx, which, who);
  if (targets.length === 0) fail('ESRCH');
  const me = ctx.proc.creds;
  for (const p of targets) {
    if (me.euid !== 0 && p.creds.uid !== me.uid && p.creds.uid !== me.euid) fail('EPERM');
    ioprioOf.set(p, ioprio & 0xffff);
  }
  return 0;
}

/** ioprio_get(2): 0 (class NONE) until set; of several targets the best (ioprio_best: the lowest value, NONE as BE/4). */
function ioprioGet(ctx: SyscallContext, which: number, who: number): number {
  const targets = ioprioTargets(ctx, which, who);
  if (targets.length === 0) fail('ESRCH');
  const values = targets.map((p) => ioprioOf.get(p) ?? 0);
  if (values.length === 1) return values[0]!;
  return Math.min(...values.map((v) => (ioprioClass(v) === IOPRIO_CLASS_NONE ? IOPRIO_BE_NORM_VALUE : v)));
}

function timeval(v: DataView, at: number, micros: bigint): void {
  v.setBigInt64(at, micros / 1_000_000n, true);
  v.setBigInt64(at + 8, micros % 1_000_000n, true);
}

/** struct rusage (144 bytes: two timevals then fourteen longs), see getrusage(2). */
function getrusage(ctx: SyscallContext, who: number, addr: number): number {
  if (who !== RUSAGE_SELF && who !== RUSAGE_CHILDREN && who !== RUSAGE_THREAD) fail('EINVAL');
  const buf = new Uint8Array(144);
  const v = new DataView(buf.buffer);
  if (who === RUSAGE_CHILDREN) {
    timeval(v, 0, ctx.proc.childCpuNs / 1000n);
  } else {
    // The guest's CPU time counts as user time (its system time is our kernel's, inside the same figure).
    timeval(v, 0, ctx.kernel.clock.cpuNs() / 1000n);
    v.setBigInt64(32, BigInt(Math.ceil(ctx.mem.committed / 1024)), true); // ru_maxrss, KiB
  }
  ctx.mem.write(addr, buf);
  return 0;
}

/** times(2): struct tms in clock ticks; returns ticks since boot. A NULL buffer is allowed. */
function times(ctx: SyscallContext, addr: number): number {
  if (addr) {
    const buf = new Uint8Array(32);
    const v = new DataView(buf.buffer);
    const ticks = (micros: bigint) => (micros * CLK_TCK) / 1_000_000n;
    v.setBigInt64(0, ticks(ctx.kernel.clock.cpuNs() / 1000n), true);
    v.setBigInt64(8, 0n, true);
    v.setBigInt64(16, ticks(ctx.proc.childCpuNs / 1000n), true);
    v.setBigInt64(24, 0n, true);
    ctx.mem.write(addr, buf);
  }
  return Number((ctx.kernel.monotonicNs() * CLK_TCK) / 1_000_000_000n);
}

/** getcpu(2): always CPU 0 on node 0; either pointer may be NULL; tcache is unused. */
function getcpu(ctx: SyscallContext, cpu: number, node: number): number {
  if (cpu) ctx.mem.writeU32(cpu, 0);
  if (node) ctx.mem.writeU32(node, 0);
  return 0;
}

/**
 * personality(2): 0xffffffff only asks; any other value is stored (the kernel
 * accepts any persona). Returns the previous persona (0: PER_LINUX).
 */
function personality(ctx: SyscallContext, persona: number): number {
  const old = personaOf.get(ctx.proc) ?? 0;
  if (persona !== 0xffff_ffff) personaOf.set(ctx.proc, persona);
  return old;
}

const MEMBARRIER_CMD_QUERY = 0;
const MEMBARRIER_CMD_GLOBAL = 1;
const MEMBARRIER_CMD_GLOBAL_EXPEDITED = 2;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 16;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 32;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 64;
const MEMBARRIER_SUPPORTED = 0x7f;

/**
 * membarrier(2): with one CPU every barrier is trivially done. flags must be
 * 0; the private expedited commands need prior registration (EPERM).
 */
function membarrier(ctx: SyscallContext, cmd: number, flags: number): number {
  if (flags !== 0) fail('EINVAL');
  const regs = membarrierRegs.get(ctx.proc) ?? 0;
  switch (cmd) {
    case MEMBARRIER_CMD_QUERY:
      return MEMBARRIER_SUPPORTED;
    case MEMBARRIER_CMD_GLOBAL:
    case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
      return 0;
    case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
      membarrierRegs.set(ctx.proc, regs | cmd);
      return 0;
    case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
    case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
      if (!(regs & (cmd << 1))) fail('EPERM');
      return 0;
    default:
      fail('EINVAL');
  }
}

/** mlock(2)/munlock: the page-rounded range must be mapped (ENOMEM); nothing ever swaps here. */
function lockRange(ctx: SyscallContext, addr: number, len: number): number {
  if (len === 0) return 0;
  const start = addr - (addr % PAGE_SIZE);
  const end = Math.ceil((addr + len) / PAGE_SIZE) * PAGE_SIZE;
  if (end < start || end > ctx.arch.layout.taskSize || !ctx.mem.isFullyMapped(start, end)) fail('ENOMEM');
  return 0;
}

const MLOCK_ONFAULT = 1;
function mlock2(ctx: SyscallContext, addr: number, len: number, flags: number): number {
  if (flags & ~MLOCK_ONFAULT) fail('EINVAL');
  return lockRange(ctx, addr, len);
}

const MCL_CURRENT = 1;
const MCL_FUTURE = 2;
const MCL_ONFAULT = 4;
function mlockall(_ctx: SyscallContext, flags: number): number {
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) fail('EINVAL');
  return 0;
}

/**
 * mincore(2): addr must be page-aligned (EINVAL); every page of the range
 * must be mapped (ENOMEM); vec gets one byte per page, 1 = resident (always).
 */
function mincore(ctx: SyscallContext, addr: number, len: number, vec: number): number {
  if (addr % PAGE_SIZE !== 0) fail('EINVAL');
  if (addr + len > ctx.arch.layout.taskSize) fail('ENOMEM');
  const pages = Math.ceil(len / PAGE_SIZE);
  if (pages === 0) return 0;
  if (!ctx.mem.isFullyMapped(addr, addr + pages * PAGE_SIZE)) fail('ENOMEM');
  ctx.mem.write(vec, new Uint8Array(pages).fill(1));
  return 0;
}

export const schedFamily = family('sched', [
  {
    name: 'sched_yield',
    summary: 'Gives up the CPU: the caller goes to the end of the run queue for its priority.',
    args: {},
    handler: schedYield,
  },
  {
    name: 'sched_getaffinity',
    summary: 'Reads the set of CPUs a thread may run on.',
    args: { pid: 'int', len: 'uint', mask: 'ptr' },
    ret: 'size',
    handler: schedGetaffinity,
    note: 'one CPU',
  },
  {
    name: 'sched_setaffinity',
    summary: 'Sets the set of CPUs a thread may run on.',
    args: { pid: 'int', len: 'uint', mask: 'ptr' },
    handler: schedSetaffinity,
    note: 'masks must include CPU 0',
  },
  {
    name: 'sched_getscheduler',
    summary: 'Reads the scheduling policy of a thread.',
    args: { pid: 'int' },
    handler: schedGetscheduler,
  },
  {
    name: 'sched_getparam',
    summary: 'Reads the scheduling priority of a thread.',
    args: { pid: 'int', param: 'ptr' },
    handler: schedGetparam,
  },
  {
    name: 'sched_setscheduler',
    summary: 'Sets the scheduling policy and priority of a thread.',
    args: { pid: 'int', policy: 'int', param: 'ptr' },
    handler: (ctx: SyscallContext, pid: number, policy: number, param: number) => setScheduler(ctx, pid, policy, param),
    note: 'policy recorded only; real-time needs root',
  },
  {
    name: 'sched_setparam',
    summary: 'Sets the scheduling priority of a thread.',
    args: { pid: 'int', param: 'ptr' },
    handler: (ctx: SyscallContext, pid: number, param: number) => setScheduler(ctx, pid, null, param),
  },
  {
    name: 'sched_get_priority_max',
    summary: 'Returns the highest priority a scheduling policy allows.',
    args: { policy: 'int' },
    handler: schedPriorityMax,
  },
  {
    name: 'sched_get_priority_min',
    summary: 'Returns the lowest priority a scheduling policy allows.',
    args: { policy: 'int' },
    handler: schedPriorityMin,
  },
  {
    name: 'getpriority',
    summary: 'Reads the nice value of a process, process group or user.',
    args: { which: 'prio_which', who: 'int' },
    handler: getpriority,
    note: 'returns 20 - nice',
  },
  {
    name: 'setpriority',
    summary: 'Sets the nice value of a process, process group or user.',
    args: { which: 'prio_which', who: 'int', prio: 'int' },
    handler: setpriority,
  },
  {
    name: 'ioprio_set',
    summary: 'Sets the I/O scheduling class and level of a process, process group or user.',
    args: { which: 'int', who: 'int', ioprio: 'int' },
    handler: ioprioSet,
    note: 'recorded, not acted on',
  },
  {
    name: 'ioprio_get',
    summary: 'Reads the I/O scheduling class and level of a process, process group or user.',
    args: { which: 'int', who: 'int' },
    handler: ioprioGet,
  },
  {
    name: 'getrusage',
    summary: 'Reads resource usage (CPU times, page faults, context switches...) of the caller, its children or the calling thread.',
    args: { who: 'int', usage: 'ptr' },
    handler: getrusage,
    note: 'host CPU time',
  },
  {
    name: 'times',
    summary: "Stores the process's and its waited-for children's user and system CPU times, in clock ticks, and returns the ticks since an arbitrary point.",
    args: { buf: 'ptr' },
    ret: 'size',
    handler: times,
  },
  {
    name: 'getcpu',
    summary: 'Reports the CPU and NUMA node the calling thread is running on.',
    args: { cpu: 'ptr', node: 'ptr', tcache: 'ptr' },
    handler: getcpu,
  },
  {
    name: 'personality',
    summary: 'Reads or sets the process execution domain (personality flags such as ADDR_NO_RANDOMIZE).',
    args: { persona: 'uint' },
    handler: personality,
    note: 'stored, not acted on',
  },
  {
    name: 'membarrier',
    summary: "Issues memory barriers on sets of threads (a way to make other threads' memory accesses ordered).",
    args: { cmd: 'int', flags: 'uint', cpu_id: 'int' },
    handler: membarrier,
  },
  {
    name: 'mlock',
    summary: 'Locks a range of pages in memory so they are not paged out.',
    args: { addr: 'ptr', len: 'size' },
    handler: lockRange,
  },
  {
    name: 'munlock',
    summary: 'Unlocks a range of pages locked with mlock.',
    args: { addr: 'ptr', len: 'size' },
    handler: lockRange,
  },
  {
    name: 'mlock2',
    summary: 'Like mlock, with flags (MLOCK_ONFAULT locks pages only as they are touched).',
    args: { addr: 'ptr', len: 'size', flags: 'uint' },
    handler: mlock2,
  },
  {
    name: 'mlockall',
    summary: 'Locks all current and/or future pages of the process in memory.',
    args: { flags: 'int' },
    handler: mlockall,
  },
  {
    name: 'munlockall',
    summary: 'Unlocks all pages of the process.',
    args: {},
    handler: () => 0,
  },
  {
    name: 'mincore',
    summary: 'Reports, one byte per page, which pages of a range are resident in memory.',
    args: { addr: 'ptr', len: 'size', vec: 'ptr' },
    handler: mincore,
  },
]);
