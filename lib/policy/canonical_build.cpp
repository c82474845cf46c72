#include "policy/canonical_build.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "core/json_text.hpp"
#include "core/sha256.hpp"

// Output forms are specified in docs/canonical-model.md; every function here must produce
// exactly the bytes described there (v3 and v4 sites are compared by hash).

namespace flowdrift::policy::build {

std::string pointer_child(const std::string& base, std::string_view key) {
  std::string out = base + "/";
  for (char c : key) {  // "~" and "/" are escaped
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string pointer_child(const std::string& base, std::size_t index) {
  return base + "/" + std::to_string(index);
}

using nlohmann::json;

std::string Cidr::text() const { return ipv4_text(network) + "/" + std::to_string(prefix); }

Cidr make_cidr(std::uint32_t address, int prefix) {
  // Shifting a 32-bit value by 32 is undefined, hence the special case.
  const std::uint32_t mask = prefix <= 0 ? 0U : (~std::uint32_t{0} << (32 - prefix));
  return Cidr{address & mask, prefix};
}

std::optional<std::string> ipv6_masked(const std::string& text, int prefix) {
  in6_addr a{};
  if (prefix < 0 || prefix > 128 || inet_pton(AF_INET6, text.c_str(), &a) != 1) return std::nullopt;
  for (int byte = 0; byte < 16; ++byte) {
    const int keep = std::clamp(prefix - byte * 8, 0, 8);
    a.s6_addr[byte] &= static_cast<unsigned char>(0xff00U >> keep);
  }
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, &a, out, sizeof out) == nullptr) return std::nullopt;
  return std::string(out) + "/" + std::to_string(prefix);
}

std::optional<std::string> ipv6_text(const std::string& text) {
  auto masked = ipv6_masked(text, 128);
  if (!masked) return std::nullopt;
  return masked->substr(0, masked->rfind('/'));
}

namespace {

void append_strings(std::string& out, const std::set<std::string>& items) {
  out += '[';
  for (auto it = items.begin(); it != items.end(); ++it) {
    if (it != items.begin()) out += ',';
    json_text::append_string(out, *it);
  }
  out += ']';
}

std::string ports_service_text(const PortRanges& ranges, std::string_view protocol) {
  std::string out = R"({"ports":[)";
  if (ranges.empty()) out += "[0,65535]";
  for (auto it = ranges.begin(); it != ranges.end(); ++it) {
    if (it != ranges.begin()) out += ',';
    out += '[';
    json_text::append_int(out, it->first);
    out += ',';
    json_text::append_int(out, it->second);
    out += ']';
  }
  out += R"(],"protocol":)";
  json_text::append_string(out, protocol);
  out += '}';
  return out;
}

}  // namespace

std::string tcp_service_text(const PortRanges& ranges) { return ports_service_text(ranges, "tcp"); }
std::string udp_service_text(const PortRanges& ranges) { return ports_service_text(ranges, "udp"); }

std::string icmp_service_text(const IcmpSet& items, std::string_view protocol) {
  std::string out = R"({"icmp":[)";
  if (items.empty()) out += "{}";
  for (auto it = items.begin(); it != items.end(); ++it) {
    const auto [type, code] = *it;
    if (it != items.begin()) out += ',';
    out += '{';
    if (code >= 0) {
      out += R"("code":)";
      json_text::append_int(out, code);
    }
    if (type >= 0) {
      out += code >= 0 ? R"(,"type":)" : R"("type":)";
      json_text::append_int(out, type);
    }
    out += '}';
  }
  out += R"(],"protocol":)";
  json_text::append_string(out, protocol);
  out += '}';
  return out;
}

std::string all_service_text() { return R"({"all":true})"; }
std::string any_peer_text() { return R"({"any":true})"; }

std::string named_text(std::string_view key, std::string_view value) {
  std::string out = "{";
  json_text::append_string(out, key);
  out += ':';
  json_text::append_string(out, value);
  out += '}';
  return out;
}

std::string_view effective_match(const std::set<std::string>& categories, std::string_view match) {
  // One key when every category has the first one's (no set of keys built).
  std::string_view first_key;
  for (const std::string& c : categories) {
    const std::string_view key = std::string_view(c).substr(0, c.find(':'));
    if (&c == &*categories.begin()) {
      first_key = key;
    } else if (key != first_key) {
      return match;
    }
  }
  return "all";
}

json group_json(const std::set<std::string>& categories, const std::set<std::string>& kinds,
                std::string_view match) {
  return json{{"categories", categories}, {"kinds", kinds},
              {"match", effective_match(categories, match)}};
}

std::string category_peer_text(const std::set<std::string>& categories, std::string_view match,
                               std::string_view kind) {
  std::string out = R"({"categories":)";
  append_strings(out, categories);
  if (!kind.empty()) {
    out += R"(,"kinds":[)";
    json_text::append_string(out, kind);
    out += ']';
  }
  out += R"(,"match":)";
  json_text::append_string(out, effective_match(categories, match));
  out += '}';
  return out;
}

void add_rule(RuleSet& rules, std::string_view direction, const std::string& peer_text,
              const std::string& service_text, const std::string& description) {
  // Keys in byte order, as dump() would write them; built as text so that large policies do
  // not materialize one json object per rule.
  std::string text;
  text.reserve(48 + description.size() + peer_text.size() + service_text.size());
  text += R"({"description":)";
  json_text::append_string(text, description);
  text += R"(,"direction":)";
  json_text::append_string(text, direction);
  text += R"(,"peer":)";
  text += peer_text;
  text += R"(,"service":)";
  text += service_text;
  text += '}';
  rules.insert(std::move(text));
}

std::string dump_with_rules(json policy, const RuleSet& rules) {
  // An empty array placeholder: in dump() output `"rules":[]` can only be this key, because
  // quotes inside string values are escaped and no other member is named "rules".
  policy["rules"] = json::array();
  const std::string text = policy.dump();
  static constexpr std::string_view kPlaceholder = R"("rules":[])";
  const std::size_t at = text.find(kPlaceholder);
  std::size_t size = text.size() + rules.size();
  for (const auto& rule : rules) size += rule.size();
  std::string out;
  out.reserve(size);
  out.append(text, 0, at);
  out += R"("rules":[)";
  for (auto it = rules.begin(); it != rules.end(); ++it) {
    if (it != rules.begin()) out += ',';
    out += *it;
  }
  out += ']';
  out.append(text, at + kPlaceholder.size());
  return out;
}

std::vector<std::string> unique_names(const std::vector<std::pair<std::string, std::string>>& items,
                                      bool merge_identical, std::string_view what,
                                      std::vector<Finding>& findings) {
  std::vector<std::string> result(items.size());
  std::set<std::string> taken;
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < items.size(); ++i) {
    taken.insert(items[i].first);
    groups[items[i].first].push_back(i);
  }
  for (auto& [name, members] : groups) {
    if (members.size() == 1) {
      result[members.front()] = name;
      continue;
    }
    // Hash order, not input order: the result must not depend on the order the PC listed them.
    std::stable_sort(members.begin(), members.end(), [&items](std::size_t a, std::size_t b) {
      return items[a].second < items[b].second;
    });
    const std::string count = std::to_string(members.size());
    int suffix = 2;
    bool any_renamed = false;
    for (std::size_t k = 0; k < members.size(); ++k) {
      const std::string& hash = items[members[k]].second;
      if (k == 0) {
        result[members[k]] = name;
        continue;
      }
      if (merge_identical && hash == items[members[k - 1]].second) {
        result[members[k]] = result[members[k - 1]];
        continue;
      }
      std::string renamed = name + " (duplicate " + std::to_string(suffix++) + ")";
      while (taken.count(renamed) != 0) {
        renamed = name + " (duplicate " + std::to_string(suffix++) + ")";
      }
      taken.insert(renamed);
      result[members[k]] = renamed;
      any_renamed = true;
      findings.push_back({"duplicate_name", name,
                          std::string(what) + " name used " + count + " times; content " +
                              hash.substr(0, 12) + " renamed to '" + renamed + "'"});
    }
    if (!any_renamed) {
      findings.push_back(
          {"duplicate_name", name,
           std::string(what) + " name used " + count + " times with identical content"});
    }
  }
  return result;
}

