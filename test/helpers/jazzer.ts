// Where Jazzer.js lives and whether it can run on this host. Its native
// addon (@jazzer.js/fuzzer, libFuzzer inside) ships prebuilt; on Linux x64 the
// prebuilt of 4.0.0 needs glibc >= 2.38 and libstdc++ GLIBCXX_3.4.32 (GCC 13),
// so on an older host (Debian 12: glibc 2.36, GCC 12) dlopen refuses it.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '..', '..');

export const JAZZER_CLI = join(root, 'node_modules', '@jazzer.js', 'core', 'dist', 'cli.js');
/** The committed seed corpus (relative to the repository root). */
export const CORPUS_DIR = join('test', 'fuzz-corpus', 'syscalls');

/** Why Jazzer cannot run here (the dlopen error, first line), or null when its addon loads. */
export function jazzerUnavailable(): string | null {
  try {
    require('@jazzer.js/fuzzer');
    return null;
  } catch (e) {
    return String((e as Error)?.message ?? e).split('\n')[0]!;
  }
}
