// The library's syscall hooks (onSyscall, override) and strace-style fault
// injection (--inject, -e inject=, -e fault=), with real guests on both arches.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelBug, LinuxError, SyscallHooks, runSync, type SyscallCall, type SyscallOutcome } from '../src/index.ts';
import { ERRNO } from '../src/kernel/errno-table.ts';
import { InjectError, isTampered, parseInjectSpec } from '../src/trace/inject.ts';
import { ARCHES, ROOT, debianBin, guestPath } from './helpers/e2e.ts';

const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString();

describe.each(ARCHES)('%s: onSyscall and override', (arch) => {
  it('before sees the arguments (and the guest memory behind them), after sees the result', () => {
    const before: SyscallCall[] = [];
    const after: SyscallOutcome[] = [];
    const written: string[] = [];
    // musl's stdio writes with writev on x86-64 and with write on aarch64.
    const watch = {
      before: (c: SyscallCall): void => {
        before.push(c);
        const mem = c.ctx.mem;
        if (c.name === 'write') written.push(Buffer.from(mem.read(c.args[1]!, c.args[2]!)).toString());
        else {
          // struct iovec { void *iov_base; size_t iov_len; }: read the first buffer the guest passes.
          written.push(Buffer.from(mem.read(mem.readU64(c.args[1]!), mem.readU64(c.args[1]! + 8))).toString());
        }
      },
      after: (o: SyscallOutcome): void => void after.push(o),
    };
    const hooks = new SyscallHooks().onSyscall('write', watch).onSyscall('writev', watch);
    const r = runSync(guestPath(arch, 'hello'), { hooks });
    expect(text(r.stdout)).toBe('hello, world\n');
    expect(before).toHaveLength(1);
    expect(before[0]!.args[0]).toBe(1);
    expect(written[0]).toMatch(/^hello, world/);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ name: before[0]!.name, ret: 13, errno: null, pid: before[0]!.pid });
    expect(after[0]!.durationNs).toBeGreaterThanOrEqual(0);
  });

  it("'*' watches every call; a blocked call's wait and retry reach the hooks once", () => {
    const entered = new Map<string, number>();
    const finished = new Map<string, number>();
    const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
    const hooks = new SyscallHooks().onSyscall('*', {
      before: (c) => bump(entered, c.name),
      after: (o) => bump(finished, o.name),
    });
    const r = runSync(guestPath(arch, 'pipes'), { hooks });
    expect(r.exitCode, text(r.stdout)).toBe(0);
    // pipes blocks in read and wait4 while its children run.
    expect(entered.get('wait4')).toBeGreaterThan(0);
    expect(entered.get('read')).toBeGreaterThan(0);
    // exit_group does not come back; every other call is entered once and finishes once.
    for (const [name, n] of entered) if (name !== 'exit_group' && name !== 'exit') expect(finished.get(name), name).toBe(n);
  });

  it('override replaces the handler; returning undefined lets the real one run', () => {
    let calls = 0;
    const hooks = new SyscallHooks().override('getuid', () => (++calls === 3 ? 4242 : undefined));
    const r = runSync(guestPath(arch, 'getuid_loop'), { args: ['5'], hooks });
    expect(text(r.stdout)).toBe('getuid calls: 5\nall equal: no\n');
    expect(calls).toBe(6);
    const all = runSync(guestPath(arch, 'getuid_loop'), { args: ['5'], hooks: new SyscallHooks().override('getuid', () => 4242) });
    expect(text(all.stdout)).toBe('getuid calls: 5\nall equal: yes\n');
  });

  it('override answers with a LinuxError or -errno, as the guest sees it', () => {
    const busybox = debianBin(arch, 'busybox');
    const denied = runSync(busybox, {
      argv0: 'cat',
      args: ['/proc/self/status'],
      hooks: new SyscallHooks().override('openat', () => {
        throw new LinuxError('EACCES');
      }),
    });
    expect(denied.exitCode).toBe(1);
    expect(text(denied.stderr)).toBe("cat: can't open '/proc/self/status': Permission denied\n");
    const failing = runSync(busybox, { argv0: 'head', args: ['-1', '/proc/self/status'], hooks: new SyscallHooks().override('read', () => -ERRNO.EIO) });
    expect(failing.exitCode).toBe(1);
    expect(text(failing.stderr)).toBe('head: /proc/self/status: Input/output error\n');
    const id = runSync(busybox, { argv0: 'id', args: ['-u'], hooks: new SyscallHooks().override('getuid', () => 777).override('geteuid', () => 777) });
    expect(text(id.stdout)).toBe('777\n');
  });

  it('a hook watches what an override answered', () => {
    const seen: SyscallOutcome[] = [];
    const hooks = new SyscallHooks().override('getuid', () => -ERRNO.EPERM).onSyscall('getuid', { after: (o) => seen.push(o) });
    runSync(guestPath(arch, 'getuid_loop'), { args: ['2'], hooks });
    expect(seen.map((o) => [o.ret, o.errno])).toEqual([
      [-ERRNO.EPERM, 'EPERM'],
      [-ERRNO.EPERM, 'EPERM'],
      [-ERRNO.EPERM, 'EPERM'],
    ]);
  });
});

