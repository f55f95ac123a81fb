// The names of the values and flag bits syscall arguments carry: CLONE_*,
// W*, O_*, MAP_*, SIGINT... Each table is defined once here, in the order
// strace's xlat tables list the names (so aliases print the way strace
// prints them: O_NONBLOCK, not O_NDELAY), and serves the handlers (clone's
// flag rules), the tracer (names) and the fuzzer (known bits). Tables that
// differ between the arches are built from the arch's constants, which are
// generated from the uapi headers (src/arch/generated-constants.ts).
import type { Arch } from '../arch/types.ts';
import { AARCH64_ONLY_CONSTANTS, X86_64_ONLY_CONSTANTS } from '../arch/generated-constants.ts';

/** Names and their bits (flags) or values, in the order they are tried and printed. */
export type Entries = readonly (readonly [string, number])[];

// ---- fixed tables (the same on both arches) ------------------------------------------

/** clone(2) flags above the exit signal (include/uapi/linux/sched.h). */
export const CLONE = {
  VM: 0x100,
  FS: 0x200,
  FILES: 0x400,
  SIGHAND: 0x800,
  PIDFD: 0x1000,
  PTRACE: 0x2000,
  VFORK: 0x4000,
  PARENT: 0x8000,
  THREAD: 0x1_0000,
  NEWNS: 0x2_0000,
  SYSVSEM: 0x4_0000,
  SETTLS: 0x8_0000,
  PARENT_SETTID: 0x10_0000,
  CHILD_CLEARTID: 0x20_0000,
  /** Ignored by the kernel; strace's table leaves it out, so it prints as a number. */
  DETACHED: 0x40_0000,
  UNTRACED: 0x80_0000,
  CHILD_SETTID: 0x100_0000,
  NEWCGROUP: 0x200_0000,
  NEWUTS: 0x400_0000,
  NEWIPC: 0x800_0000,
  NEWUSER: 0x1000_0000,
  NEWPID: 0x2000_0000,
  NEWNET: 0x4000_0000,
  IO: 0x8000_0000,
} as const;

/** The low byte of clone's flags: the signal the parent gets when the child exits. */
export const CLONE_EXIT_SIGNAL_MASK = 0xff;

/** clone's flags as strace names them, in its order (numeric; CLONE_DETACHED left out). */
export const CLONE_FLAGS: Entries = Object.entries(CLONE)
  .filter(([name]) => name !== 'DETACHED')
  .map(([name, bit]) => [`CLONE_${name}`, bit]);

/** wait4(2) and waitid(2) options (include/uapi/linux/wait.h). */
export const WAIT = {
  WNOHANG: 1,
  WUNTRACED: 2,
  /** waitid's name for WUNTRACED. */
  WSTOPPED: 2,
  WEXITED: 4,
  WCONTINUED: 8,
  WNOWAIT: 0x0100_0000,
  __WNOTHREAD: 0x2000_0000,
  __WALL: 0x4000_0000,
  __WCLONE: 0x8000_0000,
} as const;

/** strace's wait4_options, in its order (WUNTRACED is spelt WSTOPPED, its alias). */
export const WAIT_FLAGS: Entries = (['WNOHANG', 'WEXITED', 'WSTOPPED', 'WCONTINUED', 'WNOWAIT', '__WCLONE', '__WALL', '__WNOTHREAD'] as const).map(
  (name) => [name, WAIT[name]],
);

export const SEEK_NAMES: Entries = [
  ['SEEK_SET', 0],
  ['SEEK_CUR', 1],
  ['SEEK_END', 2],
  ['SEEK_DATA', 3],
  ['SEEK_HOLE', 4],
];

export const AT_FDCWD = -100;
export const DIRFD_NAMES: Entries = [['AT_FDCWD', AT_FDCWD]];

