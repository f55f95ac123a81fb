// Regenerates the generated parts of README.md: the `tslinux run --help`
// text and the supported-syscall table. test/readme.test.ts fails when the
// README is out of date, so the README stays true.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_HELP } from '../src/cli.ts';
import { supportTable } from '../src/support.ts';

export const README = join(import.meta.dirname, '..', 'README.md');

export function renderReadme(current: string): string {
  return replaceBlock(replaceBlock(current, 'run-help', '```\n' + RUN_HELP + '\n```'), 'syscalls', supportTable());
}

function replaceBlock(text: string, name: string, body: string): string {
  const begin = `<!-- BEGIN ${name} -->`;
  const end = `<!-- END ${name} -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md lacks the ${begin} ... ${end} markers`);
  return text.slice(0, i + begin.length) + '\n' + body.trimEnd() + '\n' + text.slice(j);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const before = readFileSync(README, 'utf8');
  const after = renderReadme(before);
  writeFileSync(README, after);
  process.stdout.write(before === after ? 'README.md is up to date\n' : 'README.md regenerated\n');
}
