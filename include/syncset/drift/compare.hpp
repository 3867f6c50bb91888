// The pure half of the drift scanner: what differs between two key-ordered lists of row hashes,
// and the SQL both sides run. No database here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncset/copy/sql.hpp"

namespace syncset::drift {

// A row's key (text of each key column) and the 64-bit hash of its selected columns.
struct KeyHash {
    std::vector<std::string> key;
    std::int64_t hash = 0;
};

struct Diff {
    std::vector<std::vector<std::string>> missing;    // on the source, not on the replica
    std::vector<std::vector<std::string>> extra;      // on the replica, not on the source
    std::vector<std::vector<std::string>> different;  // on both, with other values
    bool empty() const noexcept { return missing.empty() && extra.empty() && different.empty(); }
    std::size_t size() const noexcept { return missing.size() + extra.size() + different.size(); }
};

// What differs between the two sides' rows of one key range. Keys are matched through a hash
// table (xxHash of the key text), not by sort order, so database collations and numeric key
// order need not agree with C++ string order. Results keep each side's order.
Diff compare_rows(const std::vector<KeyHash>& source, const std::vector<KeyHash>& replica);

// (count, sum of hashes) of a key range on one side.
struct RangeSummary {
    std::int64_t rows = 0;
    std::string hash_sum;  // numeric text: exact, never overflows
    friend bool operator==(const RangeSummary&, const RangeSummary&) = default;
};

// The same summary with its sum in one spelling ("0" for an empty piece's NULL), so that
// summaries computed differently compare equal when they are.
RangeSummary canonical(const RangeSummary& summary);
// `all` less `part` (a subset of its rows): rows and sums subtracted exactly, canonical.
RangeSummary subtract(const RangeSummary& all, const RangeSummary& part);

// A half-open key range [lower, upper); an empty bound is open.
struct KeyRange {
    std::vector<std::string> lower;
    std::vector<std::string> upper;
};

// Splits `range` at `boundaries` (sorted keys strictly inside it) into consecutive ranges.
std::vector<KeyRange> split_range(const KeyRange& range,
                                  const std::vector<std::vector<std::string>>& boundaries);

// Up to `parts - 1` split points taken evenly from a column's histogram bounds (the planner's
// statistics: the first bound is the smallest value, the last the largest), without repeats.
// Empty when the histogram has fewer than `parts + 1` bounds: too coarse to split by.
std::vector<std::vector<std::string>> pick_boundaries(const std::vector<std::string>& histogram,
                                                      int parts);

// The 64-bit value of a PostgreSQL `to_hex(bigint)` text (two's complement for negatives).
// Throws Error(internal) on anything else.
std::int64_t parse_hex_hash(std::string_view text);

enum class Side { source, replica };

// A statement with text parameters $1, $2, ...: the keys it compares with. The text of a range
// query depends only on the table and the shape of the range, so each side can prepare it once.
struct Query {
    std::string sql;
    std::vector<std::string> params;
    friend bool operator==(const Query&, const Query&) = default;
};

// `SELECT count(*), sum(hash)` of a range. The source applies the row filter.
Query build_range_summary(const copy::CopySpec& spec, Side side, const KeyRange& range);
// (count, sum of hashes) of each piece of `range` split at `boundaries`, in one scan and one
// result row: columns 2i and 2i+1 are piece i, which holds keys from boundary i-1 (inclusive)
// to boundary i (exclusive). An empty piece's sum is NULL (empty text) on both sides.
Query build_split_summary(const copy::CopySpec& spec, Side side, const KeyRange& range,
                          const std::vector<std::vector<std::string>>& boundaries);
// ---- Rows in flight. Source rows that changed after the replica's checkpoint are rows the
// table's copy loop will still read; the replica may hold them in any state. With the replica
// read in one REPEATABLE READ snapshot taken before every source query of the scan, and the
// checkpoint read in that snapshot, every other row must be equal on both sides: a scan that
// leaves the rows in flight out of both finds no false drift however busy the table, and
// misses none (a row in flight is rewritten by the loop).

// The SQL condition on a source row for "changed after the checkpoint", from the table's stored
// cursor (an xid for xmin, the cursor column's value else); nullopt when the table's tracking
// cannot tell (a full refresh) or nothing has been checkpointed yet.
std::optional<std::string> build_in_flight_condition(const copy::CopySpec& spec,
                                                     const std::vector<std::string>& checkpoint);
// The source's build_split_summary (no boundaries: one piece, the whole range) without the rows
// in flight, followed by one column per key column: text[] of the rows in flight's keys,
// aligned, NULL when there are none, then the whole range's (count, sum) with the rows in
// flight, as build_range_summary gives it. Rows in flight are seen whatever the row filter
// says, so that a row leaving it counts too.
Query build_split_summary_in_flight(const copy::CopySpec& spec, const KeyRange& range,
                                    const std::vector<std::vector<std::string>>& boundaries,
                                    const std::string& in_flight);
// The replica's build_split_summary restricted to `keys` (the rows in flight), to be taken away
// from its summary of every row.
Query build_split_summary_of_keys(const copy::CopySpec& spec, const KeyRange& range,
                                  const std::vector<std::vector<std::string>>& boundaries,
                                  const std::vector<std::vector<std::string>>& keys);
// The source's build_range_hashes with one more column, `true` for a row in flight (whether or
// not it passes the row filter; the other rows pass it).
Query build_range_hashes_in_flight(const copy::CopySpec& spec, const KeyRange& range,
                                   const std::string& in_flight);

// Keys splitting a range on one side into pieces of `step` rows: every `step`-th key in key
// order, at most `limit` of them (the scan stops at the last one).
Query build_range_boundaries(const copy::CopySpec& spec, Side side, const KeyRange& range,
                             std::int64_t step, int limit);
// The histogram bounds of the source's first key column, in order (no row when the table has
// never been analyzed).
std::string build_key_histogram(const copy::CopySpec& spec);
// `SELECT key..., to_hex(hash)` of a range in key order.
Query build_range_hashes(const copy::CopySpec& spec, Side side, const KeyRange& range);
// `SELECT key..., to_hex(hash)` of the given keys, for the re-check.
Query build_key_hashes(const copy::CopySpec& spec, Side side,
                       const std::vector<std::vector<std::string>>& keys);
// The source rows of the given keys, as the copy loop reads them (for --repair).
std::string build_copy_keys(const copy::CopySpec& spec,
                            const std::vector<std::vector<std::string>>& keys);
// Deletes the given keys on the replica (for --repair).
std::string build_delete_keys(const copy::CopySpec& spec,
                              const std::vector<std::vector<std::string>>& keys);

}  // namespace syncset::drift
