// The shell-script cases of test/e2e-shell.test.ts: shared with
// test/policy-e2e.test.ts, which runs the bash ones under Docker's default
// seccomp profile.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ShellOutcome, ShellRun } from './shell.ts';

export interface Case extends ShellRun {
  title: string;
  want: Partial<Pick<ShellOutcome, 'stdout' | 'stderr' | 'exitCode'>>;
  /** stderr differs between runs (timing, pids): don't compare it with the reference. */
  anyStderr?: boolean;
  /** A known emulator bug makes this case fail: it runs as it.fails and is listed in the report. */
  bug?: string;
}

const lines = (...l: (string | number)[]): string => l.map((x) => `${x}\n`).join('');

/** Numbers 1..1000 that contain a 7. */
const SEVENS = Array.from({ length: 1000 }, (_, i) => String(i + 1)).filter((s) => s.includes('7')).length;

/** md5 of the first 256 KiB of `yes 0123456789abcdef`, upper-cased. */
const QUARTER_MIB_MD5 = createHash('md5')
  .update('0123456789ABCDEF\n'.repeat(Math.ceil((1 << 18) / 17)).slice(0, 1 << 18))
  .digest('hex');

function files(tree: Record<string, string>): (dir: string) => void {
  return (dir) => {
    for (const [rel, content] of Object.entries(tree)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), content);
    }
  };
}


/** busybox xargs -P forks with vfork(); a SIGCHLD from an earlier child that arrives while the parent waits in vfork makes vfork return -1 EINTR (Linux returns the pid and runs the handler afterwards): "xargs: echo: Interrupted system call". */
/** utimensat is ENOSYS, and busybox touch does not even create the file. */

