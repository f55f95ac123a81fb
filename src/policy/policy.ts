// A seccomp-style policy compiled for one guest arch: what happens to a
// syscall, decided before its handler runs, from its name and its six raw
// 64-bit argument registers.
//
// Semantics (libseccomp as runc and Docker drive it, with the choices noted):
//
// - Docker's per-rule conditions are resolved at compile time, as Docker does
//   when it turns its profile into an OCI one: `includes.arches` must name
//   the guest arch ("amd64"/"arm64", or "x86_64"/"aarch64", or SCMP_ARCH_*),
//   `excludes.arches` must not; `includes.caps` must all be held and any held
//   `excludes.caps` drops the rule (the guest holds `caps`, default none);
//   `includes.minKernel` needs kernel >= it, `excludes.minKernel` drops the
//   rule on kernel >= it (the kernel is tslinux's, 6.1, unless told).
// - As runc does, a rule whose action (errno included) equals the default
//   action is dropped: it is redundant, and libseccomp refuses it.
// - Unknown syscall names (Docker's profile names calls of every arch) are
//   skipped and listed in `unknownNames`.
// - `args` conditions of one rule are ANDed. When two of them test the same
//   argument index, runc (libseccomp allows one comparison per argument per
//   rule) adds each condition as a rule of its own, i.e. ORs them: so do we.
// - Comparisons are unsigned 64-bit. SCMP_CMP_MASKED_EQ is
//   (arg & value) == (valueTwo & value): libseccomp masks the datum too.
// - When several rules for a syscall match, the action of highest precedence
//   wins, kernel-style: KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > TRACE >
//   LOG > ALLOW; among equals, the first in profile order. libseccomp itself
//   does not promise an order for overlapping conditional rules (and lets an
//   unconditional rule replace a syscall's conditional ones); crun takes the
//   first matching entry. All of these agree whenever matching rules do not
//   conflict, as in Docker's profile; where they do, precedence fails safe.
// - No rule matches: the default action.
//
// Actions: SCMP_ACT_KILL is libseccomp's SCMP_ACT_KILL_THREAD (runc maps it
// so); SCMP_ACT_TRACE without a tracer makes the call fail with ENOSYS, as
// seccomp does; SCMP_ACT_NOTIFY is refused by parseProfile. An errno is
// capped at 4095 (MAX_ERRNO) as the kernel caps SECCOMP_RET_DATA; errno 0
// means "skip the call and return 0".
//
// Architectures: libseccomp always filters the native arch, and runc only
// adds the listed ones, so a profile applies to the arch it runs on whether
// or not `architectures` lists it; a syscall of an arch in neither set gets
// the bad-arch action (kill). A tslinux guest is the native arch of the
// machine it emulates, so by default the rules apply to it regardless of the
// list (Docker's `archMap` always covers it). `archListed` says whether the
// profile named the guest arch; with `strictArch`, a guest arch the profile
// lists none of is treated as a foreign arch: every syscall kills the thread.
import type { CpuArch } from '../arch/cpu.ts';
import { ERRNO } from '../kernel/errno-table.ts';
import { SYSCALL_TABLES } from '../../syscalls/table/index.ts';
import {
  ARCH_ALIASES,
  PolicyError,
  SCMP_ARCH,
  type ArgCondition,
  type Profile,
  type RuleFilter,
  type ScmpAction,
  type ScmpOperator,
  type SyscallRule,
} from './profile.ts';

export type Decision =
  | { readonly action: 'allow' }
  /** Fail with -errno without running the handler (errno 0: return 0 without running it). */
  | { readonly action: 'errno'; readonly errno: number }
  | { readonly action: 'kill_process' }
  | { readonly action: 'kill_thread' }
  /** Deliver SIGSYS to the thread without running the handler. */
  | { readonly action: 'trap' }
  /** Allow, and report the call. */
  | { readonly action: 'log' };

export type DecisionAction = Decision['action'];

/** The guest architectures a policy can be compiled for. */
export const GUEST_ARCHES: readonly CpuArch[] = ['x86_64', 'aarch64'];

const numbersOf = (arch: CpuArch): Readonly<Record<string, number>> => SYSCALL_TABLES[arch].numbers;

