// The escape suite, policy part: every syscall passes the gate at every
// entry (issue 12). guest-binaries/src/gatebypass.c parks a thread in a
// blocking call (read, futex, ppoll, wait4, a vfork) while a second thread
// maps new RWX code over the page it sleeps on, a jump to a mkdir. The
// woken call must return its own result (as on Linux, where a sleeping
// call never leaves the kernel), and the new code's mkdir must meet the
// policy when it is called: under --deny it fails with EPERM, under an OCI
// profile with SCMP_ACT_ERRNO it fails with the profile's errno, and under
// SCMP_ACT_KILL_PROCESS the process dies of SIGSYS there. In `restart` mode
// a SA_RESTART handler makes the restarted call run the new code, so the
// restarted entry itself is the mkdir the policy sees. Before the fix the
// woken call ran the new code, ungated, and the directory was made.
// The unconfined outputs are guest-binaries/expected/ (recorded natively
// and under qemu-aarch64; test/e2e-guests.test.ts compares tslinux with them).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Profile } from '../src/index.ts';
import { ARCHES, GUESTS, debianBin, guestPath, makeTempDir, removeTempDir, runCli, runTslinux, type GuestArch, type RunSpec } from './helpers/e2e.ts';

const MODES = ['read', 'futex', 'poll', 'wait', 'vfork', 'restart'] as const;
type Mode = (typeof MODES)[number];
const MKDIR = ['mkdir', 'mkdirat'];
const SIGSYS_EXIT = 128 + 31;

/** An OCI profile that allows everything but mkdir (both arches' names), which gets `action`. */
function denyMkdir(action: 'SCMP_ACT_KILL_PROCESS' | 'SCMP_ACT_ERRNO', errnoRet?: number): Profile {
  const rule = { names: MKDIR, action, ...(errnoRet !== undefined ? { errnoRet } : {}) };
  return { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [rule] } as Profile;
}

/** The recorded unconfined output (mkdir allowed, directory made). */
function unconfined(arch: GuestArch, mode: Mode): string[] {
  return fs.readFileSync(path.join(GUESTS, 'expected', arch, `gatebypass_${mode}.out`), 'latin1').split('\n').filter(Boolean);
}

/** What the guest prints when every mkdir fails with `errno`: the parked call as unconfined, then the refusals. */
function refused(arch: GuestArch, mode: Mode, errno: string): string[] {
  const [parked, returned] = unconfined(arch, mode);
  const woken = mode === 'restart' ? `restart: the parked call returned ${errno}` : returned!;
  return [parked!, woken, `mkdir in the new code: ${errno}`, 'the directory was made: no'];
}

function run(arch: GuestArch, mode: Mode, options: RunSpec['options']) {
  const r = runTslinux({ arch, program: guestPath(arch, 'gatebypass'), args: [mode], options });
  return { lines: r.stdout.split('\n').filter(Boolean), exitCode: r.exitCode, signal: r.signal, stderr: r.stderr, files: r.files };
}

for (const arch of ARCHES) {
  describe(`a call woken or restarted under new code meets the policy (${arch})`, () => {
    for (const mode of MODES) {
      it(`${mode}, --deny mkdir: EPERM, no directory`, () => {
        const r = run(arch, mode, { deny: MKDIR });
        expect(r.lines).toEqual(refused(arch, mode, 'EPERM'));
        expect({ exitCode: r.exitCode, stderr: r.stderr, files: r.files }).toEqual({ exitCode: 0, stderr: '', files: {} });
      });
    }

    for (const mode of ['read', 'restart'] as const) {
      it(`${mode}, OCI profile with SCMP_ACT_ERRNO (EACCES) for mkdir: EACCES, no directory`, () => {
        const r = run(arch, mode, { policy: denyMkdir('SCMP_ACT_ERRNO', 13) });
        expect(r.lines).toEqual(refused(arch, mode, 'EACCES'));
        expect({ exitCode: r.exitCode, files: r.files }).toEqual({ exitCode: 0, files: {} });
      });

      it(`${mode}, OCI profile with SCMP_ACT_KILL_PROCESS for mkdir: SIGSYS at the mkdir, no directory`, () => {
        const r = run(arch, mode, { policy: denyMkdir('SCMP_ACT_KILL_PROCESS') });
        // restart dies at the restarted call; the others after the woken call returned its own result.
        const lived = mode === 'restart' ? 1 : 2;
        expect(r.lines).toEqual(unconfined(arch, mode).slice(0, lived));
        expect({ exitCode: r.exitCode, signal: r.signal, files: r.files }).toEqual({ exitCode: SIGSYS_EXIT, signal: 'SIGSYS', files: {} });
      });
    }

    it('execve is checked on entry: a refused exec stages nothing, and the new image never runs', () => {
      const exec = (options: RunSpec['options']) =>
        runTslinux({ arch, program: debianBin(arch, 'busybox'), copyIn: true, args: ['sh', '-c', 'exec ./busybox echo ran'], options });
      expect(exec({}).stdout).toBe('ran\n');
      const refused = exec({ policy: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] } as Profile });
      expect({ stdout: refused.stdout, exitCode: refused.exitCode }).toEqual({ stdout: '', exitCode: 126 });
      expect(refused.stderr).toMatch(/Permission denied/);
      const killed = exec({ policy: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_KILL_PROCESS' }] } as Profile });
      expect({ stdout: killed.stdout, exitCode: killed.exitCode, signal: killed.signal }).toEqual({ stdout: '', exitCode: SIGSYS_EXIT, signal: 'SIGSYS' });
    });

    it("the issue's reproduction through the CLI: tslinux run --deny mkdir", async () => {
      const dir = makeTempDir();
      try {
        const r = await runCli(['run', '--deny', MKDIR.join(','), guestPath(arch, 'gatebypass'), 'read'], { cwd: dir });
        expect(r.stdout.split('\n').filter(Boolean)).toEqual(refused(arch, 'read', 'EPERM'));
        expect(r.code).toBe(0);
        expect(fs.readdirSync(dir)).toEqual([]);
      } finally {
        removeTempDir(dir);
      }
    });
  });
}
