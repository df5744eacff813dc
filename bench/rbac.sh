#!/usr/bin/env bash
# RBAC benchmark on the load benchmark's tenant (run bench/load.sh first):
#   - GET /api/users/{random}/machines with a delegated token (View Data,
#     some device groups hidden) beside an application token, same users,
#     same run: requests/s and their ratio;
#   - the time to recompute every machine's device group after a rule
#     change (the server's "index built ... groups_only=true" log line),
#     while answers stay correct (served from the store meanwhile).
set -euo pipefail
# Builds from the store each start, as the numbers printed assume (serve --checkpoint off;
# a binary without the flag ignores the variable).
export OPENATP_CHECKPOINT=${OPENATP_CHECKPOINT:-off}
cd "$(dirname "$0")/.."
MACHINES=${1:-1000000}; USERS=${2:-200000}; LOGONS=${3:-5000000}
DURATION=${DURATION:-15s}; CONNS=${CONNS:-32}; PORT=${PORT:-18090}
OUT=bench/results
DATA=$OUT/data-$MACHINES-$USERS-$LOGONS
[ -f "$DATA/seeded" ] || { echo "run bench/load.sh $MACHINES $USERS $LOGONS first" >&2; exit 1; }
go build -o "$OUT/openatp" ./cmd/openatp
go build -o "$OUT/benchtool" ./bench/benchtool
O="$OUT/openatp"; A=(--data "$DATA" --tenant bench.example)
if [ ! -f "$DATA/rbac-seeded" ]; then
  "$O" usergroup create "${A[@]}" --id g-analysts --name Analysts >/dev/null
  "$O" usergroup create "${A[@]}" --id g-admins --name Admins >/dev/null
  "$O" role create "${A[@]}" --name Analyst --permission "View Data" --user-group g-analysts >/dev/null
  # Device groups by OS: servers and Linux hidden from analysts.
  "$O" group create "${A[@]}" --name Servers --rule osPlatform=WindowsServer2019,WindowsServer2022 --user-group g-admins >/dev/null
  "$O" group create "${A[@]}" --name Linux --rule osPlatform=Linux --user-group g-admins >/dev/null
  "$O" group create "${A[@]}" --name Workstations --rule osPlatform=Windows10,Windows11 --user-group g-analysts >/dev/null
  "$O" app create "${A[@]}" --name native --scope Machine.Read >"$DATA/native.json"
  "$O" user create "${A[@]}" --name ana@bench.example --password "bench-password" --group g-analysts >/dev/null
  touch "$DATA/rbac-seeded"
fi
APP=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/app.json")
NATIVE=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/native.json")
APPTOK=$("$O" token "${A[@]}" --app "$APP" --base-url "http://127.0.0.1:$PORT")
DELTOK=$("$O" token "${A[@]}" --app "$NATIVE" --user ana@bench.example --base-url "http://127.0.0.1:$PORT")
"$OUT/benchtool" -db "$DATA/openatp.db" -tenant bench.example -token "$APPTOK" -users 20000 -out "$OUT/app.lua"
sed "s/^local token = .*/local token = \"$DELTOK\"/" "$OUT/app.lua" >"$OUT/delegated.lua"

"$O" serve --data "$DATA" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit off --access-log=false >"$OUT/rbac-serve.out" 2>"$OUT/rbac-serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
U1=$(sed -n '3p' "$OUT/app.lua" | tr -d ' ",')
for _ in $(seq 600); do
  grep -q "index built" "$OUT/rbac-serve.log" && break
  curl -s -o /dev/null -H "Authorization: Bearer $APPTOK" "http://127.0.0.1:$PORT/api/users/$U1/machines"; sleep 0.5
done
grep "index built" "$OUT/rbac-serve.log"
wrk -t1 -c"$CONNS" -d5s -s "$OUT/app.lua" "http://127.0.0.1:$PORT" >/dev/null
R=(); for kind in app delegated app delegated; do
  rps=$(wrk -t1 -c"$CONNS" -d"$DURATION" -s "$OUT/$kind.lua" "http://127.0.0.1:$PORT" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p')
  echo "$kind: $rps requests/s"; R+=("$rps")
done
awk -v a1="${R[0]}" -v d1="${R[1]}" -v a2="${R[2]}" -v d2="${R[3]}" 'BEGIN{printf "delegated cost relative to application: %.2fx\n", (a1+a2)/(d1+d2)}'

echo "== rule change: Workstations group moves to rank 1 and gains Windows Server"
BEFORE=$(grep -c "index built" "$OUT/rbac-serve.log")
START=$(date +%s.%N)
"$O" group update "${A[@]}" --id "$(  "$O" group list "${A[@]}" | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["name"]=="Workstations"][0])')" \
  --rank 1 --rule osPlatform=Windows10,Windows11,WindowsServer2019 >/dev/null
for _ in $(seq 2000); do
  curl -s -o /dev/null -H "Authorization: Bearer $DELTOK" "http://127.0.0.1:$PORT/api/users/$U1/machines"
  [ "$(grep -c "index built" "$OUT/rbac-serve.log")" -gt "$BEFORE" ] && break; sleep 0.05
done
END=$(date +%s.%N)
tail -1 "$OUT/rbac-serve.log"
awk -v s="$START" -v e="$END" 'BEGIN{printf "rule change to answers from memory again: %.2f s (write + recompute)\n", e-s}'
