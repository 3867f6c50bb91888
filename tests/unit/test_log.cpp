#include <gtest/gtest.h>

#include "syncset/log/log.hpp"

namespace syncset::log {
namespace {

TEST(LogText, KeyValueContextQuotesOnlyWhenNeeded) {
    EXPECT_EQ(
        format_text("copy done", {{"replica", "billing"},
                                  {"table", "public.orders"},
                                  {"rows", std::int64_t{10}},
                                  {"note", "two words"},
                                  {"empty", ""}}),
        "copy done replica=billing table=public.orders rows=10 note=\"two words\" empty=\"\"");
}

TEST(LogJson, EveryLineIsValidJsonWithEscapesAndBareNumbers) {
    EXPECT_EQ(format_json("copy \"x\"", {{"table", "a\\b\nc"}, {"rows", 3u}, {"ctl", "\x01"}}),
              R"("msg":"copy \"x\"","table":"a\\b\nc","rows":3,"ctl":"\u0001")");
}

}  // namespace
}  // namespace syncset::log
