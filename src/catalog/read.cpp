#include "syncset/catalog/read.hpp"

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "syncset/catalog_sql.hpp"
#include "syncset/db/pqxx_connection.hpp"
#include "syncset/error.hpp"

namespace syncset::catalog {

namespace {

using ReadTransaction = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

std::uint32_t parse_oid(std::string_view text) {
    std::uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) {
        throw Error(ErrorCode::internal, "read catalog: bad oid `" + std::string(text) + "`");
    }
    return value;
}

// The elements of a one-dimensional array field. A NULL element is an error: none of our
// queries produce one.
std::vector<std::string> text_array(const pqxx::field& field) {
    std::vector<std::string> values;
    auto parser = field.as_array();
    for (auto [what, value] = parser.get_next(); what != pqxx::array_parser::done;
         std::tie(what, value) = parser.get_next()) {
        if (what == pqxx::array_parser::string_value) {
            values.push_back(std::move(value));
        } else if (what == pqxx::array_parser::null_value) {
            throw Error(ErrorCode::internal,
                        std::string("read catalog: unexpected NULL in ") + field.name());
        }
    }
    return values;
}

std::vector<std::uint32_t> oid_array(const pqxx::field& field) {
    std::vector<std::uint32_t> oids;
    for (const auto& text : text_array(field)) {
        oids.push_back(parse_oid(text));
    }
    return oids;
}

std::string oid_array_literal(const std::vector<Table>& tables) {
    std::string literal = "{";
    for (const auto& table : tables) {
        if (literal.size() > 1) {
            literal += ',';
        }
        literal += std::to_string(table.oid);
    }
    literal += '}';
    return literal;
}

std::uint32_t oid_of(const pqxx::field& field) {
    return parse_oid(field.c_str());
}

std::vector<Table> read_tables(ReadTransaction& tx, std::string_view state_schema) {
    std::vector<Table> tables;
    for (const auto& row :
         tx.exec_params(std::string(sql::k_tables_sql), std::string(state_schema))) {
        Table table;
        table.oid = oid_of(row["oid"]);
        table.schema = row["nspname"].as<std::string>();
        table.name = row["relname"].as<std::string>();
        table.partitioned = row["partitioned"].as<bool>();
        table.is_partition = row["is_partition"].as<bool>();
        tables.push_back(std::move(table));
    }
    return tables;
}

void read_columns(ReadTransaction& tx, const std::string& table_oids,
                  std::map<std::uint32_t, Table*>& by_oid) {
    for (const auto& row : tx.exec_params(std::string(sql::k_columns_sql), table_oids)) {
        Column column;
        column.attnum = row["attnum"].as<int>();
        column.name = row["attname"].as<std::string>();
        column.type = row["type"].as<std::string>();
        column.type_oid = oid_of(row["atttypid"]);
        column.not_null = row["attnotnull"].as<bool>();
        column.generated = row["generated"].as<bool>();
        column.identity = row["identity"].as<bool>();
        by_oid.at(oid_of(row["attrelid"]))->columns.push_back(std::move(column));
    }
}

void read_indexes(ReadTransaction& tx, const std::string& table_oids,
                  std::map<std::uint32_t, Table*>& by_oid) {
    for (const auto& row : tx.exec_params(std::string(sql::k_indexes_sql), table_oids)) {
        Index index;
        index.name = row["relname"].as<std::string>();
        index.columns = text_array(row["columns"]);
        index.unique = row["indisunique"].as<bool>();
        index.primary = row["indisprimary"].as<bool>();
        index.method = row["method"].as<std::string>();
        index.expression_or_partial = row["expression_or_partial"].as<bool>();
        Table& table = *by_oid.at(oid_of(row["indrelid"]));
        if (index.primary) {
            table.primary_key = index.columns;
        }
        table.indexes.push_back(std::move(index));
    }
}

UserType::Kind kind_of(std::string_view typtype) {
    if (typtype == "e") {
        return UserType::Kind::enum_type;
    }
    if (typtype == "d") {
        return UserType::Kind::domain;
    }
    return UserType::Kind::composite;
}

// Every type the tables need, with what each needs in turn; keeps the user types, sets their
// depends_on to the user types they reach directly or through non-user types (an enum's array
// type, a table's row type), and orders them so every type follows its dependencies.
std::vector<UserType> read_types(ReadTransaction& tx, const std::string& table_oids) {
    std::map<std::uint32_t, std::vector<std::uint32_t>> needs;
    std::map<std::uint32_t, UserType> user;
    std::vector<std::uint32_t> order;  // user types in (schema, name) order
    for (const auto& row : tx.exec_params(std::string(sql::k_types_sql), table_oids)) {
        const std::uint32_t oid = oid_of(row["oid"]);
        needs[oid] = oid_array(row["needs"]);
        if (!row["is_user"].as<bool>()) {
            continue;
        }
        UserType type;
        type.oid = oid;
        type.array_oid = oid_of(row["typarray"]);
        type.schema = row["nspname"].as<std::string>();
        type.name = row["typname"].as<std::string>();
        type.kind = kind_of(row["typtype"].c_str());
        type.labels = text_array(row["labels"]);
        type.base_type =
            row["base_type"].is_null() ? std::string{} : row["base_type"].as<std::string>();
        type.not_null = row["not_null"].as<bool>();
        type.checks = text_array(row["checks"]);
        auto names = text_array(row["attribute_names"]);
        auto types = text_array(row["attribute_types"]);
        for (std::size_t i = 0; i < names.size() && i < types.size(); ++i) {
            type.attributes.emplace_back(std::move(names[i]), std::move(types[i]));
        }
        order.push_back(oid);
        user.emplace(oid, std::move(type));
    }

    for (auto& [oid, type] : user) {
        std::set<std::uint32_t> seen{oid};
        std::set<std::uint32_t> found;
        std::vector<std::uint32_t> pending = needs[oid];
        while (!pending.empty()) {
            const std::uint32_t next = pending.back();
            pending.pop_back();
            if (!seen.insert(next).second) {
                continue;
            }
            if (user.contains(next)) {
                found.insert(next);
            } else if (const auto it = needs.find(next); it != needs.end()) {
                pending.insert(pending.end(), it->second.begin(), it->second.end());
            }
        }
        type.depends_on.assign(found.begin(), found.end());
    }

    // Depth-first, dependencies first; ties keep (schema, name) order. Types cannot depend on
    // each other in a cycle (PostgreSQL forbids it), but stay safe if they did.
    std::vector<UserType> sorted;
    std::set<std::uint32_t> placed;
    std::set<std::uint32_t> visiting;
    std::function<void(std::uint32_t)> place = [&](std::uint32_t oid) {
        if (placed.contains(oid) || !visiting.insert(oid).second) {
            return;
        }
        for (const std::uint32_t dependency : user.at(oid).depends_on) {
            place(dependency);
        }
        placed.insert(oid);
        sorted.push_back(user.at(oid));
    };
    for (const std::uint32_t oid : order) {
        place(oid);
    }
    return sorted;
}

std::int64_t int64_of(const pqxx::field& field) {
    return field.as<std::int64_t>();
}

std::vector<Sequence> read_sequences(ReadTransaction& tx, std::string_view state_schema) {
    std::vector<Sequence> sequences;
    for (const auto& row :
         tx.exec_params(std::string(sql::k_sequences_sql), std::string(state_schema))) {
        Sequence sequence;
        sequence.oid = oid_of(row["oid"]);
        sequence.schema = row["nspname"].as<std::string>();
        sequence.name = row["relname"].as<std::string>();
        sequence.type = row["type"].as<std::string>();
        sequence.start = int64_of(row["seqstart"]);
        sequence.increment = int64_of(row["seqincrement"]);
        sequence.min = int64_of(row["seqmin"]);
        sequence.max = int64_of(row["seqmax"]);
        sequence.cache = int64_of(row["seqcache"]);
        sequence.cycle = row["seqcycle"].as<bool>();
        sequence.readable = row["readable"].as<bool>();
        sequences.push_back(std::move(sequence));
    }
    return sequences;
}

// A read-only snapshot transaction whose search_path makes format_type() qualify user types.
void pin_catalog_search_path(ReadTransaction& tx) {
    tx.exec0("SET LOCAL search_path = pg_catalog");
}

}  // namespace

