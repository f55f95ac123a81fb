// A Kernel from the library's RunOptions, without the optional layers
// (tracing, HTML reports, seccomp policies, hooks). src/index.ts adds those
// for the library; the CLI loads each only when an option asks for it
// (dynamic import), so `tslinux run` does not compile them at start-up.
import { Kernel, type KernelOptions, type StdioSpec } from './kernel/kernel.ts';
import type { RunOptions } from './index.ts';
import { ALL_SYSCALLS } from '../syscalls/index.ts';
import { netAllowPolicy } from './policy/net-allow.ts';
// The one place outside src/cpu/ that knows the engine: it picks Unicorn's
// for the processes' CPUs (the kernel only sees the port, src/arch/cpu.ts),
// and passes on the library check the CLI and the library API make.
import { unicornBackend } from './cpu/guest-engine.ts';
export { UnicornUnavailableError, loadUnicorn } from './cpu/unicorn-lib.ts';

/** The RunOptions that need no tracing, report or policy code. */
export type PlainRunOptions = Omit<RunOptions, 'trace' | 'traceStringSize' | 'hooks' | 'report' | 'policy' | 'allow' | 'deny' | 'recordProfile'>;

function toStdio(spec: number | Uint8Array | string | 'capture' | undefined, fallback: StdioSpec): StdioSpec {
  if (spec === undefined) return fallback;
  if (typeof spec === 'string' && spec !== 'capture') return Buffer.from(spec);
  return spec;
}

/** The kernel options every kind of run shares, from the plain RunOptions. */
export function plainKernelOptions(opts: Omit<PlainRunOptions, 'args' | 'argv0'>): Omit<KernelOptions, 'argv'> {
  return {
    // The entry point hands the declarations to the kernel (it does not import syscalls/).
    syscalls: ALL_SYSCALLS,
    cpu: unicornBackend,
    env: Array.isArray(opts.env) ? opts.env : Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    cwd: opts.cwd,
    mounts: opts.mounts,
    mountCwd: opts.mountCwd,
    root: opts.root,
    readOnly: opts.readOnly,
    overlay: opts.overlay,
    tmpfs: opts.tmpfs,
    maxTasks: opts.maxTasks,
    net: opts.net,
    netPolicy: opts.netAllow?.length ? netAllowPolicy(opts.netAllow) : null,
    memoryLimit: opts.memoryLimit,
    totalMemoryLimit: opts.totalMemoryLimit,
    timeoutMs: opts.timeoutMs,
    deterministic: opts.deterministic,
    seed: opts.seed,
    stdin: toStdio(opts.stdin, new Uint8Array(0)),
    stdout: toStdio(opts.stdout, 'capture'),
    stderr: toStdio(opts.stderr, 'capture'),
    maxOutput: opts.maxOutput,
    uid: opts.uid,
    gid: opts.gid,
    warnUnimplemented: opts.warnUnimplemented ?? false,
    warn: opts.warn,
  };
}

/** A kernel for one run, not started, with no observer or gate yet (set them with setObserver/setGate). */
export function createPlainKernel(program: string, opts: PlainRunOptions = {}): Kernel {
  return new Kernel({ ...plainKernelOptions(opts), program, argv: [opts.argv0 ?? program, ...(opts.args ?? [])] });
}