/** The kernel version tslinux reports (uname -r 6.1.0-tslinux). */
export const DEFAULT_KERNEL_VERSION = '6.1';
/** Linux caps SECCOMP_RET_ERRNO data at MAX_ERRNO. */
const MAX_ERRNO = 4095;

/** Kernel precedence of seccomp return actions, higher wins. */
export const ACTION_PRECEDENCE: Readonly<Record<ScmpAction, number>> = {
  SCMP_ACT_KILL_PROCESS: 7,
  SCMP_ACT_KILL_THREAD: 6,
  SCMP_ACT_KILL: 6,
  SCMP_ACT_TRAP: 5,
  SCMP_ACT_ERRNO: 4,
  SCMP_ACT_NOTIFY: 3,
  SCMP_ACT_TRACE: 2,
  SCMP_ACT_LOG: 1,
  SCMP_ACT_ALLOW: 0,
};

const ALLOW: Decision = Object.freeze({ action: 'allow' });
const LOG: Decision = Object.freeze({ action: 'log' });
const TRAP: Decision = Object.freeze({ action: 'trap' });
const KILL_PROCESS: Decision = Object.freeze({ action: 'kill_process' });
const KILL_THREAD: Decision = Object.freeze({ action: 'kill_thread' });
const errnoDecisions = new Map<number, Decision>();

/** The (shared, frozen) decision `{ action: 'errno', errno }`. */
export function errnoDecision(errno: number): Decision {
  const e = Math.min(errno, MAX_ERRNO);
  let d = errnoDecisions.get(e);
  if (!d) {
    d = Object.freeze({ action: 'errno', errno: e });
    errnoDecisions.set(e, d);
  }
  return d;
}

/** What an action does in tslinux (errnoRet defaults to EPERM). */
export function actionDecision(action: ScmpAction, errnoRet?: number): Decision {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return ALLOW;
    case 'SCMP_ACT_LOG':
      return LOG;
    case 'SCMP_ACT_ERRNO':
      return errnoDecision(errnoRet ?? ERRNO.EPERM);
    case 'SCMP_ACT_TRACE':
      // No tracer is ever attached: seccomp fails the call with ENOSYS.
      return errnoDecision(ERRNO.ENOSYS);
    case 'SCMP_ACT_TRAP':
      return TRAP;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return KILL_PROCESS;
    case 'SCMP_ACT_NOTIFY':
      throw new PolicyError('$', 'SCMP_ACT_NOTIFY is not supported: tslinux has no seccomp user-space notification');
  }
}

export interface PolicyOptions {
  /** The guest arch. Optional only for name-only policies (allowList/denyList): names then resolve against every guest arch. */
  arch?: CpuArch;
  /** Capabilities the guest holds ("CAP_SYS_ADMIN" or "sys_admin"; "ALL" for every one). Default: none. */
  caps?: readonly string[];
  /** The kernel version `minKernel` conditions compare with: "<kernel>.<major>[...]". Default 6.1 (tslinux's uname). */
  kernelVersion?: string;
  /** Overrides (like --allow): these syscalls are allowed whatever the profile says. */
  allow?: Iterable<string>;
  /** Overrides (like --deny): these syscalls fail with `denyErrno` whatever the profile says. Deny beats allow. */
  deny?: Iterable<string>;
  /** The errno of `deny`. Default EPERM. */
  denyErrno?: number;
  /** Treat a guest arch the profile's `architectures` does not list as a foreign arch: every syscall kills the thread. Default false. */
  strictArch?: boolean;
  /**
   * runc's -ENOSYS patch: when the default action is not allow/log/trace,
   * syscall numbers above the highest one the profile names fail with ENOSYS
   * (so libcs fall back from syscalls newer than the profile) instead of
   * getting the default action. Default false.
   */
  enosysForNewer?: boolean;
}

const Op = { NE: 0, LT: 1, LE: 2, EQ: 3, GE: 4, GT: 5, MASKED_EQ: 6 } as const;
type Op = (typeof Op)[keyof typeof Op];

const OP_CODES: Readonly<Record<ScmpOperator, Op>> = {
  SCMP_CMP_NE: Op.NE,
  SCMP_CMP_LT: Op.LT,
  SCMP_CMP_LE: Op.LE,
  SCMP_CMP_EQ: Op.EQ,
  SCMP_CMP_GE: Op.GE,
  SCMP_CMP_GT: Op.GT,
  SCMP_CMP_MASKED_EQ: Op.MASKED_EQ,
};

