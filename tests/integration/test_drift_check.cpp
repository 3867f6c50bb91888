// `syncset check` (the drift scanner) through the real binary: after a table is synced, each
// kind of drift injected directly on one side is reported exactly (counts and keys), `check`
// exits 1, `check --repair` exits 0 and makes the replica equal the source selection, and the
// next `check` reports zero. Also: no false drift on a quiet or a busy database, tables still
// in their snapshot are not compared, config problems exit 2, and the scan moves little data.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "copy_harness.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/drift/compare.hpp"
#include "syncset/drift/scanner.hpp"

namespace syncset::test {
namespace {

using Keys = std::vector<std::string>;  // each key's parts joined by '|', sorted

// One table's entry of `check --json`, read back through PostgreSQL's JSON parser.
struct TableCheck {
    bool found = false;
    std::string status;
    std::int64_t source_rows = -1;
    std::int64_t replica_rows = -1;
    std::int64_t missing = -1;
    std::int64_t extra = -1;
    std::int64_t different = -1;
    Keys missing_keys;
    Keys extra_keys;
    Keys different_keys;
    std::int64_t repaired = -1;
    std::int64_t still_different = -1;
    std::int64_t bytes_read = -1;
    std::int64_t queries = -1;
    double seconds = -1;
    std::int64_t bytes_sent = -1;
    std::int64_t source_scans_reused = -1;
};

// What a check should find.
struct Expected {
    Keys missing;
    Keys extra;
    Keys different;
};

class DriftCheck : public CopyTest {
  protected:
    // A table entry synced by `cursor: updated_at` with a short poll interval: the scanner's
    // re-check waits at most 2 x poll_interval + 1 s for the (absent) loop.
    static std::string entry(const std::string& table, const std::string& options = "") {
        return "      - source: public." + table + "\n        cursor: updated_at\n" + options +
               "        poll_interval: 200ms\n";
    }

    CliResult check(const std::string& yaml, std::vector<std::string> flags = {"--json"}) {
        std::vector<std::string> args{"check"};
        args.insert(args.end(), flags.begin(), flags.end());
        return run_syncset_bounded(args, yaml, 180s);
    }

    // The entry of `target` ("public.items") in a `check --json` document.
    TableCheck parse(const std::string& json, const std::string& target) {
        TableCheck t;
        // Key parts are joined by '|' and keys by U+001F, which no test key contains.
        const std::string keys = R"sql(
            (SELECT coalesce(string_agg(k, chr(31)), '') FROM (
               SELECT (SELECT string_agg(e, '|' ORDER BY o)
                       FROM jsonb_array_elements_text(x) WITH ORDINALITY AS y(e, o)) AS k
               FROM jsonb_array_elements(t->'%s') AS x) AS z))sql";
        auto keys_of = [&](const char* field) {
            std::string s = keys;
            s.replace(s.find("%s"), 2, field);
            return s;
        };
        const std::string sql =
            "SELECT t->>'status', coalesce(t->>'source_rows', '-1'), "
            "coalesce(t->>'replica_rows', '-1'), coalesce(t->>'missing', '-1'), "
            "coalesce(t->>'extra', '-1'), coalesce(t->>'different', '-1'), " +
            keys_of("missing_keys") + ", " + keys_of("extra_keys") + ", " +
            keys_of("different_keys") +
            ", coalesce(t->>'repaired', '-1'), coalesce(t->>'still_different_after_repair', '-1'), "
            "coalesce(t->>'bytes_read', '-1'), coalesce(t->>'queries', '-1'), "
            "coalesce(t->>'seconds', '-1'), coalesce(t->>'bytes_sent', '-1'), "
            "coalesce(t->>'source_scans_reused', '-1') "
            "FROM jsonb_array_elements($1::jsonb->'replicas') AS r, "
            "jsonb_array_elements(r->'tables') AS t WHERE t->>'target' = $2";
        db::Result r;
        try {
            r = connection(Server::source).exec_params(sql, {json, target});
        } catch (const std::exception& e) {
            ADD_FAILURE() << "check --json printed no valid JSON (" << e.what() << "):\n" << json;
            return t;
        }
        if (r.rows() != 1) {
            ADD_FAILURE() << "no single entry for " << target << " in:\n" << json;
            return t;
        }
        auto split = [](std::string_view text) {
            Keys out;
            if (text.empty()) {
                return out;
            }
            std::size_t start = 0;
            while (true) {
                std::size_t end = text.find('\x1f', start);
                out.emplace_back(text.substr(start, end - start));
                if (end == std::string_view::npos) {
                    break;
                }
                start = end + 1;
            }
            std::sort(out.begin(), out.end());
            return out;
        };
        auto number = [&](int c) { return std::stoll(std::string(r.value(0, c))); };
        t.found = true;
        t.status = r.is_null(0, 0) ? "" : std::string(r.value(0, 0));
        t.source_rows = number(1);
        t.replica_rows = number(2);
        t.missing = number(3);
        t.extra = number(4);
        t.different = number(5);
        t.missing_keys = split(r.value(0, 6));
        t.extra_keys = split(r.value(0, 7));
        t.different_keys = split(r.value(0, 8));
        t.repaired = number(9);
        t.still_different = number(10);
        t.bytes_read = number(11);
        t.queries = number(12);
        t.seconds = std::stod(std::string(r.value(0, 13)));
        t.bytes_sent = number(14);
        t.source_scans_reused = number(15);
        return t;
    }

    static Keys sorted(Keys keys) {
        std::sort(keys.begin(), keys.end());
        return keys;
    }

    static std::string describe(const CliResult& r) {
        return "exit " + std::to_string(r.exit_status) + "\nstdout:\n" + r.out + "\nstderr:\n" +
               r.err;
    }

    // `check --json` finds exactly `expected` in `target` and exits 1.
    void expect_report(const std::string& yaml, const std::string& target,
                       const Expected& expected) {
        CliResult r = check(yaml);
        EXPECT_EQ(r.exit_status, 1) << describe(r);
        TableCheck t = parse(r.out, target);
        EXPECT_EQ(t.status, "drift") << r.out;
        EXPECT_EQ(t.missing, static_cast<std::int64_t>(expected.missing.size())) << r.out;
        EXPECT_EQ(t.extra, static_cast<std::int64_t>(expected.extra.size())) << r.out;
        EXPECT_EQ(t.different, static_cast<std::int64_t>(expected.different.size())) << r.out;
        EXPECT_EQ(t.missing_keys, sorted(expected.missing)) << r.out;
        EXPECT_EQ(t.extra_keys, sorted(expected.extra)) << r.out;
        EXPECT_EQ(t.different_keys, sorted(expected.different)) << r.out;
        EXPECT_EQ(t.repaired, 0) << r.out;
        EXPECT_EQ(t.still_different, 0) << r.out;
    }

