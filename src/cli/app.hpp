// The command line: parses arguments, runs one command, and is the one catch funnel that turns
// errors into messages and exit statuses.
#pragma once

namespace syncset::cli {

// Runs syncset with `argv` and returns the process exit status.
int run(int argc, char** argv);

}  // namespace syncset::cli
