#!/usr/bin/env bash
# Full TLS handshakes per server-CPU-second, reportd vs nginx, with no resumption on either
# side.
#
# Both servers serve the same certificate and key (one ECDSA P-256 certificate, and one
# RSA-2048 certificate, each made by `reportctl cert new-self-signed` and exported to nginx
# through a PFX) with the same protocol versions, ECDHE AEAD suites and groups. nginx runs one
# worker with `ssl_session_cache off; ssl_session_tickets off;`. The client is
# `openssl s_time -new` (a fresh connection and a full handshake each time, never a resumed
# session), several of them at once, pinned to core 1; the servers are pinned to core 0 and
# measured in alternating rounds. The figure is handshakes / (utime+stime of the server's
# processes, summed over the rounds), so other load on the machine mostly cancels out in the
# ratio. The client, not the server, is the bottleneck: s_time needs about as much CPU per
# handshake as the server, so the server core idles part of the time.
#
# reportd keeps resumption on (SPEC §4), so it also issues session tickets that s_time never
# uses: extra work counted against reportd only.
#
# Usage: bench/tls-handshake.sh [SECONDS] [CLIENTS] [ROUNDS]
#        (default: 5 s per round, 2 s_time clients, 4 rounds per server and case)
#        KEYS="ecdsa-p256 rsa-2048" VERSIONS="1.3 1.2" select the cases.
#        SUITES=aes128 makes the client offer only AES-128-GCM-SHA256 suites (both servers
#        prefer AES-256-GCM-SHA384 otherwise), to see what the SHA-384 key schedule costs.
# Needs nginx, openssl, taskset. Goal (issue 4): reportd >= 1.5x nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
clients=${2:-2}
rounds=${3:-4}
keys=${KEYS:-ecdsa-p256 rsa-2048}
versions=${VERSIONS:-1.3 1.2}
suite_args=()
case ${SUITES:-} in
  "") ;;
  aes128) suite_args=(-ciphersuites TLS_AES_128_GCM_SHA256
                      -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256) ;;
  *) echo "bench: SUITES is empty or aes128" >&2; exit 1 ;;
esac
. bench/tls-lib.sh
need nginx openssl taskset
build

work=$(mktemp -d)
rpid=; npid=
trap 'kill $rpid $npid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
dd=$work/data
new_instance "$(free_port)"

declare -A port_r port_n
servers=""
for kt in $keys; do
  port_r[$kt]=$(free_port)
  port_n[$kt]=$(free_port)
  thumb=$(new_cert "$kt" localhost 127.0.0.1)
  ctl webservice https --cert "$thumb" --port "${port_r[$kt]}" >/dev/null
  pem_pair "$thumb" "$work/$kt"
  servers+="
  server {
    listen 127.0.0.1:${port_n[$kt]} ssl;
    ssl_certificate $work/$kt.crt;
    ssl_certificate_key $work/$kt.key;
$(nginx_tls_settings)
    location / { return 200 \"ok\\n\"; }
  }"
done

cat > "$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
$servers
}
EOF

start_reportd
start_nginx "$work/nginx.conf"
for kt in $keys; do
  wait_tls "${port_r[$kt]}"
  wait_tls "${port_n[$kt]}"
done

# handshakes PORT VERSION SECONDS: runs $clients s_time -new clients on core 1 at once; prints
# the handshakes they completed in total.
handshakes() {
  local port=$1 v=$2 s=$3 i total=0 n pids=()
  for i in $(seq 1 "$clients"); do
    taskset -c 1 openssl s_time -new -connect "127.0.0.1:$port" "-tls${v/./_}" -time "$s" ${suite_args[@]+"${suite_args[@]}"} \
      >"$work/st.$i" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  for i in $(seq 1 "$clients"); do
    n=$(awk '/connections in .* real seconds/ {print $1}' "$work/st.$i")
    [ -n "$n" ] || { echo "bench: s_time failed against port $port:" >&2; cat "$work/st.$i" >&2; exit 1; }
    total=$((total + n))
  done
  echo "$total"
}

# measure PORT VERSION PID...: prints "handshakes cpu_ticks" of one run of $secs seconds.
measure() {
  local port=$1 v=$2; shift 2
  local c0 c1 n
  c0=$(cpu_ticks "$@")
  n=$(handshakes "$port" "$v" "$secs")
  c1=$(cpu_ticks "$@")
  echo "$n $((c1 - c0))"
}

# line NAME HANDSHAKES TICKS: the figure of one server.
line() {
  awk -v n="$2" -v t="$3" -v hz="$hz" -v name="$1" \
    'BEGIN { s = t / hz; printf "%-8s %8d handshakes  %6.2f server-CPU-s  %8.0f handshakes/CPU-s\n", name, n, s, n / s }'
}

cargo_busy
echo "full TLS handshakes, no resumption: openssl s_time -new x$clients on core 1, servers on core 0;" \
  "$rounds rounds of ${secs}s per server, alternating${SUITES:+; client offers $SUITES only}"
for kt in $keys; do
  for v in $versions; do
    handshakes "${port_r[$kt]}" "$v" 1 >/dev/null # warm-up
    handshakes "${port_n[$kt]}" "$v" 1 >/dev/null
    rn=0 rt=0 nn=0 nt=0
    # Alternating short rounds: a slow phase of the machine hits both servers alike.
    for _ in $(seq 1 "$rounds"); do
      read -r n t < <(measure "${port_r[$kt]}" "$v" "$rpid")
      rn=$((rn + n)) rt=$((rt + t))
      read -r n t < <(measure "${port_n[$kt]}" "$v" $(nginx_pids))
      nn=$((nn + n)) nt=$((nt + t))
    done
    r_line=$(line reportd "$rn" "$rt")
    n_line=$(line nginx "$nn" "$nt")
    echo "== $kt, TLS $v"
    echo "$r_line"
    echo "$n_line"
    awk -v a="$(echo "$r_line" | awk '{print $(NF-1)}')" -v b="$(echo "$n_line" | awk '{print $(NF-1)}')" \
      -v c="$kt TLS $v" 'BEGIN { printf "ratio reportd/nginx (%s, handshakes per server-CPU-second): %.2f (goal >= 1.5)\n", c, a / b }'
  done
done
