#!/usr/bin/env bash
# The container stack, started for real: builds the images, brings up docker/compose.yaml
# (source, replica, syncset) and checks what a compose user relies on. Needs root (it may start
# dockerd) and Debian 12's docker.io, docker-compose and debootstrap (SYNCSET_TEST_DOCKER=1
# scripts/install-deps.sh installs them).
#
#   docker/test.sh            exit 0 all passed, 1 a check failed, 77 no engine can be had here
#
# No registry is needed: where `debian:12` / `debian:12-slim` are missing, they are made with
# debootstrap from the host's own apt source (local test images, never to be pushed), and the
# source and replica run a stand-in for postgres:15 built from Debian's postgresql-15
# (docker/postgres/). POSTGRES_IMAGE=postgres:15 docker/test.sh uses the official image instead
# where a registry is reachable.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
readonly repo_root=$PWD
readonly project=syncset-test
readonly compose_file=$repo_root/docker/compose.yaml
postgres_image=${POSTGRES_IMAGE:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/syncset-docker.XXXXXXXX")
dockerd_pid=""
stack_up=""
passed=0
failed=0

log() { printf '[docker-test %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
skip() {
    log "skipped: $*"
    exit 77
}
check() { # check NAME COMMAND...: one line per check, counted
    local name=$1
    shift
    if "$@" >>"$work/checks.log" 2>&1; then
        passed=$((passed + 1))
        log "ok: $name"
    else
        failed=$((failed + 1))
        log "FAILED: $name (see $work/checks.log)"
    fi
}

compose() {
    POSTGRES_IMAGE=$postgres_image docker-compose -p "$project" -f "$compose_file" "$@"
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    if [[ -n $stack_up ]]; then
        compose logs --no-color >"$work/stack.log" 2>&1 || true
        compose down -v --remove-orphans >/dev/null 2>&1 || true
    fi
    if [[ -n $dockerd_pid ]]; then
        kill "$dockerd_pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$dockerd_pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    if ((status == 0)); then
        rm -rf "$work"
    else
        log "logs kept in $work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- the engine ------------------------------------------------------------------------------
command -v docker >/dev/null || skip "no docker client (SYNCSET_TEST_DOCKER=1 scripts/install-deps.sh)"
command -v docker-compose >/dev/null || skip "no docker-compose (SYNCSET_TEST_DOCKER=1 scripts/install-deps.sh)"
if ! docker info >/dev/null 2>&1; then
    ((EUID == 0)) || skip "no running engine, and starting dockerd needs root"
    command -v dockerd >/dev/null || skip "no dockerd (SYNCSET_TEST_DOCKER=1 scripts/install-deps.sh)"
    log "starting dockerd"
    # No bridge and no iptables rules: nothing is left behind on the host when it stops.
    dockerd --iptables=false --ip-forward=false --bridge=none >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || {
        tail -n 20 "$work/dockerd.log" >&2
        skip "dockerd did not start"
    }
fi

# ---- images without a registry ---------------------------------------------------------------
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# debian:12 and debian:12-slim from debootstrap, when the engine has neither.
if ! image_exists debian:12 || ! image_exists debian:12-slim; then
    command -v debootstrap >/dev/null || skip "no debian:12 image and no debootstrap to make one"
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [[ -n $mirror ]] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    [[ -n $mirror ]] || mirror=http://deb.debian.org/debian
    log "making debian:12 with debootstrap (local test image)"
    rootfs=$work/rootfs
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 20 "$work/debootstrap.log" >&2
        exit 1
    }
    # apt inside the image uses the host's sources and its Acquire settings (not printed).
    cp -a /etc/apt/sources.list.d/. "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
    [[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
    for conf in /etc/apt/apt.conf.d/*; do
        grep -q '^Acquire' "$conf" 2>/dev/null && cp "$conf" "$rootfs/etc/apt/apt.conf.d/"
    done
    rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
    tar -C "$rootfs" -c . | docker import - syncset-test/debian:12 >/dev/null
    rm -rf "$rootfs"
    image_exists debian:12 || docker tag syncset-test/debian:12 debian:12
    image_exists debian:12-slim || docker tag syncset-test/debian:12 debian:12-slim
fi

if [[ -z $postgres_image ]]; then
    postgres_image=syncset-test/postgres:15
    log "building $postgres_image from Debian's postgresql-15"
    docker build --network host -t "$postgres_image" "$repo_root/docker/postgres" \
        >"$work/postgres-build.log" 2>&1 || {
        tail -n 30 "$work/postgres-build.log" >&2
        exit 1
    }
fi

log "building the syncset image"
t0=$SECONDS
compose build >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    exit 1
}
log "built in $((SECONDS - t0)) s"

# ---- the stack -------------------------------------------------------------------------------
log "docker-compose up"
stack_up=yes
compose up -d >"$work/up.log" 2>&1 || {
    tail -n 30 "$work/up.log" >&2
    compose logs --no-color | tail -n 40 >&2
    exit 1
}

src() { compose exec -T source psql -X -q -At -U postgres -d app -c "$1"; }
rep() { compose exec -T replica psql -X -q -At -U postgres -d analytics -c "$1"; }
# until SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS.
until_ok() {
    local deadline=$((SECONDS + $1))
    shift
    while ((SECONDS < deadline)); do
        "$@" && return 0
        sleep 1
    done
    "$@"
}
container() { compose ps -q "$1"; }
syncset_id=$(container syncset) # the same container until the end
health() { docker inspect -f '{{.State.Health.Status}}' "$syncset_id"; }

orders_match() {
    [[ $(src "select count(*), sum(amount) from orders where status <> 'draft'") == \
        "$(rep "select count(*), sum(amount) from orders" 2>/dev/null)" ]]
}
customers_match() {
    [[ $(src "select count(*) from customers") == "$(rep "select count(*) from customers" 2>/dev/null)" ]]
}
no_email_on_replica() {
    [[ $(rep "select count(*) from information_schema.columns where table_name = 'customers' and column_name = 'email'") == 0 ]]
}
row_follows() { # row_follows ID AMOUNT
    [[ $(rep "select amount from orders where id = $1" 2>/dev/null) == "$2" ]]
}
healthy() { [[ $(health) == healthy ]]; }

# ---- syncset's HTTP listener (metrics.listen 0.0.0.0:9187 in docker/syncset.compose.yaml) ----
# get PATH: GET PATH from the host inside the syncset container's network namespace (no port is
# published, and no HTTP client is needed on either side); prints the status, then the body.
get() {
    local pid
    pid=$(docker inspect -f '{{.State.Pid}}' "$syncset_id") && ((pid > 0)) ||
        return 1
    # shellcheck disable=SC2016 # expanded by the inner bash
    nsenter -t "$pid" -n bash -c '
        exec 3<>/dev/tcp/127.0.0.1/9187 || exit 1
        printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$1" >&3
        timeout 5 cat <&3' get "$1" |
        tr -d '\r' | awk 'NR == 1 { print $2; next } body { print; next } /^$/ { body = 1 }'
}
answers() { # answers PATH STATUS [TEXT]: GET PATH has STATUS, and TEXT in its body
    local out
    out=$(get "$1") || return 1
    echo "GET $1: $out"
    [[ ${out%%$'\n'*} == "$2" && $out == *"${3:-}"* ]]
}
metric() { # metric NAME{LABELS}: its value in /metrics
    get /metrics | awk -v name="$1" '$1 == name { print $2; found = 1 } END { exit !found }'
}
copied_in_snapshot() { # copied_in_snapshot TABLE ROWS
    [[ $(metric "syncset_rows_copied_total{replica=\"analytics\",table=\"$1\",phase=\"snapshot\"}") == "$2" ]]
}
no_excluded_column_in_metrics() {
    local out
    out=$(get /metrics) && [[ $out == *syncset_rows_copied_total* && $out != *email* ]]
}
probe_fails() { # probe_fails PATH TEXT [ENV=VALUE...]: the image's own probe, run as the image's
    # user, exits 1 (not 0, nor a code Docker reserves) and says TEXT
    local path=$1 text=$2 out status=0
    shift 2
    out=$(docker exec "${@/#/--env=}" "$syncset_id" syncset-healthcheck "$path") ||
        status=$?
    echo "syncset-healthcheck $path: exit $status: $out"
    ((status == 1)) && [[ $out == *"$text"* ]]
}
probes_all_passed() { # the last (up to 5) runs of the image's HEALTHCHECK all exited 0
    local codes
    codes=$(docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{end}}' "$syncset_id")
    echo "health probe exit codes: $codes"
    [[ -n $codes && -z ${codes//[0 ]/} ]]
}
probe_asks_healthz() { # what Docker kept of the HEALTHCHECK's output: /healthz's body
    docker inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$syncset_id" |
        grep -q '"alive":true'
}
non_root() {
    [[ $(docker inspect -f '{{.Config.User}}' "$(container syncset)") == 10001:10001 ]] &&
        [[ $(compose exec -T syncset id -u | tr -d '\r') == 10001 ]]
}

check "the snapshot lands with its row filter" until_ok 120 orders_match
check "the snapshot lands without the excluded column" until_ok 30 customers_match
check "the excluded column is not on the replica" no_email_on_replica
check "the syncset container runs as the numeric non-root user 10001:10001" non_root
check "HEALTHCHECK turns healthy" until_ok 90 healthy
check "... by GET /healthz (Docker's health log shows {\"alive\":true})" probe_asks_healthz
check "/healthz answers 200 from the container's network namespace" answers /healthz 200 '"alive":true'
check "/readyz answers 200 once synced" until_ok 30 answers /readyz 200 '"ready":true'
orders_rows=$(rep "select count(*) from orders")
customers_rows=$(rep "select count(*) from customers")
check "/metrics counts the $orders_rows orders copied by the snapshot" until_ok 10 copied_in_snapshot public.orders "$orders_rows"
check "/metrics counts the $customers_rows customers copied by the snapshot" until_ok 10 copied_in_snapshot public.customers "$customers_rows"
check "/metrics names no excluded column" no_excluded_column_in_metrics
check "the image's probe fails when nothing listens" probe_fails /healthz "nothing listens" SYNCSET_HEALTH_PORT=1

src "update orders set amount = 4242.42, updated_at = now() where id = 2" >/dev/null
check "an update follows within a few polls" until_ok 30 row_follows 2 4242.42
src "insert into orders (id, customer_id, amount, status) values (900001, 1, 17.50, 'paid')" >/dev/null
check "an insert follows within a few polls" until_ok 30 row_follows 900001 17.50

log "docker-compose stop source"
compose stop source >>"$work/up.log" 2>&1
check "/readyz turns 503 naming the source while it is stopped" \
    until_ok 60 answers /readyz 503 '"source unreachable"'
check "... while /healthz stays 200" answers /healthz 200 '"alive":true'
check "... and /metrics has syncset_source_up 0" test "$(metric syncset_source_up)" = 0
check "the image's probe fails on a non-200 (/readyz, 503)" probe_fails /readyz 503
log "docker-compose start source"
compose start source >>"$work/up.log" 2>&1
until_ok 60 src "select 1" >/dev/null 2>&1 || true
check "/readyz returns to 200 once the source is back" until_ok 90 answers /readyz 200 '"ready":true'
check "every health probe passed through the outage" probes_all_passed
src "update orders set amount = 1.25, updated_at = now() where id = 3" >/dev/null
check "a stop and start of the source is survived" until_ok 90 row_follows 3 1.25
check "syncset kept running through it" test "$(docker inspect -f '{{.State.Running}}' "$(container syncset)")" = true

log "docker-compose stop syncset"
t0=$SECONDS
compose stop -t 30 syncset >>"$work/up.log" 2>&1
stop_s=$((SECONDS - t0))
check "docker-compose stop syncset exits 0 (SIGTERM)" test "$(docker inspect -f '{{.State.ExitCode}}' "$(container syncset)")" = 0
check "... within the grace period (took ${stop_s} s of 30)" test "$stop_s" -lt 30

compose logs --no-color >"$work/stack.log" 2>&1 || true
compose down -v --remove-orphans >>"$work/up.log" 2>&1
stack_up=""
check "docker-compose down -v removes the stack" test -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")"

echo "docker/test.sh: $passed passed, $failed failed"
((failed == 0))
