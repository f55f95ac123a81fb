// The CPU backend (src/cpu/engine.ts) on its own: tiny hand-assembled
// programs, no kernel. Each program's bytes are in the test with the
// assembly beside them (x86-64 in Intel syntax, as `as -msyntax=intel`
// and `aarch64-linux-gnu-as` encode it).
import { afterEach, describe, expect, it } from 'vitest';
import { ARCHES } from '../src/arch/index.ts';
import { CpuEngine, type CpuArch, type RunResult } from '../src/cpu/engine.ts';
import * as UC from '../src/cpu/unicorn-constants.ts';
import { exactFaultPc } from '../src/cpu/fault-pc.ts';
import { UnicornGuest } from '../src/cpu/guest-engine.ts';
import { AddressSpace } from '../src/kernel/memory.ts';

const CODE = 0x10000;
const DATA = 0x20000;
const PAGE = 0x1000;
const R = 1;
const W = 2;
const X = 4;

/** aarch64 instructions are 32-bit little-endian words. */
function a64(...words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  return out;
}

const x86 = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

/** The Unicorn id of aarch64 register xN. */
const XREG = (n: number): number => (n === 29 ? UC.UC_ARM64_REG_X29 : n === 30 ? UC.UC_ARM64_REG_X30 : UC.UC_ARM64_REG_X0 + n);

interface Machine {
  cpu: CpuEngine;
  /** Map fresh host memory (kept alive by the machine) at `addr`, optionally filled with `content`. */
  map(addr: number, size: number, prot: number, content?: Uint8Array): Uint8Array;
  /** What the syscall hook does; the default just counts. */
  onSyscall: () => void;
  syscalls: number;
}

let machines: Machine[] = [];

function machine(arch: CpuArch): Machine {
  const pages: Uint8Array[] = [];
  const m: Machine = {
    cpu: undefined as unknown as CpuEngine,
    map(addr, size, prot, content) {
      const bytes = new Uint8Array(size);
      if (content) bytes.set(content);
      pages.push(bytes); // Unicorn points into this buffer: keep it referenced
      m.cpu.mapHost(addr, bytes, prot);
      return bytes;
    },
    onSyscall: () => {},
    syscalls: 0,
  };
  m.cpu = new CpuEngine(arch, {
    onSyscall: () => {
      m.syscalls++;
      m.onSyscall();
    },
  });
  machines.push(m);
  return m;
}

afterEach(() => {
  for (const m of machines) m.cpu.close();
  machines = [];
});

function expectFault(r: RunResult): Extract<RunResult, { kind: 'fault' }>['fault'] {
  expect(r.kind).toBe('fault');
  if (r.kind !== 'fault') throw new Error('unreachable');
  return r.fault;
}

/** Set registers by Unicorn id (values as bigints, so anything up to 2^64-1). */
function setRegs(cpu: CpuEngine, regs: Record<number, bigint | number>): void {
  const ids = Object.keys(regs).map(Number);
  const batch = cpu.registers(ids);
  ids.forEach((id, i) => (batch.values[i] = BigInt.asUintN(64, BigInt(regs[id]!))));
  batch.write();
}

function getRegs(cpu: CpuEngine, ids: number[]): bigint[] {
  const batch = cpu.registers(ids);
  batch.read();
  return Array.from(batch.values);
}

const u64 = (bytes: Uint8Array, at: number): bigint => new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true);

// ---------------------------------------------------------------------------------------------------------------
// The programs, one per arch. The base register (rbx / x1) is set from the test.
// ---------------------------------------------------------------------------------------------------------------

