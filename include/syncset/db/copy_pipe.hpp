// The COPY hot path: rows stream from a source COPY TO STDOUT into a target COPY FROM STDIN as
// opaque bytes, never parsed (after pgcopydb's pg_copy_data). Every COPY syncset runs — snapshot
// chunks, incremental batches, full refreshes, drift repairs — goes through copy_pipe.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "syncset/db/connection.hpp"

namespace syncset::db {

struct CopyStats {
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;  // COPY text bytes passed through, row terminators included
    // The last row passed through, bytes unchanged (the copy loop decodes its key and cursor);
    // nullopt when no row was.
    std::optional<CopyRow> last_row;
};

struct PipeOptions {
    // The source is already streaming `copy_out_sql` (started ahead, while the target committed
    // its previous batch): it is not started again.
    bool source_started = false;
    const std::atomic<bool>* stop = nullptr;
};

// Runs `copy_out_sql` (`COPY (SELECT ...) TO STDOUT`) on `source` and `copy_in_sql`
// (`COPY t (cols) FROM STDIN`) on `target`, and passes every row through unchanged. Both must use
// the same COPY format (text by default). Works inside transactions on either side, so the target
// may be in the middle of a batch transaction that also writes a checkpoint.
//
// `stop` is checked for every row and at least every 100 ms while the source is silent. On stop
// or on any failure the target COPY is failed with PQputCopyEnd(target, reason) so it stores
// nothing, the source COPY is cancelled and drained, and an Error is thrown: "copy interrupted"
// (retryable) on stop, else the translated error of the side that failed, prefixed with its role.
// Either way both connections are left without pending results; an open transaction on either
// side is then aborted and needs rollback().
CopyStats copy_pipe(Connection& source, std::string_view copy_out_sql, Connection& target,
                    std::string_view copy_in_sql, const PipeOptions& options = {});

}  // namespace syncset::db
