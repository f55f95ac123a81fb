// Sockets (see socket(2), socket(7), unix(7)): socket, socketpair, bind,
// listen, accept, connect, shutdown, the send and receive calls with their
// ancillary data (SCM_RIGHTS, SCM_CREDENTIALS), and the socket options.
// The sockets themselves live in the kernel (src/kernel/socket.ts); this
// module converts between them and the guest's structs: struct sockaddr,
// struct msghdr with its iovecs and cmsgs, struct mmsghdr, option values.
// AF_UNIX and, with --net none, AF_INET/AF_INET6 on loopback are all inside
// the kernel; the guest never reaches the host's network. With --net host,
// AF_INET/AF_INET6 sockets are the host's, and their calls go to net-host.ts.
import { fail, LinuxError } from '../src/kernel/errors.ts';
import { ERRNO, type ErrnoName } from '../src/kernel/errno-table.ts';
import { OpenFileDescription } from '../src/kernel/fdtable.ts';
import type { KernelServices } from '../src/kernel/services.ts';
import { PROT_WRITE } from '../src/kernel/memory.ts';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AF_UNSPEC,
  MAX_SOCKBUF,
  MIN_RCVBUF,
  MIN_SNDBUF,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  MSG_WAITFORONE,
  SCM_MAX_FD,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  Socket,
  SocketNode,
  type Received,
  type SockAddr,
  type SocketWorld,
  type Ucred,
} from '../src/kernel/socket.ts';
import { UnixAddressing } from '../src/kernel/unix-socket.ts';
import { InetAddressing, isInetFamily, type InetAddr } from '../src/kernel/inet.ts';
import { Progress, WouldBlock } from '../src/kernel/wait.ts';
import { readIovecs, raiseSigpipe, type GuestBuffer } from './file.ts';
import type { OpenFile } from '../src/kernel/vfs/types.ts';
import { HostSocket } from '../src/kernel/host-socket.ts';
import {
  hostAccept,
  hostBind,
  hostConnect,
  hostGetsockopt,
  hostListen,
  hostName,
  hostNetOf,
  hostReceive,
  hostSend,
  hostSetsockopt,
  hostShutdown,
  hostSocket,
  hostSocketAt,
} from './net-host.ts';
import {
  guestInterfaces,
  netlinkAt,
  netlinkBind,
  netlinkConnect,
  netlinkGetsockopt,
  netlinkName,
  netlinkReceive,
  netlinkSend,
  netlinkSetsockopt,
  netlinkSocket,
} from './net-netlink.ts';
import { AF_NETLINK, ARPHRD_ETHER, ARPHRD_LOOPBACK, ipv4Broadcast, ipv4Netmask, type NetAddress, type NetInterface } from '../src/kernel/netlink.ts';
import { findSocketNode, makeSocketNode } from './fs.ts';
import { family, type SyscallContext } from './types.ts';

/** The run's sockets: the memory they are charged to, and each family's addresses. */
interface Net {
  world: SocketWorld;
  unix: UnixAddressing;
  inet: InetAddressing;
}

const nets = new WeakMap<KernelServices, Net>();

function netOf(ctx: SyscallContext): Net {
  let n = nets.get(ctx.kernel);
  if (!n) {
    const kernel = ctx.kernel;
    const world: SocketWorld = {
      budget: kernel.memoryBudget,
      inflight: new Map(),
      // write(2) on a socket has no ancillary data: its credentials are the calling process's.
      caller: () => {
        const p = kernel.currentTask.process;
        return { pid: p.pid, uid: p.creds.uid, gid: p.creds.gid };
      },
    };
    nets.set(ctx.kernel, (n = { world, unix: new UnixAddressing(), inet: new InetAddressing(world) }));
  }
  return n;
}

/** SCM_RIGHTS and SCM_CREDENTIALS (include/linux/socket.h). */
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const SOL_SOCKET = 1;
const SHUT_RDWR = 2;
/** sizeof(struct sockaddr_un) and of struct sockaddr_storage. */
const SOCKADDR_UN_SIZE = 110;
const SOCKADDR_STORAGE_SIZE = 128;
/** struct msghdr and struct mmsghdr on a 64-bit arch. */
const MSGHDR_SIZE = 56;
const MMSGHDR_SIZE = 64;
const CMSG_HDR = 16;
const UIO_MAXIOV = 1024;

const align8 = (n: number): number => (n + 7) & ~7;

// ---- who is calling ------------------------------------------------------------------------------

/** SCM_CREDENTIALS as the kernel fills them in: the thread group, real uid and gid (scm_set_cred). */
function credOf(ctx: SyscallContext): Ucred {
  return { pid: ctx.proc.pid, uid: ctx.proc.creds.uid, gid: ctx.proc.creds.gid };
}

/** SO_PEERCRED's view of a process: its effective ids (cred_to_ucred). */
function peerCredOf(ctx: SyscallContext): Ucred {
  return { pid: ctx.proc.pid, uid: ctx.proc.creds.euid, gid: ctx.proc.creds.egid };
}

function isRoot(ctx: SyscallContext): boolean {
  return ctx.proc.creds.euid === 0;
}

// ---- descriptors ---------------------------------------------------------------------------------

function sockOf(ctx: SyscallContext, fd: number): Socket {
  const ofd = ctx.fds.get(fd);
  if (!(ofd.file instanceof Socket)) fail('ENOTSOCK');
  return ofd.file;
}

export function nonblocking(ctx: SyscallContext, fd: number, flags: number): boolean {
  return (flags & MSG_DONTWAIT) !== 0 || (ctx.fds.get(fd).statusFlags & ctx.arch.c.O_NONBLOCK) !== 0;
}

/** SOCK_NONBLOCK and SOCK_CLOEXEC are O_NONBLOCK and O_CLOEXEC on every arch tslinux runs. */
export function socketFlags(ctx: SyscallContext, flags: number): { nonblock: boolean; cloexec: boolean } {
  const c = ctx.arch.c;
  if (flags & ~(c.O_NONBLOCK | c.O_CLOEXEC)) fail('EINVAL');
  return { nonblock: (flags & c.O_NONBLOCK) !== 0, cloexec: (flags & c.O_CLOEXEC) !== 0 };
}

function newSocket(ctx: SyscallContext, domain: number, type: number, protocol: number): Socket {
  const net = netOf(ctx);
  const node = new SocketNode(ctx.kernel.rootFs(), ctx.proc.creds.euid, ctx.proc.creds.egid);
  const addressing = domain === AF_UNIX ? net.unix : net.inet;
  const s = new Socket(net.world, node, domain, type, protocol, addressing);
  s.ownerCred = peerCredOf(ctx);
  return s;
}

function installSocket(ctx: SyscallContext, s: Socket, nonblock: boolean, cloexec: boolean): number {
  return installFile(ctx, s, s.node, nonblock, cloexec);
}

/** A new socket's fd (an in-kernel Socket or a --net host one); the socket is closed when no fd is free. */
export function installFile(ctx: SyscallContext, file: OpenFile, node: SocketNode, nonblock: boolean, cloexec: boolean): number {
  const c = ctx.arch.c;
  const ofd = new OpenFileDescription(file, node, node.fs, node.label, 'rw', c.O_RDWR | (nonblock ? c.O_NONBLOCK : 0), false);
  try {
    return ctx.fds.install(ofd, cloexec);
  } catch (e) {
    file.close();
    throw e;
  }
}

