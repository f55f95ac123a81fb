// Readiness for poll, select and epoll (see poll(2)): what an open file
// reports now, as POLL* bits, and what to wait on for that to change. Each
// kind of file answers through its OpenFile.poll hook (pipes, host ttys,
// eventfds, timerfds, epolls); a file without one is always ready for
// reading and writing, as Linux's files without a poll operation
// (DEFAULT_POLLMASK), and cannot be watched by an epoll.
import type { OpenFileDescription } from './fdtable.ts';
import type { Waitable } from './wait.ts';

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLWRNORM = 0x100;
export const POLLRDHUP = 0x2000;

/** The bits a read-side or write-side request covers. */
export const POLL_READ = POLLIN | POLLRDNORM;
export const POLL_WRITE = POLLOUT | POLLWRNORM;

/**
 * The POLL* bits an open file description reports for `events` (POLLERR and
 * POLLHUP may come unasked; callers mask). Pushes onto `waits` the Waitables
 * that fire when the answer may change: hooks push them whether or not the
 * file is ready, so edge-triggered epoll can tell new events from old ones.
 */
export function readiness(ofd: OpenFileDescription, events: number, waits: Waitable[]): number {
  const file = ofd.file;
  if (!file?.poll) return events & (POLL_READ | POLL_WRITE);
  return file.poll(events, waits);
}

/** Whether an epoll can watch it: Linux's file_can_poll (EPERM for regular files and directories). */
export function canPoll(ofd: OpenFileDescription): boolean {
  return ofd.file?.poll !== undefined;
}
