// The replica-side metadata store against a real PostgreSQL: schema creation and migration,
// round trips of TableState, and that writes join the caller's transaction.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/pg_fixture.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"
#include "syncset/state/claims.hpp"
#include "syncset/state/progress.hpp"
#include "syncset/state/store.hpp"

namespace syncset::state {
namespace {

using test::Rows;
using test::Server;

constexpr std::string_view k_odd_schema = "My \"Meta\" Schema";

class StateStore : public test::PgPairTest {
  protected:
    db::Connection& replica() { return connection(Server::replica); }

    std::string count_rows(std::string_view schema, std::string_view table) {
        return query_value(Server::replica,
                           "SELECT count(*) FROM " + db::quote_qualified(schema, table));
    }

    // Every schema of the replica database, to show that a read created none.
    Rows list_schemas() {
        return query_replica_rows("SELECT nspname FROM pg_namespace ORDER BY nspname");
    }

    void write_committed(std::string_view schema, const TableState& table) {
        db::Transaction transaction(replica());
        write_table(replica(), schema, table);
        transaction.commit();
    }
};

ColumnState column(int attnum, std::string source_name, std::string target_name, std::string type,
                   std::string config_name = {}) {
    ColumnState column;
    column.attnum = attnum;
    column.source_name = std::move(source_name);
    column.target_name = std::move(target_name);
    column.type = std::move(type);
    column.config_name = std::move(config_name);
    return column;
}

// A table with odd names everywhere, an unreplicated column, a renamed one, and empty arrays.
TableState odd_table() {
    TableState table;
    table.target_schema = "Tgt \"Schema\"";
    table.target_name = "order's,{items}";
    table.source_schema = "src\\schema";
    table.source_name = "Orders NULL";
    table.source_oid = 4'294'967'295U;
    table.columns = {
        column(1, "id", "Id", "bigint", "id"),
        column(3, "secret, \"pw\"", "", "text", "secret"),
        column(4, "zählung", "NULL", "character varying(20)[]", ""),
    };
    table.key = {};
    table.indexes = {};
    table.phase = Phase::stopped;
    table.pending = Work::resync;
    table.stop_reason = "key changed; run resync";
    table.fingerprint = "";
    return table;
}

TableState plain_table(std::string name) {
    TableState table;
    table.target_schema = "public";
    table.target_name = name;
    table.source_schema = "public";
    table.source_name = std::move(name);
    table.source_oid = 16384;
    table.columns = {
        column(1, "id", "id", "integer"),
        column(2, "a", "a", "text"),
        column(5, "b", "b", "date"),
    };
    table.key = {"id"};
    table.indexes = {"orders_a_idx", "Orders \"B\" idx"};
    table.phase = Phase::incremental;
    table.pending = Work::none;
    table.fingerprint = "fp:1";
    return table;
}

void expect_same(const TableState& actual, const TableState& expected) {
    EXPECT_EQ(actual.target_schema, expected.target_schema);
    EXPECT_EQ(actual.target_name, expected.target_name);
    EXPECT_EQ(actual.source_schema, expected.source_schema);
    EXPECT_EQ(actual.source_name, expected.source_name);
    EXPECT_EQ(actual.source_oid, expected.source_oid);
    EXPECT_EQ(actual.columns, expected.columns);
    EXPECT_EQ(actual.key, expected.key);
    EXPECT_EQ(actual.indexes, expected.indexes);
    EXPECT_EQ(actual.phase, expected.phase);
    EXPECT_EQ(actual.pending, expected.pending);
    EXPECT_EQ(actual.stop_reason, expected.stop_reason);
    EXPECT_EQ(actual.fingerprint, expected.fingerprint);
}

TEST_F(StateStore, EnsureSchemaAppliesEveryMigrationOnceAndRerunAddsNothing) {
    EXPECT_FALSE(schema_exists(replica(), k_default_schema));
    ensure_schema(replica(), k_default_schema);
    ensure_schema(replica(), k_default_schema);

    EXPECT_TRUE(schema_exists(replica(), k_default_schema));
    EXPECT_EQ(known_schema_version(), 6);
    EXPECT_EQ(read_schema_version(replica(), k_default_schema), 6);
    EXPECT_EQ(query_replica_rows("SELECT version, applied_at IS NOT NULL FROM _syncset.version "
                                 "ORDER BY version"),
              (Rows{{"1", "t"}, {"2", "t"}, {"3", "t"}, {"4", "t"}, {"5", "t"}, {"6", "t"}}));
    EXPECT_EQ(query_replica_rows("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                                 "relnamespace = '_syncset'::regnamespace ORDER BY relname"),
              (Rows{{"columns"}, {"tables"}, {"version"}}));
    EXPECT_FALSE(replica().in_transaction());
}

TEST_F(StateStore, ConcurrentEnsureSchemaFromTwoConnectionsBothSucceed) {
    // Several rounds, each on a fresh schema, so the two really race for its creation. The later
    // rounds run where transactions default to REPEATABLE READ: a snapshot taken before waiting
    // for the lock would not see what the winner created.
    for (int round = 0; round < 6; ++round) {
        if (round == 3) {
            exec_replica("ALTER DATABASE " + db::quote_ident(database_name()) +
                         " SET default_transaction_isolation = 'repeatable read'");
        }
        const std::string schema = "race " + std::to_string(round);
        std::vector<std::unique_ptr<db::Connection>> connections;
        for (int n = 0; n < 2; ++n) {
            connections.push_back(db::Connection::open(replica_dsn(), "replica"));
        }
        std::latch start(2);
        std::vector<std::exception_ptr> failures(2);
        std::vector<std::thread> threads;
        for (std::size_t n = 0; n < 2; ++n) {
            threads.emplace_back([&, n] {
                start.arrive_and_wait();
                try {
                    ensure_schema(*connections[n], schema);
                } catch (...) {
                    failures[n] = std::current_exception();
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        for (const auto& failure : failures) {
            if (failure) {
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& error) {
                    ADD_FAILURE() << "round " << round << ": " << error.what();
                }
            }
        }
        EXPECT_EQ(count_rows(schema, "version"), std::to_string(known_schema_version()))
            << "round " << round;
    }
}

TEST_F(StateStore, NewerStoredVersionIsRefusedWithUpgradeMessage) {
    ensure_schema(replica(), k_default_schema);
    const int newer = known_schema_version() + 2;
    exec_replica("INSERT INTO _syncset.version (version) VALUES (" + std::to_string(newer) + ")");
    const std::string expected = "metadata schema _syncset is at version " + std::to_string(newer) +
                                 " but this syncset knows up to " +
                                 std::to_string(known_schema_version()) + "; upgrade syncset";

    for (const auto& call : {+[](db::Connection& conn) { ensure_schema(conn, "_syncset"); },
                             +[](db::Connection& conn) { (void)read_tables(conn, "_syncset"); }}) {
        try {
            call(replica());
            ADD_FAILURE() << "expected an Error";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::schema);
            EXPECT_EQ(std::string(error.what()), expected);
        }
        EXPECT_FALSE(replica().in_transaction());
    }
    EXPECT_EQ(count_rows(k_default_schema, "version"), std::to_string(known_schema_version() + 1));
}

TEST_F(StateStore, AVersionOneSchemaIsMigratedToTheCurrentVersionKeepingItsRows) {
    // A replica set up by an older syncset: migration 1 only, with a table's state in it
    // (written first: today's writes name the newer columns).
    ensure_schema(replica(), k_default_schema);
    write_committed(k_default_schema, odd_table());
    exec_replica(
        "ALTER TABLE _syncset.tables DROP COLUMN drift_checked_at, DROP COLUMN drift_rows, "
        "DROP COLUMN drift_missing, DROP COLUMN drift_extra, DROP COLUMN drift_different, "
        "DROP COLUMN drift_repaired, DROP COLUMN drift_ms, DROP COLUMN drift_in_sync_at, "
        "DROP COLUMN snapshot_rows_done, DROP COLUMN snapshot_rows_estimated, "
        "DROP COLUMN snapshot_started_at, DROP COLUMN resync_requested_at, "
        "DROP COLUMN claimed_by, DROP COLUMN claimed_until; "
        "DELETE FROM _syncset.version WHERE version IN (2, 3, 4, 5, 6)");
    ensure_schema(replica(), k_default_schema);
    EXPECT_EQ(read_schema_version(replica(), k_default_schema), known_schema_version());
    EXPECT_EQ(read_tables(replica(), k_default_schema).size(), 1U);
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM _syncset.tables WHERE "
                          "drift_checked_at IS NULL AND snapshot_rows_done = 0 "
                          "AND resync_requested_at IS NULL AND claimed_by IS NULL"),
              "1");
}

TEST_F(StateStore, EnsureSchemaInsideATransactionIsRefused) {
    db::Transaction transaction(replica());
    try {
        ensure_schema(replica(), k_default_schema);
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::internal);
    }
}

TEST_F(StateStore, WriteTableThenReadTablesRoundTripsEveryField) {
    ensure_schema(replica(), k_default_schema);
    const TableState odd = odd_table();
    const TableState plain = plain_table("orders");
    write_committed(k_default_schema, plain);
    write_committed(k_default_schema, odd);

    const std::vector<TableState> tables = read_tables(replica(), k_default_schema);
    ASSERT_EQ(tables.size(), 2U);
    // Bytewise order of (target_schema, target_name): "Tgt..." < "public".
    expect_same(tables[0], odd);
    expect_same(tables[1], plain);
    EXPECT_FALSE(replica().in_transaction());

    // Stored as documented: NULL for an unreplicated column and for empty texts, empty arrays.
    EXPECT_EQ(
        query_replica_rows("SELECT attnum, target_name, config_name FROM _syncset.columns "
                           "WHERE target_table = 'order''s,{items}' ORDER BY attnum"),
        (Rows{{"1", "Id", "id"}, {"3", std::nullopt, "secret"}, {"4", "NULL", std::nullopt}}));
    EXPECT_EQ(query_replica_rows(
                  "SELECT source_oid, cardinality(key), cardinality(indexes), fingerprint, "
                  "rows_copied, snapshot_position FROM _syncset.tables WHERE target_name <> "
                  "'orders'"),
              (Rows{{"4294967295", "0", "0", std::nullopt, "0", std::nullopt}}));
    EXPECT_EQ(query_replica_rows("SELECT indexes[2] FROM _syncset.tables WHERE target_name = "
                                 "'orders'"),
              (Rows{{"Orders \"B\" idx"}}));
}

TEST_F(StateStore, ReadTablesJoinsTheCallersTransaction) {
    ensure_schema(replica(), k_default_schema);
    db::Transaction transaction(replica());
    write_table(replica(), k_default_schema, plain_table("orders"));
    EXPECT_EQ(read_tables(replica(), k_default_schema).size(), 1U);
    EXPECT_TRUE(replica().in_transaction());
}

TEST_F(StateStore, WriteTableInRolledBackTransactionLeavesNothing) {
    ensure_schema(replica(), k_default_schema);
    replica().begin();
    write_table(replica(), k_default_schema, plain_table("orders"));
    EXPECT_TRUE(replica().in_transaction());
    replica().rollback();

    EXPECT_TRUE(read_tables(replica(), k_default_schema).empty());
    EXPECT_EQ(count_rows(k_default_schema, "columns"), "0");
}

TEST_F(StateStore, WriteTableOutsideATransactionIsRefused) {
    ensure_schema(replica(), k_default_schema);
    try {
        write_table(replica(), k_default_schema, plain_table("orders"));
        FAIL() << "expected an Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::internal);
    }
    EXPECT_EQ(count_rows(k_default_schema, "tables"), "0");
}

TEST_F(StateStore, RewritingATableReplacesItsColumns) {
    ensure_schema(replica(), k_default_schema);
    TableState table = plain_table("orders");
    write_committed(k_default_schema, table);

    // Column 2 dropped on the source, column 5 renamed, column 6 added.
    table.columns = {
        column(1, "id", "id", "integer"),
        column(5, "b2", "b", "date"),
        column(6, "c", "c", "numeric"),
    };
    table.key = {"id", "c"};
    table.pending = Work::backfill;
    write_committed(k_default_schema, table);

    const auto tables = read_tables(replica(), k_default_schema);
    ASSERT_EQ(tables.size(), 1U);
    expect_same(tables[0], table);
    EXPECT_EQ(tables[0].column_by_attnum(2), nullptr);

    table.columns.clear();
    write_committed(k_default_schema, table);
    EXPECT_TRUE(read_tables(replica(), k_default_schema).at(0).columns.empty());
}

TEST_F(StateStore, WriteTableKeepsCopyProgressUntilANewSnapshotOrResync) {
    ensure_schema(replica(), k_default_schema);
    TableState table = plain_table("orders");
    const auto set_progress = [&] {
        exec_replica(
            "UPDATE _syncset.tables SET snapshot_position = '(42)', cursor = '2024-01-01', "
            "cursor_kind = 'timestamp', rows_copied = 42, last_success = now()");
    };
    const std::string progress_sql =
        "SELECT snapshot_position, cursor, cursor_kind, rows_copied, last_success IS NOT NULL "
        "FROM _syncset.tables";
    write_committed(k_default_schema, table);
    set_progress();

    for (const Work pending : {Work::none, Work::backfill}) {
        table.pending = pending;
        write_committed(k_default_schema, table);
        EXPECT_EQ(query_replica_rows(progress_sql),
                  (Rows{{"(42)", "2024-01-01", "timestamp", "42", "t"}}))
            << to_string(pending);
    }
    for (const Work pending : {Work::snapshot, Work::resync}) {
        set_progress();
        table.pending = pending;
        write_committed(k_default_schema, table);
        EXPECT_EQ(query_replica_rows(progress_sql),
                  (Rows{{std::nullopt, "2024-01-01", "timestamp", "42", "t"}}))
            << to_string(pending);
    }
}

TEST_F(StateStore, ReadTablesWithoutTheSchemaReturnsEmptyAndCreatesNothing) {
    const Rows before = list_schemas();
    EXPECT_FALSE(schema_exists(replica(), k_default_schema));
    EXPECT_EQ(read_schema_version(replica(), k_default_schema), 0);
    EXPECT_TRUE(read_tables(replica(), k_default_schema).empty());
    EXPECT_EQ(list_schemas(), before);
    EXPECT_FALSE(replica().in_transaction());

    // A schema of that name that syncset never set up (no version table) reads as empty too.
    exec_replica("CREATE SCHEMA _syncset");
    EXPECT_TRUE(read_tables(replica(), k_default_schema).empty());
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT count(*) FROM pg_class WHERE relnamespace = "
                          "'_syncset'::regnamespace"),
              "0");
}

