#include "syncset/json.hpp"

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

}  // namespace syncset
