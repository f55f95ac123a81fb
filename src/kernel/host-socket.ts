// --net host: the guest's AF_INET and AF_INET6 sockets are the host's own
// (src/host/sockets.ts), held open non-blocking. To the guest they behave
// as every other file: a call that cannot go on now throws WouldBlock on
// the socket's `readable` or `writable`, and the scheduler polls the host
// fds that have waiters (HostStreams.watch) when it looks for work and while
// idle, so a task in accept() or recv() never holds up the others.
//
// Loopback goes to the host too, as Docker's --network host does: the guest
// shares the host's network namespace, so a guest server on 127.0.0.1 is
// reachable from host programs and two guest processes meet through the
// host's lo, one model for every address instead of two that disagree.
//
// Which addresses and ports a guest may use is the NetPolicy's (built from
// --net-allow by src/policy/net-allow.ts): a connect, bind or sendto outside
// it fails with EACCES, as Landlock's TCP port rules answer
// (LANDLOCK_ACCESS_NET_CONNECT_TCP / BIND_TCP, see landlock(7)).
import type { HostSockets } from '../host/sockets.ts';
import { HostSocketError } from '../host/sockets.ts';
import { hostLibc, POLLIN as HOST_POLLIN, POLLOUT as HOST_POLLOUT } from '../host/libc.ts';
import type { ErrnoName } from './errno-table.ts';
import { ERRNO } from './errno-table.ts';
import { LinuxError, fail } from './errors.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLL_READ, POLL_WRITE } from './readiness.ts';
import { AF_UNSPEC, SocketNode, SOCK_STREAM } from './socket.ts';
import { Waitable, WouldBlock } from './wait.ts';
import type { OpenFile } from './vfs/types.ts';

/** What a socket is about to do with an address, for the NetPolicy. */
export interface NetEndpoint {
  readonly proto: 'tcp' | 'udp';
  /** AF_INET or AF_INET6 of the address (a v4-mapped IPv6 address counts as AF_INET6). */
  readonly family: number;
  readonly port: number;
}

/** Which endpoints --net host lets the guest use (null policy: all). */
export interface NetPolicy {
  permits(e: NetEndpoint): boolean;
}

/** A host fd the scheduler polls for the tasks waiting on it (see HostStreams.watch). */
export interface HostPollable {
  readonly fd: number;
  /** The poll(2) events tasks wait for (0: none). */
  readonly awaited: number;
  /** Wake the waiters of what the host reported; whether any woke. */
  wake(revents: number): boolean;
}

/** The run's host network: the host calls, the policy, and the scheduler's watch list. */
export interface HostNet {
  readonly sockets: HostSockets;
  readonly policy: NetPolicy | null;
  /** Have the scheduler poll `p` while it has waiters; returns the function that stops it. */
  watch(p: HostPollable): () => void;
}

/** A host call's failure as the guest's errno; EAGAIN as a wait on `w`. */
export function hostCall<T>(w: Waitable | null, call: () => T): T {
  try {
    return call();
  } catch (e) {
    if (!(e instanceof HostSocketError)) throw e;
    if (w && (e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK')) throw new WouldBlock([w]);
    throw new LinuxError(e.code in ERRNO ? (e.code as ErrnoName) : 'EIO');
  }
}

export class HostSocket implements OpenFile, HostPollable {
  readonly seekable = false;
  readonly readable = new Waitable();
  readonly writable = new Waitable();
  /** A blocking connect was started and waits for its outcome (the retry asks the host again). */
  connecting = false;
  /** SO_RCVTIMEO and SO_SNDTIMEO, kept here: the host fd itself never blocks. */
  readonly opts = { rcvtimeoNs: 0n, sndtimeoNs: 0n };
  /** A transfer found nothing (EAGAIN): the next readiness the kernel sees is an edge for epoll's EPOLLET. */
  private drained = { read: false, write: false };
  private readonly unwatch: () => void;
  private closed = false;

  constructor(
    readonly net: HostNet,
    readonly fd: number,
    readonly node: SocketNode,
    readonly family: number,
    readonly type: number,
    readonly protocol: number,
  ) {
    this.unwatch = net.watch(this);
  }

  get isStream(): boolean {
    return this.type === SOCK_STREAM;
  }

  get proto(): 'tcp' | 'udp' {
    return this.isStream ? 'tcp' : 'udp';
  }

  /**
   * Refuse an address the policy does not allow (EACCES, as Landlock).
   * AF_UNSPEC (connect's "dissolve the association") names no endpoint, and
   * binding port 0 asks for an ephemeral port, which connect, sendto and
   * listen take on an unbound socket anyway: neither is checked.
   */
  checkPolicy(addr: Uint8Array, op: 'bind' | 'reach'): void {
    const policy = this.net.policy;
    if (!policy || addr.length < 4) return;
    const family = addr[0]! | (addr[1]! << 8);
    const port = (addr[2]! << 8) | addr[3]!;
    if (family === AF_UNSPEC || (op === 'bind' && port === 0)) return;
    if (!policy.permits({ proto: this.proto, family, port })) fail('EACCES', 'not allowed by --net-allow');
  }

  /** A transfer one way: EAGAIN waits on that side, and marks the side drained for EPOLLET. */
  transfer<T>(side: 'read' | 'write', call: () => T): T {
    try {
      return hostCall(side === 'read' ? this.readable : this.writable, call);
    } catch (e) {
      if (e instanceof WouldBlock) this.drained[side] = true;
      throw e;
    }
  }

  read(buf: Uint8Array): number {
    return this.transfer('read', () => this.net.sockets.receive(this.fd, buf, 0).n);
  }

  write(buf: Uint8Array): number {
    return this.transfer('write', () => this.net.sockets.send(this.fd, buf, 0, null));
  }

  size(): number {
    return 0;
  }

  /** The host's poll(2) now, as POLL* bits; a side that turned ready after a transfer drained it fires (an edge). */
  poll(events: number, waits: Waitable[]): number {
    waits.push(this.readable, this.writable);
    const libc = hostLibc()!;
    const wanted = (events & POLL_READ ? HOST_POLLIN : 0) | (events & POLL_WRITE ? HOST_POLLOUT : 0) | (events & POLLRDHUP);
    const r = libc.poll([{ fd: this.fd, events: wanted }], 0)[0]!;
    if (r & HOST_POLLIN && this.drained.read) {
      this.drained.read = false;
      this.readable.notify();
    }
    if (r & HOST_POLLOUT && this.drained.write) {
      this.drained.write = false;
      this.writable.notify();
    }
    return (r & HOST_POLLIN ? events & POLL_READ : 0) | (r & HOST_POLLOUT ? events & POLL_WRITE : 0) | (r & (POLLERR | POLLHUP | POLLRDHUP));
  }

  get awaited(): number {
    return (this.readable.waiting > 0 ? POLLIN : 0) | (this.writable.waiting > 0 ? POLLOUT : 0);
  }

  wake(revents: number): boolean {
    const fails = revents & (POLLERR | POLLHUP);
    let woke = false;
    if (this.readable.waiting > 0 && revents & (HOST_POLLIN | fails)) {
      this.drained.read = false;
      this.readable.notify();
      woke = true;
    }
    if (this.writable.waiting > 0 && revents & (HOST_POLLOUT | fails)) {
      this.drained.write = false;
      this.writable.notify();
      woke = true;
    }
    return woke;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    this.net.sockets.close(this.fd);
    this.readable.notify();
    this.writable.notify();
  }
}
