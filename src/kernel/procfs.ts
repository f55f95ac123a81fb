// /proc as tools read it: /proc/self and /proc/<pid>/{exe, cwd, root,
// cmdline, environ, auxv, maps, stat, status, limits, loginuid, sessionid, fd/, fdinfo/, mounts},
// plus the system files (cpuinfo, meminfo, loadavg, version, filesystems,
// uptime, mounts, sys/kernel/*; their formats live in sysinfo-files.ts).
// Every node is made on lookup from the live kernel state, so nothing goes
// stale (see proc(5)).
import * as net from './net-files.ts';
import { loopbackOnly, type HostNetFile, type NetInterface } from './netlink.ts';
import { fail } from './errors.ts';
import type { Process } from './process.ts';
import type { Task } from './task.ts';
import { type Mapping, PROT_EXEC, PROT_READ, PROT_WRITE } from './memory.ts';
import * as sysinfo from './sysinfo-files.ts';
import type { Vfs } from './vfs/vfs.ts';
import {
  DT_DIR,
  DT_LNK,
  DT_REG,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  type DirEntry,
  type FileSystem,
  type Node,
  type OpenFile,
  type StatInfo,
} from './vfs/types.ts';

type Place = { node: Node; fs: FileSystem; path: string };

interface ProcEntry {
  kind: 'dir' | 'file' | 'link';
  /** dir: its children by name. */
  children?: () => Map<string, ProcNode>;
  /** file: its content, made at open. */
  content?: () => Uint8Array;
  /** link: the text readlink(2) shows. */
  target?: () => string;
  /** link: where following it leads (a magic link), if not through the text. */
  jump?: () => Place;
}

export class ProcNode implements Node {
  readonly fileType: number;
  constructor(
    readonly fs: ProcFs,
    readonly ino: number,
    readonly entry: ProcEntry,
    readonly mode: number,
  ) {
    this.fileType = entry.kind === 'dir' ? S_IFDIR : entry.kind === 'file' ? S_IFREG : S_IFLNK;
  }
  get jump(): (() => Place) | undefined {
    return this.entry.jump;
  }
}

class ProcFile implements OpenFile {
  readonly seekable = true;
  constructor(
    readonly node: Node,
    private readonly bytes: Uint8Array,
  ) {}
  read(buf: Uint8Array, position: number): number {
    if (position >= this.bytes.length) return 0;
    const n = Math.min(buf.length, this.bytes.length - position);
    buf.set(this.bytes.subarray(position, position + n));
    return n;
  }
  write(): number {
    fail('EACCES');
  }
  size(): number {
    return this.bytes.length;
  }
  close(): void {}
}

export interface ProcSource {
  processes(): Process[];
  current(): Process;
  /** The calling thread's id (default: the process's pid). */
  currentTid?(): number;
  vfs(): Vfs;
  hostname: string;
  bootNs(): bigint;
  /** The time of day for the files' times (default: the host's). */
  realtimeNs?(): bigint;
  /** CPUs in /proc/cpuinfo (default 1: tslinux runs one guest thread at a time). */
  ncpu?: number;
  /** MemTotal in bytes (default 8 GiB, as sysinfo(2) reports). */
  memTotalBytes?: number;
  /** The 1, 5 and 15 minute load averages (default 0). */
  loadavg?(): [number, number, number];
  /** --net host: the host's /proc/net/NAME for the inet tables and routes (null: the kernel's own). */
  hostNetFile?(name: HostNetFile): string | null;
  /** The network's interfaces for /proc/net/dev and if_inet6 (default: the loopback alone). */
  interfaces?(): NetInterface[];
  /** Filesystem types for /proc/filesystems (default sysinfo.TSLINUX_FILESYSTEMS). */
  filesystems?: readonly string[];
}

/** MemTotal when the source does not say: the same 8 GiB sysinfo(2) reports. */
const DEFAULT_MEM_TOTAL = 8 * 2 ** 30;

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const nulJoined = (items: string[]): Uint8Array => Buffer.from(items.map((s) => s + '\0').join(''), 'utf8');

