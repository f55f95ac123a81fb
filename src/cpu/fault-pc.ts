// The exact pc of an x86-64 memory fault. Unicorn stops a faulting
// translation block with the registers as they were just before the
// faulting instruction, but the pc at the start of the block; Linux reports
// the instruction itself, and runtimes depend on it (Go turns a nil
// dereference into a panic by "calling" sigpanic from that pc).
//
// x86 instructions have no fixed length, so instead of decoding them a
// probe engine re-runs the block's instructions one at a time from its
// start, each from the faulting state, with the guest's pages mapped
// read-only (so no store lands): the first one that touches the fault
// address the same way is the faulting instruction. Only faults pay for
// this; keeping pcs exact during execution (a memory hook) was measured to
// make Go programs 4x slower.
import type { AddressSpace } from '../kernel/memory.ts';
import { PROT_WRITE } from '../kernel/memory.ts';
import { CpuEngine, type CpuFault } from './engine.ts';

/** How far into the block to look (blocks are short; a fault ends them early). */
const MAX_STEPS = 128;

export function exactX86FaultPc(cpu: CpuEngine, fault: CpuFault, mem: AddressSpace): number {
  if (fault.access !== 'read' && fault.access !== 'write') return fault.pc;
  const probe = new CpuEngine('x86_64', { onSyscall: () => probe.stop() });
  try {
    for (const m of mem.mappings()) if (m.bytes) probe.mapHost(m.start, m.bytes, m.prot & ~PROT_WRITE);
    let pc = fault.pc;
    for (let i = 0; i < MAX_STEPS; i++) {
      cpu.copyCpuStateTo(probe);
      const step = probe.step(pc);
      if (step.fault && touches(step.fault, fault)) return pc;
      if (step.size === null) break;
      pc += step.size;
    }
  } finally {
    probe.close();
  }
  return fault.pc;
}

/**
 * The probe's access is the guest's: same address and direction. A store to
 * a mapped page faults in the probe (pages are read-only there) as a
 * protection fault while the guest's may have been to an unmapped page: the
 * address and direction decide.
 */
function touches(probe: { access: string; addr: number }, fault: CpuFault): boolean {
  return probe.access === fault.access && probe.addr === fault.addr;
}
