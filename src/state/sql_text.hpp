// Text helpers of the metadata store: the schema variable of its SQL files, and int[] literals
// (text[] literals are in syncset/text.hpp). Pure: no database needed.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "syncset/text.hpp"  // build_text_array, parse_text_array

namespace syncset::state {

// `sql` with psql's variable syntax for `schema` replaced: `:"schema"` by the quoted identifier
// (db::quote_ident), `:'schema'` by the quoted literal (db::quote_literal). As in psql, nothing
// is replaced inside comments, quoted literals and identifiers, or dollar-quoted bodies, and
// `::` is a cast, so the SQL files stay runnable with `psql -v schema=_syncset -f FILE`.
// Scans `sql` once: a schema name that looks like a variable is never expanded again.
// Throws Error(ErrorCode::internal) for any other variable (`:"other"`), and
// Error(ErrorCode::config) for a schema name quote_ident refuses (empty, NUL byte).
std::string expand_schema(std::string_view sql, std::string_view schema);

// `{1,2,3}`: a one-dimensional int[] literal.
std::string build_int_array(std::span<const int> items);

}  // namespace syncset::state
