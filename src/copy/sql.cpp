#include "syncset/copy/sql.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"

namespace syncset::copy {

namespace {

using db::quote_ident;
using db::quote_literal;

constexpr std::string_view k_keep_column = "_syncset_keep";

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            out += separator;
        }
        out += parts[i];
    }
    return out;
}

std::string literal(const std::string& value, const std::string& type) {
    return quote_literal(value) + "::" + type;
}

std::vector<std::string> key_sources(const CopySpec& spec) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < spec.key_count; ++i) {
        out.push_back(quote_ident(spec.columns[i].source));
    }
    return out;
}

std::vector<std::string> key_targets(const CopySpec& spec, std::string_view prefix) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < spec.key_count; ++i) {
        out.push_back(std::string(prefix) + quote_ident(spec.columns[i].target));
    }
    return out;
}

std::vector<std::string> key_literals(const CopySpec& spec, const std::vector<std::string>& key) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < spec.key_count && i < key.size(); ++i) {
        out.push_back(literal(key[i], spec.columns[i].type));
    }
    return out;
}

std::vector<std::string> target_columns(const CopySpec& spec, std::string_view prefix = "") {
    std::vector<std::string> out;
    for (const auto& c : spec.columns) {
        out.push_back(std::string(prefix) + quote_ident(c.target));
    }
    return out;
}

// The row filter as the source evaluates it: `where` and not soft-deleted.
std::optional<std::string> row_filter(const CopySpec& spec) {
    std::vector<std::string> parts;
    if (spec.where) {
        parts.push_back("(" + *spec.where + ")");
    }
    if (spec.soft_delete) {
        parts.push_back(quote_ident(*spec.soft_delete) + " IS NULL");
    }
    if (parts.empty()) {
        return std::nullopt;
    }
    return join(parts, " AND ");
}

// Plain column list; with a keep flag, non-key columns of rows outside the filter are sent as
// NULL so their values never leave the source.
std::string select_list(const CopySpec& spec, bool with_keep) {
    std::optional<std::string> filter = row_filter(spec);
    std::string keep = filter ? "COALESCE(" + *filter + ", false)" : "true";
    std::vector<std::string> items;
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
        std::string column = quote_ident(spec.columns[i].source);
        bool exposed = i < spec.key_count || (spec.cursor_index && *spec.cursor_index == i);
        items.push_back(with_keep && filter && !exposed
                            ? "CASE WHEN " + keep + " THEN " + column + " END"
                            : column);
    }
    if (with_keep) {
        items.push_back(keep);
    }
    return join(items, ", ");
}

std::string copy_out(const std::string& select) {
    return "COPY (" + select + ") TO STDOUT";
}

std::string where_clause(const std::vector<std::string>& conditions) {
    return conditions.empty() ? "" : " WHERE " + join(conditions, " AND ");
}

}  // namespace

bool CopySpec::full_refresh() const noexcept {
    return cursor == ChangeTracking::none || mode == config::Mode::mirror;
}

bool CopySpec::cursor_is_instant() const noexcept {
    return cursor == ChangeTracking::time &&
           cursor_type.find("with time zone") != std::string::npos &&
           cursor_type.find("without") == std::string::npos;
}

bool CopySpec::needs_keep_flag() const noexcept {
    return (where || soft_delete) && !full_refresh();
}

