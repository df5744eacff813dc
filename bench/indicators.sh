#!/usr/bin/env bash
# Load benchmark of GET /api/indicators?$filter=indicatorValue eq '…' (issue
# 24) through the real HTTP stack, against a static server of the same
# bytes in the same run.
#
#   bench/indicators.sh [ROUNDS]   (default 6 rounds of ROUND_TIME, 8s)
#
# Makes (once, cached in bench/results/indicators-15000) a tenant of 15,000
# active SHA-256 indicators with `openatp import --kind indicators`, starts
# `openatp serve` on it (rate limits off), and drives it with wrk asking for
# random indicators by value (an application with Ti.ReadWrite.All, pages
# of one indicator); then bench/baseline serving a fixed body of the mean
# answer's size. The two run in turn, ROUNDS rounds in the order openatp
# baseline, baseline openatp, ...; it prints each round's rates and the
# median of the rounds' ratios. Loopback only. The import rate of 500-item
# batches is `go test -run - -bench Import ./indicatorapi/`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}
OUT=bench/results
DATA=$OUT/indicators-15000
PORT=${PORT:-18190}; BPORT=$((PORT + 1))
CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
mkdir -p "$OUT"
go build -o "$OUT/openatp" ./cmd/openatp
go build -o "$OUT/baseline" ./bench/baseline
if [ ! -f "$DATA/seeded" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  awk 'BEGIN { for (i = 1; i <= 15000; i++) printf "{\"indicatorValue\":\"%064x\",\"indicatorType\":\"FileSha256\",\"action\":\"Block\",\"title\":\"Dropper %d\",\"description\":\"Seen in campaign 42\",\"severity\":\"High\",\"application\":\"feed\",\"expirationTime\":\"2099-01-01T00:00:00Z\"}\n", i * 7919, i }' >"$DATA/indicators.jsonl"
  "$OUT/openatp" import --data "$DATA" --tenant ti.example --kind indicators "$DATA/indicators.jsonl" >/dev/null
  "$OUT/openatp" app create --data "$DATA" --tenant ti.example --name siem --role Ti.ReadWrite.All >"$DATA/app.json"
  touch "$DATA/seeded"
fi
CLIENT_ID=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/app.json")
TOKEN=$("$OUT/openatp" token --data "$DATA" --tenant ti.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PORT")
{
  echo "local paths = {"
  awk 'BEGIN { srand(1); for (n = 0; n < 5000; n++) printf "  \"/api/indicators?$filter=indicatorValue%%20eq%%20%%27%064x%%27\",\n", (int(rand() * 15000) + 1) * 7919 }'
  echo "}"
  cat <<LUA
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer $TOKEN"})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d bytes=%d errors=%d\n", summary.requests, summary.bytes,
    summary.errors.status + summary.errors.read + summary.errors.connect))
end
LUA
} >"$OUT/indicators.lua"
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait "${PIDS[@]}" 2>/dev/null || true; }
trap cleanup EXIT
"$OUT/openatp" serve --data "$DATA" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit off --access-log=false >"$OUT/ti-serve.out" 2>"$OUT/ti-serve.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
P1=$(sed -n '2p' "$OUT/indicators.lua" | tr -d ' ",')
curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$P1" || { echo "the lookup fails"; tail "$OUT/ti-serve.log"; exit 1; }
wrk -t1 -c"$CONNS" -d5s -s "$OUT/indicators.lua" "http://127.0.0.1:$PORT" >/dev/null # warm: the tenant is kept in memory
HDR=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$P1" | wc -c)
BODY=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$P1" | wc -c)
"$OUT/baseline" -addr "127.0.0.1:$BPORT" -size "$BODY" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$BPORT/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "== 15,000 indicators; answers of $BODY bytes (+$HDR of headers); $CONNS connections; $ROUNDS rounds of ${ROUND_TIME:-8s}"
rate() { wrk -t1 -c"$CONNS" -d"${ROUND_TIME:-8s}" -s "$OUT/indicators.lua" "$1" | tee -a "$OUT/ti-wrk.log" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p'; }
RATIOS=()
for i in $(seq "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then R=$(rate "http://127.0.0.1:$PORT"); B=$(rate "http://127.0.0.1:$BPORT")
  else B=$(rate "http://127.0.0.1:$BPORT"); R=$(rate "http://127.0.0.1:$PORT"); fi
  RATIOS+=("$(awk -v r="$R" -v b="$B" 'BEGIN{printf "%.3f", r/b}')")
  echo "round $i: openatp $R/s, baseline $B/s, ratio ${RATIOS[-1]}"
done
grep -q "errors=0" <(tail -3 "$OUT/ti-wrk.log") || echo "warning: wrk saw errors (non-2xx or socket)"
echo "median ratio: $(printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{v[NR]=$1} END{printf "%.3f", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"
