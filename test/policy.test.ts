import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CpuArch } from '../src/cpu/engine.ts';
import { ERRNO } from '../src/kernel/errno-table.ts';
import {
  Policy,
  PolicyError,
  ProfileRecorder,
  formatProfile,
  parseProfile,
  parseProfileText,
  type Decision,
  type PolicyOptions,
  type Profile,
} from '../src/policy/index.ts';
import { SYSCALL_NUMBERS as X86_64_NUMBERS } from '../syscalls/table/x86_64.ts';

const MAX = 0xffff_ffff_ffff_ffffn;
const TWO53 = 1n << 53n;
const TWO63 = 1n << 63n;
const TWO32 = 1n << 32n;

const ALLOW: Decision = { action: 'allow' };
const EPERM: Decision = { action: 'errno', errno: ERRNO.EPERM };
const errno = (n: number): Decision => ({ action: 'errno', errno: n });

function compile(profile: unknown, opts: Partial<PolicyOptions> = {}): Policy {
  return Policy.fromProfile(parseProfile(profile), { arch: 'x86_64', ...opts });
}

/** The error parseProfile throws for `json`. */
function parseError(json: unknown): PolicyError {
  try {
    parseProfile(json);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('parseProfile accepted an invalid profile');
}

/** A register batch as RegisterBatch.words lays it out: the number, then six arguments, as 32-bit halves. */
function words(nr: number, args: readonly bigint[]): Uint32Array {
  const regs = new BigUint64Array(7);
  regs[0] = BigInt(nr);
  args.forEach((a, i) => (regs[i + 1] = BigInt.asUintN(64, a)));
  return new Uint32Array(regs.buffer);
}

/** decide() and decideWords() must agree; returns their decision. */
function decideBoth(p: Policy, name: string, args: readonly bigint[]): Decision {
  const nr = X86_64_NUMBERS[name] ?? -1;
  const d = p.decide(name, nr, args);
  expect(p.decideWords(name, nr, words(nr, args))).toEqual(d);
  return d;
}

// Docker's published default profile (public data, copied from the project's shared fixtures).
const fixture = join(import.meta.dirname, 'fixtures', 'docker-default-seccomp.json');
const dockerText = readFileSync(fixture, 'utf8');

describe('parseProfile: validation names the JSON path', () => {
  const ok = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };

  it('accepts a minimal profile and normalises it', () => {
    expect(parseProfile(ok)).toEqual(ok);
    expect(parseProfile({ defaultAction: 'SCMP_ACT_ALLOW' })).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] });
    expect(parseProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: null, architectures: null })).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [],
    });
  });

  it('rejects a bad or missing defaultAction', () => {
    expect(parseError({ defaultAction: 'SCMP_ACT_FOO' }).message).toBe('$.defaultAction: unknown action "SCMP_ACT_FOO"');
    expect(parseError({ syscalls: [] }).message).toBe('$.defaultAction: required');
    expect(parseError({ defaultAction: 7 }).message).toBe('$.defaultAction: expected a string, got number 7');
  });

  it('rejects a profile that is not an object', () => {
    expect(parseError(null).message).toBe('$: expected an object, got null');
    expect(parseError([]).message).toBe('$: expected an object, got an array');
  });

  it('rejects syscalls that is not an array', () => {
    const e = parseError({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: { names: ['read'] } });
    expect(e.message).toBe('$.syscalls: expected an array, got an object');
    expect(e.path).toBe('$.syscalls');
  });

  it('rejects a rule without names', () => {
    const e = parseError({ ...ok, syscalls: [ok.syscalls[0], { action: 'SCMP_ACT_ALLOW' }] });
    expect(e.message).toMatch(/^\$\.syscalls\[1\]\.names: required/);
    expect(parseError({ ...ok, syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }).message).toBe(
      '$.syscalls[0].names: must name at least one syscall',
    );
    expect(parseError({ ...ok, syscalls: [{ names: ['read', 3], action: 'SCMP_ACT_ALLOW' }] }).message).toBe(
      '$.syscalls[0].names[1]: expected a string, got number 3',
    );
    expect(parseError({ ...ok, syscalls: [{ names: ['read'] }] }).message).toBe('$.syscalls[0].action: required');
  });

  it("accepts Docker's single `name`, but not together with `names`", () => {
    expect(parseProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ name: 'read', action: 'SCMP_ACT_ALLOW' }] }).syscalls).toEqual([
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
    ]);
    expect(parseError({ ...ok, syscalls: [{ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }] }).message).toBe(
      '$.syscalls[0]: both "name" and "names" are given; use one',
    );
  });

  it('rejects an unknown operator', () => {
    const syscalls = [0, 1, 2].map(() => ({ names: ['read'], action: 'SCMP_ACT_ALLOW' }));
    const bad = { names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_FOO' }] };
    expect(parseError({ ...ok, syscalls: [...syscalls, bad] }).message).toBe('$.syscalls[3].args[0].op: unknown operator "SCMP_CMP_FOO"');
  });

  it('rejects an argument index above 5, and missing index/value/op', () => {
    const rule = (arg: object) => ({ ...ok, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }, arg] }] });
    expect(parseError(rule({ index: 6, value: 0, op: 'SCMP_CMP_EQ' })).message).toBe('$.syscalls[0].args[1].index: a syscall has arguments 0..5, got 6');
    expect(parseError(rule({ index: -1, value: 0, op: 'SCMP_CMP_EQ' })).path).toBe('$.syscalls[0].args[1].index');
    expect(parseError(rule({ value: 0, op: 'SCMP_CMP_EQ' })).message).toBe('$.syscalls[0].args[1].index: required');
    expect(parseError(rule({ index: 0, op: 'SCMP_CMP_EQ' })).message).toBe('$.syscalls[0].args[1].value: required');
    expect(parseError(rule({ index: 0, value: 0 })).message).toBe('$.syscalls[0].args[1].op: required');
    expect(parseError(rule({ index: 0, value: -1, op: 'SCMP_CMP_EQ' })).path).toBe('$.syscalls[0].args[1].value');
    expect(parseError(rule({ index: 0, value: 1.5, op: 'SCMP_CMP_EQ' })).path).toBe('$.syscalls[0].args[1].value');
    expect(parseError(rule({ index: 0, value: '1', op: 'SCMP_CMP_EQ' })).message).toBe(
      '$.syscalls[0].args[1].value: expected a number, got string "1"',
    );
  });

  it('rejects a rounded 64-bit value from JSON.parse instead of using it', () => {
    const profile = JSON.parse(
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}',
    );
    expect(parseError(profile).message).toMatch(/^\$\.syscalls\[0\]\.args\[0\]\.value: .*parseProfileText/);
  });

  it('rejects an errnoRet that is not a number, or on an action without errno', () => {
    const rule = (r: object) => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], ...r }] });
    expect(parseError(rule({ action: 'SCMP_ACT_ERRNO', errnoRet: 'EPERM' })).message).toBe(
      '$.syscalls[0].errnoRet: expected a number, got string "EPERM"',
    );
    expect(parseError(rule({ action: 'SCMP_ACT_ERRNO', errnoRet: 1.5 })).path).toBe('$.syscalls[0].errnoRet');
    expect(parseError(rule({ action: 'SCMP_ACT_ERRNO', errnoRet: 70000 })).path).toBe('$.syscalls[0].errnoRet');
    expect(parseError(rule({ action: 'SCMP_ACT_KILL', errnoRet: 1 })).message).toBe(
      '$.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_KILL',
    );
    expect(parseError({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }).path).toBe('$.defaultErrnoRet');
    expect(parseProfile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: null, syscalls: [] })).toEqual({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] });
  });

  it('refuses SCMP_ACT_NOTIFY clearly', () => {
    const e = parseError({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['openat'], action: 'SCMP_ACT_NOTIFY' }] });
    expect(e.path).toBe('$.syscalls[0].action');
    expect(e.message).toMatch(/SCMP_ACT_NOTIFY is not supported/);
    expect(parseError({ defaultAction: 'SCMP_ACT_NOTIFY' }).path).toBe('$.defaultAction');
  });

  it('checks architectures, archMap and the includes/excludes conditions', () => {
    expect(parseError({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x86_64'] }).message).toBe(
      '$.architectures[0]: unknown architecture "x86_64", expected SCMP_ARCH_*',
    );
    expect(parseProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_PPC64LE'] }).architectures).toEqual(['SCMP_ARCH_PPC64LE']);
    expect(
      parseError({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: null }],
      }).message,
    ).toBe('$: both "architectures" and "archMap" are given; use one');
    expect(parseError({ defaultAction: 'SCMP_ACT_ALLOW', archMap: [{ subArchitectures: [] }] }).message).toBe('$.archMap[0].architecture: required');
    const cond = (includes: unknown) => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO', includes }] });
    expect(parseError(cond({ minKernel: '4' })).message).toBe(
      '$.syscalls[0].includes.minKernel: invalid kernel version "4", expected "<kernel>.<major>" such as "4.8"',
    );
    expect(parseError(cond({ caps: 'CAP_SYS_ADMIN' })).message).toBe('$.syscalls[0].includes.caps: expected an array, got string "CAP_SYS_ADMIN"');
    expect(parseError(cond([])).message).toBe('$.syscalls[0].includes: expected an object, got an array');
  });

  it('reports JSON syntax errors from text at $', () => {
    const e = (() => {
      try {
        parseProfileText('{"defaultAction": ');
      } catch (err) {
        return err as PolicyError;
      }
      throw new Error('accepted');
    })();
    expect(e).toBeInstanceOf(PolicyError);
    expect(e.message).toMatch(/^\$: invalid JSON/);
  });
});

