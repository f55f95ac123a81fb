// struct stat layouts. x86-64 has its own (arch/x86/include/uapi/asm/stat.h);
// aarch64 uses the generic one (include/uapi/asm-generic/stat.h), where
// st_mode and st_nlink swap places and the sizes differ.
import type { StatInfo } from '../kernel/vfs/types.ts';

const NS = 1_000_000_000n;

function putTimes(v: DataView, at: number, st: StatInfo): void {
  for (const [i, t] of [st.atimeNs, st.mtimeNs, st.ctimeNs].entries()) {
    v.setBigInt64(at + 16 * i, t / NS, true);
    v.setBigUint64(at + 16 * i + 8, t % NS, true);
  }
}

export const X86_64_STAT_SIZE = 144;
export function encodeStatX86_64(st: StatInfo): Uint8Array {
  const b = new Uint8Array(X86_64_STAT_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(st.dev), true);
  v.setBigUint64(8, BigInt(st.ino), true);
  v.setBigUint64(16, BigInt(st.nlink), true);
  v.setUint32(24, st.mode, true);
  v.setUint32(28, st.uid, true);
  v.setUint32(32, st.gid, true);
  v.setBigUint64(40, BigInt(st.rdev), true);
  v.setBigInt64(48, BigInt(st.size), true);
  v.setBigInt64(56, BigInt(st.blksize), true);
  v.setBigInt64(64, BigInt(st.blocks), true);
  putTimes(v, 72, st);
  return b;
}

export const GENERIC_STAT_SIZE = 128;
export function encodeStatGeneric(st: StatInfo): Uint8Array {
  const b = new Uint8Array(GENERIC_STAT_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(st.dev), true);
  v.setBigUint64(8, BigInt(st.ino), true);
  v.setUint32(16, st.mode, true);
  v.setUint32(20, st.nlink, true);
  v.setUint32(24, st.uid, true);
  v.setUint32(28, st.gid, true);
  v.setBigUint64(32, BigInt(st.rdev), true);
  v.setBigInt64(48, BigInt(st.size), true);
  v.setInt32(56, st.blksize, true);
  v.setBigInt64(64, BigInt(st.blocks), true);
  putTimes(v, 72, st);
  return b;
}

/** Linux encodes dev_t for userspace as major:minor in the "huge" format (see new_encode_dev). */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}
