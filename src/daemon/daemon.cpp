#include "syncset/daemon/daemon.hpp"

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "daemon/schedule.hpp"
#include "daemon/sequence_loop.hpp"
#include "syncset/catalog/read.hpp"
#include "syncset/config/budget.hpp"
#include "syncset/config/validate.hpp"
#include "syncset/copy/table_sync.hpp"
#include "syncset/daemon/schema_step.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/pqxx_connection.hpp"
#include "syncset/db/retry.hpp"
#include "syncset/drift/scanner.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"
#include "syncset/metrics/registry.hpp"
#include "syncset/state/claims.hpp"
#include "syncset/state/progress.hpp"
#include "syncset/state/store.hpp"

namespace syncset::daemon {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Signals* g_signals = nullptr;

extern "C" void on_signal(int signal_number) {
    if (g_signals == nullptr) {
        return;
    }
    if (signal_number == SIGHUP) {
        g_signals->reload = true;
    } else {
        g_signals->stop = true;
    }
}

// One (replica, table) copy loop. Its timing and failures live in the Schedule, under the
// daemon's mutex; the job itself is touched only by the worker running it.
struct Job {
    std::size_t replica = 0;
    std::string replica_name;  // for threads that must not read the config (the heartbeat)
    std::unique_ptr<copy::TableSync> sync;
    std::shared_ptr<metrics::TableMetrics> metrics;  // the same object across re-plans
    std::shared_ptr<metrics::EndpointMetrics> replica_endpoint;
    Clock::time_point next_drift_check = Clock::now();
    // This process held the table's claim at its last cycle (under the daemon's mutex): only
    // the holder scans it for drift, so several daemons sharing a replica do not all scan it.
    bool claimed = false;
    // Since when another process has held the claim at every try (--once; under the mutex).
    std::optional<Clock::time_point> refused_since;
};

// What the claims heartbeat renews on one replica (under the daemon's mutex).
struct ClaimTarget {
    std::string replica;
    std::string dsn;
    std::string state_schema;
    state::Claim claim;
};

// A batch waits at most this long for a lock on the replica (an application's LOCK TABLE, a
// long transaction on the same rows), then fails retryably and is retried with backoff: a
// held lock can then neither keep the daemon from stopping nor hold the workers' pause for a
// schema step for longer.
constexpr std::chrono::seconds k_copy_lock_wait{30};

// The claim lease of a replica without tables is that of this poll (claims.hpp).
constexpr std::chrono::milliseconds k_idle_claim_poll{5000};

std::int64_t now_ms() {
    return metrics::unix_ms(std::chrono::system_clock::now());
}

// Counts a batch in the table's metrics: relaxed atomics, no lock.
void record_step(metrics::TableMetrics& m, const copy::StepResult& result,
                 const copy::TableSync& sync) {
    constexpr auto relaxed = std::memory_order_relaxed;
    if (!result.committed) {
        return;
    }
    const std::int64_t now = now_ms();
    (result.snapshot ? m.rows_snapshot : m.rows_incremental).fetch_add(result.rows, relaxed);
    m.rows_deleted.fetch_add(result.rows_deleted, relaxed);
    m.bytes_copied.fetch_add(result.bytes, relaxed);
    m.batches.fetch_add(1, relaxed);
    m.last_success_ms.store(now, relaxed);
    if (result.caught_up) {
        m.caught_up_ms.store(now, relaxed);
    }
    const auto figures = sync.snapshot_figures();
    m.snapshot_rows_done.store(figures ? figures->first : 0, relaxed);
    m.snapshot_rows_estimated.store(figures ? figures->second : 0, relaxed);
    metrics::publish_progress(m, sync.progress(), sync.spec().cursor_is_instant(), now, false);
}

// Which side a failed cycle lost, judged by its connections: a broken or never opened one.
// The replica is opened after the source, so it is judged only when the source is fine.
void record_endpoints(metrics::EndpointMetrics& source, metrics::EndpointMetrics& replica,
                      const std::unique_ptr<db::Connection>& source_conn,
                      const std::unique_ptr<db::Connection>& replica_conn) {
    using Up = metrics::EndpointMetrics::Up;
    if (!source_conn || !source_conn->is_ok()) {
        source.up = Up::down;
    } else if (!replica_conn || !replica_conn->is_ok()) {
        replica.up = Up::down;
    }
}

// Connections one worker keeps between jobs: one to the source, one per replica.
struct WorkerConnections {
    std::unique_ptr<db::Connection> source;
    std::map<std::size_t, std::unique_ptr<db::Connection>> replicas;
};

class Daemon {
  public:
    Daemon(config::Config config, bool once, Signals& signals, Notifier& notifier,
           metrics::Registry& registry)
        : m_config(std::move(config)),
          m_once(once),
          m_signals(signals),
          m_notifier(notifier),
          m_registry(registry),
          m_schedule(once) {}

