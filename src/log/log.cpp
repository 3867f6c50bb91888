#include "syncset/log/log.hpp"

#include "syncset/json.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

namespace syncset::log {

namespace {

std::atomic<config::LogFormat> g_format{config::LogFormat::text};

bool needs_quotes(std::string_view value) {
    return value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
               return c == ' ' || c == '"' || c == '=' || c == '\\' ||
                      static_cast<unsigned char>(c) < 0x20;
           });
}

spdlog::level::level_enum to_spdlog(config::LogLevel level) noexcept {
    switch (level) {
        case config::LogLevel::trace:
            return spdlog::level::trace;
        case config::LogLevel::debug:
            return spdlog::level::debug;
        case config::LogLevel::info:
            return spdlog::level::info;
        case config::LogLevel::warn:
            return spdlog::level::warn;
        case config::LogLevel::error:
            return spdlog::level::err;
        case config::LogLevel::off:
            return spdlog::level::off;
    }
    return spdlog::level::info;
}

// The level as the config spells it (`warn`, not spdlog's `warning`), for text and JSON.
std::string_view level_name(spdlog::level::level_enum level) noexcept {
    for (const auto& entry : enum_entries<config::LogLevel>()) {
        if (entry.value != config::LogLevel::off && to_spdlog(entry.value) == level) {
            return entry.name;
        }
    }
    return "critical";  // the one spdlog level syncset has no name for (and never logs at)
}

class LevelName final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        std::string_view name = level_name(msg.level);
        dest.append(name.data(), name.data() + name.size());
        // spdlog leaves padding to custom flags: `%-5*` pads the name on the right.
        for (std::size_t i = name.size(); padinfo_.enabled() && i < padinfo_.width_; ++i) {
            dest.push_back(' ');
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<LevelName>();
    }
};

std::unique_ptr<spdlog::pattern_formatter> make_formatter(const std::string& pattern) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<LevelName>('*').set_pattern(pattern);
    return formatter;
}

// spdlog's registry is a function-local static inside libspdlog.so, whose guard ThreadSanitizer
// cannot see (the library is not instrumented): two threads whose first log line comes at the
// same time looked like a race on the default logger. The first touch goes through a guard of
// ours instead, which TSan does see, so every later use happens after the registry is built.
spdlog::logger* default_logger() {
    static spdlog::logger* const k_first = spdlog::default_logger_raw();
    static_cast<void>(k_first);
    return spdlog::default_logger_raw();
}

void emit(spdlog::level::level_enum level, std::string_view message, Fields fields) {
    auto logger = default_logger();
    if (!logger->should_log(level)) {
        return;
    }
    std::string body = g_format.load() == config::LogFormat::json ? format_json(message, fields)
                                                                  : format_text(message, fields);
    logger->log(level, "{}", body);
}

// Every line goes through this one logger, whatever its sink.
void install(config::LogLevel level, config::LogFormat format, const spdlog::sink_ptr& sink) {
    default_logger();
    auto logger = spdlog::get("syncset");
    if (!logger) {
        logger = std::make_shared<spdlog::logger>("syncset", sink);
        spdlog::register_logger(logger);
        spdlog::set_default_logger(logger);
    } else if (logger->sinks().size() != 1 || logger->sinks().front() != sink) {
        logger->sinks().assign(1, sink);  // only ever when a test captures lines
    }
    g_format = format;
    if (format == config::LogFormat::json) {
        logger->set_formatter(make_formatter(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%*",%v})"));
    } else {
        logger->set_formatter(make_formatter("%Y-%m-%dT%H:%M:%S.%eZ %-5* %v"));
    }
    logger->set_level(to_spdlog(level));
    logger->flush_on(spdlog::level::info);
}

}  // namespace

std::string format_text(std::string_view message, Fields fields) {
    std::string out(message);
    for (const auto& field : fields) {
        out += ' ';
        out += field.key;
        out += '=';
        if (needs_quotes(field.value)) {
            out += '"';
            append_json_escaped(out, field.value);
            out += '"';
        } else {
            out += field.value;
        }
    }
    return out;
}

std::string format_json(std::string_view message, Fields fields) {
    std::string out = "\"msg\":\"";
    append_json_escaped(out, message);
    out += '"';
    for (const auto& field : fields) {
        out += ",\"";
        append_json_escaped(out, field.key);
        out += "\":";
        if (field.is_number) {
            out += field.value;
        } else {
            out += '"';
            append_json_escaped(out, field.value);
            out += '"';
        }
    }
    return out;
}

void setup(config::LogLevel level, config::LogFormat format) {
    static const spdlog::sink_ptr k_stderr = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    install(level, format, k_stderr);
}

void setup(config::LogLevel level, config::LogFormat format, std::ostream& out) {
    install(level, format, std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true));
}

void debug(std::string_view message, Fields fields) {
    emit(spdlog::level::debug, message, fields);
}
void info(std::string_view message, Fields fields) {
    emit(spdlog::level::info, message, fields);
}
void warn(std::string_view message, Fields fields) {
    emit(spdlog::level::warn, message, fields);
}
void error(std::string_view message, Fields fields) {
    emit(spdlog::level::err, message, fields);
}

}  // namespace syncset::log
