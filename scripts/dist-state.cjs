// Is dist/ current? Kept apart from build.mjs (and its imports) because
// bin/tslinux.js asks on every run in a clone: this costs about a
// millisecond (one stat per source file). CommonJS, as bin/tslinux.js is.
'use strict';
const { readFileSync, statSync } = require('node:fs');
const { dirname, join, relative, sep } = require('node:path');

const ROOT = join(__dirname, '..');

/**
 * Why dist/ cannot be run as it is (missing, or a source changed since it
 * was built), or null when it is current. Compares modification times of
 * the sources the last build read, listed in dist/build.json: an edited
 * file is newer, and a new file matters only once an edited one imports it.
 * `part` 'types' asks the same of the declarations.
 */
function staleReason(root = ROOT, part = 'js') {
  const infoFile = join(root, 'dist', ...(part === 'types' ? ['types'] : []), 'build.json');
  const dir = `${relative(root, dirname(infoFile))}/`;
  let info;
  try {
    info = JSON.parse(readFileSync(infoFile, 'utf8'));
  } catch {
    return `${dir} is not built`;
  }
  const builtAt = statSync(infoFile).mtimeMs;
  // Plain concatenation, not a path.join per input (the inputs are relative and
  // '/'-separated; the 200 joins cost `tslinux run` 2 ms); no exception per missing file.
  const prefix = root.endsWith(sep) ? root : root + sep;
  for (const input of info.inputs) {
    const st = statSync(prefix + input, { throwIfNoEntry: false });
    if (st === undefined) return `${input} is gone since ${dir} was built`;
    if (st.mtimeMs > builtAt) return `${input} changed since ${dir} was built`;
  }
  return null;
}

module.exports = { staleReason };
