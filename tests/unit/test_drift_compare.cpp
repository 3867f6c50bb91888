// The drift scanner's pure half, without a database: which rows differ between two lists of
// (key, hash), how a key range is split, the exact SQL each side runs, and which
// source answers replicas share.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>

#include "syncset/drift/compare.hpp"
#include "syncset/drift/scanner.hpp"
#include "syncset/error.hpp"

namespace syncset::drift {
namespace {

using Keys = std::vector<std::vector<std::string>>;

KeyHash row(std::vector<std::string> key, std::int64_t hash) {
    return KeyHash{std::move(key), hash};
}

// ---- compare_rows -------------------------------------------------------------------------

TEST(DriftCompareRows, EachKindOfDifferenceLandsInItsOwnList) {
    const std::vector<KeyHash> source = {row({"1"}, 10), row({"2"}, 20), row({"3"}, 30),
                                         row({"5"}, 50)};
    const std::vector<KeyHash> replica = {row({"1"}, 10), row({"3"}, 31), row({"4"}, 40),
                                          row({"5"}, 50)};
    Diff d = compare_rows(source, replica);
    EXPECT_EQ(d.missing, (Keys{{"2"}}));
    EXPECT_EQ(d.extra, (Keys{{"4"}}));
    EXPECT_EQ(d.different, (Keys{{"3"}}));
    EXPECT_EQ(d.size(), 3u);
    EXPECT_FALSE(d.empty());
}

TEST(DriftCompareRows, EqualSidesGiveNoDifferenceWhateverTheirOrder) {
    const std::vector<KeyHash> source = {row({"1"}, 10), row({"2"}, -20), row({"10"}, 0)};
    const std::vector<KeyHash> replica = {row({"10"}, 0), row({"1"}, 10), row({"2"}, -20)};
    Diff d = compare_rows(source, replica);
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(d.size(), 0u);
}

TEST(DriftCompareRows, EmptySidesMakeEveryRowMissingOrExtra) {
    const std::vector<KeyHash> rows = {row({"a"}, 1), row({"b"}, 2)};
    Diff only_source = compare_rows(rows, {});
    EXPECT_EQ(only_source.missing, (Keys{{"a"}, {"b"}}));
    EXPECT_TRUE(only_source.extra.empty());
    EXPECT_TRUE(only_source.different.empty());

    Diff only_replica = compare_rows({}, rows);
    EXPECT_EQ(only_replica.extra, (Keys{{"a"}, {"b"}}));
    EXPECT_TRUE(only_replica.missing.empty());
    EXPECT_TRUE(only_replica.different.empty());

    EXPECT_TRUE(compare_rows({}, {}).empty());
}

TEST(DriftCompareRows, ResultsKeepEachSidesOrderNotStringOrder) {
    // Numeric key order (the database's) is not string order: "9" < "10" only as numbers.
    const std::vector<KeyHash> source = {row({"9"}, 1), row({"10"}, 2), row({"100"}, 3),
                                         row({"11"}, 4), row({"2"}, 5)};
    const std::vector<KeyHash> replica = {row({"7"}, 0), row({"10"}, 20), row({"8"}, 0),
                                          row({"11"}, 40), row({"3"}, 0)};
    Diff d = compare_rows(source, replica);
    EXPECT_EQ(d.missing, (Keys{{"9"}, {"100"}, {"2"}}));  // source order
    EXPECT_EQ(d.different, (Keys{{"10"}, {"11"}}));       // source order
    EXPECT_EQ(d.extra, (Keys{{"7"}, {"8"}, {"3"}}));      // replica order
}

TEST(DriftCompareRows, CompositeKeysMatchOnEveryPartAndNotOnTheirConcatenation) {
    // ("1", "23") and ("12", "3") concatenate to the same text; they are different keys.
    const std::vector<KeyHash> source = {row({"1", "23"}, 1), row({"1", "a"}, 2),
                                         row({"2", "a"}, 3)};
    const std::vector<KeyHash> replica = {row({"12", "3"}, 1), row({"1", "a"}, 2),
                                          row({"2", "a"}, 4)};
    Diff d = compare_rows(source, replica);
    EXPECT_EQ(d.missing, (Keys{{"1", "23"}}));
    EXPECT_EQ(d.extra, (Keys{{"12", "3"}}));
    EXPECT_EQ(d.different, (Keys{{"2", "a"}}));
}

TEST(DriftCompareRows, EmptyStringKeyPartsAreKeysLikeAnyOther) {
    const std::vector<KeyHash> source = {row({"", "x"}, 1), row({"x", ""}, 2)};
    const std::vector<KeyHash> replica = {row({"x", ""}, 2), row({"", ""}, 3)};
    Diff d = compare_rows(source, replica);
    EXPECT_EQ(d.missing, (Keys{{"", "x"}}));
    EXPECT_EQ(d.extra, (Keys{{"", ""}}));
    EXPECT_TRUE(d.different.empty());
}

// Many rows with a few scattered differences: each found once, nothing else reported.
TEST(DriftCompareRows, ScatteredDifferencesInManyRowsAreFoundExactlyOnce) {
    std::vector<KeyHash> source;
    std::vector<KeyHash> replica;
    Keys want_missing, want_extra, want_different;
    for (int i = 0; i < 5000; ++i) {
        const std::string k = std::to_string(i);
        if (i % 997 == 1) {
            source.push_back(row({k}, i));
            want_missing.push_back({k});
        } else if (i % 991 == 2) {
            replica.push_back(row({k}, i));
            want_extra.push_back({k});
        } else if (i % 983 == 3) {
            source.push_back(row({k}, i));
            replica.push_back(row({k}, -i));
            want_different.push_back({k});
        } else {
            source.push_back(row({k}, i * 7));
            replica.push_back(row({k}, i * 7));
        }
    }
    Diff d = compare_rows(source, replica);
    EXPECT_EQ(d.missing, want_missing);
    EXPECT_EQ(d.extra, want_extra);
    EXPECT_EQ(d.different, want_different);
}

// A key is reported at most once and in one list only, even if a side lists it twice: a
// configured `key:` need not be unique on the source.
TEST(DriftCompareRows, NoKeyIsReportedTwice) {
    const std::vector<KeyHash> source = {row({"1"}, 1), row({"1"}, 1), row({"2"}, 2),
                                         row({"2"}, 2)};
    const std::vector<KeyHash> replica = {row({"2"}, 9), row({"3"}, 3), row({"3"}, 3)};
    Diff d = compare_rows(source, replica);
    std::vector<std::vector<std::string>> all;
    for (const Keys* list : {&d.missing, &d.extra, &d.different}) {
        all.insert(all.end(), list->begin(), list->end());
    }
    std::set<std::vector<std::string>> unique(all.begin(), all.end());
    EXPECT_EQ(all.size(), unique.size()) << "missing " << d.missing.size() << ", extra "
                                         << d.extra.size() << ", different " << d.different.size();
    EXPECT_EQ(d.missing, (Keys{{"1"}}));
    EXPECT_EQ(d.extra, (Keys{{"3"}}));
    EXPECT_EQ(d.different, (Keys{{"2"}}));
}

// ---- split_range --------------------------------------------------------------------------

TEST(DriftSplitRange, OpenRangeSplitsIntoOpenEndsAroundTheBoundaries) {
    auto parts = split_range(KeyRange{}, {{"10"}, {"20"}, {"30"}});
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[0].lower, std::vector<std::string>{});
    EXPECT_EQ(parts[0].upper, std::vector<std::string>{"10"});
    EXPECT_EQ(parts[1].lower, std::vector<std::string>{"10"});
    EXPECT_EQ(parts[1].upper, std::vector<std::string>{"20"});
    EXPECT_EQ(parts[2].lower, std::vector<std::string>{"20"});
    EXPECT_EQ(parts[2].upper, std::vector<std::string>{"30"});
    EXPECT_EQ(parts[3].lower, std::vector<std::string>{"30"});
    EXPECT_EQ(parts[3].upper, std::vector<std::string>{});  // open: replica-only rows past the end
}

TEST(DriftSplitRange, ClosedRangeKeepsItsBoundsAtBothEnds) {
    KeyRange range{{"1", "a"}, {"9", "z"}};
    auto parts = split_range(range, {{"5", "m"}});
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].lower, (std::vector<std::string>{"1", "a"}));
    EXPECT_EQ(parts[0].upper, (std::vector<std::string>{"5", "m"}));
    EXPECT_EQ(parts[1].lower, (std::vector<std::string>{"5", "m"}));
    EXPECT_EQ(parts[1].upper, (std::vector<std::string>{"9", "z"}));
}

