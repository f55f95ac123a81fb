// The filesystem half of the escape suite (issue 12): every way found to
// reach a host file outside the guest's view, tried by Debian's busybox on
// both arches through the CLI, against each kind of host view: the default
// cwd mount, a writable --mount, --root, and --overlay. The syscall-level
// cases (fchmod, futimens, ftruncate on a swapped file; dirfd-relative calls
// on a swapped directory) are in test/helpers/fs-escapes.ts.
//
// Around the view sits a canary tree, hashed before and after: names, types,
// contents, modes, owners, sizes, mtimes and ctimes must not change. Its
// files hold a canary string that must never show up in the guest's output.
// Attempts in MUST_FAIL must fail; the fd attempts in FOLLOWS must act on
// the renamed object inside the view (as on Linux), never on the symlink's
// target.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCHES, DEBIAN_BIN, debianBin, runCli, type GuestArch } from './helpers/e2e.ts';
import { CANARY, describeSwapEscapes } from './helpers/fs-escapes.ts';
import { diffTrees, snapshotTree } from './helpers/host-watch.ts';

describeSwapEscapes('host access');

/**
 * Set-up run once at the start of the script: fd 3 is a directory renamed to
 * d2 with a symlink to / where it was; fd 4 a file renamed to f2 with a
 * symlink to the outside victim (its host path) where it was. Then a race:
 * a background loop swaps directory r for a symlink to the canary's
 * directory while the shell reads through r, r's fd and r/sub/.. .
 */
const SETUP = [
  '$B mkdir d && echo in-d2 > d/in.txt',
  'exec 3<d',
  '$B mv d d2 && $B ln -s / d',
  'echo inside > f',
  'exec 4<>f',
  '$B mv f f2 && $B ln -s "$OUT/victim" f',
  '$B mkdir -p r/sub && echo in-r > r/secret.txt',
  'exec 5<r',
  '( i=0; while [ $i -lt 12 ]; do $B mv r r.x; $B ln -s "$OUT" r; $B rm r; $B mv r.x r; i=$((i+1)); done ) &',
  'i=0; while [ $i -lt 40 ]; do for p in r/secret.txt /proc/self/fd/5/secret.txt r/sub/../secret.txt; do read -r line < $p && echo "race:$line"; done; i=$((i+1)); done 2>/dev/null',
  'wait',
].join('\n');

/** Each must exit non-zero (and of course print nothing of the canary's). */
const MUST_FAIL: [name: string, command: string][] = [
  // Issue 12, point 1, through the renamed directory's fd.
  ['dirfd-head-passwd', '$B head -2 /proc/self/fd/3/etc/passwd'],
  ['dirfd-read', '$B cat "/proc/self/fd/3$OUT/secret.txt"'],
  ['dirfd-list', '$B ls "/proc/self/fd/3$OUT"'],
  ['dirfd-create', 'echo x > "/proc/self/fd/3$OUT/planted"'],
  ['dirfd-rm', '$B rm "/proc/self/fd/3$OUT/victim"'],
  ['dirfd-mkdir', '$B mkdir "/proc/self/fd/3$OUT/newdir"'],
  ['dirfd-mv', '$B mv "/proc/self/fd/3$OUT/victim" "/proc/self/fd/3$OUT/moved"'],
  ['dirfd-chmod', '$B chmod 4777 "/proc/self/fd/3$OUT/victim"'],
  ['dirfd-touch', '$B touch "/proc/self/fd/3$OUT/victim"'],
  ['dirfd-truncate', '$B truncate -s 0 "/proc/self/fd/3$OUT/victim"'],
  ['dirfd-hardlink', '$B ln "/proc/self/fd/3$OUT/secret.txt" stolen && $B cat stolen'],
  ['dirfd-symlink', '$B ln -s x "/proc/self/fd/3$OUT/newlink"'],
  ['dirfd-dotdot', '$B cat /proc/self/fd/3/../../secret.txt'],
  ['dirfd-cd', 'cd /proc/self/fd/3 && cd "./$OUT" && $B cat secret.txt'],
  // The swapped file's name is the guest's symlink: resolved in the guest's namespace.
  ['file-name-read', '$B cat f | $B grep -q CANARY'],
  ['file-name-chmod', '$B chmod 4777 f && $B ls -l "$OUT/victim" | $B grep -q rws'],
  // The classic ones.
  ['dotdot', '$B cat ../secret.txt'],
  ['dotdot-deep', '$B cat ../../../../../../../../secret.txt'],
  ['absolute', '$B cat "$OUT/secret.txt"'],
  ['host-abs-symlink', '$B cat host-abs'],
  ['host-rel-symlink', '$B cat host-rel'],
  ['host-dir-symlink', '$B cat host-up/secret.txt'],
  ['guest-abs-symlink', '$B ln -s "$OUT/secret.txt" g-abs && $B cat g-abs'],
  ['guest-rel-symlink', '$B ln -s ../secret.txt g-rel && $B cat g-rel'],
  ['proc-root', '$B cat "/proc/self/root$OUT/secret.txt"'],
  ['proc-root-dotdot', '$B cat /proc/self/root/../secret.txt'],
  ['proc-cwd-dotdot', '$B cat /proc/self/cwd/../secret.txt'],
  ['hardlink-dotdot', '$B ln ../secret.txt h1 && $B cat h1'],
  ['hardlink-host-path', '$B ln "$OUT/secret.txt" h2 && $B cat h2'],
  ['hardlink-proc-root', '$B ln "/proc/self/root$OUT/secret.txt" h3 && $B cat h3'],
];

