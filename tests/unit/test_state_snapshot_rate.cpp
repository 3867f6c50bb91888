// Snapshot progress for the log, `status` and STATUS=: percent, rate and ETA from rows done,
// the estimate and the time it has run, without a database.
#include <gtest/gtest.h>

#include "syncset/state/progress.hpp"

namespace syncset::state {
namespace {

TEST(SnapshotRate, PercentRateAndEtaFromRowsDoneTheEstimateAndTheTimeRun) {
    const SnapshotRate r = snapshot_rate(250000, 1000000, 10.0);
    ASSERT_TRUE(r.percent && r.rows_per_second && r.eta_seconds);
    EXPECT_DOUBLE_EQ(*r.percent, 25.0);
    EXPECT_DOUBLE_EQ(*r.rows_per_second, 25000.0);
    EXPECT_EQ(*r.eta_seconds, 30);
}

TEST(SnapshotRate, AnEstimateTooLowNeverShowsAHundredPercentOrANegativeEta) {
    // reltuples is an estimate: the rows may pass it before the snapshot is done.
    const SnapshotRate r = snapshot_rate(1200000, 1000000, 10.0);
    ASSERT_TRUE(r.percent);
    EXPECT_LT(*r.percent, 100.0);
    EXPECT_FALSE(r.eta_seconds);
}

TEST(SnapshotRate, NothingIsMadeUpWithoutAnEstimateOrBeforeASecondHasPassed) {
    const SnapshotRate unknown = snapshot_rate(5000, std::nullopt, 10.0);
    EXPECT_FALSE(unknown.percent);
    EXPECT_TRUE(unknown.rows_per_second);
    EXPECT_FALSE(unknown.eta_seconds);

    const SnapshotRate early = snapshot_rate(5000, 1000000, 0.2);
    EXPECT_TRUE(early.percent);
    EXPECT_FALSE(early.rows_per_second) << "a rate over 0.2 s is noise";
    EXPECT_FALSE(early.eta_seconds);

    const SnapshotRate empty = snapshot_rate(0, 0, 10.0);
    EXPECT_FALSE(empty.percent) << "an empty table has no percent to show";
    EXPECT_FALSE(empty.eta_seconds);
}

}  // namespace
}  // namespace syncset::state
