// How the tracer prints the structs syscalls pass (strace 6's spelling):
//   {st_mode=S_IFREG|0644, st_size=12, ...}
//   {sa_handler=0x401234, sa_mask=[PIPE], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x402000}
//   [{iov_base="hello", iov_len=5}]
//   {events=EPOLLIN|EPOLLET, data={u32=2, u64=2}}
//   {it_interval={tv_sec=0, tv_nsec=10000000}, it_value={tv_sec=1, tv_nsec=0}}
//   {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}
// STRUCTS is the one table from a kind's struct (its `show.struct`) to its
// printer. The caller has dealt with NULL and with what the kernel has not
// written (see formatArg).
import type { SyscallContext } from '../kernel/syscall-decl.ts';
import type { StructName } from '../kernel/syscall-kinds.ts';
import { ADDRESS_FAMILIES, archFlags, num } from '../kernel/syscall-flags.ts';
import { SIGINFO_SIZE, decodeSigInfo } from '../arch/sigframe.ts';
import { flagsToString, hex, nameOf, octalMode, printBuffer, quoteBytes, sigsetToString, type Mem } from './decode.ts';
import { formatSiginfo } from './decode-signals.ts';

const TWO64 = 1n << 64n;
/** Largest number of iovec elements worth reading. */
const IOV_MAX = 1024;

const FILE_TYPES = new Map([
  [0o140000, 'S_IFSOCK'],
  [0o120000, 'S_IFLNK'],
  [0o100000, 'S_IFREG'],
  [0o060000, 'S_IFBLK'],
  [0o040000, 'S_IFDIR'],
  [0o020000, 'S_IFCHR'],
  [0o010000, 'S_IFIFO'],
]);

// ---- exported decoders used by the tracer -----------------------------------------

/** st_mode as strace prints it: S_IFREG|0644. */
export function modeToString(mode: number): string {
  const type = FILE_TYPES.get(mode & 0o170000);
  const perm = mode & ~0o170000 & 0xffff;
  if (type === undefined) return octalMode(mode & 0xffff);
  return `${type}|${octalMode(perm)}`;
}

function makedev(rdev: bigint): string {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn & 0xffff_ffffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn & 0xffff_ffffn));
  return `makedev(${hex(major)}, ${hex(minor)})`;
}

function rlim(v: bigint): string {
  if (v === TWO64 - 1n) return 'RLIM64_INFINITY';
  if (v > 1024n && v % 1024n === 0n) return `${v / 1024n}*1024`;
  return v.toString();
}

export function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function formatStat(ctx: SyscallContext, p: number): string {
  const x86 = ctx.arch.name === 'x86_64';
  const v = dv(ctx.mem.read(p, x86 ? 144 : 128));
  const mode = v.getUint32(x86 ? 24 : 16, true);
  const type = mode & 0o170000;
  const second =
    type === 0o020000 || type === 0o060000
      ? `st_rdev=${makedev(v.getBigUint64(x86 ? 40 : 32, true))}`
      : `st_size=${v.getBigInt64(48, true)}`;
  return `{st_mode=${modeToString(mode)}, ${second}, ...}`;
}

function formatStatx(ctx: SyscallContext, p: number): string {
  const t = archFlags(ctx.arch);
  const v = dv(ctx.mem.read(p, 144));
  const mask = v.getUint32(0, true);
  const attrs = v.getBigUint64(8, true);
  const mode = v.getUint16(28, true);
  const type = mode & 0o170000;
  const attrText = attrs <= 0xffff_ffffn ? flagsToString(Number(attrs), t.statxAttrs) : hex(attrs);
  const second =
    type === 0o020000 || type === 0o060000
      ? `stx_rdev_major=${v.getUint32(128, true)}, stx_rdev_minor=${v.getUint32(132, true)}`
      : `stx_size=${v.getBigUint64(40, true)}`;
  return `{stx_mask=${flagsToString(mask, t.statxMask)}, stx_attributes=${attrText}, stx_mode=${modeToString(mode)}, ${second}, ...}`;
}

export function formatTimespec(mem: Mem, p: number): string {
  return timespecAt(dv(mem.read(p, 16)), 0);
}

/** struct itimerval: two struct timevals. */
function formatItimerval(mem: Mem, p: number): string {
  const v = dv(mem.read(p, 32));
  const tv = (at: number): string => `{tv_sec=${v.getBigInt64(at, true)}, tv_usec=${v.getBigInt64(at + 8, true)}}`;
  return `{it_interval=${tv(0)}, it_value=${tv(16)}}`;
}