describe('exact 64-bit values', () => {
  const text = `{
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      { "names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "comment": "12345678901234567890 stays a string",
        "args": [ { "index": 1, "value": 18446744073709551615, "op": "SCMP_CMP_EQ" },
                  { "index": 2, "value": 9007199254740993, "valueTwo": 9223372036854775808, "op": "SCMP_CMP_MASKED_EQ" } ] }
    ]
  }`;

  it('parseProfileText keeps integers above 2^53 exact', () => {
    const p = parseProfileText(text);
    expect(p.syscalls[0]!.args).toEqual([
      { index: 1, value: MAX, op: 'SCMP_CMP_EQ' },
      { index: 2, value: TWO53 + 1n, valueTwo: TWO63, op: 'SCMP_CMP_MASKED_EQ' },
    ]);
    expect(p.syscalls[0]!.comment).toBe('12345678901234567890 stays a string');
  });

  it('formatProfile writes them exactly and round-trips', () => {
    const p = parseProfileText(text);
    const out = formatProfile(p);
    expect(out).toContain('"value": 18446744073709551615');
    expect(out).toContain('"valueTwo": 9223372036854775808');
    expect(out.endsWith('}\n')).toBe(true);
    expect(parseProfileText(out)).toEqual(p);
  });

  it('bigints are accepted from code', () => {
    const p = parseProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: MAX, op: 'SCMP_CMP_EQ' }] }] });
    expect(p.syscalls[0]!.args![0]!.value).toBe(MAX);
    expect(parseError({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: MAX + 1n, op: 'SCMP_CMP_EQ' }] }] }).path).toBe(
      '$.syscalls[0].args[0].value',
    );
  });
});

