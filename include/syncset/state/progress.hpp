// Copy progress per table, kept in the metadata schema next to the schema state and written in
// the same replica transaction as each batch's rows (promise 3: crash-safe where it left off).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncset/state/claims.hpp"
#include "syncset/state/model.hpp"

namespace syncset::db {
class Connection;
}

namespace syncset::state {

// The last drift scan of a table.
struct DriftResult {
    std::string checked_at{};  // ISO 8601 UTC, empty when never
    std::int64_t rows = 0;
    std::int64_t missing = 0;
    std::int64_t extra = 0;
    std::int64_t different = 0;
    std::int64_t repaired = 0;
    std::optional<std::int64_t> ms;  // how long the scan took (a full pass); unknown before v3
    std::string in_sync_at{};        // ISO 8601 UTC of the last scan proving it in sync; empty
};

struct Progress {
    std::string target_schema;
    std::string target_name;
    std::string source_schema;
    std::string source_name;
    Phase phase = Phase::snapshot;
    Work pending = Work::snapshot;
    // Positions as text arrays of values (key values; cursor value then key values; or an xid).
    std::vector<std::string> snapshot_position;  // empty: from the first key
    std::vector<std::string> cursor;             // empty: no position yet
    std::string cursor_kind;
    std::int64_t rows_copied = 0;
    std::string last_success;  // ISO 8601 UTC, empty when never
    std::string last_error;
    std::string last_error_at;
    std::string stop_reason;
    std::optional<std::int64_t> since_success_s;
    std::optional<std::int64_t> cursor_lag_s;  // time cursors only
    DriftResult last_drift;                    // checked_at empty: never scanned
    // The snapshot, backfill or resync under way (pending != none), or the last one: rows it
    // copied, its estimated total (nullopt until its first chunk) and seconds since it started.
    std::int64_t snapshot_rows_done = 0;
    std::optional<std::int64_t> snapshot_rows_estimated;
    std::optional<double> snapshot_elapsed_s;
    // A `syncset resync` request the copy loop has not turned into the resync yet.
    bool resync_requested = false;
    // The process whose claim on the table is live (claims.hpp); empty when none.
    std::string worked_by;
};

// Pure: how far a snapshot is, from rows done, the estimate and the seconds it has run. The
// estimate is the planner's (pg_class.reltuples) for a large table: the percent stays below
// 100 until the snapshot is done, and no ETA is given once the rows pass the estimate.
struct SnapshotRate {
    std::optional<double> percent;            // nullopt without an estimate
    std::optional<double> rows_per_second;    // nullopt before a second has passed
    std::optional<std::int64_t> eta_seconds;  // nullopt without both
};
SnapshotRate snapshot_rate(std::int64_t rows_done, std::optional<std::int64_t> rows_estimated,
                           std::optional<double> elapsed_s) noexcept;

// With the first chunk of a snapshot, backfill or resync, in its transaction: records its
// estimated total and start time, and counts its rows from zero.
void write_snapshot_estimate(db::Connection& conn, std::string_view schema,
                             std::string_view target_schema, std::string_view target_name,
                             std::int64_t rows_estimated);

// Every table's progress; empty when the metadata schema does not exist.
std::vector<Progress> read_progress(db::Connection& conn, std::string_view schema);
// One table's progress; nullopt when it has no state row (or there is no metadata schema).
std::optional<Progress> read_table_progress(db::Connection& conn, std::string_view schema,
                                            std::string_view target_schema,
                                            std::string_view target_name);

// Whether the table is due for a drift scan: never scanned, or last scanned longer than
// `interval` ago by the replica's clock. False when it has no state row.
bool read_drift_due(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                    std::string_view target_name, std::chrono::milliseconds interval);

// Whether the table's copy loop committed a batch after `since` (a timestamptz as text, read
// from the replica's clock). False when it has no state row.
bool read_committed_since(db::Connection& conn, std::string_view schema,
                          std::string_view target_schema, std::string_view target_name,
                          std::string_view since);

// What a batch's checkpoint did.
enum class Checkpoint {
    refused,         // the table has no state row or was stopped meanwhile: roll the batch back
    claim_lost,      // another process took the table over (claims.hpp): roll the batch back
    written,         // the table is where the checkpoint says
    resync_started,  // written, and a resync request turned into the resync: the table is now
                     // at the first key of a re-copy, not where the checkpoint said
};

// Writes a batch's checkpoint inside the caller's transaction (update_progress.sql), when
// `claim.claimant` holds the table's claim (read under the row's lock), renewing it. A resync
// request recorded meanwhile is taken up in the same statement, after the batch.
Checkpoint write_progress(db::Connection& conn, std::string_view schema, const Progress& progress,
                          std::int64_t rows_added, const Claim& claim);

// Records a request to resync the table (request_resync.sql), at once: it takes no lock and
// waits for no copy loop. False when it has no state row or is stopped.
bool request_resync(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                    std::string_view target_name);

// Turns a recorded resync request into the resync (start_requested_resync.sql): for a copy
// loop starting its poll cycle. False when there was no request (or the table is stopped).
bool start_requested_resync(db::Connection& conn, std::string_view schema,
                            std::string_view target_schema, std::string_view target_name);

// Records a drift scan's result: in the caller's transaction when one is open, else at once.
void write_drift_result(db::Connection& conn, std::string_view schema,
                        std::string_view target_schema, std::string_view target_name,
                        const DriftResult& result);

}  // namespace syncset::state
