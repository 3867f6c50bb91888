#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "syncset/db/dsn.hpp"
#include "syncset/error.hpp"

namespace syncset::db {
namespace {

TEST(DbRedactDsn, ConninfoShowsHostPortDbnameUserOnly) {
    EXPECT_EQ(redact_dsn("host=db.example.com port=5433 dbname=shop user=app password=hunter2 "
                         "sslmode=require application_name=x"),
              "host=db.example.com port=5433 dbname=shop user=app");
}

TEST(DbRedactDsn, UriWithPasswordInUserinfoDropsThePassword) {
    const std::string shown = redact_dsn("postgresql://app:s3cr%40t@db.example.com:6543/shop");
    EXPECT_EQ(shown, "host=db.example.com port=6543 dbname=shop user=app");
    EXPECT_EQ(shown.find("s3cr"), std::string::npos);
}

TEST(DbRedactDsn, UriWithPasswordQueryParameterDropsThePassword) {
    EXPECT_EQ(redact_dsn("postgres://db:5432/shop?user=app&password=top%20secret&sslmode=disable"),
              "host=db port=5432 dbname=shop user=app");
}

TEST(DbRedactDsn, QuotedValuesWithSpacesAreShownQuotedAndPasswordDropped) {
    EXPECT_EQ(redact_dsn("host=localhost dbname='my shop' user = 'o\\'brien' "
                         "password = 'pass with spaces'"),
              "host=localhost dbname='my shop' user='o\\'brien'");
}

TEST(DbRedactDsn, BareDatabaseNameAndEmptyDsnAndGarbage) {
    EXPECT_EQ(redact_dsn("shop"), "dbname=shop");
    EXPECT_EQ(redact_dsn(""), "<libpq defaults>");
    EXPECT_EQ(redact_dsn("password=only"), "<libpq defaults>");
    EXPECT_EQ(redact_dsn("host=x password='unterminated"), "<invalid dsn>");
    EXPECT_EQ(redact_dsn("service=prod"), "service=prod");
}

TEST(DbFindDsnSecrets, FindsDecodedAndWrittenFormsInBothSyntaxes) {
    const auto uri = find_dsn_secrets("postgresql://app:s3cr%40t@db/shop");
    EXPECT_NE(std::find(uri.begin(), uri.end(), "s3cr%40t"), uri.end());
    EXPECT_NE(std::find(uri.begin(), uri.end(), "s3cr@t"), uri.end());

    const auto conninfo = find_dsn_secrets("host=db password='it\\'s secret' sslpassword=keypw");
    EXPECT_NE(std::find(conninfo.begin(), conninfo.end(), "it's secret"), conninfo.end());
    EXPECT_NE(std::find(conninfo.begin(), conninfo.end(), "keypw"), conninfo.end());

    EXPECT_TRUE(find_dsn_secrets("host=db user=app").empty());
    EXPECT_TRUE(find_dsn_secrets("shop").empty());
}

TEST(DbFindDsnSecrets, FindsPasswordEvenWhenLibpqCannotParseTheDsn) {
    const auto secrets = find_dsn_secrets("host=db password=hunter2 bogus");
    EXPECT_NE(std::find(secrets.begin(), secrets.end(), "hunter2"), secrets.end());
}

TEST(DbScrubSecret, PasswordFromConninfoIsRemovedFromMessage) {
    EXPECT_EQ(scrub_secret("auth failed for hunter2, hunter2!", "host=db password=hunter2"),
              "auth failed for ***, ***!");
}

TEST(DbScrubSecret, PasswordFromUriIsRemovedInDecodedAndEncodedForm) {
    const std::string dsn = "postgresql://app:p%20w@db/shop";
    EXPECT_EQ(scrub_secret("got 'p w' and 'p%20w'", dsn), "got '***' and '***'");
}

TEST(DbScrubSecret, QuotedPasswordWithSpacesIsRemoved) {
    EXPECT_EQ(scrub_secret("echo: pass with spaces.", "password = 'pass with spaces' host=h"),
              "echo: ***.");
}

TEST(DbScrubSecret, MessageWithoutSecretIsUnchanged) {
    EXPECT_EQ(scrub_secret("connection refused", "host=db user=app"), "connection refused");
    EXPECT_EQ(scrub_secret("", "password=x"), "");
}

TEST(DbScrubValues, LongerSecretIsRemovedWholeBeforeAShorterOneInsideIt) {
    const std::vector<std::string> secrets{"abc", "abcdef"};
    EXPECT_EQ(scrub_values("xabcdefx abc", secrets), "x***x ***");
}

TEST(DbKnownSecrets, RememberedDsnPasswordIsScrubbedFromAnyMessage) {
    remember_dsn_secrets("host=db password=Remembered-Pw-123");
    EXPECT_EQ(scrub_known_secrets("oops Remembered-Pw-123 leaked"), "oops *** leaked");
}

TEST(DbParseDsn, InvalidDsnIsAConfigErrorWithoutThePassword) {
    try {
        parse_dsn("host=db password=hunter2 bogus");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::config);
        EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
        EXPECT_NE(std::string(error.what()).find("invalid connection string"), std::string::npos);
    }
}

TEST(DbRewriteDsn, OverridesReplaceAndDefaultsFillMissingKeys) {
    const std::vector<DsnParam> defaults{{"connect_timeout", "10"}, {"port", "1"}};
    const std::vector<DsnParam> overrides{{"application_name", "syncset/source"},
                                          {"dbname", "other db"}};
    const std::string rewritten =
        rewrite_dsn("postgresql://app:pw@db:5433/shop", defaults, overrides);
    const auto params = parse_dsn(rewritten);
    const auto value_of = [&](std::string_view key) {
        for (const auto& p : params) {
            if (p.key == key) {
                return p.value;
            }
        }
        return std::string("<missing>");
    };
    EXPECT_EQ(value_of("host"), "db");
    EXPECT_EQ(value_of("port"), "5433");
    EXPECT_EQ(value_of("user"), "app");
    EXPECT_EQ(value_of("password"), "pw");
    EXPECT_EQ(value_of("dbname"), "other db");
    EXPECT_EQ(value_of("connect_timeout"), "10");
    EXPECT_EQ(value_of("application_name"), "syncset/source");
}

TEST(DbFormatConninfo, ValuesAreQuotedAndEscapedForLibpq) {
    const std::vector<DsnParam> params{{"dbname", "a b"}, {"password", "it's \\ ok"}};
    const std::string conninfo = format_conninfo(params);
    EXPECT_EQ(conninfo, "dbname='a b' password='it\\'s \\\\ ok'");
    // libpq reports keys in its own order, so compare as sets.
    auto parsed = parse_dsn(conninfo);
    ASSERT_EQ(parsed.size(), 2U);
    EXPECT_TRUE(std::is_permutation(parsed.begin(), parsed.end(), params.begin()));
}

}  // namespace
}  // namespace syncset::db
