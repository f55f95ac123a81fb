// The syscall trap: from the CPU hook (or a retry, or a headless invoke)
// through the dispatcher, and the result written back to the return
// register (a layer of the Kernel; see kernel-state.ts).
import type { GuestEngine, SyscallRegisters } from '../arch/cpu.ts';
import { SYSCALL_BLOCKED, SYSCALL_NORETURN, callEntry } from './dispatch.ts';
import { KernelBug } from './errors.ts';
import { Task } from './task.ts';
import { KernelExec } from './exec.ts';
import { Sleep } from './wait.ts';

export abstract class KernelTrap extends KernelExec {
  /** The slice is used up (scheduler.ts). */
  protected abstract sliceOver(): boolean;

  // ---- the syscall path -------------------------------------------------------------

  /** Called from the CPU hook at every syscall instruction. Never throws into the FFI. */
  protected override onSyscall(engine: GuestEngine): void {
    const task = this.current;
    try {
      if (!task || task.process.cpu !== engine) throw new Error('syscall from an engine that is not running a task');
      const regs = engine.readSyscall();
      const outcome = this.makeSyscall(task, regs, engine.trapPc());
      if (outcome !== 'done' || this.rescheduleRequested || this.sliceOver()) this.stopInHook(task, engine);
    } catch (e) {
      this.bug = e instanceof KernelBug ? e : new KernelBug(`kernel bug: ${(e as Error)?.stack ?? String(e)}`, e);
      engine.stop();
    }
  }

  /**
   * Make the call whose registers are in `regs` for `task`, whose syscall
   * instruction is at `insnPc`: 'done' with the result in the return
   * register and task.pc after the instruction; 'blocked' with task.pc back
   * on the instruction; 'stopped' when the call does not return (exit,
   * execve; rt_sigreturn set task.pc and any interrupted call's state itself).
   */
  protected makeSyscall(task: Task, regs: SyscallRegisters, insnPc: number): 'done' | 'blocked' | 'stopped' {
    task.pc = insnPc + task.arch.syscallInsnSize;
    this.clock.tick();
    const ret = this.dispatcherFor(task.arch).dispatch(task, regs);
    if (ret === SYSCALL_BLOCKED) {
      task.pc = insnPc;
      this.block(task);
      return 'blocked';
    }
    if (ret === SYSCALL_NORETURN || task.process.exited || task.state === 'dead' || this.stagedExecs.has(task.process)) return 'stopped';
    this.completeSyscall(task);
    if (ret === -38 /* ENOSYS */) this.noteUnimplemented(task, regs);
    this.setReturnValue(task, ret);
    return 'done';
  }

  /** A call returned to the guest: its wait and retry state go. */
  protected completeSyscall(task: Task): void {
    task.blockedOn = null;
    task.syscallState = undefined;
    task.syscallEntry = null;
    task.interruptedBy = 0;
  }

  /**
   * A task woken from a blocking call makes the call again here, from the
   * registers it blocked with, and not by running its syscall instruction
   * again: a sleeping call never leaves the kernel on Linux, so whatever the
   * guest's memory holds at the call's pc by now (another thread may have
   * mapped new code there) is not what is retried, and the retry is the
   * very call the gate let in. 'run' when the call completed and the task
   * goes on from the instruction after it; 'blocked' when it waits again;
   * 'stopped' when it does not return (the task exited or execs).
   */
  protected retryBlockedCall(task: Task, engine: GuestEngine): 'run' | 'blocked' | 'stopped' {
    const regs = engine.readSyscall();
    const outcome = this.makeSyscall(task, regs, task.pc);
    if (outcome === 'blocked') return 'blocked';
    // A call that does not return, or one that wants the scheduler first (a
    // signal it raised for its own task, a fork): the task goes on next slice.
    if (outcome === 'stopped' || this.rescheduleRequested || this.sliceOver()) {
      task.stoppedInHook = true;
      return 'stopped';
    }
    return 'run';
  }

