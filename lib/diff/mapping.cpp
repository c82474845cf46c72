#include "diff/mapping.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "policy/canonical_build.hpp"

namespace flowdrift::diff {
namespace {

using nlohmann::json;
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

// A replica address inside a mapped replica subnet, moved to the same place in the source's.
std::uint32_t to_source(std::uint32_t address, const std::vector<SubnetRule>& rules,
                        bool* moved) {
  for (const auto& r : rules) {
    if ((address & mask(r.prefix)) == r.replica_network) {
      *moved = true;
      return r.source_network | (address & ~mask(r.prefix));
    }
  }
  return address;
}

// "a.b.c.d/n" (inside a mapped subnet, n >= its prefix) or "a.b.c.d-e.f.g.h".
std::string translate_address(const std::string& text, const std::vector<SubnetRule>& rules) {
  if (const auto dash = text.find('-'); dash != std::string::npos) {
    const auto a = policy::build::parse_ipv4(std::string_view(text).substr(0, dash));
    const auto b = policy::build::parse_ipv4(std::string_view(text).substr(dash + 1));
    if (!a || !b) return text;
    bool moved_a = false, moved_b = false;
    const auto sa = to_source(*a, rules, &moved_a);
    const auto sb = to_source(*b, rules, &moved_b);
    if (!moved_a || !moved_b) return text;  // a range across a mapped boundary stays as it is
    return policy::build::ipv4_text(sa) + "-" + policy::build::ipv4_text(sb);
  }
  const auto cidr = parse_cidr(text);
  if (!cidr) return text;
  for (const auto& r : rules) {
    if (cidr->prefix >= r.prefix && (cidr->network & mask(r.prefix)) == r.replica_network) {
      bool moved = false;
      return policy::build::make_cidr(to_source(cidr->network, rules, &moved), cidr->prefix).text();
    }
  }
  return text;
}

// Canonical order of an address list: CIDRs by (network, prefix), then ranges by (start, end).
void sort_addresses(json& list) {
  using Key = std::tuple<int, std::uint32_t, std::uint32_t>;
  auto key = [](const json& v) -> Key {
    const auto text = v.is_string() ? v.get<std::string>() : std::string();
    if (const auto dash = text.find('-'); dash != std::string::npos) {
      return {1, policy::build::parse_ipv4(std::string_view(text).substr(0, dash)).value_or(0),
              policy::build::parse_ipv4(std::string_view(text).substr(dash + 1)).value_or(0)};
    }
    const auto c = parse_cidr(text);
    return {0, c ? c->network : 0, c ? static_cast<std::uint32_t>(c->prefix) : 0};
  };
  std::vector<json> items(list.begin(), list.end());
  std::stable_sort(items.begin(), items.end(),
                   [&](const json& a, const json& b) { return key(a) < key(b); });
  items.erase(std::unique(items.begin(), items.end()), items.end());
  list = json(items);
}

struct Translator {
  std::map<std::string, std::string> categories;  // replica key:value -> source key:value
  const std::vector<SubnetRule>& subnets;

  std::string category(const std::string& kv) const {
    auto it = categories.find(kv);
    return it == categories.end() ? kv : it->second;
  }

  void walk(json& j) const {
    if (j.is_object()) {
      for (auto& [k, v] : j.items()) {
        if (k == "categories" && v.is_array()) {
          std::set<std::string> out;
          for (const auto& c : v) out.insert(c.is_string() ? category(c.get<std::string>()) : c.dump());
          v = json(out);
        } else if (k == "subnet" && v.is_string() && !subnets.empty()) {
          v = translate_address(v.get<std::string>(), subnets);
        } else if (k == "addresses" && v.is_array() && !subnets.empty()) {
          for (auto& a : v) {
            if (a.is_string()) a = translate_address(a.get<std::string>(), subnets);
          }
          sort_addresses(v);
        } else {
          walk(v);
        }
      }
    } else if (j.is_array()) {
      for (auto& e : j) walk(e);
    }
  }
};

// Rules (rules, isolation groups) are canonical sets sorted by their text: re-sort after a
// rewrite changed the text.
void resort_sets(json& policy) {
  for (const char* key : {"rules", "isolation"}) {
    auto it = policy.find(key);
    if (it == policy.end() || !it->is_array()) continue;
    std::vector<std::pair<std::string, json>> items;
    for (auto& e : *it) items.emplace_back(e.dump(), std::move(e));
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    items.erase(std::unique(items.begin(), items.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                items.end());
    json out = json::array();
    for (auto& [text, e] : items) out.push_back(std::move(e));
    *it = std::move(out);
  }
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

policy::Snapshot translate_replica(const policy::Snapshot& replica,
                                   const policy::Snapshot& source, const PairMapping& mapping) {
  if (mapping.empty()) return replica;
  Translator t{{}, mapping.subnets};
  for (const auto& [src, rep] : mapping.categories) t.categories.emplace(rep, src);

  // Replica name -> source name, from the source's names through the first matching rule.
  std::map<std::string, std::string> names;
  for (const auto& o : source.objects) {
    if (o.kind != ObjectKind::Policy) continue;
    for (const auto& rule : mapping.names) {
      if (!std::regex_match(o.name, rule.re)) continue;
      names.emplace(std::regex_replace(o.name, rule.re, rule.replica), o.name);
      break;
    }
  }

  policy::Snapshot out;
  out.canon_version = replica.canon_version;
  out.findings = replica.findings;
  for (auto& f : out.findings) {
    if (auto it = names.find(f.object); it != names.end()) f.object = it->second;
  }
  std::set<std::pair<ObjectKind, std::string>> seen;
  for (const auto& o : replica.objects) {
    CanonicalObject c = o;
    if (o.kind == ObjectKind::Category) {
      c.name = t.category(o.name);
      const auto colon = c.name.find(':');
      c.json = json{{"key", c.name.substr(0, colon)}, {"value", c.name.substr(colon + 1)}}.dump();
    } else {
      json j = json::parse(o.json, nullptr, false);
      if (!j.is_discarded()) {
        if (o.kind == ObjectKind::Policy) {
          if (auto it = names.find(o.name); it != names.end()) {
            c.name = it->second;
            if (j.contains("name")) j["name"] = it->second;
          }
        }
        t.walk(j);
        if (o.kind == ObjectKind::Policy) resort_sets(j);
        c.json = j.dump();
      }
    }
    if (!seen.insert({c.kind, c.name}).second) continue;  // two names mapped onto one
    c.hash = c.json == o.json ? o.hash : sha256_hex(c.json);
    out.objects.push_back(std::move(c));
  }
  std::sort(out.objects.begin(), out.objects.end(),
            [](const CanonicalObject& a, const CanonicalObject& b) {
              return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
            });
  std::sort(out.findings.begin(), out.findings.end());
  out.hash = policy::snapshot_hash(out.objects, out.canon_version);
  return out;
}

}  // namespace flowdrift::diff