TEST_F(StateStore, OddSchemaNamesWork) {
    // Quotes and spaces; and a newline that would end a `--` comment if the name were pasted
    // unquoted into one.
    for (const std::string_view schema :
         {k_odd_schema, std::string_view{"x\n-- y'; DROP SCHEMA public; --"}}) {
        ensure_schema(replica(), schema);
        ensure_schema(replica(), schema);
        EXPECT_TRUE(schema_exists(replica(), schema));
        EXPECT_EQ(read_schema_version(replica(), schema), known_schema_version());
        const TableState table = odd_table();
        write_committed(schema, table);
        EXPECT_TRUE(write_error(replica(), schema, table.target_schema, table.target_name, "boom"));
        const auto tables = read_tables(replica(), schema);
        ASSERT_EQ(tables.size(), 1U);
        expect_same(tables[0], table);
        EXPECT_EQ(count_rows(schema, "version"), std::to_string(known_schema_version()));
    }
    EXPECT_EQ(query_replica_rows("SELECT count(*) FROM pg_namespace WHERE nspname IN "
                                 "('My \"Meta\" Schema', 'public')"),
              (Rows{{"2"}}));
}

TEST_F(StateStore, WriteStopAndWriteErrorRecordTheReasonAndTime) {
    ensure_schema(replica(), k_default_schema);
    TableState table = plain_table("orders");
    write_committed(k_default_schema, table);

    EXPECT_TRUE(write_error(replica(), k_default_schema, "public", "orders", "timeout, retrying"));
    EXPECT_EQ(query_replica_rows("SELECT phase, stop_reason, last_error, last_error_at IS NOT NULL "
                                 "FROM _syncset.tables"),
              (Rows{{"incremental", std::nullopt, "timeout, retrying", "t"}}));

    EXPECT_TRUE(write_stop(replica(), k_default_schema, "public", "orders",
                           "primary key of public.orders changed type; no cast"));
    EXPECT_EQ(query_replica_rows("SELECT phase, stop_reason, last_error, last_error_at IS NOT NULL "
                                 "FROM _syncset.tables"),
              (Rows{{"stopped", "primary key of public.orders changed type; no cast",
                     "primary key of public.orders changed type; no cast", "t"}}));
    const auto tables = read_tables(replica(), k_default_schema);
    ASSERT_EQ(tables.size(), 1U);
    EXPECT_EQ(tables[0].phase, Phase::stopped);
    EXPECT_EQ(tables[0].stop_reason, "primary key of public.orders changed type; no cast");

    EXPECT_FALSE(write_stop(replica(), k_default_schema, "public", "missing", "gone"));
    EXPECT_FALSE(write_error(replica(), k_default_schema, "public", "missing", "gone"));
}

