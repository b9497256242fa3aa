#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for development, tests, the demo and CI.
#
#   scripts/postgres.sh start [PORT]   start (idempotent) on 127.0.0.1 and print the URL
#   scripts/postgres.sh stop           stop it (data is kept under .roost/postgres)
#   scripts/postgres.sh status         say whether it runs; exit 0 if it does
#   scripts/postgres.sh url            print the URL
#   scripts/postgres.sh restart        stop it and start it again on the same port
#   scripts/postgres.sh destroy        stop it and delete its data
#
# With ROOST_DATABASE_URL set (or POSTGRES_HOST and friends), every command
# points at that existing server instead and starts nothing.
# ROOST_POSTGRES_DIR chooses where the server keeps its data (default .roost/postgres),
# so that tests can run a server of their own.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state="${ROOST_POSTGRES_DIR:-$root/.roost/postgres}"
data="$state/data"
log="$state/postgres.log"
user=roost
database=roost

external_url() {
    if [[ -n "${ROOST_DATABASE_URL:-}" ]]; then
        printf '%s\n' "$ROOST_DATABASE_URL"
    elif [[ -n "${POSTGRES_HOST:-}" ]]; then
        local auth="${POSTGRES_USER:-postgres}"
        [[ -n "${POSTGRES_PASSWORD:-}" ]] && auth="$auth:$POSTGRES_PASSWORD"
        printf 'postgres://%s@%s:%s/%s\n' "$auth" "$POSTGRES_HOST" "${POSTGRES_PORT:-5432}" \
            "${POSTGRES_DB:-${POSTGRES_DATABASE:-postgres}}"
    else
        return 1
    fi
}

bindir() {
    local dir
    for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/pg_ctl" ]] && { printf '%s\n' "$dir"; return 0; }
    done
    command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return 0; }
    echo "postgres.sh: no PostgreSQL server binaries found; install them with: apt-get install postgresql-15" >&2
    return 1
}

# Runs a command as the unprivileged owner of the data directory (initdb and
# postgres refuse to run as root).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$(owner)" -- "$@"
    else
        "$@"
    fi
}

owner() {
    if id postgres >/dev/null 2>&1; then echo postgres; return; fi
    if ! id roost >/dev/null 2>&1; then useradd --system --no-create-home roost; fi
    echo roost
}

# Closes inherited descriptors above stderr, so that the server does not keep its starter's pipes open (a
# caller waiting for this script's output or exit would otherwise wait for the server's).
close_inherited_fds() {
    local fd
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        if (( fd > 2 )); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
    done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port() { cat "$state/port"; }
url() { printf 'postgres://%s@127.0.0.1:%s/%s\n' "$user" "$(port)" "$database"; }

running() {
    [[ -f "$state/port" ]] || return 1
    as_owner "$(bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
    local bin; bin=$(bindir)
    if running; then url; return 0; fi
    mkdir -p "$state"
    if [[ $(id -u) -eq 0 ]]; then
        chown "$(owner)" "$state"
        # The owner must be able to reach the data directory through every parent.
        local dir="$state"
        while [[ "$dir" != "/" ]]; do chmod o+x "$dir" 2>/dev/null || true; dir=$(dirname "$dir"); done
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        rm -rf "$data"
        as_owner "$bin/initdb" -D "$data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
            >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; exit 1; }
    fi
    local wanted="${1:-${ROOST_PG_PORT:-}}"
    [[ -n "$wanted" ]] || wanted=$(free_port)
    echo "$wanted" >"$state/port"
    [[ $(id -u) -eq 0 ]] && chown "$(owner)" "$state/port"
    touch "$log"; [[ $(id -u) -eq 0 ]] && chown "$(owner)" "$log"
    ( close_inherited_fds; as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start -o "\
        -c listen_addresses=127.0.0.1 -c port=$wanted -c unix_socket_directories='' \
        -c max_connections=1000 -c shared_preload_libraries=pg_stat_statements \
        -c pg_stat_statements.track=all" ) >/dev/null 2>>"$log" || { tail -20 "$log" >&2; exit 1; }
    if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$wanted" -U "$user" -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
        as_owner "$bin/psql" -h 127.0.0.1 -p "$wanted" -U "$user" -d postgres -qc "CREATE DATABASE $database" >/dev/null
    fi
    url
}

stop() {
    running || return 0
    as_owner "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>>"$log"
}

command="${1:-}"
if url_override=$(external_url); then
    case "$command" in
        start|url) printf '%s\n' "$url_override" ;;
        status) echo "using the server at ROOST_DATABASE_URL / POSTGRES_*" ;;
        stop|restart|destroy) ;;
        *) echo "usage: scripts/postgres.sh start [PORT]|stop|restart|status|url|destroy" >&2; exit 2 ;;
    esac
    exit 0
fi

case "$command" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status)
        if running; then echo "running: $(url)"; else echo "stopped"; exit 1; fi ;;
    url)
        if running; then url; else echo "postgres.sh: not running; start it with scripts/postgres.sh start" >&2; exit 1; fi ;;
    restart)
        if running; then port_was=$(port); stop; start "$port_was"; else start; fi ;;
    destroy) stop; rm -rf "$state" ;;
    *) echo "usage: scripts/postgres.sh start [PORT]|stop|restart|status|url|destroy" >&2; exit 2 ;;
esac
