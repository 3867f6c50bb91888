// Promises of db::Connection and db::open_pqxx against real servers: pinned session settings,
// error translation (retryable or not, SQLSTATE), broken connections stay broken.
#include <gtest/gtest.h>

#include <pqxx/nontransaction>

#include <string>
#include <vector>

#include "db/session.hpp"
#include "pg_fixture.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/dsn.hpp"
#include "syncset/db/pqxx_connection.hpp"
#include "syncset/error.hpp"

namespace syncset::test {
namespace {

class DbConnection : public PgPairTest {
  protected:
    // Database defaults unlike every pinned value, so only pinning can produce the pinned ones.
    void set_unpinned_database_defaults() {
        exec_source("ALTER DATABASE " + database_name() +
                    " SET DateStyle = 'SQL, DMY'; ALTER DATABASE " + database_name() +
                    " SET IntervalStyle = 'sql_standard'; ALTER DATABASE " + database_name() +
                    " SET TimeZone = 'Asia/Tokyo'; ALTER DATABASE " + database_name() +
                    " SET extra_float_digits = -5; ALTER DATABASE " + database_name() +
                    " SET bytea_output = 'escape'; ALTER DATABASE " + database_name() +
                    " SET client_encoding = 'LATIN1'; ALTER DATABASE " + database_name() +
                    " SET application_name = 'not-syncset'");
    }
};

TEST_F(DbConnection, PinnedSessionSettingsAreInEffectOnANewLibpqConnection) {
    set_unpinned_database_defaults();
    const auto conn = db::Connection::open(source_dsn(), "source");
    for (const auto& setting : db::k_pinned_settings) {
        const db::Result shown = conn->query("SHOW " + std::string(setting.name));
        EXPECT_EQ(shown.value(0, 0), setting.value) << setting.name;
    }
    EXPECT_EQ(conn->query("SHOW application_name").value(0, 0), "syncset/source");
}

TEST_F(DbConnection, PinnedSessionSettingsAreInEffectOnANewPqxxConnection) {
    set_unpinned_database_defaults();
    const auto conn = db::open_pqxx(source_dsn(), "replica:billing");
    pqxx::nontransaction tx(*conn);
    for (const auto& setting : db::k_pinned_settings) {
        const pqxx::result shown = tx.exec("SHOW " + std::string(setting.name));
        EXPECT_EQ(shown[0][0].as<std::string>(), setting.value) << setting.name;
    }
    EXPECT_EQ(tx.exec("SHOW application_name")[0][0].as<std::string>(), "syncset/replica:billing");
}

TEST_F(DbConnection, ApplicationNameIsVisibleToTheServerBeforeAnyQuery) {
    const auto conn = db::Connection::open(replica_dsn(), "replica:billing");
    EXPECT_EQ(
        query_value(Server::replica, "SELECT application_name FROM pg_stat_activity WHERE pid = " +
                                         std::to_string(conn->backend_pid())),
        "syncset/replica:billing");
}

TEST_F(DbConnection, TerminatedBackendYieldsRetryableConnectionError) {
    const auto conn = db::Connection::open(source_dsn(), "source");
    exec_source("SELECT pg_terminate_backend(" + std::to_string(conn->backend_pid()) + ", 5000)");
    try {
        conn->exec("SELECT 1");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::connection) << error.what();
        EXPECT_TRUE(error.retryable()) << error.what();
        EXPECT_EQ(std::string(error.what()).rfind("source: ", 0), 0U) << error.what();
    }
    EXPECT_FALSE(conn->is_ok());
}

TEST_F(DbConnection, TerminatedPqxxBackendYieldsRetryableErrorAndStaysBroken) {
    const auto conn = db::open_pqxx(source_dsn(), "catalog");
    exec_source("SELECT pg_terminate_backend(" + std::to_string(conn->backendpid()) + ", 5000)");
    const auto select_one = [&] {
        return db::with_pqxx_errors("read catalog", [&] {
            pqxx::nontransaction tx(*conn);
            return tx.exec("SELECT 1");
        });
    };
    for (int attempt = 1; attempt <= 2; ++attempt) {
        try {
            select_one();
            FAIL() << "attempt " << attempt << ": expected an Error (no silent reconnect)";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::connection) << error.what();
            EXPECT_TRUE(error.retryable()) << error.what();
            EXPECT_EQ(std::string(error.what()).rfind("read catalog: ", 0), 0U) << error.what();
        }
    }
}

