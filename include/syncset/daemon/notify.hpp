// The systemd notification protocol (sd_notify(3)), spoken without libsystemd: one datagram of
// `KEY=VALUE` lines to the unix socket named by $NOTIFY_SOCKET. `syncset run` under a
// `Type=notify` unit sends READY=1 after its first schema step, keeps STATUS= current, pings
// WATCHDOG=1 from its scheduling loop, and says RELOADING=1 / STOPPING=1 around SIGHUP and
// SIGTERM. Without $NOTIFY_SOCKET every call does nothing. Not thread-safe: the daemon's main
// thread is its only user.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace syncset::daemon {

// Where $NOTIFY_SOCKET points: a filesystem path (`/run/systemd/notify`) or, written with a
// leading `@`, a name in the abstract namespace. nullopt for anything else (empty, relative,
// longer than a sockaddr_un can hold): the caller then does not notify.
struct NotifyAddress {
    std::string name;  // without the `@`
    bool abstract = false;
};
std::optional<NotifyAddress> parse_notify_socket(std::string_view value);

// How often to send WATCHDOG=1: half of $WATCHDOG_USEC, when it is a positive number and
// $WATCHDOG_PID is unset or `own_pid` (as sd_watchdog_enabled(3) decides); else nullopt.
std::optional<std::chrono::milliseconds> watchdog_ping_interval(
    std::optional<std::string_view> watchdog_usec, std::optional<std::string_view> watchdog_pid,
    long own_pid);

// The daemon's STATUS= line: "4 tables: 3 following, 1 in its first copy; snapshots 42%;
// 1 stopped; unavailable: b". One line; names are cut short so the datagram stays small.
struct StatusCounts {
    std::size_t following = 0;  // caught up at least once
    std::size_t copying = 0;    // not caught up yet (snapshot or first rounds)
    std::size_t stopped = 0;    // stopped by the schema step
    std::string unavailable;    // comma-separated replicas whose schema step failed
    // Snapshots under way with an estimate: rows done and estimated, summed.
    std::int64_t snapshot_rows_done = 0;
    std::int64_t snapshot_rows_estimated = 0;
};
std::string status_line(const StatusCounts& counts);
// Before the first schema step, while the source is waited for: "waiting for the source: <the
// first line of `error`>".
std::string status_waiting_for_source(std::string_view error);

class Notifier {
  public:
    using Clock = std::chrono::steady_clock;

    // From $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID; inactive when the socket is unset
    // or unusable (then logged once at warn).
    static Notifier from_environment();
    // A notifier for `address` (tests), with an optional watchdog interval.
    Notifier(std::optional<NotifyAddress> address,
             std::optional<std::chrono::milliseconds> watchdog);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;
    Notifier(Notifier&& other) noexcept;
    Notifier& operator=(Notifier&&) = delete;

    bool active() const noexcept { return m_fd >= 0; }
    std::optional<std::chrono::milliseconds> watchdog_interval() const noexcept {
        return m_watchdog;
    }

    // READY=1 with the status line (after start-up, and after a reload).
    void ready(std::string_view status);
    // STATUS=, only when it differs from the last one sent.
    void status(std::string_view status);
    // RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC now), as systemd 253+ expects.
    void reloading();
    void stopping();
    // WATCHDOG=1 when half of WATCHDOG_USEC has passed since the last ping (or none was sent).
    void watchdog(Clock::time_point now);

  private:
    void send(const std::string& message);

    int m_fd = -1;
    std::optional<NotifyAddress> m_address;
    std::optional<std::chrono::milliseconds> m_watchdog;
    std::optional<Clock::time_point> m_last_ping;
    std::string m_last_status;
    bool m_send_failed = false;
};

}  // namespace syncset::daemon
