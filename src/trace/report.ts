// `--report FILE.html`: one self-contained HTML page about a run, for people
// who would rather look than read a trace. It is an observer over the same
// calls the tracer sees (SyscallObserver), collecting as the guest runs:
//   - the process tree (who forked whom, what each ran, how it ended);
//   - per-syscall counts, errors and time (a bar chart);
//   - a timeline of calls per task (calls binned over the run's time);
//   - the errors (grouped by syscall and errno, with the first calls in full);
//   - the files touched (paths the calls named, bytes read and written by fd).
// The page is rendered by report-template.ts. Everything the guest controls
// (paths, argv, decoded arguments) is escaped there.
import * as posixPath from 'node:path/posix';
import { writeOutput, type OutputFile } from '../host/output.ts';
import type { SyscallContext, SyscallDecl } from '../kernel/syscall-decl.ts';
import { KINDS, type ArgKind, type KindDef } from '../kernel/syscall-kinds.ts';
import type { SyscallObserver, SyscallRecord } from '../kernel/dispatch.ts';
import { ERRNO_MESSAGES, ERRNO_NAMES } from '../kernel/errno-table.ts';
import type { Process } from '../kernel/process.ts';
import { fdPath, formatSyscall, tidOf } from './strace.ts';
import { renderReport } from './report-template.ts';

/** Calls kept one by one for the timeline; past this, calls are still counted but not placed. */
const MAX_TIMELINE_CALLS = 500_000;
/** Failed calls kept as full strace lines. */
const MAX_ERROR_LINES = 200;
/** Example lines kept per (syscall, errno) group. */
const EXAMPLES_PER_ERROR = 3;
const AT_FDCWD = -100;


export interface SyscallStats {
  name: string;
  calls: number;
  errors: number;
  ns: number;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The Process itself: its final argv and exit status are read when the page is drawn. */
  proc: Process;
  /** argv when it was first seen (before any exec of its own). */
  firstArgv: string[];
  /** Programs it exec'ed, in order. */
  execs: string[];
  calls: number;
  errors: number;
  firstNs: number;
  lastNs: number;
}

/** One task's calls in time order: start offsets (ns since the run began), syscall ids, failed flags. */
export class TaskCalls {
  starts = new Float64Array(256);
  ids = new Uint16Array(256);
  failed = new Uint8Array(256);
  length = 0;
  /** Calls of this task beyond the report's timeline budget. */
  dropped = 0;

  constructor(
    readonly pid: number,
    readonly tid: number,
  ) {}

  push(startNs: number, id: number, failed: boolean): void {
    if (this.length === this.starts.length) this.grow();
    const i = this.length++;
    this.starts[i] = startNs;
    this.ids[i] = id;
    this.failed[i] = failed ? 1 : 0;
  }

  private grow(): void {
    const n = this.starts.length * 2;
    const starts = new Float64Array(n);
    starts.set(this.starts);
    const ids = new Uint16Array(n);
    ids.set(this.ids);
    const failed = new Uint8Array(n);
    failed.set(this.failed);
    this.starts = starts;
    this.ids = ids;
    this.failed = failed;
  }
}

export interface ErrorGroup {
  name: string;
  errno: string;
  message: string;
  count: number;
  /** Whether a policy or an injection answered rather than the handler. */
  notes: Set<string>;
  examples: string[];
}

export interface ErrorLine {
  pid: number;
  tid: number;
  atNs: number;
  line: string;
}

export interface FileInfo {
  path: string;
  calls: number;
  errors: number;
  /** Syscall name -> count. */
  ops: Map<string, number>;
  bytesRead: number;
  bytesWritten: number;
}

/** Everything the page shows, as collected. */
export interface ReportData {
  title: string;
  arch: string;
  generatedAt: Date;
  spanNs: number;
  totalCalls: number;
  totalErrors: number;
  processes: ProcessInfo[];
  syscalls: SyscallStats[];
  syscallNames: string[];
  tasks: TaskCalls[];
  errorGroups: ErrorGroup[];
  errorLines: ErrorLine[];
  errorLinesDropped: number;
  files: FileInfo[];
}

/** Where a declaration's path arguments (and their dirfd) are. */
/** What a declaration's argument kinds say about the files a call touches. */
interface PathArgs {
  paths: number[];
  dirfd: number;
  /** The call moves its result's worth of bytes through the fd that is its first argument: read-like or write-like. */
  moves: 'reads' | 'writes' | null;
  /** The call runs a program (an argv argument: execve, execveat). */
  execs: boolean;
}

export interface ReportOptions {
  /** The page's title (default: the first process's command line). */
  title?: string;
}

