#include "store/entity_sync.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "core/sha256.hpp"

namespace flowdrift::store {
namespace {

using State = drift::EntitySyncRead::State;

State parse_state(const std::string& s) {
  if (s == "not_served") return State::NotServed;
  if (s == "complete") return State::Complete;
  if (s == "failed") return State::Failed;
  return State::NotRead;
}

bool entry_less(const drift::EntitySync& a, const drift::EntitySync& b) {
  return std::tie(a.entity_type, a.entity_name, a.ext_id) <
         std::tie(b.entity_type, b.entity_name, b.ext_id);
}

std::vector<drift::EntitySync> stored_entries(Database& db, const std::string& site) {
  auto& st = db.cached(
      "SELECT ext_id, entity_type, entity_name, entity_ext_id, remote_ext_id, status "
      "FROM entity_sync WHERE site = ?1 ORDER BY entity_type, entity_name, ext_id");
  st.bind(1, site);
  std::vector<drift::EntitySync> out;
  while (st.step()) {
    out.push_back({st.column_text(0), st.column_text(1), st.column_text(2), st.column_text(3),
                   st.column_text(4), st.column_text(5)});
  }
  st.reset();
  return out;
}

void replace_entries(Database& db, const std::string& site,
                     const std::vector<drift::EntitySync>& entries) {
  db.cached("DELETE FROM entity_sync WHERE site = ?1").bind(1, site).exec();
  auto& insert = db.cached(
      "INSERT INTO entity_sync (site, ext_id, entity_type, entity_name, entity_ext_id, "
      "remote_ext_id, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  for (const auto& e : entries) {
    insert.bind(1, site)
        .bind(2, e.ext_id)
        .bind(3, e.entity_type)
        .bind(4, e.entity_name)
        .bind(5, e.entity_ext_id)
        .bind(6, e.remote_ext_id)
        .bind(7, e.status)
        .exec();
  }
}

// SHA-256 of the sorted entries, each field length-prefixed: what tells a changed list without
// reading the stored one back on every poll.
std::string entries_digest(const std::vector<drift::EntitySync>& entries) {
  std::string text;
  for (const auto& e : entries) {
    for (const auto* f : {&e.ext_id, &e.entity_type, &e.entity_name, &e.entity_ext_id,
                          &e.remote_ext_id, &e.status}) {
      text += std::to_string(f->size()) + ':' + *f;
    }
    text += '\n';
  }
  return sha256_hex(text);
}

void write_read(Database& db, const std::string& site, const drift::EntitySyncRead& read,
                std::int64_t now_ms, const std::string& digest) {
  const bool complete = read.state == State::Complete;
  db.cached("INSERT INTO entity_sync_reads (site, state, version, reason, message, read_ms, "
            "complete_ms, entries_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
            "ON CONFLICT (site) DO UPDATE SET state = ?2, "
            "version = CASE WHEN ?2 = 'failed' THEN version ELSE ?3 END, reason = ?4, "
            "message = ?5, read_ms = ?6, "
            "complete_ms = CASE WHEN ?2 = 'failed' THEN complete_ms ELSE ?7 END, "
            "entries_sha256 = ?8")
      .bind(1, site)
      .bind(2, std::string(drift::to_string(read.state)))
      .bind(3, read.version)
      .bind(4, read.reason)
      .bind(5, read.message)
      .bind(6, now_ms)
      .bind(7, complete ? std::optional<std::int64_t>(now_ms) : std::nullopt)
      .bind(8, digest)
      .exec();
}

DisagreementRecord read_disagreement(Statement& st) {
  DisagreementRecord r;
  r.id = st.column_int64(0);
  r.pair = st.column_text(1);
  r.disagreement = {st.column_text(2), st.column_text(3), st.column_text(4), st.column_text(5),
                    st.column_text(6)};
  r.opened_ms = st.column_int64(7);
  r.updated_ms = st.column_int64(8);
  r.resolved_ms = st.column_optional_int64(9);
  return r;
}

void resolve(Database& db, DisagreementRecord& r, std::int64_t now_ms) {
  db.cached("UPDATE sync_disagreements SET resolved_ms = ?2, updated_ms = ?2 WHERE id = ?1")
      .bind(1, r.id)
      .bind(2, std::max(now_ms, r.opened_ms))
      .exec();
  r.resolved_ms = std::max(now_ms, r.opened_ms);
}

DisagreementRecord open_one(Database& db, const std::string& pair,
                            const drift::SyncDisagreement& d, std::int64_t now_ms) {
  db.cached("INSERT INTO sync_disagreements (pair, entity_type, entity_name, nutanix, flowdrift, "
            "detail, opened_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)")
      .bind(1, pair)
      .bind(2, d.entity_type)
      .bind(3, d.entity_name)
      .bind(4, d.nutanix)
      .bind(5, d.flowdrift)
      .bind(6, d.detail)
      .bind(7, now_ms)
      .exec();
  return {db.last_insert_rowid(), pair, d, now_ms, now_ms, std::nullopt};
}

}  // namespace

bool record_entity_sync(Database& db, const std::string& site, const drift::EntitySyncRead& read,
                        std::int64_t now_ms) {
  if (read.state == State::NotRead) return false;
  // What is stored, without reading the entries back: the state and the entries' digest.
  auto& before = db.cached("SELECT state, entries_sha256 FROM entity_sync_reads WHERE site = ?1");
  before.bind(1, site);
  const bool stored = before.step();
  const bool usable_before = stored && parse_state(before.column_text(0)) == State::Complete;
  const std::string digest_before = stored ? before.column_text(1) : "";
  before.reset();
  // A failed read keeps the last complete entries, which the cross-check does not use then.
  if (read.state == State::Failed) {
    write_read(db, site, read, now_ms, digest_before);
    return false;
  }
  auto entries = read.entries;
  std::sort(entries.begin(), entries.end(), entry_less);
  if (read.state == State::NotServed) entries.clear();
  const std::string digest = entries_digest(entries);
  write_read(db, site, read, now_ms, digest);
  const bool same = stored && digest_before == digest;
  if (!same) replace_entries(db, site, entries);
  return !same || usable_before != (read.state == State::Complete);
}

std::optional<EntitySyncStored> entity_sync(Database& db, const std::string& site) {
  auto& st = db.cached(
      "SELECT state, version, reason, message, read_ms, complete_ms FROM entity_sync_reads "
      "WHERE site = ?1");
  st.bind(1, site);
  if (!st.step()) {
    st.reset();
    return std::nullopt;
  }
  EntitySyncStored out;
  out.state = parse_state(st.column_text(0));
  out.version = st.column_text(1);
  out.reason = st.column_text(2);
  out.message = st.column_text(3);
  out.read_ms = st.column_int64(4);
  out.complete_ms = st.column_optional_int64(5);
  st.reset();
  out.entries = stored_entries(db, site);
  return out;
}

DisagreementChanges write_disagreements(Database& db, const std::string& pair,
                                        const std::vector<drift::SyncDisagreement>& current,
                                        std::int64_t now_ms) {
  DisagreementChanges changes;
  std::map<std::pair<std::string, std::string>, const drift::SyncDisagreement*> wanted;
  for (const auto& d : current) wanted[{d.entity_type, d.entity_name}] = &d;
  for (auto& open : open_disagreements(db, pair)) {
    const auto& od = open.disagreement;
    auto it = wanted.find({od.entity_type, od.entity_name});
    if (it != wanted.end() && it->second->kind() == od.kind()) {
      if (!(*it->second == od)) {
        db.cached("UPDATE sync_disagreements SET nutanix = ?2, flowdrift = ?3, detail = ?4, "
                  "updated_ms = ?5 WHERE id = ?1")
            .bind(1, open.id)
            .bind(2, it->second->nutanix)
            .bind(3, it->second->flowdrift)
            .bind(4, it->second->detail)
            .bind(5, std::max(now_ms, open.opened_ms))
            .exec();
      }
      wanted.erase(it);
      continue;
    }
    resolve(db, open, now_ms);
    changes.resolved.push_back(std::move(open));
  }
  for (const auto& [key, d] : wanted) changes.opened.push_back(open_one(db, pair, *d, now_ms));
  return changes;
}

std::vector<DisagreementRecord> open_disagreements(Database& db, const std::string& pair) {
  auto st = db.prepare(
      "SELECT id, pair, entity_type, entity_name, nutanix, flowdrift, detail, opened_ms, "
      "updated_ms, resolved_ms FROM sync_disagreements "
      "WHERE resolved_ms IS NULL AND (?1 = '' OR pair = ?1) "
      "ORDER BY pair, entity_type, entity_name");
  st.bind(1, pair);
  std::vector<DisagreementRecord> out;
  while (st.step()) out.push_back(read_disagreement(st));
  return out;
}

nlohmann::json entity_sync_json(const std::optional<EntitySyncStored>& s, TimeText time) {
  if (!s) return nullptr;
  nlohmann::json j{{"state", std::string(drift::to_string(s->state))},
                   {"version", s->version},
                   {"entities", s->entries.size()},
                   {"read", time(s->read_ms)},
                   {"complete", s->complete_ms ? nlohmann::json(time(*s->complete_ms)) : nlohmann::json()}};
  if (s->state == State::Failed) {
    j["reason"] = s->reason;
    j["message"] = s->message;
  }
  return j;
}

nlohmann::json disagreement_json(const DisagreementRecord& r, TimeText time) {
  const auto& d = r.disagreement;
  return {{"pair", r.pair},         {"kind", std::string(d.kind())}, {"entity_type", d.entity_type},
          {"entity", d.entity_name}, {"nutanix", d.nutanix},           {"flowdrift", d.flowdrift},
          {"detail", d.detail},      {"since", time(r.opened_ms)}};
}

}  // namespace flowdrift::store
