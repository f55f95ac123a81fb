// Argument decoding for the strace-style tracer: one function turns a
// converted argument of a given kind into the text strace would print for
// it. What a kind prints as is declared with the kind (its `show`, in
// src/kernel/syscall-kinds.ts); this file implements each way of showing
// once (DECODERS), and the names of flags and values come from the
// kernel's tables (src/kernel/syscall-flags.ts), built from the guest
// arch's constants in the order strace's xlat tables list them.
//
// Decoding never throws: a pointer that cannot be read prints as its hex
// value, as strace prints it, and any other failure prints the raw number.
import type { Arch } from '../arch/types.ts';
import type { SyscallContext } from '../kernel/syscall-decl.ts';
import { KINDS, namesOf, type ArgKind, type KindDef, type Show, type ShowAs } from '../kernel/syscall-kinds.ts';
import {
  CLONE_EXIT_SIGNAL_MASK,
  CLONE_FLAGS,
  FD_FLAGS,
  FUTEX_CLOCK_REALTIME,
  FUTEX_CMDS,
  FUTEX_CMD_MASK,
  FUTEX_PRIVATE_FLAG,
  archFlags,
  num,
  openModeBits,
  type ArchFlags,
  type Entries,
} from '../kernel/syscall-flags.ts';
import { STRUCTS, formatIovec, formatSockaddr, formatTimespec } from './decode-structs.ts';
import { formatMmsghdr, formatMsghdr, formatSockoptValue, formatSocketType } from './decode-net.ts';

export interface FormatArgOptions {
  /** -s: how many bytes of a string or buffer to show. */
  strSize: number;
  /** The call's raw result (>= 0 or -errno): what the kernel wrote shows only when it succeeded. */
  ret: number;
  /** The next argument's value: the length of an inbuf, the count of an iovec array. */
  next?: number;
  /** What the argument pointed at when the call began (kinds with `atEntry`). */
  entry?: number;
}

export type Mem = SyscallContext['mem'];

const TWO64 = 1n << 64n;

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

export function udec(v: number): string {
  return Number.isSafeInteger(v) && v >= 0 ? String(v) : toU64(v).toString();
}

export function sdec(v: number): string {
  if (Number.isSafeInteger(v)) return String(v);
  return Number.isFinite(v) ? BigInt(Math.trunc(v)).toString() : String(v);
}

/** C's "%#03o" as strace prints modes: 0644, 000. */
export function octalMode(v: number): string {
  return v === 0 ? '000' : `0${(v >>> 0).toString(8)}`.padStart(3, '0');
}

