// The schema planner. See planner.hpp: pure, deterministic, and the only place that decides
// what DDL a replica needs. Rules it keeps:
// - columns are tracked by attnum, and a column counts as excluded when its current name or
//   any name it had at the last migration is excluded, so a rename never starts a leak;
// - nothing is ever dropped because the source lost it, except a column under
//   schema_changes.drop_column: drop;
// - a change the policy says `stop` for stops that table only.
#include "syncset/plan/planner.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "plan/sequences.hpp"
#include "syncset/db/quote.hpp"

namespace syncset::plan {

namespace {

using catalog::Catalog;
using catalog::Column;
using catalog::Table;
using catalog::UserType;
using config::ChangeAction;
using config::TableSpec;
using db::quote_ident;
using db::quote_literal;
using db::quote_qualified;
using state::TableState;

std::string table_path(std::size_t replica_index, std::size_t table_index) {
    return "replicas[" + std::to_string(replica_index) + "].tables[" + std::to_string(table_index) +
           "]";
}

std::string display(std::string_view schema, std::string_view name) {
    return config::TableName{std::string(schema), std::string(name)}.display();
}

bool contains(const std::vector<std::string>& list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

std::string join_quoted(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) {
            out += ", ";
        }
        out += quote_ident(n);
    }
    return out;
}

// Wraps DDL so it is a no-op when the object already exists (a type may exist on the replica
// without any replicated table using it yet, so the replica catalog cannot always tell).
std::string if_not_exists(const std::string& ddl) {
    return "DO $syncset$ BEGIN " + ddl +
           "; EXCEPTION WHEN duplicate_object THEN NULL; END $syncset$";
}

// Names the config may use for a column: its current one, the one at the last migration and
// the one the config knew it by.
std::vector<std::string> known_names(const Column& column, const state::ColumnState* old) {
    std::vector<std::string> names{column.name};
    if (old != nullptr) {
        for (const std::string* n : {&old->source_name, &old->config_name}) {
            if (!n->empty() && std::find(names.begin(), names.end(), *n) == names.end()) {
                names.push_back(*n);
            }
        }
    }
    return names;
}

// Whether the entry names `column` anywhere a column is named.
bool config_mentions(const TableSpec& spec, const std::string& column) {
    return (spec.columns && contains(*spec.columns, column)) ||
           (spec.exclude && contains(*spec.exclude, column)) ||
           std::any_of(spec.rename.begin(), spec.rename.end(),
                       [&](const config::ColumnRename& r) { return r.from == column; });
}

bool any_in(const std::vector<std::string>& names, const std::vector<std::string>& list) {
    return std::any_of(names.begin(), names.end(),
                       [&](const auto& n) { return contains(list, n); });
}

const config::ColumnRename* find_rename(const TableSpec& spec,
                                        const std::vector<std::string>& names) {
    for (const auto& name : names) {
        for (const auto& r : spec.rename) {
            if (r.from == name) {
                return &r;
            }
        }
    }
    return nullptr;
}

// The key to use: `key:` from the config, the primary key, or a unique index whose columns
// are all NOT NULL (any row is then identified by it).
std::vector<std::string> choose_key(const TableSpec& spec, const Table& table) {
    if (!spec.key.empty()) {
        return spec.key;
    }
    if (!table.primary_key.empty()) {
        return table.primary_key;
    }
    for (const auto& index : table.indexes) {
        if (!index.unique || index.expression_or_partial || index.columns.empty()) {
            continue;
        }
        bool all_not_null = std::all_of(index.columns.begin(), index.columns.end(), [&](auto& c) {
            const Column* column = table.column(c);
            return column != nullptr && column->not_null;
        });
        if (all_not_null) {
            return index.columns;
        }
    }
    return {};
}

class Planner {
  public:
    Planner(const config::Config& config, const config::ReplicaSpec& replica, const Catalog& source,
            const Catalog& target, const std::vector<TableState>& stored)
        : m_config(config),
          m_replica(replica),
          m_source(source),
          m_target(target),
          m_stored(stored) {
        m_plan.replica = replica.name;
        for (std::size_t i = 0; i < config.replicas.size(); ++i) {
            if (&config.replicas[i] == &replica || config.replicas[i].name == replica.name) {
                m_replica_index = i;
                break;
            }
        }
    }