    // The whole promise for one injected drift: the exact report, exit 1 (JSON and text),
    // `--repair` exits 0 and fixes it, the replica then equals the source selection, and the
    // next check reports zero and exits 0.
    void expect_found_and_repaired(const std::string& yaml, const std::string& target,
                                   const Expected& expected, const std::string& source_query,
                                   const std::string& replica_query) {
        expect_report(yaml, target, expected);

        CliResult text = check(yaml, {});
        EXPECT_EQ(text.exit_status, 1) << describe(text);
        const std::string line = "DRIFT: " + std::to_string(expected.missing.size()) +
                                 " missing, " + std::to_string(expected.extra.size()) + " extra, " +
                                 std::to_string(expected.different.size()) + " different";
        EXPECT_NE(text.out.find(line), std::string::npos) << "want '" << line << "' in:\n"
                                                          << text.out;
        // Each kind's keys on a line of its own, as "(part, part)".
        auto expect_keys_line = [&](const std::string& label, const Keys& keys) {
            const std::size_t at = text.out.find("    " + label + ": ");
            if (keys.empty()) {
                EXPECT_EQ(at, std::string::npos) << text.out;
                return;
            }
            ASSERT_NE(at, std::string::npos) << "no '" << label << "' line in:\n" << text.out;
            const std::string keys_line = text.out.substr(at, text.out.find('\n', at) - at);
            for (const auto& key : keys) {
                std::string shown = "(" + key + ")";
                for (std::size_t p = shown.find('|'); p != std::string::npos;
                     p = shown.find('|', p)) {
                    shown.replace(p, 1, ", ");
                }
                EXPECT_NE(keys_line.find(shown), std::string::npos)
                    << "want " << shown << " in: " << keys_line;
            }
        };
        expect_keys_line("missing on the replica", expected.missing);
        expect_keys_line("extra on the replica", expected.extra);
        expect_keys_line("different", expected.different);

        CliResult repair = check(yaml, {"--repair", "--json"});
        EXPECT_EQ(repair.exit_status, 0) << describe(repair);
        TableCheck fixed = parse(repair.out, target);
        const auto total = static_cast<std::int64_t>(
            expected.missing.size() + expected.extra.size() + expected.different.size());
        EXPECT_EQ(fixed.status, "drift") << repair.out;  // what it found, before repairing
        EXPECT_EQ(fixed.missing + fixed.extra + fixed.different, total) << repair.out;
        EXPECT_EQ(fixed.repaired, total) << repair.out;
        EXPECT_EQ(fixed.still_different, 0) << repair.out;
        expect_same_rows(source_query, replica_query);

        expect_clean(yaml, target);
    }

    // `check --json` reports `target` in sync and exits 0.
    TableCheck expect_clean(const std::string& yaml, const std::string& target) {
        CliResult r = check(yaml);
        EXPECT_EQ(r.exit_status, 0) << describe(r);
        TableCheck t = parse(r.out, target);
        EXPECT_EQ(t.status, "in_sync") << r.out;
        EXPECT_EQ(t.missing, 0) << r.out;
        EXPECT_EQ(t.extra, 0) << r.out;
        EXPECT_EQ(t.different, 0) << r.out;
        EXPECT_EQ(t.source_rows, t.replica_rows) << r.out;
        return t;
    }

    // items: bigint key, the columns the value kinds below need, and a cursor column.
    void create_items(int rows = 200) {
        exec_source(
            "CREATE TABLE items (id bigint PRIMARY KEY, name text, score float8, "
            "at timestamptz, doc jsonb, updated_at timestamptz NOT NULL DEFAULT now()); "
            "INSERT INTO items (id, name, score, at, doc) SELECT g, 'name ' || g, g / 4.0, "
            "'2024-05-01 12:00:00.123456+00'::timestamptz + g * interval '1 minute', "
            "jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g)) "
            "FROM generate_series(1, " +
            std::to_string(rows) + ") g");
    }

    static constexpr const char* k_items =
        "SELECT id, name, score, at, doc, updated_at FROM items "
        "ORDER BY id";

    // Creates items, syncs it with `run --once`, and checks the copy is exact.
    std::string synced_items(const std::string& options = "") {
        create_items();
        const std::string yaml = config(entry("items", options));
        CliResult once = run_once(yaml);
        EXPECT_EQ(once.exit_status, 0) << describe(once);
        expect_same_rows(k_items, k_items);
        return yaml;
    }
};

// ---- the scanner's SQL on a real server ---------------------------------------------------

class DriftScanSql : public PgPairTest {};

// Ranges are built from consecutive boundaries, so the boundaries must come back in key order.
// Ordered by the key's text instead ("10000" < "2500"), consecutive boundaries make overlapping
// and empty ranges: every row is still covered, but rows are compared in several ranges, which
// multiplies the queries and the bytes read.
TEST_F(DriftScanSql, BoundariesComeBackInKeyOrder) {
    exec_source(
        "CREATE TABLE b (id bigint PRIMARY KEY, v int); INSERT INTO b "
        "SELECT 2 * g, g FROM generate_series(1, 20000) g; "
        "CREATE TABLE c (tenant int, code text, PRIMARY KEY (tenant, code)); INSERT INTO c "
        "SELECT g % 12, 'k' || g FROM generate_series(1, 5000) g");
    copy::CopySpec single;
    single.source_table = "\"public\".\"b\"";
    single.target_table = "\"public\".\"b\"";
    single.columns = {{"id", "id", "bigint"}, {"v", "v", "integer"}};
    single.key_count = 1;
    drift::Query single_query =
        drift::build_range_boundaries(single, drift::Side::source, drift::KeyRange{}, 1250, 15);
    db::Result r = connection(Server::source)
                       .exec_params(single_query.sql,
                                    std::vector<std::optional<std::string>>(
                                        single_query.params.begin(), single_query.params.end()));
    std::vector<long long> ids;
    std::string shown;
    for (int i = 0; i < r.rows(); ++i) {
        ids.push_back(std::stoll(std::string(r.value(i, 0))));
        shown += std::string(i > 0 ? ", " : "") + std::string(r.value(i, 0));
    }
    // Every 1250th row in key order (ids 2500, 5000, ...), ascending, 15 of them (the 16th
    // would be the last row).
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()) &&
                std::adjacent_find(ids.begin(), ids.end()) == ids.end())
        << "boundaries as returned: " << shown;
    EXPECT_EQ(ids.size(), 15u) << shown;
    EXPECT_TRUE(std::all_of(ids.begin(), ids.end(), [](long long id) { return id % 2500 == 0; }))
        << shown;

    copy::CopySpec composite;
    composite.source_table = "\"public\".\"c\"";
    composite.target_table = "\"public\".\"c\"";
    composite.columns = {{"tenant", "tenant", "integer"}, {"code", "code", "text"}};
    composite.key_count = 2;
    drift::Query composite_query =
        drift::build_range_boundaries(composite, drift::Side::source, drift::KeyRange{}, 313, 15);
    db::Result c = connection(Server::source)
                       .exec_params(composite_query.sql, std::vector<std::optional<std::string>>(
                                                             composite_query.params.begin(),
                                                             composite_query.params.end()));
    std::vector<std::pair<int, std::string>> keys;
    shown.clear();
    for (int i = 0; i < c.rows(); ++i) {
        keys.emplace_back(std::stoi(std::string(c.value(i, 0))), std::string(c.value(i, 1)));
        shown += " (" + std::string(c.value(i, 0)) + ", " + std::string(c.value(i, 1)) + ")";
    }
    EXPECT_EQ(keys.size(), 15u) << shown;
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end())) << "boundaries as returned:" << shown;
}

