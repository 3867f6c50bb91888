#include <pqxx/except>
#include <pqxx/transaction>

#include <cstddef>

#include "syncset/catalog/read.hpp"
#include "syncset/db/errors.hpp"
#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"

namespace syncset::catalog {

namespace {

// A byte that may continue an identifier (PostgreSQL's ident_cont, with every non-ASCII byte).
bool is_ident_byte(char c) noexcept {
    const auto byte = static_cast<unsigned char>(c);
    return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
           (byte >= '0' && byte <= '9') || byte == '_' || byte == '$' || byte >= 0x80;
}

bool is_ident_start_byte(char c) noexcept {
    return is_ident_byte(c) && c != '$' && !(c >= '0' && c <= '9');
}

bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The dollar-quote delimiter (`$$`, `$tag$`) starting at `pos`, or empty when there is none.
std::string_view dollar_delimiter(std::string_view text, std::size_t pos) {
    std::size_t end = pos + 1;
    if (end < text.size() && is_ident_start_byte(text[end])) {
        while (end < text.size() && is_ident_byte(text[end]) && text[end] != '$') {
            ++end;
        }
    }
    if (end < text.size() && text[end] == '$') {
        return text.substr(pos, end + 1 - pos);
    }
    return {};
}

// The index just past the closing `quote` of a constant or identifier opened at `pos`, or npos.
// A doubled quote stands for itself; with `backslash_escapes` (E'...') a backslash escapes the
// next byte.
std::size_t skip_quoted(std::string_view text, std::size_t pos, char quote,
                        bool backslash_escapes) {
    for (std::size_t i = pos + 1; i < text.size(); ++i) {
        if (backslash_escapes && text[i] == '\\') {
            ++i;
        } else if (text[i] == quote) {
            if (i + 1 < text.size() && text[i + 1] == quote) {
                ++i;
            } else {
                return i + 1;
            }
        }
    }
    return std::string_view::npos;
}

// The index just past the `*/` closing the (nestable) comment opened at `pos`, or npos.
std::size_t skip_block_comment(std::string_view text, std::size_t pos) {
    int depth = 0;
    for (std::size_t i = pos; i + 1 < text.size(); ++i) {
        if (text[i] == '/' && text[i + 1] == '*') {
            ++depth;
            ++i;
        } else if (text[i] == '*' && text[i + 1] == '/') {
            ++i;
            if (--depth == 0) {
                return i + 1;
            }
        }
    }
    return std::string_view::npos;
}

// The first line of a server error, without its severity: `column "x" does not exist`.
std::string first_line(std::string_view message) {
    return db::clean_libpq_message(message.substr(0, message.find('\n')));
}

}  // namespace

std::optional<std::string> find_row_filter_shape_problem(std::string_view where) {
    if (where.find('\0') != std::string_view::npos) {
        return "row filter contains a NUL byte";
    }
    int depth = 0;
    bool blank = true;
    std::size_t i = 0;
    while (i < where.size()) {
        const char c = where[i];
        const char next = i + 1 < where.size() ? where[i + 1] : '\0';
        const bool after_ident = i > 0 && is_ident_byte(where[i - 1]);
        if (is_blank(c)) {
            ++i;
            continue;
        }
        if (c == '-' && next == '-') {
            const std::size_t end = where.find('\n', i);
            if (end == std::string_view::npos) {
                return "row filter ends inside a -- comment: end the comment with a newline or "
                       "use /* */";
            }
            i = end + 1;
            continue;
        }
        if (c == '/' && next == '*') {
            i = skip_block_comment(where, i);
            if (i == std::string_view::npos) {
                return "row filter has an unterminated /* comment";
            }
            continue;
        }
        blank = false;
        if (c == '\'') {
            // E'...' (an `E` that starts a token) takes backslash escapes.
            const bool escapes = i > 0 && (where[i - 1] == 'E' || where[i - 1] == 'e') &&
                                 (i == 1 || !is_ident_byte(where[i - 2]));
            i = skip_quoted(where, i, '\'', escapes);
            if (i == std::string_view::npos) {
                return "row filter has an unterminated string constant";
            }
        } else if (c == '"') {
            i = skip_quoted(where, i, '"', false);
            if (i == std::string_view::npos) {
                return "row filter has an unterminated quoted identifier";
            }
        } else if (c == '$' && !after_ident) {
            const std::string_view delimiter = dollar_delimiter(where, i);
            if (delimiter.empty()) {
                ++i;  // `$1` or a lone `$`: not a quote; the server judges it
                continue;
            }
            const std::size_t close = where.find(delimiter, i + delimiter.size());
            if (close == std::string_view::npos) {
                return "row filter has an unterminated dollar-quoted string " +
                       std::string(delimiter);
            }
            i = close + delimiter.size();
        } else if (c == ';') {
            return "row filter contains `;`: it must be one expression, not statements";
        } else if (c == '(') {
            ++depth;
            ++i;
        } else if (c == ')') {
            if (depth == 0) {
                return "row filter closes a parenthesis it never opened: it must be one "
                       "expression";
            }
            --depth;
            ++i;
        } else {
            ++i;
        }
    }
    if (blank) {
        return "row filter is empty";
    }
    if (depth > 0) {
        return "row filter leaves a parenthesis open";
    }
    return std::nullopt;
}

std::optional<std::string> check_row_filter(pqxx::connection& conn, const Table& table,
                                            std::string_view where) {
    if (auto problem = find_row_filter_shape_problem(where)) {
        return problem;
    }
    const std::string qualified = db::quote_qualified(table.schema, table.name);
    const std::string context = "check row filter of " + qualified;
    // EXPLAIN parses, analyses and plans the filter but runs nothing. exec_params() sends it
    // with PQexecParams (extended protocol), which refuses more than one statement.
    const std::string explain =
        "EXPLAIN SELECT 1 FROM " + qualified + " WHERE (" + std::string(where) + ")";
    try {
        pqxx::read_transaction tx(conn, "syncset check row filter");
        tx.exec0("SET LOCAL statement_timeout = '30s'; SET LOCAL lock_timeout = '10s'");
        tx.exec_params(explain);
        // No commit: the transaction is rolled back when `tx` goes out of scope.
        return std::nullopt;
    } catch (const pqxx::sql_error& error) {
        const Error translated = db::translate_pqxx_exception(error, context);
        const std::string& sqlstate = translated.sqlstate();
        // Timeouts and lost connections say nothing about the filter: the check failed.
        if (translated.code() == ErrorCode::connection || translated.retryable() ||
            sqlstate == "57014" || sqlstate == "55P03") {
            throw translated;
        }
        return first_line(error.what());
    } catch (const pqxx::pqxx_exception& error) {
        throw db::translate_pqxx_exception(error.base(), context);
    }
}

}  // namespace syncset::catalog
