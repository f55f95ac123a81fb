// Identity: user and group ids (see credentials(7)). The guest runs with the
// host's uid and gid unless told otherwise; the values live in the process.
import { fail } from '../src/kernel/errors.ts';
import { family, type SyscallContext } from './types.ts';

/** NGROUPS_MAX: the most supplementary groups a process may have. */
const NGROUPS_MAX = 65536;

/** getgroups(2): size 0 asks only for the count; a smaller non-zero size is EINVAL. */
function getgroups(ctx: SyscallContext, size: number, list: number): number {
  const groups = ctx.proc.groups;
  if (size === 0) return groups.length;
  if (size < groups.length) fail('EINVAL');
  const out = new Uint8Array(groups.length * 4);
  const v = new DataView(out.buffer);
  groups.forEach((g, i) => v.setUint32(i * 4, g, true));
  ctx.mem.write(list, out);
  return groups.length;
}

/** setgroups(2): needs CAP_SETGID, which only an emulated root has here. */
function setgroups(ctx: SyscallContext, size: number, list: number): number {
  if (size < 0 || size > NGROUPS_MAX) fail('EINVAL');
  if (ctx.proc.creds.euid !== 0) fail('EPERM');
  const raw = ctx.mem.read(list, size * 4);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  ctx.proc.groups = Array.from({ length: size }, (_, i) => v.getUint32(i * 4, true));
  return 0;
}

export const idsFamily = family('ids', [
  {
    name: 'getuid',
    summary: "Returns the calling process's real user id.",
    args: {},
    handler: (ctx: SyscallContext) => ctx.proc.creds.uid,
  },
  {
    name: 'geteuid',
    summary: "Returns the calling process's effective user id.",
    args: {},
    handler: (ctx: SyscallContext) => ctx.proc.creds.euid,
  },
  {
    name: 'getgid',
    summary: "Returns the calling process's real group id.",
    args: {},
    handler: (ctx: SyscallContext) => ctx.proc.creds.gid,
  },
  {
    name: 'getegid',
    summary: "Returns the calling process's effective group id.",
    args: {},
    handler: (ctx: SyscallContext) => ctx.proc.creds.egid,
  },
  {
    name: 'getgroups',
    summary: 'Reads the supplementary group ids of the calling process.',
    args: { size: 'int', list: 'ptr' },
    handler: getgroups,
  },
  {
    name: 'setgroups',
    summary: 'Sets the supplementary group ids of the calling process.',
    args: { size: 'int', list: 'ptr' },
    handler: setgroups,
  },
]);
