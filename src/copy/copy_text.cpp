#include "copy/copy_text.hpp"

#include "syncset/text.hpp"

namespace syncset::copy {

namespace {

std::optional<std::string> decode_field(std::string_view raw) {
    if (raw == "\\N") {
        return std::nullopt;
    }
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c != '\\' || i + 1 >= raw.size()) {
            out += c;
            continue;
        }
        char e = raw[++i];
        switch (e) {
            case 't':
                out += '\t';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'v':
                out += '\v';
                break;
            case 'x': {
                int value = 0;
                int digits = 0;
                while (digits < 2 && i + 1 < raw.size() && hex_digit(raw[i + 1]) >= 0) {
                    value = value * 16 + hex_digit(raw[++i]);
                    ++digits;
                }
                out += digits > 0 ? static_cast<char>(value) : 'x';
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    int value = e - '0';
                    for (int digits = 1;
                         digits < 3 && i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '7';
                         ++digits) {
                        value = value * 8 + (raw[++i] - '0');
                    }
                    out += static_cast<char>(value);
                } else {
                    out += e;  // `\\` and any other escaped character stand for themselves
                }
        }
    }
    return out;
}

}  // namespace

std::optional<std::vector<std::optional<std::string>>> decode_copy_fields(std::string_view row,
                                                                          std::size_t count) {
    if (!row.empty() && row.back() == '\n') {
        row.remove_suffix(1);
    }
    std::vector<std::optional<std::string>> fields;
    fields.reserve(count);
    std::size_t start = 0;
    while (fields.size() < count) {
        // A tab inside a value is always escaped, so a raw tab ends the field.
        std::size_t tab = row.find('\t', start);
        std::string_view raw = row.substr(start, tab == std::string_view::npos ? tab : tab - start);
        fields.push_back(decode_field(raw));
        if (tab == std::string_view::npos) {
            break;
        }
        start = tab + 1;
    }
    if (fields.size() < count) {
        return std::nullopt;
    }
    return fields;
}

}  // namespace syncset::copy
