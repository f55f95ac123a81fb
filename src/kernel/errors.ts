// Linux errors as typed values. A handler throws a LinuxError; the dispatcher
// turns it into -errno in the guest's return register. Anything else a
// handler throws is a bug in tslinux, reported as such (see KernelBug).
import { ERRNO, ERRNO_MESSAGES, ERRNO_NAMES } from './errno-table.ts';

export type ErrnoName = keyof typeof ERRNO;

/**
 * A Linux error result. It is an answer, not a fault, so it carries no stack
 * trace: V8 captures one at every `new Error` (about 15 µs, measured as 16% of
 * a bash `while read` loop's time, where every 1-byte read past a line ends
 * in EAGAIN or a short count), and nothing ever prints it.
 */
export class LinuxError extends Error {
  readonly errno: number;
  constructor(
    readonly code: ErrnoName,
    detail?: string,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(detail ? `${code}: ${detail}` : code);
    } finally {
      Error.stackTraceLimit = limit;
    }
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
