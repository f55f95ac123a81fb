// End to end: the host streams around `tslinux run`. stdin, stdout and stderr
// are each a pipe, a FIFO, a regular file, a socket, /dev/null or a tty,
// with a real host process or thread on the other end (Python's
// subprocess.communicate, a C program writing in bursts with pauses, the
// host's head(1) closing early), and the guest reads them 1 byte to 1 MiB at
// a time. Each case runs the same plumbing (test/fixtures/streams/plumb.py)
// around the x86-64 program natively and around tslinux on both arches, and
// stdout, stderr and the exit status must be the same. Loops inside the
// guest (20 readers in turn on one stdin, 5000 lines through a shell's
// read) repeat what used to fail only now and then. Nothing here looks at a
// clock: each run waits for its output and its exit.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inSample, optionalTool, sampledTitle } from './helpers/tools.ts';
import { ARCHES, CLI, FIXED_ENV, QEMU, ROOT, canRunNative, debianBin, makeTempDir, removeTempDir, type GuestArch } from './helpers/e2e.ts';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'streams');
/** A hang is killed after this long and reported as such (never waited out). */
const HANG_S = 300;
const TEST_MS = 900_000;

type OutputKind = 'pipe' | 'fifo' | 'file' | 'append' | 'socket' | 'null' | 'tty' | 'communicate' | 'stuck' | ['head', ...string[]];
interface Plumbing {
  stdin: 'pipe' | 'fifo' | 'file' | 'socket' | 'null' | 'tty' | 'writer' | 'communicate';
  stdout: OutputKind;
  /** 'stdout': the same description as stdout (2>&1). */
  stderr: OutputKind | 'stdout';
  /** Host path of what stdin delivers. */
  input?: string;
  /** The stdin writer keeps its end open, silent, until the command exits. */
  hold?: boolean;
}
interface Stream {
  len: number;
  sha256: string;
  text?: string;
}
interface Result {
  code: number;
  stdout: Stream;
  stderr: Stream;
  /** stdin 'file': what the command left unread, from the description's offset on. */
  stdin_rest?: Stream;
  timed_out?: boolean;
}

function which(cmd: string): string | null {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(d, cmd);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

const PYTHON = which('python3');
const CC = which('cc') ?? which('gcc');
/** Static compilers for the guest test program, by arch. */
const GUEST_CC: Record<GuestArch, string | null> = { x86_64: which('musl-gcc'), aarch64: which('aarch64-linux-gnu-gcc') };

/** Debian's static mksh (the musl build), fetched with the other Debian binaries when present. */
function mkshPath(arch: GuestArch): string {
  const [deb, triplet] = arch === 'x86_64' ? ['amd64', 'x86_64-linux-musl'] : ['arm64', 'aarch64-linux-musl'];
  return path.join(ROOT, '.cache', 'debian', 'root', `mksh_${deb}`, 'usr', 'lib', triplet, 'bin', 'mksh');
}

let dir = '';
let writer = '';
const data: Record<string, string> = {};

/** A byte pattern with every value in it (no run of it repeats within 128 KiB). */
function binary(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + (i >> 9)) & 0xff;
  return b;
}

function lines(count: number, text: (i: number) => string): string {
  let s = '';
  for (let i = 1; i <= count; i++) s += text(i) + '\n';
  return s;
}

