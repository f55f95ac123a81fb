// OCI / Docker seccomp profiles: the JSON format, its validation, and exact
// 64-bit reading and writing.
//
// The format is the `linux.seccomp` object of the OCI runtime spec
// (config-linux.md, "Seccomp") extended the way Docker's profiles extend it
// (moby/profiles, seccomp.go): `archMap` instead of `architectures`, the older
// single `name` beside `names`, and per-rule `includes`/`excludes` conditions
// on capabilities, architectures and the kernel version, plus a `comment`.
//
// Validation follows what runc and Docker reject, and names the JSON path of
// the first error: `$.syscalls[3].args[0].op: unknown operator "SCMP_CMP_FOO"`.
// Unknown object keys are ignored, as Go's encoding/json ignores them.

import { PolicyError } from './error.ts';

export { PolicyError };

export const SCMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type ScmpAction = (typeof SCMP_ACTIONS)[number];

export const SCMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type ScmpOperator = (typeof SCMP_OPERATORS)[number];

/** libseccomp's names for the two guest architectures. Other SCMP_ARCH_* names are accepted and never match. */
export const SCMP_ARCH = { x86_64: 'SCMP_ARCH_X86_64', aarch64: 'SCMP_ARCH_AARCH64' } as const;

/**
 * The names an `includes.arches` / `excludes.arches` entry may use for each
 * guest arch. Docker compares these with the host's libseccomp arch string
 * ("amd64", "arm64"); the Linux and SCMP_ARCH_ spellings are accepted too.
 */
export const ARCH_ALIASES = {
  x86_64: ['amd64', 'x86_64', 'SCMP_ARCH_X86_64'],
  aarch64: ['arm64', 'aarch64', 'SCMP_ARCH_AARCH64'],
} as const;

/** Docker's `includes.arches` spelling of each guest arch (what the recorder writes). */
export const DOCKER_ARCH = { x86_64: 'amd64', aarch64: 'arm64' } as const;

/** One argument comparison. Values are unsigned 64-bit. */
export interface ArgCondition {
  /** Syscall argument 0..5. */
  index: number;
  /** The datum; for SCMP_CMP_MASKED_EQ, the mask. */
  value: bigint;
  /** Only for SCMP_CMP_MASKED_EQ: the datum the masked argument must equal (default 0). */
  valueTwo?: bigint;
  op: ScmpOperator;
}

/** Docker's conditions on a rule. */
export interface RuleFilter {
  /** Capabilities ("CAP_SYS_ADMIN"). includes: all must be held; excludes: any held drops the rule. */
  caps?: string[];
  /** Architectures ("amd64", "arm64", ...). includes: the guest arch must be listed; excludes: it must not be. */
  arches?: string[];
  /** "<kernel>.<major>", e.g. "4.8". includes: kernel >= it; excludes: kernel < it. */
  minKernel?: string;
}

export interface SyscallRule {
  /** At least one name. Docker's single `name` is folded into `names` by parseProfile. */
  names: string[];
  action: ScmpAction;
  /** For SCMP_ACT_ERRNO (and SCMP_ACT_TRACE); default EPERM. */
  errnoRet?: number;
  /** ANDed when their indexes differ; see Policy for repeated indexes. */
  args?: ArgCondition[];
  includes?: RuleFilter;
  excludes?: RuleFilter;
  comment?: string;
}

export interface ArchMapEntry {
  architecture: string;
  subArchitectures: string[];
}

/** A validated profile. Produced by parseProfile / parseProfileText; written by formatProfile. */
export interface Profile {
  defaultAction: ScmpAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: ArchMapEntry[];
  flags?: string[];
  syscalls: SyscallRule[];
}

const UINT64_MAX = (1n << 64n) - 1n;
/** SECCOMP_RET_DATA is 16 bits. */
const RET_DATA_MAX = 0xffff;
const ERRNO_ACTIONS: ReadonlySet<string> = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

// ---------------------------------------------------------------------------
// Validation

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function fail(path: string, reason: string): never {
  throw new PolicyError(path, reason);
}

function expectObject(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `expected an object, got ${describe(v)}`);
  return v as Obj;
}