export const ARCH_PRCTL_CODES: Entries = [
  ['ARCH_SET_GS', 0x1001],
  ['ARCH_SET_FS', 0x1002],
  ['ARCH_GET_FS', 0x1003],
  ['ARCH_GET_GS', 0x1004],
  ['ARCH_GET_CPUID', 0x1011],
  ['ARCH_SET_CPUID', 0x1012],
  ['ARCH_GET_XCOMP_SUPP', 0x1021],
  ['ARCH_GET_XCOMP_PERM', 0x1022],
  ['ARCH_REQ_XCOMP_PERM', 0x1023],
  ['ARCH_GET_XCOMP_GUEST_PERM', 0x1024],
  ['ARCH_REQ_XCOMP_GUEST_PERM', 0x1025],
  ['ARCH_XCOMP_TILECFG', 0x1026],
  ['ARCH_MAP_VDSO_X32', 0x2001],
  ['ARCH_MAP_VDSO_32', 0x2002],
  ['ARCH_MAP_VDSO_64', 0x2003],
  ['ARCH_GET_UNTAG_MASK', 0x4001],
  ['ARCH_ENABLE_TAGGED_ADDR', 0x4002],
  ['ARCH_GET_MAX_TAG_BITS', 0x4003],
  ['ARCH_FORCE_TAGGED_SVA', 0x4004],
  ['ARCH_SHSTK_ENABLE', 0x5001],
  ['ARCH_SHSTK_DISABLE', 0x5002],
  ['ARCH_SHSTK_LOCK', 0x5003],
  ['ARCH_SHSTK_UNLOCK', 0x5004],
  ['ARCH_SHSTK_STATUS', 0x5005],
];

export const PRIO_WHICH: Entries = [
  ['PRIO_PROCESS', 0],
  ['PRIO_PGRP', 1],
  ['PRIO_USER', 2],
];

export const RENAME_FLAGS: Entries = [
  ['RENAME_NOREPLACE', 1],
  ['RENAME_EXCHANGE', 2],
  ['RENAME_WHITEOUT', 4],
];

export const GRND_FLAGS: Entries = [
  ['GRND_NONBLOCK', 1],
  ['GRND_RANDOM', 2],
  ['GRND_INSECURE', 4],
];

export const ACCESS_FLAGS: Entries = [
  ['R_OK', 4],
  ['W_OK', 2],
  ['X_OK', 1],
];

export const MS_FLAGS: Entries = [
  ['MS_ASYNC', 1],
  ['MS_INVALIDATE', 2],
  ['MS_SYNC', 4],
];

/** futex(2) commands, by number (the low 7 bits of futex_op). */
export const FUTEX_CMDS: readonly string[] = [
  'FUTEX_WAIT', 'FUTEX_WAKE', 'FUTEX_FD', 'FUTEX_REQUEUE', 'FUTEX_CMP_REQUEUE', 'FUTEX_WAKE_OP', 'FUTEX_LOCK_PI',
  'FUTEX_UNLOCK_PI', 'FUTEX_TRYLOCK_PI', 'FUTEX_WAIT_BITSET', 'FUTEX_WAKE_BITSET', 'FUTEX_WAIT_REQUEUE_PI', 'FUTEX_CMP_REQUEUE_PI', 'FUTEX_LOCK_PI2',
];
export const FUTEX_CMD_MASK = 127;
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_CLOCK_REALTIME = 256;

export const EPOLL_CTL_OPS: Entries = [
  ['EPOLL_CTL_ADD', 1],
  ['EPOLL_CTL_DEL', 2],
  ['EPOLL_CTL_MOD', 3],
];

export const TIMERFD_SETTIME_FLAGS: Entries = [
  ['TFD_TIMER_ABSTIME', 1],
  ['TFD_TIMER_CANCEL_ON_SET', 2],
];

export const FD_FLAGS: Entries = [['FD_CLOEXEC', 1]];

/** Address families a sockaddr names (the ones tslinux decodes the body of, and a few more by name). */
export const ADDRESS_FAMILIES: Entries = [
  ['AF_UNSPEC', 0],
  ['AF_UNIX', 1],
  ['AF_INET', 2],
  ['AF_NETLINK', 16],
  ['AF_PACKET', 17],
  ['AF_INET6', 10],
];

/** Socket types (the low 4 bits of socket(2)'s type; SOCK_NONBLOCK and SOCK_CLOEXEC come from the arch's O_*). */
export const SOCKET_TYPES: Entries = [
  ['SOCK_STREAM', 1],
  ['SOCK_DGRAM', 2],
  ['SOCK_RAW', 3],
  ['SOCK_RDM', 4],
  ['SOCK_SEQPACKET', 5],
  ['SOCK_DCCP', 6],
  ['SOCK_PACKET', 10],
];

export const SHUTDOWN_HOW: Entries = [
  ['SHUT_RD', 0],
  ['SHUT_WR', 1],
  ['SHUT_RDWR', 2],
];

