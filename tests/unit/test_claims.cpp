// The pure parts of claims (state/claims.hpp): the claimant's name carries its host and pid, so
// a daemon restarted on the same host can tell a killed predecessor is gone; and the lease.
#include <gtest/gtest.h>

#include <unistd.h>

#include "syncset/state/claims.hpp"

namespace syncset::state {
namespace {

using std::chrono::milliseconds;

TEST(Claims, ThisProcessesClaimantNamesItsHostAndPidAndIsStable) {
    const std::string& claimant = process_claimant();
    EXPECT_EQ(&claimant, &process_claimant());
    const auto id = parse_claimant(claimant);
    ASSERT_TRUE(id.has_value()) << claimant;
    EXPECT_EQ(id->pid, static_cast<long>(getpid()));
    EXPECT_FALSE(id->host.empty());
}

TEST(Claims, AClaimantNameIsParsedOnlyInItsOwnForm) {
    const auto id = parse_claimant("db-7.example pid 4242 00ff00ff00ff00ff");
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(id->host, "db-7.example");
    EXPECT_EQ(id->pid, 4242);
    // A host name with " pid " in it: the last marker counts.
    const auto odd = parse_claimant("my pid box pid 17 ab");
    ASSERT_TRUE(odd.has_value());
    EXPECT_EQ(odd->host, "my pid box");
    EXPECT_EQ(odd->pid, 17);
    for (const char* bad : {"", "test loop", "host pid", "host pid 12", "host pid x1 ab",
                            "host pid -3 ab", "host pid 0 ab", " pid 12 ab", "host pid 12 "}) {
        EXPECT_FALSE(parse_claimant(bad).has_value()) << bad;
    }
}

TEST(Claims, ALeaseIsTwoPollsAndNeverUnderTwoSeconds) {
    EXPECT_EQ(claim_lease(milliseconds(200)), milliseconds(2000));
    EXPECT_EQ(claim_lease(milliseconds(1000)), milliseconds(2000));
    EXPECT_EQ(claim_lease(milliseconds(5000)), milliseconds(10000));
    EXPECT_EQ(claim_lease(std::chrono::minutes(1)), std::chrono::minutes(2));
}

}  // namespace
}  // namespace syncset::state
