// Randomness (see getrandom(2)).
import { randomFillSync } from 'node:crypto';
import { fail } from '../src/kernel/errors.ts';
import { PROT_WRITE } from '../src/kernel/memory.ts';
import { family, type SyscallContext } from './types.ts';

const GRND_NONBLOCK = 1;
const GRND_RANDOM = 2;
const GRND_INSECURE = 4;

function getrandom(ctx: SyscallContext, buf: number, len: number, flags: number): number {
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) fail('EINVAL');
  if ((flags & GRND_RANDOM) && (flags & GRND_INSECURE)) fail('EINVAL');
  // Linux returns at most 32 MiB - 1 per call (INT_MAX >> 6 rounded); short reads are allowed.
  const n = Math.min(len, 33554431);
  const view = ctx.mem.view(buf, n, PROT_WRITE);
  if (view) randomFillSync(view);
  else {
    const tmp = new Uint8Array(n);
    randomFillSync(tmp);
    ctx.mem.write(buf, tmp);
  }
  return n;
}

export const miscFamily = family('misc', [
  { name: 'getrandom', args: { buf: 'outbuf', buflen: 'size', flags: 'getrandom_flags' }, handler: getrandom },
]);
