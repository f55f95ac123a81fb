// End to end with real-world static binaries: Debian's busybox and bash
// (cached by scripts/fetch-debian-bins.sh) on both arches. Each case runs in
// a fresh temporary directory holding the same input files, under tslinux
// and, when this host can, natively (x86_64) or under qemu-aarch64
// (aarch64). stdout, stderr, the exit code and the files left in the
// directory must be the same; each case also checks what it should have
// done (so it means something without a reference run too).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampled, sampledTitle } from './helpers/tools.ts';
import { ARCHES, debianBin, runReference, runTslinux, visible, type Files, type GuestArch, type Outcome } from './helpers/e2e.ts';

// ---- the input files every case starts with ------------------------------------------------------------------

const A = 'banana\napple\ncherry\napple pie\nDate\n';
const B = 'one two three\nfour five six\nseven eight nine\n';
const NUMS = '10\n9\n100\n-3\n9\n';
const C = 'in a subdirectory\n';
const INPUT: Files = { 'a.txt': A, 'b.txt': B, 'nums.txt': NUMS, 'sub/': '', 'sub/c.txt': C };

function populate(dir: string): void {
  for (const [rel, content] of Object.entries(INPUT)) {
    if (rel.endsWith('/')) fs.mkdirSync(path.join(dir, rel), { recursive: true });
    else fs.writeFileSync(path.join(dir, rel), content, 'latin1');
  }
}

/** The input tree with some entries changed (a string) or removed (null). */
function tree(changes: Record<string, string | null> = {}): Files {
  const out: Files = { ...INPUT };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** 1 MiB of varied bytes. */
const BIG = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => ((i * 2654435761) >>> 24) & 0xff));
/** 256 names of 140 characters (160-byte dirents): more than one 32 KiB getdents64 buffer. */
const MANY = Array.from({ length: 256 }, (_, i) => `${String(i).padStart(4, '0')}-a-file-with-a-long-name-to-fill-the-dirent-buffer`.padEnd(136, '-') + '.txt');
/** 5000 numbers in a scrambled order, one a line. */
const LINES = Array.from({ length: 5000 }, (_, i) => String(((i * 7919) % 5000) - 2500)).join('\n') + '\n';

const sha256 = (s: string): string => createHash('sha256').update(s, 'latin1').digest('hex');
const md5 = (s: string): string => createHash('md5').update(s, 'latin1').digest('hex');

// ---- cases ---------------------------------------------------------------------------------------------------

interface Case {
  title: string;
  /** Arguments after argv[0]. */
  args: string[];
  stdin?: string;
  /** Extra set-up after the standard input files. */
  setup?: (dir: string) => void;
  /** What the emulated run must produce (checked even when no reference run is possible). */
  want: Partial<Outcome>;
  /** A known emulator bug makes this case fail: it runs as it.fails and must be listed in the report. */
  bug?: string;
}

const ENOENT = 'No such file or directory';