/** A family and type socket(2) can make: the protocol it gets, or the errno. */
function checkKind(domain: number, type: number, protocol: number): number {
  if (domain < 0 || domain >= 46 /* AF_MAX */) fail('EAFNOSUPPORT');
  if (type < 0 || type >= 11 /* SOCK_MAX */) fail('EINVAL');
  if (domain === AF_UNIX) {
    // unix_create: protocol 0 or PF_UNIX; SOCK_RAW is taken as SOCK_DGRAM.
    if (protocol !== 0 && protocol !== AF_UNIX) fail('EPROTONOSUPPORT');
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_SEQPACKET && type !== SOCK_RAW) fail('ESOCKTNOSUPPORT');
    return 0;
  }
  if (isInetFamily(domain)) {
    // inet_create: TCP for streams, UDP for datagrams (IPPROTO_IP picks them); raw sockets need CAP_NET_RAW and a network.
    if (type === SOCK_STREAM && (protocol === 0 || protocol === 6)) return 6;
    if (type === SOCK_DGRAM && (protocol === 0 || protocol === 17)) return 17;
    if (type === SOCK_STREAM || type === SOCK_DGRAM || type === SOCK_RAW) fail('EPROTONOSUPPORT');
    fail('ESOCKTNOSUPPORT');
  }
  fail('EAFNOSUPPORT');
}

function socket(ctx: SyscallContext, domain: number, typeArg: number, protocol: number): number {
  const { nonblock, cloexec } = socketFlags(ctx, typeArg & ~0xf);
  let type = typeArg & 0xf;
  if (domain === AF_NETLINK) return netlinkSocket(ctx, type, protocol, typeArg & ~0xf);
  const proto = checkKind(domain, type, protocol);
  const host = isInetFamily(domain) ? hostNetOf(ctx) : null;
  if (host) return hostSocket(ctx, host, domain, type, proto, typeArg & ~0xf);
  if (domain === AF_UNIX && type === SOCK_RAW) type = SOCK_DGRAM;
  return installSocket(ctx, newSocket(ctx, domain, type, proto), nonblock, cloexec);
}

function socketpair(ctx: SyscallContext, domain: number, typeArg: number, protocol: number, sv: number): number {
  const { nonblock, cloexec } = socketFlags(ctx, typeArg & ~0xf);
  let type = typeArg & 0xf;
  checkKind(domain, type, protocol);
  // Only AF_UNIX makes pairs (inet_stream_ops has sock_no_socketpair).
  if (domain !== AF_UNIX) fail('EOPNOTSUPP');
  if (type === SOCK_RAW) type = SOCK_DGRAM;
  ctx.mem.view(sv, 8, PROT_WRITE);
  const a = newSocket(ctx, domain, type, 0);
  const b = newSocket(ctx, domain, type, 0);
  Socket.pair(a, b, peerCredOf(ctx), peerCredOf(ctx));
  const fa = installSocket(ctx, a, nonblock, cloexec);
  let fb: number;
  try {
    fb = installSocket(ctx, b, nonblock, cloexec);
  } catch (e) {
    ctx.fds.close(fa);
    throw e;
  }
  ctx.mem.writeU32(sv, fa);
  ctx.mem.writeU32(sv + 4, fb);
  return 0;
}

// ---- addresses -----------------------------------------------------------------------------------

/**
 * A struct sockaddr from the guest, for a socket of `s`'s family: EINVAL for
 * a length out of range, EAFNOSUPPORT (or EINVAL) for another family.
 */
function readSockaddr(ctx: SyscallContext, s: Socket, ptr: number, len: number): SockAddr | null {
  if (len < 0 || len > SOCKADDR_STORAGE_SIZE) fail('EINVAL');
  if (len < 2) fail('EINVAL');
  const b = ctx.mem.read(ptr, len);
  const fam = b[0]! | (b[1]! << 8);
  if (s.family === AF_UNIX) {
    if (fam !== AF_UNIX || len > SOCKADDR_UN_SIZE) fail('EINVAL');
    const path = b.subarray(2);
    if (path.length === 0) return { family: AF_UNIX, name: new Uint8Array(0) };
    if (path[0] === 0) return { family: AF_UNIX, name: path.slice() };
    const nul = path.indexOf(0);
    return { family: AF_UNIX, name: path.slice(0, nul < 0 ? path.length : nul) };
  }
  if (fam === AF_UNSPEC) return null;
  return netOf(ctx).inet.parse(s, b);
}

/** The address of the other end: an inet peer's as kept at connect, an AF_UNIX peer's as it is bound now. */
function peerAddressOf(s: Socket): SockAddr | null {
  return s.peerAddress ?? s.peer?.local ?? s.remote ?? null;
}

/** The bytes of a struct sockaddr for `a` (and its length: a path name ends with its NUL). */
function encodeSockaddr(a: SockAddr | null, family: number): Uint8Array {
  if (!a) {
    const b = new Uint8Array(2);
    b[0] = family;
    return b;
  }
  if (a.family === AF_UNIX) {
    const path = a.name.length > 0 && a.name[0] !== 0;
    const b = new Uint8Array(2 + a.name.length + (path ? 1 : 0));
    b[0] = AF_UNIX;
    b.set(a.name, 2);
    return b;
  }
  const v6 = a.family === AF_INET6;
  const b = new Uint8Array(v6 ? 28 : 16);
  const v = new DataView(b.buffer);
  v.setUint16(0, a.family, true);
  v.setUint16(2, a.port, false);
  b.set(a.addr, v6 ? 8 : 4);
  return b;
}

/**
 * Store an address where the guest asked (accept, getsockname, recvfrom):
 * as much as fits in *lenPtr, then the address's real length in *lenPtr
 * (move_addr_to_user). A NULL address pointer stores nothing.
 */
export function writeSockaddr(ctx: SyscallContext, ptr: number, lenPtr: number, bytes: Uint8Array): void {
  if (!ptr) return;
  const room = ctx.mem.readI32(lenPtr);
  if (room < 0) fail('EINVAL');
  if (room > 0 && bytes.length > 0) ctx.mem.write(ptr, bytes.subarray(0, Math.min(room, bytes.length)));
  ctx.mem.writeU32(lenPtr, bytes.length);
}

/** The socket an AF_UNIX address names: the path's node, or the abstract name (ECONNREFUSED when none listens there). */
function unixTarget(ctx: SyscallContext, a: Extract<SockAddr, { family: typeof AF_UNIX }>): Socket {
  const net = netOf(ctx);
  if (a.name.length === 0) fail('EINVAL');
  let target: Socket | null;
  if (a.name[0] === 0) {
    target = net.unix.atAbstract(a.name);
  } else {
    const at = findSocketNode(ctx, Buffer.from(a.name).toString('latin1'));
    target = net.unix.atInode(at.fs, at.ino);
  }
  if (!target || target.isReleased) fail('ECONNREFUSED');
  return target;
}

function bind(ctx: SyscallContext, fd: number, addrPtr: number, addrlen: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostBind(ctx, h, addrPtr, addrlen);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkBind(ctx, nl, addrPtr, addrlen);
  const s = sockOf(ctx, fd);
  const a = readSockaddr(ctx, s, addrPtr, addrlen);
  if (s.family !== AF_UNIX) {
    if (!a) fail('EAFNOSUPPORT');
    netOf(ctx).inet.bind(s, a as InetAddr, isRoot(ctx));
    return 0;
  }
  const ua = a as Extract<SockAddr, { family: typeof AF_UNIX }>;
  const net = netOf(ctx);
  if (s.local) fail('EINVAL');
  if (ua.name.length === 0) {
    net.unix.autobind(s);
    return 0;
  }
  if (ua.name[0] === 0) {
    net.unix.bindAbstract(s, ua.name);
    return 0;
  }
  const at = makeSocketNode(ctx, Buffer.from(ua.name).toString('latin1'));
  net.unix.bindInode(s, at.fs, at.ino, ua.name);
  return 0;
}

function listen(ctx: SyscallContext, fd: number, backlog: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostListen(h, backlog);
  if (netlinkAt(ctx, fd)) fail('EOPNOTSUPP');
  const s = sockOf(ctx, fd);
  // An AF_UNIX socket must be bound first (unix_listen: EINVAL); an inet one is bound to an ephemeral port.
  if (!s.connectionOriented) fail('EOPNOTSUPP');
  if (s.family === AF_UNIX && !s.local) fail('EINVAL');
  if (s.family !== AF_UNIX && s.state === 'unconnected') netOf(ctx).inet.prepareListen(s);
  s.listen(backlog);
  s.listenCred = peerCredOf(ctx);
  return 0;
}

