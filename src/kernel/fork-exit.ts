// fork, clone, threads, exit and reaping: how processes and threads come
// and go (a layer of the Kernel; see kernel-state.ts).
import { LinuxError } from './errors.ts';
import { Process } from './process.ts';
import { Task } from './task.ts';
import { KernelState, INIT_PID } from './kernel-state.ts';

export abstract class KernelProcesses extends KernelState {
  // ---- fork --------------------------------------------------------------------

  /**
   * A copy of the calling process (fork, vfork, clone without
   * CLONE_THREAD): its memory copied (or, with `lendMemory`, its pages
   * shared: vfork and CLONE_VM), its fds sharing the same open file
   * descriptions, its registers copied, returning 0 in the child.
   * `resumePc` is where both continue: right after the syscall instruction.
   */
  forkProcess(parentTask: Task, resumePc: number, lendMemory = false): Process {
    const parent = parentTask.process;
    if (this.liveProcesses().length >= this.maxTasks) throw new LinuxError('EAGAIN', 'too many tasks');
    // A shelved engine that still maps the parent's program (a shell's
    // fork, mostly) has the child's code translated already.
    const shelved = this.shelvedEngine(parent.arch, (m) => parent.mem.holdsLoaded(m));
    const cpu = shelved?.engine ?? this.newEngine(parent.arch);
    const child = this.newProcess(parent, parent.arch, cpu, {
      cwd: parent.cwd,
      uid: parent.creds.uid,
      gid: parent.creds.gid,
      memoryLimit: parent.mem.memoryLimit,
    });
    child.creds = { ...parent.creds };
    child.groups = [...parent.groups];
    child.umask = parent.umask;
    child.rlimits = new Map([...parent.rlimits].map(([k, v]) => [k, { ...v }]));
    child.applyAddressSpaceLimit();
    child.sigactions = new Map([...parent.sigactions].map(([k, v]) => [k, { ...v }]));
    const task = this.taskOf(child);
    task.sigmask = parentTask.sigmask;
    task.altstack = { ...parentTask.altstack };
    child.pgid = parent.pgid;
    child.sid = parent.sid;
    child.argv = parent.argv;
    child.envp = parent.envp;
    child.exePath = parent.exePath;
    child.exeFile = parent.exeFile;
    child.auxv = parent.auxv;
    child.comm = parent.comm;
    child.sigreturnPage = parent.sigreturnPage;
    child.beyondEof = [...parent.beyondEof];
    child.fds = parent.fds.clone();
    if (shelved) child.mem.offerResident(shelved.segments);
    try {
      parent.mem.copyTo(child.mem, lendMemory);
    } catch (e) {
      // No memory for the child's copy: fork fails (ENOMEM) and the child never was.
      child.mem.releaseResident();
      this.discardUnborn(child);
      throw e;
    }
    child.mem.releaseResident();
    parent.cpu.copyStateTo(cpu);
    cpu.setReturnValue(0); // fork returns 0 in the child
    task.pc = resumePc;
    this.makeReady(task);
    this.requestReschedule();
    return child;
  }

  /** A child fork could not finish: its fds, engine and memory go, and no one hears of it. */
  protected discardUnborn(child: Process): void {
    child.fds.closeAll();
    if (child.cpu) this.retireEngine(child.cpu);
    this.retiredSpaces.push(child.mem);
    child.parent?.children.delete(child);
    this.processes.delete(child.pid);
    for (const t of child.threads) this.tasks.delete(t.tid);
  }

  // ---- threads -------------------------------------------------------------------

  /**
   * A new thread in the caller's process (clone with CLONE_THREAD): the
   * caller's registers, returning 0, on stack `sp` with TLS `tls` when
   * given. The caller's state is on the engine (it is running); the new
   * thread's is kept in its own context until it is scheduled.
   */
  newThread(parentTask: Task, resumePc: number, opts: { sp: number; tls: number | null }): Task {
    const p = parentTask.process;
    if (this.liveTaskCount() >= this.maxTasks) throw new LinuxError('EAGAIN', 'too many tasks');
    const tid = this.allocatePid();
    const task = new Task(this.self, tid, p);
    task.sigmask = parentTask.sigmask;
    task.pc = resumePc;
    p.threads.push(task);
    this.tasks.set(tid, task);
    const cpu = p.cpu;
    const callerState = (parentTask.context ??= cpu.newContext());
    callerState.save();
    cpu.setReturnValue(0); // clone returns 0 in the new thread
    if (opts.sp) cpu.setSp(opts.sp);
    if (opts.tls !== null) cpu.setTls(opts.tls);
    task.context = cpu.newContext();
    task.context.save();
    callerState.restoreInto();
    this.makeReady(task);
    return task;
  }

