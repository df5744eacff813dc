#!/usr/bin/env bash
# A/B of the server's serving cost at rest: two builds on one tenant.
#
#   bench/ab.sh REV [ROUNDS]     (default 10 rounds)
#
# Builds `openatp` at git revision REV (A) and from the working tree (B),
# starts both on the tenant bench/load.sh seeded (run it once first: the
# default 1,000,000 machines), access log on, and drives them in turn with
# wrk, ROUNDS rounds of ROUND_TIME (8s) each, in the order A B, B A, ...
# Each round prints both rates and both servers' CPU time per request
# (user+system from /proc, divided by the requests served); the end prints
# the medians of the rounds' B/A ratios. CPU per request is the steadier of
# the two on a shared machine: a change that saves work shows there first.
# Loopback only; Linux (it reads /proc).
set -euo pipefail
# Builds from the store each start, as the numbers printed assume (serve --checkpoint off;
# a binary without the flag ignores the variable).
export OPENATP_CHECKPOINT=${OPENATP_CHECKPOINT:-off}
cd "$(dirname "$0")/.."
REV=${1:?usage: bench/ab.sh REV [ROUNDS]}
ROUNDS=${2:-10}
OUT=bench/results
DATA=$OUT/data-${MACHINES:-1000000}-${USERS:-200000}-${LOGONS:-5000000}
[ -f "$DATA/seeded" ] || { echo "no seeded tenant in $DATA: run bench/load.sh first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
PA_PORT=${PORT:-18080}; PB_PORT=$((PA_PORT + 2))

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
  git worktree remove --force "$TMP/a" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
git worktree add -q --detach "$TMP/a" "$REV"
(cd "$TMP/a" && go build -o "$TMP/openatp-a" ./cmd/openatp)
go build -o "$TMP/openatp-b" ./cmd/openatp
go build -o "$OUT/benchtool" ./bench/benchtool

CLIENT_ID=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$DATA/app.json")
TOKEN=$("$TMP/openatp-b" token --data "$DATA" --db "$DATA/openatp.db" --tenant bench.example --app "$CLIENT_ID" --base-url "http://127.0.0.1:$PA_PORT")
"$OUT/benchtool" -db "$DATA/openatp.db" -tenant bench.example -token "$TOKEN" -users 20000 -route users -out "$TMP/users.lua" >/dev/null
cat >>"$TMP/users.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d\n", summary.requests))
end
LUA
P1=$(sed -n '3p' "$TMP/users.lua" | tr -d ' ",')

for s in a b; do
  port=$PA_PORT; [ $s = b ] && port=$PB_PORT
  "$TMP/openatp-$s" serve --data "$DATA" --db "$DATA/openatp.db" --addr "127.0.0.1:$port" --tls-addr "" --rate-limit off \
    --access-log=true --index-memory 8GiB >"$TMP/$s.out" 2>"$TMP/$s.log" &
  PIDS+=($!)
done
for port in $PA_PORT $PB_PORT; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port$P1"
done
for s in a b; do
  for _ in $(seq 600); do grep -q "index built" "$TMP/$s.log" && break; sleep 0.5; done
  echo "$s: $(grep -o 'index built.*duration=[0-9.a-z]*' "$TMP/$s.log" | grep -o 'duration=.*' || echo 'index not built')"
done
for port in $PA_PORT $PB_PORT; do wrk -t1 -c32 -d5s -s "$TMP/users.lua" "http://127.0.0.1:$port" >/dev/null; done

# run PORT PID: "requests/s µs-of-CPU-per-request" of one round.
run() {
  local t0 t1 o rps n
  t0=$(awk '{print $14 + $15}' "/proc/$2/stat")
  o=$(wrk -t1 -c32 -d"${ROUND_TIME:-8s}" -s "$TMP/users.lua" "http://127.0.0.1:$1")
  t1=$(awk '{print $14 + $15}' "/proc/$2/stat")
  rps=$(echo "$o" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p')
  n=$(echo "$o" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  echo "$rps $(awk -v t=$((t1 - t0)) -v n="$n" -v k="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t/k*1e6/n}')"
}
RATES=(); CPUS=()
for i in $(seq "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then a=($(run $PA_PORT "${PIDS[0]}")); b=($(run $PB_PORT "${PIDS[1]}"))
  else b=($(run $PB_PORT "${PIDS[1]}")); a=($(run $PA_PORT "${PIDS[0]}")); fi
  RATES+=("$(awk -v a="${a[0]}" -v b="${b[0]}" 'BEGIN{printf "%.4f", b/a}')")
  CPUS+=("$(awk -v a="${a[1]}" -v b="${b[1]}" 'BEGIN{printf "%.4f", b/a}')")
  echo "round $i: A ${a[0]} requests/s (${a[1]} µs CPU/request), B ${b[0]} (${b[1]} µs): B/A rate ${RATES[-1]}, CPU/request ${CPUS[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{printf "%.3f", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
echo "A = $REV, B = the working tree: median B/A CPU per request $(median "${CPUS[@]}"), rate $(median "${RATES[@]}")"
for s in 0 1; do echo "server $s: $(awk '/VmRSS|VmHWM/ {printf "%s %.0f MiB  ", $1, $2/1024}' "/proc/${PIDS[$s]}/status")"; done
