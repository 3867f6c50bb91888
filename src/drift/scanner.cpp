#include "syncset/drift/scanner.hpp"

#include <algorithm>
#include <future>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "syncset/db/connection.hpp"
#include "syncset/db/copy_pipe.hpp"
#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"
#include "syncset/state/locks.hpp"
#include "syncset/state/progress.hpp"
#include "syncset/text.hpp"

namespace syncset::drift {

namespace {

using Clock = std::chrono::steady_clock;
using Keys = std::vector<std::vector<std::string>>;

constexpr std::size_t k_keys_per_query = 500;
// More rows in flight than this at the top of a scan: compare without leaving them out.
constexpr std::size_t k_max_in_flight = 50000;
// Every level narrows a range at least 4 ways, so a real descent is far shallower; this only
// stops one that no longer narrows (keys equal in the database but not as text, such as
// 1.0 and 1.00 in a non-unique numeric key), comparing that range row by row instead.
constexpr int k_max_depth = 64;

// A key's replica hash when it was last read; nullopt: the replica had no such row.
using Seen = std::map<std::vector<std::string>, std::optional<std::int64_t>>;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return (a + b - 1) / b;
}

// Calls `f` with consecutive pieces of `keys`, k_keys_per_query at a time: one statement each.
template <typename F>
void for_each_chunk(const Keys& keys, F&& f) {
    for (std::size_t i = 0; i < keys.size(); i += k_keys_per_query) {
        const auto end = std::min(keys.size(), i + k_keys_per_query);
        f(Keys(keys.begin() + static_cast<std::ptrdiff_t>(i),
               keys.begin() + static_cast<std::ptrdiff_t>(end)));
    }
}

// Runs the source's and the replica's query at the same time, on their own connections; the
// replica's in a thread of its own. Waits for both, also when one throws.
template <typename OnSource, typename OnReplica>
auto on_both(OnSource&& on_source, OnReplica&& on_replica) {
    auto replica = std::async(std::launch::async, std::forward<OnReplica>(on_replica));
    auto source = on_source();  // if this throws, ~future waits for the replica's query
    return std::make_pair(std::move(source), replica.get());
}

// The scan's session settings, for the scan only: in the daemon the connections are the
// table's worker connections, whose copy loop (and the replica's triggers) must keep the
// server's defaults. Restored even when the scan throws; a broken connection is left alone.
class SessionSettings {
  public:
    SessionSettings(db::Connection& c, bool custom_plans) : m_conn(c) {
        // The scan's queries are short-lived aggregates that JIT compilation only slows down
        // (measured: +13% on a 2,000,000-row split).
        if (c.server_version() >= 110000) {
            c.exec("SET jit = off");
            m_reset += "RESET jit;";
        }
        if (custom_plans) {
            c.exec("SET plan_cache_mode = force_custom_plan");
            m_reset += "RESET plan_cache_mode;";
        }
    }
    ~SessionSettings() {
        if (m_reset.empty() || !m_conn.is_ok() || m_conn.in_transaction()) {
            return;
        }
        try {
            m_conn.exec(m_reset);
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch): best effort, see above
        }
    }
    SessionSettings(const SessionSettings&) = delete;
    SessionSettings& operator=(const SessionSettings&) = delete;

  private:
    db::Connection& m_conn;
    std::string m_reset;
};

// The replica side of a scan reads one REPEATABLE READ snapshot, taken before any source query:
// together with the checkpoint read in it, that tells which rows are in flight (compare.hpp).
// Read only; ended (rolled back) on destruction, also when the scan throws.
class ReplicaSnapshot {
  public:
    explicit ReplicaSnapshot(db::Connection& replica) : m_replica(replica) {
        m_replica.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY");
    }
    ~ReplicaSnapshot() { m_replica.try_rollback(); }
    ReplicaSnapshot(const ReplicaSnapshot&) = delete;
    ReplicaSnapshot& operator=(const ReplicaSnapshot&) = delete;

