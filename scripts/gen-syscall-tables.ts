/**
 * Generates the kernel-ABI tables of tslinux from the Linux uapi headers:
 *
 *   syscalls/table/x86_64.ts        syscall number <-> name (x86-64)
 *   syscalls/table/aarch64.ts       syscall number <-> name (aarch64)
 *   syscalls/table/index.ts         both, by arch: the one source of the number maps
 *   src/kernel/errno-table.ts       errno names, numbers and glibc strerror() texts
 *   src/arch/generated-constants.ts per-arch flag/ioctl/... constants
 *
 * Run on a developer machine with `npx tsx scripts/gen-syscall-tables.ts`;
 * the outputs are committed. Needs gcc, aarch64-linux-gnu-gcc, linux-libc-dev
 * and linux-libc-dev-arm64-cross.
 *
 * Why a C compiler instead of parsing the headers ourselves: the uapi headers
 * are full of indirections (__NR3264_*), #if __ARCH_WANT_* / __BITS_PER_LONG
 * conditionals and expressions (O_TMPFILE, _IOR(...), HUGETLB_FLAG_ENCODE_*).
 * Letting the target's own compiler evaluate them yields exactly what a guest
 * program compiled against those headers sees, with no hand-typed numbers.
 *
 * How values are obtained without running target code: we compile (-S) a C
 * file that stores each macro in a global constant and read the numbers back
 * from the assembly the compiler emits. That works for the aarch64 cross
 * compiler too, where we could not execute the result.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = 'scripts/gen-syscall-tables.ts';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Arch = 'x86_64' | 'aarch64';

interface Toolchain {
  arch: Arch;
  /** C compiler whose preprocessor/include path targets `arch`. */
  cc: string;
}

const X86_64: Toolchain = { arch: 'x86_64', cc: 'gcc' };
const AARCH64: Toolchain = { arch: 'aarch64', cc: 'aarch64-linux-gnu-gcc' };
const TOOLCHAINS: readonly Toolchain[] = [X86_64, AARCH64];

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

function fail(message: string): never {
  throw new Error(`gen-syscall-tables: ${message}`);
}

let tempDir: string | undefined;

/** One scratch directory per run, removed at exit. */
function scratchFile(name: string): string {
  tempDir ??= mkdtempSync(path.join(tmpdir(), 'tslinux-gen-'));
  return path.join(tempDir, name);
}

function includeLines(headers: readonly string[]): string {
  return headers.map((h) => `#include <${h}>`).join('\n');
}

/** Runs the compiler; a failure is fatal and shows the compiler's complaint. */
function runCompiler(cc: string, args: readonly string[]): string {
  const result = spawnSync(cc, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) fail(`cannot run ${cc}: ${result.error.message}`);
  if (result.status !== 0) {
    fail(`${cc} ${args.join(' ')} failed (status ${result.status}):\n${result.stderr}`);
  }
  return result.stdout;
}

/** Locale-independent ordering, so the output does not depend on the machine. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A single-quoted TypeScript string literal. */
function tsString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** Numbers that fit a JS number comfortably stay numbers; anything wider is a bigint literal. */
function tsNumber(v: bigint): string {
  return v >= -(2n ** 31n) && v < 2n ** 32n ? v.toString() : `${v}n`;
}

// ---------------------------------------------------------------------------
// Asking the compiler about macros
// ---------------------------------------------------------------------------

interface MacroDefinition {
  /** Replacement text as written in the header. */
  body: string;
  /** Absolute, normalised path of the header that defined it. */
  file: string;
}

/**
 * All object-like macros visible after including `headers`, with the header
 * each came from. Uses `-E -dD`, which keeps #define lines in the output
 * interleaved with the line markers that say which file we are in.
 */