TEST(DriftSplitRange, HalfOpenRangesKeepTheirOpenSide) {
    auto low_open = split_range(KeyRange{{}, {"100"}}, {{"50"}});
    ASSERT_EQ(low_open.size(), 2u);
    EXPECT_TRUE(low_open[0].lower.empty());
    EXPECT_EQ(low_open[1].upper, std::vector<std::string>{"100"});
    auto high_open = split_range(KeyRange{{"100"}, {}}, {{"150"}});
    ASSERT_EQ(high_open.size(), 2u);
    EXPECT_EQ(high_open[0].lower, std::vector<std::string>{"100"});
    EXPECT_TRUE(high_open[1].upper.empty());
}

TEST(DriftSplitRange, NoBoundariesGiveTheRangeItself) {
    KeyRange range{{"3"}, {"7"}};
    auto parts = split_range(range, {});
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].lower, range.lower);
    EXPECT_EQ(parts[0].upper, range.upper);
    auto open = split_range(KeyRange{}, {});
    ASSERT_EQ(open.size(), 1u);
    EXPECT_TRUE(open[0].lower.empty());
    EXPECT_TRUE(open[0].upper.empty());
}

// Consecutive parts share their bound (half-open: [lower, upper)), so every key falls in
// exactly one part and none is skipped.
TEST(DriftSplitRange, PartsAreContiguousAndCoverTheRange) {
    Keys boundaries;
    for (int i = 1; i < 16; ++i) {
        boundaries.push_back({std::to_string(i * 100)});
    }
    KeyRange range{{"0"}, {"1600"}};
    auto parts = split_range(range, boundaries);
    ASSERT_EQ(parts.size(), 16u);
    EXPECT_EQ(parts.front().lower, range.lower);
    EXPECT_EQ(parts.back().upper, range.upper);
    for (std::size_t i = 1; i < parts.size(); ++i) {
        EXPECT_EQ(parts[i - 1].upper, parts[i].lower) << "part " << i;
    }
}

