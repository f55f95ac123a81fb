// `tslinux explain NAME`: what one syscall is, for someone reading a trace.
// Its number on each arch, its declared arguments and their kinds, what it
// returns, whether tslinux implements it (and the declaration's note), what
// Linux does (a short summary for the implemented calls, written from the
// man pages; `man 2 NAME` for the rest), its strace classes, and the file
// whose handler implements it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARCHES } from './arch/index.ts';
import { FAMILIES } from '../syscalls/index.ts';
import type { ArgKind, SyscallDecl } from '../syscalls/types.ts';
import { CLASS_NAMES, classMembers } from './trace/filter.ts';

/** What Linux does, in a sentence or two (see the man pages, section 2). */
export const SUMMARIES: Readonly<Record<string, string>> = {
  read: 'Reads up to count bytes from the file descriptor into buf, starting at the file offset, which advances by the number of bytes read; 0 means end of file.',
  write: 'Writes up to count bytes from buf to the file descriptor at its offset (at the end with O_APPEND) and returns how many were written.',
  pread64: 'Like read, but at the given offset; the file offset does not move.',
  pwrite64: 'Like write, but at the given offset; the file offset does not move.',
  readv: 'Reads into several buffers (an iovec array) in order, as one read would.',
  writev: 'Writes several buffers (an iovec array) in order, as one write; the data of one call is not interleaved with other writes.',
  preadv: 'readv at a given offset, leaving the file offset alone.',
  pwritev: 'writev at a given offset, leaving the file offset alone.',
  lseek: 'Moves the file offset of an open file description: to offset (SEEK_SET), relative to it (SEEK_CUR) or to the end (SEEK_END); returns the new offset.',
  close: 'Closes a file descriptor; the open file description goes away when its last descriptor does.',
  dup: 'Returns a new descriptor, the lowest free one, for the same open file description (shared offset and status flags, close-on-exec cleared).',
  dup2: 'Makes newfd refer to the same open file description as oldfd, closing what newfd referred to first.',
  dup3: 'Like dup2, but can set O_CLOEXEC on the new descriptor and fails when both descriptors are the same.',
  fcntl: 'Manipulates a descriptor: duplicates it (F_DUPFD), reads or sets its close-on-exec flag (F_GETFD/F_SETFD) or the status flags of its open file description (F_GETFL/F_SETFL), and more.',
  ioctl: 'Device-specific control requests on a descriptor, such as terminal settings (TCGETS) or the window size (TIOCGWINSZ); ENOTTY when the file does not support the request.',
  getdents64: 'Reads directory entries (inode, offset, length, type, name) from a directory descriptor into a buffer; 0 at the end of the directory.',
  openat: 'Opens (and with O_CREAT creates) the file at pathname, relative to dirfd when the path is relative, and returns a new descriptor.',
  open: 'Opens (and with O_CREAT creates) the file at pathname, relative to the working directory, and returns a new descriptor.',
  creat: 'Creates a file or truncates it, open for writing: open with O_CREAT|O_WRONLY|O_TRUNC.',
  fstat: 'Fills a struct stat with the type, mode, size, owner, times and more of an open file.',
  newfstatat: 'stat relative to a directory descriptor, with flags such as AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (fstatat in libc).',
  stat: 'Fills a struct stat for the file at pathname, following symbolic links.',
  lstat: 'Like stat, but describes a symbolic link itself rather than its target.',
  statx: 'An extensible stat: returns the fields the mask asks for (and what the filesystem has) in a struct statx, relative to a directory descriptor.',
  faccessat: 'Checks whether the calling process may read, write or execute a file (or whether it exists, F_OK), using the real user and group ids.',
  faccessat2: 'faccessat with flags: AT_EACCESS checks with the effective ids, AT_SYMLINK_NOFOLLOW does not follow a final link.',
  access: 'Checks whether the calling process may read, write or execute the file at pathname, using the real ids.',
  readlinkat: 'Reads the target of a symbolic link into buf, without a terminating NUL, relative to a directory descriptor.',
  readlink: 'Reads the target of a symbolic link into buf, without a terminating NUL; returns its length.',
  getcwd: 'Copies the absolute path of the working directory, NUL-terminated, into buf; ERANGE when it does not fit.',
  chdir: "Changes the process's working directory.",
  fchdir: "Changes the process's working directory to the directory open on a descriptor.",
  mkdirat: 'Creates a directory, relative to a directory descriptor, with mode masked by the umask.',
  mkdir: 'Creates a directory with mode masked by the umask.',
  unlinkat: 'Removes a name from a directory (or, with AT_REMOVEDIR, an empty directory), relative to a directory descriptor.',
  unlink: 'Removes a name from the filesystem; the file goes once no name and no open descriptor refer to it.',
  rmdir: 'Removes an empty directory.',
  symlinkat: 'Creates a symbolic link containing target at linkpath, relative to a directory descriptor.',
  symlink: 'Creates a symbolic link named linkpath that contains the text target.',
  linkat: 'Creates a new name (hard link) for an existing file, both paths relative to directory descriptors.',
  link: 'Creates a new name (hard link) for an existing file.',
  umask: "Sets the process's file mode creation mask and returns the previous one; the call cannot fail.",
  fchmodat: 'Changes the permission bits of a file, relative to a directory descriptor.',
  chmod: 'Changes the permission bits of the file at pathname.',
  fchmod: 'Changes the permission bits of an open file.',
  renameat2: 'Renames a file, both paths relative to directory descriptors; RENAME_NOREPLACE refuses to overwrite, RENAME_EXCHANGE swaps the two.',
  renameat: 'Renames a file, replacing the target atomically, with both paths relative to directory descriptors.',
  rename: 'Renames a file, atomically replacing an existing target.',
  brk: 'Moves the end of the data segment (the program break); returns the new break, or the current one when the request cannot be met.',
  mmap: 'Maps anonymous memory or a file into the address space with the given protection and sharing, and returns the address of the mapping.',
  munmap: 'Removes the mappings in an address range; later access there faults.',
  mprotect: 'Changes the protection (read, write, execute) of the pages in an address range.',
  mremap: 'Grows or shrinks a mapping, moving it when MREMAP_MAYMOVE allows; returns its (possibly new) address.',
  msync: 'Flushes changes made to a shared file mapping back to the file; ENOMEM when the range is not mapped.',
  madvise: 'Gives the kernel advice about how a range of memory will be used (MADV_DONTNEED discards private pages).',
  exit: 'Ends the calling thread with a status; in a single-threaded process that ends the process.',
  exit_group: "Ends every thread of the process; the low 8 bits of status become the parent's wait status.",
  getpid: "Returns the calling process's id (the thread group id).",
  getppid: "Returns the parent process's id.",
  gettid: "Returns the calling thread's id.",
  getpgrp: "Returns the calling process's process group id.",
  getpgid: 'Returns the process group id of a process (0: the caller).',
  getsid: 'Returns the session id of a process (0: the caller).',
  setpgid: 'Moves a process into a process group, or makes a new group.',
  setsid: 'Starts a new session and process group led by the caller, without a controlling terminal.',
  set_tid_address: 'Records an address at which the kernel writes 0 and wakes a futex when the thread exits; returns the caller\'s thread id.',
  set_robust_list: 'Registers the list of robust futexes the thread holds, which the kernel releases if the thread dies.',
  rseq: 'Registers a restartable-sequences area for the thread (per-CPU data without atomics).',
  prlimit64: 'Reads and/or sets a resource limit (soft and hard) of a process.',
  getrlimit: 'Reads a resource limit (soft and hard) of the calling process.',
  uname: 'Fills a struct utsname with the system name, host name, kernel release and version, and machine.',
  sysinfo: 'Fills a struct sysinfo with uptime, load averages, memory and swap totals, and the number of processes.',
  prctl: 'Process-wide settings by option: the thread name (PR_SET_NAME), the parent-death signal, dumpability, no_new_privs and more.',
  arch_prctl: 'x86-64 thread state: sets or reads the FS and GS segment bases (ARCH_SET_FS installs the TLS pointer).',
  fork: 'Creates a child process with a copy of the caller\'s memory and descriptors; returns the child\'s pid in the parent and 0 in the child.',
  vfork: 'Creates a child that shares the parent\'s memory; the parent is suspended until the child calls execve or exits.',
  clone: 'Creates a child process or thread; its flags choose what the child shares with the parent (memory, descriptors, signal handlers...).',
  execve: 'Replaces the program of the calling process with the one at pathname, with new argv and environment; it does not return on success.',
  execveat: 'execve for a program named relative to a directory descriptor (or, with AT_EMPTY_PATH, the descriptor itself).',
  wait4: 'Waits for a child to change state, returns its pid and stores its wait status (and resource usage).',
  waitid: 'Waits for a child to change state, selected by pid, group or any, and fills a siginfo_t describing it.',
  rt_sigreturn: 'Returns from a signal handler: restores the registers and signal mask saved in the signal frame.',
  rt_sigaction: 'Reads and/or sets the action for a signal: its handler, the signals blocked while it runs, and flags such as SA_RESTART.',
  rt_sigprocmask: "Reads and/or changes the calling thread's blocked signal mask (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK).",
  sigaltstack: 'Sets and/or reads the alternate stack that signal handlers with SA_ONSTACK run on.',
  kill: 'Sends a signal to a process, a process group, or every process the caller may signal.',
  tkill: 'Sends a signal to one thread (obsolete; see tgkill).',
  tgkill: 'Sends a signal to one thread of a given thread group.',
  clock_gettime: 'Reads a clock (CLOCK_REALTIME, CLOCK_MONOTONIC, CPU-time clocks...) into a struct timespec.',
  clock_getres: 'Reads the resolution of a clock.',
  gettimeofday: 'Reads the wall-clock time as seconds and microseconds since the epoch.',
  time: 'Returns the wall-clock time in seconds since the epoch (and stores it at tloc if not NULL).',
  nanosleep: 'Sleeps for a relative time; when a signal interrupts it, returns EINTR and the time left.',
  clock_nanosleep: 'Sleeps against a given clock, for a relative time or until an absolute time (TIMER_ABSTIME).',
  getuid: "Returns the calling process's real user id.",
  geteuid: "Returns the calling process's effective user id.",
  getgid: "Returns the calling process's real group id.",
  getegid: "Returns the calling process's effective group id.",
  getrandom: 'Fills a buffer with random bytes from the kernel\'s generator; GRND_NONBLOCK fails rather than wait for entropy.',
  pipe2: 'Creates a pipe and stores its read and write descriptors, with O_CLOEXEC, O_NONBLOCK or O_DIRECT if asked.',
  pipe: 'Creates a pipe: a one-way byte channel, with a read end and a write end descriptor.',
  socket: 'Creates an endpoint for communication of a domain (AF_INET, AF_UNIX...) and type, and returns its descriptor.',
  getpeername: 'Stores the address of the peer a socket is connected to.',
  getsockname: 'Stores the address a socket is bound to.',
  pause: 'Sleeps until a signal arrives whose action is to run a handler or end the process; returns -1 with EINTR after a handler ran.',
  rt_sigsuspend: 'Replaces the blocked signal mask with the given one and sleeps until a signal is delivered; the old mask comes back when it returns (always EINTR).',
  rt_sigpending: 'Stores the set of signals that are pending for the caller (raised while blocked).',
  rt_sigtimedwait: 'Waits, up to an optional timeout, for one of a set of (blocked) signals to be pending, takes it off the pending set and returns its number, with its siginfo.',
  rt_sigqueueinfo: 'Sends a signal with caller-supplied siginfo data to a process (what sigqueue uses).',
  rt_tgsigqueueinfo: 'Sends a signal with caller-supplied siginfo data to one thread of a thread group.',
  alarm: 'Arranges for SIGALRM to be sent after the given number of seconds (0 cancels) and returns the seconds left on the previous alarm.',
  setitimer: 'Arms or disarms an interval timer (ITIMER_REAL counts wall time and sends SIGALRM; the others count CPU time) and returns the previous setting.',
  getitimer: 'Reads the time left on an interval timer and its reload interval.',
  poll: 'Waits, up to a timeout in milliseconds, until one of a set of descriptors is ready for the requested events, and reports which.',
  ppoll: 'poll with a timespec timeout and a signal mask installed for the duration of the wait.',
  select: 'Waits, up to a timeout, until descriptors in the read, write or exception sets are ready; rewrites the sets to the ready ones.',
  pselect6: 'select with a timespec timeout and a signal mask installed for the duration of the wait.',
  epoll_create1: 'Creates an epoll instance (a descriptor that watches other descriptors for readiness).',
  epoll_ctl: 'Adds, changes or removes a descriptor in an epoll instance\'s interest list.',
  epoll_wait: 'Waits for events on an epoll instance and returns the ready descriptors\' events.',
  epoll_pwait: 'epoll_wait with a signal mask installed while it waits.',
  eventfd2: 'Creates a descriptor holding a 64-bit counter that write adds to and read takes (and resets), for event notification.',
  timerfd_create: 'Creates a timer that reports expirations through a descriptor instead of a signal.',
  timerfd_settime: 'Arms or disarms a timerfd timer.',
  epoll_create: 'Creates an epoll instance, like epoll_create1 with no flags; the size must be positive but is otherwise ignored.',
  epoll_pwait2: 'epoll_pwait with a timespec timeout instead of milliseconds.',
  eventfd: 'Creates an eventfd counter descriptor, like eventfd2 with no flags.',
  timerfd_gettime: 'Reads the time left on a timerfd timer.',
  signalfd4: 'Creates (or changes) a descriptor from which pending signals of a set can be read as records.',
  signalfd: 'signalfd4 without flags.',
  sched_yield: 'Gives up the CPU: the caller goes to the end of the run queue for its priority.',
  sched_getaffinity: 'Reads the set of CPUs a thread may run on.',
  sched_setaffinity: 'Sets the set of CPUs a thread may run on.',
  getrusage: 'Reads resource usage (CPU times, page faults, context switches...) of the caller, its children or the calling thread.',
  times: 'Stores the process\'s and its waited-for children\'s user and system CPU times, in clock ticks, and returns the ticks since an arbitrary point.',
  futex: 'Fast user-space locking: waits while a 32-bit word has an expected value (FUTEX_WAIT) or wakes waiters on it (FUTEX_WAKE), among other operations.',
  socketpair: 'Creates a pair of connected sockets (AF_UNIX) and stores both descriptors.',
  connect: 'Connects a socket to an address.',
  accept: 'Takes a pending connection off a listening socket and returns a new socket for it.',
  accept4: 'accept with flags (SOCK_NONBLOCK, SOCK_CLOEXEC) for the new socket.',
  bind: 'Gives a socket a local address.',
  listen: 'Marks a socket as accepting connections, with a backlog of pending ones.',
  sendto: 'Sends data on a socket (to an address, for connectionless sockets).',
  recvfrom: 'Receives data from a socket and, optionally, the sender\'s address.',
  sendmsg: 'Sends data from several buffers, with ancillary data (such as descriptors), on a socket.',
  recvmsg: 'Receives data into several buffers, with ancillary data, from a socket.',
  shutdown: 'Shuts down the reading and/or writing side of a connected socket.',
  setsockopt: 'Sets a socket option.',
  getsockopt: 'Reads a socket option.',
  truncate: 'Sets the size of the file at pathname, cutting it or extending it with zeros.',
  ftruncate: 'Sets the size of an open file, cutting it or extending it with zeros.',
  fsync: 'Flushes a file\'s data and metadata to its storage device.',
  fdatasync: 'Flushes a file\'s data (and the metadata needed to read it) to its storage device.',
  sync: 'Flushes all filesystem buffers to their devices.',
  syncfs: 'Flushes the buffers of the filesystem holding an open file.',
  fallocate: 'Allocates (or deallocates, or zeroes) disk space for a range of an open file.',
  fadvise64: 'Tells the kernel how a range of an open file will be accessed (sequentially, randomly, not again...).',
  readahead: 'Reads a range of a file into the page cache ahead of use.',
  utimensat: 'Sets a file\'s access and modification times with nanosecond precision (or to now), relative to a directory descriptor.',
  utimes: 'Sets a file\'s access and modification times with microsecond precision.',
  utime: 'Sets a file\'s access and modification times in seconds.',
  futimesat: 'Sets a file\'s access and modification times relative to a directory descriptor (obsolete; see utimensat).',
  chown: 'Changes the owner and group of the file at pathname, following symbolic links.',
  fchown: 'Changes the owner and group of an open file.',
  lchown: 'Changes the owner and group of a symbolic link itself.',
  fchownat: 'Changes the owner and group of a file relative to a directory descriptor.',
  mknod: 'Creates a filesystem node: a regular file, a device special file, a FIFO or a socket.',
  mknodat: 'mknod relative to a directory descriptor.',
  statfs: 'Fills a struct statfs with the type, block counts and limits of the filesystem holding a path.',
  fstatfs: 'Fills a struct statfs for the filesystem holding an open file.',
  flock: 'Takes or releases an advisory whole-file lock (shared or exclusive) on an open file.',
  sendfile: 'Copies bytes from one descriptor to another inside the kernel.',
  copy_file_range: 'Copies a range of one file into another without passing the data through user space.',
  splice: 'Moves data between a descriptor and a pipe without copying it through user space.',
  getdents: 'Reads directory entries in the older linux_dirent format (see getdents64).',
  setrlimit: 'Sets a resource limit (soft and hard) of the calling process.',
  setuid: 'Sets the user id(s) of the calling process.',
  setgid: 'Sets the group id(s) of the calling process.',
  setreuid: 'Sets the real and/or effective user ids.',
  setregid: 'Sets the real and/or effective group ids.',
  setresuid: 'Sets the real, effective and saved user ids.',
  setresgid: 'Sets the real, effective and saved group ids.',
  getresuid: 'Reads the real, effective and saved user ids.',
  getresgid: 'Reads the real, effective and saved group ids.',
  setfsuid: 'Sets the user id used for filesystem access checks.',
  setfsgid: 'Sets the group id used for filesystem access checks.',
  getgroups: 'Reads the supplementary group ids of the calling process.',
  setgroups: 'Sets the supplementary group ids of the calling process.',
  capget: 'Reads a thread\'s capability sets.',
  capset: 'Sets the calling thread\'s capability sets.',
  personality: 'Reads or sets the process execution domain (personality flags such as ADDR_NO_RANDOMIZE).',
  getcpu: 'Reports the CPU and NUMA node the calling thread is running on.',
  membarrier: 'Issues memory barriers on sets of threads (a way to make other threads\' memory accesses ordered).',
  memfd_create: 'Creates an anonymous file that lives in memory and returns a descriptor for it.',
  mincore: 'Reports, one byte per page, which pages of a range are resident in memory.',
  mlock: 'Locks a range of pages in memory so they are not paged out.',
  mlock2: 'Like mlock, with flags (MLOCK_ONFAULT locks pages only as they are touched).',
  munlock: 'Unlocks a range of pages locked with mlock.',
  mlockall: 'Locks all current and/or future pages of the process in memory.',
  munlockall: 'Unlocks all pages of the process.',
  close_range: 'Closes (or marks close-on-exec) every descriptor in a range.',
  openat2: 'openat with an extensible struct open_how, including path-resolution restrictions (RESOLVE_*).',
  pidfd_open: 'Returns a descriptor referring to a process, for polling its exit or sending it signals.',
  pidfd_send_signal: 'Sends a signal to the process a pidfd refers to.',
  clone3: 'clone with its arguments in an extensible struct clone_args.',
  getpriority: 'Reads the nice value of a process, process group or user.',
  ioprio_set: 'Sets the I/O scheduling class and level of a process, process group or user.',
  ioprio_get: 'Reads the I/O scheduling class and level of a process, process group or user.',
  setpriority: 'Sets the nice value of a process, process group or user.',
  sched_getscheduler: 'Reads the scheduling policy of a thread.',
  sched_setscheduler: 'Sets the scheduling policy and priority of a thread.',
  sched_getparam: 'Reads the scheduling priority of a thread.',
  sched_setparam: 'Sets the scheduling priority of a thread.',
  sched_get_priority_max: 'Returns the highest priority a scheduling policy allows.',
  sched_get_priority_min: 'Returns the lowest priority a scheduling policy allows.',
  seccomp: 'Installs a seccomp filter (a BPF program that decides about each later system call) or strict mode.',
  chroot: 'Changes the root directory of the calling process.',
  mount: 'Attaches a filesystem (or a bind mount, or changes mount flags) at a directory.',
  umount2: 'Detaches the filesystem mounted at a directory.',
  pivot_root: 'Makes a new filesystem the root and moves the old root elsewhere.',
  sethostname: 'Sets the host name of the UTS namespace.',
  setdomainname: 'Sets the NIS domain name of the UTS namespace.',
  reboot: 'Reboots, halts or powers off the system (or enables/disables Ctrl-Alt-Del).',
  inotify_init1: 'Creates an inotify instance, a descriptor from which filesystem change events are read.',
  inotify_add_watch: 'Adds (or changes) a watch for events on a path to an inotify instance.',
  inotify_rm_watch: 'Removes a watch from an inotify instance.',
  io_uring_setup: 'Creates an io_uring instance: submission and completion queues shared with the kernel for asynchronous I/O.',
  getxattr: 'Reads an extended attribute of the file at pathname.',
  setxattr: 'Sets an extended attribute of the file at pathname.',
  listxattr: 'Lists the extended attribute names of the file at pathname.',
  removexattr: 'Removes an extended attribute of the file at pathname.',
  lgetxattr: 'Like getxattr, of a symbolic link itself rather than what it points to.',
  fgetxattr: 'Like getxattr, of the file open on a descriptor.',
  lsetxattr: 'Like setxattr, on a symbolic link itself rather than what it points to.',
  fsetxattr: 'Like setxattr, on the file open on a descriptor.',
  llistxattr: 'Like listxattr, of a symbolic link itself rather than what it points to.',
  flistxattr: 'Like listxattr, of the file open on a descriptor.',
  lremovexattr: 'Like removexattr, on a symbolic link itself rather than what it points to.',
  fremovexattr: 'Like removexattr, on the file open on a descriptor.',
  unshare: 'Moves the calling process into new namespaces, or stops sharing resources (descriptors, fs information) it shared with others.',
  setns: 'Moves the calling thread into the namespace a descriptor refers to.',
  process_vm_readv: 'Copies data from another process\'s memory into the caller\'s.',
  process_vm_writev: 'Copies data from the caller\'s memory into another process\'s.',
  get_robust_list: 'Reads the robust futex list a thread registered.',
  tee: 'Duplicates data from one pipe into another without consuming it.',
  vmsplice: 'Maps or copies user memory into a pipe.',
  kcmp: 'Compares kernel resources (files, memory, ...) of two processes.',
  mq_open: 'Opens or creates a POSIX message queue.',
  shmget: 'Creates or finds a System V shared memory segment.',
  shmat: 'Attaches a System V shared memory segment to the address space.',
  shmdt: 'Detaches a System V shared memory segment.',
  shmctl: 'Controls a System V shared memory segment (status, removal...).',
  semget: 'Creates or finds a System V semaphore set.',
  semop: 'Performs operations on System V semaphores.',
  semctl: 'Controls a System V semaphore set.',
  msgget: 'Creates or finds a System V message queue.',
  msgsnd: 'Sends a message to a System V message queue.',
  msgrcv: 'Receives a message from a System V message queue.',
  msgctl: 'Controls a System V message queue.',
};