function readMacros(tc: Toolchain, headers: readonly string[]): Map<string, MacroDefinition> {
  const source = scratchFile(`macros-${tc.arch}.c`);
  writeFileSync(source, `${includeLines(headers)}\n`);
  const output = runCompiler(tc.cc, ['-E', '-dD', source]);

  const macros = new Map<string, MacroDefinition>();
  let currentFile = '';
  for (const line of output.split('\n')) {
    const marker = /^# \d+ "([^"]+)"/.exec(line);
    if (marker) {
      currentFile = marker[1]!;
      continue;
    }
    // Object-like only: a '(' right after the name would make it function-like.
    const define = /^#define ([A-Za-z_][A-Za-z0-9_]*)(?:\s+(.*))?$/.exec(line);
    if (define) {
      macros.set(define[1]!, { body: (define[2] ?? '').trim(), file: path.resolve(currentFile) });
      continue;
    }
    const undef = /^#undef ([A-Za-z_][A-Za-z0-9_]*)/.exec(line);
    if (undef) macros.delete(undef[1]!);
  }
  return macros;
}

interface Evaluation {
  values: Map<string, bigint>;
  /** Names the compiler rejected as integer constant expressions (only if tolerated). */
  rejected: string[];
}

/**
 * Evaluates each named macro as an integer constant expression with the
 * target compiler. Every macro becomes two globals: its value as a 64-bit
 * pattern and whether it is negative (so that e.g. AT_FDCWD = -100 and
 * RLIM_INFINITY = ~0UL come out right). We then read the initialisers back
 * from the generated assembly (.quad/.xword/.long/.word/.zero directives).
 *
 * With `tolerateRejects`, macros the compiler cannot evaluate (e.g. x86's
 * SIGRTMAX, which expands to the kernel-internal _NSIG) are dropped and
 * reported instead of failing the run.
 */
