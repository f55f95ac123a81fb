// Pipes (see pipe(7)): a bounded byte queue with a read end and a write end.
// Reading an empty pipe whose writers are gone is end-of-file; writing to a
// pipe with no readers is EPIPE. A read of an empty pipe or a write to a full
// one throws WouldBlock: the fd layer turns that into EAGAIN for O_NONBLOCK,
// and otherwise the task sleeps until the other end moves.
import { fail } from './errors.ts';
import type { MemoryBudget } from './memory.ts';
import { Waitable, WouldBlock } from './wait.ts';
import { POLLERR, POLLHUP, POLL_READ, POLL_WRITE } from './readiness.ts';
import { pseudoStat } from './anon-inode.ts';
import type { FileSystem, Node, OpenFile, StatInfo } from './vfs/types.ts';
import { S_IFIFO } from './vfs/types.ts';

/** Linux's default pipe capacity: 16 pages. */
export const PIPE_CAPACITY = 65536;
/** Writes up to PIPE_BUF bytes are atomic (see pipe(7)). */
export const PIPE_BUF = 4096;

let nextPipeIno = 1;

export class PipeNode implements Node {
  readonly fileType = S_IFIFO;
  readonly ino = nextPipeIno++;
  constructor(
    readonly fs: FileSystem,
    readonly pipe: Pipe,
    private readonly uid = 0,
    private readonly gid = 0,
  ) {}
  info(): StatInfo {
    return pseudoStat(0xc, this.ino, S_IFIFO | 0o600, this.uid, this.gid);
  }
}

export class Pipe {
  private buf = new Uint8Array(PIPE_CAPACITY);
  /**
   * `budget`: the run's memory, which the buffer is charged to while the pipe
   * has an end open (PipeEnd): ENFILE for the first end past it, pipe(2)'s
   * answer when pipe memory is used up (fs/pipe.c, create_pipe_files).
   */
  constructor(readonly budget: MemoryBudget | null = null) {}
  /** The capacity (F_GETPIPE_SZ); F_SETPIPE_SZ changes it. */
  get capacity(): number {
    return this.buf.length;
  }

  /**
   * F_SETPIPE_SZ: the size rounds up to a power-of-two number of pages
   * (at least one); EBUSY when the data already in the pipe would not fit
   * (see fcntl(2), "Changing the capacity of a pipe").
   */
  resize(requested: number): number {
    const MAX = 1 << 20; // /proc/sys/fs/pipe-max-size
    if (requested > MAX) fail('EPERM');
    let size = 4096;
    while (size < requested) size *= 2;
    if (this.length > size) fail('EBUSY');
    // A bigger ring is ENOMEM past the run's memory (pipe_resize_ring).
    if (size > this.buf.length) this.budget?.charge(size - this.buf.length, 'ENOMEM');
    else this.budget?.release(this.buf.length - size);
    const next = new Uint8Array(size);
    const old = this.buf;
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) % old.length]!;
    this.buf = next;
    this.head = 0;
    this.writable.notify();
    return size;
  }
  private head = 0;
  private length = 0;
  readers = 0;
  writers = 0;
  /** Data arrived, or the last writer left (readers wait on it). */
  readonly readable = new Waitable();
  /** Room appeared, or the last reader left (writers wait on it). */
  readonly writable = new Waitable();

  get available(): number {
    return this.length;
  }

  read(out: Uint8Array): number {
    if (out.length === 0) return 0;
    if (this.length === 0) {
      if (this.writers === 0) return 0;
      throw new WouldBlock([this.readable]);
    }
    const n = Math.min(out.length, this.length);
    const cap = this.buf.length;
    const first = Math.min(n, cap - this.head);
    out.set(this.buf.subarray(this.head, this.head + first));
    if (first < n) out.set(this.buf.subarray(0, n - first), first);
    this.head = (this.head + n) % cap;
    const roomBefore = cap - this.length;
    this.length -= n;
    // Writers wake when a PIPE_BUF's worth of room appears, as Linux wakes
    // them when a page frees up (pipe_read): a byte-at-a-time reader does
    // not wake a big writer for every byte.
    if (roomBefore < PIPE_BUF && cap - this.length >= PIPE_BUF) this.writable.notify();
    return n;
  }

  write(data: Uint8Array): number {
    if (data.length === 0) return 0; // before the reader check, as pipe_write does
    if (this.readers === 0) fail('EPIPE');
    const cap = this.buf.length;
    const room = cap - this.length;
    // A write of at most PIPE_BUF bytes goes in whole or not at all.
    if (room === 0 || (data.length <= PIPE_BUF && room < data.length)) throw new WouldBlock([this.writable]);
    const n = Math.min(room, data.length);
    const tail = (this.head + this.length) % cap;
    const first = Math.min(n, cap - tail);
    this.buf.set(data.subarray(0, first), tail);
    if (first < n) this.buf.set(data.subarray(first, n), 0);
    this.length += n;
    this.readable.notify();
    return n;
  }
}

/** One end of a pipe, as an open file. */
export class PipeEnd implements OpenFile {
  readonly seekable = false;
  private closed = false;
  constructor(
    readonly node: PipeNode,
    readonly end: 'read' | 'write',
  ) {
    if (node.pipe.readers + node.pipe.writers === 0) node.pipe.budget?.charge(node.pipe.capacity, 'ENFILE');
    if (end === 'read') node.pipe.readers++;
    else node.pipe.writers++;
  }
  read(buf: Uint8Array): number {
    return this.node.pipe.read(buf);
  }
  write(buf: Uint8Array): number {
    return this.node.pipe.write(buf);
  }
  size(): number {
    return 0;
  }
  /** pipe_poll: the read end is readable with data and hangs up with no writers; the write end errs with no readers. */
  poll(events: number, waits: Waitable[]): number {
    const pipe = this.node.pipe;
    if (this.end === 'read') {
      waits.push(pipe.readable);
      const r = pipe.available > 0 ? events & POLL_READ : 0;
      return pipe.writers === 0 ? r | POLLHUP : r;
    }
    waits.push(pipe.writable);
    if (pipe.readers === 0) return POLLERR;
    return pipe.capacity - pipe.available >= PIPE_BUF ? events & POLL_WRITE : 0;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pipe = this.node.pipe;
    if (this.end === 'read') {
      pipe.readers--;
      if (pipe.readers === 0) pipe.writable.notify(); // blocked writers now get EPIPE
    } else {
      pipe.writers--;
      if (pipe.writers === 0) pipe.readable.notify(); // blocked readers now see EOF
    }
    if (pipe.readers + pipe.writers === 0) pipe.budget?.release(pipe.capacity);
  }
}