export class ProcFs implements FileSystem {
  readonly type = 'proc';
  readonly readOnly = true;
  private nextIno = 1;
  /** Stable inode numbers per path, so repeated stats agree. */
  private readonly inodes = new Map<string, number>();
  private readonly rootNode: ProcNode;

  constructor(
    readonly dev: number,
    private readonly src: ProcSource,
  ) {
    this.rootNode = this.node('/', { kind: 'dir', children: () => this.rootChildren() }, 0o555);
  }

  private node(path: string, entry: ProcEntry, mode: number): ProcNode {
    let ino = this.inodes.get(path);
    if (ino === undefined) {
      ino = this.nextIno++;
      this.inodes.set(path, ino);
    }
    return new ProcNode(this, ino, entry, mode);
  }

  private rootChildren(): Map<string, ProcNode> {
    const m = new Map<string, ProcNode>();
    const self = this.src.current();
    m.set('self', this.node('/self', { kind: 'link', target: () => String(self.pid) }, 0o777));
    m.set('thread-self', this.node('/thread-self', { kind: 'link', target: () => `${self.pid}/task/${this.src.currentTid?.() ?? self.pid}` }, 0o777));
    for (const p of this.src.processes()) m.set(String(p.pid), this.processDir(p));
    m.set('mounts', this.file('/mounts', () => this.mountsText()));
    m.set('uptime', this.file('/uptime', () => {
      const s = Number(this.src.bootNs()) / 1e9;
      return text(`${s.toFixed(2)} ${s.toFixed(2)}\n`);
    }));
    m.set('cpuinfo', this.file('/cpuinfo', () => {
      const p = this.src.current();
      const { hwcap, hwcap2 } = sysinfo.hwcapFromAuxv(p.auxv);
      return text(sysinfo.cpuinfo(p.arch.name, hwcap, this.src.ncpu ?? 1, hwcap2));
    }));
    m.set('meminfo', this.file('/meminfo', () => {
      const used = this.src.processes().reduce((sum, p) => sum + p.mem.committed, 0);
      return text(sysinfo.meminfo({ totalBytes: this.src.memTotalBytes ?? DEFAULT_MEM_TOTAL, usedBytes: used }));
    }));
    m.set('loadavg', this.file('/loadavg', () => {
      const procs = this.src.processes();
      const running = procs.filter((p) => !p.exited).length;
      const lastPid = procs.reduce((max, p) => Math.max(max, p.pid), 0);
      return text(sysinfo.loadavg(this.src.loadavg?.() ?? [0, 0, 0], running, procs.length, lastPid));
    }));
    m.set('version', this.file('/version', () => text(sysinfo.version())));
    m.set('filesystems', this.file('/filesystems', () => text(sysinfo.filesystems(this.src.filesystems))));
    const kernelFiles: Record<string, ProcNode> = {};
    for (const name of Object.keys(sysinfo.sysKernel(''))) {
      kernelFiles[name] = this.file(`/sys/kernel/${name}`, () => text(sysinfo.sysKernel(this.src.hostname)[name]!));
    }
    const sysNet: Record<string, ProcNode> = {};
    for (const [group, files] of Object.entries(net.NET_SYSCTLS)) {
      sysNet[group] = this.dir(`/sys/net/${group}`, Object.fromEntries(Object.entries(files).map(([n, v]) => [n, this.file(`/sys/net/${group}/${n}`, () => text(v))])));
    }
    m.set('sys', this.dir('/sys', { kernel: this.dir('/sys/kernel', kernelFiles), net: this.dir('/sys/net', sysNet) }));
    m.set('net', this.netDir());
    return m;
  }

  private interfaces(): NetInterface[] {
    return this.src.interfaces?.() ?? loopbackOnly();
  }

