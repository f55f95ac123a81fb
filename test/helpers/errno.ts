// The Linux error a kernel-level call throws, for tests of code below the
// syscall layer (VFS, fd table, memory, /proc): its code ("ENOENT"), or
// undefined when the call succeeds. Anything that is not a LinuxError is
// rethrown, so a host exception still fails the test.
import { LinuxError } from '../../src/kernel/errors.ts';

export function errno(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof LinuxError) return e.code;
    throw e;
  }
  return undefined;
}
