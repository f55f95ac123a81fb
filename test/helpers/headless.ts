// A headless kernel (no engine: plain in-memory CPUs) for calling syscall handlers directly, with the
// chores every family's tests need: a temp host directory mounted at /work
// (the cwd), a scratch region of guest memory with a bump allocator, and
// helpers to put strings, buffers and iovecs there and to decode what the
// kernel wrote back (struct stat per arch, struct statx, getdents64 records).
//
//   const t = headless('aarch64');
//   const fd = t.call('openat', t.c.AT_FDCWD, t.str('a.txt'), t.c.O_CREAT | t.c.O_WRONLY, 0o644);
//   expect(t.call('close', 999)).toBe(t.errno('EBADF'));
//   t.cleanup();
//
// Works for every family: `t.k` is the kernel, `t.mem` its address space,
// `t.proc` the process. Pass `{ hostDir: false }` for tests that need no host
// directory (memory, time, signals...).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHeadlessKernel, type Kernel, type MountSpec } from '../../src/index.ts';
import type { ArchConstants } from '../../src/arch/types.ts';
import { ERRNO, type ErrnoName } from '../../src/kernel/errno-table.ts';
import type { AddressSpace } from '../../src/kernel/memory.ts';
import type { Process } from '../../src/kernel/process.ts';

export type ArchName = 'x86_64' | 'aarch64';
export const ARCH_NAMES: readonly ArchName[] = ['x86_64', 'aarch64'];

export interface HeadlessOptions {
  /** Make a temp host directory and mount it at `guestDir` (default true). */
  hostDir?: boolean;
  /** Where the temp directory is mounted, and the cwd (default /work). */
  guestDir?: string;
  /** Guest cwd (default: guestDir, or / without a host dir). */
  cwd?: string;
  /** Mount the temp directory read-only. */
  readOnly?: boolean;
  /** More mounts, after the temp directory's. */
  mounts?: MountSpec[];
  uid?: number;
  gid?: number;
  stdin?: number | Uint8Array | string;
  env?: Record<string, string> | string[];
  memoryLimit?: number;
  /** Bytes kept per captured stdout/stderr stream (the library's default otherwise). */
  maxOutput?: number;
  /** Bytes of scratch guest memory (default 4 MiB). */
  scratchSize?: number;
  /** The network: 'host' makes inet sockets the host's (see test/net-host.test.ts). */
  net?: 'none' | 'host';
  netAllow?: string[];
}

/** Decoded struct stat / struct statx fields the tests look at. */
export interface DecodedStat {
  dev: bigint;
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  blksize: number;
  blocks: number;
  mtimeSec: number;
}

export interface Dirent64 {
  ino: bigint;
  off: bigint;
  reclen: number;
  type: number;
  name: string;
}

/** Where the scratch region starts: well inside every arch's user space, away from mmap's top-down range. */
export const SCRATCH_BASE = 0x1000_0000;
const PAGE = 4096;

export class Headless {
  readonly k: Kernel;
  readonly arch: ArchName;
  readonly c: ArchConstants;
  /** The per-test host directory holding `root` (things "outside the mount" go here); '' without a host dir. */
  readonly base: string;
  /** The host directory mounted at `guestDir`; '' without a host dir. */
  readonly root: string;
  readonly guestDir: string;
  /** The scratch region [scratchStart, scratchEnd); an unmapped guard page follows it. */
  readonly scratchStart = SCRATCH_BASE;
  readonly scratchEnd: number;
  /** An address that is never mapped (the guard page right after the scratch region). */
  readonly unmapped: number;
  private next: number;

  constructor(arch: ArchName, opts: HeadlessOptions = {}) {
    this.arch = arch;
    const withDir = opts.hostDir ?? true;
    this.guestDir = opts.guestDir ?? '/work';
    if (withDir) {
      this.base = fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-test-'));
      this.root = path.join(this.base, 'root');
      fs.mkdirSync(this.root);
    } else {
      this.base = this.root = '';
    }
    const mounts: MountSpec[] = withDir ? [{ host: this.root, guest: this.guestDir, readOnly: opts.readOnly }] : [];
    mounts.push(...(opts.mounts ?? []));
    this.k = createHeadlessKernel(arch, {
      mounts,
      cwd: opts.cwd ?? (withDir ? this.guestDir : '/'),
      uid: opts.uid,
      gid: opts.gid,
      stdin: opts.stdin,
      env: opts.env,
      memoryLimit: opts.memoryLimit,
      maxOutput: opts.maxOutput,
      net: opts.net,
      netAllow: opts.netAllow,
    });
    this.c = this.k.arch.c;
    const size = Math.ceil((opts.scratchSize ?? 4 << 20) / PAGE) * PAGE;
    this.k.proc.mem.map(SCRATCH_BASE, size, 3 /* PROT_READ | PROT_WRITE */, { name: '[scratch]' });
    this.scratchEnd = SCRATCH_BASE + size;
    this.unmapped = this.scratchEnd + PAGE;
    this.next = SCRATCH_BASE;
  }

