// The drift scanner: proves a replica table equals its source selection, or finds exactly the
// rows that differ, moving little data: each side hashes rows in the database and only
// (count, sum) per key range crosses the network until a range is small.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "syncset/copy/sql.hpp"
#include "syncset/drift/compare.hpp"

namespace syncset::db {
class Connection;
}

namespace syncset::drift {

// The source's whole-table summaries, shared by the scans of every replica of the same table:
// a replica that selects the same rows and columns sends the same query, and the source
// answers it once for all of them. A replica never reuses an answer it stored itself (that
// is its previous scan), nor one older than `max_age`: the daemon scans replicas at different
// moments, and a stale answer costs a deeper descent (never a false report: every candidate
// is re-checked on both sides). Thread-safe.
class SourceCache {
  public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;
    // `now` tells the time (tests pass a scripted clock).
    explicit SourceCache(Clock::duration max_age = Clock::duration::max(), Now now = Clock::now)
        : m_max_age(max_age), m_now(std::move(now)) {}
    std::optional<std::vector<RangeSummary>> find(const std::string& key,
                                                  const std::string& replica) const;
    void store(const std::string& key, const std::string& replica,
               std::vector<RangeSummary> result);

  private:
    struct Entry {
        Clock::time_point at;
        std::string replica;
        std::vector<RangeSummary> result;
    };
    bool fresh(const Entry& e, Clock::time_point now) const { return now - e.at <= m_max_age; }

    Clock::duration m_max_age;
    Now m_now;
    mutable std::mutex m_mutex;
    std::map<std::string, Entry> m_results;
};

struct ScanOptions {
    // A differing range of more than `wide_rows` rows is split `fanout` ways: each level there
    // costs a scan of the range, so few levels. Smaller ranges are cheap to scan and split
    // `narrow_fanout` ways: fewer (count, sum) pairs to read per difference.
    int fanout = 16;
    int narrow_fanout = 4;
    std::int64_t wide_rows = 16384;
    std::int64_t leaf_rows = 16;  // ranges this small are compared row by row
    bool repair = false;
    // Rows in flight are not reported. When the table's copy loop committed within this time,
    // its checkpoint tells them and the scan leaves them out on both sides (compare.hpp).
    // Otherwise a difference must still be there after the loop committed another batch (or
    // this long passed).
    std::chrono::milliseconds recheck_timeout{5000};
    std::string state_schema = "_syncset";
    std::string target_schema;  // for reading the table's checkpoint and last success
    std::string target_name;
    // Pace on average: after each query, sleep until rows scanned / time is at most this
    // (on each side).
    std::int64_t max_rows_per_second = 0;  // 0: unlimited
    SourceCache* source_cache = nullptr;   // none: every scan reads the source itself
    std::string replica;                   // the replica's name, for the SourceCache
};

struct TableReport {
    std::int64_t source_rows = 0;
    std::int64_t replica_rows = 0;
    Diff drift;  // differences that persisted
    std::int64_t repaired = 0;
    std::uint64_t repair_rows_written = 0;  // rows the repair's upsert changed or added
    std::uint64_t repair_rows_deleted = 0;  // extra rows the repair deleted
    Diff after_repair;                      // what still differs after --repair (should be empty)
    std::uint64_t bytes_read = 0;           // result bytes received from both sides
    std::uint64_t bytes_sent = 0;           // SQL text sent to both sides
    std::int64_t queries = 0;
    std::int64_t source_scans_reused = 0;  // source summaries answered by the SourceCache
    std::int64_t in_flight_rows = 0;       // source rows left out as in flight, over all queries
    double seconds = 0;
};

TableReport scan_table(db::Connection& source, db::Connection& replica, const copy::CopySpec& spec,
                       const ScanOptions& options, const std::atomic<bool>* stop);

}  // namespace syncset::drift
