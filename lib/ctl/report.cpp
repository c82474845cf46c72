#include "ctl/report.hpp"

#include <algorithm>
#include <sstream>

namespace flowdrift::ctl {
namespace {

nlohmann::json side(const LoadedSite& s) {
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : s.snapshot.findings) {
    findings.push_back({{"kind", f.kind}, {"object", f.object}, {"detail", f.detail}});
  }
  nlohmann::json out{{"file", s.file},
                     {"input", s.kind},
                     {"api", s.api},
                     {"policies", s.snapshot.count(policy::ObjectKind::Policy)},
                     {"snapshot_hash", s.snapshot.hash},
                     {"findings", findings}};
  // The lists a v4 policies file was resolved against, when given alongside it.
  if (s.references.any()) {
    nlohmann::json refs = nlohmann::json::object();
    if (!s.references.categories.empty()) refs["categories"] = s.references.categories;
    if (!s.references.address_groups.empty()) refs["address_groups"] = s.references.address_groups;
    if (!s.references.service_groups.empty()) refs["service_groups"] = s.references.service_groups;
    out["references"] = std::move(refs);
  }
  return out;
}

std::string status_word(const diff::PairResult& r) {
  return r.status == diff::PairStatus::InSync ? "in_sync" : "drifted";
}

}  // namespace

nlohmann::json diff_json(const LoadedSite& source, const LoadedSite& replica,
                         const diff::PairResult& result) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& it : result.items) {
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& f : it.fields) {
      fields.push_back({{"path", f.path}, {"source", f.source}, {"replica", f.replica}});
    }
    items.push_back({{"policy", it.object},
                     {"kind", std::string(diff::to_string(it.kind))},
                     {"severity", std::string(diff::to_string(it.severity))},
                     {"direction", std::string(diff::to_string(it.direction))},
                     {"summary", it.summary},
                     {"fields", fields}});
  }
  return {{"schema", kDiffSchema},
          {"status", status_word(result)},
          {"source", side(source)},
          {"replica", side(replica)},
          {"items", items}};
}

std::string diff_text(const LoadedSite& source, const LoadedSite& replica,
                      const diff::PairResult& result) {
  std::ostringstream out;
  const auto ns = source.snapshot.count(policy::ObjectKind::Policy);
  const auto nr = replica.snapshot.count(policy::ObjectKind::Policy);
  if (result.items.empty()) {
    out << "IN SYNC: " << source.file << " (" << ns << " policies) and " << replica.file << " ("
        << nr << " policies)\n";
  } else {
    out << "DRIFTED: " << result.items.size() << " item(s) between " << source.file
        << " (source, " << ns << " policies) and " << replica.file << " (replica, " << nr
        << " policies)\n";
  }
  std::size_t wpol = 6;
  for (const auto& it : result.items) wpol = std::max(wpol, it.object.size());
  for (const auto& it : result.items) {
    std::string sev(diff::to_string(it.severity));
    std::string kind(diff::to_string(it.kind));
    out << sev << std::string(10 - std::min<std::size_t>(sev.size(), 9), ' ') << kind
        << std::string(18 - std::min<std::size_t>(kind.size(), 17), ' ') << it.object
        << std::string(wpol + 2 - it.object.size(), ' ') << it.summary << "\n";
    for (const auto& f : it.fields) {
      out << "    " << f.path << ": " << (f.source.empty() ? "(absent)" : f.source) << " -> "
          << (f.replica.empty() ? "(absent)" : f.replica) << "\n";
    }
  }
  for (const auto* s : {&source, &replica}) {
    for (const auto& f : s->snapshot.findings) {
      out << "finding in " << s->file << ": " << f.kind << " " << f.object << ": " << f.detail
          << "\n";
    }
  }
  return out.str();
}

}  // namespace flowdrift::ctl
