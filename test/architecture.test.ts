// The rooms of the source tree and what each may import: the lines the
// README's "Architecture" section draws, checked on every import of every
// .ts file under src/ and syscalls/ (static, type-only, re-exports and
// dynamic import() alike). A failure names the file, the import and the
// line it crosses.
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

type Room = 'arch' | 'cpu' | 'host' | 'kernel' | 'loader' | 'syscalls' | 'table' | 'trace' | 'policy' | 'entry' | 'shared';

/** Which room a file of the repository is in (a path relative to the root, with '/'). */
function roomOf(file: string): Room | null {
  if (file.startsWith('syscalls/table/')) return 'table';
  if (file.startsWith('syscalls/')) return 'syscalls';
  const m = /^src\/([^/]+)\//.exec(file);
  if (m) {
    const room = m[1]!;
    if (['arch', 'cpu', 'host', 'kernel', 'loader', 'trace', 'policy'].includes(room)) return room as Room;
    return null;
  }
  // A leaf any room may use: where the package is installed (for the vendored libraries).
  if (file === 'src/package-root.ts') return 'shared';
  if (/^src\/[^/]+\.ts$/.test(file)) return 'entry';
  return null;
}

/**
 * What each room may import, besides itself, `shared` and Node's own
 * modules. Keep in step with the diagram in README.md ("Architecture").
 */
const MAY_IMPORT: Readonly<Record<Room, readonly Room[]>> = {
  // The CPU port (src/arch/cpu.ts) and the per-arch ABI; it reads the kernel's memory and error types, and the generated number tables.
  arch: ['kernel', 'table'],
  // Unicorn and koffi; of the rest only the port it implements (see CPU_MAY_IMPORT).
  cpu: ['arch'],
  // The host's libc through koffi; it answers the VFS's types.
  host: ['kernel'],
  // The kernel model: the ABI and the port, the loader, the host layer. Never syscalls/ (handed the table), never the CPU backend, trace or policy.
  kernel: ['arch', 'loader', 'host'],
  loader: ['arch', 'kernel', 'host'],
  // The declarations: the kernel interface they implement, the ABI, the loader (execve).
  syscalls: ['kernel', 'arch', 'loader', 'host', 'table'],
  // Generated number maps: they import nothing.
  table: [],
  // Tracing, reports, policies: the syscall metadata, the kernel they observe. Never the CPU backend.
  trace: ['kernel', 'arch', 'syscalls', 'table', 'host'],
  policy: ['kernel', 'arch', 'syscalls', 'table', 'host', 'trace'],
  // The CLI and the library API put it all together.
  entry: ['arch', 'kernel', 'loader', 'host', 'syscalls', 'table', 'trace', 'policy', 'cpu'],
  shared: [],
};

/** The files of the port src/cpu/ implements: all it may see of src/arch/. */
const CPU_MAY_IMPORT = new Set(['src/arch/cpu.ts', 'src/arch/hwcaps.ts']);

/**
 * The one place outside src/cpu/ that imports it: the entry point that
 * picks Unicorn's engines for the kernel (KernelOptions.cpu) and passes on
 * the library check (loadUnicorn) to cli.ts and index.ts. Everything else
 * sees the CPU through the port in src/arch/cpu.ts.
 */
const ENGINE_BUILDERS = new Set(['src/launch.ts']);

/** The Kernel's own layers: handlers see KernelServices (src/kernel/services.ts) instead. */
const KERNEL_LAYERS = new Set(['kernel.ts', 'kernel-state.ts', 'fork-exit.ts', 'exec.ts', 'trap.ts', 'scheduler.ts'].map((f) => `src/kernel/${f}`));

/** The FFI: only the CPU backend (Unicorn) and the host layer (libc by handle) call native code. */
const KOFFI_ROOMS = new Set<Room>(['cpu', 'host']);

