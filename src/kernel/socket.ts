// Sockets inside the kernel (see socket(7), unix(7), tcp(7), udp(7)): one
// engine for every family, since a loopback TCP connection moves bytes
// exactly as an AF_UNIX stream pair does and a UDP datagram as an AF_UNIX
// one. What differs is the addressing, which lives in a namespace per family
// (unix-ns.ts: path names and the abstract namespace; inet.ts: ports on
// 127.0.0.1 and ::1).
//
// A connection is two Socket objects pointing at each other. Data a socket
// sends goes straight into its peer's receive queue as messages; a stream
// reads across them, a datagram or seqpacket socket one at a time. The
// queue is bounded (SO_SNDBUF of the sender for AF_UNIX streams, as Linux
// counts sk_wmem_alloc; SO_RCVBUF of the receiver otherwise) and its bytes
// are charged to the run's memory budget while queued.
//
// Blocking is the WouldBlock retry (wait.ts): a call that must wait throws
// WouldBlock on the socket's Waitables and is made again when one fires, so
// a task in accept() or recv() never holds up the others.
import { fail } from './errors.ts';
import type { ErrnoName } from './errno-table.ts';
import type { OpenFileDescription } from './fdtable.ts';
import type { MemoryBudget } from './memory.ts';
import { pseudoStat } from './anon-inode.ts';
import { POLLERR, POLLHUP, POLLRDHUP, POLL_READ, POLL_WRITE } from './readiness.ts';
import { Waitable, WouldBlock } from './wait.ts';
import type { FileSystem, Node, OpenFile, StatInfo } from './vfs/types.ts';
import { S_IFSOCK } from './vfs/types.ts';

export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;

/** MSG_* flags (include/linux/socket.h; the same on every arch). */
export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_CONFIRM = 0x800;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;
export const MSG_WAITFORONE = 0x10000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** Linux's defaults (net.core.wmem_default, rmem_default) and the floor setsockopt keeps (SOCK_MIN_SNDBUF/RCVBUF). */
export const DEFAULT_SNDBUF = 212992;
export const DEFAULT_RCVBUF = 212992;
export const MAX_SOCKBUF = 212992; // net.core.wmem_max / rmem_max: setsockopt caps there, then doubles
export const MIN_SNDBUF = 4608;
export const MIN_RCVBUF = 2304;
/** What a queued datagram costs besides its bytes (Linux counts the skb's truesize): zero-length datagrams still fill a queue. */
const DATAGRAM_OVERHEAD = 256;
/** net.core.somaxconn: listen(2) caps the backlog there. */
export const SOMAXCONN = 4096;
/** SCM_MAX_FD: at most this many fds in one SCM_RIGHTS message. */
export const SCM_MAX_FD = 253;

/** A struct ucred: who sent a message, or who is at the other end (SO_PEERCRED). */
export interface Ucred {
  pid: number;
  uid: number;
  gid: number;
}

/** A socket address, decoded (the syscall layer converts struct sockaddr both ways). */
export type SockAddr =
  /** `name`: sun_path as given, up to its NUL for a path name; starts with a 0 byte for an abstract name; empty when unnamed. */
  | { readonly family: typeof AF_UNIX; readonly name: Uint8Array }
  /** `addr`: 4 bytes (AF_INET) or 16 (AF_INET6), network order; `port` host order. */
  | { readonly family: typeof AF_INET | typeof AF_INET6; readonly addr: Uint8Array; readonly port: number };

/** One message in a receive queue: a write of a stream, a datagram, a record of a seqpacket socket. */
export interface Message {
  data: Uint8Array;
  /** Bytes a stream reader has taken from the front already. */
  taken: number;
  /** Open file descriptions in flight (SCM_RIGHTS), each holding a reference until received or dropped. */
  rights: OpenFileDescription[] | null;
  cred: Ucred;
  /** The sender's address (recvfrom, recvmsg msg_name). */
  from: SockAddr | null;
  /** What it is charged: its bytes, plus a datagram's overhead. */
  cost: number;
}

/** What a receive took (see Socket.receive). */
export interface Received {
  data: Uint8Array;
  /** A datagram's full length (MSG_TRUNC reports it). */
  fullLength: number;
  /** MSG_TRUNC when a datagram did not fit; MSG_EOR never (records end where reads do). */
  flags: number;
  rights: OpenFileDescription[] | null;
  cred: Ucred | null;
  from: SockAddr | null;
}

/** Sockets open across the run: the fds in flight per uid (Linux's user->unix_inflight). */
export interface SocketWorld {
  readonly budget: MemoryBudget | null;
  inflight: Map<number, number>;
  /** SCM_CREDENTIALS of the process making the current call (write(2) has no other way to say). */
  caller(): Ucred;
}

