// The strace-style tracer: one line per syscall, `name(args) = result`, with
// strace's optional prefixes (-f's [pid N], -t/-tt/-ttt) and suffix (-T),
// and a -c style summary table. Arguments are decoded by kind in decode.ts.
import type { SyscallContext, SyscallDecl } from '../../syscalls/types.ts';
import type { SyscallObserver, SyscallRecord } from '../kernel/dispatch.ts';
import { errnoMessage, errnoName } from '../kernel/errors.ts';
import {
  fcntlTakesNoArg,
  formatArg,
  formatFcntlArg,
  formatFcntlResult,
  hex,
  octalMode,
  openTakesMode,
} from './decode.ts';

export type TimestampMode = false | 't' | 'tt' | 'ttt';

export interface FormatOptions {
  /** -s: bytes of strings and buffers shown (default 32). */
  strSize?: number;
  /** Prefix each line with `[pid N] ` (strace pads N to 5 columns, as it does with -f). */
  showPid?: boolean;
  /** -t (HH:MM:SS), -tt (with microseconds), -ttt (seconds since the epoch). */
  timestamps?: TimestampMode;
  /** -T: append the time spent in the call, ` <0.000012>`. */
  showTime?: boolean;
  /** Wall clock in nanoseconds since the epoch, for -t/-tt/-ttt (default: the host clock). */
  wallClockNs?: () => bigint;
}

export interface StraceOptions extends FormatOptions {
  /** Receives each line, without a trailing newline. */
  write: (line: string) => void;
}

export const DEFAULT_STRSIZE = 32;

function hostWallClockNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

function formatTimestamp(mode: 't' | 'tt' | 'ttt', ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const usec = String((ns % 1_000_000_000n) / 1000n).padStart(6, '0');
  if (mode === 'ttt') return `${sec}.${usec}`;
  const d = new Date(Number(sec) * 1000);
  const hms = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return mode === 'tt' ? `${hms}.${usec}` : hms;
}

/** Seconds with six decimals, truncated like strace's "%ld.%06ld". */
function formatDuration(ns: bigint): string {
  const d = ns < 0n ? 0n : ns;
  return `${d / 1_000_000_000n}.${String((d % 1_000_000_000n) / 1000n).padStart(6, '0')}`;
}

/** The decoded arguments of a declared call; open's mode and fcntl's argument only when the call uses them. */
function formatArgs(ctx: SyscallContext, decl: SyscallDecl, rec: SyscallRecord, strSize: number): string[] {
  const kinds = Object.values(decl.args);
  const out: string[] = [];
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i]!;
    const v = rec.args[i] ?? 0;
    const prevKind = i > 0 ? kinds[i - 1] : undefined;
    const prev = i > 0 ? (rec.args[i - 1] ?? 0) : 0;
    try {
      if (kind === 'mode' && prevKind === 'open_flags' && !openTakesMode(ctx.arch, prev)) continue;
      if (prevKind === 'fcntl_cmd') {
        if (fcntlTakesNoArg(ctx.arch, prev)) continue;
        out.push(formatFcntlArg(ctx.arch, prev, v));
        continue;
      }
    } catch {
      // fall through to the generic decoding
    }
    out.push(formatArg(kind, v, ctx, { strSize, ret: rec.ret, next: rec.args[i + 1], syscall: decl.name }));
  }
  return out;
}

/** The result as strace prints it: `-1 ENOENT (No such file or directory)`, `?`, hex for addresses. */
export function formatReturn(ctx: SyscallContext, rec: SyscallRecord): string {
  const decl = rec.decl;
  if (decl?.ret === 'noreturn') return '?';
  const r = rec.ret;
  if (r < 0 && r > -4096) return `-1 ${errnoName(-r)} (${errnoMessage(-r)})`;
  if (decl?.name === 'fcntl') {
    try {
      const kinds = Object.values(decl.args);
      const at = kinds.indexOf('fcntl_cmd');
      const special = at >= 0 ? formatFcntlResult(ctx.arch, rec.args[at] ?? 0, r) : undefined;
      if (special !== undefined) return special;
    } catch {
      // plain number below
    }
  }
  if (decl?.ret === 'addr') return hex(r);
  if (decl?.name === 'umask') return octalMode(r);
  return Number.isSafeInteger(r) ? String(r) : Number.isFinite(r) ? BigInt(Math.trunc(r)).toString() : String(r);
}

