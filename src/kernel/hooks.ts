// The library's syscall hooks, for teaching and fault injection: watch a
// call on its way in and out (onSyscall), or answer it instead of the
// kernel (override). They sit in the dispatcher's gate slot, in front of
// the handlers and behind any policy (a call the policy refuses never
// reaches an override): they see each call once on entry (not a woken
// call's retries), may answer for it, and see the finished call afterwards
// (see dispatch.ts).
import type { SyscallContext } from './syscall-decl.ts';
import { ARCHES } from '../arch/index.ts';
import type { GateVerdict, SyscallGate, SyscallRecord } from './dispatch.ts';
import { ERRNO_NAMES } from './errno-table.ts';
import { LinuxError } from './errors.ts';

/** A call on its way in: what the guest asked for. `ctx` reaches its memory (ctx.mem.readCString), fds and process. */
export interface SyscallCall {
  readonly name: string;
  readonly nr: number;
  /** The arguments converted by the declaration's kinds (pointers are guest addresses). */
  readonly args: readonly number[];
  readonly pid: number;
  readonly tid: number;
  readonly ctx: SyscallContext;
}

/** A finished call: the call, and what the guest got back. */
export interface SyscallOutcome extends SyscallCall {
  /** The raw result: >= 0, or -errno. */
  readonly ret: number;
  /** The errno's name when the call failed (ret in -4095..-1), else null. */
  readonly errno: string | null;
  /** Set when something other than the handler answered (a policy, an injection). */
  readonly note: string | undefined;
  readonly durationNs: number;
}

export interface SyscallWatch {
  before?: (call: SyscallCall) => void;
  after?: (outcome: SyscallOutcome) => void;
}

/**
 * A replacement handler: it gets the context and the arguments as a real
 * handler does, and returns the result (>= 0), returns -errno, or throws a
 * LinuxError. Returning undefined lets the real handler run, so one
 * override can fail only some calls.
 */
export type SyscallOverride = (ctx: SyscallContext, ...args: number[]) => number | undefined;

/** onSyscall('*', ...) watches every call. */
export const EVERY_SYSCALL = '*';

function tidOf(ctx: SyscallContext): number {
  return (ctx.task as { tid?: number } | undefined)?.tid ?? ctx.proc.pid;
}

export class SyscallHooks implements SyscallGate {
  private readonly watches = new Map<string, SyscallWatch[]>();
  private readonly overrides = new Map<string, SyscallOverride>();

  /** Watch calls named `name` (or '*' for all): `before` on entry, `after` with the result. */
  onSyscall(name: string, watch: SyscallWatch): this {
    if (name !== EVERY_SYSCALL) checkName(name);
    let list = this.watches.get(name);
    if (!list) this.watches.set(name, (list = []));
    list.push(watch);
    return this;
  }

  /** Answer calls named `name` with `fn` instead of the kernel's handler (the last override of a name wins). */
  override(name: string, fn: SyscallOverride): this {
    checkName(name);
    this.overrides.set(name, fn);
    return this;
  }

  check(ctx: SyscallContext, name: string, nr: number, _words: Uint32Array, args: readonly number[] = [], retry = false): GateVerdict {
    // A woken call trying again was watched (and not overridden) on entry.
    if (retry) return null;
    const watching = this.watchesOf(name);
    if (watching.length) {
      const call: SyscallCall = { name, nr, args, pid: ctx.proc.pid, tid: tidOf(ctx), ctx };
      for (const w of watching) w.before?.(call);
    }
    const fn = this.overrides.get(name);
    if (!fn) return null;
    const ret = runOverride(name, fn, ctx, args);
    return ret === undefined ? null : { ret };
  }

  after(ctx: SyscallContext, rec: SyscallRecord): void {
    const watching = this.watchesOf(rec.name);
    if (!watching.length) return;
    const failed = rec.ret < 0 && rec.ret > -4096;
    const outcome: SyscallOutcome = {
      name: rec.name,
      nr: rec.nr,
      args: rec.args,
      pid: ctx.proc.pid,
      tid: tidOf(ctx),
      ctx,
      ret: rec.ret,
      errno: failed ? (ERRNO_NAMES[-rec.ret] ?? `E${-rec.ret}`) : null,
      note: rec.note,
      durationNs: Number(rec.endNs - rec.startNs),
    };
    for (const w of watching) w.after?.(outcome);
  }

  private watchesOf(name: string): SyscallWatch[] {
    const named = this.watches.get(name);
    const all = this.watches.get(EVERY_SYSCALL);
    if (!all) return named ?? [];
    return named ? [...named, ...all] : all;
  }
}

/** A syscall of either arch (every declared one has a number on at least one). */
function checkName(name: string): void {
  if (!Object.values(ARCHES).some((a) => a.syscallNumbers[name] !== undefined)) throw new Error(`unknown syscall "${name}"`);
}

/** An override's answer as the guest will see it: a LinuxError becomes -errno; anything but a result is a mistake. */
function runOverride(name: string, fn: SyscallOverride, ctx: SyscallContext, args: readonly number[]): number | undefined {
  let r: number | undefined;
  try {
    r = fn(ctx, ...args);
  } catch (e) {
    if (e instanceof LinuxError) return -e.errno;
    throw e;
  }
  if (r === undefined) return undefined;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= -4096) {
    throw new TypeError(`override(${name}) returned ${String(r)}: return a result >= 0, -errno, or undefined`);
  }
  return r;
}
