// The exact pc of a memory fault, on both arches. Unicorn stops a faulting
// translated block with the registers as they were just before the faulting
// instruction, but its pc is only what was last written back: the start of
// the block, or an earlier point when the block was reached through chained
// direct jumps and calls (Unicorn skips QEMU's restore of the pc from the
// host code position). Linux reports the instruction itself, and runtimes
// depend on it (Go turns a nil dereference into a panic by "calling"
// sigpanic from that pc).
//
// Instead of decoding instructions (x86's have no fixed length), a probe
// engine walks from that pc one instruction at a time, each run from the
// faulting state and followed where it goes (a direct call or jump leads to
// its target), with the guest's pages mapped read-only and any page a store
// needs replaced by a private copy (so nothing lands in the guest's memory).
// The first instruction that touches the fault address the same way is the
// faulting one. Only faults pay for this; keeping pcs exact during execution
// (a memory hook) was measured to make Go programs 4x slower.
import type { GuestMappings } from '../arch/cpu.ts';
import { CpuEngine, type CpuFault } from './engine.ts';

/** PROT_WRITE, as Linux and Unicorn both define it. */
const PROT_WRITE = 2;

/** How far to walk (the faulting instruction is close: a few blocks at most). */
const MAX_STEPS = 256;

export function exactFaultPc(cpu: CpuEngine, fault: CpuFault, mem: GuestMappings): number | null {
  if (fault.access !== 'read' && fault.access !== 'write') return null;
  const probe = new CpuEngine(cpu.arch, { onSyscall: () => probe.stop() });
  try {
    for (const m of mem.mappings()) if (m.bytes) probe.mapHost(m.start, m.bytes, m.prot & ~PROT_WRITE);
    /** Private copies the probe maps (kept referenced here: Unicorn points into them). */
    const copies: Uint8Array[] = [];
    let pc = fault.pc;
    for (let i = 0; i < MAX_STEPS; i++) {
      cpu.copyCpuStateTo(probe);
      const step = probe.step(pc);
      if (step.fault && touches(step.fault, fault)) return pc;
      const at = step.fault?.addr;
      // A store to a mapped page (a user address: a number).
      if (step.fault?.mapped && step.fault.access === 'write' && typeof at === 'number' && writableCopy(probe, mem, at, copies)) {
        i--; // the same instruction again, now that its store has somewhere to go
        continue;
      }
      if (step.size === null) break;
      // Where the instruction went (a call or jump leads elsewhere); past it when it faulted.
      pc = step.fault ? pc + step.size : probe.pc();
    }
  } finally {
    probe.close();
  }
  return null;
}

/**
 * The probe's access is the guest's: same address and direction. (A store to
 * a mapped page faults in the probe until that page is copied; the address
 * and direction tell it from the guest's fault.)
 */
function touches(probe: { access: string; addr: number | bigint }, fault: CpuFault): boolean {
  return probe.access === fault.access && probe.addr === fault.addr;
}

/** Give the probe a private writable copy of the guest-writable mapping holding `addr`. */
function writableCopy(probe: CpuEngine, mem: GuestMappings, addr: number, copies: Uint8Array[]): boolean {
  const m = mem.mappingAt(addr);
  if (!m?.bytes || !(m.prot & PROT_WRITE)) return false;
  const copy = m.bytes.slice();
  copies.push(copy);
  probe.unmap(m.start, m.end - m.start);
  probe.mapHost(m.start, copy, m.prot);
  return true;
}
