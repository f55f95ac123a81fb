// `npm run build`: compile the TypeScript in src/ and syscalls/ into dist/,
// the JavaScript that bin/tslinux.js and `import 'tslinux'` run.
//
//   dist/cli.js, dist/index.js   esbuild bundles of src/cli.ts and src/index.ts (ES modules,
//                                Node 20, koffi left external), with source maps
//   dist/chunks/*.js             code they share, and what the CLI imports only when an
//                                option asks for it (tracing, reports, policies, explain)
//   dist/types/                  type declarations (tsc --emitDeclarationOnly, tsconfig.build.json)
//   dist/build.json              the sources the bundles were built from (see dist-state.mjs);
//   dist/types/build.json        the same list, written when the declarations are made
//
// Bundles rather than tsc's one file per module: Node then loads a dozen
// files instead of a hundred, and `tslinux run hello` took 125 ms of CPU
// against 190 ms (README, "Start-up"). npm runs this script as `prepare`,
// which both `npm install` in a clone and `npm pack` run; the test suite's
// global setup runs `--js --if-stale`.
//
// usage: node scripts/build.mjs [--js] [--if-stale]
//   --js        the bundles only, no type declarations (a second rather than half a minute)
//   --if-stale  do nothing when dist/ is newer than every source it was built from
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from './dist-state.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const ENTRIES = ['src/cli.ts', 'src/index.ts'];

/** Bundle the entries into dist/ and record their sources in dist/build.json. */
async function buildJs() {
  const esbuild = await import('esbuild');
  const staging = join(DIST, `.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    outdir: staging,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  publish(staging, Object.keys(result.metafile.outputs).map((o) => relative(staging, join(ROOT, o))));
  const inputs = Object.keys(result.metafile.inputs).filter((i) => !i.startsWith('node_modules/'));
  writeBuildInfo(join(DIST, 'build.json'), inputs.sort());
}

function writeBuildInfo(file, inputs) {
  writeFileSync(file, JSON.stringify({ inputs }, null, 1) + '\n');
}

/**
 * Move the staged files into dist/ one rename at a time, chunks before the
 * entries that import them, so a tslinux starting meanwhile (another test
 * run's global setup building at the same time) reads either the old files
 * or the new ones, never half a file. Chunks are named by their content, so
 * old ones stay valid until removed at the end.
 */
function publish(staging, files) {
  const ordered = [...files].sort((a, b) => Number(b.startsWith('chunks/')) - Number(a.startsWith('chunks/')));
  mkdirSync(join(DIST, 'chunks'), { recursive: true });
  for (const f of ordered) renameSync(join(staging, f), join(DIST, f));
  rmSync(staging, { recursive: true, force: true });
  const keep = new Set(files);
  for (const f of readdirSync(join(DIST, 'chunks'))) {
    if (!keep.has(`chunks/${f}`)) rmSync(join(DIST, 'chunks', f), { force: true });
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
