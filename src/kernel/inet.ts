// AF_INET and AF_INET6 with --net none (see ip(7), ipv6(7), tcp(7), udp(7)):
// the guest has one interface, `lo`, with 127.0.0.1/8 and ::1, and TCP and
// UDP between its own sockets over it. A connection is a pair of Sockets
// (socket.ts) as an AF_UNIX stream pair is; what this module adds is ports:
// binding (with SO_REUSEADDR and SO_REUSEPORT as Linux allows them),
// ephemeral ports (ip_local_port_range 32768-60999), finding the listener
// a connect reaches, the datagram a port receives. Any address off
// loopback is unreachable (ENETUNREACH); binding one is EADDRNOTAVAIL.
// INADDR_ANY and in6addr_any bind as loopback, and connecting to them
// reaches loopback, as Linux does.
import { fail } from './errors.ts';
import { WouldBlock } from './wait.ts';
import {
  AF_INET,
  AF_INET6,
  Socket,
  SocketNode,
  type AddressFamily,
  type SockAddr,
  type SocketWorld,
  type Ucred,
} from './socket.ts';

export type InetAddr = Extract<SockAddr, { family: typeof AF_INET | typeof AF_INET6 }>;

export function isInetFamily(domain: number): boolean {
  return domain === AF_INET || domain === AF_INET6;
}

const IPPROTO_IP = 0;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;

/** Option values a fresh socket reads back, by level:name (ip(7), tcp(7)). */
const OPTION_DEFAULTS: ReadonlyMap<string, number> = new Map([
  [`${IPPROTO_IP}:2`, 64], // IP_TTL
  [`${IPPROTO_TCP}:2`, 536], // TCP_MAXSEG before a connection
  [`${IPPROTO_TCP}:4`, 7200], // TCP_KEEPIDLE
  [`${IPPROTO_TCP}:5`, 75], // TCP_KEEPINTVL
  [`${IPPROTO_TCP}:6`, 9], // TCP_KEEPCNT
  [`${IPPROTO_IPV6}:16`, 64], // IPV6_UNICAST_HOPS
]);

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address; other addresses as they are. */
function unmap(a: InetAddr): InetAddr {
  if (a.family === AF_INET6 && V4_MAPPED_PREFIX.every((b, i) => a.addr[i] === b)) {
    return { family: AF_INET, addr: a.addr.slice(12), port: a.port };
  }
  return a;
}

