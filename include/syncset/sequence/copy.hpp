// Copying sequence positions, the I/O part: one query reads every source position, and a
// replica's sequences that are behind are moved up to them in one transaction, never back.
// Failures throw syncset::Error.
#pragma once

#include <cstddef>
#include <vector>

#include "syncset/db/connection.hpp"
#include "syncset/sequence/sql.hpp"

namespace syncset::sequence {

// Reads the position of each of `names` in one statement, in the same order.
std::vector<Value> read_values(db::Connection& source, const std::vector<SequenceName>& names);

struct Target {
    SequenceName name;  // the replica sequence
    Value source;       // the position its source sequence has
    bool descending = false;
};

// Reads the replica's positions in one statement; when some are behind their source, moves
// them forward in one transaction, each under its lock (sql.hpp, build_lock) and only if still
// behind, so a concurrent nextval() on the replica is never undone. Returns how many moved.
// Nothing is written when none is behind. `replica` must have no transaction open.
std::size_t apply_values(db::Connection& replica, const std::vector<Target>& targets);

}  // namespace syncset::sequence
