#!/usr/bin/env bash
# Scale benchmark (issue 12 part 2): TABLES small tables plus LARGE_TABLES large ones, selected
# by glob entries into REPLICAS replica databases, run by one `syncset run` daemon on ONE
# throwaway PostgreSQL 15 pair (tests/pg_pair.sh). Measures the plan + schema step, the initial
# sync of every (replica, table) pair, the connections and RSS of the steady state, the source
# work of an idle round and the time of `syncset status`, next to the issue's targets; the data
# that moves is also copied by a plain psql pipe in the same run, so the initial sync is given as
# a ratio. bench/README.md ("Scale") says what each figure means.
#
#   bench/scale.sh                                   1,000 tables x 5 replicas: 10-15 min on 2 cores
#   TABLES=50 REPLICAS=2 LARGE_ROWS=20000 bench/scale.sh    a quick run, about 2 min
#
# Knobs (environment):
#   TABLES=1000           small tables s_0001 ... (a few hundred rows each, three column shapes)
#   SMALL_ROWS=300        rows of each small table
#   LARGE_TABLES=3        large tables big_1 ... (the table of bench/copy.sh)
#   LARGE_ROWS=200000     rows of each large table
#   REPLICAS=5            replica databases r1 ... on the replica server, each selecting every table
#   PARALLEL=4            the config's `parallel`
#   CONN_SOURCE=8         connections.source to set (when the build knows the key) and the target
#   CONN_REPLICA=8        connections.replica, the same, per replica database (8: 4 workers,
#                         the claims heartbeat, the schema step (2), the drift scanner)
#   POLL_INTERVAL=5s      every table's poll_interval
#   IDLE_ROUNDS=6         the idle window, in poll intervals
#   DRIFT_INTERVAL=1h     drift.interval (the first pass over every table starts after catch-up)
#   DRIFT_WAIT=240        seconds to wait for that first drift pass before the idle window
#   SYNC_TIMEOUT=1800     seconds before the initial sync counts as hung
#   SYNCSET=PATH          the binary (default: a Release build of this tree in BUILD_DIR=build)
#   RUN_TIMEOUT (1800), KEEP_WORK=1: as in the other benchmarks
#
# Exits 0 when everything ran and every replica matches the source, even if a target is missed
# (a missed target prints OVER); 1 when something failed.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
readonly repo_root=$PWD

readonly tables=${TABLES:-1000}
readonly small_rows=${SMALL_ROWS:-300}
readonly large_tables=${LARGE_TABLES:-3}
readonly large_rows=${LARGE_ROWS:-200000}
readonly replicas=${REPLICAS:-5}
readonly parallel=${PARALLEL:-4}
readonly conn_source=${CONN_SOURCE:-8}
readonly conn_replica=${CONN_REPLICA:-8}
readonly poll_interval=${POLL_INTERVAL:-5s}
readonly idle_rounds=${IDLE_ROUNDS:-6}
readonly drift_interval=${DRIFT_INTERVAL:-1h}
readonly drift_wait=${DRIFT_WAIT:-240}
readonly sync_timeout=${SYNC_TIMEOUT:-1800}
readonly build_dir=${BUILD_DIR:-build}
readonly run_timeout=${RUN_TIMEOUT:-1800}
readonly keep_work=${KEEP_WORK:-0}
readonly pg_bin=${SYNCSET_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -n ${SYNCSET:-} ]] && export SYNCSET_BIN=$SYNCSET

# Targets of issue 12.
readonly target_ready_s=30
readonly target_rss_mb=128
readonly target_status_s=2

# The daemon's role on both servers: its statements are told from ours (postgres) by it.
readonly role=syncset_bench
readonly role_password=scale-bench-only

work=""
pair_dir=""
daemon_pid=""
sampler_pid=""
ok=0

readonly bench_name=scale # its log lines: [scale HH:MM:SS] ...

# shellcheck source=bench/lib.sh
. "$repo_root/bench/lib.sh"

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    if [[ -n $sampler_pid ]]; then
        kill "$sampler_pid" 2>/dev/null || true
        wait "$sampler_pid" 2>/dev/null || true
    fi
    stop_pid "$daemon_pid" TERM
    stop_pair_and_work "$status"
    exit "$status"
}
install_traps

for value in "$tables" "$small_rows" "$large_tables" "$large_rows" "$replicas" "$parallel" \
    "$conn_source" "$conn_replica" "$idle_rounds" "$drift_wait" "$sync_timeout" "$run_timeout"; do
    is_uint "$value" || die "not a whole number: '$value' (check TABLES, REPLICAS, LARGE_ROWS, ...)"
