// The socket calls on --net host's sockets (src/kernel/host-socket.ts):
// net.ts hands a call here when its fd is a HostSocket, or when socket(2)
// makes an AF_INET/AF_INET6 socket under --net host. The guest's struct
// sockaddr and option values go to the host as they are (the host is Linux,
// see src/host/sockets.ts); what stays in the kernel is blocking (the host
// fd never blocks: a call waits with WouldBlock, O_NONBLOCK, MSG_DONTWAIT
// and SO_RCVTIMEO/SO_SNDTIMEO as for in-kernel sockets), SIGPIPE, and the
// --net-allow policy.
import { fail, LinuxError } from '../src/kernel/errors.ts';
import { HostSocket, hostCall, type HostNet } from '../src/kernel/host-socket.ts';
import { MSG_DONTWAIT, MSG_NOSIGNAL, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, SocketNode } from '../src/kernel/socket.ts';
import { PROT_WRITE } from '../src/kernel/memory.ts';
import { WouldBlock } from '../src/kernel/wait.ts';
import { raiseSigpipe, type GuestBuffer } from './file.ts';
import type { SyscallContext } from './types.ts';
import { callState, gather, installFile, nonblocking, scatter, socketFlags, totalOf, waitOr, writeSockaddr } from './net.ts';

const SOL_SOCKET = 1;
const SO_TIMEO = { rcv: [20, 66], snd: [21, 67] };
const SOCKADDR_MAX = 128;
/** Socket-level options that touch only this socket: passed to the host. Others (SO_BINDTODEVICE, SO_MARK, filters) are ENOPROTOOPT. */
const HOST_SOL_OPTS = new Set([2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 15, 18, 19, 30, 38, 39]);

/** The run's host network, or null under --net none. */
export function hostNetOf(ctx: SyscallContext): HostNet | null {
  return ctx.kernel.hostNet;
}

/** The HostSocket at `fd`, or null when it is another kind of file. */
export function hostSocketAt(ctx: SyscallContext, fd: number): HostSocket | null {
  const f = ctx.fds.get(fd).file;
  return f instanceof HostSocket ? f : null;
}

export function hostSocket(ctx: SyscallContext, net: HostNet, domain: number, type: number, protocol: number, flags: number): number {
  const { nonblock, cloexec } = socketFlags(ctx, flags);
  const fd = hostCall(null, () => net.sockets.socket(domain, type, protocol));
  const node = new SocketNode(ctx.kernel.rootFs(), ctx.proc.creds.euid, ctx.proc.creds.egid);
  return installFile(ctx, new HostSocket(net, fd, node, domain, type, protocol), node, nonblock, cloexec);
}

function readAddr(ctx: SyscallContext, ptr: number, len: number): Uint8Array {
  if (len < 0 || len > SOCKADDR_MAX) fail('EINVAL');
  return ctx.mem.read(ptr, len).slice();
}

export function hostBind(ctx: SyscallContext, s: HostSocket, ptr: number, len: number): number {
  const addr = readAddr(ctx, ptr, len);
  s.checkPolicy(addr, 'bind');
  hostCall(null, () => s.net.sockets.bind(s.fd, addr));
  return 0;
}

export function hostListen(s: HostSocket, backlog: number): number {
  hostCall(null, () => s.net.sockets.listen(s.fd, backlog));
  return 0;
}

export function hostAccept(ctx: SyscallContext, fd: number, s: HostSocket, addrPtr: number, lenPtr: number, flags: number): number {
  const { nonblock, cloexec } = socketFlags(ctx, flags);
  const st = callState(ctx, s.opts.rcvtimeoNs);
  let conn: { fd: number; addr: Uint8Array };
  try {
    conn = s.transfer('read', () => s.net.sockets.accept(s.fd));
  } catch (e) {
    waitOr(ctx, e, nonblocking(ctx, fd, 0), st);
  }
  const node = new SocketNode(ctx.kernel.rootFs(), ctx.proc.creds.euid, ctx.proc.creds.egid);
  const newFd = installFile(ctx, new HostSocket(s.net, conn.fd, node, s.family, s.type, s.protocol), node, nonblock, cloexec);
  try {
    writeSockaddr(ctx, addrPtr, lenPtr, conn.addr);
  } catch (e) {
    ctx.fds.close(newFd);
    throw e;
  }
  return newFd;
}

