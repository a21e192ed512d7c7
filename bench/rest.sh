#!/usr/bin/env bash
# REST API throughput (issue 10), on SQLite and on PostgreSQL catalogs:
#   GET  api/v2.0/CatalogItems?$filter=...&$top=50   on a catalog of 10,000 items
#   POST api/v2.0/CatalogItems                       of a 200 KB report (a new item each time)
# in requests per server CPU-second (requests / (utime+stime) of the server process from
# /proc/PID/stat, before/after), so machine noise that slows the load generator cancels out.
#
# Per backend: a fresh data dir (`reportctl init`, `database create [--url postgres://...]`),
# reportd on core 0, the catalog filled over the REST API itself (100 folders, 9,900
# resources, one curl process with keep-alive), then wrk on core 1: the GET for SECONDS,
# then the POST for SECONDS (a wrk Lua script gives each request a new Name). Requests are
# Basic-authenticated as the System Administrator `bench` (verified credentials are cached,
# as for any script).
#
# Measured (2 shared cores, noisy, release build, `bench/rest.sh 8 8`, 2026-12-01):
#   before (every GET walked the catalog: 101 folder listings, 10,000 rows decoded)
#   sqlite      GET   9 req/CPU-s   POST (195 KB report) 52 req/CPU-s
#   postgresql  GET  22 req/CPU-s   POST (195 KB report) 57 req/CPU-s
#   after (webapp::rest::listing: the walk kept per catalog generation and user; the GET
#   filters and sorts the kept listing by reference and builds JSON for the page only)
#   sqlite      GET 872 req/CPU-s   POST (195 KB report) 51 req/CPU-s
#   postgresql  GET 900 req/CPU-s   POST (195 KB report) 61 req/CPU-s
# The GETs here run while nothing changes, so they are served from the kept listing; the
# first GET after a change walks once (the "before" cost), as would a catalog over 20,000
# items, which is not kept.
#
# Usage: bench/rest.sh [SECONDS] [CONNECTIONS]   (needs wrk, curl, taskset, psql; PostgreSQL
#        at $REPORTD_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-8}
pg=${REPORTD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
for t in wrk curl taskset psql base64; do
  command -v "$t" >/dev/null || { echo "bench: $t is required (apt-get install wrk curl util-linux postgresql-client)" >&2; exit 1; }
done
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q --bin reportd --bin reportctl
bin=${BENCH_BIN:-$PWD/target/release}
work=$(mktemp -d)
db=reportd_rest_bench_$$
rpid=
cleanup() {
  [ -z "$rpid" ] || kill "$rpid" 2>/dev/null || true
  psql -q "$pg" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
printf 'bench password 1\n' > "$work/pw"
auth="Authorization: Basic $(printf 'bench:bench password 1' | base64)"

# A 200 KB report: a valid definition whose bulk is a long Description.
{
  printf '<?xml version="1.0" encoding="utf-8"?>\n<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition"><Description>'
  head -c 150000 /dev/zero | base64 -w 0 | tr '0A=' 'abc' | head -c 204000
  printf '</Description><Body><Height>1in</Height></Body><Width>6in</Width></Report>\n'
} > "$work/big.rdl"
rdl_bytes=$(wc -c < "$work/big.rdl")
b64=$(base64 -w 0 < "$work/big.rdl")
cat > "$work/post.lua" <<EOF
local n = 0
local id = tostring(math.random(1, 1e9))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  n = n + 1
  local body = '{"@odata.type":"#Model.Report","Name":"R' .. id .. '-' .. n .. '","Path":"/Bench","Content":"$b64"}'
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("POST answered " .. status .. ": " .. string.sub(body, 1, 200) .. "\n")
  end
end
EOF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # name url [wrk args...] → "requests ticks"
  local name=$1 url=$2; shift 2
  local c0 c1 out reqs errs
  c0=$(cpu_ticks "$rpid")
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -H "$auth" "$@" "$url" 2>"$work/wrk.err")
  c1=$(cpu_ticks "$rpid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$errs" ] || { echo "bench: $name answered non-2xx: $errs" >&2; head -5 "$work/wrk.err" >&2; exit 1; }
  echo "$reqs $((c1 - c0))"
}

