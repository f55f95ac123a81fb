// FdTable and OpenFileDescription (src/kernel/fdtable.ts): fd allocation,
// close-on-exec per fd, the RLIMIT_NOFILE limit, and reference counting of
// descriptions shared by dup'ed fds.
import { errno } from './helpers/errno.ts';
import { describe, expect, it } from 'vitest';
import { FdTable, OpenFileDescription, type AccessMode } from '../src/kernel/fdtable.ts';
import type { FileSystem, Node, OpenFile } from '../src/kernel/vfs/types.ts';

const fsys = {} as FileSystem;
const node = { fs: fsys } as Node;

/** An open file that counts how often it is closed. */
class FakeFile implements OpenFile {
  readonly node = node;
  readonly seekable = true;
  closes = 0;
  read(): number {
    return 0;
  }
  write(buf: Uint8Array): number {
    return buf.length;
  }
  size(): number {
    return 0;
  }
  close(): void {
    this.closes++;
  }
}

function description(access: AccessMode = 'rw', file: FakeFile | null = new FakeFile()): { ofd: OpenFileDescription; file: FakeFile | null } {
  return { ofd: new OpenFileDescription(file, node, fsys, '/f', access, 0, false), file };
}

describe('OpenFileDescription', () => {
  it('canRead and canWrite follow the access mode', () => {
    const modes: [AccessMode, boolean, boolean][] = [
      ['r', true, false],
      ['w', false, true],
      ['rw', true, true],
      ['path', false, false],
    ];
    for (const [access, r, w] of modes) {
      const { ofd } = description(access);
      expect([ofd.canRead, ofd.canWrite]).toEqual([r, w]);
    }
  });

  it('io() is EBADF for an O_PATH description (no open file)', () => {
    const { ofd } = description('path', null);
    expect(errno(() => ofd.io())).toBe('EBADF');
    const ok = description('r');
    expect(ok.ofd.io()).toBe(ok.file);
  });

  it('the file is closed when the last reference goes', () => {
    const { ofd, file } = description();
    ofd.retain();
    ofd.retain();
    ofd.release();
    expect(file!.closes).toBe(0);
    ofd.release();
    expect(file!.closes).toBe(1);
  });
});

