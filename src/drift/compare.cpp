#include "syncset/drift/compare.hpp"

#include <xxhash.h>

#include <algorithm>
#include <unordered_map>

#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"
#include "syncset/text.hpp"

namespace syncset::drift {

namespace {

using db::quote_ident;
using db::quote_literal;

struct KeyHasher {
    std::size_t operator()(const std::vector<std::string>& key) const noexcept {
        XXH64_hash_t h = 0;
        for (const auto& part : key) {
            h = XXH3_64bits_withSeed(part.data(), part.size(), h + part.size());
        }
        return static_cast<std::size_t>(h);
    }
};

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        out += (i > 0 ? std::string(separator) : std::string()) + parts[i];
    }
    return out;
}

// Column names as one side calls them, in copy order.
std::vector<std::string> names(const copy::CopySpec& spec, Side side, std::size_t count) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < count && i < spec.columns.size(); ++i) {
        out.push_back(
            quote_ident(side == Side::source ? spec.columns[i].source : spec.columns[i].target));
    }
    return out;
}

std::string table(const copy::CopySpec& spec, Side side) {
    return side == Side::source ? spec.source_table : spec.target_table;
}

std::string key_tuple(const copy::CopySpec& spec, Side side) {
    return "(" + join(names(spec, side, spec.key_count), ", ") + ")";
}

// A key as a row of values cast to the key columns' types: quoted literals when `params` is
// null (COPY takes no parameters), else parameters $n appended to `*params`.
std::string key_value(const copy::CopySpec& spec, const std::vector<std::string>& key,
                      std::vector<std::string>* params) {
    std::vector<std::string> values;
    for (std::size_t i = 0; i < spec.key_count && i < key.size(); ++i) {
        if (params == nullptr) {
            values.push_back(quote_literal(key[i]) + "::" + spec.columns[i].type);
        } else {
            params->push_back(key[i]);
            std::string value = "$";
            value += std::to_string(params->size());
            value += "::";
            value += spec.columns[i].type;
            values.push_back(std::move(value));
        }
    }
    std::string row = "(";
    row += join(values, ", ");
    row += ")";
    return row;
}

// The row hash: the text of the selected columns under the pinned session settings, so the
// same values give the same text on both servers.
std::string row_hash(const copy::CopySpec& spec, Side side) {
    return "hashtextextended(ROW(" + join(names(spec, side, spec.columns.size()), ", ") +
           ")::text, 0)";
}

// As the row lists carry it: hex is 16 characters at most, decimal up to 20 and a sign.
std::string row_hash_hex(const copy::CopySpec& spec, Side side) {
    return "to_hex(" + row_hash(spec, side) + ")";
}

// The source's row filter (`where` and not soft-deleted) as conditions.
std::vector<std::string> filter_conditions(const copy::CopySpec& spec) {
    std::vector<std::string> out;
    if (spec.where) {
        out.push_back("(" + *spec.where + ")");
    }
    if (spec.soft_delete) {
        out.push_back(quote_ident(*spec.soft_delete) + " IS NULL");
    }
    return out;
}

std::vector<std::string> range_conditions(const copy::CopySpec& spec, Side side,
                                          const KeyRange& range, std::vector<std::string>* params) {
    std::vector<std::string> out;
    if (!range.lower.empty()) {
        out.push_back(key_tuple(spec, side) + " >= " + key_value(spec, range.lower, params));
    }
    if (!range.upper.empty()) {
        out.push_back(key_tuple(spec, side) + " < " + key_value(spec, range.upper, params));
    }
    return out;
}

// A range's rows as a side selects them: the source applies the row filter.
std::vector<std::string> conditions(const copy::CopySpec& spec, Side side, const KeyRange& range,
                                    std::vector<std::string>* params) {
    std::vector<std::string> out;
    if (side == Side::source) {
        out = filter_conditions(spec);
    }
    for (auto& c : range_conditions(spec, side, range, params)) {
        out.push_back(std::move(c));
    }
    return out;
}

std::string where_clause(const std::vector<std::string>& parts) {
    return parts.empty() ? "" : " WHERE " + join(parts, " AND ");
}

