#include "metrics/exposition.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

#include "syncset/json.hpp"

namespace syncset::metrics {

namespace {

using Up = EndpointMetrics::Up;

// One metric family: HELP and TYPE once, then its samples.
class Family {
  public:
    Family(std::string& out, std::string_view name, std::string_view type, std::string_view help)
        : m_out(out), m_name(name) {
        out.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }

    // A sample with labels given as name, value pairs.
    template <typename Number>
    void sample(std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                Number value) {
        m_out.append(m_name);
        if (labels.size() > 0) {
            m_out.push_back('{');
            bool first = true;
            for (const auto& [label, text] : labels) {
                if (!first) {
                    m_out.push_back(',');
                }
                first = false;
                m_out.append(label).append("=\"");
                append_label_value(text);
                m_out.push_back('"');
            }
            m_out.push_back('}');
        }
        m_out.push_back(' ');
        append_number(value);
        m_out.push_back('\n');
    }

  private:
    void append_label_value(std::string_view text) {
        for (char c : text) {
            switch (c) {
                case '\\':
                    m_out.append("\\\\");
                    break;
                case '"':
                    m_out.append("\\\"");
                    break;
                case '\n':
                    m_out.append("\\n");
                    break;
                default:
                    m_out.push_back(c);
            }
        }
    }

    template <typename Number>
    void append_number(Number value) {
        std::array<char, 32> buffer{};
        auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
        m_out.append(buffer.data(), ec == std::errc{} ? end : buffer.data());
    }