beforeAll(() => {
  dir = makeTempDir();
  for (const arch of ARCHES) {
    fs.mkdirSync(path.join(dir, arch));
    fs.copyFileSync(debianBin(arch, 'busybox'), path.join(dir, arch, 'busybox'));
    fs.copyFileSync(debianBin(arch, 'bash'), path.join(dir, arch, 'bash'));
    if (fs.existsSync(mkshPath(arch))) fs.copyFileSync(mkshPath(arch), path.join(dir, arch, 'mksh'));
    for (const name of ['busybox', 'bash', 'mksh']) if (fs.existsSync(path.join(dir, arch, name))) fs.chmodSync(path.join(dir, arch, name), 0o755);
    fs.writeFileSync(path.join(dir, arch, 'data1m'), binary(1 << 20));
  }
  const put = (name: string, content: string | Buffer): void => {
    data[name] = path.join(dir, name);
    fs.writeFileSync(data[name], content);
  };
  put('empty', '');
  put('one', 'x');
  put('65535', binary(65535));
  put('65537', binary(65537));
  put('1m', binary(1 << 20));
  put('lines', lines(5000, (i) => `line ${i} of five thousand`));
  put('Text', lines(3000, (i) => `The Quick Brown Fox ${i} jumps Over the lazy dog`));
  put('small', lines(30, (i) => `hello world ${i}`));
  if (CC) {
    writer = path.join(dir, 'burst-writer');
    execFileSync(CC, ['-O2', '-o', writer, path.join(FIXTURES, 'burst-writer.c')]);
  }
});

afterAll(() => {
  if (dir) removeTempDir(dir);
});

