// The systemd notification protocol without systemd: which $NOTIFY_SOCKET and $WATCHDOG_*
// values are used, the STATUS= line, and the datagrams a Notifier sends to a socket the test
// binds itself (no database).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "notify_socket.hpp"
#include "syncset/daemon/notify.hpp"

namespace syncset::daemon {
namespace {

using std::chrono::milliseconds;

TEST(DaemonNotifySocket, PathsAndAbstractNamesAreUsedAndAnythingElseIsNot) {
    auto path = parse_notify_socket("/run/systemd/notify");
    ASSERT_TRUE(path);
    EXPECT_EQ(path->name, "/run/systemd/notify");
    EXPECT_FALSE(path->abstract);

    auto abstract = parse_notify_socket("@/org/freedesktop/systemd1/notify/42");
    ASSERT_TRUE(abstract);
    EXPECT_EQ(abstract->name, "/org/freedesktop/systemd1/notify/42");
    EXPECT_TRUE(abstract->abstract);

    EXPECT_FALSE(parse_notify_socket(""));
    EXPECT_FALSE(parse_notify_socket("@"));
    EXPECT_FALSE(parse_notify_socket("relative/notify"));
    EXPECT_FALSE(parse_notify_socket("/" + std::string(200, 'x'))) << "longer than sun_path";
}

TEST(DaemonNotifyWatchdog, PingsAtHalfTheTimeoutOnlyForThisProcess) {
    EXPECT_EQ(watchdog_ping_interval("30000000", std::nullopt, 7), milliseconds(15000));
    EXPECT_EQ(watchdog_ping_interval("30000000", "7", 7), milliseconds(15000));
    EXPECT_EQ(watchdog_ping_interval("1000", std::nullopt, 7), milliseconds(1)) << "never 0";
    EXPECT_FALSE(watchdog_ping_interval("30000000", "8", 7)) << "meant for another process";
    EXPECT_FALSE(watchdog_ping_interval(std::nullopt, std::nullopt, 7));
    EXPECT_FALSE(watchdog_ping_interval("0", std::nullopt, 7));
    EXPECT_FALSE(watchdog_ping_interval("30s", std::nullopt, 7));
    EXPECT_FALSE(watchdog_ping_interval("30000000", "seven", 7));
}

TEST(DaemonNotifyStatus, OneLineCountingTablesByPhaseAndNamingWhatIsUnavailable) {
    EXPECT_EQ(status_line({3, 1, 0, ""}), "4 tables: 3 following, 1 in its first copy");
    EXPECT_EQ(status_line({3, 1, 0, "", 420, 1000}),
              "4 tables: 3 following, 1 in its first copy; snapshots 42%");
    EXPECT_EQ(status_line({0, 1, 0, "", 2000, 1000}),
              "1 table: 0 following, 1 in its first copy; snapshots 99%")
        << "an estimate the rows passed never shows 100% before the end";
    EXPECT_EQ(status_line({1, 0, 0, ""}), "1 table: 1 following, 0 in its first copy");
    EXPECT_EQ(status_line({0, 2, 1, "b, c"}),
              "2 tables: 0 following, 2 in its first copy; 1 stopped; unavailable: b, c");
    const std::string line = status_line({0, 0, 0, "a\nREADY=1"});
    EXPECT_EQ(line.find('\n'), std::string::npos) << "a name must not add a KEY=VALUE line";
    EXPECT_LT(status_line({0, 0, 0, std::string(5000, 'r')}).size(), 300U);
    EXPECT_EQ(status_waiting_for_source("connection refused\nIs the server running?"),
              "waiting for the source: connection refused");
}

TEST(DaemonNotifier, SendsReadyStatusChangesReloadAndStoppingAsSystemdReadsThem) {
    test::NotifySocket listener;
    Notifier notifier(NotifyAddress{listener.path(), false}, std::nullopt);
    ASSERT_TRUE(notifier.active());
    notifier.ready("1 table: 0 following, 1 in its first copy");
    notifier.status("1 table: 0 following, 1 in its first copy");  // unchanged: not sent
    notifier.status("1 table: 1 following, 0 in its first copy");
    notifier.reloading();
    notifier.stopping();
    const auto got = listener.drain();
    ASSERT_EQ(got.size(), 4U);
    EXPECT_EQ(got[0], "READY=1\nSTATUS=1 table: 0 following, 1 in its first copy");
    EXPECT_EQ(got[1], "STATUS=1 table: 1 following, 0 in its first copy");
    EXPECT_EQ(got[2].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0U) << got[2];
    EXPECT_GT(std::stoull(got[2].substr(got[2].find('=', 12) + 1)), 0U);
    EXPECT_EQ(got[3], "STOPPING=1");
}

TEST(DaemonNotifier, WatchdogPingsAreSpacedByTheIntervalAndOffWithoutOne) {
    test::NotifySocket listener;
    Notifier notifier(NotifyAddress{listener.path(), false}, milliseconds(100));
    const Notifier::Clock::time_point t0{};
    notifier.watchdog(t0);                      // the first: at once
    notifier.watchdog(t0 + milliseconds(99));   // too soon
    notifier.watchdog(t0 + milliseconds(100));  // due
    notifier.watchdog(t0 + milliseconds(150));  // too soon again
    EXPECT_EQ(listener.drain(), (std::vector<std::string>{"WATCHDOG=1", "WATCHDOG=1"}));

    Notifier no_watchdog(NotifyAddress{listener.path(), false}, std::nullopt);
    no_watchdog.watchdog(t0);
    EXPECT_TRUE(listener.drain().empty());
}

TEST(DaemonNotifier, WithoutASocketNothingIsSentAndNothingFails) {
    Notifier notifier(std::nullopt, milliseconds(100));
    EXPECT_FALSE(notifier.active());
    EXPECT_FALSE(notifier.watchdog_interval()) << "no watchdog without a socket";
    notifier.ready("x");
    notifier.watchdog(Notifier::Clock::now());
    notifier.stopping();
}

}  // namespace
}  // namespace syncset::daemon
