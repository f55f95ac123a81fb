// Static Go tools packaged by Debian bookworm (fetched by
// scripts/fetch-debian-go-tools.sh; `file` says "statically linked" for both
// arches) doing real work on files in their working directory, on both
// arches: gojq filtering JSON, shfmt formatting and rewriting a shell script,
// codesearch's cindex building a trigram index of a source tree and csearch
// searching it, pup selecting from HTML. Each run is compared with the same
// binary run natively (x86-64) or under qemu-aarch64: stdout, stderr, exit
// code and the files left behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSync } from '../src/index.ts';
import { allCasesOn } from './helpers/tools.ts';
import { ARCHES, FIXED_ENV, ROOT, runReference, runTslinux, visible, type GuestArch, type Outcome, type RunSpec } from './helpers/e2e.ts';

const TOOLS = ['gojq', 'shfmt', 'cindex', 'csearch', 'pup'] as const;
type Tool = (typeof TOOLS)[number];

const toolPath = (arch: GuestArch, tool: Tool): string => path.join(ROOT, '.cache', 'debian', 'go-tools', arch, tool);

// ---- input files ---------------------------------------------------------------------------------

/** 300 deterministic records: enough that gojq's sorting and grouping do some work. */
function inventory(): string {
  const colors = ['red', 'green', 'blue', 'amber'];
  const items = Array.from({ length: 300 }, (_, i) => ({
    id: i,
    name: `item-${((i * 7919) % 1000).toString().padStart(3, '0')}`,
    color: colors[(i * 31) % colors.length],
    price: ((i * 37) % 500) / 4,
    tags: i % 3 === 0 ? ['sale'] : i % 5 === 0 ? ['new', 'featured'] : [],
  }));
  return JSON.stringify({ store: 'tslinux', items }, null, 1) + '\n';
}

const SCRIPT = `#!/bin/sh
# deploy helper
set -eu
if [ "$#" -lt 1 ];then echo "usage: $0 target" >&2;exit 2;fi
for f in   a b c; do
echo "step $f" ;done
deploy() { local t=$1;  case $t in prod) echo production;; *) echo "other: $t";;esac ; }
deploy "$1" &&   echo done||echo failed
`;

const BROKEN_SCRIPT = 'if [ -n "$x" ]; then\n  echo unterminated\n';

const PAGE = `<!DOCTYPE html>
<html><head><title>Inventory &amp; prices</title></head>
<body>
<ul id="items">
 <li class="item sale" data-id="1"><a href="/items/1">Lamp</a> <span class="price">12.50</span></li>
 <li class="item" data-id="2"><a href="/items/2">Desk</a> <span class="price">140.00</span></li>
 <li class="item sale" data-id="3"><a href="/items/3">Chair &lt;oak&gt;</a> <span class="price">75.25</span></li>
</ul>
<p>Last <b>updated</b> never.</p>
</body></html>
`;

const SOURCES: Record<string, string> = {
  'src/main.go': 'package main\n\nfunc main() {\n\tprintln(helloWorld())\n}\n',
  'src/hello.go': 'package main\n\n// helloWorld greets.\nfunc helloWorld() string { return "hello, world" }\n',
  'src/lib/util.py': 'def hello_world():\n    return "hello"\n\n\ndef goodbye():\n    pass\n',
  'src/README': 'Call helloWorld or hello_world.\nNothing else here.\n',
};

function write(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
}

// ---- runs ----------------------------------------------------------------------------------------

/** Where codesearch keeps its index: relative, so it is in the working directory. */
const INDEX_ENV = { ...FIXED_ENV, CSEARCHINDEX: '.csearchindex' };

/** Build the codesearch index of dir/src under tslinux, as a case's input. */
function indexSources(arch: GuestArch, dir: string): void {
  const r = runSync(toolPath(arch, 'cindex'), {
    args: ['src'],
    env: INDEX_ENV,
    cwd: dir,
    mountCwd: false,
    mounts: [{ host: dir, guest: dir }],
    stdout: 'capture',
    stderr: 'capture',
  });
  if (r.exitCode !== 0) throw new Error(`cindex for the csearch case failed: ${r.stderr.toString()}`);
}

interface ToolCase {
  name: string;
  tool: Tool;
  args: string[];
  stdin?: string;
  env?: Record<string, string>;
  setup?: (arch: GuestArch, dir: string) => void;
  exitCode: number;
  /** A file the tool creates, and a line it must contain. */
  creates?: { file: string; containing: string };
}

