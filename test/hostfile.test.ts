// The single-file filesystem (src/kernel/vfs/hostfile.ts) mounted on a file
// in the Vfs, as tslinux shows the program it was started with: the mount
// point's directories appear holding only that name, the file reads through
// the one host fd held since launch (a later rename or replacement on the
// host changes nothing), every change is EROFS, and the mount point cannot
// be removed or renamed (EBUSY).
import { errno } from './helpers/errno.ts';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostFileFs } from '../src/kernel/vfs/hostfile.ts';
import { MemFs, S_IFMT, S_IFREG, Vfs, type OpenIntent } from '../src/kernel/vfs/index.ts';

const READ: OpenIntent = { read: true, write: false, append: false, truncate: false, nonblock: false };
/** The guest's ids; the host user's files show as theirs. */
const IDS = { uid: 4321, gid: 8765 };
const HOST_IDS = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

describe('a host file mounted on its own path', () => {
  let dir: string;
  let file: string;
  let vfs: Vfs;
  let hf: HostFileFs;

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-hostfile-')));
    file = path.join(dir, 'prog');
    fs.writeFileSync(file, 'program bytes', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'secret'), 'not for the guest');
    hf = new HostFileFs({ fd: fs.openSync(file, 'r'), dev: 9, hostIds: HOST_IDS, guestIds: IDS });
    vfs = new Vfs(new MemFs({ dev: 1 }));
    vfs.mount('/opt/x/prog', hf, file, 'ro');
  });

  afterEach(() => {
    hf.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const at = (p: string) => vfs.resolve(p, { base: '/', follow: true });
  const read = (p: string): string => {
    const r = at(p);
    const f = r.fs.open(r.node, READ);
    const buf = new Uint8Array(64);
    return Buffer.from(buf.subarray(0, f.read(buf, 0))).toString();
  };

  it('is a read-only regular file with the host file’s mode, size and content', () => {
    const r = at('/opt/x/prog');
    const st = r.fs.stat(r.node);
    expect(st.mode & S_IFMT).toBe(S_IFREG);
    expect(st.mode & 0o777).toBe(0o755);
    expect(st.size).toBe(13);
    expect([st.uid, st.gid]).toEqual([IDS.uid, IDS.gid]);
    expect(read('/opt/x/prog')).toBe('program bytes');
    expect(errno(() => r.fs.open(r.node, { ...READ, write: true }))).toBe('EROFS');
    expect(errno(() => r.fs.chmod(r.node, 0o777))).toBe('EROFS');
    expect(vfs.mounts().at(-1)).toMatchObject({ path: '/opt/x/prog', source: file, options: 'ro' });
  });

  it('its directories show only its name: nothing else of the host directory', () => {
    const parent = at('/opt/x');
    expect(parent.fs.readdir(parent.node).map((e) => e.name)).toEqual(['prog']);
    expect(errno(() => at('/opt/x/secret'))).toBe('ENOENT');
    expect(errno(() => at('/opt/x/prog/..'))).toBe('ENOTDIR');
  });

  it('unlink and rename of it are EBUSY, as for any mount point', () => {
    expect(errno(() => vfs.resolveParent('/opt/x/prog', '/', 'unlink'))).toBe('EBUSY');
    expect(errno(() => vfs.resolveParent('/opt/x/prog', '/', 'rename'))).toBe('EBUSY');
  });

  it('reads through the fd opened at launch: renaming and replacing the host file changes nothing', () => {
    fs.renameSync(file, file + '.old');
    fs.writeFileSync(file, 'something else entirely');
    expect(read('/opt/x/prog')).toBe('program bytes');
    expect(at('/opt/x/prog').fs.stat(at('/opt/x/prog').node).size).toBe(13);
  });

  it('a directory cannot be mounted on it, nor it on a directory (ENOTDIR)', () => {
    expect(errno(() => vfs.mount('/opt/x/prog', new MemFs({ dev: 3 })))).toBe('ENOTDIR');
    expect(errno(() => vfs.mount('/opt', hf))).toBe('ENOTDIR');
  });
});
