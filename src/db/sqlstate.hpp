// What a PostgreSQL SQLSTATE means for syncset: which error code, and whether trying again later
// may succeed. Pure: no database needed.
#pragma once

#include <string_view>

#include "syncset/error.hpp"

namespace syncset::db {

struct SqlstateClass {
    ErrorCode code;  // ErrorCode::connection when the session is gone, else ErrorCode::database
    bool retryable;  // true when the same operation may succeed on a later try
};

// Classifies a five-character SQLSTATE. Retryable: connection exceptions (class 08), server
// shutdown or startup (57P01, 57P02, 57P03), session timeouts (25P03, 57P05), too many
// connections (53300), serialization failure (40001), deadlock (40P01), statement completion
// unknown (40003), lock not available (55P03), snapshot too old (72000). Everything else, in
// particular syntax (42601), undefined objects (42P01, 42703, 42704, 42883), privileges (42501),
// data errors (class 22) and constraint violations (class 23), is permanent. An empty or unknown
// SQLSTATE is a permanent ErrorCode::database.
SqlstateClass classify_sqlstate(std::string_view sqlstate) noexcept;

// Whether a failed connection attempt, described by libpq's message, is worth retrying. A wrong
// password, a missing role or database, a pg_hba.conf rejection or an invalid connection option
// will fail the same way next time; a refused connection, a timeout or a server starting up may
// not. Messages not recognised (the server may use another language) count as retryable.
bool is_retryable_connect_failure(std::string_view libpq_message) noexcept;

}  // namespace syncset::db
