// Builds config::Node from yaml-cpp's event stream. Events rather than YAML::Node because the
// node API silently keeps the first of two duplicate keys and forgets whether `yes` was quoted.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <sstream>

#include "syncset/config/node.hpp"

namespace syncset::config {

const Node* Node::find(std::string_view key) const noexcept {
    for (const auto& [k, v] : entries) {
        if (k.is_scalar() && k.scalar == key) {
            return &v;
        }
    }
    return nullptr;
}

std::string_view describe_kind(const Node& node) noexcept {
    switch (node.kind) {
        case Node::Kind::null:
            return "null";
        case Node::Kind::scalar:
            return "a scalar";
        case Node::Kind::sequence:
            return "a list";
        case Node::Kind::mapping:
            return "a mapping";
    }
    return "a value";
}

namespace {

Position to_position(const YAML::Mark& mark) {
    // yaml-cpp marks are 0-based; users and editors count from 1.
    return Position{mark.line + 1, mark.column + 1};
}

class TreeBuilder final : public YAML::EventHandler {
  public:
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        Node node;
        node.position = to_position(mark);
        add(std::move(node), anchor);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        auto it = m_anchors.find(anchor);
        Node node = it != m_anchors.end() ? it->second : Node{};
        node.position = to_position(mark);
        add(std::move(node), 0);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        Node node;
        node.kind = Node::Kind::scalar;
        node.position = to_position(mark);
        node.scalar = value;
        // yaml-cpp tags plain scalars "?" and quoted or block scalars "!".
        node.quoted = tag != "?";
        add(std::move(node), anchor);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(Node::Kind::sequence, mark, anchor);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(Node::Kind::mapping, mark, anchor);
    }
    void OnMapEnd() override { close(); }

    Node take_root() { return std::move(m_root); }

  private:
    struct Frame {
        Node node;
        YAML::anchor_t anchor = 0;
        bool have_key = false;
        Node pending_key;
    };

    void open(Node::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
        Frame frame;
        frame.node.kind = kind;
        frame.node.position = to_position(mark);
        frame.anchor = anchor;
        m_stack.push_back(std::move(frame));
    }

    void close() {
        Frame frame = std::move(m_stack.back());
        m_stack.pop_back();
        add(std::move(frame.node), frame.anchor);
    }

    void add(Node node, YAML::anchor_t anchor) {
        if (anchor != 0) {
            m_anchors[anchor] = node;
        }
        if (m_stack.empty()) {
            m_root = std::move(node);
            return;
        }
        Frame& parent = m_stack.back();
        if (parent.node.kind == Node::Kind::sequence) {
            parent.node.items.push_back(std::move(node));
        } else if (!parent.have_key) {
            parent.pending_key = std::move(node);
            parent.have_key = true;
        } else {
            parent.node.entries.push_back({std::move(parent.pending_key), std::move(node)});
            parent.have_key = false;
        }
    }

    std::vector<Frame> m_stack;
    std::map<YAML::anchor_t, Node> m_anchors;
    Node m_root;
};

}  // namespace

ParseResult parse_yaml(std::string_view text) {
    ParseResult result;
    std::istringstream input{std::string(text)};
    try {
        YAML::Parser parser(input);
        TreeBuilder builder;
        if (parser.HandleNextDocument(builder)) {
            result.root = builder.take_root();
            result.root.position.line = std::max(result.root.position.line, 1);
            result.root.position.column = std::max(result.root.position.column, 1);
            TreeBuilder extra;
            if (parser.HandleNextDocument(extra)) {
                result.problems.push_back(
                    {Position{1, 1}, "the file holds more than one YAML document; keep one"});
            }
        } else {
            result.root.position = Position{1, 1};
        }
    } catch (const YAML::ParserException& e) {
        result.problems.push_back({to_position(e.mark), "yaml syntax error: " + e.msg});
    }
    return result;
}

}  // namespace syncset::config
