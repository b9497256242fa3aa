#!/usr/bin/env bash
# The engine benchmark: provisions PostgreSQL (or uses ROOST_DATABASE_URL), builds roost in release mode and
# runs `roost bench engine` with any extra arguments (for example --json).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export ROOST_DATABASE_URL="${ROOST_DATABASE_URL:-$(scripts/postgres.sh start)}"
swift build -c release --product roost >&2
exec "$(swift build -c release --show-bin-path)/roost" bench engine "$@"
