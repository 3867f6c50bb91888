#include "syncset/db/retry.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace syncset::db {

std::uint64_t next_delay_ms(const RetryPolicy& policy, std::uint32_t failed_attempts,
                            double random01) noexcept {
    const double cap = static_cast<double>(policy.max_delay_ms);
    const double exponent = failed_attempts == 0 ? 0.0 : static_cast<double>(failed_attempts - 1);
    const double growth = std::pow(std::max(policy.multiplier, 1.0), exponent);
    const double base = std::min(cap, static_cast<double>(policy.initial_delay_ms) * growth);
    const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
    const double random = std::clamp(random01, 0.0, 1.0);
    const double delay = base * (1.0 - jitter + jitter * random);
    return static_cast<std::uint64_t>(std::llround(std::clamp(delay, 0.0, cap)));
}

SystemRetryClock::SystemRetryClock() : m_random(std::random_device{}()) {}

std::chrono::steady_clock::time_point SystemRetryClock::now() {
    return std::chrono::steady_clock::now();
}

bool SystemRetryClock::sleep_for(std::chrono::milliseconds delay, const std::atomic<bool>* stop) {
    constexpr std::chrono::milliseconds k_slice{100};
    const auto until = std::chrono::steady_clock::now() + delay;
    for (;;) {
        if (stop != nullptr && stop->load()) {
            return false;
        }
        const auto left = until - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
            return true;
        }
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, k_slice));
    }
}

double SystemRetryClock::random01() {
    return std::uniform_real_distribution<double>(0.0, 1.0)(m_random);
}

void AttemptLog::add(std::string message) {
    ++m_attempts;
    Failure failure{m_attempts, std::move(message)};
    if (m_first.size() < k_kept_first) {
        m_first.push_back(std::move(failure));
        return;
    }
    m_latest.push_back(std::move(failure));
    if (m_latest.size() > k_kept_latest) {
        m_latest.pop_front();
    }
}

namespace {

// `attempt 3`, `attempts 1-3, 5`: attempt numbers in ascending order, runs joined.
std::string format_attempts(const std::vector<std::uint32_t>& attempts) {
    std::string text = attempts.size() == 1 ? "attempt " : "attempts ";
    for (std::size_t i = 0; i < attempts.size();) {
        std::size_t end = i;
        while (end + 1 < attempts.size() && attempts[end + 1] == attempts[end] + 1) {
            ++end;
        }
        text += i == 0 ? "" : ", ";
        text += std::to_string(attempts[i]);
        if (end > i) {
            text += '-';
            text += std::to_string(attempts[end]);
        }
        i = end + 1;
    }
    return text;
}

}  // namespace

std::string AttemptLog::fold(std::string_view why) const {
    if (m_attempts == 0) {
        return {};
    }
    const std::string& last = m_latest.empty() ? m_first.back().message : m_latest.back().message;
    if (m_attempts == 1 && why.empty()) {
        return last;
    }
    // Each different earlier message once, in order of first appearance, with its attempts.
    struct Group {
        std::string_view message;
        std::vector<std::uint32_t> attempts;
    };
    std::vector<Group> groups;
    const auto collect = [&](const Failure& failure) {
        if (failure.message == last) {
            return;
        }
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const Group& g) { return g.message == failure.message; });
        if (it == groups.end()) {
            groups.push_back(Group{failure.message, {}});
            it = std::prev(groups.end());
        }
        it->attempts.push_back(failure.attempt);
    };
    std::for_each(m_first.begin(), m_first.end(), collect);
    std::for_each(m_latest.begin(), m_latest.end(), collect);

    std::string folded = last + " (after " + std::to_string(m_attempts) +
                         (m_attempts == 1 ? " attempt" : " attempts");
    if (!why.empty()) {
        folded += ", ";
        folded += why;
    }
    const char* separator = ": ";
    for (const auto& group : groups) {
        folded += separator;
        folded += format_attempts(group.attempts);
        folded += ": ";
        folded += group.message;
        separator = "; ";
    }
    return folded + ")";
}

namespace detail {

namespace {

[[noreturn]] void give_up(const Error& last, const AttemptLog& log, std::string_view why) {
    Error folded(last.code(), log.fold(why), last.retryable(), last.hint());
    folded.set_sqlstate(last.sqlstate());
    throw folded;
}

}  // namespace

void run_with_retry(const RetryPolicy& policy, RetryClock& clock,
                    const std::function<void()>& attempt, const OnRetry& on_retry,
                    const RetryLimits& limits) {
    AttemptLog log;
    for (std::uint32_t failed = 1;; ++failed) {
        try {
            attempt();
            return;
        } catch (const Error& error) {
            log.add(error.what());
            if (!error.retryable()) {
                if (log.attempts() == 1) {
                    throw;
                }
                give_up(error, log, {});
            }
            if (policy.max_attempts != 0 && failed >= policy.max_attempts) {
                give_up(error, log, {});
            }
            if (limits.stop != nullptr && limits.stop->load()) {
                give_up(error, log, "stop requested");
            }
            const std::chrono::milliseconds delay{static_cast<std::chrono::milliseconds::rep>(
                next_delay_ms(policy, failed, clock.random01()))};
            if (limits.deadline && clock.now() + delay > *limits.deadline) {
                give_up(error, log, "deadline reached");
            }
            if (on_retry) {
                on_retry(error, failed, delay);
            }
            if (!clock.sleep_for(delay, limits.stop)) {
                give_up(error, log, "stop requested");
            }
        }
    }
}

}  // namespace detail

}  // namespace syncset::db
