// `syncset resync CONFIG --replica NAME --table TARGET`: one replica table is re-copied from the
// source through the upsert path, by a running daemon after its current batch (even in the
// middle of a long snapshot) or by the next run, without dropping the table and without
// touching the others. The request is recorded at once, without waiting for the daemon. Bad
// names exit 2 naming what exists.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "cli_runner.hpp"
#include "copy_harness.hpp"

namespace syncset::test {
namespace {

class CliResync : public CopyTest {
  protected:
    void SetUp() override {
        CopyTest::SetUp();
        exec_source(
            "CREATE TABLE items (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL "
            "DEFAULT now()); CREATE TABLE other (id int PRIMARY KEY, v text, updated_at "
            "timestamptz NOT NULL DEFAULT now()); "
            "INSERT INTO items SELECT g, 'ok', now() - interval '1 hour' FROM "
            "generate_series(1, 3000) g; "
            "INSERT INTO other SELECT g, 'ok', now() - interval '1 hour' FROM "
            "generate_series(1, 100) g;");
        m_yaml = config(
            "      - source: public.items\n        cursor: updated_at\n"
            "        poll_interval: 200ms\n        snapshot_chunk_rows: 500\n"
            "      - source: public.other\n        cursor: updated_at\n"
            "        poll_interval: 200ms\n");
    }

    // Rows the cursor can never see again: changed on the replica behind its back.
    void damage_the_replica() {
        exec_replica("UPDATE items SET v = 'damaged' WHERE id % 10 = 0");
        exec_replica("UPDATE other SET v = 'damaged' WHERE id = 1");
    }

    // A 150,000-row table whose every 300th row sleeps 10 ms at the source: about 5 s per
    // copy of it, in 5,000-row chunks, so a request can land in the middle of one.
    std::string slow_big_table() {
        exec_source(
            "CREATE TABLE big (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL "
            "DEFAULT now()); INSERT INTO big SELECT g, 'ok', now() - interval '1 hour' FROM "
            "generate_series(1, 150000) g; ANALYZE big;");
        return config(
            "      - source: public.big\n        cursor: updated_at\n"
            "        where: \"id % 300 <> 0 OR pg_sleep(0.01) IS NOT NULL\"\n"
            "        poll_interval: 200ms\n        snapshot_chunk_rows: 5000\n");
    }

    std::string state_of_big(const std::string& column) {
        return query_value(Server::replica,
                           "SELECT " + column + " FROM _syncset.tables WHERE target_name = 'big'");
    }

    // Waits until the daemon's first copy of `big` is a fifth done and still going, then
    // changes rows it has already copied behind its back: only a copy from the first key puts
    // them right again.
    void damage_big_mid_snapshot(SyncsetProcess& daemon) {
        ASSERT_TRUE(wait_until(
            [&] {
                return state_of_big("pending") == "snapshot" &&
                       std::stoll(state_of_big("snapshot_rows_done")) >= 30000;
            },
            60s, 10ms))
            << daemon.describe();
        exec_replica("UPDATE big SET v = 'damaged' WHERE id <= 5000");
    }

    // `syncset resync` for `big`, which must be recorded at once: the daemon holds the table
    // for its whole cycle, which lasts until the snapshot is done.
    void request_resync_of_big(const std::string& yaml) {
        const auto started = std::chrono::steady_clock::now();
        CliResult resync = run_syncset({"resync", "--replica", "r", "--table", "public.big"}, yaml);
        const auto took = std::chrono::steady_clock::now() - started;
        ASSERT_EQ(resync.exit_status, 0) << resync.err;
        EXPECT_LT(took, 3s) << "the request waited for the daemon";
        EXPECT_NE(resync.out.find("replica r: public.big: resync request recorded; a running "
                                  "'syncset run' starts the re-copy after its current batch"),
                  std::string::npos)
            << resync.out;
    }

