// The busybox applet and bash cases of test/e2e-applets.test.ts, and how a
// batch of them runs: shared with test/policy-e2e.test.ts, which runs the same
// batches under Docker's default seccomp profile. See e2e-applets for what a
// case is and how batches are compared.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GuestArch } from './e2e.ts';
import type { ShellOutcome } from './shell.ts';

// ---- input files (every case directory starts with these) ------------------------------------------------------

const FIXED = new Date('2021-02-03T04:05:06Z');

/** Small archives made by tools busybox can only unpack (xz, lzma, zip, ar), as base64. */
const XZ = '/Td6WFoAAATm1rRGAgAhARYAAAB0L+WjAQAMcGFja2VkIGJ5IHh6CgAAAADfMTtKD7BhcwABJQ1xGcS2H7bzfQEAAAAABFla'; // "packed by xz\n"
const LZMA = 'XQAAgAD//////////wA4GEiZzVwcJQXkPJJ3+m06a984f//qIgAA'; // "packed by lzma\n"
const ZIP =
  'UEsDBAoAAAAAAAA5plDtsHJUCwAAAAsAAAAHAAAAb25lLnR4dHppcHBlZCBvbmUKUEsDBAoAAAAAAAA5plAAAAAAAAAAAAAAAAACAAAAZC9QSwMECgAAAAAAADmmUAYQcjoLAAAACwAAAAkAAABkL3R3by50eHR6aXBwZWQgdHdvClBLAQIeAwoAAAAAAAA5plDtsHJUCwAAAAsAAAAHAAAAAAAAAAEAAACkgQAAAABvbmUudHh0UEsBAh4DCgAAAAAAADmmUAAAAAAAAAAAAAAAAAIAAAAAAAAAAAAQAO1BMAAAAGQvUEsBAh4DCgAAAAAAADmmUAYQcjoLAAAACwAAAAkAAAAAAAAAAQAAAKSBUAAAAGQvdHdvLnR4dFBLBQYAAAAAAwADAJwAAACCAAAAAAA=';
const AR =
  'ITxhcmNoPgptYS8gICAgICAgICAgICAgMCAgICAgICAgICAgMCAgICAgMCAgICAgNjQ0ICAgICA5ICAgICAgICAgYAptZW1iZXIgYQoKbWIvICAgICAgICAgICAgIDAgICAgICAgICAgIDAgICAgIDAgICAgIDY0NCAgICAgMTAgICAgICAgIGAKbWVtYmVyIGJiCg==';

const INPUT: Record<string, string | Buffer> = {
  'a.txt': 'banana\napple\ncherry\napple pie\nDate\n',
  'b.txt': 'one two three\nfour five six\nseven eight nine\n',
  'nums.txt': '10\n9\n100\n-3\n9\n',
  'words.txt': 'the quick brown fox\njumps over\tthe lazy dog\n\nthe end\n',
  'bin.dat': Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  'sub/c.txt': 'in a subdirectory\n',
  'sub/deep/d.txt': 'deeper\n',
  'packed.xz': Buffer.from(XZ, 'base64'),
  'packed.lzma': Buffer.from(LZMA, 'base64'),
  'packed.zip': Buffer.from(ZIP, 'base64'),
  'packed.a': Buffer.from(AR, 'base64'),
};

/** Fill `dir` with the input files, every file and directory dated FIXED. */
function populate(dir: string): void {
  const dirs = new Set<string>([dir]);
  for (const [rel, content] of Object.entries(INPUT)) {
    const p = path.join(dir, rel);
    for (let d = path.dirname(p); d.startsWith(dir); d = path.dirname(d)) dirs.add(d);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    fs.utimesSync(p, FIXED, FIXED);
  }
  // Deepest first: dating a directory's child changes nothing about the directory, but creating one does.
  for (const d of [...dirs].sort((x, y) => y.length - x.length)) fs.utimesSync(d, FIXED, FIXED);
}

// ---- cases -----------------------------------------------------------------------------------------------------

export interface AppletCase {
  /** The applet the case is about (several cases may share one; the distinct ones are counted). */
  applet: string;
  /** Shell code, run in a subshell in the case's own directory with stdin from /dev/null. */
  cmd: string;
  /** A known emulator bug makes this case fail: it runs as it.fails and is listed in the report. */
  bug?: string;
  /** Run on this arch only (the other's reference cannot show what the case checks). */
  only?: GuestArch;
}

const T = "touch -d '2020-01-02 03:04:05'"; // a fixed time for files a case creates

/** Shell code that makes `names` run busybox through PATH (./bin), for applets that exec other programs by name. */
const ON_PATH = (...names: string[]): string =>
  `mkdir bin; for n in ${names.join(' ')}; do ln -s "$(readlink "$(which ls)")" bin/$n; done; PATH=$PWD/bin:$PATH`;

