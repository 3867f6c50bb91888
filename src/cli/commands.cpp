#include "commands.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/report.hpp"
#include "syncset/config/validate.hpp"
#include "syncset/copy/sql.hpp"
#include "syncset/daemon/daemon.hpp"
#include "syncset/daemon/schema_step.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/dsn.hpp"
#include "syncset/db/retry.hpp"
#include "syncset/drift/scanner.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"
#include "syncset/metrics/server.hpp"
#include "syncset/plan/render.hpp"
#include "syncset/state/locks.hpp"
#include "syncset/state/progress.hpp"
#include "syncset/state/store.hpp"

namespace syncset::cli {

namespace {

std::size_t count_tables(const config::Config& config) {
    std::size_t tables = 0;
    for (const auto& replica : config.replicas) {
        tables += replica.tables.size();
    }
    return tables;
}

// Config/catalog disagreements: one `FILE:LINE:COL: KEY.PATH: message` line each, then exit 2.
int report_problems(const config::Config& config, const std::vector<config::Problem>& problems) {
    for (const auto& p : problems) {
        std::cerr << config::format_problem(config.file, p) << '\n';
    }
    std::cerr << "syncset: the configuration and the databases disagree (" << problems.size()
              << (problems.size() == 1 ? " problem" : " problems") << "); nothing was changed\n";
    return k_exit_usage;
}

}  // namespace

config::Config load(const Options& options) {
    config::Config config = config::load_config_file(options.config_path);
    // CLI11 has checked these against the same names.
    if (auto level = config::log_level_from_string(options.log_level)) {
        config.log.level = *level;
    }
    if (auto format = config::log_format_from_string(options.log_format)) {
        config.log.format = *format;
    }
    log::setup(config.log.level, config.log.format);
    return config;
}

int cmd_validate(const Options& options) {
    config::Config config = config::load_config_file(options.config_path);
    std::size_t replicas = config.replicas.size();
    std::size_t tables = count_tables(config);
    std::cout << options.config_path << ": ok (" << replicas
              << (replicas == 1 ? " replica, " : " replicas, ") << tables
              << (tables == 1 ? " table entry)" : " table entries)") << '\n';
    return k_exit_ok;
}

int cmd_plan(const Options& options) {
    config::Config config = load(options);
    daemon::SourceView source = daemon::read_source(config);
    std::vector<config::Problem> problems = source.problems;
    std::string text;
    for (const auto& replica : config.replicas) {
        plan::ReplicaPlan plan = [&] {
            try {
                return daemon::read_and_plan(config, replica, source.catalog);
            } catch (const Error& e) {
                throw e.with_context("replica " + replica.name);
            }
        }();
        problems.insert(problems.end(), plan.problems.begin(), plan.problems.end());
        text += plan::render_plan(plan, db::redact_dsn(replica.dsn));
    }
    if (!problems.empty()) {
        return report_problems(config, problems);
    }
    std::cout << text;
    return k_exit_ok;
}

int cmd_run(const Options& options) {
    config::Config config = load(options);
    log::info("syncset starting", {{"config", config.file},
                                   {"replicas", config.replicas.size()},
                                   {"source", db::redact_dsn(config.source_dsn)},
                                   {"once", options.once ? "true" : "false"}});
    static daemon::Signals signals;
    daemon::install_signal_handlers(signals);
    daemon::Notifier notifier = daemon::Notifier::from_environment();
    // Bound before anything else is done: a port in use fails the start (exit 2), and health
    // answers while the source is awaited.
    metrics::Registry registry(SYNCSET_VERSION);
    registry.beat(std::chrono::steady_clock::now());
    std::optional<metrics::HttpServer> http;
    if (config.metrics.listen && !options.once) {
        http.emplace(*config.metrics.listen, registry);
    }
    // A source that is restarting or briefly unreachable is waited for, as during the run;
    // --once gives up after a few attempts. Errors waiting cannot fix end the run (exit 3),
    // with every attempt's message folded into one.
    daemon::SourceView source;
    try {
        constexpr std::uint32_t k_once_attempts = 5;
        db::RetryPolicy policy;
        policy.max_attempts = options.once ? k_once_attempts : 0;  // 0: until stopped
        db::RetryLimits limits;
        limits.stop = &signals.stop;
        db::SystemRetryClock clock;
        source = db::retry(
            policy, clock, [&] { return daemon::read_source(config); },
            [&notifier, &registry](const Error& e, std::uint32_t, std::chrono::milliseconds delay) {
                registry.source()->up = metrics::EndpointMetrics::Up::down;
                registry.beat(std::chrono::steady_clock::now());
                notifier.status(daemon::status_waiting_for_source(e.what()));
                log::warn("source unavailable; retrying",
                          {{"error", e.what()},
                           {"retry_in_ms", static_cast<std::int64_t>(delay.count())}});
            },
            limits);
    } catch (const Error&) {
        if (signals.stop) {
            return k_exit_ok;  // stopped while waiting: nothing was started
        }
        throw;
    }
    // Every replica is planned read-only first: a problem anywhere stops the run before any
    // replica is changed. An unreachable replica does not hold back the others.
    std::vector<config::Problem> problems = source.problems;
    for (const auto& replica : config.replicas) {
        try {
            auto plan = daemon::read_and_plan(config, replica, source.catalog);
            problems.insert(problems.end(), plan.problems.begin(), plan.problems.end());
        } catch (const Error& e) {
            if (!e.retryable()) {
                throw e.with_context("replica " + replica.name);
            }
            log::warn("replica unavailable", {{"replica", replica.name}, {"error", e.what()}});
        }
    }
    if (!problems.empty()) {
        return report_problems(config, problems);
    }
    int status = daemon::run(std::move(config), options.once, signals, notifier, registry);
    log::info("syncset stopped", {{"exit_status", status}});
    return status;
}

namespace {

// Each replica's table progress, or why it could not be read.
StatusReport read_status(const config::Config& config) {
    StatusReport report;
    for (const auto& replica : config.replicas) {
        StatusReplica& out = report.replicas.emplace_back();
        out.name = replica.name;
        out.where = db::redact_dsn(replica.dsn);
        try {
            auto conn = db::Connection::open(replica.dsn, "status:" + replica.name);
            out.tables = state::read_progress(*conn, config.state_schema);
        } catch (const Error& e) {
            out.error = e.what();
        }
    }
    return report;
}

}  // namespace

int cmd_status(const Options& options) {
    config::Config config = load(options);
    StatusReport report = read_status(config);
    std::cout << (options.json ? render_status_json(report) : render_status_text(report));
    const bool unreadable = std::any_of(report.replicas.begin(), report.replicas.end(),
                                        [](const StatusReplica& r) { return r.error.has_value(); });
    return unreadable ? k_exit_database : k_exit_ok;
}

namespace {

std::string joined_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        out += (out.empty() ? "" : ", ") + name;
    }
    return out.empty() ? "none" : out;
}

