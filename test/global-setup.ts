// Before the suite: make sure Debian's static busybox and bash are cached
// (fetched with apt-get download by scripts/fetch-debian-bins.sh).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  if (existsSync(join(root, '.cache', 'debian', 'bin', 'aarch64', 'bash'))) return;
  execFileSync('sh', [join(root, 'scripts', 'fetch-debian-bins.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}
