// Promise 5: bad configuration gets a clear error naming file, line, column and key path,
// found before any database is touched. Each test asserts the exact message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "syncset/config/validate.hpp"
#include "syncset/error.hpp"

namespace syncset::config {
namespace {

std::map<std::string, std::string, std::less<>> g_env = {
    {"BILLING_DSN", "host=db2 dbname=billing user=sync password=s3cret"},
    {"EMPTY", ""},
};

std::optional<std::string> fake_env(std::string_view name) {
    auto it = g_env.find(name);
    if (it == g_env.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::vector<std::string> problems_of(std::string_view yaml) {
    LoadResult result = load_config_text(yaml, "sync.yaml", fake_env);
    std::vector<std::string> lines;
    for (const auto& p : result.problems) {
        lines.push_back(format_problem("sync.yaml", p));
    }
    EXPECT_EQ(result.config.has_value(), lines.empty());
    return lines;
}

Config config_of(std::string_view yaml) {
    LoadResult result = load_config_text(yaml, "sync.yaml", fake_env);
    for (const auto& p : result.problems) {
        ADD_FAILURE() << format_problem("sync.yaml", p);
    }
    if (!result.config) {
        return Config{};
    }
    return *result.config;
}

// A valid config that tests extend by appending table keys at 6 spaces of indent.
constexpr std::string_view k_base = R"(source:
  dsn: "host=db1 dbname=app"
replicas:
  - name: billing
    dsn: "host=db2 dbname=billing"
    tables:
      - source: public.orders
)";

std::string with_table_keys(std::string_view keys) {
    return std::string(k_base) + std::string(keys);
}

TEST(ConfigValid, FullExampleFromTheIssueLoadsWithEveryValue) {
    Config c = config_of(R"(source:
  dsn: "host=db1 dbname=app user=sync"
replicas:
  - name: billing
    dsn: ${BILLING_DSN}
    tables:
      - source: public.orders
        target: billing.orders
        columns: [id, customer_id, amount, status, updated_at]
        rename: { amount: total }
        where: "status <> 'draft'"
        cursor: updated_at
        mode: upsert
        key: [id]
        soft_delete: deleted_at
defaults:
  batch_rows: 5000
  poll_interval: 500ms
parallel: 8
schema_changes: { add_column: apply, drop_column: drop, type_change: stop, rename_column: apply, new_tables: ignore }
drift: { interval: 10m, repair: false }
state: { schema: _meta }
log: { level: debug, format: json }
)");
    ASSERT_EQ(c.replicas.size(), 1u);
    const ReplicaSpec& r = c.replicas[0];
    EXPECT_EQ(r.name, "billing");
    EXPECT_EQ(r.dsn, "host=db2 dbname=billing user=sync password=s3cret");
    ASSERT_EQ(r.tables.size(), 1u);
    const TableSpec& t = r.tables[0];
    EXPECT_EQ(t.source, (TableName{"public", "orders"}));
    EXPECT_EQ(t.target, (TableName{"billing", "orders"}));
    EXPECT_EQ(t.columns,
              (std::vector<std::string>{"id", "customer_id", "amount", "status", "updated_at"}));
    EXPECT_EQ(t.rename, (std::vector<ColumnRename>{{"amount", "total"}}));
    EXPECT_EQ(t.where, "status <> 'draft'");
    EXPECT_EQ(t.cursor, (Cursor{CursorKind::column, "updated_at"}));
    EXPECT_EQ(t.mode, Mode::upsert);
    EXPECT_EQ(t.key, (std::vector<std::string>{"id"}));
    EXPECT_EQ(t.soft_delete, "deleted_at");
    EXPECT_EQ(t.batch_rows, 5000);  // inherited from defaults
    EXPECT_EQ(t.poll_interval, Milliseconds{500});
    EXPECT_EQ(t.position.line, 7);
    EXPECT_EQ(c.parallel, 8);
    EXPECT_EQ(c.schema_changes.drop_column, ChangeAction::drop);
    EXPECT_EQ(c.schema_changes.type_change, ChangeAction::stop);
    EXPECT_EQ(c.schema_changes.new_tables, ChangeAction::ignore);
    EXPECT_EQ(c.drift.interval, Milliseconds{600000});
    EXPECT_FALSE(c.drift.repair);
    EXPECT_EQ(c.state_schema, "_meta");
    EXPECT_EQ(c.log.level, LogLevel::debug);
    EXPECT_EQ(c.log.format, LogFormat::json);
}

TEST(ConfigValid, MinimalConfigGetsDocumentedDefaults) {
    Config c = config_of(k_base);
    const TableSpec& t = c.replicas.at(0).tables.at(0);
    EXPECT_EQ(t.cursor.kind, CursorKind::xmin);
    EXPECT_EQ(t.mode, Mode::upsert);
    EXPECT_FALSE(t.columns);
    EXPECT_FALSE(t.exclude);
    EXPECT_FALSE(t.target);
    EXPECT_EQ(t.batch_rows, 10000);
    EXPECT_EQ(t.poll_interval, Milliseconds{5000});
    EXPECT_EQ(t.xmin_full_scan_interval, Milliseconds{60000});
    EXPECT_EQ(c.parallel, 4);
    EXPECT_EQ(c.state_schema, "_syncset");
    EXPECT_EQ(c.drift.interval, Milliseconds{120000});
    EXPECT_TRUE(c.drift.repair);
    EXPECT_EQ(c.schema_changes.drop_column, ChangeAction::keep);
    EXPECT_EQ(c.log.format, LogFormat::text);
}

TEST(ConfigValid, TableColumnListReplacesExcludeFromDefaults) {
    Config c = config_of(std::string(R"(defaults:
  exclude: [email]
)") + with_table_keys("        columns: [id, email]\n"));
    const TableSpec& t = c.replicas.at(0).tables.at(0);
    EXPECT_EQ(t.columns, (std::vector<std::string>{"id", "email"}));
    EXPECT_FALSE(t.exclude);
}

// Each key of the key tables reaches its own field: one config sets every key a table may
// inherit in `defaults`, and every schema_changes and drift key, each to a non-default value.
TEST(ConfigValid, EveryKeyReachesItsOwnField) {
    Config c = config_of(std::string(R"(defaults:
  exclude: [email]
  rename: { name: full_name }
  where: "id > 0"
  cursor: none
  mode: mirror
  key: [id]
  soft_delete: gone
  batch_rows: 7
  snapshot_chunk_rows: 8
  poll_interval: 9s
  late_commit_window: 10m
  xmin_full_scan_interval: 11s
schema_changes: { add_column: stop, drop_column: drop, type_change: stop, rename_column: stop, new_tables: ignore, indexes: ignore }
drift: { interval: 0, repair: false, max_rows_per_second: 11 }
)") + std::string(k_base));
    const TableSpec& t = c.replicas.at(0).tables.at(0);
    EXPECT_EQ(t.exclude, (std::vector<std::string>{"email"}));
    EXPECT_EQ(t.rename, (std::vector<ColumnRename>{{"name", "full_name"}}));
    EXPECT_EQ(t.where, "id > 0");
    EXPECT_EQ(t.cursor, (Cursor{CursorKind::none, {}}));
    EXPECT_EQ(t.mode, Mode::mirror);
    EXPECT_EQ(t.key, (std::vector<std::string>{"id"}));
    EXPECT_EQ(t.soft_delete, "gone");
    EXPECT_EQ(t.batch_rows, 7);
    EXPECT_EQ(t.snapshot_chunk_rows, 8);
    EXPECT_EQ(t.poll_interval, Milliseconds{9000});
    EXPECT_EQ(t.late_commit_window, Milliseconds{600000});
    EXPECT_EQ(t.xmin_full_scan_interval, Milliseconds{11000});
    const SchemaChangePolicy& p = c.schema_changes;
    EXPECT_EQ(p.add_column, ChangeAction::stop);
    EXPECT_EQ(p.drop_column, ChangeAction::drop);
    EXPECT_EQ(p.type_change, ChangeAction::stop);
    EXPECT_EQ(p.rename_column, ChangeAction::stop);
    EXPECT_EQ(p.new_tables, ChangeAction::ignore);
    EXPECT_EQ(p.indexes, ChangeAction::ignore);
    EXPECT_EQ(c.drift.interval, Milliseconds{0});
    EXPECT_FALSE(c.drift.repair);
    EXPECT_EQ(c.drift.max_rows_per_second, 11);
}

TEST(ConfigValid, QuotedTableNamesMayHoldDotsSpacesAndQuotes) {
    Config c = config_of(with_table_keys(R"(        target: '"My Schema"."a.b ""c"""'
)"));
    EXPECT_EQ(c.replicas[0].tables[0].target, (TableName{"My Schema", "a.b \"c\""}));
}

TEST(ConfigValid, GlobSourceWithStarTarget) {
    Config c = config_of(R"(source: {dsn: x}
replicas:
  - name: a
    dsn: y
    tables:
      - source: "public.order_*"
        target: "archive.*"
)");
    EXPECT_TRUE(c.replicas[0].tables[0].source.has_glob());
}

TEST(ConfigYaml, SyntaxErrorNamesLineAndColumn) {
    EXPECT_EQ(problems_of("source:\n  dsn: [unclosed\nreplicas: []\n"),
              std::vector<std::string>{
                  "sync.yaml:3:9: (yaml): yaml syntax error: end of sequence flow not found"});
}

TEST(ConfigYaml, EmptyFileIsReported) {
    EXPECT_EQ(problems_of(""),
              std::vector<std::string>{"sync.yaml:1:1: (top level): the file is empty; it needs at "
                                       "least 'source' and 'replicas'"});
}

TEST(ConfigYaml, TopLevelMustBeAMapping) {
    EXPECT_EQ(problems_of("- a\n- b\n"),
              std::vector<std::string>{
                  "sync.yaml:1:1: (top level): expected a mapping of keys, got a list"});
}

TEST(ConfigKeys, UnknownKeySuggestsTheClosestKnownKey) {
    EXPECT_EQ(problems_of(with_table_keys("        colums: [id]\n")),
              std::vector<std::string>{"sync.yaml:8:9: replicas[0].tables[0].colums: unknown key "
                                       "(did you mean 'columns'?)"});
}

TEST(ConfigKeys, SwappedLettersStillGetASuggestion) {
    EXPECT_EQ(problems_of(with_table_keys("        mdoe: insert\n")),
              std::vector<std::string>{"sync.yaml:8:9: replicas[0].tables[0].mdoe: unknown key "
                                       "(did you mean 'mode'?)"});
}

TEST(ConfigKeys, UnknownKeyFarFromAnyListsTheKnownKeys) {
    EXPECT_EQ(problems_of(std::string(k_base) + "log: { colour: red }\n"),
              std::vector<std::string>{
                  "sync.yaml:8:8: log.colour: unknown key (expected level or format)"});
}

TEST(ConfigKeys, DefaultsTakesOnlyTheKeysATableCanInherit) {
    EXPECT_EQ(problems_of(std::string(k_base) + "defaults:\n  source: public.x\n"),
              std::vector<std::string>{
                  "sync.yaml:9:3: defaults.source: unknown key (expected columns, exclude, "
                  "rename, where, cursor, mode, key, soft_delete, batch_rows, "
                  "snapshot_chunk_rows, poll_interval, late_commit_window or "
                  "xmin_full_scan_interval)"});
}

TEST(ConfigKeys, EverySectionChecksItsKeys) {
    EXPECT_EQ(problems_of(R"(source: { dsn: x, dns: y }
replicas:
  - name: a
    dsn: y
    tables: [{ source: public.t }]
    tabels: []
state: { schemq: s }
drift: { max_rows: 3 }
sourse: 1
)"),
              (std::vector<std::string>{
                  "sync.yaml:1:19: source.dns: unknown key (did you mean 'dsn'?)",
                  "sync.yaml:6:5: replicas[0].tabels: unknown key (did you mean 'tables'?)",
                  "sync.yaml:7:10: state.schemq: unknown key (did you mean 'schema'?)",
                  "sync.yaml:8:10: drift.max_rows: unknown key (expected interval, repair or "
                  "max_rows_per_second)",
                  "sync.yaml:9:1: sourse: unknown key (did you mean 'source'?)"}));
}

TEST(ConfigKeys, DuplicateKeyNamesTheFirstLine) {
    EXPECT_EQ(
        problems_of(with_table_keys("        mode: upsert\n        mode: insert\n")),
        std::vector<std::string>{
            "sync.yaml:9:9: replicas[0].tables[0].mode: duplicate key (first set at line 8)"});
}

TEST(ConfigKeys, MissingRequiredKeysAreAllReported) {
    EXPECT_EQ(problems_of("parallel: 2\n"),
              (std::vector<std::string>{
                  "sync.yaml:1:1: source: missing required key 'source' (with 'dsn', the "
                  "database to copy from)",
                  "sync.yaml:1:1: replicas: missing required key 'replicas' (the databases to "
                  "copy into)"}));
}

TEST(ConfigKeys, MissingTableSource) {
    EXPECT_EQ(problems_of(R"(source: {dsn: x}
replicas:
  - name: a
    dsn: y
    tables:
      - target: public.t
)"),
              std::vector<std::string>{"sync.yaml:6:9: replicas[0].tables[0]: missing required "
                                       "key 'source' (the source table, e.g. public.orders)"});
}

TEST(ConfigTypes, WrongTypesAreNamed) {
    EXPECT_EQ(
        problems_of(std::string(k_base) +
                    "parallel: four\ndrift: {repair: yes}\nstate: {schema: [a]}\n"),
        (std::vector<std::string>{"sync.yaml:8:11: parallel: expected an integer, got 'four'",
                                  "sync.yaml:9:17: drift.repair: expected true or false, got 'yes'",
                                  "sync.yaml:10:17: state.schema: expected a string, got a list"}));
}

TEST(ConfigTypes, QuotedNumberIsNotAnInteger) {
    EXPECT_EQ(problems_of(with_table_keys("        batch_rows: \"100\"\n")),
              std::vector<std::string>{"sync.yaml:8:21: replicas[0].tables[0].batch_rows: "
                                       "expected an integer, got '100'"});
}

TEST(ConfigTypes, IntegerOutOfRange) {
    EXPECT_EQ(
        problems_of(std::string(k_base) + "parallel: 0\n"),
        std::vector<std::string>{"sync.yaml:8:11: parallel: must be between 1 and 256, got 0"});
}

TEST(ConfigDurations, BadDurationsAreRejectedWithTheAcceptedForms) {
    EXPECT_EQ(problems_of(std::string(k_base) +
                          "defaults: {poll_interval: 5 seconds}\ndrift: {interval: 10}\n"),
              (std::vector<std::string>{
                  "sync.yaml:8:27: defaults.poll_interval: invalid duration '5 seconds' (use a "
                  "whole number with ms, s, m or h: 500ms, 5s, 10m, 1h)",
                  "sync.yaml:9:19: drift.interval: invalid duration '10' (use a whole number "
                  "with ms, s, m or h: 500ms, 5s, 10m, 1h)"}));
}

TEST(ConfigDurations, ZeroPollIntervalIsRejected) {
    EXPECT_EQ(problems_of(with_table_keys("        poll_interval: 0s\n")),
              std::vector<std::string>{
                  "sync.yaml:8:24: replicas[0].tables[0].poll_interval: must be longer than 0"});
}

// 0 is the documented way back to a scan on every xmin poll, so it must be accepted; a table's
// own value replaces the one from defaults.
TEST(ConfigDurations, ZeroXminFullScanIntervalIsAcceptedAndATableOverridesDefaults) {
    Config c = config_of(std::string("defaults: {xmin_full_scan_interval: 0}\n") +
                         with_table_keys("        xmin_full_scan_interval: 2s\n"));
    EXPECT_EQ(c.defaults.xmin_full_scan_interval, Milliseconds{0});
    EXPECT_EQ(c.replicas.at(0).tables.at(0).xmin_full_scan_interval, Milliseconds{2000});
    EXPECT_EQ(problems_of(with_table_keys("        xmin_full_scan_interval: 60\n")),
              std::vector<std::string>{
                  "sync.yaml:8:34: replicas[0].tables[0].xmin_full_scan_interval: invalid "
                  "duration '60' (use a whole number with ms, s, m or h: 500ms, 5s, 10m, 1h)"});
}

TEST(ConfigDurations, ParseDurationUnits) {
    EXPECT_EQ(parse_duration("500ms"), Milliseconds{500});
    EXPECT_EQ(parse_duration("5s"), Milliseconds{5000});
    EXPECT_EQ(parse_duration("10m"), Milliseconds{600000});
    EXPECT_EQ(parse_duration("1h"), Milliseconds{3600000});
    EXPECT_EQ(parse_duration("0"), Milliseconds{0});
    EXPECT_FALSE(parse_duration("5"));
    EXPECT_FALSE(parse_duration("-5s"));
    EXPECT_FALSE(parse_duration("1.5s"));
    EXPECT_FALSE(parse_duration("5 s"));
    EXPECT_FALSE(parse_duration("s"));
    EXPECT_FALSE(parse_duration("99999999999h"));
}

TEST(ConfigReplicas, EmptyAndDuplicateAndInvalidReplicaNames) {
    EXPECT_EQ(problems_of(R"(source: {dsn: x}
replicas:
  - name: ""
    dsn: y
    tables: [{source: public.a}]
  - name: billing
    dsn: y
    tables: [{source: public.a}]
  - name: billing
    dsn: y
    tables: [{source: public.a}]
  - name: Billing
    dsn: y
    tables: [{source: public.a}]
)"),
              (std::vector<std::string>{
                  "sync.yaml:3:11: replicas[0].name: replica name is empty",
                  "sync.yaml:9:11: replicas[2].name: duplicate replica name 'billing' (first at "
                  "line 6)",
                  "sync.yaml:12:11: replicas[3].name: invalid replica name 'Billing' (use "
                  "lowercase letters, digits, '_' and '-', at most 63)"}));
}

TEST(ConfigReplicas, EmptyReplicaListAndEmptyTableList) {
    EXPECT_EQ(problems_of("source: {dsn: x}\nreplicas: []\n"),
              std::vector<std::string>{
                  "sync.yaml:2:11: replicas: the list is empty; add at least one replica"});
    EXPECT_EQ(problems_of("source: {dsn: x}\nreplicas:\n  - {name: a, dsn: y, tables: []}\n"),
              std::vector<std::string>{"sync.yaml:3:31: replicas[0].tables: the list is empty; a "
                                       "replica needs at least one table"});
}

TEST(ConfigColumns, ColumnsWithExcludeIsRejected) {
    EXPECT_EQ(problems_of(with_table_keys("        columns: [id]\n        exclude: [email]\n")),
              std::vector<std::string>{
                  "sync.yaml:9:9: replicas[0].tables[0]: 'columns' and 'exclude' cannot both be "
                  "set; list the columns to copy or the ones to leave out, not both"});
}

TEST(ConfigColumns, ColumnBothRenamedAndExcludedIsRejected) {
    EXPECT_EQ(
        problems_of(with_table_keys("        exclude: [email]\n        rename: {email: mail}\n")),
        std::vector<std::string>{"sync.yaml:9:18: replicas[0].tables[0].rename.email: column "
                                 "'email' is excluded and cannot also be renamed"});
}

TEST(ConfigColumns, RenamedColumnMustBeSelected) {
    EXPECT_EQ(
        problems_of(with_table_keys("        columns: [id]\n        rename: {email: mail}\n")),
        std::vector<std::string>{
            "sync.yaml:9:18: replicas[0].tables[0].rename.email: column 'email' is not among "
            "the selected columns and cannot also be renamed"});
}

TEST(ConfigColumns, TwoColumnsRenamedToTheSameName) {
    EXPECT_EQ(problems_of(with_table_keys("        rename: {a: x, b: x}\n")),
              std::vector<std::string>{"sync.yaml:8:27: replicas[0].tables[0].rename.b: two "
                                       "columns are renamed to 'x' (the other at line 8)"});
}

TEST(ConfigColumns, ColumnListedTwice) {
    EXPECT_EQ(problems_of(with_table_keys("        columns: [id, name, id]\n")),
              std::vector<std::string>{
                  "sync.yaml:8:29: replicas[0].tables[0].columns[2]: column 'id' is listed twice"});
}

TEST(ConfigColumns, CursorAndKeyColumnsMustBeCopied) {
    EXPECT_EQ(
        problems_of(with_table_keys(
            "        exclude: [updated_at, id]\n        cursor: updated_at\n        key: [id]\n")),
        (std::vector<std::string>{
            "sync.yaml:9:9: replicas[0].tables[0].cursor: cursor column 'updated_at' is "
            "excluded; the cursor must be copied too",
            "sync.yaml:10:9: replicas[0].tables[0].key: key column 'id' is excluded; key "
            "columns must be copied"}));
}

TEST(ConfigTables, BadTableNames) {
    EXPECT_EQ(problems_of(with_table_keys("        target: orders\n")),
              std::vector<std::string>{
                  "sync.yaml:8:17: replicas[0].tables[0].target: invalid table name 'orders' "
                  "(expected schema.table, e.g. public.orders; quote a part that holds a dot: "
                  "\"my.schema\".orders)"});
    for (std::string_view bad : {"a.b.c", ".orders", "public.", "\"unterminated.x", "a\"b.c"}) {
        EXPECT_FALSE(parse_table_name(bad)) << bad;
    }
}

TEST(ConfigTables, PatternSourceNeedsStarTarget) {
    EXPECT_EQ(problems_of(R"(source: {dsn: x}
replicas:
  - name: a
    dsn: y
    tables:
      - source: "public.*"
        target: archive.all
)"),
              std::vector<std::string>{
                  "sync.yaml:6:9: replicas[0].tables[0].target: source 'public.*' is a pattern, "
                  "so the target must be 'schema.*' (each table keeps its name)"});
}

TEST(ConfigTables, OneSourceMayFeedTwoTargetsButTwoEntriesMayNotWriteOneTarget) {
    EXPECT_TRUE(problems_of(with_table_keys("      - source: public.orders\n        target: x.y\n"))
                    .empty());
    EXPECT_EQ(problems_of(
                  with_table_keys("      - source: public.items\n        target: public.orders\n")),
              std::vector<std::string>{"sync.yaml:8:9: replicas[0].tables[1]: target table "
                                       "public.orders is written by two entries of replica "
                                       "'billing' (the other at line 7)"});
}

TEST(ConfigEnums, UnknownModeSuggestsTheClosest) {
    EXPECT_EQ(problems_of(with_table_keys("        mode: upsret\n")),
              std::vector<std::string>{"sync.yaml:8:15: replicas[0].tables[0].mode: unknown value "
                                       "'upsret' (expected upsert, insert or mirror; did you mean "
                                       "'upsert'?)"});
}

TEST(ConfigEnums, UnknownPolicyValuesListTheAllowedOnes) {
    EXPECT_EQ(
        problems_of(std::string(k_base) +
                    "schema_changes: {drop_column: apply, indexes: stop}\nlog: {format: xml}\n"),
        (std::vector<std::string>{
            "sync.yaml:8:31: schema_changes.drop_column: unknown value 'apply' (expected "
            "keep, drop or stop)",
            "sync.yaml:8:47: schema_changes.indexes: unknown value 'stop' (expected apply "
            "or ignore)",
            "sync.yaml:9:15: log.format: unknown value 'xml' (expected text or json)"}));
}

TEST(ConfigEnums, CursorKeywordsAndColumns) {
    EXPECT_EQ(
        config_of(with_table_keys("        cursor: none\n")).replicas[0].tables[0].cursor.kind,
        CursorKind::none);
    EXPECT_EQ(
        config_of(with_table_keys("        cursor: xmin\n")).replicas[0].tables[0].cursor.kind,
        CursorKind::xmin);
    EXPECT_EQ(problems_of(with_table_keys("        cursor: \"\"\n")),
              std::vector<std::string>{
                  "sync.yaml:8:17: replicas[0].tables[0].cursor: cursor column name is empty"});
}

TEST(ConfigEnv, UnsetVariableIsNamedAndTheDsnIsNotPrinted) {
    auto problems = problems_of(R"(source: {dsn: "host=db1 password=hunter2 ${NOPE}"}
replicas:
  - {name: a, dsn: "${BILLING_DSN}", tables: [{source: public.a}]}
)");
    EXPECT_EQ(problems, std::vector<std::string>{
                            "sync.yaml:1:15: source.dsn: environment variable NOPE is not set"});
    EXPECT_EQ(problems.at(0).find("hunter2"), std::string::npos);
}

TEST(ConfigEnv, EmptyExpansionAndMalformedReference) {
    EXPECT_EQ(problems_of(R"(source: {dsn: "${EMPTY}"}
replicas:
  - {name: a, dsn: "${BAD NAME}", tables: [{source: public.a}]}
)"),
              (std::vector<std::string>{
                  "sync.yaml:1:15: source.dsn: is empty after expanding environment variables",
                  "sync.yaml:3:20: replicas[0].dsn: '${...}' must hold an environment variable "
                  "name (letters, digits, '_')"}));
}

TEST(ConfigEnv, ExpandEnvReplacesEveryReference) {
    std::string error;
    EXPECT_EQ(expand_env("a=${EMPTY}b ${BILLING_DSN}$x", fake_env, error),
              "a=b host=db2 dbname=billing user=sync password=s3cret$x");
    EXPECT_FALSE(expand_env("${BILLING_DSN", fake_env, error));
    EXPECT_EQ(error, "'${' without a closing '}'");
}

TEST(ConfigProblems, EveryProblemIsReportedAtOnceInFileOrder) {
    auto problems = problems_of(R"(source: {dsn: x}
parallel: -1
replicas:
  - name: a
    dsn: y
    tables:
      - source: public.a
        mode: fast
        colums: [x]
log: {level: loud}
)");
    ASSERT_EQ(problems.size(), 4u);
    EXPECT_EQ(problems[0].rfind("sync.yaml:2:", 0), 0u);
    EXPECT_EQ(problems[1].rfind("sync.yaml:8:", 0), 0u);
    EXPECT_EQ(problems[2].rfind("sync.yaml:9:", 0), 0u);
    EXPECT_EQ(problems[3].rfind("sync.yaml:10:", 0), 0u);
}

TEST(ConfigExample, ShippedExampleIsValidAndUsesEveryTopLevelKey) {
    setenv("SOURCE_HOST", "db1", 1);
    setenv("BILLING_DSN", "host=db2 dbname=billing", 1);
    Config c = load_config_file(std::string(SYNCSET_SOURCE_DIR) + "/config/syncset.example.yaml");
    EXPECT_EQ(c.source_dsn, "host=db1 dbname=app user=sync");
    ASSERT_EQ(c.replicas.size(), 2u);
    EXPECT_EQ(c.replicas[0].tables.size(), 3u);
    EXPECT_EQ(c.replicas[0].tables[0].batch_rows, 20000);
    EXPECT_EQ(c.replicas[0].tables[1].exclude, (std::vector<std::string>{"email", "phone"}));
    ASSERT_TRUE(c.metrics.listen.has_value());
    EXPECT_EQ(c.metrics.listen->display(), "127.0.0.1:9187");
    EXPECT_EQ(c.connections.source, 8);
    EXPECT_EQ(c.connections.replica, 9);
}

TEST(ConfigFile, ProblemsCarryTheFileNameAndAnUnreadableFileIsAnIoError) {
    try {
        load_config_file("/nonexistent/syncset.yaml");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::io);
        EXPECT_STREQ(e.what(), "config /nonexistent/syncset.yaml: cannot open the file");
    }
}

TEST(ConfigSuggest, EditDistance) {
    EXPECT_EQ(edit_distance("columns", "colums"), 1u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("mdoe", "mode"), 1u);  // a swap is one typo
}

TEST(ConfigMetrics, ListenTakesHostPortBracketedIpv6OrAPortAlone) {
    Config c = config_of(std::string(k_base) + "metrics: { listen: \"127.0.0.1:9187\" }\n");
    ASSERT_TRUE(c.metrics.listen.has_value());
    EXPECT_EQ(c.metrics.listen->host, "127.0.0.1");
    EXPECT_EQ(c.metrics.listen->port, 9187);
    EXPECT_EQ(c.metrics.listen->display(), "127.0.0.1:9187");

    c = config_of(std::string(k_base) + "metrics:\n  listen: \"[::1]:9090\"\n");
    ASSERT_TRUE(c.metrics.listen.has_value());
    EXPECT_EQ(c.metrics.listen->host, "::1");
    EXPECT_EQ(c.metrics.listen->display(), "[::1]:9090");

    c = config_of(std::string(k_base) + "metrics: { listen: \":9187\" }\n");
    ASSERT_TRUE(c.metrics.listen.has_value());
    EXPECT_EQ(c.metrics.listen->host, "0.0.0.0");

    c = config_of(std::string(k_base) + "metrics: { listen: localhost:9187 }\n");
    ASSERT_TRUE(c.metrics.listen.has_value());
    EXPECT_EQ(c.metrics.listen->host, "localhost");
}

TEST(ConfigMetrics, NoListenKeyMeansNoListener) {
    EXPECT_FALSE(config_of(k_base).metrics.listen.has_value());
}

TEST(ConfigMetrics, MalformedListenAddressIsNamedWithItsLocation) {
    EXPECT_EQ(problems_of(std::string(k_base) + "metrics: { listen: \"9187\" }\n"),
              std::vector<std::string>{
                  "sync.yaml:8:20: metrics.listen: expected HOST:PORT, e.g. 127.0.0.1:9187, "
                  "[::1]:9187 or :9187; got '9187'"});
    EXPECT_EQ(problems_of(std::string(k_base) + "metrics: { listen: \"127.0.0.1:99999\" }\n"),
              std::vector<std::string>{
                  "sync.yaml:8:20: metrics.listen: port '99999' is not a number from 1 to 65535, "
                  "e.g. 127.0.0.1:9187, [::1]:9187 or :9187"});
    EXPECT_EQ(problems_of(std::string(k_base) + "metrics: { listen: \"::1:9187\" }\n"),
              std::vector<std::string>{
                  "sync.yaml:8:20: metrics.listen: an IPv6 address needs brackets: [::1]:9187"});
    EXPECT_EQ(problems_of(std::string(k_base) + "metrics: { listen: \"a b:80\" }\n"),
              std::vector<std::string>{
                  "sync.yaml:8:20: metrics.listen: 'a b' is not a host name or an IP address, "
                  "e.g. 127.0.0.1:9187, [::1]:9187 or :9187"});
    EXPECT_EQ(problems_of(std::string(k_base) + "metrics: { listen: \"\" }\n"),
              std::vector<std::string>{"sync.yaml:8:20: metrics.listen: must not be empty"});
    EXPECT_EQ(
        problems_of(std::string(k_base) + "metrics: { port: 9187 }\n"),
        std::vector<std::string>{"sync.yaml:8:12: metrics.port: unknown key (expected listen)"});
}

// `connections`: what the daemon may hold to the source and to each replica, fitted to
// `parallel` (config/budget.hpp). k_base has the drift scanner on and no sequences: beside the
// workers the source needs the catalog check, the schema step and the drift scanner, and each
// replica the claims heartbeat, the schema step (two) and the drift scanner.
TEST(ConfigConnections, DefaultsAreEightEachOrWhatParallelNeedsWhenMore) {
    Config c = config_of(k_base);
    EXPECT_EQ(c.parallel, 4);
    EXPECT_EQ(c.connections.source, 8);
    EXPECT_EQ(c.connections.replica, 8);
    c = config_of(std::string(k_base) + "parallel: 16\n");
    EXPECT_EQ(c.parallel, 16);
    EXPECT_EQ(c.connections.source, 19);
    EXPECT_EQ(c.connections.replica, 20);
}

TEST(ConfigConnections, ABudgetAloneBoundsTheWorkers) {
    Config c = config_of(std::string(k_base) + "connections: { source: 5 }\n");
    EXPECT_EQ(c.connections.source, 5);
    EXPECT_EQ(c.parallel, 2) << "5 less the catalog check, the schema step and the drift scanner";
    EXPECT_EQ(c.connections.replica, 8);
    c = config_of(std::string(k_base) + "connections: { source: 100, replica: 100 }\n");
    EXPECT_EQ(c.parallel, 4) << "a budget is a bound, not a target";
    c = config_of(std::string(k_base) + "drift: { interval: 0 }\nconnections: { source: 3 }\n");
    EXPECT_EQ(c.parallel, 1) << "no drift scanner: one worker fits in 3";
}

TEST(ConfigConnections, ABudgetSmallerThanTheWorkIsAProblemAtItsPlace) {
    EXPECT_EQ(problems_of(std::string(k_base) + "connections: { source: 3 }\n"),
              std::vector<std::string>{
                  "sync.yaml:8:24: connections.source: 3 is fewer than at least 1 worker needs: "
                  "4 source connections (1 worker, the catalog check, the schema step, the drift "
                  "scanner); raise it"});
    EXPECT_EQ(problems_of(std::string(k_base) + "parallel: 16\nconnections:\n  replica: 8\n"),
              std::vector<std::string>{
                  "sync.yaml:10:12: connections.replica: 8 is fewer than parallel: 16 needs: 20 "
                  "connections to each replica (16 workers, the claims heartbeat, the schema step "
                  "(2), the drift scanner); raise it or lower parallel"});
    EXPECT_EQ(problems_of(std::string(k_base) + "connections: { source: 0 }\n").size(), 1U);
    EXPECT_EQ(problems_of(std::string(k_base) + "connections: { max: 9 }\n"),
              std::vector<std::string>{
                  "sync.yaml:8:16: connections.max: unknown key (expected source or replica)"});
}

}  // namespace
}  // namespace syncset::config