    int run() {
        schema_step();
        // Ready once every reachable replica has had its schema step: an unreachable one is
        // named in the status and planned again at the next check.
        m_registry.set_started();
        m_notifier.ready(status_text());
        m_ready = true;
        std::vector<std::thread> workers;
        m_worker_count = m_config.parallel;
        workers.reserve(static_cast<std::size_t>(m_worker_count));
        for (int i = 0; i < m_worker_count; ++i) {
            workers.emplace_back([this] { work(); });
        }
        if (!m_once) {
            // Drift scans run beside the copy loops, on connections of their own: a scan
            // never holds back a table's batches (only its repair pauses that one table).
            workers.emplace_back([this] { scan_drift(); });
            m_sequences.start();  // its own thread and connections, like the drift scans
        }
        start_claim_keepers();
        supervise();
        m_notifier.stopping();
        {
            std::lock_guard lock(m_mutex);
            m_finished = true;
        }
        m_wake.notify_all();
        for (auto& worker : workers) {
            worker.join();
        }
        m_sequences.stop();
        if (m_once && !m_signals.stop && !m_source_failed) {
            m_failed_replicas += m_sequences.copy_once();  // after the tables: the newest values
        }
        // The heartbeats renew until no batch can commit any more, then give the claims up.
        {
            std::lock_guard lock(m_mutex);
            m_claims_done = true;
        }
        m_claims_wake.notify_all();
        for (auto& [name, keeper] : m_claim_keepers) {
            keeper.join();
        }
        std::lock_guard lock(m_mutex);
        return m_schedule.exit_status(m_signals.stop, m_source_failed, m_stopped_tables,
                                      m_failed_replicas);
    }

  private:
    // The main thread: re-plans when the source catalog changes or on SIGHUP; with --once,
    // waits until every table caught up once or gave up.
    void supervise() {
        auto next_check = Clock::now();
        while (!m_signals.stop) {
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait_for(lock, milliseconds(200));
                if (m_once && (m_source_failed || m_schedule.all_settled())) {
                    return;
                }
            }
            beat();
            if (m_signals.reload.exchange(false)) {
                m_notifier.reloading();
                reload_config();
                m_notifier.ready(status_text());
            }
            if (Clock::now() >= next_check || m_replan_requested) {
                next_check = Clock::now() + check_interval();
                if (m_replan_requested.exchange(false) || catalog_changed()) {
                    pause_workers();
                    schema_step();
                    resume_workers();
                }
            }
        }
    }

    milliseconds check_interval() const {
        milliseconds shortest{30000};
        for (const auto& replica : m_config.replicas) {
            for (const auto& table : replica.tables) {
                shortest = std::min(shortest, table.poll_interval);
            }
        }
        return std::max(shortest, milliseconds(200));
    }

    // Whether the source catalog moved since the last schema step read it, or something
    // unplanned is due for another try.
    bool catalog_changed() {
        std::optional<std::string> fingerprint = read_fingerprint();
        if (!fingerprint) {
            return false;
        }
        const bool changed = *fingerprint != m_fingerprint;
        m_fingerprint = std::move(*fingerprint);
        return changed || (m_missing_replica && Clock::now() >= m_replan_at);
    }

    std::optional<std::string> read_fingerprint() {
        try {
            if (!m_catalog_conn) {
                m_catalog_conn = db::Connection::open(m_config.source_dsn, "source:catalog");
            }
            std::string fingerprint =
                catalog::read_catalog_fingerprint(*m_catalog_conn, m_config.state_schema);
            m_registry.source()->up = metrics::EndpointMetrics::Up::up;
            return fingerprint;
        } catch (const Error& e) {
            m_catalog_conn.reset();
            if (e.retryable()) {
                m_registry.source()->up = metrics::EndpointMetrics::Up::down;
            }
            log::warn("source catalog check failed", {{"error", e.what()}});
            return std::nullopt;
        }
    }