  /** /proc/net: the network's interfaces and the run's sockets (net-files.ts). */
  private netDir(): ProcNode {
    const sockets = () => net.openSockets(this.src.processes());
    // Under --net host the inet sockets are the host's, so their tables are too.
    const host = (name: HostNetFile): string | null => this.src.hostNetFile?.(name) ?? null;
    return this.dir('/net', {
      dev: this.file('/net/dev', () => text(net.devTable(this.interfaces()))),
      if_inet6: this.file('/net/if_inet6', () => text(net.ifInet6(this.interfaces()))),
      route: this.file('/net/route', () => text(host('route') ?? net.routeTable())),
      tcp: this.file('/net/tcp', () => text(host('tcp') ?? net.inetTable(sockets(), 'tcp', false))),
      tcp6: this.file('/net/tcp6', () => text(host('tcp6') ?? net.inetTable(sockets(), 'tcp', true))),
      udp: this.file('/net/udp', () => text(host('udp') ?? net.inetTable(sockets(), 'udp', false))),
      udp6: this.file('/net/udp6', () => text(host('udp6') ?? net.inetTable(sockets(), 'udp', true))),
      unix: this.file('/net/unix', () => text(net.unixTable(sockets()))),
    });
  }

  private file(path: string, content: () => Uint8Array, mode = 0o444): ProcNode {
    return this.node(path, { kind: 'file', content }, mode);
  }

  private dir(path: string, children: Record<string, ProcNode>): ProcNode {
    return this.node(path, { kind: 'dir', children: () => new Map(Object.entries(children)) }, 0o555);
  }

  private processDir(p: Process): ProcNode {
    const base = `/${p.pid}`;
    const vfs = (): Vfs => this.src.vfs();
    const at = (path: string, follow = true): Place => {
      const r = vfs().resolve(path, { base: '/', follow });
      return { node: r.node, fs: r.fs, path: r.path };
    };
    return this.node(base, {
      kind: 'dir',
      children: () =>
        new Map<string, ProcNode>([
          ['exe', this.node(`${base}/exe`, { kind: 'link', target: () => p.exePath, jump: () => p.exeFile ?? at(p.exePath) }, 0o777)],
          ['cwd', this.node(`${base}/cwd`, { kind: 'link', target: () => p.cwd, jump: () => at(p.cwd) }, 0o777)],
          ['root', this.node(`${base}/root`, { kind: 'link', target: () => '/', jump: () => at('/') }, 0o777)],
          ['cmdline', this.file(`${base}/cmdline`, () => nulJoined(p.argv))],
          ['environ', this.file(`${base}/environ`, () => nulJoined(p.envp), 0o400)],
          ['auxv', this.file(`${base}/auxv`, () => p.auxv, 0o400)],
          ['comm', this.file(`${base}/comm`, () => text(p.comm + '\n'), 0o644)],
          ['maps', this.file(`${base}/maps`, () => text(mapsText(p)))],
          ['stat', this.file(`${base}/stat`, () => text(statText(p)))],
          ['statm', this.file(`${base}/statm`, () => text(statmText(p)))],
          ['status', this.file(`${base}/status`, () => text(statusText(p)))],
          ['mounts', this.file(`${base}/mounts`, () => this.mountsText())],
          ['limits', this.file(`${base}/limits`, () => text(sysinfo.limitsTable(p.rlimits)))],
          // The audit login uid and session: 4294967295 ((uid_t)-1), no login session, as outside a login on Linux.
          // glibc's getlogin reads loginuid first and then fails with ENXIO (proc(5)).
          ['loginuid', this.file(`${base}/loginuid`, () => text(String(AUDIT_UNSET)), 0o644)],
          ['sessionid', this.file(`${base}/sessionid`, () => text(String(AUDIT_UNSET)))],
          ['fd', this.node(`${base}/fd`, { kind: 'dir', children: () => this.fdChildren(p, base) }, 0o500)],
          ['task', this.node(`${base}/task`, { kind: 'dir', children: () => this.taskChildren(p, base) }, 0o555)],
          ['fdinfo', this.node(`${base}/fdinfo`, { kind: 'dir', children: () => this.fdinfoChildren(p, base) }, 0o500)],
        ]),
    }, 0o555);
  }