/** An optional array: undefined and null (Go's nil slice) read as absent. */
function optArray(v: unknown, path: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
  return v;
}

function expectString(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `expected a string, got ${describe(v)}`);
  return v;
}

function optStrings(v: unknown, path: string): string[] | undefined {
  const a = optArray(v, path);
  return a?.map((s, i) => expectString(s, `${path}[${i}]`));
}

/** A non-negative integer no larger than `max` (JSON number or bigint). */
function expectUint(v: unknown, path: string, max: number): number {
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(max)) fail(path, `must be an integer 0..${max}, got ${v}`);
    return Number(v);
  }
  if (typeof v !== 'number') fail(path, `expected a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0 || v > max) fail(path, `must be an integer 0..${max}, got ${v}`);
  return v;
}

/** An unsigned 64-bit value. JSON numbers must be exact (below 2^53); larger values need parseProfileText or a bigint. */
function expectUint64(v: unknown, path: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > UINT64_MAX) fail(path, `must be an unsigned 64-bit integer, got ${v}`);
    return v;
  }
  if (typeof v !== 'number') fail(path, `expected a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0) fail(path, `must be an unsigned 64-bit integer, got ${v}`);
  if (!Number.isSafeInteger(v)) {
    fail(path, `${v} is above 2^53 and was rounded by JSON.parse; load the profile with parseProfileText to keep 64-bit values exact`);
  }
  return BigInt(v);
}

function expectAction(v: unknown, path: string): ScmpAction {
  const s = expectString(v, path);
  if (!(SCMP_ACTIONS as readonly string[]).includes(s)) fail(path, `unknown action ${JSON.stringify(s)}`);
  if (s === 'SCMP_ACT_NOTIFY') {
    fail(path, 'SCMP_ACT_NOTIFY is not supported: tslinux has no seccomp user-space notification (no listener agent)');
  }
  return s as ScmpAction;
}

function parseErrnoRet(v: unknown, action: ScmpAction, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = expectUint(v, path, RET_DATA_MAX);
  // OCI: "When the action doesn't support an errno, the runtime MUST print and error and fail."
  if (!ERRNO_ACTIONS.has(action)) fail(path, `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not ${action}`);
  return n;
}

const KERNEL_RE = /^(\d+)\.(\d+)$/;

function parseFilter(v: unknown, path: string): RuleFilter | undefined {
  if (v === undefined || v === null) return undefined;
  const o = expectObject(v, path);
  const out: RuleFilter = {};
  const caps = optStrings(o.caps, `${path}.caps`);
  if (caps && caps.length) out.caps = caps;
  const arches = optStrings(o.arches, `${path}.arches`);
  if (arches && arches.length) out.arches = arches;
  if (o.minKernel !== undefined && o.minKernel !== null && o.minKernel !== '') {
    const s = expectString(o.minKernel, `${path}.minKernel`);
    const m = KERNEL_RE.exec(s);
    // Docker: "<kernel>.<major>", each a uint8, not 0.0.
    if (!m || Number(m[1]) > 255 || Number(m[2]) > 255 || (Number(m[1]) === 0 && Number(m[2]) === 0)) {
      fail(`${path}.minKernel`, `invalid kernel version ${JSON.stringify(s)}, expected "<kernel>.<major>" such as "4.8"`);
    }
    out.minKernel = s;
  }
  return out;
}

function parseArg(v: unknown, path: string): ArgCondition {
  const o = expectObject(v, path);
  if (o.index === undefined) fail(`${path}.index`, 'required');
  const index = expectUint(o.index, `${path}.index`, Number.MAX_SAFE_INTEGER);
  if (index > 5) fail(`${path}.index`, `a syscall has arguments 0..5, got ${index}`);
  if (o.value === undefined) fail(`${path}.value`, 'required');
  const value = expectUint64(o.value, `${path}.value`);
  if (o.op === undefined) fail(`${path}.op`, 'required');
  const op = expectString(o.op, `${path}.op`);
  if (!(SCMP_OPERATORS as readonly string[]).includes(op)) fail(`${path}.op`, `unknown operator ${JSON.stringify(op)}`);
  const arg: ArgCondition = { index, value, op: op as ScmpOperator };
  if (o.valueTwo !== undefined && o.valueTwo !== null) arg.valueTwo = expectUint64(o.valueTwo, `${path}.valueTwo`);
  return arg;
}

