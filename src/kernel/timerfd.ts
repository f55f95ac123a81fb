// timerfd (see timerfd_create(2)): a timer as a file. Reading returns how
// many times it expired since it was set or last read (waiting for the first
// expiry when none has happened yet). Timers fire lazily: the next expiry is
// the deadline of the `expired` waitable, so a task waiting on it (read,
// poll, epoll) is woken then by the scheduler and counts the expirations
// when it looks again. Times here are on the kernel's CLOCK_MONOTONIC scale;
// the syscall layer converts CLOCK_REALTIME times when the timer is set.
import { fail } from './errors.ts';
import { POLL_READ } from './readiness.ts';
import { Waitable, WouldBlock } from './wait.ts';
import type { Node, OpenFile } from './vfs/types.ts';

export interface TimerSetting {
  /** Time left until the next expiry (0: disarmed). */
  valueNs: bigint;
  /** The period (0: one-shot). */
  intervalNs: bigint;
}

export class TimerFd implements OpenFile {
  readonly seekable = false;
  /** Notified at each expiry; its deadline is the next expiry, null while disarmed. */
  readonly expired = new Waitable();
  /** Expirations not yet read. */
  private ticks = 0n;
  private intervalNs = 0n;

  constructor(
    readonly node: Node,
    /** The CLOCK_* id it was created on (timerfd_create's clockid). */
    readonly clockId: number,
    /** The kernel's CLOCK_MONOTONIC. */
    private readonly now: () => bigint,
  ) {}

  /** Count the expirations up to now; a periodic timer moves on to its next one. */
  private settle(now = this.now()): void {
    const next = this.expired.deadlineNs;
    if (next === null || now < next) return;
    if (this.intervalNs > 0n) {
      const periods = 1n + (now - next) / this.intervalNs;
      this.ticks += periods;
      this.expired.deadlineNs = next + periods * this.intervalNs;
    } else {
      this.ticks += 1n;
      this.expired.deadlineNs = null;
    }
    this.expired.notify();
  }

  /**
   * timerfd_settime: arm with the first expiry at `firstNs` (absolute,
   * monotonic) or disarm (null). Unread expirations are dropped. The
   * interval is kept even when disarming, as timerfd_gettime shows it.
   */
  set(firstNs: bigint | null, intervalNs: bigint): void {
    this.ticks = 0n;
    this.intervalNs = intervalNs;
    this.expired.deadlineNs = firstNs;
    // Tasks already waiting took the old expiry as their deadline: they look again and take the new one.
    this.expired.notify();
  }

  /** timerfd_gettime: the time to the next expiry (0 when disarmed or a one-shot has fired) and the interval. */
  get(): TimerSetting {
    const now = this.now();
    this.settle(now);
    const next = this.expired.deadlineNs; // after settle, null or still ahead of now
    return { valueNs: next === null ? 0n : next - now, intervalNs: this.intervalNs };
  }

  read(buf: Uint8Array): number {
    if (buf.length < 8) fail('EINVAL');
    this.settle();
    if (this.ticks === 0n) throw new WouldBlock([this.expired]);
    new DataView(buf.buffer, buf.byteOffset, 8).setBigUint64(0, this.ticks, true);
    this.ticks = 0n;
    return 8;
  }

  write(): number {
    fail('EINVAL'); // timerfd has no write operation
  }

  /** timerfd_poll: readable once it has expired. */
  poll(events: number, waits: Waitable[]): number {
    this.settle();
    waits.push(this.expired);
    return this.ticks > 0n ? events & POLL_READ : 0;
  }

  size(): number {
    return 0;
  }

  close(): void {}
}
