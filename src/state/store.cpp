#include "syncset/state/store.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "state/sql_text.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/error.hpp"
#include "syncset/state_sql.hpp"

namespace syncset::state {

namespace {

// The migrations of the metadata schema, in order: migration N (1-based) brings the schema to
// version N. Add a migration by adding src/state/sql/migration_000N.sql and its entry here.
constexpr std::array k_migrations{
    sql::k_migration_0001_sql, sql::k_migration_0002_sql, sql::k_migration_0003_sql,
    sql::k_migration_0004_sql, sql::k_migration_0005_sql, sql::k_migration_0006_sql,
};

using Params = std::vector<std::optional<std::string>>;

std::string context_for(std::string_view schema) {
    return "metadata schema " + std::string(schema);
}

// Runs `fn`, putting `metadata schema <schema>: ` in front of any Error but the schema-version
// refusal, which already names the schema.
template <typename Fn>
decltype(auto) with_schema_context(std::string_view schema, Fn&& fn) {
    try {
        return std::forward<Fn>(fn)();
    } catch (const Error& error) {
        if (error.code() == ErrorCode::schema) {
            throw;
        }
        throw error.with_context(context_for(schema));
    }
}

template <typename Int>
Int parse_int(std::string_view text, std::string_view what) {
    Int value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        throw Error(ErrorCode::internal,
                    "unexpected " + std::string(what) + " '" + std::string(text) + "'");
    }
    return value;
}

struct Presence {
    bool schema = false;
    bool version_table = false;
};

Presence read_presence(db::Connection& conn, std::string_view schema) {
    const db::Result result =
        conn.exec_params(sql::k_read_schema_presence_sql, {std::string(schema)});
    return {result.value(0, 0) == "t", result.value(0, 1) == "t"};
}

int read_version_row(db::Connection& conn, std::string_view schema) {
    const db::Result result = conn.query(expand_schema(sql::k_read_version_sql, schema));
    return parse_int<int>(result.value(0, 0), "metadata schema version");
}

int read_version(db::Connection& conn, std::string_view schema) {
    const Presence presence = read_presence(conn, schema);
    return presence.version_table ? read_version_row(conn, schema) : 0;
}

void refuse_newer(std::string_view schema, int version) {
    if (version > known_schema_version()) {
        throw Error(ErrorCode::schema,
                    "metadata schema " + std::string(schema) + " is at version " +
                        std::to_string(version) + " but this syncset knows up to " +
                        std::to_string(known_schema_version()) + "; upgrade syncset");
    }
}

void require_transaction(db::Connection& conn, std::string_view function) {
    if (!conn.in_transaction()) {
        throw Error(ErrorCode::internal,
                    std::string(function) + " must run inside the caller's transaction");
    }
}

std::string text_field(const db::Result& result, int row, int column) {
    return std::string(result.value(row, column));
}

std::vector<std::string> array_field(const db::Result& result, int row, int column) {
    auto items = parse_text_array(result.value(row, column));
    if (!items) {
        throw Error(ErrorCode::internal, "unexpected " + std::string(result.column_name(column)) +
                                             " array '" + std::string(result.value(row, column)) +
                                             "'");
    }
    return std::move(*items);
}

TableState table_from_row(const db::Result& result, int row) {
    TableState table;
    table.target_schema = text_field(result, row, 0);
    table.target_name = text_field(result, row, 1);
    table.source_schema = text_field(result, row, 2);
    table.source_name = text_field(result, row, 3);
    table.source_oid = parse_int<std::uint32_t>(result.value(row, 4), "source_oid");
    table.key = array_field(result, row, 5);
    table.indexes = array_field(result, row, 6);
    const auto phase = phase_from_string(result.value(row, 7));
    const auto pending = work_from_string(result.value(row, 8));
    if (!phase || !pending) {
        throw Error(ErrorCode::internal, "table " + table.target_schema + "." + table.target_name +
                                             " has unknown phase '" +
                                             std::string(result.value(row, 7)) + "' or pending '" +
                                             std::string(result.value(row, 8)) + "'");
    }
    table.phase = *phase;
    table.pending = *pending;
    table.stop_reason = text_field(result, row, 9);
    table.fingerprint = text_field(result, row, 10);
    return table;
}

std::vector<TableState> read_tables_in_transaction(db::Connection& conn, std::string_view schema) {
    const db::Result tables = conn.query(expand_schema(sql::k_read_tables_sql, schema));
    const db::Result columns = conn.query(expand_schema(sql::k_read_columns_sql, schema));

    std::vector<TableState> states;
    states.reserve(static_cast<std::size_t>(tables.rows()));
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> by_name;
    for (int row = 0; row < tables.rows(); ++row) {
        states.push_back(table_from_row(tables, row));
        by_name.emplace(std::pair{tables.value(row, 0), tables.value(row, 1)}, states.size() - 1);
    }
    for (int row = 0; row < columns.rows(); ++row) {
        const auto found = by_name.find({columns.value(row, 0), columns.value(row, 1)});
        if (found == by_name.end()) {
            continue;  // the foreign key rules this out
        }
        ColumnState column;
        column.attnum = parse_int<int>(columns.value(row, 2), "attnum");
        column.source_name = text_field(columns, row, 3);
        column.target_name = text_field(columns, row, 4);
        column.type = text_field(columns, row, 5);
        column.config_name = text_field(columns, row, 6);
        states[found->second].columns.push_back(std::move(column));
    }
    return states;
}

bool update_table_row(db::Connection& conn, std::string_view schema, std::string_view sql_text,
                      std::string_view target_schema, std::string_view target_name,
                      std::string_view text) {
    return with_schema_context(schema, [&] {
        const db::Result result = conn.exec_params(
            expand_schema(sql_text, schema),
            {std::string(target_schema), std::string(target_name), std::string(text)});
        return result.affected_rows() > 0;
    });
}

}  // namespace

