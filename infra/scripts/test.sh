#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup and log run from the EXIT trap, which shellcheck does not follow
# Run every test of the workspace: the one command, locally and in CI.
#
#   bash infra/scripts/test.sh [extra cargo test args...]
#
# Makes sure PostgreSQL and Redis answer at DATABASE_URL / REDIS_URL (default:
# the local development servers; private ones are started under .dev/ if none
# answer), then runs `cargo test --workspace --all-targets`. Tests create their
# own database per test through DATABASE_URL, so nothing else is prepared.
# Servers this run started are stopped at the end, unless KEEP_SERVICES=1
# (handy to rerun quickly). The exit code is cargo test's.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_ROOT"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/commerce-target}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/commerce}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
# rustup installs cargo in ~/.cargo/bin, which a non-login shell may lack.
[[ -d $HOME/.cargo/bin && :$PATH: != *":$HOME/.cargo/bin:"* ]] && PATH=$HOME/.cargo/bin:$PATH

log() { printf '[test] %s\n' "$*" >&2; }

# services.sh appends the name of each server it starts to this file; exactly
# those are stopped afterwards (not servers that ran before, e.g. `dev.sh up`).
STARTED=$(mktemp)
export SERVICES_STARTED_FILE=$STARTED

cleanup() {
    local service
    if [[ ${KEEP_SERVICES:-0} == 1 ]]; then
        [[ -s $STARTED ]] && log "KEEP_SERVICES=1: leaving $(tr '\n' ' ' <"$STARTED")running; 'infra/scripts/services.sh stop' stops them"
    else
        while read -r service; do
            "$SCRIPT_DIR/services.sh" stop "$service" || log "could not stop $service"
        done <"$STARTED"
    fi
    rm -f "$STARTED"
}
trap cleanup EXIT
# So that Ctrl-C or a CI timeout still runs the cleanup (via the EXIT trap).
trap 'exit 130' INT
trap 'exit 143' TERM

"$SCRIPT_DIR/services.sh" ensure

# The browser tests drive a real headless Chromium through ChromeDriver.
"$SCRIPT_DIR/services.sh" browser

# The S3 media test runs against a real S3-compatible server, moto's, started
# by the test itself. Installed once from PyPI if missing.
if ! command -v moto_server >/dev/null 2>&1; then
    log "installing moto[server] (S3-compatible server for the media tests)"
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' >&2
fi

# The Terraform provider's build (tf-provider, via tonic-build) compiles the
# plugin protocol with protoc. Installed once from Debian if missing.
if ! command -v protoc >/dev/null 2>&1; then
    log "installing protobuf-compiler (protoc, for terraform-provider's build)"
    { apt-get update -qq && apt-get install -y -qq protobuf-compiler; } >&2
fi

rc=0
cargo test --workspace --all-targets "$@" || rc=$?
exit "$rc"