/** The options setsockopt keeps (socket(7)); the syscall layer converts them from and to guest structs. */
export interface SocketOptions {
  sndbuf: number;
  rcvbuf: number;
  reuseaddr: boolean;
  reuseport: boolean;
  keepalive: boolean;
  /** SO_LINGER: l_onoff and l_linger. */
  linger: [number, number];
  /** SO_RCVTIMEO and SO_SNDTIMEO in ns; 0 for none. */
  rcvtimeoNs: bigint;
  sndtimeoNs: bigint;
  passcred: boolean;
  broadcast: boolean;
  oobinline: boolean;
  /** Options kept only to be read back (SO_PRIORITY, TCP_NODELAY, IPV6_V6ONLY...), by level and name. */
  other: Map<string, number>;
}

let nextSocketIno = 1;

/** The inode of a socket in sockfs: fstat shows S_IFSOCK; /proc/self/fd shows socket:[ino]. */
export class SocketNode implements Node {
  readonly fileType = S_IFSOCK;
  readonly ino = nextSocketIno++;
  constructor(
    readonly fs: FileSystem,
    readonly uid: number,
    readonly gid: number,
  ) {}
  info(): StatInfo {
    return pseudoStat(0x8, this.ino, S_IFSOCK | 0o777, this.uid, this.gid);
  }
  get label(): string {
    return `socket:[${this.ino}]`;
  }
}

/** Where a family's sockets are found by address: bind, connect, send to an address. */
export interface AddressFamily {
  /** Forget `s`'s address (it closed). */
  unbind(s: Socket): void;
  /** A datagram with no peer socket to go to (UDP): the family routes it. */
  sendDatagram?(s: Socket, data: Uint8Array, to: null, cred: Ucred): number;
}

export type SocketState = 'unconnected' | 'listening' | 'connecting' | 'connected' | 'closed';

export class Socket implements OpenFile {
  readonly seekable = false;
  state: SocketState = 'unconnected';
  /** The other end of a connection, or a connected datagram socket's default destination (AF_UNIX). */
  peer: Socket | null = null;
  /** A connected datagram socket's default destination (AF_INET: an address, not a socket). */
  remote: SockAddr | null = null;
  /** The address bound (bind, or autobind at connect/send). */
  local: SockAddr | null = null;
  /** SO_PEERCRED: the other end's process at connect or socketpair time. */
  peerCred: Ucred | null = null;
  /** A listener's owner when it began to listen: its connections' SO_PEERCRED. */
  listenCred: Ucred | null = null;
  /** The process that made the socket (a datagram socket's SO_PEERCRED for those connected to it). */
  ownerCred: Ucred | null = null;
  /** AF_INET: the address of the other end, kept as a value (the peer socket may be gone). */
  peerAddress: SockAddr | null = null;
  /** A listener that accepted the connection of this server-side socket; a connecting socket's target. */
  listener: Socket | null = null;
  /** A listener's connections not yet accepted. */
  readonly backlog: Socket[] = [];
  backlogMax = 0;
  /** Shut down for reading or writing (shutdown(2)), by this end. */
  shutRd = false;
  shutWr = false;
  /** The other end will send no more: it closed or shut down for writing (reads see end-of-file after the queue). */
  peerDone = false;
  /** SO_ERROR: a pending error reported once by the next call (or getsockopt). */
  error: ErrnoName | null = null;
  /** AF_INET stream: the peer is gone and a send has been answered with a reset already. */
  reset = false;
  readonly queue: Message[] = [];
  /** What the queue costs (bytes, and a datagram's overhead). */
  queued = 0;
  /** Data or a connection arrived, an end closed, an error came (readers and accept wait on it). */
  readonly readable = new Waitable();
  /** Room appeared in the peer's queue, a connection completed or failed (writers and connect wait on it). */
  readonly writable = new Waitable();
  readonly opts: SocketOptions = {
    sndbuf: DEFAULT_SNDBUF,
    rcvbuf: DEFAULT_RCVBUF,
    reuseaddr: false,
    reuseport: false,
    keepalive: false,
    linger: [0, 0],
    rcvtimeoNs: 0n,
    sndtimeoNs: 0n,
    passcred: false,
    broadcast: false,
    oobinline: false,
    other: new Map(),
  };
  private released = false;

  constructor(
    readonly world: SocketWorld,
    readonly node: SocketNode,
    readonly family: number,
    readonly type: number,
    readonly protocol: number,
    readonly addressing: AddressFamily,
  ) {}

