// Named pipes (see fifo(7)): a FIFO node in a filesystem is a meeting point
// for a pipe. While anyone has it open, the node holds one Pipe (pipe.ts) and
// every open gets an end of it; when the last end closes the pipe and any
// data left in it are gone, as Linux frees its pipe_inode_info.
//
// Opening follows fifo(7) and Linux's fifo_open (fs/pipe.c):
//   - O_RDONLY waits until a writer opens, unless O_NONBLOCK;
//   - O_WRONLY waits until a reader opens; with O_NONBLOCK and no reader it
//     is ENXIO;
//   - O_RDWR never waits (Linux allows it; POSIX leaves it undefined).
// A waiting open already counts as a reader or writer (so a writer arriving
// meanwhile neither blocks nor gets EPIPE), and it is released by the other
// side *opening*, even if that side has closed again by the time it runs.
//
// Waiting is the WouldBlock retry (wait.ts): the open keeps its end in
// task.syscallState and is made again when someone opens the FIFO.
import { fail } from './errors.ts';
import type { MemoryBudget } from './memory.ts';
import { Pipe, PipeEnd, PipeNode } from './pipe.ts';
import { POLLHUP, POLL_READ, POLL_WRITE } from './readiness.ts';
import type { Task } from './task.ts';
import { Waitable, WouldBlock } from './wait.ts';
import { HostNode, HostSpecialNode } from './vfs/hostfs.ts';
import { OverlayNode } from './vfs/overlayfs.ts';
import type { FileSystem, Node, OpenFile, Owner } from './vfs/types.ts';

export type FifoAccess = 'r' | 'w' | 'rw';

/** Both ends of a pipe in one open file: an O_RDWR open of a FIFO (or of a pipe through /proc/self/fd). */
export class PipeBothEnds implements OpenFile {
  readonly seekable = false;
  private readonly reader: PipeEnd;
  private readonly writer: PipeEnd;
  constructor(readonly node: PipeNode) {
    this.reader = new PipeEnd(node, 'read');
    this.writer = new PipeEnd(node, 'write');
  }
  read(buf: Uint8Array): number {
    return this.reader.read(buf);
  }
  write(buf: Uint8Array): number {
    return this.writer.write(buf);
  }
  size(): number {
    return 0;
  }
  poll(events: number, waits: Waitable[]): number {
    return this.reader.poll(events & ~POLL_WRITE, waits) | this.writer.poll(events & ~POLL_READ, waits);
  }
  close(): void {
    this.reader.close();
    this.writer.close();
  }
}

/** A new end of `node`'s pipe for an open with `access`. */
export function pipeEndFor(node: PipeNode, access: FifoAccess): OpenFile {
  if (access === 'r') return new PipeEnd(node, 'read');
  if (access === 'w') return new PipeEnd(node, 'write');
  return new PipeBothEnds(node);
}

/**
 * The read end of a FIFO. Unlike a pipe's, it does not report POLLHUP until
 * a writer has opened since it did (pipe_poll compares f_version with
 * w_counter): a reader opened with O_NONBLOCK can poll for its first writer.
 */
class FifoReadEnd extends PipeEnd {
  private readonly writerOpensAtOpen: number;
  constructor(private readonly fifo: Fifo) {
    super(fifo.node, 'read');
    this.writerOpensAtOpen = fifo.writerOpens;
  }
  override poll(events: number, waits: Waitable[]): number {
    const ready = super.poll(events, waits);
    if (this.fifo.writerOpens !== this.writerOpensAtOpen) return ready;
    waits.push(this.fifo.opened);
    return ready & ~POLLHUP;
  }
}

/** An open waiting for the other side; its end already counts. */
class PendingOpen {
  abandoned = false;
  constructor(
    readonly fifo: Fifo,
    readonly end: PipeEnd,
    readonly task: Task,
    /** The other side's open count when this open began. */
    readonly partnerOpensSeen: number,
  ) {}

  /** Still a live wait: its task has not died or given up the call (EINTR, a handler running). */
  get live(): boolean {
    return !this.abandoned && this.task.state !== 'dead' && this.task.syscallState === this;
  }

  /** A signal handler interrupted the wait with EINTR (signals.ts calls this): the end goes at once. */
  onEintr(): void {
    this.abandon();
  }

  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.end.close();
  }
}

