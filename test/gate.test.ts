// The gate at every entry (issue 12), on a headless kernel: a woken call's
// retry passes the gate again with the registers it has now; a different
// call abandons the blocked one and is a new entry with its own verdict; a
// call's retry state never reaches another call; the library's hooks and
// strace-style injections count a blocked call once, and sit behind the
// policy. The CPU paths (a retry made from the registers, never by running
// the instruction again; restarts after SA_RESTART handlers) are in
// test/escape-policy.test.ts with a real guest.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCHES } from '../src/arch/index.ts';
import { createHeadlessKernel, SyscallHooks, type SyscallOutcome } from '../src/index.ts';
import { Dispatcher, buildTable, type SyscallGate } from '../src/kernel/dispatch.ts';
import type { Task } from '../src/kernel/task.ts';
import { WouldBlock } from '../src/kernel/wait.ts';
import { PolicyGate } from '../src/policy/gate.ts';
import { InjectionGate, parseInjectSpec } from '../src/trace/inject.ts';
import type { SyscallDecl } from '../syscalls/types.ts';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

const BLOCKED = -11; // what invokeAs reports for a call that would block

/** A gate that lets everything through and remembers each entry it saw. */
function recordingGate(): SyscallGate & { seen: { name: string; retry: boolean }[] } {
  const seen: { name: string; retry: boolean }[] = [];
  return {
    seen,
    check: (_ctx, name, _nr, _words, _args, retry = false) => {
      seen.push({ name, retry });
      return null;
    },
  };
}

