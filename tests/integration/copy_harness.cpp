#include "copy_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "syncset/db/quote.hpp"

namespace syncset::test {

namespace {

// A runaway logger must not fill the disk: the child gets SIGXFSZ past this size.
constexpr rlim_t k_max_output_bytes = rlim_t{256} * 1024 * 1024;
constexpr std::size_t k_max_value_chars = 100;
constexpr std::size_t k_max_diff_rows = 5;
// What run_syncset_bounded keeps of stderr: enough for the messages tests look for.
constexpr std::size_t k_max_kept_err_bytes = 64 * 1024;

std::atomic<unsigned> g_file_counter{0};

std::string temp_path(std::string_view suffix) {
    return "/tmp/syncset_copy_" + std::to_string(::getpid()) + "_" +
           std::to_string(g_file_counter.fetch_add(1)) + std::string(suffix);
}

bool keep_logs() {
    const char* keep = std::getenv("SYNCSET_TEST_KEEP_LOGS");
    return keep != nullptr && std::string_view(keep) == "1";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string tail_of(const std::string& path, std::size_t bytes) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        return "";
    }
    const std::streamoff size = in.tellg();
    const std::streamoff start =
        size > static_cast<std::streamoff>(bytes) ? size - static_cast<std::streamoff>(bytes) : 0;
    in.seekg(start);
    std::string text(static_cast<std::size_t>(size - start), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    return (start > 0 ? "[...]" : "") + text;
}

int decode_status(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string show_value(const std::optional<std::string>& value) {
    if (!value) {
        return "NULL";
    }
    if (value->size() <= k_max_value_chars) {
        return "'" + *value + "'";
    }
    return "'" + value->substr(0, k_max_value_chars) + "'...(" + std::to_string(value->size()) +
           " chars)";
}

std::string show_row(const Row& row) {
    std::string text = "(";
    for (std::size_t i = 0; i < row.size(); ++i) {
        text += (i > 0 ? ", " : "") + show_value(row[i]);
    }
    return text + ")";
}

}  // namespace

std::string yaml_quote(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out + "'";
}

int closed_local_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw std::runtime_error("socket() failed");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        throw std::runtime_error("could not find a free port");
    }
    ::close(fd);  // bound but never listened on: connections are refused
    return ntohs(address.sin_port);
}

bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        try {
            if (predicate()) {
                return true;
            }
        } catch (const std::exception&) {
            // not yet: a broken connection is reopened by the next attempt
        }
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(poll);
    }
}

::testing::AssertionResult compare_rows(const Rows& source, const Rows& replica) {
    if (source == replica) {
        return ::testing::AssertionSuccess();
    }
    std::map<Row, long> balance;  // > 0: more on the source, < 0: more on the replica
    for (const Row& row : source) {
        ++balance[row];
    }
    for (const Row& row : replica) {
        --balance[row];
    }
    std::string only_source;
    std::string only_replica;
    std::size_t shown_source = 0;
    std::size_t shown_replica = 0;
    std::size_t count_source = 0;
    std::size_t count_replica = 0;
    for (const auto& [row, n] : balance) {
        if (n > 0) {
            count_source += static_cast<std::size_t>(n);
            if (shown_source++ < k_max_diff_rows) {
                only_source += "\n    " + show_row(row) + (n > 1 ? " x" + std::to_string(n) : "");
            }
        } else if (n < 0) {
            count_replica += static_cast<std::size_t>(-n);
            if (shown_replica++ < k_max_diff_rows) {
                only_replica +=
                    "\n    " + show_row(row) + (n < -1 ? " x" + std::to_string(-n) : "");
            }
        }
    }
    auto failure = ::testing::AssertionFailure();
    failure << "source has " << source.size() << " rows, replica " << replica.size() << " rows";
    if (count_source == 0 && count_replica == 0) {
        for (std::size_t i = 0; i < source.size(); ++i) {
            if (source[i] != replica[i]) {
                failure << "; same rows in a different order, first at position " << i
                        << ": source " << show_row(source[i]) << ", replica "
                        << show_row(replica[i]);
                break;
            }
        }
        return failure;
    }
    if (count_source > 0) {
        failure << "\n  " << count_source << " row(s) only on the source (missing or stale on "
                << "the replica), first ones:" << only_source;
    }
    if (count_replica > 0) {
        failure << "\n  " << count_replica << " row(s) only on the replica (extra, stale or "
                << "duplicated), first ones:" << only_replica;
    }
    return failure;
}

ConfigFile::ConfigFile(const std::string& yaml) : m_path(temp_path(".yaml")) {
    std::ofstream(m_path) << yaml;
}

ConfigFile::~ConfigFile() {
    if (!keep_logs()) {
        std::remove(m_path.c_str());
    }
}

