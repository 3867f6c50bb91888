#include "syncset/db/copy_pipe.hpp"

#include "syncset/error.hpp"

namespace syncset::db {

CopyStats copy_pipe(Connection& source, std::string_view copy_out_sql, Connection& target,
                    std::string_view copy_in_sql, const PipeOptions& options) {
    const std::atomic<bool>* stop = options.stop;
    CopyStats stats;
    try {
        if (!options.source_started) {
            source.copy_out_begin(copy_out_sql, stop);
        }
        target.copy_in_begin(copy_in_sql, stop);
        // The hot path: one row per call, handed on untouched; only the last one is kept.
        while (auto row = source.copy_out_next(stop)) {
            target.copy_in_put(row->bytes());
            ++stats.rows;
            stats.bytes += row->size();
            stats.last_row = std::move(row);
        }
        target.copy_in_end();
    } catch (const Error& error) {
        // Whichever side failed has already cleaned itself up; stop the other one.
        target.copy_in_abort(error.what());
        source.copy_out_abort();
        throw;
    } catch (...) {
        target.copy_in_abort("syncset: copy failed");
        source.copy_out_abort();
        throw;
    }
    return stats;
}

}  // namespace syncset::db
