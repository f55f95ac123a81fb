#!/bin/sh
# Build a Debian 12 (bookworm) root filesystem for x86-64 or aarch64 from
# packages, without root and without changing the system: a private apt
# configuration (its own sources, lists, status and cache, as
# scripts/debian-fetch.sh uses) resolves PKG and their dependencies
# (Depends and Pre-Depends, no Recommends) against an empty dpkg status,
# downloads them (apt-get install --download-only), and dpkg-deb -x unpacks
# each one into DIR. No maintainer script runs: what they would make that
# programs need (the usrmerge links, /bin/sh, /etc/passwd, ld.so.cache) is
# made here.
#
# usage: scripts/make-rootfs.sh [--arch x86_64|aarch64] DIR PKG...
#
# DIR is built beside itself (DIR.tmp) and renamed into place when complete,
# so an interrupted build never leaves half a root. A DIR already built for
# the same arch and packages (DIR/.tslinux-rootfs says so) is kept as it is.
# The downloaded .debs and apt's lists are cached in .cache/rootfs/
# (git-ignored). Prints DIR.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
arch=x86_64
if [ "${1:-}" = --arch ]; then arch=${2:-}; shift 2; fi
[ $# -ge 2 ] || { echo "usage: $0 [--arch x86_64|aarch64] DIR PKG..." >&2; exit 2; }
dir=$1; shift
case $arch in
  x86_64) debarch=amd64 ;;
  aarch64) debarch=arm64 ;;
  *) echo "make-rootfs: unknown arch '$arch' (x86_64 or aarch64)" >&2; exit 2 ;;
esac
for tool in apt-get dpkg-deb; do
  command -v $tool >/dev/null || { echo "make-rootfs: $tool not found (a Debian or Ubuntu host is needed)" >&2; exit 1; }
done

# The format of this stamp changes when the script builds roots differently.
stamp="make-rootfs 2 arch=$arch packages=$*"
if [ -f "$dir/.tslinux-rootfs" ] && [ "$(cat "$dir/.tslinux-rootfs")" = "$stamp" ]; then
  echo "$dir"
  exit 0
fi

# The private apt state, one per arch; its lists are refreshed at most once a day.
state="$here/.cache/rootfs/apt-bookworm-$debarch"
mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/parts"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [arch=$debarch signed-by=$keyring] http://deb.debian.org/debian bookworm main" > "$state/sources.list"
: > "$state/status"
apt() {
  apt-get -o Dir::Etc::sourcelist="$state/sources.list" -o Dir::Etc::sourceparts="$state/parts" \
    -o Dir::Etc::preferencesparts="$state/parts" -o Dir::Etc::preferences=/dev/null \
    -o Dir::State::Lists="$state/lists" -o Dir::State::status="$state/status" \
    -o Dir::Cache="$state" -o Dir::Cache::archives="$state/archives" \
    -o APT::Architecture="$debarch" -o APT::Architectures::="$debarch" \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Get::List-Cleanup=0 \
    -o APT::Install-Recommends=0 "$@"
}
if [ -z "$(find "$state/lists" -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  apt -qq update >&2
fi

# Every package the list needs, downloaded into the cache (already there: kept).
# With an empty status apt takes nothing as installed, so the closure is whole.
apt -qq -y --download-only install "$@" >&2
# The exact set apt chose ("Inst NAME (VERSION SUITE [ARCH])", maybe more after), as the cache's
# NAME_VERSION_ARCH.deb file names (apt writes an epoch's ':' as %3a).
debs=$(apt -qq -s install "$@" | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) [^[]*\[\([^]]*\)\]).*/\1_\2_\3.deb/p' | sed 's/:/%3a/')
[ -n "$debs" ] || { echo "make-rootfs: apt chose no packages for: $*" >&2; exit 1; }

tmp="$dir.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
for deb in $debs; do
  # apt's file names escape ':' in epochs as %3a.
  dpkg-deb -x "$state/archives/$deb" "$tmp"
done

# usrmerge (Debian 12's layout): /bin, /sbin and /lib* are links into /usr.
for d in bin sbin lib lib32 lib64 libx32; do
  if [ -d "$tmp/$d" ] && [ ! -L "$tmp/$d" ]; then
    mkdir -p "$tmp/usr/$d"
    cp -a "$tmp/$d/." "$tmp/usr/$d/"
    rm -rf "${tmp:?}/$d"
  fi
  if [ -d "$tmp/usr/$d" ]; then ln -s "usr/$d" "$tmp/$d"; fi
done
for d in bin sbin lib; do [ -e "$tmp/$d" ] || { mkdir -p "$tmp/usr/$d"; ln -s "usr/$d" "$tmp/$d"; }; done

# What maintainer scripts would have made.
[ -e "$tmp/usr/bin/sh" ] || [ ! -e "$tmp/usr/bin/dash" ] || ln -s dash "$tmp/usr/bin/sh"
[ -e "$tmp/usr/bin/sh" ] || [ ! -e "$tmp/usr/bin/bash" ] || ln -s bash "$tmp/usr/bin/sh"
mkdir -p "$tmp/etc" "$tmp/tmp" "$tmp/proc" "$tmp/dev" "$tmp/sys" "$tmp/root" "$tmp/home"
chmod 1777 "$tmp/tmp"
[ -e "$tmp/etc/passwd" ] || printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$tmp/etc/passwd"
[ -e "$tmp/etc/group" ] || printf 'root:x:0:\nnogroup:x:65534:\n' > "$tmp/etc/group"
[ -e "$tmp/etc/hostname" ] || echo tslinux > "$tmp/etc/hostname"
[ -e "$tmp/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$tmp/etc/hosts"
[ -e "$tmp/etc/nsswitch.conf" ] || printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' > "$tmp/etc/nsswitch.conf"
# ld.so.cache, as libc-bin's trigger makes it: the root's own ldconfig
# (static) run in the root, by the host's when it is of the root's arch and
# we are root (ldconfig -r chroots), else under tslinux itself, which needs
# neither. Without a cache ld.so searches its built-in directories (Debian's
# include the multiarch ones), which find the same libraries.
if [ -x "$tmp/usr/sbin/ldconfig" ]; then
  if [ "$(uname -m)" = "$arch" ] && [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then
    ldconfig -r "$tmp" >&2 || true
  elif command -v node >/dev/null 2>&1 && [ -d "$here/node_modules/koffi" ]; then
    node "$here/bin/tslinux.js" run --root "$tmp:rw" --no-cwd --no-warn /usr/sbin/ldconfig >&2 || true
  fi
fi

echo "$stamp" > "$tmp/.tslinux-rootfs"
rm -rf "$dir"
mv "$tmp" "$dir"
echo "$dir"
