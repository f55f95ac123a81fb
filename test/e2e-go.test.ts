// Go programs (guest-binaries/src/go, built by scripts/build-go-guests.sh
// with Debian's golang-go, CGO_ENABLED=0) on both arches: goroutines,
// channels, select, timers, GOMAXPROCS 1 to 8, files, os/exec, a panic, a
// recovered nil dereference, the GC under load, and loopback networking
// (net/http against itself, a TCP echo server with 50 clients). Each run is compared
// with the same binary run natively (x86-64) or under qemu-aarch64.
import { describe, expect, it } from 'vitest';
import { ARCHES, canRunNative, goGuest, haveGoGuests, hasReference, runNative, runReference, runTslinux, visible, type GuestArch, type RunSpec } from './helpers/e2e.ts';
import { hasBinfmtAarch64 } from './helpers/shell.ts';

const gocheck = goGuest;

/** Cases compared in full: stdout, stderr, exit code and the files left behind. */
const CASES: { name: string; args: string[]; execsItself?: boolean }[] = [
  { name: 'goroutines, WaitGroup and a mutex', args: ['goroutines'] },
  { name: 'a channel pipeline', args: ['channels'] },
  { name: 'select with default and time.After', args: ['select'] },
  { name: 'time.Sleep, time.After and a ticker', args: ['timers'] },
  { name: 'GOMAXPROCS 1', args: ['gomaxprocs', '1'] },
  { name: 'GOMAXPROCS 2', args: ['gomaxprocs', '2'] },
  { name: 'GOMAXPROCS 4', args: ['gomaxprocs', '4'] },
  { name: 'GOMAXPROCS 8', args: ['gomaxprocs', '8'] },
  { name: 'os.ReadFile, WriteFile, ReadDir, Rename, RemoveAll', args: ['files'] },
  { name: 'os/exec of another static binary, exit codes', args: ['exec'], execsItself: true },
  { name: 'a nil dereference recovered by the runtime', args: ['nilderef'] },
  { name: 'runtime.GC under allocation load', args: ['gc'] },
  { name: '10,000 goroutines', args: ['spawn', '10000'] },
  { name: 'a CPU-bound prime sieve', args: ['sieve', '1000000'] },
  { name: 'net/http serving on 127.0.0.1:0 and fetching from itself', args: ['httpself'] },
  { name: 'a TCP echo server with 50 concurrent client goroutines', args: ['tcpecho', '50'] },
];

function spec(arch: GuestArch, args: string[]): RunSpec {
  return { arch, program: gocheck(arch), args, copyIn: true };
}

/**
 * The reference run for a case. A program that execs its own aarch64 binary runs under qemu-aarch64 only
 * where binfmt_misc hands that exec to qemu too; elsewhere the host kernel refuses it (ENOEXEC), so the
 * same program built for x86-64 and run natively is the reference (its output names no arch).
 */
function reference(arch: GuestArch, c: (typeof CASES)[number]) {
  if (arch === 'aarch64' && c.execsItself && !hasBinfmtAarch64) return canRunNative ? runNative(spec('x86_64', c.args)) : null;
  return runReference(spec(arch, c.args));
}

for (const arch of ARCHES) {
  describe.runIf(haveGoGuests())(`Go programs (${arch})`, () => {
    for (const c of CASES) {
      it(c.name, () => {
        const tsl = runTslinux(spec(arch, c.args));
        const ref = reference(arch, c);
        expect(tsl.exitCode, tsl.stderr).toBe(0);
        if (ref) expect(visible(tsl)).toEqual(visible(ref));
        else expect(tsl.stdout).not.toBe('');
      });
    }

    it('an unrecovered panic prints its goroutine trace and exits 2', () => {
      const tsl = runTslinux(spec(arch, ['panic']));
      expect(tsl.exitCode).toBe(2);
      expect(tsl.stdout).toBe('about to panic\n');
      // Argument words in the trace are addresses; compare the lines that are not.
      const head = (s: string): string[] => s.split('\n').slice(0, 3);
      expect(head(tsl.stderr)).toEqual(['panic: deliberate panic, map has 0 entries', '', 'goroutine 1 [running]:']);
      expect(tsl.stderr).toMatch(/main\.deepPanic\(/);
      expect(tsl.stderr).toMatch(/main\.panicCase\(/);
      if (hasReference(arch)) {
        const ref = runReference(spec(arch, ['panic']))!;
        expect(ref.exitCode).toBe(2);
        expect(head(tsl.stderr)).toEqual(head(ref.stderr));
        // The same frames, in the same order.
        const frames = (s: string): string[] => s.split('\n').filter((l) => /^main\./.test(l)).map((l) => l.replace(/\(.*/, ''));
        expect(frames(tsl.stderr)).toEqual(frames(ref.stderr));
      }
    });
  });
}
