// The kinds of syscall arguments and results: one registry, and each kind
// says everything the rest of tslinux needs to know about an argument of
// that kind:
//   - its register width and signedness, which the dispatcher converts the
//     raw 64-bit register by (an `int` argument ignores the upper half);
//   - how the tracer prints it (`show`), as strace prints it, and whether
//     the kernel writes it (`written`: strace decodes it on exit);
//   - what values a fuzzer draws for it (`fuzz`): open and closed fds,
//     pointers to mapped and unmapped memory, the kind's known flag bits...;
//   - a line of help (`tslinux explain`), and what -y does with an fd.
// `show` and `fuzz` are descriptions, not code: src/trace implements each
// `show.as` once (trace/kind-decoders.ts) and the fuzz helper each
// `fuzz.draw` once, both through tables whose type makes them cover every
// case; test/syscall-kinds.test.ts checks that every kind has all three and
// that every declaration uses only kinds registered here.
//
// A declaration (syscalls/*.ts) names a kind per argument, and may add what
// is particular to the call (see SyscallMeta): its summary, a per-arch
// register order, what a signal leaves in it, how strace lays it out.
import type { Arch } from '../arch/types.ts';
import type { SyscallDecl } from './syscall-decl.ts';
import type { ArchFlags, Entries } from './syscall-flags.ts';
import {
  ACCESS_FLAGS,
  ADDRESS_FAMILIES,
  ARCH_PRCTL_CODES,
  CLONE_FLAGS,
  DIRFD_NAMES,
  EPOLL_CTL_OPS,
  FUTEX_CMDS,
  FUTEX_CLOCK_REALTIME,
  FUTEX_PRIVATE_FLAG,
  GRND_FLAGS,
  MS_FLAGS,
  PRIO_WHICH,
  RENAME_FLAGS,
  SEEK_NAMES,
  TIMERFD_SETTIME_FLAGS,
  WAIT_FLAGS,
} from './syscall-flags.ts';

/** How the raw register is read: signed or unsigned, 32 or 64 bits. */
export type Width = 's32' | 'u32' | 's64' | 'u64';

/** A table of names: the same on every arch, or built from the arch's constants. */
export type Names = Entries | ((t: ArchFlags) => Entries);

/** The structs the tracer knows the layout of. */
export type StructName =
  | 'stat'
  | 'statx'
  | 'timespec'
  | 'utsname'
  | 'rlimit'
  | 'sigset'
  | 'sigaction'
  | 'siginfo'
  | 'itimerval'
  | 'itimerspec'
  | 'epoll_event'
  | 'epoll_events';

/**
 * How the tracer prints a value (strace's spelling). Plain numbers: `int`
 * (signed decimal), `uint`, `hex` (%#lx), `addr` (NULL or hex), `octal`
 * (0644). Named values and flag words print from `names`. The rest are
 * the few layouts that need code of their own.
 */
