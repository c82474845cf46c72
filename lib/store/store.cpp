#include "store/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/printable.hpp"
#include "store/audit.hpp"
#include "store/db.hpp"
#include "store/migrations.hpp"

namespace flowdrift::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr std::size_t kMaxMessageBytes = 512;

std::shared_ptr<spdlog::logger> logger() { return log::get("store"); }

[[noreturn]] void refuse(const std::string& path, const std::string& reason, int code = 0) {
  throw StoreError("refusing to open " + path + ": " + reason, code);
}

// The message made printable (it may quote what a site sent: control characters, invalid
// UTF-8) and cut to fit the column's 512-byte CHECK with printable()'s suffix.
std::string bounded_message(const std::string& message) {
  return printable(message, kMaxMessageBytes - 32);
}

policy::ObjectKind parse_kind(const std::string& s) {
  for (auto k : {policy::ObjectKind::Policy, policy::ObjectKind::AddressGroup,
                 policy::ObjectKind::ServiceGroup, policy::ObjectKind::Category,
                 policy::ObjectKind::EntityGroup}) {
    if (policy::to_string(k) == s) return k;
  }
  throw StoreError("unknown object kind '" + s + "' in objects table", 0);
}

std::optional<std::string> non_empty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

bool is_memory_path(const std::string& path) {
  return path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0;
}

// A non-empty file without the SQLite magic is refused before SQLite touches it. (An empty
// file is a valid empty database.) Returns whether there is a database to inspect.
bool check_header(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return false;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) refuse(path, "cannot stat: " + ec.message());
  if (size == 0) return false;
  static constexpr std::array<char, 16> kMagic = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                                  'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
  std::array<char, 16> head{};
  std::ifstream in(path, std::ios::binary);
  if (!in) refuse(path, "cannot read the file");
  in.read(head.data(), head.size());
  if (in.gcount() != static_cast<std::streamsize>(head.size()) || head != kMagic) {
    refuse(path, "not a SQLite database (no SQLite header)", SQLITE_NOTADB);
  }
  return true;
}

// "file:" URI that opens the main file alone: read-only, no locks, no -wal/-shm created.
std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '?' || c == '#' || c == '%') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      uri += buf;
    } else {
      uri += c;
    }
  }
  return uri + "?mode=ro&immutable=1";
}

std::string hex32(std::int64_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v & 0xffffffff));
  return buf;
}

// Read-only checks on the freshly opened connection, before any PRAGMA that writes.
void check_ownership(Database& db, const std::string& path) {
  std::int64_t app_id = 0;
  try {
    app_id = db.query_int64("PRAGMA application_id").value_or(0);
  } catch (const StoreError& e) {
    refuse(path, std::string("cannot read the database: ") + e.what(), e.code());
  }
  const std::int64_t version = db.query_int64("PRAGMA user_version").value_or(0);
  if (app_id != 0 && app_id != kApplicationId) {
    refuse(path, "application_id " + hex32(app_id) + " belongs to another program (flowdrift is " +
                     hex32(kApplicationId) + ")");
  }
  if (app_id == 0) {
    // Migration 1 sets application_id in the same transaction as the tables, so a database
    // without it must be empty.
    auto st = db.prepare(
        "SELECT group_concat(name, ', ') FROM sqlite_schema "
        "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    const auto tables = st.query_text();
    if (tables && !tables->empty()) {
      refuse(path, "it holds tables (" + *tables + ") but no flowdrift schema");
    }
    if (version != 0) {
      refuse(path, "user_version " + std::to_string(version) + " without flowdrift's application_id");
    }
  }
  if (version > latest_schema_version()) {
    refuse(path, "schema version " + std::to_string(version) + " is newer than this binary (" +
                     std::to_string(latest_schema_version()) + "); upgrade flowdrift");
  }
}

void set_no_checkpoint_on_close(Database& db, bool on) {
  sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, on ? 1 : 0, nullptr);
}

}  // namespace

