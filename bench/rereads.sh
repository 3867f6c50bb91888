#!/usr/bin/env bash
# Re-read benchmark: how many rows an incremental poll reads on the source, against how many
# rows changed, for an idle table and for one whose hot 1% keeps changing, per cursor kind, in
# ONE run on ONE throwaway PostgreSQL 15 pair (tests/pg_pair.sh). The baseline of the same run:
# `cursor: xmin` with `xmin_full_scan_interval: 0`, which reads the whole table every poll (what
# every xmin poll did before the idle skip), and for the column cursor the rows changed
# themselves. Targets from issue 10; bench/README.md ("Re-reads") says what each figure means.
#
#   bench/rereads.sh                           build, 1,000,000 rows, 30 s per phase
#   ROWS=200000 WINDOW=15 bench/rereads.sh     a quicker run
#
# Knobs (environment):
#   ROWS=1000000          rows of the table (the table of bench/copy.sh)
#   WINDOW=30             seconds of each phase (idle, then changing)
#   RATE=200              changing phase: single-row UPDATE transactions a second (pgbench -R)
#   HOT_PERCENT=1         changing phase: the updates hit random rows of this first % of ids
#   POLL_INTERVAL=1s      the table's poll_interval
#   BATCH_ROWS=10000      the table's batch_rows (the "+ one batch" of the target)
#   MODES="updated_at xmin xmin_every_poll"   which modes run, in this order
#   SYNCSET_BIN, BUILD_DIR (build-bench), RUN_TIMEOUT (1800), KEEP_WORK=1: as in the others
#
# How rows are counted. "source rows read" is the table's pg_stat_user_tables counters,
# seq_tup_read + idx_tup_fetch, over the phase, less one index fetch per UPDATE of the load
# (pgbench finds its row by key); the daemon is stopped before the phase's counters are read,
# so its session has flushed them. "rows sent" is the sum of the daemon's `copied rows=` lines
# of the phase. "rows changed" is the table's n_tup_upd over the phase. Figures are per
# poll_interval of wall time (WINDOW / POLL_INTERVAL of them a phase): a table that has caught
# up is polled once per interval, a poll slower than the interval makes fewer polls than that.
#
# Exits 0 when every mode ran and the replica matched the source after each, even if a target
# is missed (benchmarks are not tests: a missed target prints MISSED).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
readonly repo_root=$PWD

readonly rows=${ROWS:-1000000}
readonly window=${WINDOW:-30}
readonly rate=${RATE:-200}
readonly hot_percent=${HOT_PERCENT:-1}
readonly poll_interval=${POLL_INTERVAL:-1s}
readonly batch_rows=${BATCH_ROWS:-10000}
read -ra modes <<<"${MODES:-updated_at xmin xmin_every_poll}"
readonly build_dir=${BUILD_DIR:-build-bench}
readonly run_timeout=${RUN_TIMEOUT:-1800}
readonly keep_work=${KEEP_WORK:-0}
readonly pg_bin=${SYNCSET_PG_BIN:-/usr/lib/postgresql/15/bin}


work=""
pair_dir=""
daemon_pid=""
ok=0

readonly bench_name=rereads  # its log lines: [rereads HH:MM:SS] ...

# shellcheck source=bench/lib.sh
. "$repo_root/bench/lib.sh"

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    stop_update_load
    stop_pid "$daemon_pid" TERM
    stop_pair_and_work "$status"
    exit "$status"
}
install_traps

for value in "$rows" "$window" "$rate" "$hot_percent" "$batch_rows" "$run_timeout"; do
    is_uint "$value" || die "not a whole number: '$value' (check ROWS, WINDOW, RATE, ...)"
