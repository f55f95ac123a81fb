// AF_NETLINK sockets of the NETLINK_ROUTE protocol, for what programs ask
// of it at start: the list of network interfaces and their addresses
// (glibc's getifaddrs and if_nameindex, Go's net.Interfaces and
// net.InterfaceAddrs, `ip link` and `ip addr`). See netlink(7) and
// rtnetlink(7).
//
// The kernel side answers two dump requests, RTM_GETLINK and RTM_GETADDR,
// from the interfaces the guest's network has (netInterfaces below: the
// loopback alone under --net none, the host's under --net host), and an
// empty dump for RTM_GETROUTE and RTM_GETNEIGH; anything else gets
// NLMSG_ERROR with EOPNOTSUPP. Nothing can be changed (RTM_NEW*, RTM_DEL*
// are refused with EPERM, as for a process without CAP_NET_ADMIN), and no
// multicast group delivers events: a guest sees the interfaces, never
// reaches them.
//
// Replies go to the socket's own queue as the kernel sends them
// (netlink_dump): as many messages per datagram as fit in a page, each
// dump ended by NLMSG_DONE, with the request's sequence number and the
// socket's port id.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { fail } from './errors.ts';
import { ERRNO } from './errno-table.ts';
import { SocketNode } from './socket.ts';
import type { OpenFile } from './vfs/types.ts';
import { Waitable, WouldBlock } from './wait.ts';

export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;

// Message types and flags (linux/netlink.h, linux/rtnetlink.h).
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_MULTI = 0x2;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const RTM_GETROUTE = 26;
const RTM_GETNEIGH = 30;
// Attributes.
const IFLA_ADDRESS = 1;
const IFLA_BROADCAST = 2;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_TXQLEN = 13;
const IFLA_OPERSTATE = 16;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
// Interface flags (linux/if.h), types (linux/if_arp.h), scopes (rtnetlink.h).
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_MULTICAST = 0x1000;
const IFF_LOWER_UP = 0x10000;
export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_HOST = 254;
const IF_OPER_UP = 6;
const IF_OPER_UNKNOWN = 0;
const IFA_F_PERMANENT = 0x80;

const NLMSG_HDRLEN = 16;
/** What one datagram of a dump holds at most (netlink_dump: a page, or the reader's buffer when smaller). */
const DUMP_DATAGRAM = 4096;
/** The socket buffers' default (net.core.rmem_default), for SO_RCVBUF and SO_SNDBUF. */
export const NETLINK_BUFFER = 212992;

/** One address of an interface: 4 bytes (AF_INET) or 16 (AF_INET6). */
export interface NetAddress {
  family: 2 | 10;
  addr: Uint8Array;
  prefixlen: number;
}

/** One network interface, as RTM_NEWLINK and RTM_NEWADDR describe it. */
export interface NetInterface {
  index: number;
  name: string;
  flags: number;
  mtu: number;
  /** The hardware address (IFLA_ADDRESS), 6 bytes for Ethernet, 6 zero bytes for the loopback. */
  mac: Uint8Array;
  loopback: boolean;
  addrs: NetAddress[];
}

/** The interfaces of a guest's network: the host's under --net host, else the loopback alone. */
export function interfacesOf(hostNet: boolean): NetInterface[] {
  return hostNet ? hostInterfaces() : loopbackOnly();
}

/** The loopback, as Linux brings it up in a new network namespace. */
export function loopbackOnly(): NetInterface[] {
  return [
    {
      index: 1,
      name: 'lo',
      flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP,
      mtu: 65536,
      mac: new Uint8Array(6),
      loopback: true,
      addrs: [
        { family: 2, addr: Uint8Array.of(127, 0, 0, 1), prefixlen: 8 },
        { family: 10, addr: Uint8Array.of(...new Array<number>(15).fill(0), 1), prefixlen: 128 },
      ],
    },
  ];
}

/**
 * The host's interfaces (--net host): names and addresses from Node's
 * os.networkInterfaces(), which lists those with an address; on Linux the
 * index, flags, MTU and type come from /sys/class/net/NAME, and interfaces
 * with no address are listed too, as natively. Elsewhere the indexes are
 * made up in order and every interface is up.
 *
 * sysfs shows the network namespace of whoever mounted it, not this
 * process's: under `unshare -n` without a new /sys mount it lists the
 * parent namespace's devices. So it is used only when it names exactly the
 * devices /proc/net/dev lists, which is always this process's namespace.
 */
