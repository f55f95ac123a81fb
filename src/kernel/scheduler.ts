// The scheduler: the run loops (run, runAsync), slices and pre-emption,
// timers, the watchdog, idling, and what a stopped engine means (a fault,
// an exec) (a layer of the Kernel; see kernel-state.ts).
import type { CpuFault, GuestEngine, RunLimits, RunResult } from '../arch/cpu.ts';
import { KernelBug } from './errors.ts';
import { Process } from './process.ts';
import { Task } from './task.ts';
import { KernelTrap } from './trap.ts';
import { signalName } from './fork-exit.ts';
import type { ExitInfo } from './kernel-options.ts';

/**
 * A task's time slice. It ends at a syscall once it is over (sliceOver),
 * or, for code that makes none, at the first block boundary after it (the
 * engine's block stop, see src/cpu/block-stop.ts and runSlice).
 */
const SLICE_MS = 10;
/** The watchdog fires this long after the run's deadline (see watchdogUs). */
const WATCHDOG_MARGIN_MS = 5;
/** How often (in syscalls) the hook looks at the clock for the end of the slice. */
const SLICE_CHECK_EVERY = 64;
/** A --deterministic run's slice, counted in syscalls (a multiple of SLICE_CHECK_EVERY), not milliseconds. */
const DETERMINISTIC_SLICE_SYSCALLS = 4096;
/**
 * A --deterministic run's slice for code between syscalls, counted in
 * translated blocks entered (a few milliseconds): the same stopping points
 * every run, where a clock would differ.
 */
const DETERMINISTIC_SLICE_BLOCKS = 1 << 20;
/**
 * How far a --deterministic run's virtual clock moves when such a slice
 * ends: time passes for code that makes no syscall too, so a thread that
 * sleeps wakes up while another spins (about what a 1 GHz machine would do).
 */
const DETERMINISTIC_SLICE_NS = 1_000_000n;

export abstract class KernelScheduler extends KernelTrap {
  protected syscallsThisSlice = 0;
  protected sliceEndsAt = 0;
  protected get sliceMs(): number {
    return this.options.sliceMs ?? SLICE_MS;
  }
  protected timedOut = false;

  /** Past the run's timeout: kill everything (the scheduler loop then ends). */
  protected checkTimeout(): boolean {
    if (this.timedOut) return true;
    if (performance.now() < this.deadlineAt) return false;
    this.timedOut = true;
    for (const p of this.processes.values()) if (!p.exited) p.killBySignal(9, false);
    return true;
  }

  /** The slice is used up and someone else should run (or the event loop needs a turn). */
  protected override sliceOver(): boolean {
    if (++this.syscallsThisSlice % SLICE_CHECK_EVERY !== 0) return false;
    if (this.checkTimeout()) return true;
    if (this.clock.virtual ? this.syscallsThisSlice < DETERMINISTIC_SLICE_SYSCALLS : performance.now() < this.sliceEndsAt) return false;
    return this.asyncMode || this.runQueue.some((t) => t.state === 'ready') || this.hasTimedWaiters() || this.hostStreams.awaited;
  }

  /**
   * How the engine's next run may end besides a syscall: at the end of the
   * slice, at a block boundary, where the pc is exact (src/cpu/block-stop.ts).
   * A --deterministic run counts blocks instead of reading a clock. On a host
   * where the engine cannot be pre-empted, a loop without syscalls keeps the
   * CPU, and only the watchdog ends it when --timeout passes.
   */
  protected runLimits(cpu: GuestEngine): RunLimits {
    if (!cpu.preemptible) return { watchdogUs: this.watchdogUs() };
    return { slice: this.clock.virtual ? { blocks: DETERMINISTIC_SLICE_BLOCKS } : { ms: this.sliceMs } };
  }

  /**
   * The CPU watchdog, in µs (0: none), for engines that cannot be pre-empted:
   * a task that makes no syscall is stopped when the run's --timeout passes.
   * It only ever kills: Unicorn's run timeout (uc_emu_stop from its own
   * thread) can stop in the middle of a block with the pc of the block's
   * start (see src/cpu/block-stop.ts), so the task must not go on.
   */
  protected watchdogUs(): number {
    if (this.deadlineAt === Infinity) return 0;
    // A little past the deadline, so that checkTimeout sees it passed.
    return Math.ceil((Math.max(0, this.deadlineAt - performance.now()) + WATCHDOG_MARGIN_MS) * 1000);
  }

