// --net host end to end, on both arches, with Debian's static busybox: the
// guest's sockets are the host's, so a Node server in this test on
// 127.0.0.1:0 is what the guest's `nc` reaches, and a Node client reaches
// the guest's `nc -l`. The guest runs in this process (Kernel.runAsync),
// which gives Node's event loop turns while the guest waits; nothing waits
// on the clock: the host client connects when the guest's listen(2) has
// returned (a syscall observer says so). Only 127.0.0.1 is used.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlainKernel } from '../src/launch.ts';
import type { PlainRunOptions } from '../src/launch.ts';
import type { SyscallRecord } from '../src/kernel/dispatch.ts';
import type { Kernel } from '../src/kernel/kernel.ts';
import * as http from 'node:http';
import { ARCHES, canRunNative, debianBin, goGuest, haveGoGuests } from './helpers/e2e.ts';
import { spawnSync } from 'node:child_process';
import { optionalCommand, optionalTool } from './helpers/tools.ts';
import { netAllowPolicy, parseNetRule } from '../src/policy/net-allow.ts';
import { runSync } from '../src/index.ts';
import { UsageError, parseRunArgs } from '../src/cli.ts';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

interface Outcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run busybox with `args` in this process, the event loop turning; `onListen` is called once the guest's listen(2) succeeded. */
async function busybox(bin: string, args: string[], opts: PlainRunOptions & { onListen?: (kernel: Kernel) => void } = {}): Promise<Outcome> {
  const { onListen, ...rest } = opts;
  const k = createPlainKernel(bin, { args, env: {}, timeoutMs: 60_000, ...rest });
  if (onListen) {
    k.setObserver({
      onSyscall: (_ctx, rec: SyscallRecord) => {
        if (rec.name === 'listen' && rec.ret === 0) onListen(k);
      },
    });
  }
  const r = await k.runAsync();
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** A TCP server on 127.0.0.1:0 answering each connection with `reply(data)` once the client's data ends. */
async function tcpServer(reply: (got: string) => string): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer((c) => {
    let got = '';
    c.on('data', (d) => (got += d.toString()));
    c.on('end', () => c.end(reply(got)));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

/**
 * A DNS server on 127.0.0.1:0 (RFC 1035): every A query is answered with
 * 10.0.0.7, anything else with no records.
 */
async function dnsServer(): Promise<{ port: number; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (q, from) => {
    let at = 12;
    while (q[at] !== 0) at += q[at]! + 1;
    const qtype = q.readUInt16BE(at + 1);
    const head = Buffer.from(q.subarray(0, at + 5));
    head.writeUInt16BE(0x8180, 2); // a response, recursion desired and available, no error
    head.writeUInt16BE(qtype === 1 ? 1 : 0, 6); // ANCOUNT
    // NAME (a pointer to the question's), TYPE A, CLASS IN, TTL 60, RDLENGTH 4, RDATA.
    const answer = qtype === 1 ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7]) : Buffer.alloc(0);
    sock.send(Buffer.concat([head, answer]), from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, close: () => sock.close() };
}

/** A port free on 127.0.0.1 now (the kernel's pick for port 0, given back). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

for (const arch of ARCHES) {
  const bin = debianBin(arch, 'busybox');
  describe.runIf(optionalTool("Debian's static busybox", fs.existsSync(bin), 'scripts/fetch-debian-bins.sh'))(`--net host (${arch}, busybox)`, () => {
    it('wget fetches from an HTTP server on the host', async () => {
      const srv = http.createServer((req, res) => res.end(`served ${req.url}\n`));
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      try {
        const port = (srv.address() as net.AddressInfo).port;
        const r = await busybox(bin, ['wget', '-q', '-O', '-', `http://127.0.0.1:${port}/page`], { net: 'host' });
        expect(r).toEqual({ exitCode: 0, stdout: 'served /page\n', stderr: '' });
      } finally {
        srv.close();
      }
    });

    it('the guest connects out to a host server', async () => {
      const srv = await tcpServer((got) => `got:${got}`);
      try {
        const r = await busybox(bin, ['nc', '127.0.0.1', String(srv.port)], { net: 'host', stdin: 'ping\n' });
        expect(r).toEqual({ exitCode: 0, stdout: 'got:ping\n', stderr: '' });
      } finally {
        srv.close();
      }
    });

    it('the guest listens and a host client connects in', async () => {
      const port = await freePort();
      let fromGuest = '';
      let closed!: () => void;
      const hostDone = new Promise<void>((r) => (closed = r));
      const r = await busybox(bin, ['nc', '-l', '-p', String(port)], {
        net: 'host',
        stdin: 'from-guest\n',
        onListen: () => {
          const c = net.connect(port, '127.0.0.1', () => c.end('from-host\n'));
          c.on('data', (d) => (fromGuest += d.toString()));
          c.on('close', () => closed());
        },
      });
      await hostDone;
      expect(r).toEqual({ exitCode: 0, stdout: 'from-host\n', stderr: '' });
      expect(fromGuest).toBe('from-guest\n');
    });

    it('a host HTTP client fetches from busybox httpd in the guest', async () => {
      const port = await freePort();
      const www = fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-www-'));
      fs.writeFileSync(path.join(www, 'index.html'), 'served by the guest\n');
      let page = '';
      const r = await busybox(bin, ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www'], {
        net: 'host',
        mounts: [{ host: www, guest: '/www', readOnly: true }],
        onListen: (kernel) => {
          http.get(`http://127.0.0.1:${port}/index.html`, (res) => {
            res.on('data', (d) => (page += d.toString()));
            // Served: stop the server as Ctrl-C would.
            res.on('end', () => kernel.hostSignal(2));
          });
        },
      });
      fs.rmSync(www, { recursive: true });
      expect(page).toBe('served by the guest\n');
      expect(r.exitCode).toBe(130);
    });

    it('DNS over UDP: nslookup asks a resolver on the host and prints its answer', async () => {
      const dns = await dnsServer();
      try {
        const r = await busybox(bin, ['nslookup', 'example.test', `127.0.0.1:${dns.port}`], { net: 'host' });
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toMatch(/Name:\texample\.test\nAddress: 10\.0\.0\.7\n/);
      } finally {
        dns.close();
      }
    });

    it('a blocked accept does not stall another guest task', async () => {
      const srv = await tcpServer((got) => `got:${got}`);
      const idle = await freePort();
      try {
        const script = `./busybox nc -l -p ${idle} >/dev/null & echo hi | ./busybox nc 127.0.0.1 ${srv.port}; kill $!`;
        const r = await busybox(bin, ['sh', '-c', script.replaceAll('./busybox', bin)], { net: 'host' });
        expect(r.stdout).toBe('got:hi\n');
      } finally {
        srv.close();
      }
    });

    it('--net-allow refuses what it does not list (EACCES)', async () => {
      const srv = await tcpServer((got) => got);
      try {
        const r = await busybox(bin, ['nc', '127.0.0.1', String(srv.port)], { net: 'host', netAllow: ['udp:53', 'tcp:1-1023'], stdin: 'x' });
        expect(r.exitCode).not.toBe(0);
        expect(r.stderr).toMatch(/Permission denied/);
        const ok = await busybox(bin, ['nc', '127.0.0.1', String(srv.port)], { net: 'host', netAllow: [`tcp:${srv.port}`], stdin: 'y' });
        expect(ok.stdout).toBe('y');
      } finally {
        srv.close();
      }
    });

    it("the guest's /etc/resolv.conf and /etc/hosts are the host's, read-only", async () => {
      const want = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
      const r = await busybox(bin, ['cat', '/etc/resolv.conf', '/etc/hosts'], { net: 'host' });
      expect(r.stdout).toBe(want('/etc/resolv.conf') + want('/etc/hosts'));
      const w = await busybox(bin, ['sh', '-c', 'echo x >> /etc/hosts'], { net: 'host', uid: 1000 });
      expect(w.stderr).toMatch(/Permission denied|Read-only/);
    });

    it('--net none (the default) still gives ENETUNREACH off loopback', async () => {
      const r = await busybox(bin, ['nc', '192.0.2.1', '80'], { stdin: '' });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/Network is unreachable|Network unreachable/);
    });
  });
}

for (const arch of ARCHES) {
  describe.runIf(haveGoGuests())(`--net host (${arch}, Go with epoll)`, () => {
    it('a TCP echo server and 50 concurrent clients meet through the host', async () => {
      const r = await busybox(goGuest(arch), ['tcpecho', '50'], { net: 'host' });
      expect(r).toEqual({ exitCode: 0, stdout: '50 clients echoed 263300 bytes\n', stderr: '' });
    });

    it('net/http serves and fetches from itself through the host', async () => {
      const r = await busybox(goGuest(arch), ['httpself'], { net: 'host' });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('concurrent GETs: 20 of 20 ok');
    });
  });
}

const isRoot = process.getuid?.() === 0;

/** What `gocheck ifaces` prints natively in a new network namespace with lo up (unshare -n; ip link set lo up). */
const LOOPBACK_ONLY = '1 lo 65536  up|loopback [127.0.0.1/8 ::1/128] <nil>\nall: [127.0.0.1/8 ::1/128] <nil>\n';

/** The native run of gocheck ifaces, in this host's network or (`ownNamespace`) a new one with only lo, up; null where it cannot run. */
function nativeIfaces(ownNamespace: boolean): string | null {
  if (!canRunNative) return null;
  const r = ownNamespace
    ? spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec ${goGuest('x86_64')} ifaces`], { encoding: 'utf8' })
    : spawnSync(goGuest('x86_64'), ['ifaces'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

for (const arch of ARCHES) {
  describe.runIf(haveGoGuests())(`NETLINK_ROUTE (${arch}, Go's net.Interfaces and net.InterfaceAddrs)`, () => {
    it('--net host: the host\'s interfaces and addresses, as the same program sees them natively', async () => {
      const r = await busybox(goGuest(arch), ['ifaces'], { net: 'host' });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^1 lo 65536 /);
      const native = optionalTool('an x86-64 Linux host (the native reference)', canRunNative) ? nativeIfaces(false) : null;
      if (native !== null) expect(r).toEqual({ exitCode: 0, stdout: native, stderr: '' });
    });

    it('the trace shows the netlink calls as strace does', () => {
      const lines: string[] = [];
      const r = runSync(goGuest(arch), { args: ['ifaces'], mountCwd: false, stdout: 'capture', stderr: 'capture', trace: (l) => lines.push(l) });
      expect(r.exitCode).toBe(0);
      const netlink = lines.filter((l) => /^(socket\(AF_NETLINK|bind\(\d+, \{sa_family=AF_NETLINK)/.test(l)).slice(0, 2);
      expect(netlink).toEqual(['socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 3', 'bind(3, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0']);
      const strace = arch === 'x86_64' && canRunNative ? optionalCommand('strace', 'apt-get install strace') : null;
      if (strace) {
        const native = spawnSync(strace, ['-e', 'trace=socket,bind', goGuest('x86_64'), 'ifaces'], { encoding: 'utf8' });
        expect(native.stderr.split('\n').filter((l) => /^(socket|bind)\(/.test(l)).slice(0, 2)).toEqual(netlink);
      }
    });

    it('--net none: the loopback alone, as in a new network namespace', async () => {
      const r = await busybox(goGuest(arch), ['ifaces']);
      expect(r).toEqual({ exitCode: 0, stdout: LOOPBACK_ONLY, stderr: '' });
      const native = isRoot ? nativeIfaces(true) : null;
      if (native !== null) expect(native).toBe(LOOPBACK_ONLY);
    });
  });
}

/** What busybox ifconfig prints natively in a new network namespace with lo up: every counter 0. */
const IFCONFIG_LOOPBACK =
  'lo        Link encap:Local Loopback  \n' +
  '          inet addr:127.0.0.1  Mask:255.0.0.0\n' +
  '          inet6 addr: ::1/128 Scope:Host\n' +
  '          UP LOOPBACK RUNNING  MTU:65536  Metric:1\n' +
  '          RX packets:0 errors:0 dropped:0 overruns:0 frame:0\n' +
  '          TX packets:0 errors:0 dropped:0 overruns:0 carrier:0\n' +
  '          collisions:0 txqueuelen:1000 \n' +
  '          RX bytes:0 (0.0 B)  TX bytes:0 (0.0 B)\n\n';

/** ifconfig's lines that do not count traffic or list IPv6 addresses (whose order the host's history decides). */
const ifconfigShape = (out: string): string => out.split('\n').filter((l) => !/packets|bytes|collisions|inet6/.test(l)).join('\n');

for (const arch of ARCHES) {
  describe(`interface ioctls and /proc/net (${arch}, busybox ifconfig)`, () => {
    const bin = debianBin(arch, 'busybox');
    it('--net none: lo alone, as natively in a new network namespace', async () => {
      const r = await busybox(bin, ['ifconfig']);
      expect(r).toEqual({ exitCode: 0, stdout: IFCONFIG_LOOPBACK, stderr: '' });
      if (isRoot && canRunNative) {
        const native = spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec ${debianBin('x86_64', 'busybox')} ifconfig`], { encoding: 'utf8' });
        if (native.status === 0) expect(native.stdout).toBe(IFCONFIG_LOOPBACK);
      }
    });

    it("--net host: the host's interfaces, flags and IPv4 addresses, as natively", async () => {
      const r = await busybox(bin, ['ifconfig'], { net: 'host' });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('lo        Link encap:Local Loopback');
      if (optionalTool('an x86-64 Linux host (the native reference)', canRunNative)) {
        const native = spawnSync(debianBin('x86_64', 'busybox'), ['ifconfig'], { encoding: 'utf8' });
        expect(ifconfigShape(r.stdout)).toBe(ifconfigShape(native.stdout));
      }
    });
  });
}

describe('/proc/net/tcp under --net host and --net none (busybox netstat)', () => {
  it("--net host lists the host's listeners, as in a host-network container; --net none does not", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const line = new RegExp(`127\\.0\\.0\\.1:${port} .* LISTEN`);
      const host = await busybox(debianBin('x86_64', 'busybox'), ['netstat', '-tln'], { net: 'host' });
      expect(host.exitCode).toBe(0);
      expect(host.stdout).toMatch(line);
      const none = await busybox(debianBin('aarch64', 'busybox'), ['netstat', '-tln']);
      expect(none.exitCode).toBe(0);
      expect(none.stdout).not.toMatch(line);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('--net-allow specs', () => {
  const tcp = (port: number, family = 2) => ({ proto: 'tcp' as const, family, port });
  const udp = (port: number, family = 2) => ({ proto: 'udp' as const, family, port });

  it('match by protocol, family and port range; any rule allows', () => {
    const p = netAllowPolicy(['tcp:443', 'udp:53', 'tcp:1024-65535', 'inet6:*']);
    expect(p.permits(tcp(443))).toBe(true);
    expect(p.permits(tcp(80))).toBe(false);
    expect(p.permits(udp(53))).toBe(true);
    expect(p.permits(udp(54))).toBe(false);
    expect(p.permits(tcp(8080))).toBe(true);
    expect(p.permits(udp(123, 10))).toBe(true);
    expect(netAllowPolicy(['*:*']).permits(udp(1))).toBe(true);
    expect(netAllowPolicy(['inet:80']).permits(tcp(80, 10))).toBe(false);
  });

  it('refuses what is not a spec, with the reason', () => {
    for (const bad of ['tcp', 'sctp:1', 'tcp:70000', 'tcp:9-3', 'udp:x']) expect(() => parseNetRule(bad)).toThrow(/--net-allow/);
  });
});

for (const arch of ARCHES) {
  const bin = debianBin(arch, 'busybox');
  describe.runIf(fs.existsSync(bin))(`--net host traces (${arch})`, () => {
    it('decodes a host socket connect as strace does, ECONNREFUSED included', async () => {
      const port = await freePort();
      const lines: string[] = [];
      const r = runSync(bin, { args: ['nc', '127.0.0.1', String(port)], net: 'host', trace: (l) => lines.push(l) });
      expect(r.exitCode).not.toBe(0);
      expect(lines).toContain(`connect(3, {sa_family=AF_INET, sin_port=htons(${port}), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)`);
    });
  });
}

/** struct sockaddr_in for 127.0.0.1:port. */
function loopback4(port: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(0, 2, true);
  v.setUint16(2, port, false);
  b.set([127, 0, 0, 1], 4);
  return b;
}

describe.each(ARCH_NAMES)('host sockets on a headless kernel (%s)', (arch) => {
  const SOCK_DGRAM = 2;
  const SOCK_NONBLOCK = 0o4000;
  const MSG_DONTWAIT = 0x40;
  const SOL_SOCKET = 1;
  const SO_RCVTIMEO = 20;
  const EAGAIN = -11;
  /** What a headless call that waits returns (the task is parked; calling again is its retry). */
  const BLOCKED = -11;
  let t: Headless;
  afterEach(() => t.cleanup());

  it('UDP: EAGAIN without data (O_NONBLOCK, MSG_DONTWAIT), a blocked recv until the host sends, SO_RCVTIMEO', async () => {
    t = headless(arch, { hostDir: false, net: 'host' });
    const host = dgram.createSocket('udp4');
    await new Promise<void>((r) => host.bind(0, '127.0.0.1', r));
    try {
      const fd = t.call('socket', 2, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(t.call('bind', fd, t.bytes(loopback4(0)), 16)).toBe(0);
      const name = t.buf(16);
      const len = t.buf(4);
      t.mem.writeU32(len, 16);
      expect(t.call('getsockname', fd, name, len)).toBe(0);
      const port = new DataView(t.read(name, 4).buffer).getUint16(2, false);
      const buf = t.buf(64);
      expect(t.call('recvfrom', fd, buf, 64, 0, 0, 0)).toBe(EAGAIN);
      // Blocking now (F_SETFL 0): the call waits, and is made again once the host sent.
      expect(t.call('fcntl', fd, 4 /* F_SETFL */, 0)).toBe(0);
      expect(t.call('recvfrom', fd, buf, 64, MSG_DONTWAIT, 0, 0)).toBe(EAGAIN);
      expect(t.call('recvfrom', fd, buf, 64, 0, 0, 0)).toBe(BLOCKED);
      await new Promise<void>((r) => host.send('hello', port, '127.0.0.1', () => r()));
      // Loopback UDP is delivered within the host's sendmsg: it is queued once the send is done.
      const n = t.call('recvfrom', fd, buf, 64, 0, 0, 0);
      expect(Buffer.from(t.read(buf, n)).toString()).toBe('hello');
      // SO_RCVTIMEO stays in the kernel (the host fd never blocks) and reads back.
      const tv = t.buf(16);
      t.mem.writeU64(tv, 0);
      t.mem.writeU64(tv + 8, 1);
      expect(t.call('setsockopt', fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16)).toBe(0);
      t.mem.writeU64(tv + 8, 0);
      t.mem.writeU32(len, 16);
      expect(t.call('getsockopt', fd, SOL_SOCKET, SO_RCVTIMEO, tv, len)).toBe(0);
      expect(t.mem.readU64(tv + 8)).toBe(1);
    } finally {
      host.close();
    }
  });

  it('--net-allow: EACCES for a bind or sendto outside it; port 0 binds, AF_UNSPEC dissolves', () => {
    t = headless(arch, { hostDir: false, net: 'host', netAllow: ['udp:53'] });
    const EACCES = -13;
    const fd = t.call('socket', 2, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    expect(t.call('bind', fd, t.bytes(loopback4(5353)), 16)).toBe(EACCES);
    expect(t.call('bind', fd, t.bytes(loopback4(0)), 16)).toBe(0);
    const data = t.bytes(new Uint8Array([1, 2, 3]));
    expect(t.call('sendto', fd, data, 3, 0, t.bytes(loopback4(9)), 16)).toBe(EACCES);
    expect(t.call('connect', fd, t.bytes(loopback4(9)), 16)).toBe(EACCES);
    expect(t.call('connect', fd, t.bytes(new Uint8Array(16)), 16)).toBe(0);
    const tcp = t.call('socket', 2, 1 | SOCK_NONBLOCK, 0);
    expect(t.call('connect', tcp, t.bytes(loopback4(53)), 16)).toBe(EACCES);
  });
});

describe('--net and --net-allow on the command line', () => {
  it('parse, and a bad value is one usage line', () => {
    const r = parseRunArgs(['--net', 'host', '--net-allow', 'tcp:443', '--net-allow', 'udp:53', 'prog']);
    expect(r).toMatchObject({ net: 'host', netAllow: ['tcp:443', 'udp:53'], program: 'prog' });
    expect(() => parseRunArgs(['--net', 'bridge', 'prog'])).toThrow(UsageError);
    expect(() => parseRunArgs(['--net-allow', 'tcp:99999', 'prog'])).toThrow(/--net-allow.*not a port/);
  });
});
