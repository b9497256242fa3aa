#!/usr/bin/env bash
# The benchmarks: provisions PostgreSQL (or uses ROOST_DATABASE_URL), builds roost in release mode and runs
# `roost bench engine` (the default), `roost bench cluster` or `roost bench scale` with any extra arguments
# (for example --json).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export ROOST_DATABASE_URL="${ROOST_DATABASE_URL:-$(scripts/postgres.sh start)}"
swift build -c release --product roost >&2
bench=engine
if [[ "${1:-}" == "engine" || "${1:-}" == "cluster" || "${1:-}" == "scale" ]]; then bench=$1; shift; fi
exec "$(swift build -c release --show-bin-path)/roost" bench "$bench" "$@"