    std::string& m_out;
    std::string_view m_name;
};

void render_tables(std::string& out, const Figures& f) {
    {
        Family rows(out, "syncset_rows_copied_total", "counter",
                    "Rows written to the replica table, by what wrote them.");
        for (const auto& t : f.tables) {
            rows.sample({{"replica", t.replica}, {"table", t.table}, {"phase", "snapshot"}},
                        t.rows_snapshot);
            rows.sample({{"replica", t.replica}, {"table", t.table}, {"phase", "incremental"}},
                        t.rows_incremental);
            rows.sample({{"replica", t.replica}, {"table", t.table}, {"phase", "repair"}},
                        t.rows_repair);
        }
    }
    struct CounterFamily {
        std::string_view name;
        std::string_view help;
        std::uint64_t TableFigures::*member;
    };
    constexpr std::array<CounterFamily, 3> k_counters{{
        {"syncset_rows_deleted_total",
         "Rows deleted from the replica table: left the row filter, soft-deleted, gone from a "
         "mirror, or removed by a drift repair.",
         &TableFigures::rows_deleted},
        {"syncset_bytes_copied_total", "COPY bytes read from the source for the table.",
         &TableFigures::bytes_copied},
        {"syncset_batches_total", "Replica transactions committed with the table's checkpoint.",
         &TableFigures::batches},
    }};
    for (const auto& counter : k_counters) {
        Family family(out, counter.name, "counter", counter.help);
        for (const auto& t : f.tables) {
            family.sample({{"replica", t.replica}, {"table", t.table}}, t.*counter.member);
        }
    }
    {
        Family errors(out, "syncset_errors_total", "counter",
                      "Failed copy cycles; retryable ones are retried with backoff.");
        for (const auto& t : f.tables) {
            errors.sample({{"replica", t.replica}, {"table", t.table}, {"retryable", "true"}},
                          t.errors_retryable);
            errors.sample({{"replica", t.replica}, {"table", t.table}, {"retryable", "false"}},
                          t.errors_fatal);
        }
    }
    {
        Family phase(out, "syncset_table_phase", "gauge",
                     "1 for the table's current phase, 0 for the others.");
        for (const auto& t : f.tables) {
            for (const auto& entry : state::k_phase_names) {
                phase.sample({{"replica", t.replica}, {"table", t.table}, {"phase", entry.name}},
                             t.phase == entry.value ? 1 : 0);
            }
        }
    }
    {
        Family success(out, "syncset_last_success_timestamp_seconds", "gauge",
                       "When the table's last batch committed, in Unix seconds.");
        for (const auto& t : f.tables) {
            if (t.last_success_s) {
                success.sample({{"replica", t.replica}, {"table", t.table}}, *t.last_success_s);
            }
        }
    }
    {
        Family lag(out, "syncset_lag_seconds", "gauge",
                   "Time cursors: the stored cursor's age. Others: time since the table last "
                   "caught up.");
        for (const auto& t : f.tables) {
            if (t.lag_s) {
                lag.sample({{"replica", t.replica}, {"table", t.table}}, *t.lag_s);
            }
        }
    }
    {
        Family done(out, "syncset_snapshot_rows_done", "gauge",
                    "Rows the snapshot, backfill or resync under way has copied; 0 when none is.");
        for (const auto& t : f.tables) {
            done.sample({{"replica", t.replica}, {"table", t.table}}, t.snapshot_rows_done);
        }
    }
    {
        Family estimated(out, "syncset_snapshot_rows_estimated", "gauge",
                         "Rows the snapshot under way is expected to copy; 0 when none is.");
        for (const auto& t : f.tables) {
            estimated.sample({{"replica", t.replica}, {"table", t.table}},
                             t.snapshot_rows_estimated);
        }
    }
    {
        Family drift(out, "syncset_drift_rows", "gauge",
                     "Rows that differed in the table's last drift scan, before repair.");
        for (const auto& t : f.tables) {
            drift.sample({{"replica", t.replica}, {"table", t.table}, {"kind", "missing"}},
                         t.drift_missing);
            drift.sample({{"replica", t.replica}, {"table", t.table}, {"kind", "extra"}},
                         t.drift_extra);
            drift.sample({{"replica", t.replica}, {"table", t.table}, {"kind", "different"}},
                         t.drift_different);
        }
    }
    {
        Family scanned(out, "syncset_drift_last_scan_timestamp_seconds", "gauge",
                       "When the table's last drift scan ended, in Unix seconds.");
        for (const auto& t : f.tables) {
            if (t.drift_scan_s) {
                scanned.sample({{"replica", t.replica}, {"table", t.table}}, *t.drift_scan_s);
            }
        }
    }
}

void render_process(std::string& out, const ProcessFigures& p) {
    if (p.cpu_seconds) {
        Family(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.")
            .sample({}, *p.cpu_seconds);
    }
    if (p.resident_memory_bytes) {
        Family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
            .sample({}, *p.resident_memory_bytes);
    }
    if (p.start_time_seconds) {
        Family(out, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.")
            .sample({}, *p.start_time_seconds);
    }
    if (p.open_fds) {
        Family(out, "process_open_fds", "gauge", "Number of open file descriptors.")
            .sample({}, *p.open_fds);
    }
    if (p.max_fds) {
        Family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.")
            .sample({}, *p.max_fds);
    }
}

Answer json_answer(int status, const JsonWriter& json) {
    return Answer{status, "application/json", json.str() + "\n"};
}

}  // namespace

std::string render_metrics(const Figures& f) {
    std::string out;
    out.reserve(512 + f.tables.size() * 2048);
    Family(out, "syncset_build_info", "gauge", "Always 1; the version of syncset running.")
        .sample({{"version", f.version}}, 1);
    if (f.source.up != Up::unknown) {
        Family(out, "syncset_source_up", "gauge",
               "1 when the last attempt to use the source database worked.")
            .sample({}, f.source.up == Up::up ? 1 : 0);
    }
    {
        Family up(out, "syncset_replica_up", "gauge",
                  "1 when the last attempt to use the replica database worked.");
        for (const auto& r : f.replicas) {
            if (r.up != Up::unknown) {
                up.sample({{"replica", r.name}}, r.up == Up::up ? 1 : 0);
            }
        }
    }
    render_tables(out, f);
    render_process(out, f.process);
    return out;
}

Answer judge_liveness(std::chrono::milliseconds since_beat) {
    JsonWriter json;
    const bool alive = since_beat < k_liveness_limit;
    json.begin_object().key("alive").value(alive);
    if (!alive) {
        json.key("reason").value("the scheduling loop has not turned for " +
                                 std::to_string(since_beat.count() / 1000) + " s");
    }
    json.end_object();
    return json_answer(alive ? 200 : 503, json);
}

Answer judge_readiness(const Figures& f) {
    std::vector<std::string> problems;
    if (!f.started) {
        problems.emplace_back("starting: the first schema step is not done");
    }
    if (f.source.up == Up::down) {
        problems.emplace_back("source unreachable");
    }
    for (const auto& r : f.replicas) {
        if (r.up == Up::down) {
            problems.push_back("replica " + r.name + " down");
        } else if (r.paused) {
            problems.push_back("replica " + r.name + " paused: its plan has problems (see the log)");
        }
    }
    for (const auto& t : f.tables) {
        if (t.phase == state::Phase::stopped) {
            problems.push_back("table " + t.table + " on replica " + t.replica + " stopped");
        }
    }
    JsonWriter json;
    json.begin_object().key("ready").value(problems.empty());
    if (!problems.empty()) {
        json.key("not_ready").begin_array();
        for (const auto& problem : problems) {
            json.value(problem);
        }
        json.end_array();
    }
    json.end_object();
    return json_answer(problems.empty() ? 200 : 503, json);
}

Answer respond(const std::string& path, const Registry& registry,
               std::chrono::steady_clock::time_point now_steady, std::int64_t now_ms,
               const std::function<ProcessFigures()>& read_process) {
    if (path == "/metrics") {
        Figures figures = registry.figures(now_ms);
        figures.process = read_process();
        return Answer{200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(figures)};
    }
    if (path == "/healthz") {
        return judge_liveness(registry.since_beat(now_steady));
    }
    if (path == "/readyz") {
        return judge_readiness(registry.figures(now_ms));
    }
    return Answer{404, "text/plain; charset=utf-8",
                  "not found: syncset serves /metrics, /healthz and /readyz\n"};
}

}  // namespace syncset::metrics
