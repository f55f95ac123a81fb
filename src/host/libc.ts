// The host's C library, for the few calls on host file descriptors that
// Node has no API for: poll(2) (to wait until a host stream can be read
// without making a read that would block the emulator), FIONREAD, and
// recv(2)/send(2) with MSG_DONTWAIT (a non-blocking transfer on a socket
// whose shared description must stay blocking for everyone else), and
// lseek(2) (the offset of a host file the guest shares with the host's
// shell: `{ tslinux run ./busybox head -n1; cat; } < file`) and
// fcntl(F_GETFL) (how the shell opened the guest's stdio).
//
// This and src/cpu/ are the only places that use the FFI (koffi). Linux and
// macOS only (the constants below are theirs); elsewhere hostLibc() is null
// and callers fall back to Node's blocking calls.
import { createRequire } from 'node:module';
import * as os from 'node:os';
import koffi, { type LibraryHandle } from 'koffi';

export const POLLIN = 0x1;
export const POLLOUT = 0x4;

/** The ioctl request and flag values that differ between host OSes. */
const PLATFORM: Partial<Record<NodeJS.Platform, { FIONREAD: number; MSG_DONTWAIT: number; MSG_NOSIGNAL: number }>> = {
  linux: { FIONREAD: 0x541b, MSG_DONTWAIT: 0x40, MSG_NOSIGNAL: 0x4000 },
  // No MSG_NOSIGNAL on macOS: Node ignores SIGPIPE, so EPIPE comes back as an error either way.
  darwin: { FIONREAD: 0x4004667f, MSG_DONTWAIT: 0x80, MSG_NOSIGNAL: 0 },
};

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** A failed call, shaped like Node's fs errors (`code` is the errno name) so one error path serves both. */
function hostError(call: string): Error {
  const errno = koffi.errno();
  const code = ERRNO_NAMES.get(errno) ?? 'EIO';
  return Object.assign(new Error(`${call}: ${code}`), { code, errno });
}

export interface HostLibc {
  /**
   * poll(2): for each { fd, events }, the events that are ready (POLLIN,
   * POLLOUT, and POLLERR, POLLHUP or POLLNVAL unasked), waiting up to
   * `timeoutMs` (0: just look) for one. A signal ends the wait early (poll
   * is never restarted), with nothing ready.
   */
  poll(entries: readonly { fd: number; events: number }[], timeoutMs: number): number[];
  /** FIONREAD: the bytes a read of `fd` would get now. */
  bytesReadable(fd: number): number;
  /** recv(2) with MSG_DONTWAIT: bytes received (0 at end of stream); EAGAIN thrown when none are there. */
  recvNow(fd: number, buf: Uint8Array): number;
  /** send(2) with MSG_DONTWAIT: bytes sent; EAGAIN thrown when the socket's buffer is full. */
  sendNow(fd: number, buf: Uint8Array): number;
  /** lseek(2) (SEEK_SET 0, SEEK_CUR 1, SEEK_END 2 on every host): the new offset. */
  lseek(fd: number, offset: number, whence: number): number;
  /** fcntl(F_GETFL): the description's access mode and status flags, in the host's O_* bits (fs.constants). */
  statusFlags(fd: number): number;
  /** isatty(3). */
  isatty(fd: number): boolean;
  /** getentropy(3) (glibc >= 2.25, musl, macOS): the host's CSPRNG, as node:crypto's randomFillSync uses it; null in an older C library. */
  randomFill: ((buf: Uint8Array) => void) | null;
}

let cached: HostLibc | null | undefined;

/**
 * A Node built-in loaded at its first use. node:tty (which loads node:net and
 * the streams) and node:crypto cost `tslinux run` 10 ms of its start-up; the
 * C library answers isatty and gives random bytes without them.
 */
function nodeModule<T>(name: string): T {
  return createRequire(import.meta.url)(name) as T;
}

