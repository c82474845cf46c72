// The readiness report as Markdown and HTML: one model of titled tables, two renderers.
#include <fstream>
#include <sstream>

#include "core/clock.hpp"
#include "core/printable.hpp"
#include "ctl/commands.hpp"
#include "ctl/readiness.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/flips.hpp"
#include "store/store.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

struct Table {
  std::string title;
  std::string empty;  // said instead of an empty table
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

std::string text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + text(e);
    return out;
  }
  return v.dump();
}

// Rows of `list`, each taking `keys` in order.
std::vector<std::vector<std::string>> rows_of(const json& list, const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : list) {
    std::vector<std::string> row;
    for (const auto& k : keys) row.push_back(e.contains(k) ? text(e[k]) : "-");
    rows.push_back(std::move(row));
  }
  return rows;
}

Table table(std::string title, std::string empty, std::vector<std::string> columns,
            const json& list, const std::vector<std::string>& keys) {
  return {std::move(title), std::move(empty), std::move(columns), rows_of(list, keys)};
}

Table applications(const json& r) {
  Table t{"What failing over to " + text(r["replica"]) + " would do, per application",
          "Nothing: every application is protected alike.", {"Application", "Policy", "Would block", "Would newly allow"}, {}};
  for (const auto& a : r["applications"]) {
    for (const auto& b : a["would_block"]) {
      t.rows.push_back({text(a["application"]), text(b["policy"]), text(b["example"]), ""});
    }
    for (const auto& b : a["would_allow"]) {
      t.rows.push_back({text(a["application"]), text(b["policy"]), "", text(b["example"])});
    }
  }
  return t;
}

std::vector<Table> tables(const json& r) {
  const std::string rep = text(r["replica"]);
  std::vector<Table> out;
  out.push_back(table("Not-ready reasons", "None.", {"Policy", "Application", "Kind", "Severity", "What"},
                      r["reasons"], {"policy", "application", "kind", "severity", "summary"}));
  out.push_back(applications(r));
  out.push_back(table("Differences that change no traffic", "None.", {"Policy", "Kind", "What"},
                      r["cosmetic"], {"policy", "kind", "summary"}));
  out.push_back(table("Policies in MONITOR on " + rep, "None.",
                      {"Policy", "Mode", "Type", "On " + text(r["source"])},
                      r["monitor_on_replica"], {"policy", "mode", "type", "source_mode"}));
  out.push_back(table("Categories and groups missing on " + rep, "None.", {"Kind", "Name", "Used by"},
                      r["missing_on_replica"], {"kind", "name", "used_by"}));
  out.push_back(table("VMs that would land unprotected or protected differently on " + rep,
                      r["vms"]["assessed"].get<bool>() ? "None (" + text(r["vms"]["note"]) + ")."
                                                       : "Not assessed: " + text(r["vms"]["note"]) + ".",
                      {"VM", "Kind", "Protected by", "Selected now", "Selected after", "Missing on " + rep},
                      r["vms"]["gaps"],
                      {"vm", "kind", "protected_by", "selected_now", "selected_after", "missing_categories"}));
  out.push_back(table("Pair status history", "Not recorded (a database from before schema 10).",
                      {"At", "Status", "Was", "Reason"}, r["status_history"],
                      {"at", "status", "was", "reason"}));
  out.push_back(table("Open drift items", "None.", {"Policy", "Kind", "Severity", "State", "Opened", "Summary"},
                      r["open_items"], {"policy", "kind", "severity", "state", "opened", "summary"}));
  out.push_back(table("Expected differences", "None declared.", {"Selector", "Owner", "Reason", "Expires", "Live"},
                      r["expected_differences"], {"selector", "owner", "reason", "expires", "live"}));
  out.push_back(table("Drift history (latest events)", "No events.", {"At", "Event", "Policy", "Kind", "Detail"},
                      r["history"], {"at", "event", "policy", "kind", "detail"}));
  out.push_back(table("Failovers and failbacks", "None.", {"Flip", "Action", "Source", "By", "Via", "Requested", "Outcome", "Reason"},
                      r["flips"], {"id", "action", "source", "requested_by", "via", "requested", "outcome", "reason"}));
  out.push_back(table("Applies", "None.", {"Apply", "Started", "User", "Target", "Outcome", "Writes", "Message"},
                      r["applies"], {"id", "started", "user", "target", "outcome", "writes", "message"}));
  return out;
}

