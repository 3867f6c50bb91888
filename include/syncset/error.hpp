// The one error type of syncset and the one table that maps its codes to exit statuses.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace syncset {

// Exit statuses, the same for every command.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_drift = 1;     // `check` found rows that differ
inline constexpr int k_exit_usage = 2;     // bad command line or configuration
inline constexpr int k_exit_database = 3;  // cannot connect, or a database error
inline constexpr int k_exit_partial = 4;   // some tables failed while others succeeded
inline constexpr int k_exit_internal = 5;  // a bug in syncset: please report it

enum class ErrorCode {
    usage,       // command line is wrong
    config,      // configuration file is wrong (validation problems)
    connection,  // could not connect, or the connection was lost
    database,    // a query failed on a live connection
    schema,      // config and catalogs disagree (missing table, missing column, no key)
    partial,     // some tables failed, others succeeded
    io,          // a local file could not be read or written
    internal,    // broken invariant: a bug
};

// Name of a code as shown in logs and JSON (`connection`, `database`, ...).
std::string_view error_code_name(ErrorCode code) noexcept;

// The single place that turns an error code into a process exit status.
int exit_status_for(ErrorCode code) noexcept;

class Error : public std::runtime_error {
  public:
    Error(ErrorCode code, const std::string& message, bool retryable = false,
          std::string hint = {});

    ErrorCode code() const noexcept { return m_code; }
    // True when trying the same operation again later may succeed (connection loss,
    // serialization failure, deadlock, server shutting down).
    bool retryable() const noexcept { return m_retryable; }
    // Optional advice for the user, printed after the message as `HINT: ...`.
    const std::string& hint() const noexcept { return m_hint; }
    // SQLSTATE when the error came from PostgreSQL, empty otherwise.
    const std::string& sqlstate() const noexcept { return m_sqlstate; }
    void set_sqlstate(std::string sqlstate) { m_sqlstate = std::move(sqlstate); }

    // The same error with `context: ` put in front of the message, for adding context as
    // errors rise: `copy public.orders -> replica billing: <cause>`.
    Error with_context(std::string_view context) const;

  private:
    ErrorCode m_code;
    bool m_retryable;
    std::string m_hint;
    std::string m_sqlstate;
};

}  // namespace syncset