    ReplicaPlan run() {
        // Explicit entries claim their tables before any pattern does.
        std::set<std::uint32_t> claimed;
        for (const auto& spec : m_replica.tables) {
            if (!spec.source.has_glob()) {
                if (const Table* t = m_source.find_table(spec.source.schema, spec.source.table)) {
                    claimed.insert(t->oid);
                }
            }
        }
        for (std::size_t i = 0; i < m_replica.tables.size(); ++i) {
            const TableSpec& spec = m_replica.tables[i];
            std::string path = table_path(m_replica_index, i);
            if (spec.source.has_glob()) {
                plan_pattern(spec, path, claimed);
            } else {
                plan_named(spec, path);
            }
        }
        plan_sequences(
            m_replica, m_replica_index, m_source, m_target,
            [this](const std::string& schema) { ensure_schema(schema); }, m_plan);
        return std::move(m_plan);
    }

  private:
    void problem(const TableSpec& spec, const std::string& path, std::string message) {
        m_plan.problems.push_back({spec.position, path, std::move(message)});
    }

    const TableState* stored_for(std::string_view schema, std::string_view name) const {
        for (const auto& s : m_stored) {
            if (s.target_schema == schema && s.target_name == name) {
                return &s;
            }
        }
        return nullptr;
    }

    std::pair<std::string, std::string> target_of(const TableSpec& spec,
                                                  const Table& source) const {
        if (!spec.target) {
            return {source.schema, source.name};
        }
        return {spec.target->schema, spec.target->table == "*" ? source.name : spec.target->table};
    }

    void plan_named(const TableSpec& spec, const std::string& path) {
        const Table* table = m_source.find_table(spec.source.schema, spec.source.table);
        if (table != nullptr) {
            plan_table(spec, path, *table, false);
            return;
        }
        // Gone from the source. If we copied it before, stop it and keep the replica's data;
        // otherwise the config names a table that does not exist.
        std::string target_schema = spec.target ? spec.target->schema : spec.source.schema;
        std::string target_name =
            spec.target && spec.target->table != "*" ? spec.target->table : spec.source.table;
        if (const TableState* st = stored_for(target_schema, target_name)) {
            TablePlan plan = stopped_plan(spec, *st);
            if (const Table* moved = m_source.find_table(st->source_oid)) {
                plan.stop_reason = "source table " + spec.source.display() + " was renamed to " +
                                   display(moved->schema, moved->name) +
                                   "; the replica table and its data are kept. Update 'source' in "
                                   "the config to follow it";
            } else {
                plan.stop_reason = "source table " + spec.source.display() +
                                   " no longer exists; the replica table and its data are kept. "
                                   "Restore the table or remove it from the config";
            }
            plan.next_state.stop_reason = *plan.stop_reason;
            plan.state_changed = !(plan.next_state == *st);
            m_plan.tables.push_back(std::move(plan));
            return;
        }
        std::string message = "table " + spec.source.display() + " does not exist on the source";
        if (auto close = closest_table(spec.source)) {
            message += " (did you mean " + *close + "?)";
        }
        problem(spec, path + ".source", message);
    }

    std::optional<std::string> closest_table(const config::TableName& wanted) const {
        std::optional<std::string> best;
        std::size_t best_distance = 3;
        for (const auto& t : m_source.tables) {
            std::size_t d = config::edit_distance(wanted.schema, t.schema) +
                            config::edit_distance(wanted.table, t.name);
            if (d < best_distance) {
                best_distance = d;
                best = display(t.schema, t.name);
            }
        }
        return best;
    }

    TablePlan stopped_plan(const TableSpec& spec, const TableState& st) const {
        TablePlan plan;
        plan.spec = &spec;
        plan.source_schema = st.source_schema;
        plan.source_name = st.source_name;
        plan.source_oid = st.source_oid;
        plan.target_schema = st.target_schema;
        plan.target_name = st.target_name;
        plan.next_state = st;
        plan.next_state.phase = state::Phase::stopped;
        return plan;
    }

    void plan_pattern(const TableSpec& spec, const std::string& path,
                      std::set<std::uint32_t>& claimed) {
        for (const auto& table : m_source.tables) {
            if (table.is_partition || claimed.count(table.oid) != 0 ||
                !catalog::glob_match(spec.source.schema, table.schema) ||
                !catalog::glob_match(spec.source.table, table.name)) {
                continue;
            }
            claimed.insert(table.oid);
            plan_table(spec, path, table, true);
        }
    }

