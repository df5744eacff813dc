#!/usr/bin/env bash
# Load benchmark of GET /api/users/{id}/machines through the real HTTP stack.
#
#   bench/load.sh [machines] [users] [logons]   (default 1000000 200000 5000000)
#
# Seeds (once, cached in bench/results/data-<machines>) a tenant with
# `openatp seed`, starts `openatp serve` on it, and drives it with wrk using
# real tokens and random users; then drives a baseline server that writes a
# fixed body of the same size, in the same run, and prints requests/s of
# both, their ratio, and the server's resident memory. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
MACHINES=${1:-1000000}
USERS=${2:-200000}
LOGONS=${3:-5000000}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
OUT=bench/results
DATA=$OUT/data-$MACHINES-$USERS-$LOGONS
PORT=${PORT:-18080}
BPORT=${BPORT:-18081}
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }

go build -o "$OUT/openatp" ./cmd/openatp
go build -o "$OUT/baseline" ./bench/baseline
go build -o "$OUT/benchtool" ./bench/benchtool

if [ ! -f "$DATA/seeded" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  echo "== seeding $MACHINES machines, $USERS users (once)"
  /usr/bin/time -v "$OUT/openatp" seed --data "$DATA" --tenant bench.example --machines "$MACHINES" --users "$USERS" --logons "$LOGONS" --seed 1 \
    >"$DATA/seed.json" 2>"$DATA/seed.log" || { tail "$DATA/seed.log"; exit 1; }
  grep -E "Elapsed|Maximum resident" "$DATA/seed.log" || true
  cat "$DATA/seed.json"
  "$OUT/openatp" app create --data "$DATA" --tenant bench.example --name bench --role Machine.Read.All >"$DATA/app.json"
  touch "$DATA/seeded"
fi
CLIENT_ID=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/app.json")
TOKEN=$("$OUT/openatp" token --data "$DATA" --tenant bench.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PORT")
"$OUT/benchtool" -db "$DATA/openatp.db" -tenant bench.example -token "$TOKEN" -users 20000 -out "$OUT/users.lua"
cat >>"$OUT/users.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d bytes=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.bytes, summary.errors.status + summary.errors.read + summary.errors.connect,
    latency:percentile(50), latency:percentile(99)))
end
LUA

"$OUT/openatp" serve --data "$DATA" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit "${RATE_LIMIT:-off}" --access-log=${ACCESS_LOG:-false} >"$OUT/serve.out" 2>"$OUT/serve.log" &
SERVER=$!
trap 'kill $SERVER $BASE 2>/dev/null || true' EXIT
BASE=
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
U1=$(sed -n '3p' "$OUT/users.lua" | tr -d ' ",')
echo "== warming the index (first requests are answered from SQLite meanwhile)"
for _ in $(seq 600); do
  grep -q "index built" "$OUT/serve.log" && break
  curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/users/$U1/machines" >/dev/null || true
  sleep 0.5
done
grep "index built" "$OUT/serve.log" || { echo "index not built"; tail "$OUT/serve.log"; exit 1; }
wrk -t"$THREADS" -c"$CONNS" -d5s -s "$OUT/users.lua" "http://127.0.0.1:$PORT" >/dev/null

HDR=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/users/$U1/machines" | wc -c)
run() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$OUT/users.lua" "$1" | tee -a "$OUT/wrk.log" | grep -E "Requests/sec|RESULT"; }
: >"$OUT/wrk.log"
echo "== openatp: GET /api/users/{random}/machines, $CONNS connections, $DURATION"
REAL=$(run "http://127.0.0.1:$PORT")
echo "$REAL"
REQS=$(echo "$REAL" | sed -n 's/.*requests=\([0-9]*\).*/\1/p'); BYTES=$(echo "$REAL" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
AVG=$(( BYTES / REQS )); BODY=$(( AVG - HDR + 0 ))
[ "$BODY" -gt 16 ] || BODY=16
RSS=$(awk '/VmRSS|VmHWM/ {printf "%s %.0f MiB  ", $1, $2/1024}' /proc/$SERVER/status)

"$OUT/baseline" -addr "127.0.0.1:$BPORT" -size "$BODY" 2>/dev/null &
BASE=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$BPORT/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "== baseline: fixed body of $BODY bytes (the endpoint's mean), same settings"
BASEOUT=$(run "http://127.0.0.1:$BPORT")
echo "$BASEOUT"

R=$(echo "$REAL" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p')
B=$(echo "$BASEOUT" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p')
echo
echo "machines=$MACHINES users=$USERS mean_response_bytes=$AVG"
echo "openatp_rps=$R baseline_rps=$B ratio=$(awk -v r="$R" -v b="$B" 'BEGIN{printf "%.2f", r/b}')"
echo "server memory: $RSS"
