// Several `syncset run` processes with one config share a replica's tables through claims
// (state/claims.hpp): each table is worked by one process at a time, a killed or frozen
// process's tables are taken over once its claims lapse (a frozen batch's session is ended by
// the new holder), and no checkpoint is ever written by a process that lost the claim.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

constexpr int k_tables = 4;

std::string table_name(int i) {
    return "acct" + std::to_string(i);
}

std::string rows_query(int i) {
    return "SELECT id, balance, updated_at FROM " + table_name(i) + " ORDER BY id";
}

class DaemonClaims : public CopyTest {
  protected:
    void create_tables() {
        std::string sql;
        for (int i = 1; i <= k_tables; ++i) {
            const std::string t = table_name(i);
            sql += "CREATE TABLE " + t +
                   " (id bigint PRIMARY KEY, balance int NOT NULL, "
                   "updated_at timestamptz NOT NULL DEFAULT clock_timestamp()); "
                   "INSERT INTO " +
                   t + " (id, balance) SELECT g, g FROM generate_series(1, 2000) g; ";
        }
        exec_source(sql);
    }

    static std::string tables() {
        std::string yaml;
        for (int i = 1; i <= k_tables; ++i) {
            yaml += "      - source: public." + table_name(i) +
                    "\n        cursor: updated_at\n        batch_rows: 500\n"
                    "        poll_interval: 500ms\n";
        }
        return yaml;
    }

    // Every checkpoint on the replica is logged with its writer, and one written by a process
    // that did not hold the table's claim (the writer differs from the holder it replaced) is a
    // violation. A checkpoint is the only write that sets last_success.
    void watch_checkpoints() {
        exec_replica(R"sql(
            CREATE TABLE public.checkpoints (target text, holder text, writer text,
                                             at timestamptz DEFAULT clock_timestamp());
            CREATE FUNCTION public.log_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.last_success IS DISTINCT FROM OLD.last_success THEN
                    INSERT INTO public.checkpoints (target, holder, writer)
                    VALUES (NEW.target_name, OLD.claimed_by, NEW.claimed_by);
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER log_checkpoint AFTER UPDATE ON _syncset.tables
                FOR EACH ROW EXECUTE FUNCTION public.log_checkpoint();)sql");
    }

    std::unique_ptr<BackgroundWriter> start_writer() {
        return std::make_unique<BackgroundWriter>(
            source_dsn(),
            [rng = std::mt19937(7)](PlainConnection& conn, std::uint64_t n) mutable {
                const std::string t =
                    table_name(static_cast<int>(n % static_cast<std::uint64_t>(k_tables)) + 1);
                const std::string id =
                    std::to_string(std::uniform_int_distribution<int>(1, 2000)(rng));
                if (n % 5 == 0) {
                    conn.exec("INSERT INTO " + t + " (id, balance) VALUES (" +
                              std::to_string(100000 + n) + ", 1)");
                } else {
                    conn.exec("UPDATE " + t +
                              " SET balance = balance + 1, updated_at = clock_timestamp() "
                              "WHERE id = " +
                              id);
                }
            },
            5ms);
    }

    // The pid in each table's claimed_by (`<host> pid <pid> <hex>`), by table; 0 for none or
    // a lapsed claim.
    std::map<std::string, int> holders() {
        std::map<std::string, int> out;
        for (int i = 1; i <= k_tables; ++i) {
            const std::string pid = query_value(
                Server::replica,
                "SELECT coalesce((SELECT split_part(split_part(claimed_by, ' pid ', 2), ' ', 1) "
                "FROM _syncset.tables WHERE target_name = '" +
                    table_name(i) + "' AND claimed_until > clock_timestamp()), '')");
            out[table_name(i)] = pid.empty() ? 0 : std::stoi(pid);
        }
        return out;
    }

