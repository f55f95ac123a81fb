// What execve(2) does before the point of no return: check that the file
// may be executed, read it, and either take it as an ELF executable (with
// its PT_INTERP dynamic loader found, opened and checked, as Linux's
// load_elf_binary does before begin_new_exec) or, for a "#!" script, run its
// interpreter instead (Linux's fs/binfmt_script.c, up to
// BINPRM_MAX_RECURSION interpreters deep). The guest's execve
// (syscalls/lifecycle.ts) and the command line's program (launch.ts) both
// come through here, so a program named to tslinux runs exactly as the same
// path exec'ed inside the guest would.
import { ARCHES } from '../arch/index.ts';
import type { Arch } from '../arch/types.ts';
import { LinuxError, errnoMessage, fail } from '../kernel/errors.ts';
import { MAY_EXEC, checkPermission, type Identity } from '../kernel/vfs/permission.ts';
import type { Resolved, Vfs } from '../kernel/vfs/vfs.ts';
import { S_IFMT, S_IFREG, type StatInfo } from '../kernel/vfs/types.ts';
import { ElfError, parseElf, type ElfArch } from './elf.ts';

/** How many #! interpreters may chain (BINPRM_MAX_RECURSION). */
export const MAX_INTERPRETER_DEPTH = 4;

/** ENOEXEC for an ELF file tslinux cannot load, with the loader's reason (32-bit, dynamically linked...). */
export class NotLoadable extends LinuxError {
  constructor(readonly elf: ElfError) {
    super('ENOEXEC', elf.message);
  }
}

/**
 * The program's PT_INTERP cannot be used: missing (ENOENT, or whatever its
 * lookup gave), not executable (EACCES), or not an ELF loader of the
 * program's arch and class (ELIBBAD, as load_elf_binary answers). `path` is
 * the interpreter as the program names it.
 */
export class InterpreterError extends LinuxError {
  constructor(
    code: LinuxError['code'],
    readonly path: string,
    readonly reason: string,
  ) {
    super(code, `interpreter ${path}: ${reason}`);
  }
}

/** The dynamic loader an ELF program names, read and checked. */
export interface Interpreter {
  /** As PT_INTERP names it. */
  path: string;
  bytes: Uint8Array;
  /** The file itself (its canonical path and identity name its mappings). */
  file: Resolved;
}

/** Where the exec happens: whose rights, which namespace, how a #! interpreter's path is resolved. */
export interface ExecEnv {
  vfs: Vfs;
  who: Identity;
  /** Resolve an interpreter's path as the exec'ing process would (open_exec: from its cwd, following symlinks). */
  resolve(path: string): Resolved;
}

/** An executable ready to load: the ELF bytes and what the new image's stack and /proc/self show. */
export interface Executable {
  bytes: Uint8Array;
  arch: Arch;
  argv: string[];
  /** The file the image comes from (the ELF: the last interpreter for a script), for /proc/self/exe. */
  file: Resolved;
  /** The PT_INTERP loader, for a dynamically linked program. */
  interp: Interpreter | null;
  /** AT_EXECFN: the path as execve got it. */
  execfn: string;
}

/**
 * Resolve `file` (found at `path`) with argv into an ELF image, following
 * #! lines. Errors are Linux's, as LinuxErrors: EACCES (not a regular file,
 * a noexec mount, no x bit for the caller), ENOEXEC (neither ELF nor
 * script, or an ELF tslinux cannot load), ELOOP (too many interpreters),
 * and whatever resolving an interpreter gives (ENOENT...). `onFile` is
 * told each path before it is looked at, so a caller can name the one an
 * error is about.
 */
export function resolveExecutable(env: ExecEnv, file: Resolved, path: string, argv: string[], onFile?: (path: string) => void): Executable {
  // AT_EXECFN stays the path execve was given, script or not (bprm->exec).
  const execfn = path;
  for (let depth = 0; ; depth++) {
    onFile?.(path);
    const bytes = readExecutable(file, checkExecutable(env, file));
    const script = parseShebang(bytes);
    if (script) {
      if (depth >= MAX_INTERPRETER_DEPTH) fail('ELOOP');
      // The script's path replaces argv[0]; the interpreter and its one optional argument come first.
      argv = [script.interp, ...(script.arg ? [script.arg] : []), path, ...argv.slice(1)];
      path = script.interp;
      onFile?.(path);
      file = env.resolve(path);
      continue;
    }
    let elf;
    try {
      elf = parseElf(bytes);
    } catch (e) {
      if (e instanceof ElfError) throw new NotLoadable(e);
      throw e;
    }
    const interp = elf.interp === null ? null : openInterpreter(env, elf.interp, elf.arch, onFile);
    return { bytes, arch: ARCHES[elf.arch], argv, file, execfn, interp };
  }
}

/**
 * Find and check a program's PT_INTERP as load_elf_binary does before the
 * point of no return: open_exec (looked up in the guest's namespace from the
 * caller's root and cwd, following symlinks; a regular file the caller may
 * execute), then an ELF header of the same machine (elf_check_arch) and
 * class, else ELIBBAD. The loader's own PT_INTERP, if any, is ignored.
 */