GroupIndex index_groups(std::vector<BuiltGroup> groups, ObjectKind kind,
                        std::vector<Finding>& findings) {
  std::vector<std::pair<std::string, std::string>> keys;
  keys.reserve(groups.size());
  for (const auto& g : groups) keys.emplace_back(g.name, g.hash);
  const std::vector<std::string> names = unique_names(keys, true, to_string(kind), findings);
  GroupIndex index;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    index.names_by_id.emplace(groups[i].id, names[i]);
    CanonicalObject o;
    o.kind = kind;
    o.name = names[i];
    o.json = std::move(groups[i].json);
    o.hash = std::move(groups[i].hash);
    index.by_name.emplace(names[i], std::move(o));
    for (const Finding& f : groups[i].findings) findings.push_back({f.kind, names[i], f.detail});
    if (!groups[i].categories.empty()) {
      index.categories_by_name[names[i]].insert(groups[i].categories.begin(),
                                                groups[i].categories.end());
    }
  }
  return index;
}

std::string resolve_reference(const std::map<std::string, std::string>& names_by_id,
                              const std::string& id, std::string_view kind,
                              NameSet& referenced, std::vector<Finding>& findings) {
  const auto it = names_by_id.find(id);
  if (it == names_by_id.end()) {
    findings.push_back(
        {"dangling_reference", "", std::string(kind) + " uuid " + id + " not found on site"});
    return "dangling:" + id;
  }
  referenced.insert(it->second);
  return it->second;
}

