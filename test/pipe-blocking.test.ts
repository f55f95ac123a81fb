// Blocking pipe writes through a headless kernel (pipe(7)): a write too big
// for the pipe waits with what it wrote so far and, made again (as the
// scheduler does when the reader has made room), goes on from there until
// every byte is in; writes of at most PIPE_BUF bytes go in whole. A blocked
// call shows here as -EAGAIN (see Kernel.invoke); the reader is a second
// task, as a blocked call's retry state belongs to its task. End to end, with
// signals interrupting a write and with host pipes: test/e2e-streams.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';
import type { PipeNode } from '../src/kernel/pipe.ts';
import type { Task } from '../src/kernel/task.ts';

const SIGPIPE = 13;

for (const arch of ARCH_NAMES) {
  describe(`blocking pipe writes (${arch})`, () => {
    let t: Headless;
    let reader: Task;
    beforeEach(() => {
      t = headless(arch, { hostDir: false, scratchSize: 8 << 20 });
      reader = t.k.newThread(t.k.currentTask, 0, { sp: 0, tls: null });
    });
    afterEach(() => t.cleanup());

    const pattern = (n: number): number => {
      const addr = t.buf(n);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 9)) & 0xff;
      t.mem.write(addr, b);
      return addr;
    };

    /** The reader task reads up to `size` bytes into `into` at `at`; returns how much came. */
    const drain = (r: number, into: Uint8Array, at: number, size = 65536): number => {
      const out = t.buf(size);
      const n = t.k.invokeAs(reader, 'read', [r, out, size]);
      into.set(t.read(out, n), at);
      return n;
    };

    it('a 1 MiB write waits when the pipe is full and goes on, made again, until all of it is in, in order', () => {
      const [r, w] = t.pipe();
      const src = pattern(1 << 20);
      const got = new Uint8Array(1 << 20);
      let have = 0;
      let result = t.call('write', w, src, 1 << 20);
      let retries = 0;
      while (result === t.errno('EAGAIN')) {
        have += drain(r, got, have);
        result = t.call('write', w, src, 1 << 20);
        retries++;
      }
      expect(result).toBe(1 << 20);
      expect(retries).toBeGreaterThanOrEqual(15);
      while (have < 1 << 20) have += drain(r, got, have);
      expect(Buffer.from(got).equals(Buffer.from(t.read(src, 1 << 20)))).toBe(true);
    });

    it('writev goes on across its iovecs the same way', () => {
      const [r, w] = t.pipe();
      const a = pattern(50000);
      const b = pattern(100000);
      const iov = t.iovec([
        [a, 50000],
        [b, 100000],
      ]);
      const got = new Uint8Array(150000);
      let have = 0;
      let result = t.call('writev', w, iov, 2);
      while (result === t.errno('EAGAIN')) {
        have += drain(r, got, have);
        result = t.call('writev', w, iov, 2);
      }
      expect(result).toBe(150000);
      while (have < 150000) have += drain(r, got, have);
      expect(Buffer.from(got.subarray(0, 50000)).equals(Buffer.from(t.read(a, 50000)))).toBe(true);
      expect(Buffer.from(got.subarray(50000)).equals(Buffer.from(t.read(b, 100000)))).toBe(true);
    });

    it('a blocking write of PIPE_BUF bytes waits for room for all of it; the reader wakes the writer only once that much is free', () => {
      const [r, w] = t.pipe();
      expect(t.call('write', w, pattern(65536 - 100), 65536 - 100)).toBe(65436);
      const writable = (t.proc.fds.get(w).file!.node as PipeNode).pipe.writable;
      const woken = writable.generation;
      const block = pattern(4096);
      expect(t.call('write', w, block, 4096)).toBe(t.errno('EAGAIN'));
      // A byte-at-a-time reader frees room a byte at a time: no wake-up until PIPE_BUF is free.
      const got = new Uint8Array(4096);
      for (let i = 0; i < 3995; i++) expect(drain(r, got, 0, 1)).toBe(1);
      expect(writable.generation).toBe(woken);
      expect(t.call('write', w, block, 4096)).toBe(t.errno('EAGAIN'));
      expect(drain(r, got, 0, 1)).toBe(1);
      expect(writable.generation).toBe(woken + 1);
      expect(t.call('write', w, block, 4096)).toBe(4096);
    });

    it('SIGPIPE once the reader leaves, and the count so far when part of the write went in (pipe_write)', () => {
      const sigs = t.buf(8);
      t.mem.writeU64(sigs, 1n << BigInt(SIGPIPE - 1)); // blocked, to see it pending rather than die of it
      t.call('rt_sigprocmask', t.c.SIG_BLOCK, sigs, 0, 8);
      const [r, w] = t.pipe();
      const src = pattern(100000);
      expect(t.call('write', w, src, 100000)).toBe(t.errno('EAGAIN'));
      expect(t.k.invokeAs(reader, 'close', [r])).toBe(0);
      expect(t.call('write', w, src, 100000)).toBe(65536);
      expect(t.proc.sharedPending.mask & (1n << BigInt(SIGPIPE - 1))).not.toBe(0n);
    });
  });
}
