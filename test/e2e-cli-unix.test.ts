// End to end: the command line behaves like a good Unix tool. Pipelines
// that close early (`| head`) end quietly with the status a native command
// gets; option mistakes are one line and exit 2; a file that cannot run
// gives the shell's 126/127 with one line, as execve would refuse it; a #!
// script runs through its interpreter inside the guest; --version says
// what runs. Pipelines run under the host's bash, with the CLI as a real
// process in them; both arches wherever a guest runs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { ARCHES, CLI, ROOT, canRunNative, debianBin, inTempDir, runCli, type CliResult } from './helpers/e2e.ts';

const ENV = { PATH: '/usr/bin:/bin', LANG: 'C' };
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');


/** A bash pipeline with $TSL as the CLI command; it resolves when bash exits. */
function pipeline(script: string, cwd = ROOT): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env: { ...ENV, TSL: `${process.execPath} ${CLI}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1') }));
  });
}

describe.concurrent('a reader that goes away (| head)', () => {
  it('natively, a writer under | head dies of SIGPIPE: status 141 (the reference for what follows)', async ({ expect }) => {
    expect(await pipeline('seq 1 1000000 | head -1; echo "status ${PIPESTATUS[0]}"')).toEqual({ code: 0, stdout: '1\nstatus 141\n', stderr: '' });
  });

  it('tslinux syscalls --json | head -1: no EPIPE stack trace, status 141', async ({ expect }) => {
    expect(await pipeline('$TSL syscalls --json | head -1; echo "status ${PIPESTATUS[0]}"')).toEqual({ code: 0, stdout: '{\nstatus 141\n', stderr: '' });
  });

  it.for(ARCHES)('tslinux run --trace ... 2>&1 | head: the trace stops quietly, status 141 (%s)', async (arch, { expect }) => {
    const r = await pipeline(`$TSL run --trace ${debianBin(arch, 'busybox')} seq 1 1000000 2>&1 | head -3 >/dev/null; echo "status \${PIPESTATUS[0]}"`);
    expect(r).toEqual({ code: 0, stdout: 'status 141\n', stderr: '' });
  });

  it.for(ARCHES)('a guest killed by SIGPIPE under | head: no line on stderr, status 141 as natively (%s)', async (arch, { expect }) => {
    const r = await pipeline(`$TSL run ${debianBin(arch, 'busybox')} seq 1 1000000 | head -2; echo "status \${PIPESTATUS[0]}"`);
    expect(r).toEqual({ code: 0, stdout: '1\n2\nstatus 141\n', stderr: '' });
  });
});

describe.concurrent('signal deaths are reported as bash reports a foreground job', () => {
  // bash (jobs.c) prints nothing for SIGINT and SIGPIPE, a line for the others; the status is 128+n either way.
  it.for(ARCHES)('SIGINT: no line, exit 130; SIGTERM: one line, exit 143 (%s)', async (arch, { expect }) => {
    const bb = debianBin(arch, 'busybox');
    const [int, term] = await Promise.all([runCli(['run', bb, 'sh', '-c', 'kill -INT $$'], { env: ENV }), runCli(['run', bb, 'sh', '-c', 'kill -TERM $$'], { env: ENV })]);
    expect(int).toEqual({ code: 130, stdout: '', stderr: '' });
    expect(term.code).toBe(143);
    expect(lines(term.stderr)).toEqual([expect.stringMatching(/^tslinux: .*busybox: killed by SIGTERM$/)]);
  });
});

describe.concurrent('options given wrongly: exit 2 and one line naming the option', () => {
  const hello = path.join(ROOT, 'guest-binaries', 'x86_64', 'hello');
  it.for([
    [['--deny', 'bogus'], /^tslinux: --deny: invalid system call 'bogus'$/],
    [['--allow', 'read,bogus2'], /^tslinux: --allow: invalid system call 'bogus2'$/],
    [['-e', 'trace=bogus'], /^tslinux: -e trace=bogus: invalid system call 'bogus'$/],
    [['--trace=bogus'], /^tslinux: --trace=bogus: invalid system call 'bogus'$/],
    [['-s', '-1'], /^tslinux: -s wants a non-negative number/],
    [['--inject', 'read:error=EWHAT'], /^tslinux: --inject read:error=EWHAT: inject: invalid error/],
    [['--mount', '/no/such/dir:/x'], /^tslinux: --mount \/no\/such\/dir: no such directory$/],
    [['--mount', 'relative'], /^tslinux: --mount wants HOST:GUEST/],
    [['--cwd', '/nope'], /^tslinux: --cwd \/nope: No such file or directory/],
    [['--cwd', 'relative'], /^tslinux: --cwd wants an absolute guest path$/],
    [['--timeout', 'soon'], /^tslinux: --timeout wants a positive number/],
    [['--memory-limit', 'lots'], /^tslinux: --memory-limit wants a size/],
    [['--uid', 'root'], /^tslinux: --uid wants a number/],
    [['--trace-format=xml'], /^tslinux: --trace-format is text or json/],
    [['--root', '/no/such/root'], /^tslinux: --root \/no\/such\/root: no such directory$/],
    [['--policy', '/no/such/profile.json'], /^tslinux: --policy \/no\/such\/profile\.json: ENOENT$/],
    [['--frobnicate'], /^tslinux: unknown option --frobnicate/],
  ] as [string[], RegExp][])('%j', async ([opts, want], { expect }) => {
    const r = await runCli(['run', ...opts, hello], { env: ENV });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([expect.stringMatching(want)]);
  });

  it('--mount HOST:GUEST:rw is read-write, as without a mode', async ({ expect }) => {
    await inTempDir(async (dir) => {
      const r = await runCli(['run', '--mount', `${dir}:/data:rw`, '--cwd', '/data', debianBin('x86_64', 'busybox'), 'sh', '-c', 'echo hi > f; cat f'], { cwd: ROOT, env: ENV });
      expect(r).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
      expect(fs.readFileSync(path.join(dir, 'f'), 'utf8')).toBe('hi\n');
    });
  });

  it('an option without its value; tslinux syscalls with an unknown option', async ({ expect }) => {
    const [noValue, syscalls] = await Promise.all([runCli(['run', '--timeout']), runCli(['syscalls', '--jsno'])]);
    expect(noValue).toEqual({ code: 2, stdout: '', stderr: 'tslinux: --timeout needs a value\n' });
    expect(syscalls.code).toBe(2);
    expect(lines(syscalls.stderr)).toEqual([expect.stringMatching(/^tslinux: syscalls: unknown option --jsno/)]);
  });
});

describe.concurrent('a program that cannot run: one line and the status a shell gives', () => {
  it.for(ARCHES)('no x bit: 126 "Permission denied", as execve refuses it (%s)', async (arch, { expect }) => {
    await inTempDir(async (dir) => {
      fs.copyFileSync(debianBin(arch, 'busybox'), path.join(dir, 'bb'));
      fs.chmodSync(path.join(dir, 'bb'), 0o644);
      const r = await runCli(['run', './bb', 'true'], { cwd: dir, env: ENV });
      expect(r).toEqual({ code: 126, stdout: '', stderr: 'tslinux: ./bb: Permission denied\n' });
      if (canRunNative) expect((await pipeline('./bb true 2>/dev/null; echo $?', dir)).stdout).toBe('126\n');
    });
  });

  it('a missing file: 127; a directory: 126', async ({ expect }) => {
    await inTempDir(async (dir) => {
      const [missing, directory] = await Promise.all([runCli(['run', './nope'], { cwd: dir }), runCli(['run', dir], { cwd: dir })]);
      expect(missing).toEqual({ code: 127, stdout: '', stderr: 'tslinux: ./nope: No such file or directory\n' });
      expect(directory).toEqual({ code: 126, stdout: '', stderr: `tslinux: ${dir}: Is a directory\n` });
    });
  });
});

describe.concurrent.each(ARCHES)('a #! script as the program runs through its interpreter in the guest (%s)', (arch) => {
  /** busybox in `dir`/bin and a script using it (`#!<dir>/bin/busybox sh`). */
  function scripts(dir: string): void {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.copyFileSync(debianBin(arch, 'busybox'), path.join(dir, 'bin', 'busybox'));
    fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
    fs.writeFileSync(path.join(dir, 's.sh'), `#!${dir}/bin/busybox sh\necho "script $0 [$*]"\n`, { mode: 0o755 });
    // A script whose interpreter is itself a script (binfmt_script nests).
    fs.writeFileSync(path.join(dir, 'nested'), `#!${dir}/s.sh\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'py'), '#!/usr/bin/python3 -u\nprint(1)\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'noexec.sh'), `#!${dir}/bin/busybox sh\necho never\n`, { mode: 0o644 });
  }

  it('interpreter path, its argument, the script path, then the arguments; nested scripts too', async ({ expect }) => {
    await inTempDir(async (dir) => {
      scripts(dir);
      const [plain, nested] = await Promise.all([runCli(['run', './s.sh', 'a', 'b c'], { cwd: dir, env: ENV }), runCli(['run', './nested', 'x'], { cwd: dir, env: ENV })]);
      expect(plain).toEqual({ code: 0, stdout: 'script ./s.sh [a b c]\n', stderr: '' });
      expect(nested).toEqual({ code: 0, stdout: `script ${dir}/s.sh [./nested x]\n`, stderr: '' });
      if (arch === 'x86_64' && canRunNative) {
        expect((await pipeline('./s.sh a "b c"; ./nested x', dir)).stdout).toBe(plain.stdout + nested.stdout);
      }
    });
  });

  it('an interpreter outside the guest view: 127 and one line naming it; a script without an x bit: 126', async ({ expect }) => {
    await inTempDir(async (dir) => {
      scripts(dir);
      const [py, noexec] = await Promise.all([runCli(['run', './py'], { cwd: dir, env: ENV }), runCli(['run', './noexec.sh'], { cwd: dir, env: ENV })]);
      expect(py.code).toBe(127);
      expect(lines(py.stderr)).toEqual([expect.stringMatching(/^tslinux: \.\/py: \/usr\/bin\/python3: bad interpreter: No such file or directory/)]);
      expect(noexec).toEqual({ code: 126, stdout: '', stderr: 'tslinux: ./noexec.sh: Permission denied\n' });
    });
  });
});

describe.concurrent('--version', () => {
  it('prints tslinux, Unicorn and Node.js versions, one per line', async ({ expect }) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const [top, run] = await Promise.all([runCli(['--version']), runCli(['run', '--version'])]);
    expect(top.code).toBe(0);
    expect(top.stderr).toBe('');
    expect(lines(top.stdout)).toEqual([`tslinux ${pkg.version}`, expect.stringMatching(/^Unicorn 2\.\d+\.\d+ \(.+\)$/), `Node.js ${process.version}`]);
    expect(run).toEqual(top);
  });
});