function formatUtsname(mem: Mem, p: number): string {
  const b = mem.read(p, 130);
  const field = (at: number): string => {
    const f = b.subarray(at, at + 65);
    const nul = f.indexOf(0);
    return quoteBytes(nul >= 0 ? f.subarray(0, nul) : f);
  };
  return `{sysname=${field(0)}, nodename=${field(65)}, ...}`;
}

function formatRlimit(mem: Mem, p: number): string {
  const v = dv(mem.read(p, 16));
  return `{rlim_cur=${rlim(v.getBigUint64(0, true))}, rlim_max=${rlim(v.getBigUint64(8, true))}}`;
}

function formatSigset(ctx: SyscallContext, p: number): string {
  const v = dv(ctx.mem.read(p, 8));
  return sigsetToString(ctx.arch, v.getBigUint64(0, true));
}

/** struct sigaction as the kernel takes it (x86-64 and arm64 alike): handler, flags, restorer, mask. */
function formatSigaction(ctx: SyscallContext, p: number): string {
  const t = archFlags(ctx.arch);
  const v = dv(ctx.mem.read(p, 32));
  const handler = v.getBigUint64(0, true);
  const flags = v.getBigUint64(8, true);
  const restorer = v.getBigUint64(16, true);
  const mask = v.getBigUint64(24, true);
  const h = handler === 0n ? 'SIG_DFL' : handler === 1n ? 'SIG_IGN' : handler === TWO64 - 1n ? 'SIG_ERR' : hex(handler);
  const lo = Number(flags & 0xffff_ffffn);
  const hi = flags >> 32n;
  let f = flagsToString(lo, t.saFlags);
  if (hi !== 0n) f = lo === 0 ? hex(flags) : `${f}|${hex(hi << 32n)}`;
  const restorerBit = num(t.c, 'SA_RESTORER') ?? 0x04000000;
  const tail = lo & restorerBit ? `, sa_restorer=${hex(restorer)}` : '';
  return `{sa_handler=${h}, sa_mask=${sigsetToString(ctx.arch, mask)}, sa_flags=${f}${tail}}`;
}

/** An iovec array; `dataSize` bytes of data in all (Infinity: every buffer in full). */
export function formatIovec(ctx: SyscallContext, p: number, count: number, dataSize: number, strSize: number): string {
  if (p === 0) return 'NULL';
  if (!(count > 0)) return '[]';
  const shown = Math.min(count, strSize, IOV_MAX);
  const parts: string[] = [];
  let left = dataSize;
  for (let i = 0; i < shown; i++) {
    let v: DataView;
    try {
      v = dv(ctx.mem.read(p + 16 * i, 16));
    } catch (e) {
      if (i === 0) throw e;
      parts.push('...');
      return `[${parts.join(', ')}]`;
    }
    const base = Number(v.getBigUint64(0, true));
    const lenBig = v.getBigUint64(8, true);
    const len = Number(lenBig);
    const n = Math.min(len, left);
    left -= n;
    parts.push(`{iov_base=${printBuffer(ctx.mem, base, n, strSize)}, iov_len=${lenBig}}`);
  }
  if (count > shown) parts.push('...');
  return `[${parts.join(', ')}]`;
}

// ---- event descriptors (epoll, timerfd) ----------------------------------------------------

/** strace's epollevents table, in its order. */
const EPOLL_EVENTS: readonly (readonly [string, number])[] = [
  ['EPOLLIN', 0x1],
  ['EPOLLPRI', 0x2],
  ['EPOLLOUT', 0x4],
  ['EPOLLRDNORM', 0x40],
  ['EPOLLRDBAND', 0x80],
  ['EPOLLWRNORM', 0x100],
  ['EPOLLWRBAND', 0x200],
  ['EPOLLMSG', 0x400],
  ['EPOLLERR', 0x8],
  ['EPOLLHUP', 0x10],
  ['EPOLLRDHUP', 0x2000],
  ['EPOLLEXCLUSIVE', 1 << 28],
  ['EPOLLWAKEUP', 1 << 29],
  ['EPOLLONESHOT', 1 << 30],
  ['EPOLLET', 2 ** 31],
];

/** How many events of an array are worth printing (strace stops at its -s limit too). */
const MAX_EVENTS_SHOWN = 32;

/** struct epoll_event: packed (12 bytes) on x86-64, 16 bytes on arm64. */
function epollEvent(ctx: SyscallContext, p: number): string {
  const x86 = ctx.arch.name === 'x86_64';
  const v = dv(ctx.mem.read(p, x86 ? 12 : 16));
  const data = v.getBigUint64(x86 ? 4 : 8, true);
  const events = flagsToString(v.getUint32(0, true), EPOLL_EVENTS);
  return `{events=${events}, data={u32=${Number(data & 0xffff_ffffn)}, u64=${data}}}`;
}

