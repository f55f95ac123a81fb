// What the guest sees of the network in /proc (see proc(5)): one interface,
// `lo`, with 127.0.0.1/8 and ::1, and the sockets of the run in the tables
// netstat and ss read (/proc/net/tcp, tcp6, udp, udp6, unix), in Linux's
// column layout (tcp4_seq_show, udp4_format_sock, unix_seq_show). Counters
// are zero: nothing goes over a wire.
import { isLinkLocal6, type NetInterface } from './netlink.ts';
import type { Process } from './process.ts';
import { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, Socket, type SockAddr } from './socket.ts';

/** Every socket some process has open, once each, with the connections waiting in listeners' backlogs. */
export function openSockets(processes: readonly Process[]): Socket[] {
  const seen = new Set<Socket>();
  for (const p of processes) {
    if (p.exited) continue;
    for (const fd of p.fds.list()) {
      const f = p.fds.get(fd).file;
      if (!(f instanceof Socket) || f.isReleased) continue;
      seen.add(f);
      for (const s of f.backlog) seen.add(s);
    }
  }
  return [...seen].sort((a, b) => a.node.ino - b.node.ino);
}

/** TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h). */
const TCP_ESTABLISHED = 0x01;
const TCP_CLOSE = 0x07;
const TCP_CLOSE_WAIT = 0x08;
const TCP_LISTEN = 0x0a;

const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');

/** An address as /proc/net/tcp prints it: the 32-bit words in host (little-endian) order, then the port. */
function procAddr(a: SockAddr | null, v6: boolean): string {
  const bytes = new Uint8Array(v6 ? 16 : 4);
  let port = 0;
  if (a && a.family !== AF_UNIX) {
    if (a.addr.length === bytes.length) bytes.set(a.addr);
    port = a.port;
  }
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) out += hex(((bytes[i + 3]! << 24) | (bytes[i + 2]! << 16) | (bytes[i + 1]! << 8) | bytes[i]!) >>> 0, 8);
  return `${out}:${hex(port, 4)}`;
}

function tcpState(s: Socket): number {
  if (s.state === 'listening') return TCP_LISTEN;
  if (s.state === 'connected') return s.peerDone ? TCP_CLOSE_WAIT : TCP_ESTABLISHED;
  return s.isStream ? TCP_CLOSE : TCP_CLOSE;
}

/** /proc/net/tcp, tcp6, udp, udp6. */
export function inetTable(sockets: readonly Socket[], proto: 'tcp' | 'udp', v6: boolean): string {
  const header = v6
    ? '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    : proto === 'tcp'
      ? '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n'
      : '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops             \n';
  const family = v6 ? AF_INET6 : AF_INET;
  const rows = sockets
    .filter((s) => s.family === family && (proto === 'tcp') === (s.type === SOCK_STREAM) && s.local)
    .map((s, i) => {
      const remote = s.peerAddress ?? s.remote;
      const st = proto === 'tcp' ? tcpState(s) : remote ? TCP_ESTABLISHED : TCP_CLOSE;
      const uid = String(s.node.uid).padStart(5);
      const queues = `${hex(0, 8)}:${hex(s.queued, 8)}`;
      const sl = String(i).padStart(proto === 'udp' && !v6 ? 5 : 4);
      return `${sl}: ${procAddr(s.local, v6)} ${procAddr(remote, v6)} ${hex(st, 2)} ${queues} 00:00000000 00000000 ${uid}        0 ${s.node.ino} ${proto === 'udp' ? '2 0000000000000000 0' : '1 0000000000000000 100 0 0 10 0'}\n`;
    });
  return header + rows.join('');
}

/** /proc/net/unix: flags __SO_ACCEPTCON (listening), type, state SS_* (unix_seq_show). */
export function unixTable(sockets: readonly Socket[]): string {
  const rows = sockets
    .filter((s) => s.family === AF_UNIX)
    .map((s) => {
      const flags = s.state === 'listening' ? 0x10000 : 0;
      const st = s.state === 'connected' ? 3 : 1; // SS_CONNECTED, SS_UNCONNECTED
      const local = s.local && s.local.family === AF_UNIX ? s.local.name : new Uint8Array(0);
      const name = local.length === 0 ? '' : local[0] === 0 ? ` @${Buffer.from(local.subarray(1)).toString('latin1')}` : ` ${Buffer.from(local).toString('latin1')}`;
      return `0000000000000000: 00000002 00000000 ${hex(flags, 8)} ${hex(s.type, 4)} ${hex(st, 2)} ${s.node.ino}${name}\n`;
    });
  return 'Num       RefCount Protocol Flags    Type St Inode Path\n' + rows.join('');
}

/** /proc/net/dev: the guest's interfaces (netlink.ts, interfacesOf), with nothing counted. */
export function devTable(interfaces: readonly NetInterface[]): string {
  const zeros = '       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n';
  return (
    'Inter-|   Receive                                                |  Transmit\n' +
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
    interfaces.map((i) => `${i.name.padStart(6)}:${zeros}`).join('')
  );
}

/**
 * /proc/net/if_inet6: each IPv6 address, its interface index, prefix
 * length, scope (0x10 host, 0x20 link, 0 global: IPV6_ADDR_* scope bits)
 * and flags (0x80 permanent), as if6_seq_show prints them.
 */
export function ifInet6(interfaces: readonly NetInterface[]): string {
  const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
  return interfaces
    .flatMap((i) =>
      i.addrs
        .filter((a) => a.family === 10)
        .map((a) => {
          const scope = i.loopback ? 0x10 : isLinkLocal6(a.addr) ? 0x20 : 0;
          return `${Buffer.from(a.addr).toString('hex')} ${hex2(i.index)} ${hex2(a.prefixlen)} ${hex2(scope)} 80 ${i.name.padStart(8)}\n`;
        }),
    )
    .join('');
}

/** /proc/net/route: no routes off the host (the loopback routes are in the local table, which this file does not show). */
export function routeTable(): string {
  return 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n';
}

/** /proc/sys/net/* files Go and busybox read. */
export const NET_SYSCTLS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  core: { somaxconn: '4096\n', rmem_default: '212992\n', wmem_default: '212992\n', rmem_max: '212992\n', wmem_max: '212992\n' },
  ipv4: { ip_local_port_range: '32768\t60999\n', tcp_fin_timeout: '60\n' },
  ipv6: {},
};
