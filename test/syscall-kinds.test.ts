// The argument-kind registry (src/kernel/syscall-kinds.ts) and the
// declarations that use it: every kind has a width, a trace decoder and a
// fuzz generator; every declaration names only registered kinds and says
// what is particular to it in forms the rest of tslinux can read (a
// register order per arch, labels, what a signal leaves in it).
import { describe, expect, it } from 'vitest';
import { ARCHES } from '../src/arch/index.ts';
import { UNDECLARED_SUMMARIES } from '../src/explain.ts';
import { convertArg } from '../src/kernel/dispatch.ts';
import { CLONE, CLONE_FLAGS, WAIT, WAIT_FLAGS, archFlags } from '../src/kernel/syscall-flags.ts';
import {
  INTERRUPTION_RESULT,
  KINDS,
  RETURN_KINDS,
  argLayout,
  handlerArgs,
  interruptionOf,
  isArgKind,
  knownValues,
  type ArgKind,
} from '../src/kernel/syscall-kinds.ts';
import { AddressSpace, PROT_READ, PROT_WRITE } from '../src/kernel/memory.ts';
import { formatArg, hasDecoder } from '../src/trace/decode.ts';
import { formatSyscall } from '../src/trace/strace.ts';
import type { SyscallContext } from '../syscalls/types.ts';
import { ALL_SYSCALLS } from '../syscalls/index.ts';
import { SYSCALL_TABLES } from '../syscalls/table/index.ts';
import { ARCH_NAMES } from './helpers/headless.ts';
import { FuzzWorld } from './helpers/syscall-fuzz.ts';

const KIND_NAMES = Object.keys(KINDS) as ArgKind[];
const decl = (name: string) => ALL_SYSCALLS.find((d) => d.name === name)!;

describe('argument kinds', () => {
  it.each(KIND_NAMES)('%s has a width, help, a trace decoder and a fuzz generator', (kind) => {
    const def = KINDS[kind];
    expect(['s32', 'u32', 's64', 'u64']).toContain(def.width);
    expect(def.help.length).toBeGreaterThan(0);
    expect(hasDecoder(kind), 'its show.as (or struct) has a decoder in src/trace').toBe(true);
    expect(FuzzWorld.drawsFor(kind), 'its fuzz.draw (or pointer contents) has a generator in the fuzz helper').toBe(true);
  });

  it('a pointer-sized kind is 64 bits; what the kernel writes is reached through a pointer', () => {
    for (const kind of KIND_NAMES) {
      const def = KINDS[kind];
      if (def.fuzz.draw === 'pointer' || def.fuzz.draw === 'path' || def.fuzz.draw === 'iovec') expect(def.width, kind).toBe('u64');
      if (def.written) expect(def.width, kind).toBe('u64');
    }
  });

  it('the dispatcher reads each width from the register as declared', () => {
    const words = Uint32Array.from([0, 0, 0xffff_fffe, 0x1234_5678]);
    const as = (kind: ArgKind): number => convertArg(words, 1, kind);
    expect(as('int')).toBe(-2); // signed 32: the upper half is ignored
    expect(as('uint')).toBe(0xffff_fffe);
    expect(as('long')).toBe(0x1234_5678 * 2 ** 32 + 0xffff_fffe);
    expect(as('clone_flags')).toBe(0x1234_5678 * 2 ** 32 + 0xffff_fffe);
  });

  it('flag kinds know their bits on both arches, for the tracer and the fuzzer alike', () => {
    for (const arch of ARCH_NAMES) {
      const t = archFlags(ARCHES[arch]);
      expect(knownValues('clone_flags', t)).toContain(CLONE.VM);
      expect(knownValues('wait_options', t)).toContain(WAIT.WNOHANG);
      expect(knownValues('open_flags', t)).toContain(ARCHES[arch].c.O_DIRECTORY);
      expect(knownValues('prot', t)).toContain(ARCHES[arch].c.PROT_EXEC);
    }
    // One table of clone flags (CLONE_DETACHED left out, as strace does) and of wait options.
    expect(CLONE_FLAGS.find(([n]) => n === 'CLONE_THREAD')?.[1]).toBe(CLONE.THREAD);
    expect(CLONE_FLAGS.some(([n]) => n === 'CLONE_DETACHED')).toBe(false);
    expect(WAIT_FLAGS.map(([n]) => n)).toContain('WSTOPPED');
  });
});