const PROGRAMS = {
  x86_64: {
    base: UC.UC_X86_REG_RBX,
    acc: UC.UC_X86_REG_RAX,
    // mov rax, [rbx] ; add rax, 1 ; mov [rbx+8], rax
    increment: x86(0x48, 0x8b, 0x03, 0x48, 0x83, 0xc0, 0x01, 0x48, 0x89, 0x43, 0x08),
    // mov [rbx], rax
    store: x86(0x48, 0x89, 0x03),
    // mov rax, [rbx]
    load: x86(0x48, 0x8b, 0x03),
    // mov eax, 102 (getuid) ; syscall ; mov rbx, rax
    syscall: x86(0xb8, 0x66, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0xc3),
    syscallInsn: { offset: 5, length: 2 },
    // ud2
    invalid: x86(0x0f, 0x0b),
  },
  aarch64: {
    base: XREG(1),
    acc: XREG(0),
    // ldr x0, [x1] ; add x0, x0, #1 ; str x0, [x1, #8]
    increment: a64(0xf9400020, 0x91000400, 0xf9000420),
    // str x0, [x1]
    store: a64(0xf9000020),
    // ldr x0, [x1]
    load: a64(0xf9400020),
    // mov x8, #174 (getuid) ; svc #0 ; mov x1, x0
    syscall: a64(0xd28015c8, 0xd4000001, 0xaa0003e1),
    syscallInsn: { offset: 4, length: 4 },
    // udf #0
    invalid: a64(0x00000000),
  },
} as const;

const ARCH_NAMES: CpuArch[] = ['x86_64', 'aarch64'];

