// --deterministic: two runs of the same program with the same input give
// byte-identical output and traces. Clocks are virtual (they start at
// 2000-01-01 and move with the guest), random bytes come from --seed, and
// tasks switch after a count of syscalls.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allCasesOn, heavyTitle } from './helpers/tools.ts';
import { createHeadlessKernel, runSync } from '../src/index.ts';
import { VIRTUAL_BOOT_UPTIME_NS, VIRTUAL_EPOCH_NS, VIRTUAL_NS_PER_SYSCALL, VirtualClock } from '../src/kernel/clock.ts';
import { SeededEntropy } from '../src/kernel/entropy.ts';
import { ARCHES, debianBin, makeTempDir, removeTempDir, runCli, type GuestArch } from './helpers/e2e.ts';

/**
 * A shell script that forks (a pipeline, a background job, command
 * substitution), reads every kind of clock, sleeps, and reads random bytes.
 */
const SCRIPT = `echo pid $$
date
cat /proc/uptime
sleep 0.1
date '+%Y-%m-%d %H:%M:%S'
cat /proc/uptime
od -An -tx1 -N16 /dev/urandom
(sleep 0.05; echo child done) &
echo started $!
wait
echo now: $(date +%s)
echo x > /tmp/f; ls -l --full-time /tmp/f
for i in 1 2 3; do echo $i | cat; done
head -c 8 /dev/random | od -An -tx1
`;

const APPLETS = ['sh', 'date', 'cat', 'od', 'sleep', 'echo', 'ls', 'head'];

/** A directory with the script and a /bin of busybox links; the guest sees it at /s, busybox at /bb. */
function prepare(dir: string): void {
  fs.writeFileSync(path.join(dir, 'script.sh'), SCRIPT);
  fs.mkdirSync(path.join(dir, 'bin'));
  for (const a of APPLETS) fs.symlinkSync('/bb/busybox', path.join(dir, 'bin', a));
}

async function runScript(arch: GuestArch, dir: string, name: string, extra: string[]): Promise<{ code: number; stdout: string; stderr: string; trace: string }> {
  const busybox = debianBin(arch, 'busybox');
  const trace = path.join(dir, `${name}.trace`);
  const r = await runCli(
    [
      'run', '--deterministic', ...extra, '--clear-env', '--env', 'PATH=/bin', '--no-cwd',
      '--mount', `${path.dirname(busybox)}:/bb:ro`, '--mount', `${dir}/bin:/bin:ro`, '--mount', `${dir}:/s:ro`,
      '-f', '-T', '-o', trace, busybox, 'sh', '/s/script.sh',
    ],
    { cwd: dir },
  );
  return { ...r, trace: fs.readFileSync(trace, 'latin1') };
}

