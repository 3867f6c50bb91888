#!/usr/bin/env bash
# Freshness benchmark: how long a committed source row takes to become visible on the replica
# while the source takes a steady write load, for the syncset daemon with an `updated_at`
# cursor, with an `xmin` cursor, and with an `updated_at` cursor while its periodic drift scan
# runs, next to native logical replication of the same table, all in ONE run on ONE throwaway
# PostgreSQL 15 pair (tests/pg_pair.sh; the source restarted with wal_level = logical). Targets
# come from issue 10; see bench/README.md ("Freshness") for what each figure means.
#
#   bench/freshness.sh                          build, 1,000,000 rows, 30 s of load per mode
#   ROWS=200000 DURATION=20 bench/freshness.sh  a quicker run
#
# Knobs (environment):
#   ROWS=1000000          rows of the table (the table of bench/copy.sh)
#   DURATION=30           seconds of write load (and probes) per mode
#   RATE=1000             write load: transactions a second in all (pgbench -R)
#   CLIENTS=4             write load: pgbench connections
#   POLL_INTERVAL=200ms   the syncset table's poll_interval
#   DRIFT_INTERVAL=5s     drift.interval of the "scan" mode (the other syncset modes: 0, off)
#   PROBE_MS=100          the probe row is updated every PROBE_MS ms
#   SAMPLE_MS=20          the replica sampler reads the probe row every SAMPLE_MS ms
#   CATCHUP_TIMEOUT=120   seconds a mode may take to catch up after the writers stop
#   MODES="updated_at xmin scan logical"   which modes run, in this order
#   SYNCSET_BIN=PATH      use this binary instead of building one
#   BUILD_DIR=build-bench where to build the Release binary
#   RUN_TIMEOUT=1800      seconds before one psql command counts as hung
#   RESULTS=PATH          also write the results table to PATH
#   MIN_FREE_GB=4         refuse to start with less free disk space than this
#   KEEP_WORK=1           keep the work directory (configs, logs, samples) even on success
#
# Exits 0 when every mode ran and every replica matched its source at the end, even if a target
# is missed (benchmarks are not tests; a missed target prints MISSED). Exits 1 when something
# failed or a replica did not match its source.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
readonly repo_root=$PWD

readonly rows=${ROWS:-1000000}
readonly duration=${DURATION:-30}
readonly rate=${RATE:-1000}
readonly clients=${CLIENTS:-4}
readonly poll_interval=${POLL_INTERVAL:-200ms}
readonly drift_interval=${DRIFT_INTERVAL:-5s}
readonly probe_ms=${PROBE_MS:-100}
readonly sample_ms=${SAMPLE_MS:-20}
readonly catchup_timeout=${CATCHUP_TIMEOUT:-120}
read -ra modes <<<"${MODES:-updated_at xmin scan logical}"
readonly build_dir=${BUILD_DIR:-build-bench}
readonly run_timeout=${RUN_TIMEOUT:-1800}
readonly results_file=${RESULTS:-}
readonly min_free_gb=${MIN_FREE_GB:-4}
readonly keep_work=${KEEP_WORK:-0}
readonly pg_bin=${SYNCSET_PG_BIN:-/usr/lib/postgresql/15/bin}

# Targets of issue 10.
readonly target_extra_s=1    # p99 latency <= poll_interval + this, column cursors, scan or not
readonly target_catchup_s=2  # writers stopped -> replica equals source

# The probe row; the write load updates the others (2..ROWS).
readonly probe_id=1

work=""
pair_dir=""
daemon_pid=""
sampler_pid=""
catchup_pid=""
probe_pid=""
subscribed=""
ok=0

readonly bench_name=freshness  # its log lines: [freshness HH:MM:SS] ...

# shellcheck source=bench/lib.sh
. "$repo_root/bench/lib.sh"

