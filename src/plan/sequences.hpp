// The `sequences:` part of the planner: resolves a replica's entries (names, patterns, mapped
// names) against the source catalog, as table entries are resolved, and plans the replica
// sequences to create. Pure.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "syncset/catalog/model.hpp"
#include "syncset/config/config.hpp"
#include "syncset/plan/planner.hpp"

namespace syncset::plan {

// Adds to `plan`: one SequencePlan per selected source sequence, in config order (a sequence
// named by a plain entry is claimed by it; one matched by several patterns goes to the first);
// `CREATE SEQUENCE IF NOT EXISTS` with the source's type, start, increment, bounds, cache and
// cycle for each target the replica lacks (after `ensure_schema(target schema)`), with its line
// in `changes`; and a problem for a named sequence that does not exist, a selected one the
// source role cannot read, and two sequences mapped onto one replica sequence. A pattern that
// matches nothing selects nothing.
void plan_sequences(const config::ReplicaSpec& replica, std::size_t replica_index,
                    const catalog::Catalog& source, const catalog::Catalog& target,
                    const std::function<void(const std::string&)>& ensure_schema,
                    ReplicaPlan& plan);

// `CREATE SEQUENCE IF NOT EXISTS "schema"."name" AS type INCREMENT BY .. MINVALUE .. MAXVALUE ..
// START WITH .. CACHE .. [NO] CYCLE`: a new replica sequence that starts where the source's did.
std::string build_create_sequence(const catalog::Sequence& source, const std::string& schema,
                                  const std::string& name);

}  // namespace syncset::plan