  /** /proc/<pid>/task: a directory per live thread with its comm, stat and status. */
  private taskChildren(p: Process, base: string): Map<string, ProcNode> {
    const m = new Map<string, ProcNode>();
    for (const t of p.liveTasks()) {
      const dir = `${base}/task/${t.tid}`;
      const children = (): Map<string, ProcNode> =>
        new Map<string, ProcNode>([
          ['comm', this.file(`${dir}/comm`, () => text(p.comm + '\n'), 0o644)],
          ['stat', this.file(`${dir}/stat`, () => text(statText(p, t)))],
          ['status', this.file(`${dir}/status`, () => text(statusText(p, t)))],
        ]);
      m.set(String(t.tid), this.node(dir, { kind: 'dir', children }, 0o555));
    }
    return m;
  }

  private fdChildren(p: Process, base: string): Map<string, ProcNode> {
    const m = new Map<string, ProcNode>();
    for (const fd of p.fds.list()) {
      const ofd = p.fds.get(fd);
      m.set(
        String(fd),
        this.node(`${base}/fd/${fd}`, {
          kind: 'link',
          target: () => ofd.path,
          jump: () => ({ node: ofd.node, fs: ofd.fs, path: ofd.path }),
        }, 0o700),
      );
    }
    return m;
  }

  private fdinfoChildren(p: Process, base: string): Map<string, ProcNode> {
    const m = new Map<string, ProcNode>();
    for (const fd of p.fds.list()) {
      m.set(String(fd), this.file(`${base}/fdinfo/${fd}`, () => text(fdinfoText(p, fd, this.src.vfs()))));
    }
    return m;
  }

  private mountsText(): Uint8Array {
    const lines = this.src
      .vfs()
      .mounts()
      .map((m) => {
        // Mount options may or may not start with "rw"/"ro" (Vfs defaults to them): show it once.
        const given = m.options.split(',').filter((o) => o !== '');
        const ro = m.fs.readOnly || given.includes('ro');
        const rest = given.filter((o) => o !== 'rw' && o !== 'ro');
        return `${m.source} ${m.path} ${m.fs.type} ${[ro ? 'ro' : 'rw', ...rest].join(',')} 0 0`;
      });
    return text(lines.join('\n') + '\n');
  }

  // ---- FileSystem ------------------------------------------------------------

  root(): Node {
    return this.rootNode;
  }

  private asProc(node: Node): ProcNode {
    if (!(node instanceof ProcNode)) fail('EINVAL');
    return node;
  }

  lookup(dir: Node, name: string): Node {
    const d = this.asProc(dir);
    if (d.entry.kind !== 'dir') fail('ENOTDIR');
    const child = d.entry.children!().get(name);
    if (!child) fail('ENOENT');
    return child;
  }

  stat(node: Node): StatInfo {
    const n = this.asProc(node);
    const now = this.src.realtimeNs?.() ?? BigInt(Date.now()) * 1_000_000n;
    const size = n.entry.kind === 'link' ? Buffer.byteLength(n.entry.target!()) : 0;
    const proc = this.src.current();
    return {
      dev: this.dev,
      ino: n.ino,
      mode: n.fileType | n.mode,
      nlink: n.entry.kind === 'dir' ? 2 : 1,
      uid: proc.creds.uid,
      gid: proc.creds.gid,
      rdev: 0,
      size,
      blksize: 1024,
      blocks: 0,
      atimeNs: now,
      mtimeNs: now,
      ctimeNs: now,
      birthtimeNs: now,
    };
  }

  readlink(node: Node): string {
    const n = this.asProc(node);
    if (n.entry.kind !== 'link') fail('EINVAL');
    return n.entry.target!();
  }

