#!/usr/bin/env bash
# Abuse benchmark: what a request costs the server when it carries no
# token, a garbage token, or a valid one, side by side in one run.
#
#   bench/abuse.sh            (ROUNDS=3 DURATION=5s CONNS=16 per workload)
#
# Starts `openatp serve --demo` on a fresh data directory (bench/results/
# abuse), loopback only, and drives GET /api/users/user1/machines with wrk:
#   no-token   no Authorization header (401)
#   garbage    a different garbage JWT on every request, each naming its own
#              issuer and kid (401): the probe that once cost a SQLite
#              query per request
#   valid      the demo app's token (200)
# For each it prints requests/s and the server's CPU time per request (its
# user+system time over the run, from /proc, divided by the requests
# answered), and the garbage/no-token ratio of CPU per request, whose goal
# is at most 1.5. Each workload runs for DURATION in each of ROUNDS rounds
# (medians printed); the server is stopped at the end. Flags used: only those every version of serve has, so the script
# also measures an older build (run it from that build's tree).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-16}
PORT=${PORT:-18180}
OUT=bench/results
DATA=$OUT/abuse
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 missing" >&2; exit 1; }
go build -o "$OUT/openatp-abuse" ./cmd/openatp
rm -rf "$DATA"; mkdir -p "$DATA"

"$OUT/openatp-abuse" serve --demo --data "$DATA" --addr "127.0.0.1:$PORT" --tls-addr "" --rate-limit off --access-log=false \
  >"$DATA/serve.out" 2>"$DATA/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -s "$DATA/demo-credentials.json" ] && curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
CREDS=$DATA/demo-credentials.json
TENANT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenant"])' "$CREDS")
CLIENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$CREDS")
TOKEN=$("$OUT/openatp-abuse" token --data "$DATA" --tenant "$TENANT" --app "$CLIENT" --base-url "http://127.0.0.1:$PORT")
PATH1=/api/users/user1/machines

# The Lua scripts of the three workloads; the garbage one cycles through
# 20,000 distinct tokens (random issuer, kid and signature each).
python3 - "$OUT" "$TOKEN" "$PATH1" <<'PY'
import base64, json, os, sys
out, token, path = sys.argv[1:4]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
toks = []
for i in range(20000):
    h = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": os.urandom(12).hex()}).encode())
    p = b64(json.dumps({"iss": "https://idp-%d.example/%s/" % (i, os.urandom(4).hex()), "aud": "https://api.securitycenter.microsoft.com",
                        "tid": "00000000-0000-4000-8000-%012d" % i, "exp": 4102444800}).encode())
    toks.append(h + "." + p + "." + b64(os.urandom(256)))
# Every workload builds each request in Lua the same way, so that wrk's own
# cost per request (it shares the cores) is alike in all three.
def script(name, headers):
    with open(out + "/abuse-%s.lua" % name, "w") as f:
        f.write("local hs = {\n" + ",\n".join(headers) + "\n}\nlocal i = 0\n")
        f.write('request = function()\n  i = i %% #hs + 1\n  return wrk.format("GET", "%s", hs[i])\nend\n' % path)
script("garbage", ['{["Authorization"] = "Bearer %s"}' % t for t in toks])
script("valid", ['{["Authorization"] = "Bearer %s"}' % token])
script("none", ['{}'])
PY
for s in none garbage valid; do
  cat >>"$OUT/abuse-$s.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d errors=%d\n", summary.requests, summary.errors.status,
    summary.errors.read + summary.errors.connect + summary.errors.timeout))
end
LUA
done

TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
wrk -t1 -c"$CONNS" -d2s -s "$OUT/abuse-valid.lua" "http://127.0.0.1:$PORT" >/dev/null # warm up: index built, token cached
# ROUNDS rounds of the three workloads in turn, so that the load of other
# processes on the machine falls on all three alike; each round's ratio
# is printed, and the medians.
: >"$OUT/abuse.tsv"
for round in $(seq "$ROUNDS"); do
  for s in none garbage valid; do
    C0=$(cpu)
    R=$(wrk -t1 -c"$CONNS" -d"$DURATION" -s "$OUT/abuse-$s.lua" "http://127.0.0.1:$PORT")
    C1=$(cpu)
    REQS=$(echo "$R" | sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p')
    BAD=$(echo "$R" | sed -n 's/^RESULT .*errors=\([0-9]*\).*/\1/p')
    [ "$BAD" = 0 ] || { echo "$s: $BAD connection errors"; echo "$R"; exit 1; }
    RPS=$(echo "$R" | sed -n 's/Requests\/sec: *\([0-9.]*\)/\1/p')
    CPU=$(awk -v c="$((C1 - C0))" -v t="$TICK" -v n="$REQS" 'BEGIN{printf "%.1f", c / t / n * 1e6}')
    printf "%s\t%s\t%s\t%s\n" "$round" "$s" "$RPS" "$CPU" >>"$OUT/abuse.tsv"
  done
  awk -F'\t' -v r="$round" '$1 == r {c[$2] = $4} END {printf "round %d: CPU µs/request no-token %s, garbage %s, valid %s; garbage/no-token %.2f\n", r, c["none"], c["garbage"], c["valid"], c["garbage"] / c["none"]}' "$OUT/abuse.tsv"
done
kill -0 $SERVER 2>/dev/null || { echo "the server died"; tail "$DATA/serve.log"; exit 1; }
echo
awk -F'\t' '
  function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { k = $2; n[k]++; rps[k, n[k]] = $3; cpu[k, n[k]] = $4
    if (k == "garbage") { ratio[++nr] = $4 / last["none"] } last[k] = $4 }
  END {
    printf "%-10s %14s %20s   (medians of %d rounds)\n", "workload", "requests/s", "CPU µs/request", n["none"]
    split("none garbage valid", ks, " ")
    for (x = 1; x <= 3; x++) { k = ks[x]; delete a; delete b
      for (i = 1; i <= n[k]; i++) { a[i] = rps[k, i]; b[i] = cpu[k, i] }
      m[k] = median(b, n[k]); printf "%-10s %14.0f %20.1f\n", k, median(a, n[k]), m[k] }
    r = median(ratio, nr)
    printf "garbage/no-token CPU per request: %.2f, median of the rounds (goal <= 1.5: %s); valid/no-token: %.2f\n", r, (r <= 1.5 ? "met" : "NOT met"), m["valid"] / m["none"]
  }' "$OUT/abuse.tsv"
