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
