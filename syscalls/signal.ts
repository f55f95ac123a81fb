// Signal bookkeeping: rt_sigaction, rt_sigprocmask, sigaltstack. Delivery
// (frames, handlers running) comes with the processes and signals work; for
// now the kernel records what the guest asks so libc start-up works.
import { fail } from '../src/kernel/errors.ts';
import { family, type SyscallContext } from './types.ts';

const SIGKILL = 9;
const SIGSTOP = 19;
const NSIG = 64;
/** Signals that can never be blocked (see sigprocmask(2)). */
const UNBLOCKABLE = (1n << BigInt(SIGKILL - 1)) | (1n << BigInt(SIGSTOP - 1));

/** struct kernel_sigaction: handler, flags, restorer, mask (8 bytes each on 64-bit). */
function rtSigaction(ctx: SyscallContext, sig: number, act: number, oldact: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  if (sig < 1 || sig > NSIG) fail('EINVAL');
  if (act && (sig === SIGKILL || sig === SIGSTOP)) fail('EINVAL');
  const current = ctx.proc.sigactions.get(sig) ?? { handler: 0n, flags: 0n, restorer: 0n, mask: 0n };
  const next = act
    ? {
        handler: ctx.mem.readBigU64(act),
        flags: ctx.mem.readBigU64(act + 8),
        restorer: ctx.mem.readBigU64(act + 16),
        mask: ctx.mem.readBigU64(act + 24),
      }
    : null;
  if (oldact) {
    ctx.mem.writeU64(oldact, current.handler);
    ctx.mem.writeU64(oldact + 8, current.flags);
    ctx.mem.writeU64(oldact + 16, current.restorer);
    ctx.mem.writeU64(oldact + 24, current.mask);
  }
  if (next) ctx.proc.sigactions.set(sig, next);
  return 0;
}

function rtSigprocmask(ctx: SyscallContext, how: number, set: number, oldset: number, sigsetsize: number): number {
  if (sigsetsize !== 8) fail('EINVAL');
  const c = ctx.arch.c;
  const value = set ? ctx.mem.readBigU64(set) : null;
  if (value !== null && how !== c.SIG_BLOCK && how !== c.SIG_UNBLOCK && how !== c.SIG_SETMASK) fail('EINVAL');
  if (oldset) ctx.mem.writeU64(oldset, ctx.proc.sigmask);
  if (value !== null) {
    const mask = ctx.proc.sigmask;
    const next = how === c.SIG_BLOCK ? mask | value : how === c.SIG_UNBLOCK ? mask & ~value : value;
    ctx.proc.sigmask = next & ~UNBLOCKABLE;
  }
  return 0;
}

/** stack_t: ss_sp (8), ss_flags (4 + 4 padding), ss_size (8). */
function sigaltstack(ctx: SyscallContext, ss: number, oldss: number): number {
  const SS_ONSTACK = 1;
  const SS_DISABLE = 2;
  const SS_AUTODISARM = 1 << 31;
  const next = ss ? { sp: ctx.mem.readU64(ss), flags: ctx.mem.readI32(ss + 8), size: ctx.mem.readU64(ss + 16) } : null;
  if (next) {
    if (next.flags & ~(SS_DISABLE | SS_AUTODISARM | SS_ONSTACK)) fail('EINVAL');
    if (!(next.flags & SS_DISABLE) && next.size < ctx.arch.c.MINSIGSTKSZ) fail('ENOMEM');
  }
  if (oldss) {
    const cur = ctx.proc.altstack;
    ctx.mem.writeU64(oldss, cur.sp);
    ctx.mem.writeU32(oldss + 8, cur.flags);
    ctx.mem.writeU32(oldss + 12, 0);
    ctx.mem.writeU64(oldss + 16, cur.size);
  }
  if (next) ctx.proc.altstack = next.flags & SS_DISABLE ? { sp: 0, flags: SS_DISABLE, size: 0 } : { ...next, flags: next.flags & ~SS_ONSTACK };
  return 0;
}

export const signalFamily = family('signal', [
  {
    name: 'rt_sigaction',
    args: { signum: 'signal', act: 'struct_sigaction_in', oldact: 'struct_sigaction_out', sigsetsize: 'size' },
    handler: rtSigaction,
    note: 'bookkeeping only; handlers are not delivered yet',
  },
  {
    name: 'rt_sigprocmask',
    args: { how: 'sigprocmask_how', set: 'sigset_in', oldset: 'sigset_out', sigsetsize: 'size' },
    handler: rtSigprocmask,
  },
  { name: 'sigaltstack', args: { ss: 'ptr', old_ss: 'ptr' }, handler: sigaltstack },
]);