/** The pipe of one FIFO inode while it is open. */
export class Fifo {
  readonly node: PipeNode;
  /** How often each side has been opened (Linux's r_counter and w_counter). */
  private readerOpens = 0;
  writerOpens = 0;
  /** Fires at every open: waiting opens (and pollers of a FifoReadEnd) look whether their partner came. */
  readonly opened = new Waitable();
  private readonly pending = new Set<PendingOpen>();

  constructor(fs: FileSystem, owner: Owner, budget: MemoryBudget | null) {
    this.node = new PipeNode(fs, new Pipe(budget), owner.uid, owner.gid);
  }

  get pipe(): Pipe {
    return this.node.pipe;
  }

  /** Nobody has it open or is waiting to: its pipe can go. */
  get idle(): boolean {
    this.dropDeadWaits();
    return this.pipe.readers === 0 && this.pipe.writers === 0;
  }

  /**
   * open(2) of the FIFO by `task`: an end of the pipe, or WouldBlock while
   * the other side has not opened (the task makes the call again then).
   */
  open(access: FifoAccess, nonblock: boolean, task: Task): OpenFile {
    const waiting = task.syscallState;
    if (waiting instanceof PendingOpen && waiting.fifo === this && !waiting.abandoned) return this.stillWaiting(waiting);
    if (waiting instanceof PendingOpen) waiting.abandon(); // a wait on another FIFO (a renamed path): start over
    this.dropDeadWaits();
    if (access === 'rw') {
      const both = new PipeBothEnds(this.node);
      this.readerOpens++;
      this.writerOpens++;
      this.opened.notify();
      return both;
    }
    const reading = access === 'r';
    if (!reading && nonblock && this.pipe.readers === 0) fail('ENXIO');
    const end = reading ? new FifoReadEnd(this) : new PipeEnd(this.node, 'write');
    if (reading) this.readerOpens++;
    else this.writerOpens++;
    this.opened.notify();
    const partners = reading ? this.pipe.writers : this.pipe.readers;
    if (partners > 0 || nonblock) return end;
    const wait = new PendingOpen(this, end, task, reading ? this.writerOpens : this.readerOpens);
    this.pending.add(wait);
    task.syscallState = wait;
    throw new WouldBlock([this.opened]);
  }

  private stillWaiting(wait: PendingOpen): OpenFile {
    const partnerOpens = wait.end.end === 'read' ? this.writerOpens : this.readerOpens;
    if (partnerOpens === wait.partnerOpensSeen) throw new WouldBlock([this.opened]);
    this.pending.delete(wait);
    return wait.end;
  }

  /**
   * Waits whose task died or left the call (a signal handler runs, or it made
   * another call) no longer count as readers or writers. Nothing tells the
   * FIFO when a task dies, so they are found here, at the next open.
   */
  private dropDeadWaits(): void {
    for (const w of this.pending) {
      if (w.live) continue;
      w.abandon();
      this.pending.delete(w);
    }
  }
}

/**
 * A FIFO the host made, seen through a host mount: it opens as a host
 * stream (hostfs.ts), not as a pipe of ours, so host processes can use it too.
 */
export function isHostFifo(node: Node): boolean {
  if (node instanceof OverlayNode) return node.upper === null && node.lower !== null && isHostFifo(node.lower);
  return node instanceof HostNode && !(node instanceof HostSpecialNode);
}

/** The FIFOs of each filesystem that are open now, by inode number. */
const openFifos = new WeakMap<FileSystem, Map<number, Fifo>>();

/**
 * The pipe of FIFO inode `ino` of `fs`: the one its openers share, or a new
 * one when nobody has it open (`owner` as fstat of a pipe end would show it;
 * `budget` the run's memory its buffer is charged to).
 */
export function fifoOf(fs: FileSystem, ino: number, owner: Owner, budget: MemoryBudget | null = null): Fifo {
  let byIno = openFifos.get(fs);
  if (!byIno) openFifos.set(fs, (byIno = new Map()));
  for (const [i, f] of byIno) if (f.idle) byIno.delete(i);
  let fifo = byIno.get(ino);
  if (!fifo) byIno.set(ino, (fifo = new Fifo(fs, owner, budget)));
  return fifo;
}