export const CASES: Case[] = [
  // ---- pipelines ---------------------------------------------------------------------------------------------
  // 20000 lines: sort's output (108,893 bytes) is more than a pipe holds, so head's early exit still reaches it.
  { title: 'seq | sort -rn | head', script: 'seq 1 20000 | sort -rn | head -n 3', want: { stdout: lines(20000, 19999, 19998), stderr: '', exitCode: 0 } },
  { title: 'seq 1 100000 | wc -c (large data through a pipe)', script: 'seq 1 100000 | wc -c', want: { stdout: lines(588895), exitCode: 0 } },
  {
    title: 'a seven-stage pipeline',
    script: "seq 1 1000 | grep 7 | sed 's/7/x/' | tr x y | sort | uniq | wc -l",
    want: { stdout: lines(SEVENS), stderr: '', exitCode: 0 },
  },
  {
    title: '256 KiB through four pipes',
    script: 'yes 0123456789abcdef | head -c 262144 | cat | tr a-f A-F | md5sum',
    want: { stdout: `${QUARTER_MIB_MD5}  -\n`, stderr: '', exitCode: 0 },
  },
  {
    title: 'the exit status of a pipeline is the last command\'s',
    script: 'false | true; echo $?; true | false; echo $?; seq 1 3 | (read a; exit $a); echo $?',
    want: { stdout: lines(0, 1, 1), exitCode: 0 },
  },
  {
    title: 'a named pipe in /tmp: a writer in the background, a reader, and O_RDWR',
    script:
      'd=$(mktemp -d /tmp/fifo.XXXXXX); mkfifo -m 600 $d/p; ls -l $d/p | cut -c1-10; seq 1 5000 > $d/p & wc -l < $d/p; wait $!; echo "writer: $?"; ' +
      'exec 3<>$d/p; echo through >&3; read line <&3; echo "$line"; exec 3>&-; rm -r $d; ls $d 2>/dev/null || echo gone',
    want: { stdout: lines('prw-------', 5000, 'writer: 0', 'through', 'gone'), stderr: '', exitCode: 0 },
  },

  // ---- command substitution, subshells, redirections, here-docs -----------------------------------------------
  {
    title: 'command substitution',
    script: 'x=$(echo hello | tr a-z A-Z); echo "[$x]"; n=$( (echo a; echo b; echo c) | wc -l); echo $n; echo "$(echo "$(echo nested)")"; echo `expr 6 \\* 7`',
    want: { stdout: lines('[HELLO]', 3, 'nested', 42), stderr: '', exitCode: 0 },
  },
  {
    title: 'subshells keep their changes to themselves',
    script: 'a=1; (a=2; echo in $a); echo out $a; (cd /; pwd); pwd; (exit 3); echo $?; (trap "echo sub exit" EXIT; echo sub)',
    want: { stdout: lines('in 2', 'out 1', '/', '$DIR/w', 3, 'sub', 'sub exit'), exitCode: 0 },
  },
  {
    title: 'redirections > >> < 2>&1 2>/dev/null',
    script: [
      'echo one > f; echo two >> f; cat < f',
      'ls nope 2>/dev/null; echo rc=$?',
      'ls nope > out 2>&1; wc -l < out',
      '{ echo to-err >&2; } 2>&1 | tr a-z A-Z',
      'exec 3> g; echo via3 >&3; exec 3>&-; cat g',
      'echo x > /dev/null; cat /dev/null; echo end',
    ].join('\n'),
    want: { stdout: lines('one', 'two', 'rc=1', 1, 'TO-ERR', 'via3', 'end'), stderr: '', exitCode: 0 },
  },
  {
    title: 'here-docs',
    script: 'cat <<EOF\nline $((1 + 2))\nEOF\ncat <<\'EOF\'\n$HOME `x`\nEOF\ntr 1-4 a-d <<EOF\n1 2\n3 4\nEOF\ncat <<-EOF | wc -l\n\tx\n\ty\n\tEOF',
    want: { stdout: lines('line 3', '$HOME `x`', 'a b', 'c d', 2), stderr: '', exitCode: 0 },
  },
  {
    title: 'while read ... done <<EOF',
    script: 'while read a b; do echo "$b $a"; done <<EOF\n1 2\n3 4\nEOF',
    want: { stdout: lines('2 1', '4 3'), stderr: '', exitCode: 0 },
  },
  {
    title: 'read from stdin',
    script: 'read a b; echo "$b-$a"; cat; echo end',
    stdin: 'x y\nrest 1\nrest 2\n',
    want: { stdout: lines('y-x', 'rest 1', 'rest 2', 'end'), exitCode: 0 },
  },

  // ---- functions and loops spawning many processes --------------------------------------------------------------
  {
    title: '200 processes in a loop',
    script: 'for i in $(seq 1 200); do true; done; echo done',
    want: { stdout: lines('done'), stderr: '', exitCode: 0 },
  },
  {
    title: 'functions, return codes and a counting loop of 100 expr',
    script: 'f() { echo "f $1"; return $(($1 % 3)); }; for i in 1 2 3; do f $i; echo $?; done; n=0; while [ $n -lt 100 ]; do n=$(expr $n + 1); done; echo $n',
    want: { stdout: lines('f 1', 1, 'f 2', 2, 'f 3', 0, 100), stderr: '', exitCode: 0 },
  },

  // ---- background jobs -------------------------------------------------------------------------------------------
  {
    title: 'sleep & ; wait $!',
    script: 'sleep 0.2 & pid=$!; wait $pid; echo $?; (exit 5) & wait $!; echo $?; sleep 0.3 & sleep 0.1 & wait; echo all',
    want: { stdout: lines(0, 5, 'all'), stderr: '', exitCode: 0 },
  },
  {
    title: 'sleep 1000 & kill -9 $!; wait $! is 137',
    script: 'sleep 1000 & kill -9 $!; wait $!; echo $?',
    want: { stdout: lines(137), exitCode: 0 },
    anyStderr: true,
  },
  {
    title: 'stop, continue and terminate a background job',
    script: 'sleep 1000 & p=$!; kill -STOP $p; kill -CONT $p; kill $p; wait $p; echo $?',
    want: { stdout: lines(143), exitCode: 0 },
    anyStderr: true,
  },

  // ---- traps -----------------------------------------------------------------------------------------------------
  {
    title: 'trap USR1; kill -USR1 $$',
    script: "trap 'echo got usr1' USR1; kill -USR1 $$; echo after",
    want: { stdout: lines('got usr1', 'after'), stderr: '', exitCode: 0 },
  },
  {
    title: 'trap TERM with exit',
    script: "trap 'echo got term; exit 3' TERM; kill -TERM $$; echo not reached",
    want: { stdout: lines('got term'), stderr: '', exitCode: 3 },
  },
  {
    title: 'trap EXIT',
    script: "trap 'echo bye' EXIT; echo hi; exit 4",
    want: { stdout: lines('hi', 'bye'), stderr: '', exitCode: 4 },
  },
  {
    title: 'a child signals its waiting parent',
    script: "trap 'echo usr1' USR1; (sleep 0.3; kill -USR1 $$) & wait; echo \"wait=$?\"; wait; echo done",
    want: { stdout: lines('usr1', 'wait=138', 'done'), stderr: '', exitCode: 0 },
  },
  {
    title: 'untrapped TERM kills the shell (143)',
    script: 'sh -c \'kill -TERM $$; echo not reached\'; echo $?; kill -0 $$; echo alive',
    want: { stdout: lines(143, 'alive'), exitCode: 0 },
  },

  {
    title: 'ignored and reset signals',
    script: "trap '' INT; kill -INT $$; echo survived; trap 'echo usr2' USR2; kill -USR2 $$; trap - USR2; sh -c 'kill -USR2 $$'; echo $?",
    want: { stdout: lines('survived', 'usr2', 140), exitCode: 0 },
    anyStderr: true,
  },
  {
    title: 'kill -9 $$ in a child, exec, nested shells, $PPID',
    script: String.raw`sh -c 'kill -9 $$'; echo $?; sh -c 'exec sh -c "exit 9"'; echo $?; sh -c 'sh -c "sh -c \"echo deep\""'; [ "$(sh -c 'echo $PPID')" = "$$" ] && echo ppid-ok; wait 12345; echo $?`,
    want: { stdout: lines(137, 9, 'deep', 'ppid-ok', 127), exitCode: 0 },
    anyStderr: true,
  },
  {
    title: 'large command substitution, env -i',
    script: 'x=$(seq 1 20000); echo ${#x}; env -i A=1 B=2 env | sort',
    want: { stdout: lines(108893, 'A=1', 'B=2'), stderr: '', exitCode: 0 },
  },
  {
    title: 'xargs -P 4 (vfork while children exit)',
    script: 'seq 1 20 | xargs -P 4 -n 1 echo | sort -n | tail -n 1',
    want: { stdout: lines(20), stderr: '', exitCode: 0 },
  },
  {
    title: 'files: mkdir -p, >, rm -r, ls -R, /dev/zero',
    script: 'mkdir -p a/b/c; : > a/b/c/f; echo > a/x; ls -R a; rm -r a; ls; dd if=/dev/zero bs=1024 count=64 2>/dev/null | wc -c',
    want: { stdout: lines('a:', 'b', 'x', '', 'a/b:', 'c', '', 'a/b/c:', 'f', 65536), stderr: '', exitCode: 0 },
  },
  {
    title: 'touch',
    script: 'touch new; echo > old; touch old; ls',
    want: { stdout: lines('new', 'old'), stderr: '', exitCode: 0 },
  },

  // ---- set -e ----------------------------------------------------------------------------------------------------
  { title: 'set -e stops at false', script: 'set -e; echo a; false; echo b', want: { stdout: lines('a'), stderr: '', exitCode: 1 } },
  {
    title: 'set -e stops with the failing command\'s code',
    script: "set -e; echo a; if false; then :; fi; false || true; sh -c 'exit 3'; echo b",
    want: { stdout: lines('a'), stderr: '', exitCode: 3 },
  },

  // ---- timeout, SIGPIPE ------------------------------------------------------------------------------------------
  {
    // busybox timeout (unlike GNU's, which exits 124) execs the command in its own process and has a child
    // send it SIGTERM: the shell sees 143 and says "Terminated".
    title: 'timeout 1 sleep 1000 is killed by SIGTERM (143)',
    script: 'timeout 1 sleep 1000; echo $?',
    want: { stdout: lines(143), stderr: 'Terminated\n', exitCode: 0 },
  },
  { title: 'yes | head -n 3 (SIGPIPE ends yes)', script: 'yes | head -n 3; echo end', want: { stdout: lines('y', 'y', 'y', 'end'), stderr: '', exitCode: 0 } },

  // ---- find, xargs -----------------------------------------------------------------------------------------------
  {
    title: "find -name '*.txt' -exec cat {} \\;",
    script: "find . -name '*.txt' -exec cat {} \\; | sort; find . -type f | sort",
    setup: files({ 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n', 'sub/deep/c.txt': 'gamma\n', 'd.log': 'not me\n' }),
    want: { stdout: lines('alpha', 'beta', 'gamma', './a.txt', './d.log', './sub/b.txt', './sub/deep/c.txt'), stderr: '', exitCode: 0 },
  },
  {
    title: 'xargs',
    script: "printf 'a\\nb\\n' | xargs echo; seq 1 7 | xargs -n 3 echo; find . -name '*.txt' | sort | xargs cat",
    setup: files({ 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' }),
    want: { stdout: lines('a b', '1 2 3', '4 5 6', 7, 'alpha', 'beta'), stderr: '', exitCode: 0 },
  },

  // ---- exit codes ------------------------------------------------------------------------------------------------
  ...[42, 255].map(
    (c): Case => ({ title: `exit ${c}`, script: `exit ${c}`, want: { stdout: '', stderr: '', exitCode: c } }),
  ),
  {
    title: "sh -c 'exit N' seen by the parent",
    script: 'for c in 0 1 7 42 255 256; do sh -c "exit $c"; echo $?; done',
    want: { stdout: lines(0, 1, 7, 42, 255, 0), stderr: '', exitCode: 0 },
  },
  {
    title: 'command not found is 127',
    script: 'nosuchcmd; echo $?',
    want: { stdout: lines(127), exitCode: 0 },
  },

  // ---- bash --------------------------------------------------------------------------------------------------------
  {
    title: 'bash: set -o pipefail and PIPESTATUS',
    shell: 'bash',
    script: 'set -o pipefail; false | true; echo $?; true | (exit 3) | true; echo $?; set +o pipefail; false | true; echo $?; true | false | (exit 5); echo "${PIPESTATUS[@]}"',
    want: { stdout: lines(1, 3, 0, '0 1 5'), stderr: '', exitCode: 0 },
  },
  {
    title: 'bash: yes | head: yes dies of SIGPIPE (141)',
    shell: 'bash',
    script: 'yes | head -n 2; echo "${PIPESTATUS[@]}"',
    want: { stdout: lines('y', 'y', '141 0'), stderr: '', exitCode: 0 },
  },
  {
    // The guest is guest-binaries/<arch>/stack (both copied in; uname -m picks the one that runs).
    title: 'ulimit -s: the stack grows up to the new limit, and a fault past it is SIGSEGV',
    script: 'g=./stack.$(uname -m); $g deep; ulimit -s 1024; $g overflow; $g deep; echo $?',
    setup: (dir) => {
      for (const arch of ['x86_64', 'aarch64']) {
        fs.copyFileSync(path.join(import.meta.dirname, '..', '..', 'guest-binaries', arch, 'stack'), path.join(dir, `stack.${arch}`));
        fs.chmodSync(path.join(dir, `stack.${arch}`), 0o755);
      }
    },
    anyStderr: true,
    want: { stdout: lines('recursion 6000 deep: 1505150', 'SIGSEGV about RLIMIT_STACK below the top of the stack', 139), exitCode: 0 },
  },
  {
    title: 'bash: set -e, traps and arrays',
    shell: 'bash',
    script: "trap 'echo exit $?' EXIT; trap 'echo usr1' USR1; a=(x y z); echo ${#a[@]} ${a[1]}; kill -USR1 $$; [[ abc == a* ]] && echo glob; set -e; (exit 9); echo no",
    want: { stdout: lines('3 y', 'usr1', 'glob', 'exit 9'), stderr: '', exitCode: 9 },
  },
  {
    title: 'bash: background jobs and wait -n',
    shell: 'bash',
    script: 'sleep 0.3 & (exit 4) & wait -n; echo $?; wait; echo $?; for i in {1..50}; do env true; done; echo looped',
    want: { stdout: lines(4, 0, 'looped'), stderr: '', exitCode: 0 },
  },
  {
    title: 'bash: process substitution, $BASHPID, pipefail with set -e',
    shell: 'bash',
    script: 'cat <(echo from-procsub); (test $BASHPID != $$ && echo subshell-pid); set -e -o pipefail; seq 1 3 | (exit 6) | cat; echo no',
    want: { stdout: lines('from-procsub', 'subshell-pid'), stderr: '', exitCode: 6 },
  },
];
