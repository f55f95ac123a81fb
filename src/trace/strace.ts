// The strace-style tracer: one line per syscall, `name(args) = result`, with
// strace's optional prefixes (-f's [pid N], -t/-tt/-ttt), -y's fd paths,
// -a's alignment and -T's suffix, and a -c style summary table. Arguments
// are decoded by kind in decode.ts. session.ts puts these together for the
// command line (filters, -f, -o/-ff, --trace-format=json).
import type { SyscallContext, SyscallDecl } from '../kernel/syscall-decl.ts';
import type { Arch } from '../arch/types.ts';
import { KINDS, RETURN_KINDS, argLayout, type ArgKind, type FdUse, type Governs } from '../kernel/syscall-kinds.ts';
import { archFlags, num } from '../kernel/syscall-flags.ts';
import type { SyscallObserver, SyscallRecord } from '../kernel/dispatch.ts';
import * as fs from 'node:fs';
import type { FdTable } from '../kernel/fdtable.ts';
import { HostStreamFile } from '../kernel/stdio.ts';
import { errnoMessage, errnoName } from '../kernel/errors.ts';
import { RESTART_RESULTS } from './decode-signals.ts';
import { INJECTED_NOTE } from './inject.ts';
import {
  fcntlTakesNoArg,
  formatArg,
  formatFcntlArg,
  fcntlReturnsFd,
  formatFcntlResult,
  futexOperands,
  hex,
  octalMode,
  openTakesMode,
  sigsetToString,
} from './decode.ts';
import { DEFAULT_COLUMNS } from './options.ts';

export type TimestampMode = false | 't' | 'tt' | 'ttt';

