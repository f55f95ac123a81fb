// From a trapped `syscall`/`svc` to a handler and back: read the number and
// the six arguments in one register batch, convert each argument by its
// declared kind, call the handler, write the result (or -errno) to rax/x0,
// and hand the call to the tracer.
import type { Arch } from '../arch/types.ts';
import type { SyscallRegisters } from '../arch/cpu.ts';
import type { SigInfo } from '../arch/sigframe.ts';
import type { Task } from './task.ts';
import type { SyscallContext, SyscallDecl } from './syscall-decl.ts';
import { KINDS, argLayout, handlerArgs, type ArgKind } from './syscall-kinds.ts';
import { KernelBug, LinuxError } from './errors.ts';
import { ERRNO } from './errno-table.ts';
import { NoReturn, WouldBlock } from './wait.ts';
import { isAllocationFailure } from './memory.ts';

/** dispatch() results that are not values for the guest. */
export const SYSCALL_BLOCKED = -0x1_0000;
export const SYSCALL_NORETURN = -0x1_0001;

export interface SyscallRecord {
  nr: number;
  name: string;
  decl: SyscallDecl | undefined;
  args: number[];
  /** Raw result: >= 0, or -errno. */
  ret: number;
  /** Set when a policy answered instead of the handler (e.g. "denied by policy"). */
  note?: string;
  /**
   * The call wrote no result: it ended its thread (exit), restored the
   * registers of a signal frame (rt_sigreturn), or a policy trapped or
   * killed it. `ret` is then 0, and the return register holds whatever the
   * call left there (what strace prints for such calls).
   */
  noReturn?: boolean;
  startNs: bigint;
  endNs: bigint;
}

/**
 * A check before each handler runs (seccomp in spirit, strace's fault
 * injection, the library's overrides): null lets the call through;
 * otherwise the call is not made and returns `ret`, or the process is
 * killed with signal `kill`. `note` says why, for the trace.
 */
export type GateVerdict = null | { ret: number; note?: string } | { kill: number; note: string };

/**
 * Sees every entry of every call, before its handler, as a seccomp filter
 * runs at each syscall entry: a call restarted after a signal handler is a
 * new entry, and so is any call whose number, arguments or pc differ from
 * the blocked call it would otherwise resume.
 */
export interface SyscallGate {
  /**
   * `args` are the registers converted by the declaration's kinds (six raw
   * words for unknown calls); the dispatcher always passes them. `retry` is
   * true when this entry is the same call again after it blocked and was
   * woken (same number, arguments and pc): a policy decides it again (it
   * can only say what it said on entry), while gates that count or watch
   * calls let it through so that each call counts once.
   */
  check(ctx: SyscallContext, name: string, nr: number, words: Uint32Array, args?: readonly number[], retry?: boolean): GateVerdict;
  /** Optional: the finished call, for gates that wrap calls (the library's hooks). */
  after?(ctx: SyscallContext, rec: SyscallRecord): void;
}

/** What the kernel tells about a death, while the dying task's registers are still on its engine (--crash-report, src/trace/crash-report.ts). */
export interface CrashHook {
  /** `task` takes the default action of `info.signo` and its process dies. */
  fatalSignal(task: Task, info: SigInfo): void;
  /** A handler (or the scheduler) failed inside tslinux while `task` ran. */
  kernelBug(task: Task, bug: KernelBug): void;
}

export interface SyscallObserver {
  /** Called after each syscall (before it, for calls that do not return). */
  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void;
  /**
   * Optional: a call blocked (`rec.ret` is not set); it is made again when
   * its task wakes, and onSyscall sees the attempt that completes. A tracer
   * keeps it to show the call if a signal interrupts it or its thread dies
   * first (strace's "= ? ERESTARTSYS" and "= ?" lines).
   */
  onBlocked?(ctx: SyscallContext, rec: SyscallRecord): void;
  /**
   * Optional: `task` takes signal `info` now, before its handler or default
   * action runs (strace's "--- SIGCHLD {...} ---" line, printed at ptrace's
   * signal-delivery stop). `discarded`: the signal was ignored and dropped
   * when sent, so it is never delivered; a tracer shows it anyway, as Linux
   * queues even ignored signals for a ptraced task (sig_ignored()).
   */
  onSignal?(task: Task, info: SigInfo, discarded: boolean): void;
}