TEST_F(DbConnection, SyntaxErrorIsNotRetryableAndCarriesSqlstate42601) {
    const auto conn = db::Connection::open(source_dsn(), "source");
    try {
        conn->exec("SELEC 1");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::database);
        EXPECT_FALSE(error.retryable());
        EXPECT_EQ(error.sqlstate(), "42601");
        EXPECT_STREQ(error.what(), "source: syntax error at or near \"SELEC\"");
    }
    EXPECT_EQ(conn->query("SELECT 1").value(0, 0), "1");  // still usable
}

TEST_F(DbConnection, PqxxSyntaxErrorIsNotRetryableAndCarriesSqlstate42601) {
    const auto conn = db::open_pqxx(source_dsn(), "catalog");
    try {
        db::with_pqxx_errors("read catalog", [&] {
            pqxx::nontransaction tx(*conn);
            return tx.exec("SELEC 1");
        });
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::database);
        EXPECT_FALSE(error.retryable());
        EXPECT_EQ(error.sqlstate(), "42601");
        EXPECT_STREQ(error.what(), "read catalog: syntax error at or near \"SELEC\"");
    }
}

TEST_F(DbConnection, UndefinedTableIsNotRetryableWithHintAndDetailKept) {
    const auto conn = db::Connection::open(source_dsn(), "source");
    try {
        conn->exec("SELECT * FROM no_such_table");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_FALSE(error.retryable());
        EXPECT_EQ(error.sqlstate(), "42P01");
    }
    exec_source("CREATE TABLE t (id int PRIMARY KEY)");
    exec_source("INSERT INTO t VALUES (1)");
    try {
        conn->exec("INSERT INTO t VALUES (1)");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.sqlstate(), "23505");
        EXPECT_STREQ(error.what(),
                     "source: duplicate key value violates unique constraint "
                     "\"t_pkey\" (Key (id)=(1) already exists.)");
    }
}

TEST_F(DbConnection, ExecParamsPassesNullEmptyAndAwkwardTextUnchanged) {
    const auto conn = db::Connection::open(source_dsn(), "source");
    const db::Result result = conn->exec_params(
        "SELECT $1::text, $2::text, $3::text, $4::text IS NULL",
        {std::nullopt, std::string(), std::string("it's \\N\t\n😀"), std::nullopt});
    ASSERT_EQ(result.rows(), 1);
    EXPECT_TRUE(result.is_null(0, 0));
    EXPECT_FALSE(result.is_null(0, 1));
    EXPECT_EQ(result.optional_value(0, 1), std::optional<std::string>(""));
    EXPECT_EQ(result.value(0, 2), "it's \\N\t\n😀");
    EXPECT_EQ(result.value(0, 3), "t");
    EXPECT_EQ(result.column_name(3), "?column?");
}

// The drift scanner's range queries: the text is prepared on first use and only parameters
// travel after; the server holds one statement per text, never more than the cap.
TEST_F(DbConnection, ExecPreparedSendsTheTextOnceAndKeepsAtMostTheCap) {
    const auto conn = db::Connection::open(source_dsn(), "source");
    auto prepared_statements = [&] {
        return std::string(conn->query("SELECT count(*) FROM pg_prepared_statements").value(0, 0));
    };
    bool sent = false;
    db::Result a = conn->exec_prepared("SELECT $1::int + 1", {std::string("41")}, &sent);
    EXPECT_TRUE(sent);
    EXPECT_EQ(a.value(0, 0), "42");
    db::Result b = conn->exec_prepared("SELECT $1::int + 1", {std::string("1")}, &sent);
    EXPECT_FALSE(sent);
    EXPECT_EQ(b.value(0, 0), "2");
    EXPECT_EQ(prepared_statements(), "1");

    for (std::size_t i = 0; i < db::Connection::k_max_prepared + 10; ++i) {
        conn->exec_prepared("SELECT $1::int + " + std::to_string(i), {std::string("0")});
    }
    EXPECT_LE(std::stoul(prepared_statements()), db::Connection::k_max_prepared);
    // The first text was deallocated with the others: it is prepared again, and still works.
    db::Result c = conn->exec_prepared("SELECT $1::int + 1", {std::string("9")}, &sent);
    EXPECT_TRUE(sent);
    EXPECT_EQ(c.value(0, 0), "10");

    // A session that lost its statements (DISCARD ALL, a pooler) gets them prepared again.
    conn->exec("DEALLOCATE ALL");
    db::Result d = conn->exec_prepared("SELECT $1::int + 1", {std::string("99")}, &sent);
    EXPECT_TRUE(sent);
    EXPECT_EQ(d.value(0, 0), "100");
}

