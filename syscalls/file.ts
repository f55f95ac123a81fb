// Calls on open file descriptors: read and write in their forms, lseek,
// close, dup, fcntl, ioctl and getdents64 (see read(2), write(2), lseek(2),
// dup(2), fcntl(2), ioctl(2), getdents(2)).
import { LinuxError, fail } from '../src/kernel/errors.ts';
import { Progress, WouldBlock } from '../src/kernel/wait.ts';
import type { OpenFileDescription } from '../src/kernel/fdtable.ts';
import { PROT_READ, PROT_WRITE } from '../src/kernel/memory.ts';
import { PipeNode, type Pipe } from '../src/kernel/pipe.ts';
import { HostStreamFile } from '../src/kernel/stdio.ts';
import { Socket } from '../src/kernel/socket.ts';
import { interfaceIoctl, socketIoctl } from './net.ts';
import { NetlinkSocket } from '../src/kernel/netlink.ts';
import { hostQueued } from './net-host.ts';
import { HostSocket } from '../src/kernel/host-socket.ts';
import { TERMIOS_SIZE } from '../src/kernel/terminal.ts';
import { S_IFREG, dtypeOfMode } from '../src/kernel/vfs/types.ts';
import { family, type SyscallContext } from './types.ts';

/** Linux caps one read or write at MAX_RW_COUNT (INT_MAX rounded down to a page). */
const MAX_RW_COUNT = 0x7fff_f000;
/**
 * The largest file offset: a handler's numbers are exact only up to 2^53 - 1,
 * so that is tslinux's s_maxbytes. lseek past it is EINVAL, as past a
 * filesystem's maximum file size in Linux (generic_file_llseek_size).
 */
const MAX_FILE_OFFSET = Number.MAX_SAFE_INTEGER;
/** readv/writev accept at most IOV_MAX iovecs (see readv(2)). */
const IOV_MAX = 1024;

/**
 * The description behind an fd for a call that does I/O or changes it: an
 * O_PATH descriptor is EBADF for all of those, directories included (see
 * open(2), O_PATH).
 */
export function ioFd(ctx: SyscallContext, fd: number): OpenFileDescription {
  const ofd = ctx.fds.get(fd);
  if (ofd.access === 'path') fail('EBADF');
  return ofd;
}

/** read(2): EBADF unless open for reading; EISDIR for a directory (which is always open for reading). */
function checkReadable(ofd: OpenFileDescription): OpenFileDescription {
  if (ofd.isDirectory) fail('EISDIR');
  if (!ofd.canRead) fail('EBADF');
  return ofd;
}

function checkWritable(ofd: OpenFileDescription): OpenFileDescription {
  if (!ofd.canWrite) fail('EBADF');
  return ofd;
}

function readable(ctx: SyscallContext, fd: number): OpenFileDescription {
  return checkReadable(ioFd(ctx, fd));
}

function writable(ctx: SyscallContext, fd: number): OpenFileDescription {
  return checkWritable(ioFd(ctx, fd));
}

/**
 * How many bytes from `addr` (at most `len`) the guest may access with
 * `prot`, without crossing an unmapped or protected page. Linux copies up to
 * the first fault and returns the short count; zero accessible bytes is EFAULT.
 */
function accessibleSpan(ctx: SyscallContext, addr: number, len: number, prot: number): number {
  const span = spanOf(ctx, addr, len, prot);
  if (span === 0 && len > 0) fail('EFAULT');
  return span;
}

/** Like accessibleSpan, but 0 instead of EFAULT. */
function spanOf(ctx: SyscallContext, addr: number, len: number, prot: number): number {
  let cursor = addr;
  const end = addr + len;
  while (cursor < end) {
    const m = ctx.mem.accessAt(cursor);
    if (!m || !m.bytes || (m.prot & prot) !== prot) break;
    cursor = m.end;
  }
  return Math.min(cursor, end) - addr;
}

/** Visit guest memory [addr, addr+len) one mapping at a time as live views. */
function forEachView(ctx: SyscallContext, addr: number, len: number, fn: (view: Uint8Array) => boolean): void {
  let cursor = addr;
  const end = addr + len;
  while (cursor < end) {
    const m = ctx.mem.mappingAt(cursor)!;
    const to = Math.min(end, m.end);
    if (!fn(m.bytes!.subarray(cursor - m.start, to - m.start))) return;
    cursor = to;
  }
}

/**
 * A read that would block: with bytes already moved, the call returns them
 * (a short count); with O_NONBLOCK it is EAGAIN; otherwise the task waits
 * and the call is made again (see pipe(7), "I/O on pipes").
 */
