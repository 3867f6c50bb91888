#include "syncset/db/errors.hpp"

#include <pqxx/except>

#include <array>
#include <cctype>

#include "db/sqlstate.hpp"
#include "syncset/db/dsn.hpp"

namespace syncset::db {

namespace {

constexpr std::size_t k_max_cause_bytes = 2000;
constexpr std::size_t k_max_detail_bytes = 400;
constexpr std::string_view k_password_hint =
    "check the user and password in the DSN, the password file (~/.pgpass, PGPASSFILE) or the "
    "service file";

// Cuts `text` to at most `max_bytes`, not inside a UTF-8 sequence, marking the cut with `...`.
std::string truncate_utf8(std::string text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return text;
    }
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    text.resize(cut);
    return text + "...";
}

std::string field(const PGresult* result, int code) {
    const char* value = PQresultErrorField(result, code);
    return value == nullptr ? std::string{} : std::string(value);
}

std::string prefixed(std::string_view context, std::string_view cause) {
    if (context.empty()) {
        return scrub_known_secrets(cause);
    }
    std::string message(context);
    message += ": ";
    message += cause;
    return scrub_known_secrets(message);
}

Error make_error(ErrorCode code, std::string_view context, std::string_view cause, bool retryable,
                 std::string_view hint, std::string_view sqlstate) {
    Error error(code, prefixed(context, cause), retryable, scrub_known_secrets(hint));
    if (!sqlstate.empty()) {
        error.set_sqlstate(std::string(sqlstate));
    }
    return error;
}

Error from_sqlstate(std::string_view context, std::string_view cause, std::string_view sqlstate,
                    std::string_view hint = {}) {
    const SqlstateClass meaning = classify_sqlstate(sqlstate);
    return make_error(meaning.code, context, cause, meaning.retryable, hint, sqlstate);
}

}  // namespace

std::string clean_libpq_message(std::string_view message) {
    for (const std::string_view severity : {"ERROR:", "FATAL:", "PANIC:"}) {
        if (message.starts_with(severity)) {
            message.remove_prefix(severity.size());
            break;
        }
    }
    if (const auto excerpt = message.find("\nLINE "); excerpt != std::string_view::npos) {
        message = message.substr(0, excerpt);
    }
    std::string cleaned;
    cleaned.reserve(message.size());
    bool pending_space = false;
    for (const char c : message) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            pending_space = !cleaned.empty();
            continue;
        }
        if (pending_space) {
            cleaned.push_back(' ');
            pending_space = false;
        }
        cleaned.push_back(c);
    }
    return truncate_utf8(std::move(cleaned), k_max_cause_bytes);
}

Error translate_libpq_error(const PGconn* conn, const PGresult* result, std::string_view context) {
    std::string sqlstate;
    std::string cause;
    std::string hint;
    if (result != nullptr) {
        sqlstate = field(result, PG_DIAG_SQLSTATE);
        cause = clean_libpq_message(field(result, PG_DIAG_MESSAGE_PRIMARY));
        if (const std::string detail = field(result, PG_DIAG_MESSAGE_DETAIL); !detail.empty()) {
            cause += " (" + truncate_utf8(clean_libpq_message(detail), k_max_detail_bytes) + ")";
        }
        hint = field(result, PG_DIAG_MESSAGE_HINT);
        if (cause.empty()) {
            cause = clean_libpq_message(PQresultErrorMessage(result));
        }
    }
    if (cause.empty() && conn != nullptr) {
        cause = clean_libpq_message(PQerrorMessage(conn));
    }
    if (cause.empty()) {
        cause = "unknown libpq error";
    }
    if (conn != nullptr && PQstatus(conn) == CONNECTION_BAD) {
        return make_error(ErrorCode::connection, context, cause, true, hint, sqlstate);
    }
    return from_sqlstate(context, cause, sqlstate, hint);
}

Error translate_connect_failure(const PGconn* conn, std::string_view context) {
    if (conn == nullptr) {
        return make_error(ErrorCode::connection, context, "out of memory", true, {}, {});
    }
    std::string cause = clean_libpq_message(PQerrorMessage(conn));
    if (cause.empty()) {
        cause = "connection failed";
    }
    const bool needs_password = PQconnectionNeedsPassword(conn) != 0;
    const bool retryable = !needs_password && is_retryable_connect_failure(cause);
    const bool about_password = needs_password || cause.find("password") != std::string::npos;
    return make_error(ErrorCode::connection, context, cause, retryable,
                      about_password ? k_password_hint : std::string_view{}, {});
}

Error translate_pqxx_exception(const std::exception& error, std::string_view context) {
    const std::string cause = clean_libpq_message(error.what());
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
        return from_sqlstate(context, cause, sql->sqlstate());
    }
    if (dynamic_cast<const pqxx::too_many_connections*>(&error) != nullptr) {
        return make_error(ErrorCode::connection, context, cause, true, {}, "53300");
    }
    if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
        const bool retryable = is_retryable_connect_failure(cause);
        return make_error(ErrorCode::connection, context, cause, retryable,
                          retryable ? std::string_view{} : k_password_hint, {});
    }
    if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) {
        return make_error(ErrorCode::connection, context, cause, true,
                          "the connection broke during commit: the transaction may or may not "
                          "have been committed",
                          {});
    }
    if (dynamic_cast<const pqxx::serialization_failure*>(&error) != nullptr) {
        return from_sqlstate(context, cause, "40001");
    }
    if (dynamic_cast<const pqxx::deadlock_detected*>(&error) != nullptr) {
        return from_sqlstate(context, cause, "40P01");
    }
    if (dynamic_cast<const pqxx::statement_completion_unknown*>(&error) != nullptr) {
        return from_sqlstate(context, cause, "40003");
    }
    if (dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr) {
        return make_error(ErrorCode::database, context, cause, true, {}, "40000");
    }
    if (dynamic_cast<const pqxx::conversion_error*>(&error) != nullptr ||
        dynamic_cast<const pqxx::range_error*>(&error) != nullptr) {
        return make_error(ErrorCode::database, context, cause, false, {}, {});
    }
    if (dynamic_cast<const pqxx::failure*>(&error) != nullptr) {
        return make_error(ErrorCode::database, context, cause, false, {}, {});
    }
    return make_error(ErrorCode::internal, context, cause, false, {}, {});
}

}  // namespace syncset::db
