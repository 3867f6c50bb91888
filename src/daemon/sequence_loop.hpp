// The sequence copy loop: a thread of its own beside the table workers, with its own
// connections, that copies each replica's planned sequences every poll. Per poll one source
// query reads every sequence the due replicas need, then each replica gets one read and, only
// when something is behind, one transaction (sequence/copy.hpp). Failures are logged and
// retried with backoff per replica; nothing here can stop the daemon.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "syncset/config/config.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/plan/planner.hpp"
#include "syncset/sequence/sql.hpp"

namespace syncset::daemon {

// One replica's sequences, as its last schema step planned them.
struct SequenceReplica {
    std::string name;
    std::string dsn;
    std::chrono::milliseconds poll_interval{1000};
    std::vector<plan::SequencePlan> sequences;
};

// How often a replica's sequences are copied: the shortest poll_interval of its tables, or
// 1 s when it has none.
std::chrono::milliseconds sequence_poll_interval(const config::ReplicaSpec& replica);

// The distinct source sequences of `replicas`, in first-seen order: what one source query reads.
std::vector<sequence::SequenceName> source_sequences(const std::vector<SequenceReplica>& replicas);

class SequenceLoop {
  public:
    using Clock = std::chrono::steady_clock;

    // `stop` is the daemon's stop flag (SIGTERM), watched while waiting.
    explicit SequenceLoop(const std::atomic<bool>& stop);
    ~SequenceLoop();
    SequenceLoop(const SequenceLoop&) = delete;
    SequenceLoop& operator=(const SequenceLoop&) = delete;

    // After a schema step: what to copy from now on, replacing the previous lists; each replica
    // is due at once. Replicas without sequences may be left out.
    void set_replicas(std::string source_dsn, std::vector<SequenceReplica> replicas);
    // Starts the thread (the daemon; `run --once` calls copy_once instead).
    void start();
    // Ends the thread, if started, and waits for it.
    void stop();
    // One pass over every replica on the calling thread; returns how many replicas failed.
    std::size_t copy_once();

  private:
    struct Slot {
        SequenceReplica replica;
        Clock::time_point due;
        std::uint32_t failures = 0;
    };

    void run();
    // Copies every sequence of `replicas`: one source read, then each replica. Returns, per
    // replica, the failure (nullopt when it worked) and how many sequences moved.
    std::vector<std::pair<std::optional<std::string>, std::size_t>> pass(
        const std::string& source_dsn, const std::vector<SequenceReplica>& replicas);
    db::Connection& replica_connection(const SequenceReplica& replica);

    const std::atomic<bool>& m_stop;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;         // under m_mutex
    std::string m_source_dsn;        // under m_mutex
    std::vector<Slot> m_slots;       // under m_mutex
    std::uint64_t m_generation = 0;  // under m_mutex: bumped by set_replicas
    std::thread m_thread;
    // The loop's own connections, used by one thread at a time (the loop, or copy_once).
    std::unique_ptr<db::Connection> m_source;
    std::string m_source_conn_dsn;
    std::map<std::string, std::pair<std::string, std::unique_ptr<db::Connection>>> m_replicas;
    std::mt19937_64 m_random{std::random_device{}()};
};

}  // namespace syncset::daemon
