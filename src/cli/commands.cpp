#include "commands.hpp"

#include <algorithm>
#include <numeric>
#include <cstdio>
#include <iostream>
#include <random>

#include "syncset/config/validate.hpp"
#include "syncset/copy/sql.hpp"
#include "syncset/daemon/daemon.hpp"
#include "syncset/daemon/schema_step.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/dsn.hpp"
#include "syncset/db/retry.hpp"
#include "syncset/drift/scanner.hpp"
#include "syncset/error.hpp"
#include "syncset/json.hpp"
#include "syncset/log/log.hpp"
#include "syncset/plan/render.hpp"
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
    // A source that is restarting or briefly unreachable is waited for, as during the run;
    // --once gives up after a few attempts. Errors waiting cannot fix end the run (exit 3).
    daemon::SourceView source;
    std::mt19937_64 random(std::random_device{}());
    for (std::uint32_t failures = 1;; ++failures) {
        try {
            source = daemon::read_source(config);
            break;
        } catch (const Error& e) {
            constexpr std::uint32_t k_once_attempts = 5;
            if (signals.stop) {
                return k_exit_ok;  // stopped while waiting: nothing was started
            }
            if (!e.retryable() || (options.once && failures >= k_once_attempts)) {
                throw;
            }
            auto delay = std::chrono::milliseconds(db::next_delay_ms(
                db::RetryPolicy{}, failures, std::uniform_real_distribution<double>(0, 1)(random)));
            log::warn(
                "source unavailable; retrying",
                {{"error", e.what()}, {"retry_in_ms", static_cast<std::int64_t>(delay.count())}});
            db::SystemRetryClock().sleep_for(delay, &signals.stop);
        }
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
    int status = daemon::run(std::move(config), options.once, signals);
    log::info("syncset stopped", {{"exit_status", status}});
    return status;
}

namespace {

std::string json_or_null(const std::string& text) {
    return text.empty() ? std::string("null") : json_quote(text);
}

std::string json_number_or_null(const std::optional<std::int64_t>& value) {
    return value ? std::to_string(*value) : std::string("null");
}

std::string position_text(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
        out += (out.empty() ? "" : ", ") + v;
    }
    return out;
}

}  // namespace

