// The copy engine for one (replica, table): snapshot chunks and incremental batches, each
// committed on the replica in one transaction with its checkpoint.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "syncset/config/config.hpp"
#include "syncset/copy/cursor_policy.hpp"
#include "syncset/copy/sql.hpp"
#include "syncset/plan/planner.hpp"
#include "syncset/state/progress.hpp"

namespace syncset::db {
class Connection;
}

namespace syncset::copy {

// Why a step wrote nothing and the cycle should end until the next poll.
enum class Yield {
    none,
    claimed_elsewhere,  // another syncset process works the table (state/claims.hpp)
    repair_running,     // a drift repair is writing the table
};

struct StepResult {
    bool caught_up = false;  // nothing more to copy until the next poll
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
    std::uint64_t rows_deleted = 0;  // left the filter, soft-deleted, or gone from a mirror
    bool snapshot = false;           // a chunk of a snapshot, backfill or resync
    bool committed = true;           // false: nothing was written (a stopped table)
    Yield yielded = Yield::none;     // not none: nothing was written, and the cycle ends
};

class TableSync {
  public:
    TableSync(std::string replica, std::string state_schema, plan::TablePlan plan);

    // Starts a poll cycle: claims the table for this process (state/claims.hpp), re-reads the
    // stored progress (taking up a `syncset resync` request found there) and forgets in-cycle
    // read positions. False, reading nothing, when another process holds the claim.
    [[nodiscard]] bool begin_cycle(db::Connection& replica);
    // Copies one batch (a snapshot chunk, an incremental batch, or a full refresh) and commits
    // it with its checkpoint, which only the claim's holder writes: a batch whose claim was
    // taken over meanwhile is rolled back and yields (as does one that finds a drift repair
    // writing the table). Throws Error; the replica transaction is rolled back then.
    StepResult step(db::Connection& source, db::Connection& replica, const std::atomic<bool>* stop);

    // Ends a read-ahead still streaming on `source` (a snapshot chunk started early). Call it
    // before `source` is used for anything else: at the end of every cycle.
    void release(db::Connection& source) noexcept;

    // For log fields and messages: `public.orders`, `billing.orders`, and both joined by ` -> `.
    const std::string& source_name() const noexcept { return m_source_name; }
    const std::string& target_name() const noexcept { return m_target_name; }
    const std::string& label() const noexcept { return m_label; }
    const plan::TablePlan& plan() const noexcept { return m_plan; }
    const CopySpec& spec() const noexcept { return m_spec; }
    // The stored progress as of the last committed batch (or begin_cycle). The thread running
    // the table only.
    const state::Progress& progress() const noexcept { return m_progress; }
    // After begin_cycle returned false: whether a live claim of another process refused it
    // (false when the row was only locked for a moment), and how long that claim has left.
    bool refused_by_live_holder() const noexcept { return m_refused_by_live_holder; }
    std::chrono::milliseconds refusal_left() const noexcept { return m_refusal_left; }
    // Any thread, lock-free: the snapshot under way as of its last committed chunk (rows done,
    // estimated total), or nullopt when none is (or its estimate is not read yet).
    std::optional<std::pair<std::int64_t, std::int64_t>> snapshot_figures() const noexcept;

  private:
    struct PipeResult {
        std::uint64_t rows = 0;
        std::uint64_t bytes = 0;
        BatchRead read;  // what the policies need of it
        std::uint64_t deleted = 0;
    };