// Key columns as text, under names of their own: an ORDER BY on the key must not resolve to
// these text outputs, or keys would come back in text order (10 before 9).
std::string key_texts(const copy::CopySpec& spec, Side side) {
    std::vector<std::string> out;
    std::size_t i = 0;
    for (const auto& n : names(spec, side, spec.key_count)) {
        out.push_back(n + "::text AS syncset_k" + std::to_string(i++));
    }
    return join(out, ", ");
}

std::string key_list(const copy::CopySpec& spec, const std::vector<std::vector<std::string>>& keys,
                     std::vector<std::string>* params) {
    std::vector<std::string> values;
    values.reserve(keys.size());
    for (const auto& key : keys) {
        values.push_back(key_value(spec, key, params));
    }
    std::string row = "(";
    row += join(values, ", ");
    row += ")";
    return row;
}

// The piece of `boundaries` each row falls in, 0 to boundaries.size(). width_bucket is a
// binary search over the boundaries, a third cheaper per row than a CASE of row comparisons; a
// composite key keeps the CASE, whose tuple comparisons are those of the range conditions.
std::string piece_of_row(const copy::CopySpec& spec, Side side,
                         const std::vector<std::vector<std::string>>& boundaries,
                         std::vector<std::string>& params) {
    if (boundaries.empty()) {
        return "0";
    }
    if (spec.key_count == 1) {
        std::vector<std::string> bounds;
        bounds.reserve(boundaries.size());
        for (const auto& b : boundaries) {
            bounds.push_back(key_value(spec, b, &params));
        }
        return "width_bucket(" + names(spec, side, 1).front() + ", ARRAY[" + join(bounds, ", ") +
               "])";
    }
    std::string bucket = "CASE";
    for (std::size_t i = 0; i < boundaries.size(); ++i) {
        bucket += " WHEN " + key_tuple(spec, side) + " < " +
                  key_value(spec, boundaries[i], &params) + " THEN " + std::to_string(i);
    }
    return bucket + " ELSE " + std::to_string(boundaries.size()) + " END";
}

// count(*) and sum(h) FILTERed to each of `pieces` pieces b = i, and to `also`.
std::string piece_sums(std::size_t pieces, std::string_view also) {
    std::string sums;
    for (std::size_t i = 0; i < pieces; ++i) {
        std::string piece = " FILTER (WHERE b = " + std::to_string(i) + std::string(also) + ")";
        sums += (i > 0 ? ", " : "") + std::string("count(*)") + piece + ", sum(h)" + piece;
    }
    return sums;
}

// `key IN (the given keys)`, the keys as one text[] parameter per key column: the text of the
// statement does not depend on how many keys there are.
std::string keys_in_arrays(const copy::CopySpec& spec, Side side,
                           const std::vector<std::vector<std::string>>& keys,
                           std::vector<std::string>& params) {
    std::vector<std::string> arrays;
    for (std::size_t c = 0; c < spec.key_count; ++c) {
        std::vector<std::string> column;
        column.reserve(keys.size());
        for (const auto& key : keys) {
            column.push_back(key.at(c));
        }
        params.push_back(build_text_array(column));
        std::string array = "$";  // appended, not "literal" + temporary: GCC 12 -Wrestrict
        array += std::to_string(params.size());
        array += "::text[]::";
        array += spec.columns[c].type;
        array += "[]";
        arrays.push_back(std::move(array));
    }
    if (spec.key_count == 1) {
        return names(spec, side, 1).front() + " = ANY(" + arrays.front() + ")";
    }
    return key_tuple(spec, side) + " IN (SELECT * FROM unnest(" + join(arrays, ", ") + "))";
}

}  // namespace

Diff compare_rows(const std::vector<KeyHash>& source, const std::vector<KeyHash>& replica) {
    // A key is reported once, in one list, even if a side lists it twice (a configured `key:`
    // need not be unique on the source).
    struct Seen {
        std::int64_t hash = 0;
        bool matched = false;
        bool reported = false;
    };
    std::unordered_map<std::vector<std::string>, Seen, KeyHasher> theirs;
    theirs.reserve(replica.size());
    for (const auto& row : replica) {
        theirs.emplace(row.key, Seen{row.hash, false, false});
    }
    std::unordered_map<std::vector<std::string>, bool, KeyHasher> ours;
    ours.reserve(source.size());
    Diff diff;
    for (const auto& row : source) {
        if (!ours.emplace(row.key, true).second) {
            continue;
        }
        auto it = theirs.find(row.key);
        if (it == theirs.end()) {
            diff.missing.push_back(row.key);
            continue;
        }
        it->second.matched = true;
        if (it->second.hash != row.hash) {
            diff.different.push_back(row.key);
        }
    }
    for (const auto& row : replica) {
        Seen& seen = theirs.at(row.key);
        if (!seen.matched && !seen.reported) {
            seen.reported = true;
            diff.extra.push_back(row.key);
        }
    }
    return diff;
}

