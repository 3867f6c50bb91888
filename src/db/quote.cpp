#include "syncset/db/quote.hpp"

#include "syncset/error.hpp"

namespace syncset::db {

namespace {

// Wraps `text` in `quote`, doubling every embedded `quote`.
std::string quote_with(std::string_view text, char quote) {
    std::string quoted;
    quoted.reserve(text.size() + 2);
    quoted.push_back(quote);
    for (const char c : text) {
        if (c == quote) {
            quoted.push_back(quote);
        }
        quoted.push_back(c);
    }
    quoted.push_back(quote);
    return quoted;
}

}  // namespace

std::string quote_ident(std::string_view name) {
    if (name.empty()) {
        throw Error(ErrorCode::config, "cannot quote an empty identifier");
    }
    if (name.find('\0') != std::string_view::npos) {
        throw Error(ErrorCode::config, "cannot quote an identifier containing a NUL byte");
    }
    return quote_with(name, '"');
}

std::string quote_qualified(std::string_view schema, std::string_view name) {
    return quote_ident(schema) + "." + quote_ident(name);
}

std::string quote_literal(std::string_view value) {
    if (value.find('\0') != std::string_view::npos) {
        throw Error(ErrorCode::config, "cannot quote a literal containing a NUL byte", false,
                    "PostgreSQL text values cannot hold NUL (\\0) characters");
    }
    return quote_with(value, '\'');
}

}  // namespace syncset::db
