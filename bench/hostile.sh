#!/usr/bin/env bash
# Hostile-client bench: each attack in bench/hostile/* against a fresh reportd, while a
# normal client (a signed-in Browser user fetching a folder page over https, keep-alive)
# measures its latency and the server's RSS is sampled.
#
# For each executable bench/hostile/* (files starting with `_` are shared code), the
# harness starts a fresh server on the same data dir (`reportd quickstart`: https and
# http on high ports, self-signed certificate for localhost, admin `admin`; a Browser user
# `browser`; a 10 MiB resource /big.bin), starts the attack in the background with
#   HTTPS_URL HTTP_URL CACERT ADMIN_USER ADMIN_PASS BROWSER_USER BROWSER_PASS DATA_DIR
#   SERVER_PID DURATION BIG_ITEM
# in its environment, runs the normal client for DURATION seconds, waits for the attack,
# and prints one line per attack:
#   name  peak-RSS-MB  normal-client p50/p99/max ms  requests  held|FAILED  attack's summary
# "held": the normal client got every response, each under CEILING_MS, and the server
# still runs. Python attacks run in bench/.venv (created here, with the `h2` package).
#
# Usage: bench/hostile.sh [DURATION] [ATTACK...]      (default 30 s, every attack)
#   env: CEILING_MS (default 1000), BENCH_NO_BUILD=1 (use the binaries as built), BENCH_BIN, the
#   attacks' own knobs (IDLE_H2_CONNS, SLOW_BODY_CONNS, PING_CONNS, ZERO_WINDOW_CONNS, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
duration=${1:-30}
shift || true
ceiling=${CEILING_MS:-1000}
for t in curl python3; do
  command -v "$t" >/dev/null || { echo "bench: $t is required" >&2; exit 1; }
done
# 10,000 idle connections need the descriptors (client and server share this limit here).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 12000 ]; then
  echo "bench: warning: ulimit -n is $(ulimit -n); idle-h2 with 10,000 connections needs about 12,000 per process" >&2
fi

venv=$root/bench/.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import h2' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q h2
fi
export PATH="$venv/bin:$PATH"

[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q --bin reportd --bin reportctl
bin=${BENCH_BIN:-$root/target/release} # BENCH_BIN=target/debug with BENCH_NO_BUILD=1 to try the scripts
work=$(mktemp -d)
spid=
trap 'kill $spid 2>/dev/null || true; [ -n "${BENCH_KEEP:-}" ] && echo "bench: kept $work" >&2 || rm -rf "$work"' EXIT
dd=$work/data
https_port=$((30000 + RANDOM % 10000)); http_port=$((https_port + 1))
admin_pass='bench admin password 1'
browser_pass='bench browser password 1'
printf '%s\n' "$admin_pass" > "$work/admin-pw"
printf '%s\n' "$browser_pass" > "$work/browser-pw"
cacert=$dd/reportd-localhost.pem
https_url=https://localhost:$https_port
http_url=http://localhost:$http_port

start_server() {
  mkdir -p "$dd/logs"
  # stderr is the log file: the server rotates it by LogMaxSizeMB.
  "$bin/reportd" --data-dir "$dd" quickstart --https-port "$https_port" --http-port "$http_port" \
    --admin-password-file "$work/admin-pw" >"$work/banner" 2>>"$dd/logs/reportd.log" &
  spid=$!
  for _ in $(seq 1 200); do
    curl -s -o /dev/null --cacert "$cacert" "$https_url/ReportServer" 2>/dev/null && return 0
    kill -0 "$spid" 2>/dev/null || { echo "bench: reportd did not start; see $dd/logs/reportd.log" >&2; tail -5 "$dd/logs/reportd.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench: reportd did not answer within 20 s" >&2; exit 1
}

stop_server() {
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  spid=
}

start_server
"$bin/reportctl" --data-dir "$dd" user add browser --password-file "$work/browser-pw" --role Browser >/dev/null
head -c $((10 << 20)) /dev/urandom > "$work/big.bin"
"$bin/reportctl" --data-dir "$dd" catalog upload "$work/big.bin" / >/dev/null
stop_server

export HTTPS_URL=$https_url HTTP_URL=$http_url CACERT=$cacert ADMIN_USER=admin ADMIN_PASS=$admin_pass \
  BROWSER_USER=browser BROWSER_PASS=$browser_pass DATA_DIR=$dd DURATION=$duration BIG_ITEM=/big.bin

attacks=()
if [ $# -gt 0 ]; then
  for a in "$@"; do attacks+=("bench/hostile/$a"); done
else
  for a in bench/hostile/*; do
    case "$(basename "$a")" in _*) continue ;; esac
    [ -x "$a" ] && attacks+=("$a")
  done
fi

printf '%-22s %9s %26s %9s %7s  %s\n' attack peak-RSS "normal p50/p99/max ms" requests result "attack summary"
for a in "${attacks[@]}"; do
  name=$(basename "$a")
  start_server
  export SERVER_PID=$spid
  rss_file=$work/rss
  echo 0 > "$rss_file"
  ( peak=0
    while kill -0 "$SERVER_PID" 2>/dev/null; do
      r=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
      [ "${r:-0}" -gt "$peak" ] && { peak=$r; echo "$peak" > "$rss_file"; }
      sleep 0.2
    done ) &
  sampler=$!
  "$a" > "$work/attack.out" 2>"$work/attack.err" &
  apid=$!
  sleep 2 # let the attack build up before measuring
  normal=$(python3 bench/hostile/_normal.py "$duration" "$ceiling" || echo "0 0 0 0 FAILED")
  # The attack runs DURATION seconds; give it a little more, then stop it.
  for _ in $(seq 1 60); do kill -0 "$apid" 2>/dev/null || break; sleep 0.5; done
  kill "$apid" 2>/dev/null || true
  wait "$apid" 2>/dev/null || true
  alive=yes
  kill -0 "$SERVER_PID" 2>/dev/null || alive=no
  peak_kb=$(cat "$rss_file")
  kill "$sampler" 2>/dev/null || true
  read -r p50 p99 max n verdict <<<"$normal"
  [ "$alive" = yes ] || verdict=FAILED
  summary=$(tail -1 "$work/attack.out" 2>/dev/null || true)
  [ -n "$summary" ] || summary="(no output; stderr: $(tail -1 "$work/attack.err" 2>/dev/null))"
  printf '%-22s %6d MB %26s %9s %7s  %s\n' "$name" $((peak_kb / 1024)) "$p50/$p99/$max" "$n" "$verdict" "$summary"
  stop_server
done
logs=$(du -cb "$dd"/logs/reportd.log* | tail -1 | cut -f1)
echo "server log after all attacks: $((logs / 1024)) KiB in $(ls "$dd"/logs/reportd.log* | wc -l) file(s)"