  get mem(): AddressSpace {
    return this.k.proc.mem;
  }
  get proc(): Process {
    return this.k.proc;
  }

  // ---- calling -------------------------------------------------------------

  /** The raw result: >= 0, or -errno. */
  call(name: string, ...args: (number | bigint)[]): number {
    return this.k.invoke(name, args);
  }

  /** Whether `name` is a syscall on this arch (open, stat, dup2... are x86-64 only). */
  has(name: string): boolean {
    return this.k.arch.syscallNumbers[name] !== undefined;
  }

  /** -errno for a name: t.errno('ENOENT') === -2. */
  errno(name: ErrnoName): number {
    return -ERRNO[name];
  }

  // ---- scratch memory --------------------------------------------------------

  /** Reserve n bytes (16-aligned, zeroed); returns the guest address. */
  buf(n: number, fill = 0): number {
    const addr = this.next;
    const end = addr + Math.max(n, 1);
    if (end > this.scratchEnd) throw new Error(`headless: scratch memory exhausted (${n} bytes asked)`);
    this.next = (end + 15) & ~15;
    this.mem.write(addr, new Uint8Array(n).fill(fill));
    return addr;
  }

  /** Copy bytes (no terminator) into scratch memory; returns their address. */
  bytes(data: Uint8Array | string): number {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const addr = this.buf(b.length);
    this.mem.write(addr, b);
    return addr;
  }

  /** A NUL-terminated string in scratch memory; returns its address. */
  str(s: string | Uint8Array): number {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    const out = new Uint8Array(b.length + 1);
    out.set(b);
    return this.bytes(out);
  }

