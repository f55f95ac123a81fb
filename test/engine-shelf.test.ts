// Engines of finished processes are reused by the next exec or fork of the
// same program, with the code translated from its untouched read-only
// segments (src/kernel/engine-shelf.ts). What the next process must not
// see: code an earlier process rewrote in place (selfmod patches value() with
// mprotect RWX), or data it left in .bss. The selfmod guest checks both,
// under busybox sh (fork + exec of one program again and again) and from a
// family of forks; the output must be the native run's, and the run must
// really have reused engines.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKernel } from '../src/index.ts';
import { ARCHES, ROOT, canRunNative, debianBin } from './helpers/e2e.ts';

const SCRIPT = './selfmod patch; ./selfmod; ./selfmod patch; ./selfmod; ./selfmod family 4; ./selfmod';

/** What the script prints natively (x86-64 busybox sh and guest); the guest prints nothing arch-dependent. */
const EXPECTED = [
  'value 2', 'value 1', 'bss clean', 'value 2', 'value 1', 'bss clean',
  'child 0 value 1', 'parent value 1', 'child 1 value 2', 'parent value 1',
  'child 2 value 1', 'parent value 1', 'child 3 value 2', 'parent value 1',
  'value 1', 'bss clean', 'value 1', 'bss clean', '',
].join('\n');

describe('a reused engine holds nothing of the process before', () => {
  it.runIf(canRunNative)('the recorded output is the native one (x86-64)', () => {
    const dir = path.join(ROOT, 'guest-binaries', 'x86_64');
    const r = spawnSync(debianBin('x86_64', 'busybox'), ['sh', '-c', SCRIPT], { cwd: dir, encoding: 'utf8' });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: EXPECTED, stderr: '' });
  });

  for (const arch of ARCHES) {
    it(`${arch}: code patched and data dirtied by one process are not seen by the next`, () => {
      const dir = path.join(ROOT, 'guest-binaries', arch);
      const k = createKernel(debianBin(arch, 'busybox'), { args: ['sh', '-c', SCRIPT], cwd: dir, mounts: [{ host: dir, guest: dir, readOnly: true }], stdout: 'capture', stderr: 'capture' });
      const r = k.run();
      expect({ status: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() }).toEqual({ status: 0, stdout: EXPECTED, stderr: '' });
      const stats = k.engineShelfStats();
      // Every ./selfmod after the first, and most forks, took a shelved engine.
      expect(stats?.taken).toBeGreaterThanOrEqual(8);
    });
  }
});
