// The socket calls on AF_NETLINK sockets (src/kernel/netlink.ts): net.ts
// hands a call here when socket(2) asks for AF_NETLINK or the fd is a
// NetlinkSocket. Only NETLINK_ROUTE is offered, with the interfaces of the
// guest's network: the loopback under --net none, the host's under --net
// host (as `docker run --network host` shows them).
import { fail } from '../src/kernel/errors.ts';
import { MSG_PEEK, MSG_TRUNC, SocketNode } from '../src/kernel/socket.ts';
import { PROT_WRITE } from '../src/kernel/memory.ts';
import { NETLINK_ROUTE, NetlinkSocket, decodeSockaddrNl, encodeSockaddrNl, interfacesOf, type NetInterface } from '../src/kernel/netlink.ts';
import type { KernelServices } from '../src/kernel/services.ts';
import { WouldBlock } from '../src/kernel/wait.ts';
import type { GuestBuffer } from './file.ts';
import type { SyscallContext } from './types.ts';
import { bufferSizeOption, callState, gather, installFile, intBytes, nonblocking, putOpt, scatter, socketFlags, totalOf, waitOr, writeSockaddr } from './net.ts';

const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOL_SOCKET = 1;
/** SOL_NETLINK's options (NETLINK_PKTINFO, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK...) are accepted and change nothing here. */
const SOL_NETLINK = 270;

/** The port ids in use, per run (netlink_insert's table). */
const portsOf = new WeakMap<KernelServices, Set<number>>();

export function netlinkAt(ctx: SyscallContext, fd: number): NetlinkSocket | null {
  const f = ctx.fds.get(fd).file;
  return f instanceof NetlinkSocket ? f : null;
}

/** socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_ROUTE) (netlink_create). */
export function netlinkSocket(ctx: SyscallContext, type: number, protocol: number, flags: number): number {
  const { nonblock, cloexec } = socketFlags(ctx, flags);
  if (type !== SOCK_RAW && type !== SOCK_DGRAM) fail('ESOCKTNOSUPPORT');
  if (protocol !== NETLINK_ROUTE) fail('EPROTONOSUPPORT', `netlink protocol ${protocol}: only NETLINK_ROUTE is offered`);
  let ports = portsOf.get(ctx.kernel);
  if (!ports) portsOf.set(ctx.kernel, (ports = new Set()));
  const interfaces = (): NetInterface[] => guestInterfaces(ctx);
  const node = new SocketNode(ctx.kernel.rootFs(), ctx.proc.creds.euid, ctx.proc.creds.egid);
  return installFile(ctx, new NetlinkSocket(node, type, interfaces, ctx.proc.pid, ports), node, nonblock, cloexec);
}

/** The interfaces of the guest's network: the host's under --net host, else the loopback alone. */
export function guestInterfaces(ctx: SyscallContext): NetInterface[] {
  return interfacesOf(ctx.kernel.hostNet !== null);
}

function readAddr(ctx: SyscallContext, ptr: number, len: number): { port: number; groups: number } {
  if (len < 0 || len > 128) fail('EINVAL');
  return decodeSockaddrNl(ctx.mem.read(ptr, len));
}

export function netlinkBind(ctx: SyscallContext, s: NetlinkSocket, addrPtr: number, addrlen: number): number {
  const a = readAddr(ctx, addrPtr, addrlen);
  s.bind(a.port, a.groups);
  return 0;
}

/** connect(2): only the kernel (port 0) answers; connecting to it binds the socket as a send would. */
export function netlinkConnect(ctx: SyscallContext, s: NetlinkSocket, addrPtr: number, addrlen: number): number {
  const a = readAddr(ctx, addrPtr, addrlen);
  if (a.port !== 0 || a.groups !== 0) fail('ECONNREFUSED');
  s.autobind();
  return 0;
}

export function netlinkName(ctx: SyscallContext, s: NetlinkSocket, addrPtr: number, lenPtr: number, peer: boolean): number {
  writeSockaddr(ctx, addrPtr, lenPtr, peer ? encodeSockaddrNl(0) : encodeSockaddrNl(s.port, s.groups));
  return 0;
}

/** A send: to the kernel (no address, or port 0); any other port has no socket to take it. */
export function netlinkSend(ctx: SyscallContext, s: NetlinkSocket, bufs: readonly GuestBuffer[], addr: { ptr: number; len: number } | null): number {
  if (addr && addr.ptr && addr.len) {
    const to = readAddr(ctx, addr.ptr, addr.len);
    if (to.port !== 0 || to.groups !== 0) fail('ECONNREFUSED');
  }
  const total = totalOf(bufs);
  if (total > s.sndbuf) fail('EMSGSIZE');
  return s.send(gather(ctx, bufs, 0, total));
}

/** A receive: the next datagram (MSG_PEEK keeps it; MSG_TRUNC returns its whole length), from the kernel (port 0). */
export function netlinkReceive(ctx: SyscallContext, fd: number, s: NetlinkSocket, bufs: readonly GuestBuffer[], flags: number): { n: number; flags: number; from: Uint8Array } {
  const nonblock = nonblocking(ctx, fd, flags);
  const st = callState(ctx, 0n);
  for (const { base, len } of bufs) if (len > 0) ctx.mem.view(base, len, PROT_WRITE);
  const total = totalOf(bufs);
  let got: { data: Uint8Array; fullLength: number };
  try {
    got = s.receive(total, (flags & MSG_PEEK) !== 0);
  } catch (e) {
    if (!(e instanceof WouldBlock)) throw e;
    return waitOr(ctx, e, nonblock, st);
  }
  scatter(ctx, bufs, 0, got.data);
  const truncated = got.fullLength > got.data.length;
  return { n: flags & MSG_TRUNC ? got.fullLength : got.data.length, flags: truncated ? MSG_TRUNC : 0, from: encodeSockaddrNl(0) };
}

export function netlinkSetsockopt(ctx: SyscallContext, s: NetlinkSocket, level: number, name: number, val: number, len: number): number {
  if (level === SOL_NETLINK) return 0;
  if (level !== SOL_SOCKET) fail('ENOPROTOOPT');
  switch (name) {
    case 7: // SO_SNDBUF
    case 32: // SO_SNDBUFFORCE
      s.sndbuf = bufferSizeOption(ctx, name, val, len);
      return 0;
    case 8: // SO_RCVBUF
    case 33: // SO_RCVBUFFORCE
      s.rcvbuf = bufferSizeOption(ctx, name, val, len);
      return 0;
    case 16: // SO_PASSCRED
    case 20: // SO_RCVTIMEO_OLD
    case 66: // SO_RCVTIMEO_NEW
      return 0;
    default:
      fail('ENOPROTOOPT');
  }
}

export function netlinkGetsockopt(ctx: SyscallContext, s: NetlinkSocket, level: number, name: number, val: number, lenPtr: number): number {
  if (level !== SOL_SOCKET) fail('ENOPROTOOPT');
  const values: Record<number, number> = { 3: s.type, 4: 0, 7: s.sndbuf, 8: s.rcvbuf, 38: NETLINK_ROUTE, 39: 16 };
  const v = values[name];
  if (v === undefined) fail('ENOPROTOOPT');
  return putOpt(ctx, val, lenPtr, intBytes(v));
}

