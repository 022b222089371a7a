#!/usr/bin/env bash
# Measures the machine's ceilings and the platform in the same run, and writes
# BENCHMARKS.md with figures and ratios.
#
#   bash infra/scripts/bench.sh            # full: 100 stores x 1000 products, 10 s per scenario
#   bash infra/scripts/bench.sh --quick    # small, invariants only (under 3 minutes)
#
# Ceilings: wrk against nginx serving a tiny file and a file with the bytes of a
# real product-list response; pgbench -S and tpcb-like; redis-benchmark.
# Platform: release builds of both services on their own ports over a fresh
# database, driven by the load tool (tests/src/bin/load.rs) and by wrk with a
# Lua script that spreads requests over every store's Host.
# Nothing here asserts speed; the load tool exits non-zero when an invariant
# (no 5xx, exact sell-out, no cross-store answer) breaks.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_ROOT"

QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
DURATION=${BENCH_DURATION:-10}
STORES=${BENCH_STORES:-100}
PRODUCTS=${BENCH_PRODUCTS:-1000}
CONNS=${BENCH_CONNECTIONS:-64}
if [[ $QUICK == 1 ]]; then DURATION=3; STORES=4; PRODUCTS=10; fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/commerce-target}
[[ -d $HOME/.cargo/bin && :$PATH: != *":$HOME/.cargo/bin:"* ]] && PATH=$HOME/.cargo/bin:$PATH
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/commerce}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
WORK=$(mktemp -d)
PIDS=()
log() { printf '[bench] %s\n' "$*" >&2; }
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
if ! command -v pgbench >/dev/null; then
    ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || need+=(postgresql)
fi
if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -n1)

"$SCRIPT_DIR/services.sh" ensure

log "building release binaries"
cargo build --release -q -p control-plane -p tenant-api -p tests --bin control-plane --bin tenant-api --bin load
BIN=$CARGO_TARGET_DIR/release

