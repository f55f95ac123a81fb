// Argument decoding for the strace-style tracer: one function turns a
// converted argument of a given kind into the text strace would print for
// it. Names of flags and values come from the guest arch's constants (see
// generated-constants.ts), in the order strace's xlat tables list them, so
// aliases print the way strace prints them (O_NONBLOCK, not O_NDELAY).
//
// Decoding never throws: a pointer that cannot be read prints as its hex
// value, as strace prints it, and any other failure prints the raw number.
import type { Arch } from '../arch/types.ts';
import { AARCH64_ONLY_CONSTANTS, X86_64_ONLY_CONSTANTS } from '../arch/generated-constants.ts';
import { ARG_KINDS, type ArgKind, type SyscallContext } from '../../syscalls/types.ts';
import { formatEventsArg } from './decode-events.ts';
import { formatSiginfo } from './decode-signals.ts';
import { SIGINFO_SIZE, decodeSigInfo } from '../arch/sigframe.ts';

export interface FormatArgOptions {
  /** -s: how many bytes of a string or buffer to show. */
  strSize: number;
  /** The call's raw result (>= 0 or -errno): output buffers show only when it succeeded. */
  ret: number;
  /** The next argument's value: the length of an inbuf, the count of an iovec array. */
  next?: number;
  /** The syscall's name, for the few decodings that depend on the call (mmap's hex offset, statx's flags...). */
  syscall?: string;
  /** The argument's position (0-based), for decodings that depend on it (wait4's status and options). */
  index?: number;
}

type Mem = SyscallContext['mem'];

const TWO64 = 1n << 64n;
const PATH_MAX = 4096;
/** Largest number of iovec elements or sigset bytes worth reading. */
const IOV_MAX = 1024;

// ---- numbers ---------------------------------------------------------------

/** A u64 register value as a bigint; numbers at or above 2^64 (rounding of 2^64-1) clamp to 2^64-1. */
function toU64(v: number): bigint {
  if (!Number.isFinite(v)) return 0n;
  const b = BigInt(Math.trunc(v));
  if (b < 0n) return BigInt.asUintN(64, b);
  return b >= TWO64 ? TWO64 - 1n : b;
}

/** C's "%#lx": 0 prints as 0. */
export function hex(v: number | bigint): string {
  const b = typeof v === 'bigint' ? BigInt.asUintN(64, v) : toU64(v);
  return b === 0n ? '0' : `0x${b.toString(16)}`;
}

/** A pointer as strace's printaddr prints it. */
export function addr(v: number): string {
  return v === 0 ? 'NULL' : hex(v);
}

function udec(v: number): string {
  return Number.isSafeInteger(v) && v >= 0 ? String(v) : toU64(v).toString();
}

function sdec(v: number): string {
  if (Number.isSafeInteger(v)) return String(v);
  return Number.isFinite(v) ? BigInt(Math.trunc(v)).toString() : String(v);
}

/** C's "%#03o" as strace prints modes: 0644, 000. */
export function octalMode(v: number): string {
  return v === 0 ? '000' : `0${(v >>> 0).toString(8)}`.padStart(3, '0');
}

/** The raw value when decoding fails: hex for pointer-like kinds, decimal otherwise. */
function raw(kind: ArgKind, v: number): string {
  switch (ARG_KINDS[kind]) {
    case 's32':
    case 's64':
      return sdec(v);
    case 'u32':
      return udec(v);
    default:
      return kind === 'ulong' || kind === 'size' ? udec(v) : addr(v);
  }
}

// ---- strings -----------------------------------------------------------------

/**
 * Quote bytes as strace's string_quote does: \" \\ \f \n \r \t \v escapes,
 * printable ASCII as is, other bytes in octal (three digits when an octal
 * digit follows, so the escape stays unambiguous). `forceHex` quotes every
 * byte as \xNN (what strace does for getrandom's buffer).
 */
export function quoteBytes(bytes: Uint8Array, forceHex = false): string {
  let s = '"';
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (forceHex) {
      s += `\\x${c.toString(16).padStart(2, '0')}`;
      continue;
    }
    switch (c) {
      case 0x22:
        s += '\\"';
        break;
      case 0x5c:
        s += '\\\\';
        break;
      case 0x0c:
        s += '\\f';
        break;
      case 0x0a:
        s += '\\n';
        break;
      case 0x0d:
        s += '\\r';
        break;
      case 0x09:
        s += '\\t';
        break;
      case 0x0b:
        s += '\\v';
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          s += String.fromCharCode(c);
        } else {
          const nextIsOctal = i + 1 < n && bytes[i + 1]! >= 0x30 && bytes[i + 1]! <= 0x37;
          s += '\\' + (nextIsOctal ? c.toString(8).padStart(3, '0') : c.toString(8));
        }
    }
  }
  return s + '"';
}

/** strace's printstrn: `len` bytes at `p`, at most strSize shown, "..." when cut; the address when unreadable. */
function printBuffer(mem: Mem, p: number, len: number, strSize: number, forceHex = false): string {
  if (p === 0) return 'NULL';
  const show = Math.max(0, Math.min(len, strSize));
  let bytes: Uint8Array;
  try {
    bytes = mem.read(p, show);
  } catch {
    return hex(p);
  }
  return quoteBytes(bytes, forceHex) + (len > strSize ? '...' : '');
}

/** A NUL-terminated string of at most `limit` bytes: the bytes and whether it went on past the limit. */
function readCStr(mem: Mem, p: number, limit: number): { bytes: Uint8Array; cut: boolean } {
  try {
    return { bytes: mem.readCStringBytes(p, limit + 1), cut: false };
  } catch (e) {
    if ((e as { code?: string } | null)?.code !== 'ENAMETOOLONG') throw e;
    return { bytes: mem.read(p, limit), cut: true };
  }
}

/** A NUL-terminated string as strace prints it, "..." after the quote when longer than `limit`. */
function printCString(mem: Mem, p: number, limit: number): string {
  if (p === 0) return 'NULL';
  try {
    const { bytes, cut } = readCStr(mem, p, limit);
    return quoteBytes(bytes) + (cut ? '...' : '');
  } catch {
    return hex(p);
  }
}