// In the daemon the scan runs on the table's worker connections, which the copy loop goes on
// using: the scan's own settings (no JIT, custom plans for prepared statements) last only as
// long as the scan.
TEST_F(DriftScanSql, ScanLeavesTheSessionSettingsAsItFoundThem) {
    const std::string table =
        "CREATE TABLE t (id bigint PRIMARY KEY, v text); INSERT INTO t "
        "SELECT g, 'v' || g FROM generate_series(1, 1000) g";
    exec_source(table);
    exec_replica(table + "; UPDATE t SET v = 'changed' WHERE id = 500");
    copy::CopySpec spec;
    spec.source_table = "\"public\".\"t\"";
    spec.target_table = "\"public\".\"t\"";
    spec.columns = {{"id", "id", "bigint"}, {"v", "v", "text"}};
    spec.key_count = 1;
    auto source = db::Connection::open(source_dsn(), "source");
    auto replica = db::Connection::open(replica_dsn(), "replica");
    auto settings = [](db::Connection& c) {
        return std::string(c.query("SELECT current_setting('jit') || ' ' || "
                                   "current_setting('plan_cache_mode')")
                               .value(0, 0));
    };
    const std::string source_before = settings(*source);
    const std::string replica_before = settings(*replica);
    drift::ScanOptions options;
    options.recheck_timeout = std::chrono::milliseconds(0);  // no copy loop to wait for here
    drift::TableReport report = drift::scan_table(*source, *replica, spec, options, nullptr);
    EXPECT_EQ(report.drift.different, (std::vector<std::vector<std::string>>{{"500"}}));
    EXPECT_GT(report.queries, 2);  // it descended, with prepared range queries
    EXPECT_EQ(settings(*source), source_before);
    EXPECT_EQ(settings(*replica), replica_before);
}

// ---- each kind of drift -------------------------------------------------------------------

// The copy loop cannot see a hard delete; the scanner reports the replica's row as extra and
// the repair removes it.
TEST_F(DriftCheck, RowHardDeletedOnTheSourceIsExtraAndRepairRemovesIt) {
    const std::string yaml = synced_items();
    exec_source("DELETE FROM items WHERE id = 42");
    CliResult once = run_once(yaml);  // the loop does not remove it
    ASSERT_EQ(once.exit_status, 0) << describe(once);
    ASSERT_EQ(query_value(Server::replica, "SELECT count(*) FROM items WHERE id = 42"), "1");
    expect_found_and_repaired(yaml, "public.items", {{}, {"42"}, {}}, k_items, k_items);
}

TEST_F(DriftCheck, RowDeletedOnTheReplicaIsMissingAndRepairRestoresIt) {
    const std::string yaml = synced_items();
    exec_replica("DELETE FROM items WHERE id = 7");
    expect_found_and_repaired(yaml, "public.items", {{"7"}, {}, {}}, k_items, k_items);
}

// Rows before the first and after the last source key: the outer ranges are open.
TEST_F(DriftCheck, RowsOnlyOnTheReplicaAreExtraAtEitherEndOfTheKeyRange) {
    const std::string yaml = synced_items();
    exec_replica(
        "INSERT INTO items (id, name, updated_at) VALUES (-5, 'before', now()), "
        "(1000, 'after', now()), (100000000000, 'far', now())");
    expect_found_and_repaired(yaml, "public.items", {{}, {"-5", "1000", "100000000000"}, {}},
                              k_items, k_items);
}

TEST_F(DriftCheck, ColumnChangedOnTheReplicaIsDifferent) {
    const std::string yaml = synced_items();
    exec_replica("UPDATE items SET name = 'changed on the replica' WHERE id = 100");
    expect_found_and_repaired(yaml, "public.items", {{}, {}, {"100"}}, k_items, k_items);
}

// An update that does not move the cursor is invisible to the copy loop: only the scanner
// finds it.
TEST_F(DriftCheck, ColumnChangedOnTheSourceWithoutTheCursorIsDifferent) {
    const std::string yaml = synced_items();
    exec_source("UPDATE items SET name = 'changed behind the cursor' WHERE id = 150");
    CliResult once = run_once(yaml);
    ASSERT_EQ(once.exit_status, 0) << describe(once);
    ASSERT_EQ(query_value(Server::replica, "SELECT name FROM items WHERE id = 150"), "name 150")
        << "the loop saw the change: this test no longer shows what only the scanner finds";
    expect_found_and_repaired(yaml, "public.items", {{}, {}, {"150"}}, k_items, k_items);
}

