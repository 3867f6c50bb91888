// The validated configuration: what the user asked syncset to do. Built only by
// `build_config` (see validate.hpp), so every value here has passed validation.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "syncset/config/node.hpp"

namespace syncset::config {

using Milliseconds = std::chrono::milliseconds;

// `schema.table` as written in the config. Either part may hold the globs `*` and `?`
// (source only). Names match the catalog exactly: no case folding.
struct TableName {
    std::string schema;
    std::string table;

    bool has_glob() const noexcept;
    // Display form: `schema.table`, each part quoted only when it needs it.
    std::string display() const;
    friend bool operator==(const TableName&, const TableName&) = default;
};

enum class Mode { upsert, insert, mirror };

enum class CursorKind { xmin, none, column };

struct Cursor {
    CursorKind kind = CursorKind::xmin;
    std::string column;  // CursorKind::column only
    friend bool operator==(const Cursor&, const Cursor&) = default;
};

struct ColumnRename {
    std::string from;  // source column
    std::string to;    // replica column
    friend bool operator==(const ColumnRename&, const ColumnRename&) = default;
};

// The per-table keys that `defaults:` may also set.
struct TableOptions {
    std::optional<std::vector<std::string>> columns;  // copy only these
    std::optional<std::vector<std::string>> exclude;  // copy all but these
    std::vector<ColumnRename> rename;
    std::optional<std::string> where;  // SQL over source columns
    Cursor cursor;
    Mode mode = Mode::upsert;
    std::vector<std::string> key;  // empty: the source primary key
    std::optional<std::string> soft_delete;
    std::int64_t batch_rows = 10000;
    // Rows per snapshot chunk: each its own short source read and replica transaction. Larger
    // than a batch because a chunk's fixed cost (query start, checkpoint, commit) is paid per
    // chunk, and a crash only repeats the last one.
    std::int64_t snapshot_chunk_rows = 100000;
    Milliseconds poll_interval{5000};
    // Time cursors: how far behind the newest row the stored cursor stays when syncset cannot
    // see other sessions' transaction start times (the role lacks pg_read_all_stats).
    Milliseconds late_commit_window{std::chrono::minutes(5)};
};

struct TableSpec : TableOptions {
    TableName source;
    // Unset: same schema and name as the source. `schema.*` keeps each source table's name.
    std::optional<TableName> target;
    Position position;  // where the entry starts in the file, for later messages
};

struct ReplicaSpec {
    std::string name;
    std::string dsn;  // ${VAR} already expanded; never print it (redact first)
    std::vector<TableSpec> tables;
    Position position;
};

// What to do when the source schema changes. Each key allows a subset (see validate.cpp).
enum class ChangeAction { apply, ignore, stop, keep, drop };

struct SchemaChangePolicy {
    ChangeAction add_column = ChangeAction::apply;     // apply | ignore | stop
    ChangeAction drop_column = ChangeAction::keep;     // keep | drop | stop
    ChangeAction type_change = ChangeAction::apply;    // apply | stop
    ChangeAction rename_column = ChangeAction::apply;  // apply | stop
    ChangeAction new_tables = ChangeAction::apply;     // apply | ignore | stop
    ChangeAction indexes = ChangeAction::apply;        // apply | ignore
};

struct DriftOptions {
    Milliseconds interval{std::chrono::hours(1)};  // 0: no periodic scan in the daemon
    bool repair = true;
    std::int64_t max_rows_per_second = 200000;  // 0: unlimited
};

enum class LogFormat { text, json };
enum class LogLevel { trace, debug, info, warn, error, off };

struct LogOptions {
    LogLevel level = LogLevel::info;
    LogFormat format = LogFormat::text;
};

struct Config {
    std::string file;        // path as given, for messages
    std::string source_dsn;  // ${VAR} already expanded; never print it
    std::vector<ReplicaSpec> replicas;
    TableOptions defaults;
    int parallel = 4;
    SchemaChangePolicy schema_changes;
    DriftOptions drift;
    std::string state_schema = "_syncset";
    LogOptions log;
};

std::string_view to_string(Mode mode) noexcept;
std::string_view to_string(ChangeAction action) noexcept;
std::string_view to_string(LogLevel level) noexcept;
std::string_view to_string(LogFormat format) noexcept;
std::string to_string(const Cursor& cursor);

// Inverse of to_string for the log options (command-line overrides).
std::optional<LogLevel> log_level_from_string(std::string_view name) noexcept;
std::optional<LogFormat> log_format_from_string(std::string_view name) noexcept;

}  // namespace syncset::config