const BUSYBOX: Case[] = [
  // echo / cat
  { title: 'echo', args: ['echo', 'hello', 'world'], want: { stdout: 'hello world\n', stderr: '', exitCode: 0 } },
  { title: 'echo -n -e', args: ['echo', '-n', '-e', 'a\\tb\\n'], want: { stdout: 'a\tb\n', exitCode: 0 } },
  { title: 'cat two files', args: ['cat', 'a.txt', 'b.txt'], want: { stdout: A + B, stderr: '', exitCode: 0, files: tree() } },
  { title: 'cat stdin', args: ['cat'], stdin: 'from stdin\n', want: { stdout: 'from stdin\n', exitCode: 0 } },
  { title: 'cat - between files', args: ['cat', 'sub/c.txt', '-', 'sub/c.txt'], stdin: 'mid\n', want: { stdout: C + 'mid\n' + C } },
  {
    title: 'cat a missing file: exit 1 with a message',
    args: ['cat', 'missing.txt'],
    want: { stdout: '', stderr: `cat: can't open 'missing.txt': ${ENOENT}\n`, exitCode: 1 },
  },
  {
    title: 'cat a file and a missing file',
    args: ['cat', 'a.txt', 'nope', 'b.txt'],
    want: { stdout: A + B, stderr: `cat: can't open 'nope': ${ENOENT}\n`, exitCode: 1 },
  },
  { title: 'cat a directory', args: ['cat', 'sub'], want: { stdout: '', stderr: 'cat: read error: Is a directory\n', exitCode: 1 } },
  // ls
  { title: 'ls -1', args: ['ls', '-1'], want: { stdout: 'a.txt\nb.txt\nnums.txt\nsub\n', exitCode: 0 } },
  { title: 'ls -1a sub', args: ['ls', '-1a', 'sub'], want: { stdout: '.\n..\nc.txt\n', exitCode: 0 } },
  { title: 'ls -1 of files and a directory', args: ['ls', '-1', 'b.txt', 'sub', 'a.txt'], want: { stdout: 'a.txt\nb.txt\n\nsub:\nc.txt\n' } },
  { title: 'ls a missing file', args: ['ls', '-1', 'missing'], want: { stdout: '', stderr: `ls: missing: ${ENOENT}\n`, exitCode: 1 } },
  // wc
  { title: 'wc', args: ['wc', 'a.txt'], want: { stdout: '        5         6        35 a.txt\n', exitCode: 0 } },
  { title: 'wc -l of two files', args: ['wc', '-l', 'a.txt', 'b.txt'], want: { stdout: '        5 a.txt\n        3 b.txt\n        8 total\n' } },
  { title: 'wc -l < input', args: ['wc', '-l'], stdin: 'x\ny\nz\n', want: { stdout: '3\n', exitCode: 0 } },
  { title: 'wc -c -w stdin', args: ['wc', '-c', '-w'], stdin: B, want: { stdout: '        9        45\n' } },
  // sort
  { title: 'sort a file', args: ['sort', 'a.txt'], want: { stdout: 'Date\napple\napple pie\nbanana\ncherry\n', exitCode: 0 } },
  { title: 'sort reading stdin', args: ['sort'], stdin: 'pear\nfig\nkiwi\n', want: { stdout: 'fig\nkiwi\npear\n', exitCode: 0 } },
  { title: 'sort -n -r -u', args: ['sort', '-n', '-r', '-u', 'nums.txt'], want: { stdout: '100\n10\n9\n-3\n' } },
  { title: 'sort -o writes a file', args: ['sort', '-o', 'sorted.txt', 'nums.txt'], want: { stdout: '', files: tree({ 'sorted.txt': '-3\n10\n100\n9\n9\n' }) } },
  // head / tail
  { title: 'head -n 2', args: ['head', '-n', '2', 'a.txt'], want: { stdout: 'banana\napple\n', exitCode: 0 } },
  { title: 'head -c 8 stdin', args: ['head', '-c', '8'], stdin: B, want: { stdout: 'one two ' } },
  { title: 'tail -n 2', args: ['tail', '-n', '2', 'a.txt'], want: { stdout: 'apple pie\nDate\n', exitCode: 0 } },
  { title: 'tail -c 5 stdin', args: ['tail', '-c', '5'], stdin: B, want: { stdout: 'nine\n' } },
  { title: 'tail -n +3', args: ['tail', '-n', '+3', 'b.txt'], want: { stdout: 'seven eight nine\n' } },
  // checksums
  {
    title: 'sha256sum',
    args: ['sha256sum', 'a.txt', 'b.txt'],
    want: { stdout: `${sha256(A)}  a.txt\n${sha256(B)}  b.txt\n`, exitCode: 0 },
  },
  { title: 'sha256sum stdin', args: ['sha256sum'], stdin: 'abc', want: { stdout: `${sha256('abc')}  -\n` } },
  {
    title: 'sha256sum -c',
    args: ['sha256sum', '-c', 'sums'],
    setup: (d) => fs.writeFileSync(path.join(d, 'sums'), `${sha256(A)}  a.txt\n${sha256('x')}  b.txt\n`),
    want: {
      stdout: 'a.txt: OK\nb.txt: FAILED\n',
      stderr: 'sha256sum: WARNING: 1 of 2 computed checksums did NOT match\n',
      exitCode: 1,
      files: tree({ sums: `${sha256(A)}  a.txt\n${sha256('x')}  b.txt\n` }),
    },
  },
  { title: 'md5sum', args: ['md5sum', 'a.txt', 'sub/c.txt'], want: { stdout: `${md5(A)}  a.txt\n${md5(C)}  sub/c.txt\n`, exitCode: 0 } },
  {
    title: 'md5sum of a missing file',
    args: ['md5sum', 'missing'],
    want: { stdout: '', stderr: `md5sum: can't open 'missing': ${ENOENT}\n`, exitCode: 1 },
  },
  // grep
  { title: 'grep -n', args: ['grep', '-n', 'apple', 'a.txt'], want: { stdout: '2:apple\n4:apple pie\n', exitCode: 0 } },
  { title: 'grep -i -c', args: ['grep', '-i', '-c', 'd', 'a.txt'], want: { stdout: '1\n' } },
  { title: 'grep -v -E', args: ['grep', '-v', '-E', '^(apple|banana)', 'a.txt'], want: { stdout: 'cherry\nDate\n' } },
  { title: 'grep no match: exit 1', args: ['grep', 'zzz', 'a.txt'], want: { stdout: '', stderr: '', exitCode: 1 } },
  { title: 'grep -r', args: ['grep', '-r', 'sub', 'sub'], want: { stdout: 'sub/c.txt:in a subdirectory\n', exitCode: 0 } },
  { title: 'grep stdin', args: ['grep', 'o'], stdin: 'foo\nbar\nboo\n', want: { stdout: 'foo\nboo\n' } },
  { title: 'grep a missing file: exit 2', args: ['grep', 'x', 'missing'], want: { stdout: '', stderr: `grep: missing: ${ENOENT}\n`, exitCode: 2 } },
  // sed
  { title: 'sed s///g', args: ['sed', 's/a/A/g', 'a.txt'], want: { stdout: A.replace(/a/g, 'A'), exitCode: 0 } },
  { title: 'sed -n 2p', args: ['sed', '-n', '2p', 'b.txt'], want: { stdout: 'four five six\n' } },
  { title: 'sed -e -e on stdin', args: ['sed', '-e', 's/x/y/', '-e', '/^d/d'], stdin: 'x1\ndrop\nx2x\n', want: { stdout: 'y1\ny2x\n' } },
  {
    title: 'sed -i edits the file in place',
    args: ['sed', '-i', 's/apple/APPLE/', 'a.txt'],
    want: { stdout: '', exitCode: 0, files: tree({ 'a.txt': A.replace(/apple/g, 'APPLE') }) },
  },
  // tr / cut / seq
  { title: 'tr a-z A-Z', args: ['tr', 'a-z', 'A-Z'], stdin: 'hello, world\n', want: { stdout: 'HELLO, WORLD\n', exitCode: 0 } },
  { title: 'tr -d', args: ['tr', '-d', 'aeiou'], stdin: B, want: { stdout: 'n tw thr\nfr fv sx\nsvn ght nn\n' } },
  { title: 'tr -s', args: ['tr', '-s', ' '], stdin: 'a   b  c\n', want: { stdout: 'a b c\n' } },
  { title: 'cut -d -f', args: ['cut', '-d', ' ', '-f', '2', 'b.txt'], want: { stdout: 'two\nfive\neight\n', exitCode: 0 } },
  { title: 'cut -c on stdin', args: ['cut', '-c', '1-3'], stdin: 'abcdef\nxy\n', want: { stdout: 'abc\nxy\n' } },
  { title: 'seq', args: ['seq', '1', '5'], want: { stdout: '1\n2\n3\n4\n5\n', exitCode: 0 } },
  { title: 'seq with a step', args: ['seq', '10', '-3', '1'], want: { stdout: '10\n7\n4\n1\n' } },
  { title: 'seq -s -w', args: ['seq', '-s', ',', '-w', '8', '11'], want: { stdout: '08,09,10,11\n' } },
  // mkdir
  { title: 'mkdir -m', args: ['mkdir', '-m', '700', 'priv'], want: { exitCode: 0, files: tree({ 'priv/': '' }), modes: { 'priv/': '700', 'sub/': '755' } } },
  { title: 'chmod', args: ['chmod', '640', 'a.txt'], want: { exitCode: 0, files: tree(), modes: { 'a.txt': '640', 'b.txt': '644' } } },
  { title: 'mkdir', args: ['mkdir', 'newdir'], want: { stdout: '', stderr: '', exitCode: 0, files: tree({ 'newdir/': '' }) } },
  { title: 'mkdir -p', args: ['mkdir', '-p', 'x/y/z'], want: { exitCode: 0, files: tree({ 'x/': '', 'x/y/': '', 'x/y/z/': '' }) } },
  { title: 'mkdir an existing directory', args: ['mkdir', 'sub'], want: { stdout: '', stderr: "mkdir: can't create directory 'sub': File exists\n", exitCode: 1, files: tree() } },
  { title: 'mkdir under a missing directory', args: ['mkdir', 'no/such'], want: { stderr: `mkdir: can't create directory 'no/such': ${ENOENT}\n`, exitCode: 1, files: tree() } },
  // cp
  { title: 'cp', args: ['cp', 'a.txt', 'copy.txt'], want: { stdout: '', stderr: '', exitCode: 0, files: tree({ 'copy.txt': A }) } },
  { title: 'cp into a directory', args: ['cp', 'a.txt', 'b.txt', 'sub'], want: { exitCode: 0, files: tree({ 'sub/a.txt': A, 'sub/b.txt': B }) } },
  { title: 'cp -r', args: ['cp', '-r', 'sub', 'sub2'], want: { exitCode: 0, files: tree({ 'sub2/': '', 'sub2/c.txt': C }) } },
  { title: 'cp over an existing file', args: ['cp', 'b.txt', 'a.txt'], want: { exitCode: 0, files: tree({ 'a.txt': B }) } },
  { title: 'cp a missing file', args: ['cp', 'missing', 'x'], want: { stderr: `cp: can't stat 'missing': ${ENOENT}\n`, exitCode: 1, files: tree() } },
  // mv
  { title: 'mv', args: ['mv', 'a.txt', 'moved.txt'], want: { stdout: '', stderr: '', exitCode: 0, files: tree({ 'a.txt': null, 'moved.txt': A }) } },
  { title: 'mv into a directory', args: ['mv', 'a.txt', 'b.txt', 'sub'], want: { exitCode: 0, files: tree({ 'a.txt': null, 'b.txt': null, 'sub/a.txt': A, 'sub/b.txt': B }) } },
  { title: 'mv a directory', args: ['mv', 'sub', 'renamed'], want: { exitCode: 0, files: tree({ 'sub/': null, 'sub/c.txt': null, 'renamed/': '', 'renamed/c.txt': C }) } },
  { title: 'mv over an existing file', args: ['mv', 'b.txt', 'a.txt'], want: { exitCode: 0, files: tree({ 'a.txt': B, 'b.txt': null }) } },
  { title: 'mv a missing file', args: ['mv', 'missing', 'x'], want: { stderr: `mv: can't rename 'missing': ${ENOENT}\n`, exitCode: 1, files: tree() } },
  // rm
  { title: 'rm', args: ['rm', 'a.txt'], want: { stdout: '', stderr: '', exitCode: 0, files: tree({ 'a.txt': null }) } },
  { title: 'rm -r', args: ['rm', '-r', 'sub'], want: { exitCode: 0, files: tree({ 'sub/': null, 'sub/c.txt': null }) } },
  { title: 'rm a missing file', args: ['rm', 'missing'], want: { stderr: `rm: can't remove 'missing': ${ENOENT}\n`, exitCode: 1, files: tree() } },
  { title: 'rm -f a missing file', args: ['rm', '-f', 'missing'], want: { stderr: '', exitCode: 0, files: tree() } },
  { title: 'rm a directory without -r', args: ['rm', 'sub'], want: { stderr: "rm: 'sub' is a directory\n", exitCode: 1, files: tree() } },
  // touch
  {
    title: 'touch creates a file',
    args: ['touch', 'new.txt'],
    want: { stdout: '', stderr: '', exitCode: 0, files: tree({ 'new.txt': '' }) },
  },
  {
    title: 'touch an existing file keeps its content',
    args: ['touch', 'a.txt'],
    want: { stdout: '', stderr: '', exitCode: 0, files: tree() },
  },
  { title: 'touch -c of a missing file creates nothing', args: ['touch', '-c', 'nothing.txt'], want: { stdout: '', stderr: '', exitCode: 0, files: tree() } },
  // larger inputs: many read/write calls, several getdents64 calls
  {
    title: 'sha256sum of a 1 MiB file',
    args: ['sha256sum', 'big.bin'],
    setup: (d) => fs.writeFileSync(path.join(d, 'big.bin'), BIG),
    want: { stdout: `${createHash('sha256').update(BIG).digest('hex')}  big.bin\n`, exitCode: 0, files: tree({ 'big.bin': BIG.toString('latin1') }) },
  },
  {
    title: 'cp of a 1 MiB file',
    args: ['cp', 'big.bin', 'copy.bin'],
    setup: (d) => fs.writeFileSync(path.join(d, 'big.bin'), BIG),
    want: { exitCode: 0, files: tree({ 'big.bin': BIG.toString('latin1'), 'copy.bin': BIG.toString('latin1') }) },
  },
  {
    title: 'ls -1 of a directory of 256 long names',
    args: ['ls', '-1', 'many'],
    setup: (d) => {
      fs.mkdirSync(path.join(d, 'many'));
      for (const n of MANY) fs.writeFileSync(path.join(d, 'many', n), '');
    },
    want: { stdout: MANY.join('\n') + '\n', exitCode: 0, files: tree({ 'many/': '', ...Object.fromEntries(MANY.map((n) => [`many/${n}`, ''])) }) },
  },
  {
    title: 'sort -n of 5000 lines on stdin',
    args: ['sort', '-n'],
    stdin: LINES,
    want: { stdout: LINES.split('\n').filter(Boolean).map(Number).sort((x, y) => x - y).join('\n') + '\n' },
  },
  // an unknown applet, and a few that go through other syscalls
  { title: 'an unknown applet', args: ['no-such-applet'], want: { stdout: '', stderr: 'no-such-applet: applet not found\n', exitCode: 127 } },
  { title: 'ln -s + readlink', args: ['ln', '-s', 'a.txt', 'link'], want: { exitCode: 0, files: tree({ link: '-> a.txt' }) } },
  { title: 'tee writes a file', args: ['tee', 'tee.txt'], stdin: 'teed\n', want: { stdout: 'teed\n', files: tree({ 'tee.txt': 'teed\n' }) } },
  { title: 'pwd', args: ['pwd'], want: { stdout: '$DIR\n', exitCode: 0 } },
  {
    title: 'id',
    args: ['id', '-G'],
    want: { stderr: '', exitCode: 0 },
  },
];

