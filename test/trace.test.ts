import { describe, it, expect } from 'vitest';
import { PlainCpu } from '../src/arch/plain-cpu.ts';
import { x86_64 } from '../src/arch/x86_64.ts';
import { aarch64 } from '../src/arch/aarch64.ts';
import type { Arch } from '../src/arch/types.ts';
import { AddressSpace, PROT_READ, PROT_WRITE } from '../src/kernel/memory.ts';
import type { SyscallRecord } from '../src/kernel/dispatch.ts';
import type { ArgKind, ReturnKind, SyscallContext, SyscallDecl } from '../syscalls/types.ts';
import { formatArg, quoteBytes, sigsetToString } from '../src/trace/decode.ts';
import { StraceTracer, SummaryCollector, formatNeverReturned, formatSyscall } from '../src/trace/strace.ts';
import { formatSiginfo, interruptedResult, signalLine, stoppedLine } from '../src/trace/decode-signals.ts';
import type { SigInfo } from '../src/arch/sigframe.ts';

// ---- a small fake context -------------------------------------------------------

const BASE = 0x10000;
const SIZE = 0x10000;

function makeCtx(arch: Arch = x86_64): SyscallContext {
  const mem = new AddressSpace(arch.layout, null);
  mem.map(BASE, SIZE, PROT_READ | PROT_WRITE);
  return {
    kernel: {} as never,
    proc: { pid: 42, tid: 42 } as never,
    fds: {} as never,
    task: {} as never,
    cpu: {} as never,
    mem,
    arch,
  };
}

function put(ctx: SyscallContext, at: number, data: string | Uint8Array | number[]): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : Uint8Array.from(data);
  ctx.mem.write(at, bytes);
  return at;
}

function putCString(ctx: SyscallContext, at: number, s: string): number {
  return put(ctx, at, Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]));
}

function u64s(...vals: (number | bigint)[]): Uint8Array {
  const b = new Uint8Array(8 * vals.length);
  const v = new DataView(b.buffer);
  vals.forEach((x, i) => v.setBigUint64(8 * i, BigInt.asUintN(64, BigInt(x)), true));
  return b;
}

function decl(name: string, args: Record<string, ArgKind>, ret?: ReturnKind): SyscallDecl {
  return { name, args, ret, handler: () => 0 };
}

function rec(d: SyscallDecl | undefined, args: number[], ret: number, extra: Partial<SyscallRecord> = {}): SyscallRecord {
  return { nr: 0, name: d?.name ?? 'unknown', decl: d, args, ret, startNs: 1000n, endNs: 1000n, ...extra };
}

const OPENAT = decl('openat', { dirfd: 'dirfd', pathname: 'path', flags: 'open_flags', mode: 'mode' }, 'fd');
const READ = decl('read', { fd: 'fd', buf: 'outbuf', count: 'size' }, 'size');
const WRITE = decl('write', { fd: 'fd', buf: 'inbuf', count: 'size' }, 'size');
const CLOSE = decl('close', { fd: 'fd' });
const MMAP = decl(
  'mmap',
  { addr: 'ptr', length: 'size', prot: 'prot', flags: 'map_flags', fd: 'fd', offset: 'mmap_offset' },
  'addr',
);
const BRK = decl('brk', { addr: 'ptr' }, 'addr');
const NEWFSTATAT = decl('newfstatat', { dirfd: 'dirfd', pathname: 'path', statbuf: 'struct_stat_out', flags: 'at_flags' });
const FSTAT = decl('fstat', { fd: 'fd', statbuf: 'struct_stat_out' });
const EXIT_GROUP = decl('exit_group', { status: 'int' }, 'noreturn');
const GETUID = decl('getuid', {});
const RSEQ = decl('rseq', { rseq: 'ptr', rseq_len: 'uint', flags: 'int', sig: 'hex' });
const WRITEV = decl('writev', { fd: 'fd', iov: 'iovec_in', iovcnt: 'int' }, 'size');
const READV = decl('readv', { fd: 'fd', iov: 'iovec_out', iovcnt: 'int' }, 'size');
const SIGPROCMASK = decl('rt_sigprocmask', { how: 'sigprocmask_how', set: 'sigset_in', oldset: 'sigset_out', sigsetsize: 'size' });
const SIGACTION = decl('rt_sigaction', {
  signum: 'signal',
  act: 'struct_sigaction_in',
  oldact: 'struct_sigaction_out',
  sigsetsize: 'size',
});
const FCNTL = decl('fcntl', { fd: 'fd', cmd: 'fcntl_cmd', arg: 'ulong' });

const opts = { strSize: 32, ret: 0 };

// ---- strings -----------------------------------------------------------------------

