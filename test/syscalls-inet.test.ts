// AF_INET and AF_INET6 with --net none on a headless kernel, on both
// arches (see ip(7), ipv6(7), tcp(7), udp(7), netdevice(7)): loopback only
// (127.0.0.0/8 and ::1; the wildcard binds as loopback and connecting to it
// reaches loopback), ENETUNREACH off the host and EADDRNOTAVAIL for binding
// there, dual-stack listeners and IPV6_V6ONLY, SO_REUSEADDR, the listen
// backlog with nonblocking connects that wait in it (EINPROGRESS, then
// SO_ERROR), UDP on ::1, `lo` through SIOCGIFCONF and friends, and the
// sockets in /proc/net/tcp.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../src/kernel/task.ts';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ERROR = 4;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const BLOCKED = -11;
const POLLOUT = 4;

describe.each(ARCH_NAMES)('loopback inet sockets on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { uid: 0, gid: 0 });
  });
  afterEach(() => t.cleanup());

  const v4 = (addr: number[], port: number): [number, number] => {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setUint16(0, AF_INET, true);
    v.setUint16(2, port, false);
    b.set(addr, 4);
    return [t.bytes(b), 16];
  };
  const v6 = (addr: number[], port: number): [number, number] => {
    const b = new Uint8Array(28);
    const v = new DataView(b.buffer);
    v.setUint16(0, AF_INET6, true);
    v.setUint16(2, port, false);
    b.set(addr, 8 + 16 - addr.length);
    return [t.bytes(b), 28];
  };
  const LOOP6 = [1];
  const ANY6: number[] = [];
  const MAPPED_LOOP = [0xff, 0xff, 127, 0, 0, 1];
  const sock = (family: number, type: number, flags = 0) => t.call('socket', family, type | flags, 0);
  /** getsockname or getpeername: [family, port, address bytes]. */
  const nameOf = (call: 'getsockname' | 'getpeername', fd: number): [number, number, number[]] | number => {
    const a = t.buf(128);
    const l = t.buf(4);
    t.mem.writeU32(l, 128);
    const r = t.call(call, fd, a, l);
    if (r < 0) return r;
    const fam = t.u16(a);
    const b = t.read(a, t.u32(l));
    return [fam, (b[2]! << 8) | b[3]!, [...(fam === AF_INET ? b.subarray(4, 8) : b.subarray(8, 24))]];
  };
  const portOf = (fd: number): number => (nameOf('getsockname', fd) as [number, number, number[]])[1];
  const listener = (family: number, addr: [number, number]): number => {
    const s = sock(family, SOCK_STREAM);
    expect(t.call('bind', s, ...addr)).toBe(0);
    expect(t.call('listen', s, 16)).toBe(0);
    return s;
  };
  const getInt = (fd: number, level: number, name: number): number => {
    const v = t.buf(4);
    const l = t.bytes(new Uint8Array([4, 0, 0, 0]));
    const r = t.call('getsockopt', fd, level, name, v, l);
    return r < 0 ? r : t.i32(v);
  };
  const setInt = (fd: number, level: number, name: number, value: number) => t.call('setsockopt', fd, level, name, t.bytes(new Uint8Array(new Int32Array([value]).buffer)), 4);
  const thread = (): Task => t.k.newThread(t.k.currentTask, 0, { sp: 0, tls: null });

  it('a wildcard listener takes connections to 127.0.0.1 and to 0.0.0.0; the peer is 127.0.0.1 on an ephemeral port', () => {
    const s = listener(AF_INET, v4([0, 0, 0, 0], 0));
    const port = portOf(s);
    expect(port).toBeGreaterThanOrEqual(32768);
    for (const dest of [[127, 0, 0, 1], [0, 0, 0, 0], [127, 9, 9, 9]]) {
      const c = sock(AF_INET, SOCK_STREAM);
      expect(t.call('connect', c, ...v4(dest, port))).toBe(0);
      const conn = t.call('accept', s, 0, 0);
      expect(conn).toBeGreaterThan(0);
      const [, cport, caddr] = nameOf('getsockname', c) as [number, number, number[]];
      expect(nameOf('getpeername', conn)).toEqual([AF_INET, cport, caddr]);
      expect(caddr[0]).toBe(127);
      expect(t.write(c, 'tcp')).toBe(3);
      expect(t.readFd(conn)).toBe('tcp');
    }
  });

  it('off loopback: connect and sendto are ENETUNREACH, bind is EADDRNOTAVAIL', () => {
    const c = sock(AF_INET, SOCK_STREAM);
    expect(t.call('connect', c, ...v4([10, 0, 0, 1], 80))).toBe(t.errno('ENETUNREACH'));
    expect(t.call('connect', sock(AF_INET6, SOCK_STREAM), ...v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 80))).toBe(t.errno('ENETUNREACH'));
    expect(t.call('sendto', sock(AF_INET, SOCK_DGRAM), t.bytes('x'), 1, 0, ...v4([8, 8, 8, 8], 53))).toBe(t.errno('ENETUNREACH'));
    expect(t.call('bind', sock(AF_INET, SOCK_STREAM), ...v4([192, 168, 1, 1], 0))).toBe(t.errno('EADDRNOTAVAIL'));
    // Nobody listening on loopback: refused.
    expect(t.call('connect', sock(AF_INET, SOCK_STREAM), ...v4([127, 0, 0, 1], 9))).toBe(t.errno('ECONNREFUSED'));
  });

  it('a dual-stack v6 listener takes IPv4 (as ::ffff:127.0.0.1) unless IPV6_V6ONLY', () => {
    const s = listener(AF_INET6, v6(ANY6, 0));
    const port = portOf(s);
    const c = sock(AF_INET, SOCK_STREAM);
    expect(t.call('connect', c, ...v4([127, 0, 0, 1], port))).toBe(0);
    const conn = t.call('accept', s, 0, 0);
    const peer = nameOf('getpeername', conn) as [number, number, number[]];
    expect(peer[0]).toBe(AF_INET6);
    expect(peer[2].slice(10)).toEqual(MAPPED_LOOP);
    const c6 = sock(AF_INET6, SOCK_STREAM);
    expect(t.call('connect', c6, ...v6(LOOP6, port))).toBe(0);
    const only = sock(AF_INET6, SOCK_STREAM);
    expect(setInt(only, IPPROTO_IPV6, IPV6_V6ONLY, 1)).toBe(0);
    expect(t.call('bind', only, ...v6(ANY6, 0))).toBe(0);
    expect(setInt(only, IPPROTO_IPV6, IPV6_V6ONLY, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('listen', only, 1)).toBe(0);
    expect(t.call('connect', sock(AF_INET, SOCK_STREAM), ...v4([127, 0, 0, 1], portOf(only)))).toBe(t.errno('ECONNREFUSED'));
  });

  it('SO_REUSEADDR lets two sockets bind one port; only one may listen', () => {
    const a = sock(AF_INET, SOCK_STREAM);
    const b = sock(AF_INET, SOCK_STREAM);
    expect(setInt(a, SOL_SOCKET, SO_REUSEADDR, 1)).toBe(0);
    expect(setInt(b, SOL_SOCKET, SO_REUSEADDR, 1)).toBe(0);
    expect(t.call('bind', a, ...v4([127, 0, 0, 1], 4000))).toBe(0);
    expect(t.call('bind', b, ...v4([127, 0, 0, 1], 4000))).toBe(0);
    expect(t.call('listen', a, 1)).toBe(0);
    expect(t.call('listen', b, 1)).toBe(t.errno('EADDRINUSE'));
    expect(t.call('bind', sock(AF_INET, SOCK_STREAM), ...v4([0, 0, 0, 0], 4000))).toBe(t.errno('EADDRINUSE'));
    // Ports below 1024 need root.
    const u = headless(arch, { uid: 1000, gid: 1000, hostDir: false });
    try {
      const s = u.call('socket', AF_INET, SOCK_STREAM, 0);
      const b80 = new Uint8Array(16);
      b80.set([AF_INET, 0, 0, 80, 127, 0, 0, 1]);
      expect(u.call('bind', s, u.bytes(b80), 16)).toBe(u.errno('EACCES'));
    } finally {
      u.cleanup();
    }
  });

  it('a full backlog: a blocking connect waits, a nonblocking one is EINPROGRESS until accept makes room', () => {
    const s = sock(AF_INET, SOCK_STREAM);
    expect(t.call('bind', s, ...v4([127, 0, 0, 1], 0))).toBe(0);
    expect(t.call('listen', s, 0)).toBe(0); // room for one (Linux's backlog + 1)
    const port = portOf(s);
    expect(t.call('connect', sock(AF_INET, SOCK_STREAM), ...v4([127, 0, 0, 1], port))).toBe(0);
    const blocked = thread();
    const cb = sock(AF_INET, SOCK_STREAM);
    expect(t.k.invokeAs(blocked, 'connect', [cb, ...v4([127, 0, 0, 1], port)])).toBe(BLOCKED);
    const nb = sock(AF_INET, SOCK_STREAM, t.c.O_NONBLOCK);
    expect(t.call('connect', nb, ...v4([127, 0, 0, 1], port))).toBe(t.errno('EINPROGRESS'));
    expect(t.call('connect', nb, ...v4([127, 0, 0, 1], port))).toBe(t.errno('EALREADY'));
    expect(nameOf('getpeername', nb)).toBe(t.errno('ENOTCONN'));
    expect(t.call('accept', s, 0, 0)).toBeGreaterThan(0);
    expect(t.k.invokeAs(blocked, 'connect', [cb, ...v4([127, 0, 0, 1], port)])).toBe(0);
    expect(t.call('accept', s, 0, 0)).toBeGreaterThan(0);
    // Room again: poll finds the nonblocking connect done.
    const fds = t.bytes(new Uint8Array([nb, 0, 0, 0, POLLOUT, 0, 0, 0]));
    expect(t.call('ppoll', fds, 1, t.bytes(new Uint8Array(16)), 0, 8)).toBe(1);
    expect(t.u16(fds + 6) & POLLOUT).toBe(POLLOUT);
    expect(getInt(nb, SOL_SOCKET, SO_ERROR)).toBe(0);
    expect((nameOf('getpeername', nb) as [number, number, number[]])[1]).toBe(port);
    expect(t.call('connect', nb, ...v4([127, 0, 0, 1], port))).toBe(t.errno('EISCONN'));
  });

  it('UDP on ::1: the sender address comes with the datagram; a connected socket hears ECONNREFUSED when nobody has the port', () => {
    const r = sock(AF_INET6, SOCK_DGRAM);
    expect(t.call('bind', r, ...v6(LOOP6, 0))).toBe(0);
    const s = sock(AF_INET6, SOCK_DGRAM);
    expect(t.call('sendto', s, t.bytes('six'), 3, 0, ...v6(LOOP6, portOf(r)))).toBe(3);
    const buf = t.buf(8);
    const from = t.buf(28);
    const fl = t.bytes(new Uint8Array([28, 0, 0, 0]));
    expect(t.call('recvfrom', r, buf, 8, 0, from, fl)).toBe(3);
    expect(t.u32(fl)).toBe(28);
    expect((t.read(from, 4)[2]! << 8) | t.read(from, 4)[3]!).toBe(portOf(s));
    expect(t.call('connect', s, ...v6(LOOP6, 9))).toBe(0);
    expect(t.write(s, 'lost')).toBe(4);
    expect(t.call('recvfrom', s, buf, 8, 0x40, 0, 0)).toBe(t.errno('ECONNREFUSED'));
    expect(t.call('recvfrom', s, buf, 8, 0x40, 0, 0)).toBe(t.errno('EAGAIN'));
  });

  it('lo through SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR and SIOCGIFINDEX; other names are ENODEV', () => {
    const s = sock(AF_INET, SOCK_DGRAM);
    const ifc = t.buf(16);
    expect(t.call('ioctl', s, t.c.SIOCGIFCONF, ifc)).toBe(0);
    expect(t.i32(ifc)).toBe(40);
    const reqs = t.buf(80);
    t.mem.writeU32(ifc, 80);
    t.mem.writeU64(ifc + 8, reqs);
    expect(t.call('ioctl', s, t.c.SIOCGIFCONF, ifc)).toBe(0);
    expect(t.i32(ifc)).toBe(40);
    expect(t.cstr(reqs)).toBe('lo');
    expect([...t.read(reqs + 16 + 4, 4)]).toEqual([127, 0, 0, 1]);
    const ifr = t.buf(40);
    t.mem.write(ifr, Buffer.from('lo\0'));
    expect(t.call('ioctl', s, t.c.SIOCGIFFLAGS, ifr)).toBe(0);
    expect(t.u16(ifr + 16)).toBe(0x49); // IFF_UP|IFF_LOOPBACK|IFF_RUNNING
    expect(t.call('ioctl', s, t.c.SIOCGIFINDEX, ifr)).toBe(0);
    expect(t.i32(ifr + 16)).toBe(1);
    t.mem.write(ifr, Buffer.from('eth0\0'));
    expect(t.call('ioctl', s, t.c.SIOCGIFADDR, ifr)).toBe(t.errno('ENODEV'));
    expect(t.call('ioctl', s, t.c.SIOCSIFFLAGS, ifr)).toBe(t.errno('EPERM'));
  });

  it('/proc/net/tcp lists a listener and a connection; /proc/net/dev has lo', () => {
    const s = listener(AF_INET, v4([127, 0, 0, 1], 8080));
    const c = sock(AF_INET, SOCK_STREAM);
    expect(t.call('connect', c, ...v4([127, 0, 0, 1], 8080))).toBe(0);
    const tcp = t.readFd(t.open('/proc/net/tcp', t.c.O_RDONLY)).split('\n');
    expect(tcp[0]).toMatch(/^\s+sl\s+local_address rem_address\s+st /);
    expect(tcp.some((l) => / 0100007F:1F90 00000000:0000 0A /.test(l))).toBe(true);
    expect(tcp.some((l) => / 0100007F:[0-9A-F]{4} 0100007F:1F90 01 /.test(l))).toBe(true);
    expect(t.readFd(t.open('/proc/net/dev', t.c.O_RDONLY))).toMatch(/^\s+lo:/m);
    expect(t.readFd(t.open('/proc/sys/net/core/somaxconn', t.c.O_RDONLY))).toBe('4096\n');
    void s;
  });
});
