// The schema planner, table by table, without a database (DESIGN.md promises 1, 4 and 5).
#include <gtest/gtest.h>

#include "syncset/plan/planner.hpp"
#include "syncset/plan/render.hpp"

namespace syncset::plan {
namespace {

using catalog::Catalog;
using catalog::Column;
using catalog::Index;
using catalog::Table;
using catalog::UserType;
using state::TableState;

config::Config config_from(const std::string& table_keys, const std::string& extra = "") {
    std::string yaml =
        "source: {dsn: x}\nreplicas:\n  - name: r\n    dsn: y\n    tables:\n" + table_keys + extra;
    auto result = config::load_config_text(
        yaml, "t.yaml", [](std::string_view) { return std::optional<std::string>{}; });
    for (const auto& p : result.problems) {
        ADD_FAILURE() << config::format_problem("t.yaml", p);
    }
    return result.config.value_or(config::Config{});
}

Column col(int attnum, std::string name, std::string type, bool not_null = false,
           std::uint32_t type_oid = 0) {
    Column c;
    c.attnum = attnum;
    c.name = std::move(name);
    c.type = std::move(type);
    c.not_null = not_null;
    c.type_oid = type_oid;
    return c;
}

Table orders() {
    Table t;
    t.oid = 1000;
    t.schema = "public";
    t.name = "orders";
    t.columns = {col(1, "id", "bigint", true), col(2, "customer_id", "bigint"),
                 col(3, "amount", "numeric(12,2)"), col(4, "email", "text"),
                 col(5, "updated_at", "timestamp with time zone", true)};
    t.primary_key = {"id"};
    t.indexes = {Index{"orders_pkey", {"id"}, true, true, "btree", false}};
    return t;
}

struct Fixture {
    config::Config config;
    Catalog source;
    Catalog replica;
    std::vector<TableState> stored;

