#include "syncset/text.hpp"

#include <charconv>

namespace syncset {

std::int64_t parse_int64(std::string_view text) noexcept {
    std::int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

}  // namespace syncset
