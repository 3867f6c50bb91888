// The xmin cursor without a full scan per poll: a poll reads the table only when the source's
// write counters for it moved since the last full poll, and at least every
// xmin_full_scan_interval. These tests guard both halves of that promise: an idle table is not
// read in full every poll, and a change still arrives, quickly when its statistics are counted
// and within xmin_full_scan_interval + poll_interval when they never are.
//
// "Rows read" is what the source's statistics say was read from the table:
// pg_stat_user_tables.seq_tup_read + idx_tup_fetch. Only syncset reads the table once it is
// set up (the tests look at the replica alone), and a session flushes its statistics at most
// once a second, so every measurement window here is a few seconds long and the bounds loose.
//
// A session that commits within a second of its last statistics flush and then stays idle
// flushes 10 s later (PostgreSQL 15's PGSTAT_IDLE_INTERVAL): the setup forces its flush, and
// the writers below wait a second after connecting, as a session that has been open a while.
#include <gtest/gtest.h>

#include <csignal>
#include <memory>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

constexpr int k_rows = 10000;

class CopyXminIdle : public CopyTest {
  protected:
    void create_items() {
        exec_source(
            "CREATE TABLE items (id bigint PRIMARY KEY, v text); "
            "INSERT INTO items SELECT g, 'initial' FROM generate_series(1, " +
            std::to_string(k_rows) + ") g;");
        flush_statistics();
    }

    // The fixture's session flushes its statistics when it next goes idle, not 10 s later.
    void flush_statistics() { exec_source("SELECT pg_stat_force_next_flush()"); }

    // A writing application whose session has been open for a while.
    std::unique_ptr<PlainConnection> writer(const std::string& name) {
        auto app = std::make_unique<PlainConnection>(source_dsn(), name);
        std::this_thread::sleep_for(1100ms);
        return app;
    }

    // At debug level the log says why each poll that read the table did.
    std::string items_config(const std::string& options) const {
        return config(
            "      - source: public.items\n        cursor: xmin\n"
            "        poll_interval: 200ms\n" +
                options,
            "log:\n  level: debug\n");
    }

    // Rows the source's statistics say were read from items (and its partitions) so far.
    std::int64_t rows_read() {
        return std::stoll(
            query_value(Server::source,
                        "SELECT coalesce(sum(seq_tup_read + coalesce(idx_tup_fetch, 0)), 0) "
                        "FROM pg_stat_user_tables WHERE relid = 'items'::regclass "
                        "OR relid IN (SELECT relid FROM pg_partition_tree('items'))"));
    }

    // Rows read by syncset over `window`, once the snapshot and the first polls are done and
    // their statistics flushed.
    std::int64_t rows_read_while_idle(SyncsetProcess& daemon, std::chrono::milliseconds window) {
        EXPECT_TRUE(wait_until(
            [&] {
                return query_value(Server::replica, "SELECT count(*) FROM items") ==
                       std::to_string(k_rows);
            },
            60s))
            << daemon.describe();
        std::this_thread::sleep_for(2s);
        const std::int64_t before = rows_read();
        std::this_thread::sleep_for(window);
        const std::int64_t after = rows_read();
        EXPECT_TRUE(daemon.running()) << daemon.describe();
        return after - before;
    }

    bool arrives(const std::string& id, const std::string& v, std::chrono::milliseconds within) {
        return wait_until(
            [&] {
                return query_value(Server::replica, "SELECT count(*) FROM items WHERE id = " + id +
                                                        " AND v = '" + v + "'") == "1";
            },
            within, 20ms);
    }

    static void stop(SyncsetProcess& daemon) {
        daemon.send_signal(SIGTERM);
        EXPECT_EQ(daemon.wait(15s), std::optional<int>(0)) << daemon.describe();
    }
};

// About 15 polls in the window: reading the table each time would be 15 x k_rows rows. The
// start-up reads (the exact count for the snapshot estimate, the snapshot, the first poll: 3 x
// k_rows) may still be counted inside the window: the daemon's session flushes its statistics
// up to 10 s late once idle (PGSTAT_IDLE_INTERVAL), as seen under ASan.
TEST_F(CopyXminIdle, AnIdleTableIsNotReadInFullOnEveryPoll) {
    create_items();
    SyncsetProcess daemon({"run"}, items_config(""));
    const std::int64_t read = rows_read_while_idle(daemon, 3s);
    RecordProperty("rows_read", std::to_string(read));
    EXPECT_LE(read, 4 * k_rows) << "an idle xmin table was read in full on (nearly) every poll: "
                                << read << " rows read in 3 s at poll_interval 200ms\n"
                                << daemon.describe();
    stop(daemon);
}

// The measurement above can fail: with xmin_full_scan_interval 0 (the old behaviour) every
// poll reads the whole table.
TEST_F(CopyXminIdle, AZeroFullScanIntervalReadsTheTableOnEveryPoll) {
    create_items();
    SyncsetProcess daemon({"run"}, items_config("        xmin_full_scan_interval: 0\n"));
    const std::int64_t read = rows_read_while_idle(daemon, 3s);
    RecordProperty("rows_read", std::to_string(read));
    EXPECT_GE(read, 5 * k_rows) << "xmin_full_scan_interval 0 must scan every poll: " << read
                                << " rows read in 3 s at poll_interval 200ms\n"
                                << daemon.describe();
    stop(daemon);
}