    ReplicaPlan plan() const {
        return plan_replica(config, config.replicas.at(0), source, replica, stored);
    }
};

// The replica and state as they are after `plan` was applied and the copy finished.
void apply(Fixture& f, const ReplicaPlan& plan) {
    for (const auto& tp : plan.tables) {
        Table t;
        t.schema = tp.target_schema;
        t.name = tp.target_name;
        for (const auto& c : tp.columns) {
            t.columns.push_back(col(c.attnum, c.target_name, c.type, c.not_null));
        }
        t.primary_key = tp.key;
        f.replica.tables.push_back(t);
        TableState st = tp.next_state;
        st.pending = state::Work::none;
        st.phase = state::Phase::incremental;
        f.stored.push_back(st);
    }
}

std::string all_ddl(const ReplicaPlan& plan) {
    std::string out;
    for (const auto& d : plan.ddl) {
        out += d + ";\n";
    }
    for (const auto& t : plan.tables) {
        for (const auto& d : t.ddl) {
            out += d + ";\n";
        }
    }
    return out;
}

TEST(PlannerCreate, NewTableGetsSelectedColumnsInSourceOrderWithKeyAndNotNull) {
    Fixture f{config_from("      - source: public.orders\n        exclude: [email]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    ASSERT_TRUE(plan.problems.empty());
    ASSERT_EQ(plan.tables.size(), 1u);
    const TablePlan& t = plan.tables[0];
    EXPECT_EQ(plan.ddl, std::vector<std::string>{"CREATE SCHEMA IF NOT EXISTS \"public\""});
    EXPECT_EQ(t.ddl, std::vector<std::string>{
                         "CREATE TABLE \"public\".\"orders\" (\"id\" bigint NOT NULL, "
                         "\"customer_id\" bigint, \"amount\" numeric(12,2), \"updated_at\" "
                         "timestamp with time zone NOT NULL, PRIMARY KEY (\"id\"))"});
    EXPECT_EQ(t.work, state::Work::snapshot);
    EXPECT_EQ(t.key, std::vector<std::string>{"id"});
    EXPECT_EQ(t.next_state.phase, state::Phase::snapshot);
    EXPECT_EQ(t.next_state.source_oid, 1000u);
    // Every source column is remembered, the excluded one without a replica name.
    ASSERT_EQ(t.next_state.columns.size(), 5u);
    EXPECT_EQ(t.next_state.columns[3], (state::ColumnState{4, "email", "", "text", "email"}));
}

TEST(PlannerCreate, ColumnListRenameAndTargetAreApplied) {
    Fixture f{config_from("      - source: public.orders\n        target: billing.orders_v\n"
                          "        columns: [id, amount]\n        rename: {amount: total}\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    ASSERT_EQ(plan.tables.size(), 1u);
    EXPECT_EQ(plan.ddl, std::vector<std::string>{"CREATE SCHEMA IF NOT EXISTS \"billing\""});
    EXPECT_EQ(plan.tables[0].ddl,
              std::vector<std::string>{"CREATE TABLE \"billing\".\"orders_v\" (\"id\" bigint NOT "
                                       "NULL, \"total\" numeric(12,2), PRIMARY KEY (\"id\"))"});
    EXPECT_EQ(plan.tables[0].columns[1], (ColumnMap{3, "amount", "total", "numeric(12,2)", false}));
}

TEST(PlannerCreate, GeneratedAndIdentityColumnsBecomePlainColumns) {
    Table t = orders();
    t.columns[0].identity = true;
    t.columns[2].generated = true;
    Fixture f{config_from("      - source: public.orders\n        columns: [id, amount]\n"),
              Catalog{{t}, {}},
              {},
              {}};
    EXPECT_EQ(f.plan().tables.at(0).ddl.at(0),
              "CREATE TABLE \"public\".\"orders\" (\"id\" bigint NOT NULL, \"amount\" "
              "numeric(12,2), PRIMARY KEY (\"id\"))");
}

TEST(PlannerTypes, TypesOfSelectedColumnsAreCreatedBeforeTheTableAndUnusedOnesAreNot) {
    Table t = orders();
    t.columns.push_back(col(6, "status", "shop.\"Status\"[]", false, 7001));
    t.columns.push_back(col(7, "amount2", "shop.positive", false, 7100));
    UserType status{
        7000,  7001, "shop", "Status", UserType::Kind::enum_type, {"new", "it's paid"}, "",
        false, {},   {},     {}};
    UserType positive{7100,
                      7101,
                      "shop",
                      "positive",
                      UserType::Kind::domain,
                      {},
                      "numeric(12,2)",
                      true,
                      {"CHECK ((VALUE > (0)::numeric))"},
                      {},
                      {}};
    UserType unused{7200,  7201, "shop", "unused", UserType::Kind::enum_type, {"x"}, "",
                    false, {},   {},     {}};
    Fixture f{config_from("      - source: public.orders\n"),
              Catalog{{t}, {unused, positive, status}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(plan.ddl,
              (std::vector<std::string>{
                  "CREATE SCHEMA IF NOT EXISTS \"shop\"",
                  "DO $syncset$ BEGIN CREATE TYPE \"shop\".\"Status\" AS ENUM ('new', 'it''s "
                  "paid'); EXCEPTION WHEN duplicate_object THEN NULL; END $syncset$",
                  "DO $syncset$ BEGIN CREATE DOMAIN \"shop\".\"positive\" AS numeric(12,2) NOT "
                  "NULL CHECK ((VALUE > (0)::numeric)); EXCEPTION WHEN duplicate_object THEN "
                  "NULL; END $syncset$",
                  "CREATE SCHEMA IF NOT EXISTS \"public\""}));
}

TEST(PlannerTypes, DomainOverEnumCreatesTheEnumFirst) {
    Table t = orders();
    t.columns.push_back(col(6, "mood", "public.mood_d", false, 8100));
    UserType mood{8000,  8001, "public", "mood", UserType::Kind::enum_type, {"sad", "happy"}, "",
                  false, {},   {},       {}};
    UserType mood_d{8100,  8101, "public", "mood_d", UserType::Kind::domain, {}, "public.mood",
                    false, {},   {},       {8000}};
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{t}, {mood_d, mood}}, {}, {}};
    ReplicaPlan plan = f.plan();
    ASSERT_EQ(plan.ddl.size(), 3u);
    EXPECT_NE(plan.ddl[1].find("CREATE TYPE \"public\".\"mood\""), std::string::npos);
    EXPECT_NE(plan.ddl[2].find("CREATE DOMAIN \"public\".\"mood_d\""), std::string::npos);
}

TEST(PlannerTypes, NewEnumValuesAreAddedAtTheirSortPosition) {
    Table t = orders();
    t.columns.push_back(col(6, "mood", "public.mood", false, 8000));
    UserType source_mood{8000,
                         8001,
                         "public",
                         "mood",
                         UserType::Kind::enum_type,
                         {"angry", "sad", "meh", "happy"},
                         "",
                         false,
                         {},
                         {},
                         {}};
    UserType replica_mood = source_mood;
    replica_mood.labels = {"sad", "happy"};
    Fixture f{config_from("      - source: public.orders\n"),
              Catalog{{t}, {source_mood}},
              Catalog{{}, {replica_mood}},
              {}};
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(plan.ddl, (std::vector<std::string>{
                            "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'angry' "
                            "BEFORE 'sad'",
                            "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'meh' AFTER "
                            "'sad'",
                            "CREATE SCHEMA IF NOT EXISTS \"public\""}));
}

// Regression: the same joined key made the planner skip the second of two such types.
TEST(PlannerTypes, TypesWhoseJoinedNamesAreEqualAreBothCreated) {
    Table t = orders();
    t.columns.push_back(col(6, "first", "\"a.b\".c", false, 9000));
    t.columns.push_back(col(7, "second", "a.\"b.c\"", false, 9100));
    UserType dotted_schema{9000,  9001, "a.b", "c", UserType::Kind::enum_type, {"x"}, "",
                           false, {},   {},    {}};
    UserType dotted_name{9100,  9101, "a", "b.c", UserType::Kind::enum_type, {"y"}, "",
                         false, {},   {},  {}};
    Fixture f{config_from("      - source: public.orders\n"),
              Catalog{{t}, {dotted_schema, dotted_name}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(plan.ddl,
              (std::vector<std::string>{
                  "CREATE SCHEMA IF NOT EXISTS \"a.b\"",
                  "DO $syncset$ BEGIN CREATE TYPE \"a.b\".\"c\" AS ENUM ('x'); EXCEPTION WHEN "
                  "duplicate_object THEN NULL; END $syncset$",
                  "CREATE SCHEMA IF NOT EXISTS \"a\"",
                  "DO $syncset$ BEGIN CREATE TYPE \"a\".\"b.c\" AS ENUM ('y'); EXCEPTION WHEN "
                  "duplicate_object THEN NULL; END $syncset$",
                  "CREATE SCHEMA IF NOT EXISTS \"public\""}));
}

TEST(PlannerEvolve, UnchangedSourcePlansNothing) {
    Fixture f{config_from("      - source: public.orders\n        exclude: [email]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    apply(f, f.plan());
    ReplicaPlan again = f.plan();
    ASSERT_EQ(again.tables.size(), 1u);
    EXPECT_EQ(all_ddl(again), "");
    EXPECT_TRUE(again.tables[0].changes.empty());
    EXPECT_EQ(again.tables[0].work, state::Work::none);
    EXPECT_EQ(again.tables[0].next_state.phase, state::Phase::incremental);
    EXPECT_FALSE(again.tables[0].state_changed);
}

TEST(PlannerEvolve, UnchangedTableInTheMiddleOfItsSnapshotKeepsItsStateUntouched) {
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{orders()}, {}}, {}, {}};
    ReplicaPlan first = f.plan();
    EXPECT_TRUE(first.tables.at(0).state_changed);
    apply(f, first);
    f.stored[0].pending = state::Work::snapshot;
    f.stored[0].phase = state::Phase::snapshot;
    ReplicaPlan again = f.plan();
    EXPECT_FALSE(again.tables.at(0).state_changed);
    EXPECT_EQ(again.tables[0].next_state.pending, state::Work::snapshot);
}

TEST(PlannerEvolve, AddedColumnIsAddedAndBackfilledWhenTheConfigExcludes) {
    Fixture f{config_from("      - source: public.orders\n        exclude: [email]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    apply(f, f.plan());
    f.source.tables[0].columns.push_back(col(6, "note", "text"));
    ReplicaPlan plan = f.plan();
    const TablePlan& t = plan.tables.at(0);
    EXPECT_EQ(t.ddl, std::vector<std::string>{
                         "ALTER TABLE \"public\".\"orders\" ADD COLUMN \"note\" text"});
    EXPECT_EQ(t.work, state::Work::backfill);
    EXPECT_EQ(t.next_state.pending, state::Work::backfill);
    EXPECT_EQ(t.next_state.phase, state::Phase::snapshot);
}

TEST(PlannerEvolve, AddedColumnIsNotCopiedWhenTheConfigListsColumns) {
    Fixture f{config_from("      - source: public.orders\n        columns: [id, amount]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    apply(f, f.plan());
    f.source.tables[0].columns.push_back(col(6, "secret", "text"));
    EXPECT_EQ(all_ddl(f.plan()), "");
}

TEST(PlannerEvolve, AddColumnPolicyIgnoreAndStop) {
    for (auto [policy, stops] : {std::pair{"ignore", false}, std::pair{"stop", true}}) {
        Fixture f{config_from("      - source: public.orders\n",
                              std::string("schema_changes: {add_column: ") + policy + "}\n"),
                  Catalog{{orders()}, {}},
                  {},
                  {}};
        apply(f, f.plan());
        f.source.tables[0].columns.push_back(col(6, "note", "text"));
        ReplicaPlan plan = f.plan();
        EXPECT_EQ(all_ddl(plan), "") << policy;
        EXPECT_EQ(plan.tables.at(0).stop_reason.has_value(), stops) << policy;
        if (stops) {
            EXPECT_EQ(*plan.tables[0].stop_reason,
                      "column 'note' was added to source table public.orders and "
                      "schema_changes.add_column is 'stop'; set it to apply or ignore");
            EXPECT_EQ(plan.tables[0].next_state.phase, state::Phase::stopped);
        }
    }
}

TEST(PlannerEvolve, DroppedColumnIsKeptNullableOrDroppedOrStopsByPolicy) {
    auto run = [](const char* policy) {
        Fixture f{config_from("      - source: public.orders\n",
                              std::string("schema_changes: {drop_column: ") + policy + "}\n"),
                  Catalog{{orders()}, {}},
                  {},
                  {}};
        apply(f, f.plan());
        auto& cols = f.source.tables[0].columns;
        cols.erase(cols.begin() + 4);  // updated_at, NOT NULL on the replica
        return f.plan();
    };
    EXPECT_EQ(all_ddl(run("keep")),
              "ALTER TABLE \"public\".\"orders\" ALTER COLUMN \"updated_at\" DROP NOT NULL;\n");
    EXPECT_EQ(all_ddl(run("drop")),
              "ALTER TABLE \"public\".\"orders\" DROP COLUMN \"updated_at\";\n");
    ReplicaPlan stopped = run("stop");
    EXPECT_EQ(all_ddl(stopped), "");
    EXPECT_EQ(*stopped.tables.at(0).stop_reason,
              "column 'updated_at' was dropped from source table public.orders and "
              "schema_changes.drop_column is 'stop'; set it to keep or drop");
}

TEST(PlannerEvolve, TypeChangeCastsInPlaceOrRebuildsAndResyncs) {
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{orders()}, {}}, {}, {}};
    apply(f, f.plan());
    f.source.tables[0].columns[2].type = "numeric(14,4)";
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(plan.tables.at(0).ddl,
              std::vector<std::string>{
                  "DO $syncset$ BEGIN ALTER TABLE \"public\".\"orders\" ALTER COLUMN \"amount\" "
                  "TYPE numeric(14,4) USING \"amount\"::numeric(14,4); EXCEPTION WHEN "
                  "cannot_coerce OR datatype_mismatch OR data_exception THEN ALTER TABLE "
                  "\"public\".\"orders\" DROP COLUMN \"amount\"; ALTER TABLE "
                  "\"public\".\"orders\" ADD COLUMN \"amount\" numeric(14,4); END $syncset$"});
    EXPECT_EQ(plan.tables[0].work, state::Work::resync);
}

TEST(PlannerEvolve, RenamedColumnIsRenamedOnTheReplica) {
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{orders()}, {}}, {}, {}};
    apply(f, f.plan());
    f.source.tables[0].columns[2].name = "total";
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(all_ddl(plan),
              "ALTER TABLE \"public\".\"orders\" RENAME COLUMN \"amount\" TO \"total\";\n");
    EXPECT_EQ(plan.tables.at(0).work, state::Work::none);
}

TEST(PlannerEvolve, RenamePinnedByConfigKeepsTheReplicaName) {
    Fixture f{config_from("      - source: public.orders\n        rename: {amount: total}\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    apply(f, f.plan());
    f.source.tables[0].columns[2].name = "amount_eur";
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(all_ddl(plan), "");
    EXPECT_EQ(plan.tables.at(0).columns[2].target_name, "total");
}

TEST(PlannerEvolve, ExcludedColumnRenamedOnTheSourceStaysExcluded) {
    Fixture f{config_from("      - source: public.orders\n        exclude: [email]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    apply(f, f.plan());
    f.source.tables[0].columns[3].name = "email_address";
    ReplicaPlan plan = f.plan();
    EXPECT_TRUE(plan.problems.empty());
    EXPECT_EQ(all_ddl(plan), "");
    for (const auto& c : plan.tables.at(0).columns) {
        EXPECT_NE(c.attnum, 4) << "the renamed excluded column leaked as " << c.target_name;
    }
    // The state learns the new name and keeps the name the config excludes it by.
    EXPECT_EQ(plan.tables[0].next_state.columns[3],
              (state::ColumnState{4, "email_address", "", "text", "email"}));
}

TEST(PlannerEvolve, ExcludedColumnStaysExcludedOnEveryRunAfterARename) {
    Fixture f{config_from("      - source: public.orders\n        exclude: [email]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    apply(f, f.plan());
    f.source.tables[0].columns[3].name = "email_address";
    ReplicaPlan first = f.plan();
    f.replica.tables.clear();
    f.stored.clear();
    apply(f, first);
    f.source.tables[0].columns[3].name = "contact";  // and renamed once more
    for (int run = 0; run < 2; ++run) {
        ReplicaPlan plan = f.plan();
        EXPECT_EQ(all_ddl(plan), "") << "run " << run;
        for (const auto& c : plan.tables.at(0).columns) {
            EXPECT_NE(c.attnum, 4)
                << "run " << run << ": excluded column leaked as " << c.target_name;
        }
        f.replica.tables.clear();
        f.stored.clear();
        apply(f, plan);
    }
}

TEST(PlannerEvolve, RenameAndTypeChangeInOneStep) {
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{orders()}, {}}, {}, {}};
    apply(f, f.plan());
    f.source.tables[0].columns[1].name = "client_id";
    f.source.tables[0].columns[1].type = "text";
    ReplicaPlan plan = f.plan();
    const auto& ddl = plan.tables.at(0).ddl;
    ASSERT_EQ(ddl.size(), 2u);
    EXPECT_EQ(ddl[0],
              "ALTER TABLE \"public\".\"orders\" RENAME COLUMN \"customer_id\" TO \"client_id\"");
    EXPECT_NE(ddl[1].find("ALTER COLUMN \"client_id\" TYPE text USING \"client_id\"::text"),
              std::string::npos);
}

TEST(PlannerEvolve, AddAndDropInOneStep) {
    Fixture f{
        config_from("      - source: public.orders\n", "schema_changes: {drop_column: drop}\n"),
        Catalog{{orders()}, {}},
        {},
        {}};
    apply(f, f.plan());
    auto& cols = f.source.tables[0].columns;
    cols.erase(cols.begin() + 3);
    cols.push_back(col(6, "note", "text"));
    EXPECT_EQ(all_ddl(f.plan()),
              "ALTER TABLE \"public\".\"orders\" ADD COLUMN \"note\" text;\n"
              "ALTER TABLE \"public\".\"orders\" DROP COLUMN \"email\";\n");
}

TEST(PlannerEvolve, PrimaryKeyChangeRebuildsTheKeyAndResyncs) {
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{orders()}, {}}, {}, {}};
    apply(f, f.plan());
    f.replica.tables[0].indexes = {Index{"orders_pkey", {"id"}, true, true, "btree", false}};
    f.source.tables[0].primary_key = {"id", "customer_id"};
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(all_ddl(plan),
              "ALTER TABLE \"public\".\"orders\" DROP CONSTRAINT \"orders_pkey\";\n"
              "ALTER TABLE \"public\".\"orders\" ADD PRIMARY KEY (\"id\", \"customer_id\");\n");
    EXPECT_EQ(plan.tables.at(0).work, state::Work::resync);
}

TEST(PlannerTables, SourceTableDroppedOrRenamedStopsOnlyThatTable) {
    Table other = orders();
    other.oid = 2000;
    other.name = "items";
    Fixture f{config_from("      - source: public.orders\n      - source: public.items\n"),
              Catalog{{orders(), other}, {}},
              {},
              {}};
    apply(f, f.plan());
    f.source.tables[0].name = "orders_old";
    ReplicaPlan renamed = f.plan();
    ASSERT_EQ(renamed.tables.size(), 2u);
    EXPECT_TRUE(renamed.problems.empty());
    EXPECT_EQ(*renamed.tables[0].stop_reason,
              "source table public.orders was renamed to public.orders_old; the replica table and "
              "its data are kept. Update 'source' in the config to follow it");
    EXPECT_FALSE(renamed.tables[1].stop_reason);
    EXPECT_EQ(renamed.tables[0].next_state.phase, state::Phase::stopped);
    EXPECT_EQ(renamed.tables[0].next_state.stop_reason, *renamed.tables[0].stop_reason);
    EXPECT_TRUE(renamed.tables[0].state_changed);
    f.source.tables.erase(f.source.tables.begin());
    EXPECT_EQ(*f.plan().tables[0].stop_reason,
              "source table public.orders no longer exists; the replica table and its data are "
              "kept. Restore the table or remove it from the config");
    EXPECT_EQ(all_ddl(f.plan()), "");
}

// Regression: targets were keyed on `schema + "." + name`, so "a.b".c and a."b.c" (two
// tables) collided and the second entry was reported as writing the first one's target.
TEST(PlannerTables, TargetsWhoseJoinedNamesAreEqualAreTwoTables) {
    Table dotted_schema = orders();
    dotted_schema.schema = "a.b";
    dotted_schema.name = "c";
    Table dotted_name = orders();
    dotted_name.oid = 1001;
    dotted_name.schema = "a";
    dotted_name.name = "b.c";
    Fixture f{config_from("      - source: '\"a.b\".c'\n      - source: 'a.\"b.c\"'\n"),
              Catalog{{dotted_schema, dotted_name}, {}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    for (const auto& p : plan.problems) {
        ADD_FAILURE() << config::format_problem("t.yaml", p);
    }
    ASSERT_EQ(plan.tables.size(), 2u);
    EXPECT_EQ(plan.tables[0].target_schema, "a.b");
    EXPECT_EQ(plan.tables[0].target_name, "c");
    EXPECT_EQ(plan.tables[1].target_schema, "a");
    EXPECT_EQ(plan.tables[1].target_name, "b.c");
}

TEST(PlannerProblems, MissingTableSuggestsTheClosest) {
    Fixture f{config_from("      - source: public.ordres\n"), Catalog{{orders()}, {}}, {}, {}};
    ReplicaPlan plan = f.plan();
    ASSERT_EQ(plan.problems.size(), 1u);
    EXPECT_EQ(config::format_problem("t.yaml", plan.problems[0]),
              "t.yaml:6:9: replicas[0].tables[0].source: table public.ordres does not exist on "
              "the source (did you mean public.orders?)");
}

TEST(PlannerProblems, MisspeltExcludedColumnIsAnErrorNotALeak) {
    Fixture f{config_from("      - source: public.orders\n        exclude: [emial]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    ASSERT_EQ(plan.problems.size(), 1u);
    EXPECT_EQ(config::format_problem("t.yaml", plan.problems[0]),
              "t.yaml:6:9: replicas[0].tables[0].exclude: column 'emial' does not exist in source "
              "table public.orders");
    EXPECT_TRUE(plan.tables.empty());
}

TEST(PlannerProblems, TableWithoutKeyNeedsKeyOrMirror) {
    Table t = orders();
    t.primary_key.clear();
    t.indexes.clear();
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{t}, {}}, {}, {}};
    EXPECT_EQ(config::format_problem("t.yaml", f.plan().problems.at(0)),
              "t.yaml:6:9: replicas[0].tables[0]: source table public.orders has no primary key "
              "or unique NOT NULL index; set 'key: [columns]' to columns that identify a row, or "
              "use 'mode: mirror' (full refresh)");
    Fixture mirror{config_from("      - source: public.orders\n        mode: mirror\n"),
                   Catalog{{t}, {}},
                   {},
                   {}};
    EXPECT_TRUE(mirror.plan().problems.empty());
    Fixture keyed{config_from("      - source: public.orders\n        key: [id]\n"),
                  Catalog{{t}, {}},
                  {},
                  {}};
    EXPECT_EQ(keyed.plan().tables.at(0).key, std::vector<std::string>{"id"});
}

TEST(PlannerProblems, UniqueNotNullIndexServesAsKey) {
    Table t = orders();
    t.primary_key.clear();
    t.indexes = {Index{"orders_updated_idx", {"updated_at"}, true, false, "btree", false}};
    Fixture f{config_from("      - source: public.orders\n"), Catalog{{t}, {}}, {}, {}};
    EXPECT_EQ(f.plan().tables.at(0).key, std::vector<std::string>{"updated_at"});
}

TEST(PlannerPatterns, GlobMatchesTablesSkipsPartitionsAndExplicitEntriesWin) {
    Table a = orders();
    Table b = orders();
    b.oid = 1001;
    b.name = "order_lines";
    Table part = orders();
    part.oid = 1002;
    part.name = "orders_2026";
    part.is_partition = true;
    Fixture f{config_from("      - source: \"public.order*\"\n        target: \"copy.*\"\n"
                          "      - source: public.orders\n        target: special.orders\n"),
              Catalog{{a, b, part}, {}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    ASSERT_EQ(plan.tables.size(), 2u);
    EXPECT_EQ(plan.tables[0].target_schema + "." + plan.tables[0].target_name, "copy.order_lines");
    EXPECT_EQ(plan.tables[1].target_schema + "." + plan.tables[1].target_name, "special.orders");
}

TEST(PlannerPatterns, TwoPatternsWritingOneTargetAreAProblem) {
    Table a = orders();
    Table b = orders();
    b.oid = 1001;
    b.schema = "archive";
    Fixture f{config_from("      - source: \"public.*\"\n        target: \"copy.*\"\n"
                          "      - source: \"archive.*\"\n        target: \"copy.*\"\n"),
              Catalog{{a, b}, {}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    ASSERT_EQ(plan.problems.size(), 1u);
    EXPECT_EQ(config::format_problem("t.yaml", plan.problems[0]),
              "t.yaml:8:9: replicas[0].tables[1].target: target table copy.orders is written by "
              "two entries (source archive.orders here); give one of them another target");
}

TEST(PlannerPatterns, NewTableMatchingAPatternFollowsTheNewTablesPolicy) {
    for (auto [policy, tables, stopped] :
         {std::tuple{"apply", 2u, false}, std::tuple{"ignore", 1u, false},
          std::tuple{"stop", 2u, true}}) {
        Fixture f{config_from("      - source: \"public.*\"\n",
                              std::string("schema_changes: {new_tables: ") + policy + "}\n"),
                  Catalog{{orders()}, {}},
                  {},
                  {}};
        apply(f, f.plan());
        Table fresh = orders();
        fresh.oid = 3000;
        fresh.name = "refunds";
        f.source.tables.push_back(fresh);
        ReplicaPlan plan = f.plan();
        ASSERT_EQ(plan.tables.size(), tables) << policy;
        EXPECT_EQ(plan.tables.back().stop_reason.has_value(), stopped) << policy;
    }
}

TEST(PlannerIndexes, ReplicatedIndexesAreBuiltAfterTheSnapshotAsPlainIndexes) {
    Table t = orders();
    t.indexes.push_back(Index{"orders_email_key", {"email"}, true, false, "btree", false});
    t.indexes.push_back(
        Index{"orders_cust_idx", {"customer_id", "updated_at"}, false, false, "btree", false});
    t.indexes.push_back(Index{"orders_lower_idx", {}, false, false, "btree", true});
    Fixture f{config_from("      - source: public.orders\n        exclude: [email]\n"),
              Catalog{{t}, {}},
              {},
              {}};
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(plan.tables.at(0).index_ddl,
              std::vector<std::string>{"CREATE INDEX IF NOT EXISTS \"orders_cust_idx\" ON "
                                       "\"public\".\"orders\" USING \"btree\" (\"customer_id\", "
                                       "\"updated_at\")"});
    EXPECT_EQ(plan.tables[0].next_state.indexes, std::vector<std::string>{"orders_cust_idx"});
    // Dropped on the source: dropped on the replica.
    apply(f, plan);
    f.source.tables[0].indexes.pop_back();
    f.source.tables[0].indexes.pop_back();
    EXPECT_EQ(all_ddl(f.plan()), "DROP INDEX IF EXISTS \"public\".\"orders_cust_idx\";\n");
}

TEST(PlannerIndexes, IndexPolicyIgnoreCreatesNone) {
    Table t = orders();
    t.indexes.push_back(Index{"orders_cust_idx", {"customer_id"}, false, false, "btree", false});
    Fixture f{config_from("      - source: public.orders\n", "schema_changes: {indexes: ignore}\n"),
              Catalog{{t}, {}},
              {},
              {}};
    EXPECT_TRUE(f.plan().tables.at(0).index_ddl.empty());
}

TEST(PlannerCreate, ExistingTableWithoutStateIsAdoptedAndResynced) {
    Fixture f{config_from("      - source: public.orders\n        columns: [id, amount]\n"),
              Catalog{{orders()}, {}},
              {},
              {}};
    Table existing;
    existing.schema = "public";
    existing.name = "orders";
    existing.columns = {col(1, "id", "bigint", true)};
    existing.primary_key = {"id"};
    f.replica.tables.push_back(existing);
    ReplicaPlan plan = f.plan();
    EXPECT_EQ(all_ddl(plan),
              "ALTER TABLE \"public\".\"orders\" ADD COLUMN \"amount\" numeric(12,2);\n");
    EXPECT_EQ(plan.tables.at(0).work, state::Work::resync);
}

// Keyless tables (mode: mirror without a key) are refreshed by replacing their whole content in
// one transaction at every poll. A re-copy (snapshot path) has no key to upsert on and appends:
// into a replica table that already holds the rows, it committed every row twice (200 rows
// for 100 on the source, measured with syncset run --once) until the next refresh, and for good
// if the daemon stopped in between. So they are never given one.
Table keyless_orders() {
    Table t = orders();
    t.primary_key.clear();
    t.indexes.clear();
    return t;
}

config::Config mirror_config() {
    return config_from("      - source: public.orders\n        mode: mirror\n");
}

TEST(PlannerKeyless, ExistingKeylessTableIsAdoptedWithoutARecopyThatWouldDuplicateItsRows) {
    Fixture f{mirror_config(), Catalog{{keyless_orders()}, {}}, {}, {}};
    f.replica.tables.push_back(keyless_orders());
    ReplicaPlan plan = f.plan();
    ASSERT_TRUE(plan.problems.empty());
    const TablePlan& t = plan.tables.at(0);
    EXPECT_TRUE(t.key.empty());
    EXPECT_EQ(all_ddl(plan), "");
    EXPECT_EQ(t.work, state::Work::none);
    EXPECT_EQ(t.next_state.pending, state::Work::none);
    EXPECT_EQ(t.next_state.phase, state::Phase::incremental);
    EXPECT_EQ(t.changes, std::vector<std::string>{"adopt existing table public.orders (no key: "
                                                  "the next full refresh replaces its rows)"});
}

TEST(PlannerKeyless, NewKeylessTableStillGetsItsFirstSnapshotIntoTheEmptyTable) {
    Fixture f{mirror_config(), Catalog{{keyless_orders()}, {}}, {}, {}};
    const TablePlan t = f.plan().tables.at(0);
    EXPECT_EQ(t.work, state::Work::snapshot);
    EXPECT_EQ(t.next_state.pending, state::Work::snapshot);
}

TEST(PlannerKeyless, ColumnAddedOrRetypedOnAKeylessTableIsFilledByTheRefreshNotARecopy) {
    Fixture f{mirror_config(), Catalog{{keyless_orders()}, {}}, {}, {}};
    apply(f, f.plan());
    f.source.tables[0].columns.push_back(col(6, "note", "text"));
    f.source.tables[0].columns[2].type = "numeric(14,4)";
    ReplicaPlan plan = f.plan();
    const TablePlan& t = plan.tables.at(0);
    ASSERT_EQ(t.ddl.size(), 2u);
    EXPECT_EQ(t.ddl[1], "ALTER TABLE \"public\".\"orders\" ADD COLUMN \"note\" text");
    EXPECT_EQ(t.changes,
              (std::vector<std::string>{
                  "change type of amount from numeric(12,2) to numeric(14,4) (no key: the next "
                  "full refresh fills it)",
                  "add column note text (no key: the next full refresh fills it)"}));
    EXPECT_EQ(t.work, state::Work::none);
    EXPECT_EQ(t.next_state.pending, state::Work::none);
    EXPECT_EQ(t.next_state.phase, state::Phase::incremental);
}

TEST(PlannerKeyless, RecopyAnOlderSyncsetLeftPendingOnAKeylessTableIsDropped) {
    Fixture f{mirror_config(), Catalog{{keyless_orders()}, {}}, {}, {}};
    apply(f, f.plan());
    f.stored[0].pending = state::Work::resync;
    f.stored[0].phase = state::Phase::snapshot;
    const TablePlan t = f.plan().tables.at(0);
    EXPECT_EQ(t.next_state.pending, state::Work::none);
    EXPECT_EQ(t.next_state.phase, state::Phase::incremental);
    EXPECT_TRUE(t.state_changed);
}

}  // namespace
}  // namespace syncset::plan

namespace syncset::plan {
namespace {

TEST(PlannerRender, PlanTextListsDdlAndCopyWorkPerTable) {
    Table t = orders();
    t.indexes.push_back(Index{"orders_cust_idx", {"customer_id"}, false, false, "btree", false});
    Fixture f{config_from("      - source: public.orders\n        columns: [id, customer_id]\n"),
              Catalog{{t}, {}},
              {},
              {}};
    EXPECT_EQ(render_plan(f.plan(), "host=db2 dbname=x"),
              "replica r (host=db2 dbname=x)\n"
              "  schemas and types:\n"
              "    CREATE SCHEMA IF NOT EXISTS \"public\";\n"
              "  public.orders -> public.orders: 2 changes; initial snapshot\n"
              "    CREATE TABLE \"public\".\"orders\" (\"id\" bigint NOT NULL, \"customer_id\" "
              "bigint, PRIMARY KEY (\"id\"));\n"
              "    CREATE INDEX IF NOT EXISTS \"orders_cust_idx\" ON \"public\".\"orders\" USING "
              "\"btree\" (\"customer_id\");  -- after the copy\n");
}

}  // namespace
}  // namespace syncset::plan