/** bash -c scripts that use builtins only (no fork/exec, no pipelines: process creation is not implemented). */
const BASH: Case[] = [
  { title: 'arithmetic: echo $((6*7))', args: ['-c', 'echo $((6*7))'], want: { stdout: '42\n', stderr: '', exitCode: 0 } },
  {
    title: 'more arithmetic',
    args: ['-c', 'echo $(( (17 % 5) ** 3 )) $(( 0x10 + 010 )) $(( -7 / 2 )) $(( 1 << 40 )); let x=5*5; (( x > 20 )) && echo "x=$x"'],
    want: { stdout: '8 24 -3 1099511627776\nx=25\n', exitCode: 0 },
  },
  {
    title: 'loops',
    args: ['-c', 'for i in 1 2 3; do echo "i=$i"; done; i=0; while (( i < 5 )); do i=$((i+1)); [[ $i == 2 ]] && continue; (( i == 4 )) && break; echo "w=$i"; done; for ((j=0;j<3;j++)); do printf %s $j; done; echo'],
    want: { stdout: 'i=1\ni=2\ni=3\nw=1\nw=3\n012\n', exitCode: 0 },
  },
  {
    title: 'functions, locals and return codes',
    args: ['-c', 'x=global; f() { local x=$1; echo "f:$x:$#:$*"; shift; echo "after shift: $1"; return 3; }; f a b; echo "rc=$? x=$x"'],
    want: { stdout: 'f:a:2:a b\nafter shift: b\nrc=3 x=global\n', exitCode: 0 },
  },
  {
    title: 'recursion without subshells',
    args: ['-c', 'fact() { if (( $1 <= 1 )); then R=1; else fact $(( $1 - 1 )); R=$(( R * $1 )); fi; }; fact 10; echo $R'],
    want: { stdout: '3628800\n' },
  },
  {
    title: 'string operations',
    args: ['-c', 's="Hello, World"; echo ${#s} ${s,,} ${s^^} "${s/World/There}" ${s:7} ${s:0:5} ${s%,*} ${s#*, }; p=a/b/c.tar.gz; echo ${p##*/} ${p%%.*} ${p//\\//:}; printf -v q "%05.1f|%-4s|%x" 3.14159 ab 255; echo "$q"'],
    want: { stdout: '12 hello, world HELLO, WORLD Hello, There World Hello Hello World\nc.tar.gz a/b/c a:b:c.tar.gz\n003.1|ab  |ff\n', exitCode: 0 },
  },
  {
    title: 'cd and pwd',
    args: ['-c', 'cd sub && pwd && echo "$PWD" && cd .. && pwd; cd /nonexistent; echo "rc=$?"; cd sub; cd -; echo "$OLDPWD"'],
    want: {
      stdout: '$DIR/sub\n$DIR/sub\n$DIR\nrc=1\n$DIR\n$DIR/sub\n',
      stderr: `bash: line 1: cd: /nonexistent: ${ENOENT}\n`,
      exitCode: 0,
    },
  },
  {
    title: '[[ ]] tests',
    args: ['-c', '[[ abc == a* ]] && echo glob; [[ foo =~ ^f(o+)$ ]] && echo "re ${BASH_REMATCH[1]}"; [[ -f a.txt ]] && echo file; [[ -d sub ]] && echo dir; [[ -e missing ]] || echo missing; [[ 3 -lt 10 && b > a ]] && echo cmp; [[ -s a.txt && ! -s empty ]] && echo sizes'],
    want: { stdout: 'glob\nre oo\nfile\ndir\nmissing\ncmp\nsizes\n', exitCode: 0 },
  },
  {
    title: 'here-strings and read',
    args: ['-c', 'read -r a b <<< "one two three"; echo "$a|$b"; while IFS= read -r l; do echo "<$l>"; done <<< $\'x\\ny\'; mapfile -t arr <<< $\'p\\nq\\nr\'; echo ${#arr[@]} ${arr[2]}'],
    want: { stdout: 'one|two three\n<x>\n<y>\n3 r\n', exitCode: 0 },
  },
  { title: 'reading stdin', args: ['-c', 'n=0; while read -r line; do n=$((n+1)); echo "$n: $line"; done; echo "total $n"'], stdin: 'l1\nl2\n', want: { stdout: '1: l1\n2: l2\ntotal 2\n' } },
  {
    title: 'arrays and associative arrays',
    args: ['-c', 'arr=(z y x); arr+=(w); echo ${#arr[@]} ${arr[1]} ${arr[-1]}; declare -A m=([k]=v [j]=u); echo ${m[k]}${m[j]}; printf "%s-" "${arr[@]}"; echo; unset "arr[0]"; echo "${arr[*]}"'],
    want: { stdout: '4 y w\nvu\nz-y-x-w-\ny x w\n' },
  },
  {
    title: 'redirections to and from files',
    args: ['-c', 'echo hi > out.txt; echo more >> out.txt; while read l; do echo "r:$l"; done < out.txt; exec 3< a.txt; read -r first <&3; exec 3<&-; echo "$first"'],
    want: { stdout: 'r:hi\nr:more\nbanana\n', files: tree({ 'out.txt': 'hi\nmore\n' }) },
  },
  { title: 'stderr and exit status', args: ['-c', 'echo out; echo err >&2; exit 5'], want: { stdout: 'out\n', stderr: 'err\n', exitCode: 5 } },
  { title: 'set -e', args: ['-c', 'set -e; echo before; false; echo not reached'], want: { stdout: 'before\n', exitCode: 1 } },
  {
    title: 'case, printf, defaults, extglob',
    args: ['-c', 'case foo in f*) echo matched;; *) echo no;; esac; printf "%x %5.2f %s\\n" 255 3.14159 str; echo ${UNSET:-default} ${TSL_A:+set}; shopt -s extglob; v=aaab; echo ${v##+(a)}'],
    want: { stdout: 'matched\nff  3.14 str\ndefault set\nb\n' },
  },
  { title: 'a syntax error', args: ['-c', 'if then fi'], want: { stdout: '', stderr: "bash: -c: line 1: syntax error near unexpected token `then'\nbash: -c: line 1: `if then fi'\n", exitCode: 2 } },
  { title: 'globbing in the working directory', args: ['-c', 'echo *.txt; echo sub/*; echo no*match'], want: { stdout: 'a.txt b.txt nums.txt\nsub/c.txt\nno*match\n' } },
];

