// The npm package: what `npm pack` puts in the tarball, and that the tarball
// installs and works. Globally: `tslinux run` from another directory. As a
// dependency of another project: `import ... from 'tslinux'` in JavaScript
// (the README's library example, run as written) and in TypeScript (the
// declarations type the README's examples and reject a wrong call).
//
// No network: npm runs --offline, so koffi comes from npm's cache (filled
// by the `npm install` that set up this clone), and UNICORN_LIB names the
// Unicorn this clone uses, so the package's postinstall
// (scripts/setup-unicorn.mjs) runs but fetches nothing. Its fetch of Unicorn
// into the installed package's vendor/ needs the network: that test runs
// only with TSLINUX_NETWORK_TESTS=1.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import module from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUnicorn } from '../src/cpu/unicorn-lib.ts';
import { ROOT, guestPath, makeTempDir, removeTempDir } from './helpers/e2e.ts';

let tmp: string;
let tarball: string;
let packed: string[];
let env: NodeJS.ProcessEnv;

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a command to its end. Asynchronously: npm and tsc take tens of
 * seconds on a busy host, and a test worker blocked that long misses
 * vitest's calls ("Timeout calling onTaskUpdate").
 */
function run(cmd: string, args: string[], cwd: string, withEnv: NodeJS.ProcessEnv = env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: withEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Run npm, failing with its output when it fails. */
async function npm(args: string[], cwd: string): Promise<string> {
  const r = await run('npm', args, cwd);
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** The ```ts blocks of the README's "Library API" section. */
function readmeLibraryExamples(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /\n## Library API\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  tmp = makeTempDir();
  env = {
    ...process.env,
    // npm makes no request at all offline; its cache is keyed by registry, so that stays the default.
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    UNICORN_LIB: loadUnicorn().path,
  };
  // The declarations too (tsc: half a minute) when a source changed since the last full build.
  const build = await run(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], ROOT);
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  const [info] = JSON.parse((await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT)).replace(/^[^[]*/, '')) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(tmp, info!.filename);
  packed = info!.files.map((f) => f.path);
}, 300_000);

afterAll(() => {
  if (tmp) removeTempDir(tmp);
});

describe('npm pack', () => {
  it('packs the built code, the command (CommonJS: bin/package.json), the Unicorn set-up and the README, and nothing else', () => {
    const allowed = [
      /^(README\.md|package\.json|bin\/tslinux\.js|bin\/package\.json|scripts\/setup-unicorn\.mjs|scripts\/debian-fetch\.sh)$/,
      /^dist\/(index\.js|cli\.cjs)(\.map)?$/,
      /^dist\/types\/(src|syscalls)\/[\w/-]+\.d\.ts$/,
    ];
    expect(packed.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    for (const f of ['bin/tslinux.js', 'bin/package.json', 'dist/cli.cjs', 'dist/index.js', 'dist/types/src/index.d.ts', 'scripts/setup-unicorn.mjs']) {
      expect(packed).toContain(f);
    }
  });

  it('every file the bundles import or require is in the package', () => {
    const js = packed.filter((f) => /^dist\/.*\.c?js$/.test(f));
    for (const file of js) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?:from |import\(|require\()"(\.[^"]+)"/g)) {
        expect(packed, `${file} imports ${m[1]}`).toContain(path.posix.join(path.posix.dirname(file), m[1]!));
      }
    }
  });
});

describe('the installed package', () => {
  let prefix: string;

  it('npm install -g: runs its postinstall, and `tslinux run` works from another directory without dev tools', async () => {
    prefix = path.join(tmp, 'global');
    const out = await npm(['install', '--global', '--prefix', prefix, '--foreground-scripts', tarball], tmp);
    expect(out).toContain(`tslinux setup: using UNICORN_LIB=${env.UNICORN_LIB}`);
    const installed = path.join(prefix, 'lib', 'node_modules', 'tslinux');
    expect(fs.existsSync(path.join(installed, 'node_modules', 'tsx'))).toBe(false);
    const elsewhere = fs.mkdtempSync(path.join(tmp, 'cwd-'));
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const r = await run(path.join(prefix, 'bin', 'tslinux'), ['run', guestPath(arch, 'hello')], elsewhere);
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'hello, world\n', stderr: '' });
    }
  }, 300_000);

  // Node >= 22.1 keeps the cache itself (module.enableCompileCache), elsewhere.
  it.skipIf(typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function')(
    "Node 20: the command keeps V8's code cache beside its bundle, keyed by the bundle's content",
    async () => {
      const dist = path.join(prefix, 'lib', 'node_modules', 'tslinux', 'dist');
      const caches = (): string[] => fs.readdirSync(dist).filter((f) => f.endsWith('.v8cache'));
      const hello = async (): Promise<void> => {
        const r = await run(path.join(prefix, 'bin', 'tslinux'), ['run', guestPath('x86_64', 'hello')], tmp);
        expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'hello, world\n', stderr: '' });
      };
      await hello();
      const [cache] = caches();
      expect(caches()).toEqual([cache]);
      const written = fs.statSync(path.join(dist, cache!)).mtimeMs;
      await hello();
      // Taken, not made again.
      expect(caches()).toEqual([cache]);
      expect(fs.statSync(path.join(dist, cache!)).mtimeMs).toBe(written);
      // The same length and modification time, other content: V8 alone would take the old cache.
      const bundle = path.join(dist, 'cli.cjs');
      const { mtime } = fs.statSync(bundle);
      const text = fs.readFileSync(bundle, 'utf8');
      fs.writeFileSync(bundle, text.replace('usage: tslinux run', 'usage: tslinux RUN'));
      fs.utimesSync(bundle, mtime, mtime);
      const help = await run(path.join(prefix, 'bin', 'tslinux'), ['run', '--help'], tmp);
      expect(help.stdout).toMatch(/^usage: tslinux RUN/);
      expect(caches()).toHaveLength(1);
      expect(caches()).not.toEqual([cache]);
    },
  );

  it.runIf(process.env.TSLINUX_NETWORK_TESTS === '1')(
    "npm install -g without UNICORN_LIB: the postinstall fetches Unicorn into the package's vendor/ (network; TSLINUX_NETWORK_TESTS=1)",
    async () => {
      const prefix = path.join(tmp, 'global-fetch');
      const { UNICORN_LIB: _, npm_config_offline: __, ...online } = env;
      const r = await run('npm', ['install', '--global', '--prefix', prefix, '--foreground-scripts', tarball], tmp, online);
      expect(r.status, r.stderr).toBe(0);
      const installed = path.join(prefix, 'lib', 'node_modules', 'tslinux');
      expect(fs.readdirSync(path.join(installed, 'vendor', 'debian-trixie', 'root')).some((d) => d.startsWith('libunicorn2'))).toBe(true);
      const hello = await run(path.join(prefix, 'bin', 'tslinux'), ['run', guestPath('x86_64', 'hello')], tmp, online);
      expect({ status: hello.status, stdout: hello.stdout, stderr: hello.stderr }).toEqual({ status: 0, stdout: 'hello, world\n', stderr: '' });
    },
    300_000,
  );

  describe('as a dependency of another project', () => {
    let project: string;
    beforeAll(async () => {
      project = path.join(tmp, 'project');
      fs.mkdirSync(project);
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-tslinux', private: true, type: 'module' }));
      await npm(['install', tarball], project);
    }, 300_000);

    it("the README's library example runs as written (JavaScript, run from this repository)", async () => {
      const [example] = readmeLibraryExamples();
      expect(example).toContain("from 'tslinux'");
      const file = path.join(project, 'readme-example.mjs');
      fs.writeFileSync(file, `${example}\nconsole.log(JSON.stringify({ exitCode: r.exitCode, signal: r.signal, stdout: r.stdout.toString() }));\n`);
      const r = await run(process.execPath, [file], ROOT);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ exitCode: 0, signal: null, stdout: 'hello, world\n' });
      // Its trace callback got strace-style lines.
      expect(r.stderr).toContain('exit_group(0)');
    });

    it("TypeScript: the declarations type the README's examples and reject a wrong call", async () => {
      const examples = readmeLibraryExamples();
      expect(examples.length).toBeGreaterThanOrEqual(2);
      examples.forEach((code, i) => fs.writeFileSync(path.join(project, `readme-${i}.ts`), `${code}\nexport {};\n`));
      fs.writeFileSync(
        path.join(project, 'wrong.ts'),
        "import { run } from 'tslinux';\nconst r = await run('prog');\nexport const code: string = r.exitCode;\n",
      );
      fs.writeFileSync(
        path.join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: ['node'],
            typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          },
          include: ['*.ts'],
        }),
      );
      const r = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], project);
      const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
      expect(errors).toEqual([expect.stringMatching(/^wrong\.ts\(3,14\): error TS2322: Type 'number' is not assignable to type 'string'/)]);
    });
  });
});
