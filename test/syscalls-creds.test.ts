// Identity-changing syscalls (syscalls/creds.ts): the set*id family,
// setfsuid/setfsgid and capget/capset, through a headless kernel on both
// arches, with credentials(7)'s rules for root and for ordinary users.
import { afterEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless, type HeadlessOptions } from './helpers/headless.ts';

const KEEP = 0xffffffff;
const CAP_V1 = 0x19980330;
const CAP_V3 = 0x20080522;

describe.each(ARCH_NAMES)('creds syscalls on %s', (arch) => {
  let t: Headless;
  const make = (opts: HeadlessOptions = {}) => {
    t?.cleanup();
    t = headless(arch, { uid: 1000, gid: 1000, hostDir: false, ...opts });
    return t;
  };
  afterEach(() => t?.cleanup());

  const resuid = () => {
    const a = t.buf(12);
    expect(t.call('getresuid', a, a + 4, a + 8)).toBe(0);
    return [t.u32(a), t.u32(a + 4), t.u32(a + 8)];
  };
  const resgid = () => {
    const a = t.buf(12);
    expect(t.call('getresgid', a, a + 4, a + 8)).toBe(0);
    return [t.u32(a), t.u32(a + 4), t.u32(a + 8)];
  };

  it('getresuid/getresgid write three ids; EFAULT for bad pointers', () => {
    make();
    expect(resuid()).toEqual([1000, 1000, 1000]);
    expect(resgid()).toEqual([1000, 1000, 1000]);
    const a = t.buf(8);
    expect(t.call('getresuid', a, a + 4, t.unmapped)).toBe(t.errno('EFAULT'));
    expect(t.call('getresgid', t.unmapped, a, a + 4)).toBe(t.errno('EFAULT'));
  });

  it('root: setuid sets all three ids and drops privilege for good', () => {
    make({ uid: 0, gid: 0 });
    expect(t.call('setuid', 500)).toBe(0);
    expect(resuid()).toEqual([500, 500, 500]);
    expect(t.call('setuid', 0)).toBe(t.errno('EPERM'));
    expect(t.call('setuid', KEEP)).toBe(t.errno('EINVAL'));
  });

  it('unprivileged setuid/setgid only to the real or saved id', () => {
    make();
    expect(t.call('setuid', 1000)).toBe(0);
    expect(t.call('setuid', 0)).toBe(t.errno('EPERM'));
    expect(t.call('setgid', 1000)).toBe(0);
    expect(t.call('setgid', 0)).toBe(t.errno('EPERM'));
    expect(t.call('setgid', KEEP)).toBe(t.errno('EINVAL'));
  });

  it('setresuid: root sets anything; the ids then bound an unprivileged process', () => {
    make({ uid: 0, gid: 0 });
    expect(t.call('setresuid', 1, 2, 3)).toBe(0);
    expect(resuid()).toEqual([1, 2, 3]);
    expect(t.call('setresuid', 3, 1, KEEP)).toBe(0);
    expect(resuid()).toEqual([3, 1, 3]);
    expect(t.call('setresuid', KEEP, 7, KEEP)).toBe(t.errno('EPERM'));
    expect(t.call('setresuid', 0, KEEP, KEEP)).toBe(t.errno('EPERM'));
    expect(resuid()).toEqual([3, 1, 3]);
  });

  it('setresuid keeps root while the saved id is 0', () => {
    make({ uid: 0, gid: 0 });
    expect(t.call('setresuid', KEEP, 1000, KEEP)).toBe(0);
    expect(t.call('geteuid')).toBe(1000);
    expect(t.call('setresuid', KEEP, 0, KEEP)).toBe(0);
    expect(t.call('geteuid')).toBe(0);
  });

  it('setresgid follows the same rules', () => {
    make();
    expect(t.call('setresgid', KEEP, KEEP, KEEP)).toBe(0);
    expect(t.call('setresgid', 1000, 1000, 1000)).toBe(0);
    expect(t.call('setresgid', KEEP, 0, KEEP)).toBe(t.errno('EPERM'));
    expect(resgid()).toEqual([1000, 1000, 1000]);
    make({ uid: 0, gid: 0 });
    expect(t.call('setresgid', 5, 6, 7)).toBe(0);
    expect(resgid()).toEqual([5, 6, 7]);
    expect(t.call('getegid')).toBe(6);
  });

  it('setreuid: saved id follows a new effective id; unprivileged limits', () => {
    make({ uid: 0, gid: 0 });
    expect(t.call('setreuid', KEEP, 1000)).toBe(0); // euid != old ruid: suid = 1000
    expect(resuid()).toEqual([0, 1000, 1000]);
    expect(t.call('setreuid', 1000, KEEP)).toBe(0); // real may become the old euid
    expect(resuid()).toEqual([1000, 1000, 1000]);
    expect(t.call('setreuid', 0, KEEP)).toBe(t.errno('EPERM'));
    expect(t.call('setreuid', KEEP, 0)).toBe(t.errno('EPERM'));
  });

  it('setreuid swapping real and effective', () => {
    make({ uid: 0, gid: 0 });
    expect(t.call('setresuid', 10, 20, 30)).toBe(0);
    expect(t.call('setreuid', 20, 10)).toBe(0); // ruid set: suid = new euid
    expect(resuid()).toEqual([20, 10, 10]);
    expect(t.call('setreuid', KEEP, 20)).toBe(0); // euid == old ruid: suid kept
    expect(resuid()).toEqual([20, 20, 10]);
    expect(t.call('setreuid', 30, KEEP)).toBe(t.errno('EPERM')); // real: only old real or effective
  });

  it('setregid', () => {
    make();
    expect(t.call('setregid', KEEP, KEEP)).toBe(0);
    expect(t.call('setregid', 1000, 1000)).toBe(0);
    expect(t.call('setregid', 0, KEEP)).toBe(t.errno('EPERM'));
    make({ uid: 0, gid: 0 });
    expect(t.call('setregid', 3, 4)).toBe(0);
    expect(resgid()).toEqual([3, 4, 4]);
  });

  it('setfsuid/setfsgid return the old value and follow the effective id', () => {
    make();
    expect(t.call('setfsuid', KEEP)).toBe(1000);
    expect(t.call('setfsuid', 0)).toBe(1000); // not allowed: unchanged, no error
    expect(t.call('setfsuid', KEEP)).toBe(1000);
    expect(t.call('setfsgid', 0)).toBe(1000);
    expect(t.call('setfsgid', KEEP)).toBe(1000);
    make({ uid: 0, gid: 0 });
    expect(t.call('setfsuid', 42)).toBe(0);
    expect(t.call('setfsuid', KEEP)).toBe(42);
    expect(t.call('setfsgid', 43)).toBe(0);
    expect(t.call('setfsgid', KEEP)).toBe(43);
    expect(t.call('setresuid', KEEP, 7, KEEP)).toBe(0);
    expect(t.call('setfsuid', KEEP)).toBe(7);
  });

  const header = (version: number, pid = 0) => {
    const h = t.buf(8);
    t.mem.writeU32(h, version);
    t.mem.writeU32(h + 4, pid);
    return h;
  };

  it('capget: root has every capability, others none', () => {
    make({ uid: 0, gid: 0 });
    const d = t.buf(24, 0xee);
    expect(t.call('capget', header(CAP_V3), d)).toBe(0);
    expect([t.u32(d), t.u32(d + 4), t.u32(d + 8)]).toEqual([0xffffffff, 0xffffffff, 0]);
    expect([t.u32(d + 12), t.u32(d + 16), t.u32(d + 20)]).toEqual([0x1ff, 0x1ff, 0]);
    make();
    const e = t.buf(24, 0xee);
    expect(t.call('capget', header(CAP_V3, t.proc.pid), e)).toBe(0);
    expect([...t.read(e, 24)].every((b) => b === 0)).toBe(true);
    const v1 = t.buf(24, 0xee);
    expect(t.call('capget', header(CAP_V1), v1)).toBe(0);
    expect(t.read(v1 + 12, 1)[0]).toBe(0xee); // one struct only
  });

  it('capget: bad version, bad pid, bad pointers', () => {
    make();
    const d = t.buf(24);
    const h = header(0x1234);
    expect(t.call('capget', h, d)).toBe(t.errno('EINVAL'));
    expect(t.u32(h)).toBe(CAP_V3);
    const probe = header(0);
    expect(t.call('capget', probe, 0)).toBe(0);
    expect(t.u32(probe)).toBe(CAP_V3);
    expect(t.call('capget', header(CAP_V3, -1), d)).toBe(t.errno('EINVAL'));
    expect(t.call('capget', header(CAP_V3, 99999), d)).toBe(t.errno('ESRCH'));
    expect(t.call('capget', t.unmapped, d)).toBe(t.errno('EFAULT'));
    expect(t.call('capget', header(CAP_V3), t.unmapped)).toBe(t.errno('EFAULT'));
  });

  it('capset may only drop capabilities', () => {
    make();
    const none = t.buf(24);
    expect(t.call('capset', header(CAP_V3), none)).toBe(0);
    const some = t.buf(24);
    t.mem.writeU32(some + 4, 1); // permitted CAP_CHOWN
    expect(t.call('capset', header(CAP_V3), some)).toBe(t.errno('EPERM'));
    expect(t.call('capset', header(CAP_V3, 99999), none)).toBe(t.errno('EPERM'));
    expect(t.call('capset', header(0x1234), none)).toBe(t.errno('EINVAL'));
    expect(t.call('capset', header(CAP_V3), t.unmapped)).toBe(t.errno('EFAULT'));

    make({ uid: 0, gid: 0 });
    const drop = t.buf(24);
    t.mem.writeU32(drop, 1); // effective CAP_CHOWN
    t.mem.writeU32(drop + 4, 3); // permitted CAP_CHOWN | CAP_DAC_OVERRIDE
    expect(t.call('capset', header(CAP_V3), drop)).toBe(0);
    const d = t.buf(24);
    expect(t.call('capget', header(CAP_V3), d)).toBe(0);
    expect([t.u32(d), t.u32(d + 4), t.u32(d + 12)]).toEqual([1, 3, 0]);
    const widen = t.buf(24);
    t.mem.writeU32(widen + 4, 7);
    expect(t.call('capset', header(CAP_V3), widen)).toBe(t.errno('EPERM'));
    const effBeyond = t.buf(24);
    t.mem.writeU32(effBeyond, 4);
    t.mem.writeU32(effBeyond + 4, 3);
    expect(t.call('capset', header(CAP_V3), effBeyond)).toBe(t.errno('EPERM'));
  });
});
