// Promises of db::copy_pipe against real servers: bytes arrive unchanged, counts are right, and
// every way of failing or stopping leaves both connections usable and stores nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "pg_fixture.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/copy_pipe.hpp"
#include "syncset/error.hpp"

namespace syncset::test {
namespace {

using namespace std::chrono_literals;

class DbCopyPipe : public PgPairTest {
  protected:
    void open_pair() {
        m_source = db::Connection::open(source_dsn(), "source");
        m_target = db::Connection::open(replica_dsn(), "replica:test");
    }

    // Both connections answer a query, and neither has a statement still running on the server.
    void expect_both_usable() {
        for (auto* conn : {m_source.get(), m_target.get()}) {
            SCOPED_TRACE(conn->role());
            EXPECT_TRUE(conn->is_ok());
            EXPECT_EQ(conn->query("SELECT 1").value(0, 0), "1");
        }
        EXPECT_EQ(query_value(Server::source, "SELECT state FROM pg_stat_activity WHERE pid = " +
                                                  std::to_string(m_source->backend_pid())),
                  "idle");
    }

    // Runs `sql` through the COPY-out primitives on a separate connection: rows and bytes as
    // the server sends them, to check copy_pipe's counts independently.
    db::CopyStats read_copy_out(std::string_view sql) {
        const auto conn = db::Connection::open(source_dsn(), "source:counter");
        conn->copy_out_begin(sql);
        db::CopyStats stats;
        while (const auto row = conn->copy_out_next()) {
            ++stats.rows;
            stats.bytes += row->size();
        }
        return stats;
    }

