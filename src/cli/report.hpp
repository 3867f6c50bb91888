// What `syncset status` and `syncset check` print: plain models the commands gather from the
// databases, and renderers that turn them into text or JSON. Pure: no I/O, unit-tested on
// exact output.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "syncset/drift/scanner.hpp"
#include "syncset/state/progress.hpp"

namespace syncset::cli {

// ---- status -------------------------------------------------------------------------------

struct StatusReplica {
    std::string name;
    std::string where;                 // redacted DSN: never one with a password
    std::optional<std::string> error;  // its state could not be read; `tables` is then empty
    std::vector<state::Progress> tables;
};

struct StatusReport {
    std::vector<StatusReplica> replicas;
};

// Per replica its tables' phase, cursor, rows copied, last success, error and drift scan,
// then a note on hard deletes.
std::string render_status_text(const StatusReport& report);
// One line: {"replicas":[{"name":..,"tables":[..]} or {"name":..,"error":..}]}.
std::string render_status_json(const StatusReport& report);

// ---- check --------------------------------------------------------------------------------

enum class CheckOutcome {
    stopped,   // the table is stopped: not compared
    snapshot,  // its first copy has not finished: differences are expected, not compared
    compared,  // scanned; `scan` says what was found
};

struct CheckTable {
    std::string source;  // display names, `schema.table`
    std::string target;
    CheckOutcome outcome = CheckOutcome::compared;
    drift::TableReport scan;  // compared tables only
};

struct CheckReplica {
    std::string name;
    std::string where;  // redacted DSN
    std::vector<CheckTable> tables;
};

struct CheckReport {
    bool repair = false;  // --repair: differences were fixed as they were found
    std::vector<CheckReplica> replicas;
};

struct CheckSummary {
    std::size_t in_sync = 0;
    std::size_t with_drift = 0;
    std::size_t not_compared = 0;  // stopped, or initial copy not finished
    std::size_t unrepaired = 0;    // with --repair: tables still differing after the repair
};

CheckSummary summarize_check(const CheckReport& report);

// `check`'s exit status: 0 when nothing drifted, or with --repair when everything was fixed;
// k_exit_drift otherwise.
int check_exit_status(const CheckReport& report);

// Per table `source -> target: N rows, in sync (cost)` or its drift with up to 10 keys of each
// kind, then `summary: ...`.
std::string render_check_text(const CheckReport& report);
// One line with every count, the first 10 keys of each kind and the scan's cost per table.
std::string render_check_json(const CheckReport& report);

}  // namespace syncset::cli