/** One comparison on 32-bit halves, so the fast path needs no bigint. */
interface Cond {
  readonly index: number;
  readonly op: Op;
  /** The datum (for MASKED_EQ: valueTwo & value). */
  readonly hi: number;
  readonly lo: number;
  /** The mask (MASKED_EQ only). */
  readonly mhi: number;
  readonly mlo: number;
}

interface Rule {
  readonly conds: readonly Cond[];
  readonly decision: Decision;
  readonly rank: number;
}

/** Everything that applies to one syscall: rules by precedence, or one fixed decision. */
interface Entry {
  /** Set when the outcome does not depend on the arguments. */
  readonly fixed: Decision | null;
  /** Conditional rules, best first, ending before the first unconditional one. */
  readonly rules: readonly Rule[];
  /** When no conditional rule matches. */
  readonly fallback: Decision;
}

const U32 = 0xffff_ffffn;

function hiOf(v: bigint): number {
  return Number((v >> 32n) & U32);
}
function loOf(v: bigint): number {
  return Number(v & U32);
}

function compileCond(a: ArgCondition): Cond {
  const op = OP_CODES[a.op];
  if (op === Op.MASKED_EQ) {
    const datum = (a.valueTwo ?? 0n) & a.value;
    return { index: a.index, op, hi: hiOf(datum), lo: loOf(datum), mhi: hiOf(a.value), mlo: loOf(a.value) };
  }
  return { index: a.index, op, hi: hiOf(a.value), lo: loOf(a.value), mhi: 0, mlo: 0 };
}

function test(c: Cond, hi: number, lo: number): boolean {
  switch (c.op) {
    case Op.EQ:
      return hi === c.hi && lo === c.lo;
    case Op.NE:
      return hi !== c.hi || lo !== c.lo;
    case Op.LT:
      return hi < c.hi || (hi === c.hi && lo < c.lo);
    case Op.LE:
      return hi < c.hi || (hi === c.hi && lo <= c.lo);
    case Op.GT:
      return hi > c.hi || (hi === c.hi && lo > c.lo);
    case Op.GE:
      return hi > c.hi || (hi === c.hi && lo >= c.lo);
    case Op.MASKED_EQ:
      return (hi & c.mhi) >>> 0 === c.hi && (lo & c.mlo) >>> 0 === c.lo;
  }
}

function normCap(c: string): string {
  const u = c.trim().toUpperCase();
  return u === 'ALL' || u.startsWith('CAP_') ? u : `CAP_${u}`;
}

function parseKernel(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(v.trim());
  if (!m) throw new PolicyError('kernelVersion', `invalid kernel version ${JSON.stringify(v)}, expected "<kernel>.<major>"`);
  return [Number(m[1]), Number(m[2])];
}

function kernelAtLeast(have: [number, number], want: string): boolean {
  const [k, m] = parseKernel(want);
  return have[0] > k || (have[0] === k && have[1] >= m);
}

/** Names the arch of a guest in `includes`/`excludes.arches`. */
function archMatches(list: readonly string[], arch: CpuArch | undefined): boolean {
  if (!arch) return false;
  const aliases: readonly string[] = ARCH_ALIASES[arch];
  return list.some((a) => aliases.includes(a));
}

export class Policy {
  /** The guest arch this policy was compiled for (undefined: a name-only list policy). */
  readonly arch: CpuArch | undefined;
  /** What a syscall no rule matches gets. */
  readonly defaultDecision: Decision;
  /** Syscall names the profile or the overrides gave that this arch does not have (skipped), sorted. */
  readonly unknownNames: readonly string[];
  /** Whether the profile names the guest arch (true when it lists no architectures, or uses archMap). */
  readonly archListed: boolean;

  private readonly byName = new Map<string, Entry>();
  private readonly overrides = new Map<string, Decision>();
  /** Set by strictArch for a foreign arch: every call gets it. */
  private readonly everything: Decision | null = null;
  /** runc's ENOSYS patch: numbers above this fail with ENOSYS. */
  private readonly enosysAbove: number = Infinity;

