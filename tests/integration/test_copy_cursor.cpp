// Promise 2 against the two classic cursor bugs:
// - late commit: a transaction sets its cursor value early and commits after the loop has synced
//   later values; the row must still arrive (for a now() timestamp cursor, a sequence cursor and
//   the xmin cursor);
// - ties: more rows share one cursor value than fit in a batch; none may be skipped at the batch
//   boundary, in the snapshot or in an incremental round.
#include <gtest/gtest.h>

#include <csignal>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

class CopyCursor : public CopyTest {
  protected:
    // Runs the late-commit scenario against a running daemon on table `items` (id, v, ...).
    // `late_change` runs inside the late transaction and must set v = 'late' on row `late_id`
    // (by update or insert); `on_time_change(k)` commits a row with id `on_time_id(k)`.
    // `sync_dsn` is the source DSN syncset uses (default: the superuser's). `before_commit`, when
    // given, runs in the late transaction just before its COMMIT: then `late_change` only fixes
    // the late value (now(), nextval) and the transaction's first write, which gives it an xid,
    // comes late too.
    void late_commit_scenario(const std::string& table_options, const std::string& late_change,
                              const std::string& late_id,
                              const std::function<std::string(int)>& on_time_change,
                              const std::function<std::string(int)>& on_time_id,
                              const std::string& sync_dsn = "",
                              const std::string& before_commit = "") {
        const std::string yaml = config_with_source(
            sync_dsn.empty() ? source_dsn() : sync_dsn,
            "      - source: public.items\n" + table_options + "        poll_interval: 200ms\n");
        const std::string all = "SELECT id, v FROM items ORDER BY id";
        SyncsetProcess daemon({"run"}, yaml);
        ASSERT_TRUE(eventually_same_rows(all, all, 30s)) << daemon.describe();

        PlainConnection late(source_dsn(), "app-late");
        late.exec("BEGIN");
        late.exec(late_change);
        // The late value is now fixed (now() of this transaction, a sequence number, an xid).
        std::this_thread::sleep_for(300ms);

        PlainConnection app(source_dsn(), "app");
        for (int k = 1; k <= 5; ++k) {
            app.exec(on_time_change(k));
            const std::string id = on_time_id(k);
            ASSERT_TRUE(wait_until(
                [&] {
                    return query_value(Server::replica, "SELECT count(*) FROM items WHERE id = " +
                                                            id + " AND v = 'on time'") == "1";
                },
                10s))
                << "a row committed while an older transaction is open must still sync (row " << id
                << ")\n"
                << daemon.describe();
            std::this_thread::sleep_for(250ms);  // several polls pass with the transaction open
        }
        ASSERT_TRUE(daemon.running()) << daemon.describe();

        if (!before_commit.empty()) {
            late.exec(before_commit);
        }
        late.exec("COMMIT");
        EXPECT_TRUE(wait_until(
            [&] {
                return query_value(Server::replica, "SELECT count(*) FROM items WHERE id = " +
                                                        late_id + " AND v = 'late'") == "1";
            },
            8s))
            << "the late-committed row " << late_id << " never arrived\n"
            << daemon.describe();
        EXPECT_TRUE(eventually_same_rows(all, all, 5s)) << daemon.describe();

        daemon.send_signal(SIGTERM);
        const auto status = daemon.wait(15s);
        EXPECT_EQ(status, std::optional<int>(0)) << daemon.describe();
    }
};