describe('string quoting', () => {
  it('escapes like strace', () => {
    expect(quoteBytes(Buffer.from('hello\n'))).toBe('"hello\\n"');
    expect(quoteBytes(Buffer.from('a\tb\r\v\f"\\'))).toBe('"a\\tb\\r\\v\\f\\"\\\\"');
    expect(quoteBytes(Uint8Array.from([0]))).toBe('"\\0"');
    expect(quoteBytes(Uint8Array.from([0x1b, 0x5b]))).toBe('"\\33["');
    expect(quoteBytes(Uint8Array.from([0xff, 0x7f, 0x80]))).toBe('"\\377\\177\\200"');
  });

  it('uses three octal digits when an octal digit follows', () => {
    expect(quoteBytes(Uint8Array.from([1, 0x31]))).toBe('"\\0011"');
    expect(quoteBytes(Uint8Array.from([0, 0x38]))).toBe('"\\08"');
    expect(quoteBytes(Uint8Array.from([0, 0x37]))).toBe('"\\0007"');
  });

  it('cuts buffers at strSize with ... after the quote', () => {
    const ctx = makeCtx();
    const p = put(ctx, BASE, 'x'.repeat(40));
    expect(formatArg('inbuf', p, ctx, { strSize: 32, ret: 40, next: 40 })).toBe(`"${'x'.repeat(32)}"...`);
    expect(formatArg('inbuf', p, ctx, { strSize: 32, ret: 32, next: 32 })).toBe(`"${'x'.repeat(32)}"`);
    expect(formatArg('inbuf', p, ctx, { strSize: 4, ret: 5, next: 5 })).toBe('"xxxx"...');
    expect(formatArg('inbuf', p, ctx, { strSize: 32, ret: 0, next: 0 })).toBe('""');
  });

  it('prints paths in full, NULL for 0 and the address when unreadable', () => {
    const ctx = makeCtx();
    const long = 'd/'.repeat(30) + 'file';
    const p = putCString(ctx, BASE + 0x100, long);
    expect(formatArg('path', p, ctx, opts)).toBe(`"${long}"`);
    expect(formatArg('path', 0, ctx, opts)).toBe('NULL');
    expect(formatArg('path', 0x7000_0000, ctx, opts)).toBe('0x70000000');
    expect(formatArg('path', putCString(ctx, BASE + 0x300, 'caf\xe9\n'), ctx, opts)).toBe('"caf\\351\\n"');
  });

  it('shows output buffers only after success', () => {
    const ctx = makeCtx();
    const p = put(ctx, BASE, 'hello\nworld');
    expect(formatArg('outbuf', p, ctx, { strSize: 32, ret: 6 })).toBe('"hello\\n"');
    expect(formatArg('outbuf', p, ctx, { strSize: 32, ret: -9 })).toBe('0x10000');
    expect(formatArg('outstr', putCString(ctx, BASE + 0x40, '/home/user'), ctx, { strSize: 32, ret: 11 })).toBe('"/home/user"');
  });

  it('never throws', () => {
    const ctx = makeCtx();
    const broken = { ...ctx, mem: null as never };
    expect(formatArg('struct_stat_out', 0x1234, broken, opts)).toBe('0x1234');
    expect(formatArg('inbuf', 0xdead0000, ctx, { strSize: 32, ret: 3, next: 3 })).toBe('0xdead0000');
    expect(formatArg('iovec_in', 0xdead0000, ctx, { strSize: 32, ret: 3, next: 1 })).toBe('0xdead0000');
    expect(formatArg('sigset_in', 0xdead0000, ctx, opts)).toBe('0xdead0000');
  });
});

// ---- flags and values --------------------------------------------------------------

