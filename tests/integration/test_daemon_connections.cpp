// `connections.source` / `connections.replica` bound what the daemon holds: the test's role
// gets exactly that CONNECTION LIMIT on each server, so one connection more than the budget
// would be refused by PostgreSQL itself ("too many connections for role"), through a snapshot,
// polls under writes, drift scans, a SIGHUP reload and a schema change (the schema step opens
// its connections while the workers keep theirs).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <string>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

constexpr int k_tables = 8;
// Source: 3 workers, the catalog check, the schema step and the drift scanner. Replica: 3
// workers, the claims heartbeat, the schema step (2) and the drift scanner.
constexpr int k_source_budget = 6;
constexpr int k_replica_budget = 7;

class DaemonConnections : public CopyTest {
  protected:
    static constexpr std::string_view k_password = "pw-budget";

    // A role limited to the budgets' connections on each server, able to read the source tables
    // and to create what syncset creates on the replica.
    void create_limited_role() {
        m_role = create_login_role(k_password);
        const std::string r = m_role;
        exec_source("ALTER ROLE " + r + " CONNECTION LIMIT " + std::to_string(k_source_budget));
        exec_replica("ALTER ROLE " + r + " CONNECTION LIMIT " + std::to_string(k_replica_budget));
        exec_source("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + r +
                    "; GRANT pg_read_all_stats TO " + r);
        exec_replica("ALTER DATABASE " + database_name() + " OWNER TO " + r +
                     "; ALTER SCHEMA public OWNER TO " + r);
    }

    std::string yaml() const {
        std::string tables;
        for (int i = 1; i <= k_tables; ++i) {
            tables += "      - source: public.c" + std::to_string(i) +
                      "\n        cursor: updated_at\n        poll_interval: 200ms\n";
        }
        return "source:\n  dsn: " + yaml_quote(dsn_as(Server::source, m_role, k_password)) +
               "\nparallel: 3\nconnections:\n  source: " + std::to_string(k_source_budget) +
               "\n  replica: " + std::to_string(k_replica_budget) +
               "\ndrift:\n  interval: 1s\nreplicas:\n  - name: r\n    dsn: " +
               yaml_quote(dsn_as(Server::replica, m_role, k_password)) + "\n    tables:\n" + tables;
    }

    int sessions_of_role(Server server) {
        return std::stoi(query_value(server,
                                     "SELECT count(*) FROM pg_stat_activity WHERE "
                                     "usename = '" +
                                         m_role + "'"));
    }

    std::string m_role;
};

TEST_F(DaemonConnections, TheDaemonNeverHoldsMoreThanItsBudgetOnEitherSide) {
    std::string sql;
    for (int i = 1; i <= k_tables; ++i) {
        const std::string t = "c" + std::to_string(i);
        sql += "CREATE TABLE " + t +
               " (id bigint PRIMARY KEY, v int, updated_at timestamptz NOT NULL DEFAULT "
               "clock_timestamp()); INSERT INTO " +
               t + " (id, v) SELECT g, g FROM generate_series(1, 3000) g; ";
    }
    exec_source(sql);
    create_limited_role();

    SyncsetProcess daemon({"run"}, yaml());
    int most_source = 0;
    int most_replica = 0;
    auto sample = [&] {
        most_source = std::max(most_source, sessions_of_role(Server::source));
        most_replica = std::max(most_replica, sessions_of_role(Server::replica));
    };
    const std::string q1 = "SELECT id, v, updated_at FROM c1 ORDER BY id";
    ASSERT_TRUE(wait_until(
        [&] {
            sample();
            return static_cast<bool>(same_rows(q1, q1));
        },
        60s))
        << daemon.describe();
    BackgroundWriter writer(
        source_dsn(),
        [](PlainConnection& conn, std::uint64_t n) {
            conn.exec("UPDATE c" + std::to_string(n % k_tables + 1) +
                      " SET v = v + 1, updated_at = clock_timestamp() WHERE id = " +
                      std::to_string(n % 3000 + 1));
        },
        2ms);
    for (int i = 0; i < 20; ++i) {
        sample();
        std::this_thread::sleep_for(100ms);
    }
    daemon.send_signal(SIGHUP);  // a reload: a schema step beside the workers' connections
    exec_source("ALTER TABLE c2 ADD COLUMN note text");  // and a schema change
    for (int i = 0; i < 30; ++i) {
        sample();
        std::this_thread::sleep_for(100ms);
    }
    writer.stop();
    for (int i = 1; i <= k_tables; ++i) {
        const std::string q =
            "SELECT id, v, updated_at FROM c" + std::to_string(i) + " ORDER BY id";
        EXPECT_TRUE(eventually_same_rows(q, q, 60s)) << daemon.describe();
    }
    sample();
    EXPECT_EQ(daemon.err().find("too many connections"), std::string::npos) << daemon.describe();
    EXPECT_LE(most_source, k_source_budget);
    EXPECT_LE(most_replica, k_replica_budget);
    EXPECT_GE(most_source, 3) << "the workers were not all busy: the test proved little";
    std::cout << "[ info     ] most sessions seen: source " << most_source << ", replica "
              << most_replica << " (budgets " << k_source_budget << ", " << k_replica_budget << ")"
              << std::endl;
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(20s), std::optional<int>(0)) << daemon.describe();
}

TEST_F(DaemonConnections, ABudgetTooSmallForParallelIsAConfigErrorNamingBoth) {
    exec_source("CREATE TABLE c1 (id int PRIMARY KEY)");
    const std::string text =
        config("      - source: public.c1\n", "parallel: 8\nconnections:\n  source: 4\n");
    CliResult validate = run_syncset({"validate"}, text);
    EXPECT_EQ(validate.exit_status, 2) << validate.err;
    EXPECT_NE(validate.err.find("connections.source: 4 is fewer than parallel: 8 needs: 10 source "
                                "connections (8 workers, the catalog check, the schema step); "
                                "raise it or lower parallel"),
              std::string::npos)
        << validate.err;
    CliResult run = run_syncset({"run", "--once"}, text);
    EXPECT_EQ(run.exit_status, 2) << run.err;
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM pg_namespace WHERE nspname = '_syncset'"),
              "0")
        << "nothing was touched";
}

}  // namespace
}  // namespace syncset::test