function readStopped(ctx: SyscallContext, ofd: OpenFileDescription, e: unknown, total: number): number {
  if (!(e instanceof WouldBlock)) throw e;
  if (total > 0) return total;
  if (ofd.statusFlags & ctx.arch.c.O_NONBLOCK) fail('EAGAIN');
  throw e;
}

/** Read into guest memory at the description's offset (or `position` for pread). */
function readInto(ctx: SyscallContext, ofd: OpenFileDescription, buf: number, count: number, position: number | null): number {
  const io = ofd.io();
  const len = accessibleSpan(ctx, buf, Math.min(count, MAX_RW_COUNT), PROT_WRITE);
  let pos = position ?? ofd.offset;
  let total = 0;
  try {
    forEachView(ctx, buf, len, (view) => {
      const n = io.read(view, pos);
      total += n;
      pos += n;
      return n === view.length;
    });
  } catch (e) {
    return readStopped(ctx, ofd, e, total);
  }
  if (position === null && io.seekable) ofd.offset = pos;
  return total;
}

/**
 * Write guest memory at the description's offset (or `position`), adding
 * what goes out to `progress.done`. A short write is followed by another
 * for the rest, until every byte is out or the file says why not: a full
 * pipe (WouldBlock), an error, or a write that takes nothing.
 */
function writeFrom(ctx: SyscallContext, ofd: OpenFileDescription, buf: number, count: number, position: number | null, progress: Progress): void {
  const io = ofd.io();
  const len = accessibleSpan(ctx, buf, Math.min(count, MAX_RW_COUNT), PROT_READ);
  // O_APPEND puts every write at the end, pwrite's too: Linux ignores the
  // offset then (see pwrite(2), BUGS), though the file offset stays put.
  const append = (ofd.statusFlags & ctx.arch.c.O_APPEND) !== 0;
  let pos = append ? io.size() : (position ?? ofd.offset);
  try {
    forEachView(ctx, buf, len, (view) => {
      for (let at = 0; at < view.length; ) {
        const n = io.write(view.subarray(at), pos);
        if (n <= 0) return false;
        at += n;
        pos += n;
        progress.done += n;
      }
      return true;
    });
  } finally {
    if (position === null && io.seekable) ofd.offset = pos;
  }
}

/**
 * write(2) in all its forms, from guest buffers (one, or readv's iovecs).
 * A blocking write to a pipe goes on until every byte is written (pipe(7)):
 * when the pipe fills, the task waits with its progress in
 * task.syscallState and the call, made again, goes on from there; a signal
 * handler that interrupts it makes it return the count written so far
 * (wait.ts, Progress). Writes of at most PIPE_BUF bytes are atomic (pipe.ts).
 */
function writeBuffers(ctx: SyscallContext, ofd: OpenFileDescription, buffers: readonly GuestBuffer[], position: number | null): number {
  const progress = ctx.task.syscallState instanceof Progress ? ctx.task.syscallState : new Progress();
  const resumeAt = progress.done;
  let start = 0;
  try {
    for (const { base, len } of buffers) {
      // Bytes an earlier try of this call wrote are skipped.
      const skip = Math.min(len, Math.max(0, resumeAt - start));
      const before = progress.done;
      if (skip < len) writeFrom(ctx, ofd, base + skip, len - skip, position === null ? null : position + start + skip, progress);
      start += len;
      if (skip + progress.done - before < len) break;
    }
  } catch (e) {
    return writeStopped(ctx, ofd, e, progress);
  }
  return progress.done;
}

/** A write that could not go on: the count so far, an error, or a wait that keeps the progress. */
function writeStopped(ctx: SyscallContext, ofd: OpenFileDescription, e: unknown, progress: Progress): number {
  if (e instanceof LinuxError) {
    // Writing to a pipe nobody reads raises SIGPIPE, whatever went before (pipe_write).
    if (e.code === 'EPIPE') raiseSigpipe(ctx);
    if (progress.done > 0) return progress.done;
    throw e;
  }
  if (!(e instanceof WouldBlock)) throw e;
  if (ofd.statusFlags & ctx.arch.c.O_NONBLOCK) {
    if (progress.done > 0) return progress.done;
    fail('EAGAIN');
  }
  if (progress.done > 0) ctx.task.syscallState = progress;
  throw e;
}

export function raiseSigpipe(ctx: SyscallContext): void {
  ctx.kernel.sendSignal(ctx.proc, { signo: 13 /* SIGPIPE */, code: 0, pid: ctx.proc.pid, uid: ctx.proc.creds.uid });
}

function read(ctx: SyscallContext, fd: number, buf: number, count: number): number {
  return readInto(ctx, readable(ctx, fd), buf, count, null);
}