/** Bytes the kernel wrote (getcwd, readlink): `len` bytes, up to the first NUL, cut at strSize. */
function printOutString(mem: Mem, p: number, len: number, strSize: number): string {
  if (p === 0) return 'NULL';
  let bytes: Uint8Array;
  try {
    bytes = mem.read(p, Math.max(0, Math.min(len, strSize + 1)));
  } catch {
    return hex(p);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return quoteBytes(bytes.subarray(0, nul));
  if (bytes.length > strSize) return quoteBytes(bytes.subarray(0, strSize)) + '...';
  return quoteBytes(bytes);
}

// ---- name tables, built once per arch ------------------------------------------

type Entries = readonly (readonly [string, number])[];

interface Tables {
  c: Readonly<Record<string, number | bigint>>;
  accessModes: Map<number, string>;
  openFlags: Entries;
  atFlags: Entries;
  faccessatFlags: Entries;
  statxSync: Map<number, string>;
  prot: Entries;
  mapTypes: Map<number, string>;
  mapFlags: Entries;
  mremapFlags: Entries;
  statxMask: Entries;
  statxAttrs: Entries;
  saFlags: Entries;
  signals: Map<number, string>;
  sigprocmaskHow: Map<number, string>;
  fcntlCmds: Map<number, string>;
  clocks: Map<number, string>;
  rlimits: Map<number, string>;
  madvise: Map<number, string>;
  ioctls: Map<number, string>;
  itimers: Map<number, string>;
}

const tableCache = new WeakMap<Arch, Tables>();

function constantsOf(arch: Arch): Record<string, number | bigint> {
  const extra = arch.name === 'x86_64' ? X86_64_ONLY_CONSTANTS : arch.name === 'aarch64' ? AARCH64_ONLY_CONSTANTS : {};
  return { ...(arch.c as Record<string, number | bigint>), ...extra };
}

function num(c: Readonly<Record<string, number | bigint>>, name: string): number | undefined {
  const v = c[name];
  return typeof v === 'number' ? v : undefined;
}

function isSingleBit(v: number): boolean {
  return v > 0 && v <= 0xffff_ffff && (v & (v - 1)) === 0;
}

/**
 * Flag entries: the names in `order` (strace's order) that the arch defines,
 * then any other single-bit constant matching `prefix` whose value is not
 * named yet (so newer flags still decode).
 */
function flagEntries(
  c: Readonly<Record<string, number | bigint>>,
  order: readonly (string | readonly [string, number | undefined])[],
  prefix?: RegExp,
  exclude?: RegExp,
): Entries {
  const out: [string, number][] = [];
  const seen = new Set<number>();
  for (const item of order) {
    const [name, value] = typeof item === 'string' ? [item, num(c, item)] : item;
    if (value === undefined || value === 0) continue;
    out.push([name, value >>> 0]);
    seen.add(value >>> 0);
  }
  if (prefix) {
    const extra = Object.entries(c)
      .filter(([n, v]) => prefix.test(n) && !exclude?.test(n) && typeof v === 'number' && isSingleBit(v) && !seen.has(v))
      .sort((a, b) => (a[1] as number) - (b[1] as number));
    for (const [n, v] of extra) {
      if (seen.has(v as number)) continue;
      out.push([n, v as number]);
      seen.add(v as number);
    }
  }
  return out;
}

/** Value -> name for the constants matching `prefix`; `prefer` names win over aliases, otherwise the first (sorted) wins. */
function valueMap(
  c: Readonly<Record<string, number | bigint>>,
  prefix: RegExp,
  opts: { exclude?: RegExp; aliases?: readonly string[]; min?: number } = {},
): Map<number, string> {
  const m = new Map<number, string>();
  const names = Object.keys(c)
    .filter((n) => prefix.test(n) && !opts.exclude?.test(n))
    .sort();
  const aliases = new Set(opts.aliases ?? []);
  for (const pass of [false, true]) {
    for (const n of names) {
      if (aliases.has(n) !== pass) continue;
      const v = c[n];
      if (typeof v !== 'number' || (opts.min !== undefined && v < opts.min)) continue;
      if (!m.has(v)) m.set(v, n);
    }
  }
  return m;
}

function buildTables(arch: Arch): Tables {
  const c = constantsOf(arch);
  const oSync = num(c, 'O_SYNC') ?? 0;
  const oDsync = num(c, 'O_DSYNC') ?? 0;
  const oTmpfile = num(c, 'O_TMPFILE') ?? 0;
  const oDirectory = num(c, 'O_DIRECTORY') ?? 0;
  const open = flagEntries(
    c,
    [
      'O_CREAT',
      'O_EXCL',
      'O_NOCTTY',
      'O_TRUNC',
      'O_APPEND',
      'O_NONBLOCK',
      'O_SYNC',
      ['__O_SYNC', (oSync & ~oDsync) >>> 0 || undefined],
      'O_DSYNC',
      'O_DIRECT',
      'O_LARGEFILE',
      'O_NOFOLLOW',
      'O_NOATIME',
      'O_CLOEXEC',
      'O_PATH',
      'O_TMPFILE',
      ['__O_TMPFILE', (oTmpfile & ~oDirectory) >>> 0 || undefined],
      'O_DIRECTORY',
      'FASYNC',
    ],
    /^O_/,
    /^O_(ACCMODE|RDONLY|WRONLY|RDWR|NDELAY|FSYNC|RSYNC|TMPFILE_MASK)$/,
  );
  const atOrder = ['AT_SYMLINK_NOFOLLOW', 'AT_REMOVEDIR', 'AT_SYMLINK_FOLLOW', 'AT_NO_AUTOMOUNT', 'AT_EMPTY_PATH', 'AT_RECURSIVE'];
  const atExclude = /^AT_(FDCWD|EACCESS|STATX_)/;
  const sigExclude = /^SIG(_|STKSZ$|RTMIN$|RTMAX$)/;
  return {
    c,
    accessModes: new Map([
      [0, 'O_RDONLY'],
      [1, 'O_WRONLY'],
      [2, 'O_RDWR'],
      [3, 'O_ACCMODE'],
    ]),
    openFlags: open,
    atFlags: flagEntries(c, atOrder, /^AT_/, atExclude),
    faccessatFlags: flagEntries(c, ['AT_SYMLINK_NOFOLLOW', 'AT_EACCESS', 'AT_EMPTY_PATH']),
    statxSync: valueMap(c, /^AT_STATX_(SYNC_AS_STAT|FORCE_SYNC|DONT_SYNC)$/),
    prot: flagEntries(c, ['PROT_READ', 'PROT_WRITE', 'PROT_EXEC', 'PROT_SEM', 'PROT_GROWSDOWN', 'PROT_GROWSUP'], /^PROT_/),
    mapTypes: new Map([
      [0, 'MAP_FILE'],
      [1, 'MAP_SHARED'],
      [2, 'MAP_PRIVATE'],
      [3, 'MAP_SHARED_VALIDATE'],
      [8, 'MAP_DROPPABLE'],
    ]),
    mapFlags: flagEntries(
      c,
      [
        'MAP_FIXED',
        'MAP_ANONYMOUS',
        'MAP_32BIT',
        'MAP_ABOVE4G',
        'MAP_NORESERVE',
        'MAP_POPULATE',
        'MAP_NONBLOCK',
        'MAP_GROWSDOWN',
        'MAP_DENYWRITE',
        'MAP_EXECUTABLE',
        'MAP_LOCKED',
        'MAP_STACK',
        'MAP_HUGETLB',
        'MAP_SYNC',
        'MAP_UNINITIALIZED',
        'MAP_FIXED_NOREPLACE',
      ],
      /^MAP_/,
      /^MAP_(HUGE_|TYPE$|SHARED|PRIVATE|FILE$|ANON$)/,
    ),
    mremapFlags: flagEntries(c, ['MREMAP_MAYMOVE', 'MREMAP_FIXED', 'MREMAP_DONTUNMAP'], /^MREMAP_/),
    statxMask: flagEntries(
      c,
      [
        'STATX_ALL',
        'STATX_BASIC_STATS',
        'STATX_TYPE',
        'STATX_MODE',
        'STATX_NLINK',
        'STATX_UID',
        'STATX_GID',
        'STATX_ATIME',
        'STATX_MTIME',
        'STATX_CTIME',
        'STATX_INO',
        'STATX_SIZE',
        'STATX_BLOCKS',
        'STATX_BTIME',
        'STATX_MNT_ID',
        'STATX_DIOALIGN',
      ],
      /^STATX_/,
      /^STATX_(ATTR_|_RESERVED)/,
    ),
    statxAttrs: flagEntries(c, [], /^STATX_ATTR_/),
    saFlags: flagEntries(
      c,
      ['SA_RESTORER', 'SA_ONSTACK', 'SA_RESTART', 'SA_NODEFER', 'SA_RESETHAND', 'SA_SIGINFO', 'SA_NOCLDSTOP', 'SA_NOCLDWAIT'],
    ),
    signals: valueMap(c, /^SIG[A-Z0-9]+$/, { exclude: sigExclude, aliases: ['SIGIOT', 'SIGPOLL', 'SIGUNUSED'] }),
    sigprocmaskHow: valueMap(c, /^SIG_(BLOCK|UNBLOCK|SETMASK)$/),
    fcntlCmds: valueMap(c, /^F_/, {
      exclude: /^F_(RDLCK|WRLCK|UNLCK|EXLCK|SHLCK|OWNER_|SEAL_|LINUX_SPECIFIC_BASE$)/,
    }),
    clocks: valueMap(c, /^CLOCK_/),
    rlimits: valueMap(c, /^RLIMIT_/),
    madvise: valueMap(c, /^MADV_/),
    ioctls: valueMap(c, /^(TC|TIOC|FIO)[A-Z0-9_]*$/, {
      exclude: /^TIOC(PKT_|SER_TEMT)/,
      aliases: ['TIOCINQ'],
      min: 0x100,
    }),
    itimers: valueMap(c, /^ITIMER_/),
  };
}

function tablesFor(arch: Arch): Tables {
  let t = tableCache.get(arch);
  if (!t) {
    t = buildTables(arch);
    tableCache.set(arch, t);
  }
  return t;
}

/** strace's printflags: the names whose bits are all set, in table order, then leftover bits in hex. */
export function flagsToString(value: number, entries: Entries, zero = '0'): string {
  let left = value >>> 0;
  if (left === 0) return zero;
  const parts: string[] = [];
  for (const [name, bits] of entries) {
    if ((left & bits) >>> 0 === bits) {
      parts.push(name);
      left = (left & ~bits) >>> 0;
      if (left === 0) break;
    }
  }
  if (left !== 0) parts.push(hex(left));
  return parts.join('|');
}

const SEEK_NAMES = new Map([
  [0, 'SEEK_SET'],
  [1, 'SEEK_CUR'],
  [2, 'SEEK_END'],
  [3, 'SEEK_DATA'],
  [4, 'SEEK_HOLE'],
]);

const ARCH_PRCTL_CODES = new Map([
  [0x1001, 'ARCH_SET_GS'],
  [0x1002, 'ARCH_SET_FS'],
  [0x1003, 'ARCH_GET_FS'],
  [0x1004, 'ARCH_GET_GS'],
  [0x1011, 'ARCH_GET_CPUID'],
  [0x1012, 'ARCH_SET_CPUID'],
  [0x1021, 'ARCH_GET_XCOMP_SUPP'],
  [0x1022, 'ARCH_GET_XCOMP_PERM'],
  [0x1023, 'ARCH_REQ_XCOMP_PERM'],
  [0x1024, 'ARCH_GET_XCOMP_GUEST_PERM'],
  [0x1025, 'ARCH_REQ_XCOMP_GUEST_PERM'],
  [0x1026, 'ARCH_XCOMP_TILECFG'],
  [0x2001, 'ARCH_MAP_VDSO_X32'],
  [0x2002, 'ARCH_MAP_VDSO_32'],
  [0x2003, 'ARCH_MAP_VDSO_64'],
  [0x4001, 'ARCH_GET_UNTAG_MASK'],
  [0x4002, 'ARCH_ENABLE_TAGGED_ADDR'],
  [0x4003, 'ARCH_GET_MAX_TAG_BITS'],
  [0x4004, 'ARCH_FORCE_TAGGED_SVA'],
  [0x5001, 'ARCH_SHSTK_ENABLE'],
  [0x5002, 'ARCH_SHSTK_DISABLE'],
  [0x5003, 'ARCH_SHSTK_LOCK'],
  [0x5004, 'ARCH_SHSTK_UNLOCK'],
  [0x5005, 'ARCH_SHSTK_STATUS'],
]);

/** Calls whose open_flags argument starts with the access mode. */
const OPEN_LIKE = new Set(['open', 'openat', 'creat', 'mq_open', 'open_by_handle_at']);

const PRIO_WHICH = new Map([
  [0, 'PRIO_PROCESS'],
  [1, 'PRIO_PGRP'],
  [2, 'PRIO_USER'],
]);

const RENAME_FLAGS: Entries = [
  ['RENAME_NOREPLACE', 1],
  ['RENAME_EXCHANGE', 2],
  ['RENAME_WHITEOUT', 4],
];

const GRND_FLAGS: Entries = [
  ['GRND_NONBLOCK', 1],
  ['GRND_RANDOM', 2],
  ['GRND_INSECURE', 4],
];

const ACCESS_FLAGS: Entries = [
  ['R_OK', 4],
  ['W_OK', 2],
  ['X_OK', 1],
];

const FILE_TYPES = new Map([
  [0o140000, 'S_IFSOCK'],
  [0o120000, 'S_IFLNK'],
  [0o100000, 'S_IFREG'],
  [0o060000, 'S_IFBLK'],
  [0o040000, 'S_IFDIR'],
  [0o020000, 'S_IFCHR'],
  [0o010000, 'S_IFIFO'],
]);

// ---- exported decoders used by the tracer -----------------------------------------

/** The access mode first, then the other O_* flags: O_RDONLY|O_CLOEXEC. */
export function openFlagsToString(arch: Arch, v: number): string {
  const t = tablesFor(arch);
  const acc = v & 3;
  const rest = (v & ~3) >>> 0;
  const head = t.accessModes.get(acc)!;
  return rest ? `${head}|${flagsToString(rest, t.openFlags)}` : head;
}

/** Whether open(2) flags make the call take a mode argument (O_CREAT or O_TMPFILE). */
export function openTakesMode(arch: Arch, flags: number): boolean {
  const c = tablesFor(arch).c;
  const creat = num(c, 'O_CREAT') ?? 0o100;
  const tmpfile = ((num(c, 'O_TMPFILE') ?? 0) & ~(num(c, 'O_DIRECTORY') ?? 0)) >>> 0;
  return (flags & (creat | tmpfile)) !== 0;
}

/** A signal number: SIGINT, SIGRTMIN, SIGRT_3; plain decimal for 0 and unknown numbers. */
export function signalName(arch: Arch, sig: number): string {
  const short = signalShortName(arch, sig);
  return short === undefined ? sdec(sig) : `SIG${short}`;
}

function signalShortName(arch: Arch, sig: number): string | undefined {
  const name = tablesFor(arch).signals.get(sig);
  if (name) return name.slice(3);
  const rtmin = num(tablesFor(arch).c, 'SIGRTMIN') ?? 32;
  if (sig === rtmin) return 'RTMIN';
  if (sig > rtmin && sig <= 64) return `RT_${sig - rtmin}`;
  return undefined;
}

/** A signal mask as strace prints it: [INT TERM], or ~[...] for the complement when more than half is set. */
export function sigsetToString(arch: Arch, mask: bigint, bits = 64): string {
  const all = (1n << BigInt(bits)) - 1n;
  let m = mask & all;
  let count = 0;
  for (let x = m; x; x &= x - 1n) count++;
  let prefix = '';
  if (count * 2 > bits) {
    prefix = '~';
    m = ~m & all;
  }
  const names: string[] = [];
  for (let i = 0; i < bits; i++) {
    if ((m >> BigInt(i)) & 1n) names.push(signalShortName(arch, i + 1) ?? String(i + 1));
  }
  return `${prefix}[${names.join(' ')}]`;
}

/** st_mode as strace prints it: S_IFREG|0644. */
export function modeToString(mode: number): string {
  const type = FILE_TYPES.get(mode & 0o170000);
  const perm = mode & ~0o170000 & 0xffff;
  if (type === undefined) return octalMode(mode & 0xffff);
  return `${type}|${octalMode(perm)}`;
}

function makedev(rdev: bigint): string {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn & 0xffff_ffffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn & 0xffff_ffffn));
  return `makedev(${hex(major)}, ${hex(minor)})`;
}

