// Snapshot progress: the rows a snapshot has copied and its estimated total are kept in the
// table's state row, committed with each chunk, so `status` shows how far a long snapshot is
// (percent, rows per second, ETA) also after a crash, and the count never includes a chunk that
// was rolled back. A small table gets an exact count (row filter applied), a large analyzed one
// the planner's estimate.
#include <gtest/gtest.h>

#include <string>

#include "copy_harness.hpp"
#include "notify_socket.hpp"

namespace syncset::test {
namespace {

class CopySnapshotProgress : public CopyTest {
  protected:
    std::string state_of(const std::string& column) {
        return query_value(
            Server::replica,
            "SELECT " + column + " FROM _syncset.tables WHERE target_name = 'items'");
    }
};

TEST_F(CopySnapshotProgress, ASmallFilteredTableIsCountedExactlyAndEveryCopiedRowIsCounted) {
    exec_source(
        "CREATE TABLE items (id int PRIMARY KEY, v text); "
        "INSERT INTO items SELECT g, 'x' FROM generate_series(1, 20000) g;");
    const std::string yaml = config(
        "      - source: public.items\n        cursor: none\n        where: \"id % 2 = 0\"\n"
        "        snapshot_chunk_rows: 1000\n");
    CliResult once = run_once(yaml);
    ASSERT_EQ(once.exit_status, 0) << once.err;
    EXPECT_EQ(state_of("snapshot_rows_estimated"), "10000") << "an exact count, filter applied";
    EXPECT_EQ(state_of("snapshot_rows_done"), "10000");
    EXPECT_EQ(state_of("snapshot_started_at IS NOT NULL"), "t");
    EXPECT_NE(once.err.find("snapshot started"), std::string::npos) << once.err;
    EXPECT_NE(once.err.find("rows_estimated=10000"), std::string::npos) << once.err;

    // Done: status shows no snapshot under way.
    CliResult status = run_syncset({"status", "--json"}, yaml);
    ASSERT_EQ(status.exit_status, 0) << status.err;
    EXPECT_NE(status.out.find(R"("snapshot":null)"), std::string::npos) << status.out;
}

TEST_F(CopySnapshotProgress, ALargeAnalyzedTableTakesThePlannersEstimateWithoutCountingIt) {
    // A plain (not partitioned) table the planner believes large: its reltuples is the
    // estimate, and no count(*) scans it first. Set by hand so a count would show (10 rows).
    exec_source(
        "CREATE TABLE items (id int PRIMARY KEY, v text); "
        "INSERT INTO items SELECT g, 'x' FROM generate_series(1, 10) g; ANALYZE items; "
        "UPDATE pg_class SET reltuples = 250000 WHERE oid = 'items'::regclass;");
    CliResult once = run_once(config("      - source: public.items\n        cursor: none\n"));
    ASSERT_EQ(once.exit_status, 0) << once.err;
    EXPECT_EQ(state_of("snapshot_rows_estimated"), "250000") << "pg_class.reltuples";
    EXPECT_EQ(state_of("snapshot_rows_done"), "10");
}

TEST_F(CopySnapshotProgress, AfterKillNineMidSnapshotStatusShowsHowFarAndTheCountStaysExact) {
    constexpr int k_rows = 200000;
    exec_source(
        "CREATE TABLE items (id int PRIMARY KEY, v text); "
        "INSERT INTO items SELECT g, 'x' FROM generate_series(1, " +
        std::to_string(k_rows) + ") g; ANALYZE items;");
    // Every 200th row sleeps 10 ms at the source: about 10 s for the whole snapshot, so the
    // test stops it in the middle with seconds to spare.
    const std::string yaml = config(
        "      - source: public.items\n        cursor: none\n"
        "        where: \"id % 200 <> 0 OR pg_sleep(0.01) IS NOT NULL\"\n"
        "        snapshot_chunk_rows: 5000\n");
    {
        NotifySocket systemd;
        SyncsetProcess daemon({"run"}, yaml, {"NOTIFY_SOCKET=" + systemd.path()});
        ASSERT_TRUE(wait_until(
            [&] {
                const std::string done =
                    query_value(Server::replica,
                                "SELECT coalesce(max(snapshot_rows_done), 0) FROM _syncset.tables "
                                "WHERE target_name = 'items' AND pending = 'snapshot'");
                return std::stoll(done) >= 50000;
            },
            60s, 10ms))
            << daemon.describe();
        // systemd's STATUS= follows the snapshot too (the loop sends it within 200 ms).
        EXPECT_TRUE(systemd.receive_until(
            [](const std::string& m) { return m.find("; snapshots ") != std::string::npos; }, 5s))
            << systemd.all();
        daemon.kill_now();
    }
    const std::int64_t done = std::stoll(state_of("snapshot_rows_done"));
    EXPECT_EQ(state_of("pending"), "snapshot") << "the test was meant to stop it midway";
    EXPECT_EQ(state_of("snapshot_rows_estimated"), std::to_string(k_rows)) << "reltuples";
    EXPECT_EQ(std::to_string(done), state_of("rows_copied"));
    EXPECT_EQ(std::to_string(done), query_value(Server::replica, "SELECT count(*) FROM items"))
        << "the count is committed with its chunk, never ahead of the rows";

    CliResult text = run_syncset({"status"}, yaml);
    EXPECT_NE(text.out.find("    snapshot "), std::string::npos) << text.out;
    EXPECT_NE(text.out.find(" of ~" + std::to_string(k_rows) + " rows"), std::string::npos)
        << text.out;
    CliResult json = run_syncset({"status", "--json"}, yaml);
    EXPECT_NE(json.out.find(R"("snapshot":{"work":"snapshot","rows_done":)" + std::to_string(done) +
                            R"(,"rows_estimated":200000,"percent":)"),
              std::string::npos)
        << json.out;

    // The restart continues the same snapshot: its count goes on from there to the exact total.
    CliResult once = run_once(yaml);
    ASSERT_EQ(once.exit_status, 0) << once.err;
    EXPECT_EQ(state_of("snapshot_rows_done"), std::to_string(k_rows));
    EXPECT_EQ(state_of("pending"), "none");
}

}  // namespace
}  // namespace syncset::test