/** The per-call state a blocking socket call keeps across its retries: its deadline (SO_RCVTIMEO/SO_SNDTIMEO) and progress. */
class SocketCall extends Progress {
  constructor(readonly deadline: bigint | null) {
    super();
  }
}

export function callState(ctx: SyscallContext, timeoNs: bigint): SocketCall {
  const st = ctx.task.syscallState;
  if (st instanceof SocketCall) return st;
  const fresh = new SocketCall(timeoNs > 0n ? ctx.kernel.monotonicNs() + timeoNs : null);
  ctx.task.syscallState = fresh;
  return fresh;
}

/** A call that found nothing to do: EAGAIN when it may not wait or its time is up, else the wait. */
export function waitOr(ctx: SyscallContext, e: unknown, nonblock: boolean, st: SocketCall): never {
  if (!(e instanceof WouldBlock)) throw e;
  if (nonblock) fail('EAGAIN');
  if (st.deadline !== null && ctx.kernel.monotonicNs() >= st.deadline) fail('EAGAIN');
  throw new WouldBlock(e.on, st.deadline);
}

function accept4(ctx: SyscallContext, fd: number, addrPtr: number, lenPtr: number, flags: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostAccept(ctx, fd, h, addrPtr, lenPtr, flags);
  if (netlinkAt(ctx, fd)) fail('EOPNOTSUPP');
  const { nonblock, cloexec } = socketFlags(ctx, flags);
  const s = sockOf(ctx, fd);
  if (!s.connectionOriented) fail('EOPNOTSUPP');
  const st = callState(ctx, s.opts.rcvtimeoNs);
  let conn: Socket;
  try {
    conn = s.accept();
  } catch (e) {
    waitOr(ctx, e, nonblocking(ctx, fd, 0), st);
  }
  const newFd = installSocket(ctx, conn, nonblock, cloexec);
  try {
    writeSockaddr(ctx, addrPtr, lenPtr, encodeSockaddr(peerAddressOf(conn), s.family));
  } catch (e) {
    ctx.fds.close(newFd);
    throw e;
  }
  return newFd;
}

function accept(ctx: SyscallContext, fd: number, addrPtr: number, lenPtr: number): number {
  return accept4(ctx, fd, addrPtr, lenPtr, 0);
}

function connect(ctx: SyscallContext, fd: number, addrPtr: number, addrlen: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostConnect(ctx, fd, h, addrPtr, addrlen);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkConnect(ctx, nl, addrPtr, addrlen);
  const s = sockOf(ctx, fd);
  const a = readSockaddr(ctx, s, addrPtr, addrlen);
  const nonblock = nonblocking(ctx, fd, 0);
  if (s.family !== AF_UNIX) {
    const st = callState(ctx, s.opts.sndtimeoNs);
    try {
      return netOf(ctx).inet.connect(s, a as InetAddr | null, nonblock, peerCredOf(ctx));
    } catch (e) {
      if (e instanceof WouldBlock && st.deadline !== null && ctx.kernel.monotonicNs() >= st.deadline) fail('ETIMEDOUT');
      throw e;
    }
  }
  const ua = a as Extract<SockAddr, { family: typeof AF_UNIX }>;
  if (!s.connectionOriented) {
    if (!a || ua.name.length === 0) {
      s.peer = null; // AF_UNSPEC (or no name): dissolve the association
      return 0;
    }
    const target = unixTarget(ctx, ua);
    if (target.type !== s.type) fail('EPROTOTYPE');
    if (s.opts.passcred && !s.local) netOf(ctx).unix.autobind(s);
    s.peer = target;
    s.peerCred = target.listenCred ?? target.ownerCred;
    return 0;
  }
  if (s.state === 'connected') fail('EISCONN');
  if (s.state === 'listening') fail('EINVAL');
  const target = unixTarget(ctx, ua);
  if (target.type !== s.type) fail('EPROTOTYPE');
  if (target.state !== 'listening') fail('ECONNREFUSED');
  const st = callState(ctx, s.opts.sndtimeoNs);
  if (target.backlogFull) waitOr(ctx, new WouldBlock([target.writable, target.readable]), nonblock, st);
  if (s.opts.passcred && !s.local) netOf(ctx).unix.autobind(s);
  const server = newSocket(ctx, AF_UNIX, s.type, 0);
  server.local = target.local;
  server.opts.sndbuf = target.opts.sndbuf;
  server.opts.rcvbuf = target.opts.rcvbuf;
  server.opts.passcred = target.opts.passcred;
  target.enqueueConnection(s, server, peerCredOf(ctx), target.listenCred ?? peerCredOf(ctx));
  return 0;
}

function shutdown(ctx: SyscallContext, fd: number, how: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostShutdown(h, how);
  if (netlinkAt(ctx, fd)) return 0;
  sockOf(ctx, fd).shutdown(how);
  return 0;
}

function getsockname(ctx: SyscallContext, fd: number, addrPtr: number, lenPtr: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostName(ctx, h, addrPtr, lenPtr, false);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkName(ctx, nl, addrPtr, lenPtr, false);
  const s = sockOf(ctx, fd);
  const local = s.local ?? (s.family === AF_UNIX ? null : netOf(ctx).inet.unboundAddress(s));
  writeSockaddr(ctx, addrPtr, lenPtr, encodeSockaddr(local, s.family));
  return 0;
}

function getpeername(ctx: SyscallContext, fd: number, addrPtr: number, lenPtr: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostName(ctx, h, addrPtr, lenPtr, true);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkName(ctx, nl, addrPtr, lenPtr, true);
  const s = sockOf(ctx, fd);
  const connected = s.connectionOriented ? s.state === 'connected' || (s.state === 'closed' && s.peer !== null) : s.peer !== null || s.remote !== null;
  if (!connected) fail('ENOTCONN');
  writeSockaddr(ctx, addrPtr, lenPtr, encodeSockaddr(peerAddressOf(s), s.family));
  return 0;
}

// ---- sending ---------------------------------------------------------------------------------------

/** What a send carries besides its bytes: fds and credentials from its cmsgs. */
interface Ancillary {
  rights: OpenFileDescription[] | null;
  cred: Ucred | null;
}

/** Parse the control buffer of a sendmsg: SCM_RIGHTS and SCM_CREDENTIALS (__scm_send); other levels are ignored. */
function readControl(ctx: SyscallContext, s: Socket, ptr: number, len: number): Ancillary {
  const out: Ancillary = { rights: null, cred: null };
  if (len === 0) return out;
  if (len < CMSG_HDR || len > 1 << 20) fail(len > 1 << 20 ? 'ENOBUFS' : 'EINVAL');
  const b = ctx.mem.read(ptr, len);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  try {
    for (let at = 0; at + CMSG_HDR <= len; ) {
      const clen = Number(v.getBigUint64(at, true));
      const level = v.getInt32(at + 8, true);
      const type = v.getInt32(at + 12, true);
      if (clen < CMSG_HDR || at + clen > len) fail('EINVAL');
      const data = b.subarray(at + CMSG_HDR, at + clen);
      if (level === SOL_SOCKET) {
        if (s.family !== AF_UNIX && (type === SCM_RIGHTS || type === SCM_CREDENTIALS)) fail('EINVAL');
        if (type === SCM_RIGHTS) {
          const n = data.length >> 2;
          if (n === 0) {
            // An empty SCM_RIGHTS is accepted and carries nothing.
          } else {
            if (out.rights || n > SCM_MAX_FD) fail('EINVAL');
            const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
            const rights: OpenFileDescription[] = [];
            out.rights = rights;
            for (let i = 0; i < n; i++) rights.push(ctx.fds.get(dv.getInt32(i * 4, true)).retain());
          }
        } else if (type === SCM_CREDENTIALS) {
          if (data.length !== 12) fail('EINVAL');
          const dv = new DataView(data.buffer, data.byteOffset, 12);
          out.cred = checkCred(ctx, { pid: dv.getInt32(0, true), uid: dv.getUint32(4, true), gid: dv.getUint32(8, true) });
        } else {
          fail('EINVAL');
        }
      }
      at += align8(clen);
    }
  } catch (e) {
    for (const o of out.rights ?? []) o.release();
    throw e;
  }
  return out;
}

