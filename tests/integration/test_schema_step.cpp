// Promise 4 (schema changes on the source do not stop replication) and promise 5 (bad input gets
// a clear error and changes nothing), through the real binary against real servers.
#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include "pg_fixture.hpp"
#include "syncset/state/store.hpp"

namespace syncset::test {
namespace {

class SchemaStep : public PgPairTest {
  protected:
    // A YAML single-quoted scalar: conninfo values may themselves be quoted ('...').
    static std::string yaml_quote(const std::string& text) {
        std::string out = "'";
        for (char c : text) {
            out += c;
            if (c == '\'') {
                out += '\'';
            }
        }
        return out + "'";
    }

    std::string config(const std::string& tables, const std::string& extra = "") {
        return "source:\n  dsn: " + yaml_quote(source_dsn()) +
               "\nreplicas:\n  - name: r\n    dsn: " + yaml_quote(replica_dsn()) +
               "\n    tables:\n" + tables + extra;
    }

    CliResult run_once(const std::string& yaml) {
        CliResult r = run_syncset({"run", "--once"}, yaml);
        return r;
    }

    // Column name, type and NOT NULL of a replica table, in column order.
    Rows replica_columns(const std::string& qualified) {
        return query_replica_rows(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull::text FROM pg_attribute "
            "WHERE attrelid = '" +
            qualified +
            "'::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum");
    }

    Rows replica_primary_key(const std::string& qualified) {
        return query_replica_rows(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
            "a.attnum = ANY(i.indkey) WHERE i.indrelid = '" +
            qualified +
            "'::regclass AND "
            "i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)");
    }

    // Everything `plan` could change, as one text per server: catalog rows and metadata rows.
    std::string fingerprint(Server server) {
        return query_value(server, R"(
            SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
              SELECT c.oid::text || c.relname || c.relkind::text FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                  AND n.nspname NOT LIKE 'pg_%temp%' 
              UNION ALL SELECT attrelid::text || attname || atttypid::text || attnotnull::text
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE attrelid >= 16384 AND n.nspname NOT LIKE 'pg_%temp%' 
              UNION ALL SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%temp%'
              UNION ALL SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE t.oid >= 16384 AND n.nspname NOT LIKE 'pg_%temp%' 
              UNION ALL SELECT enumlabel FROM pg_enum
            ) AS t(x))") +
               metadata_rows(server);
    }

    // The metadata schema's rows, when there is one: plan must not write them either.
    std::string metadata_rows(Server server) {
        if (query_value(server, "SELECT to_regclass('_syncset.tables') IS NOT NULL") != "t") {
            return {};
        }
        return query_value(server,
                           "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (SELECT t::text FROM "
                           "_syncset.tables t UNION ALL SELECT c::text FROM _syncset.columns c) "
                           "AS s(x)");
    }
};

TEST_F(SchemaStep, RunCreatesTablesTypesAndMetadataFromTheSourceCatalog) {
    exec_source(R"(
        CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE DOMAIN positive AS numeric(12,2) NOT NULL CHECK (VALUE > 0);
        CREATE TYPE pair AS (a int, b text);
        CREATE TABLE orders (
            id bigint GENERATED ALWAYS AS IDENTITY,
            region int NOT NULL,
            amount positive,
            moods mood[],
            p pair,
            email text,
            doubled numeric GENERATED ALWAYS AS (amount * 2) STORED,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (region, id));
        CREATE INDEX orders_updated_idx ON orders (updated_at);
        CREATE UNIQUE INDEX orders_email_key ON orders (email);)");
    CliResult r = run_once(config("      - source: public.orders\n        exclude: [email]\n"));
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(replica_columns("public.orders"),
              (Rows{{"id", "bigint", "true"},
                    {"region", "integer", "true"},
                    {"amount", "positive", "false"},
                    {"moods", "mood[]", "false"},
                    {"p", "pair", "false"},
                    {"doubled", "numeric", "false"},
                    {"updated_at", "timestamp with time zone", "true"}}));
    EXPECT_EQ(replica_primary_key("public.orders"), (Rows{{"region"}, {"id"}}));
    // Values come from the source: no identity, default or generation expression on the replica.
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass "
                          "AND (attidentity <> '' OR attgenerated <> '' OR atthasdef)"),
              "0");
    EXPECT_EQ(query_value(Server::replica, "SELECT enum_range(NULL::mood)::text"), "{sad,happy}");
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = "
                          "'positive'::regtype"),
              "CHECK ((VALUE > (0)::numeric))");
    EXPECT_EQ(query_value(Server::replica, "SELECT max(version) FROM _syncset.version"),
              std::to_string(state::known_schema_version()));
    // run --once copies too: the snapshot is done and the table follows the source.
    EXPECT_EQ(
        query_replica_rows("SELECT source_name, phase, pending, key::text FROM _syncset.tables"),
        (Rows{{"orders", "incremental", "none", "{region,id}"}}));
    EXPECT_EQ(query_replica_rows("SELECT attnum::text, source_name, target_name FROM "
                                 "_syncset.columns ORDER BY attnum"),
              (Rows{{"1", "id", "id"},
                    {"2", "region", "region"},
                    {"3", "amount", "amount"},
                    {"4", "moods", "moods"},
                    {"5", "p", "p"},
                    {"6", "email", std::nullopt},
                    {"7", "doubled", "doubled"},
                    {"8", "updated_at", "updated_at"}}));
}

