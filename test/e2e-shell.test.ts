// End to end with shell scripts: Debian's static busybox sh (and bash) run
// scripts that fork, exec, pipe, wait and signal, on both arches. Each case
// runs under tslinux (the CLI in a child process with a hard timeout, so a
// hanging guest cannot block the worker) and on a reference: natively for
// x86_64; for aarch64 the aarch64 busybox runs directly through binfmt_misc
// (qemu-aarch64), which also runs what it execs, or, on a host without
// binfmt_misc, the x86_64 native run of the same script is the reference
// (the outputs must agree). See test/helpers/shell.ts for the layout.
// stdout and the exit code must match the reference, stderr too unless the
// case says it is not deterministic; each case also checks what it should
// have produced, so it means something without a reference. The cases are
// in test/helpers/shell-cases.ts.
import { describe, expect, it } from 'vitest';
import { sampled, sampledTitle } from './helpers/tools.ts';
import { ARCHES, type GuestArch } from './helpers/e2e.ts';
import { runShellReference, runShellTslinux, type ShellOutcome } from './helpers/shell.ts';
import { CASES, type Case } from './helpers/shell-cases.ts';

function check(c: Case, arch: GuestArch): () => Promise<void> {
  return async () => {
    const [tsl, ref] = await Promise.all([runShellTslinux(arch, c), runShellReference(arch, c)]);
    expect(tsl.timedOut, `tslinux run timed out after ${tsl.ms} ms`).toBe(false);
    if (ref) {
      expect(ref.timedOut, 'the reference run timed out').toBe(false);
      const pick = (o: ShellOutcome) => (c.anyStderr ? { stdout: o.stdout, exitCode: o.exitCode } : { stdout: o.stdout, stderr: o.stderr, exitCode: o.exitCode });
      expect(pick(tsl)).toEqual(pick(ref));
    }
    for (const [k, v] of Object.entries(c.want)) {
      expect(tsl[k as keyof ShellOutcome], k).toEqual(v);
    }
  };
}

for (const arch of ARCHES) {
  describe.concurrent(sampledTitle(arch, `shell scripts (${arch})`), () => {
    for (const c of sampled(arch, CASES)) {
      const title = `${c.shell ?? 'sh'}: ${c.title}`;
      if (c.bug) it.fails(`${title} [bug: ${c.bug}]`, check(c, arch), 60_000);
      else it(title, check(c, arch), 60_000);
    }
  });
}