const CASES: ToolCase[] = [
  {
    name: 'gojq selects, sorts and reshapes records from a file',
    tool: 'gojq',
    args: ['-c', '[.items[] | select(.price > 100 and (.tags | index("sale"))) | {id, name, price}] | sort_by(.name) | .[:5]', 'inventory.json'],
    setup: (_a, d) => write(d, { 'inventory.json': inventory() }),
    exitCode: 0,
  },
  {
    name: 'gojq groups and aggregates (raw output, --arg)',
    tool: 'gojq',
    args: ['-r', '--arg', 'sep', '\t', '.items | group_by(.color)[] | [.[0].color, length, (map(.price) | add)] | map(tostring) | join($sep)', 'inventory.json'],
    setup: (_a, d) => write(d, { 'inventory.json': inventory() }),
    exitCode: 0,
  },
  {
    name: 'gojq reports a JSON syntax error with exit code 5',
    tool: 'gojq',
    args: ['.', 'bad.json'],
    setup: (_a, d) => write(d, { 'bad.json': '{"a": 1,\n "b": [1, 2,]}\n' }),
    exitCode: 5,
  },
  {
    name: 'shfmt formats a script to stdout',
    tool: 'shfmt',
    args: ['-i', '2', '-ci', 'deploy.sh'],
    setup: (_a, d) => write(d, { 'deploy.sh': SCRIPT }),
    exitCode: 0,
  },
  {
    name: 'shfmt -l -w rewrites the script in place',
    tool: 'shfmt',
    args: ['-l', '-w', '-s', 'deploy.sh', 'ok.sh'],
    setup: (_a, d) => write(d, { 'deploy.sh': SCRIPT, 'ok.sh': 'echo fine\n' }),
    exitCode: 0,
    creates: { file: 'deploy.sh', containing: 'deploy() {' },
  },
  {
    name: 'shfmt reports a syntax error',
    tool: 'shfmt',
    args: ['broken.sh'],
    setup: (_a, d) => write(d, { 'broken.sh': BROKEN_SCRIPT }),
    exitCode: 1,
  },
  {
    name: 'shfmt reads stdin',
    tool: 'shfmt',
    args: ['-bn'],
    stdin: 'a &&\\\n b|| c\n',
    exitCode: 0,
  },
  {
    name: 'codesearch cindex indexes a source tree',
    tool: 'cindex',
    args: ['src'],
    env: INDEX_ENV,
    setup: (_a, d) => write(d, SOURCES),
    exitCode: 0,
    creates: { file: '.csearchindex', containing: 'csearch index 1' },
  },
  {
    name: 'codesearch csearch finds a regexp through the index',
    tool: 'csearch',
    args: ['-n', 'hello_?[wW]orld'],
    env: INDEX_ENV,
    setup: (a, d) => {
      write(d, SOURCES);
      indexSources(a, d);
    },
    exitCode: 0,
  },
  {
    name: 'pup selects text and attributes from an HTML file',
    tool: 'pup',
    args: ['-f', 'page.html', 'li.sale a text{}'],
    setup: (_a, d) => write(d, { 'page.html': PAGE }),
    exitCode: 0,
  },
  {
    name: 'pup turns a selection into JSON',
    tool: 'pup',
    args: ['-f', 'page.html', 'li[data-id="2"] json{}'],
    setup: (_a, d) => write(d, { 'page.html': PAGE }),
    exitCode: 0,
  },
  {
    name: 'pup reads stdin',
    tool: 'pup',
    args: ['title text{}'],
    stdin: PAGE,
    exitCode: 0,
  },
];

function spec(arch: GuestArch, c: ToolCase): RunSpec {
  return {
    arch,
    program: toolPath(arch, c.tool),
    args: c.args,
    env: c.env ?? { ...FIXED_ENV },
    stdin: c.stdin ?? '',
    copyIn: true,
    setup: c.setup ? (d) => c.setup!(arch, d) : undefined,
  };
}

/**
 * What must agree between two runs. cindex logs with timestamps and stores
 * the absolute paths of what it indexed; each run has its own directory, of
 * the same length, so its name is blanked out and the index compares byte
 * for byte.
 */
function comparable(o: Outcome): Outcome {
  const v = visible(o);
  const blankDir = (s: string): string => s.replace(/tsl-e2e-[A-Za-z0-9]{6}/g, 'tsl-e2e-XXXXXX');
  const files = Object.fromEntries(Object.entries(v.files).map(([k, content]) => [k, blankDir(content)]));
  return { ...v, stderr: v.stderr.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /gm, ''), files };
}

/**
 * The cases an arch runs: all of them on x86-64; on aarch64 in npm test, the
 * first case of each tool (every tool starts, reads its input and writes
 * through aarch64's ABI), and all under npm run test:all.
 */
function casesFor(arch: GuestArch): readonly ToolCase[] {
  if (allCasesOn(arch)) return CASES;
  return CASES.filter((c, i) => CASES.findIndex((d) => d.tool === c.tool) === i);
}

function casesTitle(arch: GuestArch, title: string): string {
  return allCasesOn(arch) ? title : `${title} [the first case of each tool; all with npm run test:all]`;
}

for (const arch of ARCHES) {
  describe(casesTitle(arch, `Debian's static Go tools (${arch})`), () => {
    it('are statically linked executables for this arch (no PT_INTERP)', () => {
      for (const tool of TOOLS) {
        const elf = fs.readFileSync(toolPath(arch, tool));
        expect(elf.subarray(0, 4).toString('latin1'), tool).toBe('\x7fELF');
        expect(elf.readUInt16LE(18), tool).toBe(arch === 'x86_64' ? 62 : 183); // e_machine: EM_X86_64, EM_AARCH64
        const phoff = Number(elf.readBigUInt64LE(32));
        const types = Array.from({ length: elf.readUInt16LE(56) }, (_, i) => elf.readUInt32LE(phoff + i * elf.readUInt16LE(54)));
        expect(types, tool).toContain(1); // PT_LOAD
        expect(types, tool).not.toContain(3); // PT_INTERP: a dynamic loader
      }
    });

    for (const c of casesFor(arch)) {
      it(c.name, () => {
        const tsl = runTslinux(spec(arch, c));
        expect(tsl.exitCode, tsl.stderr).toBe(c.exitCode);
        expect(tsl.stdout + tsl.stderr).not.toBe('');
        if (c.creates) expect(tsl.files[c.creates.file]?.split('\n')).toContain(c.creates.containing);
        const ref = runReference(spec(arch, c));
        if (ref) expect(comparable(tsl)).toEqual(comparable(ref));
      });
    }
  });
}
