// Which syncset process works each (replica, table), when several share a replica.
//
// A table's state row names its claimant (claimed_by) and how long the claim lasts
// (claimed_until, by the replica's clock). A poll cycle starts by claiming the table
// (claim_table): it gets it when nobody holds it, when it holds it already, or when the
// holder's claim lapsed. Every checkpoint is written only by the holder, under the row's lock,
// in the batch's own transaction (write_progress in progress.hpp): claim, fence and checkpoint
// are one commit, so a process that was stopped, cut off or merely slow past its lease, and was
// taken over meanwhile, has its batch rolled back. A heartbeat (renew_claims) keeps a running
// process's claims alive between checkpoints; a clean stop gives them up (release_claims).
// Nothing here needs session state: it works through any connection, one transaction at a time.
// The SQL is src/state/sql/{claim_table,renew_claims,release_claims}.sql.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace syncset::db {
class Connection;
}

namespace syncset::state {

struct Claim {
    std::string claimant;               // who: process_claimant() for a daemon
    std::chrono::milliseconds lease{};  // how long each claim or renewal lasts
};

// This process's claimant name, the same for its whole life and unique across processes and
// machines: `<host> pid <pid> <random hex>`.
const std::string& process_claimant();

// Pure: the host and pid a claimant name (process_claimant's form) carries; nullopt for any
// other text.
struct ClaimantId {
    std::string host;
    long pid = 0;
};
std::optional<ClaimantId> parse_claimant(std::string_view claimant);

// Pure: the lease of a table polled every `poll`: two polls, and at least 2 s, so a scheduling
// hiccup does not hand a live process's table to another. A dead process's tables are taken
// over once it lapses, at the others' next poll.
std::chrono::milliseconds claim_lease(std::chrono::milliseconds poll) noexcept;

// Claims (or renews) the table for `claim`, in a statement of its own, never waiting. The
// previous holder ("" for none, or the claimant itself) when it holds the table now; nullopt
// when another process does, or the table has no state row.
std::optional<std::string> claim_table(db::Connection& conn, std::string_view schema,
                                       std::string_view target_schema, std::string_view target_name,
                                       const Claim& claim);

// A table's claim as stored: its holder ("" for none) and whether it has lapsed (or is free).
// nullopt when the table has no state row.
struct ClaimState {
    std::string holder;
    bool lapsed = true;
    std::chrono::milliseconds left{0};  // until it lapses
};
std::optional<ClaimState> read_claim(db::Connection& conn, std::string_view schema,
                                     std::string_view target_schema, std::string_view target_name);

// For the holder of a table's claim (or a process that found it lapsed): terminates other copy
// worker sessions (application_name `worker_application_name`) whose batch still holds the
// table's batch lock, i.e. batches of processes that lost the claim while frozen or cut off.
// Returns how many; 0, logging nothing, when this role may not terminate them.
int terminate_lapsed_batches(db::Connection& conn, std::string_view schema,
                             std::string_view target_schema, std::string_view target_name,
                             std::string_view worker_application_name);

// Extends the claims of `claim.claimant` on the tables it works (`target_schemas[i]`.
// `target_names[i]`) to now plus its lease (never shortens one); rows being checkpointed at
// that moment are skipped (the checkpoint renews them). Returns how many.
std::int64_t renew_claims(db::Connection& conn, std::string_view schema, const Claim& claim,
                          const std::vector<std::string>& target_schemas,
                          const std::vector<std::string>& target_names);

// Gives up every claim of `claimant`: for a process stopping cleanly.
void release_claims(db::Connection& conn, std::string_view schema, std::string_view claimant);

// Gives up the live claims of processes of this host that no longer exist (a daemon killed with
// -9 and started again): its tables are copied again at once instead of after the lease.
// Returns the claimants freed. A claimant of another host is left to lapse: only its own host
// can tell it is gone (and a wrong guess would cost work, not rows: the fence holds).
std::vector<std::string> release_dead_local_claims(db::Connection& conn, std::string_view schema);

}  // namespace syncset::state
