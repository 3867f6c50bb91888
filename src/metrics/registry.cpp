#include "syncset/metrics/registry.hpp"

#include <algorithm>

#include "syncset/text.hpp"

namespace syncset::metrics {

namespace {

constexpr auto k_relaxed = std::memory_order_relaxed;

std::optional<double> seconds_of(std::int64_t ms) noexcept {
    if (ms == k_unknown) {
        return std::nullopt;
    }
    return static_cast<double>(ms) / 1000.0;
}

}  // namespace

std::int64_t unix_ms(std::chrono::system_clock::time_point at) noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

std::optional<double> table_lag_s(const TableMetrics& table, std::int64_t now_ms) noexcept {
    std::int64_t since = table.cursor_time_ms.load(k_relaxed);
    if (since == k_unknown) {
        since = table.caught_up_ms.load(k_relaxed);
    }
    if (since == k_unknown) {
        since = table.added_ms.load(k_relaxed);
    }
    if (since == k_unknown) {
        return std::nullopt;
    }
    // A cursor ahead of this machine's clock (skew, or a row stamped in the future) is no lag.
    return static_cast<double>(std::max<std::int64_t>(0, now_ms - since)) / 1000.0;
}

void publish_progress(TableMetrics& table, const state::Progress& progress, bool cursor_is_instant,
                      std::int64_t now_ms, bool from_store) noexcept {
    table.phase.store(progress.phase, k_relaxed);
    std::optional<std::int64_t> cursor_ms;
    if (cursor_is_instant && !progress.cursor.empty()) {
        cursor_ms = parse_timestamp_ms(progress.cursor.front());
    }
    table.cursor_time_ms.store(cursor_ms.value_or(k_unknown), k_relaxed);
    if (!from_store) {
        return;
    }
    if (progress.since_success_s && table.last_success_ms.load(k_relaxed) == k_unknown) {
        const std::int64_t at = now_ms - *progress.since_success_s * 1000;
        table.last_success_ms.store(at, k_relaxed);
        if (progress.phase == state::Phase::incremental) {
            // Its last success before this process was a poll that had caught up.
            std::int64_t unknown = k_unknown;
            table.caught_up_ms.compare_exchange_strong(unknown, at, k_relaxed);
        }
    }
    const state::DriftResult& drift = progress.last_drift;
    if (auto scanned = parse_timestamp_ms(drift.checked_at);
        scanned && *scanned > table.drift_scan_ms.load(k_relaxed)) {
        table.drift_missing.store(drift.missing, k_relaxed);
        table.drift_extra.store(drift.extra, k_relaxed);
        table.drift_different.store(drift.different, k_relaxed);
        table.drift_scan_ms.store(*scanned, k_relaxed);
    }
}

Registry::Registry(std::string version) : m_version(std::move(version)) {}

void Registry::set_replicas(const std::vector<std::string>& names) {
    std::lock_guard lock(m_mutex);
    std::vector<std::pair<std::string, std::shared_ptr<EndpointMetrics>>> replicas;
    replicas.reserve(names.size());
    for (const auto& name : names) {
        auto it = std::find_if(m_replicas.begin(), m_replicas.end(),
                               [&](const auto& entry) { return entry.first == name; });
        replicas.emplace_back(
            name, it != m_replicas.end() ? it->second : std::make_shared<EndpointMetrics>());
    }
    m_replicas = std::move(replicas);
    std::erase_if(m_tables, [&](const auto& entry) {
        return std::find(names.begin(), names.end(), entry.first.first) == names.end();
    });
}

std::shared_ptr<EndpointMetrics> Registry::replica(const std::string& name) {
    std::lock_guard lock(m_mutex);
    for (const auto& [known, metrics] : m_replicas) {
        if (known == name) {
            return metrics;
        }
    }
    return m_replicas.emplace_back(name, std::make_shared<EndpointMetrics>()).second;
}

std::shared_ptr<TableMetrics> Registry::table(const std::string& replica,
                                              const std::string& table) {
    std::lock_guard lock(m_mutex);
    auto& entry = m_tables[{replica, table}];
    if (!entry) {
        entry = std::make_shared<TableMetrics>();
        entry->added_ms.store(unix_ms(std::chrono::system_clock::now()), k_relaxed);
    }
    return entry;
}

void Registry::retain_tables(const std::string& replica, const std::set<std::string>& targets) {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_tables, [&](const auto& entry) {
        return entry.first.first == replica && !targets.contains(entry.first.second);
    });
}

void Registry::beat(std::chrono::steady_clock::time_point now) noexcept {
    m_beat_ns.store(now.time_since_epoch().count(), k_relaxed);
}

std::chrono::milliseconds Registry::since_beat(
    std::chrono::steady_clock::time_point now) const noexcept {
    const std::int64_t beat = m_beat_ns.load(k_relaxed);
    if (beat == 0) {
        return std::chrono::milliseconds(0);
    }
    const std::chrono::steady_clock::time_point at{std::chrono::steady_clock::duration(beat)};
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - at);
}

Figures Registry::figures(std::int64_t now_ms) const {
    Figures out;
    out.version = m_version;
    out.started = m_started.load(k_relaxed);
    out.source = {"source", m_source->up.load(k_relaxed), m_source->paused.load(k_relaxed)};
    std::lock_guard lock(m_mutex);
    out.replicas.reserve(m_replicas.size());
    for (const auto& [name, metrics] : m_replicas) {
        out.replicas.push_back(
            {name, metrics->up.load(k_relaxed), metrics->paused.load(k_relaxed)});
    }
    out.tables.reserve(m_tables.size());
    for (const auto& [key, t] : m_tables) {
        TableFigures f;
        f.replica = key.first;
        f.table = key.second;
        f.rows_snapshot = t->rows_snapshot.load(k_relaxed);
        f.rows_incremental = t->rows_incremental.load(k_relaxed);
        f.rows_repair = t->rows_repair.load(k_relaxed);
        f.rows_deleted = t->rows_deleted.load(k_relaxed);
        f.bytes_copied = t->bytes_copied.load(k_relaxed);
        f.batches = t->batches.load(k_relaxed);
        f.errors_retryable = t->errors_retryable.load(k_relaxed);
        f.errors_fatal = t->errors_fatal.load(k_relaxed);
        f.phase = t->phase.load(k_relaxed);
        f.last_success_s = seconds_of(t->last_success_ms.load(k_relaxed));
        f.lag_s = table_lag_s(*t, now_ms);
        f.snapshot_rows_done = t->snapshot_rows_done.load(k_relaxed);
        f.snapshot_rows_estimated = t->snapshot_rows_estimated.load(k_relaxed);
        f.drift_missing = t->drift_missing.load(k_relaxed);
        f.drift_extra = t->drift_extra.load(k_relaxed);
        f.drift_different = t->drift_different.load(k_relaxed);
        f.drift_scan_s = seconds_of(t->drift_scan_ms.load(k_relaxed));
        out.tables.push_back(std::move(f));
    }
    return out;
}

}  // namespace syncset::metrics