// ---- running ---------------------------------------------------------------------------------------------------

function defineCases(arch: GuestArch, program: 'busybox' | 'bash', cases: readonly Case[]): void {
  const refName = arch === 'x86_64' ? 'native' : 'qemu-aarch64';
  for (const c of cases) {
    const test = (): void => {
      const spec = {
        arch,
        program: debianBin(arch, program),
        // busybox and bash print argv[0] in their messages: both runs use the same one.
        argv0: program,
        args: c.args,
        stdin: c.stdin,
        setup: (dir: string) => {
          populate(dir);
          c.setup?.(dir);
        },
      };
      const tsl = visible(runTslinux(spec));
      const ref = runReference(spec);
      if (ref) expect(tsl, `tslinux vs ${refName}`).toEqual(visible(ref));
      expect(tsl).toMatchObject(c.want);
      // Nothing but the case's own changes happened to the directory.
      if (!c.want.files) expect(tsl.files).toEqual(tree());
    };
    const title = `${c.title}: ${program} ${c.args.join(' ')}`.slice(0, 140);
    if (c.bug) {
      // Known emulator bug (see `bug`): this must fail until it is fixed; then drop `bug`.
      it.fails(`${title} [bug: ${c.bug}]`, test);
    } else it(title, test);
  }
}

