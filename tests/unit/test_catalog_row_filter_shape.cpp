// catalog::find_row_filter_shape_problem: a row filter must be one self-contained expression,
// so that it cannot close the parenthesis syncset wraps it in, nor end the statement.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "syncset/catalog/read.hpp"

namespace syncset::catalog {
namespace {

TEST(CatalogRowFilterShape, OrdinaryExpressionsAreFine) {
    EXPECT_EQ(find_row_filter_shape_problem("status = 'paid'"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("(a > 1 AND (b < 2)) OR c IN (1, 2)"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("created_at > now() - interval '30 days'"),
              std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("\"My Col\" IS NOT NULL"), std::nullopt);
}

TEST(CatalogRowFilterShape, EmptyOrBlankFilterIsAProblem) {
    EXPECT_EQ(find_row_filter_shape_problem(""), "row filter is empty");
    EXPECT_EQ(find_row_filter_shape_problem("  \n\t"), "row filter is empty");
    EXPECT_EQ(find_row_filter_shape_problem("/* nothing */\n-- here\n"), "row filter is empty");
}

TEST(CatalogRowFilterShape, SemicolonOutsideQuotesIsAProblem) {
    EXPECT_EQ(find_row_filter_shape_problem("true; DROP TABLE orders"),
              "row filter contains `;`: it must be one expression, not statements");
    EXPECT_EQ(find_row_filter_shape_problem("note = 'a;b'"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("\"a;b\" = 1"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("note = $$a;b$$"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("true /* ; */"), std::nullopt);
}

TEST(CatalogRowFilterShape, ClosingTheWrappingParenthesisIsAProblem) {
    const std::string expected =
        "row filter closes a parenthesis it never opened: it must be one expression";
    EXPECT_EQ(find_row_filter_shape_problem("true) OR (true"), expected);
    EXPECT_EQ(find_row_filter_shape_problem("true); DROP TABLE x; --"), expected);
    EXPECT_EQ(find_row_filter_shape_problem("a = 1) UNION SELECT 1 FROM secret WHERE (true"),
              expected);
}

TEST(CatalogRowFilterShape, UnclosedParenthesisIsAProblem) {
    EXPECT_EQ(find_row_filter_shape_problem("(a = 1"), "row filter leaves a parenthesis open");
}

TEST(CatalogRowFilterShape, ParenthesesInsideStringsIdentifiersAndCommentsDoNotCount) {
    EXPECT_EQ(find_row_filter_shape_problem("note = ')'"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("note = 'it''s )'"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("\")\" = 1"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("\"a\"\")\" = 1"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("note = $tag$ ) $ $$ $tag$"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("a = 1 /* ) /* nested ) */ ) */"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("a = 1 -- )\n"), std::nullopt);
}

TEST(CatalogRowFilterShape, EscapeStringsHonourBackslashes) {
    // In E'...' a backslash escapes the quote, so the string runs on past `\'`.
    EXPECT_EQ(find_row_filter_shape_problem("note = E'\\') OR (true'"), std::nullopt);
    // In a standard string the backslash is ordinary: the string ends at the second quote.
    EXPECT_EQ(find_row_filter_shape_problem("note = '\\') OR (true"),
              "row filter closes a parenthesis it never opened: it must be one expression");
    // An `e` ending an identifier does not start an escape string.
    EXPECT_EQ(find_row_filter_shape_problem("somE'x\\' = 'a'"), std::nullopt);
}

TEST(CatalogRowFilterShape, DollarSignsInIdentifiersAndParametersAreNotQuotes) {
    EXPECT_EQ(find_row_filter_shape_problem("a$b$ = 1"), std::nullopt);
    EXPECT_EQ(find_row_filter_shape_problem("a = $1"), std::nullopt);
}

TEST(CatalogRowFilterShape, UnterminatedQuotesAndCommentsAreProblems) {
    EXPECT_EQ(find_row_filter_shape_problem("note = 'abc"),
              "row filter has an unterminated string constant");
    EXPECT_EQ(find_row_filter_shape_problem("\"abc = 1"),
              "row filter has an unterminated quoted identifier");
    EXPECT_EQ(find_row_filter_shape_problem("note = $x$abc"),
              "row filter has an unterminated dollar-quoted string $x$");
    EXPECT_EQ(find_row_filter_shape_problem("a = 1 /* open /* */"),
              "row filter has an unterminated /* comment");
    EXPECT_EQ(find_row_filter_shape_problem("a = 1 -- trailing"),
              "row filter ends inside a -- comment: end the comment with a newline or use /* */");
}

TEST(CatalogRowFilterShape, NulByteIsAProblem) {
    EXPECT_EQ(find_row_filter_shape_problem(std::string("a = 1\0; DROP", 12)),
              "row filter contains a NUL byte");
}

}  // namespace
}  // namespace syncset::catalog