    void reload_config() {
        try {
            config::Config fresh = config::load_config_file(m_config.file);
            // The worker threads were started for the first config: the new budget must hold
            // them (and what the new config adds beside them), or it is refused.
            const config::ConnectionNeeds needs = config::connection_needs(fresh, m_worker_count);
            if (needs.source > fresh.connections.source ||
                needs.replica > fresh.connections.replica) {
                throw Error(ErrorCode::config,
                            "the " + std::to_string(m_worker_count) + " running workers need " +
                                std::to_string(needs.source) + " source connections and " +
                                std::to_string(needs.replica) +
                                " to each replica, more than connections allows (source " +
                                std::to_string(fresh.connections.source) + ", replica " +
                                std::to_string(fresh.connections.replica) +
                                "); parallel and connections take effect at the next start");
            }
            if (fresh.parallel != m_worker_count) {
                log::warn("parallel takes effect at the next start",
                          {{"parallel", fresh.parallel}, {"running_workers", m_worker_count}});
            }
            log::setup(fresh.log.level, fresh.log.format);
            pause_workers();
            m_config = std::move(fresh);
            m_catalog_conn.reset();  // source.dsn may have changed
            schema_step();
            start_claim_keepers();  // for a replica the reload added
            resume_workers();
            log::info("configuration reloaded", {{"config", m_config.file}});
        } catch (const Error& e) {
            log::error("configuration reload failed; keeping the running one",
                       {{"error", e.what()}});
        }
    }

    // The scheduling loop is alive: ping systemd's watchdog when due, and keep STATUS= current.
    void beat() {
        alive();
        m_notifier.status(status_text());
    }

    // The loop is turning: /healthz, and systemd's watchdog once READY=1 was sent.
    void alive() {
        const auto now = Clock::now();
        if (m_ready) {
            m_notifier.watchdog(now);
        }
        m_registry.beat(now);
    }

    std::string status_text() {
        StatusCounts counts;
        std::lock_guard lock(m_mutex);
        for (std::size_t i = 0; i < m_schedule.size(); ++i) {
            ++(m_schedule.has_caught_up(i) ? counts.following : counts.copying);
            if (auto figures = m_jobs[i].sync->snapshot_figures()) {
                counts.snapshot_rows_done += figures->first;
                counts.snapshot_rows_estimated += figures->second;
            }
        }
        counts.stopped = m_stopped_tables;
        counts.unavailable = m_unavailable_replicas;
        return status_line(counts);
    }

    // Waiting for the workers' current cycles (a snapshot's may be long) is the loop at work:
    // it keeps the watchdog fed.
    void pause_workers() {
        std::unique_lock lock(m_mutex);
        m_paused = true;
        while (!m_wake.wait_for(lock, milliseconds(200), [this] { return m_active == 0; })) {
            lock.unlock();
            alive();
            lock.lock();
        }
    }

    void resume_workers() {
        {
            std::lock_guard lock(m_mutex);
            m_paused = false;
        }
        m_wake.notify_all();
    }

    // Reads the source catalog and migrates every replica; rebuilds the job list. Workers are
    // paused (or not started yet). A source or replica that could not be planned is tried
    // again with backoff (1 s doubling to 30 s): each try pauses every worker.
    void schema_step() {
        plan_all();
        if (!m_missing_replica) {
            m_replan_failures = 0;
            return;
        }
        db::RetryPolicy policy;
        policy.initial_delay_ms = 1000;
        policy.max_delay_ms = 30000;
        policy.jitter = 0.5;
        ++m_replan_failures;
        m_replan_at = Clock::now() + milliseconds(db::next_delay_ms(
                                         policy, m_replan_failures,
                                         std::uniform_real_distribution<double>(0, 1)(m_random)));
    }