/** scm_check_creds: a process may claim its own pid and any of its ids; root anything. */
function checkCred(ctx: SyscallContext, c: Ucred): Ucred {
  if (isRoot(ctx)) return c;
  const p = ctx.proc.creds;
  if (c.pid !== ctx.proc.pid) fail('EPERM');
  if (c.uid !== p.uid && c.uid !== p.euid && c.uid !== p.suid) fail('EPERM');
  if (c.gid !== p.gid && c.gid !== p.egid && c.gid !== p.sgid) fail('EPERM');
  return c;
}

/** Bytes [from, from+max) of the guest's buffers, gathered. */
export function gather(ctx: SyscallContext, bufs: readonly GuestBuffer[], from: number, max: number): Uint8Array {
  const out = new Uint8Array(max);
  let n = 0;
  let start = 0;
  for (const { base, len } of bufs) {
    if (n >= max) break;
    const skip = Math.max(0, from - start);
    start += len;
    if (skip >= len) continue;
    const k = Math.min(len - skip, max - n);
    out.set(ctx.mem.read(base + skip, k), n);
    n += k;
  }
  return out;
}

export const totalOf = (bufs: readonly GuestBuffer[]): number => bufs.reduce((t, b) => t + b.len, 0);

/**
 * The heart of every send: `bufs` to the peer or `to`, with ancillary
 * data. A blocking stream send goes on until every byte is out (resuming
 * after each wait at the count so far); everything else goes at once or
 * waits whole. EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
 */
function sendBuffers(ctx: SyscallContext, fd: number, bufs: readonly GuestBuffer[], flags: number, to: SockAddr | null, anc: Ancillary): number {
  const s = sockOf(ctx, fd);
  if (flags & MSG_OOB && (s.family === AF_UNIX || !s.isStream)) fail('EOPNOTSUPP');
  const nonblock = nonblocking(ctx, fd, flags);
  const st = callState(ctx, s.opts.sndtimeoNs);
  const total = totalOf(bufs);
  const cred = anc.cred ?? credOf(ctx);
  let rights = anc.rights;
  try {
    // Fds in flight count against the sender's RLIMIT_NOFILE (too_many_unix_fds), root excepted.
    if (rights && !isRoot(ctx) && (s.world.inflight.get(cred.uid) ?? 0) + rights.length > ctx.fds.limit) fail('ETOOMANYREFS');
    if (s.family !== AF_UNIX && !s.isStream) {
      if (total > 65507) fail('EMSGSIZE');
      return netOf(ctx).inet.sendDatagram(s, gather(ctx, bufs, 0, total), to as InetAddr | null, cred);
    }
    const target = to ? sendTarget(ctx, s, to) : null;
    if (!s.isStream) {
      if (total > s.opts.sndbuf) fail('EMSGSIZE');
      const n = s.send(gather(ctx, bufs, 0, total), rights, cred, target);
      rights = null;
      return n;
    }
    if (target && s.state !== 'connected') fail(s.family === AF_UNIX ? 'EOPNOTSUPP' : 'EPIPE');
    while (st.done < total || (total === 0 && rights)) {
      const chunk = gather(ctx, bufs, st.done, Math.min(total - st.done, 1 << 20));
      const n = s.send(chunk, rights, cred, null);
      if (rights) rights = null;
      st.done += n;
      if (total === 0) break;
    }
    return st.done;
  } catch (e) {
    if (e instanceof LinuxError) {
      if (e.code === 'EPIPE' && !(flags & MSG_NOSIGNAL)) raiseSigpipe(ctx);
      if (st.done > 0 && s.isStream) return st.done;
      throw e;
    }
    if (!(e instanceof WouldBlock)) throw e;
    if (st.done > 0 && (nonblock || (st.deadline !== null && ctx.kernel.monotonicNs() >= st.deadline))) return st.done;
    return waitOr(ctx, e, nonblock, st);
  } finally {
    for (const o of rights ?? []) o.release();
  }
}

/** Where a datagram to `to` goes (connection-oriented sockets ignore the address, as unix_stream_sendmsg refuses it). */
function sendTarget(ctx: SyscallContext, s: Socket, to: SockAddr): Socket | null {
  if (s.family !== AF_UNIX) return netOf(ctx).inet.sendTarget(s, to as InetAddr);
  if (s.connectionOriented) fail(s.state === 'connected' ? 'EISCONN' : 'EOPNOTSUPP');
  const target = unixTarget(ctx, to as Extract<SockAddr, { family: typeof AF_UNIX }>);
  if (target.type !== s.type) fail('EPROTOTYPE');
  // A datagram socket connected elsewhere takes nothing from others (unix_may_send).
  if (target.peer && target.peer !== s) fail('EPERM');
  if (s.opts.passcred && !s.local) netOf(ctx).unix.autobind(s);
  return target;
}

function sendto(ctx: SyscallContext, fd: number, buf: number, len: number, flags: number, addrPtr: number, addrlen: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostSend(ctx, fd, h, [{ base: buf, len }], flags, addrPtr ? readHostAddr(ctx, addrPtr, addrlen) : null);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkSend(ctx, nl, [{ base: buf, len }], { ptr: addrPtr, len: addrlen });
  const s = sockOf(ctx, fd);
  const to = addrPtr ? readSockaddr(ctx, s, addrPtr, addrlen) : null;
  return sendBuffers(ctx, fd, [{ base: buf, len }], flags, to, { rights: null, cred: null });
}

interface Msghdr {
  name: number;
  namelen: number;
  iov: GuestBuffer[];
  control: number;
  controllen: number;
}

function readMsghdr(ctx: SyscallContext, ptr: number): Msghdr {
  const b = ctx.mem.read(ptr, MSGHDR_SIZE);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const iovlen = Number(v.getBigUint64(24, true));
  if (iovlen > UIO_MAXIOV) fail('EMSGSIZE');
  return {
    name: Number(v.getBigUint64(0, true)),
    namelen: v.getInt32(8, true),
    iov: readIovecs(ctx, Number(v.getBigUint64(16, true)), iovlen),
    control: Number(v.getBigUint64(32, true)),
    controllen: Number(v.getBigUint64(40, true)),
  };
}

function sendOneMsg(ctx: SyscallContext, fd: number, msgPtr: number, flags: number): number {
  const h = hostSocketAt(ctx, fd);
  const m = readMsghdr(ctx, msgPtr);
  if (h) return hostSend(ctx, fd, h, m.iov, flags, m.name && m.namelen ? readHostAddr(ctx, m.name, m.namelen) : null);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkSend(ctx, nl, m.iov, { ptr: m.name, len: m.namelen });
  const s = sockOf(ctx, fd);
  const to = m.name && m.namelen ? readSockaddr(ctx, s, m.name, m.namelen) : null;
  const anc = readControl(ctx, s, m.control, m.controllen);
  return sendBuffers(ctx, fd, m.iov, flags, to, anc);
}

function sendmsg(ctx: SyscallContext, fd: number, msgPtr: number, flags: number): number {
  return sendOneMsg(ctx, fd, msgPtr, flags);
}

