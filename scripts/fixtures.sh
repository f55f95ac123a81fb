#!/bin/sh
# The test fixtures that are not in the repository, fetched or built once and
# cached (in .cache/, git-ignored, and npm's own cache), so that a suite run
# after this one makes no network access:
#   - Debian's static busybox, bash and mksh for both arches (fetch-debian-bins.sh)
#   - Debian's static Go tools (fetch-debian-go-tools.sh)
#   - the Debian 12 roots of the dynamic-ELF tests (fetch-rootfs.sh; needs apt-get)
#   - the Go test guests, built with Debian's golang-go (build-go-guests.sh)
#   - a newer C runtime for Jazzer.js's native fuzzer (fetch-jazzer-runtime.sh; x86-64 Linux)
#   - koffi's registry entry in npm's cache, for the offline install of the
#     packed tarball (test/package.test.ts): `npm ci` caches the tarball only
# Each step skips what is already there. `npm run fixtures` runs this (CI does,
# before `npm test`), and so does test/global-setup.ts before every suite. A
# missing optional tool (apt-get, go) is one line here; the tests that need
# what it makes then skip, naming it (and fail under TSLINUX_REQUIRE_ALL=1).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
has() { command -v "$1" >/dev/null 2>&1; }

[ -e .cache/debian/bin/aarch64/mksh-static ] || sh scripts/fetch-debian-bins.sh >/dev/null
[ -e .cache/debian/go-tools/aarch64/pup ] || sh scripts/fetch-debian-go-tools.sh >/dev/null
if [ ! -e .cache/rootfs/aarch64/.tslinux-rootfs ]; then
  if has apt-get; then sh scripts/fetch-rootfs.sh >/dev/null; else echo "fixtures: no apt-get: the Debian roots are not made" >&2; fi
fi
if has go; then sh scripts/build-go-guests.sh >/dev/null; else echo "fixtures: 'go' not found (apt-get install golang-go): the Go guests are not built" >&2; fi
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then sh scripts/fetch-jazzer-runtime.sh >/dev/null; fi

# npm resolves the tarball's dependency range from the registry entry (the
# "packument"), which `npm ci` never fetches: cache it for the locked koffi,
# and for koffi's prebuilt package for this host (@koromix/koffi-linux-x64
# and so on, an optional dependency: without its entry an offline install
# skips it silently and koffi's install script compiles koffi from source,
# half a minute of CPU, and fails on a host without cmake). An install asks
# for the full entry (Accept: application/json); `npm cache add` stores only
# the abbreviated one, `npm view` the full one. Offline, both succeed only
# when what they need is cached.
koffi=$(node -p "require('./node_modules/koffi/package.json').version")
prebuilt=$(node -p "'@koromix/koffi-' + process.platform + '-' + process.arch")
for pkg in koffi "$prebuilt"; do
  if ! { npm view --offline "$pkg@$koffi" version && npm cache add --offline "$pkg@$koffi"; } >/dev/null 2>&1; then
    { npm view "$pkg@$koffi" version && npm cache add "$pkg@$koffi"; } >/dev/null 2>&1 ||
      echo "fixtures: npm could not cache $pkg@$koffi (offline?): test/package.test.ts's installs will fail or build koffi" >&2
  fi
done
