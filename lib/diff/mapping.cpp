#include "diff/mapping.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "policy/canonical_build.hpp"

namespace flowdrift::diff {
namespace {

using json_scan::JsonRef;
using policy::CanonicalObject;
using policy::ObjectKind;

struct ParsedCidr {
  std::uint32_t network = 0;
  int prefix = 0;
};

std::optional<ParsedCidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto address = policy::build::parse_ipv4(text.substr(0, slash));
  const auto digits = text.substr(slash + 1);
  if (!address || digits.empty() || digits.size() > 2) return std::nullopt;
  int prefix = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > 32) return std::nullopt;
  const auto cidr = policy::build::make_cidr(*address, prefix);
  if (cidr.network != *address) return std::nullopt;  // host bits set: say what you mean
  return ParsedCidr{cidr.network, prefix};
}

std::uint32_t mask(int prefix) {
  return prefix == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix);
}

// Which way a translation goes: the replica in the source's terms (the diff), or the source
// in the replica's (a remediation plan: what the replica should hold).
enum class Toward { Source, Replica };

std::uint32_t from_network(const SubnetRule& r, Toward toward) {
  return toward == Toward::Source ? r.replica_network : r.source_network;
}
std::uint32_t to_network(const SubnetRule& r, Toward toward) {
  return toward == Toward::Source ? r.source_network : r.replica_network;
}

// An address inside a mapped subnet of one side, moved to the same place in the other's.
std::uint32_t moved_address(std::uint32_t address, const std::vector<SubnetRule>& rules,
                            Toward toward, bool* moved) {
  for (const auto& r : rules) {
    if ((address & mask(r.prefix)) == from_network(r, toward)) {
      *moved = true;
      return to_network(r, toward) | (address & ~mask(r.prefix));
    }
  }
  return address;
}

// "a.b.c.d/n" (inside a mapped subnet, n >= its prefix) or "a.b.c.d-e.f.g.h".
std::string translate_address(const std::string& text, const std::vector<SubnetRule>& rules,
                              Toward toward) {
  if (const auto dash = text.find('-'); dash != std::string::npos) {
    const auto a = policy::build::parse_ipv4(std::string_view(text).substr(0, dash));
    const auto b = policy::build::parse_ipv4(std::string_view(text).substr(dash + 1));
    if (!a || !b) return text;
    bool moved_a = false, moved_b = false;
    const auto sa = moved_address(*a, rules, toward, &moved_a);
    const auto sb = moved_address(*b, rules, toward, &moved_b);
    if (!moved_a || !moved_b) return text;  // a range across a mapped boundary stays as it is
    return policy::build::ipv4_text(sa) + "-" + policy::build::ipv4_text(sb);
  }
  const auto cidr = parse_cidr(text);
  if (!cidr) return text;
  for (const auto& r : rules) {
    if (cidr->prefix >= r.prefix && (cidr->network & mask(r.prefix)) == from_network(r, toward)) {
      bool moved = false;
      return policy::build::make_cidr(moved_address(cidr->network, rules, toward, &moved),
                                      cidr->prefix)
          .text();
    }
  }
  return text;
}

std::string as_json(std::string_view s) { return policy::json_string(s); }

std::string joined_array(const std::vector<std::string>& texts) {
  std::string out = "[";
  for (const auto& t : texts) {
    if (out.size() > 1) out += ',';
    out += t;
  }
  return out + "]";
}

// An address list in canonical order, CIDRs by (network, prefix), then ranges by (start, end),
// duplicates dropped. Each entry: its string value ("" for another type) and its JSON text.
std::string sorted_addresses(std::vector<std::pair<std::string, std::string>> items) {
  using Key = std::tuple<int, std::uint32_t, std::uint32_t>;
  auto key = [](const std::string& text) -> Key {
    if (const auto dash = text.find('-'); dash != std::string::npos) {
      return {1, policy::build::parse_ipv4(std::string_view(text).substr(0, dash)).value_or(0),
              policy::build::parse_ipv4(std::string_view(text).substr(dash + 1)).value_or(0)};
    }
    const auto c = parse_cidr(text);
    return {0, c ? c->network : 0, c ? static_cast<std::uint32_t>(c->prefix) : 0};
  };
  std::stable_sort(items.begin(), items.end(),
                   [&](const auto& a, const auto& b) { return key(a.first) < key(b.first); });
  std::vector<std::string> texts;
  for (auto& [value, text] : items) {
    if (texts.empty() || texts.back() != text) texts.push_back(std::move(text));
  }
  return joined_array(texts);
}

