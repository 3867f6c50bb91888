#include "syncset/json.hpp"

#include <cassert>
#include <cmath>
#include <cstdio>

namespace syncset {

void append_json_escaped(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
}

std::string json_quote(std::string_view value) {
    std::string out = "\"";
    append_json_escaped(out, value);
    out += '"';
    return out;
}

void JsonWriter::separate() {
    if (m_after_key) {
        m_after_key = false;
        return;
    }
    if (m_in_object.empty()) {
        assert(m_out.empty() && "a JSON document has one top-level value");
        return;
    }
    assert(!m_in_object.back() && "a value in an object needs a key() first");
    if (!m_empty) {
        m_out += ',';
    }
    m_empty = false;
}

JsonWriter& JsonWriter::begin_object() {
    separate();
    m_out += '{';
    m_in_object.push_back(true);
    m_empty = true;
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    assert(!m_in_object.empty() && m_in_object.back() && !m_after_key);
    m_out += '}';
    m_in_object.pop_back();
    m_empty = false;
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    separate();
    m_out += '[';
    m_in_object.push_back(false);
    m_empty = true;
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    assert(!m_in_object.empty() && !m_in_object.back());
    m_out += ']';
    m_in_object.pop_back();
    m_empty = false;
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
    assert(!m_in_object.empty() && m_in_object.back() && !m_after_key);
    if (!m_empty) {
        m_out += ',';
    }
    m_out += '"';
    append_json_escaped(m_out, name);
    m_out += "\":";
    m_empty = false;
    m_after_key = true;
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
    separate();
    m_out += '"';
    append_json_escaped(m_out, text);
    m_out += '"';
    return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
    return raw(flag ? "true" : "false");
}

JsonWriter& JsonWriter::fixed(double number, int decimals) {
    if (!std::isfinite(number)) {
        return null();
    }
    const int length = std::snprintf(nullptr, 0, "%.*f", decimals, number);
    std::string text(static_cast<std::size_t>(length), '\0');
    // Writes `length` characters and the terminator, which lands on the string's own.
    std::snprintf(text.data(), text.size() + 1, "%.*f", decimals, number);
    return raw(text);
}

JsonWriter& JsonWriter::null() {
    return raw("null");
}

JsonWriter& JsonWriter::value_or_null(std::string_view text) {
    return text.empty() ? null() : value(text);
}

JsonWriter& JsonWriter::value_or_null(const std::optional<std::int64_t>& number) {
    return number ? value(*number) : null();
}

JsonWriter& JsonWriter::raw(std::string_view json) {
    separate();
    m_out += json;
    return *this;
}

}  // namespace syncset
