// The connections budget (`connections.source`, `connections.replica`): how many connections
// the daemon may hold to the source and to each replica, and what its work needs. Pure.
#pragma once

#include <string>

namespace syncset::config {

struct Config;

// The most connections `syncset run` holds at once with `workers` copy workers: each worker
// keeps one to the source and one to each replica it has worked on; beside them the daemon
// keeps one each for the catalog check (source), the claims heartbeat (each replica), the drift
// scanner (both sides, when `drift.interval` is set), the sequence copier (the source and each
// replica with `sequences:`), and the schema step opens one to the source and two to each
// replica while it runs.
struct ConnectionNeeds {
    int source = 0;
    int replica = 0;           // the replica that needs most
    std::string source_parts;  // e.g. "4 workers, the catalog check, the schema step, ..."
    std::string replica_parts;
};
ConnectionNeeds connection_needs(const Config& config, int workers);

}  // namespace syncset::config
