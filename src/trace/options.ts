// The tracer's settings, as strace's options spell them. src/cli.ts reads
// the command line into a TraceConfig with the helpers here; the library
// builds one directly (see session.ts).
import { FilterError, SyscallSet, parseStatusSet, parseSyscallSet, type StatusValue } from './filter.ts';
import { InjectError, parseInjectSpec, type InjectSpec } from './inject.ts';
import type { SortBy, SummaryColumn, TimestampMode } from './strace.ts';

export type { SortBy, SummaryColumn, TimestampMode };

/** strace -c's columns when -U does not say (defined here, not in strace.ts, so parsing options loads no tracer). */
export const DEFAULT_COLUMNS: readonly SummaryColumn[] = ['time-percent', 'total-time', 'avg-time', 'calls', 'errors', 'name'];

export interface TraceConfig {
  /** Anything to print at all (--trace, -o, -c, ... set it). */
  enabled: boolean;
  /** -o FILE; null: stderr. */
  output: string | null;
  /** -f: follow children (without it only the first process is traced). */
  followForks: boolean;
  /** -ff: with -o, one file per process, FILE.<pid>. */
  outputSeparately: boolean;
  /** -s N (default 32). */
  strSize: number;
  /** -e trace=SET (default all). */
  syscalls: SyscallSet;
  /** -e status=SET, -z, -Z; null: all. */
  status: ReadonlySet<StatusValue> | null;
  /** -t, -tt, -ttt. */
  timestamps: TimestampMode;
  /** -T. */
  syscallTimes: boolean;
  /** -y: the path behind each fd. */
  decodeFds: boolean;
  /** -c: the summary only; -C: the trace and the summary. */
  summary: 'none' | 'only' | 'also';
  /** -S (default time). */
  sortBy: SortBy;
  /** -U (default strace's six). */
  columns: SummaryColumn[];
  /** -w: summarise wall-clock time. */
  wallClock: boolean;
  /** --trace-format. */
  format: 'text' | 'json';
  /** -a COLUMN: the column results are aligned at; 0 leaves them unaligned (tslinux's default). */
  align: number;
  /** -e inject=, -e fault=, --inject: calls to tamper with (see inject.ts). */
  inject: InjectSpec[];
}

export function defaultTraceConfig(): TraceConfig {
  return {
    enabled: false,
    output: null,
    followForks: false,
    outputSeparately: false,
    strSize: 32,
    syscalls: SyscallSet.all(),
    status: null,
    timestamps: false,
    syscallTimes: false,
    decodeFds: false,
    summary: 'none',
    sortBy: 'time-percent',
    columns: [...DEFAULT_COLUMNS],
    wallClock: false,
    format: 'text',
    align: 0,
    inject: [],
  };
}

export class TraceOptionError extends Error {}

/** count.c's column_aliases. */
const COLUMN_ALIASES: Readonly<Record<string, SortBy>> = {
  time: 'time-percent',
  time_percent: 'time-percent',
  'time-percent': 'time-percent',
  time_total: 'total-time',
  'time-total': 'total-time',
  total_time: 'total-time',
  'total-time': 'total-time',
  min_time: 'min-time',
  'min-time': 'min-time',
  shortest: 'min-time',
  time_min: 'min-time',
  'time-min': 'min-time',
  longest: 'max-time',
  max_time: 'max-time',
  'max-time': 'max-time',
  time_max: 'max-time',
  'time-max': 'max-time',
  avg_time: 'avg-time',
  'avg-time': 'avg-time',
  time_avg: 'avg-time',
  'time-avg': 'avg-time',
  calls: 'calls',
  count: 'calls',
  error: 'errors',
  errors: 'errors',
  name: 'name',
  syscall: 'name',
  syscall_name: 'name',
  'syscall-name': 'name',
  none: 'nothing',
  nothing: 'nothing',
};

/** -S sortby. */
export function parseSortBy(s: string): SortBy {
  const v = COLUMN_ALIASES[s];
  if (v === undefined) throw new TraceOptionError(`invalid sortby: '${s}'`);
  return v;
}

/** -U columns: a comma-separated list; the name column is added last when missing. */
export function parseColumns(s: string): SummaryColumn[] {
  const out: SummaryColumn[] = [];
  for (const tok of s.split(',')) {
    const v = COLUMN_ALIASES[tok];
    if (v === undefined || v === 'nothing') throw new TraceOptionError(`unknown column name: '${tok}'`);
    if (out.includes(v)) throw new TraceOptionError(`call summary column has been provided more than once: '${tok}'`);
    out.push(v);
  }
  if (!out.includes('name')) out.push('name');
  return out;
}

/** -s N, -a N: a non-negative integer. */
export function parseCount(flag: string, s: string): number {
  const n = Number(s);
  if (s === '' || !Number.isInteger(n) || n < 0) throw new TraceOptionError(`${flag} wants a non-negative number, got "${s}"`);
  return n;
}

/**
 * One `-e` expression: `[qualifier=][!]value[,value]...`. Supported
 * qualifiers are trace (t), status, decode-fds, inject and fault; the
 * default qualifier is trace. strace's other qualifiers (abbrev, verbose,
 * raw, signal, read, write, quiet, decode-pids, kvm) are refused by name.
 */
export function applyQualifier(cfg: TraceConfig, expr: string): void {
  const m = /^([a-z-]+)=(.*)$/s.exec(expr);
  const qual = m ? m[1]! : 'trace';
  const value = m ? m[2]! : expr;
  try {
    switch (qual) {
      case 'trace':
      case 't':
        cfg.syscalls = parseSyscallSet(value);
        return;
      case 'status':
        cfg.status = parseStatusSet(value);
        return;
      case 'decode-fds':
      case 'decode-fd':
        if (value === 'path' || value === 'all') cfg.decodeFds = true;
        else if (value === 'none') cfg.decodeFds = false;
        else throw new TraceOptionError(`-e decode-fds: only path, all and none are supported, got "${value}"`);
        return;
      case 'inject':
        cfg.inject.push(parseInjectSpec(value));
        return;
      case 'fault':
        // strace: -e fault=SET is -e inject=SET with error=ENOSYS by default.
        cfg.inject.push(parseInjectSpec(value, { defaultErrno: 38 }));
        return;
      default:
        throw new TraceOptionError(`-e ${qual}=...: not supported by tslinux (supported: trace, status, decode-fds, inject, fault)`);
    }
  } catch (e) {
    if (e instanceof FilterError || e instanceof InjectError) throw new TraceOptionError(e.message);
    throw e;
  }
}

/** Checks across options, once the command line is read (strace's own rules). */
export function finishTraceConfig(cfg: TraceConfig): void {
  // -ff without -o FILE is the same as -f (strace.c).
  if (cfg.outputSeparately && !cfg.output) cfg.outputSeparately = false;
  if (cfg.outputSeparately && cfg.summary !== 'none') throw new TraceOptionError('-c and -ff are mutually exclusive');
}
