#!/usr/bin/env bash
# The whole test suite: provisions PostgreSQL (scripts/postgres.sh, or the server at ROOST_DATABASE_URL),
# builds, and runs every test target, then the sample application's. Fails if a test fails or if no test ran.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The HTTP API tests call the runners the way an operator does: with curl.
if ! command -v curl >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl >&2
    else
        echo "test.sh: the HTTP API tests need curl; install it (apt-get install curl)" >&2
        exit 1
    fi
fi

export ROOST_DATABASE_URL="${ROOST_DATABASE_URL:-$(scripts/postgres.sh start)}"
echo "database: $ROOST_DATABASE_URL"

swift build --build-tests
export ROOST_BINARY="$(swift build --show-bin-path)/roost"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Runs the built tests of the package in $1 with the remaining arguments; fails if a test fails or none ran.
run_tests() {
    local package=$1
    shift
    set +e
    (cd "$package" && swift test --skip-build "$@") 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    set -e
    if [[ $status -ne 0 ]]; then exit "$status"; fi
    if ! grep -Eq 'Test run with [1-9][0-9]* tests? (in [0-9]+ suites? )?passed' "$log"; then
        echo "test.sh: no test of $package ran" >&2
        exit 1
    fi
}

run_tests . "$@"

# The sample application: a package of its own that depends on Roost by path, as a user's service would, with its
# own runner executable and its own tests of two runner processes of that executable.
sample=Examples/hello-roost
swift build --package-path "$sample" --build-tests
export HELLO_ROOST_BINARY="$(swift build --package-path "$sample" --show-bin-path)/hello-roost"
run_tests "$sample"
