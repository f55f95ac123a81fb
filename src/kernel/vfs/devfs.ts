// /dev: a MemFs holding the character devices every program expects, plus
// the /dev/std* and /dev/fd symlinks into /proc/self/fd (resolved by the Vfs
// in the guest namespace, so they reach whatever procfs is mounted).
import { hostRandomFill } from '../../host/libc.ts';
import { fail } from '../errors.ts';
import { MemFs, type MemNode } from './memfs.ts';
import type { MemoryBudget } from '../memory.ts';
import type { OpenFile } from './types.ts';

/** Device number as userspace sees it in st_rdev (glibc makedev(3)). */
export function makedev(major: number, minor: number): number {
  // Low 8 bits of minor, 12 bits of major, then the high minor bits (Linux new_encode_dev).
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12);
}

export function major(rdev: number): number {
  return (rdev >>> 8) & 0xfff;
}

export function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
}

export interface DevFsOptions {
  dev: number;
  now?: () => bigint;
  /** Fills a buffer with random bytes for /dev/random and /dev/urandom. */
  random?: (buf: Uint8Array) => void;
  /** Opens the controlling terminal for /dev/tty; throw ENXIO when there is none. */
  tty?: () => OpenFile;
  readOnly?: boolean;
  /** The run's memory, which files in /dev/shm are charged to (see MemFsOptions). */
  budget?: MemoryBudget | null;
}

/** How one character device reads and writes; positions do not matter to any of them. */
interface DeviceOps {
  read(buf: Uint8Array): number;
  write(buf: Uint8Array): number;
  /** lseek succeeds (and the size is 0) on null, zero and full, as on Linux. */
  seekable: boolean;
}

export class DevFs extends MemFs {
  private readonly random: (buf: Uint8Array) => void;
  private readonly tty: () => OpenFile;

  constructor(opts: DevFsOptions) {
    super({ type: 'devtmpfs', dev: opts.dev, now: opts.now, readOnly: opts.readOnly, budget: opts.budget });
    this.random = opts.random ?? ((buf) => hostRandomFill(buf));
    this.tty = opts.tty ?? (() => fail('ENXIO', 'no controlling terminal'));
    this.addDevices();
    for (const [name, target] of LINKS) this.addSymlink(name, target);
    // glibc's shm_open and POSIX semaphores want a world-writable /dev/shm.
    this.addDir('shm', 0o1777);
  }

  private addDevices(): void {
    const zeros = (buf: Uint8Array) => (buf.fill(0), buf.length);
    const discard = (buf: Uint8Array) => buf.length;
    this.addStream('null', makedev(1, 3), { read: () => 0, write: discard, seekable: true });
    this.addStream('zero', makedev(1, 5), { read: zeros, write: discard, seekable: true });
    this.addStream('full', makedev(1, 7), { read: zeros, write: () => fail('ENOSPC'), seekable: true });
    const randomOps: DeviceOps = {
      read: (buf) => (this.random(buf), buf.length),
      // Writing mixes bytes into the pool on Linux; here it is accepted and ignored.
      write: discard,
      seekable: false,
    };
    this.addStream('random', makedev(1, 8), randomOps);
    this.addStream('urandom', makedev(1, 9), randomOps);
    this.addCharDevice('tty', makedev(5, 0), () => this.tty());
  }

  private addStream(name: string, rdev: number, ops: DeviceOps): void {
    this.addCharDevice(name, rdev, (node) => new DeviceFile(node, ops));
  }
}

const LINKS: [string, string][] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

class DeviceFile implements OpenFile {
  readonly seekable: boolean;
  constructor(
    readonly node: MemNode,
    private readonly ops: DeviceOps,
  ) {
    this.seekable = ops.seekable;
  }
  read(buf: Uint8Array): number {
    return this.ops.read(buf);
  }
  write(buf: Uint8Array): number {
    return this.ops.write(buf);
  }
  size(): number {
    return 0;
  }
  close(): void {}
}