describe('actions', () => {
  const one = (action: string, errnoRet?: number, defaultAction = 'SCMP_ACT_ALLOW') =>
    compile({ defaultAction, syscalls: [{ names: ['getpid'], action, ...(errnoRet === undefined ? {} : { errnoRet }) }] }).decide('getpid', 39, []);

  it('maps each action to a decision', () => {
    expect(one('SCMP_ACT_ALLOW', undefined, 'SCMP_ACT_KILL')).toEqual(ALLOW);
    expect(one('SCMP_ACT_ERRNO')).toEqual(EPERM);
    expect(one('SCMP_ACT_ERRNO', ERRNO.EACCES)).toEqual(errno(ERRNO.EACCES));
    expect(one('SCMP_ACT_KILL')).toEqual({ action: 'kill_thread' });
    expect(one('SCMP_ACT_KILL_THREAD')).toEqual({ action: 'kill_thread' });
    expect(one('SCMP_ACT_KILL_PROCESS')).toEqual({ action: 'kill_process' });
    expect(one('SCMP_ACT_TRAP')).toEqual({ action: 'trap' });
    expect(one('SCMP_ACT_LOG')).toEqual({ action: 'log' });
  });

  it('SCMP_ACT_TRACE without a tracer fails with ENOSYS', () => {
    expect(one('SCMP_ACT_TRACE')).toEqual(errno(ERRNO.ENOSYS));
    expect(one('SCMP_ACT_TRACE', 5)).toEqual(errno(ERRNO.ENOSYS));
  });

  it('errno 0 skips the call; errnos above MAX_ERRNO are capped like the kernel does', () => {
    expect(one('SCMP_ACT_ERRNO', 0)).toEqual(errno(0));
    expect(one('SCMP_ACT_ERRNO', 5000)).toEqual(errno(4095));
  });

  it('the default action applies to everything else', () => {
    const d = (defaultAction: string, defaultErrnoRet?: number) =>
      compile({ defaultAction, ...(defaultErrnoRet === undefined ? {} : { defaultErrnoRet }), syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG' }] });
    expect(d('SCMP_ACT_ERRNO').decide('write', 1, [])).toEqual(EPERM);
    expect(d('SCMP_ACT_ERRNO', ERRNO.ENOSYS).decide('write', 1, [])).toEqual(errno(ERRNO.ENOSYS));
    expect(d('SCMP_ACT_KILL_PROCESS').decide('write', 1, [])).toEqual({ action: 'kill_process' });
    expect(d('SCMP_ACT_TRAP').defaultDecision).toEqual({ action: 'trap' });
    expect(d('SCMP_ACT_ALLOW').decide('write', 1, [])).toEqual(ALLOW);
    expect(d('SCMP_ACT_ALLOW').decide('read', 0, [])).toEqual({ action: 'log' });
  });

  it('decisions are shared frozen objects', () => {
    const p = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    expect(p.decide('read', 0, [])).toBe(p.decide('read', 0, []));
    expect(p.decide('write', 1, [])).toBe(p.decide('mount', 165, []));
    expect(Object.isFrozen(p.decide('read', 0, []))).toBe(true);
  });
});

describe('operators: unsigned 64-bit comparisons', () => {
  /** A policy that errors getpid when `arg0 <op> value` (valueTwo for MASKED_EQ). */
  const cmp = (op: string, value: bigint, valueTwo?: bigint) =>
    compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value, op, ...(valueTwo === undefined ? {} : { valueTwo }) }] }],
    });
  const hits = (p: Policy, arg: bigint): boolean => decideBoth(p, 'getpid', [arg]).action === 'errno';

  it('SCMP_CMP_EQ', () => {
    const p = cmp('SCMP_CMP_EQ', MAX);
    expect(hits(p, MAX)).toBe(true);
    expect(hits(p, MAX - 1n)).toBe(false);
    expect(hits(p, 0xffff_ffffn)).toBe(false);
    expect(hits(p, -1n)).toBe(true); // a negative register value is its two's complement
    const q = cmp('SCMP_CMP_EQ', TWO53 + 1n);
    expect(hits(q, TWO53 + 1n)).toBe(true);
    expect(hits(q, TWO53)).toBe(false); // equal as doubles, not as integers
    const z = cmp('SCMP_CMP_EQ', 0n);
    expect(hits(z, 0n)).toBe(true);
    expect(hits(z, TWO32)).toBe(false);
  });

  it('SCMP_CMP_NE', () => {
    const p = cmp('SCMP_CMP_NE', TWO53 + 1n);
    expect(hits(p, TWO53 + 1n)).toBe(false);
    expect(hits(p, TWO53)).toBe(true);
    expect(hits(p, MAX)).toBe(true);
    expect(hits(p, (TWO53 + 1n) | (1n << 60n))).toBe(true);
  });

  it('SCMP_CMP_LT', () => {
    const p = cmp('SCMP_CMP_LT', TWO32);
    expect(hits(p, 0xffff_ffffn)).toBe(true);
    expect(hits(p, 0n)).toBe(true);
    expect(hits(p, TWO32)).toBe(false);
    expect(hits(p, MAX)).toBe(false); // unsigned: -1 is the largest value
    const m = cmp('SCMP_CMP_LT', MAX);
    expect(hits(m, MAX - 1n)).toBe(true);
    expect(hits(m, MAX)).toBe(false);
  });

  it('SCMP_CMP_LE', () => {
    const p = cmp('SCMP_CMP_LE', TWO32);
    expect(hits(p, TWO32)).toBe(true);
    expect(hits(p, TWO32 + 1n)).toBe(false);
    expect(hits(p, 0xffff_ffffn)).toBe(true);
    expect(hits(cmp('SCMP_CMP_LE', MAX), MAX)).toBe(true);
    expect(hits(cmp('SCMP_CMP_LE', 0n), 1n)).toBe(false);
  });

  it('SCMP_CMP_GT', () => {
    const p = cmp('SCMP_CMP_GT', TWO63 - 1n);
    expect(hits(p, TWO63)).toBe(true); // would be negative if signed
    expect(hits(p, MAX)).toBe(true);
    expect(hits(p, TWO63 - 1n)).toBe(false);
    expect(hits(p, 0n)).toBe(false);
    expect(hits(cmp('SCMP_CMP_GT', MAX), MAX)).toBe(false);
  });

  it('SCMP_CMP_GE', () => {
    const p = cmp('SCMP_CMP_GE', TWO63);
    expect(hits(p, TWO63)).toBe(true);
    expect(hits(p, TWO63 - 1n)).toBe(false);
    expect(hits(p, MAX)).toBe(true);
    const q = cmp('SCMP_CMP_GE', TWO53 + 1n);
    expect(hits(q, TWO53)).toBe(false);
    expect(hits(q, TWO53 + 1n)).toBe(true);
  });

  it('SCMP_CMP_MASKED_EQ: (arg & value) == valueTwo', () => {
    const p = cmp('SCMP_CMP_MASKED_EQ', 0xffff_ffff_0000_0000n, 0x1234_5678_0000_0000n);
    expect(hits(p, 0x1234_5678_dead_beefn)).toBe(true);
    expect(hits(p, 0x1234_5679_dead_beefn)).toBe(false);
    const clone = cmp('SCMP_CMP_MASKED_EQ', 0x7e02_0000n);
    expect(hits(clone, 0x0120_0011n)).toBe(true);
    expect(hits(clone, 0x1000_0011n)).toBe(false);
    expect(hits(clone, MAX & ~0x7e02_0000n)).toBe(true);
    const top = cmp('SCMP_CMP_MASKED_EQ', TWO63, TWO63);
    expect(hits(top, MAX)).toBe(true);
    expect(hits(top, TWO63 - 1n)).toBe(false);
  });

  it('SCMP_CMP_MASKED_EQ masks the datum too, as libseccomp does', () => {
    const p = cmp('SCMP_CMP_MASKED_EQ', 0xffn, 0x1ffn);
    expect(hits(p, 0xffn)).toBe(true);
    expect(hits(p, 0x1ffn)).toBe(true);
    expect(hits(p, 0xfen)).toBe(false);
  });

  it('takes the registers as an array, a BigUint64Array or 32-bit halves; missing ones read as 0', () => {
    const p = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mmap'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 5, value: MAX, op: 'SCMP_CMP_EQ' }] }],
    });
    const regs = new BigUint64Array([0n, 0n, 0n, 0n, 0n, MAX]);
    expect(p.decide('mmap', 9, regs)).toEqual({ action: 'kill_process' });
    expect(p.decideWords('mmap', 9, words(9, [0n, 0n, 0n, 0n, 0n, MAX]))).toEqual({ action: 'kill_process' });
    expect(p.decideWords('mmap', 9, new Uint32Array(regs.buffer), 0)).toEqual({ action: 'kill_process' });
    expect(p.decide('mmap', 9, [1n])).toEqual(ALLOW);
  });

  it('conditions of one rule are ANDed', () => {
    const p = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['kill'],
          action: 'SCMP_ACT_ERRNO',
          args: [
            { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 9, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    });
    expect(decideBoth(p, 'kill', [1n, 9n])).toEqual(EPERM);
    expect(decideBoth(p, 'kill', [1n, 15n])).toEqual(ALLOW);
    expect(decideBoth(p, 'kill', [2n, 9n])).toEqual(ALLOW);
  });

  it('conditions on the same argument are ORed, as runc splits them into separate rules', () => {
    const p = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['kill'],
          action: 'SCMP_ACT_ERRNO',
          args: [
            { index: 1, value: 9, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 19, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    });
    expect(decideBoth(p, 'kill', [1n, 9n])).toEqual(EPERM);
    expect(decideBoth(p, 'kill', [1n, 19n])).toEqual(EPERM);
    expect(decideBoth(p, 'kill', [1n, 15n])).toEqual(ALLOW);
  });
});

