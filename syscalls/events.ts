// Event descriptors: epoll (epoll(7), epoll_create(2), epoll_ctl(2),
// epoll_wait(2)), eventfd (eventfd(2)) and timerfd (timerfd_create(2)).
// The files themselves live in src/kernel/{epoll,eventfd,timerfd}.ts; this
// module decodes the guest's arguments and structures, checks them in
// Linux's order, and makes the descriptors.
import { openAnonInode } from '../src/kernel/anon-inode.ts';
import { EPOLLET, EPOLLEXCLUSIVE, EPOLLONESHOT, EPOLLWAKEUP, EpollInstance, type ReadyEvent } from '../src/kernel/epoll.ts';
import { fail } from '../src/kernel/errors.ts';
import { EventFd } from '../src/kernel/eventfd.ts';
import type { OpenFileDescription } from '../src/kernel/fdtable.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, canPoll } from '../src/kernel/readiness.ts';
import { TimerFd } from '../src/kernel/timerfd.ts';
import type { Node, OpenFile } from '../src/kernel/vfs/types.ts';
import { WouldBlock, type Waitable } from '../src/kernel/wait.ts';
import { ioFd } from './file.ts';
import { deadlineAfter, holdingMask } from './poll.ts';
import { clockNs, readTimespec, writeTimespec } from './time.ts';
import { family, type SyscallContext } from './types.ts';

// ---- making descriptors ---------------------------------------------------------------

/** Install a new anon-inode file; `nonblock` and `cloexec` come from the call's flags. */
function installAnon(ctx: SyscallContext, name: string, make: (node: Node) => OpenFile, nonblock: boolean, cloexec: boolean): number {
  const c = ctx.arch.c;
  const ofd = openAnonInode(ctx.kernel.rootFs(), name, make, c.O_RDWR, nonblock ? c.O_NONBLOCK : 0);
  return ctx.fds.install(ofd, cloexec);
}

/** The file behind an fd when it is of kind `kind`: EBADF for no fd (or O_PATH), EINVAL for another kind of file. */
function fileOf<T>(ctx: SyscallContext, fd: number, kind: abstract new (...args: never[]) => T): T {
  const file = ioFd(ctx, fd).file;
  if (!(file instanceof kind)) fail('EINVAL');
  return file;
}

// ---- epoll ----------------------------------------------------------------------------

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
/** What EPOLLEXCLUSIVE may be combined with (EPOLLEXCLUSIVE_OK_BITS). */
const EXCLUSIVE_OK = POLLIN | POLLOUT | POLLERR | POLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

/**
 * struct epoll_event is { u32 events; u64 data } packed to 12 bytes on
 * x86-64 (EPOLL_PACKED in the uapi header) and naturally aligned to 16 bytes,
 * data at offset 8, elsewhere.
 */
function eventLayout(ctx: SyscallContext): { size: number; dataAt: number } {
  return ctx.arch.name === 'x86_64' ? { size: 12, dataAt: 4 } : { size: 16, dataAt: 8 };
}

function readEpollEvent(ctx: SyscallContext, ptr: number): { events: number; data: bigint } {
  const { size, dataAt } = eventLayout(ctx);
  const b = ctx.mem.read(ptr, size);
  const v = new DataView(b.buffer, b.byteOffset, size);
  return { events: v.getUint32(0, true), data: v.getBigUint64(dataAt, true) };
}

function epollCreate1(ctx: SyscallContext, flags: number): number {
  const cloexec = ctx.arch.c.O_CLOEXEC; // EPOLL_CLOEXEC
  if (flags & ~cloexec) fail('EINVAL');
  return installAnon(ctx, 'eventpoll', (node) => new EpollInstance(node), false, (flags & cloexec) !== 0);
}

/** epoll_create(2): the size is a hint Linux ignores, but it must be positive. */
function epollCreate(ctx: SyscallContext, size: number): number {
  if (size <= 0) fail('EINVAL');
  return epollCreate1(ctx, 0);
}

/**
 * epoll_ctl(2), checked in do_epoll_ctl's order: the event is read first
 * (EFAULT; not for EPOLL_CTL_DEL), then both fds (EBADF), then whether the
 * target can be polled at all (EPERM for regular files and directories),
 * then epfd being an epoll other than the target (EINVAL), EPOLLEXCLUSIVE's
 * rules (EINVAL), nesting (ELOOP), and the pair's presence (EEXIST, ENOENT).
 */
