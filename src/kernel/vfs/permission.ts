// Who may do what to a file: Linux's discretionary access rules
// (generic_permission, may_create, may_delete, chown_ok/chgrp_ok,
// inode_init_owner in fs/namei.c, fs/attr.c, fs/inode.c) applied to the
// owner and mode a FileSystem's stat reports. Those are the EMULATED ones:
// the host's permissions still apply underneath, but the guest's checks are
// made here, against its own credentials.
//
// Privilege is euid 0, standing in for CAP_DAC_OVERRIDE, CAP_FOWNER,
// CAP_CHOWN and CAP_FSETID (as creds.ts lets euid 0 stand in for
// CAP_SETUID). The filesystem ids are taken to be the effective ids.
import { fail } from '../errors.ts';
import { S_IFDIR, S_IFMT, type Owner, type StatInfo } from './types.ts';

export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;

/** (uid_t)-1: chown(2)'s "leave this id unchanged". */
export const KEEP_ID = 0xffff_ffff;

/** The ids a check is made with: the effective (or, for access(2), real) ids and the supplementary groups. */
export interface Identity {
  uid: number;
  gid: number;
  groups: readonly number[];
}

/** A process's identity for permission checks; `real` for access(2) without AT_EACCESS. */
export function identityOf(p: { creds: { uid: number; gid: number; euid: number; egid: number }; groups: readonly number[] }, real = false): Identity {
  return real ? { uid: p.creds.uid, gid: p.creds.gid, groups: p.groups } : { uid: p.creds.euid, gid: p.creds.egid, groups: p.groups };
}

function privileged(who: Identity): boolean {
  return who.uid === 0;
}

/** in_group_p(): the primary group or a supplementary one. */
export function inGroup(who: Identity, gid: number): boolean {
  return who.gid === gid || who.groups.includes(gid);
}

function isDirMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}

/**
 * generic_permission(): the owner's bits for the owner, the group's for a
 * member, the others' for everyone else (never the union). Root may read and
 * write anything and search any directory, but executes a file only if some
 * x bit is set.
 */
export function allowed(st: StatInfo, who: Identity, mask: number): boolean {
  if (privileged(who)) return !(mask & MAY_EXEC) || isDirMode(st.mode) || (st.mode & 0o111) !== 0;
  const shift = st.uid === who.uid ? 6 : inGroup(who, st.gid) ? 3 : 0;
  const want = mask & 7;
  return ((st.mode >> shift) & want) === want;
}

/** EACCES unless `allowed`. */
export function checkPermission(st: StatInfo, who: Identity, mask: number): void {
  if (!allowed(st, who, mask)) fail('EACCES');
}

/** may_create(): a new name needs write and search permission on its directory. */
export function checkCreate(dir: StatInfo, who: Identity): void {
  checkPermission(dir, who, MAY_WRITE | MAY_EXEC);
}

/**
 * may_delete(): removing (or renaming away, or replacing) a name needs write
 * and search permission on its directory; in a sticky directory (/tmp) only
 * the file's owner, the directory's owner or root may do it (EPERM).
 */
export function checkDelete(dir: StatInfo, victim: StatInfo, who: Identity): void {
  checkCreate(dir, who);
  if (dir.mode & S_ISVTX && !privileged(who) && who.uid !== victim.uid && who.uid !== dir.uid) fail('EPERM');
}

/** inode_owner_or_capable(): chmod, explicit utimes. EPERM otherwise. */
export function checkOwner(st: StatInfo, who: Identity): void {
  if (!privileged(who) && who.uid !== st.uid) fail('EPERM');
}

/**
 * utimensat(2): setting both times to now needs ownership or write
 * permission (EACCES); any explicit time needs ownership (EPERM).
 */
export function checkUtimes(st: StatInfo, who: Identity, explicit: boolean): void {
  if (privileged(who) || who.uid === st.uid) return;
  if (explicit) fail('EPERM');
  checkPermission(st, who, MAY_WRITE);
}

/**
 * chmod(2): the owner or root may; a caller not in the file's group (and not
 * root) has S_ISGID silently dropped from a non-directory's new mode.
 */
export function chmodMode(st: StatInfo, who: Identity, mode: number): number {
  checkOwner(st, who);
  let bits = mode & 0o7777;
  if (!privileged(who) && !isDirMode(st.mode) && !inGroup(who, st.gid)) bits &= ~S_ISGID;
  return bits;
}

/**
 * chown(2): the owner and group after chown(uid, gid), or EPERM. Only root
 * changes the owner; the owner may change the group to one of its own
 * groups. Naming the current id counts as no change only for the owner
 * (chown_ok/chgrp_ok), so a stranger's chown(f, -1, gid) is EPERM.
 */
export function chownOwner(st: StatInfo, who: Identity, uid: number, gid: number): Owner {
  const next = { uid: uid === KEEP_ID ? st.uid : uid, gid: gid === KEEP_ID ? st.gid : gid };
  if (privileged(who)) return next;
  const owner = who.uid === st.uid;
  if (uid !== KEEP_ID && !(owner && uid === st.uid)) fail('EPERM');
  if (gid !== KEEP_ID && !(owner && (gid === st.gid || inGroup(who, gid)))) fail('EPERM');
  return next;
}

/**
 * The mode a non-directory keeps after chown (chown_common, notify_change):
 * S_ISUID always goes; S_ISGID goes when the file is group-executable, or
 * when the caller is neither in its group nor root. Directories keep both.
 */
export function modeAfterChown(mode: number, caller?: { who: Identity; gid: number }): number {
  if (isDirMode(mode)) return mode;
  let m = mode & ~S_ISUID;
  const dropGid = mode & S_IXGRP || (caller && !privileged(caller.who) && !inGroup(caller.who, caller.gid));
  if (mode & S_ISGID && dropGid) m &= ~S_ISGID;
  return m;
}

/**
 * inode_init_owner(): a new node belongs to the creator's uid, and to its
 * gid unless the directory is set-group-ID, in which case it takes the
 * directory's group (and a new directory inherits S_ISGID, see newDirMode).
 */
export function ownerOfNew(dir: StatInfo, who: Identity): Owner {
  return { uid: who.uid, gid: dir.mode & S_ISGID ? dir.gid : who.gid };
}

/** A new directory's mode: set-group-ID when its parent is (mkdir(2), NOTES). */
export function newDirMode(dir: StatInfo, mode: number): number {
  return dir.mode & S_ISGID ? mode | S_ISGID : mode;
}
