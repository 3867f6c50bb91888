#include "metrics/exposition.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>
#include <utility>

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

// One family with a sample per table: `value(table)` gives the number, or nullopt to leave the
// table out (a time not known yet).
template <typename Value>
void per_table(std::string& out, const Figures& f, std::string_view name, std::string_view type,
               std::string_view help, Value value) {
    Family family(out, name, type, help);
    for (const auto& t : f.tables) {
        if (auto number = value(t)) {
            family.sample({{"replica", t.replica}, {"table", t.table}}, *number);
        }
    }
}

// One family with a sample per table and value of a third label, each from its own member.
template <typename Member, std::size_t N>
void per_table_by(std::string& out, const Figures& f, std::string_view name, std::string_view type,
                  std::string_view help, std::string_view label,
                  const std::array<std::pair<std::string_view, Member TableFigures::*>, N>& parts) {
    Family family(out, name, type, help);
    for (const auto& t : f.tables) {
        for (const auto& [text, member] : parts) {
            family.sample({{"replica", t.replica}, {"table", t.table}, {label, text}}, t.*member);
        }
    }
}

template <typename Number>
auto of(Number TableFigures::*member) {
    return [member](const TableFigures& t) { return std::optional<Number>(t.*member); };
}

template <typename Number>
auto optional_of(std::optional<Number> TableFigures::*member) {
    return [member](const TableFigures& t) { return t.*member; };
}

void render_tables(std::string& out, const Figures& f) {
    using Count = std::uint64_t TableFigures::*;
    using Gauge = std::int64_t TableFigures::*;
    per_table_by(out, f, "syncset_rows_copied_total", "counter",
                 "Rows written to the replica table, by what wrote them.", "phase",
                 std::to_array<std::pair<std::string_view, Count>>(
                     {{"snapshot", &TableFigures::rows_snapshot},
                      {"incremental", &TableFigures::rows_incremental},
                      {"repair", &TableFigures::rows_repair}}));
    per_table(out, f, "syncset_rows_deleted_total", "counter",
              "Rows deleted from the replica table: left the row filter, soft-deleted, gone from "
              "a mirror, or removed by a drift repair.",
              of(&TableFigures::rows_deleted));
    per_table(out, f, "syncset_bytes_copied_total", "counter",
              "COPY bytes read from the source for the table.", of(&TableFigures::bytes_copied));
    per_table(out, f, "syncset_batches_total", "counter",
              "Replica transactions committed with the table's checkpoint.",
              of(&TableFigures::batches));
    per_table_by(
        out, f, "syncset_errors_total", "counter",
        "Failed copy cycles; retryable ones are retried with backoff.", "retryable",
        std::to_array<std::pair<std::string_view, Count>>(
            {{"true", &TableFigures::errors_retryable}, {"false", &TableFigures::errors_fatal}}));
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
    per_table(out, f, "syncset_last_success_timestamp_seconds", "gauge",
              "When the table's last batch committed, in Unix seconds.",
              optional_of(&TableFigures::last_success_s));
    per_table(out, f, "syncset_lag_seconds", "gauge",
              "Time cursors: the stored cursor's age. Others: time since the table last caught "
              "up.",
              optional_of(&TableFigures::lag_s));
    per_table(out, f, "syncset_snapshot_rows_done", "gauge",
              "Rows the snapshot, backfill or resync under way has copied; 0 when none is.",
              of(&TableFigures::snapshot_rows_done));
    per_table(out, f, "syncset_snapshot_rows_estimated", "gauge",
              "Rows the snapshot under way is expected to copy; 0 when none is.",
              of(&TableFigures::snapshot_rows_estimated));
    per_table_by(out, f, "syncset_drift_rows", "gauge",
                 "Rows that differed in the table's last drift scan, before repair.", "kind",
                 std::to_array<std::pair<std::string_view, Gauge>>(
                     {{"missing", &TableFigures::drift_missing},
                      {"extra", &TableFigures::drift_extra},
                      {"different", &TableFigures::drift_different}}));
    per_table(out, f, "syncset_drift_last_scan_timestamp_seconds", "gauge",
              "When the table's last drift scan ended, in Unix seconds.",
              optional_of(&TableFigures::drift_scan_s));
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
    } else if (f.source.paused) {
        problems.emplace_back("source catalog could not be read (see the log)");
    }
    for (const auto& r : f.replicas) {
        if (r.up == Up::down) {
            problems.push_back("replica " + r.name + " down");
        } else if (r.paused) {
            problems.push_back("replica " + r.name +
                               " paused: its schema step did not complete (see the log)");
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
