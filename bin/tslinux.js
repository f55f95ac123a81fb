#!/usr/bin/env node
// The `tslinux` command: runs dist/cli.cjs, the JavaScript scripts/build.mjs
// bundles from src/ (npm install builds it in a clone, npm pack for the
// package). In a clone whose dist/ is missing or older than the sources it
// runs the sources through tsx instead and says so in one line: running a
// command does not rewrite the working tree, and `npm run build` (or the test
// suite's global setup) brings dist/ up to date.
//
// CommonJS (bin/package.json says so), as dist/cli.cjs is: an ES module
// entry starts Node's ES module loader, whose asynchronous file reads start
// a thread pool and cost 4 ms of CPU, and ten times that in waiting on a
// busy host.
'use strict';
const { closeSync, existsSync, fstatSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const module_ = require('node:module');
const { basename, dirname, join } = require('node:path');
const vm = require('node:vm');

async function main() {
  const inClone = existsSync(join(__dirname, '..', 'src', 'cli.ts'));
  const stale = inClone ? require('../scripts/dist-state.cjs').staleReason() : null;
  const cli = stale === null ? builtCli() : await sourcesThroughTsx(stale);
  const status = await cli.main(process.argv.slice(2));
  cli.saveCodeCache?.();
  // exitWith: after a broken pipe on its own output the CLI dies of SIGPIPE, as a native tool does.
  cli.exitWith(status);
}

/** src/cli.ts through tsx's loader. */
async function sourcesThroughTsx(reason) {
  process.stderr.write(`tslinux: ${reason}: running the sources through tsx (slow start-up; npm run build)\n`);
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/cli.ts');
}

/**
 * dist/cli.cjs, compiled from V8's code cache when there is one: compiling
 * it is a fifth of `tslinux run hello` otherwise (17 of 93 ms of CPU).
 * Node >= 22.1 keeps that cache itself (module.enableCompileCache, as tsc
 * and npm use it: in the OS temp directory). Node 20 has no such cache, so
 * here it is kept beside the bundle as Python keeps __pycache__.
 */
function builtCli() {
  const file = join(__dirname, '..', 'dist', 'cli.cjs');
  // Coverage (NODE_V8_COVERAGE) instruments the compiled code: neither take nor keep a cache then.
  if (process.env.NODE_V8_COVERAGE) return require(file);
  if (module_.enableCompileCache) {
    module_.enableCompileCache();
    return require(file);
  }
  return requireWithCodeCache(file);
}

/**
 * Load a CommonJS file with V8's code cache of it, FILE.<key>.v8cache. V8
 * checks a cache against its own version and flags, but against the source
 * only by length, so the key must change with the content. It is made of:
 * - the content hash the build wrote into the bundle's first line
 *   (scripts/build.mjs, stampBuildKey): another build, another key, without
 *   loading node:crypto and hashing 0.7 MB at every start (11 ms);
 * - the file's status-change time (ctime), which no one can set: a bundle
 *   edited in place, even to the same length and modification time (npm
 *   gives every file of a package the same one), is not the one the cache
 *   was made from; a fresh install makes its own cache once;
 * - the Node version and arch.
 * A file without the build's line is hashed here. The cache is made after
 * the run (so it holds every function the run compiled, not only the top
 * level) by saveCodeCache(), written whole under a temporary name and
 * renamed; where dist/ is read-only there is no cache.
 */
function requireWithCodeCache(file) {
  // One open file for the status and the text, so both describe the same file.
  const fd = openSync(file, 'r');
  let source;
  let changed;
  try {
    changed = fstatSync(fd, { bigint: true }).ctimeNs;
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const stamped = /^\/\/ tslinux-build ([0-9a-f]{16})\n/.exec(source.slice(0, 40));
  const content = stamped ? stamped[1] : require('node:crypto').createHash('sha1').update(source).digest('hex').slice(0, 16);
  const cacheFile = `${file}.${content}-${changed.toString(36)}-${process.version}-${process.arch}.v8cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, module_.createRequire(file), mod, file, dirname(file));
  const saveCodeCache = () => {
    if (cachedData !== undefined && !script.cachedDataRejected) return;
    const tmp = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
      for (const f of readdirSync(dirname(file))) {
        if (f.startsWith(`${basename(file)}.`) && f.endsWith('.v8cache') && f !== basename(cacheFile)) rmSync(join(dirname(file), f), { force: true });
      }
    } catch {
      // A read-only install: run without the cache.
      rmSync(tmp, { force: true });
    }
  };
  return { main: mod.exports.main, exitWith: mod.exports.exitWith, saveCodeCache };
}

main();
