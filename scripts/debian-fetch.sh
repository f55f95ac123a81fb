#!/bin/sh
# Download Debian packages (.deb) into a project-local folder and unpack them,
# using a private apt configuration: the system's sources, lists, caches and
# architectures are never touched (no `dpkg --add-architecture`, no root needed
# beyond network access).
#
# usage: scripts/debian-fetch.sh SUITE DEST PKG[:ARCH]...
#   SUITE  a Debian suite, e.g. bookworm or trixie
#   DEST   folder that receives DEST/debs/*.deb and DEST/root/<pkg>_<arch>/...
set -eu
suite=$1; dest=$2; shift 2
command -v apt-get >/dev/null || { echo "debian-fetch: apt-get not found (Debian/Ubuntu host needed)" >&2; exit 1; }
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
state="$dest/.apt-$suite"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dest/debs" "$dest/root"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$state/sources.list" <<LIST
deb [arch=amd64,arm64 signed-by=$keyring] http://deb.debian.org/debian $suite main
LIST
: > "$state/status"
opts="-o Dir::Etc::sourcelist=$state/sources.list -o Dir::Etc::sourceparts=- \
 -o Dir::State::Lists=$state/lists -o Dir::State::status=$state/status \
 -o Dir::Cache=$state/cache -o APT::Architecture=amd64 -o APT::Architectures::=amd64 \
 -o APT::Architectures::=arm64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Get::List-Cleanup=0"
# Refresh the private package lists at most once a day.
if [ -z "$(find "$state/lists" -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  # shellcheck disable=SC2086
  apt-get $opts -qq update >&2
fi
cd "$dest/debs"
for pkg in "$@"; do
  name=${pkg%%:*}; arch=amd64
  case $pkg in *:*) arch=${pkg#*:};; esac
  if ! ls "${name}"_*_"${arch}".deb >/dev/null 2>&1 && ! ls "${name}"_*_all.deb >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    apt-get $opts -qq download "$name:$arch" >&2
  fi
  deb=$(ls "${name}"_*_"${arch}".deb 2>/dev/null | head -1)
  [ -n "$deb" ] || deb=$(ls "${name}"_*_all.deb | head -1)
  out="$dest/root/${name}_${arch}"
  if [ ! -d "$out" ]; then
    mkdir -p "$out.tmp" && dpkg-deb -x "$deb" "$out.tmp" && mv "$out.tmp" "$out"
  fi
  echo "$out"
done
