// Copying sequences: what "ahead" means (a replica sequence is never moved back, and a source
// never called does not move it past its start), the statements that read and move them, and
// how `sequences:` entries resolve against the source catalog (names, patterns, mapping, a
// missing name reported like a missing table).
#include <gtest/gtest.h>

#include "daemon/sequence_loop.hpp"
#include "plan/sequences.hpp"
#include "syncset/config/validate.hpp"
#include "syncset/sequence/sql.hpp"

namespace syncset {
namespace {

using sequence::Value;

TEST(SequenceAhead, AscendingComparesLastValueThenIsCalled) {
    EXPECT_TRUE(sequence::is_ahead(Value{10, true}, Value{9, true}, false));
    EXPECT_FALSE(sequence::is_ahead(Value{9, true}, Value{10, true}, false));
    EXPECT_FALSE(sequence::is_ahead(Value{10, true}, Value{10, true}, false));
    EXPECT_TRUE(sequence::is_ahead(Value{10, true}, Value{10, false}, false));
    EXPECT_FALSE(sequence::is_ahead(Value{10, false}, Value{10, true}, false));
}

TEST(SequenceAhead, ASourceNeverCalledIsNotAheadOfAReplicaAtTheSameStart) {
    EXPECT_FALSE(sequence::is_ahead(Value{1, false}, Value{1, false}, false));
    EXPECT_FALSE(sequence::is_ahead(Value{1, false}, Value{5, true}, false));
}

TEST(SequenceAhead, DescendingSequencesAreAheadWhenLower) {
    EXPECT_TRUE(sequence::is_ahead(Value{-10, true}, Value{-9, true}, true));
    EXPECT_FALSE(sequence::is_ahead(Value{-9, true}, Value{-10, true}, true));
    EXPECT_TRUE(sequence::is_ahead(Value{-1, true}, Value{-1, false}, true));
}

TEST(SequenceSql, SourceValuesAreReadInOneStatement) {
    EXPECT_EQ(sequence::build_read_values({{"public", "a_seq"}, {"My S", "b"}}),
              "SELECT 0 AS i, last_value, is_called FROM \"public\".\"a_seq\" UNION ALL "
              "SELECT 1 AS i, last_value, is_called FROM \"My S\".\"b\" ORDER BY i");
    EXPECT_EQ(sequence::build_read_values({}), "");
}

TEST(SequenceSql, ReplicaReadFillsTheValuesIntoItsQuery) {
    const std::string sql = sequence::build_read_replica({{"public", "a"}});
    EXPECT_NE(
        sql.find("FROM (\n    SELECT 0 AS i, '\"public\".\"a\"'::pg_catalog.regclass::"
                 "pg_catalog.oid AS oid, last_value, is_called FROM \"public\".\"a\"\n) AS v"),
        std::string::npos)
        << sql;
    EXPECT_EQ(sql.find("/* values */"), std::string::npos);
}

TEST(SequenceSql, TheLockChangesNothing) {
    sequence::ReplicaSequence plain;
    EXPECT_EQ(sequence::build_lock({"public", "a"}, plain),
              "ALTER SEQUENCE \"public\".\"a\" OWNED BY NONE");
    sequence::ReplicaSequence owned;
    owned.owned_by = "public.t.id";
    EXPECT_EQ(sequence::build_lock({"public", "a"}, owned),
              "ALTER SEQUENCE \"public\".\"a\" OWNED BY public.t.id");
    sequence::ReplicaSequence identity;
    identity.identity = true;
    identity.cache = 20;
    EXPECT_EQ(sequence::build_lock({"public", "a"}, identity),
              "ALTER SEQUENCE \"public\".\"a\" CACHE 20");
}

TEST(SequenceSql, AdvanceIsGuardedSoItNeverMovesBack) {
    EXPECT_EQ(sequence::build_advance({"public", "a"}, Value{42, true}, false),
              "SELECT pg_catalog.setval('\"public\".\"a\"'::pg_catalog.regclass, 42, true) FROM "
              "\"public\".\"a\" WHERE (last_value < 42 OR (last_value = 42 AND NOT is_called))");
    EXPECT_EQ(sequence::build_advance({"public", "a"}, Value{7, false}, false),
              "SELECT pg_catalog.setval('\"public\".\"a\"'::pg_catalog.regclass, 7, false) FROM "
              "\"public\".\"a\" WHERE last_value < 7");
    EXPECT_EQ(sequence::build_advance({"s", "d"}, Value{-5, true}, true),
              "SELECT pg_catalog.setval('\"s\".\"d\"'::pg_catalog.regclass, -5, true) FROM "
              "\"s\".\"d\" WHERE (last_value > -5 OR (last_value = -5 AND NOT is_called))");
}

// ---- resolving `sequences:` against the source catalog ----

config::Config config_with(const std::string& sequences) {
    const std::string yaml =
        "source: {dsn: x}\nreplicas:\n  - name: r\n    dsn: y\n"
        "    tables: [{source: public.orders, poll_interval: 2s}, "
        "{source: public.items, poll_interval: 300ms}]\n"
        "    sequences:\n" +
        sequences;
    auto result = config::load_config_text(
        yaml, "s.yaml", [](std::string_view) { return std::optional<std::string>{}; });
    for (const auto& p : result.problems) {
        ADD_FAILURE() << config::format_problem("s.yaml", p);
    }
    return result.config.value_or(config::Config{});
}

catalog::Sequence seq(std::uint32_t oid, std::string schema, std::string name) {
    catalog::Sequence s;
    s.oid = oid;
    s.schema = std::move(schema);
    s.name = std::move(name);
    s.max = 9223372036854775807;
    return s;
}

struct Resolved {
    plan::ReplicaPlan plan;
    std::vector<std::string> schemas;
    std::vector<std::string> problems;
};

Resolved resolve(const config::Config& config, const catalog::Catalog& source,
                 const catalog::Catalog& replica = {}) {
    Resolved out;
    plan::plan_sequences(
        config.replicas.at(0), 0, source, replica,
        [&](const std::string& schema) { out.schemas.push_back(schema); }, out.plan);
    for (const auto& p : out.plan.problems) {
        out.problems.push_back(config::format_problem("s.yaml", p));
    }
    return out;
}

catalog::Catalog source_catalog() {
    catalog::Catalog c;
    c.sequences = {seq(1, "audit", "log_id_seq"), seq(2, "public", "items_id_seq"),
                   seq(3, "public", "orders_id_seq"), seq(4, "public", "invoice_no")};
    return c;
}

std::vector<std::string> pairs(const plan::ReplicaPlan& plan) {
    std::vector<std::string> out;
    for (const auto& s : plan.sequences) {
        out.push_back(s.source_schema + "." + s.source_name + " -> " + s.target_schema + "." +
                      s.target_name);
    }
    return out;
}

TEST(PlanSequences, AGlobSelectsEveryMatchAndAPlainEntryClaimsItsSequenceFirst) {
    auto r = resolve(config_with("      - \"public.*_seq\"\n"
                                 "      - {source: public.orders_id_seq, target: b.o}\n"),
                     source_catalog());
    EXPECT_TRUE(r.problems.empty());
    EXPECT_EQ(pairs(r.plan), (std::vector<std::string>{"public.items_id_seq -> public.items_id_seq",
                                                       "public.orders_id_seq -> b.o"}));
}

TEST(PlanSequences, MissingReplicaSequencesAreCreatedWithTheSourceParameters) {
    catalog::Catalog source = source_catalog();
    source.sequences[3].type = "integer";
    source.sequences[3].increment = -2;
    source.sequences[3].min = -1000;
    source.sequences[3].max = -1;
    source.sequences[3].start = -1;
    source.sequences[3].cache = 5;
    source.sequences[3].cycle = true;
    catalog::Catalog replica;
    replica.sequences = {seq(9, "public", "orders_id_seq")};
    auto r = resolve(config_with("      - public.orders_id_seq\n"
                                 "      - {source: public.invoice_no, target: \"billing.*\"}\n"),
                     source, replica);
    EXPECT_TRUE(r.problems.empty());
    EXPECT_EQ(r.schemas, (std::vector<std::string>{"billing"}));
    EXPECT_EQ(r.plan.ddl, (std::vector<std::string>{
                              "CREATE SEQUENCE IF NOT EXISTS \"billing\".\"invoice_no\" AS "
                              "integer INCREMENT BY -2 MINVALUE -1000 MAXVALUE -1 START WITH -1 "
                              "CACHE 5 CYCLE"}));
    EXPECT_EQ(r.plan.changes, (std::vector<std::string>{"create sequence billing.invoice_no"}));
    ASSERT_EQ(r.plan.sequences.size(), 2u);
    EXPECT_FALSE(r.plan.sequences[0].descending);
    EXPECT_TRUE(r.plan.sequences[1].descending);
}

TEST(PlanSequences, AMissingNameIsAProblemLikeAMissingTable) {
    auto r = resolve(config_with("      - public.order_id_seq\n"
                                 "      - public.nothing_here\n"),
                     source_catalog());
    EXPECT_EQ(r.problems,
              (std::vector<std::string>{
                  "s.yaml:7:9: replicas[0].sequences[0]: sequence public.order_id_seq does not "
                  "exist on the source (did you mean public.orders_id_seq?)",
                  "s.yaml:8:9: replicas[0].sequences[1]: sequence public.nothing_here does not "
                  "exist on the source"}));
    EXPECT_TRUE(r.plan.sequences.empty());
}

TEST(PlanSequences, AGlobMatchingNothingSelectsNothing) {
    auto r = resolve(config_with("      - \"nowhere.*\"\n"), source_catalog());
    EXPECT_TRUE(r.problems.empty());
    EXPECT_TRUE(r.plan.sequences.empty());
}

TEST(PlanSequences, ASequenceTheSourceRoleCannotReadIsAProblem) {
    catalog::Catalog source = source_catalog();
    source.sequences[0].readable = false;
    auto r = resolve(config_with("      - \"audit.*\"\n"), source);
    EXPECT_EQ(r.problems,
              (std::vector<std::string>{
                  "s.yaml:7:9: replicas[0].sequences[0]: sequence audit.log_id_seq cannot be read "
                  "by the source role; grant it with GRANT SELECT ON SEQUENCE audit.log_id_seq TO "
                  "<the role of source.dsn>"}));
}

TEST(PlanSequences, TwoSourcesMappedOntoOneReplicaSequenceAreAProblem) {
    auto r = resolve(config_with("      - {source: \"public.*_seq\", target: \"x.*\"}\n"
                                 "      - {source: \"audit.*\", target: \"x.*\"}\n"
                                 "      - {source: public.invoice_no, target: x.items_id_seq}\n"),
                     source_catalog());
    EXPECT_EQ(r.problems,
              (std::vector<std::string>{
                  "s.yaml:9:9: replicas[0].sequences[2]: replica sequence x.items_id_seq would "
                  "be written from both public.items_id_seq and public.invoice_no; map one of "
                  "them elsewhere"}));
}

TEST(SequenceLoop, PollsAtTheShortestTablePollIntervalAndReadsEachSourceOnce) {
    const config::Config config = config_with("      - public.a\n");
    EXPECT_EQ(daemon::sequence_poll_interval(config.replicas.at(0)),
              std::chrono::milliseconds(300));
    config::ReplicaSpec bare;
    EXPECT_EQ(daemon::sequence_poll_interval(bare), std::chrono::milliseconds(1000));

    plan::SequencePlan a{"public", "a", "public", "a", false};
    plan::SequencePlan a_mapped{"public", "a", "x", "a", false};
    plan::SequencePlan b{"public", "b", "public", "b", false};
    EXPECT_EQ(daemon::source_sequences({{"r1", "", {}, {a, b}}, {"r2", "", {}, {a_mapped}}}),
              (std::vector<sequence::SequenceName>{{"public", "a"}, {"public", "b"}}));
}

}  // namespace
}  // namespace syncset
