// Process, identity, signal, time, randomness, pipe and socket syscalls
// (syscalls/process.ts, ids.ts, signal.ts, time.ts, misc.ts, pipe.ts,
// net.ts) through a headless kernel on both arches. Results are what the
// guest would see: a value >= 0, or -errno.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROT_READ, PROT_WRITE } from '../src/kernel/memory.ts';
import type { Process } from '../src/kernel/process.ts';
import { WouldBlock } from '../src/kernel/wait.ts';
import { timeFamily } from '../syscalls/time.ts';
import { ARCH_NAMES, headless, type Headless, type HeadlessOptions } from './helpers/headless.ts';

const SIGHUP = 1;
const SIGKILL = 9;
const SIGUSR1 = 10;
const SIGSEGV = 11;
const SIGUSR2 = 12;
const SIGPIPE = 13;
const SIGTERM = 15;
const SIGCHLD = 17;
const SIGCONT = 18;
const SIGSTOP = 19;
const SIGURG = 23;
const SIGWINCH = 28;
const SIGRTMIN = 34;
const RLIMIT_CORE = 4;
const RLIMIT_STACK = 3;
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const bit = (sig: number) => 1n << BigInt(sig - 1);

const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;

const SA_SIGINFO = 4n;
const SA_UNSUPPORTED = 0x400n;
const SA_RESTORER = 0x0400_0000n;
const SA_ONSTACK = 0x0800_0000n;
const SA_RESTART = 0x1000_0000n;
const SS_ONSTACK = 1;
const SS_DISABLE = 2;
const SS_AUTODISARM = 1 << 31;

const GRND_NONBLOCK = 1;
const GRND_RANDOM = 2;
const GRND_INSECURE = 4;

const NS = 1_000_000_000;

