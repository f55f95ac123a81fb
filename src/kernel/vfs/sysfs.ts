// tslinux's /sys: a read-only in-memory tree with the few files programs
// read at start (their content is in sysinfo-files.ts), reported by
// statfs(2) as sysfs, as on Linux: SYSFS_MAGIC and no block or inode counts.
import { sysfsFiles } from '../sysinfo-files.ts';
import { MemFs } from './memfs.ts';

/** linux/magic.h */
const SYSFS_MAGIC = 0x62656572;
const NAME_MAX = 255;

export class SysFs extends MemFs {
  constructor(opts: { dev: number; ncpu: number; now?: () => bigint }) {
    super({ type: 'sysfs', dev: opts.dev, readOnly: true, now: opts.now });
    for (const [file, content] of Object.entries(sysfsFiles(opts.ncpu))) this.addFile(file, content, 0o444);
    // glibc's get_nprocs_conf counts the cpuN directories.
    for (let cpu = 0; cpu < opts.ncpu; cpu++) this.addDir(`devices/system/cpu/cpu${cpu}`);
  }

  override statfs(): ReturnType<MemFs['statfs']> {
    return { type: SYSFS_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: NAME_MAX };
  }
}