SyncsetProcess::SyncsetProcess(const std::vector<std::string>& args, const std::string& yaml,
                               const std::vector<std::string>& extra_env)
    : m_config(yaml), m_out_path(temp_path(".out")), m_err_path(temp_path(".err")) {
    std::vector<std::string> all{SYNCSET_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back(m_config.path());
    std::vector<char*> argv;
    for (auto& arg : all) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    // Built before fork: the child may only make async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const bool replaced = std::any_of(extra_env.begin(), extra_env.end(), [&](const auto& x) {
            return x.substr(0, x.find('=') + 1) == entry.substr(0, entry.find('=') + 1);
        });
        if (!replaced) {
            env_strings.emplace_back(entry);
        }
    }
    env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& entry : env_strings) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        const int in = ::open("/dev/null", O_RDONLY);
        const int out = ::open(m_out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open(m_err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0) {
            ::_exit(126);
        }
        ::dup2(in, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        const rlimit limit{k_max_output_bytes, k_max_output_bytes};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    m_pid = pid;
}

SyncsetProcess::~SyncsetProcess() {
    kill_now();
    if (!keep_logs()) {
        std::remove(m_out_path.c_str());
        std::remove(m_err_path.c_str());
    }
}

bool SyncsetProcess::running() {
    if (m_status || m_pid <= 0) {
        return false;
    }
    int status = 0;
    const pid_t done = ::waitpid(m_pid, &status, WNOHANG);
    if (done == m_pid) {
        m_status = decode_status(status);
        return false;
    }
    return true;
}

void SyncsetProcess::send_signal(int signal) {
    if (running()) {
        ::kill(m_pid, signal);
    }
}

std::optional<int> SyncsetProcess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (running()) {
        if (Clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(10ms);
    }
    return m_status;
}

void SyncsetProcess::kill_now() {
    if (!running()) {
        return;
    }
    ::kill(m_pid, SIGKILL);
    int status = 0;
    if (::waitpid(m_pid, &status, 0) == m_pid) {
        m_status = decode_status(status);
    }
}

std::string SyncsetProcess::out() const {
    return read_file(m_out_path);
}
std::string SyncsetProcess::err() const {
    return read_file(m_err_path);
}

std::string SyncsetProcess::describe(std::size_t tail_bytes) {
    std::string text = "syncset (pid " + std::to_string(m_pid) + ") ";
    text += running() ? std::string("is running")
                      : "exited with status " + std::to_string(m_status.value_or(-1));
    const std::string out = tail_of(m_out_path, tail_bytes);
    const std::string err = tail_of(m_err_path, tail_bytes);
    if (!out.empty()) {
        text += "\n--- stdout (tail) ---\n" + out;
    }
    text += "\n--- stderr (tail) ---\n" + err;
    return text;
}

CliResult run_syncset_bounded(const std::vector<std::string>& args, const std::string& yaml,
                              std::chrono::milliseconds timeout) {
    SyncsetProcess process(args, yaml);
    CliResult result;
    if (auto status = process.wait(timeout)) {
        result.exit_status = *status;
    } else {
        process.kill_now();
        result.exit_status = -1;
    }
    result.out = tail_of(process.out_path(), k_max_kept_err_bytes);
    result.err = tail_of(process.err_path(), k_max_kept_err_bytes);
    if (result.exit_status == -1) {
        result.err += "\n[test harness: syncset did not finish within " +
                      std::to_string(timeout.count()) + " ms and was killed]";
    }
    return result;
}

PlainConnection::PlainConnection(const std::string& dsn, const std::string& application_name) {
    const char* keywords[] = {"dbname", "application_name", "connect_timeout", nullptr};
    const char* values[] = {dsn.c_str(), application_name.c_str(), "10", nullptr};
    m_conn = PQconnectdbParams(keywords, values, 1);
    if (PQstatus(m_conn) != CONNECTION_OK) {
        std::string message = PQerrorMessage(m_conn);
        PQfinish(m_conn);
        m_conn = nullptr;
        throw std::runtime_error("connect failed: " + message);
    }
}

PlainConnection::~PlainConnection() {
    if (m_conn != nullptr) {
        PQfinish(m_conn);
    }
}

bool PlainConnection::ok() const {
    return m_conn != nullptr && PQstatus(m_conn) == CONNECTION_OK;
}

void PlainConnection::exec(const std::string& sql) {
    PGresult* result = PQexec(m_conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string message = PQresultErrorMessage(result);
        PQclear(result);
        throw std::runtime_error(message.empty() ? PQerrorMessage(m_conn) : message);
    }
    PQclear(result);
}

std::string PlainConnection::query_value(const std::string& sql) {
    PGresult* result = PQexec(m_conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1 ||
        PQnfields(result) != 1) {
        std::string message = PQresultErrorMessage(result);
        PQclear(result);
        throw std::runtime_error("query_value: " + message + " (" + sql + ")");
    }
    std::string value = PQgetvalue(result, 0, 0);
    PQclear(result);
    return value;
}

BackgroundWriter::BackgroundWriter(std::string dsn, Step step, std::chrono::milliseconds pause)
    : m_dsn(std::move(dsn)), m_step(std::move(step)), m_pause(pause) {
    m_thread = std::thread([this] { loop(); });
}

BackgroundWriter::~BackgroundWriter() {
    stop();
}

void BackgroundWriter::stop() {
    m_stop = true;
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

std::string BackgroundWriter::last_error() const {
    std::lock_guard lock(m_mutex);
    return m_last_error;
}

void BackgroundWriter::loop() {
    std::unique_ptr<PlainConnection> conn;
    std::uint64_t n = 0;
    while (!m_stop) {
        try {
            if (!conn || !conn->ok()) {
                conn.reset();
                conn = std::make_unique<PlainConnection>(m_dsn, "test-writer");
            }
            m_step(*conn, n);
            ++m_done;
        } catch (const std::exception& e) {
            ++m_errors;
            {
                std::lock_guard lock(m_mutex);
                m_last_error = e.what();
            }
            if (conn && conn->ok()) {
                try {
                    conn->exec("ROLLBACK");
                } catch (const std::exception&) {
                    conn.reset();
                }
            }
            std::this_thread::sleep_for(100ms);
        }
        ++n;
        std::this_thread::sleep_for(m_pause);
    }
}

std::string CopyTest::config_for(const std::vector<ReplicaSpec>& replicas,
                                 const std::string& extra) const {
    return config_with_source(source_dsn(), "", extra) + [&] {
        std::string text;
        for (const auto& replica : replicas) {
            text += "  - name: " + replica.name + "\n    dsn: " + yaml_quote(replica.dsn) +
                    "\n    tables:\n" + replica.tables;
        }
        return text;
    }();
}

std::string CopyTest::config_with_source(const std::string& source_dsn_text,
                                         const std::string& tables,
                                         const std::string& extra) const {
    // Top-level keys first, the replicas list last, so config_for can append replicas.
    std::string text = "source:\n  dsn: " + yaml_quote(source_dsn_text) +
                       "\ndrift:\n  interval: 0\n" + extra + "replicas:\n";
    if (!tables.empty()) {
        text += "  - name: r\n    dsn: " + yaml_quote(replica_dsn()) + "\n    tables:\n" + tables;
    }
    return text;
}

std::string CopyTest::config(const std::string& tables, const std::string& extra) const {
    return config_with_source(source_dsn(), tables, extra);
}

CliResult CopyTest::run_once(const std::string& yaml, std::chrono::milliseconds timeout) {
    return run_syncset_bounded({"run", "--once"}, yaml, timeout);
}

::testing::AssertionResult CopyTest::same_rows(std::string_view source_query,
                                               std::string_view replica_query) {
    Rows source;
    Rows replica;
    try {
        source = query_source_rows(source_query);
    } catch (const std::exception& e) {
        return ::testing::AssertionFailure() << "source query failed: " << e.what();
    }
    try {
        replica = query_replica_rows(replica_query);
    } catch (const std::exception& e) {
        return ::testing::AssertionFailure() << "replica query failed: " << e.what();
    }
    return compare_rows(source, replica);
}

void CopyTest::expect_same_rows(std::string_view source_query, std::string_view replica_query,
                                std::source_location where) {
    if (auto result = same_rows(source_query, replica_query); !result) {
        ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
            << "replica differs from the source\n  source:  " << source_query
            << "\n  replica: " << replica_query << "\n  " << result.message();
    }
}

::testing::AssertionResult CopyTest::eventually_same_rows(std::string_view source_query,
                                                          std::string_view replica_query,
                                                          std::chrono::milliseconds timeout) {
    ::testing::AssertionResult last = ::testing::AssertionFailure() << "never compared";
    wait_until(
        [&] {
            last = same_rows(source_query, replica_query);
            return static_cast<bool>(last);
        },
        timeout, 100ms);
    if (last) {
        return last;
    }
    return ::testing::AssertionFailure() << "replica still differs from the source after "
                                         << timeout.count() << " ms\n  " << last.message();
}

namespace {

constexpr std::string_view k_syncset_sessions =
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND application_name LIKE 'syncset/%' AND application_name NOT LIKE 'syncset/test-%'";

}  // namespace

int CopyTest::terminate_syncset_sessions(Server server) {
    return std::stoi(
        query_value(server, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) " +
                                std::string(k_syncset_sessions)));
}

int CopyTest::count_syncset_sessions(Server server) {
    return std::stoi(query_value(server, "SELECT count(*) " + std::string(k_syncset_sessions)));
}

void CopyTest::pg_ctl(Server server, const std::string& action, const std::string& mode) {
    const char* script = std::getenv("SYNCSET_TEST_PG_CTL");
    ASSERT_NE(script, nullptr) << "SYNCSET_TEST_PG_CTL is not set: run under tests/pg_pair.sh";
    const std::string command = std::string(script) + " " +
                                (server == Server::source ? "source" : "replica") + " " + action +
                                " " + mode + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    ASSERT_EQ(status, 0) << command;
}

}  // namespace syncset::test