  /** Tasks alive in the whole guest (the --max-tasks limit counts threads too). */
  protected liveTaskCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.state !== 'dead') n++;
    return n;
  }

  /**
   * Put `task`'s registers on its process's engine, saving those of the
   * thread that was there (threads share one engine; see CpuContext).
   */
  protected switchTo(task: Task): void {
    const p = task.process;
    const loaded = p.loadedThread;
    if (loaded === task || !p.cpu) return;
    if (loaded && loaded.state !== 'dead') {
      loaded.context ??= p.cpu.newContext();
      loaded.context.save();
    }
    task.context?.restoreInto();
    p.loadedThread = task;
  }

  /**
   * exit(2) of one thread. The last thread out ends the process with its
   * status; otherwise the thread goes alone: its clear_child_tid word is
   * zeroed and futex-woken (what pthread_join waits on; see
   * set_tid_address(2)) and its robust futexes are released.
   */
  exitThread(task: Task, code: number): void {
    const p = task.process;
    if (p.liveTasks().length <= 1) {
      p.exit(code);
      return;
    }
    this.releaseThread(task);
    task.exitStatus = (code & 0xff) << 8;
  }

  /** A thread leaves: its waits are dropped, its futex duties done, its registers freed. */
  protected releaseThread(task: Task): void {
    const p = task.process;
    task.state = 'dead';
    this.cancelWaits(task);
    this.futexes.threadExited(task);
    if (p.loadedThread === task) p.loadedThread = null;
    task.context?.free();
    task.context = null;
    // The main thread stays listed (a zombie leader) until the process ends; others go at once.
    if (task !== p.threads[0]) {
      p.threads.splice(p.threads.indexOf(task), 1);
      this.tasks.delete(task.tid);
    }
  }

  /** execve(2) in a threaded process: every other thread ends, and the caller becomes the main thread. */
  protected onlyThreadLeft(p: Process, execCaller: Task | undefined): Task {
    const caller = execCaller && execCaller.state !== 'dead' ? execCaller : this.taskOf(p);
    for (const t of [...p.threads]) {
      if (t === caller) continue;
      if (t.state !== 'dead') this.releaseThread(t);
      const i = p.threads.indexOf(t);
      if (i >= 0) p.threads.splice(i, 1);
      this.tasks.delete(t.tid);
    }
    return caller;
  }

  // ---- exit and wait -------------------------------------------------------------

  protected override onProcessExit(p: Process): void {
    for (const t of p.liveTasks()) {
      t.exitStatus = p.exitStatus;
      this.releaseThread(t);
    }
    p.fds.closeAll();
    // A zombie keeps no memory (its /proc/<pid>/maps is empty, as on Linux).
    if (p.cpu) this.retireProcessEngine(p.cpu, p.mem, true);
    else this.retiredSpaces.push(p.mem);
    // Orphans go to the emulated init, which reaps them when they exit.
    for (const child of p.children) {
      child.parent = null;
      child.ppid = INIT_PID;
      if (child.exited) this.reap(child);
    }
    p.children.clear();
    const waiting = p.vforkDone;
    if (waiting) {
      p.vforkDone = null;
      waiting.notify();
    }
    const parent = p.parent;
    if (parent && !parent.exited) {
      parent.childEvents.notify();
      if (p.exitSignal) this.signals.send(parent, { signo: p.exitSignal, code: childCode(p.exitStatus!), pid: p.pid, uid: p.creds.uid, status: childStatusValue(p.exitStatus!) });
    } else if (p !== this.proc) {
      this.reap(p);
    }
  }

  /** Remove a zombie for good (wait4 by its parent, or the emulated init). */
  reap(p: Process): void {
    if (p.reaped) return;
    p.reaped = true;
    p.parent?.children.delete(p);
    if (p !== this.proc) this.processes.delete(p.pid);
    for (const t of p.threads) this.tasks.delete(t.tid);
  }

}

/** SIGCHLD's si_code for a child's new state (CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3). */
function childCode(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return 1;
  return status & 0x80 ? 3 : 2;
}

function childStatusValue(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : sig;
}

export function signalName(signo: number): string {
  const names: Record<number, string> = {
    1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
    9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
    16: 'SIGSTKFLT', 17: 'SIGCHLD', 18: 'SIGCONT', 19: 'SIGSTOP', 20: 'SIGTSTP', 21: 'SIGTTIN', 22: 'SIGTTOU',
    23: 'SIGURG', 24: 'SIGXCPU', 25: 'SIGXFSZ', 26: 'SIGVTALRM', 27: 'SIGPROF', 28: 'SIGWINCH', 29: 'SIGIO',
    30: 'SIGPWR', 31: 'SIGSYS',
  };
  return names[signo] ?? (signo >= 32 && signo <= 64 ? `SIGRT${signo - 32}` : `signal ${signo}`);
}
