#!/bin/sh
# Run every guest natively (x86_64) and under qemu-aarch64 (aarch64), each
# in a fresh temporary directory, and check that
#   - x86_64 and aarch64 stdout and exit status are identical (args: apart
#     from its AT_PLATFORM line), and
#   - both match the reference files in guest-binaries/expected/.
# UPDATE_EXPECTED=1 rewrites the reference files instead of comparing.
# expected/<arch>/<case>.out is stdout; <case>.status is the shell's exit
# status ($?), i.e. 128+N for death by signal N (139 = SIGSEGV).
#
# usage: guest-binaries/check.sh [outdir]   (outputs are kept in outdir)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
rm -f "$out/FAILED"
qemu=${QEMU_AARCH64:-qemu-aarch64}
command -v "$qemu" >/dev/null 2>&1 || { echo "check: $qemu not found" >&2; exit 1; }

# case|binary|arguments. Each guest runs as ./<binary> in an empty directory
# with exactly this environment: TSL_B=2 TSL_A=1 TSL_A0=x OTHER=no
cases='hello|hello|
hello_asm|hello_asm|
args|args|one "two words" --three
args_exit|args|--exit-argc a b
fileio|fileio|
stat|stat|
dirents|dirents|
mmap|mmap|
errors|errors|
crash_segv|crash|segv
crash_ill|crash|ill
crash_abort|crash|abort
crash_exit|crash|exit 42
crash_badframe|crash|badframe
getuid_loop|getuid_loop|100000
sieve|sieve|
sigsegv_recover|sigsegv_recover|
sigsys|sigsys|
sigsys_block|sigsys|block
sigsys_thread|sigsys|thread
signals|signals|
signals_alarm|signals|alarm
restart|restart|
threads|threads|
faultpc|faultpc|
events|events|
futex_pingpong|futex_pingpong|10000
preempt_checksum|preempt|checksum
preempt_fair|preempt|fair
forkexec|forkexec|
forkexec_child|forkexec|child 7
pipes|pipes|
sockets|sockets|
sockets_inet|sockets|inet
gatebypass_read|gatebypass|read
gatebypass_futex|gatebypass|futex
gatebypass_poll|gatebypass|poll
gatebypass_wait|gatebypass|wait
gatebypass_vfork|gatebypass|vfork
gatebypass_restart|gatebypass|restart
sigtrace_deliver|sigtrace|deliver
sigtrace_children|sigtrace|children
sigtrace_stop|sigtrace|stop
sigtrace_sigkill|sigtrace|sigkill
sigtrace_timer|sigtrace|timer
sigtrace_threads|sigtrace|threads
forkmem|forkmem|
stack_deep|stack|deep
stack_overflow|stack|overflow
stack_read|stack|read
selfmod|selfmod|
selfmod_patch|selfmod|patch
selfmod_family|selfmod|family 4'

# sigtrace's seccomp mode is left out: qemu-user does not apply a guest's
# seccomp filter (test/trace-golden.test.ts runs it natively and under tslinux).

# forkexec, pipes and selfmod (family) execve() themselves. Under qemu-aarch64 that only
# works when binfmt_misc runs aarch64 executables through qemu (as Debian's
# qemu-user-binfmt sets up); without it those aarch64 cases fail.
"$here/aarch64/hello" >/dev/null 2>&1 ||
    echo "check: warning: aarch64 executables cannot be exec'd directly (no binfmt_misc entry for qemu-aarch64); forkexec, pipes and selfmod_family will fail" >&2

run() { # arch binary case args...
    arch=$1 bin=$2 case=$3; shift 3
    dir=$(mktemp -d)
    cp "$here/$arch/$bin" "$dir/$bin"
    launcher=; [ "$arch" = aarch64 ] && launcher=$qemu
    set +e
    (cd "$dir" && exec env -i TSL_B=2 TSL_A=1 TSL_A0=x OTHER=no $launcher "./$bin" "$@") \
        >"$out/$case.$arch.out" 2>"$out/$case.$arch.err"
    echo $? >"$out/$case.$arch.status"
    set -e
    [ -z "$(ls -A "$dir" | grep -vx "$bin")" ] ||
        { echo "check: $case ($arch) left files behind"; touch "$out/FAILED"; }
    rm -rf "$dir"
}

# Same stdout + status? (AT_PLATFORM is allowed to differ.)
same() { # fileA fileB
    grep -v '^AT_PLATFORM=' "$1" >"$1.cmp" || true
    grep -v '^AT_PLATFORM=' "$2" >"$2.cmp" || true
    cmp -s "$1.cmp" "$2.cmp"
}

echo "$cases" | while IFS='|' read -r case bin args; do
    eval "set -- $args"
    status=ok
    for arch in x86_64 aarch64; do
        run "$arch" "$bin" "$case" "$@"
        ref="$here/expected/$arch"
        if [ "${UPDATE_EXPECTED:-0}" = 1 ]; then
            mkdir -p "$ref"
            cp "$out/$case.$arch.out" "$ref/$case.out"
            cp "$out/$case.$arch.status" "$ref/$case.status"
        elif ! cmp -s "$out/$case.$arch.out" "$ref/$case.out" ||
             ! cmp -s "$out/$case.$arch.status" "$ref/$case.status"; then
            status="differs from expected/$arch"
        fi
    done
    a="$out/$case.x86_64" b="$out/$case.aarch64"
    if ! cmp -s "$a.status" "$b.status" || ! same "$a.out" "$b.out"; then
        status="x86_64 and aarch64 differ"
        diff "$a.out" "$b.out" || true
    fi
    printf '%-16s exit=%-4s %s\n' "$case" "$(cat "$a.status")" "$status"
    [ "$status" = ok ] || touch "$out/FAILED"
done
echo "outputs in $out"
[ ! -e "$out/FAILED" ]
