#!/usr/bin/env bash
# The demo: provisions PostgreSQL, builds roost, runs example workflows on a runner, kills the runner with
# kill -9 while executions are in flight, resolves approvals through the client library while no runner is up,
# brings a runner back, and reports that every execution completed with every effect exactly once.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "PostgreSQL"
export ROOST_DATABASE_URL="${ROOST_DATABASE_URL:-$(scripts/postgres.sh start)}"
export ROOST_SCHEMA="${ROOST_DEMO_SCHEMA:-roost_demo}"
echo "database $ROOST_DATABASE_URL, schema $ROOST_SCHEMA"

step "Build"
swift build --product roost
roost="$(swift build --show-bin-path)/roost"

logs="$root/.roost/logs"
mkdir -p "$logs"
runner_pid=""
cleanup() { [[ -n "$runner_pid" ]] && kill -TERM "$runner_pid" 2>/dev/null || true; }
trap cleanup EXIT

start_runner() {
    local log="$logs/demo-runner-$1.log"
    "$roost" runner >"$log" 2>&1 &
    runner_pid=$!
    for _ in $(seq 1 300); do
        grep -q "workflow engine started" "$log" 2>/dev/null && break
        kill -0 "$runner_pid" 2>/dev/null || { cat "$log"; exit 1; }
        sleep 0.1
    done
    echo "runner $1 up (pid $runner_pid, log $log)"
}

step "Fresh schema"
"$roost" demo reset

step "Runner 1 starts; a client starts example executions"
start_runner 1
"$roost" demo start

step "Progress until 120 executions have completed"
"$roost" demo watch --until 120

step "kill -9 the runner mid-flight"
kill -9 "$runner_pid"; wait "$runner_pid" 2>/dev/null || true
echo "killed runner 1 (pid $runner_pid)"
runner_pid=""
"$roost" workflow list --status running --limit 5 || true
"$roost" workflow list --status waiting --limit 5 || true

step "With no runner up, resolve every approval through the client library"
"$roost" demo resolve
"$roost" deferred resolve Approval approval-0 decision --value '{"approved": false, "by": "late"}' || true

step "Runner 2 starts and resumes every unfinished execution"
start_runner 2
"$roost" demo watch

step "What happened"
"$roost" workflow result Approval approval-0 --json
"$roost" workflow result Reminder reminder-0 --json
"$roost" demo report
