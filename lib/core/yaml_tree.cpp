#include "core/yaml_tree.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

namespace flowdrift::yaml {
namespace {

// Aliases copy their anchor's subtree; this bounds the copies so a "billion laughs" document
// fails cleanly instead of exhausting memory.
constexpr std::size_t kMaxNodes = 200'000;

struct TooManyNodes : std::runtime_error {
  TooManyNodes() : std::runtime_error("too many nodes") {}
};

std::size_t count_nodes(const YamlNode& n) {
  std::size_t total = 1;
  for (const auto& item : n.items) total += count_nodes(item);
  for (const auto& [k, v] : n.entries) total += count_nodes(k) + count_nodes(v);
  return total;
}

class TreeBuilder final : public YAML::EventHandler {
 public:
  std::optional<YamlNode> root;
  bool saw_document = false;
  YAML::Mark document_mark;

  void OnDocumentStart(const YAML::Mark& mark) override {
    saw_document = true;
    document_mark = mark;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    complete(make(YamlNode::Kind::Null, mark), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw YAML::ParserException(mark, "unknown alias");
    }
    add_nodes(it->second.second);
    YamlNode copy = it->second.first;
    complete(std::move(copy), 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = make(YamlNode::Kind::Scalar, mark);
    node.value = value;
    node.plain = tag == "?";  // yaml-cpp's tag for an untagged plain scalar ("!": quoted)
    complete(std::move(node), anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open_.push_back(Frame{make(YamlNode::Kind::Sequence, mark), anchor, std::nullopt});
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open_.push_back(Frame{make(YamlNode::Kind::Map, mark), anchor, std::nullopt});
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    YamlNode node;
    YAML::anchor_t anchor;
    std::optional<YamlNode> pending_key;  // maps: a key waiting for its value
  };

  YamlNode make(YamlNode::Kind kind, const YAML::Mark& mark) {
    add_nodes(1);
    YamlNode n;
    n.kind = kind;
    n.line = mark.line + 1;  // yaml-cpp marks are 0-based
    n.column = mark.column + 1;
    return n;
  }

  void add_nodes(std::size_t n) {
    nodes_ += n;
    if (nodes_ > kMaxNodes) throw TooManyNodes();
  }

  void close() {
    Frame frame = std::move(open_.back());
    open_.pop_back();
    complete(std::move(frame.node), frame.anchor);
  }

  void complete(YamlNode node, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = {node, count_nodes(node)};
    if (open_.empty()) {
      root = std::move(node);
      return;
    }
    Frame& parent = open_.back();
    if (parent.node.kind == YamlNode::Kind::Sequence) {
      parent.node.items.push_back(std::move(node));
    } else if (!parent.pending_key) {
      parent.pending_key = std::move(node);
    } else {
      parent.node.entries.push_back(YamlEntry{std::move(*parent.pending_key), std::move(node)});
      parent.pending_key.reset();
    }
  }

  std::vector<Frame> open_;
  std::map<YAML::anchor_t, std::pair<YamlNode, std::size_t>> anchors_;
  std::size_t nodes_ = 0;
};

}  // namespace

YamlParse parse_yaml(const std::string& text) {
  YamlParse out;
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    TreeBuilder first;
    if (!parser.HandleNextDocument(first)) {
      // yaml-cpp reports the only document of a stream this way too when it is empty.
      out.root = std::move(first.root);
      return out;
    }
    out.root = std::move(first.root);
    TreeBuilder second;
    // A trailing "---" with nothing after it is harmless; a second document with content is not.
    if (parser.HandleNextDocument(second) && second.root &&
        second.root->kind != YamlNode::Kind::Null) {
      const auto& m = second.document_mark;
      out.error = YamlError{m.line + 1, m.column + 1,
                            "more than one YAML document; the configuration must be a single "
                            "document"};
    }
  } catch (const YAML::Exception& e) {
    // ParserException and DeepRecursion carry the position of the problem.
    // (A null mark is -1:-1; clamp so messages still read file:1:1.)
    out.error = YamlError{std::max(e.mark.line, 0) + 1, std::max(e.mark.column, 0) + 1, e.msg};
  } catch (const TooManyNodes&) {
    out.error = YamlError{1, 1,
                          "document too large (more than " + std::to_string(kMaxNodes) +
                              " nodes after alias expansion)"};
  }
  return out;
}

const char* kind_name(YamlNode::Kind kind) {
  switch (kind) {
    case YamlNode::Kind::Null:
      return "nothing";
    case YamlNode::Kind::Scalar:
      return "a scalar";
    case YamlNode::Kind::Sequence:
      return "a list";
    case YamlNode::Kind::Map:
      return "a mapping";
  }
  return "unknown";
}

}  // namespace flowdrift::yaml