for (const arch of ARCHES) {
  describe(sampledTitle(arch, `${arch} busybox`), () => defineCases(arch, 'busybox', sampled(arch, BUSYBOX)));
  describe(sampledTitle(arch, `${arch} bash`), () => defineCases(arch, 'bash', sampled(arch, BASH)));
}

// ---- a read-only mount (tslinux only: a native run has no such mount) -------------------------------------------

const EROFS = 'Read-only file system';

const READ_ONLY: Case[] = [
  { title: 'cat still works', args: ['cat', 'a.txt'], want: { stdout: A, stderr: '', exitCode: 0 } },
  { title: 'ls still works', args: ['ls', '-1'], want: { stdout: 'a.txt\nb.txt\nnums.txt\nsub\n', exitCode: 0 } },
  { title: 'mkdir', args: ['mkdir', 'd'], want: { stderr: `mkdir: can't create directory 'd': ${EROFS}\n`, exitCode: 1 } },
  { title: 'cp', args: ['cp', 'a.txt', 'copy.txt'], want: { stderr: `cp: can't create 'copy.txt': ${EROFS}\n`, exitCode: 1 } },
  { title: 'mv', args: ['mv', 'a.txt', 'moved.txt'], want: { stderr: `mv: can't rename 'a.txt': ${EROFS}\n`, exitCode: 1 } },
  { title: 'rm', args: ['rm', 'a.txt'], want: { stderr: `rm: can't remove 'a.txt': ${EROFS}\n`, exitCode: 1 } },
  { title: 'rm -r', args: ['rm', '-r', 'sub'], want: { stderr: `rm: can't remove 'sub/c.txt': ${EROFS}\n`, exitCode: 1 } }, // no rmdir after a failed child
  { title: 'tee', args: ['tee', 't.txt'], stdin: 'x\n', want: { stdout: 'x\n', stderr: `tee: t.txt: ${EROFS}\n`, exitCode: 1 } },
  { title: 'chmod', args: ['chmod', '600', 'a.txt'], want: { stderr: `chmod: a.txt: ${EROFS}\n`, exitCode: 1 } },
  { title: 'ln -s', args: ['ln', '-s', 'a.txt', 'link'], want: { stderr: `ln: link: ${EROFS}\n`, exitCode: 1 } },
  { title: 'touch', args: ['touch', 'new.txt'], want: { stderr: `touch: new.txt: ${EROFS}\n`, exitCode: 1 } },
];

for (const arch of ARCHES) {
  describe(`${arch} busybox in a read-only mount: writes fail with EROFS, nothing changes`, () => {
    for (const c of READ_ONLY) {
      const test = (): void => {
        const r = runTslinux({ arch, program: debianBin(arch, 'busybox'), argv0: 'busybox', args: c.args, stdin: c.stdin, setup: populate, readOnly: true });
        expect(visible(r)).toMatchObject({ stdout: '', ...c.want, files: tree() });
      };
      const title = `${c.title}: busybox ${c.args.join(' ')}`;
      if (c.bug) it.fails(`${title} [bug: ${c.bug}]`, test);
      else it(title, test);
    }
  });
}