function rlim(v: bigint): string {
  if (v === TWO64 - 1n) return 'RLIM64_INFINITY';
  if (v > 1024n && v % 1024n === 0n) return `${v / 1024n}*1024`;
  return v.toString();
}

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function formatStat(ctx: SyscallContext, p: number): string {
  const x86 = ctx.arch.name === 'x86_64';
  const v = dv(ctx.mem.read(p, x86 ? 144 : 128));
  const mode = v.getUint32(x86 ? 24 : 16, true);
  const type = mode & 0o170000;
  const second =
    type === 0o020000 || type === 0o060000
      ? `st_rdev=${makedev(v.getBigUint64(x86 ? 40 : 32, true))}`
      : `st_size=${v.getBigInt64(48, true)}`;
  return `{st_mode=${modeToString(mode)}, ${second}, ...}`;
}

function formatStatx(ctx: SyscallContext, p: number): string {
  const t = tablesFor(ctx.arch);
  const v = dv(ctx.mem.read(p, 144));
  const mask = v.getUint32(0, true);
  const attrs = v.getBigUint64(8, true);
  const mode = v.getUint16(28, true);
  const type = mode & 0o170000;
  const attrText = attrs <= 0xffff_ffffn ? flagsToString(Number(attrs), t.statxAttrs) : hex(attrs);
  const second =
    type === 0o020000 || type === 0o060000
      ? `stx_rdev_major=${v.getUint32(128, true)}, stx_rdev_minor=${v.getUint32(132, true)}`
      : `stx_size=${v.getBigUint64(40, true)}`;
  return `{stx_mask=${flagsToString(mask, t.statxMask)}, stx_attributes=${attrText}, stx_mode=${modeToString(mode)}, ${second}, ...}`;
}