  readdir(dir: Node): DirEntry[] {
    const d = this.asProc(dir);
    if (d.entry.kind !== 'dir') fail('ENOTDIR');
    return [...d.entry.children!()].map(([name, n]) => ({
      name,
      ino: n.ino,
      type: n.entry.kind === 'dir' ? DT_DIR : n.entry.kind === 'file' ? DT_REG : DT_LNK,
    }));
  }

  open(node: Node): OpenFile {
    const n = this.asProc(node);
    if (n.entry.kind !== 'file') fail('EISDIR');
    return new ProcFile(n, n.entry.content!());
  }

  create(): Node {
    fail('EACCES');
  }
  mkdir(): Node {
    fail('EACCES');
  }
  symlink(): Node {
    fail('EACCES');
  }
  link(): void {
    fail('EACCES');
  }
  unlink(): void {
    fail('EACCES');
  }
  rmdir(): void {
    fail('EACCES');
  }
  rename(): void {
    fail('EACCES');
  }
  truncate(): void {
    fail('EACCES');
  }
  chmod(): void {
    fail('EPERM');
  }
  chown(): void {
    fail('EPERM');
  }
  utimes(): void {
    fail('EPERM');
  }
}

/**
 * A mount's id as /proc/<pid>/fdinfo shows it (mnt_id): its place in the
 * mount table, from 1; 0 for files in no mounted filesystem (pipes).
 */
export function mountIdOf(vfs: Vfs, fs: FileSystem): number {
  return vfs.mounts().findIndex((m) => m.fs === fs) + 1;
}

/** The audit uid and session id of a process outside any login session ((uid_t)-1, AUDIT_UID_UNSET). */
const AUDIT_UNSET = 0xffffffff;

/** /proc/<pid>/fdinfo/<fd>: the offset, f_flags (access mode, status flags, O_CLOEXEC), mount id and inode. */
export function fdinfoText(p: Process, fd: number, vfs: Vfs): string {
  const c = p.arch.c;
  const ofd = p.fds.get(fd);
  const access = { r: c.O_RDONLY, w: c.O_WRONLY, rw: c.O_RDWR, path: c.O_PATH }[ofd.access];
  const flags = access | ofd.statusFlags | (p.fds.isCloexec(fd) ? c.O_CLOEXEC : 0);
  let ino = 0;
  try {
    const n = ofd.node as Node & { info?: () => StatInfo };
    ino = typeof n.info === 'function' ? n.info().ino : ofd.fs.stat(ofd.node).ino;
  } catch {
    // A file whose inode is gone still has an fdinfo.
  }
  return sysinfo.fdinfo({ pos: ofd.offset, flags, mntId: mountIdOf(vfs, ofd.fs), ino });
}

/**
 * /proc/<pid>/maps: "start-end perms offset major:minor inode name", true
 * to the address space, in fs/proc/task_mmu.c show_map_vma's format: the
 * offset, device and inode are the file's for a file mapping and zero for
 * anonymous memory, and the name starts at column 74.
 */
export function mapsText(p: Process): string {
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  return mergedAsLinux(p.mem.mappings())
    .map((m) => {
      const perms =
        (m.prot & PROT_READ ? 'r' : '-') + (m.prot & PROT_WRITE ? 'w' : '-') + (m.prot & PROT_EXEC ? 'x' : '-') + (m.shared ? 's' : 'p');
      const isFile = m.name.startsWith('/');
      const dev = isFile ? m.dev : 0;
      const line = `${hex(m.start, 8)}-${hex(m.end, 8)} ${perms} ${hex(isFile ? m.offset : 0, 8)} ${hex(devMajor(dev), 2)}:${hex(devMinor(dev), 2)} ${isFile ? m.ino : 0}`;
      return m.name ? `${line.padEnd(73)}${m.name}\n` : `${line}\n`;
    })
    .join('');
}