    // Whether, within 20 s, one of syncset's copy sessions on the replica waits for a lock
    // (its batch stopped by the test's LOCK TABLE).
    bool a_batch_waits_for_a_lock() {
        return wait_until(
            [&] {
                return query_value(Server::replica,
                                   "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                                   "LIKE 'syncset/replica%' AND wait_event_type = 'Lock' AND "
                                   "datname = current_database()") != "0";
            },
            20s);
    }

    std::string describe(std::vector<std::unique_ptr<SyncsetProcess>>& daemons) {
        std::string text;
        for (auto& d : daemons) {
            text += d->describe(1500) + "\n";
        }
        return text;
    }
};

TEST_F(DaemonClaims, ThreeDaemonsOneKilledOneFrozenMidBatchConvergeWithNoBatchFromALostClaim) {
    create_tables();
    const std::string yaml = config(tables());
    ASSERT_EQ(run_once(yaml).exit_status, 0);
    watch_checkpoints();
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM _syncset.tables WHERE claimed_by IS NOT NULL"),
              "0")
        << "run --once gave its claims up when it ended";

    std::vector<std::unique_ptr<SyncsetProcess>> daemons;
    for (int i = 0; i < 3; ++i) {
        daemons.push_back(std::make_unique<SyncsetProcess>(std::vector<std::string>{"run"}, yaml));
    }
    auto daemon_of = [&](int pid) -> SyncsetProcess* {
        for (auto& d : daemons) {
            if (d->pid() == pid) {
                return d.get();
            }
        }
        return nullptr;
    };
    auto writer = start_writer();
    // Every table is claimed by one of the three.
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto& [table, pid] : holders()) {
                if (daemon_of(pid) == nullptr) {
                    return false;
                }
            }
            return true;
        },
        30s))
        << describe(daemons);
    std::this_thread::sleep_for(1s);

    // kill -9 the holder of acct1: its tables are taken over once its claims lapse (lease 2 s).
    const int killed = holders().at("acct1");
    daemon_of(killed)->kill_now();
    EXPECT_TRUE(wait_until(
        [&] {
            for (const auto& [table, pid] : holders()) {
                if (pid == killed || daemon_of(pid) == nullptr || !daemon_of(pid)->running()) {
                    return false;
                }
            }
            return true;
        },
        20s))
        << "the killed process's tables were not taken over\n"
        << describe(daemons);

    // Stop the holder of acct2 in the middle of a batch: the batch waits on a lock the test
    // holds, the process is stopped (SIGSTOP) for longer than its lease, and another takes the
    // table over. The frozen batch keeps the table's batch lock (and would keep its rows'), so
    // the new holder ends that session; the table is copied again while the old holder is
    // still frozen, and whatever it does once resumed cannot commit.
    const int stopped = holders().at("acct2");
    SyncsetProcess* stopped_daemon = daemon_of(stopped);
    ASSERT_NE(stopped_daemon, nullptr);
    PlainConnection blocker(replica_dsn(), "test-blocker");
    blocker.exec("BEGIN; LOCK TABLE public.acct2 IN SHARE MODE");
    const bool waiting = a_batch_waits_for_a_lock();
    ASSERT_TRUE(waiting) << "no batch waited for the lock\n" << describe(daemons);
    stopped_daemon->send_signal(SIGSTOP);
    const bool taken_over = wait_until(
        [&] {
            const int holder = holders().at("acct2");
            return holder != 0 && holder != stopped;
        },
        20s);
    blocker.exec("COMMIT");
    EXPECT_TRUE(taken_over) << "the stopped process's table was not taken over\n"
                            << describe(daemons);
    exec_source("INSERT INTO acct2 (id, balance) VALUES (-1, -1)");
    const bool copied_while_frozen = wait_until(
        [&] {
            return query_value(Server::replica, "SELECT count(*) FROM acct2 WHERE id = -1") == "1";
        },
        30s);
    stopped_daemon->send_signal(SIGCONT);
    EXPECT_TRUE(copied_while_frozen)
        << "the table was not copied while its old holder stayed frozen\n"
        << describe(daemons);
    const int new_holder = holders().at("acct2");
    ASSERT_NE(daemon_of(new_holder), nullptr);
    EXPECT_NE(daemon_of(new_holder)->err().find("ended the open batch of a syncset process"),
              std::string::npos)
        << daemon_of(new_holder)->describe();

    std::this_thread::sleep_for(2s);
    writer->stop();
    EXPECT_GT(writer->steps_done(), 100U) << writer->last_error();
    for (int i = 1; i <= k_tables; ++i) {
        EXPECT_TRUE(eventually_same_rows(rows_query(i), rows_query(i), 60s))
            << table_name(i) << "\n"
            << describe(daemons);
    }
    ASSERT_TRUE(stopped_daemon->running()) << "the resumed process kept running\n"
                                           << stopped_daemon->describe();
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM public.checkpoints WHERE holder IS DISTINCT "
                          "FROM writer"),
              "0")
        << "a checkpoint was written by a process that did not hold the claim: "
        << query_value(Server::replica,
                       "SELECT string_agg(target || ': ' || coalesce(holder, '-') || ' -> ' || "
                       "writer, '; ') FROM public.checkpoints WHERE holder IS DISTINCT FROM "
                       "writer");
    EXPECT_GE(std::stoi(query_value(Server::replica,
                                    "SELECT count(DISTINCT writer) FROM public.checkpoints")),
              2)
        << "the tables were not shared: the test proved nothing";

    for (auto& d : daemons) {
        if (d->pid() == killed) {
            continue;
        }
        ASSERT_TRUE(d->running()) << d->describe();
        d->send_signal(SIGTERM);
        EXPECT_EQ(d->wait(20s), std::optional<int>(0)) << d->describe();
    }
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM _syncset.tables WHERE "
                          "claimed_by IS NOT NULL"),
              "0")
        << "a clean stop gives its claims up";
}

