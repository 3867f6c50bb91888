#include <gtest/gtest.h>

#include "syncset/text.hpp"

namespace syncset {
namespace {

// 2026-12-07 20:44:04 UTC
constexpr std::int64_t k_at = 1796676244000;

TEST(TimestampText, TimestamptzAsPrintedUnderTheUtcSessionIsExact) {
    EXPECT_EQ(parse_timestamp_ms("2026-12-07 20:44:04+00"), k_at);
    EXPECT_EQ(parse_timestamp_ms("2026-12-07 20:44:04.123456+00"), k_at + 123);
    EXPECT_EQ(parse_timestamp_ms("2026-12-07T20:44:04Z"), k_at);
}

TEST(TimestampText, OffsetsMoveTheInstantTheRightWay) {
    EXPECT_EQ(parse_timestamp_ms("2026-12-07 22:44:04+02"), k_at);
    EXPECT_EQ(parse_timestamp_ms("2026-12-08 02:14:04+05:30"), k_at);
    EXPECT_EQ(parse_timestamp_ms("2026-12-07 15:44:04-05:00"), k_at);
    EXPECT_EQ(parse_timestamp_ms("2026-12-07 20:44:34+00:00:30"), k_at);
}

TEST(TimestampText, TimestampWithoutZoneAndDateAreReadAsUtc) {
    EXPECT_EQ(parse_timestamp_ms("2026-12-07 20:44:04"), k_at);
    EXPECT_EQ(parse_timestamp_ms("2026-12-07"), k_at - (20 * 3600 + 44 * 60 + 4) * 1000LL);
    EXPECT_EQ(parse_timestamp_ms("1970-01-01"), 0);
    EXPECT_EQ(parse_timestamp_ms("1969-12-31 23:59:59"), -1000);
}

TEST(TimestampText, AnythingElseIsNotATime) {
    for (const char* text : {"", "infinity", "-infinity", "2026-13-01", "2026-02-30",
                             "2026-12-07 25:00:00", "2026-12-07 20:44", "2026-12-07 20:44:04.",
                             "2026-12-07 20:44:04 BC", "2026-12-07 20:44:04+0x", "12/07/2026"}) {
        EXPECT_EQ(parse_timestamp_ms(text), std::nullopt) << text;
    }
}

}  // namespace
}  // namespace syncset