  private constructor(profile: Profile, opts: PolicyOptions) {
    this.arch = opts.arch;
    const known = (name: string): boolean =>
      opts.arch ? numbersOf(opts.arch)[name] !== undefined : GUEST_ARCHES.some((a) => numbersOf(a)[name] !== undefined);
    const unknown = new Set<string>();

    const defaultErrno = profile.defaultErrnoRet;
    this.defaultDecision = actionDecision(profile.defaultAction, defaultErrno);
    const defaultKey = actionKey(profile.defaultAction, defaultErrno);

    const listed = profile.architectures?.length ? opts.arch !== undefined && profile.architectures.includes(SCMP_ARCH[opts.arch]) : true;
    this.archListed = listed;
    if (!listed && opts.strictArch) this.everything = KILL_THREAD;

    const caps = new Set((opts.caps ?? []).map(normCap));
    const hasCap = (c: string): boolean => caps.has('ALL') || caps.has(normCap(c));
    const kernel = parseKernel(opts.kernelVersion ?? DEFAULT_KERNEL_VERSION);

    // Every applicable (name, rule) in profile order.
    const perName = new Map<string, { rule: Rule; order: number }[]>();
    let order = 0;
    let maxNr = -1;
    profile.syscalls.forEach((r) => {
      if (!this.applies(r, hasCap, kernel)) return;
      const rules = this.rulesOf(r);
      const redundant = actionKey(r.action, r.errnoRet) === defaultKey;
      for (const name of r.names) {
        if (!known(name)) {
          unknown.add(name);
          continue;
        }
        if (opts.arch) maxNr = Math.max(maxNr, numbersOf(opts.arch)[name]!);
        if (redundant) continue;
        let list = perName.get(name);
        if (!list) perName.set(name, (list = []));
        for (const rule of rules) list.push({ rule, order: order++ });
      }
    });

    for (const [name, list] of perName) {
      list.sort((a, b) => b.rule.rank - a.rule.rank || a.order - b.order);
      const rules: Rule[] = [];
      let fallback = this.defaultDecision;
      for (const { rule } of list) {
        if (rule.conds.length === 0) {
          fallback = rule.decision;
          break;
        }
        rules.push(rule);
      }
      this.byName.set(name, { fixed: rules.length === 0 ? fallback : null, rules, fallback });
    }

    const denyErrno = errnoDecision(opts.denyErrno ?? ERRNO.EPERM);
    for (const name of opts.allow ?? []) {
      if (!known(name)) unknown.add(name);
      this.overrides.set(name, ALLOW);
    }
    for (const name of opts.deny ?? []) {
      if (!known(name)) unknown.add(name);
      this.overrides.set(name, denyErrno);
    }

    const allowish = profile.defaultAction === 'SCMP_ACT_ALLOW' || profile.defaultAction === 'SCMP_ACT_LOG' || profile.defaultAction === 'SCMP_ACT_TRACE';
    if (opts.enosysForNewer && opts.arch && !allowish && maxNr >= 0) this.enosysAbove = maxNr;

    this.unknownNames = [...unknown].sort();
  }

  /** Compile `profile` for one guest arch. */
  static fromProfile(profile: Profile, options: PolicyOptions & { arch: CpuArch }): Policy {
    return new Policy(profile, options);
  }

