#!/usr/bin/env bash
# Load benchmark of GET /api/users/{id}/machines through the real HTTP stack.
#
#   bench/load.sh [machines] [users] [logons]   (default 1000000 200000 5000000)
#   ROUTE=users|byid|byname|page|alerts  what wrk asks for (bench/benchtool); default users
#   ALERTS=N        alerts seeded with the tenant (default 0; 1000000 with
#                   ROUTE=alerts, whose default tenant is then 100000
#                   machines, 50000 users, 500000 logons): ROUTE=alerts
#                   polls "lastUpdateTime ge <a random alert's stamp>" with
#                   $top=100
#
# At rest (no WRITER, one replica) it then drives the two in turn, INTERLEAVE
# rounds (default 6) of ROUND_TIME (8s), and prints the median of the
# rounds' ratios too.
#
# Seeds (once, cached in bench/results/data-<machines>) a tenant with
# `openatp seed`, starts `openatp serve` on it, and drives it with wrk using
# real tokens and random users; then drives a baseline server that writes a
# fixed body of the same size, in the same run, and prints requests/s of
# both, their ratio, and the server's resident memory. Loopback only.
#
# DB=postgres://user@host:port/db runs on that PostgreSQL database (seeded
# once: a tenant bench.example there is taken as seeded); DB=postgres starts
# a local PostgreSQL cluster for the run in bench/results/pg (kept, seeded
# once, stopped at the end; as root it runs as the postgres user).
# REPLICAS=2 starts two `openatp serve` on the same store and drives each
# with its own wrk (CONNS/2 connections each), printing the summed rate.
# WRITER=trickle posts a batch of 20 logon events through the admin API every
# 250 ms while wrk reads (bench/writer), and prints how soon each batch was
# visible to a reader (p50/p99); WRITER=bulk imports 100,000 logon events in
# batches of 5,000 with `openatp import` beside the server while wrk reads.
# Either prints the full index builds the writes caused (0 when every write
# was applied as a delta).
# JOURNAL=on compares the request journal off (server 0, --journal-size 0)
# with on (server 1, the default size) on the same store; FAULT_RULE=nomatch
# compares no fault rule (server 0) with one rule that matches no request
# (server 1: the benchmarked route, another app), both with the journal off;
# PROFILE=1 writes each server's CPU profile to $OUT/serve<N>.prof.
# HUNTERS=N keeps N clients posting advanced hunting queries (HUNT_QUERY,
# default a summarize over DeviceInfo's million rows) back to back while
# wrk drives openatp (on a copy of the tenant, as WRITER does: it creates
# their app), stops them before the baseline runs, and prints how many
# they completed: the route's rate under hunting against the baseline's
# at rest (no interleaved rounds then).
# JOURNAL=off runs two identical servers (the journal off), a control of
# what the machine's noise alone makes of the ratio.
# Either drives the two servers in turn, ROUNDS times (default 9, of
# DURATION each, default 10s; in the order 0 1, 1 0, 0 1, ...), and prints
# each rate, the ratio of the sums (server 1 over server 0) and the median
# of the rounds' ratios (each round's two runs are adjacent in time, so
# the median is what the machine's drifts and bursts spoil least), and
# each server's CPU time per request (steadier on a shared machine) as
# ratios too; no baseline then.
set -euo pipefail
# Builds from the store each start, as the numbers printed assume (serve --checkpoint off;
# a binary without the flag ignores the variable).
export OPENATP_CHECKPOINT=${OPENATP_CHECKPOINT:-off}
cd "$(dirname "$0")/.."
ROUTE=${ROUTE:-users}
if [ "$ROUTE" = alerts ]; then
  MACHINES=${1:-100000}
  USERS=${2:-50000}
  LOGONS=${3:-500000}
  ALERTS=${ALERTS:-1000000}
else
  MACHINES=${1:-1000000}
  USERS=${2:-200000}
  LOGONS=${3:-5000000}
  ALERTS=${ALERTS:-0}
