// The schema step runs on the daemon's main thread, which feeds systemd's watchdog: it must
// never wait without bound. Here an application holds an ACCESS EXCLUSIVE lock on a replica
// table (a long transaction) while the source gains a column, so the step needs DDL on the
// locked table. The step must give up after k_schema_lock_wait with a message saying what it
// waited for, leave the other replica copying, answer SIGTERM, and migrate once the lock goes.
#include <gtest/gtest.h>

#include <csignal>

#include "copy_harness.hpp"
#include "syncset/daemon/schema_step.hpp"

namespace syncset::test {
namespace {

class SchemaStepLockWait : public CopyTest {
  protected:
    std::size_t count_in_log(const SyncsetProcess& daemon, const std::string& text) const {
        const std::string log = daemon.err();
        std::size_t count = 0;
        for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
            ++count;
        }
        return count;
    }

    // Whether replica b's schema step session is waiting for a lock now.
    bool step_waits_for_a_lock() {
        return query_value(Server::replica,
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND application_name = 'syncset/replica:b' "
                           "AND wait_event_type = 'Lock'") != "0";
    }
};

TEST_F(SchemaStepLockWait, ALockedReplicaTableBoundsTheStepKeepsTheLoopAliveAndMigratesLater) {
    exec_source(
        "CREATE TABLE orders (id int PRIMARY KEY, v text);"
        "INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 50) g;"
        "CREATE TABLE events (id int PRIMARY KEY, v text);"
        "INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 20) g;");
    // Two replicas in one database: `a` copies events into side.events, `b` copies orders.
    // orders polls rarely, so only the schema step (not its copy loop) meets the lock.
    const std::string yaml = config_for(
        {{"a", replica_dsn(),
          "      - source: public.events\n        target: side.events\n"
          "        cursor: none\n        poll_interval: 200ms\n"},
         {"b", replica_dsn(),
          "      - source: public.orders\n        cursor: none\n        poll_interval: 10m\n"}});
    SyncsetProcess daemon({"run"}, yaml);
    ASSERT_TRUE(eventually_same_rows("SELECT id, v FROM orders ORDER BY id",
                                     "SELECT id, v FROM public.orders ORDER BY id", 30s))
        << daemon.describe();
    ASSERT_TRUE(eventually_same_rows("SELECT id, v FROM events ORDER BY id",
                                     "SELECT id, v FROM side.events ORDER BY id", 30s))
        << daemon.describe();

    // An application's long transaction on the replica table, then a source change that needs
    // ALTER TABLE on it.
    auto application = std::make_unique<PlainConnection>(replica_dsn(), "app-long-transaction");
    application->exec("BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE");
    exec_source("ALTER TABLE orders ADD COLUMN note text; UPDATE orders SET note = 'n' || id");

    const std::string failure =
        "replica b: schema step waited " + std::to_string(daemon::k_schema_lock_wait.count()) +
        " s for a lock on public.orders held by another session; retrying at the next check";
    const auto locked_at = Clock::now();
    ASSERT_TRUE(wait_until([&] { return count_in_log(daemon, failure) > 0; },
                           daemon::k_schema_lock_wait + 20s))
        << daemon.describe();
    EXPECT_GE(Clock::now() - locked_at, daemon::k_schema_lock_wait - 1s);
    EXPECT_NE(daemon.err().find("replica unavailable; its tables wait"), std::string::npos)
        << daemon.describe();
    EXPECT_TRUE(daemon.running()) << daemon.describe();

    // The main loop goes on: replica a still receives new rows while b's step keeps retrying.
    exec_source("INSERT INTO events SELECT g, 'e' || g FROM generate_series(21, 30) g");
    EXPECT_TRUE(eventually_same_rows("SELECT id, v FROM events ORDER BY id",
                                     "SELECT id, v FROM side.events ORDER BY id",
                                     daemon::k_schema_lock_wait + 15s))
        << daemon.describe();
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                          "'public' AND table_name = 'orders' AND column_name = 'note'"),
              "0")
        << "the DDL committed while the table was locked?";

    // The lock goes: the next check migrates b, and the new column is filled.
    application->exec("ROLLBACK");
    EXPECT_TRUE(eventually_same_rows("SELECT id, v, note FROM orders ORDER BY id",
                                     "SELECT id, v, note FROM public.orders ORDER BY id",
                                     daemon::k_schema_lock_wait + 20s))
        << daemon.describe();

    // SIGTERM while a step waits for a lock is answered once that wait ends, within the bound.
    application->exec("BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE");
    exec_source("ALTER TABLE orders ADD COLUMN note2 text");
    ASSERT_TRUE(wait_until([&] { return step_waits_for_a_lock(); }, 20s, 50ms))
        << daemon.describe();
    const auto term_at = Clock::now();
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(daemon::k_schema_lock_wait + 10s), 0) << daemon.describe();
    EXPECT_LT(Clock::now() - term_at, daemon::k_schema_lock_wait + 5s) << daemon.describe();
    application->exec("ROLLBACK");
}

}  // namespace
}  // namespace syncset::test
