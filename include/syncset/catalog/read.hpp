// The catalog reader: the I/O edge around the pure planner. Reads a database's tables, columns,
// indexes and the user types they need into the model of model.hpp, computes a cheap catalog
// fingerprint to skip unchanged polls, and asks the server's parser whether a row filter is valid.
// Every query lives in src/catalog/sql/*.sql. Failures throw syncset::Error (see db/errors.hpp).
#pragma once

#include <pqxx/connection>

#include <optional>
#include <string>
#include <string_view>

#include "syncset/catalog/model.hpp"
#include "syncset/db/connection.hpp"

namespace syncset::catalog {

// Reads every ordinary and partitioned table outside pg_catalog, information_schema, pg_toast*,
// pg_temp* and `state_schema`, in (schema, name) order, with their live columns (attnum order),
// valid indexes (name order) and primary key, plus every user type (enum, domain, standalone
// composite) their columns need, directly, as an array element, through a domain's base type or
// as a composite attribute, transitively, and every sequence in the same schemas with its
// parameters and whether the role may read it. Types come in dependency order: each after the types
// in its depends_on. All reads share one REPEATABLE READ READ ONLY transaction with
// `search_path = pg_catalog`, so type text is schema-qualified and quoted for user types
// (`public.mood`, `"My Schema"."Odd Type"[]`) and bare for built-in ones (`numeric(30,10)`).
// `conn` must have no transaction open.
Catalog read_catalog(pqxx::connection& conn, std::string_view state_schema);

// One query, one short text (32 hex digits): changes whenever anything read_catalog() reads
// changes (tables, columns, indexes, primary keys, user types), not when only data changes.
// Compare with the previous value to skip re-reading an unchanged catalog. Runs over libpq
// (db::Connection), not libpqxx: the daemon sends it every check interval, also while the source
// is going away, and libpqxx 6.4 leaks the result of a query that meets a broken connection.
std::string read_catalog_fingerprint(db::Connection& conn, std::string_view state_schema);

// Asks the server's own parser whether `where` is a valid row filter for `table`, without
// running it: `EXPLAIN SELECT 1 FROM "schema"."table" WHERE (<where>)` is sent as one statement
// over the extended protocol (so text after a `;` cannot run as a second statement) inside a
// READ ONLY transaction that is rolled back. Before that, find_row_filter_shape_problem() rejects
// text that is not one self-contained expression. Returns nullopt when valid, otherwise the
// problem, for a server error its first line: `column "stauts" does not exist`. Throws Error
// only when the check itself cannot be done (connection lost, server shutting down).
std::optional<std::string> check_row_filter(pqxx::connection& conn, const Table& table,
                                            std::string_view where);

// Pure: whether `where` has the shape of one self-contained SQL expression, so it cannot close
// the parenthesis syncset wraps it in and change the query around it (`true) OR (true`), nor
// end the statement. Scans it as PostgreSQL's lexer does: string constants ('...', E'...' with
// backslash escapes, $tag$...$tag$), quoted identifiers and comments (`--`, nested `/* */`)
// are skipped. Returns nullopt when fine, otherwise the problem: empty filter, a `;`, a `)`
// without its `(`, a `(` never closed, or an unterminated string, identifier or comment.
std::optional<std::string> find_row_filter_shape_problem(std::string_view where);

}  // namespace syncset::catalog
