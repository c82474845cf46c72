// The text of the daemon's documents: tables for people, read from the JSON document only, so
// that `--db` and `--server` print the same.
#include <iomanip>
#include <sstream>

#include "core/printable.hpp"
#include "ctl/output.hpp"
#include "report/documents.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;
using report::short_time;

// A document's field, or null when the document has no such field (a daemon of another version
// may leave one out).
const json& field(const json& j, const char* name) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(name);
  return it == j.end() ? kNull : *it;
}

// A field as a cell: strings as they are, numbers and bools in JSON, null as "".
std::string cell(const json& v, std::size_t max = 200) {
  if (v.is_null()) return "";
  if (v.is_string()) return printable(v.get<std::string>(), max);
  return v.dump();
}

std::string pad(const std::string& s, std::size_t w) {
  return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' ');
}

std::string skew_text(const json& seconds) {
  if (!seconds.is_number()) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << seconds.get<double>() << "s";
  return s.str();
}

std::string read_state(const json& r, const std::string& complete) {
  if (r.is_null()) return "-";
  if (cell(field(r, "state")) == "not_served") return "not served";
  std::string text = field(r, "complete").is_string() ? complete : std::string("never complete");
  if (cell(field(r, "state")) == "failed") text += " (last read failed: " + cell(field(r, "reason")) + ")";
  return text;
}

std::string entity_sync_cell(const json& s) {
  if (s.is_null()) return "-";
  return read_state(s, cell(field(s, "version")) + " " + cell(field(s, "entities")) + " entities");
}

std::string coverage_cell(const json& c) {
  if (c.is_null()) return "-";
  return read_state(c, cell(field(c, "api")) + " " + cell(field(c, "protected_vms")) + "/" + cell(field(c, "vms")) +
                           " VMs protected");
}

std::string snapshot_cell(const json& site) {
  if (field(site, "snapshot").is_null()) return "";
  return cell(field(site, "policies")) + " " + cell(field(field(site, "snapshot"), "hash")).substr(0, 12);
}

void pair_rows(const json& pairs, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{{"PAIR", "SOURCE", "REPLICA", "STATUS", "SINCE",
                                              "DRIFT", "PENDING", "EXPECTED", "SKEW", "REASON"}};
  for (const auto& p : pairs) {
    const auto& open = field(p, "open");
    rows.push_back({cell(field(p, "name")), cell(field(p, "source")), cell(field(p, "replica")), cell(field(p, "status")),
                    short_time(field(p, "since")), cell(field(open, "alerting")), cell(field(open, "pending")),
                    cell(field(open, "expected")), skew_text(field(p, "skew_seconds")), cell(field(p, "reason"))});
  }
  print_table(out, rows);
}

void flip_rows(const json& flips, std::ostream& out) {
  if (flips.empty()) return;
  out << "\nLatest flips:\n";
  std::vector<std::vector<std::string>> rows{
      {"FLIP", "PAIR", "ACTION", "SOURCE", "REQUESTED", "BY", "OUTCOME", "REASON"}};
  for (const auto& f : flips) {
    rows.push_back({cell(field(f, "id")), cell(field(f, "pair")), cell(field(f, "action")), cell(field(f, "source")),
                    short_time(field(f, "requested")), cell(field(f, "requested_by")), cell(field(f, "outcome")),
                    cell(field(f, "reason"), 60)});
  }
  print_table(out, rows);
}

void site_rows(const json& sites, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
      {"SITE", "LAST POLL", "OUTCOME", "REASON", "POLICIES SNAPSHOT", "NUTANIX ENTITY SYNC",
       "VM COVERAGE"}};
  for (const auto& s : sites) {
    rows.push_back({cell(field(s, "name")), short_time(field(s, "last_poll")), cell(field(s, "last_outcome")),
                    cell(field(s, "last_reason")), snapshot_cell(s), entity_sync_cell(field(s, "entity_sync")),
                    coverage_cell(field(s, "vm_coverage"))});
  }
  print_table(out, rows);
}