describe('flags', () => {
  it('decodes open flags with the access mode first', () => {
    const x = makeCtx(x86_64);
    expect(formatArg('open_flags', 0o2000000, x, opts)).toBe('O_RDONLY|O_CLOEXEC');
    expect(formatArg('open_flags', 0o1 | 0o100 | 0o1000, x, opts)).toBe('O_WRONLY|O_CREAT|O_TRUNC');
    expect(formatArg('open_flags', 2 | 0o4000 | 0o2000, x, opts)).toBe('O_RDWR|O_APPEND|O_NONBLOCK');
    expect(formatArg('open_flags', 0o4010000, x, opts)).toBe('O_RDONLY|O_SYNC');
    expect(formatArg('open_flags', 0x4000_0000, x, opts)).toBe('O_RDONLY|0x40000000');
  });

  it('leaves out the access mode for dup3 and pipe2', () => {
    const ctx = makeCtx();
    // dup3, pipe2 and signalfd4 declare their flags as fd_flags: O_* flags without an access mode.
    expect(formatArg('fd_flags', 0o2000000, ctx, opts)).toBe('O_CLOEXEC');
    expect(formatArg('fd_flags', 0, ctx, opts)).toBe('0');
    expect(formatArg('fd_flags', 0o2004000, ctx, opts)).toBe('O_NONBLOCK|O_CLOEXEC');
    expect(formatArg('open_flags', 0, ctx, opts)).toBe('O_RDONLY');
  });

  it('knows O_DIRECTORY differs between the arches', () => {
    const x = makeCtx(x86_64);
    const a = makeCtx(aarch64);
    // x86-64: O_DIRECTORY 0x10000, O_DIRECT 0x4000; aarch64 the other way round.
    expect(formatArg('open_flags', 0x10000 | 0x80000, x, opts)).toBe('O_RDONLY|O_CLOEXEC|O_DIRECTORY');
    expect(formatArg('open_flags', 0x4000 | 0x80000, a, opts)).toBe('O_RDONLY|O_CLOEXEC|O_DIRECTORY');
    expect(formatArg('open_flags', 0x4000 | 0x80000, x, opts)).toBe('O_RDONLY|O_DIRECT|O_CLOEXEC');
    expect(formatArg('open_flags', 0x10000 | 0x80000, a, opts)).toBe('O_RDONLY|O_DIRECT|O_CLOEXEC');
    expect(formatArg('open_flags', 2 | x86_64.c.O_TMPFILE, x, opts)).toBe('O_RDWR|O_TMPFILE');
    expect(formatArg('open_flags', 2 | aarch64.c.O_TMPFILE, a, opts)).toBe('O_RDWR|O_TMPFILE');
    expect(formatArg('open_flags', 0x8000, x, opts)).toBe('O_RDONLY|O_LARGEFILE');
    expect(formatArg('open_flags', 0x20000, a, opts)).toBe('O_RDONLY|O_LARGEFILE');
  });

  it('decodes the other flag kinds', () => {
    const ctx = makeCtx();
    expect(formatArg('prot', 0, ctx, opts)).toBe('PROT_NONE');
    expect(formatArg('prot', 7, ctx, opts)).toBe('PROT_READ|PROT_WRITE|PROT_EXEC');
    expect(formatArg('map_flags', 0x22, ctx, opts)).toBe('MAP_PRIVATE|MAP_ANONYMOUS');
    expect(formatArg('map_flags', 0x812, ctx, opts)).toBe('MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE');
    expect(formatArg('map_flags', 0x20022, ctx, opts)).toBe('MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK');
    expect(formatArg('map_flags', 0x01, ctx, opts)).toBe('MAP_SHARED');
    expect(formatArg('map_flags', 0x40022 | (21 << 26), ctx, opts)).toBe('MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT');
    expect(formatArg('at_flags', 0, ctx, opts)).toBe('0');
    expect(formatArg('at_flags', 0x1100, ctx, opts)).toBe('AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH');
    expect(formatArg('at_flags', 0x200, ctx, opts)).toBe('AT_REMOVEDIR');
    expect(formatArg('faccessat_flags', 0x200, ctx, opts)).toBe('AT_EACCESS');
    expect(formatArg('statx_flags', 0, ctx, opts)).toBe('AT_STATX_SYNC_AS_STAT');
    expect(formatArg('statx_flags', 0x1000, ctx, opts)).toBe('AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH');
    expect(formatArg('mremap_flags', 1, ctx, opts)).toBe('MREMAP_MAYMOVE');
    expect(formatArg('rename_flags', 3, ctx, opts)).toBe('RENAME_NOREPLACE|RENAME_EXCHANGE');
    expect(formatArg('getrandom_flags', 1, ctx, opts)).toBe('GRND_NONBLOCK');
    expect(formatArg('getrandom_flags', 0, ctx, opts)).toBe('0');
    expect(formatArg('statx_mask', 0xfff, ctx, opts)).toBe('STATX_ALL');
    expect(formatArg('statx_mask', 0x7ff, ctx, opts)).toBe('STATX_BASIC_STATS');
    expect(formatArg('statx_mask', 0x17ff, ctx, opts)).toBe('STATX_BASIC_STATS|STATX_MNT_ID');
    expect(formatArg('statx_mask', 0x202, ctx, opts)).toBe('STATX_MODE|STATX_SIZE');
    expect(formatArg('access_mode', 0, ctx, opts)).toBe('F_OK');
    expect(formatArg('access_mode', 6, ctx, opts)).toBe('R_OK|W_OK');
    expect(formatArg('mode', 0o644, ctx, opts)).toBe('0644');
    expect(formatArg('mode', 0o4755, ctx, opts)).toBe('04755');
    expect(formatArg('mode', 0, ctx, opts)).toBe('000');
    expect(formatArg('ioctl_request', 0x5401, ctx, opts)).toBe('TCGETS');
    expect(formatArg('ioctl_request', 0x5413, ctx, opts)).toBe('TIOCGWINSZ');
    expect(formatArg('ioctl_request', 0x541b, ctx, opts)).toBe('FIONREAD');
    expect(formatArg('ioctl_request', 0x12345678, ctx, opts)).toBe('0x12345678');
  });

  it('decodes named values', () => {
    const ctx = makeCtx();
    expect(formatArg('dirfd', -100, ctx, opts)).toBe('AT_FDCWD');
    expect(formatArg('dirfd', 3, ctx, opts)).toBe('3');
    expect(formatArg('fd', -1, ctx, opts)).toBe('-1');
    expect(formatArg('signal', 2, ctx, opts)).toBe('SIGINT');
    expect(formatArg('signal', 6, ctx, opts)).toBe('SIGABRT');
    expect(formatArg('signal', 29, ctx, opts)).toBe('SIGIO');
    expect(formatArg('signal', 31, ctx, opts)).toBe('SIGSYS');
    expect(formatArg('signal', 32, ctx, opts)).toBe('SIGRTMIN');
    expect(formatArg('signal', 35, ctx, opts)).toBe('SIGRT_3');
    expect(formatArg('signal', 0, ctx, opts)).toBe('0');
    expect(formatArg('whence', 2, ctx, opts)).toBe('SEEK_END');
    expect(formatArg('clockid', 1, ctx, opts)).toBe('CLOCK_MONOTONIC');
    expect(formatArg('rlimit_resource', 3, ctx, opts)).toBe('RLIMIT_STACK');
    expect(formatArg('fcntl_cmd', 1030, ctx, opts)).toBe('F_DUPFD_CLOEXEC');
    expect(formatArg('fcntl_cmd', 1024, ctx, opts)).toBe('F_SETLEASE');
    expect(formatArg('arch_prctl_code', 0x1002, ctx, opts)).toBe('ARCH_SET_FS');
    expect(formatArg('madvise_advice', 4, ctx, opts)).toBe('MADV_DONTNEED');
    expect(formatArg('sigprocmask_how', 0, ctx, opts)).toBe('SIG_BLOCK');
    expect(formatArg('itimer_which', 0, ctx, opts)).toBe('ITIMER_REAL');
    expect(formatArg('ptr', 0, ctx, opts)).toBe('NULL');
    expect(formatArg('ptr', 0x7ffd1234, ctx, opts)).toBe('0x7ffd1234');
    expect(formatArg('hex', 0x53053053, ctx, opts)).toBe('0x53053053');
    expect(formatArg('size', 2 ** 64 - 1, ctx, opts)).toBe('18446744073709551615');
    expect(formatArg('off', -1, ctx, opts)).toBe('-1');
  });
});

