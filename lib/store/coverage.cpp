#include "store/coverage.hpp"

#include <algorithm>
#include <map>

#include <sqlite3.h>

#include "core/sha256.hpp"
#include "store/audit.hpp"

namespace flowdrift::store {
namespace {

using State = drift::CoverageRead::State;
using nlohmann::json;

State parse_state(const std::string& s) {
  if (s == "not_served") return State::NotServed;
  if (s == "complete") return State::Complete;
  if (s == "failed") return State::Failed;
  return State::NotRead;
}

// The digest the site points at now ("" none), read without the inputs.
std::optional<std::string> stored_digest(Database& db, const std::string& site, bool* usable) {
  auto& st = db.cached("SELECT state, coalesce(input_sha256, '') FROM coverage_reads WHERE site = ?1");
  st.bind(1, site);
  std::optional<std::string> out;
  if (st.step()) {
    *usable = parse_state(st.column_text(0)) == State::Complete;
    out = st.column_text(1);
  }
  st.reset();
  return out;
}

void store_input(Database& db, const std::string& digest, const std::string& text,
                 std::int64_t vms, std::int64_t now_ms) {
  db.cached("INSERT INTO coverage_inputs (sha256, text, vms, first_seen_ms) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (sha256) DO NOTHING")
      .bind(1, digest)
      .bind(2, text)
      .bind(3, vms)
      .bind(4, now_ms)
      .exec();
}

void drop_unused_input(Database& db, const std::string& digest) {
  if (digest.empty()) return;
  db.cached("DELETE FROM coverage_inputs WHERE sha256 = ?1 AND NOT EXISTS "
            "(SELECT 1 FROM coverage_reads WHERE input_sha256 = ?1)")
      .bind(1, digest)
      .exec();
}

// A failed read keeps api, complete_ms, vms and the input of the last complete one.
void write_read(Database& db, const std::string& site, const drift::CoverageRead& read,
                std::int64_t now_ms, const std::string& digest) {
  const bool complete = read.state == State::Complete;
  db.cached("INSERT INTO coverage_reads (site, state, api, reason, message, read_ms, complete_ms, "
            "vms, input_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
            "ON CONFLICT (site) DO UPDATE SET state = ?2, "
            "api = CASE WHEN ?2 = 'failed' THEN api ELSE ?3 END, reason = ?4, message = ?5, "
            "read_ms = ?6, complete_ms = CASE WHEN ?2 = 'failed' THEN complete_ms ELSE ?7 END, "
            "vms = CASE WHEN ?2 = 'failed' THEN vms ELSE ?8 END, "
            "input_sha256 = CASE WHEN ?2 = 'failed' THEN input_sha256 ELSE ?9 END")
      .bind(1, site)
      .bind(2, std::string(drift::to_string(read.state)))
      .bind(3, read.api)
      .bind(4, read.reason)
      .bind(5, read.message)
      .bind(6, now_ms)
      .bind(7, complete ? std::optional<std::int64_t>(now_ms) : std::nullopt)
      .bind(8, complete ? read.vms : 0)
      .bind(9, digest.empty() ? std::nullopt : std::optional<std::string>(digest))
      .exec();
}

json facts_of(const drift::CoverageGap& g) {
  return {{"selected_now", g.selected_now},
          {"selected_after", g.selected_after},
          {"missing_categories", g.missing_categories}};
}

std::vector<std::string> strings(const json& facts, const char* key) {
  std::vector<std::string> out;
  for (const auto& v : facts.value(key, json::array())) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

GapRecord read_gap(Statement& st) {
  GapRecord r;
  r.id = st.column_int64(0);
  r.pair = st.column_text(1);
  auto& g = r.gap;
  g.vm_id = st.column_text(2);
  g.vm = st.column_text(3);
  g.kind = st.column_text(4) == "unprotected" ? drift::CoverageGap::Kind::Unprotected
                                              : drift::CoverageGap::Kind::ProtectedDifferently;
  g.protected_by = st.column_text(5);
  const json facts = json::parse(st.column_text(6), nullptr, false);
  if (facts.is_object()) {
    g.selected_now = strings(facts, "selected_now");
    g.selected_after = strings(facts, "selected_after");
    g.missing_categories = strings(facts, "missing_categories");
  }
  g.detail = st.column_text(7);
  r.opened_ms = st.column_int64(8);
  r.updated_ms = st.column_int64(9);
  r.resolved_ms = st.column_optional_int64(10);
  return r;
}

GapRecord open_gap(Database& db, const std::string& pair, const drift::CoverageGap& g,
                   std::int64_t now_ms) {
  db.cached("INSERT INTO coverage_gaps (pair, vm_id, vm, kind, protected_by, facts, detail, "
            "opened_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)")
      .bind(1, pair)
      .bind(2, g.vm_id)
      .bind(3, g.vm)
      .bind(4, std::string(drift::to_string(g.kind)))
      .bind(5, g.protected_by)
      .bind(6, facts_of(g).dump())
      .bind(7, g.detail)
      .bind(8, now_ms)
      .exec();
  const auto id = db.last_insert_rowid();
  audit_row(db, "coverage_gaps", id, now_ms);
  return {id, pair, g, now_ms, now_ms, std::nullopt};
}

void update_gap(Database& db, GapRecord& r, const drift::CoverageGap& g, std::int64_t now_ms) {
  const auto at = std::max(now_ms, r.opened_ms);
  db.cached("UPDATE coverage_gaps SET vm = ?2, protected_by = ?3, facts = ?4, detail = ?5, "
            "updated_ms = ?6 WHERE id = ?1")
      .bind(1, r.id)
      .bind(2, g.vm)
      .bind(3, g.protected_by)
      .bind(4, facts_of(g).dump())
      .bind(5, g.detail)
      .bind(6, at)
      .exec();
  audit_row(db, "coverage_gaps", r.id, now_ms);
  r.gap = g;
  r.updated_ms = at;
}

void resolve_gap(Database& db, GapRecord& r, std::int64_t now_ms) {
  const auto at = std::max(now_ms, r.opened_ms);
  db.cached("UPDATE coverage_gaps SET resolved_ms = ?2, updated_ms = ?2 WHERE id = ?1")
      .bind(1, r.id)
      .bind(2, at)
      .exec();
  audit_row(db, "coverage_gaps", r.id, now_ms);
  r.resolved_ms = at;
  r.updated_ms = at;
}

}  // namespace

bool record_coverage(Database& db, const std::string& site, const drift::CoverageRead& read,
                     std::int64_t now_ms) {
  if (read.state == State::NotRead) return false;
  bool usable_before = false;
  const auto before = stored_digest(db, site, &usable_before);
  if (read.state == State::Failed) {
    write_read(db, site, read, now_ms, before.value_or(""));
    return false;
  }
  std::string digest;
  if (read.state == State::Complete) {
    const std::string text = drift::coverage_text(read.data);
    digest = sha256_hex(text);
    if (digest != before.value_or("")) {
      store_input(db, digest, text, static_cast<std::int64_t>(read.data.vms.size()), now_ms);
    }
  }
  write_read(db, site, read, now_ms, digest);
  if (before && *before != digest) drop_unused_input(db, *before);
  const bool usable = read.state == State::Complete;
  return !before || *before != digest || usable_before != usable;
}

std::optional<CoverageStored> coverage(Database& db, const std::string& site) {
  auto& st = db.cached(
      "SELECT r.state, r.api, r.reason, r.message, r.read_ms, r.complete_ms, r.vms, "
      "coalesce(r.input_sha256, ''), i.text FROM coverage_reads AS r "
      "LEFT JOIN coverage_inputs AS i ON i.sha256 = r.input_sha256 WHERE r.site = ?1");
  st.bind(1, site);
  if (!st.step()) {
    st.reset();
    return std::nullopt;
  }
  CoverageStored out;
  out.state = parse_state(st.column_text(0));
  out.api = st.column_text(1);
  out.reason = st.column_text(2);
  out.message = st.column_text(3);
  out.read_ms = st.column_int64(4);
  out.complete_ms = st.column_optional_int64(5);
  out.vms = st.column_int64(6);
  out.input_sha256 = st.column_text(7);
  const std::string text = st.column_text(8);
  st.reset();
  if (out.input_sha256.empty()) return out;
  auto data = drift::parse_coverage_text(text, "coverage_inputs " + out.input_sha256);
  if (!data || sha256_hex(text) != out.input_sha256) {
    throw StoreError(db.path() + ": the stored VM coverage of site " + site + " is damaged: " +
                         (data ? "its text does not match its digest" : data.error().message),
                     SQLITE_CORRUPT);
  }
  out.data = std::move(*data);
  return out;
}

GapChanges write_gaps(Database& db, const std::string& pair,
                      const std::vector<drift::CoverageGap>& current, std::int64_t now_ms) {
  GapChanges changes;
  std::map<std::string, const drift::CoverageGap*> wanted;
  for (const auto& g : current) wanted[g.vm_id] = &g;
  for (auto& open : open_gaps(db, pair)) {
    auto it = wanted.find(open.gap.vm_id);
    if (it != wanted.end() && it->second->kind == open.gap.kind) {
      if (!(*it->second == open.gap)) {
        update_gap(db, open, *it->second, now_ms);
        changes.updated.push_back(open);
      }
      wanted.erase(it);
      continue;
    }
    resolve_gap(db, open, now_ms);
    changes.resolved.push_back(std::move(open));
  }
  for (const auto& [id, g] : wanted) changes.opened.push_back(open_gap(db, pair, *g, now_ms));
  return changes;
}

std::vector<GapRecord> open_gaps(Database& db, const std::string& pair) {
  auto st = db.prepare(
      "SELECT id, pair, vm_id, vm, kind, protected_by, facts, detail, opened_ms, updated_ms, "
      "resolved_ms FROM coverage_gaps WHERE resolved_ms IS NULL AND (?1 = '' OR pair = ?1) "
      "ORDER BY pair, vm, vm_id");
  st.bind(1, pair);
  std::vector<GapRecord> out;
  while (st.step()) out.push_back(read_gap(st));
  return out;
}

json coverage_json(const std::optional<CoverageStored>& s, TimeText time) {
  if (!s) return nullptr;
  json j{{"state", std::string(drift::to_string(s->state))},
         {"api", s->api},
         {"vms", s->vms},
         {"protected_vms", s->data.vms.size()},
         {"protections", s->data.protections.size()},
         {"read", time(s->read_ms)},
         {"complete", s->complete_ms ? json(time(*s->complete_ms)) : json()}};
  if (s->state == State::Failed) {
    j["reason"] = s->reason;
    j["message"] = s->message;
  }
  return j;
}

json gap_json(const drift::CoverageGap& g) {
  return {{"vm", g.vm},
          {"vm_id", g.vm_id},
          {"kind", std::string(drift::to_string(g.kind))},
          {"protected_by", g.protected_by},
          {"selected_now", g.selected_now},
          {"selected_after", g.selected_after},
          {"missing_categories", g.missing_categories},
          {"detail", g.detail}};
}

}  // namespace flowdrift::store
