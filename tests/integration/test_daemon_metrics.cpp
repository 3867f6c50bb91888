// `metrics.listen` against the real binary: what a Prometheus scrape and a Kubernetes or
// compose probe see. Guards that the counters follow the rows really copied, that nothing
// secret (a password, an excluded column) reaches /metrics, that /healthz answers without any
// database while /readyz names what is not ready, and that a port in use fails the start.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <optional>
#include <regex>
#include <string>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

struct Reply {
    int status = 0;  // 0: no answer
    std::string body;
};

Reply get(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(5, 0);
    if (auto result = client.Get(path.c_str())) {
        return Reply{result->status, result->body};
    }
    return Reply{};
}

// The value of the sample whose name and labels are `series` exactly, or nullopt.
std::optional<double> sample(const std::string& text, const std::string& series) {
    const std::string prefix = series + " ";
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = text.find('\n', at);
        const std::string line = text.substr(at, end - at);
        if (line.rfind(prefix, 0) == 0) {
            return std::stod(line.substr(prefix.size()));
        }
        if (end == std::string::npos) {
            break;
        }
        at = end + 1;
    }
    return std::nullopt;
}

// Polls /metrics until `series` has `value`.
bool eventually_sample(int port, const std::string& series, double value,
                       std::chrono::milliseconds timeout, std::string& last) {
    return wait_until(
        [&] {
            last = get(port, "/metrics").body;
            return sample(last, series) == value;
        },
        timeout);
}

std::string metrics_key(int port) {
    return "metrics:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\n";
}

class DaemonMetrics : public CopyTest {};

