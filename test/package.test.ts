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
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUnicorn } from '../src/cpu/unicorn-lib.ts';
import { ROOT, guestPath, makeTempDir, removeTempDir } from './helpers/e2e.ts';

let tmp: string;
let tarball: string;
let packed: string[];
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

/** Run npm, failing with its output when it fails. */
function npm(args: string[], cwd: string): string {
  const r = run('npm', args, cwd);
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** The ```ts blocks of the README's "Library API" section. */
function readmeLibraryExamples(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /\n## Library API\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

beforeAll(() => {
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
  const build = run(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], ROOT);
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  const [info] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT).replace(/^[^[]*/, '')) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(tmp, info!.filename);
  packed = info!.files.map((f) => f.path);
}, 180_000);

afterAll(() => {
  if (tmp) removeTempDir(tmp);
});

describe('npm pack', () => {
  it('packs the built code, the command, the Unicorn setup and the README, and nothing else', () => {
    const allowed = [
      /^(README\.md|package\.json|bin\/tslinux\.js|scripts\/setup-unicorn\.mjs|scripts\/debian-fetch\.sh)$/,
      /^dist\/(chunks\/)?[\w-]+\.js(\.map)?$/,
      /^dist\/types\/(src|syscalls)\/[\w/-]+\.d\.ts$/,
    ];
    expect(packed.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    for (const f of ['bin/tslinux.js', 'dist/cli.js', 'dist/index.js', 'dist/types/src/index.d.ts', 'scripts/setup-unicorn.mjs']) {
      expect(packed).toContain(f);
    }
  });

  it('every module the bundles import, statically or on demand, is in the package', () => {
    const js = packed.filter((f) => f.endsWith('.js') && f.startsWith('dist/'));
    for (const file of js) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?:from |import\()"(\.[^"]+)"/g)) {
        expect(packed, `${file} imports ${m[1]}`).toContain(path.posix.join(path.posix.dirname(file), m[1]!));
      }
    }
  });
});

describe('the installed package', () => {
  it('npm install -g: runs its postinstall, and `tslinux run` works from another directory without dev tools', () => {
    const prefix = path.join(tmp, 'global');
    const out = npm(['install', '--global', '--prefix', prefix, '--foreground-scripts', tarball], tmp);
    expect(out).toContain(`tslinux setup: using UNICORN_LIB=${env.UNICORN_LIB}`);
    const installed = path.join(prefix, 'lib', 'node_modules', 'tslinux');
    expect(fs.existsSync(path.join(installed, 'node_modules', 'tsx'))).toBe(false);
    const elsewhere = fs.mkdtempSync(path.join(tmp, 'cwd-'));
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const r = run(path.join(prefix, 'bin', 'tslinux'), ['run', guestPath(arch, 'hello')], elsewhere);
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'hello, world\n', stderr: '' });
    }
  });

  it.runIf(process.env.TSLINUX_NETWORK_TESTS === '1')(
    "npm install -g without UNICORN_LIB: the postinstall fetches Unicorn into the package's vendor/ (network; TSLINUX_NETWORK_TESTS=1)",
    () => {
      const prefix = path.join(tmp, 'global-fetch');
      const { UNICORN_LIB: _, npm_config_offline: __, ...online } = env;
      const r = spawnSync('npm', ['install', '--global', '--prefix', prefix, '--foreground-scripts', tarball], { cwd: tmp, env: online, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const installed = path.join(prefix, 'lib', 'node_modules', 'tslinux');
      expect(fs.readdirSync(path.join(installed, 'vendor', 'debian-trixie', 'root')).some((d) => d.startsWith('libunicorn2'))).toBe(true);
      const hello = spawnSync(path.join(prefix, 'bin', 'tslinux'), ['run', guestPath('x86_64', 'hello')], { cwd: tmp, env: online, encoding: 'utf8' });
      expect({ status: hello.status, stdout: hello.stdout, stderr: hello.stderr }).toEqual({ status: 0, stdout: 'hello, world\n', stderr: '' });
    },
    300_000,
  );

  describe('as a dependency of another project', () => {
    let project: string;
    beforeAll(() => {
      project = path.join(tmp, 'project');
      fs.mkdirSync(project);
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-tslinux', private: true, type: 'module' }));
      npm(['install', tarball], project);
    }, 120_000);

    it("the README's library example runs as written (JavaScript, run from this repository)", () => {
      const [example] = readmeLibraryExamples();
      expect(example).toContain("from 'tslinux'");
      const file = path.join(project, 'readme-example.mjs');
      fs.writeFileSync(file, `${example}\nconsole.log(JSON.stringify({ exitCode: r.exitCode, signal: r.signal, stdout: r.stdout.toString() }));\n`);
      const r = run(process.execPath, [file], ROOT);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ exitCode: 0, signal: null, stdout: 'hello, world\n' });
      // Its trace callback got strace-style lines.
      expect(r.stderr).toContain('exit_group(0)');
    });

    it("TypeScript: the declarations type the README's examples and reject a wrong call", () => {
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
      const r = run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], project);
      const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
      expect(errors).toEqual([expect.stringMatching(/^wrong\.ts\(3,14\): error TS2322: Type 'number' is not assignable to type 'string'/)]);
    });
  });
});
