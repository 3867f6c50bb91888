#!/usr/bin/env bash
# The one test command: installs what is missing, builds, then runs every unit and
# integration test against a throwaway PostgreSQL pair (tests/pg_pair.sh).
#
#   tests/run.sh                 everything
#   tests/run.sh -R unit.        extra arguments go to ctest
#   BUILD_DIR=build-x tests/run.sh
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-2}

scripts/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j"$jobs"
# --no-tests=error: a filter or a build that finds no test is a failure, not a pass.
# --timeout: one hung test must not hang CI forever (ctest's own default is none).
exec tests/pg_pair.sh run -- ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" \
    --no-tests=error --timeout 600 "$@"
