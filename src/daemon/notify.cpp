#include "syncset/daemon/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <utility>

#include "syncset/log/log.hpp"

namespace syncset::daemon {

namespace {

constexpr std::size_t k_max_name = sizeof(sockaddr_un::sun_path) - 1;  // room for the NUL
constexpr std::size_t k_max_unavailable = 200;

std::optional<std::string_view> env(const char* name) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start only
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string_view(value);
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
    T value{};
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || text.empty()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::optional<NotifyAddress> parse_notify_socket(std::string_view value) {
    if (value.size() >= 2 && value.front() == '@') {
        value.remove_prefix(1);
        if (value.size() > k_max_name) {
            return std::nullopt;
        }
        return NotifyAddress{std::string(value), true};
    }
    if (value.empty() || value.front() != '/' || value.size() > k_max_name ||
        value.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    return NotifyAddress{std::string(value), false};
}

std::optional<std::chrono::milliseconds> watchdog_ping_interval(
    std::optional<std::string_view> watchdog_usec, std::optional<std::string_view> watchdog_pid,
    long own_pid) {
    if (!watchdog_usec) {
        return std::nullopt;
    }
    if (watchdog_pid) {
        const auto pid = parse_number<long>(*watchdog_pid);
        if (!pid || *pid != own_pid) {
            return std::nullopt;  // meant for another process (a parent that exec'd us)
        }
    }
    const auto usec = parse_number<std::uint64_t>(*watchdog_usec);
    if (!usec || *usec == 0) {
        return std::nullopt;
    }
    // Half the timeout, as sd_watchdog_enabled(3) recommends; never below one millisecond.
    const std::uint64_t half_ms = *usec / 2000;
    return std::chrono::milliseconds(half_ms == 0 ? 1 : static_cast<std::int64_t>(half_ms));
}

std::string status_line(const StatusCounts& counts) {
    const std::size_t tables = counts.following + counts.copying;
    std::string line = std::to_string(tables) + (tables == 1 ? " table: " : " tables: ") +
                       std::to_string(counts.following) + " following, " +
                       std::to_string(counts.copying) + " in its first copy";
    if (counts.snapshot_rows_estimated > 0) {
        const double percent =
            std::min(99.0, 100.0 * static_cast<double>(counts.snapshot_rows_done) /
                               static_cast<double>(counts.snapshot_rows_estimated));
        line += "; snapshots " + std::to_string(static_cast<int>(percent)) + "%";
    }
    if (counts.stopped > 0) {
        line += "; " + std::to_string(counts.stopped) + " stopped";
    }
    if (!counts.unavailable.empty()) {
        std::string names = counts.unavailable;
        if (names.size() > k_max_unavailable) {
            names.resize(k_max_unavailable);
            names += "...";
        }
        line += "; unavailable: " + names;
    }
    // One line: a name with a newline must not start a second KEY=VALUE.
    for (char& c : line) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return line;
}

std::string status_waiting_for_source(std::string_view error) {
    std::string line = "waiting for the source: ";
    line += error.substr(0, std::min(error.find_first_of("\r\n"), k_max_unavailable));
    return line;
}

Notifier Notifier::from_environment() {
    const auto socket_value = env("NOTIFY_SOCKET");
    if (!socket_value) {
        return Notifier(std::nullopt, std::nullopt);
    }
    std::optional<NotifyAddress> address = parse_notify_socket(*socket_value);
    if (!address) {
        log::warn("NOTIFY_SOCKET is not a usable unix socket address; not notifying systemd",
                  {{"notify_socket", *socket_value}});
    }
    return Notifier(std::move(address),
                    watchdog_ping_interval(env("WATCHDOG_USEC"), env("WATCHDOG_PID"),
                                           static_cast<long>(::getpid())));
}

Notifier::Notifier(std::optional<NotifyAddress> address,
                   std::optional<std::chrono::milliseconds> watchdog)
    : m_address(std::move(address)), m_watchdog(watchdog) {
    if (!m_address) {
        m_watchdog.reset();
        return;
    }
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0) {
        log::warn("cannot create the systemd notification socket; not notifying systemd",
                  {{"error", std::strerror(errno)}});  // NOLINT(concurrency-mt-unsafe)
        m_watchdog.reset();
    }
}

Notifier::~Notifier() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

Notifier::Notifier(Notifier&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)),
      m_address(std::move(other.m_address)),
      m_watchdog(other.m_watchdog),
      m_last_ping(other.m_last_ping),
      m_last_status(std::move(other.m_last_status)),
      m_send_failed(other.m_send_failed) {}

void Notifier::send(const std::string& message) {
    if (m_fd < 0) {
        return;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string& name = m_address->name;
    std::size_t offset = m_address->abstract ? 1 : 0;  // abstract: a leading NUL byte
    std::memcpy(addr.sun_path + offset, name.data(), name.size());
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + offset + name.size());
    const ssize_t sent = ::sendto(m_fd, message.data(), message.size(), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&addr), length);
    if (sent < 0 && !m_send_failed) {
        // Once: a manager that went away must not fill the log at every watchdog ping.
        m_send_failed = true;
        log::warn("systemd notification failed",
                  {{"error", std::strerror(errno)}});  // NOLINT(concurrency-mt-unsafe)
    } else if (sent >= 0) {
        m_send_failed = false;
    }
}

void Notifier::ready(std::string_view status) {
    m_last_status = std::string(status);
    send("READY=1\nSTATUS=" + m_last_status);
}

void Notifier::status(std::string_view status) {
    if (status == m_last_status) {
        return;
    }
    m_last_status = std::string(status);
    send("STATUS=" + m_last_status);
}

void Notifier::reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const std::uint64_t usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
                               static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void Notifier::stopping() {
    send("STOPPING=1");
}

void Notifier::watchdog(Clock::time_point now) {
    if (!m_watchdog || m_fd < 0) {
        return;
    }
    if (m_last_ping && now - *m_last_ping < *m_watchdog) {
        return;
    }
    m_last_ping = now;
    send("WATCHDOG=1");
}

}  // namespace syncset::daemon