  /** Everything allowed except `names`, which fail with `errno` (default EPERM): `--deny`. */
  static denyList(names: Iterable<string>, errno: number = ERRNO.EPERM, options: PolicyOptions = {}): Policy {
    return new Policy({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] }, { ...options, deny: [...(options.deny ?? []), ...names], denyErrno: errno });
  }

  /** Only `names` allowed; everything else fails with `errno` (default EPERM): `--allow`. */
  static allowList(names: Iterable<string>, options: PolicyOptions & { errno?: number } = {}): Policy {
    const list = [...names];
    const profile: Profile = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: options.errno ?? ERRNO.EPERM, syscalls: [] };
    if (list.length) profile.syscalls.push({ names: list, action: 'SCMP_ACT_ALLOW' });
    return new Policy(profile, options);
  }

  /**
   * The decision for syscall `name` (number `nr` of this arch, -1 if none)
   * with argument registers `args` (the six raw 64-bit values; missing ones
   * read as 0). Rules are looked up by name, or by number when the name is
   * not a syscall of the arch (such as the dispatcher's "syscall_0x1ff").
   */
  decide(name: string, nr: number, args: ArrayLike<bigint>): Decision {
    const entry = this.entryFor(name, nr);
    if (!isEntry(entry)) return entry;
    if (entry.fixed) return entry.fixed;
    for (const rule of entry.rules) {
      let ok = true;
      for (const c of rule.conds) {
        const v = c.index < args.length ? BigInt.asUintN(64, args[c.index]!) : 0n;
        if (!test(c, hiOf(v), loOf(v))) {
          ok = false;
          break;
        }
      }
      if (ok) return rule.decision;
    }
    return entry.fallback;
  }

  /**
   * decide() on registers held as little-endian 32-bit halves, as
   * RegisterBatch.words holds them: argument i is words[base + 2i] (low) and
   * words[base + 2i + 1] (high). The default base 2 skips the syscall number
   * in register 0. Allocates nothing.
   */
  decideWords(name: string, nr: number, words: ArrayLike<number>, base = 2): Decision {
    const entry = this.entryFor(name, nr);
    if (!isEntry(entry)) return entry;
    if (entry.fixed) return entry.fixed;
    for (const rule of entry.rules) {
      let ok = true;
      for (const c of rule.conds) {
        const at = base + 2 * c.index;
        if (!test(c, (words[at + 1] ?? 0) >>> 0, (words[at] ?? 0) >>> 0)) {
          ok = false;
          break;
        }
      }
      if (ok) return rule.decision;
    }
    return entry.fallback;
  }

  /** Whether the decision for this syscall depends on its arguments (if not, decide() ignores them). */
  needsArgs(name: string, nr: number): boolean {
    const entry = this.entryFor(name, nr);
    return isEntry(entry) && entry.fixed === null;
  }

  /** An entry to evaluate, or the decision outright. */
  private entryFor(name: string, nr: number): Entry | Decision {
    if (this.everything) return this.everything;
    // The name decides; the number only when the name is not one of this arch's syscalls.
    let key = name;
    if (this.arch && numbersOf(this.arch)[name] === undefined && nr >= 0) key = SYSCALL_TABLES[this.arch].names[nr] ?? name;
    if (this.overrides.size) {
      const o = this.overrides.get(key);
      if (o) return o;
    }
    if (nr > this.enosysAbove) return errnoDecision(ERRNO.ENOSYS);
    return this.byName.get(key) ?? this.defaultDecision;
  }

  /** Docker's includes/excludes, resolved for this guest. */
  private applies(r: SyscallRule, hasCap: (c: string) => boolean, kernel: [number, number]): boolean {
    const ex: RuleFilter | undefined = r.excludes;
    if (ex) {
      if (ex.arches?.length && archMatches(ex.arches, this.arch)) return false;
      if (ex.caps?.length && ex.caps.some(hasCap)) return false;
      if (ex.minKernel && kernelAtLeast(kernel, ex.minKernel)) return false;
    }
    const inc: RuleFilter | undefined = r.includes;
    if (inc) {
      if (inc.arches?.length && !archMatches(inc.arches, this.arch)) return false;
      if (inc.caps?.length && !inc.caps.every(hasCap)) return false;
      if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
    }
    return true;
  }

  /** The rule(s) one profile entry stands for: one, or one per condition when an argument index repeats (runc). */
  private rulesOf(r: SyscallRule): Rule[] {
    const decision = actionDecision(r.action, r.errnoRet);
    const rank = ACTION_PRECEDENCE[r.action];
    const conds = (r.args ?? []).map(compileCond);
    const indexes = new Set(conds.map((c) => c.index));
    if (indexes.size === conds.length) return [{ conds, decision, rank }];
    return conds.map((c) => ({ conds: [c], decision, rank }));
  }
}

function isEntry(e: Entry | Decision): e is Entry {
  return 'rules' in e;
}

/** Two actions are the same filter action when they and their errno agree (runc compares the libseccomp action value). */
function actionKey(action: ScmpAction, errnoRet: number | undefined): string {
  switch (action) {
    case 'SCMP_ACT_ERRNO':
    case 'SCMP_ACT_TRACE':
      return `${action}:${errnoRet ?? ERRNO.EPERM}`;
    case 'SCMP_ACT_KILL':
      return 'SCMP_ACT_KILL_THREAD';
    default:
      return action;
  }
}