export function hostInterfaces(): NetInterface[] {
  const byName = new Map<string, NetInterface>();
  const sysfs = '/sys/class/net';
  let names: string[] = [];
  try {
    names = fs.readdirSync(sysfs); // Linux only
  } catch {
    names = [];
  }
  const own = namespaceDevices();
  if (!own || names.length !== own.size || !names.every((n) => own.has(n))) names = [];
  const readNum = (name: string, what: string): number | null => {
    const n = Number(readText(`${sysfs}/${name}/${what}`) ?? NaN);
    return Number.isFinite(n) ? n : null;
  };
  for (const name of names) {
    const index = readNum(name, 'ifindex');
    if (index === null) continue;
    const type = readNum(name, 'type');
    const flags = readNum(name, 'flags') ?? IFF_UP;
    const carrier = readNum(name, 'carrier');
    // IFF_RUNNING and IFF_LOWER_UP are not in the flags file: dev_get_flags adds them from the carrier.
    const up = carrier === 1 && (flags & IFF_UP) !== 0;
    byName.set(name, {
      index,
      name,
      flags: flags | (up ? IFF_RUNNING | IFF_LOWER_UP : 0),
      mtu: readNum(name, 'mtu') ?? 1500,
      mac: parseMac(readText(`${sysfs}/${name}/address`) ?? ''),
      loopback: type === ARPHRD_LOOPBACK,
      addrs: [],
    });
  }
  let next = Math.max(0, ...[...byName.values()].map((i) => i.index)) + 1;
  for (const [name, infos] of Object.entries(os.networkInterfaces())) {
    let itf = byName.get(name);
    if (!itf) {
      const internal = infos?.some((i) => i.internal) ?? false;
      itf = {
        index: next++,
        name,
        flags: IFF_UP | IFF_RUNNING | IFF_LOWER_UP | (internal ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST),
        mtu: internal ? 65536 : 1500,
        mac: parseMac(infos?.[0]?.mac ?? ''),
        loopback: internal,
        addrs: [],
      };
      byName.set(name, itf);
    }
    for (const i of infos ?? []) {
      const addr = i.family === 'IPv4' ? parseIpv4(i.address) : parseIpv6(i.address.split('%')[0]!);
      const prefixlen = Number(i.cidr?.split('/')[1] ?? (i.family === 'IPv4' ? 32 : 128));
      if (addr) itf.addrs.push({ family: i.family === 'IPv4' ? 2 : 10, addr, prefixlen });
    }
  }
  return [...byName.values()].sort((a, b) => a.index - b.index);
}

/** The /proc/net files --net host takes from the host. */
export type HostNetFile = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'route';

/**
 * The host's /proc/net/NAME (tcp, tcp6, udp, udp6, route), for --net host,
 * whose inet sockets are the host's: the guest's own listeners and
 * connections are in it, as in a host-network container. null off Linux.
 */
export function hostProcNet(name: HostNetFile): string | null {
  try {
    return fs.readFileSync(`/proc/net/${name}`, 'latin1'); // Linux only
  } catch {
    return null;
  }
}

/** The devices of this process's network namespace, from /proc/net/dev ("NAME:" at the start of each line after two headers); null off Linux. */
function namespaceDevices(): Set<string> | null {
  const text = readText('/proc/net/dev'); // Linux only
  if (text === null) return null;
  return new Set(
    text
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter((n) => n !== ''),
  );
}

function readText(path: string): string | null {
  try {
    return fs.readFileSync(path, 'latin1').trim();
  } catch {
    return null;
  }
}

function parseMac(s: string): Uint8Array {
  const parts = s.split(':').map((p) => parseInt(p, 16));
  return parts.length === 6 && parts.every((p) => p >= 0 && p <= 255) ? Uint8Array.from(parts) : new Uint8Array(6);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.').map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? Uint8Array.from(parts) : null;
}

