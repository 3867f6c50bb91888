#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "syncset/db/retry.hpp"
#include "syncset/error.hpp"

namespace syncset::db {
namespace {

using std::chrono::milliseconds;

// Scripted clock: time moves only when retry() sleeps; random values come from a list.
class FakeClock final : public RetryClock {
  public:
    std::chrono::steady_clock::time_point now() override { return m_now; }
    bool sleep_for(milliseconds delay, const std::atomic<bool>* stop) override {
        sleeps.push_back(delay);
        if (stop_during_sleep != nullptr) {
            stop_during_sleep->store(true);
        }
        if (stop != nullptr && stop->load()) {
            return false;
        }
        m_now += delay;
        return true;
    }
    double random01() override {
        if (randoms.empty()) {
            return 1.0;
        }
        const double value = randoms.front();
        randoms.pop_front();
        return value;
    }

    std::vector<milliseconds> sleeps;
    std::deque<double> randoms;
    std::atomic<bool>* stop_during_sleep = nullptr;

  private:
    std::chrono::steady_clock::time_point m_now{};
};

Error retryable(const std::string& message) {
    Error error(ErrorCode::connection, message, true, "is the server up?");
    error.set_sqlstate("08006");
    return error;
}

RetryPolicy no_jitter_policy(std::uint32_t max_attempts) {
    RetryPolicy policy;
    policy.initial_delay_ms = 100;
    policy.max_delay_ms = 1000;
    policy.multiplier = 2.0;
    policy.max_attempts = max_attempts;
    policy.jitter = 0.0;
    return policy;
}

TEST(DbRetryDelay, GrowsExponentiallyUpToTheCap) {
    const RetryPolicy policy = no_jitter_policy(0);
    EXPECT_EQ(next_delay_ms(policy, 1, 0.5), 100U);
    EXPECT_EQ(next_delay_ms(policy, 2, 0.5), 200U);
    EXPECT_EQ(next_delay_ms(policy, 3, 0.5), 400U);
    EXPECT_EQ(next_delay_ms(policy, 4, 0.5), 800U);
    EXPECT_EQ(next_delay_ms(policy, 5, 0.5), 1000U);
    EXPECT_EQ(next_delay_ms(policy, 1000, 0.5), 1000U);  // no overflow for huge attempt counts
}

TEST(DbRetryDelay, FullJitterSpreadsDelayBetweenZeroAndTheExponentialValue) {
    RetryPolicy policy = no_jitter_policy(0);
    policy.jitter = 1.0;
    EXPECT_EQ(next_delay_ms(policy, 3, 0.0), 0U);
    EXPECT_EQ(next_delay_ms(policy, 3, 0.25), 100U);
    EXPECT_EQ(next_delay_ms(policy, 3, 1.0), 400U);
}

TEST(DbRetryDelay, PartialJitterKeepsAFloor) {
    RetryPolicy policy = no_jitter_policy(0);
    policy.jitter = 0.5;
    EXPECT_EQ(next_delay_ms(policy, 2, 0.0), 100U);
    EXPECT_EQ(next_delay_ms(policy, 2, 1.0), 200U);
    EXPECT_EQ(next_delay_ms(policy, 10, 0.0), 500U);  // floor of the capped delay
}

TEST(DbRetry, SucceedsAfterRetryableFailuresAndReportsEachRetry) {
    FakeClock clock;
    int calls = 0;
    std::vector<std::uint32_t> reported;
    const int value = retry(
        no_jitter_policy(5), clock,
        [&] {
            if (++calls < 3) {
                throw retryable("connection refused");
            }
            return 42;
        },
        [&](const Error& error, std::uint32_t failed, milliseconds delay) {
            EXPECT_STREQ(error.what(), "connection refused");
            EXPECT_EQ(delay, milliseconds(100 * (1 << (failed - 1))));
            reported.push_back(failed);
        });
    EXPECT_EQ(value, 42);
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(reported, (std::vector<std::uint32_t>{1, 2}));
    EXPECT_EQ(clock.sleeps, (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
}

TEST(DbRetry, VoidOperationIsSupported) {
    FakeClock clock;
    int calls = 0;
    retry(no_jitter_policy(3), clock, [&] {
        if (++calls == 1) {
            throw retryable("x");
        }
    });
    EXPECT_EQ(calls, 2);
}

TEST(DbRetry, NonRetryableErrorOnFirstAttemptPropagatesUnchanged) {
    FakeClock clock;
    int calls = 0;
    try {
        retry(no_jitter_policy(5), clock, [&]() -> int {
            ++calls;
            Error error(ErrorCode::database, "syntax error at or near \"SELEC\"");
            error.set_sqlstate("42601");
            throw error;
        });
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "syntax error at or near \"SELEC\"");
        EXPECT_EQ(error.sqlstate(), "42601");
    }
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(clock.sleeps.empty());
}

TEST(DbRetry, OtherExceptionsAreNotRetried) {
    FakeClock clock;
    int calls = 0;
    EXPECT_THROW(retry(no_jitter_policy(5), clock,
                       [&] {
                           ++calls;
                           throw std::runtime_error("bug");
                       }),
                 std::runtime_error);
    EXPECT_EQ(calls, 1);
}

TEST(DbRetry, GivingUpAtMaxAttemptsFoldsEveryAttemptIntoOneMessage) {
    FakeClock clock;
    std::size_t calls = 0;
    const std::vector<std::string> messages{"connection refused", "timeout expired",
                                            "connection refused", "server is starting up"};
    try {
        retry(no_jitter_policy(4), clock, [&] { throw retryable(messages[calls++]); });
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(),
                     "server is starting up (after 4 attempts: attempts 1, 3: connection "
                     "refused; attempt 2: timeout expired)");
        EXPECT_EQ(error.code(), ErrorCode::connection);
        EXPECT_TRUE(error.retryable());
        EXPECT_EQ(error.hint(), "is the server up?");
        EXPECT_EQ(error.sqlstate(), "08006");
    }
    EXPECT_EQ(calls, 4U);
    EXPECT_EQ(clock.sleeps.size(), 3U);
}

TEST(DbRetry, IdenticalMessagesAreNotRepeated) {
    FakeClock clock;
    try {
        retry(no_jitter_policy(3), clock, [] { throw retryable("connection refused"); });
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "connection refused (after 3 attempts)");
    }
}

TEST(DbRetry, NonRetryableErrorAfterRetriesKeepsTheEarlierAttempts) {
    FakeClock clock;
    int calls = 0;
    try {
        retry(no_jitter_policy(5), clock, [&] {
            if (++calls == 1) {
                throw retryable("connection refused");
            }
            throw Error(ErrorCode::database, "permission denied for table t");
        });
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(),
                     "permission denied for table t (after 2 attempts: attempt 1: "
                     "connection refused)");
        EXPECT_FALSE(error.retryable());
        EXPECT_EQ(error.code(), ErrorCode::database);
    }
}

