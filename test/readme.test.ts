import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, renderReadme } from '../scripts/gen-readme.ts';

describe('README', () => {
  it('has the current run --help text and syscall table (run `npm run gen:readme` to refresh)', () => {
    const text = readFileSync(README, 'utf8');
    expect(renderReadme(text)).toBe(text);
  });

  it('quick start is npm install, one npx tslinux run line, npm test', () => {
    const text = readFileSync(README, 'utf8');
    const block = /## Quick start\n\n```sh\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
    const lines = block.trim().split('\n');
    expect(lines[0]).toBe('npm install');
    expect(lines.filter((l) => l.startsWith('npx tslinux run '))).toHaveLength(1);
    expect(lines[lines.length - 1]).toBe('npm test');
  });
});

describe('support table', () => {
  it('lists every syscall number of each arch with its status, agreeing with the declarations', async () => {
    const { supportEntries } = await import('../src/support.ts');
    const { ARCHES } = await import('../src/arch/index.ts');
    const { ALL_SYSCALLS } = await import('../syscalls/index.ts');
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const entries = supportEntries(arch);
      expect(entries).toHaveLength(Object.keys(ARCHES[arch].syscallNames).length);
      const implemented = new Set(entries.filter((e) => e.status === 'implemented').map((e) => e.name));
      for (const d of ALL_SYSCALLS) {
        if (ARCHES[arch].syscallNumbers[d.name] !== undefined) expect(implemented.has(d.name), d.name).toBe(true);
      }
      expect(entries.find((e) => e.name === 'io_setup')?.status).toBe('missing');
    }
  });
});
