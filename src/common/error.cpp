#include "syncset/error.hpp"

#include <array>

namespace syncset {

namespace {

struct ErrorCodeRow {
    ErrorCode code;
    std::string_view name;
    int exit_status;
};

// The one table from error code to exit status.
constexpr std::array k_error_table{
    ErrorCodeRow{ErrorCode::usage, "usage", k_exit_usage},
    ErrorCodeRow{ErrorCode::config, "config", k_exit_usage},
    ErrorCodeRow{ErrorCode::connection, "connection", k_exit_database},
    ErrorCodeRow{ErrorCode::database, "database", k_exit_database},
    ErrorCodeRow{ErrorCode::schema, "schema", k_exit_usage},
    ErrorCodeRow{ErrorCode::partial, "partial", k_exit_partial},
    ErrorCodeRow{ErrorCode::io, "io", k_exit_usage},
    ErrorCodeRow{ErrorCode::internal, "internal", k_exit_internal},
};

const ErrorCodeRow& row_for(ErrorCode code) noexcept {
    for (const auto& row : k_error_table) {
        if (row.code == code) {
            return row;
        }
    }
    return k_error_table.back();
}

}  // namespace

std::string_view error_code_name(ErrorCode code) noexcept {
    return row_for(code).name;
}

int exit_status_for(ErrorCode code) noexcept {
    return row_for(code).exit_status;
}

Error::Error(ErrorCode code, const std::string& message, bool retryable, std::string hint)
    : std::runtime_error(message), m_code(code), m_retryable(retryable), m_hint(std::move(hint)) {}

Error Error::with_context(std::string_view context) const {
    Error wrapped(m_code, std::string(context) + ": " + what(), m_retryable, m_hint);
    wrapped.m_sqlstate = m_sqlstate;
    return wrapped;
}

}  // namespace syncset
