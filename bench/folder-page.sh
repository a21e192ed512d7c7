#!/usr/bin/env bash
# Authenticated folder page, keep-alive, reportd vs nginx serving the same bytes statically.
#
# Both servers are pinned to core 0, the load generator (wrk) to core 1; each server is
# measured in turn within one run. The figure that matters is requests per server-CPU-
# second (requests / (utime+stime) of the server process), so machine noise that slows
# both sides cancels out in the ratio. Prints both figures and the ratio (goal >= 0.5 over
# plain HTTP).
#
# Usage: bench/folder-page.sh [SECONDS] [CONNECTIONS]    (needs nginx, wrk, curl, taskset)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
for t in nginx wrk curl taskset; do
  command -v "$t" >/dev/null || { echo "bench: $t is required (apt-get install nginx-light wrk curl util-linux)" >&2; exit 1; }
done

cargo build --release -q --bin reportd --bin reportctl
bin=target/release
work=$(mktemp -d)
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

REPORTD_LOG=warn taskset -c 0 $bin/reportd --data-dir "$dd" serve 2>"$work/reportd.log" &
rpid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port_r/ReportServer" && break; sleep 0.1; done
url_r="http://127.0.0.1:$port_r/ReportServer?/&rs:Command=ListChildren"
auth="Authorization: Basic $(printf 'bench:bench password 1' | base64)"
mkdir -p "$work/www/ReportServer"
curl -sf -H "$auth" "$url_r" -o "$work/www/ReportServer/index.html"
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
    listen 127.0.0.1:$port_n;
    root $work/www;
    location / { try_files \$uri /ReportServer/index.html; }
  }
}
EOF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" &
npid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port_n/" && break; sleep 0.1; done
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

run() { # name url pids... → prints "requests cpu_seconds"
  local name=$1 url=$2; shift 2
  local c0 c1 out reqs
  taskset -c 1 wrk -t1 -c"$conns" -d2s -H "$auth" "$url" >/dev/null # warm-up
  c0=$(cpu_ticks "$@")
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -H "$auth" "$url")
  c1=$(cpu_ticks "$@")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$errs" ] || { echo "bench: $name answered non-2xx: $errs" >&2; exit 1; }
  awk -v r="$reqs" -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$name" \
    'BEGIN { s = t / hz; printf "%-8s %9d requests  %6.2f server-CPU-s  %9.0f req/CPU-s\n", n, r, s, r / s }'
}

echo "folder page: $bytes bytes, keep-alive, $conns connections, ${secs}s each; servers on core 0, wrk on core 1"
r_line=$(run reportd "$url_r" "$rpid")
n_line=$(run nginx "http://127.0.0.1:$port_n/ReportServer/index.html" $(nginx_pids))
echo "$r_line"
echo "$n_line"
awk -v a="$(echo "$r_line" | awk '{print $(NF-1)}')" -v b="$(echo "$n_line" | awk '{print $(NF-1)}')" \
  'BEGIN { printf "ratio reportd/nginx (req per server-CPU-second): %.2f (goal >= 0.5 over http)\n", a / b }'
