// The daemon's scheduling without threads or a database: the job due first runs, a failing
// table backs off without holding back the others, `run --once` settles and exits with the
// right status.
#include <gtest/gtest.h>

#include "daemon/schedule.hpp"

namespace syncset::daemon {
namespace {

using std::chrono::milliseconds;
using Clock = Schedule::Clock;

const Clock::time_point t0{};
const milliseconds k_poll{1000};

db::RetryPolicy no_jitter() {
    db::RetryPolicy policy;
    policy.initial_delay_ms = 500;
    policy.max_delay_ms = 4000;
    policy.jitter = 0;
    return policy;
}

const Error k_lost(ErrorCode::connection, "source: connection lost", true);
const Error k_missing(ErrorCode::database, "relation \"orders\" does not exist", false);

TEST(DaemonSchedule, TheJobDueFirstRunsAndARunningJobIsNotTakenTwice) {
    Schedule s(false);
    s.reset(3, t0);
    EXPECT_EQ(s.take_due(t0), 0u);
    EXPECT_EQ(s.take_due(t0), 1u);
    s.succeeded(0, t0, k_poll);
    s.succeeded(1, t0 + milliseconds(10), k_poll);
    EXPECT_EQ(s.take_due(t0), 2u);
    EXPECT_EQ(s.take_due(t0), std::nullopt);  // 2 is running, 0 and 1 wait a poll
    EXPECT_EQ(s.take_due(t0 + k_poll), 0u);
    EXPECT_EQ(s.take_due(t0 + k_poll), std::nullopt);  // 1 is due 10 ms later
    EXPECT_EQ(s.take_due(t0 + k_poll + milliseconds(10)), 1u);
}

TEST(DaemonSchedule, ATableHeldByAnotherDaemonIsTriedAgainAfterAPoll) {
    Schedule s(false);
    s.reset(1, t0);
    ASSERT_EQ(s.take_due(t0), 0u);
    s.deferred(0, t0, k_poll);
    EXPECT_EQ(s.take_due(t0 + milliseconds(999)), std::nullopt);
    EXPECT_EQ(s.take_due(t0 + k_poll), 0u);
}

TEST(DaemonSchedule, RetryableFailuresBackOffExponentiallyUpToTheCap) {
    Schedule s(false, no_jitter());
    s.reset(1, t0);
    std::vector<milliseconds> delays;
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(s.take_due(t0 + milliseconds(100'000 * i)).has_value());
        delays.push_back(s.failed(0, t0 + milliseconds(100'000 * i), k_lost, 0.5));
    }
    EXPECT_EQ(delays,
              (std::vector<milliseconds>{milliseconds(500), milliseconds(1000), milliseconds(2000),
                                         milliseconds(4000), milliseconds(4000)}));
}

TEST(DaemonSchedule, JitterSpreadsTheDelayOfTablesThatFailTogether) {
    db::RetryPolicy policy = no_jitter();
    policy.jitter = 1.0;
    Schedule s(false, policy);
    s.reset(2, t0);
    s.take_due(t0);
    s.take_due(t0);
    EXPECT_EQ(s.failed(0, t0, k_lost, 0.0), milliseconds(0));
    EXPECT_EQ(s.failed(1, t0, k_lost, 1.0), milliseconds(500));
}

TEST(DaemonSchedule, ANonRetryableFailureWaitsAtLeastThirtySecondsInTheDaemon) {
    Schedule s(false, no_jitter());
    s.reset(1, t0);
    s.take_due(t0);
    EXPECT_EQ(s.failed(0, t0, k_missing, 0.5), milliseconds(30000));
    EXPECT_FALSE(s.gave_up(0));  // the daemon never gives up on a table
}

TEST(DaemonSchedule, FailuresFoldIntoOneMessageUntilTheNextSuccess) {
    Schedule s(false, no_jitter());
    s.reset(1, t0);
    for (int i = 0; i < 3; ++i) {
        s.take_due(t0 + milliseconds(10'000 * i));
        s.failed(0, t0 + milliseconds(10'000 * i), k_lost, 0.5);
    }
    EXPECT_EQ(s.failures(0), 3u);
    EXPECT_EQ(s.failure_message(0), "source: connection lost (after 3 attempts)");
    s.take_due(t0 + milliseconds(100'000));
    s.succeeded(0, t0 + milliseconds(100'000), k_poll);
    EXPECT_EQ(s.failures(0), 0u);
    // And the backoff starts over.
    s.take_due(t0 + milliseconds(200'000));
    EXPECT_EQ(s.failed(0, t0 + milliseconds(200'000), k_lost, 0.5), milliseconds(500));
}

TEST(DaemonSchedule, OneFailingTableNeverHoldsBackTheOthers) {
    Schedule s(false, no_jitter());
    s.reset(2, t0);
    ASSERT_EQ(s.take_due(t0), 0u);
    s.failed(0, t0, k_missing, 0.5);
    ASSERT_EQ(s.take_due(t0), 1u);
    s.succeeded(1, t0, k_poll);
    EXPECT_EQ(s.take_due(t0 + k_poll), 1u);
}

TEST(DaemonSchedule, OnceGivesUpAfterFiveRetryableFailuresOrTheFirstOtherOne) {
    Schedule s(true, no_jitter());
    s.reset(1, t0);
    for (std::uint32_t i = 0; i < Schedule::k_once_attempts; ++i) {
        ASSERT_EQ(s.take_due(t0 + milliseconds(100'000 * i)), 0u);
        EXPECT_FALSE(s.gave_up(0));
        s.failed(0, t0 + milliseconds(100'000 * i), k_lost, 0.5);
    }
    EXPECT_TRUE(s.gave_up(0));
    EXPECT_TRUE(s.all_settled());
    EXPECT_EQ(s.take_due(t0 + milliseconds(1'000'000)), std::nullopt);

    Schedule other(true, no_jitter());
    other.reset(1, t0);
    ASSERT_EQ(other.take_due(t0), 0u);
    EXPECT_EQ(other.failed(0, t0, k_missing, 0.5), milliseconds(500));  // at least 200 ms
    EXPECT_TRUE(other.gave_up(0));
}

TEST(DaemonSchedule, OnceIsSettledWhenEveryTableCaughtUpOnce) {
    Schedule s(true);
    s.reset(2, t0);
    EXPECT_FALSE(s.all_settled());
    s.take_due(t0);
    s.caught_up(0);
    s.succeeded(0, t0, k_poll);
    EXPECT_FALSE(s.all_settled());
    EXPECT_EQ(s.take_due(t0 + k_poll), 1u);  // a settled table is not run again
    s.caught_up(1);
    EXPECT_TRUE(s.all_settled());
}

TEST(DaemonSchedule, ExitStatusTellsAllFromSomeFromNone) {
    Schedule s(true);
    s.reset(2, t0);
    s.take_due(t0);
    s.take_due(t0);
    s.caught_up(0);
    s.caught_up(1);
    EXPECT_EQ(s.exit_status(false, false, 0, 0), k_exit_ok);
    EXPECT_EQ(s.exit_status(false, false, 1, 0), k_exit_partial);  // a stopped table
    EXPECT_EQ(s.exit_status(false, false, 0, 1), k_exit_partial);  // an unreachable replica
    EXPECT_EQ(s.exit_status(false, true, 0, 0), k_exit_partial);   // the source failed

    Schedule none(true);
    none.reset(1, t0);
    none.take_due(t0);
    none.failed(0, t0, k_missing, 0.5);
    EXPECT_EQ(none.exit_status(false, false, 0, 0), k_exit_database);
    EXPECT_EQ(none.exit_status(true, false, 0, 0), k_exit_ok);  // stopped by a signal
}

TEST(DaemonSchedule, TheDaemonAlwaysExitsZero) {
    Schedule s(false);
    s.reset(1, t0);
    s.take_due(t0);
    s.failed(0, t0, k_missing, 0.5);
    EXPECT_EQ(s.exit_status(false, true, 3, 3), k_exit_ok);
}

}  // namespace
}  // namespace syncset::daemon
