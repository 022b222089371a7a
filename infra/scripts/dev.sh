#!/usr/bin/env bash
# Run the whole platform on this machine.
#
#   dev.sh up       PostgreSQL + Redis (services.sh ensure), release build,
#                   migrations, demo store, then control-plane, tenant-api and
#                   its worker in the background; waits until they answer
#   dev.sh down     stop the three processes, then the private PostgreSQL and
#                   Redis that services.sh started (never a system server)
#   dev.sh status   what runs
#   dev.sh logs [control-plane|tenant-api|worker]   follow the logs
#   dev.sh mail [N]        the newest N (default 10) mails the platform relay
#                          wrote (SMTP_URL=file://DIR, default .dev/mail)
#   dev.sh mail show [K]   the K-th newest mail (default 1), whole
#
# Configuration: .env if it exists, else .env.example; a variable already set
# to a non-empty value in the environment wins over the file.
# Pid files and logs: .dev/run/.
# Also: CARGO_TARGET_DIR (default ~/.cache/commerce-target), DEV_WAIT_SECS
# (how long to wait for the services to answer, default 60), DEV_STOP_SECS
# (how long `down` waits after SIGTERM before SIGKILL, default 15).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
RUN_DIR=$REPO_ROOT/.dev/run
SERVICES=$SCRIPT_DIR/services.sh
WAIT_SECS=${DEV_WAIT_SECS:-60}
# The processes `up` starts, in start order: name, binary, arguments.
PROCESSES=(control-plane tenant-api worker)

cd "$REPO_ROOT"

log() { printf '[dev] %s\n' "$*" >&2; }
die() { printf '[dev] error: %s\n' "$*" >&2; exit 1; }

# Is the process alive? A zombie (exited, not yet reaped by its parent, which
# for a daemon is init and may be slow) does not count, though kill -0 succeeds.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) } # the fields after "(comm)"; the first is the state
    [[ ${stat:0:1} != Z ]]
}

# Load KEY=VALUE lines from an env file (set -a exports them), but keep any
# variable the caller already set: `DATABASE_URL=... dev.sh up` must win.
# (A local is prefixed with _ so that the file cannot clash with it.)
load_env_file() {
    local _file=$1 _line _name
    local -A _keep=()
    while IFS= read -r _line || [[ -n $_line ]]; do
        [[ $_line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
        _name=${BASH_REMATCH[2]}
        [[ -n ${!_name:-} ]] && _keep[$_name]=${!_name}
    done <"$_file"
    set -a
    # shellcheck disable=SC1090 # the file is chosen at run time
    . "$_file"
    set +a
    for _name in "${!_keep[@]}"; do
        export "$_name=${_keep[$_name]}"
    done
}

if [[ -f .env ]]; then
    load_env_file .env
elif [[ -f .env.example ]]; then
    load_env_file .env.example
fi
# The values this script itself needs, with the documented defaults.
export CONTROL_PLANE_ADDR=${CONTROL_PLANE_ADDR:-127.0.0.1:8080}
export TENANT_API_ADDR=${TENANT_API_ADDR:-127.0.0.1:8000}
export PLATFORM_DOMAIN=${PLATFORM_DOMAIN:-localhost}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/commerce-target}
BIN_DIR=$CARGO_TARGET_DIR/release

# rustup installs cargo in ~/.cargo/bin, which a non-login shell may lack.
[[ -d $HOME/.cargo/bin && :$PATH: != *":$HOME/.cargo/bin:"* ]] && PATH=$HOME/.cargo/bin:$PATH

# process_argv NAME: sets ARGV to the command line that runs NAME.
process_argv() {
    case $1 in
    control-plane) ARGV=("$BIN_DIR/control-plane" serve) ;;
    tenant-api) ARGV=("$BIN_DIR/tenant-api" serve) ;;
    worker) ARGV=("$BIN_DIR/tenant-api" worker) ;;
    *) die "unknown process $1 (one of: ${PROCESSES[*]})" ;;
    esac
}

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$RUN_DIR/$1.log"; }