// One side's canonical text in the other's terms: category values, subnets and address lists,
// at any depth.
struct Translator {
  std::map<std::string, std::string> categories;  // one side's key:value -> the other's
  const std::vector<SubnetRule>& subnets;
  Toward toward = Toward::Source;

  std::string category(const std::string& kv) const {
    auto it = categories.find(kv);
    return it == categories.end() ? kv : it->second;
  }

  std::string text(JsonRef value) const {
    return policy::rewritten(value, [this](std::string_view k, JsonRef v) { return member(k, v); });
  }

  std::optional<std::string> member(std::string_view key, JsonRef v) const {
    if (key == "categories" && v.is_array()) return categories_text(v);
    if (subnets.empty()) return std::nullopt;
    if (key == "subnet" && v.is_string()) {
      return as_json(translate_address(v.str(), subnets, toward));
    }
    if (key == "addresses" && v.is_array()) return addresses_text(v);
    return std::nullopt;
  }

  std::string categories_text(JsonRef list) const {
    std::set<std::string> out;
    for (const auto& c : list) out.insert(c.is_string() ? category(c.str()) : std::string(c.text()));
    return nlohmann::json(out).dump();
  }

  std::string addresses_text(JsonRef list) const {
    std::vector<std::pair<std::string, std::string>> items;
    for (const auto& a : list) {
      if (!a.is_string()) {
        items.emplace_back("", std::string(a.text()));
        continue;
      }
      std::string address = translate_address(a.str(), subnets, toward);
      std::string text = as_json(address);
      items.emplace_back(std::move(address), std::move(text));
    }
    return sorted_addresses(std::move(items));
  }

  // Rules and isolation groups are canonical sets sorted by their text: re-sorted after the
  // rewrite changed it.
  std::string sorted_set(JsonRef list) const {
    std::set<std::string> texts;
    for (const auto& e : list) texts.insert(text(e));
    return joined_array({texts.begin(), texts.end()});
  }

  // A policy translated, named `name` when a name rule maps it, its sets re-sorted.
  std::string policy_text(JsonRef policy, const std::string* name) const {
    if (!policy.is_object()) return text(policy);
    std::string out = "{";
    for (const auto& [k, v] : policy.members()) {
      if (out.size() > 1) out += ',';
      out.append(k.text()).append(":");
      const std::string key = k.str();
      if (name && key == "name") {
        out += as_json(*name);
      } else if ((key == "rules" || key == "isolation") && v.is_array()) {
        out += sorted_set(v);
      } else if (auto t = member(key, v)) {
        out += *t;
      } else {
        out += text(v);
      }
    }
    return out + "}";
  }
};

// Policy names a name rule maps, as {source name, replica name}: each source name through the
// first rule matching it.
std::vector<std::pair<std::string, std::string>> mapped_names(const policy::SnapshotView& source,
                                                               const PairMapping& mapping) {
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& [name, view] : source.policies()) {
    for (const auto& rule : mapping.names) {
      if (!std::regex_match(name, rule.re)) continue;
      names.emplace_back(name, std::regex_replace(name, rule.re, rule.replica));
      break;
    }
  }
  return names;
}

// One side's object in the other's terms; `names` maps its policy names to the other side's.
CanonicalObject translated(const policy::ObjectView& view, const Translator& t,
                           const std::map<std::string, std::string>& names) {
  const CanonicalObject& o = view.object();
  CanonicalObject c = o;
  if (!o.has_text && &view.json() != &o.json) {  // the text the view took from the other side
    c.json = view.json();
    c.has_text = true;
  }
  if (o.kind == ObjectKind::Category) {
    c.name = t.category(o.name);
    const auto colon = c.name.find(':');
    c.json = nlohmann::json{{"key", c.name.substr(0, colon)}, {"value", c.name.substr(colon + 1)}}.dump();
  } else if (const auto root = view.root()) {
    const std::string* name = nullptr;
    if (o.kind == ObjectKind::Policy) {
      if (auto it = names.find(o.name); it != names.end()) name = &it->second;
    }
    if (name) c.name = *name;
    c.json = o.kind == ObjectKind::Policy ? t.policy_text(*root, name) : t.text(*root);
  }
  c.hash = c.json == view.json() ? o.hash : sha256_hex(c.json);
  return c;
}

}  // namespace

