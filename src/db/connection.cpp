#include "syncset/db/connection.hpp"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "db/session.hpp"
#include "syncset/db/dsn.hpp"
#include "syncset/db/errors.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"

namespace syncset::db {

namespace {

// How long copy_out_next waits for the server before looking at the stop flag again.
constexpr int k_stop_poll_interval_ms = 100;
// PQputCopyData takes an int length: larger data goes in pieces.
constexpr std::size_t k_max_copy_piece_bytes = std::size_t{1} << 30;

std::string describe(PGconn* conn, std::string_view role) {
    const auto part = [](std::string_view key, const char* value) {
        std::string text;
        if (value != nullptr && *value != '\0') {
            text.append(" ").append(key).append("=").append(value);
        }
        return text;
    };
    std::string parts = part("host", PQhost(conn)) + part("port", PQport(conn)) +
                        part("dbname", PQdb(conn)) + part("user", PQuser(conn));
    if (!parts.empty()) {
        parts.erase(0, 1);
    }
    return std::string(role) + " (" + parts + ")";
}

}  // namespace

// ---- Result ----------------------------------------------------------------------------------

int Result::rows() const noexcept {
    return m_result ? PQntuples(m_result.get()) : 0;
}

int Result::columns() const noexcept {
    return m_result ? PQnfields(m_result.get()) : 0;
}

bool Result::is_null(int row, int column) const noexcept {
    return PQgetisnull(m_result.get(), row, column) != 0;
}

std::string_view Result::value(int row, int column) const noexcept {
    const char* data = PQgetvalue(m_result.get(), row, column);
    const int length = PQgetlength(m_result.get(), row, column);
    return data == nullptr ? std::string_view{}
                           : std::string_view(data, static_cast<std::size_t>(length));
}

std::optional<std::string> Result::optional_value(int row, int column) const {
    if (is_null(row, column)) {
        return std::nullopt;
    }
    return std::string(value(row, column));
}

std::string_view Result::column_name(int column) const noexcept {
    const char* name = PQfname(m_result.get(), column);
    return name == nullptr ? std::string_view{} : std::string_view(name);
}

std::uint64_t Result::affected_rows() const noexcept {
    const char* text = PQcmdTuples(m_result.get());
    std::uint64_t count = 0;
    if (text != nullptr) {
        std::from_chars(text, text + std::strlen(text), count);
    }
    return count;
}

// ---- Connection ------------------------------------------------------------------------------

std::unique_ptr<Connection> Connection::open(std::string_view dsn, std::string_view role) {
    remember_dsn_secrets(dsn);
    const std::string dsn_text(dsn);
    const std::string application_name = application_name_for(role);
    // Keys before `dbname` are defaults the DSN may override; keys after it override the DSN.
    const bool timeout_from_env = std::getenv("PGCONNECT_TIMEOUT") != nullptr;
    const std::array<const char*, 5> keywords{"connect_timeout", "dbname", "application_name",
                                              "client_encoding", nullptr};
    const std::array<const char*, 5> values{timeout_from_env ? nullptr : "10", dsn_text.c_str(),
                                            application_name.c_str(), "UTF8", nullptr};
    std::unique_ptr<PGconn, Deleter> conn(PQconnectdbParams(keywords.data(), values.data(), 1));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        const std::string context =
            "connect to " + std::string(role) + " (" + redact_dsn(dsn) + ")";
        const Error error = translate_connect_failure(conn.get(), context);
        throw Error(error.code(), scrub_secret(error.what(), dsn), error.retryable(), error.hint());
    }
    if (const char* password = PQpass(conn.get()); password != nullptr) {
        remember_secret(password);  // may come from a password file, not the DSN
    }
    std::unique_ptr<Connection> connection(new Connection(conn.release(), std::string(role)));
    connection->apply_session_settings();
    return connection;
}

Connection::Connection(PGconn* conn, std::string role)
    : m_conn(conn), m_role(std::move(role)), m_description(describe(conn, m_role)) {
    PQsetNoticeReceiver(m_conn.get(), &Connection::receive_notice, this);
}

Connection::~Connection() = default;

void Connection::apply_session_settings() {
    run(build_session_setup_sql(), "session settings");
}