const KIND_HELP: Partial<Record<ArgKind, string>> = {
  fd: 'a file descriptor',
  dirfd: 'a directory descriptor, or AT_FDCWD',
  path: 'a NUL-terminated path the caller passes in',
  inbuf: 'bytes the caller passes in; the next argument is their length',
  outbuf: 'a buffer the kernel fills; the result is how much',
  outstr: 'a string the kernel writes',
  iovec_in: 'an array of buffers to read from',
  iovec_out: 'an array of buffers to fill',
  open_flags: 'O_* flags',
  at_flags: 'AT_* flags',
  mode: 'permission bits, shown in octal',
  access_mode: 'F_OK or R_OK|W_OK|X_OK',
  prot: 'PROT_* protection',
  map_flags: 'MAP_* flags',
  signal: 'a signal number',
  ptr: 'an address',
  size: 'a byte count',
  off: 'a file offset',
  whence: 'SEEK_SET, SEEK_CUR or SEEK_END',
  clockid: 'a clock id',
};

const RETURN_HELP: Record<string, string> = {
  int: 'int: 0 or a number, or -1 with errno',
  fd: 'fd: a new file descriptor, or -1 with errno',
  size: 'size: a byte count, or -1 with errno',
  addr: 'addr: an address (printed in hex), or -1 with errno',
  noreturn: 'noreturn: does not return to the caller',
  sigreturn: "sigreturn: returns to where the signal interrupted, with the registers (and mask) of the handler's frame",
};