/**
 * connect(2). The host's connect on a non-blocking fd says EINPROGRESS; a
 * blocking guest then waits for writability and asks again, and the host
 * answers as Linux's __inet_stream_connect does for a second call: EALREADY
 * while it goes on, 0 once connected, the error once failed.
 */
export function hostConnect(ctx: SyscallContext, fd: number, s: HostSocket, ptr: number, len: number): number {
  const addr = readAddr(ctx, ptr, len);
  if (!s.connecting) s.checkPolicy(addr, 'reach');
  const nonblock = nonblocking(ctx, fd, 0);
  const st = callState(ctx, s.opts.sndtimeoNs);
  try {
    hostCall(null, () => s.net.sockets.connect(s.fd, addr));
  } catch (e) {
    const code = e instanceof LinuxError ? e.code : null;
    if (s.connecting && code === 'EISCONN') {
      s.connecting = false;
      return 0;
    }
    if ((code === 'EINPROGRESS' || code === 'EALREADY') && !nonblock) {
      s.connecting = true;
      if (st.deadline !== null && ctx.kernel.monotonicNs() >= st.deadline) fail('EINPROGRESS');
      throw new WouldBlock([s.writable], st.deadline);
    }
    s.connecting = false;
    throw e;
  }
  s.connecting = false;
  return 0;
}

export function hostShutdown(s: HostSocket, how: number): number {
  hostCall(null, () => s.net.sockets.shutdown(s.fd, how));
  return 0;
}

export function hostName(ctx: SyscallContext, s: HostSocket, addrPtr: number, lenPtr: number, peer: boolean): number {
  writeSockaddr(ctx, addrPtr, lenPtr, hostCall(null, () => s.net.sockets.sockname(s.fd, peer)));
  return 0;
}

/**
 * Every send: the bytes gathered from the guest's buffers; a blocking
 * stream send goes on until all are out (resuming at the count so far),
 * a datagram goes whole. EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
 */
export function hostSend(ctx: SyscallContext, fd: number, s: HostSocket, bufs: readonly GuestBuffer[], flags: number, to: Uint8Array | null): number {
  if (to) s.checkPolicy(to, 'reach');
  const nonblock = nonblocking(ctx, fd, flags);
  const st = callState(ctx, s.opts.sndtimeoNs);
  const total = totalOf(bufs);
  const hostFlags = flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL);
  try {
    if (!s.isStream) return s.transfer('write', () => s.net.sockets.send(s.fd, gather(ctx, bufs, 0, total), hostFlags, to));
    do {
      const chunk = gather(ctx, bufs, st.done, Math.min(total - st.done, 1 << 20));
      st.done += s.transfer('write', () => s.net.sockets.send(s.fd, chunk, hostFlags, to));
    } while (st.done < total);
    return st.done;
  } catch (e) {
    if (e instanceof LinuxError) {
      if (e.code === 'EPIPE' && !(flags & MSG_NOSIGNAL)) raiseSigpipe(ctx);
      if (st.done > 0) return st.done;
      throw e;
    }
    if (st.done > 0 && e instanceof WouldBlock && (nonblock || (st.deadline !== null && ctx.kernel.monotonicNs() >= st.deadline))) return st.done;
    return waitOr(ctx, e, nonblock, st);
  }
}

/** What one receive delivered: the count (a datagram's full length under MSG_TRUNC), the sender, msg_flags. */
export interface HostDelivery {
  n: number;
  from: Uint8Array;
  flags: number;
}

