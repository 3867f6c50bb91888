#include "syncset/daemon/schema_step.hpp"

#include <chrono>
#include <set>
#include <string_view>

#include "syncset/catalog/read.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/pqxx_connection.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"
#include "syncset/state/claims.hpp"
#include "syncset/state/locks.hpp"
#include "syncset/state/store.hpp"

namespace syncset::daemon {

namespace {

std::string replica_role(const config::ReplicaSpec& replica) {
    return "replica:" + replica.name;
}

std::string qualified(const std::string& schema, const std::string& name) {
    return config::TableName{schema, name}.display();
}

constexpr std::string_view k_lock_not_available = "55P03";

// `what` was not granted within k_schema_lock_wait (the session's lock_timeout).
Error lock_wait_error(const config::ReplicaSpec& replica, const std::string& what) {
    Error error(ErrorCode::database,
                "replica " + replica.name + ": schema step waited " +
                    std::to_string(k_schema_lock_wait.count()) + " s for " + what +
                    " held by another session; retrying at the next check",
                true,
                "a long query or an open transaction on the replica holds it: pg_stat_activity "
                "and pg_locks there show which");
    error.set_sqlstate(std::string(k_lock_not_available));
    return error;
}

// Runs `step`; a lock wait that timed out becomes lock_wait_error(replica, what).
template <typename Step>
decltype(auto) waiting_for(const config::ReplicaSpec& replica, const std::string& what,
                           Step&& step) {
    try {
        return step();
    } catch (const Error& e) {
        if (e.sqlstate() == k_lock_not_available) {
            throw lock_wait_error(replica, what);
        }
        throw;
    }
}

// Tables an entry selects, for checking its row filter.
std::vector<const catalog::Table*> matches(const config::TableSpec& spec,
                                           const catalog::Catalog& source) {
    std::vector<const catalog::Table*> out;
    for (const auto& table : source.tables) {
        if (!table.is_partition && catalog::glob_match(spec.source.schema, table.schema) &&
            catalog::glob_match(spec.source.table, table.name)) {
            out.push_back(&table);
        }
    }
    return out;
}

// Reads the replica catalog and state. `conn` is the raw connection the state lives on.
plan::ReplicaPlan plan_with(const config::Config& config, const config::ReplicaSpec& replica,
                            const catalog::Catalog& source, db::Connection& conn) {
    auto pqxx_conn = db::open_pqxx(replica.dsn, replica_role(replica));
    catalog::Catalog target = catalog::read_catalog(*pqxx_conn, config.state_schema);
    std::vector<state::TableState> stored = state::read_tables(conn, config.state_schema);
    return plan::plan_replica(config, replica, source, target, stored);
}

}  // namespace

SourceView read_source(const config::Config& config) {
    SourceView view;
    auto conn = db::open_pqxx(config.source_dsn, "source");
    view.catalog = catalog::read_catalog(*conn, config.state_schema);
    std::set<std::pair<std::uint32_t, std::string>> checked;
    for (std::size_t r = 0; r < config.replicas.size(); ++r) {
        const auto& replica = config.replicas[r];
        for (std::size_t t = 0; t < replica.tables.size(); ++t) {
            const auto& spec = replica.tables[t];
            if (!spec.where) {
                continue;
            }
            for (const catalog::Table* table : matches(spec, view.catalog)) {
                if (!checked.insert({table->oid, *spec.where}).second) {
                    continue;
                }
                if (auto problem = catalog::check_row_filter(*conn, *table, *spec.where)) {
                    view.problems.push_back({spec.position,
                                             "replicas[" + std::to_string(r) + "].tables[" +
                                                 std::to_string(t) + "].where",
                                             "row filter is not valid for source table " +
                                                 qualified(table->schema, table->name) + ": " +
                                                 *problem});
                }
            }
        }
    }
    return view;
}

plan::ReplicaPlan read_and_plan(const config::Config& config, const config::ReplicaSpec& replica,
                                const catalog::Catalog& source) {
    auto conn = db::Connection::open(replica.dsn, replica_role(replica));
    return plan_with(config, replica, source, *conn);
}

ReplicaOutcome apply_schema_step(const config::Config& config, const config::ReplicaSpec& replica,
                                 const catalog::Catalog& source) {
    auto conn = db::Connection::open(replica.dsn, replica_role(replica));
    // Every lock this session waits for (advisory locks included) is waited for at most
    // k_schema_lock_wait: the daemon's main loop must not hang behind an application's lock.
    // The session is the step's own and ends with it.
    conn->exec("SET lock_timeout = '" +
               std::to_string(std::chrono::milliseconds(k_schema_lock_wait).count()) + "ms'");
    const std::string metadata = "metadata schema " + config.state_schema;
    state::MigrationLock lock = waiting_for(replica, "the migration lock of " + metadata, [&] {
        return state::MigrationLock(*conn, config.state_schema);
    });
    waiting_for(replica, "a lock on " + metadata,
                [&] { state::ensure_schema(*conn, config.state_schema); });
    // A syncset of this host killed before this one started (kill -9, then a restart): its
    // tables are taken at once rather than when its claims lapse.
    for (const auto& claimant : state::release_dead_local_claims(*conn, config.state_schema)) {
        log::info("claims of a syncset process that is gone released",
                  {{"replica", replica.name}, {"claimant", claimant}});
    }

    ReplicaOutcome outcome;
    outcome.plan = waiting_for(replica, "a lock on " + metadata,
                               [&] { return plan_with(config, replica, source, *conn); });
    if (!outcome.plan.problems.empty()) {
        return outcome;  // the caller reports them; nothing is applied
    }

    db::Transaction tx(*conn);
    waiting_for(replica, "a lock on the schemas and types of its tables", [&] {
        for (const auto& ddl : outcome.plan.ddl) {
            conn->exec(ddl);
        }
    });
    for (auto& table : outcome.plan.tables) {
        TableOutcome result;
        result.target = qualified(table.target_schema, table.target_name);
        conn->exec("SAVEPOINT syncset_table");
        try {
            for (const auto& ddl : table.ddl) {
                conn->exec(ddl);
            }
            if (table.work == state::Work::none) {
                // No copy ahead: indexes can be built now. Otherwise after the snapshot.
                for (const auto& ddl : table.index_ddl) {
                    conn->exec(ddl);
                }
            }
            if (table.state_changed) {
                state::write_table(*conn, config.state_schema, table.next_state);
            }
            conn->exec("RELEASE SAVEPOINT syncset_table");
            if (table.stop_reason) {
                result.stopped = true;
                result.message = *table.stop_reason;
            }
        } catch (const Error& e) {
            if (!e.retryable() && conn->is_ok()) {
                // This table's change cannot be done: stop it alone and keep its old state.
                conn->exec("ROLLBACK TO SAVEPOINT syncset_table");
                std::string reason = std::string("schema change failed: ") + e.what();
                // The stored state still describes the replica as it is: keep it, stopped,
                // so the next plan sees the same change again. A new table has none yet.
                if (!state::write_stop(*conn, config.state_schema, table.target_schema,
                                       table.target_name, reason)) {
                    state::TableState stopped = table.next_state;
                    stopped.phase = state::Phase::stopped;
                    stopped.stop_reason = reason;
                    state::write_table(*conn, config.state_schema, stopped);
                }
                conn->exec("RELEASE SAVEPOINT syncset_table");
                result.stopped = true;
                result.message = reason;
                table.stop_reason = reason;
            } else if (e.sqlstate() == k_lock_not_available) {
                // Waiting longer would hold the daemon's main loop: the whole step is rolled
                // back and the next check tries again.
                throw lock_wait_error(replica, "a lock on " + result.target);
            } else {
                throw e.with_context("migrate " + result.target + " on replica " + replica.name);
            }
        }
        outcome.tables.push_back(std::move(result));
    }
    tx.commit();
    return outcome;
}

}  // namespace syncset::daemon