function write(ctx: SyscallContext, fd: number, buf: number, count: number): number {
  return writeBuffers(ctx, writable(ctx, fd), [{ base: buf, len: count }], null);
}

/**
 * The fd of a positioned call, in Linux's order: a negative offset is EINVAL
 * before the fd is even looked up, then EBADF, then ESPIPE for streams, and
 * only then the access mode.
 */
function positional(ctx: SyscallContext, fd: number, offset: number): OpenFileDescription {
  if (offset < 0) fail('EINVAL');
  const ofd = ioFd(ctx, fd);
  if (!ofd.io().seekable) fail('ESPIPE');
  return ofd;
}

function pread64(ctx: SyscallContext, fd: number, buf: number, count: number, offset: number): number {
  const ofd = checkReadable(positional(ctx, fd, offset));
  return readInto(ctx, ofd, buf, count, offset);
}

function pwrite64(ctx: SyscallContext, fd: number, buf: number, count: number, offset: number): number {
  const ofd = checkWritable(positional(ctx, fd, offset));
  return writeBuffers(ctx, ofd, [{ base: buf, len: count }], offset);
}

/** A guest buffer of a read or write: one for read/write, each iovec of readv/writev. */
export interface GuestBuffer {
  base: number;
  len: number;
}

/** The iovec array (struct iovec: base, len) after validating the count. */
export function readIovecs(ctx: SyscallContext, iov: number, iovcnt: number): GuestBuffer[] {
  if (iovcnt < 0 || iovcnt > IOV_MAX) fail('EINVAL');
  const raw = ctx.mem.read(iov, iovcnt * 16);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: GuestBuffer[] = [];
  let total = 0;
  for (let i = 0; i < iovcnt; i++) {
    const base = Number(v.getBigUint64(i * 16, true));
    const len = Number(v.getBigUint64(i * 16 + 8, true));
    total += len;
    // The sum of lengths must fit in ssize_t (see readv(2), EINVAL).
    if (total > Number.MAX_SAFE_INTEGER) fail('EINVAL');
    out.push({ base, len });
  }
  return out;
}

/** readv/preadv: each iovec in turn, until one comes back short (see readv(2)). */
function readVectored(ctx: SyscallContext, ofd: OpenFileDescription, iov: number, iovcnt: number, position: number | null): number {
  let total = 0;
  let pos = position;
  for (const { base, len } of readIovecs(ctx, iov, iovcnt)) {
    if (len === 0) continue;
    let n: number;
    try {
      n = readInto(ctx, ofd, base, len, pos);
    } catch (e) {
      if (total > 0) return total; // a later fault or wait after some bytes moved: report the short count
      throw e;
    }
    total += n;
    if (pos !== null) pos += n;
    if (n < len) break;
  }
  return total;
}

function readv(ctx: SyscallContext, fd: number, iov: number, iovcnt: number): number {
  return readVectored(ctx, readable(ctx, fd), iov, iovcnt, null);
}
function writev(ctx: SyscallContext, fd: number, iov: number, iovcnt: number): number {
  const ofd = writable(ctx, fd);
  return writeBuffers(ctx, ofd, readIovecs(ctx, iov, iovcnt), null);
}
function preadv(ctx: SyscallContext, fd: number, iov: number, iovcnt: number, offset: number): number {
  const ofd = checkReadable(positional(ctx, fd, offset));
  return readVectored(ctx, ofd, iov, iovcnt, offset);
}
function pwritev(ctx: SyscallContext, fd: number, iov: number, iovcnt: number, offset: number): number {
  const ofd = checkWritable(positional(ctx, fd, offset));
  return writeBuffers(ctx, ofd, readIovecs(ctx, iov, iovcnt), offset);
}

const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

function lseek(ctx: SyscallContext, fd: number, offset: number, whence: number): number {
  const ofd = ioFd(ctx, fd);
  if (ofd.isDirectory) return seekDir(ofd, offset, whence);
  const io = ofd.io();
  if (!io.seekable) fail('ESPIPE');
  let next: number;
  switch (whence) {
    case SEEK_SET:
      next = offset;
      break;
    case SEEK_CUR:
      next = ofd.offset + offset;
      break;
    case SEEK_END:
      next = io.size() + offset;
      break;
    case SEEK_DATA:
      // No holes are tracked: all data from offset to EOF (ENXIO past it).
      if (offset < 0 || offset >= io.size()) fail('ENXIO');
      next = offset;
      break;
    case SEEK_HOLE:
      if (offset < 0 || offset >= io.size()) fail('ENXIO');
      next = io.size();
      break;
    default:
      fail('EINVAL');
  }
  if (next < 0 || next > MAX_FILE_OFFSET) fail('EINVAL');
  ofd.offset = next;
  return next;
}