/** One trace line for a finished (or, for exit_group, starting) syscall. Never throws. */
export function formatSyscall(ctx: SyscallContext, rec: SyscallRecord, opts: FormatOptions = {}): string {
  const strSize = opts.strSize ?? DEFAULT_STRSIZE;
  let prefix = '';
  if (opts.showPid) {
    let pid: number | string = '?';
    try {
      pid = ctx.proc.tid ?? ctx.proc.pid;
    } catch {
      // a stub context without a process
    }
    prefix += `[pid ${String(pid).padStart(5)}] `;
  }
  if (opts.timestamps) {
    const now = (opts.wallClockNs ?? hostWallClockNs)();
    const elapsed = rec.endNs - rec.startNs;
    prefix += `${formatTimestamp(opts.timestamps, now - (elapsed > 0n ? elapsed : 0n))} `;
  }
  let args: string[];
  if (rec.decl) {
    args = formatArgs(ctx, rec.decl, rec, strSize);
  } else {
    args = rec.args.slice(0, 6).map((a) => hex(a));
  }
  let ret: string;
  try {
    ret = formatReturn(ctx, rec);
  } catch {
    ret = String(rec.ret);
  }
  const name = rec.decl?.name ?? rec.name;
  let line = `${prefix}${name}(${args.join(', ')}) = ${ret}`;
  if (opts.showTime && rec.decl?.ret !== 'noreturn') line += ` <${formatDuration(rec.endNs - rec.startNs)}>`;
  return line;
}

/** strace: prints every syscall through `write`, one line each. */
export class StraceTracer implements SyscallObserver {
  private readonly write: (line: string) => void;
  private readonly format: FormatOptions;

  constructor(opts: StraceOptions) {
    this.write = opts.write;
    this.format = {
      strSize: opts.strSize ?? DEFAULT_STRSIZE,
      showPid: opts.showPid ?? false,
      timestamps: opts.timestamps ?? false,
      showTime: opts.showTime ?? false,
      wallClockNs: opts.wallClockNs,
    };
  }

  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void {
    this.write(formatSyscall(ctx, rec, this.format));
  }
}

// ---- strace -c ------------------------------------------------------------------------

interface CallStats {
  name: string;
  nr: number;
  calls: number;
  errors: number;
  ns: bigint;
}

/** strace's ts_float: seconds as a double. */
function tsFloat(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

/** printf("%.*f"): like toFixed, but exact ties round to even as glibc does. */
function fixed(x: number, digits: number): string {
  const scaled = x * 10 ** digits;
  if (Number.isFinite(scaled) && !Number.isInteger(scaled) && Number.isInteger(scaled * 2)) {
    const down = Math.floor(scaled);
    const even = down % 2 === 0 ? down : down + 1;
    return (even / 10 ** digits).toFixed(digits);
  }
  return x.toFixed(digits);
}

/**
 * strace -c: calls, errors and time per syscall, rendered in strace's
 * table layout (columns as in strace's count.c: the widths grow with the
 * numbers, rows sorted by time spent, most first). Calls that do not
 * return (exit_group) are not counted, as in strace.
 */
export class SummaryCollector implements SyscallObserver {
  private readonly stats = new Map<string, CallStats>();

  onSyscall(_ctx: SyscallContext, rec: SyscallRecord): void {
    if (rec.decl?.ret === 'noreturn') return;
    const name = rec.decl?.name ?? rec.name;
    let s = this.stats.get(name);
    if (!s) {
      s = { name, nr: rec.nr, calls: 0, errors: 0, ns: 0n };
      this.stats.set(name, s);
    }
    s.calls++;
    if (rec.ret < 0 && rec.ret > -4096) s.errors++;
    const d = rec.endNs - rec.startNs;
    if (d > 0n) s.ns += d;
  }

  /** The table, each line ending in a newline. */
  render(): string {
    const rows = [...this.stats.values()].filter((s) => s.calls > 0);
    rows.sort((a, b) => (a.ns === b.ns ? a.nr - b.nr : a.ns > b.ns ? -1 : 1));
    let totalNs = 0n;
    let calls = 0;
    let errors = 0;
    let maxAvg = 0;
    let nameMax = 0;
    const avgUs = (s: CallStats): number => Math.trunc(tsFloat(s.ns / BigInt(s.calls)) * 1e6);
    for (const s of rows) {
      totalNs += s.ns;
      calls += s.calls;
      errors += s.errors;
      maxAvg = Math.max(maxAvg, avgUs(s));
      nameMax = Math.max(nameMax, s.name.length);
    }
    const total = tsFloat(totalNs);
    const w = [
      6,
      Math.max(11, total.toFixed(6).length),
      Math.max(11, String(maxAvg).length),
      Math.max(9, String(calls).length),
      Math.max(9, String(errors).length),
      Math.max(16, nameMax + 1),
    ];
    const line = (cells: string[]): string =>
      cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(w[i]!))).join(' ') + '\n';
    const dashes = w.map((n) => '-'.repeat(n)).join(' ') + '\n';
    let out = line(['% time', 'seconds', 'usecs/call', 'calls', 'errors', 'syscall']) + dashes;
    for (const s of rows) {
      const t = tsFloat(s.ns);
      const percent = t === 0 ? 0 : (100 * t) / total;
      out += line([fixed(percent, 2), fixed(t, 6), String(avgUs(s)), String(s.calls), s.errors ? String(s.errors) : '', s.name]);
    }
    out += dashes;
    const totalAvg = calls ? Math.trunc((total / calls) * 1e6) : 0;
    out += line(['100.00', fixed(total, 6), String(totalAvg), String(calls), errors ? String(errors) : '', 'total']);
    return out;
  }
}