/**
 * The mappings as Linux's VMAs would be: tslinux keeps each mmap, brk
 * extension and split as its own mapping (each is its own region in the
 * CPU), where Linux merges a mapping with the one before it when it
 * continues it exactly (vma_merge: same protection, sharing and file, and
 * for a file the next offset), so [heap] is one line however often brk grew.
 */
function mergedAsLinux(maps: readonly Mapping[]): Mapping[] {
  const out: Mapping[] = [];
  for (const m of maps) {
    const prev = out[out.length - 1];
    const continues =
      prev !== undefined &&
      prev.end === m.start &&
      prev.prot === m.prot &&
      prev.shared === m.shared &&
      prev.name === m.name &&
      prev.dev === m.dev &&
      prev.ino === m.ino &&
      (!m.name.startsWith('/') || prev.offset + (prev.end - prev.start) === m.offset);
    if (continues) out[out.length - 1] = { ...prev, end: m.end };
    else out.push(m);
  }
  return out;
}

/** The major and minor numbers of a st_dev value (glibc's gnu_dev_major and gnu_dev_minor). */
function devMajor(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}
function devMinor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}

function vmSize(p: Process): number {
  return p.mem.mappings().reduce((sum, m) => sum + (m.end - m.start), 0);
}

/**
 * A thread's state as proc(5) shows it (a process's is its main thread's):
 * R running or ready, S sleeping in a blocking call, T stopped, Z zombie.
 */
function stateOf(p: Process, t: Task | undefined): { letter: string; name: string } {
  if (p.exited) return { letter: 'Z', name: 'zombie' };
  if (t?.state === 'stopped') return { letter: 'T', name: 'stopped' };
  if (t?.state === 'blocked') return { letter: 'S', name: 'sleeping' };
  return { letter: 'R', name: 'running' };
}

/** /proc/<pid>/stat, or with `thread` a thread's /proc/<pid>/task/<tid>/stat (field 20 is num_threads). */
function statText(p: Process, thread?: Task): string {
  const state = stateOf(p, thread ?? p.threads[0]).letter;
  const threads = Math.max(1, p.liveTasks().length);
  const fields = [thread?.tid ?? p.pid, `(${p.comm})`, state, p.ppid, p.pgid, p.sid, 0, -1, 4194304, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, threads, 0, 0, vmSize(p), Math.floor(p.mem.committed / 4096)];
  return fields.join(' ') + ' 0'.repeat(28) + '\n';
}

function statmText(p: Process): string {
  const pages = Math.floor(vmSize(p) / 4096);
  const rss = Math.floor(p.mem.committed / 4096);
  return `${pages} ${rss} 0 0 0 ${rss} 0\n`;
}

/** /proc/<pid>/status, or with `thread` a thread's /proc/<pid>/task/<tid>/status (its own Pid and SigBlk). */
function statusText(p: Process, thread?: Task): string {
  const c = p.creds;
  const state = stateOf(p, thread ?? p.threads[0]);
  return [
    `Name:\t${p.comm}`,
    `Umask:\t${p.umask.toString(8).padStart(4, '0')}`,
    `State:\t${state.letter} (${state.name})`,
    `Tgid:\t${p.pid}`,
    `Pid:\t${thread?.tid ?? p.pid}`,
    `PPid:\t${p.ppid}`,
    `Uid:\t${c.uid}\t${c.euid}\t${c.suid}\t${c.euid}`,
    `Gid:\t${c.gid}\t${c.egid}\t${c.sgid}\t${c.egid}`,
    `FDSize:\t${Math.max(64, p.fds.list().length)}`,
    `VmSize:\t${Math.floor(vmSize(p) / 1024)} kB`,
    `VmRSS:\t${Math.floor(p.mem.committed / 1024)} kB`,
    `Threads:\t${Math.max(1, p.liveTasks().length)}`,
    `SigBlk:\t${(thread?.sigmask ?? p.mainSigmask).toString(16).padStart(16, '0')}`,
    '',
  ].join('\n');
}
