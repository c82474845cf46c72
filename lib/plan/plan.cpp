// make_plan: which objects differ, which drift item needs each, in what order to write them.
#include "plan/plan.hpp"

#include <algorithm>

namespace flowdrift::plan {
namespace {

using policy::ObjectKey;
using policy::ObjectKind;
using policy::ObjectView;
using policy::SnapshotView;

// Dependency order: what a policy references exists before the policy is written.
int rank(ObjectKind k) {
  switch (k) {
    case ObjectKind::Category: return 0;
    case ObjectKind::AddressGroup: return 1;
    case ObjectKind::ServiceGroup: return 2;
    case ObjectKind::EntityGroup: return 3;
    case ObjectKind::Policy: return 4;
  }
  return 5;
}

// As the diff names a referenced object in an item's fields: "address_group[web]".
std::string key_label(const ObjectKey& key) {
  return std::string(policy::to_string(key.first)) + "[" + key.second + "]";
}

bool names_object(const diff::DriftItem& item, const std::string& label) {
  for (const auto& f : item.fields) {
    if (f.path.compare(0, label.size(), label) == 0 &&
        (f.path.size() == label.size() || f.path[label.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

Reason reason_of(const diff::DriftItem& item) {
  return {item.object, std::string(diff::to_string(item.kind)),
          std::string(diff::to_string(item.severity)), item.summary};
}

std::string expected_why(const diff::ExpectedBy& e) {
  return "expected difference (" + e.selector + ", owner " + e.owner + ", until " + e.expires +
         "): " + e.reason;
}

// The items that justify writing one object, or why it is left alone.
struct Justification {
  std::vector<Reason> reasons;  // live items
  std::string skipped_why;      // set when there is none
  bool expected = false;        // an expected difference covers it
};

// A value of a category key the source's policies use, unused itself and absent from the
// target: no drift item names it (the diff compares what policies use), yet a DR site must
// hold every value so that recovered VMs keep theirs. Creating one changes no policy.
Reason completeness(const std::string& key_value) {
  return {"", "completeness", "info",
          "a value of category key " + std::string(policy::category_key(key_value)) +
              ", which the source's policies use, is missing on the target"};
}

void add_reason(std::vector<Reason>& reasons, const Reason& r) {
  auto same = [&](const Reason& o) { return o.policy == r.policy && o.kind == r.kind; };
  if (std::none_of(reasons.begin(), reasons.end(), same)) reasons.push_back(r);
}

class Planner {
 public:
  explicit Planner(const PlanInput& in)
      : target_(*in.target),
        desired_(diff::translate_source(SnapshotView(*in.source), in.mapping)),
        desired_view_(desired_),
        target_view_(target_.snapshot),
        source_names_(diff::replica_policy_names(SnapshotView(*in.source), in.mapping)) {
    for (const auto& [src, rep] : in.mapping.categories) source_categories_.emplace(rep, src);
    auto result = diff::diff_snapshots(*in.source, target_.snapshot, in.mapping);
    drift::apply_expectations(result, in.expected, in.now_ms);
    status_ = result.status;
    items_ = std::move(result.items);
    for (const auto& item : items_) live_items_ += item.expected ? 0 : 1;
  }

  Plan run() {
    Plan plan;
    plan.status = status_;
    plan.drift_items = live_items_;
    plan_policies(plan);
    plan_references(plan);
    order(plan.writes);
    return plan;
  }

 private:
  // The source's name of a target object (mapped policy names and category values).
  ObjectKey source_key(const ObjectKey& key) const {
    const auto& names = key.first == ObjectKind::Policy ? source_names_
                        : key.first == ObjectKind::Category ? source_categories_
                                                            : none_;
    auto it = names.find(key.second);
    return {key.first, it == names.end() ? key.second : it->second};
  }

  // Items about the policy itself, or (other kinds) naming the object in their fields.
  Justification justify(const ObjectKey& key) const {
    const ObjectKey src = source_key(key);
    const std::string label = key_label(src);
    Justification j;
    for (const auto& item : items_) {
      const bool about = key.first == ObjectKind::Policy ? item.object == src.second
                                                         : names_object(item, label);
      if (!about) continue;
      if (!item.expected) {
        add_reason(j.reasons, reason_of(item));
      } else if (j.skipped_why.empty()) {
        j.skipped_why = expected_why(*item.expected);
        j.expected = true;
      }
    }
    if (j.reasons.empty() && j.skipped_why.empty()) j.skipped_why = "no drift item needs it";
    return j;
  }

  // What blocks writing an object the target should hold, if anything.
  std::string blocker(const ObjectKey& key) const {
    if (target_.ambiguous.count(key)) return "the target holds several objects of this name";
    if (key.first != ObjectKind::Policy) return {};
    if (const auto* d = desired_view_.dangling(key.second)) {
      return "the source's policy references what its own site lacks: " + std::string(d->front());
    }
    return {};
  }

  void plan_write(Plan& plan, Write w, const Justification& j) {
    const ObjectKey key{w.kind, w.name};
    if (j.reasons.empty()) {
      plan.skipped.push_back({w.kind, w.name, j.skipped_why});
      return;
    }
    if (auto why = blocker(key); !why.empty()) {
      plan.blocked.push_back({w.kind, w.name, why});
      return;
    }
    if (auto it = target_.objects.find(key); it != target_.objects.end()) w.target_id = it->second.id;
    w.reasons = j.reasons;
    plan.writes.push_back(std::move(w));
  }

  void plan_policies(Plan& plan) {
    for (const auto& [name, view] : desired_view_.policies()) {
      const ObjectView* now = target_view_.policy(name);
      if (now && now->hash() == view.hash()) continue;
      const ObjectKey key{ObjectKind::Policy, name};
      const bool exists = now || target_.objects.count(key);
      Write w{exists ? Op::Update : Op::Create, ObjectKind::Policy, name, "", view.json(),
              now ? now->json() : "", {}, {}};
      plan_write(plan, std::move(w), justify(key));
    }
    for (const auto& [name, view] : target_view_.policies()) {
      if (desired_view_.policy(name)) continue;
      Write w{Op::Delete, ObjectKind::Policy, name, "", "", view.json(), {}, {}};
      plan_write(plan, std::move(w), justify({ObjectKind::Policy, name}));
    }
  }

  // The reasons of the policy writes that use `key`: an object a written policy references
  // must be on the target as the source has it.
  std::vector<Reason> needed_by_policies(const ObjectKey& key, const Plan& plan) const {
    std::vector<Reason> reasons;
    for (const auto& w : plan.writes) {
      if (w.kind != ObjectKind::Policy || w.op == Op::Delete) continue;
      const ObjectView* v = desired_view_.policy(w.name);
      if (v && v->references().count(key)) {
        for (const auto& r : w.reasons) add_reason(reasons, r);
      }
    }
    return reasons;
  }

  void plan_references(Plan& plan) {
    std::vector<Write> category_keys;
    for (const auto& [key, view] : desired_view_.referenced()) {
      const ObjectView* now = target_view_.find(key);
      if (now && now->hash() == view.hash()) continue;
      const bool exists = now || target_.objects.count(key);
      if (exists && key.first == ObjectKind::Category) continue;  // a value is its name
      Justification j = justify(key);
      for (const auto& r : needed_by_policies(key, plan)) add_reason(j.reasons, r);
      if (j.reasons.empty() && key.first == ObjectKind::Category && !j.expected) {
        j.reasons.push_back(completeness(key.second));
      }
      if (!j.reasons.empty()) j.skipped_why.clear();
      if (key.first == ObjectKind::Category && !j.reasons.empty()) {
        plan_category_key(std::string(policy::category_key(key.second)), j, category_keys);
      }
      Write w{exists ? Op::Update : Op::Create, key.first, key.second, "", view.json(),
              now ? now->json() : "", {}, {}};
      plan_write(plan, std::move(w), j);
    }
    for (auto& w : category_keys) plan.writes.push_back(std::move(w));
  }

  // A category key the target lacks is created before its first value (v3). On v4 there is
  // no key write: creating a key's first value creates the key, so none is planned.
  void plan_category_key(const std::string& key, const Justification& j,
                         std::vector<Write>& keys) {
    if (target_.api == config::Api::V4 || target_.category_keys.count(key)) return;
    auto same = [&](const Write& w) { return w.name == key; };
    auto it = std::find_if(keys.begin(), keys.end(), same);
    if (it == keys.end()) {
      keys.push_back({Op::Create, ObjectKind::Category, key, "", nlohmann::json{{"key", key}}.dump(),
                      "", {}, {}});
      it = keys.end() - 1;
    }
    for (const auto& r : j.reasons) add_reason(it->reasons, r);
  }

  // Creates and updates by kind (keys before values), then deletes; each by name.
  static void order(std::vector<Write>& writes) {
    auto sort_key = [](const Write& w) {
      const bool is_key = w.kind == ObjectKind::Category && w.name.find(':') == std::string::npos;
      return std::make_tuple(w.op == Op::Delete, rank(w.kind), !is_key, w.name);
    };
    std::stable_sort(writes.begin(), writes.end(),
                     [&](const Write& a, const Write& b) { return sort_key(a) < sort_key(b); });
  }

  const Target& target_;
  policy::Snapshot desired_;
  SnapshotView desired_view_;
  SnapshotView target_view_;
  std::map<std::string, std::string> source_names_;       // target policy name -> source's
  std::map<std::string, std::string> source_categories_;  // target key:value -> source's
  const std::map<std::string, std::string> none_;
  diff::PairStatus status_ = diff::PairStatus::Unknown;
  std::vector<diff::DriftItem> items_;
  int live_items_ = 0;
};

}  // namespace

std::string_view to_string(Op op) {
  switch (op) {
    case Op::Create: return "create";
    case Op::Update: return "update";
    case Op::Delete: return "delete";
  }
  return "?";
}

std::optional<Op> parse_op(std::string_view s) {
  for (Op op : {Op::Create, Op::Update, Op::Delete}) {
    if (to_string(op) == s) return op;
  }
  return std::nullopt;
}

Plan make_plan(const PlanInput& in) {
  Plan plan = Planner(in).run();
  plan.source_hash = in.source->hash;
  plan.target = in.target->site;
  plan.target_api = in.target->api;
  plan.target_hash = in.target->snapshot.hash;
  plan.planned_ms = in.now_ms;
  std::vector<Write> rendered;
  for (auto& w : plan.writes) {
    auto request = render_request(w, *in.target);
    if (!request) {
      plan.blocked.push_back({w.kind, w.name, request.error().message});
      continue;
    }
    w.request = std::move(*request);
    rendered.push_back(std::move(w));
  }
  plan.writes = std::move(rendered);
  return plan;
}

}  // namespace flowdrift::plan
