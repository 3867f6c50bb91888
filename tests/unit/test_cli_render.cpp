// `syncset status` and `syncset check` output, exact to the byte: scripts and the integration
// tests read these lines and documents.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/report.hpp"
#include "syncset/error.hpp"

namespace syncset::cli {
namespace {

const std::string k_note =
    "note: rows deleted on the source (hard deletes) reach cursor replicas through the "
    "daemon's drift scan (drift.interval, drift.repair) or 'syncset check --repair'; "
    "cursor 'none' and mode 'mirror' tables see them at every poll\n";

// public.orders <- shop.orders, following its cursor, caught up a few seconds ago.
state::Progress incremental_orders() {
    state::Progress p;
    p.target_schema = "public";
    p.target_name = "orders";
    p.source_schema = "shop";
    p.source_name = "orders";
    p.phase = state::Phase::incremental;
    p.pending = state::Work::none;
    p.cursor = {"2024-05-01 12:00:00+00", "42"};
    p.cursor_kind = "time";
    p.rows_copied = 1200;
    p.last_success = "2024-05-01T12:00:05Z";
    p.since_success_s = 3;
    p.cursor_lag_s = 5;
    return p;
}

// A table never copied yet: every optional field is empty.
state::Progress fresh_table() {
    state::Progress p;
    p.target_schema = "public";
    p.target_name = "items";
    p.source_schema = "public";
    p.source_name = "items";
    return p;
}

StatusReport one_replica(std::vector<state::Progress> tables) {
    StatusReport report;
    report.replicas.push_back({"billing", "host=db1 dbname=billing", std::nullopt, tables});
    return report;
}

// ---- status -------------------------------------------------------------------------------

TEST(StatusText, CaughtUpTableShowsPhaseCursorRowsAndHowLongAgoItLastSucceeded) {
    EXPECT_EQ(render_status_text(one_replica({incremental_orders()})),
              "replica billing (host=db1 dbname=billing)\n"
              "  public.orders <- shop.orders: incremental\n"
              "    rows copied 1200, cursor time 2024-05-01 12:00:00+00, 42\n"
              "    last success 2024-05-01T12:00:05Z (3 s ago)\n" +
                  k_note);
}

TEST(StatusText, ATableClaimedByARunningProcessNamesItInTextAndJson) {
    state::Progress p = incremental_orders();
    p.worked_by = "db7 pid 4242 00ff";
    EXPECT_EQ(render_status_text(one_replica({p})),
              "replica billing (host=db1 dbname=billing)\n"
              "  public.orders <- shop.orders: incremental\n"
              "    rows copied 1200, cursor time 2024-05-01 12:00:00+00, 42\n"
              "    last success 2024-05-01T12:00:05Z (3 s ago)\n"
              "    worked by db7 pid 4242 00ff\n" +
                  k_note);
    EXPECT_NE(render_status_json(one_replica({p})).find(R"("worked_by":"db7 pid 4242 00ff")"),
              std::string::npos);
}

TEST(StatusText, TableInItsSnapshotShowsPendingWorkNoCursorAndNeverSucceeded) {
    EXPECT_EQ(render_status_text(one_replica({fresh_table()})),
              "replica billing (host=db1 dbname=billing)\n"
              "  public.items <- public.items: snapshot, pending snapshot\n"
              "    rows copied 0, cursor -\n"
              "    last success never\n" +
                  k_note);
}

TEST(StatusText, StoppedTableShowsItsLastErrorAndWhyItStopped) {
    state::Progress p = incremental_orders();
    p.phase = state::Phase::stopped;
    p.pending = state::Work::resync;
    p.since_success_s.reset();
    p.last_error = "primary key of shop.orders changed type; no cast";
    p.last_error_at = "2024-05-01T12:01:00Z";
    p.stop_reason = "primary key of shop.orders changed type; no cast";
    EXPECT_EQ(render_status_text(one_replica({p})),
              "replica billing (host=db1 dbname=billing)\n"
              "  public.orders <- shop.orders: stopped, pending resync\n"
              "    rows copied 1200, cursor time 2024-05-01 12:00:00+00, 42\n"
              "    last success 2024-05-01T12:00:05Z\n"
              "    last error (2024-05-01T12:01:00Z): primary key of shop.orders changed type; "
              "no cast\n"
              "    stopped: primary key of shop.orders changed type; no cast\n" +
                  k_note);
}

TEST(StatusText, LastDriftScanIsInSyncOrCountsEachKindAndTheRepairs) {
    state::Progress clean = incremental_orders();
    clean.last_drift = {"2024-05-01T11:00:00Z", 1200, 0, 0, 0, 0, 850, "2024-05-01T11:00:00Z"};
    state::Progress drifted = incremental_orders();
    drifted.target_name = "orders2";
    drifted.last_drift = {"2024-05-01T11:30:00Z", 1199, 1, 2, 3, 5, 910, "2024-05-01T11:00:00Z"};
    state::Progress never = incremental_orders();
    never.target_name = "orders3";
    never.last_drift = {"2024-05-01T11:30:00Z", 1199, 1, 0, 0, 0, std::nullopt, ""};
    EXPECT_EQ(render_status_text(one_replica({clean, drifted, never})),
              "replica billing (host=db1 dbname=billing)\n"
              "  public.orders <- shop.orders: incremental\n"
              "    rows copied 1200, cursor time 2024-05-01 12:00:00+00, 42\n"
              "    last success 2024-05-01T12:00:05Z (3 s ago)\n"
              "    last drift scan 2024-05-01T11:00:00Z: in sync (full pass 850 ms)\n"
              "    last proven in sync 2024-05-01T11:00:00Z\n"
              "  public.orders2 <- shop.orders: incremental\n"
              "    rows copied 1200, cursor time 2024-05-01 12:00:00+00, 42\n"
              "    last success 2024-05-01T12:00:05Z (3 s ago)\n"
              "    last drift scan 2024-05-01T11:30:00Z: 1 missing, 2 extra, 3 different, "
              "5 repaired (full pass 910 ms)\n"
              "    last proven in sync 2024-05-01T11:00:00Z\n"
              "  public.orders3 <- shop.orders: incremental\n"
              "    rows copied 1200, cursor time 2024-05-01 12:00:00+00, 42\n"
              "    last success 2024-05-01T12:00:05Z (3 s ago)\n"
              "    last drift scan 2024-05-01T11:30:00Z: 1 missing, 0 extra, 0 different, "
              "0 repaired\n"
              "    last proven in sync never\n" +
                  k_note);
}

TEST(StatusText, UnreadableReplicaShowsItsErrorAndTheOthersStillShowTheirTables) {
    StatusReport report;
    report.replicas.push_back({"a", "host=a", "connect to replica a: connection refused", {}});
    report.replicas.push_back({"b", "host=b", std::nullopt, {}});
    EXPECT_EQ(render_status_text(report),
              "replica a (host=a)\n"
              "  error: connect to replica a: connection refused\n"
              "replica b (host=b)\n"
              "  no table state yet (run 'syncset run' first)\n" +
                  k_note);
}

TEST(StatusText, NoReplicasIsJustTheNote) {
    EXPECT_EQ(render_status_text(StatusReport{}), k_note);
}

TEST(StatusText, SnapshotUnderWayShowsPercentRowsRateAndEta) {
    state::Progress p = fresh_table();
    p.rows_copied = 250000;
    p.snapshot_rows_done = 250000;
    p.snapshot_rows_estimated = 1000000;
    p.snapshot_elapsed_s = 10.0;
    EXPECT_EQ(render_status_text(one_replica({p})),
              "replica billing (host=db1 dbname=billing)\n"
              "  public.items <- public.items: snapshot, pending snapshot\n"
              "    snapshot 25.0%: 250000 of ~1000000 rows, 25000 rows/s, ETA 30 s\n"
              "    rows copied 250000, cursor -\n"
              "    last success never\n" +
                  k_note);
}

TEST(StatusJson, SnapshotUnderWayHasItsProgressAndNoneOnceDone) {
    state::Progress p = fresh_table();
    p.snapshot_rows_done = 250000;
    p.snapshot_rows_estimated = 1000000;
    p.snapshot_elapsed_s = 10.0;
    const std::string json = render_status_json(one_replica({p}));
    EXPECT_NE(json.find(R"("snapshot":{"work":"snapshot","rows_done":250000,)"
                        R"("rows_estimated":1000000,"percent":25.0,"rows_per_second":25000,)"
                        R"("eta_seconds":30})"),
              std::string::npos)
        << json;
    p.pending = state::Work::none;  // done: the last snapshot's figures are not shown
    EXPECT_NE(render_status_json(one_replica({p})).find(R"("snapshot":null)"), std::string::npos);
}

TEST(StatusJson, CaughtUpTableHasEveryFieldAndNoDriftScan) {
    EXPECT_EQ(render_status_json(one_replica({incremental_orders()})),
              R"({"replicas":[{"name":"billing","tables":[{"target":"public.orders",)"
              R"("source":"shop.orders","phase":"incremental","pending":"none",)"
              R"("rows_copied":1200,"cursor_kind":"time","cursor":"2024-05-01 12:00:00+00, 42",)"
              R"("cursor_age_s":5,"last_success":"2024-05-01T12:00:05Z",)"
              R"("seconds_since_success":3,"last_error":null,"last_error_at":null,)"
              R"("stop_reason":null,"worked_by":null,"snapshot":null,"last_drift_scan":null}]}]})"
              "\n");
}

TEST(StatusJson, FieldsNeverSetAreNullNotEmptyStrings) {
    EXPECT_EQ(render_status_json(one_replica({fresh_table()})),
              R"({"replicas":[{"name":"billing","tables":[{"target":"public.items",)"
              R"("source":"public.items","phase":"snapshot","pending":"snapshot",)"
              R"("rows_copied":0,"cursor_kind":null,"cursor":null,"cursor_age_s":null,)"
              R"("last_success":null,"seconds_since_success":null,"last_error":null,)"
              R"("last_error_at":null,"stop_reason":null,"worked_by":null,"snapshot":null,)"
              R"("last_drift_scan":null}]}]})"
              "\n");
}

TEST(StatusJson, StoppedTableWithADriftScanHasItsErrorReasonAndScanCounts) {
    state::Progress p = incremental_orders();
    p.phase = state::Phase::stopped;
    p.last_error = "said \"no\"";
    p.last_error_at = "2024-05-01T12:01:00Z";
    p.stop_reason = "key changed; run resync";
    p.last_drift = {"2024-05-01T11:30:00Z", 1199, 1, 2, 3, 6, 910, "2024-05-01T11:30:00Z"};
    EXPECT_EQ(
        render_status_json(one_replica({p})),
        R"({"replicas":[{"name":"billing","tables":[{"target":"public.orders",)"
        R"("source":"shop.orders","phase":"stopped","pending":"none",)"
        R"("rows_copied":1200,"cursor_kind":"time","cursor":"2024-05-01 12:00:00+00, 42",)"
        R"("cursor_age_s":5,"last_success":"2024-05-01T12:00:05Z",)"
        R"("seconds_since_success":3,"last_error":"said \"no\"",)"
        R"("last_error_at":"2024-05-01T12:01:00Z","stop_reason":"key changed; run resync",)"
        R"("worked_by":null,)"
        R"("snapshot":null,"last_drift_scan":{"at":"2024-05-01T11:30:00Z","rows":1199,"missing":1,)"
        R"("extra":2,"different":3,"repaired":6,"ms":910,)"
        R"("in_sync_at":"2024-05-01T11:30:00Z"}}]}]})"
        "\n");
}

TEST(StatusJson, UnreadableReplicaHasAnErrorInsteadOfTablesAndEmptyOneAnEmptyList) {
    StatusReport report;
    report.replicas.push_back({"a", "host=a", "connect: \"refused\"\n", {}});
    report.replicas.push_back({"b", "host=b", std::nullopt, {}});
    EXPECT_EQ(render_status_json(report),
              R"({"replicas":[{"name":"a","error":"connect: \"refused\"\n"},)"
              R"({"name":"b","tables":[]}]})"
              "\n");
    EXPECT_EQ(render_status_json(StatusReport{}), "{\"replicas\":[]}\n");
}

