// The strace options of `tslinux run`: parsing, the -e trace= classes and
// filters, -e status=/-z/-Z, -f and its pid prefixes, -o/-ff, -y, -t/-T/-a,
// --trace-format=json, the -c/-C table (-S, -U), policy notes, and
// `tslinux explain`. Most cases run guests through the library
// (createKernel + a TraceSession as the observer); a few go through the CLI.
import { PlainCpu } from '../src/arch/plain-cpu.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernel } from '../src/index.ts';
import { UsageError, parseRunArgs, type ParsedRun } from '../src/cli.ts';
import { x86_64 } from '../src/arch/x86_64.ts';
import { aarch64 } from '../src/arch/aarch64.ts';
import { PolicyGate } from '../src/policy/gate.ts';
import { FAMILIES } from '../syscalls/index.ts';
import { STRACE_CLASSES, classMembers, parseStatusSet, parseSyscallSet } from '../src/trace/filter.ts';
import { MemoryWriter } from '../src/trace/output.ts';
import { traceKernel, type TraceSession } from '../src/trace/session.ts';
import { SummaryCollector, formatSyscall } from '../src/trace/strace.ts';
import type { TraceConfig } from '../src/trace/options.ts';
import type { SyscallRecord } from '../src/kernel/dispatch.ts';
import type { SyscallContext, SyscallDecl } from '../syscalls/types.ts';
import { explain } from '../src/explain.ts';
import { debianBin, guestPath, makeTempDir, removeTempDir, runCli } from './helpers/e2e.ts';

// ---- helpers ------------------------------------------------------------------------------------