    void plan_all() {
        // The fingerprint the next checks compare with, read before the catalog the plan
        // uses: a change made in between is seen as a change (one more step), never missed.
        m_fingerprint = read_fingerprint().value_or("");
        m_missing_replica = false;
        m_stopped_tables = 0;
        m_failed_replicas = 0;
        std::string unavailable;
        std::vector<std::string> replica_names;
        for (const auto& replica : m_config.replicas) {
            replica_names.push_back(replica.name);
        }
        m_registry.set_replicas(replica_names);
        using Up = metrics::EndpointMetrics::Up;
        SourceView source;
        const auto source_endpoint = m_registry.source();
        try {
            source = read_source(m_config);
            source_endpoint->up = Up::up;
            source_endpoint->paused = false;
        } catch (const Error& e) {
            const bool unreachable = e.code() == ErrorCode::connection;
            source_endpoint->up = unreachable ? Up::down : Up::up;
            source_endpoint->paused = !unreachable;
            log::error("cannot read the source catalog", {{"error", e.what()}});
            m_missing_replica = true;  // try again at the next check
            {
                std::lock_guard lock(m_mutex);
                m_unavailable_replicas = "source";
            }
            if (m_once) {
                m_source_failed = true;
            }
            return;
        }
        for (const auto& problem : source.problems) {
            log::error("configuration problem",
                       {{"problem", config::format_problem(m_config.file, problem)}});
        }
        std::vector<Job> jobs;
        std::vector<SequenceReplica> sequences;
        // Every replica's schema step at once, each on its own connections: with many tables
        // a step is thousands of round trips, and one replica need not wait for another.
        std::vector<std::future<ReplicaOutcome>> steps;
        for (const auto& replica : m_config.replicas) {
            steps.push_back(std::async(std::launch::async, [this, &replica, &source] {
                return apply_schema_step(m_config, replica, source.catalog);
            }));
        }
        for (std::size_t r = 0; r < m_config.replicas.size(); ++r) {
            const auto& replica = m_config.replicas[r];
            const auto endpoint = m_registry.replica(replica.name);
            // Each step may wait for a connection and for locks (10 s each): the loop is at
            // work meanwhile, for the watchdog and /healthz.
            while (steps[r].wait_for(milliseconds(200)) != std::future_status::ready) {
                alive();
            }
            alive();
            try {
                ReplicaOutcome outcome = steps[r].get();
                endpoint->up = Up::up;
                endpoint->paused = !outcome.plan.problems.empty();
                if (!outcome.plan.problems.empty()) {
                    // Nothing was migrated on this replica: copying now would write into a
                    // schema the plan did not apply. Its tables wait for a fixed config.
                    add_name(unavailable, replica.name);
                    for (const auto& problem : outcome.plan.problems) {
                        log::error("configuration problem; replica paused",
                                   {{"replica", replica.name},
                                    {"problem", config::format_problem(m_config.file, problem)}});
                    }
                    if (m_once) {
                        ++m_failed_replicas;
                    } else {
                        m_missing_replica = true;
                    }
                    continue;
                }
                std::set<std::string> targets;
                for (auto& table : outcome.plan.tables) {
                    std::string source_name =
                        config::TableName{table.source_schema, table.source_name}.display();
                    std::string target =
                        config::TableName{table.target_schema, table.target_name}.display();
                    targets.insert(target);
                    auto table_metrics = m_registry.table(replica.name, target);
                    table_metrics->phase =
                        table.stop_reason ? state::Phase::stopped : table.next_state.phase;
                    for (const auto& change : table.changes) {
                        log::info("schema change", {{"replica", replica.name},
                                                    {"source", source_name},
                                                    {"target", target},
                                                    {"change", change}});
                    }
                    if (table.stop_reason) {
                        log::error("table stopped", {{"replica", replica.name},
                                                     {"source", source_name},
                                                     {"target", target},
                                                     {"reason", *table.stop_reason}});
                        ++m_stopped_tables;
                        continue;
                    }
                    Job job;
                    job.replica = r;
                    job.replica_name = replica.name;
                    job.sync = std::make_unique<copy::TableSync>(
                        replica.name, m_config.state_schema, std::move(table));
                    job.metrics = std::move(table_metrics);
                    job.replica_endpoint = endpoint;
                    jobs.push_back(std::move(job));
                }
                m_registry.retain_tables(replica.name, targets);
                sequences.push_back({replica.name, replica.dsn, sequence_poll_interval(replica),
                                     std::move(outcome.plan.sequences)});
            } catch (const Error& e) {
                // Down only when it could not be reached; a reachable replica whose step
                // failed (a lock wait, a DDL error) is up but paused.
                if (e.code() == ErrorCode::connection) {
                    endpoint->up = Up::down;
                } else {
                    endpoint->up = Up::up;
                    endpoint->paused = true;
                }
                log::error("replica unavailable; its tables wait",
                           {{"replica", replica.name}, {"error", e.what()}});
                add_name(unavailable, replica.name);
                if (m_once) {
                    ++m_failed_replicas;  // --once does not wait for it
                } else {
                    m_missing_replica = true;  // plan it again at the next check
                }
            }
        }
        std::vector<ClaimTarget> claim_targets;
        for (const auto& replica : m_config.replicas) {
            milliseconds shortest_poll{k_idle_claim_poll};
            for (const auto& table : replica.tables) {
                shortest_poll = std::min(shortest_poll, table.poll_interval);
            }
            claim_targets.push_back(ClaimTarget{
                replica.name, replica.dsn, m_config.state_schema,
                state::Claim{state::process_claimant(), state::claim_lease(shortest_poll)}});
        }
        m_sequences.set_replicas(m_config.source_dsn, std::move(sequences));
        std::lock_guard lock(m_mutex);
        m_jobs = std::move(jobs);
        m_schedule.reset(m_jobs.size(), Clock::now());
        m_unavailable_replicas = std::move(unavailable);
        m_claim_targets = std::move(claim_targets);
    }

    // Starts a claims heartbeat for each replica that has none yet (at start, and after a
    // reload that adds one). Main thread.
    void start_claim_keepers() {
        for (const auto& replica : m_config.replicas) {
            if (!m_claim_keepers.contains(replica.name)) {
                m_claim_keepers.emplace(
                    replica.name, std::thread([this, name = replica.name] { keep_claims(name); }));
            }
        }
    }