  // ---- the scheduler --------------------------------------------------------------------

  /** Run the guest to completion: until the first process exits. */
  run(): ExitInfo {
    if (!this.options.cpu.runsCode) throw new Error('a headless kernel has no program to run');
    this.makeReady(this.taskOf(this.proc));
    try {
      while (!this.proc.exited) {
        const task = this.nextReady();
        if (!task) {
          if (!this.idle()) break;
          continue;
        }
        this.runScheduled(task);
      }
    } finally {
      this.shutdown();
    }
    return this.exitInfo();
  }

  protected runScheduled(task: Task): void {
    try {
      this.runSlice(task);
    } catch (e) {
      this.bug = e instanceof KernelBug ? e : new KernelBug(`kernel bug while scheduling pid ${task.process.pid}: ${(e as Error)?.stack ?? String(e)}`, e);
    }
    if (this.bug) this.crashHook?.kernelBug(task, this.bug);
    this.closeRetiredEngines();
    if (this.bug) throw this.bug;
  }

  protected exitInfo(): ExitInfo {
    const status = this.proc.exitStatus ?? 0;
    const signo = status & 0x7f;
    return {
      exitCode: signo ? 128 + signo : (status >> 8) & 0xff,
      status,
      signal: signo ? signalName(signo) : null,
      fault: signo ? this.firstFault : null,
      timedOut: this.timedOut,
      stdout: this.captured.stdout?.text() ?? Buffer.alloc(0),
      stderr: this.captured.stderr?.text() ?? Buffer.alloc(0),
    };
  }

  protected nextReady(): Task | null {
    if (this.checkTimeout()) return null;
    this.hostStreams.poll(0);
    this.fireTimers();
    this.wakeExpired();
    while (this.runQueue.length > 0) {
      const t = this.runQueue.shift()!;
      if (t.state === 'ready') return t;
    }
    return null;
  }

  /** ITIMER_REAL timers that are due send SIGALRM (and re-arm when periodic). */
  protected fireTimers(): void {
    const now = this.monotonicNs();
    for (const p of this.processes.values()) {
      const t = p.itimerReal;
      if (!t || p.exited || t.deadlineNs > now) continue;
      p.itimerReal = t.intervalNs > 0n ? { deadlineNs: t.deadlineNs + t.intervalNs * (1n + (now - t.deadlineNs) / t.intervalNs), intervalNs: t.intervalNs } : null;
      this.signals.send(p, { signo: 14 /* SIGALRM */, code: 0x80 /* SI_KERNEL */ });
    }
  }

  /** The earliest moment something timed happens: a sleeper's deadline or a process timer. */
  protected earliestDeadline(): bigint | null {
    let earliest: bigint | null = null;
    for (const t of this.tasks.values()) {
      const d = t.blockedOn?.deadlineNs;
      if (t.state === 'blocked' && d !== null && d !== undefined && (earliest === null || d < earliest)) earliest = d;
    }
    for (const p of this.processes.values()) {
      const d = p.itimerReal?.deadlineNs;
      if (d !== undefined && !p.exited && (earliest === null || d < earliest)) earliest = d;
    }
    return earliest;
  }

  /** Tasks whose timed wait has passed its deadline become ready. */
  protected wakeExpired(): void {
    const now = this.monotonicNs();
    for (const t of this.tasks.values()) {
      const d = t.blockedOn?.deadlineNs;
      if (t.state === 'blocked' && d !== null && d !== undefined && d <= now) this.makeReady(t);
    }
  }

  /**
   * Nothing is ready: sleep until the earliest deadline. With no deadline
   * either, every task waits on another forever: report the deadlock and
   * stop, rather than hang.
   */
  protected idle(): boolean {
    const plan = this.idlePlan();
    if (!plan) return false;
    if (plan.host) this.hostStreams.poll(plan.ms);
    else if (plan.ms > 0) Atomics.wait(idleSleeper, 0, 0, plan.ms);
    return true;
  }

