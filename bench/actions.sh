#!/usr/bin/env bash
# Machine-action benchmarks (issue 23), on SQLite, rate limits off:
#
#   bench/actions.sh [PART...]     parts: poll create inflight (default: all)
#
# Seeds (once, cached in bench/results/actions-<machines>-<actions>) a
# tenant of MACHINES machines (default 20,000) with ACTIONS stored machine
# actions (default 100,000: `openatp seed --actions`), and the same tenant
# without actions (the memory yardstick), then:
#
#   poll      drives GET /api/machineactions?$filter=lastUpdateDateTimeUtc gt
#             <a random action's stamp>&$top=100 (bench/actiontool) with wrk,
#             and a baseline server writing a fixed body of the same mean
#             size (bench/baseline), in turn: ROUNDS rounds (default 6) of
#             ROUND_TIME (8s), in the order openatp baseline, baseline
#             openatp, ...; prints each round's ratio, their median (goal
#             >= 0.5) and the server's CPU per request. Then it drives a
#             server on the tenant without actions with the same script,
#             and prints the resident memory of both and the difference:
#             what the 100,000 actions cost (goal < 100 MB).
#   create    starts actions through the API (POST /api/machines/{id}/isolate,
#             runAntiVirusScan, ... each on its own machine and kind, every
#             one kept Pending) with wrk, CREATE_ROUNDS rounds (default 5)
#             of CREATE_TIME (3s), in turn with the baseline answering the
#             same POSTs with a body of the same size; prints the rates
#             (goal >= 2,000 actions/s) and the medians. On a copy of the
#             seeded tenant.
#   inflight  starts INFLIGHT actions (default 10,000; 16 at once), Pending
#             for 30 s then InProgress for 20 s, and prints the server's
#             CPU over 10 s with none in flight and over 10 s with all in
#             flight and none due (goal: nothing more), then follows the
#             change feed until every one has Succeeded and prints how late
#             the steps were (goal: p99 < 1 s). On a copy of the seeded
#             tenant.
#
# CONNS (default 32) connections for the poll, 16 for the creates.
# PROFILE=1 writes each openatp server's CPU profile to
# bench/results/actions-<part>.prof. Loopback only; Linux (it reads /proc).
# A load benchmark: run it alone (never beside another: they share ports
# and cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS=("$@"); [ ${#PARTS[@]} -gt 0 ] || PARTS=(poll create inflight)
MACHINES=${MACHINES:-20000}
ACTIONS=${ACTIONS:-100000}
INFLIGHT=${INFLIGHT:-10000}
ROUNDS=${ROUNDS:-6}
CONNS=${CONNS:-32}
PORT=${PORT:-18380}
OUT=bench/results
DATA=$OUT/actions-$MACHINES-$ACTIONS
EMPTY=$OUT/actions-$MACHINES-0
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
go build -o "$OUT/openatp" ./cmd/openatp
go build -o "$OUT/baseline" ./bench/baseline
go build -o "$OUT/actiontool" ./bench/actiontool
O=$OUT/openatp

for d in "$DATA" "$EMPTY"; do
  [ -f "$d/seeded" ] && continue
  n=$ACTIONS; [ "$d" = "$EMPTY" ] && n=0
  rm -rf "$d"; mkdir -p "$d"
  echo "== seeding $MACHINES machines and $n machine actions (once)"
  "$O" seed --data "$d" --db "$d/openatp.db" --tenant bench.example --machines "$MACHINES" --users 2000 --actions "$n" --seed 1 >"$d/seed.json" 2>"$d/seed.log"
  "$O" app create --data "$d" --db "$d/openatp.db" --tenant bench.example --name bench --role Machine.Read.All \
    --role Machine.Isolate --role Machine.Scan --role Machine.RestrictExecution --role Machine.CollectForensics \
    --role Machine.StopAndQuarantine --role Machine.Offboard >"$d/app.json"
  touch "$d/seeded"