/** Run `cmd` in `cwd` inside the plumbing (plumb.py), wait for it and everything it wrote. */
function plumb(cmd: string[], cwd: string, p: Plumbing): Promise<Result> {
  const spec = { cmd, cwd, ...p, writer, timeout: HANG_S };
  return new Promise((resolve, reject) => {
    execFile(PYTHON!, [path.join(FIXTURES, 'plumb.py'), JSON.stringify(spec)], { env: { ...FIXED_ENV }, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`plumb.py failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Result);
    });
  });
}

function native(args: string[], p: Plumbing): Promise<Result> {
  return plumb(args, path.join(dir, 'x86_64'), p);
}

function tslinux(arch: GuestArch, args: string[], p: Plumbing): Promise<Result> {
  return plumb([process.execPath, CLI, 'run', ...args], path.join(dir, arch), p);
}

/**
 * The arches the current case of the host-streams suite runs on: those whose
 * sample holds it (inSample: x86-64 always, aarch64 every third case in npm
 * test), as sampled() does for the other end-to-end suites. The
 * plumbing is the kernel's fd and scheduler code, the same on both arches;
 * aarch64's own ABI shows in any case. Set before each case from the title
 * sampledCase() registered; the cases of that suite run one after another.
 */
let caseArches: readonly GuestArch[] = ARCHES;
const archesByTitle = new Map<string, readonly GuestArch[]>();

/** `title`, registered as the next case of the host-streams suite (see caseArches). */
function sampledCase(title: string): string {
  const i = archesByTitle.size;
  archesByTitle.set(title, ARCHES.filter((arch) => inSample(arch, i)));
  return title;
}

/** The same command natively (x86-64) and under tslinux on the case's arches: every result must be the native one. */
async function sameAsNative(args: string[], p: Plumbing): Promise<Result> {
  const arches = caseArches;
  const [want, ...got] = await Promise.all([native(args, p), ...arches.map((arch) => tslinux(arch, args, p))]);
  expect(want.timed_out, 'the native run hung').toBeUndefined();
  arches.forEach((arch, i) => expect({ arch, ...got[i] }).toEqual({ arch, ...want }));
  return want;
}

/** sh: K guest dd processes each read C blocks of BS bytes from stdin in turn, then one more reads the rest. */
function ddLoop(bs: number, k: number, c: number): string[] {
  const loop = k > 0 ? `i=0; while [ $i -lt ${k} ]; do ./busybox dd bs=${bs} count=${c} iflag=fullblock status=none || exit; i=$((i+1)); done; ` : '';
  return ['./busybox', 'sh', '-c', `${loop}./busybox dd bs=${bs} status=none; echo "dd $?" >&2`];
}

/** A title that names what a skipped test lacks. */
function needing(title: string, missing: string | null): string {
  if (missing) optionalTool(missing, false);
  return missing ? `${title} [skipped: needs ${missing}]` : title;
}

const hostMissing = !PYTHON ? 'python3' : !canRunNative ? 'an x86-64 Linux host (the native reference)' : null;

describe.skipIf(hostMissing)(needing(sampledTitle('aarch64', 'host streams around tslinux run, compared with native'), hostMissing), () => {
  beforeEach(({ task }) => {
    caseArches = archesByTitle.get(task.name) ?? ARCHES;
  });
  // stdin/stdout/stderr kinds, data size, read size and the readers-in-turn loop, in combinations.
  const rows: [Plumbing['stdin'], OutputKind, OutputKind, string, number, number, number][] = [
    ['communicate', 'communicate', 'communicate', '65537', 7, 20, 10],
    ['fifo', 'file', 'socket', '65535', 1, 20, 20],
    ['file', 'socket', 'fifo', '1m', 4096, 20, 2],
    ['socket', 'fifo', 'file', '1m', 65536, 5, 1],
    ['null', 'tty', 'null', 'empty', 1 << 20, 20, 1],
    ['tty', 'pipe', 'tty', 'lines', 4096, 4, 1],
    ['pipe', 'null', 'pipe', 'one', 1, 20, 1],
  ];
  for (const [stdin, stdout, stderr, input, bs, k, c] of rows) {
    it(sampledCase(`stdin ${stdin}, stdout ${stdout}, stderr ${stderr}: ${k} readers in turn then one to the end, ${bs}-byte reads of ${input} bytes`), async () => {
      const r = await sameAsNative(ddLoop(bs, k, c), { stdin, stdout, stderr, input: data[input] });
      expect(r.stdout.len).toBe(stdout === 'null' ? 0 : fs.statSync(data[input]!).size);
    }, TEST_MS);
  }

  it.skipIf(!CC)(sampledCase(needing('a C writer in bursts with pauses: 1 MiB read a whole MiB at a time, 3000 lines through bash read, text through tr', CC ? null : 'a C compiler (cc)')), async () => {
    await sameAsNative(ddLoop(1 << 20, 0, 0), { stdin: 'writer', stdout: 'pipe', stderr: 'pipe', input: data['1m'] });
    const echoed = await sameAsNative(['./bash', '-c', 'while IFS= read -r l; do printf "%s\\n" "$l"; done'], { stdin: 'writer', stdout: 'pipe', stderr: 'pipe', input: data.Text });
    expect(echoed.stdout.len).toBe(fs.statSync(data.Text!).size);
    await sameAsNative(['./busybox', 'tr', 'a-z', 'A-Z'], { stdin: 'writer', stdout: 'pipe', stderr: 'pipe', input: data.Text });
  }, TEST_MS);

  const noMksh = fs.existsSync(mkshPath('x86_64')) && fs.existsSync(mkshPath('aarch64')) ? null : 'mksh (sh scripts/debian-fetch.sh bookworm .cache/debian mksh:amd64 mksh:arm64)';
  it.skipIf(noMksh)(sampledCase(needing('mksh counts 3000 lines from a pipe with while read', noMksh)), async () => {
    const r = await sameAsNative(['./mksh', '-c', 'n=0; while read -r l; do n=$((n+1)); done; echo $n'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', input: data.Text });
    expect(r.stdout.text).toBe('3000\n');
  }, TEST_MS);

  it(sampledCase('bash counts 5000 lines from a pipe with while read (a byte at a time)'), async () => {
    const r = await sameAsNative(['./bash', '-c', 'n=0; while read -r l; do ((n++)); done; echo $n'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', input: data.lines });
    expect(r.stdout.text).toBe('5000\n');
  }, TEST_MS);

  it(sampledCase('busybox: wc -c of 1 MiB a parent writes through a pipe; cat of 1 MiB from a socket; tr on 30 small inputs in turn'), async () => {
    const wc = await sameAsNative(['./busybox', 'wc', '-c'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', input: data['1m'] });
    expect(wc.stdout.text?.trim()).toBe(String(1 << 20));
    await sameAsNative(['./busybox', 'cat'], { stdin: 'socket', stdout: 'pipe', stderr: 'pipe', input: data['1m'] });
    const tr = await sameAsNative(['./busybox', 'sh', '-c', 'while read -r l; do echo "$l" | ./busybox tr a-z A-Z; done'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', input: data.small });
    expect(tr.stdout.text).toBe(fs.readFileSync(data.small!, 'latin1').toUpperCase());
  }, TEST_MS);

  it(sampledCase('a guest that leaves while its read of a silent socket or tty waits: the run ends with it'), async () => {
    // busybox sh, not bash: bash reads ~/.bashrc when its stdin is a socket (as under rshd), which differs between host and guest.
    const args = ['./busybox', 'sh', '-c', 'read -t 1 x; echo "read: $?"'];
    for (const stdin of ['socket', 'tty'] as const) {
      const r = await sameAsNative(args, { stdin, stdout: 'pipe', stderr: 'pipe', input: data.empty, hold: true });
      expect(r.stdout.text).toBe('read: 1\n');
    }
  }, TEST_MS);

  it(sampledCase('a regular file shared with the host: what the guest leaves of stdin stays for the next reader; > out 2>&1 and >> log'), async () => {
    const text = fs.readFileSync(data.Text!, 'latin1');
    const firstLine = text.slice(0, text.indexOf('\n') + 1);
    // busybox head reads a block, then seeks back to just after the line it printed.
    const head = await sameAsNative(['./busybox', 'head', '-n', '1'], { stdin: 'file', stdout: 'pipe', stderr: 'pipe', input: data.Text });
    expect(head.stdout.text).toBe(firstLine);
    expect(head.stdin_rest?.len).toBe(text.length - firstLine.length);
    // tail seeks to the end; bash's read takes a chunk and seeks back.
    await sameAsNative(['./busybox', 'tail', '-c', '100'], { stdin: 'file', stdout: 'pipe', stderr: 'pipe', input: data.Text });
    await sameAsNative(['./bash', '-c', 'read -r a; read -r b; echo "$b"'], { stdin: 'file', stdout: 'pipe', stderr: 'pipe', input: data.Text });
    const both = await sameAsNative(['./busybox', 'sh', '-c', 'echo a; echo b >&2; ./busybox echo c; echo d >&2'], { stdin: 'null', stdout: 'file', stderr: 'stdout' });
    expect(both.stdout.text).toBe('a\nb\nc\nd\n');
    const log = await sameAsNative(['./busybox', 'sh', '-c', 'echo one; echo two >&2'], { stdin: 'null', stdout: 'append', stderr: 'stdout' });
    expect(log.stdout.text).toBe('before\none\ntwo\n');
    // The guest's stdin is open as the host's is: read-only here, so writing to it is EBADF.
    const readOnly = await sameAsNative(['./bash', '-c', 'echo x >&0; echo "status $?"'], { stdin: 'file', stdout: 'pipe', stderr: 'pipe', input: data.one });
    expect(readOnly.stdout.text).toBe('status 1\n');
  }, TEST_MS);

  it(sampledCase('50 MiB of host stdin into busybox wc -c'), async () => {
    const big = path.join(dir, '50m');
    const block = binary(1 << 20);
    fs.writeFileSync(big, Buffer.concat(Array.from({ length: 50 }, () => block)));
    const r = await sameAsNative(['./busybox', 'wc', '-c'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', input: big });
    expect(r.stdout.text?.trim()).toBe(String(50 << 20));
    fs.rmSync(big);
  }, TEST_MS);

  describe('a reader that goes away: EPIPE and SIGPIPE as on Linux', () => {
    it(sampledCase('busybox yes | head -n 1: yes dies of SIGPIPE (exit 141)'), async () => {
      const r = await sameAsNative(['./busybox', 'yes'], { stdin: 'null', stdout: ['head', '-n', '1'], stderr: 'null' });
      expect(r).toMatchObject({ code: 141, stdout: { text: 'y\n' } });
    }, TEST_MS);

    it(sampledCase('busybox yes | head -n 1 prints nothing on stderr, as a native shell'), async () => {
      await sameAsNative(['./busybox', 'yes'], { stdin: 'null', stdout: ['head', '-n', '1'], stderr: 'pipe' });
    }, TEST_MS);

    it(sampledCase('a guest child killed by SIGPIPE is seen by its shell as 141; a 4 MiB dd into head -c 100 dies of it midway'), async () => {
      const sh = await sameAsNative(['./busybox', 'sh', '-c', './busybox yes; echo "yes: $?" >&2'], { stdin: 'null', stdout: ['head', '-c', '5'], stderr: 'pipe' });
      expect(sh).toMatchObject({ code: 0, stdout: { text: 'y\ny\ny' }, stderr: { text: 'yes: 141\n' } });
      const dd = await sameAsNative(['./busybox', 'sh', '-c', './busybox dd if=/dev/zero bs=1048576 count=4 status=none; echo "dd: $?" >&2'], { stdin: 'null', stdout: ['head', '-c', '100'], stderr: 'pipe' });
      expect(dd).toMatchObject({ code: 0, stdout: { len: 100 }, stderr: { text: 'dd: 141\n' } });
    }, TEST_MS);

    it(sampledCase('with SIGPIPE ignored, the writer gets EPIPE instead'), async () => {
      const r = await sameAsNative(['./bash', '-c', 'trap "" PIPE; ./busybox yes; echo "yes: $?" >&2'], { stdin: 'null', stdout: ['head', '-n', '2'], stderr: 'pipe' });
      expect(r.stderr.text).toMatch(/Broken pipe/);
    }, TEST_MS);
  });

  it(sampledCase('guest pipes: one 1 MiB write read a byte at a time by the next process, which leaves after 65537 bytes'), async () => {
    const r = await sameAsNative(['./busybox', 'sh', '-c', './busybox dd if=data1m bs=1048576 status=none | ./busybox dd bs=1 count=65537 status=none | ./busybox md5sum'], {
      stdin: 'null',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(r.stdout.text).toMatch(/^[0-9a-f]{32} {2}-\n$/);
  }, TEST_MS);
});

describe('blocking pipe writes (pipe(7)): whole, or the count so far when a handler interrupts them', () => {
  for (const arch of ARCHES) {
    const cc = GUEST_CC[arch];
    const reference = arch === 'x86_64' ? (canRunNative ? 'native' : null) : QEMU ? 'qemu' : canRunNative ? 'native' : null;
    const missing = !cc ? (arch === 'x86_64' ? 'musl-gcc' : 'aarch64-linux-gnu-gcc') : !reference ? 'a native x86-64 host or qemu-aarch64' : null;
    it.skipIf(missing)(needing(`pipe-writes on ${arch}, compared with ${reference}`, missing), async () => {
      const dirArch = path.join(dir, arch);
      const prog = path.join(dirArch, 'pipe-writes');
      execFileSync(cc!, ['-static', '-O2', '-o', prog, path.join(FIXTURES, 'pipe-writes.c')]);
      let refArgs: string[] = [prog];
      if (reference === 'qemu') refArgs = [QEMU!, prog];
      else if (arch === 'aarch64') {
        // No qemu-aarch64: the x86-64 build's native output is the reference (the program prints no arch-specific text).
        const x86 = path.join(dir, 'x86_64', 'pipe-writes');
        execFileSync(GUEST_CC.x86_64 ?? CC!, ['-static', '-O2', '-o', x86, path.join(FIXTURES, 'pipe-writes.c')]);
        refArgs = [x86];
      }
      const plumbing: Plumbing = { stdin: 'null', stdout: 'pipe', stderr: 'pipe' };
      const [want, got] = await Promise.all([plumb(refArgs, dirArch, plumbing), tslinux(arch, ['./pipe-writes'], plumbing)]);
      expect(want.stdout.text).toContain('1 MiB write interrupted, no SA_RESTART: 65536\n');
      expect(got).toEqual(want);
      // The same on the host's side: stdout is a pipe nobody reads while the program runs.
      const stuck: Plumbing = { stdin: 'null', stdout: 'stuck', stderr: 'pipe' };
      const [wantHost, gotHost] = await Promise.all([plumb([...refArgs, 'stdout'], dirArch, stuck), tslinux(arch, ['./pipe-writes', 'stdout'], stuck)]);
      expect(wantHost.stderr.text).toBe('1 MiB write to stdout interrupted: 65536\n');
      expect(gotHost).toEqual(wantHost);
    }, TEST_MS);
  }
});
