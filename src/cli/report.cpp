#include "cli/report.hpp"

#include <cstdio>

#include "syncset/config/config.hpp"
#include "syncset/error.hpp"
#include "syncset/json.hpp"

namespace syncset::cli {

namespace {

// Appends every part to `out`. Building text by appending, not by `"literal" + std::string`,
// also keeps GCC 12's -Wrestrict false positive on that operator (Release builds) away.
template <typename... Parts>
void append(std::string& out, const Parts&... parts) {
    (out.append(parts), ...);
}

std::string position_text(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
        append(out, out.empty() ? "" : ", ", v);
    }
    return out;
}

std::string target_of(const state::Progress& t) {
    return config::TableName{t.target_schema, t.target_name}.display();
}

std::string source_of(const state::Progress& t) {
    return config::TableName{t.source_schema, t.source_name}.display();
}

// A snapshot, backfill or resync under way with a known estimate: how far it is.
std::optional<state::SnapshotRate> snapshot_under_way(const state::Progress& t) {
    if (t.pending == state::Work::none || !t.snapshot_rows_estimated || !t.snapshot_elapsed_s) {
        return std::nullopt;
    }
    return state::snapshot_rate(t.snapshot_rows_done, t.snapshot_rows_estimated,
                                t.snapshot_elapsed_s);
}

void append_snapshot_progress(std::string& out, const state::Progress& t) {
    const auto rate = snapshot_under_way(t);
    if (!rate) {
        return;
    }
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.1f", rate->percent.value_or(0.0));
    append(out, "\n    ", state::to_string(t.pending), " ", percent,
           "%: ", std::to_string(t.snapshot_rows_done), " of ~",
           std::to_string(*t.snapshot_rows_estimated), " rows");
    if (rate->rows_per_second) {
        append(out, ", ", std::to_string(static_cast<std::int64_t>(*rate->rows_per_second)),
               " rows/s");
    }
    if (rate->eta_seconds) {
        append(out, ", ETA ", std::to_string(*rate->eta_seconds), " s");
    }
}

void append_status_table(std::string& out, const state::Progress& t) {
    const std::string cursor = position_text(t.cursor);
    append(out, "  ", target_of(t), " <- ", source_of(t), ": ", state::to_string(t.phase));
    if (t.pending != state::Work::none) {
        append(out, ", pending ", state::to_string(t.pending));
    }
    append_snapshot_progress(out, t);
    append(out, "\n    rows copied ", std::to_string(t.rows_copied), ", cursor ");
    if (cursor.empty()) {
        out += "-";
    } else {
        append(out, t.cursor_kind, " ", cursor);
    }
    append(out, "\n    last success ", t.last_success.empty() ? "never" : t.last_success);
    if (t.since_success_s) {
        // Every poll that catches up records a success, so this bounds the lag.
        append(out, " (", std::to_string(*t.since_success_s), " s ago)");
    }
    if (!t.worked_by.empty()) {
        append(out, "\n    worked by ", t.worked_by);
    }
    if (!t.last_error.empty()) {
        append(out, "\n    last error (", t.last_error_at, "): ", t.last_error);
    }
    if (!t.last_drift.checked_at.empty()) {
        const auto& d = t.last_drift;
        append(out, "\n    last drift scan ", d.checked_at, ": ");
        if (d.missing + d.extra + d.different == 0) {
            out += "in sync";
        } else {
            append(out, std::to_string(d.missing), " missing, ", std::to_string(d.extra),
                   " extra, ", std::to_string(d.different), " different, ",
                   std::to_string(d.repaired), " repaired");
        }
        if (d.ms) {
            append(out, " (full pass ", std::to_string(*d.ms), " ms)");
        }
        append(out, "\n    last proven in sync ", d.in_sync_at.empty() ? "never" : d.in_sync_at);
    }
    if (!t.stop_reason.empty()) {
        append(out, "\n    stopped: ", t.stop_reason);
    }
    out += "\n";
}

void write_status_table(JsonWriter& json, const state::Progress& t) {
    json.begin_object()
        .key("target")
        .value(target_of(t))
        .key("source")
        .value(source_of(t))
        .key("phase")
        .value(state::to_string(t.phase))
        .key("pending")
        .value(state::to_string(t.pending))
        .key("rows_copied")
        .value(t.rows_copied)
        .key("cursor_kind")
        .value_or_null(t.cursor_kind)
        .key("cursor")
        .value_or_null(position_text(t.cursor))
        .key("cursor_age_s")
        .value_or_null(t.cursor_lag_s)
        .key("last_success")
        .value_or_null(t.last_success)
        .key("seconds_since_success")
        .value_or_null(t.since_success_s)
        .key("last_error")
        .value_or_null(t.last_error)
        .key("last_error_at")
        .value_or_null(t.last_error_at)
        .key("stop_reason")
        .value_or_null(t.stop_reason)
        .key("worked_by")
        .value_or_null(t.worked_by)
        .key("snapshot");
    if (const auto rate = snapshot_under_way(t)) {
        json.begin_object()
            .key("work")
            .value(state::to_string(t.pending))
            .key("rows_done")
            .value(t.snapshot_rows_done)
            .key("rows_estimated")
            .value_or_null(t.snapshot_rows_estimated)
            .key("percent");
        rate->percent ? json.fixed(*rate->percent, 1) : json.null();
        json.key("rows_per_second");
        rate->rows_per_second ? json.fixed(*rate->rows_per_second, 0) : json.null();
        json.key("eta_seconds").value_or_null(rate->eta_seconds).end_object();
    } else {
        json.null();
    }
    json.key("last_drift_scan");
    if (t.last_drift.checked_at.empty()) {
        json.null();
    } else {
        const auto& d = t.last_drift;
        json.begin_object()
            .key("at")
            .value(d.checked_at)
            .key("rows")
            .value(d.rows)
            .key("missing")
            .value(d.missing)
            .key("extra")
            .value(d.extra)
            .key("different")
            .value(d.different)
            .key("repaired")
            .value(d.repaired)
            .key("ms")
            .value_or_null(d.ms)
            .key("in_sync_at")
            .value_or_null(d.in_sync_at)
            .end_object();
    }
    json.end_object();
}

constexpr std::size_t k_keys_shown = 10;

std::string key_text(const std::vector<std::string>& key) {
    std::string out = "(";
    for (std::size_t i = 0; i < key.size(); ++i) {
        append(out, i > 0 ? ", " : "", key[i]);
    }
    return out + ")";
}

std::string keys_text(const std::vector<std::vector<std::string>>& keys) {
    std::string out;
    for (std::size_t i = 0; i < keys.size() && i < k_keys_shown; ++i) {
        append(out, i > 0 ? ", " : "", key_text(keys[i]));
    }
    if (keys.size() > k_keys_shown) {
        append(out, ", ... (", std::to_string(keys.size() - k_keys_shown), " more)");
    }
    return out;
}

void write_keys(JsonWriter& json, const std::vector<std::vector<std::string>>& keys) {
    json.begin_array();
    for (std::size_t i = 0; i < keys.size() && i < k_keys_shown; ++i) {
        json.begin_array();
        for (const auto& part : keys[i]) {
            json.value(part);
        }
        json.end_array();
    }
    json.end_array();
}

std::string bytes_text(std::uint64_t bytes) {
    return bytes < std::uint64_t{10} * 1024 ? std::to_string(bytes) + " B"
                                            : std::to_string(bytes / 1024) + " KB";
}

std::string seconds_text(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", seconds);
    return text;
}

void append_check_table(std::string& out, const CheckTable& t, bool repair) {
    append(out, "  ", t.source, " -> ", t.target, ": ");
    if (t.outcome == CheckOutcome::stopped) {
        out += "stopped, not compared\n";
        return;
    }
    if (t.outcome == CheckOutcome::snapshot) {
        out += "initial copy not finished, not compared\n";
        return;
    }
    const drift::TableReport& scan = t.scan;
    const drift::Diff& d = scan.drift;
    const std::string rows = std::to_string(scan.source_rows);
    std::string cost;
    append(cost, seconds_text(scan.seconds), " s, ", bytes_text(scan.bytes_read), " read");
    if (d.empty()) {
        append(out, rows, " rows, in sync (", cost, ")\n");
        return;
    }
    append(out, rows, " rows, DRIFT: ", std::to_string(d.missing.size()), " missing, ",
           std::to_string(d.extra.size()), " extra, ", std::to_string(d.different.size()),
           " different (", cost, ")\n");
    if (!d.missing.empty()) {
        append(out, "    missing on the replica: ", keys_text(d.missing), "\n");
    }
    if (!d.extra.empty()) {
        append(out, "    extra on the replica: ", keys_text(d.extra), "\n");
    }
    if (!d.different.empty()) {
        append(out, "    different: ", keys_text(d.different), "\n");
    }
    if (repair) {
        append(out, "    repaired ", std::to_string(scan.repaired), " of ",
               std::to_string(d.size()), "\n");
    }
}

void write_check_table(JsonWriter& json, const CheckTable& t) {
    json.begin_object().key("source").value(t.source).key("target").value(t.target);
    if (t.outcome != CheckOutcome::compared) {
        json.key("status").value(t.outcome == CheckOutcome::stopped ? "stopped" : "snapshot");
        json.end_object();
        return;
    }
    const drift::TableReport& scan = t.scan;
    const drift::Diff& d = scan.drift;
    json.key("status")
        .value(d.empty() ? "in_sync" : "drift")
        .key("source_rows")
        .value(scan.source_rows)
        .key("replica_rows")
        .value(scan.replica_rows)
        .key("missing")
        .value(d.missing.size())
        .key("extra")
        .value(d.extra.size())
        .key("different")
        .value(d.different.size())
        .key("missing_keys");
    write_keys(json, d.missing);
    json.key("extra_keys");
    write_keys(json, d.extra);
    json.key("different_keys");
    write_keys(json, d.different);
    json.key("repaired")
        .value(scan.repaired)
        .key("still_different_after_repair")
        .value(scan.after_repair.size())
        .key("seconds")
        .fixed(scan.seconds, 3)
        .key("bytes_read")
        .value(scan.bytes_read)
        .key("bytes_sent")
        .value(scan.bytes_sent)
        .key("queries")
        .value(scan.queries)
        .key("source_scans_reused")
        .value(scan.source_scans_reused)
        .end_object();
}

}  // namespace

