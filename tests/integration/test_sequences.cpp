// `sequences:` entries: the source's sequence positions reach the replica's sequences of the
// same (or the mapped) name every poll, so a replica promoted to primary does not hand out ids
// the source already did. A replica sequence is never moved back; a missing name is reported
// like a missing table, before anything is changed.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "copy_harness.hpp"

namespace syncset::test {
namespace {

using namespace std::chrono_literals;

class Sequences : public CopyTest {
  protected:
    void SetUp() override {
        CopyTest::SetUp();
        exec_source("CREATE TABLE t (id int PRIMARY KEY)");
    }

    // One table polled every 200 ms, and `sequences` (list items at six spaces).
    std::string config_with(const std::string& sequences) const {
        return config(
            "      - source: public.t\n        poll_interval: 200ms\n"
            "    sequences:\n" +
            sequences);
    }

    // `last_value,is_called` of a replica sequence.
    std::string replica_position(const std::string& sequence) {
        return query_value(Server::replica,
                           "SELECT last_value || ',' || is_called FROM " + sequence);
    }

    // Polls until the replica sequence is at `expected`; the last position seen otherwise.
    ::testing::AssertionResult eventually_at(const std::string& sequence,
                                             const std::string& expected,
                                             std::chrono::milliseconds timeout = 15s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string seen;
        while (std::chrono::steady_clock::now() < deadline) {
            try {
                seen = replica_position(sequence);
                if (seen == expected) {
                    return ::testing::AssertionSuccess();
                }
            } catch (const std::exception& e) {
                seen = e.what();
            }
            std::this_thread::sleep_for(100ms);
        }
        return ::testing::AssertionFailure()
               << sequence << " is at " << seen << ", expected " << expected;
    }
};

TEST_F(Sequences, SourceAdvanceReachesTheReplicaWithinAFewPollsIncludingAMappedName) {
    exec_source(
        "CREATE SEQUENCE a_seq; CREATE SEQUENCE inv INCREMENT BY 10 START WITH 100 CACHE 1;"
        "SELECT nextval('a_seq') FROM generate_series(1, 5); SELECT nextval('inv');");
    SyncsetProcess daemon({"run"},
                          config_with("      - public.a_seq\n"
                                      "      - {source: public.inv, target: billing.inv_no}\n"));
    EXPECT_TRUE(eventually_at("a_seq", "5,true")) << daemon.describe();
    EXPECT_TRUE(eventually_at("billing.inv_no", "100,true")) << daemon.describe();
    // Created with the source's parameters.
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT increment_by || ',' || start_value FROM pg_sequences WHERE "
                          "schemaname = 'billing' AND sequencename = 'inv_no'"),
              "10,100");
    exec_source("SELECT nextval('a_seq') FROM generate_series(1, 3); SELECT nextval('inv')");
    EXPECT_TRUE(eventually_at("a_seq", "8,true")) << daemon.describe();
    EXPECT_TRUE(eventually_at("billing.inv_no", "110,true")) << daemon.describe();
    EXPECT_TRUE(daemon.running()) << daemon.describe();
}

TEST_F(Sequences, ReplicaSequenceIsNeverMovedBackwards) {
    exec_source("CREATE SEQUENCE s; SELECT nextval('s') FROM generate_series(1, 3)");
    const std::string yaml = config_with("      - public.s\n");
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    EXPECT_EQ(replica_position("s"), "3,true");
    exec_replica("SELECT setval('s', 1000)");
    exec_source("SELECT nextval('s') FROM generate_series(1, 5)");
    CliResult r = run_once(yaml);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(replica_position("s"), "1000,true");
    // The daemon too: several polls later it is still where the replica put it.
    SyncsetProcess daemon({"run"}, yaml);
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(replica_position("s"), "1000,true") << daemon.describe();
    exec_source("SELECT setval('s', 2000)");
    EXPECT_TRUE(eventually_at("s", "2000,true")) << daemon.describe();
}

TEST_F(Sequences, ASourceSequenceNeverCalledLeavesTheReplicaAtItsStart) {
    exec_source("CREATE SEQUENCE fresh START WITH 100");
    ASSERT_EQ(run_once(config_with("      - public.fresh\n")).exit_status, 0);
    EXPECT_EQ(replica_position("fresh"), "100,false");
    EXPECT_EQ(query_value(Server::replica, "SELECT nextval('fresh')"), "100");
}

