#!/usr/bin/env bash
# SSL binding changes under load: `ssl update` swaps and SNI bind/unbind cycles while clients
# keep requesting, counting failed requests (SPEC §4: a change is in effect before the command
# returns, with no restart and no failed request).
#
# reportd serves https://+:PORT for the Web Service with two certificates for localhost (A and
# B, swapped on 0.0.0.0:PORT by `ssl update`) and one for b.test (bound to b.test:PORT by SNI,
# then unbound, then bound again). During SECONDS of load:
#   - wrk, keep-alive, on https://localhost:PORT/ReportServer (authenticated folder listing);
#   - wrk with `Connection: close` on the same URL: a new connection and handshake (resumed
#     when the binding still has the session) for every request;
#   - a curl loop on https://b.test:PORT/... (--resolve, keep-alive, SNI b.test): while b.test
#     is unbound its handshakes fall back to the 0.0.0.0 binding and succeed. A handshake in
#     flight on b.test's binding when it is unbound is cut short, by design (an unbound
#     endpoint completes no handshake); reportd logs each one ("SSL binding removed
#     mid-handshake"), and every failed b.test request must be one of those.
# Meanwhile SWAPS `ssl update` swaps A<->B and CYCLES `ssl unbind`/`ssl bind` cycles of b.test
# run, paced over the load. After each command returns, a handshake checks it took effect:
# after a swap, SNI localhost gets the new certificate; after an unbind, SNI b.test gets the
# 0.0.0.0 certificate and a session saved from b.test's binding does not resume; after a bind,
# SNI b.test gets b.test's certificate in a new session (the binding is a new one: the session
# from before does not resume either). Then, without load, REFUSALS cycles remove every
# binding of the port: right after `ssl unbind` returns, a handshake must fail (alert, no
# certificate) and a saved session must not resume.
#
# A request fails when wrk sees a socket error (connect, read, write, or no response within
# 5 s) or a status other than 2xx/3xx, or curl an error or a status other than 200.
#
# Usage: bench/rebind-under-load.sh [SECONDS]   (default 30; SWAPS=100 CYCLES=100 REFUSALS=10)
# Needs wrk, openssl, curl, taskset, python3. Goal (issue 4): 0 failed requests on localhost,
# every check passes. Exit status 1 when a localhost request failed, a check did not pass, or
# a b.test request failed other than by a handshake cut short by an unbind.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
swaps=${SWAPS:-100}
cycles=${CYCLES:-100}
refusals=${REFUSALS:-10}
. bench/tls-lib.sh
need wrk openssl curl taskset python3
build

work=$(mktemp -d)
rpid=; npid=; probe_pid=; load_pids=()
trap 'kill $rpid $probe_pid ${load_pids[@]+"${load_pids[@]}"} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
dd=$work/data
new_instance "$(free_port)"
port=$(free_port)
cert_a=$(new_cert ecdsa-p256 localhost 127.0.0.1)
cert_b=$(new_cert ecdsa-p256 localhost 127.0.0.1)
cert_c=$(new_cert ecdsa-p256 b.test)
ctl webservice https --cert "$cert_a" --port "$port" >/dev/null
ctl ssl bind webservice "$cert_c" --hostnameport "b.test:$port" >/dev/null
# The listener's debug lines name each handshake cut short by an unbind (see below).
reportd_log=warn,httpsys::listener=debug
start_reportd
wait_tls "$port"

failures=0
fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}

# The checks: one probe process (bench/tls-probe.py) doing a handshake and one HTTP request
# per line asked, so that a check costs a handshake, not an `openssl s_client` start-up.
coproc PROBE { python3 -u bench/tls-probe.py "$port"; }
probe_pid=$PROBE_PID
# probe SNI [in=NAME] [out=NAME]: sets $got to "THUMBPRINT New|Reused", or "refused" (with the
# reason in $why) when no handshake and HTTP response completed.
probe() {
  echo "$*" >&"${PROBE[1]}"
  read -r got <&"${PROBE[0]}" || { echo "bench: the TLS probe process died" >&2; exit 1; }
  why=
  case $got in refused:*) why=${got#refused: }; got=refused ;; esac
}
probe localhost
[ "$got" = "$cert_a New" ] || { echo "bench: the first probe got '$got' $why, expected $cert_a" >&2; exit 1; }

