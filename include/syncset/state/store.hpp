// The metadata store on each replica: a schema of syncset's own (default `_syncset`) holding the
// state of every replicated table, with a version and migrations of its own.
//
// Every function takes the raw replica connection that also carries the COPY batches, so that
// state writes commit in the same transaction as the data and DDL they describe, and the name of
// the metadata schema, used as is (any spelling works: it is always quoted).
//
// Layout (migration 1; src/state/sql/migration_0001.sql):
//   <schema>.version  one row per applied migration (version, applied_at)
//   <schema>.tables   per target table: source identity, key, indexes, phase, pending work,
//                     stop reason, fingerprint, and the copy engine's progress (snapshot_position,
//                     cursor, cursor_kind, rows_copied, last_success, last_error, last_error_at)
//   <schema>.columns  per target table (target_schema, target_table) and source attnum: source
//                     name, target name (NULL when not replicated), type, config name
//
// The SQL lives in src/state/sql/*.sql, with psql's `:"schema"` for the schema name (see
// expand_schema in src/state/sql_text.hpp). To change the layout, add migration_000N.sql and
// its line in k_migrations (store.cpp); never edit a released migration.
//
// Failures throw syncset::Error: database errors as translated by src/db, with
// `metadata schema <schema>: ` in front.
#pragma once

#include <string_view>
#include <vector>

#include "syncset/state/model.hpp"

namespace syncset::db {
class Connection;
}

namespace syncset::state {

inline constexpr std::string_view k_default_schema = "_syncset";

// The metadata schema version this syncset creates and understands: its number of migrations.
int known_schema_version() noexcept;

// Whether the schema exists. Reads only the catalogs; creates nothing.
bool schema_exists(db::Connection& conn, std::string_view schema);

// The version of the metadata schema: 0 when the schema or its version table does not exist.
// Creates nothing. May be larger than known_schema_version() (a newer syncset migrated it).
int read_schema_version(db::Connection& conn, std::string_view schema);

// Creates the metadata schema and its tables on first use and applies the migrations this
// syncset knows that it lacks, in order, in one transaction of its own (READ COMMITTED) that
// first takes a transaction advisory lock on the schema name, so daemons starting at once wait
// for each other instead of failing. Idempotent. Must be called outside a transaction
// (Error(ErrorCode::internal) otherwise). Throws Error(ErrorCode::schema) when the stored version
// is newer than known_schema_version(), changing nothing.
void ensure_schema(db::Connection& conn, std::string_view schema);

// Every table's state with its columns (attnum order), tables ordered by target schema and name
// (bytewise). Empty, creating nothing, when the schema does not exist yet (so `plan` can run
// read-only against a fresh replica). Throws Error(ErrorCode::schema) when the schema is newer
// than this syncset. Joins the caller's transaction when one is open; otherwise reads in a
// REPEATABLE READ READ ONLY transaction of its own so tables and columns are consistent.
std::vector<TableState> read_tables(db::Connection& conn, std::string_view schema);

// Upserts the table's row and replaces its columns. Writes only the schema state (every field of
// TableState); the copy progress keeps its values, except that a state whose pending work is
// snapshot or resync resets snapshot_position to NULL, so the copy starts from the first key
// again: do not call it just to save an unchanged state in the middle of a snapshot.
// Runs inside the caller's transaction, which the caller commits together with the DDL and data
// this state describes; it never begins or commits. Error(ErrorCode::internal) when no
// transaction is open. Empty stop_reason and fingerprint are stored as NULL, an empty column
// target_name as NULL (not replicated).
void write_table(db::Connection& conn, std::string_view schema, const TableState& table);

// Stops a table: phase = stopped, stop_reason = last_error = `reason`, last_error_at = now().
// One statement: inside the caller's transaction when one is open, else committed at once (call
// it after rolling back a failed transaction). Returns false when the table has no state row.
bool write_stop(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                std::string_view target_name, std::string_view reason);

// Records a failure that does not stop the table: last_error = `message`, last_error_at = now().
// Transaction behaviour and result as write_stop.
bool write_error(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                 std::string_view target_name, std::string_view message);

}  // namespace syncset::state