stop_daemon() {
    stop_pid "$daemon_pid" TERM
    daemon_pid=""
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    stop_update_load
    stop_pid "$probe_pid" TERM
    stop_pid "$sampler_pid" TERM
    stop_pid "$catchup_pid" TERM
    stop_daemon
    if [[ -n $subscribed ]]; then
        # Drops the slot on the source too; the pair goes away next anyway.
        pq "$(dsn_at "$rep_port" "$subscribed")" -c "drop subscription if exists bench_sub" \
            >/dev/null 2>&1 || true
    fi
    stop_pair_and_work "$status"
    exit "$status"
}
install_traps

for value in "$rows" "$duration" "$rate" "$clients" "$probe_ms" "$sample_ms" \
    "$catchup_timeout" "$run_timeout" "$min_free_gb"; do
    is_uint "$value" || die "not a whole number: '$value' (check ROWS, DURATION, RATE, ...)"
done
((rows >= 1000)) || die "ROWS must be at least 1000"
((duration >= 5 && duration <= 3600)) || die "DURATION must be 5..3600 seconds"
((rate >= 1 && clients >= 1)) || die "RATE and CLIENTS must be at least 1"
((probe_ms >= 10 && sample_ms >= 5)) || die "PROBE_MS must be >= 10, SAMPLE_MS >= 5"
((${#modes[@]} >= 1)) || die "MODES needs at least one mode"
for mode in "${modes[@]}"; do
    case $mode in updated_at | xmin | scan | logical) ;;
    *) die "unknown mode '$mode' in MODES (updated_at, xmin, scan, logical)" ;;
    esac
done
poll_ms=$(duration_ms "$poll_interval") || die "POLL_INTERVAL must look like 200ms, 1s or 1m"
duration_ms "$drift_interval" >/dev/null || die "DRIFT_INTERVAL must look like 500ms, 5s or 1m"
readonly poll_ms

# ---------------------------------------------------------------------------------------------
# Helpers

# The rows the window wrote, by (id, updated_at): what must have reached the replica. Both
# sides have an index on (updated_at, id), so this reads only the window's rows.
window_hash_sql() {
    echo "select count(*) || ':' || coalesce(sum(hashtextextended(id::text || ' ' || updated_at::text, 0)), 0)
          from public.bench_orders where updated_at >= '$1'"
}

# write_config FILE REPLICA_DB CURSOR DRIFT_INTERVAL
write_config() {
    cat >"$1" <<EOF
# Written by bench/freshness.sh
source:
  dsn: "$(dsn_at "$src_port" bench)"
replicas:
  - name: bench
    dsn: "$(dsn_at "$rep_port" "$2")"
    tables:
      - source: public.bench_orders
        exclude: [secret]
        cursor: $3
        poll_interval: $poll_interval
drift:
  interval: $4
EOF
}

# The subscriber's table: the replicated columns, the same key and the same (updated_at, id)
# index syncset copies from the source.
create_lr_table() {
    pq "$1" <<'SQL'
set client_min_messages = warning;
create table public.bench_orders (
    id          bigint primary key,
    customer_id int not null,
    status      smallint not null,
    region      text not null,
    note        text,
    amount      numeric(12,2) not null,
    attrs       jsonb,
    created_at  timestamptz not null,
    updated_at  timestamptz not null
);
create index bench_orders_updated_at_id on public.bench_orders (updated_at, id);
SQL
}

# wait_for SECONDS WHAT DSN SQL: until SQL returns t on DSN, or die.
wait_for() {
    local seconds=$1 what=$2 dsn=$3 sql=$4 deadline value
    deadline=$((SECONDS + seconds))
    while ((SECONDS < deadline)); do
        if [[ -n $daemon_pid ]] && ! kill -0 "$daemon_pid" 2>/dev/null; then
            tail -n 20 "$daemon_log" >&2
            daemon_pid=""
            die "the syncset daemon exited while waiting for: $what"
        fi
        value=$(pq_value "$dsn" "$sql" 2>/dev/null) || value=""
        [[ $value == t ]] && return 0
        sleep 0.2
    done
    die "$what: not within $seconds s"
}

# start_watch FILE DSN SQL: one psql running SQL every SAMPLE_MS (\\watch) into FILE, one line
# "value value" per run; bounded by timeout; stop it with SIGINT to watch_pid (psql then exits
# and flushes FILE). Sets watch_pid.
watch_pid=""
start_watch() {
    local file=$1 dsn=$2 sql=$3
    printf '%s\n\\watch %s\n' "$sql" "$(awk -v m="$sample_ms" 'BEGIN { printf "%.3f", m / 1000 }')" |
        PGOPTIONS=$psql_options timeout -s INT -k 10 "$((duration + catchup_timeout + 120))" \
            psql -X -q -At -F ' ' "$dsn" >"$file" 2>"$file.err" &
    watch_pid=$!
}

# The daemon's log time (UTC, ms) of an $EPOCHREALTIME value, to count its lines in a window.
log_time() { date -u -d "@$1" '+%Y-%m-%dT%H:%M:%S.%3N'; }

# Latencies, one per probe write, in seconds: for each probe value written (source clock),
# the first sampler reading (replica clock; the same machine) that shows it or a later one.
# Probe values the sampler never saw are not in the list (counted separately).
latencies() {
    awk 'NR == FNR { if (NF == 1) w[++n] = $1; next }
         NF == 2 { while (i < n && w[i + 1] <= $2) { i++; printf "%.4f\n", $1 - w[i] } }' "$1" "$2"
}
# pct FILE P: the P-quantile (0..1, nearest rank) of the numbers in FILE.
pct() {
    sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 }
        END { if (!NR) { print "n/a"; exit }
              k = int(p * NR); if (k < p * NR) k++; if (k < 1) k = 1; printf "%.3f", v[k] }'
}

