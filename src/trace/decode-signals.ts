// Signals in the trace, as strace 6 prints them:
//   --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1001, si_uid=0, si_status=3, si_utime=0, si_stime=0} ---
//   --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10} ---
//   --- stopped by SIGTSTP ---
// (printsiginfo.c's printsiginfo, strace.c's print_stopped), and the result
// of a call a signal interrupted: "= ? ERESTARTSYS (To be restarted if
// SA_RESTART is set)" (syscall.c's syscall_exiting_trace).
import type { Arch } from '../arch/types.ts';
import { ARCHES } from '../arch/index.ts';
import type { SigInfo } from '../arch/sigframe.ts';
import { errnoName } from '../kernel/errors.ts';
import { hex, signalName } from './decode.ts';
import { ALL_SYSCALLS } from '../../syscalls/index.ts';
import type { SyscallDecl } from '../kernel/syscall-decl.ts';
import { INTERRUPTION_RESULT, interruptionOf } from '../kernel/syscall-kinds.ts';

/** siginfo_codes: the si_code values any signal can carry (Linux's generic numbering). */
const SI_CODES = new Map([
  [0, 'SI_USER'],
  [0x80, 'SI_KERNEL'],
  [-1, 'SI_QUEUE'],
  [-2, 'SI_TIMER'],
  [-3, 'SI_MESGQ'],
  [-4, 'SI_ASYNCIO'],
  [-5, 'SI_SIGIO'],
  [-6, 'SI_TKILL'],
  [-7, 'SI_DETHREAD'],
  [-60, 'SI_ASYNCNL'],
]);

const names = (list: string[]): Map<number, string> => new Map(list.map((n, i) => [i + 1, n]));

/** The kernel-generated codes of each signal, numbered from 1 (sigill_codes, sigsegv_codes...). */
const SIGNAL_CODES: Readonly<Record<number, Map<number, string>>> = {
  4: names(['ILL_ILLOPC', 'ILL_ILLOPN', 'ILL_ILLADR', 'ILL_ILLTRP', 'ILL_PRVOPC', 'ILL_PRVREG', 'ILL_COPROC', 'ILL_BADSTK']),
  5: names(['TRAP_BRKPT', 'TRAP_TRACE', 'TRAP_BRANCH', 'TRAP_HWBKPT', 'TRAP_UNK', 'TRAP_PERF']),
  7: names(['BUS_ADRALN', 'BUS_ADRERR', 'BUS_OBJERR', 'BUS_MCEERR_AR', 'BUS_MCEERR_AO']),
  8: new Map([
    ...names(['FPE_INTDIV', 'FPE_INTOVF', 'FPE_FLTDIV', 'FPE_FLTOVF', 'FPE_FLTUND', 'FPE_FLTRES', 'FPE_FLTINV', 'FPE_FLTSUB']),
    [14, 'FPE_FLTUNK'],
    [15, 'FPE_CONDTRAP'],
  ]),
  11: new Map([...names(['SEGV_MAPERR', 'SEGV_ACCERR', 'SEGV_BNDERR', 'SEGV_PKUERR']), [8, 'SEGV_MTEAERR'], [9, 'SEGV_MTESERR']]),
  17: names(['CLD_EXITED', 'CLD_KILLED', 'CLD_DUMPED', 'CLD_TRAPPED', 'CLD_STOPPED', 'CLD_CONTINUED']),
  29: names(['POLL_IN', 'POLL_OUT', 'POLL_MSG', 'POLL_ERR', 'POLL_PRI', 'POLL_HUP']),
  31: names(['SYS_SECCOMP', 'SYS_USER_DISPATCH']),
};

const SIGCHLD = 17;
const SIGPOLL = 29;
const SIGSYS = 31;
const CLD_EXITED = 1;

/** si_arch values (linux/audit.h) of the arches tslinux runs. */
const AUDIT_ARCHES: readonly [number, Arch][] = [
  [0xc000003e, ARCHES.x86_64],
  [0xc00000b7, ARCHES.aarch64],
];

function codeName(signo: number, code: number): string {
  return SI_CODES.get(code) ?? SIGNAL_CODES[signo]?.get(code) ?? String(code);
}

const num = (v: number | bigint | undefined): bigint => BigInt(v ?? 0);

/** PRINT_FIELD_PTR: NULL or hex. */
function ptr(v: number | bigint | undefined): string {
  const n = BigInt.asUintN(64, num(v));
  return n === 0n ? 'NULL' : hex(n);
}

/** si_int (the low 32 bits of the sigval, signed) and si_ptr (all 64). */
function sigval(info: SigInfo): string {
  const v = BigInt.asUintN(64, num(info.value));
  return `si_int=${BigInt.asIntN(32, v)}, si_ptr=${ptr(v)}`;
}

function source(info: SigInfo): string {
  return `si_pid=${info.pid ?? 0}, si_uid=${info.uid ?? 0}`;
}