// `status` shows how long a full pass took and when a scan last proved the table in sync: a scan
// that found nothing, or repaired all it found, proves it; one that left drift does not.
TEST_F(StateStore, DriftResultsRecordThePassTimeAndTheLastScanThatProvedTheTableInSync) {
    ensure_schema(replica(), k_default_schema);
    write_committed(k_default_schema, plain_table("orders"));
    auto drift_of = [&] {
        auto p = read_table_progress(replica(), k_default_schema, "public", "orders");
        EXPECT_TRUE(p.has_value());
        return p ? p->last_drift : DriftResult{};
    };
    write_drift_result(replica(), k_default_schema, "public", "orders",
                       DriftResult{.rows = 10, .ms = 1234});
    EXPECT_EQ(drift_of().ms, 1234);
    const std::string proven = drift_of().in_sync_at;
    EXPECT_FALSE(proven.empty());
    // Everything found was repaired: proven again. Drift left over: the proof stays as it was.
    exec_replica("UPDATE _syncset.tables SET drift_in_sync_at = '2001-01-01 00:00:00+00'");
    write_drift_result(replica(), k_default_schema, "public", "orders",
                       DriftResult{.rows = 10, .missing = 1, .extra = 1, .repaired = 2, .ms = 5});
    EXPECT_NE(drift_of().in_sync_at, "2001-01-01T00:00:00Z");
    exec_replica("UPDATE _syncset.tables SET drift_in_sync_at = '2001-01-01 00:00:00+00'");
    write_drift_result(replica(), k_default_schema, "public", "orders",
                       DriftResult{.rows = 10, .different = 3, .repaired = 2, .ms = 7});
    EXPECT_EQ(drift_of().in_sync_at, "2001-01-01T00:00:00Z");
    EXPECT_EQ(drift_of().different, 3);
    EXPECT_EQ(drift_of().ms, 7);
}