CopySpec build_copy_spec(const plan::TablePlan& plan) {
    const config::TableSpec& table = *plan.spec;
    CopySpec spec;
    spec.source_table = db::quote_qualified(plan.source_schema, plan.source_name);
    spec.target_table = db::quote_qualified(plan.target_schema, plan.target_name);

    spec.mode = table.mode;
    spec.where = table.where;
    spec.soft_delete = table.soft_delete;
    spec.batch_rows = table.batch_rows;
    spec.snapshot_chunk_rows = table.snapshot_chunk_rows;

    auto add = [&](const plan::ColumnMap& c) {
        spec.columns.push_back({c.source_name, c.target_name, c.type});
    };
    for (const auto& key : plan.key_source) {
        auto it = std::find_if(plan.columns.begin(), plan.columns.end(),
                               [&](const plan::ColumnMap& c) { return c.source_name == key; });
        if (it != plan.columns.end()) {
            add(*it);
        }
    }
    spec.key_count = spec.columns.size();

    switch (table.cursor.kind) {
        case config::CursorKind::xmin:
            spec.cursor = ChangeTracking::xmin;
            break;
        case config::CursorKind::none:
            spec.cursor = ChangeTracking::none;
            break;
        case config::CursorKind::column: {
            auto it = std::find_if(
                plan.columns.begin(), plan.columns.end(),
                [&](const plan::ColumnMap& c) { return c.source_name == table.cursor.column; });
            if (it == plan.columns.end()) {
                throw Error(ErrorCode::schema,
                            "cursor column '" + table.cursor.column + "' of " + spec.source_table +
                                " is not copied",
                            false, "the cursor column must be among the selected columns");
            }
            // Columns set from the database clock take the open-transaction bound; anything
            // else (ids from sequences, numbers, text) the wait for open transactions.
            const bool is_timestamp = it->type.rfind("timestamp", 0) == 0;
            spec.cursor = is_timestamp || it->type == "date" ? ChangeTracking::time
                                                             : ChangeTracking::sequence;
            spec.cursor_type = it->type;
            auto in_key =
                std::find_if(spec.columns.begin(), spec.columns.end(),
                             [&](const CopyColumn& c) { return c.source == it->source_name; });
            if (in_key != spec.columns.end()) {
                spec.cursor_index = static_cast<std::size_t>(in_key - spec.columns.begin());
            } else {
                spec.cursor_index = spec.columns.size();
                add(*it);
            }
            break;
        }
    }
    if (spec.mode == config::Mode::mirror) {
        spec.cursor = ChangeTracking::none;
        spec.cursor_index.reset();
    }
    for (const auto& c : plan.columns) {
        bool present = std::any_of(spec.columns.begin(), spec.columns.end(),
                                   [&](const CopyColumn& s) { return s.source == c.source_name; });
        if (!present) {
            add(c);
        }
    }
    // The stage is created once per session and shape: its name carries a hash of the target
    // and its columns, so a schema change gets a new stage instead of a stale one.
    std::string shape = spec.target_table;
    for (const auto& c : spec.columns) {
        shape += "\n" + c.target + " " + c.type;
    }
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(XXH3_64bits(shape.data(), shape.size())));
    spec.stage_table = "pg_temp." + quote_ident("syncset_stage_" + std::string(hash));
    return spec;
}

std::string build_snapshot_copy(const CopySpec& spec, const std::vector<std::string>& after_key) {
    std::vector<std::string> conditions;
    if (auto filter = row_filter(spec)) {
        conditions.push_back(*filter);
    }
    std::string order;
    std::string limit;
    if (spec.key_count > 0) {
        if (!after_key.empty()) {
            conditions.push_back("(" + join(key_sources(spec), ", ") + ") > (" +
                                 join(key_literals(spec, after_key), ", ") + ")");
        }
        order = " ORDER BY " + join(key_sources(spec), ", ");
        limit = " LIMIT " + std::to_string(spec.snapshot_chunk_rows);
    }
    return copy_out("SELECT " + select_list(spec, false) + " FROM " + spec.source_table +
                    where_clause(conditions) + order + limit);
}

std::string build_row_count(const CopySpec& spec) {
    std::vector<std::string> conditions;
    if (auto filter = row_filter(spec)) {
        conditions.push_back(*filter);
    }
    return "SELECT count(*) FROM " + spec.source_table + where_clause(conditions);
}

std::string build_incremental_copy(const CopySpec& spec, const std::optional<Position>& from,
                                   const std::optional<Bound>& bound) {
    const CopyColumn& cursor = spec.columns.at(spec.cursor_index.value());
    std::string cursor_column = quote_ident(cursor.source);
    std::vector<std::string> order_columns{cursor_column};
    std::vector<std::string> keys = key_sources(spec);
    for (const auto& k : keys) {
        if (k != cursor_column) {
            order_columns.push_back(k);
        }
    }
    std::vector<std::string> conditions;
    if (from) {
        if (from->key.empty()) {
            conditions.push_back(cursor_column + " >= " + literal(from->cursor, cursor.type));
        } else {
            std::vector<std::string> values{literal(from->cursor, cursor.type)};
            for (std::size_t i = 0; i < spec.key_count; ++i) {
                if (quote_ident(spec.columns[i].source) != cursor_column) {
                    values.push_back(literal(from->key.at(i), spec.columns[i].type));
                }
            }
            conditions.push_back("(" + join(order_columns, ", ") + ") > (" + join(values, ", ") +
                                 ")");
        }
    } else {
        conditions.push_back(cursor_column + " IS NOT NULL");
    }
    if (bound) {
        conditions.push_back(cursor_column + (bound->inclusive ? " <= " : " < ") +
                             literal(bound->value, cursor.type));
    }
    return copy_out("SELECT " + select_list(spec, spec.needs_keep_flag()) + " FROM " +
                    spec.source_table + where_clause(conditions) + " ORDER BY " +
                    join(order_columns, ", ") + " LIMIT " + std::to_string(spec.batch_rows));
}

