#include "syncset/drift/scanner.hpp"

#include <map>
#include <thread>

#include "syncset/db/connection.hpp"
#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"
#include "syncset/text.hpp"

namespace syncset::drift {

namespace {

using Clock = std::chrono::steady_clock;
using Keys = std::vector<std::vector<std::string>>;

constexpr std::size_t k_keys_per_query = 500;

class Scanner {
  public:
    Scanner(db::Connection& source, db::Connection& replica, const copy::CopySpec& spec,
            const ScanOptions& options, const std::atomic<bool>* stop)
        : m_source(source), m_replica(replica), m_spec(spec), m_options(options), m_stop(stop) {}

    TableReport run() {
        auto started = Clock::now();
        RangeSummary source_all = summary(Side::source, KeyRange{});
        RangeSummary replica_all = summary(Side::replica, KeyRange{});
        m_report.source_rows = source_all.rows;
        m_report.replica_rows = replica_all.rows;
        Diff candidates;
        if (!(source_all == replica_all)) {
            descend(KeyRange{}, source_all, replica_all, candidates);
        }
        if (m_spec.mode == config::Mode::insert) {
            // Append-only by design: rows the source updated or deleted keep their old values
            // on the replica. Only a row that never arrived is drift.
            candidates.extra.clear();
            candidates.different.clear();
        }
        // A difference counts only if it survives the copy loop: each round waits for a batch
        // that began after the round did, re-checks, and drops rows the loop rewrote meanwhile
        // (in flight; a hot row always trails its source a little). Rounds go on only while
        // a loop is making progress, so `check` without a daemon waits once.
        constexpr int k_rounds = 3;
        for (int round = 0; round < k_rounds && !candidates.empty(); ++round) {
            auto before = replica_hashes(all_keys(candidates));
            bool loop_ran = true;
            if (m_options.catch_up) {
                m_options.catch_up();
            } else {
                loop_ran = wait_for_loop(replica_clock());
            }
            candidates = untouched(recheck(candidates), before);
            if (!loop_ran) {
                break;
            }
        }
        m_report.drift = std::move(candidates);
        if (m_options.repair && !m_report.drift.empty()) {
            repair(m_report.drift);
            m_report.after_repair = recheck(m_report.drift);
            m_report.repaired = static_cast<std::int64_t>(m_report.drift.size()) -
                                static_cast<std::int64_t>(m_report.after_repair.size());
        }
        m_report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        return m_report;
    }

  private:
    db::Connection& side(Side s) { return s == Side::source ? m_source : m_replica; }

    db::Result query(Side s, const std::string& sql) {
        if (m_stop != nullptr && *m_stop) {
            throw Error(ErrorCode::database, "drift scan interrupted", true);
        }
        db::Result result = side(s).query(sql);
        ++m_report.queries;
        for (int r = 0; r < result.rows(); ++r) {
            for (int c = 0; c < result.columns(); ++c) {
                m_report.bytes_read += result.value(r, c).size();
            }
        }
        return result;
    }

    RangeSummary summary(Side s, const KeyRange& range) {
        auto started = Clock::now();
        db::Result r = query(s, build_range_summary(m_spec, s, range));
        RangeSummary result{parse_int64(r.value(0, 0)), std::string(r.value(0, 1))};
        pace(result.rows, started);
        return result;
    }

    std::vector<RangeSummary> split_summary(Side s, const KeyRange& range, const Keys& boundaries) {
        auto started = Clock::now();
        db::Result r = query(s, build_split_summary(m_spec, s, range, boundaries));
        std::vector<RangeSummary> out;
        std::int64_t rows = 0;
        for (int piece = 0; 2 * piece + 1 < r.columns(); ++piece) {
            out.push_back(RangeSummary{parse_int64(r.value(0, 2 * piece)),
                                       std::string(r.value(0, 2 * piece + 1))});
            rows += out.back().rows;
        }
        pace(rows, started);
        return out;
    }

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

