// An interactive shell in a pseudo-terminal, as a person would use it:
// type a pipeline, start `sleep 1000`, press Ctrl-C, and get the prompt back.
// The host terminal's Ctrl-C reaches tslinux as SIGINT, which the kernel
// passes to the guest's foreground process group (set by the shell with
// tcsetpgrp); the shell's termios changes are applied to the real terminal.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionalTool } from './helpers/tools.ts';

const root = join(import.meta.dirname, '..');
const hasPython = optionalTool('python3 with its pty module', spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0, 'apt-get install python3');

describe.each(['x86_64', 'aarch64'] as const)('interactive busybox sh on %s', (arch) => {
  const busyboxDir = join(root, '.cache', 'debian', 'bin', arch);

  it.skipIf(!hasPython)('runs a pipeline, Ctrl-C stops a foreground sleep 1000, and the prompt comes back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsl-pty-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const applet of ['sh', 'seq', 'sort', 'head', 'sleep']) symlinkSync('/bb/busybox', join(bin, applet));
      expect(existsSync(join(busyboxDir, 'busybox'))).toBe(true);
      // Each step waits for an event, never for a time: the prompt, or (for Ctrl-C) the trace line of
      // sleep's execve, which busybox sh's child makes only after making itself the terminal's foreground
      // process group (ash's forkchild calls tcsetpgrp before exec). The trace file shows it once the
      // guest waits (a trace file is written out whenever the kernel idles).
      const prompt = { screen: 'gsh$ ' };
      const steps = [
        ['seq 1 5 | sort -rn | head -n 2\r', prompt],
        ['sleep 1000\r', prompt],
        ['\x03', { file: 'trace.out', text: '["sleep", "1000"]' }],
        ['echo back $?\r', prompt],
        ['exit 3\r', { screen: 'back 130' }],
      ];
      const r = spawnSync(
        'python3',
        [
          join(root, 'test', 'fixtures', 'pty-session.py'),
          dir,
          JSON.stringify(steps),
          '--',
          process.execPath,
          join(root, 'bin', 'tslinux.js'),
          'run',
          '--no-warn',
          '-f',
          '--trace=execve',
          '-o',
          join(dir, 'trace.out'),
          '--mount', `${busyboxDir}:/bb:ro`,
          '--mount', `${bin}:/bin:ro`,
          '--clear-env',
          '--env', 'PATH=/bin',
          '--env', 'PS1=gsh$ ',
          join(busyboxDir, 'busybox'),
          'sh',
        ],
        { encoding: 'utf8' },
      );
      const screen = r.stdout;
      expect(screen).not.toContain('NO EVENT');
      expect(screen).toContain('gsh$ ');
      expect(screen).toMatch(/5\r?\n4\r?\n/);
      expect(screen).toContain('back 130');
      expect(screen).toContain('EXIT 3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
