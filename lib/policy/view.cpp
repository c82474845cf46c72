#include "policy/view.hpp"

#include <unordered_map>

#include "core/json_text.hpp"

namespace flowdrift::policy {
namespace {

using json_scan::JsonRef;

void add_strings(JsonRef list, ObjectKind kind, References& out) {
  for (const auto& e : list) {
    if (e.is_string()) out.insert({kind, e.str()});
  }
}

void collect_references(JsonRef j, References& out) {
  if (j.is_array()) {
    for (const auto& e : j) collect_references(e, out);
    return;
  }
  for (const auto& [k, v] : j.members()) {
    if (k.str_equals("categories") && v.is_array()) {
      add_strings(v, ObjectKind::Category, out);
    } else if (k.str_equals("address_group") && v.is_string()) {
      out.insert({ObjectKind::AddressGroup, v.str()});
    } else if (k.str_equals("service_group") && v.is_string()) {
      out.insert({ObjectKind::ServiceGroup, v.str()});
    } else if (k.str_equals("entity_group") && v.is_string()) {
      out.insert({ObjectKind::EntityGroup, v.str()});
    } else if (k.str_equals("entity_groups") && v.is_array()) {
      add_strings(v, ObjectKind::EntityGroup, out);
    } else {
      collect_references(v, out);
    }
  }
}

void append_rewritten(JsonRef value, const MemberRewrite& replace, std::string& out) {
  if (value.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : value) {
      if (!first) out += ',';
      first = false;
      append_rewritten(e, replace, out);
    }
    out += ']';
    return;
  }
  if (!value.is_object()) {
    out += value.text();
    return;
  }
  out += '{';
  bool first = true;
  for (const auto& [k, v] : value.members()) {
    if (!first) out += ',';
    first = false;
    out += k.text();
    out += ':';
    if (auto text = replace(k.str(), v)) {
      out += *text;
    } else {
      append_rewritten(v, replace, out);
    }
  }
  out += '}';
}

}  // namespace

References references_of(JsonRef policy) {
  References out;
  collect_references(policy, out);
  return out;
}

References references_in(std::string_view canonical_json) {
  std::string error;
  const auto doc = json_scan::JsonDoc::parse(canonical_json, error);
  return doc ? references_of(doc->root()) : References{};
}

std::optional<JsonRef> ObjectView::root() const {
  if (!parsed_) {
    parsed_ = true;
    doc_ = json_scan::JsonDoc::parse(*text_, error_);
  }
  if (!doc_) return std::nullopt;
  return doc_->root();
}

const std::string& ObjectView::error() const {
  root();
  return error_;
}

const References& ObjectView::references() const {
  if (!references_) {
    const auto r = root();
    references_ = r ? references_of(*r) : References{};
  }
  return *references_;
}

SnapshotView::SnapshotView(const Snapshot& snapshot, const Snapshot* texts)
    : snapshot_(&snapshot) {
  std::unordered_map<std::string_view, const std::string*> by_hash;
  if (texts != nullptr && !snapshot.has_all_texts()) by_hash = texts_by_hash(*texts);
  for (const auto& o : snapshot.objects) {
    const std::string* text = nullptr;
    if (!o.has_text) {
      const auto it = by_hash.find(o.hash);
      if (it != by_hash.end()) text = it->second;
    }
    if (o.kind == ObjectKind::Policy) {
      policies_.try_emplace(o.name, o, text);
      continue;
    }
    referenced_.try_emplace(ObjectKey{o.kind, o.name}, o, text);
    if (o.kind == ObjectKind::Category) category_keys_.emplace(category_key(o.name));
  }
  for (const auto& f : snapshot.findings) {
    if (f.kind == "dangling_reference") dangling_[f.object].push_back(f.detail);
  }
}

const ObjectView* SnapshotView::policy(std::string_view name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : &it->second;
}

const ObjectView* SnapshotView::find(const ObjectKey& key) const {
  auto it = referenced_.find(key);
  return it == referenced_.end() ? nullptr : &it->second;
}

const ObjectView* SnapshotView::find(ObjectKind kind, std::string_view name) const {
  return find(ObjectKey{kind, std::string(name)});
}

bool SnapshotView::knows_absent(const ObjectKey& key) const {
  if (key.first != ObjectKind::Category) return true;
  return category_keys_.count(category_key(key.second)) != 0;
}

const std::vector<std::string_view>* SnapshotView::dangling(std::string_view policy) const {
  auto it = dangling_.find(policy);
  return it == dangling_.end() ? nullptr : &it->second;
}

std::string_view category_key(std::string_view key_value) {
  return key_value.substr(0, key_value.find(':'));
}

std::string rewritten(JsonRef value, const MemberRewrite& replace) {
  std::string out;
  out.reserve(value.text().size());
  append_rewritten(value, replace, out);
  return out;
}

std::string json_string(std::string_view value) { return json_text::quoted(value); }

}  // namespace flowdrift::policy
