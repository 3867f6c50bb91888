#include "syncset/copy/table_sync.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "copy/copy_text.hpp"
#include "db/session.hpp"
#include "syncset/copy_sql.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/copy_pipe.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"
#include "syncset/state/claims.hpp"
#include "syncset/state/locks.hpp"
#include "syncset/text.hpp"

namespace syncset::copy {

namespace {

// xmin of the source's current snapshot, as a 64-bit xid.
std::int64_t read_snapshot_xmin(db::Connection& source) {
    return parse_int64(source.query(sql::k_read_snapshot_xids_sql).value(0, 0));
}

// How read_time_bound.sql is to express the bound for the spec's time cursor.
std::string time_bound_form(const CopySpec& spec) {
    if (spec.cursor_is_instant()) {
        return "zoned";
    }
    return spec.cursor_type == "date" ? "date" : "local";
}

// Thrown inside a step to end it without writing (Yield); step() turns it into its result.
struct Yielded {
    Yield why;
};

}  // namespace

TableSync::TableSync(std::string replica, std::string state_schema, plan::TablePlan plan)
    : m_replica(std::move(replica)),
      m_state_schema(std::move(state_schema)),
      m_plan(std::move(plan)),
      m_spec(build_copy_spec(m_plan)),
      m_source_name(config::TableName{m_plan.source_schema, m_plan.source_name}.display()),
      m_target_name(config::TableName{m_plan.target_schema, m_plan.target_name}.display()),
      m_label(m_source_name + " -> " + m_target_name),
      m_claim{state::process_claimant(), state::claim_lease(m_plan.spec->poll_interval)} {}

bool TableSync::begin_cycle(db::Connection& replica) {
    m_loaded = false;
    m_refused_by_live_holder = false;
    std::optional<std::string> previous = state::claim_table(
        replica, m_state_schema, m_plan.target_schema, m_plan.target_name, m_claim);
    if (!previous) {
        const std::optional<state::ClaimState> claim =
            state::read_claim(replica, m_state_schema, m_plan.target_schema, m_plan.target_name);
        if (!claim) {
            throw Error(ErrorCode::internal,
                        "no state row for " + m_label + " on replica " + m_replica);
        }
        if (!claim->lapsed) {
            m_refused_by_live_holder = claim->holder != m_claim.claimant;
            m_refusal_left = claim->left;
            return false;  // another process holds it
        }
        // Free or lapsed, yet its row is locked: a batch of a process that lost the claim is
        // still open (frozen or cut off mid-checkpoint). End it, then claim.
        if (!end_lapsed_batches(replica)) {
            return false;
        }
        for (int attempt = 0; attempt < 20 && !previous; ++attempt) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            previous = state::claim_table(replica, m_state_schema, m_plan.target_schema,
                                          m_plan.target_name, m_claim);
        }
        if (!previous) {
            return false;
        }
    }
    if (!previous->empty() && *previous != m_claim.claimant) {
        log::info("table taken over: the claim of the process working it lapsed",
                  {{"replica", m_replica},
                   {"source", m_source_name},
                   {"target", m_target_name},
                   {"previous", *previous}});
    }
    auto read = [&] {
        auto progress = state::read_table_progress(replica, m_state_schema, m_plan.target_schema,
                                                   m_plan.target_name);
        if (!progress) {
            m_loaded = false;
            throw Error(ErrorCode::internal,
                        "no state row for " + m_label + " on replica " + m_replica);
        }
        return std::move(*progress);
    };
    m_progress = read();
    // A `syncset resync` request no checkpoint took up (made while no daemon ran, or after the
    // last batch of the cycle before): this cycle starts with the re-copy.
    if (m_progress.resync_requested &&
        state::start_requested_resync(replica, m_state_schema, m_plan.target_schema,
                                      m_plan.target_name)) {
        log::info("resync request taken up: re-copying from the first key",
                  {{"replica", m_replica}, {"source", m_source_name}, {"target", m_target_name}});
        m_progress = read();
    }
    m_loaded = true;
    const auto since = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(m_progress.snapshot_elapsed_s.value_or(0.0)));
    m_snapshot_since = std::chrono::steady_clock::now() - since;
    publish_snapshot_figures();
    m_column = ColumnCycle{};
    m_xmin = XminCycle{};
    return true;
}

