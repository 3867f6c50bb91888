#include "syncset/config/budget.hpp"

#include <algorithm>

#include "syncset/config/config.hpp"

namespace syncset::config {

namespace {

void add(int& count, std::string& parts, int n, const std::string& what) {
    count += n;
    if (!parts.empty()) {
        parts += ", ";
    }
    parts += what;
}

}  // namespace

ConnectionNeeds connection_needs(const Config& config, int workers) {
    ConnectionNeeds needs;
    const std::string worker_text =
        std::to_string(workers) + (workers == 1 ? " worker" : " workers");
    const bool drift = config.drift.interval.count() > 0;
    // The sequence copier connects to the source once, and to each replica with sequences.
    bool any_sequences = false;
    for (const auto& replica : config.replicas) {
        any_sequences = any_sequences || !replica.sequences.empty();
    }
    const bool replica_sequences = any_sequences;  // the replica that needs most has them
    add(needs.source, needs.source_parts, workers, worker_text);
    add(needs.source, needs.source_parts, 1, "the catalog check");
    add(needs.source, needs.source_parts, 1, "the schema step");
    if (drift) {
        add(needs.source, needs.source_parts, 1, "the drift scanner");
    }
    if (any_sequences) {
        add(needs.source, needs.source_parts, 1, "the sequence copier");
    }
    add(needs.replica, needs.replica_parts, workers, worker_text);
    add(needs.replica, needs.replica_parts, 1, "the claims heartbeat");
    // Its own session, and one that reads the replica's catalog while that is open.
    add(needs.replica, needs.replica_parts, 2, "the schema step (2)");
    if (drift) {
        add(needs.replica, needs.replica_parts, 1, "the drift scanner");
    }
    if (replica_sequences) {
        add(needs.replica, needs.replica_parts, 1, "the sequence copier");
    }
    return needs;
}

}  // namespace syncset::config
