#include "drift/reconcile.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "core/json_get.hpp"

namespace flowdrift::drift {
namespace {

using Event = Transition::Event;
using Key = ItemKey;

std::string fields_json(const diff::DriftItem& item) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : item.fields) {
    arr.push_back({{"path", f.path}, {"source", f.source}, {"replica", f.replica}});
  }
  return arr.dump();
}

std::string expectation_json(const diff::DriftItem& item) {
  if (!item.expected) return "";
  const auto& e = *item.expected;
  return nlohmann::json{{"selector", e.selector},
                        {"owner", e.owner},
                        {"reason", e.reason},
                        {"expires", e.expires}}
      .dump();
}

// The item as the comparison describes it now.
struct Found {
  std::string kind, severity, direction, summary, fields, expectation;
};

Found describe(const diff::DriftItem& d) {
  return {std::string(diff::to_string(d.kind)), std::string(diff::to_string(d.severity)),
          std::string(diff::to_string(d.direction)), d.summary, fields_json(d),
          expectation_json(d)};
}

class Reconciler {
 public:
  Reconciler(const PairIdentity& pair, const Comparison& c) : pair_(pair), c_(c) {}

  bool debounced(const Item& s) const {
    return s.seen >= c_.debounce.comparisons && c_.now_ms - s.opened_ms >= c_.debounce.for_ms;
  }

  Write open(const diff::DriftItem& d, const Found& f) const {
    Write w{Write::Op::Insert, {}, {}};
    Item& s = w.item;
    s.pair = pair_.pair;
    s.source_site = pair_.source_site;
    s.replica_site = pair_.replica_site;
    s.object = d.object;
    s.kind = f.kind;
    s.severity = f.severity;
    s.direction = f.direction;
    s.summary = f.summary;
    s.fields_json = f.fields;
    s.opened_ms = s.updated_ms = c_.now_ms;
    s.seen = 1;
    s.expectation_json = f.expectation;
    w.events.push_back({Event::Opened, s.severity});
    if (s.expected()) w.events.push_back({Event::Expected, s.expectation_json});
    if (debounced(s)) {
      s.raised_ms = c_.now_ms;
      w.events.push_back({Event::Raised, ""});
    }
    return w;
  }

  // An open item found again (`counted`: the polls it was last counted at, if known).
  // Returns no write when nothing about it changed.
  std::optional<Write> keep(Item s, const Found& f, const PollMarks* counted_at) const {
    Write w{Write::Op::Update, {}, {}};
    const bool evidence =
        s.severity != f.severity || s.fields_json != f.fields || s.direction != f.direction;
    const bool counted = s.pending() && (!counted_at || c_.polls.both_after(*counted_at));
    if (counted) ++s.seen;
    if (evidence) {
      s.severity = f.severity;
      s.direction = f.direction;
      s.summary = f.summary;
      s.fields_json = f.fields;
      s.updated_ms = c_.now_ms;
      w.events.push_back({Event::Updated, f.severity + " " + f.direction});
    }
    if (s.expectation_json != f.expectation) {
      if (!f.expectation.empty()) {
        w.events.push_back({Event::Expected, f.expectation});
      } else {
        // Expired or removed from the config: drift again, with the same open time.
        w.events.push_back({Event::Unexpected, s.expectation_json});
      }
      s.expectation_json = f.expectation;
    }
    if (s.pending() && debounced(s)) {
      s.raised_ms = c_.now_ms;
      w.events.push_back({Event::Raised, "seen " + std::to_string(s.seen) + " times"});
    }
    if (w.events.empty() && !counted) return std::nullopt;
    w.item = std::move(s);
    return w;
  }

  Write resolve(Item s) const {
    s.resolved_ms = c_.now_ms;
    const char* detail = s.pending() ? "never raised" : "";
    return Write{Write::Op::Resolve, std::move(s), {{Event::Resolved, detail}}};
  }

 private:
  const PairIdentity& pair_;
  const Comparison& c_;
};

}  // namespace

const char* Item::open_state() const {
  if (expected()) return "expected";
  return pending() ? "pending" : "raised";
}

