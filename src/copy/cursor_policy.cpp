#include "syncset/copy/cursor_policy.hpp"

#include <algorithm>

#include "syncset/text.hpp"

namespace syncset::copy {

namespace {

Position position_of(const std::vector<std::string>& values) {
    return Position{values.front(), std::vector<std::string>(values.begin() + 1, values.end())};
}

bool full(const BatchRead& batch, std::int64_t limit) {
    return batch.rows >= static_cast<std::uint64_t>(limit);
}

}  // namespace

std::string_view tracking_name(ChangeTracking tracking) noexcept {
    switch (tracking) {
        case ChangeTracking::xmin:
            return "xmin";
        case ChangeTracking::none:
            return "none";
        case ChangeTracking::time:
            return "time";
        case ChangeTracking::sequence:
            return "sequence";
    }
    return "?";
}

StepKind choose_step(const state::Progress& progress, const CopySpec& spec,
                     bool xmin_readable) noexcept {
    if (progress.phase == state::Phase::stopped) {
        return StepKind::stopped;
    }
    if (progress.pending != state::Work::none) {
        return StepKind::snapshot;
    }
    if (spec.full_refresh() || (spec.cursor == ChangeTracking::xmin && !xmin_readable)) {
        return StepKind::full_refresh;
    }
    return spec.cursor == ChangeTracking::xmin ? StepKind::xmin : StepKind::column;
}

SnapshotRead plan_snapshot_read(const state::Progress& progress) {
    SnapshotRead read;
    read.after_key = progress.snapshot_position;
    // A resumed copy keeps the handover it stored with its first chunk; a new snapshot (the
    // table was created or rebuilt) always takes a new one.
    read.handover = progress.snapshot_position.empty() &&
                    (progress.cursor.empty() || progress.pending == state::Work::snapshot);
    read.direct = progress.pending == state::Work::snapshot;
    return read;
}

void apply_handover(state::Progress& progress, ChangeTracking tracking,
                    std::vector<std::string> cursor) {
    progress.cursor = std::move(cursor);
    progress.cursor_kind = std::string(tracking_name(tracking));
}

bool apply_snapshot_chunk(state::Progress& progress, const CopySpec& spec, const BatchRead& batch) {
    const bool done = spec.key_count == 0 || !full(batch, spec.snapshot_chunk_rows);
    if (done) {
        progress.snapshot_position.clear();
        progress.pending = state::Work::none;
        progress.phase = state::Phase::incremental;
    } else {
        progress.snapshot_position = batch.last_key;
    }
    return done;
}

XminRead plan_xmin_read(const state::Progress& progress, const XminCycle& cycle) {
    XminRead read;
    read.from_xid = progress.cursor.empty() ? 0 : parse_int64(progress.cursor.front());
    read.after_key = cycle.after_key;
    return read;
}

bool apply_xmin_batch(state::Progress& progress, XminCycle& cycle, const BatchRead& batch,
                      std::int64_t batch_rows) {
    if (full(batch, batch_rows)) {
        cycle.after_key = batch.last_key;
        return false;
    }
    progress.cursor = {std::to_string(cycle.start_xmin.value())};
    progress.cursor_kind = std::string(tracking_name(ChangeTracking::xmin));
    return true;
}

XminScan choose_xmin_scan(const std::optional<WriteCounters>& now,
                          const std::optional<WriteCounters>& at_last_full,
                          std::chrono::milliseconds since_last_full,
                          std::chrono::milliseconds since_moved,
                          std::chrono::milliseconds max_interval) noexcept {
    if (max_interval.count() <= 0) {
        return XminScan::always;
    }
    if (!now) {
        return XminScan::unknown;
    }
    if (!at_last_full) {
        return XminScan::first;
    }
    if (now->inserted < at_last_full->inserted || now->updated < at_last_full->updated ||
        now->deleted < at_last_full->deleted || now->reset_at != at_last_full->reset_at) {
        return XminScan::reset;
    }
    if (*now != *at_last_full) {
        return XminScan::changed;
    }
    if (since_last_full >= max_interval) {
        return XminScan::due;
    }
    return since_moved < k_xmin_settle ? XminScan::settling : XminScan::skip;
}

bool counters_moved(XminScan scan) noexcept {
    switch (scan) {
        case XminScan::reset:
        case XminScan::changed:
            return true;
        case XminScan::skip:
        case XminScan::always:
        case XminScan::unknown:
        case XminScan::first:
        case XminScan::settling:
        case XminScan::due:
            return false;
    }
    return false;
}

bool needs_bound(const ColumnCycle& cycle) noexcept {
    return !cycle.bound_read;
}

void set_bound(ColumnCycle& cycle, std::optional<Bound> bound) {
    cycle.bound_read = true;
    cycle.bound = std::move(bound);
    if (!cycle.bound) {
        cycle.unsafe = true;  // nothing is known to be safe yet: persist nothing
    }
}

ColumnRead plan_column_read(const state::Progress& progress, const ColumnCycle& cycle) {
    std::optional<Position> stored;
    if (!progress.cursor.empty()) {
        stored = position_of(progress.cursor);
    }
    if (!cycle.unsafe) {
        return ColumnRead{stored, cycle.bound};
    }
    if (cycle.unsafe_from || !cycle.bound) {
        return ColumnRead{cycle.unsafe_from, std::nullopt};
    }
    // Phase B starts at the bound; a sequence bound that is the stored position itself
    // resumes after its key.
    if (stored && !stored->key.empty() && cycle.bound->inclusive) {
        return ColumnRead{stored, std::nullopt};
    }
    return ColumnRead{Position{cycle.bound->value, {}}, std::nullopt};
}

bool apply_column_batch(state::Progress& progress, ColumnCycle& cycle, const CopySpec& spec,
                        const BatchRead& batch) {
    std::vector<std::string> last;
    if (batch.rows > 0 && batch.last_cursor) {
        last.push_back(*batch.last_cursor);
        last.insert(last.end(), batch.last_key.begin(), batch.last_key.end());
        if (spec.cursor == ChangeTracking::sequence) {
            cycle.last_seen = last;
        }
    }
    const bool full_batch = full(batch, spec.batch_rows);
    if (!cycle.unsafe) {
        if (!last.empty()) {
            progress.cursor = last;
        }
        progress.cursor_kind = std::string(tracking_name(spec.cursor));
        if (!full_batch) {
            cycle.unsafe = true;
            cycle.unsafe_from.reset();
        }
        return false;
    }
    if (full_batch) {
        cycle.unsafe_from = position_of(last);
        return false;
    }
    return true;
}

bool OpenTransactions::ended(const OpenTransactions& now, SteadyTime at) const {
    if (at < not_before) {
        return false;
    }
    return std::none_of(sessions.begin(), sessions.end(), [&](const std::string& s) {
        return std::find(now.sessions.begin(), now.sessions.end(), s) != now.sessions.end();
    });
}

OpenTransactions parse_open_transactions(bool sees_all, std::string_view list, SteadyTime at,
                                         std::chrono::milliseconds late_commit_window) {
    OpenTransactions open;
    open.not_before = sees_all ? at : at + late_commit_window;
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        open.sessions.emplace_back(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return open;
}

void SequenceWatch::remember(std::vector<std::string> position, OpenTransactions open) {
    m_pending.emplace_back(std::move(position), std::move(open));
}

std::optional<std::vector<std::string>> SequenceWatch::pop_safe(const OpenTransactions& now,
                                                                SteadyTime at) {
    std::optional<std::vector<std::string>> safe;
    while (!m_pending.empty() && m_pending.front().second.ended(now, at)) {
        safe = std::move(m_pending.front().first);
        m_pending.pop_front();
    }
    return safe;
}

std::optional<Bound> sequence_bound(const std::optional<std::vector<std::string>>& safe,
                                    const state::Progress& progress) {
    if (safe && !safe->empty()) {
        return Bound{safe->front(), true};
    }
    if (!progress.cursor.empty()) {
        return Bound{progress.cursor.front(), true};
    }
    return std::nullopt;
}

}  // namespace syncset::copy
