#!/usr/bin/env bash
# Copy benchmark of `syncset run --once` against plain psql pipelines, all in ONE run on ONE
# throwaway PostgreSQL 15 pair (tests/pg_pair.sh), so every figure sits next to a baseline
# measured under the same load; and the same snapshot by the daemon with and without
# metrics.listen scraped every second. See bench/README.md for what each figure means.
#
#   bench/copy.sh                          build, 2,000,000 rows, 3 repetitions, RSS at 1M and 4M
#   ROWS=200000 REPEAT=1 SKIP_RSS=1 bench/copy.sh     a quick smoke run
#   METRICS_ONLY=1 REPEAT=9 bench/copy.sh            only the metrics comparison (section 3)
#
# Knobs (environment):
#   ROWS=2000000          rows of the main table
#   REPEAT=3              timed repetitions of each figure; the median is reported
#   BATCH_ROWS="10000 100000"   batch_rows variants of the snapshot; the FIRST one is also used
#                         for the incremental round and the RSS runs (10000 is syncset's default)
#   UPDATE_PERCENT=1      share of rows updated per incremental round
#   SKIP_RSS=1            skip the peak-RSS runs (they generate 1M and 4M-row tables)
#   RSS_ROWS="1000000 4000000"  table sizes of the peak-RSS runs
#   METRICS_ONLY=1        run only the metrics comparison: the daemon's snapshot without
#                         metrics.listen against one with it and /metrics scraped every second
#   SKIP_METRICS=1        skip that comparison
#   SYNCSET_BIN=PATH      use this binary instead of building one
#   BUILD_DIR=build-bench where to build the Release binary
#   RUN_TIMEOUT=1800      seconds before one syncset run or psql pipeline counts as hung
#   RESULTS=PATH          also write the results table to PATH
#   MIN_FREE_GB=10        refuse to start with less free disk space than this
#   KEEP_WORK=1           keep the work directory (configs, logs) even on success
#
# Exits 0 when every run completed and every copy verified, even if a target is missed
# (benchmarks are not tests; a missed target prints MISSED). Exits 1 when something failed
# or a replica did not match its source.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
readonly repo_root=$PWD

readonly rows=${ROWS:-2000000}
readonly repeat=${REPEAT:-3}
read -ra batch_variants <<<"${BATCH_ROWS:-10000 100000}"
readonly update_percent=${UPDATE_PERCENT:-1}
readonly skip_rss=${SKIP_RSS:-0}
readonly metrics_only=${METRICS_ONLY:-0}
readonly skip_metrics=${SKIP_METRICS:-0}
read -ra rss_rows <<<"${RSS_ROWS:-1000000 4000000}"
readonly build_dir=${BUILD_DIR:-build-bench}
readonly run_timeout=${RUN_TIMEOUT:-1800}
readonly results_file=${RESULTS:-}
readonly min_free_gb=${MIN_FREE_GB:-10}
readonly keep_work=${KEEP_WORK:-0}
readonly pg_bin=${SYNCSET_PG_BIN:-/usr/lib/postgresql/15/bin}

# Targets of issue 4 ("Benchmark").
readonly target_snapshot=1.0    # syncset time / psql pipe time
readonly target_incremental=1.3 # syncset time / COPY + upsert time
readonly target_rss_mb=64       # peak RSS of one `syncset run --once` snapshot
readonly target_rss_growth=1.25 # "flat": peak RSS at the largest size / at the smallest
# The issue of metrics.listen: a snapshot with metrics on and scraped every second is within 2%
# of one without.
readonly target_metrics=1.02    # snapshot time scraped / without the listener
readonly scrape_every_s=1
# Above this spread (max - min, in % of the median) on either side, a 2% margin is lost in the
# noise: the comparison is printed as inconclusive, whatever the ratio.
readonly metrics_max_spread_pct=10
readonly metrics_min_pairs=5    # and with fewer pairs than this
# Back-to-back scrapes of the idle daemon after each scraped snapshot, for its CPU per scrape.
readonly burst_scrapes=100

readonly update_cols="customer_id, status, region, note, amount, attrs, created_at, updated_at"

work=""
pair_dir=""
daemon_pid=""
scraper_pid=""
ok=0

readonly bench_name=bench  # its log lines: [bench HH:MM:SS] ...

# shellcheck source=bench/lib.sh
. "$repo_root/bench/lib.sh"

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    stop_pid "$scraper_pid" TERM
    stop_pid "$daemon_pid" TERM
    stop_pair_and_work "$status"
    exit "$status"
}
install_traps

for value in "$rows" "$repeat" "$update_percent" "$run_timeout" "$min_free_gb" \
    "${batch_variants[@]}" "${rss_rows[@]}"; do
    is_uint "$value" || die "not a whole number: '$value' (check ROWS, REPEAT, BATCH_ROWS, ...)"