interface Import {
  file: string;
  line: number;
  spec: string;
  /** The imported file, relative to the root; null for a package or a node: module. */
  target: string | null;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sourceFiles(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function importsOf(file: string, text = fs.readFileSync(path.join(ROOT, file), 'utf8')): Import[] {
  const info = ts.preProcessFile(text, true, true);
  const lineOf = (pos: number): number => text.slice(0, pos).split('\n').length;
  return info.importedFiles.map((ref) => {
    const spec = ref.fileName;
    const target = spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : null;
    return { file, line: lineOf(ref.pos), spec, target };
  });
}

/** Every import that crosses a forbidden line, as `file:line imports 'spec': why`. */
function violations(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const imp of imports) {
    const from = roomOf(imp.file);
    if (!from) continue;
    const at = `${imp.file}:${imp.line} imports '${imp.spec}'`;
    if (imp.target === null) {
      if (imp.spec === 'koffi' && !KOFFI_ROOMS.has(from)) out.push(`${at}: koffi is only for src/cpu/ and src/host/`);
      continue;
    }
    const to = roomOf(imp.target);
    if (!to || to === from || to === 'shared') continue;
    if (to === 'cpu' && !ENGINE_BUILDERS.has(imp.file)) {
      out.push(`${at}: only ${[...ENGINE_BUILDERS].join(', ')} builds engines; use the CPU port (src/arch/cpu.ts)`);
      continue;
    }
    if (from === 'cpu' && to === 'arch' && !CPU_MAY_IMPORT.has(imp.target)) {
      out.push(`${at}: src/cpu/ may see only the port it implements (${[...CPU_MAY_IMPORT].join(', ')})`);
      continue;
    }
    if (!MAY_IMPORT[from].includes(to)) {
      out.push(`${at}: ${from} may not import ${to}`);
      continue;
    }
    if (from === 'syscalls' && KERNEL_LAYERS.has(imp.target)) out.push(`${at}: handlers use KernelServices (src/kernel/services.ts), not the Kernel's layers`);
  }
  return out;
}

const FILES = [...sourceFiles('src'), ...sourceFiles('syscalls')];
const IMPORTS = FILES.flatMap((f) => importsOf(f));

describe('the rooms of the source tree', () => {
  it('every .ts file under src/ and syscalls/ is in a room', () => {
    expect(FILES.filter((f) => roomOf(f) === null)).toEqual([]);
    expect(FILES.length).toBeGreaterThan(100);
    expect(IMPORTS.length).toBeGreaterThan(500);
  });

  it('no import crosses a forbidden line', () => {
    expect(violations(IMPORTS)).toEqual([]);
  });

  it('finds the imports it forbids (the check itself)', () => {
    const imp = (file: string, spec: string): Import => ({
      file,
      line: 1,
      spec,
      target: spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : null,
    });
    const cases: [string, string, RegExp][] = [
      ['src/cpu/engine.ts', '../kernel/memory.ts', /cpu may not import kernel/],
      ['syscalls/process.ts', '../src/cpu/unicorn-constants.ts', /only src\/launch\.ts builds engines/],
      ['src/trace/crash-report.ts', '../cpu/engine.ts', /only src\/launch\.ts builds engines/],
      ['src/policy/policy.ts', '../cpu/engine.ts', /only src\/launch\.ts builds engines/],
      ['src/kernel/kernel.ts', '../../syscalls/index.ts', /kernel may not import syscalls/],
      ['src/kernel/kernel.ts', '../trace/crash-report.ts', /kernel may not import trace/],
      ['src/kernel/memory.ts', 'koffi', /koffi is only for/],
      ['syscalls/file.ts', 'koffi', /koffi is only for/],
      ['src/cpu/engine.ts', '../arch/types.ts', /may see only the port/],
      ['syscalls/table/x86_64.ts', '../../src/kernel/errors.ts', /table may not import kernel/],
      ['syscalls/fdextra.ts', '../src/kernel/kernel.ts', /handlers use KernelServices/],
      ['syscalls/lifecycle.ts', '../src/kernel/exec.ts', /handlers use KernelServices/],
    ];
    for (const [file, spec, why] of cases) {
      const found = violations([imp(file, spec)]);
      expect(found, `${file} -> ${spec}`).toHaveLength(1);
      expect(found[0]).toMatch(why);
      expect(found[0]).toContain(`${file}:1 imports '${spec}'`);
    }
    // And what is allowed stays allowed.
    expect(violations([imp('src/launch.ts', './cpu/guest-engine.ts'), imp('src/cpu/guest-engine.ts', '../arch/cpu.ts'), imp('src/host/libc.ts', 'koffi')])).toEqual([]);
  });

  it('reads type-only, re-export and dynamic imports too', () => {
    const text = "import type { X } from '../cpu/a.ts';\nexport { Y } from '../trace/b.ts';\nconst z = await import('../../syscalls/c.ts');\n";
    const found = violations(importsOf('src/kernel/probe.ts', text));
    expect(found.map((v) => v.split(': ')[0])).toEqual([
      "src/kernel/probe.ts:1 imports '../cpu/a.ts'",
      "src/kernel/probe.ts:2 imports '../trace/b.ts'",
      "src/kernel/probe.ts:3 imports '../../syscalls/c.ts'",
    ]);
  });
});
