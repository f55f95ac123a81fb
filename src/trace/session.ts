// A tracing session: strace's behaviour around the line format. It picks
// the calls to show (-f, -e trace=, -e status=), prefixes lines with the
// pid the way strace does, sends them to stderr, one -o file or one file
// per process (-ff), reports each traced process's end ("+++ exited with 0
// +++"), and collects and prints the -c/-C summary.
//
// Pid prefixes, as in strace.c: with -o FILE and -f every line starts with
// the pid ("%-5d "); on stderr with -f, "[pid %5u] " appears while more
// than one traced process is alive; with -ff each process has its own
// file, FILE.<pid>, and no prefix.
import type { SyscallContext } from '../../syscalls/types.ts';
import type { SyscallObserver, SyscallRecord } from '../kernel/dispatch.ts';
import { signalName, type Kernel } from '../kernel/kernel.ts';
import type { Process } from '../kernel/process.ts';
import { syscallToJson, type JsonExit } from './json.ts';
import { defaultTraceConfig, finishTraceConfig, type TraceConfig } from './options.ts';
import { FdWriter, type LineWriter } from './output.ts';
import { SummaryCollector, forgetFd, fdPath, formatSyscall, isUnfinished, pidPrefix, type FormatOptions } from './strace.ts';

export interface TraceSessionIo {
  /** Where lines go without -o (default: the host's stderr, line by line). */
  stderr?: LineWriter;
  /** Opens an -o file (default: a buffered writer on a new file). */
  open?: (path: string) => LineWriter;
  /** The wall clock for -t/-tt/-ttt, in ns since the epoch (default: the host's). */
  wallClockNs?: () => bigint;
}

/** A full config from the fields given (the rest as strace's defaults; `enabled` is implied). */
export function traceConfig(partial: Partial<TraceConfig> = {}): TraceConfig {
  const cfg = { ...defaultTraceConfig(), enabled: true, ...partial };
  finishTraceConfig(cfg);
  return cfg;
}

type PidMode = 'none' | 'plain' | 'bracket';

export class TraceSession implements SyscallObserver {
  readonly summary: SummaryCollector | null;
  private readonly first: Process;
  private readonly printLines: boolean;
  private readonly pidMode: PidMode;
  private readonly format: FormatOptions;
  private readonly traceAll: boolean;
  private readonly main: LineWriter | null;
  private readonly perProcess = new Map<Process, LineWriter>();
  private readonly open: (path: string) => LineWriter;
  /** Traced processes whose end has not been reported yet. */
  private readonly tracked: Process[] = [];
  private readonly seen = new WeakSet<Process>();
  private readonly reported = new WeakSet<Process>();
  private lastProc: Process | null = null;
  private finished = false;

  constructor(
    private readonly kernel: Kernel,
    readonly cfg: TraceConfig,
    io: TraceSessionIo = {},
  ) {
    this.first = kernel.proc;
    this.open = io.open ?? ((p) => FdWriter.open(p));
    this.printLines = cfg.summary !== 'only';
    this.summary =
      cfg.summary === 'none' ? null : new SummaryCollector({ sortBy: cfg.sortBy, columns: cfg.columns, wallClock: cfg.wallClock });
    this.pidMode = !cfg.followForks || cfg.outputSeparately ? 'none' : cfg.output ? 'plain' : 'bracket';
    this.format = {
      strSize: cfg.strSize,
      showPid: this.pidMode === 'plain',
      pidStyle: this.pidMode === 'plain' ? 'plain' : 'bracket',
      timestamps: cfg.timestamps,
      showTime: cfg.syscallTimes,
      wallClockNs: io.wallClockNs,
      align: cfg.align,
      decodeFds: cfg.decodeFds,
    };
    this.traceAll = cfg.syscalls.isAll;
    if (cfg.output && !cfg.outputSeparately) this.main = this.open(cfg.output);
    else if (cfg.output) this.main = null;
    else this.main = io.stderr ?? new FdWriter(2, false, false);
  }

  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void {
    const proc = ctx.proc;
    if (proc !== this.lastProc) {
      if (proc !== this.first && !this.cfg.followForks) return;
      this.lastProc = proc;
      if (!this.seen.has(proc)) {
        this.seen.add(proc);
        this.tracked.push(proc);
      }
    }
    if (this.tracked.length > 1) this.reportOtherEnds(proc);
    if (this.traceAll || this.cfg.syscalls.traces(ctx.arch, rec.nr, rec.name)) this.emit(ctx, rec);
    else if (this.cfg.decodeFds && rec.decl?.ret === 'fd' && rec.ret >= 0) fdPath(ctx, rec.ret);
    if (proc.exited) this.reportEnd(proc);
  }

