#include "syncset/text.hpp"

#include <charconv>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace syncset {

namespace {

// `NULL` in any case: the unquoted spelling of a null array element.
bool is_null_word(std::string_view word) noexcept {
    constexpr std::string_view k_null = "null";
    if (word.size() != k_null.size()) {
        return false;
    }
    for (std::size_t n = 0; n < word.size(); ++n) {
        const char c = word[n];
        if (c != k_null[n] && c != k_null[n] - ('a' - 'A')) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::int64_t parse_int64(std::string_view text) noexcept {
    std::int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string build_text_array(std::span<const std::string> items) {
    std::string out = "{";
    for (std::size_t n = 0; n < items.size(); ++n) {
        if (n > 0) {
            out += ',';
        }
        out += '"';
        for (const char c : items[n]) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

std::optional<std::vector<std::string>> parse_text_array(std::string_view text) {
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
        return std::nullopt;
    }
    std::vector<std::string> items;
    if (text == "{}") {
        return items;
    }
    std::size_t i = 1;
    const std::size_t close = text.size() - 1;
    while (true) {
        std::string item;
        if (text[i] == '"') {
            ++i;
            while (i < close && text[i] != '"') {
                if (text[i] == '\\') {
                    ++i;
                    if (i >= close) {
                        return std::nullopt;
                    }
                }
                item += text[i++];
            }
            if (i >= close) {
                return std::nullopt;
            }
            ++i;  // the closing quote
        } else {
            // Unquoted: array_out quotes anything with whitespace, quotes, backslashes, braces
            // or commas, and an empty element; NULL unquoted is the null element.
            while (i < close && text[i] != ',') {
                const char c = text[i++];
                if (c == '{' || c == '}' || c == '"' || c == '\\') {
                    return std::nullopt;
                }
                item += c;
            }
            if (item.empty() || is_null_word(item)) {
                return std::nullopt;
            }
        }
        items.push_back(std::move(item));
        if (i == close) {
            return items;
        }
        if (text[i] != ',') {
            return std::nullopt;
        }
        ++i;
    }
}

namespace {

// Reads exactly `digits` decimal digits at `pos`, advancing it.
std::optional<int> read_digits(std::string_view text, std::size_t& pos, std::size_t digits) {
    if (pos + digits > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    pos += digits;
    return value;
}

bool skip(std::string_view text, std::size_t& pos, char c) {
    if (pos < text.size() && text[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

}  // namespace

std::optional<std::int64_t> parse_timestamp_ms(std::string_view text) noexcept {
    using namespace std::chrono;
    std::size_t pos = 0;
    auto year = read_digits(text, pos, 4);
    if (!year || !skip(text, pos, '-')) {
        return std::nullopt;
    }
    auto month = read_digits(text, pos, 2);
    if (!month || !skip(text, pos, '-')) {
        return std::nullopt;
    }
    auto day = read_digits(text, pos, 2);
    if (!day) {
        return std::nullopt;
    }
    const year_month_day date{std::chrono::year{*year},
                              std::chrono::month{static_cast<unsigned>(*month)},
                              std::chrono::day{static_cast<unsigned>(*day)}};
    if (!date.ok()) {
        return std::nullopt;
    }
    std::int64_t ms = duration_cast<milliseconds>(sys_days{date}.time_since_epoch()).count();
    if (pos == text.size()) {
        return ms;
    }
    if (!skip(text, pos, ' ') && !skip(text, pos, 'T')) {
        return std::nullopt;
    }
    auto hour = read_digits(text, pos, 2);
    auto minute = hour && skip(text, pos, ':') ? read_digits(text, pos, 2) : std::nullopt;
    auto second = minute && skip(text, pos, ':') ? read_digits(text, pos, 2) : std::nullopt;
    if (!second || *hour > 24 || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    ms += ((*hour * 60LL + *minute) * 60LL + *second) * 1000LL;
    if (skip(text, pos, '.')) {
        std::int64_t scale = 100;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ms += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) {
            return std::nullopt;
        }
    }
    if (pos == text.size() || (skip(text, pos, 'Z') && pos == text.size())) {
        return ms;
    }
    const bool behind = text[pos] == '-';
    if (!skip(text, pos, '+') && !skip(text, pos, '-')) {
        return std::nullopt;
    }
    std::int64_t offset_s = 0;
    auto offset_hours = read_digits(text, pos, 2);
    if (!offset_hours) {
        return std::nullopt;
    }
    offset_s = *offset_hours * 3600LL;
    for (int unit = 60; unit >= 1 && skip(text, pos, ':'); unit /= 60) {
        auto part = read_digits(text, pos, 2);
        if (!part) {
            return std::nullopt;
        }
        offset_s += *part * unit;
    }
    if (pos != text.size()) {
        return std::nullopt;
    }
    // Local time = UTC + offset, so UTC = local - offset.
    return ms + (behind ? offset_s : -offset_s) * 1000LL;
}

}  // namespace syncset