// ---- SQL ----------------------------------------------------------------------------------

}  // namespace

// How gtest shows a Query that is not the expected one.
void PrintTo(const Query& q, std::ostream* out) {
    *out << "Query{\n  " << q.sql << "\n  params:";
    for (const auto& p : q.params) {
        *out << " [" << p << "]";
    }
    *out << "\n}";
}

namespace {

// public.orders (id bigint, note text) -> billing.orders (id, memo): a renamed column, a row
// filter and a soft-delete column, which only the source side applies.
copy::CopySpec single_key_spec() {
    copy::CopySpec spec;
    spec.source_table = "\"public\".\"orders\"";
    spec.target_table = "\"billing\".\"orders\"";
    spec.stage_table = "pg_temp.\"syncset_stage_42_orders\"";
    spec.columns = {{"id", "id", "bigint"}, {"note", "memo", "text"}};
    spec.key_count = 1;
    spec.where = "note <> 'x'";
    spec.soft_delete = "gone";
    return spec;
}

// public.items (tenant int, code text, v jsonb), key (tenant, code), no filter.
copy::CopySpec composite_key_spec() {
    copy::CopySpec spec;
    spec.source_table = "\"public\".\"items\"";
    spec.target_table = "\"r\".\"Items\"";
    spec.stage_table = "pg_temp.\"syncset_stage_7_Items\"";
    spec.columns = {{"tenant", "tenant", "integer"}, {"code", "code", "text"}, {"v", "v", "jsonb"}};
    spec.key_count = 2;
    return spec;
}

TEST(DriftSql, SummaryOfTheWholeTableAppliesFilterAndSoftDeleteOnTheSourceOnly) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_range_summary(spec, Side::source, KeyRange{}),
              (Query{"SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", "
                     "\"note\")::text, 0)), 0)::text FROM \"public\".\"orders\" WHERE (note <> "
                     "'x') AND \"gone\" IS NULL",
                     {}}));
    EXPECT_EQ(build_range_summary(spec, Side::replica, KeyRange{}),
              (Query{"SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", "
                     "\"memo\")::text, 0)), 0)::text FROM \"billing\".\"orders\"",
                     {}}));
}

