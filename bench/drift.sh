#!/usr/bin/env bash
# Drift scanner benchmark: `syncset check` against its floor (each side's server-side hashing
# query alone) and against a naive full export of both sides compared client-side, all in ONE
# run on ONE throwaway PostgreSQL 15 pair (tests/pg_pair.sh), so every figure sits next to a
# baseline measured under the same load. Targets come from issue 5 ("Benchmark"); see
# bench/DRIFT.md for what each figure means.
#
#   bench/drift.sh                         build, 2,000,000 rows, 3 repetitions
#   ROWS=200000 REPEAT=1 bench/drift.sh    a quick smoke run
#
# Knobs (environment):
#   ROWS=2000000          rows of the table (the same table as bench/copy.sh)
#   REPEAT=3              timed repetitions of each figure; the median is reported
#   DIFFS=100             differences injected on the replica per round (a third each of
#                         changed, deleted and inserted rows), scattered over the key range
#   POLL_INTERVAL=1s      the table's poll_interval: how often the sync loop, running during
#                         the differences rounds, commits (check waits for it before reporting)
#   SKIP_STANDALONE=1     skip the rounds where check runs with no sync loop running
#   LOAD=0                skip the rounds of a clean check under a write load (default 1: run them)
#   LOAD_RATE=1000        write load of those rounds: transactions a second (pgbench -R), each
#                         one single-row UPDATE ... SET updated_at = now() at a random id
#   LOAD_CLIENTS=4        write load: pgbench connections
#   SYNCSET_BIN=PATH      use this binary instead of building one
#   BUILD_DIR=build-bench-drift   where to build the Release binary
#   RUN_TIMEOUT=1800      seconds before one syncset run or psql command counts as hung
#   RESULTS=PATH          also write the results table to PATH
#   MIN_FREE_GB=6         refuse to start with less free disk space than this
#   KEEP_WORK=1           keep the work directory (configs, JSON reports, logs) even on success
#
# Exits 0 when every run completed and every result was verified, even if a target is missed
# (benchmarks are not tests; a missed target prints MISSED). Exits 1 when something failed,
# a check reported the wrong differences, or a repair did not make the replica match.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
readonly repo_root=$PWD

readonly rows=${ROWS:-2000000}
readonly repeat=${REPEAT:-3}
readonly diffs=${DIFFS:-100}
readonly poll_interval=${POLL_INTERVAL:-1s}
readonly skip_standalone=${SKIP_STANDALONE:-0}
readonly load=${LOAD:-1}
readonly load_rate=${LOAD_RATE:-1000}
readonly load_clients=${LOAD_CLIENTS:-4}
readonly build_dir=${BUILD_DIR:-build-bench-drift}
readonly run_timeout=${RUN_TIMEOUT:-1800}
readonly results_file=${RESULTS:-}
readonly min_free_gb=${MIN_FREE_GB:-6}
readonly keep_work=${KEEP_WORK:-0}
readonly pg_bin=${SYNCSET_PG_BIN:-/usr/lib/postgresql/15/bin}

# Targets of issue 5 ("Benchmark").
readonly target_floor_ratio=1.5      # clean check wall time / hashing floor
readonly target_bytes_per_mrow=65536 # bytes crossing the network per million rows per side (< 64 KB)
readonly target_bytes_per_diff=2048  # bytes read per differing row (< 2 KB)
# Issue 10.
readonly target_load_ratio=2.0       # clean check under a write load / the same check, quiet

# The same columns in the order syncset hashes them (copy::build_copy_spec): key, cursor, then
# the rest in source order. The floor query hashes exactly this row text.
readonly hash_cols="id, updated_at, customer_id, status, region, note, amount, attrs, created_at"

work=""
pair_dir=""
daemon_pid=""
ok=0

readonly bench_name=drift  # its log lines: [drift HH:MM:SS] ...

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
    stop_daemon
    [[ -n $work && -d $work ]] && rm -f "$work"/export-*.txt # hundreds of MB each; never worth keeping
    stop_pair_and_work "$status"
    exit "$status"
}
install_traps

for value in "$rows" "$repeat" "$diffs" "$run_timeout" "$min_free_gb" "$load_rate" "$load_clients"; do
    is_uint "$value" || die "not a whole number: '$value' (check ROWS, REPEAT, DIFFS, ...)"
done
((load_rate >= 1 && load_clients >= 1)) || die "LOAD_RATE and LOAD_CLIENTS must be at least 1"
((repeat >= 1)) || die "REPEAT must be at least 1"
((diffs >= 3)) || die "DIFFS must be at least 3 (a third each of changed, deleted, inserted rows)"
[[ $poll_interval =~ ^[0-9]+(ms|s|m)$ ]] || die "POLL_INTERVAL must look like 500ms, 1s or 1m"

