#include <catch2/catch.hpp>

#include <cctype>

#include "core/sha256.hpp"
#include "policy/model.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using namespace flowdrift::policy;

namespace {

CanonicalObject obj(ObjectKind kind, const std::string& name, const std::string& json) {
  return flowdrift::test::canonical_object(kind, name, json);
}

}  // namespace

TEST_CASE("Snapshot::count counts objects of one kind", "[unit][policy]") {
  Snapshot s;
  s.objects = {obj(ObjectKind::Policy, "a", "{}"), obj(ObjectKind::Policy, "b", "{}"),
               obj(ObjectKind::AddressGroup, "g", "{}"), obj(ObjectKind::Category, "k:v", "{}")};
  CHECK(s.count(ObjectKind::Policy) == 2);
  CHECK(s.count(ObjectKind::AddressGroup) == 1);
  CHECK(s.count(ObjectKind::ServiceGroup) == 0);
  CHECK(s.count(ObjectKind::Category) == 1);
}

TEST_CASE("snapshot_hash depends on content, not on order", "[unit][policy]") {
  const auto a = obj(ObjectKind::Policy, "a", R"({"x":1})");
  const auto b = obj(ObjectKind::Policy, "b", R"({"x":2})");
  const auto g = obj(ObjectKind::AddressGroup, "a", R"({"x":1})");
  const std::string h = snapshot_hash({a, b, g}, 1);
  CHECK(h.size() == 64);
  CHECK(h == snapshot_hash({g, b, a}, 1));

  SECTION("canon version is part of the hash") { CHECK(h != snapshot_hash({a, b, g}, 2)); }
  SECTION("object content is part of the hash") {
    CHECK(h != snapshot_hash({a, obj(ObjectKind::Policy, "b", R"({"x":3})"), g}, 1));
  }
  SECTION("names and kinds are part of the hash") {
    CHECK(h != snapshot_hash({a, obj(ObjectKind::Policy, "c", R"({"x":2})"), g}, 1));
    CHECK(h != snapshot_hash({a, b, obj(ObjectKind::ServiceGroup, "a", R"({"x":1})")}, 1));
  }
  SECTION("an added object changes the hash") {
    CHECK(h != snapshot_hash({a, b, g, obj(ObjectKind::Category, "k:v", "{}")}, 1));
  }
  SECTION("field boundaries cannot be shifted") {
    auto x = obj(ObjectKind::Policy, "ab", "{}");
    auto y = obj(ObjectKind::Policy, "a", "{}");
    y.hash = "b" + x.hash;
    CHECK(snapshot_hash({x}, 1) != snapshot_hash({y}, 1));
  }
  SECTION("empty snapshot has a stable hash") {
    CHECK(snapshot_hash({}, 1) == snapshot_hash({}, 1));
    CHECK(snapshot_hash({}, 1) != h);
  }
}

TEST_CASE("findings order by kind, object, detail", "[unit][policy]") {
  Finding a{"dangling_reference", "web", "x"};
  Finding b{"dangling_reference", "web", "y"};
  Finding c{"duplicate_name", "app", "x"};
  CHECK(a < b);
  CHECK(b < c);
  CHECK(a == Finding{"dangling_reference", "web", "x"});
}

TEST_CASE("snapshot_hash is the same for every kind in snapshot order or any other", "[unit][policy]") {
  // A snapshot's own order (kind as declared, then name) is checked, not sorted again; any
  // other order is sorted. Both must give one hash, and the hash must see every object.
  std::vector<CanonicalObject> in_order;
  for (const ObjectKind kind : {ObjectKind::Policy, ObjectKind::AddressGroup,
                                ObjectKind::ServiceGroup, ObjectKind::Category,
                                ObjectKind::EntityGroup}) {
    for (const char* name : {"a", "b", "c"}) {
      in_order.push_back(obj(kind, name, std::string(R"({"n":")") + name + "\"}"));
    }
  }
  const std::string h = snapshot_hash(in_order, 1);
  std::vector<CanonicalObject> reversed(in_order.rbegin(), in_order.rend());
  CHECK(snapshot_hash(reversed, 1) == h);
  std::vector<CanonicalObject> rotated = in_order;
  std::rotate(rotated.begin(), rotated.begin() + 7, rotated.end());
  CHECK(snapshot_hash(rotated, 1) == h);
  for (std::size_t i = 0; i < in_order.size(); ++i) {
    std::vector<CanonicalObject> fewer = in_order;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(i));
    CHECK(snapshot_hash(fewer, 1) != h);
  }
}

