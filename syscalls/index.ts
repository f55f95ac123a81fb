// Every declared syscall, from all families. The per-arch tables map these
// names to numbers (syscalls/table/*.ts, generated from the kernel headers).
import { fileFamily } from './file.ts';
import { fsFamily } from './fs.ts';
import { idsFamily } from './ids.ts';
import { itimerFamily } from './itimer.ts';
import { sigwaitFamily } from './sigwait.ts';
import { lifecycleFamily } from './lifecycle.ts';
import { miscFamily } from './misc.ts';
import { mmFamily } from './mm.ts';
import { netFamily } from './net.ts';
import { pipeFamily } from './pipe.ts';
import { pollFamily } from './poll.ts';
import { processFamily } from './process.ts';
import { signalFamily } from './signal.ts';
import { storageFamily } from './storage.ts';
import { timeFamily } from './time.ts';
import { schedFamily } from './sched.ts';
import { credsFamily } from './creds.ts';
import { selectFamily } from './select.ts';
import { fdextraFamily } from './fdextra.ts';
import { eventsFamily } from './events.ts';
import { futexFamily } from './futex.ts';
import { xattrFamily } from './xattr.ts';
import type { SyscallDecl, SyscallFamily } from './types.ts';

export const FAMILIES: readonly SyscallFamily[] = [
  fileFamily,
  fsFamily,
  mmFamily,
  processFamily,
  lifecycleFamily,
  sigwaitFamily,
  itimerFamily,
  signalFamily,
  timeFamily,
  idsFamily,
  miscFamily,
  pipeFamily,
  pollFamily,
  netFamily,
  storageFamily,
  schedFamily,
  credsFamily,
  selectFamily,
  fdextraFamily,
  eventsFamily,
  futexFamily,
  xattrFamily,
];

export const ALL_SYSCALLS: readonly SyscallDecl[] = FAMILIES.flatMap((f) => f.syscalls);

// Each syscall is declared exactly once.
{
  const seen = new Set<string>();
  for (const d of ALL_SYSCALLS) {
    if (seen.has(d.name)) throw new Error(`syscall ${d.name} declared twice`);
    seen.add(d.name);
  }
}