# One signed-in request first: the first requests of a user run the password KDF (argon2id),
# and 20 of them at once would stall a one-core server for a second before the load settles.
curl -sfk -u "$userpass" -o /dev/null "https://localhost:$port/ReportServer?/&rs:Command=ListChildren" ||
  { echo "bench: the signed-in folder page does not answer 200" >&2; exit 1; }

# The load: three clients on core 1, SECONDS long.
url_path="/ReportServer?/&rs:Command=ListChildren"
taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency --timeout 5s -H "$auth" "https://localhost:$port$url_path" \
  >"$work/wrk-keepalive.out" 2>&1 &
load_pids+=($!)
taskset -c 1 wrk -t1 -c4 -d"${secs}s" --latency --timeout 5s -H "$auth" -H "Connection: close" \
  "https://localhost:$port$url_path" >"$work/wrk-close.out" 2>&1 &
load_pids+=($!)
deadline=$(($(date +%s) + secs))
: >"$work/curl-codes"; : >"$work/curl-errors"
(
  # 20 requests per curl run, over one kept-alive connection when the server allows it.
  urls=()
  for _ in $(seq 1 20); do urls+=(-o /dev/null "https://b.test:$port$url_path"); done
  while [ "$(date +%s)" -lt "$deadline" ]; do
    taskset -c 1 curl -sSk --resolve "b.test:$port:127.0.0.1" -u "$userpass" \
      -w '%{http_code}\n' "${urls[@]}" >>"$work/curl-codes" 2>>"$work/curl-errors" ||
      echo "curl exit $?" >>"$work/curl-errors"
  done
) &
load_pids+=($!)
t_start=$EPOCHREALTIME

# The changes, paced so that all of them happen while the load runs.
rounds=$((swaps > cycles ? swaps : cycles))
pace=$(awk -v s="$secs" -v n="$rounds" 'BEGIN { printf "%.4f", (s - 3) / n }')
sleep 1
current=$cert_a
swaps_done=0 cycles_done=0
for i in $(seq 1 "$rounds"); do
  if [ "$i" -le "$swaps" ]; then
    next=$([ "$current" = "$cert_a" ] && echo "$cert_b" || echo "$cert_a")
    ctl ssl update webservice "$next" --ipport "0.0.0.0:$port" >/dev/null
    current=$next
    swaps_done=$((swaps_done + 1))
    probe localhost
    [ "${got%% *}" = "$current" ] || fail "swap $i: SNI localhost got '$got' $why, expected $current"
  fi
  if [ "$i" -le "$cycles" ]; then
    [ "$i" -gt 1 ] || probe b.test out=b # a session of b.test's binding
    ctl ssl unbind webservice --hostnameport "b.test:$port" >/dev/null
    probe b.test in=b
    [ "$got" = "$current New" ] ||
      fail "cycle $i, after unbind: SNI b.test got '$got' $why, expected the fallback $current New"
    ctl ssl bind webservice "$cert_c" --hostnameport "b.test:$port" >/dev/null
    probe b.test in=b out=b # the bound binding is a new one: the old session does not resume
    [ "$got" = "$cert_c New" ] || fail "cycle $i, after bind: SNI b.test got '$got' $why, expected $cert_c New"
    cycles_done=$((cycles_done + 1))
  fi
  # Sleep until this round's slot: 1 s + i * pace after the load started.
  wait_s=$(awk -v t0="$t_start" -v now="$EPOCHREALTIME" -v i="$i" -v p="$pace" \
    'BEGIN { w = t0 + 1 + i * p - now; printf "%.3f", (w > 0 ? w : 0) }')
  sleep "$wait_s"
