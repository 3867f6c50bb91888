// The drift scanner's pure half, without a database: which rows differ between two lists of
// (key, hash), how a key range is split, and the exact SQL each side runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "syncset/drift/compare.hpp"

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
              "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", \"note\")::text, 0)), "
              "0)::text FROM \"public\".\"orders\" WHERE (note <> 'x') AND \"gone\" IS NULL");
    EXPECT_EQ(build_range_summary(spec, Side::replica, KeyRange{}),
              "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", \"memo\")::text, 0)), "
              "0)::text FROM \"billing\".\"orders\"");
}

TEST(DriftSql, SummaryOfAKeyRangeIsHalfOpenWithTypedLiterals) {
    auto spec = single_key_spec();
    KeyRange range{{"10"}, {"20"}};
    EXPECT_EQ(build_range_summary(spec, Side::source, range),
              "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", \"note\")::text, 0)), "
              "0)::text FROM \"public\".\"orders\" WHERE (note <> 'x') AND \"gone\" IS NULL AND "
              "(\"id\") >= ('10'::bigint) AND (\"id\") < ('20'::bigint)");
    EXPECT_EQ(build_range_summary(spec, Side::replica, KeyRange{{}, {"20"}}),
              "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", \"memo\")::text, 0)), "
              "0)::text FROM \"billing\".\"orders\" WHERE (\"id\") < ('20'::bigint)");
    EXPECT_EQ(build_range_summary(spec, Side::replica, KeyRange{{"10"}, {}}),
              "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"id\", \"memo\")::text, 0)), "
              "0)::text FROM \"billing\".\"orders\" WHERE (\"id\") >= ('10'::bigint)");
}

TEST(DriftSql, CompositeKeyRangesCompareWholeTuplesAndQuoteEveryLiteral) {
    auto spec = composite_key_spec();
    KeyRange range{{"1", "it's"}, {"2", "a\\b"}};
    EXPECT_EQ(
        build_range_summary(spec, Side::replica, range),
        "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"tenant\", \"code\", \"v\")::text, "
        "0)), 0)::text FROM \"r\".\"Items\" WHERE (\"tenant\", \"code\") >= ('1'::integer, "
        "'it''s'::text) AND (\"tenant\", \"code\") < ('2'::integer, 'a\\b'::text)");
    EXPECT_EQ(build_range_hashes(spec, Side::source, range),
              "SELECT \"tenant\"::text AS syncset_k0, \"code\"::text AS syncset_k1, "
              "hashtextextended(ROW(\"tenant\", \"code\", "
              "\"v\")::text, 0) FROM \"public\".\"items\" WHERE (\"tenant\", \"code\") >= "
              "('1'::integer, 'it''s'::text) AND (\"tenant\", \"code\") < ('2'::integer, "
              "'a\\b'::text) ORDER BY \"tenant\", \"code\"");
}

// The text up to the final ORDER BY. That the rows come back in key order (not in the order of
// the key's text) is checked against a real server: DriftScanSql.BoundariesComeBackInKeyOrder in
// tests/integration/test_drift_check.cpp.
TEST(DriftSql, BoundariesComeFromTheFilteredSourceEveryNthRowInKeyOrder) {
    auto spec = single_key_spec();
    EXPECT_EQ(build_range_boundaries(spec, KeyRange{{"10"}, {}}, 16),
              "SELECT \"id\"::text AS syncset_k0 FROM (SELECT \"id\", row_number() OVER (ORDER BY "
              "\"id\") AS "
              "syncset_rn, count(*) OVER () AS syncset_n FROM \"public\".\"orders\" WHERE "
              "(note <> 'x') AND \"gone\" IS NULL AND (\"id\") >= ('10'::bigint)) AS s WHERE "
              "syncset_rn % greatest(1, ceil(syncset_n::numeric / 16)::bigint) = 0 AND "
              "syncset_rn > 1 ORDER BY syncset_rn");
    auto composite = composite_key_spec();
    EXPECT_EQ(build_range_boundaries(composite, KeyRange{}, 4),
              "SELECT \"tenant\"::text AS syncset_k0, \"code\"::text AS syncset_k1 FROM (SELECT "
              "\"tenant\", \"code\", "
              "row_number() OVER (ORDER BY \"tenant\", \"code\") AS syncset_rn, count(*) OVER () "
              "AS syncset_n FROM \"public\".\"items\") AS s WHERE syncset_rn % greatest(1, "
              "ceil(syncset_n::numeric / 4)::bigint) = 0 AND syncset_rn > 1 ORDER BY syncset_rn");
}