describe.each(ARCH_NAMES)('CPU backend on %s', (arch) => {
  const p = PROGRAMS[arch];

  it('shares mapHost memory both ways with no FFI call', () => {
    const m = machine(arch);
    m.map(CODE, PAGE, R | X, p.increment);
    const data = m.map(DATA, PAGE, R | W);
    // host -> guest: the guest reads what JS wrote into the array
    new DataView(data.buffer).setBigUint64(0, 0x1_2345_6789n, true);
    setRegs(m.cpu, { [p.base]: DATA });
    const r = m.cpu.runUntil(CODE, CODE + p.increment.length);
    expect(r).toEqual({ kind: 'stopped' });
    // guest -> host: its store is in the array
    expect(u64(data, 8)).toBe(0x1_2345_678an);
    expect(getRegs(m.cpu, [p.acc])[0]).toBe(0x1_2345_678an);

    // again, after changing the array: no cached copy anywhere
    data[0] = 0x41;
    m.cpu.runUntil(CODE, CODE + p.increment.length);
    expect(u64(data, 8)).toBe(0x1_2345_6742n);
  });

  it('a write to a read-only page is SIGSEGV SEGV_ACCERR at the written address', () => {
    const m = machine(arch);
    m.map(CODE, PAGE, R | X, p.store);
    const data = m.map(DATA, 2 * PAGE, R | W);
    m.cpu.protect(DATA + PAGE, PAGE, R);
    // The writable page still takes the store.
    setRegs(m.cpu, { [p.base]: DATA + 0x10, [p.acc]: 7 });
    expect(m.cpu.runUntil(CODE, CODE + p.store.length)).toEqual({ kind: 'stopped' });
    expect(data[0x10]).toBe(7);
    // The read-only one does not.
    setRegs(m.cpu, { [p.base]: DATA + PAGE + 0x28, [p.acc]: 9 });
    const f = expectFault(m.cpu.runUntil(CODE, CODE + p.store.length));
    expect(f.signal).toBe('SIGSEGV');
    expect(f.code).toBe(2);
    expect(f.addr).toBe(DATA + PAGE + 0x28);
    expect(f.pc).toBe(CODE);
    expect(data[PAGE + 0x28]).toBe(0);
  });

  it('a read of an unmapped address is SIGSEGV SEGV_MAPERR, also after unmap', () => {
    const m = machine(arch);
    m.map(CODE, PAGE, R | X, p.load);
    const data = m.map(DATA, 2 * PAGE, R | W);
    data[PAGE + 8] = 0x5a;
    setRegs(m.cpu, { [p.base]: DATA + PAGE + 8 });
    expect(m.cpu.runUntil(CODE, CODE + p.load.length)).toEqual({ kind: 'stopped' });
    expect(getRegs(m.cpu, [p.acc])[0]).toBe(0x5an);

    // Never mapped.
    setRegs(m.cpu, { [p.base]: 0x7_0000_0010 });
    let f = expectFault(m.cpu.runUntil(CODE, CODE + p.load.length));
    expect(f).toMatchObject({ signal: 'SIGSEGV', code: 1, addr: 0x7_0000_0010, pc: CODE });

    // Unmapped again (the second page of the mapping).
    m.cpu.unmap(DATA + PAGE, PAGE);
    setRegs(m.cpu, { [p.base]: DATA + PAGE + 8 });
    f = expectFault(m.cpu.runUntil(CODE, CODE + p.load.length));
    expect(f).toMatchObject({ signal: 'SIGSEGV', code: 1, addr: DATA + PAGE + 8 });
  });

  it('the syscall hook fires, and after a stop inside it the pc is past the instruction', () => {
    const m = machine(arch);
    m.map(CODE, PAGE, R | X, p.syscall);
    const nrReg = arch === 'x86_64' ? UC.UC_X86_REG_RAX : XREG(8);
    const seen: bigint[] = [];
    m.onSyscall = () => {
      seen.push(getRegs(m.cpu, [nrReg])[0]!);
      setRegs(m.cpu, { [p.acc]: 0x1_0000_03e8n }); // the "result"
      m.cpu.stop();
    };
    const r = m.cpu.runUntil(CODE, CODE + p.syscall.length);
    expect(r).toEqual({ kind: 'stopped' });
    expect(m.syscalls).toBe(1);
    expect(seen).toEqual([arch === 'x86_64' ? 102n : 174n]); // getuid
    const pc = m.cpu.pc();
    expect(pc).toBe(CODE + p.syscallInsn.offset + p.syscallInsn.length);
    // Resuming there runs the instruction after the syscall once, not the syscall again.
    expect(m.cpu.runUntil(pc, CODE + p.syscall.length)).toEqual({ kind: 'stopped' });
    expect(m.syscalls).toBe(1);
    expect(getRegs(m.cpu, [p.base])[0]).toBe(0x1_0000_03e8n);
  });

  it('a hook that does not stop lets the run continue', () => {
    const m = machine(arch);
    m.map(CODE, PAGE, R | X, p.syscall);
    m.onSyscall = () => setRegs(m.cpu, { [p.acc]: 5 });
    expect(m.cpu.runUntil(CODE, CODE + p.syscall.length)).toEqual({ kind: 'stopped' });
    expect(m.syscalls).toBe(1);
    expect(getRegs(m.cpu, [p.base])[0]).toBe(5n);
    expect(m.cpu.pc()).toBe(CODE + p.syscall.length);
  });

  it('an invalid instruction is SIGILL at its address', () => {
    const m = machine(arch);
    m.map(CODE, PAGE, R | X, p.invalid);
    const f = expectFault(m.cpu.run(CODE));
    expect(f.signal).toBe('SIGILL');
    // ILL_ILLOPN (2) on x86-64 (#UD, arch/x86/kernel/traps.c), ILL_ILLOPC (1) on arm64 (do_undefinstr)
    expect(f.code).toBe(arch === 'x86_64' ? 2 : 1);
    expect(f.pc).toBe(CODE);
    expect(f.addr).toBe(CODE);
  });

  it('executing an unmapped or non-executable page is SIGSEGV at the pc', () => {
    const m = machine(arch);
    m.map(DATA, PAGE, R | W, p.load);
    let f = expectFault(m.cpu.run(0x5_0000_0000));
    expect(f).toMatchObject({ signal: 'SIGSEGV', code: 1, addr: 0x5_0000_0000 });
    f = expectFault(m.cpu.run(DATA));
    expect(f).toMatchObject({ signal: 'SIGSEGV', code: 2, addr: DATA });
  });

  it('RegisterBatch writes and reads back 64-bit values, above 2^32 and 2^53', () => {
    const m = machine(arch);
    const ids =
      arch === 'x86_64'
        ? [UC.UC_X86_REG_RAX, UC.UC_X86_REG_RBX, UC.UC_X86_REG_R10, UC.UC_X86_REG_R15, UC.UC_X86_REG_RSP]
        : [XREG(0), XREG(1), XREG(28), XREG(29), XREG(30), UC.UC_ARM64_REG_SP];
    const w = m.cpu.registers(ids);
    const values = [0x1_0000_0001, 0xdead_beef_0000, 2 ** 53 - 1, 0xffff_ffff, 0x7fff_ffff_e000, 0x1234_5678_9abc];
    ids.forEach((_, i) => w.setNumber(i, values[i]!));
    w.write();
    const r = m.cpu.registers(ids);
    r.read();
    ids.forEach((_, i) => expect(r.number(i)).toBe(values[i]));
    // The BigInt view covers the full 64 bits.
    w.values[0] = 0xfedc_ba98_7654_3210n;
    w.values[1] = 0x8000_0000_0000_0000n;
    w.write();
    r.read();
    expect(r.values[0]).toBe(0xfedc_ba98_7654_3210n);
    expect(r.values[1]).toBe(0x8000_0000_0000_0000n);
    expect(r.words[0]).toBe(0x7654_3210);
    expect(r.words[1]).toBe(0xfedc_ba98);
    // A negative errno as the kernel writes it: high word all ones.
    w.words[0] = -38 >>> 0;
    w.words[1] = 0xffffffff;
    w.write();
    r.read();
    expect(BigInt.asIntN(64, r.values[0]!)).toBe(-38n);
  });

  it('the CPU computes with what RegisterBatch wrote', () => {
    const m = machine(arch);
    // x86-64: add rax, rbx          aarch64: add x0, x0, x1
    const code = arch === 'x86_64' ? x86(0x48, 0x01, 0xd8) : a64(0x8b010000);
    m.map(CODE, PAGE, R | X, code);
    setRegs(m.cpu, { [p.acc]: 0x1_0000_0000n, [p.base]: 0x2_ffff_ffffn });
    expect(m.cpu.runUntil(CODE, CODE + code.length)).toEqual({ kind: 'stopped' });
    expect(getRegs(m.cpu, [p.acc])[0]).toBe(0x3_ffff_ffffn);
  });

  it('pc() is the program counter register', () => {
    const m = machine(arch);
    const pcReg = arch === 'x86_64' ? UC.UC_X86_REG_RIP : UC.UC_ARM64_REG_PC;
    setRegs(m.cpu, { [pcReg]: 0x4_0000_1234n });
    expect(m.cpu.pc()).toBe(0x4_0000_1234);
  });
});

