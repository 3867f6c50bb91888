#include <gtest/gtest.h>

#include "metrics/exposition.hpp"
#include "syncset/metrics/registry.hpp"

namespace syncset::metrics {
namespace {

using Up = EndpointMetrics::Up;
using std::chrono::milliseconds;
using std::chrono::seconds;

TableFigures orders() {
    TableFigures t;
    t.replica = "billing";
    t.table = "public.orders";
    t.rows_snapshot = 1000;
    t.rows_incremental = 25;
    t.rows_repair = 2;
    t.rows_deleted = 3;
    t.bytes_copied = 65536;
    t.batches = 12;
    t.errors_retryable = 4;
    t.errors_fatal = 1;
    t.phase = state::Phase::incremental;
    t.last_success_s = 1796676244.5;
    t.lag_s = 1.25;
    t.drift_missing = 1;
    t.drift_scan_s = 1796676200.0;
    return t;
}

TEST(MetricsExposition, EveryFamilyOfATableInPrometheusTextFormat) {
    Figures f;
    f.version = "0.1.0";
    f.source = {"source", Up::up, false};
    f.replicas = {{"billing", Up::down, false}, {"later", Up::unknown, false}};
    f.tables = {orders()};
    f.process.resident_memory_bytes = 16318464;
    f.process.cpu_seconds = 0.5;
    const std::string text = render_metrics(f);
    const std::string labels = R"(replica="billing",table="public.orders")";
    for (const std::string& line : std::vector<std::string>{
             "# TYPE syncset_build_info gauge",
             R"(syncset_build_info{version="0.1.0"} 1)",
             "syncset_source_up 1",
             R"(syncset_replica_up{replica="billing"} 0)",
             "# TYPE syncset_rows_copied_total counter",
             "syncset_rows_copied_total{" + labels + R"(,phase="snapshot"} 1000)",
             "syncset_rows_copied_total{" + labels + R"(,phase="incremental"} 25)",
             "syncset_rows_copied_total{" + labels + R"(,phase="repair"} 2)",
             "syncset_rows_deleted_total{" + labels + "} 3",
             "syncset_bytes_copied_total{" + labels + "} 65536",
             "syncset_batches_total{" + labels + "} 12",
             "syncset_errors_total{" + labels + R"(,retryable="true"} 4)",
             "syncset_errors_total{" + labels + R"(,retryable="false"} 1)",
             "syncset_table_phase{" + labels + R"(,phase="snapshot"} 0)",
             "syncset_table_phase{" + labels + R"(,phase="incremental"} 1)",
             "syncset_table_phase{" + labels + R"(,phase="stopped"} 0)",
             "syncset_last_success_timestamp_seconds{" + labels + "} 1796676244.5",
             "syncset_lag_seconds{" + labels + "} 1.25",
             "syncset_snapshot_rows_done{" + labels + "} 0",
             "syncset_snapshot_rows_estimated{" + labels + "} 0",
             "syncset_drift_rows{" + labels + R"(,kind="missing"} 1)",
             "syncset_drift_rows{" + labels + R"(,kind="extra"} 0)",
             "syncset_drift_rows{" + labels + R"(,kind="different"} 0)",
             "syncset_drift_last_scan_timestamp_seconds{" + labels + "} 1796676200",
             "# TYPE process_cpu_seconds_total counter",
             "process_cpu_seconds_total 0.5",
             "process_resident_memory_bytes 16318464",
         }) {
        EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line;
    }
    // An endpoint never tried yet has no sample rather than a false 0.
    EXPECT_EQ(text.find(R"(replica="later")"), std::string::npos);
    // Figures that were not read are left out, not printed as 0.
    EXPECT_EQ(text.find("process_open_fds "), std::string::npos);
    EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsExposition, EveryFamilyHasOneHelpAndTypeBeforeItsSamples) {
    Figures f;
    f.version = "0.1.0";
    TableFigures second = orders();
    second.table = "public.items";
    f.tables = {orders(), second};
    const std::string text = render_metrics(f);
    std::size_t helps = 0;
    std::size_t types = 0;
    for (std::size_t at = 0;
         (at = text.find("# TYPE syncset_rows_copied_total", at)) != std::string::npos; ++at) {
        ++types;
    }
    for (std::size_t at = 0;
         (at = text.find("# HELP syncset_rows_copied_total", at)) != std::string::npos; ++at) {
        ++helps;
    }
    EXPECT_EQ(types, 1U);
    EXPECT_EQ(helps, 1U);
    EXPECT_LT(text.find("# TYPE syncset_lag_seconds"), text.find("syncset_lag_seconds{"));
}

TEST(MetricsExposition, LabelValuesAreEscaped) {
    Figures f;
    TableFigures t = orders();
    t.table = "odd.\"we\\ird\"\nname";
    f.tables = {t};
    const std::string text = render_metrics(f);
    EXPECT_NE(text.find(R"(table="odd.\"we\\ird\"\nname")"), std::string::npos) << text;
}

TEST(MetricsHealth, LivenessFailsOnlyWhenTheLoopStoppedTurning) {
    EXPECT_EQ(judge_liveness(milliseconds(0)).status, 200);
    EXPECT_EQ(judge_liveness(k_liveness_limit - milliseconds(1)).status, 200);
    Answer stalled = judge_liveness(seconds(75));
    EXPECT_EQ(stalled.status, 503);
    EXPECT_EQ(stalled.body,
              R"({"alive":false,"reason":"the scheduling loop has not turned for 75 s"})"
              "\n");
    EXPECT_EQ(stalled.content_type, "application/json");
}

TEST(MetricsHealth, NotReadyUntilTheFirstSchemaStepThenReadyWhenAllIsWell) {
    Figures f;
    f.source = {"source", Up::up, false};
    f.replicas = {{"billing", Up::up, false}};
    f.tables = {orders()};
    Answer starting = judge_readiness(f);
    EXPECT_EQ(starting.status, 503);
    EXPECT_EQ(starting.body,
              R"({"ready":false,"not_ready":["starting: the first schema step is not done"]})"
              "\n");
    f.started = true;
    Answer ready = judge_readiness(f);
    EXPECT_EQ(ready.status, 200);
    EXPECT_EQ(ready.body, "{\"ready\":true}\n");
}

TEST(MetricsHealth, ReadinessNamesTheSourceADownOrPausedReplicaAndAStoppedTable) {
    Figures f;
    f.started = true;
    f.source = {"source", Up::down, false};
    f.replicas = {{"a", Up::down, false}, {"b", Up::up, true}, {"c", Up::unknown, false}};
    TableFigures stopped = orders();
    stopped.phase = state::Phase::stopped;
    f.tables = {stopped};
    Answer answer = judge_readiness(f);
    EXPECT_EQ(answer.status, 503);
    EXPECT_EQ(answer.body,
              R"({"ready":false,"not_ready":["source unreachable","replica a down",)"
              R"x("replica b paused: its schema step did not complete (see the log)",)x"
              R"("table public.orders on replica billing stopped"]})"
              "\n");
}

TEST(MetricsHealth, UnknownPathsAre404AndOnlyMetricsReadsTheProcess) {
    Registry registry("0.1.0");
    int reads = 0;
    auto read_process = [&reads] {
        ++reads;
        return ProcessFigures{};
    };
    const auto now = std::chrono::steady_clock::now();
    EXPECT_EQ(respond("/", registry, now, 0, read_process).status, 404);
    EXPECT_EQ(respond("/metrics/", registry, now, 0, read_process).status, 404);
    EXPECT_EQ(respond("/healthz", registry, now, 0, read_process).status, 200);
    EXPECT_EQ(respond("/readyz", registry, now, 0, read_process).status, 503);
    EXPECT_EQ(reads, 0);
    Answer metrics = respond("/metrics", registry, now, 0, read_process);
    EXPECT_EQ(metrics.status, 200);
    EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(reads, 1);
}

TEST(MetricsRegistry, ATableKeepsItsCountersAcrossReplansAndLeavesWhenUnplanned) {
    Registry registry("0.1.0");
    registry.set_replicas({"a", "b"});
    auto orders_a = registry.table("a", "public.orders");
    orders_a->rows_snapshot += 10;
    registry.table("a", "public.items");
    registry.table("b", "public.orders");
    EXPECT_EQ(registry.table("a", "public.orders"), orders_a);

    registry.retain_tables("a", {"public.orders"});
    Figures f = registry.figures(0);
    ASSERT_EQ(f.tables.size(), 2U);
    EXPECT_EQ(f.tables[0].replica, "a");
    EXPECT_EQ(f.tables[0].table, "public.orders");
    EXPECT_EQ(f.tables[0].rows_snapshot, 10U);
    EXPECT_EQ(f.tables[1].replica, "b");

    registry.set_replicas({"a"});  // a reload dropped replica b
    f = registry.figures(0);
    ASSERT_EQ(f.tables.size(), 1U);
    ASSERT_EQ(f.replicas.size(), 1U);
    EXPECT_EQ(f.replicas[0].name, "a");
}

TEST(MetricsRegistry, SinceBeatIsZeroBeforeTheFirstBeatThenCountsFromIt) {
    Registry registry("0.1.0");
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(registry.since_beat(t0 + seconds(500)), milliseconds(0));
    registry.beat(t0);
    EXPECT_EQ(registry.since_beat(t0 + seconds(61)), seconds(61));
}

TEST(MetricsLag, TimeCursorsReportTheCursorsAgeOthersTheTimeSinceCaughtUp) {
    TableMetrics t;
    t.added_ms = 1000;
    EXPECT_EQ(table_lag_s(t, 4000), 3.0);  // never caught up: since taken on
    t.caught_up_ms = 3500;
    EXPECT_EQ(table_lag_s(t, 4000), 0.5);
    t.cursor_time_ms = 2000;
    EXPECT_EQ(table_lag_s(t, 4000), 2.0);
    t.cursor_time_ms = 9000;  // a row stamped ahead of this clock
    EXPECT_EQ(table_lag_s(t, 4000), 0.0);
    TableMetrics unknown;
    EXPECT_EQ(table_lag_s(unknown, 4000), std::nullopt);
}

TEST(MetricsProgress, StoredProgressSeedsLastSuccessDriftAndTheTimeCursor) {
    state::Progress p;
    p.phase = state::Phase::incremental;
    p.cursor_kind = "time";
    p.cursor = {"2026-12-07 20:44:04+00", "17"};
    p.since_success_s = 30;
    p.last_drift.checked_at = "2026-12-07T20:40:00Z";
    p.last_drift.missing = 2;
    p.last_drift.extra = 1;
    TableMetrics t;
    const std::int64_t now = 1796676244000;  // 2026-12-07 20:44:04 UTC
    publish_progress(t, p, true, now, true);
    EXPECT_EQ(t.phase.load(), state::Phase::incremental);
    EXPECT_EQ(t.cursor_time_ms.load(), now);
    EXPECT_EQ(t.last_success_ms.load(), now - 30000);
    EXPECT_EQ(t.caught_up_ms.load(), now - 30000);
    EXPECT_EQ(t.drift_missing.load(), 2);
    EXPECT_EQ(t.drift_extra.load(), 1);
    EXPECT_EQ(t.drift_scan_ms.load(), now - 244000);

    // This process's own figures are newer than the store's: a later cycle keeps them.
    t.last_success_ms = now + 5000;
    t.drift_scan_ms = now + 5000;
    t.drift_missing = 0;
    publish_progress(t, p, true, now + 6000, true);
    EXPECT_EQ(t.last_success_ms.load(), now + 5000);
    EXPECT_EQ(t.drift_missing.load(), 0);
}

TEST(MetricsProgress, ALocalTimeCursorHasNoCursorTime) {
    // `timestamp` and `date` cursors are the source server's local time, not UTC: their age
    // is not known here, so the lag falls back to the time since the table caught up.
    state::Progress p;
    p.phase = state::Phase::incremental;
    p.cursor_kind = "time";
    p.cursor = {"2026-12-07 20:44:04", "17"};
    TableMetrics t;
    publish_progress(t, p, false, 1796676244000, true);
    EXPECT_EQ(t.cursor_time_ms.load(), k_unknown);
}

TEST(MetricsProgress, ASnapshotTableHasNotCaughtUpAndOtherCursorsHaveNoCursorTime) {
    state::Progress p;
    p.phase = state::Phase::snapshot;
    p.cursor_kind = "xmin";
    p.cursor = {"12345"};
    p.since_success_s = 10;
    TableMetrics t;
    publish_progress(t, p, false, 100000, true);
    EXPECT_EQ(t.cursor_time_ms.load(), k_unknown);
    EXPECT_EQ(t.caught_up_ms.load(), k_unknown);
    EXPECT_EQ(t.last_success_ms.load(), 90000);
}

}  // namespace
}  // namespace syncset::metrics