void disagreement_rows(const json& open, std::ostream& out) {
  if (open.empty()) return;
  out << "\nNutanix entity sync disagrees with flowdrift:\n";
  std::vector<std::vector<std::string>> rows{
      {"PAIR", "ENTITY TYPE", "ENTITY", "NUTANIX", "FLOWDRIFT", "SINCE", "DETAIL"}};
  for (const auto& d : open) {
    rows.push_back({cell(field(d, "pair")), cell(field(d, "entity_type"), 40), cell(field(d, "entity"), 120),
                    cell(field(d, "nutanix")), cell(field(d, "flowdrift")), short_time(field(d, "since")),
                    cell(field(d, "detail"))});
  }
  print_table(out, rows);
}

void gap_rows(const json& open, std::ostream& out) {
  if (open.empty()) return;
  out << "\nProtected VMs the replica would not secure alike after a failover:\n";
  std::vector<std::vector<std::string>> rows{{"PAIR", "VM", "KIND", "PROTECTED BY", "SINCE", "DETAIL"}};
  for (const auto& g : open) {
    rows.push_back({cell(field(g, "pair")), cell(field(g, "vm"), 80), cell(field(g, "kind")), cell(field(g, "protected_by"), 80),
                    short_time(field(g, "since")), cell(field(g, "detail"))});
  }
  print_table(out, rows);
}

}  // namespace

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size() + 1);
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) line += i + 1 < r.size() ? pad(r[i], w[i]) : r[i];
    out << line << "\n";
  }
}

void status_text(const json& doc, std::ostream& out) {
  pair_rows(field(doc, "pairs"), out);
  flip_rows(field(doc, "flips"), out);
  out << "\n";
  site_rows(field(doc, "sites"), out);
  disagreement_rows(field(doc, "sync_disagreements"), out);
  gap_rows(field(doc, "vm_coverage_gaps"), out);
}

void drift_text(const json& doc, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
      {"PAIR", "POLICY", "KIND", "SEVERITY", "STATE", "OPENED", "RESOLVED", "SUMMARY"}};
  for (const auto& it : field(doc, "items")) {
    rows.push_back({cell(field(it, "pair")), cell(field(it, "policy")), cell(field(it, "kind")), cell(field(it, "severity")),
                    cell(field(it, "state")), short_time(field(it, "opened")),
                    field(it, "resolved").is_null() ? "open" : short_time(field(it, "resolved")),
                    cell(field(it, "summary"), 400)});
  }
  print_table(out, rows);
  if (field(doc, "truncated") == true) {
    out << "(" << cell(field(doc, "limit")) << " of " << cell(field(doc, "total")) << " items shown)\n";
  }
}

void history_text(const json& doc, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
      {"SITE", "POLICY", "VERSION", "MODE", "FIRST SEEN", "LAST SEEN", ""}};
  for (const auto& v : field(doc, "versions")) {
    rows.push_back({cell(field(v, "site")), cell(field(v, "policy")), cell(field(v, "hash")).substr(0, 12),
                    cell(field(v, "mode")), short_time(field(v, "first_seen")), short_time(field(v, "last_seen")),
                    field(v, "current") == true ? "current" : ""});
  }
  print_table(out, rows);
}

void applies_text(const json& doc, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
      {"ID", "STARTED", "USER", "PAIR", "TARGET", "WRITES", "OUTCOME", "PLAN", "MESSAGE"}};
  for (const auto& a : field(doc, "applies")) {
    rows.push_back({cell(field(a, "id")), short_time(field(a, "started")), cell(field(a, "user")), cell(field(a, "pair")),
                    cell(field(a, "target")), cell(field(a, "writes_done")) + "/" + cell(field(a, "writes_planned")),
                    cell(field(a, "outcome")), cell(field(a, "plan_hash")).substr(0, 12),
                    cell(field(a, "message"), 80)});
  }
  print_table(out, rows);
}

}  // namespace flowdrift::ctl
