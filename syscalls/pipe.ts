// pipe and pipe2 (see pipe(2)).
import { fail } from '../src/kernel/errors.ts';
import { OpenFileDescription } from '../src/kernel/fdtable.ts';
import { PROT_WRITE } from '../src/kernel/memory.ts';
import { Pipe, PipeEnd, PipeNode } from '../src/kernel/pipe.ts';
import { family, type SyscallContext } from './types.ts';

function pipe2(ctx: SyscallContext, fdsPtr: number, flags: number): number {
  const c = ctx.arch.c;
  if (flags & ~(c.O_CLOEXEC | c.O_NONBLOCK | c.O_DIRECT)) fail('EINVAL');
  // Check the result array is writable before creating anything (without writing to it).
  ctx.mem.view(fdsPtr, 8, PROT_WRITE);
  const node = new PipeNode(ctx.kernel.rootFs(), new Pipe(ctx.kernel.memoryBudget), ctx.proc.creds.euid, ctx.proc.creds.egid);
  const cloexec = (flags & c.O_CLOEXEC) !== 0;
  const status = flags & (c.O_NONBLOCK | c.O_DIRECT);
  const label = `pipe:[${node.ino}]`;
  const reader = new OpenFileDescription(new PipeEnd(node, 'read'), node, node.fs, label, 'r', status, false);
  const writer = new OpenFileDescription(new PipeEnd(node, 'write'), node, node.fs, label, 'w', status | c.O_WRONLY, false);
  const rfd = ctx.fds.install(reader, cloexec);
  let wfd: number;
  try {
    wfd = ctx.fds.install(writer, cloexec);
  } catch (e) {
    ctx.fds.close(rfd);
    writer.file?.close();
    throw e;
  }
  ctx.mem.writeU32(fdsPtr, rfd);
  ctx.mem.writeU32(fdsPtr + 4, wfd);
  return 0;
}

export const pipeFamily = family('pipe', [
  {
    name: 'pipe2',
    summary: 'Creates a pipe and stores its read and write descriptors, with O_CLOEXEC, O_NONBLOCK or O_DIRECT if asked.',
    args: { pipefd: 'pipe_fds_out', flags: 'fd_flags' },
    handler: pipe2,
  },
  {
    name: 'pipe',
    summary: 'Creates a pipe: a one-way byte channel, with a read end and a write end descriptor.',
    args: { pipefd: 'pipe_fds_out' },
    handler: (ctx: SyscallContext, p: number) => pipe2(ctx, p, 0),
  },
]);
