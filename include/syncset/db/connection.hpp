// A libpq connection for the COPY hot path and the replica's batch transaction (COPY into a
// staging table, upsert, checkpoint, in one transaction), plus its query result.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "syncset/error.hpp"

namespace syncset::db {

// The result of one query (RAII over PGresult). Rows and columns are indexed from 0.
class Result {
  public:
    Result() noexcept = default;
    explicit Result(PGresult* result) noexcept : m_result(result) {}

    int rows() const noexcept;
    int columns() const noexcept;
    bool is_null(int row, int column) const noexcept;
    // The text value; empty for NULL (tell NULL and '' apart with is_null).
    std::string_view value(int row, int column) const noexcept;
    // The text value, or nullopt for NULL.
    std::optional<std::string> optional_value(int row, int column) const;
    std::string_view column_name(int column) const noexcept;
    // Rows affected by INSERT/UPDATE/DELETE/COPY/..., 0 when the command reports none.
    std::uint64_t affected_rows() const noexcept;

    PGresult* get() const noexcept { return m_result.get(); }

  private:
    struct Deleter {
        void operator()(PGresult* result) const noexcept { PQclear(result); }
    };
    std::unique_ptr<PGresult, Deleter> m_result;
};

// One row of COPY TO STDOUT output in text format, newline included (RAII over the libpq buffer).
class CopyRow {
  public:
    CopyRow(char* data, int size) noexcept : m_data(data), m_size(static_cast<std::size_t>(size)) {}

    std::string_view bytes() const noexcept { return {m_data.get(), m_size}; }
    std::size_t size() const noexcept { return m_size; }

  private:
    struct Deleter {
        void operator()(char* data) const noexcept { PQfreemem(data); }
    };
    std::unique_ptr<char, Deleter> m_data;
    std::size_t m_size;
};

// RAII wrapper over a libpq PGconn, with the session settings of session.hpp pinned. Not
// thread-safe; not copyable or movable: hold it in the unique_ptr open() returns. Failures throw
// syncset::Error (see errors.hpp) prefixed with the connection's role; every method that throws
// leaves the connection without pending results (a failed transaction still needs rollback()).
// After a connection error (is_ok() false) the object stays broken: open a new one.
class Connection {
  public:
    // Connects with PQconnectdbParams(expand_dbname=1): `dsn` may be conninfo, a URI or a
    // database name; application_name (`syncset/<role>`) and client_encoding override the DSN,
    // connect_timeout defaults to 10 s. The other pinned settings are applied by one SET batch.
    // `role` names the connection in messages: "source", "replica:billing".
    static std::unique_ptr<Connection> open(std::string_view dsn, std::string_view role);

    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&&) = delete;
    Connection& operator=(Connection&&) = delete;

    // Runs one or more statements (simple query protocol); throws on failure.
    void exec(std::string_view sql);
    // Runs one or more statements; returns the result of the last one.
    Result query(std::string_view sql);
    // Runs one statement with text parameters $1, $2, ...; nullopt is SQL NULL.
    Result exec_params(std::string_view sql, const std::vector<std::optional<std::string>>& params);
    // exec_params as a prepared statement of this session: the text travels to the server on
    // the first call (PQprepare), later calls with the same text send only the parameters.
    // At most k_max_prepared stay prepared; past that, all are deallocated and it starts over.
    // `*prepared_now` (when given) tells whether this call sent the text.
    static constexpr std::size_t k_max_prepared = 256;
    Result exec_prepared(const std::string& sql,
                         const std::vector<std::optional<std::string>>& params,
                         bool* prepared_now = nullptr);

    // BEGIN, optionally with modes: begin("ISOLATION LEVEL REPEATABLE READ READ ONLY").
    void begin(std::string_view modes = {});
    void commit();
    void rollback();
    // ROLLBACK when a transaction is open, ignoring every failure. For destructors and cleanup.
    void try_rollback() noexcept;
    bool in_transaction() const noexcept;

    int backend_pid() const noexcept;
    bool is_ok() const noexcept;
    // Server version as an integer, e.g. 150004 for 15.4.
    int server_version() const noexcept;
    const std::string& role() const noexcept { return m_role; }
    // `role (host=... port=... dbname=... user=...)`: for logs, never holds a password.
    const std::string& description() const noexcept { return m_description; }

    // COPY primitives. The text format keeps one row per CopyRow / copy_in_put call.
    //
    // Starts `COPY ... TO STDOUT`. Waits for the server without blocking `stop`: the first
    // rows of a slow query may take long. On stop, cancels and throws "copy interrupted".
    void copy_out_begin(std::string_view copy_sql, const std::atomic<bool>* stop = nullptr);
    // The next row, or nullopt once the COPY has finished successfully. Checks `*stop` on every
    // call and while waiting for the server: when it is set, cancels the COPY and throws
    // Error(ErrorCode::database, "copy interrupted ...", retryable).
    std::optional<CopyRow> copy_out_next(const std::atomic<bool>* stop = nullptr);
    // Cancels a running COPY TO STDOUT and discards what is left of it. No-op when none runs.
    void copy_out_abort() noexcept;

    // Starts `COPY ... FROM STDIN`, watching `stop` while it waits (say, for a table lock).
    void copy_in_begin(std::string_view copy_sql, const std::atomic<bool>* stop = nullptr);
    // Sends data: one or more complete rows in the COPY's format.
    void copy_in_put(std::string_view data);
    // Ends the COPY and returns the number of rows the server stored. Errors found by the server
    // while storing (constraint violations, bad input) surface here.
    std::uint64_t copy_in_end();
    // Makes the running COPY FROM STDIN fail with `reason`, so the server stores none of it.
    // No-op when none runs.
    void copy_in_abort(std::string_view reason) noexcept;

    // Asks the server to cancel the statement running now. Best effort, never throws.
    void cancel_query() noexcept;

    // The raw handle, for libpq calls this class does not wrap.
    PGconn* native_handle() const noexcept { return m_conn.get(); }

  private:
    enum class CopyState { none, out, in };

    Connection(PGconn* conn, std::string role);

    void apply_session_settings();
    Result run(std::string_view sql, std::string_view what);
    void check_no_copy(std::string_view what) const;
    void discard_results() noexcept;
    Result start_copy(std::string_view copy_sql, const std::atomic<bool>* stop);
    void expect_copy(const Result& result, CopyState expected);
    // Waits up to 100 ms for input and reads it; false when the connection failed.
    bool wait_readable() noexcept;
    Error interrupted_error() const;
    [[noreturn]] void fail_copy(const PGresult* result);
    static void receive_notice(void* self, const PGresult* notice) noexcept;

    struct Deleter {
        void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
    };
    std::unique_ptr<PGconn, Deleter> m_conn;
    std::string m_role;
    std::string m_description;
    CopyState m_copy_state = CopyState::none;
    std::unordered_map<std::string, std::string> m_prepared;  // statement text -> name
    std::uint64_t m_prepared_count = 0;
};

// Transaction scope on a Connection: BEGIN on construction, ROLLBACK on destruction unless
// commit() was called. Destruction never throws.
class Transaction {
  public:
    explicit Transaction(Connection& conn, std::string_view modes = {});
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

  private:
    Connection& m_conn;
    bool m_done = false;
};

}  // namespace syncset::db
