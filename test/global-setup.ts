// Before the suite: rebuild dist/ if a source changed since it was built
// (scripts/build.mjs --js, about a second), make sure Debian's static
// busybox, bash and mksh are cached (fetched with apt-get download by
// scripts/fetch-debian-bins.sh) with the static Go tools
// (scripts/fetch-debian-go-tools.sh), and the Go test guest is built for
// both arches (scripts/build-go-guests.sh, with Debian's golang-go; it fails
// loudly when Go is missing), and the Debian 12 roots of the dynamic-ELF
// tests (scripts/fetch-rootfs.sh).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function hasCommand(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d || '.', name)));
}

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  // Tests that spawn `node bin/tslinux.js` run dist/: rebuild it when a source is newer
  // (bin/tslinux.js would otherwise fall back to tsx and print a note on stderr).
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--js', '--if-stale'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(join(root, '.cache', 'debian', 'bin', 'aarch64', 'mksh-static'))) {
    execFileSync('sh', [join(root, 'scripts', 'fetch-debian-bins.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!existsSync(join(root, '.cache', 'debian', 'go-tools', 'aarch64', 'pup'))) {
    execFileSync('sh', [join(root, 'scripts', 'fetch-debian-go-tools.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  // The Debian 12 roots of the dynamic-ELF tests (scripts/make-rootfs.sh), when apt-get can make them.
  if (!existsSync(join(root, '.cache', 'rootfs', 'aarch64', '.tslinux-rootfs')) && hasCommand('apt-get')) {
    execFileSync('sh', [join(root, 'scripts', 'fetch-rootfs.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  execFileSync('sh', [join(root, 'scripts', 'build-go-guests.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}
