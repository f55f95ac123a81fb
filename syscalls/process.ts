// Process-wide calls: exit, ids, limits, uname, sysinfo, and the start-up
// calls that libc makes (set_tid_address, set_robust_list, rseq, arch_prctl).
import { fail } from '../src/kernel/errors.ts';
import { RLIM_INFINITY, type Process, type Rlimit } from '../src/kernel/process.ts';
import { family, type SyscallContext } from './types.ts';

const RLIMIT_NLIMITS = 16;
/** fs.nr_open: RLIMIT_NOFILE's hard limit may not exceed it, even for root. */
const NR_OPEN = 1 << 20;

/** exit(2): the calling thread ends; the last thread's exit ends the process. */
function exitThread(ctx: SyscallContext, code: number): number {
  ctx.kernel.exitThread(ctx.task, code);
  return 0;
}

function exitGroup(ctx: SyscallContext, code: number): number {
  ctx.proc.exit(code);
  return 0;
}

function readRlimit(ctx: SyscallContext, addr: number): Rlimit {
  return { cur: ctx.mem.readBigU64(addr), max: ctx.mem.readBigU64(addr + 8) };
}

function writeRlimit(ctx: SyscallContext, addr: number, r: Rlimit): void {
  ctx.mem.writeU64(addr, r.cur);
  ctx.mem.writeU64(addr + 8, r.max);
}

/** The emulated init: the parent of the first process, leader of group and session 1. */
const INIT_PID = 1;

/** A process that exists (not yet reaped), by pid; 0 is the caller. ESRCH otherwise. */
function lookup(ctx: SyscallContext, pid: number): Process {
  if (pid === 0) return ctx.proc;
  const p = ctx.kernel.processes.get(pid);
  if (!p || p.reaped) fail('ESRCH');
  return p;
}

/**
 * prlimit64(2): our own limits or those of a process with our user ids
 * (else EPERM, unless we are root); raising a hard limit needs root too.
 */
function prlimit64(ctx: SyscallContext, pid: number, resource: number, newLimit: number, oldLimit: number): number {
  const next = newLimit ? readRlimit(ctx, newLimit) : null;
  const target = lookup(ctx, pid);
  const me = ctx.proc.creds;
  const them = target.creds;
  const sameUser = me.uid === them.uid && me.uid === them.euid && me.uid === them.suid && me.gid === them.gid && me.gid === them.egid && me.gid === them.sgid;
  if (target !== ctx.proc && !sameUser && me.euid !== 0) fail('EPERM');
  if (resource < 0 || resource >= RLIMIT_NLIMITS) fail('EINVAL');
  const current = target.rlimits.get(resource)!;
  if (next) {
    if (next.cur > next.max) fail('EINVAL');
    if (resource === ctx.arch.c.RLIMIT_NOFILE && next.max > BigInt(NR_OPEN)) fail('EPERM');
    // Raising the hard limit needs CAP_SYS_RESOURCE; the guest is unprivileged unless uid 0.
    if (next.max > current.max && me.euid !== 0) fail('EPERM');
  }
  if (oldLimit) writeRlimit(ctx, oldLimit, current);
  if (next) {
    target.rlimits.set(resource, next);
    if (resource === ctx.arch.c.RLIMIT_NOFILE) target.fds.limit = Number(next.cur);
    if (resource === ctx.arch.c.RLIMIT_AS) target.applyAddressSpaceLimit();
  }
  return 0;
}

function getrlimit(ctx: SyscallContext, resource: number, addr: number): number {
  if (resource < 0 || resource >= RLIMIT_NLIMITS) fail('EINVAL');
  writeRlimit(ctx, addr, ctx.proc.rlimits.get(resource)!);
  return 0;
}

/** struct utsname: six fields of 65 bytes (see uname(2)). */
function uname(ctx: SyscallContext, addr: number): number {
  const fields = ['Linux', ctx.kernel.hostname, '6.1.0-tslinux', '#1 SMP PREEMPT_DYNAMIC tslinux', ctx.arch.platform, '(none)'];
  const buf = new Uint8Array(65 * 6);
  fields.forEach((f, i) => buf.set(Buffer.from(f.slice(0, 64)), i * 65));
  ctx.mem.write(addr, buf);
  return 0;
}

/** struct sysinfo (see sysinfo(2)), with mem_unit 1. */
function sysinfo(ctx: SyscallContext, addr: number): number {
  const buf = new Uint8Array(112);
  const v = new DataView(buf.buffer);
  // Whole seconds, a started second counting as one (as Linux rounds).
  const ns = ctx.kernel.monotonicNs();
  v.setBigInt64(0, ns / 1_000_000_000n + (ns % 1_000_000_000n ? 1n : 0n), true);
  const total = 8n << 30n;
  v.setBigUint64(32, total, true); // totalram
  v.setBigUint64(40, total - BigInt(ctx.mem.committed), true); // freeram
  v.setUint16(80, Math.min(ctx.kernel.liveProcesses().length, 0xffff), true); // procs
  v.setUint32(104, 1, true); // mem_unit
  ctx.mem.write(addr, buf);
  return 0;
}

