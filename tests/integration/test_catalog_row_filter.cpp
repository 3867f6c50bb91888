// catalog::check_row_filter: the source's own parser judges a `where:` row filter, without
// running it, and the check cannot be abused to run another statement.
#include <gtest/gtest.h>

#include <pqxx/except>
#include <pqxx/nontransaction>

#include <memory>
#include <optional>
#include <string>

#include "pg_fixture.hpp"
#include "syncset/catalog/read.hpp"
#include "syncset/db/pqxx_connection.hpp"

namespace syncset::test {
namespace {

class CatalogRowFilter : public PgPairTest {
  protected:
    void SetUp() override {
        PgPairTest::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        exec_source(R"sql(
            CREATE TABLE orders (id int PRIMARY KEY, status text, amount numeric);
            INSERT INTO orders VALUES (1, 'paid', 10);
            CREATE TABLE victim (id int);
            CREATE SEQUENCE calls;
            CREATE SCHEMA "My Schema";
            CREATE TABLE "My Schema"."select" ("select" int, "Odd ""Col""" text);
        )sql");
        m_conn = db::open_pqxx(source_dsn(), "source");
        m_orders.schema = "public";
        m_orders.name = "orders";
    }

    std::optional<std::string> check(std::string_view where) {
        return catalog::check_row_filter(*m_conn, m_orders, where);
    }

    bool victim_exists() {
        return query_value(Server::source, "SELECT to_regclass('public.victim') IS NOT NULL") ==
               "t";
    }

    std::unique_ptr<pqxx::connection> m_conn;
    catalog::Table m_orders;
};

TEST_F(CatalogRowFilter, GoodFilterIsAccepted) {
    EXPECT_EQ(check("status = 'paid' AND amount > 10"), std::nullopt);
    EXPECT_EQ(check("id IN (SELECT id FROM victim) OR status IS NULL"), std::nullopt);
    EXPECT_EQ(check("status = 'a;b)' -- a comment\n"), std::nullopt);
}

TEST_F(CatalogRowFilter, MisspeltColumnIsRejectedWithTheServerMessage) {
    EXPECT_EQ(check("stauts = 'paid'"), "column \"stauts\" does not exist");
}

TEST_F(CatalogRowFilter, OtherServerErrorsAreReportedByTheirFirstLine) {
    EXPECT_EQ(check("amount"), "argument of WHERE must be type boolean, not type numeric");
    EXPECT_EQ(check("status = = 'x'"), "syntax error at or near \"=\"");
    EXPECT_EQ(check("no_such_function(id)"), "function no_such_function(integer) does not exist");
    EXPECT_EQ(check("id = 'abc'"), "invalid input syntax for type integer: \"abc\"");
}

TEST_F(CatalogRowFilter, FilterOnOddlyNamedTableAndColumnsIsQuotedCorrectly) {
    catalog::Table odd;
    odd.schema = "My Schema";
    odd.name = "select";
    EXPECT_EQ(
        catalog::check_row_filter(*m_conn, odd, "\"select\" > 1 AND \"Odd \"\"Col\"\"\" <> ''"),
        std::nullopt);
    EXPECT_EQ(catalog::check_row_filter(*m_conn, odd, "\"Select\" > 1"),
              "column \"Select\" does not exist");
}

TEST_F(CatalogRowFilter, InjectedSecondStatementNeverRuns) {
    EXPECT_NE(check("true); DROP TABLE victim; --"), std::nullopt);
    EXPECT_NE(check("true); DROP TABLE victim; SELECT (1"), std::nullopt);
    EXPECT_NE(check("true; DROP TABLE victim"), std::nullopt);
    EXPECT_NE(check("true) OR (true"), std::nullopt);
    EXPECT_TRUE(victim_exists());
    // The connection is still usable afterwards.
    EXPECT_EQ(check("id > 0"), std::nullopt);
}

// check_row_filter relies on exec_params() sending one statement over the extended protocol,
// which the server refuses to split. Guard that libpqxx behaviour directly, bypassing the
// client-side shape check.
TEST_F(CatalogRowFilter, ExecParamsRefusesASecondStatement) {
    pqxx::nontransaction tx(*m_conn);
    try {
        tx.exec_params("EXPLAIN SELECT 1 FROM orders WHERE (true); DROP TABLE victim; --)");
        ADD_FAILURE() << "two statements were accepted";
    } catch (const pqxx::sql_error& error) {
        EXPECT_NE(std::string(error.what()).find("cannot insert multiple commands"),
                  std::string::npos)
            << error.what();
    }
    EXPECT_TRUE(victim_exists());
}

TEST_F(CatalogRowFilter, FilterIsCheckedWithoutRunningIt) {
    EXPECT_EQ(check("(SELECT nextval('calls')) > 0"), std::nullopt);
    EXPECT_EQ(check("nextval('calls') > 0 AND pg_sleep(5) IS NOT NULL"), std::nullopt);
    EXPECT_EQ(query_value(Server::source, "SELECT is_called FROM calls"), "f");
}

TEST_F(CatalogRowFilter, EmptyFilterIsRejected) {
    EXPECT_EQ(check("  "), "row filter is empty");
}

}  // namespace
}  // namespace syncset::test
