// Promise 2 for the options that decide which rows a replica holds: a row that stops matching
// `where` leaves the replica, a soft-deleted row leaves it, `mode: insert` never changes a row
// already there, and `cursor: none` / `mode: mirror` also remove rows deleted on the source.
// Each with a cursor column and with the xmin cursor where the option allows a cursor.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <random>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

class CopyRows : public CopyTest {};

TEST_F(CopyRows, RowsThatStopMatchingTheFilterLeaveTheReplica) {
    for (const char* table : {"orders_c", "orders_x"}) {
        exec_source("CREATE TABLE " + std::string(table) +
                    " (id int PRIMARY KEY, status text NOT NULL, amount numeric, "
                    "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO " +
                    table +
                    " (id, status, amount) SELECT g, (ARRAY['draft','paid','shipped'])[1 + g % 3], "
                    "g * 1.5 FROM generate_series(1, 60) g");
    }
    const std::string yaml = config(
        "      - source: public.orders_c\n        where: \"status <> 'draft'\"\n"
        "        cursor: updated_at\n        batch_rows: 10\n        snapshot_chunk_rows: 10\n"
        "      - source: public.orders_x\n        where: \"status <> 'draft'\"\n"
        "        batch_rows: 10\n        snapshot_chunk_rows: 10\n");
    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    for (const std::string table : {"orders_c", "orders_x"}) {
        expect_same_rows("SELECT id, status, amount, updated_at FROM " + table +
                             " WHERE status <> 'draft' ORDER BY id",
                         "SELECT id, status, amount, updated_at FROM " + table + " ORDER BY id");
        exec_source("UPDATE " + table +
                    " SET status = 'draft', updated_at = now() "
                    "WHERE status = 'paid' AND id % 2 = 0; "
                    "UPDATE " +
                    table +
                    " SET status = 'paid', updated_at = now() "
                    "WHERE status = 'draft' AND id < 20 AND updated_at < now(); "
                    "UPDATE " +
                    table +
                    " SET amount = -amount, updated_at = now() "
                    "WHERE status = 'shipped' AND id % 4 = 0; "
                    "INSERT INTO " +
                    table + " (id, status) VALUES (100, 'draft'), (101, 'paid')");
    }
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    for (const std::string table : {"orders_c", "orders_x"}) {
        expect_same_rows("SELECT id, status, amount, updated_at FROM " + table +
                             " WHERE status <> 'draft' ORDER BY id",
                         "SELECT id, status, amount, updated_at FROM " + table + " ORDER BY id");
        EXPECT_EQ(query_value(Server::replica,
                              "SELECT count(*) FROM " + table + " WHERE status = 'draft'"),
                  "0");
    }
}

TEST_F(CopyRows, SoftDeletedRowsLeaveTheReplica) {
    for (const char* table : {"users_c", "users_x"}) {
        exec_source("CREATE TABLE " + std::string(table) +
                    " (id int PRIMARY KEY, name text, deleted_at timestamptz, "
                    "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO " +
                    table +
                    " (id, name, deleted_at) SELECT g, 'u' || g, CASE WHEN g % 10 = 0 THEN "
                    "'2024-01-01 00:00+00'::timestamptz END FROM generate_series(1, 60) g");
    }
    const std::string yaml = config(
        "      - source: public.users_c\n        soft_delete: deleted_at\n"
        "        cursor: updated_at\n        batch_rows: 10\n        snapshot_chunk_rows: 10\n"
        "      - source: public.users_x\n        soft_delete: deleted_at\n        batch_rows: "
        "10\n");
    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    for (const std::string table : {"users_c", "users_x"}) {
        expect_same_rows("SELECT id, name, deleted_at, updated_at FROM " + table +
                             " WHERE deleted_at IS NULL ORDER BY id",
                         "SELECT id, name, deleted_at, updated_at FROM " + table + " ORDER BY id");
        exec_source("UPDATE " + table +
                    " SET deleted_at = now(), updated_at = now() "
                    "WHERE id % 3 = 0 AND deleted_at IS NULL; "
                    "UPDATE " +
                    table +
                    " SET deleted_at = NULL, name = 'back', "
                    "updated_at = now() WHERE id IN (10, 20); "
                    "UPDATE " +
                    table + " SET name = 'renamed', updated_at = now() WHERE id = 1");
    }
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    for (const std::string table : {"users_c", "users_x"}) {
        expect_same_rows("SELECT id, name, deleted_at, updated_at FROM " + table +
                             " WHERE deleted_at IS NULL ORDER BY id",
                         "SELECT id, name, deleted_at, updated_at FROM " + table + " ORDER BY id");
    }
}

