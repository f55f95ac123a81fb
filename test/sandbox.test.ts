// The sandbox, end to end with Debian's static busybox on both arches:
//   - a guest that tries "..", absolute and relative symlinks,
//     /proc/self/root, /proc/self/cwd and hard links to reach a sentinel file
//     next to (outside) its mount never reads it;
//   - with --ro and with --overlay, a guest that writes everywhere (creates,
//     deletes, chmods, renames, truncates, chowns, links, touches) leaves the
//     host tree exactly as it was: names, contents, modes, owners, link
//     targets, mtimes and ctimes;
//   - with --uid 0 the guest is root, and its chown is emulated: the host
//     file keeps its owner.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSync, type RunOptions } from '../src/index.ts';
import { ARCHES, DEBIAN_BIN, runCli, debianBin, type GuestArch } from './helpers/e2e.ts';

const SENTINEL = 'SENTINEL-do-not-read-7f3a';
/** Where busybox is mounted in the guest (read-only); every command runs through it. */
const BB = '/bb/busybox';

let base: string;
beforeEach(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-sandbox-')));
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

/** Run `busybox sh -c script` with `dir` mounted at /work (the cwd) and busybox at /bb. */
function guestShell(arch: GuestArch, dir: string, script: string, opts: Partial<RunOptions> = {}) {
  const r = runSync(debianBin(arch, 'busybox'), {
    args: ['-c', script],
    argv0: 'sh',
    env: { PATH: '/nowhere', LANG: 'C', B: BB, OUT: base },
    cwd: '/work',
    mountCwd: false,
    mounts: [
      { host: dir, guest: '/work' },
      { host: path.join(DEBIAN_BIN, arch), guest: '/bb', readOnly: true },
    ],
    stdout: 'capture',
    stderr: 'capture',
    timeoutMs: 120_000,
    ...opts,
  });
  return { stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1'), exitCode: r.exitCode };
}

interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  content: string;
}

/** Everything below `dir`: names, types, modes, owners, link counts, times, contents and link targets. */
function snapshot(dir: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const walk = (rel: string): void => {
    const here = path.join(dir, rel);
    const st = fs.lstatSync(here, { bigint: true });
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
    const content = type === 'file' ? fs.readFileSync(here).toString('base64') : type === 'link' ? fs.readlinkSync(here) : '';
    out[rel || '.'] = {
      type,
      mode: Number(st.mode),
      uid: Number(st.uid),
      gid: Number(st.gid),
      nlink: Number(st.nlink),
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      content,
    };
    if (type === 'dir') for (const name of fs.readdirSync(here).sort()) walk(rel ? `${rel}/${name}` : name);
  };
  walk('');
  return out;
}

/**
 * Each escape attempt prints "name:<exit status>" after trying to print the
 * sentinel; every one must fail, and the sentinel must never show up.
 */
const ESCAPES: [name: string, command: string][] = [
  ['dotdot', '$B cat ../secret.txt'],
  ['dotdot-deep', '$B cat ../../../../../../secret.txt'],
  ['absolute-host-path', '$B cat "$OUT/secret.txt"'],
  ['abs-dotdot', '$B cat /work/../secret.txt'],
  ['host-abs-symlink', '$B cat host-abs'],
  ['host-rel-symlink', '$B cat host-rel'],
  ['host-deep-symlink', '$B cat host-deep'],
  ['guest-rel-symlink', '$B ln -s ../secret.txt g-rel && $B cat g-rel'],
  ['guest-abs-symlink', '$B ln -s "$OUT/secret.txt" g-abs && $B cat g-abs'],
  ['symlink-chain', '$B ln -s ../ g-up && $B cat g-up/secret.txt'],
  ['symlinked-dir', '$B cat updir/secret.txt'],
  ['proc-root-dotdot', '$B cat /proc/self/root/../secret.txt'],
  ['proc-root-host-path', '$B cat "/proc/self/root$OUT/secret.txt"'],
  ['proc-cwd-dotdot', '$B cat /proc/self/cwd/../secret.txt'],
  ['proc-cwd-cd', 'cd /proc/self/cwd/.. && $B cat secret.txt'],
  ['proc-fd-dotdot', 'exec 3</work/inside.txt; $B cat /proc/self/fd/3/../secret.txt'],
  ['cd-up-and-around', 'cd ../../.. && $B cat secret.txt'],
  ['hardlink-dotdot', '$B ln ../secret.txt h1 && $B cat h1'],
  ['hardlink-host-path', '$B ln "$OUT/secret.txt" h2 && $B cat h2'],
  ['hardlink-proc-root', '$B ln /proc/self/root/../secret.txt h3 && $B cat h3'],
  ['hardlink-other-mount', '$B ln /bb/busybox h4'],
  ['find-everything', '$B find / -name secret.txt -print | $B grep -q . && $B cat $($B find / -name secret.txt)'],
];

describe.each(ARCHES)('sandbox on %s', (arch) => {
  it('no path reaches the sentinel next to the mount', () => {
    fs.writeFileSync(path.join(base, 'secret.txt'), SENTINEL);
    const dir = path.join(base, 'work');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'inside.txt'), 'inside\n');
    // Links the host made, pointing out of the mounted directory.
    fs.symlinkSync(path.join(base, 'secret.txt'), path.join(dir, 'host-abs'));
    fs.symlinkSync('../secret.txt', path.join(dir, 'host-rel'));
    fs.symlinkSync('../'.repeat(12) + base.slice(1) + '/secret.txt', path.join(dir, 'host-deep'));
    fs.symlinkSync('..', path.join(dir, 'updir'));
    const script = ESCAPES.map(([name, cmd]) => `(${cmd}); echo "${name}:$?"`).join('\n') + '\n$B cat inside.txt';
    const r = guestShell(arch, dir, script);
    expect(r.stdout + r.stderr).not.toContain(SENTINEL);
    const results = Object.fromEntries(
      r.stdout
        .split('\n')
        .filter((l) => /^[a-z-]+:\d+$/.test(l))
        .map((l) => l.split(':') as [string, string]),
    );
    for (const [name] of ESCAPES) expect([name, results[name]]).not.toEqual([name, '0']);
    expect(Object.keys(results).sort()).toEqual(ESCAPES.map(([n]) => n).sort());
    // The guest could use its own mount all along.
    expect(r.stdout).toContain('inside\n');
    // Nothing it did reached outside: the sentinel's directory holds what it held.
    expect(fs.readdirSync(base).sort()).toEqual(['secret.txt', 'work']);
    expect(fs.readFileSync(path.join(base, 'secret.txt'), 'utf8')).toBe(SENTINEL);
  });

  /** A guest that changes everything it can in /work, then lists what it sees. */
  const WRITER = [
    'echo new > created.txt',
    '$B mkdir newdir && echo x > newdir/inner',
    '$B rm file-a.txt',
    '$B rm -r subdir/deeper',
    '$B rmdir empty',
    '$B chmod 777 file-b.txt',
    '$B chmod -R 700 subdir',
    '$B mv file-c.txt renamed.txt',
    '$B mv subdir moved-dir',
    '$B truncate -s 0 file-d.txt',
    'echo appended >> file-e.txt',
    '$B sed -i s/old/new/ file-f.txt',
    '$B chown 123:456 file-g.txt',
    '$B chown -h 7:8 link-to-b',
    '$B ln -s file-g.txt newlink && $B ln file-g.txt hardlink',
    '$B rm link-to-b',
    '$B touch -d "2001-02-03 04:05:06" file-h.txt',
    '$B dd if=/dev/zero of=file-i.bin bs=1k count=4 conv=notrunc 2>/dev/null',
    '$B cp -a file-h.txt copy.txt',
    '$B ln -sf elsewhere link-to-b2',
  ];
  const writerScript = WRITER.map((cmd, i) => `(${cmd}) 2>/dev/null; echo "step${i}:$?"`).join('\n') + '\n$B ls -ln /work | $B sed 1d';

  function makeTree(dir: string): void {
    fs.mkdirSync(path.join(dir, 'subdir', 'deeper'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'empty'));
    for (const c of 'abcdefghi') fs.writeFileSync(path.join(dir, `file-${c}.txt`), `file ${c}: old\n`);
    fs.writeFileSync(path.join(dir, 'file-i.bin'), Buffer.alloc(8192, 0xaa));
    fs.writeFileSync(path.join(dir, 'subdir', 'deeper', 'leaf'), 'leaf');
    fs.chmodSync(path.join(dir, 'file-b.txt'), 0o640);
    fs.symlinkSync('file-b.txt', path.join(dir, 'link-to-b'));
    fs.symlinkSync('file-b.txt', path.join(dir, 'link-to-b2'));
    // Times far from now, so a change of any of them shows.
    for (const f of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, f), 1e9, 1e9);
  }

  const steps = (out: string) => Object.fromEntries(out.split('\n').filter((l) => /^step\d+:\d+$/.test(l)).map((l) => l.split(':') as [string, string]));

  it('--ro: every write fails and the host tree is unchanged', () => {
    const dir = path.join(base, 'tree');
    fs.mkdirSync(dir);
    makeTree(dir);
    const before = snapshot(dir);
    const r = guestShell(arch, dir, writerScript, { readOnly: true, uid: 0, gid: 0 });
    const results = steps(r.stdout);
    expect(Object.keys(results)).toHaveLength(WRITER.length);
    for (const [step, status] of Object.entries(results)) expect([step, status]).not.toEqual([step, '0']);
    expect(snapshot(dir)).toEqual(before);
  });

  it('--overlay: every write succeeds in the guest, and the host tree is unchanged', () => {
    const dir = path.join(base, 'tree');
    fs.mkdirSync(dir);
    makeTree(dir);
    const before = snapshot(dir);
    // As root (whoever runs the tests), so chown is allowed too.
    const r = guestShell(arch, dir, writerScript, { overlay: true, uid: 0, gid: 0 });
    const results = steps(r.stdout);
    expect(Object.keys(results)).toHaveLength(WRITER.length);
    for (const [step, status] of Object.entries(results)) expect([step, status, WRITER[Number(step.slice(4))]]).toEqual([step, '0', WRITER[Number(step.slice(4))]]);
    // The guest saw its own changes.
    const listing = r.stdout.split('\n').filter((l) => !/^step\d+:/.test(l));
    const line = (name: string) => listing.find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} -> `)) ?? '';
    expect(line('created.txt')).toMatch(/^-rw-r--r--/);
    expect(line('file-a.txt')).toBe('');
    expect(line('renamed.txt')).not.toBe('');
    expect(line('file-b.txt')).toMatch(/^-rwxrwxrwx/);
    expect(line('file-g.txt')).toMatch(/^-rw-r--r-- +2 +123 +456 /);
    expect(line('moved-dir')).toMatch(/^drwx------/);
    expect(line('link-to-b2')).toContain('-> elsewhere');
    expect(snapshot(dir)).toEqual(before);
  });

  it('--uid 0: the guest is root, and its chown is emulated (the host file keeps its owner)', () => {
    const dir = path.join(base, 'work');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'f'), 'data');
    const hostBefore = fs.statSync(path.join(dir, 'f'));
    const r = guestShell(arch, dir, '$B id; $B chown 123:456 f && $B stat -c "%u %g" f; $B ls -ln f', { uid: 0, gid: 0 });
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('uid=0(root) gid=0(root) groups=0(root)');
    expect(lines[1]).toBe('123 456');
    expect(lines[2]).toMatch(/^-rw-r--r-- +1 123 +456 /);
    const hostAfter = fs.statSync(path.join(dir, 'f'));
    expect([hostAfter.uid, hostAfter.gid]).toEqual([hostBefore.uid, hostBefore.gid]);
  });

  it('--uid 1000: the host user\'s files are the guest\'s; other users\' files are refused', () => {
    const dir = path.join(base, 'work');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'mine'), 'data');
    const r = guestShell(
      arch,
      dir,
      [
        '$B id -u',
        '$B stat -c "%u %g" mine /work',
        '$B chown 0 mine; echo "chown:$?"',
        'echo x > /tmp/t && $B stat -c "%u %g %a" /tmp/t',
        '$B touch /etc/x; echo "etc:$?"',
        'echo more >> mine; echo "own:$?"',
      ].join('\n'),
      { uid: 1000, gid: 1000 },
    );
    expect(r.stdout.split('\n')).toEqual(['1000', '1000 1000', '1000 1000', 'chown:1', '1000 1000 644', 'etc:1', 'own:0', '']);
    expect(fs.readFileSync(path.join(dir, 'mine'), 'utf8')).toBe('datamore\n');
  });
});

describe('tslinux run --uid 0 (the CLI)', () => {
  it('busybox id and an emulated chown', async () => {
    const dir = path.join(base, 'cwd');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'f'), 'data');
    const hostBefore = fs.statSync(path.join(dir, 'f'));
    const mount = `${path.join(DEBIAN_BIN, 'x86_64')}:/bb:ro`;
    const script = `${BB} id -u; ${BB} chown 123:456 f && ${BB} stat -c '%u %g' f`;
    const r = await runCli(['run', '--uid', '0', '--gid', '0', '--mount', mount, debianBin('x86_64', 'busybox'), 'sh', '-c', script], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0\n123 456\n');
    expect(r.code).toBe(0);
    const hostAfter = fs.statSync(path.join(dir, 'f'));
    expect([hostAfter.uid, hostAfter.gid]).toEqual([hostBefore.uid, hostBefore.gid]);
  });
});
