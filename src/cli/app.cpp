#include "syncset/cli/app.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <set>
#include <string>

#include "syncset/config/validate.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"

namespace syncset::cli {

namespace {

struct Options {
    std::string config_path;
    bool once = false;
    bool json = false;
    bool repair = false;
    std::string log_level;   // overrides log.level when set
    std::string log_format;  // overrides log.format when set
};

std::size_t count_tables(const config::Config& config) {
    std::size_t tables = 0;
    for (const auto& replica : config.replicas) {
        tables += replica.tables.size();
    }
    return tables;
}

config::Config load(const Options& options) {
    config::Config config = config::load_config_file(options.config_path);
    // CLI11 has checked these against the same names.
    if (auto level = config::log_level_from_string(options.log_level)) {
        config.log.level = *level;
    }
    if (auto format = config::log_format_from_string(options.log_format)) {
        config.log.format = *format;
    }
    log::setup(config.log.level, config.log.format);
    return config;
}

int cmd_validate(const Options& options) {
    config::Config config = config::load_config_file(options.config_path);
    std::size_t replicas = config.replicas.size();
    std::size_t tables = count_tables(config);
    std::cout << options.config_path << ": ok (" << replicas
              << (replicas == 1 ? " replica, " : " replicas, ") << tables
              << (tables == 1 ? " table entry)" : " table entries)") << '\n';
    return k_exit_ok;
}

// Commands whose engine has not landed yet: validate the config like they will, then say so.
int cmd_not_yet(const Options& options, std::string_view command) {
    load(options);
    throw Error(ErrorCode::usage,
                "'syncset " + std::string(command) + "' is not available in this build yet",
                false, "'syncset validate' is; the copy engine and drift scanner are on the way");
}

void print_error(const Error& e) {
    if (e.code() == ErrorCode::config) {
        // Each line is already `FILE:LINE:COL: KEY.PATH: message`.
        std::cerr << e.what() << '\n';
        std::string text = e.what();
        std::size_t problems = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
        std::cerr << "syncset: the configuration has " << problems
                  << (problems == 1 ? " problem" : " problems")
                  << "; nothing was started and no database was touched\n";
        return;
    }
    std::cerr << "syncset: " << e.what() << '\n';
    if (!e.hint().empty()) {
        std::cerr << "HINT: " << e.hint() << '\n';
    }
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App app{"syncset: keep a chosen subset of a PostgreSQL database copied into replicas",
                 "syncset"};
    app.set_version_flag("--version", std::string("syncset ") + SYNCSET_VERSION);
    app.require_subcommand(1);
    app.fallthrough();

    Options options;
    const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
    app.add_option("--log-level", options.log_level, "override log.level")
        ->check(CLI::IsMember(levels));
    app.add_option("--log-format", options.log_format, "override log.format")
        ->check(CLI::IsMember({"text", "json"}));

    auto add_config = [&](CLI::App* sub) {
        sub->add_option("CONFIG", options.config_path, "path to the YAML configuration")
            ->required();
    };

    CLI::App* run_cmd = app.add_subcommand("run", "run the sync daemon (snapshot, then follow)");
    add_config(run_cmd);
    run_cmd->add_flag("--once", options.once, "one pass of every table, then exit");

    CLI::App* check_cmd = app.add_subcommand("check", "compare replicas with the source");
    add_config(check_cmd);
    check_cmd->add_flag("--json", options.json, "print the report as JSON");
    check_cmd->add_flag("--repair", options.repair, "fix the rows that differ");

    CLI::App* plan_cmd =
        app.add_subcommand("plan", "print the DDL and copy work a run would do; change nothing");
    add_config(plan_cmd);

    CLI::App* status_cmd = app.add_subcommand("status", "show per-table phase, cursor and lag");
    add_config(status_cmd);
    status_cmd->add_flag("--json", options.json, "print as JSON");

    CLI::App* validate_cmd =
        app.add_subcommand("validate", "check the configuration; no database is needed");
    add_config(validate_cmd);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int status = app.exit(e);  // prints help, version or the parse error
        return status == 0 ? k_exit_ok : k_exit_usage;
    }

    try {
        if (validate_cmd->parsed()) {
            return cmd_validate(options);
        }
        if (run_cmd->parsed()) {
            return cmd_not_yet(options, "run");
        }
        if (check_cmd->parsed()) {
            return cmd_not_yet(options, "check");
        }
        if (plan_cmd->parsed()) {
            return cmd_not_yet(options, "plan");
        }
        return cmd_not_yet(options, "status");
    } catch (const Error& e) {
        print_error(e);
        return exit_status_for(e.code());
    } catch (const std::exception& e) {
        std::cerr << "syncset: internal error: " << e.what() << '\n'
                  << "HINT: this is a bug in syncset; please report it with the command you ran\n";
        return k_exit_internal;
    }
}

}  // namespace syncset::cli