done

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS|VmHWM/ {printf "%s %.0f MiB  ", $1, $2/1024}' "/proc/$1/status"; }
rsskib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{printf "%.3f", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
token() { "$O" token --data "$1" --db "$1/openatp.db" --tenant bench.example --base-url "http://127.0.0.1:$2" \
  --app "$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$1/app.json")"; }
# serve DATA PORT NAME: starts openatp on DATA; its pid in SERVED.
serve() {
  "$O" serve --data "$1" --db "$1/openatp.db" --addr "127.0.0.1:$2" --tls-addr "" --rate-limit off --access-log=false \
    ${PROFILE:+--cpu-profile "$OUT/actions-$3.prof"} >"$TMP/$3.out" 2>"$TMP/$3.log" &
  SERVED=$!; PIDS+=("$SERVED")
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "$3: the server did not start"; tail "$TMP/$3.log"; exit 1
}
# stop PID: stops a server (so that its profile is written).
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
# baseline SIZE PORT: starts the same-bytes static server; its pid in BASE.
baseline() {
  "$OUT/baseline" -addr "127.0.0.1:$2" -size "$1" 2>/dev/null &
  BASE=$!; PIDS+=("$BASE")
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$2/" >/dev/null 2>&1 && return; sleep 0.1; done
}
# drive SCRIPT URL TIME CONNS: one wrk run; "requests/s requests bytes errors".
drive() {
  local o
  o=$(wrk -t1 -c"$4" -d"$3" -s "$1" "$2")
  echo "$(echo "$o" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p') $(echo "$o" | sed -n 's/^RESULT requests=\([0-9]*\) bytes=\([0-9]*\) errors=\([0-9]*\).*/\1 \2 \3/p')"
}
echo "== machine actions: $MACHINES machines, $ACTIONS stored actions, SQLite; load average $(cut -d' ' -f1-3 /proc/loadavg)"

part_poll() {
  local P=$PORT E=$((PORT + 2)) B=$((PORT + 4)) tok server empty o hdr body rr rb ratios=() cpus=() t0 t1
  serve "$DATA" $P poll; server=$SERVED
  serve "$EMPTY" $E empty; empty=$SERVED
  tok=$(token "$DATA" $P)
  "$OUT/actiontool" -db "$DATA/openatp.db" -tenant bench.example -token "$tok" -mode poll -n 20000 -out "$TMP/poll.lua"
  sed "s/^local token = .*/local token = \"$(token "$EMPTY" $E)\"/" "$TMP/poll.lua" >"$TMP/poll-empty.lua"
  drive "$TMP/poll.lua" "http://127.0.0.1:$P" 3s "$CONNS" >/dev/null # warm up
  o=($(drive "$TMP/poll.lua" "http://127.0.0.1:$P" "${ROUND_TIME:-8s}" "$CONNS"))
  [ "${o[3]}" = 0 ] || { echo "poll: ${o[3]} errors"; exit 1; }
  hdr=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$P$(sed -n '3p' "$TMP/poll.lua" | tr -d ' ",')" | wc -c)
  body=$(( o[2] / o[1] - hdr ))
  echo "poll: ${o[0]} requests/s, mean response $(( o[2] / o[1] )) bytes (body $body)"
  baseline "$body" $B
  drive "$TMP/poll.lua" "http://127.0.0.1:$B" 3s "$CONNS" >/dev/null
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then
      t0=$(cpu $server); o=($(drive "$TMP/poll.lua" "http://127.0.0.1:$P" "${ROUND_TIME:-8s}" "$CONNS")); t1=$(cpu $server)
      rb=$(drive "$TMP/poll.lua" "http://127.0.0.1:$B" "${ROUND_TIME:-8s}" "$CONNS" | cut -d' ' -f1)
    else
      rb=$(drive "$TMP/poll.lua" "http://127.0.0.1:$B" "${ROUND_TIME:-8s}" "$CONNS" | cut -d' ' -f1)
      t0=$(cpu $server); o=($(drive "$TMP/poll.lua" "http://127.0.0.1:$P" "${ROUND_TIME:-8s}" "$CONNS")); t1=$(cpu $server)
    fi
    rr=${o[0]}
    ratios+=("$(awk -v r="$rr" -v b="$rb" 'BEGIN{printf "%.4f", r/b}')")
    cpus+=("$(awk -v t=$((t1 - t0)) -v n="${o[1]}" -v k="$TICK" 'BEGIN{printf "%.1f", t/k*1e6/n}')")
    echo "round $round: openatp $rr, baseline $rb requests/s, ratio ${ratios[-1]}; openatp ${cpus[-1]} µs CPU/request"
  done
  echo "POLL median ratio $(median "${ratios[@]}") (goal >= 0.5), openatp CPU/request median $(median "${cpus[@]}") µs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  drive "$TMP/poll-empty.lua" "http://127.0.0.1:$E" "${ROUND_TIME:-8s}" "$CONNS" >/dev/null
  echo "memory with $ACTIONS actions: $(rss $server)"
  echo "memory with none:            $(rss $empty)"
  echo "MEMORY the actions cost $(( ($(rsskib $server) - $(rsskib $empty)) / 1024 )) MiB of resident memory (goal < 100 MB)"
  stop $server; stop $empty; kill $BASE
}

part_create() {
  local P=$PORT B=$((PORT + 4)) tok server o rb ratios=() rates=() cpus=() t0 t1 start=0 body
  rm -rf "$TMP/create"; cp -r "$DATA" "$TMP/create"
  serve "$TMP/create" $P create; server=$SERVED
  tok=$(token "$TMP/create" $P)
  "$OUT/actiontool" -db "$TMP/create/openatp.db" -tenant bench.example -mode timing -base "http://127.0.0.1:$P" -pending 24h -inprogress 1h
  "$OUT/actiontool" -db "$TMP/create/openatp.db" -tenant bench.example -token "$tok" -mode create -out "$TMP/create.lua"
  # Each run starts 20,000 paths further (6 kinds x MACHINES distinct
  # starts in all): a run of CREATE_TIME must start fewer.
  o=($(START=$start drive "$TMP/create.lua" "http://127.0.0.1:$P" 2s 16)); start=$((start + 20000)) # warm up
  [ "${o[3]}" = 0 ] || { echo "create: ${o[3]} errors"; exit 1; }
  body=$(( o[2] / o[1] - 200 ))
  baseline "$body" $B
  for round in $(seq "${CREATE_ROUNDS:-5}"); do
    if [ $((round % 2)) = 1 ]; then
      t0=$(cpu $server); o=($(START=$start drive "$TMP/create.lua" "http://127.0.0.1:$P" "${CREATE_TIME:-3s}" 16)); t1=$(cpu $server)
      rb=$(drive "$TMP/create.lua" "http://127.0.0.1:$B" "${CREATE_TIME:-3s}" 16 | cut -d' ' -f1)
    else
      rb=$(drive "$TMP/create.lua" "http://127.0.0.1:$B" "${CREATE_TIME:-3s}" 16 | cut -d' ' -f1)
      t0=$(cpu $server); o=($(START=$start drive "$TMP/create.lua" "http://127.0.0.1:$P" "${CREATE_TIME:-3s}" 16)); t1=$(cpu $server)
    fi
    start=$((start + 20000))
    [ "${o[3]}" = 0 ] || { echo "create round $round: ${o[3]} errors (refused or failed starts)"; exit 1; }
    rates+=("${o[0]}")
    ratios+=("$(awk -v r="${o[0]}" -v b="$rb" 'BEGIN{printf "%.4f", r/b}')")
    cpus+=("$(awk -v t=$((t1 - t0)) -v n="${o[1]}" -v k="$TICK" 'BEGIN{printf "%.1f", t/k*1e6/n}')")
    echo "round $round: openatp ${o[0]} actions/s, baseline $rb requests/s (same bytes), ratio ${ratios[-1]}; ${cpus[-1]} µs CPU/action"
  done
  echo "CREATE median $(median "${rates[@]}") actions/s (goal >= 2000), ratio to the baseline $(median "${ratios[@]}"), CPU/action median $(median "${cpus[@]}") µs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  stop $server; kill $BASE
}

part_inflight() {
  local P=$PORT tok server
  rm -rf "$TMP/inflight"; cp -r "$DATA" "$TMP/inflight"
  serve "$TMP/inflight" $P inflight; server=$SERVED
  tok=$(token "$TMP/inflight" $P)
  "$OUT/actiontool" -db "$TMP/inflight/openatp.db" -tenant bench.example -token "$tok" -mode inflight -base "http://127.0.0.1:$P" \
    -pid $server -n "$INFLIGHT" -pending "${PENDING:-30s}" -inprogress "${INPROGRESS:-20s}" -idle 10s
  echo "memory: $(rss $server); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  stop $server
}

for p in "${PARTS[@]}"; do
  echo "== $p"
  "part_$p"
done