function parseIpv6(s: string): Uint8Array | null {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, null];
  const groups = (x: string | undefined): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = tail === null ? [] : groups(tail);
  const fill = tail === null ? 0 : 8 - h.length - t.length;
  const all = [...h, ...new Array<number>(Math.max(0, fill)).fill(0), ...t];
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

// ---- messages ------------------------------------------------------------------------------------

const align4 = (n: number): number => (n + 3) & ~3;

/** A message being built: header fields, a fixed part, then attributes. */
class MessageWriter {
  private readonly parts: Uint8Array[] = [];
  private length = NLMSG_HDRLEN;
  constructor(
    private readonly type: number,
    private readonly flags: number,
    private readonly seq: number,
    private readonly port: number,
  ) {}

  fixed(bytes: Uint8Array): this {
    this.push(bytes);
    return this;
  }

  attr(type: number, data: Uint8Array): this {
    const head = new Uint8Array(4);
    const v = new DataView(head.buffer);
    v.setUint16(0, 4 + data.length, true);
    v.setUint16(2, type, true);
    this.push(head);
    this.push(data);
    return this;
  }

  private push(b: Uint8Array): void {
    const padded = new Uint8Array(align4(b.length));
    padded.set(b);
    this.parts.push(padded);
    this.length += padded.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.length, true);
    v.setUint16(4, this.type, true);
    v.setUint16(6, this.flags, true);
    v.setUint32(8, this.seq, true);
    v.setUint32(12, this.port, true);
    let at = NLMSG_HDRLEN;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const cstring = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
};

/** RTM_NEWLINK for `itf`: struct ifinfomsg, then its attributes (rtnl_fill_ifinfo). */
function linkMessage(itf: NetInterface, seq: number, port: number): Uint8Array {
  const info = new Uint8Array(16);
  const v = new DataView(info.buffer);
  v.setUint16(2, itf.loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER, true);
  v.setInt32(4, itf.index, true);
  v.setUint32(8, itf.flags, true);
  const broadcast = itf.loopback ? new Uint8Array(6) : new Uint8Array(6).fill(0xff);
  return new MessageWriter(RTM_NEWLINK, NLM_F_MULTI, seq, port)
    .fixed(info)
    .attr(IFLA_IFNAME, cstring(itf.name))
    .attr(IFLA_TXQLEN, u32(1000))
    .attr(IFLA_OPERSTATE, Uint8Array.of(itf.loopback ? IF_OPER_UNKNOWN : itf.flags & IFF_LOWER_UP ? IF_OPER_UP : 2 /* IF_OPER_DOWN */))
    .attr(IFLA_MTU, u32(itf.mtu))
    .attr(IFLA_ADDRESS, itf.mac)
    .attr(IFLA_BROADCAST, broadcast)
    .bytes();
}

/** RTM_NEWADDR for one address: struct ifaddrmsg, then IFA_* (inet_fill_ifaddr, inet6_fill_ifaddr). */
function addrMessage(itf: NetInterface, a: NetAddress, seq: number, port: number): Uint8Array {
  const scope = itf.loopback ? RT_SCOPE_HOST : a.family === 10 && isLinkLocal6(a.addr) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  const w = new MessageWriter(RTM_NEWADDR, NLM_F_MULTI, seq, port).fixed(Uint8Array.of(a.family, a.prefixlen, IFA_F_PERMANENT, scope, ...u32(itf.index)));
  if (a.family === 10) return w.attr(IFA_ADDRESS, a.addr).bytes();
  w.attr(IFA_ADDRESS, a.addr).attr(IFA_LOCAL, a.addr);
  if (itf.flags & IFF_BROADCAST && a.prefixlen < 31) w.attr(IFA_BROADCAST, ipv4Broadcast(a.addr, a.prefixlen));
  return w.attr(IFA_LABEL, cstring(itf.name)).bytes();
}

/** An IPv4 address as 4 bytes, from its 32-bit value. */
const ipv4Bytes = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** The 32-bit netmask of an IPv4 prefix length. */
const maskOf = (prefixlen: number): number => (prefixlen === 0 ? 0 : (0xffffffff << (32 - prefixlen)) >>> 0);

/** The IPv4 netmask of a prefix length, 4 bytes (SIOCGIFNETMASK). */
export function ipv4Netmask(prefixlen: number): Uint8Array {
  return ipv4Bytes(maskOf(prefixlen));
}