/** sendmmsg(2): each message in turn; the count sent, or the first one's error. */
function sendmmsg(ctx: SyscallContext, fd: number, vec: number, vlen: number, flags: number): number {
  if (!hostSocketAt(ctx, fd) && !netlinkAt(ctx, fd)) sockOf(ctx, fd);
  const n = Math.min(vlen >>> 0, UIO_MAXIOV);
  let sent = 0;
  for (; sent < n; sent++) {
    const at = vec + sent * MMSGHDR_SIZE;
    let r: number;
    try {
      r = sendOneMsg(ctx, fd, at, flags);
    } catch (e) {
      if (sent > 0 && (e instanceof LinuxError || e instanceof WouldBlock)) break;
      throw e;
    }
    ctx.mem.writeU32(at + MSGHDR_SIZE, r);
    ctx.task.syscallState = undefined;
  }
  return sent;
}

// ---- receiving ---------------------------------------------------------------------------------------

/** Copy `data` into the guest's buffers, from byte `from` of them on. */
export function scatter(ctx: SyscallContext, bufs: readonly GuestBuffer[], from: number, data: Uint8Array): void {
  let n = 0;
  let start = 0;
  for (const { base, len } of bufs) {
    if (n >= data.length) break;
    const skip = Math.max(0, from - start);
    start += len;
    if (skip >= len) continue;
    const k = Math.min(len - skip, data.length - n);
    ctx.mem.write(base + skip, data.subarray(n, n + k));
    n += k;
  }
}

/** What one receive delivered, for recvmsg's header. */
interface Delivery {
  n: number;
  got: Received | null;
}

/**
 * The heart of every receive. MSG_WAITALL on a stream waits until the
 * buffers are full (or end-of-file, an error, a signal: the count so far);
 * MSG_PEEK leaves the data queued; MSG_TRUNC returns a datagram's real
 * length (a stream's bytes are dropped instead of copied).
 */
function receiveBuffers(ctx: SyscallContext, fd: number, bufs: readonly GuestBuffer[], flags: number): Delivery {
  const s = sockOf(ctx, fd);
  if (flags & MSG_OOB) fail(s.family === AF_UNIX ? 'EOPNOTSUPP' : 'EINVAL');
  const nonblock = nonblocking(ctx, fd, flags);
  const st = callState(ctx, s.opts.rcvtimeoNs);
  // Every buffer must be writable before anything leaves the queue.
  for (const { base, len } of bufs) if (len > 0) ctx.mem.view(base, len, PROT_WRITE);
  const total = totalOf(bufs);
  const peek = (flags & MSG_PEEK) !== 0;
  const waitall = (flags & MSG_WAITALL) !== 0 && s.isStream && !peek && !nonblock;
  let last: Received | null = null;
  try {
    for (;;) {
      const got = s.receive(total - st.done, peek);
      last = got;
      if (!(s.isStream && flags & MSG_TRUNC)) scatter(ctx, bufs, st.done, got.data);
      st.done += got.data.length;
      if (!waitall || got.data.length === 0 || st.done >= total || got.rights) break;
    }
  } catch (e) {
    if (st.done > 0 && (e instanceof LinuxError || (e instanceof WouldBlock && st.deadline !== null && ctx.kernel.monotonicNs() >= st.deadline))) {
      return { n: st.done, got: last };
    }
    waitOr(ctx, e, nonblock, st);
  }
  const n = !s.isStream && flags & MSG_TRUNC ? (last?.fullLength ?? st.done) : st.done;
  return { n, got: last };
}

function recvfrom(ctx: SyscallContext, fd: number, buf: number, len: number, flags: number, addrPtr: number, lenPtr: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) {
    const d = hostReceive(ctx, fd, h, [{ base: buf, len }], flags);
    if (addrPtr) writeSockaddr(ctx, addrPtr, lenPtr, h.isStream ? new Uint8Array(0) : d.from);
    return d.n;
  }
  const nl = netlinkAt(ctx, fd);
  if (nl) {
    const d = netlinkReceive(ctx, fd, nl, [{ base: buf, len }], flags);
    if (addrPtr) writeSockaddr(ctx, addrPtr, lenPtr, d.from);
    return d.n;
  }
  const d = receiveBuffers(ctx, fd, [{ base: buf, len }], flags);
  dropRights(d.got);
  const s = sockOf(ctx, fd);
  if (addrPtr) writeSockaddr(ctx, addrPtr, lenPtr, d.got?.from && !(s.family !== AF_UNIX && s.isStream) ? encodeSockaddr(d.got.from, s.family) : new Uint8Array(0));
  return d.n;
}

/** fds a receive had nowhere to put are closed. */
function dropRights(got: Received | null): void {
  for (const o of got?.rights ?? []) o.release();
  if (got) got.rights = null;
}

/**
 * The control messages of a receive (scm_recv): SCM_CREDENTIALS when
 * SO_PASSCRED is on, then SCM_RIGHTS with the fds installed in the
 * receiver's table (as many as fit the buffer and RLIMIT_NOFILE; the rest
 * are closed and MSG_CTRUNC says so). Returns the bytes used and flags.
 */
function writeControl(ctx: SyscallContext, s: Socket, got: Received | null, ptr: number, room: number, flags: number): { used: number; flags: number } {
  let used = 0;
  let outFlags = 0;
  const put = (type: number, data: Uint8Array): boolean => {
    const need = CMSG_HDR + data.length;
    if (room - used < need) {
      outFlags |= MSG_CTRUNC;
      return false;
    }
    const b = new Uint8Array(Math.min(align8(need), room - used));
    const v = new DataView(b.buffer);
    v.setBigUint64(0, BigInt(need), true);
    v.setInt32(8, SOL_SOCKET, true);
    v.setInt32(12, type, true);
    b.set(data, CMSG_HDR);
    ctx.mem.write(ptr + used, b);
    used += b.length;
    return true;
  };
  if (got && s.opts.passcred && s.family === AF_UNIX) {
    const c = got.cred ?? { pid: 0, uid: 65534, gid: 65534 };
    const d = new Uint8Array(12);
    const v = new DataView(d.buffer);
    v.setInt32(0, c.pid, true);
    v.setUint32(4, c.uid, true);
    v.setUint32(8, c.gid, true);
    put(SCM_CREDENTIALS, d);
  }
  const rights = got?.rights ?? [];
  if (got) got.rights = null;
  if (rights.length > 0) {
    const fit = Math.max(0, Math.min(rights.length, Math.floor((room - used - CMSG_HDR) / 4)));
    const fds: number[] = [];
    const cloexec = (flags & MSG_CMSG_CLOEXEC) !== 0;
    for (let i = 0; i < fit; i++) {
      try {
        fds.push(ctx.fds.install(rights[i]!, cloexec));
      } catch {
        break;
      }
    }
    if (fds.length < rights.length) outFlags |= MSG_CTRUNC;
    if (fds.length > 0) {
      const d = new Uint8Array(fds.length * 4);
      const v = new DataView(d.buffer);
      fds.forEach((fd, i) => v.setInt32(i * 4, fd, true));
      put(SCM_RIGHTS, d);
    }
    for (const o of rights) o.release();
  }
  return { used, flags: outFlags };
}

