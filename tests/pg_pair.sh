#!/usr/bin/env bash
# Throwaway PostgreSQL 15 pair for tests and demos: a *source* and a *replica* server on
# 127.0.0.1, each on a free port, with fresh data directories.
#
#   tests/pg_pair.sh run -- CMD [ARGS...]   start both, run CMD with the SYNCSET_TEST_* variables
#                                           set, then always stop both and delete everything;
#                                           exits with CMD's status
#   tests/pg_pair.sh start DIR              start both with data under DIR, write DIR/env.sh,
#                                           leave them running
#   tests/pg_pair.sh stop DIR               stop both and delete DIR
#
# Exported to CMD (and written to DIR/env.sh):
#   SYNCSET_TEST_SOURCE_DSN, SYNCSET_TEST_REPLICA_DSN  "host=127.0.0.1 port=N user=postgres dbname=postgres"
#   SYNCSET_TEST_SOURCE_PORT, SYNCSET_TEST_REPLICA_PORT
#   SYNCSET_TEST_PG_CTL   a script: `$SYNCSET_TEST_PG_CTL source|replica stop|start|restart|status [MODE]`
#                         (MODE is pg_ctl's shutdown mode, default fast; `immediate` simulates a crash)
#
# The superuser `postgres` logs in over TCP without a password; every other role must use
# SCRAM, so tests can create password roles and check that passwords never leak.
# initdb and postgres refuse to run as root: as root the servers run as the system user
# `syncset-pg` (created when missing).
set -euo pipefail

readonly pg_bin=${SYNCSET_PG_BIN:-/usr/lib/postgresql/15/bin}
readonly pg_os_user=syncset-pg
readonly marker=.syncset-pg-pair
readonly tmp_base=${TMPDIR:-/tmp}
readonly servers=(source replica)

declare -A port=()
child=""
run_root=""

die() {
    echo "pg_pair: $*" >&2
    exit 1
}

usage() {
    cat >&2 <<'EOF'
usage: tests/pg_pair.sh run -- CMD [ARGS...]
       tests/pg_pair.sh start DIR
       tests/pg_pair.sh stop DIR
EOF
    exit 2
}

# Single-quotes a value for bash (env.sh) and for postgresql.conf-style strings.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# Runs a command as the OS user that owns the servers. From / so that an unreadable
# working directory (for example /root) does not bother initdb or postgres.
as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u "$pg_os_user" -- "$@")
    else
        "$@"
    fi
}

