#!/usr/bin/env node
// The `tslinux` command: runs dist/cli.js, the JavaScript scripts/build.mjs
// bundles from src/ (npm install builds it in a clone, npm pack for the
// package). In a clone whose dist/ is missing or older than the sources it
// runs the sources through tsx instead and says so in one line: running a
// command does not rewrite the working tree, and `npm run build` (or the test
// suite's global setup) brings dist/ up to date.
import { existsSync } from 'node:fs';
import module from 'node:module';

const inClone = existsSync(new URL('../src/cli.ts', import.meta.url));
const entry = inClone ? await cloneEntry() : '../dist/cli.js';
// Node >= 22.1 keeps V8's compiled code between runs (in the OS temp
// directory; NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE steer it), as
// tsc and npm do: compiling dist/ is about 20 ms of start-up. Node 20 has no
// such cache, and goes without.
if (entry === '../dist/cli.js') module.enableCompileCache?.();
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));

/** dist/cli.js when it is current, else src/cli.ts through tsx's loader. */
async function cloneEntry() {
  const { staleReason } = await import('../scripts/dist-state.mjs');
  const stale = staleReason();
  if (stale === null) return '../dist/cli.js';
  process.stderr.write(`tslinux: ${stale}: running the sources through tsx (slow start-up; npm run build)\n`);
  const { register } = await import('tsx/esm/api');
  register();
  return '../src/cli.ts';
}