export interface FormatOptions {
  /** -s: bytes of strings and buffers shown (default 32). */
  strSize?: number;
  /** Prefix each line with `[pid N] ` (strace pads N to 5 columns, as it does with -f on stderr). */
  showPid?: boolean;
  /** How the pid prefix looks: `[pid  1000] ` (stderr) or `1000  ` (strace -f -o FILE). Default bracket. */
  pidStyle?: 'bracket' | 'plain';
  /** -t (HH:MM:SS), -tt (with microseconds), -ttt (seconds since the epoch). */
  timestamps?: TimestampMode;
  /** -T: append the time spent in the call, ` <0.000012>`. */
  showTime?: boolean;
  /** Wall clock in nanoseconds since the epoch, for -t/-tt/-ttt (default: the host clock). */
  wallClockNs?: () => bigint;
  /** -a: the column the ` = ` goes to (strace's default is 40); 0 or unset: no padding. */
  align?: number;
  /** -y: print the path behind fd arguments and fd results, `3</tmp/a.txt>`. */
  decodeFds?: boolean;
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
export function formatDuration(ns: bigint): string {
  const d = ns < 0n ? 0n : ns;
  return `${d / 1_000_000_000n}.${String((d % 1_000_000_000n) / 1000n).padStart(6, '0')}`;
}

// ---- declarations, cached ----------------------------------------------------------------

interface DeclInfo {
  /** The arguments in register order on the arch. */
  names: readonly string[];
  kinds: readonly ArgKind[];
  /** The index of a `fcntl_cmd` argument, -1 if none. */
  fcntlCmd: number;
  /** The order strace prints the arguments in (register indexes); the declaration's `labelled` may change it. */
  lineOrder: readonly number[];
}

const declInfo = new WeakMap<SyscallDecl, Map<string, DeclInfo>>();

/** What the tracer needs of a declaration on one arch. */
export function infoOf(decl: SyscallDecl, arch: Pick<Arch, 'name'>): DeclInfo {
  let perArch = declInfo.get(decl);
  if (!perArch) declInfo.set(decl, (perArch = new Map()));
  let info = perArch.get(arch.name);
  if (!info) {
    const { names, kinds } = argLayout(decl, arch.name);
    const lineOrder = decl.labelled ? decl.labelled.map((l) => names.indexOf(l.arg)) : names.map((_, i) => i);
    info = { names, kinds, fcntlCmd: kinds.indexOf('fcntl_cmd'), lineOrder };
    perArch.set(arch.name, info);
  }
  return info;
}

// ---- -y: the path behind an fd ---------------------------------------------------------------

/**
 * Paths of fds as last seen, per fd table: the tracer sees a call after it
 * ran, so close(3) no longer finds fd 3 in the table; strace (which decodes
 * on entry) still prints its path.
 */
const lastPaths = new WeakMap<FdTable, Map<number, string>>();

/** Host stdio streams by what they are on the host (see hostStreamPath). */
const hostPaths = new WeakMap<HostStreamFile, string>();

/**
 * What a host stream the guest got as stdin/stdout/stderr really is, as
 * strace -y names it: the file a shell redirected it to ("/tmp/out.txt"),
 * "pipe:[1234]", "/dev/pts/3", "/dev/null". On Linux that is the link
 * /proc/self/fd/N of this process for the host fd behind the stream;
 * elsewhere (no /proc) the guest's own name for it (/dev/stdout) stands.
 */
function hostStreamPath(file: HostStreamFile): string | undefined {
  let p = hostPaths.get(file);
  if (p === undefined && process.platform === 'linux') {
    try {
      p = fs.readlinkSync(`/proc/self/fd/${file.hostFd}`);
    } catch {
      return undefined;
    }
    hostPaths.set(file, p);
  }
  return p;
}

/** The path behind `fd` in the calling process, or undefined (not an fd, or unknown). */
export function fdPath(ctx: SyscallContext, fd: number): string | undefined {
  if (!(fd >= 0)) return undefined;
  let fds: FdTable;
  try {
    fds = ctx.fds;
    if (fds.has(fd)) {
      const ofd = fds.get(fd);
      const p = (ofd.file instanceof HostStreamFile ? hostStreamPath(ofd.file) : undefined) ?? ofd.path;
      let m = lastPaths.get(fds);
      if (!m) lastPaths.set(fds, (m = new Map()));
      m.set(fd, p);
      return p;
    }
  } catch {
    return undefined;
  }
  return lastPaths.get(fds)?.get(fd);
}

/** Forget a closed fd's path (after close(2) was printed). */
export function forgetFd(ctx: SyscallContext, fd: number): void {
  try {
    if (!ctx.fds.has(fd)) lastPaths.get(ctx.fds)?.delete(fd);
  } catch {
    // a stub context
  }
}

/** After a call that closed fds (an argument of a kind that `closes`) was printed: forget their paths. */
export function forgetClosedFds(ctx: SyscallContext, rec: SyscallRecord): void {
  if (!rec.decl) return;
  infoOf(rec.decl, ctx.arch).kinds.forEach((kind, i) => {
    if (KINDS[kind].fd === 'closes') forgetFd(ctx, rec.args[i] ?? -1);
  });
}

/** A path inside -y's angle brackets: non-printable bytes and the brackets themselves escaped. */
function fdPathText(path: string): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x5c) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += path[i];
  }
  return out;
}

/**
 * dup2's newfd as strace -y shows it on entry: the file it held before the
 * call (as last seen), or nothing when it was not open. The call has run,
 * so the fd table already holds the new file.
 */
function withPathBefore(ctx: SyscallContext, text: string, fd: number): string {
  let p: string | undefined;
  try {
    p = lastPaths.get(ctx.fds)?.get(fd);
  } catch {
    return text;
  }
  return p === undefined ? text : `${text}<${fdPathText(p)}>`;
}

function withFdPath(ctx: SyscallContext, text: string, fd: number): string {
  const p = fdPath(ctx, fd);
  return p === undefined ? text : `${text}<${fdPathText(p)}>`;
}

// ---- arguments ------------------------------------------------------------------------------------

export interface ArgFormatOptions {
  strSize: number;
  decodeFds?: boolean;
}

/**
 * The decoded text of each declared argument, in register order, or
 * undefined for the ones strace leaves out (open's mode without O_CREAT,
 * fcntl's unused argument, mremap's new address without MREMAP_FIXED,
 * clone's pointers its flags do not use). Undeclared calls show six hex
 * values. infoOf(decl).lineOrder is the order strace prints them in.
 */