function parseRule(v: unknown, path: string): SyscallRule {
  const o = expectObject(v, path);
  let names = optStrings(o.names, `${path}.names`);
  const hasName = o.name !== undefined && o.name !== null && o.name !== '';
  if (hasName) {
    const name = expectString(o.name, `${path}.name`);
    if (names && names.length) fail(path, `both "name" and "names" are given; use one`);
    names = [name];
  }
  if (!names) fail(`${path}.names`, 'required (an array of syscall names)');
  if (names.length === 0) fail(`${path}.names`, 'must name at least one syscall');
  names.forEach((n, i) => {
    if (n === '') fail(`${path}.names[${i}]`, 'empty string is not a syscall name');
  });
  if (o.action === undefined) fail(`${path}.action`, 'required');
  const action = expectAction(o.action, `${path}.action`);
  const rule: SyscallRule = { names, action };
  const errnoRet = parseErrnoRet(o.errnoRet, action, `${path}.errnoRet`);
  if (errnoRet !== undefined) rule.errnoRet = errnoRet;
  const args = optArray(o.args, `${path}.args`);
  if (args && args.length) rule.args = args.map((a, i) => parseArg(a, `${path}.args[${i}]`));
  const includes = parseFilter(o.includes, `${path}.includes`);
  if (includes && Object.keys(includes).length) rule.includes = includes;
  const excludes = parseFilter(o.excludes, `${path}.excludes`);
  if (excludes && Object.keys(excludes).length) rule.excludes = excludes;
  if (o.comment !== undefined && o.comment !== null) rule.comment = expectString(o.comment, `${path}.comment`);
  return rule;
}

const ARCH_NAME_RE = /^SCMP_ARCH_[A-Z0-9_]+$/;

function expectArchName(v: unknown, path: string): string {
  const s = expectString(v, path);
  if (!ARCH_NAME_RE.test(s)) fail(path, `unknown architecture ${JSON.stringify(s)}, expected SCMP_ARCH_*`);
  return s;
}

/**
 * Validate a profile already parsed from JSON (or built in code) and return
 * it normalised: `name` folded into `names`, null lists dropped, 64-bit values
 * as bigint. Throws PolicyError naming the JSON path of the first problem.
 *
 * JSON.parse rounds integers above 2^53; such a value is rejected here rather
 * than silently changed — read profile files with parseProfileText instead.
 */
export function parseProfile(json: unknown): Profile {
  const o = expectObject(json, '$');
  if (o.defaultAction === undefined) fail('$.defaultAction', 'required');
  const defaultAction = expectAction(o.defaultAction, '$.defaultAction');
  const profile: Profile = { defaultAction, syscalls: [] };
  const defaultErrnoRet = parseErrnoRet(o.defaultErrnoRet, defaultAction, '$.defaultErrnoRet');
  if (defaultErrnoRet !== undefined) profile.defaultErrnoRet = defaultErrnoRet;

  const arches = optArray(o.architectures, '$.architectures');
  const archMap = optArray(o.archMap, '$.archMap');
  if (arches?.length && archMap?.length) {
    fail('$', 'both "architectures" and "archMap" are given; use one');
  }
  if (arches?.length) profile.architectures = arches.map((a, i) => expectArchName(a, `$.architectures[${i}]`));
  if (archMap?.length) {
    profile.archMap = archMap.map((e, i) => {
      const p = `$.archMap[${i}]`;
      const eo = expectObject(e, p);
      if (eo.architecture === undefined) fail(`${p}.architecture`, 'required');
      const architecture = expectArchName(eo.architecture, `${p}.architecture`);
      const subs = optArray(eo.subArchitectures, `${p}.subArchitectures`) ?? [];
      return { architecture, subArchitectures: subs.map((s, j) => expectArchName(s, `${p}.subArchitectures[${j}]`)) };
    });
  }
  const flags = optStrings(o.flags, '$.flags');
  if (flags?.length) profile.flags = flags;

  const syscalls = optArray(o.syscalls, '$.syscalls');
  if (syscalls) profile.syscalls = syscalls.map((r, i) => parseRule(r, `$.syscalls[${i}]`));
  return profile;
}

