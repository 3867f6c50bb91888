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

namespace syncset::config {

namespace {

using KeyList = std::span<const std::string_view>;

constexpr std::string_view k_top_keys[] = {"source",         "replicas", "defaults", "parallel",
                                           "schema_changes", "drift",    "state",    "log"};
constexpr std::string_view k_source_keys[] = {"dsn"};
constexpr std::string_view k_replica_keys[] = {"name", "dsn", "tables"};
constexpr std::string_view k_table_keys[] = {"source",        "target",
                                             "columns",       "exclude",
                                             "rename",        "where",
                                             "cursor",        "mode",
                                             "key",           "soft_delete",
                                             "batch_rows",    "snapshot_chunk_rows",
                                             "poll_interval", "late_commit_window"};
constexpr std::string_view k_defaults_keys[] = {"columns",       "exclude",
                                                "rename",        "where",
                                                "cursor",        "mode",
                                                "key",           "soft_delete",
                                                "batch_rows",    "snapshot_chunk_rows",
                                                "poll_interval", "late_commit_window"};
constexpr std::string_view k_schema_change_keys[] = {"add_column",    "drop_column", "type_change",
                                                     "rename_column", "new_tables",  "indexes"};
constexpr std::string_view k_drift_keys[] = {"interval", "repair", "max_rows_per_second"};
constexpr std::string_view k_state_keys[] = {"schema"};
constexpr std::string_view k_log_keys[] = {"level", "format"};

// PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1).
constexpr std::size_t k_max_identifier_bytes = 63;

template <typename T>
struct Choice {
    std::string_view name;
    T value;
};

constexpr std::array k_modes{Choice<Mode>{"upsert", Mode::upsert},
                             Choice<Mode>{"insert", Mode::insert},
                             Choice<Mode>{"mirror", Mode::mirror}};
constexpr std::array k_log_levels{
    Choice<LogLevel>{"trace", LogLevel::trace}, Choice<LogLevel>{"debug", LogLevel::debug},
    Choice<LogLevel>{"info", LogLevel::info},   Choice<LogLevel>{"warn", LogLevel::warn},
    Choice<LogLevel>{"error", LogLevel::error}, Choice<LogLevel>{"off", LogLevel::off}};
constexpr std::array k_log_formats{Choice<LogFormat>{"text", LogFormat::text},
                                   Choice<LogFormat>{"json", LogFormat::json}};

using ActionChoice = Choice<ChangeAction>;
constexpr ActionChoice k_apply{"apply", ChangeAction::apply};
constexpr ActionChoice k_ignore{"ignore", ChangeAction::ignore};
constexpr ActionChoice k_stop{"stop", ChangeAction::stop};
constexpr ActionChoice k_keep{"keep", ChangeAction::keep};
constexpr ActionChoice k_drop{"drop", ChangeAction::drop};

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

