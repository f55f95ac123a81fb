// epoll (see epoll(7)): an interest list of (open file description, fd)
// pairs, each with the events it asks for. Instead of Linux's ready list
// filled by wake-up callbacks, a wait scans the list and asks each file's
// readiness (readiness.ts), the one poll and select use, so every pollable
// file works inside an epoll and an epoll works inside poll, select or
// another epoll. Edge-triggered interests (EPOLLET) report only when one of
// the file's waitables has fired since they last reported (Waitable
// .generation), which is when Linux's callback would have queued them again.
import type { OpenFileDescription } from './fdtable.ts';
import { POLLERR, POLLHUP, POLL_READ, readiness } from './readiness.ts';
import { Waitable } from './wait.ts';
import type { Node, OpenFile } from './vfs/types.ts';
import { fail } from './errors.ts';

export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLLWAKEUP = 1 << 29;
export const EPOLLONESHOT = 1 << 30;
export const EPOLLET = 2 ** 31;
/** Interest bits that say how to report, not what. */
const EPOLL_MODE_BITS = EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET;
/** epoll instances may nest at most this many deep below the outermost (EPOLL_MAX_NESTS). */
const EPOLL_MAX_NESTS = 4;

interface Interest {
  readonly ofd: OpenFileDescription;
  readonly fd: number;
  /** What it asks for (EPOLLERR and EPOLLHUP always), with the mode bits. */
  events: number;
  data: bigint;
  /** EPOLLONESHOT fired: silent until EPOLL_CTL_MOD arms it again. */
  disarmed: boolean;
  /** EPOLLET: the generations of the file's waitables when it last reported; null: report when next ready. */
  seen: Map<Waitable, number> | null;
}

/** An event epoll_wait may report, and what consuming it changes. */
export interface ReadyEvent {
  readonly events: number;
  readonly data: bigint;
  readonly interest: Interest;
  readonly waits: Waitable[];
}

function isEdgeTriggered(i: Interest): boolean {
  return (i.events & EPOLLET) !== 0;
}

/** Whether any of the waitables fired since `seen` was taken. */
function firedSince(seen: Map<Waitable, number>, waits: readonly Waitable[]): boolean {
  return waits.some((w) => seen.get(w) !== w.generation);
}

export class EpollInstance implements OpenFile {
  readonly seekable = false;
  private interests: Interest[] = [];
  /** Interests were added or changed: waiters scan again. */
  readonly changed = new Waitable();
  /** Epoll instances that have watched this one (for the nesting limit); checked for liveness when used. */
  private readonly watchers = new Set<EpollInstance>();

  constructor(readonly node: Node) {}

  private find(ofd: OpenFileDescription, fd: number): Interest | undefined {
    return this.interests.find((i) => i.ofd === ofd && i.fd === fd && i.ofd.isOpen);
  }

  /** Descriptions that no fd holds any more leave the list (epoll(7), Q6). */
  private prune(): void {
    if (this.interests.some((i) => !i.ofd.isOpen)) this.interests = this.interests.filter((i) => i.ofd.isOpen);
  }

  /** EPOLL_CTL_ADD: EEXIST if the pair is already there, ELOOP if it would nest epolls in a circle or too deep. */
  add(ofd: OpenFileDescription, fd: number, events: number, data: bigint): void {
    if (this.find(ofd, fd)) fail('EEXIST');
    const inner = ofd.file;
    if (inner instanceof EpollInstance) {
      if (inner.reaches(this) || inner.depthBelow() + 1 + this.depthAbove() > EPOLL_MAX_NESTS) fail('ELOOP');
      inner.watchers.add(this);
    }
    this.prune();
    this.interests.push({ ofd, fd, events: (events | POLLERR | POLLHUP) >>> 0, data, disarmed: false, seen: null });
    this.changed.notify();
  }

  /** EPOLL_CTL_MOD: ENOENT if absent; EINVAL if it was added with EPOLLEXCLUSIVE. Re-arms a one-shot interest. */
  modify(ofd: OpenFileDescription, fd: number, events: number, data: bigint): void {
    const i = this.find(ofd, fd);
    if (!i) fail('ENOENT');
    if (i.events & EPOLLEXCLUSIVE) fail('EINVAL');
    i.events = (events | POLLERR | POLLHUP) >>> 0;
    i.data = data;
    i.disarmed = false;
    i.seen = null;
    this.changed.notify();
  }

  /** EPOLL_CTL_DEL: ENOENT if absent. */
  remove(ofd: OpenFileDescription, fd: number): void {
    const i = this.find(ofd, fd);
    if (!i) fail('ENOENT');
    this.interests = this.interests.filter((x) => x !== i);
  }

  /** Whether `target` is this instance or is watched, directly or through other epolls, by it. */
  private reaches(target: EpollInstance): boolean {
    if (target === this) return true;
    return this.innerEpolls().some((e) => e.reaches(target));
  }

  private innerEpolls(): EpollInstance[] {
    const out: EpollInstance[] = [];
    for (const i of this.interests) if (i.ofd.isOpen && i.ofd.file instanceof EpollInstance) out.push(i.ofd.file);
    return out;
  }

  /** How many epolls deep the chain below this one goes (0: it watches none). */
  private depthBelow(): number {
    return Math.max(0, ...this.innerEpolls().map((e) => 1 + e.depthBelow()));
  }

  /** How many epolls deep the chain above this one goes (0: nobody watches it). */
  private depthAbove(): number {
    let depth = 0;
    for (const w of this.watchers) {
      if (w.innerEpolls().includes(this)) depth = Math.max(depth, 1 + w.depthAbove());
      else this.watchers.delete(w);
    }
    return depth;
  }

  /**
   * The events a wait would report now, at most `max`, in list order,
   * without consuming them (see consume). Pushes onto `waits` what to wait
   * on when none is ready.
   */
  ready(max: number, waits: Waitable[]): ReadyEvent[] {
    this.prune();
    const out: ReadyEvent[] = [];
    for (const interest of this.interests) {
      if (out.length >= max) break;
      if (interest.disarmed) continue;
      const asked = interest.events & ~EPOLL_MODE_BITS;
      const own: Waitable[] = [];
      const events = readiness(interest.ofd, asked, own) & asked;
      waits.push(...own);
      if (!events) continue;
      if (isEdgeTriggered(interest) && interest.seen && !firedSince(interest.seen, own)) continue;
      out.push({ events, data: interest.data, interest, waits: own });
    }
    return out;
  }

  /**
   * The events were delivered: one-shot interests go quiet, edge-triggered
   * ones remember what they saw, and the reported interests move to the end
   * of the list so that a small maxevents still reaches the others in turn.
   */
  consume(events: readonly ReadyEvent[]): void {
    const reported = new Set<Interest>();
    for (const { interest, waits } of events) {
      if (interest.events & EPOLLONESHOT) interest.disarmed = true;
      if (isEdgeTriggered(interest)) interest.seen = new Map(waits.map((w) => [w, w.generation]));
      reported.add(interest);
    }
    this.interests = [...this.interests.filter((i) => !reported.has(i)), ...reported];
  }

  /** An epoll is readable when a wait on it would report something (ep_eventpoll_poll). */
  poll(events: number, waits: Waitable[]): number {
    waits.push(this.changed);
    return this.ready(Infinity, waits).length > 0 ? events & POLL_READ : 0;
  }

  read(): number {
    fail('EINVAL'); // epoll has no read or write operation
  }

  write(): number {
    fail('EINVAL');
  }

  size(): number {
    return 0;
  }

  close(): void {}
}
