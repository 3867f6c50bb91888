// Turning YAML text into a validated Config, with every problem reported at once as
// `FILE:LINE:COL: KEY.PATH: what is wrong`. Pure: the environment is passed in.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncset/config/config.hpp"
#include "syncset/config/node.hpp"

namespace syncset::config {

struct Problem {
    Position position;
    std::string path;  // `replicas[0].tables[1].mode`; `(top level)` for the document
    std::string message;
};

// `FILE:LINE:COL: KEY.PATH: message`
std::string format_problem(std::string_view file, const Problem& problem);

// Looks up an environment variable; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct LoadResult {
    std::optional<Config> config;  // set when there are no problems
    std::vector<Problem> problems;
};

// Validates a parsed document. `file` is used for messages and Config::file.
LoadResult build_config(const Node& root, std::string_view file, const EnvLookup& env);

// parse_yaml + build_config.
LoadResult load_config_text(std::string_view text, std::string_view file, const EnvLookup& env);

// Reads the file and loads it with the process environment. Throws Error(config) listing
// every problem (one per line), or Error(io) when the file cannot be read.
Config load_config_file(const std::string& path);

// ---- pieces exposed for unit tests and for other modules ----

// `500ms`, `5s`, `10m`, `1h` (and `0`). nullopt when malformed.
std::optional<Milliseconds> parse_duration(std::string_view text);

// Expands `${NAME}` from `env`. On failure returns nullopt and sets `error`
// (names the variable; never echoes the text around it).
std::optional<std::string> expand_env(std::string_view text, const EnvLookup& env,
                                      std::string& error);

// `schema.table`; parts may be double-quoted (`"My Schema"."a.b"`). nullopt when malformed.
std::optional<TableName> parse_table_name(std::string_view text);

// `HOST:PORT` for a listener: `127.0.0.1:9187`, `[::1]:9187`, `localhost:9187`, or `:9187`
// (every IPv4 interface, 0.0.0.0). On failure returns nullopt and sets `error`.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& error);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace syncset::config