// Keys are parameters cast to the key's type, never spliced into the text: the same text
// serves every range of a shape (prepared once), and no key can change the statement.
TEST(DriftSql, SummaryOfAKeyRangeIsHalfOpenWithTypedParameters) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_range_summary(spec, Side::source, KeyRange{{"10"}, {"20"}}),
              (Query{"SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", "
                     "\"note\")::text, 0)), 0)::text FROM \"public\".\"orders\" WHERE (note <> "
                     "'x') AND \"gone\" IS NULL AND (\"id\") >= ($1::bigint) AND (\"id\") < "
                     "($2::bigint)",
                     {"10", "20"}}));
    EXPECT_EQ(build_range_summary(spec, Side::replica, KeyRange{{}, {"20"}}),
              (Query{"SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", "
                     "\"memo\")::text, 0)), 0)::text FROM \"billing\".\"orders\" WHERE (\"id\") < "
                     "($1::bigint)",
                     {"20"}}));
    EXPECT_EQ(build_range_summary(spec, Side::replica, KeyRange{{"10"}, {}}).sql,
              "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", \"memo\")::text, 0)), "
              "0)::text FROM \"billing\".\"orders\" WHERE (\"id\") >= ($1::bigint)");
}

TEST(DriftSql, CompositeKeyRangesCompareWholeTuplesWithEveryPartAParameter) {
    auto spec = composite_key_spec();
    KeyRange range{{"1", "it's"}, {"2", "a\\b"}};
    EXPECT_EQ(build_range_summary(spec, Side::replica, range),
              (Query{"SELECT count(*), coalesce(sum(hashtextextended(ROW(\"tenant\", \"code\", "
                     "\"v\")::text, 0)), 0)::text FROM \"r\".\"Items\" WHERE (\"tenant\", "
                     "\"code\") >= ($1::integer, $2::text) AND (\"tenant\", \"code\") < "
                     "($3::integer, $4::text)",
                     {"1", "it's", "2", "a\\b"}}));
    EXPECT_EQ(build_range_hashes(spec, Side::source, range),
              (Query{"SELECT \"tenant\"::text AS syncset_k0, \"code\"::text AS syncset_k1, "
                     "to_hex(hashtextextended(ROW(\"tenant\", \"code\", \"v\")::text, 0)) FROM "
                     "\"public\".\"items\" WHERE (\"tenant\", \"code\") >= ($1::integer, "
                     "$2::text) AND (\"tenant\", \"code\") < ($3::integer, $4::text) ORDER BY "
                     "\"tenant\", \"code\"",
                     {"1", "it's", "2", "a\\b"}}));
}

// That the keys come back in key order (not in the order of the key's text) is checked against
// a real server: DriftScanSql.BoundariesComeBackInKeyOrder in tests/integration.
TEST(DriftSql, BoundariesAreEveryNthKeyOfOneSideInKeyOrderAndStopAtTheLimit) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_range_boundaries(spec, Side::source, KeyRange{{"10"}, {}}, 1250, 15),
              (Query{"SELECT \"id\"::text AS syncset_k0 FROM (SELECT \"id\", row_number() OVER "
                     "(ORDER BY \"id\") AS syncset_rn FROM \"public\".\"orders\" WHERE (note <> "
                     "'x') AND \"gone\" IS NULL AND (\"id\") >= ($1::bigint)) AS s WHERE "
                     "syncset_rn % $2::bigint = 0 AND syncset_rn > 1 ORDER BY \"id\" LIMIT "
                     "$3::bigint",
                     {"10", "1250", "15"}}));
    // The replica's names, and no filter: rows only the replica has are split by their keys.
    EXPECT_EQ(build_range_boundaries(spec, Side::replica, KeyRange{}, 0, 3),
              (Query{"SELECT \"id\"::text AS syncset_k0 FROM (SELECT \"id\", row_number() OVER "
                     "(ORDER BY \"id\") AS syncset_rn FROM \"billing\".\"orders\") AS s WHERE "
                     "syncset_rn % $1::bigint = 0 AND syncset_rn > 1 ORDER BY \"id\" LIMIT "
                     "$2::bigint",
                     {"1", "3"}}));
    auto composite = composite_key_spec();
    EXPECT_EQ(build_range_boundaries(composite, Side::source, KeyRange{}, 4, 3).sql,
              "SELECT \"tenant\"::text AS syncset_k0, \"code\"::text AS syncset_k1 FROM (SELECT "
              "\"tenant\", \"code\", row_number() OVER (ORDER BY \"tenant\", \"code\") AS "
              "syncset_rn FROM \"public\".\"items\") AS s WHERE syncset_rn % $1::bigint = 0 AND "
              "syncset_rn > 1 ORDER BY \"tenant\", \"code\" LIMIT $2::bigint");
}