TEST_F(CopyCursor, LateCommitOfATimestampCursorRowArrives) {
    exec_source(R"sql(
        CREATE TABLE items (id bigint PRIMARY KEY, v text,
                            updated_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO items (id, v) SELECT g, 'initial' FROM generate_series(1, 10) g;)sql");
    late_commit_scenario(
        "        cursor: updated_at\n",
        "UPDATE items SET v = 'late', updated_at = now() WHERE id = 5", "5",
        [](int k) {
            return k == 3 ? std::string(
                                "UPDATE items SET v = 'on time', updated_at = now() "
                                "WHERE id = 6")
                          : "INSERT INTO items (id, v) VALUES (" + std::to_string(100 + k) +
                                ", 'on time')";
        },
        [](int k) { return k == 3 ? std::string("6") : std::to_string(100 + k); });
}

TEST_F(CopyCursor, LateCommitOfASequenceCursorRowArrives) {
    exec_source(R"sql(
        CREATE TABLE items (id bigserial PRIMARY KEY, v text);
        INSERT INTO items (v) SELECT 'initial' FROM generate_series(1, 10);)sql");
    // The late transaction takes id 11; the on-time ones 12..16.
    late_commit_scenario(
        "        cursor: id\n", "INSERT INTO items (v) VALUES ('late')", "11",
        [](int) { return std::string("INSERT INTO items (v) VALUES ('on time')"); },
        [](int k) { return std::to_string(11 + k); });
}

// Its writers connect and write at once, so PostgreSQL may count their writes only 10 s later
// (an idle session's deferred statistics flush), and an idle-table poll skip would wait for
// that: a 2 s xmin_full_scan_interval bounds the wait, and the test stays about late commits.
TEST_F(CopyCursor, LateCommitUnderTheXminCursorArrives) {
    exec_source(R"sql(
        CREATE TABLE items (id bigint PRIMARY KEY, v text);
        INSERT INTO items SELECT g, 'initial' FROM generate_series(1, 10) g;)sql");
    late_commit_scenario(
        "        cursor: xmin\n        xmin_full_scan_interval: 2s\n",
        "UPDATE items SET v = 'late' WHERE id = 5", "5",
        [](int k) {
            return "INSERT INTO items (id, v) VALUES (" + std::to_string(100 + k) + ", 'on time')";
        },
        [](int k) { return std::to_string(100 + k); });
}

// The late transaction reads first and writes last, as an ORM request does: it has no xid while
// the later rows are synced, so it is invisible in pg_current_snapshot(); only its xact_start
// (pg_stat_activity) shows it is open. Its row carries the transaction's start time.
TEST_F(CopyCursor, LateFirstWriteOfATimestamptzCursorRowArrives) {
    exec_source(R"sql(
        CREATE TABLE items (id bigint PRIMARY KEY, v text,
                            updated_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO items (id, v) SELECT g, 'initial' FROM generate_series(1, 10) g;)sql");
    late_commit_scenario(
        "        cursor: updated_at\n", "SELECT now()", "5",
        [](int k) {
            return "INSERT INTO items (id, v) VALUES (" + std::to_string(100 + k) + ", 'on time')";
        },
        [](int k) { return std::to_string(100 + k); }, "",
        "UPDATE items SET v = 'late', updated_at = now() WHERE id = 5");
}

// The same with `timestamp without time zone`, the other common type of an updated_at column
// set from the database clock.
TEST_F(CopyCursor, LateFirstWriteOfATimestampCursorRowArrives) {
    exec_source(R"sql(
        CREATE TABLE items (id bigint PRIMARY KEY, v text,
                            updated_at timestamp NOT NULL DEFAULT now());
        INSERT INTO items (id, v) SELECT g, 'initial' FROM generate_series(1, 10) g;)sql");
    late_commit_scenario(
        "        cursor: updated_at\n", "SELECT now()", "5",
        [](int k) {
            return "INSERT INTO items (id, v) VALUES (" + std::to_string(100 + k) + ", 'on time')";
        },
        [](int k) { return std::to_string(100 + k); }, "",
        "UPDATE items SET v = 'late', updated_at = now() WHERE id = 5");
}

// A sequence value taken early and inserted late. nextval assigns no xid unless it writes WAL
// (once per 32 values, and on the first call after a checkpoint): here the 11th value comes
// from the log of the first, so the late transaction has no xid while the later rows sync.
TEST_F(CopyCursor, LateInsertOfAnEarlySequenceValueArrives) {
    exec_source(R"sql(
        CREATE TABLE items (id bigserial PRIMARY KEY, v text);
        INSERT INTO items (v) SELECT 'initial' FROM generate_series(1, 10);)sql");
    late_commit_scenario(
        "        cursor: id\n", "SELECT nextval('items_id_seq')", "11",
        [](int) { return std::string("INSERT INTO items (v) VALUES ('on time')"); },
        [](int k) { return std::to_string(11 + k); }, "",
        "INSERT INTO items (id, v) VALUES (currval('items_id_seq'), 'late')");
}

// A role that may read the table but not other sessions' activity (no pg_read_all_stats):
// the late-commit rule must hold without pg_stat_activity, by the look-back window for a time
// cursor and by the snapshot's in-progress transactions for a sequence cursor.
TEST_F(CopyCursor, LateCommitIsCaughtWithoutPgReadAllStats) {
    exec_source(R"sql(
        CREATE TABLE items (id bigint PRIMARY KEY, v text,
                            updated_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO items (id, v) SELECT g, 'initial' FROM generate_series(1, 10) g;)sql");
    const std::string password = "pw-no-stats";
    const std::string role = create_login_role(password);
    exec_source("GRANT SELECT ON items TO " + role);
    late_commit_scenario(
        "        cursor: updated_at\n",
        "UPDATE items SET v = 'late', updated_at = now() WHERE id = 5", "5",
        [](int k) {
            return "INSERT INTO items (id, v) VALUES (" + std::to_string(100 + k) + ", 'on time')";
        },
        [](int k) { return std::to_string(100 + k); }, dsn_as(Server::source, role, password));
}

TEST_F(CopyCursor, LateCommitOfASequenceCursorRowIsCaughtWithoutPgReadAllStats) {
    exec_source(R"sql(
        CREATE TABLE items (id bigserial PRIMARY KEY, v text);
        INSERT INTO items (v) SELECT 'initial' FROM generate_series(1, 10);)sql");
    const std::string password = "pw-no-stats-seq";
    const std::string role = create_login_role(password);
    exec_source("GRANT SELECT ON items TO " + role);
    late_commit_scenario(
        "        cursor: id\n", "INSERT INTO items (v) VALUES ('late')", "11",
        [](int) { return std::string("INSERT INTO items (v) VALUES ('on time')"); },
        [](int k) { return std::to_string(11 + k); }, dsn_as(Server::source, role, password));
}

// 2,500 rows share one cursor value (more than twice batch_rows), in the snapshot and in an
// incremental round, for a timestamp cursor and an integer one.
TEST_F(CopyCursor, TiesLargerThanABatchAllArrive) {
    exec_source(R"sql(
        CREATE TABLE ties (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
        INSERT INTO ties SELECT g, 'a' || g, CASE WHEN g <= 100 THEN timestamptz '2024-01-01 00:00+00'
                                                   WHEN g <= 2600 THEN timestamptz '2024-01-02 00:00+00'
                                                   ELSE timestamptz '2024-01-03 00:00+00' END
            FROM generate_series(1, 2700) g;
        CREATE TABLE ties_int (id int PRIMARY KEY, version bigint NOT NULL, v text);
        INSERT INTO ties_int SELECT g, CASE WHEN g <= 2500 THEN 7 ELSE 8 END, 'a' || g
            FROM generate_series(1, 2600) g;)sql");
    const std::string yaml = config(
        "      - source: public.ties\n        cursor: updated_at\n        batch_rows: 1000\n       "
        " snapshot_chunk_rows: 1000\n"
        "      - source: public.ties_int\n        cursor: version\n        batch_rows: 1000\n      "
        "  snapshot_chunk_rows: 1000\n");
    const std::string ties = "SELECT id, v, updated_at FROM ties ORDER BY id";
    const std::string ties_int = "SELECT id, version, v FROM ties_int ORDER BY id";

    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    expect_same_rows(ties, ties);
    expect_same_rows(ties_int, ties_int);

    // One transaction: every changed and new row gets the same now().
    exec_source(R"sql(
        BEGIN;
        UPDATE ties SET v = v || '+', updated_at = now() WHERE id % 2 = 0;
        INSERT INTO ties SELECT g, 'b' || g, now() FROM generate_series(2701, 5200) g;
        COMMIT;
        UPDATE ties_int SET version = 9, v = v || '+' WHERE id BETWEEN 1 AND 2500;
        INSERT INTO ties_int SELECT g, 9, 'b' || g FROM generate_series(2601, 3000) g;)sql");
    ASSERT_EQ(query_value(Server::source,
                          "SELECT count(*) FROM ties WHERE updated_at = "
                          "(SELECT max(updated_at) FROM ties)"),
              "3850");
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    expect_same_rows(ties, ties);
    expect_same_rows(ties_int, ties_int);
}

}  // namespace
}  // namespace syncset::test