# Print the pid of a running process from its pid file; fail if it is not
# running. The pid must still run our binary, so a recycled pid is ignored.
running_pid() {
    local file pid ARGV
    file=$(pid_file "$1")
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    process_argv "$1"
    # A substring match, as an interpreter or wrapper may precede the binary;
    # on the binary's name and subcommand, not its directory, so `down` finds
    # what `up` started under another CARGO_TARGET_DIR.
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"/${ARGV[0]##*/} ${ARGV[*]:1}"* ]] || return 1
    echo "$pid"
}

# An address to reach a listen address from this machine (0.0.0.0 -> 127.0.0.1).
client_addr() {
    local addr=$1
    case $addr in
    0.0.0.0:*) addr=127.0.0.1:${addr##*:} ;;
    \[::\]:*) addr="[::1]:${addr##*:}" ;;
    esac
    echo "$addr"
}

# HTTP status of a GET (000 when nothing answers). Extra args go to curl.
http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" 2>/dev/null || true
}

log_tail() {
    printf -- '--- last lines of %s ---\n' "$1" >&2
    tail -n 30 "$1" >&2 2>/dev/null || true
    printf -- '---\n' >&2
}

start_process() {
    local name=$1 pid ARGV logfile
    if pid=$(running_pid "$name"); then
        log "$name already runs (pid $pid); 'dev.sh down' first to pick up a new build"
        return
    fi
    process_argv "$name"
    logfile=$(log_file "$name")
    printf '\n===== %s: %s =====\n' "$(date -u +%FT%TZ)" "${ARGV[*]}" >>"$logfile"
    # setsid: its own session and process group, so closing the terminal
    # does not hang it up, and `down` can signal the group (any children too).
    # (A background job of a script is no group leader, so setsid execs in
    # place and $! is the service's own pid.)
    setsid "${ARGV[@]}" </dev/null >>"$logfile" 2>&1 &
    echo $! >"$(pid_file "$name")"
    log "started $name (pid $!, log $logfile)"
}

# wait_http NAME URL [curl args...]: until the URL answers 200, bounded; fail
# early if the process behind it died.
wait_http() {
    local name=$1 url=$2 deadline=$((SECONDS + WAIT_SECS)) code
    shift 2
    while :; do
        code=$(http_status "$@" "$url")
        [[ $code == 200 ]] && return
        if ! running_pid "$name" >/dev/null; then
            log_tail "$(log_file "$name")"
            die "$name exited before $url answered 200"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$(log_file "$name")"
            die "$url did not answer 200 within ${WAIT_SECS}s (last status $code); 'dev.sh down' stops what runs"
        fi
        sleep 0.5
    done
}

