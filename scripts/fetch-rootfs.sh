#!/bin/sh
# The Debian 12 roots the dynamic-ELF tests and benchmarks run programs from
# (tslinux run --root): one per arch in .cache/rootfs/<arch> (git-ignored),
# built by scripts/make-rootfs.sh from the packages below and their
# dependencies. Kept when already built from the same list; prints the roots.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
packages="coreutils grep sed dash bash perl-base python3 findutils tar gzip libc-bin"
for arch in x86_64 aarch64; do
  # shellcheck disable=SC2086
  sh "$here/scripts/make-rootfs.sh" --arch $arch "$here/.cache/rootfs/$arch" $packages
done