/** Attempts that may succeed in the guest's own namespace; what they do to the host is what the snapshot checks. */
const ANY_OUTCOME = [
  '$B mv f2 ../escaped-f2', // out of a mount: EXDEV, then a copy into the guest's memory
  '$B cp host-rel ../copied; $B cp -a d ../copied-link',
  'echo x > f', // through the guest's symlink to the victim's host path
  '$B truncate -s 0 f; $B touch f; $B chmod 4777 f',
  '$B rm -rf d; $B ln -s "$OUT" d; echo y > d/planted2; $B rm -f d/victim; $B chmod 777 d/victim',
];

/** fd operations that must reach the renamed object; each prints name=what it saw. */
const FOLLOWS: [name: string, command: string, expected: string][] = [
  ['dir-list', '$B ls /proc/self/fd/3/', 'in.txt'],
  ['dir-create', 'echo made > /proc/self/fd/3/made && $B cat d2/made', 'made'],
  ['file-chmod', '$B chmod 4751 /proc/self/fd/4 && $B stat -c %a f2', '4751'],
  ['file-touch', '$B touch -d "2001-02-03 04:05:06" /proc/self/fd/4 && $B date -r f2 +%Y', '2001'],
  ['file-write', 'echo more >&4 && $B head -n 1 f2', 'more'], // at fd 4's offset, 0
  ['file-truncate', '$B truncate -s 3 /proc/self/fd/4 && $B cat f2', 'mor'],
];

type Kind = 'cwd' | 'mount' | 'root' | 'overlay';
const KINDS: Kind[] = ['cwd', 'mount', 'root', 'overlay'];

