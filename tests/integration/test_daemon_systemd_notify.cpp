// `syncset run` under a Type=notify unit, without systemd: the test binds the unix datagram
// socket systemd would and passes it as $NOTIFY_SOCKET, with $WATCHDOG_USEC. It guards the
// messages a unit depends on: READY=1 only after the schema step (the replica's tables exist
// then), STATUS= following the tables, WATCHDOG=1 at half the timeout while the loop turns,
// RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM. And that the
// unit file shipped in config/ passes `systemd-analyze verify` where systemd's tools exist.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "copy_harness.hpp"
#include "notify_socket.hpp"

namespace syncset::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.rfind(prefix, 0) == 0;
}

class DaemonSystemdNotify : public CopyTest {};

TEST_F(DaemonSystemdNotify, ReadyAfterTheSchemaStepThenWatchdogReloadAndStoppingInOrder) {
    exec_source(
        "CREATE TABLE items (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL "
        "DEFAULT now()); INSERT INTO items SELECT g, 'x' FROM generate_series(1, 100) g;");
    NotifySocket socket;
    const std::string yaml = config(
        "      - source: public.items\n        cursor: updated_at\n        poll_interval: 200ms\n");
    // 400 ms: a ping every 200 ms.
    SyncsetProcess daemon({"run"}, yaml,
                          {"NOTIFY_SOCKET=" + socket.path(), "WATCHDOG_USEC=400000"});

    ASSERT_TRUE(socket.receive_until([](const auto& m) { return starts_with(m, "READY=1"); }, 60s))
        << socket.all() << daemon.describe();
    const std::string& ready = socket.messages.back();
    EXPECT_NE(ready.find("\nSTATUS=1 table: "), std::string::npos) << ready;
    for (std::size_t i = 0; i + 1 < socket.messages.size(); ++i) {
        EXPECT_FALSE(starts_with(socket.messages[i], "WATCHDOG=1"))
            << "a ping before READY=1 while the source was not waited for: " << socket.all();
    }
    // The schema step is done by READY=1: the replica table exists.
    EXPECT_EQ(query_value(Server::replica, "SELECT to_regclass('public.items') IS NOT NULL"), "t");

    // The table catches up: STATUS= says so, without waiting for a restart or a signal.
    ASSERT_TRUE(socket.receive_until(
        [](const auto& m) { return m == "STATUS=1 table: 1 following, 0 in its first copy"; }, 60s))
        << socket.all() << daemon.describe();

    // Pings: every 200 ms, so in 1.5 s at least four and, not faster than that, at most nine
    // (counted by arrival: a stalled test sees a burst, never more pings than were sent).
    const std::size_t from = socket.messages.size();
    socket.receive_until([](const auto&) { return false; }, 1500ms);
    std::vector<Clock::time_point> pings;
    for (std::size_t i = from; i < socket.messages.size(); ++i) {
        if (socket.messages[i] == "WATCHDOG=1") {
            pings.push_back(socket.times[i]);
        }
    }
    EXPECT_GE(pings.size(), 4U) << socket.all();
    EXPECT_LE(pings.size(), 9U) << "pinged faster than every 200 ms: " << socket.all();

    daemon.send_signal(SIGHUP);
    ASSERT_TRUE(socket.receive_until(
        [](const auto& m) { return starts_with(m, "RELOADING=1\nMONOTONIC_USEC="); }, 30s))
        << socket.all() << daemon.describe();
    ASSERT_TRUE(socket.receive_until([](const auto& m) { return starts_with(m, "READY=1"); }, 30s))
        << "READY=1 again after the reload: " << socket.all() << daemon.describe();

    daemon.send_signal(SIGTERM);
    ASSERT_TRUE(socket.receive_until([](const auto& m) { return m == "STOPPING=1"; }, 30s))
        << socket.all() << daemon.describe();
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

TEST_F(DaemonSystemdNotify, AnUnreachableReplicaDoesNotHoldBackReadinessAndIsNamed) {
    exec_source("CREATE TABLE items (id int PRIMARY KEY, v text)");
    NotifySocket socket;
    const std::string tables = "      - source: public.items\n        cursor: none\n";
    const std::string gone_dsn = "host=127.0.0.1 port=" + std::to_string(closed_local_port()) +
                                 " user=postgres dbname=nowhere connect_timeout=2";
    const std::string yaml = config_for({{"r", replica_dsn(), tables}, {"gone", gone_dsn, tables}});
    SyncsetProcess daemon({"run"}, yaml, {"NOTIFY_SOCKET=" + socket.path()});
    ASSERT_TRUE(socket.receive_until([](const auto& m) { return starts_with(m, "READY=1"); }, 60s))
        << socket.all() << daemon.describe();
    EXPECT_NE(socket.messages.back().find("unavailable: gone"), std::string::npos)
        << socket.messages.back();
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

TEST(SystemdUnit, TheShippedUnitPassesSystemdAnalyzeVerify) {
    if (::system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "systemd-analyze is not installed";
    }
    std::string unit = file_text(SYNCSET_SOURCE_DIR "/config/syncset.service");
    ASSERT_FALSE(unit.empty()) << "config/syncset.service";
    EXPECT_NE(unit.find("Type=notify"), std::string::npos);
    EXPECT_NE(unit.find("NotifyAccess=main"), std::string::npos);
    EXPECT_NE(unit.find("WatchdogSec="), std::string::npos);
    // verify checks that ExecStart's binary exists: point it at the one built here.
    unit = std::regex_replace(unit, std::regex("/usr(/local)?/bin/syncset"), SYNCSET_BINARY);
    const std::string dir = "/tmp/syncset-unit-" + std::to_string(::getpid());
    ASSERT_EQ(::system(("mkdir -p " + dir).c_str()), 0);
    {
        std::ofstream out(dir + "/syncset.service");
        out << unit;
    }
    const std::string log = dir + "/verify.log";
    const int status =
        ::system(("systemd-analyze verify " + dir + "/syncset.service >" + log + " 2>&1").c_str());
    const std::string output = file_text(log);
    ::system(("rm -rf " + dir).c_str());
    EXPECT_EQ(status, 0) << output;
    // verify exits 0 even for an unknown key or a bad value ("..., ignoring"): any output is a
    // finding.
    EXPECT_EQ(output, "") << "systemd-analyze verify found problems in config/syncset.service";
}

}  // namespace
}  // namespace syncset::test