std::string render_status_text(const StatusReport& report) {
    std::string out;
    for (const auto& replica : report.replicas) {
        append(out, "replica ", replica.name, " (", replica.where, ")\n");
        if (replica.error) {
            append(out, "  error: ", *replica.error, "\n");
            continue;
        }
        if (replica.tables.empty()) {
            out += "  no table state yet (run 'syncset run' first)\n";
        }
        for (const auto& t : replica.tables) {
            append_status_table(out, t);
        }
    }
    out +=
        "note: rows deleted on the source (hard deletes) reach cursor replicas through the "
        "daemon's drift scan (drift.interval, drift.repair) or 'syncset check --repair'; "
        "cursor 'none' and mode 'mirror' tables see them at every poll\n";
    return out;
}

std::string render_status_json(const StatusReport& report) {
    JsonWriter json;
    json.begin_object().key("replicas").begin_array();
    for (const auto& replica : report.replicas) {
        json.begin_object().key("name").value(replica.name);
        if (replica.error) {
            json.key("error").value(*replica.error).end_object();
            continue;
        }
        json.key("tables").begin_array();
        for (const auto& t : replica.tables) {
            write_status_table(json, t);
        }
        json.end_array().end_object();
    }
    json.end_array().end_object();
    return json.str() + "\n";
}