let base: string;
let work: string;
beforeEach(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsl-escape-fs-')));
  work = path.join(base, 'work');
  fs.mkdirSync(work);
  // The canary tree, beside the view.
  fs.writeFileSync(path.join(base, 'secret.txt'), CANARY + '\n');
  fs.writeFileSync(path.join(base, 'victim'), CANARY + ' victim\n', { mode: 0o640 });
  fs.chmodSync(path.join(base, 'victim'), 0o640);
  fs.mkdirSync(path.join(base, 'odir'));
  fs.writeFileSync(path.join(base, 'odir', 'inner'), CANARY + ' inner\n');
  fs.symlinkSync('secret.txt', path.join(base, 'link-to-secret'));
  // Host-made links inside the view that point out of it.
  fs.symlinkSync(path.join(base, 'secret.txt'), path.join(work, 'host-abs'));
  fs.symlinkSync('../secret.txt', path.join(work, 'host-rel'));
  fs.symlinkSync('..', path.join(work, 'host-up'));
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

/** The CLI's arguments for a view of `work` of this kind (busybox at /bb, read-only), and the program to give it. */
function viewArgs(kind: Kind, arch: GuestArch): { args: string[]; cwd: string; program?: string } {
  const bb = `${path.join(DEBIAN_BIN, arch)}:/bb:ro`;
  switch (kind) {
    case 'cwd':
      return { args: ['--mount', bb], cwd: work };
    case 'overlay':
      return { args: ['--overlay', '--mount', bb], cwd: work };
    case 'mount':
      return { args: ['--no-cwd', '--mount', `${work}:/w`, '--cwd', '/w', '--mount', bb], cwd: base };
    case 'root':
      // A read-write root (the namespace would make these mount points in it); the program is a path in the guest's view.
      for (const d of ['bb', 'dev', 'proc', 'sys', 'tmp']) fs.mkdirSync(path.join(work, d));
      return { args: ['--root', `${work}:rw`, '--no-cwd', '--cwd', '/', '--mount', bb], cwd: base, program: '/bb/busybox' };
  }
}

/** What the host's own /etc/passwd has that the guest's synthetic one does not (a second canary). */
function hostPasswdLines(): string[] {
  try {
    return fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .filter((l) => l.length > 10 && !l.startsWith('root:') && !l.startsWith('nobody:'));
  } catch {
    return [];
  }
}

describe.each(ARCHES)('escape attempts through busybox on %s', (arch) => {
  it.each(KINDS)('%s: nothing outside the view is read or changed', async (kind) => {
    const { args, cwd, program } = viewArgs(kind, arch);
    const before = snapshotTree(base, (rel) => rel === 'work');
    const attempts = MUST_FAIL.map(([name, cmd]) => `(${cmd}); echo "${name}:$?"`);
    const follows = FOLLOWS.map(([name, cmd]) => `echo "${name}=$(${cmd})"`);
    const any = ANY_OUTCOME.map((cmd) => `(${cmd})`);
    const script = [SETUP, ...attempts, ...follows, ...any, 'echo done'].join('\n');
    const r = await runCli(['run', ...args, program ?? debianBin(arch, 'busybox'), 'sh', '-c', script], {
      cwd,
      env: { PATH: '/nowhere', LANG: 'C', B: '/bb/busybox', OUT: base },
    });
    const output = r.stdout + r.stderr;
    expect(output).not.toContain(CANARY);
    for (const line of hostPasswdLines()) expect(output).not.toContain(line);
    expect(r.stdout).toMatch(/\ndone\n$/);
    const status = new Map(r.stdout.split('\n').flatMap((l) => (/^[a-z-]+:\d+$/.test(l) ? [l.split(':') as [string, string]] : [])));
    expect(MUST_FAIL.filter(([name]) => status.get(name) !== undefined && status.get(name) === '0').map(([n]) => n)).toEqual([]);
    expect([...status.keys()].sort()).toEqual(MUST_FAIL.map(([n]) => n).sort());
    const seen = Object.fromEntries(r.stdout.split('\n').flatMap((l) => (/^[a-z-]+=/.test(l) ? [l.split(/=(.*)/s).slice(0, 2) as [string, string]] : [])));
    expect(seen).toEqual(Object.fromEntries(FOLLOWS.map(([name, , expected]) => [name, expected])));
    // The race read only the guest's own file.
    expect(new Set(r.stdout.split('\n').filter((l) => l.startsWith('race:')))).toEqual(new Set(['race:in-r']));
    expect(diffTrees(before, snapshotTree(base, (rel) => rel === 'work'))).toBe('');
  });
});

// The files tslinux writes after the run (--record-profile, --report,
// --crash-report) are fixed at launch: a guest that swaps their directory
// for a symlink sends them nowhere else, and one that puts a symlink at
// their name gets them refused (ELOOP), never written through it.
describe('output files written after the run', () => {
  it.each(ARCHES)('%s: a guest swapping their paths cannot redirect them', async (arch) => {
    fs.mkdirSync(path.join(work, 'out'));
    const before = snapshotTree(base, (rel) => rel === 'work');
    const script = [
      '$B mv out out2 && $B ln -s "$OUT" out', // the profile's directory, swapped
      '$B ln -s "$OUT/victim" report.html', // the report's name, a symlink
      '$B ln -s "$OUT/victim" crash.json',
      'kill -SEGV $$',
    ].join('; ');
    const { args, cwd } = viewArgs('cwd', arch);
    const r = await runCli(['run', '--record-profile', 'out/prof.json', '--report', 'report.html', '--crash-report', 'crash.json', ...args, debianBin(arch, 'busybox'), 'sh', '-c', script], {
      cwd,
      env: { PATH: '/nowhere', LANG: 'C', B: '/bb/busybox', OUT: base },
    });
    // The profile went where its directory went; the report met the symlink and was refused.
    expect(JSON.parse(fs.readFileSync(path.join(work, 'out2', 'prof.json'), 'utf8')).syscalls.length).toBeGreaterThan(0);
    expect(r.stderr).toContain('--report report.html: ELOOP');
    expect(r.code).not.toBe(0);
    expect(diffTrees(before, snapshotTree(base, (rel) => rel === 'work'))).toBe('');
  });
});
