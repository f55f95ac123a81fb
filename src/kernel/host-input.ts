// Reading a host stream (a tty, a pipe, a FIFO, a socket) as the guest's
// stdin without blocking the emulator, and without taking from the host
// more than the guest asked for: a program after tslinux that reads the same
// stream (`{ tslinux run ./bash -c 'read l'; cat; } < pipe`) gets the rest,
// as natively.
//
// Two ways in:
//   - a second, non-blocking open file description of the same pipe, FIFO
//     or tty (Linux: an open of /proc/self/fd/N makes a new description, so
//     its O_NONBLOCK touches no one else's). Reads made on it from the main
//     thread return at once with what the stream holds, or EAGAIN. This is
//     the fast path: a shell reading a byte at a time costs one host read
//     per byte.
//   - a worker thread that makes the blocking read(2) the guest is waiting
//     for, while the main thread runs other tasks or sleeps. Used when the
//     stream is empty, and for everything on sockets and non-Linux hosts.
//     Its request is made only once a task really waits (HostReadable), so a
//     read that ends short or an O_NONBLOCK read leaves nothing in flight.
//
// Every completed worker read bumps one shared word (HostEvents), which the
// scheduler sleeps on: no completion can slip between its last look and its
// sleep, so it never calls a run deadlocked while a read is on its way.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { isatty } from 'node:tty';
import { Worker } from 'node:worker_threads';
import { Waitable, WouldBlock } from './wait.ts';
import { LinuxError, fromHostError } from './errors.ts';

const IDLE = 0;
const REQUESTED = 1;
const DONE = 2;

/** Control words shared with the worker: [state, requested length, result, host errno]. */
const STATE = 0;
const LENGTH = 1;
const RESULT = 2;
const ERROR = 3;

