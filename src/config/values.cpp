// Small pure parsers used by config validation: durations, ${VAR} expansion, table names,
// edit distance, and the display names of enums (from their tables in config.hpp).
#include <algorithm>
#include <cctype>
#include <charconv>

#include "syncset/config/config.hpp"
#include "syncset/config/validate.hpp"

namespace syncset::config {

namespace {

bool needs_quotes(std::string_view part) {
    if (part.empty()) {
        return true;
    }
    return std::any_of(part.begin(), part.end(), [](char c) {
        return c == '.' || c == '"' || std::isspace(static_cast<unsigned char>(c)) != 0;
    });
}

std::string display_part(std::string_view part) {
    if (!needs_quotes(part)) {
        return std::string(part);
    }
    std::string out = "\"";
    for (char c : part) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    out += '"';
    return out;
}

// Reads one name part starting at `pos`: either `"..."` with `""` escapes, or characters up
// to the next unquoted dot. Advances `pos`. nullopt when malformed.
std::optional<std::string> read_name_part(std::string_view text, std::size_t& pos) {
    std::string part;
    if (pos < text.size() && text[pos] == '"') {
        ++pos;
        while (true) {
            if (pos >= text.size()) {
                return std::nullopt;  // unterminated quote
            }
            if (text[pos] == '"') {
                if (pos + 1 < text.size() && text[pos + 1] == '"') {
                    part += '"';
                    pos += 2;
                    continue;
                }
                ++pos;
                break;
            }
            part += text[pos++];
        }
        if (part.empty()) {
            return std::nullopt;
        }
        return part;
    }
    while (pos < text.size() && text[pos] != '.') {
        if (text[pos] == '"') {
            return std::nullopt;  // a quote in the middle of an unquoted name
        }
        part += text[pos++];
    }
    if (part.empty() || part.front() == ' ' || part.back() == ' ') {
        return std::nullopt;
    }
    return part;
}

}  // namespace

bool TableName::has_glob() const noexcept {
    auto globby = [](const std::string& s) { return s.find_first_of("*?") != std::string::npos; };
    return globby(schema) || globby(table);
}

std::string TableName::display() const {
    return display_part(schema) + "." + display_part(table);
}

std::optional<TableName> parse_table_name(std::string_view text) {
    std::size_t pos = 0;
    auto schema = read_name_part(text, pos);
    if (!schema || pos >= text.size() || text[pos] != '.') {
        return std::nullopt;
    }
    ++pos;
    auto table = read_name_part(text, pos);
    if (!table || pos != text.size()) {
        return std::nullopt;
    }
    return TableName{std::move(*schema), std::move(*table)};
}

std::optional<Milliseconds> parse_duration(std::string_view text) {
    if (text == "0") {
        return Milliseconds{0};
    }
    std::int64_t number = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    auto [rest, ec] = std::from_chars(begin, end, number);
    if (ec != std::errc{} || rest == begin || number < 0) {
        return std::nullopt;
    }
    std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    std::int64_t factor = 0;
    if (unit == "ms") {
        factor = 1;
    } else if (unit == "s") {
        factor = 1000;
    } else if (unit == "m") {
        factor = std::int64_t{60} * 1000;
    } else if (unit == "h") {
        factor = std::int64_t{60} * 60 * 1000;
    } else {
        return std::nullopt;
    }
    constexpr std::int64_t k_max_ms = std::int64_t{365} * 24 * 60 * 60 * 1000;
    if (number > k_max_ms / factor) {
        return std::nullopt;
    }
    return Milliseconds{number * factor};
}

std::optional<std::string> expand_env(std::string_view text, const EnvLookup& env,
                                      std::string& error) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t start = text.find("${", pos);
        if (start == std::string_view::npos) {
            out.append(text.substr(pos));
            break;
        }
        out.append(text.substr(pos, start - pos));
        std::size_t close = text.find('}', start + 2);
        if (close == std::string_view::npos) {
            error = "'${' without a closing '}'";
            return std::nullopt;
        }
        std::string_view name = text.substr(start + 2, close - start - 2);
        bool valid = !name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) == 0 &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                     });
        if (!valid) {
            error = "'${...}' must hold an environment variable name (letters, digits, '_')";
            return std::nullopt;
        }
        auto value = env(name);
        if (!value) {
            error = "environment variable " + std::string(name) + " is not set";
            return std::nullopt;
        }
        out.append(*value);
        pos = close + 1;
    }
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment: like Levenshtein, but swapping two neighbours costs one edit,
    // the commonest typo in a key (`mdoe`).
    const std::size_t width = b.size() + 1;
    std::vector<std::size_t> d((a.size() + 1) * width);
    auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * width + j]; };
    for (std::size_t i = 0; i <= a.size(); ++i) {
        at(i, 0) = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        at(0, j) = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(a.size(), b.size());
}

std::string_view to_string(Mode mode) noexcept {
    return name_of(mode);
}

std::string_view to_string(ChangeAction action) noexcept {
    return name_of(action);
}

std::string_view to_string(LogLevel level) noexcept {
    return name_of(level);
}

std::string_view to_string(LogFormat format) noexcept {
    return name_of(format);
}

std::optional<LogLevel> log_level_from_string(std::string_view name) noexcept {
    return parse_enum<LogLevel>(name);
}

std::optional<LogFormat> log_format_from_string(std::string_view name) noexcept {
    return parse_enum<LogFormat>(name);
}

std::string to_string(const Cursor& cursor) {
    return cursor.kind == CursorKind::column ? cursor.column : std::string(name_of(cursor.kind));
}

std::string ListenAddress::display() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& error) {
    const std::string_view example = "e.g. 127.0.0.1:9187, [::1]:9187 or :9187";
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        error = "expected HOST:PORT, " + std::string(example) + "; got '" + std::string(text) + "'";
        return std::nullopt;
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (!host.empty() && host.front() == '[') {
        if (host.size() < 3 || host.back() != ']' ||
            host.substr(1, host.size() - 2).find_first_not_of("0123456789abcdefABCDEF:.") !=
                std::string_view::npos) {
            error = "'" + std::string(host) + "' is not an IPv6 address in brackets, " +
                    std::string(example);
            return std::nullopt;
        }
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        error =
            "an IPv6 address needs brackets: [" + std::string(host) + "]:" + std::string(port_text);
        return std::nullopt;
    } else if (host.find_first_not_of(
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
               std::string_view::npos) {
        error = "'" + std::string(host) + "' is not a host name or an IP address, " +
                std::string(example);
        return std::nullopt;
    }
    int port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
        port < 1 || port > 65535) {
        error = "port '" + std::string(port_text) + "' is not a number from 1 to 65535, " +
                std::string(example);
        return std::nullopt;
    }
    return ListenAddress{host.empty() ? std::string("0.0.0.0") : std::string(host), port};
}

}  // namespace syncset::config