/** arch_prctl(2), x86-64 only: the FS and GS bases hold the thread pointer. */
function archPrctl(ctx: SyscallContext, code: number, addr: number): number {
  const cpu = ctx.cpu;
  const ARCH_SET_GS = 0x1001;
  const ARCH_SET_FS = 0x1002;
  const ARCH_GET_FS = 0x1003;
  const ARCH_GET_GS = 0x1004;
  const reg = code === ARCH_SET_FS || code === ARCH_GET_FS ? 'fs_base' : 'gs_base';
  switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS: {
      if (addr >= ctx.arch.layout.taskSize) fail('EPERM');
      cpu.setRegister(reg, addr);
      return 0;
    }
    case ARCH_GET_FS:
    case ARCH_GET_GS: {
      ctx.mem.writeU64(addr, cpu.register(reg));
      return 0;
    }
    default:
      fail('EINVAL');
  }
}

/** prctl(2): the options libc and shells use; EINVAL for the rest, as for an unknown option. */
function prctl(ctx: SyscallContext, option: number, arg2: number, arg3: number, arg4: number, arg5: number): number {
  const PR_SET_PDEATHSIG = 1;
  const PR_GET_PDEATHSIG = 2;
  const PR_GET_DUMPABLE = 3;
  const PR_SET_DUMPABLE = 4;
  const PR_SET_NAME = 15;
  const PR_GET_NAME = 16;
  const PR_SET_NO_NEW_PRIVS = 38;
  const PR_GET_NO_NEW_PRIVS = 39;
  const p = ctx.proc;
  switch (option) {
    case PR_SET_PDEATHSIG:
      if (arg2 < 0 || arg2 > 64) fail('EINVAL');
      p.pdeathsig = arg2;
      return 0;
    case PR_GET_PDEATHSIG:
      ctx.mem.writeU32(arg2, p.pdeathsig);
      return 0;
    case PR_GET_DUMPABLE:
      return p.dumpable;
    case PR_SET_DUMPABLE:
      if (arg2 !== 0 && arg2 !== 1) fail('EINVAL');
      p.dumpable = arg2;
      return 0;
    case PR_SET_NAME: {
      // The name is cut to 15 bytes plus NUL (TASK_COMM_LEN); like
      // strncpy_from_user, nothing past the NUL or the 15th byte is read.
      const bytes: number[] = [];
      for (let i = 0; i < 15; i++) {
        const b = ctx.mem.read(arg2 + i, 1)[0]!;
        if (b === 0) break;
        bytes.push(b);
      }
      p.comm = Buffer.from(bytes).toString('latin1');
      return 0;
    }
    case PR_GET_NAME: {
      const out = new Uint8Array(16);
      out.set(Buffer.from(p.comm, 'latin1').subarray(0, 15));
      ctx.mem.write(arg2, out);
      return 0;
    }
    case PR_SET_NO_NEW_PRIVS:
      if (arg2 !== 1 || arg3 || arg4 || arg5) fail('EINVAL');
      p.noNewPrivs = true;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      if (arg2 || arg3 || arg4 || arg5) fail('EINVAL');
      return p.noNewPrivs ? 1 : 0;
    default:
      fail('EINVAL');
  }
}

/** Whether process group `pgid` exists in session `sid` (the emulated init leads group 1 of session 1). */
function groupExists(ctx: SyscallContext, pgid: number, sid: number): boolean {
  if (pgid === INIT_PID && sid === INIT_PID) return true;
  return ctx.kernel.liveProcesses().some((p) => p.pgid === pgid && p.sid === sid && !p.exited);
}

/**
 * setpgid(2): move ourselves or a child into a new group (pgid 0: its own
 * pid) or an existing group of our session. ESRCH for anyone else, EPERM
 * for a session leader, a child in another session, or a group that does
 * not exist in our session.
 */
function setpgid(ctx: SyscallContext, pid: number, pgid: number): number {
  const me = ctx.proc;
  if (pgid < 0) fail('EINVAL');
  const target = pid === 0 ? me : ctx.kernel.processes.get(pid);
  if (!target || target.reaped || (target !== me && target.parent !== me)) fail('ESRCH');
  if (target !== me && target.sid !== me.sid) fail('EPERM');
  if (target.sid === target.pid) fail('EPERM');
  const group = pgid === 0 ? target.pid : pgid;
  if (group !== target.pid && !groupExists(ctx, group, me.sid)) fail('EPERM');
  target.pgid = group;
  return 0;
}

/** setsid(2): EPERM when a process group with our pid exists (we lead one, or did). */
function setsid(ctx: SyscallContext): number {
  const p = ctx.proc;
  if (p.pgid === p.pid || ctx.kernel.liveProcesses().some((q) => q.pgid === p.pid)) fail('EPERM');
  p.sid = p.pgid = p.pid;
  return p.sid;
}

