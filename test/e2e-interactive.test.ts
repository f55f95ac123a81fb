// An interactive shell in a pseudo-terminal, as a person would use it:
// type a pipeline, start `sleep 100`, press Ctrl-C, and get the prompt back.
// The host terminal's Ctrl-C reaches tslinux as SIGINT, which the kernel
// passes to the guest's foreground process group (set by the shell with
// tcsetpgrp); the shell's termios changes are applied to the real terminal.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const hasPython = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

describe.each(['x86_64', 'aarch64'] as const)('interactive busybox sh on %s', (arch) => {
  const busyboxDir = join(root, '.cache', 'debian', 'bin', arch);

  it.skipIf(!hasPython)('runs a pipeline, Ctrl-C stops a foreground sleep 100, and the prompt comes back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsl-pty-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const applet of ['sh', 'seq', 'sort', 'head', 'sleep']) symlinkSync('/bb/busybox', join(bin, applet));
      expect(existsSync(join(busyboxDir, 'busybox'))).toBe(true);
      const keys = [
        ['seq 1 5 | sort -rn | head -n 2\r', 3],
        ['sleep 100\r', 3],
        ['\x03', 3],
        ['echo back $?\r', 2],
        ['exit 3\r', 2],
      ];
      const started = Date.now();
      const r = spawnSync(
        'python3',
        [
          join(root, 'test', 'fixtures', 'pty-session.py'),
          dir,
          JSON.stringify(keys),
          '--',
          process.execPath,
          join(root, 'bin', 'tslinux.js'),
          'run',
          '--no-warn',
          '--mount', `${busyboxDir}:/bb:ro`,
          '--mount', `${bin}:/bin:ro`,
          '--clear-env',
          '--env', 'PATH=/bin',
          '--env', 'PS1=gsh$ ',
          join(busyboxDir, 'busybox'),
          'sh',
        ],
        { encoding: 'utf8', timeout: 90_000 },
      );
      const screen = r.stdout;
      expect(screen).toContain('gsh$ ');
      expect(screen).toMatch(/5\r?\n4\r?\n/);
      expect(screen).toContain('back 130');
      expect(screen).toContain('EXIT 3');
      // Ctrl-C really ended the sleep: nowhere near 100 seconds went by.
      expect(Date.now() - started).toBeLessThan(80_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 100_000);
});
