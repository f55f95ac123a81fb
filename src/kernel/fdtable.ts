// File descriptors. An fd points at an open file description (Linux's
// "struct file"): the offset and status flags live there and are shared by
// dup'ed fds, while close-on-exec belongs to the fd itself (see open(2),
// "Open file descriptions", and dup(2)).
import { fail } from './errors.ts';
import type { FileSystem, Node, OpenFile } from './vfs/types.ts';

export type AccessMode = 'r' | 'w' | 'rw' | 'path';

export class OpenFileDescription {
  offset = 0;
  private refs = 0;
  /** For directories: the listing taken at the first getdents, and how far it was read. */
  dirCursor: { entries: { name: string; ino: number; type: number }[]; index: number } | undefined;

  constructor(
    readonly file: OpenFile | null,
    readonly node: Node,
    readonly fs: FileSystem,
    /** Canonical guest path, for /proc/self/fd, fchdir, *at() and strace -y. */
    readonly path: string,
    readonly access: AccessMode,
    /** Status flags (O_APPEND, O_NONBLOCK, ...), in the guest arch's O_* bits, as fcntl(F_GETFL) returns them with the access mode. */
    public statusFlags: number,
    readonly isDirectory: boolean,
  ) {}

  get canRead(): boolean {
    return this.access === 'r' || this.access === 'rw';
  }
  get canWrite(): boolean {
    return this.access === 'w' || this.access === 'rw';
  }

  /** The OpenFile, or EBADF for an O_PATH descriptor (see open(2), O_PATH). */
  io(): OpenFile {
    if (!this.file) fail('EBADF');
    return this.file;
  }

  /** Some fd (in any process) still refers to it; epoll forgets descriptions no fd holds (see epoll(7), Q6). */
  get isOpen(): boolean {
    return this.refs > 0;
  }

  retain(): this {
    if (this.refs++ === 0) this.node.pin?.();
    return this;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.node.unpin?.();
    this.file?.close();
  }
}

interface Slot {
  ofd: OpenFileDescription;
  cloexec: boolean;
}

export class FdTable {
  private slots: (Slot | undefined)[] = [];

  /** RLIMIT_NOFILE: fds at or above it cannot be allocated (EMFILE). */
  constructor(public limit = 1024) {}

  get(fd: number): OpenFileDescription {
    const slot = fd >= 0 ? this.slots[fd] : undefined;
    if (!slot) fail('EBADF');
    return slot.ofd;
  }

  has(fd: number): boolean {
    return fd >= 0 && this.slots[fd] !== undefined;
  }

  isCloexec(fd: number): boolean {
    this.get(fd);
    return this.slots[fd]!.cloexec;
  }

  setCloexec(fd: number, cloexec: boolean): void {
    this.get(fd);
    this.slots[fd]!.cloexec = cloexec;
  }

  /**
   * Install at the lowest free fd >= minFd (open, dup, F_DUPFD): EMFILE when
   * none is below the limit, EINVAL for an F_DUPFD minimum at or past it.
   */
  install(ofd: OpenFileDescription, cloexec = false, minFd = 0): number {
    if (minFd > 0 && minFd >= this.limit) fail('EINVAL');
    let fd = minFd;
    while (this.slots[fd] !== undefined) fd++;
    if (fd >= this.limit) fail('EMFILE');
    this.slots[fd] = { ofd: ofd.retain(), cloexec };
    return fd;
  }

  /** Install at exactly `fd`, closing what was there (dup2, dup3). */
  installAt(fd: number, ofd: OpenFileDescription, cloexec = false): number {
    if (fd < 0 || fd >= this.limit) fail('EBADF');
    ofd.retain();
    this.slots[fd]?.ofd.release();
    this.slots[fd] = { ofd, cloexec };
    return fd;
  }

  close(fd: number): void {
    this.get(fd);
    const slot = this.slots[fd]!;
    this.slots[fd] = undefined;
    slot.ofd.release();
  }

  /** Close every fd with close-on-exec set (execve). */
  closeOnExec(): void {
    for (const [fd, slot] of this.slots.entries()) if (slot?.cloexec) this.close(fd);
  }

  closeAll(): void {
    for (const [fd, slot] of this.slots.entries()) if (slot) this.close(fd);
  }

  /** A copy for a forked child: the same open file descriptions, each fd's close-on-exec flag kept. */
  clone(): FdTable {
    const copy = new FdTable(this.limit);
    for (const [fd, slot] of this.slots.entries()) {
      if (slot) copy.slots[fd] = { ofd: slot.ofd.retain(), cloexec: slot.cloexec };
    }
    return copy;
  }

  /** Open fds in ascending order (for /proc/self/fd). */
  list(): number[] {
    const fds: number[] = [];
    for (const [fd, slot] of this.slots.entries()) if (slot) fds.push(fd);
    return fds;
  }
}
