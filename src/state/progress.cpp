#include "syncset/state/progress.hpp"

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

}  // namespace

std::vector<Progress> read_progress(db::Connection& conn, std::string_view schema) {
    if (!schema_exists(conn, schema)) {
        return {};
    }
    try {
        db::Result result = conn.query(expand_schema(sql::k_read_progress_sql, schema));
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
            out.push_back(std::move(p));
        }
        return out;
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

bool write_progress(db::Connection& conn, std::string_view schema, const Progress& progress,
                    std::int64_t rows_added) {
    try {
        db::Result result = conn.exec_params(
            expand_schema(sql::k_update_progress_sql, schema),
            {progress.target_schema, progress.target_name, std::string(to_string(progress.phase)),
             std::string(to_string(progress.pending)), array_or_null(progress.snapshot_position),
             array_or_null(progress.cursor), progress.cursor_kind, std::to_string(rows_added)});
        return result.affected_rows() > 0;
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

void write_drift_result(db::Connection& conn, std::string_view schema,
                        std::string_view target_schema, std::string_view target_name,
                        const DriftResult& result) {
    try {
        conn.exec_params(
            expand_schema(sql::k_update_drift_sql, schema),
            {std::string(target_schema), std::string(target_name), std::to_string(result.rows),
             std::to_string(result.missing), std::to_string(result.extra),
             std::to_string(result.different), std::to_string(result.repaired)});
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

}  // namespace syncset::state