  private:
    db::Connection& m_replica;
};

class Scanner {
  public:
    Scanner(db::Connection& source, db::Connection& replica, const copy::CopySpec& spec,
            const ScanOptions& options, const std::atomic<bool>* stop)
        : m_source(source), m_replica(replica), m_spec(spec), m_options(options), m_stop(stop) {}

    TableReport run() {
        auto started = Clock::now();
        // Prepared range queries must be planned for their keys each time: a generic plan
        // chosen for a small range would scan the whole table for a large one.
        m_prepare = m_source.server_version() >= 120000 && m_replica.server_version() >= 120000;
        SessionSettings source_settings(m_source, m_prepare);
        SessionSettings replica_settings(m_replica, m_prepare);
        auto [candidates, began_at] = compare(true);
        // Rows left out as in flight are proven only if a loop is there to read them: it must
        // commit after the scan began. Without one (`check` right after `run --once`), they
        // are compared after all.
        if (m_in_flight && m_report.in_flight_rows > 0 && !wait_for_loop(began_at)) {
            m_report.in_flight_rows = 0;
            candidates = compare(false).first;
        }
        if (m_spec.mode == config::Mode::insert) {
            // Append-only by design: rows the source updated or deleted keep their old values
            // on the replica. Only a row that never arrived is drift.
            candidates.extra.clear();
            candidates.different.clear();
        }
        if (!m_in_flight) {
            candidates = survivors(std::move(candidates));
        }
        m_report.drift = std::move(candidates);
        if (m_options.repair && !m_report.drift.empty()) {
            TableLock lock(*this);
            // Under the loop's lock, what still differs now: rows the loop rewrote meanwhile
            // need nothing, and a row re-read now cannot be overwritten by an older batch.
            repair(recheck(m_report.drift).diff);
            m_report.after_repair = recheck(m_report.drift).diff;
            m_report.repaired = static_cast<std::int64_t>(m_report.drift.size()) -
                                static_cast<std::int64_t>(m_report.after_repair.size());
        }
        m_report.bytes_read = m_bytes_read;
        m_report.bytes_sent = m_bytes_sent;
        m_report.queries = m_queries;
        m_report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        return m_report;
    }

  private:
    db::Connection& side(Side s) { return s == Side::source ? m_source : m_replica; }

    // One pass over the table in one replica snapshot: the candidates, and the replica's clock
    // when the snapshot was taken. `in_flight`: leave rows in flight out when the checkpoint
    // tells them.
    std::pair<Diff, std::string> compare(bool in_flight) {
        Diff candidates;
        m_seen.clear();
        // Declared after the caller's session settings: the snapshot ends before they reset.
        ReplicaSnapshot snapshot(m_replica);
        std::string began_at = replica_clock();  // now() is the snapshot's start
        m_in_flight = in_flight ? in_flight_condition() : std::nullopt;
        auto [source_all, replica_all] = top_summaries();
        m_report.source_rows = source_all.rows;
        m_report.replica_rows = replica_all.rows;
        if (!(source_all == replica_all)) {
            descend(KeyRange{}, source_all, replica_all, candidates);
        }
        return {std::move(candidates), std::move(began_at)};
    }

    // The table's copy-loop lock, held while the scan repairs: the scan runs beside the loop,
    // and both write the table. Without state to name the table (a bare scan) there is none.
    class TableLock {
      public:
        explicit TableLock(Scanner& scan) : m_scan(scan) {
            const ScanOptions& o = scan.m_options;
            if (o.target_name.empty()) {
                return;
            }
            if (!state::lock_table(scan.m_replica, o.state_schema, o.target_schema, o.target_name,
                                   k_lock_wait, scan.m_stop)) {
                throw Error(ErrorCode::database,
                            "repair postponed: the table's copy loop did not pause within " +
                                std::to_string(k_lock_wait.count() / 1000) + " s",
                            true);
            }
            m_held = true;
        }
        ~TableLock() {
            if (!m_held) {
                return;
            }
            try {
                const ScanOptions& o = m_scan.m_options;
                state::unlock_table(m_scan.m_replica, o.state_schema, o.target_schema,
                                    o.target_name);
            } catch (const Error&) {  // NOLINT(bugprone-empty-catch): goes with the session
            }
        }
        TableLock(const TableLock&) = delete;
        TableLock& operator=(const TableLock&) = delete;