    std::string m_yaml;
};

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

TEST_F(CliResync, ATableIsReCopiedByTheNextRunAndTheOthersAreNotTouched) {
    ASSERT_EQ(run_once(m_yaml).exit_status, 0);
    damage_the_replica();

    CliResult resync = run_syncset({"resync", "--replica", "r", "--table", "public.items"}, m_yaml);
    ASSERT_EQ(resync.exit_status, 0) << resync.err;
    EXPECT_NE(resync.out.find("replica r: public.items: resync request recorded"),
              std::string::npos)
        << resync.out;
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT pending || ' ' || phase || ' ' || "
                          "(resync_requested_at IS NOT NULL) FROM _syncset.tables "
                          "WHERE target_name = 'items'"),
              "none incremental true")
        << "recorded; the copy loop takes it up";
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM items"), "3000")
        << "the table keeps its rows until the re-copy overwrites them";

    CliResult once = run_once(m_yaml);
    ASSERT_EQ(once.exit_status, 0) << once.err;
    expect_same_rows("SELECT id, v FROM items ORDER BY id", "SELECT id, v FROM items ORDER BY id");
    EXPECT_EQ(query_value(Server::replica, "SELECT v FROM other WHERE id = 1"), "damaged")
        << "only the named table is re-copied";
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT pending || ' ' || snapshot_rows_done || ' ' || "
                          "(resync_requested_at IS NULL) FROM _syncset.tables "
                          "WHERE target_name = 'items'"),
              "none 3000 true");
    EXPECT_NE(once.err.find("resync request taken up"), std::string::npos) << once.err;
}

// The table a user most wants to resync is the one the daemon is busy with. Its poll cycle
// lasts until the snapshot is done, yet the request is accepted at once, and the daemon starts
// the re-copy from the first key after its current chunk: the first pass never finishes, rows
// it had copied are copied again, and the replica ends equal to the source.
TEST_F(CliResync, ARequestMidSnapshotIsAcceptedAtOnceAndTheCopyStartsOverFromTheFirstKey) {
    const std::string yaml = slow_big_table();
    SyncsetProcess daemon({"run"}, yaml);
    damage_big_mid_snapshot(daemon);
    request_resync_of_big(yaml);

    bool status_showed_resync = false;
    ASSERT_TRUE(wait_until(
        [&] {
            if (!status_showed_resync) {
                CliResult status = run_syncset({"status", "--json"}, yaml);
                status_showed_resync =
                    status.out.find(R"("pending":"resync")") != std::string::npos &&
                    status.out.find(R"("work":"resync")") != std::string::npos;
            }
            return state_of_big("pending || ' ' || (resync_requested_at IS NULL)") == "none true";
        },
        60s, 100ms))
        << daemon.describe();
    EXPECT_TRUE(status_showed_resync) << "status --json never showed the re-copy under way";
    EXPECT_TRUE(eventually_same_rows("SELECT id, v FROM big ORDER BY id",
                                     "SELECT id, v FROM big ORDER BY id", 30s))
        << daemon.describe();
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) || ' ' || count(DISTINCT id) FROM big"),
              "150000 150000");
    EXPECT_EQ(state_of_big("snapshot_rows_done"), "150000") << "counted anew from the first key";
    const std::string log = daemon.err();
    EXPECT_EQ(count_of(log, "resync request taken up"), 1U) << log;
    EXPECT_EQ(count_of(log, "snapshot done"), 1U)
        << "the first pass was to be cut short by the re-copy, not finished first\n"
        << log;
    EXPECT_TRUE(daemon.running()) << daemon.describe();
}

// kill -9 at any moment after the request (before the loop takes it up, or during the
// re-copy): the next run still does the re-copy, and the replica ends equal to the source.
TEST_F(CliResync, AResyncRequestedMidSnapshotIsHonouredAfterKillNine) {
    const std::string yaml = slow_big_table();
    {
        SyncsetProcess daemon({"run"}, yaml);
        damage_big_mid_snapshot(daemon);
        request_resync_of_big(yaml);
        std::this_thread::sleep_for(300ms);
        daemon.kill_now();
    }
    EXPECT_EQ(state_of_big("pending <> 'none'"), "t") << "the test was meant to stop it midway";
    CliResult once = run_once(yaml);
    ASSERT_EQ(once.exit_status, 0) << once.err;
    expect_same_rows("SELECT id, v FROM big ORDER BY id", "SELECT id, v FROM big ORDER BY id");
    EXPECT_EQ(state_of_big("pending || ' ' || (resync_requested_at IS NULL)"), "none true");
}

