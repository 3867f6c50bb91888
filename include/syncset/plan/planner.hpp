// The schema planner: a pure function from (config, source catalog, replica catalog, stored
// state) to the ordered DDL and copy work that bring one replica in step with the source.
// No database access, no logging: every decision here is unit-tested table by table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "syncset/catalog/model.hpp"
#include "syncset/config/config.hpp"
#include "syncset/config/validate.hpp"
#include "syncset/state/model.hpp"

namespace syncset::plan {

// A selected source column and where it lands.
struct ColumnMap {
    int attnum = 0;
    std::string source_name;
    std::string target_name;
    std::string type;  // replica column type (the source type, generated/identity dropped)
    bool not_null = false;
    friend bool operator==(const ColumnMap&, const ColumnMap&) = default;
};

struct TablePlan {
    const config::TableSpec* spec = nullptr;  // the config entry this table came from
    std::string source_schema;
    std::string source_name;
    std::uint32_t source_oid = 0;
    std::string target_schema;
    std::string target_name;
    std::vector<ColumnMap> columns;       // selected columns in source attnum order
    std::vector<std::string> key;         // replica key column names; empty only for mode mirror
    std::vector<std::string> key_source;  // the same key as source column names

    std::vector<std::string> changes;    // one human line per change: "add column note (backfill)"
    std::vector<std::string> ddl;        // before copying, in order, with the state update
    std::vector<std::string> index_ddl;  // after the snapshot (indexes build faster then)
    state::Work work = state::Work::none;
    std::optional<std::string> stop_reason;  // this table cannot go on; the others do

    state::TableState next_state;  // what to store once `ddl` has run
    // next_state differs from the stored one. Unchanged state is not rewritten: rewriting a
    // table with a pending snapshot would send its copy back to the first key.
    bool state_changed = true;
};

// A source sequence whose position is copied to a replica sequence every poll.
struct SequencePlan {
    std::string source_schema;
    std::string source_name;
    std::string target_schema;
    std::string target_name;
    bool descending = false;  // the source's increment is negative: ahead means lower
    friend bool operator==(const SequencePlan&, const SequencePlan&) = default;
};

struct ReplicaPlan {
    std::string replica;
    // Schemas and types, before every table's ddl; then the replica sequences to create.
    std::vector<std::string> ddl;
    std::vector<std::string> changes;  // human lines for `ddl`
    std::vector<TablePlan> tables;
    // The config and the catalogs disagree (missing table or column, no usable key): the
    // run must not start. Positions point into the config file.
    std::vector<config::Problem> problems;
    std::vector<SequencePlan> sequences{};  // `sequences:` entries resolved, in config order
};

ReplicaPlan plan_replica(const config::Config& config, const config::ReplicaSpec& replica,
                         const catalog::Catalog& source, const catalog::Catalog& target,
                         const std::vector<state::TableState>& stored);

}  // namespace syncset::plan
