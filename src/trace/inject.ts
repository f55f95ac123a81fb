// Syscall tampering in strace's spirit (strace(1), "-e inject=" and
// "-e fault="): `SET:error=ERRNO` or `SET:retval=VALUE`, and `:when=EXPR`
// to pick which calls. The call is not made; the guest gets the error or
// the value, and the trace marks the line "(INJECTED)" as strace does.
//
// when=FIRST[..LAST][+[STEP]] counts calls of each syscall in the set, per
// task (strace: "accounting ... is done per syscall and per tracee"):
// FIRST alone is that call only, FIRST+ is every call from FIRST on,
// FIRST+STEP is FIRST, FIRST+STEP, FIRST+2*STEP..., and ..LAST ends the
// range. Without when=, every call is tampered with.
import type { SyscallContext } from '../kernel/syscall-decl.ts';
import type { GateVerdict, SyscallGate } from '../kernel/dispatch.ts';
import { ERRNO } from '../kernel/errno-table.ts';
import { FilterError, parseSyscallSet, type SyscallSet } from './filter.ts';

export const INJECTED_NOTE = 'INJECTED';

/** strace's limits for when= numbers. */
const MAX_WHEN = 65535;

export interface InjectSpec {
  /** The text the rule was given as, for messages. */
  readonly text: string;
  readonly syscalls: SyscallSet;
  /** The raw result the guest gets: -errno, or retval. */
  readonly ret: number;
  /** 1-based number of the first call tampered with. */
  readonly first: number;
  /** The last one (Infinity: no end). */
  readonly last: number;
  /** Distance between tampered calls; 0: only `first`. */
  readonly step: number;
}

export class InjectError extends Error {}

/** Parse `SET[:error=ERRNO|:retval=N][:when=EXPR]`; `-e fault=` passes defaultErrno ENOSYS. */
export function parseInjectSpec(text: string, opts: { defaultErrno?: number } = {}): InjectSpec {
  const [setText, ...parts] = text.split(':');
  if (!setText) throw new InjectError(`inject: no syscall set in "${text}"`);
  let syscalls: SyscallSet;
  try {
    syscalls = parseSyscallSet(setText);
  } catch (e) {
    if (e instanceof FilterError) throw new InjectError(`inject: ${e.message}`);
    throw e;
  }
  let ret: number | undefined;
  let when = { first: 1, last: Infinity, step: 1 };
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq) : part;
    const value = eq > 0 ? part.slice(eq + 1) : '';
    switch (key) {
      case 'error':
      case 'retval':
        if (ret !== undefined) throw new InjectError(`inject: only one error= or retval= in "${text}"`);
        ret = key === 'error' ? -parseErrno(value) : parseRetval(value);
        break;
      case 'when':
        when = parseWhen(value);
        break;
      default:
        throw new InjectError(`inject: "${part}" is not supported (tslinux knows error=, retval= and when=)`);
    }
  }
  if (ret === undefined) {
    if (opts.defaultErrno === undefined) throw new InjectError(`inject: "${text}" needs error=ERRNO or retval=VALUE`);
    ret = -opts.defaultErrno;
  }
  return { text, syscalls, ret, ...when };
}

/** An errno by name (EIO) or number (5). */
function parseErrno(v: string): number {
  const byName = (ERRNO as Record<string, number>)[v];
  if (byName !== undefined) return byName;
  const n = Number(v);
  if (/^\d+$/.test(v) && n >= 1 && n <= 4095) return n;
  throw new InjectError(`inject: invalid error "${v}" (an errno name like EIO, or 1..4095)`);
}

function parseRetval(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InjectError(`inject: invalid retval "${v}" (a number >= 0)`);
  return n;
}

/** when=FIRST[..LAST][+[STEP]]. */
function parseWhen(v: string): { first: number; last: number; step: number } {
  const m = /^(\d+)(?:\.\.(\d+))?(\+(\d+)?)?$/.exec(v);
  if (!m) throw new InjectError(`inject: invalid when= "${v}" (FIRST[..LAST][+[STEP]])`);
  const first = Number(m[1]);
  const last = m[2] !== undefined ? Number(m[2]) : m[3] === undefined ? first : Infinity;
  const step = m[4] !== undefined ? Number(m[4]) : m[3] !== undefined || m[2] !== undefined ? 1 : 0;
  const inRange = (n: number): boolean => n >= 1 && n <= MAX_WHEN;
  if (!inRange(first) || (m[4] !== undefined && !inRange(step)) || (m[2] !== undefined && !(last >= first && last <= MAX_WHEN))) {
    throw new InjectError(`inject: when= "${v}" is out of range (1..${MAX_WHEN}, LAST >= FIRST)`);
  }
  return { first, last, step };
}

/** Whether the n-th call (1-based) is one `spec` tampers with. */
export function isTampered(spec: InjectSpec, n: number): boolean {
  if (n < spec.first || n > spec.last) return false;
  return spec.step === 0 ? n === spec.first : (n - spec.first) % spec.step === 0;
}

/** The gate that carries out the rules; the last rule naming a syscall is the one for it, as in strace. */
export class InjectionGate implements SyscallGate {
  private readonly counts = new WeakMap<object, Map<string, number>>();

  constructor(private readonly specs: readonly InjectSpec[]) {}

  check(ctx: SyscallContext, name: string, nr: number, _words?: Uint32Array, _args?: readonly number[], retry = false): GateVerdict {
    // A woken call trying again is the same call: strace counts it once.
    if (retry) return null;
    const spec = this.ruleFor(ctx, name, nr);
    if (!spec) return null;
    const n = this.count(ctx, name);
    return isTampered(spec, n) ? { ret: spec.ret, note: INJECTED_NOTE } : null;
  }

  private ruleFor(ctx: SyscallContext, name: string, nr: number): InjectSpec | undefined {
    for (let i = this.specs.length - 1; i >= 0; i--) {
      const s = this.specs[i]!;
      if (s.syscalls.traces(ctx.arch, nr, name)) return s;
    }
    return undefined;
  }

  /** This call's number among the task's calls of `name`. */
  private count(ctx: SyscallContext, name: string): number {
    const key: object = ctx.task ?? ctx.proc;
    let m = this.counts.get(key);
    if (!m) this.counts.set(key, (m = new Map()));
    const n = (m.get(name) ?? 0) + 1;
    m.set(name, n);
    return n;
  }
}
