// --crash-report FILE: a JSON post-mortem of a run whose guest died of an
// uncaught signal, or that tslinux stopped because a handler had a bug
// (KernelBug). The kernel tells a CrashReporter the moment it happens (the
// registers are only on the engine then), and the reporter, which also
// watches every syscall, keeps the last 50 calls in a ring.
import * as fs from 'node:fs';
import type { CpuFault, GuestCpu } from '../arch/cpu.ts';
import { writeOutput, type OutputFile } from '../host/output.ts';
import type { CrashHook, SyscallObserver, SyscallRecord } from '../kernel/dispatch.ts';
import { ERRNO_NAMES } from '../kernel/errno-table.ts';
import type { KernelBug } from '../kernel/errors.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { signalName } from '../kernel/kernel.ts';
import type { Process } from '../kernel/process.ts';
import { mapsText } from '../kernel/procfs.ts';
import type { SigInfo } from '../kernel/signals.ts';
import type { Task } from '../kernel/task.ts';
import type { SyscallContext } from '../kernel/syscall-decl.ts';

// The hook the kernel calls (it owns the interface: src/kernel/dispatch.ts).
export type { CrashHook } from '../kernel/dispatch.ts';

/** How many calls the report keeps (the most recent ones). */
export const CRASH_SYSCALL_HISTORY = 50;

export interface CrashSyscall {
  pid: number;
  tid: number;
  name: string;
  /** Raw argument values, hex. */
  args: string[];
  /** The raw result: >= 0, or -errno. */
  ret: number;
  /** The errno's name when the call failed. */
  error: string | null;
}

export interface CrashReport {
  /** "signal" (an uncaught signal killed the guest) or "kernel-bug" (tslinux's own failure). */
  kind: 'signal' | 'kernel-bug';
  pid: number;
  tid: number;
  arch: string;
  signal: { number: number; name: string; code: number; reason: string | null } | null;
  /** si_addr for faults (hex), else null. */
  faultAddress: string | null;
  pc: string;
  registers: Record<string, string>;
  /** /proc/<pid>/maps lines. */
  memoryMap: string[];
  syscalls: CrashSyscall[];
  binary: { path: string; buildId: string | null };
  /** A KernelBug's message (with its stack trace), else null. */
  error: string | null;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** Every general register of the CPU, by its name in the arch's manuals. */
export function readRegisters(cpu: GuestCpu): Record<string, string> {
  return Object.fromEntries(Object.entries(cpu.namedRegisters()).map(([name, v]) => [name, hex(v)]));
}

/**
 * The NT_GNU_BUILD_ID note of a 64-bit little-endian ELF file, as hex, or
 * null when it has none (see elf(5), "Notes (Nhdr)"): notes live in PT_NOTE
 * segments, each a namesz/descsz/type header, the name and the descriptor,
 * both padded to 4 bytes.
 */
export function elfBuildId(bytes: Uint8Array): string | null {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  const PT_NOTE = 4;
  const NT_GNU_BUILD_ID = 3;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > bytes.length || v.getUint32(ph, true) !== PT_NOTE) continue;
    const start = Number(v.getBigUint64(ph + 8, true));
    const end = Math.min(bytes.length, start + Number(v.getBigUint64(ph + 32, true)));
    for (let at = start; at + 12 <= end; ) {
      const namesz = v.getUint32(at, true);
      const descsz = v.getUint32(at + 4, true);
      const type = v.getUint32(at + 8, true);
      const name = at + 12;
      const desc = name + align4(namesz);
      if (desc + descsz > end) break;
      const isGnu = namesz === 4 && Buffer.from(bytes.subarray(name, name + 4)).toString('latin1') === 'GNU\0';
      if (isGnu && type === NT_GNU_BUILD_ID) return Buffer.from(bytes.subarray(desc, desc + descsz)).toString('hex');
      at = desc + align4(descsz);
    }
  }
  return null;
}

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * The guest's executable: the file its image came from (held since its
 * exec, so a program outside every mount is still there), else what its
 * path leads to in the guest's view. Null when it cannot be read any more.
 */