    std::vector<KeyHash> rows(Side s, const std::string& sql) {
        db::Result r = query(s, sql);
        std::vector<KeyHash> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        const int key_columns = static_cast<int>(m_spec.key_count);
        for (int i = 0; i < r.rows(); ++i) {
            KeyHash row;
            for (int c = 0; c < key_columns; ++c) {
                row.key.emplace_back(r.value(i, c));
            }
            row.hash = parse_int64(r.value(i, key_columns));
            out.push_back(std::move(row));
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

    // A range whose summaries differ: split it at source keys until it is small, then compare
    // its rows. Rows only the replica has are caught because the outer ranges are open.
    void descend(const KeyRange& range, const RangeSummary& source_sum,
                 const RangeSummary& replica_sum, Diff& out) {
        if (std::max(source_sum.rows, replica_sum.rows) > m_options.leaf_rows) {
            db::Result b =
                query(Side::source, build_range_boundaries(m_spec, range, m_options.fanout));
            Keys boundaries;
            for (int i = 0; i < b.rows(); ++i) {
                std::vector<std::string> key;
                for (int c = 0; c < b.columns(); ++c) {
                    key.emplace_back(b.value(i, c));
                }
                boundaries.push_back(std::move(key));
            }
            if (!boundaries.empty()) {
                // One grouped scan per side sums every piece: 2 queries per split, not 2 per
                // piece.
                std::vector<KeyRange> parts = split_range(range, boundaries);
                std::vector<RangeSummary> s = split_summary(Side::source, range, boundaries);
                std::vector<RangeSummary> r = split_summary(Side::replica, range, boundaries);
                for (std::size_t i = 0; i < parts.size(); ++i) {
                    if (!(s[i] == r[i])) {
                        descend(parts[i], s[i], r[i], out);
                    }
                }
                return;
            }
            // The source has (almost) no rows here: the replica's extra rows are listed below.
        }
        append(out,
               compare_rows(rows(Side::source, build_range_hashes(m_spec, Side::source, range)),
                            rows(Side::replica, build_range_hashes(m_spec, Side::replica, range))));
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
            db::Result r = m_replica.exec_params(
                "SELECT coalesce((SELECT last_success > $1::timestamptz FROM " +
                    db::quote_ident(m_options.state_schema) +
                    ".tables WHERE target_schema = $2 AND target_name = $3), false)::text",
                {seen_at, m_options.target_schema, m_options.target_name});
            if (r.value(0, 0) == "true") {
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

    std::map<std::vector<std::string>, std::int64_t> replica_hashes(const Keys& keys) {
        std::map<std::vector<std::string>, std::int64_t> out;
        for (std::size_t i = 0; i < keys.size(); i += k_keys_per_query) {
            Keys chunk(keys.begin() + static_cast<std::ptrdiff_t>(i),
                       keys.begin() + static_cast<std::ptrdiff_t>(
                                          std::min(keys.size(), i + k_keys_per_query)));
            for (auto& r : rows(Side::replica, build_key_hashes(m_spec, Side::replica, chunk))) {
                out.emplace(std::move(r.key), r.hash);
            }
        }
        return out;
    }

    Diff untouched(const Diff& drift,
                   const std::map<std::vector<std::string>, std::int64_t>& before) {
        auto now = replica_hashes(all_keys(drift));
        auto same = [&](const std::vector<std::string>& k) {
            auto b = before.find(k);
            auto n = now.find(k);
            if (b == before.end() || n == now.end()) {
                return (b == before.end()) == (n == now.end());
            }
            return b->second == n->second;
        };
        Diff out;
        for (const auto& k : drift.missing)
            if (same(k))
                out.missing.push_back(k);
        for (const auto& k : drift.extra)
            if (same(k))
                out.extra.push_back(k);
        for (const auto& k : drift.different)
            if (same(k))
                out.different.push_back(k);
        return out;
    }

    // The candidates' current hashes on both sides; what still differs.
    Diff recheck(const Diff& candidates) {
        Keys keys;
        for (const Keys* list : {&candidates.missing, &candidates.extra, &candidates.different}) {
            keys.insert(keys.end(), list->begin(), list->end());
        }
        Diff out;
        for (std::size_t i = 0; i < keys.size(); i += k_keys_per_query) {
            Keys chunk(keys.begin() + static_cast<std::ptrdiff_t>(i),
                       keys.begin() + static_cast<std::ptrdiff_t>(
                                          std::min(keys.size(), i + k_keys_per_query)));
            append(out, compare_rows(
                            rows(Side::source, build_key_hashes(m_spec, Side::source, chunk)),
                            rows(Side::replica, build_key_hashes(m_spec, Side::replica, chunk))));
        }
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
            for (std::size_t i = 0; i < wanted.size(); i += k_keys_per_query) {
                Keys chunk(wanted.begin() + static_cast<std::ptrdiff_t>(i),
                           wanted.begin() + static_cast<std::ptrdiff_t>(
                                                std::min(wanted.size(), i + k_keys_per_query)));
                m_replica.copy_in_begin(copy::build_copy_in(plain, true), m_stop);
                try {
                    m_source.copy_out_begin(build_copy_keys(m_spec, chunk), m_stop);
                    while (auto row = m_source.copy_out_next(m_stop)) {
                        m_replica.copy_in_put(row->bytes());
                    }
                    m_replica.copy_in_end();
                } catch (...) {
                    m_replica.copy_in_abort("syncset: repair read failed");
                    m_source.copy_out_abort();
                    throw;
                }
            }
            m_replica.exec(copy::build_upsert(plain));
            for (std::size_t i = 0; i < drift.extra.size(); i += k_keys_per_query) {
                Keys chunk(drift.extra.begin() + static_cast<std::ptrdiff_t>(i),
                           drift.extra.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                     drift.extra.size(), i + k_keys_per_query)));
                m_replica.exec(build_delete_keys(m_spec, chunk));
            }
            m_replica.commit();
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
};

}  // namespace

TableReport scan_table(db::Connection& source, db::Connection& replica, const copy::CopySpec& spec,
                       const ScanOptions& options, const std::atomic<bool>* stop) {
    if (spec.key_count == 0) {
        throw Error(ErrorCode::schema, "table " + spec.source_table + " has no key to compare by",
                    false, "set 'key:' for it, or rely on mode mirror's full refresh");
    }
    return Scanner(source, replica, spec, options, stop).run();
}

}  // namespace syncset::drift
