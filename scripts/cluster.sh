#!/usr/bin/env bash
# A local three-runner cluster on 127.0.0.1, without Docker, on top of scripts/postgres.sh.
#
#   scripts/cluster.sh up                 provision PostgreSQL, build roost, start runners 1-3
#   scripts/cluster.sh down               stop every runner gracefully (SIGTERM)
#   scripts/cluster.sh status             which runner processes are up, then `roost cluster status`
#   scripts/cluster.sh kill|stop|cont N   SIGKILL, SIGSTOP or SIGCONT runner N
#   scripts/cluster.sh restart N          stop runner N gracefully (or reap it) and start it again
#
# Runner N is configured by cluster-config/runner-N.yaml (which names cluster-config/cluster.yaml) and listens
# on its runner_address, 127.0.0.1:742N. With ROOST_CLUSTER_BASE_PORT set it listens on that port + N instead,
# and with ROOST_CLUSTER_PORTS (comma-separated) on the Nth port given. Logs go to .roost/logs/runner-N.log and
# process ids to .roost/cluster/runner-N.pid, under ROOST_CLUSTER_DIR instead of .roost if set.
# ROOST_DATABASE_URL, ROOST_SCHEMA (default roost) and every other ROOST_* key override the files.
# Runner N serves the HTTP API on its file's http_address (127.0.0.1:808N; off with custom ports) with the token
# ROOST_API_TOKEN, and runners call each other with ROOST_CLUSTER_SECRET: each, unless set, is made once and kept
# in .roost/api-token and .roost/cluster-secret.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

runners=3
base_port="${ROOST_CLUSTER_BASE_PORT:-7420}"
IFS=, read -r -a ports <<<"${ROOST_CLUSTER_PORTS:-}"
state="${ROOST_CLUSTER_DIR:-$root/.roost}"
logs="$state/logs"
pids="$state/cluster"
mkdir -p "$logs" "$pids"

usage() {
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

database() {
    export ROOST_DATABASE_URL="${ROOST_DATABASE_URL:-$(scripts/postgres.sh start)}"
    export ROOST_SCHEMA="${ROOST_SCHEMA:-roost}"
}

# The HTTP API's token and the secret runners call each other with: ROOST_API_TOKEN and ROOST_CLUSTER_SECRET,
# else ones made once for this checkout and kept in the state directory.
secrets() {
    local name file
    for name in ROOST_API_TOKEN ROOST_CLUSTER_SECRET; do
        file="$state/$(echo "${name#ROOST_}" | tr 'A-Z_' 'a-z-')"
        if [[ -z "${!name:-}" ]]; then
            [[ -s "$file" ]] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$file")
            printf -v "$name" '%s' "$(cat "$file")"
        fi
        export "${name?}"
    done
}

binary() {
    if [[ -n "${ROOST_BINARY:-}" ]]; then echo "$ROOST_BINARY"; return; fi
    echo "$(swift build --show-bin-path)/roost"
}

port_of() {
    if [[ ${#ports[@]} -ge $1 ]]; then echo "${ports[$1 - 1]}"; else echo $((base_port + $1)); fi
}

number() {
    [[ "${1:-}" =~ ^[1-9][0-9]*$ && "$1" -le "$runners" ]] || {
        echo "cluster.sh: runner number must be 1 to $runners, not '${1:-}'" >&2
        exit 2
    }
}

pid_of() {
    local file="$pids/runner-$1.pid"
    [[ -f "$file" ]] || return 1
    local pid
    pid=$(cat "$file")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

start() {
    local n=$1 roost log
    if pid_of "$n" >/dev/null; then echo "runner $n is already up (pid $(pid_of "$n"))"; return; fi
    roost=$(binary)
    log="$logs/runner-$n.log"
    : >"$log"
    # The runner outlives this script: it must not keep the script's other descriptors (a caller waiting for the
    # script's end would wait for the runner's).
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if [[ $fd -gt 2 ]]; then eval "exec $fd>&-"; fi
        done
        if [[ -n "${ROOST_CLUSTER_PORTS:-}${ROOST_CLUSTER_BASE_PORT:-}" ]]; then
            export ROOST_RUNNER_ADDRESS="127.0.0.1:$(port_of "$n")"
            # The files' HTTP ports belong to the cluster on the default ports.
            export ROOST_HTTP_ADDRESS="${ROOST_HTTP_ADDRESS:-}"
        fi
        exec "$roost" runner --config "cluster-config/runner-$n.yaml"
    ) >>"$log" 2>&1 </dev/null &
    echo $! >"$pids/runner-$n.pid"
    for _ in $(seq 1 300); do
        grep -q "runner joined the cluster" "$log" 2>/dev/null && break
        if ! kill -0 "$(cat "$pids/runner-$n.pid")" 2>/dev/null; then
            echo "runner $n exited while starting:" >&2
            tail -20 "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "runner $n up: 127.0.0.1:$(port_of "$n"), pid $(cat "$pids/runner-$n.pid"), log $log"
}

stop_gracefully() {
    local n=$1 pid
    pid=$(pid_of "$n") || { rm -f "$pids/runner-$n.pid"; return 0; }
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid"
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "runner $n did not stop within 30 s: killing it" >&2
        kill -KILL "$pid"
    fi
    rm -f "$pids/runner-$n.pid"
    echo "runner $n stopped"
}

signal() {
    local n=$1 sig=$2 pid
    pid=$(pid_of "$n") || { echo "runner $n is not running" >&2; exit 1; }
    kill "-$sig" "$pid"
    echo "runner $n (pid $pid): SIG$sig"
    if [[ "$sig" == KILL ]]; then rm -f "$pids/runner-$n.pid"; fi
}

command="${1:-}"
case "$command" in
    up)
        database
        secrets
        [[ -n "${ROOST_BINARY:-}" ]] || swift build --product roost
        for n in $(seq 1 "$runners"); do start "$n"; done
        echo "database $ROOST_DATABASE_URL, schema $ROOST_SCHEMA"
        if [[ -z "${ROOST_CLUSTER_PORTS:-}${ROOST_CLUSTER_BASE_PORT:-}" ]]; then
            echo "HTTP API on 127.0.0.1:8081-8083; token in $state/api-token:"
            echo "  curl -H \"Authorization: Bearer \$(cat $state/api-token)\" http://127.0.0.1:8081/v1/executions"
        fi
        ;;
    down)
        for n in $(seq 1 "$runners"); do stop_gracefully "$n"; done
        ;;
    status)
        for n in $(seq 1 "$runners"); do
            if pid=$(pid_of "$n"); then
                process_state=$(ps -o state= -p "$pid" | tr -d ' ')
                [[ "$process_state" == T* ]] && note=" (stopped: SIGSTOP)" || note=""
                echo "runner $n: pid $pid$note"
            else
                echo "runner $n: not running"
            fi
        done
        database
        secrets
        "$(binary)" cluster status
        ;;
    kill) number "${2:-}"; signal "$2" KILL ;;
    stop) number "${2:-}"; signal "$2" STOP ;;
    cont) number "${2:-}"; signal "$2" CONT ;;
    restart)
        secrets
        number "${2:-}"
        database
        stop_gracefully "$2"
        start "$2"
        ;;
    *) usage ;;
esac
