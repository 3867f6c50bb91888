// Small text helpers shared by modules that read numbers and arrays PostgreSQL returns as text.
// Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace syncset {

// The leading decimal integer of `text`; 0 when there is none (NULLs read as empty text).
std::int64_t parse_int64(std::string_view text) noexcept;

// The value of one hexadecimal digit, or -1 when `c` is not one.
int hex_digit(char c) noexcept;

// `{"a","b\"c"}`: a one-dimensional text[] literal holding `items`, every element quoted, for
// passing an array as one query parameter (`$1::text[]`). `{}` when empty.
std::string build_text_array(std::span<const std::string> items);

// The elements of a one-dimensional text[] in PostgreSQL's output form (`{a,"b c",""}`), or
// nullopt when `text` is not such an array: malformed, multidimensional, with explicit bounds,
// or holding a NULL element.
std::optional<std::vector<std::string>> parse_text_array(std::string_view text);

// A timestamp as PostgreSQL prints it under the pinned settings (DateStyle ISO):
// `2026-12-07`, `2026-12-07 20:44:04`, `2026-12-07 20:44:04.123456+00`, `...T...Z`, with an
// optional offset (`+05:30`). Without an offset it is read as UTC. Milliseconds since the Unix
// epoch, or nullopt for anything else (`infinity`, BC dates, malformed text).
std::optional<std::int64_t> parse_timestamp_ms(std::string_view text) noexcept;

}  // namespace syncset