function readExecutable(kernel: Kernel, p: Process): Uint8Array | null {
  try {
    const place = p.exeFile ?? kernel.vfs.resolve(p.exePath, { base: '/', follow: true });
    const file = place.fs.open(place.node, { read: true, write: false, append: false, truncate: false, nonblock: false });
    try {
      const out = new Uint8Array(file.size());
      let done = 0;
      for (let n = 1; done < out.length && n > 0; done += n) n = file.read(out.subarray(done), done);
      return out.subarray(0, done);
    } finally {
      file.close();
    }
  } catch {
    return null;
  }
}

/** Watches the syscalls (last 50) and takes the crash hook; `report()` says what happened, if anything did. */
export class CrashReporter implements SyscallObserver, CrashHook {
  private readonly ring: CrashSyscall[] = [];
  private next = 0;
  private moment: CrashReport | null = null;
  constructor(private readonly kernel: Kernel) {}

  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void {
    const entry: CrashSyscall = {
      pid: ctx.proc.pid,
      tid: ctx.task.tid,
      name: rec.name,
      args: rec.args.map((a) => (a < 0 ? String(a) : hex(a))),
      ret: rec.ret,
      error: rec.ret < 0 && rec.ret > -4096 ? (ERRNO_NAMES[-rec.ret] ?? null) : null,
    };
    if (this.ring.length < CRASH_SYSCALL_HISTORY) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % CRASH_SYSCALL_HISTORY;
  }

  /** The calls in the order they were made, oldest first. */
  recentSyscalls(): CrashSyscall[] {
    return this.ring.length < CRASH_SYSCALL_HISTORY ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  fatalSignal(task: Task, info: SigInfo): void {
    // The run's outcome is its first process's: a child that dies is its parent's business.
    if (task.process !== this.kernel.proc) return;
    const fault = info.addr !== undefined && info.code > 0;
    this.moment = this.snapshot(task, 'signal', {
      signal: { number: info.signo, name: signalName(info.signo), code: info.code, reason: null },
      faultAddress: fault ? hex(BigInt(info.addr!)) : null,
      error: null,
    });
  }

  kernelBug(task: Task, bug: KernelBug): void {
    this.moment = this.snapshot(task, 'kernel-bug', { signal: null, faultAddress: null, error: bug.message });
  }

  private snapshot(task: Task, kind: CrashReport['kind'], what: Pick<CrashReport, 'signal' | 'faultAddress' | 'error'>): CrashReport {
    const p: Process = task.process;
    let registers: Record<string, string> = {};
    try {
      if (p.cpu && p.loadedThread === task) registers = readRegisters(p.cpu);
    } catch {
      // An engine that cannot be read any more: the report goes without registers.
    }
    const exe = readExecutable(this.kernel, p);
    return {
      kind,
      pid: p.pid,
      tid: task.tid,
      arch: p.arch.name,
      ...what,
      pc: hex(task.pc),
      registers,
      memoryMap: mapsText(p).split('\n').filter(Boolean),
      syscalls: this.recentSyscalls(),
      binary: { path: p.exePath, buildId: exe ? elfBuildId(exe) : null },
    };
  }

  /**
   * The report for a run that ended so, or null when the guest did not die
   * of a signal (nor tslinux of a bug). `fault` (the run's CPU fault, when
   * one killed it) adds the reason and the exact pc.
   */
  report(fault: CpuFault | null = null): CrashReport | null {
    const r = this.moment;
    if (!r) return null;
    if (r.signal && fault && fault.signal === r.signal.name) {
      r.signal.reason = fault.reason;
      r.pc = hex(fault.pc);
    }
    return r;
  }

  /** Write the report (pretty JSON) and return it, or return null when there is nothing to report. */
  write(file: string | OutputFile, fault: CpuFault | null = null): CrashReport | null {
    const r = this.report(fault);
    if (r) writeOutput(file, JSON.stringify(r, null, 2) + '\n');
    return r;
  }
}