      private:
        static constexpr std::chrono::milliseconds k_lock_wait{60000};
        Scanner& m_scan;
        bool m_held = false;
    };

    // Without a checkpoint to tell rows in flight, a difference counts only if it survives the
    // copy loop: each round waits for a batch that began after the round did, re-checks, and
    // drops rows the loop rewrote since they were last read (in flight; a hot row always
    // trails its source a little). Rounds go on only while a loop is making progress, so
    // `check` without a daemon waits once.
    Diff survivors(Diff candidates) {
        constexpr int k_rounds = 3;
        Seen before = std::move(m_seen);
        for (int round = 0; round < k_rounds && !candidates.empty(); ++round) {
            const bool loop_ran = wait_for_loop(replica_clock());
            Recheck now = recheck(candidates);
            candidates = untouched(now.diff, before, now.replica);
            before = std::move(now.replica);
            if (!loop_ran) {
                break;
            }
        }
        return candidates;
    }

    // The condition telling the source's rows in flight, when the replica's checkpoint (read in
    // the scan's snapshot) can tell them: the table's loop is past its snapshot and alive (it
    // committed within the re-check time), so rows changed since will be read by it.
    std::optional<std::string> in_flight_condition() {
        if (m_options.target_name.empty()) {
            return std::nullopt;
        }
        auto progress = state::read_table_progress(m_replica, m_options.state_schema,
                                                   m_options.target_schema, m_options.target_name);
        if (!progress || progress->phase != state::Phase::incremental ||
            progress->pending != state::Work::none || !progress->since_success_s ||
            *progress->since_success_s * 1000 > m_options.recheck_timeout.count() + 1000) {
            return std::nullopt;
        }
        return build_in_flight_condition(m_spec, progress->cursor);
    }

    // The whole table's (source, replica) summaries, rows in flight left out when the scan can
    // tell them. Another replica's answer for the same source selection is reused when the
    // replica matches it as a whole.
    std::pair<RangeSummary, RangeSummary> top_summaries() {
        const Query plain = build_range_summary(m_spec, Side::source, KeyRange{});
        if (!m_in_flight) {
            return on_both([&] { return summary(Side::source, KeyRange{}); },
                           [&] { return summary(Side::replica, KeyRange{}); });
        }
        RangeSummary replica_all = summary(Side::replica, KeyRange{});
        if (m_options.source_cache != nullptr) {
            if (auto hit = m_options.source_cache->find(cache_key(plain), m_options.replica)) {
                if (hit->size() == 1 && hit->front() == replica_all) {
                    ++m_report.source_scans_reused;
                    return {hit->front(), replica_all};
                }
            }
        }
        try {
            InFlightPieces source = in_flight_pieces(KeyRange{}, {}, &plain);
            if (source.keys.size() > k_max_in_flight) {
                // The loop is far behind (or a long transaction holds its checkpoint back):
                // listing its backlog would cost more than re-checking what differs.
                m_in_flight.reset();
                m_report.in_flight_rows = 0;
                return on_both([&] { return summary(Side::source, KeyRange{}); },
                               [&] { return replica_all; });
            }
            auto r = replica_minus_in_flight(KeyRange{}, {}, {replica_all}, source.keys);
            return {source.pieces.front(), r.front()};
        } catch (const Error& e) {
            if (e.sqlstate() != "42501") {
                throw;
            }
            // The role may not read xmin: tell nothing in flight, as the copy loop does.
            m_in_flight.reset();
            return on_both([&] { return summary(Side::source, KeyRange{}); },
                           [&] { return summary(Side::replica, KeyRange{}); });
        }
    }

