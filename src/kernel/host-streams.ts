// Host streams (a pipe, a FIFO, a tty, a socket) as the guest's stdin,
// stdout and stderr, read and written exactly as natively: a read returns
// the bytes the stream holds now, up to the size asked, or waits until it
// holds some; a write puts in what fits, and a blocking write waits for
// room (the fd layer goes on with the rest; see file.ts). Waiting never
// blocks the emulator: other guest tasks run, and host signals get through.
// Nothing is read ahead, so what the guest leaves stays in the host stream
// for whoever reads it next (`{ tslinux run ./bash -c 'read l'; cat; } < pipe`).
//
// A transfer is made in a way that returns at once:
//   - a pipe, FIFO or tty on Linux: through a second open file description
//     of it, opened O_NONBLOCK (an open of /proc/self/fd/N makes a new
//     description, so the flag touches no one else's). One per direction,
//     opened when the guest first moves data that way: an extra reader on a
//     stdout pipe would hide EPIPE, an extra writer on a stdin pipe its end;
//   - a socket: recv(2) or send(2) with MSG_DONTWAIT;
//   - otherwise a read is made once poll(2) says the stream is readable, and
//     a write blocks the emulator (macOS pipes and ttys).
// When a transfer cannot go on, the task waits on `readable` or `writable`;
// the scheduler polls the streams that have waiters (HostStreams) when it
// looks for work and while idle, so a run with a task waiting on the host
// is never called deadlocked, and data, room, end of file or a reader gone
// wakes it.
//
// Without the host's libc (hostLibc() null: not Linux or macOS) every
// transfer blocks the emulator, as Node's readSync and writeSync do.
import * as fs from 'node:fs';
import { hostIsatty as isatty, hostLibc, POLLIN as HOST_POLLIN, POLLOUT as HOST_POLLOUT, type HostLibc } from '../host/libc.ts';
import { fromHostError } from './errors.ts';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT } from './readiness.ts';
import { blockingHostCall, fstatOrNull } from './stdio.ts';
import { Waitable, WouldBlock } from './wait.ts';
import type { HostPollable } from './host-socket.ts';

/**
 * The host's POLLIN and POLLOUT as Linux's; POLLERR, POLLHUP and POLLNVAL
 * have Linux's values on Linux and macOS. A host fd gone bad (POLLNVAL) is
 * an error to the guest: its transfer then says which.
 */
function fromHostRevents(revents: number): number {
  const error = revents & (POLLERR | POLLNVAL) ? POLLERR : 0;
  return (revents & HOST_POLLIN ? POLLIN : 0) | (revents & HOST_POLLOUT ? POLLOUT : 0) | (revents & POLLHUP) | error;
}

function toHostEvents(events: number): number {
  return (events & POLLIN ? HOST_POLLIN : 0) | (events & POLLOUT ? HOST_POLLOUT : 0);
}

export class HostStream implements HostPollable {
  /** Tasks waiting to read the stream (or poll it for reading) wait on it. */
  readonly readable = new Waitable();
  /** Tasks waiting to write (or poll for writing) wait on it. */
  readonly writable = new Waitable();
  private readonly libc: HostLibc | null = hostLibc();
  private readonly socket: boolean;
  /** A pipe, FIFO or tty on Linux: it can be reopened non-blocking. */
  private readonly reopenable: boolean;
  /** The non-blocking descriptions for reading and writing, once opened (null: that failed). */
  private readEnd: number | null | undefined;
  private writeEnd: number | null | undefined;

  constructor(readonly fd: number) {
    const st = fstatOrNull(fd);
    this.socket = st?.isSocket() ?? false;
    this.reopenable = process.platform === 'linux' && this.libc !== null && st !== null && (st.isFIFO() || isatty(fd));
  }

  /** read(2) for the guest: bytes now (0 at end of file), or WouldBlock until the host has some. */
  read(buf: Uint8Array): number {
    if (buf.length === 0) return 0;
    // No way to wait for the stream but in the read itself.
    if (!this.libc) return blockingHostCall(() => fs.readSync(this.fd, buf, 0, buf.length, null));
    return this.nonBlocking(this.readable, () => {
      const end = this.reopenable ? (this.readEnd ??= reopen(this.fd, 'r')) : null;
      if (end !== null) return fs.readSync(end, buf, 0, buf.length, null);
      if (this.socket) return this.libc!.recvNow(this.fd, buf);
      if (!(this.readiness(POLLIN) & (POLLIN | POLLHUP | POLLERR))) throw new WouldBlock([this.readable]);
      return fs.readSync(this.fd, buf, 0, buf.length, null);
    });
  }

