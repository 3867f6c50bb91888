// SQL for the copy paths, built from a table's plan. Pure: unit-tested without a database.
// Every identifier is quoted part by part; values (keys, cursors) are quoted literals cast to
// the column's type, because COPY takes no parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "syncset/config/config.hpp"
#include "syncset/plan/planner.hpp"

namespace syncset::copy {

// How a table's changes are found after its snapshot.
enum class ChangeTracking {
    xmin,      // rows whose xmin is at or after the last full poll's snapshot xmin (a full
               // scan, skipped while the table's write counters stand still)
    none,      // full refresh every poll, deleting rows that are gone
    time,      // a timestamp(tz) or date column set from the clock: capped by open transactions
    sequence,  // any other ordered column: advanced only past transactions that have ended
};

struct CopyColumn {
    std::string source;
    std::string target;
    std::string type;
};

struct CopySpec {
    std::string source_table;  // quoted, qualified
    std::string target_table;  // quoted, qualified
    std::string stage_table;   // quoted pg_temp name on the replica
    // Copy order: key columns first (so a row's key is its first fields), then the cursor when
    // it is not part of the key, then the rest in source order.
    std::vector<CopyColumn> columns;
    std::size_t key_count = 0;
    std::optional<std::size_t> cursor_index;       // column cursors only
    std::string cursor_type;                       // its type, for time cursors' bounds
    ChangeTracking cursor = ChangeTracking::xmin;  // how changes are found after the snapshot
    config::Mode mode = config::Mode::upsert;
    std::optional<std::string> where;
    std::optional<std::string> soft_delete;  // source column name
    std::int64_t batch_rows = 10000;
    std::int64_t snapshot_chunk_rows = 100000;

    // Full refresh each poll with deletes (cursor none, or mode mirror).
    bool full_refresh() const noexcept;
    // Incremental reads must carry a `keep` flag so rows leaving the filter can be deleted.
    bool needs_keep_flag() const noexcept;
    // A time cursor of type timestamptz: its values are instants (printed in UTC under the
    // pinned settings). `timestamp` and `date` cursors are the server's local time.
    bool cursor_is_instant() const noexcept;
};

// Builds the copy description of a planned table. Throws Error(schema) when the cursor column
// is not among the copied columns.
CopySpec build_copy_spec(const plan::TablePlan& plan);

// Where an incremental read resumes: after (cursor, key), or from `cursor` inclusive when the
// key is empty (the handover point recorded at the start of a snapshot).
struct Position {
    std::string cursor;
    std::vector<std::string> key;
};

// Upper limit of a read, for the late-commit rule: rows at or past it are re-read every poll
// until the limit passes them.
struct Bound {
    std::string value;
    bool inclusive = false;  // time bounds exclude their value, sequence bounds include it
};

// COPY of the next snapshot chunk in key order, after `after_key` (all when empty).
std::string build_snapshot_copy(const CopySpec& spec, const std::vector<std::string>& after_key);
// The exact number of rows a snapshot copies (the row filter applied): for the progress
// estimate of a small table, where the planner's estimate may be far off.
std::string build_row_count(const CopySpec& spec);
// COPY of the next incremental batch in (cursor, key) order from `from` (all when nullopt),
// up to `bound` (unbounded when nullopt).
std::string build_incremental_copy(const CopySpec& spec, const std::optional<Position>& from,
                                   const std::optional<Bound>& bound);
// The condition on a source row written by a transaction at or after xid `from_xid` (64-bit):
// what an xmin poll from `from_xid` reads, exactly (every row when `from_xid` is 0 or more
// than 2^31 xids old).
std::string build_xmin_changed_since(std::int64_t from_xid);
// COPY of rows written by transactions at or after xid `from_xid` (64-bit), in key order after
// `after_key`.
std::string build_xmin_copy(const CopySpec& spec, std::int64_t from_xid,
                            const std::vector<std::string>& after_key);
// The largest value of the cursor column on the source, as text (NULL when the table is empty).
std::string build_max_cursor(const CopySpec& spec);
// COPY of every selected row (full refresh).
std::string build_full_copy(const CopySpec& spec);

// `COPY target (cols) FROM STDIN`, or into the stage.
std::string build_copy_in(const CopySpec& spec, bool into_stage);
// The stage: same columns as the target (no constraints), plus the keep flag, emptied at commit.
std::string build_create_stage(const CopySpec& spec);
// Upsert from the stage (only kept rows). insert mode: ON CONFLICT DO NOTHING.
std::string build_upsert(const CopySpec& spec);
// Removes target rows whose stage row is not kept (left the row filter or soft-deleted).
std::string build_filter_delete(const CopySpec& spec);
// Full refresh: removes target rows absent from the stage.
std::string build_mirror_delete(const CopySpec& spec);

}  // namespace syncset::copy
