#!/usr/bin/env bash
# The one test command: installs what is missing, builds, then runs every unit and
# integration test against a throwaway PostgreSQL pair (tests/pg_pair.sh).
#
#   tests/run.sh                              everything
#   tests/run.sh -R unit.                     extra arguments go to ctest
#   BUILD_DIR=build-x tests/run.sh
#   SANITIZE=address,undefined tests/run.sh   everything under ASan+LSan+UBSan, in build-asan
#   SANITIZE=thread tests/run.sh              everything under TSan, in build-tsan
#   SYNCSET_TEST_DOCKER=1 tests/run.sh        everything, then the container stack on a real
#                                             engine (docker/test.sh; needs root)
#
# Under SANITIZE every process built here (the test binaries and the syncset binary they
# start) writes its reports to BUILD_DIR/sanitizer-reports/; the run fails when any is there,
# even if every test passed (a daemon a test killed cannot fail it by its exit status).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

sanitize=${SANITIZE:-}
case $sanitize in
    "") default_build_dir=build ;;
    *thread*) default_build_dir=build-tsan ;;
    *address*) default_build_dir=build-asan ;;
    *) default_build_dir=build-san-${sanitize//,/-} ;;
esac
build_dir=${BUILD_DIR:-$default_build_dir}
jobs=${JOBS:-2}

scripts/install-deps.sh
# Always passed, so a build dir follows SANITIZE as it is now, not as it was last time.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYNCSET_SANITIZE="$sanitize"
cmake --build "$build_dir" -j"$jobs"

reports=""
if [[ -n $sanitize ]]; then
    reports="$(cd "$build_dir" && pwd -P)/sanitizer-reports"
    rm -rf "$reports"
    mkdir -p "$reports"
    # Ours first, so that options the caller exported win (a later key overrides).
    export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0:log_path=$reports/lsan${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    # Every race, not only the first: a report does not stop the process, its exit status is 66.
    export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:log_path=$reports/tsan${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
fi

# --no-tests=error: a filter or a build that finds no test is a failure, not a pass.
# --timeout: one hung test must not hang CI forever (ctest's own default is none).
status=0
tests/pg_pair.sh run -- ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" \
    --no-tests=error --timeout 600 "$@" || status=$?

# The container stack: with SYNCSET_TEST_DOCKER=1 it must run (77, no engine, is a failure).
if [[ ${SYNCSET_TEST_DOCKER:-} == 1 ]]; then
    docker_status=0
    bash docker/test.sh || docker_status=$?
    if ((docker_status != 0)); then
        echo "run.sh: docker/test.sh failed (exit $docker_status)" >&2
        status=1
    fi
fi

if [[ -n $reports ]] && compgen -G "$reports/*" >/dev/null; then
    echo "run.sh: SANITIZE=$sanitize: $(find "$reports" -type f | wc -l) sanitizer report(s) in $reports:" >&2
    for report in "$reports"/*; do
        echo "---- $report" >&2
        cat "$report" >&2
    done
    ((status != 0)) || status=1
fi
exit "$status"
