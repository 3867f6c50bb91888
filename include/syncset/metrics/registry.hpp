// What the daemon exposes about itself at /metrics, /healthz and /readyz: counters and gauges
// per (replica, table) and per endpoint, and the scheduling loop's heartbeat. Pure (no I/O).
//
// Writers (the copy workers, the drift thread, the main loop) hold a TableMetrics or
// EndpointMetrics and update its atomics with relaxed stores: no lock on the copy hot path.
// The registry's mutex guards only which entries exist (taken at a schema step, a reload and a
// scrape), never a batch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "syncset/state/model.hpp"
#include "syncset/state/progress.hpp"

namespace syncset::metrics {

// Unset time or value in the int64 gauges below.
inline constexpr std::int64_t k_unknown = INT64_MIN;

// Wall-clock milliseconds since the Unix epoch.
std::int64_t unix_ms(std::chrono::system_clock::time_point at) noexcept;

// One (replica, table). Counters only grow for the life of the process.
struct TableMetrics {
    std::atomic<std::uint64_t> rows_snapshot{0};     // snapshot, backfill and resync chunks
    std::atomic<std::uint64_t> rows_incremental{0};  // polls: cursor, xmin, full refresh
    std::atomic<std::uint64_t> rows_repair{0};       // drift repair upserts
    std::atomic<std::uint64_t> rows_deleted{0};      // left the filter, gone from a mirror, repair
    std::atomic<std::uint64_t> bytes_copied{0};      // COPY bytes from the source
    std::atomic<std::uint64_t> batches{0};           // replica transactions committed
    std::atomic<std::uint64_t> errors_retryable{0};
    std::atomic<std::uint64_t> errors_fatal{0};
    std::atomic<state::Phase> phase{state::Phase::snapshot};
    std::atomic<std::int64_t> last_success_ms{k_unknown};  // last committed batch
    std::atomic<std::int64_t> caught_up_ms{k_unknown};     // last time it had nothing left
    std::atomic<std::int64_t> added_ms{k_unknown};         // when this process took it on
    std::atomic<std::int64_t> cursor_time_ms{k_unknown};   // time cursors: the stored cursor
    std::atomic<std::int64_t> snapshot_rows_done{0};       // the snapshot under way, else 0
    std::atomic<std::int64_t> snapshot_rows_estimated{0};
    std::atomic<std::int64_t> drift_missing{0};  // from the last drift scan
    std::atomic<std::int64_t> drift_extra{0};
    std::atomic<std::int64_t> drift_different{0};
    std::atomic<std::int64_t> drift_scan_ms{k_unknown};  // when the last scan ended
};

// The source or one replica: whether the last attempt to use it worked.
struct EndpointMetrics {
    enum class Up : int { unknown, up, down };
    std::atomic<Up> up{Up::unknown};
    // Reachable, but its last schema step (for the source: the catalog read) did not complete:
    // a plan with problems, a lock wait, a DDL or permission error. Its tables wait.
    std::atomic<bool> paused{false};
};

struct ProcessFigures {
    std::optional<std::int64_t> resident_memory_bytes;
    std::optional<double> cpu_seconds;
    std::optional<double> start_time_seconds;  // since the Unix epoch
    std::optional<std::int64_t> open_fds;
    std::optional<std::int64_t> max_fds;
};

// A copy of everything at one instant, for rendering.
struct TableFigures {
    std::string replica;
    std::string table;  // the target, `schema.name`
    std::uint64_t rows_snapshot = 0, rows_incremental = 0, rows_repair = 0, rows_deleted = 0;
    std::uint64_t bytes_copied = 0, batches = 0, errors_retryable = 0, errors_fatal = 0;
    state::Phase phase = state::Phase::snapshot;
    std::optional<double> last_success_s;  // Unix seconds
    std::optional<double> lag_s;
    std::int64_t snapshot_rows_done = 0, snapshot_rows_estimated = 0;
    std::int64_t drift_missing = 0, drift_extra = 0, drift_different = 0;
    std::optional<double> drift_scan_s;  // Unix seconds
};

struct EndpointFigures {
    std::string name;
    EndpointMetrics::Up up = EndpointMetrics::Up::unknown;
    bool paused = false;
};

struct Figures {
    std::string version;
    bool started = false;  // the first schema step is done
    EndpointFigures source;
    std::vector<EndpointFigures> replicas;  // in config order
    std::vector<TableFigures> tables;       // by replica, then table
    ProcessFigures process;
};

// The lag of a table at `now_ms`: the stored cursor's age for time cursors; otherwise the time
// since the table last caught up, or since this process took it on when it has not yet.
std::optional<double> table_lag_s(const TableMetrics& table, std::int64_t now_ms) noexcept;

// A table's stored progress, as read when its poll cycle begins or after a batch committed:
// its phase and, when `cursor_is_instant` (a timestamptz cursor), the cursor's time. With
// `from_store` (the cycle's start), also what the replica remembers from before this process:
// the last success, the last drift scan, and, for a table already following, when it last
// caught up.
void publish_progress(TableMetrics& table, const state::Progress& progress, bool cursor_is_instant,
                      std::int64_t now_ms, bool from_store) noexcept;

class Registry {
  public:
    explicit Registry(std::string version);

    // The replicas of the config in order; entries of replicas not named leave the exposition.
    void set_replicas(const std::vector<std::string>& names);
    std::shared_ptr<EndpointMetrics> source() const { return m_source; }
    // The replica named, registered on first use.
    std::shared_ptr<EndpointMetrics> replica(const std::string& name);
    // The table's entry, added (with added_ms = now) on first use. The same object is returned
    // across re-plans, so counters keep growing.
    std::shared_ptr<TableMetrics> table(const std::string& replica, const std::string& table);
    // After a replica's schema step: its tables not in `targets` leave the exposition.
    void retain_tables(const std::string& replica, const std::set<std::string>& targets);
    // The first schema step is done: readiness may be given.
    void set_started() noexcept { m_started.store(true, std::memory_order_relaxed); }

    // The scheduling loop is turning.
    void beat(std::chrono::steady_clock::time_point now) noexcept;
    // How long since the last beat (zero before the first: a starting daemon is alive).
    std::chrono::milliseconds since_beat(std::chrono::steady_clock::time_point now) const noexcept;

    Figures figures(std::int64_t now_ms) const;

  private:
    std::string m_version;
    std::shared_ptr<EndpointMetrics> m_source = std::make_shared<EndpointMetrics>();
    std::atomic<bool> m_started{false};
    std::atomic<std::int64_t> m_beat_ns{0};
    mutable std::mutex m_mutex;  // guards the maps below, not their entries' values
    std::vector<std::pair<std::string, std::shared_ptr<EndpointMetrics>>> m_replicas;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<TableMetrics>> m_tables;
};

}  // namespace syncset::metrics
