#include "daemon/sequence_loop.hpp"

#include <algorithm>
#include <set>

#include "syncset/db/retry.hpp"
#include "syncset/error.hpp"
#include "syncset/log/log.hpp"
#include "syncset/sequence/copy.hpp"

namespace syncset::daemon {

namespace {

using std::chrono::milliseconds;

// A replica's setval waits at most this long for its sequence's lock: an application
// transaction that called nextval() on it holds the lock until it ends, and nextval() callers
// queue behind the wait.
constexpr std::chrono::seconds k_sequence_lock_wait{2};

// Between failed polls of one replica: 1 s doubling to 30 s, half of it random.
db::RetryPolicy retry_policy() {
    db::RetryPolicy policy;
    policy.initial_delay_ms = 1000;
    policy.max_delay_ms = 30000;
    policy.max_attempts = 0;
    policy.jitter = 0.5;
    return policy;
}

}  // namespace

milliseconds sequence_poll_interval(const config::ReplicaSpec& replica) {
    if (replica.tables.empty()) {
        return milliseconds(1000);
    }
    milliseconds shortest = replica.tables.front().poll_interval;
    for (const auto& table : replica.tables) {
        shortest = std::min(shortest, table.poll_interval);
    }
    return shortest;
}

std::vector<sequence::SequenceName> source_sequences(const std::vector<SequenceReplica>& replicas) {
    std::vector<sequence::SequenceName> names;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& replica : replicas) {
        for (const auto& s : replica.sequences) {
            if (seen.emplace(s.source_schema, s.source_name).second) {
                names.push_back({s.source_schema, s.source_name});
            }
        }
    }
    return names;
}

SequenceLoop::SequenceLoop(const std::atomic<bool>& stop) : m_stop(stop) {}

SequenceLoop::~SequenceLoop() {
    stop();
}

void SequenceLoop::set_replicas(std::string source_dsn, std::vector<SequenceReplica> replicas) {
    {
        std::lock_guard lock(m_mutex);
        m_source_dsn = std::move(source_dsn);
        m_slots.clear();
        const auto now = Clock::now();
        for (auto& replica : replicas) {
            if (!replica.sequences.empty()) {
                m_slots.push_back(Slot{std::move(replica), now, 0});
            }
        }
        ++m_generation;
    }
    m_wake.notify_all();
}

void SequenceLoop::start() {
    if (!m_thread.joinable()) {
        m_thread = std::thread([this] { run(); });
    }
}

void SequenceLoop::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

std::size_t SequenceLoop::copy_once() {
    std::string source_dsn;
    std::vector<SequenceReplica> replicas;
    {
        std::lock_guard lock(m_mutex);
        source_dsn = m_source_dsn;
        for (const auto& slot : m_slots) {
            replicas.push_back(slot.replica);
        }
    }
    std::size_t failed = 0;
    const auto results = pass(source_dsn, replicas);
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i].first) {
            ++failed;
            log::error("sequence copy failed",
                       {{"replica", replicas[i].name}, {"error", *results[i].first}});
        }
    }
    return failed;
}

void SequenceLoop::run() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping && !m_stop) {
        const auto now = Clock::now();
        std::vector<std::size_t> due;
        auto wake_at = now + milliseconds(500);  // the stop flag is checked at least this often
        for (std::size_t i = 0; i < m_slots.size(); ++i) {
            if (m_slots[i].due <= now) {
                due.push_back(i);
            } else {
                wake_at = std::min(wake_at, m_slots[i].due);
            }
        }
        if (due.empty()) {
            m_wake.wait_until(lock, wake_at);
            continue;
        }
        const std::uint64_t generation = m_generation;
        const std::string source_dsn = m_source_dsn;
        std::vector<SequenceReplica> replicas;
        for (std::size_t i : due) {
            replicas.push_back(m_slots[i].replica);
        }
        lock.unlock();
        const auto results = pass(source_dsn, replicas);
        lock.lock();
        if (generation != m_generation) {
            continue;  // re-planned meanwhile: the new lists are due now
        }
        const auto done = Clock::now();
        for (std::size_t k = 0; k < due.size(); ++k) {
            Slot& slot = m_slots[due[k]];
            const auto& [failure, moved] = results[k];
            if (!failure) {
                if (slot.failures > 0) {
                    log::info("sequence copy works again", {{"replica", slot.replica.name}});
                }
                slot.failures = 0;
                slot.due = done + slot.replica.poll_interval;
                if (moved > 0) {
                    log::debug("sequences advanced",
                               {{"replica", slot.replica.name}, {"sequences", moved}});
                }
                continue;
            }
            ++slot.failures;
            const auto delay = milliseconds(
                db::next_delay_ms(retry_policy(), slot.failures,
                                  std::uniform_real_distribution<double>(0, 1)(m_random)));
            slot.due = done + std::max(delay, slot.replica.poll_interval);
            if (!m_stop) {
                log::warn("sequence copy failed; retrying",
                          {{"replica", slot.replica.name},
                           {"error", *failure},
                           {"retry_in_ms", static_cast<std::int64_t>(delay.count())}});
            }
        }
    }
}

db::Connection& SequenceLoop::replica_connection(const SequenceReplica& replica) {
    auto& [dsn, conn] = m_replicas[replica.name];
    if (!conn || !conn->is_ok() || dsn != replica.dsn) {
        conn.reset();
        conn = db::Connection::open(replica.dsn, "replica:" + replica.name + ":sequences");
        conn->exec("SET lock_timeout = '" +
                   std::to_string(milliseconds(k_sequence_lock_wait).count()) + "ms'");
        dsn = replica.dsn;
    }
    return *conn;
}

std::vector<std::pair<std::optional<std::string>, std::size_t>> SequenceLoop::pass(
    const std::string& source_dsn, const std::vector<SequenceReplica>& replicas) {
    std::vector<std::pair<std::optional<std::string>, std::size_t>> results(replicas.size());
    if (replicas.empty()) {
        return results;  // no connection for nothing to copy
    }
    const std::vector<sequence::SequenceName> names = source_sequences(replicas);
    std::map<std::pair<std::string, std::string>, sequence::Value> values;
    try {
        if (!m_source || !m_source->is_ok() || m_source_conn_dsn != source_dsn) {
            m_source.reset();
            m_source = db::Connection::open(source_dsn, "source:sequences");
            m_source_conn_dsn = source_dsn;
        }
        const std::vector<sequence::Value> read = sequence::read_values(*m_source, names);
        for (std::size_t i = 0; i < names.size(); ++i) {
            values.emplace(std::make_pair(names[i].schema, names[i].name), read[i]);
        }
    } catch (const std::exception& e) {
        m_source.reset();
        const std::string failure = std::string("read source sequences: ") + e.what();
        for (auto& result : results) {
            result.first = failure;
        }
        return results;
    }
    for (std::size_t r = 0; r < replicas.size(); ++r) {
        const SequenceReplica& replica = replicas[r];
        std::vector<sequence::Target> targets;
        for (const auto& s : replica.sequences) {
            targets.push_back({{s.target_schema, s.target_name},
                               values.at({s.source_schema, s.source_name}),
                               s.descending});
        }
        try {
            results[r].second = sequence::apply_values(replica_connection(replica), targets);
        } catch (const std::exception& e) {
            m_replicas.erase(replica.name);  // may be mid-transaction or broken: start over
            results[r].first = std::string("copy sequences: ") + e.what();
        }
    }
    return results;
}

}  // namespace syncset::daemon
