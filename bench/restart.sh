#!/usr/bin/env bash
# Restart benchmark: how soon after its listener opens a restarted
# `openatp serve` answers from memory, at 1M machines (bench/load.sh's
# seeded tenant, which must exist), without a checkpoint of the read model
# (a full build from the store) and with one (--checkpoint), in
# interleaved rounds.
#
#   flock /work/wt/bench.lock bash bench/restart.sh [rounds]   (default 2)
#
# For each round it prints the milliseconds from the listener's first
# answer (/healthz) to the log line of the index built or loaded, the
# build's or load's own duration, and the server's resident memory; then
# the checkpoint's size and the time its write took (at shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
DATA=${DATA:-bench/results/data-1000000-200000-5000000}
OUT=bench/results/restart-$$
PORT=${PORT:-18451}
mkdir -p "$OUT/data"
trap 'kill $SRV 2>/dev/null || true; rm -rf "$OUT/ckpt" "$OUT/data"' EXIT
SRV=
go build -o "$OUT/openatp" ./cmd/openatp
DB=$DATA/openatp.db
CLIENT_ID=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/app.json")
TOKEN=$("$OUT/openatp" token --data "$OUT/data" --db "$DB" --tenant bench.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PORT")
ms() { date +%s%3N; }
logms() { # the time of the first log line matching $1, in ms
  local t; t=$(grep -m1 "$1" "$OUT/serve.log" | sed -n 's/^time=\([^ ]*\).*/\1/p'); date -d "$t" +%s%3N
}
# run NAME CHECKPOINT: one start, timed, then a read and a stop.
run() {
  "$OUT/openatp" serve --data "$OUT/data" --db "$DB" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit off \
    --index-memory 8GiB --checkpoint "$2" >"$OUT/serve.out" 2>"$OUT/serve.log" &
  SRV=$!
  until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do sleep 0.005; done
  local open; open=$(ms)
  local what="index built"
  until grep -q "index built\|index loaded" "$OUT/serve.log"; do sleep 0.01; done
  grep -q "index loaded" "$OUT/serve.log" && what="index loaded"
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/machines?\$top=100")
  local rss; rss=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$SRV/status)
  printf '%-12s %-12s listener->memory %6d ms   %s  first read %s  rss %s MiB\n' "$1" "$what" $(( $(logms "$what") - open )) \
    "$(grep -m1 "$what" "$OUT/serve.log" | grep -o 'duration=[^ ]*')" "$code" "$rss"
  kill -INT $SRV; wait $SRV || true; SRV=
  grep "checkpoint written" "$OUT/serve.log" | grep -o 'duration=[^ ]*' | sed 's/^/  checkpoint written at shutdown: /' || true
}
uptime
run prepare "$OUT/ckpt" # writes the checkpoint
ls -l "$OUT/ckpt"
for r in $(seq "$ROUNDS"); do
  run "build $r" off
  run "checkpoint $r" "$OUT/ckpt"
done
uptime
