// The host's sockets, for --net host: socket(2), bind, listen, accept4,
// connect, sendto, recvmsg, shutdown, the option calls and close, straight
// through the host's C library (koffi), on descriptors that are always
// non-blocking, so no call ever holds up the emulator; the kernel waits
// for readiness with poll(2) (src/kernel/host-socket.ts).
//
// Linux hosts only: struct sockaddr, the AF_*, SOCK_*, MSG_* and SO_*
// numbers are passed through as the guest (a Linux program) gave them,
// and those are the host's own only on Linux (macOS has sin_len and other
// numbers). Elsewhere hostSockets() is null and --net host is refused.
import * as os from 'node:os';
import koffi from 'koffi';

const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const FIONREAD = 0x541b;
/** struct msghdr on a 64-bit Linux host, and a sockaddr_storage. */
const MSGHDR_SIZE = 56;
const SOCKADDR_STORAGE = 128;

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** A failed host call: `code` is the errno name (EAGAIN, ECONNREFUSED...), as Node's fs errors. */
export class HostSocketError extends Error {
  constructor(
    readonly call: string,
    readonly code: string,
  ) {
    super(`${call}: ${code}`);
  }
}

function check(call: string, r: number | bigint): number {
  const n = Number(r);
  if (n < 0) throw new HostSocketError(call, ERRNO_NAMES.get(koffi.errno()) ?? 'EIO');
  return n;
}

export interface Received {
  n: number;
  /** The sender's struct sockaddr (empty when the host gave none). */
  from: Uint8Array;
  /** msg_flags (MSG_TRUNC for a datagram cut short). */
  flags: number;
}

export interface HostSockets {
  /** socket(2), non-blocking and close-on-exec on the host whatever the guest asked. */
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array): void;
  listen(fd: number, backlog: number): void;
  /** accept4(2): a new non-blocking host fd and the peer's address. */
  accept(fd: number): { fd: number; addr: Uint8Array };
  connect(fd: number, addr: Uint8Array): void;
  /** sendto(2) with MSG_DONTWAIT and MSG_NOSIGNAL (the kernel raises SIGPIPE for the guest). */
  send(fd: number, data: Uint8Array, flags: number, to: Uint8Array | null): number;
  /** recvmsg(2) with MSG_DONTWAIT into `buf`. */
  receive(fd: number, buf: Uint8Array, flags: number): Received;
  shutdown(fd: number, how: number): void;
  sockname(fd: number, peer: boolean): Uint8Array;
  setOption(fd: number, level: number, name: number, value: Uint8Array): void;
  getOption(fd: number, level: number, name: number, room: number): Uint8Array;
  /** FIONREAD: bytes queued for reading. */
  queued(fd: number): number;
  close(fd: number): void;
}

let cached: HostSockets | null | undefined;

/** The host's socket calls, or null on a host other than Linux. */
export function hostSockets(): HostSockets | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.platform !== 'linux') return null;
  const lib = koffi.load(null);
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, void *addr, uint32_t len)');
  const listen = lib.func('int listen(int fd, int backlog)');
  const accept4 = lib.func('int accept4(int fd, void *addr, _Inout_ uint32_t *len, int flags)');
  const connect = lib.func('int connect(int fd, void *addr, uint32_t len)');
  const sendto = lib.func('long sendto(int fd, void *buf, unsigned long len, int flags, void *addr, uint32_t alen)');
  const recvmsg = lib.func('long recvmsg(int fd, void *msg, int flags)');
  const shutdown = lib.func('int shutdown(int fd, int how)');
  const getsockname = lib.func('int getsockname(int fd, void *addr, _Inout_ uint32_t *len)');
  const getpeername = lib.func('int getpeername(int fd, void *addr, _Inout_ uint32_t *len)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, void *val, uint32_t len)');
  const getsockopt = lib.func('int getsockopt(int fd, int level, int name, void *val, _Inout_ uint32_t *len)');
  const ioctlInt = lib.func('int ioctl(int fd, unsigned long request, _Out_ int *value)');
  const close = lib.func('int close(int fd)');
  cached = {
    socket: (domain, type, protocol) => check('socket', socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)),
    bind: (fd, addr) => void check('bind', bind(fd, addr, addr.length)),
    listen: (fd, backlog) => void check('listen', listen(fd, backlog)),
    accept(fd) {
      const addr = Buffer.alloc(SOCKADDR_STORAGE);
      const len = [SOCKADDR_STORAGE];
      const conn = check('accept4', accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC));
      return { fd: conn, addr: addr.subarray(0, Math.min(len[0]!, SOCKADDR_STORAGE)) };
    },
    connect: (fd, addr) => void check('connect', connect(fd, addr, addr.length)),
    send: (fd, data, flags, to) => check('sendto', sendto(fd, data, data.length, flags | MSG_DONTWAIT | MSG_NOSIGNAL, to, to?.length ?? 0)),
    receive(fd, buf, flags) {
      // struct msghdr { name, namelen, iov, iovlen, control, controllen, flags } with one iovec.
      const name = Buffer.alloc(SOCKADDR_STORAGE);
      const iov = Buffer.alloc(16);
      const msg = Buffer.alloc(MSGHDR_SIZE);
      iov.writeBigUInt64LE(BigInt(koffi.address(buf)), 0);
      iov.writeBigUInt64LE(BigInt(buf.length), 8);
      msg.writeBigUInt64LE(BigInt(koffi.address(name)), 0);
      msg.writeUInt32LE(SOCKADDR_STORAGE, 8);
      msg.writeBigUInt64LE(BigInt(koffi.address(iov)), 16);
      msg.writeBigUInt64LE(1n, 24);
      const n = check('recvmsg', recvmsg(fd, msg, flags | MSG_DONTWAIT));
      return { n, from: name.subarray(0, msg.readUInt32LE(8)), flags: msg.readInt32LE(48) };
    },
    shutdown: (fd, how) => void check('shutdown', shutdown(fd, how)),
    sockname(fd, peer) {
      const addr = Buffer.alloc(SOCKADDR_STORAGE);
      const len = [SOCKADDR_STORAGE];
      check(peer ? 'getpeername' : 'getsockname', (peer ? getpeername : getsockname)(fd, addr, len));
      return addr.subarray(0, Math.min(len[0]!, SOCKADDR_STORAGE));
    },
    setOption: (fd, level, name, value) => void check('setsockopt', setsockopt(fd, level, name, value, value.length)),
    getOption(fd, level, name, room) {
      const val = Buffer.alloc(Math.max(room, 0));
      const len = [val.length];
      check('getsockopt', getsockopt(fd, level, name, val, len));
      return val.subarray(0, Math.min(len[0]!, val.length));
    },
    queued(fd) {
      const value = [0];
      check('ioctl(FIONREAD)', ioctlInt(fd, FIONREAD, value));
      return value[0]!;
    },
    close: (fd) => void close(fd),
  };
  return cached;
}