export const BUSYBOX: AppletCase[] = [
  // ---- text tools ----------------------------------------------------------------------------------------------
  { applet: 'cat', cmd: 'cat -n a.txt sub/c.txt; cat -v bin.dat | head -c 80; echo; cat missing; echo "rc=$?"' },
  { applet: 'tac', cmd: 'tac a.txt nums.txt' },
  { applet: 'rev', cmd: 'rev b.txt' },
  { applet: 'head', cmd: 'head -n 2 a.txt b.txt; head -c 5 words.txt; echo; head -n -3 a.txt' },
  { applet: 'tail', cmd: 'tail -n 1 a.txt b.txt; tail -c 4 a.txt; tail -n +4 a.txt' },
  { applet: 'wc', cmd: 'wc a.txt b.txt words.txt; wc -L words.txt; wc -c < bin.dat' },
  { applet: 'sort', cmd: "sort -k2 b.txt; sort -t' ' -k3,3r b.txt; sort -n -u nums.txt; sort -f a.txt; sort -c a.txt; echo \"rc=$?\"" },
  { applet: 'uniq', cmd: "sort a.txt nums.txt | uniq -c; printf 'a\\na\\nb\\nc\\nc\\n' | uniq -d; printf 'x\\nX\\n' | uniq -i" },
  { applet: 'cut', cmd: "cut -d' ' -f1,3 b.txt; cut -c 2-4 a.txt; cut -d' ' -f2- -s b.txt words.txt" },
  { applet: 'paste', cmd: 'paste a.txt nums.txt; paste -s -d, nums.txt; paste -d: - - < a.txt' },
  { applet: 'tr', cmd: "tr a-z A-Z < a.txt; echo hello | tr -c 'a-z\\n' _; echo 'a  b   c' | tr -s ' '; echo hello | tr -d l; echo abc | tr '[:lower:]' '[:upper:]'" },
  { applet: 'sed', cmd: "sed -n '/apple/{=;p}' a.txt; sed '1~2d' a.txt; sed -e 's/\\(o\\)n/[\\1]/g' -e '$a\\\nlast' b.txt; sed -i.bak 's/a/A/2' a.txt; cat a.txt a.txt.bak | md5sum" },
  {
    applet: 'awk',
    cmd: "awk '{n+=NF; s=s $1} END {print n, s, NR}' b.txt; awk -F'\\t' 'NF>1{print $2}' words.txt; awk 'BEGIN{printf \"%5.2f|%s|%d\\n\", 3.14159, toupper(\"x\"), 7/2; split(\"a:b:c\", p, \":\"); print p[3], length(\"four\"), substr(\"hello\", 2, 3), index(\"abc\", \"c\")}'; awk '{c[$1]++} END {print c[\"apple\"], length(c)}' a.txt; awk 'FNR==1 {print FILENAME} END {print NR}' a.txt b.txt; awk 'NR==2 {exit 3}'  a.txt; echo \"rc=$?\"",
  },
  { applet: 'grep', cmd: "grep -c apple a.txt; grep -o 'e[a-z]' b.txt; grep -w -n pie a.txt; grep -l sub -r .; grep -A1 -B1 cherry a.txt; grep -q zzz a.txt; echo \"rc=$?\"; grep x missing; echo \"rc=$?\"" },
  { applet: 'egrep', cmd: "egrep 'ba|ch' a.txt; egrep -v '^(a|b)' a.txt" },
  { applet: 'fgrep', cmd: 'fgrep -x apple a.txt; fgrep -i -e DATE -e pie a.txt' },
  { applet: 'nl', cmd: 'nl b.txt; nl -b a -w 3 -s: words.txt' },
  { applet: 'fold', cmd: 'fold -w 5 b.txt; fold -s -w 10 words.txt' },
  { applet: 'expand', cmd: "printf 'a\\tb\\tc\\n\\tx\\n' | expand -t 4; expand words.txt" },
  { applet: 'unexpand', cmd: "printf 'a       b\\n        c\\n' | unexpand -a | od -c" },
  { applet: 'strings', cmd: 'strings bin.dat; strings -n 8 -o packed.zip' },
  { applet: 'od', cmd: 'od -A x -t x1z -v bin.dat | head -5; od -c a.txt; od -An -t d2 -N 8 bin.dat; od -b -j 250 bin.dat' },
  { applet: 'hexdump', cmd: 'hexdump -C bin.dat | tail -3; hexdump -n 16 -e \'16/1 "%02x" "\\n"\' bin.dat; hexdump -c a.txt' },
  { applet: 'xxd', cmd: 'xxd -l 40 bin.dat; xxd -p a.txt; xxd -p a.txt | xxd -r -p; xxd -i -l 6 a.txt' },
  { applet: 'base64', cmd: 'base64 bin.dat | head -3; base64 a.txt | base64 -d; echo aGVsbG8= | base64 -d; echo; echo "!!" | base64 -d; echo "rc=$?"' },
  { applet: 'uuencode', cmd: 'uuencode a.txt a.txt; uuencode -m b.txt x' },
  { applet: 'uudecode', cmd: 'uuencode a.txt out.txt > a.uu; uudecode a.uu; cmp a.txt out.txt && stat -c "%a %s" out.txt; uudecode -o - a.uu | tail -1' },
  { applet: 'unix2dos', cmd: 'unix2dos a.txt; od -c a.txt | head -2; unix2dos < b.txt | od -c | tail -2' },
  { applet: 'dos2unix', cmd: "printf 'a\\r\\nb\\r\\n' > d.txt; dos2unix d.txt; od -c d.txt; unix2dos -u < a.txt | dos2unix | cmp - a.txt && echo same" },
  { applet: 'printf', cmd: "printf '%5s|%-5d|%x|%o|%e|%c|%%|%b\\n' ab 42 255 8 1234.5 xyz 'a\\tb'; printf '%s\\n' one two three; printf '%d\\n' notanumber; echo \"rc=$?\"" },
  { applet: 'echo', cmd: "echo -e 'a\\tb\\101\\0102'; echo -n no-newline; echo; echo -- -n" },
  { applet: 'seq', cmd: 'seq -w 1 3 11; seq -s: 5; seq 1.5 0.5 3; seq 5 1' },
  { applet: 'yes', cmd: 'yes | head -2; yes hi there | head -3' },
  { applet: 'factor', cmd: 'factor 360 1001 97 4294967297 1' },
  { applet: 'expr', cmd: "expr 7 \\* 6; expr length hello; expr abc : 'a\\(.\\)'; expr 10 / 3 + 1; expr 1 = 2; echo \"rc=$?\"; expr 1 / 0; echo \"rc=$?\"" },
  { applet: 'test', cmd: 'test -f a.txt && test ! -d a.txt; echo $?; test 3 -gt 4; echo $?; test -z ""; echo $?; test a.txt -nt missing; echo $?; test -e missing; echo $?' },
  { applet: '[', cmd: '[ -s sub/c.txt ]; echo $?; [ -d sub -a -r a.txt ]; echo $?; [ abc \\< abd ]; echo $?; [ 1 -eq ]; echo $?' },
  { applet: '[[', cmd: '[[ abc == a* ]]; echo $?; [[ -e missing || -L a.txt ]]; echo $?; [[ 10 -lt 9 ]]; echo $?' },
  { applet: 'bc', cmd: "echo 'scale=5; 4*a(1)' | bc -l; echo '2^100' | bc; echo 'obase=16; 255' | bc; echo '1/0' | bc; echo \"rc=$?\"" },
  { applet: 'dc', cmd: "echo '2 3 + 4 * p' | dc; dc -e '16 o 255 p'; echo '10 3 / p' | dc" },
  { applet: 'tee', cmd: 'echo x | tee -a a.txt t2 > /dev/null; tail -n 2 a.txt; cat t2; echo y | tee /nonexistent/f; echo "rc=$?"' },
  { applet: 'getopt', cmd: "getopt -o ab:c -- -a -b x -c foo; getopt -o a -l long: -- --long=v -a bar; getopt -o a -- -z; echo \"rc=$?\"" },
  { applet: 'basename', cmd: 'basename /a/b/c.txt .txt; basename /a/b/; basename -s .txt x.txt' },
  { applet: 'dirname', cmd: 'dirname /a/b/c.txt; dirname a; dirname /' },
  { applet: 'cal', cmd: 'cal 2 2024; cal -y 2021 | head -9' },
  { applet: 'date', cmd: "date -d @1234567890 '+%F %T %a %j %s'; date -r a.txt; date -d '2020-02-29 12:00' +%u; date -d nonsense; echo \"rc=$?\"" },
  { applet: 'mkpasswd', cmd: 'mkpasswd -m sha512 secret saltsalt; mkpasswd -m md5 secret saltsalt' },
  { applet: 'ipcalc', cmd: 'ipcalc -n -b -m -p 192.168.1.77/20; ipcalc 10.0.0.300; echo "rc=$?"' },
  { applet: 'md5sum', cmd: 'md5sum a.txt b.txt > sums; cat sums; md5sum -c sums; echo x >> b.txt; md5sum -c sums; echo "rc=$?"' },
  { applet: 'sha1sum', cmd: 'sha1sum a.txt bin.dat; echo -n | sha1sum' },
  { applet: 'sha256sum', cmd: 'sha256sum a.txt bin.dat; sha256sum < b.txt' },
  { applet: 'sha512sum', cmd: 'sha512sum a.txt bin.dat' },
  { applet: 'sha3sum', cmd: 'sha3sum a.txt; sha3sum -a 512 bin.dat' },
  { applet: 'crc32', cmd: 'crc32 a.txt bin.dat' },
  { applet: 'shuf', cmd: 'shuf -i 1-20 | sort -n | md5sum; shuf a.txt | wc -l; shuf -n 2 -e x x x' },
  { applet: 'more', cmd: 'more a.txt' },
  { applet: 'clear', cmd: 'clear | od -c' },
  { applet: 'ascii', cmd: 'ascii | md5sum' },
  { applet: 'ed', cmd: "printf '2d\\n$a\\nadded\\n.\\nw\\nq\\n' | ed a.txt; cat a.txt" },

  // ---- files and directories -----------------------------------------------------------------------------------
  { applet: 'ls', cmd: `${T} a.txt b.txt sub; ls -l a.txt b.txt sub; ls -ln bin.dat; ls -1 -t; ls -1S; ls -R sub; ls -ld .; ls -F sub; ls missing; echo "rc=$?"` },
  { applet: 'ls', cmd: `ln -s a.txt lnk; mkdir e; ${T} -h lnk; ${T} e; ls -l lnk e; ls -la e | sed -n 2p; ls -lL lnk; ls -le a.txt; ls -1p --color=never` },
  { applet: 'stat', cmd: "stat -c '%n %s %a %A %F %h %U %G %u %g %y %Y' a.txt sub bin.dat; ln -s a.txt l; stat -c '%N %F %s' l; stat -L -c %s l; stat -t a.txt | cut -d' ' -f2,3,4; stat missing; echo \"rc=$?\"" },
  { applet: 'stat', cmd: "stat a.txt | grep -v -e Inode -e Change -e Device; stat -f -c '%T %S %l' ." },
  { applet: 'touch', cmd: `touch -d '2001-02-03 04:05:06' x; stat -c %y x; touch -r a.txt y; stat -c %Y y; touch -c -d @0 a.txt nothing; stat -c %Y a.txt; ls nothing; touch -t 202203041506.07 z; stat -c %y z` },
  { applet: 'find', cmd: "find . -name '*.txt' | sort; find . -type d | sort; find sub -exec cat {} \\; | sort; find . -size -20c -type f | sort; find . -maxdepth 1 -name 'p*' | sort" },
  { applet: 'find', cmd: "touch -d '2030-01-01' new; find . -newer a.txt; find . -mtime -1 | sort; find . -path ./sub -prune -o -name '*.txt' -print | sort; find . -name c.txt -print0 | od -c; find missing; echo \"rc=$?\"" },
  { applet: 'xargs', cmd: "printf 'a b\\nc\\n' | xargs -n 1 echo x; find . -name '*.txt' -print0 | sort -z | xargs -0 wc -l; echo one two | xargs -I{} echo [{}]; echo | xargs -r echo nothing" },
  { applet: 'cp', cmd: 'cp a.txt c1; cp -r sub s2; cp b.txt a.txt sub; ls -R s2 sub; cp missing x; echo "rc=$?"; cp sub x; echo "rc=$?"' },
  { applet: 'cp', cmd: `${T} a.txt; chmod 640 a.txt; cp -p a.txt p1; stat -c '%a %y' p1; ln -s a.txt l; cp -P l l2; readlink l2; cp -L l l3; stat -c %F l3` },
  { applet: 'cp', cmd: `${T} a.txt sub sub/c.txt; ln -s a.txt l; ${T} -h l; chmod 600 sub/c.txt; mkdir d; cp -a sub a.txt l d; ls -lR d | grep -v '^total' | sed 's/^\\(l.*\\) [A-Z][a-z][a-z] .* l -> /\\1 (time) l -> /'; cp -a sub/. d2; ls -l d2 | grep -v '^total'` },
  { applet: 'chown', cmd: 'chown 123:456 a.txt; stat -c "%u %g" a.txt; chown -R 7 sub; stat -c "%u %g %n" sub sub/c.txt sub/deep/d.txt; ln -s b.txt l; chown -h 9:9 l; stat -c "%u %g %n" l b.txt; ls -ln a.txt; chown nosuchuser a.txt; echo "rc=$?"; chown 1 missing; echo "rc=$?"' },
  { applet: 'chgrp', cmd: 'chgrp 5 a.txt; stat -c %g a.txt; chgrp -R 6 sub; stat -c "%g %n" sub/deep/d.txt; chgrp nosuchgroup a.txt; echo "rc=$?"' },
  { applet: 'mv', cmd: 'mv a.txt sub/; mv sub s; ls -R s; mv b.txt nums.txt s/deep; ls s/deep; mv missing x; echo "rc=$?"' },
  { applet: 'rm', cmd: 'rm -r sub; rm a.txt b.txt; ls; rm -f missing; echo "rc=$?"; rm missing; echo "rc=$?"; rm -d packed.a; mkdir e; rm -d e; ls -d e' },
  { applet: 'ln', cmd: 'ln -s a.txt l1; ln a.txt h1; ln -sf b.txt l1; readlink l1; stat -c "%h %s" a.txt h1; ln -s /no/where dangling; cat dangling; echo "rc=$?"; ln a.txt h1; echo "rc=$?"; ln -sn sub ls2; ls ls2' },
  { applet: 'link', cmd: 'link a.txt h; stat -c %h a.txt; link missing h2; echo "rc=$?"' },
  { applet: 'unlink', cmd: 'link a.txt h; unlink a.txt; cat h | head -1; unlink sub; echo "rc=$?"' },
  { applet: 'readlink', cmd: 'ln -s sub/c.txt l; ln -s l l2; readlink l2; readlink -f l2; readlink -f sub/../sub/deep/./d.txt; readlink a.txt; echo "rc=$?"; readlink -f missing/x; echo "rc=$?"' },
  { applet: 'realpath', cmd: 'ln -s sub s; realpath s/../a.txt s/deep; realpath missing; echo "rc=$?"' },
  { applet: 'mkdir', cmd: 'mkdir -p x/y/z; mkdir -m 700 p; stat -c "%a %F" p x/y/z; mkdir x; echo "rc=$?"; mkdir -p x/y; echo "rc=$?"; mkdir a.txt/q; echo "rc=$?"' },
  { applet: 'rmdir', cmd: 'mkdir -p x/y/z; rmdir -p x/y/z; ls -d x; rmdir sub; echo "rc=$?"; rmdir a.txt; echo "rc=$?"' },
  { applet: 'chmod', cmd: 'chmod 600 a.txt; chmod u+x,g-r,o= b.txt; chmod -R go-rx sub; stat -c "%a %A %n" a.txt b.txt sub sub/c.txt sub/deep; chmod 4755 nums.txt; stat -c %A nums.txt; chmod 777 missing; echo "rc=$?"' },
  { applet: 'mktemp', cmd: 'f=$(mktemp -p . tmp.XXXXXX); echo "${#f} $(stat -c "%a %F" "$f")"; d=$(mktemp -d -p . d.XXXX); echo "${#d} $(stat -c "%a %F" "$d")"; f=$(mktemp -u -p /tmp); echo "${f%.*} $(ls "$f" 2>&1 >/dev/null | grep -c "No such")"' },
  { applet: 'du', cmd: 'du -s sub; du -a sub | sort -k2; du -k a.txt bin.dat; du -c a.txt b.txt | tail -1; du -sh sub' },
  // df: the used and free counts change between two runs and the mount point is the guest's (here $DIR for tslinux, a host mount point natively): print the header and the number of fields.
  { applet: 'df', cmd: "df -P . | head -1; df -P . | awk 'NR==2 {print NF, ($2 > 0), ($4 >= 0)}'; df -k missing; echo \"rc=$?\"" },
  { applet: 'dd', cmd: 'dd if=bin.dat of=out bs=16 count=4 skip=2 status=noxfer; od -An -tx1 out | head -1; dd if=/dev/zero bs=1k count=3 2>/dev/null | wc -c; dd if=a.txt bs=1 skip=7 count=5 2>/dev/null; echo; dd if=a.txt of=b.txt conv=notrunc seek=1 bs=4 count=1 2>&1; cat b.txt; dd if=missing 2>&1; echo "rc=$?"' },
  { applet: 'truncate', cmd: 'truncate -s 10 a.txt; wc -c a.txt; truncate -s +5 a.txt; stat -c %s a.txt; truncate -s 0 b.txt; stat -c %s b.txt; truncate -c -s 5 missing; ls missing; echo "rc=$?"; truncate -s 3 new; od -c new' },
  { applet: 'fallocate', cmd: 'fallocate -l 8192 f; stat -c %s f; fallocate -o 100 -l 1000 a.txt; stat -c %s a.txt' },
  { applet: 'split', cmd: 'split -l 2 a.txt part_; ls part_*; cat part_ab; split -b 10 b.txt; ls x*; cat xac; split -a 3 -l 1 nums.txt n; ls n*' },
  { applet: 'cmp', cmd: 'cmp a.txt a.txt; echo "rc=$?"; cmp a.txt b.txt; echo "rc=$?"; cmp -l a.txt b.txt | head -3; cmp -s a.txt b.txt; echo "rc=$?"; cmp a.txt missing; echo "rc=$?"' },
  { applet: 'diff', cmd: `sed 's/apple/APPLE/; 3d' a.txt > a2.txt; ${T} a2.txt; diff a.txt a2.txt; echo "rc=$?"; diff -u a.txt a2.txt; diff -r sub sub; echo "rc=$?"; diff a.txt missing; echo "rc=$?"` },
  { applet: 'patch', cmd: `sed 's/apple/APPLE/; 3d' a.txt > a2.txt; ${T} a2.txt; diff -u a.txt a2.txt > p.diff; patch < p.diff; cmp a.txt a2.txt && echo patched; patch -R a.txt p.diff; md5sum a.txt; patch -p0 --dry-run < p.diff` },
  { applet: 'sync', cmd: 'sync; echo "rc=$?"; sync -f a.txt; echo "rc=$?"' },
  { applet: 'mkfifo', cmd: 'mkfifo p; stat -c "%F %a" p; (echo through > p &); cat p; mkfifo p; echo "rc=$?"' },
  { applet: 'shred', cmd: 'shred -n 1 -z a.txt; od -An -c a.txt | head -2; shred -u b.txt; ls b.txt; echo "rc=$?"' },
  { applet: 'pwd', cmd: 'cd sub/deep && pwd && cd .. && pwd; cd .. && ln -s sub s && cd s && pwd && pwd -P; cd ..; mkdir gone && cd gone && rmdir ../gone && pwd; pwd -P; echo "rc=$?"' },
  { applet: 'run-parts', cmd: "mkdir rp; printf '#!/bin/sh\\n' > rp/10-a; printf '' > rp/20.bak; cp rp/10-a rp/30_b; chmod +x rp/10-a rp/20.bak; run-parts --test rp" },

  // ---- archives and compression --------------------------------------------------------------------------------
    // (busybox tar leaves extracted directories dated now: only the files' lines of ls -l are compared.)
  { applet: 'tar', cmd: 'tar cf t.tar a.txt sub; tar tvf t.tar; mkdir x; tar xf t.tar -C x; ls -lR x | grep -v "^d"; md5sum t.tar; tar xf missing.tar; echo "rc=$?"' },
  // tar -z and -j run gzip and bzip2 from PATH (not as applets): put busybox there under those names.
  { applet: 'tar', cmd: `${ON_PATH('gzip', 'bzip2')}; tar czf t.tgz sub b.txt; tar tzf t.tgz; tar xzOf t.tgz b.txt; tar cjf t.tbz sub; tar tjvf t.tbz; gzip -dc t.tgz | md5sum` },
  {
    applet: 'tar',
    // No gzip on PATH: tar's vfork child stores execlp's errno in the memory it shares with the parent.
    // qemu-user runs vfork as a fork: on aarch64 the reference races, so x86_64 only.
    only: 'x86_64',
    cmd: 'tar czf t.tgz sub; echo "rc=$?"',
  },
  { applet: 'cpio', cmd: 'find sub a.txt | sort | cpio -o -H newc > a.cpio; cpio -t < a.cpio; mkdir x; cd x && cpio -id < ../a.cpio && ls -R && cat a.txt | head -1; cpio -tv < ../a.cpio | head -2' },
  { applet: 'gzip', cmd: 'gzip -k a.txt; ls a.txt*; md5sum a.txt.gz; gzip -9 -c b.txt | gzip -d | head -1; gzip -l a.txt.gz; gzip b.txt; ls b.txt*; gzip -t b.txt.gz; echo "rc=$?"; gzip missing; echo "rc=$?"' },
  { applet: 'gunzip', cmd: 'gzip -c bin.dat > bin.gz; gunzip bin.gz; ls bin*; cmp bin bin.dat && echo same; echo junk > j.gz; gunzip j.gz; echo "rc=$?"' },
  { applet: 'zcat', cmd: 'gzip a.txt b.txt; zcat a.txt.gz b.txt.gz | wc -l' },
  { applet: 'bzip2', cmd: 'bzip2 -k a.txt; md5sum a.txt.bz2; bzip2 -c bin.dat | bzip2 -d | md5sum; bzip2 b.txt; ls b.txt*' },
  { applet: 'bunzip2', cmd: 'bzip2 bin.dat; bunzip2 bin.dat.bz2; md5sum bin.dat; echo junk > j.bz2; bunzip2 j.bz2; echo "rc=$?"' },
  { applet: 'bzcat', cmd: 'bzip2 a.txt; bzcat a.txt.bz2' },
  { applet: 'xz', cmd: 'xz -d -k packed.xz; cat packed; xz -dc packed.xz; xz -t packed.xz; echo "rc=$?"' },
  { applet: 'unxz', cmd: 'unxz packed.xz; cat packed; ls packed*' },
  { applet: 'xzcat', cmd: 'xzcat packed.xz; xzcat a.txt; echo "rc=$?"' },
  { applet: 'unlzma', cmd: 'unlzma packed.lzma; cat packed' },
  { applet: 'lzcat', cmd: 'lzcat packed.lzma' },
  { applet: 'lzma', cmd: 'lzma -dc packed.lzma' },
  { applet: 'lzop', cmd: 'lzop a.txt; ls a.txt*; lzop -dc a.txt.lzo | md5sum; lzop -t a.txt.lzo; echo "rc=$?"; lzop -l a.txt.lzo | tail -1' },
  { applet: 'unzip', cmd: 'unzip -l packed.zip; unzip -q packed.zip; cat one.txt d/two.txt; stat -c "%s %n" one.txt d/two.txt; unzip -p packed.zip one.txt' },
  { applet: 'ar', cmd: 'ar t packed.a; ar tv packed.a; ar x packed.a mb; cat mb; ar p packed.a ma' },

  // ---- processes, identity, system -----------------------------------------------------------------------------
    // (not plain `id`: its groups= part shows getgroups, which tslinux fills with the primary group, "like a fresh login",
  // where the reference process may have none; see Process.groups.)
  { applet: 'id', cmd: 'id -u; id -g; id -un; id -gn; id -u root; id nosuchuser; echo "rc=$?"' },
  { applet: 'whoami', cmd: 'whoami' },
  { applet: 'groups', cmd: 'groups' },
  { applet: 'logname', cmd: 'logname; echo "rc=$?"' },
  { applet: 'uname', cmd: 'uname -s; uname -o; uname -m; uname -p' },
  { applet: 'arch', cmd: 'arch' },
  // (sorted: qemu-user passes the environment of an exec in reverse order)
  { applet: 'env', cmd: 'env -i A=1 B=2 env | sort; env -u PATH -i C=3 env; env -i X=y sh -c "echo \\$X"; env missing-command; echo "rc=$?"' },
  { applet: 'true', cmd: 'true; echo $?; true --help; echo $?' },
  { applet: 'false', cmd: 'false; echo $?' },
  { applet: 'sleep', cmd: 'sleep 0.01; echo $?; sleep 0 0; echo $?; sleep x; echo $?' },
  { applet: 'usleep', cmd: 'usleep 1000; echo $?' },
  { applet: 'timeout', cmd: 'timeout 5 true; echo $?; timeout 5 sh -c "exit 7"; echo $?; timeout -s KILL 0.2 sleep 5; echo $?' },
  // wait's "Terminated" is racy natively: ash prints it only when the child is reaped inside `wait`, not when its
  // SIGCHLD came first and ash reaped it between commands (seen once in a loaded native run; forced with a
  // command between kill and wait, it never prints). The status, 143, is the same either way.
  { applet: 'kill', cmd: 'kill -l 9; kill -l TERM; kill -l | head -3; sleep 5 & kill $!; wait $! 2>/dev/null; echo $?; kill -9 999999; echo "rc=$?"' },
  { applet: 'tty', cmd: 'tty; echo "rc=$?"; tty -s; echo "rc=$?"' },
  { applet: 'stty', cmd: 'stty -a; echo "rc=$?"' },
  { applet: 'which', cmd: 'which ls cat; which no-such-command; echo "rc=$?"' },
  { applet: 'ionice', cmd: 'ionice -p $$; ionice -c 2 -n 3 ionice -p 0; ionice -c 3 ionice; ionice -c 2 -p 999999; echo "rc=$?"' },
  { applet: 'setsid', cmd: 'setsid true; echo $?; setsid sh -c "exit 4"; echo $?' },
  { applet: 'sh', cmd: 'sh -c \'echo $((3+4)) $#\' a b; sh -c "exit 9"; echo $?; x=$(sh -c "echo in-sub"); echo "$x"; echo \'for i in 1 2; do echo $i; done\' | sh' },
  { applet: 'ash', cmd: "ash -c 'f() { echo \"f:$1\"; }; f x; echo ${#PWD} > /dev/null; printf \"%s\\n\" \"${HOME-unset}\"'" },
];

