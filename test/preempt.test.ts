// Pre-emption: a task that makes no syscall is stopped at the end of its
// slice, exactly between two translated blocks (src/cpu/block-stop.ts), and
// goes on later as if nothing happened. Three levels:
// - the engine alone, with hand-assembled programs (bytes beside their
//   assembly, as `as -msyntax=intel` and `aarch64-linux-gnu-as` encode
//   them): a checksum stopped at every block boundary ends as one never
//   stopped, and a syscall hook's stop wins over the block stop;
// - the kernel: the preempt C guest (guest-binaries/src/preempt.c) checksums
//   memory with 1 ms slices while another thread writes a pipe, and a
//   spinning thread no longer starves the others (C, busybox sh, Go);
// - the command line: SIGINT, SIGHUP, SIGQUIT and SIGTERM sent to tslinux
//   reach a guest spinning without syscalls.
// No assertion is about time: tests wait for output, then signal, then wait
// for the exit. A broken pre-emption shows as a hang, which --timeout (a
// safety net, far above the expected run time) turns into a failure.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { optionalTool } from './helpers/tools.ts';
import { keepEngines } from './helpers/engines.ts';
import { CpuEngine, type CpuArch, type SliceLimit } from '../src/cpu/engine.ts';
import * as UC from '../src/cpu/unicorn-constants.ts';
import { Kernel } from '../src/kernel/kernel.ts';
import { ALL_SYSCALLS } from '../syscalls/index.ts';
import { unicornBackend } from '../src/cpu/guest-engine.ts';
import { ARCHES, CLI, FIXED_ENV, ROOT, canRunNative, debianBin, guestPath, hasReference, runCli, runReference, type GuestArch } from './helpers/e2e.ts';

const CODE = 0x10000;
const DATA = 0x20000;
const STACK = 0x30000;
const PAGE = 0x1000;

/** aarch64 instructions are 32-bit little-endian words. */
function a64(...words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  return out;
}

const XREG = (n: number): number => UC.UC_ARM64_REG_X0 + n;

/**
 * checksum(base, rounds): rounds x 512 calls of mix() over 512 words, each
 * followed by a read-modify-write store; a syscall at the end. Calls,
 * returns, chained loop blocks and stores between block boundaries: resuming
 * a block that had started would redo a store and change the result.
 */
const CHECKSUM = {
  x86_64: {
    // rbx = base, rcx = rounds, r12 = checksum
    code: Uint8Array.from([
      0x4d, 0x31, 0xe4, //                         xor  r12, r12
      0x48, 0x31, 0xf6, //                   outer: xor rsi, rsi
      0xe8, 0x17, 0x00, 0x00, 0x00, //       inner: call mix
      0x4c, 0x01, 0x24, 0xf3, //                   add  qword ptr [rbx+rsi*8], r12
      0x48, 0xff, 0xc6, //                         inc  rsi
      0x48, 0x81, 0xfe, 0x00, 0x02, 0x00, 0x00, // cmp  rsi, 512
      0x75, 0xeb, //                               jne  inner
      0x48, 0xff, 0xc9, //                         dec  rcx
      0x75, 0xe3, //                               jne  outer
      0x0f, 0x05, //                               syscall
      0x48, 0x8b, 0x04, 0xf3, //             mix: mov  rax, qword ptr [rbx+rsi*8]
      0x4d, 0x69, 0xe4, 0xb1, 0x79, 0x37, 0x00, // imul r12, r12, 0x3779b1
      0x49, 0x01, 0xc4, //                         add  r12, rax
      0x49, 0xc1, 0xc4, 0x0d, //                   rol  r12, 13
      0xc3, //                                     ret
    ]),
    base: UC.UC_X86_REG_RBX,
    rounds: UC.UC_X86_REG_RCX,
    sum: UC.UC_X86_REG_R12,
    sp: UC.UC_X86_REG_RSP,
  },
  aarch64: {
    // x1 = base, x2 = rounds, x12 = checksum
    code: a64(
      0xd280000c, //        mov  x12, #0
      0xd2800004, // outer: mov  x4, #0
      0x9400000a, // inner: bl   mix
      0xf8647825, //        ldr  x5, [x1, x4, lsl #3]
      0x8b0c00a5, //        add  x5, x5, x12
      0xf8247825, //        str  x5, [x1, x4, lsl #3]
      0x91000484, //        add  x4, x4, #1
      0xf108009f, //        cmp  x4, #512
      0x54ffff41, //        b.ne inner
      0xf1000442, //        subs x2, x2, #1
      0x54fffee1, //        b.ne outer
      0xd4000001, //        svc  #0
      0xf8647826, //   mix: ldr  x6, [x1, x4, lsl #3]
      0xd28f3627, //        mov  x7, #0x79b1
      0xf2a006e7, //        movk x7, #0x37, lsl #16
      0x9b077d8c, //        mul  x12, x12, x7
      0x8b06018c, //        add  x12, x12, x6
      0x93cc358c, //        ror  x12, x12, #13
      0xd65f03c0, //        ret
    ),
    base: XREG(1),
    rounds: XREG(2),
    sum: XREG(12),
    sp: UC.UC_ARM64_REG_SP,
  },
} as const;