export const processFamily = family('process', [
  {
    name: 'exit',
    summary: 'Ends the calling thread with a status; in a single-threaded process that ends the process.',
    args: { status: 'int' },
    ret: 'noreturn',
    handler: exitThread,
  },
  {
    name: 'exit_group',
    summary: "Ends every thread of the process; the low 8 bits of status become the parent's wait status.",
    args: { status: 'int' },
    ret: 'noreturn',
    handler: exitGroup,
  },
  {
    name: 'getpid',
    summary: "Returns the calling process's id (the thread group id).",
    args: {},
    handler: (ctx: SyscallContext) => ctx.proc.pid,
  },
  {
    name: 'getppid',
    summary: "Returns the parent process's id.",
    args: {},
    handler: (ctx: SyscallContext) => ctx.proc.ppid,
  },
  {
    name: 'gettid',
    summary: "Returns the calling thread's id.",
    args: {},
    handler: (ctx: SyscallContext) => ctx.task.tid,
  },
  {
    name: 'getpgrp',
    summary: "Returns the calling process's process group id.",
    args: {},
    handler: (ctx: SyscallContext) => ctx.proc.pgid,
  },
  {
    name: 'getpgid',
    summary: 'Returns the process group id of a process (0: the caller).',
    args: { pid: 'int' },
    handler: (ctx: SyscallContext, pid: number) => lookup(ctx, pid).pgid,
  },
  {
    name: 'getsid',
    summary: 'Returns the session id of a process (0: the caller).',
    args: { pid: 'int' },
    handler: (ctx: SyscallContext, pid: number) => lookup(ctx, pid).sid,
  },
  {
    name: 'setpgid',
    summary: 'Moves a process into a process group, or makes a new group.',
    args: { pid: 'int', pgid: 'int' },
    handler: setpgid,
  },
  {
    name: 'setsid',
    summary: 'Starts a new session and process group led by the caller, without a controlling terminal.',
    args: {},
    handler: setsid,
  },
  {
    name: 'set_tid_address',
    summary: "Records an address at which the kernel writes 0 and wakes a futex when the thread exits; returns the caller's thread id.",
    args: { tidptr: 'ptr' },
    handler: (ctx: SyscallContext, tidptr: number) => {
      ctx.task.clearChildTid = tidptr;
      return ctx.task.tid;
    },
  },
  {
    name: 'set_robust_list',
    summary: 'Registers the list of robust futexes the thread holds, which the kernel releases if the thread dies.',
    args: { head: 'ptr', len: 'size' },
    handler: (ctx: SyscallContext, head: number, len: number) => {
      if (len !== 24) fail('EINVAL'); // sizeof(struct robust_list_head) on 64-bit
      ctx.task.robustList = { head, len };
      return 0;
    },
  },
  {
    name: 'rseq',
    summary: 'Registers a restartable-sequences area for the thread (per-CPU data without atomics).',
    args: { rseq: 'ptr', rseq_len: 'uint', flags: 'int', sig: 'hex' },
    handler: () => fail('ENOSYS'),
    note: 'ENOSYS: restartable sequences are optional; libc falls back',
  },
  {
    name: 'prlimit64',
    summary: 'Reads and/or sets a resource limit (soft and hard) of a process.',
    args: { pid: 'int', resource: 'rlimit_resource', new_limit: 'struct_rlimit_in', old_limit: 'struct_rlimit_out' },
    handler: prlimit64,
  },
  {
    name: 'getrlimit',
    summary: 'Reads a resource limit (soft and hard) of the calling process.',
    args: { resource: 'rlimit_resource', rlim: 'struct_rlimit_out' },
    handler: getrlimit,
  },
  {
    name: 'setrlimit',
    summary: 'Sets a resource limit (soft and hard) of the calling process.',
    args: { resource: 'rlimit_resource', rlim: 'struct_rlimit_in' },
    // setrlimit(2) is prlimit64 on the calling process without the old value.
    handler: (ctx: SyscallContext, resource: number, rlim: number) => prlimit64(ctx, 0, resource, rlim, 0),
  },
  {
    name: 'uname',
    summary: 'Fills a struct utsname with the system name, host name, kernel release and version, and machine.',
    args: { buf: 'struct_utsname_out' },
    handler: uname,
  },
  {
    name: 'sysinfo',
    summary: 'Fills a struct sysinfo with uptime, load averages, memory and swap totals, and the number of processes.',
    args: { info: 'ptr' },
    handler: sysinfo,
  },
  {
    name: 'prctl',
    summary: 'Process-wide settings by option: the thread name (PR_SET_NAME), the parent-death signal, dumpability, no_new_privs and more.',
    args: { option: 'int', arg2: 'hex', arg3: 'hex', arg4: 'hex', arg5: 'hex' },
    handler: prctl,
    note: 'PR_SET/GET_NAME, PR_SET/GET_PDEATHSIG, PR_GET/SET_DUMPABLE, PR_SET/GET_NO_NEW_PRIVS; EINVAL otherwise',
  },
  {
    name: 'arch_prctl',
    summary: 'x86-64 thread state: sets or reads the FS and GS segment bases (ARCH_SET_FS installs the TLS pointer).',
    args: { code: 'arch_prctl_code', addr: 'ptr' },
    handler: archPrctl,
  },
]);

export { RLIM_INFINITY };
