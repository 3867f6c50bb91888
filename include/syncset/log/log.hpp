// Logging: one line per event, a short lowercase message plus key=value context
// (replica, table, rows, bytes, ms). Human text by default, JSON lines for machines.
// Goes to stderr (journald and `docker logs` collect it). Pure modules do not log.
#pragma once

#include <concepts>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>

#include "syncset/config/config.hpp"

namespace syncset::log {

struct Field {
    std::string key;
    std::string value;
    bool is_number = false;  // JSON: emit without quotes

    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(v) {}
    template <std::integral T>
    Field(std::string_view k, T v) : key(k), value(std::to_string(v)), is_number(true) {}
};

using Fields = std::initializer_list<Field>;

// Installs the process-wide logger, writing to stderr. Safe to call again (SIGHUP reload).
void setup(config::LogLevel level, config::LogFormat format);
// The same, writing whole lines to `out` instead (tests); setup() above goes back to stderr.
void setup(config::LogLevel level, config::LogFormat format, std::ostream& out);

void debug(std::string_view message, Fields fields = {});
void info(std::string_view message, Fields fields = {});
void warn(std::string_view message, Fields fields = {});
void error(std::string_view message, Fields fields = {});

// The event part of a line, without time and level (pure; unit-tested).
// text: `copy done replica=billing rows=10 note="two words"`
std::string format_text(std::string_view message, Fields fields);
// json: `"msg":"copy done","replica":"billing","rows":10`
std::string format_json(std::string_view message, Fields fields);

}  // namespace syncset::log
