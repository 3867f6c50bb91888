// Human text for a replica plan, as `syncset plan` prints it. Pure.
#pragma once

#include <string>
#include <string_view>

#include "syncset/plan/planner.hpp"

namespace syncset::plan {

// `where` names the replica for the reader (a redacted DSN: never one with a password).
std::string render_plan(const ReplicaPlan& plan, std::string_view where);

}  // namespace syncset::plan