ensure_pg_user() {
    ((EUID == 0)) || return 0
    id -u "$pg_os_user" >/dev/null 2>&1 && return 0
    # A concurrent run may create it at the same moment: only fail if it still is missing.
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        --user-group --comment "syncset test PostgreSQL servers" "$pg_os_user" 2>/dev/null ||
        id -u "$pg_os_user" >/dev/null 2>&1 ||
        die "could not create the system user $pg_os_user"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below the Linux ephemeral range (32768+), so outgoing connections do not collide with it.
pick_port() {
    local candidate _
    for _ in $(seq 200); do
        candidate=$((20000 + RANDOM % 12000))
        if ! port_in_use "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    die "found no free TCP port on 127.0.0.1"
}

# Start time of a process (field 22 of /proc/PID/stat), to tell a live owner from a reused pid.
proc_start_time() {
    local stat fields
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    read -ra fields <<<"${stat##*) }"
    echo "${fields[19]}"
}

write_conf() {
    local data=$1 data_root=$2 listen_port=$3 sockets=$2
    # A unix socket path is limited to 107 bytes; TCP is what everybody uses anyway.
    if ((${#data_root} + 16 > 100)); then
        sockets=""
    fi
    cat >"$data/syncset_test.conf" <<EOF
# Written by tests/pg_pair.sh
listen_addresses = '127.0.0.1'
port = $listen_port
unix_socket_directories = $(conf_quote "$sockets")
max_connections = 200
shared_buffers = 128MB
fsync = on
password_encryption = 'scram-sha-256'
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
EOF
}

write_hba() {
    cat >"$1/pg_hba.conf" <<'EOF'
# Written by tests/pg_pair.sh. First match wins: the superuser needs no password,
# every other role must authenticate with SCRAM.
local   all   all                       trust
host    all   postgres   127.0.0.1/32   trust
host    all   postgres   ::1/128        trust
host    all   all        127.0.0.1/32   scram-sha-256
host    all   all        ::1/128        scram-sha-256
EOF
}

# --no-sync only skips flushing the new files at the end of initdb (seconds on a busy disk);
# the server itself runs with fsync on. Losing them would take an OS crash, which also
# loses the throwaway pair.
init_server() {
    local name=$1 data_root=$2 data="$2/$1"
    if ! as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C --no-sync >"$data_root/initdb-$name.log" 2>&1; then
        echo "pg_pair: initdb of the $name server failed:" >&2
        tail -n 30 "$data_root/initdb-$name.log" >&2
        return 1
    fi
    write_hba "$data"
    echo "include 'syncset_test.conf'" >>"$data/postgresql.conf"
}

# Starts one server on a free port; retries with another port when it lost a race for one.
start_server() {
    local name=$1 data_root=$2 data="$2/$1" candidate _
    for _ in 1 2 3 4 5 6 7 8; do
        candidate=$(pick_port)
        write_conf "$data" "$data_root" "$candidate"
        rm -f "$data/server.log"
        if as_pg "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null 2>&1; then
            port[$name]=$candidate
            return 0
        fi
        if ! grep -qE 'could not bind|could not create any TCP/IP sockets|Address already in use' \
            "$data/server.log" 2>/dev/null; then
            break
        fi
    done
    echo "pg_pair: the $name server did not start; end of $data/server.log:" >&2
    tail -n 30 "$data/server.log" >&2 2>/dev/null || true
    return 1
}

stop_server() {
    local data=$1 pid
    [[ -f $data/postmaster.pid ]] || return 0
    as_pg "$pg_bin/pg_ctl" -D "$data" -w -t 30 -m fast stop >/dev/null 2>&1 && return 0
    as_pg "$pg_bin/pg_ctl" -D "$data" -w -t 30 -m immediate stop >/dev/null 2>&1 && return 0
    # Last resort, and only if that pid really is this server (postgres runs in its data dir).
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ && $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$data" ]]; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

stop_pair() {
    local data_root=$1 name
    for name in "${servers[@]}"; do
        stop_server "$data_root/$name" || true
    done
}

# The control script the tests use to stop, start or restart one server of the pair.
write_ctl() {
    local pair_dir=$1 data_root=$2 run_as=""
    ((EUID == 0)) && run_as=$pg_os_user
    cat >"$pair_dir/pg_ctl.sh" <<EOF
#!/usr/bin/env bash
# Generated by tests/pg_pair.sh for the servers under $data_root.
# usage: pg_ctl.sh source|replica stop|start|restart|status [fast|immediate|smart]
set -euo pipefail
pg_bin=$(sh_quote "$pg_bin")
data_root=$(sh_quote "$data_root")
run_as=$(sh_quote "$run_as")
EOF
    cat >>"$pair_dir/pg_ctl.sh" <<'EOF'
usage() {
    echo "usage: $0 source|replica stop|start|restart|status [fast|immediate|smart]" >&2
    exit 2
}
(($# == 2 || $# == 3)) || usage
case $1 in source | replica) ;; *) usage ;; esac
case ${3:-fast} in fast | immediate | smart) ;; *) usage ;; esac
data="$data_root/$1"
# Generous: a loaded machine can take long over a shutdown checkpoint, and a timed-out
# restart leaves the server down for every test after it.
args=(-D "$data" -w -t 300)
case $2 in
    stop | restart) args+=(-m "${3:-fast}" "$2") ;;
    start) args+=(-l "$data/server.log" start) ;;
    status) args+=(status) ;;
    *) usage ;;