    // A replica's claims heartbeat (state/claims.hpp), one thread per replica so a replica
    // that hangs cannot let another's claims lapse: renews, several times per lease, the claims
    // of the tables this process works there (a batch longer than the lease keeps its table),
    // never waiting for a row lock. Claims of tables it no longer works (a failed cycle, a
    // table gone from the plan, a paused replica) are not renewed and lapse. A replica that
    // cannot be reached is tried again every 30 s. Once the workers have stopped, it gives the
    // claims up, so another daemon takes the tables at its next poll, not after the lease.
    void keep_claims(const std::string& replica) {
        std::unique_ptr<db::Connection> conn;
        std::string conn_dsn;
        std::string state_schema;
        Clock::time_point retry_at{};
        std::unique_lock lock(m_mutex);
        while (!m_claims_done) {
            std::optional<ClaimTarget> target;
            std::vector<std::string> schemas;
            std::vector<std::string> names;
            for (const auto& t : m_claim_targets) {
                if (t.replica == replica) {
                    target = t;
                }
            }
            for (const Job& job : m_jobs) {
                if (job.claimed && job.replica_name == replica) {
                    schemas.push_back(job.sync->plan().target_schema);
                    names.push_back(job.sync->plan().target_name);
                }
            }
            lock.unlock();
            milliseconds every{1000};
            if (target) {
                every = std::clamp(target->claim.lease / 4, milliseconds(200), milliseconds(5000));
                try {
                    if (conn && (!conn->is_ok() || conn_dsn != target->dsn)) {
                        conn.reset();
                    }
                    if (!conn && Clock::now() >= retry_at) {
                        retry_at = Clock::now() + std::chrono::seconds(30);
                        conn = db::Connection::open(target->dsn, "replica:" + replica + ":claims");
                        conn_dsn = target->dsn;
                    }
                    if (conn) {
                        state_schema = target->state_schema;
                        state::renew_claims(*conn, state_schema, target->claim, schemas, names);
                    }
                } catch (const Error& e) {
                    conn.reset();
                    log::warn("cannot renew this process's claims on the replica",
                              {{"replica", replica}, {"error", e.what()}});
                }
            }
            lock.lock();
            m_claims_wake.wait_for(lock, every, [this] { return m_claims_done; });
        }
        lock.unlock();
        try {
            if (conn && conn->is_ok()) {
                state::release_claims(*conn, state_schema, state::process_claimant());
            }
        } catch (const Error& e) {
            log::warn("cannot give up this process's claims; they lapse",
                      {{"replica", replica}, {"error", e.what()}});
        }
    }

    static void add_name(std::string& list, const std::string& name) {
        list += list.empty() ? name : ", " + name;
    }

    // A worker thread: takes the job due first, runs one poll cycle of it.
    void work() {
        WorkerConnections connections;
        std::mt19937_64 random(std::random_device{}());
        while (auto index = take_job([this] { return m_schedule.take_due(Clock::now()); },
                                     milliseconds(100))) {
            // The job list is replaced only while every worker is paused (m_active == 0).
            run_cycle(*index, m_jobs[*index], connections, random);
            job_done();
        }
    }

    // Waits until `pick` (called under m_mutex while the workers are not paused) returns a
    // job, counted active until job_done(); nullopt once the daemon stops.
    template <typename Pick>
    std::optional<std::size_t> take_job(Pick&& pick, milliseconds idle_wait) {
        std::unique_lock lock(m_mutex);
        while (!m_finished && !m_signals.stop) {
            if (!m_paused) {
                if (std::optional<std::size_t> index = pick()) {
                    ++m_active;
                    return index;
                }
            }
            m_wake.wait_for(lock, idle_wait);
        }
        return std::nullopt;
    }

    void job_done() {
        {
            std::lock_guard lock(m_mutex);
            --m_active;
        }
        m_wake.notify_all();
    }

