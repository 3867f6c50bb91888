// catalog::glob_match: how config table patterns select source table names.
#include <gtest/gtest.h>

#include "syncset/catalog/model.hpp"

namespace syncset::catalog {
namespace {

TEST(CatalogGlob, LiteralPatternMatchesOnlyTheSameName) {
    EXPECT_TRUE(glob_match("orders", "orders"));
    EXPECT_FALSE(glob_match("orders", "order"));
    EXPECT_FALSE(glob_match("orders", "orders2"));
    EXPECT_FALSE(glob_match("orders", "Orders"));
}

TEST(CatalogGlob, StarMatchesAnyRunIncludingNone) {
    EXPECT_TRUE(glob_match("*", "orders"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("order*", "order"));
    EXPECT_TRUE(glob_match("order*", "orders_2024"));
    EXPECT_TRUE(glob_match("*_log", "audit_log"));
    EXPECT_TRUE(glob_match("*_log", "_log"));
    EXPECT_FALSE(glob_match("*_log", "audit_logs"));
}

TEST(CatalogGlob, QuestionMarkMatchesExactlyOneCharacter) {
    EXPECT_TRUE(glob_match("t?", "t1"));
    EXPECT_FALSE(glob_match("t?", "t"));
    EXPECT_FALSE(glob_match("t?", "t12"));
    EXPECT_TRUE(glob_match("???", "abc"));
    EXPECT_FALSE(glob_match("???", "ab"));
}

TEST(CatalogGlob, EmptyPatternMatchesOnlyTheEmptyName) {
    EXPECT_TRUE(glob_match("", ""));
    EXPECT_FALSE(glob_match("", "a"));
    EXPECT_FALSE(glob_match("a", ""));
    EXPECT_FALSE(glob_match("?", ""));
}

TEST(CatalogGlob, SeveralStarsBacktrack) {
    EXPECT_TRUE(glob_match("*a*b*", "xxaxxbxx"));
    EXPECT_TRUE(glob_match("*a*b*", "ab"));
    EXPECT_FALSE(glob_match("*a*b*", "ba"));
    EXPECT_TRUE(glob_match("a*b*c", "abbbc"));
    EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
    EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
    EXPECT_TRUE(glob_match("**", "anything"));
    EXPECT_TRUE(glob_match("*?*", "x"));
    EXPECT_FALSE(glob_match("*?*", ""));
}

TEST(CatalogGlob, PatternMustMatchTheWholeNameNotAPart) {
    EXPECT_FALSE(glob_match("order", "orders"));
    EXPECT_FALSE(glob_match("rder*", "orders"));
    EXPECT_FALSE(glob_match("*rder", "orders"));
    EXPECT_TRUE(glob_match("*rder*", "orders"));
}

TEST(CatalogGlob, OtherCharactersAreLiteralAndBytewise) {
    EXPECT_TRUE(glob_match("a.b", "a.b"));
    EXPECT_FALSE(glob_match("a.b", "axb"));
    EXPECT_TRUE(glob_match("zähl*", "zählung"));
    EXPECT_TRUE(glob_match("my table", "my table"));
}

}  // namespace
}  // namespace syncset::catalog