/** The broadcast address of `addr`/`prefixlen`. */
export function ipv4Broadcast(addr: Uint8Array, prefixlen: number): Uint8Array {
  const n = ((addr[0]! << 24) | (addr[1]! << 16) | (addr[2]! << 8) | addr[3]!) >>> 0;
  return ipv4Bytes((n | ~maskOf(prefixlen)) >>> 0);
}

/** An IPv6 link-local address (fe80::/10): scope link in RTM_NEWADDR and /proc/net/if_inet6. */
export function isLinkLocal6(addr: Uint8Array): boolean {
  return addr[0] === 0xfe && (addr[1]! & 0xc0) === 0x80;
}

/** NLMSG_ERROR: the error (0 for an ack) and the request's header (netlink_ack, without NETLINK_CAP_ACK's trimming). */
function errorMessage(errno: number, request: Uint8Array, port: number): Uint8Array {
  const v = new DataView(request.buffer, request.byteOffset, request.byteLength);
  return new MessageWriter(NLMSG_ERROR, 0, v.getUint32(8, true), port)
    .fixed(Uint8Array.of(...u32(-errno >>> 0), ...request.subarray(0, NLMSG_HDRLEN)))
    .bytes();
}

// ---- the socket ------------------------------------------------------------------------------------

/** netlink_autobind's rover: after the pid, ports from -4096 downwards (as u32). */
let rover = -4096;

/** A NETLINK_ROUTE socket: requests in, replies queued as datagrams from the kernel (port 0). */
export class NetlinkSocket implements OpenFile {
  readonly seekable = false;
  /** The port id (nl_pid): the process's pid at bind or first send, as netlink_autobind gives it, or what bind asked for. */
  port = 0;
  groups = 0;
  readonly queue: Uint8Array[] = [];
  readonly readable = new Waitable();
  rcvbuf = NETLINK_BUFFER;
  sndbuf = NETLINK_BUFFER;

  constructor(
    readonly node: SocketNode,
    readonly type: number,
    /** The interfaces this socket's network has, asked at each dump. */
    private readonly interfaces: () => NetInterface[],
    /** The pid netlink_autobind tries first. */
    private readonly pid: number,
    /** Ports in use, shared by the run's netlink sockets. */
    private readonly ports: Set<number>,
  ) {}

  /** bind(2): port 0 picks one (netlink_autobind); a port in use is EADDRINUSE; groups need a multicast-capable protocol we do not offer. */
  bind(port: number, groups: number): void {
    if (groups !== 0) fail('EPERM', 'netlink multicast groups are not offered');
    if (this.port !== 0) {
      if (port !== 0 && port !== this.port) fail('EINVAL');
      return;
    }
    if (port === 0) return this.autobind();
    if (this.ports.has(port)) fail('EADDRINUSE');
    this.port = port;
    this.ports.add(port);
  }

  autobind(): void {
    if (this.port !== 0) return;
    let port = this.ports.has(this.pid) ? 0 : this.pid;
    while (port === 0 || this.ports.has(port)) port = rover-- >>> 0;
    this.port = port;
    this.ports.add(port);
  }

  /** A datagram to the kernel (port 0): every message in it answered. Returns its length. */
  send(data: Uint8Array): number {
    this.autobind();
    let at = 0;
    while (at + NLMSG_HDRLEN <= data.length) {
      const v = new DataView(data.buffer, data.byteOffset + at, data.length - at);
      const len = v.getUint32(0, true);
      if (len < NLMSG_HDRLEN || at + len > data.length) break;
      this.answer(data.subarray(at, at + len));
      at += align4(len);
    }
    this.readable.notify();
    return data.length;
  }

