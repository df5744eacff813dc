#!/usr/bin/env bash
# Resident memory of one server holding bench/load.sh's tenant (1,000,000
# machines, 200,000 users, 5,000,000 logons) and bench/tvm.sh's TVM fleet
# (100,000 machines × 40 products, 10,000 CVEs) together (issue 25's
# goal: below 1.5 GiB).
#
#   bench/tvmmem.sh [1M-tenant data dir]   (default bench/results/data-1000000-200000-5000000)
#   BIN_SERVE=path  serve with another openatp build (the data is prepared with
#             this worktree's)
#
# Once: copies the 1M tenant's data into bench/results/tvmmem (a shared
# dataset stays as it is), seeds the TVM tenant beside it and imports its
# catalog and inventory. Then starts `openatp serve`, builds both
# tenants' indexes (a machine page of each), the TVM counts (a machine's
# vulnerabilities) and pulls one by-machine page of 50,000 rows, and
# prints the server's resident memory (now and peak). Run it under the
# shared lock: flock /work/wt/bench.lock bash bench/tvmmem.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-bench/results/data-1000000-200000-5000000}
OUT=bench/results/tvmmem
BIN=bench/results/openatp
SERVE=${BIN_SERVE:-}
PORT=18295
go build -o "$BIN" ./cmd/openatp
go build -o bench/results/tvmtool ./bench/tvmtool
DATA=$OUT/data
if [ ! -f "$DATA/tvm-ready" ]; then
  rm -rf "$OUT"; mkdir -p "$OUT"; cp -rL "$SRC" "$DATA"
  "$BIN" seed --data "$DATA" --tenant tvm.example --machines 100000 --users 100 --logons 200 --seed 1 >/dev/null
  bench/results/tvmtool -data "$DATA" -tenant tvm.example -out "$OUT" -cves 10000 -per-machine 40
  "$BIN" import --data "$DATA" --tenant tvm.example --kind catalog "$OUT/catalog.jsonl" >/dev/null
  "$BIN" import --data "$DATA" --tenant tvm.example --kind inventory "$OUT/inventory.jsonl" >/dev/null
  rm -f "$OUT/inventory.jsonl"
  "$BIN" app create --data "$DATA" --tenant tvm.example --name tvmmem --role Vulnerability.Read.All --role Machine.Read.All >"$DATA/tvmapp.json"
  touch "$DATA/tvm-ready"
fi
id_of() { sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$1"; }
TOK1=$("$BIN" token --data "$DATA" --tenant bench.example --app "$(id_of "$DATA/app.json")" --base-url "http://127.0.0.1:$PORT")
TOK2=$("$BIN" token --data "$DATA" --tenant tvm.example --app "$(id_of "$DATA/tvmapp.json")" --base-url "http://127.0.0.1:$PORT")
"${SERVE:-$BIN}" serve --data "$DATA" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit off --access-log=false >"$OUT/serve.out" 2>"$OUT/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
get() { curl -fs -o /dev/null -w '%{http_code} %{size_download}\n' -H "Authorization: Bearer $1" "http://127.0.0.1:$PORT$2" || true; }
for _ in $(seq 600); do
  [ "$(grep -c "index built" "$OUT/serve.log")" -ge 2 ] && break
  get "$TOK1" '/api/machines?$top=1' >/dev/null; get "$TOK2" '/api/machines?$top=1' >/dev/null
  sleep 1
done
grep "index built" "$OUT/serve.log" | sed 's/^.*msg=/  /'
M=$(sqlite3 "$DATA/openatp.db" "SELECT m.id FROM machines m JOIN tenants t ON t.seq = m.tenant_seq JOIN tvm_inventory i ON i.machine_seq = m.seq AND i.tenant_seq = m.tenant_seq WHERE t.name = 'tvm.example' LIMIT 1")
echo "a machine's vulnerabilities: $(get "$TOK2" "/api/machines/$M/vulnerabilities")"
echo "a by-machine page of 50,000 rows: $(get "$TOK2" '/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=50000')"
get "$TOK1" '/api/machines?$top=10000' >/dev/null
awk '/VmRSS|VmHWM/ {printf "%s %.0f MiB\n", $1, $2 / 1024}' "/proc/$PID/status"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
