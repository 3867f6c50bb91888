#include "plan/sequences.hpp"

#include <map>
#include <set>
#include <utility>

#include "syncset/db/quote.hpp"

namespace syncset::plan {

namespace {

using catalog::Sequence;

std::string display(std::string_view schema, std::string_view name) {
    return config::TableName{std::string(schema), std::string(name)}.display();
}

std::string entry_path(std::size_t replica_index, std::size_t index) {
    return "replicas[" + std::to_string(replica_index) + "].sequences[" + std::to_string(index) +
           "]";
}

bool matches(const config::TableName& pattern, const Sequence& sequence) {
    return catalog::glob_match(pattern.schema, sequence.schema) &&
           catalog::glob_match(pattern.table, sequence.name);
}

// The source sequence nearest to a name that does not exist, when near enough to be a typo.
std::optional<std::string> closest(const catalog::Catalog& source,
                                   const config::TableName& wanted) {
    std::optional<std::string> best;
    std::size_t best_distance = 3;
    for (const auto& s : source.sequences) {
        const std::size_t d = config::edit_distance(wanted.schema, s.schema) +
                              config::edit_distance(wanted.table, s.name);
        if (d < best_distance) {
            best_distance = d;
            best = display(s.schema, s.name);
        }
    }
    return best;
}

}  // namespace

std::string build_create_sequence(const Sequence& source, const std::string& schema,
                                  const std::string& name) {
    return "CREATE SEQUENCE IF NOT EXISTS " + db::quote_qualified(schema, name) + " AS " +
           source.type + " INCREMENT BY " + std::to_string(source.increment) + " MINVALUE " +
           std::to_string(source.min) + " MAXVALUE " + std::to_string(source.max) + " START WITH " +
           std::to_string(source.start) + " CACHE " + std::to_string(source.cache) +
           (source.cycle ? " CYCLE" : " NO CYCLE");
}

void plan_sequences(const config::ReplicaSpec& replica, std::size_t replica_index,
                    const catalog::Catalog& source, const catalog::Catalog& target,
                    const std::function<void(const std::string&)>& ensure_schema,
                    ReplicaPlan& plan) {
    // Plain entries claim their sequences before any pattern does.
    std::set<std::uint32_t> claimed;
    for (const auto& spec : replica.sequences) {
        if (!spec.source.has_glob()) {
            if (const Sequence* s = source.find_sequence(spec.source.schema, spec.source.table)) {
                claimed.insert(s->oid);
            }
        }
    }
    // Replica sequence (schema, name) -> the source sequence written into it.
    std::map<std::pair<std::string, std::string>, std::string> written;
    const auto add = [&](const config::SequenceSpec& spec, const std::string& path,
                         const Sequence& s) {
        if (!s.readable) {
            plan.problems.push_back(
                {spec.position, path,
                 "sequence " + display(s.schema, s.name) +
                     " cannot be read by the source role; grant it with GRANT SELECT ON "
                     "SEQUENCE " +
                     display(s.schema, s.name) + " TO <the role of source.dsn>"});
            return;
        }
        SequencePlan planned;
        planned.source_schema = s.schema;
        planned.source_name = s.name;
        planned.target_schema = spec.target ? spec.target->schema : s.schema;
        planned.target_name =
            spec.target && spec.target->table != "*" ? spec.target->table : s.name;
        planned.descending = s.increment < 0;
        const auto key = std::make_pair(planned.target_schema, planned.target_name);
        const std::string source_name = display(s.schema, s.name);
        if (auto it = written.find(key); it != written.end()) {
            plan.problems.push_back({spec.position, path,
                                     "replica sequence " + display(key.first, key.second) +
                                         " would be written from both " + it->second + " and " +
                                         source_name + "; map one of them elsewhere"});
            return;
        }
        written.emplace(key, source_name);
        if (target.find_sequence(planned.target_schema, planned.target_name) == nullptr) {
            ensure_schema(planned.target_schema);
            plan.ddl.push_back(
                build_create_sequence(s, planned.target_schema, planned.target_name));
            plan.changes.push_back("create sequence " +
                                   display(planned.target_schema, planned.target_name));
        }
        plan.sequences.push_back(std::move(planned));
    };
    for (std::size_t i = 0; i < replica.sequences.size(); ++i) {
        const config::SequenceSpec& spec = replica.sequences[i];
        const std::string path = entry_path(replica_index, i);
        if (!spec.source.has_glob()) {
            if (const Sequence* s = source.find_sequence(spec.source.schema, spec.source.table)) {
                add(spec, path, *s);
                continue;
            }
            std::string message =
                "sequence " + spec.source.display() + " does not exist on the source";
            if (auto near = closest(source, spec.source)) {
                message += " (did you mean " + *near + "?)";
            }
            plan.problems.push_back({spec.position, path, std::move(message)});
            continue;
        }
        for (const Sequence& s : source.sequences) {
            if (!claimed.contains(s.oid) && matches(spec.source, s)) {
                claimed.insert(s.oid);
                add(spec, path, s);
            }
        }
    }
}

}  // namespace syncset::plan