TEST(DriftSql, HistogramIsTheSourceKeyColumnsStatisticsInOrder) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_key_histogram(spec),
              "SELECT u.b FROM (SELECT s.histogram_bounds FROM pg_catalog.pg_stats AS s JOIN "
              "pg_catalog.pg_class AS c ON c.relname = s.tablename JOIN pg_catalog.pg_namespace "
              "AS n ON n.oid = c.relnamespace AND n.nspname = s.schemaname WHERE c.oid = "
              "'\"public\".\"orders\"'::regclass AND s.attname = 'id' ORDER BY s.inherited DESC "
              "LIMIT 1) AS h, unnest(h.histogram_bounds::text::text[]) WITH ORDINALITY AS u(b, o) "
              "ORDER BY u.o");
}

TEST(DriftSql, RangeHashesListKeyTextAndHexRowHashInKeyOrder) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_range_hashes(spec, Side::source, KeyRange{{"10"}, {"20"}}),
              (Query{"SELECT \"id\"::text AS syncset_k0, to_hex(hashtextextended(ROW(\"id\", "
                     "\"note\")::text, 0)) FROM \"public\".\"orders\" WHERE (note <> 'x') AND "
                     "\"gone\" IS NULL AND (\"id\") >= ($1::bigint) AND (\"id\") < ($2::bigint) "
                     "ORDER BY \"id\"",
                     {"10", "20"}}));
    EXPECT_EQ(build_range_hashes(spec, Side::replica, KeyRange{}),
              (Query{"SELECT \"id\"::text AS syncset_k0, to_hex(hashtextextended(ROW(\"id\", "
                     "\"memo\")::text, 0)) FROM \"billing\".\"orders\" ORDER BY \"id\"",
                     {}}));
}

TEST(DriftSql, KeyHashesOfTheCandidatesUseAnInListOnBothSides) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_key_hashes(spec, Side::source, {{"1"}, {"7"}}),
              (Query{"SELECT \"id\"::text AS syncset_k0, to_hex(hashtextextended(ROW(\"id\", "
                     "\"note\")::text, 0)) FROM \"public\".\"orders\" WHERE (note <> 'x') AND "
                     "\"gone\" IS NULL AND (\"id\") IN (($1::bigint), ($2::bigint)) ORDER BY "
                     "\"id\"",
                     {"1", "7"}}));
    EXPECT_EQ(build_key_hashes(spec, Side::replica, {{"1"}, {"7"}}).sql,
              "SELECT \"id\"::text AS syncset_k0, to_hex(hashtextextended(ROW(\"id\", "
              "\"memo\")::text, 0)) FROM \"billing\".\"orders\" WHERE (\"id\") IN (($1::bigint), "
              "($2::bigint)) ORDER BY \"id\"");
    auto composite = composite_key_spec();
    EXPECT_EQ(build_key_hashes(composite, Side::replica, {{"1", "a"}, {"2", "O'Neil"}}),
              (Query{"SELECT \"tenant\"::text AS syncset_k0, \"code\"::text AS syncset_k1, "
                     "to_hex(hashtextextended(ROW(\"tenant\", \"code\", \"v\")::text, 0)) FROM "
                     "\"r\".\"Items\" WHERE (\"tenant\", \"code\") IN (($1::integer, $2::text), "
                     "($3::integer, $4::text)) ORDER BY \"tenant\", \"code\"",
                     {"1", "a", "2", "O'Neil"}}));
}

TEST(DriftSql, RepairReadsTheKeysFromTheFilteredSourceAndDeletesOnTheReplica) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_copy_keys(spec, {{"3"}}),
              "COPY (SELECT \"id\", \"note\" FROM \"public\".\"orders\" WHERE (note <> 'x') AND "
              "\"gone\" IS NULL AND (\"id\") IN (('3'::bigint))) TO STDOUT");
    EXPECT_EQ(build_delete_keys(spec, {{"3"}, {"4"}}),
              "DELETE FROM \"billing\".\"orders\" WHERE (\"id\") IN (('3'::bigint), "
              "('4'::bigint))");
    auto composite = composite_key_spec();
    EXPECT_EQ(build_copy_keys(composite, {{"1", "a"}}),
              "COPY (SELECT \"tenant\", \"code\", \"v\" FROM \"public\".\"items\" WHERE "
              "(\"tenant\", \"code\") IN (('1'::integer, 'a'::text))) TO STDOUT");
    EXPECT_EQ(build_delete_keys(composite, {{"1", "a"}, {"2", ""}}),
              "DELETE FROM \"r\".\"Items\" WHERE (\"tenant\", \"code\") IN (('1'::integer, "
              "'a'::text), ('2'::integer, ''::text))");
}