export type Show =
  | { readonly as: 'int' | 'uint' | 'hex' | 'addr' | 'octal' | 'signal' }
  /** One name per value; `unknown`: how a value with no name prints (decimal, hex, or hex with a comment such as SEEK_???). */
  | { readonly as: 'value'; readonly names: Names; readonly unknown?: 'dec' | 'hex' | `${string}???` }
  /** Names of bits, joined with |, leftover bits in hex; `zero` is what 0 prints as. */
  | { readonly as: 'flags'; readonly names: Names; readonly zero?: string }
  /** The access mode (O_RDONLY...) first, then the O_* flags. */
  | { readonly as: 'open_flags' }
  /** statx's flags: the sync type (AT_STATX_SYNC_AS_STAT) first, then the AT_* flags. */
  | { readonly as: 'statx_flags' }
  /** mmap's flags: the mapping type, the flags, the huge page size. */
  | { readonly as: 'map_flags' }
  /** clone's flags: CLONE_* names, then the exit signal in the low byte. */
  | { readonly as: 'clone_flags' }
  /** futex's operation: FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME. */
  | { readonly as: 'futex_op' }
  /** A NUL-terminated string. */
  | { readonly as: 'path' }
  /** Bytes the caller passes in; their length is the next argument. */
  | { readonly as: 'inbuf' }
  /** Bytes the kernel wrote, as many as the call returned; `hex`: every byte as \xNN (strace does so for random bytes). */
  | { readonly as: 'outbuf'; readonly hex?: boolean }
  /** A string the kernel wrote, as many bytes as the call returned, up to a NUL. */
  | { readonly as: 'outstr' }
  /** An iovec array; its length is the next argument. */
  | { readonly as: 'iovec' }
  /** A NULL-terminated array of string pointers, shown in full (execve's argv). */
  | { readonly as: 'argv' }
  /** A NULL-terminated array of string pointers, shown as a count (execve's envp). */
  | { readonly as: 'envp' }
  /** linux_dirent64 records the kernel wrote, as a count. */
  | { readonly as: 'dirents' }
  /** Two fds the kernel wrote: [3, 4]. */
  | { readonly as: 'pipe_fds' }
  /** A wait status the kernel wrote: [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]. */
  | { readonly as: 'wait_status' }
  /** A thread id the kernel wrote when the call made a task: [1001]. */
  | { readonly as: 'tid' }
  /** A struct sockaddr; its length is the next argument (or, written by the kernel, at the next argument). */
  | { readonly as: 'sockaddr' }
  /** A socklen_t the caller passes in and the kernel updates: [16]. */
  | { readonly as: 'socklen' }
  | { readonly as: 'struct'; readonly struct: StructName };

export type ShowAs = Show['as'];

/** How the argument right after a kind's value shows, decided by that value (strace does so per call). */
export type Governs =
  /** fcntl's third argument, by command (left out for commands that take none). */
  | 'fcntl_arg'
  /** open's mode, shown only when the flags create a file (O_CREAT, O_TMPFILE). */
  | 'open_mode'
  /** mremap's new address, shown only with MREMAP_MAYMOVE|MREMAP_FIXED. */
  | 'mremap_address'
  /** futex's operands: all the following arguments, as many as the operation uses. */
  | 'futex_operands';

/** What the memory behind a drawn pointer holds. */
export type PointerContents =
  /** A mix of small numbers, fds, -1, arena pointers and noise, as input structs get. */
  | 'words'
  /** A struct timespec from a set of edge cases. */
  | 'timespec'
  /** A timespec as timespec, but a valid one longer than 2 ms is cut to 0.1 ms: a headless kernel really sleeps. */
  | 'sleep'
  /** A buffer of 0xa5 bytes for the kernel to fill. */
  | 'buffer';

/**
 * What values a fuzzer draws for the kind (test/helpers/syscall-fuzz.ts
 * implements each `draw`). Number draws mix edge cases (0, -1, INT_MIN,
 * garbage in the upper half) with the kind's known values and bits (its
 * `show.names`, or `known`), and `typical` combinations real programs pass.
 */
export type Fuzz =
  | { readonly draw: 'fd' | 'dirfd' | 'path' | 'iovec' | 'hex' | 's64' }
  /** Byte counts; `cap`: no larger than this (an in-kernel copy of 2 GiB would fill the host's disk). */
  | { readonly draw: 'size'; readonly cap?: number }
  | { readonly draw: 'pointer'; readonly to: PointerContents }
  | { readonly draw: 's32' | 'u32'; readonly known?: (t: ArchFlags) => readonly number[]; readonly typical?: (t: ArchFlags) => readonly number[] };

export type FuzzDraw = Fuzz['draw'];

/** What -y does with an argument that names fds. */
export type FdUse =
  /** The fd's path. */
  | 'fd'
  /** The fd's path, or the working directory for AT_FDCWD. */
  | 'dirfd'
  /** The path of what the fd held before the call (dup2 closes it). */
  | 'newfd'
  /** The fd's path as last seen, which the call closes (forgotten afterwards). */
  | 'closes'
  /** The two fds the kernel wrote (pipe). */
  | 'pipe';

