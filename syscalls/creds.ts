// Changing identity: the set*id family, the filesystem ids and capabilities
// (see credentials(7), setresuid(2), setfsuid(2), capget(2)). Privilege is
// euid 0 (standing in for CAP_SETUID / CAP_SETGID); an unprivileged process
// may only move each id among its current real, effective and saved ids.
import { fail } from '../src/kernel/errors.ts';
import type { Credentials, Process } from '../src/kernel/process.ts';
import { family, type SyscallContext } from './types.ts';

/** (uid_t)-1: "leave unchanged" for setre*id/setres*id, invalid for set*id. */
const UNCHANGED = 0xffff_ffff;

/** fsuid/fsgid follow euid/egid unless setfsuid/setfsgid moved them (recorded with the euid/egid they go with). */
const fsids = new WeakMap<Process, { uid: number; forEuid: number; gid: number; forEgid: number }>();

function fsuid(p: Process): number {
  const f = fsids.get(p);
  return f && f.forEuid === p.creds.euid ? f.uid : p.creds.euid;
}
function fsgid(p: Process): number {
  const f = fsids.get(p);
  return f && f.forEgid === p.creds.egid ? f.gid : p.creds.egid;
}
function setFs(p: Process, uid: number, gid: number): void {
  fsids.set(p, { uid, forEuid: p.creds.euid, gid, forEgid: p.creds.egid });
}

type Kind = 'uid' | 'gid';
const keys = (k: Kind) =>
  k === 'uid' ? ({ r: 'uid', e: 'euid', s: 'suid' } as const) : ({ r: 'gid', e: 'egid', s: 'sgid' } as const);

function privileged(ctx: SyscallContext): boolean {
  return ctx.proc.creds.euid === 0;
}

/** Apply new ids; a change of euid/egid resets the matching fs id (credentials(7)). */
function commit(ctx: SyscallContext, kind: Kind, next: { r: number; e: number; s: number }): void {
  const c: Credentials = ctx.proc.creds;
  const k = keys(kind);
  const keepUid = fsuid(ctx.proc);
  const keepGid = fsgid(ctx.proc);
  c[k.r] = next.r;
  c[k.e] = next.e;
  c[k.s] = next.s;
  // The fs id always follows the new effective id.
  if (kind === 'uid') setFs(ctx.proc, c.euid, keepGid);
  else setFs(ctx.proc, keepUid, c.egid);
}

/** setuid(2)/setgid(2): root sets all three ids; others only euid, to the real or saved id. */
function setOne(ctx: SyscallContext, kind: Kind, id: number): number {
  if (id === UNCHANGED) fail('EINVAL');
  const k = keys(kind);
  const c = ctx.proc.creds;
  if (privileged(ctx)) commit(ctx, kind, { r: id, e: id, s: id });
  else if (id === c[k.r] || id === c[k.s]) commit(ctx, kind, { r: c[k.r], e: id, s: c[k.s] });
  else fail('EPERM');
  return 0;
}

/**
 * setreuid(2)/setregid(2): the real id may become the real or effective id,
 * the effective id any of real/effective/saved. The saved id becomes the new
 * effective id when the real id is set, or the effective id is set to a value
 * other than the old real id.
 */
function setRe(ctx: SyscallContext, kind: Kind, r: number, e: number): number {
  const k = keys(kind);
  const c = ctx.proc.creds;
  const old = { r: c[k.r], e: c[k.e], s: c[k.s] };
  const root = privileged(ctx);
  if (r !== UNCHANGED && !root && r !== old.r && r !== old.e) fail('EPERM');
  if (e !== UNCHANGED && !root && e !== old.r && e !== old.e && e !== old.s) fail('EPERM');
  const next = { r: r !== UNCHANGED ? r : old.r, e: e !== UNCHANGED ? e : old.e, s: old.s };
  if (r !== UNCHANGED || (e !== UNCHANGED && e !== old.r)) next.s = next.e;
  commit(ctx, kind, next);
  return 0;
}

/** setresuid(2)/setresgid(2): each id given must be one of the current three, unless privileged. */
function setRes(ctx: SyscallContext, kind: Kind, r: number, e: number, s: number): number {
  const k = keys(kind);
  const c = ctx.proc.creds;
  const old = { r: c[k.r], e: c[k.e], s: c[k.s] };
  if (!privileged(ctx)) {
    const allowed = (id: number) => id === UNCHANGED || id === old.r || id === old.e || id === old.s;
    if (!allowed(r) || !allowed(e) || !allowed(s)) fail('EPERM');
  }
  commit(ctx, kind, {
    r: r !== UNCHANGED ? r : old.r,
    e: e !== UNCHANGED ? e : old.e,
    s: s !== UNCHANGED ? s : old.s,
  });
  return 0;
}

