// The copy loop's decisions, apart from its I/O: from a table's stored progress, this cycle's
// in-memory state and the result of the last batch, what the next read is, what the checkpoint
// becomes, and when the table has caught up. Pure (time comes in as arguments): unit-tested
// without a database; TableSync runs the reads and commits the checkpoints these functions
// compute.
//
// One small state type per strategy, reset at the start of each poll cycle; none is persisted,
// so losing one on a restart only means re-reading rows (the upsert is idempotent).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "syncset/copy/sql.hpp"
#include "syncset/enum_names.hpp"
#include "syncset/state/progress.hpp"

namespace syncset::copy {

using SteadyTime = std::chrono::steady_clock::time_point;

// The name stored in the state's cursor_kind for a tracking strategy.
std::string_view tracking_name(ChangeTracking tracking) noexcept;

// What one batch read, as the policies need it.
struct BatchRead {
    std::uint64_t rows = 0;
    std::vector<std::string> last_key;       // key values of the last row; empty without rows
    std::optional<std::string> last_cursor;  // its cursor value (column cursors)
};

// Which strategy the next step runs.
enum class StepKind { stopped, snapshot, full_refresh, xmin, column };
// `xmin_readable`: the role may read the xmin system column; without it an xmin table is
// re-read in full every poll.
StepKind choose_step(const state::Progress& progress, const CopySpec& spec,
                     bool xmin_readable) noexcept;

// ---- Snapshot, backfill and resync: key-ordered chunks, each its own checkpoint.

struct SnapshotRead {
    std::vector<std::string> after_key;  // empty: from the first key
    // Read where incremental reads start afterwards first (the first chunk of a copy that
    // begins now): changes made during the copy are then re-read, never missed.
    bool handover = false;
    // A new, empty table: COPY straight in. A re-copy (backfill, resync) goes through the stage.
    bool direct = false;
};
SnapshotRead plan_snapshot_read(const state::Progress& progress);
// Records the handover position read for a copy that begins now.
void apply_handover(state::Progress& progress, ChangeTracking tracking,
                    std::vector<std::string> cursor);
// Applies a committed chunk to the checkpoint. True when the copy is done: the next step is
// incremental (and the table's indexes are built with this last chunk).
bool apply_snapshot_chunk(state::Progress& progress, const CopySpec& spec, const BatchRead& batch);

// ---- xmin polls without a scan. Finding a table's changed rows by xmin reads the whole table;
// an unchanged table need not be read at all. Before its first batch a poll reads the table's
// write counters from the source's cumulative statistics (summed over partitions). Each write
// adds to them after its transaction commits, when the writing session flushes its statistics,
// so counters equal to those read before the last full poll mean: nothing committed since that
// read has been flushed yet. The poll then skips its scan and keeps the stored xmin, so the next
// full poll reads everything since the last one: a skip delays a change, never loses it.
// A flush can be late: PostgreSQL 15 flushes a session's counts when it goes idle, but at most
// once a second (a deferred flush waits for the next idle moment a second on, or 10 s of
// idleness), leaves a contended entry for later until 60 s have passed, and a procedure that
// commits inside flushes only when it returns; a session with track_counts off counts nothing.
// So after the counters move, polls keep scanning for k_xmin_settle: a session that has just
// flushed writes to this table holds any it made within the next second back for at most
// 10 s. And whatever the statistics do, a full poll runs at least every
// xmin_full_scan_interval: a committed change reaches the replica within
// xmin_full_scan_interval + poll_interval (plus the poll's own time).

struct WriteCounters {
    std::int64_t inserted = 0;
    std::int64_t updated = 0;  // HOT updates included
    std::int64_t deleted = 0;
    std::int64_t leaves = 0;  // partitions summed; 1 for a plain table
    std::string reset_at;     // when the database's statistics were last reset ("" never)
    friend bool operator==(const WriteCounters&, const WriteCounters&) = default;
};

// PGSTAT_MIN_INTERVAL + PGSTAT_IDLE_INTERVAL: the longest a flush deferred because the session
// flushed less than a second before waits while the session is idle.
inline constexpr std::chrono::milliseconds k_xmin_settle{11000};

enum class XminScan {
    skip,      // the counters have not moved since the last full poll, which is recent enough
    always,    // xmin_full_scan_interval is 0
    unknown,   // the counters could not be read or cannot see every write
    first,     // no full poll remembered (a start, or a new plan)
    reset,     // a counter went down or the statistics were reset
    changed,   // writes were counted since
    settling,  // they moved less than k_xmin_settle ago: later writes may not be counted yet
    due,       // xmin_full_scan_interval has passed since the last full poll read its counters
};
inline constexpr auto k_xmin_scan_names =
    std::to_array<EnumName<XminScan>>({{XminScan::skip, "skip"},
                                       {XminScan::always, "always"},
                                       {XminScan::unknown, "unknown"},
                                       {XminScan::first, "first"},
                                       {XminScan::reset, "reset"},
                                       {XminScan::changed, "changed"},
                                       {XminScan::settling, "settling"},
                                       {XminScan::due, "due"}});
constexpr const auto& enum_table(XminScan) noexcept {
    return k_xmin_scan_names;
}

// Whether this xmin poll scans. `now`: the counters just read (nullopt: unknown);
// `at_last_full`: those read before the last full poll that caught up (nullopt: none), which
// was `since_last_full` ago; `since_moved`: since a poll last found them moved;
// `max_interval`: xmin_full_scan_interval.
XminScan choose_xmin_scan(const std::optional<WriteCounters>& now,
                          const std::optional<WriteCounters>& at_last_full,
                          std::chrono::milliseconds since_last_full,
                          std::chrono::milliseconds since_moved,
                          std::chrono::milliseconds max_interval) noexcept;
// True for the choices that found the counters moved since the last full poll: the poll's
// time starts a new k_xmin_settle. A first poll has seen no move (its scan reads every write
// committed before it, counted or not).
bool counters_moved(XminScan scan) noexcept;

// ---- xmin: each poll reads the rows written by transactions at or after the previous poll's
// snapshot xmin, paging by key; the poll's own xmin is stored with its last page.

struct XminCycle {
    std::optional<std::int64_t> start_xmin;  // this poll's snapshot xmin (64-bit), read first
    std::vector<std::string> after_key;      // paging within the poll
    // The write counters read before the poll's first batch (nullopt: unknown), and when.
    std::optional<WriteCounters> counters;
    SteadyTime counters_at{};
};
struct XminRead {
    std::int64_t from_xid = 0;
    std::vector<std::string> after_key;
};
// Requires cycle.start_xmin.
XminRead plan_xmin_read(const state::Progress& progress, const XminCycle& cycle);
// True when the poll has caught up (a short batch): the cursor moves to the poll's start xmin.
bool apply_xmin_batch(state::Progress& progress, XminCycle& cycle, const BatchRead& batch,
                      std::int64_t batch_rows);

// ---- Column cursors (time or sequence), with the late-commit rule: a poll first reads a bound
// nothing can still commit behind. Phase A reads rows below it and moves the stored cursor past
// them; phase B reads the rows at or past it, copies them, and leaves the cursor, so they are
// read again every poll until the bound passes them.

struct ColumnCycle {
    bool bound_read = false;
    std::optional<Bound> bound;           // nullopt once read: nothing is known safe yet
    bool unsafe = false;                  // in phase B
    std::optional<Position> unsafe_from;  // phase B paging
    std::vector<std::string> last_seen;   // (cursor, key...) of the last row this poll read
};
// True until the cycle's bound has been read and given to set_bound.
bool needs_bound(const ColumnCycle& cycle) noexcept;
void set_bound(ColumnCycle& cycle, std::optional<Bound> bound);
struct ColumnRead {
    std::optional<Position> from;  // nullopt: from the first row
    std::optional<Bound> bound;    // nullopt: unbounded
};
ColumnRead plan_column_read(const state::Progress& progress, const ColumnCycle& cycle);
// True when the poll has caught up (a short batch in phase B).
bool apply_column_batch(state::Progress& progress, ColumnCycle& cycle, const CopySpec& spec,
                        const BatchRead& batch);

// ---- The sequence rule: a value seen by a poll is safe once every client transaction open
// after that poll's read has ended.

// Client transactions open at some moment, as `pid@xact_start` (a pid alone may be reused).
// A transaction that took a sequence value but has not written yet has no xid, so the
// snapshot's xid list would miss it; pg_stat_activity does not.
struct OpenTransactions {
    std::vector<std::string> sessions;
    // When the role cannot see other sessions: nothing counts as ended before this.
    SteadyTime not_before{};
    // True when none of these sessions is among `now`'s, and `at` is past not_before.
    bool ended(const OpenTransactions& now, SteadyTime at) const;
};
// From the source's answer: whether the role sees every session, and `pid@xact_start,...`.
// A role that does not see them all waits out `late_commit_window` instead.
OpenTransactions parse_open_transactions(bool sees_all, std::string_view list, SteadyTime at,
                                         std::chrono::milliseconds late_commit_window);

class SequenceWatch {
  public:
    bool empty() const noexcept { return m_pending.empty(); }
    // A poll saw values up to `position`; `open` are the transactions open after its read.
    void remember(std::vector<std::string> position, OpenTransactions open);
    // The newest remembered position whose transactions have all ended by `now`, dropping it
    // and every older one; nullopt when none has.
    std::optional<std::vector<std::string>> pop_safe(const OpenTransactions& now, SteadyTime at);

  private:
    std::deque<std::pair<std::vector<std::string>, OpenTransactions>> m_pending;
};

// A sequence cursor's bound: the newest safe position, else the stored cursor (which was safe
// when it was stored); nullopt when there is neither.
std::optional<Bound> sequence_bound(const std::optional<std::vector<std::string>>& safe,
                                    const state::Progress& progress);

}  // namespace syncset::copy
