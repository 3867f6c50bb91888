// Harness for the copy engine's promise tests: they drive the real `syncset` binary (black box)
// against the real server pair of PgPairTest and compare whole tables on both sides.
//
//     class CopyLoop : public syncset::test::CopyTest {};
//     TEST_F(CopyLoop, RowsArrive) {
//         exec_source("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
//         const std::string yaml = config("      - source: public.t\n");
//         SyncsetProcess daemon({"run"}, yaml);
//         EXPECT_TRUE(eventually_same_rows("SELECT id FROM t ORDER BY id",
//                                          "SELECT id FROM t ORDER BY id", 10s)) <<
//                                          daemon.describe();
//     }
//
// Every child process and thread here is owned by an RAII object that kills / stops it on
// destruction, so a failing ASSERT leaves nothing running. Output of the binary goes to files
// (bounded by RLIMIT_FSIZE) and only their tails are ever printed.
#pragma once

#include <libpq-fe.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "pg_fixture.hpp"

namespace syncset::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A YAML single-quoted scalar: conninfo values may themselves hold quotes.
std::string yaml_quote(std::string_view text);

// A TCP port on 127.0.0.1 that nothing listens on (bound, read back, closed).
int closed_local_port();

// Polls `predicate` every `poll` until it returns true or `timeout` passes. A predicate that
// throws counts as false (a connection broken by a server restart, a table not created yet).
bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = 100ms);

// Compares two full, ordered query results. On a difference the message gives both row counts,
// the first rows found on only one side (as multisets, so a stale row shows as one missing and
// one extra) or, when only the order differs, the first position that differs. Long values
// are cut.
::testing::AssertionResult compare_rows(const Rows& source, const Rows& replica);

// A config file on disk, removed on destruction.
class ConfigFile {
  public:
    explicit ConfigFile(const std::string& yaml);
    ~ConfigFile();
    ConfigFile(const ConfigFile&) = delete;
    ConfigFile& operator=(const ConfigFile&) = delete;
    const std::string& path() const { return m_path; }

  private:
    std::string m_path;
};

// `syncset <args...> <config>` as a child process, stdout and stderr to files. Destruction
// SIGKILLs it if it still runs, reaps it and removes the files (kept when
// SYNCSET_TEST_KEEP_LOGS=1).
class SyncsetProcess {
  public:
    // Writes `yaml` to a config file of its own and starts the binary, with `extra_env`
    // (NAME=VALUE each) added to this process's environment.
    SyncsetProcess(const std::vector<std::string>& args, const std::string& yaml,
                   const std::vector<std::string>& extra_env = {});
    ~SyncsetProcess();
    SyncsetProcess(const SyncsetProcess&) = delete;
    SyncsetProcess& operator=(const SyncsetProcess&) = delete;

    pid_t pid() const { return m_pid; }
    // True while the child has not exited (reaps it when it has).
    bool running();
    void send_signal(int signal);
    // Waits up to `timeout` for the child to exit. Its status as cli_runner reports it
    // (exit code, or 128 + signal), nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // SIGKILL and reap.
    void kill_now();
    // The exit status once it has exited.
    std::optional<int> exit_status() const { return m_status; }

    std::string out() const;
    std::string err() const;
    const std::string& out_path() const { return m_out_path; }
    const std::string& err_path() const { return m_err_path; }
    // For failure messages: pid, state or exit status, and the tails of stdout and stderr.
    std::string describe(std::size_t tail_bytes = 3000);

  private:
    ConfigFile m_config;
    std::string m_out_path;
    std::string m_err_path;
    pid_t m_pid = -1;
    std::optional<int> m_status;
};

// `syncset <args...> CONFIG` run to completion, killed after `timeout` (then exit_status is -1
// and err says so).
CliResult run_syncset_bounded(const std::vector<std::string>& args, const std::string& yaml,
                              std::chrono::milliseconds timeout);

// A plain libpq session, NOT named syncset/... (so it is never mistaken for one of syncset's
// sessions): what an application writing to the source looks like. Throws std::runtime_error.
class PlainConnection {
  public:
    PlainConnection(const std::string& dsn, const std::string& application_name);
    ~PlainConnection();
    PlainConnection(const PlainConnection&) = delete;
    PlainConnection& operator=(const PlainConnection&) = delete;

    void exec(const std::string& sql);
    // The single value of a one-row, one-column query ("" for NULL).
    std::string query_value(const std::string& sql);
    bool ok() const;

  private:
    PGconn* m_conn = nullptr;
};

// Runs `step(connection, n)` for n = 0, 1, 2, ... on a thread with its own PlainConnection
// until stop(), pausing `pause` between steps. After an error it counts it, reconnects and goes
// on with the next step, so the writer survives server restarts.
class BackgroundWriter {
  public:
    using Step = std::function<void(PlainConnection&, std::uint64_t)>;

    BackgroundWriter(std::string dsn, Step step, std::chrono::milliseconds pause = 2ms);
    ~BackgroundWriter();
    BackgroundWriter(const BackgroundWriter&) = delete;
    BackgroundWriter& operator=(const BackgroundWriter&) = delete;

    // Stops and joins (idempotent).
    void stop();
    std::uint64_t steps_done() const { return m_done.load(); }
    std::uint64_t errors() const { return m_errors.load(); }
    std::string last_error() const;

  private:
    void loop();

    std::string m_dsn;
    Step m_step;
    std::chrono::milliseconds m_pause;
    std::atomic<bool> m_stop{false};
    std::atomic<std::uint64_t> m_done{0};
    std::atomic<std::uint64_t> m_errors{0};
    mutable std::mutex m_mutex;
    std::string m_last_error;
    std::thread m_thread;
};

struct ReplicaSpec {
    std::string name;
    std::string dsn;
    std::string tables;  // YAML list items, indented six spaces ("      - source: public.t\n")
};

class CopyTest : public PgPairTest {
  protected:
    // A config with one replica `r` (this test's replica database) holding `tables`. `extra`
    // is appended at the top level. The drift scanner is off: these tests guard the copy loop.
    std::string config(const std::string& tables, const std::string& extra = "") const;
    std::string config_for(const std::vector<ReplicaSpec>& replicas,
                           const std::string& extra = "") const;
    std::string config_with_source(const std::string& source_dsn_text, const std::string& tables,
                                   const std::string& extra = "") const;

    // `syncset run --once CONFIG`, killed after `timeout`.
    CliResult run_once(const std::string& yaml, std::chrono::milliseconds timeout = 180s);

    // Both queries' full results, compared with compare_rows (a failing query is a failure).
    ::testing::AssertionResult same_rows(std::string_view source_query,
                                         std::string_view replica_query);
    void expect_same_rows(std::string_view source_query, std::string_view replica_query,
                          std::source_location where = std::source_location::current());
    // same_rows, polled until it holds or `timeout` passes; the last difference on failure.
    ::testing::AssertionResult eventually_same_rows(std::string_view source_query,
                                                    std::string_view replica_query,
                                                    std::chrono::milliseconds timeout);

    // Terminates syncset's own sessions (application_name LIKE 'syncset/%', but not the test's
    // 'syncset/test-%' ones) on this test's database of `server`; returns how many.
    int terminate_syncset_sessions(Server server);
    // Number of such sessions now.
    int count_syncset_sessions(Server server);

    // $SYNCSET_TEST_PG_CTL <server> <action> [mode]; fails the test when it fails.
    void pg_ctl(Server server, const std::string& action, const std::string& mode = "fast");
};

}  // namespace syncset::test