/** `a` as a socket of `family` sees it: an IPv4 address seen by an AF_INET6 socket is v4-mapped. */
export function addressFor(family: number, a: InetAddr): InetAddr {
  if (family === AF_INET6 && a.family === AF_INET) {
    const addr = new Uint8Array(16);
    addr.set(V4_MAPPED_PREFIX);
    addr.set(a.addr, 12);
    return { family: AF_INET6, addr, port: a.port };
  }
  return a;
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const isV6Loopback = (b: Uint8Array): boolean => b.subarray(0, 15).every((x) => x === 0) && b[15] === 1;

/** The wildcard (INADDR_ANY, in6addr_any), after unmapping. */
function isWildcard(a: InetAddr): boolean {
  return isZero(a.addr);
}

/** On `lo`: 127.0.0.0/8 and ::1. */
function isLoopback(a: InetAddr): boolean {
  return a.family === AF_INET ? a.addr[0] === 127 : isV6Loopback(a.addr);
}

function sameAddr(a: InetAddr, b: InetAddr): boolean {
  return a.family === b.family && a.addr.every((x, i) => x === b.addr[i]);
}

export class InetAddressing implements AddressFamily {
  /** Sockets holding each port, per protocol: bound ones, listeners, connected clients. */
  private readonly ports = new Map<number, Map<number, Set<Socket>>>([
    [IPPROTO_TCP, new Map()],
    [IPPROTO_UDP, new Map()],
  ]);
  private nextEphemeral = EPHEMERAL_LOW;

  constructor(readonly world: SocketWorld) {}

  /** A struct sockaddr_in or sockaddr_in6 for a socket of `s`'s family (EINVAL short; EAFNOSUPPORT another family). */
  parse(s: Socket, b: Uint8Array): InetAddr {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const fam = v.getUint16(0, true);
    if (s.family === AF_INET) {
      if (b.length < 16) fail('EINVAL');
      if (fam !== AF_INET) fail('EAFNOSUPPORT');
      return { family: AF_INET, addr: b.slice(4, 8), port: v.getUint16(2, false) };
    }
    // An AF_INET6 socket takes a sockaddr_in too for connect and send (inet6 falls back to IPv4 there).
    if (fam === AF_INET && b.length >= 16) return addressFor(AF_INET6, { family: AF_INET, addr: b.slice(4, 8), port: v.getUint16(2, false) });
    if (b.length < 24) fail('EINVAL');
    if (fam !== AF_INET6) fail('EAFNOSUPPORT');
    return { family: AF_INET6, addr: b.slice(8, 24), port: v.getUint16(2, false) };
  }

  private v6only(s: Socket): boolean {
    return (s.opts.other.get(`${IPPROTO_IPV6}:${IPV6_V6ONLY}`) ?? 0) !== 0;
  }

  private table(s: Socket): Map<number, Set<Socket>> {
    return this.ports.get(s.isStream ? IPPROTO_TCP : IPPROTO_UDP)!;
  }

  /** Whether two sockets' bound addresses cover a common address (inet_rcv_saddr_equal). */
  private overlap(x: Socket, y: Socket): boolean {
    const a = unmap(x.local as InetAddr);
    const b = unmap(y.local as InetAddr);
    const aAny = isWildcard(a);
    const bAny = isWildcard(b);
    // A v6 wildcard covers IPv4 unless IPV6_V6ONLY; a v4 wildcard covers no IPv6 address.
    const covers = (w: Socket, wa: InetAddr, other: InetAddr): boolean => wa.family === other.family || (wa.family === AF_INET6 && !this.v6only(w));
    if (aAny && bAny) return covers(x, a, b) || covers(y, b, a);
    if (aAny) return covers(x, a, b);
    if (bAny) return covers(y, b, a);
    return sameAddr(a, b);
  }

  /** Another socket on the port that this one may not share it with (inet_csk_bind_conflict). */
  private conflicts(s: Socket, port: number): boolean {
    for (const x of this.table(s).get(port) ?? []) {
      if (x === s || x.isReleased || !this.overlap(x, s)) continue;
      if (x.opts.reuseport && s.opts.reuseport) continue;
      const reuse = x.opts.reuseaddr && s.opts.reuseaddr;
      if (!s.isStream) {
        if (reuse) continue;
        return true;
      }
      // TCP: SO_REUSEADDR on both lets them share unless the other one listens (inet_csk_bind_conflict).
      if (reuse && x.state !== 'listening') continue;
      return true;
    }
    return false;
  }

  private hold(s: Socket, local: InetAddr): void {
    s.local = local;
    const t = this.table(s);
    let set = t.get(local.port);
    if (!set) t.set(local.port, (set = new Set()));
    set.add(s);
  }

  private ephemeralPort(s: Socket): number {
    const t = this.table(s);
    for (let i = 0; i <= EPHEMERAL_HIGH - EPHEMERAL_LOW; i++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port >= EPHEMERAL_HIGH ? EPHEMERAL_LOW : port + 1;
      if (!t.get(port)?.size) return port;
    }
    fail('EADDRINUSE');
  }

  /** bind(2): a loopback or wildcard address; port 0 picks an ephemeral one; below 1024 needs root (CAP_NET_BIND_SERVICE). */
  bind(s: Socket, a: InetAddr, root: boolean): void {
    if (a.family !== s.family && !(s.family === AF_INET6 && a.family === AF_INET6)) fail('EAFNOSUPPORT');
    const u = unmap(a);
    if (!isWildcard(u) && !isLoopback(u)) fail('EADDRNOTAVAIL');
    if (s.local) fail('EINVAL');
    if (a.port !== 0 && a.port < 1024 && !root) fail('EACCES');
    const addr = { family: a.family, addr: a.addr.slice(), port: a.port };
    s.local = addr;
    if (a.port === 0) {
      (s.local as { port: number }).port = this.ephemeralPort(s);
    } else if (this.conflicts(s, a.port)) {
      s.local = null;
      fail('EADDRINUSE');
    }
    this.hold(s, s.local as InetAddr);
  }

  /** Bind an unbound socket to the wildcard and an ephemeral port (inet_autobind). */
  private autobind(s: Socket, near: InetAddr | null): void {
    if (s.local) return;
    const addr = new Uint8Array(s.family === AF_INET6 ? 16 : 4);
    // A connecting socket's source is the loopback address on the destination's side.
    if (near) addr.set(s.family === AF_INET6 && near.family === AF_INET ? addressFor(AF_INET6, near).addr : near.addr);
    s.local = { family: s.family as typeof AF_INET, addr, port: 0 };
    (s.local as { port: number }).port = this.ephemeralPort(s);
    this.hold(s, s.local as InetAddr);
  }

  /** listen(2) on an unbound socket takes an ephemeral port; a port shared under SO_REUSEADDR is EADDRINUSE for a second listener. */
  prepareListen(s: Socket): void {
    if (!s.local) this.autobind(s, null);
    else if (this.conflicts(s, (s.local as InetAddr).port)) fail('EADDRINUSE');
  }

  /** getsockname of an unbound socket: the wildcard, port 0. */
  unboundAddress(s: Socket): InetAddr {
    return { family: s.family as typeof AF_INET, addr: new Uint8Array(s.family === AF_INET6 ? 16 : 4), port: 0 };
  }

  /** Where a packet to `a` goes: loopback (the wildcard meaning loopback, as ip_route_connect makes it), else ENETUNREACH. */
  private destination(a: InetAddr): InetAddr {
    const u = unmap(a);
    if (isWildcard(u)) {
      const addr = u.family === AF_INET ? new Uint8Array([127, 0, 0, 1]) : (() => {
        const b = new Uint8Array(16);
        b[15] = 1;
        return b;
      })();
      return { family: u.family, addr, port: u.port };
    }
    if (!isLoopback(u)) fail('ENETUNREACH');
    return u;
  }

  /** Whether socket `x` (bound) receives what is sent to `dest` (unmapped). */
  private reaches(x: Socket, dest: InetAddr): boolean {
    const b = unmap(x.local as InetAddr);
    if (isWildcard(b)) return b.family === dest.family || (b.family === AF_INET6 && !this.v6only(x));
    return sameAddr(b, dest);
  }

  private listenerFor(dest: InetAddr): Socket | null {
    let found: Socket | null = null;
    for (const x of this.ports.get(IPPROTO_TCP)!.get(dest.port) ?? []) {
      if (x.state !== 'listening' || x.isReleased || !this.reaches(x, dest)) continue;
      // A listener bound to the very address wins over a wildcard one.
      if (!found || !isWildcard(unmap(x.local as InetAddr))) found = x;
    }
    return found;
  }

  /**
   * connect(2). TCP: a connection to the listener on the port, or
   * ECONNREFUSED; nonblocking, EINPROGRESS (the outcome then in SO_ERROR
   * and poll). UDP: the default destination, and only its datagrams are
   * received; AF_UNSPEC (null) dissolves it.
   */
  connect(s: Socket, a: InetAddr | null, nonblock: boolean, cred: Ucred): number {
    if (!s.isStream) {
      if (!a) {
        s.remote = null;
        return 0;
      }
      const dest = this.destination(a);
      this.autobind(s, dest);
      s.remote = addressFor(s.family, dest);
      return 0;
    }
    if (s.state === 'connected' || s.state === 'listening') fail('EISCONN');
    if (s.state === 'connecting') {
      this.tryComplete(s, cred);
      if (s.state === 'connecting') {
        if (nonblock) fail('EALREADY');
        throw this.waitForRoom(s.listener!);
      }
      const err = s.takeError();
      if (err) fail(err);
      return 0;
    }
    if (s.state === 'closed') fail('EISCONN');
    if (!a) return 0;
    const dest = this.destination(a);
    if (a.family === AF_INET && s.family === AF_INET6) fail('EAFNOSUPPORT');
    this.autobind(s, dest);
    const listener = this.listenerFor(dest);
    if (!listener) {
      if (!nonblock) fail('ECONNREFUSED');
      s.error = 'ECONNREFUSED';
      fail('EINPROGRESS');
    }
    s.peerAddress = addressFor(s.family, { ...dest, addr: dest.addr });
    if (listener.backlogFull) {
      // The SYN waits for room in the backlog (a full queue drops SYNs; the client retries).
      if (!nonblock) throw this.waitForRoom(listener);
      s.state = 'connecting';
      s.listener = listener;
      s.onConnectingPoll = () => this.tryComplete(s, cred);
      fail('EINPROGRESS');
    }
    this.complete(s, listener, cred);
    if (nonblock) fail('EINPROGRESS');
    return 0;
  }

  private waitForRoom(listener: Socket): WouldBlock {
    return new WouldBlock([listener.writable, listener.readable]);
  }

  /** A connect waiting for room in a backlog: done now if there is room, refused if the listener went. */
  private tryComplete(s: Socket, cred: Ucred): void {
    if (s.state !== 'connecting') return;
    const listener = s.listener!;
    if (listener.isReleased || listener.state !== 'listening') {
      s.state = 'unconnected';
      s.listener = null;
      s.onConnectingPoll = null;
      s.error = 'ECONNREFUSED';
      s.writable.notify();
      return;
    }
    if (listener.backlogFull) return;
    s.listener = null;
    s.onConnectingPoll = null;
    this.complete(s, listener, cred);
  }

  /** The server side of a new connection, queued on the listener. */
  private complete(client: Socket, listener: Socket, cred: Ucred): void {
    const server = new Socket(this.world, new SocketNode(listener.node.fs, listener.node.uid, listener.node.gid), listener.family, SOCK_STREAM_TYPE, listener.protocol, this);
    const clientLocal = client.local as InetAddr;
    const dest = unmap(client.peerAddress as InetAddr);
    server.local = addressFor(listener.family, { ...dest, port: (listener.local as InetAddr).port });
    server.peerAddress = addressFor(listener.family, unmap(clientLocal));
    server.opts.rcvbuf = listener.opts.rcvbuf;
    server.opts.sndbuf = listener.opts.sndbuf;
    for (const [k, v] of listener.opts.other) server.opts.other.set(k, v);
    listener.enqueueConnection(client, server, cred, listener.listenCred ?? cred);
    client.writable.notify();
  }

  /**
   * Where a datagram to `a` goes: the socket bound to its port that takes
   * it (the last bound, under SO_REUSEADDR), or null when none does (it is
   * dropped; a connected sender hears ECONNREFUSED from the next call, as
   * the ICMP port unreachable makes it).
   */
  sendTarget(s: Socket, a: InetAddr): Socket | null {
    if (s.isStream) fail(s.state === 'connected' ? 'EISCONN' : 'EPIPE');
    const dest = this.destination(a);
    // An unbound UDP sender is bound to the wildcard (inet_autobind), not to a source address.
    this.autobind(s, null);
    const from = unmap(s.local as InetAddr);
    const source = isWildcard(from) ? { ...from, addr: dest.family === from.family ? dest.addr : from.addr } : from;
    let target: Socket | null = null;
    for (const x of this.ports.get(IPPROTO_UDP)!.get(dest.port) ?? []) {
      if (x.isReleased || !this.reaches(x, dest)) continue;
      const r = x.remote ? unmap(x.remote as InetAddr) : null;
      if (r && !(sameAddr(r, source) && r.port === source.port)) continue;
      target = x;
    }
    if (!target && s.remote) s.error = 'ECONNREFUSED';
    return target;
  }

  /**
   * A UDP datagram to `to`, or to the connected destination: queued on the
   * socket that has the port, or lost when none has it (a connected sender
   * then hears ECONNREFUSED from its next call, as the ICMP port
   * unreachable makes it). An error left by an earlier datagram is this
   * call's answer.
   */
  sendDatagram(s: Socket, data: Uint8Array, to: InetAddr | null, cred: Ucred): number {
    const earlier = s.takeError();
    if (earlier) fail(earlier);
    const dest = to ?? (s.remote as InetAddr | null) ?? fail('EDESTADDRREQ');
    const target = this.sendTarget(s, dest);
    if (!target) return data.length;
    return s.send(data, null, cred, target, this.sourceFor(s, target));
  }

  /** A UDP sender's address as the receiver sees it. */
  sourceFor(s: Socket, receiver: Socket): InetAddr {
    const from = s.local as InetAddr;
    const u = unmap(from);
    const src = isWildcard(u) ? { family: u.family, addr: u.family === AF_INET ? new Uint8Array([127, 0, 0, 1]) : isV6One(), port: u.port } : u;
    return addressFor(receiver.family, src);
  }

  setOption(s: Socket, level: number, name: number, value: number): void {
    if (level !== IPPROTO_IP && level !== IPPROTO_TCP && level !== IPPROTO_UDP && level !== IPPROTO_IPV6) fail('ENOPROTOOPT');
    if (level === IPPROTO_TCP && !s.isStream) fail('ENOPROTOOPT');
    if (level === IPPROTO_IPV6 && s.family !== AF_INET6) fail('ENOPROTOOPT');
    // IPV6_V6ONLY cannot change once bound (do_ipv6_setsockopt: EINVAL).
    if (level === IPPROTO_IPV6 && name === IPV6_V6ONLY && s.local) fail('EINVAL');
    s.opts.other.set(`${level}:${name}`, value);
  }

  getOption(s: Socket, level: number, name: number): Uint8Array {
    if (level !== IPPROTO_IP && level !== IPPROTO_TCP && level !== IPPROTO_UDP && level !== IPPROTO_IPV6) fail('ENOPROTOOPT');
    if (level === IPPROTO_TCP && !s.isStream) fail('ENOPROTOOPT');
    const key = `${level}:${name}`;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, s.opts.other.get(key) ?? OPTION_DEFAULTS.get(key) ?? 0, true);
    return b;
  }

  unbind(s: Socket): void {
    const local = s.local as InetAddr | null;
    if (!local) return;
    const set = this.table(s).get(local.port);
    if (!set?.delete(s)) return;
    if (set.size === 0) this.table(s).delete(local.port);
  }
}

const SOCK_STREAM_TYPE = 1;

function isV6One(): Uint8Array {
  const b = new Uint8Array(16);
  b[15] = 1;
  return b;
}
