// Where Jazzer.js lives and how to start it. Its native addon
// (@jazzer.js/fuzzer, libFuzzer inside) ships prebuilt; on Linux x64 the
// prebuilt of 4.0.0 needs glibc >= 2.38 and libstdc++ GLIBCXX_3.4.32 (GCC 13),
// which an older host (Debian 12: glibc 2.36, GCC 12) lacks: there Node runs
// under Debian 13's dynamic loader and libraries instead (jazzerLauncher).
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '..', '..');

export const JAZZER_CLI = join(root, 'node_modules', '@jazzer.js', 'core', 'dist', 'cli.js');
/** The fuzz target module, as Jazzer's CLI takes it: no extension (tsx finds the .ts). */
export const JAZZER_TARGET = 'test/helpers/jazzer-target';
/** The committed seed corpus (relative to the repository root). */
export const CORPUS_DIR = join('test', 'fuzz-corpus', 'syscalls');

/** Why Jazzer's addon does not load in this Node (the dlopen error, first line), or null when it does. */
export function jazzerUnavailable(): string | null {
  try {
    require('@jazzer.js/fuzzer');
    return null;
  } catch (e) {
    return String((e as Error)?.message ?? e).split('\n')[0]!;
  }
}

/** How to start Node for Jazzer: a command and the arguments before Node's own. */
export interface JazzerLauncher {
  command: string;
  prefix: string[];
}

/**
 * Node itself when the addon loads; otherwise, on a Linux x64 host whose C
 * runtime is too old for the prebuilt addon, Node under Debian 13's dynamic
 * loader and libraries (fetched by scripts/fetch-jazzer-runtime.sh). Throws
 * with both reasons when neither works.
 */
export function jazzerLauncher(): JazzerLauncher {
  const native = jazzerUnavailable();
  if (native === null) return { command: process.execPath, prefix: [] };
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`Jazzer.js cannot load: ${native}`);
  const lib = execFileSync('sh', [join(root, 'scripts', 'fetch-jazzer-runtime.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const launcher = { command: join(lib, 'ld-linux-x86-64.so.2'), prefix: ['--library-path', lib, process.execPath] };
  const probe = spawnSync(launcher.command, [...launcher.prefix, '-e', "require('@jazzer.js/fuzzer')"], { cwd: root, encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`Jazzer.js cannot load: ${native}; nor with Debian 13's runtime: ${probe.stderr.split('\n')[0]}`);
  return launcher;
}

/** The arguments that fuzz `target` (a module path without extension) from `corpus` with libFuzzer `flags`. */
export function jazzerArgs(launcher: JazzerLauncher, target: string, corpus: string, flags: string[]): string[] {
  return [...launcher.prefix, '--import', 'tsx', JAZZER_CLI, target, corpus, '--sync', '--', ...flags];
}