int cmd_status(const Options& options) {
    config::Config config = load(options);
    std::string text;
    std::string json = "{\"replicas\":[";
    int status = k_exit_ok;
    for (std::size_t r = 0; r < config.replicas.size(); ++r) {
        const auto& replica = config.replicas[r];
        json += (r > 0 ? "," : "") + std::string("{\"name\":") + json_quote(replica.name);
        text += "replica " + replica.name + " (" + db::redact_dsn(replica.dsn) + ")\n";
        std::vector<state::Progress> tables;
        try {
            auto conn = db::Connection::open(replica.dsn, "status:" + replica.name);
            tables = state::read_progress(*conn, config.state_schema);
        } catch (const Error& e) {
            text += "  error: " + std::string(e.what()) + "\n";
            json += ",\"error\":" + json_quote(e.what()) + "}";
            status = k_exit_database;
            continue;
        }
        if (tables.empty()) {
            text += "  no table state yet (run 'syncset run' first)\n";
        }
        json += ",\"tables\":[";
        for (std::size_t i = 0; i < tables.size(); ++i) {
            const auto& t = tables[i];
            std::string target = config::TableName{t.target_schema, t.target_name}.display();
            std::string source = config::TableName{t.source_schema, t.source_name}.display();
            std::string cursor = position_text(t.cursor);
            text += "  " + target + " <- " + source + ": " + std::string(state::to_string(t.phase));
            if (t.pending != state::Work::none) {
                text += ", pending " + std::string(state::to_string(t.pending));
            }
            text += "\n    rows copied " + std::to_string(t.rows_copied) + ", cursor " +
                    (cursor.empty() ? "-" : t.cursor_kind + " " + cursor);
            text += "\n    last success " + (t.last_success.empty() ? "never" : t.last_success);
            if (t.since_success_s) {
                // Every poll that catches up records a success, so this bounds the lag.
                text += " (" + std::to_string(*t.since_success_s) + " s ago)";
            }
            if (!t.last_error.empty()) {
                text += "\n    last error (" + t.last_error_at + "): " + t.last_error;
            }
            if (!t.last_drift.checked_at.empty()) {
                const auto& d = t.last_drift;
                text += "\n    last drift scan " + d.checked_at + ": " +
                        (d.missing + d.extra + d.different == 0
                             ? std::string("in sync")
                             : std::to_string(d.missing) + " missing, " + std::to_string(d.extra) +
                                   " extra, " + std::to_string(d.different) + " different, " +
                                   std::to_string(d.repaired) + " repaired");
            }
            if (!t.stop_reason.empty()) {
                text += "\n    stopped: " + t.stop_reason;
            }
            text += "\n";
            json += (i > 0 ? "," : "") + std::string("{\"target\":") + json_quote(target) +
                    ",\"source\":" + json_quote(source) +
                    ",\"phase\":" + json_quote(state::to_string(t.phase)) +
                    ",\"pending\":" + json_quote(state::to_string(t.pending)) +
                    ",\"rows_copied\":" + std::to_string(t.rows_copied) +
                    ",\"cursor_kind\":" + json_or_null(t.cursor_kind) +
                    ",\"cursor\":" + json_or_null(cursor) +
                    ",\"cursor_age_s\":" + json_number_or_null(t.cursor_lag_s) +
                    ",\"last_success\":" + json_or_null(t.last_success) +
                    ",\"seconds_since_success\":" + json_number_or_null(t.since_success_s) +
                    ",\"last_error\":" + json_or_null(t.last_error) +
                    ",\"last_error_at\":" + json_or_null(t.last_error_at) +
                    ",\"stop_reason\":" + json_or_null(t.stop_reason) + ",\"last_drift_scan\":" +
                    (t.last_drift.checked_at.empty()
                         ? std::string("null")
                         : "{\"at\":" + json_quote(t.last_drift.checked_at) +
                               ",\"rows\":" + std::to_string(t.last_drift.rows) +
                               ",\"missing\":" + std::to_string(t.last_drift.missing) +
                               ",\"extra\":" + std::to_string(t.last_drift.extra) +
                               ",\"different\":" + std::to_string(t.last_drift.different) +
                               ",\"repaired\":" + std::to_string(t.last_drift.repaired) + "}") +
                    "}";
        }
        json += "]}";
    }
    json += "]}";
    text +=
        "note: rows deleted on the source (hard deletes) reach cursor replicas through the "
        "daemon's drift scan (drift.interval, drift.repair) or 'syncset check --repair'; "
        "cursor 'none' and mode 'mirror' tables see them at every poll\n";
    std::cout << (options.json ? json + "\n" : text);
    return status;
}

