#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL answer.
#
#   services.sh ensure         use the servers if they answer; otherwise start
#                              private ones under <repo>/.dev (installing the
#                              packages with apt-get if needed); then make sure
#                              the database named in DATABASE_URL exists
#   services.sh stop [which]   stop the private servers this script started
#                              (which: postgres, redis or all; default all).
#                              A server it did not start is never touched.
#   services.sh status         what answers, and what is private
#   services.sh browser        install Debian's chromium and chromium-driver
#                              if chromedriver is missing (browser tests)
#
# Environment:
#   DATABASE_URL   default postgres://postgres@127.0.0.1:5432/commerce
#   REDIS_URL      default redis://127.0.0.1:6379/0
#   SERVICES_WAIT_SECS     how long to wait for a server to answer (default 60)
#   SERVICES_STARTED_FILE  if set, `ensure` appends "postgres" / "redis" to this
#                          file for each server it starts, so a caller (test.sh)
#                          can stop exactly those afterwards.
#
# A private server is only ever started for a loopback host (127.x, localhost),
# listens on 127.0.0.1 only, and is for development and tests: the PostgreSQL
# one trusts every local connection and runs with fsync off.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
DEV_DIR=$REPO_ROOT/.dev

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/commerce}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
WAIT_SECS=${SERVICES_WAIT_SECS:-60}

# Marker files: they exist exactly while a private server started by this
# script may be running, and say where it lives. `stop` acts on nothing else.
PG_MARKER=$DEV_DIR/postgres.started
REDIS_MARKER=$DEV_DIR/redis.started
REDIS_DIR=$DEV_DIR/redis

export DEBIAN_FRONTEND=noninteractive

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Is the process alive? A zombie (exited, not yet reaped by its parent, which
# for a daemon is init and may be slow) does not count, though kill -0 succeeds.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) } # the fields after "(comm)"; the first is the state
    [[ ${stat:0:1} != Z ]]
}