    // Where the types this table's selected columns need come from and go to.
    void require_types(const std::vector<const Column*>& columns) {
        std::vector<const UserType*> wanted;
        for (const Column* column : columns) {
            for (const auto& type : m_source.types) {
                if (type.oid == column->type_oid || type.array_oid == column->type_oid) {
                    add_with_dependencies(type, wanted);
                }
            }
        }
        for (const UserType* type : wanted) {
            plan_type(*type);
        }
    }

    void add_with_dependencies(const UserType& type, std::vector<const UserType*>& out) {
        if (std::find(out.begin(), out.end(), &type) != out.end()) {
            return;
        }
        for (std::uint32_t dep : type.depends_on) {
            if (const UserType* d = m_source.find_type(dep)) {
                add_with_dependencies(*d, out);
            }
        }
        out.push_back(&type);
    }

    void ensure_schema(const std::string& schema) {
        if (m_schemas.insert(schema).second) {
            m_plan.ddl.push_back("CREATE SCHEMA IF NOT EXISTS " + quote_ident(schema));
        }
    }

    void plan_type(const UserType& type) {
        if (!m_types.emplace(type.schema, type.name).second) {
            return;
        }
        const UserType* existing = m_target.find_type(type.schema, type.name);
        std::string name = quote_qualified(type.schema, type.name);
        if (existing == nullptr) {
            ensure_schema(type.schema);
            std::string ddl;
            switch (type.kind) {
                case UserType::Kind::enum_type: {
                    ddl = "CREATE TYPE " + name + " AS ENUM (";
                    for (std::size_t i = 0; i < type.labels.size(); ++i) {
                        ddl += (i > 0 ? ", " : "") + quote_literal(type.labels[i]);
                    }
                    ddl += ")";
                    break;
                }
                case UserType::Kind::domain: {
                    ddl = "CREATE DOMAIN " + name + " AS " + type.base_type;
                    if (type.not_null) {
                        ddl += " NOT NULL";
                    }
                    for (const auto& check : type.checks) {
                        ddl += " " + check;
                    }
                    break;
                }
                case UserType::Kind::composite: {
                    ddl = "CREATE TYPE " + name + " AS (";
                    for (std::size_t i = 0; i < type.attributes.size(); ++i) {
                        ddl += (i > 0 ? ", " : "") + quote_ident(type.attributes[i].first) + " " +
                               type.attributes[i].second;
                    }
                    ddl += ")";
                    break;
                }
            }
            m_plan.ddl.push_back(if_not_exists(ddl));
            m_plan.changes.push_back("create type " + display(type.schema, type.name));
            return;
        }
        if (type.kind != UserType::Kind::enum_type) {
            return;
        }
        // New enum labels, each placed next to its neighbour so the sort order matches.
        for (std::size_t i = 0; i < type.labels.size(); ++i) {
            const std::string& label = type.labels[i];
            if (contains(existing->labels, label)) {
                continue;
            }
            std::string ddl =
                "ALTER TYPE " + name + " ADD VALUE IF NOT EXISTS " + quote_literal(label);
            if (i > 0) {
                ddl += " AFTER " + quote_literal(type.labels[i - 1]);
            } else if (type.labels.size() > 1) {
                ddl += " BEFORE " + quote_literal(type.labels[1]);
            }
            m_plan.ddl.push_back(ddl);
            m_plan.changes.push_back("add value " + quote_literal(label) + " to enum " +
                                     display(type.schema, type.name));
        }
    }

    // Checks that every column the entry names exists (now, or under its name at the last
    // migration). An `exclude` typo would copy the column it meant to hide: it is an error.
    bool check_named_columns(const TableSpec& spec, const std::string& path, const Table& table,
                             const TableState* st, bool from_pattern) {
        std::set<std::string> names;
        for (const auto& c : table.columns) {
            names.insert(c.name);
            if (st != nullptr) {
                if (const auto* old = st->column_by_attnum(c.attnum)) {
                    names.insert(old->source_name);
                    names.insert(old->config_name);
                }
            }
        }
        bool ok = true;
        std::string where = " in source table " + display(table.schema, table.name);
        auto require = [&](const std::string& column, std::string_view key) {
            if (names.count(column) == 0) {
                problem(spec, path + "." + std::string(key),
                        "column '" + column + "' does not exist" + where);
                ok = false;
            }
        };
        if (spec.columns) {
            for (const auto& c : *spec.columns) {
                require(c, "columns");
            }
        }
        if (spec.exclude && !from_pattern) {
            for (const auto& c : *spec.exclude) {
                require(c, "exclude");
            }
        }
        if (!from_pattern) {
            for (const auto& r : spec.rename) {
                require(r.from, "rename");
            }
        }
        for (const auto& c : spec.key) {
            require(c, "key");
        }
        if (spec.cursor.kind == config::CursorKind::column) {
            require(spec.cursor.column, "cursor");
        }
        if (spec.soft_delete) {
            require(*spec.soft_delete, "soft_delete");
        }
        return ok;
    }