    PipeResult pipe(db::Connection& source, const std::string& copy_out, db::Connection& replica,
                    const std::string& copy_in, const std::atomic<bool>* stop);
    // COPY into the stage, delete rows that left the filter, upsert; transaction left open.
    PipeResult staged_batch(db::Connection& source, const std::string& copy_out,
                            db::Connection& replica, const std::atomic<bool>* stop);
    StepResult snapshot_step(db::Connection& source, db::Connection& replica,
                             const std::atomic<bool>* stop);
    StepResult column_step(db::Connection& source, db::Connection& replica,
                           const std::atomic<bool>* stop);
    StepResult full_refresh_step(db::Connection& source, db::Connection& replica,
                                 const std::atomic<bool>* stop);
    StepResult xmin_step(db::Connection& source, db::Connection& replica,
                         const std::atomic<bool>* stop);
    // Where incremental reads start once a (re-)copy that begins now is done.
    std::vector<std::string> read_handover_cursor(db::Connection& source,
                                                  const std::atomic<bool>* stop);
    std::optional<Bound> read_bound(db::Connection& source);
    std::optional<Bound> read_time_bound(db::Connection& source);
    // True when its checkpoint took up a resync request (commit_batch).
    [[nodiscard]] bool advance_sequence_cursor(db::Connection& source, db::Connection& replica);
    OpenTransactions read_open_transactions(db::Connection& source);
    bool read_xmin_readable(db::Connection& source);
    // The table's write counters on the source; nullopt when they cannot show every write.
    std::optional<WriteCounters> read_write_counters(db::Connection& source);
    // An xmin poll's first step: whether it scans (the counters are read first).
    XminScan choose_scan(db::Connection& source);
    void ensure_stage(db::Connection& replica);
    // Opens a replica transaction that will write the table (rows or checkpoint), holding the
    // table's batch lock; yields (throws the private Yielded, turned into a StepResult by
    // step) while a drift repair holds it, or when this process no longer holds the claim.
    // Every transaction that writes the state row holds the lock, so a frozen process's open
    // one can be found, and ended, by the claim's holder (end_lapsed_batches).
    void begin_batch(db::Connection& replica);
    // Ends other copy workers' batches still open on the table (state/claims.hpp); true when
    // there were some.
    bool end_lapsed_batches(db::Connection& replica);
    // Rows the snapshot under way will copy: the planner's estimate, or an exact count when
    // that is small or unknown.
    std::int64_t estimate_rows(db::Connection& source);
    // With the first chunk of a snapshot (in its replica transaction): its estimate and start.
    void start_snapshot_progress(db::Connection& replica, std::int64_t estimate);
    // After a chunk: a "snapshot progress" line at most every 10 s.
    void log_snapshot_progress(bool done);
    // Writes the checkpoint and commits; `before_commit` runs between the two. When the
    // checkpoint takes up a resync request, the progress is read back (begin_cycle) and it
    // returns true: the step then ends without touching the progress again, not caught up, so
    // the re-copy starts at the next step of the same cycle.
    [[nodiscard]] bool commit_batch(db::Connection& replica, std::int64_t rows_added,
                                    const std::function<void()>& before_commit = {});

    std::string m_replica;
    std::string m_state_schema;
    plan::TablePlan m_plan;
    CopySpec m_spec;
    std::string m_source_name;
    std::string m_target_name;
    std::string m_label;
    state::Claim m_claim;  // this process's, with the table's lease
    bool m_refused_by_live_holder = false;
    std::chrono::milliseconds m_refusal_left{0};
    state::Progress m_progress;
    bool m_loaded = false;

    // The policies' in-cycle state (cursor_policy.hpp), reset by begin_cycle.
    ColumnCycle m_column;
    XminCycle m_xmin;
    // Kept across cycles, in memory only: a restart just re-reads from the stored cursor.
    SequenceWatch m_sequence;
    std::optional<bool> m_xmin_readable;  // read once
    // The write counters read before the last full xmin poll that caught up, and when: an xmin
    // poll that finds them unchanged skips its scan (cursor_policy.hpp). A restart or a new
    // plan forgets them, so its first poll scans.
    std::optional<WriteCounters> m_full_scan_counters;
    SteadyTime m_full_scan_at{};
    SteadyTime m_counters_moved_at{};  // the last poll that found them moved
    bool m_counters_failed = false;    // reading them failed (not retryably): not tried again
    bool m_technique_logged = false;
    std::optional<std::string> m_prefetched;  // a snapshot chunk COPY already streaming
    SteadyTime m_snapshot_since{};            // when the snapshot under way started
    SteadyTime m_progress_logged{};           // its last "snapshot progress" line
    // What snapshot_figures() reads; estimated < 0: no snapshot under way.
    std::atomic<std::int64_t> m_figures_done{0};
    std::atomic<std::int64_t> m_figures_estimated{-1};
    void publish_snapshot_figures() noexcept;
};

}  // namespace syncset::copy
