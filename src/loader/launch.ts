// The program named on the command line (or to the library's run), from
// the host file to the first image: open it once, make it visible to the
// guest at its own absolute path, and exec it as the guest's execve would
// (binfmt.ts: the x bit, #! scripts through their interpreter in the
// guest's view, ELF checks, the PT_INTERP loader). Under --root the program
// is a path in the guest's view instead, resolved as after chroot. Every
// failure is one LaunchError line with the exit status a shell gives: 127
// when a file (or a loader) is missing, 126 when it cannot be executed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LaunchError, toGuestPath } from '../kernel/kernel-options.ts';
import { LinuxError, errnoMessage } from '../kernel/errors.ts';
import { HostFileFs } from '../kernel/vfs/hostfile.ts';
import type { Identity } from '../kernel/vfs/permission.ts';
import type { Resolved, Vfs } from '../kernel/vfs/vfs.ts';
import { InterpreterError, NotLoadable, checkExecutable, resolveExecutable, type ExecEnv, type Executable } from './binfmt.ts';

/** Exit statuses as sh(1) gives them for a command that is missing or cannot run (POSIX 2.8.2). */
export const EXIT_NOT_FOUND = 127;
export const EXIT_CANNOT_EXECUTE = 126;

/** st_dev of the program's single-file mount. */
const PROGRAM_DEV = 0x7f0;

/** The program's host file, open. */
export interface HostProgram {
  /** As named on the command line (for messages and AT_EXECFN). */
  given: string;
  /** The absolute host path of the file itself (symlinks resolved): where the guest sees it. */
  hostPath: string;
  fs: HostFileFs;
}

/**
 * Open the host file once (read-only; every later read goes through this
 * fd). The guest-visible path is the fd's own path (symlinks resolved, as
 * /proc/self/exe shows it natively), read back from the fd where the host
 * can (Linux's /proc/self/fd), so no second lookup by name can see a
 * different file.
 */
