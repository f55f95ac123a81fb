// strace's decodings for the event descriptor calls (syscalls/events.ts):
// epoll_ctl's op and struct epoll_event, epoll_wait's event array, the
// EPOLL_CLOEXEC / EFD_* / TFD_* flag words and struct itimerspec, printed
// the way strace 6 prints them:
//   epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLIN|EPOLLET, data={u32=2, u64=2}}) = 0
//   timerfd_settime(3, 0, {it_interval={tv_sec=0, tv_nsec=10000000}, it_value={tv_sec=1, tv_nsec=0}}, NULL) = 0
import type { ArgKind, SyscallContext } from '../../syscalls/types.ts';
import { flagsToString, hex, type FormatArgOptions } from './decode.ts';

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

const EPOLL_CTL_OPS = new Map([
  [1, 'EPOLL_CTL_ADD'],
  [2, 'EPOLL_CTL_DEL'],
  [3, 'EPOLL_CTL_MOD'],
]);

const TIMERFD_SETTIME_FLAGS: readonly (readonly [string, number])[] = [
  ['TFD_TIMER_ABSTIME', 1],
  ['TFD_TIMER_CANCEL_ON_SET', 2],
];

/** How many events of an array are worth printing (strace stops at its -s limit too). */
const MAX_SHOWN = 32;

function epollEvent(ctx: SyscallContext, p: number): string {
  const x86 = ctx.arch.name === 'x86_64';
  const b = ctx.mem.read(p, x86 ? 12 : 16);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const data = v.getBigUint64(x86 ? 4 : 8, true);
  const events = flagsToString(v.getUint32(0, true), EPOLL_EVENTS);
  return `{events=${events}, data={u32=${Number(data & 0xffff_ffffn)}, u64=${data}}}`;
}

function epollEvents(ctx: SyscallContext, p: number, count: number): string {
  const size = ctx.arch.name === 'x86_64' ? 12 : 16;
  const shown = Array.from({ length: Math.min(count, MAX_SHOWN) }, (_, i) => epollEvent(ctx, p + i * size));
  if (count > MAX_SHOWN) shown.push('...');
  return `[${shown.join(', ')}]`;
}

function timespec(v: DataView, at: number): string {
  return `{tv_sec=${v.getBigInt64(at, true)}, tv_nsec=${v.getBigInt64(at + 8, true)}}`;
}

function itimerspec(ctx: SyscallContext, p: number): string {
  const b = ctx.mem.read(p, 32);
  const v = new DataView(b.buffer, b.byteOffset, 32);
  return `{it_interval=${timespec(v, 0)}, it_value=${timespec(v, 16)}}`;
}

/** The O_CLOEXEC / O_NONBLOCK flag words of epoll_create1, eventfd2 and timerfd_create under their own names. */
function cloexecFlags(ctx: SyscallContext, v: number, prefix: 'EPOLL' | 'EFD' | 'TFD'): string {
  const c = ctx.arch.c;
  const entries: [string, number][] = [];
  if (prefix === 'EFD') entries.push(['EFD_SEMAPHORE', 1]);
  entries.push([`${prefix}_CLOEXEC`, c.O_CLOEXEC]);
  if (prefix !== 'EPOLL') entries.push([`${prefix}_NONBLOCK`, c.O_NONBLOCK]);
  return flagsToString(v, entries);
}

/** The text of one argument of an event-descriptor kind; undefined for other kinds. */
export function formatEventsArg(kind: ArgKind, v: number, ctx: SyscallContext, opts: FormatArgOptions, ok: boolean): string | undefined {
  switch (kind) {
    case 'epoll_create_flags':
      return cloexecFlags(ctx, v, 'EPOLL');
    case 'eventfd_flags':
      return cloexecFlags(ctx, v, opts.syscall === 'timerfd_create' ? 'TFD' : 'EFD');
    case 'epoll_ctl_op':
      return EPOLL_CTL_OPS.get(v) ?? String(v);
    case 'timerfd_settime_flags':
      return flagsToString(v, TIMERFD_SETTIME_FLAGS);
    case 'struct_epoll_event_in':
      return v === 0 ? 'NULL' : epollEvent(ctx, v);
    case 'epoll_events_out':
      if (v === 0) return 'NULL';
      return ok ? epollEvents(ctx, v, opts.ret) : hex(v);
    case 'struct_itimerspec_in':
      return v === 0 ? 'NULL' : itimerspec(ctx, v);
    case 'struct_itimerspec_out':
      if (v === 0) return 'NULL';
      return ok ? itimerspec(ctx, v) : hex(v);
    default:
      return undefined;
  }
}