std::string build_xmin_changed_since(std::int64_t from_xid) {
    // xmin >= from_xid, exactly: age() counts back from the same "now" for both sides, so
    // age(xmin) <= age(from) is that comparison in 32-bit xid space (a frozen xmin's age is
    // the largest there is). It holds for distances under 2^31; a position older than that
    // reads every row. The snapshot is read once per statement (an InitPlan), not per row.
    const auto low_32 = static_cast<std::uint64_t>(from_xid) & 0xFFFFFFFFULL;
    return "(CASE WHEN (SELECT pg_snapshot_xmax(pg_current_snapshot()))::text::bigint - " +
           std::to_string(from_xid) + " > 2147483647 THEN true ELSE age(xmin) <= age('" +
           std::to_string(low_32) + "'::xid) END)";
}

std::string build_xmin_copy(const CopySpec& spec, std::int64_t from_xid,
                            const std::vector<std::string>& after_key) {
    std::vector<std::string> conditions{build_xmin_changed_since(from_xid)};
    if (!after_key.empty()) {
        conditions.push_back("(" + join(key_sources(spec), ", ") + ") > (" +
                             join(key_literals(spec, after_key), ", ") + ")");
    }
    return copy_out("SELECT " + select_list(spec, spec.needs_keep_flag()) + " FROM " +
                    spec.source_table + where_clause(conditions) + " ORDER BY " +
                    join(key_sources(spec), ", ") + " LIMIT " + std::to_string(spec.batch_rows));
}

std::string build_max_cursor(const CopySpec& spec) {
    return "SELECT max(" + quote_ident(spec.columns.at(spec.cursor_index.value()).source) +
           ")::text FROM " + spec.source_table;
}

std::string build_full_copy(const CopySpec& spec) {
    std::vector<std::string> conditions;
    if (auto filter = row_filter(spec)) {
        conditions.push_back(*filter);
    }
    return copy_out("SELECT " + select_list(spec, false) + " FROM " + spec.source_table +
                    where_clause(conditions));
}

std::string build_copy_in(const CopySpec& spec, bool into_stage) {
    std::vector<std::string> columns = target_columns(spec);
    if (into_stage && spec.needs_keep_flag()) {
        columns.push_back(quote_ident(k_keep_column));
    }
    return "COPY " + (into_stage ? spec.stage_table : spec.target_table) + " (" +
           join(columns, ", ") + ") FROM STDIN";
}

std::string build_create_stage(const CopySpec& spec) {
    return "CREATE TEMP TABLE IF NOT EXISTS " + spec.stage_table +
           " ON COMMIT DELETE ROWS AS SELECT " + join(target_columns(spec), ", ") + ", true AS " +
           quote_ident(k_keep_column) + " FROM " + spec.target_table + " WITH NO DATA";
}

std::string build_upsert(const CopySpec& spec) {
    std::vector<std::string> columns = target_columns(spec);
    std::string sql = "INSERT INTO " + spec.target_table + " (" + join(columns, ", ") +
                      ") SELECT " + join(columns, ", ") + " FROM " + spec.stage_table;
    if (spec.needs_keep_flag()) {
        sql += " WHERE " + quote_ident(k_keep_column);
    }
    if (spec.key_count == 0) {
        return sql;
    }
    sql += " ON CONFLICT (" + join(key_targets(spec, ""), ", ") + ")";
    std::vector<std::string> updates;
    std::vector<std::string> current;
    std::vector<std::string> incoming;
    for (std::size_t i = spec.key_count; i < spec.columns.size(); ++i) {
        std::string c = quote_ident(spec.columns[i].target);
        updates.push_back(c + " = EXCLUDED." + c);
        current.push_back(spec.target_table + "." + c);
        incoming.push_back("EXCLUDED." + c);
    }
    if (spec.mode == config::Mode::insert || updates.empty()) {
        return sql + " DO NOTHING";
    }
    // Compared as row text: every type has a text form, not every type has equality (json).
    // Unchanged rows are skipped, so re-reading a row costs no write.
    return sql + " DO UPDATE SET " + join(updates, ", ") + " WHERE ROW(" + join(current, ", ") +
           ")::text IS DISTINCT FROM ROW(" + join(incoming, ", ") + ")::text";
}

std::string build_filter_delete(const CopySpec& spec) {
    return "DELETE FROM " + spec.target_table + " AS t USING " + spec.stage_table +
           " AS s WHERE NOT s." + quote_ident(k_keep_column) + " AND (" +
           join(key_targets(spec, "t."), ", ") + ") = (" + join(key_targets(spec, "s."), ", ") +
           ")";
}

std::string build_mirror_delete(const CopySpec& spec) {
    if (spec.key_count == 0) {
        // Without a key a row is its whole value: replace the table's content.
        return "DELETE FROM " + spec.target_table;
    }
    return "DELETE FROM " + spec.target_table + " AS t WHERE NOT EXISTS (SELECT 1 FROM " +
           spec.stage_table + " AS s WHERE (" + join(key_targets(spec, "s."), ", ") + ") = (" +
           join(key_targets(spec, "t."), ", ") + "))";
}

}  // namespace syncset::copy
