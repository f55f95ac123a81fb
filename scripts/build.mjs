// `npm run build`: compile the TypeScript in src/ and syscalls/ into dist/,
// the JavaScript that bin/tslinux.js and `import 'tslinux'` run.
//
//   dist/index.js                the library (src/index.ts): an esbuild bundle, an ES module
//   dist/cli.cjs                 the command (src/cli.ts): one CommonJS bundle (see buildJs)
//                                (both for Node >= 20, koffi left external, with source maps)
//   dist/types/                  type declarations (tsc --emitDeclarationOnly, tsconfig.build.json)
//   dist/build.json              the sources the bundles were built from (see dist-state.cjs);
//   dist/types/build.json        the same list, written when the declarations are made
//
// Bundles rather than tsc's one file per module: Node then loads one file
// instead of a hundred; `tslinux run hello` took 85 ms of CPU from an
// esbuild bundle against 144 ms from tsc's output (both without a code
// cache; README, "Tests and benchmarks"). npm runs this script as `prepare`,
// which both `npm install` in a clone and `npm pack` run; the test suite's
// global setup runs `--js --if-stale`.
//
// usage: node scripts/build.mjs [--js] [--if-stale]
//   --js        the bundles only, no type declarations (a second rather than half a minute)
//   --if-stale  do nothing when dist/ is newer than every source it was built from
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from './dist-state.cjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

/** Bundle the library and the command into dist/ and record their sources in dist/build.json. */
async function buildJs() {
  const esbuild = await import('esbuild');
  const staging = join(DIST, `.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  };
  const library = await esbuild.build({ ...common, entryPoints: ['src/index.ts'], outfile: join(staging, 'index.js'), format: 'esm' });
  // The command is one CommonJS file, so that bin/tslinux.js can hand V8 its
  // code cache on Node 20 (vm.Script takes cached data; ES modules cannot).
  // import.meta.url becomes the file's own URL. What only some options need
  // stays in it as modules esbuild evaluates at their first import().
  const command = await esbuild.build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: join(staging, 'cli.cjs'),
    format: 'cjs',
    define: { 'import.meta.url': 'import_meta_url' },
    // Whitespace, comments and syntax minified, names kept (stack traces and
    // the source map stay readable): the file bin/tslinux.js reads and V8
    // parses at every start shrinks from 1.0 to 0.67 MB, and in ASCII it is
    // a one-byte string (a single 'µ' in a comment made the whole 1 MB a
    // two-byte one). 15 ms of `tslinux run hello`'s 220.
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    banner: { js: `${BUILD_KEY_PLACEHOLDER}\nconst import_meta_url = require('node:url').pathToFileURL(__filename).href;` },
  });
  stampBuildKey(join(staging, 'cli.cjs'));
  const outputs = [library, command].flatMap((r) => Object.keys(r.metafile.outputs).map((o) => relative(staging, join(ROOT, o))));
  publish(staging, outputs);
  const inputs = new Set([library, command].flatMap((r) => Object.keys(r.metafile.inputs)).filter((i) => !i.startsWith('node_modules/')));
  writeBuildInfo(join(DIST, 'build.json'), [...inputs].sort());
}

/**
 * The bundle's first line names its content: `// tslinux-build <16 hex>`, a
 * hash of the file with the placeholder in place. bin/tslinux.js keys V8's
 * code cache on it, without loading node:crypto and hashing 0.7 MB at every
 * start (11 ms), and without a second file that a concurrent build could
 * leave out of step with the bundle. Same length as the placeholder, so the
 * source map's lines stay put.
 */
const BUILD_KEY_PLACEHOLDER = `// tslinux-build ${'0'.repeat(16)}`;
function stampBuildKey(file) {
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith(BUILD_KEY_PLACEHOLDER)) throw new Error(`${file}: the build key placeholder is not the first line`);
  const key = createHash('sha256').update(text).digest('hex').slice(0, 16);
  writeFileSync(file, `// tslinux-build ${key}${text.slice(BUILD_KEY_PLACEHOLDER.length)}`);
}

function writeBuildInfo(file, inputs) {
  writeFileSync(file, JSON.stringify({ inputs }, null, 1) + '\n');
}

/**
 * Move the staged files into dist/ one rename at a time, so a tslinux
 * starting meanwhile (another test run's global setup building at the same
 * time) reads the old file or the new one, never half of one; then remove
 * what the build no longer makes (an older layout's files, V8 code caches of
 * the old bundle).
 */
function publish(staging, files) {
  for (const f of files) renameSync(join(staging, f), join(DIST, f));
  rmSync(staging, { recursive: true, force: true });
  const keep = new Set([...files, 'build.json', 'types']);
  for (const f of readdirSync(DIST)) {
    if (!keep.has(f) && !f.startsWith('.staging-')) rmSync(join(DIST, f), { recursive: true, force: true });
  }
}

/** Type declarations for the library (dist/types), as tsconfig.build.json says. */
function buildTypes() {
  const { inputs } = JSON.parse(readFileSync(join(DIST, 'build.json'), 'utf8'));
  rmSync(join(DIST, 'types'), { recursive: true, force: true });
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  writeBuildInfo(join(DIST, 'types', 'build.json'), inputs);
}

async function main(argv) {
  const ifStale = argv.includes('--if-stale');
  if (!ifStale || staleReason() !== null) await buildJs();
  if (!argv.includes('--js') && (!ifStale || staleReason(ROOT, 'types') !== null)) buildTypes();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