    std::unique_ptr<db::Connection> m_source;
    std::unique_ptr<db::Connection> m_target;
};

constexpr std::string_view k_awkward_table = "id int PRIMARY KEY, t text, b bytea";

TEST_F(DbCopyPipe, PreservesAwkwardValuesByteForByte) {
    const std::string create = "CREATE TABLE awkward (" + std::string(k_awkward_table) + ")";
    exec_source(create);
    exec_replica(create);
    exec_source(R"sql(
        INSERT INTO awkward VALUES
            (1, NULL, NULL),
            (2, '', ''::bytea),
            (3, E'\t', '\x09'),
            (4, E'a\tb\tc', '\x0a0d'),
            (5, E'line1\nline2\n', '\x5c4e'),
            (6, E'cr\r and crlf\r\n', '\x00'),
            (7, E'back\\slash \\\\ double', '\x5c'),
            (8, '\N', '\x5c2e'),
            (9, E'\\.', '\x2e'),
            (10, E'\\.\n\\.', NULL),
            (11, 'NULL', '\xff'),
            (12, E'emoji 😀🎉 family 👨‍👩‍👧', '\xf09f9880'),
            (13, E'combining e\u0301 vs \u00e9, Zürich, שלום, 日本語', '\xcc81'),
            (14, E'\x01\x02\x1f\x7f', '\x0102'),
            (15, ' leading and trailing ', '\x20'),
            (16, E'\b\f\v', '\x080c0b');
        INSERT INTO awkward
            SELECT 100, NULL, decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex')
            FROM generate_series(0, 255) AS i;
        INSERT INTO awkward
            SELECT 101, repeat(E'1 MB of text\t\\ é 😀\n', 50000),
                   decode(string_agg(lpad(to_hex((i::bigint * 7919) % 256), 2, '0'), ''), 'hex')
            FROM generate_series(1, 1048576) AS i;
    )sql");
    open_pair();

    const db::CopyStats stats =
        db::copy_pipe(*m_source, "COPY (SELECT id, t, b FROM awkward ORDER BY id) TO STDOUT",
                      *m_target, "COPY awkward (id, t, b) FROM STDIN");
    EXPECT_EQ(stats.rows, 18U);
    EXPECT_GT(stats.bytes, 3'000'000U);  // 1 MB of text, 1 MB of bytea as 2 MB of hex

    const std::string summary =
        "SELECT id, t IS NULL, octet_length(t), md5(t), b IS NULL, octet_length(b), md5(b) "
        "FROM awkward ORDER BY id";
    const Rows source_summary = query_source_rows(summary);
    ASSERT_EQ(source_summary.size(), 18U);
    EXPECT_EQ(query_replica_rows(summary), source_summary);
    EXPECT_EQ(source_summary[16][5], std::optional<std::string>("256"));
    EXPECT_EQ(source_summary[17][5], std::optional<std::string>("1048576"));

    const std::string small = "SELECT id, t, b FROM awkward WHERE id < 100 ORDER BY id";
    EXPECT_EQ(query_replica_rows(small), query_source_rows(small));
    // NULL and empty stay apart.
    EXPECT_EQ(query_replica_rows("SELECT t, b FROM awkward WHERE id IN (1, 2) ORDER BY id"),
              (Rows{{std::nullopt, std::nullopt}, {"", "\\x"}}));
    expect_both_usable();
}

TEST_F(DbCopyPipe, ReturnsRowAndByteCountsOfTheCopyText) {
    exec_source(
        "CREATE TABLE t AS SELECT i AS id, repeat('x', i % 50) AS v, "
        "CASE WHEN i % 7 = 0 THEN NULL ELSE E'a\\tb' END AS w "
        "FROM generate_series(1, 5000) AS i");
    exec_replica("CREATE TABLE t (id int, v text, w text)");
    const std::string copy_out = "COPY (SELECT id, v, w FROM t ORDER BY id) TO STDOUT";
    const db::CopyStats expected = read_copy_out(copy_out);
    open_pair();

    const db::CopyStats stats =
        db::copy_pipe(*m_source, copy_out, *m_target, "COPY t (id, v, w) FROM STDIN");
    EXPECT_EQ(stats.rows, 5000U);
    EXPECT_EQ(stats.rows, expected.rows);
    EXPECT_EQ(stats.bytes, expected.bytes);
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM t"), "5000");
}

TEST_F(DbCopyPipe, EmptySourceCopiesNothingAndSucceeds) {
    exec_source("CREATE TABLE t (id int)");
    exec_replica("CREATE TABLE t (id int)");
    open_pair();
    const db::CopyStats stats = db::copy_pipe(*m_source, "COPY (SELECT id FROM t) TO STDOUT",
                                              *m_target, "COPY t (id) FROM STDIN");
    EXPECT_EQ(stats.rows, 0U);
    EXPECT_EQ(stats.bytes, 0U);
    expect_both_usable();
}

TEST_F(DbCopyPipe, IsUnaffectedByDifferingServerDefaultsOfPinnedSettings) {
    // Defaults that would change the text of these values, and differently on each side.
    exec_source("ALTER DATABASE " + database_name() +
                " SET DateStyle = 'SQL, DMY'; ALTER DATABASE " + database_name() +
                " SET IntervalStyle = 'sql_standard'; ALTER DATABASE " + database_name() +
                " SET TimeZone = 'America/New_York'; ALTER DATABASE " + database_name() +
                " SET extra_float_digits = -10; ALTER DATABASE " + database_name() +
                " SET bytea_output = 'escape'");
    exec_replica("ALTER DATABASE " + database_name() +
                 " SET DateStyle = 'Postgres, MDY'; ALTER DATABASE " + database_name() +
                 " SET IntervalStyle = 'iso_8601'; ALTER DATABASE " + database_name() +
                 " SET TimeZone = 'Asia/Kolkata'");
    const std::string table =
        "CREATE TABLE v (id int, ts timestamptz, lts timestamp, d date, iv interval, f8 float8, "
        "f4 float4, n numeric, b bytea)";
    exec_source(table);
    exec_replica(table);
    exec_source(R"sql(
        INSERT INTO v VALUES
            (1, '2024-03-04 05:06:07.123456+00', '2024-03-04 05:06:07', '2024-03-04',
             '1 year 2 mons 3 days 04:05:06.789', 1.0 / 3, 0.1, 1.10, '\x00ff5c'),
            (2, '1999-12-31 23:59:59.999999-08', '0044-03-15 12:00:00 BC', '2000-02-29',
             '-1 days +02:03:00', 1e-300, 3.4028235e38, -0.0, '\x'),
            (3, 'infinity', '-infinity', 'infinity', '0', 'NaN', '-Infinity', 'NaN', NULL)
    )sql");
    open_pair();
    db::copy_pipe(*m_source, "COPY (SELECT * FROM v ORDER BY id) TO STDOUT", *m_target,
                  "COPY v FROM STDIN");
    const std::string exact =
        "SELECT id, extract(epoch FROM ts)::text, lts::text, extract(epoch FROM d)::text, "
        "extract(epoch FROM iv)::text, float8send(f8), float4send(f4), n::text, b "
        "FROM v ORDER BY id";
    const Rows source_rows = query_source_rows(exact);
    ASSERT_EQ(source_rows.size(), 3U);
    EXPECT_EQ(query_replica_rows(exact), source_rows);
    EXPECT_EQ(query_replica_rows("SELECT d, f8 FROM v WHERE id = 1"),
              (Rows{{"2024-03-04", "0.3333333333333333"}}));  // shortest exact form
}

TEST_F(DbCopyPipe, FailingConstraintOnTargetThrowsNonRetryableAndLeavesBothUsable) {
    exec_source("CREATE TABLE t AS SELECT i AS id FROM generate_series(1, 1000) AS i");
    exec_replica("CREATE TABLE t (id int CHECK (id <> 500))");
    open_pair();
    try {
        db::copy_pipe(*m_source, "COPY (SELECT id FROM t ORDER BY id) TO STDOUT", *m_target,
                      "COPY t (id) FROM STDIN");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::database) << error.what();
        EXPECT_FALSE(error.retryable());
        EXPECT_EQ(error.sqlstate(), "23514");
        EXPECT_EQ(std::string(error.what())
                      .rfind("replica:test: new row for relation \"t\" "
                             "violates check constraint",
                             0),
                  0U)
            << error.what();
    }
    expect_both_usable();
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM t"), "0");
}

TEST_F(DbCopyPipe, DuplicateKeyFoundAtCopyEndLeavesTheBatchTransactionToRollBack) {
    exec_source("CREATE TABLE t AS SELECT i % 3 AS id FROM generate_series(1, 10) AS i");
    exec_replica("CREATE TABLE t (id int PRIMARY KEY)");
    open_pair();
    m_target->begin();
    try {
        db::copy_pipe(*m_source, "COPY (SELECT id FROM t) TO STDOUT", *m_target,
                      "COPY t (id) FROM STDIN");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.sqlstate(), "23505") << error.what();
        EXPECT_FALSE(error.retryable());
    }
    EXPECT_TRUE(m_target->in_transaction());
    m_target->rollback();
    expect_both_usable();
}