describe('hook mistakes are reported, not swallowed', () => {
  it('unknown syscall names are refused', () => {
    expect(() => new SyscallHooks().onSyscall('opne', {})).toThrow('unknown syscall "opne"');
    expect(() => new SyscallHooks().override('getuidd', () => 0)).toThrow('unknown syscall "getuidd"');
  });

  it('an override returning something that is not a result stops the run with the reason', () => {
    const hooks = new SyscallHooks().override('getuid', () => 0.5);
    expect(() => runSync(guestPath('x86_64', 'getuid_loop'), { args: ['1'], hooks })).toThrow(KernelBug);
    expect(() => runSync(guestPath('x86_64', 'getuid_loop'), { args: ['1'], hooks })).toThrow(/override\(getuid\) returned 0.5/);
  });
});

describe('inject specs (strace -e inject= syntax)', () => {
  const spec = (s: string): ReturnType<typeof parseInjectSpec> => parseInjectSpec(s);
  const tampered = (s: string, upTo = 12): number[] => {
    const p = spec(s);
    return Array.from({ length: upTo }, (_, i) => i + 1).filter((n) => isTampered(p, n));
  };

  it('error= by name or number, retval=, and which calls when= picks', () => {
    expect(spec('read:error=EIO').ret).toBe(-ERRNO.EIO);
    expect(spec('read:error=5').ret).toBe(-5);
    expect(spec('getuid:retval=42').ret).toBe(42);
    expect(tampered('read:error=EIO')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(tampered('read:error=EIO:when=3')).toEqual([3]);
    expect(tampered('read:error=EIO:when=3+')).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(tampered('read:error=EIO:when=3+4')).toEqual([3, 7, 11]);
    expect(tampered('read:error=EIO:when=2..4')).toEqual([2, 3, 4]);
    expect(tampered('read:error=EIO:when=2..9+3')).toEqual([2, 5, 8]);
    expect(spec('%file:error=EACCES').syscalls.has('openat')).toBe(true);
    expect(parseInjectSpec('openat', { defaultErrno: ERRNO.ENOSYS }).ret).toBe(-ERRNO.ENOSYS);
  });

  it('refuses what strace refuses', () => {
    const bad = (s: string): string => {
      try {
        parseInjectSpec(s);
      } catch (e) {
        expect(e).toBeInstanceOf(InjectError);
        return (e as Error).message;
      }
      throw new Error(`accepted ${s}`);
    };
    expect(bad('read')).toMatch(/needs error=ERRNO or retval=VALUE/);
    expect(bad('read:error=EBOGUS')).toMatch(/invalid error "EBOGUS"/);
    expect(bad('read:error=0')).toMatch(/invalid error/);
    expect(bad('read:error=EIO:retval=1')).toMatch(/only one error= or retval=/);
    expect(bad('read:retval=-1')).toMatch(/invalid retval/);
    expect(bad('read:error=EIO:when=0')).toMatch(/out of range/);
    expect(bad('read:error=EIO:when=4..2')).toMatch(/out of range/);
    expect(bad('read:error=EIO:when=70000')).toMatch(/out of range/);
    expect(bad('read:error=EIO:when=x')).toMatch(/invalid when=/);
    expect(bad('nosuchcall:error=EIO')).toMatch(/invalid system call 'nosuchcall'/);
    expect(bad('read:signal=USR1')).toMatch(/not supported/);
  });
});

describe.each(ARCHES)('%s: tslinux run --inject and -e inject=', (arch) => {
  const cli = path.join(ROOT, 'bin', 'tslinux.js');
  const tslinux = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [cli, 'run', ...args], { encoding: 'utf8' });

  it('--inject tampers without tracing; the trace marks injected calls as strace does', () => {
    const quiet = tslinux('--inject', 'getuid:retval=12345:when=3', guestPath(arch, 'getuid_loop'), '5');
    expect(quiet.stdout).toBe('getuid calls: 5\nall equal: no\n');
    expect(quiet.stderr).toBe('');
    const traced = tslinux('-e', 'trace=getuid', '-e', 'inject=getuid:error=EPERM:when=2+2', guestPath(arch, 'getuid_loop'), '5');
    const lines = traced.stderr.trim().split('\n');
    expect(lines).toEqual([
      'getuid() = 0',
      'getuid() = -1 EPERM (Operation not permitted) (INJECTED)',
      'getuid() = 0',
      'getuid() = -1 EPERM (Operation not permitted) (INJECTED)',
      'getuid() = 0',
      'getuid() = -1 EPERM (Operation not permitted) (INJECTED)',
      '+++ exited with 0 +++',
    ]);
  });

  it('the guest handles the injected error as a real one', () => {
    const r = tslinux('--inject', 'read:error=EIO', debianBin(arch, 'busybox'), 'head', '-1', '/proc/self/status');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('head: /proc/self/status: Input/output error\n');
    const fault = tslinux('-e', 'trace=openat', '-e', 'fault=openat', debianBin(arch, 'busybox'), 'cat', '/proc/self/status');
    expect(fault.status).toBe(1);
    expect(fault.stderr).toContain('openat(AT_FDCWD, "/proc/self/status", O_RDONLY) = -1 ENOSYS (Function not implemented) (INJECTED)');
  });

  it('a bad spec is a usage error', () => {
    const r = tslinux('--inject', 'getuid:when=3', guestPath(arch, 'hello'));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tslinux: --inject getuid:when=3: inject: "getuid:when=3" needs error=ERRNO or retval=VALUE\n');
  });
});