/** When the kernel writes an argument the caller passed a pointer for (strace prints it on exit, the address before). */
export type Written = 'on-success' | 'on-eintr';

export interface KindDef {
  readonly width: Width;
  readonly help: string;
  readonly show: Show;
  readonly fuzz: Fuzz;
  /** Absent: the caller passes it in. */
  readonly written?: Written;
  readonly fd?: FdUse;
  /** This value decides how the argument after it shows. */
  readonly governs?: Governs;
}

const bitsOf = (names: Names) => (t: ArchFlags): number[] => (typeof names === 'function' ? names(t) : names).map(([, v]) => v);

const int: KindDef = { width: 's32', help: 'an int', show: { as: 'int' }, fuzz: { draw: 's32' } };
const pointerIn = (help: string, struct: StructName, to: PointerContents = 'words'): KindDef => ({
  width: 'u64',
  help,
  show: { as: 'struct', struct },
  fuzz: { draw: 'pointer', to },
});
const pointerOut = (help: string, show: Show, written: Written = 'on-success'): KindDef => ({
  width: 'u64',
  help,
  show,
  fuzz: { draw: 'pointer', to: 'buffer' },
  written,
});
const named = (help: string, names: Names, unknown?: 'dec' | 'hex' | `${string}???`, width: Width = 's32'): KindDef => ({
  width,
  help,
  show: { as: 'value', names, unknown },
  fuzz: { draw: width === 's32' ? 's32' : 'u32' },
});
const flags = (help: string, names: Names, more: { zero?: string; typical?: (t: ArchFlags) => readonly number[] } = {}): KindDef => ({
  width: 'u32',
  help,
  show: { as: 'flags', names, zero: more.zero },
  fuzz: { draw: 'u32', typical: more.typical },
});