esac
[[ $2 == restart ]] && args=(-l "$data/server.log" "${args[@]}")
run_pg_ctl() {
    if [[ -n $run_as && $(id -un) != "$run_as" ]]; then
        ((EUID == 0)) || { echo "$0: must run as root or $run_as" >&2; exit 1; }
        (cd / && runuser -u "$run_as" -- "$pg_bin/pg_ctl" "$@")
    else
        "$pg_bin/pg_ctl" "$@"
    fi
}
run_pg_ctl "${args[@]}" && exit 0
status=$?
[[ $2 == start || $2 == restart ]] || exit "$status"
# After an immediate stop, backends that have not exited yet keep the old shared memory
# attached and a new postmaster refuses to start: try again for a while.
for _ in $(seq 60); do
    sleep 1
    run_pg_ctl -D "$data" -w -t 300 status >/dev/null 2>&1 && exit 0
    run_pg_ctl -D "$data" -l "$data/server.log" -w -t 300 start >/dev/null 2>&1 && exit 0
done
exit "$status"
EOF
    chmod 755 "$pair_dir/pg_ctl.sh"
}

dsn() { echo "host=127.0.0.1 port=${port[$1]} user=postgres dbname=postgres"; }

export_env() {
    export SYNCSET_TEST_SOURCE_DSN SYNCSET_TEST_REPLICA_DSN SYNCSET_TEST_PG_CTL
    export SYNCSET_TEST_SOURCE_PORT SYNCSET_TEST_REPLICA_PORT
    SYNCSET_TEST_SOURCE_DSN=$(dsn source)
    SYNCSET_TEST_REPLICA_DSN=$(dsn replica)
    SYNCSET_TEST_SOURCE_PORT=${port[source]}
    SYNCSET_TEST_REPLICA_PORT=${port[replica]}
    SYNCSET_TEST_PG_CTL="$1/pg_ctl.sh"
}

write_env_file() {
    local name
    {
        echo "# Written by tests/pg_pair.sh; stop with: tests/pg_pair.sh stop $(sh_quote "$1")"
        for name in SYNCSET_TEST_SOURCE_DSN SYNCSET_TEST_REPLICA_DSN SYNCSET_TEST_SOURCE_PORT \
            SYNCSET_TEST_REPLICA_PORT SYNCSET_TEST_PG_CTL; do
            echo "export $name=$(sh_quote "${!name}")"
        done
    } >"$1/env.sh"
}

# Creates and starts both servers. PAIR_DIR gets the control script; DATA_ROOT the data
# directories and the sockets; both must already exist (the same directory in `run`).
create_pair() {
    local pair_dir=$1 data_root=$2 name pids=() pid failed=0
    [[ -x $pg_bin/initdb ]] || die "no PostgreSQL 15 in $pg_bin (run scripts/install-deps.sh)"
    if ((EUID == 0)); then
        chown "$pg_os_user:" "$data_root" || return 1
    fi
    chmod 700 "$data_root" || return 1
    for name in "${servers[@]}"; do
        init_server "$name" "$data_root" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
    ((failed == 0)) || return 1
    for name in "${servers[@]}"; do
        start_server "$name" "$data_root" || return 1
    done
    write_ctl "$pair_dir" "$data_root"
    export_env "$pair_dir"
}

remove_pair_dir() {
    local dir=$1 data_root
    [[ -f $dir/$marker ]] || return 0
    data_root=$(cat "$dir/$marker")
    [[ -n $data_root ]] || data_root=$dir
    stop_pair "$data_root"
    if [[ $data_root != "$dir" && -f $data_root/$marker ]]; then
        rm -rf "$data_root"
    fi
    rm -rf "$dir"
}

# `run` directories whose owner died without cleaning up (kill -9, a lost CI runner):
# stop their servers and delete them, so they neither pile up nor hold memory.
reap_stale_runs() {
    local dir pid started
    for dir in "$tmp_base"/syncset-pg.*; do
        [[ -f $dir/$marker && -f $dir/owner ]] || continue
        read -r pid started <"$dir/owner" 2>/dev/null || continue
        [[ $(proc_start_time "$pid" 2>/dev/null) == "$started" ]] && continue
        echo "pg_pair: removing $dir left by a previous run (pid $pid)" >&2
        remove_pair_dir "$dir" 2>/dev/null || true
    done
}

