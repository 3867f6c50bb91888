#include "syncset/sequence/sql.hpp"

#include <string_view>

#include "syncset/db/quote.hpp"
#include "syncset/sequence_sql.hpp"

namespace syncset::sequence {

namespace {

std::string qualified(const SequenceName& name) {
    return db::quote_qualified(name.schema, name.name);
}

// `'"schema"."name"'::pg_catalog.regclass`
std::string regclass(const SequenceName& name) {
    return db::quote_literal(qualified(name)) + "::pg_catalog.regclass";
}

std::string bool_text(bool value) {
    return value ? "true" : "false";
}

// One SELECT per sequence, joined by UNION ALL; `extra` goes after the index.
std::string union_of_values(const std::vector<SequenceName>& names, bool with_oid) {
    std::string sql;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) {
            sql += " UNION ALL ";
        }
        sql += "SELECT " + std::to_string(i) + " AS i, ";
        if (with_oid) {
            sql += regclass(names[i]) + "::pg_catalog.oid AS oid, ";
        }
        sql += "last_value, is_called FROM " + qualified(names[i]);
    }
    return sql;
}

}  // namespace

bool is_ahead(const Value& source, const Value& replica, bool descending) noexcept {
    if (source.last_value != replica.last_value) {
        return descending ? source.last_value < replica.last_value
                          : source.last_value > replica.last_value;
    }
    return source.is_called && !replica.is_called;
}

std::string build_read_values(const std::vector<SequenceName>& names) {
    if (names.empty()) {
        return {};
    }
    return union_of_values(names, false) + " ORDER BY i";
}

std::string build_read_replica(const std::vector<SequenceName>& names) {
    if (names.empty()) {
        return {};
    }
    std::string sql(sql::k_read_replica_sequences_sql);
    constexpr std::string_view k_marker = "/* values */";
    const auto at = sql.find(k_marker);
    sql.replace(at, k_marker.size(), union_of_values(names, true));
    return sql;
}

std::string build_lock(const SequenceName& name, const ReplicaSequence& replica) {
    std::string sql = "ALTER SEQUENCE " + qualified(name);
    if (replica.identity) {
        return sql + " CACHE " + std::to_string(replica.cache);
    }
    return sql + " OWNED BY " + replica.owned_by.value_or("NONE");
}

std::string build_advance(const SequenceName& name, const Value& value, bool descending) {
    const std::string last = std::to_string(value.last_value);
    std::string behind = std::string("last_value ") + (descending ? "> " : "< ") + last;
    if (value.is_called) {
        behind = "(" + behind + " OR (last_value = " + last + " AND NOT is_called))";
    }
    return "SELECT pg_catalog.setval(" + regclass(name) + ", " + last + ", " +
           bool_text(value.is_called) + ") FROM " + qualified(name) + " WHERE " + behind;
}

}  // namespace syncset::sequence