export function decodeArgs(ctx: SyscallContext, rec: SyscallRecord, opts: ArgFormatOptions): (string | undefined)[] {
  const decl = rec.decl;
  if (!decl) return rec.args.slice(0, 6).map((a) => hex(a));
  if (decl.ret === 'sigreturn') return [sigreturnFrame(ctx)];
  const { kinds, names } = infoOf(decl, ctx.arch);
  const n = kinds.length;
  const out = new Array<string | undefined>(n);
  const argOpts = { strSize: opts.strSize, ret: rec.ret, next: undefined as number | undefined };
  for (let i = 0; i < n; i++) {
    const kind = kinds[i]!;
    const v = rec.args[i] ?? 0;
    const governs = i > 0 ? KINDS[kinds[i - 1]!].governs : undefined;
    if (governs) {
      const shown = showGoverned(ctx, governs, rec.args, i, out);
      if (shown === 'rest') return out;
      if (shown === 'hidden') continue;
      if (shown !== undefined) {
        out[i] = shown;
        continue;
      }
    }
    argOpts.next = rec.args[i + 1];
    const text = formatArg(kind, v, ctx, argOpts);
    out[i] = opts.decodeFds ? withFdPaths(ctx, KINDS[kind].fd, text, v) : text;
  }
  if (decl.labelled) labelArgs(decl.labelled, names, rec.args, out);
  return out;
}

/**
 * Argument i as the argument before it decides (its kind's `governs`):
 * 'hidden' when strace leaves it out, 'rest' when this filled `out` to the
 * end, undefined to decode it by its own kind.
 */
function showGoverned(ctx: SyscallContext, governs: Governs, args: readonly number[], i: number, out: (string | undefined)[]): string | undefined {
  const prev = args[i - 1] ?? 0;
  const v = args[i] ?? 0;
  switch (governs) {
    case 'open_mode':
      try {
        return openTakesMode(ctx.arch, prev) ? undefined : 'hidden';
      } catch {
        return undefined;
      }
    case 'fcntl_arg':
      try {
        return fcntlTakesNoArg(ctx.arch, prev) ? 'hidden' : formatFcntlArg(ctx.arch, prev, v);
      } catch {
        return undefined;
      }
    case 'mremap_address': {
      // The new address exists only with MREMAP_MAYMOVE|MREMAP_FIXED (strace's rule).
      const c = archFlags(ctx.arch).c;
      const both = ((num(c, 'MREMAP_MAYMOVE') ?? 1) | (num(c, 'MREMAP_FIXED') ?? 2)) >>> 0;
      return (prev & both) >>> 0 === both ? undefined : 'hidden';
    }
    case 'futex_operands':
      // The operands after a futex operation are the ones it uses.
      try {
        futexOperands(ctx, args).forEach((text, k) => (out[i + k] = text));
      } catch {
        args.slice(i).forEach((a, k) => (out[i + k] = hex(a)));
      }
      return 'rest';
  }
}

/** `label=value` for the arguments a declaration labels; the ones its flags do not use are left out. */
function labelArgs(labelled: NonNullable<SyscallDecl['labelled']>, names: readonly string[], args: readonly number[], out: (string | undefined)[]): void {
  for (const l of labelled) {
    const i = names.indexOf(l.arg);
    const when = l.when;
    if (when && !((args[names.indexOf(when.arg)] ?? 0) & when.any)) out[i] = undefined;
    else out[i] = `${l.label ?? l.arg}=${out[i]}`;
  }
}

/** What -y adds to an argument that names fds (its kind's `fd`). */
function withFdPaths(ctx: SyscallContext, use: FdUse | undefined, text: string, v: number): string {
  switch (use) {
    case undefined:
      return text;
    case 'fd':
    case 'closes':
      return withFdPath(ctx, text, v);
    case 'newfd':
      return withPathBefore(ctx, text, v);
    case 'dirfd':
      if (v !== -100) return withFdPath(ctx, text, v);
      try {
        return `${text}<${fdPathText(ctx.proc.cwd)}>`;
      } catch {
        return text; // no process
      }
    case 'pipe':
      if (!text.startsWith('[')) return text;
      try {
        const r = ctx.mem.readI32(v);
        const w = ctx.mem.readI32(v + 4);
        return `[${withFdPath(ctx, String(r), r)}, ${withFdPath(ctx, String(w), w)}]`;
      } catch {
        return text; // keep the plain array
      }
  }
}

/**
 * What strace shows of rt_sigreturn's frame: {mask=[...]}, the mask it
 * restores. The call has run, so that is the calling thread's mask now.
 */
