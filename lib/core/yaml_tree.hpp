// A YAML document as a plain tree that keeps every node's position and every mapping entry in
// order, duplicates included, so a validator can report file:line:col for anything (the daemon
// config in lib/config, the web config in lib/http). Built from yaml-cpp's event parser, which
// stays private to core; never throws yaml-cpp exceptions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flowdrift::yaml {

struct YamlEntry;

struct YamlNode {
  enum class Kind { Null, Scalar, Sequence, Map };
  Kind kind = Kind::Null;
  int line = 0;                     // 1-based
  int column = 0;                   // 1-based
  std::string value;                // Scalar only
  bool plain = true;                // Scalar only: unquoted (so it may be a number, bool or null)
  std::vector<YamlNode> items;      // Sequence only
  std::vector<YamlEntry> entries;   // Map only, document order
};

// One map entry. A struct rather than std::pair<YamlNode, YamlNode>: a pair of a type still
// incomplete inside YamlNode is accepted by g++ but not by clang (the fuzz build).
struct YamlEntry {
  YamlNode first;   // the key
  YamlNode second;  // the value
};

struct YamlError {
  int line = 0;  // 1-based
  int column = 0;
  std::string message;
};

struct YamlParse {
  // The first document's root; nullopt when the text holds no document (empty or only comments).
  std::optional<YamlNode> root;
  std::optional<YamlError> error;
};

// Parses exactly one document. A syntax error, a second document or an oversized alias expansion
// is reported in `error`.
YamlParse parse_yaml(const std::string& text);

const char* kind_name(YamlNode::Kind kind);

}  // namespace flowdrift::yaml