function openInterpreter(env: ExecEnv, path: string, arch: ElfArch, onFile?: (path: string) => void): Interpreter {
  onFile?.(path);
  let file: Resolved;
  let bytes: Uint8Array;
  try {
    file = env.resolve(path);
    bytes = readExecutable(file, checkExecutable(env, file));
  } catch (e) {
    if (!(e instanceof LinuxError)) throw e;
    throw new InterpreterError(e.code, path, errnoText(e));
  }
  let loader;
  try {
    loader = parseElf(bytes);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    throw new InterpreterError('ELIBBAD', path, e.message);
  }
  if (loader.arch !== arch) throw new InterpreterError('ELIBBAD', path, `an ${loader.arch} file, for an ${arch} program`);
  return { path, bytes, file };
}

function errnoText(e: LinuxError): string {
  return errnoMessage(e.errno);
}

/**
 * May the caller execute this file? Regular, on an exec-allowed mount, with an
 * x bit for it (may_open, path_noexec). Returns the file's stat, which the
 * read that follows uses as the file's identity.
 */
export function checkExecutable(env: ExecEnv, file: Resolved): StatInfo {
  const st = statOf(file);
  if ((st.mode & S_IFMT) !== S_IFREG) fail('EACCES');
  const mount = env.vfs.mounts().find((m) => m.fs === file.fs);
  if (mount?.options.split(',').includes('noexec')) fail('EACCES');
  checkPermission(st, env.who, MAY_EXEC);
  return st;
}

/** What /proc/self/maps names a file's mappings with: its canonical path, device and inode. */
export function mappedFileId(file: Resolved): { name: string; dev: number; ino: number } {
  const st = statOf(file);
  return { name: file.path, dev: st.dev, ino: st.ino };
}

function statOf(file: Resolved): StatInfo {
  const n = file.node as Resolved['node'] & { info?: () => StatInfo };
  return typeof n.info === 'function' ? n.info() : file.fs.stat(file.node);
}

/**
 * The contents of executables exec'ed lately, by what identifies a host
 * file's content: a shell that starts the same program a thousand times reads
 * its megabytes once (reading busybox again was 1.3 of the 15 ms a fork+exec
 * of `busybox true` cost). Only files whose content has a stable key
 * (stableContentKey: read-only host files, also under an overlay); others
 * are read at each exec. The bytes are shared between execs: the loader only
 * reads them (segments are copied into guest memory).
 */
const recentExecutables = new Map<string, Uint8Array>();

/**
 * What names a file's content as long as it stays the same, or null when
 * nothing can: for a file on a read-only host mount, the mount, the host's
 * device and inode, size, mtime and ctime from a fresh stat(2) of the
 * host's own file (`st` when the caller has just taken it). The guest cannot
 * change the file; a host process that does changes one of them, short of a
 * same-size rewrite within one tick of the host's file-time clock. A file
 * an overlay (--root's tree, --overlay) shows from its read-only host layer,
 * not copied up, is that file (so the programs of a --root tree are cached
 * too). In-memory and writable files have none.
 */
function stableContentKey(fsOf: Resolved['fs'], node: Resolved['node'], st?: StatInfo): string | null {
  const f = fsOf as Resolved['fs'] & { readOnly?: boolean; dev?: number; lower?: Resolved['fs'] };
  if (f.type === 'hostfs') {
    if (f.readOnly !== true) return null;
    const s = st ?? f.stat(node);
    return `${f.dev}:${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  }
  const n = node as Resolved['node'] & { upper?: unknown; lower?: Resolved['node'] | null };
  if (f.type === 'overlay' && f.lower && n.upper === null && n.lower) return stableContentKey(f.lower, n.lower);
  return null;
}

const RECENT_EXECUTABLES = 8;
const RECENT_EXECUTABLE_BYTES = 64 * 2 ** 20;

function readExecutable(file: Resolved, st: StatInfo): Uint8Array {
  const key = stableContentKey(file.fs, file.node, st);
  if (key === null) return readWhole(file);
  const known = recentExecutables.get(key);
  if (known) {
    // Most recently used last: the first key is the one to drop.
    recentExecutables.delete(key);
    recentExecutables.set(key, known);
    return known;
  }
  const bytes = readWhole(file);
  // A file that changed while it was read is not remembered under its old identity.
  if (bytes.length === st.size) {
    recentExecutables.set(key, bytes);
    let total = 0;
    for (const b of recentExecutables.values()) total += b.length;
    for (const [k, b] of recentExecutables) {
      if (recentExecutables.size <= RECENT_EXECUTABLES && total <= RECENT_EXECUTABLE_BYTES) break;
      recentExecutables.delete(k);
      total -= b.length;
    }
  }
  return bytes;
}

function readWhole(file: Resolved): Uint8Array {
  const f = file.fs.open(file.node, { read: true, write: false, append: false, truncate: false, nonblock: false });
  try {
    const out = new Uint8Array(f.size());
    let done = 0;
    while (done < out.length) {
      const n = f.read(out.subarray(done), done);
      if (n <= 0) break;
      done += n;
    }
    return out.subarray(0, done);
  } finally {
    f.close();
  }
}

/** The "#!interpreter [arg]" line of a script, as Linux's binfmt_script reads it (the first 256 bytes). */
export function parseShebang(bytes: Uint8Array): { interp: string; arg: string | null } | null {
  if (bytes[0] !== 0x23 || bytes[1] !== 0x21) return null;
  const head = Buffer.from(bytes.subarray(2, 256)).toString('latin1');
  const line = head.split('\n')[0]!.replace(/[ \t]+$/, '').replace(/^[ \t]+/, '');
  if (!line) fail('ENOEXEC');
  const sep = line.search(/[ \t]/);
  if (sep < 0) return { interp: line, arg: null };
  return { interp: line.slice(0, sep), arg: line.slice(sep).trim() || null };
}
