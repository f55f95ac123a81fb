// Where the guest's random bytes come from: getrandom(2), AT_RANDOM and
// /dev/random and /dev/urandom all draw from one Entropy source, the host's
// CSPRNG normally, or a seeded generator for --deterministic runs (the same
// seed gives the same bytes in the same order).
import { hostRandomFill } from '../host/libc.ts';

export interface Entropy {
  fill(buf: Uint8Array): void;
}

export const hostEntropy: Entropy = {
  fill(buf) {
    hostRandomFill(buf);
  },
};

const MASK64 = (1n << 64n) - 1n;

/** splitmix64: spreads one seed over the generator's state (as xoshiro's authors recommend). */
function splitmix64(state: { x: bigint }): bigint {
  state.x = (state.x + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state.x;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

const rotl32 = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * xoshiro128** (Blackman and Vigna), in 32-bit words so it runs on plain
 * numbers: not cryptographic, which is the point: a run is reproducible
 * from its seed. Never used unless asked for.
 */
export class SeededEntropy implements Entropy {
  private readonly s = new Uint32Array(4);

  constructor(seed: bigint | number) {
    const sm = { x: BigInt.asUintN(64, BigInt(seed)) };
    const a = splitmix64(sm);
    const b = splitmix64(sm);
    this.s.set([Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n)]);
  }

  /** The next 32 random bits. */
  next(): number {
    const s = this.s;
    const result = Math.imul(rotl32(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl32(s[3]!, 11);
    return result;
  }

  fill(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; i += 4) {
      let word = this.next();
      for (let j = i; j < Math.min(i + 4, buf.length); j++) {
        buf[j] = word & 0xff;
        word >>>= 8;
      }
    }
  }
}
