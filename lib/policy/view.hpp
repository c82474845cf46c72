// A typed view of one complete snapshot for one comparison (docs/diff.md "One parse per
// comparison"): its policies by name, its referenced objects (groups, category values) by kind
// and name, and its dangling references by policy. It is built when a comparison starts and
// handed to the mapping, the diff and the flow compiler, so that each canonical object's JSON
// is parsed at most once per comparison, and only when first needed: most policies are equal on
// both sides and are never parsed at all. Pure: no I/O. Not thread-safe: one comparison, one
// thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_scan.hpp"
#include "policy/model.hpp"

namespace flowdrift::policy {

using ObjectKey = std::pair<ObjectKind, std::string>;
using References = std::set<ObjectKey>;

// Every object a canonical policy refers to: groups named by rules and category values anywhere
// ("categories" arrays of the secured group, isolation groups and peers).
References references_of(json_scan::JsonRef policy);
// The same from a policy's canonical JSON text (empty when it is not valid JSON).
References references_in(std::string_view canonical_json);

// One canonical object and its parsed JSON. Stays where it was built: the parsed tree refers
// to the object's text, and callers keep references to the tree. `text`: the object's text
// when the object let it go (an equal object of another snapshot holds it), else null.
class ObjectView {
 public:
  explicit ObjectView(const CanonicalObject& object, const std::string* text = nullptr)
      : object_(&object), text_(text != nullptr ? text : &object.json) {}
  ObjectView(const ObjectView&) = delete;
  ObjectView& operator=(const ObjectView&) = delete;

  const CanonicalObject& object() const { return *object_; }
  const std::string& name() const { return object_->name; }
  const std::string& json() const { return *text_; }
  const std::string& hash() const { return object_->hash; }

  // The parsed canonical JSON, parsed on the first call; nullopt when the text is not valid
  // JSON (error() says why).
  std::optional<json_scan::JsonRef> root() const;
  const std::string& error() const;
  bool parsed() const { return parsed_; }  // whether root() was ever needed
  // Policies: every object the policy refers to (references_of), found on the first call.
  const References& references() const;

 private:
  const CanonicalObject* object_;
  const std::string* text_;
  mutable bool parsed_ = false;
  mutable std::optional<json_scan::JsonDoc> doc_;
  mutable std::string error_;
  mutable std::optional<References> references_;
};

class SnapshotView {
 public:
  // `snapshot` must outlive the view, and so must `texts`: a snapshot whose objects give their
  // texts, by hash, to the objects of `snapshot` that let theirs go (flowdriftctl diff keeps
  // one copy of a text both files hold; SiteFileReader).
  explicit SnapshotView(const Snapshot& snapshot, const Snapshot* texts = nullptr);
  SnapshotView(const SnapshotView&) = delete;
  SnapshotView& operator=(const SnapshotView&) = delete;

  const Snapshot& snapshot() const { return *snapshot_; }
  const std::map<std::string, ObjectView, std::less<>>& policies() const { return policies_; }
  // Address groups, service groups, entity groups and category values, by (kind, name).
  const std::map<ObjectKey, ObjectView>& referenced() const { return referenced_; }

  const ObjectView* policy(std::string_view name) const;
  const ObjectView* find(const ObjectKey& key) const;  // a referenced object, or nullptr
  const ObjectView* find(ObjectKind kind, std::string_view name) const;
  // Whether the snapshot can say that `key` is absent from the site (not merely unused): every
  // value of a referenced category key is in the snapshot; groups only when used.
  bool knows_absent(const ObjectKey& key) const;
  // The details of the policy's dangling_reference findings (in the snapshot's findings);
  // nullptr when it has none.
  const std::vector<std::string_view>* dangling(std::string_view policy) const;

 private:
  const Snapshot* snapshot_;
  std::map<std::string, ObjectView, std::less<>> policies_;
  std::map<ObjectKey, ObjectView> referenced_;
  std::set<std::string, std::less<>> category_keys_;  // keys whose values are all in the snapshot
  std::map<std::string_view, std::vector<std::string_view>> dangling_;
};

// "key" of a category value's name "key:value".
std::string_view category_key(std::string_view key_value);

// The canonical text of `value` with some members replaced: `replace(key, member)` returns the
// member's new value as JSON text, or nullopt to keep it (members it keeps are rewritten in
// turn, to any depth). Keys keep their order, so canonical text stays canonical as long as the
// replacements are.
using MemberRewrite =
    std::function<std::optional<std::string>(std::string_view key, json_scan::JsonRef member)>;
std::string rewritten(json_scan::JsonRef value, const MemberRewrite& replace);

// `value` as JSON text, the way canonical JSON spells it.
std::string json_string(std::string_view value);

}  // namespace flowdrift::policy
