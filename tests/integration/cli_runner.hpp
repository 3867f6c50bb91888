// Runs the real `syncset` binary from integration tests, as a user would.
#pragma once

#include <string>
#include <vector>

namespace syncset::test {

struct CliResult {
    int exit_status = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Writes `config_yaml` to a temporary file, runs `syncset <args...> <that file>` and waits.
CliResult run_syncset(const std::vector<std::string>& args, const std::string& config_yaml);

// The same with several processes at once (all started before any is waited for).
std::vector<CliResult> run_syncset_concurrently(int count, const std::vector<std::string>& args,
                                                const std::string& config_yaml);

}  // namespace syncset::test
