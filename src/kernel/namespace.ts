// The guest's filesystem view: an in-memory root with only what the guest is
// given mounted on it. By default: the host's current directory at its own
// path (read-write), a private /tmp, a synthetic /dev, /proc, and a small
// synthetic /etc. Nothing else of the host is visible.
import * as path from 'node:path';
import { isatty } from 'node:tty';
import { LaunchError, toGuestPath, type Kernel } from './kernel.ts';
import { fail } from './errors.ts';
import { ProcFs } from './procfs.ts';
import { HostStreamFile, StreamNode, hostFdStat } from './stdio.ts';
import { DevFs } from './vfs/devfs.ts';
import { HostFs } from './vfs/hostfs.ts';
import { MemFs } from './vfs/memfs.ts';
import { Vfs } from './vfs/vfs.ts';
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
}

/** Device numbers for st_dev, one per filesystem. */
const DEV = { rootfs: 1, dev: 5, proc: 4, tmp: 0x2a, firstHost: 0x800 };

export function buildFilesystem(kernel: Kernel, opts: NamespaceOptions): Vfs {
  const rootfs = new MemFs({ type: 'rootfs', dev: DEV.rootfs });
  const vfs = new Vfs(rootfs);
  addSyntheticEtc(rootfs, kernel);
  vfs.mount('/dev', new DevFs({ dev: DEV.dev, tty: () => openHostTty(rootfs) }), 'devtmpfs', 'nosuid');
  vfs.mount(
    '/proc',
    new ProcFs(DEV.proc, {
      processes: () => [kernel.proc],
      current: () => kernel.proc,
      vfs: () => vfs,
      hostname: kernel.hostname,
      bootNs: () => kernel.monotonicNs(),
    }),
    'proc',
    'nosuid,nodev,noexec',
  );
  vfs.mount('/tmp', new MemFs({ type: 'tmpfs', dev: DEV.tmp }), 'tmpfs', 'nosuid,nodev');
  let dev = DEV.firstHost;
  if (opts.mountCwd) {
    vfs.mount(toGuestPath(opts.hostCwd), new HostFs({ hostRoot: opts.hostCwd, dev: dev++ }), opts.hostCwd);
  }
  for (const m of opts.mounts) {
    const hostRoot = path.resolve(m.host);
    let st: fs.Stats;
    try {
      st = fs.statSync(hostRoot);
    } catch {
      throw new LaunchError(`--mount ${m.host}: no such directory`);
    }
    if (!st.isDirectory()) throw new LaunchError(`--mount ${m.host}: not a directory`);
    vfs.mount(path.posix.normalize(m.guest), new HostFs({ hostRoot, dev: dev++, readOnly: m.readOnly }), hostRoot);
  }
  return vfs;
}

/** /dev/tty: the first of the host's stdio fds that is a terminal. */
function openHostTty(rootfs: MemFs): HostStreamFile {
  const fd = [0, 1, 2].find((n) => isatty(n));
  if (fd === undefined) fail('ENXIO', 'no controlling terminal');
  return new HostStreamFile(new StreamNode(rootfs, () => hostFdStat(fd, 0), 'tty'), fd);
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
  rootfs.addFile('etc/hosts', `127.0.0.1\tlocalhost\n127.0.1.1\t${kernel.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  rootfs.addFile('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files\n');
}