TEST(DriftSql, SplitSummarySumsEveryPieceOfARangeInOneScanPerSide) {
    auto spec = single_key_spec();
    // A single-column key finds its piece by width_bucket over the typed boundaries.
    EXPECT_EQ(build_split_summary(spec, Side::replica, KeyRange{{"10"}, {}}, {{"20"}, {"30"}}),
              (Query{"SELECT count(*) FILTER (WHERE b = 0), sum(h) FILTER (WHERE b = 0), "
                     "count(*) FILTER (WHERE b = 1), sum(h) FILTER (WHERE b = 1), count(*) FILTER "
                     "(WHERE b = 2), sum(h) FILTER (WHERE b = 2) FROM (SELECT "
                     "width_bucket(\"id\", ARRAY[($1::bigint), ($2::bigint)]), "
                     "hashtextextended(ROW(\"id\", \"memo\")::text, 0) FROM "
                     "\"billing\".\"orders\" WHERE (\"id\") >= ($3::bigint)) AS s(b, h)",
                     {"20", "30", "10"}}));
    // A composite key compares whole tuples, as the range conditions do; the source filters.
    auto composite = composite_key_spec();
    composite.where = "v IS NOT NULL";
    EXPECT_EQ(build_split_summary(composite, Side::source, KeyRange{}, {{"2", "it's"}}),
              (Query{"SELECT count(*) FILTER (WHERE b = 0), sum(h) FILTER (WHERE b = 0), "
                     "count(*) FILTER (WHERE b = 1), sum(h) FILTER (WHERE b = 1) FROM (SELECT "
                     "CASE WHEN (\"tenant\", \"code\") < ($1::integer, $2::text) THEN 0 ELSE 1 "
                     "END, hashtextextended(ROW(\"tenant\", \"code\", \"v\")::text, 0) FROM "
                     "\"public\".\"items\" WHERE (v IS NOT NULL)) AS s(b, h)",
                     {"2", "it's"}}));
}

// ---- rows in flight ------------------------------------------------------------------------

copy::CopySpec time_cursor_spec() {
    copy::CopySpec spec = single_key_spec();
    spec.columns.push_back({"updated_at", "updated_at", "timestamp with time zone"});
    spec.cursor = copy::ChangeTracking::time;
    spec.cursor_index = 2;
    return spec;
}

TEST(DriftInFlight, RowsInFlightAreThoseTheLoopWillStillReadAfterItsCheckpoint) {
    copy::CopySpec xmin = single_key_spec();
    xmin.cursor = copy::ChangeTracking::xmin;
    EXPECT_EQ(build_in_flight_condition(xmin, {"1234"}), copy::build_xmin_changed_since(1234));
    EXPECT_EQ(build_in_flight_condition(time_cursor_spec(), {"2026-12-03 10:00:00+00", "7"}),
              "\"updated_at\" >= '2026-12-03 10:00:00+00'::timestamp with time zone");
}

TEST(DriftInFlight, WithoutACheckpointOrATrackingThatTellsNothingIsKnownInFlight) {
    EXPECT_EQ(build_in_flight_condition(time_cursor_spec(), {}), std::nullopt);
    copy::CopySpec full = single_key_spec();
    full.cursor = copy::ChangeTracking::none;
    EXPECT_EQ(build_in_flight_condition(full, {"1"}), std::nullopt);
}

