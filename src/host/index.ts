// The host layer: how tslinux reaches host files and directories, and the
// one place that chooses how (hostAccess()).
//
// A host mount (src/kernel/vfs/hostfs.ts) names every host object as "this
// name in that directory", one component at a time, and never lets the host
// follow a symlink: the guest's namespace resolves guest symlinks itself.
// What the directory IS depends on the host:
//
//   handles (Linux, x86-64 and arm64 hosts with glibc >= 2.30 and /proc):
//     an open O_PATH descriptor (linux.ts). It names the directory's inode,
//     not its path: renaming the directory, or putting a symlink where it was,
//     changes nothing for whoever holds the descriptor. Every call is an *at
//     call on such a descriptor with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, or acts
//     on the descriptor's own object (through /proc/self/fd/N, which Linux
//     resolves to the open object itself, not to a path).
//   paths (every other host: Windows, macOS, musl): the directory's absolute
//     host path (paths.ts), through node:fs. A path can come to mean another
//     object, so the host mount re-checks a directory's device and inode
//     number before each use (see HostAccess.handlesMayMove): a guest, whose
//     calls run one at a time, cannot slip a symlink in between; another HOST
//     process racing to swap a directory between the check and the use could.
//
// The guarantees each host gives are stated in the README's "Threat model".
import type { HostAccess } from './access.ts';
import { linuxHandles } from './linux.ts';
import { checkedPaths } from './paths.ts';

export { HostError, observeHostCalls, type HostAccess, type HostCall, type HostDirEntry, type HostHandle, type HostStat, type HostStatFs } from './access.ts';

// ---- choosing ------------------------------------------------------------------------

let chosen: HostAccess | undefined;

/**
 * The host layer for this host, chosen once: handles where linux.ts can be
 * loaded and checked, checked paths elsewhere. TSLINUX_HOST_ACCESS=paths
 * forces the fallback (its tests run on Linux that way).
 */
export function hostAccess(): HostAccess {
  if (!chosen) {
    const handles = process.env.TSLINUX_HOST_ACCESS === 'paths' ? 'forced by TSLINUX_HOST_ACCESS=paths' : linuxHandles();
    chosen = typeof handles === 'string' ? checkedPaths(handles) : handles;
  }
  return chosen;
}