const KIND_DEFS = {
  // ---- numbers ----
  int,
  uint: { width: 'u32', help: 'an unsigned int', show: { as: 'uint' }, fuzz: { draw: 'u32' } },
  long: { width: 's64', help: 'a long', show: { as: 'int' }, fuzz: { draw: 's64' } },
  ulong: { width: 'u64', help: 'an unsigned long', show: { as: 'uint' }, fuzz: { draw: 'size' } },
  hex: { width: 'u64', help: 'a word shown in hex', show: { as: 'hex' }, fuzz: { draw: 'hex' } },
  size: { width: 'u64', help: 'a byte count', show: { as: 'uint' }, fuzz: { draw: 'size' } },
  // The fuzzer caps it: a 2 GiB copy (Linux's MAX_RW_COUNT) from a sparse file or /dev/zero would fill the host's disk.
  copy_size: {
    width: 'u64',
    help: 'a byte count the kernel copies from one file to another',
    show: { as: 'uint' },
    fuzz: { draw: 'size', cap: 1 << 20 },
  },
  off: { width: 's64', help: 'a file offset', show: { as: 'int' }, fuzz: { draw: 's64' } },
  mmap_offset: { width: 's64', help: 'a file offset, page-aligned (shown in hex)', show: { as: 'hex' }, fuzz: { draw: 's64' } },
  ptr: { width: 'u64', help: 'an address', show: { as: 'addr' }, fuzz: { draw: 'pointer', to: 'words' } },
  mode: {
    width: 'u32',
    help: 'permission bits, shown in octal',
    show: { as: 'octal' },
    fuzz: { draw: 'u32', known: () => [0, 1, 2, 4, 7, 0o644, 0o755, 0o4777, 0o170000, 0o100644] },
  },
  // ---- file descriptors ----
  fd: { ...int, help: 'a file descriptor', fuzz: { draw: 'fd' }, fd: 'fd' },
  newfd: { ...int, help: 'the file descriptor the call puts a file at; whatever it held is closed', fuzz: { draw: 'fd' }, fd: 'newfd' },
  close_fd: { ...int, help: 'a file descriptor the call closes', fuzz: { draw: 'fd' }, fd: 'closes' },
  dirfd: {
    width: 's32',
    help: 'a directory descriptor, or AT_FDCWD',
    show: { as: 'value', names: DIRFD_NAMES, unknown: 'dec' },
    fuzz: { draw: 'dirfd' },
    fd: 'dirfd',
  },
  // ---- named values ----
  signal: { width: 's32', help: 'a signal number', show: { as: 'signal' }, fuzz: { draw: 's32', known: () => Array.from({ length: 66 }, (_, i) => i) } },
  whence: { ...named('SEEK_SET, SEEK_CUR or SEEK_END', SEEK_NAMES, 'SEEK_???'), fuzz: { draw: 's32', known: () => [0, 1, 2, 3, 4, 5] } },
  fcntl_cmd: { ...named('an fcntl command (F_*); it decides what the next argument is', (t) => t.fcntlCmds, 'F_???'), governs: 'fcntl_arg' },
  clockid: named('a clock id', (t) => t.clocks),
  rlimit_resource: named('a resource (RLIMIT_*)', (t) => t.rlimits),
  arch_prctl_code: named('an arch_prctl code (ARCH_*)', ARCH_PRCTL_CODES),
  madvise_advice: named('advice (MADV_*)', (t) => t.madvise),
  sigprocmask_how: named('SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK', (t) => t.sigprocmaskHow),
  itimer_which: named('an interval timer (ITIMER_*)', (t) => t.itimers),
  prio_which: named('PRIO_PROCESS, PRIO_PGRP or PRIO_USER', PRIO_WHICH),
  epoll_ctl_op: { ...named('EPOLL_CTL_ADD, EPOLL_CTL_DEL or EPOLL_CTL_MOD', EPOLL_CTL_OPS), fuzz: { draw: 'u32' } },
  ioctl_request: {
    ...named('an ioctl request (TCGETS, FIONREAD...)', (t) => t.ioctls, 'hex', 'u32'),
    fuzz: { draw: 'u32', known: (t) => [...t.ioctls.map(([, v]) => v), 0x5401, 0x5402, 0x5413, 0x540f, 0x5410, 0x541b, 0x5421, 0x5451, 0x5450, 0x80045430] },
  },
  futex_op: {
    width: 's32',
    help: 'a futex operation (FUTEX_*); it decides which of the next arguments are used',
    show: { as: 'futex_op' },
    fuzz: {
      draw: 'u32',
      known: () => FUTEX_CMDS.flatMap((_, cmd) => [cmd, cmd | FUTEX_PRIVATE_FLAG, cmd | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME]),
    },
    governs: 'futex_operands',
  },
  // ---- flag words ----
  open_flags: {
    width: 'u32',
    help: 'the access mode and O_* flags; with O_CREAT or O_TMPFILE the next argument is the mode',
    show: { as: 'open_flags' },
    fuzz: {
      draw: 'u32',
      known: (t) => [...bitsOf((f) => f.accessModes)(t), ...bitsOf((f) => f.openFlags)(t)],
      typical: ({ c }) => {
        const o = (n: string): number => c[n] as number;
        return [
          o('O_RDONLY'), o('O_WRONLY') | o('O_CREAT') | o('O_TRUNC'), o('O_RDWR') | o('O_CREAT') | o('O_EXCL'), o('O_RDONLY') | o('O_DIRECTORY'),
          o('O_PATH'), o('O_TMPFILE') | o('O_RDWR'), o('O_RDONLY') | o('O_NOFOLLOW'), o('O_APPEND') | o('O_WRONLY'), o('O_CLOEXEC'), o('O_NONBLOCK') | o('O_RDWR'),
        ];
      },
    },
    governs: 'open_mode',
  },
  fd_flags: flags('O_CLOEXEC, O_NONBLOCK... for a new descriptor (no access mode)', (t) => t.openFlags),
  at_flags: flags('AT_* flags', (t) => t.atFlags, {
    typical: ({ c }) => {
      const a = (n: string): number => c[n] as number;
      return [0, a('AT_SYMLINK_NOFOLLOW'), a('AT_EMPTY_PATH'), a('AT_REMOVEDIR'), a('AT_SYMLINK_FOLLOW'), a('AT_EACCESS'), a('AT_EMPTY_PATH') | a('AT_SYMLINK_NOFOLLOW')];
    },
  }),
  faccessat_flags: flags('AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_EMPTY_PATH', (t) => t.faccessatFlags),
  statx_flags: {
    width: 'u32',
    help: 'the sync type (AT_STATX_*) and AT_* flags',
    show: { as: 'statx_flags' },
    fuzz: { draw: 'u32', known: (t) => [...bitsOf((f) => f.statxSync)(t), ...bitsOf((f) => f.atFlags)(t)] },
  },
  access_mode: { ...flags('F_OK or R_OK|W_OK|X_OK', ACCESS_FLAGS, { zero: 'F_OK' }), fuzz: { draw: 'u32', known: () => [0, 1, 2, 4, 7, 0o644, 0o755, 0o4777, 0o170000, 0o100644] } },
  prot: flags('PROT_* protection', (t) => t.prot, { zero: 'PROT_NONE', typical: () => [0, 1, 3, 5, 7] }),
  map_flags: {
    width: 'u32',
    help: 'the mapping type (MAP_SHARED, MAP_PRIVATE) and MAP_* flags',
    show: { as: 'map_flags' },
    fuzz: {
      draw: 'u32',
      known: (t) => [...bitsOf((f) => f.mapTypes)(t), ...bitsOf((f) => f.mapFlags)(t)],
      typical: ({ c }) => {
        const m = (n: string): number => c[n] as number;
        const [priv, shared, anon] = [m('MAP_PRIVATE'), m('MAP_SHARED'), m('MAP_ANONYMOUS')];
        return [priv | anon, shared | anon, priv, shared, priv | anon | m('MAP_FIXED'), priv | anon | m('MAP_FIXED_NOREPLACE'), priv | anon | m('MAP_GROWSDOWN'), shared | m('MAP_FIXED')];
      },
    },
  },
  mremap_flags: {
    ...flags('MREMAP_* flags; with MREMAP_MAYMOVE|MREMAP_FIXED the next argument is the new address', (t) => t.mremapFlags, {
      typical: ({ c }) => {
        const m = (n: string): number => c[n] as number;
        return [0, m('MREMAP_MAYMOVE'), m('MREMAP_MAYMOVE') | m('MREMAP_FIXED'), m('MREMAP_DONTUNMAP') | m('MREMAP_MAYMOVE')];
      },
    }),
    governs: 'mremap_address',
  },
  rename_flags: flags('RENAME_* flags', RENAME_FLAGS),
  statx_mask: flags('STATX_* fields wanted', (t) => t.statxMask),
  getrandom_flags: flags('GRND_* flags', GRND_FLAGS),
  msync_flags: flags('MS_ASYNC, MS_SYNC, MS_INVALIDATE', MS_FLAGS),
  wait_options: flags('W* options', WAIT_FLAGS),
  clone_flags: {
    width: 'u64',
    help: 'CLONE_* flags, and the signal the parent gets at the exit (low byte)',
    show: { as: 'clone_flags' },
    fuzz: { draw: 'u32', known: () => [...CLONE_FLAGS.map(([, bit]) => bit), 17 /* SIGCHLD */] },
  },
  epoll_create_flags: flags('EPOLL_CLOEXEC', (t) => t.epollCreateFlags),
  eventfd_flags: flags('EFD_* flags', (t) => t.eventfdFlags),
  timerfd_flags: flags('TFD_CLOEXEC, TFD_NONBLOCK', (t) => t.timerfdFlags),
  timerfd_settime_flags: flags('TFD_TIMER_* flags', TIMERFD_SETTIME_FLAGS),
  // ---- strings and buffers ----
  path: { width: 'u64', help: 'a NUL-terminated path the caller passes in', show: { as: 'path' }, fuzz: { draw: 'path' } },
  inbuf: {
    width: 'u64',
    help: 'bytes the caller passes in; the next argument is their length',
    show: { as: 'inbuf' },
    fuzz: { draw: 'pointer', to: 'words' },
  },
  outbuf: pointerOut('a buffer the kernel fills; the result is how much', { as: 'outbuf' }),
  random_bytes_out: pointerOut('a buffer the kernel fills with random bytes (shown in hex); the result is how much', { as: 'outbuf', hex: true }),
  outstr: pointerOut('a string the kernel writes; the result is its length', { as: 'outstr' }),
  iovec_in: { width: 'u64', help: 'an array of buffers to read from', show: { as: 'iovec' }, fuzz: { draw: 'iovec' } },
  iovec_out: { width: 'u64', help: 'an array of buffers to fill', show: { as: 'iovec' }, fuzz: { draw: 'iovec' }, written: 'on-success' },
  argv: { width: 'u64', help: 'a NULL-terminated array of argument strings', show: { as: 'argv' }, fuzz: { draw: 'pointer', to: 'words' } },
  envp: { width: 'u64', help: 'a NULL-terminated array of environment strings', show: { as: 'envp' }, fuzz: { draw: 'pointer', to: 'words' } },
  dirents_out: pointerOut('a buffer the kernel fills with directory entries', { as: 'dirents' }),
  pipe_fds_out: { ...pointerOut('two ints the kernel fills with the new read and write ends', { as: 'pipe_fds' }), fd: 'pipe' },
  wait_status_out: pointerOut("an int the kernel fills with the child's wait status", { as: 'wait_status' }),
  tid_out: pointerOut('an int the kernel fills with the new thread id', { as: 'tid' }),
  sockaddr_in: {
    width: 'u64',
    help: 'a socket address the caller passes in; the next argument is its length',
    show: { as: 'sockaddr' },
    fuzz: { draw: 'pointer', to: 'words' },
  },
  sockaddr_out: pointerOut('a buffer the kernel fills with a socket address; the next argument points at its length', { as: 'sockaddr' }),
  socklen_inout: {
    width: 'u64',
    help: 'a socklen_t: the buffer size going in, the address length coming out',
    show: { as: 'socklen' },
    fuzz: { draw: 'pointer', to: 'words' },
  },
  // ---- structs ----
  struct_stat_out: pointerOut('a struct stat the kernel fills', { as: 'struct', struct: 'stat' }),
  struct_statx_out: pointerOut('a struct statx the kernel fills', { as: 'struct', struct: 'statx' }),
  struct_timespec_in: pointerIn('a struct timespec', 'timespec', 'timespec'),
  sleep_timespec_in: pointerIn('how long to sleep (or, with TIMER_ABSTIME, until when): a struct timespec', 'timespec', 'sleep'),
  struct_timespec_out: pointerOut('a struct timespec the kernel fills', { as: 'struct', struct: 'timespec' }),
  remaining_timespec_out: pointerOut('a struct timespec the kernel fills with the time left when a signal interrupts the sleep', { as: 'struct', struct: 'timespec' }, 'on-eintr'),
  struct_utsname_out: pointerOut('a struct utsname the kernel fills', { as: 'struct', struct: 'utsname' }),
  struct_rlimit_in: pointerIn('a struct rlimit', 'rlimit'),
  struct_rlimit_out: pointerOut('a struct rlimit the kernel fills', { as: 'struct', struct: 'rlimit' }),
  sigset_in: pointerIn('a signal set', 'sigset'),
  sigset_out: pointerOut('a signal set the kernel fills', { as: 'struct', struct: 'sigset' }),
  struct_sigaction_in: pointerIn('a struct sigaction', 'sigaction'),
  struct_sigaction_out: pointerOut('a struct sigaction the kernel fills', { as: 'struct', struct: 'sigaction' }),
  struct_siginfo_in: pointerIn('a siginfo_t', 'siginfo'),
  struct_itimerval_in: pointerIn('a struct itimerval', 'itimerval'),
  struct_itimerval_out: pointerOut('a struct itimerval the kernel fills', { as: 'struct', struct: 'itimerval' }),
  struct_epoll_event_in: pointerIn('a struct epoll_event', 'epoll_event'),
  epoll_events_out: pointerOut('an array of struct epoll_event the kernel fills; the result is how many', { as: 'struct', struct: 'epoll_events' }),
  struct_itimerspec_in: pointerIn('a struct itimerspec', 'itimerspec'),
  struct_itimerspec_out: pointerOut('a struct itimerspec the kernel fills', { as: 'struct', struct: 'itimerspec' }),
} as const satisfies Readonly<Record<string, KindDef>>;

