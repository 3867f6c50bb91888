// Minimal JSON text helpers for log lines and `--json` outputs. Pure.
#pragma once

#include <string>
#include <string_view>

namespace syncset {

// Appends `value` as JSON string contents (no surrounding quotes), escaping `"`, `\` and
// control characters. UTF-8 passes through unchanged.
void append_json_escaped(std::string& out, std::string_view value);

// `"value"` with escapes.
std::string json_quote(std::string_view value);

}  // namespace syncset