done
((tables >= 1 && tables <= 99999)) || die "TABLES must be 1..99999"
((replicas >= 1 && replicas <= 50)) || die "REPLICAS must be 1..50"
((large_tables <= 9)) || die "LARGE_TABLES must be 0..9"
((idle_rounds >= 1)) || die "IDLE_ROUNDS must be at least 1"
poll_ms=$(duration_ms "$poll_interval") || die "POLL_INTERVAL must look like 500ms, 5s or 1m"
readonly poll_ms
readonly tables_per_replica=$((tables + large_tables))
readonly pairs=$((tables_per_replica * replicas))
readonly name_width=$((${#tables} > 4 ? ${#tables} : 4))

# ---------------------------------------------------------------------------------------------
# Helpers

now() { echo "$EPOCHREALTIME"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per() {
    if [[ $1 =~ ^-?[0-9]+$ ]]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'
    else
        echo "n/a"
    fi
}
pass_over() { if within "$1" "$2"; then echo PASS; else echo OVER; fi; }

daemon_dsn() { echo "host=127.0.0.1 port=$1 user=$role password=$role_password dbname=$2"; }
rep_db() { echo "r$1"; }

# "caught_up total drift_checked" over every replica database (0 for one without its metadata
# yet), from one psql (\connect to each): the script's own load stays small beside the daemon's.
replica_progress() {
    local i
    for ((i = 1; i <= replicas; i++)); do
        echo "\\connect $(rep_db "$i")"
        echo "select count(*) filter (where phase = 'incremental' and pending = 'none'
                                        and last_success is not null),
                     count(*), count(drift_checked_at)
              from _syncset.tables;"
    done | PGOPTIONS=$psql_options timeout --foreground 60 psql -X -q -At -F ' ' -v ON_ERROR_STOP=0 \
        "$(dsn_at "$rep_port" postgres)" 2>/dev/null |
        awk 'NF == 3 { c += $1; t += $2; d += $3 } END { print c + 0, t + 0, d + 0 }'
}

# One line of the sampler: "epoch source_conns max_conns_of_one_replica_db replica_conns_total
# VmRSS_kB VmHWM_kB".
sample_once() {
    local src rep rss hwm
    src=$(pq_value "$(dsn_at "$src_port" postgres)" \
        "select count(*) from pg_stat_activity where application_name like 'syncset/%'" 2>/dev/null) || src=""
    rep=$(pq_value "$(dsn_at "$rep_port" postgres)" \
        "select coalesce(max(n), 0), coalesce(sum(n), 0) from (select count(*) n from pg_stat_activity
         where application_name like 'syncset/%' group by datname) c" 2>/dev/null) || rep=""
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status" 2>/dev/null) || rss=""
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$daemon_pid/status" 2>/dev/null) || hwm=""
    [[ -n $src && -n $rep && -n $rss ]] && echo "$(now) $src $rep $rss $hwm"
    return 0
}

# The max of column COL of the sampler's lines taken between FROM and TO (epoch seconds).
sample_max() {
    awk -v c="$1" -v from="$2" -v to="$3" '$1 >= from && $1 <= to && $c > m { m = $c } END { print m + 0 }' \
        "$work/samples.txt"
}
sample_count() {
    awk -v from="$1" -v to="$2" '$1 >= from && $1 <= to { n++ } END { print n + 0 }' "$work/samples.txt"
}

# Who holds the connections, from both servers: "server datname application_name count".
connection_breakdown() {
    local label port
    for label in source replica; do
        port=$src_port
        [[ $label == replica ]] && port=$rep_port
        pq_value "$(dsn_at "$port" postgres)" \
            "select '$label', datname, application_name, count(*) from pg_stat_activity
             where application_name like 'syncset/%' group by 2, 3 order by 2, 3" || true
    done
}

# pg_stat_statements of the daemon's role on the server at PORT: "calls rows blocks exec_ms".
pgss_totals() {
    pq_value "$(dsn_at "$1" "$2")" \
        "select coalesce(sum(calls), 0), coalesce(sum(rows), 0),
                coalesce(sum(shared_blks_hit + shared_blks_read), 0), round(coalesce(sum(total_exec_time), 0))
         from pg_stat_statements where userid = '$role'::regrole"
}

# The daemon's statements on the server at PORT, table names folded (s_0042 -> s_N), top N by KEY.
pgss_top() {
    local port=$1 db=$2 key=$3 n=$4
    pq "$(dsn_at "$port" "$db")" -At -F ' | ' -c \
        "select sum(calls), sum(rows), sum(shared_blks_hit + shared_blks_read), round(sum(total_exec_time)),
                left(regexp_replace(regexp_replace(regexp_replace(regexp_replace(query,
                     '--[^\n]*', '', 'g'), '\s+', ' ', 'g'), '(s|big)_[0-9]+', '\1_N', 'g'),
                     '''[^'']*''', '?', 'g'), 140) q
         from pg_stat_statements where userid = '$role'::regrole
         group by q order by sum($key) desc limit $n"
}

# "tup_returned tup_fetched xact_commit user_tuples_read" of the source database.
source_counters() {
    pq_value "$src_dsn" \
        "select d.tup_returned, d.tup_fetched, d.xact_commit,
                (select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)
                 from pg_stat_user_tables)
         from pg_stat_database d where d.datname = current_database()"
}

# "rows sum" of every small table of the database at DSN, in one query.
small_tables_checksum() {
    pq_value "$1" \
        "select sum(n), sum(h) from pg_class c join pg_namespace s on s.oid = c.relnamespace,
         lateral (select (xpath('/row/n/text()', x))[1]::text::bigint n,
                         (xpath('/row/h/text()', x))[1]::text::numeric h
                  from query_to_xml(format('select count(*) n, coalesce(sum(hashtextextended(t::text, 0)), 0) h
                                            from %s t', c.oid::regclass), false, true, '') x) q
         where s.nspname = 'public' and c.relkind = 'r' and c.relname like 's\\_%'"
}

median3() { median "$@"; }

# ---------------------------------------------------------------------------------------------
# Setup

command -v psql >/dev/null || die "psql is missing (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
command -v jq >/dev/null || die "jq is missing (apt-get install jq)"
[[ -x $pg_bin/initdb ]] || die "no PostgreSQL 15 in $pg_bin (scripts/install-deps.sh installs it)"
work=$(mktemp -d "${TMPDIR:-/tmp}/syncset-bench-scale.XXXXXXXX")
if [[ -z ${SYNCSET_BIN:-} && -x $repo_root/$build_dir/syncset ]]; then
    log "using $build_dir/syncset after an incremental build"
fi
prepare_syncset
start_pair
src_dsn=$(dsn_at "$src_port" bench)

# pg_stat_statements on both servers (needs a restart); without it, only pg_stat_database.
have_pgss=0
if [[ -f /usr/share/postgresql/15/extension/pg_stat_statements.control ]]; then
    restart_both() {
        "$SYNCSET_TEST_PG_CTL" source restart >/dev/null 2>&1 && "$SYNCSET_TEST_PG_CTL" replica restart >/dev/null 2>&1
    }
    # pg_stat_statements.max is known only once the library is loaded: two restarts. Every
    # table has statements of its own, so the default 5,000 entries would evict some.
    for port in "$src_port" "$rep_port"; do
        pq "$(dsn_at "$port" postgres)" -c "alter system set shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    done
    if restart_both; then
        for port in "$src_port" "$rep_port"; do
            pq "$(dsn_at "$port" postgres)" -c "alter system set pg_stat_statements.max = 50000" >/dev/null
        done
        restart_both || die "restarting the servers for pg_stat_statements.max failed"
        have_pgss=1
    else
        log "restarting the servers with pg_stat_statements failed; using pg_stat_database only"
        "$SYNCSET_TEST_PG_CTL" source start >/dev/null 2>&1 || true
        "$SYNCSET_TEST_PG_CTL" replica start >/dev/null 2>&1 || true
    fi
fi
for port in "$src_port" "$rep_port"; do
    pq "$(dsn_at "$port" postgres)" -c "create role $role login superuser password '$role_password'" >/dev/null
done

log "generating $tables small tables of $small_rows rows and $large_tables of $large_rows rows on the source"
recreate_db "$src_port" bench >/dev/null
((have_pgss)) && pq "$src_dsn" -c "create extension pg_stat_statements" >/dev/null
((have_pgss)) && pq "$(dsn_at "$rep_port" postgres)" -c "create extension pg_stat_statements" >/dev/null
for ((i = 1; i <= large_tables; i++)); do
    create_source_table "$src_dsn" "$large_rows"
    pq "$src_dsn" -c "alter table public.bench_orders rename to big_$i" \
        -c "alter index public.bench_orders_pkey rename to big_${i}_pkey" \
        -c "alter index public.bench_orders_updated_at_id rename to big_${i}_updated_at_id"
done
# Three column shapes: bigint key; int key with jsonb, boolean and date; a composite text/int key.
pq "$src_dsn" <<SQL
set client_min_messages = warning;
do \$\$
declare
    n text;
begin
    for i in 1..$tables loop
        n := 's_' || lpad(i::text, $name_width, '0');
        case i % 3
        when 0 then
            execute format('create table public.%I (id bigint primary key, name text not null,
                            amount numeric(12,2), updated_at timestamptz not null)', n);
            execute format('insert into public.%I select g, ''name '' || g || '' of '' || %L, g * 1.25,
                            timestamptz ''2024-01-01 00:00:00+00'' + make_interval(secs => g * 7)
                            from generate_series(1, $small_rows) g', n, n);
        when 1 then
            execute format('create table public.%I (id int primary key, payload jsonb, flag boolean,
                            created date not null, updated_at timestamptz not null)', n);
            execute format('insert into public.%I select g, jsonb_build_object(''k'', g, ''t'', %L),
                            mod(g, 2) = 0, date ''2024-01-01'' + g,
                            timestamptz ''2024-01-01 00:00:00+00'' + make_interval(secs => g * 11)
                            from generate_series(1, $small_rows) g', n, n);
        else
            execute format('create table public.%I (region text not null, seq int not null, note text,
                            qty int, updated_at timestamptz not null, primary key (region, seq))', n);
            execute format('insert into public.%I select (array[''eu'', ''us'', ''ap''])[1 + mod(g, 3)], g,
                            md5(g::text), mod(g, 17),
                            timestamptz ''2024-01-01 00:00:00+00'' + make_interval(secs => g * 13)
                            from generate_series(1, $small_rows) g', n);
        end case;
        execute format('create index on public.%I (updated_at)', n);
        if i % 100 = 0 then
            commit;
        end if;
    end loop;
end
\$\$;
SQL
pq "$src_dsn" -c "vacuum analyze"
source_small=$(small_tables_checksum "$src_dsn")
log "source small tables: rows and hash sum $source_small"

for ((i = 1; i <= replicas; i++)); do
    recreate_db "$rep_port" "$(rep_db "$i")" >/dev/null
done

# ---------------------------------------------------------------------------------------------
# Baseline: the large tables through a psql pipe into one database (the data that moves).

readonly pipe_cols="id, customer_id, status, region, note, amount, attrs, created_at, updated_at"
# pipe_run: one timed pipe of every large table; appends its seconds to pipe_s.
pipe_run() {
    local i t0 t1 pipe_dsn
    pipe_dsn=$(dsn_at "$rep_port" pipe)
    recreate_db "$rep_port" pipe >/dev/null
    for ((i = 1; i <= large_tables; i++)); do
        pq "$pipe_dsn" -c "create table public.big_$i (id bigint primary key, customer_id int not null,
            status smallint not null, region text not null, note text, amount numeric(12,2) not null,
            attrs jsonb, created_at timestamptz not null, updated_at timestamptz not null)" >/dev/null
    done
    checkpoint_both >/dev/null
    t0=$(now)
    for ((i = 1; i <= large_tables; i++)); do
        pq "$src_dsn" -c "\\copy (select $pipe_cols from public.big_$i) to stdout" |
            pq "$pipe_dsn" -c "\\copy public.big_$i ($pipe_cols) from stdin" ||
            die "the psql pipe of big_$i failed"
    done
    t1=$(now)
    for ((i = 1; i <= large_tables; i++)); do
        [[ $(checksum "$src_dsn" "public.big_$i") == "$(checksum "$pipe_dsn" "public.big_$i")" ]] ||
            die "the psql pipe's big_$i does not match the source"
    done
    pq "$(dsn_at "$rep_port" postgres)" -c "drop database pipe with (force)" >/dev/null
    pipe_s+=("$(seconds_between "$t0" "$t1")")
}
pipe_s=()
if ((large_tables > 0)); then
    log "baseline: psql pipe of the large tables into one database"
    pipe_run
fi

# ---------------------------------------------------------------------------------------------
# The config

metrics_port=$(free_port) || die "found no free TCP port on 127.0.0.1 for metrics.listen"
config="$work/scale.yaml"
write_config() { # write_config WITH_CONNECTIONS(0|1)
    local i
    {
        echo "# Written by bench/scale.sh"
        echo "source:"
        echo "  dsn: \"$(daemon_dsn "$src_port" bench)\""
        echo "replicas:"
        for ((i = 1; i <= replicas; i++)); do
            echo "  - name: $(rep_db "$i")"
            echo "    dsn: \"$(daemon_dsn "$rep_port" "$(rep_db "$i")")\""
            if ((i == 1)); then
                echo "    tables: &tables"
                echo "      - source: \"public.s_*\""
                echo "        target: \"public.*\""
                echo "        cursor: updated_at"
                echo "      - source: \"public.big_*\""
                echo "        target: \"public.*\""
                echo "        exclude: [secret]"
                echo "        cursor: updated_at"
            else
                echo "    tables: *tables"
            fi
        done
        echo "defaults:"
        echo "  poll_interval: $poll_interval"
        echo "parallel: $parallel"
        if (($1)); then
            echo "connections:"
            echo "  source: $conn_source"
            echo "  replica: $conn_replica"
        fi
        echo "drift:"
        echo "  interval: $drift_interval"
        echo "log:"
        echo "  format: json"
        echo "metrics:"
        echo "  listen: \"127.0.0.1:$metrics_port\""
    } >"$config"
}
# connections.source / connections.replica: set when this build knows them (issue 12).
have_conn_keys=0
write_config 1
if "$syncset" validate "$config" >"$work/validate.txt" 2>&1; then
    have_conn_keys=1
else
    write_config 0
    "$syncset" validate "$config" >"$work/validate.txt" 2>&1 ||
        {
            cat "$work/validate.txt" >&2
            die "the config does not validate"
        }
    log "this build has no connections.source/replica keys: parallel $parallel decides"
fi

# ---------------------------------------------------------------------------------------------
# The daemon: start -> ready -> every pair caught up -> first drift pass -> idle window.

log "starting syncset run: $pairs (replica, table) pairs"
checkpoint_both
daemon_log="$work/daemon.log"
t_start=$(now)
"$syncset" run "$config" 2>"$daemon_log" &
daemon_pid=$!
(
    trap - EXIT INT TERM HUP
    while kill -0 "$daemon_pid" 2>/dev/null; do
        sample_once
        sleep 2
    done
) >"$work/samples.txt" &
sampler_pid=$!

check_daemon() {
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
        daemon_pid=""
        tail -n 20 "$daemon_log" >&2
        die "the syncset daemon exited ($1)"
    fi
}

t_ready=""
while [[ -z $t_ready ]]; do
    check_daemon "before it was ready"
    code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' --max-time 2 \
        "http://127.0.0.1:$metrics_port/readyz" 2>/dev/null) || code=""
    if [[ $code == 200 ]]; then
        t_ready=$(now)
    elif (($(printf '%.0f' "$(seconds_between "$t_start" "$(now)")") > sync_timeout)); then
        die "not ready within $sync_timeout s"
    else
        sleep 0.1
    fi
done
ready_s=$(seconds_between "$t_start" "$t_ready")
log "ready (/readyz 200) after $ready_s s"

t_synced=""
last_log=$SECONDS
while [[ -z $t_synced ]]; do
    check_daemon "during the initial sync"
    read -r caught total _ < <(replica_progress)
    if ((caught == pairs && total == pairs)); then
        t_synced=$(now)
        break
    fi
    if ((SECONDS - last_log >= 15)); then
        log "initial sync: $caught of $pairs pairs caught up"
        last_log=$SECONDS
    fi
    (($(printf '%.0f' "$(seconds_between "$t_start" "$(now)")") <= sync_timeout)) ||
        die "initial sync not done within $sync_timeout s ($caught of $pairs)"
    sleep 1
done
sync_s=$(seconds_between "$t_start" "$t_synced")
sync_after_ready_s=$(seconds_between "$t_ready" "$t_synced")
log "every pair caught up after $sync_s s ($sync_after_ready_s s after ready)"

# Every replica holds what the source has.
log "verifying the replicas"
for ((i = 1; i <= replicas; i++)); do
    rdsn=$(dsn_at "$rep_port" "$(rep_db "$i")")
    [[ $(small_tables_checksum "$rdsn") == "$source_small" ]] ||
        die "the small tables of $(rep_db "$i") do not match the source"
    for ((j = 1; j <= large_tables; j++)); do
        [[ $(checksum "$src_dsn" "public.big_$j") == "$(checksum "$rdsn" "public.big_$j")" ]] ||
            die "big_$j of $(rep_db "$i") does not match the source"
    done
done

# The first drift pass (one table at a time, beside the loops), so the idle window is idle.
t_drift_from=$(now)
drift_done=0
while :; do
    check_daemon "during the first drift pass"
    read -r _ _ drift_done < <(replica_progress)
    ((drift_done >= pairs)) && break
    (($(printf '%.0f' "$(seconds_between "$t_drift_from" "$(now)")") < drift_wait)) || break
    sleep 2
done
t_drift_to=$(now)
drift_s=$(seconds_between "$t_drift_from" "$t_drift_to")
log "first drift pass: $drift_done of $pairs pairs scanned in $drift_s s"

# The idle window: nothing writes to the source for IDLE_ROUNDS poll intervals.
idle_s=$(awk -v r="$idle_rounds" -v p="$poll_ms" 'BEGIN { printf "%.3f", r * p / 1000 }')
log "idle window: $idle_s s ($idle_rounds poll intervals)"
drift_lines0=$(grep -c '"drift scan started"' "$daemon_log" || true)
if ((have_pgss)); then
    pq_value "$src_dsn" "select pg_stat_statements_reset()" >/dev/null
    pq_value "$(dsn_at "$rep_port" postgres)" "select pg_stat_statements_reset()" >/dev/null
fi
read -r ret0 fet0 xact0 utup0 < <(source_counters)
t_idle_from=$(now)
sleep "$idle_s"
t_idle_to=$(now)
read -r ret1 fet1 xact1 utup1 < <(source_counters)
drift_lines1=$(grep -c '"drift scan started"' "$daemon_log" || true)
pgss_src="n/a n/a n/a n/a" pgss_rep="n/a n/a n/a n/a" idle_polls=n/a
if ((have_pgss)); then
    pgss_src=$(pgss_totals "$src_port" bench)
    pgss_rep=$(pgss_totals "$rep_port" postgres)
    pgss_top "$src_port" bench calls 8 >"$work/top_source_calls.txt"
    pgss_top "$src_port" bench rows 5 >"$work/top_source_rows.txt"
    pgss_top "$rep_port" postgres calls 8 >"$work/top_replica_calls.txt"
    pgss_top "$src_port" bench "shared_blks_hit + shared_blks_read" 5 >"$work/top_source_blocks.txt"
    pgss_top "$rep_port" postgres "shared_blks_hit + shared_blks_read" 5 >"$work/top_replica_blocks.txt"
    # Table polls in the window: every poll of a time cursor first reads its safe bound.
    idle_polls=$(pq_value "$src_dsn" "select coalesce(sum(calls), 0) from pg_stat_statements
                                      where userid = '$role'::regrole and query like '%pg_has_role(current_user%'")
fi
connection_breakdown >"$work/connections.txt"
# The state table every poll reads and writes, on the first replica: its size and churn.
state_table=$(pq_value "$(dsn_at "$rep_port" "$(rep_db 1)")" \
    "select format('%s live, %s dead rows, %s updates (%s HOT), %s', n_live_tup, n_dead_tup, n_tup_upd,
                   n_tup_hot_upd, pg_size_pretty(pg_total_relation_size(relid)))
     from pg_stat_user_tables where schemaname = '_syncset' and relname = 'tables'")
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status")
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$daemon_pid/status")
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$daemon_pid/status")
cpu_ticks=$(awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat")
cpu_s=$(awk -v t="$cpu_ticks" -v h="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / h }')

# `syncset status`, text and JSON, while the daemon runs: three of each, the median. After the
# idle window and the steady-state samples: its own connections are named syncset/replica:NAME.
t_status_from=$(now)
status_text_s=() status_json_s=()
for _ in 1 2 3; do
    t0=$(now)
    "$syncset" status "$config" >"$work/status.txt" 2>"$work/status.err" || die "syncset status failed"
    t1=$(now)
    status_text_s+=("$(seconds_between "$t0" "$t1")")
    t0=$(now)
    "$syncset" status --json "$config" >"$work/status.json" 2>"$work/status.err" ||
        die "syncset status --json failed"
    t1=$(now)
    status_json_s+=("$(seconds_between "$t0" "$t1")")
done
status_text=$(median3 "${status_text_s[@]}")
status_json=$(median3 "${status_json_s[@]}")
status_entries=$(jq '[.. | objects | select(has("phase"))] | length' "$work/status.json" 2>/dev/null || echo "?")
log "status: text $status_text s, json $status_json s, $status_entries entries"

stop_pid "$sampler_pid" TERM
sampler_pid=""
stop_pid "$daemon_pid" TERM
daemon_pid=""
if ((large_tables > 0)); then
    log "baseline again: psql pipe of the large tables"
    pipe_run
fi

# ---------------------------------------------------------------------------------------------
# Results

# Seconds from the daemon's first log line to the first (or last) line whose msg is MSG.
log_offset() {
    jq -r --arg m "$1" --arg which "$2" -s '
        def epoch: sub("\\.[0-9]+Z$"; "Z") as $s | (($s | fromdateiso8601)
                   + ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | ("0." + .) | tonumber));
        (.[0].ts | epoch) as $t0 | [.[] | select(.msg == $m) | .ts | epoch]
        | if length == 0 then "n/a" elif $which == "first" then (.[0] - $t0) else (.[-1] - $t0) end
        | if type == "number" then (. * 1000 | round / 1000) else . end' "$daemon_log" 2>/dev/null || echo "n/a"
}
log_plan_s=$(log_offset "schema change" first)
log_schema_s=$(log_offset "snapshot started" first)
log_snap_s=$(log_offset "snapshot done" last)

read -r _ _ _ pss_exec <<<"$pgss_src"
read -r src_calls src_rows src_blocks _ <<<"$pgss_src"
read -r rep_calls rep_rows rep_blocks _ <<<"$pgss_rep"
src_conn_sync=$(sample_max 2 "$t_ready" "$t_synced")
rep_conn_sync=$(sample_max 3 "$t_ready" "$t_synced")
src_conn_steady=$(sample_max 2 "$t_synced" "$t_status_from")
rep_conn_steady=$(sample_max 3 "$t_synced" "$t_status_from")
rep_conn_total=$(sample_max 4 "$t_synced" "$t_status_from")
src_conn_idle=$(sample_max 2 "$t_idle_from" "$t_idle_to")
rep_conn_idle=$(sample_max 3 "$t_idle_from" "$t_idle_to")
steady_samples=$(sample_count "$t_synced" "$t_status_from")
rss_sync_kb=$(sample_max 5 "$t_start" "$t_synced")
pipe_mean=0
if ((${#pipe_s[@]} > 0)); then
    pipe_mean=$(printf '%s\n' "${pipe_s[@]}" | awk '{ s += $1 } END { printf "%.3f", s / NR }')
fi
pipe_total=$(awk -v p="$pipe_mean" -v r="$replicas" 'BEGIN { printf "%.1f", p * r }')
large_mb=$(pq_value "$src_dsn" "select round(sum(pg_table_size(c.oid)) / 1048576.0) from pg_class c
                                where c.relname like 'big\\_%' and c.relkind = 'r'")
small_mb=$(pq_value "$src_dsn" "select round(sum(pg_table_size(c.oid)) / 1048576.0) from pg_class c
                                where c.relname like 's\\_%' and c.relkind = 'r'")

# Per table poll: the polls counted in the window, else one per pair a round.
poll_div=$((idle_rounds * pairs))
[[ $idle_polls =~ ^[0-9]+$ ]] && ((idle_polls > 0)) && poll_div=$idle_polls
conn_note="parallel $parallel, no connections.* keys in this build"
((have_conn_keys)) && conn_note="connections.source $conn_source, connections.replica $conn_replica, parallel $parallel"
row() { printf '%-48s %-22s %-14s %s\n' "$@"; }
{
    echo
    echo "syncset scale benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $syncset_version, $built_from"
    echo "  $tables small tables x $small_rows rows ($small_mb MB) + $large_tables x $large_rows rows ($large_mb MB) -> $replicas replicas = $pairs pairs"
    echo "  $conn_note; poll_interval $poll_interval; drift.interval $drift_interval; load at end $(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo
    row "figure" "measured" "target" "verdict"
    row "plan + schema step (start -> /readyz 200)" "$ready_s s" "<= $target_ready_s s" "$(pass_over "$ready_s" "$target_ready_s")"
    row "initial sync (start -> all pairs caught up)" "$sync_s s" "completes" "PASS"
    if ((large_tables > 0)); then
        row "  vs $replicas x psql pipe of the large tables" "$pipe_total s" "(ratio)" \
            "ratio $(ratio "$sync_s" "$pipe_total")"
    fi
    row "source connections, steady (max of $steady_samples)" "$src_conn_steady" "<= $conn_source" "$(pass_over "$src_conn_steady" "$conn_source")"
    row "replica connections per database, steady" "$rep_conn_steady" "<= $conn_replica" "$(pass_over "$rep_conn_steady" "$conn_replica")"
    row "  all replica databases, steady" "$rep_conn_total" "(info)" ""
    row "  during the initial sync: source / per replica" "$src_conn_sync / $rep_conn_sync" "(info)" ""
    row "  idle window: source / per replica" "$src_conn_idle / $rep_conn_idle" "(info)" ""
    row "RSS steady (VmRSS after the idle window)" "$(mb "$rss_kb") MB" "<= $target_rss_mb MB" "$(pass_over "$(mb "$rss_kb")" "$target_rss_mb")"
    row "RSS peak (VmHWM)" "$(mb "$hwm_kb") MB" "<= $target_rss_mb MB" "$(pass_over "$(mb "$hwm_kb")" "$target_rss_mb")"
    row "  peak RSS sampled during the initial sync" "$(mb "$rss_sync_kb") MB" "(info)" ""
    row "status, text ($pairs entries, median of 3)" "$status_text s" "<= $target_status_s s" "$(pass_over "$status_text" "$target_status_s")"
    row "status --json ($status_entries entries)" "$status_json s" "<= $target_status_s s" "$(pass_over "$status_json" "$target_status_s")"
    echo
    echo "idle window (no writes; $idle_rounds poll intervals = $idle_s s; drift scans started in it: $((drift_lines1 - drift_lines0))):"
    if [[ $idle_polls =~ ^[0-9]+$ ]] && ((idle_polls > 0)); then
        echo "  table polls in the window (counted as safe-bound reads): $idle_polls; $idle_rounds rounds would be $((idle_rounds * pairs));" \
            "one round of all $pairs pairs took about $(awk -v w="$idle_s" -v n="$idle_polls" -v p="$pairs" \
                'BEGIN { printf "%.1f", w * p / n }') s (poll_interval $poll_interval)"
    fi
    row "  per poll_interval of wall time / per table poll" "source" "per table poll" "replica (all dbs)"
    row "  statements (pg_stat_statements calls)" "$(per "$src_calls" "$idle_rounds")" "$(per "$src_calls" "$poll_div")" "$(per "$rep_calls" "$idle_rounds") ($(per "$rep_calls" "$poll_div") a pair)"
    row "  rows returned (pg_stat_statements rows)" "$(per "$src_rows" "$idle_rounds")" "$(per "$src_rows" "$poll_div")" "$(per "$rep_rows" "$idle_rounds") ($(per "$rep_rows" "$poll_div") a pair)"
    row "  buffers hit+read (pg_stat_statements)" "$(per "$src_blocks" "$idle_rounds")" "$(per "$src_blocks" "$poll_div")" "$(per "$rep_blocks" "$idle_rounds") ($(per "$rep_blocks" "$poll_div") a pair)"
    row "  source exec time ms (pg_stat_statements)" "$(per "$pss_exec" "$idle_rounds")" "$(per "$pss_exec" "$poll_div")" ""
    row "  user-table tuples read (pg_stat_user_tables)" "$(per "$((utup1 - utup0))" "$idle_rounds")" "$(per "$((utup1 - utup0))" "$poll_div")" ""
    row "  tup_returned / tup_fetched (pg_stat_database)" "$(per "$((ret1 - ret0))" "$idle_rounds") / $(per "$((fet1 - fet0))" "$idle_rounds")" "" ""
    row "  source transactions (xact_commit)" "$(per "$((xact1 - xact0))" "$idle_rounds")" "$(per "$((xact1 - xact0))" "$poll_div")" ""
    echo
    echo "more:"
    echo "  ready -> all caught up: $sync_after_ready_s s; psql pipe samples: ${pipe_s[*]:-none} s (before and after syncset)"
    echo "  from the daemon's log: start -> first 'schema change' (catalogs read, plan) $log_plan_s s; -> first 'snapshot started' $log_schema_s s; last 'snapshot done' at $log_snap_s s"
    echo "  first drift pass: $drift_done of $pairs pairs scanned $drift_s s after catch-up (waited at most $drift_wait s)"
    echo "  daemon at the end: $threads threads, CPU $cpu_s s (user + system) since start"
    echo "  _syncset.tables of $(rep_db 1) after the idle window: $state_table"
    echo "  connections after the idle window (server, database, application_name, count):"
    sed 's/^/    /' "$work/connections.txt"
    if ((have_pgss)); then
        echo "  source statements in the idle window, top by calls (calls | rows | buffers | exec ms | query, tables folded):"
        sed 's/^/    /' "$work/top_source_calls.txt"
        echo "  source statements in the idle window, top by rows:"
        sed 's/^/    /' "$work/top_source_rows.txt"
        echo "  source statements in the idle window, top by buffers:"
        sed 's/^/    /' "$work/top_source_blocks.txt"
        echo "  replica statements in the idle window, top by calls:"
        sed 's/^/    /' "$work/top_replica_calls.txt"
        echo "  replica statements in the idle window, top by buffers:"
        sed 's/^/    /' "$work/top_replica_blocks.txt"
    else
        echo "  (pg_stat_statements could not be loaded: statement figures are n/a)"
    fi
} | tee "$work/results.txt"
if [[ -n ${RESULTS:-} ]]; then
    cp "$work/results.txt" "$RESULTS"
fi
ok=1
