// Copying sequence positions, the pure part: what "ahead" means, and the statements that read
// positions on either side and move a replica sequence forward without ever moving it back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace syncset::sequence {

// A sequence as `schema.name`.
struct SequenceName {
    std::string schema;
    std::string name;
    friend bool operator==(const SequenceName&, const SequenceName&) = default;
};

// A sequence's position: its next nextval() returns last_value when is_called is false, else
// last_value plus the increment.
struct Value {
    std::int64_t last_value = 0;
    bool is_called = false;
    friend bool operator==(const Value&, const Value&) = default;
};

// What the replica side reads besides the value: how to take its lock (build_lock).
struct ReplicaSequence {
    Value value;
    std::int64_t cache = 1;
    std::optional<std::string> owned_by;  // `"schema"."table"."column"` of an OWNED BY link
    bool identity = false;                // the sequence of an identity column
    friend bool operator==(const ReplicaSequence&, const ReplicaSequence&) = default;
};

// Whether `source` is past `replica`: its next value would not yet have been handed out by the
// replica. Compared as (last_value, is_called) in the sequence's direction, so a source never
// called (is_called false, at its start) is never ahead of a replica at the same start.
bool is_ahead(const Value& source, const Value& replica, bool descending) noexcept;

// One statement reading every named sequence's position from the relation itself (which needs
// SELECT on it): rows `(i, last_value, is_called)`, ordered by i, the index into `names`.
std::string build_read_values(const std::vector<SequenceName>& names);

// The same on the replica, with each sequence's cache, its OWNED BY column and whether it
// belongs to an identity column: rows `(i, last_value, is_called, cache, owned_by, identity)`.
std::string build_read_replica(const std::vector<SequenceName>& names);

// A statement that holds SHARE ROW EXCLUSIVE on the sequence until commit and changes nothing:
// nextval() and setval() take ROW EXCLUSIVE, so no other session moves the sequence between
// the comparison and the setval of build_advance. `ALTER SEQUENCE ... OWNED BY` its current
// column (or NONE) does not rewrite the sequence; an identity sequence cannot be given OWNED BY,
// so it gets `CACHE` its current cache, which does.
std::string build_lock(const SequenceName& name, const ReplicaSequence& replica);

// `SELECT setval(...) FROM <sequence> WHERE <it is behind value>`: one row when it moved the
// sequence to `value`, none when the sequence already was there or past it.
std::string build_advance(const SequenceName& name, const Value& value, bool descending);

}  // namespace syncset::sequence
