// The copy loop's decisions, apart from its I/O: from a table's stored progress, this cycle's
// in-memory state and the result of the last batch, what the next read is, what the checkpoint
// becomes, and when the table has caught up. Pure (time comes in as arguments): unit-tested
// without a database; TableSync runs the reads and commits the checkpoints these functions
// compute.
//
// One small state type per strategy, reset at the start of each poll cycle; none is persisted,
// so losing one on a restart only means re-reading rows (the upsert is idempotent).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "syncset/copy/sql.hpp"
#include "syncset/state/progress.hpp"

namespace syncset::copy {

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

// ---- xmin: each poll reads the rows written by transactions at or after the previous poll's
// snapshot xmin, paging by key; the poll's own xmin is stored with its last page.

struct XminCycle {
    std::optional<std::int64_t> start_xmin;  // this poll's snapshot xmin (64-bit), read first
    std::vector<std::string> after_key;      // paging within the poll
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

using SteadyTime = std::chrono::steady_clock::time_point;

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