export class ReportCollector implements SyscallObserver {
  private originNs: bigint | null = null;
  private lastNs = 0;
  private totalCalls = 0;
  private totalErrors = 0;
  private timelineCalls = 0;
  private arch = '';
  private readonly processes = new Map<Process, ProcessInfo>();
  private readonly syscallIds = new Map<string, number>();
  private readonly syscalls: SyscallStats[] = [];
  private readonly tasks = new Map<number, TaskCalls>();
  private readonly errorGroups = new Map<string, ErrorGroup>();
  private readonly errorLines: ErrorLine[] = [];
  private errorLinesDropped = 0;
  private readonly files = new Map<string, FileInfo>();
  private readonly pathArgs = new WeakMap<SyscallDecl, PathArgs>();

  constructor(private readonly opts: ReportOptions = {}) {}

  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void {
    if (this.originNs === null) {
      this.originNs = (ctx.kernel as { bootNs?: bigint } | undefined)?.bootNs ?? rec.startNs;
      this.arch = ctx.arch.name;
    }
    const startNs = Number(rec.startNs - this.originNs);
    const endNs = Number(rec.endNs - this.originNs);
    if (endNs > this.lastNs) this.lastNs = endNs;
    const failed = rec.ret < 0 && rec.ret > -4096;
    this.totalCalls++;
    if (failed) this.totalErrors++;

    const stats = this.statsFor(rec.name);
    stats.calls++;
    stats.ns += endNs - startNs;
    if (failed) stats.errors++;

    const info = this.processFor(ctx.proc, startNs);
    info.calls++;
    info.lastNs = endNs;
    if (failed) info.errors++;
    else if (this.pathArgsOf(rec.decl).execs) info.execs.push(this.execPath(ctx, rec));

    this.placeOnTimeline(ctx, rec.name, startNs, failed);
    if (rec.decl) this.noteFiles(ctx, rec, rec.decl, failed);
    if (failed) this.noteError(ctx, rec, startNs);
  }

  /** Everything collected so far, for the page (or a test). */
  data(): ReportData {
    const first = [...this.processes.values()][0];
    return {
      title: this.opts.title ?? (first ? commandLine(first.firstArgv.length ? first.firstArgv : first.proc.argv) : 'tslinux run'),
      arch: this.arch,
      generatedAt: new Date(),
      spanNs: this.lastNs,
      totalCalls: this.totalCalls,
      totalErrors: this.totalErrors,
      processes: [...this.processes.values()],
      syscalls: [...this.syscalls],
      syscallNames: this.syscalls.map((s) => s.name),
      tasks: [...this.tasks.values()],
      errorGroups: [...this.errorGroups.values()],
      errorLines: this.errorLines,
      errorLinesDropped: this.errorLinesDropped,
      files: [...this.files.values()],
    };
  }

  /** The page as one string of HTML. */
  html(): string {
    return renderReport(this.data());
  }

  write(file: string | OutputFile): void {
    writeOutput(file, this.html());
  }

  private statsFor(name: string): SyscallStats {
    let id = this.syscallIds.get(name);
    if (id === undefined) {
      id = this.syscalls.length;
      this.syscallIds.set(name, id);
      this.syscalls.push({ name, calls: 0, errors: 0, ns: 0 });
    }
    return this.syscalls[id]!;
  }

  private processFor(proc: Process, nowNs: number): ProcessInfo {
    let info = this.processes.get(proc);
    if (!info) {
      info = {
        pid: proc.pid,
        ppid: proc.parent?.pid ?? proc.ppid,
        proc,
        firstArgv: [...proc.argv],
        execs: [],
        calls: 0,
        errors: 0,
        firstNs: nowNs,
        lastNs: nowNs,
      };
      this.processes.set(proc, info);
    }
    return info;
  }

  private placeOnTimeline(ctx: SyscallContext, name: string, startNs: number, failed: boolean): void {
    const tidValue = tidOf(ctx);
    const tid = typeof tidValue === 'number' ? tidValue : ctx.proc.pid;
    let task = this.tasks.get(tid);
    if (!task) {
      task = new TaskCalls(ctx.proc.pid, tid);
      this.tasks.set(tid, task);
    }
    if (this.timelineCalls >= MAX_TIMELINE_CALLS) {
      task.dropped++;
      return;
    }
    this.timelineCalls++;
    task.push(startNs, this.syscallIds.get(name)!, failed);
  }

  private execPath(ctx: SyscallContext, rec: SyscallRecord): string {
    const where = this.pathArgsOf(rec.decl).paths[0];
    return where === undefined ? '?' : (readPath(ctx, rec.args[where]!) ?? '?');
  }