    void run_cycle(std::size_t index, Job& job, WorkerConnections& connections,
                   std::mt19937_64& random) {
        const config::ReplicaSpec& replica = m_config.replicas[job.replica];
        copy::TableSync& sync = *job.sync;
        const plan::TablePlan& table = sync.plan();
        const auto poll = table.spec->poll_interval;
        auto& target = connections.replicas[job.replica];
        try {
            if (!connections.source || !connections.source->is_ok()) {
                connections.source = db::Connection::open(m_config.source_dsn, "source");
            }
            if (!target || !target->is_ok()) {
                target = db::Connection::open(replica.dsn, "replica:" + replica.name);
                target->exec("SET lock_timeout = '" + std::to_string(k_copy_lock_wait.count()) +
                             "s'");
            }
            // Several daemons may share a replica: the table's claim decides which one copies
            // it (state/claims.hpp); a dead or stopped daemon's claim lapses.
            if (!sync.begin_cycle(*target)) {
                log::debug("table is being copied by another syncset",
                           {{"replica", replica.name},
                            {"source", sync.source_name()},
                            {"target", sync.target_name()}});
                std::lock_guard lock(m_mutex);
                job.claimed = false;
                if (m_once && sync.refused_by_live_holder()) {
                    leave_to_its_holder(index, job);
                } else if (m_once) {
                    job.refused_since.reset();  // free or lapsed, only locked: try again
                }
                // Tried again when the holder's claim would lapse, if that is before the next
                // poll: a dead holder's table is taken over as soon as its lease allows.
                milliseconds retry = poll;
                if (sync.refused_by_live_holder()) {
                    retry =
                        std::clamp(sync.refusal_left() + milliseconds(20), milliseconds(20), poll);
                }
                m_schedule.deferred(index, Clock::now(), retry);
                return;
            }
            {
                std::lock_guard lock(m_mutex);
                job.claimed = true;
                job.refused_since.reset();
            }
            std::uint64_t rows = 0;
            std::uint64_t bytes = 0;
            auto started = Clock::now();
            copy::Yield yielded = copy::Yield::none;
            metrics::publish_progress(*job.metrics, sync.progress(),
                                      sync.spec().cursor_is_instant(), now_ms(), true);
            // Both ends work (again): any failure ends the cycle, so this is the one place
            // they come back up, not the end of a cycle that may run for hours.
            m_registry.source()->up = metrics::EndpointMetrics::Up::up;
            job.replica_endpoint->up = metrics::EndpointMetrics::Up::up;
            while (!m_signals.stop) {
                copy::StepResult result = sync.step(*connections.source, *target, &m_signals.stop);
                record_step(*job.metrics, result, sync);
                rows += result.rows;
                bytes += result.bytes;
                if (result.yielded != copy::Yield::none) {
                    yielded = result.yielded;
                    break;
                }
                if (result.caught_up) {
                    std::lock_guard lock(m_mutex);
                    m_schedule.caught_up(index);
                    break;
                }
            }
            sync.release(*connections.source);
            if (rows > 0) {
                auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
                log::info("copied", {{"replica", replica.name},
                                     {"source", sync.source_name()},
                                     {"target", sync.target_name()},
                                     {"rows", rows},
                                     {"bytes", bytes},
                                     {"ms", static_cast<std::int64_t>(ms)}});
            }
            std::lock_guard lock(m_mutex);
            if (yielded == copy::Yield::none) {
                m_schedule.succeeded(index, Clock::now(), poll);
            } else {
                // Taken over by another daemon, or a drift repair is writing the table: nothing
                // failed; the next poll tries again.
                job.claimed = yielded != copy::Yield::claimed_elsewhere;
                m_schedule.deferred(index, Clock::now(), poll);
            }
        } catch (const Error& e) {
            on_failure(index, job, connections, e, random);
        }
    }

    // --once and a table another process holds: a claim that lapses (its process was killed)
    // is taken over within a lease; one held for two leases in a row belongs to a running
    // daemon that keeps the table copied, so --once counts it as done. Under m_mutex.
    void leave_to_its_holder(std::size_t index, Job& job) {
        const auto now = Clock::now();
        if (!job.refused_since) {
            job.refused_since = now;
            return;
        }
        if (now - *job.refused_since >
                2 * state::claim_lease(job.sync->plan().spec->poll_interval) &&
            !m_schedule.has_caught_up(index)) {
            m_schedule.caught_up(index);
            log::info("table is copied by another syncset process; --once leaves it to it",
                      {{"replica", m_config.replicas[job.replica].name},
                       {"source", job.sync->source_name()},
                       {"target", job.sync->target_name()}});
        }
    }

    void on_failure(std::size_t index, const Job& job, WorkerConnections& connections,
                    const Error& e, std::mt19937_64& random) {
        const copy::TableSync& sync = *job.sync;
        const auto poll = sync.plan().spec->poll_interval;
        if (m_signals.stop) {
            // Interrupted on purpose: rolled back, nothing to report.
            connections.source.reset();
            connections.replicas.erase(job.replica);
            std::lock_guard lock(m_mutex);
            m_schedule.deferred(index, Clock::now(), poll);
            return;
        }
        if (!e.retryable() && (e.code() == ErrorCode::database || e.code() == ErrorCode::schema)) {
            m_replan_requested = true;  // the schema may have moved under us
        }
        (e.retryable() ? job.metrics->errors_retryable : job.metrics->errors_fatal)
            .fetch_add(1, std::memory_order_relaxed);
        if (e.retryable()) {
            record_endpoints(*m_registry.source(), *job.replica_endpoint, connections.source,
                             connections.replicas[job.replica]);
        }
        milliseconds delay;
        std::string message;
        {
            std::lock_guard lock(m_mutex);
            delay = m_schedule.failed(index, Clock::now(), e,
                                      std::uniform_real_distribution<double>(0, 1)(random));
            // Not renewed while it waits: a peer that can copy the table may take it.
            m_jobs[index].claimed = false;
            message = m_schedule.failure_message(index);
        }
        record_error(job, connections.replicas[job.replica], e.retryable(), message);
        // Connections may be mid-COPY or broken: start over with fresh ones.
        connections.source.reset();
        connections.replicas.erase(job.replica);
        log::warn(e.retryable() ? "batch failed; retrying" : "table failed",
                  {{"replica", m_config.replicas[job.replica].name},
                   {"source", sync.source_name()},
                   {"target", sync.target_name()},
                   {"error", message},
                   {"retry_in_ms", static_cast<std::int64_t>(delay.count())}});
    }