TEST_F(StateStore, ADriftScanIsNotDueWhileAReCopyIsUnderWayAndAResyncMakesItDueAfter) {
    ensure_schema(replica(), k_default_schema);
    write_committed(k_default_schema, plain_table("orders"));
    write_drift_result(replica(), k_default_schema, "public", "orders",
                       DriftResult{.rows = 1, .ms = 1});
    const auto due = [&] {
        return read_drift_due(replica(), k_default_schema, "public", "orders",
                              std::chrono::hours(1));
    };
    EXPECT_FALSE(due()) << "scanned just now";
    ASSERT_TRUE(request_resync(replica(), k_default_schema, "public", "orders"));
    EXPECT_FALSE(due()) << "a request alone is not a re-copy yet";
    ASSERT_TRUE(start_requested_resync(replica(), k_default_schema, "public", "orders"));
    EXPECT_EQ(read_tables(replica(), k_default_schema).at(0).pending, Work::resync);
    EXPECT_FALSE(due()) << "its scan would race the re-copy and wait for its lock";
    exec_replica("UPDATE _syncset.tables SET pending = 'none', phase = 'incremental'");
    EXPECT_TRUE(due()) << "the resync cleared the last scan: due once the re-copy is done";
    // A stopped table is not resynced.
    exec_replica("UPDATE _syncset.tables SET phase = 'stopped'");
    EXPECT_FALSE(request_resync(replica(), k_default_schema, "public", "orders"));
}