/** One observer that tells several (a trace and a report, say) in order; null when none is given. */
export function combineObservers(...observers: (SyscallObserver | null | undefined)[]): SyscallObserver | null {
  const list = observers.filter((o): o is SyscallObserver => o != null);
  if (list.length <= 1) return list[0] ?? null;
  return {
    onSyscall(ctx, rec) {
      for (const o of list) o.onSyscall(ctx, rec);
    },
    onBlocked(ctx, rec) {
      for (const o of list) o.onBlocked?.(ctx, rec);
    },
    onSignal(task, info, discarded) {
      for (const o of list) o.onSignal?.(task, info, discarded);
    },
  };
}

/** One gate that asks several in order; the first verdict wins, and every gate sees the result. */
export function chainGates(...gates: (SyscallGate | null | undefined)[]): SyscallGate | null {
  const list = gates.filter((g): g is SyscallGate => g != null);
  if (list.length <= 1) return list[0] ?? null;
  return {
    check(ctx, name, nr, words, args, retry) {
      for (const g of list) {
        const v = g.check(ctx, name, nr, words, args, retry);
        if (v) return v;
      }
      return null;
    },
    after(ctx, rec) {
      for (const g of list) g.after?.(ctx, rec);
    },
  };
}

/** The syscall table of one arch: number -> declaration. */
export function buildTable(arch: Arch, decls: Iterable<SyscallDecl>): (SyscallDecl | undefined)[] {
  const table: (SyscallDecl | undefined)[] = [];
  for (const decl of decls) {
    const nr = arch.syscallNumbers[decl.name];
    if (nr !== undefined) table[nr] = decl;
  }
  return table;
}

const TWO32 = 0x1_0000_0000;

/** Convert register i of the batch (1-based: 0 is the number) as `kind` demands. */
export function convertArg(words: Uint32Array, i: number, kind: ArgKind): number {
  const lo = words[2 * i]!;
  const hi = words[2 * i + 1]!;
  switch (KINDS[kind].width) {
    case 's32':
      return lo | 0;
    case 'u32':
      return lo;
    case 's64':
      return (hi | 0) * TWO32 + lo;
    default:
      return hi * TWO32 + lo;
  }
}

export class Dispatcher {
  constructor(
    private readonly table: (SyscallDecl | undefined)[],
    private readonly arch: Arch,
    public observer: SyscallObserver | null,
    private readonly clockNs: () => bigint = process.hrtime.bigint,
    public gate: SyscallGate | null = null,
  ) {}

  private nameOf(nr: number, decl: SyscallDecl | undefined): string {
    return decl?.name ?? this.arch.syscallNames[nr] ?? `syscall_${nr < 0 ? 'invalid' : `0x${nr.toString(16)}`}`;
  }

  /** Handle the syscall whose registers are in `regs` (already read); the result goes into `ret`. */
  dispatch(ctx: SyscallContext, regs: SyscallRegisters): number {
    const words = regs.words;
    const nr = words[1] === 0 ? words[0]! : -1;
    const decl = nr >= 0 ? this.table[nr] : undefined;
    const gate = this.gate;
    const wantsRecord = this.observer !== null || gate?.after !== undefined;
    const startNs = wantsRecord ? this.clockNs() : 0n;
    const args = decl ? this.convertArgs(decl, words) : [1, 2, 3, 4, 5, 6].map((i) => convertArg(words, i, 'hex'));
    let ret: number;
    let note: string | undefined;
    const retry = resumesBlockedCall(ctx.task, words);
    const verdict = gate ? gate.check(ctx, this.nameOf(nr, decl), nr, words, args, retry) : null;
    if (verdict) {
      note = verdict.note;
      if ('kill' in verdict) {
        ctx.proc.killBySignal(verdict.kill, false);
        ret = SYSCALL_NORETURN;
      } else {
        ret = verdict.ret;
      }
    } else if (!decl) {
      ret = -ERRNO.ENOSYS;
    } else {
      ret = this.invoke(decl, ctx, args, words);
    }
    if (ret === SYSCALL_BLOCKED) {
      this.observer?.onBlocked?.(ctx, { nr, name: this.nameOf(nr, decl), decl, args, ret: 0, startNs, endNs: startNs });
      return ret;
    }
    if (wantsRecord) {
      const rec: SyscallRecord = { nr, name: this.nameOf(nr, decl), decl, args, ret: ret === SYSCALL_NORETURN ? 0 : ret, startNs, endNs: this.clockNs() };
      if (note) rec.note = note;
      if (ret === SYSCALL_NORETURN) rec.noReturn = true;
      gate?.after?.(ctx, rec);
      this.observer?.onSyscall(ctx, rec);
    }
    return ret;
  }