  /** An address with exactly `n` accessible bytes before the unmapped guard page. */
  tail(n: number, data?: Uint8Array | string): number {
    const addr = this.scratchEnd - n;
    if (addr < this.next) throw new Error('headless: tail overlaps allocated scratch memory');
    if (data !== undefined) this.mem.write(addr, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    return addr;
  }

  /** struct iovec[] (base u64, len u64) for the given pieces; returns its address. */
  iovec(pieces: readonly (readonly [addr: number, len: number])[]): number {
    const b = new Uint8Array(Math.max(pieces.length, 1) * 16);
    const v = new DataView(b.buffer);
    pieces.forEach(([addr, len], i) => {
      v.setBigUint64(i * 16, BigInt(addr), true);
      v.setBigUint64(i * 16 + 8, BigInt(len), true);
    });
    return this.bytes(b);
  }

  read(addr: number, n: number): Uint8Array {
    return this.mem.read(addr, n);
  }
  /** n bytes at addr as a UTF-8 string. */
  text(addr: number, n: number): string {
    return Buffer.from(this.read(addr, n)).toString('utf8');
  }
  cstr(addr: number): string {
    return this.mem.readCString(addr);
  }
  u16(addr: number): number {
    const b = this.read(addr, 2);
    return b[0]! | (b[1]! << 8);
  }
  u32(addr: number): number {
    return this.mem.readU32(addr);
  }
  i32(addr: number): number {
    return this.mem.readI32(addr);
  }
  u64(addr: number): bigint {
    return this.mem.readBigU64(addr);
  }

  // ---- decoding kernel structures ---------------------------------------------

  /** struct stat as this arch lays it out (x86-64: arch/x86 stat.h; aarch64: asm-generic). */
  decodeStat(addr: number): DecodedStat {
    const b = this.read(addr, this.k.arch.statSize);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const x86 = this.arch === 'x86_64';
    return {
      dev: v.getBigUint64(0, true),
      ino: v.getBigUint64(8, true),
      mode: v.getUint32(x86 ? 24 : 16, true),
      nlink: x86 ? Number(v.getBigUint64(16, true)) : v.getUint32(20, true),
      uid: v.getUint32(x86 ? 28 : 24, true),
      gid: v.getUint32(x86 ? 32 : 28, true),
      size: Number(v.getBigInt64(48, true)),
      blksize: x86 ? Number(v.getBigInt64(56, true)) : v.getInt32(56, true),
      blocks: Number(v.getBigInt64(64, true)),
      mtimeSec: Number(v.getBigInt64(88, true)),
    };
  }

  /** struct statx (the same on every arch). */
  decodeStatx(addr: number): DecodedStat & { mask: number } {
    const b = this.read(addr, 256);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return {
      mask: v.getUint32(0, true),
      blksize: v.getUint32(4, true),
      nlink: v.getUint32(16, true),
      uid: v.getUint32(20, true),
      gid: v.getUint32(24, true),
      mode: v.getUint16(28, true),
      ino: v.getBigUint64(32, true),
      size: Number(v.getBigUint64(40, true)),
      blocks: Number(v.getBigUint64(48, true)),
      mtimeSec: Number(v.getBigInt64(112, true)),
      dev: (BigInt(v.getUint32(136, true)) << 32n) | BigInt(v.getUint32(140, true)),
    };
  }

  /** The struct linux_dirent64 records in [addr, addr+len). */
  decodeDirents(addr: number, len: number): Dirent64[] {
    const b = this.read(addr, len);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out: Dirent64[] = [];
    for (let at = 0; at < len; ) {
      const reclen = v.getUint16(at + 16, true);
      if (reclen === 0) throw new Error('headless: dirent with d_reclen 0');
      const nameBytes = b.subarray(at + 19, at + reclen);
      const nul = nameBytes.indexOf(0);
      out.push({
        ino: v.getBigUint64(at, true),
        off: v.getBigInt64(at + 8, true),
        reclen,
        type: v.getUint8(at + 18),
        name: Buffer.from(nameBytes.subarray(0, nul < 0 ? nameBytes.length : nul)).toString('latin1'),
      });
      at += reclen;
    }
    return out;
  }

  // ---- common sequences ------------------------------------------------------

  /** openat(AT_FDCWD, path, flags, mode). */
  open(p: string, flags = 0, mode = 0o644): number {
    return this.call('openat', this.c.AT_FDCWD, this.str(p), flags, mode);
  }

  /** write(fd, data); returns the count. */
  write(fd: number, data: Uint8Array | string): number {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return this.call('write', fd, this.bytes(b), b.length);
  }

  /** read(fd, n) as a UTF-8 string; throws on an error result. */
  readFd(fd: number, n = 65536): string {
    const addr = this.buf(n);
    const r = this.call('read', fd, addr, n);
    if (r < 0) throw new Error(`read(${fd}) gave ${r}`);
    return this.text(addr, r);
  }

  /** newfstatat(AT_FDCWD, path, flags) decoded, or the -errno. */
  stat(p: string, flags = 0): DecodedStat | number {
    const sb = this.buf(this.k.arch.statSize);
    const r = this.call('newfstatat', this.c.AT_FDCWD, this.str(p), sb, flags);
    return r < 0 ? r : this.decodeStat(sb);
  }

  /** pipe2(flags): [readFd, writeFd]. */
  pipe(flags = 0): [number, number] {
    const a = this.buf(8);
    const r = this.call('pipe2', a, flags);
    if (r !== 0) throw new Error(`pipe2 gave ${r}`);
    return [this.i32(a), this.i32(a + 4)];
  }

  // ---- the host side -----------------------------------------------------------

  /** Host path of `rel` inside the mounted directory. */
  hostPath(rel = ''): string {
    if (!this.root) throw new Error('headless: no host directory (hostDir: false)');
    return path.join(this.root, rel);
  }
  /** Host path of `rel` next to (outside) the mounted directory. */
  outsidePath(rel: string): string {
    if (!this.base) throw new Error('headless: no host directory (hostDir: false)');
    return path.join(this.base, rel);
  }
  /** Create a host file in the mounted directory (parents made). */
  writeHost(rel: string, content: string | Uint8Array = '', mode?: number): string {
    const p = this.hostPath(rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    if (mode !== undefined) fs.chmodSync(p, mode);
    return p;
  }
  readHost(rel: string): string {
    return fs.readFileSync(this.hostPath(rel), 'utf8');
  }
  existsHost(rel: string): boolean {
    return fs.existsSync(this.hostPath(rel)) || isSymlink(this.hostPath(rel));
  }

  /** Close the guest's fds and remove the temp directory (even with modes that forbid it). */
  cleanup(): void {
    try {
      this.proc.fds.closeAll();
    } catch {
      // a test may have left the table in a state closeAll dislikes; the host dir matters more
    }
    if (this.base) removeTree(this.base);
  }
}

export function headless(arch: ArchName, opts?: HeadlessOptions): Headless {
  return new Headless(arch, opts);
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function removeTree(p: string): void {
  // Tests chmod things to 000; give directories their bits back before removing.
  const fix = (dir: string): void => {
    try {
      fs.chmodSync(dir, 0o700);
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) fix(path.join(dir, e.name));
    } catch {
      // best effort
    }
  };
  fix(p);
  fs.rmSync(p, { recursive: true, force: true });
}
