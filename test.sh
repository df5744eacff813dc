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

echo "== every release target type-checks (release/build.sh --check)"
release/build.sh --check

echo "== redis-server (the Redis tests start their own on loopback)"
if ! command -v redis-server >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq redis-server >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq redis-server >/dev/null; }
  # Installed as a service it may have started one; the tests need none.
  $sudo service redis-server stop >/dev/null 2>&1 || true
fi
export OPENATP_TEST_REDIS=required # skipping the Redis tests is a failure here

echo "== postgresql (the PostgreSQL tests start their own clusters on loopback)"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1 &&
  command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq postgresql >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq postgresql >/dev/null; }
  # The package starts a system cluster; the tests need none.
  $sudo service postgresql stop >/dev/null 2>&1 || true
fi
export OPENATP_TEST_POSTGRES=required # skipping the PostgreSQL tests is a failure here

echo "== identity clients (the client tests run them against openatp: docs/clients.md)"
if ! /usr/bin/python3 -c 'import msal, azure.identity' >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  pkgs="python3-msal python3-azure curl"
  $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; }
fi
# @azure/identity and @azure/msal-node at the versions of the lock file;
# npm's cache is kept under .cache/ (gitignored) for the next run.
if command -v npm >/dev/null 2>&1 &&
  ! cmp -s clients/node/package-lock.json clients/node/node_modules/.installed-lock.json 2>/dev/null; then
  npm ci --prefix clients/node --cache "$PWD/.cache/npm" --no-audit --no-fund --loglevel=error >/dev/null
  cp clients/node/package-lock.json clients/node/node_modules/.installed-lock.json
fi
export OPENATP_TEST_CLIENTS=required # skipping a client test is a failure here

echo "== go test -race"
go test -race -count=1 -timeout 20m "$@" ./...