# ---------------------------------------------------------------------------------------------
# One window: probe writer, sampler and write load running for DURATION s, then catch-up.
# run_window MODE REPLICA_DB: sets the r_* results of the mode.

declare -A r_p50=() r_p99=() r_max=() r_n=() r_unseen=() r_catchup=() r_tps=() r_match=()
declare -A r_scans=() r_errors=() r_label=()
daemon_log=""
window_from=""

run_window() {
    local mode=$1 db=$2 rep_dsn window_start t_start t_seen target probes samples
    local lat status=0 n_probe_ticks catchup last_write deadline
    rep_dsn=$(dsn_at "$rep_port" "$db")
    probes="$work/$mode.probes"
    samples="$work/$mode.samples"
    lat="$work/$mode.latencies"
    catchup="$work/$mode.catchup"

    checkpoint_both
    window_start=$(pq_value "$src_dsn" "select clock_timestamp()")
    t_start=$EPOCHREALTIME

    # The probe sampler: the probe row on the replica, every SAMPLE_MS.
    start_watch "$samples" "$rep_dsn" \
        "select extract(epoch from clock_timestamp()), extract(epoch from updated_at) from public.bench_orders where id = $probe_id"
    sampler_pid=$watch_pid

    # The probe writer: one psql session on the source, one autocommit UPDATE every PROBE_MS,
    # printing the value it wrote (clock_timestamp() inside the statement, just before commit).
    n_probe_ticks=$((duration * 1000 / probe_ms))
    {
        local i next=${EPOCHREALTIME/./} now
        for ((i = 0; i < n_probe_ticks; i++)); do
            echo "update public.bench_orders set updated_at = clock_timestamp() where id = $probe_id returning extract(epoch from updated_at);"
            next=$((next + probe_ms * 1000))
            now=${EPOCHREALTIME/./}
            if ((next > now)); then
                sleep "$(awk -v u="$((next - now))" 'BEGIN { printf "%.6f", u / 1e6 }')"
            fi
        done
    } | PGOPTIONS=$psql_options timeout -k 10 "$((duration + 60))" \
        psql -X -q -At -v ON_ERROR_STOP=1 "$src_dsn" >"$probes" 2>"$work/$mode.probe.err" &
    probe_pid=$!

    start_update_load "$src_port" bench 2 "$rows" "$rate" "$clients" "$duration" "$work/$mode.pgbench"
    # The catch-up sampler: the replica's rows of the window, hashed, every SAMPLE_MS from two
    # seconds before the writers stop (it is a scan of the window's rows: not for the whole
    # window, so it does not load the replica more than the catch-up needs).
    sleep "$((duration - 2))"
    start_watch "$catchup" "$rep_dsn" \
        "select extract(epoch from clock_timestamp()), ($(window_hash_sql "$window_start"))"
    catchup_pid=$watch_pid
    wait_update_load || status=$?
    wait "$probe_pid" || status=$?
    probe_pid=""
    if ((status != 0)); then
        tail -n 5 "$work/$mode.pgbench" "$work/$mode.probe.err" >&2
        die "$mode: the write load or the probe writer failed"
    fi

    # Catch-up: from the source's last commit (its latest updated_at: the probe writes
    # clock_timestamp(), pgbench now(), both within a millisecond of their commit) to the first
    # catch-up sample whose rows of the window equal the source's, which no longer change.
    last_write=$(pq_value "$src_dsn" "select extract(epoch from max(updated_at)) from public.bench_orders")
    target=$(pq_value "$src_dsn" "$(window_hash_sql "$window_start")")
    t_seen=""
    deadline=$((SECONDS + catchup_timeout))
    while ((SECONDS < deadline)); do
        t_seen=$(awk -v h="$target" '$2 == h { print $1; exit }' "$catchup")
        [[ -n $t_seen ]] && break
        sleep 0.05
    done
    if [[ -n $t_seen ]]; then
        r_catchup[$mode]=$(seconds_between "$last_write" "$t_seen")
    else
        r_catchup[$mode]="timeout"
    fi
    # The probe writes stopped with the load: the last one is in the probe samples by now.
    sleep 0.2
    stop_pid "$catchup_pid" INT
    catchup_pid=""
    stop_pid "$sampler_pid" INT
    sampler_pid=""

    # Everything, not only the window's rows, must match at the end.
    if [[ $(checksum "$src_dsn") == "$(checksum "$rep_dsn")" ]]; then
        r_match[$mode]=yes
    else
        r_match[$mode]=NO
    fi

    latencies "$probes" "$samples" >"$lat"
    r_n[$mode]=$(wc -l <"$lat")
    r_unseen[$mode]=$(($(grep -c . "$probes" || true) - r_n[$mode]))
    r_p50[$mode]=$(pct "$lat" 0.50)
    r_p99[$mode]=$(pct "$lat" 0.99)
    r_max[$mode]=$(pct "$lat" 1)
    r_tps[$mode]=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$work/$mode.pgbench")
    window_from=$(log_time "$t_start")
    log "$mode: ${r_n[$mode]} probes, p50 ${r_p50[$mode]} s, p99 ${r_p99[$mode]} s, max ${r_max[$mode]} s; catch-up ${r_catchup[$mode]} s; replica matches: ${r_match[$mode]}"
}

