// End to end: more than 80 busybox applets (and a few bash scripts) from
// Debian's static busybox and bash, under tslinux and on a reference, on
// both arches. The reference is a real Linux kernel: the x86_64 binaries run
// natively; the aarch64 busybox runs under qemu-aarch64 through binfmt_misc
// (so that what busybox execs, /proc/self/exe for most applets, runs under
// qemu too). On a host without binfmt_misc for aarch64 (CI has qemu-aarch64
// but no binfmt registration, and without it busybox's re-exec of itself
// fails under qemu) the aarch64 run is compared with the x86_64 native run of
// the same case instead: the same busybox version, so the outputs must agree
// except for the architecture's name (see `archNames`). See test/helpers/shell.ts.
//
// Each case is a shell command run by `busybox sh -c` (or `bash -c`) in a
// fresh directory of its own holding the same input files, all dated FIXED.
// Cases are batched: one guest shell runs a whole batch, each case in a
// subshell between markers on stdout and stderr, so one tslinux process
// covers ~20 cases; each case is still its own test, named after its applet,
// and compares stdout, stderr and exit status exactly with the reference.
// Outputs are normalised only where they must differ: the temporary
// directory's path is "$DIR" (each run has its own), and cases avoid what
// differs between two runs on any kernel (wall-clock times, free space, pids,
// inode numbers, random names) by printing a property of it instead.
// The cases themselves are in test/helpers/applet-cases.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { sampled, sampledTitle } from './helpers/tools.ts';
import { ARCHES, type GuestArch } from './helpers/e2e.ts';
import { referenceArch, runShellReference, runShellTslinux, type Shell, type ShellOutcome } from './helpers/shell.ts';
import { BASH, BATCH, BUSYBOX, archNames, batchScript, batchSetup, cutCase, type AppletCase } from './helpers/applet-cases.ts';

interface BatchRuns {
  tslinux: ShellOutcome;
  reference: ShellOutcome;
}

function describeSuite(arch: GuestArch, shell: Shell, allCases: readonly AppletCase[]): void {
  const cases = sampled(arch, allCases.filter((c) => (c.only ?? arch) === arch));
  const ref = referenceArch(arch);
  const refName = ref === arch ? (arch === 'x86_64' ? 'native' : 'qemu-aarch64') : `${ref} native (no binfmt_misc for ${arch})`;
  const passed = new Set<number>();
  describe.skipIf(ref === null)(sampledTitle(arch, `${arch} ${shell === 'sh' ? 'busybox' : 'bash'} applets vs ${refName}`), { concurrent: true }, () => {
    for (let b = 0; b < cases.length; b += BATCH) {
      const batch = cases.slice(b, b + BATCH);
      let runs: Promise<BatchRuns> | null = null;
      const batchRuns = (): Promise<BatchRuns> => {
        runs ??= (async () => {
          const run = { shell, script: batchScript(batch), setup: batchSetup(batch), timeoutMs: 240_000 };
          const [tslinux, reference] = await Promise.all([runShellTslinux(arch, run), runShellReference(arch, run)!]);
          return { tslinux, reference };
        })();
        return runs;
      };
      batch.forEach((c, i) => {
        const test = async (): Promise<void> => {
          const { tslinux, reference } = await batchRuns();
          const want = cutCase(reference, i);
          expect(want, `the reference run of the batch stopped before this case: ${reference.stderr.slice(-500)}`).not.toBeNull();
          const got = cutCase(tslinux, i);
          expect(got, `the tslinux run of the batch stopped before this case (exit ${tslinux.exitCode}): ${tslinux.stderr.slice(-800)}`).not.toBeNull();
          expect(got, `${c.applet} under tslinux vs ${refName}`).toEqual(archNames(want!, ref!, arch));
          passed.add(b + i);
        };
        const title = `${c.applet}: ${c.cmd.replace(/\s+/g, ' ')}`.slice(0, 150);
        if (c.bug) it.fails(`${title} [bug: ${c.bug}]`, test, 300_000);
        else it(title, test, 300_000);
      });
    }
    afterAll(() => {
      const applets = new Set(cases.map((c) => c.applet));
      // An applet passes when all its cases do.
      const failedApplets = new Set(cases.filter((_, i) => !passed.has(i)).map((c) => c.applet));
      const passedApplets = [...applets].filter((a) => !failedApplets.has(a));
      console.log(`${arch} ${shell}: ${passed.size}/${cases.length} cases and ${passedApplets.length}/${applets.size} applets match ${refName}`);
    });
  });
}

describe('the applet suite', () => {
  it('covers at least 80 distinct busybox applets', () => {
    expect(new Set(BUSYBOX.map((c) => c.applet)).size).toBeGreaterThanOrEqual(80);
  });
});

for (const arch of ARCHES) {
  describeSuite(arch, 'sh', BUSYBOX);
  describeSuite(arch, 'bash', BASH);
}