done
((rows >= 100)) || die "ROWS must be at least 100"
((repeat >= 1)) || die "REPEAT must be at least 1"
((${#batch_variants[@]} >= 1)) || die "BATCH_ROWS needs at least one value"
((update_percent >= 1 && update_percent <= 100)) || die "UPDATE_PERCENT must be 1..100"
[[ $metrics_only == 1 && $skip_metrics == 1 ]] && die "METRICS_ONLY=1 and SKIP_METRICS=1: nothing to run"

# ---------------------------------------------------------------------------------------------
# Small helpers

# Seconds between two $EPOCHREALTIME values.

min_of() { printf '%s\n' "$@" | sort -g | head -n 1; }



# within VALUE LIMIT STRICT: is VALUE <= LIMIT (STRICT=1: < LIMIT)?


# psql with the pinned settings, stopping at the first error, never hanging forever.
# One value (or one row, space-separated) from a query.



drop_db() {
    pq "$(dsn_at "$1" postgres)" -c "drop database if exists $2 with (force)"
}

# verify LABEL DSN TABLE EXPECTED [LOG]: the replica table matches the source checksum, or die
# (showing the end of LOG, the log of the run that should have made it match).
verify() {
    local label=$1 dsn=$2 table=$3 expected=$4 run_log=${5:-} got
    got=$(checksum "$dsn" "$table") || die "$label: could not read $table on the replica"
    if [[ $got != "$expected" ]]; then
        if [[ -n $run_log ]]; then
            log "end of $run_log:"
            tail -n 20 "$run_log" >&2
        fi
        die "$label: replica does not match the source (count checksum): replica '$got', source '$expected'"
    fi
}

# ---------------------------------------------------------------------------------------------
# Data

# The pipe baselines' target: the copied columns with the same types and the same key.
create_pipe_table() {
    local dsn=$1
    pq "$dsn" <<'SQL'
set client_min_messages = warning;
drop table if exists public.bench_orders_pipe;
create table public.bench_orders_pipe (
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
SQL
}

write_config() {
    local file=$1 src_db=$2 rep_db=$3 batch=$4
    cat >"$file" <<EOF
# Written by bench/copy.sh
source:
  dsn: "$(dsn_at "$src_port" "$src_db")"
replicas:
  - name: bench
    dsn: "$(dsn_at "$rep_port" "$rep_db")"
    tables:
      - source: public.bench_orders
        exclude: [secret]
        cursor: updated_at
        batch_rows: $batch
schema_changes:
  # The pipe baselines' table has only the primary key; the replica gets no more indexes
  # than that, so both sides write the same.
  indexes: ignore
EOF
}

# ---------------------------------------------------------------------------------------------
# The timed commands. Each sets the global `elapsed` (seconds).

elapsed=0
rss_kb=0
cpu=0

# run_syncset LABEL CONFIG: `syncset run --once`, wall time and peak RSS (GNU time).
run_syncset() {
    local label=$1 config=$2 t0 t1 status=0
    local out="$work/$label.log" tv="$work/$label.time"
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$tv" timeout --foreground -k 10 "$run_timeout" \
        "$syncset" run --once "$config" >"$out" 2>&1 || status=$?
    t1=$EPOCHREALTIME
    if ((status != 0)); then
        log "$label: syncset run --once exited with status $status; end of $out:"
        tail -n 40 "$out" >&2
        die "$label: syncset run --once failed (status $status)"
    fi
    elapsed=$(seconds_between "$t0" "$t1")
    rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
    is_uint "$rss_kb" || die "$label: no peak RSS in $tv"
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$tv")
}

# Baseline A: the issue's psql pipe, whole table, into an empty table with the key.
run_pipe_snapshot() {
    local label=$1 t0 t1
    t0=$EPOCHREALTIME
    if ! pq "$src_dsn" -c "\\copy (select $cols from public.bench_orders) to stdout" |
        pq "$pipe_dsn" -c "\\copy public.bench_orders_pipe ($cols) from stdin" 2>"$work/$label.err"; then
        tail -n 20 "$work/$label.err" >&2
        die "$label: the psql pipe failed"
    fi
    t1=$EPOCHREALTIME
    elapsed=$(seconds_between "$t0" "$t1")
}

# Baseline B: what one would write by hand for the changed rows: COPY the rows past the
# high-water mark into a temporary staging table, then one upsert that skips unchanged rows,
# in one replica transaction.
run_pipe_incremental() {
    local label=$1 mark=$2 t0 t1 set_list target_list excluded_list
    set_list=$(sed -E 's/([a-z_]+)/\1 = excluded.\1/g' <<<"$update_cols")
    target_list=$(sed -E 's/([a-z_]+)/t.\1/g' <<<"$update_cols")
    excluded_list=$(sed -E 's/([a-z_]+)/excluded.\1/g' <<<"$update_cols")
    t0=$EPOCHREALTIME
    if ! pq "$src_dsn" -c "\\copy (select $cols from public.bench_orders where updated_at > '$mark') to stdout" |
        pq "$pipe_dsn" -1 \
            -c "create temporary table stage (like public.bench_orders_pipe) on commit drop" \
            -c "\\copy stage ($cols) from stdin" \
            -c "insert into public.bench_orders_pipe as t ($cols) select $cols from stage
                on conflict (id) do update set $set_list
                where ($target_list) is distinct from ($excluded_list)" 2>"$work/$label.err"; then
        tail -n 20 "$work/$label.err" >&2
        die "$label: the COPY + upsert pipeline failed"
    fi
    t1=$EPOCHREALTIME
    elapsed=$(seconds_between "$t0" "$t1")
}

# ---------------------------------------------------------------------------------------------
# Setup

command -v psql >/dev/null || die "psql is missing (scripts/install-deps.sh installs it)"
[[ -x $pg_bin/initdb ]] || die "no PostgreSQL 15 in $pg_bin (scripts/install-deps.sh installs it)"
if [[ ! -x /usr/bin/time ]]; then
    log "installing GNU time (Debian package 'time') for peak RSS"
    ((EUID == 0)) || die "/usr/bin/time is missing: apt-get install time"
    timeout 600 apt-get install -y -qq time >/dev/null || die "could not install the package 'time'"
fi
if [[ $skip_metrics != 1 ]] && ! command -v curl >/dev/null; then
    log "installing curl (Debian package 'curl') for the /metrics scraper"
    ((EUID == 0)) || die "curl is missing: apt-get install curl"
    timeout 600 apt-get install -y -qq curl >/dev/null || die "could not install the package 'curl'"
fi

free_gb=$(df -P -BG / | awk 'NR == 2 { sub("G", "", $4); print $4 }')
log "free disk space on /: ${free_gb} GB"
((free_gb >= min_free_gb)) || die "only ${free_gb} GB free on /; the benchmark needs about ${min_free_gb} GB (MIN_FREE_GB)"

work=$(mktemp -d "${TMPDIR:-/tmp}/syncset-bench.XXXXXXXX")

prepare_syncset
start_pair

src_dsn=$(dsn_at "$src_port" bench)
pipe_dsn=$(dsn_at "$rep_port" bench_pipe)

log "generating $rows rows on the source"
recreate_db "$src_port" bench
t0=$EPOCHREALTIME
create_source_table "$src_dsn" "$rows"
log "generated in $(seconds_between "$t0" "$EPOCHREALTIME") s"
table_size=$(pq_value "$src_dsn" "select pg_size_pretty(pg_total_relation_size('public.bench_orders'))")
# Also warms the source cache for whichever side runs first.
copy_bytes=$(pq "$src_dsn" -c "\\copy (select $cols from public.bench_orders) to stdout" | wc -c)
bytes_per_row=$(awk -v b="$copy_bytes" -v r="$rows" 'BEGIN { printf "%.0f", b / r }')
log "source table: $table_size on disk with indexes, $bytes_per_row bytes a row in text COPY (copied columns)"
source_sum=$(checksum "$src_dsn" public.bench_orders)

# ---------------------------------------------------------------------------------------------
# 1. Initial snapshot: psql pipe vs syncset at each batch_rows, interleaved, order alternating.

declare -a pipe_times=()
declare -A sync_times=() sync_rss=() sync_cpu=()
first_batch=${batch_variants[0]}

snapshot_pipe() {
    local r=$1
    recreate_db "$rep_port" bench_pipe >/dev/null
    create_pipe_table "$pipe_dsn"
    checkpoint_both
    run_pipe_snapshot "snapshot-pipe-$r"
    verify "snapshot psql pipe #$r" "$pipe_dsn" public.bench_orders_pipe "$source_sum"
    pipe_times+=("$elapsed")
    log "snapshot #$r psql pipe: $elapsed s"
}

snapshot_syncset() {
    local r=$1 batch=$2 db="bench_sync_$2" config="$work/snapshot-$2.yaml" indexes
    write_config "$config" bench "$db" "$batch"
    recreate_db "$rep_port" "$db" >/dev/null
    checkpoint_both
    run_syncset "snapshot-b$batch-$r" "$config"
    verify "snapshot syncset batch_rows $batch #$r" "$(dsn_at "$rep_port" "$db")" public.bench_orders \
        "$source_sum" "$work/snapshot-b$batch-$r.log"
    indexes=$(pq_value "$(dsn_at "$rep_port" "$db")" \
        "select count(*) from pg_index where indrelid = 'public.bench_orders'::regclass")
    ((indexes == 1)) || log "note: syncset's replica table has $indexes indexes, the pipe's has 1"
    sync_times[$batch]+="$elapsed "
    sync_rss[$batch]+="$rss_kb "
    sync_cpu[$batch]+="$cpu "
    log "snapshot #$r syncset batch_rows $batch: $elapsed s, peak RSS $((rss_kb / 1024)) MB"
}

if [[ $metrics_only != 1 ]]; then
    for ((r = 1; r <= repeat; r++)); do
        if ((r % 2 == 1)); then
            snapshot_pipe "$r"
        fi
        # The first variant runs last so its database is the one the incremental round continues.
        for ((v = ${#batch_variants[@]} - 1; v >= 0; v--)); do
            snapshot_syncset "$r" "${batch_variants[v]}"
            if ((v > 0 && r == repeat)); then
                drop_db "$rep_port" "bench_sync_${batch_variants[v]}"
            fi
        done
        if ((r % 2 == 0)); then
            snapshot_pipe "$r"
        fi
    done
fi

# ---------------------------------------------------------------------------------------------
# 2. Incremental: a pass with nothing to do, then rounds of UPDATE_PERCENT% updated rows.

if [[ $metrics_only != 1 ]]; then
    inc_config="$work/snapshot-$first_batch.yaml"
    inc_dsn=$(dsn_at "$rep_port" "bench_sync_$first_batch")
    declare -a idle_times=() inc_times=() inc_pipe_times=() inc_rss=() inc_cpu=()

    for ((r = 1; r <= repeat; r++)); do
        checkpoint_both
        run_syncset "idle-$r" "$inc_config"
        idle_times+=("$elapsed")
        log "idle pass #$r (nothing changed): $elapsed s"
    done
    verify "idle pass" "$inc_dsn" public.bench_orders "$source_sum" "$work/idle-$repeat.log"

    modulus=$((100 / update_percent))
    changed=0
    for ((r = 1; r <= repeat; r++)); do
        mark=$(pq_value "$src_dsn" "select max(updated_at) from public.bench_orders")
        # A different slice of rows each round, spread over the whole key range.
        changed=$(pq_value "$src_dsn" "with u as (
                update public.bench_orders
                set updated_at = now(), status = (status + 1) % 5, amount = amount + 1
                where id % $modulus = $((r % modulus))
                returning 1)
            select count(*) from u")
        source_sum=$(checksum "$src_dsn" public.bench_orders)
        checkpoint_both
        if ((r % 2 == 1)); then
            run_syncset "incremental-$r" "$inc_config"
            inc_times+=("$elapsed")
            inc_rss+=("$rss_kb")
            inc_cpu+=("$cpu")
            run_pipe_incremental "incremental-pipe-$r" "$mark"
            inc_pipe_times+=("$elapsed")
        else
            run_pipe_incremental "incremental-pipe-$r" "$mark"
            inc_pipe_times+=("$elapsed")
            checkpoint_both
            run_syncset "incremental-$r" "$inc_config"
            inc_times+=("$elapsed")
            inc_rss+=("$rss_kb")
            inc_cpu+=("$cpu")
        fi
        verify "incremental syncset #$r" "$inc_dsn" public.bench_orders "$source_sum" \
            "$work/incremental-$r.log"
        verify "incremental COPY + upsert #$r" "$pipe_dsn" public.bench_orders_pipe "$source_sum"
        log "incremental #$r ($changed rows): syncset ${inc_times[-1]} s, COPY + upsert ${inc_pipe_times[-1]} s"
    done

    drop_db "$rep_port" "bench_sync_$first_batch"
    drop_db "$rep_port" bench_pipe
fi

# ---------------------------------------------------------------------------------------------
# 3. The cost of metrics: the same snapshot by the daemon (`syncset run`) (a) without
# metrics.listen and (b) with it and a scraper fetching /metrics every second, a then b in odd
# repetitions and b then a in even ones. `run --once` never starts the HTTP listener, so both
# sides run the daemon, with the same config but for `metrics`; the time is from its start to
# its "snapshot done" log line (the log's UTC clock, ms), then it is stopped (SIGTERM).

clk_tck=$(getconf CLK_TCK)

# The log time (UTC, ms) of a daemon log line as seconds since the epoch.
log_epoch() { date -u -d "$1" '+%s.%3N'; }

# first_log_line FILE WORDS...: the first line of a daemon log whose message is WORDS (text
# format: time, level, message, fields).
first_log_line() {
    local file=$1
    shift
    [[ -e $file ]] || return 0
    awk -v m="$*" '{ line = $0; $1 = ""; $2 = ""; sub(/^ +/, "")
                     if (index($0, m " ") == 1 || $0 == m) { print line; exit } }' "$file"
}

# scrape_loop PORT OUT STOP T0_US DAEMON_LOG (in the background): once the daemon logs that
# it listens, GET http://127.0.0.1:PORT/metrics at T0 + 1 s, T0 + 2 s, ... (a slot missed is
# skipped, not made up), until the file STOP exists; at most RUN_TIMEOUT scrapes. Each attempt
# appends "SECOND CURL_STATUS" to OUT (0: a 200 with a body).
scrape_loop() {
    local url="http://127.0.0.1:$1/metrics" out=$2 stop=$3 t0_us=$4 daemon_log=$5
    local i slot=0 next now_us delay_us status
    for ((i = 0; i < 300; i++)); do
        [[ -e $stop ]] && return 0
        [[ -n $(first_log_line "$daemon_log" metrics listening) ]] && break
        sleep 0.1
    done
    for ((i = 0; i < run_timeout; i++)); do
        now_us=${EPOCHREALTIME/./}
        next=$(((now_us - t0_us) / (scrape_every_s * 1000000) + 1))
        ((next > slot)) || next=$((slot + 1))
        slot=$next
        delay_us=$((t0_us + slot * scrape_every_s * 1000000 - now_us))
        ((delay_us <= 0)) || sleep "$((delay_us / 1000000)).$(printf '%06d' $((delay_us % 1000000)))"
        [[ -e $stop ]] && return 0
        status=0
        : >"$out.body"
        curl -sS -f --noproxy '*' --max-time 5 -o "$out.body" "$url" 2>>"$out.err" || status=$?
        [[ $status != 0 || -s $out.body ]] || status=empty
        echo "$((slot * scrape_every_s)) $status" >>"$out"
    done
}

# scraped_snapshot_rows PORT FILE: the snapshot's rows in the listener's
# syncset_rows_copied_total{..., phase="snapshot"}, the whole answer kept in FILE.
scraped_snapshot_rows() {
    curl -sS -f --noproxy '*' --max-time 5 -o "$2" "http://127.0.0.1:$1/metrics" || return 1
    awk '/^syncset_rows_copied_total\{/ && /phase="snapshot"/ && /table="public.bench_orders"/ {
             print $NF; exit }' "$2"
}

declare -a plain_times=() scraped_times=() plain_cpu=() scraped_cpu=() plain_rss=() scraped_rss=()
declare -a pair_ratios=() scraped_counter=()
scrapes_ok=0
scrapes_failed=0
scrapes_expected=0
counter_mismatch=0
burst_ticks=0
burst_done=0

# cpu_ticks PID: user + system CPU of a process, all its threads, in clock ticks.
cpu_ticks() {
    local -a f
    read -ra f <"/proc/$1/stat"
    echo $((f[13] + f[14]))
}

# metrics_snapshot R SIDE: one snapshot by the daemon into a fresh replica database; SIDE plain
# (no metrics key) or scraped (metrics.listen on a free port, the scraper running). Sets
# elapsed, cpu (the daemon's user + system CPU) and rss_kb (its peak RSS), both read from /proc
# when the snapshot is done.
metrics_snapshot() {
    local r=$1 side=$2 label="metrics-$2-$1" db=bench_metrics port="" t0 done_line copied_line
    local config="$work/metrics-$2-$1.yaml" dlog="$work/metrics-$2-$1.log"
    local scrapes="$work/metrics-$2-$1.scrapes" stop="$work/metrics-$2-$1.stop" deadline
    local counter expected=${source_sum%% *} ok_n failed_n
    write_config "$config" bench "$db" "$first_batch"
    # No drift scan after the catch-up on either side: nothing but the copy and the listener.
    printf 'drift:\n  interval: 0\n' >>"$config"
    if [[ $side == scraped ]]; then
        port=$(free_port) || die "found no free TCP port on 127.0.0.1 for metrics.listen"
        printf 'metrics:\n  listen: "127.0.0.1:%s"\n' "$port" >>"$config"
    fi
    recreate_db "$rep_port" "$db" >/dev/null
    checkpoint_both
    : >"$dlog"
    t0=$EPOCHREALTIME
    "$syncset" run "$config" >"$dlog" 2>&1 &
    daemon_pid=$!
    if [[ $side == scraped ]]; then
        scrape_loop "$port" "$scrapes" "$stop" "${t0/./}" "$dlog" &
        scraper_pid=$!
    fi
    deadline=$((SECONDS + run_timeout))
    while done_line=$(first_log_line "$dlog" "snapshot done") && [[ -z $done_line ]]; do
        if ! kill -0 "$daemon_pid" 2>/dev/null; then
            wait "$daemon_pid" || true
            daemon_pid=""
            tail -n 40 "$dlog" >&2
            die "$label: the daemon exited before its snapshot was done"
        fi
        ((SECONDS < deadline)) || die "$label: no \"snapshot done\" within $run_timeout s (log: $dlog)"
        sleep 0.2
    done
    cpu=$(awk -v t="$(cpu_ticks "$daemon_pid")" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }')
    rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$daemon_pid/status")
    elapsed=$(seconds_between "$t0" "$(log_epoch "${done_line%% *}")")
    if [[ $side == scraped ]]; then
        : >"$stop"
        wait "$scraper_pid" || die "$label: the scraper failed"
        scraper_pid=""
        ok_n=$(awk '$2 == "0"' "$scrapes" 2>/dev/null | wc -l)
        failed_n=$(awk '$2 != "0"' "$scrapes" 2>/dev/null | wc -l)
        scrapes_ok=$((scrapes_ok + ok_n))
        scrapes_failed=$((scrapes_failed + failed_n))
        # The scraper starts at 1 s; allow one slot for the daemon's start.
        scrapes_expected=$((scrapes_expected + $(awk -v e="$elapsed" -v i="$scrape_every_s" \
            'BEGIN { n = int(e / i) - 1; print (n > 0 ? n : 0) }')))
        ((failed_n == 0)) || log "$label: $failed_n scrape(s) failed (curl status per second in $scrapes; errors in $scrapes.err)"
        # The end-of-cycle "copied" line comes after the step that finished the snapshot was
        # counted: the counter then holds every row of it.
        deadline=$((SECONDS + 60))
        while copied_line=$(first_log_line "$dlog" copied) && [[ -z $copied_line ]]; do
            ((SECONDS < deadline)) || die "$label: no \"copied\" line within 60 s of the snapshot's end"
            sleep 0.1
        done
        counter=$(scraped_snapshot_rows "$port" "$scrapes.final") || counter="(scrape failed)"
        scraped_counter+=("$counter")
        if [[ $counter != "$expected" ]]; then
            counter_mismatch=1
            log "$label: scraped syncset_rows_copied_total{phase=\"snapshot\"} is '$counter', rows copied $expected"
        fi
        # What one scrape costs the daemon, away from the snapshot's noise: its CPU across
        # back-to-back scrapes while it idles between polls.
        local before after n
        before=$(cpu_ticks "$daemon_pid")
        for ((n = 0; n < burst_scrapes; n++)); do
            curl -sS -f --noproxy '*' --max-time 5 -o /dev/null "http://127.0.0.1:$port/metrics" ||
                die "$label: a back-to-back scrape failed"
        done
        after=$(cpu_ticks "$daemon_pid")
        burst_ticks=$((burst_ticks + after - before))
        burst_done=$((burst_done + burst_scrapes))
    fi
    stop_pid "$daemon_pid" TERM
    daemon_pid=""
    verify "$label" "$(dsn_at "$rep_port" "$db")" public.bench_orders "$source_sum" "$dlog"
    if [[ $side == scraped ]]; then
        scraped_times+=("$elapsed")
        scraped_cpu+=("$cpu")
        scraped_rss+=("$rss_kb")
        log "snapshot #$r daemon, /metrics scraped every ${scrape_every_s} s: $elapsed s, CPU $cpu s," \
            "$ok_n scrapes ok, $failed_n failed, counter $counter"
    else
        plain_times+=("$elapsed")
        plain_cpu+=("$cpu")
        plain_rss+=("$rss_kb")
        log "snapshot #$r daemon, no metrics listener: $elapsed s, CPU $cpu s"
    fi
}

if [[ $skip_metrics != 1 ]]; then
    for ((r = 1; r <= repeat; r++)); do
        if ((r % 2 == 1)); then
            metrics_snapshot "$r" plain
            metrics_snapshot "$r" scraped
        else
            metrics_snapshot "$r" scraped
            metrics_snapshot "$r" plain
        fi
        pair_ratios+=("$(awk -v b="${scraped_times[-1]}" -v a="${plain_times[-1]}" 'BEGIN { printf "%.3f", b / a }')")
    done
    drop_db "$rep_port" bench_metrics
fi
drop_db "$src_port" bench

# ---------------------------------------------------------------------------------------------
# 4. Peak RSS of a snapshot as the table grows.

declare -a rss_results=()
if [[ $skip_rss != 1 && $metrics_only != 1 ]]; then
    for n in "${rss_rows[@]}"; do
        log "peak RSS run: generating $n rows"
        recreate_db "$src_port" bench_rss
        create_source_table "$(dsn_at "$src_port" bench_rss)" "$n"
        rss_sum=$(checksum "$(dsn_at "$src_port" bench_rss)" public.bench_orders)
        write_config "$work/rss-$n.yaml" bench_rss bench_rss "$first_batch"
        recreate_db "$rep_port" bench_rss
        checkpoint_both
        run_syncset "rss-$n" "$work/rss-$n.yaml"
        verify "peak RSS run $n rows" "$(dsn_at "$rep_port" bench_rss)" public.bench_orders "$rss_sum" \
            "$work/rss-$n.log"
        rss_results+=("$n $rss_kb $elapsed")
        log "peak RSS at $n rows: $((rss_kb / 1024)) MB ($elapsed s)"
        drop_db "$rep_port" bench_rss
        drop_db "$src_port" bench_rss
    done
fi

# ---------------------------------------------------------------------------------------------
# Results

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }

missed=0
inconclusive=0
{
    echo
    echo "syncset copy benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $syncset_version, $built_from"
    echo "  $rows rows, $bytes_per_row bytes a row in text COPY, source table $table_size;" \
        "median of $repeat run(s); each figure next to its baseline from this same run"
    echo
    if [[ $metrics_only != 1 ]]; then
        pipe_median=$(median "${pipe_times[@]}")
        for batch in "${batch_variants[@]}"; do
            read -ra samples <<<"${sync_times[$batch]}"
            read -ra rss_samples <<<"${sync_rss[$batch]}"
            read -ra cpu_samples <<<"${sync_cpu[$batch]}"
            s=$(median "${samples[@]}")
            q=$(ratio "$s" "$pipe_median")
            v=$(verdict "$q" "$target_snapshot")
            [[ $v == ok ]] || missed=1
            printf 'snapshot %s rows (batch_rows %s): syncset %.2f s | psql pipe %.2f s | ratio %s (target <= %s) %s\n' \
                "$rows" "$batch" "$s" "$pipe_median" "$q" "$target_snapshot" "$v"
            printf '    samples: syncset %s| pipe %s s; best of each: ratio %s; syncset CPU %.2f s (median), peak RSS %s MB\n' \
                "${sync_times[$batch]}" "${pipe_times[*]}" \
                "$(ratio "$(min_of "${samples[@]}")" "$(min_of "${pipe_times[@]}")")" \
                "$(median "${cpu_samples[@]}")" "$(mb "$(max_of "${rss_samples[@]}")")"
        done
        s=$(median "${inc_times[@]}")
        p=$(median "${inc_pipe_times[@]}")
        q=$(ratio "$s" "$p")
        v=$(verdict "$q" "$target_incremental")
        [[ $v == ok ]] || missed=1
        printf 'incremental %s%% (%s rows updated, batch_rows %s): syncset %.2f s | COPY + upsert %.2f s | ratio %s (target <= %s) %s\n' \
            "$update_percent" "$changed" "$first_batch" "$s" "$p" "$q" "$target_incremental" "$v"
        printf '    samples: syncset %s | COPY + upsert %s s; best of each: ratio %s; syncset CPU %.2f s (median), peak RSS %s MB\n' \
            "${inc_times[*]}" "${inc_pipe_times[*]}" \
            "$(ratio "$(min_of "${inc_times[@]}")" "$(min_of "${inc_pipe_times[@]}")")" \
            "$(median "${inc_cpu[@]}")" "$(mb "$(max_of "${inc_rss[@]}")")"
        printf 'idle pass (nothing changed): syncset %.2f s (no baseline: the fixed cost of one run --once)\n' \
            "$(median "${idle_times[@]}")"
    fi
    if [[ $skip_metrics != 1 ]]; then
        a=$(median "${plain_times[@]}")
        b=$(median "${scraped_times[@]}")
        q=$(awk -v b="$b" -v a="$a" 'BEGIN { printf "%.3f", b / a }')
        v=$(verdict "$q" "$target_metrics")
        scrape_v=ok
        if ((scrapes_failed > 0 || scrapes_ok == 0 || scrapes_ok < scrapes_expected)); then
            scrape_v=MISSED
        fi
        counter_v=ok
        ((counter_mismatch == 0)) || counter_v=MISMATCH
        [[ $v == ok && $scrape_v == ok && $counter_v == ok ]] || missed=1
        spread() { # spread MEDIAN SAMPLES...: "min..max s (P% of the median)"
            local m=$1
            shift
            awk -v lo="$(min_of "$@")" -v hi="$(max_of "$@")" -v m="$m" \
                'BEGIN { printf "%.2f..%.2f s (%.0f%% of the median)", lo, hi, 100 * (hi - lo) / m }'
        }
        spread_pct() { # spread_pct MEDIAN SAMPLES...: max - min in % of MEDIAN, whole
            local m=$1
            shift
            awk -v lo="$(min_of "$@")" -v hi="$(max_of "$@")" -v m="$m" 'BEGIN { printf "%.0f", 100 * (hi - lo) / m }'
        }
        noise=$(max_of "$(spread_pct "$a" "${plain_times[@]}")" "$(spread_pct "$b" "${scraped_times[@]}")")
        if ((noise > metrics_max_spread_pct)); then
            inconclusive=1
            v+=", but INCONCLUSIVE: samples spread over $noise% of their median (above $metrics_max_spread_pct%)"
        elif ((repeat < metrics_min_pairs)); then
            inconclusive=1
            v+=", but INCONCLUSIVE: $repeat pair(s), fewer than $metrics_min_pairs (REPEAT)"
        fi
        printf 'snapshot with metrics (%s rows, batch_rows %s; daemon start to "snapshot done"): scraped every %s s %.2f s | no listener %.2f s | ratio %s (target <= %s) %s\n' \
            "$rows" "$first_batch" "$scrape_every_s" "$b" "$a" "$q" "$target_metrics" "$v"
        printf '    samples (a then b in odd pairs, b then a in even): no listener %s | scraped %s s; ratio per pair %s\n' \
            "${plain_times[*]}" "${scraped_times[*]}" "${pair_ratios[*]}"
        printf '    spread: no listener %s, scraped %s; ratio per pair %s..%s (median %s); daemon CPU %.2f | %.2f s, peak RSS %s | %s MB (medians)\n' \
            "$(spread "$a" "${plain_times[@]}")" "$(spread "$b" "${scraped_times[@]}")" \
            "$(min_of "${pair_ratios[@]}")" "$(max_of "${pair_ratios[@]}")" "$(median "${pair_ratios[@]}")" \
            "$(median "${plain_cpu[@]}")" "$(median "${scraped_cpu[@]}")" \
            "$(mb "$(median "${plain_rss[@]}")")" "$(mb "$(median "${scraped_rss[@]}")")"
        printf '    daemon CPU per scrape: %s ms (%s back-to-back scrapes after the snapshots), %s%% of one core at one scrape a second\n' \
            "$(awk -v t="$burst_ticks" -v n="$burst_done" -v hz="$clk_tck" 'BEGIN { printf "%.2f", 1000 * t / hz / n }')" \
            "$burst_done" \
            "$(awk -v t="$burst_ticks" -v n="$burst_done" -v hz="$clk_tck" -v i="$scrape_every_s" 'BEGIN { printf "%.2f", 100 * t / hz / n / i }')"
        printf '    scrapes of /metrics: %s succeeded, %s failed (at least %s expected: one a second from 1 s on) %s\n' \
            "$scrapes_ok" "$scrapes_failed" "$scrapes_expected" "$scrape_v"
        printf '    syncset_rows_copied_total{phase="snapshot"} scraped after each snapshot: %s; rows copied %s %s\n' \
            "$(printf '%s\n' "${scraped_counter[@]}" | sort -u | paste -sd ' ')" "${source_sum%% *}" "$counter_v"
    fi
    if ((${#rss_results[@]} > 0)); then
        line="peak RSS of a snapshot (batch_rows $first_batch):"
        sep=" "
        worst=0
        for entry in "${rss_results[@]}"; do
            read -r n kb secs <<<"$entry"
            line+="$sep$n rows $(mb "$kb") MB (${secs} s)"
            sep=" | "
            ((kb > worst)) && worst=$kb
        done
        read -r _ first_kb _ <<<"${rss_results[0]}"
        read -r _ last_kb _ <<<"${rss_results[-1]}"
        growth=$(ratio "$last_kb" "$first_kb")
        v=$(verdict "$(mb "$worst")" "$target_rss_mb" 1)
        [[ $v == ok ]] || missed=1
        line+=" (target < $target_rss_mb MB) $v"
        echo "$line"
        v=$(verdict "$growth" "$target_rss_growth")
        [[ $v == ok ]] || missed=1
        echo "    growth ${rss_rows[-1]} / ${rss_rows[0]} rows: ratio $growth (target flat: <= $target_rss_growth) $v"
    else
        echo "peak RSS runs skipped ($([[ $metrics_only == 1 ]] && echo METRICS_ONLY=1 || echo SKIP_RSS=1))"
    fi
    echo
    if ((missed)); then
        echo "MISSED: at least one target above was missed"
    elif ((inconclusive)); then
        echo "INCONCLUSIVE: no target missed, but the metrics comparison cannot judge its 2% margin (see its line): run it again on a quiet machine with REPEAT=$metrics_min_pairs or more"
    else
        echo "all targets met"
    fi
} | tee "$work/results.txt"
if [[ -n $results_file ]]; then
    cp "$work/results.txt" "$results_file"
fi
log "free disk space on /: $(df -P -BG / | awk 'NR == 2 { print $4 }')"
ok=1