TEST(DbRetry, ZeroMaxAttemptsRetriesUntilSuccess) {
    FakeClock clock;
    int calls = 0;
    retry(no_jitter_policy(0), clock, [&] {
        if (++calls < 50) {
            throw retryable("down");
        }
    });
    EXPECT_EQ(calls, 50);
    EXPECT_EQ(clock.sleeps.back(), milliseconds(1000));
}

TEST(DbRetry, StopFlagAlreadySetGivesUpWithoutSleeping) {
    FakeClock clock;
    std::atomic<bool> stop{true};
    int calls = 0;
    try {
        retry(
            no_jitter_policy(0), clock,
            [&] {
                ++calls;
                throw retryable("down");
            },
            {}, RetryLimits{&stop, std::nullopt});
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "down (after 1 attempt, stop requested)");
    }
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(clock.sleeps.empty());
}

TEST(DbRetry, StopDuringSleepEndsTheRetryLoop) {
    FakeClock clock;
    std::atomic<bool> stop{false};
    clock.stop_during_sleep = &stop;
    int calls = 0;
    try {
        retry(
            no_jitter_policy(0), clock,
            [&] {
                ++calls;
                throw retryable("down");
            },
            {}, RetryLimits{&stop, std::nullopt});
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "down (after 1 attempt, stop requested)");
    }
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(clock.sleeps.size(), 1U);
}

TEST(DbRetry, DeadlineStopsRetryingBeforeASleepThatWouldPassIt) {
    FakeClock clock;
    const auto deadline = clock.now() + milliseconds(350);
    int calls = 0;
    try {
        retry(
            no_jitter_policy(0), clock,
            [&] {
                ++calls;
                throw retryable("down");
            },
            {}, RetryLimits{nullptr, deadline});
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_STREQ(error.what(), "down (after 3 attempts, deadline reached)");
    }
    // Slept 100 + 200 = 300 ms; the next 400 ms sleep would pass the deadline.
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(clock.sleeps.size(), 2U);
}

TEST(DbRetry, JitterUsesTheInjectedRandomSource) {
    FakeClock clock;
    clock.randoms = {0.5, 0.0};
    RetryPolicy policy = no_jitter_policy(3);
    policy.jitter = 1.0;
    EXPECT_THROW(retry(policy, clock, [] { throw retryable("down"); }), Error);
    EXPECT_EQ(clock.sleeps, (std::vector<milliseconds>{milliseconds(50), milliseconds(0)}));
}

TEST(DbAttemptLog, SingleAttemptIsJustItsMessage) {
    AttemptLog log;
    EXPECT_EQ(log.fold(), "");
    log.add("boom");
    EXPECT_EQ(log.fold(), "boom");
}

TEST(DbAttemptLog, ConsecutiveAttemptsAreShownAsRanges) {
    AttemptLog log;
    for (const char* message : {"a", "a", "a", "b", "a", "c"}) {
        log.add(message);
    }
    EXPECT_EQ(log.fold(), "c (after 6 attempts: attempts 1-3, 5: a; attempt 4: b)");
}

TEST(DbAttemptLog, EndlessRetryingKeepsMessageAndMemoryBounded) {
    AttemptLog log;
    for (int i = 1; i <= 100'000; ++i) {
        log.add(i % 2 == 0 ? "even failure" : "odd failure " + std::to_string(i % 7));
    }
    const std::string folded = log.fold("stop requested");
    EXPECT_LT(folded.size(), 600U) << folded;
    // The first and the latest failures are kept, the middle ones only counted.
    EXPECT_EQ(folded.rfind("even failure (after 100000 attempts, stop requested: attempts 1, "
                           "99989: odd failure 1; attempts 3, 99991: odd failure 3; ",
                           0),
              0U)
        << folded;
}

TEST(DbSystemRetryClock, SleepReturnsEarlyWhenStopIsSet) {
    SystemRetryClock clock;
    std::atomic<bool> stop{true};
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(clock.sleep_for(milliseconds(10'000), &stop));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
    const double r = clock.random01();
    EXPECT_GE(r, 0.0);
    EXPECT_LE(r, 1.0);
}

}  // namespace
}  // namespace syncset::db