interface Found {
  decl: SyscallDecl | undefined;
  family: string | undefined;
}

function findDecl(name: string): Found {
  for (const f of FAMILIES) {
    const d = f.syscalls.find((s) => s.name === name);
    if (d) return { decl: d, family: f.family };
  }
  return { decl: undefined, family: undefined };
}

function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
}

export class ExplainError extends Error {}

/** The explanation of one syscall, as text. */
export function explain(nameOrNumber: string, numberArch: 'x86_64' | 'aarch64' = 'x86_64'): string {
  let name = nameOrNumber;
  if (/^\d+$/.test(name)) {
    const n = ARCHES[numberArch].syscallNames[Number(name)];
    if (!n) throw new ExplainError(`no syscall number ${name} on ${numberArch}`);
    name = n;
  }
  const { decl, family } = findDecl(name);
  const arches = [ARCHES.x86_64, ARCHES.aarch64];
  const numbers = arches.map((a) => {
    const nr = a.syscallNumbers[name];
    return `${a.name} ${nr === undefined ? 'not on this arch' : nr}`;
  });
  if (!decl && arches.every((a) => a.syscallNumbers[name] === undefined)) {
    throw new ExplainError(`unknown syscall "${name}" (not in the x86_64 or aarch64 tables)`);
  }
  const lines: string[] = [name, ''];
  const field = (label: string, value: string): void => {
    lines.push(`${(label + ':').padEnd(11)}${value}`);
  };
  field('numbers', numbers.join(', '));
  if (decl) {
    const args = Object.entries(decl.args);
    if (args.length === 0) field('arguments', 'none');
    else {
      lines.push('arguments:');
      args.forEach(([argName, kind], i) => {
        const help = KIND_HELP[kind];
        lines.push(`  ${i + 1}. ${argName} (${kind}${help ? `: ${help}` : ''})`);
      });
    }
    field('returns', RETURN_HELP[decl.ret ?? 'int'] ?? decl.ret ?? 'int');
    field('status', `implemented${decl.note ? ` (${decl.note})` : ''}`);
    const file = `syscalls/${family}.ts`;
    const exists = fs.existsSync(path.join(repoRoot(), file));
    field('handler', `${file}${exists ? '' : ' (file not found)'} (family "${family}")`);
  } else {
    field('arguments', 'not declared in tslinux');
    field('status', 'missing: tslinux returns ENOSYS (and names the call once on stderr)');
    field('handler', 'none');
  }
  const classes = CLASS_NAMES.filter((c) => !c.startsWith('%%') && classMembers(c)?.has(name) && c !== '%net');
  field('classes', classes.length ? `${classes.join(' ')} (strace -e trace= classes)` : 'none');
  lines.push('');
  lines.push(wrap(SUMMARIES[name] ?? `See man 2 ${name}.`, 78));
  return lines.join('\n') + '\n';
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}