// A copy loop's claim on its table (claims.hpp), as a daemon's, with a lease of a minute.
Claim loop_claim(const std::string& claimant = "test loop") {
    return Claim{claimant, std::chrono::minutes(1)};
}

// The copy loop's checkpoint after a batch. A batch of an incremental poll at cursor "7".
Progress incremental_batch() {
    Progress p;
    p.target_schema = "public";
    p.target_name = "orders";
    p.phase = Phase::incremental;
    p.pending = Work::none;
    p.cursor = {"7"};
    p.cursor_kind = "sequence";
    return p;
}

// `syncset resync` records a request without the table's lock; the loop's next checkpoint turns
// it into the resync in the batch's own transaction: the batch's rows and cursor stand, and
// the table is then at the first key of a re-copy, its counters and drift scan reset.
TEST_F(StateStore, ACheckpointTurnsAResyncRequestIntoAReCopyFromTheFirstKeyAfterItsBatch) {
    ensure_schema(replica(), k_default_schema);
    write_committed(k_default_schema, plain_table("orders"));
    write_drift_result(replica(), k_default_schema, "public", "orders",
                       DriftResult{.rows = 1, .ms = 1});
    exec_replica(
        "UPDATE _syncset.tables SET snapshot_rows_done = 500, "
        "snapshot_started_at = now() - interval '1 hour'");
    const auto progress = [&] {
        auto p = read_table_progress(replica(), k_default_schema, "public", "orders");
        EXPECT_TRUE(p.has_value());
        return p.value_or(Progress{});
    };
    ASSERT_TRUE(claim_table(replica(), k_default_schema, "public", "orders", loop_claim()));
    const auto checkpoint = [&](std::int64_t rows, bool commit) {
        replica().begin();
        const Checkpoint done =
            write_progress(replica(), k_default_schema, incremental_batch(), rows, loop_claim());
        commit ? replica().commit() : replica().rollback();
        return done;
    };

    ASSERT_TRUE(request_resync(replica(), k_default_schema, "public", "orders"));
    EXPECT_TRUE(progress().resync_requested);
    EXPECT_EQ(progress().pending, Work::none) << "the request alone moves nothing";

    // Rolled back (a crash before the commit): the request is still there for the next try.
    EXPECT_EQ(checkpoint(10, false), Checkpoint::resync_started);
    EXPECT_TRUE(progress().resync_requested);
    EXPECT_EQ(progress().pending, Work::none);

    EXPECT_EQ(checkpoint(10, true), Checkpoint::resync_started);
    const Progress after = progress();
    EXPECT_FALSE(after.resync_requested);
    EXPECT_EQ(after.phase, Phase::snapshot);
    EXPECT_EQ(after.pending, Work::resync);
    EXPECT_TRUE(after.snapshot_position.empty()) << "from the first key";
    EXPECT_EQ(after.snapshot_rows_done, 0);
    EXPECT_FALSE(after.snapshot_elapsed_s.has_value()) << "its first chunk starts the clock";
    EXPECT_EQ(after.cursor, (std::vector<std::string>{"7"})) << "the batch's cursor stands";
    EXPECT_EQ(after.rows_copied, 10) << "the batch's rows count";
    EXPECT_TRUE(after.last_drift.checked_at.empty()) << "its drift scan is due after it";

    // Taken up once: the next checkpoint is a plain one.
    EXPECT_EQ(checkpoint(0, true), Checkpoint::written);
    EXPECT_FALSE(start_requested_resync(replica(), k_default_schema, "public", "orders"));
    // A stopped table neither takes a request nor a checkpoint.
    exec_replica("UPDATE _syncset.tables SET phase = 'stopped'");
    EXPECT_FALSE(request_resync(replica(), k_default_schema, "public", "orders"));
    EXPECT_EQ(checkpoint(0, true), Checkpoint::refused);
}

