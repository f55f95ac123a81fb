// Learn a least-privilege profile from a run: collect the (arch, syscall)
// pairs the guest made and write the smallest OCI profile that allows exactly
// those, with SCMP_ACT_ERRNO (EPERM) for everything else.
//
// The profile lists the arches seen in `architectures` and has one
// unconditional SCMP_ACT_ALLOW rule per arch, scoped with Docker's
// `includes: { arches: ["amd64"] }` ("arm64" for aarch64). tslinux, Docker
// and parseProfile + Policy honour that scoping. A runtime that takes the
// file as a bare OCI profile (runc, crun) ignores `includes` and would allow
// the union of the arches' names — the same thing when one arch was seen.
import type { CpuArch } from '../arch/cpu.ts';
import { SYSCALL_TABLES } from '../../syscalls/table/index.ts';
import { ERRNO } from '../kernel/errno-table.ts';
import { ARCH_ALIASES, DOCKER_ARCH, PolicyError, SCMP_ARCH, formatProfile, type Profile, type SyscallRule } from './profile.ts';

/** Sorted by their SCMP_ARCH_ name, the order the profile lists them in. */
const ARCH_ORDER: readonly CpuArch[] = ['aarch64', 'x86_64'];

function archOf(name: string): CpuArch | undefined {
  for (const arch of ARCH_ORDER) if ((ARCH_ALIASES[arch] as readonly string[]).includes(name)) return arch;
  return undefined;
}

export class ProfileRecorder {
  private readonly seen = new Map<CpuArch, Set<string>>();
  /** Names passed to record() that are not syscalls of their arch (e.g. the dispatcher's "syscall_0x1ff"); not recorded. */
  readonly skipped = new Set<string>();

  /** Note that the guest made syscall `name` on `arch`. Returns false (and records nothing) for a name the arch does not have. */
  record(arch: CpuArch, name: string): boolean {
    if (SYSCALL_TABLES[arch].numbers[name] === undefined) {
      this.skipped.add(name);
      return false;
    }
    let set = this.seen.get(arch);
    if (!set) this.seen.set(arch, (set = new Set()));
    set.add(name);
    return true;
  }

  /** The syscalls recorded for `arch`, sorted. */
  names(arch: CpuArch): string[] {
    return [...(this.seen.get(arch) ?? [])].sort();
  }

  /** The arches something was recorded for, in profile order. */
  arches(): CpuArch[] {
    return ARCH_ORDER.filter((a) => this.seen.get(a)?.size);
  }

  /**
   * The minimal profile allowing what was recorded. With `existing` (a
   * profile this recorder wrote earlier), the result allows the union of
   * both; the existing default action is kept. Rules of `existing` other than
   * plain per-arch allow lists cannot be merged and throw PolicyError.
   */
  toProfile(existing?: Profile): Profile {
    const union = new Map<CpuArch, Set<string>>();
    const add = (arch: CpuArch, names: Iterable<string>): void => {
      let set = union.get(arch);
      if (!set) union.set(arch, (set = new Set()));
      for (const n of names) set.add(n);
    };
    for (const [arch, names] of this.seen) add(arch, names);
    if (existing) mergeExisting(existing, add);

    const arches = ARCH_ORDER.filter((a) => union.get(a)?.size);
    const syscalls: SyscallRule[] = arches.map((arch) => ({
      names: [...union.get(arch)!].sort(),
      action: 'SCMP_ACT_ALLOW',
      includes: { arches: [DOCKER_ARCH[arch]] },
    }));
    const errno = existing ? existing.defaultErrnoRet : ERRNO.EPERM;
    // Keys in the order formatProfile writes them.
    return {
      defaultAction: existing?.defaultAction ?? 'SCMP_ACT_ERRNO',
      ...(errno !== undefined ? { defaultErrnoRet: errno } : {}),
      ...(arches.length ? { architectures: arches.map((a) => SCMP_ARCH[a]) } : {}),
      syscalls,
    };
  }

  /** toProfile() as pretty-printed JSON with sorted names: stable from run to run. */
  toJSON(existing?: Profile): string {
    return formatProfile(this.toProfile(existing));
  }
}

/** Feed the allow rules of a recorded profile to `add`, per arch. */
function mergeExisting(p: Profile, add: (arch: CpuArch, names: Iterable<string>) => void): void {
  // The arches a rule without `includes.arches` covers: those the profile lists, else both.
  const listed = (p.architectures ?? []).map((a) => archOf(a)).filter((a): a is CpuArch => a !== undefined);
  const whole = listed.length ? listed : [...ARCH_ORDER];
  p.syscalls.forEach((r, i) => {
    const path = `$.syscalls[${i}]`;
    if (r.action !== 'SCMP_ACT_ALLOW') throw new PolicyError(`${path}.action`, `cannot merge a ${r.action} rule: not a recorded profile`);
    if (r.args?.length) throw new PolicyError(`${path}.args`, 'cannot merge a rule with argument conditions: not a recorded profile');
    if (r.includes?.caps?.length || r.includes?.minKernel || r.excludes?.caps?.length || r.excludes?.minKernel) {
      throw new PolicyError(path, 'cannot merge a rule with caps or minKernel conditions: not a recorded profile');
    }
    let arches = r.includes?.arches?.length
      ? r.includes.arches.map((a) => archOf(a)).filter((a): a is CpuArch => a !== undefined)
      : whole;
    if (r.excludes?.arches?.length) {
      const ex = new Set(r.excludes.arches.map((a) => archOf(a)));
      arches = arches.filter((a) => !ex.has(a));
    }
    for (const arch of arches) add(arch, r.names);
  });
}
