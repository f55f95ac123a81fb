// A plain in-memory CPU: the registers REGISTERS names, in a map, and the
// vector registers in byte arrays. It runs no code. A headless kernel (the
// tests' and the fuzzer's) gives each process one, so handlers that copy,
// set or restore registers (fork, clone, execve, rt_sigreturn, arch_prctl,
// sigaltstack) behave as they do over Unicorn.
import { REGISTERS, type CpuArch, type CpuBackend, type GuestContext, type GuestEngine, type SyscallRegisters, type VectorBank } from './cpu.ts';

const MASK64 = (1n << 64n) - 1n;

interface PlainState {
  regs: Map<string, bigint>;
  vectors: Map<string, Uint8Array>;
}

function cloneState(s: PlainState): PlainState {
  return { regs: new Map(s.regs), vectors: new Map([...s.vectors].map(([k, v]) => [k, v.slice()])) };
}

export class PlainCpu implements GuestEngine {
  readonly preemptible = false;
  private state: PlainState;
  private readonly abi;
  private readonly syscallWords = { words: new Uint32Array(16) };

  constructor(readonly arch: CpuArch) {
    this.abi = REGISTERS[arch];
    const regs = new Map<string, bigint>();
    for (const n of [...this.abi.frameGregs, ...this.abi.frameFpregs, ...this.abi.others]) regs.set(n, 0n);
    const vectors = new Map<string, Uint8Array>();
    for (const [bank, count] of Object.entries(this.abi.vectors)) for (let i = 0; i < count; i++) vectors.set(`${bank}${i}`, new Uint8Array(16));
    this.state = { regs, vectors };
  }

  private get(name: string): bigint {
    const v = this.state.regs.get(name);
    if (v === undefined) throw new Error(`${this.arch} has no register ${name}`);
    return v;
  }

  private set(name: string, value: bigint): void {
    if (!this.state.regs.has(name)) throw new Error(`${this.arch} has no register ${name}`);
    this.state.regs.set(name, value & MASK64);
  }

  readSyscall(): SyscallRegisters {
    const w = this.syscallWords.words;
    this.abi.syscall.forEach((name, i) => {
      const v = this.get(name);
      w[2 * i] = Number(v & 0xffff_ffffn);
      w[2 * i + 1] = Number(v >> 32n);
    });
    return this.syscallWords;
  }

  /** The pc is the syscall instruction's own address while a call is made. */
  trapPc(): number {
    return this.pc();
  }

  setReturnValue(value: number): void {
    this.set(this.abi.ret, BigInt.asUintN(64, BigInt(value)));
  }

  returnValue(): number {
    return Number(BigInt.asIntN(64, this.get(this.abi.ret)));
  }

  pc(): number {
    return this.register(this.abi.pc);
  }
  setPc(pc: number): void {
    this.setRegister(this.abi.pc, pc);
  }
  sp(): number {
    return this.register(this.abi.sp);
  }
  setSp(sp: number): void {
    this.setRegister(this.abi.sp, sp);
  }
  setTls(tls: number): void {
    this.setRegister(this.abi.tls, tls);
  }

  register(name: string): number {
    return Number(this.get(name));
  }
  setRegister(name: string, value: number): void {
    this.set(name, BigInt.asUintN(64, BigInt(value)));
  }

  namedRegisters(): Record<string, bigint> {
    return Object.fromEntries([...this.abi.frameGregs, this.abi.tls].map((n) => [n, this.get(n)]));
  }

  readFrameGregs(): BigUint64Array {
    return BigUint64Array.from(this.abi.frameGregs, (n) => this.get(n));
  }
  writeFrameGregs(values: BigUint64Array): void {
    this.abi.frameGregs.forEach((n, i) => this.set(n, values[i]!));
  }
  readFrameFpregs(): BigUint64Array {
    return BigUint64Array.from(this.abi.frameFpregs, (n) => this.get(n));
  }
  writeFrameFpregs(values: BigUint64Array): void {
    this.abi.frameFpregs.forEach((n, i) => this.set(n, values[i]!));
  }

  private vector(bank: VectorBank, i: number): Uint8Array {
    const v = this.state.vectors.get(`${bank}${i}`);
    if (!v) throw new Error(`${this.arch} has no vector register ${bank}${i}`);
    return v;
  }
  readVector(bank: VectorBank, i: number, out: Uint8Array): void {
    out.set(this.vector(bank, i).subarray(0, out.length));
  }
  writeVector(bank: VectorBank, i: number, value: Uint8Array): void {
    this.vector(bank, i).set(value.subarray(0, 16));
  }

  enterAt(entry: number, sp: number): void {
    for (const n of this.abi.frameGregs) this.set(n, 0n);
    this.setPc(entry);
    this.setSp(sp);
  }

  /** No CPU features to report (what a headless kernel always said). */
  hwcaps(): { hwcap: number; hwcap2: number } {
    return { hwcap: 0, hwcap2: 0 };
  }

  run(): never {
    throw new Error('a plain CPU runs no code (a headless kernel)');
  }
  stop(): void {}
  flushTlb(): void {}
  mapHost(): void {}
  unmap(): void {}
  protect(): void {}

  newContext(): GuestContext {
    let saved: PlainState | null = null;
    return {
      save: () => void (saved = cloneState(this.state)),
      restoreInto: () => {
        if (saved) this.state = cloneState(saved);
      },
      free: () => void (saved = null),
    };
  }

  copyStateTo(target: GuestEngine): void {
    if (!(target instanceof PlainCpu) || target.arch !== this.arch) throw new Error('copyStateTo: not a plain CPU of the same arch');
    target.state = cloneState(this.state);
  }

  exactFaultPc(): number | null {
    return null;
  }

  close(): void {}
}

/** Engines that hold registers and run nothing: for a headless kernel. */
export const plainCpuBackend: CpuBackend = {
  engineBytes: 0,
  runsCode: false,
  create: (arch) => new PlainCpu(arch),
};