std::string verdict(const json& r) {
  return r["ready"].get<bool>() ? "READY"
                                : "NOT READY (" + std::to_string(r["reasons"].size()) + " reasons)";
}

std::string audit_line(const json& a) {
  if (!a["checked"].get<bool>()) return "the audit chain could not be read";
  if (a["intact"].get<bool>()) {
    return "intact: " + text(a["entries"]) + " entries, " + text(a["rows"]) + " rows, head seq " +
           text(a["head_seq"]);
  }
  return "BROKEN: " + text(a["first_broken_link"]);
}

// Header facts, as (label, value) pairs.
std::vector<std::pair<std::string, std::string>> facts(const json& r) {
  const auto& s = r["snapshots"];
  return {{"Verdict", verdict(r)},
          {"Generated", text(r["generated"])},
          {"Direction", text(r["source"]) + " → " + text(r["replica"]) +
                            (r["failed_over"].get<bool>() ? " (failed over)" : "")},
          {"Pair status", text(r["status"]["status"]) + " since " + text(r["status"]["since"]) +
                              (text(r["status"]["reason"]).empty() ? "" : " (" + text(r["status"]["reason"]) + ")")},
          {"Compared", text(s["source"]["site"]) + " snapshot " + text(s["source"]["id"]) + " (polled " +
                           text(s["source"]["polled"]) + "), " + text(s["replica"]["site"]) +
                           " snapshot " + text(s["replica"]["id"]) + " (polled " +
                           text(s["replica"]["polled"]) + ")"},
          {"Audit trail", audit_line(r["audit"])}};
}

