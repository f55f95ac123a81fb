// Reading a host stream (a pipe, a FIFO, a tty, a socket) as the guest's
// stdin exactly as a native read would: the bytes the stream holds now, up to
// the size asked, or a wait until it holds some, without blocking the
// emulator (other guest tasks run, host signals get through) and without
// taking from the host more than the guest asked for (a program after
// tslinux that reads the same stream gets the rest, as natively:
// `{ tslinux run ./bash -c 'read l'; cat; } < pipe`).
//
// A read never waits in the host: it is made in a way that returns at once.
//   - a pipe, FIFO or tty on Linux: through a second open file description
//     of it, opened O_NONBLOCK (an open of /proc/self/fd/N makes a new
//     description, so the flag touches no one else's);
//   - a socket: recv(2) with MSG_DONTWAIT;
//   - otherwise, when poll(2) says it is readable.
// When nothing is there the task waits on `ready`, and the scheduler polls
// the streams that have waiters (HostInputs) when it looks for work and
// while it is idle: a run with a task waiting for host input is never
// deadlocked, and the input or end of file wakes it.
//
// Without the host's libc (hostLibc() null: not Linux or macOS) reads block
// the emulator as Node's readSync does.
import * as fs from 'node:fs';
import { isatty } from 'node:tty';
import { hostLibc, POLLIN as HOST_POLLIN, type HostLibc } from '../host/libc.ts';
import { fromHostError } from './errors.ts';
import { blockingHostCall } from './stdio.ts';
import { POLLERR, POLLHUP, POLLIN } from './readiness.ts';
import { Waitable, WouldBlock } from './wait.ts';

export class HostInput {
  /** Tasks waiting to read (or poll) the stream wait on it; fired when the host stream is readable. */
  readonly ready = new Waitable();
  private readonly libc: HostLibc | null = hostLibc();
  /** The non-blocking description of the same pipe, FIFO or tty (Linux), or null. */
  private direct: number | null;
  private readonly socket: boolean;

  constructor(readonly fd: number) {
    const st = fstatOrNull(fd);
    this.socket = st?.isSocket() ?? false;
    this.direct = this.libc && st && (st.isFIFO() || isatty(fd)) ? openNonBlocking(fd) : null;
  }

  /** read(2) for the guest: bytes now (0 at end of file), or WouldBlock until the host has some. */
  read(buf: Uint8Array): number {
    if (buf.length === 0) return 0;
    // No way to wait for the stream but in the read itself.
    if (!this.libc) return blockingHostCall(() => fs.readSync(this.fd, buf, 0, buf.length, null));
    try {
      if (this.direct !== null) return fs.readSync(this.direct, buf, 0, buf.length, null);
      if (this.socket) return this.libc.recvNow(this.fd, buf);
      if (!this.readable()) throw new WouldBlock([this.ready]);
      return fs.readSync(this.fd, buf, 0, buf.length, null);
    } catch (e) {
      if (e instanceof WouldBlock) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new WouldBlock([this.ready]);
      if (code === 'EOF') return 0;
      throw fromHostError(e);
    }
  }

  /**
   * poll(2) on the stream now, for reading: POLLIN, POLLHUP (a pipe at end
   * of file: POLLHUP without POLLIN, as pipe_poll says) and POLLERR as the
   * host reports them. Without the host's libc, always readable (the read blocks).
   */
  readiness(): number {
    if (!this.libc) return POLLIN;
    // The host's bits have Linux's values on Linux and macOS.
    return this.libc.poll([{ fd: this.fd, events: HOST_POLLIN }], 0)[0]! & (POLLIN | POLLHUP | POLLERR);
  }

  /** FIONREAD: the bytes a read would return now (0 without the host's libc). */
  available(): number {
    if (!this.libc) return 0;
    try {
      return this.libc.bytesReadable(this.fd);
    } catch (e) {
      throw fromHostError(e);
    }
  }

  /** A task waits for this stream. */
  get awaited(): boolean {
    return this.ready.waiting > 0;
  }

  close(): void {
    if (this.direct !== null) fs.closeSync(this.direct);
    this.direct = null;
  }

  private readable(): boolean {
    return this.readiness() !== 0;
  }
}

/** The host streams the guest reads, as the scheduler sees them: waited for or not, and when they move. */
export class HostInputs {
  private readonly inputs = new Map<number, HostInput>();
  private readonly libc = hostLibc();

  /** The reader of host fd `fd`, made once and shared (stdin and /dev/tty may be one stream). */
  for(fd: number): HostInput {
    let input = this.inputs.get(fd);
    if (!input) {
      input = new HostInput(fd);
      this.inputs.set(fd, input);
    }
    return input;
  }

  /** Some task waits for host input: the run is not deadlocked, and the scheduler must look at the streams. */
  get awaited(): boolean {
    for (const input of this.inputs.values()) if (input.awaited) return true;
    return false;
  }

  /**
   * Poll the streams tasks wait for, for up to `timeoutMs` (0: just look),
   * and wake the waiters of those that are readable (or at end of file, or
   * in error: the read says which). Returns whether any woke.
   */
  poll(timeoutMs: number): boolean {
    const awaited = [...this.inputs.values()].filter((input) => input.awaited);
    if (awaited.length === 0 || !this.libc) return false;
    const revents = this.libc.poll(
      awaited.map((input) => ({ fd: input.fd, events: HOST_POLLIN })),
      timeoutMs,
    );
    let woke = false;
    awaited.forEach((input, i) => {
      if (revents[i]) {
        input.ready.notify();
        woke = true;
      }
    });
    return woke;
  }

  close(): void {
    for (const input of this.inputs.values()) input.close();
  }
}

function fstatOrNull(fd: number): fs.Stats | null {
  try {
    return fs.fstatSync(fd);
  } catch {
    return null;
  }
}

/**
 * A second, non-blocking description of the pipe, FIFO or tty at `fd`
 * (Linux only: opening /proc/self/fd/N reopens the file, where other hosts'
 * /dev/fd/N duplicates the descriptor and would share its flags). null
 * when that open fails (it is refused for sockets, and may be for a pipe
 * of another user).
 */
function openNonBlocking(fd: number): number | null {
  if (process.platform !== 'linux') return null;
  const c = fs.constants;
  try {
    return fs.openSync(`/proc/self/fd/${fd}`, c.O_RDONLY | c.O_NONBLOCK | c.O_NOCTTY);
  } catch {
    return null;
  }
}