// The fence itself, where the new holder cannot end the frozen batch: the frozen process runs
// as a superuser and the new holder as a plain role, which may not terminate a superuser's
// session. The new holder then waits (its batches yield) until the frozen process resumes,
// finds its claim taken at its checkpoint, and rolls its batch back: it never commits it.
TEST_F(DaemonClaims, AFrozenBatchTheNewHolderCannotEndIsRolledBackByTheFence) {
    create_tables();
    const std::string table =
        "      - source: public.acct1\n        cursor: updated_at\n"
        "        poll_interval: 500ms\n";
    ASSERT_EQ(run_once(config(table)).exit_status, 0);
    watch_checkpoints();
    const std::string password = "pw-claims-fence";
    const std::string plain = create_login_role(password);
    exec_source("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + plain);
    exec_replica("GRANT CREATE ON DATABASE " + database_name() + " TO " + plain +
                 "; GRANT USAGE ON SCHEMA _syncset, public TO " + plain +
                 "; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA _syncset, public "
                 "TO " +
                 plain);
    const std::string plain_yaml =
        config_with_source(dsn_as(Server::source, plain, password), "") +
        "  - name: r\n    dsn: " + yaml_quote(dsn_as(Server::replica, plain, password)) +
        "\n    tables:\n" + table;

    SyncsetProcess frozen({"run"}, config(table));
    ASSERT_TRUE(wait_until([&] { return holders().at("acct1") == frozen.pid(); }, 30s))
        << frozen.describe();
    PlainConnection blocker(replica_dsn(), "test-blocker");
    blocker.exec("BEGIN; LOCK TABLE public.acct1 IN SHARE MODE");
    exec_source("UPDATE acct1 SET balance = -7, updated_at = clock_timestamp() WHERE id = 7");
    ASSERT_TRUE(a_batch_waits_for_a_lock()) << "no batch waited for the lock\n"
                                            << frozen.describe();
    frozen.send_signal(SIGSTOP);

    SyncsetProcess holder({"run"}, plain_yaml);
    const bool taken_over = wait_until([&] { return holders().at("acct1") == holder.pid(); }, 30s);
    blocker.exec("COMMIT");  // the frozen batch now holds its rows, waiting for its client
    std::this_thread::sleep_for(1s);
    frozen.send_signal(SIGCONT);
    ASSERT_TRUE(taken_over) << holder.describe();
    EXPECT_TRUE(
        wait_until([&] { return frozen.err().find("claim lost") != std::string::npos; }, 30s))
        << "the resumed process's batch did not meet the fence\n"
        << frozen.describe();
    const std::string q = rows_query(1);
    EXPECT_TRUE(eventually_same_rows(q, q, 60s)) << holder.describe() << frozen.describe();
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM public.checkpoints WHERE holder IS DISTINCT "
                          "FROM writer"),
              "0")
        << "a checkpoint was written by a process that did not hold the claim";
    holder.send_signal(SIGTERM);
    frozen.send_signal(SIGTERM);
    EXPECT_EQ(holder.wait(20s), std::optional<int>(0)) << holder.describe();
    EXPECT_EQ(frozen.wait(20s), std::optional<int>(0)) << frozen.describe();
}

