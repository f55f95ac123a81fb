#!/bin/sh
# Build the Go test guest (guest-binaries/src/go) for amd64 and arm64 with
# Debian's golang-go: static (CGO_ENABLED=0), stripped, no build id, paths
# trimmed. The binaries are not committed (each is ~1.6 MB); they go to
# .cache/go/<arch>/gocheck, rebuilt only when the source or Go changes.
#
# usage: scripts/build-go-guests.sh   (prints the output directory)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/guest-binaries/src/go"
out="$root/.cache/go"
command -v go >/dev/null 2>&1 || { echo "build-go-guests: 'go' not found (apt-get install golang-go)" >&2; exit 1; }
stamp=$( (go version; cat "$src"/*.go "$src/go.mod") | sha256sum | cut -c1-16)
if [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then echo "$out"; exit 0; fi
mkdir -p "$out/x86_64" "$out/aarch64"
cd "$src"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOCACHE="$out/gocache" GOPATH="$out/gopath"
GOARCH=amd64 go build -trimpath -ldflags="-s -w -buildid=" -o "$out/x86_64/gocheck" .
GOARCH=arm64 go build -trimpath -ldflags="-s -w -buildid=" -o "$out/aarch64/gocheck" .
echo "$stamp" > "$out/stamp"
echo "$out"