  private emit(ctx: SyscallContext, rec: SyscallRecord): void {
    const unfinished = isUnfinished(ctx, rec);
    if (this.summary && !unfinished) this.summary.count(rec);
    if (!this.printLines) return;
    const status = this.cfg.status;
    if (status) {
      const st = unfinished ? 'unfinished' : rec.ret < 0 && rec.ret > -4096 ? 'failed' : 'successful';
      if (!status.has(st)) return;
    }
    const proc = ctx.proc;
    let text: string;
    if (this.cfg.format === 'json') {
      text = JSON.stringify(syscallToJson(ctx, rec, this.cfg.strSize, this.cfg.decodeFds, this.bootNs()));
    } else {
      if (this.pidMode === 'bracket') this.format.showPid = this.othersAlive(proc);
      text = formatSyscall(ctx, rec, this.format);
    }
    this.writerFor(proc).write(text + '\n');
    if (this.cfg.decodeFds && rec.decl?.name === 'close' && rec.ret === 0) forgetFd(ctx, rec.args[0] ?? -1);
  }

  private bootNs(): bigint {
    return (this.kernel as { bootNs?: bigint }).bootNs ?? 0n;
  }

  /** Whether a traced process other than `p` is alive (strace's nprocs > 1). */
  private othersAlive(p: Process): boolean {
    for (const q of this.kernel.processes.values()) if (q !== p && !q.exited) return true;
    return false;
  }

  private writerFor(p: Process): LineWriter {
    if (this.main) return this.main;
    let w = this.perProcess.get(p);
    if (!w) {
      w = this.open(`${this.cfg.output}.${p.pid}`);
      this.perProcess.set(p, w);
    }
    return w;
  }

  /** Ends of other traced processes that died without a syscall of theirs saying so (a signal). */
  private reportOtherEnds(current: Process): void {
    for (let i = this.tracked.length - 1; i >= 0; i--) {
      const p = this.tracked[i]!;
      if (p !== current && p.exited) this.reportEnd(p);
    }
  }

  /** "+++ exited with N +++" / "+++ killed by SIG +++" for a process, once. */
  private reportEnd(p: Process): void {
    if (this.reported.has(p)) return;
    this.reported.add(p);
    const at = this.tracked.indexOf(p);
    if (at >= 0) this.tracked.splice(at, 1);
    if (this.lastProc === p) this.lastProc = null;
    if (!this.printLines || (!this.seen.has(p) && p !== this.first)) return;
    const status = p.exitStatus ?? 0;
    const sig = status & 0x7f;
    let text: string;
    if (this.cfg.format === 'json') {
      const obj: JsonExit = { type: 'exit', pid: p.pid, tid: p.pid, status: sig ? null : (status >> 8) & 0xff, signal: sig ? signalName(sig) : null };
      if (sig && status & 0x80) obj.core_dumped = true;
      text = JSON.stringify(obj);
    } else {
      text = sig ? `+++ killed by ${signalName(sig)}${status & 0x80 ? ' (core dumped)' : ''} +++` : `+++ exited with ${(status >> 8) & 0xff} +++`;
      if (this.pidMode === 'plain') text = pidPrefix(p.pid, 'plain') + text;
      else if (this.pidMode === 'bracket' && this.othersAlive(p)) text = pidPrefix(p.pid) + text;
    }
    const w = this.writerFor(p);
    w.write(text + '\n');
    if (!this.main) {
      w.close();
      this.perProcess.delete(p);
    }
  }

  /**
   * The run is over: report the processes whose end was not seen yet (the
   * first one last seen alive, children the kernel killed as it shut down),
   * then print the -c/-C summary.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.first.exited) this.reportEnd(this.first);
    for (const p of [...this.tracked]) if (p.exited) this.reportEnd(p);
    // -c with -ff is refused (finishTraceConfig), so there is a main output here.
    if (this.summary && this.main) this.main.write(this.summary.render());
  }

  /** Flush and close every output (also after a failed run). */
  close(): void {
    this.main?.close();
    for (const w of this.perProcess.values()) w.close();
    this.perProcess.clear();
  }
}

/** Attach a tracing session to a kernel before run(); call finish() after it and close() at the end. */
export function traceKernel(kernel: Kernel, cfg: Partial<TraceConfig> = {}, io?: TraceSessionIo): TraceSession {
  const session = new TraceSession(kernel, traceConfig(cfg), io);
  kernel.setObserver(session);
  return session;
}
