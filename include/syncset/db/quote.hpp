// Quoting of SQL identifiers and literals. Pure: no database needed.
#pragma once

#include <string>
#include <string_view>

namespace syncset::db {

// `"name"` with embedded double quotes doubled. Always quotes, so the case and spelling of the
// name are kept exactly. Quote every part of a qualified name separately (see quote_qualified).
// Throws Error(ErrorCode::config) for an empty name or one containing a NUL byte.
std::string quote_ident(std::string_view name);

// `"schema"."name"`, each part quoted by quote_ident.
std::string quote_qualified(std::string_view schema, std::string_view name);

// `'value'` with embedded single quotes doubled, for standard_conforming_strings = on (pinned on
// every syncset session, see session.hpp): backslashes are ordinary characters.
// Throws Error(ErrorCode::config) when the value contains a NUL byte, which no PostgreSQL text
// value can hold.
std::string quote_literal(std::string_view value);

}  // namespace syncset::db
