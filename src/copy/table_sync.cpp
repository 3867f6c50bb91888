#include "syncset/copy/table_sync.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "syncset/copy/copy_text.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"
#include "syncset/text.hpp"

namespace syncset::copy {

namespace {

std::string_view cursor_kind_name(CursorKind kind) {
    switch (kind) {
        case CursorKind::xmin:
            return "xmin";
        case CursorKind::none:
            return "none";
        case CursorKind::time:
            return "time";
        case CursorKind::sequence:
            return "sequence";
    }
    return "?";
}

// xmin and xmax of the source's current snapshot, as 64-bit xids.
std::pair<std::int64_t, std::int64_t> read_snapshot_xids(db::Connection& source) {
    db::Result r = source.query(
        "SELECT pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text FROM pg_current_snapshot() s");
    return {parse_int64(r.value(0, 0)), parse_int64(r.value(0, 1))};
}

// Other client sessions that may write rows: not syncset's own readers, not autovacuum.
constexpr std::string_view k_other_sessions =
    "WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL AND backend_type NOT LIKE "
    "'autovacuum%' AND coalesce(application_name, '') NOT LIKE 'syncset/%'";

}  // namespace

TableSync::TableSync(std::string replica, std::string state_schema, plan::TablePlan plan)
    : m_replica(std::move(replica)),
      m_state_schema(std::move(state_schema)),
      m_plan(std::move(plan)),
      m_spec(build_copy_spec(m_plan)),
      m_label(config::TableName{m_plan.source_schema, m_plan.source_name}.display() + " -> " +
              config::TableName{m_plan.target_schema, m_plan.target_name}.display()) {}

void TableSync::begin_cycle(db::Connection& replica) {
    m_loaded = false;
    for (auto& p : state::read_progress(replica, m_state_schema)) {
        if (p.target_schema == m_plan.target_schema && p.target_name == m_plan.target_name) {
            m_progress = std::move(p);
            m_loaded = true;
        }
    }
    if (!m_loaded) {
        throw Error(ErrorCode::internal,
                    "no state row for " + m_label + " on replica " + m_replica);
    }
    m_unsafe_from.reset();
    m_in_unsafe_phase = false;
    m_cycle_bound.reset();
    m_cycle_last.clear();
    m_xmin_after_key.clear();
    m_xmin_cycle_start.reset();
}

StepResult TableSync::step(db::Connection& source, db::Connection& replica,
                           const std::atomic<bool>* stop) {
    if (!m_loaded) {
        begin_cycle(replica);
    }
    if (m_progress.phase == state::Phase::stopped) {
        return StepResult{true, 0, 0};
    }
    try {
        if (m_progress.pending != state::Work::none) {
            return snapshot_step(source, replica, stop);
        }
        if (m_spec.full_refresh()) {
            return full_refresh_step(source, replica, stop);
        }
        if (m_spec.cursor == CursorKind::xmin) {
            return xmin_step(source, replica, stop);
        }
        return incremental_step(source, replica, stop);
    } catch (...) {
        replica.try_rollback();
        release(source);
        m_loaded = false;  // the stored progress is the truth again
        throw;
    }
}

TableSync::PipeResult TableSync::pipe(db::Connection& source, const std::string& copy_out,
                                      db::Connection& replica, const std::string& copy_in,
                                      const std::atomic<bool>* stop) {
    PipeResult result;
    replica.copy_in_begin(copy_in, stop);
    std::optional<db::CopyRow> last;
    try {
        if (m_prefetched == copy_out) {
            m_prefetched.reset();  // already streaming: started while the last chunk committed
        } else {
            release(source);
            source.copy_out_begin(copy_out, stop);
        }
        // The hot path: bytes from the source go to the replica untouched, one row per call.
        while (auto row = source.copy_out_next(stop)) {
            replica.copy_in_put(row->bytes());
            ++result.rows;
            result.bytes += row->size();
            last = std::move(row);
        }
        replica.copy_in_end();
    } catch (...) {
        replica.copy_in_abort("syncset: copy from the source failed");
        source.copy_out_abort();
        throw;
    }
    if (last) {
        std::size_t wanted = m_spec.key_count;
        if (m_spec.cursor_index) {
            wanted = std::max(wanted, *m_spec.cursor_index + 1);
        }
        if (auto fields = decode_copy_fields(last->bytes(), wanted)) {
            result.last_fields = std::move(*fields);
        }
    }
    return result;
}

std::vector<std::string> TableSync::key_of(const PipeResult& pipe) const {
    std::vector<std::string> key;
    for (std::size_t i = 0; i < m_spec.key_count && i < pipe.last_fields.size(); ++i) {
        key.push_back(pipe.last_fields[i].value_or(""));
    }
    return key;
}

void TableSync::release(db::Connection& source) noexcept {
    if (m_prefetched) {
        source.copy_out_abort();
        m_prefetched.reset();
    }
}

void TableSync::ensure_stage(db::Connection& replica) {
    replica.exec(build_create_stage(m_spec));
}

TableSync::PipeResult TableSync::staged_batch(db::Connection& source, const std::string& copy_out,
                                              db::Connection& replica,
                                              const std::atomic<bool>* stop) {
    // Opens the batch's replica transaction; the caller commits it with the checkpoint.
    replica.begin();
    ensure_stage(replica);
    PipeResult copied = pipe(source, copy_out, replica, build_copy_in(m_spec, true), stop);
    if (m_spec.needs_keep_flag() && m_spec.mode != config::Mode::insert) {
        replica.exec(build_filter_delete(m_spec));  // rows that left the filter, or soft-deleted
    }
    replica.exec(build_upsert(m_spec));
    return copied;
}

void TableSync::commit_batch(db::Connection& replica, std::int64_t rows_added,
                             const std::function<void()>& before_commit) {
    if (!state::write_progress(replica, m_state_schema, m_progress, rows_added)) {
        throw Error(ErrorCode::schema, "table " + m_label + " was stopped or removed meanwhile");
    }
    if (before_commit) {
        before_commit();
    }
    replica.commit();
    m_progress.rows_copied += rows_added;
}

std::optional<Bound> TableSync::read_bound(db::Connection& source) {
    if (m_spec.cursor == CursorKind::time) {
        // Read before the batch's own snapshot: a transaction still open then is seen here,
        // and one that starts later stamps its rows at or after this bound.
        // A column without time zone holds local times of the writers' TimeZone, taken to be
        // the server default (this session's is pinned to UTC); a second of margin covers
        // rounding to the column's precision. A date bound is the day of that time.
        const std::string& type = m_spec.cursor_type;
        const bool with_zone = type.find("with time zone") != std::string::npos &&
                               type.find("without") == std::string::npos;
        std::string local =
            "(b.at AT TIME ZONE (SELECT reset_val FROM pg_settings WHERE name = "
            "'TimeZone'))";
        std::string bound = with_zone        ? std::string("b.at")
                            : type == "date" ? local + "::date"
                                             : local + " - interval '1 second'";
        db::Result r = source.exec_params(
            "WITH p AS (SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS seen), "
            "b AS (SELECT LEAST(clock_timestamp() - CASE WHEN p.seen THEN interval '0' ELSE "
            "$1::interval END, (SELECT min(xact_start) FROM pg_stat_activity " +
                std::string(k_other_sessions) +
                ")) AS at FROM p) "
                "SELECT (" +
                bound + ")::text, p.seen::text FROM p, b",
            {std::to_string(m_plan.spec->late_commit_window.count()) + " milliseconds"});
        if (!m_technique_logged) {
            m_technique_logged = true;
            bool seen = r.value(0, 1) == "true";
            log::info(seen ? "late commits: cursor capped at the oldest open transaction"
                           : "late commits: role cannot see other sessions (no pg_read_all_stats); "
                             "re-reading the look-back window each poll",
                      {{"replica", m_replica},
                       {"table", m_label},
                       {"late_commit_window_ms", m_plan.spec->late_commit_window.count()}});
        }
        return Bound{std::string(r.value(0, 0)), false};
    }
    // Sequence cursors: the largest value seen by a poll whose open transactions have all
    // ended since. Nothing can commit behind it any more.
    std::optional<Bound> bound;
    if (auto safe = pop_safe_positions(source)) {
        bound = Bound{safe->front(), true};
    }
    if (!m_technique_logged) {
        m_technique_logged = true;
        log::info(
            "late commits: cursor advanced only past values seen before open transactions "
            "ended",
            {{"replica", m_replica}, {"table", m_label}});
    }
    if (!bound && !m_progress.cursor.empty()) {
        bound = Bound{m_progress.cursor.front(), true};
    }
    return bound;
}

std::vector<std::string> TableSync::handover_cursor(db::Connection& source,
                                                    const std::atomic<bool>* stop) {
    switch (m_spec.cursor) {
        case CursorKind::none:
            return {};
        case CursorKind::xmin:
            return {std::to_string(read_snapshot_xids(source).first)};
        case CursorKind::time: {
            auto bound = read_bound(source);
            return bound ? std::vector<std::string>{bound->value} : std::vector<std::string>{};
        }
        case CursorKind::sequence:
            break;
    }
    const CopyColumn& cursor = m_spec.columns.at(m_spec.cursor_index.value());
    auto read_max = [&]() -> std::vector<std::string> {
        db::Result r = source.query("SELECT max(" + db::quote_ident(cursor.source) +
                                    ")::text FROM " + m_spec.source_table);
        if (r.is_null(0, 0)) {
            return {};
        }
        return {std::string(r.value(0, 0))};
    };
    OpenTransactions open = read_open_transactions(source);
    if (open.not_before > std::chrono::steady_clock::now()) {
        // Other sessions are hidden from this role: do not hold the snapshot for the whole
        // look-back window. Incremental reads start from the first row and move to today's
        // maximum once the window has passed.
        if (auto max = read_max(); !max.empty()) {
            m_sequence_pending.emplace_back(std::move(max), std::move(open));
        }
        return {};
    }
    // Wait for the transactions open now to end: after that every value up to the current
    // maximum is committed, and the snapshot will see it.
    auto deadline = std::chrono::steady_clock::now() + m_plan.spec->late_commit_window;
    while (!open.ended(read_open_transactions(source))) {
        if (std::chrono::steady_clock::now() > deadline || (stop != nullptr && *stop)) {
            log::warn(
                "open transactions did not end: incremental reads will start from the "
                "first row",
                {{"replica", m_replica}, {"table", m_label}});
            return {};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return read_max();
}

StepResult TableSync::snapshot_step(db::Connection& source, db::Connection& replica,
                                    const std::atomic<bool>* stop) {
    const bool first_chunk = m_progress.snapshot_position.empty();
    if (first_chunk && (m_progress.cursor.empty() || m_progress.pending == state::Work::snapshot)) {
        m_progress.cursor = handover_cursor(source, stop);
        m_progress.cursor_kind = std::string(cursor_kind_name(m_spec.cursor));
    }
    // A new table is empty: COPY goes straight in. A re-copy (backfill, resync) upserts.
    const bool direct = m_progress.pending == state::Work::snapshot;
    replica.begin();
    PipeResult copied;
    std::string copy_out = build_snapshot_copy(m_spec, m_progress.snapshot_position);
    if (direct) {
        copied = pipe(source, copy_out, replica, build_copy_in(m_spec, false), stop);
    } else {
        ensure_stage(replica);
        CopySpec plain = m_spec;  // snapshot reads are filtered at the source: no keep flag
        plain.where.reset();
        plain.soft_delete.reset();
        copied = pipe(source, copy_out, replica, build_copy_in(plain, true), stop);
        replica.exec(build_upsert(plain));
    }
    const bool done = m_spec.key_count == 0 ||
                      copied.rows < static_cast<std::uint64_t>(m_spec.snapshot_chunk_rows);
    if (done) {
        for (const auto& ddl : m_plan.index_ddl) {
            replica.exec(ddl);
        }
        m_progress.snapshot_position.clear();
        m_progress.pending = state::Work::none;
        m_progress.phase = state::Phase::incremental;
    } else {
        m_progress.snapshot_position = key_of(copied);
    }
    // Read-ahead: the next chunk's source query starts before this chunk's commit, so the
    // source reads while the replica flushes.
    std::function<void()> read_ahead;
    if (!done) {
        read_ahead = [&] {
            std::string next = build_snapshot_copy(m_spec, m_progress.snapshot_position);
            source.copy_out_begin(next, stop);
            m_prefetched = std::move(next);
        };
    }
    commit_batch(replica, static_cast<std::int64_t>(copied.rows), read_ahead);
    if (done) {
        log::info("snapshot done",
                  {{"replica", m_replica}, {"table", m_label}, {"rows", m_progress.rows_copied}});
    }
    return StepResult{false, copied.rows, copied.bytes};
}

StepResult TableSync::incremental_step(db::Connection& source, db::Connection& replica,
                                       const std::atomic<bool>* stop) {
    std::optional<Position> stored;
    if (!m_progress.cursor.empty()) {
        Position p{
            m_progress.cursor.front(),
            std::vector<std::string>(m_progress.cursor.begin() + 1, m_progress.cursor.end())};
        stored = std::move(p);
    }
    if (!m_cycle_bound && !m_in_unsafe_phase) {
        m_cycle_bound = read_bound(source);
        if (!m_cycle_bound) {
            m_in_unsafe_phase = true;  // nothing is known to be safe yet: persist nothing
        }
    }
    // Phase A (safe): rows below the bound; the stored cursor advances past them.
    // Phase B (unsafe): rows at or past it, copied now but re-read every poll until safe.
    std::optional<Position> from = m_in_unsafe_phase ? m_unsafe_from : stored;
    std::optional<Bound> bound = m_in_unsafe_phase ? std::nullopt : m_cycle_bound;
    if (m_in_unsafe_phase && !m_unsafe_from && m_cycle_bound) {
        from = Position{m_cycle_bound->value, {}};
        if (stored && !stored->key.empty() && m_cycle_bound->inclusive) {
            from = stored;  // sequence bound is the stored position itself
        }
    }

    PipeResult copied =
        staged_batch(source, build_incremental_copy(m_spec, from, bound), replica, stop);
    std::vector<std::string> last;
    if (copied.rows > 0 && m_spec.cursor_index) {
        last.push_back(copied.last_fields.at(*m_spec.cursor_index).value_or(""));
        for (const auto& k : key_of(copied)) {
            last.push_back(k);
        }
        if (m_spec.cursor == CursorKind::sequence) {
            m_cycle_last = last;
        }
    }
    const bool full_batch = copied.rows >= static_cast<std::uint64_t>(m_spec.batch_rows);
    if (!m_in_unsafe_phase) {
        if (!last.empty()) {
            m_progress.cursor = last;
        }
        m_progress.cursor_kind = std::string(cursor_kind_name(m_spec.cursor));
        commit_batch(replica, static_cast<std::int64_t>(copied.rows));
        if (!full_batch) {
            m_in_unsafe_phase = true;
            m_unsafe_from.reset();
        }
        return StepResult{false, copied.rows, copied.bytes};
    }
    commit_batch(replica, static_cast<std::int64_t>(copied.rows));
    if (full_batch) {
        m_unsafe_from =
            Position{last.front(), std::vector<std::string>(last.begin() + 1, last.end())};
        return StepResult{false, copied.rows, copied.bytes};
    }
    // Caught up. Remember what this poll saw, for the sequence rule: once every transaction
    // open after the last read has ended, nothing can commit below the largest value seen.
    if (m_spec.cursor == CursorKind::sequence && !m_cycle_last.empty()) {
        m_sequence_pending.emplace_back(m_cycle_last, read_open_transactions(source));
        advance_sequence_cursor(source, replica);
    }
    return StepResult{true, copied.rows, copied.bytes};
}

TableSync::OpenTransactions TableSync::read_open_transactions(db::Connection& source) {
    OpenTransactions open;
    db::Result r = source.query(
        "SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')::text, "
        "(SELECT string_agg(pid::text || '@' || xact_start::text, ',') FROM pg_stat_activity " +
        std::string(k_other_sessions) + ")");
    // Without pg_read_all_stats other roles' sessions are hidden: wait out the look-back
    // window instead of trusting an empty list.
    open.not_before =
        std::chrono::steady_clock::now() +
        (r.value(0, 0) == "true" ? std::chrono::milliseconds(0) : m_plan.spec->late_commit_window);
    std::string_view list = r.value(0, 1);
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        open.sessions.emplace_back(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return open;
}

bool TableSync::OpenTransactions::ended(const OpenTransactions& now) const {
    if (std::chrono::steady_clock::now() < not_before) {
        return false;
    }
    return std::none_of(sessions.begin(), sessions.end(), [&](const std::string& s) {
        return std::find(now.sessions.begin(), now.sessions.end(), s) != now.sessions.end();
    });
}

std::optional<std::vector<std::string>> TableSync::pop_safe_positions(db::Connection& source) {
    if (m_sequence_pending.empty()) {
        return std::nullopt;
    }
    OpenTransactions now = read_open_transactions(source);
    std::optional<std::vector<std::string>> safe;
    while (!m_sequence_pending.empty() && m_sequence_pending.front().second.ended(now)) {
        safe = std::move(m_sequence_pending.front().first);
        m_sequence_pending.pop_front();
    }
    return safe;
}

void TableSync::advance_sequence_cursor(db::Connection& source, db::Connection& replica) {
    std::optional<std::vector<std::string>> safe = pop_safe_positions(source);
    if (safe) {
        // No transaction was open during the last read: the position is final already.
        replica.begin();
        m_progress.cursor = std::move(*safe);
        commit_batch(replica, 0);
    }
}

StepResult TableSync::xmin_step(db::Connection& source, db::Connection& replica,
                                const std::atomic<bool>* stop) {
    if (!m_xmin_checked) {
        // Reading xmin needs SELECT on it; a role granted only the replicated columns lacks
        // it. That role still syncs: by re-reading every row each poll, as `cursor: none`.
        m_xmin_checked = true;
        db::Result r = source.exec_params(
            "SELECT has_column_privilege($1::regclass, 'xmin', "
            "'SELECT')",
            {m_spec.source_table});
        if (r.value(0, 0) != "t") {
            m_xmin_readable = false;
            log::warn(
                "role cannot read xmin: re-reading the whole table each poll; "
                "GRANT SELECT (xmin) to read only changed rows",
                {{"replica", m_replica}, {"table", m_label}});
        }
    }
    if (!m_xmin_readable) {
        return full_refresh_step(source, replica, stop);
    }
    // Each poll reads rows written by transactions at or after the previous poll's snapshot
    // xmin, paging by key; the new position (this poll's xmin) is stored with the last page.
    if (!m_xmin_cycle_start) {
        m_xmin_cycle_start = read_snapshot_xids(source).first;
    }
    std::int64_t from = m_progress.cursor.empty() ? 0 : parse_int64(m_progress.cursor.front());
    PipeResult copied =
        staged_batch(source, build_xmin_copy(m_spec, from, m_xmin_after_key), replica, stop);
    const bool full_batch = copied.rows >= static_cast<std::uint64_t>(m_spec.batch_rows);
    if (full_batch) {
        m_xmin_after_key = key_of(copied);
    } else {
        m_progress.cursor = {std::to_string(*m_xmin_cycle_start)};
        m_progress.cursor_kind = "xmin";
    }
    commit_batch(replica, static_cast<std::int64_t>(copied.rows));
    return StepResult{!full_batch, copied.rows, copied.bytes};
}

StepResult TableSync::full_refresh_step(db::Connection& source, db::Connection& replica,
                                        const std::atomic<bool>* stop) {
    // Filtered at the source; rows gone from the result are deleted: no keep flag needed.
    CopySpec full = m_spec;
    full.cursor = CursorKind::none;
    replica.begin();
    ensure_stage(replica);
    PipeResult copied =
        pipe(source, build_full_copy(full), replica, build_copy_in(full, true), stop);
    if (full.mode != config::Mode::insert) {
        replica.exec(build_mirror_delete(full));
    }
    replica.exec(build_upsert(full));
    commit_batch(replica, 0);
    return StepResult{true, copied.rows, copied.bytes};
}

}  // namespace syncset::copy