void Connection::receive_notice(void* self, const PGresult* notice) noexcept {
    try {
        const auto* connection = static_cast<const Connection*>(self);
        const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
        const char* primary = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
        const std::string message =
            scrub_known_secrets(clean_libpq_message(primary == nullptr ? "" : primary));
        const std::string_view level = severity == nullptr ? "NOTICE" : severity;
        // Through log:: like every other line, so `log.format: json` holds for these too.
        if (level == "WARNING") {
            log::warn("server warning", {{"role", connection->m_role}, {"message", message}});
        } else {
            log::debug("server notice",
                       {{"role", connection->m_role}, {"severity", level}, {"message", message}});
        }
    } catch (...) {
        // A notice is never worth an exception, least of all inside libpq.
    }
}

void Connection::check_no_copy(std::string_view what) const {
    if (m_copy_state != CopyState::none) {
        throw Error(ErrorCode::internal,
                    m_role + ": cannot run " + std::string(what) + " while a COPY is in progress");
    }
}

Result Connection::run(std::string_view sql, std::string_view what) {
    check_no_copy(what);
    Result result(PQexec(m_conn.get(), std::string(sql).c_str()));
    switch (PQresultStatus(result.get())) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            return result;
        case PGRES_COPY_IN:
            m_copy_state = CopyState::in;
            copy_in_abort("syncset: COPY is not allowed here");
            break;
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            m_copy_state = CopyState::out;
            copy_out_abort();
            break;
        default:
            throw translate_libpq_error(m_conn.get(), result.get(), m_role);
    }
    throw Error(ErrorCode::internal,
                m_role + ": " + std::string(what) + " started a COPY: use the COPY primitives");
}

void Connection::exec(std::string_view sql) {
    run(sql, "a statement");
}

Result Connection::query(std::string_view sql) {
    return run(sql, "a query");
}

namespace {

std::vector<const char*> param_values(const std::vector<std::optional<std::string>>& params,
                                      const std::string& role) {
    if (params.size() > static_cast<std::size_t>(INT_MAX)) {
        throw Error(ErrorCode::internal, role + ": too many query parameters");
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& param : params) {
        values.push_back(param ? param->c_str() : nullptr);
    }
    return values;
}

}  // namespace

Result Connection::exec_params(std::string_view sql,
                               const std::vector<std::optional<std::string>>& params) {
    check_no_copy("a query");
    std::vector<const char*> values = param_values(params, m_role);
    Result result(PQexecParams(m_conn.get(), std::string(sql).c_str(),
                               static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                               nullptr, 0));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        // The extended protocol refuses COPY, so there is nothing to clean up here.
        throw translate_libpq_error(m_conn.get(), result.get(), m_role);
    }
    return result;
}

Result Connection::exec_prepared(const std::string& sql,
                                 const std::vector<std::optional<std::string>>& params,
                                 bool* prepared_now) {
    check_no_copy("a query");
    std::vector<const char*> values = param_values(params, m_role);
    if (prepared_now != nullptr) {
        *prepared_now = false;
    }
    auto prepare = [&] {
        if (m_prepared.size() >= k_max_prepared) {
            exec("DEALLOCATE ALL");
            m_prepared.clear();
        }
        std::string name = "syncset_" + std::to_string(++m_prepared_count);
        Result prepared(PQprepare(m_conn.get(), name.c_str(), sql.c_str(), 0, nullptr));
        if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
            throw translate_libpq_error(m_conn.get(), prepared.get(), m_role);
        }
        if (prepared_now != nullptr) {
            *prepared_now = true;
        }
        return m_prepared.insert_or_assign(sql, std::move(name)).first;
    };
    auto it = m_prepared.find(sql);
    if (it == m_prepared.end()) {
        it = prepare();
    }
    for (int attempt = 0;; ++attempt) {
        Result result(PQexecPrepared(m_conn.get(), it->second.c_str(),
                                     static_cast<int>(values.size()), values.data(), nullptr,
                                     nullptr, 0));
        const ExecStatusType status = PQresultStatus(result.get());
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            return result;
        }
        // 26000: the session lost the statement (DISCARD ALL, or a pooler that moved us to
        // another session). Prepare it again, once.
        const char* sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
        if (attempt == 0 && sqlstate != nullptr && std::string_view(sqlstate) == "26000" &&
            PQtransactionStatus(m_conn.get()) == PQTRANS_IDLE) {
            m_prepared.erase(it);
            it = prepare();
            continue;
        }
        throw translate_libpq_error(m_conn.get(), result.get(), m_role);
    }
}

