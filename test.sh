#!/usr/bin/env bash
# The whole openatp test suite, as CI runs it: formatting, go vet,
# staticcheck, then every package's tests with the race detector.
# Long benchmarks are not here: they live under bench/.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
if ! command -v staticcheck >/dev/null 2>&1; then
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
staticcheck ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m "$@" ./...