done
((rows >= 10000)) || die "ROWS must be at least 10000"
((window >= 5 && window <= 3600)) || die "WINDOW must be 5..3600 seconds"
((rate >= 1)) || die "RATE must be at least 1"
((hot_percent >= 1 && hot_percent <= 100)) || die "HOT_PERCENT must be 1..100"
((${#modes[@]} >= 1)) || die "MODES needs at least one mode"
for mode in "${modes[@]}"; do
    case $mode in updated_at | xmin | xmin_every_poll) ;;
    *) die "unknown mode '$mode' in MODES (updated_at, xmin, xmin_every_poll)" ;;
    esac
done
poll_ms=$(duration_ms "$poll_interval") || die "POLL_INTERVAL must look like 200ms, 1s or 1m"
readonly poll_ms
polls=$(awk -v w="$window" -v p="$poll_ms" 'BEGIN { printf "%.0f", w * 1000 / p }')
readonly polls
readonly hot_last=$((1 + rows * hot_percent / 100))

# ---------------------------------------------------------------------------------------------

# "seq_tup_read+idx_tup_fetch n_tup_upd" of the source table.
table_counters() {
    pq_value "$src_dsn" "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0), n_tup_upd
                         from pg_stat_user_tables where relid = 'public.bench_orders'::regclass"
}

# The rows of the daemon's `copied` lines in LOG.
rows_sent() {
    awk '/ copied / { for (i = 1; i <= NF; i++) if ($i ~ /^rows=/) { sub(/^rows=/, "", $i); s += $i } }
         END { print s + 0 }' "$1"
}

# write_config FILE REPLICA_DB CURSOR FULL_SCAN_INTERVAL
write_config() {
    cat >"$1" <<EOF
# Written by bench/rereads.sh
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
        batch_rows: $batch_rows
        xmin_full_scan_interval: $4
drift:
  interval: 0
EOF
}

# wait_until SECONDS WHAT DSN SQL: until SQL returns t on DSN, or die.
wait_until() {
    local deadline=$((SECONDS + $1)) value
    while ((SECONDS < deadline)); do
        if [[ -n $daemon_pid ]] && ! kill -0 "$daemon_pid" 2>/dev/null; then
            daemon_pid=""
            die "the syncset daemon exited while waiting for: $2"
        fi
        value=$(pq_value "$3" "$4" 2>/dev/null) || value=""
        [[ $value == t ]] && return 0
        sleep 0.2
    done
    die "$2: not within $1 s"
}

declare -A r_label=() r_read=() r_sent=() r_changed=() r_match=()

# phase MODE PHASE LOAD(0|1) CONFIG DB: one daemon run of WINDOW seconds (after it has caught
# up), counted from its first poll to its stop.
phase() {
    local mode=$1 name=$2 load=$3 config=$4 db=$5 key="$1/$2" plog started read0 upd0 read1 upd1
    plog="$work/$mode.$name.log"
    started=$(pq_value "$src_dsn" "select now()")
    read -r read0 upd0 < <(table_counters)
    "$syncset" run "$config" >"$plog" 2>&1 &
    daemon_pid=$!
    wait_until 120 "$key: the daemon's first poll" "$(dsn_at "$rep_port" "$db")" \
        "select coalesce(bool_and(phase = 'incremental' and last_success > '$started'), false)
         from _syncset.tables"
    if ((load)); then
        start_update_load "$src_port" bench 2 "$hot_last" "$rate" 2 "$window" "$work/$mode.pgbench"
    fi
    sleep "$window"
    if ((load)); then
        wait_update_load || die "$key: the write load failed (see $work/$mode.pgbench)"
        # One more poll, so the last updates are in this phase's figures.
        sleep "$(awk -v p="$poll_ms" 'BEGIN { printf "%.3f", 2 * p / 1000 }')"
    fi
    stop_pid "$daemon_pid" TERM
    daemon_pid=""
    sleep 1 # the daemon's sessions are gone; their statistics are flushed at exit
    read -r read1 upd1 < <(table_counters)
    r_changed[$key]=$((upd1 - upd0))
    r_read[$key]=$((read1 - read0 - r_changed[$key]))
    r_sent[$key]=$(rows_sent "$plog")
    log "$key: source rows read ${r_read[$key]}, rows sent ${r_sent[$key]}, rows changed ${r_changed[$key]}"
}

run_mode() {
    local mode=$1 cursor=$2 full_scan=$3 db="fresh_$1" config="$work/$1.yaml" rep_dsn
    rep_dsn=$(dsn_at "$rep_port" "$db")
    write_config "$config" "$db" "$cursor" "$full_scan"
    recreate_db "$rep_port" "$db" >/dev/null
    log "$mode: snapshot (cursor $cursor, xmin_full_scan_interval $full_scan)"
    "$syncset" run --once "$config" >"$work/$mode.snapshot.log" 2>&1 ||
        die "$mode: the snapshot run failed (see $work/$mode.snapshot.log)"
    phase "$mode" idle 0 "$config" "$db"
    phase "$mode" changing 1 "$config" "$db"
    if [[ $(checksum "$src_dsn") == "$(checksum "$rep_dsn")" ]]; then
        r_match[$mode]=yes
    else
        r_match[$mode]=NO
    fi
    pq "$(dsn_at "$rep_port" postgres)" -c "drop database $db with (force)"
}

# ---------------------------------------------------------------------------------------------
# Setup

command -v psql >/dev/null || die "psql is missing (scripts/install-deps.sh installs it)"
[[ -x $pg_bin/initdb ]] || die "no PostgreSQL 15 in $pg_bin (scripts/install-deps.sh installs it)"
find_pgbench
work=$(mktemp -d "${TMPDIR:-/tmp}/syncset-bench-rereads.XXXXXXXX")
prepare_syncset
start_pair
src_dsn=$(dsn_at "$src_port" bench)
log "generating $rows rows on the source"
recreate_db "$src_port" bench
create_source_table "$src_dsn" "$rows"
load_at_start=$(cut -d ' ' -f 1-3 /proc/loadavg)

for mode in "${modes[@]}"; do
    case $mode in
        updated_at)
            r_label[$mode]="cursor updated_at"
            run_mode updated_at updated_at 60s
            ;;
        xmin)
            r_label[$mode]="cursor xmin (idle skip, 60s)"
            run_mode xmin xmin 60s
            ;;
        xmin_every_poll)
            r_label[$mode]="baseline: xmin, every poll reads"
            run_mode xmin_every_poll xmin 0
            ;;
    esac