TEST_F(SchemaStep, EachKindOfSourceDdlIsFollowedByTheNextRun) {
    exec_source(R"(
        CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b text, c text, m mood);
        INSERT INTO t VALUES (1, 10, 'b1', 'c1', 'sad'), (2, 20, 'b2', 'c2', 'happy');)");
    std::string yaml =
        config("      - source: public.t\n", "schema_changes: {drop_column: keep}\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    auto same = [&](const std::string& columns) {
        std::string q = "SELECT " + columns + " FROM t ORDER BY id";
        EXPECT_EQ(query_source_rows(q), query_replica_rows(q)) << columns;
    };
    same("id, a, b, c, m::text");

    // Added with values for the existing rows: the backfill brings them over.
    exec_source("ALTER TABLE t ADD COLUMN d timestamptz DEFAULT '2020-01-02 03:04:05+00'");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(replica_columns("t").back(), (Row{"d", "timestamp with time zone", "false"}));
    same("id, d");
    EXPECT_EQ(query_value(Server::replica, "SELECT pending FROM _syncset.tables"), "none");

    exec_source("ALTER TABLE t DROP COLUMN a");  // kept on the replica, made nullable
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(replica_columns("t")[1], (Row{"a", "integer", "false"}));

    exec_source("ALTER TABLE t RENAME COLUMN b TO b2");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(replica_columns("t")[2], (Row{"b2", "text", "false"}));
    same("id, b2");

    exec_source("ALTER TABLE t ALTER COLUMN id TYPE bigint");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(replica_columns("t")[0], (Row{"id", "bigint", "true"}));

    exec_source("ALTER TYPE mood ADD VALUE 'meh' AFTER 'sad'");
    exec_source("UPDATE t SET m = 'meh'");  // xmin cursor: the change is found
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(query_value(Server::replica, "SELECT enum_range(NULL::mood)::text"),
              "{sad,meh,happy}");
    same("id, m::text");

    exec_source("ALTER TABLE t DROP CONSTRAINT t_pkey, ADD PRIMARY KEY (id, b2)");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(replica_primary_key("t"), (Rows{{"id"}, {"b2"}}));
    same("id, b2, c, m::text, d");

    // Nothing left to do: planning again changes nothing.
    std::string before = fingerprint(Server::replica);
    CliResult plan = run_syncset({"plan"}, yaml);
    EXPECT_EQ(plan.exit_status, 0) << plan.err;
    EXPECT_EQ(fingerprint(Server::replica), before);
}

