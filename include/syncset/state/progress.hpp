// Copy progress per table, kept in the metadata schema next to the schema state and written in
// the same replica transaction as each batch's rows (promise 3: crash-safe where it left off).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncset/state/model.hpp"

namespace syncset::db {
class Connection;
}

namespace syncset::state {

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
};

// Every table's progress; empty when the metadata schema does not exist.
std::vector<Progress> read_progress(db::Connection& conn, std::string_view schema);

// Writes a batch's checkpoint inside the caller's transaction. Returns false when the table has
// no state row or was stopped meanwhile: the caller must then roll back its batch.
bool write_progress(db::Connection& conn, std::string_view schema, const Progress& progress,
                    std::int64_t rows_added);

}  // namespace syncset::state