function epollCtl(ctx: SyscallContext, epfd: number, op: number, fd: number, eventPtr: number): number {
  const event = op !== EPOLL_CTL_DEL ? readEpollEvent(ctx, eventPtr) : null;
  const epOfd = ioFd(ctx, epfd);
  const target = ioFd(ctx, fd);
  if (!canPoll(target)) fail('EPERM');
  const ep = epOfd.file;
  if (epOfd === target || !(ep instanceof EpollInstance)) fail('EINVAL');
  // EPOLLWAKEUP needs CAP_BLOCK_SUSPEND and means nothing without system suspend: dropped, as Linux drops it unprivileged.
  if (event) event.events &= ~EPOLLWAKEUP;
  if (event && event.events & EPOLLEXCLUSIVE) {
    if (op === EPOLL_CTL_MOD) fail('EINVAL');
    if (op === EPOLL_CTL_ADD && (target.file instanceof EpollInstance || event.events & ~EXCLUSIVE_OK)) fail('EINVAL');
  }
  switch (op) {
    case EPOLL_CTL_ADD:
      ep.add(target, fd, event!.events, event!.data);
      return 0;
    case EPOLL_CTL_MOD:
      ep.modify(target, fd, event!.events, event!.data);
      return 0;
    case EPOLL_CTL_DEL:
      ep.remove(target, fd);
      return 0;
    default:
      fail('EINVAL');
  }
}

interface EpollWaitState {
  deadline: bigint | null;
}

/** The wait's deadline, fixed by its first attempt and kept across retries. */
function waitState(ctx: SyscallContext, deadlineOf: () => bigint | null): EpollWaitState {
  const state = (ctx.task.syscallState as EpollWaitState | undefined) ?? { deadline: deadlineOf() };
  ctx.task.syscallState = state;
  return state;
}

/** Write the events into the guest's array (EFAULT, nothing consumed, if it cannot take them). */
function deliver(ctx: SyscallContext, ep: EpollInstance, eventsPtr: number, ready: readonly ReadyEvent[]): number {
  const { size, dataAt } = eventLayout(ctx);
  const out = new Uint8Array(ready.length * size);
  const v = new DataView(out.buffer);
  ready.forEach((e, i) => {
    v.setUint32(i * size, e.events, true);
    v.setBigUint64(i * size + dataAt, e.data, true);
  });
  ctx.mem.write(eventsPtr, out);
  ep.consume(ready);
  return ready.length;
}

/**
 * The common body of epoll_wait, epoll_pwait and epoll_pwait2: EINVAL for
 * maxevents outside 1..EP_MAX_EVENTS (checked before the fd, as Linux
 * does), EBADF / EINVAL for epfd; then the ready events, or a wait until
 * one of the watched files changes, the deadline passes or a signal comes.
 */
function epollWait(ctx: SyscallContext, epfd: number, eventsPtr: number, maxevents: number, deadlineOf: () => bigint | null): number {
  const { size } = eventLayout(ctx);
  if (maxevents <= 0 || maxevents > Math.floor(0x7fff_ffff / size)) fail('EINVAL');
  const ep = fileOf(ctx, epfd, EpollInstance);
  const state = waitState(ctx, deadlineOf);
  const waits: Waitable[] = [];
  const ready = ep.ready(maxevents, waits);
  if (ready.length > 0) return deliver(ctx, ep, eventsPtr, ready);
  if (state.deadline !== null && ctx.kernel.monotonicNs() >= state.deadline) return 0;
  throw new WouldBlock([...waits, ep.changed, ctx.proc.signalEvents], state.deadline);
}

/** A timeout in milliseconds; any negative value waits for ever (ep_timeout_to_timespec). */
function msDeadline(ctx: SyscallContext, timeoutMs: number): () => bigint | null {
  return () => (timeoutMs < 0 ? null : ctx.kernel.monotonicNs() + BigInt(timeoutMs) * 1_000_000n);
}

/** The temporary signal mask of epoll_pwait and epoll_pwait2: NULL keeps the caller's; sigsetsize must be 8. */
function maskReader(ctx: SyscallContext, sigmaskPtr: number, sigsetsize: number): () => bigint | null {
  return () => {
    if (!sigmaskPtr) return null;
    if (sigsetsize !== 8) fail('EINVAL');
    return ctx.mem.readBigU64(sigmaskPtr);
  };
}

function epollWaitCall(ctx: SyscallContext, epfd: number, events: number, maxevents: number, timeoutMs: number): number {
  return epollWait(ctx, epfd, events, maxevents, msDeadline(ctx, timeoutMs));
}

function epollPwait(ctx: SyscallContext, epfd: number, events: number, maxevents: number, timeoutMs: number, sigmask: number, sigsetsize: number): number {
  return holdingMask(ctx, maskReader(ctx, sigmask, sigsetsize), () => epollWait(ctx, epfd, events, maxevents, msDeadline(ctx, timeoutMs)));
}

