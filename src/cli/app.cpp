#include "cli/app.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <set>
#include <string>

#include "commands.hpp"
#include "syncset/error.hpp"

namespace syncset::cli {

namespace {

void print_error(const Error& e) {
    if (e.code() == ErrorCode::config) {
        // Each line is already `FILE:LINE:COL: KEY.PATH: message`.
        std::cerr << e.what() << '\n';
        std::string text = e.what();
        std::size_t problems =
            static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
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
    check_cmd
        ->add_option("--max-rows-per-second", options.max_rows_per_second,
                     "pace the scan to at most this many rows a second on each side (default 0: "
                     "unlimited; drift.max_rows_per_second paces the daemon's scans)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{100000000}));

    CLI::App* plan_cmd =
        app.add_subcommand("plan", "print the DDL and copy work a run would do; change nothing");
    add_config(plan_cmd);

    CLI::App* status_cmd = app.add_subcommand(
        "status", "show per-table phase, cursor, rows copied, last success and errors");
    add_config(status_cmd);
    status_cmd->add_flag("--json", options.json, "print as JSON");

    CLI::App* resync_cmd = app.add_subcommand(
        "resync", "re-copy one replica table from the source, keeping the table meanwhile");
    add_config(resync_cmd);
    resync_cmd->add_option("--replica", options.replica, "the replica's name")->required();
    resync_cmd->add_option("--table", options.table, "the replica table, schema.name")->required();

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
            return cmd_run(options);
        }
        if (plan_cmd->parsed()) {
            return cmd_plan(options);
        }
        if (status_cmd->parsed()) {
            return cmd_status(options);
        }
        if (resync_cmd->parsed()) {
            return cmd_resync(options);
        }
        return cmd_check(options);
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
