// Futex wait queues (see futex(2) and futex(7)). A waiter is queued under
// its address space and the futex word's address; wakers take waiters off
// the queue in FIFO order and make their tasks runnable. A waiting task's
// futex call is retried when it runs again (src/kernel/wait.ts), and finds
// out from its waiter whether it was woken.
//
// Keys: private and shared futexes are both keyed by address space and
// address. Threads share their process's address space, so that is exact for
// them; tslinux copies memory at fork (no MAP_SHARED pages between
// processes), so no futex word can be shared between processes anyway.
import type { AddressSpace } from './memory.ts';
import type { Task } from './task.ts';
import { Waitable } from './wait.ts';

/** FUTEX_BITSET_MATCH_ANY: what FUTEX_WAIT and FUTEX_WAKE use. */
export const BITSET_ANY = 0xffff_ffff;

export class FutexWaiter {
  /** Set by a waker: the wait is over and returns 0. */
  woken = false;
  /** Still on its queue. A waiter dropped while its task ran a signal handler waits again from the start. */
  queued = true;
  readonly wake = new Waitable();

  constructor(
    readonly task: Task,
    public mem: AddressSpace,
    public addr: number,
    readonly bitset: number,
  ) {}

  /** The task is still in this wait (not interrupted, not dead): only then does a wake count. */
  get waiting(): boolean {
    return this.task.state !== 'dead' && this.task.syscallState !== undefined && (this.task.syscallState as { waiter?: unknown }).waiter === this;
  }
}

export class FutexTable {
  private readonly queues = new WeakMap<AddressSpace, Map<number, FutexWaiter[]>>();

  /** Queue `task` on the futex word at `addr`. */
  enqueue(task: Task, mem: AddressSpace, addr: number, bitset: number): FutexWaiter {
    const waiter = new FutexWaiter(task, mem, addr, bitset);
    this.queueOf(mem, addr, true)!.push(waiter);
    return waiter;
  }

  /** Take a waiter off its queue without waking it (a timeout). */
  remove(waiter: FutexWaiter): void {
    if (!waiter.queued) return;
    waiter.queued = false;
    const q = this.queueOf(waiter.mem, waiter.addr, false);
    if (!q) return;
    const i = q.indexOf(waiter);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.queues.get(waiter.mem)?.delete(waiter.addr);
  }

  /** Wake up to `n` waiters on `addr` whose bitset meets `bitset`; returns how many. */
  wake(mem: AddressSpace, addr: number, n: number, bitset = BITSET_ANY): number {
    let woken = 0;
    for (const w of this.liveWaiters(mem, addr)) {
      if (woken >= n) break;
      if ((w.bitset & bitset) === 0) continue;
      this.remove(w);
      w.woken = true;
      w.wake.notify();
      woken++;
    }
    return woken;
  }

  /**
   * FUTEX_REQUEUE: wake up to `nWake` waiters on `addr`, move up to
   * `nMove` of the rest to `addr2`. Returns woken + moved (as CMP_REQUEUE does).
   */
  requeue(mem: AddressSpace, addr: number, nWake: number, addr2: number, nMove: number): number {
    const woken = this.wake(mem, addr, nWake);
    let moved = 0;
    for (const w of this.liveWaiters(mem, addr)) {
      if (moved >= nMove) break;
      this.remove(w);
      w.addr = addr2;
      w.queued = true;
      this.queueOf(mem, addr2, true)!.push(w);
      moved++;
    }
    return woken + moved;
  }

  /** How many tasks wait on `addr` (for tests and /proc). */
  waiters(mem: AddressSpace, addr: number): number {
    return this.liveWaiters(mem, addr).length;
  }

  /** The queue's waiters still in their wait; stale ones (interrupted, dead) are dropped on the way. */
  private liveWaiters(mem: AddressSpace, addr: number): FutexWaiter[] {
    const q = this.queueOf(mem, addr, false);
    if (!q) return [];
    for (const w of [...q]) if (!w.waiting) this.remove(w);
    return [...(this.queueOf(mem, addr, false) ?? [])];
  }

  private queueOf(mem: AddressSpace, addr: number, create: boolean): FutexWaiter[] | undefined {
    let byAddr = this.queues.get(mem);
    if (!byAddr) {
      if (!create) return undefined;
      byAddr = new Map();
      this.queues.set(mem, byAddr);
    }
    let q = byAddr.get(addr);
    if (!q && create) {
      q = [];
      byAddr.set(addr, q);
    }
    return q;
  }

  /**
   * A thread is gone: its robust futexes are marked FUTEX_OWNER_DIED and a
   * waiter woken for each (see set_robust_list(2), futex(7)), then its
   * clear_child_tid word is zeroed and one waiter woken (pthread_join).
   */
  threadExited(task: Task): void {
    const mem = task.process.mem;
    releaseRobustList(this, task, mem);
    const at = task.clearChildTid;
    if (!at) return;
    task.clearChildTid = 0;
    try {
      mem.writeU32(at, 0);
    } catch {
      return; // unmapped: Linux ignores the fault too
    }
    this.wake(mem, at, 1);
  }
}

const FUTEX_WAITERS = 0x8000_0000;
const FUTEX_OWNER_DIED = 0x4000_0000;
const FUTEX_TID_MASK = 0x3fff_ffff;
/** ROBUST_LIST_LIMIT: how many entries the kernel walks before giving up (a cycle). */
const ROBUST_LIST_LIMIT = 2048;

/** struct robust_list_head { list.next, futex_offset, list_op_pending } (24 bytes on 64-bit). */
function releaseRobustList(table: FutexTable, task: Task, mem: AddressSpace): void {
  const head = task.robustList.head;
  if (!head) return;
  task.robustList = { head: 0, len: 0 };
  try {
    const offset = mem.readI64(head + 8);
    const pending = mem.readU64(head + 16);
    let entry = mem.readU64(head);
    for (let i = 0; entry !== head && entry !== 0 && i < ROBUST_LIST_LIMIT; i++) {
      const next = mem.readU64(entry & ~1);
      // The entry being locked or unlocked right now is handled after the list.
      if (entry !== pending) releaseRobustFutex(table, task, mem, (entry & ~1) + offset);
      entry = next;
    }
    if (pending) releaseRobustFutex(table, task, mem, (pending & ~1) + offset);
  } catch {
    // A bad list pointer: the walk stops, as Linux's does.
  }
}

function releaseRobustFutex(table: FutexTable, task: Task, mem: AddressSpace, addr: number): void {
  const word = mem.readU32(addr);
  if ((word & FUTEX_TID_MASK) !== task.tid) return;
  mem.writeU32(addr, ((word & FUTEX_WAITERS) | FUTEX_OWNER_DIED) >>> 0);
  if (word & FUTEX_WAITERS) table.wake(mem, addr, 1);
}