namespace {

constexpr std::size_t k_keys_shown = 10;

std::string key_text(const std::vector<std::string>& key) {
    std::string out = "(";
    for (std::size_t i = 0; i < key.size(); ++i) {
        out += (i > 0 ? ", " : "") + key[i];
    }
    return out + ")";
}

std::string keys_text(const std::vector<std::vector<std::string>>& keys) {
    std::string out;
    for (std::size_t i = 0; i < keys.size() && i < k_keys_shown; ++i) {
        out += (i > 0 ? ", " : "") + key_text(keys[i]);
    }
    if (keys.size() > k_keys_shown) {
        out += ", ... (" + std::to_string(keys.size() - k_keys_shown) + " more)";
    }
    return out;
}

std::string keys_json(const std::vector<std::vector<std::string>>& keys) {
    std::string out = "[";
    for (std::size_t i = 0; i < keys.size() && i < k_keys_shown; ++i) {
        out += i > 0 ? ",[" : "[";
        for (std::size_t j = 0; j < keys[i].size(); ++j) {
            out += (j > 0 ? "," : "") + json_quote(keys[i][j]);
        }
        out += "]";
    }
    return out + "]";
}

std::string bytes_text(std::uint64_t bytes) {
    return bytes < 10 * 1024 ? std::to_string(bytes) + " B" : std::to_string(bytes / 1024) + " KB";
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

    // What each table is: stopped, still in its first copy, or compared (its report).
    enum class Outcome { stopped, snapshot, compared };
    struct Entry {
        std::size_t replica = 0;
        const plan::TablePlan* table = nullptr;
        std::string source_name;
        std::string target_name;
        Outcome outcome = Outcome::compared;
        drift::TableReport report;
    };
    std::vector<std::unique_ptr<db::Connection>> replica_conns;
    std::vector<Entry> entries;
    for (std::size_t r = 0; r < config.replicas.size(); ++r) {
        const auto& replica = config.replicas[r];
        replica_conns.push_back(
            db::Connection::open(replica.dsn, "replica:" + replica.name + ":check"));
        std::vector<state::Progress> progress =
            state::read_progress(*replica_conns.back(), config.state_schema);
        for (const auto& table : plans[r].tables) {
            Entry e;
            e.replica = r;
            e.table = &table;
            e.source_name = config::TableName{table.source_schema, table.source_name}.display();
            e.target_name = config::TableName{table.target_schema, table.target_name}.display();
            auto p = std::find_if(progress.begin(), progress.end(), [&](const state::Progress& x) {
                return x.target_schema == table.target_schema && x.target_name == table.target_name;
            });
            if (table.stop_reason || (p != progress.end() && p->phase == state::Phase::stopped)) {
                e.outcome = Outcome::stopped;
            } else if (p == progress.end() || p->phase != state::Phase::incremental) {
                // Still being copied: differences are expected, not drift.
                e.outcome = Outcome::snapshot;
            }
            entries.push_back(std::move(e));
        }
    }

    // Scanned table by table, every replica of a table one after the other, so that replicas
    // selecting the same rows share the source's whole-table scans while they are fresh.
    drift::SourceCache source_scans(std::chrono::minutes(1));
    std::vector<std::size_t> order(entries.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return entries[a].source_name < entries[b].source_name;
    });
    for (std::size_t i : order) {
        Entry& e = entries[i];
        if (e.outcome != Outcome::compared) {
            continue;
        }
        drift::ScanOptions scan;
        scan.repair = options.repair;
        scan.state_schema = config.state_schema;
        scan.target_schema = e.table->target_schema;
        scan.target_name = e.table->target_name;
        scan.recheck_timeout = 2 * e.table->spec->poll_interval + std::chrono::seconds(1);
        scan.max_rows_per_second = options.max_rows_per_second;
        scan.source_cache = &source_scans;
        scan.replica = config.replicas[e.replica].name;
        try {
            e.report = drift::scan_table(*source_conn, *replica_conns[e.replica],
                                         copy::build_copy_spec(*e.table), scan, &signals.stop);
        } catch (const Error& err) {
            throw err.with_context("replica " + config.replicas[e.replica].name + ", table " +
                                   e.source_name);
        }
    }

