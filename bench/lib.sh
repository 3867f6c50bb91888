# Shared by the benchmarks (sourced, not run): number helpers, psql wrappers and the set-up
# every benchmark does. Expects the caller to set bench_name (its log prefix), repo_root,
# build_dir, work and run_timeout before calling these.
# shellcheck shell=bash disable=SC2154

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$bench_name" -1 "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

# The exit traps every benchmark installs once its variables exist: its own `cleanup` (which
# ends with stop_pair_and_work) on exit; an interrupt exits with 128 + the signal number.
install_traps() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# The replicated columns of bench_orders (all but `secret`), in source order.
# shellcheck disable=SC2034 # used by the scripts that source this one
readonly cols="id, customer_id, status, region, note, amount, attrs, created_at, updated_at"

# checksum DSN [TABLE]: "count sum" of TABLE's replicated columns (default public.bench_orders);
# the sum hashes each row's text, so the two sides of a copy compare in one query each.
checksum() {
    pq_value "$1" "select count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)
                   from (select $cols from ${2:-public.bench_orders}) t"
}

# Session settings for every psql of the benchmarks, the same ones syncset pins, so pipes,
# checksums, the drift floor's row text and exports do not depend on server defaults.
readonly psql_options="-c client_encoding=UTF8 -c DateStyle=ISO -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex -c client_min_messages=warning"

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
within() { awk -v v="$1" -v l="$2" -v s="${3:-0}" 'BEGIN { exit !(s ? v < l : v <= l) }'; }
verdict() { # verdict VALUE LIMIT [STRICT]
    if within "$1" "$2" "${3:-0}"; then echo "ok"; else echo "MISSED"; fi
}
# duration_ms DURATION: a config duration (500ms, 1s, 2m) in milliseconds.
duration_ms() {
    [[ $1 =~ ^([0-9]+)(ms|s|m)$ ]] || return 1
    case ${BASH_REMATCH[2]} in
        ms) echo "${BASH_REMATCH[1]}" ;;
        s) echo $((BASH_REMATCH[1] * 1000)) ;;
        m) echo $((BASH_REMATCH[1] * 60000)) ;;
    esac
}
# stop_pid PID SIGNAL: signal one process this script started and reap it (30 s, then KILL).
stop_pid() {
    local pid=$1 sig=$2 _
    [[ -n $pid ]] || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid did not stop on SIG$sig within 30 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

dsn_at() { echo "host=127.0.0.1 port=$1 user=postgres dbname=$2"; }
pq() {
    PGOPTIONS=$psql_options timeout --foreground "$run_timeout" psql -X -q -v ON_ERROR_STOP=1 "$@"
}
pq_value() {
    local dsn=$1 sql=$2
    pq "$dsn" -At -F ' ' -c "$sql"
}
checkpoint_both() {
    pq "$(dsn_at "$src_port" postgres)" -c "checkpoint"
    pq "$(dsn_at "$rep_port" postgres)" -c "checkpoint"
}
recreate_db() {
    local port=$1 db=$2
    pq "$(dsn_at "$port" postgres)" -c "drop database if exists $db with (force)" -c "create database $db"
}

# create_source_table DSN N [HOLES]: bench_orders with N rows, less the comma-separated ids in
# HOLES (about 200 bytes a row in text COPY
# without `secret`), deterministic, generated on the server; then its indexes and VACUUM ANALYZE.
create_source_table() {
    local dsn=$1 n=$2 holes=${3:-}
    pq "$dsn" <<SQL
set client_min_messages = warning;
drop table if exists public.bench_orders;
create table public.bench_orders (
    id          bigint not null,
    customer_id int not null,
    status      smallint not null,
    region      text not null,
    note        text,
    amount      numeric(12,2) not null,
    attrs       jsonb,
    created_at  timestamptz not null,
    updated_at  timestamptz not null,
    secret      text
);
insert into public.bench_orders
select i,
       1 + h1 % 500000,
       (h2 % 5)::smallint,
       (array['eu-west', 'eu-north', 'us-east', 'us-west', 'ap-south', 'sa-east'])[1 + h3 % 6],
       left('Order ' || i || ' note: ' || md5(i::text) || ' ' || md5(h4::text) || ' '
            || md5(h5::text), (80 + h4 % 41)::int),
       round((h5 % 10000000) / 100.0, 2),
       jsonb_build_object('tier', (array['free', 'pro', 'gold'])[1 + h6 % 3], 'items', 1 + h6 % 9),
       created,
       created + make_interval(secs => h7 % 864000),
       md5(i::text || ' secret')
from (
    select i,
           hashint8extended(i, 1) & 2147483647 as h1,
           hashint8extended(i, 2) & 2147483647 as h2,
           hashint8extended(i, 3) & 2147483647 as h3,
           hashint8extended(i, 4) & 2147483647 as h4,
           hashint8extended(i, 5) & 2147483647 as h5,
           hashint8extended(i, 6) & 2147483647 as h6,
           hashint8extended(i, 7) & 2147483647 as h7,
           timestamptz '2023-01-01 00:00:00+00' + make_interval(secs => i * 7) as created
    from generate_series(1, $n::bigint) as i
    where i <> all (array[$holes]::bigint[])
) g;
alter table public.bench_orders add primary key (id);
-- What a table followed by an updated_at cursor has: keyset reads on (updated_at, id).
create index bench_orders_updated_at_id on public.bench_orders (updated_at, id);
vacuum analyze public.bench_orders;
SQL
}

# Sets syncset, syncset_version and built_from: the binary in SYNCSET_BIN, or a Release build of
# this tree in $build_dir (its log in $work/build.log).
prepare_syncset() {
    if [[ -n ${SYNCSET_BIN:-} ]]; then
        syncset=$(readlink -f "$SYNCSET_BIN")
        [[ -x $syncset ]] || die "SYNCSET_BIN=$SYNCSET_BIN is not an executable"
    else
        log "building the Release binary in $build_dir (log: $work/build.log)"
        if ! {
            timeout 3600 cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
                -DSYNCSET_BUILD_TESTS=OFF -DSYNCSET_WERROR=OFF &&
                timeout 3600 cmake --build "$build_dir" -j2 --target syncset
        } >"$work/build.log" 2>&1; then
            tail -n 40 "$work/build.log" >&2
            die "the build failed"
        fi
        syncset="$repo_root/$build_dir/syncset"
    fi
    syncset_version=$("$syncset" --version 2>&1 || true)
    if [[ -n ${SYNCSET_BIN:-} ]]; then
        built_from="binary $syncset"
    else
        built_from="tree $(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        if [[ -n $(git -C "$repo_root" status --porcelain -- src include CMakeLists.txt cmake 2>/dev/null) ]]; then
            built_from+="+uncommitted"
        fi
    fi
    log "syncset: $syncset ($syncset_version, $built_from)"
}

# The end of every benchmark's EXIT trap: stops the pair start_pair started, then removes the
# work directory, unless something failed (its logs are the evidence; an interrupt is not a
# failure) or KEEP_WORK=1. Expects pair_dir, work, ok and keep_work.
stop_pair_and_work() {
    local status=$1
    if [[ -n $pair_dir && -e $pair_dir ]]; then
        log "stopping the PostgreSQL pair"
        timeout 120 "$repo_root/tests/pg_pair.sh" stop "$pair_dir" >/dev/null 2>&1 ||
            log "could not stop the pair in $pair_dir; stop it with: tests/pg_pair.sh stop $pair_dir"
    fi
    if [[ -n $work && -d $work ]]; then
        if ((ok == 1 || status >= 129)) && [[ $keep_work != 1 ]]; then
            rm -rf "$work"
        else
            log "configs and logs kept in $work"
        fi
    fi
}

# Starts a PostgreSQL pair under $work/pair and sets src_port and rep_port. Both servers get the
# same settings: checkpoints come from the benchmark (before each timed run), not from WAL volume
# in the middle of one.
start_pair() {
    log "starting a PostgreSQL pair"
    pair_dir="$work/pair"
    timeout 300 "$repo_root/tests/pg_pair.sh" start "$pair_dir" >"$work/pair.log" 2>&1 ||
        {
            tail -n 30 "$work/pair.log" >&2
            die "tests/pg_pair.sh start failed"
        }
    # shellcheck source=/dev/null
    . "$pair_dir/env.sh"
    src_port=$SYNCSET_TEST_SOURCE_PORT
    rep_port=$SYNCSET_TEST_REPLICA_PORT

    for port in "$src_port" "$rep_port"; do
        pq "$(dsn_at "$port" postgres)" -c "alter system set max_wal_size = '4GB'" \
            -c "alter system set checkpoint_timeout = '30min'" -c "select pg_reload_conf()" >/dev/null
    done
}

# ---------------------------------------------------------------------------------------------
# A steady write load: pgbench running single-row UPDATEs of random ids (updated_at = now()),
# rate-limited. Used by bench/freshness.sh and the load section of bench/drift.sh.

# Sets pgbench_bin: PostgreSQL 15's own pgbench (Debian: package postgresql-15 or
# postgresql-client-15), else the one on PATH.
find_pgbench() {
    if [[ -x $pg_bin/pgbench ]]; then
        pgbench_bin=$pg_bin/pgbench
    elif command -v pgbench >/dev/null; then
        pgbench_bin=$(command -v pgbench)
    else
        die "pgbench is missing (Debian: apt-get install postgresql-client-15)"
    fi
}

# start_update_load PORT DB FIRST_ID LAST_ID RATE CLIENTS SECONDS LOG: pgbench in the
# background for SECONDS (-T), RATE transactions a second in all (-R, Poisson schedule) over
# CLIENTS connections, each transaction one `UPDATE ... SET updated_at = now()` of a random id
# in FIRST_ID..LAST_ID; progress every second (-P 1) and the summary go to LOG. Sets load_pid.
load_pid=""
start_update_load() {
    local l_port=$1 l_db=$2 l_first=$3 l_last=$4 l_rate=$5 l_clients=$6 l_seconds=$7 l_out=$8
    local l_script="$work/update_load.sql" l_threads=$(($6 < 2 ? $6 : 2))
    cat >"$l_script" <<'SQL'
\set id random(:first_id, :last_id)
update public.bench_orders set updated_at = now() where id = :id;
SQL
    timeout -k 10 "$((l_seconds + 60))" "$pgbench_bin" -n -M prepared -h 127.0.0.1 -p "$l_port" \
        -U postgres -f "$l_script" -D first_id="$l_first" -D last_id="$l_last" -c "$l_clients" \
        -j "$l_threads" -R "$l_rate" -T "$l_seconds" -P 1 "$l_db" >"$l_out" 2>&1 &
    load_pid=$!
}

# Waits for the load to end by itself (its -T); 1 if pgbench failed.
wait_update_load() {
    [[ -n $load_pid ]] || return 0
    local status=0
    wait "$load_pid" || status=$?
    load_pid=""
    return "$status"
}

# Ends the load early (SIGINT to its pid, as Ctrl-C would), then reaps it.
stop_update_load() {
    [[ -n $load_pid ]] || return 0
    kill -INT "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
    load_pid=""
}

# load_tps LOG [FROM_S TO_S]: the mean of pgbench's per-second progress lines (tps), over the
# seconds FROM_S..TO_S of its run when given. Works for a pgbench ended early too.
load_tps() {
    awk -v from="${2:-0}" -v to="${3:-1e9}" '
        /^progress: / { t = $2 + 0; v = $4 + 0; if (t > from && t <= to) { s += v; n++ } }
        END { if (n) printf "%.0f", s / n; else print "n/a" }' "$1"
}

# A free TCP port on 127.0.0.1 for metrics.listen, as tests/pg_pair.sh picks its own: nothing
# accepts there (a port taken between this and the daemon's bind fails the run at its start).
free_port() {
    local candidate _
    for _ in $(seq 200); do
        candidate=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
