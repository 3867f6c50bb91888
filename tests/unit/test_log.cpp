#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "syncset/log/log.hpp"

namespace syncset::log {
namespace {

TEST(LogText, KeyValueContextQuotesOnlyWhenNeeded) {
    EXPECT_EQ(
        format_text("copy done", {{"replica", "billing"},
                                  {"table", "public.orders"},
                                  {"rows", std::int64_t{10}},
                                  {"note", "two words"},
                                  {"empty", ""}}),
        "copy done replica=billing table=public.orders rows=10 note=\"two words\" empty=\"\"");
}

TEST(LogJson, EveryLineIsValidJsonWithEscapesAndBareNumbers) {
    EXPECT_EQ(format_json("copy \"x\"", {{"table", "a\\b\nc"}, {"rows", 3u}, {"ctl", "\x01"}}),
              R"("msg":"copy \"x\"","table":"a\\b\nc","rows":3,"ctl":"\u0001")");
}

// Whole lines as the process writes them, with the timestamp replaced by TS.
class LogLines : public ::testing::Test {
  protected:
    void TearDown() override { setup(config::LogLevel::info, config::LogFormat::text); }

    std::vector<std::string> lines(const std::regex& timestamp) const {
        std::vector<std::string> out;
        std::istringstream in(m_out.str());
        for (std::string line; std::getline(in, line);) {
            out.push_back(std::regex_replace(line, timestamp, "TS"));
        }
        return out;
    }

    std::ostringstream m_out;
};

// What the notice receiver in src/db/connection.cpp logs for every batch's stage table.
void log_one_line_per_level() {
    debug("server notice", {{"role", "replica"},
                            {"severity", "NOTICE"},
                            {"message", "relation \"stage\" already exists, skipping"}});
    info("copy done", {{"rows", 3}});
    warn("server warning", {{"role", "source"}, {"message", "line one\nline two"}});
    error("copy failed", {{"table", "public.t"}});
}

TEST_F(LogLines, JsonLinesAreObjectsAtEveryLevelWithTheConfigLevelNames) {
    setup(config::LogLevel::trace, config::LogFormat::json, m_out);
    log_one_line_per_level();
    EXPECT_EQ(lines(std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")),
              (std::vector<std::string>{
                  R"({"ts":"TS","level":"debug","msg":"server notice","role":"replica",)"
                  R"("severity":"NOTICE","message":"relation \"stage\" already exists, skipping"})",
                  R"({"ts":"TS","level":"info","msg":"copy done","rows":3})",
                  R"({"ts":"TS","level":"warn","msg":"server warning","role":"source",)"
                  R"("message":"line one\nline two"})",
                  R"({"ts":"TS","level":"error","msg":"copy failed","table":"public.t"})"}));
}

TEST_F(LogLines, TextLinesUseTheConfigLevelNames) {
    setup(config::LogLevel::debug, config::LogFormat::text, m_out);
    log_one_line_per_level();
    EXPECT_EQ(lines(std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")),
              (std::vector<std::string>{
                  R"(TS debug server notice role=replica severity=NOTICE )"
                  R"(message="relation \"stage\" already exists, skipping")",
                  "TS info  copy done rows=3",
                  R"(TS warn  server warning role=source message="line one\nline two")",
                  "TS error copy failed table=public.t"}));
}

TEST_F(LogLines, LinesBelowTheLevelAreDropped) {
    setup(config::LogLevel::warn, config::LogFormat::json, m_out);
    log_one_line_per_level();
    EXPECT_EQ(lines(std::regex(R"("ts":"[^"]*")")).size(), 2u);
}

}  // namespace
}  // namespace syncset::log