function formatTimespec(mem: Mem, p: number): string {
  const v = dv(mem.read(p, 16));
  return `{tv_sec=${v.getBigInt64(0, true)}, tv_nsec=${v.getBigInt64(8, true)}}`;
}

/** struct itimerval: two struct timevals. */
function formatItimerval(mem: Mem, p: number): string {
  const v = dv(mem.read(p, 32));
  const tv = (at: number): string => `{tv_sec=${v.getBigInt64(at, true)}, tv_usec=${v.getBigInt64(at + 8, true)}}`;
  return `{it_interval=${tv(0)}, it_value=${tv(16)}}`;
}

function formatUtsname(mem: Mem, p: number): string {
  const b = mem.read(p, 130);
  const field = (at: number): string => {
    const f = b.subarray(at, at + 65);
    const nul = f.indexOf(0);
    return quoteBytes(nul >= 0 ? f.subarray(0, nul) : f);
  };
  return `{sysname=${field(0)}, nodename=${field(65)}, ...}`;
}

function formatRlimit(mem: Mem, p: number): string {
  const v = dv(mem.read(p, 16));
  return `{rlim_cur=${rlim(v.getBigUint64(0, true))}, rlim_max=${rlim(v.getBigUint64(8, true))}}`;
}

function formatSigset(ctx: SyscallContext, p: number): string {
  const v = dv(ctx.mem.read(p, 8));
  return sigsetToString(ctx.arch, v.getBigUint64(0, true));
}

