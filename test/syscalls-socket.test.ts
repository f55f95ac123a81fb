// AF_UNIX sockets on a headless kernel, on both arches (see unix(7),
// socket(7)): socketpair of every type, SCM_RIGHTS and SCM_CREDENTIALS,
// SO_PEERCRED, path names (in memory on a host mount, like FIFOs) and the
// abstract namespace, listen/accept/connect, shutdown, EPIPE and SIGPIPE,
// MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC, sendmmsg/recvmmsg, the
// common options, and the limits: SO_SNDBUF bounds what is queued, queued
// bytes are charged to the run's memory, fds in flight count against
// RLIMIT_NOFILE. A second task is a thread (kernel.newThread); its blocked
// call returns -11 and is retried by calling it again, as the scheduler would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../src/kernel/task.ts';
import { S_IFMT, S_IFSOCK } from '../src/kernel/vfs/types.ts';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const MSG_PEEK = 2;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const MSG_WAITALL = 0x100;
const MSG_NOSIGNAL = 0x4000;
const MSG_CTRUNC = 8;
const SO = { TYPE: 3, ERROR: 4, SNDBUF: 7, RCVBUF: 8, REUSEADDR: 2, KEEPALIVE: 9, LINGER: 13, PASSCRED: 16, PEERCRED: 17, RCVTIMEO: 20, ACCEPTCONN: 30, DOMAIN: 39, PROTOCOL: 38 };
const BLOCKED = -11;
const POLLIN = 1;
const POLLOUT = 4;
const POLLHUP = 0x10;

