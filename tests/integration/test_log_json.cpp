// `log.format: json` promises one JSON object per stderr line, at every level. Server notices
// once bypassed the logger (src/db/connection.cpp) and came out as plain text at debug level,
// on every batch (the stage table's CREATE TEMP TABLE IF NOT EXISTS).
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli_runner.hpp"
#include "pg_fixture.hpp"

namespace syncset::test {
namespace {

// A strict RFC 8259 reader for one line that must hold exactly one JSON object: no trailing
// text, no raw control characters in strings, valid escapes and UTF-8, no repeated keys in an
// object. Returns an empty string when the line is valid, else what is wrong and where.
class JsonLine {
  public:
    static std::string check(std::string_view text) {
        JsonLine reader(text);
        try {
            reader.skip_space();
            if (reader.peek() != '{') {
                reader.fail("expected an object");
            }
            reader.value();
            reader.skip_space();
            if (reader.m_pos != text.size()) {
                reader.fail("text after the object");
            }
        } catch (const std::string& error) {
            return error;
        }
        return {};
    }

  private:
    explicit JsonLine(std::string_view text) : m_text(text) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw what + " at byte " + std::to_string(m_pos);
    }
    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
    bool at_end() const { return m_pos >= m_text.size(); }
    void expect(char c) {
        if (peek() != c || at_end()) {
            fail(std::string("expected '") + c + "'");
        }
        ++m_pos;
    }
    void skip_space() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
            ++m_pos;
        }
    }
    void literal(std::string_view word) {
        if (m_text.substr(m_pos, word.size()) != word) {
            fail("bad literal");
        }
        m_pos += word.size();
    }

    void value() {
        skip_space();
        switch (peek()) {
            case '{':
                object();
                break;
            case '[':
                array();
                break;
            case '"':
                string();
                break;
            case 't':
                literal("true");
                break;
            case 'f':
                literal("false");
                break;
            case 'n':
                literal("null");
                break;
            default:
                number();
        }
        skip_space();
    }

    void object() {
        expect('{');
        skip_space();
        std::set<std::string> keys;
        if (peek() == '}') {
            ++m_pos;
            return;
        }
        while (true) {
            skip_space();
            std::size_t start = m_pos;
            std::string key = string();
            if (!keys.insert(key).second) {
                m_pos = start;
                fail("repeated key " + key);
            }
            skip_space();
            expect(':');
            value();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            expect('}');
            return;
        }
    }

    void array() {
        expect('[');
        skip_space();
        if (peek() == ']') {
            ++m_pos;
            return;
        }
        while (true) {
            value();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            expect(']');
            return;
        }
    }

    // The raw bytes between the quotes, escapes left as written (enough to compare keys).
    std::string string() {
        expect('"');
        std::size_t start = m_pos;
        while (true) {
            if (at_end()) {
                fail("unterminated string");
            }
            auto c = static_cast<unsigned char>(m_text[m_pos]);
            if (c == '"') {
                break;
            }
            if (c < 0x20) {
                fail("raw control character in a string");
            }
            if (c == '\\') {
                ++m_pos;
                char e = peek();
                if (e == 'u') {
                    std::string_view hex = m_text.substr(m_pos + 1, 4);
                    if (hex.size() != 4 ||
                        hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
                        fail("bad \\u escape");
                    }
                    m_pos += 5;
                } else if (std::string_view("\"\\/bfnrt").find(e) != std::string_view::npos &&
                           !at_end()) {
                    ++m_pos;
                } else {
                    fail("bad escape");
                }
                continue;
            }
            if (c >= 0x80) {
                utf8_sequence();
                continue;
            }
            ++m_pos;
        }
        std::string raw(m_text.substr(start, m_pos - start));
        ++m_pos;
        return raw;
    }

    void utf8_sequence() {
        auto c = static_cast<unsigned char>(m_text[m_pos]);
        std::size_t length = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (length == 0 || c > 0xF4 || m_pos + length > m_text.size()) {
            fail("invalid UTF-8");
        }
        for (std::size_t i = 1; i < length; ++i) {
            if ((static_cast<unsigned char>(m_text[m_pos + i]) & 0xC0) != 0x80) {
                fail("invalid UTF-8");
            }
        }
        m_pos += length;
    }

    void number() {
        auto digits = [&] {
            std::size_t start = m_pos;
            while (peek() >= '0' && peek() <= '9') {
                ++m_pos;
            }
            if (m_pos == start) {
                fail("expected a value");
            }
        };
        if (peek() == '-') {
            ++m_pos;
        }
        if (peek() == '0') {
            ++m_pos;
        } else {
            digits();
        }
        if (peek() == '.') {
            ++m_pos;
            digits();
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_pos;
            if (peek() == '+' || peek() == '-') {
                ++m_pos;
            }
            digits();
        }
    }

    std::string_view m_text;
    std::size_t m_pos = 0;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