    void plan_table(const TableSpec& spec, const std::string& path, const Table& table,
                    bool from_pattern) {
        auto [target_schema, target_name] = target_of(spec, table);
        if (!m_targets.emplace(target_schema, target_name).second) {
            problem(spec, path + ".target",
                    "target table " + display(target_schema, target_name) +
                        " is written by two entries (source " + display(table.schema, table.name) +
                        " here); give one of them another target");
            return;
        }
        const TableState* st = stored_for(target_schema, target_name);
        const Table* existing = m_target.find_table(target_schema, target_name);
        const auto& policy = m_config.schema_changes;

        if (!check_named_columns(spec, path, table, st, from_pattern)) {
            return;
        }

        TablePlan plan;
        plan.spec = &spec;
        plan.source_schema = table.schema;
        plan.source_name = table.name;
        plan.source_oid = table.oid;
        plan.target_schema = target_schema;
        plan.target_name = target_name;
        const std::string qualified_target = quote_qualified(target_schema, target_name);
        auto stop = [&](std::string reason) {
            if (!plan.stop_reason) {
                plan.stop_reason = std::move(reason);
            }
        };
        const std::string table_label = display(table.schema, table.name);

        if (st == nullptr && existing == nullptr && !m_stored.empty() && from_pattern) {
            if (policy.new_tables == ChangeAction::ignore) {
                return;
            }
            if (policy.new_tables == ChangeAction::stop) {
                stop("new source table " + table_label + " matches '" + spec.source.display() +
                     "' and schema_changes.new_tables is 'stop'; set it to apply to copy it");
            }
        }

        // Which source columns are selected, and what they are called on the replica.
        std::vector<const Column*> selected;
        state::TableState& next = plan.next_state;
        for (const Column& column : table.columns) {
            const state::ColumnState* old =
                st != nullptr ? st->column_by_attnum(column.attnum) : nullptr;
            std::vector<std::string> names = known_names(column, old);
            bool listed = spec.columns && any_in(names, *spec.columns);
            bool chosen = spec.columns ? listed : !(spec.exclude && any_in(names, *spec.exclude));
            bool was_replicated = old != nullptr && !old->target_name.empty();
            if (chosen && st != nullptr && !was_replicated && !listed &&
                (existing == nullptr || existing->column(column.name) == nullptr)) {
                // A column the source gained (or one policy kept out before).
                if (policy.add_column == ChangeAction::ignore) {
                    chosen = false;
                } else if (policy.add_column == ChangeAction::stop) {
                    stop("column '" + column.name + "' was added to source table " + table_label +
                         " and schema_changes.add_column is 'stop'; set it to apply or ignore");
                    chosen = false;
                }
            }
            std::string target_column;
            if (chosen) {
                const config::ColumnRename* rename = find_rename(spec, names);
                target_column = rename != nullptr ? rename->to : column.name;
                selected.push_back(&column);
                plan.columns.push_back(
                    {column.attnum, column.name, target_column, column.type, column.not_null});
            }
            std::string config_name =
                old == nullptr || old->config_name.empty() || config_mentions(spec, column.name)
                    ? column.name
                    : old->config_name;
            next.columns.push_back(
                {column.attnum, column.name, target_column, column.type, config_name});
        }
        if (plan.columns.empty()) {
            problem(spec, path,
                    "no column of source table " + table_label +
                        " is selected; check 'columns' and 'exclude'");
            return;
        }

        // The key, in source and replica names.
        std::vector<std::string> key_source = choose_key(spec, table);
        if (key_source.empty() && spec.mode != config::Mode::mirror) {
            problem(spec, path,
                    "source table " + table_label +
                        " has no primary key or unique NOT NULL index; set 'key: [columns]' to "
                        "columns that identify a row, or use 'mode: mirror' (full refresh)");
            return;
        }
        for (const auto& k : key_source) {
            auto it = std::find_if(plan.columns.begin(), plan.columns.end(),
                                   [&](const ColumnMap& m) { return m.source_name == k; });
            if (it == plan.columns.end()) {
                problem(spec, path,
                        "key column '" + k + "' of source table " + table_label +
                            " is not selected; key columns must be copied");
                return;
            }
            plan.key.push_back(it->target_name);
        }
        plan.key_source = key_source;

        require_types(selected);

        if (existing == nullptr) {
            plan_create(plan, qualified_target);
        } else {
            plan_alter(plan, *existing, st, table, qualified_target, stop);
        }
        plan_indexes(plan, table, existing, st, qualified_target);

        next.target_schema = target_schema;
        next.target_name = target_name;
        next.source_schema = table.schema;
        next.source_name = table.name;
        next.source_oid = table.oid;
        next.key = plan.key;
        next.fingerprint = st != nullptr ? st->fingerprint : std::string();
        if (plan.stop_reason) {
            // A stopped table changes nothing: its state stays as it was, so fixing the cause
            // (or the policy) lets the next plan see the same change again.
            plan.ddl.clear();
            plan.index_ddl.clear();
            plan.work = state::Work::none;
            if (st != nullptr) {
                next = *st;
            }
            next.phase = state::Phase::stopped;
            next.stop_reason = *plan.stop_reason;
        } else {
            // Re-copies accumulate: a backfill asked for during an unfinished snapshot still
            // needs the upsert re-copy (Work is ordered none < snapshot < backfill < resync).
            next.pending = std::max(st != nullptr ? st->pending : state::Work::none, plan.work);
            if (plan.key.empty() && next.pending > state::Work::snapshot) {
                // A re-copy stored by an older syncset would append to a keyless table's rows;
                // its full refresh does the same work without duplicating them. (Its first
                // snapshot copies into the empty table it was created as, and stays.)
                next.pending = state::Work::none;
            }
            next.phase = next.pending == state::Work::none ? state::Phase::incremental
                                                           : state::Phase::snapshot;
            next.stop_reason.clear();
        }
        plan.state_changed = st == nullptr || !(next == *st);
        m_plan.tables.push_back(std::move(plan));
    }

