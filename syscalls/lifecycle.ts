// A process's life: fork, vfork, clone and clone3 (threads and processes), execve
// and execveat, wait4 and waitid, and rt_sigreturn (see fork(2), vfork(2),
// clone(2), execve(2), wait(2), sigreturn(2)).
import { resolveExecutable } from '../src/loader/binfmt.ts';
import { fail } from '../src/kernel/errors.ts';
import type { Process } from '../src/kernel/process.ts';
import { NoReturn, Waitable, WouldBlock } from '../src/kernel/wait.ts';
import { identityOf } from '../src/kernel/vfs/permission.ts';
import { CLONE, CLONE_EXIT_SIGNAL_MASK, WAIT } from '../src/kernel/syscall-flags.ts';
import { readPath, resolveAt, type Place } from './fs.ts';
import { family, type SyscallContext } from './types.ts';

const AT_FDCWD = -100;

// ---- fork, vfork, clone ---------------------------------------------------------------

function fork(ctx: SyscallContext): number {
  return ctx.kernel.forkProcess(ctx.task, ctx.task.pc).pid;
}

/**
 * vfork(2): the parent is suspended until the child execs or exits, and
 * the child runs in the parent's memory meanwhile (what it writes, such as
 * an exec error code for the parent, the parent sees).
 */
function vfork(ctx: SyscallContext): number {
  const state = ctx.task.syscallState as { child: Process; done: Waitable } | undefined;
  if (state) {
    if (state.child.vforkDone === null) return state.child.pid;
    throw new WouldBlock([state.done]);
  }
  const child = ctx.kernel.forkProcess(ctx.task, ctx.task.pc, true);
  const done = new Waitable();
  child.vforkDone = done;
  ctx.task.syscallState = { child, done };
  throw new WouldBlock([done]);
}

/** What clone and clone3 ask for, decoded from either call's arguments. */
interface CloneRequest {
  flags: number;
  exitSignal: number;
  /** The new task's stack pointer (0: the caller's). */
  sp: number;
  parentTid: number;
  childTid: number;
  tls: number;
}

/**
 * clone(2): (flags, stack, parent_tid, child_tid, tls), whichever order the
 * arch passes them in (the declaration says). The low byte of flags is the
 * signal the parent gets at the child's exit.
 */
function clone(ctx: SyscallContext, flags: number, stack: number, parentTid: number, childTid: number, tls: number): number {
  const exitSignal = flags & CLONE_EXIT_SIGNAL_MASK;
  return cloneTask(ctx, { flags: flags & ~CLONE_EXIT_SIGNAL_MASK, exitSignal, sp: stack, parentTid, childTid, tls });
}

/** clone3(2): struct clone_args (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, ...). */
function clone3(ctx: SyscallContext, argsPtr: number, size: number): number {
  const CLONE_ARGS_SIZE_VER0 = 64;
  if (size < CLONE_ARGS_SIZE_VER0 || size > 4096) fail('EINVAL');
  const raw = ctx.mem.read(argsPtr, size);
  const word = (i: number): bigint => (i * 8 + 8 <= size ? new DataView(raw.buffer, raw.byteOffset).getBigUint64(i * 8, true) : 0n);
  // Fields past the ones known here must be zero (see clone(2), "E2BIG").
  for (let i = 11; i * 8 + 8 <= size; i++) if (word(i) !== 0n) fail('E2BIG');
  const flags = word(0);
  const exitSignal = Number(word(4));
  if (flags >> 32n !== 0n || exitSignal > 64) fail('EINVAL');
  if (word(8) !== 0n || word(9) !== 0n) fail('EPERM'); // set_tid needs CAP_SYS_ADMIN in the pid namespace
  const stack = Number(word(5));
  const stackSize = Number(word(6));
  if ((stack === 0) !== (stackSize === 0)) fail('EINVAL');
  return cloneTask(ctx, {
    flags: Number(flags),
    exitSignal,
    sp: stack ? stack + stackSize : 0, // clone3 takes the lowest address and the size
    parentTid: Number(word(3)),
    childTid: Number(word(2)),
    tls: Number(word(7)),
  });
}

/** The flag rules of clone(2), "EINVAL" and "EPERM", then a thread or a process. */
function cloneTask(ctx: SyscallContext, req: CloneRequest): number {
  const f = req.flags;
  if (f & (CLONE.NEWNS | CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNET)) fail('EPERM');
  if (f & CLONE.THREAD && !(f & CLONE.SIGHAND)) fail('EINVAL');
  if (f & CLONE.SIGHAND && !(f & CLONE.VM)) fail('EINVAL');
  if (f & CLONE.THREAD) return cloneThread(ctx, req);
  return cloneProcess(ctx, req);
}