# --- database of this run ----------------------------------------------------
base=${DATABASE_URL%%\?*}
server=${base%/*}
BENCH_DB=commerce_bench
psql -X -q "$server/postgres" -c "drop database if exists $BENCH_DB with (force)" -c "create database $BENCH_DB"
export DATABASE_URL="$server/$BENCH_DB"

# --- the platform --------------------------------------------------------------
export CONTROL_PLANE_ADDR=127.0.0.1:18080 TENANT_API_ADDR=127.0.0.1:18000 PLATFORM_DOMAIN=localhost
export LOG_FORMAT=json RUST_LOG=warn DB_MAX_CONNECTIONS=${DB_MAX_CONNECTIONS:-32}
export MASTER_KEY=${MASTER_KEY:-$(printf 'bench-only-master-key-32-bytes!!' | base64)}
export BOOTSTRAP_ADMIN_EMAIL=admin@bench.test BOOTSTRAP_ADMIN_PASSWORD=bench-password
"$BIN/control-plane" migrate
"$BIN/control-plane" serve >"$WORK/control-plane.log" 2>&1 & PIDS+=($!); CP_PID=$!
"$BIN/tenant-api" serve >"$WORK/tenant-api.log" 2>&1 & PIDS+=($!); TA_PID=$!
for url in http://127.0.0.1:18080/healthz http://127.0.0.1:18000/healthz; do
    for _ in $(seq 100); do curl -fs "$url" >/dev/null && break; sleep 0.1; done
done
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

LOAD=("$BIN/load" --control-plane http://127.0.0.1:18080 --tenant-api http://127.0.0.1:18000)
log "load suite: $STORES stores x $PRODUCTS products, ${DURATION}s per scenario"
suite_args=(suite --stores "$STORES" --products "$PRODUCTS" --duration "$DURATION" --concurrency "$CONNS" --hosts-file "$WORK/hosts.txt")
[[ $QUICK == 1 ]] && suite_args+=(--quick)
"${LOAD[@]}" "${suite_args[@]}" | tee "$WORK/suite.md"
if [[ $QUICK == 1 ]]; then
    log "quick mode: invariants held"
    exit 0
fi

# --- wrk helpers ----------------------------------------------------------------
cat >"$WORK/stores.lua" <<'LUA'
-- Spreads requests over every store: a random host (and product) per request.
local entries = {}
for line in io.lines(os.getenv("HOSTS_FILE")) do
  local host, handle = line:match("^(%S+) (%S+)$")
  if host then entries[#entries + 1] = { host, handle } end
end
local mode = os.getenv("MODE") or "list"
math.randomseed(os.time())
request = function()
  local e = entries[math.random(#entries)]
  local path = "/store/products?limit=20"
  if mode == "detail" then path = "/store/products/" .. e[2] end
  return wrk.format("GET", path, { Host = e[1] })
end
LUA
# wrk prints "Requests/sec: N" and, with --latency, the 50/99% lines.
wrk_run() { # name conns url [env...]
    local name=$1 conns=$2 url=$3; shift 3
    env "$@" wrk -t2 -c"$conns" -d"${DURATION}s" --latency "${WRK_SCRIPT[@]}" "$url" >"$WORK/$name.wrk" 2>&1
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.wrk")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.wrk")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.wrk")
    printf '%s %s %s %s\n' "$name" "${rps:-0}" "${p50:-?}" "${p99:-?}" | tee -a "$WORK/wrk.txt"
}

# --- ceilings -----------------------------------------------------------------------
log "ceilings"
mkdir -p "$WORK/www"
printf 'ok' >"$WORK/www/tiny"
first_host=$(head -n1 "$WORK/hosts.txt" | cut -d' ' -f1)
curl -fs -H "Host: $first_host" "http://127.0.0.1:18000/store/products?limit=20" >"$WORK/www/list.json"
LIST_BYTES=$(wc -c <"$WORK/www/list.json")
cat >"$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  server { listen 127.0.0.1:18888; root $WORK/www; default_type application/json; }
}
NGINX
nginx -c "$WORK/nginx.conf"
PIDS+=("$(cat "$WORK/nginx.pid")")
WRK_SCRIPT=()
wrk_run nginx-tiny "$CONNS" http://127.0.0.1:18888/tiny
wrk_run nginx-list "$CONNS" http://127.0.0.1:18888/list.json
nginx -c "$WORK/nginx.conf" -s stop || true

"$PGBENCH" -i -q -s 10 "$server/$BENCH_DB" >/dev/null 2>&1
PG_S=$("$PGBENCH" -S -n -c 32 -j 2 -T "$DURATION" "$server/$BENCH_DB" 2>/dev/null | awk '/^tps/ {print $3; exit}')
PG_TPCB=$("$PGBENCH" -n -c 32 -j 2 -T "$DURATION" "$server/$BENCH_DB" 2>/dev/null | awk '/^tps/ {print $3; exit}')
redis_host=${REDIS_URL#redis://}; redis_host=${redis_host%%/*}
REDIS_GET=$(redis-benchmark -h "${redis_host%:*}" -p "${redis_host##*:}" -n 200000 -c 50 -t get --csv | awk -F'"' '$2=="GET" {print $4; exit}')

# --- platform reads through wrk -------------------------------------------------------------
log "platform reads (wrk, $CONNS connections, every store's host)"
WRK_SCRIPT=(-s "$WORK/stores.lua")
RSS_BEFORE_TA=$(rss "$TA_PID")
wrk_run warm-list "$CONNS" http://127.0.0.1:18000 HOSTS_FILE="$WORK/hosts.txt" MODE=list
wrk_run warm-detail "$CONNS" http://127.0.0.1:18000 HOSTS_FILE="$WORK/hosts.txt" MODE=detail
RSS_TA=$(rss "$TA_PID"); RSS_CP=$(rss "$CP_PID")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
get() { awk -v n="$1" '$1==n {print $'"$2"'}' "$WORK/wrk.txt"; }

{
    echo "# Benchmarks"
    echo
    echo "Measured by \`bash infra/scripts/bench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB;"
    echo "load generator on the same machine. $STORES stores x $PRODUCTS products, ${DURATION} s per scenario, $CONNS connections."
    echo
    echo "## Ceilings (same run)"
    echo
    echo "| ceiling | figure |"
    echo "|---|---:|"
    echo "| nginx, 2-byte file | $(get nginx-tiny 2) req/s (p99 $(get nginx-tiny 4)) |"
    echo "| nginx, product-list bytes ($LIST_BYTES B) | $(get nginx-list 2) req/s (p99 $(get nginx-list 4)) |"
    echo "| pgbench -S (32 clients) | $PG_S tps |"
    echo "| pgbench tpcb-like (32 clients) | $PG_TPCB tps |"
    echo "| redis-benchmark GET (50 clients) | $REDIS_GET req/s |"
    echo
    echo "## Storefront reads (wrk, Host spread over every store)"
    echo
    echo "| scenario | req/s | p50 | p99 | ratio |"
    echo "|---|---:|---:|---:|---:|"
    echo "| warm product list | $(get warm-list 2) | $(get warm-list 3) | $(get warm-list 4) | $(ratio "$(get warm-list 2)" "$(get nginx-list 2)") × nginx (same bytes) |"
    echo "| warm product detail | $(get warm-detail 2) | $(get warm-detail 3) | $(get warm-detail 4) | $(ratio "$(get warm-detail 2)" "$(get nginx-list 2)") × nginx |"
    echo
    echo "## Scenarios (load tool)"
    echo
    cat "$WORK/suite.md"
    echo
    echo "Checkout ratio: orders/s ÷ pgbench tpcb-like tps = $(ratio "$(awk -F'|' '/checkout/ {gsub(/ /,"",$3); print $3}' "$WORK/suite.md")" "$PG_TPCB")."
    echo
    echo "## Memory"
    echo
    echo "| process | RSS |"
    echo "|---|---:|"
    echo "| tenant-api before reads | ${RSS_BEFORE_TA} MB |"
    echo "| tenant-api after reads | ${RSS_TA} MB |"
    echo "| control-plane | ${RSS_CP} MB |"
} >"$WORK/BENCHMARKS.generated.md"
cp "$WORK/BENCHMARKS.generated.md" "$REPO_ROOT/BENCHMARKS.generated.md"
log "wrote BENCHMARKS.generated.md (merge its figures into BENCHMARKS.md with the analysis)"
