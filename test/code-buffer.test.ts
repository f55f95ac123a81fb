// Unicorn 2.1.1 crashes the host process when an engine's translated-code
// buffer fills in the middle of a run (src/cpu/code-buffer.ts). The engine
// watches the buffer and flushes it between runs instead. Here an engine
// runs far more distinct code than its 32 MiB buffer holds (straight-line
// code, each block chained to the next, as in the C reproduction), in runs
// of a few thousand blocks as the kernel's slices and syscalls cut them: the
// count comes out right and the process is still there. Without the watch
// the worker running this file dies of SIGSEGV.
import { describe, expect, it } from 'vitest';
import { keepEngines } from './helpers/engines.ts';
import { CpuEngine, type CpuArch } from '../src/cpu/engine.ts';
import * as UC from '../src/cpu/unicorn-constants.ts';

const CODE = 0x1000000;
const BLOCKS = 300_000;
/** A syscall (the hook stops the run) after every this many blocks. */
const RUN_BLOCKS = 2000;
const ADDS = 8;

/** BLOCKS blocks of ADDS `add 1` and a jump to the next block (or a syscall), then the end. */
function program(arch: CpuArch): { code: Uint8Array; end: number; count: number } {
  const out: number[] = [];
  for (let b = 1; b <= BLOCKS; b++) {
    const last = b % RUN_BLOCKS === 0;
    if (arch === 'x86_64') {
      for (let i = 0; i < ADDS; i++) out.push(0x48, 0x83, 0xc0, 0x01); // add rax, 1
      out.push(...(last ? [0x0f, 0x05] : [0xeb, 0x00])); // syscall | jmp next
    } else {
      const words = [...Array<number>(ADDS).fill(0x91000400), last ? 0xd4000001 : 0x14000001]; // add x0, x0, #1 ...; svc #0 | b next
      for (const w of words) out.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24);
    }
  }
  const size = Math.ceil(out.length / 0x1000 + 1) * 0x1000;
  const code = new Uint8Array(size);
  code.set(out);
  return { code, end: CODE + out.length, count: BLOCKS * ADDS };
}

const engines = keepEngines();

const watched = ((): boolean => {
  const probe = new CpuEngine('x86_64', { onSyscall: () => {} });
  const ok = probe.watchesCode;
  probe.close();
  return ok;
})();
if (!watched) console.log('code-buffer.test: the code buffer is watched on Linux only (src/cpu/code-buffer.ts); skipped');

describe.each(['x86_64', 'aarch64'] as const)('an engine running more code than its translation buffer holds (%s)', (arch) => {
  it.skipIf(!watched)('is flushed between runs and counts every instruction', () => {
    const cpu = engines.engine(arch, (c) => c.stop());
    const { code, end, count } = program(arch);
    engines.map(cpu, CODE, code, 5);
    let pc = CODE;
    for (;;) {
      const r = cpu.runUntil(pc, end);
      expect(r.kind).toBe('stopped');
      pc = cpu.pc();
      if (pc === end) break;
    }
    const raw = new Uint8Array(8);
    cpu.readRaw(arch === 'x86_64' ? UC.UC_X86_REG_RAX : UC.UC_ARM64_REG_X0, raw);
    expect(new BigUint64Array(raw.buffer)[0]).toBe(BigInt(count));
    // The code did not fit: the buffer was flushed at least once on the way.
    expect(cpu.codeFlushes).toBeGreaterThan(0);
  });
});