// ---- whole lines ----------------------------------------------------------------------

describe('formatSyscall', () => {
  it('prints openat, read, write and close', () => {
    const ctx = makeCtx();
    const path = putCString(ctx, BASE, 'a.txt');
    expect(formatSyscall(ctx, rec(OPENAT, [-100, path, 0o2000000, 0], 3))).toBe('openat(AT_FDCWD, "a.txt", O_RDONLY|O_CLOEXEC) = 3');
    expect(formatSyscall(ctx, rec(OPENAT, [-100, path, 0o1101, 0o644], 4))).toBe(
      'openat(AT_FDCWD, "a.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4',
    );
    const buf = put(ctx, BASE + 0x100, 'hello\n');
    expect(formatSyscall(ctx, rec(READ, [3, buf, 4096], 6))).toBe('read(3, "hello\\n", 4096) = 6');
    const msg = put(ctx, BASE + 0x200, 'hello, world\n');
    expect(formatSyscall(ctx, rec(WRITE, [1, msg, 13], 13))).toBe('write(1, "hello, world\\n", 13) = 13');
    expect(formatSyscall(ctx, rec(CLOSE, [99], -9))).toBe('close(99) = -1 EBADF (Bad file descriptor)');
  });

  it('prints the aarch64 O_DIRECTORY in a whole line', () => {
    const ctx = makeCtx(aarch64);
    const path = putCString(ctx, BASE, '.');
    expect(formatSyscall(ctx, rec(OPENAT, [-100, path, 0x4000 | 0x80000 | 0x800, 0], 3))).toBe(
      'openat(AT_FDCWD, ".", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3',
    );
  });

  it('prints mmap and brk results in hex', () => {
    const ctx = makeCtx();
    expect(formatSyscall(ctx, rec(MMAP, [0, 8192, 3, 0x22, -1, 0], 0x7f1234560000))).toBe(
      'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234560000',
    );
    expect(formatSyscall(ctx, rec(MMAP, [0, 12345, 1, 0x802, 3, 0x1000], 0x7f0000000000))).toBe(
      'mmap(NULL, 12345, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0x1000) = 0x7f0000000000',
    );
    expect(formatSyscall(ctx, rec(MMAP, [0, 2 ** 40, 3, 0x22, -1, 0], -12))).toBe(
      'mmap(NULL, 1099511627776, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)',
    );
    expect(formatSyscall(ctx, rec(BRK, [0], 0x4c8000))).toBe('brk(NULL) = 0x4c8000');
  });

  it('prints newfstatat failures and stat structs on both arches', () => {
    for (const arch of [x86_64, aarch64]) {
      const ctx = makeCtx(arch);
      const path = putCString(ctx, BASE, 'x');
      const st = BASE + 0x100;
      expect(formatSyscall(ctx, rec(NEWFSTATAT, [-100, path, st, 0], -2))).toBe(
        'newfstatat(AT_FDCWD, "x", 0x10100, 0) = -1 ENOENT (No such file or directory)',
      );
      const info = {
        dev: 0x803,
        ino: 12,
        mode: 0o100644,
        nlink: 1,
        uid: 1000,
        gid: 1000,
        rdev: 0,
        size: 123,
        blksize: 4096,
        blocks: 8,
        atimeNs: 0n,
        mtimeNs: 0n,
        ctimeNs: 0n,
        birthtimeNs: 0n,
      };
      put(ctx, st, arch.encodeStat(info));
      expect(formatSyscall(ctx, rec(NEWFSTATAT, [-100, path, st, 0x100], 0))).toBe(
        'newfstatat(AT_FDCWD, "x", {st_mode=S_IFREG|0644, st_size=123, ...}, AT_SYMLINK_NOFOLLOW) = 0',
      );
      put(ctx, st, arch.encodeStat({ ...info, mode: 0o20620, size: 0, rdev: (136 << 8) | 2 }));
      expect(formatSyscall(ctx, rec(FSTAT, [1, st], 0))).toBe('fstat(1, {st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0x2), ...}) = 0');
      put(ctx, st, arch.encodeStat({ ...info, mode: 0o40755, size: 4096 }));
      expect(formatSyscall(ctx, rec(FSTAT, [3, st], 0))).toBe('fstat(3, {st_mode=S_IFDIR|0755, st_size=4096, ...}) = 0');
    }
  });

  it('prints exit_group, getuid and rseq', () => {
    const ctx = makeCtx();
    expect(formatSyscall(ctx, rec(EXIT_GROUP, [0], 0))).toBe('exit_group(0) = ?');
    expect(formatSyscall(ctx, rec(GETUID, [], 1000))).toBe('getuid() = 1000');
    expect(formatSyscall(ctx, rec(RSEQ, [0x4c9a20, 32, 0, 0x53053053], -38))).toBe(
      'rseq(0x4c9a20, 32, 0, 0x53053053) = -1 ENOSYS (Function not implemented)',
    );
  });

  it('prints unknown syscalls with six hex arguments', () => {
    const ctx = makeCtx();
    const r: SyscallRecord = { nr: 1000, name: 'syscall_0x3e8', decl: undefined, args: [1, 2, 3, 4, 5, 6], ret: -38, startNs: 0n, endNs: 0n };
    expect(formatSyscall(ctx, r)).toBe('syscall_0x3e8(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)');
    const z: SyscallRecord = { ...r, nr: 999, name: 'kexec_file_load', args: [0, 0x10, 0, 0, 0, 0] };
    expect(formatSyscall(ctx, z)).toBe('kexec_file_load(0, 0x10, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)');
  });

  it('prints iovec arrays', () => {
    const ctx = makeCtx();
    const a = put(ctx, BASE + 0x100, 'hello');
    const b = put(ctx, BASE + 0x200, ', world\n');
    const iov = put(ctx, BASE, u64s(a, 5, b, 8));
    expect(formatSyscall(ctx, rec(WRITEV, [1, iov, 2], 13))).toBe(
      'writev(1, [{iov_base="hello", iov_len=5}, {iov_base=", world\\n", iov_len=8}], 2) = 13',
    );
    // readv shows only the bytes read: the return value.
    const riov = put(ctx, BASE + 0x40, u64s(a, 3, b, 100));
    expect(formatSyscall(ctx, rec(READV, [0, riov, 2], 5))).toBe(
      'readv(0, [{iov_base="hel", iov_len=3}, {iov_base=", ", iov_len=100}], 2) = 5',
    );
    expect(formatSyscall(ctx, rec(READV, [0, riov, 2], -9))).toBe('readv(0, 0x10040, 2) = -1 EBADF (Bad file descriptor)');
    expect(formatSyscall(ctx, rec(WRITEV, [1, iov, 0], 0))).toBe('writev(1, [], 0) = 0');
  });

  it('prints signal sets and sigactions', () => {
    const ctx = makeCtx();
    const set = put(ctx, BASE, u64s((1n << 1n) | (1n << 14n)));
    const old = put(ctx, BASE + 8, u64s(0));
    expect(formatSyscall(ctx, rec(SIGPROCMASK, [0, set, old, 8], 0))).toBe('rt_sigprocmask(SIG_BLOCK, [INT TERM], [], 8) = 0');
    expect(formatSyscall(ctx, rec(SIGPROCMASK, [2, old, 0, 8], 0))).toBe('rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0');
    const all = put(ctx, BASE + 16, u64s(~((1n << 31n) | (1n << 32n))));
    expect(formatSyscall(ctx, rec(SIGPROCMASK, [0, all, 0, 8], 0))).toBe('rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], NULL, 8) = 0');
    expect(sigsetToString(x86_64, (1n << 64n) - 1n)).toBe('~[]');
    expect(sigsetToString(x86_64, 1n << 16n)).toBe('[CHLD]');

    const act = put(ctx, BASE + 0x100, u64s(0x401234, 0x04000000 | 0x10000000, 0x402000, 1n << 12n));
    const oact = BASE + 0x200;
    put(ctx, oact, u64s(0, 0, 0, 0));
    expect(formatSyscall(ctx, rec(SIGACTION, [2, act, oact, 8], 0))).toBe(
      'rt_sigaction(SIGINT, {sa_handler=0x401234, sa_mask=[PIPE], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x402000}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0',
    );
    const ign = put(ctx, BASE + 0x300, u64s(1, 0, 0, 0));
    expect(formatSyscall(ctx, rec(SIGACTION, [13, ign, 0, 8], 0))).toBe(
      'rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, NULL, 8) = 0',
    );
    expect(formatSyscall(ctx, rec(SIGACTION, [9, ign, oact, 8], -22))).toBe(
      'rt_sigaction(SIGKILL, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, 0x10200, 8) = -1 EINVAL (Invalid argument)',
    );
  });

  it('prints timespec, rlimit and utsname structs', () => {
    const ctx = makeCtx();
    const CLOCK_GETTIME = decl('clock_gettime', { clockid: 'clockid', tp: 'struct_timespec_out' });
    const ts = put(ctx, BASE, u64s(1, 500));
    expect(formatSyscall(ctx, rec(CLOCK_GETTIME, [1, ts], 0))).toBe('clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500}) = 0');
    const NANOSLEEP = decl('nanosleep', { req: 'sleep_timespec_in', rem: 'remaining_timespec_out' });
    expect(formatSyscall(ctx, rec(NANOSLEEP, [ts, BASE + 0x40], 0))).toBe('nanosleep({tv_sec=1, tv_nsec=500}, 0x10040) = 0');

    const PRLIMIT = decl('prlimit64', { pid: 'int', resource: 'rlimit_resource', new_limit: 'struct_rlimit_in', old_limit: 'struct_rlimit_out' });
    const rl = put(ctx, BASE + 0x100, u64s(8n << 20n, (1n << 64n) - 1n));
    expect(formatSyscall(ctx, rec(PRLIMIT, [0, 3, 0, rl], 0))).toBe(
      'prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0',
    );
    const rl2 = put(ctx, BASE + 0x120, u64s(1024, 4096));
    expect(formatSyscall(ctx, rec(PRLIMIT, [0, 7, 0, rl2], 0))).toBe('prlimit64(0, RLIMIT_NOFILE, NULL, {rlim_cur=1024, rlim_max=4*1024}) = 0');

    const UNAME = decl('uname', { buf: 'struct_utsname_out' });
    const u = BASE + 0x400;
    putCString(ctx, u, 'Linux');
    putCString(ctx, u + 65, 'tslinux');
    expect(formatSyscall(ctx, rec(UNAME, [u], 0))).toBe('uname({sysname="Linux", nodename="tslinux", ...}) = 0');
  });

  it('prints fcntl the way strace does', () => {
    const ctx = makeCtx();
    expect(formatSyscall(ctx, rec(FCNTL, [3, 1, 0], 1))).toBe('fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)');
    expect(formatSyscall(ctx, rec(FCNTL, [3, 2, 1], 0))).toBe('fcntl(3, F_SETFD, FD_CLOEXEC) = 0');
    expect(formatSyscall(ctx, rec(FCNTL, [3, 3, 0], 0x8002))).toBe('fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)');
    expect(formatSyscall(ctx, rec(FCNTL, [3, 4, 0x800], 0))).toBe('fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0');
    expect(formatSyscall(ctx, rec(FCNTL, [3, 1030, 10], 10))).toBe('fcntl(3, F_DUPFD_CLOEXEC, 10) = 10');
  });

  it('prints getrandom buffers in hex', () => {
    const ctx = makeCtx();
    const GETRANDOM = decl('getrandom', { buf: 'random_bytes_out', buflen: 'size', flags: 'getrandom_flags' });
    const p = put(ctx, BASE, [0xd1, 0x3b, 0x00, 0x41]);
    expect(formatSyscall(ctx, rec(GETRANDOM, [p, 4, 1], 4))).toBe('getrandom("\\xd1\\x3b\\x00\\x41", 4, GRND_NONBLOCK) = 4');
  });
});

