// The commands behind the CLI. Each returns an exit status or throws syncset::Error, which the
// funnel in app.cpp turns into a message and a status.
#pragma once

#include <cstdint>
#include <string>

#include "syncset/config/config.hpp"

namespace syncset::cli {

struct Options {
    std::string config_path;
    bool once = false;
    bool json = false;
    bool repair = false;
    std::int64_t max_rows_per_second = 0;  // check: pace of the scan on each side; 0 unlimited
    std::string log_level;                 // overrides log.level when set
    std::string log_format;                // overrides log.format when set
    std::string replica;                   // resync: the replica's name
    std::string table;                     // resync: the replica (target) table
};

// Loads and validates the config, applies command-line overrides and sets up logging.
config::Config load(const Options& options);

int cmd_validate(const Options& options);
int cmd_plan(const Options& options);
int cmd_run(const Options& options);
int cmd_status(const Options& options);
int cmd_check(const Options& options);
int cmd_resync(const Options& options);

}  // namespace syncset::cli