function parse(...argv: string[]): ParsedRun {
  const r = parseRunArgs([...argv, '/bin/prog', 'arg']);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

function parseError(...argv: string[]): string {
  try {
    parse(...argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

interface Traced {
  /** What went to "stderr" (no -o), as lines. */
  lines: string[];
  /** -o files by path. */
  files: Map<string, MemoryWriter>;
  exitCode: number;
  stdout: string;
  session: TraceSession;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeTempDir(d);
});

/** Run a guest in a fresh directory (mounted at /w, its cwd) with a tracing session; output kept in memory. */
function traceRun(
  program: string,
  cfg: Partial<TraceConfig>,
  opts: { args?: string[]; busybox?: 'x86_64' | 'aarch64'; gate?: PolicyGate; wallClockNs?: () => bigint } = {},
): Traced {
  const dir = makeTempDir();
  dirs.push(dir);
  let prog = program;
  if (opts.busybox) {
    fs.copyFileSync(debianBin(opts.busybox, 'busybox'), path.join(dir, 'busybox'));
    fs.chmodSync(path.join(dir, 'busybox'), 0o755);
    prog = path.join(dir, 'busybox');
  }
  const kernel = createKernel(prog, {
    args: opts.args,
    argv0: opts.busybox ? './busybox' : undefined,
    cwd: '/w',
    mounts: [{ host: dir, guest: '/w' }],
    env: { PATH: '/w:/usr/bin:/bin' },
  });
  const stderr = new MemoryWriter();
  const files = new Map<string, MemoryWriter>();
  const session = traceKernel(kernel, cfg, {
    stderr,
    open: (p) => {
      const w = new MemoryWriter();
      files.set(p, w);
      return w;
    },
    wallClockNs: opts.wallClockNs,
  });
  if (opts.gate) kernel.setGate(opts.gate);
  const r = kernel.run();
  session.finish();
  session.close();
  return { lines: stderr.lines(), files, exitCode: r.exitCode, stdout: r.stdout.toString('latin1'), session };
}

const callName = (line: string): string => /^(?:\[pid +\d+\] |\d+ +)?([a-z_0-9]+)\(/.exec(line)?.[1] ?? '';
const calls = (lines: string[]): string[] => lines.filter((l) => !l.includes('+++')).map(callName);

const X = (name: string): string => guestPath('x86_64', name);
const A = (name: string): string => guestPath('aarch64', name);

// ---- option parsing ---------------------------------------------------------------------------------

describe('parseRunArgs: the strace options', () => {
  it('has strace defaults and leaves tracing off without a trace option', () => {
    const p = parse();
    expect(p.trace.enabled).toBe(false);
    expect(p.trace).toMatchObject({ strSize: 32, followForks: false, outputSeparately: false, summary: 'none', format: 'text', align: 0 });
    expect(p.trace.syscalls.isAll).toBe(true);
    expect(p.program).toBe('/bin/prog');
    expect(p.args).toEqual(['arg']);
  });

  it('reads each option, and any of them turns tracing on', () => {
    const p = parse('-f', '-o', 'out.txt', '-s', '64', '-T', '-tt', '-y', '-e', 'trace=%file', '-a', '40');
    expect(p.trace).toMatchObject({
      enabled: true,
      followForks: true,
      output: 'out.txt',
      strSize: 64,
      syscallTimes: true,
      timestamps: 'tt',
      decodeFds: true,
      align: 40,
    });
    expect(p.trace.syscalls.has('openat')).toBe(true);
    expect(p.trace.syscalls.has('read')).toBe(false);
    expect(parse('-s', '100').trace.enabled).toBe(true);
    expect(parse('--trace').trace.enabled).toBe(true);
  });

  it('counts repeated flags and groups short flags as getopt does', () => {
    expect(parse('-ff', '-o', 'x').trace).toMatchObject({ followForks: true, outputSeparately: true });
    expect(parse('-f', '-f', '-o', 'x').trace.outputSeparately).toBe(true);
    // -ff without -o is -f (strace.c).
    expect(parse('-ff').trace).toMatchObject({ followForks: true, outputSeparately: false });
    expect(parse('-t').trace.timestamps).toBe('t');
    expect(parse('-t', '-t').trace.timestamps).toBe('tt');
    expect(parse('-ttt').trace.timestamps).toBe('ttt');
    expect(parse('-fTy').trace).toMatchObject({ followForks: true, syscallTimes: true, decodeFds: true });
    expect(parse('-s64').trace.strSize).toBe(64);
    expect(parse('-fo', 'f.txt').trace).toMatchObject({ followForks: true, output: 'f.txt' });
    expect(parse('-etrace=read').trace.syscalls.has('read')).toBe(true);
    expect(parse('-e', 'read,write').trace.syscalls.has('write')).toBe(true);
  });

  it('reads the summary options', () => {
    expect(parse('-c').trace.summary).toBe('only');
    expect(parse('-C').trace.summary).toBe('also');
    expect(parse('-c', '-S', 'calls').trace.sortBy).toBe('calls');
    expect(parse('-c', '-S', 'nothing').trace.sortBy).toBe('nothing');
    expect(parse('-c', '-S', 'syscall').trace.sortBy).toBe('name');
    expect(parse('-c', '-U', 'calls,errors').trace.columns).toEqual(['calls', 'errors', 'name']);
    expect(parse('-c', '-U', 'name,shortest,longest,avg-time').trace.columns).toEqual(['name', 'min-time', 'max-time', 'avg-time']);
    expect(parse('-c', '-w').trace.wallClock).toBe(true);
  });

  it('reads status filters: -z, -Z and -e status= (the last one wins)', () => {
    expect([...parse('-z').trace.status!]).toEqual(['successful']);
    expect([...parse('-Z').trace.status!]).toEqual(['failed']);
    expect([...parse('-z', '-Z').trace.status!]).toEqual(['failed']);
    expect([...parse('-e', 'status=failed,unfinished').trace.status!]).toEqual(['failed', 'unfinished']);
    expect(parse('-e', 'status=all').trace.status).toBeNull();
    expect([...parse('-e', 'status=!failed').trace.status!]).not.toContain('failed');
  });

  it('reads the long spellings', () => {
    const p = parse(
      '--trace=%net',
      '--output=o.txt',
      '--follow-forks',
      '--string-limit=10',
      '--syscall-times',
      '--decode-fds',
      '--summary',
      '--summary-sort-by=errors',
      '--summary-columns=calls,name',
      '--summary-wall-clock',
      '--trace-format=json',
      '--columns=50',
      '--failed-only',
    );
    expect(p.trace).toMatchObject({
      output: 'o.txt',
      followForks: true,
      strSize: 10,
      syscallTimes: true,
      decodeFds: true,
      summary: 'also',
      sortBy: 'errors',
      columns: ['calls', 'name'],
      wallClock: true,
      format: 'json',
      align: 50,
    });
    expect(p.trace.syscalls.has('socket')).toBe(true);
    expect([...p.trace.status!]).toEqual(['failed']);
    expect(parse('--output-separately', '-f', '-o', 'x').trace.outputSeparately).toBe(true);
    expect([...parse('--successful-only').trace.status!]).toEqual(['successful']);
    expect([...parse('--status=unfinished').trace.status!]).toEqual(['unfinished']);
  });

  it('refuses bad values with strace-like messages', () => {
    expect(parseError('-e', 'trace=nosuchcall')).toBe("-e trace=nosuchcall: invalid system call 'nosuchcall'");
    expect(parseError('-e', 'trace=%nosuchclass')).toBe("-e trace=%nosuchclass: invalid system call '%nosuchclass'");
    expect(parseError('-S', 'bogus')).toBe("-S bogus: invalid sortby: 'bogus'");
    expect(parseError('-U', 'calls,bogus')).toBe("-U calls,bogus: unknown column name: 'bogus'");
    expect(parseError('-U', 'calls,count')).toMatch(/more than once/);
    expect(parseError('-e', 'status=weird')).toBe("-e status=weird: invalid status 'weird'");
    expect(parseError('-c', '-ff', '-o', 'x')).toBe('-c and -ff are mutually exclusive');
    expect(parseError('--trace-format=xml')).toMatch(/text or json/);
    expect(parseError('-s', '-1')).toMatch(/non-negative/);
    expect(() => parseRunArgs(['-o'])).toThrow('-o needs a value');
    expect(parseError('-e', 'verbose=all')).toMatch(/not supported/);
    expect(parseError('-e', 'inject=open')).toMatch(/needs error=ERRNO or retval=VALUE/);
    expect(parseError('-q')).toMatch(/unknown option -q/);
  });

  it('keeps the other options working alongside', () => {
    const p = parse('--env', 'A=1', '-f', '--mount', '/tmp:/t:ro', '--deny', 'getuid', '-c', '--uid', '7', '--no-warn');
    expect(p.env.get('A')).toBe('1');
    expect(p.mounts).toEqual([{ host: '/tmp', guest: '/t', readOnly: true }]);
    expect(p.deny).toEqual(['getuid']);
    expect(p.uid).toBe(7);
    expect(p.warn).toBe(false);
    expect(p.trace).toMatchObject({ followForks: true, summary: 'only' });
    // Options after the program are the program's.
    const q = parseRunArgs(['-f', '/bin/prog', '-c', '-o', 'x']);
    expect(typeof q !== 'string' && q.args).toEqual(['-c', '-o', 'x']);
    expect(typeof q !== 'string' && q.trace.summary).toBe('none');
  });
});

// ---- filters ---------------------------------------------------------------------------------------

describe('-e trace= sets', () => {
  it('names, all, none, negation', () => {
    const s = parseSyscallSet('open,openat');
    expect([s.has('open'), s.has('openat'), s.has('read')]).toEqual([true, true, false]);
    const n = parseSyscallSet('!write,writev');
    expect([n.has('write'), n.has('writev'), n.has('read')]).toEqual([false, false, true]);
    expect(parseSyscallSet('all').isAll).toBe(true);
    expect(parseSyscallSet('none').has('read')).toBe(false);
    expect(parseSyscallSet('!none').isAll).toBe(true);
    expect(parseSyscallSet('!all').has('read')).toBe(false);
  });

  it('regexes, numbers, optional tokens and @64', () => {
    const r = parseSyscallSet('/^(l|f)?stat$');
    expect([...r.names].sort()).toEqual(['fstat', 'lstat', 'stat']);
    expect(parseSyscallSet('?nosuchcall,read').has('read')).toBe(true);
    expect(parseSyscallSet('getuid@64').has('getuid')).toBe(true);
    expect(parseSyscallSet('getuid@32,read').has('getuid')).toBe(false);
    // A number names the call with that number on either arch (0: read on x86-64, io_setup on arm64).
    expect([...parseSyscallSet('0').names].sort()).toEqual(['io_setup', 'read']);
  });

  it('classes follow strace (%net is %network) and include what the declarations add', () => {
    const file = classMembers('%file')!;
    for (const n of ['open', 'openat', 'stat', 'lstat', 'newfstatat', 'statx', 'execve', 'chdir', 'getcwd', 'readlink', 'unlink']) expect(file.has(n), n).toBe(true);
    for (const n of ['read', 'close', 'fstat', 'mmap']) expect(file.has(n), n).toBe(false);
    const desc = classMembers('%desc')!;
    for (const n of ['read', 'write', 'close', 'fstat', 'mmap', 'dup2', 'pipe2', 'openat', 'fcntl']) expect(desc.has(n), n).toBe(true);
    expect(desc.has('socket')).toBe(false);
    expect(classMembers('%net')).toBe(classMembers('%network'));
    expect(classMembers('%network')!.has('socket')).toBe(true);
    expect([...classMembers('%memory')!]).toEqual(expect.arrayContaining(['mmap', 'munmap', 'brk', 'mprotect', 'mremap', 'madvise', 'msync']));
    expect([...classMembers('%process')!]).toEqual(expect.arrayContaining(['fork', 'vfork', 'clone', 'execve', 'exit', 'exit_group', 'wait4', 'kill']));
    expect(classMembers('%process')!.has('getpid')).toBe(false);
    expect([...classMembers('%signal')!]).toEqual(expect.arrayContaining(['rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'kill', 'sigaltstack']));
    expect([...classMembers('%creds')!]).toEqual(expect.arrayContaining(['getuid', 'geteuid', 'setuid', 'getgroups', 'capget', 'prctl']));
    expect([...classMembers('%clock')!].sort()).toEqual(['adjtimex', 'clock_adjtime', 'clock_getres', 'clock_gettime', 'clock_settime', 'gettimeofday', 'settimeofday', 'time']);
    expect(classMembers('%clock')!.has('clock_nanosleep')).toBe(false);
    expect(classMembers('%ipc')!.has('shmget')).toBe(true);
    expect([...classMembers('%%stat')!].sort()).toEqual(['fstat', 'lstat', 'newfstatat', 'stat', 'statx']);
    expect(classMembers('%pure')!.has('getuid')).toBe(true);
    // Deprecated spellings without the %.
    expect(parseSyscallSet('file').has('open')).toBe(true);
  });

  it('derived membership agrees with strace: every declared call with a path is %file, with an fd %desc', () => {
    const extra: string[] = [];
    for (const f of FAMILIES) {
      for (const d of f.syscalls) {
        const kinds = Object.values(d.args);
        if (kinds.includes('path')) expect(classMembers('%file')!.has(d.name), d.name).toBe(true);
        if (f.family !== 'net' && (kinds.includes('fd') || kinds.includes('dirfd') || d.ret === 'fd')) {
          expect(classMembers('%desc')!.has(d.name), d.name).toBe(true);
          if (!STRACE_CLASSES.desc!.includes(d.name)) extra.push(d.name);
        }
      }
    }
    // What the declarations add beyond strace's own %desc list (none today: the list covers them).
    expect(extra).toEqual([]);
  });

  it('maps names to numbers per arch', () => {
    const s = parseSyscallSet('openat,getuid');
    expect(s.traces(x86_64, 257, 'openat')).toBe(true);
    expect(s.traces(aarch64, 56, 'openat')).toBe(true);
    expect(s.traces(x86_64, 102, 'getuid')).toBe(true);
    expect(s.traces(aarch64, 174, 'getuid')).toBe(true);
    expect(s.traces(x86_64, 0, 'read')).toBe(false);
    // Unknown numbers: only a negated set traces them.
    expect(s.traces(x86_64, 1000, 'syscall_0x3e8')).toBe(false);
    expect(parseSyscallSet('!read').traces(x86_64, 1000, 'syscall_0x3e8')).toBe(true);
  });

  it('status sets', () => {
    expect(parseStatusSet('all')).toBeNull();
    expect([...parseStatusSet('none')!]).toEqual([]);
    expect([...parseStatusSet('successful,failed')!]).toEqual(['successful', 'failed']);
  });
});

// ---- traced runs --------------------------------------------------------------------------------------

describe('tracing guests', () => {
  it('-e trace=%file shows only file calls; !negation leaves calls out (both arches)', () => {
    for (const prog of [X('fileio'), A('fileio')]) {
      const file = traceRun(prog, { syscalls: parseSyscallSet('%file') });
      expect(file.exitCode).toBe(0);
      const names = calls(file.lines);
      expect(names.length).toBeGreaterThan(5);
      for (const n of names) expect(classMembers('%file')!.has(n), n).toBe(true);
      // musl (x86-64) calls unlink and open; glibc (arm64) unlinkat and openat.
      expect(names).toContain(prog.includes('aarch64') ? 'unlinkat' : 'unlink');
      // The process's end is reported whatever the filter.
      expect(file.lines[file.lines.length - 1]).toBe('+++ exited with 0 +++');

      const neg = traceRun(prog, { syscalls: parseSyscallSet('!write,writev,lseek') });
      const negNames = calls(neg.lines);
      expect(negNames).not.toContain('write');
      expect(negNames).not.toContain('writev');
      expect(negNames).not.toContain('lseek');
      expect(negNames).toContain('close');
    }
  });

  it('-z shows only successful calls, -Z only failed ones; neither shows exit_group (unfinished)', () => {
    const ok = traceRun(X('errors'), { status: parseStatusSet('successful') });
    const bad = traceRun(X('errors'), { status: parseStatusSet('failed') });
    const all = traceRun(X('errors'), {});
    const body = (t: Traced): string[] => t.lines.filter((l) => !l.startsWith('+++'));
    expect(body(ok).length + body(bad).length).toBe(body(all).length - 1);
    for (const l of body(ok)) expect(l).not.toMatch(/ = -1 E/);
    for (const l of body(bad)) expect(l).toMatch(/ = -1 E[A-Z]+ \(/);
    expect(body(bad).length).toBeGreaterThan(20);
    expect(calls(ok.lines)).not.toContain('exit_group');
    expect(calls(bad.lines)).not.toContain('exit_group');
    const unfinished = traceRun(X('errors'), { status: parseStatusSet('unfinished') });
    expect(unfinished.lines).toEqual(['exit_group(0) = ?', '+++ exited with 0 +++']);
  });

  it('-y prints the path behind fd arguments and results, AT_FDCWD as the cwd', () => {
    const t = traceRun(X('fileio'), { decodeFds: true });
    expect(t.lines).toContain('open("fileio.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE, 0644) = 3</w/fileio.tmp>');
    expect(t.lines).toContain('write(3</w/fileio.tmp>, "0123456789", 10) = 10');
    expect(t.lines.some((l) => l.startsWith('read(3</w/fileio.tmp>, "01ab4567XY-hello world-", 255) = 23'))).toBe(true);
    // close(2) is decoded after the fd is gone: the path is the one last seen.
    expect(t.lines).toContain('close(3</w/fileio.tmp>) = 0');
    // dup2's newfd shows what it held before the call (nothing here), as strace decodes it on entry.
    expect(t.lines).toContain('dup2(3</w/fileio.tmp>, 10) = 10</w/fileio.tmp>');
    expect(t.lines).toContain('fcntl(3</w/fileio.tmp>, F_DUPFD, 20) = 21</w/fileio.tmp>');
    expect(t.lines.some((l) => l.includes('-1<'))).toBe(false);
    const e = traceRun(X('errors'), { decodeFds: true });
    expect(e.lines).toContain('openat(AT_FDCWD</w>, 0x1, O_RDONLY) = -1 EFAULT (Bad address)');
    expect(e.lines).toContain('close(9999) = -1 EBADF (Bad file descriptor)');
    expect(e.lines.some((l) => /^pipe\(\[\d+<pipe:\[\d+\]>, \d+<pipe:\[\d+\]>\]\) = 0$/.test(l))).toBe(true);
    const s = traceRun(X('stat'), { decodeFds: true });
    expect(s.lines.some((l) => l.startsWith('newfstatat(3</w>, "stat.link", {st_mode=S_IFLNK|0777'))).toBe(true);
  });

  it('-T, -t, -tt, -ttt and -a', () => {
    const wall = (): bigint => 1_700_000_000_123_456_000n;
    const T = traceRun(X('hello'), { syscallTimes: true });
    for (const l of T.lines.filter((x) => !x.startsWith('+++') && !x.startsWith('exit_group'))) expect(l).toMatch(/ <\d+\.\d{6}>$/);
    expect(T.lines).toContain('exit_group(0) = ?');
    const ttt = traceRun(X('hello'), { timestamps: 'ttt' }, { wallClockNs: wall });
    expect(ttt.lines[0]).toMatch(/^1700000000\.\d{6} arch_prctl\(/);
    const tt = traceRun(X('hello'), { timestamps: 'tt' }, { wallClockNs: wall });
    expect(tt.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{6} arch_prctl\(/);
    const t = traceRun(X('hello'), { timestamps: 't' }, { wallClockNs: wall });
    expect(t.lines[0]).toMatch(/^\d\d:\d\d:\d\d arch_prctl\(/);
    const a = traceRun(X('hello'), { align: 40 });
    expect(a.lines).toContain('set_tid_address(0x405790)               = 1000');
    expect(a.lines).toContain('exit_group(0)                           = ?');
    // Longer lines get a single space, as in strace.
    expect(a.lines).toContain('writev(1, [{iov_base="hello, world", iov_len=12}, {iov_base="\\n", iov_len=1}], 2) = 13');
    expect(a.lines.find((l) => l.startsWith('ioctl('))).toMatch(/^ioctl\(1, TIOCGWINSZ, 0x[0-9a-f]+\) +=/);
    expect(a.lines.find((l) => l.startsWith('ioctl('))!.indexOf('= -1')).toBe(40);
  });

  it('--trace-format=json: one object per line with the fields', () => {
    const t = traceRun(X('fileio'), { format: 'json' });
    const objs = t.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const sys = objs.filter((o) => o.type === 'syscall');
    expect(sys.length).toBeGreaterThan(50);
    for (const o of sys) {
      expect(Object.keys(o).sort()).toEqual(['args', 'duration_ns', 'errno', 'name', 'note', 'nr', 'pid', 'ret', 'ret_text', 'start_ns', 'tid', 'type'].sort());
      expect(o.pid).toBe(1000);
      expect(o.tid).toBe(1000);
      expect(typeof o.nr).toBe('number');
      expect(typeof o.start_ns).toBe('number');
      expect(typeof o.duration_ns).toBe('number');
      for (const a of o.args as Record<string, unknown>[]) {
        expect(Object.keys(a).sort()).toEqual(['kind', 'name', 'raw', 'text']);
        expect(typeof a.raw).toBe('number');
      }
    }
    const open = sys.find((o) => o.name === 'open')!;
    expect(open.nr).toBe(2);
    expect(open.args).toEqual([
      { name: 'pathname', kind: 'path', text: '"fileio.tmp"', raw: expect.any(Number) },
      { name: 'flags', kind: 'open_flags', text: 'O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE', raw: 0o101101 },
      { name: 'mode', kind: 'mode', text: '0644', raw: 0o644 },
    ]);
    expect(open).toMatchObject({ ret: 3, ret_text: '3', errno: null, note: null });
    const unlink = sys.find((o) => o.name === 'unlink')!;
    expect(unlink).toMatchObject({ ret: -2, errno: 'ENOENT', ret_text: '-1 ENOENT (No such file or directory)' });
    // Start times grow.
    const starts = sys.map((o) => o.start_ns as number);
    expect([...starts].sort((x, y) => x - y)).toEqual(starts);
    const exitGroup = sys.find((o) => o.name === 'exit_group')!;
    expect(exitGroup).toMatchObject({ ret: null, ret_text: '?' });
    expect(objs[objs.length - 1]).toEqual({ type: 'exit', pid: 1000, tid: 1000, status: 0, signal: null });
  });

  it('shows a policy answer as strace shows a seccomp filter\'s (SCMP_ACT_ERRNO: the errno, no mark)', () => {
    const t = traceRun(X('getuid_loop'), {}, { args: ['2'], gate: new PolicyGate({ deny: ['getuid'] }, () => {}) });
    expect(t.lines.filter((l) => l.startsWith('getuid('))).toEqual(Array(3).fill('getuid() = -1 EPERM (Operation not permitted)'));
    // With -z the denied calls are failures like any other.
    const z = traceRun(X('getuid_loop'), { status: parseStatusSet('successful') }, { args: ['2'], gate: new PolicyGate({ deny: ['getuid'] }, () => {}) });
    expect(z.lines.some((l) => l.startsWith('getuid('))).toBe(false);
  });

  it('a call a policy trapped or killed shows the register seccomp left (the syscall number on x86-64), as under strace', () => {
    const trapped = (arch: typeof x86_64 | typeof aarch64, ret: number): SyscallContext => {
      const cpu = new PlainCpu(arch.name);
      cpu.setReturnValue(ret);
      return { proc: { pid: 1000, exited: true, cpu }, task: { tid: 1000 }, cpu, arch } as unknown as SyscallContext;
    };
    const umask: SyscallDecl = { name: 'umask', args: { mask: 'mode' }, ret: 'mode', handler: () => 0 };
    const r: SyscallRecord = { nr: 95, name: 'umask', decl: umask, args: [0o22], ret: 0, noReturn: true, note: 'denied by policy: killed', startNs: 0n, endNs: 0n };
    expect(formatSyscall(trapped(x86_64, 95), r)).toBe('umask(022) = 0137');
    expect(formatSyscall(trapped(aarch64, 0o22), { ...r, nr: 166 })).toBe('umask(022) = 022');
    // With no CPU to read, the value is unknown.
    expect(formatSyscall({ proc: { pid: 1000 }, task: { tid: 1000 }, arch: x86_64 } as unknown as SyscallContext, r)).toBe('umask(022) = ?');
  });
});

// ---- -f, -o, -ff -------------------------------------------------------------------------------------

describe('signals and ends of threads', () => {
  it('a process SIGKILL takes in a blocked read: the call as strace printed it on entry, then "+++ killed by SIGKILL +++" (both arches)', () => {
    for (const prog of [X('sigtrace'), A('sigtrace')]) {
      const t = traceRun(prog, { followForks: true }, { args: ['sigkill'] });
      expect(t.stdout).toBe('sigkill: child killed by SIGKILL\n');
      const read = t.lines.indexOf('[pid  1001] read(5,  <unfinished ...>) = ?');
      expect(read, t.lines.join('\n')).toBeGreaterThan(0);
      expect(t.lines[read + 1]).toBe('[pid  1001] +++ killed by SIGKILL +++');
      // A tracer never sees SIGKILL delivered.
      expect(t.lines.some((l) => l.includes('--- SIGKILL'))).toBe(false);
    }
  });

  it('-f: each thread ends with its own line, the one blocked at exit_group with its call "= ?", the leader last', () => {
    const t = traceRun(X('sigtrace'), { followForks: true }, { args: ['threads'] });
    const ends = t.lines.filter((l) => l.includes('+++') || l.endsWith(' = ?'));
    expect(ends).toEqual([
      '[pid  1001] exit(0) = ?',
      '[pid  1001] +++ exited with 0 +++',
      '[pid  1000] exit_group(0) = ?',
      expect.stringMatching(/^\[pid  1002\] futex\(0x[0-9a-f]+, FUTEX_WAIT, 0, NULL\) = \?$/),
      '[pid  1002] +++ exited with 0 +++',
      '+++ exited with 0 +++',
    ]);
  });

  it('without -f only the first thread is traced, as strace traces only the thread it started', () => {
    const t = traceRun(X('sigtrace'), {}, { args: ['threads'] });
    expect(t.lines.some((l) => l.startsWith('[pid'))).toBe(false);
    expect(t.lines.filter((l) => l.includes('+++') || l.endsWith(' = ?'))).toEqual(['exit_group(0) = ?', '+++ exited with 0 +++']);
    // The threads' own calls (their first: unblocking signals) are not there; the main thread's are.
    expect(t.lines.filter((l) => l.startsWith('rt_sigprocmask(SIG_SETMASK, [], NULL, 8)')).length).toBe(2);
  });

  it('(core dumped) where a core would be written; -e trace= leaves out interrupted calls too, not signals', () => {
    const t = traceRun('', { followForks: true, syscalls: parseSyscallSet('none') }, { busybox: 'x86_64', args: ['sh', '-c', 'ulimit -c unlimited; ./busybox sh -c "kill -ABRT \\$\\$"; true'] });
    expect(t.lines).toEqual([
      '[pid  1001] --- SIGABRT {si_signo=SIGABRT, si_code=SI_USER, si_pid=1001, si_uid=0} ---',
      '[pid  1001] +++ killed by SIGABRT (core dumped) +++',
      '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_DUMPED, si_pid=1001, si_uid=0, si_status=SIGABRT, si_utime=0, si_stime=0} ---',
      '+++ exited with 0 +++',
    ]);
  });

  it('--trace-format=json: a signal is {"type":"signal"}, each thread\'s end {"type":"exit"}', () => {
    const t = traceRun(X('sigtrace'), { format: 'json', followForks: true }, { args: ['children'] });
    const objs = t.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const signals = objs.filter((o) => o.type === 'signal');
    expect(signals).toContainEqual({
      type: 'signal',
      pid: 1002,
      tid: 1002,
      signal: 'SIGTERM',
      siginfo: '{si_signo=SIGTERM, si_code=SI_TKILL, si_pid=1002, si_uid=0}',
    });
    expect(signals.filter((o) => o.signal === 'SIGCHLD').map((o) => (o.siginfo as string).split(', ')[1])).toEqual([
      'si_code=CLD_EXITED',
      'si_code=CLD_KILLED',
      'si_code=CLD_KILLED',
      'si_code=CLD_KILLED',
    ]);
    expect(objs.filter((o) => o.type === 'exit')).toEqual([
      { type: 'exit', pid: 1001, tid: 1001, status: 3, signal: null },
      { type: 'exit', pid: 1002, tid: 1002, status: null, signal: 'SIGTERM' },
      { type: 'exit', pid: 1003, tid: 1003, status: null, signal: 'SIGPIPE' },
      { type: 'exit', pid: 1004, tid: 1004, status: null, signal: 'SIGSEGV' },
      { type: 'exit', pid: 1000, tid: 1000, status: 0, signal: null },
    ]);
  });

  it('a policy\'s SCMP_ACT_TRAP: the rolled-back register, SIGSYS, and rt_sigreturn restoring it (both arches)', () => {
    const profile = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'strace', 'sigtrace-policy.json'), 'utf8'));
    for (const [prog, ret, restored] of [
      [X('sigtrace'), '0137', '95'],
      [A('sigtrace'), '022', '18'],
    ] as const) {
      const t = traceRun(prog, { followForks: true }, { args: ['seccomp'], gate: new PolicyGate({ profile }, () => {}) });
      const at = t.lines.indexOf(`umask(022) = ${ret}`);
      expect(at, t.lines.join('\n')).toBeGreaterThan(0);
      expect(t.lines[at + 1]).toMatch(/^--- SIGSYS \{si_signo=SIGSYS, si_code=SYS_SECCOMP, si_call_addr=0x[0-9a-f]+, si_syscall=__NR_umask, si_arch=AUDIT_ARCH_(X86_64|AARCH64)\} ---$/);
      expect(t.lines[at + 2]).toBe(`rt_sigreturn({mask=[]}) = ${restored}`);
      expect(t.lines[at + 3]).toBe('getpgid(0) = -1 EPERM (Operation not permitted)');
      expect(t.lines).toContain('[pid  1001] +++ killed by SIGSYS +++');
    }
  });
});

describe('following children', () => {
  const script = './busybox true; ./busybox echo hi';
  const bb = { busybox: 'x86_64' as const, args: ['sh', '-c', script] };

  it('without -f only the first process is traced', () => {
    const t = traceRun('', {}, bb);
    expect(t.stdout).toBe('hi\n');
    expect(t.lines.some((l) => l.startsWith('clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x'))).toBe(true);
    // The child's execve of "true" is not traced; the parent's own execve of "echo" is.
    expect(t.lines.some((l) => l.includes('["./busybox", "true"]'))).toBe(false);
    expect(t.lines.some((l) => l.startsWith('execve("./busybox", ["./busybox", "echo", "hi"], 0x'))).toBe(true);
    expect(t.lines.some((l) => l.startsWith('[pid'))).toBe(false);
    expect(t.lines.filter((l) => l.startsWith('+++'))).toEqual(['+++ exited with 0 +++']);
  });

  it('-f on stderr: [pid N] while more than one process is alive', () => {
    const t = traceRun('', { followForks: true }, bb);
    const clone = t.lines.findIndex((l) => l.includes('clone('));
    expect(t.lines.slice(0, clone).every((l) => !l.startsWith('[pid'))).toBe(true);
    expect(t.lines[clone]).toMatch(/^\[pid  1000\] clone\(.*\) = 1001$/);
    expect(t.lines.some((l) => l.startsWith('[pid  1001] execve("./busybox", ["./busybox", "true"], 0x'))).toBe(true);
    expect(t.lines).toContain('[pid  1001] +++ exited with 0 +++');
    const childExit = t.lines.indexOf('[pid  1001] +++ exited with 0 +++');
    // Once the child is gone, the parent's lines lose the prefix again (strace's nprocs drops to 1).
    expect(t.lines.slice(childExit + 1).every((l) => !l.startsWith('[pid'))).toBe(true);
    expect(t.lines.some((l) => /^wait4\(-1, \[\{WIFEXITED\(s\) && WEXITSTATUS\(s\) == 0\}\], 0, NULL\) = 1001$/.test(l))).toBe(true);
    expect(t.lines[t.lines.length - 1]).toBe('+++ exited with 0 +++');
  });

  it('-f -o FILE: every line starts with the pid (strace\'s "%-5d ")', () => {
    const t = traceRun('', { followForks: true, output: '/out/trace' }, bb);
    const lines = t.files.get('/out/trace')!.lines();
    expect(lines.every((l) => /^(1000|1001)  \S/.test(l))).toBe(true);
    expect(lines).toContain('1001  +++ exited with 0 +++');
    expect(lines[lines.length - 1]).toBe('1000  +++ exited with 0 +++');
    expect(t.lines).toEqual([]);
  });

  it('-ff -o FILE: one file per process, FILE.<pid>, without prefixes', () => {
    const t = traceRun('', { followForks: true, outputSeparately: true, output: '/out/trace' }, bb);
    expect([...t.files.keys()].sort()).toEqual(['/out/trace.1000', '/out/trace.1001']);
    const parent = t.files.get('/out/trace.1000')!.lines();
    const child = t.files.get('/out/trace.1001')!.lines();
    for (const l of [...parent, ...child]) expect(l).not.toMatch(/^(\[pid|\d+ )/);
    expect(child[0]).toMatch(/^set_robust_list\(/);
    expect(child.some((l) => l.startsWith('execve("./busybox", ["./busybox", "true"], 0x'))).toBe(true);
    expect(child[child.length - 1]).toBe('+++ exited with 0 +++');
    expect(parent[parent.length - 1]).toBe('+++ exited with 0 +++');
    expect(parent.some((l) => l.includes('clone('))).toBe(true);
  });

  it('-c -f counts every process\'s calls in one table', () => {
    const one = traceRun('', { summary: 'only' }, bb);
    const all = traceRun('', { summary: 'only', followForks: true }, bb);
    // The totals row: 100.00, seconds, usecs/call, calls, [errors], total.
    const total = (t: Traced): number => Number(t.lines[t.lines.length - 1]!.trim().split(/ +/)[3]);
    expect(total(all)).toBeGreaterThan(total(one));
  });
});

// ---- -c ---------------------------------------------------------------------------------------------

function decl(name: string, ret?: SyscallDecl['ret']): SyscallDecl {
  return { name, args: {}, ret, handler: () => 0 };
}

function rec(d: SyscallDecl, nr: number, ns: number, ret = 0): SyscallRecord {
  return { nr, name: d.name, decl: d, args: [], ret, startNs: 0n, endNs: BigInt(ns) };
}

const ctx = {} as SyscallContext;

describe('the -c table', () => {
  const read = decl('read');
  const write = decl('write');
  const close = decl('close');
  const fill = (c: SummaryCollector): void => {
    for (const ns of [10_000, 10_000, 10_000, 15_000]) c.onSyscall(ctx, rec(read, 0, ns));
    c.onSyscall(ctx, rec(write, 1, 30_000));
    for (let i = 0; i < 5; i++) c.onSyscall(ctx, rec(close, 3, 5_000, i === 0 ? -9 : 0));
    c.onSyscall(ctx, rec(decl('exit_group', 'noreturn'), 231, 0));
  };

  it('sorts by -S', () => {
    const names = (sortBy: ConstructorParameters<typeof SummaryCollector>[0]): string[] => {
      const c = new SummaryCollector(sortBy);
      fill(c);
      return c
        .render()
        .split('\n')
        .slice(2, 5)
        .map((l) => l.split(' ').pop()!);
    };
    expect(names({})).toEqual(['read', 'write', 'close']);
    expect(names({ sortBy: 'calls' })).toEqual(['close', 'read', 'write']);
    expect(names({ sortBy: 'errors' })).toEqual(['close', 'read', 'write']);
    expect(names({ sortBy: 'name' })).toEqual(['close', 'read', 'write']);
    expect(names({ sortBy: 'nothing' })).toEqual(['read', 'write', 'close']);
    expect(names({ sortBy: 'max-time' })).toEqual(['write', 'read', 'close']);
    expect(names({ sortBy: 'avg-time' })).toEqual(['write', 'read', 'close']);
  });

  it('lays out -U columns as count.c does (the name padded unless last, errors blank when 0)', () => {
    const c = new SummaryCollector({ columns: ['name', 'calls', 'min-time', 'max-time', 'errors'], sortBy: 'name' });
    fill(c);
    expect(c.render()).toBe(
      [
        'syscall              calls shortest  longest    errors',
        '---------------- --------- -------- -------- ---------',
        'close                    5 0.000005 0.000005         1',
        'read                     4 0.000010 0.000015          ',
        'write                    1 0.000030 0.000030          ',
        '---------------- --------- -------- -------- ---------',
        'total                   10 0.000005 0.000030         1',
        '',
      ].join('\n'),
    );
    const d = new SummaryCollector({ columns: ['calls', 'name', 'time-percent'] });
    fill(d);
    expect(d.render().split('\n').slice(0, 3)).toEqual(['    calls syscall          % time', '--------- ---------------- ------', '        4 read              45.00']);
  });

  it('-c on a run: only the table, no trace and no exit line; -C: both', () => {
    const c = traceRun(X('fileio'), { summary: 'only' });
    expect(c.lines[0]).toBe('% time     seconds  usecs/call     calls    errors syscall');
    expect(c.lines[1]).toBe('------ ----------- ----------- --------- --------- ----------------');
    expect(c.lines.some((l) => l.includes('+++'))).toBe(false);
    expect(c.lines.find((l) => l.endsWith(' lseek'))).toMatch(/^ *\d+\.\d\d +\d+\.\d{6} +\d+ +15 +lseek$/);
    expect(c.lines[c.lines.length - 1]).toMatch(/^100\.00 +\d+\.\d{6} +\d+ +74 +5 total$/);
    const both = traceRun(X('fileio'), { summary: 'also' });
    const exit = both.lines.indexOf('+++ exited with 0 +++');
    expect(exit).toBeGreaterThan(50);
    expect(both.lines[exit + 1]).toBe('% time     seconds  usecs/call     calls    errors syscall');
    // -e trace= limits what is counted too.
    const only = traceRun(X('fileio'), { summary: 'only', syscalls: parseSyscallSet('lseek') });
    expect(only.lines.length).toBe(2 + 1 + 2);
  });
});

// ---- the CLI ------------------------------------------------------------------------------------------

describe.concurrent('the CLI', () => {
  let dir = '';
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeTempDir(dir));

  it('-c prints the table on stderr at exit', async ({ expect }) => {
    const w = fs.mkdtempSync(path.join(dir, 'c-'));
    const r = await runCli(['run', '-c', X('fileio')], { cwd: w });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^write: 10\n/);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toBe('% time     seconds  usecs/call     calls    errors syscall');
    expect(lines[lines.length - 1]).toMatch(/ total$/);
  });

  it('--trace-format=json -o FILE writes JSON lines', async ({ expect }) => {
    const w = fs.mkdtempSync(path.join(dir, 'j-'));
    const r = await runCli(['run', '--trace-format=json', '-o', path.join(w, 't.json'), X('hello')], { cwd: w });
    expect(r).toEqual({ code: 0, stdout: 'hello, world\n', stderr: '' });
    const objs = fs.readFileSync(path.join(w, 't.json'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(objs.map((o) => o.name ?? o.type)).toEqual(['arch_prctl', 'set_tid_address', 'ioctl', 'writev', 'exit_group', 'exit']);
  });

  it('-ff -o FILE writes FILE.<pid> per process', async ({ expect }) => {
    const w = fs.mkdtempSync(path.join(dir, 'ff-'));
    fs.copyFileSync(debianBin('x86_64', 'busybox'), path.join(w, 'busybox'));
    fs.chmodSync(path.join(w, 'busybox'), 0o755);
    const r = await runCli(['run', '-ff', '-o', path.join(w, 'tr'), './busybox', 'sh', '-c', './busybox true; ./busybox echo hi'], { cwd: w });
    expect(r).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    expect(fs.readdirSync(w).filter((f) => f.startsWith('tr')).sort()).toEqual(['tr.1000', 'tr.1001']);
    expect(fs.readFileSync(path.join(w, 'tr.1001'), 'utf8')).toMatch(/^set_robust_list\(.*\n[^]*\+\+\+ exited with 0 \+\+\+\n$/);
  });

  it("-y names what the host's stdout really is, not /dev/stdout", async ({ expect }) => {
    const r = await runCli(['run', '-y', X('hello')], { cwd: dir });
    expect(r.code).toBe(0);
    // runCli's 'pipe' stdio is a socketpair on Linux (libuv); the golden tests cover a file.
    expect(r.stderr).toMatch(/^writev\(1<(socket|pipe):\[\d+\]>, \[\{iov_base="hello, world"/m);
    expect(r.stderr).not.toContain('/dev/stdout');
  });

  it('-f -e trace=%process -y on stderr', async ({ expect }) => {
    const w = fs.mkdtempSync(path.join(dir, 'p-'));
    fs.copyFileSync(debianBin('x86_64', 'busybox'), path.join(w, 'busybox'));
    fs.chmodSync(path.join(w, 'busybox'), 0o755);
    const r = await runCli(['run', '-f', '-e', 'trace=%process', './busybox', 'sh', '-c', './busybox true; ./busybox echo hi'], { cwd: w });
    expect(r.code).toBe(0);
    const names = r.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\[pid +\d+\] /, ''))
      .map((l) => (l.startsWith('+++') || l.startsWith('---') ? l : l.slice(0, l.indexOf('('))));
    // busybox sh catches SIGCHLD. Linux lets the woken wait4 return the child first, then runs the
    // handler; tslinux's kernel delivers the signal first, so the wait4 shows as interrupted
    // ("= ? ERESTARTSYS") and restarts after the handler.
    expect(names).toEqual([
      'clone',
      'execve',
      'exit_group',
      '+++ exited with 0 +++',
      'wait4',
      '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1001, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---',
      'wait4',
      'wait4',
      'execve',
      'exit_group',
      '+++ exited with 0 +++',
    ]);
    expect(r.stderr).toMatch(/\nwait4\(-1, 0x[0-9a-f]+, 0, NULL\) = \? ERESTARTSYS \(To be restarted if SA_RESTART is set\)\n--- SIGCHLD/);
  });

  it('a bad -e trace= value: exit 2 and strace\'s message after the option', async ({ expect }) => {
    const r = await runCli(['run', '-e', 'trace=nosuch', X('hello')]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: "tslinux: -e trace=nosuch: invalid system call 'nosuch'\n" });
  });

  it('tslinux explain NAME', async ({ expect }) => {
    const r = await runCli(['explain', 'openat']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('numbers:   x86_64 257, aarch64 56');
    expect(r.stdout).toContain('handler:   syscalls/fs.ts');
    const bad = await runCli(['explain', 'nosuchcall']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('tslinux: unknown syscall "nosuchcall" (not in the x86_64 or aarch64 tables)\n');
  });
});

// ---- explain ------------------------------------------------------------------------------------------

describe('explain', () => {
  it('an implemented call: numbers, arguments, return kind, status, handler, classes, summary', () => {
    const t = explain('openat');
    expect(t).toContain('numbers:   x86_64 257, aarch64 56');
    expect(t).toContain('  1. dirfd (dirfd: a directory descriptor, or AT_FDCWD)');
    expect(t).toContain('  4. mode (mode: permission bits, shown in octal)');
    expect(t).toContain('returns:   fd: a new file descriptor, or -1 with errno');
    expect(t).toContain('status:    implemented (O_TMPFILE on tmpfs only; EOPNOTSUPP on host and overlay mounts)');
    expect(t).toContain('handler:   syscalls/fs.ts (family "fs")');
    expect(t).toContain('classes:   %file %desc');
    expect(t).toMatch(/Opens \(and with O_CREAT creates\)/);
  });

  it('calls on one arch only, missing calls, numbers', () => {
    const open = explain('open');
    expect(open).toContain('numbers:   x86_64 2, aarch64 not on this arch');
    const missing = explain('kexec_load');
    expect(missing).toContain('status:    missing');
    expect(missing).toContain('arguments: not declared in tslinux');
    expect(missing).toContain('handler:   none');
    expect(missing).toContain('See man 2 kexec_load.');
    expect(explain('56', 'aarch64')).toMatch(/^openat\n/);
    expect(() => explain('nosuchcall')).toThrow(/unknown syscall/);
  });

  it('every implemented call has a summary and its handler file exists', () => {
    for (const f of FAMILIES) {
      for (const d of f.syscalls) {
        const t = explain(d.name);
        expect(t, d.name).not.toContain('See man 2');
        expect(t, d.name).not.toContain('file not found');
      }
    }
  });
});
