// select and pselect6 (syscalls/select.ts) through a headless kernel, on both
// arches; select itself is x86-64 only.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

describe.each(ARCH_NAMES)('select family on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch, { hostDir: false });
  });
  afterEach(() => t.cleanup());

  /** An fd_set of `words` u64 words with the given fds set. */
  const fdset = (fds: number[], words = 1): number => {
    const a = t.buf(words * 8);
    for (const fd of fds) {
      const w = a + (fd >> 6) * 8;
      t.mem.writeU64(w, t.u64(w) | (1n << BigInt(fd & 63)));
    }
    return a;
  };
  const timespec = (sec: number, nsec: number): number => {
    const a = t.buf(16);
    t.mem.writeU64(a, sec);
    t.mem.writeU64(a + 8, nsec);
    return a;
  };
  const pselect = (n: number, r: number, w: number, e: number, ts: number, sig = 0) => t.call('pselect6', n, r, w, e, ts, sig);

  describe('pselect6', () => {
    it('times out at once with an empty pipe and a zero timeout, clearing the set', () => {
      const [r] = t.pipe();
      const rs = fdset([r]);
      expect(pselect(r + 1, rs, 0, 0, timespec(0, 0))).toBe(0);
      expect(t.u64(rs)).toBe(0n);
    });

    it('reports a pipe readable after a write, and its write end writable', () => {
      const [r, w] = t.pipe();
      expect(t.write(w, 'x')).toBe(1);
      const rs = fdset([r]);
      const ws = fdset([w]);
      expect(pselect(w + 1, rs, ws, 0, timespec(0, 0))).toBe(2);
      expect(t.u64(rs)).toBe(1n << BigInt(r));
      expect(t.u64(ws)).toBe(1n << BigInt(w));
    });

    it('reports a read end readable at EOF once the writer closes', () => {
      const [r, w] = t.pipe();
      t.call('close', w);
      const rs = fdset([r]);
      expect(pselect(r + 1, rs, 0, 0, 0)).toBe(1);
    });

    it('blocks (EAGAIN in a headless call) with no timeout and nothing ready', () => {
      const [r] = t.pipe();
      expect(pselect(r + 1, fdset([r]), 0, 0, 0)).toBe(-11);
    });

    it('leaves except sets empty and counts each ready bit', () => {
      const [r, w] = t.pipe();
      t.write(w, 'x');
      const es = fdset([r, w]);
      const rs = fdset([r, w]);
      expect(pselect(w + 1, rs, 0, es, timespec(0, 0))).toBe(1);
      expect(t.u64(es)).toBe(0n);
      expect(t.u64(rs)).toBe(1n << BigInt(r));
    });

    it('handles fds past the first word', () => {
      const [r, w] = t.pipe();
      const hi = t.call('dup3', r, 70, 0);
      expect(hi).toBe(70);
      t.write(w, 'x');
      const rs = fdset([70], 2);
      expect(pselect(71, rs, 0, 0, timespec(0, 0))).toBe(1);
      expect(t.u64(rs + 8)).toBe(1n << 6n);
    });

    it('gives EBADF for a closed fd in a set, EINVAL for a bad nfds or timeout', () => {
      expect(pselect(10, fdset([9]), 0, 0, timespec(0, 0))).toBe(t.errno('EBADF'));
      expect(pselect(-1, 0, 0, 0, timespec(0, 0))).toBe(t.errno('EINVAL'));
      expect(pselect(t.proc.fds.limit + 1, 0, 0, 0, timespec(0, 0))).toBe(t.errno('EINVAL'));
      const [r] = t.pipe();
      expect(pselect(r + 1, fdset([r]), 0, 0, timespec(0, 1_000_000_000))).toBe(t.errno('EINVAL'));
      expect(pselect(r + 1, fdset([r]), 0, 0, timespec(-1, 0))).toBe(t.errno('EINVAL'));
    });

    it('ignores closed fds above nfds', () => {
      expect(pselect(3, fdset([9]), 0, 0, timespec(0, 0))).toBe(0);
    });

    it('gives EFAULT for unreadable sets and timeouts', () => {
      const [r] = t.pipe();
      expect(pselect(r + 1, t.unmapped, 0, 0, timespec(0, 0))).toBe(t.errno('EFAULT'));
      expect(pselect(r + 1, fdset([r]), 0, 0, t.unmapped)).toBe(t.errno('EFAULT'));
      expect(pselect(r + 1, fdset([r]), 0, 0, timespec(0, 0), t.unmapped)).toBe(t.errno('EFAULT'));
    });

    it('takes a { sigset, size } pair, EINVAL for a wrong size, and restores the mask', () => {
      const [r, w] = t.pipe();
      t.write(w, 'x');
      const mask = t.buf(8);
      t.mem.writeU64(mask, 1n << 9n);
      const pair = t.buf(16);
      t.mem.writeU64(pair, mask);
      t.mem.writeU64(pair + 8, 8);
      const before = t.k.taskOf(t.proc).sigmask;
      expect(pselect(r + 1, fdset([r]), 0, 0, timespec(0, 0), pair)).toBe(1);
      expect(t.k.taskOf(t.proc).sigmask).toBe(before);
      t.mem.writeU64(pair + 8, 4);
      expect(pselect(r + 1, fdset([r]), 0, 0, timespec(0, 0), pair)).toBe(t.errno('EINVAL'));
    });

    it('reports regular files ready for reading and writing', () => {
      const fd = t.call('memfd_create', t.str('f'), 0);
      expect(pselect(fd + 1, fdset([fd]), fdset([fd]), 0, timespec(0, 0))).toBe(2);
    });
  });

  describe('select', () => {
    const has = () => t.k.arch.syscallNumbers.select !== undefined;
    const timeval = (sec: number, usec: number): number => {
      const a = t.buf(16);
      t.mem.writeU64(a, sec);
      t.mem.writeU64(a + 8, usec);
      return a;
    };

    it.skipIf(arch !== 'x86_64')('polls with a zero timeval and writes the time left back', () => {
      expect(has()).toBe(true);
      const [r, w] = t.pipe();
      const rs = fdset([r]);
      const tv = timeval(0, 0);
      expect(t.call('select', r + 1, rs, 0, 0, tv)).toBe(0);
      expect(t.u64(rs)).toBe(0n);
      t.write(w, 'hi');
      const tv2 = timeval(5, 0);
      const rs2 = fdset([r]);
      expect(t.call('select', r + 1, rs2, 0, 0, tv2)).toBe(1);
      expect(t.u64(rs2)).toBe(1n << BigInt(r));
      const left = Number(t.u64(tv2)) * 1e6 + Number(t.u64(tv2 + 8));
      expect(left).toBeGreaterThan(4_000_000);
      expect(left).toBeLessThanOrEqual(5_000_000);
    });

    it.skipIf(arch !== 'x86_64')('errors: EBADF, EINVAL, EFAULT', () => {
      expect(t.call('select', 10, fdset([9]), 0, 0, timeval(0, 0))).toBe(t.errno('EBADF'));
      expect(t.call('select', -1, 0, 0, 0, timeval(0, 0))).toBe(t.errno('EINVAL'));
      expect(t.call('select', 1, 0, 0, 0, timeval(-1, 0))).toBe(t.errno('EINVAL'));
      expect(t.call('select', 64, t.unmapped, 0, 0, timeval(0, 0))).toBe(t.errno('EFAULT'));
    });

    it.skipIf(arch !== 'x86_64')('blocks with a NULL timeout and nothing ready', () => {
      const [r] = t.pipe();
      expect(t.call('select', r + 1, fdset([r]), 0, 0, 0)).toBe(-11);
    });

    it.skipIf(arch === 'x86_64')('is not a syscall on aarch64', () => {
      expect(has()).toBe(false);
    });
  });
});
