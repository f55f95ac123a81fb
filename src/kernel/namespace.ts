// The guest's filesystem view: an in-memory root with only what the guest is
// given mounted on it. By default: the host's current directory at its own
// path (read-write), a private /tmp, a synthetic /dev, /proc, a few read-only
// /sys files, and a small synthetic /etc. Nothing else of the host is visible.
import * as path from 'node:path';
import { hostIsatty as isatty } from '../host/libc.ts';
import type { Kernel } from './kernel.ts';
import { hostProcNet, interfacesOf } from './netlink.ts';
import { LaunchError, toGuestPath } from './kernel-options.ts';
import { LinuxError, fail } from './errors.ts';
import { ProcFs } from './procfs.ts';
import { HostStreamFile, StreamNode, hostFdStat } from './stdio.ts';
import { DevFs } from './vfs/devfs.ts';
import { HostFs } from './vfs/hostfs.ts';
import { MemFs } from './vfs/memfs.ts';
import { SysFs } from './vfs/sysfs.ts';
import { Vfs } from './vfs/vfs.ts';
import { OverlayFs } from './vfs/overlayfs.ts';
import type { FileSystem } from './vfs/types.ts';
import type { MemoryBudget } from './memory.ts';
import * as fs from 'node:fs';

export interface MountSpec {
  /** Host directory. */
  host: string;
  /** Absolute guest path. */
  guest: string;
  readOnly?: boolean;
}

export interface NamespaceOptions {
  cwd: string;
  mountCwd: boolean;
  hostCwd: string;
  mounts: MountSpec[];
  /** A host directory to use as the guest's root filesystem (--root DIR, read-only; DIR:rw read-write). */
  root?: string;
  /** Every host mount read-only (--ro). */
  readOnly?: boolean;
  /** Copy-on-write over every host mount: writes stay in memory (--overlay). */
  overlay?: boolean;
  /** Guest paths that get their own in-memory filesystem (--tmpfs). */
  tmpfs?: string[];
}

/** What the namespace built, for --diff. */
export interface Overlays {
  list: { path: string; fs: OverlayFs }[];
}

/** The exit status of a run whose options describe a view that cannot be built (as for a usage error). */
const EXIT_USAGE = 2;

/** Device numbers for st_dev, one per filesystem. */
const DEV = { rootfs: 1, dev: 5, proc: 4, sys: 0x15, tmp: 0x2a, firstHost: 0x800 };

/** CPUs the guest sees: one, as sched_getaffinity reports (tslinux runs one guest thread at a time). */
const GUEST_CPUS = 1;

