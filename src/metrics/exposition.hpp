// The text /metrics, /healthz and /readyz answer, from the registry's figures. Pure.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "syncset/metrics/registry.hpp"

namespace syncset::metrics {

// Prometheus text exposition format 0.0.4: `syncset_*` per (replica, table) and endpoint, and
// the usual `process_*`. Labels carry only replica and target table names, never a DSN or a
// column.
std::string render_metrics(const Figures& figures);

struct Answer {
    int status = 200;
    std::string content_type;
    std::string body;
};

// The scheduling loop's heartbeat older than this: /healthz answers 503. Longer than any wait
// the loop makes on purpose (a retry's delay is at most 30 s, a connection attempt 10 s).
inline constexpr std::chrono::seconds k_liveness_limit{60};

// /healthz: 200 while the loop turned within k_liveness_limit. Never touches a database.
Answer judge_liveness(std::chrono::milliseconds since_beat);

// /readyz: 200 once the first schema step is done and nothing below is wrong; otherwise 503
// naming each problem: the source unreachable, a replica down or paused, a table stopped.
Answer judge_readiness(const Figures& figures);

// GET PATH: /metrics, /healthz, /readyz, else 404. `read_process` is called for /metrics only.
Answer respond(const std::string& path, const Registry& registry,
               std::chrono::steady_clock::time_point now_steady, std::int64_t now_ms,
               const std::function<ProcessFigures()>& read_process);

}  // namespace syncset::metrics
