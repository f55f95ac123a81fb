// Identity: user and group ids (see credentials(7)). The guest runs with the
// host's uid and gid unless told otherwise; the values live in the process.
import { family, type SyscallContext } from './types.ts';

export const idsFamily = family('ids', [
  { name: 'getuid', args: {}, handler: (ctx: SyscallContext) => ctx.proc.creds.uid },
  { name: 'geteuid', args: {}, handler: (ctx: SyscallContext) => ctx.proc.creds.euid },
  { name: 'getgid', args: {}, handler: (ctx: SyscallContext) => ctx.proc.creds.gid },
  { name: 'getegid', args: {}, handler: (ctx: SyscallContext) => ctx.proc.creds.egid },
]);