/** struct sigaction as the kernel takes it (x86-64 and arm64 alike): handler, flags, restorer, mask. */
function formatSigaction(ctx: SyscallContext, p: number): string {
  const t = tablesFor(ctx.arch);
  const v = dv(ctx.mem.read(p, 32));
  const handler = v.getBigUint64(0, true);
  const flags = v.getBigUint64(8, true);
  const restorer = v.getBigUint64(16, true);
  const mask = v.getBigUint64(24, true);
  const h = handler === 0n ? 'SIG_DFL' : handler === 1n ? 'SIG_IGN' : handler === TWO64 - 1n ? 'SIG_ERR' : hex(handler);
  const lo = Number(flags & 0xffff_ffffn);
  const hi = flags >> 32n;
  let f = flagsToString(lo, t.saFlags);
  if (hi !== 0n) f = lo === 0 ? hex(flags) : `${f}|${hex(hi << 32n)}`;
  const restorerBit = num(t.c, 'SA_RESTORER') ?? 0x04000000;
  const tail = lo & restorerBit ? `, sa_restorer=${hex(restorer)}` : '';
  return `{sa_handler=${h}, sa_mask=${sigsetToString(ctx.arch, mask)}, sa_flags=${f}${tail}}`;
}

/** An iovec array; `dataSize` bytes of data in all (Infinity: every buffer in full). */
function formatIovec(ctx: SyscallContext, p: number, count: number, dataSize: number, strSize: number): string {
  if (p === 0) return 'NULL';
  if (!(count > 0)) return '[]';
  const shown = Math.min(count, strSize, IOV_MAX);
  const parts: string[] = [];
  let left = dataSize;
  for (let i = 0; i < shown; i++) {
    let v: DataView;
    try {
      v = dv(ctx.mem.read(p + 16 * i, 16));
    } catch (e) {
      if (i === 0) throw e;
      parts.push('...');
      return `[${parts.join(', ')}]`;
    }
    const base = Number(v.getBigUint64(0, true));
    const lenBig = v.getBigUint64(8, true);
    const len = Number(lenBig);
    const n = Math.min(len, left);
    left -= n;
    parts.push(`{iov_base=${printBuffer(ctx.mem, base, n, strSize)}, iov_len=${lenBig}}`);
  }
  if (count > shown) parts.push('...');
  return `[${parts.join(', ')}]`;
}

/** statx's flags: the sync type first (AT_STATX_SYNC_AS_STAT), then the AT_* flags. */
function statxFlags(t: Tables, v: number): string {
  const syncMask = num(t.c, 'AT_STATX_SYNC_TYPE') ?? 0x6000;
  const sync = v & syncMask;
  const head = t.statxSync.get(sync) ?? hex(sync);
  const rest = (v & ~syncMask) >>> 0;
  return rest ? `${head}|${flagsToString(rest, t.atFlags)}` : head;
}

/** fcntl's third argument, by command (the caller leaves it out for commands that take none). */
export function formatFcntlArg(arch: Arch, cmd: number, v: number): string {
  const name = tablesFor(arch).fcntlCmds.get(cmd);
  switch (name) {
    case 'F_SETFD':
      return v === 1 ? 'FD_CLOEXEC' : flagsToString(v, [['FD_CLOEXEC', 1]]);
    case 'F_SETFL':
      return openFlagsToString(arch, v >>> 0);
    case 'F_SETSIG':
      return signalName(arch, v | 0);
    case 'F_DUPFD':
    case 'F_DUPFD_CLOEXEC':
    case 'F_SETOWN':
    case 'F_SETPIPE_SZ':
    case 'F_SETLEASE':
    case 'F_NOTIFY':
    case 'F_ADD_SEALS':
      return sdec(v | 0);
    case undefined:
      return hex(v);
    default:
      return addr(v);
  }
}

/** fcntl commands whose third argument is unused (strace prints two arguments). */
export function fcntlTakesNoArg(arch: Arch, cmd: number): boolean {
  const name = tablesFor(arch).fcntlCmds.get(cmd);
  return name !== undefined && /^F_(GETFD|GETFL|GETOWN|GETSIG|GETLEASE|GETPIPE_SZ|GET_SEALS)$/.test(name);
}

/** fcntl's result for F_GETFD / F_GETFL as strace prints it, or undefined for a plain number. */
export function formatFcntlResult(arch: Arch, cmd: number, ret: number): string | undefined {
  if (ret < 0) return undefined;
  const name = tablesFor(arch).fcntlCmds.get(cmd);
  if (name === 'F_GETFD') return ret === 0 ? '0' : `${hex(ret)} (flags ${flagsToString(ret, [['FD_CLOEXEC', 1]])})`;
  if (name === 'F_GETFL') return `${hex(ret)} (flags ${openFlagsToString(arch, ret >>> 0)})`;
  return undefined;
}

/** Whether fcntl's result is a new fd (F_DUPFD, F_DUPFD_CLOEXEC), which -y decorates. */
export function fcntlReturnsFd(arch: Arch, cmd: number): boolean {
  const name = tablesFor(arch).fcntlCmds.get(cmd);
  return name === 'F_DUPFD' || name === 'F_DUPFD_CLOEXEC';
}