StepResult TableSync::step(db::Connection& source, db::Connection& replica,
                           const std::atomic<bool>* stop) {
    if (!m_loaded && !begin_cycle(replica)) {
        return StepResult{.committed = false, .yielded = Yield::claimed_elsewhere};
    }
    try {
        if (m_spec.cursor == ChangeTracking::xmin && !m_xmin_readable.has_value() &&
            m_progress.pending == state::Work::none) {
            m_xmin_readable = read_xmin_readable(source);
        }
        switch (choose_step(m_progress, m_spec, m_xmin_readable.value_or(true))) {
            case StepKind::stopped:
                return StepResult{.caught_up = true, .committed = false};
            case StepKind::snapshot:
                return snapshot_step(source, replica, stop);
            case StepKind::full_refresh:
                return full_refresh_step(source, replica, stop);
            case StepKind::xmin:
                return xmin_step(source, replica, stop);
            case StepKind::column:
                return column_step(source, replica, stop);
        }
        throw Error(ErrorCode::internal, "unknown copy step for " + m_label);
    } catch (const Yielded& yielded) {
        replica.try_rollback();
        release(source);
        m_loaded = false;
        if (yielded.why == Yield::claimed_elsewhere) {
            log::info(
                "claim lost: another syncset process took the table over; batch rolled back",
                {{"replica", m_replica}, {"source", m_source_name}, {"target", m_target_name}});
        }
        return StepResult{.committed = false, .yielded = yielded.why};
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
    db::PipeOptions options;
    options.stop = stop;
    if (m_prefetched == copy_out) {
        options.source_started = true;  // started while the last chunk committed
        m_prefetched.reset();
    } else {
        release(source);
    }
    db::CopyStats stats = db::copy_pipe(source, copy_out, replica, copy_in, options);
    PipeResult result{stats.rows, stats.bytes, {}, 0};
    result.read.rows = stats.rows;
    if (!stats.last_row) {
        return result;
    }
    std::size_t wanted = m_spec.key_count;
    if (m_spec.cursor_index) {
        wanted = std::max(wanted, *m_spec.cursor_index + 1);
    }
    if (auto fields = decode_copy_fields(stats.last_row->bytes(), wanted)) {
        for (std::size_t i = 0; i < m_spec.key_count && i < fields->size(); ++i) {
            result.read.last_key.push_back((*fields)[i].value_or(""));
        }
        if (m_spec.cursor_index && *m_spec.cursor_index < fields->size()) {
            result.read.last_cursor = (*fields)[*m_spec.cursor_index].value_or("");
        }
    }
    return result;
}

void TableSync::release(db::Connection& source) noexcept {
    if (m_prefetched) {
        source.copy_out_abort();
        m_prefetched.reset();
    }
}

bool TableSync::end_lapsed_batches(db::Connection& replica) {
    const int ended = state::terminate_lapsed_batches(
        replica, m_state_schema, m_plan.target_schema, m_plan.target_name,
        db::application_name_for("replica:" + m_replica));
    if (ended > 0) {
        log::warn("ended the open batch of a syncset process that lost its claim",
                  {{"replica", m_replica},
                   {"source", m_source_name},
                   {"target", m_target_name},
                   {"sessions", ended}});
    }
    return ended > 0;
}

void TableSync::begin_batch(db::Connection& replica) {
    auto try_lock = [&] {
        replica.begin();
        if (state::try_lock_table_batch(replica, m_state_schema, m_plan.target_schema,
                                        m_plan.target_name)) {
            return true;
        }
        replica.rollback();
        return false;
    };
    if (try_lock()) {
        return;
    }
    // Held by a drift repair, or by a batch of a process that lost the claim to this one while
    // frozen or cut off: that batch can never commit, but keeps the lock until it ends. Only
    // the claim's holder ends it, so a process that lost the claim itself never ends the new
    // holder's batch.
    const std::optional<state::ClaimState> claim =
        state::read_claim(replica, m_state_schema, m_plan.target_schema, m_plan.target_name);
    if (!claim || claim->holder != m_claim.claimant) {
        throw Yielded{Yield::claimed_elsewhere};
    }
    if (end_lapsed_batches(replica)) {
        for (int attempt = 0; attempt < 20; ++attempt) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            if (try_lock()) {
                return;
            }
        }
    }
    throw Yielded{Yield::repair_running};
}