line() { # backend name requests ticks
  awk -v b="$1" -v n="$2" -v r="$3" -v t="$4" -v hz="$(getconf CLK_TCK)" -v s="$secs" \
    'BEGIN { c = t / hz; printf "%-10s %-34s %8d requests in %ds  %6.2f server-CPU-s  %8.0f req/CPU-s\n", b, n, r, s, c, r / c }'
}

run_backend() { # backend [database url]
  local backend=$1 url=${2:-} dd=$work/data-$1 port
  port=$((20000 + RANDOM % 10000))
  $bin/reportctl --data-dir "$dd" init --http-port "$port" --admin-user bench --admin-password-file "$work/pw" >/dev/null
  if [ -n "$url" ]; then
    $bin/reportctl --data-dir "$dd" database create --url "$url" >/dev/null
  else
    $bin/reportctl --data-dir "$dd" database create >/dev/null
  fi
  # Uploads of 200 KB and the fill must not hit the default upload limit.
  REPORTD_LOG=warn taskset -c 0 $bin/reportd --data-dir "$dd" serve 2>"$work/reportd-$backend.log" &
  rpid=$!
  local api="http://127.0.0.1:$port/Reports/api/v2.0"
  for _ in $(seq 1 100); do curl -s -o /dev/null "$api/System" && break; sleep 0.1; done

  # The catalog: 100 folders, 99 resources in each (10,000 items), plus /Bench for POSTs.
  local cfg=$work/fill-$backend.curl
  : > "$cfg"
  {
    printf 'url = "%s/Folders"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"Name\\":\\"Bench\\",\\"Path\\":\\"/\\"}"\noutput = /dev/null\nnext\n' "$api" "$auth"
    for f in $(seq 1 100); do
      printf 'url = "%s/Folders"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"Name\\":\\"Folder %d\\",\\"Path\\":\\"/\\"}"\noutput = /dev/null\nnext\n' "$api" "$auth" "$f"
    done
    for f in $(seq 1 100); do
      for i in $(seq 1 99); do
        printf 'url = "%s/Resources"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"Name\\":\\"item %d-%d.txt\\",\\"Path\\":\\"/Folder %d\\",\\"Content\\":\\"aGVsbG8=\\"}"\noutput = /dev/null\nnext\n' "$api" "$auth" "$f" "$i" "$f"
      done
    done
  } >> "$cfg"
  sed -i '$ d' "$cfg" # no `next` after the last request
  local t0=$SECONDS
  curl -s -K "$cfg" -w '%{http_code}\n' | sort | uniq -c > "$work/fill-$backend.codes"
  grep -qv ' 201$' "$work/fill-$backend.codes" && { echo "bench: filling the catalog failed:" >&2; cat "$work/fill-$backend.codes" >&2; exit 1; }
  local count
  count=$(curl -s -H "$auth" "$api/CatalogItems?\$top=0&\$count=true" | sed -n 's/.*"@odata.count":\([0-9]*\).*/\1/p')
  echo "$backend: catalog filled with $count items in $((SECONDS - t0)) s"

  local q='$filter=contains(Name,%27-42%27)%20and%20Type%20eq%20%27Resource%27&$orderby=Name%20desc&$top=50'
  local got
  got=$(curl -s -H "$auth" "$api/CatalogItems?$q" | grep -o '"Name":' | wc -l)
  [ "$got" -eq 50 ] || { echo "bench: the GET returned $got items, not 50" >&2; exit 1; }
  taskset -c 1 wrk -t1 -c"$conns" -d2s -H "$auth" "$api/CatalogItems?$q" >/dev/null # warm-up
  read -r r t < <(measure "GET" "$api/CatalogItems?$q")
  line "$backend" "GET CatalogItems \$filter \$top=50" "$r" "$t"
  read -r r t < <(measure "POST" "$api/CatalogItems" -s "$work/post.lua")
  line "$backend" "POST CatalogItems ($((rdl_bytes / 1024)) KB report)" "$r" "$t"
  kill "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=
}

echo "REST API: $conns connections, keep-alive, reportd on core 0, wrk on core 1, ${secs}s per measurement"
run_backend sqlite
psql -q "$pg" -c "CREATE DATABASE $db" >/dev/null
run_backend postgresql "${pg%/*}/$db"
