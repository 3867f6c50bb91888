#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "state/sql_text.hpp"
#include "syncset/error.hpp"

namespace syncset::state {
namespace {

using Strings = std::vector<std::string>;

TEST(StateExpandSchema, IdentifierAndLiteralVariablesAreQuoted) {
    EXPECT_EQ(expand_schema("CREATE SCHEMA :\"schema\";", "_syncset"),
              "CREATE SCHEMA \"_syncset\";");
    EXPECT_EQ(expand_schema("SELECT :'schema'", "it's"), "SELECT 'it''s'");
    EXPECT_EQ(expand_schema("SELECT * FROM :\"schema\".t", "My \"Meta\" Schema"),
              "SELECT * FROM \"My \"\"Meta\"\" Schema\".t");
}

TEST(StateExpandSchema, SchemaNameThatLooksLikeAVariableIsNotExpandedAgain) {
    EXPECT_EQ(expand_schema(":\"schema\"", ":\"schema\""), "\":\"\"schema\"\"\"");
}

TEST(StateExpandSchema, CommentsLiteralsIdentifiersAndDollarBodiesAreLeftAlone) {
    // A schema name with a newline must never end a `--` comment and become SQL.
    const std::string sql =
        "-- uses :\"schema\"\n"
        "/* :\"schema\" /* nested */ :'schema' */"
        "SELECT ':\"schema\"', \":'schema'\", $$ :\"schema\" $$, $f$ :'schema' $f$, E'\\' "
        ":\"schema\"',"
        " x::\"schema\" FROM :\"schema\".t WHERE a = $1";
    const std::string expected =
        "-- uses :\"schema\"\n"
        "/* :\"schema\" /* nested */ :'schema' */"
        "SELECT ':\"schema\"', \":'schema'\", $$ :\"schema\" $$, $f$ :'schema' $f$, E'\\' "
        ":\"schema\"',"
        " x::\"schema\" FROM \"s\nDROP\".t WHERE a = $1";
    EXPECT_EQ(expand_schema(sql, "s\nDROP"), expected);
}

TEST(StateExpandSchema, UnknownVariableIsAnInternalError) {
    try {
        expand_schema("SELECT :\"table\"", "_syncset");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::internal);
        EXPECT_NE(std::string(error.what()).find(":\"table\""), std::string::npos);
    }
}

TEST(StateExpandSchema, EmptySchemaNameIsAConfigError) {
    try {
        expand_schema("SELECT 1", "");
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::config);
    }
}

TEST(StateTextArray, BuildQuotesEveryElementAndEscapesQuotesAndBackslashes) {
    EXPECT_EQ(build_text_array(Strings{}), "{}");
    EXPECT_EQ(build_text_array(Strings{"a"}), "{\"a\"}");
    EXPECT_EQ(build_text_array(Strings{"a\"b", "c\\d", ""}), "{\"a\\\"b\",\"c\\\\d\",\"\"}");
}

TEST(StateTextArray, BuildIntArray) {
    EXPECT_EQ(build_int_array(std::vector<int>{}), "{}");
    EXPECT_EQ(build_int_array(std::vector<int>{1, 2, 30}), "{1,2,30}");
}

TEST(StateTextArray, ParseReadsPostgresOutputForm) {
    EXPECT_EQ(parse_text_array("{}"), Strings{});
    EXPECT_EQ(parse_text_array("{a,b}"), (Strings{"a", "b"}));
    EXPECT_EQ(parse_text_array("{\"a b\",\"\",\"NULL\",\"x\\\"y\",\"p\\\\q\",\"{,}\"}"),
              (Strings{"a b", "", "NULL", "x\"y", "p\\q", "{,}"}));
    EXPECT_EQ(parse_text_array("{zählung,Id}"), (Strings{"zählung", "Id"}));
}

TEST(StateTextArray, ParseRoundTripsWhatBuildWrites) {
    const Strings items{"", " ", "NULL", "null", "a,b", "{x}", "q\"q", "b\\s", "é", "line\nbreak"};
    EXPECT_EQ(parse_text_array(build_text_array(items)), items);
}

TEST(StateTextArray, ParseRefusesNullsNestingBoundsAndGarbage) {
    for (const char* text : {"", "{", "}", "a", "{NULL}", "{a,null}", "{{a}}", "[0:1]={a,b}",
                             "{a,}", "{,a}", "{\"a}", "{\"a\"b}", "{a\"b}", "{a}x"}) {
        EXPECT_EQ(parse_text_array(text), std::nullopt) << text;
    }
}

}  // namespace
}  // namespace syncset::state
