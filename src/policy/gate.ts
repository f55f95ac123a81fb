// Wiring policies into the dispatcher: a SyscallGate that asks the guest
// arch's Policy about each call, and one that records the calls a run made
// for --record-profile.
import type { CpuArch } from '../arch/cpu.ts';
import { SYSCALL_NORETURN, type GateVerdict, type SyscallGate } from '../kernel/dispatch.ts';
import type { SyscallContext } from '../kernel/syscall-decl.ts';
import { Policy, type PolicyOptions } from './policy.ts';
import type { Profile } from './profile.ts';
import type { ProfileRecorder } from './record.ts';

const SIGSYS = 31;
/** si_code of a seccomp SIGSYS (siginfo.h). */
const SYS_SECCOMP = 1;
/** si_arch: the AUDIT_ARCH_* of the calling convention (linux/audit.h). */
const AUDIT_ARCH: Readonly<Record<CpuArch, number>> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

export interface PolicySpec {
  profile?: Profile;
  allow?: string[];
  deny?: string[];
  caps?: string[];
}

/** Builds the Policy for an arch when a process of that arch first makes a call (exec may switch arches). */
export class PolicyGate implements SyscallGate {
  private readonly byArch = new Map<CpuArch, Policy>();

  constructor(
    private readonly spec: PolicySpec,
    /** SCMP_ACT_LOG and friends report here. */
    private readonly log: (line: string) => void,
  ) {}

  policyFor(arch: CpuArch): Policy {
    let p = this.byArch.get(arch);
    if (!p) {
      const opts: PolicyOptions & { arch: CpuArch } = { arch, caps: this.spec.caps, allow: this.spec.allow, deny: this.spec.deny };
      if (this.spec.profile) p = Policy.fromProfile(this.spec.profile, opts);
      else if (this.spec.allow?.length) p = Policy.allowList(this.spec.allow, { arch });
      else p = Policy.denyList(this.spec.deny ?? [], undefined, { arch });
      this.byArch.set(arch, p);
    }
    return p;
  }

  /**
   * Every entry is decided, a woken call's retry included (`retry`): the
   * policy sees the number and arguments in the registers now, so no entry
   * runs on an earlier verdict. A retry is logged only once, on entry.
   */
  check(ctx: SyscallContext, name: string, nr: number, words: Uint32Array, _args?: readonly number[], retry = false): GateVerdict {
    const d = this.policyFor(ctx.arch.name).decideWords(name, nr, words, 2);
    switch (d.action) {
      case 'allow':
        return null;
      case 'log':
        if (!retry) this.log(`tslinux: policy: ${name} logged (pid ${ctx.proc.pid})`);
        return null;
      case 'errno':
        return { ret: -d.errno, note: 'denied by policy' };
      case 'kill_thread':
        if (ctx.proc.liveTasks().length > 1) return killThread(ctx);
        return { kill: SIGSYS, note: 'denied by policy: killed' };
      case 'kill_process':
        return { kill: SIGSYS, note: 'denied by policy: killed' };
      case 'trap':
        return trap(ctx, nr);
    }
  }
}

/**
 * SECCOMP_RET_KILL_THREAD in a process with other threads: only the caller
 * ends, "as though killed by a SIGSYS signal" (seccomp(2)); the others go on.
 */
function killThread(ctx: SyscallContext): GateVerdict {
  ctx.kernel.exitThread(ctx.task, 0);
  ctx.task.exitStatus = SIGSYS;
  return { ret: SYSCALL_NORETURN, note: 'denied by policy: thread killed' };
}

/**
 * SECCOMP_RET_TRAP (seccomp(2)): the call is not made; the thread gets a
 * forced SIGSYS whose siginfo has si_code SYS_SECCOMP, si_call_addr (the
 * address after the system call instruction), si_syscall, si_arch and
 * si_errno (SECCOMP_RET_DATA: 0, a profile's TRAP has none). The kernel
 * rolls the registers back to what they were at the call (x86-64's rax holds
 * the syscall number again, aarch64's x0 the first argument): returning
 * SYSCALL_NORETURN leaves every register as the guest made the call.
 */
function trap(ctx: SyscallContext, nr: number): GateVerdict {
  ctx.kernel.signals.force(ctx.task, {
    signo: SIGSYS,
    code: SYS_SECCOMP,
    errno: 0,
    callAddr: ctx.task.pc,
    syscall: nr,
    arch: AUDIT_ARCH[ctx.arch.name],
  });
  return { ret: SYSCALL_NORETURN, note: 'denied by policy: SIGSYS' };
}

/** Records every syscall name per arch (--record-profile); lets everything through. */
export class RecordingGate implements SyscallGate {
  constructor(
    readonly recorder: ProfileRecorder,
    private readonly next: SyscallGate | null = null,
  ) {}

  check(ctx: SyscallContext, name: string, nr: number, words: Uint32Array, args?: readonly number[], retry?: boolean): GateVerdict {
    this.recorder.record(ctx.arch.name, name);
    return this.next ? this.next.check(ctx, name, nr, words, args, retry) : null;
  }
}
