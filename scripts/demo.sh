#!/usr/bin/env bash
# The demo: provisions PostgreSQL, builds roost, brings up a three-runner cluster (scripts/cluster.sh, configured
# from cluster-config/), starts 300 example executions, kills a runner with kill -9 mid-way, resolves the
# approvals through the client library while it is down, brings it back, shows live progress by runner, and
# reports that every execution completed, how many moved between runners, that every journal entry was written
# under its shard's lease, and that every activity's effect happened exactly once.
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
export ROOST_BINARY="$(swift build --show-bin-path)/roost"
roost="$ROOST_BINARY"

# The demo's cluster keeps its own state and ports, apart from a cluster scripts/cluster.sh runs by hand.
export ROOST_CLUSTER_DIR="$root/.roost/demo"
export ROOST_CLUSTER_BASE_PORT="${ROOST_DEMO_BASE_PORT:-7430}"
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT

step "Fresh schema"
scripts/cluster.sh down >/dev/null
"$roost" demo reset

step "Three runners join the cluster and share its 300 shards"
scripts/cluster.sh up

step "A client starts 300 executions: 200 orders, 30 approvals, 30 reminders, 40 pipelines"
"$roost" demo start

step "Live progress until 120 have finished"
"$roost" demo watch --until 120

step "kill -9 runner 2 mid-flight: the others see its database session end and take its shards"
scripts/cluster.sh kill 2

step "While runner 2 is down, resolve every approval through the client library"
"$roost" demo resolve
"$roost" deferred resolve Approval approval-0 decision --value '{"approved": false, "by": "late"}' || true

step "Progress with two runners until 240 have finished"
"$roost" demo watch --until 240

step "Runner 2 comes back and takes its share of the shards again"
scripts/cluster.sh restart 2

step "Progress until every execution has finished"
"$roost" demo watch

step "What happened"
"$roost" workflow result Approval approval-0 --json
"$roost" workflow result Reminder reminder-0 --json
"$roost" demo report