// ---- the decoder ------------------------------------------------------------------

function named(map: Map<number, string>, v: number): string {
  return map.get(v) ?? sdec(v);
}

/** Decode one argument of the given kind as strace prints it. Never throws. */
export function formatArg(kind: ArgKind, value: number, ctx: SyscallContext, opts: FormatArgOptions): string {
  try {
    return decode(kind, value, ctx, opts);
  } catch {
    return raw(kind, value);
  }
}

function decode(kind: ArgKind, v: number, ctx: SyscallContext, opts: FormatArgOptions): string {
  const arch = ctx.arch;
  const strSize = Math.max(0, opts.strSize);
  const ok = opts.ret >= 0 || opts.ret <= -4096;
  if (opts.syscall !== undefined) {
    const special = decodeByCall(opts.syscall, kind, v, ctx, opts, ok);
    if (special !== undefined) return special;
  }
  switch (kind) {
    case 'int':
    case 'fd':
    case 'newfd':
    case 'long':
      return sdec(v);
    case 'off':
      return opts.syscall === 'mmap' ? hex(v) : sdec(v);
    case 'uint':
    case 'ulong':
    case 'size':
      return udec(v);
    case 'hex':
      return hex(v);
    case 'ptr':
      return addr(v);
    case 'dirfd':
      return v === -100 ? 'AT_FDCWD' : sdec(v);
    case 'signal':
      return signalName(arch, v);
    case 'whence':
      return SEEK_NAMES.get(v) ?? `${hex(v >>> 0)} /* SEEK_??? */`;
    case 'fcntl_cmd':
      return tablesFor(arch).fcntlCmds.get(v) ?? `${hex(v >>> 0)} /* F_??? */`;
    case 'clockid':
      return named(tablesFor(arch).clocks, v);
    case 'rlimit_resource':
      return named(tablesFor(arch).rlimits, v);
    case 'arch_prctl_code':
      return named(ARCH_PRCTL_CODES, v);
    case 'madvise_advice':
      return named(tablesFor(arch).madvise, v);
    case 'sigprocmask_how':
      return named(tablesFor(arch).sigprocmaskHow, v);
    case 'which':
      if (opts.syscall === 'getitimer' || opts.syscall === 'setitimer') return named(tablesFor(arch).itimers, v);
      if (opts.syscall === 'getpriority' || opts.syscall === 'setpriority') return named(PRIO_WHICH, v);
      return sdec(v);
    case 'open_flags':
      // open(2) and openat(2) show the access mode; dup3, pipe2 and the like take only O_CLOEXEC-style flags.
      if (opts.syscall !== undefined && !OPEN_LIKE.has(opts.syscall)) return flagsToString(v, tablesFor(arch).openFlags);
      return openFlagsToString(arch, v);
    case 'at_flags': {
      const t = tablesFor(arch);
      if (opts.syscall === 'statx') return statxFlags(t, v);
      if (opts.syscall === 'faccessat2') return flagsToString(v, t.faccessatFlags);
      return flagsToString(v, t.atFlags);
    }
    case 'mode':
      return octalMode(v);
    case 'access_mode':
      return flagsToString(v, ACCESS_FLAGS, 'F_OK');
    case 'prot':
      return flagsToString(v, tablesFor(arch).prot, 'PROT_NONE');
    case 'map_flags': {
      const t = tablesFor(arch);
      const typeMask = num(t.c, 'MAP_TYPE') ?? 0xf;
      const type = v & typeMask;
      const hugeMask = ((num(t.c, 'MAP_HUGE_MASK') ?? 0x3f) * 2 ** (num(t.c, 'MAP_HUGE_SHIFT') ?? 26)) >>> 0;
      const huge = (v & hugeMask) >>> 0;
      const rest = (v & ~typeMask & ~hugeMask) >>> 0;
      let s = t.mapTypes.get(type) ?? hex(type);
      if (rest) s += `|${flagsToString(rest, t.mapFlags)}`;
      if (huge) s += `|${huge >>> (num(t.c, 'MAP_HUGE_SHIFT') ?? 26)}<<MAP_HUGE_SHIFT`;
      return s;
    }
    case 'mremap_flags':
      return flagsToString(v, tablesFor(arch).mremapFlags);
    case 'rename_flags':
      return flagsToString(v, RENAME_FLAGS);
    case 'statx_mask':
      return flagsToString(v, tablesFor(arch).statxMask);
    case 'getrandom_flags':
      return flagsToString(v, GRND_FLAGS);
    case 'futex_op':
      return futexOpName(v);
    case 'ioctl_request':
      return tablesFor(arch).ioctls.get(v) ?? hex(v);
    case 'path':
      return printCString(ctx.mem, v, PATH_MAX - 1);
    case 'inbuf':
      if (opts.next === undefined) return addr(v);
      return printBuffer(ctx.mem, v, opts.next, strSize);
    case 'outbuf':
      if (v === 0) return 'NULL';
      if (!ok) return hex(v);
      return printBuffer(ctx.mem, v, opts.ret, strSize, opts.syscall === 'getrandom');
    case 'outstr':
      if (v === 0) return 'NULL';
      if (!ok) return hex(v);
      return printOutString(ctx.mem, v, opts.ret, strSize);
    case 'iovec_in':
      return formatIovec(ctx, v, opts.next ?? 0, Infinity, strSize);
    case 'iovec_out':
      if (v === 0) return 'NULL';
      if (!ok) return hex(v);
      return formatIovec(ctx, v, opts.next ?? 0, opts.ret, strSize);
    default:
      return formatEventsArg(kind, v, ctx, opts, ok) ?? decodeStruct(kind, v, ctx, opts, ok);
  }
}

