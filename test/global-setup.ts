// Before the suite: rebuild dist/ if a source changed since it was built
// (scripts/build.mjs --js, about a second), then make sure the fixtures that
// are fetched or built outside the repository are cached
// (scripts/fixtures.sh, also `npm run fixtures`: Debian's static binaries and
// Go tools, the Debian roots of the dynamic-ELF tests, the Go guests, the
// Jazzer runtime, koffi in npm's cache). The first run fetches them; later
// runs find them and make no network access.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  // vitest runs the global set-up once for the root config and once per project, one after another in
  // its main process: do the work once.
  const done = globalThis as { tslinuxGlobalSetupDone?: boolean };
  if (done.tslinuxGlobalSetupDone) return;
  done.tslinuxGlobalSetupDone = true;
  const root = join(import.meta.dirname, '..');
  // Tests that spawn `node bin/tslinux.js` run dist/: rebuild it when a source is newer
  // (bin/tslinux.js would otherwise fall back to tsx and print a note on stderr).
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--js', '--if-stale'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('sh', [join(root, 'scripts', 'fixtures.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}