    void plan_create(TablePlan& plan, const std::string& qualified_target) {
        ensure_schema(plan.target_schema);
        std::string ddl = "CREATE TABLE " + qualified_target + " (";
        for (std::size_t i = 0; i < plan.columns.size(); ++i) {
            const ColumnMap& c = plan.columns[i];
            ddl += (i > 0 ? ", " : "") + quote_ident(c.target_name) + " " + c.type;
            if (c.not_null) {
                ddl += " NOT NULL";
            }
        }
        if (!plan.key.empty()) {
            ddl += ", PRIMARY KEY (" + join_quoted(plan.key) + ")";
        }
        ddl += ")";
        plan.ddl.push_back(ddl);
        plan.changes.push_back("create table " + display(plan.target_schema, plan.target_name) +
                               " (" + std::to_string(plan.columns.size()) + " columns)");
        plan.work = state::Work::snapshot;
    }

    template <typename Stop>
    void plan_alter(TablePlan& plan, const Table& existing, const TableState* st,
                    const Table& source, const std::string& qualified_target, Stop&& stop) {
        const auto& policy = m_config.schema_changes;
        const std::string label = display(source.schema, source.name);
        // Without a key (mode: mirror) the copy loop replaces the table's whole content in one
        // transaction at every poll, while a re-copy could only append to the rows already
        // there: every row would be held twice until the next refresh. Such a table is never
        // given a re-copy; the next refresh fills it.
        const bool keyless = plan.key.empty();
        const std::string refilled = " (no key: the next full refresh fills it)";
        if (st == nullptr) {
            // A table we did not create (or whose state was lost): adopt it, re-copy by upsert
            // (a keyless one is replaced by its refresh instead).
            plan.changes.push_back(
                "adopt existing table " + display(plan.target_schema, plan.target_name) +
                (keyless ? " (no key: the next full refresh replaces its rows)" : ""));
            if (!keyless) {
                plan.work = state::Work::resync;
            }
        }
        for (const ColumnMap& c : plan.columns) {
            const state::ColumnState* old =
                st != nullptr ? st->column_by_attnum(c.attnum) : nullptr;
            // Renamed on the source: the replica column follows unless `rename:` pins its name.
            if (old != nullptr && !old->target_name.empty() && old->target_name != c.target_name &&
                existing.column(old->target_name) != nullptr &&
                existing.column(c.target_name) == nullptr) {
                if (policy.rename_column == ChangeAction::stop) {
                    stop("column '" + old->source_name + "' of source table " + label +
                         " was renamed to '" + c.source_name +
                         "' and schema_changes.rename_column is 'stop'; set it to apply");
                    continue;
                }
                plan.ddl.push_back("ALTER TABLE " + qualified_target + " RENAME COLUMN " +
                                   quote_ident(old->target_name) + " TO " +
                                   quote_ident(c.target_name));
                plan.changes.push_back("rename column " + old->target_name + " to " +
                                       c.target_name);
            }
            const Column* replica_column = existing.column(c.target_name);
            if (replica_column == nullptr &&
                !(old != nullptr && existing.column(old->target_name) != nullptr)) {
                plan.ddl.push_back("ALTER TABLE " + qualified_target + " ADD COLUMN " +
                                   quote_ident(c.target_name) + " " + c.type);
                plan.changes.push_back("add column " + c.target_name + " " + c.type +
                                       (keyless ? refilled : " (backfill)"));
                if (!keyless) {
                    plan.work = std::max(plan.work, state::Work::backfill);
                }
                continue;
            }
            if (replica_column == nullptr) {
                replica_column = existing.column(old->target_name);
            }
            if (replica_column->type != c.type) {
                if (policy.type_change == ChangeAction::stop) {
                    stop("column '" + c.source_name + "' of source table " + label +
                         " changed type from " + replica_column->type + " to " + c.type +
                         " and schema_changes.type_change is 'stop'; set it to apply");
                    continue;
                }
                // Cast in place where PostgreSQL can; otherwise rebuild the column. Either way
                // the values are re-read from the source afterwards.
                std::string column = quote_ident(c.target_name);
                plan.ddl.push_back(
                    "DO $syncset$ BEGIN ALTER TABLE " + qualified_target + " ALTER COLUMN " +
                    column + " TYPE " + c.type + " USING " + column + "::" + c.type +
                    "; EXCEPTION WHEN cannot_coerce OR datatype_mismatch OR data_exception THEN "
                    "ALTER TABLE " +
                    qualified_target + " DROP COLUMN " + column + "; ALTER TABLE " +
                    qualified_target + " ADD COLUMN " + column + " " + c.type + "; END $syncset$");
                plan.changes.push_back("change type of " + c.target_name + " from " +
                                       replica_column->type + " to " + c.type +
                                       (keyless ? refilled : " (resync)"));
                if (!keyless) {
                    plan.work = std::max(plan.work, state::Work::resync);
                }
            }
            if (replica_column->not_null && !c.not_null && !contains(plan.key, c.target_name)) {
                plan.ddl.push_back("ALTER TABLE " + qualified_target + " ALTER COLUMN " +
                                   quote_ident(c.target_name) + " DROP NOT NULL");
                plan.changes.push_back("drop not null on " + c.target_name);
            }
        }
        // Columns the source dropped (or that the config no longer selects).
        if (st != nullptr) {
            for (const auto& old : st->columns) {
                if (old.target_name.empty()) {
                    continue;
                }
                bool still_mapped =
                    std::any_of(plan.columns.begin(), plan.columns.end(),
                                [&](const ColumnMap& m) { return m.attnum == old.attnum; });
                const Column* replica_column = existing.column(old.target_name);
                if (still_mapped || replica_column == nullptr) {
                    continue;
                }
                bool dropped_on_source = source.column_by_attnum(old.attnum) == nullptr;
                if (dropped_on_source && policy.drop_column == ChangeAction::stop) {
                    stop("column '" + old.source_name + "' was dropped from source table " + label +
                         " and schema_changes.drop_column is 'stop'; set it to keep or drop");
                    continue;
                }
                if (dropped_on_source && policy.drop_column == ChangeAction::drop) {
                    plan.ddl.push_back("ALTER TABLE " + qualified_target + " DROP COLUMN " +
                                       quote_ident(old.target_name));
                    plan.changes.push_back("drop column " + old.target_name);
                    continue;
                }
                // Kept: no longer filled, so it must accept NULL in new rows.
                if (replica_column->not_null && !contains(plan.key, old.target_name)) {
                    plan.ddl.push_back("ALTER TABLE " + qualified_target + " ALTER COLUMN " +
                                       quote_ident(old.target_name) + " DROP NOT NULL");
                }
                plan.changes.push_back(
                    "keep column " + old.target_name + " (" +
                    (dropped_on_source ? "dropped on the source" : "no longer selected") +
                    "), no longer filled");
            }
        }
        // Primary key.
        if (!plan.key.empty() && existing.primary_key != plan.key) {
            std::string pk_name;
            for (const auto& index : existing.indexes) {
                if (index.primary) {
                    pk_name = index.name;
                }
            }
            if (!pk_name.empty()) {
                plan.ddl.push_back("ALTER TABLE " + qualified_target + " DROP CONSTRAINT " +
                                   quote_ident(pk_name));
            }
            plan.ddl.push_back("ALTER TABLE " + qualified_target + " ADD PRIMARY KEY (" +
                               join_quoted(plan.key) + ")");
            plan.changes.push_back("set primary key (" + join_quoted(plan.key) + ") (resync)");
            plan.work = std::max(plan.work, state::Work::resync);
        }
    }