describe('declarations', () => {
  it('use only registered kinds and return kinds', () => {
    for (const d of ALL_SYSCALLS) {
      for (const [name, kind] of Object.entries(d.args)) expect(isArgKind(kind), `${d.name}(${name}: ${kind})`).toBe(true);
      if (d.ret !== undefined) expect(Object.hasOwn(RETURN_KINDS, d.ret), `${d.name} returns ${d.ret}`).toBe(true);
    }
  });

  it('every kind is used by some declaration, or waits for one (sockaddr_in: the sockets issue; ulong: a plain number)', () => {
    const used = new Set(ALL_SYSCALLS.flatMap((d) => Object.values(d.args)));
    expect(KIND_NAMES.filter((k) => !used.has(k)).sort()).toEqual(['sockaddr_in', 'ulong']);
  });

  it('have a summary; a summary for an undeclared call is not also on a declaration', () => {
    for (const d of ALL_SYSCALLS) expect(d.summary?.length ?? 0, d.name).toBeGreaterThan(0);
    expect(ALL_SYSCALLS.filter((d) => d.name in UNDECLARED_SUMMARIES).map((d) => d.name)).toEqual([]);
  });

  it('give each arch a register order that lists every argument once', () => {
    for (const d of ALL_SYSCALLS) {
      for (const arch of ARCH_NAMES) {
        if (SYSCALL_TABLES[arch].numbers[d.name] === undefined) continue;
        const layout = argLayout(d, arch);
        expect([...layout.names].sort(), `${d.name} on ${arch}`).toEqual(Object.keys(d.args).sort());
      }
    }
  });

  it("hand clone's arguments to its handler in one order on both arches (arm64 passes tls before child_tid)", () => {
    const clone = decl('clone');
    expect(argLayout(clone, 'x86_64').names).toEqual(['flags', 'stack', 'parent_tid', 'child_tid', 'tls']);
    expect(argLayout(clone, 'aarch64').names).toEqual(['flags', 'stack', 'parent_tid', 'tls', 'child_tid']);
    const [flags, stack, ptid, ctid, tls] = [0x11, 0x1000, 0x2000, 0x3000, 0x4000];
    expect(handlerArgs(argLayout(clone, 'x86_64'), [flags, stack, ptid, ctid, tls])).toEqual([flags, stack, ptid, ctid, tls]);
    expect(handlerArgs(argLayout(clone, 'aarch64'), [flags, stack, ptid, tls, ctid])).toEqual([flags, stack, ptid, ctid, tls]);
  });

  it('label only arguments they have, on flags they have', () => {
    for (const d of ALL_SYSCALLS) {
      for (const l of d.labelled ?? []) {
        expect(Object.hasOwn(d.args, l.arg), `${d.name}: ${l.arg}`).toBe(true);
        if (l.when) expect(Object.hasOwn(d.args, l.when.arg), `${d.name}: ${l.when.arg}`).toBe(true);
      }
    }
  });

  it('say what a signal leaves in a waiting call (signal(7))', () => {
    const code = (name: string, args: number[], arch = 'x86_64') => INTERRUPTION_RESULT[interruptionOf(decl(name), arch, args)];
    expect(code('read', [0, 0, 1])).toBe(-512);
    expect(code('pause', [])).toBe(-514);
    expect(code('clock_nanosleep', [0, 1, 0, 0])).toBe(-514);
    expect(code('clock_nanosleep', [0, 0, 0, 0])).toBe(-516);
    expect(code('epoll_pwait', [3, 0, 1, -1, 0, 8])).toBe(-4);
    for (const name of ['vfork', 'clone', 'clone3']) expect(interruptionOf(decl(name), 'x86_64', [])).toBe('resumed');
  });
});

// ---- what the declarations' kinds print (the calls strace decodes its own way) --------------

