#!/usr/bin/env bash
# Load-rate benchmark of `openatp seed` and `openatp import` on SQLite.
#
#   bench/import.sh [machines] [users] [logons]   (default 1000000 200000 5000000)
#
# 1. seeds a tenant into a fresh data dir (rate and peak memory of seed);
# 2. writes the same generated records as JSON Lines (seed --out): every
#    machine, then every logon event (5,000,000 by default);
# 3. reads both files with import --dry-run (every record parsed and
#    checked, nothing written): the baseline the import rates are divided
#    by, measured in the same run;
# 4. imports both files into another fresh data dir, each file one
#    transaction read in one pass (rate and peak memory of import);
# 5. imports them again into a third data dir with --batch-size 250000
#    --validate=false (one pass, a transaction per 250,000 records);
# 6. checks that the seeded and the imported tenants export identically.
# Peak memory is the maximum resident set size reported by /usr/bin/time.
# Results go to bench/results/import-<machines>-<users>-<logons>/ (the
# large files are deleted at the end; KEEP=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
MACHINES=${1:-1000000}
USERS=${2:-200000}
LOGONS=${3:-5000000}
OUT=bench/results/import-$MACHINES-$USERS-$LOGONS
BIN=bench/results/openatp
mkdir -p bench/results
rm -rf "$OUT"; mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time missing: apt-get install -y time" >&2; exit 1; }
go build -o "$BIN" ./cmd/openatp

# timed NAME CMD...: runs CMD with /usr/bin/time -v, stderr to $OUT/NAME.log;
# sets SECS and RSS_MIB.
timed() {
  local name=$1; shift
  /usr/bin/time -v "$@" 2>"$OUT/$name.log" || { tail -20 "$OUT/$name.log"; exit 1; }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$OUT/$name.log")
  RSS_MIB=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$OUT/$name.log")
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n/s}'; }

echo "== seed: $MACHINES machines, $USERS users, $LOGONS logon events"
timed seed "$BIN" seed --data "$OUT/seeded" --tenant bench.example --machines "$MACHINES" --users "$USERS" --logons "$LOGONS" --seed 1 >"$OUT/seed.json"
SEED_SECS=$SECS; SEED_RSS=$RSS_MIB
phase() { sed -n "s/^  \"$1\": \([0-9.]*\).*/\1/p" "$OUT/seed.json" | awk '{printf "%.0f", $1}'; }
echo "seed: ${SEED_SECS} s, $(rate $((MACHINES + LOGONS)) "$SEED_SECS") records/s, peak RSS ${SEED_RSS} MiB"
echo "seed phases: $(phase machines_per_second) machines/s, then $(phase logons_per_second) logon events/s"

echo "== seed --out: the same records as JSON Lines files"
timed seed-files "$BIN" seed --out "$OUT/files" --machines "$MACHINES" --users "$USERS" --logons "$LOGONS" --seed 1 >/dev/null
NM=$(wc -l <"$OUT/files/machines.jsonl"); NL=$(wc -l <"$OUT/files/logons.jsonl")
echo "files: $NM machines ($(du -h "$OUT/files/machines.jsonl" | cut -f1)), $NL logon events ($(du -h "$OUT/files/logons.jsonl" | cut -f1)) in ${SECS} s"

echo "== baseline: import --dry-run (read and check, write nothing)"
timed dry-machines "$BIN" import --dry-run "$OUT/files/machines.jsonl" >/dev/null
DM_SECS=$SECS
timed dry-logons "$BIN" import --dry-run "$OUT/files/logons.jsonl" >/dev/null
DL_SECS=$SECS; DL_RSS=$RSS_MIB
echo "read machines: ${DM_SECS} s, $(rate "$NM" "$DM_SECS") machines/s"
echo "read logons:   ${DL_SECS} s, $(rate "$NL" "$DL_SECS") logon events/s, peak RSS ${DL_RSS} MiB"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

echo "== import, each file one transaction (one pass)"
timed import-machines "$BIN" import --data "$OUT/imported" --tenant bench.example "$OUT/files/machines.jsonl" >"$OUT/import-machines.json"
IM_SECS=$SECS; IM_RSS=$RSS_MIB
timed import-logons "$BIN" import --data "$OUT/imported" --tenant bench.example "$OUT/files/logons.jsonl" >"$OUT/import-logons.json"
IL_SECS=$SECS; IL_RSS=$RSS_MIB
echo "import machines: ${IM_SECS} s, $(rate "$NM" "$IM_SECS") machines/s, peak RSS ${IM_RSS} MiB"
echo "import logons:   ${IL_SECS} s, $(rate "$NL" "$IL_SECS") logon events/s, peak RSS ${IL_RSS} MiB"
echo "import/read-only rate: machines $(ratio "$DM_SECS" "$IM_SECS"), logons $(ratio "$DL_SECS" "$IL_SECS")"

echo "== import with --batch-size 250000 --validate=false"
timed import-machines-batched "$BIN" import --data "$OUT/batched" --tenant bench.example --batch-size 250000 --validate=false "$OUT/files/machines.jsonl" >/dev/null
BM_SECS=$SECS; BM_RSS=$RSS_MIB
timed import-logons-batched "$BIN" import --data "$OUT/batched" --tenant bench.example --batch-size 250000 --validate=false "$OUT/files/logons.jsonl" >/dev/null
BL_SECS=$SECS; BL_RSS=$RSS_MIB
echo "import machines: ${BM_SECS} s, $(rate "$NM" "$BM_SECS") machines/s, peak RSS ${BM_RSS} MiB"
echo "import logons:   ${BL_SECS} s, $(rate "$NL" "$BL_SECS") logon events/s, peak RSS ${BL_RSS} MiB"
echo "import/read-only rate: machines $(ratio "$DM_SECS" "$BM_SECS"), logons $(ratio "$DL_SECS" "$BL_SECS")"

echo "== round trip"
for kind in machines logons; do
  "$BIN" export --data "$OUT/seeded" --tenant bench.example --kind $kind --out "$OUT/seeded-$kind.jsonl" 2>/dev/null
  "$BIN" export --data "$OUT/imported" --tenant bench.example --kind $kind 2>/dev/null | cmp - "$OUT/seeded-$kind.jsonl"
done
echo "the imported tenant exports byte-identically to the seeded one"
[ -n "${KEEP:-}" ] || rm -rf "$OUT/batched" "$OUT/files" "$OUT"/seeded-*.jsonl
