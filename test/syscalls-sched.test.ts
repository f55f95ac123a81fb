// Scheduling, priority, accounting and memory-locking syscalls
// (syscalls/sched.ts) through a headless kernel on both arches.
import { afterEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless, type HeadlessOptions } from './helpers/headless.ts';

const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const SCHED_RR = 2;
const PRIO_PROCESS = 0;
const PRIO_PGRP = 1;
const PRIO_USER = 2;
const PAGE = 4096;

describe.each(ARCH_NAMES)('sched syscalls on %s', (arch) => {
  let t: Headless;
  const make = (opts: HeadlessOptions = {}) => {
    t?.cleanup();
    t = headless(arch, { uid: 1000, gid: 1000, hostDir: false, ...opts });
    return t;
  };
  afterEach(() => t?.cleanup());
  const lacks = (name: string) => headless(arch, { hostDir: false }).k.arch.syscallNumbers[name] === undefined;

  it('sched_yield returns 0', () => {
    make();
    expect(t.call('sched_yield')).toBe(0);
  });

  it('sched_getaffinity reports CPU 0 and the kernel mask size', () => {
    make();
    const m = t.buf(128, 0xff);
    expect(t.call('sched_getaffinity', 0, 128, m)).toBe(8);
    expect(t.u64(m)).toBe(1n);
    expect(t.read(m + 8, 1)[0]).toBe(0xff); // beyond the kernel's mask: untouched
    expect(t.call('sched_getaffinity', t.proc.pid, 8, m)).toBe(8);
    expect(t.call('sched_getaffinity', 0, 4, m)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_getaffinity', 0, 0, m)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_getaffinity', 0, 12, m)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_getaffinity', 99999, 8, m)).toBe(t.errno('ESRCH'));
    expect(t.call('sched_getaffinity', 0, 8, t.unmapped)).toBe(t.errno('EFAULT'));
  });

  it('sched_setaffinity needs CPU 0 in the mask', () => {
    make();
    expect(t.call('sched_setaffinity', 0, 8, t.bytes(new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0])))).toBe(0);
    expect(t.call('sched_setaffinity', 0, 1, t.bytes(new Uint8Array([1])))).toBe(0);
    expect(t.call('sched_setaffinity', 0, 8, t.bytes(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0])))).toBe(t.errno('EINVAL'));
    expect(t.call('sched_setaffinity', 0, 0, t.buf(8))).toBe(t.errno('EINVAL'));
    expect(t.call('sched_setaffinity', 99999, 8, t.bytes(new Uint8Array([1])))).toBe(t.errno('ESRCH'));
    expect(t.call('sched_setaffinity', 0, 8, t.unmapped)).toBe(t.errno('EFAULT'));
  });

  it('scheduler policy and parameters', () => {
    make();
    const p = t.buf(4, 0xff);
    expect(t.call('sched_getscheduler', 0)).toBe(SCHED_OTHER);
    expect(t.call('sched_getparam', 0, p)).toBe(0);
    expect(t.i32(p)).toBe(0);
    expect(t.call('sched_getscheduler', -1)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_getscheduler', 99999)).toBe(t.errno('ESRCH'));
    expect(t.call('sched_getparam', 0, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_getparam', 0, t.unmapped)).toBe(t.errno('EFAULT'));
    const zero = t.buf(4);
    const ten = t.bytes(new Uint8Array([10, 0, 0, 0]));
    expect(t.call('sched_setscheduler', 0, SCHED_OTHER, zero)).toBe(0);
    expect(t.call('sched_setscheduler', 0, SCHED_OTHER, ten)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_setscheduler', 0, SCHED_FIFO, ten)).toBe(t.errno('EPERM'));
    expect(t.call('sched_setscheduler', 0, SCHED_FIFO, zero)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_setscheduler', 0, 42, zero)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_setscheduler', 0, SCHED_OTHER, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_setscheduler', 0, SCHED_OTHER, t.unmapped)).toBe(t.errno('EFAULT'));
    expect(t.call('sched_setscheduler', 99999, SCHED_OTHER, zero)).toBe(t.errno('ESRCH'));
    expect(t.call('sched_setparam', 0, zero)).toBe(0);
    expect(t.call('sched_setparam', 0, ten)).toBe(t.errno('EINVAL'));
  });

  it('root may choose a real-time policy', () => {
    make({ uid: 0, gid: 0 });
    const ten = t.bytes(new Uint8Array([10, 0, 0, 0]));
    expect(t.call('sched_setscheduler', 0, SCHED_RR, ten)).toBe(0);
    expect(t.call('sched_getscheduler', 0)).toBe(SCHED_RR);
    const p = t.buf(4);
    expect(t.call('sched_getparam', 0, p)).toBe(0);
    expect(t.i32(p)).toBe(10);
  });

  it('priority ranges per policy', () => {
    make();
    expect(t.call('sched_get_priority_max', SCHED_OTHER)).toBe(0);
    expect(t.call('sched_get_priority_min', SCHED_OTHER)).toBe(0);
    expect(t.call('sched_get_priority_max', SCHED_FIFO)).toBe(99);
    expect(t.call('sched_get_priority_min', SCHED_RR)).toBe(1);
    expect(t.call('sched_get_priority_max', 42)).toBe(t.errno('EINVAL'));
    expect(t.call('sched_get_priority_min', -1)).toBe(t.errno('EINVAL'));
  });

  it('getpriority returns 20 - nice; setpriority raises nice but may not lower it', () => {
    make();
    expect(t.call('getpriority', PRIO_PROCESS, 0)).toBe(20);
    expect(t.call('setpriority', PRIO_PROCESS, 0, 5)).toBe(0);
    expect(t.call('getpriority', PRIO_PROCESS, 0)).toBe(15);
    expect(t.call('getpriority', PRIO_PROCESS, t.proc.pid)).toBe(15);
    expect(t.call('getpriority', PRIO_PGRP, 0)).toBe(15);
    expect(t.call('getpriority', PRIO_USER, 0)).toBe(15);
    expect(t.call('setpriority', PRIO_PROCESS, 0, 100)).toBe(0); // clamped to 19
    expect(t.call('getpriority', PRIO_PROCESS, 0)).toBe(1);
    expect(t.call('setpriority', PRIO_PROCESS, 0, 0)).toBe(t.errno('EACCES'));
    expect(t.call('getpriority', 7, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('setpriority', 7, 0, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('getpriority', PRIO_PROCESS, 99999)).toBe(t.errno('ESRCH'));
    expect(t.call('setpriority', PRIO_USER, 4242, 0)).toBe(t.errno('ESRCH'));
  });

  // ioprio values: class << 13 | level.
  const IOPRIO_WHO_PROCESS = 1;
  const IOPRIO_WHO_PGRP = 2;
  const IOPRIO_WHO_USER = 3;
  const ioprio = (cls: number, level: number) => (cls << 13) | level;

  it('ioprio_get is 0 (class none) until ioprio_set records a class and level', () => {
    make();
    expect(t.call('ioprio_get', IOPRIO_WHO_PROCESS, 0)).toBe(0);
    expect(t.call('ioprio_set', IOPRIO_WHO_PROCESS, 0, ioprio(2, 3))).toBe(0); // best-effort, level 3
    expect(t.call('ioprio_get', IOPRIO_WHO_PROCESS, t.proc.pid)).toBe(ioprio(2, 3));
    expect(t.call('ioprio_set', IOPRIO_WHO_PGRP, 0, ioprio(3, 0))).toBe(0); // idle
    expect(t.call('ioprio_get', IOPRIO_WHO_USER, 0)).toBe(ioprio(3, 0));
    expect(t.call('ioprio_set', IOPRIO_WHO_PROCESS, 0, ioprio(0, 0))).toBe(0); // back to none
    expect(t.call('ioprio_get', IOPRIO_WHO_PROCESS, 0)).toBe(0);
  });

  it('ioprio_set: EPERM for real-time unless root, EINVAL for a bad class, which or a level on class none; ESRCH for no target', () => {
    make();
    expect(t.call('ioprio_set', IOPRIO_WHO_PROCESS, 0, ioprio(1, 0))).toBe(t.errno('EPERM'));
    expect(t.call('ioprio_set', IOPRIO_WHO_PROCESS, 0, ioprio(4, 0))).toBe(t.errno('EINVAL'));
    expect(t.call('ioprio_set', IOPRIO_WHO_PROCESS, 0, ioprio(0, 2))).toBe(t.errno('EINVAL'));
    expect(t.call('ioprio_set', 0, 0, ioprio(2, 0))).toBe(t.errno('EINVAL'));
    expect(t.call('ioprio_get', 4, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('ioprio_set', IOPRIO_WHO_PROCESS, 99999, ioprio(2, 0))).toBe(t.errno('ESRCH'));
    expect(t.call('ioprio_get', IOPRIO_WHO_USER, 4242)).toBe(t.errno('ESRCH'));
    expect(t.call('ioprio_get', IOPRIO_WHO_PROCESS, 0)).toBe(0); // nothing was recorded
    make({ uid: 0, gid: 0 });
    expect(t.call('ioprio_set', IOPRIO_WHO_PROCESS, 0, ioprio(1, 7))).toBe(0);
    expect(t.call('ioprio_get', IOPRIO_WHO_PROCESS, 0)).toBe(ioprio(1, 7));
  });

  it('root may lower nice', () => {
    make({ uid: 0, gid: 0 });
    expect(t.call('setpriority', PRIO_PROCESS, 0, -20)).toBe(0);
    expect(t.call('getpriority', PRIO_PROCESS, 0)).toBe(40);
  });

  it('getrusage fills struct rusage', () => {
    make();
    const r = t.buf(144, 0xee);
    expect(t.call('getrusage', 0, r)).toBe(0);
    expect(t.u64(r + 8)).toBeLessThan(1_000_000n);
    expect(Number(t.u64(r + 32))).toBe(Math.ceil(t.mem.committed / 1024));
    expect(t.u64(r + 136)).toBe(0n);
    expect(t.call('getrusage', -1, r)).toBe(0);
    expect(t.u64(r + 32)).toBe(0n);
    expect(t.call('getrusage', 1, r)).toBe(0);
    expect(t.call('getrusage', 2, r)).toBe(t.errno('EINVAL'));
    expect(t.call('getrusage', -2, r)).toBe(t.errno('EINVAL'));
    expect(t.call('getrusage', 0, t.unmapped)).toBe(t.errno('EFAULT'));
  });

  it.skipIf(lacks('times'))('times returns ticks and fills struct tms', () => {
    make();
    const b = t.buf(32, 0xee);
    const ticks = t.call('times', b);
    expect(ticks).toBeGreaterThanOrEqual(0);
    expect(t.u64(b + 24)).toBe(0n);
    expect(t.call('times', 0)).toBeGreaterThanOrEqual(ticks);
    expect(t.call('times', t.unmapped)).toBe(t.errno('EFAULT'));
  });

  it('getcpu reports CPU 0, node 0', () => {
    make();
    const cpu = t.buf(4, 0xff);
    const node = t.buf(4, 0xff);
    expect(t.call('getcpu', cpu, node, 0)).toBe(0);
    expect(t.u32(cpu)).toBe(0);
    expect(t.u32(node)).toBe(0);
    expect(t.call('getcpu', 0, 0, 0)).toBe(0);
    expect(t.call('getcpu', t.unmapped, 0, 0)).toBe(t.errno('EFAULT'));
  });

  it('personality queries and sets the persona', () => {
    make();
    expect(t.call('personality', 0xffffffff)).toBe(0);
    expect(t.call('personality', 0x0040000)).toBe(0); // ADDR_NO_RANDOMIZE
    expect(t.call('personality', 0xffffffff)).toBe(0x0040000);
    expect(t.call('personality', 0)).toBe(0x0040000);
    expect(t.call('personality', 0xffffffff)).toBe(0);
  });

  it('membarrier', () => {
    make();
    const mask = t.call('membarrier', 0, 0, 0);
    expect(mask & 8).toBe(8);
    expect(t.call('membarrier', 1, 0, 0)).toBe(0);
    expect(t.call('membarrier', 8, 0, 0)).toBe(t.errno('EPERM'));
    expect(t.call('membarrier', 16, 0, 0)).toBe(0);
    expect(t.call('membarrier', 8, 0, 0)).toBe(0);
    expect(t.call('membarrier', 0, 1, 0)).toBe(t.errno('EINVAL'));
    expect(t.call('membarrier', 1 << 20, 0, 0)).toBe(t.errno('EINVAL'));
  });

  it('mlock family checks the range is mapped', () => {
    make();
    const a = t.buf(PAGE * 2);
    expect(t.call('mlock', a + 10, 100)).toBe(0);
    expect(t.call('munlock', a, PAGE)).toBe(0);
    expect(t.call('mlock', t.unmapped, PAGE)).toBe(t.errno('ENOMEM'));
    expect(t.call('munlock', t.scratchEnd - PAGE, PAGE * 2)).toBe(t.errno('ENOMEM'));
    expect(t.call('mlock', t.unmapped, 0)).toBe(0);
    expect(t.call('mlock2', a, PAGE, 1)).toBe(0);
    expect(t.call('mlock2', a, PAGE, 2)).toBe(t.errno('EINVAL'));
    expect(t.call('mlockall', 1 | 2)).toBe(0);
    expect(t.call('mlockall', 0)).toBe(t.errno('EINVAL'));
    expect(t.call('mlockall', 4)).toBe(t.errno('EINVAL'));
    expect(t.call('mlockall', 8)).toBe(t.errno('EINVAL'));
    expect(t.call('munlockall')).toBe(0);
  });

  it('mincore reports every mapped page resident', () => {
    make();
    const vec = t.buf(4);
    expect(t.call('mincore', t.scratchStart, PAGE * 2 + 1, vec)).toBe(0);
    expect([...t.read(vec, 4)]).toEqual([1, 1, 1, 0]);
    expect(t.call('mincore', t.scratchStart + 1, PAGE, vec)).toBe(t.errno('EINVAL'));
    expect(t.call('mincore', t.unmapped, PAGE, vec)).toBe(t.errno('ENOMEM'));
    expect(t.call('mincore', t.scratchEnd - PAGE, PAGE * 2, vec)).toBe(t.errno('ENOMEM'));
    expect(t.call('mincore', t.scratchStart, PAGE, t.unmapped)).toBe(t.errno('EFAULT'));
  });
});