  /** The arguments in register order (what traces and gates see), each converted by its kind. */
  private convertArgs(decl: SyscallDecl, words: Uint32Array): number[] {
    const kinds = argLayout(decl, this.arch.name).kinds;
    const out = new Array<number>(kinds.length);
    for (let i = 0; i < kinds.length; i++) out[i] = convertArg(words, i + 1, kinds[i]!);
    return out;
  }

  /** Run a handler: Linux errors become -errno, anything else is a bug in tslinux. */
  private invoke(decl: SyscallDecl, ctx: SyscallContext, args: number[], words: Uint32Array): number {
    try {
      const r = decl.handler(ctx, ...handlerArgs(argLayout(decl, this.arch.name), args));
      if (typeof r !== 'number' || !Number.isFinite(r) || (r < 0 && r > -4096)) {
        throw new Error(`handler returned ${String(r)}`);
      }
      return r;
    } catch (e) {
      if (e instanceof LinuxError) return -e.errno;
      if (e instanceof WouldBlock) {
        ctx.task.blockedOn = e;
        ctx.task.blockedSyscall = decl.name;
        ctx.task.syscallEntry = callEntry(words, ctx.task.pc);
        return SYSCALL_BLOCKED;
      }
      if (e instanceof NoReturn) return SYSCALL_NORETURN;
      // The host had no memory for a buffer the call needed: the guest is told, tslinux goes on.
      if (isAllocationFailure(e)) return -ERRNO.ENOMEM;
      if (e instanceof KernelBug) throw e;
      const shown = args.map((a) => (a < 0 ? String(a) : `0x${a.toString(16)}`)).join(', ');
      throw new KernelBug(`kernel bug in ${decl.name}(${shown}): ${(e as Error)?.stack ?? String(e)}`, e);
    }
  }
}

/**
 * One call as the guest made it: its number and six argument registers
 * (words 0-13 of the register batch) and the pc it returns to (words 14-15).
 */
export function callEntry(words: Uint32Array, pc: number): Uint32Array {
  const entry = new Uint32Array(16);
  entry.set(words.subarray(0, 14));
  entry[14] = pc % TWO32;
  entry[15] = Math.floor(pc / TWO32);
  return entry;
}

function sameEntry(entry: Uint32Array, words: Uint32Array, pc: number): boolean {
  for (let i = 0; i < 14; i++) if (entry[i] !== words[i]) return false;
  return entry[14] === pc % TWO32 && entry[15] === Math.floor(pc / TWO32);
}

/**
 * Whether this entry is the task's blocked call woken to try again. A task
 * holds a call's wait (blockedOn) and retry state (syscallState) only for
 * that call: an entry with another number, other arguments or another pc is
 * a different call, and the one it replaces is abandoned, so its state can
 * never reach another call's handler (a signal handler may rewrite the
 * registers a restarted call resumes with; see rt_sigreturn(2)). A call
 * restarted after a handler keeps its state but is a new entry (false), as
 * Linux runs seccomp again for it.
 */
function resumesBlockedCall(task: Task, words: Uint32Array): boolean {
  if (!task.blockedOn && task.syscallState === undefined) return false;
  if (task.syscallEntry && sameEntry(task.syscallEntry, words, task.pc)) return task.blockedOn !== null;
  task.blockedOn = null;
  task.syscallState = undefined;
  task.syscallEntry = null;
  return false;
}
