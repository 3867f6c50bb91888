// What syncset remembers per replicated table, kept in the metadata schema (default
// `_syncset`) of each replica and written only inside replica transactions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "syncset/enum_names.hpp"

namespace syncset::state {

enum class Phase {
    snapshot,     // initial copy (or a re-copy) in progress
    incremental,  // caught up once; following the cursor
    stopped,      // cannot go on until an operator acts; `stop_reason` says why
};
// As stored in `tables.phase`: migration_0001.sql checks them, so a rename needs a migration.
inline constexpr auto k_phase_names =
    std::to_array<EnumName<Phase>>({{Phase::snapshot, "snapshot"},
                                    {Phase::incremental, "incremental"},
                                    {Phase::stopped, "stopped"}});
constexpr const auto& enum_table(Phase) noexcept {
    return k_phase_names;
}

// name_of / parse_enum under the names callers already use.
std::string_view to_string(Phase phase) noexcept;
std::optional<Phase> phase_from_string(std::string_view text) noexcept;

// Copy work a table needs before it is in step again.
enum class Work {
    none,
    snapshot,  // first copy into a new (empty) table
    backfill,  // added columns need their existing values: re-copy the table with upsert
    resync,    // key or type rebuilt: re-copy the whole table with upsert
};
// As stored in `tables.pending`: migration_0001.sql checks them, so a rename needs a migration.
inline constexpr auto k_work_names = std::to_array<EnumName<Work>>({{Work::none, "none"},
                                                                    {Work::snapshot, "snapshot"},
                                                                    {Work::backfill, "backfill"},
                                                                    {Work::resync, "resync"}});
constexpr const auto& enum_table(Work) noexcept {
    return k_work_names;
}

std::string_view to_string(Work work) noexcept;
std::optional<Work> work_from_string(std::string_view text) noexcept;

// One source column as last seen, selected or not. Tracking every attnum (not only the
// selected ones) is what keeps an excluded column excluded after a rename on the source.
struct ColumnState {
    int attnum = 0;
    std::string source_name;
    std::string target_name;  // empty: not replicated
    std::string type;         // source type at the last migration
    // The name the config knows this column by: its name when first seen, kept across source
    // renames until the config names the column by its new name. Matching `exclude` against
    // it is what keeps a renamed excluded column excluded on every later run.
    std::string config_name;
    friend bool operator==(const ColumnState&, const ColumnState&) = default;
};

struct TableState {
    std::string target_schema;  // identity of the state row on its replica
    std::string target_name;
    std::string source_schema;
    std::string source_name;
    std::uint32_t source_oid = 0;
    std::vector<ColumnState> columns;  // every live source column, attnum order
    std::vector<std::string> key;      // replica key column names
    std::vector<std::string> indexes;  // replica indexes created by syncset
    Phase phase = Phase::snapshot;
    Work pending = Work::snapshot;
    std::string stop_reason;
    std::string fingerprint;  // of the source catalog rows at the last migration

    const ColumnState* column_by_attnum(int attnum) const noexcept;
    friend bool operator==(const TableState&, const TableState&) = default;
};

}  // namespace syncset::state