describe('several rules for one syscall: the highest precedence wins', () => {
  it('a matching ERRNO rule beats a matching ALLOW rule, whatever their order', () => {
    const allow = { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] };
    const deny = { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: ERRNO.EACCES, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] };
    for (const syscalls of [
      [allow, deny],
      [deny, allow],
    ]) {
      const p = compile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls });
      expect(decideBoth(p, 'kill', [1n, 9n])).toEqual(errno(ERRNO.EACCES));
      expect(decideBoth(p, 'kill', [1n, 15n])).toEqual(ALLOW);
      expect(decideBoth(p, 'kill', [2n, 9n])).toEqual(errno(ERRNO.EACCES));
      expect(decideBoth(p, 'kill', [2n, 15n])).toEqual({ action: 'kill_process' });
    }
  });

  it('KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > TRACE > LOG > ALLOW', () => {
    // Rule k matches arg0 >= k, so arg0 = k matches rules 1..k: the strongest of them must win.
    const ladder = [
      ['SCMP_ACT_ALLOW', ALLOW],
      ['SCMP_ACT_LOG', { action: 'log' }],
      ['SCMP_ACT_TRACE', errno(ERRNO.ENOSYS)],
      ['SCMP_ACT_ERRNO', errno(ERRNO.EACCES)],
      ['SCMP_ACT_TRAP', { action: 'trap' }],
      ['SCMP_ACT_KILL_THREAD', { action: 'kill_thread' }],
      ['SCMP_ACT_KILL_PROCESS', { action: 'kill_process' }],
    ] as const;
    const rules = ladder.map(([action], k) => ({
      names: ['prctl'],
      action,
      ...(action === 'SCMP_ACT_ERRNO' ? { errnoRet: ERRNO.EACCES } : {}),
      args: [{ index: 0, value: k + 1, op: 'SCMP_CMP_GE' }],
    }));
    for (const syscalls of [rules, [...rules].reverse(), [rules[3], rules[0], rules[6], rules[2], rules[5], rules[1], rules[4]]]) {
      const p = compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: ERRNO.EINVAL, syscalls });
      expect(decideBoth(p, 'prctl', [0n])).toEqual(errno(ERRNO.EINVAL));
      ladder.forEach(([, decision], k) => expect(decideBoth(p, 'prctl', [BigInt(k + 1)])).toEqual(decision));
      expect(decideBoth(p, 'prctl', [MAX])).toEqual({ action: 'kill_process' });
    }
  });

  it('an unconditional rule of lower precedence gives way to a matching conditional one', () => {
    const p = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['socket'], action: 'SCMP_ACT_ALLOW' },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: ERRNO.EAFNOSUPPORT, args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    expect(decideBoth(p, 'socket', [2n])).toEqual(ALLOW);
    expect(decideBoth(p, 'socket', [40n])).toEqual(errno(ERRNO.EAFNOSUPPORT));
    expect(p.needsArgs('socket', 41)).toBe(true);
  });

  it('an unconditional rule of higher precedence makes the arguments irrelevant', () => {
    const p = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
        { names: ['socket'], action: 'SCMP_ACT_TRAP' },
      ],
    });
    expect(p.needsArgs('socket', 41)).toBe(false);
    expect(decideBoth(p, 'socket', [2n])).toEqual({ action: 'trap' });
  });

  it('among equal precedence the first rule in profile order wins', () => {
    const p = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['openat'], action: 'SCMP_ACT_ERRNO', errnoRet: ERRNO.EACCES, args: [{ index: 2, value: 1, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 1 }] },
        { names: ['openat'], action: 'SCMP_ACT_ERRNO', errnoRet: ERRNO.EROFS, args: [{ index: 2, value: 0x40, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0x40 }] },
      ],
    });
    expect(decideBoth(p, 'openat', [0n, 0n, 0x41n])).toEqual(errno(ERRNO.EACCES));
    expect(decideBoth(p, 'openat', [0n, 0n, 0x40n])).toEqual(errno(ERRNO.EROFS));
    expect(decideBoth(p, 'openat', [0n, 0n, 0n])).toEqual(ALLOW);
  });

  it('drops rules equal to the default action, as runc does', () => {
    const profile = (errnoRet: number) => ({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet },
        { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    const same = compile(profile(ERRNO.EPERM));
    expect(decideBoth(same, 'kill', [1n, 0n])).toEqual(ALLOW);
    expect(decideBoth(same, 'kill', [1n, 9n])).toEqual(EPERM);
    const other = compile(profile(ERRNO.EACCES));
    expect(decideBoth(other, 'kill', [1n, 0n])).toEqual(errno(ERRNO.EACCES));
  });
});

