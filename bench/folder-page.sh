#!/usr/bin/env bash
# Authenticated folder page, keep-alive, reportd vs nginx serving the same bytes statically.
#
# Both servers are pinned to core 0, the load generator (wrk) to core 1; each server is
# measured in turn within one run. The figure that matters is requests per server-CPU-
# second (requests / (utime+stime) of the server process), so machine noise that slows
# both sides cancels out in the ratio. Prints both figures and the ratio (goal >= 0.5 over
# plain HTTP).
#
# With --tls, both servers serve https with the same ECDSA P-256 certificate and key (made by
# `reportctl cert new-self-signed`, given to nginx through a PFX export), the same protocol
# versions and suites; wrk keeps its connections alive, so handshakes are amortized. Goal over
# https (issue 4): >= 0.7 (stretch 1.0).
#
# Usage: bench/folder-page.sh [--tls] [SECONDS] [CONNECTIONS] [ROUNDS]   (needs nginx, wrk,
#        curl, taskset; openssl with --tls). ROUNDS (default 1) alternates the servers that
#        many times, SECONDS each, and sums: steadier figures on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
tls=
if [ "${1:-}" = --tls ]; then tls=1; shift; fi
secs=${1:-10}
conns=${2:-32}
rounds=${3:-1}
for t in nginx wrk curl taskset ${tls:+openssl}; do
  command -v "$t" >/dev/null || { echo "bench: $t is required (apt-get install nginx-light wrk curl util-linux openssl)" >&2; exit 1; }
done

[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q --bin reportd --bin reportctl
bin=target/release
work=$(mktemp -d)
chmod 755 "$work" # nginx workers run as nobody and read $work/www
trap 'kill $rpid $npid 2>/dev/null || true; rm -rf "$work"' EXIT
rpid=; npid=
dd=$work/data
port_r=$((20000 + RANDOM % 10000)); port_n=$((port_r + 1))

printf 'bench password 1\n' > "$work/pw"
$bin/reportctl --data-dir "$dd" init --http-port $port_r --admin-user bench --admin-password-file "$work/pw" >/dev/null
$bin/reportctl --data-dir "$dd" database create >/dev/null
for f in Finance Sales Operations Marketing "Human Resources"; do
  $bin/reportctl --data-dir "$dd" catalog mkdir "/$f" >/dev/null
done
printf 'resource %s\n' {1..50} > "$work/notes.txt"
$bin/reportctl --data-dir "$dd" catalog upload "$work/notes.txt" / >/dev/null
scheme=http
if [ -n "$tls" ]; then
  . bench/tls-lib.sh
  scheme=https
  port_r=$((port_r + 2)); port_n=$((port_r + 1)) # the http port stays reserved; https beside it
  thumb=$(new_cert ecdsa-p256 localhost 127.0.0.1)
  ctl webservice https --cert "$thumb" --port "$port_r" >/dev/null
  pem_pair "$thumb" "$work/cert"
fi

REPORTD_LOG=warn taskset -c 0 $bin/reportd --data-dir "$dd" serve 2>"$work/reportd.log" &
rpid=$!
for _ in $(seq 1 100); do curl -sk -o /dev/null "$scheme://127.0.0.1:$port_r/ReportServer" && break; sleep 0.1; done
url_r="$scheme://127.0.0.1:$port_r/ReportServer?/&rs:Command=ListChildren"
auth="Authorization: Basic $(printf 'bench:bench password 1' | base64)"
mkdir -p "$work/www/ReportServer"
curl -sfk -H "$auth" "$url_r" -o "$work/www/ReportServer/index.html"
bytes=$(wc -c < "$work/www/ReportServer/index.html")

cat > "$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type text/html;
  server {
    listen 127.0.0.1:$port_n${tls:+ ssl};
$([ -z "$tls" ] || { printf '    ssl_certificate %s;\n    ssl_certificate_key %s;\n' "$work/cert.crt" "$work/cert.key"; nginx_tls_settings; })
    root $work/www;
    location / { try_files \$uri /ReportServer/index.html; }
  }
}
EOF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" &
npid=$!
for _ in $(seq 1 100); do curl -sk -o /dev/null "$scheme://127.0.0.1:$port_n/" && break; sleep 0.1; done
sleep 0.5
# nginx forks a worker; measure master + worker together.
nginx_pids() { echo "$npid $(pgrep -P "$npid" | tr '\n' ' ')"; }

cpu_ticks() { # sum of utime+stime of the given pids, in clock ticks
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}

measure() { # name url pids... → prints "requests cpu_ticks" of one wrk run
  local name=$1 url=$2; shift 2
  local c0 c1 out reqs
  c0=$(cpu_ticks "$@")
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -H "$auth" "$url")
  c1=$(cpu_ticks "$@")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$errs" ] || { echo "bench: $name answered non-2xx: $errs" >&2; exit 1; }
  echo "$reqs $((c1 - c0))"
}

line() { # name requests ticks
  awk -v r="$2" -v t="$3" -v hz="$(getconf CLK_TCK)" -v n="$1" \
    'BEGIN { s = t / hz; printf "%-8s %9d requests  %6.2f server-CPU-s  %9.0f req/CPU-s\n", n, r, s, r / s }'
}

url_n="$scheme://127.0.0.1:$port_n/ReportServer/index.html"
echo "folder page: $bytes bytes, $scheme, keep-alive, $conns connections; servers on core 0, wrk on core 1;" \
  "$rounds round(s) of ${secs}s per server, alternating"
taskset -c 1 wrk -t1 -c"$conns" -d2s -H "$auth" "$url_r" >/dev/null # warm-up
taskset -c 1 wrk -t1 -c"$conns" -d2s -H "$auth" "$url_n" >/dev/null
rr=0 rt=0 nr=0 nt=0
# Alternating rounds: a slow phase of the machine hits both servers alike.
for _ in $(seq 1 "$rounds"); do
  read -r r t < <(measure reportd "$url_r" "$rpid")
  rr=$((rr + r)) rt=$((rt + t))
  read -r r t < <(measure nginx "$url_n" $(nginx_pids))
  nr=$((nr + r)) nt=$((nt + t))
done
r_line=$(line reportd "$rr" "$rt")
n_line=$(line nginx "$nr" "$nt")
echo "$r_line"
echo "$n_line"
awk -v a="$(echo "$r_line" | awk '{print $(NF-1)}')" -v b="$(echo "$n_line" | awk '{print $(NF-1)}')" \
  -v goal="${tls:+goal >= 0.7 over https, stretch 1.0}" \
  'BEGIN { printf "ratio reportd/nginx (req per server-CPU-second): %.2f (%s)\n", a / b, goal == "" ? "goal >= 0.5 over http" : goal }'
