#include "syncset/text.hpp"

#include <charconv>
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

}  // namespace syncset