function sigreturnFrame(ctx: SyscallContext): string {
  try {
    return `{mask=${sigsetToString(ctx.arch, ctx.task.sigmask)}}`;
  } catch {
    return '{mask=?}';
  }
}

function joinArgs(args: (string | undefined)[]): string {
  let s = '';
  let first = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === undefined) continue;
    s += first ? a : ', ' + a;
    first = false;
  }
  return s;
}

// ---- results ----------------------------------------------------------------------------------------

/**
 * Whether a record is a call that ended its thread (exit, exit_group):
 * strace prints `= ?`, as the call never returns to the caller.
 */
export function isUnfinished(ctx: SyscallContext, rec: SyscallRecord): boolean {
  const ret = rec.decl?.ret;
  return ret !== undefined && RETURN_KINDS[ret].noReturn === true;
}

/**
 * The guest's return register after a call that wrote no result, as a
 * signed 64-bit value (exact within 2^53): what rt_sigreturn restored, or
 * what a call a policy trapped or killed left there (seccomp(2) rolls the
 * registers back: x86-64's rax holds the syscall number, arm64's x0 the
 * first argument). The engine holds the calling thread's registers while
 * its syscall is observed. Undefined when it cannot be read.
 */
function returnRegister(ctx: SyscallContext): number | undefined {
  try {
    return ctx.cpu.returnValue();
  } catch {
    return undefined;
  }
}

/** The result as strace prints it: `-1 ENOENT (No such file or directory)`, `?`, hex for addresses. */
export function formatReturn(ctx: SyscallContext, rec: SyscallRecord, decodeFds = false): string {
  let s = formatReturnValue(ctx, rec, decodeFds);
  // strace marks results its own fault injection made; a policy's answer looks as seccomp's does under strace.
  if (rec.note === INJECTED_NOTE) s += ` (${rec.note})`;
  return s;
}

/**
 * The value a call returned as the guest sees it: its result, or for a
 * call that wrote none (rt_sigreturn, a trapped call) what its return
 * register holds. Undefined when there is none: an exit, or no CPU to read.
 */
export function returnedValue(ctx: SyscallContext, rec: SyscallRecord): number | undefined {
  if (isUnfinished(ctx, rec)) return undefined;
  return rec.noReturn ? returnRegister(ctx) : rec.ret;
}

function formatReturnValue(ctx: SyscallContext, rec: SyscallRecord, decodeFds: boolean): string {
  const decl = rec.decl;
  const r = returnedValue(ctx, rec);
  if (r === undefined) return '?';
  const restart = RESTART_RESULTS.get(-r);
  if (restart !== undefined) return `? ${restart}`;
  if (r < 0 && r > -4096) return `-1 ${errnoName(-r)} (${errnoMessage(-r)})`;
  if (decl) {
    const info = infoOf(decl, ctx.arch);
    if (info.fcntlCmd >= 0) {
      try {
        const cmd = rec.args[info.fcntlCmd] ?? 0;
        const special = formatFcntlResult(ctx.arch, cmd, r);
        if (special !== undefined) return special;
        if (decodeFds && fcntlReturnsFd(ctx.arch, cmd)) return withFdPath(ctx, String(r), r);
      } catch {
        // plain number below
      }
    }
    const kind = RETURN_KINDS[decl.ret ?? 'int'];
    if (kind.show === 'hex') return hex(r);
    if (kind.show === 'octal') return octalMode(r);
    if (decodeFds && kind.fd) return withFdPath(ctx, String(r), r);
  }
  return Number.isSafeInteger(r) ? String(r) : Number.isFinite(r) ? BigInt(Math.trunc(r)).toString() : String(r);
}

// ---- lines -----------------------------------------------------------------------------------------

/** The pid strace prints: the calling thread's id. */
export function tidOf(ctx: SyscallContext): number | string {
  try {
    const t = (ctx.task as { tid?: number } | undefined)?.tid;
    if (typeof t === 'number') return t;
    return ctx.proc.pid;
  } catch {
    return '?';
  }
}

/** `[pid  1000] ` (strace's "[pid %5u] ") or `1000  ` ("%-5d "). */
export function pidPrefix(pid: number | string, style: 'bracket' | 'plain' = 'bracket'): string {
  return style === 'plain' ? `${String(pid).padEnd(5)} ` : `[pid ${String(pid).padStart(5)}] `;
}

