// The kernel: one guest world. It builds the filesystem view, loads the
// first executable into a process, and schedules the guest's tasks, each
// process on its own CPU engine, answering their syscalls until the first
// process exits (like a container's init: the rest go with it).
//
// The Kernel is built in layers, one file each, each class extending the
// one below (methods only; the state and the constructor are in the first):
//   kernel-state.ts  processes and tasks, engines, blocking and waking
//   fork-exit.ts     fork, clone, threads, exit and reaping
//   exec.ts          execve's images
//   trap.ts          the syscall trap and the register write-back
//   scheduler.ts     run loops, slices, timers, the watchdog, faults
//   kernel.ts        stdio and host I/O (this file)
// Handlers see none of it: they see KernelServices (services.ts).
import { FAULT_SIGNALS } from '../arch/cpu.ts';
import { OpenFileDescription } from './fdtable.ts';
import { Process } from './process.ts';
import type { SigInfo } from './signals.ts';
import { BufferInputFile, CaptureOutputFile, HostStreamFile, StreamNode, hostFdMayBlock, hostFdStat, stdioMode, withHostOffset } from './stdio.ts';
import type { HostStream } from './host-streams.ts';
import type { FileSystem, OpenFile } from './vfs/types.ts';
import { KernelScheduler } from './scheduler.ts';
import type { KernelServices } from './services.ts';

export { LaunchError, toGuestPath, type ExitInfo, type KernelOptions, type StdioSpec } from './kernel-options.ts';
export type { StagedExec } from './exec.ts';
export { signalName } from './fork-exit.ts';

export class Kernel extends KernelScheduler implements KernelServices {
  /**
   * A signal the host sent to tslinux (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT):
   * it goes to the guest's foreground process group, as the terminal would
   * send it (see termios(3), ISIG).
   */
  hostSignal(signo: number): void {
    const group = this.terminal.foregroundPgrp || this.proc.pgid;
    let sent = false;
    for (const p of this.liveProcesses()) {
      if (!p.exited && p.pgid === group) {
        this.signals.send(p, { signo, code: 0x80 /* SI_KERNEL */ });
        sent = true;
      }
    }
    if (!sent) this.signals.send(this.proc, { signo, code: 0x80 });
    this.wakeIdle?.();
  }

  // ---- stdio -------------------------------------------------------------------------------

  protected override setupStdio(): void {
    const names = ['stdin', 'stdout', 'stderr'] as const;
    names.forEach((name, fd) => {
      const spec = this.options[name] ?? fd;
      const fsys = this.vfs.mounts()[0]!.fs;
      const node = new StreamNode(fsys, () => hostFdStat(typeof spec === 'number' ? spec : -1, 0), name);
      let file: OpenFile;
      if (typeof spec === 'number') file = new HostStreamFile(node, spec, this.hostStreamFor(spec));
      else if (spec === 'capture') {
        const cap = new CaptureOutputFile(
          node,
          this.options.maxOutput,
          (chunk) => this.options.onOutput?.(name as 'stdout' | 'stderr', chunk),
          () => this.signals.send(this.currentTask.process, { signo: 25 /* SIGXFSZ */, code: 0x80 /* SI_KERNEL */ }),
        );
        this.captured[name as 'stdout' | 'stderr'] = cap;
        file = cap;
      } else file = new BufferInputFile(node, spec);
      node.file = file;
      const { access, statusFlags } = stdioMode(fd, typeof spec === 'number' ? spec : null, this.arch.c);
      const ofd = withHostOffset(new OpenFileDescription(file, node, fsys, `/dev/${name}`, access, statusFlags, false), file);
      this.proc.fds.installAt(fd, ofd);
    });
  }

  /** The stream of a host fd whose transfers may wait (a tty, pipe, FIFO or socket), or null for files and /dev/null. */
  hostStreamFor(hostFd: number): HostStream | null {
    return hostFdMayBlock(hostFd) ? this.hostStreams.for(hostFd) : null;
  }

  /** The tracer's timestamp at boot (JSON traces count start_ns from it). */
  get bootNs(): bigint {
    return this.clock.traceBaseNs;
  }

  /** A filesystem for the rootfs, for nodes that live nowhere else. */
  rootFs(): FileSystem {
    return this.vfs.mounts()[0]!.fs;
  }

  /** What the guest created, changed and deleted under --overlay, as guest paths. */
  overlayDiff(): { created: string[]; changed: string[]; deleted: string[] } {
    const out = { created: [] as string[], changed: [] as string[], deleted: [] as string[] };
    for (const { path: at, fs: ov } of this.overlays.list) {
      const d = ov.diff();
      const abs = (rel: string): string => (at === '/' ? `/${rel}` : `${at}/${rel}`);
      out.created.push(...d.created.map(abs));
      out.changed.push(...d.changed.map(abs));
      out.deleted.push(...d.deleted.map(abs));
    }
    return out;
  }

  /** Raise a signal for a process (kill(2) and the kernel's own signals). */
  sendSignal(p: Process, info: SigInfo): void {
    this.signals.send(p, info);
  }
}

export { FAULT_SIGNALS };
