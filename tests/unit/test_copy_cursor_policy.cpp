// The copy loop's decisions without a database: what each strategy reads next, what its
// checkpoint becomes, and when it has caught up (promises 2 and 3: no row lost behind a late
// commit, resumable at the stored position).
#include <gtest/gtest.h>

#include "syncset/copy/cursor_policy.hpp"

namespace syncset::copy {
namespace {

using std::chrono::milliseconds;
using Strings = std::vector<std::string>;

CopySpec spec_with(ChangeTracking tracking, std::int64_t batch_rows = 3,
                   std::int64_t chunk_rows = 5) {
    CopySpec spec;
    spec.key_count = 1;
    spec.cursor = tracking;
    spec.batch_rows = batch_rows;
    spec.snapshot_chunk_rows = chunk_rows;
    if (tracking == ChangeTracking::time || tracking == ChangeTracking::sequence) {
        spec.cursor_index = 1;
    }
    return spec;
}

state::Progress incremental(Strings cursor = {}) {
    state::Progress p;
    p.phase = state::Phase::incremental;
    p.pending = state::Work::none;
    p.cursor = std::move(cursor);
    return p;
}

BatchRead batch(std::uint64_t rows, Strings key = {}, std::optional<std::string> cursor = {}) {
    return BatchRead{rows, std::move(key), std::move(cursor)};
}

// ---- choosing the strategy -----------------------------------------------------------------

TEST(CursorPolicyStep, PendingWorkRunsBeforeIncrementalReadsAndStoppedTablesDoNothing) {
    state::Progress p;
    p.phase = state::Phase::incremental;
    p.pending = state::Work::backfill;
    EXPECT_EQ(choose_step(p, spec_with(ChangeTracking::xmin), true), StepKind::snapshot);
    p.phase = state::Phase::stopped;
    EXPECT_EQ(choose_step(p, spec_with(ChangeTracking::xmin), true), StepKind::stopped);
}

TEST(CursorPolicyStep, EachTrackingRunsItsOwnStepAndUnreadableXminFallsBackToFullRefresh) {
    const auto p = incremental();
    EXPECT_EQ(choose_step(p, spec_with(ChangeTracking::xmin), true), StepKind::xmin);
    EXPECT_EQ(choose_step(p, spec_with(ChangeTracking::xmin), false), StepKind::full_refresh);
    EXPECT_EQ(choose_step(p, spec_with(ChangeTracking::none), true), StepKind::full_refresh);
    EXPECT_EQ(choose_step(p, spec_with(ChangeTracking::time), true), StepKind::column);
    EXPECT_EQ(choose_step(p, spec_with(ChangeTracking::sequence), true), StepKind::column);
    CopySpec mirror = spec_with(ChangeTracking::time);
    mirror.mode = config::Mode::mirror;
    EXPECT_EQ(choose_step(p, mirror, true), StepKind::full_refresh);
}

// ---- snapshot ------------------------------------------------------------------------------

TEST(CursorPolicySnapshot, ANewTableTakesAHandoverAndCopiesStraightIn) {
    state::Progress p;  // phase snapshot, pending snapshot, no positions
    SnapshotRead read = plan_snapshot_read(p);
    EXPECT_TRUE(read.handover);
    EXPECT_TRUE(read.direct);
    EXPECT_TRUE(read.after_key.empty());
}

TEST(CursorPolicySnapshot, AResumedCopyKeepsItsHandoverAndStartsAfterTheLastCommittedKey) {
    state::Progress p;
    p.snapshot_position = {"500"};
    p.cursor = {"2026-12-01 10:00:00+00"};
    SnapshotRead read = plan_snapshot_read(p);
    EXPECT_FALSE(read.handover);
    EXPECT_EQ(read.after_key, Strings{"500"});
}

TEST(CursorPolicySnapshot, ABackfillKeepsTheStoredCursorAndUpsertsThroughTheStage) {
    state::Progress p = incremental({"42", "7"});
    p.pending = state::Work::backfill;
    SnapshotRead read = plan_snapshot_read(p);
    EXPECT_FALSE(read.handover);  // changes since the cursor are re-read after the backfill
    EXPECT_FALSE(read.direct);
    // A resync starts over from an empty position: it takes a handover again.
    p.cursor.clear();
    EXPECT_TRUE(plan_snapshot_read(p).handover);
}

TEST(CursorPolicySnapshot, HandoverStoresTheStartPositionAndTheTrackingName) {
    state::Progress p;
    apply_handover(p, ChangeTracking::xmin, {"1234"});
    EXPECT_EQ(p.cursor, Strings{"1234"});
    EXPECT_EQ(p.cursor_kind, "xmin");
}

TEST(CursorPolicySnapshot, AFullChunkMovesThePositionAndAShortOneEndsTheSnapshot) {
    const CopySpec spec = spec_with(ChangeTracking::xmin, 3, 5);
    state::Progress p;
    EXPECT_FALSE(apply_snapshot_chunk(p, spec, batch(5, {"5"})));
    EXPECT_EQ(p.snapshot_position, Strings{"5"});
    EXPECT_EQ(p.phase, state::Phase::snapshot);
    EXPECT_TRUE(apply_snapshot_chunk(p, spec, batch(2, {"7"})));
    EXPECT_TRUE(p.snapshot_position.empty());
    EXPECT_EQ(p.phase, state::Phase::incremental);
    EXPECT_EQ(p.pending, state::Work::none);
}

TEST(CursorPolicySnapshot, ATableWithoutAKeyIsCopiedInOneChunk) {
    CopySpec spec = spec_with(ChangeTracking::none, 3, 5);
    spec.key_count = 0;
    state::Progress p;
    EXPECT_TRUE(apply_snapshot_chunk(p, spec, batch(5)));
}

// ---- xmin ----------------------------------------------------------------------------------

TEST(CursorPolicyXmin, APollReadsFromTheStoredXminAndPagesByKey) {
    XminCycle cycle;
    cycle.start_xmin = 100;
    EXPECT_EQ(plan_xmin_read(incremental(), cycle).from_xid, 0);
    state::Progress p = incremental({"90"});
    EXPECT_EQ(plan_xmin_read(p, cycle).from_xid, 90);

    EXPECT_FALSE(apply_xmin_batch(p, cycle, batch(3, {"30"}), 3));
    EXPECT_EQ(cycle.after_key, Strings{"30"});
    EXPECT_EQ(p.cursor, Strings{"90"});  // not moved until the poll ends
    EXPECT_EQ(plan_xmin_read(p, cycle).after_key, Strings{"30"});
}

TEST(CursorPolicyXmin, ThePollsLastPageStoresThePollsStartXminNeverTheLargestSeen) {
    XminCycle cycle;
    cycle.start_xmin = 100;
    cycle.after_key = {"30"};
    state::Progress p = incremental({"90"});
    EXPECT_TRUE(apply_xmin_batch(p, cycle, batch(1, {"31"}), 3));
    EXPECT_EQ(p.cursor, Strings{"100"});
    EXPECT_EQ(p.cursor_kind, "xmin");
}

// ---- xmin polls without a scan ------------------------------------------------------------

WriteCounters counters(std::int64_t inserted, std::int64_t updated = 0, std::int64_t deleted = 0,
                       std::int64_t leaves = 1, std::string reset_at = "") {
    return WriteCounters{inserted, updated, deleted, leaves, std::move(reset_at)};
}

constexpr milliseconds k_max{60000};
constexpr milliseconds k_settled{11000};  // since the counters last moved

XminScan choose(const std::optional<WriteCounters>& now,
                const std::optional<WriteCounters>& at_last_full, milliseconds since_last_full,
                milliseconds since_moved = k_settled, milliseconds max_interval = k_max) {
    return choose_xmin_scan(now, at_last_full, since_last_full, since_moved, max_interval);
}

TEST(CursorPolicyXminScan, UnchangedSettledCountersWithinTheIntervalSkipTheScan) {
    EXPECT_EQ(choose(counters(5, 3, 1), counters(5, 3, 1), milliseconds(59999)), XminScan::skip);
}

// The bound that makes a late statistics flush (or a session with track_counts off) cost
// delay, never a lost change: however still the counters, the table is read again.
TEST(CursorPolicyXminScan, UnchangedCountersStillScanOnceTheIntervalHasPassed) {
    EXPECT_EQ(choose(counters(5), counters(5), k_max), XminScan::due);
    EXPECT_EQ(choose(counters(5), counters(5), milliseconds(3600000)), XminScan::due);
}

// A session that has just flushed holds writes it makes within the next second back for up to
// 10 s (PostgreSQL 15): polls keep reading the table until the counters have stood still that
// long, so the rest of a burst is not left to the next full scan.
TEST(CursorPolicyXminScan, PollsKeepScanningUntilTheCountersHaveSettled) {
    EXPECT_EQ(choose(counters(5), counters(5), milliseconds(200), milliseconds(10999)),
              XminScan::settling);
    EXPECT_EQ(choose(counters(5), counters(5), milliseconds(200), k_xmin_settle), XminScan::skip);
}

TEST(CursorPolicyXminScan, AnyCountedWriteScans) {
    EXPECT_EQ(choose(counters(6, 3, 1), counters(5, 3, 1), milliseconds(1)), XminScan::changed);
    EXPECT_EQ(choose(counters(5, 4, 1), counters(5, 3, 1), milliseconds(1)), XminScan::changed);
    EXPECT_EQ(choose(counters(5, 3, 2), counters(5, 3, 1), milliseconds(1)), XminScan::changed);
    // A partition attached or detached changes what the sums cover.
    EXPECT_EQ(choose(counters(5, 3, 1, 3), counters(5, 3, 1, 2), milliseconds(1)),
              XminScan::changed);
}

// After a statistics reset (or a crash, which discards them) the counters start again from 0
// and could climb back to the remembered values with writes in between.
TEST(CursorPolicyXminScan, CountersThatWentDownOrWereResetScan) {
    EXPECT_EQ(choose(counters(4, 9, 9), counters(5, 3, 1), milliseconds(1)), XminScan::reset);
    EXPECT_EQ(choose(counters(5, 2, 9), counters(5, 3, 1), milliseconds(1)), XminScan::reset);
    EXPECT_EQ(choose(counters(9, 9, 0), counters(5, 3, 1), milliseconds(1)), XminScan::reset);
    EXPECT_EQ(choose(counters(5, 3, 1, 1, "1700000000.5"), counters(5, 3, 1), milliseconds(1)),
              XminScan::reset);
}

TEST(CursorPolicyXminScan, UnknownCountersOrNoRememberedFullPollScan) {
    EXPECT_EQ(choose(std::nullopt, counters(5), milliseconds(1)), XminScan::unknown);
    EXPECT_EQ(choose(std::nullopt, std::nullopt, milliseconds(1)), XminScan::unknown);
    EXPECT_EQ(choose(counters(5), std::nullopt, milliseconds(1)), XminScan::first);
}

TEST(CursorPolicyXminScan, AZeroIntervalScansEveryPoll) {
    EXPECT_EQ(choose(counters(5), counters(5), milliseconds(1), k_settled, milliseconds(0)),
              XminScan::always);
}

// Only a poll that found the counters moved starts the settling time again; settling and due
// polls do not extend it, and a first poll (after a start) has seen nothing move.
TEST(CursorPolicyXminScan, OnlyMovedCountersStartTheSettlingTime) {
    EXPECT_TRUE(counters_moved(XminScan::changed));
    EXPECT_TRUE(counters_moved(XminScan::reset));
    EXPECT_FALSE(counters_moved(XminScan::first));
    EXPECT_FALSE(counters_moved(XminScan::settling));
    EXPECT_FALSE(counters_moved(XminScan::due));
    EXPECT_FALSE(counters_moved(XminScan::skip));
    EXPECT_FALSE(counters_moved(XminScan::unknown));
    EXPECT_FALSE(counters_moved(XminScan::always));
}

// ---- column cursors ------------------------------------------------------------------------

TEST(CursorPolicyColumn, TheBoundIsReadOncePerCycle) {
    ColumnCycle cycle;
    EXPECT_TRUE(needs_bound(cycle));
    set_bound(cycle, Bound{"10:00", false});
    EXPECT_FALSE(needs_bound(cycle));
    EXPECT_FALSE(cycle.unsafe);
}

TEST(CursorPolicyColumn, PhaseAReadsFromTheStoredCursorUpToTheBound) {
    ColumnCycle cycle;
    set_bound(cycle, Bound{"10:00", false});
    ColumnRead read = plan_column_read(incremental({"09:00", "4"}), cycle);
    ASSERT_TRUE(read.from);
    EXPECT_EQ(read.from->cursor, "09:00");
    EXPECT_EQ(read.from->key, Strings{"4"});
    ASSERT_TRUE(read.bound);
    EXPECT_EQ(read.bound->value, "10:00");
}

TEST(CursorPolicyColumn, PhaseAAdvancesTheCursorAndAShortBatchEntersPhaseB) {
    const CopySpec spec = spec_with(ChangeTracking::time);
    ColumnCycle cycle;
    set_bound(cycle, Bound{"10:00", false});
    state::Progress p = incremental();
    EXPECT_FALSE(apply_column_batch(p, cycle, spec, batch(3, {"3"}, "09:30")));
    EXPECT_EQ(p.cursor, (Strings{"09:30", "3"}));
    EXPECT_FALSE(cycle.unsafe);
    EXPECT_FALSE(apply_column_batch(p, cycle, spec, batch(1, {"9"}, "09:50")));
    EXPECT_EQ(p.cursor, (Strings{"09:50", "9"}));
    EXPECT_TRUE(cycle.unsafe);
    EXPECT_EQ(p.cursor_kind, "time");
}

// The late-commit promise: rows past the bound are copied, but the cursor never moves past
// them, so a transaction committing later behind them is still read.
TEST(CursorPolicyColumn, PhaseBCopiesRowsPastTheBoundWithoutMovingTheCursor) {
    const CopySpec spec = spec_with(ChangeTracking::time);
    ColumnCycle cycle;
    set_bound(cycle, Bound{"10:00", false});
    state::Progress p = incremental({"09:50", "9"});
    cycle.unsafe = true;

    ColumnRead read = plan_column_read(p, cycle);
    ASSERT_TRUE(read.from);
    EXPECT_EQ(read.from->cursor, "10:00");  // from the bound, inclusive
    EXPECT_TRUE(read.from->key.empty());
    EXPECT_FALSE(read.bound);

    EXPECT_FALSE(apply_column_batch(p, cycle, spec, batch(3, {"12"}, "10:05")));
    ASSERT_TRUE(cycle.unsafe_from);
    EXPECT_EQ(cycle.unsafe_from->cursor, "10:05");
    EXPECT_EQ(plan_column_read(p, cycle).from->key, Strings{"12"});
    EXPECT_TRUE(apply_column_batch(p, cycle, spec, batch(0)));
    EXPECT_EQ(p.cursor, (Strings{"09:50", "9"}));
}

TEST(CursorPolicyColumn, NoKnownBoundPersistsNothingAndReadsEverythingUnbounded) {
    const CopySpec spec = spec_with(ChangeTracking::sequence);
    ColumnCycle cycle;
    set_bound(cycle, std::nullopt);
    EXPECT_TRUE(cycle.unsafe);
    state::Progress p = incremental();
    ColumnRead read = plan_column_read(p, cycle);
    EXPECT_FALSE(read.from);
    EXPECT_FALSE(read.bound);
    EXPECT_TRUE(apply_column_batch(p, cycle, spec, batch(2, {"2"}, "2")));
    EXPECT_TRUE(p.cursor.empty());
    EXPECT_EQ(cycle.last_seen, (Strings{"2", "2"}));
}

TEST(CursorPolicyColumn, AnInclusiveSequenceBoundAtTheStoredCursorResumesAfterItsKey) {
    ColumnCycle cycle;
    set_bound(cycle, Bound{"41", true});
    cycle.unsafe = true;
    ColumnRead read = plan_column_read(incremental({"41", "41"}), cycle);
    ASSERT_TRUE(read.from);
    EXPECT_EQ(read.from->cursor, "41");
    EXPECT_EQ(read.from->key, Strings{"41"});
}

TEST(CursorPolicyColumn, OnlySequenceCursorsRememberTheLastRowSeen) {
    ColumnCycle time_cycle;
    set_bound(time_cycle, Bound{"10:00", false});
    state::Progress p = incremental();
    apply_column_batch(p, time_cycle, spec_with(ChangeTracking::time), batch(1, {"1"}, "09:00"));
    EXPECT_TRUE(time_cycle.last_seen.empty());
}

// ---- the sequence rule ---------------------------------------------------------------------

TEST(CursorPolicySequence, APositionIsSafeOnlyOnceEveryTransactionOpenAfterItsReadHasEnded) {
    const SteadyTime t0{};
    SequenceWatch watch;
    watch.remember({"10", "10"}, parse_open_transactions(true, "1@a,2@b", t0, milliseconds(0)));
    watch.remember({"20", "20"}, parse_open_transactions(true, "2@b,3@c", t0, milliseconds(0)));

    EXPECT_FALSE(watch.pop_safe(parse_open_transactions(true, "1@a", t0, milliseconds(0)), t0));
    auto safe = watch.pop_safe(parse_open_transactions(true, "3@c", t0, milliseconds(0)), t0);
    ASSERT_TRUE(safe);
    EXPECT_EQ(*safe, (Strings{"10", "10"}));
    EXPECT_FALSE(watch.empty());
    safe = watch.pop_safe(parse_open_transactions(true, "", t0, milliseconds(0)), t0);
    EXPECT_EQ(*safe, (Strings{"20", "20"}));
    EXPECT_TRUE(watch.empty());
}

TEST(CursorPolicySequence, ARoleThatCannotSeeOtherSessionsWaitsOutTheLookBackWindow) {
    const SteadyTime t0{};
    OpenTransactions open = parse_open_transactions(false, "", t0, milliseconds(5000));
    OpenTransactions none = parse_open_transactions(false, "", t0, milliseconds(5000));
    EXPECT_FALSE(open.ended(none, t0 + milliseconds(4999)));
    EXPECT_TRUE(open.ended(none, t0 + milliseconds(5000)));
}

TEST(CursorPolicySequence, AReusedPidWithAnotherStartIsAnotherTransaction) {
    const SteadyTime t0{};
    OpenTransactions before = parse_open_transactions(true, "7@10:00", t0, milliseconds(0));
    EXPECT_TRUE(before.ended(parse_open_transactions(true, "7@10:05", t0, milliseconds(0)), t0));
    EXPECT_FALSE(before.ended(parse_open_transactions(true, "7@10:00", t0, milliseconds(0)), t0));
}

TEST(CursorPolicySequence, TheBoundIsTheNewestSafePositionElseTheStoredCursor) {
    EXPECT_FALSE(sequence_bound(std::nullopt, incremental()));
    auto stored = sequence_bound(std::nullopt, incremental({"5", "5"}));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->value, "5");
    EXPECT_TRUE(stored->inclusive);
    auto safe = sequence_bound(Strings{"9", "9"}, incremental({"5", "5"}));
    EXPECT_EQ(safe->value, "9");
}

}  // namespace
}  // namespace syncset::copy