std::vector<KeyRange> split_range(const KeyRange& range,
                                  const std::vector<std::vector<std::string>>& boundaries) {
    std::vector<KeyRange> out;
    std::vector<std::string> lower = range.lower;
    for (const auto& b : boundaries) {
        out.push_back(KeyRange{lower, b});
        lower = b;
    }
    out.push_back(KeyRange{lower, range.upper});
    return out;
}

std::vector<std::vector<std::string>> pick_boundaries(const std::vector<std::string>& histogram,
                                                      int parts) {
    std::vector<std::vector<std::string>> out;
    if (parts < 2 || histogram.size() < static_cast<std::size_t>(parts) + 1) {
        return out;
    }
    const std::size_t last = histogram.size() - 1;
    const auto n = static_cast<std::size_t>(parts);
    for (std::size_t i = 1; i < n; ++i) {
        const std::string& b = histogram[(i * last + n / 2) / n];
        if (out.empty() || out.back().front() != b) {
            out.push_back({b});
        }
    }
    return out;
}

namespace {

__extension__ using Int128 = __int128;

// A sum of 64-bit hashes as PostgreSQL's numeric prints it (empty: NULL, an empty piece).
Int128 parse_sum(std::string_view text) {
    Int128 value = 0;
    bool negative = false;
    std::size_t i = 0;
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        negative = text[0] == '-';
        i = 1;
    }
    if (i == text.size() && !text.empty()) {
        throw Error(ErrorCode::internal, "not a hash sum: '" + std::string(text) + "'");
    }
    for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') {
            throw Error(ErrorCode::internal, "not a hash sum: '" + std::string(text) + "'");
        }
        value = value * 10 + (text[i] - '0');
    }
    return negative ? -value : value;
}

std::string format_sum(Int128 value) {
    if (value == 0) {
        return "0";
    }
    const bool negative = value < 0;
    std::string digits;
    while (value != 0) {
        const auto digit = static_cast<int>(value % 10);
        digits.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
        value /= 10;
    }
    if (negative) {
        digits.push_back('-');
    }
    return {digits.rbegin(), digits.rend()};
}

}  // namespace

RangeSummary canonical(const RangeSummary& summary) {
    return RangeSummary{summary.rows, format_sum(parse_sum(summary.hash_sum))};
}

RangeSummary subtract(const RangeSummary& all, const RangeSummary& part) {
    return RangeSummary{all.rows - part.rows,
                        format_sum(parse_sum(all.hash_sum) - parse_sum(part.hash_sum))};
}

std::int64_t parse_hex_hash(std::string_view text) {
    if (text.empty() || text.size() > 16) {
        throw Error(ErrorCode::internal, "not a 64-bit hex hash: '" + std::string(text) + "'");
    }
    std::uint64_t value = 0;
    for (char c : text) {
        int d = hex_digit(c);
        if (d < 0) {
            throw Error(ErrorCode::internal, "not a 64-bit hex hash: '" + std::string(text) + "'");
        }
        value = (value << 4) | static_cast<std::uint64_t>(d);
    }
    return static_cast<std::int64_t>(value);
}

Query build_range_summary(const copy::CopySpec& spec, Side side, const KeyRange& range) {
    Query q;
    q.sql = "SELECT count(*), coalesce(sum(" + row_hash(spec, side) + "), 0)::text FROM " +
            table(spec, side) + where_clause(conditions(spec, side, range, &q.params));
    return q;
}