// A change after many skipped polls arrives within a poll of its statistics flush (a commit a
// second or more after the session's last flush flushes at once), far sooner than the 60 s
// full-scan interval.
TEST_F(CopyXminIdle, AChangeAfterALongIdleArrivesWithinAPollOfItsStatisticsFlush) {
    create_items();
    SyncsetProcess daemon({"run"}, items_config(""));
    rows_read_while_idle(daemon, 2s);
    auto app = writer("app");
    const auto at = Clock::now();
    app->exec("BEGIN");
    app->exec("UPDATE items SET v = 'changed' WHERE id = 7");
    app->exec("INSERT INTO items VALUES (" + std::to_string(k_rows + 1) + ", 'new')");
    app->exec("COMMIT");
    EXPECT_TRUE(arrives("7", "changed", 3s)) << daemon.describe();
    EXPECT_TRUE(arrives(std::to_string(k_rows + 1), "new", 1s)) << daemon.describe();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - at);
    EXPECT_LT(took, 3s) << "took " << took.count() << " ms";
    stop(daemon);
}

// A session holds back the counts of a write made within a second of its last flush for up to
// 10 s when it then goes idle: the first write of a burst flushes at once, the rest would wait
// for the next full scan but for the polls that keep reading the table after the counters move.
TEST_F(CopyXminIdle, TheRestOfABurstArrivesWithoutWaitingForItsDeferredStatistics) {
    create_items();
    SyncsetProcess daemon({"run"}, items_config(""));
    rows_read_while_idle(daemon, 1s);
    auto app = writer("app-burst");
    app->exec("UPDATE items SET v = 'first' WHERE id = 3");
    std::this_thread::sleep_for(300ms);
    app->exec("UPDATE items SET v = 'second' WHERE id = 4");
    const auto at = Clock::now();
    EXPECT_TRUE(arrives("3", "first", 3s)) << daemon.describe();
    EXPECT_TRUE(arrives("4", "second", 3s))
        << "a write whose statistics flush is deferred waited for more than a few polls\n"
        << daemon.describe();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - at);
    EXPECT_LT(took, 3s) << "took " << took.count() << " ms";
    stop(daemon);
}

// The bound: a write the statistics never count (its session has track_counts off) still
// arrives, by the full poll due every xmin_full_scan_interval, within
// xmin_full_scan_interval + poll_interval of its commit (plus slack for the poll itself).
TEST_F(CopyXminIdle, AChangeTheStatisticsNeverCountArrivesWithinTheFullScanInterval) {
    create_items();
    SyncsetProcess daemon({"run"}, items_config("        xmin_full_scan_interval: 2s\n"));
    rows_read_while_idle(daemon, 1s);
    auto app = writer("app-uncounted");
    app->exec("SET track_counts = off");
    const auto at = Clock::now();
    app->exec("UPDATE items SET v = 'uncounted' WHERE id = 9");
    EXPECT_TRUE(arrives("9", "uncounted", 2200ms + 1500ms))
        << "an uncounted change must arrive within xmin_full_scan_interval + poll_interval\n"
        << daemon.describe();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - at);
    RecordProperty("uncounted_change_ms", static_cast<int>(took.count()));
    stop(daemon);
}

// A partitioned table's parent has no counters of its own: the counters are summed over its
// partitions, so a write to one of them is seen at the next poll, not at the next full scan.
TEST_F(CopyXminIdle, AWriteToAPartitionIsCountedForItsPartitionedTable) {
    exec_source(R"sql(
        CREATE TABLE items (id bigint PRIMARY KEY, v text) PARTITION BY RANGE (id);
        CREATE TABLE items_low PARTITION OF items FOR VALUES FROM (1) TO (5001);
        CREATE TABLE items_high PARTITION OF items FOR VALUES FROM (5001) TO (MAXVALUE);
        INSERT INTO items SELECT g, 'initial' FROM generate_series(1, 10000) g;)sql");
    flush_statistics();
    SyncsetProcess daemon({"run"}, items_config(""));
    rows_read_while_idle(daemon, 1s);
    auto app = writer("app");
    app->exec("UPDATE items SET v = 'changed' WHERE id = 9000");
    EXPECT_TRUE(arrives("9000", "changed", 3s)) << daemon.describe();
    stop(daemon);
}

// A skipped poll commits the unchanged checkpoint: status, check and the drift scanner tell a
// live loop by last_success.
TEST_F(CopyXminIdle, SkippedPollsStillMarkTheTableAlive) {
    create_items();
    SyncsetProcess daemon({"run"}, items_config(""));
    rows_read_while_idle(daemon, 1s);
    const std::string last_success_ms =
        "SELECT (extract(epoch FROM last_success) * 1000)::bigint FROM _syncset.tables "
        "WHERE target_name = 'items'";
    const std::int64_t first = std::stoll(query_value(Server::replica, last_success_ms));
    std::this_thread::sleep_for(1s);
    const std::int64_t later = std::stoll(query_value(Server::replica, last_success_ms));
    EXPECT_GT(later, first) << "last_success did not move while polls were skipped\n"
                            << daemon.describe();
    stop(daemon);
}

}  // namespace
}  // namespace syncset::test