    struct InFlightPieces {
        std::vector<RangeSummary> pieces;  // without the rows in flight, canonical
        Keys keys;                         // the rows in flight
    };

    // The source's pieces of `range` without its rows in flight, and their keys. With `plain`
    // (the whole table), the plain answer also goes to the SourceCache for other replicas.
    InFlightPieces in_flight_pieces(const KeyRange& range, const Keys& cuts, const Query* plain) {
        const auto started = Clock::now();
        db::Result r = query(
            Side::source, build_split_summary_in_flight(m_spec, range, cuts, *m_in_flight), true);
        const std::size_t pieces = cuts.size() + 1;
        InFlightPieces out;
        std::int64_t rows = 0;
        for (std::size_t i = 0; i < pieces; ++i) {
            const int c = static_cast<int>(2 * i);
            out.pieces.push_back(canonical(
                RangeSummary{parse_int64(r.value(0, c)), std::string(r.value(0, c + 1))}));
            rows += out.pieces.back().rows;
        }
        const int first_key = static_cast<int>(2 * pieces);
        std::vector<std::vector<std::string>> columns;
        for (std::size_t k = 0; k < m_spec.key_count; ++k) {
            auto values = parse_text_array(r.value(0, first_key + static_cast<int>(k)));
            columns.push_back(values.value_or(std::vector<std::string>{}));
        }
        for (std::size_t i = 0; !columns.empty() && i < columns.front().size(); ++i) {
            std::vector<std::string> key;
            key.reserve(columns.size());
            for (const auto& column : columns) {
                key.push_back(column.at(i));
            }
            out.keys.push_back(std::move(key));
        }
        const int plain_at = first_key + static_cast<int>(m_spec.key_count);
        if (plain != nullptr && m_options.source_cache != nullptr) {
            m_options.source_cache->store(cache_key(*plain), m_options.replica,
                                          {RangeSummary{parse_int64(r.value(0, plain_at)),
                                                        std::string(r.value(0, plain_at + 1))}});
        }
        m_report.in_flight_rows += static_cast<std::int64_t>(out.keys.size());
        pace(rows + static_cast<std::int64_t>(out.keys.size()), started);
        return out;
    }

    // The replica's pieces less its rows whose keys are in flight on the source.
    std::vector<RangeSummary> replica_minus_in_flight(const KeyRange& range, const Keys& cuts,
                                                      std::vector<RangeSummary> all,
                                                      const Keys& in_flight) {
        std::vector<RangeSummary> out;
        std::vector<RangeSummary> part;
        if (!in_flight.empty()) {
            part = summaries(Side::replica,
                             build_split_summary_of_keys(m_spec, range, cuts, in_flight), false);
        }
        for (std::size_t i = 0; i < all.size(); ++i) {
            out.push_back(part.empty() ? canonical(all[i]) : subtract(all[i], part.at(i)));
        }
        return out;
    }

    static std::string cache_key(const Query& q) {
        std::string key = q.sql;
        for (const auto& p : q.params) {
            key += '\0' + p;
        }
        return key;
    }

    // Safe from both threads of on_both: each side's connection is used by one at a time, and
    // the counters are atomic. Range queries are prepared once per connection, so after the
    // first of a shape only their keys travel; one-off queries are not.
    db::Result query(Side s, const Query& q, bool prepare) {
        if (m_stop != nullptr && *m_stop) {
            throw Error(ErrorCode::database, "drift scan interrupted", true);
        }
        std::vector<std::optional<std::string>> params(q.params.begin(), q.params.end());
        bool sent_text = true;
        db::Result result = prepare && m_prepare ? side(s).exec_prepared(q.sql, params, &sent_text)
                                                 : side(s).exec_params(q.sql, params);
        ++m_queries;
        std::uint64_t sent = sent_text ? q.sql.size() : 0;
        for (const auto& p : q.params) {
            sent += p.size();
        }
        m_bytes_sent += sent;
        std::uint64_t bytes = 0;
        for (int r = 0; r < result.rows(); ++r) {
            for (int c = 0; c < result.columns(); ++c) {
                bytes += result.value(r, c).size();
            }
        }
        m_bytes_read += bytes;
        return result;
    }

