// Configuration validation: walks the YAML tree once, collects every problem with its
// position and key path, and builds the Config only when there is none. Pure: no I/O.
#include "syncset/config/validate.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <tuple>

#include "syncset/config/budget.hpp"

namespace syncset::config {

namespace {

using KeyList = std::span<const std::string_view>;

// The keys of each mapping, one enum and one table per key set. Handlers `switch` over the
// enum, so -Wswitch proves every key in a table is read.

enum class TopKey {
    source,
    replicas,
    defaults,
    parallel,
    schema_changes,
    drift,
    state,
    log,
    metrics,
    connections,
};
constexpr auto k_top_keys =
    std::to_array<EnumName<TopKey>>({{TopKey::source, "source"},
                                     {TopKey::replicas, "replicas"},
                                     {TopKey::defaults, "defaults"},
                                     {TopKey::parallel, "parallel"},
                                     {TopKey::schema_changes, "schema_changes"},
                                     {TopKey::drift, "drift"},
                                     {TopKey::state, "state"},
                                     {TopKey::log, "log"},
                                     {TopKey::metrics, "metrics"},
                                     {TopKey::connections, "connections"}});
constexpr const auto& enum_table(TopKey) noexcept {
    return k_top_keys;
}

enum class SourceKey { dsn };
constexpr auto k_source_keys = std::to_array<EnumName<SourceKey>>({{SourceKey::dsn, "dsn"}});
constexpr const auto& enum_table(SourceKey) noexcept {
    return k_source_keys;
}

// Every replica key but `sequences` is required.
enum class ReplicaKey { name, dsn, tables, sequences };
constexpr auto k_replica_keys =
    std::to_array<EnumName<ReplicaKey>>({{ReplicaKey::name, "name"},
                                         {ReplicaKey::dsn, "dsn"},
                                         {ReplicaKey::tables, "tables"},
                                         {ReplicaKey::sequences, "sequences"}});
constexpr const auto& enum_table(ReplicaKey) noexcept {
    return k_replica_keys;
}

// The keys of a `replicas[].sequences[]` entry written as a mapping.
enum class SequenceKey { source, target };
constexpr auto k_sequence_keys = std::to_array<EnumName<SequenceKey>>(
    {{SequenceKey::source, "source"}, {SequenceKey::target, "target"}});
constexpr const auto& enum_table(SequenceKey) noexcept {
    return k_sequence_keys;
}

// The keys of a `replicas[].tables[]` entry; `in_defaults` marks those `defaults:` may set too.
enum class TableKey {
    source,
    target,
    columns,
    exclude,
    rename,
    where,
    cursor,
    mode,
    key,
    soft_delete,
    batch_rows,
    snapshot_chunk_rows,
    poll_interval,
    late_commit_window,
    xmin_full_scan_interval,
};
struct TableKeyName {
    TableKey value;
    std::string_view name;
    bool in_defaults;
};
constexpr auto k_table_keys = std::to_array<TableKeyName>({
    {TableKey::source, "source", false},
    {TableKey::target, "target", false},
    {TableKey::columns, "columns", true},
    {TableKey::exclude, "exclude", true},
    {TableKey::rename, "rename", true},
    {TableKey::where, "where", true},
    {TableKey::cursor, "cursor", true},
    {TableKey::mode, "mode", true},
    {TableKey::key, "key", true},
    {TableKey::soft_delete, "soft_delete", true},
    {TableKey::batch_rows, "batch_rows", true},
    {TableKey::snapshot_chunk_rows, "snapshot_chunk_rows", true},
    {TableKey::poll_interval, "poll_interval", true},
    {TableKey::late_commit_window, "late_commit_window", true},
    {TableKey::xmin_full_scan_interval, "xmin_full_scan_interval", true},
});
constexpr const auto& enum_table(TableKey) noexcept {
    return k_table_keys;
}

enum class SchemaChangeKey {
    add_column,
    drop_column,
    type_change,
    rename_column,
    new_tables,
    indexes
};
constexpr auto k_schema_change_keys =
    std::to_array<EnumName<SchemaChangeKey>>({{SchemaChangeKey::add_column, "add_column"},
                                              {SchemaChangeKey::drop_column, "drop_column"},
                                              {SchemaChangeKey::type_change, "type_change"},
                                              {SchemaChangeKey::rename_column, "rename_column"},
                                              {SchemaChangeKey::new_tables, "new_tables"},
                                              {SchemaChangeKey::indexes, "indexes"}});
constexpr const auto& enum_table(SchemaChangeKey) noexcept {
    return k_schema_change_keys;
}

enum class DriftKey { interval, repair, max_rows_per_second };
constexpr auto k_drift_keys =
    std::to_array<EnumName<DriftKey>>({{DriftKey::interval, "interval"},
                                       {DriftKey::repair, "repair"},
                                       {DriftKey::max_rows_per_second, "max_rows_per_second"}});
constexpr const auto& enum_table(DriftKey) noexcept {
    return k_drift_keys;
}

enum class StateKey { schema };
constexpr auto k_state_keys = std::to_array<EnumName<StateKey>>({{StateKey::schema, "schema"}});
constexpr const auto& enum_table(StateKey) noexcept {
    return k_state_keys;
}

enum class ConnectionsKey { source, replica };
constexpr auto k_connections_keys = std::to_array<EnumName<ConnectionsKey>>(
    {{ConnectionsKey::source, "source"}, {ConnectionsKey::replica, "replica"}});
constexpr const auto& enum_table(ConnectionsKey) noexcept {
    return k_connections_keys;
}

enum class MetricsKey { listen };
constexpr auto k_metrics_keys =
    std::to_array<EnumName<MetricsKey>>({{MetricsKey::listen, "listen"}});
constexpr const auto& enum_table(MetricsKey) noexcept {
    return k_metrics_keys;
}

enum class LogKey { level, format };
constexpr auto k_log_keys =
    std::to_array<EnumName<LogKey>>({{LogKey::level, "level"}, {LogKey::format, "format"}});
constexpr const auto& enum_table(LogKey) noexcept {
    return k_log_keys;
}

// PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1).
constexpr std::size_t k_max_identifier_bytes = 63;

// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
std::optional<std::string_view> suggest(std::string_view word, KeyList candidates) {
    std::optional<std::string_view> best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (auto candidate : candidates) {
        std::size_t distance = edit_distance(word, candidate);
        std::size_t limit =
            std::max<std::size_t>(1, std::min<std::size_t>(2, candidate.size() / 3));
        if (distance <= limit && distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

std::string join_choices(KeyList names) {
    std::string out;
    std::size_t i = 0;
    for (auto name : names) {
        if (i > 0) {
            out += i + 1 == names.size() ? " or " : ", ";
        }
        out += name;
        ++i;
    }
    return out;
}

std::string index_path(const std::string& path, std::size_t index) {
    return path + "[" + std::to_string(index) + "]";
}

std::string key_path(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// Describes a value for "got ..." in messages without echoing long text.
std::string describe_value(const Node& node) {
    if (!node.is_scalar()) {
        return std::string(describe_kind(node));
    }
    constexpr std::size_t k_max_shown = 40;
    if (node.scalar.size() > k_max_shown) {
        return "'" + node.scalar.substr(0, k_max_shown) + "...'";
    }
    return "'" + node.scalar + "'";
}

class Validator {
  public:
    explicit Validator(const EnvLookup& env) : m_env(env) {}

    std::vector<Problem> take_problems() { return std::move(m_problems); }

    void problem(Position position, std::string path, std::string message) {
        m_problems.push_back({position, std::move(path), std::move(message)});
    }

    // Reports unknown and duplicate keys. Calls `on_entry(id, key, value, path)` for each
    // known, first-seen key. `allowed(entry)` narrows K's table to the keys this mapping takes.
    template <NamedEnum K, typename F, typename Allowed>
    void walk_mapping(const Node& map, const std::string& path, Allowed&& allowed, F&& on_entry) {
        const auto& table = enum_entries<K>();
        std::vector<std::string_view> known;
        for (const auto& entry : table) {
            if (allowed(entry)) {
                known.push_back(entry.name);
            }
        }
        std::map<std::string, int, std::less<>> seen;
        for (const auto& [key_node, value] : map.entries) {
            const Node& key = key_node;  // a named reference: a lambda below captures it
            if (!key.is_scalar()) {
                problem(key.position, path.empty() ? "(top level)" : path,
                        "keys must be plain names, not " + std::string(describe_kind(key)));
                continue;
            }
            std::string here = key_path(path, key.scalar);
            if (auto it = seen.find(key.scalar); it != seen.end()) {
                problem(key.position, here,
                        "duplicate key (first set at line " + std::to_string(it->second) + ")");
                continue;
            }
            seen.emplace(key.scalar, key.position.line);
            auto entry = std::find_if(table.begin(), table.end(), [&](const auto& e) {
                return e.name == key.scalar && allowed(e);
            });
            if (entry == table.end()) {
                if (auto close = suggest(key.scalar, known)) {
                    problem(key.position, here,
                            "unknown key (did you mean '" + std::string(*close) + "'?)");
                } else {
                    problem(key.position, here,
                            "unknown key (expected " + join_choices(known) + ")");
                }
                continue;
            }
            on_entry(entry->value, key, value, here);
        }
    }

    // The same for a mapping that takes every key of K.
    template <NamedEnum K, typename F>
    void walk_mapping(const Node& map, const std::string& path, F&& on_entry) {
        walk_mapping<K>(
            map, path, [](const auto&) { return true; }, std::forward<F>(on_entry));
    }

    bool expect_mapping(const Node& node, Position at, const std::string& path) {
        if (node.is_mapping()) {
            return true;
        }
        problem(at, path.empty() ? "(top level)" : path,
                "expected a mapping of keys, got " + describe_value(node));
        return false;
    }

    std::optional<std::string> read_string(const Node& key, const Node& value,
                                           const std::string& path) {
        if (!value.is_scalar()) {
            problem(where(key, value), path, "expected a string, got " + describe_value(value));
            return std::nullopt;
        }
        return value.scalar;
    }

    std::optional<std::string> read_nonempty_string(const Node& key, const Node& value,
                                                    const std::string& path) {
        auto text = read_string(key, value, path);
        if (text && text->empty()) {
            problem(where(key, value), path, "must not be empty");
            return std::nullopt;
        }
        return text;
    }

    // A SQL identifier as written (no case folding): non-empty, at most 63 bytes, no NUL.
    std::optional<std::string> read_identifier(const Node& key, const Node& value,
                                               const std::string& path, std::string_view what) {
        auto text = read_string(key, value, path);
        if (!text) {
            return std::nullopt;
        }
        if (!check_identifier(*text, where(key, value), path, what)) {
            return std::nullopt;
        }
        return text;
    }

    bool check_identifier(const std::string& text, Position at, const std::string& path,
                          std::string_view what) {
        if (text.empty()) {
            problem(at, path, std::string(what) + " name is empty");
            return false;
        }
        if (text.size() > k_max_identifier_bytes) {
            problem(at, path,
                    std::string(what) + " name '" + text.substr(0, 20) +
                        "...' is longer than PostgreSQL's limit of 63 bytes");
            return false;
        }
        return true;
    }

    std::optional<std::int64_t> read_integer(const Node& key, const Node& value,
                                             const std::string& path, std::int64_t min,
                                             std::int64_t max) {
        std::int64_t number = 0;
        if (!value.is_scalar() || value.quoted || !parse_int(value.scalar, number)) {
            problem(where(key, value), path, "expected an integer, got " + describe_value(value));
            return std::nullopt;
        }
        if (number < min || number > max) {
            problem(where(key, value), path,
                    "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", got " + std::to_string(number));
            return std::nullopt;
        }
        return number;
    }

    std::optional<bool> read_bool(const Node& key, const Node& value, const std::string& path) {
        if (value.is_scalar() && !value.quoted) {
            if (value.scalar == "true") {
                return true;
            }
            if (value.scalar == "false") {
                return false;
            }
        }
        problem(where(key, value), path, "expected true or false, got " + describe_value(value));
        return std::nullopt;
    }

    std::optional<Milliseconds> read_duration(const Node& key, const Node& value,
                                              const std::string& path, bool allow_zero) {
        std::optional<Milliseconds> duration;
        if (value.is_scalar()) {
            duration = parse_duration(value.scalar);
        }
        if (!duration) {
            problem(where(key, value), path,
                    "invalid duration " + describe_value(value) +
                        " (use a whole number with ms, s, m or h: 500ms, 5s, 10m, 1h)");
            return std::nullopt;
        }
        if (!allow_zero && duration->count() == 0) {
            problem(where(key, value), path, "must be longer than 0");
            return std::nullopt;
        }
        return duration;
    }

    // One of `allowed`, by name.
    template <NamedEnum E>
    std::optional<E> read_choice(const Node& key, const Node& value, const std::string& path,
                                 std::span<const E> allowed) {
        if (value.is_scalar()) {
            if (auto parsed = parse_enum<E>(value.scalar);
                parsed && std::find(allowed.begin(), allowed.end(), *parsed) != allowed.end()) {
                return parsed;
            }
        }
        std::vector<std::string_view> names;
        for (E choice : allowed) {
            names.push_back(name_of(choice));
        }
        KeyList list(names);
        std::string message =
            "unknown value " + describe_value(value) + " (expected " + join_choices(list);
        if (value.is_scalar()) {
            if (auto close = suggest(value.scalar, list)) {
                message += "; did you mean '" + std::string(*close) + "'?";
            }
        }
        problem(where(key, value), path, message + ")");
        return std::nullopt;
    }

    // Any value of E, by name.
    template <NamedEnum E>
    std::optional<E> read_choice(const Node& key, const Node& value, const std::string& path) {
        static constexpr auto k_all = enum_value_list<E>();
        return read_choice(key, value, path, std::span<const E>(k_all));
    }

    // A list of distinct column names.
    std::optional<std::vector<std::string>> read_column_list(const Node& key, const Node& value,
                                                             const std::string& path) {
        if (!value.is_sequence()) {
            problem(where(key, value), path,
                    "expected a list of column names, got " + describe_value(value));
            return std::nullopt;
        }
        std::vector<std::string> names;
        bool ok = true;
        for (std::size_t i = 0; i < value.items.size(); ++i) {
            const Node& item = value.items[i];
            std::string item_path = index_path(path, i);
            auto name = read_identifier(item, item, item_path, "column");
            if (!name) {
                ok = false;
                continue;
            }
            if (std::find(names.begin(), names.end(), *name) != names.end()) {
                problem(item.position, item_path, "column '" + *name + "' is listed twice");
                ok = false;
                continue;
            }
            names.push_back(std::move(*name));
        }
        if (!ok) {
            return std::nullopt;
        }
        return names;
    }

    std::optional<std::string> read_dsn(const Node& key, const Node& value,
                                        const std::string& path) {
        auto raw = read_nonempty_string(key, value, path);
        if (!raw) {
            return std::nullopt;
        }
        std::string error;
        auto expanded = expand_env(*raw, m_env, error);
        if (!expanded) {
            problem(where(key, value), path, error);
            return std::nullopt;
        }
        if (expanded->empty()) {
            problem(where(key, value), path, "is empty after expanding environment variables");
            return std::nullopt;
        }
        return expanded;
    }

    // Null values have no useful position of their own: point at their key.
    static Position where(const Node& key, const Node& value) {
        return value.is_null() ? key.position : value.position;
    }

  private:
    static bool parse_int(const std::string& text, std::int64_t& out) {
        const char* begin = text.data();
        const char* end = begin + text.size();
        auto [rest, ec] = std::from_chars(begin, end, out);
        return ec == std::errc{} && rest == end && !text.empty();
    }

    const EnvLookup& m_env;
    std::vector<Problem> m_problems;
};

// Which per-table keys one mapping set explicitly, to apply override rules and to report
// cross-key problems at the right place.
struct SetKeys {
    const Node* columns_key = nullptr;
    const Node* exclude_key = nullptr;
    const Node* cursor_key = nullptr;
    const Node* mode_key = nullptr;
    const Node* key_key = nullptr;
    std::map<std::string, Position> rename_positions;
};

// `rename: {source column: replica column, ...}`
void read_rename(Validator& v, const Node& key, const Node& value, const std::string& here,
                 TableOptions& options, SetKeys& set) {
    if (!value.is_mapping()) {
        v.problem(
            Validator::where(key, value), here,
            "expected a mapping of source column: replica column, got " + describe_value(value));
        return;
    }
    options.rename.clear();
    std::map<std::string, int> targets;
    for (const auto& [from, to] : value.entries) {
        std::string entry_path = key_path(here, from.is_scalar() ? from.scalar : "?");
        auto from_name = v.read_identifier(from, from, entry_path, "column");
        auto to_name = v.read_identifier(from, to, entry_path, "column");
        if (!from_name || !to_name) {
            continue;
        }
        if (set.rename_positions.count(*from_name) != 0) {
            v.problem(from.position, entry_path,
                      "duplicate key (first set at line " +
                          std::to_string(set.rename_positions[*from_name].line) + ")");
            continue;
        }
        if (auto it = targets.find(*to_name); it != targets.end()) {
            v.problem(Validator::where(from, to), entry_path,
                      "two columns are renamed to '" + *to_name + "' (the other at line " +
                          std::to_string(it->second) + ")");
            continue;
        }
        targets.emplace(*to_name, from.position.line);
        set.rename_positions.emplace(*from_name, from.position);
        options.rename.push_back({std::move(*from_name), std::move(*to_name)});
    }
}

// Reads the table keys of `map` into `options`. `table` is the entry being read, or nullptr
// for `defaults:`, which takes only the keys marked `in_defaults`.
void read_table_options(Validator& v, const Node& map, const std::string& path,
                        TableOptions& options, SetKeys& set, TableSpec* table) {
    const auto allowed = [&](const TableKeyName& entry) {
        return table != nullptr || entry.in_defaults;
    };
    v.walk_mapping<TableKey>(
        map, path, allowed,
        [&](TableKey id, const Node& key, const Node& value, const std::string& here) {
            switch (id) {
                case TableKey::source:
                case TableKey::target: {
                    if (table == nullptr) {
                        return;  // not in_defaults, so walk_mapping never passes it here
                    }
                    auto text = v.read_nonempty_string(key, value, here);
                    if (!text) {
                        return;
                    }
                    auto parsed = parse_table_name(*text);
                    if (!parsed) {
                        v.problem(Validator::where(key, value), here,
                                  "invalid table name '" + *text +
                                      "' (expected schema.table, e.g. public.orders; quote a part "
                                      "that holds a dot: \"my.schema\".orders)");
                        return;
                    }
                    if (id == TableKey::source) {
                        table->source = std::move(*parsed);
                    } else {
                        table->target = std::move(*parsed);
                    }
                    return;
                }
                case TableKey::columns:
                    set.columns_key = &key;
                    if (auto list = v.read_column_list(key, value, here)) {
                        if (list->empty()) {
                            v.problem(Validator::where(key, value), here,
                                      "the list is empty; list at least one column, or remove the "
                                      "key to copy every column");
                            return;
                        }
                        options.columns = std::move(*list);
                    }
                    return;
                case TableKey::exclude:
                    set.exclude_key = &key;
                    if (auto list = v.read_column_list(key, value, here)) {
                        options.exclude = std::move(*list);
                    }
                    return;
                case TableKey::rename:
                    read_rename(v, key, value, here, options, set);
                    return;
                case TableKey::where:
                    if (auto text = v.read_nonempty_string(key, value, here)) {
                        options.where = std::move(*text);
                    }
                    return;
                case TableKey::cursor:
                    set.cursor_key = &key;
                    if (auto text = v.read_identifier(key, value, here, "cursor column")) {
                        // `xmin` and `none` are keywords; any other name is a column.
                        auto kind = parse_enum<CursorKind>(*text);
                        if (kind && *kind != CursorKind::column) {
                            options.cursor = Cursor{*kind, {}};
                        } else {
                            options.cursor = Cursor{CursorKind::column, std::move(*text)};
                        }
                    }
                    return;
                case TableKey::mode:
                    set.mode_key = &key;
                    if (auto mode = v.read_choice<Mode>(key, value, here)) {
                        options.mode = *mode;
                    }
                    return;
                case TableKey::key:
                    set.key_key = &key;
                    if (auto list = v.read_column_list(key, value, here)) {
                        if (list->empty()) {
                            v.problem(Validator::where(key, value), here,
                                      "the list is empty; name the columns that identify a row");
                            return;
                        }
                        options.key = std::move(*list);
                    }
                    return;
                case TableKey::soft_delete:
                    if (auto text = v.read_identifier(key, value, here, "column")) {
                        options.soft_delete = std::move(*text);
                    }
                    return;
                case TableKey::batch_rows:
                    if (auto rows = v.read_integer(key, value, here, 1, 10'000'000)) {
                        options.batch_rows = *rows;
                    }
                    return;
                case TableKey::snapshot_chunk_rows:
                    if (auto rows = v.read_integer(key, value, here, 1, 10'000'000)) {
                        options.snapshot_chunk_rows = *rows;
                    }
                    return;
                case TableKey::poll_interval:
                    if (auto interval = v.read_duration(key, value, here, false)) {
                        options.poll_interval = *interval;
                    }
                    return;
                case TableKey::late_commit_window:
                    if (auto window = v.read_duration(key, value, here, true)) {
                        options.late_commit_window = *window;
                    }
                    return;
                case TableKey::xmin_full_scan_interval:
                    if (auto interval = v.read_duration(key, value, here, true)) {
                        options.xmin_full_scan_interval = *interval;
                    }
                    return;
            }
        });
    if (set.columns_key != nullptr && set.exclude_key != nullptr) {
        const Node* later = set.columns_key->position.line > set.exclude_key->position.line
                                ? set.columns_key
                                : set.exclude_key;
        v.problem(later->position, path,
                  "'columns' and 'exclude' cannot both be set; list the columns to copy or the "
                  "ones to leave out, not both");
    }
    // A table's own column selection replaces the one from `defaults`.
    if (set.columns_key != nullptr && set.exclude_key == nullptr) {
        options.exclude.reset();
    }
    if (set.exclude_key != nullptr && set.columns_key == nullptr) {
        options.columns.reset();
    }
}

bool contains(const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

// Checks between keys of one table once its effective options are known.
void check_table(Validator& v, const TableSpec& table, const SetKeys& set, const std::string& path,
                 Position at) {
    auto selected = [&](const std::string& column) {
        if (table.columns) {
            return contains(*table.columns, column);
        }
        return !(table.exclude && contains(*table.exclude, column));
    };
    const std::string why_not = table.columns ? "is not among the selected columns" : "is excluded";
    for (const auto& rename : table.rename) {
        auto pos_it = set.rename_positions.find(rename.from);
        Position pos = pos_it != set.rename_positions.end() ? pos_it->second : at;
        std::string rename_path = key_path(key_path(path, "rename"), rename.from);
        if (!selected(rename.from)) {
            v.problem(pos, rename_path,
                      "column '" + rename.from + "' " + why_not + " and cannot also be renamed");
        } else if (table.columns && rename.to != rename.from &&
                   contains(*table.columns, rename.to) &&
                   std::none_of(table.rename.begin(), table.rename.end(),
                                [&](const ColumnRename& r) { return r.from == rename.to; })) {
            v.problem(pos, rename_path,
                      "column '" + rename.from + "' is renamed to '" + rename.to +
                          "', which is also a selected column");
        }
    }
    if (table.cursor.kind == CursorKind::column && !selected(table.cursor.column)) {
        Position pos = set.cursor_key != nullptr ? set.cursor_key->position : at;
        v.problem(pos, key_path(path, "cursor"),
                  "cursor column '" + table.cursor.column + "' " + why_not +
                      "; the cursor must be copied too");
    }
    for (const auto& column : table.key) {
        if (!selected(column)) {
            Position pos = set.key_key != nullptr ? set.key_key->position : at;
            v.problem(pos, key_path(path, "key"),
                      "key column '" + column + "' " + why_not + "; key columns must be copied");
        }
    }
    if (table.mode == Mode::mirror && table.cursor.kind == CursorKind::column &&
        set.cursor_key != nullptr && set.mode_key != nullptr) {
        v.problem(set.cursor_key->position, key_path(path, "cursor"),
                  "mode 'mirror' re-reads the whole table each poll and takes no cursor column; "
                  "remove 'cursor' or use mode 'upsert'");
    }
    if (table.target) {
        const bool source_glob = table.source.has_glob();
        const bool target_schema_glob =
            table.target->schema.find_first_of("*?") != std::string::npos;
        const bool target_table_glob = table.target->table.find_first_of("*?") != std::string::npos;
        if (target_schema_glob || (target_table_glob && table.target->table != "*")) {
            v.problem(at, key_path(path, "target"),
                      "a target cannot hold globs except a table part of '*' (keep the source "
                      "table's name), e.g. billing.*");
        } else if (source_glob && table.target->table != "*") {
            v.problem(at, key_path(path, "target"),
                      "source '" + table.source.display() +
                          "' is a pattern, so the target must be 'schema.*' (each table keeps its "
                          "name)");
        }
    }
}

void read_replica_name(Validator& v, const Node& key, const Node& value, const std::string& path,
                       std::map<std::string, int>& names, ReplicaSpec& replica) {
    auto name = v.read_string(key, value, path);
    if (!name) {
        return;
    }
    if (name->empty()) {
        v.problem(Validator::where(key, value), path, "replica name is empty");
        return;
    }
    bool valid =
        name->size() <= k_max_identifier_bytes &&
        std::all_of(name->begin(), name->end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        });
    if (!valid) {
        v.problem(Validator::where(key, value), path,
                  "invalid replica name '" + *name +
                      "' (use lowercase letters, digits, '_' and '-', at most 63)");
        return;
    }
    if (auto it = names.find(*name); it != names.end()) {
        v.problem(value.position, path,
                  "duplicate replica name '" + *name + "' (first at line " +
                      std::to_string(it->second) + ")");
        return;
    }
    names.emplace(*name, value.position.line);
    replica.name = std::move(*name);
}

void read_tables(Validator& v, const Node& key, const Node& value, const std::string& path,
                 const Config& config, ReplicaSpec& replica) {
    if (!value.is_sequence() || value.items.empty()) {
        v.problem(Validator::where(key, value), path,
                  value.is_sequence() ? "the list is empty; a replica needs at least one table"
                                      : "expected a list of tables, got " + describe_value(value));
        return;
    }
    std::map<std::string, int> targets;
    for (std::size_t i = 0; i < value.items.size(); ++i) {
        const Node& item = value.items[i];
        std::string item_path = index_path(path, i);
        if (!v.expect_mapping(item, item.position, item_path)) {
            continue;
        }
        TableSpec table;
        static_cast<TableOptions&>(table) = config.defaults;
        table.position = item.position;
        SetKeys set;
        read_table_options(v, item, item_path, table, set, &table);
        if (item.find(name_of(TableKey::source)) == nullptr) {
            v.problem(item.position, item_path,
                      "missing required key 'source' (the source table, e.g. public.orders)");
            continue;
        }
        if (table.source.schema.empty()) {
            continue;  // already reported
        }
        check_table(v, table, set, item_path, item.position);
        if (!table.source.has_glob()) {
            TableName target = table.target.value_or(table.source);
            if (target.table == "*") {
                target.table = table.source.table;
            }
            std::string target_name = target.display();
            if (auto it = targets.find(target_name); it != targets.end()) {
                v.problem(item.position, item_path,
                          "target table " + target_name +
                              " is written by two entries of replica '" + replica.name +
                              "' (the other at line " + std::to_string(it->second) + ")");
            } else {
                targets.emplace(target_name, item.position.line);
            }
        }
        replica.tables.push_back(std::move(table));
    }
}

// A sequence name or pattern: `schema.name`, parts quoted as table names are.
std::optional<TableName> read_sequence_name(Validator& v, const Node& key, const Node& value,
                                            const std::string& path) {
    auto text = v.read_nonempty_string(key, value, path);
    if (!text) {
        return std::nullopt;
    }
    auto parsed = parse_table_name(*text);
    if (!parsed) {
        v.problem(Validator::where(key, value), path,
                  "invalid sequence name '" + *text +
                      "' (expected schema.sequence, e.g. public.orders_id_seq; quote a part that "
                      "holds a dot: \"my.schema\".orders_id_seq)");
    }
    return parsed;
}

// `replicas[].sequences`: each item a name or pattern, or `{source: ..., target: ...}`. The
// target rules are those of table entries: no glob but a name part of `*`, which a pattern
// source requires.
void read_sequences(Validator& v, const Node& key, const Node& value, const std::string& path,
                    ReplicaSpec& replica) {
    if (!value.is_sequence()) {
        v.problem(Validator::where(key, value), path,
                  "expected a list of sequences, got " + describe_value(value));
        return;
    }
    std::map<std::string, int> targets;
    for (std::size_t i = 0; i < value.items.size(); ++i) {
        const Node& item = value.items[i];
        const std::string item_path = index_path(path, i);
        SequenceSpec spec;
        spec.position = item.position;
        if (item.is_scalar()) {
            auto name = read_sequence_name(v, item, item, item_path);
            if (!name) {
                continue;
            }
            spec.source = std::move(*name);
        } else if (item.is_mapping()) {
            bool ok = true;
            v.walk_mapping<SequenceKey>(
                item, item_path,
                [&](SequenceKey id, const Node& k, const Node& val, const std::string& p) {
                    auto name = read_sequence_name(v, k, val, p);
                    if (!name) {
                        ok = false;
                    } else if (id == SequenceKey::source) {
                        spec.source = std::move(*name);
                    } else {
                        spec.target = std::move(*name);
                    }
                });
            if (item.find(name_of(SequenceKey::source)) == nullptr) {
                v.problem(item.position, item_path,
                          "missing required key 'source' (the source sequence, e.g. "
                          "public.orders_id_seq)");
                continue;
            }
            if (!ok || spec.source.schema.empty()) {
                continue;  // already reported
            }
        } else {
            v.problem(item.position, item_path,
                      "expected a sequence name or a mapping of source and target, got " +
                          describe_value(item));
            continue;
        }
        if (spec.target) {
            const TableName& target = *spec.target;
            const bool schema_glob = target.schema.find_first_of("*?") != std::string::npos;
            const bool name_glob = target.table.find_first_of("*?") != std::string::npos;
            if (schema_glob || (name_glob && target.table != "*")) {
                v.problem(item.position, key_path(item_path, "target"),
                          "a target cannot hold globs except a name part of '*' (keep the "
                          "source sequence's name), e.g. billing.*");
                continue;
            }
            if (spec.source.has_glob() && target.table != "*") {
                v.problem(item.position, key_path(item_path, "target"),
                          "source '" + spec.source.display() +
                              "' is a pattern, so the target must be 'schema.*' (each sequence "
                              "keeps its name)");
                continue;
            }
        }
        if (!spec.source.has_glob()) {
            TableName target = spec.target.value_or(spec.source);
            if (target.table == "*") {
                target.table = spec.source.table;
            }
            const std::string target_name = target.display();
            if (auto it = targets.find(target_name); it != targets.end()) {
                v.problem(item.position, item_path,
                          "target sequence " + target_name +
                              " is written by two entries of replica '" + replica.name +
                              "' (the other at line " + std::to_string(it->second) + ")");
                continue;
            }
            targets.emplace(target_name, item.position.line);
        }
        replica.sequences.push_back(std::move(spec));
    }
}

void read_source(Validator& v, const Node& key, const Node& value, const std::string& path,
                 Config& config) {
    if (!v.expect_mapping(value, Validator::where(key, value), path)) {
        return;
    }
    v.walk_mapping<SourceKey>(
        value, path, [&](SourceKey id, const Node& k, const Node& val, const std::string& p) {
            switch (id) {
                case SourceKey::dsn:
                    if (auto dsn = v.read_dsn(k, val, p)) {
                        config.source_dsn = std::move(*dsn);
                    }
                    return;
            }
        });
    if (value.find(name_of(SourceKey::dsn)) == nullptr) {
        v.problem(value.position, path,
                  "missing required key 'dsn' (a libpq conninfo or postgresql:// URI)");
    }
}

void read_schema_changes(Validator& v, const Node& key, const Node& value, const std::string& path,
                         SchemaChangePolicy& policy) {
    if (!v.expect_mapping(value, Validator::where(key, value), path)) {
        return;
    }
    using enum ChangeAction;
    v.walk_mapping<SchemaChangeKey>(
        value, path, [&](SchemaChangeKey id, const Node& k, const Node& val, const std::string& p) {
            // Each key allows its own subset of actions, listed in messages in this order.
            const auto read = [&](ChangeAction& field, std::span<const ChangeAction> allowed) {
                if (auto action = v.read_choice(k, val, p, allowed)) {
                    field = *action;
                }
            };
            switch (id) {
                case SchemaChangeKey::add_column:
                    read(policy.add_column, std::array{apply, ignore, stop});
                    return;
                case SchemaChangeKey::drop_column:
                    read(policy.drop_column, std::array{keep, drop, stop});
                    return;
                case SchemaChangeKey::type_change:
                    read(policy.type_change, std::array{apply, stop});
                    return;
                case SchemaChangeKey::rename_column:
                    read(policy.rename_column, std::array{apply, stop});
                    return;
                case SchemaChangeKey::new_tables:
                    read(policy.new_tables, std::array{apply, ignore, stop});
                    return;
                case SchemaChangeKey::indexes:
                    read(policy.indexes, std::array{apply, ignore});
                    return;
            }
        });
}

void read_drift(Validator& v, const Node& key, const Node& value, const std::string& path,
                DriftOptions& drift) {
    if (!v.expect_mapping(value, Validator::where(key, value), path)) {
        return;
    }
    v.walk_mapping<DriftKey>(
        value, path, [&](DriftKey id, const Node& k, const Node& val, const std::string& p) {
            switch (id) {
                case DriftKey::interval:
                    if (auto d = v.read_duration(k, val, p, true)) {
                        drift.interval = *d;
                    }
                    return;
                case DriftKey::repair:
                    if (auto b = v.read_bool(k, val, p)) {
                        drift.repair = *b;
                    }
                    return;
                case DriftKey::max_rows_per_second:
                    if (auto n = v.read_integer(k, val, p, 0, 100'000'000)) {
                        drift.max_rows_per_second = *n;
                    }
                    return;
            }
        });
}

void read_state(Validator& v, const Node& key, const Node& value, const std::string& path,
                Config& config) {
    if (!v.expect_mapping(value, Validator::where(key, value), path)) {
        return;
    }
    v.walk_mapping<StateKey>(
        value, path, [&](StateKey id, const Node& k, const Node& val, const std::string& p) {
            switch (id) {
                case StateKey::schema:
                    if (auto schema = v.read_identifier(k, val, p, "schema")) {
                        config.state_schema = std::move(*schema);
                    }
                    return;
            }
        });
}

void read_log(Validator& v, const Node& key, const Node& value, const std::string& path,
              LogOptions& log) {
    if (!v.expect_mapping(value, Validator::where(key, value), path)) {
        return;
    }
    v.walk_mapping<LogKey>(value, path,
                           [&](LogKey id, const Node& k, const Node& val, const std::string& p) {
                               switch (id) {
                                   case LogKey::level:
                                       if (auto level = v.read_choice<LogLevel>(k, val, p)) {
                                           log.level = *level;
                                       }
                                       return;
                                   case LogKey::format:
                                       if (auto format = v.read_choice<LogFormat>(k, val, p)) {
                                           log.format = *format;
                                       }
                                       return;
                               }
                           });
}

// `connections` as written: each value with where it was written, for messages.
struct BudgetEntry {
    int value = 0;
    Position position;
};
struct BudgetKeys {
    std::optional<BudgetEntry> source;
    std::optional<BudgetEntry> replica;
};

void read_connections(Validator& v, const Node& key, const Node& value, const std::string& path,
                      BudgetKeys& budget) {
    if (!v.expect_mapping(value, Validator::where(key, value), path)) {
        return;
    }
    v.walk_mapping<ConnectionsKey>(
        value, path, [&](ConnectionsKey id, const Node& k, const Node& val, const std::string& p) {
            if (auto n = v.read_integer(k, val, p, 1, 10000)) {
                (id == ConnectionsKey::source ? budget.source : budget.replica) =
                    BudgetEntry{static_cast<int>(*n), Validator::where(k, val)};
            }
        });
}

// Fits `parallel` and `connections` together (budget.hpp): either one follows from the other
// when only one is given; both given must fit, or it is a problem at the budget's place.
void settle_budget(Validator& v, const BudgetKeys& budget, bool parallel_set, Config& config) {
    const ConnectionNeeds fixed = connection_needs(config, 0);
    if (!parallel_set && (budget.source || budget.replica)) {
        int room = 256;
        if (budget.source) {
            room = std::min(room, budget.source->value - fixed.source);
        }
        if (budget.replica) {
            room = std::min(room, budget.replica->value - fixed.replica);
        }
        // A bound, not a target: the default 4 workers, or fewer when the budget is tighter.
        config.parallel = std::clamp(room, 1, config.parallel);
    }
    const ConnectionNeeds needs = connection_needs(config, config.parallel);
    const std::string workers_from =
        parallel_set ? "parallel: " + std::to_string(config.parallel) : "at least 1 worker";
    if (budget.source && budget.source->value < needs.source) {
        v.problem(budget.source->position, "connections.source",
                  std::to_string(budget.source->value) + " is fewer than " + workers_from +
                      " needs: " + std::to_string(needs.source) + " source connections (" +
                      needs.source_parts + "); raise it" +
                      (parallel_set ? " or lower parallel" : ""));
    }
    if (budget.replica && budget.replica->value < needs.replica) {
        v.problem(budget.replica->position, "connections.replica",
                  std::to_string(budget.replica->value) + " is fewer than " + workers_from +
                      " needs: " + std::to_string(needs.replica) +
                      " connections to each replica (" + needs.replica_parts + "); raise it" +
                      (parallel_set ? " or lower parallel" : ""));
    }
    config.connections.source =
        budget.source ? budget.source->value : std::max(k_default_connections, needs.source);
    config.connections.replica =
        budget.replica ? budget.replica->value : std::max(k_default_connections, needs.replica);
}

void read_metrics(Validator& v, const Node& key, const Node& value, const std::string& path,
                  MetricsOptions& metrics) {
    if (!v.expect_mapping(value, Validator::where(key, value), path)) {
        return;
    }
    v.walk_mapping<MetricsKey>(
        value, path, [&](MetricsKey id, const Node& k, const Node& val, const std::string& p) {
            switch (id) {
                case MetricsKey::listen:
                    if (auto text = v.read_nonempty_string(k, val, p)) {
                        std::string error;
                        metrics.listen = parse_listen_address(*text, error);
                        if (!metrics.listen) {
                            v.problem(Validator::where(k, val), p, error);
                        }
                    }
                    return;
            }
        });
}

}  // namespace

std::string format_problem(std::string_view file, const Problem& problem) {
    return std::string(file) + ":" + std::to_string(problem.position.line) + ":" +
           std::to_string(problem.position.column) + ": " + problem.path + ": " + problem.message;
}

LoadResult build_config(const Node& root, std::string_view file, const EnvLookup& env) {
    Validator v(env);
    Config config;
    config.file = std::string(file);

    if (root.is_null()) {
        v.problem(root.position, "(top level)",
                  "the file is empty; it needs at least 'source' and 'replicas'");
        return LoadResult{std::nullopt, v.take_problems()};
    }
    if (!v.expect_mapping(root, root.position, "")) {
        return LoadResult{std::nullopt, v.take_problems()};
    }

    // `defaults` first: tables inherit from it wherever it appears in the file.
    if (const Node* defaults = root.find(name_of(TopKey::defaults))) {
        if (v.expect_mapping(*defaults, defaults->position, "defaults")) {
            SetKeys set;
            read_table_options(v, *defaults, "defaults", config.defaults, set, nullptr);
        }
    }

    const Node* replicas_node = nullptr;
    const Node* replicas_key = nullptr;
    BudgetKeys budget;
    bool parallel_set = false;
    v.walk_mapping<TopKey>(
        root, "", [&](TopKey id, const Node& key, const Node& value, const std::string& path) {
            switch (id) {
                case TopKey::source:
                    read_source(v, key, value, path, config);
                    return;
                case TopKey::replicas:
                    replicas_node = &value;  // read after this walk, below
                    replicas_key = &key;
                    return;
                case TopKey::defaults:
                    return;  // read above: tables inherit from it wherever it appears
                case TopKey::parallel:
                    if (auto n = v.read_integer(key, value, path, 1, 256)) {
                        config.parallel = static_cast<int>(*n);
                        parallel_set = true;
                    }
                    return;
                case TopKey::connections:
                    read_connections(v, key, value, path, budget);
                    return;
                case TopKey::schema_changes:
                    read_schema_changes(v, key, value, path, config.schema_changes);
                    return;
                case TopKey::drift:
                    read_drift(v, key, value, path, config.drift);
                    return;
                case TopKey::state:
                    read_state(v, key, value, path, config);
                    return;
                case TopKey::log:
                    read_log(v, key, value, path, config.log);
                    return;
                case TopKey::metrics:
                    read_metrics(v, key, value, path, config.metrics);
                    return;
            }
        });

    if (root.find(name_of(TopKey::source)) == nullptr) {
        v.problem(root.position, "source",
                  "missing required key 'source' (with 'dsn', the database to copy from)");
    }
    if (replicas_node == nullptr) {
        v.problem(root.position, "replicas",
                  "missing required key 'replicas' (the databases to copy into)");
    } else if (!replicas_node->is_sequence() || replicas_node->items.empty()) {
        v.problem(Validator::where(*replicas_key, *replicas_node), "replicas",
                  replicas_node->is_sequence()
                      ? "the list is empty; add at least one replica"
                      : "expected a list of replicas, got " + describe_value(*replicas_node));
    } else {
        std::map<std::string, int> names;
        for (std::size_t i = 0; i < replicas_node->items.size(); ++i) {
            const Node& item = replicas_node->items[i];
            std::string path = index_path("replicas", i);
            if (!v.expect_mapping(item, item.position, path)) {
                continue;
            }
            ReplicaSpec replica;
            replica.position = item.position;
            const Node* tables_key = nullptr;
            const Node* tables_value = nullptr;
            const Node* sequences_key = nullptr;
            const Node* sequences_value = nullptr;
            v.walk_mapping<ReplicaKey>(
                item, path,
                [&](ReplicaKey id, const Node& k, const Node& val, const std::string& p) {
                    switch (id) {
                        case ReplicaKey::name:
                            read_replica_name(v, k, val, p, names, replica);
                            return;
                        case ReplicaKey::dsn:
                            if (auto dsn = v.read_dsn(k, val, p)) {
                                replica.dsn = std::move(*dsn);
                            }
                            return;
                        case ReplicaKey::tables:
                            tables_key = &k;  // read once the name is known, for messages
                            tables_value = &val;
                            return;
                        case ReplicaKey::sequences:
                            sequences_key = &k;  // the same
                            sequences_value = &val;
                            return;
                    }
                });
            for (std::string_view required : enum_name_list<ReplicaKey>()) {
                if (required != name_of(ReplicaKey::sequences) && item.find(required) == nullptr) {
                    v.problem(item.position, path,
                              "missing required key '" + std::string(required) + "'");
                }
            }
            if (tables_key != nullptr) {
                read_tables(v, *tables_key, *tables_value, key_path(path, "tables"), config,
                            replica);
            }
            if (sequences_key != nullptr) {
                read_sequences(v, *sequences_key, *sequences_value, key_path(path, "sequences"),
                               replica);
            }
            config.replicas.push_back(std::move(replica));
        }
    }

    settle_budget(v, budget, parallel_set, config);

    auto problems = v.take_problems();
    std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
        return std::tie(a.position.line, a.position.column) <
               std::tie(b.position.line, b.position.column);
    });
    if (!problems.empty()) {
        return LoadResult{std::nullopt, std::move(problems)};
    }
    return LoadResult{std::move(config), {}};
}

LoadResult load_config_text(std::string_view text, std::string_view file, const EnvLookup& env) {
    ParseResult parsed = parse_yaml(text);
    if (!parsed.problems.empty()) {
        LoadResult result;
        for (auto& p : parsed.problems) {
            result.problems.push_back({p.position, "(yaml)", std::move(p.message)});
        }
        return result;
    }
    return build_config(parsed.root, file, env);
}

}  // namespace syncset::config
