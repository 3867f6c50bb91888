#include "syncset/state/model.hpp"

namespace syncset::state {

std::string_view to_string(Phase phase) noexcept {
    return name_of(phase);
}
std::optional<Phase> phase_from_string(std::string_view text) noexcept {
    return parse_enum<Phase>(text);
}
std::string_view to_string(Work work) noexcept {
    return name_of(work);
}
std::optional<Work> work_from_string(std::string_view text) noexcept {
    return parse_enum<Work>(text);
}

const ColumnState* TableState::column_by_attnum(int attnum) const noexcept {
    for (const auto& c : columns) {
        if (c.attnum == attnum) {
            return &c;
        }
    }
    return nullptr;
}

}  // namespace syncset::state
