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
                     {"input", std::string(to_string(s.kind))},
                     {"api", std::string(config::to_string(s.api))},
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
  return unexpected_items(r) == 0 ? "in_sync" : "drifted";
}

bool is_example(const diff::FieldDiff& f) { return f.path.rfind("flows[", 0) == 0; }

// The compact JSON string of an example flow as its text.
std::string unquote(const std::string& compact) {
  auto j = nlohmann::json::parse(compact, nullptr, false);
  return j.is_string() ? j.get<std::string>() : compact;
}

}  // namespace

std::size_t unexpected_items(const diff::PairResult& result) {
  std::size_t n = 0;
  for (const auto& it : result.items) n += !it.expected;
  return n;
}

nlohmann::json diff_json(const LoadedSite& source, const LoadedSite& replica,
                         const diff::PairResult& result, const DiffPair* pair) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& it : result.items) {
    // Example flows stay in `fields` (as always) and are also given by direction.
    nlohmann::json fields = nlohmann::json::array();
    nlohmann::json examples = nlohmann::json::object();
    for (const auto& f : it.fields) {
      fields.push_back({{"path", f.path}, {"source", f.source}, {"replica", f.replica}});
      if (f.path == "flows[replica only]") examples["replica_only"] = unquote(f.replica);
      if (f.path == "flows[source only]") examples["source_only"] = unquote(f.source);
    }
    nlohmann::json expected = nullptr;
    if (it.expected) {
      expected = {{"selector", it.expected->selector}, {"owner", it.expected->owner},
                  {"reason", it.expected->reason}, {"expires", it.expected->expires}};
    }
    items.push_back({{"policy", it.object},
                     {"kind", std::string(diff::to_string(it.kind))},
                     {"severity", std::string(diff::to_string(it.severity))},
                     {"direction", std::string(diff::to_string(it.direction))},
                     {"summary", it.summary},
                     {"fields", fields},
                     {"example_flows", examples},
                     {"expected", expected}});
  }
  nlohmann::json out{{"schema", kDiffSchema},
                     {"status", status_word(result)},
                     {"source", side(source)},
                     {"replica", side(replica)},
                     {"items", items}};
  if (pair) {
    out["pair"] = {{"name", pair->name},
                   {"config", pair->config},
                   {"mappings", pair->mappings},
                   {"expectations", pair->expectations}};
  }
  return out;
}

void diff_text(std::ostream& out, const LoadedSite& source, const LoadedSite& replica,
               const diff::PairResult& result, const DiffPair* pair) {
  const auto ns = source.snapshot.count(policy::ObjectKind::Policy);
  const auto nr = replica.snapshot.count(policy::ObjectKind::Policy);
  const auto unexpected = unexpected_items(result);
  const auto expected = result.items.size() - unexpected;
  if (unexpected == 0) {
    out << "IN SYNC: " << source.file << " (" << ns << " policies) and " << replica.file << " ("
        << nr << " policies)";
    if (expected != 0) out << ", " << expected << " expected difference(s)";
    out << "\n";
  } else {
    out << "DRIFTED: " << unexpected << " item(s) between " << source.file << " (source, " << ns
        << " policies) and " << replica.file << " (replica, " << nr << " policies)";
    if (expected != 0) out << ", and " << expected << " expected";
    out << "\n";
  }
  if (pair) {
    out << "pair " << pair->name << " of " << pair->config << ": "
        << (pair->mappings ? "mappings applied" : "no mappings") << ", "
        << pair->expectations << " expected difference(s) declared\n";
  }
  auto column = [&](const std::string& s, std::size_t w) {
    out << s << std::string(w > s.size() ? w - s.size() : 1, ' ');
  };
  std::size_t wpol = 6;
  for (const auto& it : result.items) wpol = std::max(wpol, it.object.size());
  for (const auto& it : result.items) {
    column(std::string(diff::to_string(it.severity)), 10);
    column(std::string(diff::to_string(it.kind)), 20);
    column(std::string(diff::to_string(it.direction)), 18);
    column(it.object, wpol + 2);
    out << (it.expected ? "(expected) " : "") << it.summary << "\n";
    for (const auto& f : it.fields) {
      if (is_example(f)) continue;
      out << "    " << f.path << ": " << (f.source.empty() ? "(absent)" : f.source) << " -> "
          << (f.replica.empty() ? "(absent)" : f.replica) << "\n";
    }
    for (const auto& f : it.fields) {
      if (f.path == "flows[replica only]") {
        out << "    example flow only the replica allows: " << unquote(f.replica) << "\n";
      } else if (f.path == "flows[source only]") {
        out << "    example flow only the source allows: " << unquote(f.source) << "\n";
      }
    }
    if (it.expected) {
      out << "    expected by " << it.expected->selector << ": " << it.expected->owner << " until "
          << it.expected->expires << ": " << it.expected->reason << "\n";
    }
  }
  for (const auto* s : {&source, &replica}) {
    for (const auto& f : s->snapshot.findings) {
      out << "finding in " << s->file << ": " << f.kind << " " << f.object << ": " << f.detail
          << "\n";
    }
  }
}

}  // namespace flowdrift::ctl
