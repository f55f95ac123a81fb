// Which calls the tracer shows: strace's `-e trace=SET` (names, classes such
// as %file, `/regex`, `all`, `none`, `!` negation) and `-e status=SET`
// (-z, -Z).
//
// Class membership. strace marks each syscall in its per-arch tables
// (src/linux/*/syscallent.h) with class flags: TF for %file, TD for %desc,
// TN for %network, TP for %process, TS for %signal, TI for %ipc, TM for
// %memory, TC for %creds, TCL for %clock, and TST/TLST/TFST/TSTA,
// TSF/TFSF/TSFA and PU for the stat, statfs and %pure classes. The lists
// below are those flags, by name (x86-64 and the generic table arm64 uses
// name their calls alike). On top of the lists, membership is derived from
// tslinux's own declarations, so a newly declared call joins its class
// without editing this file:
//   %file    any declared call with a `path` argument;
//   %desc    any declared call with an `fd` or `dirfd` argument or an fd
//            result, outside the `net` family (strace counts the socket
//            calls as %network only);
//   %memory  the `mm` family;   %network  the `net` family;
//   %signal  the `signal` family;   %creds  the `ids` family.
// %process and %clock come from the lists only: the `lifecycle` family has
// rt_sigreturn (strace: %signal) and clock_nanosleep takes a clock id but
// is in no class in strace.
import type { Arch } from '../arch/types.ts';
import { FAMILIES } from '../../syscalls/index.ts';
import { KINDS } from '../kernel/syscall-kinds.ts';
import { SYSCALL_TABLES } from '../../syscalls/table/index.ts';

const w = (s: string): readonly string[] => s.trim().split(/\s+/);

/** strace's class lists (syscallent.h flags), by name. */
export const STRACE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  file: w(`
    open stat lstat access execve truncate getcwd chdir rename mkdir rmdir creat link unlink symlink
    readlink chmod chown lchown utime mknod uselib statfs pivot_root chroot acct mount umount2 umount
    swapon swapoff quotactl setxattr lsetxattr getxattr lgetxattr listxattr llistxattr removexattr
    lremovexattr utimes inotify_add_watch openat mkdirat mknodat fchownat futimesat newfstatat unlinkat
    renameat linkat symlinkat readlinkat fchmodat faccessat utimensat fanotify_mark name_to_handle_at
    renameat2 execveat statx open_tree move_mount fsconfig fspick openat2 faccessat2 mount_setattr
    fchmodat2 setxattrat getxattrat listxattrat removexattrat`),
  desc: w(`
    read write open close fstat poll lseek mmap ioctl pread64 pwrite64 readv writev pipe select dup
    dup2 sendfile fcntl flock fsync fdatasync ftruncate getdents fchdir creat fchmod fchown fstatfs
    readahead fsetxattr fgetxattr flistxattr fremovexattr epoll_create getdents64 fadvise64 epoll_wait
    epoll_ctl mq_open mq_timedsend mq_timedreceive mq_notify mq_getsetattr inotify_init
    inotify_add_watch inotify_rm_watch openat mkdirat mknodat fchownat futimesat newfstatat unlinkat
    renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll splice tee sync_file_range
    vmsplice utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime
    timerfd_gettime signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev
    perf_event_open fanotify_init fanotify_mark name_to_handle_at open_by_handle_at syncfs setns
    finit_module renameat2 memfd_create kexec_file_load bpf execveat userfaultfd copy_file_range
    preadv2 pwritev2 statx pidfd_send_signal io_uring_setup io_uring_enter io_uring_register
    open_tree move_mount fsopen fsconfig fsmount fspick pidfd_open close_range openat2 pidfd_getfd
    faccessat2 process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset
    landlock_add_rule landlock_restrict_self memfd_secret process_mrelease cachestat fchmodat2`),
  network: w(`
    sendfile socket connect accept sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname
    getpeername socketpair setsockopt getsockopt getpmsg putpmsg accept4 recvmmsg sendmmsg`),
  process: w(`
    clone fork vfork execve exit wait4 kill rt_sigqueueinfo tkill exit_group tgkill waitid
    rt_tgsigqueueinfo execveat pidfd_send_signal clone3`),
  signal: w(`
    rt_sigaction rt_sigprocmask rt_sigreturn pause kill rt_sigpending rt_sigtimedwait rt_sigqueueinfo
    rt_sigsuspend sigaltstack tkill tgkill signalfd signalfd4 rt_tgsigqueueinfo pidfd_send_signal`),
  ipc: w(`shmget shmat shmctl semget semop semctl shmdt msgget msgsnd msgrcv msgctl semtimedop`),
  memory: w(`
    mmap mprotect munmap brk mremap msync mincore madvise shmat shmdt mlock munlock mlockall munlockall
    io_setup io_destroy remap_file_pages mbind set_mempolicy get_mempolicy migrate_pages move_pages
    mlock2 pkey_mprotect set_mempolicy_home_node map_shadow_stack mseal`),
  creds: w(`
    getuid getgid setuid setgid geteuid getegid setreuid setregid getgroups setgroups setresuid
    getresuid setresgid getresgid setfsuid setfsgid capget capset prctl`),
  clock: w(`gettimeofday adjtimex settimeofday time clock_settime clock_gettime clock_getres clock_adjtime`),
  stat: w(`stat`),
  lstat: w(`lstat`),
  fstat: w(`fstat newfstatat statx`),
  '%stat': w(`stat lstat fstat newfstatat statx`),
  statfs: w(`statfs`),
  fstatfs: w(`fstatfs`),
  '%statfs': w(`ustat statfs fstatfs`),
  pure: w(`getpid getuid getgid geteuid getegid getppid getpgrp gettid`),
};