void TableSync::ensure_stage(db::Connection& replica) {
    replica.exec(build_create_stage(m_spec));
}

TableSync::PipeResult TableSync::staged_batch(db::Connection& source, const std::string& copy_out,
                                              db::Connection& replica,
                                              const std::atomic<bool>* stop) {
    // Opens the batch's replica transaction; the caller commits it with the checkpoint.
    begin_batch(replica);
    ensure_stage(replica);
    PipeResult copied = pipe(source, copy_out, replica, build_copy_in(m_spec, true), stop);
    if (m_spec.needs_keep_flag() && m_spec.mode != config::Mode::insert) {
        // Rows that left the filter, or soft-deleted.
        copied.deleted = replica.query(build_filter_delete(m_spec)).affected_rows();
    }
    replica.exec(build_upsert(m_spec));
    return copied;
}

bool TableSync::commit_batch(db::Connection& replica, std::int64_t rows_added,
                             const std::function<void()>& before_commit) {
    const state::Checkpoint checkpoint =
        state::write_progress(replica, m_state_schema, m_progress, rows_added, m_claim);
    if (checkpoint == state::Checkpoint::claim_lost) {
        throw Yielded{Yield::claimed_elsewhere};
    }
    if (checkpoint == state::Checkpoint::refused) {
        throw Error(ErrorCode::schema, "table " + m_label + " was stopped or removed meanwhile");
    }
    if (before_commit) {
        before_commit();
    }
    replica.commit();
    m_progress.rows_copied += rows_added;
    if (checkpoint == state::Checkpoint::resync_started) {
        // A `syncset resync` request, taken up by this checkpoint after its batch: the stored
        // progress is now a re-copy from the first key, no longer m_progress. Read it back as a
        // new cycle would, so that nothing later in this step writes the old position over it
        // and the next step starts the re-copy (a read-ahead of the old position is dropped
        // then: it is not the chunk the re-copy asks for).
        log::info("resync request taken up: re-copying from the first key",
                  {{"replica", m_replica}, {"source", m_source_name}, {"target", m_target_name}});
        // Claimed by this process a moment ago: should the renewal miss (the row locked by
        // another process's claim attempt at that instant), the next step claims again.
        (void)begin_cycle(replica);
        return true;
    }
    return false;
}

std::optional<Bound> TableSync::read_time_bound(db::Connection& source) {
    // Read before the batch's own snapshot: a transaction still open then is seen here, and
    // one that starts later stamps its rows at or after this bound.
    db::Result r = source.exec_params(
        sql::k_read_time_bound_sql,
        {std::to_string(m_plan.spec->late_commit_window.count()) + " milliseconds",
         time_bound_form(m_spec)});
    if (!m_technique_logged) {
        m_technique_logged = true;
        const bool seen = r.value(0, 1) == "true";
        log::info(seen ? "late commits: cursor capped at the oldest open transaction"
                       : "late commits: role cannot see other sessions (no pg_read_all_stats); "
                         "re-reading the look-back window each poll",
                  {{"replica", m_replica},
                   {"source", m_source_name},
                   {"target", m_target_name},
                   {"late_commit_window_ms", m_plan.spec->late_commit_window.count()}});
    }
    return Bound{std::string(r.value(0, 0)), false};
}

