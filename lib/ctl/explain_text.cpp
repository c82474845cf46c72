// The text of `flowdriftctl explain` (report/explain.hpp builds the document): rendered from the
// document alone, so that --db and --server print the same thing.
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/printable.hpp"
#include "ctl/output.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

std::string or_absent(const std::string& compact) { return compact.empty() ? "(absent)" : compact; }

std::string text_of(const json& v) {
  if (v.is_null()) return "absent";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void text_header(std::ostream& out, const json& r) {
  out << "policy " << r.at("policy").get<std::string>();
  if (r.at("replica_policy") != r.at("policy")) {
    out << " (" << r.at("replica_policy").get<std::string>() << " on the replica)";
  }
  out << " of pair " << r.at("pair").get<std::string>() << " (" << r.at("source_site").get<std::string>()
      << " -> " << r.at("replica_site").get<std::string>() << ")\n";
  for (const auto& n : r.at("notes")) out << "note: " << n.get<std::string>() << "\n";
  for (const char* side : {"source", "replica"}) {
    const auto& s = r.at("snapshots").at(side);
    out << side << ": " << s.at("site").get<std::string>() << " snapshot " << s.at("id") << " ("
        << s.at("hash").get<std::string>().substr(0, 12) << ", " << s.at("policies") << " policies"
        << (s.at("polled").is_null() ? "" : ", polled " + s.at("polled").get<std::string>()) << ", "
        << (s.at("origin") == "last_comparison" ? "the pair's last comparison" : "latest complete")
        << ")" << (r.at(std::string("on_") + side).get<bool>() ? "" : ": policy absent") << "\n";
  }
  if (const auto& ps = r.at("pair_status"); !ps.is_null()) {
    out << "daemon: pair " << ps.at("status").get<std::string>() << " since "
        << ps.at("since").get<std::string>();
    if (!ps.at("reason").get<std::string>().empty()) out << " (" << ps.at("reason").get<std::string>() << ")";
    if (!ps.at("skew_ms").is_null()) out << ", snapshot skew " << ps.at("skew_ms").get<std::int64_t>() / 1000 << "s";
    out << "\n";
  }
  out << "\n";
}

void text_item(std::ostream& out, const json& it) {
  out << "  " << it.at("severity").get<std::string>() << "  " << it.at("kind").get<std::string>()
      << "  " << it.at("direction").get<std::string>()
      << (it.at("expected").is_null() ? "" : "  (expected)") << "\n";
  out << "    " << it.at("summary").get<std::string>() << "\n";
  for (const auto& f : it.at("fields")) {
    out << "    " << f.at("path").get<std::string>() << ": "
        << or_absent(f.at("source").get<std::string>()) << " -> "
        << or_absent(f.at("replica").get<std::string>()) << "\n";
  }
  const auto& ex = it.at("example_flows");
  if (ex.contains("replica_only")) {
    out << "    example flow only the replica allows: " << ex.at("replica_only").get<std::string>() << "\n";
  }
  if (ex.contains("source_only")) {
    out << "    example flow only the source allows: " << ex.at("source_only").get<std::string>() << "\n";
  }
  if (const auto& e = it.at("expected"); !e.is_null()) {
    out << "    expected by " << e.at("selector").get<std::string>() << ": "
        << e.at("owner").get<std::string>() << " until " << e.at("expires").get<std::string>()
        << ": " << e.at("reason").get<std::string>() << "\n";
  }
}

void text_items(std::ostream& out, const json& r) {
  const std::string policy = r.at("policy");
  const std::string status = r.at("status");
  const auto& items = r.at("items");
  std::size_t expected = 0;
  for (const auto& it : items) expected += !it.at("expected").is_null();
  if (status == "in_sync") {
    out << "IN SYNC: no drift for " << policy << "\n";
  } else if (status == "expected") {
    out << "EXPECTED: " << items.size() << " item(s), every one covered by a live expected difference\n";
  } else {
    out << "DRIFTED: " << items.size() << " item(s)";
    if (expected != 0) out << ", " << expected << " of them expected";
    out << "\n";
  }
  for (const auto& it : items) text_item(out, it);
}

void text_references(std::ostream& out, const json& r) {
  out << "\nreferences:";
  if (r.at("references").empty()) out << " none";
  out << "\n";
  for (const auto& ref : r.at("references")) {
    const std::string state = ref.at("state");
    out << "  " << ref.at("label").get<std::string>();
    if (ref.contains("replica_name")) out << " (" << ref.at("replica_name").get<std::string>() << " on the replica)";
    out << ": " << state << " (used by";
    for (const auto& u : ref.at("used_by")) out << " " << u.get<std::string>();
    out << ")\n";
    if (state == "dangling") continue;
    if (state == "same") {
      out << "      both:    " << text_of(ref.at("source")) << "\n";
      continue;
    }
    out << "      source:  " << text_of(ref.at("source"))
        << (ref.contains("source_note") ? " (" + ref.at("source_note").get<std::string>() + ")" : "") << "\n";
    out << "      replica: " << text_of(ref.at("replica"))
        << (ref.contains("replica_note") ? " (" + ref.at("replica_note").get<std::string>() + ")" : "") << "\n";
  }
  for (const auto& f : r.at("findings")) {
    out << "finding on the " << f.at("side").get<std::string>() << ": " << f.at("kind").get<std::string>()
        << ": " << f.at("detail").get<std::string>() << "\n";
  }
}

void text_expectation(std::ostream& out, const json& e) {
  out << "  " << e.at("selector").get<std::string>() << " (" << e.at("declared").get<std::string>()
      << "): " << e.at("owner").get<std::string>() << ", expires " << e.at("expires").get<std::string>()
      << (e.at("live").get<bool>() ? " (live)" : " (EXPIRED)") << ": " << e.at("reason").get<std::string>()
      << "\n      ";
  if (!e.at("covers").empty()) {
    out << "covers";
    for (const auto& k : e.at("covers")) out << " " << k.get<std::string>();
  } else if (!e.at("selects").empty()) {
    out << "selects";
    for (const auto& k : e.at("selects")) out << " " << k.get<std::string>();
    out << (e.at("live").get<bool>() ? " (an earlier expectation covers it)" : " but has expired");
  } else {
    out << "selects no current item (kind or field do not match)";
  }
  out << "\n";
}

void text_rules(std::ostream& out, const json& r) {
  if (r.at("mapping_rules").is_null()) {
    out << "\nmappings and expected differences: not applied (no --config)\n";
    return;
  }
  out << "\nmapping rules that touch it:";
  if (r.at("mapping_rules").empty()) out << " none";
  out << "\n";
  for (const auto& m : r.at("mapping_rules")) {
    out << "  " << m.at("rule").get<std::string>() << ": " << m.at("text").get<std::string>() << " ("
        << m.at("effect").get<std::string>() << ")\n";
  }
  out << "expected differences that name it:";
  if (r.at("expectations").empty()) out << " none";
  out << "\n";
  for (const auto& e : r.at("expectations")) text_expectation(out, e);
}

void text_stored(std::ostream& out, const json& r) {
  out << "\nstored drift items:";
  if (r.at("stored_items").empty()) out << " none";
  out << "\n";
  for (const auto& s : r.at("stored_items")) {
    out << "  #" << s.at("id") << " " << s.at("kind").get<std::string>() << " "
        << (s.at("resolved").is_null() ? s.at("state").get<std::string>() : "resolved") << ", opened "
        << s.at("opened").get<std::string>();
    if (!s.at("raised").is_null()) out << ", raised " << s.at("raised").get<std::string>();
    if (!s.at("resolved").is_null()) out << ", resolved " << s.at("resolved").get<std::string>();
    out << "\n";
    for (const auto& e : s.at("events")) {
      out << "      " << e.at("at").get<std::string>() << "  " << e.at("event").get<std::string>();
      if (!e.at("detail").get<std::string>().empty()) out << "  " << e.at("detail").get<std::string>();
      out << "\n";
    }
  }
}

void text_entity_sync(std::ostream& out, const json& r) {
  const auto& s = r.at("nutanix_entity_sync");
  out << "\nNutanix entity sync of the source: ";
  if (s.is_null()) {
    out << "never read (a v3 or baseline source, or not polled yet)\n";
    return;
  }
  const std::string read = s.at("read");
  if (read == "not_served") {
    out << "not served by the source's Prism Central\n";
    return;
  }
  out << "datapolicies " << s.at("version").get<std::string>() << ", read completely "
      << (s.at("complete").is_null() ? std::string("never") : s.at("complete").get<std::string>())
      << (read == "failed" ? " (the last read failed)" : "") << "\n";
  if (s.at("entries").empty()) out << "  the policy is not in it (not synced by Nutanix)\n";
  for (const auto& e : s.at("entries")) {
    out << "  " << e.at("status").get<std::string>() << " to "
        << printable(e.at("remote").get<std::string>(), 80) << "\n";
  }
  if (const auto& d = s.at("disagreement"); !d.is_null()) {
    out << "  DISAGREES since " << d.at("since").get<std::string>() << ": Nutanix says "
        << d.at("nutanix").get<std::string>() << ", flowdrift finds it "
        << d.at("flowdrift").get<std::string>() << " (" << d.at("detail").get<std::string>()
        << ")\n";
  }
}

}  // namespace

std::string explain_text(const json& r) {
  std::ostringstream out;
  text_header(out, r);
  text_items(out, r);
  text_references(out, r);
  text_rules(out, r);
  text_stored(out, r);
  text_entity_sync(out, r);
  return out.str();
}

}  // namespace flowdrift::ctl
