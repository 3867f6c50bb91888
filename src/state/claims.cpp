#include "syncset/state/claims.hpp"

#include <unistd.h>

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

std::string make_claimant() {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0) {
        host[0] = '\0';
    }
    std::random_device random;
    std::array<char, 17> hex{};
    std::snprintf(hex.data(), hex.size(), "%08x%08x", random(), random());
    return std::string(host[0] != '\0' ? host.data() : "unknown-host") + " pid " +
           std::to_string(getpid()) + " " + hex.data();
}

}  // namespace

const std::string& process_claimant() {
    static const std::string claimant = make_claimant();
    return claimant;
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

std::int64_t renew_claims(db::Connection& conn, std::string_view schema, const Claim& claim) {
    try {
        db::Result r = conn.exec_params(expand_schema(sql::k_renew_claims_sql, schema),
                                        {claim.claimant, interval(claim.lease)});
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

}  // namespace syncset::state