    // A summary query's result, from the SourceCache when the source already answered it.
    std::vector<RangeSummary> summaries(Side s, const Query& q, bool shareable) {
        SourceCache* cache = s == Side::source && shareable ? m_options.source_cache : nullptr;
        const std::string key = cache != nullptr ? cache_key(q) : std::string();
        if (cache != nullptr) {
            if (auto hit = cache->find(key, m_options.replica)) {
                ++m_report.source_scans_reused;  // only this (the source's) thread writes it
                return *hit;
            }
        }
        auto started = Clock::now();
        db::Result r = query(s, q, true);
        std::vector<RangeSummary> out;
        std::int64_t rows = 0;
        for (int piece = 0; 2 * piece + 1 < r.columns(); ++piece) {
            out.push_back(RangeSummary{parse_int64(r.value(0, 2 * piece)),
                                       std::string(r.value(0, 2 * piece + 1))});
            rows += out.back().rows;
        }
        pace(rows, started);
        if (cache != nullptr) {
            cache->store(key, m_options.replica, out);
        }
        return out;
    }

    RangeSummary summary(Side s, const KeyRange& range) {
        auto out = summaries(s, build_range_summary(m_spec, s, range), whole(range));
        if (out.size() != 1) {
            throw Error(ErrorCode::internal, "drift: a range summary returned no (count, sum)");
        }
        return out.front();
    }

    static bool whole(const KeyRange& range) { return range.lower.empty() && range.upper.empty(); }