/**
 * A thread: same process, memory, fds, filesystem context and signal
 * actions (CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND are implied by how
 * tslinux keeps them: on the process). Its tid words are written as asked.
 */
function cloneThread(ctx: SyscallContext, req: CloneRequest): number {
  const task = ctx.kernel.newThread(ctx.task, ctx.task.pc, { sp: req.sp, tls: req.flags & CLONE.SETTLS ? req.tls : null });
  if (req.flags & CLONE.PARENT_SETTID) ctx.mem.writeU32(req.parentTid, task.tid);
  if (req.flags & CLONE.CHILD_SETTID) ctx.mem.writeU32(req.childTid, task.tid);
  if (req.flags & CLONE.CHILD_CLEARTID) task.clearChildTid = req.childTid;
  return task.tid;
}

/** A new process: a fork with a new stack, TLS and tid words as asked; CLONE_VFORK waits for its exec or exit. */
function cloneProcess(ctx: SyscallContext, req: CloneRequest): number {
  const f = req.flags;
  if (f & CLONE.VFORK) {
    // posix_spawn's clone(CLONE_VM|CLONE_VFORK): a vfork running on its own stack.
    const state = ctx.task.syscallState as { child: Process; done: Waitable } | undefined;
    if (state) {
      if (state.child.vforkDone === null) return state.child.pid;
      throw new WouldBlock([state.done]);
    }
  }
  // CLONE_VM: the child uses the parent's pages (mappings it makes or drops later stay its own).
  const child = ctx.kernel.forkProcess(ctx.task, ctx.task.pc, (f & CLONE.VM) !== 0);
  child.exitSignal = req.exitSignal;
  const childTask = ctx.kernel.taskOf(child);
  if (req.sp) child.cpu.setSp(req.sp);
  if (f & CLONE.SETTLS) child.cpu.setTls(req.tls);
  if (f & CLONE.PARENT_SETTID) ctx.mem.writeU32(req.parentTid, child.pid);
  if (f & CLONE.CHILD_SETTID) child.mem.writeU32(req.childTid, childTask.tid);
  if (f & CLONE.CHILD_CLEARTID) childTask.clearChildTid = req.childTid;
  if (f & CLONE.VFORK) {
    const done = new Waitable();
    child.vforkDone = done;
    ctx.task.syscallState = { child, done };
    throw new WouldBlock([done]);
  }
  return child.pid;
}

// ---- execve -------------------------------------------------------------------------

/** Linux's limits on exec arguments (see execve(2), "Limits on size of arguments"). */
const MAX_ARG_STRLEN = 131072;
const MAX_ARG_TOTAL = 2 * 1024 * 1024;

function readStringArray(ctx: SyscallContext, ptr: number): string[] {
  const out: string[] = [];
  if (ptr === 0) return out; // Linux treats a NULL argv or envp as empty
  let total = 0;
  for (let i = 0; ; i++) {
    const p = ctx.mem.readU64(ptr + 8 * i);
    if (p === 0) return out;
    const bytes = ctx.mem.readCStringBytes(p, MAX_ARG_STRLEN);
    total += bytes.length + 1 + 8;
    if (total > MAX_ARG_TOTAL) fail('E2BIG');
    out.push(Buffer.from(bytes).toString('utf8'));
  }
}

function execveat(ctx: SyscallContext, dirfd: number, pathPtr: number, argvPtr: number, envpPtr: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~(c.AT_EMPTY_PATH | c.AT_SYMLINK_NOFOLLOW)) fail('EINVAL');
  let path = readPath(ctx, pathPtr, (flags & c.AT_EMPTY_PATH) !== 0);
  let argv = readStringArray(ctx, argvPtr);
  const envp = readStringArray(ctx, envpPtr);
  let place: Place;
  if (path === '') {
    const ofd = ctx.fds.get(dirfd);
    place = { node: ofd.node, fs: ofd.fs, path: ofd.path };
    path = ofd.path;
  } else {
    place = resolveAt(ctx, dirfd, path, (flags & c.AT_SYMLINK_NOFOLLOW) === 0);
  }
  const env = { vfs: ctx.kernel.vfs, who: identityOf(ctx.proc), resolve: (p: string) => resolveAt(ctx, AT_FDCWD, p, true) };
  const exe = resolveExecutable(env, place, path, argv);
  ctx.kernel.stageExec(ctx.proc, { bytes: exe.bytes, arch: exe.arch, argv: exe.argv, envp, exePath: exe.file.path, exeFile: exe.file, execfn: exe.execfn, interp: exe.interp, caller: ctx.task });
  return 0;
}