describe('x86-64 faults', () => {
  it('division by zero is SIGFPE FPE_INTDIV at the div', () => {
    const m = machine('x86_64');
    const code = x86(
      0x31, 0xc9, //                   xor ecx, ecx
      0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1
      0x31, 0xd2, //                   xor edx, edx
      0xf7, 0xf1, //                   div ecx
    );
    m.map(CODE, PAGE, R | X, code);
    const f = expectFault(m.cpu.run(CODE));
    expect(f).toMatchObject({ signal: 'SIGFPE', code: 1, pc: CODE + 9, addr: CODE + 9 });
  });

  it('int3 is SIGTRAP with si_code SI_KERNEL, as Linux sends it', () => {
    const m = machine('x86_64');
    m.map(CODE, PAGE, R | X, x86(0x90, 0xcc)); // nop ; int3
    const f = expectFault(m.cpu.run(CODE));
    expect(f).toMatchObject({ signal: 'SIGTRAP', code: 128 });
  });
});

describe('aarch64 faults', () => {
  it('brk is SIGTRAP TRAP_BRKPT at the brk', () => {
    const m = machine('aarch64');
    const code = a64(
      0xd2800020, // mov x0, #1
      0xd4200000, // brk #0
    );
    m.map(CODE, PAGE, R | X, code);
    const f = expectFault(m.cpu.run(CODE));
    expect(f).toMatchObject({ signal: 'SIGTRAP', code: 1, pc: CODE + 4, addr: CODE + 4 });
  });
});

