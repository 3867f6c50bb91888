#include "syncset/state/claims.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>

#include "state/sql_text.hpp"
#include "syncset/db/connection.hpp"
#include "syncset/error.hpp"
#include "syncset/state_sql.hpp"
#include "syncset/text.hpp"

namespace syncset::state {

namespace {

std::string interval(std::chrono::milliseconds ms) {
    return std::to_string(ms.count()) + " milliseconds";
}

constexpr std::string_view k_pid_marker = " pid ";

// The host, and the pid namespace when it can be read (`vm#4026531836`): two containers that
// share a host name but not their pids must not take each other's pids for their own.
std::string host_name() {
    std::array<char, 256> host{};
    std::string name = "unknown-host";
    if (gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') {
        name = host.data();
    }
    std::array<char, 64> ns{};
    const ssize_t n = readlink("/proc/self/ns/pid", ns.data(), ns.size() - 1);
    const std::string_view link(ns.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
    if (link.starts_with("pid:[") && link.ends_with("]")) {
        name += "#" + std::string(link.substr(5, link.size() - 6));
    }
    return name;
}

std::string make_claimant() {
    std::random_device random;
    std::array<char, 17> hex{};
    std::snprintf(hex.data(), hex.size(), "%08x%08x", random(), random());
    return host_name() + std::string(k_pid_marker) + std::to_string(getpid()) + " " + hex.data();
}

// Whether process `pid` of this host is gone for sure (not merely another user's).
bool process_gone(long pid) {
    return pid > 0 && pid != getpid() && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

const std::string& process_claimant() {
    static const std::string claimant = make_claimant();
    return claimant;
}

std::optional<ClaimantId> parse_claimant(std::string_view claimant) {
    const auto marker = claimant.rfind(k_pid_marker);
    if (marker == std::string_view::npos || marker == 0) {
        return std::nullopt;
    }
    std::string_view rest = claimant.substr(marker + k_pid_marker.size());
    ClaimantId id{std::string(claimant.substr(0, marker)), 0};
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), id.pid);
    if (error != std::errc{} || id.pid <= 0 || end == rest.data() + rest.size() || *end != ' ' ||
        end + 1 == rest.data() + rest.size()) {
        return std::nullopt;
    }
    return id;
}

std::chrono::milliseconds claim_lease(std::chrono::milliseconds poll) noexcept {
    constexpr std::chrono::milliseconds k_shortest_lease{2000};
    return std::max(2 * poll, k_shortest_lease);
}

std::optional<std::string> claim_table(db::Connection& conn, std::string_view schema,
                                       std::string_view target_schema, std::string_view target_name,
                                       const Claim& claim) {
    try {
        db::Result r = conn.exec_params(expand_schema(sql::k_claim_table_sql, schema),
                                        {std::string(target_schema), std::string(target_name),
                                         claim.claimant, interval(claim.lease)});
        if (r.rows() == 0) {
            return std::nullopt;
        }
        return std::string(r.value(0, 0));
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

std::optional<ClaimState> read_claim(db::Connection& conn, std::string_view schema,
                                     std::string_view target_schema, std::string_view target_name) {
    try {
        db::Result r = conn.exec_params(expand_schema(sql::k_read_claim_sql, schema),
                                        {std::string(target_schema), std::string(target_name)});
        if (r.rows() == 0) {
            return std::nullopt;
        }
        return ClaimState{
            std::string(r.value(0, 0)), r.value(0, 1) == "true",
            std::chrono::milliseconds(r.is_null(0, 2) ? 0 : parse_int64(r.value(0, 2)))};
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

int terminate_lapsed_batches(db::Connection& conn, std::string_view schema,
                             std::string_view target_schema, std::string_view target_name,
                             std::string_view worker_application_name) {
    try {
        db::Result r =
            conn.exec_params(sql::k_terminate_lapsed_batches_sql,
                             {std::string(schema), std::string(target_schema),
                              std::string(target_name), std::string(worker_application_name)});
        return static_cast<int>(parse_int64(r.value(0, 0)));
    } catch (const Error& e) {
        if (e.retryable()) {
            throw;
        }
        return 0;  // not allowed to signal them (another role): they end with their sessions
    }
}

std::int64_t renew_claims(db::Connection& conn, std::string_view schema, const Claim& claim,
                          const std::vector<std::string>& target_schemas,
                          const std::vector<std::string>& target_names) {
    try {
        db::Result r =
            conn.exec_params(expand_schema(sql::k_renew_claims_sql, schema),
                             {claim.claimant, interval(claim.lease),
                              build_text_array(target_schemas), build_text_array(target_names)});
        return parse_int64(r.value(0, 0));
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

void release_claims(db::Connection& conn, std::string_view schema, std::string_view claimant) {
    try {
        conn.exec_params(expand_schema(sql::k_release_claims_sql, schema), {std::string(claimant)});
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
}

std::vector<std::string> release_dead_local_claims(db::Connection& conn, std::string_view schema) {
    std::vector<std::string> freed;
    try {
        db::Result r = conn.query(expand_schema(sql::k_read_live_claimants_sql, schema));
        const std::string host = host_name();
        for (int i = 0; i < r.rows(); ++i) {
            std::string claimant(r.value(i, 0));
            const auto id = parse_claimant(claimant);
            // Gone: its pid is not running here, or is this process (a restart that got the
            // same pid, as pid 1 of a container does) under another name.
            const bool gone =
                id && id->host == host &&
                (process_gone(id->pid) || (id->pid == getpid() && claimant != process_claimant()));
            if (gone) {
                release_claims(conn, schema, claimant);
                freed.push_back(std::move(claimant));
            }
        }
    } catch (const Error& e) {
        throw e.with_context("metadata schema " + std::string(schema));
    }
    return freed;
}

}  // namespace syncset::state