// ---- signals and calls that do not return ------------------------------------------------------

describe('signals as strace prints them', () => {
  it('prints each siginfo layout as printsiginfo.c does', () => {
    const cases: [SigInfo, string][] = [
      [{ signo: 11, code: 2, addr: 0x7f00_0000_1000 }, '{si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x7f0000001000}'],
      [{ signo: 7, code: 2, addr: 0 }, '{si_signo=SIGBUS, si_code=BUS_ADRERR, si_addr=NULL}'],
      [{ signo: 4, code: 1, addr: 0x401000 }, '{si_signo=SIGILL, si_code=ILL_ILLOPC, si_addr=0x401000}'],
      [{ signo: 8, code: 1, addr: 0x401000 }, '{si_signo=SIGFPE, si_code=FPE_INTDIV, si_addr=0x401000}'],
      [{ signo: 14, code: 0x80 }, '{si_signo=SIGALRM, si_code=SI_KERNEL}'],
      [{ signo: 15, code: 0, pid: 7, uid: 1000 }, '{si_signo=SIGTERM, si_code=SI_USER, si_pid=7, si_uid=1000}'],
      [{ signo: 10, code: -6, pid: 7, uid: 0 }, '{si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=7, si_uid=0}'],
      [{ signo: 35, code: -1, pid: 7, uid: 0, value: -5 }, '{si_signo=SIGRT_3, si_code=SI_QUEUE, si_pid=7, si_uid=0, si_int=-5, si_ptr=0xfffffffffffffffb}'],
      [{ signo: 12, code: -1, pid: 7, uid: 0 }, '{si_signo=SIGUSR2, si_code=SI_QUEUE, si_pid=7, si_uid=0}'],
      [{ signo: 14, code: -2, tid: 1, overrun: 2, value: 3 }, '{si_signo=SIGALRM, si_code=SI_TIMER, si_timerid=0x1, si_overrun=2, si_int=3, si_ptr=0x3}'],
      [{ signo: 29, code: 1, band: 65, fd: 4 }, '{si_signo=SIGIO, si_code=POLL_IN, si_band=65, si_fd=4}'],
      [{ signo: 17, code: 3, pid: 9, uid: 0, status: 6 }, '{si_signo=SIGCHLD, si_code=CLD_DUMPED, si_pid=9, si_uid=0, si_status=SIGABRT, si_utime=0, si_stime=0}'],
      [{ signo: 17, code: 1, pid: 9, uid: 0, status: 0, utime: 2, stime: 1 }, '{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=9, si_uid=0, si_status=0, si_utime=2, si_stime=1}'],
      [
        { signo: 31, code: 1, errno: 1, callAddr: 0x401234, syscall: 95, arch: 0xc000003e },
        '{si_signo=SIGSYS, si_code=SYS_SECCOMP, si_errno=EPERM, si_call_addr=0x401234, si_syscall=__NR_umask, si_arch=AUDIT_ARCH_X86_64}',
      ],
      [{ signo: 31, code: 1, callAddr: 0x401234, syscall: 166, arch: 0xc00000b7 }, '{si_signo=SIGSYS, si_code=SYS_SECCOMP, si_call_addr=0x401234, si_syscall=__NR_umask, si_arch=AUDIT_ARCH_AARCH64}'],
      [{ signo: 11, code: 99, addr: 16 }, '{si_signo=SIGSEGV, si_code=99, si_addr=0x10}'],
    ];
    for (const [info, text] of cases) expect(formatSiginfo(x86_64, info)).toBe(text);
    expect(signalLine(x86_64, { signo: 13, code: 0, pid: 5, uid: 0 })).toBe('--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=5, si_uid=0} ---');
    expect(stoppedLine(x86_64, 20)).toBe('--- stopped by SIGTSTP ---');
  });

  it('names the restart code a signal leaves in an interrupted call (kernel/signal.c, each call\'s implementation)', () => {
    expect(interruptedResult('read', [0, 0, 1])).toBe(-512);
    expect(interruptedResult('wait4', [-1, 0, 0, 0])).toBe(-512);
    expect(interruptedResult('pause', [])).toBe(-514);
    expect(interruptedResult('rt_sigsuspend', [0, 8])).toBe(-514);
    expect(interruptedResult('nanosleep', [0, 0])).toBe(-516);
    expect(interruptedResult('clock_nanosleep', [0, 0, 0, 0])).toBe(-516);
    expect(interruptedResult('clock_nanosleep', [0, 1 /* TIMER_ABSTIME */, 0, 0])).toBe(-514);
    expect(interruptedResult('poll', [0, 1, 100])).toBe(-516);
    expect(interruptedResult('poll', [0, 1, -1])).toBe(-514);
    expect(interruptedResult('futex', [0, 0 /* FUTEX_WAIT */, 0, 0])).toBe(-512);
    expect(interruptedResult('futex', [0, 128 /* FUTEX_WAIT_PRIVATE */, 0, 0x1000])).toBe(-516);
    expect(interruptedResult('epoll_wait', [3, 0, 1, -1])).toBe(-4);
    const ctx = makeCtx();
    expect(formatSyscall(ctx, rec(READ, [0, BASE, 10], -512))).toBe('read(0, 0x10000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)');
    const PAUSE = decl('pause', {});
    expect(formatSyscall(ctx, rec(PAUSE, [], -514))).toBe('pause() = ? ERESTARTNOHAND (To be restarted if no handler)');
    const NANOSLEEP = decl('nanosleep', { req: 'sleep_timespec_in', rem: 'remaining_timespec_out' });
    const req = put(ctx, BASE, u64s(1, 0));
    expect(formatSyscall(ctx, rec(NANOSLEEP, [req, BASE + 16], -516))).toBe('nanosleep({tv_sec=1, tv_nsec=0}, 0x10010) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)');
  });

  it('prints a call whose thread died: what strace printed on entry when SIGKILL took it, else "= ?"', () => {
    const ctx = makeCtx();
    const NANOSLEEP = decl('nanosleep', { req: 'sleep_timespec_in', rem: 'remaining_timespec_out' });
    const FUTEX = decl('futex', { uaddr: 'ptr', futex_op: 'futex_op', val: 'int', timeout: 'ptr', uaddr2: 'ptr', val3: 'hex' });
    const req = put(ctx, BASE, u64s(5, 0));
    expect(formatNeverReturned(ctx, rec(READ, [3, BASE, 1], 0), true)).toBe('read(3,  <unfinished ...>) = ?');
    expect(formatNeverReturned(ctx, rec(NANOSLEEP, [req, BASE + 16], 0), true)).toBe('nanosleep({tv_sec=5, tv_nsec=0},  <unfinished ...>) = ?');
    expect(formatNeverReturned(ctx, rec(FUTEX, [0x4000, 0, 0, 0, 0, 0], 0), true)).toBe('futex(0x4000, FUTEX_WAIT, 0, NULL <unfinished ...>) = ?');
    expect(formatNeverReturned(ctx, rec(decl('pause', {}), [], 0), true)).toBe('pause( <unfinished ...>) = ?');
    expect(formatNeverReturned(ctx, rec(READ, [3, BASE, 1], 0), false)).toBe('read(3, 0x10000, 1) = ?');
    expect(formatNeverReturned(ctx, rec(FUTEX, [0x4000, 128, 2, 0, 0, 0], 0), false, { align: 40 })).toBe(
      'futex(0x4000, FUTEX_WAIT_PRIVATE, 2, NULL) = ?',
    );
  });

  it('prints futex with the operands its operation uses', () => {
    const ctx = makeCtx();
    const FUTEX = decl('futex', { uaddr: 'ptr', futex_op: 'futex_op', val: 'int', timeout: 'ptr', uaddr2: 'ptr', val3: 'hex' });
    const ts = put(ctx, BASE, u64s(0, 5000));
    expect(formatSyscall(ctx, rec(FUTEX, [0x4000, 129, 1, 0, 0, 0], 1))).toBe('futex(0x4000, FUTEX_WAKE_PRIVATE, 1) = 1');
    expect(formatSyscall(ctx, rec(FUTEX, [0x4000, 0, 7, ts, 0, 0], 0))).toBe('futex(0x4000, FUTEX_WAIT, 7, {tv_sec=0, tv_nsec=5000}) = 0');
    expect(formatSyscall(ctx, rec(FUTEX, [0x4000, 4, 0, 1, 0x5000, 0], 1))).toBe('futex(0x4000, FUTEX_CMP_REQUEUE, 0, 1, 0x5000, 0) = 1');
    expect(formatSyscall(ctx, rec(FUTEX, [0x4000, 9 | 128 | 256, 3, 0, 0, 0xffff_ffff], 0))).toBe(
      'futex(0x4000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 3, NULL, FUTEX_BITSET_MATCH_ANY) = 0',
    );
    expect(formatSyscall(ctx, rec(FUTEX, [0x4000, 5 | 128, 1, 1, 0x5000, 0x0400_0001], 1))).toBe(
      'futex(0x4000, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x5000, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 1',
    );
  });

  it('prints rt_sigreturn with the mask it restored, and the restored return register', () => {
    const ctx = makeCtx();
    const cpu = new PlainCpu('x86_64');
    cpu.setReturnValue(-4); // -EINTR
    const withCpu = {
      ...ctx,
      task: { tid: 42, sigmask: 1n << 13n },
      proc: { pid: 42, cpu },
      cpu,
    } as unknown as SyscallContext;
    const SIGRETURN = decl('rt_sigreturn', {}, 'sigreturn');
    expect(formatSyscall(withCpu, rec(SIGRETURN, [], 0, { noReturn: true }))).toBe('rt_sigreturn({mask=[ALRM]}) = -1 EINTR (Interrupted system call)');
    cpu.setReturnValue(0);
    expect(formatSyscall(withCpu, rec(SIGRETURN, [], 0, { noReturn: true }))).toBe('rt_sigreturn({mask=[ALRM]}) = 0');
  });
});