function recvOneMsg(ctx: SyscallContext, fd: number, msgPtr: number, flags: number): number {
  const h = hostSocketAt(ctx, fd);
  const m = readMsghdr(ctx, msgPtr);
  if (m.namelen < 0) fail('EINVAL');
  if (h) return hostRecvMsg(ctx, fd, h, m, msgPtr, flags);
  const nl = netlinkAt(ctx, fd);
  if (nl) {
    const d = netlinkReceive(ctx, fd, nl, m.iov, flags);
    writeBareMsghdr(ctx, m, msgPtr, d.from, d.flags | (flags & MSG_CMSG_CLOEXEC));
    return d.n;
  }
  const s = sockOf(ctx, fd);
  const d = receiveBuffers(ctx, fd, m.iov, flags);
  const got = d.got;
  // msg_flags starts as the call's MSG_CMSG_CLOEXEC (___sys_recvmsg), then says what happened.
  let msgFlags = (got?.flags ?? 0) | (flags & MSG_CMSG_CLOEXEC);
  let namelen = 0;
  if (m.name && got?.from && !(s.family !== AF_UNIX && s.isStream)) {
    const bytes = encodeSockaddr(got.from, s.family);
    if (m.namelen > 0) ctx.mem.write(m.name, bytes.subarray(0, Math.min(m.namelen, bytes.length)));
    namelen = bytes.length;
  }
  const ctl = m.control ? writeControl(ctx, s, got, m.control, m.controllen, flags) : { used: 0, flags: got?.rights?.length ? MSG_CTRUNC : 0 };
  dropRights(got);
  msgFlags |= ctl.flags;
  ctx.mem.writeU32(msgPtr + 8, namelen);
  ctx.mem.writeU64(msgPtr + 40, ctl.used);
  ctx.mem.writeU32(msgPtr + 48, msgFlags);
  return d.n;
}

/** recvmsg on a host socket: the sender's address, no control messages, the host's msg_flags. */
function hostRecvMsg(ctx: SyscallContext, fd: number, h: HostSocket, m: Msghdr, msgPtr: number, flags: number): number {
  const d = hostReceive(ctx, fd, h, m.iov, flags);
  writeBareMsghdr(ctx, m, msgPtr, h.isStream ? new Uint8Array(0) : d.from, d.flags | (flags & MSG_CMSG_CLOEXEC));
  return d.n;
}

/** A received message's header without control messages: the sender's address (as much as msg_namelen holds), its length, and msg_flags. */
function writeBareMsghdr(ctx: SyscallContext, m: Msghdr, msgPtr: number, from: Uint8Array, msgFlags: number): void {
  if (m.name && m.namelen > 0 && from.length > 0) ctx.mem.write(m.name, from.subarray(0, Math.min(m.namelen, from.length)));
  ctx.mem.writeU32(msgPtr + 8, m.name ? from.length : 0);
  ctx.mem.writeU64(msgPtr + 40, 0);
  ctx.mem.writeU32(msgPtr + 48, msgFlags);
}

/** A destination address for a host socket, as the guest's bytes (the host is Linux too). */
function readHostAddr(ctx: SyscallContext, ptr: number, len: number): Uint8Array {
  if (len < 0 || len > SOCKADDR_STORAGE_SIZE) fail('EINVAL');
  return ctx.mem.read(ptr, len).slice();
}

function recvmsg(ctx: SyscallContext, fd: number, msgPtr: number, flags: number): number {
  return recvOneMsg(ctx, fd, msgPtr, flags);
}

/**
 * recvmmsg(2): messages until vlen, an error after the first, or nothing
 * more queued after the first with MSG_WAITFORONE. The timeout is not
 * honoured while waiting for the first (as Linux, see recvmmsg(2), BUGS).
 */
function recvmmsg(ctx: SyscallContext, fd: number, vec: number, vlen: number, flags: number, _timeout: number): number {
  if (!hostSocketAt(ctx, fd) && !netlinkAt(ctx, fd)) sockOf(ctx, fd);
  const n = Math.min(vlen >>> 0, UIO_MAXIOV);
  let got = 0;
  for (; got < n; got++) {
    const at = vec + got * MMSGHDR_SIZE;
    const f = got > 0 && flags & MSG_WAITFORONE ? flags | MSG_DONTWAIT : flags;
    let r: number;
    try {
      r = recvOneMsg(ctx, fd, at, f & ~MSG_WAITFORONE);
    } catch (e) {
      if (got > 0 && (e instanceof LinuxError || e instanceof WouldBlock)) break;
      throw e;
    }
    ctx.mem.writeU32(at + MSGHDR_SIZE, r);
    ctx.task.syscallState = undefined;
  }
  return got;
}

// ---- options -------------------------------------------------------------------------------------------

const SO_TIMEO_OLD = { rcv: 20, snd: 21 };
const SO_TIMEO_NEW = { rcv: 66, snd: 67 };

/** Options that are an int, kept as given and read back (SO_* by number). */
const PLAIN_INT_OPTS = new Set([1 /* SO_DEBUG */, 5 /* SO_DONTROUTE */, 12 /* SO_PRIORITY */, 18 /* SO_RCVLOWAT */, 36 /* SO_MARK */, 11 /* SO_NO_CHECK */]);

function readOptInt(ctx: SyscallContext, ptr: number, len: number): number {
  if (len < 4) fail('EINVAL');
  return ctx.mem.readI32(ptr);
}

/**
 * The buffer size SO_SNDBUF or SO_RCVBUF (7, 8) sets, for any socket
 * (sock_setsockopt): capped at wmem_max/rmem_max, doubled for bookkeeping,
 * at least the kernel's minimum. The FORCE forms (32, 33) skip the cap and
 * need root.
 */
export function bufferSizeOption(ctx: SyscallContext, name: 7 | 8 | 32 | 33, val: number, len: number): number {
  const v = readOptInt(ctx, val, len);
  const force = name === 32 || name === 33;
  if (force && !isRoot(ctx)) fail('EPERM');
  const capped = force ? Math.max(v, 0) : Math.min(Math.max(v, 0), MAX_SOCKBUF);
  return Math.max(Math.min(capped * 2, 0x7fffffff), name === 7 || name === 32 ? MIN_SNDBUF : MIN_RCVBUF);
}

function readTimeval(ctx: SyscallContext, ptr: number, len: number): bigint {
  if (len < 16) fail('EINVAL');
  const sec = ctx.mem.readI64(ptr);
  const usec = ctx.mem.readI64(ptr + 8);
  if (usec < 0 || usec >= 1_000_000) fail('EDOM');
  if (sec < 0) return 0n;
  return BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n;
}

function setsockopt(ctx: SyscallContext, fd: number, level: number, name: number, val: number, len: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostSetsockopt(ctx, h, level, name, val, len);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkSetsockopt(ctx, nl, level, name, val, len);
  const s = sockOf(ctx, fd);
  if (len < 0) fail('EINVAL');
  const o = s.opts;
  if (level !== SOL_SOCKET) {
    if (s.family === AF_UNIX) fail('EOPNOTSUPP');
    netOf(ctx).inet.setOption(s, level, name, readOptInt(ctx, val, len));
    return 0;
  }
  switch (name) {
    case 2: o.reuseaddr = readOptInt(ctx, val, len) !== 0; return 0;
    case 15: o.reuseport = readOptInt(ctx, val, len) !== 0; return 0;
    case 9: o.keepalive = readOptInt(ctx, val, len) !== 0; return 0;
    case 6: o.broadcast = readOptInt(ctx, val, len) !== 0; return 0;
    case 10: o.oobinline = readOptInt(ctx, val, len) !== 0; return 0;
    case 16: o.passcred = readOptInt(ctx, val, len) !== 0; return 0;
    case 7: // SO_SNDBUF
    case 32: // SO_SNDBUFFORCE
      o.sndbuf = bufferSizeOption(ctx, name, val, len);
      s.writable.notify();
      return 0;
    case 8: // SO_RCVBUF
    case 33: // SO_RCVBUFFORCE
      o.rcvbuf = bufferSizeOption(ctx, name, val, len);
      return 0;
    case 13: { // SO_LINGER: struct linger { int l_onoff; int l_linger; }
      if (len < 8) fail('EINVAL');
      o.linger = [ctx.mem.readI32(val) !== 0 ? 1 : 0, ctx.mem.readI32(val + 4)];
      return 0;
    }
    case SO_TIMEO_OLD.rcv:
    case SO_TIMEO_NEW.rcv:
      o.rcvtimeoNs = readTimeval(ctx, val, len);
      return 0;
    case SO_TIMEO_OLD.snd:
    case SO_TIMEO_NEW.snd:
      o.sndtimeoNs = readTimeval(ctx, val, len);
      return 0;
    case 19: // SO_SNDLOWAT cannot be changed (sock_setsockopt: ENOPROTOOPT)
    case 3: // SO_TYPE
    case 4: // SO_ERROR
    case 17: // SO_PEERCRED
    case 30: // SO_ACCEPTCONN
    case 38: // SO_PROTOCOL
    case 39: // SO_DOMAIN
      fail('ENOPROTOOPT');
    default:
      if (!PLAIN_INT_OPTS.has(name)) fail('ENOPROTOOPT');
      o.other.set(`${level}:${name}`, readOptInt(ctx, val, len));
      return 0;
  }
}

