#!/usr/bin/env bash
# Builds the release binaries of openatp: static (CGO_ENABLED=0; the SQLite
# driver is pure Go) for linux, darwin and windows on amd64 and arm64, with
# SHA-256 checksums.
#
#   release/build.sh [VERSION]    -> dist/openatp-VERSION-GOOS-GOARCH[.exe], dist/SHA256SUMS
#   release/build.sh --check      -> type-checks the binary for every target (what CI runs)
#
# VERSION defaults to `git describe --tags --always --dirty`. It is linked in
# (-X main.version), and the commit is stamped by the Go toolchain
# (-buildvcs; -X main.commit where it cannot): `openatp version` prints both.
# OUT=dir changes the output directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# The release targets; TARGETS="linux/amd64" builds or checks one.
TARGETS=${TARGETS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"}

if [ "${1:-}" = "--check" ]; then
  # The release binary and everything it imports, type-checked from source
  # for every target (release/typecheck): a platform that stops building (a
  # build constraint that leaves a symbol undefined, a syscall field one
  # platform lacks, a dependency that drops a platform) fails here, in about
  # 5 s of CPU per target, where a cold `go build` or `go vet` of one target
  # costs 100 s or more (CONTRIBUTING.md).
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  go build -o "$tmp/typecheck" ./release/typecheck
  # Two targets at a time (each check is single-threaded).
  printf '%s\n' $TARGETS | xargs -P 2 -I{} sh -c \
    't={}; CGO_ENABLED=0 GOOS=${t%/*} GOARCH=${t#*/} "$0" ./cmd/openatp' "$tmp/typecheck"
  exit 0
fi

version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
case $version in
  *[!A-Za-z0-9._+-]*) echo "release/build.sh: version $version: only letters, digits and . _ + -" >&2; exit 2 ;;
esac
# The toolchain stamps the commit (-buildvcs) in a plain clone; the linker
# flag names it where it does not (a git worktree).
commit=$(git rev-parse HEAD 2>/dev/null || true)
out=${OUT:-dist}
mkdir -p "$out"
names=()
for t in $TARGETS; do
  goos=${t%/*} goarch=${t#*/}
  ext=""; [ "$goos" = windows ] && ext=.exe
  name="openatp-$version-$goos-$goarch$ext"
  echo "== $name"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -buildvcs=auto -trimpath \
    -ldflags "-s -w -X main.version=$version -X main.commit=$commit" -o "$out/$name" ./cmd/openatp
  names+=("$name")
done
if command -v sha256sum >/dev/null 2>&1; then
  (cd "$out" && sha256sum "${names[@]}" > SHA256SUMS)
else # macOS
  (cd "$out" && shasum -a 256 "${names[@]}" > SHA256SUMS)
fi
echo "== $out/SHA256SUMS"
cat "$out/SHA256SUMS"