    void plan_indexes(TablePlan& plan, const Table& source, const Table* existing,
                      const TableState* st, const std::string& qualified_target) {
        if (m_config.schema_changes.indexes == ChangeAction::ignore) {
            if (st != nullptr) {
                plan.next_state.indexes = st->indexes;
            }
            return;
        }
        std::vector<std::string> wanted;
        for (const auto& index : source.indexes) {
            if (index.primary || index.expression_or_partial || index.columns.empty()) {
                continue;
            }
            std::vector<std::string> columns;
            for (const auto& c : index.columns) {
                auto it = std::find_if(plan.columns.begin(), plan.columns.end(),
                                       [&](const ColumnMap& m) { return m.source_name == c; });
                if (it == plan.columns.end()) {
                    break;
                }
                columns.push_back(it->target_name);
            }
            if (columns.size() != index.columns.size()) {
                continue;  // not every column is replicated
            }
            wanted.push_back(index.name);
            bool present =
                existing != nullptr &&
                std::any_of(existing->indexes.begin(), existing->indexes.end(),
                            [&](const catalog::Index& i) { return i.name == index.name; });
            if (present) {
                continue;
            }
            // Unique indexes become plain ones: rows arrive in cursor order, not commit order,
            // so a value moving between two rows would violate uniqueness in between.
            plan.index_ddl.push_back("CREATE INDEX IF NOT EXISTS " + quote_ident(index.name) +
                                     " ON " + qualified_target + " USING " +
                                     quote_ident(index.method) + " (" + join_quoted(columns) + ")");
            plan.changes.push_back("create index " + index.name +
                                   (index.unique ? " (unique on the source, plain here)" : ""));
        }
        if (st != nullptr) {
            for (const auto& name : st->indexes) {
                if (!contains(wanted, name)) {
                    plan.ddl.push_back("DROP INDEX IF EXISTS " +
                                       quote_qualified(plan.target_schema, name));
                    plan.changes.push_back("drop index " + name + " (gone from the source)");
                }
            }
        }
        plan.next_state.indexes = wanted;
    }

    const config::Config& m_config;
    const config::ReplicaSpec& m_replica;
    const Catalog& m_source;
    const Catalog& m_target;
    const std::vector<TableState>& m_stored;
    std::size_t m_replica_index = 0;
    ReplicaPlan m_plan;
    std::set<std::string> m_schemas;
    // (schema, name) pairs, never one joined string: "a.b".c and a."b.c" are two objects.
    std::set<std::pair<std::string, std::string>> m_types;
    std::set<std::pair<std::string, std::string>> m_targets;  // every planned target
};

}  // namespace

ReplicaPlan plan_replica(const config::Config& config, const config::ReplicaSpec& replica,
                         const catalog::Catalog& source, const catalog::Catalog& target,
                         const std::vector<state::TableState>& stored) {
    return Planner(config, replica, source, target, stored).run();
}

}  // namespace syncset::plan
