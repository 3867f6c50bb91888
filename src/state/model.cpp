#include "syncset/state/model.hpp"

#include <array>
#include <utility>

namespace syncset::state {

namespace {

constexpr std::array k_phases{std::pair{Phase::snapshot, std::string_view{"snapshot"}},
                              std::pair{Phase::incremental, std::string_view{"incremental"}},
                              std::pair{Phase::stopped, std::string_view{"stopped"}}};
constexpr std::array k_works{std::pair{Work::none, std::string_view{"none"}},
                             std::pair{Work::snapshot, std::string_view{"snapshot"}},
                             std::pair{Work::backfill, std::string_view{"backfill"}},
                             std::pair{Work::resync, std::string_view{"resync"}}};

template <typename T, std::size_t N>
std::string_view name_of(const std::array<std::pair<T, std::string_view>, N>& table, T value) {
    for (const auto& [v, name] : table) {
        if (v == value) {
            return name;
        }
    }
    return "?";
}

template <typename T, std::size_t N>
std::optional<T> value_of(const std::array<std::pair<T, std::string_view>, N>& table,
                          std::string_view text) {
    for (const auto& [v, name] : table) {
        if (name == text) {
            return v;
        }
    }
    return std::nullopt;
}

}  // namespace

std::string_view to_string(Phase phase) noexcept {
    return name_of(k_phases, phase);
}
std::optional<Phase> phase_from_string(std::string_view text) noexcept {
    return value_of(k_phases, text);
}
std::string_view to_string(Work work) noexcept {
    return name_of(k_works, work);
}
std::optional<Work> work_from_string(std::string_view text) noexcept {
    return value_of(k_works, text);
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
