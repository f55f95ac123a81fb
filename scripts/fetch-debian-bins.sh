#!/bin/sh
# Fetch Debian's static busybox, bash and mksh for x86-64 and aarch64
# (bookworm) into .cache/debian (git-ignored), for the end-to-end tests.
# mksh is the package's dietlibc build (/usr/lib/diet/bin/mksh) and
# mksh-static its klibc build (what /bin/mksh-static points to). Prints where
# they are. Safe to run repeatedly: what is there is kept.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/.cache/debian"
sh "$here/scripts/debian-fetch.sh" bookworm "$dest" \
  busybox-static:amd64 busybox-static:arm64 bash-static:amd64 bash-static:arm64 mksh:amd64 mksh:arm64 >/dev/null
mkdir -p "$dest/bin/x86_64" "$dest/bin/aarch64"
for pair in amd64:x86_64 arm64:aarch64; do
  deb=${pair%%:*}; arch=${pair#*:}
  cp "$dest/root/busybox-static_$deb/bin/busybox" "$dest/bin/$arch/busybox"
  cp "$dest/root/bash-static_$deb/bin/bash-static" "$dest/bin/$arch/bash"
  cp "$dest/root/mksh_$deb/usr/lib/diet/bin/mksh" "$dest/bin/$arch/mksh"
  cp "$dest/root/mksh_$deb/usr/lib/klibc/bin/mksh" "$dest/bin/$arch/mksh-static"
done
ls "$dest/bin/x86_64" "$dest/bin/aarch64" >/dev/null
echo "$dest/bin"