struct Store::SiteCache {
  bool loaded = false;
  std::optional<std::int64_t> site_id;     // none until the site's first poll is stored
  std::optional<SnapshotInfo> latest;      // snapshot of the latest complete poll
};

struct Store::Cache {
  std::unordered_map<std::string, SiteCache> sites;
};

Store::Store(const std::string& path) : cache_(std::make_unique<Cache>()) {
  const bool memory = is_memory_path(path);
  if (!memory && check_header(path)) {
    // First look at the main file alone, so that refusing leaves no trace at all.
    Database probe(immutable_uri(path), Database::Mode::ReadOnly);
    check_ownership(probe, path);
  }
  db_ = std::make_unique<Database>(path);
  // Check again through a normal connection: a WAL not yet checkpointed (after a crash) can
  // hold what the main file does not show. Until the checks pass, close must not checkpoint
  // a foreign WAL into its main file.
  set_no_checkpoint_on_close(*db_, true);
  db_->set_busy_timeout(kBusyTimeoutMs);
  check_ownership(*db_, path);
  set_no_checkpoint_on_close(*db_, false);

  const auto mode = db_->query_text("PRAGMA journal_mode = WAL").value_or("");
  if (mode != "wal" && !(memory && mode == "memory")) {
    throw StoreError(path + ": cannot enable WAL journal mode (got '" + mode + "')", 0);
  }
  db_->exec("PRAGMA synchronous = NORMAL");
  // Migrations run before foreign keys are enforced: a step may rebuild a table others
  // reference (SQLite's 12-step ALTER), and checks the keys itself before committing.
  int applied = 0;
  if (schema_version() < latest_schema_version()) applied = migrate(*db_);
  db_->exec("PRAGMA foreign_keys = ON");
  ensure_audit_start(*db_, unix_now_ms());
  if (db_->query_int64("PRAGMA foreign_keys").value_or(0) != 1) {
    throw StoreError(path + ": SQLite was built without foreign key support", 0);
  }
  log::info(logger(), "store.opened",
            {{"path", path}, {"schema_version", schema_version()}, {"migrations", applied}});
}

Store::~Store() = default;

Database& Store::db() { return *db_; }

int Store::schema_version() {
  return static_cast<int>(db_->query_int64("PRAGMA user_version").value_or(0));
}

Store::SiteCache& Store::site_cache(const std::string& site) {
  SiteCache& c = cache_->sites[site];
  if (c.loaded) return c;
  c.site_id = db_->cached("SELECT id FROM sites WHERE name = ?1").bind(1, site).query_int64();
  if (c.site_id) {
    // polls_site (site_id, id) walked backwards: the latest complete poll is near the end.
    auto& st = db_->cached(
        "SELECT s.id, s.hash, s.canon_version, s.first_seen_ms, s.policy_count, p.finished_ms "
        "FROM polls p JOIN snapshots s ON s.id = p.snapshot_id "
        "WHERE p.site_id = ?1 AND p.outcome = 'complete' ORDER BY p.id DESC LIMIT 1");
    st.bind(1, *c.site_id);
    if (st.step()) {
      SnapshotInfo info;
      info.id = st.column_int64(0);
      info.site = site;
      info.hash = st.column_text(1);
      info.canon_version = st.column_int(2);
      info.first_seen_ms = st.column_int64(3);
      info.policy_count = st.column_int64(4);
      info.last_poll_ms = st.column_int64(5);
      c.latest = std::move(info);
      st.reset();
    }
  }
  c.loaded = true;
  return c;
}

