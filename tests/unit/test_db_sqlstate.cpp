#include <gtest/gtest.h>

#include <pqxx/except>

#include <stdexcept>
#include <string>

#include "db/sqlstate.hpp"
#include "syncset/db/errors.hpp"

namespace syncset::db {
namespace {

void expect_class(std::string_view sqlstate, ErrorCode code, bool retryable) {
    const SqlstateClass meaning = classify_sqlstate(sqlstate);
    EXPECT_EQ(meaning.code, code) << "SQLSTATE " << sqlstate;
    EXPECT_EQ(meaning.retryable, retryable) << "SQLSTATE " << sqlstate;
}

TEST(DbSqlstate, ConnectionExceptionsAndShutdownsAreRetryableConnectionErrors) {
    for (const char* sqlstate : {"08000", "08003", "08006", "08001", "08004", "08P01", "57P01",
                                 "57P02", "57P03", "53300", "57P05", "25P03"}) {
        expect_class(sqlstate, ErrorCode::connection, true);
    }
}

TEST(DbSqlstate, SerializationDeadlockAndLockTimeoutAreRetryableDatabaseErrors) {
    for (const char* sqlstate : {"40001", "40P01", "40003", "55P03", "72000"}) {
        expect_class(sqlstate, ErrorCode::database, true);
    }
}

TEST(DbSqlstate, SyntaxUndefinedObjectsDataAndPrivilegeErrorsAreNotRetryable) {
    for (const char* sqlstate :
         {"42601", "42P01", "42703", "42704", "42883", "42501", "22001", "22012", "22P02", "23505",
          "23514", "57014", "XX000", "40002", "57P04"}) {
        expect_class(sqlstate, ErrorCode::database, false);
    }
}

TEST(DbSqlstate, EmptyOrMalformedSqlstateIsAPermanentDatabaseError) {
    expect_class("", ErrorCode::database, false);
    expect_class("08", ErrorCode::database, false);
    expect_class("0", ErrorCode::database, false);
}

TEST(DbConnectFailure, AuthenticationAndMissingObjectsAreNotRetryable) {
    EXPECT_FALSE(is_retryable_connect_failure(
        "connection to server at \"127.0.0.1\", port 5432 failed: FATAL: password "
        "authentication failed for user \"app\""));
    EXPECT_FALSE(is_retryable_connect_failure("FATAL: database \"nope\" does not exist"));
    EXPECT_FALSE(is_retryable_connect_failure("FATAL: role \"nope\" does not exist"));
    EXPECT_FALSE(is_retryable_connect_failure(
        "FATAL: no pg_hba.conf entry for host \"10.0.0.1\", user \"app\", database \"db\""));
    EXPECT_FALSE(is_retryable_connect_failure("invalid connection option \"colour\""));
}

TEST(DbConnectFailure, RefusedTimeoutAndStartupAreRetryable) {
    EXPECT_TRUE(is_retryable_connect_failure(
        "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused Is the "
        "server running on that host and accepting TCP/IP connections?"));
    EXPECT_TRUE(is_retryable_connect_failure("timeout expired"));
    EXPECT_TRUE(is_retryable_connect_failure("FATAL: the database system is starting up"));
    EXPECT_TRUE(is_retryable_connect_failure("FATAL: sorry, too many clients already"));
}

TEST(DbCleanMessage, SeverityPrefixExcerptAndWhitespaceAreRemoved) {
    EXPECT_EQ(clean_libpq_message("ERROR:  syntax error at or near \"SELEC\"\nLINE 1: SELEC 1\n"
                                  "        ^\n"),
              "syntax error at or near \"SELEC\"");
    EXPECT_EQ(clean_libpq_message("server closed the connection unexpectedly\n\tThis probably "
                                  "means the server terminated abnormally\n"),
              "server closed the connection unexpectedly This probably means the server "
              "terminated abnormally");
    EXPECT_EQ(clean_libpq_message(""), "");
}

TEST(DbCleanMessage, VeryLongMessageIsCutWithoutSplittingUtf8) {
    std::string message(1999, 'a');
    message += "é";  // two bytes straddling the limit
    message += std::string(100, 'b');
    const std::string cleaned = clean_libpq_message(message);
    EXPECT_EQ(cleaned, std::string(1999, 'a') + "...");
}

TEST(DbTranslatePqxx, SqlErrorIsClassifiedBySqlstate) {
    const pqxx::syntax_error syntax("ERROR:  syntax error at or near \"SELEC\"\nLINE 1: SELEC\n",
                                    "SELEC", "42601");
    const Error error = translate_pqxx_exception(syntax, "read catalog of source");
    EXPECT_EQ(error.code(), ErrorCode::database);
    EXPECT_FALSE(error.retryable());
    EXPECT_EQ(error.sqlstate(), "42601");
    EXPECT_STREQ(error.what(), "read catalog of source: syntax error at or near \"SELEC\"");

    const pqxx::sql_error terminated(
        "FATAL:  terminating connection due to administrator "
        "command",
        "SELECT 1", "57P01");
    const Error lost = translate_pqxx_exception(terminated, "ctx");
    EXPECT_EQ(lost.code(), ErrorCode::connection);
    EXPECT_TRUE(lost.retryable());
    EXPECT_EQ(lost.sqlstate(), "57P01");
}

TEST(DbTranslatePqxx, BrokenConnectionIsARetryableConnectionError) {
    const Error error = translate_pqxx_exception(
        pqxx::broken_connection("server closed the connection unexpectedly"), "write state");
    EXPECT_EQ(error.code(), ErrorCode::connection);
    EXPECT_TRUE(error.retryable());
    EXPECT_STREQ(error.what(), "write state: server closed the connection unexpectedly");
}

TEST(DbTranslatePqxx, TransactionRollbackFamilyIsRetryableWithItsSqlstate) {
    const Error serialization =
        translate_pqxx_exception(pqxx::serialization_failure("could not serialize"), "ctx");
    EXPECT_TRUE(serialization.retryable());
    EXPECT_EQ(serialization.sqlstate(), "40001");
    const Error deadlock =
        translate_pqxx_exception(pqxx::deadlock_detected("deadlock detected"), "ctx");
    EXPECT_TRUE(deadlock.retryable());
    EXPECT_EQ(deadlock.sqlstate(), "40P01");
}

TEST(DbTranslatePqxx, UsageErrorAndForeignExceptionsAreInternal) {
    EXPECT_EQ(translate_pqxx_exception(pqxx::usage_error("misuse"), "ctx").code(),
              ErrorCode::internal);
    EXPECT_EQ(translate_pqxx_exception(std::logic_error("bug"), "ctx").code(), ErrorCode::internal);
}

}  // namespace
}  // namespace syncset::db