std::string md_cell(std::string s) {
  s = printable(s, 400);
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : printable(s, 400)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string readiness_markdown(const json& r) {
  std::ostringstream o;
  o << "# Failover readiness: pair " << md_cell(text(r["pair"])) << "\n\n";
  for (const auto& [k, v] : facts(r)) o << "- **" << k << ":** " << md_cell(v) << "\n";
  for (const auto& n : r["notes"]) o << "- **Note:** " << md_cell(text(n)) << "\n";
  for (const auto& t : tables(r)) {
    o << "\n## " << md_cell(t.title) << "\n\n";
    if (t.rows.empty()) {
      o << t.empty << "\n";
      continue;
    }
    o << "|";
    for (const auto& c : t.columns) o << " " << c << " |";
    o << "\n|";
    for (std::size_t i = 0; i < t.columns.size(); ++i) o << "---|";
    o << "\n";
    for (const auto& row : t.rows) {
      o << "|";
      for (const auto& c : row) o << " " << md_cell(c) << " |";
      o << "\n";
    }
  }
  return o.str();
}

std::string readiness_html(const json& r) {
  std::ostringstream o;
  const bool ready = r["ready"].get<bool>();
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Failover readiness: "
    << html_escape(text(r["pair"])) << "</title>\n<style>\n"
    << "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
    << "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top;font-size:.9em}"
    << "th{background:#eee}.verdict{font-weight:bold;padding:.2em .5em;color:#fff;background:"
    << (ready ? "#2e7d32" : "#c62828") << "}dt{font-weight:bold}dd{margin:0 0 .4em 1em}\n"
    << "</style></head>\n<body>\n<h1>Failover readiness: pair " << html_escape(text(r["pair"]))
    << "</h1>\n<dl>\n";
  for (const auto& [k, v] : facts(r)) {
    o << "<dt>" << html_escape(k) << "</dt><dd" << (k == "Verdict" ? " class=\"verdict\"" : "")
      << ">" << html_escape(v) << "</dd>\n";
  }
  for (const auto& n : r["notes"]) o << "<dt>Note</dt><dd>" << html_escape(text(n)) << "</dd>\n";
  o << "</dl>\n";
  for (const auto& t : tables(r)) {
    o << "<h2>" << html_escape(t.title) << "</h2>\n";
    if (t.rows.empty()) {
      o << "<p>" << html_escape(t.empty) << "</p>\n";
      continue;
    }
    o << "<table>\n<tr>";
    for (const auto& c : t.columns) o << "<th>" << html_escape(c) << "</th>";
    o << "</tr>\n";
    for (const auto& row : t.rows) {
      o << "<tr>";
      for (const auto& c : row) o << "<td>" << html_escape(c) << "</td>";
      o << "</tr>\n";
    }
    o << "</table>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

namespace {

std::vector<ReadinessInput::Transition> read_history(store::Database& db, const std::string& pair) {
  auto st = db.prepare(
      "SELECT e.at_ms, e.event, e.detail, d.object, d.kind FROM drift_events e "
      "JOIN drift_items d ON d.id = e.item_id JOIN pairs p ON p.id = d.pair_id "
      "WHERE p.name = ?1 ORDER BY e.id DESC LIMIT 50");
  st.bind(1, pair);
  std::vector<ReadinessInput::Transition> out;
  while (st.step()) {
    out.push_back({st.column_int64(0), st.column_text(1), st.column_text(2), st.column_text(3),
                   st.column_text(4)});
  }
  return out;
}

std::vector<store::ApplyRecord> pair_applies(store::Database& db, const std::string& pair) {
  std::vector<store::ApplyRecord> out;
  for (auto& a : store::applies(db, 100)) {
    if (a.pair == pair) out.push_back(std::move(a));
  }
  return out;
}

int write_report(const ReadinessArgs& args, const std::string& body, std::ostream& out,
                 std::ostream& err) {
  if (args.output.empty()) {
    out << body;
    return 0;
  }
  std::ofstream f(args.output, std::ios::binary | std::ios::trunc);
  f << body;
  f.close();
  if (!f) {
    err << "flowdriftctl readiness: cannot write " << args.output << "\n";
    return kExitError;
  }
  return 0;
}

}  // namespace

int run_readiness(const ReadinessArgs& args, std::ostream& out, std::ostream& err) {
  auto cfg = load_config_or_report(args.config, err);
  if (!cfg) return kExitError;
  const auto* pair = find_pair(*cfg, args.pair, args.config, err);
  if (!pair) return kExitError;
  auto db = open_db_file(args.db.empty() ? cfg->storage.path : args.db, err);
  if (!db) return kExitError;
  try {
    report::ExplainRequest request;
    request.pair = args.pair;
    request.config_pair = pair;
    request.config_file = args.config;
    request.now_ms = unix_now_ms();
    auto read = report::read_pair(*db, request);
    if (!read) {
      err << "flowdriftctl readiness: " << read.error().message << "\n";
      return kExitError;
    }
    const ExplainInput& in = (*read)->input;
    ReadinessInput r;
    r.pair = &in;
    r.generated_ms = in.now_ms;
    r.open = store::open_items(*db, args.pair);
    r.history = read_history(*db, args.pair);
    r.flips = store::flips(*db, args.pair, 50);
    if (db->has_table("applies")) r.applies = pair_applies(*db, args.pair);
    if (db->has_table("audit_log")) r.audit = store::verify_audit(*db);
    if (db->has_table("pair_status_history")) r.status_history = store::status_history(*db, args.pair);
    if (db->has_table("coverage_reads")) {
      r.coverage = store::coverage(*db, in.flipped ? pair->replica : pair->source);
    }
    const auto report = readiness_report(r);
    const std::string body = args.format == "json"   ? report.dump(2) + "\n"
                             : args.format == "html" ? readiness_html(report)
                                                     : readiness_markdown(report);
    if (write_report(args, body, out, err) != 0) return kExitError;
    return report["ready"].get<bool>() ? kExitInSync : kExitDrift;
  } catch (const store::StoreError& e) {
    err << "flowdriftctl readiness: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flowdrift::ctl