on_run_exit() {
    local status=$?
    trap - EXIT INT TERM HUP
    if [[ -n $run_root ]]; then
        remove_pair_dir "$run_root" || true
    fi
    exit "$status"
}

on_run_signal() {
    local sig=$1 code=$2
    # Let CMD finish its own cleanup first, then remove the servers (EXIT trap).
    if [[ -n $child ]]; then
        kill -s "$sig" "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
        child=""
    fi
    exit $((128 + code))
}

cmd_run() {
    [[ ${1:-} == -- ]] && shift
    (($# > 0)) || usage
    ensure_pg_user
    reap_stale_runs
    trap on_run_exit EXIT
    trap 'on_run_signal INT 2' INT
    trap 'on_run_signal TERM 15' TERM
    trap 'on_run_signal HUP 1' HUP
    run_root=$(mktemp -d "$tmp_base/syncset-pg.XXXXXXXX")
    echo "$$ $(proc_start_time $$)" >"$run_root/owner"
    echo "$run_root" >"$run_root/$marker"
    create_pair "$run_root" "$run_root" || exit 1
    echo "pg_pair: source on 127.0.0.1:${port[source]}, replica on 127.0.0.1:${port[replica]}" >&2

    # In the background so a signal to this script is handled at once (bash runs traps only
    # between foreground commands); keep stdin, and undo bash's SIGINT/SIGQUIT ignore for
    # background jobs so Ctrl-C reaches CMD as usual.
    (
        trap - INT QUIT
        exec "$@"
    ) <&0 &
    child=$!
    local status=0
    wait "$child" || status=$?
    child=""
    exit "$status"
}

cmd_start() {
    (($# == 1)) || usage
    local dir=$1 data_root
    ensure_pg_user
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    if [[ -f $dir/$marker ]]; then
        echo "pg_pair: replacing the previous pair in $dir" >&2
        remove_pair_dir "$dir"
        mkdir -p "$dir"
    elif [[ -n $(ls -A "$dir") ]]; then
        die "$dir is not empty and was not made by pg_pair.sh; refusing to touch it"
    fi
    data_root=$dir
    if ((EUID == 0)) && ! runuser -u "$pg_os_user" -- test -x "$dir"; then
        # The server user cannot reach DIR (say, under /root): keep the data in /tmp.
        data_root=$(mktemp -d "$tmp_base/syncset-pg-data.XXXXXXXX")
        echo "$data_root" >"$data_root/$marker"
        echo "pg_pair: $pg_os_user cannot reach $dir; data is in $data_root" >&2
    fi
    echo "$data_root" >"$dir/$marker"
    trap 'remove_pair_dir "$dir"' EXIT
    create_pair "$dir" "$data_root" || exit 1
    trap - EXIT
    write_env_file "$dir"
    cat <<EOF
SYNCSET_TEST_SOURCE_DSN="$SYNCSET_TEST_SOURCE_DSN"
SYNCSET_TEST_REPLICA_DSN="$SYNCSET_TEST_REPLICA_DSN"
Environment: source $dir/env.sh
Stop with:   tests/pg_pair.sh stop $dir
EOF
}

cmd_stop() {
    (($# == 1)) || usage
    local dir=$1
    if [[ ! -e $dir ]]; then
        echo "pg_pair: $dir does not exist; nothing to stop" >&2
        return 0
    fi
    [[ -f $dir/$marker ]] || die "$dir was not made by pg_pair.sh; refusing to delete it"
    remove_pair_dir "$dir"
}

case ${1:-} in
    run) shift && cmd_run "$@" ;;
    start) shift && cmd_start "$@" ;;
    stop) shift && cmd_stop "$@" ;;
    *) usage ;;
esac
