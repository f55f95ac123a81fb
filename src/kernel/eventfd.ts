// eventfd (see eventfd(2)): a 64-bit counter as a file. A write adds to it;
// a read takes it all (or 1, with EFD_SEMAPHORE) and waits while it is 0; a
// write that would take it past 0xfffffffffffffffe waits for a read.
import { fail } from './errors.ts';
import { POLL_READ, POLL_WRITE } from './readiness.ts';
import { Waitable, WouldBlock } from './wait.ts';
import type { Node, OpenFile } from './vfs/types.ts';

/** The largest value the counter holds (eventfd(2): "0xfffffffffffffffe"). */
export const EVENTFD_MAX = 0xffff_ffff_ffff_fffen;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Reads and writes move exactly one 8-byte integer, in the host's (here: little-endian) byte order. */
export const EVENTFD_SIZE = 8;

export class EventFd implements OpenFile {
  readonly seekable = false;
  /** Writes happened: readers (and EPOLLIN watchers) look again. */
  readonly readable = new Waitable();
  /** Reads happened: blocked writers (and EPOLLOUT watchers) look again. */
  readonly writable = new Waitable();

  constructor(
    readonly node: Node,
    public count: bigint,
    readonly semaphore: boolean,
  ) {}

  read(buf: Uint8Array): number {
    if (buf.length < EVENTFD_SIZE) fail('EINVAL');
    if (this.count === 0n) throw new WouldBlock([this.readable]);
    const value = this.semaphore ? 1n : this.count;
    this.count -= value;
    new DataView(buf.buffer, buf.byteOffset, EVENTFD_SIZE).setBigUint64(0, value, true);
    this.writable.notify();
    return EVENTFD_SIZE;
  }

  write(buf: Uint8Array): number {
    if (buf.length < EVENTFD_SIZE) fail('EINVAL');
    const value = new DataView(buf.buffer, buf.byteOffset, EVENTFD_SIZE).getBigUint64(0, true);
    if (value === U64_MAX) fail('EINVAL');
    if (value > EVENTFD_MAX - this.count) throw new WouldBlock([this.writable]);
    this.count += value;
    // Linux wakes readers even for a write of 0 (eventfd_write).
    this.readable.notify();
    return EVENTFD_SIZE;
  }

  /** eventfd_poll: readable while the counter is above 0, writable while a write of 1 would not block. */
  poll(events: number, waits: Waitable[]): number {
    if (events & POLL_READ) waits.push(this.readable);
    if (events & POLL_WRITE) waits.push(this.writable);
    let r = 0;
    if (this.count > 0n) r |= events & POLL_READ;
    if (this.count < EVENTFD_MAX) r |= events & POLL_WRITE;
    return r;
  }

  size(): number {
    return 0;
  }

  close(): void {}
}