# ---------------------------------------------------------------------------------------------
# Small helpers (the same as bench/copy.sh)

# Seconds between two $EPOCHREALTIME values.



# within VALUE LIMIT STRICT: is VALUE <= LIMIT (STRICT=1: < LIMIT)?


# Human bytes: B below 10 KB, then KB, then MB.
human() {
    awk -v b="$1" 'BEGIN { if (b < 10240) printf "%d B", b; else if (b < 10485760) printf "%.1f KB", b / 1024;
                           else printf "%.1f MB", b / 1048576 }'
}


# psql with the pinned settings, stopping at the first error, never hanging forever.
# One value (or one row, space-separated) from a query.



verify() {
    local label=$1 got
    got=$(checksum "$rep_dsn") || die "$label: could not read the replica table"
    [[ $got == "$source_sum" ]] ||
        die "$label: replica does not match the source (count checksum): replica '$got', source '$source_sum'"
}

# ---------------------------------------------------------------------------------------------
# Where the differences go. Round s (0-based) of N rounds puts DIFFS differences in DIFFS
# equal slices of the key range, one per slice, each round in its own part of every slice.
# Difference k is a changed row when k % 3 = 0, a row deleted on the replica when k % 3 = 1
# and a row inserted on the replica when k % 3 = 2. The inserted rows need keys the source
# lacks: the source is generated with those keys left out (so real holes in the key range,
# scattered like everything else), and with as many extra rows at the end, so it still has
# exactly ROWS rows.

rounds=$repeat
if [[ $skip_standalone != 1 ]]; then
    rounds=$((2 * repeat))
fi
readonly rounds
readonly stride=$((rows / diffs))
readonly part=$((stride / rounds))
((part >= 4)) || die "ROWS=$rows is too small for DIFFS=$diffs over $rounds rounds (need ROWS >= $((4 * diffs * rounds)))"

# diff_id ROUND K: the key of difference K of round ROUND.
diff_id() {
    local s=$1 k=$2
    echo $((k * stride + s * part + 1 + (k * 7919) % (part / 2)))
}

# ids_of ROUND KIND: comma-separated keys of one kind (0 changed, 1 deleted, 2 inserted).
ids_of() {
    local s=$1 kind=$2 k out=""
    for ((k = kind; k < diffs; k += 3)); do
        out+="${out:+,}$(diff_id "$s" "$k")"
    done
    echo "$out"
}

# How many differences of each kind (k % 3 = 0, 1, 2 for k in 0..DIFFS-1).
readonly n_different=$(((diffs + 2) / 3)) n_missing=$(((diffs + 1) / 3)) n_extra=$((diffs / 3))

all_holes() {
    local s out=""
    for ((s = 0; s < rounds; s++)); do
        out+="${out:+,}$(ids_of "$s" 2)"
    done
    echo "$out"
}

# inject ROUND: the round's differences, written directly on the replica in one transaction.
inject() {
    local s=$1
    pq "$rep_dsn" -1 \
        -c "update public.bench_orders set amount = amount + 0.01 where id in ($(ids_of "$s" 0))" \
        -c "delete from public.bench_orders where id in ($(ids_of "$s" 1))" \
        -c "insert into public.bench_orders ($cols)
            select id, 1, 0, 'eu-west', 'row only the replica has ' || id, 1.00,
                   '{\"tier\": \"free\", \"items\": 1}', t, t
            from unnest(array[$(ids_of "$s" 2)]::bigint[]) as id,
                 lateral (select timestamptz '2023-01-01 00:00:00+00' + make_interval(secs => id * 7) as t) c"
}

# ---------------------------------------------------------------------------------------------
# Data: the table of bench/copy.sh (same columns, same generated values), minus the holes.

write_config() {
    local file=$1
    cat >"$file" <<EOF
# Written by bench/drift.sh
source:
  dsn: "$src_dsn"
replicas:
  - name: bench
    dsn: "$rep_dsn"
    tables:
      - source: public.bench_orders
        exclude: [secret]
        cursor: updated_at
        poll_interval: $poll_interval
schema_changes:
  indexes: ignore
drift:
  # No periodic scan in the sync loop run during the differences rounds: with drift.repair
  # (the default) it would fix the injected rows behind check's back.
  interval: 0
EOF
}

# ---------------------------------------------------------------------------------------------
# The timed commands. Each sets the global `elapsed` (seconds).

elapsed=0
cpu=0