  /** Connection-oriented (stream or seqpacket): connect makes a pair, and data needs one. */
  get connectionOriented(): boolean {
    return this.type !== SOCK_DGRAM;
  }

  get isStream(): boolean {
    return this.type === SOCK_STREAM;
  }

  // ---- queueing -------------------------------------------------------------------------------

  /** How much `to`'s queue may hold of what this socket sends. */
  private limitAt(to: Socket): number {
    return this.family === AF_UNIX && this.connectionOriented ? this.opts.sndbuf : to.opts.rcvbuf;
  }

  /** Room for a message of `cost` in `to`'s queue: one always fits an empty queue, whatever its size. */
  roomAt(to: Socket): number {
    return Math.max(0, this.limitAt(to) - to.queued);
  }

  /**
   * Put a message into `to`'s queue, charging its cost to the run's memory
   * (ENOBUFS past it: the answer of sock_alloc_send_skb under memory
   * pressure). `rights` are taken over: the queue holds their references.
   */
  deliver(to: Socket, data: Uint8Array, rights: OpenFileDescription[] | null, cred: Ucred, from: SockAddr | null): void {
    const cost = data.length + (this.isStream ? 0 : DATAGRAM_OVERHEAD);
    this.world.budget?.charge(cost, 'ENOBUFS');
    if (rights) this.countInflight(cred.uid, rights.length);
    to.queue.push({ data, taken: 0, rights, cred, from, cost });
    to.queued += cost;
    to.readable.notify();
  }

  private countInflight(uid: number, n: number): void {
    this.world.inflight.set(uid, (this.world.inflight.get(uid) ?? 0) + n);
  }

  /** Take the front message off the queue, giving back what it cost. */
  private dequeue(): Message {
    const m = this.queue.shift()!;
    this.queued -= m.cost;
    this.world.budget?.release(m.cost);
    if (m.rights) this.countInflight(m.cred.uid, -m.rights.length);
    // Senders wait for room in this queue (their writable is ours to fire: the peer, or any datagram sender).
    this.peer?.writable.notify();
    this.roomMade.notify();
    return m;
  }

  /** Fires when this queue drains: datagram senders that are not our peer wait on it. */
  readonly roomMade = new Waitable();

  /** Throw away everything queued (close), dropping the references of fds in flight. */
  private purge(): void {
    while (this.queue.length > 0) {
      const m = this.dequeue();
      for (const ofd of m.rights ?? []) ofd.release();
    }
  }

  /** Report a pending error once (SO_ERROR, or the next call). */
  takeError(): ErrnoName | null {
    const e = this.error;
    this.error = null;
    return e;
  }

  /**
   * Receive up to `max` bytes. A stream reads across messages, stopping
   * after one that carries fds (they come with the bytes they were sent
   * with, as unix_stream_read_generic does) and before one that does once
   * something was read; datagram and seqpacket sockets take one message,
   * cut to `max` (MSG_TRUNC). `peek` leaves the queue as it is. Throws
   * WouldBlock when nothing is there and more may come.
   */
  receive(max: number, peek: boolean): Received {
    if (this.state === 'listening') fail('EINVAL');
    if (this.queue.length === 0) {
      const err = this.takeError();
      if (err) fail(err);
      if (this.connectionOriented && this.state !== 'connected' && this.state !== 'closed') fail(this.family === AF_UNIX ? 'EINVAL' : 'ENOTCONN');
      if (this.shutRd || this.peerDone || (this.connectionOriented && !this.peer)) return { data: new Uint8Array(0), fullLength: 0, flags: 0, rights: null, cred: null, from: null };
      throw new WouldBlock([this.readable]);
    }
    if (!this.isStream) {
      const m = this.queue[0]!;
      const data = m.data.subarray(0, Math.min(max, m.data.length)).slice();
      const full = m.data.length;
      let rights: OpenFileDescription[] | null = null;
      if (peek) {
        rights = m.rights ? m.rights.map((o) => o.retain()) : null;
      } else {
        this.dequeue();
        rights = m.rights;
      }
      return { data, fullLength: full, flags: full > max ? MSG_TRUNC : 0, rights, cred: m.cred, from: m.from };
    }
    const out = new Uint8Array(Math.min(max, this.queued));
    let n = 0;
    let rights: OpenFileDescription[] | null = null;
    let cred: Ucred | null = null;
    for (let i = 0; i < this.queue.length && n < out.length; ) {
      const m = this.queue[i]!;
      if (m.rights && n > 0) break;
      if (cred && (cred.pid !== m.cred.pid || cred.uid !== m.cred.uid || cred.gid !== m.cred.gid) && this.opts.passcred) break;
      cred ??= m.cred;
      const k = Math.min(out.length - n, m.data.length - m.taken);
      out.set(m.data.subarray(m.taken, m.taken + k), n);
      n += k;
      if (m.rights) rights = peek ? m.rights.map((o) => o.retain()) : m.rights;
      if (!peek) {
        m.taken += k;
        if (m.taken === m.data.length) {
          this.dequeue();
        } else if (m.rights) {
          // The fds went out with the first bytes of their message.
          this.countInflight(m.cred.uid, -m.rights.length);
          m.rights = null;
        }
      } else {
        i++;
      }
      if (rights) break;
      if (!peek && m.taken < m.data.length) break;
    }
    if (!peek) this.peer?.writable.notify();
    return { data: out.subarray(0, n), fullLength: n, flags: 0, rights, cred, from: this.peer?.local ?? null };
  }

