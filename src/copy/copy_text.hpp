// PostgreSQL COPY text format, the little of it syncset needs to read: the first fields of a
// row (its key and cursor), so the hot path streams bytes and parses one row per batch.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace syncset::copy {

// The first `count` fields of one COPY text row (trailing newline optional), decoded:
// `\N` is NULL, backslash escapes (\t \n \r \b \f \v \\ \ooo \xhh) are resolved.
// nullopt when the row has fewer fields.
std::optional<std::vector<std::optional<std::string>>> decode_copy_fields(std::string_view row,
                                                                          std::size_t count);

}  // namespace syncset::copy