export function buildFilesystem(kernel: Kernel, opts: NamespaceOptions, overlays: Overlays = { list: [] }): Vfs {
  let dev = DEV.firstHost;
  // In-memory files take their times from the kernel's clock (a virtual one under --deterministic),
  // and their memory from the run's budget (--memory-limit).
  const now = (): bigint => kernel.clock.realtimeNs();
  const budget = kernel.memoryBudget;
  /** A host directory as the guest sees it: plain, read-only, or under a copy-on-write overlay. */
  const hostView = (guestPath: string, hostRoot: string, readOnly: boolean): FileSystem => {
    // The host user's own files show as the guest's (--uid/--gid), as in a user namespace.
    const ids = { guestUid: kernel.options.uid, guestGid: kernel.options.gid };
    const host = new HostFs({ hostRoot, dev: dev++, readOnly: readOnly || opts.readOnly || opts.overlay, ...ids });
    if (!opts.overlay) return host;
    const ov = new OverlayFs({ lower: host, dev: dev++, now, uid: kernel.options.uid, gid: kernel.options.gid, budget });
    overlays.list.push({ path: guestPath, fs: ov });
    return ov;
  };
  let rootfs: FileSystem;
  const root = opts.root !== undefined ? parseRoot(opts.root) : null;
  if (root) {
    if (!isDirectory(root.dir)) throw new LaunchError(`--root ${opts.root}: ${fs.existsSync(root.dir) ? 'not a directory' : 'no such directory'}`, EXIT_USAGE);
    rootfs = rootView(root, opts, hostView, () => new HostFs({ hostRoot: root.dir, dev: dev++, readOnly: true, guestUid: kernel.options.uid, guestGid: kernel.options.gid }), { dev: () => dev++, now, budget, uid: kernel.options.uid, gid: kernel.options.gid });
  } else {
    const mem = new MemFs({ type: 'rootfs', dev: DEV.rootfs, now, budget });
    addSyntheticEtc(mem, kernel);
    rootfs = mem;
  }
  const vfs = new Vfs(rootfs, root ? root.dir : 'rootfs');
  const mount = vfs.mount.bind(vfs);
  // A mount point missing from a host --root is one clear line, not a stack trace.
  vfs.mount = (guestPath, fsys, source, options) => {
    try {
      // A read-write --root gets the mount points it lacks as directories, as runc makes them.
      if (root?.writable && !opts.readOnly && !opts.overlay) makeDirs(vfs, guestPath);
      mount(guestPath, fsys, source, options);
    } catch (e) {
      if (e instanceof LinuxError) throw new LaunchError(`cannot mount ${guestPath}: ${e.message}${root ? ' (create it in the --root tree)' : ''}`, EXIT_USAGE);
      throw e;
    }
  };
  vfs.mount('/dev', new DevFs({ dev: DEV.dev, now, budget, random: (buf) => kernel.entropy.fill(buf), tty: () => openHostTty(rootfs, kernel) }), 'devtmpfs', 'nosuid');
  vfs.mount(
    '/proc',
    new ProcFs(DEV.proc, {
      processes: () => kernel.liveProcesses(),
      current: () => kernel.currentTask.process,
      currentTid: () => kernel.currentTask.tid,
      vfs: () => vfs,
      hostname: kernel.hostname,
      bootNs: () => kernel.monotonicNs(),
      realtimeNs: now,
      interfaces: () => interfacesOf(kernel.hostNet !== null),
      hostNetFile: (name) => (kernel.hostNet ? hostProcNet(name) : null),
    }),
    'proc',
    'nosuid,nodev,noexec',
  );
  vfs.mount('/sys', new SysFs({ dev: DEV.sys, ncpu: GUEST_CPUS, now }), 'sysfs', 'ro,nosuid,nodev,noexec');
  vfs.mount('/tmp', new MemFs({ type: 'tmpfs', dev: DEV.tmp, now, budget }), 'tmpfs', 'nosuid,nodev');
  if (opts.mountCwd) {
    const guest = toGuestPath(opts.hostCwd);
    vfs.mount(guest, hostView(guest, opts.hostCwd, false), opts.hostCwd);
  }
  for (const m of opts.mounts) {
    const hostRoot = path.resolve(m.host);
    if (!isDirectory(hostRoot)) throw new LaunchError(`--mount ${m.host}: ${fs.existsSync(hostRoot) ? 'not a directory' : 'no such directory'}`, EXIT_USAGE);
    const guest = path.posix.normalize(m.guest);
    vfs.mount(guest, hostView(guest, hostRoot, m.readOnly ?? false), hostRoot);
  }
  let tmpDev = DEV.tmp + 1;
  for (const t of opts.tmpfs ?? []) {
    if (!t.startsWith('/')) throw new LaunchError(`--tmpfs ${t}: not an absolute guest path`, EXIT_USAGE);
    vfs.mount(path.posix.normalize(t), new MemFs({ type: 'tmpfs', dev: tmpDev++, now, budget }), 'tmpfs', 'nosuid,nodev');
  }
  return vfs;
}

/** --root DIR, DIR:ro or DIR:rw. */
export function parseRoot(spec: string): { dir: string; writable: boolean } {
  const m = /^(.*):(ro|rw)$/.exec(spec);
  return { dir: path.resolve(m ? m[1]! : spec), writable: m?.[2] === 'rw' };
}

/**
 * The --root tree as the guest's "/". Read-only by default: an overlay that
 * refuses every change (EROFS) and only holds, in memory, the mount points
 * the namespace makes for /proc, /dev, /sys, /tmp, the working directory and
 * each --mount where the tree lacks them (a container runtime makes those in
 * its rootfs; a read-only tree cannot take them). With --overlay the same
 * overlay takes the guest's changes in memory (--diff lists them). DIR:rw is
 * the host tree itself, read-write (--ro makes it read-only again); mount
 * points it lacks are made in it, as runc does.
 */
