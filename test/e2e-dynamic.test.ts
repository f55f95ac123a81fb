// Dynamically linked programs from a Debian 12 root (tslinux run --root), on
// both arches: coreutils, grep, sed, dash and bash pipelines, perl, python3
// (file I/O, subprocess, json, hashlib, /proc/self/maps), find, tar + gzip,
// a #! script whose interpreter is dynamic, and ld.so run as the program.
// Each arch's root is built once by scripts/fetch-rootfs.sh
// (test/global-setup.ts; scripts/make-rootfs.sh, cached in .cache/rootfs).
// Compared with the real thing: x86-64 natively in a chroot of the same root
// (in a private mount namespace, with the host's /tmp bound over the root's),
// aarch64 with `qemu-aarch64 -L ROOT` (or, without qemu, with the x86-64
// native output: the script prints nothing arch-specific).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it, beforeAll, afterAll } from 'vitest';
import { optionalCommand, optionalTool } from './helpers/tools.ts';
import { ARCHES, QEMU, ROOT, canRunNative, runCli, type GuestArch } from './helpers/e2e.ts';

const ROOTFS: Record<GuestArch, string> = {
  x86_64: path.join(ROOT, '.cache', 'rootfs', 'x86_64'),
  aarch64: path.join(ROOT, '.cache', 'rootfs', 'aarch64'),
};
const LDSO: Record<GuestArch, string> = { x86_64: '/lib64/ld-linux-x86-64.so.2', aarch64: '/lib/ld-linux-aarch64.so.1' };
const ENV = { PATH: '/usr/bin:/bin', LANG: 'C', HOME: '/root' };

/** Every point-5 program of issue 16, in one guest run per arch (a run starts in about a second). ${'$'} is a shell $. */
const SCRIPT = String.raw`
set -e
cd "$W"
mkdir d
printf 'pear\napple\nfig\n' > d/fruit
printf 'x' > d/one
printf '#!/bin/bash\necho "script $0 $1 ${'$'}{BASH_VERSINFO[0]}"\n' > d/s.sh
chmod 755 d/s.sh
touch -d @86400 d/fruit d/one d/s.sh d .
echo '== ls -la'; ls -la --time-style=+%s d
echo '== sort'; sort d/fruit
echo '== sha256sum'; sha256sum d/fruit d/one
echo '== date'; date -d @0 -u
echo '== grep | sed'; grep -n p d/fruit | sed 's/p/P/g'
echo '== dash pipeline'; cat d/fruit | sort -r | head -2 | tr a-z A-Z
echo '== bash pipeline'; bash -c 'for f in $(sort d/fruit); do echo "${'$'}{#f}:$f"; done | sort -n | paste -sd, -; echo "${'$'}{PIPESTATUS[@]}"'
echo '== #! script with a dynamic interpreter'; ./d/s.sh arg
echo '== perl'; perl -e 'my %h = map { $_ => length } qw(a bb ccc); print join(",", map { "$_=$h{$_}" } sort keys %h), "\n"'
echo '== python3'; python3 -c '
import hashlib, json, os, subprocess
with open("d/data.json", "w") as f:
    json.dump({"n": [1, 2, 3], "s": "caf\u00e9"}, f, sort_keys=True)
data = json.load(open("d/data.json"))
r = subprocess.run(["sort", "-r", "d/fruit"], capture_output=True, text=True, check=True)
print(data, os.path.getsize("d/data.json"), hashlib.sha256(open("d/fruit", "rb").read()).hexdigest()[:16], hashlib.md5(b"x").hexdigest())
print(r.stdout.split(), r.returncode, subprocess.run(["false"]).returncode)
libc = [l.split() for l in open("/proc/self/maps") if l.rstrip().endswith("/libc.so.6")]
st = os.stat(libc[0][5])
dev = "%02x:%02x" % (os.major(st.st_dev), os.minor(st.st_dev))
print("maps: libc mapped", len(libc) >= 3, "with its dev and inode", all(l[3] == dev and l[4] == str(st.st_ino) for l in libc))
import struct, sys
raw = open("/proc/self/auxv", "rb").read()
aux = dict(struct.iter_unpack("<QQ", raw))
maps = [l.split() for l in open("/proc/self/maps")]
start = lambda name: min(int(l[0].split("-")[0], 16) for l in maps if len(l) > 5 and l[5].endswith(name) and l[2] == "00000000")
exe = open(sys.executable, "rb").read(64)
e_entry, e_phoff = struct.unpack_from("<QQ", exe, 24)
print("auxv: AT_BASE is ld.so", aux[7] == start("/ld-linux-" + ("x86-64.so.2" if "x86_64" in open("/proc/self/maps").read() else "aarch64.so.1")),
      "AT_PHDR", aux[3] == start("/python3.11") + e_phoff, "AT_ENTRY", aux[9] == e_entry, "AT_PHNUM", aux[5] == struct.unpack_from("<H", exe, 56)[0])
'
echo '== find'; find d -name '*.sh' -o -type d | sort
echo '== tar + gzip'; tar -cf - d | gzip -9 > d.tgz; mkdir x; gzip -dc d.tgz | tar -xf - -C x; test "$(sha256sum < d/fruit)" = "$(sha256sum < x/d/fruit)"; find x -type f | sort; tar -tzvf d.tgz --numeric-owner | sed 's/  */ /g' | cut -d' ' -f1,3,6 | sort
echo '== exit status'; sh -c 'exit 3' || echo "status $?"
`;