describe('CPU features through the CPU port', () => {
  const guests: UnicornGuest[] = [];
  afterEach(() => {
    while (guests.length) guests.pop()!.close();
  });
  const guest = (arch: CpuArch): UnicornGuest => {
    const g = new UnicornGuest(arch, { onSyscall: () => {}, onUnmapped: () => false });
    guests.push(g);
    return g;
  };

  it('x86-64 AT_HWCAP (CPUID.1:EDX) has FPU (bit 0) and SSE (bit 25), and SSE2 (bit 26)', () => {
    const { hwcap, hwcap2 } = guest('x86_64').hwcaps();
    expect(hwcap & 1).toBe(1);
    expect((hwcap >>> 25) & 1).toBe(1);
    expect((hwcap >>> 26) & 1).toBe(1);
    expect(hwcap2).toBe(0);
  });

  it('aarch64 AT_HWCAP has FP (bit 0) and ASIMD (bit 1)', () => {
    const { hwcap } = guest('aarch64').hwcaps();
    expect(hwcap & 1).toBe(1);
    expect((hwcap >>> 1) & 1).toBe(1);
  });

  it('asking for the hwcaps leaves the address space as it was', () => {
    const g = guest('x86_64');
    g.hwcaps();
    // The scratch page cpuid used is gone again: a fetch there faults.
    const f = expectFault(g.engine.run(0x1000));
    expect(f).toMatchObject({ signal: 'SIGSEGV', code: 1 });
  });
});

describe('exact fault pcs', () => {
  it('x86-64: a fault in the middle of a block is found at its instruction, with the registers left as they were', () => {
    const mem = new AddressSpace(ARCHES.x86_64.layout, null);
    const cpu = new CpuEngine('x86_64', { onSyscall: () => {} });
    try {
      // mov eax, 1; add eax, 2; push rax; pop rcx; mov rdx, [0x10]  (the load faults)
      const code = x86(0xb8, 0x01, 0x00, 0x00, 0x00, 0x83, 0xc0, 0x02, 0x50, 0x59, 0x48, 0x8b, 0x14, 0x25, 0x10, 0x00, 0x00, 0x00);
      const faultAt = CODE + 10;
      const text = mem.map(CODE, PAGE, R | X);
      text.bytes!.set(code);
      cpu.mapHost(CODE, text.bytes!, R | X);
      const stack = mem.map(DATA, PAGE, R | W);
      cpu.mapHost(DATA, stack.bytes!, R | W);
      const sp = cpu.registers([UC.UC_X86_REG_RSP]);
      sp.setNumber(0, DATA + PAGE);
      sp.write();
      const r = cpu.run(CODE);
      expect(r.kind).toBe('fault');
      const fault = (r as Extract<RunResult, { kind: 'fault' }>).fault;
      expect(fault).toMatchObject({ signal: 'SIGSEGV', addr: 0x10, access: 'read' });
      expect(fault.pc).toBe(CODE); // what Unicorn reports: the block's start
      expect(exactFaultPc(cpu, fault, mem)).toBe(faultAt);
      // The probe ran the block again from the same state without changing the guest's.
      const regs = cpu.registers([UC.UC_X86_REG_RAX, UC.UC_X86_REG_RCX]);
      regs.read();
      expect([regs.number(0), regs.number(1)]).toEqual([3, 3]);
      expect(stack.bytes![PAGE - 8]).toBe(3);
    } finally {
      cpu.close();
    }
  });

  it('aarch64: the same, for a load after a few instructions of its block', () => {
    const mem = new AddressSpace(ARCHES.aarch64.layout, null);
    const cpu = new CpuEngine('aarch64', { onSyscall: () => {} });
    try {
      // mov x0, #16; nop; add x1, x0, #0; ldr x2, [x1]  (the load faults)
      const text = mem.map(CODE, PAGE, R | X);
      text.bytes!.set(a64(0xd2800200, 0xd503201f, 0x91000001, 0xf9400022));
      cpu.mapHost(CODE, text.bytes!, R | X);
      const r = cpu.run(CODE);
      expect(r.kind).toBe('fault');
      const fault = (r as Extract<RunResult, { kind: 'fault' }>).fault;
      expect(fault).toMatchObject({ signal: 'SIGSEGV', addr: 0x10, access: 'read' });
      expect(exactFaultPc(cpu, fault, mem)).toBe(CODE + 12);
    } finally {
      cpu.close();
    }
  });
});