export type ArgKind = keyof typeof KIND_DEFS;

/** Every argument kind. */
export const KINDS: Readonly<Record<ArgKind, KindDef>> = KIND_DEFS;

export function isArgKind(k: string): k is ArgKind {
  return Object.hasOwn(KINDS, k);
}

/** The values and bits the kind is known to take on `t`'s arch: its `fuzz.known`, else the names it shows. */
export function knownValues(kind: ArgKind, t: ArchFlags): readonly number[] {
  const def = KINDS[kind];
  if ('known' in def.fuzz && def.fuzz.known) return def.fuzz.known(t);
  if ('names' in def.show) return bitsOf(def.show.names)(t);
  return [];
}

/** A kind's names table on `t`'s arch. */
export function namesOf(names: Names, t: ArchFlags): Entries {
  return typeof names === 'function' ? names(t) : names;
}

// ---- results ------------------------------------------------------------------------------------

export interface ReturnKindDef {
  readonly help: string;
  /** How the tracer prints a value (errors always print as -1 ENAME (text)). */
  readonly show: 'int' | 'hex' | 'octal';
  /** -y shows the path of the fd returned. */
  readonly fd?: true;
  /** The call ends its thread: it never returns (strace prints "= ?"). */
  readonly noReturn?: true;
}

const RETURN_KIND_DEFS = {
  int: { help: 'int: 0 or a number, or -1 with errno', show: 'int' },
  fd: { help: 'fd: a new file descriptor, or -1 with errno', show: 'int', fd: true },
  size: { help: 'size: a byte count, or -1 with errno', show: 'int' },
  addr: { help: 'addr: an address (printed in hex), or -1 with errno', show: 'hex' },
  mode: { help: 'mode: permission bits (printed in octal)', show: 'octal' },
  noreturn: { help: 'noreturn: does not return to the caller', show: 'int', noReturn: true },
  /** Restores the registers of a signal frame: the "result" is the restored return register, and strace shows the frame's mask. */
  sigreturn: { help: "sigreturn: returns to where the signal interrupted, with the registers (and mask) of the handler's frame", show: 'int' },
} as const satisfies Readonly<Record<string, ReturnKindDef>>;

