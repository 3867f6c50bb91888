// The session settings every syncset connection pins, identically on source and replicas, so that
// the text form of every value (COPY output, ::text casts, hashes of rows) is the same on both
// sides whatever the server or database defaults are. Pure: no database needed.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace syncset::db {

struct SessionSetting {
    std::string_view name;
    std::string_view value;
};

// The one list of pinned settings, applied by Connection::open and open_pqxx.
// DateStyle pins the field order too (`ISO, MDY`): with `ISO` alone the server keeps its own
// order for input, which could differ between servers. standard_conforming_strings keeps
// quote_literal() correct.
inline constexpr std::array k_pinned_settings{
    SessionSetting{"client_encoding", "UTF8"},           SessionSetting{"DateStyle", "ISO, MDY"},
    SessionSetting{"IntervalStyle", "postgres"},         SessionSetting{"TimeZone", "UTC"},
    SessionSetting{"extra_float_digits", "3"},           SessionSetting{"bytea_output", "hex"},
    SessionSetting{"standard_conforming_strings", "on"},
};

// `syncset/<role>`, e.g. `syncset/source`, `syncset/replica:billing`; cut to the 63 bytes
// PostgreSQL keeps, and to printable ASCII, which is all application_name may hold.
std::string application_name_for(std::string_view role);

// One `SET name = 'value'; ...` statement list applying k_pinned_settings. SET, not the startup
// `options` parameter, because connection poolers such as pgbouncer reject `options`.
std::string build_session_setup_sql();

}  // namespace syncset::db
