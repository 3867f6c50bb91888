#include "db/sqlstate.hpp"

#include <array>

namespace syncset::db {

namespace {

struct SqlstateRule {
    std::string_view pattern;  // a full SQLSTATE, or a two-character class
    SqlstateClass meaning;
};

constexpr SqlstateClass k_lost_connection{ErrorCode::connection, true};
constexpr SqlstateClass k_transient{ErrorCode::database, true};

// The retryable SQLSTATEs. Full codes are listed before their class so they win.
constexpr std::array k_sqlstate_rules{
    SqlstateRule{"57P01", k_lost_connection},  // admin_shutdown (pg_terminate_backend, fast stop)
    SqlstateRule{"57P02", k_lost_connection},  // crash_shutdown
    SqlstateRule{"57P03", k_lost_connection},  // cannot_connect_now (starting up, recovery)
    SqlstateRule{"57P05", k_lost_connection},  // idle_session_timeout
    SqlstateRule{"25P03", k_lost_connection},  // idle_in_transaction_session_timeout
    SqlstateRule{"53300", k_lost_connection},  // too_many_connections
    SqlstateRule{"08", k_lost_connection},     // connection_exception class
    SqlstateRule{"40001", k_transient},        // serialization_failure
    SqlstateRule{"40P01", k_transient},        // deadlock_detected
    SqlstateRule{"40003", k_transient},        // statement_completion_unknown
    SqlstateRule{"55P03", k_transient},        // lock_not_available
    SqlstateRule{"72000", k_transient},        // snapshot_too_old
};

// Fragments of libpq/server messages for connection failures that will not go away by waiting.
constexpr std::array<std::string_view, 9> k_permanent_connect_failures{
    "password authentication failed",
    "no password supplied",
    "no pg_hba.conf entry",
    "does not exist",  // database "x" does not exist, role "x" does not exist
    "invalid connection option",
    "invalid URI",
    "invalid sslmode value",
    "missing \"=\" after",
    "is not permitted to log in",
};

}  // namespace

SqlstateClass classify_sqlstate(std::string_view sqlstate) noexcept {
    for (const auto& rule : k_sqlstate_rules) {
        const bool matches = rule.pattern.size() == 2
                                 ? sqlstate.size() == 5 && sqlstate.substr(0, 2) == rule.pattern
                                 : sqlstate == rule.pattern;
        if (matches) {
            return rule.meaning;
        }
    }
    return {ErrorCode::database, false};
}

bool is_retryable_connect_failure(std::string_view libpq_message) noexcept {
    for (const auto fragment : k_permanent_connect_failures) {
        if (libpq_message.find(fragment) != std::string_view::npos) {
            return false;
        }
    }
    return true;
}

}  // namespace syncset::db