  /**
   * Send `data` to the peer (or, for a datagram, to `target`). A stream
   * takes what fits and returns how much (WouldBlock when nothing does); a
   * datagram or record goes whole or waits (EMSGSIZE when it could never
   * fit). `rights` are taken over when the call succeeds.
   */
  send(data: Uint8Array, rights: OpenFileDescription[] | null, cred: Ucred, target: Socket | null, from: SockAddr | null = this.local): number {
    if (this.shutWr) fail('EPIPE');
    // TCP reports a pending error (a reset) to the next send; unix_stream_sendmsg does not look.
    const err = this.family === AF_UNIX ? null : this.takeError();
    if (err) fail(err);
    const to = target ?? this.peer;
    if (this.connectionOriented) {
      if (this.state === 'connecting') throw new WouldBlock([this.writable]);
      if (this.state !== 'connected' && !(this.state === 'closed' && this.peerDone)) fail(this.family === AF_UNIX ? 'ENOTCONN' : 'EPIPE');
      if (!to || to.shutRd || to.released) {
        // TCP: the peer answers the first send with a reset (ECONNRESET next time), then EPIPE (tcp_sendmsg).
        if (this.family !== AF_UNIX && !this.reset) {
          this.reset = true;
          this.error = 'ECONNRESET';
          return data.length;
        }
        fail('EPIPE');
      }
    } else if (!to) {
      fail(this.family === AF_UNIX ? 'ENOTCONN' : 'EDESTADDRREQ');
    } else if (to.released) {
      fail('ECONNREFUSED');
    }
    const dest = to!;
    if (!this.isStream) {
      const cost = data.length + DATAGRAM_OVERHEAD;
      if (cost > this.limitAt(dest) && data.length > this.opts.sndbuf) fail('EMSGSIZE');
      if (dest.queued > 0 && dest.queued + cost > this.limitAt(dest)) {
        if (this.family !== AF_UNIX) return data.length; // UDP: a full receiver drops the datagram
        throw new WouldBlock([this.writable, dest.roomMade]);
      }
      this.deliver(dest, data.slice(), rights, cred, from);
      return data.length;
    }
    const room = this.roomAt(dest);
    if (room === 0) throw new WouldBlock([this.writable]);
    const n = Math.min(room, data.length);
    // Zero bytes with fds still carry the fds (a stream message of its own).
    if (n === 0 && !rights) return 0;
    this.deliver(dest, data.slice(0, n), rights, cred, this.local);
    return n;
  }

  // ---- connections ------------------------------------------------------------------------------

  /** Join two sockets into a connection (socketpair, or connect making the server side). */
  static pair(a: Socket, b: Socket, credA: Ucred, credB: Ucred): void {
    a.peer = b;
    b.peer = a;
    a.state = 'connected';
    b.state = 'connected';
    a.peerCred = credB;
    b.peerCred = credA;
  }

  /** listen(2): start taking connections, with a backlog (capped at somaxconn; a negative one means the cap). */
  listen(backlog: number): void {
    if (!this.connectionOriented) fail('EOPNOTSUPP');
    if (this.state !== 'unconnected' && this.state !== 'listening') fail('EINVAL');
    this.backlogMax = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    this.state = 'listening';
    this.readable.notify();
  }

  /** A listener can take one more connection: Linux allows backlog+1 (sk_acceptq_is_full is "greater than"). */
  get backlogFull(): boolean {
    return this.backlog.length > this.backlogMax;
  }

  /**
   * A connection from `client` to this listener: a new socket on this side
   * joins it, waiting in the backlog for accept. `make` builds the new
   * socket (its family's addressing), `serverCred` is the listener's owner.
   */
  enqueueConnection(client: Socket, server: Socket, clientCred: Ucred, serverCred: Ucred): void {
    Socket.pair(client, server, clientCred, serverCred);
    server.listener = this;
    this.backlog.push(server);
    this.readable.notify();
  }