// The request may commit while the checkpoint waits for the table's row (after the
// checkpoint's snapshot was taken): it is then taken up, and reported as taken up, or the loop
// would write its old position over the re-copy at its next checkpoint.
TEST_F(StateStore, ARequestCommittedWhileACheckpointWaitsForTheRowIsReportedAsTakenUp) {
    ensure_schema(replica(), k_default_schema);
    write_committed(k_default_schema, plain_table("orders"));
    auto requester = db::Connection::open(replica_dsn(), "requester");
    auto loop = db::Connection::open(replica_dsn(), "loop");
    ASSERT_TRUE(claim_table(*loop, k_default_schema, "public", "orders", loop_claim()));
    requester->begin();
    ASSERT_TRUE(request_resync(*requester, k_default_schema, "public", "orders"));

    Checkpoint done = Checkpoint::refused;
    std::exception_ptr failure;
    std::thread checkpoint([&] {
        try {
            loop->begin();
            done = write_progress(*loop, k_default_schema, incremental_batch(), 1, loop_claim());
            loop->commit();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    // The checkpoint waits for the requester's row lock.
    bool waiting = false;
    for (int i = 0; i < 200 && !waiting; ++i) {
        waiting = query_value(Server::replica,
                              "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                              "LIKE '%loop%' AND datname = current_database() "
                              "AND wait_event_type = 'Lock'") == "1";
        if (!waiting) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    requester->commit();
    checkpoint.join();
    ASSERT_FALSE(failure);
    EXPECT_TRUE(waiting) << "the checkpoint never waited: the race was not exercised";
    EXPECT_EQ(done, Checkpoint::resync_started);
    const auto p = read_table_progress(replica(), k_default_schema, "public", "orders");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->pending, Work::resync);
    EXPECT_FALSE(p->resync_requested);
}

TEST_F(StateStore, WriteStopJoinsTheCallersTransaction) {
    ensure_schema(replica(), k_default_schema);
    write_committed(k_default_schema, plain_table("orders"));
    replica().begin();
    EXPECT_TRUE(write_stop(replica(), k_default_schema, "public", "orders", "stop"));
    replica().rollback();
    EXPECT_EQ(read_tables(replica(), k_default_schema).at(0).phase, Phase::incremental);
}

// Several daemons share a replica: each table is worked by the holder of its claim. Another
// process gets it only once the claim lapsed, and from then on the old holder's checkpoints are
// refused in their own transaction, so a batch it finishes late is rolled back, never committed.
TEST_F(StateStore, OnlyTheClaimHolderCheckpointsAndALapsedClaimIsTakenOver) {
    ensure_schema(replica(), k_default_schema);
    write_committed(k_default_schema, plain_table("orders"));
    auto a = db::Connection::open(replica_dsn(), "daemon a");
    auto b = db::Connection::open(replica_dsn(), "daemon b");
    const Claim claim_a = loop_claim("a");
    const Claim claim_b = loop_claim("b");
    const auto checkpoint = [&](db::Connection& conn, const Claim& claim) {
        conn.begin();
        const Checkpoint done =
            write_progress(conn, k_default_schema, incremental_batch(), 1, claim);
        conn.commit();
        return done;
    };

    EXPECT_EQ(claim_table(*a, k_default_schema, "public", "orders", claim_a), std::string())
        << "nobody held it";
    EXPECT_EQ(claim_table(*b, k_default_schema, "public", "orders", claim_b), std::nullopt)
        << "a holds it";
    const std::string version = query_value(Server::replica, "SELECT xmin FROM _syncset.tables");
    EXPECT_EQ(claim_table(*a, k_default_schema, "public", "orders", claim_a), std::string("a"))
        << "a confirms its own claim";
    EXPECT_EQ(query_value(Server::replica, "SELECT xmin FROM _syncset.tables"), version)
        << "a claim with most of its lease left is confirmed without writing the row";
    EXPECT_EQ(checkpoint(*b, claim_b), Checkpoint::claim_lost);
    EXPECT_EQ(checkpoint(*a, claim_a), Checkpoint::written);

    // a's batch is under way when its claim lapses (a stopped process) and b takes over.
    a->begin();
    exec_replica("UPDATE _syncset.tables SET claimed_until = clock_timestamp() - interval '1s'");
    EXPECT_EQ(claim_table(*b, k_default_schema, "public", "orders", claim_b), std::string("a"));
    EXPECT_EQ(write_progress(*a, k_default_schema, incremental_batch(), 100, claim_a),
              Checkpoint::claim_lost);
    a->rollback();
    EXPECT_EQ(claim_table(*a, k_default_schema, "public", "orders", claim_a), std::nullopt);
    EXPECT_EQ(checkpoint(*b, claim_b), Checkpoint::written);
    auto p = read_table_progress(replica(), k_default_schema, "public", "orders");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->rows_copied, 2) << "a's late batch counted nothing";

    // A row being checkpointed is skipped by a claim attempt and by the heartbeat, never waited
    // for.
    exec_replica("UPDATE _syncset.tables SET claimed_until = clock_timestamp() - interval '1s'");
    b->begin();
    EXPECT_EQ(write_progress(*b, k_default_schema, incremental_batch(), 0, claim_b),
              Checkpoint::written);
    EXPECT_EQ(claim_table(*a, k_default_schema, "public", "orders", claim_a), std::nullopt)
        << "b's checkpoint holds the row";
    const std::vector<std::string> schemas{"public"};
    const std::vector<std::string> names{"orders"};
    EXPECT_EQ(renew_claims(*a, k_default_schema, claim_b, schemas, names), 0);
    b->commit();
    EXPECT_EQ(claim_table(*a, k_default_schema, "public", "orders", claim_a), std::nullopt)
        << "b's checkpoint renewed its claim";
    // The heartbeat keeps a claim alive between checkpoints.
    exec_replica("UPDATE _syncset.tables SET claimed_until = clock_timestamp() + interval '1s'");
    EXPECT_EQ(renew_claims(*a, k_default_schema, claim_b, {}, {}), 0)
        << "only the tables the process works are renewed";
    EXPECT_EQ(renew_claims(*a, k_default_schema, claim_b, schemas, names), 1);
    EXPECT_EQ(query_value(Server::replica,
                          "SELECT claimed_until > clock_timestamp() + "
                          "interval '50 seconds' FROM _syncset.tables"),
              "t");

    // A clean stop gives the claims up: the other process takes the table at once.
    release_claims(*b, k_default_schema, "b");
    EXPECT_EQ(claim_table(*a, k_default_schema, "public", "orders", claim_a), std::string());
}

}  // namespace
}  // namespace syncset::state
