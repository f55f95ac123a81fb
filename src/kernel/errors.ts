// Linux errors as typed values. A handler throws a LinuxError; the dispatcher
// turns it into -errno in the guest's return register. Anything else a
// handler throws is a bug in tslinux, reported as such (see KernelBug).
import { ERRNO, ERRNO_MESSAGES, ERRNO_NAMES } from './errno-table.ts';

export type ErrnoName = keyof typeof ERRNO;

export class LinuxError extends Error {
  readonly errno: number;
  constructor(
    readonly code: ErrnoName,
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.errno = ERRNO[code];
  }
}

/** Throw-expression helper: `return fail('EBADF')`. */
export function fail(code: ErrnoName, detail?: string): never {
  throw new LinuxError(code, detail);
}

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

export function errnoMessage(errno: number): string {
  return ERRNO_MESSAGES[errno] ?? `Unknown error ${errno}`;
}

/** A handler misbehaved (threw a non-Linux error). The run stops and says so. */
export class KernelBug extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

/** Map a Node.js fs error code (ENOENT, EACCES, ...) to a Linux error. */
export function fromHostError(e: unknown): LinuxError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && code in ERRNO) return new LinuxError(code as ErrnoName);
  if (code === 'ERR_FS_FILE_TOO_LARGE') return new LinuxError('EFBIG');
  if (code === 'ERR_OUT_OF_RANGE' || code === 'ERR_INVALID_ARG_VALUE') return new LinuxError('EINVAL');
  return new LinuxError('EIO', String((e as Error)?.message ?? e));
}
