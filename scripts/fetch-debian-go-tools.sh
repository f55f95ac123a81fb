#!/bin/sh
# Fetch static Go tools packaged by Debian bookworm, for x86-64 and aarch64,
# into .cache/debian/go-tools/<arch>/ (git-ignored), for the end-to-end tests
# (test/e2e-go-tools.test.ts). `file` reports every one as statically linked
# on both arches (their packages have no Depends). Prints where they are.
# Safe to run repeatedly: what is there is kept.
#   gojq        a jq clone
#   shfmt       a shell script formatter
#   cindex, csearch   codesearch: a trigram index of files, and searching it
#   pup         CSS selectors over HTML
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/.cache/debian"
packages="gojq shfmt codesearch pup"
pkgs=
for p in $packages; do pkgs="$pkgs $p:amd64 $p:arm64"; done
# shellcheck disable=SC2086
sh "$here/scripts/debian-fetch.sh" bookworm "$dest" $pkgs >/dev/null
for pair in amd64:x86_64 arm64:aarch64; do
  deb=${pair%%:*}; arch=${pair#*:}
  out="$dest/go-tools/$arch"
  mkdir -p "$out"
  for tool in gojq:gojq shfmt:shfmt codesearch:cindex codesearch:csearch pup:pup; do
    pkg=${tool%%:*}; bin=${tool#*:}
    cp "$dest/root/${pkg}_$deb/usr/bin/$bin" "$out/$bin"
  done
done
echo "$dest/go-tools"