  /** Stop the engine from inside a syscall hook; task.pc already says where to resume. */
  protected stopInHook(task: Task, engine: GuestEngine): void {
    task.stoppedInHook = true;
    engine.stop();
  }

  /** Write a syscall result into a task's return register (EINTR for an interrupted call). */
  setReturnValue(task: Task, value: number): void {
    task.process.cpu.setReturnValue(value);
  }

  /** Set the pc register of a task's engine (before a signal frame saves it). */
  setPc(task: Task, pc: number): void {
    task.process.cpu.setPc(pc);
  }

  /**
   * Call a syscall by name with raw argument values, without running guest
   * code (a headless kernel: plain CPUs, no scheduler): the result is >= 0
   * or -errno, exactly what the guest would see in rax/x0. A plain sleep is
   * waited out in place; any other call that would block returns -EAGAIN.
   */
  invoke(name: string, args: readonly (number | bigint)[] = []): number {
    return this.invokeAs(this.headlessTask, name, args);
  }

  /**
   * invoke() as another task (a thread made with newThread). A call that
   * blocked stays the task's blocked call: invoking the same syscall again
   * is its retry (with the arguments given now, which tests may change),
   * as the scheduler retries it; any other call abandons it (see
   * dispatch.ts). Every call passes the gate, with the arguments given.
   */
  invokeAs(task: Task, name: string, args: readonly (number | bigint)[] = []): number {
    const nr = task.arch.syscallNumbers[name];
    if (nr === undefined) throw new Error(`${name} is not a syscall on ${task.arch.name}`);
    const words = new Uint32Array(16);
    const all = [BigInt(nr), ...args.map((a) => BigInt.asUintN(64, BigInt(a)))];
    all.forEach((v, i) => {
      words[2 * i] = Number(v & 0xffffffffn);
      words[2 * i + 1] = Number(v >> 32n);
    });
    if (task.blockedOn && task.blockedSyscall === name) task.syscallEntry = callEntry(words, task.pc);
    this.clock.tick();
    let r = this.dispatcherFor(task.arch).dispatch(task, { words });
    // No scheduler here: a plain sleep is waited out in place (a virtual
    // clock just moves on), and the call made again, as a woken task's is.
    while (r === SYSCALL_BLOCKED && task.blockedOn instanceof Sleep) {
      const deadline = task.blockedOn.deadlineNs!;
      if (!this.clock.skipTo(deadline)) sleepNs(deadline - this.monotonicNs());
      task.syscallEntry = callEntry(words, task.pc);
      r = this.dispatcherFor(task.arch).dispatch(task, { words });
    }
    if (r === SYSCALL_BLOCKED) return -11;
    this.completeSyscall(task);
    return r === SYSCALL_NORETURN ? 0 : r;
  }

  protected noteUnimplemented(task: Task, regs: SyscallRegisters): void {
    const words = regs.words;
    const nr = words[1] === 0 ? words[0]! : -1;
    const name = task.arch.syscallNames[nr];
    const key = `${task.arch.name}:${nr}`;
    if (!this.options.warnUnimplemented || this.warned.has(key)) return;
    this.warned.add(key);
    if (name && this.options.syscalls.some((d) => d.name === name)) return; // implemented, and it said ENOSYS on purpose
    this.warn(`tslinux: unimplemented syscall ${name ?? 'unknown'} (${task.arch.name} #${nr}) returned ENOSYS`);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Block the host for at least `ns` nanoseconds (never less: a sub-millisecond sleep still sleeps). */
function sleepNs(ns: bigint): void {
  if (ns <= 0n) return;
  const deadline = process.hrtime.bigint() + ns;
  for (;;) {
    const left = deadline - process.hrtime.bigint();
    if (left <= 0n) return;
    Atomics.wait(sleeper, 0, 0, Math.min(Number(left) / 1e6, 1000));
  }
}
