// The copy paths' SQL and COPY text decoding, without a database.
#include <gtest/gtest.h>

#include "copy/copy_text.hpp"
#include "syncset/config/validate.hpp"
#include "syncset/copy/sql.hpp"

namespace syncset::copy {
namespace {

struct Built {
    config::Config config;
    plan::TablePlan plan;
};

Built plan_for(const std::string& table_keys) {
    std::string yaml =
        "source: {dsn: x}\nreplicas:\n  - name: r\n    dsn: y\n    tables:\n"
        "      - source: public.orders\n" +
        table_keys;
    auto loaded = config::load_config_text(
        yaml, "t.yaml", [](std::string_view) { return std::optional<std::string>{}; });
    for (const auto& p : loaded.problems) {
        ADD_FAILURE() << config::format_problem("t.yaml", p);
    }
    Built b{*loaded.config, {}};
    b.plan.source_schema = "public";
    b.plan.source_name = "orders";
    b.plan.source_oid = 42;
    b.plan.target_schema = "billing";
    b.plan.target_name = "orders";
    b.plan.columns = {{1, "id", "id", "bigint", true},
                      {2, "note", "note", "text", false},
                      {3, "updated_at", "changed", "timestamp with time zone", true}};
    b.plan.key = {"id"};
    b.plan.key_source = {"id"};
    return b;
}

CopySpec spec_of(Built& b) {
    b.plan.spec = &b.config.replicas[0].tables[0];
    return build_copy_spec(b.plan);
}

TEST(CopySpec, KeyColumnsComeFirstThenTheCursorAndATimestamptzCursorIsATimeCursor) {
    Built b = plan_for("        cursor: updated_at\n");
    b.plan.key_source = {"id"};
    b.plan.columns.insert(b.plan.columns.begin(), {4, "a", "a", "int", false});
    CopySpec spec = spec_of(b);
    ASSERT_EQ(spec.columns.size(), 4u);
    EXPECT_EQ(spec.columns[0].source, "id");
    EXPECT_EQ(spec.columns[1].source, "updated_at");
    EXPECT_EQ(spec.columns[1].target, "changed");
    EXPECT_EQ(spec.key_count, 1u);
    EXPECT_EQ(spec.cursor_index, 1u);
    EXPECT_EQ(spec.cursor, ChangeTracking::time);
}

TEST(CopySpec, OtherCursorTypesFollowTheSequenceRuleAndMirrorMeansFullRefresh) {
    Built b = plan_for("        cursor: id\n");
    EXPECT_EQ(spec_of(b).cursor, ChangeTracking::sequence);
    EXPECT_EQ(spec_of(b).cursor_index, 0u);  // the key column itself
    Built m = plan_for("        mode: mirror\n");
    EXPECT_TRUE(spec_of(m).full_refresh());
    Built n = plan_for("        cursor: none\n");
    EXPECT_TRUE(spec_of(n).full_refresh());
}

TEST(CopySql, SnapshotChunkIsKeysetPagedInKeyOrderWithTheRowFilter) {
    Built b = plan_for(
        "        where: \"note <> 'x'\"\n        soft_delete: gone\n        snapshot_chunk_rows: "
        "500\n");
    CopySpec spec = spec_of(b);
    EXPECT_EQ(build_snapshot_copy(spec, {}),
              "COPY (SELECT \"id\", \"note\", \"updated_at\" FROM \"public\".\"orders\" WHERE "
              "(note <> 'x') AND \"gone\" IS NULL ORDER BY \"id\" LIMIT 500) TO STDOUT");
    EXPECT_EQ(build_snapshot_copy(spec, {"17"}),
              "COPY (SELECT \"id\", \"note\", \"updated_at\" FROM \"public\".\"orders\" WHERE "
              "(note <> 'x') AND \"gone\" IS NULL AND (\"id\") > ('17'::bigint) ORDER BY \"id\" "
              "LIMIT 500) TO STDOUT");
}

TEST(CopySql, RowCountForSnapshotProgressCountsWhatTheSnapshotCopies) {
    Built filtered = plan_for("        where: \"note <> 'x'\"\n        soft_delete: gone\n");
    EXPECT_EQ(
        build_row_count(spec_of(filtered)),
        "SELECT count(*) FROM \"public\".\"orders\" WHERE (note <> 'x') AND \"gone\" IS NULL");
    Built all = plan_for("");
    EXPECT_EQ(build_row_count(spec_of(all)), "SELECT count(*) FROM \"public\".\"orders\"");
}

TEST(CopySql, IncrementalBatchPagesOnCursorThenKeySoTiesNeverSplit) {
    Built b = plan_for("        cursor: updated_at\n        batch_rows: 100\n");
    CopySpec spec = spec_of(b);
    EXPECT_EQ(build_incremental_copy(spec, Position{"2026-01-01 00:00:00+00", {"9"}},
                                     Bound{"2026-01-02 00:00:00+00", false}),
              "COPY (SELECT \"id\", \"updated_at\", \"note\" FROM \"public\".\"orders\" WHERE "
              "(\"updated_at\", \"id\") > ('2026-01-01 00:00:00+00'::timestamp with time zone, "
              "'9'::bigint) AND \"updated_at\" < '2026-01-02 00:00:00+00'::timestamp with time "
              "zone ORDER BY \"updated_at\", \"id\" LIMIT 100) TO STDOUT");
    // The handover position of a snapshot is inclusive and has no key.
    EXPECT_EQ(build_incremental_copy(spec, Position{"2026-01-01 00:00:00+00", {}}, std::nullopt),
              "COPY (SELECT \"id\", \"updated_at\", \"note\" FROM \"public\".\"orders\" WHERE "
              "\"updated_at\" >= '2026-01-01 00:00:00+00'::timestamp with time zone ORDER BY "
              "\"updated_at\", \"id\" LIMIT 100) TO STDOUT");
}

TEST(CopySql, RowsOutsideTheFilterAreReadWithNullsInsteadOfTheirValues) {
    Built b = plan_for("        cursor: updated_at\n        where: \"note <> 'x'\"\n");
    CopySpec spec = spec_of(b);
    EXPECT_TRUE(spec.needs_keep_flag());
    EXPECT_EQ(build_incremental_copy(spec, std::nullopt, std::nullopt),
              "COPY (SELECT \"id\", \"updated_at\", CASE WHEN COALESCE((note <> 'x'), false) THEN "
              "\"note\" END, COALESCE((note <> 'x'), false) FROM \"public\".\"orders\" WHERE "
              "\"updated_at\" IS NOT NULL ORDER BY \"updated_at\", \"id\" LIMIT 10000) TO STDOUT");
    EXPECT_EQ(build_filter_delete(spec),
              "DELETE FROM \"billing\".\"orders\" AS t USING " + spec.stage_table +
                  " "
                  "AS s WHERE NOT s.\"_syncset_keep\" AND (t.\"id\") = (s.\"id\")");
}

TEST(CopySql, UpsertSkipsUnchangedRowsAndInsertModeNeverUpdates) {
    Built b = plan_for("        cursor: updated_at\n");
    CopySpec spec = spec_of(b);
    EXPECT_EQ(
        build_upsert(spec),
        "INSERT INTO \"billing\".\"orders\" (\"id\", \"changed\", \"note\") SELECT \"id\", "
        "\"changed\", \"note\" FROM " +
            spec.stage_table +
            " ON CONFLICT (\"id\") "
            "DO UPDATE SET \"changed\" = EXCLUDED.\"changed\", \"note\" = EXCLUDED.\"note\" "
            "WHERE ROW(\"billing\".\"orders\".\"changed\", \"billing\".\"orders\".\"note\")::text "
            "IS DISTINCT FROM ROW(EXCLUDED.\"changed\", EXCLUDED.\"note\")::text");
    Built i = plan_for("        mode: insert\n");
    CopySpec insert = spec_of(i);
    EXPECT_EQ(build_upsert(insert),
              "INSERT INTO \"billing\".\"orders\" (\"id\", \"note\", \"changed\") SELECT \"id\", "
              "\"note\", \"changed\" FROM " +
                  insert.stage_table +
                  " ON CONFLICT (\"id\") "
                  "DO NOTHING");
}

TEST(CopySql, XminPollReadsRowsWrittenSinceThePreviousSnapshotXmin) {
    Built b = plan_for("");
    EXPECT_EQ(build_xmin_copy(spec_of(b), 1234, {"5"}),
              "COPY (SELECT \"id\", \"note\", \"updated_at\" FROM \"public\".\"orders\" WHERE "
              "(CASE WHEN (SELECT pg_snapshot_xmax(pg_current_snapshot()))::text::bigint - 1234 > "
              "2147483647 THEN true ELSE age(xmin) <= age('1234'::xid) END) AND (\"id\") > "
              "('5'::bigint) ORDER BY \"id\" LIMIT 10000) TO STDOUT");
    // A 64-bit position compares in 32-bit xid space: epoch 1, xid 5 is '5'::xid.
    EXPECT_NE(build_xmin_changed_since((std::int64_t{1} << 32) + 5).find("age('5'::xid)"),
              std::string::npos);
}

TEST(CopySql, MirrorDeletesRowsAbsentFromTheStage) {
    Built b = plan_for("        mode: mirror\n");
    CopySpec spec = spec_of(b);
    EXPECT_EQ(build_mirror_delete(spec),
              "DELETE FROM \"billing\".\"orders\" AS t WHERE NOT EXISTS (SELECT 1 FROM " +
                  spec.stage_table + " AS s WHERE (s.\"id\") = (t.\"id\"))");
}

TEST(CopySql, TheStageIsNamedAfterItsShapeSoASchemaChangeGetsANewOne) {
    Built b = plan_for("");
    CopySpec before = spec_of(b);
    EXPECT_EQ(before.stage_table.rfind("pg_temp.\"syncset_stage_", 0), 0u);
    EXPECT_EQ(build_create_stage(before),
              "CREATE TEMP TABLE IF NOT EXISTS " + before.stage_table +
                  " ON COMMIT DELETE ROWS AS SELECT \"id\", \"note\", \"changed\", true AS "
                  "\"_syncset_keep\" FROM \"billing\".\"orders\" WITH NO DATA");
    b.plan.columns[1].type = "varchar(20)";
    EXPECT_NE(spec_of(b).stage_table, before.stage_table);
}

TEST(CopyText, FirstFieldsAreDecodedWithEscapesAndNulls) {
    auto fields = decode_copy_fields("a\\tb\\\\c\\n\t\\N\t\\101\\x41\trest\n", 3);
    ASSERT_TRUE(fields);
    EXPECT_EQ((*fields)[0], "a\tb\\c\n");
    EXPECT_EQ((*fields)[1], std::nullopt);
    EXPECT_EQ((*fields)[2], "AA");
    EXPECT_FALSE(decode_copy_fields("only\tthree\tfields\n", 4));
    EXPECT_EQ(decode_copy_fields("x\n", 1)->at(0), "x");
}

}  // namespace
}  // namespace syncset::copy