const char* to_string(Transition::Event e) {
  switch (e) {
    case Event::Opened: return "opened";
    case Event::Raised: return "raised";
    case Event::Updated: return "updated";
    case Event::Expected: return "expected";
    case Event::Unexpected: return "unexpected";
    case Event::Resolved: return "resolved";
    case Event::Flipped: return "flipped";
  }
  return "?";
}

Reconciled reconcile(const PairIdentity& pair, std::vector<Item> open, const CountedAt& counted,
                     const diff::PairResult& result, const Comparison& comparison) {
  const Reconciler r(pair, comparison);
  std::map<Key, Item> by_key;
  for (auto& it : open) {
    Key key{it.object, it.kind};
    by_key.emplace(std::move(key), std::move(it));
  }
  Reconciled out;
  bool drifted = false;
  for (const auto& d : result.items) {
    const Found f = describe(d);
    Key key{d.object, f.kind};
    auto existing = by_key.find(key);
    const auto was = counted.find(key);
    const PollMarks* counted_at = was == counted.end() ? nullptr : &was->second;
    const Item* now = nullptr;
    if (existing == by_key.end()) {
      out.writes.push_back(r.open(d, f));
      now = &out.writes.back().item;
      counted_at = &comparison.polls;
    } else if (auto w = r.keep(existing->second, f, counted_at)) {
      if (w->item.seen != existing->second.seen) counted_at = &comparison.polls;
      out.writes.push_back(std::move(*w));
      now = &out.writes.back().item;
    } else {
      now = &existing->second;
    }
    drifted |= now->alerting();
    if (now->pending()) {
      ++out.pending;
      if (counted_at) out.counted.emplace(key, *counted_at);
    }
    if (existing != by_key.end()) by_key.erase(existing);
  }
  for (auto& [key, item] : by_key) out.writes.push_back(r.resolve(std::move(item)));
  out.status = drifted ? diff::PairStatus::Drifted : diff::PairStatus::InSync;
  return out;
}

namespace {

// A stored item as the diff described it (without its policy's type and mode).
diff::DriftItem as_drift_item(const Item& s) {
  diff::DriftItem d;
  d.object = s.object;
  d.kind = diff::parse_kind(s.kind).value_or(diff::DriftKind::Modified);
  d.severity = diff::parse_severity(s.severity).value_or(diff::Severity::Critical);
  for (auto dir : {diff::Direction::None, diff::Direction::MorePermissive,
                   diff::Direction::MoreRestrictive, diff::Direction::Both,
                   diff::Direction::Cosmetic, diff::Direction::Unknown}) {
    if (diff::to_string(dir) == s.direction) d.direction = dir;
  }
  d.summary = s.summary;
  const auto fields = nlohmann::json::parse(s.fields_json, nullptr, false);
  if (fields.is_array()) {
    for (const auto& f : fields) {
      d.fields.push_back({string_or(f, "path"), string_or(f, "source"), string_or(f, "replica")});
    }
  }
  return d;
}

}  // namespace

std::string flipped_kind(const std::string& kind) {
  if (kind == "missing") return "extra";
  if (kind == "extra") return "missing";
  return kind;
}

std::vector<Write> reorient(const PairIdentity& now, std::vector<Item> open,
                            const diff::PairResult* fresh, std::int64_t now_ms,
                            const std::string& detail) {
  std::map<Key, const diff::DriftItem*> found;
  if (fresh) {
    for (const auto& d : fresh->items) found.emplace(Key{d.object, std::string(diff::to_string(d.kind))}, &d);
  }
  std::vector<Write> out;
  for (auto& s : open) {
    const auto it = found.find(Key{s.object, flipped_kind(s.kind)});
    const Found f = describe(it != found.end() ? *it->second : diff::flipped(as_drift_item(s)));
    s.source_site = now.source_site;
    s.replica_site = now.replica_site;
    s.kind = f.kind;
    s.severity = f.severity;
    s.direction = f.direction;
    s.summary = f.summary;
    s.fields_json = f.fields;
    s.updated_ms = now_ms;
    out.push_back(Write{Write::Op::Update, std::move(s), {{Event::Flipped, detail}}});
  }
  return out;
}

}  // namespace flowdrift::drift