// ---- the tracer -----------------------------------------------------------------------------

describe('StraceTracer', () => {
  it('writes one line per call with the requested prefixes and suffix', () => {
    const ctx = makeCtx();
    const lines: string[] = [];
    const tracer = new StraceTracer({
      write: (l) => lines.push(l),
      showPid: true,
      timestamps: 'ttt',
      showTime: true,
      wallClockNs: () => 1_700_000_000_123_456_789n,
    });
    tracer.onSyscall(ctx, rec(GETUID, [], 1000, { startNs: 1_000n, endNs: 13_500n }));
    tracer.onSyscall(ctx, rec(EXIT_GROUP, [3], 0));
    expect(lines).toEqual([
      '[pid    42] 1700000000.123444 getuid() = 1000 <0.000012>',
      '[pid    42] 1700000000.123456 exit_group(3) = ?',
    ]);
  });

  it('honours strSize and the -t/-tt formats', () => {
    const ctx = makeCtx();
    const lines: string[] = [];
    const wall = 1_700_000_000_000_000_000n + 42_000n;
    const t = new StraceTracer({ write: (l) => lines.push(l), strSize: 3, timestamps: 'tt', wallClockNs: () => wall });
    const p = put(ctx, BASE, 'abcdef');
    t.onSyscall(ctx, rec(WRITE, [1, p, 6], 6));
    const d = new Date(1_700_000_000_000);
    const hms = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    expect(lines).toEqual([`${hms}.000042 write(1, "abc"..., 6) = 6`]);
    const t2 = new StraceTracer({ write: (l) => lines.push(l), timestamps: 't', wallClockNs: () => wall });
    t2.onSyscall(ctx, rec(GETUID, [], 0));
    expect(lines[1]).toBe(`${hms} getuid() = 0`);
  });
});

