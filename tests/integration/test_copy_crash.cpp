// Promise 3 (crash-safe, exactly where it left off): `kill -9` of the daemon at random moments,
// during the snapshot of a 50k-row table and during incremental batches, while an application
// keeps inserting and updating. After a final clean pass the replica equals the source row for
// row, with no duplicate key.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <random>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

class CopyCrash : public CopyTest {};

constexpr int k_kills = 16;
constexpr int k_snapshot_rows = 50000;

unsigned test_seed() {
    if (const char* seed = std::getenv("SYNCSET_TEST_SEED"); seed != nullptr && *seed != '\0') {
        return static_cast<unsigned>(std::strtoul(seed, nullptr, 10));
    }
    return std::random_device{}();
}

TEST_F(CopyCrash, KillNineDuringSnapshotAndBatchesLosesAndDuplicatesNothing) {
    exec_source(R"sql(
        CREATE TABLE events (id bigint PRIMARY KEY, grp int NOT NULL, payload text,
                             updated_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO events (id, grp, payload)
            SELECT g, g % 97, md5(g::text) || repeat('x', 200 + g % 300) FROM generate_series(1, 50000) g;
        CREATE SEQUENCE events_ids START 1000001;
        CREATE TABLE notes (id bigint PRIMARY KEY, v int NOT NULL, note text);
        INSERT INTO notes SELECT g, g, 'n' || g FROM generate_series(1, 20000) g;
        CREATE SEQUENCE notes_ids START 1000001;
        ANALYZE;)sql");
    // events: a timestamp cursor; notes: the default xmin cursor.
    const std::string yaml = config(
        "      - source: public.events\n        cursor: updated_at\n        batch_rows: 500\n      "
        "  snapshot_chunk_rows: 500\n"
        "        poll_interval: 200ms\n"
        "      - source: public.notes\n        batch_rows: 500\n        snapshot_chunk_rows: 500\n "
        "       poll_interval: 200ms\n",
        "parallel: 2\n");

    const unsigned seed = test_seed();
    std::cout << "[ seed     ] SYNCSET_TEST_SEED=" << seed << std::endl;
    std::mt19937 rng(seed);

    BackgroundWriter writer(source_dsn(), [writer_rng = std::mt19937(seed + 1)](
                                              PlainConnection& conn, std::uint64_t n) mutable {
        const auto random_id = [&](int max) {
            return std::to_string(std::uniform_int_distribution<int>(1, max)(writer_rng));
        };
        const std::string step = std::to_string(n);
        switch (n % 4) {
            case 0:
                conn.exec("INSERT INTO events (id, grp, payload) VALUES (nextval('events_ids'), " +
                          std::to_string(n % 97) + ", 'new " + step + "')");
                break;
            case 1:
                conn.exec("UPDATE events SET payload = 'upd " + step +
                          "', updated_at = now() WHERE id = " + random_id(k_snapshot_rows));
                break;
            case 2: {
                // A few hundred rows at once, so that a poll has several batches to copy.
                const std::string from = random_id(k_snapshot_rows - 300);
                conn.exec(
                    "BEGIN; UPDATE events SET grp = grp + 1, updated_at = now() WHERE id "
                    "BETWEEN " +
                    from + " AND " + from +
                    " + 300; INSERT INTO notes VALUES "
                    "(nextval('notes_ids'), " +
                    step + ", 'new " + step + "'); COMMIT");
                break;
            }
            default:
                conn.exec("UPDATE notes SET v = v + 1, note = 'upd " + step +
                          "' WHERE id = " + random_id(20000));
                break;
        }
    });

    int kills_during_snapshot = 0;
    for (int kill = 0; kill < k_kills; ++kill) {
        // The first kills come early, to land inside the snapshot (each run moves it on by a
        // few chunks); then anywhere in 0.2-1.5 s.
        const int max_ms = kill < 5 ? 600 : 1500;
        const auto delay =
            std::chrono::milliseconds(std::uniform_int_distribution<int>(200, max_ms)(rng));
        SyncsetProcess daemon({"run"}, yaml);
        std::this_thread::sleep_for(delay);
        ASSERT_TRUE(daemon.running()) << "the daemon stopped by itself before kill " << kill << "\n"
                                      << daemon.describe();
        daemon.send_signal(SIGKILL);
        ASSERT_TRUE(daemon.wait(10s).has_value()) << "SIGKILL did not end the daemon";
        std::string snapshot_rows = "?";
        try {
            snapshot_rows =
                query_value(Server::replica, "SELECT count(*) FROM events WHERE id <= " +
                                                 std::to_string(k_snapshot_rows));
            if (std::stoi(snapshot_rows) < k_snapshot_rows) {
                ++kills_during_snapshot;
            }
        } catch (const std::exception&) {
            ++kills_during_snapshot;  // not even created yet: earlier than the snapshot
        }
        std::cout << "[ kill " << (kill < 9 ? " " : "") << kill + 1 << "  ] after " << delay.count()
                  << " ms; replica holds " << snapshot_rows << " of the " << k_snapshot_rows
                  << " initial events rows; writer steps " << writer.steps_done() << std::endl;
    }
    writer.stop();
    EXPECT_GT(writer.steps_done(), 100U) << "the writer barely wrote: " << writer.last_error();
    std::cout << "[ summary  ] " << kills_during_snapshot << " of " << k_kills
              << " kills landed before the snapshot of events had finished; writer: "
              << writer.steps_done() << " steps, " << writer.errors() << " errors" << std::endl;

    CliResult final_pass = run_once(yaml);
    ASSERT_EQ(final_pass.exit_status, 0) << final_pass.err;
    expect_same_rows("SELECT id, grp, payload, updated_at FROM events ORDER BY id",
                     "SELECT id, grp, payload, updated_at FROM events ORDER BY id");
    expect_same_rows("SELECT id, v, note FROM notes ORDER BY id",
                     "SELECT id, v, note FROM notes ORDER BY id");
    for (const char* table : {"events", "notes"}) {
        EXPECT_EQ(query_value(Server::replica,
                              std::string("SELECT count(*) - count(DISTINCT id) FROM ") + table),
                  "0")
            << "duplicate keys in " << table;
    }
}

// SIGTERM and SIGINT in the middle of a snapshot: the daemon finishes or rolls back the chunk
// and exits 0 promptly; the next pass resumes and ends with exactly the source's rows.
TEST_F(CopyCrash, SigtermAndSigintMidSnapshotStopCleanlyAndTheNextPassResumes) {
    exec_source(R"sql(
        CREATE TABLE big (id bigint PRIMARY KEY, payload text);
        INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 200000) g;
        ANALYZE;)sql");
    const std::string yaml = config(
        "      - source: public.big\n        batch_rows: 1000\n        snapshot_chunk_rows: 1000\n "
        "       poll_interval: 200ms\n");
    for (const int signal : {SIGTERM, SIGINT}) {
        const auto replica_rows = [&] {
            return std::stoi(query_value(Server::replica, "SELECT count(*) FROM big"));
        };
        int before = -1;  // no table yet
        try {
            before = replica_rows();
        } catch (const std::exception&) {
        }
        SyncsetProcess daemon({"run"}, yaml);
        // Some time into this run's part of the snapshot: it has committed chunks of its own.
        ASSERT_TRUE(wait_until([&] { return replica_rows() > std::max(before, 0); }, 30s))
            << daemon.describe();
        daemon.send_signal(signal);
        const auto status = daemon.wait(15s);
        EXPECT_EQ(status, std::optional<int>(0))
            << "signal " << signal << " did not stop the daemon cleanly\n"
            << daemon.describe();
        std::cout << "[ info     ] signal " << signal << " at "
                  << query_value(Server::replica, "SELECT count(*) FROM big") << " of 200000 rows"
                  << std::endl;
    }
    CliResult final_pass = run_once(yaml);
    ASSERT_EQ(final_pass.exit_status, 0) << final_pass.err;
    expect_same_rows("SELECT id, payload FROM big ORDER BY id",
                     "SELECT id, payload FROM big ORDER BY id");
}

}  // namespace
}  // namespace syncset::test
