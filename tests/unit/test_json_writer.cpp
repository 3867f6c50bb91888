#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "syncset/json.hpp"

namespace syncset {
namespace {

TEST(JsonQuote, EscapesQuotesBackslashesAndControlCharactersAndKeepsUtf8) {
    EXPECT_EQ(json_quote("a\"b\\c\nd\re\tf\x01g\x1f"), R"("a\"b\\c\nd\re\tf\u0001g\u001f")");
    EXPECT_EQ(json_quote("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");
    EXPECT_EQ(json_quote(""), R"("")");
}

TEST(JsonWriter, MembersAndElementsAreSeparatedByOneCommaWithoutSpaces) {
    JsonWriter json;
    json.begin_object()
        .key("a")
        .value(1)
        .key("b")
        .value("x")
        .key("c")
        .begin_array()
        .value(true)
        .value(false)
        .null()
        .end_array()
        .end_object();
    EXPECT_EQ(json.str(), R"({"a":1,"b":"x","c":[true,false,null]})");
}

TEST(JsonWriter, EmptyObjectsAndArraysHaveNoCommaInside) {
    JsonWriter json;
    json.begin_object()
        .key("o")
        .begin_object()
        .end_object()
        .key("a")
        .begin_array()
        .end_array()
        .key("aa")
        .begin_array()
        .begin_array()
        .end_array()
        .begin_array()
        .end_array()
        .end_array()
        .end_object();
    EXPECT_EQ(json.str(), R"({"o":{},"a":[],"aa":[[],[]]})");
}

TEST(JsonWriter, NestedContainersAfterAMemberGetTheirCommaAndSoDoMembersAfterThem) {
    JsonWriter json;
    json.begin_array()
        .begin_object()
        .key("x")
        .begin_object()
        .key("y")
        .value(1)
        .end_object()
        .key("z")
        .value(2)
        .end_object()
        .begin_object()
        .end_object()
        .value(3)
        .end_array();
    EXPECT_EQ(json.str(), R"([{"x":{"y":1},"z":2},{},3])");
}

TEST(JsonWriter, KeysAndStringValuesAreEscaped) {
    JsonWriter json;
    json.begin_object().key("k\"\n").value("v\\\t\x02").end_object();
    EXPECT_EQ(json.str(), R"({"k\"\n":"v\\\t\u0002"})");
}

TEST(JsonWriter, StringLiteralsAreStringsNotBooleans) {
    // A `const char*` converts to bool before string_view: the writer must not pick that.
    JsonWriter json;
    json.begin_array().value("true").value(std::string("s")).value(std::string_view("v"));
    json.end_array();
    EXPECT_EQ(json.str(), R"(["true","s","v"])");
}

TEST(JsonWriter, IntegersOfEverySignednessAndWidthAreBareNumbers) {
    JsonWriter json;
    json.begin_array()
        .value(std::int64_t{-9223372036854775807 - 1})
        .value(std::numeric_limits<std::uint64_t>::max())
        .value(std::size_t{0})
        .value(-7)
        .end_array();
    EXPECT_EQ(json.str(), "[-9223372036854775808,18446744073709551615,0,-7]");
}

TEST(JsonWriter, FixedPrintsExactlyTheDecimalsAskedForAndNullForNonFinite) {
    JsonWriter json;
    json.begin_array()
        .fixed(0.0, 3)
        .fixed(1.23456, 3)
        .fixed(2.0005, 1)
        .fixed(-0.5, 0)
        .fixed(1e20, 3)
        .fixed(std::nan(""), 3)
        .fixed(std::numeric_limits<double>::infinity(), 3)
        .end_array();
    EXPECT_EQ(json.str(), "[0.000,1.235,2.0,-0,100000000000000000000.000,null,null]");
}

TEST(JsonWriter, ValueOrNullWritesNullForAnEmptyStringAndAnAbsentNumber) {
    JsonWriter json;
    json.begin_object()
        .key("s")
        .value_or_null("")
        .key("t")
        .value_or_null("x")
        .key("n")
        .value_or_null(std::optional<std::int64_t>{})
        .key("m")
        .value_or_null(std::optional<std::int64_t>{0})
        .end_object();
    EXPECT_EQ(json.str(), R"({"s":null,"t":"x","n":null,"m":0})");
}

TEST(JsonWriter, ATopLevelScalarIsAWholeDocument) {
    JsonWriter json;
    json.value("only");
    EXPECT_EQ(json.str(), R"("only")");
}

}  // namespace
}  // namespace syncset