describe('includes / excludes', () => {
  const rule = (cond: object) => ({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', ...cond }],
  });
  const allowed = (profile: unknown, opts: Partial<PolicyOptions> = {}) => compile(profile, opts).decide('read', -1, []).action === 'allow';

  it('arches: Docker names, Linux names and SCMP_ARCH_ names of the guest arch', () => {
    for (const name of ['amd64', 'x86_64', 'SCMP_ARCH_X86_64']) {
      expect(allowed(rule({ includes: { arches: [name] } }), { arch: 'x86_64' })).toBe(true);
      expect(allowed(rule({ includes: { arches: [name] } }), { arch: 'aarch64' })).toBe(false);
      expect(allowed(rule({ excludes: { arches: [name] } }), { arch: 'x86_64' })).toBe(false);
      expect(allowed(rule({ excludes: { arches: [name] } }), { arch: 'aarch64' })).toBe(true);
    }
    expect(allowed(rule({ includes: { arches: ['arm64', 's390x'] } }), { arch: 'aarch64' })).toBe(true);
    expect(allowed(rule({ includes: { arches: ['ppc64le'] } }), { arch: 'aarch64' })).toBe(false);
  });

  it('caps: the guest holds none unless told; includes needs all, excludes drops on any', () => {
    const inc = rule({ includes: { caps: ['CAP_SYS_ADMIN'] } });
    expect(allowed(inc)).toBe(false);
    expect(allowed(inc, { caps: ['CAP_SYS_ADMIN'] })).toBe(true);
    expect(allowed(inc, { caps: ['sys_admin'] })).toBe(true);
    expect(allowed(inc, { caps: ['ALL'] })).toBe(true);
    expect(allowed(inc, { caps: ['CAP_NET_ADMIN'] })).toBe(false);
    const both = rule({ includes: { caps: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] } });
    expect(allowed(both, { caps: ['CAP_SYS_ADMIN'] })).toBe(false);
    expect(allowed(both, { caps: ['CAP_SYS_PTRACE', 'CAP_SYS_ADMIN'] })).toBe(true);
    const exc = rule({ excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'] } });
    expect(allowed(exc)).toBe(true);
    expect(allowed(exc, { caps: ['CAP_BPF'] })).toBe(false);
  });

  it('minKernel: compared with the kernel tslinux reports (6.1) unless told', () => {
    expect(allowed(rule({ includes: { minKernel: '4.8' } }))).toBe(true);
    expect(allowed(rule({ includes: { minKernel: '6.1' } }))).toBe(true);
    expect(allowed(rule({ includes: { minKernel: '6.2' } }))).toBe(false);
    expect(allowed(rule({ includes: { minKernel: '6.2' } }), { kernelVersion: '6.8.0-41-generic' })).toBe(true);
    expect(allowed(rule({ includes: { minKernel: '4.8' } }), { kernelVersion: '4.4' })).toBe(false);
    expect(allowed(rule({ excludes: { minKernel: '5.0' } }))).toBe(false);
    expect(allowed(rule({ excludes: { minKernel: '5.0' } }), { kernelVersion: '4.19' })).toBe(true);
  });

  it('includes and excludes together', () => {
    const p = rule({ includes: { arches: ['amd64'] }, excludes: { caps: ['CAP_SYS_ADMIN'] } });
    expect(allowed(p)).toBe(true);
    expect(allowed(p, { caps: ['CAP_SYS_ADMIN'] })).toBe(false);
    expect(allowed(p, { arch: 'aarch64' })).toBe(false);
  });
});

describe('architectures', () => {
  const profile = (architectures?: string[]) => ({
    defaultAction: 'SCMP_ACT_ERRNO',
    ...(architectures ? { architectures } : {}),
    syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
  });

  it('a profile that lists the guest arch, or none, applies', () => {
    expect(compile(profile()).archListed).toBe(true);
    const p = compile(profile(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']));
    expect(p.archListed).toBe(true);
    expect(p.decide('read', 0, [])).toEqual(ALLOW);
    expect(compile(profile(['SCMP_ARCH_X86_64']), { arch: 'aarch64' }).archListed).toBe(false);
  });

  it('the rules still apply to an unlisted guest arch (libseccomp always filters the native arch) ...', () => {
    const p = compile(profile(['SCMP_ARCH_X86', 'SCMP_ARCH_X32']));
    expect(p.archListed).toBe(false);
    expect(p.decide('read', 0, [])).toEqual(ALLOW);
    expect(p.decide('write', 1, [])).toEqual(EPERM);
  });

  it('... unless strictArch: then the guest arch is foreign and every syscall kills the thread', () => {
    const p = compile(profile(['SCMP_ARCH_ARM']), { strictArch: true });
    expect(p.decide('read', 0, [])).toEqual({ action: 'kill_thread' });
    expect(compile(profile(['SCMP_ARCH_X86_64']), { strictArch: true }).decide('read', 0, [])).toEqual(ALLOW);
  });
});

describe('syscall names', () => {
  it('skips names the arch does not have and lists them', () => {
    const profile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'chown32', 'open', 'no_such_call', 'arch_prctl'], action: 'SCMP_ACT_ALLOW' }] };
    const x86 = compile(profile);
    expect(x86.unknownNames).toEqual(['chown32', 'no_such_call']);
    expect(x86.decide('open', 2, [])).toEqual(ALLOW);
    const arm = compile(profile, { arch: 'aarch64' });
    expect(arm.unknownNames).toEqual(['arch_prctl', 'chown32', 'no_such_call', 'open']);
    expect(arm.decide('read', 63, [])).toEqual(ALLOW);
  });

  it('finds the rule by number when the name is not one of the arch', () => {
    const p = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    expect(p.decide('', 0, [])).toEqual(ALLOW);
    expect(p.decide('read', -1, [])).toEqual(ALLOW);
    expect(p.decide('syscall_0x1ff', 0x1ff, [])).toEqual(EPERM);
    const arm = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, { arch: 'aarch64' });
    expect(arm.decide('', 63, [])).toEqual(ALLOW);
    // A real name decides even if the number disagrees.
    expect(p.decide('write', 0, [])).toEqual(EPERM);
  });
});

