// From a trapped `syscall`/`svc` to a handler and back: read the number and
// the six arguments in one register batch, convert each argument by its
// declared kind, call the handler, write the result (or -errno) to rax/x0,
// and hand the call to the tracer.
import type { Arch } from '../arch/types.ts';
import type { RegisterBatch } from '../cpu/engine.ts';
import { ARG_KINDS, type ArgKind, type SyscallContext, type SyscallDecl } from '../../syscalls/types.ts';
import { KernelBug, LinuxError } from './errors.ts';
import { ERRNO } from './errno-table.ts';

export interface SyscallRecord {
  nr: number;
  name: string;
  decl: SyscallDecl | undefined;
  args: number[];
  /** Raw result: >= 0, or -errno. */
  ret: number;
  startNs: bigint;
  endNs: bigint;
}

export interface SyscallObserver {
  /** Called after each syscall (before it, for calls that do not return). */
  onSyscall(ctx: SyscallContext, rec: SyscallRecord): void;
}

/** The syscall table of one arch: number -> declaration. */
export function buildTable(arch: Arch, decls: Iterable<SyscallDecl>): (SyscallDecl | undefined)[] {
  const table: (SyscallDecl | undefined)[] = [];
  for (const decl of decls) {
    const nr = arch.syscallNumbers[decl.name];
    if (nr !== undefined) table[nr] = decl;
  }
  return table;
}

const TWO32 = 0x1_0000_0000;

/** Convert register i of the batch (1-based: 0 is the number) as `kind` demands. */
export function convertArg(words: Uint32Array, i: number, kind: ArgKind): number {
  const lo = words[2 * i]!;
  const hi = words[2 * i + 1]!;
  switch (ARG_KINDS[kind]) {
    case 's32':
      return lo | 0;
    case 'u32':
      return lo;
    case 's64':
      return (hi | 0) * TWO32 + lo;
    default:
      return hi * TWO32 + lo;
  }
}

export class Dispatcher {
  private readonly argCache = new Map<SyscallDecl, ArgKind[]>();

  constructor(
    private readonly table: (SyscallDecl | undefined)[],
    private readonly arch: Arch,
    public observer: SyscallObserver | null,
    private readonly clockNs: () => bigint = process.hrtime.bigint,
  ) {}

  /** Handle the syscall whose registers are in `regs` (already read); the result goes into `ret`. */
  dispatch(ctx: SyscallContext, regs: RegisterBatch): number {
    const words = regs.words;
    const nr = words[1] === 0 ? words[0]! : -1;
    const decl = nr >= 0 ? this.table[nr] : undefined;
    const startNs = this.observer ? this.clockNs() : 0n;
    let args: number[];
    let ret: number;
    if (!decl) {
      args = [1, 2, 3, 4, 5, 6].map((i) => convertArg(words, i, 'hex'));
      ret = -ERRNO.ENOSYS;
    } else {
      args = this.convertArgs(decl, words);
      ret = this.invoke(decl, ctx, args);
    }
    if (this.observer) {
      const name = decl?.name ?? this.arch.syscallNames[nr] ?? `syscall_${nr < 0 ? 'invalid' : `0x${nr.toString(16)}`}`;
      this.observer.onSyscall(ctx, { nr, name, decl, args, ret, startNs, endNs: this.clockNs() });
    }
    return ret;
  }

  private convertArgs(decl: SyscallDecl, words: Uint32Array): number[] {
    let kinds = this.argCache.get(decl);
    if (!kinds) {
      kinds = Object.values(decl.args);
      this.argCache.set(decl, kinds);
    }
    const out = new Array<number>(kinds.length);
    for (let i = 0; i < kinds.length; i++) out[i] = convertArg(words, i + 1, kinds[i]!);
    return out;
  }

  /** Run a handler: Linux errors become -errno, anything else is a bug in tslinux. */
  private invoke(decl: SyscallDecl, ctx: SyscallContext, args: number[]): number {
    try {
      const r = decl.handler(ctx, ...args);
      if (typeof r !== 'number' || !Number.isFinite(r) || (r < 0 && r > -4096)) {
        throw new Error(`handler returned ${String(r)}`);
      }
      return r;
    } catch (e) {
      if (e instanceof LinuxError) return -e.errno;
      if (e instanceof KernelBug) throw e;
      const shown = args.map((a) => (a < 0 ? String(a) : `0x${a.toString(16)}`)).join(', ');
      throw new KernelBug(`kernel bug in ${decl.name}(${shown}): ${(e as Error)?.stack ?? String(e)}`, e);
    }
  }
}
