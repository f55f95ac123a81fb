// The extended-attribute calls (syscalls/xattr.ts) through a headless kernel
// on both arches: the file is looked up first, then no attribute is found
// (ENODATA), a list is empty, a change is EOPNOTSUPP.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCH_NAMES, headless, type Headless } from './helpers/headless.ts';

describe.each(ARCH_NAMES)('xattr calls on %s', (arch) => {
  let t: Headless;
  beforeEach(() => {
    t = headless(arch);
    t.writeHost('f.txt', 'x');
  });
  afterEach(() => t.cleanup());

  it('getxattr, lgetxattr, fgetxattr: ENODATA for a file that exists, what the lookup gives otherwise', () => {
    const name = t.str('security.selinux');
    const buf = t.buf(256);
    expect(t.call('getxattr', t.str('/work/f.txt'), name, buf, 256)).toBe(t.errno('ENODATA'));
    expect(t.call('lgetxattr', t.str('/work/f.txt'), name, buf, 256)).toBe(t.errno('ENODATA'));
    expect(t.call('getxattr', t.str('/work/none'), name, buf, 256)).toBe(t.errno('ENOENT'));
    expect(t.call('getxattr', t.str('/work/f.txt/x'), name, buf, 256)).toBe(t.errno('ENOTDIR'));
    const fd = t.open('/work/f.txt');
    expect(t.call('fgetxattr', fd, name, buf, 256)).toBe(t.errno('ENODATA'));
    expect(t.call('fgetxattr', 999, name, buf, 256)).toBe(t.errno('EBADF'));
    expect(t.call('getxattr', t.str('/work/f.txt'), t.str('x'.repeat(256)), buf, 256)).toBe(t.errno('ERANGE'));
    expect(t.call('getxattr', t.str('/work/f.txt'), 0, buf, 256)).toBe(t.errno('EFAULT'));
  });

  it('the lists are empty; set is EOPNOTSUPP; remove finds nothing', () => {
    expect(t.call('listxattr', t.str('/work/f.txt'), t.buf(64), 64)).toBe(0);
    expect(t.call('llistxattr', t.str('/work/f.txt'), 0, 0)).toBe(0);
    expect(t.call('flistxattr', t.open('/work/f.txt'), 0, 0)).toBe(0);
    expect(t.call('setxattr', t.str('/work/f.txt'), t.str('user.a'), t.str('v'), 1, 0)).toBe(t.errno('EOPNOTSUPP'));
    expect(t.call('removexattr', t.str('/work/f.txt'), t.str('user.a'))).toBe(t.errno('ENODATA'));
    expect(t.readHost('f.txt')).toBe('x');
  });
});