export type ReturnKind = keyof typeof RETURN_KIND_DEFS;

/** What a call returns, for the tracer and `tslinux explain`. */
export const RETURN_KINDS: Readonly<Record<ReturnKind, ReturnKindDef>> = RETURN_KIND_DEFS;

// ---- what a declaration may add ----------------------------------------------------------------

/**
 * What a signal leaves in a call it interrupts while the call waits, as
 * each call's implementation in Linux returns it (signal(7),
 * "Interruption of system calls"; include/linux/errno.h):
 *   - restartsys: restarted after a handler with SA_RESTART, else EINTR (most calls);
 *   - restartnohand: restarted only when no handler ran (pause, select...);
 *   - restart_restartblock: restarted (with the time left) only when no handler ran (sleeps);
 *   - eintr: fails with EINTR at once (epoll_wait, rt_sigtimedwait);
 *   - resumed: not interrupted at all; the call carries on after the handler (a vfork parent's wait).
 */
export type Interruption = 'restartsys' | 'restartnohand' | 'restart_restartblock' | 'eintr' | 'resumed';

/** The errno-like value each interruption leaves in the call (what strace prints: "= ? ERESTARTSYS"). */
export const INTERRUPTION_RESULT: Readonly<Record<Interruption, number>> = {
  restartsys: -512,
  restartnohand: -514,
  restart_restartblock: -516,
  eintr: -4,
  resumed: 0,
};