export const EXPLAIN_HELP = `usage: tslinux explain [--arch x86_64|aarch64] NAME|NUMBER

What a syscall is: its number on each arch, its arguments and their kinds,
what it returns, whether tslinux implements it, its strace classes, what
Linux does, and the file whose handler implements it. A NUMBER is looked
up in --arch's table (default x86_64).`;

/** The `explain` command: prints to stdout, returns the exit code. */
export function explainCommand(argv: string[]): number {
  let arch: 'x86_64' | 'aarch64' = 'x86_64';
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(EXPLAIN_HELP + '\n');
      return 0;
    }
    if (a === '--arch') {
      const v = argv[++i];
      if (v !== 'x86_64' && v !== 'aarch64') {
        process.stderr.write('tslinux: --arch is x86_64 or aarch64\n');
        return 2;
      }
      arch = v;
      continue;
    }
    names.push(a);
  }
  if (names.length === 0) {
    process.stderr.write('tslinux: explain needs a syscall name (see tslinux explain --help)\n');
    return 2;
  }
  let out = '';
  for (const n of names) {
    try {
      out += (out ? '\n' : '') + explain(n, arch);
    } catch (e) {
      if (!(e instanceof ExplainError)) throw e;
      process.stdout.write(out);
      process.stderr.write(`tslinux: ${e.message}\n`);
      return 2;
    }
  }
  process.stdout.write(out);
  return 0;
}