function decodeStruct(kind: ArgKind, v: number, ctx: SyscallContext, opts: FormatArgOptions, ok: boolean): string {
  if (v === 0) return 'NULL';
  const out = kind.endsWith('_out');
  // nanosleep's remainder is written only when the sleep is interrupted.
  if (out && kind === 'struct_timespec_out' && (opts.syscall === 'nanosleep' || opts.syscall === 'clock_nanosleep')) {
    if (opts.ret !== -4 /* EINTR */) return hex(v);
  } else if (out && !ok) {
    return hex(v);
  }
  switch (kind) {
    case 'struct_stat_out':
      return formatStat(ctx, v);
    case 'struct_statx_out':
      return formatStatx(ctx, v);
    case 'struct_timespec_in':
    case 'struct_timespec_out':
      return formatTimespec(ctx.mem, v);
    case 'struct_utsname_out':
      return formatUtsname(ctx.mem, v);
    case 'struct_rlimit_in':
    case 'struct_rlimit_out':
      return formatRlimit(ctx.mem, v);
    case 'sigset_in':
    case 'sigset_out':
      return formatSigset(ctx, v);
    case 'struct_sigaction_in':
    case 'struct_sigaction_out':
      return formatSigaction(ctx, v);
    case 'struct_siginfo_in':
      return formatSiginfo(ctx.arch, decodeSigInfo(ctx.mem.read(v, SIGINFO_SIZE)));
    case 'struct_itimerval_in':
    case 'struct_itimerval_out':
      return formatItimerval(ctx.mem, v);
    default:
      return raw(kind, v);
  }
}

// ---- decodings that depend on the call, not only on the kind ------------------------

const MS_FLAGS: Entries = [
  ['MS_ASYNC', 1],
  ['MS_INVALIDATE', 2],
  ['MS_SYNC', 4],
];

/** strace's wait4_options, in its order (WUNTRACED is spelt WSTOPPED, its alias). */
const WAIT_FLAGS: Entries = [
  ['WNOHANG', 1],
  ['WEXITED', 4],
  ['WSTOPPED', 2],
  ['WCONTINUED', 8],
  ['WNOWAIT', 0x0100_0000],
  ['__WCLONE', 0x8000_0000],
  ['__WALL', 0x4000_0000],
  ['__WNOTHREAD', 0x2000_0000],
];

/** clone(2) flags above the exit signal, in strace's order. */
const FUTEX_CMDS = ['FUTEX_WAIT', 'FUTEX_WAKE', 'FUTEX_FD', 'FUTEX_REQUEUE', 'FUTEX_CMP_REQUEUE', 'FUTEX_WAKE_OP', 'FUTEX_LOCK_PI',
  'FUTEX_UNLOCK_PI', 'FUTEX_TRYLOCK_PI', 'FUTEX_WAIT_BITSET', 'FUTEX_WAKE_BITSET', 'FUTEX_WAIT_REQUEUE_PI', 'FUTEX_CMP_REQUEUE_PI', 'FUTEX_LOCK_PI2'];

/** strace's spelling: FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME. */
function futexOpName(v: number): string {
  const cmd = v & 127;
  let s = FUTEX_CMDS[cmd] ?? `${cmd}`;
  if (v & 128) s += '_PRIVATE';
  if (v & 256) s += '|FUTEX_CLOCK_REALTIME';
  const rest = v & ~(127 | 128 | 256);
  return rest ? `${s}|${hex(rest >>> 0)}` : s;
}

const FUTEX_BITSET_MATCH_ANY = 0xffff_ffff;
const FUTEX_WAKE_OPS = ['FUTEX_OP_SET', 'FUTEX_OP_ADD', 'FUTEX_OP_OR', 'FUTEX_OP_ANDN', 'FUTEX_OP_XOR'];
const FUTEX_WAKE_CMPS = ['FUTEX_OP_CMP_EQ', 'FUTEX_OP_CMP_NE', 'FUTEX_OP_CMP_LT', 'FUTEX_OP_CMP_LE', 'FUTEX_OP_CMP_GT', 'FUTEX_OP_CMP_GE'];

/** FUTEX_WAKE_OP's encoded operation, as strace spells it: FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1. */
function futexWakeOp(v3: number): string {
  const op = (v3 >>> 28) & 7;
  const cmp = (v3 >>> 24) & 0xf;
  const shift = (v3 >>> 28) & 8 ? 'FUTEX_OP_OPARG_SHIFT<<28|' : '';
  const opName = FUTEX_WAKE_OPS[op] ? `${FUTEX_WAKE_OPS[op]}<<28` : `${op}<<28 /* FUTEX_OP_??? */`;
  const cmpName = FUTEX_WAKE_CMPS[cmp] ? `${FUTEX_WAKE_CMPS[cmp]}<<24` : `${cmp}<<24 /* FUTEX_OP_CMP_??? */`;
  return `${shift}${opName}|${hex((v3 >>> 12) & 0xfff)}<<12|${cmpName}|${hex(v3 & 0xfff)}`;
}

/**
 * futex(2)'s operands after futex_op, the ones its operation uses, as
 * strace's do_futex prints them: FUTEX_WAIT (val, timeout), FUTEX_WAKE
 * (val), FUTEX_CMP_REQUEUE (val, val2, uaddr2, val3)... `args` are all six.
 */
export function futexOperands(ctx: SyscallContext, args: readonly number[]): string[] {
  const op = args[1] ?? 0;
  const val = String((args[2] ?? 0) >>> 0);
  const timeout = args[3] ?? 0;
  const val2 = String(timeout % 2 ** 32 >>> 0);
  const uaddr2 = addr(args[4] ?? 0);
  const val3 = (args[5] ?? 0) >>> 0;
  const ts = (): string => (timeout === 0 ? 'NULL' : formatTimespec(ctx.mem, timeout));
  const bitset = (): string => (val3 === FUTEX_BITSET_MATCH_ANY ? 'FUTEX_BITSET_MATCH_ANY' : hex(val3));
  switch (op & 127) {
    case 0: // FUTEX_WAIT
      return [val, ts()];
    case 6: // FUTEX_LOCK_PI
    case 13: // FUTEX_LOCK_PI2
      return [ts()];
    case 9: // FUTEX_WAIT_BITSET
      return [val, ts(), bitset()];
    case 10: // FUTEX_WAKE_BITSET
      return [val, bitset()];
    case 3: // FUTEX_REQUEUE
      return [val, val2, uaddr2];
    case 4: // FUTEX_CMP_REQUEUE
    case 12: // FUTEX_CMP_REQUEUE_PI
      return [val, val2, uaddr2, String(val3)];
    case 5: // FUTEX_WAKE_OP
      return [val, val2, uaddr2, futexWakeOp(val3)];
    case 11: // FUTEX_WAIT_REQUEUE_PI
      return [val, ts(), uaddr2];
    case 1: // FUTEX_WAKE
    case 2: // FUTEX_FD
      return [val];
    case 7: // FUTEX_UNLOCK_PI
    case 8: // FUTEX_TRYLOCK_PI
      return [];
    default:
      return [val, addr(timeout), uaddr2, hex(val3)];
  }
}