  private answer(msg: Uint8Array): void {
    const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const type = v.getUint16(4, true);
    const flags = v.getUint16(6, true);
    const seq = v.getUint32(8, true);
    if (!(flags & NLM_F_REQUEST)) return; // not a request: the kernel ignores it
    if (type < 16) {
      // Control messages (NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE...): nothing to do but an ack.
      if (flags & NLM_F_ACK) this.queue.push(errorMessage(0, msg, this.port));
      return;
    }
    // RTM_NEW* and RTM_DEL* need CAP_NET_ADMIN in the network's namespace; a single RTM_GET* (no dump) is not offered.
    // Either NLM_F_ROOT or NLM_F_MATCH asks for a dump (rtnetlink_rcv_msg tests the mask).
    const refused = (type & 3) !== 2 ? ERRNO.EPERM : (flags & NLM_F_DUMP) === 0 ? ERRNO.EOPNOTSUPP : 0;
    if (refused) {
      this.queue.push(errorMessage(refused, msg, this.port));
      return;
    }
    const family = msg.length > NLMSG_HDRLEN ? msg[NLMSG_HDRLEN]! : 0;
    let replies: Uint8Array[];
    switch (type) {
      case RTM_GETLINK:
        replies = this.interfaces().map((i) => linkMessage(i, seq, this.port));
        break;
      case RTM_GETADDR: {
        // AF_UNSPEC dumps IPv4's addresses, then IPv6's (rtnl_dump_all walks the families in order).
        const itfs = this.interfaces();
        replies = [2, 10]
          .filter((f) => family === 0 || f === family)
          .flatMap((f) => itfs.flatMap((i) => i.addrs.filter((a) => a.family === f).map((a) => addrMessage(i, a, seq, this.port))));
        break;
      }
      case RTM_GETROUTE:
      case RTM_GETNEIGH:
        replies = [];
        break;
      default:
        this.queue.push(errorMessage(ERRNO.EOPNOTSUPP, msg, this.port));
        return;
    }
    replies.push(new MessageWriter(NLMSG_DONE, NLM_F_MULTI, seq, this.port).fixed(u32(0)).bytes());
    this.queueDump(replies);
  }

  /** As many messages per datagram as fit a page (netlink_dump). */
  private queueDump(messages: Uint8Array[]): void {
    let batch: Uint8Array[] = [];
    let size = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      const d = new Uint8Array(size);
      let at = 0;
      for (const m of batch) {
        d.set(m, at);
        at += m.length;
      }
      this.queue.push(d);
      batch = [];
      size = 0;
    };
    for (const m of messages) {
      if (size + m.length > DUMP_DATAGRAM) flush();
      batch.push(m);
      size += m.length;
    }
    flush();
  }

  /** The next datagram: up to `max` bytes of it and its whole length; WouldBlock when none is queued. */
  receive(max: number, peek: boolean): { data: Uint8Array; fullLength: number } {
    const d = this.queue[0];
    if (!d) throw new WouldBlock([this.readable]);
    if (!peek) this.queue.shift();
    return { data: d.subarray(0, Math.max(0, Math.min(max, d.length))), fullLength: d.length };
  }

  // ---- OpenFile: read(2) and write(2) are recv and send without addresses

  read(buf: Uint8Array): number {
    const got = this.receive(buf.length, false);
    buf.set(got.data);
    return got.data.length;
  }

  write(buf: Uint8Array): number {
    return this.send(buf.slice());
  }

  size(): number {
    return 0;
  }

  close(): void {
    if (this.port !== 0) this.ports.delete(this.port);
    this.queue.length = 0;
  }

  poll(events: number, waits: Waitable[]): number {
    waits.push(this.readable);
    const POLLIN = 0x1;
    const POLLRDNORM = 0x40;
    const POLLOUT = 0x4;
    const POLLWRNORM = 0x100;
    return (this.queue.length > 0 ? events & (POLLIN | POLLRDNORM) : 0) | (events & (POLLOUT | POLLWRNORM));
  }
}

/** struct sockaddr_nl: family, pad, nl_pid, nl_groups (12 bytes). */
export function encodeSockaddrNl(port: number, groups = 0): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(4, port >>> 0, true);
  v.setUint32(8, groups >>> 0, true);
  return b;
}

/** A struct sockaddr_nl from the guest: EINVAL when short or of another family (netlink_bind). */
export function decodeSockaddrNl(b: Uint8Array): { port: number; groups: number } {
  if (b.length < 12) fail('EINVAL');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint16(0, true) !== AF_NETLINK) fail('EINVAL');
  return { port: v.getUint32(4, true), groups: v.getUint32(8, true) };
}