/** epoll_pwait2: a struct timespec timeout (NULL: none), read (EFAULT, EINVAL) before the mask, as Linux does. */
function epollPwait2(ctx: SyscallContext, epfd: number, events: number, maxevents: number, timeout: number, sigmask: number, sigsetsize: number): number {
  const state = waitState(ctx, () => deadlineAfter(ctx, timeout));
  return holdingMask(ctx, maskReader(ctx, sigmask, sigsetsize), () => epollWait(ctx, epfd, events, maxevents, () => state.deadline));
}

// ---- eventfd --------------------------------------------------------------------------

const EFD_SEMAPHORE = 1;

function eventfd2(ctx: SyscallContext, initval: number, flags: number): number {
  const c = ctx.arch.c; // EFD_CLOEXEC and EFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK
  if (flags & ~(EFD_SEMAPHORE | c.O_CLOEXEC | c.O_NONBLOCK)) fail('EINVAL');
  const make = (node: Node): OpenFile => new EventFd(node, BigInt(initval), (flags & EFD_SEMAPHORE) !== 0);
  return installAnon(ctx, 'eventfd', make, (flags & c.O_NONBLOCK) !== 0, (flags & c.O_CLOEXEC) !== 0);
}

// ---- timerfd --------------------------------------------------------------------------

const TFD_TIMER_ABSTIME = 1;
/**
 * TFD_TIMER_CANCEL_ON_SET makes a read fail with ECANCELED when the realtime
 * clock is set. The guest cannot set tslinux's realtime clock (it follows the
 * host's), so the flag is accepted and never has anything to report.
 */
const TFD_TIMER_CANCEL_ON_SET = 2;

/** The clocks a timerfd may use; the _ALARM ones (which would wake a suspended system) need CAP_WAKE_ALARM. */
function checkTimerClock(ctx: SyscallContext, clock: number): void {
  const c = ctx.arch.c;
  if (clock === c.CLOCK_REALTIME_ALARM || clock === c.CLOCK_BOOTTIME_ALARM) {
    if (ctx.proc.creds.euid !== 0) fail('EPERM');
    return;
  }
  if (clock !== c.CLOCK_REALTIME && clock !== c.CLOCK_MONOTONIC && clock !== c.CLOCK_BOOTTIME) fail('EINVAL');
}

function timerfdCreate(ctx: SyscallContext, clock: number, flags: number): number {
  const c = ctx.arch.c; // TFD_CLOEXEC and TFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK
  if (flags & ~(c.O_CLOEXEC | c.O_NONBLOCK)) fail('EINVAL');
  checkTimerClock(ctx, clock);
  const make = (node: Node): OpenFile => new TimerFd(node, clock, () => ctx.kernel.monotonicNs());
  return installAnon(ctx, 'timerfd', make, (flags & c.O_NONBLOCK) !== 0, (flags & c.O_CLOEXEC) !== 0);
}

/** struct itimerspec: it_interval then it_value, each a struct timespec (EINVAL when one is not valid). */
function readItimerspec(ctx: SyscallContext, ptr: number): { intervalNs: bigint; valueNs: bigint } {
  return { intervalNs: readTimespec(ctx, ptr), valueNs: readTimespec(ctx, ptr + 16) };
}

function writeItimerspec(ctx: SyscallContext, ptr: number, setting: { intervalNs: bigint; valueNs: bigint }): void {
  writeTimespec(ctx, ptr, setting.intervalNs);
  writeTimespec(ctx, ptr + 16, setting.valueNs);
}

/** The absolute CLOCK_MONOTONIC time of a timer's first expiry: `valueNs` from now, or at that time on its clock. */
function firstExpiry(ctx: SyscallContext, timer: TimerFd, valueNs: bigint, absolute: boolean): bigint {
  const c = ctx.arch.c;
  // The monotonic clocks are the timer's own time base: an absolute time is the expiry itself
  // (converting it through two clock reads would move it by the time between them).
  const monotonic = [c.CLOCK_MONOTONIC, c.CLOCK_BOOTTIME, c.CLOCK_BOOTTIME_ALARM].includes(timer.clockId);
  if (absolute && monotonic) return valueNs;
  const now = ctx.kernel.monotonicNs();
  if (!absolute) return now + valueNs;
  return now + (valueNs - clockNs(ctx, timer.clockId));
}

/**
 * timerfd_settime(2), in Linux's order: EFAULT reading the new value, EINVAL
 * for unknown flags or an invalid timespec, EBADF, EINVAL for an fd that is
 * not a timerfd. A zero it_value disarms it. The old setting goes to
 * `oldPtr` (if given) once the new one is in place.
 */
