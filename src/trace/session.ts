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
import type { Arch } from '../arch/types.ts';
import type { SyscallContext } from '../kernel/syscall-decl.ts';
import type { SyscallObserver, SyscallRecord } from '../kernel/dispatch.ts';
import { signalName, type Kernel } from '../kernel/kernel.ts';
import type { Process } from '../kernel/process.ts';
import { defaultAction, type SigInfo } from '../kernel/signals.ts';
import type { Task } from '../kernel/task.ts';
import { formatSiginfo, interruptedResult, signalLine, stoppedLine } from './decode-signals.ts';
import { syscallToJson, type JsonExit, type JsonSignal } from './json.ts';
import { defaultTraceConfig, finishTraceConfig, type TraceConfig } from './options.ts';
import { FdWriter, type LineWriter } from './output.ts';
import { SummaryCollector, forgetClosedFds, fdPath, formatNeverReturned, formatSyscall, isUnfinished, linePrefix, returnedValue, type FormatOptions } from './strace.ts';

const SIGKILL = 9;
const SIGSTOP = 19;

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
  /** Without -f only this thread is traced, as strace traces only the thread it started. */
  private readonly firstTask: Task;
  private readonly printLines: boolean;
  private readonly pidMode: PidMode;
  private readonly format: FormatOptions;
  private readonly traceAll: boolean;
  private readonly main: LineWriter | null;
  private readonly perProcess = new Map<Process, LineWriter>();
  private readonly open: (path: string) => LineWriter;
  /** Traced processes whose end has not been reported yet. */
  private readonly tracked: Process[] = [];
  /** The traced threads of each process, in the order they were first seen. */
  private readonly threads = new Map<Process, Task[]>();
  private readonly reported = new WeakSet<Process>();
  private readonly reportedThreads = new WeakSet<Task>();
  /** The call each thread is blocked in (SyscallObserver.onBlocked), until it completes. */
  private readonly blockedCalls = new WeakMap<Task, SyscallRecord>();
  /** Ignored signals dropped when sent: shown after the receiving process's next call, when Linux would deliver them. */
  private readonly discarded = new Map<Process, { task: Task; info: SigInfo }[]>();
  private lastProc: Process | null = null;
  private finished = false;

  constructor(
    private readonly kernel: Kernel,
    readonly cfg: TraceConfig,
    io: TraceSessionIo = {},
  ) {
    this.first = kernel.proc;
    this.firstTask = kernel.taskOf(kernel.proc);
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
    const task = ctx.task;
    if (!this.follow(task)) return;
    this.blockedCalls.delete(task);
    const proc = ctx.proc;
    if (this.tracked.length > 1) this.reportOtherEnds(proc);
    if (this.selected(ctx.arch, rec)) this.emit(ctx, rec);
    else if (this.cfg.decodeFds && rec.decl?.ret === 'fd' && rec.ret >= 0) fdPath(ctx, rec.ret);
    this.showDiscarded(proc);
    if (proc.exited) this.reportEnd(proc);
    else if (task.state === 'dead') this.reportThreadEnd(task, task.exitStatus ?? 0);
  }

  onBlocked(ctx: SyscallContext, rec: SyscallRecord): void {
    if (this.follow(ctx.task)) this.blockedCalls.set(ctx.task, rec);
  }

  /**
   * A signal taken by a traced thread: the call it interrupts, if it was
   * blocked in one ("= ? ERESTARTSYS"), then "--- SIGxxx {...} ---", and
   * "--- stopped by SIGxxx ---" when its default action stops the process.
   */
  onSignal(task: Task, info: SigInfo, discarded: boolean): void {
    if (!this.follow(task)) return;
    const proc = task.process;
    if (discarded) {
      const list = this.discarded.get(proc) ?? [];
      list.push({ task, info });
      this.discarded.set(proc, list);
      return;
    }
    if (this.tracked.length > 1) this.reportOtherEnds(proc);
    this.showDiscarded(proc);
    const call = this.blockedCalls.get(task);
    // A call whose wait no signal interrupts (a vfork parent's) carries on: Linux delivers afterwards.
    const interrupted = call && task.blockedOn ? interruptedResult(call.decl, call.args, task.arch.name) : 0;
    if (call && interrupted !== 0) {
      this.blockedCalls.delete(task);
      if (this.selected(task.arch, call)) this.emit(task, { ...call, ret: interrupted, endNs: call.startNs });
    }
    this.signalLine(task, info);
    const handler = proc.sigactions.get(info.signo)?.handler ?? 0n;
    if (info.signo === SIGSTOP || (handler === 0n && defaultAction(info.signo) === 'stop')) this.textLine(task, stoppedLine(task.arch, info.signo));
  }

  /** Whether -e trace= shows a call. */
  private selected(arch: Arch, rec: SyscallRecord): boolean {
    return this.traceAll || this.cfg.syscalls.traces(arch, rec.nr, rec.name);
  }

  /** Whether a thread is traced (seen first here: it is noted as one). Without -f only the first thread is. */
  private follow(task: Task): boolean {
    if (task !== this.firstTask && !this.cfg.followForks) return false;
    const proc = task.process;
    if (proc === this.lastProc && this.threads.get(proc)?.includes(task)) return true;
    if (this.reported.has(proc)) return false;
    this.lastProc = proc;
    let list = this.threads.get(proc);
    if (!list) {
      this.threads.set(proc, (list = []));
      this.tracked.push(proc);
    }
    if (!list.includes(task)) list.push(task);
    return true;
  }

  private emit(ctx: SyscallContext, rec: SyscallRecord): void {
    const unfinished = isUnfinished(ctx, rec);
    if (this.summary && !unfinished) this.summary.count(rec);
    if (!this.printLines) return;
    const status = this.cfg.status;
    if (status) {
      const r = returnedValue(ctx, rec);
      const st = r === undefined ? 'unfinished' : r < 0 && r > -4096 ? 'failed' : 'successful';
      if (!status.has(st)) return;
    }
    const proc = ctx.proc;
    let text: string;
    if (this.cfg.format === 'json') {
      text = JSON.stringify(syscallToJson(ctx, rec, this.cfg.strSize, this.cfg.decodeFds, this.bootNs()));
    } else {
      if (this.pidMode === 'bracket') this.format.showPid = this.othersAlive(ctx.task);
      text = formatSyscall(ctx, rec, this.format);
    }
    this.writerFor(proc).write(text + '\n');
    if (this.cfg.decodeFds && rec.decl && rec.ret === 0) forgetClosedFds(ctx, rec);
  }

  /** The call a thread was blocked in when it died (see formatNeverReturned). */
  private neverReturned(task: Task, call: SyscallRecord, killed: boolean): void {
    if (!this.selected(task.arch, call)) return;
    if (!this.printLines || (this.cfg.status && !this.cfg.status.has('unfinished'))) return;
    if (this.cfg.format === 'json') {
      const obj = syscallToJson(task, { ...call, decl: call.decl && { ...call.decl, ret: 'noreturn' } }, this.cfg.strSize, this.cfg.decodeFds, this.bootNs());
      this.writerFor(task.process).write(JSON.stringify(obj) + '\n');
      return;
    }
    if (this.pidMode === 'bracket') this.format.showPid = this.othersAlive(task);
    this.writerFor(task.process).write(formatNeverReturned(task, call, killed, this.format) + '\n');
  }

  /** A line that is not a call ("--- ... ---", "+++ ... +++"), with the thread's prefix. */
  private textLine(task: Task, text: string): void {
    if (!this.printLines) return;
    if (this.pidMode === 'bracket') this.format.showPid = this.othersAlive(task);
    this.writerFor(task.process).write(linePrefix(this.format, task.tid) + text + '\n');
  }

  private signalLine(task: Task, info: SigInfo): void {
    if (this.cfg.format !== 'json') {
      this.textLine(task, signalLine(task.arch, info));
      return;
    }
    if (!this.printLines) return;
    const obj: JsonSignal = { type: 'signal', pid: task.process.pid, tid: task.tid, signal: signalName(info.signo), siginfo: formatSiginfo(task.arch, info) };
    this.writerFor(task.process).write(JSON.stringify(obj) + '\n');
  }

  /** The ignored signals sent to `proc` since its last call. */
  private showDiscarded(proc: Process): void {
    const list = this.discarded.get(proc);
    if (!list) return;
    this.discarded.delete(proc);
    for (const { task, info } of list) this.signalLine(task, info);
  }

  private bootNs(): bigint {
    return (this.kernel as { bootNs?: bigint }).bootNs ?? 0n;
  }

  /**
   * Whether a thread other than `task` is still traced (strace's nprocs >
   * 1): alive, or dead with its end not reported yet.
   */
  private othersAlive(task: Task): boolean {
    for (const q of this.kernel.processes.values()) {
      if (q.exited) continue;
      for (const t of q.liveTasks()) if (t !== task) return true;
    }
    for (const list of this.threads.values()) for (const t of list) if (t !== task && !this.reportedThreads.has(t)) return true;
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

  /**
   * A process ended: each of its traced threads that had not ended yet
   * reports, the group leader last (as Linux reports the leader once its
   * threads are gone): the call it was blocked in, never finished ("= ?"),
   * then "+++ exited with N +++" or "+++ killed by SIGxxx +++".
   */
  private reportEnd(p: Process): void {
    if (this.reported.has(p)) return;
    this.reported.add(p);
    const at = this.tracked.indexOf(p);
    if (at >= 0) this.tracked.splice(at, 1);
    if (this.lastProc === p) this.lastProc = null;
    this.showDiscarded(p);
    const threads = this.threads.get(p) ?? [];
    const status = p.exitStatus ?? 0;
    const leaderLast = [...threads.filter((t) => t.tid !== p.pid), ...threads.filter((t) => t.tid === p.pid)];
    for (const t of leaderLast) {
      const call = this.blockedCalls.get(t);
      if (call) {
        this.blockedCalls.delete(t);
        this.neverReturned(t, call, (status & 0x7f) === SIGKILL);
      }
      this.reportThreadEnd(t, status);
    }
    this.threads.delete(p);
    if (!this.main) {
      this.perProcess.get(p)?.close();
      this.perProcess.delete(p);
    }
  }

  /** "+++ exited with N +++" / "+++ killed by SIG +++" for one thread, once. */
  private reportThreadEnd(t: Task, status: number): void {
    if (this.reportedThreads.has(t)) return;
    this.reportedThreads.add(t);
    if (!this.printLines) return;
    const p = t.process;
    const sig = status & 0x7f;
    if (this.cfg.format === 'json') {
      const obj: JsonExit = { type: 'exit', pid: p.pid, tid: t.tid, status: sig ? null : (status >> 8) & 0xff, signal: sig ? signalName(sig) : null };
      if (sig && status & 0x80) obj.core_dumped = true;
      this.writerFor(p).write(JSON.stringify(obj) + '\n');
      return;
    }
    this.textLine(t, sig ? `+++ killed by ${signalName(sig)}${status & 0x80 ? ' (core dumped)' : ''} +++` : `+++ exited with ${(status >> 8) & 0xff} +++`);
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

  /** The guest waits: what the buffered outputs hold goes to their files now (see SyscallObserver.onIdle). */
  onIdle(): void {
    this.main?.flush();
    for (const w of this.perProcess.values()) w.flush();
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