function evaluateMacros(
  tc: Toolchain,
  headers: readonly string[],
  names: readonly string[],
  tolerateRejects = false,
): Evaluation {
  let remaining = [...names];
  const rejected: string[] = [];
  for (;;) {
    const lines = [includeLines(headers)];
    const nameAtLine = new Map<number, string>(); // 1-based source line -> macro
    remaining.forEach((name, i) => {
      lines.push(`const unsigned long long tsl_v${i} = (unsigned long long)(${name});`);
      nameAtLine.set(headers.length + lines.length - 1, name);
      lines.push(`const int tsl_n${i} = (${name}) < 0;`);
      nameAtLine.set(headers.length + lines.length - 1, name);
    });
    const source = scratchFile(`eval-${tc.arch}.c`);
    writeFileSync(source, `${lines.join('\n')}\n`);
    // -w: "comparison of unsigned expression < 0 is always false" is expected.
    const args = ['-S', '-O0', '-w', '-o', '-', source];
    const result = spawnSync(tc.cc, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (result.status === 0) return { values: readEvaluation(tc, result.stdout, remaining), rejected };

    // Find which of our lines the errors point at; anything else is fatal.
    const bad = new Set<string>();
    for (const m of result.stderr.matchAll(/eval-[a-z0-9_]+\.c:(\d+):\d+: error/g)) {
      const name = nameAtLine.get(Number(m[1]));
      if (name !== undefined) bad.add(name);
    }
    if (!tolerateRejects || bad.size === 0) runCompiler(tc.cc, args); // reports the failure
    rejected.push(...bad);
    remaining = remaining.filter((n) => !bad.has(n));
  }
}

function readEvaluation(tc: Toolchain, asm: string, names: readonly string[]): Map<string, bigint> {
  const words = readAssemblyConstants(asm);
  const values = new Map<string, bigint>();
  names.forEach((name, i) => {
    const bits = words.get(`tsl_v${i}`);
    const negative = words.get(`tsl_n${i}`);
    if (bits === undefined || negative === undefined) fail(`${tc.cc}: no value emitted for ${name}`);
    const unsigned = BigInt.asUintN(64, bits);
    values.set(name, negative !== 0n ? BigInt.asIntN(64, unsigned) : unsigned);
  });
  return values;
}

/** label -> value of the single data directive that follows it. */
function readAssemblyConstants(asm: string): Map<string, bigint> {
  const result = new Map<string, bigint>();
  let label: string | undefined;
  for (const raw of asm.split('\n')) {
    const line = raw.trim();
    const labelMatch = /^(tsl_[vn]\d+):$/.exec(line);
    if (labelMatch) {
      label = labelMatch[1];
      continue;
    }
    if (label === undefined) continue;
    const data = /^\.(quad|xword|8byte|long|word|4byte|zero)\s+(-?(?:0x[0-9a-fA-F]+|\d+))$/.exec(line);
    if (data) {
      // `.zero N` is how gcc writes an all-zero initialiser of N bytes.
      result.set(label, data[1] === 'zero' ? 0n : BigInt(data[2]!));
      label = undefined;
    }
  }
  return result;
}

/** LINUX_VERSION_CODE of the uapi headers, for the provenance comment. */
function headerKernelVersion(tc: Toolchain): string {
  const code = evaluateMacros(tc, ['linux/version.h'], ['LINUX_VERSION_CODE']).values.get('LINUX_VERSION_CODE')!;
  return `${code >> 16n}.${(code >> 8n) & 0xffn}.${code & 0xffn}`;
}

/** Headers (sorted, deduplicated) that defined the given macros. */
function definingHeaders(macros: Map<string, MacroDefinition>, names: Iterable<string>): string[] {
  const files = new Set<string>();
  for (const name of names) {
    const def = macros.get(name);
    if (def) files.add(def.file);
  }
  return [...files].sort();
}

function generatedHeader(sources: readonly string[], note: string): string {
  return [
    `// Generated by ${SCRIPT} from ${sources.join(', ')} — do not edit.`,
    `// ${note}`,
    '',
  ].join('\n');
}

function writeGenerated(relativePath: string, text: string): void {
  const target = path.join(REPO_ROOT, relativePath);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${relativePath}`);
}

// ---------------------------------------------------------------------------
// 1. Syscall tables
// ---------------------------------------------------------------------------

/**
 * `__NR_*` macros that are not syscalls: the table size and the start of the
 * (unused on arm64) arch-specific block of asm-generic/unistd.h.
 */
const NOT_SYSCALLS = new Set(['__NR_syscalls', '__NR_arch_specific_syscall']);

/**
 * On 64-bit asm-generic arches these names are #defined to __NR3264_*; they are
 * the names the arm64 kernel's own syscall table uses, so they must be present.
 */
const AARCH64_3264_NAMES = [
  'newfstatat', 'fstat', 'mmap', 'fadvise64', 'truncate', 'ftruncate',
  'lseek', 'sendfile', 'statfs', 'fstatfs', 'fcntl',
];

const SYSCALL_SANITY: Record<Arch, Record<string, number>> = {
  x86_64: { read: 0, write: 1, exit_group: 231 },
  aarch64: { read: 63, write: 64, openat: 56, exit_group: 94, newfstatat: 79 },
};

interface SyscallTable {
  /** number -> name, sorted by number */
  byNumber: Map<number, string>;
  sources: string[];
  kernelVersion: string;
}

function collectSyscalls(tc: Toolchain): SyscallTable {
  // asm/unistd.h is the header userspace includes; it pulls in unistd_64.h on
  // x86-64 and asm-generic/unistd.h (with arm64's __ARCH_WANT_* set) on arm64.
  const headers = ['asm/unistd.h'];
  const macros = readMacros(tc, headers);
  const macroNames = [...macros.keys()].filter((n) => n.startsWith('__NR_') && !NOT_SYSCALLS.has(n));
  const { values } = evaluateMacros(tc, headers, macroNames);

  const byNumber = new Map<number, string>();
  for (const macro of macroNames) {
    const name = macro.slice('__NR_'.length);
    const nr = Number(values.get(macro)!);
    const clash = byNumber.get(nr);
    if (clash !== undefined) fail(`${tc.arch}: syscall ${nr} is both ${clash} and ${name}`);
    byNumber.set(nr, name);
  }
  const sorted = new Map([...byNumber].sort((a, b) => a[0] - b[0]));
  checkSyscalls(tc.arch, sorted);
  // Credit the headers with the numbers and the one setting __ARCH_WANT_*
  // (arm64's asm/unistd.h), since both decide the table.
  const relevant = [...macros.keys()].filter((n) => n.startsWith('__ARCH_WANT_') || values.has(n));
  return { byNumber: sorted, sources: definingHeaders(macros, relevant), kernelVersion: headerKernelVersion(tc) };
}

function checkSyscalls(arch: Arch, byNumber: Map<number, string>): void {
  const byName = new Map([...byNumber].map(([nr, name]) => [name, nr]));
  for (const [name, expected] of Object.entries(SYSCALL_SANITY[arch])) {
    const got = byName.get(name);
    if (got !== expected) fail(`${arch}: expected ${name}=${expected}, got ${got}`);
  }
  if (arch === 'aarch64') {
    for (const name of AARCH64_3264_NAMES) {
      if (!byName.has(name)) fail(`aarch64: 64-bit name ${name} missing (__NR3264_* not resolved?)`);
    }
  }
  for (const [nr, name] of byNumber) {
    if (!Number.isInteger(nr) || nr < 0 || nr > 1023) fail(`${arch}: implausible number ${nr} for ${name}`);
  }
}

function renderSyscallTable(arch: Arch, table: SyscallTable): string {
  const names = [...table.byNumber].map(([nr, name]) => `  ${nr}: ${tsString(name)},`);
  const numbers = [...table.byNumber].map(([nr, name]) => `  ${name}: ${nr},`);
  return [
    generatedHeader(
      table.sources,
      `${arch} syscall numbers (uapi headers of Linux ${table.kernelVersion}); ${table.byNumber.size} syscalls.`,
    ),
    'export const SYSCALL_NAMES: Readonly<Record<number, string>> = {',
    ...names,
    '};',
    '',
    'export const SYSCALL_NUMBERS: Readonly<Record<string, number>> = {',
    ...numbers,
    '};',
    '',
  ].join('\n');
}

/** The index every user of the number maps imports (the arches, the policies, the tracer). */
function renderTableIndex(): string {
  const arches = TOOLCHAINS.map((tc) => tc.arch);
  return [
    `// Generated by ${SCRIPT} — do not edit.`,
    '// The per-arch syscall number maps, the one source every part of tslinux',
    '// (the arches, the dispatcher, the tracer, the policies) reads them from.',
    ...[...arches].sort().map((a) => `import * as ${a} from './${a}.ts';`),
    '',
    '/** The guest architectures that have a syscall table. */',
    `export type TableArch = ${arches.map((a) => tsString(a)).join(' | ')};`,
    '',
    'export interface SyscallNumbering {',
    '  /** number -> name */',
    '  readonly names: Readonly<Record<number, string>>;',
    '  /** name -> number */',
    '  readonly numbers: Readonly<Record<string, number>>;',
    '}',
    '',
    'export const SYSCALL_TABLES: Readonly<Record<TableArch, SyscallNumbering>> = {',
    ...arches.map((a) => `  ${a}: { names: ${a}.SYSCALL_NAMES, numbers: ${a}.SYSCALL_NUMBERS },`),
    '};',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// 2. errno table
// ---------------------------------------------------------------------------

interface ErrnoTable {
  /** name -> number, including aliases; sorted by number, canonical name first */
  byName: [string, number][];
  /** number -> canonical name (the one defined as a literal, as strace prints) */
  canonical: Map<number, string>;
  messages: Map<number, string>;
  sources: string[];
}

function collectErrnoForArch(tc: Toolchain): { byName: Map<string, number>; canonical: Map<number, string>; sources: string[] } {
  const headers = ['asm/errno.h']; // -> asm-generic/errno.h -> asm-generic/errno-base.h
  const macros = readMacros(tc, headers);
  const names = [...macros.keys()].filter((n) => /^E[A-Z0-9]+$/.test(n)).sort();
  const { values } = evaluateMacros(tc, headers, names);

  const byName = new Map<string, number>();
  const canonical = new Map<number, string>();
  for (const name of names) {
    const nr = Number(values.get(name)!);
    byName.set(name, nr);
    // Aliases (EWOULDBLOCK, EDEADLOCK) are defined as another E* name; the
    // name defined as a plain number is the one strace and glibc print.
    if (/^\d+$/.test(macros.get(name)!.body)) {
      const clash = canonical.get(nr);
      if (clash !== undefined) fail(`${tc.arch}: errno ${nr} has two literal definitions: ${clash}, ${name}`);
      canonical.set(nr, name);
    }
  }
  for (const [name, nr] of byName) {
    if (!canonical.has(nr)) fail(`${tc.arch}: ${name}=${nr} has no canonical name`);
  }
  return { byName, canonical, sources: definingHeaders(macros, names) };
}

/** strerror() texts from the host glibc (C locale), by compiling and running a tiny program. */
function hostStrerror(numbers: readonly number[]): Map<number, string> {
  const source = scratchFile('strerror.c');
  const exe = scratchFile('strerror');
  writeFileSync(
    source,
    [
      '#include <stdio.h>',
      '#include <string.h>',
      `static const int nums[] = { ${numbers.join(', ')} };`,
      'int main(void) {',
      '  for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++)',
      '    printf("%d\\t%s\\n", nums[i], strerror(nums[i]));',
      '  return 0;',
      '}',
      '',
    ].join('\n'),
  );
  runCompiler(X86_64.cc, ['-O0', '-o', exe, source]);
  const output = execFileSync(exe, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });

  const messages = new Map<number, string>();
  for (const line of output.split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    messages.set(Number(line.slice(0, tab)), line.slice(tab + 1));
  }
  for (const nr of numbers) {
    const text = messages.get(nr);
    if (text === undefined || text.startsWith('Unknown error')) fail(`strerror(${nr}) gave ${text}`);
  }
  return messages;
}

function collectErrno(): ErrnoTable {
  const perArch = TOOLCHAINS.map((tc) => collectErrnoForArch(tc));
  const [x86, arm] = perArch as [typeof perArch[0], typeof perArch[0]];
  // The emulator uses one errno table for both guests; make sure that is valid.
  const same =
    x86.byName.size === arm.byName.size && [...x86.byName].every(([name, nr]) => arm.byName.get(name) === nr);
  if (!same) fail('errno values differ between x86_64 and aarch64 headers');

  // By number; within a number the canonical name first, then its aliases.
  const aliasRank = ([name, nr]: [string, number]) => (x86.canonical.get(nr) === name ? 0 : 1);
  const byName = [...x86.byName].sort(
    (a, b) => a[1] - b[1] || aliasRank(a) - aliasRank(b) || compareStrings(a[0], b[0]),
  );
  const canonical = new Map([...x86.canonical].sort((a, b) => a[0] - b[0]));
  const checks: Record<string, number> = { EPERM: 1, ENOENT: 2, EAGAIN: 11, EWOULDBLOCK: 11, ENOSYS: 38 };
  for (const [name, nr] of Object.entries(checks)) {
    if (x86.byName.get(name) !== nr) fail(`errno: expected ${name}=${nr}`);
  }
  if (canonical.get(11) !== 'EAGAIN' || canonical.get(35) !== 'EDEADLK' || canonical.get(95) !== 'EOPNOTSUPP') {
    fail('errno: unexpected canonical names for 11/35/95');
  }
  const sources = [...new Set([...x86.sources, ...arm.sources])].sort();
  return { byName, canonical, messages: hostStrerror([...canonical.keys()]), sources };
}

function renderErrnoTable(table: ErrnoTable): string {
  return [
    generatedHeader(
      table.sources,
      'Identical on x86_64 and aarch64 (checked by the generator). Messages: host glibc strerror(), C locale.',
    ),
    'export const ERRNO = {',
    ...table.byName.map(([name, nr]) => `  ${name}: ${nr},`),
    '} as const;',
    '',
    'export type ErrnoName = keyof typeof ERRNO;',
    '',
    '/** Canonical name for each errno value, as strace prints it. */',
    'export const ERRNO_NAMES: Readonly<Record<number, string>> = {',
    ...[...table.canonical].map(([nr, name]) => `  ${nr}: ${tsString(name)},`),
    '};',
    '',
    '/** strerror() text for each errno value, as glibc (and so strace) prints it. */',
    'export const ERRNO_MESSAGES: Readonly<Record<number, string>> = {',
    ...[...table.canonical.keys()].map((nr) => `  ${nr}: ${tsString(table.messages.get(nr)!)},`),
    '};',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// 3. Per-arch constants
// ---------------------------------------------------------------------------

/**
 * Headers the constants come from. asm/termbits.h and linux/serial.h are only
 * there so that _IOR(..., struct termios2) style ioctl numbers can be sized.
 */
const CONSTANT_HEADERS = [
  'asm/fcntl.h', 'linux/fcntl.h',
  'asm/mman.h', 'linux/mman.h',
  'asm/signal.h',
  'asm/termbits.h', 'linux/serial.h', 'asm/ioctls.h',
  'linux/time.h',
  'asm/resource.h',
  'linux/stat.h',
  'asm/socket.h', 'linux/sockios.h',
];

/** Which macros to export, grouped (in output order) by what they are for. */
const CONSTANT_FAMILIES: readonly { title: string; pattern: RegExp }[] = [
  { title: 'open(2) flags', pattern: /^(O_[A-Z0-9_]+|FASYNC)$/ },
  { title: 'fcntl(2) commands and arguments', pattern: /^F_[A-Z0-9_]+$/ },
  { title: '*at(2) flags', pattern: /^AT_[A-Z0-9_]+$/ },
  { title: 'mmap(2) flags', pattern: /^MAP_[A-Z0-9_]+$/ },
  { title: 'mmap(2)/mprotect(2) protections', pattern: /^PROT_[A-Z0-9_]+$/ },
  { title: 'mremap(2) flags', pattern: /^MREMAP_[A-Z0-9_]+$/ },
  { title: 'madvise(2) advice', pattern: /^MADV_[A-Z0-9_]+$/ },
  { title: 'signal numbers, sigprocmask(2) how, stack sizes', pattern: /^(SIG[A-Z0-9]+|SIG_[A-Z]+|MINSIGSTKSZ)$/ },
  { title: 'sigaction(2) flags', pattern: /^SA_[A-Z0-9_]+$/ },
  { title: 'tty/file ioctls and tc* arguments', pattern: /^(TC|TIOC|FIO)[A-Z0-9_]*$/ },
  { title: 'clock ids and timer flags', pattern: /^(CLOCK_[A-Z0-9_]+|TIMER_ABSTIME|ITIMER_[A-Z]+)$/ },
  { title: 'resource limits', pattern: /^(RLIMIT_[A-Z0-9_]+|RLIM_[A-Z0-9_]+)$/ },
  { title: 'statx(2) mask and attribute bits', pattern: /^STATX_[A-Z0-9_]+$/ },
  { title: 'socket options and control messages (socket(7))', pattern: /^(SOL_SOCKET|SO_[A-Z0-9_]+|SCM_[A-Z_]+)$/ },
  { title: 'socket ioctls (netdevice(7))', pattern: /^SIOC[A-Z0-9_]+$/ },
];

/** Pointer-valued (handler addresses), not integer constants. */
const CONSTANT_EXCLUDE = new Set(['SIG_DFL', 'SIG_IGN', 'SIG_ERR']);

/** Must exist on both arches: what the emulator is known to rely on. */
const REQUIRED_CONSTANTS = [
  'O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_EXCL', 'O_NOCTTY', 'O_TRUNC', 'O_APPEND', 'O_NONBLOCK',
  'O_DSYNC', 'O_SYNC', 'O_DIRECT', 'O_LARGEFILE', 'O_DIRECTORY', 'O_NOFOLLOW', 'O_NOATIME', 'O_CLOEXEC',
  'O_PATH', 'O_TMPFILE', 'FASYNC',
  'F_DUPFD', 'F_GETFD', 'F_SETFD', 'F_GETFL', 'F_SETFL', 'F_DUPFD_CLOEXEC',
  'AT_FDCWD', 'AT_SYMLINK_NOFOLLOW', 'AT_REMOVEDIR', 'AT_SYMLINK_FOLLOW', 'AT_EMPTY_PATH', 'AT_EACCESS',
  'AT_NO_AUTOMOUNT', 'AT_STATX_SYNC_TYPE',
  'MAP_SHARED', 'MAP_PRIVATE', 'MAP_FIXED', 'MAP_ANONYMOUS', 'MAP_GROWSDOWN', 'MAP_DENYWRITE', 'MAP_EXECUTABLE',
  'MAP_LOCKED', 'MAP_NORESERVE', 'MAP_POPULATE', 'MAP_NONBLOCK', 'MAP_STACK', 'MAP_HUGETLB', 'MAP_FIXED_NOREPLACE',
  'MREMAP_MAYMOVE', 'MREMAP_FIXED', 'MREMAP_DONTUNMAP', 'MADV_DONTNEED',
  'PROT_NONE', 'PROT_READ', 'PROT_WRITE', 'PROT_EXEC',
  'SIGHUP', 'SIGKILL', 'SIGSEGV', 'SIGCHLD', 'SIGRTMIN', 'SIG_BLOCK', 'SIG_UNBLOCK', 'SIG_SETMASK',
  'SA_SIGINFO', 'SA_RESTORER', 'SA_ONSTACK', 'SA_RESTART', 'SA_NODEFER', 'SA_RESETHAND',
  'TCGETS', 'TCSETS', 'TCSETSW', 'TCSETSF', 'TIOCGWINSZ', 'TIOCSWINSZ', 'TIOCGPGRP', 'TIOCSPGRP',
  'FIONREAD', 'FIONBIO', 'FIOCLEX', 'FIONCLEX',
  'CLOCK_REALTIME', 'CLOCK_MONOTONIC', 'RLIMIT_STACK', 'RLIMIT_NOFILE', 'STATX_BASIC_STATS',
  'SOL_SOCKET', 'SO_REUSEADDR', 'SO_TYPE', 'SO_ERROR', 'SO_SNDBUF', 'SO_RCVBUF', 'SO_KEEPALIVE', 'SO_LINGER',
  'SO_PASSCRED', 'SO_PEERCRED', 'SO_RCVTIMEO_OLD', 'SO_SNDTIMEO_OLD', 'SO_ACCEPTCONN', 'SO_PROTOCOL', 'SO_DOMAIN',
  'SIOCGIFCONF',
];

/** A few values whose arch-specific numbers we know, to catch a mixed-up toolchain. */
const CONSTANT_SANITY: Record<Arch, Record<string, bigint>> = {
  x86_64: { AT_FDCWD: -100n, O_DIRECTORY: 0o200000n, O_CREAT: 0o100n, MAP_ANONYMOUS: 0x20n, TCGETS: 0x5401n },
  aarch64: { AT_FDCWD: -100n, O_DIRECTORY: 0o40000n, O_CREAT: 0o100n, MAP_ANONYMOUS: 0x20n, TCGETS: 0x5401n },
};

interface ArchConstants {
  values: Map<string, bigint>;
  /** Matched a family but is not an integer constant in these headers. */
  rejected: string[];
  sources: string[];
}

function familyIndex(name: string): number {
  return CONSTANT_FAMILIES.findIndex((f) => f.pattern.test(name));
}

function collectConstantsForArch(tc: Toolchain): ArchConstants {
  const macros = readMacros(tc, CONSTANT_HEADERS);
  const names = [...macros.keys()]
    .filter((n) => familyIndex(n) >= 0 && !CONSTANT_EXCLUDE.has(n))
    .sort();
  const { values, rejected } = evaluateMacros(tc, CONSTANT_HEADERS, names, true);
  for (const [name, expected] of Object.entries(CONSTANT_SANITY[tc.arch])) {
    if (values.get(name) !== expected) fail(`${tc.arch}: expected ${name}=${expected}, got ${values.get(name)}`);
  }
  return { values, rejected, sources: definingHeaders(macros, names) };
}

/** Keys in family order, then alphabetical, so the output reads by topic. */
function orderConstantNames(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => familyIndex(a) - familyIndex(b) || compareStrings(a, b));
}

function renderConstantObject(exportName: string, names: readonly string[], values: Map<string, bigint>): string[] {
  const lines = [`export const ${exportName} = {`];
  let family = -1;
  for (const name of names) {
    if (familyIndex(name) !== family) {
      family = familyIndex(name);
      lines.push(`  // ${CONSTANT_FAMILIES[family]!.title}`);
    }
    lines.push(`  ${name}: ${tsNumber(values.get(name)!)},`);
  }
  lines.push('} as const;', '');
  return lines;
}

function describeRejected(x86: ArchConstants, arm: ArchConstants): string {
  const parts = [`x86_64: ${x86.rejected.sort().join(', ') || 'none'}`, `aarch64: ${arm.rejected.sort().join(', ') || 'none'}`];
  return parts.join('; ');
}

function renderConstants(x86: ArchConstants, arm: ArchConstants): string {
  // The two main objects must have the same keys, so that code can pick one
  // per guest arch; names that exist only on one arch go to *_ONLY_* objects.
  const common = orderConstantNames([...x86.values.keys()].filter((n) => arm.values.has(n)));
  const x86Only = orderConstantNames([...x86.values.keys()].filter((n) => !arm.values.has(n)));
  const armOnly = orderConstantNames([...arm.values.keys()].filter((n) => !x86.values.has(n)));
  for (const name of REQUIRED_CONSTANTS) {
    if (!common.includes(name)) fail(`constant ${name} is not defined on both arches`);
  }
  const differing = common.filter((n) => x86.values.get(n) !== arm.values.get(n));
  const sources = [...new Set([...x86.sources, ...arm.sources])].sort();

  return [
    generatedHeader(
      sources,
      [
        `Values differing between the arches: ${differing.join(', ')}.`,
        `// Not integer constants in the uapi headers, so omitted: ${describeRejected(x86, arm)}.`,
      ].join('\n'),
    ),
    ...renderConstantObject('X86_64_CONSTANTS', common, x86.values),
    ...renderConstantObject('AARCH64_CONSTANTS', common, arm.values),
    '/** Constants defined only by the x86-64 headers. */',
    ...renderConstantObject('X86_64_ONLY_CONSTANTS', x86Only, x86.values),
    '/** Constants defined only by the aarch64 headers. */',
    ...renderConstantObject('AARCH64_ONLY_CONSTANTS', armOnly, arm.values),
    'export type ArchConstantName = keyof typeof X86_64_CONSTANTS;',
    '',
    '/** The shape shared by X86_64_CONSTANTS and AARCH64_CONSTANTS (wide values are bigints). */',
    'export type ArchConstants = {',
    '  readonly [K in ArchConstantName]: (typeof X86_64_CONSTANTS)[K] extends bigint ? bigint : number;',
    '};',
    '',
    '// Compile-time proof that both objects fit the shared shape.',
    'X86_64_CONSTANTS satisfies ArchConstants;',
    'AARCH64_CONSTANTS satisfies ArchConstants;',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------

function main(): void {
  try {
    for (const tc of TOOLCHAINS) {
      const table = collectSyscalls(tc);
      writeGenerated(`syscalls/table/${tc.arch}.ts`, renderSyscallTable(tc.arch, table));
    }
    writeGenerated('syscalls/table/index.ts', renderTableIndex());
    writeGenerated('src/kernel/errno-table.ts', renderErrnoTable(collectErrno()));
    writeGenerated(
      'src/arch/generated-constants.ts',
      renderConstants(collectConstantsForArch(X86_64), collectConstantsForArch(AARCH64)),
    );
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

main();