  /** accept(2): the oldest connection, or WouldBlock. */
  accept(): Socket {
    if (this.state !== 'listening') fail('EINVAL');
    const s = this.backlog.shift();
    if (!s) {
      const err = this.takeError();
      if (err) fail(err);
      throw new WouldBlock([this.readable]);
    }
    s.listener = null;
    // Room in the backlog: connects waiting for it go on.
    this.writable.notify();
    return s;
  }

  /** shutdown(2): SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2. */
  shutdown(how: number): void {
    if (how < 0 || how > 2) fail('EINVAL');
    if (this.connectionOriented && this.state !== 'connected') fail('ENOTCONN');
    if (how !== 1) this.shutRd = true;
    if (how !== 0) this.shutWr = true;
    const peer = this.peer;
    if (peer && this.shutWr) {
      peer.peerDone = true;
      peer.readable.notify();
    }
    // AF_UNIX tells the peer both ways (unix_shutdown): our SHUT_RD is its SHUT_WR.
    if (peer && this.shutRd && this.family === AF_UNIX) peer.shutWrByPeer();
    this.readable.notify();
    this.writable.notify();
  }

  private shutWrByPeer(): void {
    this.writable.notify();
  }

  // ---- poll ---------------------------------------------------------------------------------------

  /** unix_poll / tcp_poll / datagram_poll. */
  poll(events: number, waits: Waitable[]): number {
    waits.push(this.readable, this.writable);
    let mask = 0;
    if (this.error) mask |= POLLERR;
    if (this.state === 'listening') return mask | (this.backlog.length > 0 ? events & POLL_READ : 0);
    if (this.state === 'connecting') {
      this.onConnectingPoll?.();
      if ((this.state as SocketState) === 'connecting') return mask;
    }
    const eof = this.shutRd || this.peerDone;
    if (this.queue.length > 0 || eof) mask |= events & POLL_READ;
    if (this.peerDone || this.shutRd) mask |= events & POLLRDHUP;
    if ((this.shutWr && (this.peerDone || this.shutRd)) || (this.connectionOriented && this.state !== 'connected' && this.state !== 'connecting')) mask |= POLLHUP;
    if (this.writableNow(waits)) mask |= events & POLL_WRITE;
    return mask;
  }

  /** Hook for a nonblocking connect in progress: poll may find it done (inet.ts sets it). */
  onConnectingPoll: (() => void) | null = null;

  private writableNow(waits: Waitable[]): boolean {
    if (this.shutWr) return false;
    if (this.connectionOriented) {
      if (this.state !== 'connected') return this.state === 'unconnected';
      const p = this.peer;
      if (!p || p.released) return true; // the send will say EPIPE
      return this.roomAt(p) > 0;
    }
    if (this.peer) {
      waits.push(this.peer.roomMade);
      return this.peer.released || this.peer.queued + DATAGRAM_OVERHEAD <= this.limitAt(this.peer);
    }
    return true;
  }

  // ---- OpenFile ---------------------------------------------------------------------------------

  read(buf: Uint8Array): number {
    const r = this.receive(buf.length, false);
    buf.set(r.data);
    // read(2) has nowhere to put fds: they are closed (unix_detach_fds via scm_destroy).
    for (const ofd of r.rights ?? []) ofd.release();
    return r.data.length;
  }

  /** write(2): send with no address and no ancillary data; the caller's process is the sender. */
  write(buf: Uint8Array): number {
    if (!this.connectionOriented && this.addressing.sendDatagram) return this.addressing.sendDatagram(this, buf, null, this.world.caller());
    return this.send(buf, null, this.world.caller(), null);
  }

  size(): number {
    return 0;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** The last fd closed (unix_release_sock, tcp_close). */
  close(): void {
    if (this.released) return;
    this.released = true;
    const unread = this.queue.length > 0;
    this.purge();
    for (const pending of this.backlog.splice(0)) {
      // Connections never accepted are reset (embryos, in unix_release_sock).
      pending.close();
    }
    const peer = this.peer;
    if (peer && this.connectionOriented) {
      peer.peerDone = true;
      // Unread data, or a connection dropped from a backlog, resets the other end.
      if (unread || this.listener) peer.error = 'ECONNRESET';
      peer.readable.notify();
      peer.writable.notify();
    }
    this.state = 'closed';
    this.addressing.unbind(this);
    this.readable.notify();
    this.writable.notify();
    this.roomMade.notify();
  }
}