cmd_up() {
    command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
    command -v curl >/dev/null || die "curl not found: apt-get install -y curl"
    mkdir -p "$RUN_DIR"

    "$SERVICES" ensure

    log "building (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    cargo build --release -p control-plane -p tenant-api

    # Both seed commands are idempotent: a second `up` finds the demo store
    # and its products and leaves them as they are.
    log "migrating"
    "$BIN_DIR/control-plane" migrate
    log "seeding the demo store"
    "$BIN_DIR/control-plane" seed-demo
    "$BIN_DIR/tenant-api" seed-demo --slug demo

    local name
    for name in "${PROCESSES[@]}"; do
        start_process "$name"
    done

    local cp_addr ta_addr store_host
    cp_addr=$(client_addr "$CONTROL_PLANE_ADDR")
    ta_addr=$(client_addr "$TENANT_API_ADDR")
    store_host=demo.$PLATFORM_DOMAIN:${ta_addr##*:}
    wait_http control-plane "http://$cp_addr/healthz"
    wait_http tenant-api "http://$ta_addr/healthz"
    wait_http tenant-api "http://$ta_addr/store/products" -H "Host: $store_host"
    # The worker has no HTTP port: it only has to still be alive by now.
    running_pid worker >/dev/null || {
        log_tail "$(log_file worker)"
        die "the worker exited"
    }

    cat <<EOF

The platform runs.
  control plane  http://$cp_addr        (/healthz, /v1/tenants, /v1/auth/token)
  data plane     http://$ta_addr        (a store answers on its Host: <slug>.$PLATFORM_DOMAIN:${ta_addr##*:})
  demo store     curl -H 'Host: $store_host' http://$ta_addr/store/products
EOF
    if [[ $PLATFORM_DOMAIN == localhost ]]; then
        cat <<EOF
                 curl http://$store_host/store/products
                 (curl resolves *.localhost to the loopback address by itself)
EOF
    fi
    cat <<EOF
  logs           infra/scripts/dev.sh logs      stop: infra/scripts/dev.sh down
EOF
}

stop_process() {
    local name=$1 pid deadline
    if ! pid=$(running_pid "$name"); then
        rm -f "$(pid_file "$name")"
        return
    fi
    log "stopping $name (pid $pid)"
    # The negative pid addresses the process group setsid gave it.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + ${DEV_STOP_SECS:-15}))
    while alive "$pid"; do
        if ((SECONDS >= deadline)); then
            log "$name did not stop on SIGTERM; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$(pid_file "$name")"
}

cmd_down() {
    local i
    # Reverse start order: the worker first, the control plane last.
    for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do
        stop_process "${PROCESSES[i]}"
    done
    "$SERVICES" stop
}

cmd_status() {
    local name pid cp_addr ta_addr
    for name in "${PROCESSES[@]}"; do
        if pid=$(running_pid "$name"); then
            printf '%-14s running (pid %s)\n' "$name" "$pid"
        else
            printf '%-14s stopped\n' "$name"
        fi
    done
    cp_addr=$(client_addr "$CONTROL_PLANE_ADDR")
    ta_addr=$(client_addr "$TENANT_API_ADDR")
    printf '%-14s http://%s/healthz -> %s\n' control-plane "$cp_addr" "$(http_status "http://$cp_addr/healthz")"
    printf '%-14s http://%s/healthz -> %s\n' tenant-api "$ta_addr" "$(http_status "http://$ta_addr/healthz")"
    "$SERVICES" status
}

cmd_logs() {
    local files=() name names=("$@") ARGV
    ((${#names[@]})) || names=("${PROCESSES[@]}")
    for name in "${names[@]}"; do
        process_argv "$name" # rejects unknown names
        files+=("$(log_file "$name")")
    done
    mkdir -p "$RUN_DIR"
    exec tail -n 50 -F "${files[@]}"
}

# The directory of SMTP_URL=file://DIR (relative to the repository).
mail_dir() {
    local url=${SMTP_URL:-file://.dev/mail}
    [[ $url == file://* ]] || die "SMTP_URL=$url is not a file:// relay; the mail went to that server"
    printf '%s\n' "${url#file://}"
}

# Newest first: the .eml files lettre's file transport wrote.
newest_mails() {
    local dir
    dir=$(mail_dir)
    [[ -d $dir ]] || return 0
    find "$dir" -maxdepth 1 -name '*.eml' -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-
}

cmd_mail() {
    local count file header
    if [[ ${1:-} == show ]]; then
        count=${2:-1}
        [[ $count =~ ^[1-9][0-9]*$ ]] || die "usage: dev.sh mail show [K]"
        file=$(newest_mails | sed -n "${count}p")
        [[ -n $file ]] || die "no mail number $count in $(mail_dir)"
        printf '==> %s\n' "$file"
        cat "$file"
        return
    fi
    count=${1:-10}
    [[ $count =~ ^[1-9][0-9]*$ ]] || die "usage: dev.sh mail [N] | dev.sh mail show [K]"
    newest_mails | head -n "$count" | while read -r file; do
        printf '%s  %s\n' "$(date -r "$file" '+%F %T')" "$file"
        for header in To Subject; do
            grep -m1 -i "^$header:" "$file" | sed 's/^/    /' || true
        done
    done
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
logs)
    shift
    cmd_logs "$@"
    ;;
mail)
    shift
    cmd_mail "$@"
    ;;
*)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