/**
 * A directory's position is the index of the next entry of its listing (the
 * d_off getdents64 reports), so telldir/seekdir work. As tmpfs does: SEEK_SET
 * and SEEK_CUR only, EINVAL for a negative result. Position 0 takes a fresh
 * listing at the next getdents64 (rewinddir).
 */
function seekDir(ofd: OpenFileDescription, offset: number, whence: number): number {
  let next: number;
  if (whence === SEEK_SET) next = offset;
  else if (whence === SEEK_CUR) next = ofd.offset + offset;
  else fail('EINVAL');
  if (next < 0 || next > MAX_FILE_OFFSET) fail('EINVAL');
  if (next === 0) ofd.dirCursor = undefined;
  else if (ofd.dirCursor) ofd.dirCursor.index = next;
  ofd.offset = next;
  return next;
}

function close(ctx: SyscallContext, fd: number): number {
  ctx.fds.close(fd);
  return 0;
}

function dup(ctx: SyscallContext, oldfd: number): number {
  return ctx.fds.install(ctx.fds.get(oldfd));
}

/** dup2(2): same fd is a no-op that still checks oldfd. */
function dup2(ctx: SyscallContext, oldfd: number, newfd: number): number {
  const ofd = ctx.fds.get(oldfd);
  if (oldfd === newfd) return newfd;
  return ctx.fds.installAt(newfd, ofd);
}

/** dup3(2): like dup2 but EINVAL when the fds are equal, and takes O_CLOEXEC. */
function dup3(ctx: SyscallContext, oldfd: number, newfd: number, flags: number): number {
  const c = ctx.arch.c;
  // Linux's order: flags, then equal fds (EINVAL even when oldfd is not open), then the fds.
  if (flags & ~c.O_CLOEXEC) fail('EINVAL');
  if (oldfd === newfd) fail('EINVAL');
  const ofd = ctx.fds.get(oldfd);
  return ctx.fds.installAt(newfd, ofd, (flags & c.O_CLOEXEC) !== 0);
}

const FD_CLOEXEC = 1;

/** The pipe behind a pipe end or an open FIFO (whose node is the FIFO's inode, its file an end of the pipe); EBADF otherwise. */
function pipeOf(ofd: OpenFileDescription): Pipe {
  if (!(ofd.file?.node instanceof PipeNode)) fail('EBADF');
  return ofd.file.node.pipe;
}

function accessModeBits(ctx: SyscallContext, ofd: OpenFileDescription): number {
  const c = ctx.arch.c;
  switch (ofd.access) {
    case 'r':
      return c.O_RDONLY;
    case 'w':
      return c.O_WRONLY;
    case 'rw':
      return c.O_RDWR;
    case 'path':
      return c.O_PATH;
  }
}

/**
 * fcntl(2). `arg` arrives as a signed 64-bit value, so an int the C library
 * sign-extended (-1) is exact; the int commands use its low 32 bits, as
 * Linux's `unsigned int argi` does.
 */
function fcntl(ctx: SyscallContext, fd: number, cmd: number, arg: number): number {
  const c = ctx.arch.c;
  const ofd = ctx.fds.get(fd);
  const argi = arg >>> 0;
  // An O_PATH descriptor only allows these (see open(2), O_PATH); the rest are EBADF.
  const pathOk = cmd === c.F_DUPFD || cmd === c.F_DUPFD_CLOEXEC || cmd === c.F_GETFD || cmd === c.F_SETFD || cmd === c.F_GETFL;
  if (ofd.access === 'path' && !pathOk) fail('EBADF');
  switch (cmd) {
    case c.F_DUPFD:
    case c.F_DUPFD_CLOEXEC:
      // A minimum at or past RLIMIT_NOFILE (a negative int included, as unsigned) is EINVAL.
      if (argi >= ctx.fds.limit) fail('EINVAL');
      return ctx.fds.install(ofd, cmd === c.F_DUPFD_CLOEXEC, argi);
    case c.F_GETFD:
      return ctx.fds.isCloexec(fd) ? FD_CLOEXEC : 0;
    case c.F_SETFD:
      ctx.fds.setCloexec(fd, (argi & FD_CLOEXEC) !== 0);
      return 0;
    case c.F_GETFL:
      return accessModeBits(ctx, ofd) | ofd.statusFlags;
    case c.F_SETFL: {
      // Only these status flags can change after open (see fcntl(2), F_SETFL).
      const changeable = c.O_APPEND | c.O_NONBLOCK | c.FASYNC | c.O_DIRECT | c.O_NOATIME;
      ofd.statusFlags = (ofd.statusFlags & ~changeable) | (argi & changeable);
      return 0;
    }
    case c.F_GETPIPE_SZ:
      return pipeOf(ofd).capacity;
    case c.F_SETPIPE_SZ:
      if (argi < 0) fail('EINVAL');
      return pipeOf(ofd).resize(argi);
    default:
      fail('EINVAL');
  }
}