Query build_split_summary(const copy::CopySpec& spec, Side side, const KeyRange& range,
                          const std::vector<std::vector<std::string>>& boundaries) {
    Query q;
    const std::string bucket = piece_of_row(spec, side, boundaries, q.params);
    // One plain aggregate with a FILTER per piece, which runs in parallel workers: a GROUP BY
    // is planned for as many groups as keys, and then as a sort or a spilling hash aggregate
    // in one process, two to four times the cost of the scan itself.
    q.sql = "SELECT " + piece_sums(boundaries.size() + 1, "") + " FROM (SELECT " + bucket + ", " +
            row_hash(spec, side) + " FROM " + table(spec, side) +
            where_clause(conditions(spec, side, range, &q.params)) + ") AS s(b, h)";
    return q;
}

std::optional<std::string> build_in_flight_condition(const copy::CopySpec& spec,
                                                     const std::vector<std::string>& checkpoint) {
    if (checkpoint.empty()) {
        return std::nullopt;  // nothing applied by the loop yet: everything is in flight
    }
    switch (spec.cursor) {
        case copy::ChangeTracking::xmin:
            return copy::build_xmin_changed_since(parse_int64(checkpoint.front()));
        case copy::ChangeTracking::time:
        case copy::ChangeTracking::sequence: {
            if (!spec.cursor_index) {
                return std::nullopt;
            }
            const copy::CopyColumn& cursor = spec.columns.at(*spec.cursor_index);
            return quote_ident(cursor.source) + " >= " + quote_literal(checkpoint.front()) +
                   "::" + cursor.type;
        }
        case copy::ChangeTracking::none:
            break;
    }
    return std::nullopt;
}

Query build_split_summary_in_flight(const copy::CopySpec& spec, const KeyRange& range,
                                    const std::vector<std::vector<std::string>>& boundaries,
                                    const std::string& in_flight) {
    Query q;
    const std::string bucket = piece_of_row(spec, Side::source, boundaries, q.params);
    // The row filter moves from WHERE into the flag k: a row that left the filter is still
    // seen, and when it changed since the checkpoint it is in flight like any other.
    const std::vector<std::string> filter = filter_conditions(spec);
    const std::string kept =
        filter.empty() ? "true" : "coalesce(" + join(filter, " AND ") + ", false)";
    std::vector<std::string> keys = names(spec, Side::source, spec.key_count);
    std::string flagged;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        flagged += ", array_agg(k" + std::to_string(i) + "::text) FILTER (WHERE f)";
    }
    std::vector<std::string> key_aliases;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        key_aliases.push_back("k" + std::to_string(i));
    }
    // Last, the whole range as build_range_summary counts it (rows in flight included), for
    // other replicas of the same selection to reuse.
    q.sql =
        "SELECT " + piece_sums(boundaries.size() + 1, " AND k AND NOT f") + flagged +
        ", count(*) FILTER (WHERE k), coalesce(sum(h) FILTER (WHERE k), 0)::text FROM (SELECT " +
        bucket + ", " + row_hash(spec, Side::source) + ", " + kept + ", coalesce(" + in_flight +
        ", false), " + join(keys, ", ") + " FROM " + spec.source_table +
        where_clause(range_conditions(spec, Side::source, range, &q.params)) +
        ") AS s(b, h, k, f, " + join(key_aliases, ", ") + ")";
    return q;
}

Query build_split_summary_of_keys(const copy::CopySpec& spec, const KeyRange& range,
                                  const std::vector<std::vector<std::string>>& boundaries,
                                  const std::vector<std::vector<std::string>>& keys) {
    Query q;
    const std::string bucket = piece_of_row(spec, Side::replica, boundaries, q.params);
    std::vector<std::string> parts = conditions(spec, Side::replica, range, &q.params);
    parts.push_back(keys_in_arrays(spec, Side::replica, keys, q.params));
    q.sql = "SELECT " + piece_sums(boundaries.size() + 1, "") + " FROM (SELECT " + bucket + ", " +
            row_hash(spec, Side::replica) + " FROM " + spec.target_table + where_clause(parts) +
            ") AS s(b, h)";
    return q;
}