describe.each(ARCH_NAMES)('every entry passes the gate (%s)', (arch) => {
  let t: Headless;
  let reader: Task;
  let fds: { r: number; w: number };
  beforeEach(() => {
    t = headless(arch, { hostDir: false });
    const pair = t.buf(8);
    expect(t.call('pipe2', pair, 0)).toBe(0);
    fds = { r: t.mem.readU32(pair), w: t.mem.readU32(pair + 4) };
    reader = t.k.newThread(t.k.currentTask, 0, { sp: 0, tls: null });
  });
  afterEach(() => t.cleanup());

  const mkdirCall = (path: number): [string, number[]] =>
    t.has('mkdir') ? ['mkdir', [path, 0o700]] : ['mkdirat', [t.c.AT_FDCWD, path, 0o700]];

  it("a woken call's retry is checked again, marked as a retry", () => {
    const gate = recordingGate();
    t.k.setGate(gate);
    const buf = t.buf(4);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(BLOCKED);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(BLOCKED);
    expect(t.call('write', fds.w, t.str('x'), 1)).toBe(1);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(1);
    expect(gate.seen.filter((s) => s.name === 'read')).toEqual([
      { name: 'read', retry: false },
      { name: 'read', retry: true },
      { name: 'read', retry: true },
    ]);
    // Done: the next read is a new call.
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(BLOCKED);
    expect(gate.seen.at(-1)).toEqual({ name: 'read', retry: false });
  });

  it('a different call abandons the blocked one and gets the policy\'s own verdict', () => {
    t.k.setGate(new PolicyGate({ deny: ['mkdir', 'mkdirat'] }, () => {}));
    expect(t.k.invokeAs(reader, 'read', [fds.r, t.buf(4), 1])).toBe(BLOCKED);
    expect(reader.blockedOn).not.toBeNull();
    const [name, args] = mkdirCall(t.str('/tmp/made'));
    expect(t.k.invokeAs(reader, name, args)).toBe(t.errno('EPERM'));
    expect(reader.blockedOn).toBeNull();
    expect(reader.syscallState).toBeUndefined();
    expect(t.call('newfstatat', t.c.AT_FDCWD, t.str('/tmp/made'), t.buf(256), 0)).toBe(t.errno('ENOENT'));
  });

  it('a policy that logs reports a blocked call once', () => {
    const log: string[] = [];
    t.k.setGate(new PolicyGate({ profile: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG' }] } as never }, (l) => log.push(l)));
    const buf = t.buf(4);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(BLOCKED);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(BLOCKED);
    expect(t.call('write', fds.w, t.str('x'), 1)).toBe(1);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(1);
    expect(log).toEqual([expect.stringMatching(/^tslinux: policy: read logged/)]);
  });

  it('an injection counts a blocked call once (strace numbers calls, not retries)', () => {
    t.k.setGate(new InjectionGate([parseInjectSpec('read:error=EIO:when=2')]));
    const buf = t.buf(4);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(BLOCKED);
    expect(t.call('write', fds.w, t.str('xy'), 2)).toBe(2);
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(1); // the first read, retried
    expect(t.k.invokeAs(reader, 'read', [fds.r, buf, 1])).toBe(t.errno('EIO')); // the second read
  });
});

describe('restart_syscall is a call like any other', () => {
  it.each(['x86_64', 'aarch64'] as const)('the gate sees it; without a restart block it is ENOSYS here (%s)', (arch) => {
    const gate = recordingGate();
    const k = createHeadlessKernel(arch, { deny: ['restart_syscall'] });
    expect(k.invoke('restart_syscall')).toBe(-1 /* EPERM */);
    k.setGate(gate);
    expect(k.invoke('restart_syscall')).toBe(-38 /* ENOSYS */);
    expect(gate.seen).toEqual([{ name: 'restart_syscall', retry: false }]);
  });
});

describe('the library: the policy comes before the hooks', () => {
  it.each(['x86_64', 'aarch64'] as const)('a denied call never reaches an override; its after() sees the refusal (%s)', (arch) => {
    let overridden = 0;
    const outcomes: SyscallOutcome[] = [];
    const hooks = new SyscallHooks().override('getuid', () => ++overridden).onSyscall('getuid', { after: (o) => outcomes.push(o) });
    const k = createHeadlessKernel(arch, { deny: ['getuid'], hooks });
    expect(k.invoke('getuid')).toBe(-1 /* EPERM */);
    expect(overridden).toBe(0);
    expect(outcomes.map((o) => [o.ret, o.note])).toEqual([[-1, 'denied by policy']]);
    // An allowed call still reaches it.
    expect(k.invoke('getgid')).toBeGreaterThanOrEqual(0);
  });
});

describe('a call\'s retry state stays with that call (dispatch.ts)', () => {
  const arch = ARCHES.x86_64;
  const seenState: unknown[] = [];
  let blocks = true;
  /** read blocks once, keeping a state; write and getpid report the state they find. */
  const decls: SyscallDecl[] = [
    {
      name: 'read',
      args: { fd: 'fd', buf: 'ptr', count: 'size' },
      handler: (ctx) => {
        seenState.push(ctx.task.syscallState);
        ctx.task.syscallState ??= { of: 'read' };
        if (blocks) throw new WouldBlock([]);
        return 0;
      },
    },
    { name: 'write', args: { fd: 'fd', buf: 'ptr', count: 'size' }, handler: (ctx) => (seenState.push(ctx.task.syscallState), 0) },
  ];
  const words = (nr: number, ...args: number[]): Uint32Array => {
    const w = new Uint32Array(16);
    [nr, ...args].forEach((v, i) => (w[2 * i] = v));
    return w;
  };

  it('the same call at the same pc resumes with its state; another call or another pc starts afresh', () => {
    const k = createHeadlessKernel('x86_64');
    const task = k.currentTask;
    const d = new Dispatcher(buildTable(arch, decls), arch, null);
    const read = { words: words(0, 3, 0x1000, 1) } as never;
    task.pc = 0x401002;
    expect(d.dispatch(task, read)).toBeLessThan(0); // blocked
    expect(task.syscallState).toEqual({ of: 'read' });
    // A handler could rewrite the registers a restarted call resumes with: a write must not inherit read's state.
    task.blockedOn = null;
    d.dispatch(task, { words: words(1, 3, 0x1000, 1) } as never);
    expect(seenState.at(-1)).toBeUndefined();
    // The read again at the same pc: its state is its own.
    expect(d.dispatch(task, read)).toBeLessThan(0);
    expect(d.dispatch(task, read)).toBeLessThan(0);
    expect(seenState.at(-1)).toEqual({ of: 'read' });
    // Other arguments: another call.
    expect(d.dispatch(task, { words: words(0, 3, 0x1000, 2) } as never)).toBeLessThan(0);
    expect(seenState.at(-1)).toBeUndefined();
    // The same registers at another pc are another call instruction: a new call.
    task.pc = 0x402002;
    blocks = false;
    expect(d.dispatch(task, { words: words(0, 3, 0x1000, 2) } as never)).toBe(0);
    expect(seenState.at(-1)).toBeUndefined();
  });
});