/** Every receive: into the guest's buffers; MSG_WAITALL on a blocking stream waits until they are full or the stream ends. */
export function hostReceive(ctx: SyscallContext, fd: number, s: HostSocket, bufs: readonly GuestBuffer[], flags: number): HostDelivery {
  const nonblock = nonblocking(ctx, fd, flags);
  const st = callState(ctx, s.opts.rcvtimeoNs);
  for (const { base, len } of bufs) if (len > 0) ctx.mem.view(base, len, PROT_WRITE);
  const total = totalOf(bufs);
  const waitall = (flags & MSG_WAITALL) !== 0 && s.isStream && !(flags & MSG_PEEK) && !nonblock;
  const hostFlags = flags & ~(MSG_DONTWAIT | MSG_WAITALL);
  let last: HostDelivery = { n: 0, from: new Uint8Array(0), flags: 0 };
  try {
    for (;;) {
      const buf = new Uint8Array(Math.max(0, total - st.done));
      last = s.transfer('read', () => s.net.sockets.receive(s.fd, buf, hostFlags));
      const got = Math.min(last.n, buf.length);
      if (!(s.isStream && flags & MSG_TRUNC)) scatter(ctx, bufs, st.done, buf.subarray(0, got));
      st.done += got;
      if (!s.isStream && flags & MSG_TRUNC) return { ...last, n: last.n };
      if (!waitall || got === 0 || st.done >= total) break;
    }
  } catch (e) {
    if (st.done > 0 && (e instanceof LinuxError || e instanceof WouldBlock)) return { ...last, n: st.done };
    waitOr(ctx, e, nonblock, st);
  }
  return { ...last, n: st.done };
}

function timevalNs(ctx: SyscallContext, ptr: number, len: number): bigint {
  if (len < 16) fail('EINVAL');
  const sec = ctx.mem.readI64(ptr);
  const usec = ctx.mem.readI64(ptr + 8);
  if (usec < 0 || usec >= 1_000_000) fail('EDOM');
  return sec < 0 ? 0n : BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n;
}

/** setsockopt(2): the timeouts stay in the kernel; the rest, as far as they touch only this socket, go to the host. */
export function hostSetsockopt(ctx: SyscallContext, s: HostSocket, level: number, name: number, val: number, len: number): number {
  if (len < 0) fail('EINVAL');
  if (level === SOL_SOCKET && SO_TIMEO.rcv.includes(name)) s.opts.rcvtimeoNs = timevalNs(ctx, val, len);
  else if (level === SOL_SOCKET && SO_TIMEO.snd.includes(name)) s.opts.sndtimeoNs = timevalNs(ctx, val, len);
  else if (level === SOL_SOCKET && !HOST_SOL_OPTS.has(name)) fail('ENOPROTOOPT');
  else {
    const value = ctx.mem.read(val, Math.min(len, 256)).slice();
    hostCall(null, () => s.net.sockets.setOption(s.fd, level, name, value));
  }
  return 0;
}

export function hostGetsockopt(ctx: SyscallContext, s: HostSocket, level: number, name: number, val: number, lenPtr: number): number {
  const room = ctx.mem.readI32(lenPtr);
  if (room < 0) fail('EINVAL');
  let bytes: Uint8Array;
  if (level === SOL_SOCKET && (SO_TIMEO.rcv.includes(name) || SO_TIMEO.snd.includes(name))) {
    const ns = SO_TIMEO.rcv.includes(name) ? s.opts.rcvtimeoNs : s.opts.sndtimeoNs;
    bytes = new Uint8Array(16);
    const v = new DataView(bytes.buffer);
    v.setBigInt64(0, ns / 1_000_000_000n, true);
    v.setBigInt64(8, (ns % 1_000_000_000n) / 1000n, true);
  } else {
    if (level === SOL_SOCKET && !HOST_SOL_OPTS.has(name)) fail('ENOPROTOOPT');
    bytes = hostCall(null, () => s.net.sockets.getOption(s.fd, level, name, Math.min(room, 256)));
  }
  const n = Math.min(room, bytes.length);
  if (n > 0) ctx.mem.write(val, bytes.subarray(0, n));
  ctx.mem.writeU32(lenPtr, n);
  return 0;
}

/** FIONREAD on a host socket: the bytes the host has queued. */
export function hostQueued(s: HostSocket): number {
  return hostCall(null, () => s.net.sockets.queued(s.fd));
}