# Each side's hashing query alone: what any scanner that hashes every row in the database
# must pay at least. The same expression and row text as syncset's top-level range summary.
readonly floor_sql="select count(*), coalesce(sum(hashtextextended(ROW($hash_cols)::text, 0)), 0)::text from public.bench_orders"

floor_src_sum=""
floor_rep_sum=""
# floor_one DSN: sets elapsed and floor_result.
floor_result=""
floor_one() {
    local dsn=$1 t0 t1
    t0=$EPOCHREALTIME
    floor_result=$(pq_value "$dsn" "$floor_sql") || die "the hashing query failed on $dsn"
    t1=$EPOCHREALTIME
    elapsed=$(seconds_between "$t0" "$t1")
}

# Both sides' hashing queries at the same moment (two psql processes): wall time of both.
floor_parallel() {
    local t0 t1 p1 p2 status=0
    t0=$EPOCHREALTIME
    pq_value "$src_dsn" "$floor_sql" >"$work/floor-par-src.out" &
    p1=$!
    pq_value "$rep_dsn" "$floor_sql" >"$work/floor-par-rep.out" &
    p2=$!
    wait "$p1" || status=$?
    wait "$p2" || status=$?
    t1=$EPOCHREALTIME
    ((status == 0)) || die "a parallel hashing query failed"
    elapsed=$(seconds_between "$t0" "$t1")
}