int known_schema_version() noexcept {
    return static_cast<int>(k_migrations.size());
}

bool schema_exists(db::Connection& conn, std::string_view schema) {
    return with_schema_context(schema, [&] { return read_presence(conn, schema).schema; });
}

int read_schema_version(db::Connection& conn, std::string_view schema) {
    return with_schema_context(schema, [&] { return read_version(conn, schema); });
}

void ensure_schema(db::Connection& conn, std::string_view schema) {
    if (conn.in_transaction()) {
        throw Error(ErrorCode::internal,
                    context_for(schema) + ": ensure_schema must run outside a transaction");
    }
    with_schema_context(schema, [&] {
        // READ COMMITTED, whatever default_transaction_isolation says: every statement after the
        // lock must see what a daemon that held the lock before us committed.
        db::Transaction transaction(conn, "ISOLATION LEVEL READ COMMITTED");
        conn.exec_params(sql::k_lock_schema_sql, {std::string(schema)});
        const Presence presence = read_presence(conn, schema);
        if (!presence.schema) {
            conn.exec(expand_schema(sql::k_create_schema_sql, schema));
        }
        if (!presence.version_table) {
            conn.exec(expand_schema(sql::k_create_version_table_sql, schema));
        }
        const int current = presence.version_table ? read_version_row(conn, schema) : 0;
        refuse_newer(schema, current);
        const std::string insert_version = expand_schema(sql::k_insert_version_sql, schema);
        for (int version = current + 1; version <= known_schema_version(); ++version) {
            conn.exec(expand_schema(k_migrations[static_cast<std::size_t>(version - 1)], schema));
            conn.exec_params(insert_version, {std::to_string(version)});
        }
        transaction.commit();
    });
}

std::vector<TableState> read_tables(db::Connection& conn, std::string_view schema) {
    return with_schema_context(schema, [&] {
        const bool own_transaction = !conn.in_transaction();
        std::optional<db::Transaction> transaction;
        if (own_transaction) {
            transaction.emplace(conn, "ISOLATION LEVEL REPEATABLE READ READ ONLY");
        }
        const int version = read_version(conn, schema);
        refuse_newer(schema, version);
        std::vector<TableState> states;
        if (version > 0) {
            states = read_tables_in_transaction(conn, schema);
        }
        if (transaction) {
            transaction->commit();
        }
        return states;
    });
}

void write_table(db::Connection& conn, std::string_view schema, const TableState& table) {
    with_schema_context(schema, [&] {
        require_transaction(conn, "write_table");
        const Params table_params{
            table.target_schema,
            table.target_name,
            table.source_schema,
            table.source_name,
            std::to_string(table.source_oid),
            build_text_array(table.key),
            build_text_array(table.indexes),
            std::string(to_string(table.phase)),
            std::string(to_string(table.pending)),
            table.stop_reason,
            table.fingerprint,
        };
        conn.exec_params(expand_schema(sql::k_upsert_table_sql, schema), table_params);

        const Params key{table.target_schema, table.target_name};
        conn.exec_params(expand_schema(sql::k_delete_columns_sql, schema), key);
        if (table.columns.empty()) {
            return;
        }
        std::vector<int> attnums;
        std::vector<std::string> source_names;
        std::vector<std::string> target_names;
        std::vector<std::string> types;
        std::vector<std::string> config_names;
        for (const ColumnState& column : table.columns) {
            attnums.push_back(column.attnum);
            source_names.push_back(column.source_name);
            target_names.push_back(column.target_name);
            types.push_back(column.type);
            config_names.push_back(column.config_name);
        }
        conn.exec_params(expand_schema(sql::k_insert_columns_sql, schema),
                         {table.target_schema, table.target_name, build_int_array(attnums),
                          build_text_array(source_names), build_text_array(target_names),
                          build_text_array(types), build_text_array(config_names)});
    });
}

bool write_stop(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                std::string_view target_name, std::string_view reason) {
    return update_table_row(conn, schema, sql::k_update_stop_sql, target_schema, target_name,
                            reason);
}

bool write_error(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                 std::string_view target_name, std::string_view message) {
    return update_table_row(conn, schema, sql::k_update_error_sql, target_schema, target_name,
                            message);
}

}  // namespace syncset::state