function execve(ctx: SyscallContext, pathPtr: number, argvPtr: number, envpPtr: number): number {
  return execveat(ctx, AT_FDCWD, pathPtr, argvPtr, envpPtr, 0);
}

// ---- wait ------------------------------------------------------------------------------

const { WNOHANG, WUNTRACED, WCONTINUED, WEXITED, WNOWAIT, __WNOTHREAD, __WALL, __WCLONE } = WAIT;

/** The children a wait selects: pid > 0 that one, -1 any, 0 our group, < -1 group -pid. */
function selectChildren(ctx: SyscallContext, pid: number): Process[] {
  const all = [...ctx.proc.children];
  if (pid > 0) return all.filter((p) => p.pid === pid);
  if (pid === -1) return all;
  const group = pid === 0 ? ctx.proc.pgid : -pid;
  return all.filter((p) => p.pgid === group);
}

function wait4(ctx: SyscallContext, pid: number, wstatus: number, options: number, rusage: number): number {
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) fail('EINVAL');
  if (pid === -0x8000_0000) fail('ESRCH'); // INT_MIN cannot be negated (see wait(2))
  const candidates = selectChildren(ctx, pid);
  if (candidates.length === 0) fail('ECHILD');
  const zombie = candidates.find((p) => p.exited);
  if (!zombie) {
    // Stops and continues are reported once each, when asked for (see wait(2)).
    const changed = candidates.find(
      (p) => (options & WUNTRACED && typeof p.waitReport === 'number') || (options & WCONTINUED && p.waitReport === 'continued'),
    );
    if (changed) {
      const report = changed.waitReport!;
      changed.waitReport = null;
      if (wstatus) ctx.mem.writeU32(wstatus, report === 'continued' ? 0xffff : (report << 8) | 0x7f);
      if (rusage) ctx.mem.write(rusage, new Uint8Array(144));
      return changed.pid;
    }
    if (options & WNOHANG) return 0;
    throw new WouldBlock([ctx.proc.childEvents]);
  }
  if (wstatus) ctx.mem.writeU32(wstatus, zombie.exitStatus!);
  if (rusage) ctx.mem.write(rusage, new Uint8Array(144));
  ctx.kernel.reap(zombie);
  return zombie.pid;
}

function waitid(ctx: SyscallContext, idtype: number, id: number, infop: number, options: number, rusage: number): number {
  const P_ALL = 0;
  const P_PID = 1;
  const P_PGID = 2;
  if (options & ~(WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE)) fail('EINVAL');
  if (!(options & (WEXITED | WUNTRACED | WCONTINUED))) fail('EINVAL');
  let pid: number;
  if (idtype === P_ALL) pid = -1;
  else if (idtype === P_PID) pid = id > 0 ? id : fail('EINVAL');
  else if (idtype === P_PGID) pid = id === 0 ? 0 : -id;
  else fail('EINVAL');
  const candidates = selectChildren(ctx, pid);
  if (candidates.length === 0) fail('ECHILD');
  const zombie = options & WEXITED ? candidates.find((p) => p.exited) : undefined;
  if (!zombie) {
    const changed = candidates.find(
      (p) => (options & WUNTRACED && typeof p.waitReport === 'number') || (options & WCONTINUED && p.waitReport === 'continued'),
    );
    if (changed) {
      const report = changed.waitReport!;
      if (!(options & WNOWAIT)) changed.waitReport = null;
      if (infop) ctx.mem.write(infop, stateSiginfo(changed, report === 'continued' ? 6 : 5, report === 'continued' ? 18 : report));
      return 0;
    }
    if (options & WNOHANG) {
      if (infop) ctx.mem.write(infop, new Uint8Array(128));
      return 0;
    }
    throw new WouldBlock([ctx.proc.childEvents]);
  }
  if (infop) ctx.mem.write(infop, childSiginfo(zombie));
  if (rusage) ctx.mem.write(rusage, new Uint8Array(144));
  if (!(options & WNOWAIT)) ctx.kernel.reap(zombie);
  return 0;
}