fi
if [ -n "${JOURNAL:-}${FAULT_RULE:-}" ]; then DURATION=${DURATION:-10s}; else DURATION=${DURATION:-20s}; fi
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
OUT=bench/results
DATA=$OUT/data-$MACHINES-$USERS-$LOGONS
[ "$ALERTS" -gt 0 ] && DATA=$DATA-$ALERTS
PORT=${PORT:-18080}
BPORT=${BPORT:-18081}
REPLICAS=${REPLICAS:-1}
DB=${DB:-}
JOURNAL=${JOURNAL:-}
FAULT_RULE=${FAULT_RULE:-}
ROUNDS=${ROUNDS:-9}
# EXTRA0 and EXTRA1 are the flags of servers 0 and 1 of a JOURNAL or
# FAULT_RULE comparison.
AB=; EXTRA0=(); EXTRA1=()
case "$JOURNAL$FAULT_RULE" in
  "") ;;
  on) AB="journal off vs on"; EXTRA0=(--journal-size 0) ;;
  off) AB="control: journal off on both"; EXTRA0=(--journal-size 0); EXTRA1=(--journal-size 0) ;;
  nomatch) AB="no fault rule vs one matching nothing"; EXTRA0=(--journal-size 0)
    EXTRA1=(--journal-size 0 --fault '{"id":"nomatch","route":"GET /api/users/{id}/machines","user":"nobody@nomatch.example","kind":"error","status":503}') ;;
  *) echo "JOURNAL must be on or off, or FAULT_RULE nomatch (not both)" >&2; exit 1 ;;
esac
[ -z "$AB" ] || REPLICAS=2
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }

PGCTL=
if [ "$DB" = postgres ]; then
  # A local cluster, kept under $OUT/pg so that the seeded tenant is reused.
  BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$BIN" ] || { echo "PostgreSQL missing: apt-get install -y postgresql" >&2; exit 1; }
  PGPORT=${PGPORT:-15432}
  PGDIR=$(realpath -m "$OUT/pg")
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    mkdir -p "$PGDIR"; [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR" && chmod a+x "$OUT"
    as_pg "$BIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  PGCTL="$BIN/pg_ctl -D $PGDIR/data"
  as_pg $PGCTL -l "$PGDIR/log" -w -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_connections=200 -c synchronous_commit=off -c max_wal_size=4GB" start >/dev/null
  DB="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
fi
if [ -n "$DB" ]; then
  DATA=$OUT/pgdata-$MACHINES-$USERS-$LOGONS
  [ "$ALERTS" -gt 0 ] && DATA=$DATA-$ALERTS
  DBARG=$DB
else
  DBARG=$DATA/openatp.db
fi

go build -o "$OUT/openatp" ./cmd/openatp
go build -o "$OUT/baseline" ./bench/baseline
go build -o "$OUT/benchtool" ./bench/benchtool
go build -o "$OUT/writer" ./bench/writer
WRITER=${WRITER:-}

if [ -n "$DB" ] && [ -f "$DATA/seeded" ] && ! "$OUT/openatp" tenant list --db "$DBARG" --data "$DATA" | grep -q bench.example; then
  rm -f "$DATA/seeded" # another database than the one seeded
fi
if [ ! -f "$DATA/seeded" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  echo "== seeding $MACHINES machines, $USERS users, $ALERTS alerts (once)"
  /usr/bin/time -v "$OUT/openatp" seed --data "$DATA" --db "$DBARG" --tenant bench.example --machines "$MACHINES" --users "$USERS" --logons "$LOGONS" --alerts "$ALERTS" --seed 1 \
    >"$DATA/seed.json" 2>"$DATA/seed.log" || { tail "$DATA/seed.log"; exit 1; }
  grep -E "Elapsed|Maximum resident" "$DATA/seed.log" || true
  cat "$DATA/seed.json"
  "$OUT/openatp" app create --data "$DATA" --db "$DBARG" --tenant bench.example --name bench --role Machine.Read.All --role Alert.Read.All >"$DATA/app.json"
  touch "$DATA/seeded"
fi
# A writer adds users and logons for good: on SQLite it writes to a copy of
# the seeded tenant, so that every run reads the tenant as seeded (on
# PostgreSQL the writes stay; re-seed by removing $DATA/seeded).
SCRATCH=
HUNTERS=${HUNTERS:-0}
if { [ -n "$WRITER" ] || [ "$HUNTERS" -gt 0 ]; } && [ -z "$DB" ]; then
  SCRATCH=$OUT/scratch-$$
  rm -rf "$SCRATCH"; cp -rL "$DATA" "$SCRATCH" # -L: DATA may be a symlink to a shared tenant
  DATA=$SCRATCH; DBARG=$DATA/openatp.db
fi
CLIENT_ID=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/app.json")
TOKEN=$("$OUT/openatp" token --data "$DATA" --db "$DBARG" --tenant bench.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PORT")
"$OUT/benchtool" -db "$DBARG" -tenant bench.example -token "$TOKEN" -users 20000 -route "$ROUTE" -out "$OUT/users.lua"
cat >>"$OUT/users.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d bytes=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.bytes, summary.errors.status + summary.errors.read + summary.errors.connect,
    latency:percentile(50), latency:percentile(99)))
end
LUA

SERVERS=()
BASE=
HPIDS=()
# stop_hunters ends the hunting clients and their requests in flight.
stop_hunters() {
  local h
  for h in ${HPIDS[@]+"${HPIDS[@]}"}; do pkill -P "$h" 2>/dev/null || true; kill "$h" 2>/dev/null || true; done
  HPIDS=()
}
cleanup() {
  stop_hunters
  kill "${SERVERS[@]}" $BASE 2>/dev/null || true
  wait "${SERVERS[@]}" 2>/dev/null || true
  if [ -n "$PGCTL" ]; then as_pg $PGCTL -m fast stop >/dev/null || true; fi
  if [ -n "$SCRATCH" ]; then rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT
P1=$(sed -n '3p' "$OUT/users.lua" | tr -d ' ",')
PORTS=()
for r in $(seq 0 $((REPLICAS - 1))); do
  P=$((PORT + 2 * r)); PORTS+=("$P")
  EXTRA=(); if [ -n "$AB" ] && [ "$r" = 0 ]; then EXTRA=("${EXTRA0[@]}"); elif [ -n "$AB" ]; then EXTRA=("${EXTRA1[@]}"); fi
  "$OUT/openatp" serve --data "$DATA" --db "$DBARG" --addr "127.0.0.1:$P" --tls-addr "" --rate-limit "${RATE_LIMIT:-off}" --access-log=${ACCESS_LOG:-false} --log-level "${LOG_LEVEL:-info}" \
    --index-memory "${INDEX_MEMORY:-8GiB}" ${PROFILE:+--cpu-profile "$OUT/serve$r.prof"} ${EXTRA[@]+"${EXTRA[@]}"} >"$OUT/serve$r.out" 2>"$OUT/serve$r.log" &
  SERVERS+=($!)
done
for P in "${PORTS[@]}"; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$P/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
done
echo "== warming the index (first requests are answered from the store meanwhile)"
for r in "${!PORTS[@]}"; do
  for _ in $(seq 600); do
    grep -q "index built" "$OUT/serve$r.log" && break
    curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${PORTS[$r]}$P1" >/dev/null || true
    sleep 0.5
  done
  grep "index built" "$OUT/serve$r.log" || { echo "index not built"; tail "$OUT/serve$r.log"; exit 1; }
done
SERVER=${SERVERS[0]}
for P in "${PORTS[@]}"; do wrk -t"$THREADS" -c"$CONNS" -d5s -s "$OUT/users.lua" "http://127.0.0.1:$P" >/dev/null; done

HDR=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$P1" | wc -c)
run() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$OUT/users.lua" "$1" | tee -a "$OUT/wrk.log" | grep -E "Requests/sec|RESULT"; }
# runall drives every replica at once, CONNS/REPLICAS connections each, and
# prints the summed Requests/sec and RESULT line.
runall() {
  local c=$(( CONNS / REPLICAS )) outs=() r
  for r in "${!PORTS[@]}"; do
    wrk -t"$THREADS" -c"$c" -d"$DURATION" -s "$OUT/users.lua" "http://127.0.0.1:${PORTS[$r]}" >"$OUT/wrk$r.out" &
    outs+=($!)
  done
  wait "${outs[@]}"
  cat "$OUT"/wrk[0-9]*.out >>"$OUT/wrk.log"
  cat "$OUT"/wrk[0-9]*.out | awk '
    /Requests\/sec/ {rps += $2}
    /^RESULT/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); if (kv[1] ~ /_us$/) {if (kv[2] > v[kv[1]]) v[kv[1]] = kv[2]} else v[kv[1]] += kv[2]}}
    END {printf "Requests/sec: %.2f\nRESULT requests=%d bytes=%d errors=%d p50_us=%d p99_us=%d\n", rps, v["requests"], v["bytes"], v["errors"], v["p50_us"], v["p99_us"]}'
  rm -f "$OUT"/wrk[0-9]*.out
}
: >"$OUT/wrk.log"
STORE=SQLite; [ -n "$DB" ] && STORE=PostgreSQL
if [ -n "$AB" ]; then
  echo "== $AB ($STORE): route $ROUTE, $CONNS connections, $ROUNDS rounds of $DURATION per server"
  # The rate, and the server's CPU time per request (user+system, from
  # /proc: steadier than the rate when others share the machine).
  cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  TICK=$(getconf CLK_TCK)
  S0=0; S1=0; C0=0; C1=0; N0=0; N1=0; PAIRS=()
  for round in $(seq "$ROUNDS"); do
    ORDER="0 1"; [ $((round % 2)) = 0 ] && ORDER="1 0"
    for r in $ORDER; do
      T0=$(cpu "${SERVERS[$r]}")
      OUTR=$(run "http://127.0.0.1:${PORTS[$r]}")
      T1=$(cpu "${SERVERS[$r]}")
      RPS=$(echo "$OUTR" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p')
      REQ=$(echo "$OUTR" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
      CPUREQ=$(awk -v t=$((T1 - T0)) -v n="$REQ" -v k="$TICK" 'BEGIN{printf "%.2f", t/k*1e6/n}')
      echo "round $round server $r: $RPS requests/s, $CPUREQ µs CPU/request"
      eval "RPS$r=\$RPS CPUREQ$r=\$CPUREQ"
      if [ "$r" = 0 ]; then S0=$(awk -v a="$S0" -v b="$RPS" 'BEGIN{print a+b}'); C0=$((C0 + T1 - T0)); N0=$((N0 + REQ))
      else S1=$(awk -v a="$S1" -v b="$RPS" 'BEGIN{print a+b}'); C1=$((C1 + T1 - T0)); N1=$((N1 + REQ)); fi
    done
    PAIRS+=("$(awk -v a="$RPS1" -v b="$RPS0" -v c="$CPUREQ1" -v d="$CPUREQ0" 'BEGIN{printf "%.4f %.4f", a/b, c/d}')")
  done
  # median COLUMN: the median of the rounds' ratios in that column.
  median() { printf '%s\n' "${PAIRS[@]}" | awk -v c="$1" '{print $c}' | sort -g | awk '{v[NR]=$1} END{printf "%.3f", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
  echo "median of the rounds' ratios (server1/server0): rate $(median 1), CPU per request $(median 2)"
  for r in 0 1; do
    echo "server $r memory: $(awk '/VmRSS|VmHWM/ {printf "%s %.0f MiB  ", $1, $2/1024}' /proc/${SERVERS[$r]}/status)"
  done
  echo "ab=\"$AB\" server0_rps=$(awk -v s="$S0" -v n="$ROUNDS" 'BEGIN{printf "%.0f", s/n}') server1_rps=$(awk -v s="$S1" -v n="$ROUNDS" 'BEGIN{printf "%.0f", s/n}') ratio=$(awk -v a="$S1" -v b="$S0" 'BEGIN{printf "%.3f", a/b}')"
  echo "cpu_per_request: server0=$(awk -v c="$C0" -v n="$N0" -v k="$TICK" 'BEGIN{printf "%.1f", c/k*1e6/n}')µs server1=$(awk -v c="$C1" -v n="$N1" -v k="$TICK" 'BEGIN{printf "%.1f", c/k*1e6/n}')µs ratio(server1/server0)=$(awk -v c0="$C0" -v n0="$N0" -v c1="$C1" -v n1="$N1" 'BEGIN{printf "%.3f", (c1/n1)/(c0/n0)}')"
  exit 0
fi
echo "== openatp ($REPLICAS replica(s), $STORE): route $ROUTE, $CONNS connections, $DURATION${WRITER:+, writer: $WRITER}"
BUILDS0=$(grep -c "index built" "$OUT/serve0.log" || true)
WPID=
case "$WRITER" in
  trickle)
    "$OUT/writer" -db "$DBARG" -tenant bench.example -base "http://127.0.0.1:$PORT" -token "$TOKEN" \
      -batch 20 -every 250ms -duration "$DURATION" >"$OUT/writer.out" 2>&1 &
    WPID=$! ;;
  bulk)
    "$OUT/writer" -db "$DBARG" -tenant bench.example -base "http://127.0.0.1:$PORT" -token "$TOKEN" -gen 100000 >"$OUT/bulk.jsonl"
    ( sleep 2; /usr/bin/time -f "import: %e s" "$OUT/openatp" import --data "$DATA" --db "$DBARG" --tenant bench.example \
        --batch-size 5000 "$OUT/bulk.jsonl" >"$OUT/writer.out" 2>&1 ) &
    WPID=$! ;;
  "") ;;
  *) echo "WRITER must be trickle or bulk" >&2; exit 1 ;;