describe('the trace of calls whose kinds say what special cases used to', () => {
  const BASE = 0x10000;
  const ctxOn = (arch: (typeof ARCH_NAMES)[number]): SyscallContext => {
    const mem = new AddressSpace(ARCHES[arch].layout, null);
    mem.map(BASE, 0x10000, PROT_READ | PROT_WRITE);
    return { kernel: {} as never, proc: { pid: 42 } as never, fds: {} as never, task: {} as never, cpu: {} as never, mem, arch: ARCHES[arch] };
  };
  const line = (ctx: SyscallContext, name: string, args: number[], ret: number): string =>
    formatSyscall(ctx, { nr: 0, name, decl: decl(name), args, ret, startNs: 0n, endNs: 0n });

  it.each(ARCH_NAMES)('clone prints strace\'s labels in its order, whatever the register order (%s)', (arch) => {
    const ctx = ctxOn(arch);
    ctx.mem.writeU32(BASE, 1001);
    const flags = CLONE.VM | CLONE.FS | CLONE.FILES | CLONE.SIGHAND | CLONE.THREAD | CLONE.SYSVSEM | CLONE.SETTLS | CLONE.PARENT_SETTID | CLONE.CHILD_CLEARTID;
    const [stack, ctid, tls] = [0x7f00_0000, 0x7f10_0000, 0x7f20_0000];
    const regs = arch === 'x86_64' ? [flags, stack, BASE, ctid, tls] : [flags, stack, BASE, tls, ctid];
    expect(line(ctx, 'clone', regs, 1001)).toBe(
      'clone(child_stack=0x7f000000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[1001], tls=0x7f200000, child_tidptr=0x7f100000) = 1001',
    );
    expect(line(ctx, 'clone', [CLONE.VM | CLONE.VFORK | 17, 0, 0, 0, 0], 1002)).toBe('clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = 1002');
  });

  it('wait4, pipe2, getdents64, execve, msync, mremap and umask', () => {
    const ctx = ctxOn('x86_64');
    ctx.mem.writeU32(BASE, 3 << 8);
    expect(line(ctx, 'wait4', [-1, BASE, WAIT.WNOHANG | WAIT.__WALL, 0], 1001)).toBe('wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], WNOHANG|__WALL, NULL) = 1001');
    expect(line(ctx, 'wait4', [-1, BASE, WAIT.WNOHANG, 0], 0)).toBe('wait4(-1, 0x10000, WNOHANG, NULL) = 0');
    ctx.mem.writeU32(BASE + 0x10, 3);
    ctx.mem.writeU32(BASE + 0x14, 4);
    expect(line(ctx, 'pipe2', [BASE + 0x10, ARCHES.x86_64.c.O_CLOEXEC], 0)).toBe('pipe2([3, 4], O_CLOEXEC) = 0');
    // Two linux_dirent64 records of 24 bytes.
    ctx.mem.write(BASE + 0x100, Uint8Array.from({ length: 48 }, (_, i) => (i % 24 === 16 ? 24 : 0)));
    expect(line(ctx, 'getdents64', [3, BASE + 0x100, 4096], 48)).toBe('getdents64(3, 0x10100 /* 2 entries */, 4096) = 48');
    ctx.mem.write(BASE + 0x200, Buffer.from('/bin/sh\0-c\0'));
    ctx.mem.write(BASE + 0x300, u64s(BASE + 0x200, BASE + 0x208, 0));
    ctx.mem.write(BASE + 0x320, u64s(BASE + 0x208, 0));
    expect(line(ctx, 'execve', [BASE + 0x200, BASE + 0x300, BASE + 0x320], 0)).toBe('execve("/bin/sh", ["/bin/sh", "-c"], 0x10320 /* 1 vars */) = 0');
    expect(line(ctx, 'msync', [0x7f00_0000, 4096, 4], 0)).toBe('msync(0x7f000000, 4096, MS_SYNC) = 0');
    expect(line(ctx, 'mremap', [0x7f00_0000, 4096, 8192, 1, 0x7f10_0000], 0x7f00_0000)).toBe('mremap(0x7f000000, 4096, 8192, MREMAP_MAYMOVE) = 0x7f000000');
    expect(line(ctx, 'mremap', [0x7f00_0000, 4096, 8192, 3, 0x7f10_0000], 0x7f10_0000)).toBe(
      'mremap(0x7f000000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f100000) = 0x7f100000',
    );
    expect(line(ctx, 'umask', [0o22], 0o77)).toBe('umask(022) = 077');
  });

  it('a sockaddr as strace prints it (for the socket calls to come)', () => {
    const ctx = ctxOn('x86_64');
    const show = (bytes: number[]) => {
      ctx.mem.write(BASE, Uint8Array.from(bytes));
      return formatArg('sockaddr_in', BASE, ctx, { strSize: 32, ret: 0, next: bytes.length });
    };
    expect(show([2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])).toBe('{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}');
    expect(show([1, 0, ...Buffer.from('/tmp/sock\0')])).toBe('{sa_family=AF_UNIX, sun_path="/tmp/sock"}');
    const v6 = [10, 0, 0x1f, 0x90, 0, 0, 0, 0, ...Array(15).fill(0), 1, 0, 0, 0, 0];
    expect(show(v6)).toBe('{sa_family=AF_INET6, sin6_port=htons(8080), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}');
  });
});

function u64s(...vals: number[]): Uint8Array {
  const b = new Uint8Array(8 * vals.length);
  const v = new DataView(b.buffer);
  vals.forEach((x, i) => v.setBigUint64(8 * i, BigInt(x), true));
  return b;
}
