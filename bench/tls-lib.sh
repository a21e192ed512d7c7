# Shared helpers of the TLS benchmarks (bench/tls-handshake.sh, bench/folder-page.sh --tls,
# bench/rebind-under-load.sh). Sourced, not run. Expects `set -euo pipefail`, the repository
# root as the working directory, and `$work` (a temp dir the caller removes on exit).
#
# It owns the common set-up only: tool checks, the release build, a fresh data dir with a
# certificate, the same certificate and key as PEM for nginx, nginx's TLS settings, and the
# CPU accounting. It must not start or stop servers behind the caller's back: every process
# it starts, it returns the pid of, and the caller's trap kills it.

bin=target/release
hz=$(getconf CLK_TCK)

# need TOOL...: exits with a clear line when a tool is missing.
need() {
  local t hint
  for t in "$@"; do
    command -v "$t" >/dev/null && continue
    case $t in
      wrk) hint="apt-get install wrk" ;;
      nginx) hint="apt-get install nginx-light" ;;
      openssl) hint="apt-get install openssl" ;;
      testssl) hint="apt-get install testssl.sh" ;;
      taskset) hint="apt-get install util-linux" ;;
      curl) hint="apt-get install curl" ;;
      *) hint="install it" ;;
    esac
    echo "bench: $t is required but not installed ($hint)" >&2
    exit 1
  done
}

build() {
  [ -z "${BENCH_NO_BUILD:-}" ] || return 0 # BENCH_NO_BUILD=1: use the binaries already in target/release
  cargo build --release -q --bin reportd --bin reportctl
}

# free_port: a TCP port nobody listens on now on 127.0.0.1.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "bench: found no free port" >&2
  exit 1
}

# ctl ARGS...: reportctl on the bench data dir ($dd).
ctl() { "$bin/reportctl" --data-dir "$dd" "$@"; }

# new_instance HTTP_PORT: initialized data dir $dd with user bench (password in $work/pw) and a
# SQLite catalog.
new_instance() {
  printf 'bench password 1\n' > "$work/pw"
  ctl init --http-port "$1" --admin-user bench --admin-password-file "$work/pw" >/dev/null
  ctl database create >/dev/null
  auth="Authorization: Basic $(printf 'bench:bench password 1' | base64)"
  userpass='bench:bench password 1'
}

# new_cert KEY_TYPE NAME...: a self-signed certificate in store My; prints its thumbprint.
new_cert() {
  local kt=$1; shift
  local args=() n
  for n in "$@"; do args+=(--dns-name "$n"); done
  ctl cert new-self-signed --key-type "$kt" "${args[@]}"
}

# pem_pair THUMB PREFIX: PREFIX.crt (certificate) and PREFIX.key (private key) for nginx,
# through a PFX export: the very certificate and key reportd serves.
pem_pair() {
  printf 'bench pfx\n' > "$work/pfx.pw"
  ctl cert export "$1" --pfx "$2.pfx" --password-file "$work/pfx.pw" >/dev/null
  openssl pkcs12 -in "$2.pfx" -nodes -passin "file:$work/pfx.pw" -nokeys -clcerts -out "$2.crt" 2>/dev/null
  openssl pkcs12 -in "$2.pfx" -nodes -passin "file:$work/pfx.pw" -nocerts -out "$2.key" 2>/dev/null
  grep -q 'BEGIN CERTIFICATE' "$2.crt" && grep -q 'PRIVATE KEY' "$2.key" || {
    echo "bench: could not convert the PFX of $1 to PEM for nginx" >&2
    exit 1
  }
}

# nginx TLS settings matching reportd's: TLS 1.2 and 1.3, ECDHE AEAD suites in reportd's
# order, X25519 first, server preference; no session cache and no tickets (nothing resumes).
nginx_tls_settings() {
  cat <<'EOF'
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers on;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_session_cache off;
    ssl_session_tickets off;
EOF
}

# start_reportd: serves $dd pinned to core 0, logging to $work/reportd.log at $reportd_log
# (default warn); sets $rpid.
start_reportd() {
  REPORTD_LOG=${reportd_log:-warn} taskset -c 0 "$bin/reportd" --data-dir "$dd" serve 2>"$work/reportd.log" &
  rpid=$!
}

# start_nginx CONF: runs nginx pinned to core 0 in the foreground of a background job; sets
# $npid (the master; nginx_pids adds the worker).
start_nginx() {
  taskset -c 0 nginx -c "$1" -p "$work" 2>>"$work/nginx-start.log" &
  npid=$!
}

nginx_pids() { echo "$npid $(pgrep -P "$npid" | tr '\n' ' ')"; }

# wait_tls PORT: waits until a TLS handshake on 127.0.0.1:PORT completes (10 s at most).
wait_tls() {
  local i
  for i in $(seq 1 100); do
    if openssl s_client -connect "127.0.0.1:$1" </dev/null >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "bench: nothing completes a TLS handshake on port $1; see $work/*.log" >&2
  cat "$work"/*.log >&2 2>/dev/null || true
  exit 1
}

# cpu_ticks PID...: sum of utime+stime (all threads) of the given processes, in clock ticks.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    # Fields after the parenthesized command name: utime and stime are fields 14 and 15.
    t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}

# cargo_busy: prints a warning when cargo or rustc run (they share the cores with the servers).
cargo_busy() {
  if pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null; then
    echo "note: cargo/rustc are running on this machine; per-CPU-second figures still hold, but expect noise" >&2
  fi
}