/** MSG_* (include/linux/socket.h), in strace's order. */
export const MSG_FLAGS: Entries = [
  ['MSG_OOB', 0x1],
  ['MSG_PEEK', 0x2],
  ['MSG_DONTROUTE', 0x4],
  ['MSG_CTRUNC', 0x8],
  ['MSG_PROXY', 0x10],
  ['MSG_TRUNC', 0x20],
  ['MSG_DONTWAIT', 0x40],
  ['MSG_EOR', 0x80],
  ['MSG_WAITALL', 0x100],
  ['MSG_FIN', 0x200],
  ['MSG_SYN', 0x400],
  ['MSG_CONFIRM', 0x800],
  ['MSG_RST', 0x1000],
  ['MSG_ERRQUEUE', 0x2000],
  ['MSG_NOSIGNAL', 0x4000],
  ['MSG_MORE', 0x8000],
  ['MSG_WAITFORONE', 0x10000],
  ['MSG_BATCH', 0x40000],
  ['MSG_ZEROCOPY', 0x4000000],
  ['MSG_FASTOPEN', 0x20000000],
  ['MSG_CMSG_CLOEXEC', 0x40000000],
];

/** Protocols of socket(2) and option levels of setsockopt(2) (IPPROTO_*, SOL_*). */
/** AF_NETLINK's protocols (linux/netlink.h), as strace names socket(2)'s third argument. */
export const NETLINK_PROTOCOLS: Entries = [
  ['NETLINK_ROUTE', 0],
  ['NETLINK_UNUSED', 1],
  ['NETLINK_USERSOCK', 2],
  ['NETLINK_FIREWALL', 3],
  ['NETLINK_SOCK_DIAG', 4],
  ['NETLINK_NFLOG', 5],
  ['NETLINK_XFRM', 6],
  ['NETLINK_SELINUX', 7],
  ['NETLINK_ISCSI', 8],
  ['NETLINK_AUDIT', 9],
  ['NETLINK_FIB_LOOKUP', 10],
  ['NETLINK_CONNECTOR', 11],
  ['NETLINK_NETFILTER', 12],
  ['NETLINK_IP6_FW', 13],
  ['NETLINK_DNRTMSG', 14],
  ['NETLINK_KOBJECT_UEVENT', 15],
  ['NETLINK_GENERIC', 16],
  ['NETLINK_SCSITRANSPORT', 18],
  ['NETLINK_ECRYPTFS', 19],
  ['NETLINK_RDMA', 20],
  ['NETLINK_CRYPTO', 21],
  ['NETLINK_SMC', 22],
];

export const IPPROTOS: Entries = [
  ['IPPROTO_IP', 0],
  ['IPPROTO_ICMP', 1],
  ['IPPROTO_TCP', 6],
  ['IPPROTO_UDP', 17],
  ['IPPROTO_IPV6', 41],
  ['IPPROTO_ICMPV6', 58],
  ['IPPROTO_RAW', 255],
];

/** setsockopt's levels as strace names them. */
export const SOCKOPT_LEVELS: Entries = [
  ['SOL_IP', 0],
  ['SOL_SOCKET', 1],
  ['SOL_TCP', 6],
  ['SOL_UDP', 17],
  ['SOL_IPV6', 41],
];

/** Option names by level, as strace names them (SOL_SOCKET's come from the arch: see ArchFlags.sockopts). */
export const TCP_OPTS: Entries = [
  ['TCP_NODELAY', 1],
  ['TCP_MAXSEG', 2],
  ['TCP_CORK', 3],
  ['TCP_KEEPIDLE', 4],
  ['TCP_KEEPINTVL', 5],
  ['TCP_KEEPCNT', 6],
  ['TCP_SYNCNT', 7],
  ['TCP_LINGER2', 8],
  ['TCP_DEFER_ACCEPT', 9],
  ['TCP_WINDOW_CLAMP', 10],
  ['TCP_INFO', 11],
  ['TCP_QUICKACK', 12],
  ['TCP_CONGESTION', 13],
  ['TCP_USER_TIMEOUT', 18],
  ['TCP_FASTOPEN', 23],
  ['TCP_NOTSENT_LOWAT', 25],
];
export const IP_OPTS: Entries = [
  ['IP_TOS', 1],
  ['IP_TTL', 2],
  ['IP_HDRINCL', 3],
  ['IP_OPTIONS', 4],
  ['IP_RECVERR', 11],
  ['IP_MTU_DISCOVER', 10],
  ['IP_MULTICAST_TTL', 33],
  ['IP_MULTICAST_LOOP', 34],
  ['IP_BIND_ADDRESS_NO_PORT', 24],
];
export const IPV6_OPTS: Entries = [
  ['IPV6_UNICAST_HOPS', 16],
  ['IPV6_MULTICAST_HOPS', 18],
  ['IPV6_MULTICAST_LOOP', 19],
  ['IPV6_V6ONLY', 26],
  ['IPV6_RECVERR', 25],
  ['IPV6_TCLASS', 67],
];