Catalog read_catalog(pqxx::connection& conn, std::string_view state_schema) {
    return db::with_pqxx_errors("read catalog", [&] {
        ReadTransaction tx(conn, "syncset read catalog");
        pin_catalog_search_path(tx);
        Catalog catalog;
        catalog.tables = read_tables(tx, state_schema);
        std::map<std::uint32_t, Table*> by_oid;
        for (auto& table : catalog.tables) {
            by_oid.emplace(table.oid, &table);
        }
        const std::string table_oids = oid_array_literal(catalog.tables);
        read_columns(tx, table_oids, by_oid);
        read_indexes(tx, table_oids, by_oid);
        catalog.types = read_types(tx, table_oids);
        catalog.sequences = read_sequences(tx, state_schema);
        tx.commit();
        return catalog;
    });
}

std::string read_catalog_fingerprint(db::Connection& conn, std::string_view state_schema) {
    // One statement outside a transaction block: a single round trip.
    const db::Result result = conn.exec_params(sql::k_fingerprint_sql, {std::string(state_schema)});
    if (result.rows() != 1 || result.is_null(0, 0)) {
        throw Error(ErrorCode::database, "read catalog fingerprint: expected one value, got " +
                                             std::to_string(result.rows()) + " rows");
    }
    return std::string(result.value(0, 0));
}

}  // namespace syncset::catalog
