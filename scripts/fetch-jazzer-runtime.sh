#!/bin/sh
# A newer C and C++ runtime for Jazzer.js's native addon. @jazzer.js/fuzzer
# 4.0.0 ships a prebuilt libFuzzer addon for Linux x64 that needs glibc >= 2.38
# and libstdc++ GLIBCXX_3.4.32 (GCC 13); Debian 12 has glibc 2.36 and GCC 12.
# This fetches Debian 13's libc6, libstdc++6 and libgcc-s1 (apt-get download,
# private apt configuration: nothing on the system changes) into .cache/, so
# the fuzzer can run Node under Debian 13's dynamic loader:
#   ld-linux-x86-64.so.2 --library-path LIBS node ...   (see test/helpers/jazzer.ts)
# Prints the directory holding ld-linux-x86-64.so.2 and the libraries.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/jazzer-runtime"
lib="$dest/lib"
if [ ! -e "$lib/ld-linux-x86-64.so.2" ]; then
  sh "$root/scripts/debian-fetch.sh" trixie "$dest" libc6 libstdc++6 libgcc-s1 >&2
  mkdir -p "$lib"
  for pkg in libc6 libstdc++6 libgcc-s1; do
    cp -a "$dest/root/${pkg}_amd64/usr/lib/x86_64-linux-gnu/." "$lib/"
  done
fi
echo "$lib"
