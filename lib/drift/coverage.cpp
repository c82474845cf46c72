#include "drift/coverage.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "policy/view.hpp"

namespace flowdrift::drift {
namespace {

using Set = std::set<std::string>;

// A policy's secured group: the categories a VM must carry (all of them, or any).
struct Selector {
  std::string policy;
  Set categories;
  bool match_all = true;
  bool selects(const Set& carried) const {
    if (categories.empty()) return false;
    if (match_all) {
      return std::includes(carried.begin(), carried.end(), categories.begin(), categories.end());
    }
    return std::any_of(categories.begin(), categories.end(),
                       [&](const std::string& c) { return carried.count(c) != 0; });
  }
};

// Every policy of the snapshot that secures VMs by category (application policies; isolation
// and quarantine policies select otherwise and are not judged here).
std::vector<Selector> selectors(const policy::Snapshot& snap) {
  std::vector<Selector> out;
  for (const auto& o : snap.objects) {
    if (o.kind != policy::ObjectKind::Policy) continue;
    const auto doc = nlohmann::json::parse(o.json, nullptr, false);
    if (!doc.is_object() || !doc.contains("secured_group") || !doc["secured_group"].is_object()) {
      continue;
    }
    const auto& group = doc["secured_group"];
    Selector s{o.name, {}, group.value("match", "all") != "any"};
    for (const auto& c : group.value("categories", nlohmann::json::array())) {
      if (c.is_string()) s.categories.insert(c.get<std::string>());
    }
    if (!s.categories.empty()) out.push_back(std::move(s));
  }
  return out;
}

Set category_names(const policy::Snapshot& snap) {
  Set out;
  for (const auto& o : snap.objects) {
    if (o.kind == policy::ObjectKind::Category) out.insert(o.name);
  }
  return out;
}

bool protects(const ProtectionRecord& p, const VmRecord& vm, const Set& carried) {
  if (std::find(p.vm_ids.begin(), p.vm_ids.end(), vm.id) != p.vm_ids.end()) return true;
  if (p.categories.empty()) return false;
  Selector s{"", Set(p.categories.begin(), p.categories.end()), p.match_all};
  return s.selects(carried);
}

const ProtectionRecord* protection_of(const std::vector<ProtectionRecord>& all, const VmRecord& vm,
                                      const Set& carried) {
  for (const auto& p : all) {
    if (protects(p, vm, carried)) return &p;
  }
  return nullptr;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

// What the pair knows of the two sites, prepared once.
struct Sites {
  std::vector<Selector> source;
  std::vector<Selector> replica;                   // in the replica's spelling
  Set replica_categories;                          // the replica's category values
  std::map<std::string, std::string> source_name;  // replica policy name -> source name
  std::map<std::string, std::string> spelled;      // source category -> replica spelling

  explicit Sites(const CoverageInput& in)
      : source(selectors(*in.source)),
        replica(selectors(*in.replica)),
        replica_categories(category_names(*in.replica)) {
    if (!in.mapping) return;
    if (!in.flipped) {
      source_name = diff::replica_policy_names(policy::SnapshotView(*in.source), *in.mapping);
      spelled = in.mapping->categories;
      return;
    }
    // Declared from the configured source (the replica now): turned round.
    for (const auto& [serving, other] :
         diff::replica_policy_names(policy::SnapshotView(*in.replica), *in.mapping)) {
      source_name[other] = serving;
    }
    for (const auto& [configured, mapped] : in.mapping->categories) spelled[mapped] = configured;
  }
  std::string on_replica(const std::string& category) const {
    auto it = spelled.find(category);
    return it == spelled.end() ? category : it->second;
  }
  std::string source_name_of(const std::string& replica_policy) const {
    auto it = source_name.find(replica_policy);
    return it == source_name.end() ? replica_policy : it->second;
  }
};

std::optional<CoverageGap> judge(const Sites& sites, const VmRecord& vm, const Set& carried,
                                 const ProtectionRecord& by) {
  CoverageGap gap;
  gap.vm_id = vm.id;
  gap.vm = vm.name;
  gap.protected_by = by.kind + " " + by.name;
  Set missing;
  for (const auto& s : sites.source) {
    if (!s.selects(carried)) continue;
    gap.selected_now.push_back(s.policy);
    for (const auto& c : s.categories) {
      if (!sites.replica_categories.count(sites.on_replica(c))) missing.insert(sites.on_replica(c));
    }
  }
  if (gap.selected_now.empty()) return std::nullopt;  // nothing protects it today
  // Recovered there, it carries the categories it has that exist there, as they are spelled.
  Set landed;
  for (const auto& c : carried) {
    if (sites.replica_categories.count(c)) landed.insert(c);
  }
  for (const auto& s : sites.replica) {
    if (s.selects(landed)) gap.selected_after.push_back(sites.source_name_of(s.policy));
  }
  std::sort(gap.selected_after.begin(), gap.selected_after.end());
  if (gap.selected_after == gap.selected_now) return std::nullopt;
  gap.missing_categories.assign(missing.begin(), missing.end());
  gap.kind = gap.selected_after.empty() ? CoverageGap::Kind::Unprotected
                                        : CoverageGap::Kind::ProtectedDifferently;
  gap.detail = "selected by " + joined(gap.selected_now) + " now, by " +
               joined(gap.selected_after) + " after failover";
  if (!missing.empty()) gap.detail += "; missing on the replica: " + joined(gap.missing_categories);
  return gap;
}

}  // namespace

std::string_view to_string(CoverageGap::Kind kind) {
  return kind == CoverageGap::Kind::Unprotected ? "unprotected" : "protected_differently";
}

CoverageData protected_only(const CoverageData& all) {
  CoverageData out;
  for (const auto& vm : all.vms) {
    const Set carried(vm.categories.begin(), vm.categories.end());
    if (!protection_of(all.protections, vm, carried)) continue;
    VmRecord kept{vm.id, vm.name, {carried.begin(), carried.end()}};
    out.vms.push_back(std::move(kept));
  }
  std::sort(out.vms.begin(), out.vms.end(),
            [](const VmRecord& a, const VmRecord& b) { return a.id < b.id; });
  out.protections = all.protections;
  for (auto& p : out.protections) {
    std::sort(p.categories.begin(), p.categories.end());
    std::sort(p.vm_ids.begin(), p.vm_ids.end());
  }
  std::sort(out.protections.begin(), out.protections.end(),
            [](const ProtectionRecord& a, const ProtectionRecord& b) {
              return std::tie(a.kind, a.name, a.categories, a.match_all, a.vm_ids) <
                     std::tie(b.kind, b.name, b.categories, b.match_all, b.vm_ids);
            });
  return out;
}

std::vector<CoverageGap> check_coverage(const CoverageInput& in) {
  std::vector<CoverageGap> out;
  // Nothing protected, nothing to judge: the two sites' policies are not read at all (this
  // runs after every comparison, and most sites protect nothing).
  if (in.vms->empty()) return out;
  const Sites sites(in);
  for (const auto& vm : *in.vms) {
    const Set carried(vm.categories.begin(), vm.categories.end());
    const auto* by = protection_of(*in.protections, vm, carried);
    if (!by) continue;  // not sent to the replica
    if (auto gap = judge(sites, vm, carried, *by)) out.push_back(std::move(*gap));
  }
  std::sort(out.begin(), out.end(),
            [](const CoverageGap& a, const CoverageGap& b) { return a.vm < b.vm; });
  return out;
}

}  // namespace flowdrift::drift
