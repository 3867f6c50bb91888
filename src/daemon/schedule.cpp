#include "daemon/schedule.hpp"

#include <algorithm>

namespace syncset::daemon {

using std::chrono::milliseconds;

Schedule::Schedule(bool once, db::RetryPolicy policy) : m_once(once), m_policy(policy) {}

void Schedule::reset(std::size_t jobs, Clock::time_point now) {
    m_jobs.assign(jobs, Job{});
    for (auto& job : m_jobs) {
        job.due = now;
    }
}

std::optional<std::size_t> Schedule::take_due(Clock::time_point now) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < m_jobs.size(); ++i) {
        const Job& job = m_jobs[i];
        if (job.running || job.due > now || (m_once && settled(job))) {
            continue;
        }
        if (!best || job.due < m_jobs[*best].due) {
            best = i;
        }
    }
    if (best) {
        m_jobs[*best].running = true;
    }
    return best;
}

void Schedule::caught_up(std::size_t job) {
    m_jobs.at(job).caught_up_once = true;
}

void Schedule::succeeded(std::size_t job, Clock::time_point now, milliseconds poll) {
    Job& j = m_jobs.at(job);
    j.running = false;
    j.attempts = db::AttemptLog{};
    j.due = now + poll;
}

void Schedule::deferred(std::size_t job, Clock::time_point now, milliseconds poll) {
    Job& j = m_jobs.at(job);
    j.running = false;
    j.due = now + poll;
}

milliseconds Schedule::failed(std::size_t job, Clock::time_point now, const Error& error,
                              double random01) {
    Job& j = m_jobs.at(job);
    j.running = false;
    j.attempts.add(error.what());
    auto delay = milliseconds(db::next_delay_ms(m_policy, j.attempts.attempts(), random01));
    if (!error.retryable()) {
        delay = std::max(delay, milliseconds(m_once ? 200 : 30000));
    }
    j.due = now + delay;
    if (m_once && (!error.retryable() || j.attempts.attempts() >= k_once_attempts)) {
        j.gave_up = true;
    }
    return delay;
}

std::string Schedule::failure_message(std::size_t job) const {
    return m_jobs.at(job).attempts.fold();
}

std::uint32_t Schedule::failures(std::size_t job) const {
    return m_jobs.at(job).attempts.attempts();
}

bool Schedule::has_caught_up(std::size_t job) const {
    return m_jobs.at(job).caught_up_once;
}

bool Schedule::gave_up(std::size_t job) const {
    return m_jobs.at(job).gave_up;
}

bool Schedule::all_settled() const {
    return std::all_of(m_jobs.begin(), m_jobs.end(), [this](const Job& j) { return settled(j); });
}

int Schedule::exit_status(bool stopped, bool source_failed, std::size_t stopped_tables,
                          std::size_t failed_replicas) const {
    if (!m_once || stopped) {
        return k_exit_ok;
    }
    std::size_t ok = 0;
    std::size_t failed = stopped_tables + failed_replicas;
    for (const auto& job : m_jobs) {
        job.caught_up_once && !job.gave_up ? ++ok : ++failed;
    }
    if (failed == 0 && !source_failed) {
        return k_exit_ok;
    }
    return ok > 0 ? k_exit_partial : k_exit_database;
}

}  // namespace syncset::daemon
