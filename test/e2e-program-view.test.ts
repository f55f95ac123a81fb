// End to end through the CLI: the program named on the command line is
// always visible to the guest, read-only, at its own absolute path, however
// far from the current directory it lies; /proc/self/exe opens and re-runs
// it, and names the new program after an execve. Debian's static bash and
// busybox and the Go test guest (in .cache, outside each test's working
// directory), also under --root, on both arches; x86-64 outputs are
// compared with the same commands run natively.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSync } from '../src/index.ts';
import { ARCHES, ROOT, canRunNative, debianBin, goGuest, haveGoGuests, inTempDir, runCli } from './helpers/e2e.ts';

/** What the guest may be told about a path the host reached through a symlink (.cache may be one): its real path. */
const real = (p: string): string => fs.realpathSync(p);


const ENV = { PATH: '/usr/bin:/bin', LANG: 'C' };

/** busybox in the working directory (for readlink: bash has none of its own). */
function copyBusybox(arch: (typeof ARCHES)[number], dir: string): void {
  fs.copyFileSync(debianBin(arch, 'busybox'), path.join(dir, 'busybox'));
  fs.chmodSync(path.join(dir, 'busybox'), 0o755);
}

/** The same command natively (x86-64 hosts), for comparison. */
function native(program: string, args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  // stdin from /dev/null: bash reads ~/.bashrc when stdin is a socket ("run by sshd").
  const r = spawnSync(program, args, { cwd, env: ENV, encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

describe.concurrent.each(ARCHES)('the program outside the working directory (%s)', (arch) => {
  const bash = debianBin(arch, 'bash');
  const bashReal = real(bash);

  it('is visible read-only at its absolute path; /proc/self/exe names it, opens it and re-runs it; $BASH re-runs it', async ({ expect }) => {
    const script = [
      'echo "BASH=$BASH"',
      'echo "exe=$(./busybox readlink /proc/$$/exe)"',
      '[ -f "$BASH" ] && [ -x "$BASH" ] && [ ! -w "$BASH" ] && echo "a read-only file"',
      '"$BASH" -c \'echo "child of \\$BASH: $((6*7))"\'',
      '/proc/self/exe -c \'echo "child of /proc/self/exe: $((6*7))"\'',
      '(echo x >> "$BASH") 2>/dev/null || echo "append refused"',
    ].join('\n');
    await inTempDir(async (dir) => {
      copyBusybox(arch, dir);
      const r = await runCli(['run', bash, '-c', script], { cwd: dir, env: ENV });
      expect(r).toEqual({
        code: 0,
        stdout: [`BASH=${bash}`, `exe=${bashReal}`, 'a read-only file', 'child of $BASH: 42', 'child of /proc/self/exe: 42', 'append refused', ''].join('\n'),
        stderr: '',
      });
    });
  });

  it('its directory shows only the program: nothing else of the host directory is reachable', async ({ expect }) => {
    const bb = debianBin(arch, 'busybox');
    const dir = path.dirname(real(bb));
    await inTempDir(async (cwd) => {
      const r = await runCli(['run', bb, 'sh', '-c', `ls -A ${dir}; ls ${path.join(dir, 'bash')} 2>&1; rm -f ${real(bb)} 2>&1; echo $?`], { cwd, env: ENV });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        ['busybox', `ls: ${path.join(dir, 'bash')}: No such file or directory`, `rm: can't remove '${real(bb)}': Device or resource busy`, '1', ''].join('\n'),
      );
    });
  });

  it('after an execve, /proc/self/exe names the new program (one the guest could already see)', async ({ expect }) => {
    await inTempDir(async (dir) => {
      copyBusybox(arch, dir);
      const r = await runCli(['run', bash, '-c', 'readlink /proc/self/exe 2>/dev/null || echo "bash has no readlink"; exec ./busybox readlink /proc/self/exe'], { cwd: dir, env: ENV });
      expect(r).toEqual({ code: 0, stdout: `bash has no readlink\n${path.join(dir, 'busybox')}\n`, stderr: '' });
    });
  });

  it.runIf(haveGoGuests())("a Go program's os/exec of itself, by its path and by /proc/self/exe", async ({ expect }) => {
    const gocheck = goGuest(arch);
    const want = ['child said: "GOCHECK_CHILD = 1\\n"', 'child exit code: 3', 'failing child exit code: 64', 'missing program: true', ''].join('\n');
    await inTempDir(async (dir) => {
      const [byPath, byExe] = await Promise.all([
        runCli(['run', gocheck, 'exec'], { cwd: dir, env: ENV }),
        runCli(['run', gocheck, 'exec', '/proc/self/exe', 'env'], { cwd: dir, env: ENV }),
      ]);
      expect(byPath).toEqual({ code: 0, stdout: want, stderr: '' });
      expect(byExe).toEqual({ code: 0, stdout: want, stderr: '' });
    });
  });

  it('under --root: the program path is the guest\'s, resolved in the root as after chroot; a host path outside it is not found', async ({ expect }) => {
    await inTempDir(async (dir) => {
      for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp']) fs.mkdirSync(path.join(dir, 'root', d), { recursive: true });
      fs.copyFileSync(debianBin(arch, 'busybox'), path.join(dir, 'root', 'bin', 'busybox'));
      fs.chmodSync(path.join(dir, 'root', 'bin', 'busybox'), 0o755);
      const outside = real(debianBin(arch, 'busybox'));
      const script = 'readlink /proc/self/exe; ls -d /bin/* "$(readlink /proc/self/exe)" 2>&1; wc -c </proc/$$/exe';
      const size = fs.statSync(outside).size;
      const [inside, hostPath, overlaid] = await Promise.all([
        runCli(['run', '--root', 'root', '--no-cwd', '/bin/busybox', 'sh', '-c', script], { cwd: dir, env: ENV }),
        runCli(['run', '--root', 'root', '--no-cwd', outside, 'sh', '-c', script], { cwd: dir, env: ENV }),
        runCli(['run', '--root', 'root', '--overlay', '--no-cwd', outside, 'sh', '-c', script], { cwd: dir, env: ENV }),
      ]);
      expect(inside).toEqual({ code: 0, stdout: `/bin/busybox\n/bin/busybox\n/bin/busybox\n${size}\n`, stderr: '' });
      const missing = { code: 127, stdout: '', stderr: `tslinux: ${outside}: No such file or directory\n` };
      expect(hostPath).toEqual(missing);
      expect(overlaid).toEqual(missing);
    });
  });

  it.runIf(arch === 'x86_64' && canRunNative)('says the same as the program run natively', async ({ expect }) => {
    const script = 'echo $BASH; $BASH -c "echo \\$0 \\$((1+1))"; /proc/self/exe -c "echo ok"';
    await inTempDir(async (dir) => {
      const r = await runCli(['run', bash, '-c', script], { cwd: dir, env: ENV });
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual(native(bash, ['-c', script], dir));
    });
  });
});

describe('an executable read again after the host changes it', () => {
  // The loader keeps the bytes of executables on read-only host mounts (src/loader/binfmt.ts,
  // readExecutable), by the host file's identity: a change the host makes must be seen at the next exec.
  it.each(ARCHES)('%s: a new file, and the same size rewritten with a new mtime', (arch) =>
    inTempDir(async (dir) => {
      const prog = path.join(dir, 'prog');
      const hello = fs.readFileSync(path.join(ROOT, 'guest-binaries', arch, 'hello'));
      const run = (): string => runSync(prog, { stdout: 'capture', stderr: 'capture' }).stdout.toString();
      fs.writeFileSync(prog, hello, { mode: 0o755 });
      expect(run()).toBe('hello, world\n');
      expect(run()).toBe('hello, world\n');
      // The same size, other bytes: only the times say it changed.
      const at = hello.indexOf('hello, world');
      expect(at).toBeGreaterThan(0);
      const jello = Buffer.from(hello);
      jello.write('jello', at, 'latin1');
      const { mtime } = fs.statSync(prog);
      fs.writeFileSync(prog, jello);
      fs.utimesSync(prog, mtime, new Date(mtime.getTime() + 2000));
      expect(run()).toBe('jello, world\n');
      // Another file in its place (a rename over it: another inode).
      fs.copyFileSync(path.join(ROOT, 'guest-binaries', arch, 'args'), `${prog}.new`);
      fs.chmodSync(`${prog}.new`, 0o755);
      fs.renameSync(`${prog}.new`, prog);
      expect(run()).not.toContain('world');
    }),
  );
});