describe('deny and allow lists, and overrides', () => {
  it('denyList: everything but the names', () => {
    const p = Policy.denyList(['mount', 'ptrace']);
    expect(p.decide('mount', 165, [])).toEqual(EPERM);
    expect(p.decide('ptrace', 101, [])).toEqual(EPERM);
    expect(p.decide('read', 0, [])).toEqual(ALLOW);
    expect(Policy.denyList(['mount'], ERRNO.ENOSYS, { arch: 'aarch64' }).decide('mount', 40, [])).toEqual(errno(ERRNO.ENOSYS));
    expect(Policy.denyList(['mount', 'mount_typo']).unknownNames).toEqual(['mount_typo']);
  });

  it('allowList: only the names, EPERM (or the given errno) for the rest', () => {
    const p = Policy.allowList(['read', 'write', 'exit_group']);
    expect(p.decide('read', 0, [])).toEqual(ALLOW);
    expect(p.decide('openat', 257, [])).toEqual(EPERM);
    expect(Policy.allowList(['read'], { errno: ERRNO.ENOSYS }).decide('openat', 257, [])).toEqual(errno(ERRNO.ENOSYS));
    expect(Policy.allowList([]).decide('read', 0, [])).toEqual(EPERM);
    expect(Policy.allowList(['read', 'open'], { arch: 'aarch64' }).unknownNames).toEqual(['open']);
    expect(Policy.allowList(['read', 'open']).unknownNames).toEqual([]);
  });

  it('--allow / --deny override a profile; deny beats allow', () => {
    const profile = parseProfileText(dockerText);
    const p = Policy.fromProfile(profile, { arch: 'x86_64', allow: ['mount', 'kexec_load'], deny: ['openat', 'kexec_load'], denyErrno: ERRNO.EACCES });
    expect(p.decide('mount', 165, [])).toEqual(ALLOW);
    expect(p.decide('openat', 257, [])).toEqual(errno(ERRNO.EACCES));
    expect(p.decide('kexec_load', 246, [])).toEqual(errno(ERRNO.EACCES));
    expect(p.decide('read', 0, [])).toEqual(ALLOW);
    expect(p.decide('clone', 56, [0x1000_0000n])).toEqual(EPERM);
  });

  it("enosysForNewer: runc's ENOSYS for syscalls newer than the profile", () => {
    const profile = parseProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write', 'openat'], action: 'SCMP_ACT_ALLOW' }] });
    const p = Policy.fromProfile(profile, { arch: 'x86_64', enosysForNewer: true });
    expect(p.decide('clone3', 435, [])).toEqual(errno(ERRNO.ENOSYS));
    expect(p.decide('mount', 165, [])).toEqual(EPERM);
    expect(p.decide('openat', 257, [])).toEqual(ALLOW);
    expect(Policy.fromProfile(profile, { arch: 'x86_64' }).decide('clone3', 435, [])).toEqual(EPERM);
    // An explicit --allow still wins.
    expect(Policy.fromProfile(profile, { arch: 'x86_64', enosysForNewer: true, allow: ['clone3'] }).decide('clone3', 435, [])).toEqual(ALLOW);
  });
});

