// Promise 2 at batch boundaries: keyset paging continues after the last key of a batch, read
// back from the COPY text of that row. Keys whose text needs escaping (tab, newline, backslash,
// a literal \N), that sort differently under a non-C collation, or that are typed (timestamptz,
// uuid, numeric) must neither skip nor repeat a row, in the snapshot or through cursor ties.
#include <gtest/gtest.h>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

class CopyKeys : public CopyTest {};

// Key texts that survive COPY text only when decoded correctly.
constexpr std::string_view k_odd_keys = R"sql(
    VALUES (E'tab\tkey'), (E'new\nline'), (E'back\\slash'), (E'\\N'), ('N'), (''), (' '),
           ('quote''s'), ('"dq"'), ('ü'), ('u'), ('U'), ('ä'), ('a'), ('B'), ('b'), ('中文'),
           ('🎉'), (E'cr\r'), ('a,b'), ('(x)'), (E'\\\\'), ('{}'), (E'\\.'), (E'\\x41'), ('z')
)sql";

TEST_F(CopyKeys, OddKeyValuesPageWithoutSkippingOrRepeating) {
    exec_source(R"sql(
        CREATE TABLE keys_c (k text, n int, v text, updated_at timestamptz NOT NULL,
                             PRIMARY KEY (k, n));
        CREATE TABLE keys_icu (k text COLLATE "en-x-icu" PRIMARY KEY, v text,
                               updated_at timestamptz NOT NULL);
        CREATE TABLE keys_typed (ts timestamptz, u uuid, num numeric, v text,
                                 PRIMARY KEY (ts, u, num));)sql");
    exec_source("INSERT INTO keys_c SELECT k, n, k || n, '2024-01-01 00:00+00' FROM (" +
                std::string(k_odd_keys) + ") AS keys(k), generate_series(1, 3) n");
    exec_source("INSERT INTO keys_icu SELECT k, 'v', '2024-01-01 00:00+00' FROM (" +
                std::string(k_odd_keys) + ") AS keys(k)");
    exec_source(R"sql(
        INSERT INTO keys_typed
            SELECT ts, u, num, 'v' FROM
                (VALUES (timestamptz '-infinity'), ('2024-01-01 00:00:00.000001+00'),
                        ('2024-01-01 00:00:00+00'), ('infinity')) AS a(ts),
                (VALUES (uuid '00000000-0000-0000-0000-000000000000'),
                        ('ffffffff-ffff-ffff-ffff-ffffffffffff')) AS b(u),
                (VALUES (numeric '-1e-20'), (0.0), (1), (1.000000000000000000001), ('NaN'))
                    AS c(num);)sql");
    const std::string yaml = config(
        "      - source: public.keys_c\n        cursor: updated_at\n        batch_rows: 2\n        "
        "snapshot_chunk_rows: 2\n"
        "      - source: public.keys_icu\n        cursor: updated_at\n        batch_rows: 2\n      "
        "  snapshot_chunk_rows: 2\n"
        "      - source: public.keys_typed\n        batch_rows: 3\n        snapshot_chunk_rows: "
        "3\n",
        "parallel: 3\n");
    const std::string keys_c = "SELECT k, n, v, updated_at FROM keys_c ORDER BY k COLLATE \"C\", n";
    const std::string keys_icu = "SELECT k, v, updated_at FROM keys_icu ORDER BY k COLLATE \"C\"";
    const std::string keys_typed = "SELECT ts, u, num, v FROM keys_typed ORDER BY ts, u, num";

    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    expect_same_rows(keys_c, keys_c);
    expect_same_rows(keys_icu, keys_icu);
    expect_same_rows(keys_typed, keys_typed);

    // Every row in one tie group of the cursor, paged two at a time by key.
    exec_source(R"sql(
        BEGIN;
        UPDATE keys_c SET v = v || '+', updated_at = now();
        UPDATE keys_icu SET v = v || '+', updated_at = now();
        INSERT INTO keys_c SELECT k || E'\t2', 9, 'new', now() FROM keys_icu;
        COMMIT;
        UPDATE keys_typed SET v = 'changed';)sql");
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    expect_same_rows(keys_c, keys_c);
    expect_same_rows(keys_icu, keys_icu);
    expect_same_rows(keys_typed, keys_typed);
}

TEST_F(CopyKeys, TableWithoutPrimaryKeyUsesTheConfiguredKey) {
    exec_source(R"sql(
        CREATE TABLE nopk (code text NOT NULL UNIQUE, v int, updated_at timestamptz NOT NULL
                           DEFAULT now());
        INSERT INTO nopk (code, v) SELECT 'c' || g, g FROM generate_series(1, 100) g;)sql");
    const std::string yaml = config(
        "      - source: public.nopk\n        key: [code]\n        cursor: updated_at\n"
        "        batch_rows: 7\n        snapshot_chunk_rows: 7\n");
    const std::string query = "SELECT code, v, updated_at FROM nopk ORDER BY code";
    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    expect_same_rows(query, query);
    exec_source(
        "UPDATE nopk SET v = -v, updated_at = now() WHERE v % 3 = 0; "
        "INSERT INTO nopk (code, v) SELECT 'd' || g, g FROM generate_series(1, 20) g");
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    expect_same_rows(query, query);
}

}  // namespace
}  // namespace syncset::test
