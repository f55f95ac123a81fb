// Hostile guests (guest-binaries/src/hostile.c) under tslinux's default
// limits: a fork bomb, a malloc loop, an fd leak, mprotect splitting a
// mapping into thousands, infinite recursion and a syscall spin loop each end
// with a guest error or signal, and tslinux exits cleanly. They run only
// under tslinux, never natively, and tslinux itself runs inside a host guard:
// as nobody (when we are root), with at most 64 host threads and a bounded
// address space, so a failure of the limits cannot take the host down.
// No timing assertions: the tests' own timeouts bound every run. The malloc
// loop and the mprotect splits (arch-independent limits, seconds each) run
// on aarch64 under npm run test:all.
import { describe, expect, it } from 'vitest';
import { runSync } from '../src/index.ts';
import { ARCHES, debianBin, guestPath, type GuestArch } from './helpers/e2e.ts';
import { addressSpaceGuard, type GuardedOutcome } from './helpers/host-guard.ts';
import { allCasesOn, heavyTitle } from './helpers/tools.ts';

/**
 * The host guard's address-space limit. Node reserves about 10 GiB of
 * address space for WebAssembly (tsx) and each guest process's CPU engine
 * 32 MiB for translated code; resident memory stays far lower (the fork
 * bomb peaks near 1 GB).
 */
const GUARD = addressSpaceGuard(64 * 2 ** 30);

/** `tslinux run [options] hostile MODE` under the host guard, in a scratch directory. */
function runHostile(arch: GuestArch, mode: string, options: string[] = []): Promise<Omit<GuardedOutcome, 'oomKills'>> {
  return GUARD.runCli([...options, guestPath(arch, 'hostile'), ...mode.split(' ')]).then(({ oomKills: _, ...r }) => r);
}

const lines = (s: string): string[] => s.split('\n').filter(Boolean);

for (const arch of ARCHES) {
  describe(`hostile guests under the default limits (${arch})`, () => {
    // Two limits stop a fork bomb: the run's memory (each live process costs its CPU's 36 MiB) and
    // the task limit (256, zombies included). Children whose fork fails exit and free their CPU, so
    // which limit the first process meets first depends on the order forks run in and on what each
    // process has touched (x86-64 meets the memory budget, aarch64's cheaper copy-on-write children
    // the task limit). Either is a clean guest error, as fork(2) documents both.
    it('a fork bomb: fork fails with ENOMEM (the run\'s memory) or EAGAIN (the task limit), and the guest says so and exits', async () => {
      const r = await runHostile(arch, 'forkbomb');
      expect(r).toEqual({ code: 0, signal: null, stdout: expect.stringMatching(/^forkbomb: fork failed: (ENOMEM|EAGAIN)\n$/), stderr: '' });
    }, 180_000);

    it.runIf(allCasesOn(arch))(heavyTitle(arch, 'a malloc loop that touches its memory: malloc fails (ENOMEM) and the guest exits'), async () => {
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

    it.runIf(allCasesOn(arch))(heavyTitle(arch, 'mprotect splitting one mapping into thousands: ENOMEM at the mapping limit, never a Unicorn abort'), async () => {
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

  // The run's memory holds the process's CPU (36 MiB) besides what malloc gets, and every page the
  // process has touched: its stack is charged as it grows, not as 8 MiB up front.
  it('--memory-limit 128M bounds the whole run: malloc fails before 128 - 36 MiB', async () => {
    const r = await runHostile('aarch64', 'malloc', ['--memory-limit', '128M']);
    expect(r.code).toBe(0);
    const mib = Number(/^malloc: ENOMEM after (\d+) MiB\n$/.exec(r.stdout)?.[1]);
    expect(mib).toBeGreaterThan(64);
    expect(mib).toBeLessThan(128 - 36);
  }, 60_000);

  it('totalMemoryLimit is the same budget in the library: malloc fails before 96 - 36 MiB', () => {
    const r = runSync(guestPath('x86_64', 'hostile'), { args: ['malloc'], totalMemoryLimit: 96 << 20 });
    expect(r.exitCode).toBe(0);
    const mib = Number(/^malloc: ENOMEM after (\d+) MiB\n$/.exec(r.stdout.toString())?.[1]);
    expect(mib).toBeGreaterThan(32);
    expect(mib).toBeLessThan(96 - 36);
  });

  it('a limit below what one process needs is one line, exit 126', async () => {
    const r = await runHostile('x86_64', 'malloc', ['--memory-limit', '16M']);
    expect(r.code).toBe(126);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/memory limit \(16 MiB\) is below what one process needs \(36 MiB for its CPU\); raise --memory-limit$/)]);
  }, 60_000);

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
