// signalfd (see signalfd(2)): pending signals of a set, read as records
// instead of delivered to handlers. A read takes signals pending for the
// reading thread or its process, like sigtimedwait; it waits while none is.
import type { SigInfo } from '../arch/sigframe.ts';
import { fail } from './errors.ts';
import type { KernelServices } from './services.ts';
import { POLL_READ } from './readiness.ts';
import { UNBLOCKABLE, lowestSignal } from './signals.ts';
import type { Task } from './task.ts';
import type { Node, OpenFile } from './vfs/types.ts';
import { type Waitable, WouldBlock } from './wait.ts';

/** sizeof(struct signalfd_siginfo). */
export const SIGNALFD_SIGINFO_SIZE = 128;

export class SignalFd implements OpenFile {
  readonly seekable = false;
  /** The signals this fd reports (signalfd4 may change it on the same fd). */
  mask: bigint;

  constructor(
    readonly node: Node,
    mask: bigint,
    /** The running task: a read or poll looks at the caller's signals. */
    private readonly kernel: KernelServices,
  ) {
    this.mask = mask & ~UNBLOCKABLE;
  }

  private get reader(): Task {
    return this.kernel.currentTask;
  }

  private pendingInMask(task: Task): bigint {
    return (task.pending.mask | task.process.sharedPending.mask) & this.mask;
  }

  read(buf: Uint8Array): number {
    if (buf.length < SIGNALFD_SIGINFO_SIZE) fail('EINVAL');
    const task = this.reader;
    if (this.pendingInMask(task) === 0n) throw new WouldBlock([task.process.signalEvents]);
    let n = 0;
    while (n + SIGNALFD_SIGINFO_SIZE <= buf.length) {
      const ready = this.pendingInMask(task);
      if (ready === 0n) break;
      const sig = lowestSignal(ready);
      buf.set(encodeSignalfdSiginfo(this.kernel.signals.dequeue(task, sig)), n);
      n += SIGNALFD_SIGINFO_SIZE;
    }
    return n;
  }

  write(): number {
    fail('EINVAL'); // signalfd has no write operation
  }

  /** Readable while a signal of the set is pending for the polling thread. */
  poll(events: number, waits: Waitable[]): number {
    const task = this.reader;
    if (events & POLL_READ) waits.push(task.process.signalEvents);
    return this.pendingInMask(task) !== 0n ? events & POLL_READ : 0;
  }

  size(): number {
    return 0;
  }

  close(): void {}
}

/**
 * struct signalfd_siginfo: ssi_signo, errno, code, pid, uid, fd, tid, band,
 * overrun, trapno, status, int (u32/s32 each), then ptr, utime, stime, addr
 * (u64 each), addr_lsb (u16) and padding to 128 bytes.
 */
export function encodeSignalfdSiginfo(info: SigInfo): Uint8Array {
  const out = new Uint8Array(SIGNALFD_SIGINFO_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, info.signo, true);
  v.setInt32(4, info.errno ?? 0, true);
  v.setInt32(8, info.code, true);
  v.setUint32(12, info.pid ?? 0, true);
  v.setUint32(16, info.uid ?? 0, true);
  v.setUint32(24, info.tid ?? 0, true);
  v.setUint32(32, info.overrun ?? 0, true);
  v.setInt32(40, info.status ?? 0, true);
  const value = BigInt.asUintN(64, BigInt(info.value ?? 0));
  v.setInt32(44, Number(BigInt.asIntN(32, value)), true);
  v.setBigUint64(48, value, true);
  v.setBigUint64(56, BigInt.asUintN(64, BigInt(info.utime ?? 0)), true);
  v.setBigUint64(64, BigInt.asUintN(64, BigInt(info.stime ?? 0)), true);
  v.setBigUint64(72, BigInt.asUintN(64, BigInt(info.addr ?? 0)), true);
  return out;
}