esac
if [ "$HUNTERS" -gt 0 ]; then
  HAPP=$("$OUT/openatp" app create --data "$DATA" --db "$DBARG" --tenant bench.example --name hunters --role AdvancedQuery.Read.All |
    grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' | head -1)
  HTOKEN=$("$OUT/openatp" token --data "$DATA" --db "$DBARG" --tenant bench.example --app "$HAPP" --base-url "http://127.0.0.1:$PORT")
  HBODY=$(jq -nc --arg q "${HUNT_QUERY:-DeviceInfo | summarize count() by OSPlatform}" '{Query: $q}')
  : >"$OUT/hunters.log"
  for _ in $(seq "$HUNTERS"); do
    ( while :; do curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $HTOKEN" -H 'Content-Type: application/json' \
        -d "$HBODY" "http://127.0.0.1:$PORT/api/advancedqueries/run" >>"$OUT/hunters.log"; done ) &
    HPIDS+=($!)
  done
  sleep 2
  echo "== $HUNTERS hunting clients posting: $HBODY"
  INTERLEAVE=0
fi
if [ "$REPLICAS" = 1 ]; then REAL=$(run "http://127.0.0.1:$PORT"); else REAL=$(runall); fi
echo "$REAL"
if [ "$HUNTERS" -gt 0 ]; then
  stop_hunters
  echo "hunting queries completed during the run: $(grep -c '^200' "$OUT/hunters.log" || true) (other answers: $(grep -vc '^200' "$OUT/hunters.log" || true))"
fi
if [ -n "$WPID" ]; then
  wait "$WPID" || { cat "$OUT/writer.out"; exit 1; }
  grep -E "WRITER|import:" "$OUT/writer.out" || tail -3 "$OUT/writer.out"
  echo "full index builds during the run: $(( $(grep -c "index built" "$OUT/serve0.log" || true) - BUILDS0 ))"
fi
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
echo "store=$STORE replicas=$REPLICAS machines=$MACHINES users=$USERS alerts=$ALERTS mean_response_bytes=$AVG"
echo "route=$ROUTE openatp_rps=$R baseline_rps=$B ratio=$(awk -v r="$R" -v b="$B" 'BEGIN{printf "%.2f", r/b}')"
BR=$(echo "$REAL" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p'); BB=$(echo "$BASEOUT" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
echo "bytes: openatp=$BR baseline=$BB ratio=$(awk -v r="$BR" -v b="$BB" 'BEGIN{printf "%.2f", r/b}')"
echo "server memory: $RSS"
# Then, at rest, the two in turn: INTERLEAVE rounds (default 6; 0: none) of
# ROUND_TIME (default 8s) each, in the order openatp baseline, baseline
# openatp, ...; a round's two runs are adjacent in time, so the median of
# the rounds' ratios is what a drift or a burst of the machine's other
# work spoils least (the runs above are 20 s apart).
INTERLEAVE=${INTERLEAVE:-6}
if [ -z "$WRITER" ] && [ "$REPLICAS" = 1 ] && [ "$INTERLEAVE" -gt 0 ]; then
  rate() { wrk -t"$THREADS" -c"$CONNS" -d"${ROUND_TIME:-8s}" -s "$OUT/users.lua" "$1" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p'; }
  RATIOS=()
  for round in $(seq "$INTERLEAVE"); do
    if [ $((round % 2)) = 1 ]; then RO=$(rate "http://127.0.0.1:$PORT"); RB=$(rate "http://127.0.0.1:$BPORT")
    else RB=$(rate "http://127.0.0.1:$BPORT"); RO=$(rate "http://127.0.0.1:$PORT"); fi
    RATIOS+=("$(awk -v r="$RO" -v b="$RB" 'BEGIN{printf "%.4f", r/b}')")
    echo "round $round: openatp $RO, baseline $RB requests/s, ratio ${RATIOS[-1]}"
  done
  echo "interleaved ($INTERLEAVE rounds of ${ROUND_TIME:-8s}): median ratio $(printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{v[NR]=$1} END{printf "%.3f", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"
fi