describe.concurrent('--deterministic busybox sh script', () => {
  for (const arch of ARCHES) {
    it(`gives identical output and traces twice, and other random bytes with another seed (${arch})`, async () => {
      const dir = makeTempDir();
      try {
        prepare(dir);
        const [a, b, c] = await Promise.all([runScript(arch, dir, 'a', []), runScript(arch, dir, 'b', ['--seed', '0']), runScript(arch, dir, 'c', ['--seed', '42'])]);
        expect(a.code).toBe(0);
        expect(a.stderr).toBe('');
        const out = a.stdout.split('\n');
        expect(out[0]).toBe('pid 1000');
        expect(out[1]).toBe('Sat Jan  1 00:01:40 UTC 2000');
        expect(out[2]).toMatch(/^100\.\d\d 100\.\d\d$/);
        // The sleep moved virtual time on by exactly its length (plus a little for the syscalls).
        expect(out[3]).toMatch(/^2000-01-01 00:01:40$/);
        expect(Number(out[4]!.split(' ')[0])).toBeGreaterThanOrEqual(100.1);
        expect(out).toContain('child done');
        expect(out).toContain('now: 946684900');
        expect(a.stdout).toContain('2000-01-01 00:01:40');
        // Same seed (0 is the default): the same bytes, output and trace, to the byte.
        expect(b).toEqual(a);
        // Another seed: other random bytes, the rest alike.
        const random = (s: string): string[] => s.split('\n').filter((l) => /^( [0-9a-f]{2})+$/.test(l));
        expect(random(a.stdout)).toHaveLength(2);
        expect(random(c.stdout)[0]).not.toBe(random(a.stdout)[0]);
        expect(random(c.stdout)[1]).not.toBe(random(a.stdout)[1]);
        const withoutRandom = (s: string): string => s.split('\n').filter((l) => !/^( [0-9a-f]{2})+$/.test(l)).join('\n');
        expect(withoutRandom(c.stdout)).toBe(withoutRandom(a.stdout));
        expect(a.trace).toMatch(/^1001 /m);
        expect(a.trace).toMatch(/clock_nanosleep|nanosleep/);
      } finally {
        removeTempDir(dir);
      }
    }, 60_000);
  }

  it('rejects a --seed that is not a whole number', async () => {
    const r = await runCli(['run', '--seed', '-1', debianBin('x86_64', 'busybox'), 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tslinux: --seed wants a whole number below 2^64, got "-1"\n');
  });
});

describe.concurrent('--deterministic with threads', () => {
  for (const arch of ARCHES) {
    // The schedule is the kernel's (arch-independent); aarch64's busybox case above covers its ABI in npm test.
    it.runIf(allCasesOn(arch))(heavyTitle(arch, `the pthreads guest (64 threads on one mutex, condvars, barriers, cancellation) traces identically twice (${arch})`), async () => {
      const dir = makeTempDir();
      try {
        const guest = path.join(import.meta.dirname, '..', 'guest-binaries', arch, 'threads');
        const runs = [];
        for (const name of ['a', 'b']) {
          const trace = path.join(dir, `${name}.trace`);
          const r = await runCli(['run', '--deterministic', '--no-cwd', '-f', '-o', trace, guest], { cwd: dir });
          runs.push({ ...r, trace: fs.readFileSync(trace, 'latin1') });
        }
        expect(runs[0]!.code).toBe(0);
        expect(runs[0]!.stdout).toMatch(/^counter: 64000 \(expected 64000\)$/m);
        // Thousands of futex, clone and nanosleep lines, thread ids and all, in the same order.
        expect(runs[0]!.trace.split('\n').length).toBeGreaterThan(1000);
        expect(runs[1]).toEqual(runs[0]);
      } finally {
        removeTempDir(dir);
      }
    });
  }
});

describe('deterministic runs through the library', () => {
  for (const arch of ARCHES) {
    it(`a long sleep takes no host time: virtual time jumps to the deadline (${arch})`, () => {
      // Were the sleep real, this test would pass its timeout by far.
      const r = runSync(debianBin(arch, 'busybox'), { args: ['sh', '-c', 'sleep 100000; cat /proc/uptime; date -u +%F'], deterministic: true });
      expect(r.exitCode).toBe(0);
      const [uptime, date] = r.stdout.toString().split('\n');
      expect(Number(uptime!.split(' ')[0])).toBeGreaterThanOrEqual(100_100);
      expect(date).toBe('2000-01-02');
    });
  }

  it('without --deterministic the clocks are the host\'s', () => {
    const r = runSync(debianBin('x86_64', 'busybox'), { args: ['date', '+%Y'] });
    expect(Number(r.stdout.toString())).toBe(new Date().getUTCFullYear());
  });
});

describe('VirtualClock', () => {
  it('starts at the fixed epoch and advances per syscall and by jumps, never backwards', () => {
    const c = new VirtualClock();
    expect(c.realtimeNs()).toBe(VIRTUAL_EPOCH_NS + VIRTUAL_BOOT_UPTIME_NS);
    expect(c.monotonicNs()).toBe(VIRTUAL_BOOT_UPTIME_NS);
    c.tick();
    expect(c.monotonicNs()).toBe(VIRTUAL_BOOT_UPTIME_NS + VIRTUAL_NS_PER_SYSCALL);
    expect(c.cpuNs()).toBe(VIRTUAL_NS_PER_SYSCALL);
    expect(c.skipTo(VIRTUAL_BOOT_UPTIME_NS + 5_000_000_000n)).toBe(true);
    expect(c.monotonicNs()).toBe(VIRTUAL_BOOT_UPTIME_NS + 5_000_000_000n);
    c.skipTo(0n);
    expect(c.monotonicNs()).toBe(VIRTUAL_BOOT_UPTIME_NS + 5_000_000_000n);
    // Sleeping is not CPU time.
    expect(c.cpuNs()).toBe(VIRTUAL_NS_PER_SYSCALL);
  });
});

describe('SeededEntropy', () => {
  const bytes = (seed: number | bigint, n: number): string => {
    const b = new Uint8Array(n);
    new SeededEntropy(seed).fill(b);
    return Buffer.from(b).toString('hex');
  };

  it('gives the same bytes for the same seed and other bytes for another', () => {
    expect(bytes(0, 37)).toBe(bytes(0, 37));
    expect(bytes(0, 37)).not.toBe(bytes(1, 37));
    expect(bytes(2n ** 64n - 1n, 16)).not.toBe(bytes(0, 16));
    // A shorter read is a prefix of a longer one from the same seed.
    expect(bytes(5, 64).startsWith(bytes(5, 13))).toBe(true);
  });

  it('looks uniform: every byte value shows up in 64 KiB, none far too often', () => {
    const b = new Uint8Array(65536);
    new SeededEntropy(9).fill(b);
    const counts = new Array<number>(256).fill(0);
    for (const x of b) counts[x]!++;
    expect(Math.min(...counts)).toBeGreaterThan(150);
    expect(Math.max(...counts)).toBeLessThan(370);
  });
});

describe('getrandom, clocks and file times on a headless deterministic kernel', () => {
  function session(seed: number) {
    const k = createHeadlessKernel('x86_64', { deterministic: true, seed });
    const buf = 0x10000;
    k.proc.mem.map(buf, 0x1000, 3);
    const out: string[] = [];
    expect(k.invoke('getrandom', [buf, 24, 0])).toBe(24);
    out.push(Buffer.from(k.proc.mem.read(buf, 24)).toString('hex'));
    expect(k.invoke('clock_gettime', [0 /* CLOCK_REALTIME */, buf])).toBe(0);
    out.push(`${k.proc.mem.readI64(buf)}.${k.proc.mem.readI64(buf + 8)}`);
    k.proc.mem.write(buf + 0x100, Buffer.from('/tmp/x\0'));
    const fd = k.invoke('openat', [-100, buf + 0x100, 0o101 /* O_WRONLY|O_CREAT */, 0o644]);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(k.invoke('fstat', [fd, buf])).toBe(0);
    out.push(String(k.proc.mem.readI64(buf + 88))); // st_mtime
    return out;
  }

  it('repeats exactly for a seed', () => {
    const a = session(3);
    expect(session(3)).toEqual(a);
    expect(session(4)[0]).not.toBe(a[0]);
    expect(a[1]!.startsWith('946684900.')).toBe(true);
    expect(a[2]).toBe('946684900');
  });
});
