// Socket arguments as strace prints them (strace's net.c, msghdr.c,
// sockaddr.c): socket types, protocols by family, option names by level,
// option values, struct msghdr with its control messages, struct mmsghdr.
import type { SyscallContext } from '../../syscalls/types.ts';
import { IPPROTOS, IPV6_OPTS, NETLINK_PROTOCOLS, IP_OPTS, MSG_FLAGS, SOCKET_TYPES, TCP_OPTS, archFlags, type Entries } from '../kernel/syscall-flags.ts';
import { formatIovec, formatSockaddr } from './decode-structs.ts';
import { flagsToString, hex, nameOf, printBuffer } from './decode.ts';
import { ERRNO_NAMES } from '../kernel/errno-table.ts';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const SOL_SOCKET = 1;

/** SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK (strace's socktypes, then sock_type_flags). */
export function formatSocketType(ctx: SyscallContext, v: number): string {
  const type = v & 0xf;
  const rest = (v & ~0xf) >>> 0;
  const name = nameOf(SOCKET_TYPES, type) ?? `${hex(type)} /* SOCK_??? */`;
  return rest ? `${name}|${flagsToString(rest, archFlags(ctx.arch).sockFlags)}` : name;
}

/** socket's protocol: IPPROTO_* for AF_INET/AF_INET6, NETLINK_* for AF_NETLINK, a number otherwise. */
export function formatSocketProtocol(family: number, v: number): string {
  if (family === AF_INET || family === AF_INET6) return nameOf(IPPROTOS, v) ?? String(v);
  if (family === AF_NETLINK) return nameOf(NETLINK_PROTOCOLS, v) ?? String(v | 0);
  return String(v | 0);
}

function optNames(ctx: SyscallContext, level: number): Entries | null {
  switch (level) {
    case SOL_SOCKET:
      return archFlags(ctx.arch).sockopts;
    case 0:
      return IP_OPTS;
    case 6:
      return TCP_OPTS;
    case 41:
      return IPV6_OPTS;
    default:
      return null;
  }
}

/** An option name by its level: SO_REUSEADDR, TCP_NODELAY... (unknown ones as a number). */
export function formatSockoptName(ctx: SyscallContext, level: number, v: number): string {
  const names = optNames(ctx, level);
  const name = names ? nameOf(names, v) : undefined;
  if (name !== undefined) return name;
  return names ? `${hex(v >>> 0)} /* ${level === SOL_SOCKET ? 'SO' : level === 6 ? 'TCP' : level === 41 ? 'IPV6' : 'IP'}_??? */` : String(v | 0);
}

/**
 * An option value of `len` bytes: an int as [1], struct linger, struct
 * timeval (SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD), struct ucred (SO_PEERCRED),
 * anything else as bytes.
 */
export function formatSockoptValue(ctx: SyscallContext, level: number, name: number, p: number, len: number, strSize: number): string {
  if (p === 0) return 'NULL';
  const mem = ctx.mem;
  if (level === SOL_SOCKET) {
    if (name === 13 && len >= 8) return `{l_onoff=${mem.readI32(p)}, l_linger=${mem.readI32(p + 4)}}`;
    if ((name === 20 || name === 21 || name === 66 || name === 67) && len >= 16) return `{tv_sec=${mem.readI64(p)}, tv_usec=${mem.readI64(p + 8)}}`;
    if (name === 17 && len >= 12) return `{pid=${mem.readI32(p)}, uid=${mem.readU32(p + 4)}, gid=${mem.readU32(p + 8)}}`;
    // SO_ERROR: the pending error by name.
    if (name === 4 && len === 4) {
      const e = mem.readI32(p);
      return `[${e === 0 ? 0 : (ERRNO_NAMES[e] ?? e)}]`;
    }
  }
  if (len === 4) return `[${mem.readI32(p)}]`;
  return printBuffer(mem, p, Math.max(0, len), strSize);
}