// ---- tables built from each arch's constants --------------------------------------------

type Constants = Readonly<Record<string, number | bigint>>;

/** The tables of one arch (see archFlags). */
export interface ArchFlags {
  /** Every constant of the arch, including the ones only its headers define. */
  readonly c: Constants;
  readonly accessModes: Entries;
  readonly openFlags: Entries;
  readonly atFlags: Entries;
  readonly faccessatFlags: Entries;
  readonly statxSync: Entries;
  readonly prot: Entries;
  readonly mapTypes: Entries;
  readonly mapFlags: Entries;
  readonly mremapFlags: Entries;
  readonly statxMask: Entries;
  readonly statxAttrs: Entries;
  readonly saFlags: Entries;
  readonly signals: Entries;
  readonly sigprocmaskHow: Entries;
  readonly fcntlCmds: Entries;
  readonly clocks: Entries;
  readonly rlimits: Entries;
  readonly madvise: Entries;
  readonly ioctls: Entries;
  readonly itimers: Entries;
  /** epoll_create1's, eventfd2's and timerfd_create's flag words: O_CLOEXEC and O_NONBLOCK under their own names. */
  readonly epollCreateFlags: Entries;
  readonly eventfdFlags: Entries;
  readonly timerfdFlags: Entries;
  /** socket(2)'s type flags and accept4's flags: SOCK_CLOEXEC and SOCK_NONBLOCK (O_CLOEXEC and O_NONBLOCK). */
  readonly sockFlags: Entries;
  /** SOL_SOCKET option names (SO_*), as the arch numbers them. */
  readonly sockopts: Entries;
}

export function num(c: Constants, name: string): number | undefined {
  const v = c[name];
  return typeof v === 'number' ? v : undefined;
}

function isSingleBit(v: number): boolean {
  return v > 0 && v <= 0xffff_ffff && (v & (v - 1)) === 0;
}

/**
 * Flag entries: the names in `order` (strace's order) that the arch defines,
 * then any other single-bit constant matching `prefix` whose value is not
 * named yet (so newer flags still decode).
 */
function flagEntries(
  c: Constants,
  order: readonly (string | readonly [string, number | undefined])[],
  prefix?: RegExp,
  exclude?: RegExp,
): Entries {
  const out: [string, number][] = [];
  const seen = new Set<number>();
  for (const item of order) {
    const [name, value] = typeof item === 'string' ? [item, num(c, item)] : item;
    if (value === undefined || value === 0) continue;
    out.push([name, value >>> 0]);
    seen.add(value >>> 0);
  }
  if (prefix) {
    const extra = Object.entries(c)
      .filter(([n, v]) => prefix.test(n) && !exclude?.test(n) && typeof v === 'number' && isSingleBit(v) && !seen.has(v))
      .sort((a, b) => (a[1] as number) - (b[1] as number));
    for (const [n, v] of extra) {
      if (seen.has(v as number)) continue;
      out.push([n, v as number]);
      seen.add(v as number);
    }
  }
  return out;
}

/** Value entries for the constants matching `prefix`, one name per value: `aliases` lose to other names, otherwise the first (sorted) wins. */
function valueEntries(c: Constants, prefix: RegExp, opts: { exclude?: RegExp; aliases?: readonly string[]; min?: number } = {}): Entries {
  const m = new Map<number, string>();
  const names = Object.keys(c)
    .filter((n) => prefix.test(n) && !opts.exclude?.test(n))
    .sort();
  const aliases = new Set(opts.aliases ?? []);
  for (const pass of [false, true]) {
    for (const n of names) {
      if (aliases.has(n) !== pass) continue;
      const v = c[n];
      if (typeof v !== 'number' || (opts.min !== undefined && v < opts.min)) continue;
      if (!m.has(v)) m.set(v, n);
    }
  }
  return [...m].map(([v, n]) => [n, v]);
}