  /** write(2) for the guest: the bytes that went (a short count when the stream filled), or WouldBlock until there is room. */
  write(buf: Uint8Array): number {
    if (buf.length === 0) return 0;
    if (!this.libc) return blockingHostCall(() => fs.writeSync(this.fd, buf, 0, buf.length));
    return this.nonBlocking(this.writable, () => {
      const end = this.reopenable ? (this.writeEnd ??= reopen(this.fd, 'w')) : null;
      if (end !== null) return fs.writeSync(end, buf, 0, buf.length);
      if (this.socket) return this.libc!.sendNow(this.fd, buf);
      return blockingHostCall(() => fs.writeSync(this.fd, buf, 0, buf.length));
    });
  }

  /**
   * poll(2) on the stream now: POLLIN, POLLOUT, POLLHUP (a pipe at end of
   * file reports POLLHUP without POLLIN, as pipe_poll) and POLLERR (a pipe
   * whose reader left), as the host reports them for `events`. Without the
   * host's libc: always ready (the transfer itself blocks).
   */
  readiness(events: number): number {
    if (!this.libc) return events & (POLLIN | POLLOUT);
    return fromHostRevents(this.libc.poll([{ fd: this.fd, events: toHostEvents(events) }], 0)[0]!);
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

  /** The poll(2) events the tasks waiting on this stream wait for (0: none waits). */
  get awaited(): number {
    return (this.readable.waiting > 0 ? POLLIN : 0) | (this.writable.waiting > 0 ? POLLOUT : 0);
  }

  /** Wake the tasks waiting for what the host reported ready (an error or hang-up wakes both sides: the transfer says which). */
  wake(revents: number): boolean {
    const ready = fromHostRevents(revents);
    const fails = ready & (POLLERR | POLLHUP);
    let woke = false;
    if (this.readable.waiting > 0 && ready & (POLLIN | fails)) {
      this.readable.notify();
      woke = true;
    }
    if (this.writable.waiting > 0 && ready & (POLLOUT | fails)) {
      this.writable.notify();
      woke = true;
    }
    return woke;
  }

  close(): void {
    for (const end of [this.readEnd, this.writeEnd]) if (typeof end === 'number') fs.closeSync(end);
    this.readEnd = this.writeEnd = undefined;
  }

  /** A host transfer that returns at once: EAGAIN becomes a wait on `waitable`, other host errors Linux errors. */
  private nonBlocking(waitable: Waitable, transfer: () => number): number {
    try {
      return transfer();
    } catch (e) {
      if (e instanceof WouldBlock) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new WouldBlock([waitable]);
      if (code === 'EOF') return 0;
      throw fromHostError(e);
    }
  }
}

/** The host streams of the run, as the scheduler sees them: who waits for what, and when it comes. */
export class HostStreams {
  private readonly streams = new Map<number, HostStream>();
  /** Other host fds tasks may wait on: --net host's sockets (host-socket.ts). */
  private readonly watched = new Set<HostPollable>();
  private readonly libc = hostLibc();

  /** Poll `p` too while tasks wait on it; returns the function that stops it. */
  watch(p: HostPollable): () => void {
    this.watched.add(p);
    return () => this.watched.delete(p);
  }

  private pollables(): HostPollable[] {
    return [...this.streams.values(), ...this.watched];
  }

  /** The stream of host fd `fd`, made once and shared (stdout and /dev/tty may be one tty). */
  for(fd: number): HostStream {
    let stream = this.streams.get(fd);
    if (!stream) {
      stream = new HostStream(fd);
      this.streams.set(fd, stream);
    }
    return stream;
  }

  /** Some task waits on a host stream: the run is not deadlocked, and the scheduler must poll. */
  get awaited(): boolean {
    return this.pollables().some((p) => p.awaited !== 0);
  }

  /**
   * Poll the streams tasks wait on, for up to `timeoutMs` (0: just look),
   * and wake the waiters of those that moved. Returns whether any woke.
   */
  poll(timeoutMs: number): boolean {
    if (!this.libc) return false;
    const awaited = this.pollables().filter((s) => s.awaited);
    if (awaited.length === 0) return false;
    const revents = this.libc.poll(
      awaited.map((s) => ({ fd: s.fd, events: toHostEvents(s.awaited) })),
      timeoutMs,
    );
    let woke = false;
    awaited.forEach((s, i) => {
      if (s.wake(revents[i]!)) woke = true;
    });
    return woke;
  }

  close(): void {
    for (const stream of this.streams.values()) stream.close();
  }
}

/**
 * A second, non-blocking description of the pipe, FIFO or tty at `fd`, for
 * reading or writing (Linux: opening /proc/self/fd/N reopens the file,
 * where other hosts' /dev/fd/N duplicates the descriptor and shares its
 * flags). null when the open fails (a FIFO with no reader is ENXIO for
 * writing; a pipe of another user may be EACCES): the stream then goes the
 * slower way.
 */
function reopen(fd: number, direction: 'r' | 'w'): number | null {
  const c = fs.constants;
  try {
    return fs.openSync(`/proc/self/fd/${fd}`, (direction === 'r' ? c.O_RDONLY : c.O_WRONLY) | c.O_NONBLOCK | c.O_NOCTTY);
  } catch {
    return null;
  }
}