/** An argument strace prints as `label=value`, and only when a flags argument has one of `bits` set. */
export interface LabelledArg {
  readonly arg: string;
  /** Default: the argument's name. */
  readonly label?: string;
  readonly when?: { readonly arg: string; readonly any: number };
}

/** What a declaration says besides its name, arguments and handler. */
export interface SyscallMeta {
  /** What Linux does, in a sentence or two, from the man page (`tslinux explain`; every declared call has one). */
  readonly summary?: string;
  /**
   * The register order on an arch whose ABI differs from the order of
   * `args`, by argument name (clone on aarch64 passes tls before
   * child_tid: CONFIG_CLONE_BACKWARDS). The handler always gets the
   * arguments in the order of `args`; traces and policies see registers.
   */
  readonly argOrder?: Readonly<Partial<Record<Arch['name'], readonly string[]>>>;
  /** What a signal leaves in the call while it waits (default restartsys); a function of the arguments (in `args` order) when that depends on them. */
  readonly interrupted?: Interruption | ((args: readonly number[]) => Interruption);
  /** strace prints the call as `label=value` pairs in this order (clone): the arguments left out are not shown. */
  readonly labelled?: readonly LabelledArg[];
}

// ---- a declaration's arguments on one arch ------------------------------------------------------

/** A declaration's arguments in register order on one arch. */
export interface ArgLayout {
  readonly names: readonly string[];
  readonly kinds: readonly ArgKind[];
  /** For each handler argument (in `args` order), the register it comes from; null when the two orders agree. */
  readonly fromRegister: readonly number[] | null;
}