// The source sums only rows that are settled and pass the filter, and lists the keys in flight
// whatever the filter says (a row leaving the filter is in flight too), then the plain sums.
TEST(DriftInFlight, SourceSummaryLeavesRowsInFlightOutAndListsTheirKeys) {
    auto spec = single_key_spec();
    EXPECT_EQ(
        build_split_summary_in_flight(spec, KeyRange{{"10"}, {}}, {{"20"}}, "xmin_is_new"),
        (Query{"SELECT count(*) FILTER (WHERE b = 0 AND k AND NOT f), sum(h) FILTER (WHERE b = 0 "
               "AND k AND NOT f), count(*) FILTER (WHERE b = 1 AND k AND NOT f), sum(h) FILTER "
               "(WHERE b = 1 AND k AND NOT f), array_agg(k0::text) FILTER (WHERE f), count(*) "
               "FILTER (WHERE k), coalesce(sum(h) FILTER (WHERE k), 0)::text FROM (SELECT "
               "width_bucket(\"id\", ARRAY[($1::bigint)]), hashtextextended(ROW(\"id\", "
               "\"note\")::text, 0), coalesce((note <> 'x') AND \"gone\" IS NULL, false), "
               "coalesce(xmin_is_new, false), \"id\" FROM \"public\".\"orders\" WHERE "
               "(\"id\") >= ($2::bigint)) AS s(b, h, k, f, k0)",
               {"20", "10"}}));
}

TEST(DriftInFlight, ReplicaSummaryOfTheKeysInFlightTakesTheKeysAsOneArrayPerColumn) {
    auto composite = composite_key_spec();
    EXPECT_EQ(build_split_summary_of_keys(composite, KeyRange{}, {}, {{"1", "a"}, {"2", "b\"c"}}),
              (Query{"SELECT count(*) FILTER (WHERE b = 0), sum(h) FILTER (WHERE b = 0) FROM "
                     "(SELECT 0, hashtextextended(ROW(\"tenant\", \"code\", \"v\")::text, 0) "
                     "FROM \"r\".\"Items\" WHERE (\"tenant\", \"code\") IN (SELECT * FROM "
                     "unnest($1::text[]::integer[], $2::text[]::text[]))) AS s(b, h)",
                     {"{\"1\",\"2\"}", "{\"a\",\"b\\\"c\"}"}}));
    auto single = single_key_spec();
    EXPECT_EQ(build_split_summary_of_keys(single, KeyRange{}, {}, {{"5"}}).sql,
              "SELECT count(*) FILTER (WHERE b = 0), sum(h) FILTER (WHERE b = 0) FROM (SELECT 0, "
              "hashtextextended(ROW(\"id\", \"memo\")::text, 0) FROM \"billing\".\"orders\" "
              "WHERE \"id\" = ANY($1::text[]::bigint[])) AS s(b, h)");
}

TEST(DriftInFlight, SourceLeafRowsFlagTheRowsInFlightAndKeepThoseThatLeftTheFilter) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_range_hashes_in_flight(spec, KeyRange{{"10"}, {"20"}}, "new"),
              (Query{"SELECT \"id\"::text AS syncset_k0, to_hex(hashtextextended(ROW(\"id\", "
                     "\"note\")::text, 0)), coalesce(new, false)::text FROM \"public\".\"orders\" "
                     "WHERE (\"id\") >= ($1::bigint) AND (\"id\") < ($2::bigint) AND "
                     "(coalesce((note <> 'x') AND \"gone\" IS NULL, false) OR coalesce(new, "
                     "false)) ORDER BY \"id\"",
                     {"10", "20"}}));
}

TEST(DriftInFlight, SubtractingTheRowsInFlightIsExactBeyondSixtyFourBits) {
    // Sums of 64-bit hashes over many rows overflow 64 bits; numeric keeps them exact.
    EXPECT_EQ(
        subtract(RangeSummary{3, "27670116110564327421"}, RangeSummary{1, "9223372036854775807"}),
        (RangeSummary{2, "18446744073709551614"}));
    EXPECT_EQ(subtract(RangeSummary{2, "-5"}, RangeSummary{2, "-5"}), (RangeSummary{0, "0"}));
    EXPECT_EQ(subtract(RangeSummary{1, "10"}, RangeSummary{1, "-10"}), (RangeSummary{0, "20"}));
    // An empty piece's NULL sum and a zero sum are the same summary.
    EXPECT_EQ(canonical(RangeSummary{0, ""}), canonical(RangeSummary{0, "0"}));
    EXPECT_THROW(canonical(RangeSummary{1, "12a"}), Error);
}

// ---- split points from the planner's histogram --------------------------------------------

std::vector<std::string> numbers(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i <= to; ++i) {
        out.push_back(std::to_string(i));
    }
    return out;
}