/** The raw value when decoding fails: decimal for numbers, hex for addresses. */
function raw(def: KindDef, v: number): string {
  switch (def.width) {
    case 's32':
    case 's64':
      return sdec(v);
    case 'u32':
      return udec(v);
    default:
      return def.show.as === 'uint' ? udec(v) : addr(v);
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
export function printBuffer(mem: Mem, p: number, len: number, strSize: number, forceHex = false): string {
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
export function readCStr(mem: Mem, p: number, limit: number): { bytes: Uint8Array; cut: boolean } {
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

// ---- names --------------------------------------------------------------------------------

/** An arch's flag and value tables (src/kernel/syscall-flags.ts). */
export function tablesFor(arch: Arch): ArchFlags {
  return archFlags(arch);
}

const nameMaps = new WeakMap<Entries, Map<number, string>>();

/** The name of `v` in a table of values, or undefined. */
export function nameOf(entries: Entries, v: number): string | undefined {
  let m = nameMaps.get(entries);
  if (!m) {
    m = new Map();
    for (const [name, value] of entries) if (!m.has(value)) m.set(value, name);
    nameMaps.set(entries, m);
  }
  return m.get(v);
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

// ---- exported decoders used by the tracer -----------------------------------------

/** The access mode first, then the other O_* flags: O_RDONLY|O_CLOEXEC. */
export function openFlagsToString(arch: Arch, v: number): string {
  const t = tablesFor(arch);
  const acc = v & 3;
  const rest = (v & ~3) >>> 0;
  const head = nameOf(t.accessModes, acc)!;
  return rest ? `${head}|${flagsToString(rest, t.openFlags)}` : head;
}

/** Whether open(2) flags make the call take a mode argument (O_CREAT or O_TMPFILE). */
export function openTakesMode(arch: Arch, flags: number): boolean {
  return (flags & openModeBits(arch)) !== 0;
}

/** A signal number: SIGINT, SIGRTMIN, SIGRT_3; plain decimal for 0 and unknown numbers. */
export function signalName(arch: Arch, sig: number): string {
  const short = signalShortName(arch, sig);
  return short === undefined ? sdec(sig) : `SIG${short}`;
}

function signalShortName(arch: Arch, sig: number): string | undefined {
  const name = nameOf(tablesFor(arch).signals, sig);
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

/** statx's flags: the sync type first (AT_STATX_SYNC_AS_STAT), then the AT_* flags. */
function statxFlags(t: ArchFlags, v: number): string {
  const syncMask = num(t.c, 'AT_STATX_SYNC_TYPE') ?? 0x6000;
  const sync = v & syncMask;
  const head = nameOf(t.statxSync, sync) ?? hex(sync);
  const rest = (v & ~syncMask) >>> 0;
  return rest ? `${head}|${flagsToString(rest, t.atFlags)}` : head;
}

/** fcntl's third argument, by command (the caller leaves it out for commands that take none). */
export function formatFcntlArg(arch: Arch, cmd: number, v: number): string {
  const name = nameOf(tablesFor(arch).fcntlCmds, cmd);
  switch (name) {
    case 'F_SETFD':
      return v === 1 ? 'FD_CLOEXEC' : flagsToString(v, FD_FLAGS);
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
  const name = nameOf(tablesFor(arch).fcntlCmds, cmd);
  return name !== undefined && /^F_(GETFD|GETFL|GETOWN|GETSIG|GETLEASE|GETPIPE_SZ|GET_SEALS)$/.test(name);
}

/** fcntl's result for F_GETFD / F_GETFL as strace prints it, or undefined for a plain number. */
export function formatFcntlResult(arch: Arch, cmd: number, ret: number): string | undefined {
  if (ret < 0) return undefined;
  const name = nameOf(tablesFor(arch).fcntlCmds, cmd);
  if (name === 'F_GETFD') return ret === 0 ? '0' : `${hex(ret)} (flags ${flagsToString(ret, FD_FLAGS)})`;
  if (name === 'F_GETFL') return `${hex(ret)} (flags ${openFlagsToString(arch, ret >>> 0)})`;
  return undefined;
}

/** Whether fcntl's result is a new fd (F_DUPFD, F_DUPFD_CLOEXEC), which -y decorates. */
export function fcntlReturnsFd(arch: Arch, cmd: number): boolean {
  const name = nameOf(tablesFor(arch).fcntlCmds, cmd);
  return name === 'F_DUPFD' || name === 'F_DUPFD_CLOEXEC';
}

/** strace's spelling: FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME. */
function futexOpName(v: number): string {
  const cmd = v & FUTEX_CMD_MASK;
  let s = FUTEX_CMDS[cmd] ?? `${cmd}`;
  if (v & FUTEX_PRIVATE_FLAG) s += '_PRIVATE';
  if (v & FUTEX_CLOCK_REALTIME) s += '|FUTEX_CLOCK_REALTIME';
  const rest = v & ~(FUTEX_CMD_MASK | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
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

/** clone's flags word: the CLONE_* names, then the exit signal (strace: CLONE_VM|CLONE_VFORK|SIGCHLD). */
export function cloneFlagsToString(arch: Arch, flags: number): string {
  const sig = flags & CLONE_EXIT_SIGNAL_MASK;
  const rest = (flags & ~CLONE_EXIT_SIGNAL_MASK) >>> 0;
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
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

// ---- the decoders, one per way of showing ---------------------------------------------------

/** What a decoder gets besides the value. */
interface Decoding extends FormatArgOptions {
  readonly ctx: SyscallContext;
  /** The call succeeded. */
  readonly ok: boolean;
  readonly def: KindDef;
}

type Decoder<A extends ShowAs> = (v: number, show: Extract<Show, { as: A }>, d: Decoding) => string;

const EINTR = 4;
const PATH_MAX = 4096;

/** How each `show.as` of a kind prints (src/kernel/syscall-kinds.ts says which kind shows how). */
const DECODERS: { readonly [A in ShowAs]: Decoder<A> } = {
  int: (v) => sdec(v),
  uint: (v) => udec(v),
  hex: (v) => hex(v),
  addr: (v) => addr(v),
  octal: (v) => octalMode(v),
  signal: (v, _, d) => signalName(d.ctx.arch, v),
  value: (v, show, d) => {
    const name = nameOf(namesOf(show.names, tablesFor(d.ctx.arch)), v);
    if (name !== undefined) return name;
    if (show.unknown === undefined || show.unknown === 'dec') return sdec(v);
    return show.unknown === 'hex' ? hex(v) : `${hex(v >>> 0)} /* ${show.unknown} */`;
  },
  flags: (v, show, d) => flagsToString(v, namesOf(show.names, tablesFor(d.ctx.arch)), show.zero),
  open_flags: (v, _, d) => openFlagsToString(d.ctx.arch, v),
  statx_flags: (v, _, d) => statxFlags(tablesFor(d.ctx.arch), v),
  map_flags: (v, _, d) => mapFlagsToString(tablesFor(d.ctx.arch), v),
  clone_flags: (v, _, d) => cloneFlagsToString(d.ctx.arch, v),
  futex_op: (v) => futexOpName(v),
  path: (v, _, d) => printCString(d.ctx.mem, v, PATH_MAX - 1),
  inbuf: (v, _, d) => (d.next === undefined ? addr(v) : printBuffer(d.ctx.mem, v, d.next, d.strSize)),
  // A datagram cut short returns its full length (MSG_TRUNC): no more than the buffer holds is shown.
  outbuf: (v, show, d) => printBuffer(d.ctx.mem, v, d.next === undefined ? d.ret : Math.min(d.ret, d.next), d.strSize, show.hex),
  outstr: (v, _, d) => printOutString(d.ctx.mem, v, d.ret, d.strSize),
  // An array being read from is shown in full; one the kernel filled, as far as the result says.
  iovec: (v, _, d) => formatIovec(d.ctx, v, d.next ?? 0, d.def.written ? d.ret : Infinity, d.strSize),
  argv: (v, _, d) => printStringArray(d.ctx.mem, v, d.strSize),
  envp: (v, _, d) => (v === 0 ? 'NULL' : `${hex(v)} /* ${countPointers(d.ctx.mem, v)} vars */`),
  dirents: (v, _, d) => `${hex(v)} /* ${countDirents(d.ctx.mem, v, d.ret)} entries */`,
  pipe_fds: (v, _, d) => `[${d.ctx.mem.readI32(v)}, ${d.ctx.mem.readI32(v + 4)}]`,
  // WNOHANG with no child ready: nothing was written.
  wait_status: (v, _, d) => (d.ret === 0 ? addr(v) : waitStatusToString(d.ctx.arch, d.ctx.mem.readI32(v))),
  tid: (v, _, d) => (d.ret > 0 ? `[${d.ctx.mem.readI32(v)}]` : hex(v)),
  sockaddr: (v, _, d) => {
    if (v === 0) return 'NULL';
    // Passed in, its length is the next argument; written by the kernel, the next argument points at it.
    const len = d.def.written ? d.ctx.mem.readU32(d.next ?? 0) : (d.next ?? 0);
    return formatSockaddr(d.ctx.mem, v, len, d.strSize);
  },
  socklen: (v, _, d) => {
    if (v === 0) return 'NULL';
    const now = d.ctx.mem.readU32(v);
    return d.entry !== undefined && d.entry !== now ? `[${d.entry} => ${now}]` : `[${now}]`;
  },
  socket_type: (v, _, d) => formatSocketType(d.ctx, v),
  msghdr: (v, _, d) => formatMsghdr(d.ctx, v, d.def.written ? d.ret : Infinity, d.strSize, d.def.written !== undefined),
  mmsghdr: (v, _, d) => formatMmsghdr(d.ctx, v, d.def.written ? d.ret : (d.next ?? 0), d.strSize, d.def.written !== undefined),
  sockopt: (v, _, d) => formatSockoptValue(d.ctx, -1, -1, v, d.def.written ? d.ctx.mem.readI32(d.next ?? 0) : (d.next ?? 0), d.strSize),
  struct: (v, show, d) => (v === 0 ? 'NULL' : STRUCTS[show.struct](d.ctx, v, d)),
};

/** mmap's flags: the mapping type, then the flags, then the huge page size: MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT. */
function mapFlagsToString(t: ArchFlags, v: number): string {
  const typeMask = num(t.c, 'MAP_TYPE') ?? 0xf;
  const hugeShift = num(t.c, 'MAP_HUGE_SHIFT') ?? 26;
  const type = v & typeMask;
  const hugeMask = ((num(t.c, 'MAP_HUGE_MASK') ?? 0x3f) * 2 ** hugeShift) >>> 0;
  const huge = (v & hugeMask) >>> 0;
  const rest = (v & ~typeMask & ~hugeMask) >>> 0;
  let s = nameOf(t.mapTypes, type) ?? hex(type);
  if (rest) s += `|${flagsToString(rest, t.mapFlags)}`;
  if (huge) s += `|${huge >>> hugeShift}<<MAP_HUGE_SHIFT`;
  return s;
}

/**
 * What the kernel writes shows only once it has: NULL stays NULL, and
 * before (or without) the write the address prints in hex.
 */
function notWrittenYet(def: KindDef, v: number, ret: number, ok: boolean): string | undefined {
  if (!def.written) return undefined;
  if (v === 0) return 'NULL';
  const written = def.written === 'on-eintr' ? ret === -EINTR : ok;
  return written ? undefined : hex(v);
}

/** Decode one argument of the given kind as strace prints it. Never throws. */
export function formatArg(kind: ArgKind, value: number, ctx: SyscallContext, opts: FormatArgOptions): string {
  const def: KindDef = KINDS[kind];
  try {
    const ok = opts.ret >= 0 || opts.ret <= -4096;
    const early = notWrittenYet(def, value, opts.ret, ok);
    if (early !== undefined) return early;
    const show = def.show;
    const decoder = DECODERS[show.as] as Decoder<ShowAs>;
    return decoder(value, show, { ...opts, strSize: Math.max(0, opts.strSize), ctx, ok, def });
  } catch {
    return raw(def, value);
  }
}

/** Whether the tracer knows how to show `kind` (test/syscall-kinds.test.ts). */
export function hasDecoder(kind: ArgKind): boolean {
  const show = KINDS[kind].show;
  return Object.hasOwn(DECODERS, show.as) && (show.as !== 'struct' || Object.hasOwn(STRUCTS, show.struct));
}