/**
 * ioctl(2). TCGETS and TIOCGWINSZ answer honestly whether the fd is a
 * terminal: a host tty says yes, everything else ENOTTY (which is how isatty()
 * decides).
 */
function ioctl(ctx: SyscallContext, fd: number, request: number, arg: number): number {
  const c = ctx.arch.c;
  const ofd = ioFd(ctx, fd);
  const isTty = ofd.file?.isTty === true;
  switch (request) {
    case c.TCGETS:
      if (!isTty) fail('ENOTTY');
      ctx.mem.write(arg, ctx.kernel.terminal.termios);
      return 0;
    case c.TCSETS:
    case c.TCSETSW:
    case c.TCSETSF:
      if (!isTty) fail('ENOTTY');
      ctx.kernel.terminal.set(ctx.mem.read(arg, TERMIOS_SIZE));
      return 0;
    case c.TIOCGPGRP:
      if (!isTty) fail('ENOTTY');
      ctx.mem.writeU32(arg, ctx.kernel.terminal.foregroundPgrp || ctx.kernel.proc.pgid);
      return 0;
    case c.TIOCSPGRP: {
      // tcsetpgrp(3): the group must exist in the caller's session.
      if (!isTty) fail('ENOTTY');
      const pgrp = ctx.mem.readI32(arg);
      if (pgrp < 0) fail('EINVAL');
      if (!ctx.kernel.liveProcesses().some((p) => p.pgid === pgrp && p.sid === ctx.proc.sid)) fail('EPERM');
      ctx.kernel.terminal.foregroundPgrp = pgrp;
      return 0;
    }
    case c.TIOCGWINSZ: {
      if (!isTty) fail('ENOTTY');
      const size = ctx.kernel.terminal.windowSize ?? { ...hostWindowSize(ofd.file?.hostFd), xpixel: 0, ypixel: 0 };
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setUint16(0, size.rows, true);
      v.setUint16(2, size.cols, true);
      v.setUint16(4, size.xpixel, true);
      v.setUint16(6, size.ypixel, true);
      ctx.mem.write(arg, b);
      return 0;
    }
    case c.TIOCSWINSZ: {
      // struct winsize: rows, cols, xpixel, ypixel (u16 each); the guest's view only, the host tty keeps its size.
      if (!isTty) fail('ENOTTY');
      const w = ctx.mem.read(arg, 8);
      const v = new DataView(w.buffer, w.byteOffset, 8);
      ctx.kernel.terminal.windowSize = { rows: v.getUint16(0, true), cols: v.getUint16(2, true), xpixel: v.getUint16(4, true), ypixel: v.getUint16(6, true) };
      return 0;
    }
    case c.TCSBRK:
    case c.TCSBRKP:
    case c.TCXONC:
      // tcdrain/tcsendbreak and tcflow: output is written through at once and never suspended.
      if (!isTty) fail('ENOTTY');
      return 0;
    case c.TCFLSH: {
      // tcflush(3): TCIFLUSH 0, TCOFLUSH 1, TCIOFLUSH 2; nothing is held back to flush.
      if (!isTty) fail('ENOTTY');
      if (arg < 0 || arg > 2) fail('EINVAL');
      return 0;
    }
    case c.TIOCGSID:
      if (!isTty) fail('ENOTTY');
      ctx.mem.writeU32(arg, ctx.proc.sid);
      return 0;
    case c.FIOCLEX:
      ctx.fds.setCloexec(fd, true);
      return 0;
    case c.FIONCLEX:
      ctx.fds.setCloexec(fd, false);
      return 0;
    case c.FIONBIO:
      // Every fd takes it (do_vfs_ioctl): the int at arg turns O_NONBLOCK on or off.
      if (ctx.mem.readI32(arg) !== 0) ofd.statusFlags |= c.O_NONBLOCK;
      else ofd.statusFlags &= ~c.O_NONBLOCK;
      return 0;
    case c.FIONREAD: {
      if (ofd.file instanceof Socket) return socketIoctl(ctx, ofd.file, request, arg)!;
      if (ofd.file instanceof HostSocket) {
        ctx.mem.writeU32(arg, hostQueued(ofd.file));
        return 0;
      }
      if (ofd.file instanceof NetlinkSocket) {
        ctx.mem.writeU32(arg, ofd.file.queue[0]?.length ?? 0);
        return 0;
      }
      // Regular files: the bytes from the offset to EOF (do_vfs_ioctl); pipes: the bytes queued.
      let n: number;
      if (ofd.file?.node instanceof PipeNode) n = ofd.file.node.pipe.available;
      else if (ofd.node.fileType === S_IFREG && ofd.file) n = ofd.file.size() - ofd.offset;
      else if (ofd.file instanceof HostStreamFile) n = ofd.file.available();
      else fail('ENOTTY');
      ctx.mem.writeU32(arg, n | 0);
      return 0;
    }
    default: {
      if (ofd.file instanceof Socket) {
        const r = socketIoctl(ctx, ofd.file, request, arg);
        if (r !== null) return r;
      }
      // Host and netlink sockets answer the interface requests from the guest's view of the network too.
      if (ofd.file instanceof HostSocket || ofd.file instanceof NetlinkSocket) {
        const r = interfaceIoctl(ctx, request, arg);
        if (r !== null) return r;
      }
      fail('ENOTTY');
    }
  }
}