/** Class names as `-e trace=` spells them (with the leading %), and their aliases. */
const CLASS_ALIASES: Readonly<Record<string, string>> = {
  '%file': 'file',
  '%desc': 'desc',
  '%network': 'network',
  '%net': 'network',
  '%process': 'process',
  '%signal': 'signal',
  '%ipc': 'ipc',
  '%memory': 'memory',
  '%creds': 'creds',
  '%clock': 'clock',
  '%stat': 'stat',
  '%lstat': 'lstat',
  '%fstat': 'fstat',
  '%%stat': '%stat',
  '%statfs': 'statfs',
  '%fstatfs': 'fstatfs',
  '%%statfs': '%statfs',
  '%pure': 'pure',
  // strace's deprecated spellings without the %.
  file: 'file',
  desc: 'desc',
  network: 'network',
  process: 'process',
  signal: 'signal',
  ipc: 'ipc',
  memory: 'memory',
};

let classCache: Map<string, ReadonlySet<string>> | null = null;

/** Every class's members: strace's list plus what tslinux's declarations add (see the top of this file). */
export function syscallClasses(): Map<string, ReadonlySet<string>> {
  if (classCache) return classCache;
  const m = new Map<string, Set<string>>();
  for (const [cls, names] of Object.entries(STRACE_CLASSES)) m.set(cls, new Set(names));
  for (const fam of FAMILIES) {
    for (const d of fam.syscalls) {
      const kinds = Object.values(d.args);
      if (kinds.includes('path')) m.get('file')!.add(d.name);
      if (fam.family !== 'net' && (kinds.some((k) => KINDS[k].fd !== undefined) || d.ret === 'fd')) m.get('desc')!.add(d.name);
      if (fam.family === 'mm') m.get('memory')!.add(d.name);
      if (fam.family === 'net') m.get('network')!.add(d.name);
      if (fam.family === 'signal') m.get('signal')!.add(d.name);
      if (fam.family === 'ids') m.get('creds')!.add(d.name);
    }
  }
  classCache = m;
  return m;
}

/** Members of a class given as -e trace= spells it (%file, %net, ...), or undefined for an unknown class. */
export function classMembers(spelling: string): ReadonlySet<string> | undefined {
  const cls = CLASS_ALIASES[spelling];
  return cls === undefined ? undefined : syscallClasses().get(cls);
}

/** The class spellings -e trace= accepts. */
export const CLASS_NAMES: readonly string[] = Object.keys(CLASS_ALIASES).filter((k) => k.startsWith('%'));

let knownNames: Set<string> | null = null;

/** Every syscall name of either arch, and every declared one. */
export function allSyscallNames(): ReadonlySet<string> {
  if (!knownNames) {
    knownNames = new Set(Object.values(SYSCALL_TABLES).flatMap((t) => Object.values(t.names)));
    for (const f of FAMILIES) for (const d of f.syscalls) knownNames.add(d.name);
  }
  return knownNames;
}

export class FilterError extends Error {}

/**
 * A parsed `-e trace=` set: names, or everything but them when negated.
 * Unknown syscalls (numbers with no name) are traced only by a negated set
 * (as `all` is `!none`), as in strace.
 */
export class SyscallSet {
  private readonly perArch = new WeakMap<Arch, Uint8Array>();

  constructor(
    readonly names: ReadonlySet<string>,
    readonly negated: boolean,
  ) {}

  static all(): SyscallSet {
    return new SyscallSet(new Set(), true);
  }