TEST_F(CopyRows, InsertModeNeverUpdatesARowAlreadyOnTheReplica) {
    for (const char* table : {"log_c", "log_x"}) {
        exec_source("CREATE TABLE " + std::string(table) +
                    " (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT now());"
                    " INSERT INTO " +
                    table +
                    " (id, v) SELECT g, 'first ' || g "
                    "FROM generate_series(1, 40) g");
    }
    const std::string yaml = config(
        "      - source: public.log_c\n        mode: insert\n        cursor: updated_at\n"
        "        batch_rows: 10\n        snapshot_chunk_rows: 10\n"
        "      - source: public.log_x\n        mode: insert\n        batch_rows: 10\n        "
        "snapshot_chunk_rows: 10\n");
    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    for (const std::string table : {"log_c", "log_x"}) {
        const std::string query = "SELECT id, v, updated_at FROM " + table + " ORDER BY id";
        expect_same_rows(query, query);
        Rows expected = query_replica_rows(query);
        // A row changed on the replica by someone else stays as it is, too.
        exec_replica("UPDATE " + table + " SET v = 'edited on the replica' WHERE id = 3");
        expected[2][1] = "edited on the replica";
        exec_source("UPDATE " + table +
                    " SET v = 'changed', updated_at = now() "
                    "WHERE id % 2 = 1; INSERT INTO " +
                    table + " (id, v) SELECT g, 'new ' || g FROM generate_series(41, 55) g");
        for (const Row& row : query_source_rows("SELECT id, v, updated_at FROM " + table +
                                                " WHERE id > 40 ORDER BY id")) {
            expected.push_back(row);
        }
        std::sort(expected.begin(), expected.end(),
                  [](const Row& a, const Row& b) { return std::stoi(*a[0]) < std::stoi(*b[0]); });
        CliResult second = run_once(yaml);
        ASSERT_EQ(second.exit_status, 0) << second.err;
        EXPECT_TRUE(compare_rows(expected, query_replica_rows(query))) << "table " << table;
    }
}

TEST_F(CopyRows, MirrorAndCursorNoneRemoveRowsDeletedOnTheSource) {
    for (const char* table : {"ref_none", "ref_mirror"}) {
        exec_source("CREATE TABLE " + std::string(table) +
                    " (id int PRIMARY KEY, v text); INSERT INTO " + table +
                    " SELECT g, 'v' || g FROM generate_series(1, 50) g");
    }
    const std::string yaml = config(
        "      - source: public.ref_none\n        cursor: none\n        batch_rows: 10\n        "
        "snapshot_chunk_rows: 10\n"
        "      - source: public.ref_mirror\n        mode: mirror\n        batch_rows: 10\n        "
        "snapshot_chunk_rows: 10\n");
    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    for (const std::string table : {"ref_none", "ref_mirror"}) {
        const std::string query = "SELECT id, v FROM " + table + " ORDER BY id";
        expect_same_rows(query, query);
        exec_source("DELETE FROM " + table +
                    " WHERE id % 4 = 0 OR id BETWEEN 20 AND 35; "
                    "UPDATE " +
                    table +
                    " SET v = 'changed' WHERE id % 5 = 1; "
                    "INSERT INTO " +
                    table + " SELECT g, 'new' FROM generate_series(60, 64) g");
    }
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    for (const std::string table : {"ref_none", "ref_mirror"}) {
        const std::string query = "SELECT id, v FROM " + table + " ORDER BY id";
        expect_same_rows(query, query);
        exec_source("DELETE FROM " + table);
    }
    CliResult third = run_once(yaml);
    ASSERT_EQ(third.exit_status, 0) << third.err;
    for (const std::string table : {"ref_none", "ref_mirror"}) {
        EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM " + table), "0") << table;
    }
}

