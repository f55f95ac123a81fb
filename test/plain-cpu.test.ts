// The handlers that reach registers, over the headless kernel's plain
// in-memory CPU (src/arch/plain-cpu.ts): the same code paths as over
// Unicorn, through the CPU port (src/arch/cpu.ts), with no engine.
import { afterEach, describe, expect, it } from 'vitest';
import { PlainCpu } from '../src/arch/plain-cpu.ts';
import { REGISTERS } from '../src/arch/cpu.ts';
import { SA_RESTORER, SA_SIGINFO, pushSignalFrame } from '../src/arch/sigframe.ts';
import { Headless } from './helpers/headless.ts';

const ARCHES = ['x86_64', 'aarch64'] as const;
const STACK_TOP = 0x4000_0000;

let h: Headless | null = null;
afterEach(() => {
  h?.cleanup();
  h = null;
});

/** A headless world with a stack mapped below STACK_TOP. */
function world(arch: (typeof ARCHES)[number]): Headless {
  h = new Headless(arch);
  h.mem.map(STACK_TOP - 0x10000, 0x10000, 3, { name: '[stack]' });
  return h;
}

describe.each(ARCHES)('the plain CPU under a headless kernel (%s)', (arch) => {
  const abi = REGISTERS[arch];

  it('fork gives the child a copy of the registers, returning 0 in it', () => {
    const t = world(arch);
    const cpu = t.proc.cpu;
    cpu.setRegister(abi.frameGregs[3]!, 0x1234_5678);
    cpu.setSp(STACK_TOP - 64);
    const pid = arch === 'x86_64' ? t.call('fork') : t.call('clone', 17 /* SIGCHLD */, 0, 0, 0, 0);
    expect(pid).toBeGreaterThan(t.proc.pid);
    const child = t.k.processes.get(pid)!;
    expect(child.cpu).not.toBe(cpu);
    expect(child.cpu.returnValue()).toBe(0);
    expect(child.cpu.register(abi.frameGregs[3]!)).toBe(0x1234_5678);
    expect(child.cpu.sp()).toBe(STACK_TOP - 64);
  });

  it('clone with a stack and CLONE_SETTLS sets them in the child', () => {
    const t = world(arch);
    const SETTLS = 0x80000;
    // aarch64's clone takes tls before child_tid (CONFIG_CLONE_BACKWARDS); the declaration orders them.
    const pid = arch === 'x86_64' ? t.call('clone', SETTLS | 17, STACK_TOP - 256, 0, 0, 0x7000_1000) : t.call('clone', SETTLS | 17, STACK_TOP - 256, 0, 0x7000_1000, 0);
    expect(pid).toBeGreaterThan(0);
    const child = t.k.processes.get(pid)!;
    expect(child.cpu.sp()).toBe(STACK_TOP - 256);
    expect(child.cpu.register(abi.tls)).toBe(0x7000_1000);
  });

  it('rt_sigreturn restores the registers and the mask a signal frame saved', () => {
    const t = world(arch);
    const cpu = t.proc.cpu;
    cpu.writeFrameGregs(BigUint64Array.from(abi.frameGregs, (_, i) => BigInt(0x1000 + i)));
    cpu.setSp(STACK_TOP - 0x100);
    const before = [...cpu.readFrameGregs()];
    const frame = pushSignalFrame(arch, cpu, t.mem, {
      sig: 10,
      info: { signo: 10, code: -6, pid: 1, uid: 0 },
      handler: 0x40_1000,
      flags: SA_SIGINFO | SA_RESTORER,
      restorer: 0x40_2000,
      blockedMask: 1n << 13n,
      altStack: null,
    });
    expect(cpu.pc()).toBe(0x40_1000);
    // The handler returns through the restorer: x86-64's ret popped pretcode, arm64's sp is the frame.
    cpu.setSp(arch === 'x86_64' ? frame.sp + 8 : frame.sp);
    t.call('rt_sigreturn');
    const after = [...cpu.readFrameGregs()];
    // Every register but the flags comes back as it was (the flags keep what user code may set).
    const flags = abi.frameGregs.length - 1;
    expect(after.slice(0, flags)).toEqual(before.slice(0, flags));
    expect(t.k.currentTask.sigmask).toBe(1n << 13n);
  });

  it('rt_sigreturn over an unreadable frame changes no register and forces SIGSEGV, as Linux does', () => {
    const t = world(arch);
    const cpu = t.proc.cpu;
    cpu.writeFrameGregs(BigUint64Array.from(abi.frameGregs, (_, i) => BigInt(0x2000 + i)));
    const badSp = 0x10_0000; // nothing is mapped there
    cpu.setSp(badSp);
    const before = [...cpu.readFrameGregs()];
    const task = t.k.currentTask;
    task.sigmask = 1n << 10n; // SIGSEGV blocked: force_sig unblocks it
    expect(t.call('rt_sigreturn')).toBe(0);
    expect([...cpu.readFrameGregs()]).toEqual(before);
    expect(task.sigmask & (1n << 10n)).toBe(0n);
    // x86-64: signal_fault's force_sig, SI_KERNEL; arm64: arm64_notify_segfault at sp, SEGV_MAPERR.
    expect(task.pending.peek(11)).toEqual(arch === 'x86_64' ? { signo: 11, code: 0x80 } : { signo: 11, code: 1, addr: badSp });
  });

  it.runIf(arch === 'x86_64')('arch_prctl sets and reads the FS and GS bases', () => {
    const t = world(arch);
    const out = t.buf(8);
    expect(t.call('arch_prctl', 0x1002 /* ARCH_SET_FS */, 0x7000_2000)).toBe(0);
    expect(t.call('arch_prctl', 0x1001 /* ARCH_SET_GS */, 0x7000_3000)).toBe(0);
    expect(t.call('arch_prctl', 0x1003 /* ARCH_GET_FS */, out)).toBe(0);
    expect(t.mem.readU64(out)).toBe(0x7000_2000);
    expect(t.call('arch_prctl', 0x1004 /* ARCH_GET_GS */, out)).toBe(0);
    expect(t.mem.readU64(out)).toBe(0x7000_3000);
  });

  it('a plain CPU runs no code', () => {
    expect(() => new PlainCpu(arch).run()).toThrow(/runs no code/);
  });
});
