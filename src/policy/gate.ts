// Wiring policies into the dispatcher: a SyscallGate that asks the guest
// arch's Policy about each call, and one that records the calls a run made
// for --record-profile.
import type { CpuArch } from '../cpu/engine.ts';
import type { GateVerdict, SyscallGate } from '../kernel/dispatch.ts';
import type { SyscallContext } from '../../syscalls/types.ts';
import { Policy, type PolicyOptions } from './policy.ts';
import type { Profile } from './profile.ts';
import type { ProfileRecorder } from './record.ts';

const SIGSYS = 31;

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

  check(ctx: SyscallContext, name: string, nr: number, words: Uint32Array): GateVerdict {
    const d = this.policyFor(ctx.arch.name).decideWords(name, nr, words, 2);
    switch (d.action) {
      case 'allow':
        return null;
      case 'log':
        this.log(`tslinux: policy: ${name} logged (pid ${ctx.proc.pid})`);
        return null;
      case 'errno':
        return { ret: -d.errno, note: 'denied by policy' };
      case 'kill_process':
      case 'kill_thread':
        return { kill: SIGSYS, note: 'denied by policy: killed' };
      case 'trap':
        // SIGSYS with si_code SYS_SECCOMP: without a handler, this kills like the default action.
        ctx.kernel.sendSignal(ctx.proc, { signo: SIGSYS, code: 1, addr: 0 });
        return { ret: -38, note: 'denied by policy: SIGSYS' };
    }
  }
}

/** Records every syscall name per arch (--record-profile); lets everything through. */
export class RecordingGate implements SyscallGate {
  constructor(
    readonly recorder: ProfileRecorder,
    private readonly next: SyscallGate | null = null,
  ) {}

  check(ctx: SyscallContext, name: string, nr: number, words: Uint32Array): GateVerdict {
    this.recorder.record(ctx.arch.name, name);
    return this.next ? this.next.check(ctx, name, nr, words) : null;
  }
}