describe.each(ARCH_NAMES)('syscalls on %s', (arch) => {
  let t: Headless;
  const make = (opts: HeadlessOptions = {}) => {
    t?.cleanup();
    t = headless(arch, { uid: 1000, gid: 1000, ...opts });
    return t;
  };
  beforeEach(() => void make());
  afterEach(() => t.cleanup());

  /**
   * A second process, a child of the first as fork would make it (same group
   * and session). The headless kernel cannot fork without a CPU, so this
   * uses the kernel's own (private) process constructor.
   */
  const spawnChild = (ids: { uid: number; gid: number } = { uid: 1000, gid: 1000 }): Process => {
    const k = t.k as unknown as { newProcess(parent: Process, arch: unknown, cpu: null, opts: object): Process };
    const child = k.newProcess(t.proc, t.k.arch, null, { cwd: '/', ...ids });
    child.pgid = t.proc.pgid;
    child.sid = t.proc.sid;
    return child;
  };

  /** A page of read-only memory. */
  const readOnlyPage = (): number => {
    const a = t.call('mmap', 0, 4096, PROT_READ, t.c.MAP_PRIVATE | t.c.MAP_ANONYMOUS, -1, 0);
    expect(a).toBeGreaterThan(0);
    return a;
  };

  // ---- process ----------------------------------------------------------------

  describe('exit and exit_group', () => {
    it('exit_group records the wait status (code & 0xff) << 8', () => {
      expect(t.proc.exitStatus).toBeNull();
      t.call('exit_group', 3);
      expect(t.proc.exitStatus).toBe(3 << 8);
    });

    it('only the low 8 bits of the code count', () => {
      t.call('exit_group', 0x1ff);
      expect(t.proc.exitStatus).toBe(0xff << 8);
      make();
      t.call('exit_group', -1);
      expect(t.proc.exitStatus).toBe(0xff << 8);
      make();
      t.call('exit', 256 + 7);
      expect(t.proc.exitStatus).toBe(7 << 8);
    });
  });

  describe('ids of the process', () => {
    /** getpgrp(), which aarch64 only has as getpgid(0). */
    const getpgrp = () => (t.has('getpgrp') ? t.call('getpgrp') : t.call('getpgid', 0));

    it('getpid, getppid, gettid, getpgrp, getpgid and getsid', () => {
      const { pid, ppid } = t.proc;
      expect(t.call('getpid')).toBe(pid);
      expect(t.call('getppid')).toBe(ppid);
      expect(t.call('gettid')).toBe(pid);
      const pgrp = t.proc.pgid;
      if (t.has('getpgrp')) expect(t.call('getpgrp')).toBe(pgrp);
      expect(t.call('getpgid', 0)).toBe(pgrp);
      expect(t.call('getpgid', pid)).toBe(pgrp);
      expect(t.call('getsid', 0)).toBe(t.proc.sid);
      expect(t.call('getsid', pid)).toBe(t.proc.sid);
    });

    it('ESRCH for other pids', () => {
      expect(t.call('getpgid', t.proc.pid + 12345)).toBe(t.errno('ESRCH'));
      expect(t.call('getsid', t.proc.pid + 12345)).toBe(t.errno('ESRCH'));
      expect(t.call('setpgid', t.proc.pid + 12345, 0)).toBe(t.errno('ESRCH'));
    });

    it('setpgid(0, 0) makes a new group; setsid then fails with EPERM (a group leader)', () => {
      const { pid } = t.proc;
      expect(t.call('setpgid', 0, 0)).toBe(0);
      expect(getpgrp()).toBe(pid);
      expect(t.call('setsid')).toBe(t.errno('EPERM'));
      // Back into the group it was started in, which is in the same session.
      const start = t.proc.ppid;
      expect(t.call('setpgid', pid, start)).toBe(0);
      expect(getpgrp()).toBe(start);
    });

    it('setpgid: EINVAL for a negative group, EPERM for a group that does not exist', () => {
      expect(t.call('setpgid', 0, -1)).toBe(t.errno('EINVAL'));
      expect(t.call('setpgid', 0, 4242)).toBe(t.errno('EPERM'));
    });

    it('getpgid and getsid of another process; setpgid of a child', () => {
      const child = spawnChild();
      expect(t.call('getpgid', child.pid)).toBe(t.proc.pgid);
      expect(t.call('getsid', child.pid)).toBe(t.proc.sid);
      // The classic job-control move: the child leads a new group, then we join it.
      expect(t.call('setpgid', child.pid, 0)).toBe(0);
      expect(t.call('getpgid', child.pid)).toBe(child.pid);
      expect(t.call('setpgid', 0, child.pid)).toBe(0);
      expect(t.call('getpgid', 0)).toBe(child.pid);
      // A group that does not exist in our session.
      expect(t.call('setpgid', child.pid, child.pid + 77)).toBe(t.errno('EPERM'));
    });

    it('setpgid: ESRCH for a process that is not us or our child; EPERM for a child in another session', () => {
      const child = spawnChild();
      const grandchild = (t.k as unknown as { newProcess(parent: Process, arch: unknown, cpu: null, opts: object): Process }).newProcess(
        child,
        t.k.arch,
        null,
        { cwd: '/', uid: 1000, gid: 1000 },
      );
      expect(t.call('setpgid', grandchild.pid, 0)).toBe(t.errno('ESRCH'));
      child.sid = child.pgid = child.pid; // as if the child called setsid()
      expect(t.call('setpgid', child.pid, 0)).toBe(t.errno('EPERM'));
    });

    it('setsid: EPERM while a process group with our pid exists', () => {
      const child = spawnChild();
      expect(t.call('setpgid', child.pid, t.proc.pid)).toBe(t.errno('EPERM')); // no such group yet
      expect(t.call('setpgid', 0, 0)).toBe(0);
      expect(t.call('setpgid', child.pid, t.proc.pid)).toBe(0);
      expect(t.call('setpgid', 0, 1)).toBe(0); // back to init's group; the child still has ours
      expect(t.call('setsid')).toBe(t.errno('EPERM'));
      child.pgid = 1;
      expect(t.call('setsid')).toBe(t.proc.pid);
    });

    it('setsid makes a new session and group; a session leader cannot setpgid or setsid again', () => {
      const { pid } = t.proc;
      expect(t.call('setsid')).toBe(pid);
      expect(t.call('getsid', 0)).toBe(pid);
      expect(getpgrp()).toBe(pid);
      expect(t.call('setpgid', 0, 0)).toBe(t.errno('EPERM'));
      expect(t.call('setsid')).toBe(t.errno('EPERM'));
      // The group it came from is in another session now.
      expect(t.call('setpgid', 0, t.proc.ppid)).toBe(t.errno('EPERM'));
    });
  });

  describe('start-up calls', () => {
    it('set_tid_address returns the tid and remembers the address', () => {
      expect(t.call('set_tid_address', 0x1234_5678)).toBe(t.proc.pid);
      expect(t.k.taskOf(t.proc).clearChildTid).toBe(0x1234_5678);
    });

    it('set_robust_list: EINVAL unless the length is 24', () => {
      const head = t.buf(24);
      expect(t.call('set_robust_list', head, 24)).toBe(0);
      expect(t.k.taskOf(t.proc).robustList).toEqual({ head, len: 24 });
      expect(t.call('set_robust_list', head, 23)).toBe(t.errno('EINVAL'));
      expect(t.call('set_robust_list', head, 32)).toBe(t.errno('EINVAL'));
    });

    it('rseq is ENOSYS (libc falls back)', () => {
      expect(t.call('rseq', t.buf(32), 32, 0, 0x53053053)).toBe(t.errno('ENOSYS'));
    });
  });

  describe('resource limits', () => {
    const NOFILE = () => t.c.RLIMIT_NOFILE;
    /** getrlimit as [cur, max]. */
    const get = (resource: number): [bigint, bigint] | number => {
      const a = t.buf(16);
      const r = t.call('getrlimit', resource, a);
      return r < 0 ? r : [t.u64(a), t.u64(a + 8)];
    };
    const rlimit = (cur: bigint, max: bigint): number => {
      const a = t.buf(16);
      t.mem.writeU64(a, cur);
      t.mem.writeU64(a + 8, max);
      return a;
    };

    it('getrlimit gives Linux defaults', () => {
      expect(get(NOFILE())).toEqual([1024n, 4096n]);
      expect(get(RLIMIT_STACK)).toEqual([8n << 20n, RLIM_INFINITY]);
      expect(get(RLIMIT_CORE)).toEqual([0n, RLIM_INFINITY]);
    });

    it('EINVAL for resource 16 and beyond (and negative); EFAULT for a bad pointer', () => {
      expect(get(16)).toBe(t.errno('EINVAL'));
      expect(get(-1)).toBe(t.errno('EINVAL'));
      expect(t.call('prlimit64', 0, 16, 0, t.buf(16))).toBe(t.errno('EINVAL'));
      expect(t.call('getrlimit', NOFILE(), t.unmapped)).toBe(t.errno('EFAULT'));
      expect(t.call('getrlimit', NOFILE(), 0)).toBe(t.errno('EFAULT'));
    });

    it('prlimit64 reads and sets our own limits (pid 0 or our pid); ESRCH for others', () => {
      const old = t.buf(16);
      expect(t.call('prlimit64', 0, NOFILE(), rlimit(100n, 200n), old)).toBe(0);
      expect([t.u64(old), t.u64(old + 8)]).toEqual([1024n, 4096n]);
      expect(get(NOFILE())).toEqual([100n, 200n]);
      expect(t.call('prlimit64', t.proc.pid, NOFILE(), 0, old)).toBe(0);
      expect([t.u64(old), t.u64(old + 8)]).toEqual([100n, 200n]);
      expect(t.call('prlimit64', t.proc.pid + 1, NOFILE(), 0, old)).toBe(t.errno('ESRCH'));
    });

    it('setrlimit sets our own limits, with the same checks (EINVAL, EPERM, EFAULT)', () => {
      expect(t.call('setrlimit', NOFILE(), rlimit(256n, 4096n))).toBe(0);
      expect(get(NOFILE())).toEqual([256n, 4096n]);
      expect(t.proc.fds.limit).toBe(256);
      expect(t.call('setrlimit', NOFILE(), rlimit(300n, 200n))).toBe(t.errno('EINVAL'));
      expect(t.call('setrlimit', NOFILE(), rlimit(100n, 8192n))).toBe(t.errno('EPERM'));
      expect(t.call('setrlimit', 16, rlimit(1n, 1n))).toBe(t.errno('EINVAL'));
      expect(t.call('setrlimit', NOFILE(), t.unmapped)).toBe(t.errno('EFAULT'));
    });

    it('RLIMIT_AS bounds the address space: mmap and brk beyond it are ENOMEM; replacing a mapping is not growth', () => {
      const RLIMIT_AS = t.c.RLIMIT_AS;
      const used = BigInt(t.mem.mappedBytes());
      expect(t.call('setrlimit', RLIMIT_AS, rlimit(used + (1n << 20n), RLIM_INFINITY))).toBe(0);
      const anon = t.c.MAP_PRIVATE | t.c.MAP_ANONYMOUS;
      expect(t.call('mmap', 0, 2 << 20, PROT_READ, anon, -1, 0)).toBe(t.errno('ENOMEM'));
      // PROT_NONE reservations count too (they are address space, not memory).
      expect(t.call('mmap', 0, 2 << 20, 0, anon, -1, 0)).toBe(t.errno('ENOMEM'));
      const a = t.call('mmap', 0, 512 << 10, PROT_READ, anon, -1, 0);
      expect(a).toBeGreaterThan(0);
      expect(t.call('mmap', a, 512 << 10, PROT_READ | PROT_WRITE, anon | t.c.MAP_FIXED, -1, 0)).toBe(a);
      expect(t.call('mmap', 0, 768 << 10, PROT_READ, anon, -1, 0)).toBe(t.errno('ENOMEM'));
      const brk = t.call('brk', 0);
      expect(t.call('brk', brk + (4 << 20))).toBe(brk); // brk reports failure by not moving
      expect(t.call('munmap', a, 512 << 10)).toBe(0);
      expect(t.call('mmap', 0, 768 << 10, PROT_READ, anon, -1, 0)).toBeGreaterThan(0);
    });

    it("prlimit64 on another process with our ids; EPERM for someone else's (unless root)", () => {
      const child = spawnChild();
      const old = t.buf(16);
      expect(t.call('prlimit64', child.pid, NOFILE(), rlimit(64n, 4096n), old)).toBe(0);
      expect(t.u64(old)).toBe(1024n);
      expect(child.rlimits.get(NOFILE())).toEqual({ cur: 64n, max: 4096n });
      expect(child.fds.limit).toBe(64);
      expect(get(NOFILE())).toEqual([1024n, 4096n]); // ours unchanged
      const stranger = spawnChild({ uid: 2000, gid: 2000 });
      expect(t.call('prlimit64', stranger.pid, NOFILE(), 0, old)).toBe(t.errno('EPERM'));
      t.proc.creds.euid = 0;
      expect(t.call('prlimit64', stranger.pid, NOFILE(), 0, old)).toBe(0);
    });

    it('EINVAL when cur > max; EPERM raising the hard limit as non-root; lowering it is fine', () => {
      expect(t.call('prlimit64', 0, NOFILE(), rlimit(300n, 200n), 0)).toBe(t.errno('EINVAL'));
      expect(t.call('prlimit64', 0, NOFILE(), rlimit(100n, 8192n), 0)).toBe(t.errno('EPERM'));
      expect(t.call('prlimit64', 0, RLIMIT_CORE, rlimit(0n, 1n << 20n), 0)).toBe(0);
      expect(t.call('prlimit64', 0, RLIMIT_CORE, rlimit(0n, 1n << 21n), 0)).toBe(t.errno('EPERM'));
      expect(get(RLIMIT_CORE)).toEqual([0n, 1n << 20n]);
    });

    it('root may raise the hard limit, but RLIMIT_NOFILE never past nr_open', () => {
      make({ uid: 0, gid: 0 });
      expect(t.call('prlimit64', 0, NOFILE(), rlimit(100n, 8192n), 0)).toBe(0);
      expect(get(NOFILE())).toEqual([100n, 8192n]);
      expect(t.call('prlimit64', 0, NOFILE(), rlimit(100n, RLIM_INFINITY), 0)).toBe(t.errno('EPERM'));
    });

    it('EFAULT for an unreadable new limit or unwritable old one', () => {
      expect(t.call('prlimit64', 0, NOFILE(), t.unmapped, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('prlimit64', 0, NOFILE(), 0, t.unmapped)).toBe(t.errno('EFAULT'));
    });

    it('lowering RLIMIT_NOFILE makes openat and dup fail with EMFILE', () => {
      t.writeHost('f.txt', 'x');
      expect(t.call('prlimit64', 0, NOFILE(), rlimit(5n, 4096n), 0)).toBe(0);
      expect(t.open('f.txt')).toBe(3);
      expect(t.call('dup', 0)).toBe(4);
      expect(t.open('f.txt')).toBe(t.errno('EMFILE'));
      expect(t.call('dup', 0)).toBe(t.errno('EMFILE'));
      expect(t.call('close', 3)).toBe(0);
      expect(t.call('dup', 0)).toBe(3);
    });

    it('RLIMIT_NOFILE 0 makes every new fd EMFILE; fds already open stay usable', () => {
      expect(t.call('prlimit64', 0, NOFILE(), rlimit(0n, 4096n), 0)).toBe(0);
      expect(t.open('.', t.c.O_RDONLY)).toBe(t.errno('EMFILE'));
      expect(t.call('dup', 1)).toBe(t.errno('EMFILE'));
      expect(t.write(1, '')).toBe(0);
    });
  });

  describe('execve permission', () => {
    it('the x bit of the owner, the group (supplementary groups too) or others decides; EACCES otherwise', () => {
      // Not ELF: once permission is granted, execve fails with ENOEXEC instead of EACCES.
      t.writeHost('prog', 'not an executable\n');
      const path = t.str('prog');
      const argv = t.buf(16);
      const run = () => t.call('execve', path, argv, 0);
      const chmod = (mode: number) => t.call('fchmodat', t.c.AT_FDCWD, path, mode, 0);
      const chown = (uid: number, gid: number) => t.call('fchownat', t.c.AT_FDCWD, path, uid, gid, 0);
      expect(chmod(0o644)).toBe(0);
      expect(run()).toBe(t.errno('EACCES'));
      expect(chmod(0o744)).toBe(0);
      expect(run()).toBe(t.errno('ENOEXEC'));
      // Group x only, for a supplementary group the caller is in (a chown needs root: become it briefly).
      t.proc.creds.euid = 0;
      expect(chown(4242, 777)).toBe(0);
      t.proc.creds.euid = t.proc.creds.uid;
      expect(chmod(0o010)).toBe(t.errno('EPERM')); // no longer ours
      t.proc.creds.euid = 0;
      expect(chmod(0o010)).toBe(0);
      t.proc.creds.euid = t.proc.creds.uid;
      expect(run()).toBe(t.errno('EACCES'));
      t.proc.groups = [t.proc.creds.gid, 777];
      expect(run()).toBe(t.errno('ENOEXEC'));
    });
  });

  describe('memory across fork and vfork', () => {
    const map = (flags: number): number => {
      const a = t.call('mmap', 0, 8192, PROT_READ | PROT_WRITE, flags | t.c.MAP_ANONYMOUS, -1, 0);
      expect(a).toBeGreaterThan(0);
      t.mem.writeU32(a, 1);
      return a;
    };

    it('fork copies private mappings and shares MAP_SHARED ones (see fork(2))', () => {
      const priv = map(t.c.MAP_PRIVATE);
      const shared = map(t.c.MAP_SHARED);
      const child = t.k.forkProcess(t.k.currentTask, 0);
      child.mem.writeU32(priv, 2);
      child.mem.writeU32(shared + 4096, 3);
      expect(t.mem.readU32(priv)).toBe(1);
      expect(t.mem.readU32(shared + 4096)).toBe(3);
      t.mem.writeU32(shared, 4);
      expect(child.mem.readU32(shared)).toBe(4);
    });

    it('a vfork child runs in its parent\'s memory: what it writes, the parent reads', () => {
      const priv = map(t.c.MAP_PRIVATE);
      const child = t.k.forkProcess(t.k.currentTask, 0, true);
      child.mem.writeU32(priv, 42);
      expect(t.mem.readU32(priv)).toBe(42);
      // Its own later mappings stay its own.
      const own = child.mem.map(0x5000_0000, 4096, PROT_READ | PROT_WRITE);
      expect(own.start).toBe(0x5000_0000);
      expect(t.mem.mappingAt(0x5000_0000)).toBeUndefined();
    });
  });

  describe('uname and sysinfo', () => {
    it('uname: Linux, the hostname, a release, and the arch as machine', () => {
      const a = t.buf(65 * 6);
      expect(t.call('uname', a)).toBe(0);
      const field = (i: number) => t.cstr(a + 65 * i);
      expect(field(0)).toBe('Linux');
      expect(field(1)).toBe('tslinux');
      expect(field(2)).toMatch(/^\d+\.\d+/);
      expect(field(4)).toBe(arch);
      expect(t.call('uname', t.unmapped)).toBe(t.errno('EFAULT'));
      expect(t.call('uname', readOnlyPage())).toBe(t.errno('EFAULT'));
    });

    it('sysinfo: uptime, memory in bytes (mem_unit 1), one process', () => {
      const a = t.buf(112);
      expect(t.call('sysinfo', a)).toBe(0);
      const v = new DataView(t.read(a, 112).buffer);
      expect(v.getBigInt64(0, true)).toBeGreaterThanOrEqual(1n);
      const total = v.getBigUint64(32, true);
      const free = v.getBigUint64(40, true);
      expect(total).toBeGreaterThan(0n);
      expect(free).toBe(total - BigInt(t.mem.committed));
      expect(v.getUint16(80, true)).toBe(1);
      spawnChild();
      expect(t.call('sysinfo', a)).toBe(0);
      expect(t.u16(a + 80)).toBe(2);
      expect(v.getUint32(104, true)).toBe(1);
      expect(t.call('sysinfo', t.unmapped)).toBe(t.errno('EFAULT'));
    });
  });

  describe('arch_prctl', () => {
    const ARCH_SET_GS = 0x1001;
    const ARCH_SET_FS = 0x1002;
    const ARCH_GET_FS = 0x1003;

    it('exists only on x86-64', () => {
      expect(t.has('arch_prctl')).toBe(arch === 'x86_64');
    });

    it.runIf(arch === 'x86_64')('SET_FS/GS accept a user address; EPERM above user space', () => {
      expect(t.call('arch_prctl', ARCH_SET_FS, 0x7000_0000)).toBe(0);
      expect(t.call('arch_prctl', ARCH_SET_GS, 0)).toBe(0);
      expect(t.call('arch_prctl', ARCH_SET_FS, t.k.arch.layout.taskSize)).toBe(t.errno('EPERM'));
      expect(t.call('arch_prctl', ARCH_SET_FS, 2 ** 63)).toBe(t.errno('EPERM'));
    });

    it.runIf(arch === 'x86_64')('GET_FS writes a value (no CPU: 0); EFAULT for a bad pointer; EINVAL for unknown codes', () => {
      const out = t.buf(8, 0xaa);
      expect(t.call('arch_prctl', ARCH_GET_FS, out)).toBe(0);
      expect(t.u64(out)).toBe(0n);
      expect(t.call('arch_prctl', ARCH_GET_FS, t.unmapped)).toBe(t.errno('EFAULT'));
      expect(t.call('arch_prctl', 0x9999, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('arch_prctl', 0, 0)).toBe(t.errno('EINVAL'));
    });
  });

  describe('prctl', () => {
    const getName = (): string => {
      const out = t.buf(16, 0xff);
      expect(t.call('prctl', PR_GET_NAME, out, 0, 0, 0)).toBe(0);
      const raw = t.read(out, 16);
      expect(raw.indexOf(0)).toBeGreaterThanOrEqual(0); // always terminated
      return t.cstr(out);
    };

    it('PR_SET_NAME / PR_GET_NAME, cut at 15 bytes', () => {
      expect(t.call('prctl', PR_SET_NAME, t.str('worker'), 0, 0, 0)).toBe(0);
      expect(getName()).toBe('worker');
      expect(t.proc.comm).toBe('worker');
      expect(t.call('prctl', PR_SET_NAME, t.str('abcdefghijklmnopqrstu'), 0, 0, 0)).toBe(0);
      expect(getName()).toBe('abcdefghijklmno');
      expect(t.call('prctl', PR_SET_NAME, t.str(''), 0, 0, 0)).toBe(0);
      expect(getName()).toBe('');
    });

    it('PR_SET_NAME reads nothing past the NUL (a short name at the end of memory works)', () => {
      expect(t.call('prctl', PR_SET_NAME, t.tail(3, 'ab\0'), 0, 0, 0)).toBe(0);
      expect(getName()).toBe('ab');
      // 15 bytes without a NUL right before unmapped memory: still fine.
      expect(t.call('prctl', PR_SET_NAME, t.tail(15, 'x'.repeat(15)), 0, 0, 0)).toBe(0);
      expect(getName()).toBe('x'.repeat(15));
      expect(t.call('prctl', PR_SET_NAME, t.tail(4, 'abcd'), 0, 0, 0)).toBe(t.errno('EFAULT'));
    });

    it('EFAULT for bad name pointers', () => {
      expect(t.call('prctl', PR_SET_NAME, t.unmapped, 0, 0, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('prctl', PR_GET_NAME, t.unmapped, 0, 0, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('prctl', PR_GET_NAME, readOnlyPage(), 0, 0, 0)).toBe(t.errno('EFAULT'));
    });

    it('PR_SET_PDEATHSIG takes 0..64; PR_GET_PDEATHSIG reads it back', () => {
      const out = t.buf(4);
      expect(t.call('prctl', PR_GET_PDEATHSIG, out, 0, 0, 0)).toBe(0);
      expect(t.i32(out)).toBe(0);
      expect(t.call('prctl', PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0)).toBe(0);
      expect(t.call('prctl', PR_GET_PDEATHSIG, out, 0, 0, 0)).toBe(0);
      expect(t.i32(out)).toBe(SIGTERM);
      expect(t.call('prctl', PR_SET_PDEATHSIG, 64, 0, 0, 0)).toBe(0);
      expect(t.call('prctl', PR_SET_PDEATHSIG, 65, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('prctl', PR_SET_PDEATHSIG, -1, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('prctl', PR_SET_PDEATHSIG, 0, 0, 0, 0)).toBe(0);
      expect(t.call('prctl', PR_GET_PDEATHSIG, t.unmapped, 0, 0, 0)).toBe(t.errno('EFAULT'));
    });

    it('PR_GET_DUMPABLE is 1; PR_SET_DUMPABLE takes 0 or 1', () => {
      expect(t.call('prctl', PR_GET_DUMPABLE, 0, 0, 0, 0)).toBe(1);
      expect(t.call('prctl', PR_SET_DUMPABLE, 0, 0, 0, 0)).toBe(0);
      expect(t.call('prctl', PR_GET_DUMPABLE, 0, 0, 0, 0)).toBe(0);
      expect(t.call('prctl', PR_SET_DUMPABLE, 2, 0, 0, 0)).toBe(t.errno('EINVAL'));
    });

    it('PR_SET_NO_NEW_PRIVS: only (1, 0, 0, 0); it cannot be unset', () => {
      expect(t.call('prctl', PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)).toBe(0);
      expect(t.call('prctl', PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('prctl', PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('prctl', PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)).toBe(0);
      expect(t.call('prctl', PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)).toBe(1);
      expect(t.call('prctl', PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0)).toBe(t.errno('EINVAL'));
    });

    it('EINVAL for unknown options', () => {
      expect(t.call('prctl', 9999, 0, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('prctl', -1, 0, 0, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('prctl', 0, 0, 0, 0, 0)).toBe(t.errno('EINVAL'));
    });
  });

  // ---- ids --------------------------------------------------------------------

  describe('user and group ids', () => {
    it('getuid, geteuid, getgid and getegid follow the uid and gid options', () => {
      make({ uid: 1234, gid: 567 });
      expect(t.call('getuid')).toBe(1234);
      expect(t.call('geteuid')).toBe(1234);
      expect(t.call('getgid')).toBe(567);
      expect(t.call('getegid')).toBe(567);
      make({ uid: 0, gid: 0 });
      expect([t.call('getuid'), t.call('geteuid'), t.call('getgid'), t.call('getegid')]).toEqual([0, 0, 0, 0]);
    });
  });

  // ---- signals ------------------------------------------------------------------

  describe('rt_sigaction', () => {
    const act = (handler: bigint, flags: bigint, restorer: bigint, mask: bigint): number => {
      const a = t.buf(32);
      [handler, flags, restorer, mask].forEach((v, i) => t.mem.writeU64(a + 8 * i, v));
      return a;
    };
    const read = (a: number): bigint[] => [0, 8, 16, 24].map((o) => t.u64(a + o));

    it('round-trips handler, flags, restorer and mask; oldact gets the previous action', () => {
      const flags = SA_SIGINFO | SA_RESTORER | SA_RESTART | SA_ONSTACK;
      const old = t.buf(32, 0xee);
      expect(t.call('rt_sigaction', SIGUSR1, act(0x40_1000n, flags, 0x40_2000n, bit(SIGUSR2) | bit(SIGHUP)), old, 8)).toBe(0);
      expect(read(old)).toEqual([0n, 0n, 0n, 0n]);
      const now = t.buf(32);
      expect(t.call('rt_sigaction', SIGUSR1, 0, now, 8)).toBe(0);
      expect(read(now)).toEqual([0x40_1000n, flags, 0x40_2000n, bit(SIGUSR2) | bit(SIGHUP)]);
      // Both at once: the old one comes back, the new one is set.
      expect(t.call('rt_sigaction', SIGUSR1, act(1n, 0n, 0n, 0n), now, 8)).toBe(0);
      expect(read(now)[0]).toBe(0x40_1000n);
      expect(t.call('rt_sigaction', SIGUSR1, 0, now, 8)).toBe(0);
      expect(read(now)[0]).toBe(1n);
      // Real-time signals up to 64 too.
      expect(t.call('rt_sigaction', 64, act(0x40_3000n, 0n, 0n, 0n), 0, 8)).toBe(0);
      expect(t.call('rt_sigaction', SIGRTMIN, 0, now, 8)).toBe(0);
    });

    it('unknown flag bits read back clear; SIGKILL and SIGSTOP are dropped from the mask', () => {
      const now = t.buf(32);
      expect(t.call('rt_sigaction', SIGUSR2, act(0x40_1000n, SA_SIGINFO | SA_UNSUPPORTED, 0n, ~0n), 0, 8)).toBe(0);
      expect(t.call('rt_sigaction', SIGUSR2, 0, now, 8)).toBe(0);
      expect(read(now)[1]).toBe(SA_SIGINFO);
      expect(read(now)[3]).toBe(~(bit(SIGKILL) | bit(SIGSTOP)) & RLIM_INFINITY);
    });

    it('EINVAL for SIGKILL or SIGSTOP with a new action (a query is fine)', () => {
      const now = t.buf(32);
      expect(t.call('rt_sigaction', SIGKILL, act(1n, 0n, 0n, 0n), 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('rt_sigaction', SIGSTOP, act(0n, 0n, 0n, 0n), 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('rt_sigaction', SIGKILL, 0, now, 8)).toBe(0);
      expect(t.call('rt_sigaction', SIGSTOP, 0, now, 8)).toBe(0);
    });

    it('EINVAL for signal 0 or 65 and for a sigsetsize other than 8', () => {
      const a = act(1n, 0n, 0n, 0n);
      expect(t.call('rt_sigaction', 0, a, 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('rt_sigaction', 65, a, 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('rt_sigaction', -1, 0, t.buf(32), 8)).toBe(t.errno('EINVAL'));
      expect(t.call('rt_sigaction', SIGUSR1, a, 0, 4)).toBe(t.errno('EINVAL'));
      expect(t.call('rt_sigaction', SIGUSR1, a, 0, 16)).toBe(t.errno('EINVAL'));
      expect(t.proc.sigactions.size).toBe(0);
    });

    it('EFAULT for an unreadable act or an unwritable oldact', () => {
      expect(t.call('rt_sigaction', SIGUSR1, t.unmapped, 0, 8)).toBe(t.errno('EFAULT'));
      expect(t.call('rt_sigaction', SIGUSR1, 0, t.unmapped, 8)).toBe(t.errno('EFAULT'));
      expect(t.call('rt_sigaction', SIGUSR1, 0, readOnlyPage(), 8)).toBe(t.errno('EFAULT'));
    });
  });

  describe('rt_sigprocmask', () => {
    const set = (v: bigint): number => {
      const a = t.buf(8);
      t.mem.writeU64(a, v);
      return a;
    };
    const mask = (): bigint => {
      const out = t.buf(8);
      expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, 0, out, 8)).toBe(0);
      return t.u64(out);
    };

    it('SIG_BLOCK adds, SIG_UNBLOCK removes, SIG_SETMASK replaces; oldset gets the previous mask', () => {
      const old = t.buf(8, 0xff);
      expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, set(bit(SIGUSR1)), old, 8)).toBe(0);
      expect(t.u64(old)).toBe(0n);
      expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, set(bit(SIGUSR2)), old, 8)).toBe(0);
      expect(t.u64(old)).toBe(bit(SIGUSR1));
      expect(mask()).toBe(bit(SIGUSR1) | bit(SIGUSR2));
      expect(t.call('rt_sigprocmask', t.c.SIG_UNBLOCK, set(bit(SIGUSR1)), 0, 8)).toBe(0);
      expect(mask()).toBe(bit(SIGUSR2));
      expect(t.call('rt_sigprocmask', t.c.SIG_SETMASK, set(bit(SIGHUP) | bit(SIGRTMIN)), old, 8)).toBe(0);
      expect(t.u64(old)).toBe(bit(SIGUSR2));
      expect(mask()).toBe(bit(SIGHUP) | bit(SIGRTMIN));
      expect(t.call('rt_sigprocmask', t.c.SIG_SETMASK, set(0n), 0, 8)).toBe(0);
      expect(mask()).toBe(0n);
    });

    it('SIGKILL and SIGSTOP are never blocked', () => {
      expect(t.call('rt_sigprocmask', t.c.SIG_SETMASK, set(~0n & RLIM_INFINITY), 0, 8)).toBe(0);
      expect(mask()).toBe(RLIM_INFINITY & ~(bit(SIGKILL) | bit(SIGSTOP)));
      expect(t.call('rt_sigprocmask', t.c.SIG_SETMASK, set(0n), 0, 8)).toBe(0);
      expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, set(bit(SIGKILL)), 0, 8)).toBe(0);
      expect(mask()).toBe(0n);
    });

    it('EINVAL for an unknown how (only with a set) and for sigsetsize other than 8', () => {
      expect(t.call('rt_sigprocmask', 99, set(bit(SIGUSR1)), 0, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('rt_sigprocmask', 99, 0, t.buf(8), 8)).toBe(0);
      expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, set(bit(SIGUSR1)), 0, 4)).toBe(t.errno('EINVAL'));
      expect(mask()).toBe(0n);
    });

    it('EFAULT for an unreadable set; an unwritable oldset is EFAULT after the mask changed', () => {
      expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, t.unmapped, 0, 8)).toBe(t.errno('EFAULT'));
      expect(mask()).toBe(0n);
      expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, set(bit(SIGUSR1)), t.unmapped, 8)).toBe(t.errno('EFAULT'));
      expect(mask()).toBe(bit(SIGUSR1));
    });
  });

  describe('sigaltstack', () => {
    const stack = (sp: number, flags: number, size: number): number => {
      const a = t.buf(24);
      t.mem.writeU64(a, sp);
      t.mem.writeU32(a + 8, flags);
      t.mem.writeU64(a + 16, size);
      return a;
    };
    const current = (): { sp: number; flags: number; size: number } => {
      const out = t.buf(24, 0xff);
      expect(t.call('sigaltstack', 0, out)).toBe(0);
      return { sp: t.mem.readU64(out), flags: t.i32(out + 8), size: t.mem.readU64(out + 16) };
    };

    it('starts disabled; a stack of MINSIGSTKSZ or more is taken', () => {
      expect(current()).toEqual({ sp: 0, flags: SS_DISABLE, size: 0 });
      const min = t.c.MINSIGSTKSZ;
      expect(min).toBe(arch === 'x86_64' ? 2048 : 5120);
      expect(t.call('sigaltstack', stack(0x7000_0000, 0, min), 0)).toBe(0);
      expect(current()).toEqual({ sp: 0x7000_0000, flags: 0, size: min });
    });

    it('ENOMEM below MINSIGSTKSZ, which differs per arch', () => {
      const min = t.c.MINSIGSTKSZ;
      expect(t.call('sigaltstack', stack(0x7000_0000, 0, min - 1), 0)).toBe(t.errno('ENOMEM'));
      // 4096 bytes: enough on x86-64 (2048), too little on aarch64 (5120).
      expect(t.call('sigaltstack', stack(0x7000_0000, 0, 4096), 0)).toBe(arch === 'x86_64' ? 0 : t.errno('ENOMEM'));
    });

    it('SS_DISABLE turns it off whatever the size; SS_AUTODISARM is kept; SS_ONSTACK means 0', () => {
      expect(t.call('sigaltstack', stack(0x7000_0000, SS_ONSTACK, 65536), 0)).toBe(0);
      expect(current().flags).toBe(0);
      expect(t.call('sigaltstack', stack(0x7000_0000, SS_AUTODISARM, 65536), 0)).toBe(0);
      expect(current().flags).toBe(SS_AUTODISARM | 0);
      const old = t.buf(24);
      expect(t.call('sigaltstack', stack(0x1234, SS_DISABLE, 1), old)).toBe(0);
      expect(t.mem.readU64(old)).toBe(0x7000_0000); // the old stack comes back
      expect(current()).toEqual({ sp: 0, flags: SS_DISABLE, size: 0 });
    });

    it('EINVAL for unknown flags or SS_DISABLE together with SS_ONSTACK', () => {
      expect(t.call('sigaltstack', stack(0x7000_0000, 4, 65536), 0)).toBe(t.errno('EINVAL'));
      expect(t.call('sigaltstack', stack(0x7000_0000, SS_DISABLE | SS_ONSTACK, 65536), 0)).toBe(t.errno('EINVAL'));
      expect(current().flags).toBe(SS_DISABLE);
    });

    it('EFAULT for bad ss or old_ss pointers', () => {
      expect(t.call('sigaltstack', t.unmapped, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('sigaltstack', 0, t.unmapped)).toBe(t.errno('EFAULT'));
    });
  });

  describe('kill, tkill and tgkill', () => {
    const SI_USER = 0;
    const SI_TKILL = -6;
    const mask = (sigs: number[]) => {
      const a = t.buf(8);
      t.mem.writeU64(a, sigs.reduce((m, s) => m | bit(s), 0n));
      return a;
    };
    const block = (...sigs: number[]) => expect(t.call('rt_sigprocmask', t.c.SIG_BLOCK, mask(sigs), 0, 8)).toBe(0);
    const unblock = (...sigs: number[]) => expect(t.call('rt_sigprocmask', t.c.SIG_UNBLOCK, mask(sigs), 0, 8)).toBe(0);
    const setHandler = (sig: number, handler: bigint) => {
      const a = t.buf(32);
      t.mem.writeU64(a, handler);
      expect(t.call('rt_sigaction', sig, a, 0, 8)).toBe(0);
    };
    /** The (first) siginfo queued for a pending signal. */
    const sigInfo = (p: Process, sig: number): unknown => p.threads.map((th) => th.pending.peek(sig)).find(Boolean) ?? p.sharedPending.peek(sig);
    /** Everything pending in a process: for the whole group and for each thread. */
    const pendingOf = (p: Process): bigint => p.threads.reduce((m, th) => m | th.pending.mask, p.sharedPending.mask);
    /** What the scheduler does before a task runs again: deliver its pending, unblocked signals. */
    const deliver = (p: Process = t.proc) => t.k.signals.deliver(t.k.taskOf(p));

    it('signal 0 probes: 0 for ourselves (pid, 0, our group), ESRCH for others', () => {
      const { pid } = t.proc;
      expect(t.call('kill', pid, 0)).toBe(0);
      expect(t.call('kill', 0, 0)).toBe(0);
      expect(t.call('setpgid', 0, 0)).toBe(0); // a group of our own, so -pgid is not -1
      expect(t.call('kill', -pid, 0)).toBe(0);
      expect(t.call('kill', pid + 1, 0)).toBe(t.errno('ESRCH'));
      expect(t.call('kill', -4242, 0)).toBe(t.errno('ESRCH'));
      // -1: every process but ourselves and init, which is nobody here.
      expect(t.call('kill', -1, 0)).toBe(t.errno('ESRCH'));
      expect(t.call('kill', -1, SIGTERM)).toBe(t.errno('ESRCH'));
      // The emulated init (our parent) exists; only root may signal it, to no effect.
      expect(t.call('kill', 1, 0)).toBe(t.errno('EPERM'));
      expect(t.call('kill', 1, 65)).toBe(t.errno('EINVAL'));
      deliver();
      expect(t.proc.exitStatus).toBeNull();
      expect(pendingOf(t.proc)).toBe(0n);
    });

    it('EINVAL for signal 65 or a negative signal (ESRCH first for a pid that does not exist)', () => {
      expect(t.call('kill', t.proc.pid, 65)).toBe(t.errno('EINVAL'));
      expect(t.call('kill', t.proc.pid, -1)).toBe(t.errno('EINVAL'));
      expect(t.call('kill', t.proc.pid + 1, 65)).toBe(t.errno('ESRCH'));
    });

    it('a default-action signal kills once delivered: the status is the signal number', () => {
      expect(t.call('kill', t.proc.pid, SIGTERM)).toBe(0);
      expect(pendingOf(t.proc)).toBe(bit(SIGTERM));
      deliver();
      expect(t.proc.exitStatus).toBe(SIGTERM);
      make();
      t.call('kill', 0, SIGKILL);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGKILL);
      make();
      t.call('kill', t.proc.pid, SIGRTMIN);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGRTMIN);
    });

    it('the siginfo says who sent it: SI_USER for kill, SI_TKILL for tkill and tgkill', () => {
      setHandler(SIGUSR1, 0x40_1000n); // keep it pending: a handler needs a CPU to run
      setHandler(SIGUSR2, 0x40_1000n);
      t.call('kill', t.proc.pid, SIGUSR1);
      expect(sigInfo(t.proc, SIGUSR1)).toMatchObject({ signo: SIGUSR1, code: SI_USER, pid: t.proc.pid, uid: 1000 });
      t.call('tkill', t.proc.pid, SIGUSR2);
      expect(sigInfo(t.proc, SIGUSR2)).toMatchObject({ signo: SIGUSR2, code: SI_TKILL, pid: t.proc.pid, uid: 1000 });
      expect(pendingOf(t.proc)).toBe(bit(SIGUSR1) | bit(SIGUSR2));
    });

    it('a core-dumping signal sets 0x80 only when RLIMIT_CORE allows a core', () => {
      t.call('kill', t.proc.pid, SIGSEGV);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGSEGV);
      make();
      const r = t.buf(16);
      t.mem.writeU64(r, 1n << 20n);
      t.mem.writeU64(r + 8, RLIM_INFINITY);
      expect(t.call('prlimit64', 0, RLIMIT_CORE, r, 0)).toBe(0);
      t.call('kill', t.proc.pid, SIGSEGV);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGSEGV | 0x80);
    });

    it('SIGCHLD, SIGCONT, SIGURG and SIGWINCH are ignored by default', () => {
      for (const sig of [SIGCHLD, SIGCONT, SIGURG, SIGWINCH]) expect(t.call('kill', t.proc.pid, sig)).toBe(0);
      deliver();
      expect(t.proc.exitStatus).toBeNull();
      expect(pendingOf(t.proc)).toBe(0n);
    });

    it('a blocked signal stays pending and acts once unblocked', () => {
      block(SIGTERM);
      expect(t.call('kill', t.proc.pid, SIGTERM)).toBe(0);
      deliver();
      expect(t.proc.exitStatus).toBeNull();
      expect(pendingOf(t.proc)).toBe(bit(SIGTERM));
      unblock(SIGTERM);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGTERM);
    });

    it('SIGKILL cannot be blocked', () => {
      block(SIGKILL);
      t.call('kill', t.proc.pid, SIGKILL);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGKILL);
    });

    it('SIG_IGN drops a signal; blocked, it stays pending until unblocked, then is dropped', () => {
      setHandler(SIGTERM, 1n);
      expect(t.call('kill', t.proc.pid, SIGTERM)).toBe(0);
      expect(pendingOf(t.proc)).toBe(0n);
      block(SIGTERM);
      t.call('kill', t.proc.pid, SIGTERM);
      expect(pendingOf(t.proc)).toBe(bit(SIGTERM));
      unblock(SIGTERM);
      deliver();
      expect(pendingOf(t.proc)).toBe(0n);
      expect(t.proc.exitStatus).toBeNull();
    });

    it('setting SIG_IGN (or SIG_DFL for a default-ignored signal) discards a pending signal', () => {
      block(SIGUSR1, SIGCHLD);
      t.call('kill', t.proc.pid, SIGUSR1);
      t.call('kill', t.proc.pid, SIGCHLD);
      expect(pendingOf(t.proc)).toBe(bit(SIGUSR1) | bit(SIGCHLD));
      setHandler(SIGUSR1, 1n);
      setHandler(SIGCHLD, 0n);
      expect(pendingOf(t.proc)).toBe(0n);
      expect(sigInfo(t.proc, SIGUSR1)).toBeUndefined();
      setHandler(SIGUSR1, 0n);
      unblock(SIGUSR1);
      deliver();
      expect(t.proc.exitStatus).toBeNull();
    });

    it('kill reaches other processes: by pid, by group, and everyone (-1) but the sender', () => {
      const child = spawnChild();
      expect(t.call('kill', child.pid, 0)).toBe(0);
      expect(t.call('kill', child.pid, SIGUSR1)).toBe(0);
      expect(pendingOf(child)).toBe(bit(SIGUSR1));
      expect(sigInfo(child, SIGUSR1)).toMatchObject({ code: SI_USER, pid: t.proc.pid });
      expect(pendingOf(t.proc)).toBe(0n);
      expect(t.call('kill', -1, SIGUSR2)).toBe(0);
      expect(pendingOf(child)).toBe(bit(SIGUSR1) | bit(SIGUSR2));
      expect(pendingOf(t.proc)).toBe(0n);
      block(SIGHUP);
      expect(t.call('kill', 0, SIGHUP)).toBe(0);
      expect(pendingOf(child) & bit(SIGHUP)).toBe(bit(SIGHUP));
      expect(pendingOf(t.proc)).toBe(bit(SIGHUP));
      // Its own group: only the child is in it.
      child.pgid = child.pid;
      expect(t.call('kill', -child.pid, SIGTERM)).toBe(0);
      expect(pendingOf(child) & bit(SIGTERM)).toBe(bit(SIGTERM));
      expect(pendingOf(t.proc) & bit(SIGTERM)).toBe(0n);
      deliver(child);
      expect(child.exitStatus).toBe(SIGHUP); // the lowest pending signal acts first
      // A zombie can still be signalled (to no effect) until it is reaped.
      expect(t.call('kill', child.pid, 0)).toBe(0);
    });

    it('tkill and tgkill reach another thread group by tid', () => {
      const child = spawnChild();
      expect(t.call('tkill', child.pid, SIGUSR1)).toBe(0);
      expect(sigInfo(child, SIGUSR1)).toMatchObject({ code: SI_TKILL, pid: t.proc.pid });
      expect(t.call('tgkill', child.pid, child.pid, SIGUSR2)).toBe(0);
      expect(pendingOf(child)).toBe(bit(SIGUSR1) | bit(SIGUSR2));
      expect(t.call('tgkill', t.proc.pid, child.pid, SIGUSR2)).toBe(t.errno('ESRCH'));
      expect(t.call('tgkill', child.pid, t.proc.pid, SIGUSR2)).toBe(t.errno('ESRCH'));
    });

    it('threads: a process-directed signal waits for a thread that does not block it; tgkill picks the thread', () => {
      const main = t.k.currentTask;
      block(SIGUSR1);
      const other = t.k.newThread(main, 0, { sp: 0, tls: null });
      expect(other.sigmask).toBe(bit(SIGUSR1)); // a new thread inherits its creator's mask
      expect(t.k.invokeAs(other, 'rt_sigprocmask', [t.c.SIG_UNBLOCK, mask([SIGUSR1]), 0, 8])).toBe(0);
      expect(t.call('kill', t.proc.pid, SIGUSR1)).toBe(0);
      expect(t.k.signals.deliverable(main)).toBe(0n);
      expect(t.k.signals.deliverable(other)).toBe(bit(SIGUSR1));
      expect(other.state).toBe('ready');
      // A thread-directed signal is for that thread only, even when it blocks it.
      expect(t.call('tgkill', t.proc.pid, main.tid, SIGUSR2)).toBe(0);
      expect(main.pending.mask).toBe(bit(SIGUSR2));
      expect(t.k.signals.deliverable(other) & bit(SIGUSR2)).toBe(0n);
      expect(t.call('tgkill', t.proc.pid, other.tid, 0)).toBe(0);
      expect(t.call('tgkill', t.proc.pid + 1, other.tid, 0)).toBe(t.errno('ESRCH'));
      // A fatal signal taken by any thread ends the whole group.
      t.k.signals.deliver(other);
      expect(t.proc.exitStatus).toBe(SIGUSR1);
      expect(main.state).toBe('dead');
      expect(other.state).toBe('dead');
    });

    it('/proc/self/task lists every thread, each with its own status; the process shows the thread count', () => {
      const main = t.k.currentTask;
      block(SIGUSR1);
      const other = t.k.newThread(main, 0, { sp: 0, tls: null });
      const cat = (path: string): string => {
        const fd = t.open(path, t.c.O_RDONLY);
        expect(fd).toBeGreaterThanOrEqual(0);
        const text = t.readFd(fd);
        t.call('close', fd);
        return text;
      };
      const fd = t.open('/proc/self/task', t.c.O_RDONLY | t.c.O_DIRECTORY);
      const buf = t.buf(4096);
      const n = t.call('getdents64', fd, buf, 4096);
      const names = t.decodeDirents(buf, n).map((d) => d.name).filter((s) => s !== '.' && s !== '..');
      expect(names.sort()).toEqual([String(main.tid), String(other.tid)].sort());
      expect(cat('/proc/self/status')).toMatch(/^Threads:\t2$/m);
      const status = cat(`/proc/self/task/${other.tid}/status`);
      expect(status).toMatch(new RegExp(`^Pid:\\t${other.tid}$`, 'm'));
      expect(status).toMatch(new RegExp(`^Tgid:\\t${t.proc.pid}$`, 'm'));
      expect(cat(`/proc/self/task/${other.tid}/stat`).split(' ')[19]).toBe('2');
      t.k.exitThread(other, 0);
      expect(cat('/proc/self/status')).toMatch(/^Threads:\t1$/m);
    });

    it('tkill: our tid only; EINVAL for tid <= 0 or a bad signal', () => {
      const { tid } = t.k.taskOf(t.proc);
      expect(t.call('tkill', tid, 0)).toBe(0);
      expect(t.call('tkill', tid + 1, 0)).toBe(t.errno('ESRCH'));
      expect(t.call('tkill', 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('tkill', -1, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('tkill', tid, 65)).toBe(t.errno('EINVAL'));
      expect(t.call('tkill', tid, SIGTERM)).toBe(0);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGTERM);
    });

    it('tgkill: our pid and tid only; EINVAL for ids <= 0 or a bad signal', () => {
      const { pid } = t.proc;
      const { tid } = t.k.taskOf(t.proc);
      expect(t.call('tgkill', pid, tid, 0)).toBe(0);
      expect(t.call('tgkill', pid, tid + 1, 0)).toBe(t.errno('ESRCH'));
      expect(t.call('tgkill', pid + 1, tid, 0)).toBe(t.errno('ESRCH'));
      expect(t.call('tgkill', 0, tid, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('tgkill', pid, 0, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('tgkill', pid, tid, 65)).toBe(t.errno('EINVAL'));
      expect(t.call('tgkill', pid, tid, SIGUSR2)).toBe(0);
      deliver();
      expect(t.proc.exitStatus).toBe(SIGUSR2);
    });
  });

  // ---- time ---------------------------------------------------------------------

  describe('clocks', () => {
    /** clock_gettime as nanoseconds (a number: fine for tests), or -errno. */
    const gettime = (clock: number): number => {
      const ts = t.buf(16);
      const r = t.call('clock_gettime', clock, ts);
      if (r < 0) return r;
      const nsec = Number(t.mem.readI64(ts + 8));
      expect(nsec).toBeGreaterThanOrEqual(0);
      expect(nsec).toBeLessThan(NS);
      return Number(t.mem.readI64(ts)) * NS + nsec;
    };

    it('every clock id Linux has for clock_gettime works', () => {
      const c = t.c;
      for (const id of [
        c.CLOCK_REALTIME,
        c.CLOCK_MONOTONIC,
        c.CLOCK_PROCESS_CPUTIME_ID,
        c.CLOCK_THREAD_CPUTIME_ID,
        c.CLOCK_MONOTONIC_RAW,
        c.CLOCK_REALTIME_COARSE,
        c.CLOCK_MONOTONIC_COARSE,
        c.CLOCK_BOOTTIME,
        c.CLOCK_TAI,
      ]) {
        expect(gettime(id), `clock ${id}`).toBeGreaterThanOrEqual(0);
      }
    });

    it('CLOCK_REALTIME is the time of day', () => {
      // Bracketed by the host's clock read before and after (to its millisecond).
      const before = Date.now();
      const ms = gettime(t.c.CLOCK_REALTIME) / 1e6;
      const after = Date.now();
      expect(ms).toBeGreaterThanOrEqual(before - 1);
      expect(ms).toBeLessThanOrEqual(after + 1);
    });

    it('CLOCK_MONOTONIC never goes back', () => {
      let prev = gettime(t.c.CLOCK_MONOTONIC);
      for (let i = 0; i < 200; i++) {
        const now = gettime(t.c.CLOCK_MONOTONIC);
        expect(now).toBeGreaterThanOrEqual(prev);
        prev = now;
      }
    });

    it('CPU-time clock ids of ourselves (clock_getcpuclockid) work; of others they are EINVAL', () => {
      const { pid } = t.proc;
      const { tid } = t.k.taskOf(t.proc);
      const processClock = (p: number, type = 2) => (~p << 3) | type;
      const threadClock = (p: number) => (~p << 3) | 4 | 2;
      expect(gettime(processClock(0))).toBeGreaterThanOrEqual(0);
      expect(gettime(processClock(pid))).toBeGreaterThanOrEqual(0);
      expect(gettime(processClock(0, 0))).toBeGreaterThanOrEqual(0); // CPUCLOCK_PROF
      expect(gettime(threadClock(0))).toBeGreaterThanOrEqual(0);
      expect(gettime(threadClock(tid))).toBeGreaterThanOrEqual(0);
      expect(gettime(processClock(pid + 1))).toBe(t.errno('EINVAL'));
      expect(gettime(processClock(0, 3))).toBe(t.errno('EINVAL')); // an fd clock
    });

    it('EINVAL for unknown clock ids', () => {
      for (const id of [12, 99, 10, 0x7fffffff]) expect(gettime(id), `clock ${id}`).toBe(t.errno('EINVAL'));
    });

    it('EFAULT for a NULL, unmapped or read-only timespec', () => {
      expect(t.call('clock_gettime', t.c.CLOCK_MONOTONIC, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('clock_gettime', t.c.CLOCK_MONOTONIC, t.unmapped)).toBe(t.errno('EFAULT'));
      expect(t.call('clock_gettime', t.c.CLOCK_MONOTONIC, readOnlyPage())).toBe(t.errno('EFAULT'));
      expect(t.call('clock_gettime', t.c.CLOCK_MONOTONIC, t.tail(8))).toBe(t.errno('EFAULT'));
    });

    it('clock_getres: a resolution for valid clocks (NULL allowed); EINVAL for bad ids; EFAULT', () => {
      const res = t.buf(16, 0xff);
      expect(t.call('clock_getres', t.c.CLOCK_MONOTONIC, res)).toBe(0);
      expect(t.mem.readI64(res)).toBe(0);
      const nsec = t.mem.readI64(res + 8);
      expect(nsec).toBeGreaterThan(0);
      expect(nsec).toBeLessThanOrEqual(1e7);
      expect(t.call('clock_getres', t.c.CLOCK_REALTIME, 0)).toBe(0);
      expect(t.call('clock_getres', 99, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('clock_getres', 99, res)).toBe(t.errno('EINVAL'));
      expect(t.call('clock_getres', t.c.CLOCK_REALTIME, t.unmapped)).toBe(t.errno('EFAULT'));
    });

    it('gettimeofday: seconds and microseconds; tz zeroed; NULLs allowed; EFAULT', () => {
      const tv = t.buf(16);
      const tz = t.buf(8, 0xff);
      const before = Date.now();
      expect(t.call('gettimeofday', tv, tz)).toBe(0);
      const after = Date.now();
      const sec = t.mem.readI64(tv);
      const usec = t.mem.readI64(tv + 8);
      expect(sec * 1000 + usec / 1000).toBeGreaterThanOrEqual(before - 1);
      expect(sec * 1000 + usec / 1000).toBeLessThanOrEqual(after + 1);
      expect(usec).toBeGreaterThanOrEqual(0);
      expect(usec).toBeLessThan(1e6);
      expect(t.read(tz, 8)).toEqual(new Uint8Array(8));
      expect(t.call('gettimeofday', 0, 0)).toBe(0);
      expect(t.call('gettimeofday', t.unmapped, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('gettimeofday', 0, t.unmapped)).toBe(t.errno('EFAULT'));
    });

    it('time: exists on x86-64 only; returns the seconds and stores them; EFAULT', () => {
      expect(t.has('time')).toBe(arch === 'x86_64');
      if (!t.has('time')) return;
      const out = t.buf(8);
      const before = Math.floor(Date.now() / 1000);
      const secs = t.call('time', out);
      const after = Math.floor(Date.now() / 1000);
      expect(secs).toBeGreaterThanOrEqual(before);
      expect(secs).toBeLessThanOrEqual(after);
      expect(t.mem.readI64(out)).toBe(secs);
      expect(t.call('time', 0)).toBeGreaterThan(0);
      expect(t.call('time', t.unmapped)).toBe(t.errno('EFAULT'));
    });
  });

  describe('sleeping', () => {
    const timespec = (sec: number, nsec: number): number => {
      const a = t.buf(16);
      t.mem.writeU64(a, BigInt(sec));
      t.mem.writeU64(a + 8, BigInt(nsec));
      return a;
    };
    const elapsedMs = (fn: () => void): number => {
      const start = process.hrtime.bigint();
      fn();
      return Number(process.hrtime.bigint() - start) / 1e6;
    };

    it('nanosleep of 1 ms sleeps at least that long and returns 0', () => {
      let r = -1;
      expect(elapsedMs(() => (r = t.call('nanosleep', timespec(0, 1_000_000), 0)))).toBeGreaterThanOrEqual(1);
      expect(r).toBe(0);
    });

    it('a sub-millisecond nanosleep still sleeps', () => {
      expect(elapsedMs(() => expect(t.call('nanosleep', timespec(0, 300_000), 0)).toBe(0))).toBeGreaterThanOrEqual(0.3);
    });

    it('rem is left alone when the sleep completes (even a bad pointer)', () => {
      const rem = t.buf(16, 0xab);
      expect(t.call('nanosleep', timespec(0, 1000), rem)).toBe(0);
      expect(t.read(rem, 16).every((b) => b === 0xab)).toBe(true);
      expect(t.call('nanosleep', timespec(0, 1000), t.unmapped)).toBe(0);
    });

    it('EINVAL for tv_nsec >= 1e9 or negative, or a negative tv_sec; EFAULT for req', () => {
      expect(t.call('nanosleep', timespec(0, NS), 0)).toBe(t.errno('EINVAL'));
      expect(t.call('nanosleep', timespec(0, -1), 0)).toBe(t.errno('EINVAL'));
      expect(t.call('nanosleep', timespec(-1, 0), 0)).toBe(t.errno('EINVAL'));
      expect(t.call('nanosleep', t.unmapped, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('nanosleep', 0, 0)).toBe(t.errno('EFAULT'));
    });

    it('the handler parks the task until its deadline (Sleep), over either CPU; only a headless invoke waits it out', () => {
      const decl = timeFamily.syscalls.find((d) => d.name === 'nanosleep')!;
      const task = t.k.currentTask;
      try {
        const req = timespec(0, 200_000_000);
        let thrown: unknown;
        try {
          decl.handler(task, req, 0);
        } catch (e) {
          thrown = e;
        }
        // Parked, not slept: the handler returned at once with a WouldBlock (a blocking sleep returns 0).
        expect(thrown).toBeInstanceOf(WouldBlock);
        const deadline = (thrown as WouldBlock).deadlineNs!;
        const left = Number(deadline - t.k.monotonicNs()) / 1e6;
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(200);
        // The retry (the scheduler makes the call again) keeps the first deadline...
        t.mem.writeU64(req, 100n); // ...even if the request changed meanwhile
        expect(() => decl.handler(task, req, 0)).toThrow(WouldBlock);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, left + 2);
        expect(decl.handler(task, req, 0)).toBe(0);
      } finally {
        task.syscallState = undefined;
      }
    });

    it('clock_nanosleep with TIMER_ABSTIME in the past returns at once', () => {
      // Taken as relative, the second would sleep for 1,000 s (the test's timeout fails it): no clock is read here.
      expect(t.call('clock_nanosleep', t.c.CLOCK_MONOTONIC, 1, timespec(0, 0), 0)).toBe(0);
      expect(t.call('clock_nanosleep', t.c.CLOCK_REALTIME, 1, timespec(1000, 0), 0)).toBe(0);
    });

    it('clock_nanosleep: TIMER_ABSTIME a little in the future waits until then; relative sleeps', () => {
      const ts = t.buf(16);
      expect(t.call('clock_gettime', t.c.CLOCK_MONOTONIC, ts)).toBe(0);
      const target = t.mem.readI64(ts) * NS + t.mem.readI64(ts + 8) + 3_000_000;
      const abs = timespec(Math.floor(target / NS), target % NS);
      expect(t.call('clock_nanosleep', t.c.CLOCK_MONOTONIC, 1, abs, 0)).toBe(0);
      // It returns no earlier than the target, however long the host took to get there.
      expect(t.call('clock_gettime', t.c.CLOCK_MONOTONIC, ts)).toBe(0);
      expect(t.mem.readI64(ts) * NS + t.mem.readI64(ts + 8)).toBeGreaterThanOrEqual(target);
      expect(elapsedMs(() => expect(t.call('clock_nanosleep', t.c.CLOCK_REALTIME, 0, timespec(0, 1_000_000), 0)).toBe(0))).toBeGreaterThanOrEqual(1);
    });

    it('clock_nanosleep: EINVAL for bad clocks and times, EOPNOTSUPP for clocks that cannot sleep, EFAULT', () => {
      const ok = timespec(0, 1000);
      expect(t.call('clock_nanosleep', 99, 0, ok, 0)).toBe(t.errno('EINVAL'));
      expect(t.call('clock_nanosleep', t.c.CLOCK_MONOTONIC_RAW, 0, ok, 0)).toBe(t.errno('EOPNOTSUPP'));
      expect(t.call('clock_nanosleep', t.c.CLOCK_MONOTONIC_COARSE, 0, ok, 0)).toBe(t.errno('EOPNOTSUPP'));
      expect(t.call('clock_nanosleep', t.c.CLOCK_THREAD_CPUTIME_ID, 0, ok, 0)).toBe(t.errno('EOPNOTSUPP'));
      expect(t.call('clock_nanosleep', t.c.CLOCK_MONOTONIC, 0, timespec(0, NS), 0)).toBe(t.errno('EINVAL'));
      expect(t.call('clock_nanosleep', t.c.CLOCK_MONOTONIC, 1, timespec(-1, 0), 0)).toBe(t.errno('EINVAL'));
      expect(t.call('clock_nanosleep', t.c.CLOCK_MONOTONIC, 0, t.unmapped, 0)).toBe(t.errno('EFAULT'));
      // The clock is checked before the request is read.
      expect(t.call('clock_nanosleep', 99, 0, t.unmapped, 0)).toBe(t.errno('EINVAL'));
    });
  });

  // ---- getrandom ------------------------------------------------------------------

  describe('getrandom', () => {
    it('fills the buffer and returns its length', () => {
      const a = t.buf(64);
      expect(t.call('getrandom', a, 64, 0)).toBe(64);
      expect(t.read(a, 64).some((b) => b !== 0)).toBe(true);
      const b = t.buf(64);
      t.call('getrandom', b, 64, 0);
      expect(t.read(b, 64)).not.toEqual(t.read(a, 64));
      expect(t.call('getrandom', t.buf(1), 0, 0)).toBe(0);
      expect(t.call('getrandom', 0, 0, 0)).toBe(0);
    });

    it('accepts GRND_NONBLOCK, GRND_RANDOM and GRND_INSECURE', () => {
      const a = t.buf(16);
      for (const f of [GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE, GRND_NONBLOCK | GRND_RANDOM, GRND_NONBLOCK | GRND_INSECURE]) {
        expect(t.call('getrandom', a, 16, f)).toBe(16);
      }
    });

    it('EINVAL for unknown flags and for GRND_RANDOM|GRND_INSECURE', () => {
      const a = t.buf(16);
      expect(t.call('getrandom', a, 16, 8)).toBe(t.errno('EINVAL'));
      expect(t.call('getrandom', a, 16, 0x8000_0000)).toBe(t.errno('EINVAL'));
      expect(t.call('getrandom', a, 16, GRND_RANDOM | GRND_INSECURE)).toBe(t.errno('EINVAL'));
    });

    it('EFAULT when nothing is writable; a short count when the buffer runs into unmapped memory', () => {
      expect(t.call('getrandom', t.unmapped, 16, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('getrandom', readOnlyPage(), 16, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('getrandom', t.tail(10), 100, 0)).toBe(10);
    });
  });

  // ---- pipes ---------------------------------------------------------------------

  describe('pipe and pipe2', () => {
    const fill = (n: number, byte = 0x61) => t.bytes(new Uint8Array(n).fill(byte));

    it('data written to one end comes out of the other, in order', () => {
      const [r, w] = t.pipe();
      expect(r).toBe(3);
      expect(w).toBe(4);
      expect(t.write(w, 'hello ')).toBe(6);
      expect(t.write(w, 'world')).toBe(5);
      const buf = t.buf(100);
      expect(t.call('read', r, buf, 3)).toBe(3);
      expect(t.text(buf, 3)).toBe('hel');
      expect(t.readFd(r)).toBe('lo world');
    });

    it('pipe (x86-64 only) is pipe2 without flags', () => {
      expect(t.has('pipe')).toBe(arch === 'x86_64');
      if (!t.has('pipe')) return;
      const a = t.buf(8);
      expect(t.call('pipe', a)).toBe(0);
      const [r, w] = [t.i32(a), t.i32(a + 4)];
      expect(t.write(w, 'x')).toBe(1);
      expect(t.readFd(r)).toBe('x');
      expect(t.call('fcntl', r, t.c.F_GETFD, 0)).toBe(0);
    });

    it('end of file once the write end is closed and the pipe is drained', () => {
      const [r, w] = t.pipe();
      t.write(w, 'last');
      expect(t.call('close', w)).toBe(0);
      expect(t.readFd(r)).toBe('last');
      expect(t.call('read', r, t.buf(10), 10)).toBe(0);
    });

    it('EPIPE once the read end is closed', () => {
      const sigs = t.buf(8);
      t.mem.writeU64(sigs, bit(SIGPIPE)); // SIGPIPE comes with EPIPE on Linux; block it to see the error
      t.call('rt_sigprocmask', t.c.SIG_BLOCK, sigs, 0, 8);
      const [r, w] = t.pipe();
      expect(t.call('close', r)).toBe(0);
      expect(t.write(w, 'x')).toBe(t.errno('EPIPE'));
    });

    it('EAGAIN reading an empty pipe whose writer is open (no blocking until the scheduler lands)', () => {
      const [r] = t.pipe();
      expect(t.call('read', r, t.buf(10), 10)).toBe(t.errno('EAGAIN'));
      expect(t.call('read', r, t.buf(10), 0)).toBe(0);
    });

    it('holds 65536 bytes; a full pipe takes no more (O_NONBLOCK: a short count, then EAGAIN)', () => {
      const [r, w] = t.pipe(t.c.O_NONBLOCK);
      expect(t.call('write', w, fill(70000), 70000)).toBe(65536);
      expect(t.call('write', w, fill(1), 1)).toBe(t.errno('EAGAIN'));
      const out = t.buf(70000);
      expect(t.call('read', r, out, 70000)).toBe(65536);
      expect(t.write(w, 'again')).toBe(5);
    });

    it('O_NONBLOCK writes of up to PIPE_BUF (4096) bytes are atomic: all or EAGAIN; bigger ones may be partial', () => {
      const [r, w] = t.pipe(t.c.O_NONBLOCK);
      expect(t.call('write', w, fill(65536 - 100), 65536 - 100)).toBe(65436);
      expect(t.call('write', w, fill(4096), 4096)).toBe(t.errno('EAGAIN'));
      expect(t.call('write', w, fill(101), 101)).toBe(t.errno('EAGAIN'));
      expect(t.call('write', w, fill(8192, 0x62), 8192)).toBe(100);
      // The pipe holds exactly what was accepted.
      const out = t.buf(65536);
      expect(t.call('read', r, out, 65536)).toBe(65536);
      expect(t.read(out + 65436, 100).every((b) => b === 0x62)).toBe(true);
    });

    it('O_CLOEXEC marks both ends; without it neither', () => {
      const [r, w] = t.pipe(t.c.O_CLOEXEC);
      expect(t.call('fcntl', r, t.c.F_GETFD, 0)).toBe(1);
      expect(t.call('fcntl', w, t.c.F_GETFD, 0)).toBe(1);
      const [r2, w2] = t.pipe();
      expect(t.call('fcntl', r2, t.c.F_GETFD, 0)).toBe(0);
      expect(t.call('fcntl', w2, t.c.F_GETFD, 0)).toBe(0);
    });

    it('the ends are read-only and write-only; O_NONBLOCK shows in F_GETFL; they are FIFOs', () => {
      const [r, w] = t.pipe(t.c.O_NONBLOCK);
      expect(t.call('fcntl', r, t.c.F_GETFL, 0) & t.c.O_ACCMODE).toBe(t.c.O_RDONLY);
      expect(t.call('fcntl', w, t.c.F_GETFL, 0) & t.c.O_ACCMODE).toBe(t.c.O_WRONLY);
      expect(t.call('fcntl', r, t.c.F_GETFL, 0) & t.c.O_NONBLOCK).toBe(t.c.O_NONBLOCK);
      expect(t.call('write', r, t.str('x'), 1)).toBe(t.errno('EBADF'));
      expect(t.call('read', w, t.buf(1), 1)).toBe(t.errno('EBADF'));
      const st = t.buf(256);
      expect(t.call('fstat', r, st)).toBe(0);
      expect(t.decodeStat(st).mode & 0o170000).toBe(0o010000);
    });

    it('EINVAL for other flags', () => {
      const a = t.buf(8);
      expect(t.call('pipe2', a, t.c.O_WRONLY)).toBe(t.errno('EINVAL'));
      expect(t.call('pipe2', a, t.c.O_APPEND)).toBe(t.errno('EINVAL'));
      expect(t.call('pipe2', a, t.c.O_CREAT)).toBe(t.errno('EINVAL'));
      expect(t.proc.fds.list()).toEqual([0, 1, 2]);
    });

    it('EFAULT for an unwritable fd array, creating no fds and writing nothing', () => {
      expect(t.call('pipe2', 0, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('pipe2', t.unmapped, 0)).toBe(t.errno('EFAULT'));
      expect(t.call('pipe2', t.tail(4), 0)).toBe(t.errno('EFAULT'));
      expect(t.call('pipe2', readOnlyPage(), 0)).toBe(t.errno('EFAULT'));
      expect(t.proc.fds.list()).toEqual([0, 1, 2]);
    });

    it('EMFILE when only one fd is free, leaving nothing behind and the array untouched', () => {
      t.proc.fds.limit = 4;
      const a = t.buf(8, 0x55);
      expect(t.call('pipe2', a, 0)).toBe(t.errno('EMFILE'));
      expect(t.proc.fds.list()).toEqual([0, 1, 2]);
      expect(t.read(a, 8).every((b) => b === 0x55)).toBe(true);
    });
  });

  // ---- sockets ---------------------------------------------------------------------

  describe('sockets: families the kernel does not emulate', () => {
    it('socket: EAFNOSUPPORT for packet and out-of-range families; AF_UNIX, AF_INET and NETLINK_ROUTE are made', () => {
      const AF_UNIX = 1;
      const AF_INET = 2;
      const AF_NETLINK = 16;
      const AF_PACKET = 17;
      const AF_MAX = 46;
      const SOCK_STREAM = 1;
      const SOCK_RAW = 3;
      for (const af of [AF_PACKET, AF_MAX, -1]) expect(t.call('socket', af, SOCK_STREAM, 0)).toBe(t.errno('EAFNOSUPPORT'));
      for (const [af, type] of [[AF_UNIX, SOCK_STREAM], [AF_INET, SOCK_STREAM], [AF_NETLINK, SOCK_RAW]] as const) {
        const fd = t.call('socket', af, type, 0);
        expect(fd).toBeGreaterThanOrEqual(0);
        expect(t.call('close', fd)).toBe(0);
      }
      // netlink_create: raw and datagram sockets only; NETLINK_AUDIT (9) and the others are not offered.
      expect(t.call('socket', AF_NETLINK, SOCK_STREAM, 0)).toBe(t.errno('ESOCKTNOSUPPORT'));
      expect(t.call('socket', AF_NETLINK, SOCK_RAW, 9)).toBe(t.errno('EPROTONOSUPPORT'));
    });

    it('NETLINK_ROUTE: an RTM_GETLINK dump lists lo with the request sequence and the port getsockname gives; RTM_NEWLINK is EPERM', () => {
      const fd = t.call('socket', 16, 3, 0);
      const req = (type: number, flags: number, seq: number): number => {
        const p = t.buf(32);
        const b = new DataView(new ArrayBuffer(32));
        b.setUint32(0, 32, true);
        b.setUint16(4, type, true);
        b.setUint16(6, flags, true);
        b.setUint32(8, seq, true);
        t.mem.write(p, new Uint8Array(b.buffer));
        return p;
      };
      expect(t.call('sendto', fd, req(18 /* RTM_GETLINK */, 0x301 /* NLM_F_REQUEST|NLM_F_DUMP */, 7), 32, 0, 0, 0)).toBe(32);
      const name = t.buf(12);
      const nameLen = t.buf(4);
      t.mem.writeU32(nameLen, 12);
      expect(t.call('getsockname', fd, name, nameLen)).toBe(0);
      const port = t.mem.readU32(name + 4);
      expect(port).toBeGreaterThan(0);
      const out = t.buf(4096);
      const n = t.call('recvfrom', fd, out, 4096, 0, 0, 0);
      const msgs: { type: number; seq: number; port: number; body: Uint8Array }[] = [];
      const bytes = t.mem.read(out, n);
      const v = new DataView(bytes.buffer, bytes.byteOffset, n);
      for (let at = 0; at + 16 <= n; at += (v.getUint32(at, true) + 3) & ~3) {
        msgs.push({ type: v.getUint16(at + 4, true), seq: v.getUint32(at + 8, true), port: v.getUint32(at + 12, true), body: bytes.subarray(at + 16, at + v.getUint32(at, true)) });
      }
      expect(msgs.map((m) => m.type)).toEqual([16 /* RTM_NEWLINK */, 3 /* NLMSG_DONE */]);
      expect(msgs.every((m) => m.seq === 7 && m.port === port)).toBe(true);
      expect(new DataView(msgs[0]!.body.buffer, msgs[0]!.body.byteOffset).getInt32(4, true)).toBe(1); // ifi_index
      expect(Buffer.from(msgs[0]!.body).includes(Buffer.from('lo\0'))).toBe(true);
      // A change: NLMSG_ERROR carrying -EPERM and the request's header.
      expect(t.call('sendto', fd, req(16 /* RTM_NEWLINK */, 0x5 /* NLM_F_REQUEST|NLM_F_ACK */, 8), 32, 0, 0, 0)).toBe(32);
      expect(t.call('recvfrom', fd, out, 4096, 0, 0, 0)).toBe(36);
      expect(t.mem.readU32(out + 4) & 0xffff).toBe(2 /* NLMSG_ERROR */);
      expect(t.mem.readI32(out + 16)).toBe(t.errno('EPERM'));
      // Nothing more queued: a non-blocking read says so.
      expect(t.call('recvfrom', fd, out, 4096, 0x40 /* MSG_DONTWAIT */, 0, 0)).toBe(t.errno('EAGAIN'));
      expect(t.call('close', fd)).toBe(0);
    });

    it('getpeername and getsockname: ENOTSOCK on a file or pipe fd, EBADF on a bad fd', () => {
      t.writeHost('f.txt', 'x');
      const fd = t.open('f.txt');
      const [r] = t.pipe();
      for (const call of ['getpeername', 'getsockname']) {
        expect(t.call(call, fd, t.buf(16), t.buf(4))).toBe(t.errno('ENOTSOCK'));
        expect(t.call(call, r, 0, 0)).toBe(t.errno('ENOTSOCK'));
        expect(t.call(call, 99, t.buf(16), t.buf(4))).toBe(t.errno('EBADF'));
        expect(t.call(call, -1, 0, 0)).toBe(t.errno('EBADF'));
      }
    });
  });
});
