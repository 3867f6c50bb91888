// Integration-test fixture: a real PostgreSQL pair (source and replica), with a fresh database on
// each server for every test.
//
// The servers come from the environment, normally set by `tests/pg_pair.sh run -- CMD`:
//   SYNCSET_TEST_SOURCE_DSN, SYNCSET_TEST_REPLICA_DSN   superuser DSNs with dbname=postgres.
// When they are missing every test FAILS (it is never skipped): CI must not pass without
// running the integration tests. The servers must let the superuser in without a password and
// make every other role authenticate with SCRAM (pg_pair.sh's pg_hba.conf does).
// SYNCSET_TEST_KEEP_DATABASES=1 keeps the per-test databases for inspection.
//
// Usage: derive a suite from PgPairTest; its name should say what it guards.
//
//     class CopyLoop : public syncset::test::PgPairTest {};
//     TEST_F(CopyLoop, DeletedSourceRowsLeaveTheReplica) {
//         exec_source("CREATE TABLE t (id int PRIMARY KEY)");
//         run_syncset_against(source_dsn(), replica_dsn());
//         EXPECT_EQ(query_replica_rows("SELECT id FROM t ORDER BY id"), Rows{...});
//     }
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncset/db/connection.hpp"

namespace syncset::test {

// Query output as text, NULL as nullopt: compare whole tables with EXPECT_EQ.
using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

enum class Server { source, replica };

class PgPairTest : public ::testing::Test {
  protected:
    // Creates the test's database on both servers (dropping a leftover of the same name).
    void SetUp() override;
    // Closes the fixture's connections, drops both databases WITH (FORCE) and every role made
    // by create_login_role().
    void TearDown() override;

    // DSNs (conninfo text) of this test's databases, as the superuser.
    const std::string& source_dsn() const { return m_dsn[0]; }
    const std::string& replica_dsn() const { return m_dsn[1]; }
    const std::string& dsn(Server server) const { return m_dsn[index(server)]; }
    // DSNs of the servers' `postgres` database, as given by the environment.
    const std::string& admin_dsn(Server server) const { return m_admin_dsn[index(server)]; }
    // Name of this test's database (the same on both servers).
    const std::string& database_name() const { return m_database; }
    // This test's database on `server`, logging in as `user` with `password` (SCRAM).
    std::string dsn_as(Server server, std::string_view user, std::string_view password) const;
    // The value a DSN sets for `key` ("host", "port", ...), empty when unset.
    static std::string dsn_value(std::string_view dsn, std::string_view key);

    // Statements on this test's databases (superuser; several statements allowed).
    void exec_source(std::string_view sql) { exec(Server::source, sql); }
    void exec_replica(std::string_view sql) { exec(Server::replica, sql); }
    void exec(Server server, std::string_view sql);

    // Every row of a query as text; use ORDER BY for a stable comparison.
    Rows query_source_rows(std::string_view sql) { return query_rows(Server::source, sql); }
    Rows query_replica_rows(std::string_view sql) { return query_rows(Server::replica, sql); }
    Rows query_rows(Server server, std::string_view sql);
    // The single value of a one-row, one-column query ("" for NULL).
    std::string query_value(Server server, std::string_view sql);

    // The fixture's own superuser connection to this test's database, opened on first use.
    db::Connection& connection(Server server);

    // Creates a LOGIN role with `password` on both servers, unique to this test and dropped in
    // TearDown. Returns its name.
    std::string create_login_role(std::string_view password);

    // A name unique to this test run: `<prefix>_<pid>_<n>`, lowercase and safe to use unquoted.
    std::string unique_name(std::string_view prefix);

  private:
    static std::size_t index(Server server) { return server == Server::source ? 0 : 1; }
    void run_admin(Server server, std::string_view sql);

    std::string m_database;
    std::array<std::string, 2> m_admin_dsn;
    std::array<std::string, 2> m_dsn;
    std::array<std::unique_ptr<db::Connection>, 2> m_connection;
    std::vector<std::string> m_roles;
    bool m_ready = false;
};

}  // namespace syncset::test