TEST_F(DriftCheck, NullAndEmptyStringAreDifferent) {
    create_items();
    exec_source(
        "UPDATE items SET name = NULL WHERE id = 20; UPDATE items SET name = '' WHERE id = 21");
    const std::string yaml = config(entry("items"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    expect_same_rows(k_items, k_items);
    exec_replica(
        "UPDATE items SET name = '' WHERE id = 20; UPDATE items SET name = NULL WHERE id = 21");
    expect_found_and_repaired(yaml, "public.items", {{}, {}, {"20", "21"}}, k_items, k_items);
    EXPECT_EQ(
        query_replica_rows("SELECT id::text, name FROM items WHERE id IN (20, 21) ORDER BY id"),
        (Rows{{"20", std::nullopt}, {"21", ""}}));
}

// -0 = 0 for float equality, but they are different values (1/-0 is -Infinity) and the copy
// loop keeps the sign: a replica that lost it has drifted.
TEST_F(DriftCheck, NegativeZeroAndZeroFloatsAreDifferent) {
    create_items();
    exec_source(
        "UPDATE items SET score = '-0' WHERE id = 30; UPDATE items SET score = 0 WHERE id = 31");
    const std::string yaml = config(entry("items"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    expect_same_rows(k_items, k_items);
    exec_replica(
        "UPDATE items SET score = 0 WHERE id = 30; "
        "UPDATE items SET score = '-0' WHERE id = 31");
    expect_found_and_repaired(yaml, "public.items", {{}, {}, {"30", "31"}}, k_items, k_items);
    EXPECT_EQ(query_replica_rows("SELECT id::text, score::text FROM items WHERE id IN (30, 31) "
                                 "ORDER BY id"),
              (Rows{{"30", "-0"}, {"31", "0"}}));
}

TEST_F(DriftCheck, TimestamptzOneMicrosecondApartIsDifferent) {
    const std::string yaml = synced_items();
    exec_replica("UPDATE items SET at = at + interval '1 microsecond' WHERE id = 40");
    expect_found_and_repaired(yaml, "public.items", {{}, {}, {"40"}}, k_items, k_items);
}

// jsonb keeps no key order: two texts with the keys in another order are the same value, so
// there is nothing to report.
TEST_F(DriftCheck, JsonbWithKeysInAnotherOrderIsNotDrift) {
    create_items();
    exec_source(
        R"sql(UPDATE items SET doc = '{"a": 1, "b": {"x": [1, 2], "y": null}}' WHERE id = 50)sql");
    const std::string yaml = config(entry("items"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_replica(
        R"sql(UPDATE items SET doc = '{"b": {"y": null,   "x": [1,2]}, "a": 1}' WHERE id = 50)sql");
    exec_source(R"sql(UPDATE items SET doc = '{"b":{"x":[1,2],"y":null},"a":1}' WHERE id = 50)sql");
    TableCheck t = expect_clean(yaml, "public.items");
    EXPECT_EQ(t.source_rows, 200);
    CliResult text = check(yaml, {});
    EXPECT_EQ(text.exit_status, 0) << describe(text);
    EXPECT_NE(text.out.find("200 rows, in sync"), std::string::npos) << text.out;
}

// A replica row the row filter excludes on the source (here it was put there by hand; a
// filter edited to be narrower leaves the same) is extra.
TEST_F(DriftCheck, RowOutsideTheRowFilterOnTheReplicaIsExtra) {
    exec_source(
        "CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, amount numeric, "
        "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO orders (id, status, "
        "amount) SELECT g, (ARRAY['draft','paid','shipped'])[1 + g % 3], g * 1.5 "
        "FROM generate_series(1, 300) g");
    const std::string yaml = config(entry("orders", "        where: \"status <> 'draft'\"\n"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    const std::string selected =
        "SELECT id, status, amount, updated_at FROM orders "
        "WHERE status <> 'draft' ORDER BY id";
    const std::string all = "SELECT id, status, amount, updated_at FROM orders ORDER BY id";
    expect_same_rows(selected, all);
    // id 3 is a draft on the source: copied by hand, exactly as it is there.
    exec_replica("INSERT INTO orders VALUES (3, 'draft', 4.5, now())");
    expect_found_and_repaired(yaml, "public.orders", {{}, {"3"}, {}}, selected, all);
}

// A row soft-deleted on the source without moving the cursor stays on the replica: extra.
TEST_F(DriftCheck, RowSoftDeletedBehindTheCursorIsExtra) {
    exec_source(
        "CREATE TABLE users (id int PRIMARY KEY, name text, deleted_at timestamptz, "
        "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO users (id, name) "
        "SELECT g, 'u' || g FROM generate_series(1, 100) g");
    const std::string yaml = config(entry("users", "        soft_delete: deleted_at\n"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    const std::string selected =
        "SELECT id, name, deleted_at, updated_at FROM users "
        "WHERE deleted_at IS NULL ORDER BY id";
    const std::string all = "SELECT id, name, deleted_at, updated_at FROM users ORDER BY id";
    expect_same_rows(selected, all);
    exec_source("UPDATE users SET deleted_at = now() WHERE id = 77");
    expect_found_and_repaired(yaml, "public.users", {{}, {"77"}, {}}, selected, all);
}

// Renamed columns and a column subset: the replica is compared with the selection, so an
// excluded column's value never matters and a renamed column is compared under its new name.
TEST_F(DriftCheck, RenamedAndExcludedColumnsAreComparedAsSelected) {
    create_items();
    const std::string yaml = config(entry("items",
                                          "        exclude: [doc]\n"
                                          "        rename: {name: label}\n"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    const std::string source_q = "SELECT id, name, score, at, updated_at FROM items ORDER BY id";
    const std::string replica_q = "SELECT id, label, score, at, updated_at FROM items ORDER BY id";
    expect_same_rows(source_q, replica_q);
    exec_source("UPDATE items SET doc = '{\"excluded\": true}' WHERE id BETWEEN 1 AND 50");
    expect_clean(yaml, "public.items");
    exec_replica("UPDATE items SET label = 'renamed and changed' WHERE id = 60");
    expect_found_and_repaired(yaml, "public.items", {{}, {}, {"60"}}, source_q, replica_q);
}

// ---- keys ---------------------------------------------------------------------------------

// Each key type with one row of each kind, in a table big enough to be split into ranges at
// source keys (the boundaries are sent back as literals of the key type).
TEST_F(DriftCheck, CompositeIntTextKey) {
    exec_source(
        "CREATE TABLE kv (tenant int, code text, v text, "
        "updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant, code)); "
        "INSERT INTO kv (tenant, code, v) SELECT g % 7, 'c' || (g * 13 % 1000), 'v' || g "
        "FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING; "
        "INSERT INTO kv (tenant, code, v) VALUES (3, 'it''s, \"odd\"', 'x'), (3, '', 'e')");
    const std::string yaml = config(entry("kv"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    const std::string q = "SELECT tenant, code, v, updated_at FROM kv ORDER BY tenant, code";
    expect_same_rows(q, q);
    exec_replica(
        "DELETE FROM kv WHERE tenant = 3 AND code = 'it''s, \"odd\"'; "
        "INSERT INTO kv (tenant, code, v, updated_at) VALUES (3, 'c1', 'x', now()), "
        "(99, 'zzz', 'x', now()); "
        "UPDATE kv SET v = 'changed' WHERE tenant = 3 AND code = ''");
    const std::string c1_on_source =
        query_value(Server::source, "SELECT count(*) FROM kv WHERE tenant = 3 AND code = 'c1'");
    ASSERT_EQ(c1_on_source, "0") << "pick a key the source lacks";
    expect_found_and_repaired(yaml, "public.kv", {{"3|it's, \"odd\""}, {"3|c1", "99|zzz"}, {"3|"}},
                              q, q);
}

TEST_F(DriftCheck, UuidKey) {
    exec_source(
        "CREATE TABLE docs (id uuid PRIMARY KEY, body text, "
        "updated_at timestamptz NOT NULL DEFAULT now()); "
        "INSERT INTO docs (id, body) SELECT md5(g::text)::uuid, 'b' || g "
        "FROM generate_series(1, 1000) g");
    const std::string yaml = config(entry("docs"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    const std::string q = "SELECT id, body, updated_at FROM docs ORDER BY id";
    expect_same_rows(q, q);
    const std::string gone = query_value(Server::source, "SELECT md5('10')::uuid::text");
    const std::string changed = query_value(Server::source, "SELECT md5('500')::uuid::text");
    exec_replica("DELETE FROM docs WHERE id = '" + gone +
                 "'; "
                 "INSERT INTO docs VALUES ('00000000-0000-0000-0000-000000000000', 'x', now()), "
                 "('ffffffff-ffff-ffff-ffff-ffffffffffff', 'y', now()); "
                 "UPDATE docs SET body = 'changed' WHERE id = '" +
                 changed + "'");
    expect_found_and_repaired(
        yaml, "public.docs",
        {{gone},
         {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
         {changed}},
        q, q);
}

// Text keys that need quoting and whose order is the collation's, not the bytes'.
TEST_F(DriftCheck, TextKey) {
    exec_source(
        "CREATE TABLE tags (name text PRIMARY KEY, n int, "
        "updated_at timestamptz NOT NULL DEFAULT now()); "
        "INSERT INTO tags (name, n) SELECT 'tag ' || g, g FROM generate_series(1, 1000) g; "
        "INSERT INTO tags (name, n) VALUES ('O''Neil', 1), ('a,b', 2), ('(x)', 3), "
        "('back\\slash', 4), ('Ünïcode', 5), ('B upper', 6), ('b lower', 7), ('', 8)");
    const std::string yaml = config(entry("tags"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    const std::string q = "SELECT name, n, updated_at FROM tags ORDER BY name";
    expect_same_rows(q, q);
    exec_replica(
        "DELETE FROM tags WHERE name IN ('O''Neil', 'tag 500'); "
        "INSERT INTO tags VALUES ('zz extra', 1, now()), (' leading', 2, now()); "
        "UPDATE tags SET n = -1 WHERE name IN ('back\\slash', 'Ünïcode', '')");
    expect_found_and_repaired(
        yaml, "public.tags",
        {{"O'Neil", "tag 500"}, {" leading", "zz extra"}, {"", "back\\slash", "Ünïcode"}}, q, q);
}

// ---- scale and cost -----------------------------------------------------------------------

// 20,000 rows with 100 differences scattered over the key range, of all three kinds: each is
// found (the counts are exact and the repair, which touches only the keys found, leaves the
// replica equal to the source) while reading well under 2 KB per differing row.
TEST_F(DriftCheck, HundredScatteredDifferencesInTwentyThousandRowsAreFoundExactly) {
    // Even ids on the source, so replica-only rows can sit between them.
    exec_source(
        "CREATE TABLE big (id bigint PRIMARY KEY, a int, b text, "
        "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO big (id, a, b) "
        "SELECT 2 * g, g % 97, repeat('x', 20) || g FROM generate_series(1, 20000) g; "
        "ANALYZE big");  // the top level splits at the histogram's bounds
    const std::string yaml = config(entry("big"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    const std::string q = "SELECT id, a, b, updated_at FROM big ORDER BY id";
    expect_same_rows(q, q);

    std::mt19937 random(20240501);
    std::set<std::int64_t> used;
    auto pick_even = [&] {
        while (true) {
            std::int64_t id = 2 * std::uniform_int_distribution<std::int64_t>(1, 20000)(random);
            if (used.insert(id).second) {
                return id;
            }
        }
    };
    Expected expected;
    std::string sql;
    for (int i = 0; i < 34; ++i) {
        std::int64_t id = pick_even();
        expected.different.push_back(std::to_string(id));
        sql += "UPDATE big SET a = a + 1 WHERE id = " + std::to_string(id) + ";";
    }
    for (int i = 0; i < 33; ++i) {
        std::int64_t id = pick_even();
        expected.missing.push_back(std::to_string(id));
        sql += "DELETE FROM big WHERE id = " + std::to_string(id) + ";";
    }
    for (int i = 0; i < 33; ++i) {
        std::int64_t id = pick_even() + 1;
        expected.extra.push_back(std::to_string(id));
        sql += "INSERT INTO big VALUES (" + std::to_string(id) + ", 0, 'extra', now());";
    }
    exec_replica(sql);

    CliResult r = check(yaml);
    EXPECT_EQ(r.exit_status, 1) << describe(r);
    TableCheck t = parse(r.out, "public.big");
    EXPECT_EQ(t.status, "drift");
    EXPECT_EQ(t.missing, 33) << r.out;
    EXPECT_EQ(t.extra, 33) << r.out;
    EXPECT_EQ(t.different, 34) << r.out;
    // The JSON lists the first few keys of each kind: every one listed must be a right one.
    auto within = [](const Keys& listed, const Keys& all) {
        return std::all_of(listed.begin(), listed.end(), [&](const std::string& k) {
            return std::find(all.begin(), all.end(), k) != all.end();
        });
    };
    EXPECT_FALSE(t.missing_keys.empty());
    EXPECT_TRUE(within(t.missing_keys, expected.missing)) << r.out;
    EXPECT_TRUE(within(t.extra_keys, expected.extra)) << r.out;
    EXPECT_TRUE(within(t.different_keys, expected.different)) << r.out;
    EXPECT_GT(t.bytes_read, 0);
    EXPECT_LT(t.bytes_read, 100 * 2048) << "bytes read for 100 differing rows: " << r.out;
    std::cout << "[ cost     ] 100 differences in 20000 rows: " << t.bytes_read << " bytes read, "
              << t.bytes_sent << " sent, " << t.queries << " queries, " << t.seconds << " s\n";

    CliResult repair = check(yaml, {"--repair", "--json"});
    EXPECT_EQ(repair.exit_status, 0) << describe(repair);
    TableCheck fixed = parse(repair.out, "public.big");
    EXPECT_EQ(fixed.repaired, 100) << repair.out;
    EXPECT_EQ(fixed.still_different, 0) << repair.out;
    expect_same_rows(q, q);
    expect_clean(yaml, "public.big");
}

// A clean table costs one summary query per side and a few bytes, whatever its size.
TEST_F(DriftCheck, CleanTwentyThousandRowTableReadsAFewBytesInTwoQueries) {
    exec_source(
        "CREATE TABLE big (id bigint PRIMARY KEY, a int, b text, "
        "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO big (id, a, b) "
        "SELECT g, g % 97, repeat('x', 200) || g FROM generate_series(1, 20000) g");
    const std::string yaml = config(entry("big"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    TableCheck t = expect_clean(yaml, "public.big");
    EXPECT_EQ(t.source_rows, 20000);
    EXPECT_EQ(t.queries, 2);
    EXPECT_GT(t.bytes_read, 0);
    EXPECT_LT(t.bytes_read, 4096);
    std::cout << "[ cost     ] clean 20000 rows: " << t.bytes_read << " bytes, " << t.queries
              << " queries, " << t.seconds << " s\n";
}

// The top level splits at the planner's histogram bounds when the source has them. Bounds from
// an ANALYZE before the table tripled leave every newer row in the last piece: the scanner
// must split that piece by its keys and still find every difference, in old rows and new.
TEST_F(DriftCheck, StaleHistogramSplitPointsStillFindEveryDifference) {
    exec_source(
        "CREATE TABLE big (id bigint PRIMARY KEY, a int, "
        "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO big (id, a) "
        "SELECT g, g FROM generate_series(1, 10000) g; ANALYZE big; INSERT INTO big (id, a) "
        "SELECT g, g FROM generate_series(10001, 30000) g");
    ASSERT_EQ(std::string(connection(Server::source)
                              .query("SELECT count(*) FROM pg_stats WHERE tablename = 'big' AND "
                                     "attname = 'id' AND histogram_bounds IS NOT NULL")
                              .value(0, 0)),
              "1");
    const std::string yaml = config(entry("big"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_replica(
        "UPDATE big SET a = -a WHERE id IN (5, 5000, 9999, 10001, 20000, 30000); "
        "DELETE FROM big WHERE id IN (7, 25000); INSERT INTO big (id, a, updated_at) VALUES (0, 0, "
        "now()), (30005, 0, now())");
    const std::string q = "SELECT id, a, updated_at FROM big ORDER BY id";
    expect_found_and_repaired(
        yaml, "public.big",
        Expected{{"25000", "7"}, {"0", "30005"}, {"10001", "20000", "30000", "5", "5000", "9999"}},
        q, q);
}

// Thousands of rows only the replica has, past the source's last key: the source has no keys
// there to split by, so the replica's keys split the range. All are extra, the bytes read stay
// proportional to them, and the repair removes them.
TEST_F(DriftCheck, ThousandsOfRowsOnlyOnTheReplicaAreAllExtra) {
    const std::string yaml = synced_items();
    exec_replica(
        "INSERT INTO items (id, name, updated_at) SELECT g, 'only here', now() "
        "FROM generate_series(1001, 4000) g");
    CliResult r = check(yaml);
    EXPECT_EQ(r.exit_status, 1) << describe(r);
    TableCheck t = parse(r.out, "public.items");
    EXPECT_EQ(t.source_rows, 200) << r.out;
    EXPECT_EQ(t.replica_rows, 3200) << r.out;
    EXPECT_EQ(t.extra, 3000) << r.out;
    EXPECT_EQ(t.missing, 0) << r.out;
    EXPECT_EQ(t.different, 0) << r.out;
    EXPECT_LT(t.bytes_read, 3000 * 120) << r.out;
    // Read in leaves of at most 16 rows a side, never as one list of 3,000.
    EXPECT_GT(t.queries, 2 * 3000 / 16) << r.out;
    std::cout << "[ cost     ] 3000 extra rows: " << t.bytes_read << " bytes read, " << t.queries
              << " queries\n";

    CliResult repair = check(yaml, {"--repair", "--json"});
    EXPECT_EQ(repair.exit_status, 0) << describe(repair);
    EXPECT_EQ(parse(repair.out, "public.items").repaired, 3000) << repair.out;
    expect_same_rows(k_items, k_items);
    expect_clean(yaml, "public.items");
}

// One `check` of two replicas of the same table has the source scan that table once; each
// replica is still compared on its own: drift on one is not reported on the other.
TEST_F(DriftCheck, ReplicasOfTheSameTableShareOneSourceScan) {
    create_items();
    const std::string yaml =
        config_for({{"r", replica_dsn(), entry("items")},
                    {"r2", replica_dsn(),
                     "      - source: public.items\n        target: copy2.items\n"
                     "        cursor: updated_at\n        poll_interval: 200ms\n"}});
    CliResult once = run_once(yaml);
    ASSERT_EQ(once.exit_status, 0) << describe(once);
    CliResult clean = check(yaml);
    EXPECT_EQ(clean.exit_status, 0) << describe(clean);
    TableCheck first = parse(clean.out, "public.items");
    TableCheck second = parse(clean.out, "copy2.items");
    EXPECT_EQ(first.status, "in_sync") << clean.out;
    EXPECT_EQ(second.status, "in_sync") << clean.out;
    EXPECT_EQ(first.source_scans_reused, 0) << clean.out;
    EXPECT_EQ(second.source_scans_reused, 1) << clean.out;
    EXPECT_EQ(second.source_rows, 200) << clean.out;
    EXPECT_EQ(second.queries, 1) << "only the replica's summary is queried: " << clean.out;

    exec_replica("DELETE FROM copy2.items WHERE id = 7");
    CliResult r = check(yaml);
    EXPECT_EQ(r.exit_status, 1) << describe(r);
    EXPECT_EQ(parse(r.out, "public.items").status, "in_sync") << r.out;
    TableCheck drifted = parse(r.out, "copy2.items");
    EXPECT_EQ(drifted.missing_keys, Keys{"7"}) << r.out;
    EXPECT_EQ(drifted.extra + drifted.different, 0) << r.out;
}

// `check --max-rows-per-second` paces the scan: 20,000 rows at 10,000 a second take at least
// two seconds on each side, and the answer is the same.
TEST_F(DriftCheck, CheckPacedToARowRateTakesAtLeastRowsOverRate) {
    exec_source(
        "CREATE TABLE big (id bigint PRIMARY KEY, a int, "
        "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO big (id, a) "
        "SELECT g, g FROM generate_series(1, 20000) g");
    const std::string yaml = config(entry("big"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    CliResult r = check(yaml, {"--json", "--max-rows-per-second", "10000"});
    EXPECT_EQ(r.exit_status, 0) << describe(r);
    TableCheck t = parse(r.out, "public.big");
    EXPECT_EQ(t.status, "in_sync") << r.out;
    EXPECT_GE(t.seconds, 1.9) << r.out;

    CliResult bad = check(yaml, {"--max-rows-per-second", "-5"});
    EXPECT_EQ(bad.exit_status, 2) << describe(bad);
    EXPECT_NE(bad.err.find("max-rows-per-second"), std::string::npos) << bad.err;
}

// ---- the daemon's periodic scans ----------------------------------------------------------

// The daemon's periodic scans as its log reports them: the sums of every
// "drift scan: rows differ" line's counts, and the in-sync scans seen.
struct DaemonScans {
    std::int64_t missing = 0;
    std::int64_t extra = 0;
    std::int64_t different = 0;
    std::int64_t repaired = 0;
    int in_sync = 0;
    int in_sync_reusing_the_source_scan = 0;
};

DaemonScans daemon_scans(const std::string& log) {
    DaemonScans out;
    std::istringstream lines(log);
    std::string line;
    auto field = [&](const std::string& name) -> std::int64_t {
        std::size_t at = line.find(" " + name + "=");
        return at == std::string::npos ? 0 : std::stoll(line.substr(at + name.size() + 2));
    };
    while (std::getline(lines, line)) {
        if (line.find("drift scan: rows differ") != std::string::npos) {
            out.missing += field("missing");
            out.extra += field("extra");
            out.different += field("different");
            out.repaired += field("repaired");
        } else if (line.find("drift scan: in sync") != std::string::npos) {
            ++out.in_sync;
            if (field("source_scans_reused") > 0) {
                ++out.in_sync_reusing_the_source_scan;
            }
        }
    }
    return out;
}

std::string with_drift_interval(std::string yaml, const std::string& interval) {
    const std::string off = "drift:\n  interval: 0\n";
    yaml.replace(yaml.find(off), off.size(), "drift:\n  interval: " + interval + "\n");
    return yaml;
}

// A hard delete on the source is invisible to the cursor: the daemon's periodic scan (with
// drift.repair, the default) removes those rows from the replica, restores a row changed on
// the replica behind its back, and records its last result for `syncset status`.
TEST_F(DriftCheck, DaemonScanRepairsHardDeletesAndRecordsTheResultForStatus) {
    create_items();
    const std::string yaml = with_drift_interval(config(entry("items")), "1s");
    SyncsetProcess daemon({"run"}, yaml);
    ASSERT_TRUE(eventually_same_rows(k_items, k_items, 60s)) << daemon.describe();
    exec_source("DELETE FROM items WHERE id IN (3, 150)");
    exec_replica("UPDATE items SET name = 'changed behind its back' WHERE id = 20");
    EXPECT_TRUE(eventually_same_rows(k_items, k_items, 60s)) << daemon.describe();
    EXPECT_TRUE(wait_until([&] { return daemon_scans(daemon.err()).repaired >= 3; }, 30s))
        << daemon.describe();
    DaemonScans scans = daemon_scans(daemon.err());
    EXPECT_EQ(scans.extra, 2) << daemon.describe();
    EXPECT_EQ(scans.different, 1) << daemon.describe();
    EXPECT_EQ(scans.missing, 0) << daemon.describe();
    EXPECT_EQ(scans.repaired, 3) << daemon.describe();

    // The scans after the repair find nothing, and status shows the last one.
    const std::string status_sql =
        "SELECT t->'last_drift_scan'->>'missing', t->'last_drift_scan'->>'extra', "
        "t->'last_drift_scan'->>'different', t->'last_drift_scan'->>'rows' "
        "FROM jsonb_array_elements($1::jsonb->'replicas') AS r, "
        "jsonb_array_elements(r->'tables') AS t";
    std::string last;
    EXPECT_TRUE(wait_until(
        [&] {
            CliResult status = run_syncset_bounded({"status", "--json"}, yaml, 60s);
            if (status.exit_status != 0) {
                last = status.out + status.err;
                return false;
            }
            db::Result r = connection(Server::source).exec_params(status_sql, {status.out});
            last = status.out;
            return r.rows() == 1 && !r.is_null(0, 0) && r.value(0, 0) == "0" &&
                   r.value(0, 1) == "0" && r.value(0, 2) == "0" && r.value(0, 3) == "198";
        },
        30s))
        << last;
}

// Two replicas of one table: the daemon's scans of the second reuse the source's
// whole-table summary the first one read moments before.
TEST_F(DriftCheck, DaemonScansOfTwoReplicasOfOneTableShareTheSourceScan) {
    create_items();
    const std::string yaml = with_drift_interval(
        config_for({{"r", replica_dsn(), entry("items")},
                    {"r2", replica_dsn(),
                     "      - source: public.items\n        target: copy2.items\n"
                     "        cursor: updated_at\n        poll_interval: 200ms\n"}},
                   "parallel: 1\n"),
        "1s");
    SyncsetProcess daemon({"run"}, yaml);
    EXPECT_TRUE(wait_until(
        [&] { return daemon_scans(daemon.err()).in_sync_reusing_the_source_scan >= 1; }, 60s))
        << daemon.describe();
    EXPECT_TRUE(same_rows(k_items,
                          "SELECT id, name, score, at, doc, updated_at FROM "
                          "copy2.items ORDER BY id"));
}

// ---- no false drift -----------------------------------------------------------------------

TEST_F(DriftCheck, QuietSyncedDatabaseReportsZeroEveryTime) {
    create_items();
    exec_source(
        "CREATE TABLE kv (tenant int, code text, v text, "
        "updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant, code)); "
        "INSERT INTO kv (tenant, code, v) SELECT g % 5, 'k' || g, NULL "
        "FROM generate_series(1, 500) g");
    const std::string yaml = config(entry("items") + entry("kv"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    for (int round = 1; round <= 3; ++round) {
        SCOPED_TRACE("check " + std::to_string(round));
        expect_clean(yaml, "public.items");
        expect_clean(yaml, "public.kv");
    }
    CliResult text = check(yaml, {});
    EXPECT_EQ(text.exit_status, 0) << describe(text);
    EXPECT_NE(text.out.find("public.items -> public.items: 200 rows, in sync"), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("public.kv -> public.kv: 500 rows, in sync"), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("summary: 2 in sync, 0 with drift"), std::string::npos) << text.out;
}

// A table whose initial copy has not finished differs from its source by design: it is
// reported as not compared, and the other tables are still compared.
TEST_F(DriftCheck, TableStillInItsSnapshotIsNotComparedAndIsNotDrift) {
    create_items();
    exec_source(
        "CREATE TABLE slow (id bigint PRIMARY KEY, v text, "
        "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO slow (id, v) "
        "SELECT g, 'v' || g FROM generate_series(1, 200000) g");
    const std::string items_only = config(entry("items"));
    ASSERT_EQ(run_once(items_only).exit_status, 0);
    // One-row snapshot chunks: the daemon is killed long before the snapshot ends.
    const std::string yaml = config(entry("items") + entry("slow", "        batch_rows: 1\n"));
    {
        SyncsetProcess daemon({"run"}, yaml);
        ASSERT_TRUE(wait_until(
            [&] {
                return query_value(Server::replica,
                                   "SELECT count(*) FROM _syncset.tables WHERE target_name = "
                                   "'slow' AND phase = 'snapshot' AND rows_copied >= 20") == "1";
            },
            60s))
            << daemon.describe();
        daemon.kill_now();
    }
    ASSERT_EQ(query_value(Server::replica,
                          "SELECT phase FROM _syncset.tables WHERE target_name = 'slow'"),
              "snapshot");
    CliResult r = check(yaml);
    EXPECT_NE(r.exit_status, 1) << "a table being copied is not drift\n" << describe(r);
    EXPECT_EQ(r.exit_status, 0) << describe(r);
    TableCheck slow = parse(r.out, "public.slow");
    EXPECT_EQ(slow.status, "snapshot") << r.out;
    EXPECT_EQ(slow.missing, -1) << "not compared, so no counts: " << r.out;
    TableCheck items = parse(r.out, "public.items");
    EXPECT_EQ(items.status, "in_sync") << r.out;
    CliResult text = check(yaml, {});
    EXPECT_NE(text.out.find("public.slow -> public.slow: initial copy not finished, not compared"),
              std::string::npos)
        << text.out;
    EXPECT_EQ(text.out.find("DRIFT"), std::string::npos) << text.out;
}

// ---- config problems ----------------------------------------------------------------------

TEST_F(DriftCheck, ConfigProblemsExitTwoBeforeComparingAnything) {
    create_items();
    const std::string yaml = config(entry("items"));
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    exec_replica("DELETE FROM items WHERE id = 1");  // drift that must not be reported or fixed

    CliResult unknown_key = check(yaml + "bogus_key: 1\n", {"--repair"});
    EXPECT_EQ(unknown_key.exit_status, 2) << describe(unknown_key);
    EXPECT_NE(unknown_key.err.find("bogus_key"), std::string::npos) << unknown_key.err;

    CliResult missing_table = check(config(entry("items") + entry("no_such_table")), {"--repair"});
    EXPECT_EQ(missing_table.exit_status, 2) << describe(missing_table);
    EXPECT_NE(missing_table.err.find("no_such_table"), std::string::npos) << missing_table.err;

    CliResult missing_column =
        check(config(entry("items", "        columns: [id, nope, updated_at]\n")), {"--repair"});
    EXPECT_EQ(missing_column.exit_status, 2) << describe(missing_column);
    EXPECT_NE(missing_column.err.find("nope"), std::string::npos) << missing_column.err;

    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM items WHERE id = 1"), "0")
        << "a config problem must change nothing";
    expect_report(yaml, "public.items", {{"1"}, {}, {}});
}

// ---- concurrent writes --------------------------------------------------------------------

// `check` while an application updates and inserts rows on the source and the daemon syncs
// them: rows in flight are re-checked after the loop has caught up, so nothing is reported.
// On a failure the message gives the timeline (one clock: both servers run on this machine):
// the check's window, the loop's batches (last_success = start of each batch's replica
// transaction) and when each reported row was last written on the source.
TEST_F(DriftCheck, NoFalseDriftWhileAWriterUpdatesAndTheDaemonSyncs) {
    create_items(2000);
    const std::string yaml = config(entry("items"));
    SyncsetProcess daemon({"run"}, yaml);
    ASSERT_TRUE(eventually_same_rows(k_items, k_items, 60s)) << daemon.describe();

    BackgroundWriter writer(
        source_dsn(),
        [](PlainConnection& c, std::uint64_t n) {
            const std::string id = std::to_string(1 + (n * 7919) % 2000);
            if (n % 10 == 9) {
                c.exec("INSERT INTO items (id, name) VALUES (" + std::to_string(10000 + n) +
                       ", 'new')");
            } else {
                c.exec("UPDATE items SET name = 'w' || " + std::to_string(n) +
                       ", score = score + 1, updated_at = now() WHERE id = " + id);
            }
        },
        5ms);
    // The loop's batches as they commit: (last_success, cursor), each seen once.
    std::mutex batches_mutex;
    std::vector<std::string> batches;
    BackgroundWriter sampler(
        replica_dsn(),
        [&](PlainConnection& c, std::uint64_t n) {
            if (n == 0) {
                c.exec("SET TimeZone = 'UTC'");
            }
            std::string b = c.query_value(
                "SELECT to_char(last_success, 'HH24:MI:SS.US') || ' cursor ' || "
                "coalesce(cursor, '-') FROM _syncset.tables WHERE target_name = 'items'");
            std::lock_guard lock(batches_mutex);
            if (batches.empty() || batches.back() != b) {
                batches.push_back(b);
            }
        },
        5ms);
    auto clock_now = [&] {
        return query_value(Server::replica,
                           "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                           "'HH24:MI:SS.US')");
    };
    auto written_at = [&](Server server, const std::string& id) {
        return query_value(server,
                           "SELECT coalesce(to_char(updated_at AT TIME ZONE 'UTC', "
                           "'HH24:MI:SS.US'), 'absent') FROM (SELECT) AS one LEFT JOIN "
                           "items ON id = " +
                               id);
    };
    std::this_thread::sleep_for(1s);
    int false_reports = 0;
    for (int round = 1; round <= 5; ++round) {
        SCOPED_TRACE("check " + std::to_string(round) + " during writes");
        {
            std::lock_guard lock(batches_mutex);
            batches.clear();
        }
        const std::string began = clock_now();
        const auto started = Clock::now();
        CliResult r = check(yaml);
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        const std::string ended = clock_now();
        TableCheck t = parse(r.out, "public.items");
        std::cout << "[ check    ] round " << round << ": exit " << r.exit_status << ", "
                  << t.missing << " missing, " << t.extra << " extra, " << t.different
                  << " different, " << t.queries << " queries, " << took.count()
                  << " ms; writer steps " << writer.steps_done() << "\n";
        const bool clean = r.exit_status == 0 && t.missing + t.extra + t.different == 0;
        if (!clean) {
            ++false_reports;
            std::ostringstream timeline;
            timeline << "check ran " << began << " .. " << ended << " (UTC)\nloop batches seen:\n";
            {
                std::lock_guard lock(batches_mutex);
                for (const auto& b : batches) {
                    timeline << "  last_success " << b << "\n";
                }
            }
            timeline << "reported rows (source updated_at / replica updated_at, now):\n";
            for (const Keys* keys : {&t.missing_keys, &t.different_keys, &t.extra_keys}) {
                for (const auto& id : *keys) {
                    timeline << "  " << id << ": " << written_at(Server::source, id) << " / "
                             << written_at(Server::replica, id) << "\n";
                }
            }
            ADD_FAILURE() << "false drift while the loop syncs\n" << timeline.str() << describe(r);
        }
    }
    sampler.stop();
    writer.stop();
    EXPECT_EQ(writer.errors(), 0u) << writer.last_error();
    EXPECT_GT(writer.steps_done(), 100u);
    EXPECT_EQ(false_reports, 0);
    // Once the writer stops and the loop catches up, the tables are equal and check agrees.
    EXPECT_TRUE(eventually_same_rows(k_items, k_items, 30s)) << daemon.describe();
    expect_clean(yaml, "public.items");
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(15s), std::optional<int>(0)) << daemon.describe();
}

// Hot rows: the same five rows updated over and over while check runs. Each is nearly always
// ahead of the replica by a few milliseconds, so a re-check that compares with the source as
// it is at that later moment sees a difference every time; only a difference that persists
// while the source row stands still is drift.
TEST_F(DriftCheck, NoFalseDriftWhenTheSameRowsAreUpdatedConstantly) {
    create_items(2000);
    const std::string yaml = config(entry("items"));
    SyncsetProcess daemon({"run"}, yaml);
    ASSERT_TRUE(eventually_same_rows(k_items, k_items, 60s)) << daemon.describe();
    BackgroundWriter writer(
        source_dsn(),
        [](PlainConnection& c, std::uint64_t n) {
            c.exec("UPDATE items SET score = score + 1, updated_at = now() WHERE id = " +
                   std::to_string(1 + n % 5));
        },
        2ms);
    std::this_thread::sleep_for(1s);
    for (int round = 1; round <= 5; ++round) {
        SCOPED_TRACE("check " + std::to_string(round) + " during writes");
        CliResult r = check(yaml);
        TableCheck t = parse(r.out, "public.items");
        std::cout << "[ check    ] round " << round << ": exit " << r.exit_status << ", "
                  << t.missing << " missing, " << t.extra << " extra, " << t.different
                  << " different, " << t.queries << " queries, " << t.seconds << " s; writer steps "
                  << writer.steps_done() << "\n";
        EXPECT_EQ(r.exit_status, 0) << describe(r);
        EXPECT_EQ(t.missing + t.extra + t.different, 0) << r.out;
    }
    writer.stop();
    EXPECT_EQ(writer.errors(), 0u) << writer.last_error();
    EXPECT_TRUE(eventually_same_rows(k_items, k_items, 30s)) << daemon.describe();
    expect_clean(yaml, "public.items");
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(15s), std::optional<int>(0)) << daemon.describe();
}

// A scan of a busy table leaves out the rows in flight (changed after the replica's checkpoint)
// on both sides: hot rows never show as drift, yet a row deleted on the replica meanwhile is
// found, and nothing else. Once with each kind of cursor that has a checkpoint to tell by.
class DriftUnderLoad : public DriftCheck {
  protected:
    void scan_under_constant_updates_finds_only_the_deleted_row(const std::string& cursor_line) {
        create_items(2000);
        const std::string yaml = config("      - source: public.items\n" + cursor_line +
                                        "        poll_interval: 200ms\n");
        SyncsetProcess daemon({"run"}, yaml);
        ASSERT_TRUE(eventually_same_rows(k_items, k_items, 60s)) << daemon.describe();
        BackgroundWriter writer(
            source_dsn(),
            [](PlainConnection& c, std::uint64_t n) {
                c.exec("UPDATE items SET score = score + 1, updated_at = now() WHERE id = " +
                       std::to_string(1 + (n * 37) % 200));
            },
            2ms);
        std::this_thread::sleep_for(1s);
        exec_replica("DELETE FROM items WHERE id = 1500");
        for (int round = 1; round <= 3; ++round) {
            SCOPED_TRACE("check " + std::to_string(round) + " during writes");
            CliResult r = check(yaml);
            TableCheck t = parse(r.out, "public.items");
            std::cout << "[ check    ] round " << round << ": exit " << r.exit_status << ", "
                      << t.missing << " missing, " << t.extra << " extra, " << t.different
                      << " different, " << t.queries << " queries, " << t.seconds
                      << " s; writer steps " << writer.steps_done() << "\n";
            EXPECT_EQ(r.exit_status, 1) << describe(r);
            EXPECT_EQ(t.missing_keys, Keys{"1500"}) << r.out;
            EXPECT_EQ(t.extra + t.different, 0) << r.out;
        }
        writer.stop();
        EXPECT_GT(writer.steps_done(), 100u);
        EXPECT_EQ(writer.errors(), 0u) << writer.last_error();
        daemon.send_signal(SIGTERM);
        EXPECT_EQ(daemon.wait(15s), std::optional<int>(0)) << daemon.describe();
    }
};

TEST_F(DriftUnderLoad, TimeCursorScanOfHotRowsFindsOnlyTheRowDeletedOnTheReplica) {
    scan_under_constant_updates_finds_only_the_deleted_row("        cursor: updated_at\n");
}

TEST_F(DriftUnderLoad, XminScanOfHotRowsFindsOnlyTheRowDeletedOnTheReplica) {
    scan_under_constant_updates_finds_only_the_deleted_row("");
}

// The daemon scans a table beside its copy loop, not inside it: rows committed while a (slow,
// paced) scan of that table runs reach the replica within a few poll intervals, not after the
// scan.
TEST_F(DriftUnderLoad, RowsCommittedWhileTheDaemonScansTheirTableArriveWithinAFewPolls) {
    create_items(20000);
    std::string yaml = config(entry("items"));
    const std::string off = "drift:\n  interval: 0\n";
    // 20,000 rows at 2,000 a second: the scan's first summary alone takes 10 s on each side.
    yaml.replace(yaml.find(off), off.size(),
                 "drift:\n  interval: 1s\n  max_rows_per_second: 2000\n");
    SyncsetProcess daemon({"run"}, yaml);
    ASSERT_TRUE(eventually_same_rows(k_items, k_items, 60s)) << daemon.describe();
    ASSERT_TRUE(wait_until(
        [&] { return daemon.err().find("drift scan started") != std::string::npos; }, 30s))
        << daemon.describe();
    for (int n = 1; n <= 5; ++n) {
        const std::string id = std::to_string(100000 + n);
        exec_source("INSERT INTO items (id, name) VALUES (" + id + ", 'during the scan')");
        const auto committed = Clock::now();
        ASSERT_TRUE(wait_until(
            [&] {
                return query_value(Server::replica,
                                   "SELECT count(*) FROM items WHERE id = " + id) == "1";
            },
            10s))
            << daemon.describe();
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - committed);
        std::cout << "[ latency  ] row " << n << " arrived after " << took.count() << " ms\n";
        // The scan was still running when the row arrived: it did not wait for the scan.
        ASSERT_EQ(daemon.err().find("drift scan: in sync"), std::string::npos)
            << "row " << n << " arrived only after the scan\n"
            << daemon.describe();
    }
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(20s), std::optional<int>(0)) << daemon.describe();
}

}  // namespace
}  // namespace syncset::test