    // Reports unknown and duplicate keys. Calls `on_entry(key, value, path)` for each known,
    // first-seen key.
    template <typename F>
    void walk_mapping(const Node& map, const std::string& path, KeyList known, F&& on_entry) {
        std::map<std::string, int, std::less<>> seen;
        for (const auto& [key, value] : map.entries) {
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
            if (std::find(known.begin(), known.end(), key.scalar) == known.end()) {
                if (auto close = suggest(key.scalar, known)) {
                    problem(key.position, here,
                            "unknown key (did you mean '" + std::string(*close) + "'?)");
                } else {
                    problem(key.position, here,
                            "unknown key (expected " + join_choices(known) + ")");
                }
                continue;
            }
            on_entry(key, value, here);
        }
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

    template <typename T, std::size_t N>
    std::optional<T> read_choice(const Node& key, const Node& value, const std::string& path,
                                 const std::array<Choice<T>, N>& choices) {
        if (value.is_scalar()) {
            for (const auto& choice : choices) {
                if (value.scalar == choice.name) {
                    return choice.value;
                }
            }
        }
        std::vector<std::string_view> names;
        for (const auto& choice : choices) {
            names.push_back(choice.name);
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

void read_table_options(Validator& v, const Node& map, const std::string& path,
                        TableOptions& options, SetKeys& set, KeyList known, TableSpec* table) {
    v.walk_mapping(
        map, path, known, [&](const Node& key, const Node& value, const std::string& here) {
            const std::string& name = key.scalar;
            if (name == "source" || name == "target") {
                if (table == nullptr) {
                    return;
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
                if (name == "source") {
                    table->source = std::move(*parsed);
                } else {
                    table->target = std::move(*parsed);
                }
            } else if (name == "columns") {
                set.columns_key = &key;
                if (auto list = v.read_column_list(key, value, here)) {
                    if (list->empty()) {
                        v.problem(Validator::where(key, value), here,
                                  "the list is empty; list at least one column, or remove the key "
                                  "to copy every column");
                        return;
                    }
                    options.columns = std::move(*list);
                }
            } else if (name == "exclude") {
                set.exclude_key = &key;
                if (auto list = v.read_column_list(key, value, here)) {
                    options.exclude = std::move(*list);
                }
            } else if (name == "rename") {
                if (!value.is_mapping()) {
                    v.problem(Validator::where(key, value), here,
                              "expected a mapping of source column: replica column, got " +
                                  describe_value(value));
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
                                  "two columns are renamed to '" + *to_name +
                                      "' (the other at line " + std::to_string(it->second) + ")");
                        continue;
                    }
                    targets.emplace(*to_name, from.position.line);
                    set.rename_positions.emplace(*from_name, from.position);
                    options.rename.push_back({std::move(*from_name), std::move(*to_name)});
                }
            } else if (name == "where") {
                if (auto text = v.read_nonempty_string(key, value, here)) {
                    options.where = std::move(*text);
                }
            } else if (name == "cursor") {
                set.cursor_key = &key;
                if (auto text = v.read_identifier(key, value, here, "cursor column")) {
                    if (*text == "xmin") {
                        options.cursor = Cursor{CursorKind::xmin, {}};
                    } else if (*text == "none") {
                        options.cursor = Cursor{CursorKind::none, {}};
                    } else {
                        options.cursor = Cursor{CursorKind::column, std::move(*text)};
                    }
                }
            } else if (name == "mode") {
                set.mode_key = &key;
                if (auto mode = v.read_choice(key, value, here, k_modes)) {
                    options.mode = *mode;
                }
            } else if (name == "key") {
                set.key_key = &key;
                if (auto list = v.read_column_list(key, value, here)) {
                    if (list->empty()) {
                        v.problem(Validator::where(key, value), here,
                                  "the list is empty; name the columns that identify a row");
                        return;
                    }
                    options.key = std::move(*list);
                }
            } else if (name == "soft_delete") {
                if (auto text = v.read_identifier(key, value, here, "column")) {
                    options.soft_delete = std::move(*text);
                }
            } else if (name == "batch_rows") {
                if (auto rows = v.read_integer(key, value, here, 1, 10'000'000)) {
                    options.batch_rows = *rows;
                }
            } else if (name == "snapshot_chunk_rows") {
                if (auto rows = v.read_integer(key, value, here, 1, 10'000'000)) {
                    options.snapshot_chunk_rows = *rows;
                }
            } else if (name == "poll_interval") {
                if (auto interval = v.read_duration(key, value, here, false)) {
                    options.poll_interval = *interval;
                }
            } else if (name == "late_commit_window") {
                if (auto window = v.read_duration(key, value, here, true)) {
                    options.late_commit_window = *window;
                }
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
        read_table_options(v, item, item_path, table, set, k_table_keys, &table);
        if (item.find("source") == nullptr) {
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
    if (const Node* defaults = root.find("defaults")) {
        if (v.expect_mapping(*defaults, defaults->position, "defaults")) {
            SetKeys set;
            read_table_options(v, *defaults, "defaults", config.defaults, set, k_defaults_keys,
                               nullptr);
        }
    }

    const Node* replicas_node = nullptr;
    const Node* replicas_key = nullptr;
    v.walk_mapping(
        root, "", k_top_keys, [&](const Node& key, const Node& value, const std::string& path) {
            const std::string& name = key.scalar;
            if (name == "source") {
                if (!v.expect_mapping(value, Validator::where(key, value), path)) {
                    return;
                }
                v.walk_mapping(value, path, k_source_keys,
                               [&](const Node& k, const Node& val, const std::string& p) {
                                   if (auto dsn = v.read_dsn(k, val, p)) {
                                       config.source_dsn = std::move(*dsn);
                                   }
                               });
                if (value.find("dsn") == nullptr) {
                    v.problem(value.position, path,
                              "missing required key 'dsn' (a libpq conninfo or postgresql:// URI)");
                }
            } else if (name == "replicas") {
                replicas_node = &value;
                replicas_key = &key;
            } else if (name == "parallel") {
                if (auto n = v.read_integer(key, value, path, 1, 256)) {
                    config.parallel = static_cast<int>(*n);
                }
            } else if (name == "schema_changes") {
                if (!v.expect_mapping(value, Validator::where(key, value), path)) {
                    return;
                }
                auto& policy = config.schema_changes;
                v.walk_mapping(
                    value, path, k_schema_change_keys,
                    [&](const Node& k, const Node& val, const std::string& p) {
                        std::optional<ChangeAction> action;
                        if (k.scalar == "add_column" || k.scalar == "new_tables") {
                            action =
                                v.read_choice(k, val, p, std::array{k_apply, k_ignore, k_stop});
                        } else if (k.scalar == "drop_column") {
                            action = v.read_choice(k, val, p, std::array{k_keep, k_drop, k_stop});
                        } else if (k.scalar == "indexes") {
                            action = v.read_choice(k, val, p, std::array{k_apply, k_ignore});
                        } else {
                            action = v.read_choice(k, val, p, std::array{k_apply, k_stop});
                        }
                        if (!action) {
                            return;
                        }
                        if (k.scalar == "add_column") {
                            policy.add_column = *action;
                        } else if (k.scalar == "drop_column") {
                            policy.drop_column = *action;
                        } else if (k.scalar == "type_change") {
                            policy.type_change = *action;
                        } else if (k.scalar == "rename_column") {
                            policy.rename_column = *action;
                        } else if (k.scalar == "new_tables") {
                            policy.new_tables = *action;
                        } else {
                            policy.indexes = *action;
                        }
                    });
            } else if (name == "drift") {
                if (!v.expect_mapping(value, Validator::where(key, value), path)) {
                    return;
                }
                v.walk_mapping(value, path, k_drift_keys,
                               [&](const Node& k, const Node& val, const std::string& p) {
                                   if (k.scalar == "interval") {
                                       if (auto d = v.read_duration(k, val, p, true)) {
                                           config.drift.interval = *d;
                                       }
                                   } else if (k.scalar == "repair") {
                                       if (auto b = v.read_bool(k, val, p)) {
                                           config.drift.repair = *b;
                                       }
                                   } else if (auto n = v.read_integer(k, val, p, 0, 100'000'000)) {
                                       config.drift.max_rows_per_second = *n;
                                   }
                               });
            } else if (name == "state") {
                if (!v.expect_mapping(value, Validator::where(key, value), path)) {
                    return;
                }
                v.walk_mapping(value, path, k_state_keys,
                               [&](const Node& k, const Node& val, const std::string& p) {
                                   if (auto s = v.read_identifier(k, val, p, "schema")) {
                                       config.state_schema = std::move(*s);
                                   }
                               });
            } else if (name == "log") {
                if (!v.expect_mapping(value, Validator::where(key, value), path)) {
                    return;
                }
                v.walk_mapping(value, path, k_log_keys,
                               [&](const Node& k, const Node& val, const std::string& p) {
                                   if (k.scalar == "level") {
                                       if (auto l = v.read_choice(k, val, p, k_log_levels)) {
                                           config.log.level = *l;
                                       }
                                   } else if (auto f = v.read_choice(k, val, p, k_log_formats)) {
                                       config.log.format = *f;
                                   }
                               });
            }
            // `defaults` was read above.
        });

    if (root.find("source") == nullptr) {
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
            v.walk_mapping(item, path, k_replica_keys,
                           [&](const Node& k, const Node& val, const std::string& p) {
                               if (k.scalar == "name") {
                                   read_replica_name(v, k, val, p, names, replica);
                               } else if (k.scalar == "dsn") {
                                   if (auto dsn = v.read_dsn(k, val, p)) {
                                       replica.dsn = std::move(*dsn);
                                   }
                               } else {
                                   tables_key = &k;
                                   tables_value = &val;
                               }
                           });
            for (std::string_view required : k_replica_keys) {
                if (item.find(required) == nullptr) {
                    v.problem(item.position, path,
                              "missing required key '" + std::string(required) + "'");
                }
            }
            if (tables_key != nullptr) {
                read_tables(v, *tables_key, *tables_value, key_path(path, "tables"), config,
                            replica);
            }
            config.replicas.push_back(std::move(replica));
        }
    }

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
