#include "syncset/sequence/copy.hpp"

#include "syncset/error.hpp"
#include "syncset/text.hpp"

namespace syncset::sequence {

namespace {

// Rows `(i, last_value, is_called, ...)` ordered by i, one per name.
void check_rows(const db::Result& result, std::size_t expected, std::string_view what) {
    if (result.rows() < 0 || static_cast<std::size_t>(result.rows()) != expected) {
        throw Error(ErrorCode::database, std::string(what) + ": expected " +
                                             std::to_string(expected) + " rows, got " +
                                             std::to_string(result.rows()));
    }
}

Value value_at(const db::Result& result, int row) {
    return Value{parse_int64(result.value(row, 1)), result.value(row, 2) == "t"};
}

}  // namespace

std::vector<Value> read_values(db::Connection& source, const std::vector<SequenceName>& names) {
    std::vector<Value> values;
    if (names.empty()) {
        return values;
    }
    const db::Result result = source.query(build_read_values(names));
    check_rows(result, names.size(), "read source sequences");
    for (int row = 0; row < result.rows(); ++row) {
        values.push_back(value_at(result, row));
    }
    return values;
}

std::size_t apply_values(db::Connection& replica, const std::vector<Target>& targets) {
    if (targets.empty()) {
        return 0;
    }
    std::vector<SequenceName> names;
    for (const auto& target : targets) {
        names.push_back(target.name);
    }
    std::vector<std::size_t> behind;
    std::vector<ReplicaSequence> found;
    {
        const db::Result result = replica.query(build_read_replica(names));
        check_rows(result, names.size(), "read replica sequences");
        for (int row = 0; row < result.rows(); ++row) {
            ReplicaSequence sequence;
            sequence.value = value_at(result, row);
            sequence.cache = parse_int64(result.value(row, 3));
            sequence.owned_by = result.optional_value(row, 4);
            sequence.identity = result.value(row, 5) == "t";
            const auto i = static_cast<std::size_t>(row);
            if (is_ahead(targets[i].source, sequence.value, targets[i].descending)) {
                behind.push_back(i);
            }
            found.push_back(std::move(sequence));
        }
    }
    if (behind.empty()) {
        return 0;
    }
    std::size_t moved = 0;
    db::Transaction tx(replica);
    for (std::size_t i : behind) {
        const Target& target = targets[i];
        replica.exec(build_lock(target.name, found[i]));
        const db::Result result =
            replica.query(build_advance(target.name, target.source, target.descending));
        moved += result.rows() > 0 ? 1U : 0U;
    }
    tx.commit();
    return moved;
}

}  // namespace syncset::sequence
