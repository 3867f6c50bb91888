#include "state/sql_text.hpp"

#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"

namespace syncset::state {

namespace {

constexpr std::string_view k_schema_variable = "schema";

bool is_ident_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool is_ident_char(char c) noexcept {
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

// End (one past) of the quoted text starting at `begin` (the opening `quote`), where a doubled
// quote stands for one and, when `backslash_escapes`, a backslash escapes the next character.
// sql.size() when unterminated.
std::size_t end_of_quoted(std::string_view sql, std::size_t begin, char quote,
                          bool backslash_escapes) noexcept {
    std::size_t i = begin + 1;
    while (i < sql.size()) {
        if (backslash_escapes && sql[i] == '\\') {
            i += 2;
        } else if (sql[i] == quote) {
            if (i + 1 < sql.size() && sql[i + 1] == quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            ++i;
        }
    }
    return sql.size();
}

// End (one past) of the nested `/* ... */` comment starting at `begin`.
std::size_t end_of_block_comment(std::string_view sql, std::size_t begin) noexcept {
    int depth = 0;
    std::size_t i = begin;
    while (i < sql.size()) {
        if (sql.compare(i, 2, "/*") == 0) {
            ++depth;
            i += 2;
        } else if (sql.compare(i, 2, "*/") == 0) {
            i += 2;
            if (--depth == 0) {
                return i;
            }
        } else {
            ++i;
        }
    }
    return sql.size();
}

// The dollar-quote tag (`$$`, `$body$`) starting at `begin`, or empty when there is none.
std::string_view dollar_tag_at(std::string_view sql, std::size_t begin) noexcept {
    std::size_t i = begin + 1;
    if (i < sql.size() && sql[i] != '$') {
        if (!is_ident_start(sql[i])) {
            return {};
        }
        while (i < sql.size() && sql[i] != '$' && is_ident_char(sql[i])) {
            ++i;
        }
    }
    if (i >= sql.size() || sql[i] != '$') {
        return {};
    }
    return sql.substr(begin, i + 1 - begin);
}

// The psql variable name of `:"name"` / `:'name'` starting at `begin` (the colon), or nullopt
// when the text there is no variable reference.
std::optional<std::string_view> variable_at(std::string_view sql, std::size_t begin) noexcept {
    if (begin + 1 >= sql.size() || (sql[begin + 1] != '"' && sql[begin + 1] != '\'')) {
        return std::nullopt;
    }
    const char quote = sql[begin + 1];
    std::size_t i = begin + 2;
    while (i < sql.size() && (is_ident_char(sql[i]) && sql[i] != '$')) {
        ++i;
    }
    if (i == begin + 2 || i >= sql.size() || sql[i] != quote) {
        return std::nullopt;
    }
    return sql.substr(begin + 2, i - begin - 2);
}

}  // namespace

std::string expand_schema(std::string_view sql, std::string_view schema) {
    const std::string identifier = db::quote_ident(schema);
    const std::string literal = db::quote_literal(schema);
    std::string out;
    out.reserve(sql.size() + 4 * identifier.size());
    std::size_t i = 0;
    while (i < sql.size()) {
        const char c = sql[i];
        const bool after_ident = i > 0 && is_ident_char(sql[i - 1]);
        std::size_t end = i + 1;
        if (sql.compare(i, 2, "--") == 0) {
            const std::size_t newline = sql.find('\n', i);
            end = newline == std::string_view::npos ? sql.size() : newline + 1;
        } else if (sql.compare(i, 2, "/*") == 0) {
            end = end_of_block_comment(sql, i);
        } else if (c == '\'') {
            // E'...' strings take backslash escapes; standard_conforming_strings is pinned on.
            const bool escapes = i > 0 && (sql[i - 1] == 'e' || sql[i - 1] == 'E') &&
                                 (i < 2 || !is_ident_char(sql[i - 2]));
            end = end_of_quoted(sql, i, '\'', escapes);
        } else if (c == '"') {
            end = end_of_quoted(sql, i, '"', false);
        } else if (c == '$' && !after_ident) {
            const std::string_view tag = dollar_tag_at(sql, i);
            if (!tag.empty()) {
                const std::size_t close = sql.find(tag, i + tag.size());
                end = close == std::string_view::npos ? sql.size() : close + tag.size();
            }
        } else if (sql.compare(i, 2, "::") == 0) {
            end = i + 2;
        } else if (c == ':') {
            if (const auto name = variable_at(sql, i)) {
                if (*name != k_schema_variable) {
                    throw Error(ErrorCode::internal,
                                "metadata sql: unknown variable :" + std::string(1, sql[i + 1]) +
                                    std::string(*name) + std::string(1, sql[i + 1]) +
                                    " (only :\"schema\" and :'schema' are defined)");
                }
                out += sql[i + 1] == '"' ? identifier : literal;
                i += name->size() + 3;
                continue;
            }
        }
        out.append(sql.substr(i, end - i));
        i = end;
    }
    return out;
}

std::string build_int_array(std::span<const int> items) {
    std::string out = "{";
    for (std::size_t n = 0; n < items.size(); ++n) {
        if (n > 0) {
            out += ',';
        }
        out += std::to_string(items[n]);
    }
    out += '}';
    return out;
}

}  // namespace syncset::state
