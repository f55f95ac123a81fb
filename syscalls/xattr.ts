// Extended attributes (see xattr(7), getxattr(2), listxattr(2), setxattr(2)):
// no filesystem of tslinux keeps any, as on a filesystem mounted without
// them. The file is still looked up (ENOENT, ENOTDIR, ELOOP, EBADF come
// first), then a read finds no attribute (ENODATA, what `ls -l` asks about
// security.selinux and POSIX ACLs and takes as "none"), a list is empty,
// and a change is EOPNOTSUPP.
import { LinuxError, fail } from '../src/kernel/errors.ts';
import { readPath, resolveAt } from './fs.ts';
import { family, type SyscallContext } from './types.ts';

const AT_FDCWD = -100;
/** XATTR_NAME_MAX: longer names are ERANGE (fs/xattr.c import_xattr_name). */
const XATTR_NAME_MAX = 255;

function lookup(ctx: SyscallContext, pathPtr: number, follow: boolean): void {
  resolveAt(ctx, AT_FDCWD, readPath(ctx, pathPtr), follow);
}

/** An empty name, or one without its NUL within XATTR_NAME_MAX + 1 bytes, is ERANGE (EFAULT first). */
function checkName(ctx: SyscallContext, namePtr: number): void {
  let name: string;
  try {
    name = ctx.mem.readCString(namePtr, XATTR_NAME_MAX + 1);
  } catch (e) {
    if (e instanceof LinuxError && e.code === 'ENAMETOOLONG') fail('ERANGE');
    throw e;
  }
  if (name.length === 0) fail('ERANGE');
}

function noAttribute(ctx: SyscallContext, namePtr: number): number {
  checkName(ctx, namePtr);
  fail('ENODATA');
}

function unsupported(ctx: SyscallContext, namePtr: number): number {
  checkName(ctx, namePtr);
  fail('EOPNOTSUPP', 'extended attributes are not kept');
}

const get = (follow: boolean) => (ctx: SyscallContext, pathPtr: number, namePtr: number): number => {
  lookup(ctx, pathPtr, follow);
  return noAttribute(ctx, namePtr);
};
const list = (follow: boolean) => (ctx: SyscallContext, pathPtr: number): number => {
  lookup(ctx, pathPtr, follow);
  return 0;
};
const set = (follow: boolean) => (ctx: SyscallContext, pathPtr: number, namePtr: number): number => {
  lookup(ctx, pathPtr, follow);
  return unsupported(ctx, namePtr);
};

const PATH_GET = { path: 'path', name: 'path', value: 'ptr', size: 'size' } as const;
const FD_GET = { fd: 'fd', name: 'path', value: 'ptr', size: 'size' } as const;
const PATH_SET = { path: 'path', name: 'path', value: 'ptr', size: 'size', flags: 'hex' } as const;
const FD_SET = { fd: 'fd', name: 'path', value: 'ptr', size: 'size', flags: 'hex' } as const;
const NO_XATTRS = 'no extended attributes are kept: ENODATA';

export const xattrFamily = family('xattr', [
  { name: 'getxattr', args: PATH_GET, handler: get(true), note: NO_XATTRS, summary: 'Reads an extended attribute of the file at pathname.' },
  { name: 'lgetxattr', args: PATH_GET, handler: get(false), note: NO_XATTRS, summary: 'Like getxattr, of a symbolic link itself rather than what it points to.' },
  { name: 'fgetxattr', args: FD_GET, handler: (ctx, fd, namePtr) => (ctx.fds.get(fd), noAttribute(ctx, namePtr)), note: NO_XATTRS, summary: 'Like getxattr, of the file open on a descriptor.' },
  { name: 'listxattr', args: { path: 'path', list: 'ptr', size: 'size' }, handler: list(true), note: 'always empty', summary: 'Lists the extended attribute names of the file at pathname.' },
  { name: 'llistxattr', args: { path: 'path', list: 'ptr', size: 'size' }, handler: list(false), note: 'always empty', summary: 'Like listxattr, of a symbolic link itself rather than what it points to.' },
  { name: 'flistxattr', args: { fd: 'fd', list: 'ptr', size: 'size' }, handler: (ctx, fd) => (ctx.fds.get(fd), 0), note: 'always empty', summary: 'Like listxattr, of the file open on a descriptor.' },
  { name: 'setxattr', args: PATH_SET, handler: set(true), note: 'EOPNOTSUPP', summary: 'Sets an extended attribute of the file at pathname.' },
  { name: 'lsetxattr', args: PATH_SET, handler: set(false), note: 'EOPNOTSUPP', summary: 'Like setxattr, on a symbolic link itself rather than what it points to.' },
  { name: 'fsetxattr', args: FD_SET, handler: (ctx, fd, namePtr) => (ctx.fds.get(fd), unsupported(ctx, namePtr)), note: 'EOPNOTSUPP', summary: 'Like setxattr, on the file open on a descriptor.' },
  { name: 'removexattr', args: { path: 'path', name: 'path' }, handler: get(true), note: NO_XATTRS, summary: 'Removes an extended attribute of the file at pathname.' },
  { name: 'lremovexattr', args: { path: 'path', name: 'path' }, handler: get(false), note: NO_XATTRS, summary: 'Like removexattr, on a symbolic link itself rather than what it points to.' },
  { name: 'fremovexattr', args: { fd: 'fd', name: 'path' }, handler: (ctx, fd, namePtr) => (ctx.fds.get(fd), noAttribute(ctx, namePtr)), note: NO_XATTRS, summary: 'Like removexattr, on the file open on a descriptor.' },
]);