Result<PairMapping> make_mapping(const std::map<std::string, std::string>& categories,
                                 const std::vector<std::pair<std::string, std::string>>& names,
                                 const std::vector<std::pair<std::string, std::string>>& subnets) {
  PairMapping m;
  auto is_kv = [](const std::string& s) {
    const auto colon = s.find(':');
    return colon != std::string::npos && colon > 0 && colon + 1 < s.size();
  };
  std::set<std::string> replica_values;
  for (const auto& [src, rep] : categories) {
    if (!is_kv(src) || !is_kv(rep)) {
      return make_error(ErrorReason::Other, "categories[" + src + "]: both sides must be key:value");
    }
    if (!replica_values.insert(rep).second) {
      return make_error(ErrorReason::Other, "categories[" + src + "]: " + rep +
                                                " is already the replica side of another mapping");
    }
    m.categories.emplace(src, rep);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    NameRule r{names[i].first, names[i].second, {}};
    try {
      r.re = std::regex(r.match, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return make_error(ErrorReason::Other, "names[" + std::to_string(i) + "].match: " + r.match +
                                                ": not a valid regular expression (" + e.what() + ")");
    }
    m.names.push_back(std::move(r));
  }
  for (std::size_t i = 0; i < subnets.size(); ++i) {
    const std::string where = "subnets[" + std::to_string(i) + "]";
    const auto s = parse_cidr(subnets[i].first);
    const auto r = parse_cidr(subnets[i].second);
    if (!s || !r) {
      return make_error(ErrorReason::Other, where + ": " + (s ? subnets[i].second : subnets[i].first) +
                                                " is not an IPv4 network a.b.c.d/n without host bits");
    }
    if (s->prefix != r->prefix) {
      return make_error(ErrorReason::Other, where + ": prefix lengths differ (/" +
                                                std::to_string(s->prefix) + " and /" +
                                                std::to_string(r->prefix) + ")");
    }
    m.subnets.push_back({s->network, r->network, s->prefix,
                         subnets[i].first + " -> " + subnets[i].second});
  }
  return m;
}

namespace {

// `from`'s snapshot with every object translated by `t` and its policies renamed by `names`.
policy::Snapshot translate(const policy::SnapshotView& from, const Translator& t,
                           const std::map<std::string, std::string>& names) {
  policy::Snapshot out;
  out.canon_version = from.snapshot().canon_version;
  out.findings = from.snapshot().findings;
  for (auto& f : out.findings) {
    if (auto it = names.find(f.object); it != names.end()) f.object = it->second;
  }
  std::set<std::pair<ObjectKind, std::string>> seen;
  auto add = [&](const policy::ObjectView& view) {
    CanonicalObject c = translated(view, t, names);
    if (seen.insert({c.kind, c.name}).second) out.objects.push_back(std::move(c));
  };
  // In the snapshot's order: when two names map onto one, the first is kept.
  for (const auto& [name, view] : from.policies()) add(view);
  for (const auto& [key, view] : from.referenced()) add(view);
  std::sort(out.objects.begin(), out.objects.end(),
            [](const CanonicalObject& a, const CanonicalObject& b) {
              return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
            });
  std::sort(out.findings.begin(), out.findings.end());
  out.hash = policy::snapshot_hash(out.objects, out.canon_version);
  return out;
}

}  // namespace

policy::Snapshot translate_replica(const policy::SnapshotView& replica,
                                   const policy::SnapshotView& source, const PairMapping& mapping) {
  if (mapping.empty()) return replica.snapshot();
  Translator t{{}, mapping.subnets, Toward::Source};
  for (const auto& [src, rep] : mapping.categories) t.categories.emplace(rep, src);
  std::map<std::string, std::string> names;  // replica name -> source name
  for (const auto& [src, rep] : mapped_names(source, mapping)) names.emplace(rep, src);
  return translate(replica, t, names);
}

policy::Snapshot translate_source(const policy::SnapshotView& source, const PairMapping& mapping) {
  if (mapping.empty()) return source.snapshot();
  Translator t{mapping.categories, mapping.subnets, Toward::Replica};
  std::map<std::string, std::string> names;  // source name -> replica name
  for (const auto& [src, rep] : mapped_names(source, mapping)) names.emplace(src, rep);
  return translate(source, t, names);
}

std::map<std::string, std::string> replica_policy_names(const policy::SnapshotView& source,
                                                        const PairMapping& mapping) {
  std::map<std::string, std::string> names;
  for (const auto& [src, rep] : mapped_names(source, mapping)) names.emplace(rep, src);
  return names;
}

policy::Snapshot translate_replica(const policy::Snapshot& replica,
                                   const policy::Snapshot& source, const PairMapping& mapping) {
  return translate_replica(policy::SnapshotView(replica), policy::SnapshotView(source), mapping);
}

}  // namespace flowdrift::diff