function timerfdSettime(ctx: SyscallContext, fd: number, flags: number, newPtr: number, oldPtr: number): number {
  ctx.mem.read(newPtr, 32); // EFAULT for the whole struct first
  if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) fail('EINVAL');
  const next = readItimerspec(ctx, newPtr);
  const timer = fileOf(ctx, fd, TimerFd);
  const old = timer.get();
  const first = next.valueNs === 0n ? null : firstExpiry(ctx, timer, next.valueNs, (flags & TFD_TIMER_ABSTIME) !== 0);
  timer.set(first, next.intervalNs);
  if (oldPtr) writeItimerspec(ctx, oldPtr, old);
  return 0;
}

function timerfdGettime(ctx: SyscallContext, fd: number, currPtr: number): number {
  const timer = fileOf(ctx, fd, TimerFd);
  writeItimerspec(ctx, currPtr, timer.get());
  return 0;
}

export const eventsFamily = family('events', [
  {
    name: 'epoll_create',
    summary: 'Creates an epoll instance, like epoll_create1 with no flags; the size must be positive but is otherwise ignored.',
    args: { size: 'int' },
    ret: 'fd',
    handler: epollCreate,
  },
  {
    name: 'epoll_create1',
    summary: 'Creates an epoll instance (a descriptor that watches other descriptors for readiness).',
    args: { flags: 'epoll_create_flags' },
    ret: 'fd',
    handler: epollCreate1,
  },
  {
    name: 'epoll_ctl',
    summary: "Adds, changes or removes a descriptor in an epoll instance's interest list.",
    args: { epfd: 'fd', op: 'epoll_ctl_op', fd: 'fd', event: 'struct_epoll_event_in' },
    handler: epollCtl,
    note: 'level- and edge-triggered, EPOLLONESHOT, nested epolls (ELOOP); EPOLLEXCLUSIVE accepted (every waiter wakes); EPOLLWAKEUP ignored',
  },
  {
    name: 'epoll_wait',
    summary: "Waits for events on an epoll instance and returns the ready descriptors' events.",
    args: { epfd: 'fd', events: 'epoll_events_out', maxevents: 'int', timeout: 'int' },
    interrupted: 'eintr', // ep_poll
    handler: epollWaitCall,
  },
  {
    name: 'epoll_pwait',
    summary: 'epoll_wait with a signal mask installed while it waits.',
    args: { epfd: 'fd', events: 'epoll_events_out', maxevents: 'int', timeout: 'int', sigmask: 'sigset_in', sigsetsize: 'size' },
    interrupted: 'eintr', // ep_poll
    handler: epollPwait,
  },
  {
    name: 'epoll_pwait2',
    summary: 'epoll_pwait with a timespec timeout instead of milliseconds.',
    args: { epfd: 'fd', events: 'epoll_events_out', maxevents: 'int', timeout: 'struct_timespec_in', sigmask: 'sigset_in', sigsetsize: 'size' },
    interrupted: 'eintr', // ep_poll
    handler: epollPwait2,
  },
  {
    name: 'eventfd',
    summary: 'Creates an eventfd counter descriptor, like eventfd2 with no flags.',
    args: { initval: 'uint' },
    ret: 'fd',
    handler: (ctx: SyscallContext, initval: number) => eventfd2(ctx, initval, 0),
  },
  {
    name: 'eventfd2',
    summary: 'Creates a descriptor holding a 64-bit counter that write adds to and read takes (and resets), for event notification.',
    args: { initval: 'uint', flags: 'eventfd_flags' },
    ret: 'fd',
    handler: eventfd2,
  },
  {
    name: 'timerfd_create',
    summary: 'Creates a timer that reports expirations through a descriptor instead of a signal.',
    args: { clockid: 'clockid', flags: 'timerfd_flags' },
    ret: 'fd',
    handler: timerfdCreate,
  },
  {
    name: 'timerfd_settime',
    summary: 'Arms or disarms a timerfd timer.',
    args: { fd: 'fd', flags: 'timerfd_settime_flags', new_value: 'struct_itimerspec_in', old_value: 'struct_itimerspec_out' },
    handler: timerfdSettime,
    note: 'TFD_TIMER_CANCEL_ON_SET accepted: the guest cannot set the realtime clock',
  },
  {
    name: 'timerfd_gettime',
    summary: 'Reads the time left on a timerfd timer.',
    args: { fd: 'fd', curr_value: 'struct_itimerspec_out' },
    handler: timerfdGettime,
  },
]);
