#!/usr/bin/env bash
# testssl.sh against a fresh `reportd quickstart` on 127.0.0.1, and the check of issue 4:
# no finding of severity LOW or above other than the self-signed certificate's trust,
# expiry, revocation and CAA lines and "HSTS not offered" (HSTS is off for localhost).
#
# Starts quickstart in a temp dir on free ports, runs the full default testssl scan of the
# Web Portal URL it prints (signed in, so the header checks see the real page), with DNS
# look-ups and every outside lookup off (loopback only), and writes:
#   docs/testssl/quickstart.txt    the whole report, plain text
#   docs/testssl/quickstart.json   every finding with its severity (testssl's flat JSON)
# then lists the findings of severity LOW and above and exits 1 when one is not allowed.
#
# Usage: docs/testssl/run.sh   (needs testssl (Debian testssl.sh), curl; takes about a minute)
set -euo pipefail
cd "$(dirname "$0")/../.."
for t in testssl curl python3; do
  command -v "$t" >/dev/null || {
    echo "testssl run: $t is required (apt-get install testssl.sh curl python3)" >&2
    exit 1
  }
done
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q --bin reportd
out=docs/testssl
work=$(mktemp -d)
qpid=
trap 'kill $qpid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

port() { echo $((20000 + RANDOM % 20000)); }
https_port=$(port)
http_port=$((https_port + 1))
printf 'testssl admin password\n' >"$work/pw"
REPORTD_LOG=warn target/release/reportd --data-dir "$work/data" quickstart \
  --https-port "$https_port" --http-port "$http_port" --admin-password-file "$work/pw" \
  >"$work/quickstart.out" 2>&1 &
qpid=$!
for _ in $(seq 1 100); do
  grep -q '^Trust: ' "$work/quickstart.out" 2>/dev/null && break
  kill -0 "$qpid" 2>/dev/null || { cat "$work/quickstart.out" >&2; exit 1; }
  sleep 0.1
done
trust=$(awk '/^Trust: / {print $2}' "$work/quickstart.out")
url="https://localhost:$https_port/Reports"
curl -sf --cacert "$trust" -u "admin:testssl admin password" -o /dev/null "$url" || {
  echo "testssl run: quickstart does not serve $url" >&2
  cat "$work/quickstart.out" >&2
  exit 1
}

# --nodns none and --ip: no DNS at all; no --phone-out: no CRL/OCSP fetches.
testssl --quiet --color 0 --warnings off --nodns none --ip 127.0.0.1 \
  --connect-timeout 5 --openssl-timeout 10 \
  --basicauth "admin:testssl admin password" \
  --jsonfile "$work/testssl.json" "$url" >"$work/testssl.txt" 2>&1 || true
# Ports change from run to run; the report names them, so keep it as it came out.
cp "$work/testssl.txt" "$out/quickstart.txt"
cp "$work/testssl.json" "$out/quickstart.json"

python3 - "$work/testssl.json" <<'EOF'
import json, re, sys

ALLOWED = {
    # The self-signed certificate: no chain to a trusted root (clients trust the exported PEM).
    "cert_chain_of_trust": "self-signed certificate: trusted through the `Trust:` PEM",
    "cert_trust": "self-signed certificate: trusted through the `Trust:` PEM",
    # A self-signed certificate has no CA to publish a CRL or run an OCSP responder.
    "cert_revocation": "self-signed certificate: no CRL or OCSP URI",
    "cert_ocspRevoked": "self-signed certificate: no CRL or OCSP URI",
    "cert_crlRevoked": "self-signed certificate: no CRL or OCSP URI",
    # Expiry of the self-signed certificate (quickstart makes it for 365 days).
    "cert_expirationStatus": "self-signed certificate: expiry",
    "cert_notAfter": "self-signed certificate: expiry",
    "cert_validityPeriod": "self-signed certificate: expiry",
    # No DNS here, and no CAA record for localhost anyway.
    "cert_caaRecord": "no CAA record for localhost",
    # HSTS is off for localhost (`ssl bind --hsts on` turns it on for a real host name).
    "HSTS": "HSTS is off for localhost",
}
RANK = {"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
findings = json.load(open(sys.argv[1]))
bad = 0
print("testssl findings of severity LOW and above:")
for f in findings:
    if RANK.get(f.get("severity"), 0) == 0:
        continue
    fid = re.sub(r" <cert#\d+>$", "", f["id"])
    ok = ALLOWED.get(fid)
    verdict = f"allowed ({ok})" if ok else "NOT ALLOWED"
    bad += ok is None
    print(f"  {f['severity']:8} {f['id']}: {f['finding']} -> {verdict}")
if bad:
    print(f"{bad} finding(s) not allowed", file=sys.stderr)
    sys.exit(1)
print("no other finding of severity LOW or above")
EOF