function hostWindowSize(hostFd: number | undefined): { rows: number; cols: number } {
  const streams = [process.stdout, process.stderr];
  for (const s of streams) {
    if ((s as { fd?: number }).fd === hostFd && s.isTTY) return { rows: s.rows ?? 24, cols: s.columns ?? 80 };
  }
  const any = streams.find((s) => s.isTTY);
  return { rows: any?.rows ?? 24, cols: any?.columns ?? 80 };
}

/** How one directory entry is laid out: the record's length for a name, and how to fill it. */
interface DirentLayout {
  reclen(nameLength: number): number;
  /** Fill the record at `at` in a zeroed buffer; `next` is the d_off of the entry after it. */
  fill(v: DataView, out: Uint8Array, at: number, e: { ino: number; type: number }, next: number, name: Uint8Array, reclen: number): void;
}

/**
 * Serve a directory listing as getdents records in `layout`. The listing is
 * taken at the first call and served from there; records go out whole up to
 * the first unwritable byte, as Linux's filldir copies them, and the
 * position moves only past entries the guest received.
 */
function readDirents(ctx: SyscallContext, fd: number, dirp: number, count: number, layout: DirentLayout): number {
  const ofd = ioFd(ctx, fd);
  if (!ofd.isDirectory) fail('ENOTDIR');
  if (!ofd.dirCursor) {
    const self = ofd.fs.stat(ofd.node);
    const entries = [
      { name: '.', ino: self.ino, type: dtypeOfMode(self.mode) },
      { name: '..', ino: self.ino, type: dtypeOfMode(self.mode) },
      ...ofd.fs.readdir(ofd.node),
    ];
    // A seekdir before the first read starts there.
    ofd.dirCursor = { entries, index: ofd.offset };
  }
  const cursor = ofd.dirCursor;
  const out = new Uint8Array(Math.min(count, 1 << 20));
  const writable = spanOf(ctx, dirp, out.length, PROT_WRITE);
  const v = new DataView(out.buffer);
  let used = 0;
  let index = cursor.index;
  while (index < cursor.entries.length) {
    const e = cursor.entries[index]!;
    // Names are guest byte strings (one char per byte).
    const name = Buffer.from(e.name, 'latin1');
    const reclen = layout.reclen(name.length);
    if (used + reclen > out.length) {
      if (used === 0) fail('EINVAL'); // the buffer cannot hold even one entry
      break;
    }
    if (used + reclen > writable) {
      if (used === 0) fail('EFAULT');
      break;
    }
    layout.fill(v, out, used, e, index + 1, name, reclen);
    used += reclen;
    index++;
  }
  if (used > 0) ctx.mem.write(dirp, out.subarray(0, used));
  cursor.index = index;
  ofd.offset = index;
  return used;
}

/** struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name with its NUL, 8-byte aligned. */
const DIRENT64: DirentLayout = {
  reclen: (n) => (19 + n + 1 + 7) & ~7,
  fill(v, out, at, e, next, name, reclen) {
    v.setBigUint64(at, BigInt(e.ino), true);
    v.setBigInt64(at + 8, BigInt(next), true);
    v.setUint16(at + 16, reclen, true);
    v.setUint8(at + 18, e.type);
    out.set(name, at + 19);
  },
};

/**
 * x86-64's legacy struct linux_dirent: d_ino u64, d_off u64, d_reclen u16,
 * d_name with its NUL, padding, and d_type in the record's last byte
 * (fs/readdir.c filldir).
 */