# Run a command as root (directly, or through sudo when we are not root).
as_root() {
    if ((EUID == 0)); then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

# initdb and postgres refuse to run as root. As root, run them as the
# `postgres` OS user; as anyone else, simply as ourselves. `cd /` because the
# postgres user may not be allowed into the caller's working directory.
as_pg_owner() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

apt_install() {
    log "installing $* with apt-get"
    as_root apt-get update -qq
    as_root apt-get install -y -qq "$@" >/dev/null
}

# Print the last lines of a log file, to explain a failure.
log_tail() {
    local file=$1
    if [[ -r $file ]]; then
        printf -- '--- last lines of %s ---\n' "$file" >&2
        tail -n 30 "$file" >&2 || true
        printf -- '---\n' >&2
    fi
}

# Hide the password of a URL before printing it.
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

urldecode() { printf '%b' "${1//%/\\x}"; }

# parse_url URL DEFAULT_PORT: sets URL_USER, URL_PASS, URL_HOST, URL_PORT and
# URL_PATH (without the leading slash) from scheme://user:pass@host:port/path?query.
parse_url() {
    local url=$1 rest authority userinfo='' hostport
    rest=${url#*://}
    rest=${rest%%\?*}
    authority=${rest%%/*}
    URL_PATH=''
    [[ $rest == */* ]] && URL_PATH=${rest#*/}
    hostport=$authority
    if [[ $authority == *@* ]]; then
        userinfo=${authority%@*}
        hostport=${authority##*@}
    fi
    URL_USER=$(urldecode "${userinfo%%:*}")
    URL_PASS=''
    [[ $userinfo == *:* ]] && URL_PASS=$(urldecode "${userinfo#*:}")
    URL_PORT=''
    if [[ $hostport == \[* ]]; then # [ipv6]:port
        URL_HOST=${hostport%%]*}
        URL_HOST=${URL_HOST#[}
        hostport=${hostport#*]}
        URL_PORT=${hostport#:}
    elif [[ $hostport == *:* ]]; then
        URL_HOST=${hostport%%:*}
        URL_PORT=${hostport##*:}
    else
        URL_HOST=$hostport
    fi
    URL_PORT=${URL_PORT:-$2}
    [[ -n $URL_HOST ]] || die "no host in $(redact "$url") (a unix-socket URL is not supported here)"
    [[ $URL_PORT =~ ^[0-9]+$ ]] || die "bad port in $(redact "$url")"
}

# Only servers meant to run on this machine are started here.
is_loopback() { [[ $1 == localhost || $1 == 127.* ]]; }

# tcp_open HOST PORT: something accepts TCP connections there.
tcp_open() {
    # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# Wait (bounded) until a command succeeds; on timeout, fail showing the log.
wait_until() {
    local what=$1 logfile=$2 deadline=$((SECONDS + WAIT_SECS))
    shift 2
    until "$@"; do
        if ((SECONDS >= deadline)); then
            log_tail "$logfile"
            die "$what did not answer within ${WAIT_SECS}s"
        fi
        sleep 0.5
    done
}

# ---------------------------------------------------------------- PostgreSQL

# pg_probe HOST PORT, by return code:
#   0 PostgreSQL answers and accepts connections
#   1 PostgreSQL answers but rejects connections for now (starting up)
#   2 nothing listens
#   3 something listens, but it is not PostgreSQL
pg_probe() {
    local host=$1 port=$2 rc=0 reply=''
    if have pg_isready; then
        pg_isready -q -t 3 -h "$host" -p "$port" || rc=$?
        ((rc == 0 || rc == 1)) && return "$rc"
    else
        # Without the client tools: send the protocol's SSLRequest; a
        # PostgreSQL server answers a single byte, S or N.
        # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
        reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit
            printf "\x00\x00\x00\x08\x04\xd2\x16\x2f" >&3
            IFS= read -r -n1 -u3 byte && printf %s "$byte"' "$host" "$port" 2>/dev/null) || true
        [[ $reply == S || $reply == N ]] && return 0
    fi
    tcp_open "$host" "$port" && return 3
    return 2
}

pg_accepts() { pg_probe "$1" "$2"; }

# The newest installed server's bin directory, or nothing.
pg_newest_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x $dir/postgres ]] && printf '%s\n' "$dir"
    done | sort -V | tail -n 1
}

# The server binaries for a data directory: its own major version if that is
# installed (a cluster cannot be opened by another major), else the newest.
pg_bindir_for() {
    local data=$1 version
    if [[ -f $data/PG_VERSION ]]; then
        version=$(<"$data/PG_VERSION")
        if [[ -x /usr/lib/postgresql/$version/bin/postgres ]]; then
            printf '%s\n' "/usr/lib/postgresql/$version/bin"
            return
        fi
    fi
    pg_newest_bindir
}

install_postgres() {
    # Installing the Debian package normally creates and starts a system
    # cluster "main" on 5432 (with password auth for TCP), which would then
    # sit on the port we want. A temporary createcluster.d drop-in turns that
    # off for this install only; nothing else of the system is changed.
    local dropin=/etc/postgresql-common/createcluster.d/zz-commerce-dev-no-main.conf
    as_root mkdir -p "$(dirname "$dropin")"
    printf 'create_main_cluster = false\n' | as_root tee "$dropin" >/dev/null
    apt_install postgresql || {
        as_root rm -f "$dropin"
        die "apt-get install postgresql failed"
    }
    as_root rm -f "$dropin"
}

# Where the private cluster lives: <repo>/.dev/pg, holding data/, socket/ and
# postgres.log. As root, the postgres OS user must be able to reach it; a repo
# under a private home (e.g. /root, mode 700) is not reachable, so the cluster
# then goes under /var/tmp instead (the marker file records where).
pg_home() {
    if ((EUID == 0)) && ! runuser -u postgres -- test -x "$DEV_DIR" 2>/dev/null; then
        printf '/var/tmp/commerce-dev-%s/pg\n' "$(cksum <<<"$REPO_ROOT" | cut -d' ' -f1)"
    else
        printf '%s\n' "$DEV_DIR/pg"
    fi
}

# Read key=value from a marker file.
marker_get() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }

start_private_postgres() {
    local port=$1 home data sock logfile bindir running_port conf

    if [[ -z $(pg_newest_bindir) ]]; then
        install_postgres
        [[ -n $(pg_newest_bindir) ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql after install"
    fi

    mkdir -p "$DEV_DIR"
    home=$(pg_home)
    data=$home/data
    sock=$home/socket
    logfile=$home/postgres.log
    bindir=$(pg_bindir_for "$data")

    # Our private cluster may already run, on another port (a different URL).
    if [[ -f $data/postmaster.pid ]] && as_pg_owner "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
        running_port=$(sed -n 4p "$data/postmaster.pid")
        if [[ $running_port != "$port" ]]; then
            die "the private PostgreSQL in $home already runs on port $running_port; run '$0 stop postgres' first, or use that port"
        fi
        log_tail "$logfile"
        die "the private PostgreSQL in $home runs on port $port but does not accept connections"
    fi

    if ((EUID == 0)); then
        id -u postgres >/dev/null 2>&1 ||
            as_root useradd --system --user-group --home-dir /var/lib/postgresql \
                --no-create-home --shell /usr/sbin/nologin postgres
        mkdir -p "$home"
        chown postgres: "$home"
        chmod 700 "$home"
    else
        mkdir -p "$home"
    fi

    if [[ ! -f $data/PG_VERSION ]]; then
        log "creating a private PostgreSQL cluster in $data ($(basename "$(dirname "$bindir")"))"
        as_pg_owner mkdir -p "$sock"
        as_pg_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$DEV_DIR/initdb.log" 2>&1 || {
            log_tail "$DEV_DIR/initdb.log"
            die "initdb failed"
        }
        # A unix socket path is limited to ~107 bytes; with a very deep repo
        # path, serve TCP only (every client here uses 127.0.0.1 anyway).
        local sock_setting=$sock
        if ((${#sock} > 90)); then
            log "socket directory path too long; the private server listens on TCP only"
            sock_setting=''
        fi
        conf=$(
            cat <<EOF

# ---- added by infra/scripts/services.sh: private development/test cluster ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '${sock_setting//\'/\'\'}'
# Tests create a database per test and run many pools side by side.
max_connections = 300
# This cluster is disposable: durability is traded for speed. Never copy these
# settings to a server whose data matters.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
        )
        printf '%s\n' "$conf" | as_pg_owner tee -a "$data/postgresql.conf" >/dev/null
    fi

    # Recorded before starting, so `stop` can clean up even a failed start.
    printf 'datadir=%s\nport=%s\n' "$data" "$port" >"$PG_MARKER"
    [[ -n ${SERVICES_STARTED_FILE:-} ]] && echo postgres >>"$SERVICES_STARTED_FILE"

    log "starting a private PostgreSQL on 127.0.0.1:$port (log: $logfile)"
    # The port follows the URL, so it is given at start, not in the config.
    as_pg_owner "$bindir/pg_ctl" start -D "$data" -l "$logfile" -w -t "$WAIT_SECS" \
        -o "-p $port" >/dev/null || {
        log_tail "$logfile"
        die "the private PostgreSQL did not start (is port $port taken?)"
    }
    wait_until "PostgreSQL on 127.0.0.1:$port" "$logfile" pg_accepts 127.0.0.1 "$port"
}

# Run psql (installing the client if missing) without reading ~/.psqlrc.
run_psql() {
    have psql || apt_install postgresql-client
    psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# DATABASE_URL with its database replaced by the maintenance database.
maintenance_url() { sed -E 's#^([a-z]+://[^/?]*)(/[^?]*)?#\1/postgres#' <<<"$1"; }

ensure_database() {
    local private=$1 port=$2 db user exists admin_url
    user=${URL_USER:-${PGUSER:-$(id -un)}}
    db=$(urldecode "$URL_PATH")
    db=${db:-$user} # libpq's default database is the user's name
    admin_url=$(maintenance_url "$DATABASE_URL")

    # A private cluster only has the `postgres` superuser at first. Give the
    # URL's user a superuser login (the app needs CREATEROLE for migrations,
    # and tests create databases). Never done on a server we did not start.
    if [[ $private == yes && $user != postgres ]]; then
        run_psql "postgresql://postgres@127.0.0.1:$port/postgres" \
            -v role="$user" -v pass="$URL_PASS" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN SUPERUSER PASSWORD %L', :'role', NULLIF(:'pass', ''))
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SQL
    fi

    exists=$(run_psql -tA "$admin_url" -v db="$db" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';") ||
        die "cannot connect to $(redact "$admin_url") as $user (see the error above)"
    if [[ $exists == 1 ]]; then
        log "database $db exists"
    else
        log "creating database $db"
        run_psql "$admin_url" -v db="$db" <<<"SELECT format('CREATE DATABASE %I', :'db') \\gexec"
    fi
}

# Does the marker say that our private PostgreSQL serves this port?
pg_is_ours() { [[ -f $PG_MARKER && $(marker_get "$PG_MARKER" port) == "$1" ]]; }

ensure_postgres() {
    parse_url "$DATABASE_URL" 5432
    local host=$URL_HOST port=$URL_PORT rc=0 private=no
    pg_probe "$host" "$port" || rc=$?
    case $rc in
    0) log "PostgreSQL answers at $host:$port" ;;
    1)
        log "PostgreSQL at $host:$port is starting; waiting"
        wait_until "PostgreSQL at $host:$port" /dev/null pg_accepts "$host" "$port"
        ;;
    3) die "something accepts connections on $host:$port but does not answer as PostgreSQL; free the port or point DATABASE_URL elsewhere" ;;
    *)
        is_loopback "$host" ||
            die "no PostgreSQL answers at $host:$port, and that is not this machine; start it, or point DATABASE_URL at 127.0.0.1"
        start_private_postgres "$port"
        ;;
    esac
    pg_is_ours "$port" && private=yes
    ensure_database "$private" "$port"
}

stop_postgres() {
    local data bindir
    if [[ ! -f $PG_MARKER ]]; then
        log "no private PostgreSQL started by this script"
        return
    fi
    data=$(marker_get "$PG_MARKER" datadir)
    bindir=$(pg_bindir_for "$data")
    if [[ -n $bindir && -f $data/postmaster.pid ]] &&
        as_pg_owner "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
        log "stopping the private PostgreSQL ($data)"
        # pg_ctl -D only ever addresses the server of that data directory.
        as_pg_owner "$bindir/pg_ctl" stop -D "$data" -m fast -w -t "$WAIT_SECS" >/dev/null
    else
        log "the private PostgreSQL ($data) was not running"
    fi
    rm -f "$PG_MARKER"
}

# --------------------------------------------------------------------- Redis

# redis_probe URL HOST PORT, by return code:
#   0 Redis answers PING with PONG
#   2 nothing listens
#   3 something listens but does not answer PONG (not Redis, or wrong password)
redis_probe() {
    local url=$1 host=$2 port=$3 reply=''
    if have redis-cli; then
        # redis-cli 7.0 reads redis://:pw@ as an empty user name; the
        # password-only form means the `default` user, so say so.
        url=${url/#redis:\/\/:/redis://default:}
        reply=$(timeout 5 redis-cli -u "$url" --no-auth-warning ping 2>/dev/null) || true
        [[ $reply == PONG ]] && return 0
    else
        # Without redis-cli: speak the protocol. Any +/- reply comes from a Redis
        # (an error such as -NOAUTH means it wants the URL's password).
        # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
        reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit
            printf "PING\r\n" >&3
            IFS= read -r line <&3 && printf %s "$line"' "$host" "$port" 2>/dev/null) || true
        [[ $reply == [+-]* ]] && return 0
    fi
    tcp_open "$host" "$port" && return 3
    return 2
}

redis_answers() { redis_probe "$@"; }

# The pid in a pid file, if that process is alive and is a redis-server.
redis_private_pid() {
    local pidfile=$1 pid
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    # Guard against a recycled pid: it must still be a redis-server.
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
    printf '%s\n' "$pid"
}

start_private_redis() {
    local url=$1 port=$2 pass=$3 pidfile=$REDIS_DIR/redis.pid logfile=$REDIS_DIR/redis.log pid rc=0
    if ! have redis-server; then
        apt_install redis-server
        # On a machine with systemd the package starts the system Redis on
        # 6379; if that is the port we want, it is the server to use.
        redis_probe "$url" 127.0.0.1 "$port" || rc=$?
        if ((rc == 0)); then
            log "Redis answers at 127.0.0.1:$port after install"
            return
        fi
    fi

    if pid=$(redis_private_pid "$pidfile"); then
        die "the private Redis (pid $pid) already runs on port $(marker_get "$REDIS_MARKER" port); run '$0 stop redis' first, or use that port"
    fi

    mkdir -p "$REDIS_DIR"
    printf 'pidfile=%s\nport=%s\n' "$pidfile" "$port" >"$REDIS_MARKER"
    [[ -n ${SERVICES_STARTED_FILE:-} ]] && echo redis >>"$SERVICES_STARTED_FILE"

    log "starting a private Redis on 127.0.0.1:$port (log: $logfile)"
    local args=(--port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no
        --dir "$REDIS_DIR" --pidfile "$pidfile" --logfile "$logfile")
    # If the URL carries a password, the private server asks for the same one.
    [[ -n $pass ]] && args+=(--requirepass "$pass")
    redis-server "${args[@]}" || {
        log_tail "$logfile"
        die "the private Redis did not start"
    }
    wait_until "Redis on 127.0.0.1:$port" "$logfile" redis_answers "$url" 127.0.0.1 "$port"
}

ensure_redis() {
    parse_url "$REDIS_URL" 6379
    local host=$URL_HOST port=$URL_PORT rc=0
    redis_probe "$REDIS_URL" "$host" "$port" || rc=$?
    case $rc in
    0) log "Redis answers at $host:$port" ;;
    3) die "something listens on $host:$port but does not answer PING with PONG (not Redis, or REDIS_URL has the wrong password)" ;;
    *)
        [[ $REDIS_URL == redis://* ]] || die "no Redis answers at $(redact "$REDIS_URL"); only plain redis:// servers are started here"
        is_loopback "$host" ||
            die "no Redis answers at $host:$port, and that is not this machine; start it, or point REDIS_URL at 127.0.0.1"
        start_private_redis "$REDIS_URL" "$port" "$URL_PASS"
        ;;
    esac
}

stop_redis() {
    local pidfile pid
    if [[ ! -f $REDIS_MARKER ]]; then
        log "no private Redis started by this script"
        return
    fi
    pidfile=$(marker_get "$REDIS_MARKER" pidfile)
    if pid=$(redis_private_pid "$pidfile"); then
        log "stopping the private Redis (pid $pid)"
        kill -TERM "$pid"
        local deadline=$((SECONDS + 10))
        while alive "$pid"; do
            if ((SECONDS >= deadline)); then
                log "Redis (pid $pid) ignored SIGTERM; killing it"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
    else
        log "the private Redis was not running"
    fi
    rm -f "$REDIS_MARKER" "$pidfile"
}

# -------------------------------------------------------------------- status

status() {
    local rc=0 where
    parse_url "$DATABASE_URL" 5432
    where=external
    pg_is_ours "$URL_PORT" && where="private, data in $(marker_get "$PG_MARKER" datadir)"
    pg_probe "$URL_HOST" "$URL_PORT" || rc=$?
    case $rc in
    0) echo "postgres  $(redact "$DATABASE_URL")  answers ($where)" ;;
    1) echo "postgres  $(redact "$DATABASE_URL")  starting ($where)" ;;
    3) echo "postgres  $(redact "$DATABASE_URL")  port taken by something else" ;;
    *) echo "postgres  $(redact "$DATABASE_URL")  not running" ;;
    esac
    [[ -f $PG_MARKER ]] && ! pg_is_ours "$URL_PORT" &&
        echo "          (a private PostgreSQL was started on port $(marker_get "$PG_MARKER" port))"

    rc=0
    parse_url "$REDIS_URL" 6379
    where=external
    [[ -f $REDIS_MARKER && $(marker_get "$REDIS_MARKER" port) == "$URL_PORT" ]] &&
        where="private, pid $(redis_private_pid "$(marker_get "$REDIS_MARKER" pidfile)" || echo '?')"
    redis_probe "$REDIS_URL" "$URL_HOST" "$URL_PORT" || rc=$?
    case $rc in
    0) echo "redis     $(redact "$REDIS_URL")  answers ($where)" ;;
    3) echo "redis     $(redact "$REDIS_URL")  port taken by something else (or wrong password)" ;;
    *) echo "redis     $(redact "$REDIS_URL")  not running" ;;
    esac
    [[ -f $REDIS_MARKER && $where == external ]] &&
        echo "          (a private Redis was started on port $(marker_get "$REDIS_MARKER" port))"
    return 0
}

# Chromium and ChromeDriver for the browser tests (tests/tests/browser.rs),
# from the distribution's packages, when chromedriver is missing.
ensure_browser() {
    if command -v chromedriver >/dev/null 2>&1 && { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }; then
        return 0
    fi
    apt_install chromium chromium-driver
    command -v chromedriver >/dev/null 2>&1 || die "apt-get install chromium-driver did not provide chromedriver"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

case ${1:-} in
ensure)
    ensure_postgres
    ensure_redis
    ;;
stop)
    case ${2:-all} in
    postgres) stop_postgres ;;
    redis) stop_redis ;;
    all)
        stop_postgres
        stop_redis
        ;;
    *) usage ;;
    esac
    ;;
browser) ensure_browser ;;
status) status ;;
*) usage ;;
esac