// ---- check --------------------------------------------------------------------------------

CheckTable compared(std::string name, std::int64_t rows, drift::Diff diff = {}) {
    CheckTable t;
    t.source = "public." + name;
    t.target = "copy." + name;
    t.scan.source_rows = rows;
    t.scan.replica_rows = rows - static_cast<std::int64_t>(diff.missing.size()) +
                          static_cast<std::int64_t>(diff.extra.size());
    t.scan.drift = std::move(diff);
    t.scan.bytes_read = 2048;
    t.scan.bytes_sent = 900;
    t.scan.queries = 2;
    t.scan.seconds = 0.0421;
    return t;
}

CheckTable not_compared(std::string name, CheckOutcome outcome) {
    CheckTable t;
    t.source = "public." + name;
    t.target = "copy." + name;
    t.outcome = outcome;
    return t;
}

CheckReport check_of(std::vector<CheckTable> tables, bool repair = false) {
    CheckReport report;
    report.repair = repair;
    report.replicas.push_back({"r", "host=db2 dbname=copy", std::move(tables)});
    return report;
}

// One missing, one extra and two different rows, with composite keys.
drift::Diff four_differences() {
    drift::Diff d;
    d.missing = {{"1", "a"}};
    d.extra = {{"7", "b"}};
    d.different = {{"3", "c"}, {"4", "d\"q"}};
    return d;
}

