// --net-allow SPEC: which endpoints a --net host guest may use. A syscall
// policy (policy.ts) sees only registers, and a port lives in the struct
// sockaddr a register points to, as seccomp cannot read; so this is a rule
// set of its own, consulted by the kernel at connect, bind and sendto
// (src/kernel/host-socket.ts), in the manner of Landlock's network rules
// (landlock(7): LANDLOCK_ACCESS_NET_CONNECT_TCP / BIND_TCP by port), and
// like them it answers a refusal with EACCES.
//
// SPEC is PROTO:PORTS, repeatable, any match allows:
//   PROTO  tcp, udp, inet (IPv4, TCP or UDP), inet6 (IPv6), or * (any)
//   PORTS  a port, a range LOW-HIGH, or * (any)
// e.g. tcp:443, udp:53, tcp:1024-65535, inet6:*. Without any --net-allow,
// --net host allows everything.
import type { NetEndpoint, NetPolicy } from '../kernel/host-socket.ts';
import { PolicyError } from './error.ts';

const AF_INET = 2;
const AF_INET6 = 10;

interface NetRule {
  readonly proto: 'tcp' | 'udp' | null;
  readonly family: number | null;
  readonly low: number;
  readonly high: number;
}

const PROTOS: Readonly<Record<string, Pick<NetRule, 'proto' | 'family'>>> = {
  tcp: { proto: 'tcp', family: null },
  udp: { proto: 'udp', family: null },
  inet: { proto: null, family: AF_INET },
  inet6: { proto: null, family: AF_INET6 },
  '*': { proto: null, family: null },
};

function parsePort(spec: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new PolicyError('--net-allow', `${spec}: "${v}" is not a port (0-65535)`);
  return Number(v);
}

/** One SPEC as a rule (PolicyError when it is not one). */
export function parseNetRule(spec: string): NetRule {
  const m = /^([^:]+):(.+)$/.exec(spec);
  const kind = m ? PROTOS[m[1]!.toLowerCase()] : undefined;
  if (!m || !kind) throw new PolicyError('--net-allow', `wants PROTO:PORTS (PROTO tcp, udp, inet, inet6 or *; PORTS N, LOW-HIGH or *), got "${spec}"`);
  const ports = m[2]!;
  if (ports === '*') return { ...kind, low: 0, high: 65535 };
  const [lo, hi] = ports.split('-');
  const low = parsePort(spec, lo!);
  const high = hi === undefined ? low : parsePort(spec, hi);
  if (high < low) throw new PolicyError('--net-allow', `${spec}: the range is empty`);
  return { ...kind, low, high };
}

function matches(r: NetRule, e: NetEndpoint): boolean {
  return (r.proto === null || r.proto === e.proto) && (r.family === null || r.family === e.family) && e.port >= r.low && e.port <= r.high;
}

/** The policy of a list of SPECs: an endpoint passes when any rule matches it. */
export function netAllowPolicy(specs: readonly string[]): NetPolicy {
  const rules = specs.map(parseNetRule);
  return { permits: (e) => rules.some((r) => matches(r, e)) };
}