std::int64_t Store::insert_snapshot(std::int64_t site_id, const policy::Snapshot& snapshot,
                                    std::int64_t now_ms) {
  std::int64_t policies = 0;
  for (const auto& o : snapshot.objects) policies += o.kind == policy::ObjectKind::Policy ? 1 : 0;

  db_->cached(
         "INSERT INTO snapshots (site_id, hash, canon_version, first_seen_ms, policy_count, "
         "object_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .bind(1, site_id)
      .bind(2, snapshot.hash)
      .bind(3, snapshot.canon_version)
      .bind(4, now_ms)
      .bind(5, policies)
      .bind(6, static_cast<std::int64_t>(snapshot.objects.size()))
      .exec();
  const std::int64_t snapshot_id = db_->last_insert_rowid();

  auto& insert_object = db_->cached(
      "INSERT OR IGNORE INTO objects (kind, name, hash, json, policy_type, mode, first_seen_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  // An object without its text (CanonicalObject::has_text) under a name it was not stored by
  // (a duplicate's name moved): the text is the same as any object's of that kind and hash.
  auto& copy_object = db_->cached(
      "INSERT OR IGNORE INTO objects (kind, name, hash, json, policy_type, mode, first_seen_ms) "
      "SELECT ?1, ?2, ?3, json, ?5, ?6, ?7 FROM objects WHERE kind = ?1 AND hash = ?3 LIMIT 1");
  auto& find_object =
      db_->cached("SELECT id FROM objects WHERE kind = ?1 AND name = ?2 AND hash = ?3");
  auto& insert_member =
      db_->cached("INSERT INTO snapshot_objects (snapshot_id, object_id) VALUES (?1, ?2)");
  for (const auto& o : snapshot.objects) {
    const std::string_view kind = policy::to_string(o.kind);
    // Nearly every object of a new snapshot is already stored (one policy changed since the
    // last poll): look it up first rather than hand SQLite its text only to have it ignored.
    // Read inside this transaction, so rows deleted by retention are never taken for present.
    find_object.reset();
    std::optional<std::int64_t> id =
        find_object.bind(1, kind).bind(2, o.name).bind(3, o.hash).query_int64();
    if (!id) {
      auto& insert = o.has_text ? insert_object : copy_object;
      insert.reset();
      insert.bind(1, kind)
          .bind(2, o.name)
          .bind(3, o.hash)
          .bind(5, non_empty(o.policy_type))
          .bind(6, non_empty(o.mode))
          .bind(7, now_ms);
      if (o.has_text) insert.bind(4, o.json);
      insert.exec();
      if (db_->changes() == 1) {
        id = db_->last_insert_rowid();
      } else if (o.has_text) {
        find_object.reset();
        id = find_object.bind(1, kind).bind(2, o.name).bind(3, o.hash).query_int64();
      } else {
        throw StoreError(std::string(kind) + " " + o.name + ": its text was let go after an " +
                             "earlier poll, and no stored " + std::string(kind) + " has hash " +
                             o.hash, 0);
      }
      if (!id) throw StoreError("object " + o.name + " neither inserted nor found", 0);
    }
    const std::int64_t object_id = *id;
    insert_member.reset();
    insert_member.bind(1, snapshot_id).bind(2, object_id).exec();
  }

  auto& insert_finding = db_->cached(
      "INSERT INTO findings (snapshot_id, kind, object, detail) VALUES (?1, ?2, ?3, ?4)");
  for (const auto& f : snapshot.findings) {
    insert_finding.reset();
    insert_finding.bind(1, snapshot_id).bind(2, f.kind).bind(3, f.object).bind(4, f.detail).exec();
  }
  return snapshot_id;
}

Result<PollOutcome> Store::record_poll(
    const PollRecord& poll, const policy::Snapshot* snapshot,
    const std::function<void(Database&, const PollOutcome&)>& extra) {
  if (poll.complete && snapshot == nullptr) {
    throw std::invalid_argument("Store::record_poll: a complete poll needs a snapshot");
  }
  try {
    SiteCache& cache = site_cache(poll.site);
    Transaction tx(*db_);

    std::int64_t site_id = 0;
    if (cache.site_id) {
      site_id = *cache.site_id;
    } else {
      db_->cached("INSERT OR IGNORE INTO sites (name) VALUES (?1)").bind(1, poll.site).exec();
      const auto id =
          db_->cached("SELECT id FROM sites WHERE name = ?1").bind(1, poll.site).query_int64();
      if (!id) throw StoreError("site " + poll.site + " neither inserted nor found", 0);
      site_id = *id;
    }

    // Work on copies: the cache changes only once the transaction has committed.
    PollOutcome out;
    std::optional<SnapshotInfo> latest = cache.latest;
    if (poll.complete) {
      const policy::Snapshot& snap = *snapshot;
      if (snap.hash.empty()) throw StoreError("snapshot has no hash", 0);
      if (latest && latest->hash == snap.hash && latest->canon_version == snap.canon_version) {
        out.snapshot_id = latest->id;  // quiet poll: the poll row below is all we write
      } else {
        SnapshotInfo info;
        info.site = poll.site;
        info.hash = snap.hash;
        info.canon_version = snap.canon_version;
        auto& find = db_->cached(
            "SELECT id, first_seen_ms, policy_count FROM snapshots "
            "WHERE site_id = ?1 AND hash = ?2 AND canon_version = ?3");
        find.bind(1, site_id).bind(2, snap.hash).bind(3, snap.canon_version);
        if (find.step()) {  // back to an earlier state: reuse that snapshot row
          info.id = find.column_int64(0);
          info.first_seen_ms = find.column_int64(1);
          info.policy_count = find.column_int64(2);
          find.reset();
        } else {
          info.id = insert_snapshot(site_id, snap, poll.finished_ms);
          info.first_seen_ms = poll.finished_ms;
          info.policy_count = static_cast<std::int64_t>(
              std::count_if(snap.objects.begin(), snap.objects.end(), [](const auto& o) {
                return o.kind == policy::ObjectKind::Policy;
              }));
        }
        out.snapshot_id = info.id;
        out.changed = true;
        latest = std::move(info);
      }
      latest->last_poll_ms = poll.finished_ms;
    }

    db_->cached(
           "INSERT INTO polls (site_id, started_ms, finished_ms, outcome, reason, message, api, "
           "requests, snapshot_id, changed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
        .bind(1, site_id)
        .bind(2, poll.started_ms)
        .bind(3, poll.finished_ms)
        .bind(4, poll.complete ? "complete" : "failed")
        .bind(5, poll.complete && poll.reason.empty() ? std::string("ok") : poll.reason)
        .bind(6, bounded_message(poll.message))
        .bind(7, poll.api)
        .bind(8, poll.requests)
        .bind(9, out.snapshot_id)
        .bind(10, out.changed ? 1 : 0)
        .exec();
    out.poll_id = db_->last_insert_rowid();
    audit_row(*db_, "polls", out.poll_id, poll.finished_ms);

    if (extra) extra(*db_, out);
    tx.commit();

    cache.site_id = site_id;
    cache.latest = std::move(latest);
    return out;
  } catch (const std::exception& e) {
    return make_error(ErrorReason::Store, "recording poll of site " + poll.site + ": " + e.what());
  }
}

std::optional<SnapshotInfo> Store::latest_complete_snapshot(const std::string& site) {
  return site_cache(site).latest;
}

policy::Snapshot Store::load_snapshot(std::int64_t snapshot_id) {
  return read_snapshot(*db_, snapshot_id);
}

void Store::load_texts(policy::Snapshot& snapshot) {
  auto& st = db_->cached("SELECT json FROM objects WHERE hash = ?1 LIMIT 1");
  for (auto& o : snapshot.objects) {
    if (o.has_text) continue;
    auto text = st.bind(1, o.hash).query_text();
    if (!text) {
      throw StoreError("no stored object has the hash of " + o.name + " (" + o.hash + ")", 0);
    }
    o.json = std::move(*text);
    o.has_text = true;
  }
}

policy::Snapshot read_snapshot(Database& db, std::int64_t snapshot_id) {
  policy::Snapshot snap;
  {
    auto& st = db.cached("SELECT hash, canon_version FROM snapshots WHERE id = ?1");
    st.bind(1, snapshot_id);
    if (!st.step()) {
      throw StoreError("snapshot " + std::to_string(snapshot_id) + " does not exist", 0);
    }
    snap.hash = st.column_text(0);
    snap.canon_version = st.column_int(1);
    st.reset();
  }
  auto& objects = db.cached(
      "SELECT o.kind, o.name, o.json, o.hash, o.policy_type, o.mode "
      "FROM snapshot_objects so JOIN objects o ON o.id = so.object_id "
      "WHERE so.snapshot_id = ?1");
  objects.bind(1, snapshot_id);
  while (objects.step()) {
    policy::CanonicalObject o;
    o.kind = parse_kind(objects.column_text(0));
    o.name = objects.column_text(1);
    o.json = objects.column_text(2);
    o.hash = objects.column_text(3);
    o.policy_type = objects.column_text(4);
    o.mode = objects.column_text(5);
    snap.objects.push_back(std::move(o));
  }
  std::sort(snap.objects.begin(), snap.objects.end(), [](const auto& a, const auto& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  auto& findings = db.cached(
      "SELECT kind, object, detail FROM findings WHERE snapshot_id = ?1 ORDER BY id");
  findings.bind(1, snapshot_id);
  while (findings.step()) {
    snap.findings.push_back(
        {findings.column_text(0), findings.column_text(1), findings.column_text(2)});
  }
  return snap;
}

std::vector<SiteState> Store::site_states() {
  std::vector<SiteState> out;
  auto& st = db_->cached(
      "SELECT s.name, p.finished_ms, p.outcome, p.reason, p.message "
      "FROM sites s JOIN polls p ON p.id = (SELECT max(id) FROM polls WHERE site_id = s.id) "
      "ORDER BY s.name");
  while (st.step()) {
    SiteState s;
    s.site = st.column_text(0);
    s.last_poll_ms = st.column_int64(1);
    s.last_outcome = st.column_text(2);
    s.last_reason = st.column_text(3);
    s.last_message = st.column_text(4);
    out.push_back(std::move(s));
  }
  for (auto& s : out) s.current = site_cache(s.site).latest;
  return out;
}

std::vector<ObjectVersion> Store::object_history(const std::string& site,
                                                 policy::ObjectKind kind,
                                                 const std::string& name) {
  // Per snapshot, first/last poll come from polls_snapshot (snapshot_id, finished_ms) in
  // O(log n); an object version's span is the min/max over the snapshots that hold it.
  auto& st = db_->cached(
      "SELECT o.id, o.hash, o.json, o.policy_type, o.mode, "
      "       min((SELECT min(p.finished_ms) FROM polls p WHERE p.snapshot_id = sn.id)) AS first_ms, "
      "       max((SELECT max(p.finished_ms) FROM polls p WHERE p.snapshot_id = sn.id)) AS last_ms "
      "FROM sites st "
      "JOIN snapshots sn ON sn.site_id = st.id "
      "JOIN snapshot_objects so ON so.snapshot_id = sn.id "
      "JOIN objects o ON o.id = so.object_id "
      "WHERE st.name = ?1 AND o.kind = ?2 AND o.name = ?3 "
      "GROUP BY o.id ORDER BY first_ms, o.id");
  st.bind(1, site).bind(2, policy::to_string(kind)).bind(3, name);
  std::vector<ObjectVersion> out;
  while (st.step()) {
    ObjectVersion v;
    v.object_id = st.column_int64(0);
    v.hash = st.column_text(1);
    v.json = st.column_text(2);
    v.policy_type = st.column_text(3);
    v.mode = st.column_text(4);
    v.first_seen_ms = st.column_int64(5);
    v.last_seen_ms = st.column_int64(6);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace flowdrift::store