std::optional<Bound> TableSync::read_bound(db::Connection& source) {
    if (m_spec.cursor == ChangeTracking::time) {
        return read_time_bound(source);
    }
    // Sequence cursors: the largest value seen by a poll whose open transactions have all
    // ended since. Nothing can commit behind it any more.
    std::optional<std::vector<std::string>> safe;
    if (!m_sequence.empty()) {
        safe =
            m_sequence.pop_safe(read_open_transactions(source), std::chrono::steady_clock::now());
    }
    if (!m_technique_logged) {
        m_technique_logged = true;
        log::info(
            "late commits: cursor advanced only past values seen before open transactions "
            "ended",
            {{"replica", m_replica}, {"source", m_source_name}, {"target", m_target_name}});
    }
    return sequence_bound(safe, m_progress);
}

std::vector<std::string> TableSync::read_handover_cursor(db::Connection& source,
                                                         const std::atomic<bool>* stop) {
    switch (m_spec.cursor) {
        case ChangeTracking::none:
            return {};
        case ChangeTracking::xmin:
            return {std::to_string(read_snapshot_xmin(source))};
        case ChangeTracking::time: {
            auto bound = read_bound(source);
            return bound ? std::vector<std::string>{bound->value} : std::vector<std::string>{};
        }
        case ChangeTracking::sequence:
            break;
    }
    auto read_max = [&]() -> std::vector<std::string> {
        db::Result r = source.query(build_max_cursor(m_spec));
        if (r.is_null(0, 0)) {
            return {};
        }
        return {std::string(r.value(0, 0))};
    };
    using Clock = std::chrono::steady_clock;
    OpenTransactions open = read_open_transactions(source);
    if (open.not_before > Clock::now()) {
        // Other sessions are hidden from this role: do not hold the snapshot for the whole
        // look-back window. Incremental reads start from the first row and move to today's
        // maximum once the window has passed.
        if (auto max = read_max(); !max.empty()) {
            m_sequence.remember(std::move(max), std::move(open));
        }
        return {};
    }
    // Wait for the transactions open now to end: after that every value up to the current
    // maximum is committed, and the snapshot will see it.
    auto deadline = Clock::now() + m_plan.spec->late_commit_window;
    while (!open.ended(read_open_transactions(source), Clock::now())) {
        if (Clock::now() > deadline || (stop != nullptr && *stop)) {
            log::warn(
                "open transactions did not end: incremental reads will start from the "
                "first row",
                {{"replica", m_replica}, {"source", m_source_name}, {"target", m_target_name}});
            return {};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return read_max();
}

StepResult TableSync::snapshot_step(db::Connection& source, db::Connection& replica,
                                    const std::atomic<bool>* stop) {
    const SnapshotRead read = plan_snapshot_read(m_progress);
    m_full_scan_counters.reset();  // the first poll after a (re-)copy scans
    if (read.handover) {
        apply_handover(m_progress, m_spec.cursor, read_handover_cursor(source, stop));
    }
    // Read on the source before the replica's transaction opens, so it never idles in one.
    std::optional<std::int64_t> estimate;
    if (!m_progress.snapshot_elapsed_s) {
        release(source);  // nothing streams before a snapshot's first chunk, but be sure
        estimate = estimate_rows(source);
    }
    begin_batch(replica);
    if (estimate) {
        start_snapshot_progress(replica, *estimate);
    }
    PipeResult copied;
    const std::string copy_out = build_snapshot_copy(m_spec, read.after_key);
    if (read.direct) {
        copied = pipe(source, copy_out, replica, build_copy_in(m_spec, false), stop);
    } else {
        ensure_stage(replica);
        CopySpec plain = m_spec;  // snapshot reads are filtered at the source: no keep flag
        plain.where.reset();
        plain.soft_delete.reset();
        copied = pipe(source, copy_out, replica, build_copy_in(plain, true), stop);
        replica.exec(build_upsert(plain));
    }
    const bool done = apply_snapshot_chunk(m_progress, m_spec, copied.read);
    if (done) {
        for (const auto& ddl : m_plan.index_ddl) {
            replica.exec(ddl);
        }
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
    if (commit_batch(replica, static_cast<std::int64_t>(copied.rows), read_ahead)) {
        return StepResult{.rows = copied.rows, .bytes = copied.bytes, .snapshot = true};
    }
    m_progress.snapshot_rows_done += static_cast<std::int64_t>(copied.rows);
    publish_snapshot_figures();
    log_snapshot_progress(done);
    if (done) {
        log::info("snapshot done", {{"replica", m_replica},
                                    {"source", m_source_name},
                                    {"target", m_target_name},
                                    {"rows", m_progress.rows_copied}});
    }
    return StepResult{.rows = copied.rows, .bytes = copied.bytes, .snapshot = true};
}

void TableSync::publish_snapshot_figures() noexcept {
    // Started: a new snapshot not begun yet still holds the last one's figures.
    const bool under_way = m_progress.pending != state::Work::none &&
                           m_progress.snapshot_elapsed_s && m_progress.snapshot_rows_estimated;
    m_figures_done.store(m_progress.snapshot_rows_done, std::memory_order_relaxed);
    m_figures_estimated.store(under_way ? *m_progress.snapshot_rows_estimated : -1,
                              std::memory_order_relaxed);
}

std::optional<std::pair<std::int64_t, std::int64_t>> TableSync::snapshot_figures() const noexcept {
    const std::int64_t estimated = m_figures_estimated.load(std::memory_order_relaxed);
    if (estimated < 0) {
        return std::nullopt;
    }
    return std::pair{m_figures_done.load(std::memory_order_relaxed), estimated};
}

std::int64_t TableSync::estimate_rows(db::Connection& source) {
    // A small table gets an exact count: cheap, and the planner's figure for a small or fresh
    // table is often far off (or -1: never analyzed). A large one keeps the estimate, even a
    // poor one: a full count of it would cost a scan of its own.
    constexpr std::int64_t k_count_below_rows = 100000;
    constexpr std::int64_t k_count_below_pages = 12800;  // 100 MB of 8 kB pages
    db::Result r = source.exec_params(sql::k_read_row_estimate_sql, {m_spec.source_table});
    const std::int64_t estimate = parse_int64(r.value(0, 0));
    const bool unknown = r.value(0, 1) == "true";
    const std::int64_t pages = parse_int64(r.value(0, 2));
    if (pages >= k_count_below_pages || (estimate >= k_count_below_rows && !unknown)) {
        return estimate;
    }
    db::Result count = source.query(build_row_count(m_spec));
    return parse_int64(count.value(0, 0));
}

void TableSync::start_snapshot_progress(db::Connection& replica, std::int64_t estimate) {
    state::write_snapshot_estimate(replica, m_state_schema, m_plan.target_schema,
                                   m_plan.target_name, estimate);
    m_progress.snapshot_rows_estimated = estimate;
    m_progress.snapshot_rows_done = 0;
    m_progress.snapshot_elapsed_s = 0.0;
    m_snapshot_since = std::chrono::steady_clock::now();
    publish_snapshot_figures();
    m_progress_logged = m_snapshot_since;
    log::info("snapshot started", {{"replica", m_replica},
                                   {"source", m_source_name},
                                   {"target", m_target_name},
                                   {"work", state::to_string(m_progress.pending)},
                                   {"rows_estimated", estimate}});
}

void TableSync::log_snapshot_progress(bool done) {
    constexpr auto k_every = std::chrono::seconds(10);
    const auto now = std::chrono::steady_clock::now();
    if (done || now - m_progress_logged < k_every) {
        return;
    }
    m_progress_logged = now;
    const double elapsed = std::chrono::duration<double>(now - m_snapshot_since).count();
    const state::SnapshotRate rate = state::snapshot_rate(
        m_progress.snapshot_rows_done, m_progress.snapshot_rows_estimated, elapsed);
    char percent[16] = "?";
    if (rate.percent) {
        std::snprintf(percent, sizeof percent, "%.1f", *rate.percent);
    }
    log::info("snapshot progress",
              {{"replica", m_replica},
               {"source", m_source_name},
               {"target", m_target_name},
               {"work", state::to_string(m_progress.pending)},
               {"rows_done", m_progress.snapshot_rows_done},
               {"rows_estimated", m_progress.snapshot_rows_estimated.value_or(0)},
               {"percent", percent},
               {"rows_per_s", static_cast<std::int64_t>(rate.rows_per_second.value_or(0))},
               {"eta_s", rate.eta_seconds ? std::to_string(*rate.eta_seconds) : "?"}});
}

StepResult TableSync::column_step(db::Connection& source, db::Connection& replica,
                                  const std::atomic<bool>* stop) {
    if (needs_bound(m_column)) {
        set_bound(m_column, read_bound(source));
    }
    const ColumnRead read = plan_column_read(m_progress, m_column);
    PipeResult copied =
        staged_batch(source, build_incremental_copy(m_spec, read.from, read.bound), replica, stop);
    const bool caught_up = apply_column_batch(m_progress, m_column, m_spec, copied.read);
    if (commit_batch(replica, static_cast<std::int64_t>(copied.rows))) {
        return StepResult{false, copied.rows, copied.bytes, copied.deleted};
    }
    // Caught up. Remember what this poll saw, for the sequence rule: once every transaction
    // open after the last read has ended, nothing can commit below the largest value seen.
    bool resync = false;
    if (caught_up && m_spec.cursor == ChangeTracking::sequence && !m_column.last_seen.empty()) {
        m_sequence.remember(m_column.last_seen, read_open_transactions(source));
        resync = advance_sequence_cursor(source, replica);
    }
    return StepResult{caught_up && !resync, copied.rows, copied.bytes, copied.deleted};
}

OpenTransactions TableSync::read_open_transactions(db::Connection& source) {
    db::Result r = source.query(sql::k_read_open_transactions_sql);
    // Without pg_read_all_stats other roles' sessions are hidden: wait out the look-back
    // window instead of trusting an empty list.
    return parse_open_transactions(r.value(0, 0) == "true", r.value(0, 1),
                                   std::chrono::steady_clock::now(),
                                   m_plan.spec->late_commit_window);
}

bool TableSync::advance_sequence_cursor(db::Connection& source, db::Connection& replica) {
    std::optional<std::vector<std::string>> safe =
        m_sequence.pop_safe(read_open_transactions(source), std::chrono::steady_clock::now());
    if (safe) {
        // No transaction was open during the last read: the position is final already.
        begin_batch(replica);
        m_progress.cursor = std::move(*safe);
        return commit_batch(replica, 0);
    }
    return false;
}

bool TableSync::read_xmin_readable(db::Connection& source) {
    // Reading xmin needs SELECT on it; a role granted only the replicated columns lacks it.
    // That role still syncs: by re-reading every row each poll, as `cursor: none`.
    db::Result r = source.exec_params(sql::k_read_xmin_readable_sql, {m_spec.source_table});
    const bool readable = r.value(0, 0) == "true";
    if (!readable) {
        log::warn(
            "role cannot read xmin: re-reading the whole table each poll; "
            "GRANT SELECT (xmin) to read only changed rows",
            {{"replica", m_replica}, {"source", m_source_name}, {"target", m_target_name}});
    }
    return readable;
}

std::optional<WriteCounters> TableSync::read_write_counters(db::Connection& source) {
    if (m_counters_failed) {
        return std::nullopt;
    }
    db::Result r;
    try {
        r = source.exec_params(sql::k_read_write_counters_sql, {m_spec.source_table});
    } catch (const Error& e) {
        if (e.retryable()) {
            throw;
        }
        // A role denied the statistics functions still syncs, by scanning every poll.
        m_counters_failed = true;
        log::warn("cannot read the table's write counters: every xmin poll reads the whole table",
                  {{"replica", m_replica},
                   {"source", m_source_name},
                   {"target", m_target_name},
                   {"error", e.what()}});
        return std::nullopt;
    }
    if (r.is_null(0, 0)) {
        return std::nullopt;
    }
    return WriteCounters{parse_int64(r.value(0, 0)), parse_int64(r.value(0, 1)),
                         parse_int64(r.value(0, 2)), parse_int64(r.value(0, 3)),
                         std::string(r.value(0, 4))};
}

XminScan TableSync::choose_scan(db::Connection& source) {
    const auto max_interval = m_plan.spec->xmin_full_scan_interval;
    m_xmin.counters_at = std::chrono::steady_clock::now();
    m_xmin.counters = max_interval.count() > 0 ? read_write_counters(source) : std::nullopt;
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const XminScan scan = choose_xmin_scan(
        m_xmin.counters, m_full_scan_counters,
        duration_cast<milliseconds>(m_xmin.counters_at - m_full_scan_at),
        duration_cast<milliseconds>(m_xmin.counters_at - m_counters_moved_at), max_interval);
    if (counters_moved(scan)) {
        m_counters_moved_at = m_xmin.counters_at;
    }
    if (!m_technique_logged) {
        m_technique_logged = true;
        const log::Fields fields = {{"replica", m_replica},
                                    {"source", m_source_name},
                                    {"target", m_target_name},
                                    {"xmin_full_scan_interval_ms", max_interval.count()}};
        if (max_interval.count() == 0) {
            log::info("xmin: every poll reads the whole table", fields);
        } else if (!m_xmin.counters) {
            log::info(
                "xmin: the table's write counters cannot show every write (track_counts "
                "off, or a partition that is not a plain table): every poll reads the "
                "whole table",
                fields);
        } else {
            log::info(
                "xmin: a poll reads the table only when its write counters moved, and at "
                "least every xmin_full_scan_interval",
                fields);
        }
    }
    if (scan != XminScan::skip) {
        log::debug("xmin poll reads the table", {{"replica", m_replica},
                                                 {"source", m_source_name},
                                                 {"target", m_target_name},
                                                 {"reason", name_of(scan)}});
    }
    return scan;
}

StepResult TableSync::xmin_step(db::Connection& source, db::Connection& replica,
                                const std::atomic<bool>* stop) {
    if (!m_xmin.start_xmin) {
        // The counters are read before the poll's snapshot: a write committed before this
        // read is in the snapshot; one committed after it has an xid at or after the xmin
        // stored below, and moves the counters once its session flushes its statistics.
        if (choose_scan(source) == XminScan::skip) {
            // Nothing counted since the last full poll: no scan, the stored xmin stays (so the
            // next full poll reads from there), and the unchanged checkpoint is committed,
            // which marks the table's loop alive (last_success) for status, check and drift.
            begin_batch(replica);
            return StepResult{.caught_up = !commit_batch(replica, 0)};
        }
        m_xmin.start_xmin = read_snapshot_xmin(source);
    }
    const XminRead read = plan_xmin_read(m_progress, m_xmin);
    PipeResult copied =
        staged_batch(source, build_xmin_copy(m_spec, read.from_xid, read.after_key), replica, stop);
    const bool caught_up = apply_xmin_batch(m_progress, m_xmin, copied.read, m_spec.batch_rows);
    if (commit_batch(replica, static_cast<std::int64_t>(copied.rows))) {
        return StepResult{false, copied.rows, copied.bytes, copied.deleted};
    }
    if (caught_up) {
        m_full_scan_counters = m_xmin.counters;
        m_full_scan_at = m_xmin.counters_at;
    }
    return StepResult{caught_up, copied.rows, copied.bytes, copied.deleted};
}

StepResult TableSync::full_refresh_step(db::Connection& source, db::Connection& replica,
                                        const std::atomic<bool>* stop) {
    // Filtered at the source; rows gone from the result are deleted: no keep flag needed.
    CopySpec full = m_spec;
    full.cursor = ChangeTracking::none;
    begin_batch(replica);
    ensure_stage(replica);
    PipeResult copied =
        pipe(source, build_full_copy(full), replica, build_copy_in(full, true), stop);
    if (full.mode != config::Mode::insert) {
        copied.deleted = replica.query(build_mirror_delete(full)).affected_rows();
    }
    replica.exec(build_upsert(full));
    const bool resync = commit_batch(replica, 0);
    return StepResult{!resync, copied.rows, copied.bytes, copied.deleted};
}

}  // namespace syncset::copy
