// Minimal JSON text helpers for log lines and `--json` outputs. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace syncset {

// Appends `value` as JSON string contents (no surrounding quotes), escaping `"`, `\` and
// control characters. UTF-8 passes through unchanged.
void append_json_escaped(std::string& out, std::string_view value);

// `"value"` with escapes.
std::string json_quote(std::string_view value);

// Writes one compact JSON document (no spaces, no newline): the commas between members and
// elements and the escaping of strings are its business, the order of keys is the caller's.
// Every value call fills the slot after a key(), an array element, or the top-level document.
// Calls that would make invalid JSON (a key outside an object, a value where a key is due,
// unbalanced ends) are programmer errors, checked by assert.
class JsonWriter {
  public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view name);

    JsonWriter& value(std::string_view text);
    JsonWriter& value(const char* text) { return value(std::string_view(text)); }
    JsonWriter& value(bool flag);
    template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) JsonWriter& value(T number) {
        return raw(std::to_string(number));
    }
    // `number` with exactly `decimals` digits after the point (printf "%.*f"); null when it is
    // not finite, which JSON cannot spell.
    JsonWriter& fixed(double number, int decimals);
    JsonWriter& null();

    // A string, or null when `text` is empty (a field that was never set).
    JsonWriter& value_or_null(std::string_view text);
    // A number, or null when absent.
    JsonWriter& value_or_null(const std::optional<std::int64_t>& number);

    // The document so far; complete once every container is closed.
    const std::string& str() const noexcept { return m_out; }

  private:
    // Appends pre-formatted JSON as the next value.
    JsonWriter& raw(std::string_view json);
    // Writes the comma the next value or key needs.
    void separate();

    std::string m_out;
    // One entry per open container: true for an object, false for an array.
    std::vector<bool> m_in_object;
    bool m_empty = true;  // the innermost open container has no member yet
    bool m_after_key = false;
};

}  // namespace syncset