TEST(CheckText, TablesInSyncShowRowsAndCostAndTheSummaryCountsThem) {
    CheckTable big = compared("items", 20000);
    big.scan.bytes_read = 10 * 1024;  // from 10 KB on, in KB
    big.scan.seconds = 1.5;
    CheckReport report = check_of({compared("orders", 200), big});
    EXPECT_EQ(render_check_text(report),
              "replica r (host=db2 dbname=copy)\n"
              "  public.orders -> copy.orders: 200 rows, in sync (0.042 s, 2048 B read)\n"
              "  public.items -> copy.items: 20000 rows, in sync (1.500 s, 10 KB read)\n"
              "summary: 2 in sync, 0 with drift\n");
    EXPECT_EQ(check_exit_status(report), k_exit_ok);
}

TEST(CheckText, DriftShowsEachKindsKeysOnItsOwnLineAndExitsOne) {
    CheckReport report = check_of({compared("orders", 200, four_differences())});
    EXPECT_EQ(render_check_text(report),
              "replica r (host=db2 dbname=copy)\n"
              "  public.orders -> copy.orders: 200 rows, DRIFT: 1 missing, 1 extra, 2 different "
              "(0.042 s, 2048 B read)\n"
              "    missing on the replica: (1, a)\n"
              "    extra on the replica: (7, b)\n"
              "    different: (3, c), (4, d\"q)\n"
              "summary: 0 in sync, 1 with drift\n");
    EXPECT_EQ(check_exit_status(report), k_exit_drift);
}

