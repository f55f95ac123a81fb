// End to end: every test guest (guest-binaries/<arch>/) with every case that
// guest-binaries/check.sh runs, under tslinux, compared with
//   - the same binary run natively (x86_64) or under qemu-aarch64 (aarch64),
//     when this host can do that, and
//   - the recorded reference outputs in guest-binaries/expected/<arch>/,
// which must agree with each other as well. Each run happens in a fresh
// temporary directory with the binary copied in as ./<name> and check.sh's
// environment, like check.sh does.
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ARCHES,
  GUESTS,
  guestPath,
  runCli,
  runReference,
  runTslinux,
  makeTempDir,
  removeTempDir,
  type CliResult,
  type GuestArch,
  type RunSpec,
} from './helpers/e2e.ts';

/** check.sh's environment: `env -i TSL_B=2 TSL_A=1 TSL_A0=x OTHER=no`. */
const CHECK_ENV = { TSL_B: '2', TSL_A: '1', TSL_A0: 'x', OTHER: 'no' };

interface Case {
  name: string;
  bin: string;
  args: string[];
}

/** Split a check.sh argument string the way `eval "set -- $args"` does for the quoting used there. */
function shellWords(s: string): string[] {
  const words: string[] = [];
  const re = /\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))/gy;
  let cur: string | null = null;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(s)) !== null && m[0] !== '') {
    const adjacent = cur !== null && m.index === last && !/^\s/.test(m[0]);
    const piece = m[1] ?? m[2] ?? m[3] ?? '';
    if (adjacent) cur += piece;
    else {
      if (cur !== null) words.push(cur);
      cur = piece;
    }
    last = re.lastIndex;
  }
  if (cur !== null) words.push(cur);
  return words;
}

/** The cases at the top of check.sh: `name|binary|arguments` lines. */
function checkShCases(): Case[] {
  const src = fs.readFileSync(path.join(GUESTS, 'check.sh'), 'utf8');
  const block = /^cases='([^']*)'/m.exec(src);
  if (!block) throw new Error('check.sh: no cases block');
  return block[1]!
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [name, bin, args = ''] = line.split('|');
      return { name: name!, bin: bin!, args: shellWords(args) };
    });
}

const CASES = checkShCases();

function recorded(arch: GuestArch, name: string): { stdout: string; exitCode: number } {
  const base = path.join(GUESTS, 'expected', arch, name);
  return {
    stdout: fs.readFileSync(base + '.out', 'latin1'),
    exitCode: Number(fs.readFileSync(base + '.status', 'utf8').trim()),
  };
}

function spec(arch: GuestArch, c: Case): RunSpec {
  return { arch, program: guestPath(arch, c.bin), args: c.args, env: CHECK_ENV, copyIn: true };
}

describe('the case list', () => {
  it('is read from check.sh', () => {
    expect(CASES.map((c) => c.name)).toEqual(expect.arrayContaining(['hello', 'args', 'crash_segv', 'sieve']));
    expect(CASES.find((c) => c.name === 'args')!.args).toEqual(['one', 'two words', '--three']);
    expect(CASES.find((c) => c.name === 'crash_exit')!.args).toEqual(['exit', '42']);
    expect(CASES.find((c) => c.name === 'hello')!.args).toEqual([]);
  });

  it.each(ARCHES)('covers every guest in guest-binaries/%s and every recorded file', (arch) => {
    // hostile exhausts its host: it never runs natively (test/hostile.test.ts runs it under tslinux only).
    const guests = fs.readdirSync(path.join(GUESTS, arch)).filter((g) => g !== 'hostile').sort();
    expect(guests.length).toBeGreaterThan(0);
    expect([...new Set(CASES.map((c) => c.bin))].sort()).toEqual(guests);
    const files = fs.readdirSync(path.join(GUESTS, 'expected', arch)).sort();
    expect(files).toEqual(CASES.flatMap((c) => [`${c.name}.out`, `${c.name}.status`]).sort());
  });

  it('recorded outputs agree between the arches (apart from AT_PLATFORM)', () => {
    const strip = (s: string): string => s.replace(/^AT_PLATFORM=.*\n/m, '');
    for (const c of CASES) {
      const x = recorded('x86_64', c.name);
      const a = recorded('aarch64', c.name);
      expect({ ...a, stdout: strip(a.stdout) }, c.name).toEqual({ ...x, stdout: strip(x.stdout) });
    }
  });
});

/**
 * Guests that execute themselves again (fork + exec of /proc/self/exe). Under
 * plain qemu-aarch64 that needs binfmt_misc to route aarch64 binaries through
 * qemu; without it the live reference cannot run them, and the recorded
 * outputs (made with binfmt_misc) are the reference.
 */