TEST_F(Sequences, MissingSequenceIsReportedLikeAMissingTableAndChangesNothing) {
    exec_source("CREATE SEQUENCE orders_id_seq");
    const std::string yaml = config_with("      - public.ordres_id_seq\n");
    for (const char* command : {"plan", "run"}) {
        CliResult r = run_syncset({command}, yaml);
        EXPECT_EQ(r.exit_status, 2) << command;
        EXPECT_NE(r.err.find(":12:9: replicas[0].sequences[0]: sequence public.ordres_id_seq "
                             "does not exist on the source (did you mean public.orders_id_seq?)"),
                  std::string::npos)
            << r.err;
        EXPECT_EQ(query_value(Server::replica,
                              "SELECT count(*) FROM pg_class WHERE relkind IN ('S', 'r') AND "
                              "relnamespace <> 'pg_catalog'::regnamespace AND relnamespace <> "
                              "'information_schema'::regnamespace"),
                  "0")
            << command;
    }
}

TEST_F(Sequences, AGlobSelectsEveryMatchingSequenceAndNoOther) {
    exec_source(
        "CREATE SEQUENCE a_id_seq; CREATE SEQUENCE b_id_seq; CREATE SEQUENCE other;"
        "SELECT nextval('a_id_seq'); SELECT nextval('b_id_seq') FROM generate_series(1, 2);"
        "SELECT nextval('other')");
    CliResult r = run_once(config_with("      - \"public.*_id_seq\"\n"));
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(replica_position("a_id_seq"), "1,true");
    EXPECT_EQ(replica_position("b_id_seq"), "2,true");
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM pg_class WHERE relname = 'other'"),
              "0");
}

TEST_F(Sequences, NextvalOnThePromotedReplicaDoesNotReuseAnIdTheSourceHandedOut) {
    // A cached sequence: 50 ids handed out in one session, which fetched 60 and may still hand
    // out 51..60; the sequence's position (60) covers them.
    exec_source(
        "CREATE SEQUENCE orders_seq CACHE 20;"
        "CREATE TABLE orders (id bigint PRIMARY KEY DEFAULT nextval('orders_seq'), v text);"
        "INSERT INTO orders (v) SELECT 'x' FROM generate_series(1, 50)");
    const std::string yaml = config(
        "      - source: public.orders\n        cursor: none\n"
        "    sequences:\n      - public.orders_seq\n");
    CliResult r = run_once(yaml);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    const std::string handed_out = query_value(Server::source, "SELECT max(id) FROM orders");
    EXPECT_EQ(query_value(Server::replica, "SELECT max(id) FROM orders"), handed_out);
    // Promotion: the replica now hands out ids itself.
    const std::string next = query_value(Server::replica, "SELECT nextval('orders_seq')");
    EXPECT_GT(std::stoll(next),
              std::stoll(query_value(Server::source, "SELECT last_value FROM orders_seq")))
        << next;
    exec_replica(
        "INSERT INTO orders (id, v) SELECT nextval('orders_seq'), 'new' FROM "
        "generate_series(1, 10)");
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) FROM orders"), "60");
}

TEST_F(Sequences, ConcurrentNextvalOnTheReplicaIsNeverUndoneSoNoIdIsHandedOutTwice) {
    // CACHE 50: one nextval() moves the sequence 50 ahead, so an unguarded compare-then-setval
    // could move it back over ids a replica session already holds. That window is microseconds
    // wide and this load does not reliably hit it (the test passed with the lock removed): it
    // guards the outcome under concurrent use, decision (w) in ARCHITECTURE.md the reasoning.
    exec_source("CREATE SEQUENCE s CACHE 50");
    exec_replica("CREATE SEQUENCE s CACHE 50; CREATE TABLE ids (id bigint)");
    SyncsetProcess daemon({"run"}, config_with("      - public.s\n"));
    BackgroundWriter source_writer(source_dsn(), [](PlainConnection& c, std::uint64_t) {
        c.exec("SELECT nextval('s') FROM generate_series(1, 30)");
    });
    std::vector<std::unique_ptr<BackgroundWriter>> replica_writers;
    for (int i = 0; i < 3; ++i) {
        replica_writers.push_back(std::make_unique<BackgroundWriter>(
            replica_dsn(), [](PlainConnection& c, std::uint64_t) {
                c.exec("INSERT INTO ids SELECT nextval('s')");
            }));
    }
    std::this_thread::sleep_for(5s);
    source_writer.stop();
    for (auto& writer : replica_writers) {
        writer->stop();
    }
    EXPECT_TRUE(daemon.running()) << daemon.describe();
    EXPECT_GT(std::stoll(query_value(Server::replica, "SELECT count(*) FROM ids")), 100);
    EXPECT_EQ(query_value(Server::replica, "SELECT count(*) - count(DISTINCT id) FROM ids"), "0");
}

}  // namespace
}  // namespace syncset::test
