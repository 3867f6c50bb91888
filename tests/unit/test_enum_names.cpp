// One table per enum (syncset/enum_names.hpp): names both ways, the lists messages print, and
// the names other programs and the metadata schema depend on.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "syncset/config/config.hpp"
#include "syncset/enum_names.hpp"
#include "syncset/state/model.hpp"

namespace syncset {
namespace {

enum class Colour { red, green, blue };
constexpr auto k_colour_names = std::to_array<EnumName<Colour>>(
    {{Colour::red, "red"}, {Colour::green, "green"}, {Colour::blue, "blue"}});
constexpr const auto& enum_table(Colour) noexcept {
    return k_colour_names;
}

// A table with more columns than value and name, like the config's key tables.
enum class Key { alpha, beta };
struct KeyEntry {
    Key value;
    std::string_view name;
    bool optional;
};
constexpr auto k_key_entries =
    std::to_array<KeyEntry>({{Key::alpha, "alpha", false}, {Key::beta, "beta", true}});
constexpr const auto& enum_table(Key) noexcept {
    return k_key_entries;
}

enum class Unnamed { a, b };

// Every value of E survives name_of then parse_enum, and every name the reverse.
template <NamedEnum E>
void expect_round_trip() {
    for (const auto& entry : enum_entries<E>()) {
        EXPECT_EQ(name_of(entry.value), entry.name);
        EXPECT_EQ(parse_enum<E>(entry.name), entry.value) << entry.name;
    }
}

template <NamedEnum E>
std::vector<std::string> names_of() {
    std::vector<std::string> out;
    for (std::string_view name : enum_name_list<E>()) {
        out.emplace_back(name);
    }
    return out;
}

TEST(EnumNames, NameAndParseAreInverses) {
    static_assert(name_of(Colour::green) == "green");
    static_assert(parse_enum<Colour>("blue") == Colour::blue);
    expect_round_trip<Colour>();
    expect_round_trip<Key>();
}

TEST(EnumNames, ParseIsExactAndCaseSensitive) {
    EXPECT_EQ(parse_enum<Colour>("Red"), std::nullopt);
    EXPECT_EQ(parse_enum<Colour>("red "), std::nullopt);
    EXPECT_EQ(parse_enum<Colour>(""), std::nullopt);
    EXPECT_EQ(parse_enum<Colour>("purple"), std::nullopt);
}

TEST(EnumNames, AValueMissingFromItsTableIsNamedQuestionMark) {
    EXPECT_EQ(name_of(static_cast<Colour>(7)), "?");
}

TEST(EnumNames, ListsKeepTableOrder) {
    EXPECT_EQ(names_of<Colour>(), (std::vector<std::string>{"red", "green", "blue"}));
    constexpr auto values = enum_value_list<Key>();
    static_assert(values.size() == 2 && values[0] == Key::alpha && values[1] == Key::beta);
}

TEST(EnumNames, OnlyEnumsWithATableTakePart) {
    static_assert(NamedEnum<Colour>);
    static_assert(NamedEnum<Key>);
    static_assert(!NamedEnum<Unnamed>);
    static_assert(!NamedEnum<int>);
}

TEST(EnumNames, TablesThatRepeatAValueOrANameAreRejected) {
    constexpr auto repeated_value =
        std::to_array<EnumName<Colour>>({{Colour::red, "red"}, {Colour::red, "crimson"}});
    constexpr auto repeated_name =
        std::to_array<EnumName<Colour>>({{Colour::red, "red"}, {Colour::green, "red"}});
    constexpr auto empty_name = std::to_array<EnumName<Colour>>({{Colour::red, ""}});
    static_assert(detail::is_one_to_one(k_colour_names));
    static_assert(!detail::is_one_to_one(repeated_value));
    static_assert(!detail::is_one_to_one(repeated_name));
    static_assert(!detail::is_one_to_one(empty_name));
}

TEST(EnumNames, ConfigEnumsRoundTripAndKeepTheirOldEntryPoints) {
    expect_round_trip<config::Mode>();
    expect_round_trip<config::CursorKind>();
    expect_round_trip<config::ChangeAction>();
    expect_round_trip<config::LogLevel>();
    expect_round_trip<config::LogFormat>();
    for (auto level : enum_value_list<config::LogLevel>()) {
        EXPECT_EQ(config::to_string(level), name_of(level));
        EXPECT_EQ(config::log_level_from_string(name_of(level)), level);
    }
    for (auto format : enum_value_list<config::LogFormat>()) {
        EXPECT_EQ(config::to_string(format), name_of(format));
        EXPECT_EQ(config::log_format_from_string(name_of(format)), format);
    }
    EXPECT_EQ(config::to_string(config::Mode::mirror), "mirror");
    EXPECT_EQ(config::to_string(config::ChangeAction::keep), "keep");
    EXPECT_EQ(config::to_string(config::Cursor{config::CursorKind::none, {}}), "none");
    EXPECT_EQ(config::to_string(config::Cursor{config::CursorKind::column, "updated_at"}),
              "updated_at");
}

// Users write these in the config and on the command line (README, syncset.example.yaml).
TEST(EnumNames, ConfigNamesAreTheDocumentedOnes) {
    EXPECT_EQ(names_of<config::Mode>(), (std::vector<std::string>{"upsert", "insert", "mirror"}));
    EXPECT_EQ(names_of<config::LogLevel>(),
              (std::vector<std::string>{"trace", "debug", "info", "warn", "error", "off"}));
    EXPECT_EQ(names_of<config::LogFormat>(), (std::vector<std::string>{"text", "json"}));
    EXPECT_EQ(names_of<config::ChangeAction>(),
              (std::vector<std::string>{"apply", "ignore", "stop", "keep", "drop"}));
}

// `column IN ('a', 'b', ...)` over every name of E, as a CHECK constraint spells it.
template <NamedEnum E>
std::string check_list(std::string_view column) {
    std::string out = std::string(column) + " IN (";
    for (std::string_view name : enum_name_list<E>()) {
        out += (out.back() == '(' ? "'" : ", '") + std::string(name) + "'";
    }
    return out + ")";
}

// Stored in `_syncset.tables`, whose CHECK constraints list these names: a new or renamed value
// needs a migration that changes them (and this test pointed at it).
TEST(EnumNames, StateNamesAreTheOnesTheMetadataSchemaAccepts) {
    expect_round_trip<state::Phase>();
    expect_round_trip<state::Work>();
    std::ifstream in(SYNCSET_SOURCE_DIR "/src/state/sql/migration_0001.sql");
    ASSERT_TRUE(in) << "cannot read migration_0001.sql";
    std::ostringstream sql;
    sql << in.rdbuf();
    EXPECT_NE(sql.str().find(check_list<state::Phase>("phase")), std::string::npos)
        << check_list<state::Phase>("phase");
    EXPECT_NE(sql.str().find(check_list<state::Work>("pending")), std::string::npos)
        << check_list<state::Work>("pending");
    EXPECT_EQ(state::to_string(state::Phase::incremental), "incremental");
    EXPECT_EQ(state::phase_from_string("stopped"), state::Phase::stopped);
    EXPECT_EQ(state::to_string(state::Work::backfill), "backfill");
    EXPECT_EQ(state::work_from_string("resync"), state::Work::resync);
    EXPECT_EQ(state::work_from_string("Resync"), std::nullopt);
}

}  // namespace
}  // namespace syncset