# A syncset mode: fresh replica database, the daemon copies the table, then the window.
run_syncset_mode() {
    local mode=$1 cursor=$2 interval=$3 db="fresh_$1" config="$work/$1.yaml" started
    write_config "$config" "$db" "$cursor" "$interval"
    recreate_db "$rep_port" "$db" >/dev/null
    daemon_log="$work/$mode.daemon.log"
    log "$mode: starting syncset run (cursor $cursor, poll_interval $poll_interval, drift.interval $interval)"
    started=$(pq_value "$src_dsn" "select now()")
    "$syncset" run "$config" >"$daemon_log" 2>&1 &
    daemon_pid=$!
    wait_for 600 "$mode: the daemon's snapshot and first poll" "$(dsn_at "$rep_port" "$db")" \
        "select coalesce(bool_and(phase = 'incremental' and last_success > '$started'), false)
         from _syncset.tables"
    wait_for 120 "$mode: the replica holding every row" "$(dsn_at "$rep_port" "$db")" \
        "select count(*) = $rows from public.bench_orders"
    if [[ $mode == scan ]]; then
        # The first scan starts right after the first catch-up; let it get going.
        sleep 1
    fi
    run_window "$mode" "$db"
    stop_daemon
    # The daemon's log from the window's start to its stop: warnings and errors other than
    # drift scan results, and the drift scans that finished (their durations, ms).
    r_errors[$mode]=$(awk -v a="$window_from" '$1 >= a && ($2 == "warn" || $2 == "error") && !/drift scan/' \
        "$daemon_log" | wc -l)
    r_scans[$mode]=$(awk -v a="$window_from" '$1 >= a && /drift scan/ {
            for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) { sub(/^ms=/, "", $i); out = out (out ? " " : "") $i }
        } END { print out }' "$daemon_log")
    daemon_log=""
    pq "$(dsn_at "$rep_port" postgres)" -c "drop database $db with (force)"
}

