#!/usr/bin/env bash
# Renewals in store Cluster under wrk on three nodes (issue 12 Deliver 4/5): every node
# serves a central-store binding (`ssl add webservice --ccs PORT`); during SECONDS of load
# (wrk with `Connection: close` on each node, so every request is a new handshake choosing
# its certificate by SNI) a newer certificate for the same name is added RENEWALS times on a
# rotating node (`cert new-self-signed --store Cluster`, the same insert an ACME renewal
# makes), and after each one the time until all three nodes hand it out is measured
# (handshakes from one python process, each node in turn, polled).
#
# A request fails when wrk sees a socket error (connect, read, write, timeout 5 s) or a
# status other than 2xx/3xx.
#
# Usage: bench/cluster-renew.sh [SECONDS]   (default 20; RENEWALS=8)
# Needs wrk, python3, curl, psql and PostgreSQL at $REPORTD_BENCH_PG_URL (default
# postgres://postgres@127.0.0.1:5432/postgres; a fresh database is made and dropped).
# Goal: 0 failed requests, every renewal served by every node within 1 s. Exit status 1
# otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
renewals=${RENEWALS:-8}
pg=${REPORTD_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
. bench/tls-lib.sh
need wrk python3 curl psql
build

work=$(mktemp -d)
db=reportd_bench_$$
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$pg" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "$pg" -qc "CREATE DATABASE $db" >/dev/null
url="${pg%/*}/$db"
printf 'bench password 1\n' >"$work/pw"
auth="Authorization: Basic $(printf 'bench:bench password 1' | base64)"

https=()
for i in 1 2 3; do
  dd=$work/n$i
  http=$(free_port)
  if [ "$i" = 1 ]; then
    ctl init --http-port "$http" --admin-user bench --admin-password-file "$work/pw" >/dev/null
  else
    ctl init --http-port "$http" >/dev/null
  fi
  ctl database create --url "$url" >/dev/null
  REPORTD_LOG=warn "$bin/reportd" --data-dir "$dd" serve 2>"$work/n$i.log" &
  pids+=($!)
  for _ in $(seq 1 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
done
dd=$work/n1
for id in $(ctl cluster status --json | python3 -c 'import json,sys; print(" ".join(n["InstallationID"] for n in json.load(sys.stdin) if n["State"] == "waiting"))'); do
  ctl cluster join "$id" >/dev/null
done
for i in 1 2 3; do
  dd=$work/n$i
  p=$(free_port)
  https+=("$p")
  ctl url reserve webservice "https://+:$p" >/dev/null
  ctl ssl add webservice --ccs "$p" >/dev/null
done
dd=$work/n1
cert=$(ctl cert new-self-signed --store Cluster --dns-name localhost --days 30)

# until_all THUMB: seconds until every node hands out THUMB for SNI localhost (handshakes
# from one python process, polled every 5 ms; fails after 10 s). Counted from before the
# interpreter starts, so its start-up is in the figure.
until_all() {
  python3 - "$1" "${https[@]}" <<'PY'
import hashlib, socket, ssl, sys, time
t0 = time.monotonic()
want, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def served(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                return hashlib.sha1(t.getpeercert(binary_form=True)).hexdigest().upper()
    except OSError:
        return None
for p in ports:
    while served(p) != want:
        if time.monotonic() - t0 > 10:
            sys.exit(f"bench: port {p} never served {want}")
        time.sleep(0.005)
print(f"{time.monotonic() - t0:.3f}")
PY
}
until_all "$cert" >/dev/null
# One signed-in request per node first (the password KDF runs once per node).
for p in "${https[@]}"; do curl -sk -o /dev/null -H "$auth" "https://localhost:$p/ReportServer"; done

for i in 0 1 2; do
  wrk -t1 -c4 -d"${secs}s" --timeout 5s -H "$auth" -H "Connection: close" \
    "https://localhost:${https[$i]}/ReportServer" >"$work/wrk-$i.out" 2>&1 &
  pids+=($!)
done
wrks=("${pids[@]:3}")
pace=$(echo "$secs / ($renewals + 1)" | bc -l)
worst=0
slow=0
for r in $(seq 1 "$renewals"); do
  sleep "$pace"
  dd=$work/n$(((r % 3) + 1))
  cert=$(ctl cert new-self-signed --store Cluster --dns-name localhost --days 30)
  took=$(until_all "$cert")
  echo "renewal $r on node $(((r % 3) + 1)): served by all three after ${took} s"
  if (($(echo "$took > $worst" | bc))); then worst=$took; fi
  if (($(echo "$took >= 1" | bc))); then slow=$((slow + 1)); fi
done
wait "${wrks[@]}"
failed=$(cat "$work"/wrk-*.out | awk '
  /Socket errors/ { gsub(",", ""); f += $4 + $6 + $8 + $10 }
  /Non-2xx/ { f += $NF }
  END { print f + 0 }')
total=$(cat "$work"/wrk-*.out | awk '/requests in/ { n += $1 } END { print n + 0 }')
echo "load: $total requests on three nodes, $failed failed; slowest renewal served by all after ${worst} s"
[ "$failed" = 0 ] && [ "$slow" = 0 ]