TEST_CASE("A packed snapshot unpacks to the same objects without their texts", "[policy][memory]") {
  policy::Snapshot s;
  auto object = [](policy::ObjectKind kind, std::string name, std::string type, std::string mode) {
    policy::CanonicalObject o;
    o.kind = kind;
    o.name = std::move(name);
    o.json = "{\"name\":\"" + o.name + "\"}";
    o.hash = sha256_hex(o.json);
    o.policy_type = std::move(type);
    o.mode = std::move(mode);
    return o;
  };
  s.objects = {object(policy::ObjectKind::Policy, "a policy with a long name, and more", "application", "enforce"),
               object(policy::ObjectKind::Policy, "", "isolation", "monitor"),
               object(policy::ObjectKind::AddressGroup, "ag", "", ""),
               object(policy::ObjectKind::Category, "AppType:App0", "", "")};
  s.findings = {{"duplicate_name", "ag", "twice"}};
  s.hash = policy::snapshot_hash(s.objects, policy::kCanonVersion);

  const auto packed = policy::PackedSnapshot::pack(s);
  REQUIRE(packed);
  CHECK(packed->size() == 4);
  const policy::Snapshot u = packed->unpack();
  REQUIRE(u.objects.size() == s.objects.size());
  for (std::size_t i = 0; i < s.objects.size(); ++i) {
    CAPTURE(i);
    CHECK(u.objects[i].kind == s.objects[i].kind);
    CHECK(u.objects[i].name == s.objects[i].name);
    CHECK(u.objects[i].hash == s.objects[i].hash);
    CHECK(u.objects[i].policy_type == s.objects[i].policy_type);
    CHECK(u.objects[i].mode == s.objects[i].mode);
    CHECK(u.objects[i].json.empty());
    CHECK_FALSE(u.objects[i].has_text);
  }
  CHECK(u.findings == s.findings);
  CHECK(u.hash == s.hash);
  CHECK(policy::snapshot_hash(u.objects, policy::kCanonVersion) == s.hash);

  SECTION("a hash that is not 64 lowercase hex digits does not pack") {
    auto upper = s;
    for (auto& c : upper.objects[1].hash) c = static_cast<char>(std::toupper(c));
    CHECK_FALSE(policy::PackedSnapshot::pack(upper));
    auto short_hash = s;
    short_hash.objects[2].hash.pop_back();
    CHECK_FALSE(policy::PackedSnapshot::pack(short_hash));
  }
  SECTION("more than 255 distinct types and modes do not pack") {
    auto many = s;
    for (int i = 0; i < 300; ++i) {
      many.objects.push_back(object(policy::ObjectKind::Policy, "p" + std::to_string(i),
                                    "type" + std::to_string(i), "enforce"));
    }
    CHECK_FALSE(policy::PackedSnapshot::pack(many));
  }
}

TEST_CASE("fill_texts takes a let-go text from an object of the same hash, whatever its name",
          "[unit][policy][memory]") {
  Snapshot from;
  from.objects = {obj(ObjectKind::Policy, "web", R"({"n":1})"),
                  obj(ObjectKind::Policy, "db", R"({"n":2})")};
  Snapshot hollow;
  hollow.objects = {obj(ObjectKind::Policy, "web renamed", R"({"n":1})"),
                    obj(ObjectKind::Policy, "db", R"({"n":3})"),
                    obj(ObjectKind::Policy, "new", R"({"n":4})")};
  hollow.objects[2].json = R"({"n":4})";  // kept: has_text
  for (std::size_t i = 0; i < 2; ++i) {
    hollow.objects[i].json.clear();
    hollow.objects[i].has_text = false;
  }
  CHECK(fill_texts(hollow, from) == 1);  // db's {"n":3} is on no object of `from`
  CHECK(hollow.objects[0].has_text);
  CHECK(hollow.objects[0].json == R"({"n":1})");
  CHECK_FALSE(hollow.objects[1].has_text);
  CHECK(hollow.objects[1].json.empty());
  CHECK(hollow.objects[2].json == R"({"n":4})");
  CHECK(fill_texts(hollow, from) == 1);  // idempotent
  Snapshot whole = from;
  CHECK(fill_texts(whole, Snapshot{}) == 0);
}