TEST_F(SchemaStep, TypeChangeWithoutAWorkingCastRebuildsTheColumn) {
    exec_source("CREATE TABLE t (id int PRIMARY KEY, v text)");
    std::string yaml = config("      - source: public.t\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_replica("INSERT INTO t VALUES (1, 'not a number')");  // stale replica value
    exec_source("ALTER TABLE t ALTER COLUMN v TYPE integer USING NULL");
    CliResult r = run_once(yaml);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(replica_columns("t")[1], (Row{"v", "integer", "false"}));
    EXPECT_EQ(query_replica_rows("SELECT id::text, v::text FROM t"), (Rows{{"1", std::nullopt}}));
    EXPECT_EQ(query_value(Server::replica, "SELECT pending FROM _syncset.tables"), "none");
}

TEST_F(SchemaStep, ExcludedColumnRenamedOnTheSourceNeverReachesTheReplica) {
    exec_source("CREATE TABLE users (id int PRIMARY KEY, name text, email text)");
    std::string yaml = config("      - source: public.users\n        exclude: [email]\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_source("ALTER TABLE users RENAME COLUMN email TO contact_email");
    for (int run = 0; run < 3; ++run) {
        CliResult r = run_once(yaml);
        ASSERT_EQ(r.exit_status, 0) << r.err;
        EXPECT_EQ(replica_columns("users"),
                  (Rows{{"id", "integer", "true"}, {"name", "text", "false"}}))
            << "run " << run;
    }
}

TEST_F(SchemaStep, OddIdentifiersAreQuotedEverywhere) {
    exec_source(R"(
        CREATE SCHEMA "My Schema";
        CREATE TYPE "My Schema"."Odd ""Type""" AS ENUM ('a b', 'c''d');
        CREATE TABLE "My Schema"."Order Items" (
            "select" int PRIMARY KEY,
            "Mixed Case" text,
            "with ""quote""" "My Schema"."Odd ""Type""",
            "ünïcødé" text);)");
    std::string yaml = config(
        "      - source: '\"My Schema\".\"Order Items\"'\n        target: '\"Другая "
        "схема\".\"Order Items\"'\n");
    CliResult r = run_once(yaml);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(replica_columns("\"Другая схема\".\"Order Items\""),
              (Rows{{"select", "integer", "true"},
                    {"Mixed Case", "text", "false"},
                    {"with \"quote\"", "\"My Schema\".\"Odd \"\"Type\"\"\"", "false"},
                    {"ünïcødé", "text", "false"}}));
    EXPECT_EQ(
        query_replica_rows("SELECT target_schema, target_name, source_schema FROM _syncset.tables"),
        (Rows{{"Другая схема", "Order Items", "My Schema"}}));
}

TEST_F(SchemaStep, PlanPrintsTheWorkAndChangesNothingOnEitherSide) {
    exec_source("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'x')");
    std::string yaml = config("      - source: public.t\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_source("ALTER TABLE t ADD COLUMN w int; CREATE TABLE u (id int PRIMARY KEY)");
    std::string yaml2 = config("      - source: public.t\n      - source: public.u\n");
    std::string source_before = fingerprint(Server::source);
    std::string replica_before = fingerprint(Server::replica);
    const std::string rows = "SELECT * FROM t ORDER BY id";
    Rows source_rows = query_source_rows(rows);
    Rows replica_rows = query_replica_rows(rows);
    CliResult r = run_syncset({"plan"}, yaml2);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_NE(r.out.find("ALTER TABLE \"public\".\"t\" ADD COLUMN \"w\" integer;"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("CREATE TABLE \"public\".\"u\""), std::string::npos) << r.out;
    EXPECT_EQ(fingerprint(Server::source), source_before);
    EXPECT_EQ(fingerprint(Server::replica), replica_before);
    EXPECT_EQ(query_source_rows(rows), source_rows);
    EXPECT_EQ(query_replica_rows(rows), replica_rows);
}

TEST_F(SchemaStep, PlanOnAFreshReplicaCreatesNoMetadataSchema) {
    exec_source("CREATE TABLE t (id int PRIMARY KEY)");
    CliResult r = run_syncset({"plan"}, config("      - source: public.t\n"));
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM pg_namespace WHERE nspname = '_syncset'"),
              "0");
}

TEST_F(SchemaStep, MissingTableMisspeltColumnAndNoKeyAreReportedTogetherAndChangeNothing) {
    exec_source("CREATE TABLE orders (id int PRIMARY KEY, email text); CREATE TABLE nokey (a int)");
    std::string yaml = config(
        "      - source: public.ordres\n"
        "      - source: public.orders\n        target: x.orders\n        exclude: [emial]\n"
        "      - source: public.nokey\n"
        "      - source: public.orders\n        target: y.orders\n        where: \"stauts = 1\"\n");
    std::string replica_before = fingerprint(Server::replica);
    for (const char* command : {"plan", "run"}) {
        CliResult r = run_syncset({command}, yaml);
        EXPECT_EQ(r.exit_status, 2) << command;
        EXPECT_NE(r.err.find(":7:9: replicas[0].tables[0].source: table public.ordres does not "
                             "exist on the source (did you mean public.orders?)"),
                  std::string::npos)
            << r.err;
        EXPECT_NE(r.err.find(":8:9: replicas[0].tables[1].exclude: column 'emial' does not exist "
                             "in source table public.orders"),
                  std::string::npos)
            << r.err;
        EXPECT_NE(r.err.find(":11:9: replicas[0].tables[2]: source table public.nokey has no "
                             "primary key"),
                  std::string::npos)
            << r.err;
        EXPECT_NE(r.err.find(":12:9: replicas[0].tables[3].where: row filter is not valid for "
                             "source table public.orders: column \"stauts\" does not exist"),
                  std::string::npos)
            << r.err;
        EXPECT_EQ(fingerprint(Server::replica), replica_before) << command;
    }
}

TEST_F(SchemaStep, DroppedSourceTableStopsAloneAndKeepsItsReplicaData) {
    exec_source("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
    std::string yaml = config("      - source: public.a\n      - source: public.b\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_replica("INSERT INTO a VALUES (1), (2)");
    exec_source("DROP TABLE a; ALTER TABLE b ADD COLUMN v text");
    CliResult r = run_once(yaml);
    EXPECT_EQ(r.exit_status, 4) << r.err;  // some tables failed, others succeeded
    EXPECT_NE(r.err.find("source table public.a no longer exists"), std::string::npos) << r.err;
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM a"), "2");
    EXPECT_EQ(replica_columns("b").back(), (Row{"v", "text", "false"}));
    CliResult status = run_syncset({"status"}, yaml);
    EXPECT_EQ(status.exit_status, 0) << status.err;
    EXPECT_NE(status.out.find("public.a <- public.a: stopped"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("    stopped: source table public.a no longer exists"),
              std::string::npos)
        << status.out;
    // Restored: the table goes on.
    exec_source("CREATE TABLE a (id int PRIMARY KEY)");
    EXPECT_EQ(run_once(yaml).exit_status, 0);
}

TEST_F(SchemaStep, PolicyStopHaltsOnlyThatTableWithTheOptionToSet) {
    exec_source("CREATE TABLE a (id int PRIMARY KEY, x int); CREATE TABLE b (id int PRIMARY KEY)");
    std::string yaml = config("      - source: public.a\n      - source: public.b\n",
                              "schema_changes: {type_change: stop}\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_source("ALTER TABLE a ALTER COLUMN x TYPE text");
    CliResult r = run_once(yaml);
    EXPECT_EQ(r.exit_status, 4);
    EXPECT_NE(r.err.find("column 'x' of source table public.a changed type from integer to text "
                         "and schema_changes.type_change is 'stop'; set it to apply"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(replica_columns("a")[1], (Row{"x", "integer", "false"}));
}

TEST_F(SchemaStep, DaemonsStartingTogetherMigrateOnceWithoutErrors) {
    exec_source("CREATE TYPE e AS ENUM ('x'); CREATE TABLE t (id int PRIMARY KEY, v e)");
    std::string yaml = config("      - source: public.t\n");
    for (const CliResult& r : run_syncset_concurrently(4, {"run", "--once"}, yaml)) {
        EXPECT_EQ(r.exit_status, 0) << r.err;
    }
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM _syncset.tables"), "1");
}

// A keyless (mode: mirror) replica table that already holds rows but has no state (made by
// hand, or its state was lost) is adopted. A keyless re-copy can only append, and the adopt
// re-copy used to commit every row twice (201 rows here) before the next refresh replaced them,
// as did the backfill after an added column. A statement trigger on the replica table records
// its row count after every insert: it must never exceed the source's.
TEST_F(SchemaStep, ExistingKeylessReplicaTableIsReloadedWithoutEverHoldingDuplicateRows) {
    exec_source(
        "CREATE TABLE logs (at int, msg text);"
        "INSERT INTO logs SELECT g, 'm' || g FROM generate_series(1, 100) g");
    exec_replica(R"(
        CREATE TABLE logs (at int, msg text);
        INSERT INTO logs SELECT g, 'm' || g FROM generate_series(1, 100) g;
        INSERT INTO logs VALUES (0, 'only on the replica');
        CREATE TABLE row_counts (n bigint);
        CREATE FUNCTION note_row_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO public.row_counts SELECT count(*) FROM public.logs;
            RETURN NULL;
        END $$;
        CREATE TRIGGER note_row_count AFTER INSERT ON logs
            FOR EACH STATEMENT EXECUTE FUNCTION note_row_count();)");
    const std::string yaml = config("      - source: public.logs\n        mode: mirror\n");
    CliResult r = run_once(yaml);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_NE(r.err.find("adopt existing table public.logs (no key: the next full refresh "
                         "replaces its rows)"),
              std::string::npos)
        << r.err;
    const std::string rows = "SELECT at::text, msg FROM logs ORDER BY at";
    EXPECT_EQ(query_replica_rows(rows), query_source_rows(rows));
    EXPECT_EQ(query_value(Server::replica, "SELECT max(n) FROM row_counts"), "100")
        << "the replica table held more rows than the source has";

    exec_replica("TRUNCATE row_counts");
    exec_source("ALTER TABLE logs ADD COLUMN note text; UPDATE logs SET note = 'n' || at");
    r = run_once(yaml);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    const std::string with_note = "SELECT at::text, msg, note FROM logs ORDER BY at";
    EXPECT_EQ(query_replica_rows(with_note), query_source_rows(with_note));
    EXPECT_EQ(query_value(Server::replica, "SELECT max(n) FROM row_counts"), "100")
        << "the replica table held more rows than the source has";
}

}  // namespace
}  // namespace syncset::test
