// Retrying operations that fail with a retryable syncset::Error: exponential backoff with jitter,
// an attempt limit, a stop flag and a deadline. Pure: time, sleeping and randomness come from an
// injected RetryClock, so tests run without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "syncset/error.hpp"

namespace syncset::db {

struct RetryPolicy {
    std::uint64_t initial_delay_ms = 500;  // delay after the first failure, before jitter
    std::uint64_t max_delay_ms = 30'000;   // cap on any delay
    double multiplier = 2.0;               // growth of the delay per failed attempt
    std::uint32_t max_attempts = 5;        // attempts in all, 0 = retry forever
    // Part of each delay that is random: the delay is drawn from [(1 - jitter) * d, d], where d
    // is the capped exponential delay. 1 = "full jitter", 0 = none.
    double jitter = 1.0;
};

// Delay before the next attempt once `failed_attempts` (>= 1) attempts have failed:
// min(max_delay_ms, initial_delay_ms * multiplier^(failed_attempts - 1)), jittered by
// `random01` in [0, 1].
std::uint64_t next_delay_ms(const RetryPolicy& policy, std::uint32_t failed_attempts,
                            double random01) noexcept;

// Time, sleep and randomness for retry().
class RetryClock {
  public:
    virtual ~RetryClock() = default;
    virtual std::chrono::steady_clock::time_point now() = 0;
    // Waits for `delay`, or less when `*stop` becomes true; returns false when stopped early.
    virtual bool sleep_for(std::chrono::milliseconds delay, const std::atomic<bool>* stop) = 0;
    // Uniform in [0, 1].
    virtual double random01() = 0;
};

// The real clock: steady_clock, sleeps in slices of at most 100 ms watching the stop flag.
class SystemRetryClock final : public RetryClock {
  public:
    SystemRetryClock();
    std::chrono::steady_clock::time_point now() override;
    bool sleep_for(std::chrono::milliseconds delay, const std::atomic<bool>* stop) override;
    double random01() override;

  private:
    std::mt19937_64 m_random;
};

// Limits beyond the attempt count: give up when `*stop` is set (daemon shutting down) or when the
// next attempt could not start before `deadline`.
struct RetryLimits {
    const std::atomic<bool>* stop = nullptr;
    std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Called before each wait: the error of the attempt that failed, how many attempts have failed,
// and how long retry() will now wait.
using OnRetry = std::function<void(const Error& error, std::uint32_t failed_attempts,
                                   std::chrono::milliseconds delay)>;

// The failed attempts of one retried operation, folded into one message. Memory stays bounded
// however long a daemon retries: the first 5 and the latest 20 failures are kept.
class AttemptLog {
  public:
    // Records one more failed attempt.
    void add(std::string message);
    std::uint32_t attempts() const noexcept { return m_attempts; }
    // `last (after N attempts[, why]: attempts 1-2, 4: a; attempt 3: b)` — the latest message,
    // then every different kept message once with the attempts that produced it. Just `last`
    // after a single attempt; `last (after N attempts)` when all were the same.
    std::string fold(std::string_view why = {}) const;

  private:
    struct Failure {
        std::uint32_t attempt;
        std::string message;
    };
    static constexpr std::size_t k_kept_first = 5;
    static constexpr std::size_t k_kept_latest = 20;

    std::vector<Failure> m_first;
    std::deque<Failure> m_latest;
    std::uint32_t m_attempts = 0;
};

namespace detail {
// Runs `attempt` until it returns, retrying retryable syncset::Errors; see retry().
void run_with_retry(const RetryPolicy& policy, RetryClock& clock,
                    const std::function<void()>& attempt, const OnRetry& on_retry,
                    const RetryLimits& limits);
}  // namespace detail

// Calls `op` until it succeeds and returns its result. Only syncset::Error with retryable() ==
// true is retried; any other exception propagates at once. Gives up when policy.max_attempts is
// reached, the stop flag is set or the deadline would be passed, and then throws the last Error
// (code, retryable, hint, SQLSTATE kept) with every attempt's message folded into its message by
// AttemptLog::fold(). A non-retryable Error after earlier failures is folded the same way.
template <typename Op>
std::invoke_result_t<Op&> retry(const RetryPolicy& policy, RetryClock& clock, Op&& op,
                                const OnRetry& on_retry = {}, const RetryLimits& limits = {}) {
    using T = std::invoke_result_t<Op&>;
    if constexpr (std::is_void_v<T>) {
        detail::run_with_retry(
            policy, clock, [&op] { op(); }, on_retry, limits);
    } else {
        std::optional<T> result;
        detail::run_with_retry(
            policy, clock, [&op, &result] { result.emplace(op()); }, on_retry, limits);
        return std::move(*result);
    }
}

}  // namespace syncset::db