const config::ReplicaSpec& find_replica(const config::Config& config, const std::string& name) {
    std::vector<std::string> names;
    for (const auto& replica : config.replicas) {
        if (replica.name == name) {
            return replica;
        }
        names.push_back(replica.name);
    }
    throw Error(ErrorCode::usage,
                "resync: no replica named '" + name + "' (replicas: " + joined_names(names) + ")");
}

}  // namespace

int cmd_resync(const Options& options) {
    config::Config config = load(options);
    const config::ReplicaSpec& replica = find_replica(config, options.replica);
    const auto target = config::parse_table_name(options.table);
    if (!target || target->has_glob()) {
        throw Error(ErrorCode::usage,
                    "resync: --table '" + options.table + "' is not one table name (schema.name)");
    }
    auto conn = db::Connection::open(replica.dsn, "resync:" + replica.name);
    // The request has its own column (metadata schema version 5): a schema an older syncset
    // still runs on has nowhere to record it, and that syncset would not read it.
    constexpr int k_resync_request_version = 5;
    if (const int version = state::read_schema_version(*conn, config.state_schema);
        version > 0 && version < k_resync_request_version) {
        throw Error(ErrorCode::schema,
                    "resync: replica " + replica.name + ": metadata schema " + config.state_schema +
                        " is at version " + std::to_string(version) + ", older than version " +
                        std::to_string(k_resync_request_version) +
                        ", which records resync requests",
                    false, "restart 'syncset run' with this syncset first: it upgrades the schema");
    }
    const std::vector<state::Progress> tables = state::read_progress(*conn, config.state_schema);
    std::vector<std::string> names;
    const state::Progress* found = nullptr;
    for (const auto& t : tables) {
        const config::TableName name{t.target_schema, t.target_name};
        names.push_back(name.display());
        if (name == *target) {
            found = &t;
        }
    }
    const std::string where = "replica " + replica.name + ": ";
    if (found == nullptr) {
        throw Error(ErrorCode::usage,
                    "resync: " + where + "no table " + target->display() +
                        " in its metadata (tables: " + joined_names(names) + ")",
                    false, tables.empty() ? "run 'syncset run' first: it creates the tables" : "");
    }
    // A keyless table's snapshot path appends (there is no key to upsert on): a resync would
    // duplicate its rows. It is copied in full at every poll anyway.
    for (const auto& st : state::read_tables(*conn, config.state_schema)) {
        if (st.target_schema == target->schema && st.target_name == target->table &&
            st.key.empty()) {
            throw Error(ErrorCode::usage, "resync: " + where + target->display() +
                                              " has no key: it is re-copied in full at every "
                                              "poll already, so there is nothing to resync");
        }
    }
    if (found->phase == state::Phase::stopped) {
        throw Error(ErrorCode::usage, "resync: " + where + target->display() + " is stopped (" +
                                          found->stop_reason +
                                          "); fix that first: the next schema step resumes it");
    }
    // Recorded at once, without the table's lock, which a running daemon holds for a whole
    // poll cycle (a snapshot or a backlog runs until it has caught up): its copy loop takes the
    // request up at its next checkpoint, or its next cycle, or the next run's. Nor the
    // migration lock: a schema step writing this row back (upsert_table.sql) leaves the
    // request's column alone.
    if (!state::request_resync(*conn, config.state_schema, target->schema, target->table)) {
        throw Error(ErrorCode::usage,
                    "resync: " + where + target->display() + " was stopped or removed meanwhile");
    }
    std::cout << where << target->display()
              << ": resync request recorded; a running 'syncset run' starts the re-copy after "
                 "its current batch, otherwise the next run does\n";
    return k_exit_ok;
}