/** isatty(3) of a host fd: through the C library where there is one, else node:tty. */
export function hostIsatty(fd: number): boolean {
  const libc = hostLibc();
  return libc ? libc.isatty(fd) : nodeModule<typeof import('node:tty')>('node:tty').isatty(fd);
}

/** Random bytes from the host's CSPRNG (the C library's getentropy, else node:crypto). */
export function hostRandomFill(buf: Uint8Array): void {
  const fill = hostLibc()?.randomFill;
  if (fill) fill(buf);
  else nodeModule<typeof import('node:crypto')>('node:crypto').randomFillSync(buf);
}

/** The host libc calls, or null on a host without them (see the header). */
export function hostLibc(): HostLibc | null {
  if (cached !== undefined) return cached;
  const k = PLATFORM[process.platform];
  cached = null;
  if (!k) return null;
  let lib: LibraryHandle;
  try {
    // The process itself: Node is linked against the C library, whatever its file is called (glibc, musl, libSystem).
    lib = koffi.load(null);
  } catch {
    return null;
  }
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  const ioctlInt = lib.func('int ioctl(int fd, unsigned long request, _Out_ int *value)');
  const recv = lib.func('long recv(int fd, void *buf, unsigned long len, int flags)');
  const send = lib.func('long send(int fd, void *buf, unsigned long len, int flags)');
  const lseek = lib.func('int64_t lseek(int fd, int64_t offset, int whence)');
  const fcntl = lib.func('int fcntl(int fd, int cmd, ...)');
  const isatty = lib.func('int isatty(int fd)');
  let getentropy: ((buf: Uint8Array, len: number) => number) | null;
  try {
    getentropy = lib.func('int getentropy(void *buf, size_t len)') as (buf: Uint8Array, len: number) => number;
  } catch {
    getentropy = null; // an older C library: node:crypto then
  }
  const F_GETFL = 3; // Linux and macOS
  cached = {
    poll(entries, timeoutMs) {
      // struct pollfd { int fd; short events; short revents; }: 8 bytes each.
      const fds = Buffer.alloc(8 * entries.length);
      entries.forEach((e, i) => {
        fds.writeInt32LE(e.fd, 8 * i);
        fds.writeInt16LE(e.events, 8 * i + 4);
      });
      const n = poll(fds, entries.length, Math.max(0, Math.min(Math.ceil(timeoutMs), 0x7fffffff))) as number;
      if (n < 0) {
        if (koffi.errno() === os.constants.errno.EINTR) return entries.map(() => 0);
        throw hostError('poll');
      }
      return entries.map((_, i) => fds.readUInt16LE(8 * i + 6));
    },
    bytesReadable(fd) {
      const value = [0];
      if ((ioctlInt(fd, k.FIONREAD, value) as number) < 0) throw hostError('ioctl(FIONREAD)');
      return value[0]!;
    },
    recvNow(fd, buf) {
      const n = Number(recv(fd, buf, buf.length, k.MSG_DONTWAIT));
      if (n < 0) throw hostError('recv');
      return n;
    },
    sendNow(fd, buf) {
      const n = Number(send(fd, buf, buf.length, k.MSG_DONTWAIT | k.MSG_NOSIGNAL));
      if (n < 0) throw hostError('send');
      return n;
    },
    lseek(fd, offset, whence) {
      const at = Number(lseek(fd, offset, whence));
      if (at < 0) throw hostError('lseek');
      return at;
    },
    statusFlags(fd) {
      const flags = fcntl(fd, F_GETFL) as number;
      if (flags < 0) throw hostError('fcntl(F_GETFL)');
      return flags;
    },
    isatty(fd) {
      return Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff && (isatty(fd) as number) === 1;
    },
    randomFill: getentropy
      ? (buf) => {
          // getentropy gives at most 256 bytes a call (EIO past that).
          for (let at = 0; at < buf.length; at += 256) {
            const part = buf.subarray(at, Math.min(buf.length, at + 256));
            if (getentropy(part, part.length) !== 0) throw hostError('getentropy');
          }
        }
      : null,
  };
  return cached;
}