TEST(DriftSql, RangeHashesListKeyTextAndRowHashInKeyOrder) {
    auto spec = single_key_spec();
    EXPECT_EQ(
        build_range_hashes(spec, Side::source, KeyRange{{"10"}, {"20"}}),
        "SELECT \"id\"::text AS syncset_k0, hashtextextended(ROW(\"id\", \"note\")::text, 0) FROM "
        "\"public\".\"orders\" WHERE (note <> 'x') AND \"gone\" IS NULL AND (\"id\") >= "
        "('10'::bigint) AND (\"id\") < ('20'::bigint) ORDER BY \"id\"");
    EXPECT_EQ(
        build_range_hashes(spec, Side::replica, KeyRange{}),
        "SELECT \"id\"::text AS syncset_k0, hashtextextended(ROW(\"id\", \"memo\")::text, 0) FROM "
        "\"billing\".\"orders\" ORDER BY \"id\"");
}

TEST(DriftSql, KeyHashesOfTheCandidatesUseAnInListOnBothSides) {
    auto spec = single_key_spec();
    EXPECT_EQ(
        build_key_hashes(spec, Side::source, {{"1"}, {"7"}}),
        "SELECT \"id\"::text AS syncset_k0, hashtextextended(ROW(\"id\", \"note\")::text, 0) FROM "
        "\"public\".\"orders\" WHERE (note <> 'x') AND \"gone\" IS NULL AND (\"id\") IN "
        "(('1'::bigint), ('7'::bigint)) ORDER BY \"id\"");
    EXPECT_EQ(
        build_key_hashes(spec, Side::replica, {{"1"}, {"7"}}),
        "SELECT \"id\"::text AS syncset_k0, hashtextextended(ROW(\"id\", \"memo\")::text, 0) FROM "
        "\"billing\".\"orders\" WHERE (\"id\") IN (('1'::bigint), ('7'::bigint)) ORDER BY \"id\"");
    auto composite = composite_key_spec();
    EXPECT_EQ(build_key_hashes(composite, Side::replica, {{"1", "a"}, {"2", "O'Neil"}}),
              "SELECT \"tenant\"::text AS syncset_k0, \"code\"::text AS syncset_k1, "
              "hashtextextended(ROW(\"tenant\", \"code\", "
              "\"v\")::text, 0) FROM \"r\".\"Items\" WHERE (\"tenant\", \"code\") IN "
              "(('1'::integer, 'a'::text), ('2'::integer, 'O''Neil'::text)) ORDER BY \"tenant\", "
              "\"code\"");
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

}  // namespace
}  // namespace syncset::drift

namespace syncset::drift {
namespace {

TEST(DriftSql, SplitSummarySumsEveryPieceOfARangeInOneScanPerSide) {
    auto spec = single_key_spec();
    EXPECT_EQ(
        build_split_summary(spec, Side::replica, KeyRange{{"10"}, {}}, {{"20"}, {"30"}}),
        "SELECT count(*) FILTER (WHERE syncset_b = 0), coalesce(sum(syncset_h) FILTER (WHERE "
        "syncset_b = 0), 0)::text, count(*) FILTER (WHERE syncset_b = 1), coalesce(sum(syncset_h) "
        "FILTER (WHERE syncset_b = 1), 0)::text, count(*) FILTER (WHERE syncset_b = 2), "
        "coalesce(sum(syncset_h) FILTER (WHERE syncset_b = 2), 0)::text FROM (SELECT CASE WHEN "
        "(\"id\") < ('20'::bigint) THEN 0 WHEN (\"id\") < ('30'::bigint) THEN 1 ELSE 2 END AS "
        "syncset_b, hashtextextended(ROW(\"id\", \"memo\")::text, 0) AS syncset_h FROM "
        "\"billing\".\"orders\" WHERE (\"id\") >= ('10'::bigint)) AS s");
}

}  // namespace
}  // namespace syncset::drift
