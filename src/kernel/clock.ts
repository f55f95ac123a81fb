// The kernel's sense of time. Every clock the guest can read (CLOCK_REALTIME,
// CLOCK_MONOTONIC, CPU time, /proc/uptime, sysinfo, file times of in-memory
// files) comes from one Clock object, so a deterministic run swaps a single
// implementation: HostClock follows the host's clocks; VirtualClock starts at
// a fixed epoch and moves only with the guest's progress.

export interface Clock {
  /** True for a clock that ignores the host (--deterministic). */
  readonly virtual: boolean;
  /** Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
  realtimeNs(): bigint;
  /** Nanoseconds since boot (CLOCK_MONOTONIC, CLOCK_BOOTTIME). */
  monotonicNs(): bigint;
  /** CPU time the guest has used, for CPU-time clocks, times(2) and getrusage(2). */
  cpuNs(): bigint;
  /** A timestamp for measuring syscalls (the tracer's -T, -c and JSON start_ns); traceBaseNs is its value at boot. */
  traceNs(): bigint;
  readonly traceBaseNs: bigint;
  /** One syscall went by (a virtual clock ticks). */
  tick(): void;
  /**
   * Every task is waiting and the earliest wakes at `monotonicNs`: a virtual
   * clock jumps there and returns true (nothing to sleep); a host clock
   * returns false and the scheduler sleeps on the host.
   */
  skipTo(monotonicNs: bigint): boolean;
}

/** The host's clocks: wall time, hrtime since boot, the emulator's CPU usage. */
export class HostClock implements Clock {
  readonly virtual = false;
  readonly traceBaseNs = process.hrtime.bigint();

  realtimeNs(): bigint {
    // Date.now() has millisecond resolution; add the sub-millisecond part of the monotonic clock.
    return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  }

  monotonicNs(): bigint {
    return process.hrtime.bigint() - this.traceBaseNs;
  }

  /** The whole emulator's CPU time: the guest is the only thing it runs. */
  cpuNs(): bigint {
    const u = process.cpuUsage();
    return BigInt(u.user + u.system) * 1000n;
  }

  traceNs(): bigint {
    return process.hrtime.bigint();
  }

  tick(): void {}

  skipTo(): boolean {
    return false;
  }
}

/** 2000-01-01T00:00:00Z: where a virtual CLOCK_REALTIME starts. */
export const VIRTUAL_EPOCH_NS = 946_684_800n * 1_000_000_000n;
/** CLOCK_MONOTONIC at the start of a virtual run: as if booted 100 s before. */
export const VIRTUAL_BOOT_UPTIME_NS = 100n * 1_000_000_000n;
/** Each syscall advances virtual time by this much (it is also the guest's CPU time). */
export const VIRTUAL_NS_PER_SYSCALL = 1_000n;

/**
 * Time that advances only with the guest: a fixed step per syscall, and a
 * jump to the next deadline when everything sleeps. Two runs that make the
 * same calls read the same times.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  readonly traceBaseNs = VIRTUAL_BOOT_UPTIME_NS;
  private mono = VIRTUAL_BOOT_UPTIME_NS;
  private cpu = 0n;

  realtimeNs(): bigint {
    return VIRTUAL_EPOCH_NS + this.mono;
  }

  monotonicNs(): bigint {
    return this.mono;
  }

  cpuNs(): bigint {
    return this.cpu;
  }

  traceNs(): bigint {
    return this.mono;
  }

  tick(): void {
    this.mono += VIRTUAL_NS_PER_SYSCALL;
    this.cpu += VIRTUAL_NS_PER_SYSCALL;
  }

  skipTo(monotonicNs: bigint): boolean {
    if (monotonicNs > this.mono) this.mono = monotonicNs;
    return true;
  }
}