/** `name(args)` padded for -a, then ` = result`. */
export function alignResult(head: string, ret: string, align: number | undefined): string {
  if (align && head.length < align - 1) return head.padEnd(align - 1) + ' = ' + ret;
  return head + ' = ' + ret;
}

/**
 * What strace puts before a line (printleader): the pid with -f, the time
 * with -t/-tt/-ttt. `elapsedNs`: for a call, the time it took (its line
 * shows when it started).
 */
export function linePrefix(opts: FormatOptions, tid: number | string, elapsedNs = 0n): string {
  let prefix = '';
  if (opts.showPid) prefix += pidPrefix(tid, opts.pidStyle);
  if (opts.timestamps) {
    const now = (opts.wallClockNs ?? hostWallClockNs)();
    prefix += `${formatTimestamp(opts.timestamps, now - (elapsedNs > 0n ? elapsedNs : 0n))} `;
  }
  return prefix;
}

/** One trace line for a finished (or, for exit_group, starting) syscall. Never throws. */
export function formatSyscall(ctx: SyscallContext, rec: SyscallRecord, opts: FormatOptions = {}): string {
  const strSize = opts.strSize ?? DEFAULT_STRSIZE;
  const prefix = linePrefix(opts, tidOf(ctx), rec.endNs - rec.startNs);
  let args: string;
  try {
    args = joinArgs(inLineOrder(ctx, rec, decodeArgs(ctx, rec, { strSize, decodeFds: opts.decodeFds })));
  } catch {
    args = rec.args.map((a) => hex(a)).join(', ');
  }
  let ret: string;
  try {
    ret = formatReturn(ctx, rec, opts.decodeFds);
  } catch {
    ret = String(rec.ret);
  }
  const name = rec.decl?.name ?? rec.name;
  let line = alignResult(`${prefix}${name}(${args})`, ret, opts.align);
  if (opts.showTime && !isUnfinished(ctx, rec)) line += ` <${formatDuration(rec.endNs - rec.startNs)}>`;
  return line;
}

/** The decoded arguments in the order strace prints them. */
function inLineOrder(ctx: SyscallContext, rec: SyscallRecord, texts: (string | undefined)[]): (string | undefined)[] {
  if (!rec.decl?.labelled) return texts;
  return infoOf(rec.decl, ctx.arch).lineOrder.map((i) => texts[i]);
}

/**
 * A call its thread was blocked in when the thread died: it never returned.
 * `killed` (SIGKILL, which a tracer never sees delivered): strace shows what
 * it printed on entry, the arguments before the first one the kernel
 * fills, as `read(3,  <unfinished ...>) = ?`. Otherwise the thread went with
 * its thread group (exit_group, a fatal signal taken by another thread):
 * its call exits, as one that failed, with no value: `pause() = ?`.
 */
export function formatNeverReturned(ctx: SyscallContext, rec: SyscallRecord, killed: boolean, opts: FormatOptions = {}): string {
  const prefix = linePrefix(opts, tidOf(ctx));
  const name = rec.decl?.name ?? rec.name;
  const failed = { ...rec, ret: -4 /* EINTR: output arguments show as addresses */ };
  let args: (string | undefined)[];
  try {
    args = inLineOrder(ctx, rec, decodeArgs(ctx, failed, { strSize: opts.strSize ?? DEFAULT_STRSIZE, decodeFds: opts.decodeFds }));
  } catch {
    args = rec.args.map((a) => hex(a));
  }
  if (!killed) return alignResult(`${prefix}${name}(${joinArgs(args)})`, '?', opts.align);
  // What the kernel writes, strace decodes on exit: the line stops before the first such argument.
  const info = rec.decl ? infoOf(rec.decl, ctx.arch) : undefined;
  const firstOut = info ? info.lineOrder.findIndex((i, k) => KINDS[info.kinds[i]!].written !== undefined && args[k] !== undefined) : -1;
  const entry = firstOut < 0 ? args : args.slice(0, firstOut);
  const more = firstOut >= 0 ? ', ' : '';
  return alignResult(`${prefix}${name}(${joinArgs(entry)}${entry.length ? more : ''} <unfinished ...>)`, '?', opts.align);
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
      pidStyle: opts.pidStyle ?? 'bracket',
      timestamps: opts.timestamps ?? false,
      showTime: opts.showTime ?? false,
      wallClockNs: opts.wallClockNs,
      align: opts.align ?? 0,
      decodeFds: opts.decodeFds ?? false,
    };
  }

  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void {
    this.write(formatSyscall(ctx, rec, this.format));
  }
}