/** siginfo_t for SIGCHLD (si_signo, si_errno, si_code, then pid, uid, status), as waitid fills it. */
function stateSiginfo(p: Process, code: number, status: number): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  v.setInt32(0, 17, true);
  v.setInt32(8, code, true);
  v.setInt32(16, p.pid, true);
  v.setUint32(20, p.creds.uid, true);
  v.setInt32(24, status, true);
  return b;
}

/** siginfo_t for an exited or killed child (CLD_EXITED, CLD_KILLED, CLD_DUMPED). */
function childSiginfo(p: Process): Uint8Array {
  const status = p.exitStatus!;
  const sig = status & 0x7f;
  return stateSiginfo(p, sig === 0 ? 1 : status & 0x80 ? 3 : 2, sig === 0 ? (status >> 8) & 0xff : sig);
}

function rtSigreturn(ctx: SyscallContext): number {
  // A bad frame: nothing restored, SIGSEGV forced; the call returns 0 (Linux's badframe path).
  if (!ctx.kernel.signals.sigreturn(ctx.task)) return 0;
  throw new NoReturn('sigreturn');
}

export const lifecycleFamily = family('lifecycle', [
  {
    name: 'fork',
    summary: "Creates a child process with a copy of the caller's memory and descriptors; returns the child's pid in the parent and 0 in the child.",
    args: {},
    ret: 'int',
    handler: fork,
  },
  {
    name: 'vfork',
    summary: "Creates a child that shares the parent's memory; the parent is suspended until the child calls execve or exits.",
    args: {},
    ret: 'int',
    // The parent's wait for its child is not interruptible: it resumes after a handler (kernel/fork.c).
    interrupted: 'resumed',
    handler: vfork,
  },
  {
    name: 'clone',
    summary: 'Creates a child process or thread; its flags choose what the child shares with the parent (memory, descriptors, signal handlers...).',
    args: { flags: 'clone_flags', stack: 'ptr', parent_tid: 'tid_out', child_tid: 'ptr', tls: 'ptr' },
    // arm64 passes tls before child_tid (CONFIG_CLONE_BACKWARDS).
    argOrder: { aarch64: ['flags', 'stack', 'parent_tid', 'tls', 'child_tid'] },
    // strace: child_stack=..., flags=..., then the pointers the flags use.
    labelled: [
      { arg: 'stack', label: 'child_stack' },
      { arg: 'flags' },
      { arg: 'parent_tid', when: { arg: 'flags', any: CLONE.PARENT_SETTID } },
      { arg: 'tls', when: { arg: 'flags', any: CLONE.SETTLS } },
      { arg: 'child_tid', label: 'child_tidptr', when: { arg: 'flags', any: CLONE.CHILD_SETTID | CLONE.CHILD_CLEARTID } },
    ],
    interrupted: 'resumed',
    handler: clone,
    note: 'CLONE_VM without CLONE_THREAD shares the pages, not later mapping changes; no namespaces (EPERM)',
  },
  {
    name: 'clone3',
    summary: 'clone with its arguments in an extensible struct clone_args.',
    args: { cl_args: 'ptr', size: 'size' },
    interrupted: 'resumed',
    handler: clone3,
    note: 'no set_tid (EPERM), no pidfd, no cgroup',
  },
  {
    name: 'execve',
    summary: 'Replaces the program of the calling process with the one at pathname, with new argv and environment; it does not return on success.',
    args: { pathname: 'path', argv: 'argv', envp: 'envp' },
    handler: execve,
    note: '#! scripts and PT_INTERP loaders resolved in the guest namespace',
  },
  {
    name: 'execveat',
    summary: 'execve for a program named relative to a directory descriptor (or, with AT_EMPTY_PATH, the descriptor itself).',
    args: { dirfd: 'dirfd', pathname: 'path', argv: 'argv', envp: 'envp', flags: 'at_flags' },
    handler: execveat,
  },
  {
    name: 'wait4',
    summary: 'Waits for a child to change state, returns its pid and stores its wait status (and resource usage).',
    args: { pid: 'int', wstatus: 'wait_status_out', options: 'wait_options', rusage: 'ptr' },
    handler: wait4,
  },
  {
    name: 'waitid',
    summary: 'Waits for a child to change state, selected by pid, group or any, and fills a siginfo_t describing it.',
    args: { idtype: 'int', id: 'int', infop: 'ptr', options: 'wait_options', rusage: 'ptr' },
    handler: waitid,
  },
  {
    name: 'rt_sigreturn',
    summary: 'Returns from a signal handler: restores the registers and signal mask saved in the signal frame.',
    args: {},
    ret: 'sigreturn',
    handler: rtSigreturn,
  },
]);