done

# ---------------------------------------------------------------------------------------------
# Results: per poll. Target (issue 10): column cursors send at most 2x the rows changed plus one
# batch per poll; xmin reads an idle table far less than once per poll.

per_poll() { awk -v v="$1" -v p="$polls" 'BEGIN { printf "%.0f", v / p }'; }
row() { printf '%-34s %-9s %12s %10s %10s  %s\n' "$@"; }
echo
echo "syncset re-read benchmark: $rows rows, $window s a phase = $polls poll intervals of $poll_interval; rows per interval:"
echo "changing phase: $rate updates/s on the first $hot_percent% of ids; $built_from, load at start $load_at_start"
row "mode" "phase" "read" "sent" "changed" "target (rows per poll_interval)"
all_match=1
for mode in "${modes[@]}"; do
    for name in idle changing; do
        key="$mode/$name"
        read_pp=$(per_poll "${r_read[$key]}")
        sent_pp=$(per_poll "${r_sent[$key]}")
        changed_pp=$(per_poll "${r_changed[$key]}")
        case $mode/$name in
            updated_at/*)
                limit=$((2 * changed_pp + batch_rows))
                target="sent <= 2 x changed + batch ($limit): $(verdict "$sent_pp" "$limit")"
                ;;
            xmin/idle)
                # The baseline's idle reads when it ran, else one whole table a poll.
                base=$rows
                [[ -n ${r_read[xmin_every_poll/idle]:-} ]] && base=$(per_poll "${r_read[xmin_every_poll/idle]}")
                limit=$((base / 10))
                target="read <= 1/10 of baseline ($limit): $(verdict "$read_pp" "$limit")"
                ;;
            *) target="(info)" ;;
        esac
        row "${r_label[$mode]}" "$name" "$read_pp" "$sent_pp" "$changed_pp" "$target"
    done
    [[ ${r_match[$mode]} == yes ]] || all_match=0
    echo "  replica matches the source after $mode: ${r_match[$mode]}"
done
((all_match)) || die "a replica did not match its source"
ok=1