    std::string text;
    std::string json = "{\"replicas\":[";
    std::size_t in_sync = 0;
    std::size_t drifted = 0;
    std::size_t unresolved = 0;  // not compared: stopped, or initial copy not finished
    std::size_t unrepaired = 0;
    std::size_t next = 0;
    for (std::size_t r = 0; r < config.replicas.size(); ++r) {
        const auto& replica = config.replicas[r];
        text += "replica " + replica.name + " (" + db::redact_dsn(replica.dsn) + ")\n";
        json += (r > 0 ? "," : "") + std::string("{\"name\":") + json_quote(replica.name) +
                ",\"tables\":[";
        bool first = true;
        for (; next < entries.size() && entries[next].replica == r; ++next) {
            const Entry& e = entries[next];
            json += (first ? "" : ",") + std::string("{\"source\":") + json_quote(e.source_name) +
                    ",\"target\":" + json_quote(e.target_name);
            first = false;
            text += "  " + e.source_name + " -> " + e.target_name + ": ";
            if (e.outcome == Outcome::stopped) {
                text += "stopped, not compared\n";
                json += ",\"status\":\"stopped\"}";
                ++unresolved;
                continue;
            }
            if (e.outcome == Outcome::snapshot) {
                text += "initial copy not finished, not compared\n";
                json += ",\"status\":\"snapshot\"}";
                ++unresolved;
                continue;
            }
            const drift::TableReport& report = e.report;
            const auto& d = report.drift;
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%.3f", report.seconds);
            std::string cost =
                std::string(seconds) + " s, " + bytes_text(report.bytes_read) + " read";
            if (d.empty()) {
                ++in_sync;
                text += std::to_string(report.source_rows) + " rows, in sync (" + cost + ")\n";
            } else {
                ++drifted;
                text += std::to_string(report.source_rows) +
                        " rows, DRIFT: " + std::to_string(d.missing.size()) + " missing, " +
                        std::to_string(d.extra.size()) + " extra, " +
                        std::to_string(d.different.size()) + " different (" + cost + ")\n";
                if (!d.missing.empty()) {
                    text += "    missing on the replica: " + keys_text(d.missing) + "\n";
                }
                if (!d.extra.empty()) {
                    text += "    extra on the replica: " + keys_text(d.extra) + "\n";
                }
                if (!d.different.empty()) {
                    text += "    different: " + keys_text(d.different) + "\n";
                }
                if (options.repair) {
                    text += "    repaired " + std::to_string(report.repaired) + " of " +
                            std::to_string(d.size()) + "\n";
                    if (!report.after_repair.empty()) {
                        ++unrepaired;
                    }
                }
            }
            json +=
                ",\"status\":" + json_quote(d.empty() ? "in_sync" : "drift") +
                ",\"source_rows\":" + std::to_string(report.source_rows) +
                ",\"replica_rows\":" + std::to_string(report.replica_rows) +
                ",\"missing\":" + std::to_string(d.missing.size()) +
                ",\"extra\":" + std::to_string(d.extra.size()) +
                ",\"different\":" + std::to_string(d.different.size()) +
                ",\"missing_keys\":" + keys_json(d.missing) +
                ",\"extra_keys\":" + keys_json(d.extra) +
                ",\"different_keys\":" + keys_json(d.different) +
                ",\"repaired\":" + std::to_string(report.repaired) +
                ",\"still_different_after_repair\":" + std::to_string(report.after_repair.size()) +
                ",\"seconds\":" + seconds + ",\"bytes_read\":" + std::to_string(report.bytes_read) +
                ",\"bytes_sent\":" + std::to_string(report.bytes_sent) +
                ",\"queries\":" + std::to_string(report.queries) +
                ",\"source_scans_reused\":" + std::to_string(report.source_scans_reused) + "}";
        }
        json += "]}";
    }
    json += "],\"tables_in_sync\":" + std::to_string(in_sync) +
            ",\"tables_with_drift\":" + std::to_string(drifted) +
            ",\"tables_not_compared\":" + std::to_string(unresolved) + "}";
    text += "summary: " + std::to_string(in_sync) + " in sync, " + std::to_string(drifted) +
            " with drift" + (options.repair ? " (repaired)" : "") + "\n";
    std::cout << (options.json ? json + "\n" : text);
    if (drifted == 0) {
        return k_exit_ok;
    }
    // With --repair, success means nothing was left to fix.
    return options.repair && unrepaired == 0 ? k_exit_ok : k_exit_drift;
}

}  // namespace syncset::cli
