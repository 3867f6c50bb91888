#include "syncset/state/progress.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "state/sql_text.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/error.hpp"
#include "syncset/state/store.hpp"
#include "syncset/state_sql.hpp"
#include "syncset/text.hpp"

namespace syncset::state {

namespace {

std::optional<std::string> array_or_null(const std::vector<std::string>& values) {
    if (values.empty()) {
        return std::nullopt;
    }
    return build_text_array(values);
}

std::vector<std::string> parse_array(std::string_view text) {
    if (text.empty()) {
        return {};
    }
    auto parsed = parse_text_array(text);
    if (!parsed) {
        throw Error(ErrorCode::internal, "unreadable position in metadata: " + std::string(text));
    }
    return *parsed;
}

std::vector<Progress> read_progress_where(db::Connection& conn, std::string_view schema,
                                          std::optional<std::string> target_schema,
                                          std::optional<std::string> target_name) {
    if (!schema_exists(conn, schema)) {
        return {};
    }
    try {
        db::Result result = conn.exec_params(expand_schema(sql::k_read_progress_sql, schema),
                                             {std::move(target_schema), std::move(target_name)});
        std::vector<Progress> out;
        for (int r = 0; r < result.rows(); ++r) {
            auto text = [&](int c) { return std::string(result.value(r, c)); };
            Progress p;
            p.target_schema = text(0);
            p.target_name = text(1);
            p.source_schema = text(2);
            p.source_name = text(3);
            p.phase = phase_from_string(text(4)).value_or(Phase::stopped);
            p.pending = work_from_string(text(5)).value_or(Work::none);
            p.snapshot_position = parse_array(text(6));
            p.cursor = parse_array(text(7));
            p.cursor_kind = text(8);
            p.rows_copied = parse_int64(text(9));
            p.last_success = text(10);
            p.last_error = text(11);
            p.last_error_at = text(12);
            p.stop_reason = text(13);
            if (!result.is_null(r, 14)) {
                p.since_success_s = parse_int64(text(14));
            }
            if (!result.is_null(r, 15)) {
                p.cursor_lag_s = parse_int64(text(15));
            }
            p.last_drift.checked_at = text(16);
            p.last_drift.rows = parse_int64(text(17));
            p.last_drift.missing = parse_int64(text(18));
            p.last_drift.extra = parse_int64(text(19));
            p.last_drift.different = parse_int64(text(20));
            p.last_drift.repaired = parse_int64(text(21));
            if (!result.is_null(r, 22)) {
                p.last_drift.ms = parse_int64(text(22));
            }
            p.last_drift.in_sync_at = text(23);
            p.snapshot_rows_done = parse_int64(text(24));
            if (!result.is_null(r, 25)) {
                p.snapshot_rows_estimated = parse_int64(text(25));
            }
            if (!result.is_null(r, 26)) {
                p.snapshot_elapsed_s = std::stod(text(26));
            }
            p.resync_requested = text(27) == "true";
            p.worked_by = text(28);
            out.push_back(std::move(p));
        }
        return out;
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

// A one-row boolean query about target table (target_schema, target_name), with `extra` as $3.
bool read_table_flag(db::Connection& conn, std::string_view schema, std::string_view sql_text,
                     std::string_view target_schema, std::string_view target_name,
                     std::string extra) {
    try {
        db::Result result =
            conn.exec_params(expand_schema(sql_text, schema),
                             {std::string(target_schema), std::string(target_name), extra});
        return result.value(0, 0) == "true";
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

// Runs a one-table UPDATE (`sql_text`, $1 target_schema, $2 target_name); true when it changed
// the row.
bool update_one_table(db::Connection& conn, std::string_view schema, std::string_view sql_text,
                      std::string_view target_schema, std::string_view target_name) {
    try {
        db::Result result =
            conn.exec_params(expand_schema(sql_text, schema),
                             {std::string(target_schema), std::string(target_name)});
        return result.affected_rows() > 0;
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

}  // namespace

std::vector<Progress> read_progress(db::Connection& conn, std::string_view schema) {
    return read_progress_where(conn, schema, std::nullopt, std::nullopt);
}

std::optional<Progress> read_table_progress(db::Connection& conn, std::string_view schema,
                                            std::string_view target_schema,
                                            std::string_view target_name) {
    auto found =
        read_progress_where(conn, schema, std::string(target_schema), std::string(target_name));
    if (found.empty()) {
        return std::nullopt;
    }
    return std::move(found.front());
}

bool read_drift_due(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                    std::string_view target_name, std::chrono::milliseconds interval) {
    return read_table_flag(conn, schema, sql::k_read_drift_due_sql, target_schema, target_name,
                           std::to_string(interval.count()) + " milliseconds");
}

bool read_committed_since(db::Connection& conn, std::string_view schema,
                          std::string_view target_schema, std::string_view target_name,
                          std::string_view since) {
    return read_table_flag(conn, schema, sql::k_read_committed_since_sql, target_schema,
                           target_name, std::string(since));
}

Checkpoint write_progress(db::Connection& conn, std::string_view schema, const Progress& progress,
                          std::int64_t rows_added, const Claim& claim) {
    try {
        db::Result result = conn.exec_params(
            expand_schema(sql::k_update_progress_sql, schema),
            {progress.target_schema, progress.target_name, std::string(to_string(progress.phase)),
             std::string(to_string(progress.pending)), array_or_null(progress.snapshot_position),
             array_or_null(progress.cursor), progress.cursor_kind, std::to_string(rows_added),
             claim.claimant, std::to_string(claim.lease.count()) + " milliseconds"});
        if (result.rows() == 0) {
            return Checkpoint::refused;
        }
        if (result.value(0, 0) != "true") {
            return result.value(0, 2) == "true" ? Checkpoint::refused : Checkpoint::claim_lost;
        }
        return result.value(0, 1) == "true" ? Checkpoint::resync_started : Checkpoint::written;
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

SnapshotRate snapshot_rate(std::int64_t rows_done, std::optional<std::int64_t> rows_estimated,
                           std::optional<double> elapsed_s) noexcept {
    SnapshotRate rate;
    const auto done = static_cast<double>(std::max<std::int64_t>(rows_done, 0));
    if (rows_estimated && *rows_estimated > 0) {
        rate.percent = std::min(99.9, 100.0 * done / static_cast<double>(*rows_estimated));
    }
    if (elapsed_s && *elapsed_s >= 1.0) {
        rate.rows_per_second = done / *elapsed_s;
    }
    if (rate.percent && rate.rows_per_second && *rate.rows_per_second > 0 &&
        static_cast<double>(*rows_estimated) > done) {
        rate.eta_seconds =
            std::llround((static_cast<double>(*rows_estimated) - done) / *rate.rows_per_second);
    }
    return rate;
}

void write_snapshot_estimate(db::Connection& conn, std::string_view schema,
                             std::string_view target_schema, std::string_view target_name,
                             std::int64_t rows_estimated) {
    try {
        conn.exec_params(
            expand_schema(sql::k_update_snapshot_estimate_sql, schema),
            {std::string(target_schema), std::string(target_name), std::to_string(rows_estimated)});
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

bool request_resync(db::Connection& conn, std::string_view schema, std::string_view target_schema,
                    std::string_view target_name) {
    return update_one_table(conn, schema, sql::k_request_resync_sql, target_schema, target_name);
}

bool start_requested_resync(db::Connection& conn, std::string_view schema,
                            std::string_view target_schema, std::string_view target_name) {
    return update_one_table(conn, schema, sql::k_start_requested_resync_sql, target_schema,
                            target_name);
}

void write_drift_result(db::Connection& conn, std::string_view schema,
                        std::string_view target_schema, std::string_view target_name,
                        const DriftResult& result) {
    try {
        conn.exec_params(expand_schema(sql::k_update_drift_sql, schema),
                         {std::string(target_schema), std::string(target_name),
                          std::to_string(result.rows), std::to_string(result.missing),
                          std::to_string(result.extra), std::to_string(result.different),
                          std::to_string(result.repaired), std::to_string(result.ms.value_or(0))});
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

}  // namespace syncset::state