CheckSummary summarize_check(const CheckReport& report) {
    CheckSummary summary;
    for (const auto& replica : report.replicas) {
        for (const auto& t : replica.tables) {
            if (t.outcome != CheckOutcome::compared) {
                ++summary.not_compared;
            } else if (t.scan.drift.empty()) {
                ++summary.in_sync;
            } else {
                ++summary.with_drift;
                if (report.repair && !t.scan.after_repair.empty()) {
                    ++summary.unrepaired;
                }
            }
        }
    }
    return summary;
}

int check_exit_status(const CheckReport& report) {
    const CheckSummary summary = summarize_check(report);
    if (summary.with_drift == 0) {
        return k_exit_ok;
    }
    // With --repair, success means nothing was left to fix.
    return report.repair && summary.unrepaired == 0 ? k_exit_ok : k_exit_drift;
}

std::string render_check_text(const CheckReport& report) {
    std::string out;
    for (const auto& replica : report.replicas) {
        append(out, "replica ", replica.name, " (", replica.where, ")\n");
        for (const auto& t : replica.tables) {
            append_check_table(out, t, report.repair);
        }
    }
    const CheckSummary summary = summarize_check(report);
    append(out, "summary: ", std::to_string(summary.in_sync), " in sync, ",
           std::to_string(summary.with_drift), " with drift", report.repair ? " (repaired)" : "",
           "\n");
    return out;
}

std::string render_check_json(const CheckReport& report) {
    JsonWriter json;
    json.begin_object().key("replicas").begin_array();
    for (const auto& replica : report.replicas) {
        json.begin_object().key("name").value(replica.name).key("tables").begin_array();
        for (const auto& t : replica.tables) {
            write_check_table(json, t);
        }
        json.end_array().end_object();
    }
    const CheckSummary summary = summarize_check(report);
    json.end_array()
        .key("tables_in_sync")
        .value(summary.in_sync)
        .key("tables_with_drift")
        .value(summary.with_drift)
        .key("tables_not_compared")
        .value(summary.not_compared)
        .end_object();
    return json.str() + "\n";
}

}  // namespace syncset::cli