namespace {

// Names referenced by many policies, collected by address: every name in a NameSet is the one
// interned copy, so thousands of references to a few names cost a pointer lookup each, not a
// string comparison. `sorted()` also merges equal names held twice (it costs nothing).
class NameRefs {
 public:
  void add(const NameSet& names) {
    for (const std::string& name : names) seen_.insert(&name);
  }
  std::vector<const std::string*> sorted() const {
    std::vector<const std::string*> refs(seen_.begin(), seen_.end());
    std::sort(refs.begin(), refs.end(),
              [](const std::string* a, const std::string* b) { return *a < *b; });
    refs.erase(std::unique(refs.begin(), refs.end(),
                           [](const std::string* a, const std::string* b) { return *a == *b; }),
               refs.end());
    return refs;
  }

 private:
  std::unordered_set<const std::string*> seen_;
};

// Whether a category a policy names is defined on the site, asked once per distinct name.
class CategoryCheck {
 public:
  explicit CategoryCheck(const std::set<std::string>& site) : site_(site) {}
  bool defined(const std::string& category) {
    auto [it, added] = known_.try_emplace(&category, false);
    if (added) it->second = site_.count(category) != 0;
    return it->second;
  }

 private:
  const std::set<std::string>& site_;
  std::unordered_map<const std::string*, bool> known_;
};

// Sorted without duplicates, each finding moved once: sorting pointers moves 8 bytes where
// sorting the findings moves three strings (a v3 file without its group lists has tens of
// thousands of dangling references).
std::vector<Finding> sorted_unique(std::vector<Finding> findings) {
  std::vector<Finding*> order;
  order.reserve(findings.size());
  for (Finding& f : findings) order.push_back(&f);
  std::sort(order.begin(), order.end(), [](const Finding* a, const Finding* b) { return *a < *b; });
  std::vector<Finding> out;
  out.reserve(order.size());
  for (Finding* f : order) {
    if (out.empty() || out.back() != *f) out.push_back(std::move(*f));
  }
  return out;
}

// `policy(i)` is the i-th policy, BuiltPolicy& (its texts are moved into the snapshot) or
// const BuiltPolicy& (copied: it stays in a per-site cache for the next poll).
template <class Policy>
Snapshot assemble(std::size_t count, Policy policy, SiteObjects site,
                  std::vector<Finding> findings) {
  const std::set<std::string>& site_categories = site.categories;
  std::vector<std::pair<std::string, std::string>> keys;
  keys.reserve(count);
  for (std::size_t i = 0; i < count; ++i) keys.emplace_back(policy(i).name, policy(i).hash);
  const std::vector<std::string> names = unique_names(keys, false, "policy", findings);

  std::size_t more = 0;
  for (std::size_t i = 0; i < count; ++i) more += policy(i).findings.size();
  findings.reserve(findings.size() + more);
  Snapshot snap;
  snap.objects.reserve(count);
  NameRefs ags, sgs, egs, categories;
  CategoryCheck check(site_categories);
  for (std::size_t i = 0; i < count; ++i) {
    auto&& p = policy(i);
    for (const Finding& f : p.findings) {
      findings.push_back({f.kind, names[i], f.detail});
    }
    for (const std::string& c : p.categories) {
      if (!check.defined(c)) {
        findings.push_back(
            {"dangling_reference", names[i], "category " + c + " not defined on site"});
      }
    }
    categories.add(p.categories);
    ags.add(p.address_groups);
    sgs.add(p.service_groups);
    egs.add(p.entity_groups);
    CanonicalObject o;
    o.kind = ObjectKind::Policy;
    o.name = names[i];
    o.json = std::move(p.json);
    o.hash = std::move(p.hash);
    o.policy_type = std::move(p.type);
    o.mode = std::move(p.mode);
    o.has_text = p.has_text;
    snap.objects.push_back(std::move(o));
  }
  std::set<std::string> used_categories;
  for (const std::string* c : categories.sorted()) {
    if (check.defined(*c)) used_categories.insert(*c);
  }
  for (const std::string* name : ags.sorted()) {
    snap.objects.push_back(std::move(site.address_groups.by_name.at(*name)));
  }
  for (const std::string* name : sgs.sorted()) {
    snap.objects.push_back(std::move(site.service_groups.by_name.at(*name)));
  }
  for (const std::string* name : egs.sorted()) {
    // An entity group's categories are used too; the group reports its own missing ones.
    const auto it = site.entity_groups.categories_by_name.find(*name);
    if (it != site.entity_groups.categories_by_name.end()) {
      for (const std::string& c : it->second) {
        if (site_categories.count(c) != 0) used_categories.insert(c);
      }
    }
    snap.objects.push_back(std::move(site.entity_groups.by_name.at(*name)));
  }
  // Every value of a referenced key, used or not: the diff must know whether a value a policy
  // uses on one site exists on the other (a renamed or deleted value is reference drift).
  std::set<std::string> used_keys;
  for (const std::string& c : used_categories) used_keys.insert(c.substr(0, c.find(':')));
  for (const std::string& c : site_categories) {
    if (used_keys.count(c.substr(0, c.find(':'))) == 0) continue;
    const std::size_t colon = c.find(':');
    CanonicalObject o;
    o.kind = ObjectKind::Category;
    o.name = c;
    o.json = json{{"key", c.substr(0, colon)}, {"value", c.substr(colon + 1)}}.dump();
    o.hash = sha256_hex(o.json);
    snap.objects.push_back(std::move(o));
  }
  std::sort(snap.objects.begin(), snap.objects.end(),
            [](const CanonicalObject& a, const CanonicalObject& b) {
              return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
            });
  snap.findings = sorted_unique(std::move(findings));
  snap.canon_version = kCanonVersion;
  snap.hash = snapshot_hash(snap.objects, snap.canon_version);
  return snap;
}

}  // namespace