describe('FdTable', () => {
  it('install takes the lowest free fd', () => {
    const t = new FdTable();
    const fds = [0, 1, 2].map(() => t.install(description().ofd));
    expect(fds).toEqual([0, 1, 2]);
    t.close(1);
    expect(t.install(description().ofd)).toBe(1);
    expect(t.install(description().ofd)).toBe(3);
    expect(t.list()).toEqual([0, 1, 2, 3]);
  });

  it('install with a minimum (F_DUPFD) takes the lowest free fd at or above it', () => {
    const t = new FdTable();
    const { ofd } = description();
    expect(t.install(ofd, false, 10)).toBe(10);
    expect(t.install(ofd, false, 10)).toBe(11);
    expect(t.install(ofd, false, 5)).toBe(5);
    expect(t.install(ofd)).toBe(0);
  });

  it('get and has; EBADF for closed, negative and never-opened fds', () => {
    const t = new FdTable();
    const { ofd } = description();
    const fd = t.install(ofd);
    expect(t.get(fd)).toBe(ofd);
    expect(t.has(fd)).toBe(true);
    expect(t.has(-1)).toBe(false);
    expect(t.has(99)).toBe(false);
    expect(errno(() => t.get(-1))).toBe('EBADF');
    expect(errno(() => t.get(99))).toBe('EBADF');
    t.close(fd);
    expect(errno(() => t.get(fd))).toBe('EBADF');
    expect(errno(() => t.close(fd))).toBe('EBADF');
  });

  it('EMFILE when every fd below the limit is taken', () => {
    const t = new FdTable(3);
    for (let i = 0; i < 3; i++) t.install(description().ofd);
    const { ofd, file } = description();
    expect(errno(() => t.install(ofd))).toBe('EMFILE');
    expect(file!.closes).toBe(0); // the caller still owns it
    t.close(1);
    expect(t.install(ofd)).toBe(1);
  });

  it('EMFILE, not EINVAL, with a limit of 0; EINVAL for an F_DUPFD minimum at the limit', () => {
    const t = new FdTable(0);
    expect(errno(() => t.install(description().ofd))).toBe('EMFILE');
    const u = new FdTable(4);
    expect(errno(() => u.install(description().ofd, false, 4))).toBe('EINVAL');
    expect(u.install(description().ofd, false, 3)).toBe(3);
    expect(errno(() => u.install(description().ofd, false, 3))).toBe('EMFILE');
  });

  it('lowering the limit keeps fds above it open but allocates none there', () => {
    const t = new FdTable();
    for (let i = 0; i < 5; i++) t.install(description().ofd);
    t.limit = 3;
    expect(t.has(4)).toBe(true);
    t.close(1);
    expect(t.install(description().ofd)).toBe(1);
    expect(errno(() => t.install(description().ofd))).toBe('EMFILE');
    expect(errno(() => t.installAt(3, description().ofd))).toBe('EBADF');
  });

  it('installAt puts a description at exactly that fd, closing what was there', () => {
    const t = new FdTable();
    const a = description();
    const b = description();
    t.install(a.ofd); // 0
    expect(t.installAt(0, b.ofd)).toBe(0);
    expect(a.file!.closes).toBe(1);
    expect(t.get(0)).toBe(b.ofd);
    expect(t.installAt(7, b.ofd, true)).toBe(7);
    expect(t.list()).toEqual([0, 7]);
    expect(t.isCloexec(7)).toBe(true);
    expect(errno(() => t.installAt(-1, b.ofd))).toBe('EBADF');
    expect(errno(() => t.installAt(1024, b.ofd))).toBe('EBADF');
  });

  it('installAt of the description already there keeps it open', () => {
    const t = new FdTable();
    const { ofd, file } = description();
    t.install(ofd);
    t.installAt(0, ofd);
    expect(file!.closes).toBe(0);
    t.close(0);
    expect(file!.closes).toBe(1);
  });

  it('close-on-exec belongs to each fd, not to the shared description', () => {
    const t = new FdTable();
    const { ofd } = description();
    const a = t.install(ofd, true);
    const b = t.install(ofd, false);
    expect(t.isCloexec(a)).toBe(true);
    expect(t.isCloexec(b)).toBe(false);
    t.setCloexec(b, true);
    t.setCloexec(a, false);
    expect([t.isCloexec(a), t.isCloexec(b)]).toEqual([false, true]);
    expect(errno(() => t.isCloexec(50))).toBe('EBADF');
    expect(errno(() => t.setCloexec(50, true))).toBe('EBADF');
  });

  it('closeOnExec closes exactly the close-on-exec fds', () => {
    const t = new FdTable();
    const keep = description();
    const drop = description();
    t.install(keep.ofd); // 0
    t.install(drop.ofd, true); // 1
    t.install(keep.ofd, true); // 2: shares keep's description
    t.install(drop.ofd, false); // 3
    t.closeOnExec();
    expect(t.list()).toEqual([0, 3]);
    expect(keep.file!.closes).toBe(0);
    expect(drop.file!.closes).toBe(0); // fd 3 still refers to it
    t.close(3);
    expect(drop.file!.closes).toBe(1);
  });

  it('a description shared by several fds is closed with the last of them', () => {
    const t = new FdTable();
    const { ofd, file } = description();
    const a = t.install(ofd);
    const b = t.install(ofd);
    const c = t.installAt(9, ofd);
    t.close(a);
    t.close(c);
    expect(file!.closes).toBe(0);
    expect(t.get(b)).toBe(ofd);
    t.close(b);
    expect(file!.closes).toBe(1);
  });

  it("dup'ed fds share the offset and status flags (they live in the description)", () => {
    const t = new FdTable();
    const { ofd } = description();
    const a = t.install(ofd);
    const b = t.install(t.get(a));
    t.get(a).offset = 42;
    t.get(a).statusFlags = 0o4000;
    expect(t.get(b).offset).toBe(42);
    expect(t.get(b).statusFlags).toBe(0o4000);
  });

  it('closeAll closes every fd and every description once', () => {
    const t = new FdTable();
    const x = description();
    const y = description();
    t.install(x.ofd);
    t.install(x.ofd);
    t.install(y.ofd);
    t.closeAll();
    expect(t.list()).toEqual([]);
    expect([x.file!.closes, y.file!.closes]).toEqual([1, 1]);
  });
});
