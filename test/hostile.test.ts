// Hostile guests (guest-binaries/src/hostile.c) under tslinux's default
// limits: a fork bomb, a malloc loop, an fd leak, mprotect splitting a
// mapping into thousands, infinite recursion and a syscall spin loop each end
// with a guest error or signal, and tslinux exits cleanly. They run only
// under tslinux, never natively, and tslinux itself runs inside a host guard:
// as nobody (when we are root), with at most 64 host threads and a bounded
// address space, so a failure of the limits cannot take the host down.
// No timing assertions: the tests' own timeouts bound every run.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSync } from '../src/index.ts';
import { ARCHES, ROOT, debianBin, guestPath, makeTempDir, removeTempDir, type GuestArch } from './helpers/e2e.ts';

const CLI = path.join(ROOT, 'bin', 'tslinux.js');
/**
 * The host guard's address-space limit. Node reserves about 10 GiB of
 * address space for WebAssembly (tsx) and each guest process's CPU engine
 * 128 MiB for translated code; resident memory stays far lower (the fork
 * bomb peaks near 1 GB).
 */
const GUARD_ADDRESS_SPACE = 64 * 2 ** 30;
const asRoot = process.getuid?.() === 0;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `tslinux run [options] hostile MODE` under the host guard, in a scratch directory. */
function runHostile(arch: GuestArch, mode: string, options: string[] = []): Promise<Outcome> {
  const dir = makeTempDir();
  fs.chmodSync(dir, 0o777); // nobody's working directory
  const guard = [
    ...(asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []),
    'prlimit', '--nproc=64', `--as=${GUARD_ADDRESS_SPACE}`, '--',
  ];
  const argv = [...guard, process.execPath, CLI, 'run', ...options, guestPath(arch, 'hostile'), mode];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      removeTempDir(dir);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

const lines = (s: string): string[] => s.split('\n').filter(Boolean);

for (const arch of ARCHES) {
  describe(`hostile guests under the default limits (${arch})`, () => {
    it('a fork bomb: fork fails with EAGAIN at the task limit, and the guest says so and exits', async () => {
      const r = await runHostile(arch, 'forkbomb');
      expect(r).toEqual({ code: 0, signal: null, stdout: 'forkbomb: fork failed: EAGAIN\n', stderr: '' });
    }, 180_000);

    it('a malloc loop that touches its memory: malloc fails (ENOMEM) and the guest exits', async () => {
      const r = await runHostile(arch, 'malloc');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^malloc: ENOMEM after \d+ MiB\n$/);
      // Ended by a limit (the engine's region cap or the run's memory), not by the guard.
      expect(Number(/after (\d+)/.exec(r.stdout)![1])).toBeGreaterThan(500);
    }, 180_000);

    it('an fd leak: open fails with EMFILE at RLIMIT_NOFILE (1024)', async () => {
      const r = await runHostile(arch, 'fdleak');
      expect(r).toEqual({ code: 0, signal: null, stdout: 'fdleak: EMFILE after 1021 fds\n', stderr: '' });
    }, 60_000);

    it('mprotect splitting one mapping into thousands: ENOMEM at the mapping limit, never a Unicorn abort', async () => {
      const r = await runHostile(arch, 'maps');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^maps: ENOMEM after \d+ splits\n$/);
    }, 60_000);

    it('infinite recursion: the stack overflows into SIGSEGV, exit 139 and one line', async () => {
      const r = await runHostile(arch, 'recurse');
      expect(r.code).toBe(139);
      expect(r.stdout).toBe('recurse: going down\n');
      expect(lines(r.stderr)).toEqual([expect.stringMatching(/^tslinux: .*hostile: killed by SIGSEGV \(write to unmapped address\) at pc 0x[0-9a-f]+, fault address 0x[0-9a-f]+$/)]);
    }, 60_000);

    it('a getpid spin loop: --timeout kills it, exit 137 and one line', async () => {
      const r = await runHostile(arch, 'spin', ['--timeout', '2']);
      expect(r.code).toBe(137);
      expect(r.stdout).toBe('spin: calling getpid forever\n');
      expect(lines(r.stderr)).toEqual([expect.stringMatching(/^tslinux: .*hostile: timed out after 2 s, killed$/)]);
    }, 60_000);
  });
}

describe('explicit limits', () => {
  it('--max-tasks 8 stops a fork bomb sooner', async () => {
    const r = await runHostile('x86_64', 'forkbomb', ['--max-tasks', '8']);
    expect(r).toEqual({ code: 0, signal: null, stdout: 'forkbomb: fork failed: EAGAIN\n', stderr: '' });
  }, 60_000);

  it('--memory-limit 64M: malloc fails before 64 MiB', async () => {
    const r = await runHostile('aarch64', 'malloc', ['--memory-limit', '64M']);
    expect(r.code).toBe(0);
    const mib = Number(/^malloc: ENOMEM after (\d+) MiB\n$/.exec(r.stdout)?.[1]);
    expect(mib).toBeGreaterThan(32);
    expect(mib).toBeLessThan(64);
  }, 60_000);

  it('totalMemoryLimit bounds the whole run (library): malloc fails before 48 MiB', () => {
    const r = runSync(guestPath('x86_64', 'hostile'), { args: ['malloc'], totalMemoryLimit: 48 << 20 });
    expect(r.exitCode).toBe(0);
    const mib = Number(/^malloc: ENOMEM after (\d+) MiB\n$/.exec(r.stdout.toString())?.[1]);
    expect(mib).toBeGreaterThan(24);
    expect(mib).toBeLessThan(48);
  });

  for (const arch of ARCHES) {
    it(`maxOutput: a writer past the captured limit gets SIGXFSZ (as at RLIMIT_FSIZE), or EFBIG when it ignores it (${arch})`, () => {
      const busybox = debianBin(arch, 'busybox');
      const killed = runSync(busybox, { args: ['yes', 'hello'], maxOutput: 1000 });
      expect(killed.signal).toBe('SIGXFSZ');
      expect(killed.exitCode).toBe(128 + 25);
      expect(killed.stdout.length).toBe(1000);
      const ignoring = runSync(busybox, { args: ['sh', '-c', 'trap "" XFSZ; echo start; yes hello | head -c 3000 >/dev/null; echo $(seq 1 400)'], maxOutput: 1000 });
      expect(ignoring.signal).toBeNull();
      expect(ignoring.stdout.length).toBe(1000);
      expect(ignoring.stdout.toString().startsWith('start\n1 2 3 ')).toBe(true);
    });
  }
});