  /**
   * How long to sleep when nothing is ready: until the earliest timed wait,
   * and/or until a host stream a task waits on moves (the idle scheduler
   * polls it). Neither: every task waits on another forever, so report the
   * deadlock and stop rather than hang.
   */
  protected idlePlan(): { ms: number; host: boolean } | null {
    if (this.checkTimeout()) return null;
    const plan = this.idlePlanInner();
    if (plan && (plan.ms > 0 || plan.host)) this.observer?.onIdle?.();
    // Never sleep past the run's timeout.
    if (plan && this.deadlineAt !== Infinity) plan.ms = Math.min(plan.ms, Math.max(1, Math.ceil(this.deadlineAt - performance.now())));
    return plan;
  }

  protected idlePlanInner(): { ms: number; host: boolean } | null {
    const earliest = this.earliestDeadline();
    const host = this.hostStreams.awaited;
    if (earliest === null && !host) {
      this.warn('tslinux: every guest task is blocked and nothing can wake them (deadlock); stopping');
      this.proc.killBySignal(9, false);
      return null;
    }
    if (earliest === null) return { ms: 1000, host };
    // Virtual time does not pass while the guest waits: it jumps to the deadline (host input comes when it comes).
    if (this.clock.skipTo(earliest)) return { ms: 0, host };
    const ns = earliest - this.monotonicNs();
    const ms = ns <= 0n ? 0 : Math.max(1, Number(ns / 1_000_000n));
    return { ms, host };
  }

  /**
   * run(), for callers that keep Node's event loop alive (the CLI): idle
   * waits and long CPU stretches yield to the event loop, so host signals
   * (Ctrl-C) reach the guest through hostSignal().
   */
  async runAsync(): Promise<ExitInfo> {
    if (!this.options.cpu.runsCode) throw new Error('a headless kernel has no program to run');
    this.asyncMode = true;
    this.makeReady(this.taskOf(this.proc));
    let lastYield = Date.now();
    try {
      while (!this.proc.exited) {
        const task = this.nextReady();
        if (!task) {
          const plan = this.idlePlan();
          if (!plan) break;
          if (plan.host) {
            // poll(2) on the host streams holds up the event loop: in short turns, so host signals get through.
            this.hostStreams.poll(Math.min(plan.ms, HOST_POLL_TURN_MS));
            await new Promise((r) => setImmediate(r));
          } else {
            // A host signal (hostSignal) ends the wait early.
            const woken = new Promise<void>((r) => (this.wakeIdle = r));
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([new Promise((r) => (timer = setTimeout(r, plan.ms))), woken]);
            clearTimeout(timer);
            this.wakeIdle = null;
          }
          lastYield = Date.now();
          continue;
        }
        this.runScheduled(task);
        if (Date.now() - lastYield > 50) {
          await new Promise((r) => setImmediate(r));
          lastYield = Date.now();
        }
      }
    } finally {
      this.shutdown();
    }
    return this.exitInfo();
  }

  /** Set in runAsync: slices end at syscalls every so often so the event loop gets turns. */
  protected asyncMode = false;
  /** Resolves runAsync's idle wait (set while it waits). */
  protected wakeIdle: (() => void) | null = null;

  protected runSlice(task: Task): void {
    const p = task.process;
    this.current = task;
    this.rescheduleRequested = false;
    try {
      this.switchTo(task);
      this.signals.deliver(task);
      if (p.exited || task.state !== 'ready') return;
      const cpu = p.cpu!;
      task.stoppedInHook = false;
      this.syscallsThisSlice = 0;
      this.sliceEndsAt = performance.now() + this.sliceMs;
      const resumed = task.blockedOn ? this.retryBlockedCall(task, cpu) : 'run';
      if (resumed === 'blocked') return;
      const r: RunResult = resumed === 'run' ? cpu.run(task.pc, this.runLimits(cpu)) : { kind: 'stopped' };
      if (this.bug || p.exited) return;
      const staged = this.stagedExecs.get(p);
      if (staged) {
        this.stagedExecs.delete(p);
        this.completeExec(p, staged);
        if (!p.exited) this.runQueue.push(task);
        return;
      }
      let fault = r.kind === 'fault' ? r.fault : null;
      if (r.kind === 'timeout') {
        // Only the run's --timeout arms the watchdog, and the guest dies of it (see watchdogUs).
        this.checkTimeout();
        return;
      }
      if (r.kind === 'preempted') this.preempted(task, cpu);
      else if (!fault && !task.stoppedInHook && !p.exited) fault = this.unexpectedStop(task, cpu.pc());
      if (fault) fault = this.exactFault(p, task, fault);
      if (fault) fault = beyondEofFault(p, fault);
      if (fault) {
        this.firstFault ??= fault;
        task.pc = fault.pc;
        this.signals.sendFault(task, fault);
      }
      if (task.state === 'ready') this.runQueue.push(task);
    } finally {
      this.current = null;
    }
  }