# Native logical replication of the same rows and columns into a fresh database.
run_logical_mode() {
    local db=fresh_logical rep_dsn
    rep_dsn=$(dsn_at "$rep_port" "$db")
    recreate_db "$rep_port" "$db" >/dev/null
    create_lr_table "$rep_dsn"
    log "logical: publication and subscription (initial copy of $rows rows)"
    pq "$src_dsn" -c "drop publication if exists bench_pub" \
        -c "create publication bench_pub for table public.bench_orders ($cols)"
    subscribed=$db
    pq "$rep_dsn" -c "create subscription bench_sub
        connection 'host=127.0.0.1 port=$src_port user=postgres dbname=bench application_name=bench_sub'
        publication bench_pub"
    wait_for 600 "logical: the subscription's initial copy" "$rep_dsn" \
        "select count(*) > 0 and bool_and(srsubstate = 'r') from pg_subscription_rel"
    run_window logical "$db"
    pq "$rep_dsn" -c "drop subscription bench_sub"
    subscribed=""
    pq "$src_dsn" -c "drop publication bench_pub"
    pq "$(dsn_at "$rep_port" postgres)" -c "drop database $db with (force)"
}

# ---------------------------------------------------------------------------------------------
# Setup

command -v psql >/dev/null || die "psql is missing (scripts/install-deps.sh installs it)"
[[ -x $pg_bin/initdb ]] || die "no PostgreSQL 15 in $pg_bin (scripts/install-deps.sh installs it)"
find_pgbench

free_gb=$(df -P -BG / | awk 'NR == 2 { sub("G", "", $4); print $4 }')
log "free disk space on /: ${free_gb} GB"
load_at_start=$(cut -d ' ' -f 1-3 /proc/loadavg)
((free_gb >= min_free_gb)) || die "only ${free_gb} GB free on /; the benchmark needs about ${min_free_gb} GB (MIN_FREE_GB)"

work=$(mktemp -d "${TMPDIR:-/tmp}/syncset-bench-freshness.XXXXXXXX")

prepare_syncset
start_pair

# Logical replication needs wal_level = logical on the source: a restart, for this pair only.
log "restarting the source with wal_level = logical"
pq "$(dsn_at "$src_port" postgres)" -c "alter system set wal_level = 'logical'" >/dev/null
timeout 360 "$SYNCSET_TEST_PG_CTL" source restart >>"$work/pair.log" 2>&1 ||
    die "could not restart the source server (see $work/pair.log)"
[[ $(pq_value "$(dsn_at "$src_port" postgres)" "show wal_level") == logical ]] ||
    die "the source did not come back with wal_level = logical"

src_dsn=$(dsn_at "$src_port" bench)
log "generating $rows rows on the source"
recreate_db "$src_port" bench
t0=$EPOCHREALTIME
create_source_table "$src_dsn" "$rows"
log "generated in $(seconds_between "$t0" "$EPOCHREALTIME") s"
table_size=$(pq_value "$src_dsn" "select pg_size_pretty(pg_total_relation_size('public.bench_orders'))")

