// `syncset resync CONFIG --replica NAME --table TARGET`: one replica table is re-copied from the
// source through the upsert path, by a running daemon at its next poll or by the next run,
// without dropping the table and without touching the others. Bad names exit 2 naming what
// exists.
#include <gtest/gtest.h>

#include <string>

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

    std::string m_yaml;
};

TEST_F(CliResync, ATableIsReCopiedByTheNextRunAndTheOthersAreNotTouched) {
    ASSERT_EQ(run_once(m_yaml).exit_status, 0);
    damage_the_replica();

    CliResult resync = run_syncset({"resync", "--replica", "r", "--table", "public.items"}, m_yaml);
    ASSERT_EQ(resync.exit_status, 0) << resync.err;
    EXPECT_NE(resync.out.find("replica r: public.items: resync requested"), std::string::npos)
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
