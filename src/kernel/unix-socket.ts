// AF_UNIX addressing (see unix(7)): a socket is found by the inode its
// path name made (bind creates an S_IFSOCK node, on a host mount in memory
// only, as FIFOs are), or by a name in the abstract namespace (sun_path
// starting with a NUL byte), which belongs to the run. The node outlives
// the socket: connecting to a path whose socket has closed is ECONNREFUSED.
import { fail } from './errors.ts';
import { AF_UNIX, type AddressFamily, type SockAddr, type Socket } from './socket.ts';
import type { FileSystem } from './vfs/types.ts';

export class UnixAddressing implements AddressFamily {
  /** Sockets bound to a path, by the filesystem and inode of their node. */
  private readonly byInode = new WeakMap<FileSystem, Map<number, Socket>>();
  /** Sockets bound in the abstract namespace, by name (latin1 of the bytes after the NUL). */
  private readonly abstract = new Map<string, Socket>();
  private readonly inodeOf = new Map<Socket, { fs: FileSystem; ino: number }>();
  private nextAuto = 0;

  /** Bind `s` to the node a bind(2) just made. */
  bindInode(s: Socket, fs: FileSystem, ino: number, name: Uint8Array): void {
    let m = this.byInode.get(fs);
    if (!m) this.byInode.set(fs, (m = new Map()));
    m.set(ino, s);
    this.inodeOf.set(s, { fs, ino });
    s.local = { family: AF_UNIX, name };
  }

  /** The socket bound to an inode, if one is and it is still open. */
  atInode(fs: FileSystem, ino: number): Socket | null {
    return this.byInode.get(fs)?.get(ino) ?? null;
  }

  /** Bind `s` to an abstract name (EADDRINUSE if taken). `name` includes the leading NUL. */
  bindAbstract(s: Socket, name: Uint8Array): void {
    const key = Buffer.from(name.subarray(1)).toString('latin1');
    if (this.abstract.has(key)) fail('EADDRINUSE');
    this.abstract.set(key, s);
    s.local = { family: AF_UNIX, name };
  }

  atAbstract(name: Uint8Array): Socket | null {
    return this.abstract.get(Buffer.from(name.subarray(1)).toString('latin1')) ?? null;
  }

  /**
   * Autobind (unix_autobind): an abstract name of five hex digits, for a
   * bind with only the family, or a send or connect with SO_PASSCRED.
   */
  autobind(s: Socket): void {
    for (let i = 0; i < 0x100000; i++) {
      const n = (this.nextAuto++ & 0xfffff).toString(16).padStart(5, '0');
      if (this.abstract.has(n)) continue;
      this.bindAbstract(s, new Uint8Array([0, ...Buffer.from(n, 'latin1')]));
      return;
    }
    fail('ENOSPC');
  }

  unbind(s: Socket): void {
    const local = s.local as Extract<SockAddr, { family: typeof AF_UNIX }> | null;
    if (!local || local.name.length === 0) return;
    if (local.name[0] === 0) {
      const key = Buffer.from(local.name.subarray(1)).toString('latin1');
      if (this.abstract.get(key) === s) this.abstract.delete(key);
      return;
    }
    const at = this.inodeOf.get(s);
    if (!at) return;
    this.inodeOf.delete(s);
    const m = this.byInode.get(at.fs);
    if (m?.get(at.ino) === s) m.delete(at.ino);
  }
}
