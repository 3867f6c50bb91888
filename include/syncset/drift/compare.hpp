// The pure half of the drift scanner: what differs between two key-ordered lists of row hashes,
// and the SQL both sides run. No database here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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

// A half-open key range [lower, upper); an empty bound is open.
struct KeyRange {
    std::vector<std::string> lower;
    std::vector<std::string> upper;
};

// Splits `range` at `boundaries` (sorted keys strictly inside it) into consecutive ranges.
std::vector<KeyRange> split_range(const KeyRange& range,
                                  const std::vector<std::vector<std::string>>& boundaries);

enum class Side { source, replica };

// `SELECT count(*), sum(hash)` of a range. The source applies the row filter.
std::string build_range_summary(const copy::CopySpec& spec, Side side, const KeyRange& range);
// (count, sum of hashes) of each piece of `range` split at `boundaries`, in one scan and one
// result row: columns 2i and 2i+1 are piece i, which holds keys from boundary i-1 (inclusive)
// to boundary i (exclusive).
std::string build_split_summary(const copy::CopySpec& spec, Side side, const KeyRange& range,
                                const std::vector<std::vector<std::string>>& boundaries);
// Keys splitting a range into about `parts` pieces of equal row counts (from the source).
std::string build_range_boundaries(const copy::CopySpec& spec, const KeyRange& range, int parts);
// `SELECT key..., hash` of a range in key order.
std::string build_range_hashes(const copy::CopySpec& spec, Side side, const KeyRange& range);
// `SELECT key..., hash` of the given keys, for the re-check.
std::string build_key_hashes(const copy::CopySpec& spec, Side side,
                             const std::vector<std::vector<std::string>>& keys);
// The source rows of the given keys, as the copy loop reads them (for --repair).
std::string build_copy_keys(const copy::CopySpec& spec,
                            const std::vector<std::vector<std::string>>& keys);
// Deletes the given keys on the replica (for --repair).
std::string build_delete_keys(const copy::CopySpec& spec,
                              const std::vector<std::vector<std::string>>& keys);

}  // namespace syncset::drift
