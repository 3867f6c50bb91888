// The schema step: read the source catalog once, then for each replica read its catalog and
// state, plan (pure), and — for `run` — apply the plan with its state in one replica
// transaction, each table under a savepoint so one failing table stops alone.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "syncset/catalog/model.hpp"
#include "syncset/config/config.hpp"
#include "syncset/config/validate.hpp"
#include "syncset/plan/planner.hpp"

namespace syncset::daemon {

// The longest the schema step waits for any one lock on a replica: the migration lock, the
// metadata schema, or a replica table an application holds (a long query, an open
// transaction). The step runs on the daemon's main thread, which feeds systemd's watchdog, so
// a wait must end well within WatchdogSec; the replica's step is then retried at the next check.
inline constexpr std::chrono::seconds k_schema_lock_wait{10};

struct SourceView {
    catalog::Catalog catalog;
    // Row filters the source's parser rejects, as config problems (exit 2).
    std::vector<config::Problem> problems;
};

// Reads the source catalog and checks every `where:` with the source's own parser.
SourceView read_source(const config::Config& config);

// Reads the replica's catalog and state and plans; changes nothing on either side.
plan::ReplicaPlan read_and_plan(const config::Config& config, const config::ReplicaSpec& replica,
                                const catalog::Catalog& source);

struct TableOutcome {
    std::string target;  // schema.table
    bool stopped = false;
    std::string message;  // why it stopped
};

struct ReplicaOutcome {
    plan::ReplicaPlan plan;
    std::vector<TableOutcome> tables;
};

// Migrates one replica: takes the migration lock, ensures the metadata schema, reads, plans
// and applies. Throws Error when the replica cannot be reached or its shared DDL (schemas,
// types) fails; a single table's failure is recorded as stopped in its state instead. A lock
// not granted within k_schema_lock_wait throws a retryable Error (SQLSTATE 55P03) naming what
// it waited for, and nothing of the replica's step is committed.
ReplicaOutcome apply_schema_step(const config::Config& config, const config::ReplicaSpec& replica,
                                 const catalog::Catalog& source);

}  // namespace syncset::daemon
