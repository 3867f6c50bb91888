// Small text helpers shared by modules that read numbers PostgreSQL returns as text. Pure.
#pragma once

#include <cstdint>
#include <string_view>

namespace syncset {

// The leading decimal integer of `text`; 0 when there is none (NULLs read as empty text).
std::int64_t parse_int64(std::string_view text) noexcept;

// The value of one hexadecimal digit, or -1 when `c` is not one.
int hex_digit(char c) noexcept;

}  // namespace syncset