TEST_F(DbCopyPipe, SourceErrorMidStreamStoresNothingAndLeavesBothUsable) {
    exec_replica("CREATE TABLE t (v int)");
    open_pair();
    try {
        db::copy_pipe(*m_source,
                      "COPY (SELECT 1000 / (5000 - i) FROM generate_series(1, 10000) AS i) "
                      "TO STDOUT",
                      *m_target, "COPY t (v) FROM STDIN");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.sqlstate(), "22012") << error.what();
        EXPECT_FALSE(error.retryable());
        EXPECT_STREQ(error.what(), "source: division by zero");
    }
    expect_both_usable();
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM t"), "0");
}

TEST_F(DbCopyPipe, StopFlagAbortsCleanlyAndNothingIsCommitted) {
    exec_replica("CREATE TABLE t (id bigint, v text); CREATE TABLE checkpoint (pos bigint)");
    open_pair();
    std::atomic<bool> stop{false};
    std::thread stopper([&stop] {
        std::this_thread::sleep_for(300ms);
        stop = true;
    });
    const auto start = std::chrono::steady_clock::now();
    m_target->begin();
    m_target->exec("INSERT INTO checkpoint VALUES (42)");
    try {
        // Far more rows than can pass in the test's time: only the stop flag ends this. The
        // set-returning function sits in the select list so rows stream (in FROM it would be
        // materialized on disk first).
        db::copy_pipe(*m_source,
                      "COPY (SELECT generate_series(1, 200000000), repeat('x', 100)) TO STDOUT",
                      *m_target, "COPY t (id, v) FROM STDIN", {.stop = &stop});
        ADD_FAILURE() << "expected the copy to be interrupted";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("copy interrupted"), std::string::npos)
            << error.what();
        EXPECT_TRUE(error.retryable());
    }
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
    m_target->rollback();
    expect_both_usable();
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM t"), "0");
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM checkpoint"), "0");
}