/** Store an option value: as much as *lenPtr allows (an int option at most 4 bytes), and the length stored. */
export function putOpt(ctx: SyscallContext, val: number, lenPtr: number, bytes: Uint8Array): number {
  const room = ctx.mem.readI32(lenPtr);
  if (room < 0) fail('EINVAL');
  const n = Math.min(room, bytes.length);
  if (n > 0) ctx.mem.write(val, bytes.subarray(0, n));
  ctx.mem.writeU32(lenPtr, n);
  return 0;
}

export function intBytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function timevalBytes(ns: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, ns / 1_000_000_000n, true);
  v.setBigInt64(8, (ns % 1_000_000_000n) / 1000n, true);
  return b;
}

function getsockopt(ctx: SyscallContext, fd: number, level: number, name: number, val: number, lenPtr: number): number {
  const h = hostSocketAt(ctx, fd);
  if (h) return hostGetsockopt(ctx, h, level, name, val, lenPtr);
  const nl = netlinkAt(ctx, fd);
  if (nl) return netlinkGetsockopt(ctx, nl, level, name, val, lenPtr);
  const s = sockOf(ctx, fd);
  const o = s.opts;
  if (level !== SOL_SOCKET) {
    if (s.family === AF_UNIX) fail('EOPNOTSUPP');
    return putOpt(ctx, val, lenPtr, netOf(ctx).inet.getOption(s, level, name));
  }
  const int = (v: number | boolean): number => putOpt(ctx, val, lenPtr, intBytes(typeof v === 'boolean' ? (v ? 1 : 0) : v));
  switch (name) {
    case 3: return int(s.type);
    case 38: return int(s.protocol);
    case 39: return int(s.family);
    case 30: return int(s.state === 'listening');
    case 4: {
      s.onConnectingPoll?.();
      const e = s.takeError();
      return int(e ? ERRNO[e] : 0);
    }
    case 7: return int(o.sndbuf);
    case 8: return int(o.rcvbuf);
    case 2: return int(o.reuseaddr);
    case 15: return int(o.reuseport);
    case 9: return int(o.keepalive);
    case 6: return int(o.broadcast);
    case 10: return int(o.oobinline);
    case 16: return int(o.passcred);
    case 19: return int(1); // SO_SNDLOWAT
    case 18: return int(o.other.get(`${SOL_SOCKET}:18`) ?? 1); // SO_RCVLOWAT
    case 13: {
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setInt32(0, o.linger[0], true);
      v.setInt32(4, o.linger[1], true);
      return putOpt(ctx, val, lenPtr, b);
    }
    case SO_TIMEO_OLD.rcv:
    case SO_TIMEO_NEW.rcv:
      return putOpt(ctx, val, lenPtr, timevalBytes(o.rcvtimeoNs));
    case SO_TIMEO_OLD.snd:
    case SO_TIMEO_NEW.snd:
      return putOpt(ctx, val, lenPtr, timevalBytes(o.sndtimeoNs));
    case 17: {
      // SO_PEERCRED: the peer's process at connect time; nobody's ids (-1) and pid 0 when unconnected.
      const c = s.peerCred ?? { pid: 0, uid: 0xffffffff, gid: 0xffffffff };
      const b = new Uint8Array(12);
      const v = new DataView(b.buffer);
      v.setInt32(0, c.pid, true);
      v.setUint32(4, c.uid, true);
      v.setUint32(8, c.gid, true);
      return putOpt(ctx, val, lenPtr, b);
    }
    default:
      if (!PLAIN_INT_OPTS.has(name)) fail('ENOPROTOOPT');
      return int(o.other.get(`${level}:${name}`) ?? 0);
  }
}

/** Errno names of failures a pending SO_ERROR can hold. */
export type SocketError = ErrnoName;

// ---- ioctl (see netdevice(7)) ----------------------------------------------------------------------

/** struct ifreq: a 16-byte name, then a 24-byte union. */
const IFREQ_SIZE = 40;

/** A struct sockaddr_in holding `addr` (4 bytes), as struct ifreq carries addresses. */
function sockaddrIn(addr: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = AF_INET;
  b.set(addr, 4);
  return b;
}

/**
 * ioctl(2) on a socket (file.ts hands them here): FIONREAD/SIOCINQ,
 * SIOCOUTQ, then the interface requests every socket answers.
 * null: not a socket request (ENOTTY).
 */
export function socketIoctl(ctx: SyscallContext, s: Socket, request: number, arg: number): number | null {
  const c = ctx.arch.c;
  switch (request) {
    case c.FIONREAD: {
      // Bytes a read would get: all queued for a stream, the next datagram's otherwise (SIOCINQ).
      if (s.state === 'listening') fail('EINVAL');
      const q = s.queue;
      const n = s.isStream ? q.reduce((t, m) => t + m.data.length - m.taken, 0) : (q[0]?.data.length ?? 0);
      ctx.mem.writeU32(arg, n);
      return 0;
    }
    case c.SIOCOUTQ:
      ctx.mem.writeU32(arg, 0); // what we send is queued at the peer at once
      return 0;
  }
  return interfaceIoctl(ctx, request, arg);
}

/**
 * The interface requests of netdevice(7), on any socket (sock_ioctl hands
 * them to dev_ioctl whatever the family), about the interfaces of the
 * guest's network (guestInterfaces: the loopback under --net none, the
 * host's under --net host). An unknown name is ENODEV; changing an
 * interface is EPERM (no CAP_NET_ADMIN in the sandbox). null: not one of
 * them.
 */
