// futex(2) handlers on a headless kernel: threads are made with
// kernel.newThread and call through invokeAs, and a blocked call is retried
// by calling it again, as the scheduler would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';
import type { Task } from '../src/kernel/task.ts';

const WAIT = 0;
const WAKE = 1;
const FD = 2;
const REQUEUE = 3;
const CMP_REQUEUE = 4;
const WAKE_OP = 5;
const LOCK_PI = 6;
const WAIT_BITSET = 9;
const WAKE_BITSET = 10;
const PRIVATE = 128;
const CLOCK_REALTIME = 256;
const EAGAIN_BLOCKED = -11; // what invoke reports for a call that would block

/** FUTEX_OP(op, oparg, cmp, cmparg) from linux/futex.h. */
const futexOp = (op: number, oparg: number, cmp: number, cmparg: number): number =>
  (((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)) >>> 0;

for (const arch of ARCH_NAMES) {
  describe(`futex (${arch})`, () => {
    let t: Headless;
    let word: number;
    let word2: number;
    beforeEach(() => {
      t = headless(arch, { hostDir: false });
      word = t.buf(8);
      word2 = word + 4;
    });
    afterEach(() => t.cleanup());

    const thread = (): Task => t.k.newThread(t.k.currentTask, 0, { sp: 0, tls: null });
    const futexAs = (task: Task, ...args: number[]) => t.k.invokeAs(task, 'futex', args);
    const timespec = (sec: number, nsec: number): number => {
      const p = t.buf(16);
      t.mem.writeU64(p, sec);
      t.mem.writeU64(p + 8, nsec);
      return p;
    };

    it('WAIT returns EAGAIN at once when the word does not hold the value', () => {
      t.mem.writeU32(word, 5);
      expect(t.call('futex', word, WAIT | PRIVATE, 4, 0, 0, 0)).toBe(t.errno('EAGAIN'));
      expect(t.k.futexes.waiters(t.mem, word)).toBe(0);
    });

    it('WAIT blocks while the value matches; WAKE wakes it and the retried call returns 0', () => {
      const waiter = thread();
      t.mem.writeU32(word, 1);
      expect(futexAs(waiter, word, WAIT | PRIVATE, 1, 0, 0, 0)).toBe(EAGAIN_BLOCKED);
      expect(t.k.futexes.waiters(t.mem, word)).toBe(1);
      expect(t.call('futex', word, WAKE | PRIVATE, 1, 0, 0, 0)).toBe(1);
      expect(futexAs(waiter, word, WAIT | PRIVATE, 1, 0, 0, 0)).toBe(0);
      expect(t.call('futex', word, WAKE, 1, 0, 0, 0)).toBe(0);
    });

    it('WAKE wakes at most n waiters, first come first served', () => {
      const [a, b, c] = [thread(), thread(), thread()];
      for (const w of [a, b, c]) expect(futexAs(w, word, WAIT, 0, 0, 0, 0)).toBe(EAGAIN_BLOCKED);
      expect(t.call('futex', word, WAKE, 2, 0, 0, 0)).toBe(2);
      expect(futexAs(a, word, WAIT, 0, 0, 0, 0)).toBe(0);
      expect(futexAs(b, word, WAIT, 0, 0, 0, 0)).toBe(0);
      expect(futexAs(c, word, WAIT, 0, 0, 0, 0)).toBe(EAGAIN_BLOCKED); // still waiting
      expect(t.call('futex', word, WAKE, -1, 0, 0, 0)).toBe(1); // negative: all
    });

    it('a relative timeout that has already passed is ETIMEDOUT; EINVAL for a bad timespec', () => {
      expect(t.call('futex', word, WAIT, 0, timespec(0, 0), 0, 0)).toBe(t.errno('ETIMEDOUT'));
      expect(t.call('futex', word, WAIT, 0, timespec(0, 1_000_000_000), 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('futex', word, WAIT, 0, timespec(-1, 0), 0, 0)).toBe(t.errno('EINVAL'));
    });

    it('WAIT_BITSET takes an absolute deadline, on CLOCK_REALTIME with that flag', () => {
      // CLOCK_MONOTONIC counts from the kernel's boot: 1 ns is past, an hour is ahead.
      expect(t.call('futex', word, WAIT_BITSET, 0, timespec(0, 1), 0, 0xffffffff)).toBe(t.errno('ETIMEDOUT'));
      expect(futexAs(thread(), word, WAIT_BITSET, 0, timespec(3600, 0), 0, 0xffffffff)).toBe(EAGAIN_BLOCKED);
      // Year 1970 on CLOCK_REALTIME: past.
      expect(t.call('futex', word, WAIT_BITSET | CLOCK_REALTIME, 0, timespec(1, 0), 0, 0xffffffff)).toBe(t.errno('ETIMEDOUT'));
    });

    it('WAKE_BITSET wakes only waiters whose bitset meets it; bitset 0 is EINVAL', () => {
      const [a, b] = [thread(), thread()];
      expect(futexAs(a, word, WAIT_BITSET, 0, 0, 0, 0b01)).toBe(EAGAIN_BLOCKED);
      expect(futexAs(b, word, WAIT_BITSET, 0, 0, 0, 0b10)).toBe(EAGAIN_BLOCKED);
      expect(t.call('futex', word, WAKE_BITSET, 5, 0, 0, 0b10)).toBe(1);
      expect(futexAs(b, word, WAIT_BITSET, 0, 0, 0, 0b10)).toBe(0);
      expect(futexAs(a, word, WAIT_BITSET, 0, 0, 0, 0b01)).toBe(EAGAIN_BLOCKED);
      expect(t.call('futex', word, WAIT_BITSET, 0, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('futex', word, WAKE_BITSET, 1, 0, 0, 0)).toBe(t.errno('EINVAL'));
    });

    it('REQUEUE wakes some and moves the rest to the second word', () => {
      const ws = [thread(), thread(), thread()];
      for (const w of ws) expect(futexAs(w, word, WAIT, 0, 0, 0, 0)).toBe(EAGAIN_BLOCKED);
      expect(t.call('futex', word, REQUEUE, 1, 5, word2, 0)).toBe(3);
      expect(t.k.futexes.waiters(t.mem, word)).toBe(0);
      expect(t.k.futexes.waiters(t.mem, word2)).toBe(2);
      expect(t.call('futex', word2, WAKE, 10, 0, 0, 0)).toBe(2);
      for (const w of ws) expect(futexAs(w, word, WAIT, 0, 0, 0, 0)).toBe(0);
    });

    it('CMP_REQUEUE checks the word first (EAGAIN) and rejects negative counts (EINVAL)', () => {
      t.mem.writeU32(word, 7);
      expect(t.call('futex', word, CMP_REQUEUE, 1, 1, word2, 8)).toBe(t.errno('EAGAIN'));
      expect(t.call('futex', word, CMP_REQUEUE, 1, 1, word2, 7)).toBe(0);
      expect(t.call('futex', word, CMP_REQUEUE, -1, 1, word2, 7)).toBe(t.errno('EINVAL'));
    });

    it('WAKE_OP changes the second word and wakes its waiters when the comparison holds', () => {
      const [a, b] = [thread(), thread()];
      t.mem.writeU32(word2, 3);
      expect(futexAs(a, word, WAIT, 0, 0, 0, 0)).toBe(EAGAIN_BLOCKED);
      expect(futexAs(b, word2, WAIT, 3, 0, 0, 0)).toBe(EAGAIN_BLOCKED);
      // *word2 += 4; wake 1 on word; wake 1 on word2 if old > 2 (FUTEX_OP_ADD=1, CMP_GT=4).
      expect(t.call('futex', word, WAKE_OP, 1, 1, word2, futexOp(1, 4, 4, 2))).toBe(2);
      expect(t.mem.readU32(word2)).toBe(7);
      // OPARG_SHIFT (8): *word2 = 1 << 5 (SET=0); old 7 == 0 fails (CMP_EQ=0).
      expect(t.call('futex', word, WAKE_OP, 1, 1, word2, futexOp(8, 5, 0, 0))).toBe(0);
      expect(t.mem.readU32(word2)).toBe(32);
      expect(t.call('futex', word, WAKE_OP, 1, 1, word2, futexOp(8, 40, 0, 0))).toBe(t.errno('EINVAL'));
    });

    it('EINVAL for a misaligned word; EFAULT for an unmapped one', () => {
      expect(t.call('futex', word + 1, WAIT, 0, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('futex', word + 2, WAKE, 1, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('futex', 0x10, WAIT, 0, 0, 0, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('futex', word, WAKE_OP, 1, 1, 0x10, 0)).toBe(t.errno('EFAULT'));
    });

    it('ENOSYS for the priority-inheritance operations and CLOCK_REALTIME on a wake; EINVAL for FUTEX_FD', () => {
      expect(t.call('futex', word, LOCK_PI, 0, 0, 0, 0)).toBe(t.errno('ENOSYS'));
      expect(t.call('futex', word, WAKE | CLOCK_REALTIME, 1, 0, 0, 0)).toBe(t.errno('ENOSYS'));
      expect(t.call('futex', word, FD, 0, 0, 0, 0)).toBe(t.errno('EINVAL'));
    });

    it('a thread that exits zeroes its clear_child_tid word and wakes a joiner', () => {
      const child = thread();
      const joiner = thread();
      const tidWord = t.buf(4);
      t.mem.writeU32(tidWord, child.tid);
      child.clearChildTid = tidWord;
      expect(futexAs(joiner, tidWord, WAIT, child.tid, 0, 0, 0)).toBe(EAGAIN_BLOCKED);
      t.k.exitThread(child, 0);
      expect(child.state).toBe('dead');
      expect(t.mem.readU32(tidWord)).toBe(0);
      expect(futexAs(joiner, tidWord, WAIT, child.tid, 0, 0, 0)).toBe(0);
      expect(t.proc.exited).toBe(false);
    });

    it('robust futexes held by an exiting thread get FUTEX_OWNER_DIED and a waiter is woken', () => {
      const owner = thread();
      const waiter = thread();
      // struct robust_list_head { next, futex_offset, list_op_pending } with one entry whose word is at entry + 16.
      const head = t.buf(24);
      const entry = t.buf(32);
      t.mem.writeU64(head, entry);
      t.mem.writeU64(head + 8, 16);
      t.mem.writeU64(head + 16, 0);
      t.mem.writeU64(entry, head); // the list is circular through the head
      const lock = entry + 16;
      const FUTEX_WAITERS = 0x8000_0000;
      t.mem.writeU32(lock, (owner.tid | FUTEX_WAITERS) >>> 0);
      expect(t.k.invokeAs(owner, 'set_robust_list', [head, 24])).toBe(0);
      expect(futexAs(waiter, lock, WAIT, (owner.tid | FUTEX_WAITERS) >>> 0, 0, 0, 0)).toBe(EAGAIN_BLOCKED);
      t.k.exitThread(owner, 0);
      expect(t.mem.readU32(lock) >>> 0).toBe((FUTEX_WAITERS | 0x4000_0000) >>> 0);
      expect(futexAs(waiter, lock, WAIT, 0, 0, 0, 0)).toBe(0);
    });

    it('the last thread to exit ends the process', () => {
      const other = thread();
      t.k.exitThread(t.k.currentTask, 3);
      expect(t.proc.exited).toBe(false);
      t.k.exitThread(other, 4);
      expect(t.proc.exitStatus).toBe(4 << 8);
    });
  });
}
