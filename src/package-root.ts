// The package's root directory: where package.json, vendor/ (the fetched
// Unicorn) and, in a clone, syscalls/ live. Found by walking up from this
// module, because the code runs from two depths: src/ through tsx, and
// dist/ (one bundle directory) when built.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    if (dirname(dir) === dir) return (root = join(start, '..'));
  }
}