/** The most one worker read takes (as a pipe's capacity). */
const CHUNK = 65536;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const os = require('node:os');
const ctrl = new Int32Array(workerData.ctrl);
const events = new Int32Array(workerData.events);
const data = new Uint8Array(workerData.data);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(ctrl, 0, 0);
  if (Atomics.load(ctrl, 0) !== 1) continue;
  let n = 0, err = 0, pause = 1;
  for (;;) {
    try { n = fs.readSync(workerData.fd, data, 0, Atomics.load(ctrl, 1), null); break; }
    catch (e) {
      // Someone else set O_NONBLOCK on the shared description (Node does, on pipes it
      // opens as process.stdin): poll for it, backing off to 16 ms.
      if (e.code === 'EAGAIN') { Atomics.wait(sleeper, 0, 0, pause); pause = Math.min(pause * 2, 16); continue; }
      if (e.code === 'EOF') { n = 0; break; }
      err = os.constants.errno[e.code] || os.constants.errno.EIO; break;
    }
  }
  Atomics.store(ctrl, 2, n);
  Atomics.store(ctrl, 3, err);
  Atomics.store(ctrl, 0, 2);
  Atomics.add(events, 0, 1);
  Atomics.notify(events, 0);
}
`;

/** How long the scheduler's async idle blocks the event loop first, waiting for a host read (ms). */
const SPIN_MS = 2;

/** Host errno numbers back to names (they differ between host OSes). */
const HOST_ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/**
 * One word that every host reader bumps when a read completes. The
 * scheduler takes its value, looks at every reader, and sleeps only while
 * the word still has that value.
 */
export class HostEvents {
  readonly word = new Int32Array(new SharedArrayBuffer(4));

  get count(): number {
    return Atomics.load(this.word, 0);
  }

  /** Sleep (blocking the thread) until a read completes after `seen` was taken, or `ms` pass. */
  waitSync(seen: number, ms: number): void {
    if (ms > 0) Atomics.wait(this.word, 0, seen, ms);
  }

  /**
   * The same without blocking Node's event loop (host signals get through);
   * `woken` ends it early. A timer runs alongside: Atomics.waitAsync alone
   * does not keep Node alive, and Node would end the run as an unsettled await.
   */
  async waitAsync(seen: number, ms: number, woken: Promise<void>): Promise<void> {
    if (ms <= 0) return;
    // A host read usually completes within a thread switch: wait for that
    // briefly in place, which wakes sooner than through the event loop.
    if (Atomics.wait(this.word, 0, seen, Math.min(ms, SPIN_MS)) !== 'timed-out') return;
    const r = Atomics.waitAsync(this.word, 0, seen, ms);
    if (!r.async) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.value, woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

/** What the host gave and the guest has not taken yet: bytes, end of file (empty), or an error. */
type Held = { bytes: Uint8Array } | { error: LinuxError };

/** The readers' Waitable: the first task to wait on it sends the worker for the bytes. */
class HostReadable extends Waitable {
  constructor(private readonly onWaiter: () => void) {
    super();
  }
  override subscribe(wake: () => void): () => void {
    const cancel = super.subscribe(wake);
    this.onWaiter();
    return cancel;
  }
}

export class HostInput {
  /** Fires when a worker read completes (tasks waiting to read or poll wait on it). */
  readonly ready: Waitable = new HostReadable(() => this.requestFor(this.wanted));
  /** The stream ends with POLLHUP rather than POLLIN at end of file (a pipe or FIFO; see pipe_poll). */
  readonly hangsUp: boolean;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  private readonly data = new Uint8Array(new SharedArrayBuffer(CHUNK));
  private worker: Worker | null = null;
  private held: Held | null = null;
  /** The non-blocking description of the same stream, or null (a socket, a non-Linux host). */
  private direct: number | null;
  /** How much the next worker read asks for: the last blocked read's size (1 for a poll). */
  private wanted = 1;

  constructor(
    readonly fd: number,
    private readonly events: HostEvents,
  ) {
    this.direct = openNonBlocking(fd);
    this.hangsUp = isFifo(fd);
  }

  private start(): Worker {
    if (!this.worker) {
      this.worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { fd: this.fd, ctrl: this.ctrl.buffer, data: this.data.buffer, events: this.events.word.buffer },
      });
      // The worker must not keep Node alive once the guest is done.
      this.worker.unref();
    }
    return this.worker;
  }

  /** A worker read is in flight (the host may still deliver bytes or EOF). */
  get inFlight(): boolean {
    return Atomics.load(this.ctrl, STATE) === REQUESTED;
  }

  /** A worker read is in flight or has completed unseen: the scheduler should look soon. */
  get busy(): boolean {
    return Atomics.load(this.ctrl, STATE) !== IDLE;
  }

  /** read(2) for the guest: bytes (0 at end of file) now, or WouldBlock until the host has some. */
  read(buf: Uint8Array): number {
    if (buf.length === 0) return 0;
    this.collect();
    if (this.held) return this.takeHeld(buf);
    if (!this.inFlight) {
      const n = this.readDirect(buf);
      if (n !== null) return n;
    }
    this.wanted = Math.min(buf.length, CHUNK);
    throw new WouldBlock([this.ready]);
  }

  /**
   * poll(2) on the stream: 'data' or 'eof' when a read would not block;
   * otherwise null, and a one-byte worker read (a whole chunk without the
   * fast path) is started so that `ready` fires when the host has something.
   */
  probe(): 'data' | 'eof' | null {
    this.collect();
    if (!this.held && !this.inFlight && this.direct !== null) {
      const one = new Uint8Array(1);
      const n = this.readDirect(one, true);
      if (n !== null) this.held = { bytes: one.subarray(0, n) };
    }
    if (this.held) return 'bytes' in this.held && this.held.bytes.length === 0 ? 'eof' : 'data';
    this.requestFor(this.direct !== null ? 1 : CHUNK);
    return null;
  }

  /**
   * FIONREAD: the bytes a read would return now. Node cannot ask the host fd,
   * so what the host has is taken into `held` (the guest reads it next).
   */
  available(): number {
    if (this.probe() !== 'data' || !this.held || !('bytes' in this.held)) return 0;
    const held = this.held;
    if (held.bytes.length < CHUNK && this.direct !== null) {
      const more = new Uint8Array(CHUNK - held.bytes.length);
      const n = this.readDirect(more, true);
      if (n) held.bytes = Buffer.concat([held.bytes, more.subarray(0, n)]);
      else if (n === 0) return held.bytes.length; // EOF after these bytes: the next read sees it from the host again
    }
    return held.bytes.length;
  }

  /** Called by the scheduler: take a completed worker read and wake its waiters. Returns whether one completed. */
  poll(): boolean {
    if (!this.collect()) return false;
    this.ready.notify();
    return true;
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = null;
    if (this.direct !== null) fs.closeSync(this.direct);
    this.direct = null;
  }

  /** Move a completed worker read into `held`. */
  private collect(): boolean {
    if (Atomics.load(this.ctrl, STATE) !== DONE) return false;
    const err = Atomics.load(this.ctrl, ERROR);
    const got = Atomics.load(this.ctrl, RESULT);
    // Bytes the worker read come before anything still held (held is empty while a read is in flight).
    this.held = err ? { error: hostError(err) } : { bytes: this.data.slice(0, got) };
    Atomics.store(this.ctrl, STATE, IDLE);
    return true;
  }

  /** Give the guest what is held, topped up from the fast path as a native read would be. */
  private takeHeld(buf: Uint8Array): number {
    const held = this.held!;
    if ('error' in held) {
      this.held = null;
      throw held.error;
    }
    const n = Math.min(buf.length, held.bytes.length);
    buf.set(held.bytes.subarray(0, n));
    this.held = n < held.bytes.length ? { bytes: held.bytes.subarray(n) } : null;
    if (held.bytes.length === 0) return 0; // end of file, given once (a tty's ^D)
    if (n < buf.length && !this.held) {
      const more = this.readDirect(buf.subarray(n), true);
      // End of file right after the bytes: the next read must see it (a tty gives it once).
      if (more === 0) this.held = { bytes: new Uint8Array(0) };
      else if (more) return n + more;
    }
    return n;
  }

  /**
   * A non-blocking read on the fast path: bytes, 0 at end of file, or null
   * when the stream is empty (or there is no fast path). `quiet`: an error
   * is kept for the next read instead of thrown (bytes are already on their way).
   */
  private readDirect(buf: Uint8Array, quiet = false): number | null {
    if (this.direct === null) return null;
    try {
      return fs.readSync(this.direct, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return null;
      if (code === 'EOF') return 0;
      const error = fromHostError(e);
      if (!quiet) throw error;
      this.held = { error };
      return null;
    }
  }

  /** Send the worker for up to `length` bytes, unless it is already out or bytes are held. */
  private requestFor(length: number): void {
    if (this.held || Atomics.load(this.ctrl, STATE) !== IDLE) return;
    this.start();
    Atomics.store(this.ctrl, LENGTH, Math.max(1, Math.min(length, CHUNK)));
    Atomics.store(this.ctrl, STATE, REQUESTED);
    Atomics.notify(this.ctrl, STATE);
    this.wanted = 1;
  }
}

function hostError(errno: number): LinuxError {
  return fromHostError({ code: HOST_ERRNO_NAMES.get(errno) ?? 'EIO' });
}

function isFifo(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isFIFO();
  } catch {
    return false;
  }
}

/**
 * A second, non-blocking description of the pipe, FIFO or tty at `fd`
 * (Linux only: opening /proc/self/fd/N reopens the file, where other hosts'
 * /dev/fd/N duplicates the descriptor and would share its flags). null for
 * sockets (that open is ENXIO) and anything else.
 */
function openNonBlocking(fd: number): number | null {
  if (process.platform !== 'linux' || !(isFifo(fd) || isatty(fd))) return null;
  const c = fs.constants;
  try {
    return fs.openSync(`/proc/self/fd/${fd}`, c.O_RDONLY | c.O_NONBLOCK | c.O_NOCTTY);
  } catch {
    return null;
  }
}
