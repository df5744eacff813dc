#!/usr/bin/env bash
# The read model's build of a tenant with alerts, against the same tenant
# without them (the baseline, measured in the same run):
#
#   bench/alertbuild.sh [machines] [alerts] [rounds]   (default 100000 1000000 2)
#
# Seeds (once, cached in bench/results/) the tenant of bench/load.sh's
# alert route (machines, machines/2 users, 5 logons a machine, --seed 1)
# with and without the alerts, then, ROUNDS times in alternating order,
# starts `openatp serve` on each, waits for its index to be built (serve
# warms it at start), and reads the build's duration from the log and the
# server's resident memory then (VmRSS; VmHWM: its peak). Prints each run,
# the medians, and the alerts' cost over the baseline. Run it under the
# shared lock: flock /work/wt/bench.lock bash bench/alertbuild.sh
set -euo pipefail
# Builds from the store each start, as the numbers printed assume (serve --checkpoint off;
# a binary without the flag ignores the variable).
export OPENATP_CHECKPOINT=${OPENATP_CHECKPOINT:-off}
cd "$(dirname "$0")/.."
MACHINES=${1:-100000}
ALERTS=${2:-1000000}
ROUNDS=${3:-2}
USERS=$((MACHINES / 2)); LOGONS=$((MACHINES * 5))
OUT=bench/results
PORT=${PORT:-18090}
mkdir -p "$OUT"
go build -o "$OUT/openatp" ./cmd/openatp

# seed DIR ALERTS: the tenant, once.
seed() {
  if [ ! -f "$1/seeded" ]; then
    rm -rf "$1"; mkdir -p "$1"
    echo "== seeding $MACHINES machines, $2 alerts into $1 (once)"
    "$OUT/openatp" seed --data "$1" --db "$1/openatp.db" --tenant bench.example --machines "$MACHINES" --users "$USERS" \
      --logons "$LOGONS" --alerts "$2" --seed 1 >"$1/seed.json" 2>"$1/seed.log" || { tail "$1/seed.log"; exit 1; }
    touch "$1/seeded"
  fi
}
BASE=$OUT/data-$MACHINES-$USERS-$LOGONS
WITH=$BASE-$ALERTS
seed "$BASE" 0
seed "$WITH" "$ALERTS"

SERVER=
trap '[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true' EXIT
# build DIR: prints "<seconds> <VmRSS MiB> <VmHWM MiB>" of one server's build.
build() {
  local log=$OUT/alertbuild.log
  "$OUT/openatp" serve --data "$1" --db "$1/openatp.db" --addr "127.0.0.1:$PORT" --tls-addr "" --index-memory 8GiB \
    --log-level info >/dev/null 2>"$log" &
  SERVER=$!
  for _ in $(seq 6000); do grep -q "index built" "$log" && break; sleep 0.1; done
  grep -q "index built" "$log" || { echo "index not built" >&2; tail "$log" >&2; exit 1; }
  sleep 1 # the build's garbage given back (debug.FreeOSMemory after a build)
  local d
  d=$(grep "index built" "$log" | sed -n 's/.*duration=\([^ ]*\).*/\1/p' | head -1)
  awk -v d="$d" '
    BEGIN { s = d; if (s ~ /ms$/) { sub(/ms$/, "", s); s /= 1000 } else if (s ~ /m[0-9.]*s$/) { split(s, p, "m"); sub(/s$/, "", p[2]); s = p[1]*60 + p[2] } else sub(/s$/, "", s) }
    /VmRSS/ { rss = $2 / 1024 } /VmHWM/ { hwm = $2 / 1024 }
    END { printf "%.2f %.0f %.0f\n", s, rss, hwm }' "/proc/$SERVER/status"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
}
B=(); W=()
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then b=$(build "$BASE"); w=$(build "$WITH"); else w=$(build "$WITH"); b=$(build "$BASE"); fi
  B+=("$b"); W+=("$w")
  echo "round $round: baseline (no alerts) build ${b%% *} s, RSS $(echo "$b" | cut -d' ' -f2) MiB (peak $(echo "$b" | cut -d' ' -f3));" \
    "with $ALERTS alerts ${w%% *} s, RSS $(echo "$w" | cut -d' ' -f2) MiB (peak $(echo "$w" | cut -d' ' -f3))"
done
# median COLUMN ROWS...
median() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | sort -g | awk '{v[NR]=$1} END{printf "%s", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
BS=$(median 1 "${B[@]}"); BR=$(median 2 "${B[@]}"); BH=$(median 3 "${B[@]}")
WS=$(median 1 "${W[@]}"); WR=$(median 2 "${W[@]}"); WH=$(median 3 "${W[@]}")
echo
echo "machines=$MACHINES alerts=$ALERTS rounds=$ROUNDS (medians)"
echo "baseline (machines only): build ${BS}s rss=${BR}MiB peak=${BH}MiB"
echo "with alerts:              build ${WS}s rss=${WR}MiB peak=${WH}MiB"
awk -v bs="$BS" -v ws="$WS" -v br="$BR" -v wr="$WR" -v n="$ALERTS" 'BEGIN {
  printf "alerts cost: build +%.2fs (ratio %.2f), resident +%.0f MiB (ratio %.2f, %.0f bytes an alert)\n", ws-bs, ws/bs, wr-br, wr/br, (wr-br)*1048576/n }'