/**
 * loop: count += 1; syscall; repeat. The hook reads the count at each
 * syscall; every third call it "blocks" (stops, to be retried from the
 * syscall instruction, as the kernel does).
 */
const RETRY_LOOP = {
  // add r13, 1 ; syscall ; jmp loop
  x86_64: { code: Uint8Array.from([0x49, 0x83, 0xc5, 0x01, 0x0f, 0x05, 0xeb, 0xf8]), count: UC.UC_X86_REG_R13, syscallAt: CODE + 4 },
  // add x13, x13, #1 ; svc #0 ; b loop
  aarch64: { code: a64(0x910005ad, 0xd4000001, 0x17fffffe), count: XREG(13), syscallAt: CODE + 4 },
} as const;

const engines = keepEngines();
const engine = engines.engine;
const mapKept = engines.map;

const preemptionWorks = ((): boolean => {
  const probe = new CpuEngine('x86_64', { onSyscall: () => {}, preemptible: true });
  const ok = probe.preemptible;
  probe.close();
  return ok;
})();
if (!preemptionWorks) console.log('preempt.test: this host cannot pre-empt engines (Linux x86-64 only, see src/cpu/block-stop.ts); those tests are skipped');

interface ChecksumRun {
  words: bigint[];
  sum: bigint;
  preemptions: number;
}

/** Run CHECKSUM to its syscall, resuming at the engine's pc after every pre-emption. */
function runChecksum(arch: CpuArch, rounds: number, slice: SliceLimit | null): ChecksumRun {
  const p = CHECKSUM[arch];
  const cpu = engine(arch, (c) => c.stop());
  const code = new Uint8Array(PAGE);
  code.set(p.code);
  const data = new Uint8Array(PAGE);
  const words = new BigUint64Array(data.buffer);
  words.forEach((_, i) => (words[i] = BigInt(i) * 0x100000001b3n));
  const stack = new Uint8Array(PAGE);
  mapKept(cpu, CODE, code, 5);
  mapKept(cpu, DATA, data, 3);
  mapKept(cpu, STACK, stack, 3);
  cpu.writeRegister(p.base, DATA);
  cpu.writeRegister(p.rounds, rounds);
  cpu.writeRegister(p.sp, STACK + PAGE - 64);
  let pc = CODE;
  let preemptions = 0;
  for (;;) {
    const r = cpu.run(pc, { slice });
    if (r.kind !== 'preempted') {
      expect(r).toEqual({ kind: 'stopped' });
      break;
    }
    preemptions++;
    pc = cpu.pc();
  }
  // readRegister is exact below 2^53 only: read the whole 64-bit checksum raw.
  const raw = new Uint8Array(8);
  cpu.readRaw(p.sum, raw);
  return { words: Array.from(words), sum: new BigUint64Array(raw.buffer)[0]!, preemptions };
}

