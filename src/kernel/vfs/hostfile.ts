// One host file, read-only, as a filesystem of its own: a single-file bind
// mount (mount --bind -o ro FILE FILE). tslinux mounts the program named on
// the command line this way, at its own absolute path, so a program that
// re-executes itself (through /proc/self/exe, argv[0] or $BASH) finds the
// file it was started from, and nothing else of the directory it lies in.
//
// The file is reached through one host fd opened once, at launch, and every
// read is a positioned read on it (pread): no host path is looked up again,
// so renaming or replacing the host file later changes nothing the guest
// sees, as with Linux's mm->exe_file. The filesystem's root node IS the
// file; it has no directories, and every change is EROFS.
import * as fs from 'node:fs';
import { fail, fromHostError } from '../errors.ts';
import { S_IFMT, S_IFREG, type DirEntry, type FileSystem, type Node, type OpenFile, type OpenIntent, type StatInfo } from './types.ts';

/** The id a host owner the guest cannot name shows as (the kernel's overflowuid). */
const OVERFLOW_ID = 65534;

export interface HostFileOptions {
  /** An open, readable host fd of a regular file; the filesystem owns it from now on. */
  fd: number;
  dev: number;
  /** The host's ids and the guest's: the host user's file shows as the guest's, as on a host mount. */
  hostIds: { uid: number; gid: number };
  guestIds: { uid: number; gid: number };
}

class HostFileNode implements Node {
  readonly fileType = S_IFREG;
  constructor(readonly fs: HostFileFs) {}
}

class HostFileOpen implements OpenFile {
  readonly seekable = true;
  constructor(
    readonly node: HostFileNode,
    private readonly fsys: HostFileFs,
  ) {}

  read(buf: Uint8Array, position: number): number {
    return this.fsys.pread(buf, position);
  }
  write(): number {
    return fail('EBADF');
  }
  size(): number {
    return this.fsys.stat().size;
  }
  /** The fd belongs to the filesystem; an open file description only borrows it. */
  close(): void {}
}

export class HostFileFs implements FileSystem {
  readonly type = 'hostfs';
  readonly readOnly = true;
  readonly dev: number;
  private readonly node = new HostFileNode(this);
  private fd: number;

  constructor(private readonly opts: HostFileOptions) {
    this.fd = opts.fd;
    this.dev = opts.dev;
  }

  root(): Node {
    return this.node;
  }

  lookup(): Node {
    return fail('ENOTDIR');
  }

  stat(): StatInfo {
    const st = this.host(() => fs.fstatSync(this.liveFd(), { bigint: true }));
    const { hostIds, guestIds } = this.opts;
    return {
      dev: this.dev,
      ino: Number(BigInt.asUintN(53, st.ino)),
      mode: (Number(st.mode) & ~S_IFMT) | S_IFREG,
      nlink: Number(st.nlink),
      uid: mapId(Number(st.uid), hostIds.uid, guestIds.uid),
      gid: mapId(Number(st.gid), hostIds.gid, guestIds.gid),
      rdev: 0,
      size: Number(st.size),
      blksize: Number(st.blksize) || 4096,
      blocks: Number(st.blocks),
      atimeNs: st.atimeNs,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      birthtimeNs: st.birthtimeNs,
    };
  }

  readlink(): string {
    return fail('EINVAL');
  }

  readdir(): DirEntry[] {
    return fail('ENOTDIR');
  }

  open(_node: Node, intent: OpenIntent): OpenFile {
    if (intent.write || intent.truncate) fail('EROFS');
    return new HostFileOpen(this.node, this);
  }

  /** Read at `position` from the one host fd (no shared offset: pread). */
  pread(buf: Uint8Array, position: number): number {
    return this.host(() => fs.readSync(this.liveFd(), buf, 0, buf.length, position));
  }

  /** Close the host fd (the kernel's run is over); later reads give EBADF. */
  release(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    fs.closeSync(fd);
  }

  create(): Node {
    return fail('EROFS');
  }
  mkdir(): Node {
    return fail('EROFS');
  }
  symlink(): Node {
    return fail('EROFS');
  }
  link(): void {
    fail('EROFS');
  }
  unlink(): void {
    fail('EROFS');
  }
  rmdir(): void {
    fail('EROFS');
  }
  rename(): void {
    fail('EROFS');
  }
  truncate(): void {
    fail('EROFS');
  }
  chmod(): void {
    fail('EROFS');
  }
  chown(): void {
    fail('EROFS');
  }
  utimes(): void {
    fail('EROFS');
  }

  private liveFd(): number {
    if (this.fd < 0) fail('EBADF');
    return this.fd;
  }

  private host<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw fromHostError(e);
    }
  }
}

/** A host id as the guest sees it: the host user's becomes the guest's (as hostfs.ts maps them). */
function mapId(hostId: number, hostUser: number, guestUser: number): number {
  if (hostId === hostUser) return guestUser;
  return hostId === guestUser ? OVERFLOW_ID : hostId;
}