export function openProgram(given: string, ids: { host: { uid: number; gid: number }; guest: { uid: number; gid: number } }): HostProgram {
  let fd: number;
  try {
    fd = fs.openSync(given, fs.constants.O_RDONLY);
  } catch (e) {
    throw hostOpenError(given, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new LaunchError(`${given}: Is a directory`, EXIT_CANNOT_EXECUTE);
    if (!st.isFile()) throw new LaunchError(`${given}: Permission denied (not a regular file)`, EXIT_CANNOT_EXECUTE);
    return { given, hostPath: pathOfFd(fd, given), fs: new HostFileFs({ fd, dev: PROGRAM_DEV, hostIds: ids.host, guestIds: ids.guest }) };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function hostOpenError(given: string, e: unknown): LaunchError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new LaunchError(`${given}: No such file or directory`, EXIT_NOT_FOUND);
  if (code === 'EACCES' || code === 'EPERM') return new LaunchError(`${given}: Permission denied`, EXIT_CANNOT_EXECUTE);
  if (code === 'EISDIR') return new LaunchError(`${given}: Is a directory`, EXIT_CANNOT_EXECUTE);
  return new LaunchError(`${given}: cannot open: ${(e as Error).message}`, EXIT_CANNOT_EXECUTE);
}

/** The absolute path of an open file: the kernel's own answer on Linux, else the path resolved once more. */
function pathOfFd(fd: number, given: string): string {
  try {
    // Linux-only: /proc/self/fd/N names the open file itself.
    const p = fs.readlinkSync(`/proc/self/fd/${fd}`);
    if (path.isAbsolute(p) && !p.endsWith(' (deleted)')) return p;
  } catch {
    /* no /proc: not Linux */
  }
  return fs.realpathSync(given);
}

export interface LaunchView {
  vfs: Vfs;
  /** The guest's working directory (relative interpreter paths start there, as open_exec does). */
  cwd: string;
  who: Identity;
}

/**
 * Where the guest sees the program, making it visible if it is not yet:
 * its absolute host path (symlinks resolved), through the cwd or a --mount
 * that already shows it there, or else a read-only single-file mount of it
 * (the directories above it appear in the in-memory root holding only it),
 * and a second one at its absolute path as named when that went through a
 * host symlink.
 */
export function exposeProgram(view: LaunchView, program: HostProgram): { path: string; file: Resolved } {
  const guest = toGuestPath(program.hostPath);
  const seen = tryResolve(view.vfs, guest);
  if (seen) {
    // Already in the view (the cwd, a --mount): the guest's own file is the one to run, and the fd is not needed.
    program.fs.release();
    return { path: guest, file: seen };
  }
  if (!mountProgram(view.vfs, program, guest)) return { path: guest, file: { node: program.fs.root(), fs: program.fs, path: guest } };
  // Named through a host symlink (a linked directory, say): the path as named leads to the same file, as argv[0] does natively.
  const named = toGuestPath(path.resolve(program.given));
  if (named !== guest && !tryResolve(view.vfs, named)) mountProgram(view.vfs, program, named);
  return { path: guest, file: view.vfs.resolve(guest, { base: '/', follow: true }) };
}

/** The single-file mount; false when its mount point cannot be made (a --root tree without those directories). */
function mountProgram(vfs: Vfs, program: HostProgram, at: string): boolean {
  try {
    vfs.mount(at, program.fs, program.hostPath, 'ro,nosuid,nodev');
    return true;
  } catch (e) {
    if (!(e instanceof LinuxError || e instanceof LaunchError)) throw e;
    return false;
  }
}

/** `guestPath` resolved (from `base` when relative), or null when the guest could not reach it. */
function tryResolve(vfs: Vfs, guestPath: string, base = '/'): Resolved | null {
  try {
    return vfs.resolve(guestPath, { base, follow: true });
  } catch (e) {
    if (e instanceof LinuxError) return null;
    throw e;
  }
}

/**
 * Make the program visible and resolve it into its first image, as the
 * guest's execve of it would. argv[0] is kept as given.
 */
export function launchProgram(view: LaunchView, program: HostProgram, argv: string[]): Executable {
  const { file } = exposeProgram(view, program);
  return launch(view, program.given, argv, () => file, false);
}

/**
 * Under --root: the program is a path in the guest's view, resolved from
 * its working directory as after chroot(2) (a host file outside the tree,
 * the cwd and the mounts is not found), then exec'ed as by launchProgram.
 * A name without a slash is looked up in the guest's PATH (`searchPath`,
 * the guest environment's), as `chroot DIR ls` and `docker run IMAGE ls`
 * find it.
 */
export function launchInView(view: LaunchView, given: string, argv: string[], searchPath?: string): Executable {
  const searched = !given.includes('/') && given !== '';
  const target = searched ? findInPath(view, given, searchPath ?? DEFAULT_PATH) : given;
  const exe = launch(view, target, argv, () => execEnv(view).resolve(target), true);
  // execvp hands execve the file it found: that path is AT_EXECFN; argv[0] stays the name.
  return searched ? { ...exe, execfn: target } : exe;
}

/** glibc's execvp search path when PATH is unset (confstr _CS_PATH), as chroot(1) would use. */
export const DEFAULT_PATH = '/bin:/usr/bin';

/**
 * A command name's file, found as a shell does before it execs (bash's
 * search_for_command; execvp(3) tries the same directories in order): the
 * first PATH entry holding a regular file the guest may execute, else the
 * first holding any file (its exec then fails with EACCES, 126), else one
 * line and 127. An empty entry is the working directory.
 */
function findInPath(view: LaunchView, name: string, searchPath: string): string {
  let firstSeen: string | null = null;
  for (const dir of searchPath.split(':')) {
    const candidate = dir === '' ? name : `${dir.replace(/\/+$/, '')}/${name}`;
    const file = tryResolve(view.vfs, candidate, view.cwd);
    if (!file) continue;
    try {
      checkExecutable(execEnv(view), file);
      return candidate;
    } catch (e) {
      if (!(e instanceof LinuxError)) throw e;
      firstSeen ??= candidate;
    }
  }
  if (firstSeen !== null) return firstSeen;
  throw new LaunchError(`${name}: command not found (searched PATH in the guest's view: ${searchPath})`, EXIT_NOT_FOUND);
}

/** The exec's rights and namespace: the view's, with paths resolved from its working directory. */
function execEnv(view: LaunchView): ExecEnv {
  return { vfs: view.vfs, who: view.who, resolve: (p: string) => view.vfs.resolve(p, { base: view.cwd, follow: true }) };
}

function launch(view: LaunchView, given: string, argv: string[], find: () => Resolved, inRoot: boolean): Executable {
  let current = given;
  const env = execEnv(view);
  try {
    const exe = resolveExecutable(env, find(), given, argv, (p) => (current = p));
    // AT_EXECFN: the path the caller says it exec'ed, argv[0] (the program as given, unless a library caller set argv0).
    return { ...exe, execfn: argv[0] ?? given };
  } catch (e) {
    if (!(e instanceof LinuxError)) throw e;
    throw execError(given, current, e, inRoot);
  }
}

/** One line for a failed exec, naming the file it is about; 127 for a missing file, else 126. */
function execError(given: string, failing: string, e: LinuxError, inRoot: boolean): LaunchError {
  const status = e.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
  if (e instanceof InterpreterError) {
    // A dynamic program's loader: missing from the view (no --root, or a root without it), or not one for this program.
    const hint = e.code === 'ENOENT' ? (inRoot ? ' (not in the --root tree)' : ' (a dynamically linked program needs --root DIR with its libraries)') : '';
    const what = e.code === 'ELIBBAD' ? `${e.reason} (${errnoMessage(e.errno)})` : e.reason;
    return new LaunchError(`${given}: interpreter ${e.path}: ${what}${hint}`, status);
  }
  if (failing !== given) {
    // A #! interpreter: bash says "bad interpreter", and whether the host has it but the guest does not see it helps.
    const hidden = e.code === 'ENOENT' && !inRoot && path.isAbsolute(failing) && fs.existsSync(failing) ? ` (${failing} is not in the guest's view; see --mount)` : '';
    return new LaunchError(`${given}: ${failing}: bad interpreter: ${errnoMessage(e.errno)}${hidden}`, status);
  }
  if (e instanceof NotLoadable) {
    const what = e.elf.kind === 'not-elf' ? 'cannot execute binary file: Exec format error (not an ELF file, and no #! line)' : e.elf.message;
    return new LaunchError(`${given}: ${what}`, status);
  }
  return new LaunchError(`${given}: ${errnoMessage(e.errno)}`, status);
}
