// The daemon's scheduling decisions, apart from its threads and I/O: which table job runs next,
// how long a failed one waits, when `run --once` is done, and its exit status. Pure: time comes
// in as arguments and randomness as a number in [0, 1], so it is unit-tested without sleeping
// (tests/unit/test_daemon_schedule.cpp). Not thread-safe: the daemon holds its mutex around it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "syncset/db/retry.hpp"
#include "syncset/error.hpp"

namespace syncset::daemon {

class Schedule {
  public:
    using Clock = std::chrono::steady_clock;

    // `once`: `run --once`, which gives up on a table after k_once_attempts failures in a row
    // or at its first non-retryable one.
    static constexpr std::uint32_t k_once_attempts = 5;

    explicit Schedule(bool once, db::RetryPolicy policy = {});

    // Replaces every job by `jobs` new ones, all due at `now`.
    void reset(std::size_t jobs, Clock::time_point now);
    std::size_t size() const noexcept { return m_jobs.size(); }

    // The job due first at `now` that is not running (and, with --once, not settled), marked
    // running; nullopt when none is.
    std::optional<std::size_t> take_due(Clock::time_point now);
    // The job's cycle caught up with its source (the cycle may still go on, say to scan).
    void caught_up(std::size_t job);
    // The job's cycle ended well: due again one poll interval later; its failures are forgotten.
    void succeeded(std::size_t job, Clock::time_point now, std::chrono::milliseconds poll);
    // Another daemon holds the table: try again one poll interval later.
    void deferred(std::size_t job, Clock::time_point now, std::chrono::milliseconds poll);
    // The job's cycle failed with `error`: records it in the job's attempt log and returns how
    // long it waits before its next attempt: backoff with jitter (`random01`) for retryable
    // errors, at least 30 s (200 ms with --once) for the others, which need a change to pass.
    std::chrono::milliseconds failed(std::size_t job, Clock::time_point now, const Error& error,
                                     double random01);

    // Every failure since the job's last success, folded: `last (after N attempts: ...)`.
    std::string failure_message(std::size_t job) const;
    std::uint32_t failures(std::size_t job) const;
    // The job's loop caught up with its source at least once since reset().
    bool has_caught_up(std::size_t job) const;
    bool gave_up(std::size_t job) const;

    // --once: every job has caught up once or been given up on.
    bool all_settled() const;
    // The exit status of the run: always k_exit_ok without --once or when stopped by a signal;
    // else k_exit_ok when everything caught up, k_exit_partial when some tables did and others
    // failed, k_exit_database when none did. `stopped_tables` and `failed_replicas` count as
    // failed; `source_failed` means the source catalog could not be read.
    int exit_status(bool stopped, bool source_failed, std::size_t stopped_tables,
                    std::size_t failed_replicas) const;

  private:
    struct Job {
        Clock::time_point due{};
        bool running = false;
        bool caught_up_once = false;
        bool gave_up = false;
        db::AttemptLog attempts;  // since the last success
    };

    bool settled(const Job& job) const { return job.caught_up_once || job.gave_up; }

    bool m_once;
    db::RetryPolicy m_policy;
    std::vector<Job> m_jobs;
};

}  // namespace syncset::daemon
