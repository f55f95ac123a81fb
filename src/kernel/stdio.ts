// The guest's standard streams: the host's own fds (so pipes, files and ttys
// behave as they do natively), or in-memory buffers for the library API.
import * as fs from 'node:fs';
import { isatty } from 'node:tty';
import { LinuxError, fromHostError } from './errors.ts';
import type { HostInput } from './host-input.ts';
import { POLLERR, POLLHUP, POLLIN, POLL_READ, POLL_WRITE } from './readiness.ts';
import type { Waitable } from './wait.ts';
import { S_IFCHR, S_IFIFO, S_IFREG, type FileSystem, type Node, type OpenFile, type StatInfo } from './vfs/types.ts';

/** A node that stands for a stream outside any filesystem ("pipe:[…]", a host tty). */
export class StreamNode implements Node {
  /** The open stream itself, so opening /proc/self/fd/N or /dev/stdout reaches the same stream. */
  file?: OpenFile;
  constructor(
    readonly fs: FileSystem,
    readonly info: () => StatInfo,
    readonly label: string,
  ) {}
}

/** A host file descriptor used as a stream: stdin, stdout or stderr. */
export class HostStreamFile implements OpenFile {
  readonly seekable = false;
  readonly isTty: boolean;

  constructor(
    readonly node: Node,
    readonly hostFd: number,
    /** For ttys, pipes, FIFOs and sockets: reads that may wait go through it (null: read directly). */
    private readonly input: HostInput | null = null,
  ) {
    this.isTty = isatty(hostFd);
  }

  /**
   * Writes never wait (a full host pipe holds up the whole emulator until
   * it drains). Reading is as the host's poll(2) says: readable, or hung up
   * (a pipe at end of file: POLLHUP without POLLIN, as pipe_poll), or in error.
   */
  poll(events: number, waits: Waitable[]): number {
    const wantIn = events & POLL_READ;
    let r = events & POLL_WRITE;
    if (!wantIn) return r;
    if (!this.input) return r | wantIn;
    const ready = this.input.readiness();
    if (!ready) waits.push(this.input.ready);
    return r | (ready & POLLIN ? wantIn : 0) | (ready & (POLLHUP | POLLERR));
  }

  /** FIONREAD: bytes waiting to be read (what the host reader holds; 0 when reads go to the host directly). */
  available(): number {
    return this.input?.available() ?? 0;
  }

  read(buf: Uint8Array): number {
    if (this.input) return this.input.read(buf);
    // A regular file or a device that never waits (/dev/null): read at the shared host offset.
    return blockingHostCall(() => fs.readSync(this.hostFd, buf, 0, buf.length, null));
  }

  /**
   * As much as the host takes in one write(2): a short count, or EPIPE when
   * nothing went (the fd layer writes again for the rest, as a blocking
   * write goes on, and so meets the EPIPE of a reader gone midway).
   */
  write(buf: Uint8Array): number {
    return blockingHostCall(() => fs.writeSync(this.hostFd, buf, 0, buf.length));
  }

  size(): number {
    return 0;
  }

  close(): void {
    // The host's stdio stays open: the guest closing its fd 1 must not close ours.
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * A host call on an fd another process may have made non-blocking (Node
 * sets O_NONBLOCK on the pipes it opens as process.stdout and stderr, and
 * the description is shared): wait for it as a blocking call would, with
 * sleeps growing to 16 ms, instead of returning an EAGAIN the guest did not ask for.
 */
export function blockingHostCall(call: () => number): number {
  for (let pause = 1; ; pause = Math.min(pause * 2, 16)) {
    try {
      return call();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(sleeper, 0, 0, pause);
      else if (code === 'EOF') return 0;
      else throw fromHostError(e);
    }
  }
}

/** stdin from a buffer (library API). */
export class BufferInputFile implements OpenFile {
  readonly seekable = false;
  private pos = 0;
  constructor(
    readonly node: Node,
    private readonly data: Uint8Array,
  ) {}
  read(buf: Uint8Array): number {
    const n = Math.min(buf.length, this.data.length - this.pos);
    buf.set(this.data.subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }
  write(): number {
    throw new LinuxError('EBADF');
  }
  size(): number {
    return 0;
  }
  close(): void {}
}

/** stdout/stderr captured into memory (library API), bounded by maxBytes. */
export class CaptureOutputFile implements OpenFile {
  readonly seekable = false;
  readonly chunks: Buffer[] = [];
  bytes = 0;
  constructor(
    readonly node: Node,
    private readonly maxBytes = 64 << 20,
    private readonly tee?: (chunk: Uint8Array) => void,
    /** Called when a write finds the capture full (the kernel sends SIGXFSZ, as for RLIMIT_FSIZE). */
    private readonly onFull?: () => void,
  ) {}
  read(): number {
    throw new LinuxError('EBADF');
  }
  write(buf: Uint8Array): number {
    const room = this.maxBytes - this.bytes;
    if (room <= 0) {
      // Like a file at its RLIMIT_FSIZE (see setrlimit(2)): SIGXFSZ, and EFBIG if that is caught or ignored.
      this.onFull?.();
      throw new LinuxError('EFBIG');
    }
    const kept = buf.subarray(0, Math.min(room, buf.length));
    this.chunks.push(Buffer.from(kept));
    this.bytes += kept.length;
    this.tee?.(kept);
    return buf.length;
  }
  size(): number {
    return 0;
  }
  close(): void {}
  text(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Reads from this host fd can block (a tty, pipe or socket), unlike a regular file or /dev/null. */
export function hostFdMayBlock(hostFd: number): boolean {
  try {
    const st = fs.fstatSync(hostFd);
    return !(st.isFile() || st.isBlockDevice() || (st.isCharacterDevice() && !isatty(hostFd)));
  } catch {
    return false;
  }
}

/** st_mode for a host stdio fd: a character device for ttys, FIFO for pipes, else what fstat says. */
export function hostFdStat(hostFd: number, dev: number): StatInfo {
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.fstatSync(hostFd, { bigint: true });
  } catch {
    st = undefined;
  }
  const now = BigInt(Date.now()) * 1_000_000n;
  const mode = st ? Number(st.mode) : isatty(hostFd) ? S_IFCHR | 0o620 : S_IFIFO | 0o600;
  return {
    dev: st ? Number(st.dev & 0xffffffffn) : dev,
    ino: st ? Number(st.ino & 0xffffffffn) : hostFd + 1,
    mode: mode || S_IFREG | 0o600,
    nlink: st ? Number(st.nlink) : 1,
    uid: st ? Number(st.uid) : 0,
    gid: st ? Number(st.gid) : 0,
    rdev: st ? Number(st.rdev & 0xffffffffn) : 0,
    size: st && (mode & 0o170000) === S_IFREG ? Number(st.size) : 0,
    blksize: 4096,
    blocks: st ? Number(st.blocks) : 0,
    atimeNs: st ? st.atimeNs : now,
    mtimeNs: st ? st.mtimeNs : now,
    ctimeNs: st ? st.ctimeNs : now,
    birthtimeNs: st ? st.birthtimeNs : now,
  };
}
