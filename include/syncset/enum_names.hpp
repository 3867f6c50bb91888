// One table per enum: each value with the name users, the config and the database see. Pure.
//
// An enum takes part by declaring, next to it, a constexpr array of entries that have a `value`
// and a `name` member (EnumName<E>, or a struct with more columns, like a config key with the
// sections that allow it) and an `enum_table` hook that argument-dependent lookup finds:
//
//     inline constexpr auto k_mode_names =
//         std::to_array<EnumName<Mode>>({{Mode::upsert, "upsert"}, {Mode::insert, "insert"}});
//     constexpr const auto& enum_table(Mode) noexcept { return k_mode_names; }
//
// Then `name_of(Mode::insert)` is "insert", `parse_enum<Mode>("upsert")` is Mode::upsert, and
// `enum_name_list<Mode>()` gives the names in table order for "expected a, b or c" messages.
// A table lists what users may write; where code must handle every value, use a `switch` so
// -Wswitch proves none is missed.
// Compilation fails when a table repeats a value or a name, or has an empty name.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>

namespace syncset {

template <typename E>
struct EnumName {
    E value;
    std::string_view name;
};

// An enum with a name table (see above).
template <typename E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
    { enum_table(e).size() } -> std::convertible_to<std::size_t>;
    { enum_table(e)[0].value } -> std::convertible_to<E>;
    { enum_table(e)[0].name } -> std::convertible_to<std::string_view>;
};

namespace detail {

template <typename Table>
constexpr bool is_one_to_one(const Table& table) {
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i].name.empty()) {
            return false;
        }
        for (std::size_t j = i + 1; j < table.size(); ++j) {
            if (table[i].value == table[j].value || table[i].name == table[j].name) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace detail

// The whole table of E, in its declared order.
template <NamedEnum E>
constexpr const auto& enum_entries() noexcept {
    constexpr const auto& k_table = enum_table(E{});
    static_assert(detail::is_one_to_one(k_table),
                  "an enum name table must give each value one non-empty name of its own");
    return k_table;
}

// The name of `value`; "?" for a value the table lacks (a cast from a stray integer).
template <NamedEnum E>
constexpr std::string_view name_of(E value) noexcept {
    for (const auto& entry : enum_entries<E>()) {
        if (entry.value == value) {
            return entry.name;
        }
    }
    return "?";
}

// The value named exactly `text` (case-sensitive), or nullopt.
template <NamedEnum E>
constexpr std::optional<E> parse_enum(std::string_view text) noexcept {
    for (const auto& entry : enum_entries<E>()) {
        if (entry.name == text) {
            return entry.value;
        }
    }
    return std::nullopt;
}

// Every name of E, in table order.
template <NamedEnum E>
constexpr auto enum_name_list() noexcept {
    constexpr const auto& k_table = enum_entries<E>();
    std::array<std::string_view, k_table.size()> names{};
    for (std::size_t i = 0; i < k_table.size(); ++i) {
        names[i] = k_table[i].name;
    }
    return names;
}

// Every value of E, in table order.
template <NamedEnum E>
constexpr auto enum_value_list() noexcept {
    constexpr const auto& k_table = enum_entries<E>();
    std::array<E, k_table.size()> values{};
    for (std::size_t i = 0; i < k_table.size(); ++i) {
        values[i] = k_table[i].value;
    }
    return values;
}

}  // namespace syncset