    // The drift thread: scans, one at a time and paced, each table whose loop has caught up
    // once and whose last scan is older than drift.interval (by the replica's state, so a
    // restart does not rescan everything). This is also how hard deletes on the source reach
    // the replica (with drift.repair).
    void scan_drift() {
        WorkerConnections connections;
        auto pick = [this]() -> std::optional<std::size_t> {
            if (m_config.drift.interval.count() <= 0) {
                return std::nullopt;
            }
            return next_drift_job(Clock::now());
        };
        while (auto index = take_job(pick, milliseconds(500))) {
            scan_table(m_jobs[*index], connections);  // the job list stays while it runs
            job_done();
        }
    }

    // The job whose drift check is due first at `now`, if any. Under m_mutex.
    std::optional<std::size_t> next_drift_job(Clock::time_point now) const {
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < m_jobs.size(); ++i) {
            const Job& job = m_jobs[i];
            if (job.sync->spec().key_count == 0 || !m_schedule.has_caught_up(i) || !job.claimed ||
                job.next_drift_check > now) {
                continue;  // without a key nothing compares rows: such tables are reloaded
            }
            if (!best || job.next_drift_check < m_jobs[*best].next_drift_check) {
                best = i;
            }
        }
        return best;
    }

    void scan_table(Job& job, WorkerConnections& connections) {
        const config::ReplicaSpec& replica = m_config.replicas[job.replica];
        const copy::TableSync& sync = *job.sync;
        const auto interval = m_config.drift.interval;
        // Asked again at most every 5 minutes: another daemon may have scanned it meanwhile.
        job.next_drift_check =
            Clock::now() + std::min<milliseconds>(interval, std::chrono::minutes(5));
        try {
            if (!connections.source || !connections.source->is_ok()) {
                connections.source = db::Connection::open(m_config.source_dsn, "source:drift");
            }
            auto& target = connections.replicas[job.replica];
            if (!target || !target->is_ok()) {
                target = db::Connection::open(replica.dsn, "replica:" + replica.name + ":drift");
            }
            if (!state::read_drift_due(*target, m_config.state_schema, sync.plan().target_schema,
                                       sync.plan().target_name, interval)) {
                return;
            }
            drift::ScanOptions scan;
            scan.repair = m_config.drift.repair;
            scan.max_rows_per_second = m_config.drift.max_rows_per_second;
            scan.source_cache = &m_source_scans;
            scan.replica = replica.name;
            scan.state_schema = m_config.state_schema;
            scan.target_schema = sync.plan().target_schema;
            scan.target_name = sync.plan().target_name;
            scan.recheck_timeout = 2 * sync.plan().spec->poll_interval + std::chrono::seconds(1);
            log::info("drift scan started", {{"replica", replica.name},
                                             {"source", sync.source_name()},
                                             {"target", sync.target_name()}});
            drift::TableReport report =
                drift::scan_table(*connections.source, *target, sync.spec(), scan, &m_signals.stop);
            record_scan(job, *target, report);
            job.next_drift_check = Clock::now() + interval;
        } catch (const Error& e) {
            connections.source.reset();
            connections.replicas.erase(job.replica);
            if (!m_signals.stop) {
                log::warn("drift scan failed", {{"replica", replica.name},
                                                {"source", sync.source_name()},
                                                {"target", sync.target_name()},
                                                {"error", e.what()}});
            }
        }
    }

    void record_scan(const Job& job, db::Connection& target, const drift::TableReport& report) {
        const config::ReplicaSpec& replica = m_config.replicas[job.replica];
        const copy::TableSync& sync = *job.sync;
        const drift::Diff& d = report.drift;
        const auto ms = static_cast<std::int64_t>(report.seconds * 1000);
        metrics::TableMetrics& m = *job.metrics;
        constexpr auto relaxed = std::memory_order_relaxed;
        m.rows_repair.fetch_add(report.repair_rows_written, relaxed);
        m.rows_deleted.fetch_add(report.repair_rows_deleted, relaxed);
        m.drift_missing.store(static_cast<std::int64_t>(d.missing.size()), relaxed);
        m.drift_extra.store(static_cast<std::int64_t>(d.extra.size()), relaxed);
        m.drift_different.store(static_cast<std::int64_t>(d.different.size()), relaxed);
        m.drift_scan_ms.store(now_ms(), relaxed);
        state::write_drift_result(
            target, m_config.state_schema, sync.plan().target_schema, sync.plan().target_name,
            state::DriftResult{.checked_at = "",
                               .rows = report.source_rows,
                               .missing = static_cast<std::int64_t>(d.missing.size()),
                               .extra = static_cast<std::int64_t>(d.extra.size()),
                               .different = static_cast<std::int64_t>(d.different.size()),
                               .repaired = report.repaired,
                               .ms = ms,
                               .in_sync_at = ""});
        if (d.empty()) {
            log::info("drift scan: in sync", {{"replica", replica.name},
                                              {"source", sync.source_name()},
                                              {"target", sync.target_name()},
                                              {"rows", report.source_rows},
                                              {"ms", ms},
                                              {"bytes", report.bytes_read},
                                              {"in_flight_rows", report.in_flight_rows},
                                              {"source_scans_reused", report.source_scans_reused}});
        } else {
            log::warn("drift scan: rows differ",
                      {{"replica", replica.name},
                       {"source", sync.source_name()},
                       {"target", sync.target_name()},
                       {"missing", d.missing.size()},
                       {"extra", d.extra.size()},
                       {"different", d.different.size()},
                       {"repaired", report.repaired},
                       {"ms", ms},
                       {"source_scans_reused", report.source_scans_reused}});
        }
    }

    // Best effort: the error, with every failure since the last success folded in, shows in
    // `syncset status`. A retryable failure (the source or the network went away) is written
    // on the job's replica connection when that still works, and never waits for a new one;
    // a non-retryable one always gets its own connection.
    void record_error(const Job& job, std::unique_ptr<db::Connection>& target, bool retryable,
                      const std::string& message) {
        const config::ReplicaSpec& replica = m_config.replicas[job.replica];
        const plan::TablePlan& table = job.sync->plan();
        try {
            if (target && target->is_ok()) {
                target->try_rollback();
                state::write_error(*target, m_config.state_schema, table.target_schema,
                                   table.target_name, message);
            } else if (!retryable) {
                auto conn = db::Connection::open(replica.dsn, "replica:" + replica.name);
                state::write_error(*conn, m_config.state_schema, table.target_schema,
                                   table.target_name, message);
            }
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the log line has it
        }
    }

    config::Config m_config;
    bool m_once;
    Signals& m_signals;
    Notifier& m_notifier;  // main thread only
    metrics::Registry& m_registry;
    Schedule m_schedule;  // guarded by m_mutex
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_claims_wake;
    std::vector<Job> m_jobs;
    std::vector<ClaimTarget> m_claim_targets;            // under m_mutex
    bool m_claims_done = false;                          // under m_mutex: the heartbeats stop
    int m_worker_count = 0;                              // copy worker threads started; main thread
    std::map<std::string, std::thread> m_claim_keepers;  // by replica name; main thread
    bool m_paused = false;
    bool m_finished = false;
    int m_active = 0;
    std::atomic<bool> m_replan_requested{false};
    bool m_missing_replica = false;
    bool m_ready = false;                 // READY=1 sent; main thread
    std::uint32_t m_replan_failures = 0;  // schema steps in a row that left something unplanned
    Clock::time_point m_replan_at{};      // the next try for what is unplanned
    std::mt19937_64 m_random{std::random_device{}()};  // main thread
    std::string m_unavailable_replicas;  // for STATUS=: whose schema step failed, under m_mutex
    bool m_source_failed = false;
    std::size_t m_stopped_tables = 0;
    std::size_t m_failed_replicas = 0;
    std::unique_ptr<db::Connection> m_catalog_conn;
    std::string m_fingerprint;
    // Replicas of the same table scanned within a minute of each other share the source's
    // whole-table scans.
    drift::SourceCache m_source_scans{std::chrono::minutes(1)};
    SequenceLoop m_sequences{m_signals.stop};  // `sequences:` entries, on a thread of their own
};

}  // namespace

void install_signal_handlers(Signals& signals) {
    g_signals = &signals;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGHUP, &action, nullptr);
}

int run(config::Config config, bool once, Signals& signals, Notifier& notifier,
        metrics::Registry& registry) {
    return Daemon(std::move(config), once, signals, notifier, registry).run();
}

}  // namespace syncset::daemon
