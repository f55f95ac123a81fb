// Pipes (see pipe(7)): a bounded byte queue with a read end and a write end.
// Reading an empty pipe whose writers are gone is end-of-file; writing to a
// pipe with no readers is EPIPE. Blocking waits arrive with the scheduler;
// until then a read or write that would block returns EAGAIN.
import { fail } from './errors.ts';
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
    const { uid, gid } = this;
    const now = BigInt(Date.now()) * 1_000_000n;
    return {
      dev: 0xc,
      ino: this.ino,
      mode: S_IFIFO | 0o600,
      nlink: 1,
      uid,
      gid,
      rdev: 0,
      size: 0,
      blksize: 4096,
      blocks: 0,
      atimeNs: now,
      mtimeNs: now,
      ctimeNs: now,
      birthtimeNs: now,
    };
  }
}

export class Pipe {
  private buf = new Uint8Array(PIPE_CAPACITY);
  private head = 0;
  private length = 0;
  readers = 0;
  writers = 0;

  get available(): number {
    return this.length;
  }

  read(out: Uint8Array): number {
    if (this.length === 0) {
      if (this.writers === 0) return 0;
      fail('EAGAIN');
    }
    const n = Math.min(out.length, this.length);
    for (let i = 0; i < n; i++) out[i] = this.buf[(this.head + i) % PIPE_CAPACITY]!;
    this.head = (this.head + n) % PIPE_CAPACITY;
    this.length -= n;
    return n;
  }

  write(data: Uint8Array): number {
    if (this.readers === 0) fail('EPIPE');
    const room = PIPE_CAPACITY - this.length;
    // A write of at most PIPE_BUF bytes goes in whole or not at all.
    if (room === 0 || (data.length <= PIPE_BUF && room < data.length)) fail('EAGAIN');
    const n = Math.min(room, data.length);
    const tail = (this.head + this.length) % PIPE_CAPACITY;
    for (let i = 0; i < n; i++) this.buf[(tail + i) % PIPE_CAPACITY] = data[i]!;
    this.length += n;
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
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.end === 'read') this.node.pipe.readers--;
    else this.node.pipe.writers--;
  }
}