// ---- strace -c ------------------------------------------------------------------------

/** strace -U column names (count.c's canonical spellings). */
export type SummaryColumn = 'time-percent' | 'total-time' | 'min-time' | 'max-time' | 'avg-time' | 'calls' | 'errors' | 'name';
/** strace -S criteria. */
export type SortBy = SummaryColumn | 'nothing';

export interface SummaryOptions {
  /** -S (default time). */
  sortBy?: SortBy;
  /** -U (default: % time, seconds, usecs/call, calls, errors, syscall). */
  columns?: readonly SummaryColumn[];
  /**
   * -w: summarise wall-clock time. tslinux's kernel runs each call
   * synchronously in this process, so the time a handler takes is both its
   * system time and its wall-clock time: the two measures agree (a call
   * that blocked is timed from the start of the attempt that completed).
   */
  wallClock?: boolean;
}

interface CallStats {
  name: string;
  nr: number;
  calls: number;
  errors: number;
  ns: bigint;
  minNs: bigint;
  maxNs: bigint;
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

/** count.c's column descriptions: header, minimum width, left-aligned. */
const COLUMN_DESC: Readonly<Record<SummaryColumn, { header: string; width: number; left?: boolean }>> = {
  'time-percent': { header: '% time', width: 6 },
  'total-time': { header: 'seconds', width: 11 },
  'min-time': { header: 'shortest', width: 8 },
  'max-time': { header: 'longest', width: 7 },
  'avg-time': { header: 'usecs/call', width: 11 },
  calls: { header: 'calls', width: 9 },
  errors: { header: 'errors', width: 9 },
  name: { header: 'syscall', width: 16, left: true },
};

/** ts_div: total / n rounded to the nearest nanosecond. */
function avgNs(s: CallStats): bigint {
  const n = BigInt(s.calls);
  return (s.ns + n / 2n) / n;
}

const usecs = (ns: bigint): number => Math.trunc(tsFloat(ns) * 1e6);

/**
 * strace -c: calls, errors and time per syscall, rendered in strace's
 * table layout (count.c: the widths grow with the numbers; rows sorted by
 * -S, time spent by default, ties in syscall-number order; columns chosen
 * by -U). Calls that do not return (exit_group) are not counted, as in
 * strace.
 */
export class SummaryCollector implements SyscallObserver {
  private readonly stats = new Map<string, CallStats>();
  private readonly sortBy: SortBy;
  private readonly columns: readonly SummaryColumn[];

  constructor(opts: SummaryOptions = {}) {
    this.sortBy = opts.sortBy ?? 'time-percent';
    this.columns = opts.columns ?? DEFAULT_COLUMNS;
  }

  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void {
    if (!isUnfinished(ctx, rec)) this.count(rec);
  }

  /**
   * Count one finished call (the session has already decided it is one).
   * Numbers no table names (syscall_0x3e8) are not counted, as strace
   * counts only numbers in its table's range.
   */
  count(rec: SyscallRecord): void {
    if (!rec.decl && rec.name.startsWith('syscall_')) return;
    const name = rec.decl?.name ?? rec.name;
    let s = this.stats.get(name);
    if (!s) {
      s = { name, nr: rec.nr, calls: 0, errors: 0, ns: 0n, minNs: -1n, maxNs: 0n };
      this.stats.set(name, s);
    }
    s.calls++;
    if (rec.ret < 0 && rec.ret > -4096) s.errors++;
    let d = rec.endNs - rec.startNs;
    if (d < 0n) d = 0n;
    s.ns += d;
    if (s.minNs < 0n || d < s.minNs) s.minNs = d;
    if (d > s.maxNs) s.maxNs = d;
  }