// ---------------------------------------------------------------------------
// Exact JSON text

/**
 * Marks an integer literal that JSON.parse would round; the reviver turns it
 * back into a bigint. It starts with NUL, which JSON text can only spell as
 * the escape below, so no ordinary string collides with it.
 */
const BIG_MARK = '\u0000tslinux-uint64:';
/** BIG_MARK as it is spelled inside JSON text. */
const BIG_MARK_JSON = '\\u0000tslinux-uint64:';

/**
 * Quote every integer literal outside strings that is not a safe JS integer,
 * so JSON.parse keeps its digits. Everything else is left for JSON.parse to
 * read and to report errors in.
 */
function protectBigIntegers(text: string): string {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) {
        i++;
        continue;
      }
      const tok = m[0];
      if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(Number(tok))) {
        out += `${text.slice(last, i)}"${BIG_MARK_JSON}${tok}"`;
        last = i + tok.length;
      }
      i += tok.length;
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * Parse and validate profile JSON text, keeping 64-bit integers exact
 * (`"value": 18446744073709551615` stays 2^64-1). JSON syntax errors are
 * PolicyErrors at `$`.
 */
export function parseProfileText(text: string): Profile {
  let json: unknown;
  try {
    json = JSON.parse(protectBigIntegers(text), (_key, v: unknown) =>
      typeof v === 'string' && v.startsWith(BIG_MARK) ? BigInt(v.slice(BIG_MARK.length)) : v,
    );
  } catch (e) {
    throw new PolicyError('$', `invalid JSON: ${(e as Error).message}`);
  }
  return parseProfile(json);
}

// ---------------------------------------------------------------------------
// Writing

function plainFilter(f: RuleFilter): Obj {
  const o: Obj = {};
  if (f.caps?.length) o.caps = [...f.caps];
  if (f.arches?.length) o.arches = [...f.arches];
  if (f.minKernel) o.minKernel = f.minKernel;
  return o;
}

/** The profile as a plain JSON-shaped object, keys in the conventional order (bigints stay bigints). */
function toPlain(p: Profile): Obj {
  const o: Obj = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) o.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures?.length) o.architectures = [...p.architectures];
  if (p.archMap?.length) {
    o.archMap = p.archMap.map((e) => ({ architecture: e.architecture, subArchitectures: [...e.subArchitectures] }));
  }
  if (p.flags?.length) o.flags = [...p.flags];
  o.syscalls = p.syscalls.map((r) => {
    const ro: Obj = { names: [...r.names], action: r.action };
    if (r.errnoRet !== undefined) ro.errnoRet = r.errnoRet;
    if (r.args?.length) {
      ro.args = r.args.map((a) => {
        const ao: Obj = { index: a.index, value: a.value };
        if (a.valueTwo !== undefined) ao.valueTwo = a.valueTwo;
        ao.op = a.op;
        return ao;
      });
    }
    if (r.includes && Object.keys(plainFilter(r.includes)).length) ro.includes = plainFilter(r.includes);
    if (r.excludes && Object.keys(plainFilter(r.excludes)).length) ro.excludes = plainFilter(r.excludes);
    if (r.comment !== undefined) ro.comment = r.comment;
    return ro;
  });
  return o;
}

/**
 * The profile as pretty-printed JSON (two-space indent, trailing newline),
 * with 64-bit values written as exact integer literals. parseProfileText
 * reads it back to an equal profile.
 */
export function formatProfile(profile: Profile): string {
  const text = JSON.stringify(
    toPlain(profile),
    (_key, v: unknown) => (typeof v === 'bigint' ? `${BIG_MARK}${v}` : v),
    2,
  );
  return `${text.split(`"${BIG_MARK_JSON}`).map((part, i) => (i === 0 ? part : part.replace(/^(\d+)"/, '$1'))).join('')}\n`;
}
