// `replicas[].sequences`: names, patterns and mapped names are read like table entries, and a
// bad entry gets a positioned message before any database is touched (promise 5).
#include <gtest/gtest.h>

#include "syncset/config/validate.hpp"

namespace syncset::config {
namespace {

LoadResult load(const std::string& sequences) {
    const std::string yaml =
        "source: {dsn: x}\n"
        "replicas:\n"
        "  - name: r\n"
        "    dsn: y\n"
        "    tables: [{source: public.orders}]\n"
        "    sequences:\n" +
        sequences;
    return load_config_text(yaml, "s.yaml",
                            [](std::string_view) { return std::optional<std::string>{}; });
}

std::vector<std::string> problems_of(const std::string& sequences) {
    std::vector<std::string> lines;
    for (const auto& p : load(sequences).problems) {
        lines.push_back(format_problem("s.yaml", p));
    }
    return lines;
}

std::vector<SequenceSpec> sequences_of(const std::string& sequences) {
    LoadResult result = load(sequences);
    for (const auto& p : result.problems) {
        ADD_FAILURE() << format_problem("s.yaml", p);
    }
    return result.config ? result.config->replicas.at(0).sequences : std::vector<SequenceSpec>{};
}

TEST(ConfigSequences, NamesPatternsAndMappingsAreRead) {
    auto s = sequences_of(
        "      - public.orders_id_seq\n"
        "      - \"audit.*_seq\"\n"
        "      - {source: public.invoice_no, target: billing.invoice_no}\n"
        "      - source: '\"My Schema\".\"a.b\"'\n"
        "        target: other.*\n");
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[0].source, (TableName{"public", "orders_id_seq"}));
    EXPECT_FALSE(s[0].target.has_value());
    EXPECT_EQ(s[0].position.line, 7);
    EXPECT_EQ(s[0].position.column, 9);
    EXPECT_EQ(s[1].source, (TableName{"audit", "*_seq"}));
    EXPECT_TRUE(s[1].source.has_glob());
    EXPECT_EQ(s[2].source, (TableName{"public", "invoice_no"}));
    EXPECT_EQ(s[2].target, (TableName{"billing", "invoice_no"}));
    EXPECT_EQ(s[3].source, (TableName{"My Schema", "a.b"}));
    EXPECT_EQ(s[3].target, (TableName{"other", "*"}));
}

TEST(ConfigSequences, TheKeyIsOptionalAndAnEmptyListSelectsNothing) {
    LoadResult without = load_config_text(
        "source: {dsn: x}\nreplicas:\n  - name: r\n    dsn: y\n    tables: [{source: a.b}]\n",
        "s.yaml", [](std::string_view) { return std::optional<std::string>{}; });
    ASSERT_TRUE(without.config.has_value());
    EXPECT_TRUE(without.config->replicas.at(0).sequences.empty());
    EXPECT_TRUE(sequences_of("      []\n").empty());
}

TEST(ConfigSequences, UnknownKeyInAMappingIsReportedWithItsPosition) {
    EXPECT_EQ(problems_of("      - {source: public.a, targte: public.b}\n"),
              (std::vector<std::string>{
                  "s.yaml:7:28: replicas[0].sequences[0].targte: unknown key (did you mean "
                  "'target'?)"}));
    EXPECT_EQ(problems_of("      - {source: public.a, start: 5}\n"),
              (std::vector<std::string>{"s.yaml:7:28: replicas[0].sequences[0].start: unknown "
                                        "key (expected source or target)"}));
}

TEST(ConfigSequences, BadNamesAndShapesAreReportedWithTheirPositions) {
    EXPECT_EQ(problems_of("      - orders_id_seq\n"
                          "      - {target: public.b}\n"
                          "      - [public.a]\n"
                          "      - {source: public.a, target: \"a.b.c\"}\n"
                          "      - \"\"\n"),
              (std::vector<std::string>{
                  "s.yaml:7:9: replicas[0].sequences[0]: invalid sequence name 'orders_id_seq' "
                  "(expected schema.sequence, e.g. public.orders_id_seq; quote a part that holds a "
                  "dot: \"my.schema\".orders_id_seq)",
                  "s.yaml:8:9: replicas[0].sequences[1]: missing required key 'source' (the source "
                  "sequence, e.g. public.orders_id_seq)",
                  "s.yaml:9:9: replicas[0].sequences[2]: expected a sequence name or a mapping of "
                  "source and target, got a list",
                  "s.yaml:10:36: replicas[0].sequences[3].target: invalid sequence name 'a.b.c' "
                  "(expected schema.sequence, e.g. public.orders_id_seq; quote a part that holds a "
                  "dot: \"my.schema\".orders_id_seq)",
                  "s.yaml:11:9: replicas[0].sequences[4]: must not be empty"}));
}

TEST(ConfigSequences, NotAListIsAnError) {
    EXPECT_EQ(problems_of("      public.a\n"),
              (std::vector<std::string>{
                  "s.yaml:7:7: replicas[0].sequences: expected a list of sequences, got "
                  "'public.a'"}));
}

TEST(ConfigSequences, TargetRulesFollowTableEntries) {
    EXPECT_EQ(problems_of("      - {source: \"public.*_seq\", target: billing.ids}\n"
                          "      - {source: public.a, target: \"b*.a\"}\n"),
              (std::vector<std::string>{
                  "s.yaml:7:9: replicas[0].sequences[0].target: source 'public.*_seq' is a "
                  "pattern, so the target must be 'schema.*' (each sequence keeps its name)",
                  "s.yaml:8:9: replicas[0].sequences[1].target: a target cannot hold globs "
                  "except a name part of '*' (keep the source sequence's name), e.g. "
                  "billing.*"}));
}

TEST(ConfigSequences, TwoEntriesWritingOneReplicaSequenceAreAnError) {
    EXPECT_EQ(problems_of("      - public.a\n"
                          "      - {source: other.b, target: public.a}\n"),
              (std::vector<std::string>{"s.yaml:8:9: replicas[0].sequences[1]: target sequence "
                                        "public.a is written by two entries of replica 'r' (the "
                                        "other at line 7)"}));
}

}  // namespace
}  // namespace syncset::config