describe('SummaryCollector', () => {
  it('renders strace -c layout', () => {
    const ctx = makeCtx();
    const c = new SummaryCollector();
    const call = (d: SyscallDecl, nr: number, ns: number, ret = 0): void =>
      c.onSyscall(ctx, { ...rec(d, [], ret), nr, startNs: 0n, endNs: BigInt(ns) });
    for (const ns of [10_000, 10_000, 10_000, 15_000]) call(READ, 0, ns);
    call(WRITE, 1, 30_000);
    for (let i = 0; i < 5; i++) call(CLOSE, 3, 5_000, i === 0 ? -9 : 0);
    call(EXIT_GROUP, 231, 0);
    expect(c.render()).toBe(
      [
        '% time     seconds  usecs/call     calls    errors syscall',
        '------ ----------- ----------- --------- --------- ----------------',
        ' 45.00    0.000045          11         4           read',
        ' 30.00    0.000030          30         1           write',
        ' 25.00    0.000025           5         5         1 close',
        '------ ----------- ----------- --------- --------- ----------------',
        '100.00    0.000100          10        10         1 total',
        '',
      ].join('\n'),
    );
  });

  it('widens the name column for long names and orders ties by number', () => {
    const ctx = makeCtx();
    const c = new SummaryCollector();
    const LONG = decl('set_robust_list_and_more', {});
    c.onSyscall(ctx, { ...rec(LONG, [], 0), nr: 273 });
    c.onSyscall(ctx, { ...rec(GETUID, [], 0), nr: 102 });
    const lines = c.render().split('\n');
    expect(lines[1]).toBe(`------ ----------- ----------- --------- --------- ${'-'.repeat(25)}`);
    expect(lines[2]).toBe('  0.00    0.000000           0         1           getuid');
    expect(lines[3]).toBe('  0.00    0.000000           0         1           set_robust_list_and_more');
  });
});