# run_check LABEL EXPECTED_STATUS [--repair]: `syncset check --json`; sets elapsed, cpu, and
# the fields of the table's report (c_*). The report is kept as $work/LABEL.json. EXPECTED_STATUS
# `any` accepts 0 (in sync) and 1 (drift); c_exit is the status.
c_exit=0 c_status="" c_source_rows=0 c_replica_rows=0 c_missing=0 c_extra=0 c_different=0
c_repaired=0 c_left=0 c_seconds=0 c_bytes=0 c_queries=0 c_sent=0
run_check() {
    local label=$1 expected=$2 t0 t1 status=0 fields
    shift 2
    local out="$work/$label.json" err="$work/$label.log" tv="$work/$label.time"
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$tv" timeout --foreground -k 10 "$run_timeout" \
        "$syncset" check --json "$@" "$config" >"$out" 2>"$err" || status=$?
    t1=$EPOCHREALTIME
    c_exit=$status
    if [[ $expected == any ]] && ((status <= 1)); then
        :
    elif [[ $expected == any ]] || ((status != expected)); then
        log "$label: syncset check exited with status $status, expected $expected"
        tail -n 20 "$err" >&2
        head -c 2000 "$out" >&2
        die "$label: syncset check failed"
    fi
    elapsed=$(seconds_between "$t0" "$t1")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$tv")
    fields=$(jq -r '.replicas[0].tables[0] | [.status, .source_rows, .replica_rows, .missing,
            .extra, .different, .repaired, .still_different_after_repair, .seconds,
            .bytes_read, .queries, (.bytes_sent // 0)] | map(tostring) | join(" ")' "$out") ||
        die "$label: the report is not the JSON expected (see $out)"
    read -r c_status c_source_rows c_replica_rows c_missing c_extra c_different c_repaired \
        c_left c_seconds c_bytes c_queries c_sent <<<"$fields"
}

# export_side DSN FILE: the naive baseline's read of one side, sorted by key; sets elapsed.
export_side() {
    local dsn=$1 file=$2 t0 t1
    t0=$EPOCHREALTIME
    pq "$dsn" -c "\\copy (select $cols from public.bench_orders order by id) to stdout" >"$file" ||
        die "the export of $dsn failed"
    t1=$EPOCHREALTIME
    elapsed=$(seconds_between "$t0" "$t1")
}

# The naive baseline: export both sides in key order (one after the other, like syncset
# reads its two sides), then compare the files. Mode cmp: they must be equal (clean replica).
# Mode diff: count the keys on changed lines. Sets elapsed, naive_src_bytes, naive_rep_bytes,
# naive_keys.
naive_src_bytes=0 naive_rep_bytes=0 naive_keys=0 naive_elapsed=0
run_naive() {
    local mode=$1 t0 t1 status=0
    local a="$work/export-src.txt" b="$work/export-rep.txt"
    t0=$EPOCHREALTIME
    export_side "$src_dsn" "$a"
    export_side "$rep_dsn" "$b"
    if [[ $mode == cmp ]]; then
        cmp -s "$a" "$b" || status=$?
        ((status == 0)) || die "naive export: the clean replica's export differs from the source's (cmp status $status)"
    else
        diff "$a" "$b" >"$work/export.diff" || status=$?
        ((status == 1)) || die "naive export: diff exited with status $status (expected 1: differences)"
    fi
    t1=$EPOCHREALTIME
    elapsed=$(seconds_between "$t0" "$t1")
    naive_elapsed=$elapsed
    naive_src_bytes=$(stat -c %s "$a")
    naive_rep_bytes=$(stat -c %s "$b")
    if [[ $mode == diff ]]; then
        naive_keys=$(awk -F'\t' '/^[<>] / { sub(/^[<>] /, "", $1); print $1 }' "$work/export.diff" |
            sort -u | wc -l)
    fi
    rm -f "$a" "$b"
}

# ---------------------------------------------------------------------------------------------
# Setup

command -v psql >/dev/null || die "psql is missing (scripts/install-deps.sh installs it)"
[[ -x $pg_bin/initdb ]] || die "no PostgreSQL 15 in $pg_bin (scripts/install-deps.sh installs it)"
if [[ $load == 1 ]]; then
    find_pgbench
fi
for tool in time jq; do
    path=/usr/bin/$tool
    [[ -x $path ]] && continue
    log "installing Debian package '$tool' (GNU time for CPU time, jq for the JSON reports)"
    ((EUID == 0)) || die "$path is missing: apt-get install $tool"
    timeout 600 apt-get install -y -qq "$tool" >/dev/null || die "could not install the package '$tool'"
done

free_gb=$(df -P -BG / | awk 'NR == 2 { sub("G", "", $4); print $4 }')
log "free disk space on /: ${free_gb} GB"
load_at_start=$(cut -d ' ' -f 1-3 /proc/loadavg)
((free_gb >= min_free_gb)) || die "only ${free_gb} GB free on /; the benchmark needs about ${min_free_gb} GB (MIN_FREE_GB)"

work=$(mktemp -d "${TMPDIR:-/tmp}/syncset-bench-drift.XXXXXXXX")

prepare_syncset
start_pair

src_dsn=$(dsn_at "$src_port" bench)
rep_dsn=$(dsn_at "$rep_port" bench_rep)
config="$work/drift.yaml"
write_config "$config"

holes=$(all_holes)
n_holes=$(tr ',' '\n' <<<"$holes" | wc -l)
log "generating $rows rows on the source ($n_holes keys left out for the rows only the replica will have)"
recreate_db "$src_port" bench
t0=$EPOCHREALTIME
create_source_table "$src_dsn" "$((rows + n_holes))" "$holes"
log "generated in $(seconds_between "$t0" "$EPOCHREALTIME") s"
table_size=$(pq_value "$src_dsn" "select pg_size_pretty(pg_total_relation_size('public.bench_orders'))")
source_sum=$(checksum "$src_dsn")
[[ ${source_sum%% *} == "$rows" ]] || die "the source has ${source_sum%% *} rows, expected $rows"

log "syncing the replica with syncset run --once"
recreate_db "$rep_port" bench_rep
t0=$EPOCHREALTIME
timeout --foreground -k 10 "$run_timeout" "$syncset" run --once "$config" >"$work/sync.log" 2>&1 ||
    {
        tail -n 40 "$work/sync.log" >&2
        die "syncset run --once failed"
    }
sync_seconds=$(seconds_between "$t0" "$EPOCHREALTIME")
verify "initial sync"
# A replica that has been live for a while has its hint bits set and statistics gathered
# (autovacuum); give the fresh copy the same, so no figure pays for it once.
pq "$rep_dsn" -c "vacuum analyze public.bench_orders"
log "synced in $sync_seconds s; the replica matches the source"

# Warm both caches (the whole table fits in RAM) and check the floor query sees equal sides.
floor_one "$src_dsn"
floor_src_sum=$floor_result
floor_one "$rep_dsn"
floor_rep_sum=$floor_result
[[ $floor_src_sum == "$floor_rep_sum" ]] ||
    die "the hashing query differs between the synced sides: '$floor_src_sum' vs '$floor_rep_sum'"
checkpoint_both

# ---------------------------------------------------------------------------------------------
# 1. A clean replica: hashing floor, syncset check, naive export + cmp; order alternating.

declare -a fl_src=() fl_rep=() fl_sum=() fl_max=() fl_par=()
declare -a ck_wall=() ck_scan=() ck_cpu=() ck_bytes=() ck_queries=()
declare -a nv_wall=()
clean_naive_src=0

clean_floor() {
    local r=$1 a b
    floor_one "$src_dsn"
    a=$elapsed
    floor_one "$rep_dsn"
    b=$elapsed
    fl_src+=("$a")
    fl_rep+=("$b")
    fl_sum+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a + b }')")
    fl_max+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", (a > b ? a : b) }')")
    floor_parallel
    fl_par+=("$elapsed")
    log "clean #$r floor: source $a s, replica $b s, both at once $elapsed s"
}