Query build_range_boundaries(const copy::CopySpec& spec, Side side, const KeyRange& range,
                             std::int64_t step, int limit) {
    Query q;
    std::string key = join(names(spec, side, spec.key_count), ", ");
    // No count(*) OVER (): the caller knows the range's rows, and a whole-partition window
    // would hold every row of the range before returning the first.
    // The step and the limit are parameters too: they change with every range, and a text of
    // its own for each would make every boundary query a statement prepared for one use.
    std::string where = where_clause(conditions(spec, side, range, &q.params));
    q.params.push_back(std::to_string(std::max<std::int64_t>(step, 1)));
    const std::string step_param = "$" + std::to_string(q.params.size()) + "::bigint";
    q.params.push_back(std::to_string(std::max(limit, 0)));
    const std::string limit_param = "$" + std::to_string(q.params.size()) + "::bigint";
    q.sql = "SELECT " + key_texts(spec, side) + " FROM (SELECT " + key +
            ", row_number() OVER (ORDER BY " + key + ") AS syncset_rn FROM " + table(spec, side) +
            where + ") AS s WHERE syncset_rn % " + step_param +
            " = 0 AND syncset_rn > 1 ORDER BY " + key + " LIMIT " + limit_param;
    return q;
}

Query build_range_hashes_in_flight(const copy::CopySpec& spec, const KeyRange& range,
                                   const std::string& in_flight) {
    Query q;
    std::vector<std::string> parts = range_conditions(spec, Side::source, range, &q.params);
    const std::vector<std::string> filter = filter_conditions(spec);
    const std::string flag = "coalesce(" + in_flight + ", false)";
    if (!filter.empty()) {
        parts.push_back("(coalesce(" + join(filter, " AND ") + ", false) OR " + flag + ")");
    }
    q.sql = "SELECT " + key_texts(spec, Side::source) + ", " + row_hash_hex(spec, Side::source) +
            ", " + flag + "::text FROM " + spec.source_table + where_clause(parts) + " ORDER BY " +
            join(names(spec, Side::source, spec.key_count), ", ");
    return q;
}

std::string build_key_histogram(const copy::CopySpec& spec) {
    return "SELECT u.b FROM (SELECT s.histogram_bounds FROM pg_catalog.pg_stats AS s JOIN "
           "pg_catalog.pg_class AS c ON c.relname = s.tablename JOIN pg_catalog.pg_namespace AS "
           "n ON n.oid = c.relnamespace AND n.nspname = s.schemaname WHERE c.oid = " +
           quote_literal(spec.source_table) +
           "::regclass AND s.attname = " + quote_literal(spec.columns.front().source) +
           " ORDER BY s.inherited DESC LIMIT 1) AS h, unnest(h.histogram_bounds::text::text[]) "
           "WITH ORDINALITY AS u(b, o) ORDER BY u.o";
}

Query build_range_hashes(const copy::CopySpec& spec, Side side, const KeyRange& range) {
    Query q;
    q.sql = "SELECT " + key_texts(spec, side) + ", " + row_hash_hex(spec, side) + " FROM " +
            table(spec, side) + where_clause(conditions(spec, side, range, &q.params)) +
            " ORDER BY " + join(names(spec, side, spec.key_count), ", ");
    return q;
}

Query build_key_hashes(const copy::CopySpec& spec, Side side,
                       const std::vector<std::vector<std::string>>& keys) {
    Query q;
    std::vector<std::string> parts = conditions(spec, side, KeyRange{}, &q.params);
    parts.push_back(key_tuple(spec, side) + " IN " + key_list(spec, keys, &q.params));
    q.sql = "SELECT " + key_texts(spec, side) + ", " + row_hash_hex(spec, side) + " FROM " +
            table(spec, side) + where_clause(parts) + " ORDER BY " +
            join(names(spec, side, spec.key_count), ", ");
    return q;
}

std::string build_copy_keys(const copy::CopySpec& spec,
                            const std::vector<std::vector<std::string>>& keys) {
    std::vector<std::string> parts = conditions(spec, Side::source, KeyRange{}, nullptr);
    parts.push_back(key_tuple(spec, Side::source) + " IN " + key_list(spec, keys, nullptr));
    return "COPY (SELECT " + join(names(spec, Side::source, spec.columns.size()), ", ") + " FROM " +
           spec.source_table + where_clause(parts) + ") TO STDOUT";
}

std::string build_delete_keys(const copy::CopySpec& spec,
                              const std::vector<std::vector<std::string>>& keys) {
    return "DELETE FROM " + spec.target_table + " WHERE " + key_tuple(spec, Side::replica) +
           " IN " + key_list(spec, keys, nullptr);
}

}  // namespace syncset::drift
