// The checked-path fallback (src/host/paths.ts), which hosts without the
// handle layer use (Windows, macOS, other libcs), forced on this host: the
// VFS tests, the filesystem syscall tests, the HostFs handle tests and the
// syscall-level escape cases run through it.
import { describe, expect, it } from 'vitest';
import { hostAccess } from '../src/host/index.ts';
import { describeSwapEscapes } from './helpers/fs-escapes.ts';

// Read once, at the first HostFs (every test file runs in its own process).
process.env.TSLINUX_HOST_ACCESS = 'paths';

describe('the fallback is in use', () => {
  it('hostAccess() is checked paths', () => {
    expect([hostAccess().kind, hostAccess().why]).toEqual(['paths', 'forced by TSLINUX_HOST_ACCESS=paths']);
  });
});

describeSwapEscapes('checked paths');

await import('./vfs.test.ts');
await import('./syscalls-fs.test.ts');
await import('./host-handles.test.ts');