// Field by field, so that the text is never copied. A field added to BuiltPolicy must be
// copied here too: its size then differs from this sum, and the build stops here.
static_assert(sizeof(BuiltPolicy) == 5 * sizeof(std::string) + 4 * sizeof(NameSet) +
                                         sizeof(std::vector<Finding>) + alignof(BuiltPolicy),
              "BuiltPolicy changed: copy the new field in without_text()");
BuiltPolicy without_text(const BuiltPolicy& policy) {
  BuiltPolicy out;
  out.name = policy.name;
  out.type = policy.type;
  out.mode = policy.mode;
  out.hash = policy.hash;
  out.address_groups = policy.address_groups;
  out.service_groups = policy.service_groups;
  out.entity_groups = policy.entity_groups;
  out.categories = policy.categories;
  out.findings = policy.findings;
  out.has_text = false;
  return out;
}

void drop_text(BuiltPolicy& policy) {
  std::string().swap(policy.json);
  policy.has_text = false;
}

Snapshot assemble_snapshot(std::vector<BuiltPolicy> policies, SiteObjects site,
                           std::vector<Finding> findings) {
  return assemble(
      policies.size(), [&](std::size_t i) -> BuiltPolicy& { return policies[i]; },
      std::move(site), std::move(findings));
}

Snapshot assemble_snapshot(const std::vector<std::shared_ptr<const BuiltPolicy>>& policies,
                           SiteObjects site, std::vector<Finding> findings) {
  return assemble(
      policies.size(), [&](std::size_t i) -> const BuiltPolicy& { return *policies[i]; },
      std::move(site), std::move(findings));
}

}  // namespace flowdrift::policy::build