clean_check() {
    local r=$1
    run_check "clean-$r" 0
    [[ $c_status == in_sync && $c_missing == 0 && $c_extra == 0 && $c_different == 0 ]] ||
        die "clean #$r: check reported drift on a synced replica (see $work/clean-$r.json)"
    [[ $c_source_rows == "$rows" && $c_replica_rows == "$rows" ]] ||
        die "clean #$r: check counted $c_source_rows/$c_replica_rows rows, expected $rows"
    ck_wall+=("$elapsed")
    ck_scan+=("$c_seconds")
    ck_cpu+=("$cpu")
    ck_bytes+=("$c_bytes")
    ck_queries+=("$c_queries")
    log "clean #$r check: $elapsed s (scan $c_seconds s), $c_bytes bytes read, $c_queries queries"
}

clean_naive() {
    local r=$1
    run_naive cmp
    nv_wall+=("$elapsed")
    clean_naive_src=$naive_src_bytes
    log "clean #$r naive export + cmp: $elapsed s, $naive_src_bytes + $naive_rep_bytes bytes"
}

for ((r = 1; r <= repeat; r++)); do
    if ((r % 2 == 1)); then
        clean_floor "$r"
        clean_check "$r"
        clean_naive "$r"
    else
        clean_naive "$r"
        clean_check "$r"
        clean_floor "$r"
    fi
done

# ---------------------------------------------------------------------------------------------
# 2. DIFFS scattered differences on the replica, found while the sync loop runs (what check
#    waits for before it reports a row), then repaired and checked clean again.

declare -a df_wall=() df_scan=() df_cpu=() df_bytes=() df_queries=() df_sent=() df_naive=()
declare -a rp_wall=() rp_after=()
declare -a sa_wall=() sa_scan=() sa_bytes=()

# expect_found LABEL ROUND: does the report list exactly the injected split, and are the keys
# it shows injected ones of the right kind? A wrong report is a missed target, not a failure
# of the benchmark: it is recorded in `wrong` and printed with the results.
declare -a wrong=()
expect_found() {
    local label=$1 s=$2 key kind list injected
    if [[ $c_status != drift || $c_missing != "$n_missing" || $c_extra != "$n_extra" ||
        $c_different != "$n_different" ]]; then
        wrong+=("$label: reported $c_missing missing, $c_extra extra, $c_different different")
        log "WRONG: $label: check reported $c_missing missing, $c_extra extra, $c_different different; injected $n_missing, $n_extra, $n_different (see $work/$label.json)"
    fi
    for kind in 0 1 2; do
        list=(different missing extra)
        injected=",$(ids_of "$s" "$kind"),"
        for key in $(jq -r ".replicas[0].tables[0].${list[kind]}_keys[][0]" "$work/$label.json"); do
            if [[ $injected != *",$key,"* ]]; then
                wrong+=("$label: reported key $key as ${list[kind]}; it is not an injected ${list[kind]} row")
                log "WRONG: $label: check reported key $key as ${list[kind]}, which was not injected as such"
            fi
        done
    done
}

# After --repair the replica must match the source: that is a hard requirement (exit 1).
declare -a rp_count=()
repair_and_recheck() {
    local label=$1
    run_check "$label-repair" 0 --repair
    [[ $c_left == 0 ]] ||
        die "$label: --repair left $c_left rows different (see $work/$label-repair.json)"
    rp_wall+=("$elapsed")
    rp_count+=("$c_repaired")
    verify "$label: after --repair"
    run_check "$label-after" 0
    [[ $c_status == in_sync ]] || die "$label: the check after --repair still reports drift"
    rp_after+=("$elapsed")
}