function rootView(
  root: { dir: string; writable: boolean },
  opts: NamespaceOptions,
  hostView: (guestPath: string, hostRoot: string, readOnly: boolean) => FileSystem,
  readOnlyHost: () => HostFs,
  overlay: { dev: () => number; now: () => bigint; budget: MemoryBudget; uid?: number; gid?: number },
): FileSystem {
  if (root.writable && !opts.readOnly) return hostView('/', root.dir, false);
  if (opts.overlay) return hostView('/', root.dir, true);
  return new OverlayFs({ lower: readOnlyHost(), dev: overlay.dev(), now: overlay.now, uid: overlay.uid, gid: overlay.gid, budget: overlay.budget, readOnly: true });
}

/** mkdir -p of a guest path, through the filesystems that hold it (a host tree by handle). */
function makeDirs(vfs: Vfs, guestPath: string): void {
  let here = vfs.root();
  for (const name of guestPath.split('/').filter(Boolean)) {
    const step = vfs.resolveForCreate(name, { base: here, follow: true });
    if (step.found) {
      here = step.found;
      continue;
    }
    const { dir, fs: fsys, dirPath, name: missing } = step.missing;
    here = { node: fsys.mkdir(dir, missing, 0o755), fs: fsys, path: dirPath === '/' ? `/${missing}` : `${dirPath}/${missing}` };
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** /dev/tty: the first of the host's stdio fds that is a terminal. */
function openHostTty(rootfs: FileSystem, kernel: Kernel): HostStreamFile {
  const fd = [0, 1, 2].find((n) => isatty(n));
  if (fd === undefined) fail('ENXIO', 'no controlling terminal');
  return new HostStreamFile(new StreamNode(rootfs, () => hostFdStat(fd, 0), 'tty'), fd, kernel.hostStreamFor(fd));
}

/** passwd, group, hostname, hosts and nsswitch.conf that agree with the guest's uid and gid. */
function addSyntheticEtc(rootfs: MemFs, kernel: Kernel): void {
  const uid = kernel.options.uid ?? (process.getuid?.() ?? 1000);
  const gid = kernel.options.gid ?? (process.getgid?.() ?? 1000);
  const user = uid === 0 ? 'root' : 'user';
  const group = gid === 0 ? 'root' : 'user';
  const passwd = ['root:x:0:0:root:/root:/bin/sh'];
  if (uid !== 0) passwd.push(`${user}:x:${uid}:${gid}:${user}:/home/${user}:/bin/sh`);
  passwd.push('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin');
  const groups = ['root:x:0:'];
  if (gid !== 0) groups.push(`${group}:x:${gid}:`);
  groups.push('nogroup:x:65534:');
  rootfs.addFile('etc/passwd', passwd.join('\n') + '\n');
  rootfs.addFile('etc/group', groups.join('\n') + '\n');
  rootfs.addFile('etc/hostname', kernel.hostname + '\n');
  const hosts = `127.0.0.1\tlocalhost\n127.0.1.1\t${kernel.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
  if (kernel.options.net === 'host') {
    addHostResolver(rootfs, hosts);
    return;
  }
  rootfs.addFile('etc/hosts', hosts);
  rootfs.addFile('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files\n');
}

/**
 * --net host: the guest resolves names as the host does. As Docker gives a
 * container of --network host the host's /etc/resolv.conf and /etc/hosts,
 * the synthetic /etc gets copies of them, taken at start and read-only
 * (mode 0444: root's files a guest cannot change; under --root the root's
 * own /etc is used). A host file that cannot be read leaves the synthetic
 * hosts file and no resolv.conf (the resolver then asks 127.0.0.1:53, as
 * resolv.conf(5) says).
 */
function addHostResolver(rootfs: MemFs, fallbackHosts: string): void {
  const read = (file: string): string | null => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  };
  const resolv = read('/etc/resolv.conf');
  if (resolv !== null) rootfs.addFile('etc/resolv.conf', resolv, 0o444);
  rootfs.addFile('etc/hosts', read('/etc/hosts') ?? fallbackHosts, 0o444);
  rootfs.addFile('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
}
