// The Jazzer.js fuzz target: libFuzzer's bytes become a sequence of syscalls
// (decodeCalls) run in a fresh fuzz world for each input; a broken invariant
// throws FuzzFailure, which Jazzer reports as a finding and saves as a crash
// file. Run by scripts/fuzz.ts and test/fuzz-jazzer.test.ts over the seed
// corpus in test/fuzz-corpus/syscalls (TSLINUX_FUZZ_ARCH picks the arch).
import { decodeCalls, fuzzableSyscalls, runInFreshWorld } from './syscall-fuzz.ts';

const arch = process.env.TSLINUX_FUZZ_ARCH === 'aarch64' ? 'aarch64' : 'x86_64';
const syscalls = fuzzableSyscalls(arch);

export function fuzz(data: Buffer): void {
  runInFreshWorld(arch, decodeCalls(data, syscalls));
}