void Connection::begin(std::string_view modes) {
    exec(modes.empty() ? std::string("BEGIN") : "BEGIN " + std::string(modes));
}

void Connection::commit() {
    if (PQtransactionStatus(m_conn.get()) == PQTRANS_INERROR) {
        // COMMIT would answer "ROLLBACK" without an error: make the failure loud instead.
        try_rollback();
        throw Error(ErrorCode::database,
                    m_role + ": commit failed: the transaction was aborted by an earlier error");
    }
    const Result result = run("COMMIT", "COMMIT");
    if (std::string_view(PQcmdStatus(result.get())) == "ROLLBACK") {
        throw Error(ErrorCode::database, m_role + ": commit failed: the server rolled back");
    }
}

void Connection::rollback() {
    exec("ROLLBACK");
}

void Connection::try_rollback() noexcept {
    copy_in_abort("syncset: transaction rolled back");
    copy_out_abort();
    if (!is_ok() || !in_transaction()) {
        return;
    }
    PQclear(PQexec(m_conn.get(), "ROLLBACK"));
}

bool Connection::in_transaction() const noexcept {
    const PGTransactionStatusType status = PQtransactionStatus(m_conn.get());
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

int Connection::backend_pid() const noexcept {
    return PQbackendPID(m_conn.get());
}

bool Connection::is_ok() const noexcept {
    return PQstatus(m_conn.get()) == CONNECTION_OK;
}

int Connection::server_version() const noexcept {
    return PQserverVersion(m_conn.get());
}

void Connection::cancel_query() noexcept {
    PGcancel* cancel = PQgetCancel(m_conn.get());
    if (cancel == nullptr) {
        return;
    }
    std::array<char, 256> error_buffer{};
    PQcancel(cancel, error_buffer.data(), static_cast<int>(error_buffer.size()));
    PQfreeCancel(cancel);
}

void Connection::discard_results() noexcept {
    while (PGresult* result = PQgetResult(m_conn.get())) {
        const ExecStatusType status = PQresultStatus(result);
        PQclear(result);
        if (status == PGRES_COPY_IN) {
            PQputCopyEnd(m_conn.get(), "syncset: discarded");
        } else if (status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
            char* buffer = nullptr;
            while (PQgetCopyData(m_conn.get(), &buffer, 0) > 0) {
                PQfreemem(buffer);
            }
        }
        if (!is_ok()) {
            break;
        }
    }
}

void Connection::fail_copy(const PGresult* result) {
    m_copy_state = CopyState::none;
    Result fetched;
    if (result == nullptr) {
        fetched = Result(PQgetResult(m_conn.get()));
        result = fetched.get();
    }
    Error error = translate_libpq_error(m_conn.get(), result, m_role);
    discard_results();
    throw error;
}

// ---- COPY ----------------------------------------------------------------------------------

Error Connection::interrupted_error() const {
    return Error(ErrorCode::database, m_role + ": copy interrupted: stop requested", true);
}

bool Connection::wait_readable() noexcept {
    pollfd socket{PQsocket(m_conn.get()), POLLIN, 0};
    if (socket.fd < 0) {
        return false;
    }
    if (poll(&socket, 1, k_stop_poll_interval_ms) < 0 && errno != EINTR) {
        return false;
    }
    return PQconsumeInput(m_conn.get()) != 0;
}

Result Connection::start_copy(std::string_view copy_sql, const std::atomic<bool>* stop) {
    // Not PQexec: the server only flushes CopyOutResponse with the first rows, so PQexec would
    // block, deaf to `stop`, for as long as the query takes to produce them.
    if (PQsendQuery(m_conn.get(), std::string(copy_sql).c_str()) != 1) {
        fail_copy(nullptr);
    }
    for (;;) {
        if (PQisBusy(m_conn.get()) == 0) {
            return Result(PQgetResult(m_conn.get()));
        }
        if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
            cancel_query();
            discard_results();
            throw interrupted_error();
        }
        if (!wait_readable()) {
            fail_copy(nullptr);
        }
    }
}