export function interfaceIoctl(ctx: SyscallContext, request: number, arg: number): number | null {
  const c = ctx.arch.c;
  if (request === c.SIOCGIFCONF) {
    // struct ifconf { int ifc_len; char *ifc_buf; }: an ifreq per IPv4 address (inet_gifconf); a NULL buffer asks the length.
    const entries = guestInterfaces(ctx).flatMap((i) => i.addrs.filter((a) => a.family === AF_INET).map((a) => ({ name: i.name, addr: a.addr })));
    const len = ctx.mem.readI32(arg);
    const buf = Number(ctx.mem.readU64(arg + 8));
    if (buf === 0) {
      ctx.mem.writeU32(arg, entries.length * IFREQ_SIZE);
      return 0;
    }
    let used = 0;
    for (const e of entries) {
      if (used + IFREQ_SIZE > len) break;
      const r = new Uint8Array(IFREQ_SIZE);
      r.set(Buffer.from(e.name.slice(0, 15), 'latin1'));
      r.set(sockaddrIn(e.addr), 16);
      ctx.mem.write(buf + used, r);
      used += IFREQ_SIZE;
    }
    ctx.mem.writeU32(arg, used);
    return 0;
  }
  if (request === c.SIOCGIFNAME) {
    const itf = guestInterfaces(ctx).find((i) => i.index === ctx.mem.readI32(arg + 16));
    if (!itf) fail('ENODEV');
    const name = new Uint8Array(16);
    name.set(Buffer.from(itf.name.slice(0, 15), 'latin1'));
    ctx.mem.write(arg, name);
    return 0;
  }
  const ipv4 = (i: NetInterface): NetAddress => i.addrs.find((a) => a.family === AF_INET) ?? fail('EADDRNOTAVAIL');
  const getters: Record<number, (i: NetInterface) => Uint8Array> = {
    [c.SIOCGIFFLAGS]: (i) => Uint8Array.of(i.flags & 0xff, (i.flags >> 8) & 0xff),
    [c.SIOCGIFADDR]: (i) => sockaddrIn(ipv4(i).addr),
    [c.SIOCGIFNETMASK]: (i) => sockaddrIn(ipv4Netmask(ipv4(i).prefixlen)),
    [c.SIOCGIFBRDADDR]: (i) => sockaddrIn(i.loopback ? new Uint8Array(4) : ipv4Broadcast(ipv4(i).addr, ipv4(i).prefixlen)),
    [c.SIOCGIFMTU]: (i) => intBytes(i.mtu),
    [c.SIOCGIFINDEX]: (i) => intBytes(i.index),
    [c.SIOCGIFMETRIC]: () => intBytes(0),
    [c.SIOCGIFTXQLEN]: () => intBytes(1000),
    [c.SIOCGIFHWADDR]: (i) => Uint8Array.of(...new Uint8Array(new Uint16Array([i.loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER]).buffer), ...i.mac),
  };
  const get = getters[request];
  if (get) {
    const raw = ctx.mem.read(arg, 16);
    const nul = raw.indexOf(0);
    const name = Buffer.from(raw.subarray(0, nul < 0 ? 16 : nul)).toString('latin1');
    const itf = guestInterfaces(ctx).find((i) => i.name === name);
    if (!itf) fail('ENODEV');
    ctx.mem.write(arg + 16, get(itf));
    return 0;
  }
  // SIOCSIF*: setting an interface needs CAP_NET_ADMIN in the network namespace, which the guest has not.
  if (request >= 0x8900 && request <= 0x89ff) fail('EPERM');
  return null;
}

// ---- the declarations -------------------------------------------------------------------------------------

export const netFamily = family('net', [
  {
    name: 'socket',
    summary: 'Creates an endpoint for communication of a domain (AF_UNIX, AF_INET, AF_INET6) and type (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET), and returns its descriptor.',
    args: { domain: 'socket_family', type: 'socket_type', protocol: 'socket_protocol' },
    ret: 'fd',
    handler: socket,
    note: 'AF_UNIX; AF_INET and AF_INET6 on loopback only (--net none) or as host sockets (--net host); AF_NETLINK with NETLINK_ROUTE (interface and address dumps, read-only); other families EAFNOSUPPORT',
  },
  {
    name: 'socketpair',
    summary: 'Creates a pair of connected AF_UNIX sockets and stores their descriptors.',
    args: { domain: 'socket_family', type: 'socket_type', protocol: 'socket_protocol', sv: 'pipe_fds_out' },
    handler: socketpair,
  },
  {
    name: 'bind',
    summary: 'Gives a socket its address: a path name or abstract name for AF_UNIX, an address and port for AF_INET/AF_INET6.',
    args: { sockfd: 'fd', addr: 'sockaddr_in', addrlen: 'int' },
    handler: bind,
  },
  {
    name: 'listen',
    summary: 'Marks a stream or seqpacket socket as accepting connections, with a backlog of connections not yet accepted.',
    args: { sockfd: 'fd', backlog: 'int' },
    handler: listen,
  },
  {
    name: 'accept',
    summary: 'Takes the next connection of a listening socket as a new descriptor, storing the peer address.',
    args: { sockfd: 'fd', addr: 'sockaddr_out', addrlen: 'socklen_inout' },
    ret: 'fd',
    handler: accept,
  },
  {
    name: 'accept4',
    summary: 'accept with SOCK_NONBLOCK and SOCK_CLOEXEC for the new descriptor.',
    args: { sockfd: 'fd', addr: 'sockaddr_out', addrlen: 'socklen_inout', flags: 'socket_flags' },
    ret: 'fd',
    handler: accept4,
  },
  {
    name: 'connect',
    summary: 'Connects a socket to an address; for a datagram socket, sets where its datagrams go and whence they are taken.',
    args: { sockfd: 'fd', addr: 'sockaddr_in', addrlen: 'int' },
    handler: connect,
  },
  {
    name: 'shutdown',
    summary: 'Shuts down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR) of a connection.',
    args: { sockfd: 'fd', how: 'shutdown_how' },
    handler: shutdown,
  },
  {
    name: 'getsockname',
    summary: 'Stores the address a socket is bound to.',
    args: { sockfd: 'fd', addr: 'sockaddr_out', addrlen: 'socklen_inout' },
    handler: getsockname,
  },
  {
    name: 'getpeername',
    summary: 'Stores the address of the peer a socket is connected to.',
    args: { sockfd: 'fd', addr: 'sockaddr_out', addrlen: 'socklen_inout' },
    handler: getpeername,
  },
  {
    name: 'sendto',
    summary: 'Sends bytes on a socket, to an address for a datagram socket that is not connected.',
    args: { sockfd: 'fd', buf: 'inbuf', len: 'size', flags: 'msg_flags', dest_addr: 'sockaddr_in', addrlen: 'int' },
    ret: 'size',
    handler: sendto,
  },
  {
    name: 'recvfrom',
    summary: 'Receives bytes from a socket, storing the sender address.',
    args: { sockfd: 'fd', buf: 'outbuf', len: 'size', flags: 'msg_flags', src_addr: 'sockaddr_out', addrlen: 'socklen_inout' },
    ret: 'size',
    handler: recvfrom,
  },
  {
    name: 'sendmsg',
    summary: 'Sends a message from an iovec array, with an address and ancillary data (SCM_RIGHTS passes descriptors, SCM_CREDENTIALS credentials).',
    args: { sockfd: 'fd', msg: 'msghdr_in', flags: 'msg_flags' },
    ret: 'size',
    handler: sendmsg,
  },
  {
    name: 'recvmsg',
    summary: 'Receives a message into an iovec array, with the sender address and ancillary data (descriptors, credentials).',
    args: { sockfd: 'fd', msg: 'msghdr_out', flags: 'msg_flags' },
    ret: 'size',
    handler: recvmsg,
  },
  {
    name: 'sendmmsg',
    summary: 'Sends several messages in one call; returns how many went.',
    args: { sockfd: 'fd', msgvec: 'mmsghdr_in', vlen: 'uint', flags: 'msg_flags' },
    handler: sendmmsg,
  },
  {
    name: 'recvmmsg',
    summary: 'Receives several messages in one call; returns how many came.',
    args: { sockfd: 'fd', msgvec: 'mmsghdr_out', vlen: 'uint', flags: 'msg_flags', timeout: 'struct_timespec_in' },
    handler: recvmmsg,
    note: 'the timeout is not honoured (as Linux while waiting for the first message)',
  },
  {
    name: 'setsockopt',
    summary: 'Sets a socket option (SO_REUSEADDR, SO_RCVBUF, SO_RCVTIMEO, TCP_NODELAY...).',
    args: { sockfd: 'fd', level: 'sockopt_level', optname: 'sockopt_name', optval: 'sockopt_in', optlen: 'int' },
    handler: setsockopt,
    note: 'SOL_SOCKET: SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST, SO_PASSCRED, SO_SNDBUF, SO_RCVBUF, SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO and a few kept ints; IP/IPv6/TCP/UDP int options kept and read back',
  },
  {
    name: 'getsockopt',
    summary: 'Reads a socket option (SO_TYPE, SO_ERROR, SO_PEERCRED, SO_RCVBUF...).',
    args: { sockfd: 'fd', level: 'sockopt_level', optname: 'sockopt_name', optval: 'sockopt_out', optlen: 'socklen_inout' },
    handler: getsockopt,
  },
]);

/** A socket's shutdown for both directions: for tests and --net host. */
export const SHUT_BOTH = SHUT_RDWR;