TEST_F(DbCopyPipe, StopFlagInterruptsASourceThatHasNotSentARowYet) {
    exec_replica("CREATE TABLE t (v text)");
    open_pair();
    std::atomic<bool> stop{false};
    std::thread stopper([&stop] {
        std::this_thread::sleep_for(300ms);
        stop = true;
    });
    const auto start = std::chrono::steady_clock::now();
    try {
        db::copy_pipe(*m_source, "COPY (SELECT pg_sleep(60)::text) TO STDOUT", *m_target,
                      "COPY t (v) FROM STDIN", {.stop = &stop});
        ADD_FAILURE() << "expected the copy to be interrupted";  // not FAIL(): join `stopper`
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "source: copy interrupted: stop requested");
        EXPECT_EQ(error.code(), ErrorCode::database);
        EXPECT_TRUE(error.retryable());
    }
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    expect_both_usable();
}

TEST_F(DbCopyPipe, DataAndCheckpointCommitInOneTargetTransaction) {
    exec_source("CREATE TABLE t AS SELECT i AS id FROM generate_series(1, 100) AS i");
    exec_replica(
        "CREATE TABLE stage (id int); CREATE TABLE t (id int PRIMARY KEY); "
        "CREATE TABLE checkpoint (pos int)");
    open_pair();
    {
        db::Transaction tx(*m_target);
        const db::CopyStats stats =
            db::copy_pipe(*m_source, "COPY (SELECT id FROM t ORDER BY id) TO STDOUT", *m_target,
                          "COPY stage (id) FROM STDIN");
        EXPECT_EQ(stats.rows, 100U);
        m_target->exec("INSERT INTO t SELECT id FROM stage ON CONFLICT (id) DO NOTHING");
        m_target->exec_params("INSERT INTO checkpoint VALUES ($1)", {std::string("100")});
        EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM t"), "0");  // not yet
        tx.commit();
    }
    EXPECT_EQ(query_replica_rows("SELECT count(*), max(id) FROM t"), (Rows{{"100", "100"}}));
    EXPECT_EQ(query_replica_rows("SELECT pos FROM checkpoint"), (Rows{{"100"}}));
}

TEST_F(DbCopyPipe, LostTargetConnectionIsRetryableAndLeavesSourceUsable) {
    exec_source("CREATE TABLE t AS SELECT i AS id FROM generate_series(1, 1000) AS i");
    exec_replica("CREATE TABLE t (id int)");
    open_pair();
    exec_replica("SELECT pg_terminate_backend(" + std::to_string(m_target->backend_pid()) +
                 ", 5000)");
    try {
        db::copy_pipe(*m_source, "COPY (SELECT id FROM t) TO STDOUT", *m_target,
                      "COPY t (id) FROM STDIN");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::connection) << error.what();
        EXPECT_TRUE(error.retryable());
    }
    EXPECT_EQ(m_source->query("SELECT 1").value(0, 0), "1");
    EXPECT_FALSE(m_target->is_ok());
}

TEST_F(DbCopyPipe, NonCopyStatementIsRefusedWithoutLeavingACopyOpen) {
    exec_replica("CREATE TABLE t (id int)");
    open_pair();
    try {
        db::copy_pipe(*m_source, "SELECT 1", *m_target, "COPY t (id) FROM STDIN");
        ADD_FAILURE() << "expected a non-COPY source statement to be refused";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "source: expected a COPY ... TO STDOUT statement");
        EXPECT_EQ(error.code(), ErrorCode::internal);
        EXPECT_FALSE(error.retryable());
    }
    try {
        db::copy_pipe(*m_source, "COPY (SELECT 1) TO STDOUT", *m_target,
                      "COPY (SELECT 1) TO STDOUT");
        ADD_FAILURE() << "expected a COPY TO STDOUT as the target statement to be refused";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "replica:test: expected a COPY ... FROM STDIN statement");
        EXPECT_EQ(error.code(), ErrorCode::internal);
        EXPECT_FALSE(error.retryable());
    }
    expect_both_usable();
}

}  // namespace
}  // namespace syncset::test
