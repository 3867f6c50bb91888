#include "syncset/drift/compare.hpp"

#include <xxhash.h>

#include <unordered_map>

#include "syncset/db/quote.hpp"

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

std::string key_literal(const copy::CopySpec& spec, const std::vector<std::string>& key) {
    std::vector<std::string> values;
    for (std::size_t i = 0; i < spec.key_count && i < key.size(); ++i) {
        values.push_back(quote_literal(key[i]) + "::" + spec.columns[i].type);
    }
    return "(" + join(values, ", ") + ")";
}

// The row hash: the text of the selected columns under the pinned session settings, so the
// same values give the same text on both servers.
std::string row_hash(const copy::CopySpec& spec, Side side) {
    return "hashtextextended(ROW(" + join(names(spec, side, spec.columns.size()), ", ") +
           ")::text, 0)";
}

std::vector<std::string> conditions(const copy::CopySpec& spec, Side side, const KeyRange& range) {
    std::vector<std::string> out;
    if (side == Side::source) {
        if (spec.where) {
            out.push_back("(" + *spec.where + ")");
        }
        if (spec.soft_delete) {
            out.push_back(quote_ident(*spec.soft_delete) + " IS NULL");
        }
    }
    if (!range.lower.empty()) {
        out.push_back(key_tuple(spec, side) + " >= " + key_literal(spec, range.lower));
    }
    if (!range.upper.empty()) {
        out.push_back(key_tuple(spec, side) + " < " + key_literal(spec, range.upper));
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

std::string key_list(const copy::CopySpec& spec,
                     const std::vector<std::vector<std::string>>& keys) {
    std::vector<std::string> values;
    for (const auto& key : keys) {
        values.push_back(key_literal(spec, key));
    }
    return "(" + join(values, ", ") + ")";
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

std::string build_range_summary(const copy::CopySpec& spec, Side side, const KeyRange& range) {
    return "SELECT count(*), coalesce(sum(" + row_hash(spec, side) + "), 0)::text FROM " +
           table(spec, side) + where_clause(conditions(spec, side, range));
}

std::string build_split_summary(const copy::CopySpec& spec, Side side, const KeyRange& range,
                                const std::vector<std::vector<std::string>>& boundaries) {
    std::string bucket = "CASE";
    for (std::size_t i = 0; i < boundaries.size(); ++i) {
        bucket += " WHEN " + key_tuple(spec, side) + " < " + key_literal(spec, boundaries[i]) +
                  " THEN " + std::to_string(i);
    }
    bucket += " ELSE " + std::to_string(boundaries.size()) + " END";
    // One plain aggregate with a FILTER per piece: a GROUP BY here was planned as a sort of
    // the whole range (spilling to disk), costing four times the scan itself.
    std::string sums;
    for (std::size_t i = 0; i <= boundaries.size(); ++i) {
        std::string piece = " FILTER (WHERE syncset_b = " + std::to_string(i) + ")";
        sums += (i > 0 ? ", " : "") + std::string("count(*)") + piece +
                ", coalesce(sum(syncset_h)" + piece + ", 0)::text";
    }
    return "SELECT " + sums + " FROM (SELECT " + bucket + " AS syncset_b, " + row_hash(spec, side) +
           " AS syncset_h FROM " + table(spec, side) + where_clause(conditions(spec, side, range)) +
           ") AS s";
}

std::string build_range_boundaries(const copy::CopySpec& spec, const KeyRange& range, int parts) {
    std::string key = join(names(spec, Side::source, spec.key_count), ", ");
    return "SELECT " + key_texts(spec, Side::source) + " FROM (SELECT " + key +
           ", row_number() OVER (ORDER BY " + key +
           ") AS syncset_rn, count(*) OVER () AS "
           "syncset_n FROM " +
           spec.source_table + where_clause(conditions(spec, Side::source, range)) +
           ") AS s WHERE syncset_rn % greatest(1, ceil(syncset_n::numeric / " +
           std::to_string(parts) + ")::bigint) = 0 AND syncset_rn > 1 ORDER BY syncset_rn";
}

std::string build_range_hashes(const copy::CopySpec& spec, Side side, const KeyRange& range) {
    return "SELECT " + key_texts(spec, side) + ", " + row_hash(spec, side) + " FROM " +
           table(spec, side) + where_clause(conditions(spec, side, range)) + " ORDER BY " +
           join(names(spec, side, spec.key_count), ", ");
}

std::string build_key_hashes(const copy::CopySpec& spec, Side side,
                             const std::vector<std::vector<std::string>>& keys) {
    std::vector<std::string> parts = conditions(spec, side, KeyRange{});
    parts.push_back(key_tuple(spec, side) + " IN " + key_list(spec, keys));
    return "SELECT " + key_texts(spec, side) + ", " + row_hash(spec, side) + " FROM " +
           table(spec, side) + where_clause(parts) + " ORDER BY " +
           join(names(spec, side, spec.key_count), ", ");
}

std::string build_copy_keys(const copy::CopySpec& spec,
                            const std::vector<std::vector<std::string>>& keys) {
    std::vector<std::string> parts = conditions(spec, Side::source, KeyRange{});
    parts.push_back(key_tuple(spec, Side::source) + " IN " + key_list(spec, keys));
    return "COPY (SELECT " + join(names(spec, Side::source, spec.columns.size()), ", ") + " FROM " +
           spec.source_table + where_clause(parts) + ") TO STDOUT";
}

std::string build_delete_keys(const copy::CopySpec& spec,
                              const std::vector<std::vector<std::string>>& keys) {
    return "DELETE FROM " + spec.target_table + " WHERE " + key_tuple(spec, Side::replica) +
           " IN " + key_list(spec, keys);
}

}  // namespace syncset::drift