void Connection::expect_copy(const Result& result, CopyState expected) {
    const ExecStatusType status = PQresultStatus(result.get());
    const ExecStatusType wanted = expected == CopyState::out ? PGRES_COPY_OUT : PGRES_COPY_IN;
    if (status == wanted) {
        m_copy_state = expected;
        return;
    }
    if (status == PGRES_COPY_IN) {
        m_copy_state = CopyState::in;
        copy_in_abort("syncset: expected COPY TO STDOUT");
    } else if (status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        m_copy_state = CopyState::out;
        copy_out_abort();
    } else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ||
               status == PGRES_EMPTY_QUERY) {
        discard_results();
    } else {
        fail_copy(result.get());
    }
    throw Error(ErrorCode::internal, m_role + ": expected a COPY ... " +
                                         (expected == CopyState::out ? "TO STDOUT" : "FROM STDIN") +
                                         " statement");
}

void Connection::copy_out_begin(std::string_view copy_sql, const std::atomic<bool>* stop) {
    check_no_copy("COPY TO STDOUT");
    expect_copy(start_copy(copy_sql, stop), CopyState::out);
}

std::optional<CopyRow> Connection::copy_out_next(const std::atomic<bool>* stop) {
    if (m_copy_state != CopyState::out) {
        throw Error(ErrorCode::internal, m_role + ": no COPY TO STDOUT in progress");
    }
    for (;;) {
        if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
            copy_out_abort();
            throw interrupted_error();
        }
        char* buffer = nullptr;
        const int length = PQgetCopyData(m_conn.get(), &buffer, 1);
        if (length > 0) {
            return CopyRow(buffer, length);
        }
        if (length == -1) {  // the COPY is over: its result says whether it succeeded
            const Result result(PQgetResult(m_conn.get()));
            if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
                fail_copy(result.get());
            }
            m_copy_state = CopyState::none;
            discard_results();
            return std::nullopt;
        }
        // -2 is a failure; 0 means no complete row is buffered yet: wait for the socket, a
        // bounded time so that `stop` is seen.
        if (length == -2 || !wait_readable()) {
            fail_copy(nullptr);
        }
    }
}

void Connection::copy_out_abort() noexcept {
    if (m_copy_state != CopyState::out) {
        return;
    }
    m_copy_state = CopyState::none;
    cancel_query();
    char* buffer = nullptr;
    while (PQgetCopyData(m_conn.get(), &buffer, 0) > 0) {
        PQfreemem(buffer);
    }
    discard_results();
}

void Connection::copy_in_begin(std::string_view copy_sql, const std::atomic<bool>* stop) {
    check_no_copy("COPY FROM STDIN");
    expect_copy(start_copy(copy_sql, stop), CopyState::in);
}

void Connection::copy_in_put(std::string_view data) {
    if (m_copy_state != CopyState::in) {
        throw Error(ErrorCode::internal, m_role + ": no COPY FROM STDIN in progress");
    }
    while (!data.empty()) {
        const std::size_t piece = std::min(data.size(), k_max_copy_piece_bytes);
        if (PQputCopyData(m_conn.get(), data.data(), static_cast<int>(piece)) != 1) {
            fail_copy(nullptr);
        }
        data.remove_prefix(piece);
    }
}

std::uint64_t Connection::copy_in_end() {
    if (m_copy_state != CopyState::in) {
        throw Error(ErrorCode::internal, m_role + ": no COPY FROM STDIN in progress");
    }
    if (PQputCopyEnd(m_conn.get(), nullptr) != 1) {
        fail_copy(nullptr);
    }
    const Result result(PQgetResult(m_conn.get()));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        fail_copy(result.get());
    }
    m_copy_state = CopyState::none;
    discard_results();
    return result.affected_rows();
}

void Connection::copy_in_abort(std::string_view reason) noexcept {
    if (m_copy_state != CopyState::in) {
        return;
    }
    m_copy_state = CopyState::none;
    std::array<char, 256> message{};
    reason.copy(message.data(), std::min(reason.size(), message.size() - 1));
    PQputCopyEnd(m_conn.get(), message.data());
    discard_results();
}

// ---- Transaction -----------------------------------------------------------------------------

Transaction::Transaction(Connection& conn, std::string_view modes) : m_conn(conn) {
    m_conn.begin(modes);
}

Transaction::~Transaction() {
    if (!m_done) {
        m_conn.try_rollback();
    }
}

void Transaction::commit() {
    m_conn.commit();
    m_done = true;
}

}  // namespace syncset::db