TEST(DriftHistogram, BoundsArePickedEvenlyInsideTheHistogramNeverAtItsEnds) {
    // 101 bounds (the default statistics target): 0 is the smallest key, 100 the largest.
    auto picked = pick_boundaries(numbers(0, 100), 4);
    EXPECT_EQ(picked, (std::vector<std::vector<std::string>>{{"25"}, {"50"}, {"75"}}));
    picked = pick_boundaries(numbers(0, 100), 16);
    ASSERT_EQ(picked.size(), 15u);
    EXPECT_EQ(picked.front(), std::vector<std::string>{"6"});
    EXPECT_EQ(picked.back(), std::vector<std::string>{"94"});
}

TEST(DriftHistogram, TooCoarseAHistogramGivesNoBoundsSoTheScannerQueriesThem) {
    EXPECT_TRUE(pick_boundaries(numbers(0, 15), 16).empty());
    EXPECT_TRUE(pick_boundaries({}, 16).empty());
    EXPECT_EQ(pick_boundaries(numbers(0, 16), 16).size(), 15u);
}

TEST(DriftHistogram, RepeatedBoundsOfANonUniqueKeyAreKeptOnce) {
    std::vector<std::string> bounds(50, "7");
    bounds.insert(bounds.end(), 51, "9");
    EXPECT_EQ(pick_boundaries(bounds, 4), (std::vector<std::vector<std::string>>{{"7"}, {"9"}}));
}

// ---- row hashes in hex --------------------------------------------------------------------

TEST(DriftHexHash, ToHexTextReadsBackAsTheSigned64BitHash) {
    EXPECT_EQ(parse_hex_hash("0"), 0);
    EXPECT_EQ(parse_hex_hash("1f"), 31);
    EXPECT_EQ(parse_hex_hash("7fffffffffffffff"), INT64_MAX);
    // to_hex(-1::bigint) and to_hex(-9223372036854775808): two's complement.
    EXPECT_EQ(parse_hex_hash("ffffffffffffffff"), -1);
    EXPECT_EQ(parse_hex_hash("8000000000000000"), INT64_MIN);
    EXPECT_EQ(parse_hex_hash("ABCDEF"), 0xabcdef);
}

TEST(DriftHexHash, AnythingElseIsAnInternalErrorNotAZeroHash) {
    for (const char* bad : {"", "12345678901234567", "12g4", "-1", " 1"}) {
        SCOPED_TRACE(bad);
        try {
            parse_hex_hash(bad);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::internal);
        }
    }
}

}  // namespace
}  // namespace syncset::drift

namespace syncset::drift {
namespace {

// ---- the source's shared scans ------------------------------------------------------------

const std::vector<RangeSummary> k_summary{{200, "-123456789"}};

TEST(DriftSourceCache, AnotherReplicaReusesTheSourcesAnswerToTheSameQuery) {
    SourceCache cache;
    EXPECT_FALSE(cache.find("q", "r2").has_value());
    cache.store("q", "r1", k_summary);
    EXPECT_EQ(cache.find("q", "r2"), k_summary);
    EXPECT_FALSE(cache.find("other query", "r2").has_value());
}

TEST(DriftSourceCache, AReplicaNeverReusesItsOwnPreviousScan) {
    SourceCache cache;
    cache.store("q", "r1", k_summary);
    EXPECT_FALSE(cache.find("q", "r1").has_value());
}

TEST(DriftSourceCache, AnswersOlderThanTheMaximumAgeAreNotReused) {
    SourceCache::Clock::time_point now{};
    SourceCache cache(std::chrono::minutes(1), [&now] { return now; });
    cache.store("q", "r1", k_summary);
    now += std::chrono::seconds(60);
    EXPECT_EQ(cache.find("q", "r2"), k_summary);  // exactly the maximum age: still fresh
    now += std::chrono::milliseconds(1);
    EXPECT_FALSE(cache.find("q", "r2").has_value());
}

TEST(DriftSourceCache, StoringDropsStaleAnswersSoTheCacheStaysSmall) {
    SourceCache::Clock::time_point now{};
    SourceCache cache(std::chrono::minutes(1), [&now] { return now; });
    cache.store("old", "r1", k_summary);
    now += std::chrono::minutes(2);
    cache.store("new", "r1", k_summary);
    // Back at the old answer's time it would be fresh again, had it been kept.
    now -= std::chrono::minutes(2);
    EXPECT_FALSE(cache.find("old", "r2").has_value());
    EXPECT_EQ(cache.find("new", "r2"), k_summary);
}

}  // namespace
}  // namespace syncset::drift