describe("Docker's default profile", () => {
  const profile = parseProfileText(dockerText);
  const arches: CpuArch[] = ['x86_64', 'aarch64'];
  const nr = (arch: CpuArch, name: string): number =>
    arch === 'x86_64' ? X86_64_NUMBERS[name]! : ({ read: 63, write: 64, openat: 56, execve: 221, clone: 220, clone3: 435, mount: 40, kexec_load: 104, reboot: 142, personality: 92, socket: 198, ptrace: 117, unshare: 97 } as Record<string, number>)[name]!;

  it('loads, from text and from JSON.parse', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.defaultErrnoRet).toBe(1);
    expect(profile.archMap?.length).toBeGreaterThan(0);
    expect(parseProfile(JSON.parse(dockerText))).toEqual(profile);
  });

  for (const arch of arches) {
    describe(arch, () => {
      const p = Policy.fromProfile(profile, { arch });
      const d = (name: string, ...args: bigint[]) => p.decide(name, nr(arch, name), args);

      it('covers the guest arch and reports the names it does not have', () => {
        expect(p.archListed).toBe(true);
        expect(p.unknownNames.length).toBeGreaterThan(0);
        expect(p.unknownNames).not.toContain('read');
        expect(p.unknownNames).toContain('chown32');
      });

      it('allows read, write, openat, execve', () => {
        for (const name of ['read', 'write', 'openat', 'execve']) expect(d(name)).toEqual(ALLOW);
        expect(p.needsArgs('read', nr(arch, 'read'))).toBe(false);
      });

      it('allows clone without namespace flags (mask 0x7E020000), EPERM with them', () => {
        expect(p.needsArgs('clone', nr(arch, 'clone'))).toBe(true);
        expect(d('clone', 0x0120_0011n)).toEqual(ALLOW); // fork: CHILD_SETTID|CHILD_CLEARTID|SIGCHLD
        expect(d('clone', 0x003d_0f00n)).toEqual(ALLOW); // pthread_create
        expect(d('clone', 0x1_0000_0000n | 0x11n)).toEqual(ALLOW); // bits above the mask do not matter
        expect(d('clone', 0x1000_0000n | 0x11n)).toEqual(EPERM); // CLONE_NEWUSER
        expect(d('clone', 0x0002_0000n)).toEqual(EPERM); // CLONE_NEWNS
        expect(d('clone', 0x4000_0000n)).toEqual(EPERM); // CLONE_NEWNET
        expect(d('clone', 0x7e02_0000n)).toEqual(EPERM);
        const admin = Policy.fromProfile(profile, { arch, caps: ['CAP_SYS_ADMIN'] });
        expect(admin.decide('clone', nr(arch, 'clone'), [0x7e02_0000n])).toEqual(ALLOW);
        expect(admin.needsArgs('clone', nr(arch, 'clone'))).toBe(false);
      });

      it('makes clone3 fail with ENOSYS (so libc falls back to clone) unless CAP_SYS_ADMIN', () => {
        expect(d('clone3')).toEqual(errno(ERRNO.ENOSYS));
        expect(Policy.fromProfile(profile, { arch, caps: ['CAP_SYS_ADMIN'] }).decide('clone3', nr(arch, 'clone3'), [])).toEqual(ALLOW);
      });

      it('denies kexec_load, mount, unshare and reboot with EPERM without capabilities', () => {
        for (const name of ['kexec_load', 'mount', 'unshare', 'reboot']) expect(d(name)).toEqual(EPERM);
        const admin = Policy.fromProfile(profile, { arch, caps: ['CAP_SYS_ADMIN'] });
        expect(admin.decide('mount', nr(arch, 'mount'), [])).toEqual(ALLOW);
        expect(admin.decide('kexec_load', nr(arch, 'kexec_load'), [])).toEqual(EPERM);
        expect(Policy.fromProfile(profile, { arch, caps: ['CAP_SYS_BOOT'] }).decide('reboot', nr(arch, 'reboot'), [])).toEqual(ALLOW);
      });

      it('filters personality and socket by argument', () => {
        for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffff_ffffn]) expect(d('personality', v)).toEqual(ALLOW);
        expect(d('personality', 0x0040_0000n)).toEqual(EPERM); // ADDR_NO_RANDOMIZE
        expect(d('personality', MAX)).toEqual(EPERM); // 64-bit compare: not 0xffffffff
        expect(d('socket', 2n)).toEqual(ALLOW); // AF_INET
        expect(d('socket', 38n)).toEqual(EPERM);
        expect(d('socket', 39n)).toEqual(ALLOW);
        expect(d('socket', 40n)).toEqual(EPERM); // AF_VSOCK
        expect(d('socket', 41n)).toEqual(ALLOW);
      });

      it('allows ptrace only on kernels >= 4.8', () => {
        expect(d('ptrace')).toEqual(ALLOW);
        expect(Policy.fromProfile(profile, { arch, kernelVersion: '4.4' }).decide('ptrace', nr(arch, 'ptrace'), [])).toEqual(EPERM);
      });
    });
  }

  it('honours arch-specific rules', () => {
    expect(Policy.fromProfile(profile, { arch: 'x86_64' }).decide('arch_prctl', 158, [])).toEqual(ALLOW);
    expect(Policy.fromProfile(profile, { arch: 'x86_64' }).decide('modify_ldt', 154, [])).toEqual(ALLOW);
    expect(Policy.fromProfile(profile, { arch: 'aarch64' }).unknownNames).toContain('open');
  });
});