/** si_syscall=__NR_umask, named in the table of the arch si_arch says. */
function syscallField(info: SigInfo): string {
  const arch = AUDIT_ARCHES.find(([a]) => a === info.arch)?.[1];
  const name = arch?.syscallNames[info.syscall ?? -1];
  return name ? `__NR_${name}` : String(info.syscall ?? 0);
}

function auditArch(v: number | undefined): string {
  if (v === 0xc000003e) return 'AUDIT_ARCH_X86_64';
  if (v === 0xc00000b7) return 'AUDIT_ARCH_AARCH64';
  return hex(v ?? 0);
}

/** The fields after si_code (print_si_info). */
function siginfoFields(arch: Arch, info: SigInfo): string[] {
  const out: string[] = [];
  if (info.errno) out.push(`si_errno=${errnoName(info.errno)}`);
  const signo = info.signo;
  const code = info.code;
  if (code <= 0) {
    // Sent by a process (SI_FROMUSER).
    switch (code) {
      case -2: // SI_TIMER
        out.push(`si_timerid=${hex(info.tid ?? 0)}`, `si_overrun=${info.overrun ?? 0}`, sigval(info));
        break;
      case -5: // SI_SIGIO
        out.push(`si_band=${num(info.band)}`, `si_fd=${info.fd ?? 0}`);
        break;
      case 0: // SI_USER
      case -6: // SI_TKILL
        out.push(source(info));
        break;
      default:
        out.push(source(info));
        if (num(info.value) !== 0n) out.push(sigval(info));
    }
    return out;
  }
  switch (signo) {
    case SIGCHLD:
      out.push(source(info));
      out.push(`si_status=${code === CLD_EXITED ? (info.status ?? 0) : signalName(arch, info.status ?? 0)}`);
      out.push(`si_utime=${num(info.utime)}`, `si_stime=${num(info.stime)}`);
      break;
    case 4: // SIGILL
    case 5: // SIGTRAP
    case 7: // SIGBUS
    case 8: // SIGFPE
    case 11: // SIGSEGV
      out.push(`si_addr=${ptr(info.addr)}`);
      break;
    case SIGPOLL:
      if (code >= 1 && code <= 6) out.push(`si_band=${num(info.band)}`, `si_fd=${info.fd ?? 0}`);
      break;
    case SIGSYS:
      out.push(`si_call_addr=${ptr(info.callAddr)}`, `si_syscall=${syscallField(info)}`, `si_arch=${auditArch(info.arch)}`);
      break;
    default:
      if (info.pid || info.uid) out.push(source(info));
      if (num(info.value) !== 0n) out.push(sigval(info));
  }
  return out;
}

/** A siginfo_t as strace prints it: {si_signo=SIGUSR1, si_code=SI_USER, si_pid=1000, si_uid=0}. */
export function formatSiginfo(arch: Arch, info: SigInfo): string {
  if (!info.signo) return '{}';
  const head = [`si_signo=${signalName(arch, info.signo)}`, `si_code=${codeName(info.signo, info.code)}`];
  return `{${[...head, ...siginfoFields(arch, info)].join(', ')}}`;
}

/** The line for a signal taken by a task: --- SIGUSR1 {si_signo=SIGUSR1, ...} --- */
export function signalLine(arch: Arch, info: SigInfo): string {
  return `--- ${signalName(arch, info.signo)} ${formatSiginfo(arch, info)} ---`;
}

/** The line after a stop signal's default action: --- stopped by SIGTSTP --- */
export function stoppedLine(arch: Arch, signo: number): string {
  return `--- stopped by ${signalName(arch, signo)} ---`;
}

// ---- calls a signal interrupts ------------------------------------------------------------

/** The kernel's restart codes (include/linux/errno.h), as strace prints a call that returned one. */
export const RESTART_RESULTS: ReadonlyMap<number, string> = new Map([
  [512, 'ERESTARTSYS (To be restarted if SA_RESTART is set)'],
  [513, 'ERESTARTNOINTR (To be restarted)'],
  [514, 'ERESTARTNOHAND (To be restarted if no handler)'],
  [516, 'ERESTART_RESTARTBLOCK (Interrupted by signal)'],
]);

const SYSCALLS = new Map(ALL_SYSCALLS.map((d) => [d.name, d]));

/**
 * What a blocked call returns when a signal interrupts it, as a negative
 * errno (the restart code each call's implementation in Linux returns; see
 * signal(7), "Interruption of system calls"): its declaration says
 * (SyscallMeta.interrupted), -ERESTARTSYS when it does not. `call` is the
 * declaration, or a name to look one up by; `args` are in register order.
 */
export function interruptedResult(call: SyscallDecl | string | undefined, args: readonly number[], arch = 'x86_64'): number {
  const decl = typeof call === 'string' ? SYSCALLS.get(call) : call;
  return INTERRUPTION_RESULT[interruptionOf(decl, arch, args)];
}