/** bash -c scripts; they run external commands from the layout's bin directory (see test/helpers/shell.ts). */
export const BASH: AppletCase[] = [
  { applet: 'bash arithmetic', cmd: 'echo $(( (17 % 5) ** 3 )) $(( 0x10 + 010 )) $(( -7 / 2 )) $(( 1 << 40 )); let x=5*5; (( x > 20 )) && echo "x=$x"; echo $(( 1 / 0 )); echo "rc=$?"' },
  { applet: 'bash arrays', cmd: 'arr=(z y x); arr+=(w); echo ${#arr[@]} ${arr[1]} ${arr[-1]} "${arr[@]:1:2}"; declare -A m=([k]=v [j]=u); echo ${m[k]}${m[j]} ${!m[@]} | tr " " "\\n" | sort | tr "\\n" " "; echo; mapfile -t lines < a.txt; echo ${#lines[@]} "${lines[3]}"' },
  { applet: 'bash here-docs', cmd: "cat <<EOF\nhome: ${PWD##*/}\n$(( 2 + 2 ))\nEOF\ncat <<'EOF' | wc -c\nliteral $x `y`\nEOF\nwhile read -r a b; do echo \"$b-$a\"; done <<< 'one two'" },
  { applet: 'bash command substitution', cmd: 'x=$(sort a.txt | head -n 1); echo "[$x]"; n=$(wc -l < b.txt); echo $((n * 2)); echo "$(echo "$(echo nested)")"; echo `echo backticks`; y=$(exit 3); echo "rc=$?"' },
  { applet: 'bash pipes', cmd: 'cat a.txt | sort | uniq | wc -l; set -o pipefail; false | true; echo "rc=$?"; seq 1 5 | while read i; do echo -n "$i,"; done; echo; echo abc | tr a-z A-Z | cat -n; echo "${PIPESTATUS[@]}"' },
  { applet: 'bash process substitution', cmd: 'cat <(sort a.txt) <(sort -r nums.txt) | md5sum; while read -r l; do echo "<$l>"; done < <(head -n 2 b.txt)' },
  { applet: 'bash files', cmd: 'for f in *.txt; do echo "$f $(wc -c < "$f")"; done; [[ -d sub && -f sub/c.txt ]] && echo ok; echo hi > out; echo more >> out; cat out; exec 3< a.txt; read -r first <&3; exec 3<&-; echo "$first"' },
  { applet: 'bash subshells and traps', cmd: '(cd sub && pwd | sed "s|.*/||"); pwd | sed "s|.*/||"; trap "echo bye" EXIT; f() { return 5; }; f; echo "rc=$?"; (exit 6); echo "rc=$?"' },
];

