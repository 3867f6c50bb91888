#include <gtest/gtest.h>

#include <string>

#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"

namespace syncset::db {
namespace {

TEST(DbQuoteIdent, PlainNameIsAlwaysDoubleQuoted) {
    EXPECT_EQ(quote_ident("orders"), "\"orders\"");
    EXPECT_EQ(quote_ident("Orders"), "\"Orders\"");
    EXPECT_EQ(quote_ident("select"), "\"select\"");
}

TEST(DbQuoteIdent, EmbeddedDoubleQuotesAreDoubled) {
    EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(quote_ident("\""), "\"\"\"\"");
}

TEST(DbQuoteIdent, DotsSpacesAndUnicodeStayInsideOneIdentifier) {
    EXPECT_EQ(quote_ident("public.orders"), "\"public.orders\"");
    EXPECT_EQ(quote_ident("my table"), "\"my table\"");
    EXPECT_EQ(quote_ident("zählung"), "\"zählung\"");
}

TEST(DbQuoteIdent, EmptyNameOrNulByteIsAConfigError) {
    EXPECT_THROW(quote_ident(""), Error);
    try {
        quote_ident(std::string("a\0b", 3));
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::config);
        EXPECT_STREQ(error.what(), "cannot quote an identifier containing a NUL byte");
    }
}

TEST(DbQuoteQualified, EachPartIsQuotedSeparately) {
    EXPECT_EQ(quote_qualified("public", "orders"), "\"public\".\"orders\"");
    EXPECT_EQ(quote_qualified("we\"ird", "a.b"), "\"we\"\"ird\".\"a.b\"");
}

TEST(DbQuoteLiteral, SingleQuotesAreDoubledAndBackslashesKept) {
    EXPECT_EQ(quote_literal("abc"), "'abc'");
    EXPECT_EQ(quote_literal(""), "''");
    EXPECT_EQ(quote_literal("it's"), "'it''s'");
    EXPECT_EQ(quote_literal("a\\b"), "'a\\b'");
    EXPECT_EQ(quote_literal("''"), "''''''");
    EXPECT_EQ(quote_literal("x'; DROP TABLE t; --"), "'x''; DROP TABLE t; --'");
}

TEST(DbQuoteLiteral, NulByteIsRejectedWithAnError) {
    try {
        quote_literal(std::string("a\0b", 3));
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::config);
        EXPECT_FALSE(error.retryable());
        EXPECT_STREQ(error.what(), "cannot quote a literal containing a NUL byte");
    }
}

}  // namespace
}  // namespace syncset::db