for mode in "${modes[@]}"; do
    case $mode in
        updated_at)
            r_label[$mode]="syncset, cursor updated_at"
            run_syncset_mode updated_at updated_at 0
            ;;
        xmin)
            r_label[$mode]="syncset, cursor xmin"
            run_syncset_mode xmin xmin 0
            ;;
        scan)
            r_label[$mode]="syncset, updated_at + drift scan every $drift_interval"
            run_syncset_mode scan updated_at "$drift_interval"
            ;;
        logical)
            r_label[$mode]="native logical replication"
            run_logical_mode
            ;;
    esac
done

# ---------------------------------------------------------------------------------------------
# Results

row() { printf '%-46s %6s %8s %8s %8s %9s  %s\n' "$@"; }
target_p99=$(awk -v p="$poll_ms" -v e="$target_extra_s" 'BEGIN { printf "%.1f", p / 1000 + e }')
missed=0
failed=0
{
    echo
    echo "syncset freshness benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $syncset_version, $built_from"
    echo "  load average at the start: $load_at_start; at the end: $(cut -d ' ' -f 1-3 /proc/loadavg) (other work on the machine shows here)"
    echo "  $rows rows, source table $table_size; per mode $duration s of pgbench ($clients clients, -R $rate," \
        "one-row UPDATE ... SET updated_at = now())"
    echo "  probe row updated every $probe_ms ms, replica sampled every $sample_ms ms; syncset poll_interval $poll_interval;" \
        "source wal_level = logical for every mode"
    echo
    row "mode" "probes" "p50" "p99" "max" "catch-up" "targets: p99 <= $target_p99 s (column cursors), catch-up <= $target_catchup_s s"
    for mode in "${modes[@]}"; do
        verdicts=""
        if [[ $mode != logical ]]; then
            if [[ $mode != xmin ]]; then
                v=$(verdict "${r_p99[$mode]/n\/a/1e9}" "$target_p99")
                [[ $v == ok ]] || missed=1
                verdicts="p99 $v"
            else
                verdicts="p99 (info)"
            fi
            if [[ ${r_catchup[$mode]} == timeout ]]; then
                v=MISSED
            else
                v=$(verdict "${r_catchup[$mode]}" "$target_catchup_s")
            fi
            [[ $v == ok ]] || missed=1
            verdicts+=", catch-up $v"
        else
            verdicts="baseline"
        fi
        row "${r_label[$mode]}" "${r_n[$mode]}" "${r_p50[$mode]} s" "${r_p99[$mode]} s" "${r_max[$mode]} s" \
            "${r_catchup[$mode]} s" "$verdicts"
    done
    echo
    echo "details:"
    for mode in "${modes[@]}"; do
        line="  ${r_label[$mode]}: load ${r_tps[$mode]:-n/a} tx/s achieved"
        ((r_unseen[$mode] == 0)) || line+=", ${r_unseen[$mode]} probe writes never seen on the replica"
        if [[ $mode != logical ]]; then
            line+=", ${r_errors[$mode]} warnings/errors in the daemon log"
        fi
        if [[ $mode == scan ]]; then
            read -ra scans <<<"${r_scans[$mode]}"
            line+=", ${#scans[@]} drift scans finished from the window's start to the daemon's stop"
            ((${#scans[@]} == 0)) || line+=" (taking ${r_scans[$mode]// / ms, } ms)"
        fi
        line+="; replica equals the source at the end: ${r_match[$mode]}"
        [[ ${r_match[$mode]} == yes ]] || failed=1
        echo "$line"
    done
    echo
    if ((failed)); then
        echo "FAILED: a replica did not match its source after catching up"
    elif ((missed)); then
        echo "MISSED: at least one target above was missed"
    else
        echo "all targets met"
    fi
} | tee "$work/results.txt"
if [[ -n $results_file ]]; then
    cp "$work/results.txt" "$results_file"
fi
grep -q '^FAILED' "$work/results.txt" && die "a replica did not match its source"
ok=1
