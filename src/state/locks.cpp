#include "syncset/state/locks.hpp"

#include <string>
#include <thread>

#include "syncset/db/connection.hpp"
#include "syncset/error.hpp"
#include "syncset/state_sql.hpp"

namespace syncset::state {

MigrationLock::MigrationLock(db::Connection& conn, std::string_view schema)
    : m_conn(conn), m_schema(schema) {
    m_conn.exec_params(sql::k_lock_migration_sql, {m_schema});
}

MigrationLock::~MigrationLock() {
    try {
        if (m_conn.is_ok()) {
            m_conn.exec_params(sql::k_unlock_migration_sql, {m_schema});
        }
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the lock goes with the session
    }
}

bool try_lock_table(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                    std::string_view target_name) {
    db::Result r = conn.exec_params(
        sql::k_try_lock_table_sql,
        {std::string(schema), std::string(target_schema), std::string(target_name)});
    return r.value(0, 0) == "true";
}

bool try_lock_table_batch(db::Connection& conn, std::string_view schema,
                          std::string_view target_schema, std::string_view target_name) {
    db::Result r = conn.exec_params(
        sql::k_try_lock_table_batch_sql,
        {std::string(schema), std::string(target_schema), std::string(target_name)});
    return r.value(0, 0) == "true";
}

void unlock_table(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                  std::string_view target_name) {
    conn.exec_params(sql::k_unlock_table_sql,
                     {std::string(schema), std::string(target_schema), std::string(target_name)});
}

bool lock_table(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                std::string_view target_name, std::chrono::milliseconds timeout,
                const std::atomic<bool>* stop) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!try_lock_table(conn, schema, target_schema, target_name)) {
        if (std::chrono::steady_clock::now() >= deadline || (stop != nullptr && *stop)) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

}  // namespace syncset::state
