#!/usr/bin/env bash
# Import benchmark of vulnerability management's inventory on SQLite.
#
#   bench/tvm.sh [machines] [products per machine] [cves]   (default 100000 40 10000)
#
# 1. seeds a tenant of that many machines (few users; not timed here);
# 2. writes a generated catalog (CVEs, updates) and the inventory of
#    every machine as JSON Lines (bench/tvmtool): machines × products
#    installed-software rows, plus the updates Windows machines miss;
# 3. baseline: `import --dry-run --kind inventory` of the file (every
#    record read and checked, nothing written), measured in the same run;
# 4. imports the catalog, then the inventory into the tenant (one
#    transaction), then the same inventory again (every machine then has
#    one: the merge path);
# and prints each rate, its ratio to the baseline, and peak memory (the
# maximum resident set size of /usr/bin/time). Run it under the shared
# lock: flock /work/wt/bench.lock bash bench/tvm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MACHINES=${1:-100000}
PER=${2:-40}
CVES=${3:-10000}
OUT=bench/results/tvm-$MACHINES-$PER-$CVES
BIN=bench/results/openatp
mkdir -p bench/results
rm -rf "$OUT"; mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time missing: apt-get install -y time" >&2; exit 1; }
go build -o "$BIN" ./cmd/openatp
go build -o bench/results/tvmtool ./bench/tvmtool

timed() {
  local name=$1; shift
  /usr/bin/time -v "$@" >"$OUT/$name.json" 2>"$OUT/$name.log" || { tail -20 "$OUT/$name.log"; exit 1; }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$OUT/$name.log")
  RSS_MIB=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$OUT/$name.log")
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n/s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

echo "== seed: $MACHINES machines"
"$BIN" seed --data "$OUT/data" --tenant bench.example --machines "$MACHINES" --users 100 --logons 200 --seed 1 >/dev/null
echo "== files: catalog of $CVES CVEs, $PER products a machine"
bench/results/tvmtool -data "$OUT/data" -tenant bench.example -out "$OUT" -cves "$CVES" -per-machine "$PER"
NR=$(wc -l <"$OUT/inventory.jsonl")
NI=$(grep -vc missingKbId "$OUT/inventory.jsonl" || true)
echo "inventory.jsonl: $NR records ($NI installed software, $((NR - NI)) missing updates), $(du -h "$OUT/inventory.jsonl" | cut -f1)"

echo "== baseline: import --dry-run --kind inventory (read and check, write nothing)"
timed dry "$BIN" import --dry-run --kind inventory "$OUT/inventory.jsonl"
DRY=$SECS
echo "read: ${DRY} s, $(rate "$NR" "$DRY") records/s, peak RSS ${RSS_MIB} MiB"

echo "== import --kind catalog"
timed catalog "$BIN" import --data "$OUT/data" --tenant bench.example --kind catalog "$OUT/catalog.jsonl"
echo "catalog: ${SECS} s ($CVES CVEs), peak RSS ${RSS_MIB} MiB"

echo "== import --kind inventory (one transaction, machines without inventory)"
timed inventory "$BIN" import --data "$OUT/data" --tenant bench.example --kind inventory "$OUT/inventory.jsonl"
INV=$SECS
echo "inventory: ${INV} s, $(rate "$NR" "$INV") records/s ($(rate "$NI" "$INV") installed-software rows/s), $(ratio "$DRY" "$INV") × the read-only rate, peak RSS ${RSS_MIB} MiB"

echo "== import --kind inventory again (every machine has an inventory: merged)"
timed again "$BIN" import --data "$OUT/data" --tenant bench.example --kind inventory "$OUT/inventory.jsonl"
AGAIN=$SECS
echo "again: ${AGAIN} s, $(rate "$NR" "$AGAIN") records/s ($(rate "$NI" "$AGAIN") installed-software rows/s), $(ratio "$DRY" "$AGAIN") × the read-only rate, peak RSS ${RSS_MIB} MiB"
echo "database: $(du -h "$OUT/data/openatp.db" | cut -f1)"
[ "${KEEP:-0}" = 1 ] || rm -f "$OUT/inventory.jsonl"