// A daemon killed with -9 and started again on the same host: the new process sees the old
// one is gone and takes its tables at once, not after the lease (here 20 s: poll 10 s).
TEST_F(DaemonClaims, ADaemonRestartedAfterKillNineTakesItsTablesAtOnce) {
    create_tables();
    std::string yaml_tables;
    for (int i = 1; i <= 2; ++i) {
        yaml_tables += "      - source: public." + table_name(i) +
                       "\n        cursor: updated_at\n        poll_interval: 10s\n";
    }
    const std::string yaml = config(yaml_tables);
    auto first = std::make_unique<SyncsetProcess>(std::vector<std::string>{"run"}, yaml);
    ASSERT_TRUE(eventually_same_rows(rows_query(1), rows_query(1), 60s)) << first->describe();
    ASSERT_TRUE(eventually_same_rows(rows_query(2), rows_query(2), 60s)) << first->describe();
    const int killed = first->pid();
    first->kill_now();
    EXPECT_EQ(holders().at("acct1"), killed) << "its claim is still live after kill -9";

    SyncsetProcess second({"run"}, yaml);
    EXPECT_TRUE(wait_until([&] { return holders().at("acct1") == second.pid(); }, 15s))
        << second.describe();
    EXPECT_NE(second.err().find("claims of a syncset process that is gone released"),
              std::string::npos)
        << second.describe();
    exec_source("UPDATE acct1 SET balance = -1, updated_at = clock_timestamp() WHERE id = 5");
    EXPECT_TRUE(eventually_same_rows(rows_query(1), rows_query(1), 30s)) << second.describe();
    second.send_signal(SIGTERM);
    EXPECT_EQ(second.wait(20s), std::optional<int>(0)) << second.describe();
}

// `run --once` beside a running daemon: the tables the daemon holds are left to it (after two
// leases of trying), so the one-shot run ends instead of waiting for ever.
TEST_F(DaemonClaims, RunOnceBesideARunningDaemonLeavesItsTablesToItAndEnds) {
    create_tables();
    const std::string yaml = config(tables());
    SyncsetProcess daemon({"run"}, yaml);
    ASSERT_TRUE(eventually_same_rows(rows_query(1), rows_query(1), 60s)) << daemon.describe();
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto& [table, pid] : holders()) {
                if (pid != daemon.pid()) {
                    return false;
                }
            }
            return true;
        },
        30s))
        << daemon.describe();
    CliResult once = run_once(yaml, 60s);
    EXPECT_EQ(once.exit_status, 0) << once.err;
    EXPECT_NE(once.err.find("--once leaves it to it"), std::string::npos) << once.err;
    EXPECT_TRUE(daemon.running()) << daemon.describe();
    for (const auto& [table, pid] : holders()) {
        EXPECT_EQ(pid, daemon.pid()) << table << ": the daemon kept its claim";
    }
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(20s), std::optional<int>(0)) << daemon.describe();
}

}  // namespace
}  // namespace syncset::test