TEST(CheckText, OnlyTheKindsFoundGetALineAndAtMostTenKeysAreShown) {
    drift::Diff d;
    for (int i = 1; i <= 12; ++i) {
        d.extra.push_back({std::to_string(i)});
    }
    EXPECT_EQ(render_check_text(check_of({compared("orders", 200, d)})),
              "replica r (host=db2 dbname=copy)\n"
              "  public.orders -> copy.orders: 200 rows, DRIFT: 0 missing, 12 extra, 0 different "
              "(0.042 s, 2048 B read)\n"
              "    extra on the replica: (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), "
              "... (2 more)\n"
              "summary: 0 in sync, 1 with drift\n");
}

TEST(CheckText, RepairSaysHowManyWereFixedAndExitsZeroWhenNothingIsLeft) {
    CheckTable t = compared("orders", 200, four_differences());
    t.scan.repaired = 4;
    CheckReport report = check_of({t, compared("items", 5)}, true);
    EXPECT_EQ(render_check_text(report),
              "replica r (host=db2 dbname=copy)\n"
              "  public.orders -> copy.orders: 200 rows, DRIFT: 1 missing, 1 extra, 2 different "
              "(0.042 s, 2048 B read)\n"
              "    missing on the replica: (1, a)\n"
              "    extra on the replica: (7, b)\n"
              "    different: (3, c), (4, d\"q)\n"
              "    repaired 4 of 4\n"
              "  public.items -> copy.items: 5 rows, in sync (0.042 s, 2048 B read)\n"
              "summary: 1 in sync, 1 with drift (repaired)\n");
    EXPECT_EQ(check_exit_status(report), k_exit_ok);
}

TEST(CheckText, RepairThatLeavesRowsDifferentStillExitsOne) {
    CheckTable t = compared("orders", 200, four_differences());
    t.scan.repaired = 3;
    t.scan.after_repair.different = {{"4", "d\"q"}};
    CheckReport report = check_of({t}, true);
    EXPECT_NE(render_check_text(report).find("    repaired 3 of 4\n"), std::string::npos);
    EXPECT_EQ(check_exit_status(report), k_exit_drift);
    EXPECT_EQ(summarize_check(report).unrepaired, 1u);
}

