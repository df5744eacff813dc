#!/usr/bin/env bash
# The observed events' benchmarks (issue 24), on a fresh SQLite store:
#
#   bench/events.sh [machines] [file events] [network events]
#                   (default 100000 4000000 1000000: 5 million events)
#
# 1. bench/events: the import rate of file and network events beside the
#    logon import's (the baseline, same store, same run), then the
#    look-back of a custom indicator over the stored events beside the
#    read of the same events in full;
# 2. serves the store and drives GET /api/files/{sha1}/machines (a file
#    seen on 3 machines in many events) with wrk, then the static server
#    (bench/baseline) writing the same number of bytes, in turn, ROUNDS
#    rounds (default 3) of ROUND_TIME (default 8s); prints the median of
#    the rounds' ratios, as bench/load.sh does.
# Results go to bench/results/events-<machines>-<events>/ (the database is
# deleted at the end; KEEP=1 keeps it).
set -euo pipefail
# Builds from the store each start, as the numbers printed assume (serve --checkpoint off;
# a binary without the flag ignores the variable).
export OPENATP_CHECKPOINT=${OPENATP_CHECKPOINT:-off}
cd "$(dirname "$0")/.."
MACHINES=${1:-100000}
FILES=${2:-4000000}
CONNS_EV=${3:-1000000}
OUT=bench/results/events-$MACHINES-$((FILES + CONNS_EV))
PORT=${PORT:-18190}; BPORT=$((PORT + 1))
THREADS=${THREADS:-2}; CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"
go build -o "$OUT/openatp" ./cmd/openatp
go build -o "$OUT/events" ./bench/events
go build -o "$OUT/baseline" ./bench/baseline
PIDS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -f "$OUT"/openatp.db*
}
trap cleanup EXIT

echo "== import and look-back: $MACHINES machines, $FILES file events, $CONNS_EV network events"
"$OUT/events" -db "$OUT/openatp.db" -machines "$MACHINES" -file-events "$FILES" -network-events "$CONNS_EV" | tee "$OUT/events.out"
SHA1=$(sed -n 's/^sha1 //p' "$OUT/events.out")

"$OUT/openatp" app create --data "$OUT" --db "$OUT/openatp.db" --tenant bench.example --name bench --role Machine.Read.All >"$OUT/app.json"
CLIENT_ID=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$OUT/app.json")
"$OUT/openatp" serve --data "$OUT" --db "$OUT/openatp.db" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit off --access-log=false >"$OUT/serve.out" 2>"$OUT/serve.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$("$OUT/openatp" token --data "$OUT" --db "$OUT/openatp.db" --tenant bench.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PORT")
URL="http://127.0.0.1:$PORT/api/files/$SHA1/machines"
for _ in $(seq 600); do grep -q "index built" "$OUT/serve.log" && break; curl -fs -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null || true; sleep 0.5; done
curl -fs -H "Authorization: Bearer $TOKEN" "$URL" >"$OUT/machines.json"
BODY=$(wc -c <"$OUT/machines.json")
echo "== GET /api/files/$SHA1/machines: $(grep -o '"id":"[0-9a-f]\{40\}"' "$OUT/machines.json" | wc -l) machines, $BODY bytes"
"$OUT/baseline" -addr "127.0.0.1:$BPORT" -size "$BODY" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$BPORT/" >/dev/null 2>&1 && break; sleep 0.1; done
rate() { wrk -t"$THREADS" -c"$CONNS" -d"${ROUND_TIME:-8s}" -H "Authorization: Bearer $TOKEN" "$1" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p'; }
wrk -t"$THREADS" -c"$CONNS" -d3s -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null
RATIOS=()
for round in $(seq "${ROUNDS:-3}"); do
  if [ $((round % 2)) = 1 ]; then RO=$(rate "$URL"); RB=$(rate "http://127.0.0.1:$BPORT/"); else RB=$(rate "http://127.0.0.1:$BPORT/"); RO=$(rate "$URL"); fi
  RATIOS+=("$(awk -v r="$RO" -v b="$RB" 'BEGIN{printf "%.4f", r/b}')")
  echo "round $round: openatp $RO, baseline $RB requests/s, ratio ${RATIOS[-1]}"
done
echo "files/{sha1}/machines over $((FILES + CONNS_EV)) events: median ratio $(printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{v[NR]=$1} END{printf "%.3f", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}') of the static server"