  private sorted(): CallStats[] {
    const rows = [...this.stats.values()].filter((s) => s.calls > 0);
    const byNr = (a: CallStats, b: CallStats): number => a.nr - b.nr || (a.name < b.name ? -1 : 1);
    const desc = (x: bigint | number, y: bigint | number): number => (x === y ? 0 : x > y ? -1 : 1);
    let cmp: (a: CallStats, b: CallStats) => number;
    switch (this.sortBy) {
      case 'time-percent':
      case 'total-time':
        cmp = (a, b) => desc(a.ns, b.ns);
        break;
      case 'min-time':
        cmp = (a, b) => desc(a.minNs, b.minNs);
        break;
      case 'max-time':
        cmp = (a, b) => desc(a.maxNs, b.maxNs);
        break;
      case 'avg-time':
        cmp = (a, b) => desc(avgNs(a), avgNs(b));
        break;
      case 'calls':
        cmp = (a, b) => desc(a.calls, b.calls);
        break;
      case 'errors':
        cmp = (a, b) => desc(a.errors, b.errors);
        break;
      case 'name':
        cmp = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
        break;
      default:
        cmp = () => 0;
    }
    return rows.sort((a, b) => cmp(a, b) || byNr(a, b));
  }

  /** The table, each line ending in a newline. */
  render(): string {
    const rows = this.sorted();
    let totalNs = 0n;
    let calls = 0;
    let errors = 0;
    let minOfAll = -1n;
    let minMax = 0n;
    let maxOfAll = 0n;
    let avgMax = 0n;
    let nameMax = 0;
    for (const s of rows) {
      totalNs += s.ns;
      calls += s.calls;
      errors += s.errors;
      if (minOfAll < 0n || s.minNs < minOfAll) minOfAll = s.minNs;
      if (s.minNs > minMax) minMax = s.minNs;
      if (s.maxNs > maxOfAll) maxOfAll = s.maxNs;
      const avg = avgNs(s);
      if (avg > avgMax) avgMax = avg;
      nameMax = Math.max(nameMax, s.name.length);
    }
    if (minOfAll < 0n) minOfAll = 0n;
    const total = tsFloat(totalNs);
    const secWidth = (ns: bigint): number => `${ns / 1_000_000_000n}.000000`.length;
    const widthOf: Record<SummaryColumn, number> = {
      'time-percent': 6,
      'total-time': Math.max(11, total.toFixed(6).length),
      'min-time': Math.max(8, secWidth(minMax)),
      'max-time': Math.max(7, secWidth(maxOfAll)),
      'avg-time': Math.max(11, String(usecs(avgMax)).length),
      calls: Math.max(9, String(calls).length),
      errors: Math.max(9, String(errors).length),
      name: Math.max(16, nameMax + 1),
    };
    const cols = this.columns;
    const last = cols.length - 1;
    const cell = (c: SummaryColumn, i: number, text: string): string => {
      const width = widthOf[c];
      if (COLUMN_DESC[c].left) return i === last ? text : text.padEnd(width);
      return text.padStart(width);
    };
    const line = (cells: (c: SummaryColumn) => string): string => cols.map((c, i) => cell(c, i, cells(c))).join(' ') + '\n';
    const dashes = cols.map((c) => '-'.repeat(widthOf[c])).join(' ') + '\n';
    let out = line((c) => COLUMN_DESC[c].header) + dashes;
    for (const s of rows) {
      const t = tsFloat(s.ns);
      const percent = t === 0 ? 0 : (100 * t) / total;
      out += line((c) => {
        switch (c) {
          case 'time-percent':
            return fixed(percent, 2);
          case 'total-time':
            return fixed(t, 6);
          case 'min-time':
            return fixed(tsFloat(s.minNs), 6);
          case 'max-time':
            return fixed(tsFloat(s.maxNs), 6);
          case 'avg-time':
            return String(usecs(avgNs(s)));
          case 'calls':
            return String(s.calls);
          case 'errors':
            return s.errors ? String(s.errors) : '';
          case 'name':
            return s.name;
        }
      });
    }
    out += dashes;
    out += line((c) => {
      switch (c) {
        case 'time-percent':
          return '100.00';
        case 'total-time':
          return fixed(total, 6);
        case 'min-time':
          return fixed(tsFloat(minOfAll), 6);
        case 'max-time':
          return fixed(tsFloat(maxOfAll), 6);
        case 'avg-time':
          return String(calls ? Math.trunc((total / calls) * 1e6) : 0);
        case 'calls':
          return String(calls);
        case 'errors':
          return errors ? String(errors) : '';
        case 'name':
          return 'total';
      }
    });
    return out;
  }
}