/** getresuid(2)/getresgid(2): three u32s. */
function getRes(ctx: SyscallContext, kind: Kind, r: number, e: number, s: number): number {
  const k = keys(kind);
  const c = ctx.proc.creds;
  ctx.mem.writeU32(r, c[k.r]);
  ctx.mem.writeU32(e, c[k.e]);
  ctx.mem.writeU32(s, c[k.s]);
  return 0;
}

/**
 * setfsuid(2)/setfsgid(2): always return the previous fs id; change it only
 * if the new value is the real, effective, saved or current fs id, or the
 * caller is privileged (no error is ever reported; -1 is the usual query).
 * Permission checks elsewhere in tslinux use the effective ids.
 */
function setFsId(ctx: SyscallContext, kind: Kind, id: number): number {
  const p = ctx.proc;
  const c = p.creds;
  const k = keys(kind);
  const old = kind === 'uid' ? fsuid(p) : fsgid(p);
  if (id === UNCHANGED) return old;
  if (privileged(ctx) || id === c[k.r] || id === c[k.e] || id === c[k.s] || id === old) {
    if (kind === 'uid') setFs(p, id, fsgid(p));
    else setFs(p, fsuid(p), id);
  }
  return old;
}

const CAP_V1 = 0x1998_0330;
const CAP_V2 = 0x2007_1026;
const CAP_V3 = 0x2008_0522;
/** CAP_LAST_CAP for Linux 6.1 is 40 (CAP_CHECKPOINT_RESTORE): bits 0..40. */
const FULL_CAPS = [0xffff_ffff, 0x1ff] as const;

interface CapSets {
  effective: [number, number];
  permitted: [number, number];
  inheritable: [number, number];
}
/** Capability sets set by capset, with the euid they were set under (a uid change recomputes them). */
const capsOf = new WeakMap<Process, { caps: CapSets; forEuid: number }>();

function caps(p: Process): CapSets {
  const stored = capsOf.get(p);
  if (stored && stored.forEuid === p.creds.euid) return stored.caps;
  const full = p.creds.euid === 0;
  const set = (): [number, number] => (full ? [FULL_CAPS[0], FULL_CAPS[1]] : [0, 0]);
  return { effective: set(), permitted: set(), inheritable: [0, 0] };
}

/** The header's version: how many data structs it takes, or (unknown) write V3 back and EINVAL. */
function capVersion(ctx: SyscallContext, hdr: number): number {
  const version = ctx.mem.readU32(hdr);
  if (version === CAP_V1) return 1;
  if (version === CAP_V2 || version === CAP_V3) return 2;
  ctx.mem.writeU32(hdr, CAP_V3);
  fail('EINVAL');
}

/**
 * capget(2): data may be NULL to probe the version (a bad one still writes
 * the preferred version, but returns 0). pid 0 is the caller.
 */
function capget(ctx: SyscallContext, hdr: number, data: number): number {
  let words: number;
  try {
    words = capVersion(ctx, hdr);
  } catch (e) {
    if (!data && (e as { code?: string }).code === 'EINVAL') return 0;
    throw e;
  }
  if (!data) return 0;
  const pid = ctx.mem.readI32(hdr + 4);
  if (pid < 0) fail('EINVAL');
  let target = ctx.proc;
  if (pid !== 0 && pid !== ctx.proc.pid) {
    const p = ctx.kernel.processes.get(pid);
    if (!p || p.reaped) fail('ESRCH');
    target = p;
  }
  const c = caps(target);
  const out = new Uint8Array(12 * words);
  const v = new DataView(out.buffer);
  for (let i = 0; i < words; i++) {
    v.setUint32(i * 12, c.effective[i]!, true);
    v.setUint32(i * 12 + 4, c.permitted[i]!, true);
    v.setUint32(i * 12 + 8, c.inheritable[i]!, true);
  }
  ctx.mem.write(data, out);
  return 0;
}

/**
 * capset(2): only our own sets (pid 0 or our pid, else EPERM). The new
 * permitted set may only shrink, effective must lie within permitted, and
 * inheritable within the old inheritable plus permitted sets (without
 * CAP_SETPCAP; with it, within the bounding set, which is full).
 */