const DIRENT_LEGACY: DirentLayout = {
  reclen: (n) => (18 + n + 2 + 7) & ~7,
  fill(v, out, at, e, next, name, reclen) {
    v.setBigUint64(at, BigInt(e.ino), true);
    v.setBigUint64(at + 8, BigInt(next), true);
    v.setUint16(at + 16, reclen, true);
    out.set(name, at + 18);
    out[at + reclen - 1] = e.type;
  },
};

function getdents64(ctx: SyscallContext, fd: number, dirp: number, count: number): number {
  return readDirents(ctx, fd, dirp, count, DIRENT64);
}

/** getdents(2): the same listing and position as getdents64 (one dirCursor), in the legacy layout. */
function getdents(ctx: SyscallContext, fd: number, dirp: number, count: number): number {
  return readDirents(ctx, fd, dirp, count, DIRENT_LEGACY);
}

/**
 * sendfile(2): copy between two fds inside the kernel, from `offset` (left
 * unchanged in the file) or from in_fd's own position. in_fd must be a
 * file that can be read at an offset: a pipe, socket or tty is EINVAL, as
 * on Linux (programs such as busybox cat then fall back to read and write).
 * Only what went out moves the input's position, so an output that fills
 * (a pipe) ends the call with a short count and loses nothing, as Linux's
 * splice to a pipe returns once the pipe is full.
 */
function sendfile(ctx: SyscallContext, outFd: number, inFd: number, offsetPtr: number, count: number): number {
  const input = readable(ctx, inFd);
  const output = writable(ctx, outFd);
  const inIo = input.io();
  const outIo = output.io();
  if (!inIo.seekable) fail('EINVAL');
  let pos = offsetPtr ? ctx.mem.readI64(offsetPtr) : input.offset;
  if (pos < 0) fail('EINVAL');
  const chunk = new Uint8Array(Math.min(Math.max(count, 0), 1 << 16));
  let total = 0;
  const append = (output.statusFlags & ctx.arch.c.O_APPEND) !== 0;
  try {
    while (total < Math.min(count, MAX_RW_COUNT)) {
      const want = Math.min(chunk.length, count - total);
      const n = inIo.read(chunk.subarray(0, want), pos);
      if (n <= 0) break;
      for (let written = 0; written < n; ) {
        const at = append ? outIo.size() : output.offset;
        const w = outIo.write(chunk.subarray(written, n), at);
        if (outIo.seekable) output.offset = at + w;
        written += w;
        pos += w;
        total += w;
      }
    }
  } catch (e) {
    if (total === 0) {
      if (e instanceof LinuxError && e.code === 'EPIPE') raiseSigpipe(ctx);
      if (e instanceof WouldBlock && output.statusFlags & ctx.arch.c.O_NONBLOCK) fail('EAGAIN');
      throw e;
    }
  }
  if (offsetPtr) ctx.mem.writeU64(offsetPtr, pos);
  else input.offset = pos;
  return total;
}

/**
 * splice(2): tslinux moves no pages between files inside the kernel, so it
 * answers as Linux does for a file that cannot splice: EINVAL, after the
 * descriptors are checked (EBADF). Callers copy through user space then, as
 * Go's io.Copy between sockets does.
 */
function splice(ctx: SyscallContext, fdIn: number, _offIn: number, fdOut: number): number {
  readable(ctx, fdIn);
  writable(ctx, fdOut);
  fail('EINVAL');
}

