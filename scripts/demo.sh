#!/usr/bin/env bash
# A local demo: two PostgreSQL servers (tests/pg_pair.sh) with a `demo` database each, a few
# thousand rows on the source, a config replicating part of them, and syncset run on it.
# Safe to run again: it reuses running servers and existing demo data.
#
#   scripts/demo.sh
#   tests/pg_pair.sh stop .demo      # when done
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

readonly pg_bin=/usr/lib/postgresql/15/bin
readonly demo_dir=.demo
readonly build_dir=${BUILD_DIR:-build}
readonly syncset="$build_dir/syncset"

say() { printf '\n==> %s\n' "$*"; }

pair_is_up() {
    [[ -f $demo_dir/env.sh ]] || return 1
    (
        # shellcheck source=/dev/null
        . "$demo_dir/env.sh"
        "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$SYNCSET_TEST_SOURCE_PORT" &&
            "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$SYNCSET_TEST_REPLICA_PORT"
    )
}

psql_at() {
    local port=$1 db=$2
    shift 2
    "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$port user=postgres dbname=$db" "$@"
}

say "dependencies"
scripts/install-deps.sh

say "build ($build_dir)"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j2 --target syncset

say "PostgreSQL pair ($demo_dir)"
if pair_is_up; then
    echo "reusing the servers already running in $demo_dir"
else
    tests/pg_pair.sh start "$demo_dir"
fi
# shellcheck source=/dev/null
. "$demo_dir/env.sh"
source_port=$SYNCSET_TEST_SOURCE_PORT
replica_port=$SYNCSET_TEST_REPLICA_PORT

say "demo data"
for port in "$source_port" "$replica_port"; do
    if [[ -z $(psql_at "$port" postgres -At -c "select 1 from pg_database where datname = 'demo'") ]]; then
        psql_at "$port" postgres -c "create database demo"
    fi
done
psql_at "$source_port" demo <<'SQL'
set client_min_messages = warning;
create table if not exists public.customers (
    id         bigint primary key,
    name       text not null,
    email      text,
    updated_at timestamptz not null default now()
);
create table if not exists public.orders (
    id          bigserial primary key,
    customer_id bigint not null,
    amount      numeric(12,2) not null,
    status      text not null,
    note        text,
    updated_at  timestamptz not null default now()
);
insert into public.customers (id, name, email)
select i, 'customer ' || i, 'customer' || i || '@example.com'
from generate_series(1, 1000) as i
where not exists (select 1 from public.customers);
insert into public.orders (customer_id, amount, status, note)
select 1 + (i * 7919) % 1000,
       round((5 + (i * 37) % 995 + (i % 100) / 100.0)::numeric, 2),
       (array['draft', 'paid', 'shipped', 'cancelled'])[1 + i % 4],
       case when i % 10 = 0 then 'gift wrap' end
from generate_series(1, 5000) as i
where not exists (select 1 from public.orders);
SQL
psql_at "$source_port" demo -At -F ' ' -c \
    "select 'source: customers', count(*) from public.customers union all
     select 'source: orders', count(*) from public.orders"

say "config ($demo_dir/syncset.yaml)"
cat >"$demo_dir/syncset.yaml" <<EOF
# Written by scripts/demo.sh
source:
  dsn: "host=127.0.0.1 port=$source_port user=postgres dbname=demo"

replicas:
  - name: analytics
    dsn: "host=127.0.0.1 port=$replica_port user=postgres dbname=demo"
    tables:
      - source: public.customers
        exclude: [email]
        cursor: updated_at
      - source: public.orders
        columns: [id, customer_id, amount, status, updated_at]
        cursor: updated_at
        where: "status <> 'draft'"
EOF
cat "$demo_dir/syncset.yaml"

say "$syncset validate $demo_dir/syncset.yaml"
"$syncset" validate "$demo_dir/syncset.yaml"

say "$syncset plan $demo_dir/syncset.yaml"
"$syncset" plan "$demo_dir/syncset.yaml"

say "$syncset run --once $demo_dir/syncset.yaml"
"$syncset" run --once "$demo_dir/syncset.yaml"

say "source vs replica"
for table in public.customers public.orders; do
    psql_at "$source_port" demo -At -F ' ' -c "select 'source:  $table', count(*) from $table"
    psql_at "$replica_port" demo -At -F ' ' -c "select 'replica: $table', count(*) from $table"
done
echo "(orders: the replica holds only rows with status <> 'draft'; customers: no email column)"

say "$syncset status $demo_dir/syncset.yaml"
"$syncset" status "$demo_dir/syncset.yaml"

say "done"
cat <<EOF
Servers keep running. Keep the replica following the source with:
  $syncset run $demo_dir/syncset.yaml
Connect with:
  psql "host=127.0.0.1 port=$source_port user=postgres dbname=demo"
  psql "host=127.0.0.1 port=$replica_port user=postgres dbname=demo"
Stop them with:
  tests/pg_pair.sh stop $demo_dir
EOF