function capset(ctx: SyscallContext, hdr: number, data: number): number {
  const words = capVersion(ctx, hdr);
  const pid = ctx.mem.readI32(hdr + 4);
  if (pid !== 0 && pid !== ctx.proc.pid) fail('EPERM');
  const raw = ctx.mem.read(data, 12 * words);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const next: CapSets = { effective: [0, 0], permitted: [0, 0], inheritable: [0, 0] };
  for (let i = 0; i < words; i++) {
    next.effective[i] = v.getUint32(i * 12, true);
    next.permitted[i] = v.getUint32(i * 12 + 4, true);
    next.inheritable[i] = v.getUint32(i * 12 + 8, true);
  }
  // Bits past CAP_LAST_CAP are dropped, as the kernel masks them.
  for (const s of [next.effective, next.permitted, next.inheritable]) s[1] &= FULL_CAPS[1];
  const old = caps(ctx.proc);
  const CAP_SETPCAP = 8;
  const hasSetpcap = (old.effective[0] & (1 << CAP_SETPCAP)) !== 0;
  const within = (a: [number, number], b: [number, number]) => (a[0] & ~b[0]) === 0 && (a[1] & ~b[1]) === 0;
  const union = (a: [number, number], b: [number, number]): [number, number] => [(a[0] | b[0]) >>> 0, a[1] | b[1]];
  const inhLimit: [number, number] = hasSetpcap ? [FULL_CAPS[0], FULL_CAPS[1]] : union(old.inheritable, old.permitted);
  if (!within(next.inheritable, inhLimit)) fail('EPERM');
  if (!within(next.permitted, old.permitted)) fail('EPERM');
  if (!within(next.effective, next.permitted)) fail('EPERM');
  capsOf.set(ctx.proc, { caps: next, forEuid: ctx.proc.creds.euid });
  return 0;
}

export const credsFamily = family('creds', [
  {
    name: 'setuid',
    summary: 'Sets the user id(s) of the calling process.',
    args: { uid: 'uint' },
    handler: (ctx: SyscallContext, id: number) => setOne(ctx, 'uid', id),
  },
  {
    name: 'setgid',
    summary: 'Sets the group id(s) of the calling process.',
    args: { gid: 'uint' },
    handler: (ctx: SyscallContext, id: number) => setOne(ctx, 'gid', id),
  },
  {
    name: 'setreuid',
    summary: 'Sets the real and/or effective user ids.',
    args: { ruid: 'uint', euid: 'uint' },
    handler: (ctx: SyscallContext, r: number, e: number) => setRe(ctx, 'uid', r, e),
  },
  {
    name: 'setregid',
    summary: 'Sets the real and/or effective group ids.',
    args: { rgid: 'uint', egid: 'uint' },
    handler: (ctx: SyscallContext, r: number, e: number) => setRe(ctx, 'gid', r, e),
  },
  {
    name: 'setresuid',
    summary: 'Sets the real, effective and saved user ids.',
    args: { ruid: 'uint', euid: 'uint', suid: 'uint' },
    handler: (ctx: SyscallContext, r: number, e: number, s: number) => setRes(ctx, 'uid', r, e, s),
  },
  {
    name: 'setresgid',
    summary: 'Sets the real, effective and saved group ids.',
    args: { rgid: 'uint', egid: 'uint', sgid: 'uint' },
    handler: (ctx: SyscallContext, r: number, e: number, s: number) => setRes(ctx, 'gid', r, e, s),
  },
  {
    name: 'getresuid',
    summary: 'Reads the real, effective and saved user ids.',
    args: { ruid: 'ptr', euid: 'ptr', suid: 'ptr' },
    handler: (ctx: SyscallContext, r: number, e: number, s: number) => getRes(ctx, 'uid', r, e, s),
  },
  {
    name: 'getresgid',
    summary: 'Reads the real, effective and saved group ids.',
    args: { rgid: 'ptr', egid: 'ptr', sgid: 'ptr' },
    handler: (ctx: SyscallContext, r: number, e: number, s: number) => getRes(ctx, 'gid', r, e, s),
  },
  {
    name: 'setfsuid',
    summary: 'Sets the user id used for filesystem access checks.',
    args: { fsuid: 'uint' },
    handler: (ctx: SyscallContext, id: number) => setFsId(ctx, 'uid', id),
    note: 'returns the old fsuid',
  },
  {
    name: 'setfsgid',
    summary: 'Sets the group id used for filesystem access checks.',
    args: { fsgid: 'uint' },
    handler: (ctx: SyscallContext, id: number) => setFsId(ctx, 'gid', id),
    note: 'returns the old fsgid',
  },
  {
    name: 'capget',
    summary: "Reads a thread's capability sets.",
    args: { hdrp: 'ptr', datap: 'ptr' },
    handler: capget,
    note: 'root: all caps; others none',
  },
  {
    name: 'capset',
    summary: "Sets the calling thread's capability sets.",
    args: { hdrp: 'ptr', datap: 'ptr' },
    handler: capset,
    note: 'may only drop caps',
  },
]);
