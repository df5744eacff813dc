#!/usr/bin/env bash
# Advanced hunting benchmark (issue 27): the issue's three queries over the
# bench/load.sh tenant (1,000,000 machines, 200,000 users, 5,000,000 logon
# events), each through POST /api/advancedqueries/run beside the
# equivalent SQL on the same file run by the sqlite3 shell (the C library)
# and by the SQLite the server runs (modernc.org/sqlite, a Go translation
# of it: bench/huntsql), printed side by side: the best of RUNS runs of
# each (after one run that warms the read model), in seconds, and the
# route's time over each.
#
#   flock /work/wt/bench.lock bash bench/hunt.sh
#
# Seeds its own tenant once (bench/results/data-hunt-1000000, about three
# minutes): the logon events are kept as rows since issue 27, and a tenant
# seeded before has none. RUNS (default 3), PORT (18390); BIN, a server
# binary built before (else the worktree's is built): to measure two
# revisions in one session.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results
DATA=${DATA:-$OUT/data-hunt-1000000}
RUNS=${RUNS:-3}
PORT=${PORT:-18390}
if [ -z "${BIN:-}" ]; then
  BIN=$OUT/openatp-hunt
  go build -o "$BIN" ./cmd/openatp
fi
go build -o "$OUT/huntsql" ./bench/huntsql
mkdir -p "$DATA"
if [ ! -f "$DATA/seeded.txt" ]; then
  echo "== seeding 1,000,000 machines, 200,000 users, 5,000,000 logon events (once)"
  "$BIN" seed --data "$DATA" --tenant bench.example --machines 1000000 --users 200000 --logons 5000000 --seed 1 >"$DATA/seed.json" 2>"$DATA/seed.log"
  echo seeded >"$DATA/seeded.txt"
fi
DB=$DATA/openatp.db
if [ ! -f "$DATA/hunt-app.txt" ]; then
  "$BIN" app create --data "$DATA" --tenant bench.example --name hunt-bench --role AdvancedQuery.Read.All >"$DATA/hunt-app.txt"
fi
CLIENT_ID=$(grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' "$DATA/hunt-app.txt" | head -1)
TOKEN=$("$BIN" token --data "$DATA" --tenant bench.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PORT")
TSEQ=$(sqlite3 "$DB" "SELECT seq FROM tenants WHERE name = 'bench.example'")

"$BIN" serve --data "$DATA" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit off --hunting-cpu-budget 0 \
  --access-log=false --index-memory 8GiB >"$OUT/hunt-serve.out" 2>"$OUT/hunt-serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# kql QUERY: prints the seconds the route took and its answer's first 300
# bytes to $OUT/hunt-answers.log.
kql() {
  local body t
  body=$(jq -nc --arg q "$1" '{Query: $q}')
  t=$(curl -s -o "$OUT/hunt-answer.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$PORT/api/advancedqueries/run")
  { echo "$1"; head -c 300 "$OUT/hunt-answer.json"; echo; } >>"$OUT/hunt-answers.log"
  grep -q '"Results"' "$OUT/hunt-answer.json" || { echo "query failed: $(head -c 300 "$OUT/hunt-answer.json")" >&2; exit 1; }
  echo "$t"
}
# sql STATEMENT: prints the seconds the sqlite3 shell took to run it.
sql() {
  printf '.timer on\n%s;\n' "$1" | sqlite3 "$DB" | tee -a "$OUT/hunt-answers.log" | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' | tail -1
}
best() { sort -g | head -1; }

echo "== warming the read model"
for _ in $(seq 120); do
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"Query":"DeviceInfo | count"}' "http://127.0.0.1:$PORT/api/advancedqueries/run" | grep -q 200 && break
  sleep 1
done
: >"$OUT/hunt-answers.log"
NOW=$(date +%s)
WEEK=$(( (NOW - 7 * 86400) * 1000000000 ))
DAY=$(( (NOW - 86400) * 1000000000 ))
MONTH=$(( (NOW - 30 * 86400) * 1000000000 ))
NAMES=("top 10 accounts, 7 days" "logons of a day joined to DeviceInfo" "dcount of accounts by day")
KQL=(
  "DeviceLogonEvents | where Timestamp > ago(7d) | summarize count() by AccountName | top 10 by count_"
  "DeviceInfo | project DeviceId, OSPlatform | join kind=inner (DeviceLogonEvents | where Timestamp > ago(1d)) on DeviceId | summarize count() by OSPlatform"
  "DeviceLogonEvents | summarize dcount(AccountName) by bin(Timestamp, 1d)"
)
SQL=(
  "SELECT account_name, count(*) AS c FROM logon_events WHERE tenant_seq = $TSEQ AND ts > $WEEK GROUP BY account_name ORDER BY c DESC LIMIT 10"
  "SELECT m.os_platform, count(*) FROM logon_events e JOIN machines m ON m.seq = e.machine_seq WHERE e.tenant_seq = $TSEQ AND e.ts > $DAY AND m.last_seen >= $MONTH GROUP BY m.os_platform"
  "SELECT ts / 86400000000000, count(DISTINCT account_name) FROM logon_events WHERE tenant_seq = $TSEQ AND ts >= $MONTH GROUP BY 1"
)
printf '%-40s %12s %12s %12s %8s %8s\n' "query" "hunting (s)" "SQL, C (s)" "SQL, Go (s)" "/C" "/Go"
for i in "${!KQL[@]}"; do
  kql "${KQL[$i]}" >/dev/null
  k=$(for _ in $(seq "$RUNS"); do kql "${KQL[$i]}"; done | best)
  s=$(for _ in $(seq "$RUNS"); do sql "${SQL[$i]}"; done | best)
  g=$("$OUT/huntsql" -db "$DB" -runs "$RUNS" "${SQL[$i]}")
  awk -v n="${NAMES[$i]}" -v k="$k" -v s="$s" -v g="$g" 'BEGIN{printf "%-40s %12.3f %12.3f %12.3f %8s %8s\n", n, k, s, g,
    (s > 0 ? sprintf("%.2f", k / s) : "-"), (g > 0 ? sprintf("%.2f", k / g) : "-")}'
done
echo "(answers in $OUT/hunt-answers.log; RSS $(ps -o rss= -p $SERVER) KiB)"
