// The `process_*` figures of this process, read from /proc and getrusage/getrlimit (Linux).
#pragma once

#include "syncset/metrics/registry.hpp"

namespace syncset::metrics {

// Each figure that could not be read is left unset.
ProcessFigures read_process_figures() noexcept;

}  // namespace syncset::metrics