log "starting the sync loop (syncset run, poll_interval $poll_interval) for the differences rounds"
started_at=$(pq_value "$rep_dsn" "select now()")
"$syncset" run "$config" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 600); do
    kill -0 "$daemon_pid" 2>/dev/null || {
        tail -n 20 "$work/daemon.log" >&2
        daemon_pid=""
        die "the sync loop exited"
    }
    ready=$(pq_value "$rep_dsn" "select coalesce(bool_or(last_success > '$started_at'), false)
                                  from _syncset.tables") || true
    [[ $ready == t ]] && break
    sleep 0.1
done
[[ $ready == t ]] || die "the sync loop did not commit a poll within 60 s"

for ((r = 1; r <= repeat; r++)); do
    s=$((r - 1))
    inject "$s"
    checkpoint_both
    if ((r % 2 == 1)); then
        run_check "diffs-$r" 1
        check_elapsed=$elapsed
        run_naive diff
    else
        run_naive diff
        run_check "diffs-$r" 1
        check_elapsed=$elapsed
    fi
    expect_found "diffs-$r" "$s"
    df_wall+=("$check_elapsed")
    df_naive+=("$naive_elapsed")
    df_scan+=("$c_seconds")
    df_cpu+=("$cpu")
    df_bytes+=("$c_bytes")
    df_queries+=("$c_queries")
    df_sent+=("$c_sent")
    ((naive_keys == diffs)) || log "note: the naive diff saw $naive_keys keys, $diffs were injected"
    log "differences #$r: check $check_elapsed s (scan $c_seconds s), $c_bytes bytes, $c_queries queries; naive export + diff $naive_elapsed s"
    repair_and_recheck "diffs-$r"
    log "differences #$r: --repair ${rp_wall[-1]} s, check after it ${rp_after[-1]} s"
done

# ---------------------------------------------------------------------------------------------
# 3. A clean check under a steady write load (pgbench, LOAD_RATE single-row updates a second)
#    while the sync loop keeps the replica following, against the same check on the quiet
#    table with the same loop running; order alternating. Rows the load updates between the two
#    sides' reads are candidates the check must re-check after a loop batch, never drift.

declare -a ld_quiet=() ld_busy=() ld_busy_scan=() ld_quiet_scan=() ld_rate=() ld_busy_queries=()
declare -a ld_quiet_queries=()
load_false=0
if [[ $load == 1 ]]; then
    quiet_check() {
        local r=$1
        run_check "quiet-$r" 0
        [[ $c_status == in_sync ]] || die "quiet #$r: check reported drift on a synced, quiet replica"
        ld_quiet+=("$elapsed")
        ld_quiet_scan+=("$c_seconds")
        ld_quiet_queries+=("$c_queries")
        log "quiet #$r (loop running, no writes): check $elapsed s (scan $c_seconds s), $c_queries queries"
    }
    busy_check() {
        local r=$1
        start_update_load "$src_port" bench 1 "$((rows + n_holes))" "$load_rate" "$load_clients" \
            "$run_timeout" "$work/load-$r.pgbench"
        # Let the load and the loop following it settle.
        sleep 3
        run_check "load-$r" any
        stop_update_load
        # The rate over the whole load but its first second (connections): a window of the
        # check's 2 to 3 s alone is too short for a Poisson schedule's mean.
        ld_rate+=("$(load_tps "$work/load-$r.pgbench" 1)")
        if [[ $c_exit != 0 || $c_status != in_sync ]]; then
            load_false=$((load_false + 1))
            log "WRONG: load #$r: check reported drift under load (see $work/load-$r.json)"
        fi
        ld_busy+=("$elapsed")
        ld_busy_scan+=("$c_seconds")
        ld_busy_queries+=("$c_queries")
        log "load #$r (${ld_rate[-1]} tx/s): check $elapsed s (scan $c_seconds s), $c_queries queries"
    }
    for ((r = 1; r <= repeat; r++)); do
        checkpoint_both
        if ((r % 2 == 1)); then
            quiet_check "$r"
            checkpoint_both
            busy_check "$r"
        else
            busy_check "$r"
            sleep 2 # the loop copies the load's last rows; then the table is quiet again
            checkpoint_both
            quiet_check "$r"
        fi
    done
    # The source changed: wait for the loop to copy the last updates, then take the new sum.
    source_sum=$(checksum "$src_dsn")
    for _ in $(seq 120); do
        [[ $(checksum "$rep_dsn") == "$source_sum" ]] && break
        sleep 1
    done
    verify "after the load rounds"
fi
stop_daemon

if [[ $skip_standalone != 1 ]]; then
    for ((r = 1; r <= repeat; r++)); do
        s=$((repeat + r - 1))
        inject "$s"
        checkpoint_both
        run_check "standalone-$r" 1
        expect_found "standalone-$r" "$s"
        sa_wall+=("$elapsed")
        sa_scan+=("$c_seconds")
        sa_bytes+=("$c_bytes")
        log "standalone #$r (no sync loop): check $elapsed s (scan $c_seconds s), $c_bytes bytes"
        run_check "standalone-$r-repair" 0 --repair
        [[ $c_left == 0 ]] || die "standalone #$r: --repair left $c_left rows different"
        rp_count+=("$c_repaired")
        verify "standalone #$r: after --repair"
    done
fi

# ---------------------------------------------------------------------------------------------
# Results

# row FIGURE SYNCSET BASELINE RATIO TARGET VERDICT: one line of the results table.
row() { printf '%-44s %-12s %-30s %-7s %-10s %s\n' "$@"; }
per_mrow_side() { awk -v b="$1" -v r="$rows" -v sides="${2:-2}" 'BEGIN { printf "%.0f", b / sides / (r / 1e6) }'; }

missed=0
{
    echo
    echo "syncset drift benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $syncset_version, $built_from"
    echo "  load average at the start: $load_at_start; at the end: $(cut -d ' ' -f 1-3 /proc/loadavg) (other work on the machine shows here)"
    echo "  $rows rows, source table $table_size, synced by syncset run --once in $sync_seconds s;" \
        "median of $repeat run(s); each figure next to its baseline from this same run"
    echo

    s_src=$(median "${fl_src[@]}")
    s_rep=$(median "${fl_rep[@]}")
    s_sum=$(median "${fl_sum[@]}")
    s_max=$(median "${fl_max[@]}")
    s_par=$(median "${fl_par[@]}")
    echo "hashing floor (each side's count + sum(hashtextextended(ROW(...)::text, 0)) alone, psql wall time):"
    printf '  source %.2f s, replica %.2f s: one after the other (as syncset reads them) %.2f s;' \
        "$s_src" "$s_rep" "$s_sum"
    printf ' slower side %.2f s; both at once %.2f s\n' "$s_max" "$s_par"
    echo
    row "figure" "syncset" "baseline" "ratio" "target" ""
    row "------" "-------" "--------" "-----" "------" ""

    w=$(median "${ck_wall[@]}")
    q=$(ratio "$w" "$s_sum")
    v=$(verdict "$q" "$target_floor_ratio")
    [[ $v == ok ]] || missed=1
    row "clean check, wall time" "$(printf '%.2f s' "$w")" "$(printf 'floor, sides in turn %.2f s' "$s_sum")" \
        "$q" "<= $target_floor_ratio" "$v"
    row "  same, vs the slower side alone" "" "$(printf 'floor, slower side %.2f s' "$s_max")" \
        "$(ratio "$w" "$s_max")" "(info)" ""
    row "  same, vs both sides at once" "" "$(printf 'floor, both at once %.2f s' "$s_par")" \
        "$(ratio "$w" "$s_par")" "(info)" ""
    b=$(median "${ck_bytes[@]}")
    pm=$(per_mrow_side "$b")
    v=$(verdict "$pm" "$target_bytes_per_mrow" 1)
    [[ $v == ok ]] || missed=1
    row "clean check, bytes per 1M rows per side" "$(human "$pm")" \
        "$(printf 'naive export %s' "$(human "$(per_mrow_side "$clean_naive_src" 1)")")" \
        "$(ratio "$pm" "$(per_mrow_side "$clean_naive_src" 1)")" "< 64 KB" "$v"
    n=$(median "${nv_wall[@]}")
    row "clean check vs naive export + cmp" "$(printf '%.2f s' "$w")" "$(printf 'export both + cmp %.2f s' "$n")" \
        "$(ratio "$w" "$n")" "(info)" ""

    dw=$(median "${df_wall[@]}")
    dn=$(median "${df_naive[@]}")
    row "$diffs differences, check wall time" "$(printf '%.2f s' "$dw")" "$(printf 'export both + diff %.2f s' "$dn")" \
        "$(ratio "$dw" "$dn")" "(info)" ""
    db=$(median "${df_bytes[@]}")
    pd=$(awk -v b="$db" -v d="$diffs" 'BEGIN { printf "%.0f", b / d }')
    v=$(verdict "$pd" "$target_bytes_per_diff" 1)
    [[ $v == ok ]] || missed=1
    row "$diffs differences, bytes per differing row" "$(human "$pd")" \
        "$(printf 'naive export %s' "$(human "$(awk -v b="$clean_naive_src" -v d="$diffs" 'BEGIN { printf "%.0f", 2 * b / d }')")")" \
        "$(ratio "$pd" "$(awk -v b="$clean_naive_src" -v d="$diffs" 'BEGIN { printf "%.0f", 2 * b / d }')")" "< 2 KB" "$v"
    ds=$(median "${df_sent[@]}")
    row "  same, SQL text and keys sent per row" "$(human "$(awk -v b="$ds" -v d="$diffs" 'BEGIN { printf "%.0f", b / d }')")" \
        "" "" "(info)" ""
    if ((${#wrong[@]} == 0)); then
        row "$diffs differences found exactly" "yes" "injected $n_different changed, $n_missing deleted, $n_extra inserted" "" "exact" "ok"
    else
        missed=1
        row "$diffs differences found exactly" "NO" "injected $n_different changed, $n_missing deleted, $n_extra inserted" "" "exact" "MISSED"
        printf '    %s\n' "${wrong[@]}"
    fi
    if ((${#ld_busy[@]} > 0)); then
        lq=$(median "${ld_quiet[@]}")
        lb=$(median "${ld_busy[@]}")
        q=$(ratio "$lb" "$lq")
        v=$(verdict "$q" "$target_load_ratio")
        [[ $v == ok ]] || missed=1
        row "clean check under $(median "${ld_rate[@]}" | cut -d. -f1) tx/s, wall time" "$(printf '%.2f s' "$lb")" \
            "$(printf 'same check, quiet %.2f s' "$lq")" "$q" "<= $target_load_ratio" "$v"
        row "  same, vs the clean check with no loop" "" "$(printf 'clean check above %.2f s' "$w")" \
            "$(ratio "$lb" "$w")" "(info)" ""
        if ((load_false == 0)); then
            row "  no drift reported under load" "yes" "${#ld_busy[@]} check(s) under load" "" "none" "ok"
        else
            missed=1
            row "  no drift reported under load" "NO" "$load_false of ${#ld_busy[@]} check(s) reported drift" "" "none" "MISSED"
        fi
    fi
    echo
    echo "details:"
    printf '  clean check: scan %.2f s of %.2f s wall (the rest: process start, catalogs, plan); syncset CPU %.2f s;' \
        "$(median "${ck_scan[@]}")" "$w" "$(median "${ck_cpu[@]}")"
    printf ' %s read in %.0f queries (both sides)\n' "$(human "$b")" "$(median "${ck_queries[@]}")"
    printf '  naive export: %s per side (%s per 1M rows), the same text COPY syncset copies\n' \
        "$(human "$clean_naive_src")" "$(human "$(per_mrow_side "$clean_naive_src" 1)")"
    printf '  %s differences, sync loop running (poll_interval %s): scan %.2f s; syncset CPU %.2f s;' \
        "$diffs" "$poll_interval" "$(median "${df_scan[@]}")" "$(median "${df_cpu[@]}")"
    printf ' %s read in %.0f queries; %.1f x the clean check\n' "$(human "$db")" "$(median "${df_queries[@]}")" \
        "$(ratio "$dw" "$w")"
    printf '  --repair (finds them again, then fixes): %.2f s; check right after it: %.2f s, in sync; replica checksum equals the source\n' \
        "$(median "${rp_wall[@]}")" "$(median "${rp_after[@]}")"
    printf '    rows --repair reported as repaired, per round: %s (%s differences injected)\n' "${rp_count[*]}" "$diffs"
    if ((${#ld_busy[@]} > 0)); then
        printf '  clean check under load (pgbench %s clients, -R %s, one-row UPDATE ... SET updated_at = now(), sync loop running, poll_interval %s):' \
            "$load_clients" "$load_rate" "$poll_interval"
        printf ' scan %.2f s, %.0f queries; quiet (same loop, no writes): scan %.2f s, %.0f queries; checks reporting drift under load: %s of %s\n' \
            "$(median "${ld_busy_scan[@]}")" "$(median "${ld_busy_queries[@]}")" "$(median "${ld_quiet_scan[@]}")" \
            "$(median "${ld_quiet_queries[@]}")" "$load_false" "${#ld_busy[@]}"
    fi
    if ((${#sa_wall[@]} > 0)); then
        printf '  %s differences, NO sync loop running: check %.2f s (scan %.2f s, %s read): it waits' \
            "$diffs" "$(median "${sa_wall[@]}")" "$(median "${sa_scan[@]}")" "$(human "$(median "${sa_bytes[@]}")")"
        printf ' 2 x poll_interval + 1 s for a loop commit before reporting\n'
    fi
    echo "  samples (s): floor source ${fl_src[*]} | replica ${fl_rep[*]} | both at once ${fl_par[*]}"
    echo "               clean check ${ck_wall[*]} | naive export + cmp ${nv_wall[*]}"
    echo "               differences check ${df_wall[*]} | export + diff ${df_naive[*]} | --repair ${rp_wall[*]}"
    if ((${#sa_wall[@]} > 0)); then
        echo "               no loop: check ${sa_wall[*]}"
    fi
    if ((${#ld_busy[@]} > 0)); then
        echo "               under load: check ${ld_busy[*]} (tx/s ${ld_rate[*]}) | quiet ${ld_quiet[*]}"
    fi
    echo
    if ((missed)); then
        echo "MISSED: at least one target above was missed"
    else
        echo "all targets met"
    fi
} | tee "$work/results.txt"
if [[ -n $results_file ]]; then
    cp "$work/results.txt" "$results_file"
fi
log "free disk space on /: $(df -P -BG / | awk 'NR == 2 { print $4 }')"
ok=1
