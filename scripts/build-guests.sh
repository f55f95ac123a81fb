#!/bin/sh
# Build the C/assembly test guests in guest-binaries/src for both guest
# architectures, as small, stripped, reproducible static executables:
#   guest-binaries/x86_64/<name>   musl-gcc -static (musl libc)
#   guest-binaries/aarch64/<name>  aarch64-linux-gnu-gcc -static (glibc)
#
# usage: scripts/build-guests.sh [x86_64|aarch64]...   (default: both)
# Override the compilers with CC_X86_64=... / CC_AARCH64=...
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/guest-binaries/src"
cc_x86_64=${CC_X86_64:-musl-gcc}
cc_aarch64=${CC_AARCH64:-aarch64-linux-gnu-gcc}

# C guests (one .c file each) and the no-libc assembly guest.
c_guests="hello args fileio stat dirents mmap errors crash getuid_loop sieve
 sigsegv_recover sigsys signals restart forkexec pipes threads events futex_pingpong
 hostile faultpc sigtrace gatebypass preempt sockets forkmem stack selfmod"

# Reproducibility: no build paths in the output, no build-id, no symbols,
# fixed locale and timestamps; non-PIE so the guests are plain ET_EXEC.
export LC_ALL=C SOURCE_DATE_EPOCH=0
common="-static -no-pie -fno-pie -s -Wl,--build-id=none \
 -ffile-prefix-map=$root=. -fno-ident -fno-asynchronous-unwind-tables"
cflags="-O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter"

die() { echo "build-guests: $*" >&2; exit 1; }

build_arch() {
    arch=$1 cc=$2
    command -v "$cc" >/dev/null 2>&1 ||
        die "compiler '$cc' for $arch not found (install it or set CC_$(echo "$arch" | tr a-z A-Z)=...)"
    out="$root/guest-binaries/$arch"
    mkdir -p "$out"
    cd "$src"  # relative source paths keep the command lines identical
    for g in $c_guests; do
        # shellcheck disable=SC2086
        "$cc" $common $cflags -o "$out/$g" "$g.c" ||
            die "$arch: building $g failed"
    done
    # shellcheck disable=SC2086
    "$cc" $common -nostdlib -o "$out/hello_asm" "hello-$arch.S" ||
        die "$arch: building hello_asm failed"
    echo "build-guests: $arch: built $(echo $c_guests hello_asm | wc -w) guests in guest-binaries/$arch"
}

arches=${*:-"x86_64 aarch64"}
for a in $arches; do
    case $a in
    x86_64) build_arch x86_64 "$cc_x86_64" ;;
    aarch64) build_arch aarch64 "$cc_aarch64" ;;
    *) die "unknown architecture '$a' (expected x86_64 or aarch64)" ;;
    esac
done