describe('ProfileRecorder', () => {
  function run1(): ProfileRecorder {
    const r = new ProfileRecorder();
    for (const name of ['openat', 'read', 'write', 'read', 'exit_group', 'arch_prctl']) r.record('x86_64', name);
    for (const name of ['write', 'read', 'openat']) r.record('aarch64', name);
    return r;
  }

  it('records known (arch, name) pairs and skips the rest', () => {
    const r = run1();
    expect(r.record('x86_64', 'syscall_0x1ff')).toBe(false);
    expect(r.record('aarch64', 'arch_prctl')).toBe(false);
    expect([...r.skipped].sort()).toEqual(['arch_prctl', 'syscall_0x1ff']);
    expect(r.names('x86_64')).toEqual(['arch_prctl', 'exit_group', 'openat', 'read', 'write']);
    expect(r.arches()).toEqual(['aarch64', 'x86_64']);
  });

  it('writes the minimal profile, sorted and pretty-printed', () => {
    const r = run1();
    expect(r.toProfile()).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['openat', 'read', 'write'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
        { names: ['arch_prctl', 'exit_group', 'openat', 'read', 'write'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      ],
    });
    const json = r.toJSON();
    expect(json).toBe(`${JSON.stringify(r.toProfile(), null, 2)}\n`);
    expect(json).toContain('\n  "defaultAction": "SCMP_ACT_ERRNO",\n');
    // Same calls in another order: same bytes.
    const again = new ProfileRecorder();
    for (const name of ['exit_group', 'write', 'arch_prctl', 'read', 'openat']) again.record('x86_64', name);
    for (const name of ['openat', 'read', 'write']) again.record('aarch64', name);
    expect(again.toJSON()).toBe(json);
  });

  it('round-trips through parseProfileText and Policy, per arch', () => {
    const profile = parseProfileText(run1().toJSON());
    const x86 = Policy.fromProfile(profile, { arch: 'x86_64' });
    expect(x86.unknownNames).toEqual([]);
    for (const name of ['openat', 'read', 'write', 'exit_group', 'arch_prctl']) expect(x86.decide(name, X86_64_NUMBERS[name]!, [])).toEqual(ALLOW);
    expect(x86.decide('mount', 165, [])).toEqual(EPERM);
    expect(x86.decide('close', 3, [])).toEqual(EPERM);
    const arm = Policy.fromProfile(profile, { arch: 'aarch64' });
    expect(arm.unknownNames).toEqual([]);
    expect(arm.decide('read', 63, [])).toEqual(ALLOW);
    expect(arm.decide('exit_group', 94, [])).toEqual(EPERM); // only recorded on x86_64
  });

  it('a single-arch recording', () => {
    const r = new ProfileRecorder();
    r.record('aarch64', 'write');
    r.record('aarch64', 'exit_group');
    const profile = parseProfileText(r.toJSON());
    expect(profile.architectures).toEqual(['SCMP_ARCH_AARCH64']);
    const arm = Policy.fromProfile(profile, { arch: 'aarch64' });
    expect(arm.archListed).toBe(true);
    expect(arm.decide('write', 64, [])).toEqual(ALLOW);
    expect(arm.decide('read', 63, [])).toEqual(EPERM);
    // Another arch sees none of the names: everything is denied.
    expect(Policy.fromProfile(profile, { arch: 'x86_64' }).decide('write', 1, [])).toEqual(EPERM);
    expect(new ProfileRecorder().toProfile()).toEqual({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, syscalls: [] });
  });

  it('merging into an existing recorded profile keeps the union', () => {
    const existing = parseProfileText(run1().toJSON());
    const r = new ProfileRecorder();
    r.record('x86_64', 'close');
    r.record('x86_64', 'read');
    r.record('aarch64', 'exit_group');
    const merged = r.toProfile(existing);
    expect(merged.syscalls).toEqual([
      { names: ['exit_group', 'openat', 'read', 'write'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
      { names: ['arch_prctl', 'close', 'exit_group', 'openat', 'read', 'write'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
    ]);
    expect(merged.defaultErrnoRet).toBe(1);
    // Merging is idempotent and stable.
    expect(new ProfileRecorder().toJSON(existing)).toBe(formatProfile(existing));
    expect(r.toJSON(parseProfileText(r.toJSON(existing)))).toBe(r.toJSON(existing));
  });

  it('merges a plain OCI allow list by its architectures and keeps its default action', () => {
    const existing = parseProfile({
      defaultAction: 'SCMP_ACT_KILL_PROCESS',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['brk'], action: 'SCMP_ACT_ALLOW' }],
    });
    const r = new ProfileRecorder();
    r.record('x86_64', 'mmap');
    const merged: Profile = r.toProfile(existing);
    expect(merged).toEqual({
      defaultAction: 'SCMP_ACT_KILL_PROCESS',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['brk', 'mmap'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } }],
    });
  });

  it('refuses to merge a profile that is not a recorded allow list', () => {
    const r = new ProfileRecorder();
    r.record('x86_64', 'read');
    expect(() => r.toProfile(parseProfileText(dockerText))).toThrow(PolicyError);
    expect(() => r.toProfile(parseProfileText(dockerText))).toThrow(/^\$\.syscalls\[1\]: cannot merge a rule with caps or minKernel/);
  });
});