/** The roots are built before the suite (test/global-setup.ts) where apt-get can make them; elsewhere this file skips, saying so. */
const haveRoots = optionalTool(
  'the Debian 12 roots in .cache/rootfs',
  ARCHES.every((a) => fs.existsSync(path.join(ROOTFS[a], '.tslinux-rootfs'))),
  'npm run fixtures, which needs apt-get',
);
const isRoot = process.getuid?.() === 0;

let base: string;
beforeAll(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-dynamic-')));
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

/** A fresh empty work directory under the host's /tmp (the same path in every run of a comparison). */
function workDir(name: string): string {
  const w = path.join(base, name);
  fs.rmSync(w, { recursive: true, force: true });
  fs.mkdirSync(w);
  return w;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The script under tslinux: the root read-only, the work directory mounted at its own path. */
async function underTslinux(arch: GuestArch, w: string, argv: string[] = ['/bin/dash', '-c', SCRIPT]): Promise<Result> {
  const r = await runCli(['run', '--root', ROOTFS[arch], '--no-cwd', '--mount', `${w}:${w}`, '--cwd', w, ...argv], { env: { ...ENV, W: w } });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same natively: chroot into the x86-64 root, as a container runtime
 * sets one up, in a private mount namespace: the host's /tmp (which holds
 * the work directory), /dev and /proc bound over the root's.
 */
function natively(w: string, argv: string[] = ['/bin/dash', '-c', SCRIPT], wrapper: string[] = []): Result {
  const script = 'for d in tmp dev proc; do mount --rbind "/$d" "$R/$d" || exit 99; done; exec /usr/sbin/chroot "$R" /bin/sh -c \'cd "$W" && exec "$@"\' sh "$@"';
  const r = spawnSync(wrapper[0] ?? 'unshare', [...wrapper.slice(1), ...(wrapper.length ? ['unshare'] : []), '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...argv], {
    env: { ...ENV, W: w, R: ROOTFS.x86_64 },
    encoding: 'latin1',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** aarch64 under qemu-user: -L applies the root only to the loader and library paths; other paths are the host's. */
function underQemu(w: string): Result {
  const r = spawnSync(QEMU!, ['-L', ROOTFS.aarch64, path.join(ROOTFS.aarch64, 'usr/bin/dash'), '-c', SCRIPT], { env: { ...ENV, W: w }, cwd: w, encoding: 'latin1' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A native reference needs x86-64, root, and a private mount namespace (unshare --mount; not in every container). */
const canCompareNative = canRunNative && isRoot && spawnSync('unshare', ['--mount', 'true']).status === 0;

describe.skipIf(!haveRoots).concurrent('dynamically linked programs from a Debian 12 root', () => {
  // The x86-64 reference, made once: natively when we can chroot.
  let reference: Result | null = null;
  beforeAll(() => {
    if (canCompareNative) reference = natively(workDir('native'));
  });

  for (const arch of ARCHES) {
  it(`${arch}: coreutils, grep, sed, dash, bash, perl, python3, find, tar and gzip as natively`, async ({ expect }) => {
    const w = workDir(`tsl-${arch}`);
    const got = await underTslinux(arch, w);
    // What the guest checks of itself holds whatever it is compared with.
    expect(got.stdout).toContain('maps: libc mapped True with its dev and inode True');
    expect(got.stdout).toContain('auxv: AT_BASE is ld.so True AT_PHDR True AT_ENTRY True AT_PHNUM True');
    expect(got.stdout).toMatch(/\n== exit status\nstatus 3\n$/);
    let want: Result | null = reference;
    if (arch === 'aarch64' && QEMU) want = underQemu(workDir('qemu'));
    if (!want) {
      console.warn(`e2e-dynamic: ${arch} not compared: needs ${arch === 'x86_64' ? 'an x86-64 host, root and unshare (chroot)' : 'qemu-aarch64 or a native x86-64 run'}`);
      return;
    }
    const norm = (r: Result): Result => ({ ...r, stdout: r.stdout.replaceAll(/(tsl-aarch64|tsl-x86_64|native|qemu)/g, 'W') });
    expect(norm(got)).toEqual(norm(want));
  });

  it(`${arch}: the dynamic loader run as the program (ld.so /bin/ls)`, async ({ expect }) => {
    const w = workDir(`ldso-${arch}`);
    fs.writeFileSync(path.join(w, 'f'), 'x');
    const argv = [LDSO[arch], '/bin/ls', '-l', '--time-style=+', 'f'];
    fs.utimesSync(path.join(w, 'f'), 86400, 86400);
    const got = await underTslinux(arch, w, argv);
    expect(got).toEqual({ code: 0, stdout: '-rw-r--r-- 1 root root 1  f\n', stderr: '' });
    if (arch === 'x86_64' && canCompareNative) expect(got).toEqual(natively(w, argv));
  });
  }
});

const STRACE = optionalCommand('strace', 'apt-get install strace');

describe.skipIf(!haveRoots)('the trace of a dynamic program', () => {
  it.runIf(canCompareNative && STRACE !== null)('x86_64: ld.so\'s openat, pread64, mmap, mprotect and munmap as strace prints them', async ({ expect }) => {
    const calls = 'trace=execve,openat,pread64,mmap,mprotect,munmap,lgetxattr';
    const w = workDir('trace');
    fs.writeFileSync(path.join(w, 'f'), 'x');
    const argv = ['/bin/ls', '-l', 'f'];
    const ours = await runCli(['run', '--root', ROOTFS.x86_64, '--no-cwd', '--mount', `${w}:${w}`, '--cwd', w, '-e', calls, '-o', path.join(w, 'trace.txt'), ...argv], { env: ENV });
    expect(ours.code).toBe(0);
    const theirs = natively(w, argv, [STRACE!, '-f', '-e', calls, '-o', path.join(w, 'strace.txt')]);
    expect(theirs.code).toBe(0);
    // From the program's own execve on (strace also sees chroot's and sh's), addresses and pids normalised.
    const norm = (text: string): string[] => {
      const lines = text.split('\n').filter(Boolean).map((l) => l.replace(/^\d+ +/, '').replace(/0x[0-9a-f]+/g, 'ADDR').replace(/ +(?== [-\d?A])/, ' '));
      return lines.slice(lines.findLastIndex((l) => l.startsWith('execve(')) + 1);
    };
    const got = norm(fs.readFileSync(path.join(w, 'trace.txt'), 'latin1'));
    expect(got.some((l) => /^mmap\(NULL, \d+, PROT_READ, MAP_PRIVATE\|MAP_DENYWRITE, 3, 0\) = ADDR$/.test(l))).toBe(true);
    expect(got).toEqual(norm(fs.readFileSync(path.join(w, 'strace.txt'), 'latin1')));
  });
});

/** A small root made of parts of the built one: the files named (relative paths), copied with their directories. */
function partialRoot(name: string, from: GuestArch, files: Record<string, string>): string {
  const dir = workDir(name);
  for (const [to, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
    fs.copyFileSync(fs.realpathSync(path.join(ROOTFS[from], src)), path.join(dir, to));
    fs.chmodSync(path.join(dir, to), 0o755);
  }
  return dir;
}

describe.skipIf(!haveRoots).concurrent('a dynamic program that cannot start', () => {
  const run = (root: string, ...argv: string[]) => runCli(['run', '--root', root, '--no-cwd', ...argv], { env: ENV });

  it('a root without /lib: one line naming the missing interpreter, exit 127', async ({ expect }) => {
    const root = partialRoot('no-lib', 'x86_64', { 'bin/ls': 'usr/bin/ls' });
    expect(await run(root, '/bin/ls')).toEqual({
      code: 127,
      stdout: '',
      stderr: 'tslinux: /bin/ls: interpreter /lib64/ld-linux-x86-64.so.2: No such file or directory (not in the --root tree)\n',
    });
  });

  it('an interpreter of another arch: one line, exit 126', async ({ expect }) => {
    const root = partialRoot('wrong-arch', 'x86_64', { 'bin/ls': 'usr/bin/ls' });
    fs.mkdirSync(path.join(root, 'lib64'));
    fs.copyFileSync(fs.realpathSync(path.join(ROOTFS.aarch64, LDSO.aarch64)), path.join(root, LDSO.x86_64));
    fs.chmodSync(path.join(root, LDSO.x86_64), 0o755);
    expect(await run(root, '/bin/ls')).toEqual({
      code: 126,
      stdout: '',
      stderr: 'tslinux: /bin/ls: interpreter /lib64/ld-linux-x86-64.so.2: an aarch64 file, for an x86_64 program (Accessing a corrupted shared library)\n',
    });
  });

  it('an interpreter that is not an ELF file: one line, exit 126', async ({ expect }) => {
    const root = partialRoot('not-elf', 'aarch64', { 'bin/ls': 'usr/bin/ls' });
    fs.mkdirSync(path.join(root, 'lib'));
    fs.writeFileSync(path.join(root, LDSO.aarch64), '#!/bin/sh\n', { mode: 0o755 });
    expect(await run(root, '/bin/ls')).toEqual({
      code: 126,
      stdout: '',
      stderr: 'tslinux: /bin/ls: interpreter /lib/ld-linux-aarch64.so.1: not an ELF file (Accessing a corrupted shared library)\n',
    });
  });

  for (const arch of ARCHES) {
    it(`${arch}: a library missing at run time: ld.so's own message, exit 127, as natively`, async ({ expect }) => {
      const root = partialRoot(`no-libc-${arch}`, arch, { 'bin/true': 'usr/bin/true', [LDSO[arch].slice(1)]: LDSO[arch].slice(1) });
      const got = await run(root, '/bin/true');
      expect(got).toEqual({ code: 127, stdout: '', stderr: '/bin/true: error while loading shared libraries: libc.so.6: cannot open shared object file: No such file or directory\n' });
      if (arch === 'x86_64' && canCompareNative) {
        const native = spawnSync('/usr/sbin/chroot', [root, '/bin/true'], { encoding: 'latin1' });
        expect({ code: native.status, stdout: native.stdout, stderr: native.stderr }).toEqual(got);
      }
    });

    it(`${arch}: inside the guest, an execve whose interpreter is missing is ENOENT (dash: not found, 127)`, async ({ expect }) => {
      const root = partialRoot(`exec-${arch}`, arch, { 'bin/ls': 'usr/bin/ls' });
      fs.copyFileSync(path.join(ROOT, '.cache', 'debian', 'bin', arch, 'busybox'), path.join(root, 'busybox'));
      fs.chmodSync(path.join(root, 'busybox'), 0o755);
      expect(await run(root, '/busybox', 'sh', '-c', '/bin/ls; echo "status $?"')).toEqual({ code: 0, stdout: 'status 127\n', stderr: 'sh: /bin/ls: not found\n' });
    });
  }
});

describe.skipIf(!haveRoots).concurrent('a command name under --root', () => {
  const run = (root: string, ...argv: string[]) => runCli(['run', '--root', root, '--no-cwd', ...argv], { env: ENV });

  for (const arch of ARCHES) {
    it(`${arch}: a name without a slash is found in the guest's PATH, as chroot(1) finds it; argv[0] stays the name`, async ({ expect }) => {
      const got = await run(ROOTFS[arch], 'sh', '-c', 'echo "$0"; ls -d /etc /usr/bin');
      expect(got).toEqual({ code: 0, stdout: 'sh\n/etc\n/usr/bin\n', stderr: '' });
      if (arch === 'x86_64' && canCompareNative) {
        const native = spawnSync('/usr/sbin/chroot', [ROOTFS[arch], 'sh', '-c', 'echo "$0"; ls -d /etc /usr/bin'], { encoding: 'latin1', env: ENV });
        expect({ code: native.status, stdout: native.stdout, stderr: native.stderr }).toEqual(got);
      }
    });
  }

  it("the guest's PATH decides: --env PATH, and execvp's /bin:/usr/bin without one", async ({ expect }) => {
    expect(await run(ROOTFS.x86_64, '--clear-env', '--env', 'PATH=/nowhere:/also/not', 'ls')).toEqual({
      code: 127,
      stdout: '',
      stderr: "tslinux: ls: command not found (searched PATH in the guest's view: /nowhere:/also/not)\n",
    });
    expect(await run(ROOTFS.x86_64, '--clear-env', 'ls', '-d', '/etc')).toEqual({ code: 0, stdout: '/etc\n', stderr: '' });
  });

  it('a name found only as a file the guest may not execute: that file, exit 126', async ({ expect }) => {
    const root = partialRoot('path-no-x', 'x86_64', {});
    fs.mkdirSync(path.join(root, 'bin'));
    fs.writeFileSync(path.join(root, 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o644 });
    expect(await run(root, 'tool')).toEqual({ code: 126, stdout: '', stderr: 'tslinux: /bin/tool: Permission denied\n' });
  });
});

describe.skipIf(!haveRoots).concurrent("glibc over NETLINK_ROUTE (Debian's python3)", () => {
  for (const arch of ARCHES) {
    it(`${arch}: if_nameindex() sees the loopback alone under --net none, the host's interfaces under --net host`, async ({ expect }) => {
      const script = 'import socket; print(socket.if_nameindex())';
      const none = await runCli(['run', '--root', ROOTFS[arch], '--no-cwd', 'python3', '-c', script], { env: ENV });
      expect(none).toEqual({ code: 0, stdout: "[(1, 'lo')]\n", stderr: '' });
      const host = await runCli(['run', '--root', ROOTFS[arch], '--no-cwd', '--net', 'host', 'python3', '-c', script], { env: ENV });
      // The host's interfaces by index and name, as the host's own python3 lists them (if_nameindex reads RTM_GETLINK).
      const native = optionalCommand('python3', 'apt-get install python3');
      if (native) expect(host).toEqual({ code: 0, stdout: spawnSync(native, ['-c', script], { encoding: 'utf8' }).stdout, stderr: '' });
      else expect(host.code).toBe(0);
    });
  }
});

describe.concurrent('the --root tree', () => {
  /** A root holding only Debian's static busybox (at /bin/sh) and an /etc. */
  function busyboxRoot(name: string): string {
    const dir = workDir(name);
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.writeFileSync(path.join(dir, 'etc', 'hostname'), 'inside\n');
    fs.copyFileSync(path.join(ROOT, '.cache', 'debian', 'bin', 'x86_64', 'busybox'), path.join(dir, 'bin', 'sh'));
    fs.chmodSync(path.join(dir, 'bin', 'sh'), 0o755);
    return dir;
  }
  const script = 'cat /etc/hostname; echo new > /etc/new; echo "write: $?"; ls /proc/self/exe /dev/null /tmp >/dev/null && echo mounts';

  it('is read-only by default; its own /etc is what the guest reads; /proc, /dev and /tmp are mounted over it', async ({ expect }) => {
    const root = busyboxRoot('ro');
    const r = await runCli(['run', '--root', root, '--no-cwd', '/bin/sh', '-c', script], { env: ENV });
    expect(r).toEqual({ code: 0, stdout: 'inside\nwrite: 1\nmounts\n', stderr: '/bin/sh: can\'t create /etc/new: Read-only file system\n' });
    expect(fs.readdirSync(root).sort()).toEqual(['bin', 'etc']);
  });

  it('--overlay keeps the changes in memory and --diff lists them', async ({ expect }) => {
    const root = busyboxRoot('overlay');
    const r = await runCli(['run', '--root', root, '--no-cwd', '--overlay', '--diff', '/bin/sh', '-c', script], { env: ENV });
    expect(r).toEqual({ code: 0, stdout: 'inside\nwrite: 0\nmounts\n', stderr: 'A /etc/new\n' });
    expect(fs.existsSync(path.join(root, 'etc', 'new'))).toBe(false);
  });

  it('DIR:rw writes the tree, and gets the mount points it lacks as directories (as runc makes them)', async ({ expect }) => {
    const root = busyboxRoot('rw');
    const data = workDir('rw-data');
    fs.writeFileSync(path.join(data, 'in.txt'), 'data\n');
    const r = await runCli(['run', '--root', `${root}:rw`, '--no-cwd', '--mount', `${data}:/srv/data:ro`, '/bin/sh', '-c', `${script}; cat /srv/data/in.txt`], { env: ENV });
    expect(r).toEqual({ code: 0, stdout: 'inside\nwrite: 0\nmounts\ndata\n', stderr: '' });
    expect(fs.readFileSync(path.join(root, 'etc', 'new'), 'utf8')).toBe('new\n');
    expect(fs.readdirSync(path.join(root, 'srv', 'data'))).toEqual([]);
  });
});