export const CLONE_FLAGS: Entries = [
  ['CLONE_VM', 0x100],
  ['CLONE_FS', 0x200],
  ['CLONE_FILES', 0x400],
  ['CLONE_SIGHAND', 0x800],
  ['CLONE_PIDFD', 0x1000],
  ['CLONE_PTRACE', 0x2000],
  ['CLONE_VFORK', 0x4000],
  ['CLONE_PARENT', 0x8000],
  ['CLONE_THREAD', 0x1_0000],
  ['CLONE_NEWNS', 0x2_0000],
  ['CLONE_SYSVSEM', 0x4_0000],
  ['CLONE_SETTLS', 0x8_0000],
  ['CLONE_PARENT_SETTID', 0x10_0000],
  ['CLONE_CHILD_CLEARTID', 0x20_0000],
  // CLONE_DETACHED (0x400000) is ignored by the kernel; strace's table leaves it out, so it prints as a number.
  ['CLONE_UNTRACED', 0x80_0000],
  ['CLONE_CHILD_SETTID', 0x100_0000],
  ['CLONE_NEWCGROUP', 0x200_0000],
  ['CLONE_NEWUTS', 0x400_0000],
  ['CLONE_NEWIPC', 0x800_0000],
  ['CLONE_NEWUSER', 0x1000_0000],
  ['CLONE_NEWPID', 0x2000_0000],
  ['CLONE_NEWNET', 0x4000_0000],
  ['CLONE_IO', 0x8000_0000],
];

/** clone's flags word: the CLONE_* names, then the exit signal (strace: CLONE_VM|CLONE_VFORK|SIGCHLD). */
export function cloneFlagsToString(arch: Arch, flags: number): string {
  const sig = flags & 0xff;
  const rest = (flags & ~0xff) >>> 0;
  const parts: string[] = [];
  if (rest) parts.push(flagsToString(rest, CLONE_FLAGS));
  if (sig) parts.push(signalName(arch, sig));
  return parts.length ? parts.join('|') : '0';
}

/** A wait status as strace prints it: [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]. */
export function waitStatusToString(arch: Arch, s: number): string {
  const sig = s & 0x7f;
  let inner: string;
  if (sig === 0) inner = `WIFEXITED(s) && WEXITSTATUS(s) == ${(s >> 8) & 0xff}`;
  else if (sig === 0x7f) {
    inner = `WIFSTOPPED(s) && WSTOPSIG(s) == ${signalName(arch, (s >> 8) & 0xff)}`;
    if (s >>> 16) inner += ` && s>>16 == ${hex(s >>> 16)}`;
  } else if (s === 0xffff) inner = 'WIFCONTINUED(s)';
  else {
    inner = `WIFSIGNALED(s) && WTERMSIG(s) == ${signalName(arch, sig)}`;
    if (s & 0x80) inner += ' && WCOREDUMP(s)';
  }
  return `[{${inner}}]`;
}

/** The number of linux_dirent64 records in a buffer getdents64 filled. */
function countDirents(mem: Mem, p: number, len: number): number {
  const bytes = mem.read(p, len);
  const v = dv(bytes);
  let n = 0;
  for (let off = 0; off + 19 <= len; n++) {
    const reclen = v.getUint16(off + 16, true);
    if (reclen === 0) break;
    off += reclen;
  }
  return n;
}

/** An array of string pointers (execve's argv): ["a", "b"], at most strSize elements. */
function printStringArray(mem: Mem, p: number, strSize: number): string {
  if (p === 0) return 'NULL';
  const parts: string[] = [];
  for (let i = 0; ; i++) {
    const sp = mem.readU64(p + 8 * i);
    if (sp === 0) break;
    if (i >= strSize) {
      parts.push('...');
      break;
    }
    parts.push(printStringLimited(mem, sp, strSize));
  }
  return `[${parts.join(', ')}]`;
}

/** A NUL-terminated string cut at strSize bytes ("..." after the quote when cut), as strace's printstr does. */
function printStringLimited(mem: Mem, p: number, strSize: number): string {
  try {
    const { bytes, cut } = readCStr(mem, p, strSize);
    return quoteBytes(bytes) + (cut ? '...' : '');
  } catch {
    return hex(p);
  }
}

/** Count the entries of a NULL-terminated pointer array (execve's envp). */
function countPointers(mem: Mem, p: number): number {
  let n = 0;
  while (n < 1 << 20 && mem.readU64(p + 8 * n) !== 0) n++;
  return n;
}

/** Decodings strace does for particular calls; undefined: decode by kind. */
function decodeByCall(
  syscall: string,
  kind: ArgKind,
  v: number,
  ctx: SyscallContext,
  opts: FormatArgOptions,
  ok: boolean,
): string | undefined {
  switch (syscall) {
    case 'getdents64':
    case 'getdents':
      if (kind !== 'ptr') return undefined;
      if (v === 0 || !ok) return addr(v);
      return `${hex(v)} /* ${countDirents(ctx.mem, v, opts.ret)} entries */`;
    case 'pipe':
    case 'pipe2':
      if (kind !== 'ptr') return undefined;
      if (v === 0 || !ok) return addr(v);
      return `[${ctx.mem.readI32(v)}, ${ctx.mem.readI32(v + 4)}]`;
    case 'msync':
      return opts.index === 2 ? flagsToString(v, MS_FLAGS) : undefined;
    case 'wait4':
      if (opts.index === 1) {
        if (v === 0 || !ok || opts.ret === 0) return addr(v);
        return waitStatusToString(ctx.arch, ctx.mem.readI32(v));
      }
      if (opts.index === 2) return flagsToString(v, WAIT_FLAGS);
      return undefined;
    case 'execve':
    case 'execveat': {
      const argvAt = syscall === 'execve' ? 1 : 2;
      if (opts.index === argvAt) return printStringArray(ctx.mem, v, opts.strSize);
      if (opts.index === argvAt + 1) return v === 0 ? 'NULL' : `${hex(v)} /* ${countPointers(ctx.mem, v)} vars */`;
      return undefined;
    }
    default:
      return undefined;
  }
}
