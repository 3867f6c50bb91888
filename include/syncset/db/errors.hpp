// Translation of libpq and libpqxx failures into syncset::Error, at the src/db boundary.
// Connection failures become ErrorCode::connection, failed queries ErrorCode::database; retryable
// and SQLSTATE follow classify_sqlstate(). Every message is passed through scrub_known_secrets().
#pragma once

#include <libpq-fe.h>

#include <exception>
#include <string>
#include <string_view>

#include "syncset/error.hpp"

namespace syncset::db {

// Error for a failed libpq call. Built from `result` when given (SQLSTATE, primary message,
// detail, hint), else from the connection's last error message. ErrorCode::connection and
// retryable when `conn` is no longer usable. Message: `context: cause` (no prefix when `context`
// is empty).
Error translate_libpq_error(const PGconn* conn, const PGresult* result, std::string_view context);

// Error for a connection attempt that failed (PQstatus(conn) == CONNECTION_BAD). Always
// ErrorCode::connection; retryable unless the cause will not go away by waiting (bad password,
// unknown role or database, pg_hba.conf rejection), see is_retryable_connect_failure().
Error translate_connect_failure(const PGconn* conn, std::string_view context);

// Error for a caught libpqxx exception: broken_connection → ErrorCode::connection (retryable),
// sql_error → by its SQLSTATE, transaction_rollback family → retryable with 40001/40P01/40003,
// in_doubt_error → retryable connection error with a hint, usage errors → ErrorCode::internal.
// Any other std::exception becomes ErrorCode::internal.
Error translate_pqxx_exception(const std::exception& error, std::string_view context);

// A libpq or server message made fit for one log line: severity prefix (`ERROR:  `) removed,
// the `LINE n:` excerpt and caret dropped, whitespace runs collapsed to one space, cut to a
// sane length.
std::string clean_libpq_message(std::string_view message);

}  // namespace syncset::db
