// Promise 2 with identifiers that break when pasted unquoted or quoted once for the whole name:
// schema, table and column names with mixed case, spaces, dots, double quotes, reserved words and
// unicode, a renamed target table and a renamed column, through snapshot and incremental copy.
#include <gtest/gtest.h>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

class CopyIdentifiers : public CopyTest {};

constexpr std::string_view k_odd_source = R"sql("My ""Odd"" Schema"."Order Items.ü")sql";
constexpr std::string_view k_odd_target = R"sql("Другая схема"."Target ""T"" table")sql";

TEST_F(CopyIdentifiers, OddSchemaTableAndColumnNamesCopyIntoARenamedTarget) {
    exec_source(R"sql(
        CREATE SCHEMA "My ""Odd"" Schema";
        CREATE TABLE "My ""Odd"" Schema"."Order Items.ü" (
            "select" int,
            "from" text,
            "Mixed Case" text,
            "with ""quote""" text,
            "ünïcødé ü" text,
            "a.b" text,
            " lead space" int,
            "Upd At" timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY ("select", "from"));
        INSERT INTO "My ""Odd"" Schema"."Order Items.ü"
               ("select", "from", "Mixed Case", "with ""quote""", "ünïcødé ü", "a.b", " lead space")
            SELECT g, 'k' || g % 3, 'M' || g, 'q"' || g, 'ü' || g, 'secret ' || g, g
            FROM generate_series(1, 60) g;
        CREATE TABLE public."user" ("order" int PRIMARY KEY, "User" text, "group" text);
        INSERT INTO public."user" SELECT g, 'u' || g, 'g' || g FROM generate_series(1, 30) g;
    )sql");
    const std::string yaml = config(
        "      - source: '\"My \"\"Odd\"\" Schema\".\"Order Items.ü\"'\n"
        "        target: '\"Другая схема\".\"Target \"\"T\"\" table\"'\n"
        "        exclude: ['a.b']\n"
        "        rename: {'Mixed Case': 'Renamed \"Col\"', ' lead space': 'limit'}\n"
        "        cursor: 'Upd At'\n"
        "        batch_rows: 7\n        snapshot_chunk_rows: 7\n"
        "      - source: 'public.\"user\"'\n"
        "        batch_rows: 7\n        snapshot_chunk_rows: 7\n");
    const std::string source_query =
        "SELECT \"select\", \"from\", \"Mixed Case\", \"with \"\"quote\"\"\", \"ünïcødé ü\", "
        "\" lead space\", \"Upd At\" FROM " +
        std::string(k_odd_source) + " ORDER BY 1, 2";
    const std::string replica_query =
        "SELECT \"select\", \"from\", \"Renamed \"\"Col\"\"\", \"with \"\"quote\"\"\", "
        "\"ünïcødé ü\", \"limit\", \"Upd At\" FROM " +
        std::string(k_odd_target) + " ORDER BY 1, 2";
    const std::string user_query =
        "SELECT \"order\", \"User\", \"group\" FROM public.\"user\" ORDER BY 1";

    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    expect_same_rows(source_query, replica_query);
    expect_same_rows(user_query, user_query);
    EXPECT_EQ(query_replica_rows("SELECT attname::text FROM pg_attribute WHERE attrelid = '" +
                                 std::string(k_odd_target) +
                                 "'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"),
              (Rows{{"select"},
                    {"from"},
                    {"Renamed \"Col\""},
                    {"with \"quote\""},
                    {"ünïcødé ü"},
                    {"limit"},
                    {"Upd At"}}));

    exec_source(R"sql(
        UPDATE "My ""Odd"" Schema"."Order Items.ü"
            SET "Mixed Case" = "Mixed Case" || ' "upd"', "Upd At" = now() WHERE "select" % 4 = 0;
        INSERT INTO "My ""Odd"" Schema"."Order Items.ü" ("select", "from", "Mixed Case")
            SELECT g, 'k''' || g, 'new ' || g FROM generate_series(61, 75) g;
        UPDATE public."user" SET "User" = "User" || '!' WHERE "order" % 3 = 0;
        INSERT INTO public."user" SELECT g, 'u' || g, NULL FROM generate_series(31, 40) g;
    )sql");
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    expect_same_rows(source_query, replica_query);
    expect_same_rows(user_query, user_query);
    // The excluded column's values never arrived under any name.
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM " + std::string(k_odd_target) +
                                               " AS t WHERE t::text LIKE '%secret%'"),
              "0");
}

}  // namespace
}  // namespace syncset::test