done
changes_took=$(awk -v t0="$t_start" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.1f", now - t0 }')
[ "$(date +%s)" -lt "$deadline" ] ||
  fail "the changes took ${changes_took}s, longer than the ${secs}s load; run with more SECONDS"
wait "${load_pids[@]}" || true
load_pids=()

# wrk_counts FILE: "requests failed" (socket errors of every kind + non-2xx/3xx responses).
wrk_counts() {
  awk '/requests in/ { r = $1 }
       /Socket errors/ { gsub(",", ""); f += $4 + $6 + $8 + $10 }
       /Non-2xx/ { f += $NF }
       END { print r + 0, f + 0 }' "$1"
}
read -r ka_req ka_fail < <(wrk_counts "$work/wrk-keepalive.out")
read -r cl_req cl_fail < <(wrk_counts "$work/wrk-close.out")
b_req=$(grep -c . "$work/curl-codes" 2>/dev/null || true)
b_fail=$(grep -vc '^200$' "$work/curl-codes" 2>/dev/null || true)
b_err=$(grep -c . "$work/curl-errors" 2>/dev/null || true)
# A failed curl transfer is one line in curl-errors and one status 000 among the codes.
cut_short=$(grep -c 'SSL binding removed mid-handshake' "$work/reportd.log" || true)

# Refusals, without load: every binding of the port removed, then put back.
refusals_done=0
ctl ssl unbind webservice --hostnameport "b.test:$port" >/dev/null
for i in $(seq 1 "$refusals"); do
  probe localhost out=any
  probe localhost in=any
  [ "$got" = "$current Reused" ] || fail "refusal $i: before unbind, a saved session got '$got' $why"
  ctl ssl unbind webservice --ipport "0.0.0.0:$port" >/dev/null
  for sni in localhost b.test; do
    probe "$sni"
    [ "$got" = refused ] || fail "refusal $i: with no binding, SNI $sni got '$got'"
  done
  probe localhost in=any
  [ "$got" = refused ] || fail "refusal $i: with no binding, a saved session got '$got'"
  ctl ssl bind webservice "$current" --ipport "0.0.0.0:$port" >/dev/null
  probe localhost in=any
  [ "$got" = "$current New" ] || fail "refusal $i, after bind: SNI localhost got '$got' $why, expected $current New"
  refusals_done=$((refusals_done + 1))
done

echo "rebind under load: ${secs}s of load, changes done in ${changes_took}s"
echo "ssl update swaps (A<->B on 0.0.0.0:$port):        $swaps_done"
echo "SNI unbind/bind cycles (b.test:$port):           $cycles_done"
echo "refusal cycles (no binding left, no load):        $refusals_done"
lat() { awk '$1 == "Latency" && NF > 3 { m = $4 } $1 == "99%" { p = $2 } END { printf "latency p99 %s, max %s", p, m }' "$1"; }
echo "localhost keep-alive (wrk -c16):                  $ka_req requests, $ka_fail failed; $(lat "$work/wrk-keepalive.out")"
echo "localhost new connection per request (wrk -c4):  $cl_req requests, $cl_fail failed; $(lat "$work/wrk-close.out")"
echo "b.test keep-alive (curl, SNI b.test):             $b_req requests, $b_fail non-200, $b_err curl errors;" \
  "$cut_short handshakes cut short by an unbind (expected failures)"
echo "checks failed:                                    $failures"
if [ "$b_err" -gt 0 ]; then sed 's/^/  curl: /' "$work/curl-errors" | sort | uniq -c | head; fi
if [ "$b_fail" -gt 0 ]; then grep -v '^200$' "$work/curl-codes" | sort | uniq -c | sed 's/^/  HTTP status: /'; fi
grep -h -e 'Socket errors' -e 'Non-2xx' "$work/wrk-keepalive.out" | sed 's/^ */  wrk keep-alive: /' || true
grep -h -e 'Socket errors' -e 'Non-2xx' "$work/wrk-close.out" | sed 's/^ */  wrk new connections: /' || true
total_fail=$((ka_fail + cl_fail))
echo "failed requests on localhost: $total_fail (goal 0)"
[ "$total_fail" -eq 0 ] && [ "$failures" -eq 0 ] && [ "$b_err" -le "$cut_short" ] &&
  [ "$(grep -vc -e '^200$' -e '^000$' "$work/curl-codes")" -eq 0 ]