// The guard below is only as good as this reader: it must refuse what is not JSON.
TEST(LogJsonReader, AcceptsObjectsAndRefusesEverythingElse) {
    EXPECT_EQ(JsonLine::check(R"({"ts":"x","level":"debug","n":-1.5e3,"a":[true,null,{}]})"), "");
    EXPECT_EQ(JsonLine::check(R"({"msg":"caf\u00e9 \"q\" é"})"), "");
    EXPECT_NE(JsonLine::check("2024-01-01T00:00:00.000Z debug postgres NOTICE role=replica"), "");
    EXPECT_NE(JsonLine::check(R"({"a":1} x)"), "");
    EXPECT_NE(JsonLine::check(R"({"a":1,})"), "");
    EXPECT_NE(JsonLine::check("{\"a\":\"tab\there\"}"), "");
    EXPECT_NE(JsonLine::check(R"({"a":"\x"})"), "");
    EXPECT_NE(JsonLine::check(R"({"a":01})"), "");
    EXPECT_NE(JsonLine::check(R"({"level":"info","level":"warn"})"), "");
    EXPECT_NE(JsonLine::check("{\"a\":\"\xC3\"}"), "");
    EXPECT_NE(JsonLine::check(R"(["not an object"])"), "");
    EXPECT_NE(JsonLine::check(""), "");
}

class LogJson : public PgPairTest {
  protected:
    static std::string yaml_quote(const std::string& text) {
        std::string out = "'";
        for (char c : text) {
            out += c;
            if (c == '\'') {
                out += '\'';
            }
        }
        return out + "'";
    }
};

TEST_F(LogJson, EveryStderrLineOfARunAtTraceIsAJsonObjectServerNoticesIncluded) {
    exec_source(
        "CREATE TABLE public.t (id int PRIMARY KEY, v text);"
        "INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, 5) g");
    // One-row batches and chunks: the stage table is created again for each, and every time
    // after the first the server answers with a NOTICE ("already exists, skipping").
    const std::string yaml = "source:\n  dsn: " + yaml_quote(source_dsn()) +
                             "\nreplicas:\n  - name: r\n    dsn: " + yaml_quote(replica_dsn()) +
                             "\n    tables:\n      - source: public.t\n"
                             "        batch_rows: 1\n        snapshot_chunk_rows: 1\n"
                             "log: {format: json, level: trace}\n";
    CliResult r = run_syncset({"run", "--once"}, yaml);
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(query_replica_rows("SELECT count(*)::text FROM public.t"), (Rows{{"5"}}));

    const std::vector<std::string> lines = lines_of(r.err);
    ASSERT_FALSE(lines.empty());
    int notices = 0;
    for (const std::string& line : lines) {
        EXPECT_EQ(JsonLine::check(line), "") << line;
        if (line.find(R"("msg":"server notice")") != std::string::npos) {
            ++notices;
        }
    }
    EXPECT_GE(notices, 1) << "no server notice was logged; stderr:\n" << r.err;
}

}  // namespace
}  // namespace syncset::test
