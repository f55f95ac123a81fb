// Networking is not emulated yet: socket(2) says the address family is not
// supported, which libc treats like a host without that family (glibc's
// nscd client, for one, falls back to /etc files). Calls on fds that exist
// but are not sockets give ENOTSOCK, as Linux does.
import { fail } from '../src/kernel/errors.ts';
import { family, type SyscallContext } from './types.ts';

function notASocket(ctx: SyscallContext, fd: number): number {
  ctx.fds.get(fd);
  fail('ENOTSOCK');
}

export const netFamily = family('net', [
  {
    name: 'socket',
    summary: 'Creates an endpoint for communication of a domain (AF_INET, AF_UNIX...) and type, and returns its descriptor.',
    args: { domain: 'int', type: 'hex', protocol: 'int' },
    handler: () => fail('EAFNOSUPPORT'),
    note: 'EAFNOSUPPORT: networking is not emulated yet',
  },
  {
    name: 'getpeername',
    summary: 'Stores the address of the peer a socket is connected to.',
    args: { sockfd: 'fd', addr: 'sockaddr_out', addrlen: 'socklen_inout' },
    handler: notASocket,
    note: 'ENOTSOCK (no sockets yet)',
  },
  {
    name: 'getsockname',
    summary: 'Stores the address a socket is bound to.',
    args: { sockfd: 'fd', addr: 'sockaddr_out', addrlen: 'socklen_inout' },
    handler: notASocket,
    note: 'ENOTSOCK (no sockets yet)',
  },
]);