    // Keeps the average scan rate at or under the limit, so a scan never loads a side much.
    void pace(std::int64_t rows, Clock::time_point started) {
        if (m_options.max_rows_per_second <= 0 || rows <= 0) {
            return;
        }
        auto budget = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
            static_cast<double>(rows) / static_cast<double>(m_options.max_rows_per_second)));
        auto deadline = started + budget;
        while (Clock::now() < deadline && !(m_stop != nullptr && *m_stop)) {
            Clock::duration left = deadline - Clock::now();
            std::this_thread::sleep_for(
                std::min<Clock::duration>(left, std::chrono::milliseconds(100)));
        }
    }

    Keys keys(Side s, const Query& q, bool prepare) {
        db::Result r = query(s, q, prepare);
        Keys out;
        for (int i = 0; i < r.rows(); ++i) {
            std::vector<std::string> key;
            key.reserve(static_cast<std::size_t>(r.columns()));
            for (int c = 0; c < r.columns(); ++c) {
                key.emplace_back(r.value(i, c));
            }
            out.push_back(std::move(key));
        }
        return out;
    }

    // Row `i` of a (key..., hex hash, ...) result.
    KeyHash key_hash_at(const db::Result& r, int i) const {
        const int key_columns = static_cast<int>(m_spec.key_count);
        KeyHash row;
        for (int c = 0; c < key_columns; ++c) {
            row.key.emplace_back(r.value(i, c));
        }
        row.hash = parse_hex_hash(r.value(i, key_columns));
        return row;
    }

    std::vector<KeyHash> rows(Side s, const Query& q, bool prepare) {
        db::Result r = query(s, q, prepare);
        std::vector<KeyHash> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i) {
            out.push_back(key_hash_at(r, i));
        }
        return out;
    }

    static void append(Diff& into, Diff&& from) {
        auto move_all = [](Keys& to, Keys& src) {
            to.insert(to.end(), std::make_move_iterator(src.begin()),
                      std::make_move_iterator(src.end()));
        };
        move_all(into.missing, from.missing);
        move_all(into.extra, from.extra);
        move_all(into.different, from.different);
    }

    // Split points of a range: the planner's histogram for the whole table (free), else every
    // n-th key of the side with more rows here, so a range that only the replica fills is
    // split as well.
    Keys boundaries(const KeyRange& range, const RangeSummary& s, const RangeSummary& r,
                    int fanout) {
        if (whole(range) && m_spec.key_count == 1) {
            std::vector<std::string> histogram;
            for (auto& key : keys(Side::source, Query{build_key_histogram(m_spec), {}}, false)) {
                histogram.push_back(std::move(key.front()));
            }
            Keys picked = pick_boundaries(histogram, fanout);
            if (picked.size() + 1 >= static_cast<std::size_t>(fanout) / 2) {
                return picked;
            }
        }
        const Side from = s.rows >= r.rows ? Side::source : Side::replica;
        const std::int64_t most = std::max(s.rows, r.rows);
        auto started = Clock::now();
        Keys out = keys(
            from, build_range_boundaries(m_spec, from, range, ceil_div(most, fanout), fanout - 1),
            true);
        pace(most, started);  // it reads the range's keys
        return out;
    }

    // Each piece's (source, replica) summaries, both sides at once; without the rows in flight
    // when the scan can tell them.
    std::pair<std::vector<RangeSummary>, std::vector<RangeSummary>> piece_summaries(
        const KeyRange& range, const Keys& cuts) {
        if (!m_in_flight) {
            return on_both(
                [&] {
                    return summaries(Side::source,
                                     build_split_summary(m_spec, Side::source, range, cuts),
                                     whole(range));
                },
                [&] {
                    return summaries(Side::replica,
                                     build_split_summary(m_spec, Side::replica, range, cuts),
                                     false);
                });
        }
        auto [source, replica_all] = on_both(
            [&] { return in_flight_pieces(range, cuts, nullptr); },
            [&] {
                return summaries(Side::replica,
                                 build_split_summary(m_spec, Side::replica, range, cuts), false);
            });
        auto replica = replica_minus_in_flight(range, cuts, std::move(replica_all), source.keys);
        return {std::move(source.pieces), std::move(replica)};
    }

    // A small range's (key, hash) rows on both sides; without the rows in flight when the scan
    // can tell them.
    std::pair<std::vector<KeyHash>, std::vector<KeyHash>> leaf_rows(const KeyRange& range) {
        if (!m_in_flight) {
            return on_both(
                [&] {
                    return rows(Side::source, build_range_hashes(m_spec, Side::source, range),
                                true);
                },
                [&] {
                    return rows(Side::replica, build_range_hashes(m_spec, Side::replica, range),
                                true);
                });
        }
        auto [flagged, replica_rows] = on_both(
            [&] {
                db::Result r = query(
                    Side::source, build_range_hashes_in_flight(m_spec, range, *m_in_flight), true);
                std::vector<std::pair<KeyHash, bool>> out;
                out.reserve(static_cast<std::size_t>(r.rows()));
                const int flag_column = static_cast<int>(m_spec.key_count) + 1;
                for (int i = 0; i < r.rows(); ++i) {
                    out.emplace_back(key_hash_at(r, i), r.value(i, flag_column) == "true");
                }
                return out;
            },
            [&] {
                return rows(Side::replica, build_range_hashes(m_spec, Side::replica, range), true);
            });
        std::set<std::vector<std::string>> in_flight;
        std::vector<KeyHash> settled;
        for (auto& [row, flying] : flagged) {
            if (flying) {
                in_flight.insert(row.key);
            } else {
                settled.push_back(std::move(row));
            }
        }
        m_report.in_flight_rows += static_cast<std::int64_t>(in_flight.size());
        std::erase_if(replica_rows,
                      [&](const KeyHash& row) { return in_flight.contains(row.key); });
        return {std::move(settled), std::move(replica_rows)};
    }

    // A range whose summaries differ: split it until it is small, then compare its rows. Rows
    // only the replica has are caught because the outer ranges are open.
    void descend(const KeyRange& range, const RangeSummary& source_sum,
                 const RangeSummary& replica_sum, Diff& out, int depth = 0) {
        const std::int64_t most = std::max(source_sum.rows, replica_sum.rows);
        if (most > m_options.leaf_rows && depth < k_max_depth) {
            const int fanout =
                most > m_options.wide_rows ? m_options.fanout : m_options.narrow_fanout;
            Keys cuts = boundaries(range, source_sum, replica_sum, fanout);
            // A key that is not unique can repeat: one cut per value, none at the range's own
            // lower bound, so every piece is smaller than the range and the descent ends.
            cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
            std::erase(cuts, range.lower);
            if (!cuts.empty()) {
                // One scan per side sums every piece, both sides at once.
                std::vector<KeyRange> parts = split_range(range, cuts);
                auto [s, r] = piece_summaries(range, cuts);
                if (s.size() != parts.size() || r.size() != parts.size()) {
                    throw Error(ErrorCode::internal, "drift: a split summary lost pieces");
                }
                for (std::size_t i = 0; i < parts.size(); ++i) {
                    if (!(s[i] == r[i])) {
                        descend(parts[i], s[i], r[i], out, depth + 1);
                    }
                }
                return;
            }
            // No key splits the range: rows moved since the summary, or every row here has
            // the same (non-unique) key.
        }
        auto [source_rows, replica_rows] = leaf_rows(range);
        Diff found = compare_rows(source_rows, replica_rows);
        remember(found, replica_rows);
        append(out, std::move(found));
    }

    // The replica's hash of each candidate as the scan read it: a row the loop rewrites later
    // was in flight.
    void remember(const Diff& found, const std::vector<KeyHash>& replica_rows) {
        std::map<std::vector<std::string>, std::int64_t> hashes;
        for (const auto& row : replica_rows) {
            hashes.emplace(row.key, row.hash);
        }
        for (const Keys* list : {&found.missing, &found.extra, &found.different}) {
            for (const auto& key : *list) {
                auto it = hashes.find(key);
                m_seen[key] =
                    it == hashes.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
            }
        }
    }

    std::string replica_clock() {
        return std::string(m_replica.query("SELECT now()::text").value(0, 0));
    }

    // Rows in flight are not drift: wait until the table's loop has committed a batch after
    // the scan began (bounded, since `check` may run without a daemon).
    // True when the table's loop committed a batch after `seen_at` (false: timed out).
    bool wait_for_loop(const std::string& seen_at) {
        auto deadline = Clock::now() + m_options.recheck_timeout;
        while (Clock::now() < deadline && !(m_stop != nullptr && *m_stop)) {
            if (state::read_committed_since(m_replica, m_options.state_schema,
                                            m_options.target_schema, m_options.target_name,
                                            seen_at)) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }

    static Keys all_keys(const Diff& d) {
        Keys keys;
        for (const Keys* list : {&d.missing, &d.extra, &d.different}) {
            keys.insert(keys.end(), list->begin(), list->end());
        }
        return keys;
    }

    // The candidates' differences that the replica still shows as it was last seen.
    static Diff untouched(const Diff& drift, const Seen& before, const Seen& now) {
        // (on the replica, its hash): never read counts as not there.
        auto state = [](const Seen& seen, const std::vector<std::string>& k) {
            auto it = seen.find(k);
            return it == seen.end() || !it->second.has_value()
                       ? std::pair<bool, std::int64_t>(false, 0)
                       : std::pair<bool, std::int64_t>(true, it->second.value());
        };
        auto same = [&](const std::vector<std::string>& k) {
            return state(before, k) == state(now, k);
        };
        Diff out;
        for (Keys Diff::*list : {&Diff::missing, &Diff::extra, &Diff::different}) {
            std::copy_if((drift.*list).begin(), (drift.*list).end(), std::back_inserter(out.*list),
                         same);
        }
        return out;
    }

    struct Recheck {
        Diff diff;     // what still differs
        Seen replica;  // every candidate's replica hash now
    };

    // The candidates' current hashes on both sides, read at the same time.
    Recheck recheck(const Diff& candidates) {
        Keys keys = all_keys(candidates);
        Recheck out;
        for (const auto& key : keys) {
            out.replica[key] = std::nullopt;
        }
        for_each_chunk(keys, [&](const Keys& chunk) {
            auto [source_rows, replica_rows] = on_both(
                [&] {
                    return rows(Side::source, build_key_hashes(m_spec, Side::source, chunk), false);
                },
                [&] {
                    return rows(Side::replica, build_key_hashes(m_spec, Side::replica, chunk),
                                false);
                });
            for (const auto& row : replica_rows) {
                out.replica[row.key] = row.hash;
            }
            append(out.diff, compare_rows(source_rows, replica_rows));
        });
        return out;
    }

    // Through the copy loop's path: source rows by key into the stage, upsert, delete extras;
    // one replica transaction.
    void repair(const Diff& drift) {
        copy::CopySpec plain = m_spec;  // rows are filtered at the source: no keep flag
        plain.where.reset();
        plain.soft_delete.reset();
        Keys wanted = drift.missing;
        wanted.insert(wanted.end(), drift.different.begin(), drift.different.end());
        m_replica.begin();
        try {
            m_replica.exec(copy::build_create_stage(plain));
            const std::string copy_in = copy::build_copy_in(plain, true);
            for_each_chunk(wanted, [&](const Keys& chunk) {
                db::copy_pipe(m_source, build_copy_keys(m_spec, chunk), m_replica, copy_in,
                              {.stop = m_stop});
            });
            const std::uint64_t written =
                m_replica.query(copy::build_upsert(plain)).affected_rows();
            std::uint64_t deleted = 0;
            for_each_chunk(drift.extra, [&](const Keys& chunk) {
                deleted += m_replica.query(build_delete_keys(m_spec, chunk)).affected_rows();
            });
            m_replica.commit();
            m_report.repair_rows_written += written;
            m_report.repair_rows_deleted += deleted;
        } catch (...) {
            m_replica.try_rollback();
            throw;
        }
    }

    db::Connection& m_source;
    db::Connection& m_replica;
    const copy::CopySpec& m_spec;
    const ScanOptions& m_options;
    const std::atomic<bool>* m_stop;
    TableReport m_report;
    Seen m_seen;
    bool m_prepare = false;
    // While the replica's snapshot is held: the condition on source rows in flight, if the
    // checkpoint tells them.
    std::optional<std::string> m_in_flight;
    std::atomic<std::uint64_t> m_bytes_read{0};
    std::atomic<std::uint64_t> m_bytes_sent{0};
    std::atomic<std::int64_t> m_queries{0};
};

}  // namespace

std::optional<std::vector<RangeSummary>> SourceCache::find(const std::string& key,
                                                           const std::string& replica) const {
    std::lock_guard lock(m_mutex);
    auto it = m_results.find(key);
    if (it == m_results.end() || it->second.replica == replica || !fresh(it->second, m_now())) {
        return std::nullopt;
    }
    return it->second.result;
}

void SourceCache::store(const std::string& key, const std::string& replica,
                        std::vector<RangeSummary> result) {
    std::lock_guard lock(m_mutex);
    const auto now = m_now();
    std::erase_if(m_results, [&](const auto& entry) { return !fresh(entry.second, now); });
    m_results.insert_or_assign(key, Entry{now, replica, std::move(result)});
}

TableReport scan_table(db::Connection& source, db::Connection& replica, const copy::CopySpec& spec,
                       const ScanOptions& options, const std::atomic<bool>* stop) {
    if (spec.key_count == 0) {
        throw Error(ErrorCode::schema, "table " + spec.source_table + " has no key to compare by",
                    false, "set 'key:' for it, or rely on mode mirror's full refresh");
    }
    return Scanner(source, replica, spec, options, stop).run();
}

}  // namespace syncset::drift
