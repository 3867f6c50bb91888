// The sync daemon: schema step, then every table's copy loop on `parallel` worker threads,
// until stopped (`run`) or until every table has caught up once (`run --once`).
#pragma once

#include <atomic>

#include "syncset/config/config.hpp"
#include "syncset/daemon/notify.hpp"
#include "syncset/metrics/registry.hpp"

namespace syncset::daemon {

struct Signals {
    std::atomic<bool> stop{false};    // SIGTERM / SIGINT: finish or roll back, then exit 0
    std::atomic<bool> reload{false};  // SIGHUP: reload the config, keep the old one if invalid
};

// Installs handlers that only set the flags of `signals` (which must outlive the process).
void install_signal_handlers(Signals& signals);

// Runs until `signals.stop` (exit 0) or, with `once`, until every table caught up once:
// 0 when all did, 4 when some failed while others succeeded, 3 when none could be copied.
// Tells `notifier` (systemd) READY=1 after the first schema step, STATUS= as tables move on,
// WATCHDOG=1 while the scheduling loop turns, RELOADING=1 on SIGHUP and STOPPING=1 at the end.
// Keeps `registry` (metrics, health, readiness) current as tables move on.
int run(config::Config config, bool once, Signals& signals, Notifier& notifier,
        metrics::Registry& registry);

}  // namespace syncset::daemon