namespace {

// Every planned table of every replica, in plan order, classified from the replica's progress:
// stopped, still in its first copy, or to be compared. Opens the replica connections the scan
// then uses, one per replica, into `conns`.
CheckReport read_check_tables(const config::Config& config,
                              const std::vector<plan::ReplicaPlan>& plans, bool repair,
                              std::vector<std::unique_ptr<db::Connection>>& conns) {
    CheckReport report;
    report.repair = repair;
    for (std::size_t r = 0; r < config.replicas.size(); ++r) {
        const auto& replica = config.replicas[r];
        conns.push_back(db::Connection::open(replica.dsn, "replica:" + replica.name + ":check"));
        std::vector<state::Progress> progress =
            state::read_progress(*conns.back(), config.state_schema);
        CheckReplica& out = report.replicas.emplace_back();
        out.name = replica.name;
        out.where = db::redact_dsn(replica.dsn);
        for (const auto& table : plans[r].tables) {
            CheckTable& t = out.tables.emplace_back();
            t.source = config::TableName{table.source_schema, table.source_name}.display();
            t.target = config::TableName{table.target_schema, table.target_name}.display();
            auto p = std::find_if(progress.begin(), progress.end(), [&](const state::Progress& x) {
                return x.target_schema == table.target_schema && x.target_name == table.target_name;
            });
            if (table.stop_reason || (p != progress.end() && p->phase == state::Phase::stopped)) {
                t.outcome = CheckOutcome::stopped;
            } else if (p == progress.end() || p->phase != state::Phase::incremental) {
                // Still being copied: differences are expected, not drift.
                t.outcome = CheckOutcome::snapshot;
            }
        }
    }
    return report;
}

// Scans every table to compare and stores its result in `report`. Table by table, every
// replica of a table one after the other, so that replicas selecting the same rows share the
// source's whole-table scans while they are fresh.
void scan_check_tables(const config::Config& config, const std::vector<plan::ReplicaPlan>& plans,
                       const Options& options, db::Connection& source,
                       const std::vector<std::unique_ptr<db::Connection>>& replicas,
                       const std::atomic<bool>* stop, CheckReport& report) {
    struct At {
        std::size_t replica;
        std::size_t table;
    };
    std::vector<At> order;
    for (std::size_t r = 0; r < report.replicas.size(); ++r) {
        for (std::size_t t = 0; t < report.replicas[r].tables.size(); ++t) {
            order.push_back({r, t});
        }
    }
    auto entry = [&](const At& at) -> CheckTable& {
        return report.replicas[at.replica].tables[at.table];
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](const At& a, const At& b) { return entry(a).source < entry(b).source; });
    drift::SourceCache source_scans(std::chrono::minutes(1));
    for (const At& at : order) {
        CheckTable& t = entry(at);
        if (t.outcome != CheckOutcome::compared) {
            continue;
        }
        const plan::TablePlan& table = plans[at.replica].tables[at.table];
        const std::string& replica = config.replicas[at.replica].name;
        drift::ScanOptions scan;
        scan.repair = options.repair;
        scan.state_schema = config.state_schema;
        scan.target_schema = table.target_schema;
        scan.target_name = table.target_name;
        scan.recheck_timeout = 2 * table.spec->poll_interval + std::chrono::seconds(1);
        scan.max_rows_per_second = options.max_rows_per_second;
        scan.source_cache = &source_scans;
        scan.replica = replica;
        try {
            t.scan = drift::scan_table(source, *replicas[at.replica], copy::build_copy_spec(table),
                                       scan, stop);
        } catch (const Error& err) {
            throw err.with_context("replica " + replica + ", table " + t.source);
        }
    }
}

}  // namespace

int cmd_check(const Options& options) {
    config::Config config = load(options);
    daemon::SourceView source = daemon::read_source(config);
    std::vector<config::Problem> problems = source.problems;
    std::vector<plan::ReplicaPlan> plans;
    for (const auto& replica : config.replicas) {
        try {
            plans.push_back(daemon::read_and_plan(config, replica, source.catalog));
        } catch (const Error& e) {
            throw e.with_context("replica " + replica.name);
        }
        problems.insert(problems.end(), plans.back().problems.begin(), plans.back().problems.end());
    }
    if (!problems.empty()) {
        return report_problems(config, problems);
    }
    static daemon::Signals signals;
    daemon::install_signal_handlers(signals);
    auto source_conn = db::Connection::open(config.source_dsn, "source:check");
    std::vector<std::unique_ptr<db::Connection>> replica_conns;
    CheckReport report = read_check_tables(config, plans, options.repair, replica_conns);
    scan_check_tables(config, plans, options, *source_conn, replica_conns, &signals.stop, report);
    std::cout << (options.json ? render_check_json(report) : render_check_text(report));
    return check_exit_status(report);
}

}  // namespace syncset::cli
