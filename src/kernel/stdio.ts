// The guest's standard streams: the host's own fds (so pipes, files and ttys
// behave as they do natively), or in-memory buffers for the library API.
import * as fs from 'node:fs';
import { LinuxError, fromHostError } from './errors.ts';
import type { ArchConstants } from '../arch/types.ts';
import type { AccessMode, OpenFileDescription } from './fdtable.ts';
import { hostIsatty as isatty, hostLibc } from '../host/libc.ts';
import type { HostStream } from './host-streams.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLL_READ, POLL_WRITE } from './readiness.ts';
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

/**
 * A host file descriptor as the guest's stdin, stdout or stderr (or
 * /dev/tty). A regular file is read and written at offsets, as any file
 * (lseek, pread and mmap work, as natively: `./prog < file`); its
 * description's offset is the host's (see withHostOffset). A tty, pipe,
 * FIFO or socket goes through its HostStream; /dev/null and other devices
 * straight to the host.
 */
export class HostStreamFile implements OpenFile {
  readonly seekable: boolean;
  readonly isTty: boolean;

  constructor(
    readonly node: Node,
    readonly hostFd: number,
    /** For ttys, pipes, FIFOs and sockets: transfers that may wait go through it (null: straight to the host). */
    private readonly stream: HostStream | null = null,
  ) {
    this.isTty = isatty(hostFd);
    // Seeking needs the host's lseek (hostLibc); without it a file is read as a stream.
    this.seekable = !stream && hostLibc() !== null && isRegularFile(hostFd);
  }

  /**
   * As the host's poll(2) says: readable, writable, hung up (a pipe at end
   * of file: POLLHUP without POLLIN, as pipe_poll) or in error. A regular
   * file or /dev/null is always ready.
   */
  poll(events: number, waits: Waitable[]): number {
    const wanted = events & (POLL_READ | POLL_WRITE);
    if (!this.stream) return wanted;
    const ready = this.stream.readiness((events & POLL_READ ? POLLIN : 0) | (events & POLL_WRITE ? POLLOUT : 0));
    if (events & POLL_READ && !(ready & (POLLIN | POLLHUP | POLLERR))) waits.push(this.stream.readable);
    if (events & POLL_WRITE && !(ready & (POLLOUT | POLLHUP | POLLERR))) waits.push(this.stream.writable);
    return (ready & POLLIN ? events & POLL_READ : 0) | (ready & POLLOUT ? events & POLL_WRITE : 0) | (ready & (POLLHUP | POLLERR));
  }

  /** FIONREAD: the bytes a read would get now (a regular file: from the host's offset to its end). */
  available(): number {
    if (this.seekable) return Math.max(0, this.size() - hostLibc()!.lseek(this.hostFd, 0, SEEK_CUR));
    return this.stream?.available() ?? 0;
  }

  read(buf: Uint8Array, position: number): number {
    if (this.stream) return this.stream.read(buf);
    if (this.seekable) return blockingHostCall(() => fs.readSync(this.hostFd, buf, 0, buf.length, position));
    // A device that never waits (/dev/null), or a file without the host's lseek: at the host's offset.
    return blockingHostCall(() => fs.readSync(this.hostFd, buf, 0, buf.length, null));
  }

  /**
   * As much as the host takes now: a short count, WouldBlock when a stream
   * is full, EPIPE when its reader left (the fd layer writes again for the
   * rest, as a blocking write goes on, and so meets the EPIPE of a reader
   * gone midway).
   */
  write(buf: Uint8Array, position: number): number {
    if (this.stream) return this.stream.write(buf);
    // pwrite: on a host description opened O_APPEND (`>> log`) Linux appends whatever the position (pwrite(2), BUGS).
    if (this.seekable) return blockingHostCall(() => fs.writeSync(this.hostFd, buf, 0, buf.length, position));
    return blockingHostCall(() => fs.writeSync(this.hostFd, buf, 0, buf.length));
  }

  size(): number {
    return this.seekable ? blockingHostCall(() => fs.fstatSync(this.hostFd).size) : 0;
  }

  close(): void {
    // The host's stdio stays open: the guest closing its fd 1 must not close ours.
  }
}

const SEEK_SET = 0;
const SEEK_CUR = 1;

/**
 * How the guest's stdin, stdout or stderr (`which`: 0, 1, 2) starts: open
 * as the host's description is, as fcntl(F_GETFL) shows natively (a
 * terminal or socket for reading and writing, `>> log` with O_APPEND); else
 * (a buffer or capture, or no host libc) stdin read-only and stdout and
 * stderr write-only. O_NONBLOCK is not carried over: Node sets it on the
 * pipes it writes to itself (process.stderr), where the guest natively
 * would not see it.
 */
export function stdioMode(which: number, hostFd: number | null, c: ArchConstants): { access: AccessMode; statusFlags: number } {
  const fallback = which === 0 ? { access: 'r' as const, statusFlags: c.O_RDONLY } : { access: 'w' as const, statusFlags: c.O_WRONLY };
  const libc = hostLibc();
  if (hostFd === null || !libc) return fallback;
  let host: number;
  try {
    host = libc.statusFlags(hostFd);
  } catch {
    return fallback;
  }
  const h = fs.constants;
  const access = (host & 3) === h.O_RDWR ? 'rw' : (host & 3) === h.O_WRONLY ? 'w' : 'r';
  const accessBits = access === 'rw' ? c.O_RDWR : access === 'w' ? c.O_WRONLY : c.O_RDONLY;
  return { access, statusFlags: accessBits | (host & h.O_APPEND ? c.O_APPEND : 0) };
}

/**
 * Make `ofd`'s offset the host's own (for a regular file the guest got as
 * stdin, stdout or stderr): the host's shell shares that description, so
 * what the guest reads or writes moves it for whoever comes next (`{
 * tslinux run ./busybox head -n1; cat; } < file`: head seeks back, and cat
 * gets the rest), and stdout and stderr sent to one file (`> out 2>&1`)
 * write one after the other.
 */
export function withHostOffset(ofd: OpenFileDescription, file: OpenFile): OpenFileDescription {
  const libc = hostLibc();
  if (!(file instanceof HostStreamFile) || !file.seekable || !libc) return ofd;
  const fd = file.hostFd;
  Object.defineProperty(ofd, 'offset', {
    get: () => blockingHostCall(() => libc.lseek(fd, 0, SEEK_CUR)),
    set: (at: number) => blockingHostCall(() => libc.lseek(fd, at, SEEK_SET)),
  });
  return ofd;
}

function isRegularFile(fd: number): boolean {
  return fstatOrNull(fd)?.isFile() ?? false;
}

/** fstat of a host fd, or null when it fails (a closed fd). */
export function fstatOrNull(fd: number): fs.Stats | null {
  try {
    return fs.fstatSync(fd);
  } catch {
    return null;
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
  const st = fstatOrNull(hostFd);
  return st !== null && !(st.isFile() || st.isBlockDevice() || (st.isCharacterDevice() && !isatty(hostFd)));
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
