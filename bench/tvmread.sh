#!/usr/bin/env bash
# Per-machine TVM reads at fleet scale: GET /api/machines/{id}/vulnerabilities
# on the tenant of bench/tvm.sh (100,000 machines × 40 products, 10,000
# CVEs), against a static server answering bodies of the same mean size.
#
#   bench/tvmread.sh [data dir]   (default bench/results/tvm-100000-40-10000/data)
#   BIN1=path  a second openatp build, driven in turn with this worktree's
#              in every round (a before/after in one run)
#   ROUNDS (3), DURATION (8s), CONNS (8), IDS (200 random machines with an inventory)
#
# The data directory is copied once into bench/results/tvmread (the run
# creates an application there; a shared dataset stays as it is). Each
# round drives openatp (then BIN1), then the static server, with wrk over
# the same machines, and prints bytes/s and their ratio; the median of the
# rounds' ratios last. Run it under the shared lock:
# flock /work/wt/bench.lock bash bench/tvmread.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-bench/results/tvm-100000-40-10000/data}
OUT=bench/results/tvmread
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-8}
IDS=${IDS:-200}
PORT=18290
BPORT=18291
BIN0=bench/results/openatp
mkdir -p "$OUT"
go build -o "$BIN0" ./cmd/openatp
go build -o bench/results/baseline ./bench/baseline
DATA=$OUT/data
if [ ! -f "$DATA/openatp.db" ]; then
  rm -rf "$DATA"; cp -rL "$SRC" "$DATA"
  "$BIN0" app create --data "$DATA" --tenant bench.example --name tvmread --role Vulnerability.Read.All >"$DATA/app.json"
fi
CLIENT_ID=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/app.json")
TOKEN=$("$BIN0" token --data "$DATA" --tenant bench.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PORT")
sqlite3 "$DATA/openatp.db" "SELECT m.id FROM machines m JOIN tvm_inventory i ON i.tenant_seq = m.tenant_seq AND i.machine_seq = m.seq ORDER BY random() LIMIT $IDS" >"$OUT/ids.txt"
{
  echo "local paths = {}"
  while read -r id; do echo "paths[#paths+1] = \"/api/machines/$id/vulnerabilities\""; done <"$OUT/ids.txt"
  echo "local i = 0"
  echo "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\""
  echo 'request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end'
} >"$OUT/paths.lua"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
serve() { # bin port log
  "$1" serve --data "$DATA" --addr "127.0.0.1:$2" --tls-addr "" --rate-limit off --access-log=false >"$3.out" 2>"$3.log" &
  PIDS+=($!)
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  for _ in $(seq 600); do
    grep -q "index built" "$3.log" && break
    curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$2/api/machines/$(head -1 "$OUT/ids.txt")/vulnerabilities" || true
    sleep 0.5
  done
}
NAMES=(openatp); serve "$BIN0" "$PORT" "$OUT/serve0"; PORTS=("$PORT")
if [ -n "${BIN1:-}" ]; then NAMES+=(BIN1); serve "$BIN1" $((PORT + 2)) "$OUT/serve1"; PORTS+=($((PORT + 2))); fi
# The mean answer (body) over the machines, for the static server.
SIZE=$(while read -r id; do curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/machines/$id/vulnerabilities" | wc -c; done <"$OUT/ids.txt" |
  awk '{s += $1} END {printf "%d", s / NR}')
bench/results/baseline -addr "127.0.0.1:$BPORT" -size "$SIZE" >"$OUT/baseline.log" 2>&1 &
PIDS+=($!)
sleep 0.5
echo "== $IDS machines, mean answer $SIZE bytes; $ROUNDS rounds of $DURATION, $CONNS connections; load $(cut -d' ' -f1-3 /proc/loadavg)"
# Bytes/s of wrk's answers (bodies and headers: the headers are a few
# hundred bytes of answers of tens of kilobytes).
rate() { wrk -t1 -c"$CONNS" -d"$DURATION" ${2:+-s "$2"} "$1" | awk '/Requests\/sec/ {r = $2} /Transfer\/sec/ {v = $2; u = substr(v, length(v) - 1); v += 0; if (u == "GB") v *= 1024; if (u == "KB") v /= 1024; printf "%.1f %.0f\n", v, r}'; }
for w in "${!PORTS[@]}"; do rate "http://127.0.0.1:${PORTS[$w]}" "$OUT/paths.lua" >/dev/null; done
RATIOS=()
for round in $(seq "$ROUNDS"); do
  B=$(rate "http://127.0.0.1:$BPORT/")
  for w in "${!PORTS[@]}"; do
    R=$(rate "http://127.0.0.1:${PORTS[$w]}" "$OUT/paths.lua")
    RATIO=$(awk -v a="${R% *}" -v b="${B% *}" 'BEGIN {printf "%.3f", a / b}')
    echo "round $round ${NAMES[$w]}: ${R% *} MB/s (${R#* } requests/s), static ${B% *} MB/s: ratio $RATIO (load $(cut -d' ' -f1 /proc/loadavg))"
    RATIOS[$w]="${RATIOS[$w]:-} $RATIO"
  done
done
for w in "${!PORTS[@]}"; do
  echo "${NAMES[$w]}: median ratio $(echo ${RATIOS[$w]} | tr ' ' '\n' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'), resident $(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' /proc/${PIDS[$w]}/status)"
done
