// copy_file_range, memfd_create and the legacy getdents (syscalls/fdextra.ts)
// through a headless kernel, on both arches; getdents is x86-64 only.
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

const SEEK_CUR = 1;
const DT_DIR = 4;
const DT_REG = 8;

describe.each(ARCH_NAMES)('fdextra syscalls on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch);
  });
  afterEach(() => t.cleanup());

  const E = (name: Parameters<Headless['errno']>[0]) => t.errno(name);
  const tell = (fd: number) => t.call('lseek', fd, 0, SEEK_CUR);
  const i64 = (v: number) => {
    const a = t.buf(8);
    t.mem.writeU64(a, v);
    return a;
  };

  describe('copy_file_range', () => {
    it('copies between files, advancing both offsets', () => {
      t.writeHost('in.txt', 'hello world');
      const a = t.open('in.txt');
      const b = t.open('out.txt', t.c.O_CREAT | t.c.O_RDWR);
      expect(t.call('copy_file_range', a, 0, b, 0, 5, 0)).toBe(5);
      expect(tell(a)).toBe(5);
      expect(tell(b)).toBe(5);
      expect(t.call('copy_file_range', a, 0, b, 0, 100, 0)).toBe(6);
      expect(t.call('copy_file_range', a, 0, b, 0, 100, 0)).toBe(0);
      expect(fs.readFileSync(t.hostPath('out.txt'), 'utf8')).toBe('hello world');
    });

    it('uses and updates the pointed-to offsets, leaving the file offsets', () => {
      t.writeHost('in.txt', 'abcdefgh');
      const a = t.open('in.txt');
      const b = t.open('out.txt', t.c.O_CREAT | t.c.O_RDWR);
      const offIn = i64(2);
      const offOut = i64(1);
      expect(t.call('copy_file_range', a, offIn, b, offOut, 3, 0)).toBe(3);
      expect(t.u64(offIn)).toBe(5n);
      expect(t.u64(offOut)).toBe(4n);
      expect(tell(a)).toBe(0);
      expect(tell(b)).toBe(0);
      expect(fs.readFileSync(t.hostPath('out.txt'), 'latin1')).toBe('\0cde');
    });

    it('copies within one file when the ranges do not overlap, EINVAL when they do', () => {
      t.writeHost('f.txt', 'abcdef');
      const fd = t.open('f.txt', t.c.O_RDWR);
      expect(t.call('copy_file_range', fd, i64(0), fd, i64(2), 3, 0)).toBe(E('EINVAL'));
      expect(t.call('copy_file_range', fd, i64(0), fd, i64(6), 3, 0)).toBe(3);
      expect(fs.readFileSync(t.hostPath('f.txt'), 'utf8')).toBe('abcdefabc');
    });

    it('errors: flags, bad fds, access modes, directories, O_APPEND, negative offsets, EFAULT', () => {
      t.writeHost('in.txt', 'data');
      const a = t.open('in.txt');
      const b = t.open('out.txt', t.c.O_CREAT | t.c.O_WRONLY);
      expect(t.call('copy_file_range', a, 0, b, 0, 4, 1)).toBe(E('EINVAL'));
      expect(t.call('copy_file_range', 42, 0, b, 0, 4, 0)).toBe(E('EBADF'));
      expect(t.call('copy_file_range', a, 0, 42, 0, 4, 0)).toBe(E('EBADF'));
      expect(t.call('copy_file_range', b, 0, a, 0, 4, 0)).toBe(E('EBADF'));
      const dir = t.open('.', t.c.O_DIRECTORY);
      expect(t.call('copy_file_range', dir, 0, b, 0, 4, 0)).toBe(E('EISDIR'));
      expect(t.call('copy_file_range', a, 0, dir, 0, 4, 0)).toBe(E('EISDIR'));
      const app = t.open('out.txt', t.c.O_WRONLY | t.c.O_APPEND);
      expect(t.call('copy_file_range', a, 0, app, 0, 4, 0)).toBe(E('EBADF'));
      expect(t.call('copy_file_range', a, i64(-1), b, 0, 4, 0)).toBe(E('EINVAL'));
      expect(t.call('copy_file_range', a, t.unmapped, b, 0, 4, 0)).toBe(E('EFAULT'));
      const [pr, pw] = t.pipe();
      expect(t.call('copy_file_range', pr, 0, b, 0, 4, 0)).toBe(E('EINVAL'));
      expect(t.call('copy_file_range', a, 0, pw, 0, 4, 0)).toBe(E('EINVAL'));
    });
  });

  describe('memfd_create', () => {
    it('makes a read-write anonymous file that works with write, lseek, pread, ftruncate and fstat', () => {
      const fd = t.call('memfd_create', t.str('scratch'), 0);
      expect(fd).toBeGreaterThanOrEqual(3);
      expect(t.write(fd, 'hello')).toBe(5);
      const buf = t.buf(16);
      expect(t.call('pread64', fd, buf, 16, 1)).toBe(4);
      expect(t.text(buf, 4)).toBe('ello');
      expect(t.call('ftruncate', fd, 2)).toBe(0);
      expect(t.call('pread64', fd, buf, 16, 0)).toBe(2);
      expect(t.text(buf, 2)).toBe('he');
      expect(t.call('ftruncate', fd, 4096)).toBe(0);
      const sb = t.buf(t.k.arch.statSize);
      expect(t.call('fstat', fd, sb)).toBe(0);
      const st = t.decodeStat(sb);
      expect(st.size).toBe(4096);
      expect(st.mode & 0o170000).toBe(0o100000);
      // Owned by the caller, not by root.
      expect([st.uid, st.gid]).toEqual([t.proc.creds.euid, t.proc.creds.egid]);
      expect(t.call('fcntl', fd, t.c.F_GETFL, 0) & 3).toBe(t.c.O_RDWR);
      expect(t.call('fcntl', fd, t.c.F_GETFD, 0)).toBe(0);
    });

    it('names its /proc/self/fd link "/memfd:NAME (deleted)"', () => {
      const fd = t.call('memfd_create', t.str('my name'), 1);
      const out = t.buf(256);
      const n = t.call('readlinkat', t.c.AT_FDCWD, t.str(`/proc/self/fd/${fd}`), out, 256);
      expect(t.text(out, n)).toBe('/memfd:my name (deleted)');
      expect(t.call('fcntl', fd, t.c.F_GETFD, 0)).toBe(1);
    });

    it('keeps separate memfds apart', () => {
      const a = t.call('memfd_create', t.str('x'), 0);
      const b = t.call('memfd_create', t.str('x'), 0);
      t.write(a, 'aaa');
      expect(t.call('lseek', b, 0, 2)).toBe(0);
    });

    it('accepts MFD_ALLOW_SEALING, refuses unknown flags, long names and bad pointers', () => {
      expect(t.call('memfd_create', t.str('s'), 2)).toBeGreaterThanOrEqual(0);
      expect(t.call('memfd_create', t.str('s'), 0x100)).toBe(E('EINVAL'));
      expect(t.call('memfd_create', t.str('s'), 4)).toBe(E('EINVAL'));
      expect(t.call('memfd_create', t.str('n'.repeat(249)), 0)).toBeGreaterThanOrEqual(0);
      expect(t.call('memfd_create', t.str('n'.repeat(250)), 0)).toBe(E('EINVAL'));
      expect(t.call('memfd_create', t.unmapped, 0)).toBe(E('EFAULT'));
      expect(t.call('memfd_create', 0, 0)).toBe(E('EFAULT'));
    });

    it('is a copy_file_range target', () => {
      t.writeHost('in.txt', 'payload');
      const a = t.open('in.txt');
      const m = t.call('memfd_create', t.str('m'), 0);
      expect(t.call('copy_file_range', a, 0, m, 0, 100, 0)).toBe(7);
      const buf = t.buf(8);
      expect(t.call('pread64', m, buf, 8, 0)).toBe(7);
      expect(t.text(buf, 7)).toBe('payload');
    });
  });

  describe('getdents', () => {
    const x86 = arch === 'x86_64';
    /** Decode struct linux_dirent records. */
    const decode = (addr: number, len: number) => {
      const out: { ino: bigint; off: bigint; reclen: number; name: string; type: number }[] = [];
      const b = t.read(addr, len);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let at = 0; at < len; ) {
        const reclen = v.getUint16(at + 16, true);
        const nameBytes = b.subarray(at + 18, at + reclen);
        out.push({
          ino: v.getBigUint64(at, true),
          off: v.getBigUint64(at + 8, true),
          reclen,
          name: Buffer.from(nameBytes.subarray(0, nameBytes.indexOf(0))).toString('latin1'),
          type: b[at + reclen - 1]!,
        });
        at += reclen;
      }
      return out;
    };

    it.skipIf(!x86)('lists a directory with d_type in the last byte', () => {
      t.writeHost('d/file.txt', 'x');
      fs.mkdirSync(t.hostPath('d/sub'));
      const fd = t.open('d', t.c.O_DIRECTORY);
      const buf = t.buf(4096);
      const n = t.call('getdents', fd, buf, 4096);
      expect(n).toBeGreaterThan(0);
      const ents = decode(buf, n);
      for (const e of ents) expect(e.reclen % 8).toBe(0);
      const byName = new Map(ents.map((e) => [e.name, e]));
      expect([...byName.keys()].sort()).toEqual(['.', '..', 'file.txt', 'sub']);
      expect(byName.get('file.txt')!.type).toBe(DT_REG);
      expect(byName.get('sub')!.type).toBe(DT_DIR);
      expect(byName.get('.')!.type).toBe(DT_DIR);
      expect(t.call('getdents', fd, buf, 4096)).toBe(0);
    });

    it.skipIf(!x86)('resumes across small buffers; EINVAL when one record does not fit', () => {
      t.writeHost('d/aaaa', '');
      t.writeHost('d/bbbb', '');
      const fd = t.open('d', t.c.O_DIRECTORY);
      const buf = t.buf(64);
      expect(t.call('getdents', fd, buf, 10)).toBe(E('EINVAL'));
      const names: string[] = [];
      for (;;) {
        const n = t.call('getdents', fd, buf, 32);
        expect(n).toBeGreaterThanOrEqual(0);
        if (n === 0) break;
        names.push(...decode(buf, n).map((e) => e.name));
      }
      expect(names.sort()).toEqual(['.', '..', 'aaaa', 'bbbb']);
    });

    it.skipIf(!x86)('errors: EBADF, ENOTDIR, EFAULT', () => {
      t.writeHost('f', '');
      expect(t.call('getdents', 42, t.buf(64), 64)).toBe(E('EBADF'));
      expect(t.call('getdents', t.open('f'), t.buf(64), 64)).toBe(E('ENOTDIR'));
      expect(t.call('getdents', t.open('.', t.c.O_DIRECTORY), t.unmapped, 64)).toBe(E('EFAULT'));
    });

    it.skipIf(x86)('is not a syscall on aarch64', () => {
      expect(t.has('getdents')).toBe(false);
    });
  });
});
