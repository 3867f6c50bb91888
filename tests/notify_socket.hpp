// A unix datagram socket bound at a fresh path, playing systemd's notify socket in the tests of
// daemon/notify (unit) and of `syncset run` under $NOTIFY_SOCKET (integration).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace syncset::test {

class NotifySocket {
  public:
    using Clock = std::chrono::steady_clock;

    NotifySocket() {
        m_path = "/tmp/syncset-notify-" + std::to_string(::getpid()) + "-" +
                 std::to_string(s_count++) + ".sock";
        ::unlink(m_path.c_str());
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, m_path.c_str(), m_path.size() + 1);
        if (::bind(m_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            ADD_FAILURE() << "bind " << m_path << ": " << std::strerror(errno);
        }
    }
    ~NotifySocket() {
        ::close(m_fd);
        ::unlink(m_path.c_str());
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    const std::string& path() const { return m_path; }

    // Every datagram waiting now, also appended to `messages`.
    std::vector<std::string> drain() {
        std::vector<std::string> out;
        while (auto message = receive_one()) {
            out.push_back(*message);
        }
        return out;
    }

    // Receives datagrams until one satisfies `done` or `timeout` passes.
    template <typename Done>
    bool receive_until(Done&& done, std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            if (auto message = receive_one()) {
                if (done(*message)) {
                    return true;
                }
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
        return false;
    }

    // For failure messages: every datagram received so far.
    std::string all() const {
        std::string out;
        for (const auto& m : messages) {
            out += "[" + m + "] ";
        }
        return out;
    }

    std::vector<std::string> messages;     // every datagram received, in order
    std::vector<Clock::time_point> times;  // when each arrived

  private:
    std::optional<std::string> receive_one() {
        char buffer[4096];
        const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n < 0) {
            return std::nullopt;
        }
        messages.emplace_back(buffer, static_cast<std::size_t>(n));
        times.push_back(Clock::now());
        return messages.back();
    }

    static inline int s_count = 0;
    std::string m_path;
    int m_fd = -1;
};

}  // namespace syncset::test
