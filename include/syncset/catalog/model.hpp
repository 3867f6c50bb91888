// What syncset knows about a database's schema: the tables it may copy and the user types
// their columns need. Read by catalog::read_* (the I/O edge); consumed by the pure planner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace syncset::catalog {

struct Column {
    int attnum = 0;  // pg_attribute.attnum: stable across renames
    std::string name;
    std::string type;  // format_type(atttypid, atttypmod) read with search_path=pg_catalog, so
                       // user types come schema-qualified and quoted: `public.mood`, `"S".t[]`
    std::uint32_t type_oid = 0;
    bool not_null = false;
    bool generated = false;  // GENERATED ALWAYS AS (...) STORED: copied as a plain value
    bool identity = false;   // GENERATED ... AS IDENTITY: copied as a plain value
    friend bool operator==(const Column&, const Column&) = default;
};

struct Index {
    std::string name;
    std::vector<std::string> columns;  // key columns in order
    bool unique = false;
    bool primary = false;
    std::string method = "btree";
    // Expression or partial indexes cannot be mapped to replicated columns: never copied.
    bool expression_or_partial = false;
    friend bool operator==(const Index&, const Index&) = default;
};

struct Table {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
    bool partitioned = false;     // relkind 'p': read through the parent, one plain replica table
    bool is_partition = false;    // a partition: never matched by a glob on its own
    std::vector<Column> columns;  // live columns in attnum order
    std::vector<std::string> primary_key;  // column names in key order; empty without one
    std::vector<Index> indexes;

    const Column* column(std::string_view column_name) const noexcept;
    const Column* column_by_attnum(int attnum) const noexcept;
};

// A user-defined type that replicated columns depend on, recreated on the replica under the
// same schema and name so column type text stays valid there.
struct UserType {
    enum class Kind { enum_type, domain, composite };
    std::uint32_t oid = 0;
    std::uint32_t array_oid = 0;  // pg_type.typarray: the type of a `name[]` column
    std::string schema;
    std::string name;
    Kind kind = Kind::enum_type;
    std::vector<std::string> labels;  // enum labels in sort order
    std::string base_type;            // domain: base type as format_type text
    bool not_null = false;            // domain
    std::vector<std::string> checks;  // domain: `CHECK (...)` as pg_get_constraintdef gives it
    std::vector<std::pair<std::string, std::string>> attributes;  // composite: name, type
    std::vector<std::uint32_t> depends_on;  // oids of user types this one needs first
    friend bool operator==(const UserType&, const UserType&) = default;
};

// A sequence (relkind 'S') and its parameters, as pg_sequence holds them.
struct Sequence {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
    std::string type = "bigint";  // smallint, integer or bigint
    std::int64_t start = 1;
    std::int64_t increment = 1;
    std::int64_t min = 1;
    std::int64_t max = 0;
    std::int64_t cache = 1;
    bool cycle = false;
    // The reading role may SELECT it (what reading last_value and is_called needs).
    bool readable = true;
    friend bool operator==(const Sequence&, const Sequence&) = default;
};

struct Catalog {
    std::vector<Table> tables;
    std::vector<UserType> types;
    std::vector<Sequence> sequences{};  // in (schema, name) order; `{}`: `Catalog{tables, types}`

    const Table* find_table(std::string_view schema, std::string_view name) const noexcept;
    const Table* find_table(std::uint32_t oid) const noexcept;
    const UserType* find_type(std::string_view schema, std::string_view name) const noexcept;
    const UserType* find_type(std::uint32_t oid) const noexcept;
    const Sequence* find_sequence(std::string_view schema, std::string_view name) const noexcept;
};

// Glob match of `*` (any run) and `?` (one character) against a whole name.
bool glob_match(std::string_view pattern, std::string_view name) noexcept;

}  // namespace syncset::catalog