TEST_F(DaemonMetrics, CountersFollowTheRowsCopiedAndNothingSecretIsExposed) {
    exec_source(
        "CREATE TABLE orders (id int PRIMARY KEY, region text NOT NULL, card_number text, "
        "updated_at timestamptz NOT NULL DEFAULT now());"
        "INSERT INTO orders SELECT g, CASE WHEN g % 4 = 0 THEN 'us' ELSE 'eu' END, "
        "'4111-secret-' || g FROM generate_series(1, 400) g;");
    const int port = closed_local_port();
    // A password in the DSN: it must never appear in /metrics.
    const std::string dsn = source_dsn() + " password=hunter2-never-shown";
    const std::string yaml =
        config_with_source(dsn,
                           "      - source: public.orders\n        exclude: [card_number]\n"
                           "        where: \"region = 'eu'\"\n        cursor: updated_at\n"
                           "        poll_interval: 200ms\n",
                           metrics_key(port));
    SyncsetProcess daemon({"run"}, yaml);
    const std::string labels = R"({replica="r",table="public.orders")";
    std::string text;
    ASSERT_TRUE(eventually_sample(
        port, "syncset_rows_copied_total" + labels + R"(,phase="snapshot"})", 300, 60s, text))
        << text << daemon.describe();
    ASSERT_TRUE(eventually_sample(port, "syncset_table_phase" + labels + R"(,phase="incremental"})",
                                  1, 30s, text))
        << text;
    EXPECT_EQ(sample(text, "syncset_table_phase" + labels + R"(,phase="snapshot"})"), 0);
    EXPECT_EQ(sample(text, "syncset_source_up"), 1);
    EXPECT_EQ(sample(text, R"(syncset_replica_up{replica="r"})"), 1);
    EXPECT_EQ(sample(text, R"(syncset_build_info{version=")" SYNCSET_VERSION R"("})"), 1);
    EXPECT_GE(sample(text, "syncset_batches_total" + labels + "}").value_or(0), 1);
    EXPECT_GT(sample(text, "syncset_bytes_copied_total" + labels + "}").value_or(0), 300 * 10);
    EXPECT_TRUE(sample(text, "syncset_lag_seconds" + labels + "}").has_value()) << text;
    EXPECT_TRUE(sample(text, "syncset_last_success_timestamp_seconds" + labels + "}").has_value());
    EXPECT_GT(sample(text, "process_resident_memory_bytes").value_or(0), 0);
    EXPECT_GT(sample(text, "process_open_fds").value_or(0), 0);
    EXPECT_TRUE(sample(text, "process_start_time_seconds").has_value());

    // Five updates inside the filter, and one row that leaves it (deleted on the replica).
    exec_source("UPDATE orders SET updated_at = now() WHERE id IN (1, 2, 3, 5, 6)");
    exec_source("UPDATE orders SET region = 'us', updated_at = now() WHERE id = 7");
    ASSERT_TRUE(eventually_sample(port, "syncset_rows_deleted_total" + labels + "}", 1, 30s, text))
        << text << daemon.describe();
    // The incremental reads count every changed row they copied, the one that left included.
    // At least six: while another session's transaction is open the cursor is capped below it,
    // so a later poll may read (and count) the same rows again.
    EXPECT_GE(
        sample(text, "syncset_rows_copied_total" + labels + R"(,phase="incremental"})").value_or(0),
        6)
        << text;
    EXPECT_TRUE(
        eventually_same_rows("SELECT id, region FROM orders WHERE region = 'eu' ORDER BY id",
                             "SELECT id, region FROM orders ORDER BY id", 30s));
    EXPECT_EQ(sample(text, "syncset_errors_total" + labels + R"(,retryable="true"})"), 0);

    for (const char* secret : {"hunter2", "password", "card_number", "4111", "port=", "host="}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in /metrics:\n" << text;
    }
    Reply ready = get(port, "/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_EQ(ready.body, "{\"ready\":true}\n");
    Reply alive = get(port, "/healthz");
    EXPECT_EQ(alive.status, 200) << alive.body;
    EXPECT_EQ(get(port, "/secrets").status, 404);

    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

TEST_F(DaemonMetrics, ReadinessNamesAnUnreachableReplicaWhileLivenessStaysUp) {
    exec_source(
        "CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items VALUES (1, 'a')");
    const int port = closed_local_port();
    const std::string tables =
        "      - source: public.items\n        cursor: none\n"
        "        poll_interval: 200ms\n";
    const std::string gone_dsn = "host=127.0.0.1 port=" + std::to_string(closed_local_port()) +
                                 " user=postgres dbname=nowhere connect_timeout=2";
    const std::string yaml =
        config_for({{"r", replica_dsn(), tables}, {"gone", gone_dsn, tables}}, metrics_key(port));
    SyncsetProcess daemon({"run"}, yaml);
    Reply ready;
    ASSERT_TRUE(wait_until(
        [&] {
            ready = get(port, "/readyz");
            return ready.status == 503 && ready.body.find("starting") == std::string::npos;
        },
        60s))
        << ready.status << " " << ready.body << daemon.describe();
    EXPECT_EQ(ready.body, "{\"ready\":false,\"not_ready\":[\"replica gone down\"]}\n");
    EXPECT_EQ(get(port, "/healthz").status, 200);
    std::string text;
    ASSERT_TRUE(eventually_sample(port, R"(syncset_replica_up{replica="r"})", 1, 30s, text))
        << text;
    EXPECT_EQ(sample(text, R"(syncset_replica_up{replica="gone"})"), 0) << text;
    // The reachable replica is not held back.
    EXPECT_TRUE(eventually_same_rows("SELECT id, v FROM items ORDER BY id",
                                     "SELECT id, v FROM items ORDER BY id", 30s));
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

TEST_F(DaemonMetrics, WhileTheSourceIsAwaitedLivenessAnswersAndReadinessNamesTheSource) {
    const int port = closed_local_port();
    const std::string gone_source = "host=127.0.0.1 port=" + std::to_string(closed_local_port()) +
                                    " user=postgres dbname=nowhere connect_timeout=2";
    const std::string yaml =
        config_with_source(gone_source, "      - source: public.items\n", metrics_key(port));
    SyncsetProcess daemon({"run"}, yaml);
    Reply ready;
    ASSERT_TRUE(wait_until(
        [&] {
            ready = get(port, "/readyz");
            return ready.body.find("source unreachable") != std::string::npos;
        },
        30s))
        << ready.status << " " << ready.body << daemon.describe();
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(ready.body,
              "{\"ready\":false,\"not_ready\":[\"starting: the first schema step is not done\","
              "\"source unreachable\"]}\n");
    // Liveness never touches a database: a restart would not bring the source back.
    Reply alive = get(port, "/healthz");
    EXPECT_EQ(alive.status, 200) << alive.body;
    EXPECT_EQ(sample(get(port, "/metrics").body, "syncset_source_up"), 0);
    EXPECT_TRUE(daemon.running());
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

TEST_F(DaemonMetrics, AStoppedTableIsNamedByReadinessAndItsPhaseGauge) {
    exec_source("CREATE TABLE items (id int PRIMARY KEY, n int); INSERT INTO items VALUES (1, 1)");
    const int port = closed_local_port();
    const std::string yaml =
        config("      - source: public.items\n        cursor: none\n        poll_interval: 200ms\n",
               metrics_key(port) + "schema_changes:\n  type_change: stop\n");
    SyncsetProcess daemon({"run"}, yaml);
    ASSERT_TRUE(wait_until([&] { return get(port, "/readyz").status == 200; }, 60s))
        << daemon.describe();
    exec_source("ALTER TABLE items ALTER COLUMN n TYPE text");
    Reply ready;
    ASSERT_TRUE(wait_until(
        [&] {
            ready = get(port, "/readyz");
            return ready.status == 503;
        },
        60s))
        << ready.body << daemon.describe();
    EXPECT_EQ(ready.body,
              "{\"ready\":false,\"not_ready\":[\"table public.items on replica r stopped\"]}\n");
    const std::string text = get(port, "/metrics").body;
    EXPECT_EQ(
        sample(text, R"(syncset_table_phase{replica="r",table="public.items",phase="stopped"})"), 1)
        << text;
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

TEST_F(DaemonMetrics, DriftFoundAndRepairedIsCounted) {
    // Rows stamped a day ago: behind any transaction other tests hold open, so the copy loop
    // never re-reads them (the late-commit rule would) and only the drift scanner sees the
    // damage done on the replica.
    exec_source(
        "CREATE TABLE items (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL "
        "DEFAULT now() - interval '1 day'); "
        "INSERT INTO items (id, v) SELECT g, 'v' || g FROM generate_series(1, 200) g");
    const int port = closed_local_port();
    const std::string labels = R"({replica="r",table="public.items")";
    auto yaml = [&](bool repair) {
        return "source:\n  dsn: " + yaml_quote(source_dsn()) + "\ndrift:\n  interval: 1s\n" +
               "  repair: " + (repair ? "true" : "false") + "\n" + metrics_key(port) +
               "replicas:\n  - name: r\n    dsn: " + yaml_quote(replica_dsn()) +
               "\n    tables:\n      - source: public.items\n        cursor: updated_at\n"
               "        poll_interval: 300ms\n";
    };
    auto gauges = [&](const std::string& text) {
        std::string out;
        for (const char* kind : {"missing", "extra", "different"}) {
            auto value = sample(text, "syncset_drift_rows" + labels + ",kind=\"" + kind + "\"}");
            out += value ? std::to_string(static_cast<int>(*value)) : "?";
        }
        return out;
    };
    std::string text;
    {
        SyncsetProcess daemon({"run"}, yaml(false));
        ASSERT_TRUE(eventually_sample(
            port, "syncset_table_phase" + labels + R"(,phase="incremental"})", 1, 60s, text))
            << text << daemon.describe();
        EXPECT_EQ(sample(text, "syncset_rows_copied_total" + labels + R"(,phase="snapshot"})"),
                  200);
        // One replica transaction, so a scan sees all of it or none.
        exec_replica(
            "BEGIN; DELETE FROM items WHERE id = 7; "
            "UPDATE items SET v = 'drifted' WHERE id = 9; "
            "INSERT INTO items VALUES (1000, 'extra', now() - interval '1 day'); "
            "COMMIT;");
        ASSERT_TRUE(wait_until(
            [&] {
                text = get(port, "/metrics").body;
                return gauges(text) == "111";
            },
            60s))
            << gauges(text) << "\n"
            << text << daemon.describe();
        EXPECT_TRUE(
            sample(text, "syncset_drift_last_scan_timestamp_seconds" + labels + "}").has_value());
        EXPECT_EQ(sample(text, "syncset_rows_copied_total" + labels + R"(,phase="repair"})"), 0);
        daemon.send_signal(SIGTERM);
        EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
    }
    SyncsetProcess daemon({"run"}, yaml(true));
    // Repaired: the missing and the different row written, the extra one deleted; the next
    // scan finds the table in sync.
    ASSERT_TRUE(eventually_sample(
        port, "syncset_rows_copied_total" + labels + R"(,phase="repair"})", 2, 60s, text))
        << text << daemon.describe();
    EXPECT_EQ(sample(text, "syncset_rows_deleted_total" + labels + "}"), 1) << text;
    ASSERT_TRUE(wait_until(
        [&] {
            text = get(port, "/metrics").body;
            return gauges(text) == "000";
        },
        30s))
        << gauges(text) << "\n"
        << text;
    expect_same_rows("SELECT id, v FROM items ORDER BY id", "SELECT id, v FROM items ORDER BY id");
    EXPECT_EQ(sample(text, "syncset_rows_copied_total" + labels + R"(,phase="incremental"})"), 0)
        << "the loop must not have repaired the rows itself";
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

// A listening socket of the test's own on 127.0.0.1.
class Listener {
  public:
    Listener() {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(m_fd, 1) != 0 ||
            ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            throw std::runtime_error("cannot listen on 127.0.0.1");
        }
        m_port = ntohs(address.sin_port);
    }
    ~Listener() { ::close(m_fd); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    int port() const { return m_port; }

  private:
    int m_fd = -1;
    int m_port = 0;
};

TEST_F(DaemonMetrics, APortInUseFailsTheStartWithExit2BeforeAnyDatabaseIsTouched) {
    exec_source("CREATE TABLE items (id int PRIMARY KEY)");
    Listener taken;
    const std::string yaml = config("      - source: public.items\n", metrics_key(taken.port()));
    CliResult result = run_syncset_bounded({"run"}, yaml, 30s);
    EXPECT_EQ(result.exit_status, 2) << result.err;
    EXPECT_NE(result.err.find("syncset: metrics.listen: cannot listen on 127.0.0.1:" +
                              std::to_string(taken.port()) + ": address already in use"),
              std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("HINT: "), std::string::npos) << result.err;
    // Nothing was started: no metadata schema, no table on the replica.
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM pg_namespace WHERE nspname = "
                          "'_syncset'"),
              "0");
    EXPECT_EQ(query_value(Server::replica, "SELECT to_regclass('public.items') IS NULL"), "t");
    // validate does not bind: the same config is valid.
    CliResult validated = run_syncset_bounded({"validate"}, yaml, 30s);
    EXPECT_EQ(validated.exit_status, 0) << validated.err;
}

}  // namespace
}  // namespace syncset::test
