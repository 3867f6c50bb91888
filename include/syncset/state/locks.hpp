// The advisory locks syncset takes on a replica, all in one key space so they can neither
// collide with an application's locks by accident nor with each other:
//
//   pg_advisory_*lock(1398361667, hashtext('<purpose> <identity>'))
//
// 1398361667 is 'SYNC' in ASCII; <purpose> is one of
//   schema   creating or migrating the metadata schema (transaction lock; ensure_schema)
//   migrate  a daemon's schema step on the replica (session lock; MigrationLock)
//   table    one target table's writers: a drift repair (session lock; lock_table) and each
//            copy batch (transaction lock; try_lock_table_batch)
// and <identity> is the quoted metadata schema name, then for `table` the quoted qualified
// target table. Two identities hashing alike only make two jobs take turns, never share a
// table. Locks go with the connection, so a daemon killed mid-job frees its tables. Which
// process copies a table is not decided by a lock but by its claim (claims.hpp).
// The SQL is src/state/sql/*lock*.sql.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

namespace syncset::db {
class Connection;
}

namespace syncset::state {

// Takes the `migrate` lock for the metadata schema, waiting for another daemon's schema step
// to end; releases it on destruction (never throws; the lock goes with a broken session). The
// wait honours the session's lock_timeout (PostgreSQL applies it to advisory locks too): past
// it the constructor throws the retryable Error with SQLSTATE 55P03. The daemon's schema step
// sets one; without it the wait has no bound.
class MigrationLock {
  public:
    MigrationLock(db::Connection& conn, std::string_view schema);
    ~MigrationLock();
    MigrationLock(const MigrationLock&) = delete;
    MigrationLock& operator=(const MigrationLock&) = delete;

  private:
    db::Connection& m_conn;
    std::string m_schema;
};

// Takes a target table's session lock without waiting: false when another session holds it,
// or a copy batch is writing the table (try_lock_table_batch).
bool try_lock_table(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                    std::string_view target_name);
void unlock_table(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                  std::string_view target_name);
// For a copy batch, just after its transaction began: holds the table's lock until the
// transaction ends, without waiting. False while a drift repair holds it (the batch then
// writes nothing and waits for its next poll).
bool try_lock_table_batch(db::Connection& conn, std::string_view schema,
                          std::string_view target_schema, std::string_view target_name);
// try_lock_table until it succeeds, `timeout` passes or `*stop` is set; true when held. For a
// writer beside the copy loop (the drift repair): the loop's batches are kept off the table
// meanwhile.
bool lock_table(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                std::string_view target_name, std::chrono::milliseconds timeout,
                const std::atomic<bool>* stop);

}  // namespace syncset::state