describe.each(['x86_64', 'aarch64'] as const)('the engine pre-empted between blocks (%s)', (arch) => {
  it.skipIf(!preemptionWorks)('stopped at every 1st, 2nd, 3rd, 5th, 7th and 13th block, a checksum ends as if never stopped', () => {
    const reference = runChecksum(arch, 6, null);
    expect(reference.preemptions).toBe(0);
    for (const blocks of [1, 2, 3, 5, 7, 13]) {
      const stopped = runChecksum(arch, 6, { blocks });
      expect(stopped.preemptions, `every ${blocks} blocks`).toBeGreaterThan(6 * 512 / blocks);
      expect(stopped.sum, `every ${blocks} blocks`).toBe(reference.sum);
      expect(stopped.words, `every ${blocks} blocks`).toEqual(reference.words);
    }
  });

  it.skipIf(!preemptionWorks)('stopped by its CPU-time slice, many times, a checksum ends as if never stopped', () => {
    const reference = runChecksum(arch, 300, null);
    const stopped = runChecksum(arch, 300, { ms: 0.02 });
    expect(stopped.preemptions).toBeGreaterThan(10);
    expect(stopped.sum).toBe(reference.sum);
    expect(stopped.words).toEqual(reference.words);
  });

  it.skipIf(!preemptionWorks)('a syscall hook that stops wins over the block stop: the retried syscall is neither lost nor doubled', () => {
    const p = RETRY_LOOP[arch];
    const seen: number[] = [];
    let retry = false;
    const cpu = engine(arch, (c) => {
      const count = c.readRegister(p.count);
      seen.push(count);
      // Every third call blocks once: the kernel stops and later runs the syscall instruction again.
      retry = count % 3 === 0 && seen.filter((n) => n === count).length === 1;
      if (retry) c.stop();
    });
    const code = new Uint8Array(PAGE);
    code.set(p.code);
    mapKept(cpu, CODE, code, 5);
    let pc = CODE;
    const kinds = new Set<string>();
    // One block per run: the block stop fires right after every syscall, with or without the hook's stop.
    while (seen.length < 300) {
      const r = cpu.run(pc, { slice: { blocks: 1 } });
      kinds.add(r.kind);
      if (r.kind === 'stopped') {
        expect(retry).toBe(true);
        pc = p.syscallAt; // retry the blocked call, as Kernel.onSyscall's task.pc says
      } else {
        expect(r.kind).toBe('preempted');
        pc = cpu.pc();
      }
    }
    expect(kinds).toEqual(new Set(['stopped', 'preempted']));
    const expected: number[] = [];
    for (let n = 1; expected.length < seen.length; n++) {
      expected.push(n);
      if (n % 3 === 0) expected.push(n);
    }
    expect(seen).toEqual(expected.slice(0, seen.length));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The kernel and the command line
// ---------------------------------------------------------------------------------------------------------------

/** The preempt guest's checksum output (the computation is the same on both arches, and natively). */
const CHECKSUM_OUTPUT = 'checksum 39031a90e6416e5e after 16 rounds\npipe: 2000 numbers in order\n';

/** A safety net far above the expected run time: a run that hangs fails instead of blocking the suite. */
const NET = ['--timeout', '300'];

describe.each(ARCHES)('the kernel pre-empts tasks that make no syscall (%s)', (arch) => {
  it.skipIf(!preemptionWorks)('a checksum in a syscall-free loop, pre-empted every 1 ms while another thread writes a pipe, is right every time', () => {
    if (hasReference(arch)) expect(runReference({ arch, program: guestPath(arch, 'preempt'), args: ['checksum'] })!.stdout).toBe(CHECKSUM_OUTPUT);
    for (let i = 0; i < 4; i++) {
      const k = new Kernel({ syscalls: ALL_SYSCALLS, cpu: unicornBackend, program: guestPath(arch, 'preempt'), argv: ['preempt', 'checksum'], env: [], stdout: 'capture', stderr: 'capture', mountCwd: false, sliceMs: 1 });
      const r = k.run();
      expect(r.stderr.toString()).toBe('');
      expect(r.stdout.toString()).toBe(CHECKSUM_OUTPUT);
      expect(r.exitCode).toBe(0);
      expect(k.preemptions).toBeGreaterThan(5);
    }
  });

  it.skipIf(!preemptionWorks)('a thread spinning without syscalls does not starve one that sleeps and prints', async () => {
    const r = await runCli(['run', ...NET, guestPath(arch, 'preempt'), 'fair']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\nspinner stopped\n');
    expect(r.code).toBe(0);
  });

  it.skipIf(!preemptionWorks)('--deterministic: the spinner is pre-empted after a count of blocks, the same way twice', async () => {
    const runs = await Promise.all([0, 1].map(() => runCli(['run', ...NET, '--deterministic', '-f', guestPath(arch, 'preempt'), 'fair'])));
    for (const r of runs) {
      expect(r.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\nspinner stopped\n');
      expect(r.code).toBe(0);
    }
    // -f traces every thread's calls to stderr: the interleaving is the same both times.
    expect(runs[1]!.stderr).toBe(runs[0]!.stderr);
  });

  it.skipIf(!preemptionWorks)('busybox sh: a background job spinning in the shell does not stop the foreground loop', async () => {
    const script = '(while :; do :; done) & for i in 1 2 3; do echo tick $i; sleep 0.01; done; kill $!; wait $!; echo "spinner ended: $?"';
    const r = await runCli(['run', ...NET, debianBin(arch, 'busybox'), 'sh', '-c', script]);
    expect(r.stdout).toBe('tick 1\ntick 2\ntick 3\nspinner ended: 143\n');
    expect(r.code).toBe(0);
    if (canRunNative) {
      const native = spawnSync(debianBin('x86_64', 'busybox'), ['sh', '-c', script], { encoding: 'latin1', timeout: 60_000 });
      expect(native.stdout).toBe(r.stdout);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Host signals through the command line
// ---------------------------------------------------------------------------------------------------------------

/** A tslinux CLI process whose output the test can wait for. */
class CliProcess {
  private out = '';
  private err = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  private readonly child;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...FIXED_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (b: Buffer) => {
      this.out += b.toString('latin1');
      for (const w of this.waiters) w();
    });
    this.child.stderr.on('data', (b: Buffer) => (this.err += b.toString('latin1')));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.out, stderr: this.err })));
  }

  /** Resolves once stdout contains `text` (the test's timeout is the only limit). */
  waitFor(text: string): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.out.includes(text)) resolve();
      };
      this.waiters.push(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/**
 * Start the CLI, wait for the guest's "ready", then send each step's signal
 * and wait for its output (all output so far), then send `last` and wait
 * for the exit.
 */
async function signalSession(args: string[], steps: [NodeJS.Signals, string][], last: NodeJS.Signals): Promise<{ code: number | null; stdout: string }> {
  const p = new CliProcess(['run', ...NET, ...args]);
  await p.waitFor('ready\n');
  for (const [signal, output] of steps) {
    p.kill(signal);
    await p.waitFor(output);
  }
  p.kill(last);
  return p.exited;
}

describe.each(ARCHES)('host signals reach a guest spinning without syscalls (%s)', (arch) => {
  it.skipIf(!preemptionWorks)('a C guest that handles SIGINT, SIGHUP and SIGQUIT keeps spinning; SIGTERM kills it (143)', async () => {
    const steps: [NodeJS.Signals, string][] = [
      ['SIGINT', 'ready\nhandled 2\n'],
      ['SIGHUP', 'ready\nhandled 2\nhandled 1\n'],
      ['SIGQUIT', 'ready\nhandled 2\nhandled 1\nhandled 3\n'],
    ];
    const r = await signalSession([guestPath(arch, 'preempt'), 'spin', 'handle'], steps, 'SIGTERM');
    expect(r.stdout).toBe('ready\nhandled 2\nhandled 1\nhandled 3\n');
    expect(r.code).toBe(143);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129], ['SIGQUIT', 131]] as const) {
    it.skipIf(!preemptionWorks)(`an unhandled ${signal} ends a C guest's spin with ${code}`, async () => {
      const r = await signalSession([guestPath(arch, 'preempt'), 'spin'], [], signal);
      expect(r.stdout).toBe('ready\n');
      expect(r.code).toBe(code);
    });
  }

  it.skipIf(!preemptionWorks)('busybox sh: a trap on INT runs inside a busy loop and the loop goes on; SIGTERM ends it', async () => {
    const script = 'trap "echo trapped INT" INT; echo ready; while :; do :; done';
    const steps: [NodeJS.Signals, string][] = [
      ['SIGINT', 'ready\ntrapped INT\n'],
      ['SIGINT', 'ready\ntrapped INT\ntrapped INT\n'],
    ];
    const r = await signalSession([debianBin(arch, 'busybox'), 'sh', '-c', script], steps, 'SIGTERM');
    expect(r.stdout).toBe('ready\ntrapped INT\ntrapped INT\n');
    expect(r.code).toBe(143);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Go: a CPU-bound goroutine and a ticker
// ---------------------------------------------------------------------------------------------------------------

const GOSPIN_SRC = path.join(ROOT, 'guest-binaries', 'src', 'gospin');
const hasGo = optionalTool('go', spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0, 'apt-get install golang-go');

/**
 * Build guest-binaries/src/gospin for both arches into a directory of the
 * host's temp dir named by the source's hash (its own GOCACHE beside it),
 * so repeated runs reuse it and nothing shared is written.
 */
function buildGospin(): Record<GuestArch, string> {
  const hash = createHash('sha256');
  for (const f of fs.readdirSync(GOSPIN_SRC).sort()) hash.update(f).update(fs.readFileSync(path.join(GOSPIN_SRC, f)));
  hash.update(spawnSync('go', ['version'], { encoding: 'utf8' }).stdout);
  const out = path.join(os.tmpdir(), `tslinux-gospin-${hash.digest('hex').slice(0, 16)}`);
  const bins = { x86_64: path.join(out, 'x86_64', 'gospin'), aarch64: path.join(out, 'aarch64', 'gospin') };
  for (const [arch, goarch] of [['x86_64', 'amd64'], ['aarch64', 'arm64']] as const) {
    if (fs.existsSync(bins[arch])) continue;
    const tmp = `${bins[arch]}.${process.pid}`;
    const r = spawnSync('go', ['build', '-trimpath', '-ldflags=-s -w -buildid=', '-o', tmp, '.'], {
      cwd: GOSPIN_SRC,
      env: { ...process.env, CGO_ENABLED: '0', GOARCH: goarch, GOFLAGS: '-mod=mod', GOCACHE: path.join(out, 'gocache'), GOPATH: path.join(out, 'gopath') },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`go build gospin for ${goarch}: ${r.stderr}`);
    fs.renameSync(tmp, bins[arch]);
  }
  return bins;
}

describe.skipIf(!hasGo || !preemptionWorks)('Go: a CPU-bound goroutine does not stop a ticker', () => {
  let bins: Record<GuestArch, string>;
  beforeAll(() => {
    bins = buildGospin();
  }, 600_000);
  for (const arch of ARCHES) {
    for (const procs of ['1', '2']) {
      it(`${arch}, GOMAXPROCS ${procs}`, async () => {
        const r = await runCli(['run', ...NET, bins[arch], procs]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe(`GOMAXPROCS ${procs}\ntick 1\ntick 2\ntick 3\ntick 4\ntick 5\nspinner stopped: true\n`);
        expect(r.code).toBe(0);
      });
    }
  }
});