  /**
   * The slice ended between two blocks: the task goes on from the engine's
   * pc, after the others (runSlice queues it last). The pause is also the
   * safe point to empty the soft TLB, which QEMU only resizes at a flush
   * (see src/cpu/engine.ts, flushTlb): measured, that makes the 20 MB sieve 2x faster.
   */
  protected preempted(task: Task, cpu: GuestEngine): void {
    task.pc = cpu.pc();
    cpu.flushTlb();
    this.preemptionCount++;
    if (this.clock.virtual) this.clock.skipTo(this.clock.monotonicNs() + DETERMINISTIC_SLICE_NS);
  }

  protected preemptionCount = 0;

  /** How many times a task's slice ended between two blocks (tests look at it). */
  get preemptions(): number {
    return this.preemptionCount;
  }

  /** A memory fault with the faulting instruction's own pc (see src/cpu/fault-pc.ts). */
  protected exactFault(p: Process, task: Task, fault: CpuFault): CpuFault {
    const pc = p.cpu.exactFaultPc(fault, p.mem);
    if (pc === null || pc === fault.pc) return fault;
    this.setPc(task, pc);
    return { ...fault, pc };
  }

  /**
   * The CPU stopped though no hook asked it to: on x86-64 that is `hlt`,
   * which Unicorn treats as the end of emulation. In user mode Linux gives a
   * general protection fault: SIGSEGV with si_code SI_KERNEL.
   */
  protected unexpectedStop(task: Task, pc: number): CpuFault {
    let at = pc;
    try {
      if (task.arch.name === 'x86_64' && task.process.mem.read(pc - 1, 1)[0] === 0xf4) at = pc - 1;
    } catch {
      // pc - 1 unmapped: report pc itself
    }
    return { signal: 'SIGSEGV', code: 0x80, addr: 0, pc: at, reason: 'privileged instruction (hlt) or unexpected CPU stop' };
  }

  protected hasTimedWaiters(): boolean {
    return this.earliestDeadline() !== null;
  }

  /** The run is over: every remaining process goes (the first process was their init). */
  protected shutdown(): void {
    for (const p of this.processes.values()) {
      if (!p.exited) p.killBySignal(9, false);
    }
    this.closeRetiredEngines();
    this.shelf?.clear();
    for (const p of this.processes.values()) if (p.cpu) p.cpu.close();
    this.hostStreams.close();
    this.programFs?.release();
    this.terminal.restore();
    this.vfs.release();
  }

}

const idleSleeper = new Int32Array(new SharedArrayBuffer(4));
/** In runAsync, the longest poll(2) of host streams before the event loop gets a turn (host signals wait that long at most). */
const HOST_POLL_TURN_MS = 50;

/** A fault in the part of a file mapping past the file's end is SIGBUS with BUS_ADRERR. */
function beyondEofFault(p: Process, fault: CpuFault): CpuFault {
  const addr = fault.addr;
  if (fault.signal !== 'SIGSEGV' || typeof addr !== 'number') return fault;
  const hit = p.beyondEof.find((r) => addr >= r.start && addr < r.end && p.mem.mappingAt(addr)?.name === r.name);
  return hit ? { ...fault, signal: 'SIGBUS', code: 2, reason: 'access beyond the end of a mapped file' } : fault;
}