TEST_F(CliResync, ARunningDaemonReCopiesTheTableAtItsNextPoll) {
    SyncsetProcess daemon({"run"}, m_yaml);
    ASSERT_TRUE(eventually_same_rows("SELECT id, v FROM items ORDER BY id",
                                     "SELECT id, v FROM items ORDER BY id", 60s))
        << daemon.describe();
    damage_the_replica();
    CliResult resync = run_syncset({"resync", "--replica", "r", "--table", "public.items"}, m_yaml);
    ASSERT_EQ(resync.exit_status, 0) << resync.err;
    EXPECT_TRUE(eventually_same_rows("SELECT id, v FROM items ORDER BY id",
                                     "SELECT id, v FROM items ORDER BY id", 60s))
        << daemon.describe();
    EXPECT_TRUE(daemon.running()) << daemon.describe();
}

TEST_F(CliResync, UnknownReplicaOrTableExitsTwoNamingWhatExistsAndChangesNothing) {
    ASSERT_EQ(run_once(m_yaml).exit_status, 0);
    CliResult no_replica =
        run_syncset({"resync", "--replica", "nope", "--table", "public.items"}, m_yaml);
    EXPECT_EQ(no_replica.exit_status, 2);
    EXPECT_NE(no_replica.err.find("no replica named 'nope' (replicas: r)"), std::string::npos)
        << no_replica.err;

    CliResult no_table =
        run_syncset({"resync", "--replica", "r", "--table", "public.nope"}, m_yaml);
    EXPECT_EQ(no_table.exit_status, 2);
    EXPECT_NE(no_table.err.find("no table public.nope in its metadata (tables: public.items, "
                                "public.other)"),
              std::string::npos)
        << no_table.err;

    CliResult glob = run_syncset({"resync", "--replica", "r", "--table", "public.*"}, m_yaml);
    EXPECT_EQ(glob.exit_status, 2);
    EXPECT_NE(glob.err.find("is not one table name"), std::string::npos) << glob.err;

    CliResult missing = run_syncset({"resync", "--replica", "r"}, m_yaml);
    EXPECT_EQ(missing.exit_status, 2) << "--table is required";

    EXPECT_EQ(query_value(Server::replica, "SELECT string_agg(pending, ',') FROM _syncset.tables"),
              "none,none");
}

// A daemon of the version before still runs on this metadata schema: it has no column for the
// request and would never read it, so the request is refused rather than lost.
TEST_F(CliResync, AMetadataSchemaNotUpgradedYetIsRefusedWithAHint) {
    ASSERT_EQ(run_once(m_yaml).exit_status, 0);
    exec_replica(
        "ALTER TABLE _syncset.tables DROP COLUMN resync_requested_at, DROP COLUMN claimed_by, "
        "DROP COLUMN claimed_until; "
        "DELETE FROM _syncset.version WHERE version IN (5, 6)");
    CliResult resync = run_syncset({"resync", "--replica", "r", "--table", "public.items"}, m_yaml);
    EXPECT_EQ(resync.exit_status, 2);
    EXPECT_NE(resync.err.find("metadata schema _syncset is at version 4, older than version 5, "
                              "which records resync requests"),
              std::string::npos)
        << resync.err;
    EXPECT_NE(resync.err.find("it upgrades the schema"), std::string::npos) << resync.err;
}

TEST_F(CliResync, AKeylessTableIsRefusedBecauseItsReCopyWouldDuplicateRows) {
    exec_source("CREATE TABLE loose (n int, v text); INSERT INTO loose VALUES (1, 'a'), (1, 'a')");
    const std::string yaml =
        config("      - source: public.loose\n        cursor: none\n        mode: mirror\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    CliResult resync = run_syncset({"resync", "--replica", "r", "--table", "public.loose"}, yaml);
    EXPECT_EQ(resync.exit_status, 2);
    EXPECT_NE(resync.err.find("has no key"), std::string::npos) << resync.err;
    EXPECT_EQ(query_value(Server::replica, "SELECT pending FROM _syncset.tables"), "none");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM loose"), "2");
}

}  // namespace
}  // namespace syncset::test