function constantsOf(arch: Arch): Constants {
  const extra = arch.name === 'x86_64' ? X86_64_ONLY_CONSTANTS : arch.name === 'aarch64' ? AARCH64_ONLY_CONSTANTS : {};
  return { ...(arch.c as Constants), ...extra };
}

function cloexecFlags(c: Constants, prefix: 'EPOLL' | 'EFD' | 'TFD'): Entries {
  const entries: [string, number][] = [];
  if (prefix === 'EFD') entries.push(['EFD_SEMAPHORE', 1]);
  entries.push([`${prefix}_CLOEXEC`, num(c, 'O_CLOEXEC')!]);
  if (prefix !== 'EPOLL') entries.push([`${prefix}_NONBLOCK`, num(c, 'O_NONBLOCK')!]);
  return entries;
}

function buildArchFlags(arch: Arch): ArchFlags {
  const c = constantsOf(arch);
  const oSync = num(c, 'O_SYNC') ?? 0;
  const oDsync = num(c, 'O_DSYNC') ?? 0;
  const oTmpfile = num(c, 'O_TMPFILE') ?? 0;
  const oDirectory = num(c, 'O_DIRECTORY') ?? 0;
  const open = flagEntries(
    c,
    [
      'O_CREAT', 'O_EXCL', 'O_NOCTTY', 'O_TRUNC', 'O_APPEND', 'O_NONBLOCK', 'O_SYNC',
      ['__O_SYNC', (oSync & ~oDsync) >>> 0 || undefined],
      'O_DSYNC', 'O_DIRECT', 'O_LARGEFILE', 'O_NOFOLLOW', 'O_NOATIME', 'O_CLOEXEC', 'O_PATH', 'O_TMPFILE',
      ['__O_TMPFILE', (oTmpfile & ~oDirectory) >>> 0 || undefined],
      'O_DIRECTORY', 'FASYNC',
    ],
    /^O_/,
    /^O_(ACCMODE|RDONLY|WRONLY|RDWR|NDELAY|FSYNC|RSYNC|TMPFILE_MASK)$/,
  );
  const atOrder = ['AT_SYMLINK_NOFOLLOW', 'AT_REMOVEDIR', 'AT_SYMLINK_FOLLOW', 'AT_NO_AUTOMOUNT', 'AT_EMPTY_PATH', 'AT_RECURSIVE'];
  return {
    c,
    accessModes: [
      ['O_RDONLY', 0],
      ['O_WRONLY', 1],
      ['O_RDWR', 2],
      ['O_ACCMODE', 3],
    ],
    openFlags: open,
    atFlags: flagEntries(c, atOrder, /^AT_/, /^AT_(FDCWD|EACCESS|STATX_)/),
    faccessatFlags: flagEntries(c, ['AT_SYMLINK_NOFOLLOW', 'AT_EACCESS', 'AT_EMPTY_PATH']),
    statxSync: valueEntries(c, /^AT_STATX_(SYNC_AS_STAT|FORCE_SYNC|DONT_SYNC)$/),
    prot: flagEntries(c, ['PROT_READ', 'PROT_WRITE', 'PROT_EXEC', 'PROT_SEM', 'PROT_GROWSDOWN', 'PROT_GROWSUP'], /^PROT_/),
    mapTypes: [
      ['MAP_FILE', 0],
      ['MAP_SHARED', 1],
      ['MAP_PRIVATE', 2],
      ['MAP_SHARED_VALIDATE', 3],
      ['MAP_DROPPABLE', 8],
    ],
    mapFlags: flagEntries(
      c,
      [
        'MAP_FIXED', 'MAP_ANONYMOUS', 'MAP_32BIT', 'MAP_ABOVE4G', 'MAP_NORESERVE', 'MAP_POPULATE', 'MAP_NONBLOCK', 'MAP_GROWSDOWN',
        'MAP_DENYWRITE', 'MAP_EXECUTABLE', 'MAP_LOCKED', 'MAP_STACK', 'MAP_HUGETLB', 'MAP_SYNC', 'MAP_UNINITIALIZED', 'MAP_FIXED_NOREPLACE',
      ],
      /^MAP_/,
      /^MAP_(HUGE_|TYPE$|SHARED|PRIVATE|FILE$|ANON$)/,
    ),
    mremapFlags: flagEntries(c, ['MREMAP_MAYMOVE', 'MREMAP_FIXED', 'MREMAP_DONTUNMAP'], /^MREMAP_/),
    statxMask: flagEntries(
      c,
      [
        'STATX_ALL', 'STATX_BASIC_STATS', 'STATX_TYPE', 'STATX_MODE', 'STATX_NLINK', 'STATX_UID', 'STATX_GID', 'STATX_ATIME',
        'STATX_MTIME', 'STATX_CTIME', 'STATX_INO', 'STATX_SIZE', 'STATX_BLOCKS', 'STATX_BTIME', 'STATX_MNT_ID', 'STATX_DIOALIGN',
      ],
      /^STATX_/,
      /^STATX_(ATTR_|_RESERVED)/,
    ),
    statxAttrs: flagEntries(c, [], /^STATX_ATTR_/),
    saFlags: flagEntries(c, ['SA_RESTORER', 'SA_ONSTACK', 'SA_RESTART', 'SA_NODEFER', 'SA_RESETHAND', 'SA_SIGINFO', 'SA_NOCLDSTOP', 'SA_NOCLDWAIT']),
    signals: valueEntries(c, /^SIG[A-Z0-9]+$/, { exclude: /^SIG(_|STKSZ$|RTMIN$|RTMAX$)/, aliases: ['SIGIOT', 'SIGPOLL', 'SIGUNUSED'] }),
    sigprocmaskHow: valueEntries(c, /^SIG_(BLOCK|UNBLOCK|SETMASK)$/),
    fcntlCmds: valueEntries(c, /^F_/, { exclude: /^F_(RDLCK|WRLCK|UNLCK|EXLCK|SHLCK|OWNER_|SEAL_|LINUX_SPECIFIC_BASE$)/ }),
    clocks: valueEntries(c, /^CLOCK_/),
    rlimits: valueEntries(c, /^RLIMIT_/),
    madvise: valueEntries(c, /^MADV_/),
    ioctls: valueEntries(c, /^(TC|TIOC|FIO)[A-Z0-9_]*$/, { exclude: /^TIOC(PKT_|SER_TEMT)/, aliases: ['TIOCINQ'], min: 0x100 }),
    itimers: valueEntries(c, /^ITIMER_/),
    epollCreateFlags: cloexecFlags(c, 'EPOLL'),
    eventfdFlags: cloexecFlags(c, 'EFD'),
    timerfdFlags: cloexecFlags(c, 'TFD'),
    sockFlags: [
      ['SOCK_CLOEXEC', num(c, 'O_CLOEXEC')!],
      ['SOCK_NONBLOCK', num(c, 'O_NONBLOCK')!],
    ],
    // SO_RCVTIMEO_OLD prints as SO_RCVTIMEO_OLD, as strace does; the aliases (SO_RCVTIMEO, SO_GET_FILTER...) lose.
    sockopts: valueEntries(c, /^SO_[A-Z0-9_]+$/, { aliases: ['SO_RCVTIMEO', 'SO_SNDTIMEO', 'SO_TIMESTAMP', 'SO_TIMESTAMPNS', 'SO_TIMESTAMPING', 'SO_GET_FILTER', 'SO_DETACH_BPF', 'SO_ATTACH_BPF'] }),
  };
}

const archFlagsCache = new WeakMap<Arch, ArchFlags>();

/** The flag and value tables of `arch`, built once. */
export function archFlags(arch: Arch): ArchFlags {
  let t = archFlagsCache.get(arch);
  if (!t) {
    t = buildArchFlags(arch);
    archFlagsCache.set(arch, t);
  }
  return t;
}

/** O_CREAT and O_TMPFILE's own bit: the open(2) flags that make the call take a mode argument. */
export function openModeBits(arch: Arch): number {
  const c = archFlags(arch).c;
  const creat = num(c, 'O_CREAT') ?? 0o100;
  const tmpfile = ((num(c, 'O_TMPFILE') ?? 0) & ~(num(c, 'O_DIRECTORY') ?? 0)) >>> 0;
  return (creat | tmpfile) >>> 0;
}
