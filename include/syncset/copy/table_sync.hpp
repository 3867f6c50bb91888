// The copy engine for one (replica, table): snapshot chunks and incremental batches, each
// committed on the replica in one transaction with its checkpoint.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "syncset/config/config.hpp"
#include "syncset/copy/sql.hpp"
#include "syncset/plan/planner.hpp"
#include "syncset/state/progress.hpp"

namespace syncset::db {
class Connection;
}

namespace syncset::copy {

struct StepResult {
    bool caught_up = false;  // nothing more to copy until the next poll
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
};

class TableSync {
  public:
    TableSync(std::string replica, std::string state_schema, plan::TablePlan plan);

    // Starts a poll cycle: re-reads the stored progress and forgets in-cycle read positions.
    void begin_cycle(db::Connection& replica);
    // Copies one batch (a snapshot chunk, an incremental batch, or a full refresh) and commits
    // it with its checkpoint. Throws Error; the replica transaction is rolled back then.
    StepResult step(db::Connection& source, db::Connection& replica, const std::atomic<bool>* stop);

    // Ends a read-ahead still streaming on `source` (a snapshot chunk started early). Call it
    // before `source` is used for anything else: at the end of every cycle.
    void release(db::Connection& source) noexcept;

    // `public.orders -> billing.orders`
    const std::string& label() const noexcept { return m_label; }
    const plan::TablePlan& plan() const noexcept { return m_plan; }
    const CopySpec& spec() const noexcept { return m_spec; }

  private:
    // Client transactions open at some moment, as `pid@xact_start` (a pid alone may be reused).
    // A transaction that took a sequence value but has not written yet has no xid, so the
    // snapshot's xid list would miss it; pg_stat_activity does not.
    struct OpenTransactions {
        std::vector<std::string> sessions;
        std::chrono::steady_clock::time_point not_before;  // role cannot see other sessions
        bool ended(const OpenTransactions& now) const;
    };

    struct PipeResult {
        std::uint64_t rows = 0;
        std::uint64_t bytes = 0;
        std::vector<std::optional<std::string>> last_fields;  // key (and cursor) of the last row
    };

    PipeResult pipe(db::Connection& source, const std::string& copy_out, db::Connection& replica,
                    const std::string& copy_in, const std::atomic<bool>* stop);
    // COPY into the stage, delete rows that left the filter, upsert; transaction left open.
    PipeResult staged_batch(db::Connection& source, const std::string& copy_out,
                            db::Connection& replica, const std::atomic<bool>* stop);
    StepResult snapshot_step(db::Connection& source, db::Connection& replica,
                             const std::atomic<bool>* stop);
    StepResult incremental_step(db::Connection& source, db::Connection& replica,
                                const std::atomic<bool>* stop);
    StepResult full_refresh_step(db::Connection& source, db::Connection& replica,
                                 const std::atomic<bool>* stop);
    StepResult xmin_step(db::Connection& source, db::Connection& replica,
                         const std::atomic<bool>* stop);
    // Where incremental reads start once a (re-)copy that begins now is done.
    std::vector<std::string> handover_cursor(db::Connection& source, const std::atomic<bool>* stop);
    std::optional<Bound> read_bound(db::Connection& source);
    void advance_sequence_cursor(db::Connection& source, db::Connection& replica);
    OpenTransactions read_open_transactions(db::Connection& source);
    // The newest pending position whose open transactions have all ended, dropping older ones.
    std::optional<std::vector<std::string>> pop_safe_positions(db::Connection& source);
    void ensure_stage(db::Connection& replica);
    // Writes the checkpoint and commits; `before_commit` runs between the two.
    void commit_batch(db::Connection& replica, std::int64_t rows_added,
                      const std::function<void()>& before_commit = {});
    std::vector<std::string> key_of(const PipeResult& pipe) const;

    std::string m_replica;
    std::string m_state_schema;
    plan::TablePlan m_plan;
    CopySpec m_spec;
    std::string m_label;
    state::Progress m_progress;
    bool m_loaded = false;

    // In memory only, never persisted: losing them on a restart only means re-reading.
    std::optional<Position> m_unsafe_from;  // phase B read position within a cycle
    bool m_in_unsafe_phase = false;
    std::optional<Bound> m_cycle_bound;
    std::vector<std::string> m_cycle_last;  // position of the last row read this poll
    // Sequence rule: the position of the last row a poll read, and the transactions open then.
    std::deque<std::pair<std::vector<std::string>, OpenTransactions>> m_sequence_pending;
    std::vector<std::string> m_xmin_after_key;
    std::optional<std::int64_t> m_xmin_cycle_start;
    bool m_technique_logged = false;
    std::optional<std::string> m_prefetched;  // a snapshot chunk COPY already streaming
    bool m_xmin_checked = false;
    bool m_xmin_readable = true;
};

}  // namespace syncset::copy