  /** Paths named by the call (made absolute) and bytes moved through an fd. */
  private noteFiles(ctx: SyscallContext, rec: SyscallRecord, decl: SyscallDecl, failed: boolean): void {
    const where = this.pathArgsOf(decl);
    for (const i of where.paths) {
      const raw = readPath(ctx, rec.args[i]!);
      if (raw === undefined) continue;
      const dirfd = where.dirfd >= 0 ? rec.args[where.dirfd]! : AT_FDCWD;
      this.touch(absolutePath(ctx, raw, dirfd), rec.name, failed);
    }
    if (!where.moves || failed) return;
    const reads = where.moves === 'reads';
    const file = fdPath(ctx, rec.args[0]!);
    if (file === undefined) return;
    const info = this.touch(file, rec.name, false);
    if (reads) info.bytesRead += rec.ret;
    else info.bytesWritten += rec.ret;
  }

  private pathArgsOf(decl: SyscallDecl | undefined): PathArgs {
    if (!decl) return { paths: [], dirfd: -1, moves: null, execs: false };
    let p = this.pathArgs.get(decl);
    if (!p) {
      const kinds = Object.values(decl.args);
      p = {
        paths: kinds.flatMap((k, i) => (k === 'path' ? [i] : [])),
        dirfd: kinds.indexOf('dirfd'),
        moves: kinds[0] === 'fd' ? bytesMoved(kinds) : null,
        execs: kinds.includes('argv'),
      };
      this.pathArgs.set(decl, p);
    }
    return p;
  }

  private touch(path: string, op: string, failed: boolean): FileInfo {
    let f = this.files.get(path);
    if (!f) {
      f = { path, calls: 0, errors: 0, ops: new Map(), bytesRead: 0, bytesWritten: 0 };
      this.files.set(path, f);
    }
    f.calls++;
    if (failed) f.errors++;
    f.ops.set(op, (f.ops.get(op) ?? 0) + 1);
    return f;
  }

  private noteError(ctx: SyscallContext, rec: SyscallRecord, atNs: number): void {
    const errno = -rec.ret;
    const errnoName = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    const key = `${rec.name} ${errno}`;
    let group = this.errorGroups.get(key);
    if (!group) {
      group = { name: rec.name, errno: errnoName, message: ERRNO_MESSAGES[errno] ?? '', count: 0, notes: new Set(), examples: [] };
      this.errorGroups.set(key, group);
    }
    group.count++;
    if (rec.note) group.notes.add(rec.note);
    const wantExample = group.examples.length < EXAMPLES_PER_ERROR;
    const wantLine = this.errorLines.length < MAX_ERROR_LINES;
    if (!wantLine) this.errorLinesDropped++;
    if (!wantExample && !wantLine) return;
    // Decoded now: the guest's memory (the strings the arguments point at) changes later.
    const line = formatSyscall(ctx, rec);
    if (wantExample) group.examples.push(line);
    if (wantLine) {
      const tid = tidOf(ctx);
      this.errorLines.push({ pid: ctx.proc.pid, tid: typeof tid === 'number' ? tid : ctx.proc.pid, atNs, line });
    }
  }
}

/** A path argument as the guest wrote it, or undefined when it cannot be read (EFAULT). */
function readPath(ctx: SyscallContext, addr: number): string | undefined {
  if (!addr) return undefined;
  try {
    return ctx.mem.readCString(addr, 4096);
  } catch {
    return undefined;
  }
}

/** A relative path made absolute from the cwd or the directory behind dirfd (openat(2)). */
/** Whether a call's buffer argument is one the kernel fills from the fd (read, readv...) or one it writes to it (write, writev...). */
function bytesMoved(kinds: readonly ArgKind[]): 'reads' | 'writes' | null {
  for (const k of kinds) {
    const def: KindDef = KINDS[k];
    if (def.show.as !== 'inbuf' && def.show.as !== 'outbuf' && def.show.as !== 'iovec') continue;
    return def.written ? 'reads' : 'writes';
  }
  return null;
}

function absolutePath(ctx: SyscallContext, p: string, dirfd: number): string {
  if (p.startsWith('/')) return posixPath.normalize(p);
  const base = dirfd === AT_FDCWD ? ctx.proc.cwd : fdPath(ctx, dirfd);
  if (base === undefined || !base.startsWith('/')) return p;
  return posixPath.join(base, p || '.');
}

function commandLine(argv: readonly string[]): string {
  return argv.join(' ');
}
