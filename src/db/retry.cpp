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

std::string fold_attempt_messages(std::span<const std::string> messages, std::string_view why) {
    if (messages.empty()) {
        return {};
    }
    const std::string& last = messages.back();
    if (messages.size() == 1 && why.empty()) {
        return last;
    }
    // Each different earlier message once, in order of first appearance, with its attempts.
    struct Group {
        std::string_view message;
        std::vector<std::size_t> attempts;
    };
    std::vector<Group> groups;
    for (std::size_t i = 0; i + 1 < messages.size(); ++i) {
        if (messages[i] == last) {
            continue;
        }
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const Group& g) { return g.message == messages[i]; });
        if (it == groups.end()) {
            groups.push_back(Group{messages[i], {}});
            it = std::prev(groups.end());
        }
        it->attempts.push_back(i + 1);
    }
    std::string folded = last + " (after " + std::to_string(messages.size()) +
                         (messages.size() == 1 ? " attempt" : " attempts");
    if (!why.empty()) {
        folded += ", ";
        folded += why;
    }
    const char* separator = ": ";
    for (const auto& group : groups) {
        folded += separator;
        folded += group.attempts.size() == 1 ? "attempt " : "attempts ";
        for (std::size_t i = 0; i < group.attempts.size(); ++i) {
            folded += (i == 0 ? "" : ", ") + std::to_string(group.attempts[i]);
        }
        folded += ": ";
        folded += group.message;
        separator = "; ";
    }
    return folded + ")";
}

namespace detail {

namespace {

[[noreturn]] void give_up(const Error& last, std::span<const std::string> messages,
                          std::string_view why) {
    Error folded(last.code(), fold_attempt_messages(messages, why), last.retryable(), last.hint());
    folded.set_sqlstate(last.sqlstate());
    throw folded;
}

}  // namespace

void run_with_retry(const RetryPolicy& policy, RetryClock& clock,
                    const std::function<void()>& attempt, const OnRetry& on_retry,
                    const RetryLimits& limits) {
    std::vector<std::string> messages;
    for (std::uint32_t failed = 1;; ++failed) {
        try {
            attempt();
            return;
        } catch (const Error& error) {
            messages.emplace_back(error.what());
            if (!error.retryable()) {
                if (messages.size() == 1) {
                    throw;
                }
                give_up(error, messages, {});
            }
            if (policy.max_attempts != 0 && failed >= policy.max_attempts) {
                give_up(error, messages, {});
            }
            if (limits.stop != nullptr && limits.stop->load()) {
                give_up(error, messages, "stop requested");
            }
            const std::chrono::milliseconds delay{static_cast<std::chrono::milliseconds::rep>(
                next_delay_ms(policy, failed, clock.random01()))};
            if (limits.deadline && clock.now() + delay > *limits.deadline) {
                give_up(error, messages, "deadline reached");
            }
            if (on_retry) {
                on_retry(error, failed, delay);
            }
            if (!clock.sleep_for(delay, limits.stop)) {
                give_up(error, messages, "stop requested");
            }
        }
    }
}

}  // namespace detail

}  // namespace syncset::db
