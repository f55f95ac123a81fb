// --trace-format=json: one JSON object per line, for programs rather than
// people. A syscall:
//
//   {"type":"syscall","pid":1000,"tid":1000,"name":"openat","nr":257,
//    "args":[{"name":"dirfd","kind":"dirfd","text":"AT_FDCWD","raw":-100}, ...],
//    "ret":3,"ret_text":"3","errno":null,"start_ns":81234,"duration_ns":5120,
//    "note":null}
//
// `args` follows the declaration (undeclared calls: six `arg0`.. `arg5` in
// hex); `text` is what the text trace shows for the argument, or null for
// an argument strace leaves out (open's mode without O_CREAT). `raw` is the
// register value as the kernel converted it (a JS number: exact below
// 2^53). `ret` is the raw result (-errno on failure; for rt_sigreturn and a
// call a policy trapped, what the return register holds; null for exit
// calls), `errno` its name.
// `start_ns` counts from the kernel's start, `duration_ns` is the time in
// the handler. `note` says when a policy answered instead of the handler.
// A thread's end is {"type":"exit","pid":1000,"tid":1000,"status":0,
// "signal":null} (or "signal":"SIGSEGV", "core_dumped":true). A signal a
// thread takes is {"type":"signal","pid":1000,"tid":1000,"signal":"SIGCHLD",
// "siginfo":"{si_signo=SIGCHLD, si_code=CLD_EXITED, ...}"}, the siginfo as
// the text trace shows it.
import type { SyscallContext } from '../kernel/syscall-decl.ts';
import type { SyscallRecord } from '../kernel/dispatch.ts';
import { errnoName } from '../kernel/errors.ts';
import { decodeArgs, formatReturn, infoOf, returnedValue } from './strace.ts';

export interface JsonArg {
  name: string;
  kind: string;
  text: string | null;
  raw: number;
}

export interface JsonSyscall {
  type: 'syscall';
  pid: number;
  tid: number;
  name: string;
  nr: number;
  args: JsonArg[];
  ret: number | null;
  ret_text: string;
  errno: string | null;
  start_ns: number;
  duration_ns: number;
  note: string | null;
}

export interface JsonExit {
  type: 'exit';
  pid: number;
  tid: number;
  status: number | null;
  signal: string | null;
  core_dumped?: boolean;
}

export interface JsonSignal {
  type: 'signal';
  pid: number;
  tid: number;
  signal: string;
  siginfo: string;
}

function nsSince(a: bigint, b: bigint): number {
  const d = a - b;
  return Number(d < 0n ? 0n : d);
}

/** The JSON object for one call. */
export function syscallToJson(ctx: SyscallContext, rec: SyscallRecord, strSize: number, decodeFds: boolean, bootNs: bigint): JsonSyscall {
  let texts: (string | undefined)[];
  try {
    texts = decodeArgs(ctx, rec, { strSize, decodeFds });
  } catch {
    texts = [];
  }
  const args: JsonArg[] = [];
  if (rec.decl) {
    const info = infoOf(rec.decl, ctx.arch);
    for (let i = 0; i < info.names.length; i++) {
      args.push({ name: info.names[i]!, kind: info.kinds[i]!, text: texts[i] ?? null, raw: rec.args[i] ?? 0 });
    }
  } else {
    for (let i = 0; i < 6; i++) args.push({ name: `arg${i}`, kind: 'hex', text: texts[i] ?? null, raw: rec.args[i] ?? 0 });
  }
  // rt_sigreturn and trapped calls: the value the guest's return register holds.
  const ret = returnedValue(ctx, rec) ?? null;
  const failed = ret !== null && ret < 0 && ret > -4096;
  let retText: string;
  try {
    retText = formatReturn(ctx, { ...rec, note: undefined }, decodeFds);
  } catch {
    retText = String(rec.ret);
  }
  let pid = 0;
  let tid = 0;
  try {
    pid = ctx.proc.pid;
    tid = (ctx.task as { tid?: number } | undefined)?.tid ?? pid;
  } catch {
    // a stub context
  }
  return {
    type: 'syscall',
    pid,
    tid,
    name: rec.decl?.name ?? rec.name,
    nr: rec.nr,
    args,
    ret,
    ret_text: retText,
    errno: failed ? errnoName(-ret) : null,
    start_ns: nsSince(rec.startNs, bootNs),
    duration_ns: nsSince(rec.endNs, rec.startNs),
    note: rec.note ?? null,
  };
}