const REEXECS = new Set(['forkexec', 'pipes', 'selfmod']);
const qemuCanReexec = ['qemu-aarch64', 'aarch64-binfmt-P'].some((n) => fs.existsSync(`/proc/sys/fs/binfmt_misc/${n}`));

for (const arch of ARCHES) {
  const refName = arch === 'x86_64' ? 'native' : 'qemu-aarch64';
  describe(`${arch} guests`, () => {
    for (const c of CASES) {
      const title = `${c.name}: ${c.bin} ${c.args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`.trim();
      it(title, () => {
        const want = recorded(arch, c.name);
        const tsl = runTslinux(spec(arch, c));
        const live = !(arch === 'aarch64' && REEXECS.has(c.bin) && !qemuCanReexec);
        const ref = live ? runReference(spec(arch, c)) : null;
        if (ref) {
          // The reference run and the recorded files must agree...
          expect({ stdout: ref.stdout, exitCode: ref.exitCode }, `${refName} vs expected/${arch}/${c.name}`).toEqual(want);
          // ...and tslinux must match the reference run.
          expect({ stdout: tsl.stdout, exitCode: tsl.exitCode }, `tslinux vs ${refName}`).toEqual({
            stdout: ref.stdout,
            exitCode: ref.exitCode,
          });
        }
        expect({ stdout: tsl.stdout, exitCode: tsl.exitCode }, `tslinux vs expected/${arch}/${c.name}`).toEqual(want);
        // Guests clean up after themselves; the emulated run must not leave anything behind either.
        expect(tsl.files).toEqual({});
        // Only the crash cases die of a signal, and no guest writes to stderr.
        expect(tsl.stderr).toBe('');
        if (!c.name.startsWith('crash_') || c.name === 'crash_exit') {
          expect(tsl.signal).toBeNull();
          expect(tsl.fault).toBeNull();
        }
      });
    }

    describe('crashes (library API)', () => {
      it('crash segv: 139, SIGSEGV at fault address 0x10', () => {
        const r = runTslinux(spec(arch, { name: 'crash_segv', bin: 'crash', args: ['segv'] }));
        expect(r.exitCode).toBe(139);
        expect(r.signal).toBe('SIGSEGV');
        expect(r.fault?.signal).toBe('SIGSEGV');
        expect(r.fault?.addr).toBe(0x10);
        expect(r.stdout).toBe('crash: segv\n');
      });

      it('crash ill: 132, SIGILL', () => {
        const r = runTslinux(spec(arch, { name: 'crash_ill', bin: 'crash', args: ['ill'] }));
        expect(r.exitCode).toBe(132);
        expect(r.signal).toBe('SIGILL');
        expect(r.fault?.signal).toBe('SIGILL');
        // For an instruction fault, si_addr is the faulting instruction.
        expect(r.fault?.addr).toBe(r.fault?.pc);
      });

      it('crash abort: 134, SIGABRT (raised by the guest, not a CPU fault)', () => {
        const r = runTslinux(spec(arch, { name: 'crash_abort', bin: 'crash', args: ['abort'] }));
        expect(r.exitCode).toBe(134);
        expect(r.signal).toBe('SIGABRT');
        expect(r.fault).toBeNull();
      });
    });
  });
}

// The CLI reports a death by signal with exactly one "tslinux: ..." line on stderr.
// (Subprocesses are slow to start: segv on both arches, ill and abort on one each.)
describe('crashes (CLI)', () => {
  const kinds = [
    { arch: 'x86_64', arg: 'segv', code: 139, signal: 'SIGSEGV' },
    { arch: 'aarch64', arg: 'segv', code: 139, signal: 'SIGSEGV' },
    { arch: 'x86_64', arg: 'ill', code: 132, signal: 'SIGILL' },
    { arch: 'aarch64', arg: 'abort', code: 134, signal: 'SIGABRT' },
  ] as const;
  const results = new Map<string, CliResult>();

  beforeAll(async () => {
    const dir = makeTempDir();
    try {
      await Promise.all(
        kinds.map(async (k) => {
          const r = await runCli(['run', '--clear-env', '--cwd', dir, '--mount', `${dir}:${dir}`, guestPath(k.arch, 'crash'), k.arg], { cwd: dir });
          results.set(`${k.arch} ${k.arg}`, r);
        }),
      );
    } finally {
      removeTempDir(dir);
    }
  });

  for (const k of kinds) {
    it(`${k.arch} crash ${k.arg}: exit ${k.code}, one tslinux line naming ${k.signal}`, () => {
      const r = results.get(`${k.arch} ${k.arg}`)!;
      expect(r.code).toBe(k.code);
      expect(r.stdout).toBe(`crash: ${k.arg}\n`);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^tslinux: /);
      expect(lines[0]).toContain(k.signal);
      if (k.arg === 'segv') expect(lines[0]).toMatch(/fault address 0x10\b/);
      expect(r.stderr.endsWith('\n')).toBe(true);
    });
  }
});
