// End to end with Debian's mksh, two static builds of it on both arches:
// the dietlibc one (/usr/lib/diet/bin/mksh, which on x86-64 reads its
// clock through the vDSO and died at start without one) and the klibc one
// (/bin/mksh-static). Each script runs under tslinux and on the reference
// (native x86-64; aarch64 through binfmt_misc, or the x86-64 run: see
// test/helpers/shell.ts), and must give the same stdout, stderr and exit
// code, and the output the case names.
import { describe, expect, it } from 'vitest';
import { sampled, sampledTitle } from './helpers/tools.ts';
import { ARCHES, type GuestArch } from './helpers/e2e.ts';
import { runShellReference, runShellTslinux, type Shell, type ShellRun } from './helpers/shell.ts';

interface MkshCase extends ShellRun {
  title: string;
  stdout: string;
  exitCode?: number;
}

const lines = (...l: (string | number)[]): string => l.map((x) => `${x}\n`).join('');

const CASES: MkshCase[] = [
  { title: 'arithmetic and string lengths', script: 'x=abcdef; print $((6 * 7)) ${#x} $((1 << 20))', stdout: lines('42 6 1048576') },
  {
    title: 'arrays, typeset and a for loop',
    script: 'set -A a one two three; typeset -i n=0; for w in "${a[@]}"; do n=n+${#w}; done; print ${#a[*]} $n ${a[1]}',
    stdout: lines('3 11 two'),
  },
  {
    title: 'functions, local variables, return codes and [[ ]]',
    script: 'f() { typeset v=$1; [[ $v == a* ]] && return 3; return 0; }; f abc; print $?; f xyz; print $?',
    stdout: lines(3, 0),
  },
  {
    title: 'a here-document read line by line',
    script: 'n=0; while read -r l; do n=$((n+1)); print -r -- "$n:$l"; done <<EOF\nfirst\n  second\nthird\nEOF',
    stdout: lines('1:first', '2:second', '3:third'),
  },
  { title: 'a read loop over stdin (a file)', script: 'n=0; while read -r l; do n=$((n+l)); done; print $n', stdin: lines(...Array.from({ length: 200 }, (_, i) => i + 1)), stdout: lines(20100) },
  {
    title: 'command substitution, pipes through busybox and a subshell exit status',
    script: 'x=$(seq 1 100 | sort -rn | head -n 2 | tr "\\n" " "); print "[$x]"; (exit 7); print $?',
    stdout: lines('[100 99 ]', 7),
  },
  { title: 'trap on EXIT and the exit status', script: 'trap "print bye" EXIT; print hi; exit 5', stdout: lines('hi', 'bye'), exitCode: 5 },
  {
    title: 'files: redirection, append, glob and test',
    script: 'print a >f1; print b >>f1; print c >f2; for f in f*; do print "$f $(wc -l <$f)"; done; [ -s f1 ] && print nonempty',
    stdout: lines('f1 2', 'f2 1', 'nonempty'),
  },
  { title: 'a background job and wait', script: 'sleep 0 & wait $!; print waited $?; false & wait $!; print $?', stdout: lines('waited 0', 1) },
  { title: 'it knows its own version', script: 'print -r -- "${KSH_VERSION%% *}"', stdout: lines('@(#)MIRBSD') },
];

const SHELLS: Shell[] = ['mksh', 'mksh-static'];

function check(c: MkshCase, arch: GuestArch, shell: Shell): () => Promise<void> {
  return async () => {
    const run = { ...c, shell };
    const [tsl, ref] = await Promise.all([runShellTslinux(arch, run), runShellReference(arch, run)]);
    expect(tsl.timedOut, `tslinux run timed out after ${tsl.ms} ms`).toBe(false);
    const seen = { stdout: tsl.stdout, stderr: tsl.stderr, exitCode: tsl.exitCode };
    expect(seen).toEqual({ stdout: c.stdout, stderr: '', exitCode: c.exitCode ?? 0 });
    if (ref) {
      expect(ref.timedOut, 'the reference run timed out').toBe(false);
      expect(seen).toEqual({ stdout: ref.stdout, stderr: ref.stderr, exitCode: ref.exitCode });
    }
  };
}

for (const arch of ARCHES) {
  for (const shell of SHELLS) {
    describe.concurrent(sampledTitle(arch, `${shell} (${arch})`), () => {
      for (const c of sampled(arch, CASES)) it(c.title, check(c, arch, shell), 60_000);
    });
  }
}