/** One control message's data, as strace prints SCM_RIGHTS ([3, 4]) and SCM_CREDENTIALS ({pid=, uid=, gid=}). */
function cmsgData(ctx: SyscallContext, level: number, type: number, p: number, len: number, strSize: number): string {
  if (level === SOL_SOCKET && type === 1) {
    const fds: number[] = [];
    for (let i = 0; i + 4 <= len; i += 4) fds.push(ctx.mem.readI32(p + i));
    return `[${fds.join(', ')}]`;
  }
  if (level === SOL_SOCKET && type === 2 && len >= 12) return `{pid=${ctx.mem.readI32(p)}, uid=${ctx.mem.readU32(p + 4)}, gid=${ctx.mem.readU32(p + 8)}}`;
  return printBuffer(ctx.mem, p, len, strSize);
}

const SCM_NAMES: Entries = [
  ['SCM_RIGHTS', 1],
  ['SCM_CREDENTIALS', 2],
  ['SCM_SECURITY', 3],
  ['SCM_PIDFD', 4],
];

/** The control messages of a msghdr, as strace's print_cmsgs. */
function formatControl(ctx: SyscallContext, p: number, len: number, strSize: number): string {
  if (p === 0) return 'NULL';
  if (len < 16) return hex(p);
  const parts: string[] = [];
  for (let at = 0; at + 16 <= len; ) {
    const clen = Number(ctx.mem.readU64(p + at));
    const level = ctx.mem.readI32(p + at + 8);
    const type = ctx.mem.readI32(p + at + 12);
    const levelName = level === SOL_SOCKET ? 'SOL_SOCKET' : (nameOf(IPPROTOS, level)?.replace('IPPROTO_', 'SOL_') ?? String(level));
    const typeName = level === SOL_SOCKET ? (nameOf(SCM_NAMES, type) ?? hex(type)) : hex(type);
    const dataLen = Math.min(clen, len - at) - 16;
    const data = clen >= 16 ? `, cmsg_data=${cmsgData(ctx, level, type, p + at + 16, dataLen, strSize)}` : '';
    parts.push(`{cmsg_len=${clen}, cmsg_level=${levelName}, cmsg_type=${typeName}${data}}`);
    if (clen < 16) break;
    at += (clen + 7) & ~7;
  }
  return `[${parts.join(', ')}]`;
}

/** A struct msghdr; `dataSize`: bytes of data in its iovecs (a receive's result; Infinity for a send). */
export function formatMsghdr(ctx: SyscallContext, p: number, dataSize: number, strSize: number, written: boolean): string {
  if (p === 0) return 'NULL';
  const mem = ctx.mem;
  const name = Number(mem.readU64(p));
  const namelen = mem.readI32(p + 8);
  const iov = Number(mem.readU64(p + 16));
  const iovlen = Number(mem.readU64(p + 24));
  const control = Number(mem.readU64(p + 32));
  const controllen = Number(mem.readU64(p + 40));
  const flags = mem.readI32(p + 48);
  const nameText = name === 0 || namelen <= 0 ? (name === 0 ? 'NULL' : hex(name)) : formatSockaddr(mem, name, namelen, strSize);
  // strace leaves msg_control out when msg_controllen is 0.
  const ctl = controllen === 0 ? '' : `msg_control=${formatControl(ctx, control, controllen, strSize)}, `;
  void written;
  return (
    `{msg_name=${nameText}, msg_namelen=${namelen}, msg_iov=${formatIovec(ctx, iov, iovlen, dataSize, strSize)}, msg_iovlen=${iovlen}, ` +
    `${ctl}msg_controllen=${controllen}, msg_flags=${flagsToString(flags >>> 0, MSG_FLAGS)}}`
  );
}

/** An array of struct mmsghdr: the first `count` entries. */
export function formatMmsghdr(ctx: SyscallContext, p: number, count: number, strSize: number, written: boolean): string {
  if (p === 0) return 'NULL';
  const n = Math.min(count, 16);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const at = p + i * 64;
    const len = ctx.mem.readU32(at + 56);
    parts.push(`{msg_hdr=${formatMsghdr(ctx, at, written ? len : Infinity, strSize, written)}, msg_len=${len}}`);
  }
  if (count > n) parts.push('...');
  return `[${parts.join(', ')}]`;
}
