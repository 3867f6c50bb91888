// The HTTP listener of `metrics.listen`: GET /metrics, /healthz and /readyz, served from the
// registry on a thread of its own (cpp-httplib).
#pragma once

#include <memory>

#include "syncset/config/config.hpp"
#include "syncset/metrics/registry.hpp"

namespace syncset::metrics {

class HttpServer {
  public:
    // Binds `address` now and serves until destroyed. Throws Error(usage, exit 2) naming the
    // address and the cause when it cannot be bound (in use, not this machine's, not resolvable).
    // `registry` must outlive the server.
    HttpServer(const config::ListenAddress& address, const Registry& registry);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // The port bound (the configured one).
    int port() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace syncset::metrics