describe.each(ARCH_NAMES)('AF_UNIX sockets on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { uid: 0, gid: 0 });
  });
  afterEach(() => t.cleanup());

  const pair = (type: number): [number, number] => {
    const sv = t.buf(8);
    expect(t.call('socketpair', AF_UNIX, type, 0, sv)).toBe(0);
    return [t.i32(sv), t.i32(sv + 4)];
  };
  const send = (fd: number, data: string | Uint8Array, flags = 0) => {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    return t.call('sendto', fd, t.bytes(b), b.length, flags, 0, 0);
  };
  const recv = (fd: number, n = 4096, flags = 0): string | number => {
    const b = t.buf(n);
    const r = t.call('recvfrom', fd, b, n, flags, 0, 0);
    return r < 0 ? r : t.text(b, Math.min(r, n));
  };
  /** A struct sockaddr_un for a path (or an abstract name when it starts with "\0"); [ptr, len]. */
  const unixAddr = (name: string): [number, number] => {
    const b = Buffer.from(name, 'latin1');
    const abstract = b[0] === 0;
    const a = t.buf(110);
    t.mem.write(a, new Uint8Array([AF_UNIX, 0]));
    t.mem.write(a + 2, b);
    return [a, 2 + b.length + (abstract ? 0 : 1)];
  };
  const socket = (type: number, family = AF_UNIX) => t.call('socket', family, type, 0);
  const getInt = (fd: number, level: number, name: number): number => {
    const v = t.buf(8);
    const l = t.buf(4);
    t.mem.writeU32(l, 4);
    const r = t.call('getsockopt', fd, level, name, v, l);
    return r < 0 ? r : t.i32(v);
  };
  const setInt = (fd: number, level: number, name: number, value: number) => {
    const v = t.buf(4);
    t.mem.writeU32(v, value >>> 0);
    return t.call('setsockopt', fd, level, name, v, 4);
  };
  /** A struct msghdr: one iovec, a control buffer of `ctl` bytes (filled from `cmsgs` when given). */
  const msghdr = (iov: [number, number], control: Uint8Array | number = 0, name: [number, number] = [0, 0]) => {
    const m = t.buf(56);
    const ctl = typeof control === 'number' ? (control ? t.buf(control) : 0) : t.bytes(control);
    const ctlLen = typeof control === 'number' ? control : control.length;
    const v = new DataView(new ArrayBuffer(56));
    v.setBigUint64(0, BigInt(name[0]), true);
    v.setUint32(8, name[1], true);
    v.setBigUint64(16, BigInt(t.iovec([iov])), true);
    v.setBigUint64(24, 1n, true);
    v.setBigUint64(32, BigInt(ctl), true);
    v.setBigUint64(40, BigInt(ctlLen), true);
    t.mem.write(m, new Uint8Array(v.buffer));
    return { m, ctl };
  };
  const cmsg = (type: number, data: Uint8Array): Uint8Array => {
    const b = new Uint8Array((16 + data.length + 7) & ~7);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, BigInt(16 + data.length), true);
    v.setInt32(8, SOL_SOCKET, true);
    v.setInt32(12, type, true);
    b.set(data, 16);
    return b;
  };
  const ints = (...xs: number[]): Uint8Array => {
    const b = new Uint8Array(xs.length * 4);
    xs.forEach((x, i) => new DataView(b.buffer).setInt32(i * 4, x, true));
    return b;
  };
  /** The control messages the kernel wrote into a msghdr's buffer: [level, type, data][]. */
  const readCmsgs = (m: number): [number, number, Uint8Array][] => {
    const ctl = Number(t.u64(m + 32));
    const len = Number(t.u64(m + 40));
    const out: [number, number, Uint8Array][] = [];
    for (let at = 0; at + 16 <= len; ) {
      const clen = Number(t.u64(ctl + at));
      out.push([t.i32(ctl + at + 8), t.i32(ctl + at + 12), t.read(ctl + at + 16, clen - 16)]);
      at += (clen + 7) & ~7;
    }
    return out;
  };
  const thread = (): Task => t.k.newThread(t.k.currentTask, 0, { sp: 0, tls: null });

  it('socketpair streams carry bytes both ways; fstat says S_IFSOCK; read and write work too', () => {
    const [a, b] = pair(SOCK_STREAM);
    expect(send(a, 'hello')).toBe(5);
    expect(send(a, ' world')).toBe(6);
    expect(recv(b)).toBe('hello world');
    expect(t.write(b, 'back')).toBe(4);
    expect(t.readFd(a)).toBe('back');
    const st = t.buf(256);
    expect(t.call('newfstatat', b, t.str(''), st, t.c.AT_EMPTY_PATH)).toBe(0);
    expect(t.decodeStat(st).mode & S_IFMT).toBe(S_IFSOCK);
    expect(getInt(a, SOL_SOCKET, SO.TYPE)).toBe(SOCK_STREAM);
    expect(getInt(a, SOL_SOCKET, SO.DOMAIN)).toBe(AF_UNIX);
    expect(getInt(a, SOL_SOCKET, SO.ACCEPTCONN)).toBe(0);
    // Nothing queued: a nonblocking receive says EAGAIN; a blocking one waits.
    expect(recv(b, 10, MSG_DONTWAIT)).toBe(t.errno('EAGAIN'));
    expect(recv(b)).toBe(BLOCKED);
  });

  it('SCM_RIGHTS passes an open file description: the received fd reads the same file at the same offset', () => {
    t.writeHost('f.txt', 'abcdef');
    const f = t.open('f.txt', t.c.O_RDONLY);
    expect(t.readFd(f, 2)).toBe('ab');
    const [a, b] = pair(SOCK_STREAM);
    const { m } = msghdr([t.bytes('x'), 1], cmsg(SCM_RIGHTS, ints(f)));
    expect(t.call('sendmsg', a, m, 0)).toBe(1);
    // Closing the sender's fd leaves the file open in flight.
    expect(t.call('close', f)).toBe(0);
    const data = t.buf(8);
    const r = msghdr([data, 8], 64);
    expect(t.call('recvmsg', b, r.m, 0)).toBe(1);
    const cm = readCmsgs(r.m);
    expect(cm.map(([l, ty]) => [l, ty])).toEqual([[SOL_SOCKET, SCM_RIGHTS]]);
    const got = new DataView(cm[0]![2].buffer, cm[0]![2].byteOffset).getInt32(0, true);
    expect(got).toBeGreaterThanOrEqual(0);
    expect(t.readFd(got)).toBe('cdef');
    expect(t.i32(r.m + 48)).toBe(0);
  });

  it('SCM_RIGHTS: a control buffer too small truncates (MSG_CTRUNC) and closes what did not fit; bad fds are EBADF', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const [p0, p1] = t.pipe();
    const { m } = msghdr([t.bytes('x'), 1], cmsg(SCM_RIGHTS, ints(p0, p1)));
    expect(t.call('sendmsg', a, m, 0)).toBe(1);
    const before = t.proc.fds.list().length;
    const r = msghdr([t.buf(4), 4], 20); // room for one fd
    expect(t.call('recvmsg', b, r.m, 0)).toBe(1);
    expect(t.i32(r.m + 48) & MSG_CTRUNC).toBe(MSG_CTRUNC);
    expect(readCmsgs(r.m)).toHaveLength(1);
    expect(t.proc.fds.list().length).toBe(before + 1);
    const bad = msghdr([t.bytes('x'), 1], cmsg(SCM_RIGHTS, ints(999)));
    expect(t.call('sendmsg', a, bad.m, 0)).toBe(t.errno('EBADF'));
  });

  it('SCM_CREDENTIALS with SO_PASSCRED, and SO_PEERCRED', () => {
    const [a, b] = pair(SOCK_STREAM);
    expect(setInt(b, SOL_SOCKET, SO.PASSCRED, 1)).toBe(0);
    expect(getInt(b, SOL_SOCKET, SO.PASSCRED)).toBe(1);
    expect(send(a, 'hi')).toBe(2);
    const r = msghdr([t.buf(8), 8], 64);
    expect(t.call('recvmsg', b, r.m, 0)).toBe(2);
    const cm = readCmsgs(r.m);
    expect(cm[0]![1]).toBe(SCM_CREDENTIALS);
    const v = new DataView(cm[0]![2].buffer, cm[0]![2].byteOffset, 12);
    expect([v.getInt32(0, true), v.getUint32(4, true), v.getUint32(8, true)]).toEqual([t.proc.pid, 0, 0]);
    const pc = t.buf(12);
    const l = t.buf(4);
    t.mem.writeU32(l, 12);
    expect(t.call('getsockopt', a, SOL_SOCKET, SO.PEERCRED, pc, l)).toBe(0);
    expect([t.i32(pc), t.u32(pc + 4), t.u32(pc + 8)]).toEqual([t.proc.pid, 0, 0]);
  });

  it('datagrams and seqpacket records keep their boundaries; MSG_TRUNC gives the real length; MSG_PEEK leaves them', () => {
    for (const type of [SOCK_DGRAM, SOCK_SEQPACKET]) {
      const [a, b] = pair(type);
      expect(send(a, 'first')).toBe(5);
      expect(send(a, 'second')).toBe(6);
      expect(recv(b, 100, MSG_PEEK)).toBe('first');
      const buf = t.buf(3);
      expect(t.call('recvfrom', b, buf, 3, MSG_TRUNC, 0, 0)).toBe(5);
      expect(t.text(buf, 3)).toBe('fir');
      const r = msghdr([t.buf(3), 3]);
      expect(t.call('recvmsg', b, r.m, 0)).toBe(3);
      expect(t.i32(r.m + 48) & MSG_TRUNC).toBe(MSG_TRUNC);
      expect(send(a, '')).toBe(0);
      expect(recv(b)).toBe('');
    }
  });

  it('binds a path (a socket node, in memory on a host mount), listens, connects, accepts', () => {
    const s = socket(SOCK_STREAM);
    const [addr, len] = unixAddr('/work/srv.sock');
    expect(t.call('bind', s, addr, len)).toBe(0);
    expect(t.existsHost('srv.sock')).toBe(false);
    const st = t.stat('/work/srv.sock');
    expect(typeof st === 'object' && st.mode & S_IFMT).toBe(S_IFSOCK);
    expect(t.call('bind', socket(SOCK_STREAM), addr, len)).toBe(t.errno('EADDRINUSE'));
    const c = socket(SOCK_STREAM);
    // Not listening yet.
    expect(t.call('connect', c, addr, len)).toBe(t.errno('ECONNREFUSED'));
    expect(t.call('listen', s, 5)).toBe(0);
    expect(getInt(s, SOL_SOCKET, SO.ACCEPTCONN)).toBe(1);
    expect(t.call('accept4', s, 0, 0, t.c.O_NONBLOCK)).toBe(t.errno('EAGAIN'));
    expect(t.call('connect', c, addr, len)).toBe(0);
    expect(t.call('connect', c, addr, len)).toBe(t.errno('EISCONN'));
    expect(send(c, 'ping')).toBe(4); // before accept: queued on the server side
    const pa = t.buf(110);
    const pl = t.buf(4);
    t.mem.writeU32(pl, 110);
    const conn = t.call('accept4', s, pa, pl, t.c.O_CLOEXEC);
    expect(conn).toBeGreaterThan(0);
    expect(t.u32(pl)).toBe(2); // the client is unnamed
    expect(recv(conn)).toBe('ping');
    // getsockname of the accepted socket is the listener's name; getpeername of the client too.
    t.mem.writeU32(pl, 110);
    expect(t.call('getpeername', c, pa, pl)).toBe(0);
    expect(t.u32(pl)).toBe(2 + '/work/srv.sock'.length + 1);
    expect(t.cstr(pa + 2)).toBe('/work/srv.sock');
    t.mem.writeU32(pl, 110);
    expect(t.call('getsockname', conn, pa, pl)).toBe(0);
    expect(t.cstr(pa + 2)).toBe('/work/srv.sock');
    // Connecting to something that is not a socket is ECONNREFUSED; to nothing, ENOENT.
    t.writeHost('plain', 'x');
    expect(t.call('connect', socket(SOCK_STREAM), ...unixAddr('/work/plain'))).toBe(t.errno('ECONNREFUSED'));
    expect(t.call('connect', socket(SOCK_STREAM), ...unixAddr('/work/none'))).toBe(t.errno('ENOENT'));
    // A closed listener leaves its node; connecting is ECONNREFUSED; unlink removes the name.
    expect(t.call('close', s)).toBe(0);
    expect(t.call('connect', socket(SOCK_STREAM), addr, len)).toBe(t.errno('ECONNREFUSED'));
    expect(t.call('unlinkat', t.c.AT_FDCWD, t.str('/work/srv.sock'), 0)).toBe(0);
  });

  it('a blocked accept and a blocked recv wake when the other side moves', () => {
    const s = socket(SOCK_SEQPACKET);
    const [addr, len] = unixAddr('\0abstract-name');
    expect(t.call('bind', s, addr, len)).toBe(0);
    expect(t.call('listen', s, 1)).toBe(0);
    const server = thread();
    expect(t.k.invokeAs(server, 'accept', [s, 0, 0])).toBe(BLOCKED);
    const c = socket(SOCK_SEQPACKET);
    expect(t.call('connect', c, addr, len)).toBe(0);
    const conn = t.k.invokeAs(server, 'accept', [s, 0, 0]);
    expect(conn).toBeGreaterThan(0);
    const buf = t.buf(16);
    expect(t.k.invokeAs(server, 'recvfrom', [conn, buf, 16, 0, 0, 0])).toBe(BLOCKED);
    expect(send(c, 'rec')).toBe(3);
    expect(t.k.invokeAs(server, 'recvfrom', [conn, buf, 16, 0, 0, 0])).toBe(3);
    // getsockname of an abstract socket: the NUL and the name, no terminator.
    const pa = t.buf(110);
    const pl = t.buf(4);
    t.mem.writeU32(pl, 110);
    expect(t.call('getsockname', s, pa, pl)).toBe(0);
    expect(t.u32(pl)).toBe(2 + 1 + 'abstract-name'.length);
    // The abstract name is taken until the socket closes.
    expect(t.call('bind', socket(SOCK_STREAM), addr, len)).toBe(t.errno('EADDRINUSE'));
    t.call('close', s);
    expect(t.call('bind', socket(SOCK_STREAM), addr, len)).toBe(0);
  });

  it('MSG_WAITALL waits for the whole count; end-of-file cuts it short', () => {
    const [a, b] = pair(SOCK_STREAM);
    const reader = thread();
    const buf = t.buf(10);
    expect(send(a, 'abcd')).toBe(4);
    expect(t.k.invokeAs(reader, 'recvfrom', [b, buf, 10, MSG_WAITALL, 0, 0])).toBe(BLOCKED);
    expect(send(a, 'efghij')).toBe(6);
    expect(t.k.invokeAs(reader, 'recvfrom', [b, buf, 10, MSG_WAITALL, 0, 0])).toBe(10);
    expect(t.text(buf, 10)).toBe('abcdefghij');
    expect(send(a, 'xy')).toBe(2);
    expect(t.call('shutdown', a, 1)).toBe(0);
    expect(t.call('recvfrom', b, buf, 10, MSG_WAITALL, 0, 0)).toBe(2);
    expect(recv(b)).toBe('');
  });

  it('writing to a closed peer is EPIPE with SIGPIPE, unless MSG_NOSIGNAL; unread data resets the peer', () => {
    const [a, b] = pair(SOCK_STREAM);
    expect(send(b, 'unread')).toBe(6);
    expect(t.call('close', a)).toBe(0);
    expect(send(b, 'x', MSG_NOSIGNAL)).toBe(t.errno('EPIPE'));
    const [c, d] = pair(SOCK_STREAM);
    expect(send(c, 'data')).toBe(4);
    expect(t.call('close', d)).toBe(0);
    expect(recv(c)).toBe(t.errno('ECONNRESET'));
    expect(recv(c)).toBe('');
  });

  it('poll: readable with data, writable with room, POLLHUP after both directions shut', () => {
    const [a, b] = pair(SOCK_STREAM);
    const fds = t.buf(16);
    const poll = (fd: number, events: number): number => {
      t.mem.write(fds, new Uint8Array(8));
      t.mem.writeU32(fds, fd);
      t.mem.write(fds + 4, new Uint8Array([events & 0xff, events >> 8]));
      expect(t.call('ppoll', fds, 1, t.bytes(new Uint8Array(16)), 0, 8)).toBeGreaterThanOrEqual(0);
      return t.u16(fds + 6);
    };
    expect(poll(b, POLLIN | POLLOUT)).toBe(POLLOUT);
    send(a, 'x');
    expect(poll(b, POLLIN | POLLOUT)).toBe(POLLIN | POLLOUT);
    t.call('shutdown', a, 2);
    expect(poll(b, POLLIN) & (POLLIN | POLLHUP)).toBe(POLLIN);
    t.call('shutdown', b, 2);
    expect(poll(b, POLLIN) & POLLHUP).toBe(POLLHUP);
  });

  it('SO_SNDBUF bounds what a stream queues; the queued bytes are charged to the run and given back', () => {
    const [a, b] = pair(SOCK_STREAM);
    expect(setInt(a, SOL_SOCKET, SO.SNDBUF, 8192)).toBe(0);
    expect(getInt(a, SOL_SOCKET, SO.SNDBUF)).toBe(16384);
    expect(t.call('fcntl', a, t.c.F_SETFL, t.c.O_NONBLOCK)).toBe(0);
    const held = t.k.memoryBudget.held;
    const chunk = new Uint8Array(10000).fill(0x41);
    expect(send(a, chunk)).toBe(10000);
    expect(send(a, chunk)).toBe(16384 - 10000);
    expect(send(a, chunk)).toBe(t.errno('EAGAIN'));
    expect(t.k.memoryBudget.held - held).toBe(16384);
    const out = t.buf(20000);
    expect(t.call('recvfrom', b, out, 20000, 0, 0, 0)).toBe(16384);
    expect(t.k.memoryBudget.held).toBe(held);
  });

  it('fds in flight count against RLIMIT_NOFILE (ETOOMANYREFS), as the sender is not root', () => {
    const u = headless(arch, { uid: 1000, gid: 1000 });
    try {
      const sv = u.buf(8);
      expect(u.call('socketpair', AF_UNIX, SOCK_DGRAM, 0, sv)).toBe(0);
      const a = u.i32(sv);
      const rl = u.bytes(new Uint8Array(new BigUint64Array([16n, 16n]).buffer));
      expect(u.call('prlimit64', 0, u.c.RLIMIT_NOFILE, rl, 0)).toBe(0);
      let sent = 0;
      let r = 0;
      for (let i = 0; i < 10 && r >= 0; i++) {
        const c = new Uint8Array((16 + 8 + 7) & ~7);
        const v = new DataView(c.buffer);
        v.setBigUint64(0, 24n, true);
        v.setInt32(8, SOL_SOCKET, true);
        v.setInt32(12, SCM_RIGHTS, true);
        v.setInt32(16, a, true);
        v.setInt32(20, a, true);
        const m = u.buf(56);
        const mv = new DataView(new ArrayBuffer(56));
        mv.setBigUint64(16, BigInt(u.iovec([[u.bytes('x'), 1]])), true);
        mv.setBigUint64(24, 1n, true);
        mv.setBigUint64(32, BigInt(u.bytes(c)), true);
        mv.setBigUint64(40, BigInt(c.length), true);
        u.mem.write(m, new Uint8Array(mv.buffer));
        r = u.call('sendmsg', a, m, 0);
        if (r >= 0) sent += 2;
      }
      expect(r).toBe(u.errno('ETOOMANYREFS'));
      expect(sent).toBe(16);
    } finally {
      u.cleanup();
    }
  });

  it('options: SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_RCVTIMEO round-trip; SO_TYPE is read-only; SO_ERROR starts at 0', () => {
    const s = socket(SOCK_STREAM);
    for (const o of [SO.REUSEADDR, SO.KEEPALIVE]) {
      expect(setInt(s, SOL_SOCKET, o, 1)).toBe(0);
      expect(getInt(s, SOL_SOCKET, o)).toBe(1);
    }
    expect(setInt(s, SOL_SOCKET, SO.TYPE, 2)).toBe(t.errno('ENOPROTOOPT'));
    expect(getInt(s, SOL_SOCKET, SO.ERROR)).toBe(0);
    const lg = t.bytes(ints(1, 5));
    expect(t.call('setsockopt', s, SOL_SOCKET, SO.LINGER, lg, 8)).toBe(0);
    const out = t.buf(16);
    const l = t.buf(4);
    t.mem.writeU32(l, 16);
    expect(t.call('getsockopt', s, SOL_SOCKET, SO.LINGER, out, l)).toBe(0);
    expect([t.i32(out), t.i32(out + 4), t.u32(l)]).toEqual([1, 5, 8]);
    const tv = t.bytes(new Uint8Array(new BigInt64Array([2n, 500000n]).buffer));
    expect(t.call('setsockopt', s, SOL_SOCKET, SO.RCVTIMEO, tv, 16)).toBe(0);
    t.mem.writeU32(l, 16);
    expect(t.call('getsockopt', s, SOL_SOCKET, SO.RCVTIMEO, out, l)).toBe(0);
    expect([t.u64(out), t.u64(out + 8)]).toEqual([2n, 500000n]);
    expect(getInt(t.open('/', t.c.O_RDONLY), SOL_SOCKET, SO.TYPE)).toBe(t.errno('ENOTSOCK'));
  });

  it('SO_RCVTIMEO: a receive gives up with EAGAIN once its time is up', () => {
    const [, b] = pair(SOCK_STREAM);
    const tv = t.bytes(new Uint8Array(new BigInt64Array([0n, 1000n]).buffer));
    expect(t.call('setsockopt', b, SOL_SOCKET, SO.RCVTIMEO, tv, 16)).toBe(0);
    const reader = thread();
    const buf = t.buf(4);
    expect(t.k.invokeAs(reader, 'recvfrom', [b, buf, 4, 0, 0, 0])).toBe(BLOCKED);
    const deadline = reader.blockedOn?.deadlineNs;
    expect(deadline).toBeTypeOf('bigint');
    // The wall clock passes the microsecond deadline before the retry.
    while (t.k.monotonicNs() <= deadline!) {
      // spin
    }
    expect(t.k.invokeAs(reader, 'recvfrom', [b, buf, 4, 0, 0, 0])).toBe(t.errno('EAGAIN'));
  });

  it('sendmmsg and recvmmsg move several datagrams in one call', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const vec = t.buf(128);
    const one = msghdr([t.bytes('one'), 3]);
    const two = msghdr([t.bytes('two!'), 4]);
    t.mem.write(vec, t.read(one.m, 56));
    t.mem.write(vec + 64, t.read(two.m, 56));
    expect(t.call('sendmmsg', a, vec, 2, 0)).toBe(2);
    expect([t.u32(vec + 56), t.u32(vec + 120)]).toEqual([3, 4]);
    const rv = t.buf(128);
    const r1 = msghdr([t.buf(8), 8]);
    const r2 = msghdr([t.buf(8), 8]);
    t.mem.write(rv, t.read(r1.m, 56));
    t.mem.write(rv + 64, t.read(r2.m, 56));
    expect(t.call('recvmmsg', b, rv, 2, 0, 0)).toBe(2);
    expect([t.u32(rv + 56), t.u32(rv + 120)]).toEqual([3, 4]);
  });

  it('datagrams to a bound path, with the sender address; connect narrows who may send', () => {
    const r = socket(SOCK_DGRAM);
    const [addr, len] = unixAddr('/tmp/dg');
    expect(t.call('bind', r, addr, len)).toBe(0);
    const s = socket(SOCK_DGRAM);
    const [saddr, slen] = unixAddr('\0sender');
    expect(t.call('bind', s, saddr, slen)).toBe(0);
    expect(t.call('sendto', s, t.bytes('dgram'), 5, 0, addr, len)).toBe(5);
    const buf = t.buf(16);
    const from = t.buf(110);
    const fl = t.buf(4);
    t.mem.writeU32(fl, 110);
    expect(t.call('recvfrom', r, buf, 16, 0, from, fl)).toBe(5);
    expect(t.u32(fl)).toBe(2 + 1 + 'sender'.length);
    // Unconnected and no address: ENOTCONN.
    expect(send(socket(SOCK_DGRAM), 'x')).toBe(t.errno('ENOTCONN'));
    // r connects to s: a third socket may no longer send to r.
    expect(t.call('connect', r, saddr, slen)).toBe(0);
    expect(t.call('sendto', socket(SOCK_DGRAM), t.bytes('x'), 1, 0, addr, len)).toBe(t.errno('EPERM'));
  });

  it('refuses what unix(7) refuses: bad families, lengths, types, protocols', () => {
    expect(t.call('socket', 99, SOCK_STREAM, 0)).toBe(t.errno('EAFNOSUPPORT'));
    expect(t.call('socket', AF_UNIX, 9, 0)).toBe(t.errno('ESOCKTNOSUPPORT'));
    expect(t.call('socket', AF_UNIX, SOCK_STREAM, 6)).toBe(t.errno('EPROTONOSUPPORT'));
    expect(t.call('socket', AF_UNIX, SOCK_STREAM | 0x10000000, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('socketpair', AF_INET, SOCK_STREAM, 0, t.buf(8))).toBe(t.errno('EOPNOTSUPP'));
    const s = socket(SOCK_STREAM);
    expect(t.call('bind', s, t.buf(16), 1)).toBe(t.errno('EINVAL'));
    expect(t.call('bind', s, t.buf(200), 200)).toBe(t.errno('EINVAL'));
    expect(t.call('listen', s, 1)).toBe(t.errno('EINVAL')); // not bound
    expect(t.call('getpeername', s, t.buf(16), t.bytes(ints(16)))).toBe(t.errno('ENOTCONN'));
    expect(t.call('listen', socket(SOCK_DGRAM), 1)).toBe(t.errno('EOPNOTSUPP'));
    void AF_INET6;
  });
});