export const fileFamily = family('file', [
  {
    name: 'splice',
    summary: 'Moves data between a descriptor and a pipe without copying it through user space.',
    args: { fd_in: 'fd', off_in: 'ptr', fd_out: 'fd', off_out: 'ptr', len: 'size', flags: 'hex' },
    ret: 'size',
    handler: splice,
    note: 'EINVAL once the descriptors are checked: nothing splices in the kernel, callers copy instead',
  },
  {
    name: 'sendfile',
    summary: 'Copies bytes from one descriptor to another inside the kernel.',
    args: { out_fd: 'fd', in_fd: 'fd', offset: 'ptr', count: 'copy_size' },
    ret: 'size',
    handler: sendfile,
  },
  {
    name: 'read',
    summary: 'Reads up to count bytes from the file descriptor into buf, starting at the file offset, which advances by the number of bytes read; 0 means end of file.',
    args: { fd: 'fd', buf: 'outbuf', count: 'size' },
    ret: 'size',
    handler: read,
  },
  {
    name: 'write',
    summary: 'Writes up to count bytes from buf to the file descriptor at its offset (at the end with O_APPEND) and returns how many were written.',
    args: { fd: 'fd', buf: 'inbuf', count: 'size' },
    ret: 'size',
    handler: write,
  },
  {
    name: 'pread64',
    summary: 'Like read, but at the given offset; the file offset does not move.',
    args: { fd: 'fd', buf: 'outbuf', count: 'size', offset: 'off' },
    ret: 'size',
    handler: pread64,
  },
  {
    name: 'pwrite64',
    summary: 'Like write, but at the given offset; the file offset does not move.',
    args: { fd: 'fd', buf: 'inbuf', count: 'size', offset: 'off' },
    ret: 'size',
    handler: pwrite64,
  },
  {
    name: 'readv',
    summary: 'Reads into several buffers (an iovec array) in order, as one read would.',
    args: { fd: 'fd', iov: 'iovec_out', iovcnt: 'int' },
    ret: 'size',
    handler: readv,
  },
  {
    name: 'writev',
    summary: 'Writes several buffers (an iovec array) in order, as one write; the data of one call is not interleaved with other writes.',
    args: { fd: 'fd', iov: 'iovec_in', iovcnt: 'int' },
    ret: 'size',
    handler: writev,
  },
  {
    name: 'preadv',
    summary: 'readv at a given offset, leaving the file offset alone.',
    args: { fd: 'fd', iov: 'iovec_out', iovcnt: 'int', offset: 'off' },
    ret: 'size',
    handler: preadv,
  },
  {
    name: 'pwritev',
    summary: 'writev at a given offset, leaving the file offset alone.',
    args: { fd: 'fd', iov: 'iovec_in', iovcnt: 'int', offset: 'off' },
    ret: 'size',
    handler: pwritev,
  },
  {
    name: 'lseek',
    summary: 'Moves the file offset of an open file description: to offset (SEEK_SET), relative to it (SEEK_CUR) or to the end (SEEK_END); returns the new offset.',
    args: { fd: 'fd', offset: 'off', whence: 'whence' },
    handler: lseek,
  },
  {
    name: 'close',
    summary: 'Closes a file descriptor; the open file description goes away when its last descriptor does.',
    args: { fd: 'close_fd' },
    handler: close,
  },
  {
    name: 'dup',
    summary: 'Returns a new descriptor, the lowest free one, for the same open file description (shared offset and status flags, close-on-exec cleared).',
    args: { oldfd: 'fd' },
    ret: 'fd',
    handler: dup,
  },
  {
    name: 'dup2',
    summary: 'Makes newfd refer to the same open file description as oldfd, closing what newfd referred to first.',
    args: { oldfd: 'fd', newfd: 'newfd' },
    ret: 'fd',
    handler: dup2,
  },
  {
    name: 'dup3',
    summary: 'Like dup2, but can set O_CLOEXEC on the new descriptor and fails when both descriptors are the same.',
    args: { oldfd: 'fd', newfd: 'newfd', flags: 'fd_flags' },
    ret: 'fd',
    handler: dup3,
  },
  {
    name: 'fcntl',
    summary: 'Manipulates a descriptor: duplicates it (F_DUPFD), reads or sets its close-on-exec flag (F_GETFD/F_SETFD) or the status flags of its open file description (F_GETFL/F_SETFL), and more.',
    args: { fd: 'fd', cmd: 'fcntl_cmd', arg: 'long' },
    handler: fcntl,
    note: 'F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL; EINVAL for the rest',
  },
  {
    name: 'ioctl',
    summary: 'Device-specific control requests on a descriptor, such as terminal settings (TCGETS) or the window size (TIOCGWINSZ); ENOTTY when the file does not support the request.',
    args: { fd: 'fd', request: 'ioctl_request', arg: 'hex' },
    handler: ioctl,
    note: 'ttys: TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, TIOCGSID, TCSBRK, TCFLSH, TCXONC; FIOCLEX, FIONCLEX, FIONBIO, FIONREAD (files, pipes, host streams, sockets); sockets: SIOCOUTQ, SIOCGIFCONF and the SIOCGIF* requests for lo, SIOCSIF* EPERM; ENOTTY otherwise',
  },
  {
    name: 'getdents64',
    summary: 'Reads directory entries (inode, offset, length, type, name) from a directory descriptor into a buffer; 0 at the end of the directory.',
    args: { fd: 'fd', dirp: 'dirents_out', count: 'size' },
    ret: 'size',
    handler: getdents64,
  },
  {
    name: 'getdents',
    summary: 'Reads directory entries in the older linux_dirent format (see getdents64).',
    args: { fd: 'fd', dirp: 'dirents_out', count: 'size' },
    ret: 'size',
    handler: getdents,
    note: 'x86-64 only',
  },
]);