// Rows that leave and re-enter the filter, or are soft-deleted and restored, while the daemon
// is still taking the snapshot and afterwards: once the writes stop, the replica holds exactly
// the matching rows.
TEST_F(CopyRows, FilterAndSoftDeleteChangesDuringTheSnapshotConverge) {
    for (const char* table : {"subs_c", "subs_x"}) {
        exec_source("CREATE TABLE " + std::string(table) +
                    " (id int PRIMARY KEY, status text NOT NULL, deleted_at timestamptz, "
                    "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO " +
                    table +
                    " (id, status) SELECT g, CASE WHEN g % 4 = 0 THEN 'draft' ELSE 'live' END "
                    "FROM generate_series(1, 30000) g");
    }
    const std::string options =
        "        where: \"status <> 'draft'\"\n        soft_delete: deleted_at\n"
        "        batch_rows: 500\n        snapshot_chunk_rows: 500\n        poll_interval: 200ms\n";
    const std::string yaml = config("      - source: public.subs_c\n        cursor: updated_at\n" +
                                        options + "      - source: public.subs_x\n" + options,
                                    "parallel: 2\n");
    SyncsetProcess daemon({"run"}, yaml);
    BackgroundWriter writer(source_dsn(), [rng = std::mt19937(7)](PlainConnection& conn,
                                                                  std::uint64_t n) mutable {
        const std::string table = n % 2 == 0 ? "subs_c" : "subs_x";
        const int from = std::uniform_int_distribution<int>(1, 29900)(rng);
        const std::string range =
            " WHERE id BETWEEN " + std::to_string(from) + " AND " + std::to_string(from + 50);
        switch (n / 2 % 4) {
            case 0:
                conn.exec("UPDATE " + table + " SET status = 'draft', updated_at = now()" + range);
                break;
            case 1:
                conn.exec("UPDATE " + table + " SET status = 'live', updated_at = now()" + range);
                break;
            case 2:
                conn.exec("UPDATE " + table + " SET deleted_at = now(), updated_at = now()" +
                          range);
                break;
            default:
                conn.exec("UPDATE " + table + " SET deleted_at = NULL, updated_at = now()" + range);
                break;
        }
    });
    std::this_thread::sleep_for(4s);
    writer.stop();
    EXPECT_GT(writer.steps_done(), 50U) << writer.last_error();
    for (const std::string table : {"subs_c", "subs_x"}) {
        EXPECT_TRUE(eventually_same_rows(
            "SELECT id, status, deleted_at, updated_at FROM " + table +
                " WHERE status <> 'draft' AND deleted_at IS NULL ORDER BY id",
            "SELECT id, status, deleted_at, updated_at FROM " + table + " ORDER BY id", 60s))
            << table << "\n"
            << daemon.describe();
    }
    ASSERT_TRUE(daemon.running()) << daemon.describe();
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(20s), std::optional<int>(0)) << daemon.describe();
}

// More tables than workers (parallel: 2): every table keeps being polled and converges.
TEST_F(CopyRows, MoreTablesThanWorkersAllConverge) {
    constexpr int k_tables = 8;
    std::string tables;
    for (int i = 1; i <= k_tables; ++i) {
        const std::string name = "t" + std::to_string(i);
        exec_source("CREATE TABLE " + name +
                    " (id int PRIMARY KEY, v int NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO " +
                    name + " (id, v) SELECT g, g FROM generate_series(1, 2000) g");
        tables += "      - source: public." + name + "\n" +
                  (i % 2 == 0 ? "        cursor: updated_at\n" : "") +
                  "        batch_rows: 300\n        snapshot_chunk_rows: 300\n        "
                  "poll_interval: 200ms\n";
    }
    SyncsetProcess daemon({"run"}, config(tables, "parallel: 2\n"));
    BackgroundWriter writer(source_dsn(), [](PlainConnection& conn, std::uint64_t n) {
        const std::string name = "t" + std::to_string(1 + n % k_tables);
        conn.exec("UPDATE " + name + " SET v = v + 1, updated_at = now() WHERE id % 50 = " +
                  std::to_string(n % 50) + "; INSERT INTO " + name + " (id, v) VALUES (" +
                  std::to_string(10000 + n) + ", 0)");
    });
    std::this_thread::sleep_for(3s);
    writer.stop();
    EXPECT_GT(writer.steps_done(), 20U) << writer.last_error();
    for (int i = 1; i <= k_tables; ++i) {
        const std::string query =
            "SELECT id, v, updated_at FROM t" + std::to_string(i) + " ORDER BY id";
        EXPECT_TRUE(eventually_same_rows(query, query, 30s)) << "t" << i << "\n"
                                                             << daemon.describe();
    }
    ASSERT_TRUE(daemon.running()) << daemon.describe();
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(20s), std::optional<int>(0)) << daemon.describe();
}

}  // namespace
}  // namespace syncset::test
