#include "syncset/metrics/server.hpp"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

#include "metrics/exposition.hpp"
#include "metrics/process.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"

namespace syncset::metrics {

namespace {

// Why `host:port` cannot be bound, found by trying it the way the server does: httplib says
// only that it failed.
std::string bind_failure_cause(const config::ListenAddress& address) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address.port);
    if (int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        return std::string("cannot resolve the host: ") + gai_strerror(rc);
    }
    std::string cause = "unknown cause";
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            cause = std::strerror(errno);
            continue;
        }
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        const bool bound = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        cause = bound ? "unknown cause" : std::strerror(errno);
        close(fd);
        if (!bound) {
            break;
        }
    }
    freeaddrinfo(found);
    for (auto& c : cause) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return cause;
}

}  // namespace

struct HttpServer::Impl {
    httplib::Server server;
    std::thread thread;
    std::atomic<bool> finished{false};  // listen_after_bind returned
    int port = 0;
};

HttpServer::HttpServer(const config::ListenAddress& address, const Registry& registry)
    : m_impl(std::make_unique<Impl>()) {
    httplib::Server& server = m_impl->server;
    // Four threads: scrapers and probes at once. One request per connection, so an idle
    // keep-alive connection never holds a thread; slow clients are cut off by the timeouts.
    server.new_task_queue = [] { return new httplib::ThreadPool(4); };
    server.set_keep_alive_max_count(1);
    server.set_read_timeout(5, 0);
    server.set_write_timeout(5, 0);
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second process
    // could bind the same port, and each would get half of the scrapes.
    server.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.Get(".*", [&registry](const httplib::Request& request, httplib::Response& response) {
        Answer answer = respond(request.path, registry, std::chrono::steady_clock::now(),
                                unix_ms(std::chrono::system_clock::now()), read_process_figures);
        response.status = answer.status;
        response.set_content(answer.body, answer.content_type.c_str());
    });
    if (!server.bind_to_port(address.host, address.port)) {
        throw Error(ErrorCode::usage,
                    "metrics.listen: cannot listen on " + address.display() + ": " +
                        bind_failure_cause(address),
                    false,
                    "choose a free port or an address of this machine for metrics.listen, or "
                    "remove the key to run without the HTTP listener");
    }
    m_impl->port = address.port;
    log::info("metrics listening",
              {{"address", address.display()}, {"paths", "/metrics /healthz /readyz"}});
    m_impl->thread = std::thread([impl = m_impl.get()] {
        try {
            impl->server.listen_after_bind();
        } catch (const std::exception& e) {
            log::error("metrics listener stopped", {{"error", e.what()}});
        }
        impl->finished = true;
    });
}

HttpServer::~HttpServer() {
    // httplib's stop() does nothing until its loop has started: wait for one or the other.
    while (!m_impl->finished) {
        if (m_impl->server.is_running()) {
            m_impl->server.stop();
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (m_impl->thread.joinable()) {
        m_impl->thread.join();
    }
}

int HttpServer::port() const noexcept {
    return m_impl->port;
}

}  // namespace syncset::metrics