const layouts = new WeakMap<SyscallDecl, Map<string, ArgLayout>>();

/** The arguments of `decl` in the register order of `arch` (see SyscallMeta.argOrder). */
export function argLayout(decl: SyscallDecl, arch: string): ArgLayout {
  let perArch = layouts.get(decl);
  if (!perArch) layouts.set(decl, (perArch = new Map()));
  let layout = perArch.get(arch);
  if (!layout) {
    const declared = Object.keys(decl.args);
    const order = decl.argOrder?.[arch as Arch['name']];
    const names = order ?? declared;
    if (order && (order.length !== declared.length || !declared.every((n) => order.includes(n)))) {
      throw new Error(`${decl.name}: argOrder.${arch} must list each argument once: ${order.join(', ')}`);
    }
    layout = {
      names,
      kinds: names.map((n) => decl.args[n]!),
      fromRegister: order ? declared.map((n) => order.indexOf(n)) : null,
    };
    perArch.set(arch, layout);
  }
  return layout;
}

/** Register values (in `arch`'s order) as the handler takes them (in `args` order). */
export function handlerArgs(layout: ArgLayout, registers: readonly number[]): number[] {
  return layout.fromRegister ? layout.fromRegister.map((r) => registers[r]!) : (registers as number[]);
}

/** What a signal leaves in `decl`'s call made with `registers` (in arch register order) when it interrupts its wait. */
export function interruptionOf(decl: SyscallDecl | undefined, arch: string, registers: readonly number[]): Interruption {
  const i = decl?.interrupted;
  if (i === undefined) return 'restartsys';
  return typeof i === 'function' ? i(handlerArgs(argLayout(decl!, arch), registers)) : i;
}