TEST(CheckText, StoppedAndSnapshotTablesAreNotComparedAndAreNotDrift) {
    CheckReport report = check_of({not_compared("a", CheckOutcome::stopped),
                                   not_compared("b", CheckOutcome::snapshot), compared("c", 1)});
    report.replicas.push_back({"empty", "host=db3", {}});
    EXPECT_EQ(render_check_text(report),
              "replica r (host=db2 dbname=copy)\n"
              "  public.a -> copy.a: stopped, not compared\n"
              "  public.b -> copy.b: initial copy not finished, not compared\n"
              "  public.c -> copy.c: 1 rows, in sync (0.042 s, 2048 B read)\n"
              "replica empty (host=db3)\n"
              "summary: 1 in sync, 0 with drift\n");
    EXPECT_EQ(check_exit_status(report), k_exit_ok);
    EXPECT_EQ(summarize_check(report).not_compared, 2u);
}

TEST(CheckJson, TableInSyncHasEveryCountEmptyKeyListsAndTheScanCost) {
    CheckTable t = compared("orders", 200);
    t.scan.source_scans_reused = 1;
    EXPECT_EQ(render_check_json(check_of({t})),
              R"({"replicas":[{"name":"r","tables":[{"source":"public.orders",)"
              R"("target":"copy.orders","status":"in_sync","source_rows":200,)"
              R"("replica_rows":200,"missing":0,"extra":0,"different":0,"missing_keys":[],)"
              R"("extra_keys":[],"different_keys":[],"repaired":0,)"
              R"("still_different_after_repair":0,"seconds":0.042,"bytes_read":2048,)"
              R"("bytes_sent":900,"queries":2,"source_scans_reused":1}]}],)"
              R"("tables_in_sync":1,"tables_with_drift":0,"tables_not_compared":0})"
              "\n");
}

TEST(CheckJson, DriftListsEachKindsKeysAsArraysOfEscapedParts) {
    CheckTable t = compared("orders", 200, four_differences());
    t.scan.repaired = 3;
    t.scan.after_repair.different = {{"4", "d\"q"}};
    EXPECT_EQ(render_check_json(check_of({t}, true)),
              R"({"replicas":[{"name":"r","tables":[{"source":"public.orders",)"
              R"("target":"copy.orders","status":"drift","source_rows":200,)"
              R"("replica_rows":200,"missing":1,"extra":1,"different":2,)"
              R"("missing_keys":[["1","a"]],"extra_keys":[["7","b"]],)"
              R"("different_keys":[["3","c"],["4","d\"q"]],"repaired":3,)"
              R"("still_different_after_repair":1,"seconds":0.042,"bytes_read":2048,)"
              R"("bytes_sent":900,"queries":2,"source_scans_reused":0}]}],)"
              R"("tables_in_sync":0,"tables_with_drift":1,"tables_not_compared":0})"
              "\n");
}

TEST(CheckJson, KeyListsStopAtTenWhileTheCountsStayExact) {
    drift::Diff d;
    for (int i = 1; i <= 11; ++i) {
        d.missing.push_back({std::to_string(i)});
    }
    const std::string json = render_check_json(check_of({compared("orders", 200, d)}));
    EXPECT_NE(json.find(R"("missing":11,)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("missing_keys":[["1"],["2"],["3"],["4"],["5"],["6"],["7"],["8"],)"
                        R"(["9"],["10"]],)"),
              std::string::npos)
        << json;
}

TEST(CheckJson, NotComparedTablesHaveOnlyTheirNamesAndStatus) {
    CheckReport report = check_of(
        {not_compared("a", CheckOutcome::stopped), not_compared("b", CheckOutcome::snapshot)});
    report.replicas.push_back({"empty", "host=db3", {}});
    EXPECT_EQ(render_check_json(report),
              R"({"replicas":[{"name":"r","tables":[{"source":"public.a","target":"copy.a",)"
              R"("status":"stopped"},{"source":"public.b","target":"copy.b",)"
              R"("status":"snapshot"}]},{"name":"empty","tables":[]}],)"
              R"("tables_in_sync":0,"tables_with_drift":0,"tables_not_compared":2})"
              "\n");
}

}  // namespace
}  // namespace syncset::cli
