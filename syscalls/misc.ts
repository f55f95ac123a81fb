// Randomness (see getrandom(2)).
import { fail } from '../src/kernel/errors.ts';
import { PROT_WRITE } from '../src/kernel/memory.ts';
import { family, type SyscallContext } from './types.ts';

const GRND_NONBLOCK = 1;
const GRND_RANDOM = 2;
const GRND_INSECURE = 4;

function getrandom(ctx: SyscallContext, buf: number, len: number, flags: number): number {
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) fail('EINVAL');
  if ((flags & GRND_RANDOM) && (flags & GRND_INSECURE)) fail('EINVAL');
  // At most 32 MiB - 1 per call (see getrandom(2)); short reads are allowed.
  let n = Math.min(len, 33554431);
  // Like a copy to user space, fill up to the first unwritable byte; only
  // nothing at all writable is EFAULT.
  let cursor = buf;
  while (cursor < buf + n) {
    const m = ctx.mem.accessAt(cursor);
    if (!m || !m.bytes || !(m.prot & PROT_WRITE)) break;
    cursor = m.end;
  }
  n = Math.min(n, cursor - buf);
  if (n === 0 && len > 0) fail('EFAULT');
  const tmp = new Uint8Array(n);
  ctx.kernel.entropy.fill(tmp);
  ctx.mem.write(buf, tmp);
  return n;
}

export const miscFamily = family('misc', [
  {
    name: 'getrandom',
    summary: "Fills a buffer with random bytes from the kernel's generator; GRND_NONBLOCK fails rather than wait for entropy.",
    args: { buf: 'random_bytes_out', buflen: 'size', flags: 'getrandom_flags' },
    handler: getrandom,
  },
]);
