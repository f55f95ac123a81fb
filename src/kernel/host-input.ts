// Reading a host stream (a tty, a pipe) without blocking the emulator.
//
// Node has no poll(2) for plain fds, and a blocking read in the main thread
// would freeze every guest task. So a small worker thread makes the read(2)
// the guest asked for, while the main thread runs other tasks or sleeps on
// the shared control word (Atomics.wait / Atomics.waitAsync) alongside its
// timers. Only what the guest asks for is read, as natively: nothing is
// read ahead and taken from whoever reads the stream after tslinux.
import { Worker } from 'node:worker_threads';
import { Waitable, WouldBlock } from './wait.ts';
import { fromHostError } from './errors.ts';

const IDLE = 0;
const REQUESTED = 1;
const DONE = 2;

/** Control words shared with the worker: [state, requested length, result, error code]. */
const STATE = 0;
const LENGTH = 1;
const RESULT = 2;
const ERROR = 3;

const CHUNK = 65536;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const ctrl = new Int32Array(workerData.ctrl);
const data = new Uint8Array(workerData.data);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(ctrl, 0, 0);
  if (Atomics.load(ctrl, 0) !== 1) continue;
  let n = 0, err = 0;
  for (;;) {
    try { n = fs.readSync(workerData.fd, data, 0, Atomics.load(ctrl, 1), null); break; }
    catch (e) {
      if (e.code === 'EAGAIN') { Atomics.wait(sleeper, 0, 0, 10); continue; }
      if (e.code === 'EOF') { n = 0; break; }
      err = -(require('node:os').constants.errno[e.code] || 5); break;
    }
  }
  Atomics.store(ctrl, 2, n);
  Atomics.store(ctrl, 3, err);
  Atomics.store(ctrl, 0, 2);
  Atomics.notify(ctrl, 0);
}
`;

const ERRNO_CODES: Record<number, string> = { 5: 'EIO', 9: 'EBADF', 11: 'EAGAIN', 21: 'EISDIR', 22: 'EINVAL' };

export class HostInput {
  /** Notified when a requested read completes (tasks waiting to read wait on it). */
  readonly ready = new Waitable();
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  private readonly data = new Uint8Array(new SharedArrayBuffer(CHUNK));
  private worker: Worker | null = null;
  /** Bytes read for a guest that asked for less than arrived (kept for its next read). */
  private leftover: Uint8Array | null = null;

  constructor(readonly fd: number) {}

  private start(): Worker {
    if (!this.worker) {
      this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd: this.fd, ctrl: this.ctrl.buffer, data: this.data.buffer } });
      // The worker must not keep Node alive once the guest is done.
      this.worker.unref();
    }
    return this.worker;
  }

  /** A request is in flight and has not completed. */
  get pending(): boolean {
    return Atomics.load(this.ctrl, STATE) === REQUESTED;
  }

  /** Read for the guest: bytes now, or WouldBlock while the worker waits on the host. */
  read(buf: Uint8Array): number {
    if (this.leftover) {
      const n = Math.min(buf.length, this.leftover.length);
      buf.set(this.leftover.subarray(0, n));
      this.leftover = n < this.leftover.length ? this.leftover.subarray(n) : null;
      return n;
    }
    const state = Atomics.load(this.ctrl, STATE);
    if (state === DONE) {
      Atomics.store(this.ctrl, STATE, IDLE);
      const err = Atomics.load(this.ctrl, ERROR);
      if (err < 0) throw fromHostError({ code: ERRNO_CODES[-err] ?? 'EIO' });
      const got = Atomics.load(this.ctrl, RESULT);
      const n = Math.min(buf.length, got);
      buf.set(this.data.subarray(0, n));
      if (n < got) this.leftover = this.data.slice(n, got);
      return n;
    }
    if (state === IDLE && buf.length > 0) {
      this.start();
      Atomics.store(this.ctrl, LENGTH, Math.min(buf.length, CHUNK));
      Atomics.store(this.ctrl, STATE, REQUESTED);
      Atomics.notify(this.ctrl, STATE);
    }
    if (buf.length === 0) return 0;
    throw new WouldBlock([this.ready], null, [this.fd]);
  }

  /**
   * poll(2) on the stream: true when bytes (or EOF) are ready to be read;
   * otherwise a read is started so that `ready` fires when they are.
   */
  probe(): boolean {
    if (this.leftover) return true;
    const state = Atomics.load(this.ctrl, STATE);
    if (state === DONE) return true;
    if (state === IDLE) {
      this.start();
      Atomics.store(this.ctrl, LENGTH, CHUNK);
      Atomics.store(this.ctrl, STATE, REQUESTED);
      Atomics.notify(this.ctrl, STATE);
    }
    return false;
  }

  /**
   * FIONREAD: the bytes that have arrived and wait to be read. Only what
   * the reader thread already holds counts (Node cannot ask the host fd),
   * so a read is started to bring in what the host has.
   */
  available(): number {
    if (this.leftover) return this.leftover.length;
    if (!this.probe()) return 0;
    return Atomics.load(this.ctrl, ERROR) < 0 ? 0 : Atomics.load(this.ctrl, RESULT);
  }

  /** If the read completed, wake its waiters. Returns whether it did. */
  poll(): boolean {
    if (Atomics.load(this.ctrl, STATE) !== DONE) return false;
    this.ready.notify();
    return true;
  }

  /** Sleep (blocking the thread) until the read completes or `ms` pass. */
  waitSync(ms: number): void {
    Atomics.wait(this.ctrl, STATE, REQUESTED, ms);
  }

  /**
   * The same, without blocking Node's event loop (so host signals get
   * through). A timer runs alongside: Atomics.waitAsync alone does not keep
   * Node alive, and Node would end the run as an unsettled await.
   */
  async waitAsync(ms: number): Promise<void> {
    const r = Atomics.waitAsync(this.ctrl, STATE, REQUESTED, ms);
    if (!r.async) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.value, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = null;
  }
}
