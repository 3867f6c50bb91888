// A YAML document as a plain tree that keeps what validation needs and yaml-cpp's own node
// loses or hides: 1-based positions of every key and value, duplicate keys, and whether a
// scalar was quoted. Built by `parse_yaml` (the only code that includes yaml-cpp); everything
// that validates it is pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syncset::config {

struct Position {
    int line = 0;    // 1-based
    int column = 0;  // 1-based
};

struct MappingEntry;

struct Node {
    enum class Kind { null, scalar, sequence, mapping };

    Kind kind = Kind::null;
    Position position;
    std::string scalar;       // Kind::scalar only
    bool quoted = false;      // scalar was written in quotes: never a number, bool or null
    std::vector<Node> items;  // Kind::sequence
    std::vector<MappingEntry> entries;  // Kind::mapping, in file order, duplicates kept

    bool is_null() const noexcept { return kind == Kind::null; }
    bool is_scalar() const noexcept { return kind == Kind::scalar; }
    bool is_sequence() const noexcept { return kind == Kind::sequence; }
    bool is_mapping() const noexcept { return kind == Kind::mapping; }

    // First value whose key is `key`, or nullptr (mapping only).
    const Node* find(std::string_view key) const noexcept;
};

// One `key: value` of a mapping. A struct of its own, not std::pair<Node, Node>: a vector of an
// incomplete type is allowed inside Node, a pair of one is not.
struct MappingEntry {
    Node key;
    Node value;
};

// Human name of a node's kind for messages: "a mapping", "a list", "a string", "null".
std::string_view describe_kind(const Node& node) noexcept;

struct ParseProblem {
    Position position;
    std::string message;
};

// Either a document or the syntax error that stopped the parse.
struct ParseResult {
    Node root;
    std::vector<ParseProblem> problems;
};

// Parses YAML text (no I/O). An empty document gives a null root.
ParseResult parse_yaml(std::string_view text);

}  // namespace syncset::config
