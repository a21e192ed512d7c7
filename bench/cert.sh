#!/usr/bin/env bash
# Benchmark of the certificate store through the real `reportctl` (release build), with
# hyperfine: new-self-signed (ECDSA P-256 and RSA-2048) and `cert list` with 1,000
# certificates in the store. Goals (issue 3): <= 50 ms per ECDSA certificate, list of
# 1,000 in <= 200 ms. Each figure includes process start-up and the fsyncs of the atomic
# writes. Library-level figures: `cargo bench -p certstore`.
#
# Note: aws-lc (aws-lc-sys >= 0.3x) seeds its DRBG with CPU jitter entropy on the first
# random number of a process, ~55 ms of CPU here; every reportctl that makes a key pays it
# once. A build with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (OS entropy only, like ring/BoringSSL)
# takes new-self-signed from ~70 ms to ~15 ms per process.
#
# Usage: bench/cert.sh [N]   (N certificates for the list benchmark, default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"

command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release -q -p reportd --bin reportctl
BIN="$PWD/target/release/reportctl"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export REPORTD_DATA_DIR="$TMP/data"

hyperfine -N --warmup 3 --runs 50 \
    -n "new-self-signed ecdsa-p256" "$BIN cert new-self-signed --dns-name bench.test --dns-name 127.0.0.1"
hyperfine -N --warmup 1 --runs 10 \
    -n "new-self-signed rsa-2048" "$BIN cert new-self-signed --dns-name bench.test --key-type rsa-2048"

export REPORTD_DATA_DIR="$TMP/list"
echo "filling a store with $N certificates..."
for i in $(seq 1 "$N"); do
    "$BIN" cert new-self-signed --dns-name "host$i.bench.test" >/dev/null
done
count=$("$BIN" cert list | tail -n +2 | wc -l)
[ "$count" -eq "$N" ] || { echo "expected $N certificates, listed $count" >&2; exit 1; }
hyperfine -N --warmup 2 --runs 20 \
    -n "cert list ($N)" "$BIN cert list" \
    -n "cert list --json ($N)" "$BIN --json cert list"
