// Promise 6 at the database layer: a password never appears in an error message, a connection
// description or a redacted DSN, whether it was given as conninfo `password=` or in a URI.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "pg_fixture.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/dsn.hpp"
#include "syncset/db/pqxx_connection.hpp"
#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"

namespace syncset::test {
namespace {

// Passwords with characters that need quoting or escaping in both DSN syntaxes.
constexpr std::string_view k_right_password = "Right-pa55 w'rd\\ok";
constexpr std::string_view k_wrong_password = "Wr0ng-pa55 w'rd\\no";

std::string percent_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string encoded;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.') {
            encoded.push_back(c);
        } else {
            encoded.push_back('%');
            encoded.push_back(k_hex[u >> 4U]);
            encoded.push_back(k_hex[u & 0x0FU]);
        }
    }
    return encoded;
}

class DbSecrets : public PgPairTest {
  protected:
    void SetUp() override {
        PgPairTest::SetUp();
        if (!HasFatalFailure()) {
            m_role = create_login_role(k_right_password);
        }
    }

    std::string conninfo_with(std::string_view password) const {
        return dsn_as(Server::source, m_role, password);
    }

    std::string uri_with(std::string_view password) const {
        return "postgresql://" + m_role + ":" + percent_encode(password) + "@" +
               dsn_value(source_dsn(), "host") + ":" + dsn_value(source_dsn(), "port") + "/" +
               database_name();
    }

    // Connects with `dsn` (wrong password) through libpq or libpqxx and checks the error.
    void expect_clean_auth_failure(const std::string& dsn, bool use_pqxx) const {
        SCOPED_TRACE(use_pqxx ? "open_pqxx" : "Connection::open");
        try {
            if (use_pqxx) {
                db::open_pqxx(dsn, "source");
            } else {
                db::Connection::open(dsn, "source");
            }
            FAIL() << "connected with a wrong password: pg_hba.conf must require scram-sha-256 "
                      "for roles other than postgres";
        } catch (const Error& error) {
            const std::string message = error.what();
            EXPECT_EQ(error.code(), ErrorCode::connection) << message;
            EXPECT_FALSE(error.retryable()) << message;
            EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
            EXPECT_NE(message.find(m_role), std::string::npos) << message;
            for (const auto secret : {k_wrong_password, k_right_password}) {
                EXPECT_EQ(message.find(secret), std::string::npos) << message;
                EXPECT_EQ(message.find(percent_encode(secret)), std::string::npos) << message;
                EXPECT_EQ(error.hint().find(secret), std::string::npos) << error.hint();
            }
            EXPECT_EQ(message.find("Wr0ng"), std::string::npos) << message;
            EXPECT_EQ(message.find(dsn), std::string::npos) << message;
            EXPECT_FALSE(error.hint().empty());
        }
    }

    std::string m_role;
};

TEST_F(DbSecrets, WrongPasswordInConninfoIsNotInTheError) {
    expect_clean_auth_failure(conninfo_with(k_wrong_password), false);
    expect_clean_auth_failure(conninfo_with(k_wrong_password), true);
}

TEST_F(DbSecrets, WrongPasswordInUriIsNotInTheError) {
    expect_clean_auth_failure(uri_with(k_wrong_password), false);
    expect_clean_auth_failure(uri_with(k_wrong_password), true);
}

TEST_F(DbSecrets, SuccessfulPasswordLoginNeverShowsThePassword) {
    for (const std::string& dsn : {conninfo_with(k_right_password), uri_with(k_right_password)}) {
        SCOPED_TRACE(dsn.substr(0, 12));
        const auto conn = db::Connection::open(dsn, "source");
        EXPECT_EQ(conn->query("SELECT current_user").value(0, 0), m_role);
        const auto pqxx_conn = db::open_pqxx(dsn, "source");
        EXPECT_EQ(std::string(pqxx_conn->username()), m_role);

        const std::string shown = db::redact_dsn(dsn);
        EXPECT_NE(shown.find("user=" + m_role), std::string::npos) << shown;
        for (const std::string& text : {shown, conn->description()}) {
            EXPECT_EQ(text.find("Right"), std::string::npos) << text;
            EXPECT_EQ(text.find("pa55"), std::string::npos) << text;
        }
    }
}

TEST_F(DbSecrets, QueryErrorEchoingThePasswordIsScrubbed) {
    const auto conn = db::Connection::open(conninfo_with(k_right_password), "source");
    try {
        // The server echoes the value in its error (invalid input syntax ...: "<value>").
        conn->exec("SELECT " + db::quote_literal(k_right_password) + "::int");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(std::string(error.what()).find(k_right_password), std::string::npos)
            << error.what();
        EXPECT_NE(std::string(error.what()).find("invalid input syntax"), std::string::npos)
            << error.what();
    }
}

}  // namespace
}  // namespace syncset::test
