#include "syncset/plan/render.hpp"

namespace syncset::plan {

namespace {

std::string work_text(state::Work work) {
    switch (work) {
        case state::Work::none:
            return "no copy needed";
        case state::Work::snapshot:
            return "initial snapshot";
        case state::Work::backfill:
            return "backfill: re-copy to fill added columns";
        case state::Work::resync:
            return "resync: re-copy the whole table";
    }
    return "";
}

}  // namespace

std::string render_plan(const ReplicaPlan& plan, std::string_view where) {
    std::string out = "replica " + plan.replica + " (" + std::string(where) + ")\n";
    if (!plan.ddl.empty()) {
        out += "  schemas and types:\n";
        for (const auto& ddl : plan.ddl) {
            out += "    " + ddl + ";\n";
        }
    }
    if (plan.tables.empty()) {
        out += "  no tables selected\n";
    }
    for (const auto& t : plan.tables) {
        std::string source = config::TableName{t.source_schema, t.source_name}.display();
        std::string target = config::TableName{t.target_schema, t.target_name}.display();
        out += "  " + source + " -> " + target + ": ";
        if (t.stop_reason) {
            out += "STOPPED: " + *t.stop_reason + "\n";
            continue;
        }
        bool changed = !t.ddl.empty() || !t.index_ddl.empty();
        state::Work work = std::max(t.work, t.next_state.pending);
        out += changed ? std::to_string(t.changes.size()) +
                             (t.changes.size() == 1 ? " change" : " changes")
                       : std::string("no schema change");
        out += "; " + work_text(work) + "\n";
        for (const auto& ddl : t.ddl) {
            out += "    " + ddl + ";\n";
        }
        for (const auto& ddl : t.index_ddl) {
            out += "    " + ddl + ";  -- " +
                   (work == state::Work::none ? "now" : "after the copy") + "\n";
        }
    }
    if (!plan.sequences.empty()) {
        out += "  sequences, copied every poll, never moved back:\n";
        for (const auto& s : plan.sequences) {
            out += "    " + config::TableName{s.source_schema, s.source_name}.display() + " -> " +
                   config::TableName{s.target_schema, s.target_name}.display() + "\n";
        }
    }
    return out;
}

}  // namespace syncset::plan
