// `tslinux explain NAME`: what one syscall is, for someone reading a trace.
// Its number on each arch, its declared arguments and their kinds, what it
// returns, whether tslinux implements it (and the declaration's note), what
// Linux does (the declaration's summary, written from the man pages; a few
// calls not implemented yet have one here; `man 2 NAME` for the rest), its
// strace classes, and the file whose handler implements it. Kinds and
// return kinds explain themselves (src/kernel/syscall-kinds.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARCHES } from './arch/index.ts';
import { packageRoot } from './package-root.ts';
import { FAMILIES } from '../syscalls/index.ts';
import type { SyscallDecl } from './kernel/syscall-decl.ts';
import { KINDS, RETURN_KINDS } from './kernel/syscall-kinds.ts';
import { CLASS_NAMES, classMembers } from './trace/filter.ts';

/**
 * What Linux does, for calls tslinux does not implement yet (a declared
 * call carries its own summary: SyscallDecl.summary). A call moves from
 * here to its declaration when it is implemented (test/syscall-kinds.test.ts
 * checks that none is in both places).
 */
export const UNDECLARED_SUMMARIES: Readonly<Record<string, string>> = {
  readahead: 'Reads a range of a file into the page cache ahead of use.',
  utime: "Sets a file's access and modification times in seconds.",
  futimesat: "Sets a file's access and modification times relative to a directory descriptor (obsolete; see utimensat).",
  openat2: 'openat with an extensible struct open_how, including path-resolution restrictions (RESOLVE_*).',
  pidfd_open: 'Returns a descriptor referring to a process, for polling its exit or sending it signals.',
  pidfd_send_signal: 'Sends a signal to the process a pidfd refers to.',
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
  unshare: 'Moves the calling process into new namespaces, or stops sharing resources (descriptors, fs information) it shared with others.',
  setns: 'Moves the calling thread into the namespace a descriptor refers to.',
  process_vm_readv: "Copies data from another process's memory into the caller's.",
  process_vm_writev: "Copies data from the caller's memory into another process's.",
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
        lines.push(`  ${i + 1}. ${argName} (${kind}: ${KINDS[kind].help})`);
      });
    }
    field('returns', RETURN_KINDS[decl.ret ?? 'int'].help);
    field('status', `implemented${decl.note ? ` (${decl.note})` : ''}`);
    const file = `syscalls/${family}.ts`;
    // An installed package ships the built code, not syscalls/: nothing to check there.
    const sources = fs.existsSync(path.join(packageRoot(), 'syscalls'));
    const missing = sources && !fs.existsSync(path.join(packageRoot(), file));
    field('handler', `${file}${missing ? ' (file not found)' : ''} (family "${family}")`);
  } else {
    field('arguments', 'not declared in tslinux');
    field('status', 'missing: tslinux returns ENOSYS (and names the call once on stderr)');
    field('handler', 'none');
  }
  const classes = CLASS_NAMES.filter((c) => !c.startsWith('%%') && classMembers(c)?.has(name) && c !== '%net');
  field('classes', classes.length ? `${classes.join(' ')} (strace -e trace= classes)` : 'none');
  lines.push('');
  lines.push(wrap(decl?.summary ?? UNDECLARED_SUMMARIES[name] ?? `See man 2 ${name}.`, 78));
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