  get isAll(): boolean {
    return this.negated && this.names.size === 0;
  }

  has(name: string): boolean {
    return this.names.has(name) !== this.negated;
  }

  /** One byte per syscall number of `arch`: 1 when traced. Index length+1 is for unknown numbers. */
  forArch(arch: Arch): Uint8Array {
    let t = this.perArch.get(arch);
    if (!t) {
      let max = 0;
      for (const k of Object.keys(arch.syscallNames)) max = Math.max(max, Number(k));
      t = new Uint8Array(max + 2);
      for (let nr = 0; nr <= max; nr++) {
        const name = arch.syscallNames[nr];
        t[nr] = name === undefined ? (this.negated ? 1 : 0) : this.has(name) ? 1 : 0;
      }
      t[max + 1] = this.negated ? 1 : 0;
      this.perArch.set(arch, t);
    }
    return t;
  }

  /** Whether a call by number (and name, for numbers the table does not know) is traced. */
  traces(arch: Arch, nr: number, name: string): boolean {
    const t = this.forArch(arch);
    if (nr >= 0 && nr < t.length - 1) return t[nr] === 1;
    return this.has(name);
  }
}

/**
 * Parse a `-e trace=` value as strace does: leading `!`s invert the set;
 * `all`, `none`; tokens are names, classes (%file...), `/regex`, and a `?`
 * before a token makes it optional (no error when nothing matches).
 * The last -e trace= wins, as in strace.
 */
export function parseSyscallSet(spec: string): SyscallSet {
  let s = spec;
  let negated = false;
  while (s.startsWith('!')) {
    negated = !negated;
    s = s.slice(1);
  }
  if (s === 'none') return new SyscallSet(new Set(), negated);
  if (s === 'all') return new SyscallSet(new Set(), !negated);
  if (s === '') throw new FilterError(`invalid system call '${spec}'`);
  const names = new Set<string>();
  const known = allSyscallNames();
  for (let tok of s.split(',')) {
    let optional = false;
    while (tok.startsWith('?')) {
      optional = true;
      tok = tok.slice(1);
    }
    // strace's @64/@32/@x32 personality suffixes: tslinux runs 64-bit guests only.
    const at = tok.search(/@(64|32|x32)$/);
    if (at > 0) {
      if (!tok.endsWith('@64')) continue;
      tok = tok.slice(0, at);
    }
    let matched: Iterable<string> | undefined;
    if (tok === 'all') matched = known;
    else if (tok.startsWith('/')) {
      let re: RegExp;
      try {
        re = new RegExp(tok.slice(1));
      } catch {
        throw new FilterError(`invalid regular expression '${tok.slice(1)}'`);
      }
      matched = [...known].filter((n) => re.test(n));
    } else if (tok.startsWith('%') || CLASS_ALIASES[tok] !== undefined) {
      const members = classMembers(tok);
      if (!members) {
        if (optional) continue;
        throw new FilterError(`invalid system call '${tok}'`);
      }
      matched = members;
    } else if (known.has(tok)) matched = [tok];
    else if (/^\d+$/.test(tok)) {
      // A number: the call with that number on either arch.
      const n = Number(tok);
      matched = Object.values(SYSCALL_TABLES).flatMap((t) => (t.names[n] === undefined ? [] : [t.names[n]]));
    }
    const list = matched ? [...matched] : [];
    if (list.length === 0 && !optional) throw new FilterError(`invalid system call '${tok}'`);
    for (const n of list) names.add(n);
  }
  return new SyscallSet(names, negated);
}

// ---- -e status= ----------------------------------------------------------------------------

export const STATUS_VALUES = ['successful', 'failed', 'unfinished', 'unavailable', 'detached'] as const;
export type StatusValue = (typeof STATUS_VALUES)[number];

/** `-e status=SET`: `all`, `none`, `!` negation, and the values above. Returns null for "all". */
export function parseStatusSet(spec: string): ReadonlySet<StatusValue> | null {
  let s = spec;
  let negated = false;
  while (s.startsWith('!')) {
    negated = !negated;
    s = s.slice(1);
  }
  const chosen = new Set<StatusValue>();
  if (s === 'all') negated = !negated;
  else if (s !== 'none') {
    for (const tok of s.split(',')) {
      if (!(STATUS_VALUES as readonly string[]).includes(tok)) throw new FilterError(`invalid status '${tok}'`);
      chosen.add(tok as StatusValue);
    }
  }
  if (!negated) return chosen;
  const rest = new Set<StatusValue>(STATUS_VALUES.filter((v) => !chosen.has(v)));
  return rest.size === STATUS_VALUES.length ? null : rest;
}