function epollEvents(ctx: SyscallContext, p: number, count: number): string {
  const size = ctx.arch.name === 'x86_64' ? 12 : 16;
  const shown = Array.from({ length: Math.min(count, MAX_EVENTS_SHOWN) }, (_, i) => epollEvent(ctx, p + i * size));
  if (count > MAX_EVENTS_SHOWN) shown.push('...');
  return `[${shown.join(', ')}]`;
}

function timespecAt(v: DataView, at: number): string {
  return `{tv_sec=${v.getBigInt64(at, true)}, tv_nsec=${v.getBigInt64(at + 8, true)}}`;
}

function formatItimerspec(mem: Mem, p: number): string {
  const v = dv(mem.read(p, 32));
  return `{it_interval=${timespecAt(v, 0)}, it_value=${timespecAt(v, 16)}}`;
}

// ---- socket addresses ---------------------------------------------------------------------------

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;

function ipv6(b: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  // The longest run of zero words (two or more) becomes "::" (RFC 5952).
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > best[1]! && j - i > 1) best = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best[0]! < 0) return words.join(':');
  const [at, len] = best as [number, number];
  return `${words.slice(0, at).join(':')}::${words.slice(at + len).join(':')}`;
}

/** A struct sockaddr of `len` bytes, as strace's print_sockaddr prints the families it knows. */
export function formatSockaddr(mem: Mem, p: number, len: number, strSize: number): string {
  if (len < 2) return hex(p);
  const b = mem.read(p, Math.min(len, 128));
  const v = dv(b);
  const family = v.getUint16(0, true);
  const name = nameOf(ADDRESS_FAMILIES, family) ?? String(family);
  const be16 = (at: number): number => v.getUint16(at, false);
  if (family === AF_UNIX) {
    // An unnamed socket's address is the family alone.
    if (b.length === 2) return `{sa_family=${name}}`;
    const path = b.subarray(2);
    const nul = path.indexOf(0);
    // An abstract socket's name starts with a NUL: strace prints it as @"name".
    if (nul === 0 && path.length > 1) return `{sa_family=${name}, sun_path=@${quoteBytes(path.subarray(1))}}`;
    return `{sa_family=${name}, sun_path=${quoteBytes(nul >= 0 ? path.subarray(0, nul) : path)}}`;
  }
  if (family === AF_INET && b.length >= 8) {
    return `{sa_family=${name}, sin_port=htons(${be16(2)}), sin_addr=inet_addr("${b.subarray(4, 8).join('.')}")}`;
  }
  if (family === AF_INET6 && b.length >= 28) {
    const flow = v.getUint32(4, false);
    return `{sa_family=${name}, sin6_port=htons(${be16(2)}), sin6_flowinfo=htonl(${flow}), inet_pton(${name}, "${ipv6(b.subarray(8, 24))}", &sin6_addr), sin6_scope_id=${v.getUint32(24, true)}}`;
  }
  // struct sockaddr_nl, as strace's print_sockaddr_data_nl prints it.
  if (family === AF_NETLINK && b.length >= 12) {
    return `{sa_family=${name}, nl_pid=${v.getUint32(4, true)}, nl_groups=${v.getUint32(8, true).toString(16).padStart(8, '0')}}`;
  }
  return `{sa_family=${name}, sa_data=${printBuffer(mem, p + 2, b.length - 2, strSize)}}`;
}

// ---- the table ------------------------------------------------------------------------------------

/** What a struct printer gets besides the address: the call's result (an array's length) and -s. */
export interface StructContext {
  readonly ret: number;
  readonly strSize: number;
}

/** Every struct a kind can show as, and how it prints. */
export const STRUCTS: { readonly [S in StructName]: (ctx: SyscallContext, p: number, d: StructContext) => string } = {
  stat: (ctx, p) => formatStat(ctx, p),
  statx: (ctx, p) => formatStatx(ctx, p),
  timespec: (ctx, p) => formatTimespec(ctx.mem, p),
  utsname: (ctx, p) => formatUtsname(ctx.mem, p),
  rlimit: (ctx, p) => formatRlimit(ctx.mem, p),
  sigset: (ctx, p) => formatSigset(ctx, p),
  sigaction: (ctx, p) => formatSigaction(ctx, p),
  siginfo: (ctx, p) => formatSiginfo(ctx.arch, decodeSigInfo(ctx.mem.read(p, SIGINFO_SIZE))),
  itimerval: (ctx, p) => formatItimerval(ctx.mem, p),
  itimerspec: (ctx, p) => formatItimerspec(ctx.mem, p),
  epoll_event: (ctx, p) => epollEvent(ctx, p),
  epoll_events: (ctx, p, d) => epollEvents(ctx, p, d.ret),
};