TEST_F(DbConnection, ExecPreparedErrorsAreTranslatedAndLeaveTheConnectionUsable) {
    const auto conn = db::Connection::open(source_dsn(), "source");
    try {
        conn->exec_prepared("SELECT * FROM no_such_table WHERE id = $1::int", {std::string("1")});
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::database);
        EXPECT_FALSE(error.retryable());
        EXPECT_EQ(error.sqlstate(), "42P01");
    }
    try {
        conn->exec_prepared("SELECT 1 / $1::int", {std::string("0")});
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.sqlstate(), "22012");
    }
    EXPECT_EQ(conn->exec_prepared("SELECT 1 / $1::int", {std::string("1")}).value(0, 0), "1");
}

TEST_F(DbConnection, CommitOfATransactionAbortedByAnErrorThrowsInsteadOfRollingBackQuietly) {
    exec_source("CREATE TABLE t (id int)");
    const auto conn = db::Connection::open(source_dsn(), "source");
    conn->begin();
    conn->exec("INSERT INTO t VALUES (1)");
    try {
        conn->exec("SELEC");
        FAIL() << "expected a syntax error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "source: syntax error at or near \"SELEC\"");
        EXPECT_EQ(error.sqlstate(), "42601");
        EXPECT_FALSE(error.retryable());
    }
    try {
        conn->commit();
        FAIL() << "expected the commit to fail";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(),
                     "source: commit failed: the transaction was aborted by an earlier error");
        EXPECT_EQ(error.code(), ErrorCode::database);
        EXPECT_FALSE(error.retryable());
    }
    EXPECT_FALSE(conn->in_transaction());
    EXPECT_EQ(query_value(Server::source, "SELECT count(*) FROM t"), "0");
}

TEST_F(DbConnection, TransactionScopeRollsBackUnlessCommitted) {
    exec_source("CREATE TABLE t (id int)");
    const auto conn = db::Connection::open(source_dsn(), "source");
    {
        db::Transaction tx(*conn);
        conn->exec("INSERT INTO t VALUES (1)");
    }
    EXPECT_FALSE(conn->in_transaction());
    {
        db::Transaction tx(*conn, "ISOLATION LEVEL REPEATABLE READ");
        conn->exec("INSERT INTO t VALUES (2)");
        tx.commit();
    }
    EXPECT_EQ(query_source_rows("SELECT id FROM t"), (Rows{{"2"}}));
}

TEST_F(DbConnection, RefusedConnectionIsARetryableConnectionError) {
    // Port 1 on localhost: nothing listens there, the kernel refuses at once.
    try {
        db::Connection::open("host=127.0.0.1 port=1 user=nobody dbname=x", "source");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::connection);
        EXPECT_TRUE(error.retryable()) << error.what();
        EXPECT_EQ(std::string(error.what())
                      .rfind("connect to source (host=127.0.0.1 port=1 dbname=x user=nobody): ", 0),
                  0U)
            << error.what();
    }
}

TEST_F(DbConnection, UnknownDatabaseIsANonRetryableConnectionError) {
    for (const bool use_pqxx : {false, true}) {
        const std::string dsn = db::rewrite_dsn(
            source_dsn(), {}, std::vector<db::DsnParam>{{"dbname", "no_such_database_here"}});
        try {
            if (use_pqxx) {
                db::open_pqxx(dsn, "source");
            } else {
                db::Connection::open(dsn, "source");
            }
            FAIL() << "expected an Error";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::connection);
            EXPECT_FALSE(error.retryable()) << error.what();
            EXPECT_NE(std::string(error.what()).find("does not exist"), std::string::npos)
                << error.what();
        }
    }
}

TEST_F(DbConnection, ServerVersionAndBackendPidAreReported) {
    const auto conn = db::Connection::open(source_dsn(), "source");
    EXPECT_GE(conn->server_version(), 100000);
    EXPECT_GT(conn->backend_pid(), 0);
    EXPECT_TRUE(conn->is_ok());
    EXPECT_EQ(conn->description().rfind("source (host=", 0), 0U) << conn->description();
}

}  // namespace
}  // namespace syncset::test