// ---- running a batch -------------------------------------------------------------------------------------------

/** Cases per guest process: small enough that one failure does not hide many, large enough to save start-ups. */
export const BATCH = 20;

const MARK = '@@@tsl-case';

/** One batch as a shell script: each case in a subshell in its own directory, between markers on both streams. */
export function batchScript(cases: readonly AppletCase[]): string {
  const parts = ['export TZ=UTC', 'W=$PWD'];
  cases.forEach((c, i) => {
    parts.push(
      `echo '${MARK} ${i} {'; echo '${MARK} ${i} {' >&2`,
      `( cd "$W/${i}" || exit 99\n${c.cmd}\n) </dev/null`,
      `echo "${MARK} ${i} } $?"; echo '${MARK} ${i} }' >&2`,
    );
  });
  return parts.join('\n') + '\n';
}

export function batchSetup(cases: readonly AppletCase[]): (dir: string) => void {
  return (dir) => cases.forEach((_, i) => populate(path.join(dir, String(i))));
}

export interface CaseOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Cut one case's output out of a batch's streams; null when the batch did not get as far as the case. */
export function cutCase(run: ShellOutcome, i: number): CaseOutcome | null {
  const between = (s: string, endPattern: RegExp): { text: string; end: RegExpExecArray } | null => {
    const begin = `${MARK} ${i} {\n`;
    const at = s.indexOf(begin);
    if (at < 0) return null;
    const rest = s.slice(at + begin.length);
    const end = endPattern.exec(rest);
    return end ? { text: rest.slice(0, end.index), end } : null;
  };
  const out = between(run.stdout, new RegExp(`${MARK} ${i} \\} (\\d+)\\n`));
  const err = between(run.stderr, new RegExp(`${MARK} ${i} \\}\\n`));
  if (!out || !err) return null;
  return { stdout: out.text, stderr: err.text, exitCode: Number(out.end[1]) };
}

/**
 * When the reference ran on the other arch (no binfmt_misc for aarch64), its output names that arch where the guest's
 * names its own (uname -m, arch): the only difference allowed between the two.
 */
export function archNames(o: CaseOutcome, from: GuestArch, to: GuestArch): CaseOutcome {
  if (from === to) return o;
  const swap = (s: string): string => s.split(from).join(to);
  return { ...o, stdout: swap(o.stdout), stderr: swap(o.stderr) };
}

