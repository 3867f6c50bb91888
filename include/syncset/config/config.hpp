// The validated configuration: what the user asked syncset to do. Built only by
// `build_config` (see validate.hpp), so every value here has passed validation.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "syncset/config/node.hpp"
#include "syncset/enum_names.hpp"

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
inline constexpr auto k_mode_names = std::to_array<EnumName<Mode>>(
    {{Mode::upsert, "upsert"}, {Mode::insert, "insert"}, {Mode::mirror, "mirror"}});
constexpr const auto& enum_table(Mode) noexcept {
    return k_mode_names;
}

enum class CursorKind { xmin, none, column };
// `cursor:` takes the first two names as keywords; any other text names a column.
inline constexpr auto k_cursor_kind_names = std::to_array<EnumName<CursorKind>>(
    {{CursorKind::xmin, "xmin"}, {CursorKind::none, "none"}, {CursorKind::column, "column"}});
constexpr const auto& enum_table(CursorKind) noexcept {
    return k_cursor_kind_names;
}

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
    // `cursor: xmin`: the longest time between two polls that read the table. In between, a
    // poll reads it only when the source's write counters for it have moved. 0: every poll.
    Milliseconds xmin_full_scan_interval{std::chrono::seconds(60)};
};

struct TableSpec : TableOptions {
    TableName source;
    // Unset: same schema and name as the source. `schema.*` keeps each source table's name.
    std::optional<TableName> target;
    Position position;  // where the entry starts in the file, for later messages
};

// `replicas[].sequences[]`: a source sequence, or a pattern of them, whose position is copied
// every poll to the replica's sequence of the same (or the mapped) name, never backwards.
// Names are written and matched as table names are (`TableName::table` holds the sequence).
struct SequenceSpec {
    TableName source;
    // Unset: same schema and name as the source. `schema.*` keeps each source sequence's name.
    std::optional<TableName> target;
    Position position;  // where the entry starts in the file, for later messages
};

struct ReplicaSpec {
    std::string name;
    std::string dsn;  // ${VAR} already expanded; never print it (redact first)
    std::vector<TableSpec> tables;
    Position position;
    std::vector<SequenceSpec> sequences{};  // optional; empty: no sequence is copied
};

// What to do when the source schema changes. Each key allows a subset (see validate.cpp).
enum class ChangeAction { apply, ignore, stop, keep, drop };
inline constexpr auto k_change_action_names =
    std::to_array<EnumName<ChangeAction>>({{ChangeAction::apply, "apply"},
                                           {ChangeAction::ignore, "ignore"},
                                           {ChangeAction::stop, "stop"},
                                           {ChangeAction::keep, "keep"},
                                           {ChangeAction::drop, "drop"}});
constexpr const auto& enum_table(ChangeAction) noexcept {
    return k_change_action_names;
}

struct SchemaChangePolicy {
    ChangeAction add_column = ChangeAction::apply;     // apply | ignore | stop
    ChangeAction drop_column = ChangeAction::keep;     // keep | drop | stop
    ChangeAction type_change = ChangeAction::apply;    // apply | stop
    ChangeAction rename_column = ChangeAction::apply;  // apply | stop
    ChangeAction new_tables = ChangeAction::apply;     // apply | ignore | stop
    ChangeAction indexes = ChangeAction::apply;        // apply | ignore
};

struct DriftOptions {
    Milliseconds interval{std::chrono::minutes(2)};  // 0: no periodic scan in the daemon
    bool repair = true;
    std::int64_t max_rows_per_second = 200000;  // 0: unlimited
};

enum class LogFormat { text, json };
inline constexpr auto k_log_format_names =
    std::to_array<EnumName<LogFormat>>({{LogFormat::text, "text"}, {LogFormat::json, "json"}});
constexpr const auto& enum_table(LogFormat) noexcept {
    return k_log_format_names;
}

// Names as users write them (`warn`, not spdlog's `warning`), in the config, on the command
// line and in log lines.
enum class LogLevel { trace, debug, info, warn, error, off };
inline constexpr auto k_log_level_names =
    std::to_array<EnumName<LogLevel>>({{LogLevel::trace, "trace"},
                                       {LogLevel::debug, "debug"},
                                       {LogLevel::info, "info"},
                                       {LogLevel::warn, "warn"},
                                       {LogLevel::error, "error"},
                                       {LogLevel::off, "off"}});
constexpr const auto& enum_table(LogLevel) noexcept {
    return k_log_level_names;
}

struct LogOptions {
    LogLevel level = LogLevel::info;
    LogFormat format = LogFormat::text;
};

// `metrics.listen`: where the HTTP listener for /metrics, /healthz and /readyz binds.
struct ListenAddress {
    std::string host;  // an IPv4 or IPv6 literal (no brackets) or a host name
    int port = 0;
    // `host:port`, with an IPv6 literal in brackets: `[::1]:9187`.
    std::string display() const;
    friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

struct MetricsOptions {
    std::optional<ListenAddress> listen;  // unset: no listener
};

// `connections`: the most connections the daemon holds to the source and to each replica
// (budget.hpp). After validation both are set: the user's values, or what the work needs
// (at least k_default_connections).
inline constexpr int k_default_connections = 8;
struct ConnectionBudget {
    int source = k_default_connections;
    int replica = k_default_connections;
};

struct Config {
    std::string file;        // path as given, for messages
    std::string source_dsn;  // ${VAR} already expanded; never print it
    std::vector<ReplicaSpec> replicas;
    TableOptions defaults;
    int parallel = 4;  // without `parallel`: 4, or fewer when `connections` leaves less room
    ConnectionBudget connections;
    SchemaChangePolicy schema_changes;
    DriftOptions drift;
    std::string state_schema = "_syncset";
    LogOptions log;
    MetricsOptions metrics;
};

// name_of() under the names callers already use. New code can call name_of/parse_enum directly.
std::string_view to_string(Mode mode) noexcept;
std::string_view to_string(ChangeAction action) noexcept;
std::string_view to_string(LogLevel level) noexcept;
std::string_view to_string(LogFormat format) noexcept;
// The keyword, or the column's name for CursorKind::column.
std::string to_string(const Cursor& cursor);

// parse_enum for the log options (command-line overrides).
std::optional<LogLevel> log_level_from_string(std::string_view name) noexcept;
std::optional<LogFormat> log_format_from_string(std::string_view name) noexcept;

}  // namespace syncset::config
